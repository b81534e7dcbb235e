"""Params section `scope`: VOC phase 1 — the execution methods and the sample design.

`methods` says which research method serves which strategic questions / hypotheses (and with what
planned size, timeline and owner); `sample` holds the target shares per sample dimension, the
minimum per cell, the homogeneity warning threshold and the survey's planned base and power
settings. `cross_check` rejects a hypothesis that no declared method can test and warns about
gaps (a dimension no hypothesis covers, a hypothesis no method serves).

Every key has a default that suits the demo study; a study without a `scope:` section validates
(with a warning that no methods are declared).
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator, model_validator

from insight.config.base import Section

Method = Literal[
    "one_to_one", "one_to_many", "phone", "video", "focus_group", "survey", "immersive",
    "expert_council", "community", "data_research",
]

METHOD_LABELS: dict[str, str] = {
    "one_to_one": "1:1 interview",
    "one_to_many": "1:many (group) interview",
    "phone": "Phone interview",
    "video": "Video interview",
    "focus_group": "Focus group",
    "survey": "Survey (questionnaire)",
    "immersive": "Immersive research (on site, observation log)",
    "expert_council": "Expert (elders') council",
    "community": "Customer community",
    "data_research": "Data research (CRM, usage and other company data)",
}

# what evidence each method yields: survey -> quantitative survey specs; data_research -> CRM
# specs; every other method -> qualitative codes
QUANT_SURVEY_METHODS = frozenset({"survey"})
QUANT_CRM_METHODS = frozenset({"data_research"})
QUAL_METHODS = frozenset(set(METHOD_LABELS) - QUANT_SURVEY_METHODS - QUANT_CRM_METHODS)

# the sample dimensions of the VOC checklist and the canonical values each may take
# (region is free text: the study's own regions)
SAMPLE_DIMENSIONS: dict[str, tuple[str, ...] | None] = {
    "gender": ("female", "male", "other", "undisclosed"),
    "age_band": ("18-29", "30-39", "40-49", "50-59", "60+"),
    "region": None,
    "segment": ("enterprise", "mid_market", "smb"),
    "role": ("decision_maker", "influencer", "purchaser", "user", "champion", "expert"),
    "customer_status": ("existing", "churned", "prospect", "competitor"),
}
DIMENSION_LABELS = {
    "gender": "Gender", "age_band": "Age band", "region": "Region", "segment": "Market segment",
    "role": "Role in the decision chain", "customer_status": "Customer status",
}

_SHARE_TOLERANCE = 0.011


class MethodPlan(Section):
    """One execution method of the study."""
    method: Method = Field(description="the research method; one of " + ", ".join(METHOD_LABELS))
    serves: list[str] = Field(min_length=1, description="question ids (Q1) and/or hypothesis ids (H1) this method serves; "
                                                       "serving a question serves all its hypotheses")
    planned_n: int | None = Field(default=None, ge=1, description="planned number of participants / respondents / sessions")
    timeline: str = Field(default="", description="when it runs, in words, e.g. 'July-September 2024'")
    start: dt.date | None = Field(default=None, description="first day of fieldwork (optional; draws the timeline chart)")
    end: dt.date | None = Field(default=None, description="last day of fieldwork (optional)")
    owner: str = Field(default="", description="who runs it (department or person)")
    note: str = Field(default="", description="why this method, anything a reviewer should know")

    @model_validator(mode="after")
    def _ordered(self):
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"the method ends ({self.end}) before it starts ({self.start}); write `end` on or after `start`")
        return self

    @property
    def label(self) -> str:
        return METHOD_LABELS[self.method]


def _check_shares(name: str, shares: dict[str, float]) -> dict[str, float]:
    if not shares:
        return shares
    bad = {k: v for k, v in shares.items() if not (0 <= v <= 1)}
    if bad:
        raise ValueError(f"target shares of {name} must be between 0 and 1; got {bad}; write shares such as 0.25 (not 25)")
    allowed = SAMPLE_DIMENSIONS.get(name)
    if allowed is not None:
        unknown = sorted(set(shares) - set(allowed))
        if unknown:
            raise ValueError(f"unknown {name} value(s) {unknown}; write one of {list(allowed)}")
    total = sum(shares.values())
    if abs(total - 1) > _SHARE_TOLERANCE:
        raise ValueError(f"target shares of {name} add up to {total:.3f}, not 1; adjust them so they sum to 1")
    return shares


class SampleTargets(Section):
    """Target share of the sample per value of each checklist dimension (each dimension sums to 1).
    A dimension left empty has no target and is only described."""
    gender: dict[str, float] = Field(default_factory=dict, description="e.g. {female: 0.5, male: 0.5}")
    age_band: dict[str, float] = Field(default_factory=dict, description="e.g. {30-39: 0.4, 40-49: 0.4, 50-59: 0.2}")
    region: dict[str, float] = Field(default_factory=lambda: {
        "North America": 0.35, "EMEA": 0.30, "APAC": 0.20, "LATAM": 0.15},
        description="the study's regions and their target shares")
    segment: dict[str, float] = Field(default_factory=lambda: {"enterprise": 0.20, "mid_market": 0.35, "smb": 0.45},
                                      description="enterprise / mid_market / smb")
    role: dict[str, float] = Field(default_factory=dict, description="decision_maker / influencer / purchaser / user / champion")
    customer_status: dict[str, float] = Field(default_factory=lambda: {
        "existing": 0.71, "churned": 0.15, "prospect": 0.10, "competitor": 0.04},
        description="existing / churned / prospect / competitor (competitor's customers)")

    @field_validator("gender", "age_band", "region", "segment", "role", "customer_status")
    @classmethod
    def _shares(cls, v, info):
        return _check_shares(info.field_name, v)

    def as_dict(self) -> dict[str, dict[str, float]]:
        """Only the dimensions with targets, in checklist order."""
        return {d: dict(getattr(self, d)) for d in SAMPLE_DIMENSIONS if getattr(self, d)}


class SampleDesign(Section):
    targets: SampleTargets = Field(default_factory=SampleTargets,
                                   description="target shares of the qualitative (interview) sample per dimension")
    survey_targets: SampleTargets | None = Field(default=None, description="target shares of the survey sample; "
                                                 "default: the same as `targets`")
    min_per_cell: int = Field(default=3, ge=0, description="fewest recruited people wanted in each targeted cell "
                                                           "(a dimension value, or a crossed cell)")
    under_ratio: float = Field(default=0.67, gt=0, lt=1, description="a cell whose share is below this fraction of "
                                                                     "its target is flagged under-represented")
    over_ratio: float = Field(default=1.5, gt=1, description="a cell whose share is above this multiple of its target "
                                                            "is flagged over-represented")
    cross: list[str] = Field(default_factory=lambda: ["region", "customer_status"], max_length=2,
                             description="two dimensions crossed into a quota grid (expected count = n x share x share); "
                                         "[] for none")
    exclude_roles: list[str] = Field(default_factory=lambda: ["expert"],
                                     description="participant roles left out of the customer sample (industry experts)")
    homogeneity_warning: float = Field(default=0.5, ge=0, le=1,
                                       description="warn when a dimension's normalised Shannon entropy "
                                                   "(0 = everyone alike, 1 = spread evenly) is below this")
    survey_planned_base: int | None = Field(default=None, ge=2, description="planned completed survey responses; "
                                            "default: planned_n of the survey method")
    survey_population: int | None = Field(default=None, ge=2, description="size of the surveyed population, for the "
                                          "finite-population correction; default: customers in the study, if known")
    confidence: float = Field(default=0.95, gt=0.5, lt=1, description="confidence level of the margin of error")
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="two-sided significance level of the power calculation")
    power: float = Field(default=0.80, gt=0.5, lt=1, description="wanted power to detect a difference")
    baseline_share: float = Field(default=0.5, gt=0, lt=1, description="assumed share in the reference group for the "
                                  "detectable difference (0.5 = worst case)")
    rating_sd: float = Field(default=1.0, gt=0, description="assumed standard deviation of a rating question (points), "
                             "for the detectable difference in mean ratings")
    compare: str = Field(default="segment", description="the dimension whose groups are compared pairwise in the "
                                                        "survey power table")
    smallest_rating_difference: float = Field(default=0.3, gt=0, description="the smallest difference in a mean "
                                              "rating (points) that matters to the business: the next study's sample "
                                              "per segment is sized to detect it")
    smallest_share_difference: float = Field(default=0.05, gt=0, lt=1, description="the smallest difference in a "
                                             "share (0.05 = 5 points) that matters, for the next study's sample size")

    @field_validator("cross")
    @classmethod
    def _cross_dims(cls, v):
        unknown = [d for d in v if d not in SAMPLE_DIMENSIONS]
        if unknown:
            raise ValueError(f"unknown sample dimension(s) {unknown}; write two of {list(SAMPLE_DIMENSIONS)}")
        if len(v) == 1 or (len(v) == 2 and v[0] == v[1]):
            raise ValueError("`cross` needs two different dimensions, e.g. [region, customer_status], or [] for none")
        return v

    @field_validator("compare")
    @classmethod
    def _compare_dim(cls, v):
        if v not in SAMPLE_DIMENSIONS:
            raise ValueError(f"unknown sample dimension {v!r}; write one of {list(SAMPLE_DIMENSIONS)}")
        return v

    @property
    def survey(self) -> SampleTargets:
        return self.survey_targets or self.targets


class ScopeConfig(Section):
    methods: list[MethodPlan] = Field(default_factory=list, description="the execution methods and what each serves")
    sample: SampleDesign = Field(default_factory=SampleDesign, description="sample targets and survey precision")

    def survey_base(self) -> int | None:
        """The planned survey base: sample.survey_planned_base, else the survey method's planned_n."""
        if self.sample.survey_planned_base:
            return self.sample.survey_planned_base
        ns = [m.planned_n for m in self.methods if m.method == "survey" and m.planned_n]
        return sum(ns) if ns else None

    def cross_check(self, params) -> list[tuple[tuple, str, str, str]]:
        from insight.voc.scope import scope_problems
        return scope_problems(params)


__all__ = ["ScopeConfig", "MethodPlan", "SampleDesign", "SampleTargets", "METHOD_LABELS", "SAMPLE_DIMENSIONS",
           "DIMENSION_LABELS", "QUAL_METHODS", "QUANT_SURVEY_METHODS", "QUANT_CRM_METHODS"]

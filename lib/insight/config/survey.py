"""Params section `survey`: the quantitative phase (questionnaire, cleaning, weighting, tabulation).

Every default suits the demo study, so params/2024-annual.yaml needs no `survey:` section.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from insight.config.base import Section


class WeightingConfig(Section):
    margins: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {"segment": {"enterprise": 0.20, "mid_market": 0.35, "smb": 0.45}},
        description="population shares per respondent variable, e.g. segment: {enterprise: 0.2, ...}; "
                    "each variable's shares sum to 1; empty mapping = no weighting")
    trim: tuple[float, float] | None = Field(
        default=(0.3, 3.0),
        description="lower and upper bound of a weight relative to the mean weight (1.0); weights are "
                    "capped inside the raking loop so the margins still hold; null = no trimming")
    max_iter: int = Field(default=100, ge=1, description="maximum raking iterations")
    tolerance: float = Field(default=1e-6, gt=0, description="raking stops when every weighted margin is within this of its target share")


class SurveyConfig(Section):
    questionnaire: str = Field(default="templates/instruments/demo-survey.yaml",
                               description="the questionnaire YAML (the codebook), relative to the project root")
    wave: int | None = Field(default=None, description="the survey wave analysed; default: the year the study period starts")
    compare_wave: int | None = Field(default=None, description="the wave to compare with; default: the wave before, when present")
    pilot_first_n: int = Field(default=50, ge=5, description="the first N responses (by start time) checked as the pilot")
    speeder_fraction: float = Field(default=1 / 3, gt=0, lt=1,
                                    description="a complete faster than this fraction of the median completion time is a speeder")
    straightline_min_items: int = Field(default=5, ge=2,
                                        description="a grid answered with the same code on at least this many items (and all answered items) is straight-lined")
    keep_partials: bool = Field(default=False, description="keep partial completes (completed = false) in the analysis")
    drop_failed_attention: bool = Field(default=True, description="remove respondents who fail an attention check")
    out_of_range: Literal["error", "blank", "remove"] = Field(
        default="error", description="a code outside a question's scale: stop with an error, blank the answer, or remove the respondent")
    weighting: WeightingConfig = Field(default_factory=WeightingConfig, description="raking to population margins")
    banners: list[str] = Field(default_factory=lambda: ["segment", "region", "customer_status", "role"],
                               description="respondent variables used as banner (column) groups")
    banner_questions: list[str] | None = Field(default=None, description="question ids tabulated in banners; default: every closed question")
    significance: tuple[float, float] = Field(default=(0.05, 0.10),
                                              description="column-comparison levels: UPPER-case letters at the first, lower-case at the second")
    correction: Literal["holm", "bonferroni", "fdr_bh", "none"] = Field(
        default="holm", description="multiple-comparison correction across each banner table and across the hypothesis tests")
    small_base: int | None = Field(default=None, ge=1, description="bases below this are flagged; default: report.small_base")
    tiny_base: int | None = Field(default=None, ge=1, description="bases below this are suppressed; default: report.min_base")
    confidence: float = Field(default=0.95, gt=0.5, lt=1, description="confidence level of the intervals")
    pmf_benchmark: float = Field(default=0.40, gt=0, lt=1, description="product-market fit benchmark share of 'very disappointed' (Sean Ellis: 40%)")

    @field_validator("significance")
    @classmethod
    def _levels(cls, v):
        if not (0 < v[0] < v[1] < 1):
            raise ValueError("write two levels, the stricter first, e.g. [0.05, 0.10]")
        return v

    def cross_check(self, params) -> list:
        out = []
        for var, shares in self.weighting.margins.items():
            total = sum(shares.values())
            if abs(total - 1) > 0.01:
                out.append((("survey", "weighting", "margins", var),
                            f"the population shares of {var} sum to {total:.3f}, not 1",
                            "correct the shares so they add up to 1 (e.g. 0.20, 0.35, 0.45)", "error"))
            neg = [k for k, s in shares.items() if s <= 0]
            if neg:
                out.append((("survey", "weighting", "margins", var), f"shares of {neg} are not positive",
                            "give every category a positive share, or drop it and merge it into another", "error"))
        t = self.weighting.trim
        if t is not None and not (0 < t[0] < 1 < t[1]):
            out.append((("survey", "weighting", "trim"), "trim bounds must be a lower bound below 1 and an upper bound above 1",
                        "write e.g. [0.3, 3.0]", "error"))
        from insight.paths import Project
        path = Project.find().resolve(self.questionnaire)
        if not path.is_file():
            out.append((("survey", "questionnaire"), f"questionnaire file not found: {self.questionnaire}",
                        "write the path (relative to the project root) of a questionnaire YAML, e.g. "
                        "templates/instruments/demo-survey.yaml", "error"))
        return out

    def bases(self, params) -> tuple[int, int]:
        """(small_base, tiny_base) with the report defaults filled in."""
        return (self.small_base or params.report.small_base, self.tiny_base or params.report.min_base)

"""Params section `qualitative`. Owned by the qual analyses (insight.qual); every key documented
with Field(description=...). The defaults suit the demo study, so its params need no section."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from insight.config.base import Section

# interviewer turns starting with one of these count as probes (follow-up questions) when the
# transcript does not mark probes itself ("Interviewer (probe): ..." or "[probe] ...")
PROBE_PHRASES = ("why", "can you tell me more", "tell me more", "could you tell me more", "can you give an example",
                 "can you give me an example", "could you give an example", "could you give me an example",
                 "what do you mean", "how so", "what happened then", "what happened next", "can you elaborate",
                 "could you elaborate", "what made you", "how did that", "and then", "为什么", "能具体说说",
                 "具体说说", "举个例子", "然后呢")

QualKind = Literal["interview_1to1", "group_interview", "phone_interview", "video_interview", "focus_group",
                   "observation_log", "expert_session", "community_post", "open_end", "complaint_text"]


class QualConfig(Section):
    interview_kinds: list[QualKind] = Field(
        default=["interview_1to1", "group_interview", "phone_interview", "video_interview", "focus_group"],
        description="source kinds that count as interviews (saturation curve, probing depth)")
    uncoded_kinds: list[QualKind] = Field(
        default=["community_post", "open_end", "complaint_text"],
        description="source kinds of customers' own free text (community posts, open ends, complaints): "
                    "counted with interviews as customers' words, and given suggested themes and sentiment")
    attributes: list[str] = Field(
        default=["customer_status", "segment", "region", "role"],
        description="participant attributes that code frequencies are broken down by")
    focus_group: dict[str, str] = Field(
        default={"customer_status": "churned"},
        description="attribute: value whose participants are compared with all others to find concentrated codes")
    n_themes: int = Field(default=6, ge=2, le=30, description="number of suggested themes (NMF components) for uncoded text")
    theme_terms: int = Field(default=8, ge=3, le=30, description="top terms shown per suggested theme")
    theme_examples: int = Field(default=2, ge=1, le=10, description="example texts shown per suggested theme")
    quotes_per_code: int = Field(default=2, ge=1, le=10, description="representative quotes shown per code")
    quote_max_chars: int = Field(default=280, ge=40, description="quotes longer than this are shortened with an ellipsis")
    saturation_batch: int = Field(
        default=3, ge=1,
        description="saturation is reached when this many most recent interviews added no new code")
    coders: list[str] | None = Field(
        default=None,
        description="coders compared for inter-coder reliability (all coders of double-coded segments when omitted)")
    primary_coder: str | None = Field(
        default=None,
        description="whose codes count where a segment was coded twice (the coder with most segments when omitted)")
    reliability_good: float = Field(default=0.8, gt=0, le=1,
                                    description="alpha at or above this: codes are reliable (Krippendorff 2004)")
    reliability_tentative: float = Field(default=0.667, gt=0, le=1,
                                         description="alpha at or above this (but below good): tentative conclusions only")
    evidence_min_participants: int = Field(
        default=3, ge=1, description="fewest participants on one side before a hypothesis is called supported or contradicted")
    evidence_ratio: float = Field(
        default=2.0, ge=1, description="supporting participants must outnumber contradicting ones by this factor (and vice versa)")
    evidence_min_share: float = Field(
        default=0.2, ge=0, le=1,
        description="for hypotheses with supporting codes only: share of interviewed participants needed to call it supported")
    probe_phrases: list[str] = Field(
        default=list(PROBE_PHRASES),
        description="interviewer turns starting with one of these (case-insensitive) count as probes "
                    "when the transcript does not mark probes itself")

    @model_validator(mode="after")
    def _levels(self):
        if self.reliability_tentative > self.reliability_good:
            raise ValueError(f"reliability_tentative ({self.reliability_tentative}) is above reliability_good "
                             f"({self.reliability_good}); write a tentative level at or below the good level")
        return self

    def cross_check(self, params) -> list[tuple[tuple, str, str, str]]:
        import difflib

        from insight.data.schema import TABLES
        out = []
        cols = [c.name for c in TABLES["participants"].columns
                if not c.personal and c.name not in ("participant_id", "customer_id", "recruited")]
        for key, names in (("attributes", self.attributes), ("focus_group", list(self.focus_group))):
            for i, a in enumerate(names):
                if a not in cols:
                    close = difflib.get_close_matches(a, cols, n=1)
                    loc = ("qualitative", key, i) if key == "attributes" else ("qualitative", key, a)
                    out.append((loc, f"'{a}' is not a participant attribute",
                                (f"did you mean '{close[0]}'? " if close else "") + f"use one of: {', '.join(cols)}",
                                "error"))
        overlap = sorted(set(self.interview_kinds) & set(self.uncoded_kinds))
        if overlap:
            out.append((("qualitative", "uncoded_kinds"),
                        f"{', '.join(overlap)} listed both as interviews and as uncoded text",
                        "keep each kind in one list only", "warning"))
        for i, h in enumerate(params.hypotheses):
            if h.qual is None:
                continue
            both = sorted(set(h.qual.supports) & set(h.qual.contradicts))
            if both:
                out.append((("hypotheses", i, "qual"),
                            f"hypothesis {h.id}: code(s) {', '.join(both)} both support and contradict it",
                            "list each code under `supports` or `contradicts`, not both", "error"))
        return out

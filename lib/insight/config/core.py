"""The study frame every notebook shares: study metadata, objectives, questions, hypotheses,
report settings. Area-specific sections live in their own modules next to this one."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from insight.config.base import Section

Trigger = Literal["annual_planning", "external_change", "structural_change", "ad_hoc"]
Dimension = Literal["usage", "purchase", "brand_interaction"]
DIMENSION_LABELS = {
    "usage": "Experience in the usage scenario",
    "purchase": "Experience in the purchase process",
    "brand_interaction": "Interaction between the customer's organisation and the brand",
}


class Period(Section):
    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self):
        if self.end < self.start:
            raise ValueError(
                f"the period ends ({self.end}) before it starts ({self.start}); "
                "write `end` on or after `start`"
            )
        return self


class StudyMeta(Section):
    name: str = Field(description="plain slug, equal to the params file name, e.g. 2024-annual")
    title: str
    trigger: Trigger
    trigger_note: str = ""
    period: Period
    owner: str = ""
    departments: list[str] = []
    previous_study: str | None = None
    summary: str = ""


class Objectives(Section):
    why: str
    who: str
    when: str
    what: str


class Question(Section):
    id: str
    text: str
    business_goal: str
    priority: Literal["high", "medium", "low"] = "medium"
    owner: str = Field(description="owning department")


class QuantSpec(Section):
    """How a hypothesis is tested on survey or CRM data."""
    source: Literal["survey", "crm"] = "survey"
    measure: str = Field(description="a survey question id or a CRM measure name")
    group_by: str = Field(description="the attribute whose groups are compared, e.g. segment")
    groups: list[str] | None = Field(default=None, description="focus group first, then reference; all groups when omitted")
    expected: Literal["lower", "higher", "different", "no_difference"] = "different"


class QualSpec(Section):
    supports: list[str] = Field(default_factory=list, description="codes whose presence supports the hypothesis")
    contradicts: list[str] = Field(default_factory=list, description="codes whose presence contradicts it")


class Hypothesis(Section):
    id: str
    question: str
    dimension: Dimension
    statement: str
    quant: QuantSpec | None = None
    qual: QualSpec | None = None


class ReportSettings(Section):
    small_base: int = Field(default=30, ge=1, description="bases below this are flagged")
    min_base: int = Field(default=10, ge=1, description="bases below this are suppressed")
    alpha: float = Field(default=0.05, gt=0, lt=1)
    notebooks: list[str] | None = Field(default=None, description="run only these notebooks (names without .ipynb)")
    exclude_notebooks: list[str] = []
    cell_timeout: int = Field(default=1800, ge=10, description="seconds one notebook cell may run before the notebook is failed (a hung cell never stalls the study)")

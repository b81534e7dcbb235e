"""Params section `synthesis`: how evidence becomes a verdict, what the summary compares, the action plan."""
from __future__ import annotations

import datetime as dt

from pydantic import Field

from insight.config.base import Section


class Action(Section):
    insight: str = Field(description="the insight the action answers (free text or a hypothesis id)")
    action: str
    owner: str = Field(description="owning department")
    due: dt.date
    success_metric: str
    hypothesis: str | None = Field(default=None, description="hypothesis id the action follows from")


class SynthesisConfig(Section):
    alpha: float = Field(default=0.05, gt=0, lt=1, description="significance level for a quantitative finding to count as strong evidence")
    min_participants: int = Field(default=3, ge=1, description="qualitative evidence counts when at least this many participants voice it")
    group_attributes: list[str] = Field(default_factory=lambda: ["segment", "region", "customer_status", "role"],
                                        description="attributes across which key measures are compared")
    key_measures: list[str] = Field(default_factory=lambda: ["q_nps", "q_csat", "q_onboarding", "q_renew"],
                                    description="survey questions compared across groups and years")
    driver_target: str = Field(default="q_nps", description="the outcome whose drivers are ranked")
    driver_items: list[str] = Field(default_factory=lambda: [
        "q_attr_value", "q_attr_reliability", "q_attr_support", "q_attr_ease", "q_attr_features",
        "q_attr_responsive", "q_attr_partner"], description="attributes whose relative importance is estimated")
    say_do_months: int = Field(default=9, ge=1, description="months after the survey in which a churn counts as a say-do gap")
    summary_size: int = Field(default=6, ge=1, le=15, description="insights in the executive summary")
    actions: list[Action] = Field(default_factory=list, description="actions agreed with the owners; supported hypotheses without one get a suggested row")
    default_owner_due_days: int = Field(default=90, description="due date of a suggested action, days after the study end")

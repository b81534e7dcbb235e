"""Params section `attention`: customer attention (complaints, consultations, contacts),
satisfaction extremes, profitability and the CRM capability scorecard (issue 9).

Every key has a default that suits the demo study, so a study's params need no `attention`
section unless its data differ (other interaction type names, other survey questions...).
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from insight.config.base import Section

PeriodFreq = Literal["month", "quarter", "year"]
COST_COLUMNS = ("cost_service", "cost_support", "cost_acquisition", "discount")
# complaint columns a resolution-time hypothesis may group by (insight.crm.complaints)
RESOLUTION_GROUPS = ("department", "region", "segment", "product", "product_id", "rep", "reason_code", "channel")


class AttentionConfig(Section):
    # --- which interactions are what -------------------------------------------------------
    complaint_types: list[str] = Field(
        default=["complaint"],
        description="interactions.type values counted as complaints / opinions")
    consultation_types: list[str] = Field(
        default=["consultation"],
        description="interactions.type values counted as consultations (questions to answer)")
    suggestion_types: list[str] = Field(
        default=["suggestion"],
        description="interactions.type values counted as customer suggestions (implemented or not)")
    contact_direction: Literal["outbound", "inbound", "any"] = Field(
        default="outbound",
        description="which contacts count as 'actively contacted' in the contact evaluation")
    period_freq: PeriodFreq = Field(
        default="quarter", description="the period used to break down complaints, consultations and contacts")
    within_period: bool = Field(
        default=True,
        description="restrict interactions, orders, costs and survey answers to the study period (study.period)")
    top_n: int = Field(default=12, ge=3, le=100, description="rows shown in 'top' tables (reps, reasons, terms)")
    text_terms: int = Field(default=8, ge=3, le=30,
                            description="top TF-IDF terms per group when complaints have text but no reason codes")

    # --- satisfaction extremes ---------------------------------------------------------------
    satisfaction_measures: list[str] = Field(
        default=["q_csat", "q_nps"],
        description="survey questions measuring satisfaction; the first present is used, or all present "
                    "ones averaged after rescaling to 0-1 when `combine_measures` is true")
    combine_measures: bool = Field(
        default=False,
        description="average every present satisfaction measure (each rescaled to 0-1 by its scale) "
                    "instead of using the first present one")
    extreme_share: float = Field(
        default=0.2, gt=0, le=0.5,
        description="share of customers in each extreme group (0.2 = the 20% most and 20% least satisfied)")
    extremes_by: list[Literal["product", "region", "segment"]] = Field(
        default=["product", "region"],
        description="breakdowns for the extremes; a customer's product is the one with most revenue")

    # --- profitability -------------------------------------------------------------------------
    cost_components: list[str] = Field(
        default=list(COST_COLUMNS),
        description="costs columns that make the cost to serve (subset of cost_service, cost_support, "
                    "cost_acquisition, discount)")

    # --- CRM capability ------------------------------------------------------------------------
    answer_target_days: float = Field(
        default=3, gt=0,
        description="an inbound request (consultation, complaint) answered within this many days counts as timely")
    capability_statuses: list[str] = Field(
        default=["existing", "churned"],
        description="customers.status values counted as the customer base of the contact evaluation and the "
                    "capability scorecard (customers active at some point in the study period)")

    @field_validator("cost_components")
    @classmethod
    def _known_costs(cls, v):
        bad = [c for c in v if c not in COST_COLUMNS]
        if bad:
            raise ValueError(f"unknown cost components {bad}; use some of {list(COST_COLUMNS)}")
        if not v:
            raise ValueError(f"name at least one cost component of {list(COST_COLUMNS)}")
        return v

    @field_validator("satisfaction_measures", "complaint_types")
    @classmethod
    def _non_empty(cls, v):
        if not v:
            raise ValueError("name at least one value")
        return v

    def cross_check(self, params) -> list:
        """Hypotheses on complaint resolution times (quant measure days_to_resolve) must group
        complaints by one of their columns and name the group to compare."""
        out = []
        for i, h in enumerate(params.hypotheses):
            q = h.quant
            if q is None or q.source != "crm" or q.measure != "days_to_resolve":
                continue
            if q.group_by not in RESOLUTION_GROUPS:
                out.append((("hypotheses", i, "quant", "group_by"),
                            f"hypothesis {h.id}: complaint resolution times cannot be grouped by {q.group_by!r}",
                            f"use one of: {', '.join(RESOLUTION_GROUPS)}", "error"))
            if not q.groups:
                out.append((("hypotheses", i, "quant"),
                            f"hypothesis {h.id}: name the group whose resolution times are compared with the others",
                            "add groups: [<value>], e.g. groups: [billing]", "error"))
        return out

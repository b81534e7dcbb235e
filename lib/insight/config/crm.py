"""Params section `crm`: the CRM analyses of business behaviour, customer characteristics and
loyalty (insight.crm: distribution, retention, churn, crosssell, value, opinions, loyalty).

Every key has a default that suits the demo study, so a study's params need no `crm:` section
unless it differs from the demo. Dates left empty default to the study period.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from insight.config.base import Section


class RfmRule(Section):
    """One named RFM segment: a customer whose R, F and M scores all fall in the ranges belongs to
    it. Rules are tried in order; the first that matches wins; unmatched customers are 'other'."""
    name: str = Field(description="segment name shown in the report, e.g. champions")
    r: tuple[int, int] | None = Field(default=None, description="recency score range [low, high] (top score = bought most recently); omitted: any")
    f: tuple[int, int] | None = Field(default=None, description="frequency score range [low, high] (top score = buys most often); omitted: any")
    m: tuple[int, int] | None = Field(default=None, description="monetary score range [low, high] (top score = spends most); omitted: any")
    description: str = Field(default="", description="what the segment means, for the report")

    @model_validator(mode="after")
    def _ranges(self):
        for k in ("r", "f", "m"):
            if getattr(self, k) is None:
                continue
            lo, hi = getattr(self, k)
            if lo > hi:
                raise ValueError(f"RFM rule {self.name!r}: {k} range [{lo}, {hi}] is reversed; write [low, high]")
        return self


DEFAULT_RFM_RULES = [
    RfmRule(name="champions", r=(4, 5), f=(4, 5), m=(4, 5),
            description="bought recently, buy often and spend the most"),
    RfmRule(name="cannot_lose", r=(1, 2), f=(4, 5), m=(4, 5),
            description="used to buy often and spend a lot, but not recently"),
    RfmRule(name="loyal", r=(3, 5), f=(4, 5),
            description="buy often and still buying"),
    RfmRule(name="at_risk", r=(1, 2), f=(3, 5),
            description="bought regularly before, not recently"),
    RfmRule(name="potential_loyalists", r=(4, 5), f=(2, 3),
            description="recent customers with a few purchases"),
    RfmRule(name="new", r=(4, 5), f=(1, 1),
            description="bought recently, for the first time or once"),
    RfmRule(name="needs_attention", r=(3, 3), f=(1, 3),
            description="average recency and frequency: can go either way"),
    RfmRule(name="hibernating", r=(1, 2), f=(1, 2),
            description="last purchase long ago, few purchases"),
]


class AtRiskConfig(Section):
    cutoff: dt.date | None = Field(default=None, description="the date the at-risk list is drawn up at; default: study period end")
    order_window_days: int = Field(default=180, ge=7, description="orders in the last N days are compared with the N days before")
    order_drop: float = Field(default=0.5, gt=0, le=1, description="flag when orders fall by at least this share")
    usage_months: int = Field(default=3, ge=1, description="mean active users of the last N months vs the N months before")
    usage_drop: float = Field(default=0.25, gt=0, le=1, description="flag when active users fall by at least this share")
    renewal_within_days: int = Field(default=90, ge=1, description="a renewal (or contract end) within N days after the cutoff ...")
    engagement_days: int = Field(default=90, ge=1, description="... with no interaction in the N days before the cutoff")
    p_alive_below: float = Field(default=0.5, gt=0, lt=1, description="order data: flag when the BG/NBD probability of being still active is below this")
    horizon_days: int = Field(default=183, ge=1, description="evaluation: churn counted in the N days after the cutoff")
    profile_lift: float = Field(default=2.0, gt=1, description="churn profile (no order or usage data): flag when customers of the same group and tenure left within the horizon at least this many times as often as all customers at that tenure (Kaplan-Meier) ...")
    profile_min_risk: float = Field(default=0.1, gt=0, lt=1, description="... and at least this share of them left within the horizon")


class CrossSellConfig(Section):
    level: Literal["category", "product"] = Field(default="product", description="affinity between single products or product categories")
    min_lift: float = Field(default=1.5, gt=0, description="affinity rules need at least this lift (1.5: buyers of A "
                            "buy B 50% more often than customers at large; a lift of 1.2 made most customers candidates)")
    min_confidence: float = Field(default=0.2, ge=0, le=1, description="... and this share of buyers of A also buying B")
    min_support: float = Field(default=0.02, ge=0, le=1, description="... and this share of all customers buying both "
                               "(a rule on a rare pair is noise, however high its lift)")
    min_pair_customers: int = Field(default=20, ge=1, description="... and at least this many customers buying both")
    contract_end_within_days: int = Field(default=90, ge=1, description="contract ending within N days: a renewal/upgrade conversation")
    usage_limit_share: float = Field(default=0.9, gt=0, description="active users at or above this share of the seats bought: an upgrade candidate")


class ClvConfig(Section):
    time_unit_days: float = Field(default=7.0, gt=0, description="time unit of the BG/NBD fit in days (7 = weeks, as in the published model)")
    horizon_months: int = Field(default=12, ge=1, description="CLV horizon in months")
    annual_discount_rate: float = Field(default=0.10, ge=0, lt=1, description="yearly discount rate of future margin")
    margin: float = Field(default=1.0, gt=0, le=1, description="profit margin applied to revenue (1 = revenue CLV)")


class LoyaltyComponent(Section):
    source: Literal["survey", "crm"] = Field(description="survey: a survey_responses column; crm: a CRM measure")
    measure: str = Field(description="survey question id, or crm measure: order_frequency | complaint_resolution | tenure")
    weight: float = Field(ge=0, description="relative weight (weights are rescaled to sum to 1)")
    scale: tuple[float, float] | None = Field(default=None, description="survey answer range [low, high]; default: observed")
    reverse: bool = Field(default=False, description="higher raw values mean less loyalty")


def _default_loyalty():
    return {
        "trust": LoyaltyComponent(source="survey", measure="q_trust", weight=0.25, scale=(1, 5)),
        "frequency": LoyaltyComponent(source="crm", measure="order_frequency", weight=0.15),
        "service": LoyaltyComponent(source="survey", measure="q_attr_support", weight=0.15, scale=(1, 5)),
        "satisfaction": LoyaltyComponent(source="survey", measure="q_csat", weight=0.20, scale=(1, 5)),
        "continuation": LoyaltyComponent(source="survey", measure="q_renew", weight=0.25, scale=(1, 5)),
    }


class CrmConfig(Section):
    as_of: dt.date | None = Field(default=None, description="reference date for recency, tenure and CLV; default: study period end")
    distribution_by: list[str] = Field(default_factory=lambda: ["segment", "region"], description="customer attributes that product distribution is broken down by")
    product_level: Literal["category", "product"] = Field(default="category", description="products grouped by category or shown one by one")
    concentration_index: float = Field(default=1.5, gt=1, description="a group x product cell is a notable concentration when its share is at least this multiple of the overall share")
    concentration_hypothesis: str | None = Field(default="H6", description="hypothesis id tested by the region x category comparison (quant measure bought_<category>)")
    cohort_grain: Literal["M", "Q", "Y"] = Field(default="Q", description="cohort period: month, quarter or year")
    cohort_basis: Literal["first_purchase", "signup"] = Field(default="first_purchase", description="cohorts by first purchase or by signup date")
    retention_window_days: int = Field(default=365, ge=30, description="behaviour-based retention: customers active in the window before as_of - N days, retained if they buy in the last N days")
    churn_by: list[str] = Field(default_factory=lambda: ["segment", "region"], description="customer attributes churn rates and survival are compared across")
    churn_grain: Literal["M", "Q", "Y"] = Field(default="Q", description="period of the churn-rate trend")
    rfm_bins: int = Field(default=5, ge=2, le=10, description="RFM score bands (5: scores 1-5)")
    rfm_rules: list[RfmRule] = Field(default_factory=lambda: list(DEFAULT_RFM_RULES), description="named RFM segments, first match wins")
    clv: ClvConfig = Field(default_factory=ClvConfig)
    at_risk: AtRiskConfig = Field(default_factory=AtRiskConfig)
    crosssell: CrossSellConfig = Field(default_factory=CrossSellConfig)
    new_product_since: dt.date | None = Field(default=None, description="products launched on or after this date count as new; default: study period start")
    adoption_months: int = Field(default=9, ge=1, description="months since launch shown on the adoption curves")
    loyalty: dict[str, LoyaltyComponent] = Field(default_factory=_default_loyalty, description="loyalty index components: name -> source, measure, weight")

    @model_validator(mode="after")
    def _checks(self):
        if self.loyalty and sum(c.weight for c in self.loyalty.values()) <= 0:
            raise ValueError("all loyalty component weights are 0; give at least one a positive weight")
        names = [r.name for r in self.rfm_rules]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"RFM rule names must be unique; repeated: {', '.join(dup)}")
        return self

    def rules_table(self):
        """The RFM rules as a table for the report (ranges, 'any' when omitted)."""
        import pandas as pd
        rng = lambda v: "any" if v is None else f"{v[0]}-{v[1]}"
        return pd.DataFrame([{"segment": x.name, "R": rng(x.r), "F": rng(x.f), "M": rng(x.m), "meaning": x.description}
                             for x in self.rfm_rules]).set_index("segment")

    def cross_check(self, params) -> list:
        out = []
        for i, rule in enumerate(self.rfm_rules):
            for k in ("r", "f", "m"):
                if getattr(rule, k) is None:
                    continue
                lo, hi = getattr(rule, k)
                if lo < 1 or hi > self.rfm_bins:
                    out.append((("crm", "rfm_rules", i, k), f"RFM rule {rule.name!r}: {k} range [{lo}, {hi}] lies outside the scores 1-{self.rfm_bins}",
                                f"write a range within [1, {self.rfm_bins}] or change crm.rfm_bins", "error"))
        hid = self.concentration_hypothesis
        if hid and params.hypotheses and hid not in {h.id for h in params.hypotheses}:
            out.append((("crm", "concentration_hypothesis"), f"hypothesis {hid!r} is not in the study's hypotheses",
                        "name one of the hypotheses ids, or write null", "warning"))
        return out

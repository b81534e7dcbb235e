"""The effects planted in the demo company, listed in one place.

The generator (insight.demo.generate) reads these numbers; the tests of every analysis assert
that the analysis finds them. An analysis is checked against what was planted, never against
its own output. Change a magnitude here and both the data and the expectations follow.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Planted:
    id: str
    description: str
    where: str                       # table(s) and columns carrying the effect
    values: dict[str, Any]           # the magnitudes the generator uses


PLANTED: dict[str, Planted] = {p.id: p for p in [
    Planted("enterprise_onboarding_gap",
            "Enterprise respondents rate onboarding lower than other segments.",
            "survey_responses.q_onboarding (1-5) by segment",
            {"segment": "enterprise", "question": "q_onboarding", "shift": -0.8}),
    Planted("missed_checkup_churn",
            "Customers who missed the one-month implementation check-up churn more.",
            "interactions type=implementation_checkup (absent or later than the window); customers.churn_date",
            {"miss_rate": 0.30, "window_days": [21, 45], "churn_with_checkup": 0.10, "churn_without_checkup": 0.30}),
    Planted("churned_promoters",
            "Some promoters churn anyway (say-do gap): NPS 9-10 in the survey, churned within 9 months after it.",
            "survey_responses.q_nps, customer_id; customers.churn_date",
            {"share_of_promoters": 0.12, "months_after_survey": 9}),
    Planted("region_category",
            "One region buys one product category far more than the others.",
            "orders x products.category x customers.region",
            {"region": "APAC", "category": "analytics", "share_multiplier": 2.5}),
    Planted("slow_department",
            "Complaints handled by one department take much longer to resolve.",
            "interactions type=complaint: resolved_date - date by department",
            {"department": "billing", "median_days": 12, "other_median_days": 3}),
    Planted("speeders",
            "Survey speeders: completion in under a third of the median time.",
            "survey_responses.duration_seconds",
            {"share": 0.04, "fraction_of_median": 0.25}),
    Planted("straight_liners",
            "Survey straight-liners: the same answer on every item of the attribute grid.",
            "survey_responses q_attr_* (the Likert battery)",
            {"share": 0.03}),
    Planted("churn_code",
            "One qualitative code is concentrated among churned customers' participants.",
            "coded_segments.code x participants.customer_status",
            {"code": "integration_pain", "rate_churned": 0.75, "rate_other": 0.15}),
    Planted("nps_shift",
            "NPS falls between the 2023 and the 2024 survey waves.",
            "survey_responses.q_nps by wave",
            {"nps_2023": 30, "nps_2024": 8}),
    Planted("no_price_gap",
            "Planted as FALSE: SMB customers do not rate value for money differently from others.",
            "survey_responses.q_attr_value by segment",
            {"segment": "smb", "shift": 0.0}),
    Planted("usage_decline_before_churn",
            "Usage falls over the months before a customer churns, so at-risk lists and health scores can see it.",
            "usage.active_users in the 4 months before churn_date",
            {"months": 4, "monthly_factor": 0.7}),
    Planted("least_satisfied_profile",
            "The least satisfied customers filed many more complaints and are mostly on the basic plan.",
            "interactions complaints per customer; survey satisfaction",
            {"complaint_rate_ratio": 4.0}),
    Planted("loss_making_smb",
            "Many SMB customers with a heavy support load cost more to serve than they bring in.",
            "costs.cost_support x segment=smb",
            {"segment": "smb", "share_loss_making": 0.25}),
    Planted("academy_retention",
            "Customers who used the academy churn less.",
            "interactions type=education channel=academy; customers.churn_date",
            {"churn_ratio": 0.5}),
    Planted("funnel_trial_dropoff",
            "Visitors from paid ads drop off at the trial step far more than referrals.",
            "journey_events step=trial by channel",
            {"channel": "paid_ads", "trial_to_purchase": 0.10, "reference_channel": "referral", "reference_rate": 0.35}),
    Planted("slow_feedback_team",
            "One product team closes the feedback loop slower and tells customers less often.",
            "feedback_items by team",
            {"team": "platform", "median_cycle_days": 120, "other_median_cycle_days": 45, "told_share": 0.4, "other_told_share": 0.85}),
    Planted("sample_imbalance",
            "Interview recruitment over-represents North America and under-represents LATAM and churned customers.",
            "participants.region, customer_status",
            {"over": {"region": "North America"}, "under": [{"region": "LATAM"}, {"customer_status": "churned"}]}),
    Planted("survey_overrepresents_enterprise",
            "Survey respondents over-represent enterprise against the customer base (weighting corrects it).",
            "survey_responses.segment vs customers.segment",
            {"respondent_share": 0.40, "population_share": 0.20}),
    Planted("new_product_adoption",
            "The product launched in 2024 is adopted faster by mid-market customers.",
            "orders of the product launched 2024-03-01 by segment",
            {"product_category": "ai", "segment": "mid_market"}),
]}


def planted(pid: str) -> Planted:
    return PLANTED[pid]

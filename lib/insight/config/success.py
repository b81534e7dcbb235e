"""Params section `success`: customer success (review cadence, health score, education, closed
feedback loop, lead onboarding) and the customer journey / funnel. Owned by insight.success.

Every key has a default that suits the demo study, so a study's params need no `success:`
section unless it differs from the demo.
"""
from __future__ import annotations

from pydantic import Field, model_validator

from insight.config.base import Section

CADENCE_STEPS = ("initial_assessment", "implementation_checkup", "six_month_update", "renewal_review")


class CadenceWindows(Section):
    """When each review of the cadence is due, in days after signup: [first day, last day]."""
    initial_assessment: tuple[int, int] = Field(
        default=(0, 14), description="initial assessment call: days after signup [from, to]")
    implementation_checkup: tuple[int, int] = Field(
        default=(21, 45), description="one-month implementation check-up: days after signup [from, to]")
    six_month_update: tuple[int, int] = Field(
        default=(150, 210), description="six-month update: days after signup [from, to]")
    renewal_review: tuple[int, int] = Field(
        default=(300, 365),
        description="one-year review before renewal: days after signup [from, to]; the demo company holds it "
                    "15-45 days before the anniversary, so the window opens two months before renewal")

    @model_validator(mode="after")
    def _ordered(self):
        for step in CADENCE_STEPS:
            lo, hi = getattr(self, step)
            if lo < 0 or hi < lo:
                raise ValueError(
                    f"the {step} window [{lo}, {hi}] is not a range of days after signup; "
                    f"write [first day, last day] with 0 <= first <= last, e.g. [21, 45]")
        return self

    def as_dict(self) -> dict[str, tuple[int, int]]:
        return {s: tuple(getattr(self, s)) for s in CADENCE_STEPS}


class HealthWeights(Section):
    """Relative weights of the health-score measures (they are rescaled to sum to 1)."""
    usage_trend: float = Field(default=0.30, ge=0, description="recent active users against the months before")
    engagement: float = Field(default=0.20, ge=0, description="interactions the customer initiated (inbound, not complaints) in the lookback")
    support_load: float = Field(default=0.15, ge=0, description="complaints in the lookback (more is worse)")
    satisfaction: float = Field(default=0.15, ge=0, description="the customer's latest survey satisfaction answer")
    cadence: float = Field(default=0.20, ge=0, description="share of due cadence reviews held on time")

    @model_validator(mode="after")
    def _some(self):
        if sum(self.as_dict().values()) <= 0:
            raise ValueError("all health-score weights are 0; give at least one measure a positive weight")
        return self

    def as_dict(self) -> dict[str, float]:
        return {k: float(getattr(self, k)) for k in type(self).model_fields}


class HealthBands(Section):
    """Score thresholds (0-100): below `red_below` is red, below `yellow_below` yellow, else green."""
    red_below: float = Field(default=40, ge=0, le=100, description="scores below this are red (at risk)")
    yellow_below: float = Field(default=65, ge=0, le=100, description="scores below this (and not red) are yellow")

    @model_validator(mode="after")
    def _ordered(self):
        if self.yellow_below < self.red_below:
            raise ValueError(f"yellow_below ({self.yellow_below}) is below red_below ({self.red_below}); "
                             "write red_below <= yellow_below, e.g. red_below: 40, yellow_below: 65")
        return self


class SuccessConfig(Section):
    # --- review cadence ---
    cadence_windows: CadenceWindows = Field(
        default_factory=CadenceWindows,
        description="when each review of the cadence is due, in days after signup")
    # --- health score ---
    health_weights: HealthWeights = Field(default_factory=HealthWeights,
                                          description="relative weights of the health-score measures")
    health_bands: HealthBands = Field(default_factory=HealthBands, description="red / yellow / green thresholds")
    health_lookback_days: int = Field(default=180, ge=30,
                                      description="engagement and complaints are counted over this many days before the score date")
    health_usage_months: int = Field(default=3, ge=1, le=12,
                                     description="usage trend: active users in the last N months against the N months before")
    satisfaction_question: str = Field(default="q_csat",
                                       description="survey column used as the satisfaction measure (higher is better)")
    validation_horizon_days: int = Field(
        default=120, ge=30,
        description="the score is validated as of (study end - this many days) against churn in the days after")
    # --- education ---
    education_channels: list[str] = Field(
        default_factory=lambda: ["webinar", "documentation", "academy"],
        description="interaction channels of type `education` analysed one by one (others are pooled as 'other')")
    education_landmark_days: int = Field(
        default=365, ge=30,
        description="education vs churn: customers active on (study end - this many days), by the education used "
                    "before that date, followed for churn after it")
    education_focus_channel: str = Field(default="academy",
                                         description="the education channel whose link with churn is reported as the key finding")
    # --- closed feedback loop ---
    feedback_focus_team: str | None = Field(
        default=None, description="team compared with all others; the slowest team (median cycle) when omitted")
    # --- lead onboarding and funnel ---
    funnel_steps: list[str] = Field(
        default_factory=lambda: ["visit", "signup", "trial", "qualified", "purchase", "onboarded"],
        description="journey_events steps of the funnel, in order")
    conversion_window_days: float = Field(
        default=30, gt=0,
        description="a visitor converts to the next funnel step only within this many days after the previous one")
    lead_qualified_step: str = Field(default="qualified", description="journey step: sales-qualified lead")
    lead_onboarded_step: str = Field(default="onboarded", description="journey step: onboarding started")
    trial_step: str = Field(default="trial", description="journey step: trial started")
    trial_converted_step: str = Field(default="purchase", description="journey step: trial converted (bought)")
    funnel_focus_channel: str | None = Field(
        default="paid_ads", description="channel whose drop-off is compared with the reference channel")
    funnel_reference_channel: str | None = Field(default="referral", description="reference channel of that comparison")

    def cross_check(self, params) -> list:
        out = []
        steps = self.funnel_steps
        if len(steps) < 2:
            out.append((("success", "funnel_steps"), "the funnel needs at least two steps",
                        "list the journey steps in order, e.g. [visit, signup, trial, purchase]", "error"))
        dupes = sorted({s for s in steps if steps.count(s) > 1})
        if dupes:
            out.append((("success", "funnel_steps"), f"funnel steps repeated: {', '.join(dupes)}",
                        "list each step once, in order", "error"))
        for key in ("trial_step", "trial_converted_step"):
            if getattr(self, key) not in steps:
                out.append((("success", key), f"{getattr(self, key)!r} is not one of the funnel steps",
                            f"use one of: {', '.join(steps)}", "warning"))
        if (self.trial_step in steps and self.trial_converted_step in steps
                and steps.index(self.trial_converted_step) <= steps.index(self.trial_step)):
            out.append((("success", "trial_converted_step"), "the converted step comes before the trial step in funnel_steps",
                        "put trial_converted_step after trial_step", "error"))
        if self.education_focus_channel not in self.education_channels:
            out.append((("success", "education_focus_channel"),
                        f"{self.education_focus_channel!r} is not in education_channels",
                        f"use one of: {', '.join(self.education_channels)}", "error"))
        return out

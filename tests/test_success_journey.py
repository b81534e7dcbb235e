"""Journey and funnel: a hand-computed funnel, the touchpoint catalogue, abandonment test,
and (once the demo generator exists) the planted paid-ads trial drop-off."""
from __future__ import annotations

import pandas as pd
import pytest

from insight.success import journey as J
from insight.success._common import SuccessDataError

STEPS = ["visit", "signup", "trial", "purchase"]
T0 = pd.Timestamp("2024-03-01 09:00")


def _ev(rows):
    df = pd.DataFrame(rows, columns=["visitor_id", "day", "step", "channel", "segment"])
    df["timestamp"] = T0 + pd.to_timedelta(df.pop("day"), unit="D")
    df["event_id"] = [f"e{i}" for i in range(len(df))]
    df["touchpoint"] = df["channel"] + "_page"
    df["customer_id"] = None
    return df


def six_visitors():
    # window 7 days; the clock of a step starts at the time the previous step was reached
    return _ev([
        ("v1", 0, "visit", "paid_ads", "smb"), ("v1", 1, "signup", "web", "smb"),
        ("v1", 2, "trial", "web", "smb"), ("v1", 5, "purchase", "web", "smb"),          # completes
        ("v2", 0, "visit", "referral", "smb"), ("v2", 10, "signup", "web", "smb"),      # signup after 10 d > 7: stops at visit
        ("v3", 0, "visit", "paid_ads", "enterprise"), ("v3", 3, "signup", "web", "enterprise"),
        ("v3", 4, "trial", "web", "enterprise"), ("v3", 20, "purchase", "web", "enterprise"),  # purchase 16 d after trial: stops at trial
        ("v4", 0, "signup", "referral", "smb"),                                          # never visited: not in the funnel
        ("v5", 0, "visit", "referral", "enterprise"), ("v5", 5, "visit", "referral", "enterprise"),
        ("v5", 9, "signup", "web", "enterprise"),                                        # 9 d after the FIRST visit: stops at visit
        ("v6", 0, "visit", "referral", "smb"), ("v6", 1, "trial", "web", "smb"),        # trial before signup does not count
        ("v6", 2, "signup", "web", "smb"), ("v6", 3, "trial", "web", "smb"),            # ... the later one does: stops at trial
    ])


def test_hand_computed_funnel():
    r = J.reached_steps(six_visitors(), STEPS, window_days=7)
    # entered: v1 v2 v3 v5 v6 (v4 had no visit)
    assert sorted(r.index) == ["v1", "v2", "v3", "v5", "v6"]
    assert r["last_step"].astype(str).to_dict() == {"v1": "purchase", "v2": "visit", "v3": "trial",
                                                     "v5": "visit", "v6": "trial"}
    t = J.funnel_table(r, STEPS)
    # hand count: visit 5, signup 3 (v1 v3 v6), trial 3, purchase 1 (v1)
    assert t["visitors"].tolist() == [5, 3, 3, 1]
    assert t["conversion from previous step"].iloc[1:].tolist() == pytest.approx([3 / 5, 3 / 3, 1 / 3])
    assert t["conversion from first step"].tolist() == pytest.approx([1, 0.6, 0.6, 0.2])
    assert t["dropped before next step"].tolist() == [2, 0, 2, 0]
    assert t["drop-off to next step"].iloc[:3].tolist() == pytest.approx([0.4, 0.0, 2 / 3])
    assert J.biggest_dropoff(t) == ("trial", pytest.approx(2 / 3))
    # first-touch channel: v1 v3 paid_ads, v2 v5 v6 referral
    by = J.funnel_by(r, STEPS, "channel")
    assert by.loc["paid_ads", "visitors"] == 2 and by.loc["referral", "visitors"] == 3
    assert by.loc["paid_ads", "trial → purchase"] == pytest.approx(0.5)       # v1 of v1, v3
    assert by.loc["referral", "visit → signup"] == pytest.approx(1 / 3)       # v6 of v2 v5 v6
    assert by.loc["referral", "overall"] == 0


def test_wider_window_converts_more():
    r = J.reached_steps(six_visitors(), STEPS, window_days=30)
    # with 30 days: v2 signs up (day 10) but never trials; v3 purchases (16 d); v5 signs up (day 9)
    assert J.funnel_table(r, STEPS)["visitors"].tolist() == [5, 5, 3, 2]


def test_abandonment_chi_square_reference():
    # 2 x 2 table segment x last step, hand-computed: [[30, 10], [10, 30]], expected 20 each,
    # chi2 = 4 * (10^2 / 20) = 20 with Yates? scipy applies Yates to 2x2 (dof 1): (|10|-0.5)^2/20*4 = 18.05
    rows = [("a", "visit")] * 30 + [("a", "signup")] * 10 + [("b", "visit")] * 10 + [("b", "signup")] * 30
    r = pd.DataFrame(rows, columns=["segment", "last_step"])
    r["last_step"] = pd.Categorical(r["last_step"], categories=["visit", "signup"], ordered=True)
    share, test = J.abandonment(r, "segment")
    assert test["chi2"] == pytest.approx(18.05)
    assert test["cramers_v"] == pytest.approx(0.5)        # sqrt(20 / 80): Cramér's V uses the uncorrected chi2
    assert share.loc["a", "stopped after visit"] == pytest.approx(0.75)
    assert share.loc["b", "completed the funnel"] == pytest.approx(0.75)


def test_catalogue_counts():
    cat = J.touchpoint_catalogue(six_visitors(), STEPS)
    assert cat.loc[("web", "web_page"), "events"] == 11
    assert cat.loc[("referral", "referral_page"), "visitors"] == 4      # v2 v4 v5 v6
    assert cat["share of events"].sum() == pytest.approx(1)
    assert cat.loc[("paid_ads", "paid_ads_page"), "steps"] == "visit"


def test_unknown_step_is_a_clear_error():
    with pytest.raises(SuccessDataError, match=r"funnel steps \['demo'\].*success.funnel_steps"):
        J.reached_steps(six_visitors(), ["visit", "demo"], 7)


def test_missing_column_is_a_clear_error():
    with pytest.raises(SuccessDataError, match="journey_events.*'step'"):
        J.reached_steps(six_visitors().drop(columns="step"), STEPS, 7)


def test_in_period():
    ev = six_visitors()
    p = J.in_period(ev, "2024-03-05", "2024-03-10")
    # day 4 .. day 9 inclusive (T0 is 2024-03-01 09:00): days 5 (v1 purchase, v5 visit) and 9 (v5 signup)
    assert sorted(p["event_id"]) == sorted(ev.loc[ev["timestamp"].between("2024-03-05", "2024-03-11"), "event_id"])
    assert p["timestamp"].max() < pd.Timestamp("2024-03-11")

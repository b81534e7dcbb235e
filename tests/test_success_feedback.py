"""Closed feedback loop and lead onboarding: cycle times, Kaplan-Meier medians, backlog age and
closed share on hand-made items; days to onboard and trial conversion on hand-made journeys;
(once the demo generator exists) the planted slow team."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insight.success import feedback_loop as F
from insight.success import leads as L
from insight.success._common import SuccessDataError


def items():
    d = pd.DataFrame([
        # id, team, type, status, reported, planned, shipped, told
        ("i1", "platform", "bug", "shipped", "2024-01-01", "2024-01-11", "2024-01-31", "2024-02-05"),
        ("i2", "platform", "request", "shipped", "2024-01-01", "2024-02-01", "2024-03-01", None),
        ("i3", "platform", "request", "planned", "2024-06-01", "2024-07-01", None, None),
        ("i4", "mobile", "bug", "shipped", "2024-01-01", None, "2024-01-11", "2024-01-12"),
        ("i5", "mobile", "request", "open", "2024-11-01", None, None, None),
        ("i6", "mobile", "request", "declined", "2024-02-01", None, None, None),
        ("i7", "mobile", "bug", "shipped", "2024-03-10", None, "2024-03-01", "2024-03-20"),  # shipped before reported
    ], columns=["item_id", "team", "type", "status", "reported_date", "planned_date", "shipped_date", "customer_told_date"])
    return d


def test_cycle_and_team_table():
    c, problems = F.feedback_cycle(items(), "2024-12-31")
    c = c.set_index("item_id")
    assert list(problems["item_id"]) == ["i7"]
    assert np.isnan(c.loc["i7", "days_to_ship"])
    assert c.loc["i1", "days_to_ship"] == 30 and c.loc["i1", "days_to_close"] == 35
    assert c.loc["i2", "days_plan_to_ship"] == 29                        # Feb 1 -> Mar 1 (2024 is a leap year)
    assert c.loc["i3", "open_age_days"] == 213                           # Jun 1 -> Dec 31
    assert c.loc["i5", "open_age_days"] == 60
    assert not c.loc["i6", "open"]
    t = F.by_team(c.reset_index())
    # platform: shipped i1 (30 d), i2 (60 d); i3 open 213 d censored. KM: S(30)=2/3, S(60)=1/3 -> median 60
    assert t.loc["platform", "median days to ship (shipped)"] == 45
    assert t.loc["platform", "median days to ship (KM)"] == 60
    assert t.loc["platform", "customer told (of shipped)"] == 0.5
    assert t.loc["platform", "loops closed (of all)"] == pytest.approx(1 / 3)
    assert t.loc["mobile", "open backlog"] == 1 and t.loc["platform", "oldest open (days)"] == 213
    assert F.slowest_team(t, min_items=1) == "platform"


def test_km_median_hand():
    # durations 10 20 30+ 40 50+: S(10)=4/5, S(20)=.8*3/4=.6, S(40)=.6*1/2=.3 -> median 40
    d = pd.Series([10, 20, 30, 40, 50.0])
    assert F.km_median(d, pd.Series([True, True, False, True, False])) == 40
    assert np.isnan(F.km_median(d, pd.Series([True, False, False, False, False])))


def test_unknown_team():
    c, _ = F.feedback_cycle(items(), "2024-12-31")
    with pytest.raises(SuccessDataError, match="feedback_focus_team"):
        F.team_comparison(c, "growth")


def journeys():
    t0 = pd.Timestamp("2024-01-01")
    rows = [("v1", 0, "qualified", "paid_ads", "c1"), ("v1", 4, "onboarded", "web", "c1"),
            ("v1", 1, "trial", "web", "c1"), ("v1", 9, "purchase", "web", "c1"),
            ("v2", 0, "qualified", "paid_ads", None), ("v2", 10, "onboarded", "web", None),
            ("v2", 2, "trial", "web", None),
            ("v3", 0, "onboarded", "referral", "c3"), ("v3", 2, "qualified", "referral", "c3"),   # onboarded BEFORE qualified: not counted
            ("v4", 0, "trial", "referral", None), ("v4", 40, "purchase", "web", None)]
    d = pd.DataFrame(rows, columns=["visitor_id", "day", "step", "channel", "customer_id"])
    d["timestamp"] = t0 + pd.to_timedelta(d.pop("day"), unit="D")
    return d


def test_lead_onboarding_hand():
    cust = pd.DataFrame({"customer_id": ["c1", "c3"], "acquisition_channel": ["partner", None]})
    ld = L.lead_onboarding(journeys(), cust)
    assert ld.loc["v1", "days_to_onboard"] == 4 and ld.loc["v2", "days_to_onboard"] == 10
    assert not ld.loc["v3", "onboarded"] and np.isnan(ld.loc["v3", "days_to_onboard"])
    assert ld.loc["v1", "channel"] == "partner"                         # acquisition channel wins
    assert ld.loc["v3", "channel"] == "referral"                        # none known: first touch
    t = L.by_channel(ld)
    assert t.loc["paid_ads", "qualified leads"] == 1 and t.loc["paid_ads", "median days to onboard"] == 10
    assert t.loc["paid_ads", "trial conversion"] == 0                   # v2 trialled, never bought
    assert t.loc["referral", "trial conversion"] == 1                   # v4 bought after 40 days (no window)
    ld30 = L.lead_onboarding(journeys(), cust, window_days=30)
    assert not ld30.loc["v4", "converted"]


def test_lead_unknown_step():
    with pytest.raises(SuccessDataError, match="lead_qualified_step"):
        L.lead_onboarding(journeys(), qualified_step="sql")


def test_as_of_censors_later_milestones():
    # seen from 2024-02-15: i2 (shipped 1 Mar) is still planned, i1's customer was told (5 Feb),
    # items reported later (i3, i5, i7) do not exist yet
    c, _ = F.feedback_cycle(items(), "2024-02-15")
    c = c.set_index("item_id")
    assert sorted(c.index) == ["i1", "i2", "i4", "i6"]
    assert c.loc["i2", "status"] == "planned" and c.loc["i2", "open"] and not c.loc["i2", "shipped"]
    assert c.loc["i2", "open_age_days"] == 45
    assert c.loc["i1", "closed"]


def test_bad_dates_name_the_rows():
    bad = items()
    bad.loc[2, "reported_date"] = "not a date"
    with pytest.raises(SuccessDataError, match=r"feedback_items.*'reported_date'.*rows \[2\].*YYYY-MM-DD"):
        F.feedback_cycle(bad, "2024-12-31")

"""The success and journey analyses recover the effects planted in the demo company
(insight.demo.planted.PLANTED), on the demo data at scale 0.5."""
from __future__ import annotations

import pandas as pd
import pytest

from insight.config.success import SuccessConfig
from insight.demo.planted import PLANTED
from insight.success import cadence as C
from insight.success import education as E
from insight.success import feedback_loop as F
from insight.success import health as H
from insight.success import journey as J
from insight.success import leads as L

END = "2024-12-31"


@pytest.fixture(scope="session")
def demo():
    try:
        from insight.demo import generate
    except ImportError:  # pragma: no cover
        pytest.skip("the demo generator is not available")
    return generate(scale=0.5)


@pytest.fixture(scope="session")
def cfg():
    return SuccessConfig()


def test_missed_checkup_raises_churn(demo, cfg):
    p = PLANTED["missed_checkup_churn"].values
    st = C.cadence_status(demo["customers"], demo["interactions"], cfg.cadence_windows.as_dict(), END)
    cc = C.customer_cadence(demo["customers"], st)
    due = cc[cc["missed_checkup"].notna()]
    assert due["missed_checkup"].mean() == pytest.approx(p["miss_rate"], abs=0.05)
    comp = C.checkup_churn(cc)
    # planted 30% vs 10%; other planted churn (e.g. churned promoters) adds to both groups
    assert comp.rate_focus == pytest.approx(p["churn_without_checkup"], abs=0.07)
    assert comp.rate_reference < comp.rate_focus - 0.10
    assert comp.risk_ratio > 1.8 and comp.ci_low > 1.3 and comp.p_value < 1e-4
    # the finding for H2 of the demo params (expected: higher) supports it
    from types import SimpleNamespace
    from insight.config.core import Hypothesis, ReportSettings
    h2 = Hypothesis(id="H2", question="Q1", dimension="brand_interaction", statement="x",
                    quant={"source": "crm", "measure": "churned", "group_by": "missed_checkup", "groups": ["True"],
                           "expected": "higher"})
    f = C.checkup_finding(comp, SimpleNamespace(hypotheses=[h2], report=ReportSettings()))
    assert f["hypothesis"] == "H2" and f["evidence"] == "supports"


def test_health_score_ranks_churners(demo, cfg):
    v = H.validate_health(demo, cfg, END)
    # planted: usage falls x0.7 a month over the 4 months before churn; complaints and missed
    # check-ups also go with churn. The score (from data before the cutoff only) must rank churners.
    assert v.auc > 0.65 and v.auc_low > 0.5
    assert v.by_measure.loc["Usage trend", "AUC"] > 0.75
    rate = v.by_band["churn rate"]
    assert rate["red"] > rate["yellow"] > rate["green"]
    assert not (v.scored.index.duplicated().any())


def test_no_leakage_from_after_the_cutoff(demo, cfg):
    """Changing every row dated after the cutoff must not change the score as of the cutoff."""
    cutoff = pd.Timestamp(END) - pd.Timedelta(days=cfg.validation_horizon_days)
    a = H.score_customers(demo, cfg, cutoff)["health_score"]
    t = dict(demo)
    it = t["interactions"].copy()
    late = it["date"] >= cutoff
    it.loc[late, "type"] = "complaint"
    us = t["usage"].copy()
    us.loc[us["month"] >= cutoff.to_period("M").to_timestamp(), "active_users"] = 0
    t["interactions"], t["usage"] = it, us
    b = H.score_customers(t, cfg, cutoff)["health_score"]
    pd.testing.assert_series_equal(a, b)


def test_academy_users_churn_less(demo, cfg):
    ratio = PLANTED["academy_retention"].values["churn_ratio"]
    ch = cfg.education_channels
    edu = E.education_use(demo["customers"], demo["interactions"], ch)
    t, comps = E.churn_by_channel(edu, ch)
    assert t.loc["academy", "CI low"] <= ratio <= t.loc["academy", "CI high"]
    assert t.loc["academy", "CI high"] < 1 and t.loc["academy", "p"] < 0.01
    # landmark check: academy keeps a lower churn ratio; webinars (nothing planted) do not
    lm = pd.Timestamp(END) - pd.Timedelta(days=cfg.education_landmark_days)
    t_lm, _ = E.churn_by_channel(E.education_use(demo["customers"], demo["interactions"], ch, landmark=lm, as_of=END), ch)
    assert t_lm.loc["academy", "risk ratio"] < 0.9
    assert t_lm.loc["academy", "risk ratio"] < t_lm.loc["webinar", "risk ratio"]
    assert t_lm.loc["webinar", "CI low"] < 1 < t_lm.loc["webinar", "CI high"]


def test_slow_feedback_team(demo, cfg):
    p = PLANTED["slow_feedback_team"].values
    cycle, problems = F.feedback_cycle(demo["feedback_items"], END)
    assert problems.empty
    teams = F.by_team(cycle)
    assert F.slowest_team(teams) == p["team"]
    km = teams["median days to ship (KM)"]
    assert km[p["team"]] == pytest.approx(p["median_cycle_days"], rel=0.2)
    assert km.drop(p["team"]).to_numpy() == pytest.approx([p["other_median_cycle_days"]] * 3, rel=0.2)
    told = teams["customer told (of shipped)"]
    assert told[p["team"]] == pytest.approx(p["told_share"], abs=0.1)
    assert told.drop(p["team"]).min() > p["other_told_share"] - 0.1
    cmp = F.team_comparison(cycle, p["team"])
    assert cmp["p_value"] < 1e-6 and cmp["told"].p_value < 1e-6 and cmp["told"].risk_ratio < 0.6


def test_paid_ads_trial_dropoff_funnel(demo, cfg):
    p = PLANTED["funnel_trial_dropoff"].values
    r = J.reached_steps(demo["journey_events"], cfg.funnel_steps, cfg.conversion_window_days, demo["customers"])
    comp = J.step_conversion_comparison(r, "trial", "purchase", "channel", p["channel"], p["reference_channel"])
    assert comp.rate_focus == pytest.approx(p["trial_to_purchase"], abs=0.04)
    assert comp.rate_reference == pytest.approx(p["reference_rate"], abs=0.08)
    assert comp.p_value < 1e-6
    conv = J.funnel_by(r, cfg.funnel_steps, "channel")
    assert conv["overall"].idxmin() == p["channel"]
    # a 1-day window loses visitors whose next step came later (the generator spaces steps by days)
    r1 = J.reached_steps(demo["journey_events"], cfg.funnel_steps, 1)
    assert J.funnel_table(r1, cfg.funnel_steps)["visitors"].iloc[-1] < J.funnel_table(r, cfg.funnel_steps)["visitors"].iloc[-1]


def test_trial_conversion_by_channel(demo, cfg):
    p = PLANTED["funnel_trial_dropoff"].values
    ld = L.lead_onboarding(demo["journey_events"], demo["customers"])
    t = L.by_channel(ld)
    assert t["trial conversion"].idxmin() == p["channel"]
    assert t.loc[p["channel"], "trial conversion"] == pytest.approx(p["trial_to_purchase"], abs=0.04)
    assert t["median days to onboard"].between(5, 90).all()
    tests = L.channel_tests(ld)
    assert tests["trial"]["p_value"] < 1e-6

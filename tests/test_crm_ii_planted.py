"""CRM analysis II (issue 9) against the effects planted in the demo company
(insight.demo.planted.PLANTED): the analyses must find them in generated data.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from insight.crm import capability, complaints, consultations, contacts, extremes, profitability
from insight.crm.attention_base import active_customers
from insight.demo.planted import PLANTED

PERIOD = SimpleNamespace(start=pd.Timestamp("2024-01-01").date(), end=pd.Timestamp("2024-12-31").date())


@pytest.fixture(scope="module")
def demo():
    from insight.demo import generate

    return generate(scale=0.5)


@pytest.fixture(scope="module")
def comp(demo):
    return complaints.complaints(demo["interactions"], demo["customers"], period=PERIOD, products=demo["products"])


def test_slow_department_found(comp):
    planted = PLANTED["slow_department"].values
    t = complaints.resolution_time_test(comp, planted["department"], expected="higher")
    assert t.evidence == "supports" and t.focus_vs_rest.p_value < 0.001
    # the medians planted: 12 days for billing, 3 elsewhere (rounding and sampling allow some slack)
    assert abs(t.median_focus - planted["median_days"]) <= 3
    assert abs(t.median_rest - planted["other_median_days"]) <= 1.5
    assert t.focus_vs_rest.effect_size > 0.5                     # large rank-biserial r
    assert complaints.slowest_group(comp, "department") == planted["department"]
    assert t.overall.p_value < 0.001


def test_h5_hypothesis_from_the_demo_params(comp):
    from insight.params import load_params
    from insight.paths import Project
    from pathlib import Path

    params = load_params("2024-annual", Project(Path(__file__).resolve().parent.parent))
    tests = complaints.hypothesis_tests(params, comp)
    assert [h.id for h, _ in tests] == ["H5"]
    found = complaints.findings(comp, tests)
    h5 = next(f for f in found if f.get("hypothesis") == "H5")
    assert h5["evidence"] == "supports" and h5["severity"] == "key" and h5["id"].startswith("crm.")


def test_least_satisfied_profile_found(demo):
    planted = PLANTED["least_satisfied_profile"].values
    sat, label = extremes.customer_satisfaction(demo["survey_responses"], ["q_csat", "q_nps"], period=PERIOD)
    assert label == "q_csat"
    groups = extremes.extreme_groups(sat, 0.2)
    feats = extremes.customer_features(demo["customers"], interactions=demo["interactions"], orders=demo["orders"],
                                       subscriptions=demo["subscriptions"], period=PERIOD, products=demo["products"])
    prof = groups.merge(feats, on="customer_id", how="left")
    ratio = extremes.complaint_ratio(prof)
    # planted: 3x the complaint rate; ties on the 1-5 scale and one survey wave dilute it
    assert ratio.ratio > 1.5 and ratio.ci_low > 1.0
    assert ratio.ratio < planted["complaint_rate_ratio"] * 1.5
    least = extremes.compare_profiles(prof, "extreme", extremes.LEAST).set_index("column")
    assert least.loc["complaints", "p corrected"] < 0.05 and least.loc["complaints", "effect size"] > 0
    # "mostly on the basic plan"
    assert least.loc["plan", "feature"] == "plan: basic"
    assert least.loc["plan", extremes.LEAST] > 0.5 > least.loc["plan", extremes.OTHERS]
    assert least.loc["plan", "p corrected"] < 0.05
    f = extremes.findings(least.reset_index(), ratio, label=label)
    assert f[0]["id"] == "crm.extremes.complaints" and f[0]["severity"] == "key"


def test_loss_making_smb_found(demo):
    planted = PLANTED["loss_making_smb"].values
    prof = profitability.customer_profit(demo["orders"], demo["costs"], demo["customers"], period=PERIOD)
    focus, r = profitability.loss_by_group(prof, "segment")
    assert focus == planted["segment"] and r.p_value < 0.001
    t = profitability.profit_by(prof, "segment")
    assert abs(t.loc["smb", "loss-making share"] - planted["share_loss_making"]) < 0.1
    curve, s = profitability.whale_curve(prof)
    assert s.total_profit == pytest.approx(prof["profit"].sum())
    assert s.peak_share > 1.0 and 0 < s.customers_for_total < 1
    assert curve["cum_share"].iloc[-1] == pytest.approx(1.0)
    # the planted mechanism: loss-making SMB customers carry a heavier support load than profitable SMB ones
    mix = profitability.cost_mix(prof.loc[prof["segment"] == "smb"], ["cost_service", "cost_support"])
    assert mix.loc["loss-making", "support"] > 1.5 * mix.loc["profitable", "support"]


def test_contacts_and_capability_consistent(demo):
    pop = active_customers(demo["customers"], PERIOD, ["existing", "churned"])
    cont = contacts.contacts(demo["interactions"], period=PERIOD)
    cont = cont.loc[cont["customer_id"].isin(pop["customer_id"])]
    m = contacts.overlap_matrix(cont)
    assert (m.values == m.values.T).all()
    per = contacts.contacted_per(cont, "department")
    assert (np.diag(m) == per.loc[m.index, "customers contacted"].to_numpy()).all()
    none, summary = contacts.uncontacted(pop, cont)
    assert len(none) + cont["customer_id"].nunique() == len(pop)
    ind, scores = capability.scorecard(demo["customers"], interactions=demo["interactions"],
                                       survey=demo["survey_responses"], participants=demo["participants"],
                                       feedback=demo["feedback_items"], reviews=demo["reviews"], period=PERIOD)
    assert scores["score"].between(0, 100).all() and scores.attrs["population"] == len(pop)
    cons = consultations.consultations(demo["interactions"], period=PERIOD)
    assert cons["answered"].mean() > 0.5


def test_interaction_analyses_same_from_an_engine_table(demo, tmp_path):
    """Complaints, consultations, suggestions, the review cadence and education use from the demo's
    interactions as an engine table (DuckDB over Parquet, as the notebooks pass it: only the rows of
    the types asked for come back) equal the results from the DataFrame."""
    from insight.data.engine import connect
    from insight.success import cadence, education

    it = demo["interactions"]
    it.to_parquet(tmp_path / "interactions.parquet", index=False, coerce_timestamps="us")
    lazy = connect().read_parquet(str(tmp_path / "interactions.parquet"), table_name="planted_interactions")

    def same(a, b, key):     # missing is missing (None from the generated frame, NA from Parquet)
        a, b = (x.sort_values(key, ignore_index=True).astype(object) for x in (a, b))
        pd.testing.assert_frame_equal(a.where(a.notna(), None), b.where(b.notna(), None), check_dtype=False)

    same(complaints.complaints(lazy, demo["customers"], period=PERIOD, products=demo["products"]),
         complaints.complaints(it, demo["customers"], period=PERIOD, products=demo["products"]), ["interaction_id"])
    same(consultations.consultations(lazy, period=PERIOD), consultations.consultations(it, period=PERIOD), ["interaction_id"])
    same(consultations.suggestions(lazy, period=PERIOD), consultations.suggestions(it, period=PERIOD), ["interaction_id"])
    windows = {"initial_assessment": (0, 30), "implementation_checkup": (25, 45), "renewal_review": (300, 365)}
    want = cadence.cadence_status(demo["customers"], it, windows, as_of=PERIOD.end)
    same(cadence.cadence_status(demo["customers"], lazy, windows, as_of=PERIOD.end), want, ["customer_id", "step"])
    assert want["due"].sum() > 100 and want["held"].sum() > 100                  # a real comparison
    channels = sorted(it.loc[it["type"] == "education", "channel"].dropna().unique())[:2]
    same(education.education_use(demo["customers"], lazy, channels, as_of=PERIOD.end),
         education.education_use(demo["customers"], it, channels, as_of=PERIOD.end), ["customer_id"])

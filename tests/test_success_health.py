"""Health score: normalisation and weighting on hand-made values, AUC against hand-counted pairs,
the Hanley-McNeil CI against the published example, no leakage of data after the cutoff; and
(once the demo generator exists) validation on the demo data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insight.success import health as H


def test_auc_hand_counted():
    # higher score = healthier; churners should score LOWER.
    # churners 10, 40; retained 20, 50, 30, 40. Pairs (churner, retained), "correct" when churner lower:
    # 10: vs 20 50 30 40 -> 4 correct; 40: vs 20 no, 50 yes, 30 no, 40 tie (0.5) -> 1.5. AUC = 5.5 / 8
    score = pd.Series([10, 40, 20, 50, 30, 40], dtype=float)
    churned = pd.Series([True, True, False, False, False, False])
    assert H.churn_auc(score, churned) == pytest.approx(5.5 / 8)
    assert np.isnan(H.churn_auc(score, pd.Series([False] * 6)))


def test_auc_ci_hanley_mcneil_published():
    # Hanley & McNeil (1982, Radiology 143:29), CT example: A = 0.893 with 51 abnormal and 58
    # normal cases, SE = 0.032 -> CI 0.893 -/+ 1.96 * 0.0325
    lo, hi = H.auc_ci(0.893, 51, 58)
    se = (hi - lo) / (2 * 1.959964)
    assert se == pytest.approx(0.032, abs=0.001)


def test_normalise_and_score():
    m = pd.DataFrame({"usage_trend": [1.0, 2.0, 3.0], "support_load": [0.0, 0.0, 5.0],
                      "engagement": [np.nan, 4.0, 2.0]}, index=["a", "b", "c"])
    n = H.normalise(m)
    # ranks 1,2,3 -> (r-1)/(n-1) = 0, .5, 1; complaints 0,0,5 -> avg ranks 1.5,1.5,3 -> .25,.25,1 -> inverted .75,.75,0
    assert n["usage_trend"].tolist() == pytest.approx([0, 0.5, 1])
    assert n["support_load"].tolist() == pytest.approx([0.75, 0.75, 0])
    assert n.loc["b", "engagement"] == 1 and n.loc["c", "engagement"] == 0
    s = H.health_score(m, {"usage_trend": 1, "support_load": 1, "engagement": 2})
    # a: (0*1 + .75*1) / 2 (engagement missing: its weight is dropped) = 37.5
    # b: (.5 + .75 + 2*1) / 4 = 81.25; c: (1 + 0 + 0) / 4 = 25
    assert s.tolist() == pytest.approx([37.5, 81.25, 25])
    b = H.band(s, 40, 65)
    assert b.astype(str).tolist() == ["red", "green", "red"]
    assert H.band(pd.Series([40.0, 64.9, 65.0]), 40, 65).astype(str).tolist() == ["yellow", "yellow", "green"]


def _tables():
    cust = pd.DataFrame({
        "customer_id": ["a", "b", "c"], "status": ["existing", "churned", "existing"],
        "signup_date": pd.to_datetime(["2023-01-01", "2023-01-01", "2024-05-01"]),
        "churn_date": pd.to_datetime([None, "2024-09-01", None]), "segment": ["smb"] * 3})
    usage = pd.DataFrame({
        "customer_id": ["a"] * 6 + ["b"] * 6 + ["b"],
        "month": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01", "2024-06-01"] * 2
                                + ["2024-07-01"]),
        "feature": "core", "active_users": [10, 10, 10, 10, 10, 10, 10, 10, 10, 4, 4, 4, 0]})
    inter = pd.DataFrame({
        "customer_id": ["a", "a", "b", "b", "b", "b"],
        "date": pd.to_datetime(["2024-03-01", "2024-05-01", "2024-04-01", "2024-05-01", "2024-06-01", "2024-08-01"]),
        "type": ["consultation", "education", "complaint", "complaint", "consultation", "complaint"]})
    return {"customers": cust, "usage": usage, "interactions": inter}


def test_measures_use_only_data_before_the_score_date():
    t = _tables()
    m = H.health_measures(t["customers"], "2024-07-01", usage=t["usage"], interactions=t["interactions"],
                          lookback_days=180, usage_months=3)
    # c signed up 2024-05-01 (active); all three scored
    assert list(m.index) == ["a", "b", "c"]
    # a: recent (Apr-Jun) mean 10, prior (Jan-Mar) 10 -> log(11/11) = 0; b: log(5/11)
    assert m.loc["a", "usage_trend"] == pytest.approx(0)
    assert m.loc["b", "usage_trend"] == pytest.approx(np.log(5 / 11))
    # complaints before 2024-07-01 within 180 days: b has 2 (the August one is after the cutoff)
    assert m.loc["b", "support_load"] == 2 and m.loc["a", "support_load"] == 0
    assert m.loc["a", "engagement"] == 2 and m.loc["b", "engagement"] == 1
    # after b's churn date, b is no longer scored
    m2 = H.health_measures(t["customers"], "2024-10-01", interactions=t["interactions"])
    assert "b" not in m2.index


def test_interactions_on_the_engine_give_the_same_measures(tmp_path):
    """An engine table of interactions (DuckDB over Parquet, as the notebook passes it) gives the
    measures of the DataFrame, cadence compliance included: only its rows leave the engine."""
    from insight.data import engine as E

    t = _tables()
    inter = pd.concat([t["interactions"], pd.DataFrame({
        "customer_id": ["a", "c", "a"], "type": ["initial_assessment", "initial_assessment", "onboarding"],
        "date": pd.to_datetime(["2023-01-20", "2024-05-10", "2023-02-01"]), "direction": "outbound"})])
    inter["direction"] = inter["direction"].fillna("inbound")
    inter.to_parquet(tmp_path / "interactions.parquet", index=False, coerce_timestamps="us")
    lazy = E.connect().read_parquet(str(tmp_path / "interactions.parquet"), table_name="h_interactions")
    windows = {"initial_assessment": (0, 30), "implementation_checkup": (25, 45)}
    for as_of in ("2024-07-01", "2024-10-01"):
        want = H.health_measures(t["customers"], as_of, interactions=inter, windows=windows)
        got = H.health_measures(t["customers"], as_of, interactions=lazy, windows=windows)
        pd.testing.assert_frame_equal(got, want)
    # by hand at 2024-07-01: a held the assessment on day 19 and c on day 9 (on time); both check-ups
    # (days 25-45, ended by then) were missed: 0.5 each
    m = H.health_measures(t["customers"], "2024-07-01", interactions=lazy, windows=windows)
    assert m.loc["a", "cadence"] == 0.5 and m.loc["c", "cadence"] == 0.5
    assert m.loc["a", "engagement"] == 2 and m.loc["b", "support_load"] == 2

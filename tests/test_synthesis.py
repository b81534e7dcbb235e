"""Synthesis units against hand-computed references; the verdicts on the demo are checked against the
planted effects in test_report_e2e.py (they need every other notebook's findings)."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from insight.synthesis import drivers, triangulate, verdicts, yoy
from insight.synthesis.summary import action_plan, executive_summary


def F(**kw):
    base = {"id": "x", "statement": "s", "notebook": "nb", "hypothesis": "H1", "evidence": None, "source": "survey",
            "p_value": None, "base": None, "effect_size": None, "effect_size_name": None}
    base.update(kw)
    return base


@pytest.mark.parametrize("rows, expected", [
    ([], "not_enough_evidence"),
    ([F(evidence="supports", p_value=0.001)], "supported"),
    ([F(evidence="inconclusive", p_value=0.2)], "not_enough_evidence"),
    # not significant, yet labelled by the shared rule: its interval settled the question (equivalence)
    ([F(evidence="contradicts", p_value=0.6)], "rejected"),
    ([F(evidence="supports", p_value=0.3)], "supported"),
    ([F(evidence="contradicts", p_value=0.01, source="crm")], "rejected"),
    ([F(evidence="supports", p_value=0.01), F(evidence="contradicts", p_value=0.01, source="crm")], "mixed"),
    ([F(evidence="supports", p_value=0.01), F(evidence="contradicts", source="qual", base=8)], "mixed"),
    ([F(evidence="supports", source="qual", base=12)], "not_enough_evidence"),
    ([F(evidence="supports", source="qual", base=2), F(evidence="inconclusive", p_value=0.4)], "not_enough_evidence"),
])
def test_verdict_rule(rows, expected):
    df = pd.DataFrame(rows, columns=list(F().keys()))
    assert verdicts.verdict_for(df)[0] == expected


def test_sources_agree_is_noted():
    df = pd.DataFrame([F(evidence="supports", p_value=0.001), F(evidence="supports", source="qual", base=5)])
    v, reason = verdicts.verdict_for(df)
    assert v == "supported" and "sources agree (interviews, survey)" in reason


def test_verdict_table_and_summary():
    hyps = [SimpleNamespace(id="H1", dimension="usage", statement="Enterprise rates onboarding lower."),
            SimpleNamespace(id="H2", dimension="purchase", statement="SMB rates value lower.")]
    f = pd.DataFrame([F(evidence="supports", p_value=0.001), F(id="y", hypothesis="H2", evidence="inconclusive", p_value=0.6),
                      F(id="synthesis.verdict.H2", hypothesis="H2", evidence="supports", p_value=0.0)])
    v = verdicts.hypothesis_verdicts(f, hyps)
    assert list(v["verdict"]) == ["supported", "not_enough_evidence"]  # synthesis' own findings are ignored
    items = executive_summary(v, [{"statement": "extra", "confidence": "high"}], size=2)
    assert items[0]["statement"].startswith("Confirmed: enterprise rates onboarding lower")
    assert items[1]["statement"] == "extra"


def test_lmg_relative_importance_two_predictors():
    """LMG with two predictors, by hand: imp1 = (R2(x1) + R2(x1,x2) - R2(x2)) / 2, and they sum to R2(x1,x2)."""
    rng = np.random.default_rng(1)
    n = 400
    x1 = rng.normal(size=n)
    x2 = 0.5 * x1 + rng.normal(size=n)
    y = 2 * x1 + 1 * x2 + rng.normal(scale=2, size=n)
    df = pd.DataFrame({"y": y, "x1": x1, "x2": x2})

    def r2(cols):
        X = np.column_stack([np.ones(n)] + [df[c] for c in cols])
        beta, *_ = np.linalg.lstsq(X, df["y"], rcond=None)
        resid = df["y"] - X @ beta
        return 1 - resid.var() / df["y"].var()

    full = r2(["x1", "x2"])
    imp1 = (r2(["x1"]) + full - r2(["x2"])) / 2
    imp2 = (r2(["x2"]) + full - r2(["x1"])) / 2
    out = drivers.relative_importance(df, "y", ["x1", "x2"])
    assert out.loc["x1", "importance"] == pytest.approx(imp1, abs=1e-6)
    assert out.loc["x2", "importance"] == pytest.approx(imp2, abs=1e-6)
    assert out["importance_share"].sum() == pytest.approx(1.0)


def test_churn_rate_by_hand():
    c = pd.DataFrame({
        "signup_date": pd.to_datetime(["2022-01-01", "2022-06-01", "2023-03-01", "2024-02-01", "2021-01-01"]),
        "churn_date": pd.to_datetime(["2024-05-01", None, "2023-08-01", None, "2022-12-31"]),
        "status": ["churned", "existing", "churned", "existing", "churned"]})
    # 2024: active at 2024-01-01 = rows 0, 1 (row 2 churned 2023, row 3 signed up later, row 4 churned 2022) -> 1/2
    assert yoy.churn_rate(c, dt.date(2024, 1, 1), dt.date(2024, 12, 31)) == (1, 2)
    # 2023: active at 2023-01-01 = rows 0, 1 (row 2 signed up in 2023) -> 0/2
    assert yoy.churn_rate(c, dt.date(2023, 1, 1), dt.date(2023, 12, 31)) == (0, 2)


def test_theme_shift():
    now = pd.DataFrame({"participant_id": ["a", "a", "b", "c"], "code": ["x", "y", "x", "z"]})
    before = pd.DataFrame({"participant_id": ["d", "e"], "code": ["x", "w"]})
    t = yoy.theme_shift(now, before)
    assert t.loc["z", "trend"] == "appeared" and t.loc["w", "trend"] == "faded"
    assert t.loc["x", "share_now"] == pytest.approx(2 / 3) and t.loc["x", "share_before"] == pytest.approx(0.5)
    assert t.loc["x", "trend"] == "rose"


def test_say_do_gap_on_a_small_table():
    resp = pd.DataFrame({"respondent_id": list("abcd"), "customer_id": ["c1", "c2", "c3", "c4"],
                         "submitted_at": pd.to_datetime(["2024-03-01"] * 4), "started_at": pd.to_datetime(["2024-03-01"] * 4),
                         "q_nps": [10, 9, 3, 8]})
    cust = pd.DataFrame({"customer_id": ["c1", "c2", "c3", "c4"], "status": ["churned", "existing", "churned", "churned"],
                         "churn_date": pd.to_datetime(["2024-06-01", None, "2024-05-01", "2025-08-01"])})
    linked = triangulate.link_survey_to_crm(resp, cust, months=9)
    gap = triangulate.say_do_gap(linked)
    assert gap["promoters"] == 2 and gap["promoters_churned"] == 1
    assert list(gap["churned_promoters"]["customer_id"]) == ["c1"]
    # c4 churned 17 months later: outside the window
    assert gap["churn_by_category"].loc["passive", "yes"] == 0


def test_action_plan_seeds_supported_hypotheses():
    from insight.config.synthesis import Action
    params = SimpleNamespace(
        synthesis=SimpleNamespace(actions=[Action(insight="i", action="a", owner="sales", due=dt.date(2025, 1, 1),
                                                   success_metric="m", hypothesis="H2")], default_owner_due_days=30),
        questions=[SimpleNamespace(id="Q1", owner="customer_success")],
        study=SimpleNamespace(period=SimpleNamespace(end=dt.date(2024, 12, 31))),
        hypotheses=[SimpleNamespace(id="H1", question="Q1", statement="st", qual=None,
                                    quant=SimpleNamespace(measure="q_onboarding", group_by="segment", groups=["enterprise"]))])
    v = pd.DataFrame([{"hypothesis": "H1", "verdict": "supported"}, {"hypothesis": "H2", "verdict": "supported"}])
    plan = action_plan(params, v)
    assert list(plan["status"]) == ["agreed", "suggested"]
    s = plan.iloc[1]
    assert s["owner"] == "customer_success" and s["due"] == dt.date(2025, 1, 30)
    assert s["success metric"] == "q_onboarding for segment = enterprise"

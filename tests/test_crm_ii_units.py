"""CRM analysis II (issue 9): reference values on small hand-made tables.

Every expected number is computed by hand in the comment next to it.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from insight.crm import capability, complaints, consultations, contacts, extremes, profitability
from insight.crm.attention_base import AttentionDataError

PERIOD = SimpleNamespace(start=pd.Timestamp("2024-01-01").date(), end=pd.Timestamp("2024-12-31").date())


def _interactions(rows):
    cols = ["interaction_id", "customer_id", "date", "department", "channel", "direction", "type",
            "product_id", "status", "resolved_date", "rep", "reason_code", "implemented", "text"]
    df = pd.DataFrame(rows, columns=cols)
    for c in ("date", "resolved_date"):
        df[c] = pd.to_datetime(df[c])
    return df


def _complaint_rows(dept, days, start=0, reason="billing_error", status="resolved"):
    rows = []
    for i, d in enumerate(days):
        opened = pd.Timestamp("2024-03-01") + pd.Timedelta(days=i)
        rows.append([f"{dept}-{start + i}", f"c{i}", opened, dept, "email", "inbound", "complaint", "p1",
                     status, opened + pd.Timedelta(days=d) if d is not None else pd.NaT, "rep1", reason, None,
                     "invoice wrong amount charged twice" if dept == "billing" else "login fails after update"])
    return rows


# --- complaints ---------------------------------------------------------------------------------

def test_complaint_outcomes_and_days():
    rows = (_complaint_rows("billing", [10, 12])
            + _complaint_rows("support", [None], start=5, status="unresolved")
            + _complaint_rows("support", [None], start=6, status=None)   # no status, no date -> open
            + _complaint_rows("sales", [2], start=7, status=None))       # no status, a date -> resolved
    rows.append(["x1", "c9", pd.Timestamp("2024-05-01"), "sales", "email", "inbound", "consultation", None,
                 "done", pd.Timestamp("2024-05-02"), None, None, None, None])                  # not a complaint
    rows.append(["x2", "c9", pd.Timestamp("2023-05-01"), "sales", "email", "inbound", "complaint", None,
                 "resolved", pd.Timestamp("2023-05-02"), None, None, None, None])              # outside the period
    comp = complaints.complaints(_interactions(rows), period=PERIOD)
    assert len(comp) == 5
    assert comp.set_index("interaction_id")["outcome"].to_dict() == {
        "billing-0": "resolved", "billing-1": "resolved", "support-5": "unresolved", "support-6": "open",
        "sales-7": "resolved"}
    assert comp.set_index("interaction_id")["days_to_resolve"].dropna().to_dict() == {
        "billing-0": 10.0, "billing-1": 12.0, "sales-7": 2.0}
    t = complaints.breakdown(comp, "department")
    # billing: 2 complaints of 5 = 40%, both resolved, median (10 + 12) / 2 = 11 days
    assert t.loc["billing", "complaints"] == 2
    assert t.loc["billing", "share of all"] == pytest.approx(0.4)
    assert t.loc["billing", "resolved"] == 1.0
    assert t.loc["billing", "median days to resolve"] == 11.0
    # support: 2 complaints, 1 unresolved (50%), 1 open (50%)
    assert t.loc["support", "unresolved"] == 0.5 and t.loc["support", "open"] == 0.5


def test_resolved_before_filed_is_a_clear_error():
    rows = _complaint_rows("billing", [3, -2])
    with pytest.raises(AttentionDataError, match=r"interactions.*resolved_date.*billing-1"):
        complaints.complaints(_interactions(rows))


def test_missing_column_names_table_and_fix():
    df = _interactions(_complaint_rows("billing", [3])).drop(columns=["department"])
    with pytest.raises(AttentionDataError, match=r"'interactions'.*department.*data\.tables\.interactions\.columns"):
        complaints.complaints(df)


def test_resolution_time_test_exact_mann_whitney():
    # billing 10, 11, 12, 13 days; others 1..5 days: every billing value beats every other value,
    # so U = 4 x 5 = 20, rank-biserial r = 2 U / (n1 n2) - 1 = 1; the exact two-sided p is
    # 2 / C(9, 4) = 2 / 126 = 0.015873 (only one of the 126 rank splits is this extreme each way)
    rows = _complaint_rows("billing", [10, 11, 12, 13]) + _complaint_rows("support", [1, 2, 3], start=10) \
        + _complaint_rows("sales", [4, 5], start=20)
    comp = complaints.complaints(_interactions(rows))
    r = complaints.resolution_time_test(comp, "billing", expected="higher")
    assert r.focus_vs_rest.test == "Mann-Whitney U"
    assert r.focus_vs_rest.statistic == pytest.approx(20)
    assert r.focus_vs_rest.effect_size == pytest.approx(1.0)
    assert r.focus_vs_rest.p_value == pytest.approx(2 / 126, rel=1e-6)
    assert r.median_focus == 11.5 and r.median_rest == 3.0        # (11+12)/2 ; median of 1..5
    assert r.evidence == "supports"
    # the opposite expectation is contradicted by the same data
    assert complaints.resolution_time_test(comp, "billing", expected="lower").evidence == "contradicts"


def test_resolution_time_kruskal_reference():
    # three departments with days 1-3, 4-6, 7-9: rank sums 6, 15, 24 (n = 3 each, N = 9),
    # H = 12 / (N (N + 1)) * sum(R^2 / n) - 3 (N + 1) = 12/90 * (36 + 225 + 576)/3 - 30 = 7.2,
    # p = chi2.sf(7.2, df=2) = exp(-7.2 / 2) = 0.0273237; epsilon^2 = H / ((N^2 - 1) / (N + 1)) = H / (N - 1)
    # = 7.2 / 8 = 0.9 (Tomczak & Tomczak 2014, eq. 9, as R effectsize::rank_epsilon_squared)
    rows = _complaint_rows("sales", [1, 2, 3]) + _complaint_rows("support", [4, 5, 6], start=3) \
        + _complaint_rows("billing", [7, 8, 9], start=6)
    comp = complaints.complaints(_interactions(rows))
    r = complaints.resolution_time_test(comp, "billing")
    assert r.overall.test == "Kruskal-Wallis H"
    assert r.overall.statistic == pytest.approx(7.2)
    assert r.overall.p_value == pytest.approx(math.exp(-3.6), rel=1e-6)
    assert r.overall.effect_size == pytest.approx(7.2 / 8)
    # three cases per group are too few for a bootstrap interval: none, and the reason says so
    assert math.isnan(r.overall.ci_low) and "too few to bootstrap" in r.overall.reason


def test_unknown_focus_department_is_named():
    comp = complaints.complaints(_interactions(_complaint_rows("billing", [1, 2])))
    with pytest.raises(AttentionDataError, match="finance.*billing"):
        complaints.resolution_time_test(comp, "finance")


def test_reason_resolution_and_text_themes():
    rows = (_complaint_rows("billing", [1] * 6, reason="double_charge")
            + _complaint_rows("support", [None] * 6, start=10, reason="bug", status="unresolved"))
    comp = complaints.complaints(_interactions(rows))
    table, test = complaints.reason_resolution(comp)
    assert table.index[0] == "bug" and table.loc["bug", "unresolved"] == 1.0
    # perfect 2x2 association over 12 complaints: chi2 = N = 12, Cramer's V = 1
    assert test.statistic == pytest.approx(12.0)
    assert test.effect_size == pytest.approx(1.0)
    themes = complaints.text_themes(comp, "outcome", n_terms=3)
    terms = dict(zip(themes["outcome"], themes["top terms"]))
    assert "login" in terms["unresolved"] and "invoice" in terms["resolved"]
    assert "invoice" not in terms["unresolved"]


# --- consultations ------------------------------------------------------------------------------

def test_consultations_and_suggestions():
    base = pd.Timestamp("2024-02-01")
    rows = [[f"q{i}", f"c{i}", base, "support", "chat", "inbound", "consultation", "p1", None,
             base + pd.Timedelta(days=d) if d is not None else pd.NaT, None, None, None, None]
            for i, d in enumerate([1, 2, 3, None])]
    rows += [[f"s{i}", f"c{i}", base, "product", "email", "inbound", "suggestion", "p1", None, pd.NaT, None, None,
              imp, None] for i, imp in enumerate([True] * 3 + [False] * 7 + [None] * 2)]
    it = _interactions(rows)
    cons = consultations.consultations(it)
    t = consultations.by_group(cons, "department")
    # 4 consultations, 3 answered (75%), median of 1, 2, 3 days = 2
    assert t.loc["support", "consultations"] == 4
    assert t.loc["support", "answered"] == 0.75
    assert t.loc["support", "median days to answer"] == 2.0
    up = consultations.suggestion_uptake(consultations.suggestions(it))
    row = up.iloc[0]
    assert row["suggestions"] == 12 and row["fate known"] == 10 and row["implemented"] == 3
    # Wilson 95% interval of 3/10 (z = 1.96): centre (0.3 + z²/20) / (1 + z²/10) = 0.35551,
    # half-width z sqrt(0.021 + z²/400) / (1 + z²/10) = 0.24772 -> 0.1078 to 0.6032
    assert row["share implemented"] == pytest.approx(0.3)
    assert row["CI low"] == pytest.approx(0.1078, abs=1e-4)
    assert row["CI high"] == pytest.approx(0.6032, abs=1e-4)


# --- contacts -----------------------------------------------------------------------------------

def _contact_rows():
    pairs = [("c1", "sales"), ("c1", "support"), ("c1", "support"), ("c2", "sales"), ("c3", "support"),
             ("c3", "billing"), ("c4", "sales"), ("c4", "support"), ("c4", "billing")]
    rows = [[f"i{i}", c, pd.Timestamp("2024-04-01") + pd.Timedelta(days=30 * (i % 3)), d, "phone", "outbound",
             "onboarding", "p1", "done", pd.NaT, None, None, None, None] for i, (c, d) in enumerate(pairs)]
    rows.append(["in1", "c5", pd.Timestamp("2024-04-01"), "sales", "email", "inbound", "consultation", None, None,
                 pd.NaT, None, None, None, None])  # inbound: not an active contact
    return _interactions(rows)


def test_overlap_matrix_and_uncontacted():
    cont = contacts.contacts(_contact_rows(), direction="outbound", period=PERIOD)
    m = contacts.overlap_matrix(cont)
    # diagonal: customers per department (sales c1 c2 c4 = 3; support c1 c3 c4 = 3; billing c3 c4 = 2);
    # off-diagonal: sales&support {c1, c4} = 2, sales&billing {c4} = 1, support&billing {c3, c4} = 2
    assert m.loc["sales", "sales"] == 3 and m.loc["support", "support"] == 3 and m.loc["billing", "billing"] == 2
    assert m.loc["sales", "support"] == 2 and m.loc["support", "sales"] == 2
    assert m.loc["sales", "billing"] == 1 and m.loc["support", "billing"] == 2
    u = contacts.units_per_customer(cont)
    assert u["customers"].to_dict() == {1: 1, 2: 2, 3: 1}   # c2 | c1, c3 | c4
    assert contacts.multi_unit_share(cont) == (3, 4)
    per = contacts.contacted_per(cont, "department", population=6)
    assert per.loc["support", "customers contacted"] == 3 and per.loc["support", "contacts"] == 4
    assert per.loc["support", "share of customers"] == pytest.approx(0.5)
    customers = pd.DataFrame({"customer_id": [f"c{i}" for i in range(1, 7)],
                              "segment": ["smb", "smb", "enterprise", "smb", "smb", "enterprise"],
                              "region": ["EMEA"] * 6, "status": ["existing"] * 6})
    none, summary = contacts.uncontacted(customers, cont)
    assert sorted(none["customer_id"]) == ["c5", "c6"]
    # enterprise: c3 contacted, c6 not -> 1 of 2 = 50%; smb: c5 of c1 c2 c4 c5 -> 25%
    assert summary.loc[("segment", "enterprise"), "share not contacted"] == 0.5
    assert summary.loc[("segment", "smb"), "share not contacted"] == 0.25


def test_contact_direction_values_checked():
    it = _contact_rows()
    it.loc[0, "direction"] = "outgoing"
    with pytest.raises(AttentionDataError, match=r"direction.*outgoing.*i0"):
        contacts.contacts(it)


# --- satisfaction extremes ----------------------------------------------------------------------

def test_customer_satisfaction_and_extremes():
    survey = pd.DataFrame({
        "respondent_id": [f"r{i}" for i in range(12)],
        "customer_id": [f"c{i:02d}" for i in range(10)] + ["c00", None],
        "completed": [True] * 12,
        "q_csat": [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 3, 5],
        "q_nps": [0, 10, 5, 5, 10, 0, 5, 5, 10, 10, 10, 10],
    })
    sat, label = extremes.customer_satisfaction(survey, ["q_missing", "q_csat", "q_nps"])
    assert label == "q_csat" and len(sat) == 10          # the respondent without customer_id dropped
    # c00 answered 1 and 3 -> mean 2, over 2 respondents
    assert sat.set_index("customer_id").loc["c00", "satisfaction"] == 2.0
    assert sat.set_index("customer_id").loc["c00", "respondents"] == 2
    sat2, label2 = extremes.customer_satisfaction(survey, ["q_csat", "q_nps"], combine=True)
    # c01: csat 2 -> (2-1)/4 = 0.25, nps 10 -> 1.0; mean 0.625
    assert sat2.set_index("customer_id").loc["c01", "satisfaction"] == pytest.approx(0.625)
    assert "rescaled" in label2
    groups = extremes.extreme_groups(pd.DataFrame({"customer_id": [f"c{i:02d}" for i in range(10)],
                                                   "satisfaction": np.arange(10.0, 0, -1)}), 0.2)
    # 20% of 10 = 2 per extreme: least are satisfaction 1 and 2 (c09, c08), most 10 and 9 (c00, c01)
    g = groups.set_index("customer_id")["extreme"]
    assert sorted(g[g == extremes.LEAST].index) == ["c08", "c09"]
    assert sorted(g[g == extremes.MOST].index) == ["c00", "c01"]
    assert (g == extremes.MIDDLE).sum() == 6


def test_missing_satisfaction_question_error():
    with pytest.raises(AttentionDataError, match="attention.satisfaction_measures"):
        extremes.customer_satisfaction(pd.DataFrame({"customer_id": ["c1"], "q_other": [3]}), ["q_csat"])


def test_compare_profiles_reference():
    df = pd.DataFrame({
        "extreme": [extremes.LEAST] * 4 + [extremes.MOST] * 4,
        "complaints": [5, 6, 7, 8, 0, 1, 2, 3],
        "plan": ["basic"] * 4 + ["premium"] * 4,
    })
    prof = extremes.compare_profiles(df, "extreme", extremes.LEAST, extremes.MOST)
    c = prof.set_index("column").loc["complaints"]
    # every least-satisfied count beats every most-satisfied one: r = 1, exact two-sided p = 2 / C(8,4) = 2/70
    assert c["effect size"] == pytest.approx(1.0)
    assert c["p"] == pytest.approx(2 / 70, rel=1e-6)
    assert c[extremes.LEAST] == 6.5 and c[extremes.MOST] == 1.5
    p = prof.set_index("column").loc["plan"]
    # a perfect 2x2 split of 8 customers: chi2 = 8, Cramer's V = 1; 100% basic vs 0%
    assert p["effect size"] == pytest.approx(1.0)
    assert p["feature"] == "plan: basic" and p[extremes.LEAST] == 1.0 and p[extremes.MOST] == 0.0
    # Holm over 2 tests: the smaller p doubled
    assert prof["p corrected"].min() == pytest.approx(2 * prof["p"].min())


def test_mean_ratio():
    r = extremes.mean_ratio([2, 4, 6, 8], [1, 2, 3, 2], n_resamples=500)
    # means 5 and 2 -> ratio 2.5
    assert r.ratio == pytest.approx(2.5)
    assert r.ci_low < 2.5 < r.ci_high


def test_mean_ratio_of_counts_matches_the_delta_method_and_scipy():
    """Counts (few distinct values) are resampled as multinomial draws over the values. Reference 1,
    by hand: for large groups the percentile interval of a ratio of means approaches the delta-method
    interval ratio * (1 +- 1.96 * sqrt(var_x / (n_x mean_x^2) + var_y / (n_y mean_y^2))). Reference 2:
    scipy.stats.bootstrap resampling the customers themselves, within Monte Carlo error."""
    from scipy import stats

    rng = np.random.default_rng(7)
    x, y = rng.poisson(0.6, 20000).astype(float), rng.poisson(0.2, 60000).astype(float)
    r = extremes.mean_ratio(x, y, n_resamples=4000)
    ratio = x.mean() / y.mean()
    se = ratio * np.sqrt(x.var(ddof=1) / (len(x) * x.mean() ** 2) + y.var(ddof=1) / (len(y) * y.mean() ** 2))
    assert r.ratio == pytest.approx(ratio)
    assert r.ci_low == pytest.approx(ratio - 1.959964 * se, rel=0.01)
    assert r.ci_high == pytest.approx(ratio + 1.959964 * se, rel=0.01)
    ref = stats.bootstrap((x, y), lambda a, b, axis=-1: a.mean(axis=axis) / b.mean(axis=axis), n_resamples=4000,
                          method="percentile", random_state=np.random.default_rng(1), vectorized=True, batch=200)
    assert r.ci_low == pytest.approx(ref.confidence_interval.low, rel=0.01)
    assert r.ci_high == pytest.approx(ref.confidence_interval.high, rel=0.01)
    again = extremes.mean_ratio(x, y, n_resamples=4000)
    assert (again.ci_low, again.ci_high) == (r.ci_low, r.ci_high)   # a fixed seed: the same report twice


def test_customer_features():
    customers = pd.DataFrame({"customer_id": ["a", "b"], "segment": ["smb", "enterprise"], "region": ["EMEA", "APAC"],
                              "signup_date": pd.to_datetime(["2023-12-31", "2024-06-30"]), "status": ["existing"] * 2})
    it = _interactions(_complaint_rows("billing", [1, 2]))           # customers c0, c1
    it.loc[:, "customer_id"] = ["a", "a"]
    orders = pd.DataFrame({"order_id": ["o1", "o2", "o3", "o4"], "customer_id": ["a", "a", "b", "b"],
                           "product_id": ["p1", "p2", "p1", "p1"],
                           "order_date": pd.to_datetime(["2024-02-01", "2024-03-01", "2024-03-01", "2023-03-01"]),
                           "revenue": [100.0, 300.0, 50.0, 999.0], "is_return": [False, False, False, False]})
    subs = pd.DataFrame({"customer_id": ["a", "a", "b"], "plan": ["basic", "pro", "basic"], "mrr": [10.0, 30.0, 5.0],
                         "start_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-07-01"]),
                         "end_date": pd.to_datetime([None, None, None])})
    f = extremes.customer_features(customers, interactions=it, orders=orders, subscriptions=subs,
                                   period=PERIOD).set_index("customer_id")
    assert f.loc["a", "complaints"] == 2 and f.loc["b", "complaints"] == 0
    assert f.loc["a", "revenue"] == 400.0 and f.loc["b", "revenue"] == 50.0     # 2023 order excluded
    assert f.loc["a", "main_product"] == "p2"                                  # 300 > 100
    assert f.loc["a", "plan"] == "pro" and f.loc["a", "mrr"] == 40.0
    assert f.loc["a", "tenure_years"] == pytest.approx(366 / 365.25)           # 2023-12-31 -> 2024-12-31


# --- profitability ------------------------------------------------------------------------------

def _profit_inputs():
    # five customers: revenue - cost = profit
    # A 100 - 50 = 50 ; B 20 - 60 = -40 ; C 40 - 10 = 30 ; D 30 - 40 = -10 ; E 25 - 5 = 20   (total 50)
    orders = pd.DataFrame({
        "order_id": ["o1", "o2", "o3", "o4", "o5", "o6", "o7"],
        "customer_id": ["A", "A", "B", "C", "D", "E", "E"],
        "product_id": ["p"] * 7,
        "order_date": pd.to_datetime(["2024-01-05", "2024-02-05", "2024-03-01", "2024-04-01", "2024-05-01",
                                      "2024-06-01", "2024-07-01"]),
        "revenue": [60.0, 40.0, 20.0, 40.0, 30.0, 25.0, 500.0],
        "is_return": [False, False, False, False, False, False, True],   # E's 500 is a return
    })
    costs = pd.DataFrame({
        "customer_id": ["A", "A", "B", "C", "D", "E"],
        "period": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01", "2024-06-01"]),
        "cost_service": [10.0, 10.0, 10.0, 5.0, 10.0, 5.0],
        "cost_support": [10.0, 10.0, 40.0, 5.0, 20.0, 0.0],
        "cost_acquisition": [0.0, 0.0, 10.0, 0.0, 10.0, 0.0],
        "discount": [5.0, 5.0, 0.0, 0.0, 0.0, 0.0],
    })
    customers = pd.DataFrame({"customer_id": list("ABCDE"), "segment": ["enterprise", "smb", "mid_market", "smb", "smb"],
                              "region": ["EMEA"] * 5, "status": ["existing"] * 5})
    return orders, costs, customers


def test_customer_profit_and_whale_curve_by_hand():
    orders, costs, customers = _profit_inputs()
    prof = profitability.customer_profit(orders, costs, customers, period=PERIOD).set_index("customer_id")
    assert prof["profit"].to_dict() == {"A": 50.0, "B": -40.0, "C": 30.0, "D": -10.0, "E": 20.0}
    assert prof.loc["A", "cost to serve"] == 50.0
    curve, s = profitability.whale_curve(prof.reset_index())
    # ranked 50, 30, 20, -10, -40; cumulative 50, 80, 100, 90, 50; as a share of 50: 1.0, 1.6, 2.0, 1.8, 1.0
    assert curve["cum_share"].tolist() == pytest.approx([1.0, 1.6, 2.0, 1.8, 1.0])
    assert curve["customer_share"].tolist() == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert s.total_profit == 50.0
    assert s.peak_share == pytest.approx(2.0)               # peak height 200% of total profit
    assert s.customers_at_peak == pytest.approx(0.6)        # reached by the top 3 of 5
    assert s.customers_for_total == pytest.approx(0.2)      # customer A alone makes 100% of profit
    assert s.loss_making == 2 and s.loss_making_share == pytest.approx(0.4)
    assert s.profit_of_profitable == 100.0 and s.loss_of_loss_making == -50.0


def test_profit_by_segment_and_components():
    orders, costs, customers = _profit_inputs()
    prof = profitability.customer_profit(orders, costs, customers, components=["cost_service", "cost_support"])
    t = profitability.profit_by(prof, "segment")
    # smb = B, D, E: revenue 20 + 30 + 25 = 75; service + support 50 + 30 + 5 = 85; profit -10;
    # loss-making B (20 - 50) and D (30 - 30 = 0 is not a loss) -> 1 of 3
    assert t.loc["smb", "revenue"] == 75.0 and t.loc["smb", "cost to serve"] == 85.0
    assert t.loc["smb", "profit"] == -10.0
    assert t.loc["smb", "loss-making customers"] == 1


def test_whale_curve_needs_positive_total():
    with pytest.raises(AttentionDataError, match="not positive"):
        profitability.whale_curve(pd.DataFrame({"profit": [-5.0, 2.0]}))


def test_negative_costs_named():
    orders, costs, customers = _profit_inputs()
    costs.loc[2, "cost_support"] = -1.0
    with pytest.raises(AttentionDataError, match=r"costs.*cost_support.*B"):
        profitability.customer_profit(orders, costs, customers)


# --- capability ---------------------------------------------------------------------------------

def test_capability_scorecard_by_hand():
    customers = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e"],
        "status": ["existing", "existing", "churned", "existing", "prospect"],
        "signup_date": pd.to_datetime(["2022-01-01", "2024-02-01", "2023-01-01", "2025-03-01", "2024-01-01"]),
        "churn_date": pd.to_datetime([None, None, "2024-06-01", None, None]),
        "region": ["EMEA", None, "APAC", "EMEA", None],
        "segment": ["smb", "smb", None, "smb", None],
    })
    # population: a, b, c (d signed up after the period; e is a prospect) -> 3 customers
    base = pd.Timestamp("2024-03-01")
    it = _interactions([
        ["i1", "a", base, "support", "email", "inbound", "complaint", None, "resolved", base + pd.Timedelta(days=2),
         None, None, None, None],                                                       # answered in 2 days: timely
        ["i2", "b", base, "support", "email", "inbound", "consultation", None, None, base + pd.Timedelta(days=10),
         None, None, None, None],                                                       # 10 days: late
        ["i3", "b", base, "sales", "phone", "outbound", "demo", None, None, pd.NaT, None, None, None, None],
    ])
    survey = pd.DataFrame({"customer_id": ["a", None]})
    ind, scores = capability.scorecard(customers, interactions=it, survey=survey, period=PERIOD, target_days=3)
    assert scores.attrs["population"] == 3
    v = ind.set_index("indicator")["value"]
    # identify: region 2/3, segment 2/3, signup_date 3/3 and the other 9 of the 12 profile columns
    # not captured (0); among churned customers (c) churn_date 1/1 and churn_reason not captured (0):
    # mean of 14 indicators = (2/3 + 2/3 + 1 + 1) / 14
    assert v["region filled"] == pytest.approx(2 / 3)
    assert v["company filled"] == 0.0
    assert scores.loc["identify", "score"] == pytest.approx(100 * (2 / 3 + 2 / 3 + 1 + 1) / 14)
    # interact: contacted a, b of a, b, c = 2/3; outbound b = 1/3; timely 1 of 2 requests = 1/2
    assert scores.loc["interact", "score"] == pytest.approx(100 * (2 / 3 + 1 / 3 + 1 / 2) / 3)
    # know: survey for a only = 1/3 (participants, feedback and reviews tables missing: not scored)
    assert scores.loc["know", "score"] == pytest.approx(100 / 3)
    assert scores.loc["overall", "score"] == pytest.approx(scores.loc[["identify", "interact", "know"], "score"].mean())
    assert "no feedback item table" in set(ind["detail"])



def test_capability_interactions_on_the_engine_as_in_pandas():
    # the engine path (only the customers contacted and the inbound requests come back) gives the same
    # indicators as the DataFrame path: a missing customer id, a missing date, a missing direction
    import ibis

    customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "status": "existing",
                              "signup_date": pd.to_datetime(["2022-01-01"] * 4)})
    base = pd.Timestamp("2024-03-01")
    it = _interactions([
        ["i1", "a", base, "support", "email", "inbound", "complaint", None, "resolved", base + pd.Timedelta(days=2),
         None, None, None, None],
        ["i2", "b", base, "support", "email", "inbound", "consultation", None, None, pd.NaT, None, None, None, None],
        ["i3", "b", base, "sales", "phone", "outbound", "demo", None, None, pd.NaT, None, None, None, None],
        ["i4", None, base, "sales", "phone", "outbound", "demo", None, None, pd.NaT, None, None, None, None],
        ["i5", "c", None, "sales", "phone", "outbound", "demo", None, None, pd.NaT, None, None, None, None],
        ["i6", "d", base, "support", "email", None, "complaint", None, None, base, None, None, None, None],
        ["i7", "c", pd.Timestamp("2023-05-01"), "sales", "phone", "outbound", "demo", None, None, pd.NaT,
         None, None, None, None],
    ])
    con = ibis.duckdb.connect()
    table = con.create_table("interactions", it.assign(date=it["date"].astype("datetime64[us]"),
                                                      resolved_date=it["resolved_date"].astype("datetime64[us]"))
                                               .drop(columns=["product_id", "rep", "reason_code", "implemented", "text"]))
    for period in (PERIOD, None):
        ind_pd, scores_pd = capability.scorecard(customers, interactions=it, period=period, target_days=3)
        ind_en, scores_en = capability.scorecard(customers, interactions=table, period=period, target_days=3)
        pd.testing.assert_frame_equal(ind_pd, ind_en)
        pd.testing.assert_frame_equal(scores_pd, scores_en)
    with pytest.raises(AttentionDataError, match="direction"):
        capability.scorecard(customers, interactions=table.drop("direction"), period=PERIOD)


def test_positions_and_take_are_a_map_on_text_ids():
    from insight.speedups import positions, take_at as take

    values = pd.Series([1.5, 2.5, 3.5], index=pd.Index(["b", "a", None], dtype="str"), name="v")
    keys = pd.Series(["a", "x", None, "b", "a"], dtype="str", index=[10, 11, 12, 13, 14])
    at = positions(keys, values.index)
    assert at.tolist() == [1, -1, 2, 0, 1]
    pd.testing.assert_series_equal(take(values, at, keys.index), keys.map(values), check_names=False)
    text = pd.Series(["p", "q", "r"], index=values.index, dtype="str")
    pd.testing.assert_series_equal(take(text, at, keys.index), keys.map(text), check_names=False)
    ints = pd.Series([7, 8], index=[1, 2])
    assert positions(pd.Series([2, 3, 1]), ints.index).tolist() == [1, -1, 0]   # other dtypes: pandas' get_indexer


@pytest.mark.parametrize("keys", [["a", "b", "b", "c"], ["c", "b", "a", "b"], ["a", None, None], ["b", "a", "a"]])
def test_positions_refuse_keys_that_repeat_sorted_or_not(keys):
    from insight.speedups import positions

    with pytest.raises(ValueError, match="not unique"):
        positions(pd.Series(["a"], dtype="str"), pd.Index(keys, dtype="str"))


@pytest.mark.parametrize("keys", [["a", "b", "c"], ["c", "a", "b"], ["a", None, "b"], []])
def test_positions_take_unique_keys_sorted_or_not(keys):
    from insight.speedups import positions

    values = pd.Series(["b", "z", None, "a"], dtype="str")
    index = pd.Index(keys, dtype="str")
    assert positions(values, index).tolist() == index.get_indexer(values).tolist()

def test_ties_broken_by_the_other_measures():
    # four customers all answer csat 3; their NPS differs: 0, 10, 5, 7 -> rescaled tiebreak 0, 1, .5, .7.
    # With share 0.25 (1 per extreme) the least satisfied is the NPS-0 customer, the most the NPS-10 one.
    survey = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "completed": True,
                           "q_csat": [3, 3, 3, 3], "q_nps": [0, 10, 5, 7]})
    sat, _ = extremes.customer_satisfaction(survey, ["q_csat", "q_nps"])
    assert sat.set_index("customer_id")["tiebreak"].to_dict() == {"a": 0.0, "b": 1.0, "c": 0.5, "d": 0.7}
    g = extremes.extreme_groups(sat, 0.25).set_index("customer_id")["extreme"]
    assert g["a"] == extremes.LEAST and g["b"] == extremes.MOST and (g[["c", "d"]] == extremes.MIDDLE).all()


def test_profile_against_everyone_else_and_display():
    df = pd.DataFrame({"extreme": [extremes.LEAST] * 3 + [extremes.MIDDLE] * 3 + [extremes.MOST] * 3,
                       "complaints": [4, 5, 6, 0, 1, 2, 0.5, 1.5, 2.5]})
    prof = extremes.compare_profiles(df, "extreme", extremes.LEAST)
    row = prof.iloc[0]
    # least 4, 5, 6 against the six others 0, 1, 2, 0.5, 1.5, 2.5 (no ties): every pair won -> r = 1;
    # means 5 and 7.5 / 6 = 1.25; exact two-sided p = 2 / C(9, 3) = 2 / 84
    assert row[extremes.OTHERS] == pytest.approx(1.25) and row[extremes.LEAST] == 5.0
    assert row["effect size"] == pytest.approx(1.0)
    assert row["p"] == pytest.approx(2 / 84, rel=1e-6)
    shown = extremes.profile_table(prof, extremes.LEAST, extremes.OTHERS).iloc[0]
    assert shown[extremes.LEAST] == "5.00" and shown["p (Holm)"] == "0.024" and shown["real difference"] == "yes"
    ratio = extremes.complaint_ratio(df, n_resamples=200)
    assert ratio.ratio == pytest.approx(5 / 1.25)


def test_attention_params_defaults_and_checks():
    from pydantic import ValidationError

    from insight.config.attention import AttentionConfig
    from insight.config.core import Hypothesis, QuantSpec

    cfg = AttentionConfig()
    assert cfg.extreme_share == 0.2 and cfg.satisfaction_measures[0] == "q_csat"
    with pytest.raises(ValidationError, match="unknown cost components"):
        AttentionConfig(cost_components=["cost_rent"])
    with pytest.raises(ValidationError):
        AttentionConfig(extreme_share=0.7)
    h = Hypothesis(id="H9", question="Q1", dimension="brand_interaction", statement="x",
                   quant=QuantSpec(source="crm", measure="days_to_resolve", group_by="colour", groups=["APAC"]))
    problems = cfg.cross_check(SimpleNamespace(hypotheses=[h]))
    assert problems and problems[0][0] == ("hypotheses", 0, "quant", "group_by") and problems[0][3] == "error"


def test_profit_and_features_from_engine_tables(tmp_path):
    """Orders, costs and interactions as engine tables (DuckDB over Parquet, as the notebooks pass
    them) give the hand-computed profits, the named negative costs and the same complaint counts."""
    from insight.data import engine as E

    con = E.connect()

    def lazy(df, name):
        df.to_parquet(tmp_path / f"{name}.parquet", index=False, coerce_timestamps="us")
        return con.read_parquet(str(tmp_path / f"{name}.parquet"), table_name=f"u_{name}")

    orders, costs, customers = _profit_inputs()
    prof = profitability.customer_profit(lazy(orders, "orders"), lazy(costs, "costs"), customers,
                                         period=PERIOD).set_index("customer_id")
    assert prof["profit"].to_dict() == {"A": 50.0, "B": -40.0, "C": 30.0, "D": -10.0, "E": 20.0}
    bad = costs.copy()
    bad.loc[2, "cost_support"] = -1.0
    bad.loc[3, "discount"] = -2.0
    with pytest.raises(AttentionDataError, match=r"\['cost_support', 'discount'\].*2 row\(s\).*customer_id [BC], [BC]"):
        profitability.customer_profit(orders, lazy(bad, "bad_costs"), customers)
    it = _interactions(_complaint_rows("billing", [1, 2]))
    it.loc[:, "customer_id"] = ["a", "b"]
    it = pd.concat([it, it.assign(type="consultation")], ignore_index=True)
    cust = pd.DataFrame({"customer_id": ["a", "b", "c"], "segment": ["smb"] * 3})
    want = extremes.customer_features(cust, interactions=it, period=PERIOD)
    got = extremes.customer_features(cust, interactions=lazy(it, "interactions"), period=PERIOD)
    pd.testing.assert_frame_equal(got, want)
    assert want.set_index("customer_id")[["complaints", "contacts"]].to_dict("list") == \
        {"complaints": [1, 1, 0], "contacts": [2, 2, 0]}


def test_contacts_from_an_engine_table(tmp_path):
    """An engine table of interactions gives the contacts of the DataFrame (direction, period and
    columns chosen on the engine) and the same unknown-direction check."""
    from insight.data import engine as E

    rows = _contact_rows()
    rows.loc[len(rows)] = ["old", "c1", pd.Timestamp("2023-06-01"), "sales", "phone", "outbound", "onboarding",
                           "p1", "done", pd.NaT, None, None, None, None]       # before the period
    rows.to_parquet(tmp_path / "i.parquet", index=False, coerce_timestamps="us")
    lazy = E.connect().read_parquet(str(tmp_path / "i.parquet"), table_name="c_interactions")
    want = contacts.contacts(rows, direction="outbound", period=PERIOD)
    got = contacts.contacts(lazy, direction="outbound", period=PERIOD)
    key = ["interaction_id"]
    cols = [c for c in got.columns]
    assert set(cols) <= set(want.columns) and {"customer_id", "department", "period", "product"} <= set(cols)
    pd.testing.assert_frame_equal(got.sort_values(key, ignore_index=True),
                                  want[cols].sort_values(key, ignore_index=True), check_dtype=False)
    assert len(got) == 9 and "old" not in set(got["interaction_id"])
    bad = rows.copy()
    bad.loc[0, "direction"] = "outgoing"
    bad.to_parquet(tmp_path / "bad.parquet", index=False, coerce_timestamps="us")
    with pytest.raises(AttentionDataError, match=r"direction.*outgoing.*data.tables.interactions.values.direction"):
        contacts.contacts(E.connect().read_parquet(str(tmp_path / "bad.parquet"), table_name="c_bad"))


def test_product_names_by_position_with_hand_written_expectations():
    """add_product_names: the product's name where it has one, else the id itself; missing ids stay
    missing; the first of duplicated products wins; a product without an id names nothing; numeric ids
    match their text."""
    from insight.crm.attention_base import add_product_names

    df = pd.DataFrame({"product_id": ["P1", "P2", None, "P9", "P3"]}, index=[10, 11, 12, 13, 14])
    products = pd.DataFrame({"product_id": ["P1", "P2", "P3", "P1", None],
                             "name": ["One", None, "Three", "Duplicate", "Ghost"]})
    got = add_product_names(df, products)["product"]
    assert got.index.tolist() == [10, 11, 12, 13, 14]
    assert got.tolist()[:2] == ["One", "P2"] and pd.isna(got.iloc[2]) and got.tolist()[3:] == ["P9", "Three"]
    num = add_product_names(pd.DataFrame({"product_id": [1, 2, 3]}),
                            pd.DataFrame({"product_id": [1, 2], "name": ["a", "b"]}))["product"]
    assert num.tolist() == ["a", "b", "3"]
    assert add_product_names(pd.DataFrame({"product_id": ["P1"]}), None)["product"].tolist() == ["P1"]

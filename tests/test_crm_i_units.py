"""CRM analysis I (issue 8): reference values on small hand-made tables and published data.

Every expected number below is computed by hand (the computation is in the comment) or taken
from a publication, never from the code under test.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from insight.crm import churn, crosssell, distribution, loyalty, opinions, retention, value
from insight.crm.purchases import CrmInputError, purchases


def _orders(rows):
    df = pd.DataFrame(rows, columns=["customer_id", "order_date", "revenue", "is_return"])
    df["order_id"] = [f"o{i}" for i in range(len(df))]
    df["product_id"] = "p1"
    df["quantity"] = np.where(df["is_return"], -1.0, 1.0)
    df["order_date"] = pd.to_datetime(df["order_date"])
    return df


@pytest.fixture
def tiny_orders():
    return _orders([
        ("A", "2024-01-05", 10.0, False), ("A", "2024-02-10", 10.0, False), ("A", "2024-04-01", 10.0, False),
        ("B", "2024-01-20", 10.0, False),
        ("C", "2024-01-25", 10.0, False), ("C", "2024-03-03", 10.0, False),
        ("D", "2024-02-02", 10.0, False), ("D", "2024-02-20", 10.0, False), ("D", "2024-03-15", 10.0, False),
        ("E", "2024-02-28", 10.0, False), ("E", "2024-03-10", -10.0, True),   # a return: not a purchase
    ])


def test_cohort_grid_in_period_by_hand(tiny_orders):
    # cohorts by first purchase month: Jan = A, B, C (3); Feb = D, E (2); data end April (A's order).
    # Jan: bought in Feb: A -> 1/3; Mar: C -> 1/3; Apr: A -> 1/3.
    # Feb: Mar: D -> 1/2 (E's March row is a return); Apr: nobody -> 0; offset 3 (May) not yet -> NaN.
    g = retention.cohort_grid(tiny_orders, grain="M", mode="in_period")
    assert list(g.index) == ["2024-01", "2024-02"]
    assert g.attrs["size"].tolist() == [3, 2]
    np.testing.assert_allclose(g.loc["2024-01"].to_numpy(), [1, 1 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(g.loc["2024-02"].to_numpy(), [1, 0.5, 0, np.nan])


def test_cohort_grid_in_or_after_by_hand(tiny_orders):
    # last active offset: A 3, B 0, C 2 -> Jan: N=1: A, C = 2/3; N=2: A, C = 2/3; N=3: A = 1/3.
    # Feb: D 1, E 0 -> N=1: 1/2; N=2: 0; N=3: NaN.
    g = retention.cohort_grid(tiny_orders, grain="M", mode="in_or_after")
    np.testing.assert_allclose(g.loc["2024-01"].to_numpy(), [1, 2 / 3, 2 / 3, 1 / 3])
    np.testing.assert_allclose(g.loc["2024-02"].to_numpy(), [1, 0.5, 0, np.nan])


def test_cohort_grid_by_signup_by_hand(tiny_orders):
    cust = pd.DataFrame({"customer_id": list("ABCDEF"),
                         "signup_date": pd.to_datetime(["2023-12-15", "2024-01-02", "2024-01-10", "2024-01-30",
                                                        "2024-02-01", "2024-02-05"]),
                         "status": "existing"})
    # Dec cohort {A} signed up before the order data starts (Jan): left out, its early periods are unseen
    # Jan cohort {B, C, D}: B Jan(0); C Jan(0), Mar(2); D Feb(1), Mar(2) -> [2/3, 1/3, 2/3, 0 (Apr)]
    # Feb cohort {E, F}: E Feb(0); F never buys -> [1/2, 0, 0, NaN (May not yet)]
    g = retention.cohort_grid(tiny_orders, cust, grain="M", basis="signup", mode="in_period")
    assert list(g.index) == ["2024-01", "2024-02"] and g.attrs["left_out"] == 1
    np.testing.assert_allclose(g.loc["2024-01"].to_numpy(), [2 / 3, 1 / 3, 2 / 3, 0])
    np.testing.assert_allclose(g.loc["2024-02"].to_numpy(), [0.5, 0, 0, np.nan])
    assert g.attrs["size"].tolist() == [3, 2]


def test_rfm_by_hand():
    o = _orders([
        ("c1", "2024-12-30", 100.0, False), ("c1", "2024-12-01", 50.0, False),
        ("c2", "2024-11-30", 500.0, False),
        ("c3", "2024-06-01", 20.0, False), ("c3", "2024-07-01", 20.0, False), ("c3", "2024-08-01", 20.0, False),
        ("c3", "2024-08-05", -10.0, True),
        ("c4", "2023-12-31", 1000.0, False),
        ("c5", "2024-12-30", 10.0, False), ("c5", "2024-12-30", 10.0, False),   # two orders, one purchase day
    ])
    r = value.rfm(o, as_of="2024-12-31")
    # recency days: c1 1, c2 31, c3 152 (Aug 1 -> Dec 31), c4 366 (leap year), c5 1
    assert r["recency_days"].to_dict() == {"c1": 1, "c2": 31, "c3": 152, "c4": 366, "c5": 1}
    assert r["frequency"].to_dict() == {"c1": 2, "c2": 1, "c3": 3, "c4": 1, "c5": 1}
    assert r.loc["c3", "monetary"] == pytest.approx(50.0)          # 60 bought - 10 returned
    # R: ranks of -recency c4 1, c3 2, c2 3, c1/c5 4.5 -> pct .2 .4 .6 .9 -> ceil(5 pct) 1 2 3 5 5
    # F: 1s (c2 c4 c5) rank 2 -> .4 -> 2; c1 rank 4 -> 4; c3 rank 5 -> 5
    # M: c5 20, c3 50, c1 150, c2 500, c4 1000 -> 1 2 3 4 5
    assert r["rfm"].to_dict() == {"c1": "543", "c2": "324", "c3": "252", "c4": "125", "c5": "521"}
    # default rules, first match: c1 loyal (r3-5 f4-5; champions needs m>=4); c2 needs_attention (r3, f1-3);
    # c3 at_risk (r1-2 f3-5; cannot_lose needs m>=4); c4 hibernating (r1-2 f1-2); c5 potential_loyalists (r4-5 f2-3)
    assert r["segment_rfm"].to_dict() == {"c1": "loyal", "c2": "needs_attention", "c3": "at_risk",
                                          "c4": "hibernating", "c5": "potential_loyalists"}


def test_rfm_rules_overridable():
    from insight.config.crm import CrmConfig
    cfg = CrmConfig(rfm_rules=[{"name": "vip", "m": [5, 5]}])
    scored = pd.DataFrame({"r": [1, 5], "f": [1, 5], "m": [5, 1]}, index=["x", "y"])
    assert value.rfm_segments(scored, cfg.rfm_rules).tolist() == ["vip", "other"]
    with pytest.raises(ValueError, match="reversed"):
        CrmConfig(rfm_rules=[{"name": "bad", "r": [5, 1]}])


def test_purchases_exclude_returns_and_missing_customer():
    o = _orders([("A", "2024-01-01", 5.0, False), ("A", "2024-01-02", -5.0, True), (None, "2024-01-03", 5.0, False)])
    p = purchases(o)
    assert p["order_id"].tolist() == ["o0"]
    # without is_return (Online Retail style), negative quantities are returns
    o2 = o.drop(columns="is_return")
    assert purchases(o2)["order_id"].tolist() == ["o0"]


def test_clear_errors():
    with pytest.raises(CrmInputError, match=r"orders.*order_date.*params data.tables.orders.columns"):
        purchases(pd.DataFrame({"order_id": ["1"], "customer_id": ["a"], "revenue": [1.0]}))
    bad = _orders([("A", "2024-01-01", 5.0, False)])
    bad["order_date"] = ["not a date"]
    with pytest.raises(CrmInputError, match=r"column 'order_date'.*not dates.*rows \[0\]"):
        purchases(bad)


def test_revenue_retention_by_hand():
    s = pd.DataFrame([
        ("s1", "A", 100.0, "2023-01-01", None), ("s2", "A", 50.0, "2024-02-01", None),          # expansion
        ("s3", "B", 200.0, "2023-06-01", "2024-02-15"),                                          # churn
        ("s4", "C", 100.0, "2023-01-01", "2024-01-31"), ("s5", "C", 60.0, "2024-02-01", None),   # downgrade
        ("s6", "D", 300.0, "2024-02-01", None),                                                  # new: not counted
    ], columns=["subscription_id", "customer_id", "mrr", "start_date", "end_date"])
    s["start_date"] = pd.to_datetime(s["start_date"])
    s["end_date"] = pd.to_datetime(s["end_date"])
    t = retention.revenue_retention(s, "2024-01-01", "2024-03-31", grain="Q")
    row = t.iloc[0]
    # start MRR A 100 + B 200 + C 100 = 400; end A 150, B 0, C 60
    # logo churn 1/3; GRR = (100 + 0 + 60) / 400 = 0.40; NRR = (150 + 0 + 60) / 400 = 0.525
    assert row["customers_start"] == 3 and row["mrr_start"] == 400
    assert row["logo_churn"] == pytest.approx(1 / 3)
    assert row["grr"] == pytest.approx(0.40)
    assert row["nrr"] == pytest.approx(0.525)


# Freireich et al. (1963) leukaemia remission data (6-MP vs placebo), the textbook example in
# Kleinbaum & Klein, Survival Analysis (3rd ed.), ch. 2: log-rank chi-square 16.79; KM for 6-MP
# S(6)=0.857, S(10)=0.753, S(23)=0.448; placebo median 8 weeks.
MP_TIMES = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
MP_EVENT = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
PL_TIMES = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]


def test_kaplan_meier_logrank_published():
    t = MP_TIMES + PL_TIMES
    e = MP_EVENT + [1] * len(PL_TIMES)
    g = ["6-MP"] * len(MP_TIMES) + ["placebo"] * len(PL_TIMES)
    res = churn.kaplan_meier(t, e, g)
    assert res["chi2"] == pytest.approx(16.79, abs=0.01)
    at = churn.survival_at(res, times=(6, 10, 23))
    np.testing.assert_allclose(at.loc["6-MP"].to_numpy(), [0.857, 0.753, 0.448], atol=0.001)
    assert res["medians"].loc["placebo", "median_time"] == 8


def test_churn_rate_by_any_attribute():
    c = pd.DataFrame({"customer_id": list("abcdefgh"), "signup_date": pd.Timestamp("2023-01-01"),
                      "status": ["churned", "churned", "existing", "existing", "churned", "existing", "existing", "existing"],
                      "churn_date": pd.to_datetime(["2024-02-01", "2024-03-01", None, None, "2024-05-01", None, None, None])})
    flag = pd.Series([True, True, True, True, False, False, False, False], index=list("abcdefgh"), name="missed_checkup")
    t = churn.churn_rate_by(c, flag, as_of="2024-12-31")
    # missed: a, b churned of a-d -> 2/4; not missed: e churned of e-h -> 1/4
    assert t.loc[True, "churn_rate"] == pytest.approx(0.5)
    assert t.loc[False, "churn_rate"] == pytest.approx(0.25)
    # chi-square (no continuity correction) of [[2,2],[1,3]]: expected 1.5/2.5 each row;
    # sum (o-e)^2/e = 0.25/1.5*2 + 0.25/2.5*2 = 0.5333
    assert t.attrs["chi2"] == pytest.approx(0.5333, abs=1e-3)


def test_churn_by_period_by_hand():
    c = pd.DataFrame({"customer_id": list("abcd"), "signup_date": pd.to_datetime(["2023-06-01"] * 3 + ["2024-02-01"]),
                      "status": ["churned", "existing", "churned", "existing"],
                      "churn_date": pd.to_datetime(["2024-02-10", None, "2024-05-05", None])})
    t = churn.churn_by_period(c, "2024-01-01", "2024-06-30", grain="Q")
    # Q1: active at Jan 1 a, b, c (d signs up later); a churns -> 1/3. Q2: active b, c, d; c churns -> 1/3
    assert t["active_at_start"].tolist() == [3, 3]
    assert t["churned"].tolist() == [1, 1]


def test_association_rules_by_hand():
    o = _orders([("c1", "2024-01-01", 1.0, False)] * 2 + [("c2", "2024-01-01", 1.0, False)] * 2 +
                [("c3", "2024-01-01", 1.0, False), ("c4", "2024-01-01", 1.0, False)])
    o["product_id"] = ["a", "b", "a", "b", "a", "c"]
    r = crosssell.association_rules(o, level="product").set_index(["antecedent", "consequent"])
    # 4 customers; a bought by 3, b by 2, both by 2: a->b confidence 2/3, lift (2/3)/(2/4) = 4/3;
    # b->a confidence 1, lift 1/(3/4) = 4/3
    assert r.loc[("a", "b"), "confidence"] == pytest.approx(2 / 3)
    assert r.loc[("a", "b"), "lift"] == pytest.approx(4 / 3)
    assert r.loc[("b", "a"), "lift"] == pytest.approx(4 / 3)
    cand = crosssell.affinity_candidates(o, level="product", min_lift=1.2, min_confidence=0.5, min_pair_customers=2)
    assert cand[["customer_id", "item", "because_of"]].values.tolist() == [["c3", "b", "a"]]
    assert "67% of those buyers also buy b" in cand["reason"].iloc[0]
    # the rules computed once (the notebook's affinity table, every pair) give the same candidates
    every_pair = crosssell.association_rules(o, level="product")
    pd.testing.assert_frame_equal(crosssell.affinity_candidates(o, level="product", min_lift=1.2, min_confidence=0.5,
                                                                min_pair_customers=2, rules=every_pair), cand)
    # support of a & b = 2 of 4 customers = 50%: a minimum support of 60% drops the rule, 50% keeps it
    assert crosssell.affinity_candidates(o, level="product", min_lift=1.2, min_confidence=0.5, min_pair_customers=2,
                                         min_support=0.6).empty
    assert len(crosssell.affinity_candidates(o, level="product", min_lift=1.2, min_confidence=0.5, min_pair_customers=2,
                                             min_support=0.5)) == 1
    # the default lift of 1.5 is above 4/3: no candidates from these rules
    assert crosssell.strong_rules(crosssell.association_rules(o, level="product"), min_pair_customers=2).empty
    # purchases after `until` do not count: c4 buying b in March leaves the January rules as they were
    later = pd.concat([o, _orders([("c4", "2024-03-01", 1.0, False)]).assign(product_id="b", order_id="o9")], ignore_index=True)
    pd.testing.assert_frame_equal(crosssell.association_rules(later, level="product", until="2024-01-31"),
                                  crosssell.association_rules(o, level="product"))
    assert crosssell.association_rules(later, level="product").set_index(["antecedent", "consequent"]).loc[("c", "b"), "customers_both"] == 1


def test_usage_limit_and_contract_end():
    subs = pd.DataFrame({"subscription_id": ["s1", "s2"], "customer_id": ["a", "b"], "product_id": ["p", "p"],
                         "seats": [10, 20], "mrr": [1.0, 1.0], "start_date": pd.to_datetime(["2024-01-01"] * 2),
                         "end_date": pd.to_datetime(["2024-07-31", "2025-12-31"])})
    usage = pd.DataFrame({"customer_id": ["a", "a", "b"], "month": pd.to_datetime(["2024-05-01", "2024-06-01", "2024-06-01"]),
                          "feature": "x", "active_users": [3, 9, 5]})
    u = crosssell.usage_limit_candidates(usage, subs, "2024-06-30", share=0.9)
    assert u["customer_id"].tolist() == ["a"] and u["utilisation"].iloc[0] == pytest.approx(0.9)   # 9 / 10
    e = crosssell.contract_end_candidates(subs, "2024-06-30", within_days=90)
    assert e["customer_id"].tolist() == ["a"] and e["days_to_renewal"].iloc[0] == 31


def test_loyalty_drivers_by_hand():
    f = pd.DataFrame({"trust": [0.0, 100, 0, 100], "service": [50.0, 50, 50, 50]})
    f["loyalty_index"] = 0.5 * f["trust"] + 0.5 * f["service"]
    f.attrs["weights"] = {"trust": 0.5, "service": 0.5}
    d = loyalty.drivers(f)
    # I = [25, 75, 25, 75], var(I) = 625; cov(trust, I) = 1250 -> share 0.5 * 1250 / 625 = 1; service constant -> 0
    assert d.loc["trust", "share_of_variance"] == pytest.approx(1.0)
    assert d.loc["service", "share_of_variance"] == pytest.approx(0.0)


def test_loyalty_frame_scaling_by_hand():
    cust = pd.DataFrame({"customer_id": ["a", "b"], "signup_date": pd.Timestamp("2023-01-01"), "status": "existing",
                         "segment": ["smb", "enterprise"]})
    survey = pd.DataFrame({"respondent_id": ["r1", "r2", "r3"], "customer_id": ["a", "b", "a"], "wave": [2023, 2024, 2024],
                           "completed": True, "q_trust": [1, 5, 4], "q_renew": [2, 3, 5]})
    comps = {"trust": {"source": "survey", "measure": "q_trust", "weight": 3, "scale": (1, 5)},
             "continuation": {"source": "survey", "measure": "q_renew", "weight": 1, "scale": (1, 5)}}
    f = loyalty.loyalty_frame(comps, cust, "2024-12-31", survey=survey)
    # a's latest response r3: trust (4-1)/4*100 = 75, renew 100 -> 0.75*75 + 0.25*100 = 81.25
    # b: trust 100, renew 50 -> 0.75*100 + 0.25*50 = 87.5
    assert f.loc["a", "loyalty_index"] == pytest.approx(81.25)
    assert f.loc["b", "loyalty_index"] == pytest.approx(87.5)
    with pytest.raises(CrmInputError, match="q_missing"):
        loyalty.loyalty_frame({"x": {"source": "survey", "measure": "q_missing", "weight": 1}}, cust, "2024-12-31", survey=survey)


def test_ratings_by_product_by_hand():
    r = pd.DataFrame({"product_id": ["p"] * 4 + ["q"] * 3, "rating": [5, 4, 4, 1, 2, 2, 3]})
    t = opinions.ratings_by_product(r)
    # p: mean 3.5, share 4-5 = 3/4, share 1-2 = 1/4; q: mean 7/3, share 1-2 = 2/3
    assert t.loc["p", "mean_rating"] == pytest.approx(3.5)
    assert t.loc["p", "share_4_5"] == pytest.approx(0.75)
    assert t.loc["q", "share_1_2"] == pytest.approx(2 / 3)
    # p: sd = sqrt(((1.5^2 + 0.5^2*2 + 2.5^2)/3) = sqrt(9/3) = 1.732; t(0.975, 3) = 3.182 -> half-width 3.182*1.732/2 = 2.756
    assert t.loc["p", "ci_high"] - 3.5 == pytest.approx(2.756, abs=1e-3)


def test_bgnbd_conditional_expectation_published():
    # Fader & Hardie, "Implementing the BG/NBD model" (2005 note): with the CDNOW estimates, a customer with
    # x = 2, t_x = 30.43, T = 38.86 is expected to make 1.226 purchases in the next 39 weeks.
    m = value.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426, loglik=0, n=0)
    assert m.expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=0.002)
    assert m.p_alive(0, 0, 38.86) == 1.0


def test_bgnbd_probability_of_n_purchases():
    # Fader, Hardie & Lee (2005), eq. 8 with the published CDNOW estimates. Hand-computed for t = 39:
    # P(X = 0) = (alpha / (alpha + t))^r = (4.414 / 43.414)^0.243 = exp(0.243 * -2.286001) = 0.573786
    m = value.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426, loglik=0, n=0)
    assert float(m.probability_of_purchases(39, 0)) == pytest.approx(0.573786, abs=1e-6)
    # n = 1: B(a, b+1)/B(a, b) = b/(a+b) = 0.753650; NB(1) = r (t/(alpha+t)) P0 = 0.243 * 0.898328 * 0.573786
    #   = 0.125254; second term B(a+1, b)/B(a, b) = a/(a+b) = 0.246350 times (1 - NB(0)) = 0.426214
    #   -> 0.753650 * 0.125254 + 0.246350 * 0.426214 = 0.094398 + 0.104998 = 0.199395
    assert float(m.probability_of_purchases(39, 1)) == pytest.approx(0.199395, abs=1e-5)
    # the distribution sums to 1 and its mean is E[X(t)] of eq. 9 (two independent formulas)
    n = np.arange(0, 400)
    p = m.probability_of_purchases(39, n)
    assert p.sum() == pytest.approx(1.0, abs=1e-6)
    assert float((n * p).sum()) == pytest.approx(float(m.expected_purchases_new(39)), rel=1e-4)
    d = value.purchase_count_distribution(m, 39, max_n=5)
    assert d["probability"].sum() == pytest.approx(1.0) and list(d.index)[-1] == "5 or more"
    with pytest.raises(ValueError, match="whole numbers"):
        m.probability_of_purchases(39, 1.5)


def test_tracking_counts_by_hand_with_a_split_off_the_week_grid():
    # first purchase in the data 2024-01-01 (day 0); split 2024-01-10 (day 9), end 2024-01-24 (day 23).
    # Weekly periods end on the split: [0, 3), [3, 10), [10, 17), [17, 24) -> days 0-2, 3-9, 10-16, 17-23.
    # Repeat purchases: A on days 4 and 12, B (first on day 2) on day 9 and day 20; C starts on day 11,
    # after the split, so it is not in the cohort the model speaks for.
    o = _orders([("A", "2024-01-01", 1.0, False), ("A", "2024-01-05", 1.0, False), ("A", "2024-01-13", 1.0, False),
                 ("B", "2024-01-03", 1.0, False), ("B", "2024-01-10", 1.0, False), ("B", "2024-01-21", 1.0, False),
                 ("C", "2024-01-12", 1.0, False), ("C", "2024-01-20", 1.0, False)])
    m = value.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426, loglik=0, n=0, unit_days=7)
    t = value.tracking(o, "2024-01-10", "2024-01-24", 7, model=m)
    assert t["actual"].tolist() == [0, 2, 1, 1]
    assert t["holdout"].tolist() == [False, False, True, True]
    assert t.attrs["customers"] == 2 and t.attrs["holdout_actual"] == 2 and t.attrs["calibration_actual"] == 2
    # predicted at the end (day 23): A exposed 23/7 weeks, B 21/7 weeks since their first purchase (eq. 9)
    assert t["predicted_cum"].iloc[-1] == pytest.approx(float(m.expected_purchases_new(23 / 7) + m.expected_purchases_new(21 / 7)))
    with pytest.raises(value.CrmInputError, match="split"):
        value.tracking(o, "2024-02-01", "2024-01-24", 7, model=m)


def test_concentration_and_buyer_rate_by_hand():
    cust = pd.DataFrame({"customer_id": list("abcdef"), "region": ["APAC", "APAC", "EU", "EU", "EU", "EU"]})
    prods = pd.DataFrame({"product_id": ["x", "y"], "name": ["X", "Y"], "category": ["analytics", "core"]})
    o = _orders([(c, "2024-01-01", 10.0, False) for c in "abcdef"] + [("a", "2024-02-01", 10.0, False), ("b", "2024-02-01", 10.0, False)])
    o["product_id"] = ["y"] * 6 + ["x", "x"]
    s = distribution.sales_frame(o, cust, prods, ["region"])
    t = distribution.share_table(s, "region")
    # APAC revenue: core 20, analytics 20 -> 50% analytics; EU 0%
    assert t.loc["APAC", "analytics"] == pytest.approx(0.5)
    con = distribution.concentration(s, "region", min_customers=1)
    # overall analytics share 20/80 = 0.25 -> APAC index 0.5 / 0.25 = 2
    assert con.loc[("APAC", "analytics"), "index"] == pytest.approx(2.0)
    cmp_ = distribution.buyer_rate_comparison(s, cust, "region", "APAC", "category", "analytics")
    assert cmp_["share_group"] == 1.0 and cmp_["share_others"] == 0.0


def test_study_sales_periods_and_mix_change_by_hand():
    cust = pd.DataFrame({"customer_id": list("abc"), "region": ["APAC", "EU", "EU"]})
    prods = pd.DataFrame({"product_id": ["x", "y", "z"], "name": ["X", "Y", "Z"], "category": ["analytics", "core", "core"]})
    o = _orders([("a", "2023-02-01", 30.0, False), ("a", "2024-02-01", 10.0, False), ("a", "2024-02-01", 10.0, False),
                 ("b", "2023-11-30", 70.0, False), ("b", "2024-05-01", 40.0, False), ("c", "2024-12-31", 40.0, False),
                 ("c", "2024-06-01", -5.0, True)])
    o["product_id"] = ["x", "x", "y", "y", "y", "z", "z"]
    ss = distribution.study_sales(o, cust, prods, ["region", "segment"], "category",
                                  (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31")),
                                  (pd.Timestamp("2023-01-01"), pd.Timestamp("2023-12-31")))
    cur, prev = ss["current"], ss["previous"]
    # one row per customer and product bought in the period; a's two 2024 lines of x and y stay apart by product
    assert sorted(zip(cur["customer_id"], cur["product_id"], cur["revenue"], cur["lines"])) == [
        ("a", "x", 10.0, 1), ("a", "y", 10.0, 1), ("b", "y", 40.0, 1), ("c", "z", 40.0, 1)]
    assert ss["groupings"] == ["region"] and ss["unusable"] == ["segment"]
    # 2024: analytics 10 of 100 (10%); 2023: 30 of 100 (30%) -> analytics -20 points, core +20
    assert distribution.mix_shift_sentence(cur, prev, "category").endswith("analytics fell most, from 30% to 10% (-20 points).")
    ch = distribution.share_change(cur, prev, "region", "category")
    assert ch.loc[("APAC", "analytics"), "previous"] == pytest.approx(1.0)     # a spent all of 2023 on analytics
    assert ch.loc[("APAC", "analytics"), "current"] == pytest.approx(0.5)
    assert ch.loc[("APAC", "analytics"), "change_points"] == pytest.approx(-50.0)
    assert distribution.share_table(cur, "region", measure="orders", normalize=None).loc["APAC"].tolist() == [1.0, 1.0]
    ps = distribution.period_shares(o, prods, "category", (pd.Timestamp("2023-01-01"), pd.Timestamp("2024-12-31")), "Q")
    assert list(ps.index) == ["2023Q1", "2023Q4", "2024Q1", "2024Q2", "2024Q4"] and ps.attrs["customers"] == 3
    assert ps.loc["2024Q1", "analytics"] == pytest.approx(0.5) and ps.loc["2023Q4", "core"] == pytest.approx(1.0)
    o.loc[0, "product_id"] = "w"
    with pytest.raises(CrmInputError, match=r"1 purchase line\(s\) name products missing from 'products' \(e.g. \['w'\]\)"):
        distribution.sales_frame(o, cust, prods, ["region"])


def test_crm_params_defaults_and_cross_check():
    from types import SimpleNamespace

    from insight.config.crm import CrmConfig
    cfg = CrmConfig()
    assert abs(sum(c.weight for c in cfg.loyalty.values()) - 1) < 1e-9
    assert cfg.cohort_grain == "Q" and cfg.rfm_bins == 5
    bad = CrmConfig(rfm_bins=3, rfm_rules=[{"name": "top", "r": [4, 5]}], concentration_hypothesis="H9")
    problems = bad.cross_check(SimpleNamespace(hypotheses=[SimpleNamespace(id="H6")]))
    assert [(p[0], p[3]) for p in problems] == [(("crm", "rfm_rules", 0, "r"), "error"),
                                                (("crm", "concentration_hypothesis"), "warning")]
    with pytest.raises(ValueError, match="loyalty component weights are 0"):
        CrmConfig(loyalty={"trust": {"source": "survey", "measure": "q_trust", "weight": 0}})
    with pytest.raises(ValueError):
        CrmConfig(unknown_key=1)                        # unknown keys are errors


def test_reference_dates_previous_period():
    from types import SimpleNamespace
    from insight.crm.purchases import reference_dates
    p = SimpleNamespace(study=SimpleNamespace(period=SimpleNamespace(start=pd.Timestamp("2024-01-01").date(),
                                                                      end=pd.Timestamp("2024-12-31").date())),
                        crm=SimpleNamespace(as_of=None))
    d = reference_dates(p)
    # a calendar year: the previous period is the calendar year before
    assert d["previous"] == (pd.Timestamp("2023-01-01"), pd.Timestamp("2023-12-31"))
    assert d["as_of"] == pd.Timestamp("2024-12-31")


def test_bought_hypothesis_by_hand():
    from insight.config.core import Hypothesis
    cust = pd.DataFrame({"customer_id": list("abcdef"), "region": ["APAC", "APAC", "EU", "EU", "EU", "EU"]})
    prods = pd.DataFrame({"product_id": ["x", "y"], "name": ["X", "Y"], "category": ["analytics", "core"]})
    o = _orders([(c, "2024-01-01", 10.0, False) for c in "abcdef"] + [("a", "2024-02-01", 10.0, False), ("b", "2024-02-01", 10.0, False)])
    o["product_id"] = ["y"] * 6 + ["x", "x"]
    s = distribution.sales_frame(o, cust, prods, ["region"])
    h = Hypothesis(id="H6", question="Q2", dimension="purchase", statement="s",
                   quant={"source": "crm", "measure": "bought_analytics", "group_by": "region", "groups": ["APAC"], "expected": "higher"})
    f = distribution.bought_finding(h, s, cust)
    # APAC spends 20 of 40 on analytics (50%), all customers 20 of 80 (25%): index 2.
    # per-customer shares: APAC [0.5, 0.5], EU [0, 0, 0, 0] -> U = 8 of 8 pairs -> rank-biserial 1
    assert f["value"] == pytest.approx(2.0) and f["effect_size"] == pytest.approx(1.0)
    assert f["id"] == "crm.distribution.h6" and f["hypothesis"] == "H6"
    h.quant.measure = "bought_nothing"
    with pytest.raises(CrmInputError, match="bought_nothing"):
        distribution.bought_finding(h, s, cust)


def test_proportion_table_cramers_v_with_interval_by_hand():
    from insight.crm import purchases
    from insight.stats import cramers_v_ci

    # 30/50 against 15/50: chi2 = 100 (30*35 - 20*15)^2 / (50*50*45*55) = 9.0909; V = sqrt(9.0909/100) = 0.3015
    df = pd.DataFrame({"g": ["a"] * 50 + ["b"] * 50, "f": [True] * 30 + [False] * 20 + [True] * 15 + [False] * 35})
    t = purchases.proportion_table(df, "g", "f")
    assert t.attrs["cramers_v"] == pytest.approx(0.301511, abs=1e-6)
    assert t.attrs["cramers_v_ci"] == pytest.approx(cramers_v_ci(100 * 750 ** 2 / 6187500, 100, (2, 2)))
    note = purchases.chi_square_note(t.attrs)
    assert note.startswith("chi-square p = 0.003, Cramér's V 0.30 (95% CI ") and t.attrs["cramers_v_ci"][0] > 0


def test_falling_orders_rule_by_hand_on_a_frame_and_on_the_engine(tmp_path):
    """The at-risk rule 'falling orders' counts purchase days per customer in the window (C-60, C] and
    the one before it, (C-120, C-60], with C = 2024-06-30 and 60-day windows; it flags drops of at least
    half from at least 2 purchase days. By hand (the days since C in brackets):
    A: 3 days before (100, 90, 80 - two orders on day 90 are one day), 1 recent (10): 1 <= 3 * 0.5 -> flag
    B: 2 before (110, 70), 1 recent (5): 1 <= 1 -> flag
    C: 2 before, 2 recent -> no flag;  D: 1 before (65), 0 recent: fewer than 2 before -> no flag
    E: 2 before, then only a return recently (a return is not a purchase): 0 -> flag
    F: churned before C: not in the list; G: a day after C (-1) does not count, 2 before -> flag
    H: an order on C itself counts as recent (the window ends with the cut-off day): 2 before, 1 on C -> flag"""
    from insight.config.crm import AtRiskConfig
    from insight.data import engine as E

    C = pd.Timestamp("2024-06-30")

    def d(days):
        return str((C - pd.Timedelta(days=days)).date())

    rows = [("A", d(100), 10.0, False), ("A", d(90), 10.0, False), ("A", d(90), 5.0, False), ("A", d(80), 10.0, False),
            ("A", d(10), 10.0, False),
            ("B", d(110), 10.0, False), ("B", d(70), 10.0, False), ("B", d(5), 10.0, False),
            ("C", d(100), 10.0, False), ("C", d(70), 10.0, False), ("C", d(40), 10.0, False), ("C", d(20), 10.0, False),
            ("D", d(65), 10.0, False),
            ("E", d(100), 10.0, False), ("E", d(90), 10.0, False), ("E", d(30), -10.0, True),
            ("F", d(100), 10.0, False), ("F", d(90), 10.0, False),
            ("G", d(100), 10.0, False), ("G", d(90), 10.0, False), ("G", d(-1), 10.0, False),
            ("H", d(100), 10.0, False), ("H", d(90), 10.0, False), ("H", d(0), 10.0, False)]
    orders = _orders(rows)
    customers = pd.DataFrame({"customer_id": list("ABCDEFGH"), "signup_date": pd.Timestamp("2023-01-01"),
                              "churn_date": [pd.NaT] * 5 + [pd.Timestamp("2024-05-01")] + [pd.NaT] * 2})
    config = AtRiskConfig(order_window_days=60, order_drop=0.5)
    path = tmp_path / "orders.parquet"
    orders.to_parquet(path, index=False, coerce_timestamps="us")
    lazy = E.connect().read_parquet(str(path), table_name="orders")
    for o in (orders, lazy):
        flags = churn.at_risk(customers, C, orders=o, config=config, use_p_alive=False)
        assert flags["falling_orders"].to_dict() == {"A": True, "B": True, "C": False, "D": False, "E": True,
                                                     "G": True, "H": True}
        assert "orders fell from 3 to 1 purchase days" in flags.loc["A", "reasons"]
        assert "orders fell from 2 to 0 purchase days" in flags.loc["E", "reasons"]


def test_loyalty_order_frequency_window_by_hand():
    cust = pd.DataFrame({"customer_id": ["a", "b", "c"], "signup_date": pd.to_datetime(["2020-01-01"] * 3), "status": "existing"})
    o = _orders([("a", "2024-12-31 15:00:00", 10.0, False), ("a", "2024-12-31 09:00:00", 5.0, False),   # one purchase day
                 ("a", "2024-01-01 00:00:00", 10.0, False),                                     # 365 days before: out
                 ("a", "2024-01-02 00:00:00", 10.0, False), ("b", "2024-06-01 00:00:00", 10.0, False),
                 ("b", "2024-06-02 00:00:00", 3.0, True), ("b", "2025-01-01 00:00:00", 10.0, False)])                                             # after as_of: out
    got = loyalty.crm_measure("order_frequency", cust, "2024-12-31", orders=o)
    assert got.to_dict() == {"a": 2.0, "b": 1.0, "c": 0.0}


@pytest.mark.parametrize("lp", [[0.0, 0.0, 0.0, 0.0], [np.log(0.243), np.log(4.414), np.log(0.793), np.log(2.426)],
                                [0.7, -1.2, 1.5, -0.6]])
def test_bgnbd_fit_gradient_matches_central_differences(lp):
    """The fit's exact gradient against central differences of the per-customer log-likelihood (eq. 6,
    itself checked against the published CDNOW log-likelihood), rows weighted, with customers without
    repeat purchases and b < 1."""
    x = np.array([0, 0, 1, 2, 2, 5, 11, 3], float)
    tx = np.array([0, 0, 4.5, 10.2, 30.0, 33.1, 38.0, 12.0])
    T = np.array([38.9, 12.0, 30.1, 38.9, 31.0, 38.9, 38.9, 20.5])
    w = np.array([3, 1, 2, 1, 4, 1, 2, 1], float)
    ux, inv = np.unique(x, return_inverse=True)
    wx = np.bincount(inv, weights=w)
    lp = np.array(lp)

    def mean_nll(v):
        return -(w * value.bgnbd_loglik(np.exp(v), x, tx, T)).sum() / w.sum()

    f, g = value._bgnbd_objective(lp, ux, inv, tx, T, w, wx)
    assert f == pytest.approx(mean_nll(lp), rel=1e-12)
    h = 1e-6
    numeric = [(mean_nll(lp + h * e) - mean_nll(lp - h * e)) / (2 * h) for e in np.eye(4)]
    np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("lp", [[0.0, 0.0, 0.0], [np.log(6.25), np.log(3.74), np.log(15.44)], [-0.8, 1.1, 2.5]])
def test_gamma_gamma_fit_gradient_matches_central_differences(lp):
    x = np.array([1, 1, 2, 3, 3, 7, 12], float)
    m = np.array([12.5, 40.0, 18.2, 25.0, 9.9, 31.4, 22.0])
    ux, inv = np.unique(x, return_inverse=True)
    nx = np.bincount(inv).astype(float)
    lp = np.array(lp)

    def mean_nll(v):
        return -value.gamma_gamma_loglik(np.exp(v), x, m).sum() / len(x)

    f, g = value._gamma_gamma_objective(lp, ux, inv, nx, m, x, np.log(m), m * x)
    assert f == pytest.approx(mean_nll(lp), rel=1e-12)
    h = 1e-6
    numeric = [(mean_nll(lp + h * e) - mean_nll(lp - h * e)) / (2 * h) for e in np.eye(3)]
    np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8)


def test_account_customers_keeps_accounts_and_leaves_the_input_alone():
    """Prospects and competitors' customers are left out, and rows without a signup date; the dates
    come back as dates; the caller's frame is not changed, whether rows were left out or not."""
    from insight.crm.purchases import account_customers

    given = pd.DataFrame({"customer_id": ["a", "b", "c", "d", "e"],
                          "signup_date": ["2023-01-05", "2023-02-01", None, "2023-03-01", "2023-04-01"],
                          "status": ["existing", "prospect", "existing", "churned", None],
                          "churn_date": [None, None, None, "2024-01-31", None],
                          "segment": ["x", "y", "x", "y", "x"]})
    before = given.copy()
    got = account_customers(given)
    assert got["customer_id"].tolist() == ["a", "d", "e"]
    assert got["signup_date"].tolist() == [pd.Timestamp("2023-01-05"), pd.Timestamp("2023-03-01"), pd.Timestamp("2023-04-01")]
    assert got["churn_date"].iloc[1] == pd.Timestamp("2024-01-31") and got["churn_date"].iloc[[0, 2]].isna().all()
    assert got["segment"].tolist() == ["x", "y", "x"]
    pd.testing.assert_frame_equal(given, before)
    every = given.loc[[0, 3, 4]].reset_index(drop=True)   # every row kept: no selection, the input still unchanged
    kept = every.copy()
    got = account_customers(every)
    assert len(got) == 3 and got["signup_date"].dtype.kind == "M"
    pd.testing.assert_frame_equal(every, kept)

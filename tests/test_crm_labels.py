"""Readable CRM reports (QA pass on the rendered HTML): labels instead of snake_case ids, p labels
instead of 0.00, counts without decimals, findings that do not contradict themselves."""
from __future__ import annotations

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from insight.crm import capability, churn, consultations, crosssell, distribution  # noqa: E402
from insight.labels import label, measure_label, readable, sentence, table_html, tidy_figure  # noqa: E402


def test_label_words_and_abbreviations():
    assert label("mid_market") == "mid market"
    assert label("smb") == "SMB" and label("ai") == "AI" and label("APAC") == "APAC"
    assert label("ci_low") == "CI low" and label("p_holm") == "p (Holm)"
    assert label("North America") == "North America" and label("enterprise") == "enterprise"
    assert label(None) == "n/a" and label(np.nan) == "n/a"
    assert sentence("mid market customers") == "Mid market customers"


def test_a_long_table_shows_its_first_rows_judged_on_every_row():
    # 250 customers: whole counts in the first 200 rows only, so the column keeps its decimals; the
    # segments are labelled; only 200 rows are made readable and the note says how many there are
    n = 250
    df = pd.DataFrame({"customers": np.r_[np.arange(200.0), np.full(n - 200, 0.5)],
                       "segment": ["mid_market", "smb"] * (n // 2)},
                      index=pd.Index([f"C{i:03d}" for i in range(n)], name="customer_id")).astype({"segment": "str"})
    shown, _ = readable(df, rows=200)
    assert len(shown) == 200 and shown.index[-1] == "C199"
    assert shown["customers"].dtype == float and shown["segment"].iloc[0] == "mid market"
    pd.testing.assert_frame_equal(shown, readable(df)[0].head(200))
    html = table_html(df, "Customers", note="Ranked.")
    assert "Ranked. First 200 of 250 rows shown." in html and "C199" in html and "C200" not in html


def test_readable_table():
    df = pd.DataFrame({"share_in_group": [0.2, 0.3], "flagged": [179.0, 67.0], "p_value": [0.0001, 0.0642],
                       "notable": [True, False], "revenue": [1234.56, 99.4], "mean": [3.0, 4.0]},
                      index=pd.MultiIndex.from_tuples([("mid_market", "ai"), ("smb", "core")], names=["segment", "category"]))
    out, pct = readable(df, ["share_in_group"])
    assert pct == ["share in group"]
    assert list(out.columns) == ["share in group", "flagged", "p", "notable", "revenue", "mean"]
    assert out.index.names == ["segment", "category"]
    assert list(out.index) == [("mid market", "AI"), ("SMB", "core")]
    assert out["p"].tolist() == ["< 0.001", "0.064"]          # p_label: below 0.001, else 3 decimals
    assert out["notable"].tolist() == ["yes", "no"]
    assert str(out["flagged"].dtype) == "Int64"                 # a count: no decimals
    assert out["revenue"].tolist() == [1235, 99]                # money: whole units (1234.56 -> 1235)
    assert out["mean"].dtype == float                           # a statistic keeps its decimals
    html = table_html(df, "caption", base=50, percent=["share_in_group"])
    assert "mid_market" not in html and "20.0%" in html and "179.00" not in html


def test_tidy_figure_relabels_categories_not_numbers():
    fig, ax = plt.subplots()
    ax.barh(["customer_success", "support", "smb"], [1, 2, 3])
    ax.plot([0, 1], [0, 1], label="mid_market")
    ax.legend(title="segment_rfm")
    tidy_figure(fig)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["customer success", "support", "SMB"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["mid market"]
    assert ax.get_legend().get_title().get_text() == "RFM segment"
    assert all("_" not in t.get_text() for t in ax.get_xticklabels())
    plt.close(fig)


def test_measure_label_falls_back_to_the_code():
    study = SimpleNamespace(params=SimpleNamespace(survey=SimpleNamespace(questionnaire="no/such/file.yaml")), project=None)
    assert measure_label(study, "q_csat") == "q_csat"


def test_consultations_slowest_department_never_contradicts_itself():
    # every department answers with a median of 1 day: the finding must not call one of them slowest
    rows = []
    for dept, days in [("support", [1] * 8 + [3, 5]), ("sales", [1] * 9 + [2]), ("billing", [1] * 10)]:
        rows += [{"customer_id": f"c{i}", "department": dept, "answered": True, "days_to_answer": d} for i, d in enumerate(days)]
    cons = pd.DataFrame(rows).assign(channel=pd.NA, product=pd.NA, period="2024Q1")
    f = {x["id"]: x for x in consultations.findings(cons, cons.iloc[0:0], min_base=10)}
    s = f["crm.consultations.slowest_department"]["statement"]
    assert "slowest" not in s and "within 1 day;" in s
    # 90th percentiles (linear): support [1]*8+[3,5] -> 3 + 0.1*2 = 3.2; billing all 1 -> 1.0
    assert "3.2 days in support" in s and "1 day in billing" in s
    cons.loc[cons["department"] == "support", "days_to_answer"] = 4
    s = {x["id"]: x for x in consultations.findings(cons, cons.iloc[0:0], min_base=10)}["crm.consultations.slowest_department"]["statement"]
    assert s.startswith("Support is the slowest department") and "(median 4 days, against 1 day in" in s


def test_capability_weakest_names_ties_as_shown():
    assert capability._weakest_text(pd.Series({"identify": 100.0, "interact": 86.9, "know": 87.2})) == \
        "the weakest dimensions are 'interact' and 'know' (87 each)."
    assert capability._weakest_text(pd.Series({"identify": 100.0, "interact": 85.0, "know": 86.4})).startswith(
        "the weakest dimension is 'interact'")


def test_crosssell_finding_counts_customers_not_rows():
    # c1 has three suggestions (renewal + two cross-sells), c2 one: 2 customers, 1 renewal customer, 2 affinity customers
    cand = pd.DataFrame({"customer_id": ["c1", "c1", "c1", "c2"], "kind": ["renewal", "cross_sell", "cross_sell", "cross_sell"],
                         "item": ["P1", "P2", "P3", "P2"], "reason": ["r"] * 4})
    cand.attrs["active_customers"] = 10
    f = crosssell.candidates_finding(cand)
    assert f["value"] == 2 and f["base"] == 10 and f["extra"] == {"cross_sell": 2, "renewal": 1}
    assert "2 active customers" in f["statement"] and "(20% of 10 active customers)" in f["statement"]
    assert "product affinity: 2" in f["statement"] and "contract ending soon: 1" in f["statement"]


def test_distribution_mix_shift_and_hypothesis_cells():
    prev = pd.DataFrame({"category": ["core", "analytics"], "revenue": [60.0, 40.0]})
    cur = pd.DataFrame({"category": ["core", "ai"], "revenue": [50.0, 50.0]})
    # before: core 60%, analytics 40%; now: core 50%, ai 50% -> ai +50 points, analytics -40 points
    s = distribution.mix_shift_sentence(cur, prev, "category")
    assert s == ("Across all customers, the largest shift from the period before is AI: 0% of revenue then, 50% now "
                 "(+50 points); analytics fell most, from 40% to 0% (-40 points).")
    assert distribution.mix_shift_sentence(cur, prev.iloc[:0], "category") is None
    h = SimpleNamespace(quant=SimpleNamespace(group_by="region", measure="bought_analytics", groups=["APAC"]))
    assert distribution.tested_by_hypothesis([h], "region", "APAC", "analytics")
    assert not distribution.tested_by_hypothesis([h], "segment", "APAC", "analytics")


def test_churn_rate_finding_wording_follows_the_test():
    t = pd.DataFrame({"customers": [100, 100], "churned": [20, 10], "churn_rate": [0.2, 0.1]}, index=["mid_market", "smb"])
    t.attrs.update(p_value=0.3, base=200, cramers_v=0.1)
    s = churn.rate_finding(t, "segment")["statement"]
    assert s == ("Churn does not clearly differ by segment: 20% of mid market customers churned against 10% of SMB, "
                 "a gap that may be chance.")
    t.attrs["p_value"] = 0.01
    assert churn.rate_finding(t, "segment")["statement"].startswith("Churn differs by segment: 20% of mid market")


def test_suppress_small_rows():
    from insight.labels import suppress_small
    t = pd.DataFrame({"customers": [710, 2], "retained": [632, 1], "retention": [632 / 710, 0.5]}, index=["fast", "slow"])
    out, note = suppress_small(t, "customers", 10, "chi-square p = 0.064")
    assert out.loc["fast", "retention"] == t.loc["fast", "retention"] and np.isnan(out.loc["slow", "retention"])
    assert out.loc["slow", "retained"] == 1                       # counts stay: only rates are blanked
    assert note == "chi-square p = 0.064. Rows with fewer than 10 customers show no rates: too few to read."
    same, none = suppress_small(t.iloc[:1], "customers", 10)
    assert none is None and same.equals(t.iloc[:1])


def test_retention_finding_names_the_window_actually_used():
    from insight.crm import retention
    t = pd.DataFrame({"customers": [100, 100], "retained": [90, 60], "retention": [0.9, 0.6]}, index=["7 or more", "1"])
    t.attrs.update(p_value=0.001, base=200, cramers_v=0.3, window_days=182)
    assert "bought again in the following 182 days against 60%" in retention.behaviour_finding(t, "frequency")["statement"]
    t.attrs["window_days"] = 365
    assert "bought again in the following year" in retention.behaviour_finding(t, "frequency")["statement"]


def test_days_and_pct():
    from insight.labels import days, pct
    assert [days(1.0), days(3), days(2.54), days(np.nan)] == ["1 day", "3 days", "2.5 days", "n/a"]
    # 1,214 of 1,218 answered = 99.67%: '100%' would claim every one
    assert pct(1214 / 1218) == "99.7%" and pct(1.0) == "100%" and pct(0.246) == "25%" and pct(0.001) == "0.1%"

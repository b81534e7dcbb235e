"""What the reviewer reads in the success, synthesis, inventory and index reports: wording and number
formats checked on small hand-made inputs (the statistics themselves are tested in their own modules)."""
from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from insight.display import _numeric_text, show_finding, table_html


def F(**kw):
    base = {"id": "x", "statement": "s", "notebook": "nb", "hypothesis": "H1", "evidence": None, "source": "survey",
            "p_value": None, "base": None, "effect_size": None, "effect_size_name": None}
    base.update(kw)
    return base


def test_verdict_reason_names_a_measurement_that_found_nothing():
    """Interviews support a hypothesis the survey measured without a significant result: the reason must
    say the survey found no difference, not that the hypothesis was 'not measured'."""
    from insight.synthesis.verdicts import verdict_for
    df = pd.DataFrame([F(evidence="supports", source="qual", base=28), F(evidence="inconclusive", p_value=0.96)])
    v, reason = verdict_for(df)
    assert v == "not_enough_evidence"
    assert reason == "the interviews support it, but the survey found no significant difference"
    # when the survey's interval rules the effect out, the two sources disagree
    df = pd.DataFrame([F(evidence="supports", source="qual", base=28), F(evidence="contradicts", p_value=0.96)])
    assert verdict_for(df) == ("mixed", "a measured result contradicts it, but interviews support it")
    only_qual = pd.DataFrame([F(evidence="supports", source="qual", base=28)])
    assert verdict_for(only_qual)[1] == "only qualitative support: suggestive, not measured"
    one = pd.DataFrame([F(evidence="supports", p_value=0.001, source="crm")])
    assert verdict_for(one)[1] == "a significant result from one source (CRM records)"


def test_summary_sentence_has_no_nested_brackets():
    from insight.synthesis.summary import verdict_sentence
    s = verdict_sentence({"verdict": "supported", "statement": "Enterprise customers rate onboarding lower.",
                          "reason": "a significant result from one source (survey)"})
    assert s == "Confirmed: enterprise customers rate onboarding lower — a significant result from one source (survey)."


def test_say_do_sentence_reads_the_intervals():
    from insight.synthesis.report import _say_do_sentence
    # promoters 18/241 = 7.5% (Wilson 4.8%-11.5%), detractors 11/191 = 5.8% (3.2%-10.0%): the intervals overlap
    c = pd.DataFrame({"customers": [241, 191], "yes": [18, 11], "rate": [18 / 241, 11 / 191],
                      "ci_low": [0.048, 0.032], "ci_high": [0.115, 0.100]}, index=["promoter", "detractor"])
    s = _say_do_sentence(c)
    assert s.startswith("18 of 241 promoters (7%) churned after saying they would recommend us — about as often as detractors (6%)")
    c.loc["detractor", ["rate", "ci_low", "ci_high"]] = [0.30, 0.22, 0.38]
    assert "less often than detractors (30%)" in _say_do_sentence(c)


def test_metric_words():
    from insight.synthesis.report import _metric_words
    assert _metric_words("q_onboarding for segment = enterprise", {}) == "Onboarding satisfaction (1-5) for segment = enterprise"
    assert (_metric_words("q_attr_ease for customer_status = churned", {"q_attr_ease": "The product is easy to use."})
            == '"The product is easy to use" for customer status = churned')


def test_table_index_name_goes_in_the_corner_and_numbers_stay_right_aligned():
    df = pd.DataFrame({"on time": [0.5, 0.25], "p": ["< 0.001", "0.213"], "owner": ["csm a", "csm b"]},
                      index=pd.Index(["Initial assessment", "One-month check-up"], name="review"))
    html = table_html(df, "t", percent=["on time"])
    assert '<th class="index_name level0" >review</th>' in html
    assert html.count("<tr>") == 3                      # one header row, two body rows: no row for the index name
    assert _numeric_text(df["p"]) and not _numeric_text(df["owner"])
    assert _numeric_text(pd.Series(["0.29 to 0.60", "+0.03", "12.5%", ""]))


def test_finding_detail_does_not_repeat_the_effect_size(capsys, monkeypatch):
    import insight.display as d
    out = []
    monkeypatch.setattr(d, "_emit", out.append)
    show_finding(SimpleNamespace(id="a", statement="s", severity="key", metric="risk ratio (a / b)", value=3.0912,
                                 ci_low=2.4801, ci_high=3.8, base=1720, test="chi-square", p_value=0.0001,
                                 effect_size=3.0912, effect_size_name="risk ratio", hypothesis=None, evidence=None))
    assert "risk ratio (a / b) = 3.09 · 95% CI 2.48 to 3.80" in out[0]
    assert out[0].count("3.09") == 1


def test_call_list_display():
    from insight.success.health import MEASURE_LABELS, call_list_display
    red = pd.DataFrame({"segment": ["mid_market"], "owner": ["csm_a"], "Health score": [9.36],
                        MEASURE_LABELS["usage_trend"]: [-0.48], MEASURE_LABELS["engagement"]: [0.0],
                        MEASURE_LABELS["support_load"]: [2.0], MEASURE_LABELS["satisfaction"]: [np.nan],
                        MEASURE_LABELS["cadence"]: [2 / 3]}, index=pd.Index(["C1"], name="customer_id"))
    t = call_list_display(red, 180)
    assert t.loc["C1"].tolist() == ["mid market", "csm_a", "9", "-0.48", "0", "2", "", "67%"]
    assert "Complaints (180 days)" in t.columns and t.index.name == "customer"


def test_churn_table_display_and_no_users_note():
    from insight.success.education import churn_table_display, no_users_note
    t = pd.DataFrame({"users": [0, 97], "churn (users)": [np.nan, 0.134], "non-users": [803, 706],
                      "churn (non-users)": [0.0648, 0.0552], "risk ratio": [np.nan, 2.43], "CI low": [np.nan, 1.344],
                      "CI high": [np.nan, 4.38], "p": [np.nan, 0.0004]}, index=pd.Index(["webinar", "academy"], name="channel"))
    d = churn_table_display(t)
    assert d.loc["academy"].tolist()[1:] == ["13.4%", 706, "5.5%", "2.43", "1.34 to 4.38", "< 0.001"]
    assert d.loc["webinar", "p"] == "" and d.loc["webinar", "95% CI"] == ""
    assert no_users_note(t, pd.Timestamp("2022-12-31")).startswith("No customer active on 31 Dec 2022 had used webinar")


def test_readable_categories():
    from insight.labels import label, labelled   # the one labels module (the success helpers are retired)
    assert label("paid_ads") == "paid ads" and label("C00012") == "C00012" and label("APAC") == "APAC"
    t = labelled(pd.DataFrame({"v": [1]}, index=pd.MultiIndex.from_tuples([("paid_ads", "ad_landing_page")])))
    assert t.index[0] == ("paid ads", "ad landing page")


def test_index_page_shows_the_study_frame_first(tmp_path):
    """The index of a study: the one-screen executive summary first (verdicts with a link to the synthesis),
    then what was studied (objectives and questions); data text escaped."""
    from insight.index_page import write_index
    from insight.params import load_params
    from insight.paths import Project

    root = tmp_path / "proj"
    shutil.copytree(Project.find().templates_dir, root / "templates")
    (root / "params").mkdir()
    for name in ("2024-annual", "2023-annual"):  # the demo names its previous study
        shutil.copy(Project.find().params_file(name), root / "params" / f"{name}.yaml")
    project = Project(root)
    params = load_params("2024-annual", project)
    out = project.report_dir("2024-annual")
    out.mkdir(parents=True)
    findings = [{"id": "synthesis.summary.1", "statement": "Confirmed: <b>x</b>", "severity": "key", "notebook": "synthesis",
                 "extra": {"confidence": "high"}},
                {"id": "synthesis.verdict.H1", "statement": "a significant result", "hypothesis": "H1", "notebook": "synthesis",
                 "extra": {"verdict": "supported", "hypothesis_statement": "Enterprise ..."}}]
    (out / "findings.json").write_text(json.dumps(findings))
    manifest = {"notebooks": {"synthesis": {"title": "Synthesis", "html": "synthesis.html", "status": "ok", "stage": 2}}}
    html = write_index(project, "2024-annual", params, manifest).read_text()
    assert html.index("Executive summary") < html.index("What was studied")
    assert "Q1</strong> What keeps customers from getting value in the first months?" in html
    assert "<b>x</b>" not in html and "a significant result" in html
    assert 'href="synthesis.html#Hypothesis-verdicts"' in html


def test_cadence_rate_sentence():
    from insight.success.cadence import rate_sentence
    churn = pd.DataFrame({"customers": [1072, 588, 60], "churned": [109, 143, 17]},
                         index=["all on time", "most on time (50-99%)", "fewer than half on time"])
    churn["churn rate"] = churn["churned"] / churn["customers"]   # 10.2%, 24.3%, 28.3%: rising steadily
    assert rate_sentence(churn, "churn rate", "churn") == "Churn is 10.2% for 'all on time' against 28.3% for 'fewer than half on time'."
    renewal = pd.DataFrame({"customers": [913, 179, 174], "renewal rate": [0.985, 0.939, 0.960]}, index=["3 of 3", "2 of 3", "1 of 3"])
    s = rate_sentence(renewal, "renewal rate", "first-year renewal")
    assert s.startswith("First-year renewal is 98.5% for '3 of 3' against 96.0% for '1 of 3'; the rows in between do not follow")
    assert rate_sentence(churn.iloc[:1], "churn rate", "churn") is None


def test_inventory_shares_and_records_after_the_period():
    import datetime as dt

    from insight.data import inventory as inv
    assert inv._share(1997 / 2000) == "over 99%" and inv._share(0.004) == "under 1%" and inv._share(0.86) == "86%"
    prepared = SimpleNamespace(tables={"customers": None, "orders": None, "survey_responses": None},
                               profile={"customers": {"end": "2024-12-15"}, "orders": {"end": "2024-12-31"},
                                        "survey_responses": {"end": "2023-10-31"}})
    study = SimpleNamespace(prepared=prepared, period=SimpleNamespace(end=dt.date(2023, 12, 31)))
    assert inv.after_period(study).startswith("2 tables (customers, orders) hold records dated after the study period "
                                              "ends (31 Dec 2023), up to 31 Dec 2024.")
    prepared.profile = {"survey_responses": {"end": "2023-10-31"}}
    assert inv.after_period(study) is None


def test_inventory_single_source():
    from insight.data.inventory import single_source
    assert single_source(pd.DataFrame({"Source": ["demo company"] * 3})) == "demo company"
    assert single_source(pd.DataFrame({"Source": ["crm.csv", "survey.xlsx"]})) is None


def test_group_estimates_are_weighted_like_the_survey_report():
    from insight.synthesis.groups import group_estimates
    # group a: scores 10, 10, 0 with weights 1, 1, 2 -> promoters 2/4, detractors 2/4 -> NPS 0 (unweighted: +33.3)
    df = pd.DataFrame({"q_nps": [10, 10, 0, 9, 9], "g": ["a", "a", "a", "b", "b"], "weight": [1, 1, 2, 1, 1]})
    est = group_estimates(df, "q_nps", "g", min_n=1).set_index("group")
    assert est.loc["a", "estimate"] == pytest.approx(0.0) and est.loc["b", "estimate"] == pytest.approx(100.0)
    unweighted = group_estimates(df.drop(columns="weight"), "q_nps", "g", min_n=1).set_index("group")
    assert unweighted.loc["a", "estimate"] == pytest.approx(100 / 3)


def test_feedback_period_note():
    from insight.success.feedback_loop import period_note
    cyc = pd.DataFrame({"reported_date": pd.to_datetime(["2023-01-05", "2024-12-31"])})
    assert period_note(cyc, "2024-12-31") == ("Items reported from 05 Jan 2023 to 31 Dec 2024, followed up to the study "
                                              "end (31 Dec 2024).")
    assert period_note(cyc.iloc[:0], "2024-12-31") is None


def test_verdict_reason_when_a_measurement_points_against():
    """A non-significant survey result its report labels 'contradicts' (the interval rules out a small effect):
    the reason must not say the effect 'may exist but be too small to detect'."""
    from insight.synthesis.verdicts import verdict_for
    df = pd.DataFrame([F(evidence="contradicts", p_value=0.96), F(evidence="inconclusive", source="qual", base=48)])
    v, reason = verdict_for(df)
    assert v == "rejected"
    assert reason == ("the survey found no difference, and its interval rules out even a small effect in the "
                      "expected direction")
    assert verdict_for(pd.DataFrame([F(evidence="inconclusive", p_value=0.4)]))[1].startswith("no significant difference")

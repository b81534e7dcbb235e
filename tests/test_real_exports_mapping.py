"""What a real one-row-per-customer export needs (issue 18), on small hand-made inputs; every
expectation worked out by hand: the row conditions of a mapping (`where:` / `exclude_if:`), custom
attributes, headers with spaces, churn dated by tenure, demographic comparisons, sections of a report
that need more tables, the health score with nothing to measure, and the order of validate's output."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from insight.data.conditions import ConditionError, evaluate, names_in, parse
from insight.data.testing import write_study
from insight.params import ParamsError, Problem, load_params


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("INSIGHT_PII_KEY", "test-key")


# --- the condition language --------------------------------------------------------------------

FRAME = pd.DataFrame({"mrr": [10.0, -5.0, None, 0.0], "plan": ["pro", "trial", None, "internal"],
                      "Total Charges": ["29.85", " ", "-3", "108.15"]})


@pytest.mark.parametrize("expr, expected", [
    ("mrr < 0", [False, True, None, False]),                     # a missing value decides nothing
    ("mrr >= 0 and plan != 'internal'", [True, False, None, False]),
    ("plan in ['trial', 'internal'] or mrr < 0", [False, True, None, True]),
    ("not (mrr > 0)", [False, True, None, True]),
    ("`Total Charges` < 0", [False, None, True, False]),       # text of numbers compares as numbers; blank = missing
    ("plan is missing", [False, False, True, False]),
    ("plan is not missing and mrr == 0", [False, False, False, True]),
])
def test_conditions_evaluate_column_by_column(expr, expected):
    got = evaluate(expr, FRAME)
    assert [None if pd.isna(v) else bool(v) for v in got] == expected


@pytest.mark.parametrize("expr, says", [
    ("__import__('os').system('x')", "each part must be a comparison"),
    ("mrr.abs() < 0", "arithmetic, calls and attributes are not allowed"),
    ("mrr * 2 > 1", "arithmetic, calls and attributes are not allowed"),
    ("0 < mrr < 5", "one comparison at a time"),
    ("plan in 'trial'", "`in` needs a list of values"),
    ("mrr <", "cannot be read"),
    ("", "empty"),
])
def test_conditions_that_are_not_allowed_say_why(expr, says):
    with pytest.raises(ConditionError, match=None) as exc:
        parse(expr)
    assert says in str(exc.value)


def test_condition_names_and_unknown_columns():
    assert names_in("`Total Charges` < 0 or plan == 'x'") == {"Total Charges", "plan"}
    with pytest.raises(ConditionError, match=r"it uses 'charges', which is not a column; columns: mrr, plan, Total Charges"):
        evaluate("charges < 0", FRAME)
    with pytest.raises(ConditionError, match=r"plan < 3: compares text with a number"):
        evaluate("plan < 3", FRAME)


# --- the mapping on a small export ---------------------------------------------------------------

EXPORT = ("Customer ID,Churn ,Tenure,Gender,Senior,Contract,Monthly,Churn Category\n"
          "A1,Yes,2,Female,1,Month-to-month,30.5,Competitor\n"
          "A2,No,10,Male,0,One year,-1,\n"
          "A3,No,0,Male,0,Month-to-month,20,\n"
          "A4,Yes,5,Female,0,Two year,45,Price\n"
          "T1,No,3,Male,0,Month-to-month,10,\n")


def _study(tmp_path, **extra):
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "export.csv").write_text(EXPORT, encoding="utf-8")
    spec = {"path": "data/export.csv",
            "columns": {"Customer ID": "customer_id", "Churn": "status", "Tenure": "tenure_months", "Monthly": "monthly",
                        "Churn Category": "churn_category"},
            "values": {"status": {"Yes": "churned", "No": "existing"}},
            "defaults": {"region": None, "segment": None},
            "date_offsets": {"signup_date": {"as_of": "2020-06-30", "months": "tenure_months"}},
            **extra}
    project = write_study(tmp_path, "s", {"tables": {"customers": spec}}, period=("2019-07-01", "2020-06-30"))
    return project


def test_exclude_if_where_attributes_and_spaced_headers(tmp_path):
    from insight.data.prepare import prepare_study_data
    project = _study(tmp_path, exclude_if="monthly < 0", where="customer_id != 'T1'",
                     attributes={"Contract": "contract"})
    params = load_params("s", project)
    prepared = prepare_study_data(params, project)
    c = pd.read_parquet(prepared.tables["customers"])
    # A2 (charge -1) excluded, T1 (a test account) not kept: A1, A3, A4 remain
    assert c["customer_id"].tolist() == ["A1", "A3", "A4"]
    assert c["contract"].tolist() == ["Month-to-month", "Month-to-month", "Two year"]
    assert c["gender"].tolist() == ["female", "male", "female"]            # demographic field, canonical labels
    assert c["senior"].tolist() == [True, False, False]
    assert c["churn_category"].fillna("-").tolist() == ["Competitor", "-", "Price"]
    assert "monthly" not in c.columns                                     # a helper column, not kept
    notes = " ".join(prepared.details["customers"])
    assert "1 row dropped by `exclude_if: monthly < 0` (row 3)" in notes
    assert "1 row dropped by `where: customer_id != 'T1'` (row 6)" in notes
    spaced = [w for w in prepared.warnings if "spaces around it" in w.message]
    assert len(spaced) == 1 and spaced[0].file == "data/export.csv" and spaced[0].key == "customers.Churn"
    assert "the header 'Churn ' has spaces around it; it is read as 'Churn'" in spaced[0].message


def test_a_bad_condition_is_caught_by_validate_with_the_key(tmp_path):
    project = _study(tmp_path, exclude_if="monthly.abs() > 100")
    with pytest.raises(ParamsError) as exc:
        load_params("s", project)
    text = exc.value.report()
    assert "data.tables.customers" in text and "exclude_if: monthly.abs() > 100" in text
    assert "arithmetic, calls and attributes are not allowed" in text


def test_an_attribute_may_not_take_a_canonical_name(tmp_path):
    project = _study(tmp_path, attributes={"Contract": "segment"})
    with pytest.raises(ParamsError, match="the attribute 'segment' has the name of a canonical customers column"):
        load_params("s", project)


def test_attributes_given_as_a_list_are_named_by_their_header():
    from insight.config.data import TableSpec
    assert TableSpec(path="x", attributes=["Payment Method", "Contract"]).attribute_names() == {
        "Payment Method": "payment_method", "Contract": "contract"}


# --- churn from a status and a tenure ------------------------------------------------------------

def _customers():
    return pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"],
        "signup_date": pd.to_datetime(["2019-11-30", "2020-01-31", "2019-06-30", "2020-06-30"]),
        "status": ["churned", "churned", "existing", "existing"],
        "tenure_months": [7.0, 5.0, 12.0, 0.0],
        "senior": [True, False, True, False],
        "contract": ["monthly", "monthly", "yearly", "monthly"],
    })


def test_churn_dated_by_tenure():
    from insight.crm.purchases import tenure_churn_dates, undated_churners
    d = tenure_churn_dates(_customers())
    # 30 Nov 2019 + 7 months = 30 Jun 2020; 31 Jan 2020 + 5 months = 30 Jun 2020 (June has 30 days)
    assert d.tolist()[:2] == [pd.Timestamp("2020-06-30")] * 2 and d.iloc[2:].isna().all()
    assert not undated_churners(_customers()).any()
    no_tenure = _customers().drop(columns="tenure_months")
    assert undated_churners(no_tenure).tolist() == [True, True, False, False]


def test_churn_frame_takes_the_tenure_where_the_dates_agree():
    from insight.crm.churn import MONTH_DAYS, churn_frame
    f = churn_frame(_customers(), "2020-06-30").set_index("customer_id")
    assert f["churned"].tolist() == [True, True, False, False]
    assert f["tenure_days"].tolist() == [7 * MONTH_DAYS, 5 * MONTH_DAYS, 12 * MONTH_DAYS, 0.0]
    # half a year earlier the export's tenure is not yet reached: the dates decide (c: 31 Dec 2019 - 30 Jun 2019)
    early = churn_frame(_customers(), "2019-12-31").set_index("customer_id")
    assert early.loc["c", "tenure_days"] == 184 and not early["churned"].any()


def test_comparison_columns_add_demographics_and_attributes_in_words():
    from insight.crm.churn import churn_input
    ci = churn_input(_customers(), "2020-06-30", ["segment", "region"])
    assert ci.has_churn and ci.compare == ["senior", "contract"]          # no segment/region in this export
    assert ci.customers["senior"].tolist() == ["senior citizen", "not senior citizen", "senior citizen", "not senior citizen"]
    assert ci.notes == [("2 churned customers have no churn date but a tenure in months: they are counted as having left "
                         "at signup date + tenure (the end of their tenure).", "info")]
    assert ci.snapshot and "The export says who left but not when" in ci.period_note()   # every churn date from tenure
    dated = _customers().assign(churn_date=pd.to_datetime(["2020-06-30", None, None, None]))
    assert not churn_input(dated, "2020-06-30").snapshot                 # one real date: per period makes sense


def test_churn_categories_rank_like_reasons():
    from insight.crm.churn import churn_reasons
    c = _customers().assign(churn_category=["Price", "Price", None, None])
    r = churn_reasons(c, as_of="2020-06-30", column="churn_category")
    assert r[["churn_category", "customers", "share", "rank"]].values.tolist() == [["Price", 2, 1.0, 1]]


def test_contracts_without_end_dates_are_not_read_as_kept():
    from insight.crm.churn import dated_contracts
    s = pd.DataFrame({"status": ["cancelled", "active", "cancelled"], "end_date": [None, None, "2020-01-31"]})
    kept, note = dated_contracts(s)
    assert len(kept) == 2 and note.startswith("1 of 2 cancelled or expired contracts lack an end date")
    none, note = dated_contracts(s.assign(end_date=None))
    assert none is None and note.startswith("All 2 cancelled or expired contracts lack an end date")


def test_profile_risk_by_hand():
    """Groups x and y: 10 customers each with tenures 1..10 months; in x those at 2 and 4 months churned,
    in y nobody. For the active x customer at 3 months with a horizon of 91 days (2.99 months, so the
    window (3, 5.99]): S_x(3) = S_x(2) = 1 - 1/9 (9 reached month 2, 1 left), S_x(5.99) = S_x(2) x (1 - 1/7)
    (7 reached month 4, 1 left), so 1 - S_x(5.99)/S_x(3) = 1/7. All customers: 18 reached month 2 and
    14 month 4, one leaving each time, so 1/14; lift 2."""
    from insight.crm.churn import profile_risk
    n = 10
    c = pd.DataFrame({"customer_id": [f"x{t}" for t in range(1, n + 1)] + [f"y{t}" for t in range(1, n + 1)],
                      "tenure_months": [float(t) for t in range(1, n + 1)] * 2,
                      "status": ["churned" if t in (2, 4) else "existing" for t in range(1, n + 1)] + ["existing"] * n,
                      "grp": ["x"] * n + ["y"] * n})
    as_of = pd.Timestamp("2020-12-31")
    c["signup_date"] = [as_of - pd.DateOffset(months=int(t)) for t in c["tenure_months"]]
    out = profile_risk(c, as_of, "grp", 91, min_at_risk=1)
    assert "x2" not in out.index and "x4" not in out.index               # churned: not on the list
    x3 = out.loc["x3"]
    assert x3["leave_prob"] == pytest.approx(1 / 7)
    assert x3["leave_prob_all"] == pytest.approx(1 / 14)
    assert x3["lift"] == pytest.approx(2.0)
    assert out.loc["y3", "leave_prob"] == 0
    assert np.isnan(profile_risk(c, as_of, "grp", 91, min_at_risk=9).loc["x3", "lift"])   # 8 reached month 3


# --- sections, the index, the health score, validate --------------------------------------------

def test_needs_text_and_prune():
    from insight.catalog import SectionInfo
    from insight.sections import needs_text, prune
    assert needs_text(["orders"]) == "an orders table"
    assert needs_text(["usage|interactions|survey_responses"]) == "a usage, interactions or survey responses table"
    assert needs_text(["orders", "costs"]) == "orders and costs tables"
    assert SectionInfo("s", "S", ("orders|usage", "costs")).missing({"usage"}) == ["costs"]
    nb = {"cells": [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "study = 'x'"},
                    {"cell_type": "markdown", "metadata": {"tags": ["section:a"]}, "source": "## A"},
                    {"cell_type": "code", "metadata": {"tags": ["section:a"]}, "source": "1/0"},
                    {"cell_type": "code", "metadata": {}, "source": "ok"}]}
    out = prune(nb, [{"id": "a", "title": "A <b>", "note": "needs x & y"}])
    assert [c["cell_type"] for c in out["cells"]] == ["code", "markdown", "code"]
    assert out["cells"][1]["source"] == '## A <b>\n\n<div class="insight-note note-skip">needs x &amp; y</div>\n'
    assert len(nb["cells"]) == 4                                           # the original is untouched


def test_the_catalog_reads_sections_and_rejects_one_without_id(tmp_path):
    from insight.catalog import CatalogError, read_info
    p = tmp_path / "n.ipynb"
    p.write_text(json.dumps({"cells": [], "metadata": {"insight": {"requires": ["customers"], "sections": [
        {"id": "c", "title": "Cohorts", "needs": ["orders"], "shows": "grids"}]}}}), encoding="utf-8")
    info = read_info(p, tmp_path)
    assert info.sections[0].needs == ("orders",) and info.sections[0].shows == "grids"
    p.write_text(json.dumps({"cells": [], "metadata": {"insight": {"sections": [{"title": "x"}]}}}), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"n.ipynb: metadata insight.sections\[0\] needs an `id`"):
        read_info(p, tmp_path)


def test_data_gains_group_reports_and_sections_by_table():
    from insight.index_page import data_gains
    entries = [("cv", {"status": "not applicable", "title": "Customer value", "summary": "RFM", "missing_tables": ["orders"]}),
               ("rc", {"status": "ok", "title": "Retention", "html": "rc.html", "sections_skipped": [
                   {"title": "Cohorts", "needs": ["orders"], "shows": "grids"},
                   {"title": "NRR", "needs": ["subscriptions"], "shows": "revenue"}]})]
    g = data_gains(entries)
    assert [x["table"] for x in g] == ["orders", "subscriptions"]
    assert g[0]["label"] == "an orders table"
    assert [(i["report"], i["section"]) for i in g[0]["entries"]] == [("Customer value", None), ("Retention", "Cohorts")]


def test_the_health_score_says_why_it_cannot_be_computed():
    from insight.config.success import SuccessConfig
    from insight.success.health import MEASURES, score_gap
    cfg = SuccessConfig()
    empty = pd.DataFrame(np.nan, index=["a", "b"], columns=list(MEASURES))
    survey = pd.DataFrame({"respondent_id": ["r1"], "q_csat": [4]})
    msg = score_gap(empty, {"customers": None, "survey_responses": survey}, cfg)
    assert msg.startswith("none of the 2 active customers has any of the measures the score is built from (0% have usage")
    assert "usage trend needs a usage table" in msg and "this survey carries no customer id" in msg
    assert score_gap(empty.assign(engagement=[1.0, np.nan]), {}, cfg) is None


def test_errors_come_before_warnings():
    from insight.params import errors_first
    w = Problem("p.yaml", "hypotheses", "H1 names no dimension", severity="warning")
    e = Problem("data/x.csv", "customers.status", "bad values")
    assert errors_first([w, e, w]) == [e, w, w]
    from insight.data.problems import DataError
    report = DataError([w, e]).report().splitlines()
    assert report[1].startswith("  ERROR data/x.csv") and report[2].startswith("  WARNING p.yaml")

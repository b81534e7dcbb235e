"""Unit checks of the fixes found by rendering the whole report on real exports
(tests/test_real_exports_report.py): analyses meet tables without hypotheses, churn dates,
segments or the optional tables the demo has. Hand-made frames; each expectation worked out by hand."""
from __future__ import annotations

import pandas as pd
import pytest

from insight.crm.purchases import CrmInputError, churn_date


def _customers(**cols):
    base = {"customer_id": ["a", "b", "c"], "signup_date": pd.to_datetime(["2017-01-01"] * 3),
            "status": ["existing", "churned", "existing"]}
    base.update(cols)
    return pd.DataFrame(base)


def test_churned_without_date_and_without_the_column_is_a_clear_error():
    # the Telco export has status churned but no churn_date column at all: the message names the
    # table, column, rows and fix (it used to be a bare KeyError: 'churn_date')
    with pytest.raises(CrmInputError, match=r"table 'customers', column 'churn_date': 1 row\(s\) have status 'churned' "
                                            r"but no churn date \(first rows \[1\]\)\. Fix: fill churn_date"):
        churn_date(_customers())


def test_crosssell_candidates_leave_out_undated_churners():
    from insight.crm.crosssell import candidates
    subs = pd.DataFrame({"customer_id": ["a", "b", "c"], "product_id": ["p", "p", "p"],
                         "start_date": pd.to_datetime(["2017-01-01"] * 3),
                         "end_date": pd.to_datetime(["2018-03-01", "2018-03-01", "2019-01-01"])})
    # as of 2018-01-31 with a 90-day window: a's and b's contracts end on 2018-03-01 (29 days), c's in
    # 2019 (outside); b churned (date unknown), so only a is a renewal candidate
    out = candidates(_customers(), "2018-01-31", subscriptions=subs)
    assert out["customer_id"].tolist() == ["a"]
    assert out["kind"].tolist() == ["renewal"]
    assert "in 29 days" in out["reason"].iloc[0]


def test_verdicts_without_hypotheses_keep_their_columns():
    from insight.synthesis.summary import action_plan, executive_summary
    from insight.synthesis.verdicts import hypothesis_verdicts
    f = pd.DataFrame({"id": ["crm.x"], "hypothesis": [None], "evidence": ["supports"], "source": ["crm"]})
    v = hypothesis_verdicts(f, [], 0.05, 3)
    assert v.empty and {"hypothesis", "verdict", "statement"} <= set(v.columns)
    assert executive_summary(v, [], 6) == []

    class P:  # the params the action plan reads: no agreed actions, no hypotheses
        class synthesis:
            actions = []
            default_owner_due_days = 30

        class study:
            import datetime as _dt
            period = type("Per", (), {"end": _dt.date(2024, 12, 31)})

        questions, hypotheses = [], []

    assert action_plan(P, v).empty


def test_health_validation_gap_names_why():
    from insight.success.health import HealthValidation, validation_gap
    t = pd.Timestamp
    empty = pd.DataFrame()

    def val(n1, n0):
        return HealthValidation(t("2017-08-04"), t("2018-01-31"), empty, float("nan"), float("nan"), float("nan"),
                                n1, n0, empty)

    assert "none of the data the measures are built from" in validation_gap(val(0, 0))
    # 7,043 scored, none churned with a date in 04 Aug 2017 - 31 Jan 2018
    msg = validation_gap(val(0, 7043))
    assert "none of the 7,043 scored customers has a churn date between 04 Aug 2017 and 31 Jan 2018" in msg
    assert "no one who stayed" in validation_gap(val(5, 0))
    assert validation_gap(val(5, 20)) is None


def test_ratings_finding_when_no_product_has_enough_reviews():
    from insight.crm.opinions import ratings_finding
    # two products with 3 and 4 reviews, minimum 10: nothing to rank (it used to raise on an empty idxmin)
    t = pd.DataFrame({"reviews": [3, 4], "mean_rating": [4.0, 2.5], "share_4_5": [1.0, 0.25], "share_1_2": [0.0, 0.5]},
                     index=pd.Index(["p1", "p2"], name="product_id"))
    f = ratings_finding(t, 0.05, 10)
    assert f["statement"] == "No product has 10 or more reviews, so products are not ranked by rating."
    assert f["value"] == 4


def test_loyalty_components_need_linked_survey_answers_with_the_question():
    from insight.crm.loyalty import usable_components
    comps = {"trust": {"source": "survey", "measure": "q_trust", "weight": 0.5},
             "renew": {"source": "survey", "measure": "q_renew", "weight": 0.2},
             "frequency": {"source": "crm", "measure": "order_frequency", "weight": 0.3}}
    has = {"customers", "survey_responses"}.__contains__          # no orders table
    linked = pd.DataFrame({"customer_id": ["a", None], "q_trust": [4, 5]})
    keep, why = usable_components(comps, has, linked)
    assert list(keep) == ["trust"]
    assert why == {"frequency": "the study has no orders table",
                   "renew": "the survey has no question q_renew (params crm.loyalty.renew.measure)"}
    unlinked = pd.DataFrame({"respondent_id": ["r1"], "q_trust": [4], "q_renew": [3]})
    keep, why = usable_components(comps, has, unlinked)
    assert keep == {} and why["trust"].startswith("the survey answers carry no customer id")


def test_quota_summary_when_every_quota_is_met_or_not_recorded():
    from insight.survey.fieldwork import quota_summary
    ok = pd.DataFrame({"dimension": ["segment", "segment"], "value": ["smb", "enterprise"], "fill": [1.0, 0.9],
                       "status": ["on target", "on target"]})
    # it used to format the (empty) lists of groups with :.0% and raise ValueError
    assert quota_summary(ok, 0.67, 1.5) == "Every quota is filled within 67% to 150% of its target."
    none = pd.DataFrame({"dimension": ["region", "customer_status"], "value": ["EU", "existing"],
                         "fill": [float("nan")] * 2, "status": ["no data", "no data"]})
    assert quota_summary(none) == "The survey does not record region, customer status, so the quotas cannot be checked."


def test_undated_churners_mask():
    from insight.crm.purchases import undated_churners
    c = _customers()                                                     # b churned, no churn_date column
    assert undated_churners(c).tolist() == [False, True, False]
    c["churn_date"] = pd.to_datetime([None, "2017-06-30", None])          # b's date now known
    assert not undated_churners(c).any()
    assert not undated_churners(c.drop(columns="status")).any()          # no status: nothing flagged

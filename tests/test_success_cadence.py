"""Review cadence: status rules on a hand-made table, the two-proportion comparison against
hand-computed values, and (once the demo generator exists) the planted missed check-up churn."""
from __future__ import annotations

import pandas as pd
import pytest

from insight.success import cadence as C
from insight.success._common import SuccessDataError, compare_rates, evidence_for

WINDOWS = {"initial_assessment": (0, 14), "implementation_checkup": (21, 45),
           "six_month_update": (150, 210), "renewal_review": (330, 365)}
AS_OF = "2024-12-31"


def hand_customers():
    return pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e", "p"],
        "signup_date": pd.to_datetime(["2023-01-01", "2023-01-01", "2024-11-01", "2023-06-01", "2024-01-01", "2023-01-01"]),
        "churn_date": pd.to_datetime([None, "2023-12-01", None, "2023-07-01", None, None]),
        "status": ["existing", "churned", "existing", "churned", "existing", "prospect"],
        "segment": ["smb", "smb", "enterprise", "enterprise", "smb", "smb"],
        "owner": ["ann", "ann", "bob", "bob", "bob", "ann"],
    })


def hand_interactions():
    rows = [
        ("a", "2023-01-05", "initial_assessment"),       # day 4: on time
        ("a", "2023-02-01", "implementation_checkup"),   # day 31: on time
        ("a", "2023-06-20", "six_month_update"),         # day 170: on time
        ("a", "2024-01-20", "renewal_review"),           # day 384 > 365: late
        ("b", "2023-03-15", "implementation_checkup"),   # day 73: late; no initial assessment: missed
        ("c", "2024-11-03", "initial_assessment"),       # day 2: on time; check-up window ends 2024-12-16: due, missed
        ("d", "2023-06-02", "initial_assessment"),       # churned 2023-07-01 (day 30) before the check-up window ended: not due
        ("e", "2024-01-10", "implementation_checkup"),   # day 9: early; and a second one in the window -> on time
        ("e", "2024-02-01", "implementation_checkup"),   # day 31
        ("e", "2024-01-02", "consultation"),
    ]
    df = pd.DataFrame(rows, columns=["customer_id", "date", "type"])
    df["date"] = pd.to_datetime(df["date"])
    return df


def test_status_rules():
    st = C.cadence_status(hand_customers(), hand_interactions(), WINDOWS, AS_OF)
    s = st.set_index(["customer_id", "step"])["status"]
    assert "p" not in set(st["customer_id"])                         # prospects are not customers
    assert s[("a", "initial_assessment")] == "on_time"
    assert s[("a", "implementation_checkup")] == "on_time"
    assert s[("a", "six_month_update")] == "on_time"
    assert s[("a", "renewal_review")] == "late"
    assert s[("b", "initial_assessment")] == "missed"
    assert s[("b", "implementation_checkup")] == "late"
    assert s[("b", "six_month_update")] == "missed"
    assert s[("b", "renewal_review")] == "not_due"                   # churned on day 334, before day 365
    assert s[("c", "initial_assessment")] == "on_time"
    assert s[("c", "implementation_checkup")] == "missed"
    assert s[("c", "six_month_update")] == "not_due"                 # window not over by the as-of date
    assert s[("d", "initial_assessment")] == "on_time"
    assert s[("d", "implementation_checkup")] == "not_due"           # churned on day 30
    assert s[("e", "initial_assessment")] == "missed"
    assert s[("e", "implementation_checkup")] == "on_time"           # one early, one in the window

    cc = C.customer_cadence(hand_customers(), st).set_index("customer_id")
    assert cc.loc["a", "n_due"] == 4 and cc.loc["a", "n_on_time"] == 3 and cc.loc["a", "compliance"] == 0.75
    assert cc.loc["b", "missed_checkup"] and not cc.loc["a", "missed_checkup"]
    assert pd.isna(cc.loc["d", "missed_checkup"])
    # check-up due for a b c e: missed by b (late) and c
    comp = C.checkup_churn(cc.reset_index())
    assert (comp.n_focus, comp.events_focus, comp.n_reference, comp.events_reference) == (2, 1, 2, 0)

    by_owner = C.compliance_by(cc.reset_index(), st, "owner")
    # ann: a (3 of 4) + b (0 of 3) = 3 of 7;
    # bob: c (1 of 2) + d (1 of 1) + e (1 of 4: the one-year window ends 2024-12-31, day 365) = 3 of 7
    assert by_owner.loc["ann", "all reviews"] == pytest.approx(3 / 7)
    assert by_owner.loc["bob", "all reviews"] == pytest.approx(3 / 7)
    assert by_owner.loc["ann", "reviews due"] == 7

    summ = C.step_summary(st)
    assert summ.loc["One-month check-up", "due"] == 4
    assert summ.loc["One-month check-up", "on_time"] == pytest.approx(0.5)


def test_coverage_excludes_reviews_before_the_data():
    it = hand_interactions()
    it = it[it["date"] >= "2023-03-01"]          # the export starts in March 2023
    st = C.cadence_status(hand_customers(), it, WINDOWS, AS_OF).set_index(["customer_id", "step"])["status"]
    assert st[("a", "initial_assessment")] == "not_due"   # its window (January 2023) is before the data
    assert st[("a", "six_month_update")] == "on_time"


def test_compare_rates_reference():
    # 2x2: focus 30 events of 100, reference 10 of 100.
    # Hand: pooled p = 0.2, z = 0.2 / sqrt(0.2*0.8*(2/100)) = 3.5355, chi2 = z^2 = 12.5;
    # RR = 0.3/0.1 = 3; SE(log RR) = sqrt(1/30 - 1/100 + 1/10 - 1/100) = 0.33665;
    # CI = exp(ln 3 -/+ 1.96*0.33665) = 1.5508 .. 5.8033 (Katz log method)
    flag = pd.Series([True] * 100 + [False] * 100)
    event = pd.Series([True] * 30 + [False] * 70 + [True] * 10 + [False] * 90)
    c = compare_rates(flag, event)
    assert c.chi2 == pytest.approx(12.5)
    assert c.p_value == pytest.approx(4.07e-4, rel=1e-2)       # P(chi2_1 > 12.5)
    assert c.risk_ratio == pytest.approx(3.0)
    assert (c.ci_low, c.ci_high) == (pytest.approx(1.5508, abs=1e-4), pytest.approx(5.8033, abs=1e-4))
    assert evidence_for(c, "higher", 0.05) == "supports"
    assert evidence_for(c, "lower", 0.05) == "contradicts"
    assert evidence_for(c, "no_difference", 0.05) == "contradicts"
    # not significant: no equivalence margin for two rates, so the shared rule says inconclusive
    flat = compare_rates(pd.Series([True] * 10 + [False] * 10), pd.Series([True, False] * 10))
    assert evidence_for(flat, "higher", 0.05) == "inconclusive"
    assert evidence_for(flat, "no_difference", 0.05) == "inconclusive"


def test_missing_interaction_column():
    with pytest.raises(SuccessDataError, match="interactions.*'type'"):
        C.cadence_status(hand_customers(), hand_interactions().drop(columns="type"), WINDOWS, AS_OF)


def test_unknown_step():
    with pytest.raises(SuccessDataError, match="unknown cadence steps"):
        C.cadence_status(hand_customers(), hand_interactions(), {"quarterly_call": (80, 100)}, AS_OF)


def test_as_of_ignores_later_data():
    # seen from 2023-12-31: c (signed up Nov 2024) is not a customer yet; b churned 2023-12-01 (kept);
    # a's renewal review (Jan 2024) has not happened yet -> its window (to 2023-12-31, day 364) ... missed
    cust = hand_customers()
    st = C.cadence_status(cust, hand_interactions(), WINDOWS, "2023-12-31")
    assert "c" not in set(st["customer_id"]) and "e" not in set(st["customer_id"])
    s = st.set_index(["customer_id", "step"])["status"]
    assert s[("a", "renewal_review")] == "not_due"                  # day 365 is 2024-01-01, after as_of
    cc = C.customer_cadence(cust, st, as_of="2023-12-31").set_index("customer_id")
    assert cc.loc["b", "churned"] and not cc.loc["a", "churned"]
    cust.loc[cust["customer_id"] == "a", ["status", "churn_date"]] = ["churned", pd.Timestamp("2024-03-01")]
    cc = C.customer_cadence(cust, st, as_of="2023-12-31").set_index("customer_id")
    assert not cc.loc["a", "churned"]                               # churned after the as-of date


def test_compliance_by_unknown_attribute():
    st = C.cadence_status(hand_customers(), hand_interactions(), WINDOWS, AS_OF)
    cc = C.customer_cadence(hand_customers(), st)
    with pytest.raises(SuccessDataError, match="customers.*'csm_team'.*Fix"):
        C.compliance_by(cc, st, "csm_team")


def test_compliance_chi_square_reference():
    # owners x on time: x 30 of 40 on time, y 20 of 40. Hand: expected 25/15 per cell,
    # chi2 = 2 * (25/25 + 25/15) = 2 * (1 + 1.6667) = 5.3333 (no continuity correction)
    status = pd.DataFrame({"customer_id": [f"c{i}" for i in range(80)], "due": True,
                           "on_time": pd.array([True] * 30 + [False] * 10 + [True] * 20 + [False] * 20, dtype="boolean")})
    cust = pd.DataFrame({"customer_id": [f"c{i}" for i in range(80)], "owner": ["x"] * 40 + ["y"] * 40})
    t = C.compliance_test(cust, status, "owner")
    assert t["chi2"] == pytest.approx(16 / 3) and t["n"] == 80
    assert "differ by owner" in C.compliance_note(t, "owner", 0.05)


def test_first_renewal_from_subscriptions():
    """The renewal date of the first contract; one two years out is rolled back to its first anniversary
    (2025-03-01 - 1 calendar year = 2024-03-01, the leap day kept); contracts before signup are ignored."""
    subs = pd.DataFrame({
        "customer_id": ["a", "a", "b", "e", "x"],
        "start_date": pd.to_datetime(["2023-03-01", "2023-06-01", "2023-01-01", "2022-12-01", "2023-01-01"]),
        "renewal_date": pd.to_datetime(["2025-03-01", "2024-06-01", "2024-01-01", "2023-12-01", "2024-01-01"]),
    })
    r = C.first_renewals(subs, hand_customers())
    assert r.to_dict() == {"a": pd.Timestamp("2024-03-01"), "b": pd.Timestamp("2024-01-01")}   # e: before signup
    assert C.first_renewals(subs.drop(columns="renewal_date"), hand_customers()).empty
    assert C.first_renewals(None, hand_customers()).empty


def test_renewal_review_timed_from_the_renewal_date():
    """a signed up 2023-01-01; the one-year review on 2024-01-20 (day 384) is late against signup's
    window [330, 365], but on time when a's contract renews on 2024-02-01 (day 396): the window moves
    by 396 - 365 = 31 days to [361, 396]. Customers without a renewal date keep the signup window."""
    renewals = pd.Series({"a": pd.Timestamp("2024-02-01")})
    st = C.cadence_status(hand_customers(), hand_interactions(), WINDOWS, AS_OF, renewals=renewals)
    st = st.set_index(["customer_id", "step"])
    assert st.loc[("a", "renewal_review"), "status"] == "on_time"
    assert (st.loc[("a", "renewal_review"), "lo"], st.loc[("a", "renewal_review"), "hi"]) == (361, 396)
    assert st.loc[("a", "six_month_update"), "status"] == "on_time"          # other steps unchanged
    assert st.loc[("e", "renewal_review"), "status"] == C.cadence_status(
        hand_customers(), hand_interactions(), WINDOWS, AS_OF).set_index(["customer_id", "step"]).loc[("e", "renewal_review"), "status"]
    # a renewal in the future: the review is not due yet
    later = C.cadence_status(hand_customers(), hand_interactions(), WINDOWS, AS_OF,
                             renewals=pd.Series({"a": pd.Timestamp("2025-06-01")})).set_index(["customer_id", "step"])
    assert later.loc[("a", "renewal_review"), "status"] == "not_due"


def test_renewal_by_compliance_uses_the_renewal_date():
    """b churned 2023-12-01: not renewed at the signup anniversary (2024-01-01 counted from signup +
    365 days), but renewed when its contract's renewal date was 2023-11-01 (churn after it)."""
    st = C.cadence_status(hand_customers(), hand_interactions(), WINDOWS, AS_OF)
    per = C.customer_cadence(hand_customers(), st, as_of=AS_OF)
    per = per.assign(**{f"{s}_status": "late" for s in ("initial_assessment", "implementation_checkup", "six_month_update")})
    base = C.renewal_by_compliance(per, AS_OF)
    moved = C.renewal_by_compliance(per, AS_OF, renewals=pd.Series({"b": pd.Timestamp("2023-11-01")}))
    assert base["renewed"].sum() + 1 == moved["renewed"].sum()

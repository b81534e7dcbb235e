"""Education: use per channel, churn of users against non-users (hand-counted), adoption, the
exposure window; (once the demo generator exists) the planted academy retention."""
from __future__ import annotations

import pandas as pd
import pytest

from insight.success import education as E

CH = ["webinar", "documentation", "academy"]


def tables():
    cust = pd.DataFrame({
        "customer_id": list("abcdef"), "status": ["existing", "churned", "existing", "churned", "churned", "prospect"],
        "signup_date": pd.to_datetime(["2024-01-01"] * 6),
        "churn_date": pd.to_datetime([None, "2024-03-01", None, "2024-09-01", "2024-10-01", None]),
        "segment": ["smb", "smb", "enterprise", "enterprise", "smb", "smb"]})
    inter = pd.DataFrame({
        "customer_id": ["a", "a", "b", "c", "d", "d", "f"],
        "date": pd.to_datetime(["2024-01-10", "2024-06-01", "2024-02-01", "2024-05-01", "2024-01-20", "2024-01-25", "2024-01-05"]),
        "type": ["education", "education", "education", "education", "education", "complaint", "education"],
        "channel": ["academy", "webinar", "academy", "event", "webinar", "phone", "academy"]})
    return cust, inter


def test_use_and_churn_hand():
    cust, inter = tables()
    edu = E.education_use(cust, inter, CH).set_index("customer_id")
    assert "f" not in edu.index                                      # prospects are not customers
    assert edu.loc["a", "edu_academy"] == 1 and edu.loc["a", "edu_webinar"] == 1
    assert edu.loc["c", "used_other"] and not edu.loc["e", "used_any"]
    assert edu.loc["d", "edu_webinar"] == 1                          # the complaint is not education
    t, comps = E.churn_by_channel(edu.reset_index(), CH)
    # academy users a (stays), b (churned): 1/2; non-users c d e: d, e churned: 2/3; RR = 0.5 / 0.667 = 0.75
    assert t.loc["academy", "churn (users)"] == 0.5
    assert t.loc["academy", "churn (non-users)"] == pytest.approx(2 / 3)
    assert t.loc["academy", "risk ratio"] == pytest.approx(0.75)
    # any education: a b c d (b d churned) = 1/2; e only non-user, churned = 1/1
    assert t.loc["any education", "churn (users)"] == 0.5 and t.loc["any education", "non-users"] == 1
    s = E.use_summary(edu.reset_index(), CH)
    assert s.loc["academy", "customers who used it"] == 2 and s.loc["any education", "share of customers"] == 0.8


def test_landmark():
    cust, inter = tables()
    # landmark 2024-04-01: b churned before it (left out); only use before it counts;
    # churned = churned after it: d (Sep) and e (Oct)
    edu = E.education_use(cust, inter, CH, landmark="2024-04-01", as_of="2024-12-31").set_index("customer_id")
    assert sorted(edu.index) == ["a", "c", "d", "e"]
    assert edu.loc["a", "used_academy"] and not edu.loc["a", "used_webinar"]     # the June webinar is after it
    assert not edu.loc["c", "used_any"]                                          # May: after the landmark
    assert edu["churned"].to_dict() == {"a": False, "c": False, "d": True, "e": True}
    # churn only up to as_of: with as_of 2024-09-15 e's October churn is outside the follow-up
    edu2 = E.education_use(cust, inter, CH, landmark="2024-04-01", as_of="2024-09-15").set_index("customer_id")
    assert edu2.loc["d", "churned"] and not edu2.loc["e", "churned"]


def test_adoption_mann_whitney():
    usage = pd.DataFrame({"customer_id": ["a", "a", "b", "c", "d", "e"],
                          "month": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01", "2024-01-01", "2024-01-01", "2024-01-01"]),
                          "feature": ["x", "y", "x", "x", "x", "x"], "active_users": [5, 5, 8, 1, 2, 3]})
    ad = E.adoption(usage)
    assert ad.loc["a", "mean monthly active users"] == 10 and ad.loc["a", "features used"] == 2
    cust, inter = tables()
    edu = E.education_use(cust, inter, CH)
    t = E.adoption_by_channel(edu, ad, CH)
    row = t.loc[("academy", "mean monthly active users")]
    # users a (10), b (8) vs c d e (1, 2, 3): every pair favours users -> U = 6 of 6, r = 1
    assert row["rank-biserial r"] == 1 and row["median (users)"] == 9

"""Year over year: when a study names its previous study, what changed — NPS with the interval of the
difference, churn rate with a two-proportion test, and the themes that appeared or faded."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from insight.stats import nps_difference


def nps_change(current: pd.Series, previous: pd.Series, confidence: float = 0.95) -> dict:
    """NPS now minus NPS before, in points, with its adjusted-Wald interval and p-value."""
    return nps_difference(current, previous, confidence=confidence)


def churn_rate(customers: pd.DataFrame, start: dt.date, end: dt.date) -> tuple[int, int]:
    """(churned in [start, end], customers active at start): logo churn of the period."""
    signup = pd.to_datetime(customers["signup_date"])
    churn = pd.to_datetime(customers["churn_date"]) if "churn_date" in customers else pd.Series(pd.NaT, index=customers.index)
    s, e = pd.Timestamp(start), pd.Timestamp(end)
    if "status" in customers:
        is_customer = customers["status"].isin(["existing", "churned"])
    else:
        is_customer = pd.Series(True, index=customers.index)
    active = is_customer & (signup < s) & (churn.isna() | (churn >= s))
    churned = active & churn.notna() & (churn <= e)
    return int(churned.sum()), int(active.sum())


def churn_change(customers: pd.DataFrame, current: tuple[dt.date, dt.date], previous: tuple[dt.date, dt.date]) -> dict:
    """Churn rate of the current period against the previous one: difference with Newcombe's interval
    and a two-proportion z-test."""
    c1, n1 = churn_rate(customers, *current)
    c0, n0 = churn_rate(customers, *previous)
    if n1 == 0 or n0 == 0:
        raise ValueError("no customers active at the start of one of the periods: churn rates cannot be compared")
    lo, hi = confint_proportions_2indep(c1, n1, c0, n0, method="newcomb", compare="diff")
    z, p = proportions_ztest([c1, c0], [n1, n0])
    return {"rate_now": c1 / n1, "rate_before": c0 / n0, "difference": c1 / n1 - c0 / n0, "ci_low": float(lo),
            "ci_high": float(hi), "z": float(z), "p_value": float(p), "churned_now": c1, "base_now": n1,
            "churned_before": c0, "base_before": n0}


def theme_shift(now: pd.DataFrame, before: pd.DataFrame, min_change: float = 0.10) -> pd.DataFrame:
    """Share of participants voicing each code now and before; codes that appeared, faded, rose or fell.
    Inputs are coded segments (participant_id, code)."""
    def shares(cs: pd.DataFrame) -> pd.Series:
        if cs.empty:
            return pd.Series(dtype=float)
        people = cs["participant_id"].nunique()
        return cs.drop_duplicates(["participant_id", "code"]).groupby("code")["participant_id"].nunique() / people

    a, b = shares(now), shares(before)
    t = pd.DataFrame({"share_now": a, "share_before": b}).fillna(0.0)
    t["change"] = t["share_now"] - t["share_before"]
    t["trend"] = np.select(
        [(t["share_before"] == 0) & (t["share_now"] > 0), (t["share_now"] == 0) & (t["share_before"] > 0),
         t["change"] >= min_change, t["change"] <= -min_change],
        ["appeared", "faded", "rose", "fell"], default="stable")
    return t.sort_values("change", ascending=False)

"""Shared helpers of the success analyses: input checks with a clear fix, churn flags, and the
two-group comparison of a proportion (risk ratio with CI, chi-square) used by several notebooks."""
from __future__ import annotations

from dataclasses import dataclass, asdict

import numpy as np
import pandas as pd

from insight.checks import InputError, require_columns
from insight.checks import as_dates as _as_dates
from insight.speedups import positions


class SuccessDataError(InputError):
    """Bad input for a success / journey analysis: names the table, column, rows and the fix."""


def require(df: pd.DataFrame, table: str, columns, fix: str | None = None) -> None:
    """Raise SuccessDataError when `df` lacks any of `columns` (insight.checks.require_columns)."""
    require_columns(df, table, columns, fix=fix, error=SuccessDataError)


def as_dates(df: pd.DataFrame, table: str, column: str, *, nullable: bool = True) -> pd.Series:
    """A column as datetime64[ns]; unparseable values raise naming the rows (insight.checks.as_dates)."""
    out = _as_dates(df, table, column, nullable=nullable, error=SuccessDataError)
    return out.astype("datetime64[ns]") if out.dtype != "datetime64[ns]" else out


def customer_base(customers: pd.DataFrame, as_of=None) -> pd.DataFrame:
    """Accounts that are (or were) customers: status existing or churned, with signup date,
    churn date (NaT when none) and a boolean `churned`.

    as_of: the date the analysis looks from (a study's period end). Customers who signed up
    after it are left out, and a churn after it has not happened yet (the data may run past the
    study period, e.g. last year's study re-run on this year's export)."""
    require(customers, "customers", ["customer_id", "signup_date", "status"])
    c = customers[customers["status"].isin(["existing", "churned"])].copy()
    c["signup_date"] = as_dates(c, "customers", "signup_date", nullable=False)
    if "churn_date" in c.columns:
        c["churn_date"] = as_dates(c, "customers", "churn_date")
    else:
        c["churn_date"] = pd.Series(pd.NaT, index=c.index, dtype="datetime64[ns]")
    c["churned"] = (c["status"] == "churned") | c["churn_date"].notna()
    if as_of is not None:
        as_of = pd.Timestamp(as_of)
        c = c[c["signup_date"] <= as_of].copy()
        later = c["churn_date"] > as_of
        c.loc[later, "churn_date"] = pd.NaT
        c.loc[later, "churned"] = False
    return c.set_index("customer_id", drop=False).rename_axis(None)


def reindex_on(s: "pd.Series | pd.DataFrame", index: pd.Index, fill_value=None) -> "pd.Series | pd.DataFrame":
    """`s.reindex(index, fill_value=fill_value)` (s's index unique), the labels matched by
    speedups.positions: pandas' reindex on a text index costs 0.2-0.5 s a call at 500,000 customers."""
    at = positions(index, s.index)
    if (at >= 0).all():
        out = s.iloc[at]
    elif isinstance(s, pd.Series) and s.dtype.kind == "f" and fill_value is None:
        vals = s.to_numpy()[np.maximum(at, 0)] if len(s) else np.zeros(len(at))
        out = pd.Series(np.where(at >= 0, vals, np.nan).astype(s.dtype), name=s.name)
    else:
        return s.reindex(index, fill_value=fill_value)
    return out.set_axis(index)


def counts_on(keys: pd.Series, index: pd.Index, where: np.ndarray) -> list[pd.Series]:
    """For each boolean mask in `where` (rows of `keys`), how often each label of `index` occurs in
    keys[mask], as float (0 for none): `keys[mask].groupby(keys[mask]).size().reindex(index,
    fill_value=0).astype(float)`, the keys matched by position once."""
    at = positions(keys, index)
    return [pd.Series(np.bincount(at[(at >= 0) & m], minlength=len(index)).astype(float), index=index)
            for m in where]


@dataclass
class Comparison:
    """A proportion in a focus group against a reference group."""
    focus: str
    reference: str
    n_focus: int
    n_reference: int
    events_focus: int
    events_reference: int
    rate_focus: float
    rate_reference: float
    risk_ratio: float
    ci_low: float
    ci_high: float
    chi2: float
    p_value: float
    test: str

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def base(self) -> int:
        return self.n_focus + self.n_reference


def compare_rates(flag: pd.Series, event: pd.Series, focus: str = "yes", reference: str = "no") -> Comparison:
    """Compare the rate of `event` (bool) where `flag` is True (focus) against False (reference):
    compare_counts on the four counts."""
    ok = flag.notna() & event.notna()
    f = flag[ok].astype(bool)
    e = event[ok].astype(bool)
    return compare_counts(int((f & e).sum()), int(f.sum()), int((~f & e).sum()), int((~f).sum()), focus, reference)


def compare_counts(a: int, n1: int, c: int, n0: int, focus: str = "yes", reference: str = "no") -> Comparison:
    """`a` events among `n1` in the focus group against `c` among `n0` in the reference group.

    Pearson chi-square without continuity correction (equal to the two-proportion z-test
    squared) and the risk ratio focus/reference with its 95% CI (Katz log method), both from
    scipy / statsmodels."""
    from scipy.stats import chi2_contingency
    from statsmodels.stats.contingency_tables import Table2x2

    a, n1, c, n0 = int(a), int(n1), int(c), int(n0)
    b, d = n1 - a, n0 - c
    r1 = a / n1 if n1 else float("nan")
    r0 = c / n0 if n0 else float("nan")
    rr = lo = hi = chi2 = p = float("nan")
    if n1 and n0 and (a + c) and (b + d):
        chi2, p, _, _ = chi2_contingency(np.array([[a, b], [c, d]]), correction=False)
        if a and c:
            t = Table2x2(np.array([[a, b], [c, d]], dtype=float))
            rr = float(t.riskratio)
            lo, hi = (float(x) for x in t.riskratio_confint())
        else:
            rr = (r1 / r0) if r0 else float("inf")
    return Comparison(focus, reference, n1, n0, a, c, r1, r0, rr, lo, hi, float(chi2), float(p),
                      "Pearson chi-square (two proportions)")


def evidence_for(comp: Comparison, expected: str, alpha: float) -> str:
    """supports / contradicts / inconclusive for a hypothesis expecting the focus rate higher /
    lower / different / no_difference: insight.stats.evidence_from on the two-proportion test (no
    equivalence margin here, so a non-significant result is inconclusive)."""
    from insight.stats import evidence_from

    if not np.isfinite(comp.p_value):
        return "inconclusive"
    direction = ("higher" if comp.rate_focus > comp.rate_reference else
                 "lower" if comp.rate_focus < comp.rate_reference else "none")
    return evidence_from(expected, direction, comp.p_value < alpha)


def pct(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.0%}"

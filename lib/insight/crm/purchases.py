"""Shared building blocks of the CRM analyses (issue 8): input checks with clear errors, clean
purchases (returns and cancellations out), customer transactions, periods, proportions with CIs.

Everything is vectorised pandas: the benchmark scales the demo to a million orders.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from insight.checks import InputError, require_columns
from insight.checks import as_dates as _as_dates
from insight.speedups import isin


class CrmInputError(InputError):
    """Bad input to a CRM analysis: names the table, the column, example rows and the fix."""


def require(df: pd.DataFrame, table: str, columns: Iterable[str], why: str = "") -> None:
    """Raise CrmInputError when `df` lacks any of `columns` (insight.checks.require_columns)."""
    require_columns(df, table, columns, purpose=why, error=CrmInputError)


def _bad_rows(df: pd.DataFrame, mask: pd.Series, table: str, column: str, problem: str, fix: str) -> None:
    if mask.any():
        rows = list(df.index[mask.to_numpy()][:5])
        values = f", values {list(df.loc[mask, column].head(5))}" if column in df.columns else ""  # the column may be absent
        raise CrmInputError(
            f"table {table!r}, column {column!r}: {int(mask.sum()):,} row(s) {problem} "
            f"(first rows {rows}{values}). Fix: {fix}")


def as_dates(df: pd.DataFrame, table: str, column: str) -> pd.Series:
    """The column as datetime64; unparseable values raise with the rows named (insight.checks.as_dates)."""
    return _as_dates(df, table, column, error=CrmInputError)


def as_numbers(df: pd.DataFrame, table: str, column: str) -> pd.Series:
    s = df[column]
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.astype(float)
    out = pd.to_numeric(s, errors="coerce")
    _bad_rows(df, out.isna() & s.notna(), table, column, "are not numbers", "write plain numbers (no currency signs)")
    return out.astype(float)


def return_mask(orders: pd.DataFrame) -> pd.Series:
    """Rows that are returns or cancellations: is_return when the table has it, else negative
    quantity or revenue (the Online Retail convention: 'C' invoices carry negative quantities)."""
    neg = pd.Series(False, index=orders.index)
    if "quantity" in orders:
        neg |= as_numbers(orders, "orders", "quantity").fillna(0) < 0
    if "revenue" in orders:
        neg |= as_numbers(orders, "orders", "revenue").fillna(0) < 0
    if "is_return" in orders:
        flag = orders["is_return"]
        if not pd.api.types.is_bool_dtype(flag):
            flag = flag.map({True: True, False: False, 1: True, 0: False, "true": True, "false": False,
                             "True": True, "False": False}).astype("boolean")
        neg |= flag.fillna(False).astype(bool)
    return neg


def purchases(orders: pd.DataFrame, customers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Order lines that are purchases: returns/cancellations and rows without a customer dropped,
    order_date as datetime, revenue as float. Optionally restricted to known customers."""
    require(orders, "orders", ["order_id", "customer_id", "order_date", "revenue"], "purchases")
    o = orders.loc[~return_mask(orders)].copy()
    o = o.loc[o["customer_id"].notna()]
    o["order_date"] = as_dates(o, "orders", "order_date")
    o["revenue"] = as_numbers(o, "orders", "revenue")
    o = o.loc[o["order_date"].notna()]
    if customers is not None:
        o = o.loc[isin(o["customer_id"], customers["customer_id"])]
    return o


def transactions(orders: pd.DataFrame) -> pd.DataFrame:
    """One row per customer and purchase day (several orders the same day are one transaction,
    as in the BG/NBD literature): customer_id, date, revenue, orders."""
    o = purchases(orders)
    o["date"] = o["order_date"].dt.normalize()
    return (o.groupby(["customer_id", "date"], observed=True, sort=True)
             .agg(revenue=("revenue", "sum"), orders=("order_id", "nunique"))
             .reset_index())


def to_period(dates: pd.Series, grain: str) -> pd.Series:
    """Dates as pandas Periods: M month, Q quarter, Y year."""
    freq = {"M": "M", "Q": "Q", "Y": "Y", "W": "W"}[grain]
    return dates.dt.to_period(freq)


def period_number(dates: pd.Series, grain: str) -> pd.Series:
    """Dates as consecutive integers per period (month: year*12+month-1, quarter: year*4+q-1,
    year: year), so that the difference of two numbers is the number of periods between them."""
    y = dates.dt.year
    if grain == "M":
        return y * 12 + dates.dt.month - 1
    if grain == "Q":
        return y * 4 + dates.dt.quarter - 1
    if grain == "Y":
        return y.astype("Int64") if y.isna().any() else y
    raise ValueError(f"grain must be M, Q or Y, not {grain!r}")


def period_name(number: int, grain: str) -> str:
    """The label of a period number from period_number: 2024-03, 2024Q1, 2024."""
    number = int(number)
    if grain == "M":
        return f"{number // 12}-{number % 12 + 1:02d}"
    if grain == "Q":
        return f"{number // 4}Q{number % 4 + 1}"
    return str(number)


def churn_date(customers: pd.DataFrame, undated_churn: str = "error") -> pd.Series:
    """The customer's churn date: churn_date, or NaT. A churned status without a date is an error,
    unless undated_churn="keep" (analyses that never use the date, e.g. the loyalty index: many
    exports flag churn without saying when)."""
    if "churn_date" in customers:
        cd = as_dates(customers, "customers", "churn_date")
    else:
        cd = pd.Series(pd.NaT, index=customers.index, dtype="datetime64[ns]")
    cd = cd.fillna(tenure_churn_dates(customers))
    if "status" in customers and undated_churn != "keep":
        bad = (customers["status"] == "churned") & cd.isna()
        if bad.any():
            _bad_rows(customers, bad, "customers", "churn_date", "have status 'churned' but no churn date",
                      "fill churn_date for churned customers (the day the contract ended)")
    return cd


def tenure_churn_dates(customers: pd.DataFrame) -> pd.Series:
    """Churn dates of churned customers without one, from signup_date + tenure_months (an export that
    flags churn and says how many months the customer stayed, e.g. the IBM Telco sample): NaT elsewhere."""
    out = pd.Series(pd.NaT, index=customers.index, dtype="datetime64[ns]")
    if not {"status", "tenure_months", "signup_date"} <= set(customers.columns):
        return out
    given = customers["churn_date"].notna() if "churn_date" in customers else pd.Series(False, index=customers.index)
    signup = pd.to_datetime(customers["signup_date"], errors="coerce")
    months = pd.to_numeric(customers["tenure_months"], errors="coerce").round()
    rows = (customers["status"].eq("churned").fillna(False).astype(bool) & ~given & signup.notna() & months.notna())
    if not rows.any():
        return out
    s, m = signup[rows], months[rows].astype(int)
    total = s.dt.year * 12 + s.dt.month - 1 + m
    first = pd.to_datetime(pd.DataFrame({"year": total // 12, "month": total % 12 + 1, "day": 1}))
    day = np.minimum(s.dt.day, first.dt.days_in_month)   # 31 Jan + 1 month = 28/29 Feb
    out[rows] = (first + pd.to_timedelta(day - 1, unit="D")).to_numpy()
    return out


def undated_churners(customers: pd.DataFrame) -> pd.Series:
    """Boolean mask: customers marked churned (status) without a churn date. Many exports flag churn
    without saying when; analyses that need the date leave them out and say so."""
    if "status" not in customers:
        return pd.Series(False, index=customers.index)
    cd = customers["churn_date"] if "churn_date" in customers else pd.Series(pd.NaT, index=customers.index)
    cd = cd.fillna(tenure_churn_dates(customers))
    return customers["status"].eq("churned").fillna(False).astype(bool) & cd.isna()


def account_customers(customers: pd.DataFrame, undated_churn: str = "error") -> pd.DataFrame:
    """Customers who have (had) an account: prospects and competitors' customers left out.
    undated_churn: "error" (default) or "keep" churned customers without a churn date (see churn_date)."""
    require(customers, "customers", ["customer_id", "signup_date"], "customer analyses")
    # one selection of the rows kept (each one copies every column: 16 at the benchmark, most of them
    # text), and none where every row is kept (a shallow copy: the columns set below are its own)
    keep = None
    if "status" in customers:
        keep = (customers["status"].isin(["existing", "churned"]) | customers["status"].isna()).to_numpy(dtype=bool)
    c = customers.loc[keep] if keep is not None and not keep.all() else customers.copy(deep=False)
    c["signup_date"] = as_dates(c, "customers", "signup_date")
    c["churn_date"] = churn_date(c, undated_churn)
    dated = c["signup_date"].notna()
    return c if dated.all() else c.loc[dated]


def attach(customers: pd.DataFrame, by: str | pd.DataFrame | pd.Series) -> tuple[pd.DataFrame, str]:
    """Customers with a grouping attribute: a customers column name, or any per-customer attribute
    given as a Series indexed by customer_id or a DataFrame with customer_id and one more column."""
    if isinstance(by, str):
        require(customers, "customers", [by], f"a comparison by {by}")
        return customers, by
    if isinstance(by, pd.Series):
        name = by.name or "group"
        frame = by.rename(name).rename_axis("customer_id").reset_index()
    else:
        require(by, "attribute", ["customer_id"])
        others = [c for c in by.columns if c != "customer_id"]
        if len(others) != 1:
            raise CrmInputError(f"an attribute table needs customer_id and exactly one other column; got {list(by.columns)}")
        name, frame = others[0], by
    if frame["customer_id"].duplicated().any():
        raise CrmInputError(f"attribute {name!r} has several rows for some customers; give one value per customer_id")
    out = customers.drop(columns=[name], errors="ignore").merge(frame[["customer_id", name]], on="customer_id", how="left")
    return out, name


def chi_square_note(attrs: dict) -> str | None:
    """'chi-square p = 0.012, Cramér's V 0.14 (95% CI 0.05 to 0.21)' for a proportion_table's
    .attrs; None when no test was possible."""
    if attrs.get("p_value") is None:
        return None
    from insight.display import p_label
    lo, hi = attrs.get("cramers_v_ci") or (float("nan"), float("nan"))
    ci = f" (95% CI {lo:.2f} to {hi:.2f})" if lo == lo and hi == hi else ""
    return f"chi-square p {p_label(attrs['p_value'])}, Cramér's V {attrs['cramers_v']:.2f}{ci}"


def proportion_table(df: pd.DataFrame, group: str, flag: str, alpha: float = 0.05) -> pd.DataFrame:
    """Per group: n, count of flag, share, Wilson CI; plus the chi-square test across groups in .attrs."""
    from statsmodels.stats.proportion import proportion_confint
    from scipy.stats import chi2_contingency

    d = df.loc[df[group].notna()]
    g = d.groupby(group, observed=True)[flag].agg(["size", "sum"])
    g.columns = ["customers", "count"]
    g["count"] = g["count"].astype(int)
    g["share"] = g["count"] / g["customers"]
    lo, hi = proportion_confint(g["count"], g["customers"], alpha=alpha, method="wilson")
    g["ci_low"], g["ci_high"] = np.asarray(lo), np.asarray(hi)
    g = g.sort_values("share", ascending=False)
    table = np.column_stack([g["count"], g["customers"] - g["count"]])
    if len(g) >= 2 and (table.sum(axis=0) > 0).all():
        from insight.stats import cramers_v
        chi2, p, dof, _ = chi2_contingency(table, correction=False)
        v, v_lo, v_hi, _, _ = cramers_v(table, 1 - alpha)
        g.attrs.update(test="chi-square", chi2=float(chi2), dof=int(dof), p_value=float(p),
                       cramers_v=v, cramers_v_ci=(v_lo, v_hi), base=int(table.sum()))
    else:
        g.attrs.update(test=None, p_value=None, base=int(g["customers"].sum()))
    return g


def reference_dates(params) -> dict:
    """The dates the CRM analyses use: as_of (crm.as_of or the study period end), the study period
    (start, end) and the previous period of the same length just before it."""
    start = pd.Timestamp(params.study.period.start)
    end = pd.Timestamp(params.study.period.end)
    as_of = pd.Timestamp(params.crm.as_of) if params.crm.as_of else end
    prev_end = start - pd.Timedelta(days=1)
    if start.day == 1 and (end + pd.Timedelta(days=1)).day == 1:          # whole months: shift by months
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        prev_start = start - pd.DateOffset(months=months)
    else:
        prev_start = prev_end - (end - start)
    return {"as_of": as_of, "start": start, "end": end, "previous": (prev_start, prev_end), "current": (start, end)}


def fmt_pct(x, digits: int = 0) -> str:
    return "n/a" if x is None or pd.isna(x) else f"{x:.{digits}%}"


def usable(df: pd.DataFrame | None, column: str, min_groups: int = 2) -> bool:
    """True when `df` has `column` with at least `min_groups` distinct non-missing values
    (a comparison by it makes sense)."""
    return df is not None and column in df.columns and df[column].dropna().nunique() >= min_groups


def collapse(values: pd.Series, keep: int, weights: pd.Series | None = None, other: str = "other") -> pd.Series:
    """The `keep` most common values (by count, or by summed `weights`) kept, the rest 'other'."""
    rank = (weights.groupby(values).sum() if weights is not None else values.value_counts()).sort_values(ascending=False)
    if len(rank) <= keep:
        return values
    top = set(rank.index[:keep])
    return values.where(values.isin(top) | values.isna(), other)

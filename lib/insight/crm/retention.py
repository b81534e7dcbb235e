"""Retention: cohort grids, retention by purchase behaviour, and subscription revenue retention.

Cohort grids (`cohort_grid`): customers are grouped by the period (month, quarter or year) of their
first purchase or of their signup; column N is the share of the cohort who
- mode "in_period": bought in period N after the cohort period (N = 0 is the cohort period);
- mode "in_or_after": bought in period N or any later period (up to the end of the data).
Cells after the end of the data are empty (not zero): those periods have not happened yet.

Subscriptions (`revenue_retention`), for each period with customers paying at its start:
- logo churn = customers paying at the start and not at the end / customers paying at the start;
- gross revenue retention GRR = sum over those customers of min(MRR at end, MRR at start) /
  sum of MRR at start (downgrades and churn only, expansion not counted, so GRR <= 100%);
- net revenue retention NRR = sum over those customers of MRR at end / sum of MRR at start
  (expansion counted; new customers are not).
MRR of a customer at a date = sum of mrr of their subscriptions with start_date <= date and
(end_date empty or end_date > date).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from insight.crm.purchases import (CrmInputError, account_customers, as_dates, as_numbers, period_name,
                                   period_number, proportion_table, require)
from insight.data.engine import cohort_counts, purchase_span
from insight.stats import is_significant

REVENUE_RETENTION_FORMULAS = (
    "Logo churn = customers paying at the start of the period and not at its end ÷ customers paying at the start. "
    "Gross revenue retention (GRR) = Σ min(MRR at end, MRR at start) ÷ Σ MRR at start, over the customers paying at "
    "the start (counts downgrades and churn, never expansion). Net revenue retention (NRR) = Σ MRR at end ÷ Σ MRR at "
    "start over the same customers (counts expansion too; new customers are left out)."
)


def cohort_grid(orders: pd.DataFrame, customers: pd.DataFrame | None = None, grain: str = "Q",
                basis: str = "first_purchase", mode: str = "in_period", as_of=None) -> pd.DataFrame:
    """Cohort retention grid (rows: cohorts, columns: periods since the cohort period, values:
    shares). .attrs: size (customers per cohort), grain, basis, mode, last_period."""
    if mode not in ("in_period", "in_or_after"):
        raise ValueError("mode must be 'in_period' or 'in_or_after'")
    # the row-level work (purchase days -> customers per cohort and period) runs on the engine
    # (insight.data.engine.cohort_counts); the customers table is small and stays in pandas
    span = purchase_span(orders)
    if span is None or (as_of is not None and span[0] > pd.Timestamp(as_of)):
        raise CrmInputError("table 'orders' has no purchases to build cohorts from")
    first_data = span[0]
    last_day = pd.Timestamp(as_of) if as_of is not None else span[1]
    last = int(period_number(pd.Series([last_day]), grain).iloc[0])
    dropped = 0
    if basis == "first_purchase":
        old = None
        if customers is not None and "signup_date" in customers:
            # customers who signed up before the order data starts: their first purchase in the data is not
            # their first purchase, so they would swell the first cohort; leave them out
            c = account_customers(customers)
            # unique() rather than set(): a set of a text column walks it in Python (200,000 ids at 10M lines)
            old = c.loc[c["signup_date"] < first_data.to_period(grain if grain != "Y" else "Y").start_time, "customer_id"].unique().tolist()
        k = cohort_counts(orders, grain, as_of, leave_out=old)
        dropped = k["left_out"]
    elif basis == "signup":
        if customers is None:
            raise CrmInputError("cohorts by signup need the customers table (signup_date)")
        c = account_customers(customers)
        if as_of is not None:
            c = c.loc[c["signup_date"] <= pd.Timestamp(as_of)]
        # cohorts that signed up before the order data starts cannot show their early periods: left out
        early = c["signup_date"] < first_data.to_period(grain).start_time
        dropped = int(early.sum())
        c = c.loc[~early]
        cohort = pd.Series(period_number(c["signup_date"], grain).to_numpy(), index=c["customer_id"].to_numpy())
        cohort = cohort[~cohort.index.duplicated()]
        k = cohort_counts(orders, grain, as_of, cohorts=cohort)
    else:
        raise ValueError("basis must be 'first_purchase' or 'signup'")
    size = k["size"]
    max_off = int(last - size.index.min())
    offsets = range(0, max_off + 1)
    if mode == "in_period":
        counts = k["active"].set_index(["cohort", "offset"])["customers"].unstack(fill_value=0)
    else:
        lc = k["last_active"].set_index(["cohort", "offset"])["customers"]
        lc = lc.unstack(fill_value=0).reindex(columns=offsets, fill_value=0)
        counts = lc.iloc[:, ::-1].cumsum(axis=1).iloc[:, ::-1]          # customers whose last active offset >= N
    counts = counts.reindex(index=size.index, columns=offsets, fill_value=0)
    grid = counts.div(size, axis=0).astype(float)
    future = (grid.index.to_numpy()[:, None] + np.asarray(list(offsets))[None, :]) > last
    grid = grid.mask(future)
    grid.index = [period_name(p, grain) for p in grid.index]
    grid.index.name = "cohort"
    grid.columns.name = "periods since"
    grid.attrs.update(size=pd.Series(size.to_numpy(), index=grid.index), grain=grain, basis=basis, mode=mode,
                      last_period=period_name(last, grain), left_out=int(dropped),
                      first_period=period_name(int(period_number(pd.Series([first_data]), grain).iloc[0]), grain))
    return grid


def cohort_display(grid: pd.DataFrame, max_periods: int | None = None) -> pd.DataFrame:
    """The grid with a 'customers' column first, for show_table (shares as percentages)."""
    g = grid if max_periods is None else grid.iloc[:, : max_periods + 1]
    out = (g * 100).round(1)
    out.columns = [f"{c}" for c in g.columns]
    out.insert(0, "customers", grid.attrs["size"].astype(int))
    return out


def cohort_heatmap(grid: pd.DataFrame, title: str = "", max_periods: int | None = 12):
    from insight.crm.distribution import heatmap
    g = grid if max_periods is None else grid.iloc[:, : max_periods + 1]
    later = g.iloc[:, 1:]
    has = later.notna().any().any()                     # period 0 is 100% by design: scale colours on the rest
    vmin = float(np.nanmin(later.to_numpy())) if has else None
    vmax = float(np.nanmax(later.to_numpy())) if has else None
    fig = heatmap(g, title=title, fmt=".0%", cmap="Greens", vmin=vmin, vmax=vmax)
    fig.axes[0].set_xlabel({"M": "months", "Q": "quarters", "Y": "years"}.get(grid.attrs.get("grain"), "periods") + " since cohort period")
    return fig


# ----------------------------------------------------------------------------------------------

FREQ_BANDS = ([0.5, 1.5, 3.5, 6.5, np.inf], ["1 purchase day", "2-3 purchase days", "4-6 purchase days",
                                              "7 or more purchase days"])
SETTLE_BANDS = ([-np.inf, 30, 60, 90, np.inf], ["paid within 30 days", "31-60 days", "61-90 days", "over 90 days"])


def behaviour_frame(orders: pd.DataFrame, as_of, window_days: int = 365, min_window_days: int = 60) -> pd.DataFrame:
    """Customers who bought in the window before (as_of - window_days), with their purchase days,
    revenue and mean settlement days in it, and retained = bought in the last window_days up to the
    day as_of (that whole day included).

    When the order history is shorter than two windows (a first study year), the window shrinks to
    half the history available (at least `min_window_days`); .attrs["note"] says so."""
    # the per-customer sums over the order lines run on the engine (insight.data.engine.window_behaviour):
    # `orders` may be a DataFrame or the study's lazy engine table
    from insight.data.engine import first_purchase_time, window_behaviour

    end = pd.Timestamp(as_of)
    note = None
    first = first_purchase_time(orders)
    if first is not None:
        history = (end - first).days
        if history < 2 * window_days and history // 2 >= min_window_days:
            note = (f"The order history starts {first.date()}, too short for two windows of "
                    f"{window_days} days: two windows of {history // 2} days are compared instead.")
            window_days = history // 2
    mid = end - pd.Timedelta(days=window_days)
    start = mid - pd.Timedelta(days=window_days)
    f = window_behaviour(orders, start, mid, end)
    if f.empty:
        raise CrmInputError(f"no purchases between {start.date()} and {mid.date()}: retention by behaviour needs two windows "
                            f"of {window_days} days before {end.date()}; lower crm.retention_window_days")
    f.attrs.update(before=(start, mid), after=(mid, end), window_days=window_days, note=note)
    return f


def _band(values: pd.Series, bands) -> pd.Series:
    edges, labels = bands
    return pd.cut(values, edges, labels=labels, right=True)


def retention_by(frame: pd.DataFrame, dimension: str, alpha: float = 0.05) -> pd.DataFrame:
    """Retention rate per band of 'frequency' (purchase days), 'amount' (revenue quartile) or
    'settlement' (mean days to pay), with Wilson CIs and a chi-square test in .attrs."""
    f = frame.copy()
    if dimension == "frequency":
        f["band"] = _band(f["purchase_days"], FREQ_BANDS)
    elif dimension == "amount":
        q = f["revenue"].rank(method="first", pct=True)
        edges = f["revenue"].quantile([0, .25, .5, .75, 1]).to_numpy()
        names = ["lowest 25%", "25-50%", "50-75%", "top 25%"]     # not 'Q1'...'Q4': they read as calendar quarters
        labels = [f"{names[i]} ({edges[i]:,.0f}-{edges[i + 1]:,.0f})" for i in range(4)]
        f["band"] = pd.cut(q, [0, .25, .5, .75, 1], labels=labels, include_lowest=True)
    elif dimension == "settlement":
        if "settlement_days" not in f:
            raise CrmInputError("table 'orders' has no settlement_days: retention by settlement cycle needs it "
                                "(days from invoice to payment); map it in params data.tables.orders.columns")
        f["band"] = _band(f["settlement_days"], SETTLE_BANDS)
    else:
        raise ValueError("dimension must be frequency, amount or settlement")
    t = proportion_table(f.dropna(subset=["band"]), "band", "retained", alpha)
    order = [c for c in f["band"].cat.categories if c in t.index]
    attrs = dict(t.attrs, window_days=frame.attrs.get("window_days"))
    t = t.reindex(order)
    t.attrs.update(attrs)
    t.index.name = dimension
    return t.rename(columns={"count": "retained", "share": "retention"})


# ----------------------------------------------------------------------------------------------

def mrr_at(subs: pd.DataFrame, date) -> pd.Series:
    """MRR per customer at a date (subscriptions running on that day)."""
    return subs.loc[_running(subs, date)].groupby("customer_id", observed=True)["mrr"].sum()


def _running(subs: pd.DataFrame, date) -> np.ndarray:
    """The subscriptions running on a date: start_date <= date and (end_date empty or end_date > date)."""
    d = np.datetime64(pd.Timestamp(date))
    start, end = subs["start_date"].to_numpy(), subs["end_date"].to_numpy()
    return (start <= d) & (np.isnat(end) | (end > d))


def _subs(subscriptions: pd.DataFrame) -> pd.DataFrame:
    require(subscriptions, "subscriptions", ["customer_id", "mrr", "start_date", "end_date"], "revenue retention")
    s = subscriptions.copy()
    s["start_date"] = as_dates(s, "subscriptions", "start_date")
    s["end_date"] = as_dates(s, "subscriptions", "end_date")
    s["mrr"] = as_numbers(s, "subscriptions", "mrr")
    bad = s["end_date"].notna() & (s["end_date"] < s["start_date"])
    if bad.any():
        rows = list(s.index[bad][:5])
        raise CrmInputError(f"table 'subscriptions': {int(bad.sum())} row(s) end before they start (rows {rows}); fix end_date/start_date")
    return s


def revenue_retention(subscriptions: pd.DataFrame, start, end, grain: str = "Q",
                      customers: pd.DataFrame | None = None, by: str | None = None) -> pd.DataFrame:
    """Logo churn, GRR and NRR per period between start and end (see the module docstring),
    optionally per customer group `by` (a customers column)."""
    s = _subs(subscriptions)
    freq = {"M": "MS", "Q": "QS", "Y": "YS"}[grain]
    edges = pd.date_range(pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1), freq=freq)
    if len(edges) < 2 or edges[0] != pd.Timestamp(start):
        edges = pd.DatetimeIndex([pd.Timestamp(start), *[e for e in edges if e > pd.Timestamp(start)]])
    if edges[-1] < pd.Timestamp(end):
        edges = edges.append(pd.DatetimeIndex([pd.Timestamp(end) + pd.Timedelta(days=1)]))
    groups = None
    if by is not None:
        require(customers, "customers", ["customer_id", by])
        groups = customers.drop_duplicates("customer_id").set_index("customer_id")[by]
    rows = []
    # mrr_at per period as arrays over the customers (codes in sorted customer_id order, as groupby):
    # one factorisation of the text ids instead of a groupby and a reindex on them per date
    codes, ids = pd.factorize(s["customer_id"], sort=True)
    known = codes >= 0
    mrr = s["mrr"].fillna(0.0).to_numpy(dtype=float)       # groupby's sum counts a missing mrr as 0

    def mrr_on(date) -> np.ndarray:
        on = known & _running(s, date)
        return np.bincount(codes[on], weights=mrr[on], minlength=len(ids))

    for a, b in zip(edges[:-1], edges[1:]):      # one step per period, vectorised inside
        v0 = mrr_on(a)
        paying = v0 > 0
        frame = pd.DataFrame({"m0": v0[paying], "m1": mrr_on(b - pd.Timedelta(days=1))[paying]},
                             index=pd.Index(ids[paying], name="customer_id"))
        frame["g"] = groups.reindex(frame.index).to_numpy() if groups is not None else "all"
        for g, d in frame.groupby("g", dropna=True):
            if d.empty:
                continue
            rows.append({"period": period_name(period_number(pd.Series([a]), grain).iloc[0], grain), "group": g,
                         "customers_start": len(d), "customers_lost": int((d["m1"] <= 0).sum()),
                         "mrr_start": d["m0"].sum(), "mrr_end_same_customers": d["m1"].sum(),
                         "logo_churn": float((d["m1"] <= 0).mean()),
                         "grr": float(np.minimum(d["m1"], d["m0"]).sum() / d["m0"].sum()),
                         "nrr": float(d["m1"].sum() / d["m0"].sum())})
    out = pd.DataFrame(rows)
    if out.empty:
        raise CrmInputError(f"no subscriptions paying at the start of any period between {start} and {end}")
    if by is None:
        out = out.drop(columns="group")
    else:
        out = out.rename(columns={"group": by})
    out.attrs["formulas"] = REVENUE_RETENTION_FORMULAS
    return out


def revenue_retention_finding(rr: pd.DataFrame) -> dict:
    last = rr.iloc[-1]
    statement = (f"In {last['period']}, customers paying at the start kept {last['grr']:.0%} of their recurring revenue "
                 f"after downgrades and churn (GRR) and {last['nrr']:.0%} including expansion (NRR); "
                 f"{last['logo_churn']:.1%} of them left.")
    return dict(id="crm.retention.revenue", statement=statement, metric=f"net revenue retention {last['period']}",
                value=float(last["nrr"]), base=int(last["customers_start"]), source="crm",
                severity="key" if last["nrr"] < 1 else "info",
                extra={"grr": float(last["grr"]), "logo_churn": float(last["logo_churn"]),
                       "nrr_by_period": {str(p): float(v) for p, v in zip(rr["period"], rr["nrr"])}})


def behaviour_finding(table: pd.DataFrame, dimension: str, alpha: float = 0.05, min_base: int = 10) -> dict:
    """Best against worst band (bands with at least min_base customers)."""
    t = table.dropna(subset=["retention"])
    t = t.loc[t["customers"] >= min_base] if (t["customers"] >= min_base).sum() >= 2 else t
    lo, hi = t["retention"].idxmin(), t["retention"].idxmax()
    p = t.attrs.get("p_value")
    real = is_significant(p, alpha)
    w = table.attrs.get("window_days")
    following = "following year" if w in (None, 365, 366) else f"following {w} days"
    statement = (f"Retention by {dimension}: {t.loc[hi, 'retention']:.0%} of customers in '{hi}' bought again in the "
                 f"{following} against {t.loc[lo, 'retention']:.0%} in '{lo}'"
                 + ("" if real else ", a gap that may be chance") + ".")
    return dict(id=f"crm.retention.by_{dimension}", statement=statement, metric=f"retention {hi} / {lo}",
                value=float(t.loc[hi, "retention"] / t.loc[lo, "retention"]) if t.loc[lo, "retention"] else None,
                base=t.attrs.get("base"), test="chi-square test", p_value=p, effect_size=t.attrs.get("cramers_v"),
                effect_size_name="Cramér's V", source="crm", severity="key" if real else "info",
                effect_ci_low=(t.attrs.get("cramers_v_ci") or (None, None))[0],
                effect_ci_high=(t.attrs.get("cramers_v_ci") or (None, None))[1])

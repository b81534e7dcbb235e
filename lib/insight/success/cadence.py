"""Review cadence (customer-success pillar "proactivity", seed 004): per customer, whether the
initial assessment, the one-month implementation check-up, the six-month update and the one-year
review took place, and on time; compliance by owner and segment; churn and renewal by compliance.

A review is *due* for a customer when its whole window (days after signup) lies inside the data:
the window has ended by `as_of`, the customer had not churned before it ended, and the window
ends after the interactions table begins (older customers' early reviews are not in the data).
Status of a due review: on_time (held inside the window), late (only after it), early (only
before it) or missed (never held). An interaction a year or more after the window opened belongs to
a later cycle (e.g. next year's review) and is not counted as a late one.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from insight.config.success import CADENCE_STEPS
from insight.success._common import (Comparison, SuccessDataError, as_dates, compare_rates, customer_base,
                                     evidence_for, pct, require)
from insight.speedups import isin

STEP_LABELS = {
    "initial_assessment": "Initial assessment",
    "implementation_checkup": "One-month check-up",
    "six_month_update": "Six-month update",
    "renewal_review": "One-year review",
}
STATUSES = ("on_time", "late", "early", "missed", "not_due")


_YEAR = 365.25


def first_renewals(subscriptions: pd.DataFrame | None, customers: pd.DataFrame) -> pd.Series:
    """Per customer, the date of the first renewal of their first contract: the renewal date of the
    subscription that started first (from signup on). A renewal date more than a year after the
    start is read as a yearly renewal and rolled back by whole years to its first anniversary
    (exports usually hold the next renewal, not the first). Empty when there are no renewal dates."""
    if subscriptions is None or "renewal_date" not in subscriptions.columns:
        return pd.Series(dtype="datetime64[ns]")
    require(subscriptions, "subscriptions", ["customer_id", "start_date", "renewal_date"])
    s = subscriptions[["customer_id", "start_date", "renewal_date"]].copy()
    s["start_date"] = as_dates(s, "subscriptions", "start_date")
    s["renewal_date"] = as_dates(s, "subscriptions", "renewal_date")
    s = s.dropna().loc[lambda d: d["renewal_date"] > d["start_date"]]
    signup = customer_base(customers)[["customer_id", "signup_date"]].reset_index(drop=True)
    s = s.merge(signup, on="customer_id").loc[lambda d: d["start_date"] >= d["signup_date"]]
    first = s.sort_values(["customer_id", "start_date"]).drop_duplicates("customer_id")
    years = np.floor((first["renewal_date"] - first["start_date"]).dt.days / _YEAR + 0.02).astype(int)
    out = first["renewal_date"].copy()
    for k in sorted(set(years[years > 1])):           # whole calendar years back (leap days included)
        out[years == k] = out[years == k] - pd.DateOffset(years=int(k) - 1)
    return out.set_axis(first["customer_id"]).rename("first_renewal")


_DAY = 86_400 * 10**9   # nanoseconds
_NOT_HELD = np.iinfo(np.int64).max


def _days(delta_ns: np.ndarray) -> np.ndarray:
    """Whole days of int64 nanosecond differences, floored like pandas' Timedelta.days."""
    return np.floor_divide(delta_ns, _DAY)


def _cadence_grid(customers: pd.DataFrame, interactions, windows: dict[str, tuple[int, int]], as_of,
                  data_start=None, renewals: pd.Series | None = None) -> dict:
    """The cadence grid (customers x steps) as numpy arrays of shape (customers, steps): the
    windows `lo` / `hi` (days after signup, the renewal review shifted to the renewal), `due`, the
    first date held (`held_ns`, int64 nanoseconds, _NOT_HELD when never) and whether any review was
    held in the window / after it; with `cust` (customer_base as of `as_of`, the rows) and `steps`.
    Customers and steps are matched by position (speedups.positions on the ids, one pass over the
    reviews with numpy), not by merges on the text ids: at 500,000 customers the merges cost 6 s."""
    from insight.speedups import positions

    unknown = [s for s in windows if s not in CADENCE_STEPS]
    if unknown:
        raise SuccessDataError(f"unknown cadence steps {unknown}; the cadence steps are {list(CADENCE_STEPS)}. "
                               "Fix: name the windows in success.cadence_windows after these steps.")
    as_of = pd.Timestamp(as_of)
    if not isinstance(interactions, pd.DataFrame):   # an engine table: the cadence types' rows up to as_of come back
        from insight.data.engine import first_date, interaction_rows
        data_start = data_start if data_start is not None else first_date(interactions)
        interactions = interaction_rows(interactions, until=as_of, types=list(windows),
                                        columns=("customer_id", "date", "type"))
    require(interactions, "interactions", ["customer_id", "date", "type"])
    cust = customer_base(customers, as_of)
    it = interactions.loc[interactions["type"].isin(list(windows)), ["customer_id", "date", "type"]]
    it_date = as_dates(it, "interactions", "date", nullable=False)
    upto = (it_date <= as_of).to_numpy()
    it, it_date = it[upto], it_date[upto]
    all_dates = as_dates(interactions, "interactions", "date")
    coverage_start = pd.Timestamp(data_start) if data_start is not None else (
        all_dates.min() if all_dates.notna().any() else as_of)

    steps = list(windows)
    n, k = len(cust), len(steps)
    lo = np.tile(np.array([windows[s][0] for s in steps], dtype=np.int64), (n, 1))
    hi = np.tile(np.array([windows[s][1] for s in steps], dtype=np.int64), (n, 1))
    signup = cust["signup_date"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    if renewals is not None and len(renewals) and "renewal_review" in windows:
        # shift the renewal review's window so that its one-year point falls on the renewal date
        at = positions(cust["customer_id"], renewals.index)
        renew = np.asarray(renewals, dtype="datetime64[ns]").view(np.int64)
        has = at >= 0
        has[has] = renew[at[has]] != np.iinfo(np.int64).min      # NaT: no renewal date
        shift = _days(renew[at[has]] - signup[has]) - 365
        r = steps.index("renewal_review")
        lo[has, r] += shift
        hi[has, r] += shift
    end = signup[:, None] + hi * _DAY
    churn = cust["churn_date"].to_numpy(dtype="datetime64[ns]")
    end_dt = end.view("datetime64[ns]")
    due = (end_dt <= as_of.to_datetime64()) & (end_dt >= coverage_start.to_datetime64()) & ~(churn[:, None] <= end_dt)

    ci = positions(it["customer_id"], cust["customer_id"])
    si = positions(it["type"], pd.Series(steps, dtype=it["type"].dtype)
                   if isinstance(it["type"].dtype, pd.StringDtype) else pd.Index(steps))
    ok = (ci >= 0) & (si >= 0)
    ci, si = ci[ok], si[ok]
    when = it_date.to_numpy(dtype="datetime64[ns]").view(np.int64)[ok]
    days = _days(when - signup[ci])
    w_lo, w_hi = lo[ci, si], hi[ci, si]
    # a review held a year or more after its window opened belongs to a later cycle (next year's review)
    keep = days < w_lo + 365
    cell = (ci * k + si)[keep]
    days, w_lo, w_hi, when = days[keep], w_lo[keep], w_hi[keep], when[keep]
    held_ns = np.full(n * k, _NOT_HELD, dtype=np.int64)
    np.minimum.at(held_ns, cell, when)
    in_window = np.zeros(n * k, dtype=bool)
    in_window[cell[(days >= w_lo) & (days <= w_hi)]] = True
    after = np.zeros(n * k, dtype=bool)
    after[cell[days > w_hi]] = True
    return {"cust": cust, "steps": steps, "lo": lo, "hi": hi, "due": due, "signup": signup,
            "held_ns": held_ns.reshape(n, k), "in_window": in_window.reshape(n, k), "after": after.reshape(n, k)}


def _labels(names, codes: np.ndarray) -> pd.Series:
    """A text column of names[code] (built in Arrow: pandas' text column from two million numpy
    strings takes 0.4 s)."""
    import pyarrow as pa
    return pd.Series(pd.array(pa.array(list(names)).take(pa.array(codes)), dtype="str"))


def cadence_status(customers: pd.DataFrame, interactions: pd.DataFrame,
                   windows: dict[str, tuple[int, int]], as_of, data_start=None,
                   renewals: pd.Series | None = None) -> pd.DataFrame:
    """One row per customer and cadence step: due, first date held, days after signup, status.

    windows: step -> (first day, last day) after signup (params success.cadence_windows.as_dict()).
    as_of: the date the data runs to (usually the study's period end).
    data_start: the date the interactions export begins (default: its earliest date); reviews
    whose window ended before it cannot be assessed and are not due.
    renewals: customer_id -> first renewal date (first_renewals). The one-year review is about the
    renewal, so for a customer with a renewal date its window is timed from that date: the window
    [300, 365] days after signup reads as 65 to 0 days before the renewal. Customers without one
    keep the window after signup (the signup's anniversary taken as the renewal)."""
    g = _cadence_grid(customers, interactions, windows, as_of, data_start, renewals)
    cust, steps, due = g["cust"], g["steps"], g["due"].ravel()
    n, k = len(cust), len(steps)
    held_ns = g["held_ns"].ravel()
    held = held_ns != _NOT_HELD
    held_date = np.where(held, held_ns, np.iinfo(np.int64).min).view("datetime64[ns]")
    held_days = np.where(held, _days(held_ns - np.repeat(g["signup"], k)), 0).astype(float)
    held_days[~held] = np.nan
    on_time = g["in_window"].ravel()
    # codes into STATUSES: on_time, late, early, missed, not_due
    status = np.select([on_time, held & g["after"].ravel(), held], [0, 1, 2], 3)
    status = np.where(due, status, 4)
    return pd.DataFrame({
        "customer_id": cust["customer_id"].reset_index(drop=True).take(np.repeat(np.arange(n), k)).reset_index(drop=True),
        "step": _labels(steps, np.tile(np.arange(k), n)), "lo": g["lo"].ravel(), "hi": g["hi"].ravel(),
        "due": due, "held": held, "held_date": held_date, "held_days": held_days,
        "status": _labels(STATUSES, status), "on_time": pd.arrays.BooleanArray(status == 0, ~due)})


def cadence_compliance(customers: pd.DataFrame, interactions, windows: dict[str, tuple[int, int]], as_of,
                       data_start=None) -> pd.Series:
    """Per customer with a review due (index customer_id, in the customers' order): the share of
    the due reviews held on time (cadence_status's on_time averaged over its due rows)."""
    g = _cadence_grid(customers, interactions, windows, as_of, data_start)
    n_due = g["due"].sum(axis=1)
    n_on_time = (g["due"] & g["in_window"]).sum(axis=1)
    some = n_due > 0
    return pd.Series(n_on_time[some] / n_due[some], index=pd.Index(g["cust"]["customer_id"].array[some], name="customer_id"),
                     name="on_time")



def customer_cadence(customers: pd.DataFrame, status: pd.DataFrame, as_of=None) -> pd.DataFrame:
    """One row per customer: segment, owner, churned (by `as_of`), each step's status, reviews due
    and on time, compliance (on-time share of due reviews) and `missed_checkup` (the one-month
    check-up was due and not held on time; NA when it was not due)."""
    from insight.speedups import positions
    cust = customer_base(customers, as_of)
    # the status rows matched to the customers by position (a pivot, a groupby and joins on the
    # text ids cost 3 s at 500,000 customers)
    at = positions(status["customer_id"], cust["customer_id"])
    rows = at >= 0
    present = np.zeros(len(cust), dtype=bool)
    present[at[rows]] = True
    new_pos = np.cumsum(present) - 1            # a customer's row among those kept
    at_kept = new_pos[at[rows]]
    n = int(present.sum())
    keep = [c for c in ("customer_id", "segment", "owner", "region", "signup_date", "churn_date", "churned")
            if c in cust.columns]
    out = cust.loc[present, keep].reset_index(drop=True)
    step_code, step_names = pd.factorize(status["step"][rows])
    for code in np.argsort(np.asarray(step_names, dtype=object), kind="stable"):   # the steps as pivot orders them
        which = step_code == code
        if np.bincount(at_kept[which], minlength=n).max(initial=0) > 1:
            raise ValueError("Index contains duplicate entries, cannot reshape")
        take = np.full(n, -1, dtype=np.int64)
        take[at_kept[which]] = np.flatnonzero(rows)[which]
        out[f"{step_names[code]}_status"] = status["status"].array.take(take, allow_fill=True)
    out["n_due"] = np.bincount(at_kept, weights=status["due"].to_numpy(dtype=bool)[rows], minlength=n).astype(np.int64)
    on_time = status["on_time"].astype("boolean").fillna(False).to_numpy(dtype=bool)[rows]
    out["n_on_time"] = pd.array(np.bincount(at_kept, weights=on_time, minlength=n).astype(np.int64), dtype="Int64")
    out["compliance"] = (out["n_on_time"] / out["n_due"]).where(out["n_due"] > 0)
    chk = out.get("implementation_checkup_status")
    if chk is not None:
        out["missed_checkup"] = (chk != "on_time").where(chk != "not_due").astype("boolean")
    return out


def _due_with(cust_status: pd.DataFrame, status: pd.DataFrame, by: str) -> pd.DataFrame:
    """The due rows of `status` with the customer's `by` (an inner merge on customer_id, by position)."""
    from insight.speedups import positions
    due = status[status["due"]]
    at = positions(due["customer_id"], cust_status["customer_id"])
    due = due[at >= 0].reset_index(drop=True)
    due[by] = cust_status[by].take(at[at >= 0]).reset_index(drop=True)
    return due


def step_summary(status: pd.DataFrame) -> pd.DataFrame:
    """Per step: customers due and the share on time, late, early, missed."""
    due = status[status["due"]]
    counts = pd.crosstab(due["step"], due["status"]).reindex(columns=[s for s in STATUSES if s != "not_due"], fill_value=0)
    out = counts.div(counts.sum(axis=1), axis=0)
    out.insert(0, "due", counts.sum(axis=1))
    order = [s for s in CADENCE_STEPS if s in out.index]
    out = out.reindex(order)
    out.index = [STEP_LABELS.get(s, s) for s in out.index]
    out.index.name = "review"
    return out


def compliance_by(cust_status: pd.DataFrame, status: pd.DataFrame, by: str, min_base: int = 1) -> pd.DataFrame:
    """On-time share of each due review by a customer attribute (owner, segment...), with the
    number of due reviews per group; groups with fewer than `min_base` due reviews are dropped."""
    if by not in cust_status.columns:
        raise SuccessDataError(f"table 'customers' has no column {by!r}; compliance cannot be split by it. "
                               f"Fix: map a {by} column onto the customers table or choose another attribute.")
    due = _due_with(cust_status, status, by)
    due[by] = due[by].fillna("(unknown)")
    share = due.pivot_table(index=by, columns="step", values="on_time", aggfunc="mean", observed=True)
    share = share.reindex(columns=[s for s in CADENCE_STEPS if s in share.columns])
    share.columns = [STEP_LABELS[s] for s in share.columns]
    n = due.groupby(by).size()
    overall = due.groupby(by)["on_time"].mean()
    share.insert(0, "reviews due", n)
    share["all reviews"] = overall
    share = share[share["reviews due"] >= min_base].sort_values("all reviews")
    return share


def compliance_test(cust_status: pd.DataFrame, status: pd.DataFrame, by: str) -> dict:
    """Do groups differ in how often due reviews are held on time? Chi-square test of
    independence (scipy) of group x on time over all due reviews, with Cramér's V."""
    from insight.stats import cramers_v
    due = _due_with(cust_status, status, by)
    ct = pd.crosstab(due[by].fillna("(unknown)"), due["on_time"].astype(bool))
    out = {"test": f"chi-square test ({by} x review on time)", "n": int(ct.to_numpy().sum()),
           "chi2": np.nan, "p_value": np.nan, "cramers_v": np.nan, "cramers_v_ci": (np.nan, np.nan)}
    if ct.shape[0] >= 2 and ct.shape[1] == 2:
        v, lo, hi, chi2, p = cramers_v(ct.to_numpy())
        out.update(chi2=chi2, p_value=p, cramers_v=v, cramers_v_ci=(lo, hi))
    return out


def compliance_note(test: dict, label: str, alpha: float) -> str:
    from insight.display import p_label
    if not np.isfinite(test["p_value"]):
        return f"Too few groups to test whether on-time rates differ by {label}."
    from insight.stats import is_significant
    verdict = "differ" if is_significant(test["p_value"], alpha) else "do not differ beyond chance"
    return (f"On-time rates {verdict} by {label} ({test['test']}, p {p_label(test['p_value'])}, "
            f"Cramér's V = {test['cramers_v']:.2f}, 95% CI {test['cramers_v_ci'][0]:.2f} to {test['cramers_v_ci'][1]:.2f}).")


def checkup_churn(cust_status: pd.DataFrame) -> Comparison:
    """Churn of customers who missed the one-month check-up against those who had it on time
    (customers for whom it was due)."""
    d = cust_status[cust_status["missed_checkup"].notna()]
    return compare_rates(d["missed_checkup"].astype(bool), d["churned"], focus="check-up missed or late",
                         reference="check-up on time")


def churn_by_compliance(cust_status: pd.DataFrame) -> pd.DataFrame:
    """Churn rate by the share of a customer's due reviews held on time (all, most, under half).
    Customers who churn early have fewer reviews due, so read it next to the check-up comparison."""
    d = cust_status[cust_status["n_due"] > 0].copy()
    labels = ["all on time", "most on time (50-99%)", "fewer than half on time"]
    d["reviews on time"] = pd.Categorical(
        np.select([d["compliance"] >= 1, d["compliance"] >= 0.5], labels[:2], labels[2]), categories=labels, ordered=True)
    g = d.groupby("reviews on time", observed=False).agg(customers=("churned", "size"), churned=("churned", "sum"))
    g["churn rate"] = (g["churned"] / g["customers"]).where(g["customers"] > 0)
    g.index = g.index.astype(str)
    return g


def renewal_by_compliance(cust_status: pd.DataFrame, as_of, renewal_day: int = 365,
                          renewals: pd.Series | None = None) -> pd.DataFrame:
    """First-year renewal (still a customer on the first renewal date: `renewals`, else
    `renewal_day` days after signup) by how many of the three reviews before renewal were held on
    time; customers whose first renewal has passed and who were still customers when the six-month
    update was due."""
    as_of = pd.Timestamp(as_of)
    cols = [f"{s}_status" for s in CADENCE_STEPS[:3]]
    if not all(c in cust_status.columns for c in cols):
        return pd.DataFrame()
    d = cust_status.copy()
    d["anniv"] = d["signup_date"] + pd.Timedelta(days=renewal_day)
    if renewals is not None and len(renewals):
        d["anniv"] = d["customer_id"].map(renewals).fillna(d["anniv"])
    d = d[(d["anniv"] <= as_of) & (d[cols] != "not_due").all(axis=1)]
    d["renewed"] = ~(d["churn_date"] <= d["anniv"])
    d["on time before renewal"] = (d[cols] == "on_time").sum(axis=1).astype(str) + " of 3"
    g = d.groupby("on time before renewal").agg(customers=("renewed", "size"), renewed=("renewed", "sum"))
    g["renewal rate"] = g["renewed"] / g["customers"]
    return g.sort_index(ascending=False)


def checkup_hypothesis(params):
    """The study's hypothesis tested here (CRM source, group_by missed_checkup), or None."""
    for h in params.hypotheses:
        if h.quant is not None and h.quant.source == "crm" and h.quant.group_by == "missed_checkup":
            return h
    return None


def checkup_finding(comp: Comparison, params) -> dict:
    """Keyword arguments for record_finding (id success.missed_checkup_churn)."""
    h = checkup_hypothesis(params)
    expected = h.quant.expected if h else "higher"
    evidence = evidence_for(comp, expected, params.report.alpha)
    sig = comp.p_value < params.report.alpha
    statement = (f"Customers whose one-month implementation check-up was missed or held late churned "
                 f"{'more' if comp.rate_focus > comp.rate_reference else 'less'} "
                 f"({pct(comp.rate_focus)} of {comp.n_focus:,}) than those who had it on time "
                 f"({pct(comp.rate_reference)} of {comp.n_reference:,})"
                 + ("" if sig else "; the difference could be chance") + ".")
    return dict(id="success.missed_checkup_churn", statement=statement, metric="churn risk ratio (missed / on time)",
                value=comp.risk_ratio, base=comp.base, test=comp.test, p_value=comp.p_value,
                effect_size=comp.risk_ratio, effect_size_name="risk ratio", ci_low=comp.ci_low, ci_high=comp.ci_high,
                hypothesis=h.id if h else None, evidence=evidence if h else None, source="success",
                severity="key" if sig else "info",
                extra={"rate_missed": comp.rate_focus, "rate_on_time": comp.rate_reference,
                       "n_missed": comp.n_focus, "n_on_time": comp.n_reference})


def plot_step_status(summary: pd.DataFrame):
    """Stacked horizontal bars: share of due reviews on time / late / early / missed."""
    import matplotlib.pyplot as plt
    cols = [c for c in ("on_time", "late", "early", "missed") if c in summary.columns]
    colors = {"on_time": "#1a9850", "late": "#fdae61", "early": "#abd9e9", "missed": "#d73027"}
    fig, ax = plt.subplots(figsize=(7.5, 0.6 * len(summary) + 1.6))
    left = np.zeros(len(summary))
    for c in cols:
        vals = summary[c].to_numpy(dtype=float)
        ax.barh(summary.index, vals, left=left, color=colors[c], label=c.replace("_", " "))
        left += vals
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    ax.invert_yaxis()
    ax.set_xlabel("share of customers for whom the review was due")
    ax.legend(ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.25), frameon=False)
    fig.tight_layout()
    return fig


def plot_rate_comparison(comp: Comparison, what: str = "churn rate"):
    """Two bars (focus, reference) with 95% Wilson intervals."""
    import matplotlib.pyplot as plt
    from statsmodels.stats.proportion import proportion_confint
    labels = [comp.focus, comp.reference]
    ev = [comp.events_focus, comp.events_reference]
    n = [comp.n_focus, comp.n_reference]
    rates = [e / k if k else np.nan for e, k in zip(ev, n)]
    lo, hi = proportion_confint(ev, np.maximum(n, 1), method="wilson")
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.bar(labels, rates, color=["#d73027", "#4575b4"],
           yerr=[np.array(rates) - lo, hi - np.array(rates)], capsize=6)
    for i, r in enumerate(rates):
        ax.text(i, r / 2, pct(r), ha="center", color="white", fontsize="large")
    ax.yaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    ax.set_ylabel(what)
    fig.tight_layout()
    return fig


def windows_table(windows: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """The review windows as a small table for the report."""
    return pd.DataFrame({"from day": [w[0] for w in windows.values()], "to day": [w[1] for w in windows.values()]},
                        index=pd.Index([STEP_LABELS.get(s, s) for s in windows], name="review"))


def renewal_timing_note(renewals: pd.Series, cust_status: pd.DataFrame) -> str:
    """How the one-year review was timed, for the windows table's note."""
    n = int(isin(cust_status["customer_id"], renewals.index).sum()) if len(renewals) else 0
    if not n:
        return ("No subscription renewal dates in the data: the one-year review is timed from signup, "
                "its window ending on the signup's anniversary.")
    return (f"The one-year review is about the renewal, so for the {n:,} of {len(cust_status):,} customers whose "
            "subscription has a renewal date its window is timed from that date (day 365 = the first renewal); "
            "the others' from signup.")


def rate_sentence(t: pd.DataFrame, rate: str, what: str, min_base: int = 30) -> str | None:
    """One sentence on a rate table ordered from best to worst compliance: the first row against the
    last row with enough customers, and whether the rate moves steadily across the rows."""
    d = t[(t["customers"] >= min_base) & t[rate].notna()]
    if len(d) < 2:
        return None
    first, last = d.index[0], d.index[-1]
    r = d[rate].to_numpy(dtype=float)
    steady = bool(np.all(np.diff(r) >= 0) or np.all(np.diff(r) <= 0))
    return (f"{what[:1].upper() + what[1:]} is {d.loc[first, rate]:.1%} for '{first}' against {d.loc[last, rate]:.1%} for "
            f"'{last}'" + ("." if steady else "; the rows in between do not follow a steady trend, so read the "
                                              "groups with their bases rather than as a gradient.")
            + (f" Groups under {min_base} customers are left out of this sentence." if len(d) < len(t) else ""))

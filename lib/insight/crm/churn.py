"""Churn (loss): rates by any customer attribute and by period, reasons ranked, time to churn as
Kaplan-Meier survival curves with a log-rank test (statsmodels), and a list of customers at risk
as of a cutoff date with a reason for each.

Definitions used in the report:
- a customer is churned at a date when their churn_date is on or before it; prospects and
  competitors' customers are left out (they never had an account);
- churn rate of a group = churned customers / customers of the group (signed up by the date);
- churn rate of a period = customers who churned in the period / customers active at its start;
- survival: time from signup to churn; customers still active are censored at the reference date.
  An export that gives tenure in months (tenure_months) instead of dates: that is the time, and a
  churned status without a churn date is dated signup + tenure (insight.crm.purchases.tenure_churn_dates).

The churn analyses need only the customers table (status and churn date, or status and tenure);
segment comparisons use the configured attributes (params crm.churn_by) plus the demographic fields
and custom attributes the export has (comparison_columns).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from dataclasses import dataclass

from insight.crm.purchases import (CrmInputError, account_customers, as_dates, attach, chi_square_note, collapse,  # noqa: F401 (chi_square_note: the notebook calls churn.chi_square_note)
                                   period_name, period_number, proportion_table, require,
                                   tenure_churn_dates, undated_churners)
from insight.data.engine import purchase_day_windows, usage_windows
from insight.stats import is_significant
from insight.speedups import isin, positions, take_at

AT_RISK_RULES = (
    "A customer active at the cutoff is at risk when at least one of these holds: "
    "(1) falling orders: purchase days in the last {w} days at most {keep:.0%} of the {w} days before (and at least 2 before); "
    "(2) falling usage: mean monthly active users of the last {um} months at least {ud:.0%} below the {um} months before; "
    "(3) renewal near without engagement: a running contract renews or ends within {rd} days after the cutoff and "
    "there was no interaction with the customer in the {ed} days before it; "
    "(4) order data without contracts: the BG/NBD probability that the customer still buys is below {pa:.0%}; "
    "(5) churn profile (without order or usage data, on the customer attribute that separates churn most): customers "
    "of the same group who reached the same tenure left within the next {hm:.0f} months at least {pl:g} times as often "
    "as all customers at that tenure, and at least {pm:.0%} of them left (Kaplan-Meier on the history before the "
    "cutoff; groups of at least 20 customers at that tenure)."
)


def churn_frame(customers: pd.DataFrame, as_of) -> pd.DataFrame:
    """Account customers signed up by `as_of` with churned (bool, by as_of) and tenure_days."""
    c = account_customers(customers)
    d = pd.Timestamp(as_of)
    c = c.loc[c["signup_date"] <= d].copy()
    c["churned"] = c["churn_date"].notna() & (c["churn_date"] <= d)
    end = c["churn_date"].where(c["churned"], d)
    c["tenure_days"] = (end - c["signup_date"]).dt.days.clip(lower=0).astype(float)
    if "tenure_months" in c:
        # the export's own count of months is the tenure where the dates agree with it (calendar
        # rounding of a few days); at an earlier date than the export the dates decide
        months = pd.to_numeric(c["tenure_months"], errors="coerce")
        agree = (months * MONTH_DAYS - c["tenure_days"]).abs() <= 4
        c["tenure_days"] = (months * MONTH_DAYS).where(agree, c["tenure_days"])
    return c


MONTH_DAYS = 30.4375
# the customers columns churn_frame reads (account_customers, churn_date, tenure_churn_dates)
CHURN_FRAME_COLUMNS = ("customer_id", "signup_date", "churn_date", "status", "tenure_months")


def _narrow(customers: pd.DataFrame, *keep: str) -> pd.DataFrame:
    """`customers` with only the columns churn_frame reads and `keep`: account_customers copies and
    filters every column (16 at the benchmark, 12 of them text), which is most of a churn_frame at
    500,000 customers; the columns it returns are the same."""
    return customers[[c for c in dict.fromkeys((*CHURN_FRAME_COLUMNS, *keep)) if c in customers.columns]]


DEMOGRAPHICS = ("gender", "age_band", "senior", "partner", "dependents", "household_size")
AGE_EDGES = (18, 30, 40, 50, 60)
FLAG_LABELS = {"senior": ("senior citizen", "not senior citizen"), "partner": ("with partner", "without partner"),
               "dependents": ("with dependents", "without dependents")}


def comparison_columns(customers: pd.DataFrame, configured=(), max_values: int = 12) -> list[str]:
    """The customer attributes churn is compared across: the configured ones (params crm.churn_by),
    then the demographic fields (age banded when only age is given) and the export's custom
    attributes (customers columns outside the data model, mapped with `attributes:`), each kept
    when it has 2 to `max_values` distinct values (configured ones: 2 or more)."""
    from insight.data.schema import TABLES
    canon = {c.name for c in TABLES["customers"].columns}
    extra = [c for c in customers.columns if c not in canon and not c.startswith("_")]
    auto = [*DEMOGRAPHICS, *extra]
    if "age" in customers and "age_band" not in customers:
        auto.insert(1, "age")
    out = [c for c in configured if c in customers.columns and customers[c].dropna().nunique() >= 2]
    for c in auto:
        if c in customers.columns and c not in out and 2 <= customers[c].dropna().nunique() <= max_values:
            out.append(c)
    return out


def comparison_frame(customers: pd.DataFrame, columns) -> pd.DataFrame:
    """Customers with the comparison columns as readable groups: flags in words, age in bands."""
    c = customers.copy()
    for col in columns:
        s = c[col]
        if col == "age":
            c[col] = pd.cut(pd.to_numeric(s, errors="coerce"), [0, *AGE_EDGES[1:], 200], right=False,
                            labels=["under 30", "30-39", "40-49", "50-59", "60+"]).astype("string")
        elif pd.api.types.is_bool_dtype(s.dtype) or (s.notna().any() and set(s.dropna().unique()) <= {True, False}):
            yes, no = FLAG_LABELS.get(col, (f"{col}: yes", f"{col}: no"))
            c[col] = s.map({True: yes, False: no}).astype("string")
    return c


@dataclass
class ChurnInput:
    """What the churn sections work from (churn_input)."""
    customers: pd.DataFrame
    has_churn: bool
    compare: list[str]
    notes: list[tuple[str, str]]          # (text, kind) to show before the analyses
    snapshot: bool = False                # every churn date comes from a tenure: the export says who left, not when

    def period_note(self) -> str | None:
        """Why churn per period is not shown, or None."""
        if self.snapshot:
            return ("The export says who left but not when: every churn date here is signup + tenure, so churn per "
                    "period would only show all of it in the last period. Churn per period needs churn_date.")
        return None


def churn_input(customers: pd.DataFrame, as_of, configured=(), max_groups: int = 8) -> ChurnInput:
    """Customers ready for the churn analyses: churned customers without any date left out (said in
    a note), churn dates from tenure where the export gives tenure instead (said in a note), the
    attributes to compare across (comparison_columns) as readable groups of at most `max_groups`."""
    notes = []
    undated = undated_churners(customers)
    if undated.any():
        notes.append((f"{int(undated.sum()):,} customers are marked churned but have no churn date. Churn rates, survival "
                      "and the back-test need the date, so this report leaves them out (fill churn_date in the export "
                      "to include them).", "warning"))
        customers = customers.loc[~undated]
    derived = int(tenure_churn_dates(customers).notna().sum())
    if derived:
        notes.append((f"{derived:,} churned customers have no churn date but a tenure in months: they are counted as "
                      "having left at signup date + tenure (the end of their tenure).", "info"))
    has_churn = bool(churn_frame(customers, as_of)["churned"].any())
    compare = comparison_columns(customers, configured) if has_churn else []
    customers = comparison_frame(customers, compare)
    for b in compare:
        customers[b] = collapse(customers[b], max_groups)
    if not has_churn:
        notes.append(("No customer has a churn date on or before the reference date, so churn rates, reasons, survival "
                      "curves and the back-test are left out; the at-risk list still works from purchases (and usage "
                      "and contracts where present).", "warning"))
    churned = int((customers["status"] == "churned").sum()) if "status" in customers else 0
    return ChurnInput(customers, has_churn, compare, notes, snapshot=bool(derived) and derived == churned)


def survival_columns(rate_tables: dict, configured=(), k: int = 3) -> list[str]:
    """The attributes survival curves are drawn for: the configured ones, then the others whose churn
    rates differ most (Cramér's V, significant at 5%), at most `k` in all."""
    out = [b for b in configured if b in rate_tables][:k]
    rest = sorted(((t.attrs.get("cramers_v") or 0, b) for b, t in rate_tables.items()
                   if b not in out and (t.attrs.get("p_value") is not None and t.attrs["p_value"] < 0.05)), reverse=True)
    return out + [b for _, b in rest][:max(0, k - len(out))]


def at_risk_gap(orders=None, usage=None, subscriptions=None, profile_by=None, **_) -> str | None:
    """Why no at-risk rule can run on this study's data, or None when one can."""
    if orders is None and usage is None and subscriptions is None and profile_by is None:
        return ("No warning sign can be computed: the rules need orders, usage or subscriptions, or churn (with a date "
                "or a tenure) that differs across a customer attribute, and this study has none of these.")
    return None


def backtest_gap(flags: pd.DataFrame, customers: pd.DataFrame, horizon_days: int) -> str | None:
    """Why the at-risk rules cannot be checked at the earlier cutoff, or None when they can."""
    C = flags.attrs["cutoff"]
    cd = account_customers(customers)["churn_date"]
    if not flags["at_risk"].any():
        before = int((cd <= C).sum())
        why = (" The churn profile learns from customers who left before that date, and none of this study's churn "
               "dates is that early." if "churn_profile" in flags.attrs.get("rules", []) and not before else "")
        return f"On {C:%Y-%m-%d} the rules would have flagged no customer, so there is nothing to check.{why}"
    if not ((cd > C) & (cd <= C + pd.Timedelta(days=horizon_days))).any():
        return f"No customer churned in the {horizon_days} days after {C:%Y-%m-%d}, so the flags cannot be checked."
    return None


def churn_rate_by(customers: pd.DataFrame, by, as_of, alpha: float = 0.05) -> pd.DataFrame:
    """Churn rate per group of `by`: a customers column name, or any per-customer attribute (a
    Series indexed by customer_id, or a DataFrame customer_id + one column), e.g. a flag for a
    missed check-up. Wilson CIs; chi-square test and Cramer's V in .attrs."""
    c, name = attach(churn_frame(customers, as_of), by)
    t = proportion_table(c, name, "churned", alpha)
    attrs = dict(t.attrs)
    t = t.rename(columns={"count": "churned", "share": "churn_rate"})
    t.attrs.update(attrs)
    return t


def churn_by_period(customers: pd.DataFrame, start, end, grain: str = "Q", by: str | None = None) -> pd.DataFrame:
    """Per period (and group): customers active at the start, churned in the period, rate."""
    c = account_customers(customers)
    if by is not None:
        require(c, "customers", [by])
    freq = {"M": "MS", "Q": "QS", "Y": "YS"}[grain]
    s0 = pd.Timestamp(start)
    first = s0.to_period({"M": "M", "Q": "Q", "Y": "Y"}[grain]).start_time
    edges = pd.date_range(first, pd.Timestamp(end) + pd.Timedelta(days=1), freq=freq)
    if edges[-1] <= pd.Timestamp(end):
        edges = edges.append(pd.DatetimeIndex([edges[-1] + pd.tseries.frequencies.to_offset(freq)]))
    rows = []
    for a, b in zip(edges[:-1], edges[1:]):       # a handful of periods; vectorised inside
        active = (c["signup_date"] < a) & (c["churn_date"].isna() | (c["churn_date"] >= a))
        lost = active & c["churn_date"].notna() & (c["churn_date"] < b)
        key = c[by] if by else pd.Series("all", index=c.index)
        g = pd.DataFrame({"g": key, "active": active, "lost": lost}).groupby("g", observed=True)[["active", "lost"]].sum()
        for grp, r in g.iterrows():
            if r["active"] > 0:
                rows.append({"period": period_name(period_number(pd.Series([a]), grain).iloc[0], grain), "group": grp,
                             "active_at_start": int(r["active"]), "churned": int(r["lost"]),
                             "churn_rate": r["lost"] / r["active"]})
    out = pd.DataFrame(rows)
    if out.empty:
        raise CrmInputError(f"no customers were active at the start of any period between {start} and {end}")
    return out.drop(columns="group") if by is None else out.rename(columns={"group": by})


def churn_reasons(customers: pd.DataFrame, by: str | None = None, as_of=None, column: str = "churn_reason") -> pd.DataFrame:
    """Churn reasons ranked: churned customers per reason and share (within each group of `by`).
    column="churn_category" ranks the broad categories (competitor, dissatisfaction, price...) instead."""
    c = account_customers(customers)
    if column not in c:
        raise CrmInputError(f"table 'customers' has no {column} column: map the reason for leaving onto {column}")
    if as_of is not None:
        c = c.loc[c["churn_date"] <= pd.Timestamp(as_of)]
    c = c.loc[c["churn_date"].notna()].copy()
    c[column] = c[column].fillna("not recorded")
    keys = [by, column] if by else [column]
    t = c.groupby(keys, observed=True).size().rename("customers").reset_index()
    if by:
        t["share"] = t["customers"] / t.groupby(by, observed=True)["customers"].transform("sum")
        t["rank"] = t.groupby(by, observed=True)["customers"].rank(method="min", ascending=False).astype(int)
        return t.sort_values([by, "rank"]).reset_index(drop=True)
    t["share"] = t["customers"] / t["customers"].sum()
    t["rank"] = t["customers"].rank(method="min", ascending=False).astype(int)
    return t.sort_values("rank").reset_index(drop=True)


def dated_contracts(subscriptions: pd.DataFrame) -> tuple[pd.DataFrame | None, str | None]:
    """Contracts for revenue retention, and a note: a cancelled or expired contract without an end
    date would count as still paying (logo churn 0%, NRR 100%: a result the data do not hold). When
    no ended contract has its date there is nothing to measure (None); otherwise the undated ones
    are left out and the note says how many."""
    ended = subscriptions["status"].isin(["cancelled", "expired"]) if "status" in subscriptions else \
        pd.Series(False, index=subscriptions.index)
    end = pd.to_datetime(subscriptions["end_date"], errors="coerce") if "end_date" in subscriptions else \
        pd.Series(pd.NaT, index=subscriptions.index)
    undated = ended & end.isna()
    if not undated.any():
        return subscriptions, None
    n = int(undated.sum())
    if undated.sum() == ended.sum():
        return None, (f"All {n:,} cancelled or expired contracts lack an end date, so logo churn and revenue retention "
                      "cannot be measured (every contract would look kept). Fill end_date in the subscriptions export.")
    return subscriptions.loc[~undated], (f"{n:,} of {int(ended.sum()):,} cancelled or expired contracts lack an end date "
                                         "and are left out of logo churn and revenue retention (fill end_date to include them).")


def rules_text(config) -> str:
    """AT_RISK_RULES with the study's thresholds (params crm.at_risk)."""
    return AT_RISK_RULES.format(w=config.order_window_days, keep=1 - config.order_drop, um=config.usage_months,
                                ud=config.usage_drop, rd=config.renewal_within_days, ed=config.engagement_days,
                                pa=config.p_alive_below, pl=config.profile_lift, pm=config.profile_min_risk,
                                hm=config.horizon_days / MONTH_DAYS)


def strongest_attribute(rate_tables: dict) -> str | None:
    """Of the churn-rate tables by attribute (churn_rate_by), the attribute whose groups differ most
    (largest Cramér's V among those with a significant chi-square at 5%), or None."""
    best, v = None, 0.0
    for by, t in rate_tables.items():
        p, cv = t.attrs.get("p_value"), t.attrs.get("cramers_v")
        if p is not None and p < 0.05 and cv is not None and cv > v:
            best, v = by, cv
    return best


def profile_risk(customers: pd.DataFrame, cutoff, by: str, horizon_days: int, min_at_risk: int = 20) -> pd.DataFrame:
    """Per customer active at `cutoff`: tenure (months), the Kaplan-Meier probability that a customer
    of their `by` group who reached that tenure leaves within `horizon_days` (1 - S_g(t + h) / S_g(t),
    from the history up to the cutoff), the same for all customers, and their ratio (lift). The lift
    is left out (NaN) where fewer than `min_at_risk` customers of the group reached that tenure."""
    c = churn_frame(customers, cutoff)
    c = c.loc[c[by].notna()].drop_duplicates("customer_id")
    t = (c["tenure_days"] / MONTH_DAYS).to_numpy()
    h = horizon_days / MONTH_DAYS
    act = c.loc[~c["churned"]].set_index("customer_id")
    tenure = (act["tenure_days"] / MONTH_DAYS).to_numpy()

    def leave(curves: pd.DataFrame, at: np.ndarray) -> np.ndarray:
        times, surv = curves["time"].to_numpy(), curves["survival"].to_numpy()
        now = surv[np.searchsorted(times, at, side="right") - 1]
        later = surv[np.searchsorted(times, at + h, side="right") - 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(now > 0, 1 - later / now, np.nan)

    overall = leave(kaplan_meier(t, c["churned"])["curves"], tenure)
    km = kaplan_meier(t, c["churned"], c[by].astype(str))["curves"]
    prob = np.full(len(act), np.nan)
    groups = act[by].astype(str).to_numpy()
    for grp, d in km.groupby("group"):
        m = groups == grp
        if not m.any():
            continue
        prob[m] = leave(d, tenure[m])
        reached = np.sort(t[(c[by].astype(str) == grp).to_numpy()])
        few = (len(reached) - np.searchsorted(reached, tenure[m], side="left")) < min_at_risk
        prob[np.flatnonzero(m)[few]] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(overall > 0, prob / overall, np.nan)
    return pd.DataFrame({"group": act[by], "tenure_months": tenure, "leave_prob": prob, "leave_prob_all": overall,
                         "lift": lift}, index=act.index)


# ----------------------------------------------------------------------------------------------
# survival

def kaplan_meier(durations, events, groups=None, alpha: float = 0.05) -> dict:
    """Kaplan-Meier curves per group (statsmodels SurvfuncRight) and the log-rank test across
    groups (statsmodels survdiff). Returns {'curves': long DataFrame group/time/survival/ci_low/
    ci_high/at_risk, 'medians': DataFrame, 'chi2', 'p_value', 'dof', 'base'}. The CI is pointwise,
    on the log(-log) scale from Greenwood's standard error."""
    from scipy.stats import norm
    from statsmodels.duration.survfunc import SurvfuncRight, survdiff

    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=int)
    g = np.asarray(groups if groups is not None else np.repeat("all", len(t)), dtype=object)
    keep = np.isfinite(t) & pd.notna(g)
    t, e, g = t[keep], e[keep], g[keep]
    if len(t) == 0:
        raise CrmInputError("no durations to estimate survival from")
    z = norm.ppf(1 - alpha / 2)
    curves, meds = [], []
    for grp in sorted(set(g), key=str):
        m = g == grp
        sf = SurvfuncRight(t[m], e[m])
        s = np.asarray(sf.surv_prob)
        se = np.asarray(sf.surv_prob_se)
        with np.errstate(divide="ignore", invalid="ignore"):
            ll = np.log(-np.log(s))
            sell = se / (s * np.abs(np.log(s)))
            lo = np.exp(-np.exp(ll + z * sell))
            hi = np.exp(-np.exp(ll - z * sell))
        lo = np.where(np.isfinite(lo), lo, s)
        hi = np.where(np.isfinite(hi), hi, s)
        times = np.concatenate([[0.0], sf.surv_times])
        curves.append(pd.DataFrame({"group": grp, "time": times, "survival": np.concatenate([[1.0], s]),
                                    "ci_low": np.concatenate([[1.0], lo]), "ci_high": np.concatenate([[1.0], hi]),
                                    "at_risk": np.concatenate([[m.sum()], sf.n_risk])}))
        med = sf.quantile(0.5)
        meds.append({"group": grp, "customers": int(m.sum()), "churned": int(e[m].sum()),
                     "median_time": float(med) if med is not None and np.isfinite(med) else np.nan})
    out = {"curves": pd.concat(curves, ignore_index=True), "medians": pd.DataFrame(meds).set_index("group"),
           "chi2": None, "p_value": None, "dof": None, "base": int(len(t))}
    if len(set(g)) > 1 and e.sum() > 0:
        try:
            chi2, p = survdiff(t, e, g)
            out.update(chi2=float(chi2), p_value=float(p), dof=len(set(g)) - 1)
        except np.linalg.LinAlgError:       # degenerate: e.g. events in one group only at one time
            pass
    return out


def survival_by(customers: pd.DataFrame, by, as_of, unit_days: float = MONTH_DAYS, alpha: float = 0.05) -> dict:
    """Time from signup to churn in months (unit_days), per group of `by` (column or attribute)."""
    c, name = attach(churn_frame(customers, as_of), by)
    c = c.loc[c[name].notna()]
    res = kaplan_meier(c["tenure_days"] / unit_days, c["churned"], c[name].astype(str), alpha)
    res["by"] = name
    return res


def survival_at(result: dict, times=(6, 12, 24)) -> pd.DataFrame:
    """Survival probability per group at given times (step function read-off)."""
    rows = {}
    for grp, d in result["curves"].groupby("group"):
        d = d.sort_values("time")
        idx = np.searchsorted(d["time"].to_numpy(), np.asarray(times, dtype=float), side="right") - 1
        rows[grp] = d["survival"].to_numpy()[idx]
    return pd.DataFrame(rows, index=[f"{t:g} months" for t in times]).T


def survival_plot(result: dict, title: str = "", xlabel: str = "months since signup", ax=None, min_at_risk: int = 10):
    """Step curves with 95% bands; each curve stops where fewer than `min_at_risk` customers remain
    (the tail of a Kaplan-Meier curve rests on a handful of customers)."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 4.2))
    else:
        fig = ax.figure
    for grp, d in result["curves"].groupby("group"):
        d = d.loc[d["at_risk"] >= min(min_at_risk, d["at_risk"].max())]
        line = ax.step(d["time"], d["survival"], where="post", label=str(grp))[0]
        ax.fill_between(d["time"], d["ci_low"], d["ci_high"], step="post", alpha=0.15, color=line.get_color())
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share still a customer")
    ax.set_title(title)
    ax.legend(title=result.get("by", ""), frameon=False)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------------------
# at risk

def _reason(flag: pd.Series, text) -> np.ndarray:
    """Per customer of `flag` (a rule's boolean flags on the at-risk index): the rule's reason where it
    flags, "" elsewhere. `text(m)` gets the boolean mask and returns the texts of the flagged customers
    in order: the text is built only for them (a few percent of 400,000 active customers at 10M lines)."""
    m = flag.to_numpy(dtype=bool)
    out = np.full(len(m), "", dtype=object)
    if m.any():
        out[m] = np.asarray(text(m), dtype=object)
    return out


def _joined(reasons: list) -> np.ndarray:
    """Each customer's reasons (one array per rule, from _reason) joined with "; ": rule by rule over the
    customers it flags, as whole-array concatenations (a join per customer: 1 s of the two at-risk lists at
    10M lines under the profiler). A missing text (not a str) is skipped, as the row sum did."""
    joined = np.full(len(reasons[0]), "", dtype=object)
    for texts in reasons:
        at = np.flatnonzero(texts != "")
        at = at[np.fromiter((isinstance(t, str) for t in texts[at]), dtype=bool, count=len(at))]
        done = joined[at]
        joined[at] = np.where(done == "", texts[at], done + "; " + texts[at])
    return joined


def at_risk(customers: pd.DataFrame, cutoff, orders: pd.DataFrame | None = None, usage: pd.DataFrame | None = None,
            subscriptions: pd.DataFrame | None = None, interactions: pd.DataFrame | None = None,
            config=None, use_p_alive: bool | None = None, profile_by: str | None = None) -> pd.DataFrame:
    """Every customer active at `cutoff` with one flag column per rule, `at_risk` (any flag) and
    `reasons` (plain-language, '; '-separated). Rules and thresholds: AT_RISK_RULES and params
    crm.at_risk. Each rule runs only when its table is given. P(alive) runs on order data when no
    subscriptions table is given (use_p_alive=True forces it)."""
    if config is None:
        from insight.config.crm import AtRiskConfig
        config = AtRiskConfig()
    C = pd.Timestamp(cutoff)
    base = churn_frame(_narrow(customers, "segment", "region"), C)
    base = base.loc[~base["churned"]].drop_duplicates("customer_id").set_index("customer_id")
    idx = base.index
    out = pd.DataFrame(index=idx)
    reasons = []
    rules_used = []

    if orders is not None:
        rules_used.append("falling_orders")
        # purchase days per customer in the two windows, counted on the engine (orders may be the lazy table)
        w = pd.Timedelta(days=config.order_window_days)
        day = C.normalize()
        both = purchase_day_windows(orders, [day - 2 * w, day - w, day])
        at = positions(idx, both.index)
        prev, cur = (take_at(both[c], at, idx).fillna(0).astype(int) for c in ("w0", "w1"))
        flag = (prev >= 2) & (cur <= prev * (1 - config.order_drop))
        out["falling_orders"] = flag
        reasons.append(_reason(flag, lambda m: "orders fell from " + prev[m].astype(str) + " to " + cur[m].astype(str) +
                               f" purchase days (last {config.order_window_days} days vs the {config.order_window_days} before)"))

    if usage is not None:
        rules_used.append("falling_usage")
        if isinstance(usage, pd.DataFrame):
            require(usage, "usage", ["customer_id", "month", "active_users"], "the usage rule of the at-risk list")
        last_full = C if (C + pd.Timedelta(days=1)).day == 1 else C.replace(day=1) - pd.Timedelta(days=1)
        k = config.usage_months
        # per customer on the engine: the busiest feature's active users per month (a user counts once
        # a month), summed over the last k full months and the k before (insight.data.engine.usage_windows)
        win = usage_windows(usage, last_full, k, per_month="max", first_month=False)
        at = positions(idx, win.index)
        before, now = (take_at(win[c], at, idx).fillna(0.0) / k for c in ("prior", "recent"))
        flag = (before > 0) & (now <= before * (1 - config.usage_drop))
        out["falling_usage"] = flag
        drop = (1 - now / before.where(before > 0)).fillna(0)
        reasons.append(_reason(flag, lambda m: "active users fell " + (drop[m] * 100).round(0).astype(int).astype(str) + "% (from " +
                               before[m].round(1).astype(str) + " to " + now[m].round(1).astype(str) + f" a month, last {k} months vs the {k} before)"))

    if subscriptions is not None:
        rules_used.append("renewal_without_engagement")
        require(subscriptions, "subscriptions", ["customer_id", "start_date", "end_date"], "the renewal rule of the at-risk list")
        s = subscriptions.loc[isin(subscriptions["customer_id"], idx)].copy()
        s["start_date"] = as_dates(s, "subscriptions", "start_date")
        s["end_date"] = as_dates(s, "subscriptions", "end_date")
        due = as_dates(s, "subscriptions", "renewal_date") if "renewal_date" in s else s["end_date"]
        due = due.fillna(s["end_date"])
        running = (s["start_date"] <= C) & (s["end_date"].isna() | (s["end_date"] > C))
        near = running & (due > C) & (due <= C + pd.Timedelta(days=config.renewal_within_days))
        next_due = due[near].groupby(s.loc[near, "customer_id"]).min()
        contacted = pd.Index([])
        if interactions is not None and not isinstance(interactions, pd.DataFrame):
            from insight.data.engine import interaction_rows    # an engine table: only the window's customers come back
            i = interaction_rows(interactions, after=C - pd.Timedelta(days=config.engagement_days), until=C,
                                 columns=("customer_id",))
            contacted = pd.Index(i["customer_id"].unique())
        elif interactions is not None:
            require(interactions, "interactions", ["customer_id", "date"], "the engagement rule of the at-risk list")
            i = interactions
            idate = as_dates(i, "interactions", "date")
            recent = (idate <= C) & (idate > C - pd.Timedelta(days=config.engagement_days))
            contacted = pd.Index(i.loc[recent, "customer_id"].unique())
        flag = pd.Series(isin(idx, next_due.index) & ~isin(idx, contacted), index=idx)
        out["renewal_without_engagement"] = flag
        nd = take_at(next_due, positions(idx, next_due.index), idx)
        reasons.append(_reason(flag, lambda m: "renewal due " + nd[m].dt.strftime("%Y-%m-%d").fillna("") +
                               f" and no contact in the last {config.engagement_days} days"))

    if orders is not None and (use_p_alive or (use_p_alive is None and subscriptions is None)):
        rules_used.append("low_p_alive")
        from insight.crm.value import p_alive_table
        pa = p_alive_table(orders, C.normalize()).reindex(idx)     # the purchase days up to the cut-off day
        flag = (pa["p_alive"] < config.p_alive_below).fillna(False)
        out["low_p_alive"] = flag
        out["p_alive"] = pa["p_alive"]
        reasons.append(_reason(flag, lambda m: "probability still buying " + (pa["p_alive"][m] * 100).round(0).astype("Int64").astype(str)
                               + "% (BG/NBD purchase model)"))

    if profile_by is not None:
        rules_used.append("churn_profile")
        pr = profile_risk(customers, C, profile_by, config.horizon_days).reindex(idx)
        flag = ((pr["lift"] >= config.profile_lift) & (pr["leave_prob"] >= config.profile_min_risk)).fillna(False)
        out["churn_profile"] = flag
        hm = config.horizon_days / MONTH_DAYS
        from insight.labels import label
        reasons.append(_reason(flag, lambda m: f"{label(profile_by)} " + pr["group"][m].astype(str) + ": "
                               + (pr["leave_prob"][m] * 100).round(0).astype("Int64").astype(str)
                               + "% of such customers at " + pr["tenure_months"][m].round(0).astype("Int64").astype(str)
                               + f" months of tenure left within {hm:.0f} months, against "
                               + (pr["leave_prob_all"][m] * 100).round(0).astype("Int64").astype(str) + "% of all customers"))

    if not rules_used:
        raise CrmInputError("the at-risk list needs at least one of the orders, usage or subscriptions tables, "
                            "or a customer attribute that separates churn (the churn-profile rule)")
    flags = out[[c for c in rules_used]]
    out["at_risk"] = flags.any(axis=1)
    out["n_reasons"] = flags.sum(axis=1).astype(int)
    out["reasons"] = pd.Series(_joined(reasons), index=idx).astype(str).str.rstrip("; ")
    for col in ("segment", "region"):
        if col in base and base[col].notna().any():
            out.insert(0, col, base[col])
    out.attrs.update(cutoff=C, rules=rules_used)
    return out


def evaluate_rules(flags: pd.DataFrame, customers: pd.DataFrame, horizon_days: int = 183) -> pd.DataFrame:
    """evaluate_at_risk for each rule on its own and for any rule: which warning signs work."""
    rows = {}
    churned = _churned_after(flags, customers, horizon_days)     # once for all the rules
    for rule in [*flags.attrs.get("rules", []), "at_risk"]:
        ev = _evaluate(flags[rule], churned, flags.attrs["cutoff"], horizon_days)
        rows["any rule" if rule == "at_risk" else rule.replace("_", " ")] = {
            k: ev[k] for k in ("flagged", "churn_rate_flagged", "churn_rate_others", "lift", "recall", "p_value")}
    return pd.DataFrame(rows).T


def evaluate_at_risk(flags: pd.DataFrame, customers: pd.DataFrame, horizon_days: int = 183) -> dict:
    """How the at-risk flag did: churn in the `horizon_days` after the cutoff among flagged and
    other customers. precision = churn rate of the flagged; lift = precision / churn rate of all
    active customers; recall = share of the churners that were flagged. Fisher's exact test."""
    churned = _churned_after(flags, customers, horizon_days)
    return _evaluate(flags["at_risk"], churned, flags.attrs["cutoff"], horizon_days)


def _churned_after(flags: pd.DataFrame, customers: pd.DataFrame, horizon_days: int) -> pd.Series:
    """Per customer of the at-risk frame: churned in the `horizon_days` after its cutoff."""
    C = flags.attrs.get("cutoff")
    if C is None:
        raise CrmInputError("evaluate_at_risk needs the frame returned by at_risk (its cutoff is in .attrs)")
    c = account_customers(_narrow(customers))
    c = c.loc[~c["customer_id"].duplicated()]
    c = take_at(c["churn_date"], positions(flags.index, c["customer_id"]), flags.index)
    return c.notna() & (c > C) & (c <= C + pd.Timedelta(days=horizon_days))


def _evaluate(flag: pd.Series, churned: pd.Series, C, horizon_days: int) -> dict:
    from scipy.stats import fisher_exact

    f = flag.astype(bool)
    a, b = int((f & churned).sum()), int((f & ~churned).sum())
    cc, d = int((~f & churned).sum()), int((~f & ~churned).sum())
    odds, p = fisher_exact([[a, b], [cc, d]], alternative="greater")
    rate_all = churned.mean()
    prec = a / (a + b) if a + b else np.nan
    return {"cutoff": C, "horizon_days": horizon_days, "customers": len(f), "flagged": a + b,
            "churned": int(churned.sum()), "churn_rate_flagged": prec, "churn_rate_others": cc / (cc + d) if cc + d else np.nan,
            "churn_rate_all": float(rate_all), "precision": prec, "lift": prec / rate_all if rate_all else np.nan,
            "recall": a / (a + cc) if a + cc else np.nan, "odds_ratio": float(odds), "p_value": float(p)}


# ----------------------------------------------------------------------------------------------
# findings (keyword arguments for record_finding)

def rate_finding(table: pd.DataFrame, by: str, alpha: float = 0.05, min_base: int = 10) -> dict:
    """Highest against lowest churn rate across the groups of `by` (groups with at least min_base
    customers), with the chi-square test over all groups."""
    t = table.loc[table["customers"] >= min_base] if (table["customers"] >= min_base).sum() >= 2 else table
    hi, lo = t.index[0], t.index[-1]
    p = t.attrs.get("p_value")
    real = is_significant(p, alpha)
    from insight.labels import label
    gap = f"{t.loc[hi, 'churn_rate']:.0%} of {label(hi)} customers churned against {t.loc[lo, 'churn_rate']:.0%} of {label(lo)}"
    statement = (f"Churn differs by {label(by)}: {gap}." if real else
                 f"Churn does not clearly differ by {label(by)}: {gap}, a gap that may be chance.")
    return dict(id=f"crm.churn.by_{by}", statement=statement, metric=f"churn rate {label(hi)} / {label(lo)}",
                value=float(t.loc[hi, "churn_rate"] / t.loc[lo, "churn_rate"]) if t.loc[lo, "churn_rate"] > 0 else None,
                base=t.attrs.get("base"), test="chi-square test of independence", p_value=p,
                effect_size=t.attrs.get("cramers_v"), effect_size_name="Cramér's V", source="crm",
                effect_ci_low=(t.attrs.get("cramers_v_ci") or (None, None))[0],
                effect_ci_high=(t.attrs.get("cramers_v_ci") or (None, None))[1],
                severity="key" if real else "info", evidence=None,
                extra={str(k): float(v) for k, v in t["churn_rate"].items()})


def survival_finding(res: dict, alpha: float = 0.05, at: float = 12) -> dict:
    from insight.labels import label
    s = survival_at(res, (at,)).iloc[:, 0]
    p = res["p_value"]
    real = is_significant(p, alpha)
    statement = (f"{int(at)} months after signup, " + ", ".join(f"{v:.0%} of {label(k)}" for k, v in s.sort_values().items()) +
                 f" customers were still with us; the survival curves by {label(res['by'])} " +
                 ("differ (log-rank test)." if real else "do not differ beyond chance (log-rank test)."))
    return dict(id=f"crm.churn.survival_{res['by']}", statement=statement, metric=f"share still a customer at {int(at)} months",
                value=float(s.min()), base=res["base"], test=f"log-rank, {res['dof']} df, chi2 = {res['chi2']:.1f}" if res["chi2"] is not None else None,
                p_value=p, source="crm", severity="key" if real else "info")


def at_risk_finding(ev: dict, alpha: float = 0.05) -> dict:
    statement = (f"Customers the at-risk rules would have flagged on {ev['cutoff']:%Y-%m-%d} churned in the next "
                 f"{ev['horizon_days']} days at {ev['churn_rate_flagged']:.0%}, against {ev['churn_rate_others']:.0%} of the others "
                 f"(lift {ev['lift']:.1f}; {ev['recall']:.0%} of those who churned had been flagged).")
    return dict(id="crm.churn.at_risk_backtest", statement=statement, metric="lift (churn of flagged / churn of all)",
                value=ev["lift"], base=ev["customers"], test="Fisher's exact test (one-sided)", p_value=ev["p_value"],
                effect_size=ev["odds_ratio"] if np.isfinite(ev["odds_ratio"]) else None, effect_size_name="odds ratio",
                source="crm", severity="key" if ev["p_value"] < alpha else "warning",
                extra={k: ev[k] for k in ("flagged", "churned", "precision", "recall")})

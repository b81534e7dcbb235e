"""Closed feedback loop (customer-success pillar 4, seed 004): bugs and requests reported by
customers -> planned -> shipped -> customer told. Cycle times, the age of the open backlog, the
share of loops closed, by team.

A loop is *closed* when the item shipped and the customer was told. Items still open or planned
are the backlog; their age is counted to `as_of`. Median time to ship uses the Kaplan-Meier
estimator (statsmodels SurvfuncRight) so items not shipped yet count as "at least this old"
instead of being dropped (dropping them would make slow teams look fast). Items with dates out of
order (shipped before reported...) are listed and left out of the durations.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from insight.success._common import Comparison, SuccessDataError, as_dates, compare_rates, pct, require
from insight.stats import is_significant

DATES = ("reported_date", "planned_date", "shipped_date", "customer_told_date")


def feedback_cycle(items: pd.DataFrame, as_of) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per item: days reported->planned, planned->shipped, reported->shipped, shipped->told,
    reported->told, shipped / closed / open flags, open age, and time-to-ship for survival
    (duration, shipped observed). Returns (items, problems) where problems lists rows whose dates
    are out of order. Items reported after `as_of` are left out and milestones after it are
    treated as not reached yet (a past study re-run on a newer export)."""
    require(items, "feedback_items", ["item_id", "team", "type", "status", *DATES])
    as_of = pd.Timestamp(as_of)
    d = items.copy()
    for c in DATES:
        d[c] = as_dates(d, "feedback_items", c, nullable=(c != "reported_date"))
    # look from as_of: later items do not exist yet, later milestones have not happened yet
    d = d[d["reported_date"] <= as_of].copy()
    for c in DATES[1:]:
        d.loc[d[c] > as_of, c] = pd.NaT
    was_shipped = d["status"].eq("shipped") & d["shipped_date"].isna() & items.loc[d.index, "shipped_date"].notna()
    d.loc[was_shipped, "status"] = np.where(d.loc[was_shipped, "planned_date"].notna(), "planned", "open")
    day = lambda a, b: (d[b] - d[a]).dt.days
    d["days_to_plan"] = day("reported_date", "planned_date")
    d["days_plan_to_ship"] = day("planned_date", "shipped_date")
    d["days_to_ship"] = day("reported_date", "shipped_date")
    d["days_ship_to_tell"] = day("shipped_date", "customer_told_date")
    d["days_to_close"] = day("reported_date", "customer_told_date")
    dur = ["days_to_plan", "days_plan_to_ship", "days_to_ship", "days_ship_to_tell", "days_to_close"]
    neg = (d[dur] < 0).any(axis=1)
    problems = d.loc[neg, ["item_id", "team", "status", *DATES]]
    d.loc[neg, dur] = np.nan
    d["shipped"] = d["shipped_date"].notna() | d["status"].eq("shipped")
    d["told"] = d["customer_told_date"].notna()
    d["closed"] = d["shipped"] & d["told"]
    d["open"] = d["status"].isin(["open", "planned"]) & ~d["shipped"]
    d["open_age_days"] = (as_of - d["reported_date"]).dt.days.where(d["open"])
    # time to ship for Kaplan-Meier: shipped items observed, open ones censored at as_of; declined dropped
    d["ttship_days"] = d["days_to_ship"].where(d["shipped"], d["open_age_days"])
    d["ttship_observed"] = d["shipped"] & d["days_to_ship"].notna()
    return d, problems


def km_median(durations: pd.Series, observed: pd.Series) -> float:
    """Kaplan-Meier median (days), NaN when more than half never get there."""
    from statsmodels.duration.survfunc import SurvfuncRight
    ok = durations.notna()
    if ok.sum() == 0 or not observed[ok].any():
        return float("nan")
    sf = SurvfuncRight(durations[ok].astype(float).to_numpy(), observed[ok].astype(int).to_numpy())
    q = sf.quantile(0.5)
    return float(q) if q is not None and np.isfinite(q) else float("nan")


def by_team(cycle: pd.DataFrame) -> pd.DataFrame:
    """Per team: items, bugs, requests, median days to plan / ship (shipped only and Kaplan-Meier),
    shipped->told, share of shipped whose customer was told, share of loops closed, open backlog
    and its median and oldest age."""
    g = cycle.groupby("team")
    out = pd.DataFrame({
        "items": g.size(),
        "bugs": g["type"].apply(lambda s: int((s == "bug").sum())),
        "median days to plan": g["days_to_plan"].median(),
        "median days to ship (shipped)": g["days_to_ship"].median(),
        "median days to ship (KM)": pd.Series({t: km_median(x["ttship_days"], x["ttship_observed"])
                                               for t, x in g}),
        "median days shipped→told": g["days_ship_to_tell"].median(),
        "shipped": g["shipped"].sum(),
        "customer told (of shipped)": g.apply(lambda x: x.loc[x["shipped"], "told"].mean() if x["shipped"].any() else np.nan,
                                              include_groups=False),
        "loops closed (of all)": g["closed"].mean(),
        "open backlog": g["open"].sum(),
        "median open age (days)": g["open_age_days"].median(),
        "oldest open (days)": g["open_age_days"].max(),
    })
    out["bugs"] = out["bugs"].astype(int)
    return out.sort_values("median days to ship (KM)", ascending=False)


def overall(cycle: pd.DataFrame) -> dict:
    shipped = cycle[cycle["shipped"]]
    return {"items": len(cycle), "shipped": len(shipped),
            "share shipped": len(shipped) / len(cycle) if len(cycle) else np.nan,
            "told of shipped": shipped["told"].mean() if len(shipped) else np.nan,
            "closed": cycle["closed"].mean() if len(cycle) else np.nan,
            "median days to ship": cycle["days_to_ship"].median(),
            "median days to ship (KM)": km_median(cycle["ttship_days"], cycle["ttship_observed"]),
            "open backlog": int(cycle["open"].sum()),
            "median open age": cycle["open_age_days"].median()}


def overall_table(cycle: pd.DataFrame) -> pd.DataFrame:
    """The loop overall as a readable two-column table (values formatted as text)."""
    o = overall(cycle)
    days = lambda v: "n/a" if not np.isfinite(v) else f"{v:,.0f} days"
    rows = [("items reported", f"{o['items']:,}"), ("shipped", f"{o['shipped']:,} ({pct(o['share shipped'])})"),
            ("customer told, of shipped items", pct(o["told of shipped"])),
            ("loops closed (shipped and told), of all items", pct(o["closed"])),
            ("median time to ship (Kaplan-Meier, open items included)", days(o["median days to ship (KM)"])),
            ("open backlog (open or planned)", f"{o['open backlog']:,}"),
            ("median age of the open backlog", days(o["median open age"]))]
    return pd.DataFrame(rows, columns=["measure", "value"]).set_index("measure")


def slowest_team(team_table: pd.DataFrame, min_items: int = 10) -> str:
    t = team_table[team_table["items"] >= min_items]
    if t.empty:
        t = team_table
    col = "median days to ship (KM)" if t["median days to ship (KM)"].notna().any() else "median days to ship (shipped)"
    return str(t[col].idxmax())


def team_comparison(cycle: pd.DataFrame, team: str) -> dict:
    """The team against all others: days to ship (Mann-Whitney U on shipped items, with the
    rank-biserial effect) and the share of shipped items whose customer was told (chi-square,
    risk ratio)."""
    if team not in set(cycle["team"]):
        raise SuccessDataError(f"team {team!r} has no feedback items (teams: {', '.join(sorted(map(str, cycle['team'].unique())))}). "
                               "Fix: set success.feedback_focus_team to one of them, or leave it out.")
    is_t = cycle["team"].eq(team)
    a = cycle.loc[is_t, "days_to_ship"].dropna()
    b = cycle.loc[~is_t, "days_to_ship"].dropna()
    from insight.stats import rank_biserial
    u, p, rbc, rb_lo, rb_hi = rank_biserial(a, b)
    shipped = cycle[cycle["shipped"]]
    told: Comparison = compare_rates(shipped["team"].eq(team), shipped["told"], focus=team, reference="other teams")
    return {"team": team, "n_team": len(a), "n_other": len(b), "median_team": a.median(), "median_other": b.median(),
            "u": float(u), "p_value": float(p), "rank_biserial": float(rbc), "rank_biserial_ci": (rb_lo, rb_hi),
            "told": told}


def feedback_findings(cmp: dict, alpha: float) -> list[dict]:
    t = cmp["team"]
    told: Comparison = cmp["told"]
    sig_speed = is_significant(cmp["p_value"], alpha)
    sig_told = is_significant(told.p_value, alpha)
    return [
        dict(id="success.feedback_cycle_team",
             statement=(f"Team {t} takes a median {cmp['median_team']:.0f} days from report to shipping against "
                        f"{cmp['median_other']:.0f} days for the other teams"
                        + ("" if sig_speed else "; the difference could be chance") + "."),
             metric="median days to ship", value=cmp["median_team"], base=cmp["n_team"] + cmp["n_other"],
             test="Mann-Whitney U (shipped items)", p_value=cmp["p_value"], effect_size=cmp["rank_biserial"],
             effect_size_name="rank-biserial r", effect_ci_low=cmp["rank_biserial_ci"][0],
             effect_ci_high=cmp["rank_biserial_ci"][1], source="success", severity="key" if sig_speed else "info",
             extra={"median_other": cmp["median_other"], "team": t}),
        dict(id="success.feedback_told_team",
             statement=(f"Customers were told about {pct(told.rate_focus)} of the items team {t} shipped, against "
                        f"{pct(told.rate_reference)} for the other teams"
                        + ("" if sig_told else "; the difference could be chance") + "."),
             metric=f"share of shipped items whose customer was told, ratio {t} / other teams", value=told.risk_ratio,
             base=told.base, test=told.test, p_value=told.p_value, effect_size=told.risk_ratio,
             effect_size_name="risk ratio", ci_low=told.ci_low, ci_high=told.ci_high, source="success",
             severity="key" if sig_told else "info",
             extra={"rate_team": told.rate_focus, "rate_other": told.rate_reference, "team": t}),
    ]


def plot_team_cycle(cycle: pd.DataFrame, order: list[str] | None = None):
    """Box plot of days from report to shipping by team (shipped items)."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    d = cycle[cycle["days_to_ship"].notna()]
    fig, ax = plt.subplots(figsize=(7.5, 0.5 * d["team"].nunique() + 1.6))
    sns.boxplot(data=d, x="days_to_ship", y="team", order=order, color="#92c5de", showfliers=False, ax=ax)
    ax.set_xlabel("days from report to shipping")
    ax.set_ylabel("")
    fig.tight_layout()
    return fig


def plot_loop_stages(team_table: pd.DataFrame):
    """Per team: share shipped, share told (of all items) — where loops stay open."""
    import matplotlib.pyplot as plt
    t = team_table
    shipped = t["shipped"] / t["items"]
    closed = t["loops closed (of all)"]
    fig, ax = plt.subplots(figsize=(7.5, 0.5 * len(t) + 1.6))
    y = np.arange(len(t))
    ax.barh(y, shipped, color="#bdbdbd", label="shipped")
    ax.barh(y, closed, color="#1a9850", label="shipped and customer told (closed)")
    ax.set_yticks(y, [str(i) for i in t.index])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    ax.set_xlim(0, 1)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def period_note(cycle: pd.DataFrame, end) -> str | None:
    """Which items the report covers: the span of their report dates and the date they are followed up to."""
    dates = pd.to_datetime(cycle["reported_date"]).dropna() if "reported_date" in cycle else pd.Series(dtype="datetime64[ns]")
    if dates.empty:
        return None
    return (f"Items reported from {dates.min():%d %b %Y} to {dates.max():%d %b %Y}, followed up to the study end "
            f"({pd.Timestamp(end):%d %b %Y}).")

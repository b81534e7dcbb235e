"""Consultations (seed 001, area 4b): questions customers ask, by product, service channel,
department and period; the time from question to answer; and the share of customer suggestions
that were implemented.

    cons = consultations(study.table("interactions"), types=["consultation"])
    by_group(cons, "department")
    sugg = suggestion_uptake(study.table("interactions"), by="department")
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from insight.crm.attention_base import (
    AttentionDataError, add_product_names, days_between, example_rows, fmt_pct, in_period, period_bounds,
    period_label, require_columns, to_dates, wilson_ci,
)
from insight.data.engine import interactions_of


def consultations(interactions: pd.DataFrame, *, types=("consultation",), period=None,
                  freq: str = "quarter", products: pd.DataFrame | None = None) -> pd.DataFrame:
    """Consultation interactions with `answered` (a resolved_date, or status resolved/done),
    `days_to_answer` (resolved_date - date) and a `period` label."""
    # an engine table: only the consultations of the period come back
    interactions = interactions_of(interactions, types, *(period_bounds(period) if period is not None else (None, None)))
    require_columns(interactions, "interactions", ["interaction_id", "customer_id", "date", "type", "department"],
                    "the consultation analysis")
    d = interactions.loc[interactions["type"].isin(list(types))].copy()
    d["date"] = to_dates(d["date"])
    d = in_period(d, "date", period).copy()
    d["resolved_date"] = to_dates(d["resolved_date"]) if "resolved_date" in d.columns else pd.NaT
    days = days_between(d["date"], d["resolved_date"])
    bad = days < 0
    if bad.any():
        raise AttentionDataError(
            f"table 'interactions', column 'resolved_date': consultations answered before they were asked "
            f"({example_rows(d, bad, 'interaction_id')}). Fix: correct resolved_date (or date) in the export, "
            f"or blank it when unknown.")
    status_done = d["status"].isin(["resolved", "done"]) if "status" in d.columns else False
    d["answered"] = d["resolved_date"].notna() | status_done
    d["days_to_answer"] = days
    d["period"] = period_label(d["date"], freq)
    for col in ("product_id", "channel", "rep"):
        if col not in d.columns:
            d[col] = pd.NA
    add_product_names(d, products)
    return d.reset_index(drop=True)


def by_group(cons: pd.DataFrame, by: str, *, missing_label: str = "(not recorded)", top: int | None = None) -> pd.DataFrame:
    """Consultations per value of `by`: count, distinct customers, share answered, median and
    90th-percentile days to answer."""
    if by not in cons.columns:
        raise AttentionDataError(f"consultations have no column {by!r}; available: {sorted(cons.columns)}")
    key = cons[by].astype("object").where(cons[by].notna(), missing_label).astype(str)
    g = cons.groupby(key)
    out = pd.DataFrame({
        "consultations": g.size(),
        "customers": g["customer_id"].nunique(),
        "answered": g["answered"].mean(),
        "median days to answer": g["days_to_answer"].median(),
        "p90 days to answer": g["days_to_answer"].quantile(0.9),
    })
    out.index.name = by
    out = out.sort_values("consultations", ascending=False)
    if by == "period":
        out = out.sort_index()
    return out.head(top) if top else out


def suggestions(interactions: pd.DataFrame, *, types=("suggestion",), period=None, freq: str = "quarter",
                products: pd.DataFrame | None = None) -> pd.DataFrame:
    """Suggestion interactions with `implemented` as a nullable boolean (unknown stays missing)."""
    interactions = interactions_of(interactions, types, *(period_bounds(period) if period is not None else (None, None)))
    require_columns(interactions, "interactions", ["interaction_id", "customer_id", "date", "type"],
                    "the suggestion analysis")
    d = interactions.loc[interactions["type"].isin(list(types))].copy()
    d["date"] = to_dates(d["date"])
    d = in_period(d, "date", period).copy()
    if "implemented" not in d.columns:
        d["implemented"] = pd.NA
    d["implemented"] = d["implemented"].astype("boolean")
    d["period"] = period_label(d["date"], freq)
    for col in ("product_id", "department"):
        if col not in d.columns:
            d[col] = pd.NA
    add_product_names(d, products)
    return d.reset_index(drop=True)


def suggestion_uptake(sugg: pd.DataFrame, by: str | None = None, *, alpha: float = 0.05,
                      missing_label: str = "(not recorded)") -> pd.DataFrame:
    """Share of suggestions implemented (of those whose fate is known) with a Wilson 95% CI,
    overall (by=None) or per value of `by`."""
    known = sugg.loc[sugg["implemented"].notna()]
    if by is None:
        key = pd.Series("all suggestions", index=known.index)
        key_all = pd.Series("all suggestions", index=sugg.index)
    else:
        key = known[by].astype("object").where(known[by].notna(), missing_label).astype(str)
        key_all = sugg[by].astype("object").where(sugg[by].notna(), missing_label).astype(str)
    g = known.groupby(key)["implemented"]
    n = g.size()
    k = g.sum().astype(float)
    lo, hi = wilson_ci(k.to_numpy(), n.to_numpy(), alpha)
    out = pd.DataFrame({
        "suggestions": sugg.groupby(key_all).size(),
        "fate known": n,
        "implemented": k,
        "share implemented": k / n,
        "CI low": pd.Series(lo, index=n.index),
        "CI high": pd.Series(hi, index=n.index),
    })
    out.index.name = by or ""
    out[["fate known", "implemented"]] = out[["fate known", "implemented"]].fillna(0).astype(int)
    return out.sort_values("suggestions", ascending=False)


def plot_days_to_answer(cons: pd.DataFrame, by: str = "department"):
    """Median and quartiles of days to answer per group (horizontal bars with IQR whiskers)."""
    import matplotlib.pyplot as plt

    d = cons.dropna(subset=["days_to_answer"])
    g = d.groupby(by)["days_to_answer"]
    q = pd.DataFrame({"q1": g.quantile(0.25), "median": g.median(), "q3": g.quantile(0.75)}).sort_values("median")
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(q) + 1.6))
    y = np.arange(len(q))
    ax.barh(y, q["median"], color="#0072b2", alpha=0.8)
    ax.errorbar(q["median"], y, xerr=[q["median"] - q["q1"], q["q3"] - q["median"]], fmt="none", ecolor="#333", capsize=3)
    ax.set_yticks(y, q.index.astype(str))
    ax.set_xlabel("days from question to answer (median; whiskers: quartiles)")
    return fig


def findings(cons: pd.DataFrame, sugg: pd.DataFrame, *, min_base: int = 10) -> list[dict]:
    """record_finding keyword dicts: time to answer consultations, slowest department, suggestion uptake."""
    from insight.labels import days, pct
    out = []
    if len(cons):
        answered = float(cons["answered"].mean())
        med = float(cons["days_to_answer"].median())
        out.append(dict(
            id="crm.consultations.answer_time", source="crm", severity="info", metric="median days to answer",
            value=med, base=len(cons),
            statement=f"{pct(answered)} of the {len(cons):,} consultations were answered, after a median of "
                      f"{days(med)}.", extra={"share_answered": answered}))
        t = by_group(cons, "department")
        t = t.loc[t["consultations"] >= min_base].dropna(subset=["median days to answer"])
        if len(t) >= 2:
            from insight.labels import label, sentence
            med_col, p90_col = "median days to answer", "p90 days to answer"
            if t[med_col].max() > t[med_col].min():
                slow, fast = t[med_col].idxmax(), t[med_col].idxmin()
                metric, value = f"median days to answer, {label(slow)}", float(t.loc[slow, med_col])
                statement = sentence(f"{label(slow)} is the slowest department to answer consultations (median "
                                     f"{days(t.loc[slow, med_col])}, against {days(t.loc[fast, med_col])} in "
                                     f"{label(fast)}, the fastest).")
            elif t[p90_col].max() > t[p90_col].min():   # the same median everywhere: the slow tail tells them apart
                slow, fast = t[p90_col].idxmax(), t[p90_col].idxmin()
                metric, value = f"90th percentile of days to answer, {label(slow)}", float(t.loc[slow, p90_col])
                statement = (f"Every department answers half of its consultations within {days(t[med_col].iloc[0])}; "
                             f"the slow tail differs: 90% are answered within {days(t.loc[slow, p90_col])} in "
                             f"{label(slow)}, against {days(t.loc[fast, p90_col])} in {label(fast)}.")
            else:
                slow = t["consultations"].idxmax()
                metric, value = "median days to answer", float(t[med_col].iloc[0])
                statement = f"All departments answer consultations equally fast (median {days(t[med_col].iloc[0])})."
            out.append(dict(
                id="crm.consultations.slowest_department", source="crm", severity="info",
                metric=metric, value=value, base=int(t.loc[slow, "consultations"]), statement=statement))
    if len(sugg):
        u = suggestion_uptake(sugg).iloc[0]
        if u["fate known"] > 0:
            out.append(dict(
                id="crm.consultations.suggestions_implemented", source="crm", severity="info",
                metric="share of suggestions implemented", value=float(u["share implemented"]),
                base=int(u["fate known"]), ci_low=float(u["CI low"]), ci_high=float(u["CI high"]),
                statement=f"{fmt_pct(u['share implemented'])} of the {int(u['fate known']):,} customer suggestions "
                          f"whose fate is known were implemented."))
    return out

"""Survey metrics with confidence intervals, overall and by group, weighted.

NPS (promoters 9-10 minus detractors 0-6) with the adjusted-Wald interval; CSAT as % top-2-box;
CES as mean and % agree (5-7); PMF as % "very disappointed" against the 40% benchmark; rating
and Likert questions as mean and top-2-box. Intervals use the Kish effective base when weighted.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from insight.stats import mean_ci, nps, share_ci
from insight.survey.questionnaire import Question, Questionnaire

COLUMNS = ["question", "metric", "group_by", "group", "value", "ci_low", "ci_high", "n", "n_eff", "unit",
           "suppressed", "small"]


def _weights(df: pd.DataFrame, weights) -> pd.Series | None:
    if weights is None:
        return None
    if isinstance(weights, str):
        return df[weights]
    return pd.Series(weights, index=df.index)


def question_metrics(df: pd.DataFrame, q: Question, weights=None, confidence: float = 0.95) -> list[dict]:
    """The metrics of one question on one group of respondents (list of row dicts)."""
    w = _weights(df, weights)
    if q.id not in df.columns:
        return []
    s = pd.to_numeric(df[q.id], errors="coerce") if q.scale is not None else df[q.id]
    rows = []

    def add(metric, value, lo, hi, n, n_eff, unit):
        rows.append({"question": q.id, "metric": metric, "value": value, "ci_low": lo, "ci_high": hi,
                     "n": int(n), "n_eff": float(n_eff), "unit": unit})

    if q.type == "nps":
        r = nps(s, w, confidence)
        add("NPS", r.nps, r.ci_low, r.ci_high, r.n, r.n_eff, "points")
        add("% promoters (9-10)", r.promoters, *share_ci((s >= 9).where(s.notna()), w, confidence)[1:3], r.n, r.n_eff, "%")
        add("% detractors (0-6)", r.detractors, *share_ci((s <= 6).where(s.notna()), w, confidence)[1:3], r.n, r.n_eff, "%")
    elif q.type == "pmf":
        p, lo, hi, n, ne = share_ci((s == "very").where(s.notna()), w, confidence)
        add("% very disappointed (PMF)", p, lo, hi, n, ne, "%")
    elif q.is_scale:
        top = q.top_codes
        label = "% agree (5-7)" if q.type == "ces" else "% top-2-box"
        if q.type == "csat":
            label = "% satisfied (top-2-box)"
        p, lo, hi, n, ne = share_ci(s.isin(top).where(s.notna()), w, confidence)
        m, mlo, mhi, _, _ = mean_ci(s, w, confidence)
        if q.type == "ces":
            add("mean (1-7)", m, mlo, mhi, n, ne, "mean")
            add(label, p, lo, hi, n, ne, "%")
        else:
            add(label, p, lo, hi, n, ne, "%")
            add(f"mean ({q.scale.min}-{q.scale.max})", m, mlo, mhi, n, ne, "mean")
    return rows


def metric_table(df: pd.DataFrame, qn: Questionnaire, questions: list[str] | None = None, weights=None,
                 by: str | None = None, confidence: float = 0.95, small_base: int = 30, tiny_base: int = 10) -> pd.DataFrame:
    """Long table of metrics: one row per question x metric (x group when `by` is given).
    Groups with fewer than `tiny_base` answers are suppressed (value NaN), fewer than
    `small_base` flagged small."""
    qs = [qn.question(q) for q in questions] if questions else [q for q in qn.questions if q.is_scale or q.type == "pmf"]
    w = _weights(df, weights)
    if by is None:
        groups = [("all respondents", df.index)]
    else:
        if by not in df.columns:
            raise KeyError(f"survey_responses has no column {by!r} to group by")
        groups = [(str(g), idx) for g, idx in df.groupby(by, observed=True).groups.items()]
    rows = []
    for gname, idx in groups:
        sub = df.loc[idx]
        sw = None if w is None else w.loc[idx]
        for q in qs:
            for r in question_metrics(sub, q, sw, confidence):
                r["group_by"] = by or "all"
                r["group"] = gname
                rows.append(r)
    out = pd.DataFrame(rows, columns=COLUMNS)
    if len(out):
        out["suppressed"] = out["n"] < tiny_base
        out["small"] = (out["n"] < small_base) & ~out["suppressed"]
        out.loc[out["suppressed"], ["value", "ci_low", "ci_high"]] = np.nan
    return out


def format_metric(value, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "%":
        return f"{100 * value:.0f}%"
    if unit == "points":  # '0', never '-0' or '+0', for a score that rounds to zero
        return f"{value:+.0f}" if round(value) != 0 else "0"
    return f"{value:.2f}"


def metric_display(table: pd.DataFrame, qn: Questionnaire | None = None) -> pd.DataFrame:
    """A reviewer-readable version of metric_table: value with its interval as text."""
    t = table.copy()
    t["estimate"] = [format_metric(v, u) for v, u in zip(t["value"], t["unit"])]
    t["95% interval"] = [("–" if (isinstance(lo, float) and math.isnan(lo)) else
                          f"{format_metric(lo, u)} to {format_metric(hi, u)}")
                         for lo, hi, u in zip(t["ci_low"], t["ci_high"], t["unit"])]
    t["base"] = [f"{n:,}" + (" ⚠ small" if s else "") + (" (suppressed)" if x else "")
                 for n, s, x in zip(t["n"], t["small"], t["suppressed"])]
    if qn is not None:
        t["question"] = [f"{qid}: {qn.question(qid).text}" for qid in t["question"]]
    cols = ["question", "metric"] + (["group"] if t["group_by"].nunique() and (t["group_by"] != "all").any() else []) \
        + ["estimate", "95% interval", "base"]
    return t[cols].reset_index(drop=True)


def plot_metric_by_group(table: pd.DataFrame, metric: str, title: str | None = None, benchmark: float | None = None):
    """Horizontal dot-and-interval chart of one metric across groups (matplotlib figure)."""
    import matplotlib.pyplot as plt

    t = table[(table["metric"] == metric) & ~table["suppressed"]].copy()
    unit = t["unit"].iloc[0] if len(t) else "mean"
    scale = 100 if unit == "%" else 1
    fig, ax = plt.subplots(figsize=(7.5, 0.5 + 0.45 * max(len(t), 1)))
    y = np.arange(len(t))
    ax.errorbar(t["value"] * scale, y, xerr=[(t["value"] - t["ci_low"]) * scale, (t["ci_high"] - t["value"]) * scale],
                fmt="o", capsize=3)
    ax.set_yticks(y, [f"{str(g).replace('_', ' ')} (n={n})" for g, n in zip(t["group"], t["n"])])
    if benchmark is not None:
        ax.axvline(benchmark * scale, ls="--", color="grey", lw=1)
    ax.set_xlabel(metric + (" (%)" if unit == "%" else ""))
    ax.set_title(title or metric)
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


KEY_METRICS = [("q_nps", "NPS", "NPS (promoters − detractors)"),
               ("q_csat", "% satisfied (top-2-box)", "CSAT: % satisfied"),
               ("q_ces", "% agree (5-7)", "CES: % agree it was easy"),
               ("q_ces", "mean (1-7)", "CES: mean (1-7)"),
               ("q_pmf", "% very disappointed (PMF)", "PMF: % very disappointed")]


def _interval(lo, hi, unit) -> str:
    if lo is None or (isinstance(lo, float) and math.isnan(lo)):
        return "–"
    return f"{format_metric(lo, unit)} to {format_metric(hi, unit)}"


def _base(n, small, suppressed) -> str:
    return f"{n:,}" + (" ⚠ small" if small else "") + (" (suppressed)" if suppressed else "")


def key_metrics_display(table: pd.DataFrame) -> pd.DataFrame:
    """The headline metrics (NPS, CSAT, CES, PMF) of an overall metric_table, one row each."""
    rows = []
    for qid, metric, label in KEY_METRICS:
        r = table[(table["question"] == qid) & (table["metric"] == metric)]
        if r.empty:
            continue
        r = r.iloc[0]
        rows.append({"metric": label, "estimate": format_metric(r["value"], r["unit"]),
                     "95% interval": _interval(r["ci_low"], r["ci_high"], r["unit"]),
                     "base": _base(r["n"], r["small"], r["suppressed"])})
    return pd.DataFrame(rows, columns=["metric", "estimate", "95% interval", "base"])


def questions_display(table: pd.DataFrame, qn: Questionnaire) -> pd.DataFrame:
    """Every rating question of an overall metric_table on one row: top box and mean with intervals."""
    rows = []
    for qid, g in table.groupby("question", sort=False):
        q = qn.question(qid)
        if not q.is_scale or q.type == "nps":
            continue
        top = g[g["unit"] == "%"].iloc[0]
        mean = g[g["unit"] == "mean"].iloc[0]
        rows.append({"question": qid, "text": q.text + (" (reverse-worded)" if q.reverse else ""),
                     "top box means": "5-7" if q.type == "ces" else f"{q.scale.max - 1}-{q.scale.max}",
                     "top box": format_metric(top["value"], "%"),
                     "top box interval": _interval(top["ci_low"], top["ci_high"], "%"),
                     "mean": format_metric(mean["value"], "mean"), "mean interval": _interval(mean["ci_low"], mean["ci_high"], "mean"),
                     "scale": f"{q.scale.min}-{q.scale.max}", "base": _base(top["n"], top["small"], top["suppressed"])})
    return pd.DataFrame(rows)


def by_group_display(table: pd.DataFrame, metrics: list[str] | None = None) -> pd.DataFrame:
    """A by-group metric_table as one row per group, one column (estimate and interval) per metric."""
    t = table if metrics is None else table[table["metric"].isin(metrics)]
    rows = {}
    for _, r in t.iterrows():
        row = rows.setdefault(r["group"], {"group": str(r["group"]).replace("_", " "),
                                           "base": _base(r["n"], r["small"], r["suppressed"])})
        row[r["metric"]] = (f"{format_metric(r['value'], r['unit'])} ({_interval(r['ci_low'], r['ci_high'], r['unit'])})"
                            if not r["suppressed"] else "–")
    cols = ["group", *dict.fromkeys(t["metric"]), "base"]
    return pd.DataFrame(list(rows.values())).reindex(columns=cols)

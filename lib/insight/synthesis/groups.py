"""Group differences confirmed: key measures across segment, region, customer status and role, each
with the fitting test, effect size and a corrected p-value, and per-group estimates with intervals."""
from __future__ import annotations

import numpy as np
import pandas as pd

from insight.stats import compare_groups, is_significant, mean_ci, nps, p_adjust


def group_estimates(df: pd.DataFrame, measure: str, group_by: str, min_n: int = 10) -> pd.DataFrame:
    """Per group: the estimate with its 95% interval (NPS for q_nps, else the mean) and the base;
    weighted by the `weight` column when there is one (as the survey report computes them)."""
    rows = []
    for g, part in df.groupby(group_by, observed=True):
        s = part[measure].dropna()
        if len(s) < min_n:
            continue
        w = part.loc[s.index, "weight"] if "weight" in part.columns else None
        if measure == "q_nps":
            r = nps(s, w)
            rows.append({"group": g, "estimate": r.nps, "ci_low": r.ci_low, "ci_high": r.ci_high, "n": r.n})
        else:
            m, lo, hi, n, _ = mean_ci(s, w)
            rows.append({"group": g, "estimate": m, "ci_low": lo, "ci_high": hi, "n": n})
    return pd.DataFrame(rows)


def group_differences(df: pd.DataFrame, measures: list[str], attributes: list[str], method: str = "holm",
                      min_n: int = 10, alpha: float = 0.05) -> pd.DataFrame:
    """Every measure x attribute: test, statistic, effect size, raw and corrected p (one family)."""
    rows = []
    for m in measures:
        if m not in df.columns:
            continue
        for a in attributes:
            if a not in df.columns:
                continue
            d = df[[m, a]].dropna()
            counts = d[a].value_counts()
            keep = counts[counts >= min_n].index
            d = d[d[a].isin(keep)]
            if d[a].nunique() < 2:
                continue
            r = compare_groups(d, m, a, measure_type="ordinal" if m != "q_nps" else "ordinal")
            rows.append({"measure": m, "attribute": a, "test": r.test, "statistic": r.statistic,
                         "effect_size": r.effect_size, "effect_size_name": r.effect_size_name,
                         "ci_low": r.ci_low, "ci_high": r.ci_high,
                         "p_value": r.p_value, "n": r.n, "groups": len(r.groups)})
    out = pd.DataFrame(rows)
    if not out.empty:
        out["p_adjusted"] = p_adjust(out["p_value"].to_numpy(), method)
        out["significant"] = [is_significant(p, alpha) for p in out["p_adjusted"]]
    return out


def plot_group_estimates(est: dict[str, pd.DataFrame], measure_label: str, overall: float | None = None):
    """Dot-and-whisker chart: one panel row per attribute, each group's estimate with its interval."""
    import matplotlib.pyplot as plt

    labels, vals, los, his, ns, colors = [], [], [], [], [], []
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (attr, t) in enumerate(est.items()):
        for _, r in t.iterrows():
            labels.append(f"{attr}: {r['group']}".replace("_", " "))
            vals.append(r["estimate"]); los.append(r["ci_low"]); his.append(r["ci_high"]); ns.append(r["n"])
            colors.append(palette[i % len(palette)])
    y = np.arange(len(labels))[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(labels) + 1.2))
    for yi, v, lo, hi, c in zip(y, vals, los, his, colors):
        ax.plot([lo, hi], [yi, yi], color=c, lw=2)
        ax.plot(v, yi, "o", color=c)
    ax.set_yticks(y, [f"{l} (n={n})" for l, n in zip(labels, ns)])
    if overall is not None:
        ax.axvline(overall, color="grey", ls="--", lw=0.8)
    ax.set_xlabel(f"{measure_label} with 95% interval (overlapping bars: no clear difference)")
    return fig

"""Key drivers: which attributes move the outcome (relative importance), and where each stands
(performance) — the importance-performance chart."""
from __future__ import annotations

import pandas as pd


def relative_importance(df: pd.DataFrame, target: str, items: list[str]) -> pd.DataFrame:
    """LMG relative importance (Lindeman, Merenda & Gold; the R^2 averaged over orderings) via pingouin:
    each attribute's share of the explained variance of `target`. Rows with any missing value dropped."""
    import pingouin as pg

    items = [c for c in items if c in df.columns]
    if len(items) < 2:
        raise ValueError(f"need at least two driver items present in the data; found {items}")
    d = df[[target, *items]].dropna().astype(float)
    if len(d) < 10 * len(items):
        raise ValueError(f"only {len(d)} complete answers for {len(items)} drivers: too few to rank them")
    lm = pg.linear_regression(d[items], d[target], relimp=True)
    lm = lm[lm["names"] != "Intercept"].set_index("names")
    out = pd.DataFrame({"importance": lm["relimp"], "importance_share": lm["relimp_perc"] / 100.0,
                        "coef": lm["coef"], "p_value": lm["pval"]})
    out["r2_total"] = lm["relimp"].sum()
    out["base"] = len(d)
    return out.sort_values("importance", ascending=False)


def importance_performance(df: pd.DataFrame, target: str, items: list[str], top_box: int = 4,
                           reverse: tuple[str, ...] = ()) -> pd.DataFrame:
    """Importance (LMG share) against performance (% agreeing, top-2 box on a 1-5 scale) per attribute,
    with the quadrant a reviewer acts on."""
    imp = relative_importance(df, target, items)
    perf = {}
    for c in imp.index:
        s = df[c].dropna()
        perf[c] = ((s <= 6 - top_box) if c in reverse else (s >= top_box)).mean()
    imp["performance"] = pd.Series(perf)
    hi_imp = imp["importance_share"] >= imp["importance_share"].median()
    hi_perf = imp["performance"] >= imp["performance"].median()
    imp["quadrant"] = "keep up the good work"
    imp.loc[hi_imp & ~hi_perf, "quadrant"] = "fix first"
    imp.loc[~hi_imp & ~hi_perf, "quadrant"] = "low priority"
    imp.loc[~hi_imp & hi_perf, "quadrant"] = "possible overkill"
    return imp


def plot_importance_performance(ip: pd.DataFrame, labels: dict[str, str] | None = None):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5))
    ax.scatter(ip["performance"] * 100, ip["importance_share"] * 100, s=60)
    for name, r in ip.iterrows():
        ax.annotate((labels or {}).get(name, name), (r["performance"] * 100, r["importance_share"] * 100),
                    xytext=(5, 4), textcoords="offset points", fontsize=9)
    ax.axvline(ip["performance"].median() * 100, color="grey", lw=0.8, ls="--")
    ax.axhline(ip["importance_share"].median() * 100, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("Performance: % agreeing (top-2 box)")
    ax.set_ylabel("Importance: % of explained variance")
    ax.text(0.01, 0.98, "fix first", transform=ax.transAxes, va="top", color="firebrick", fontsize=9)
    ax.text(0.99, 0.98, "keep up the good work", transform=ax.transAxes, va="top", ha="right", color="seagreen", fontsize=9)
    return fig

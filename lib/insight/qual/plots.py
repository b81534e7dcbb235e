"""Figures of the qualitative analyses (matplotlib, house style from insight.display.setup_plots).

Each function takes the DataFrame of the matching insight.qual.analysis function and returns a
matplotlib Figure for show_figure; labels from data (codes, theme terms, possibly Chinese) are
drawn with the CJK-capable font family of insight.fonts.
"""
from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from insight.labels import label, labels_of


def _fonts():
    from insight.fonts import font_family
    plt.rcParams["font.family"] = font_family()


def _tight(fig):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Tight layout not applied")
        fig.tight_layout()


def frequency_heatmap(freq: pd.DataFrame, attribute: str, min_base: int = 0, overall: pd.DataFrame | None = None):
    """Share of participants with each code (rows) per group of the attribute (columns).

    With `overall` (code_frequency without `by`), its column comes first and the rows follow its
    order (analysis.code_order), so the heat map reads like the table of all participants. Groups
    below min_base are left out (list them with analysis.omitted_groups)."""
    import seaborn as sns

    from insight.qual.analysis import code_order
    _fonts()
    parts = [overall.assign(group="all participants")] if overall is not None else []
    kept = freq[freq["base"] >= min_base]
    full = pd.concat([*parts, kept], ignore_index=True)
    share = full.pivot(index="code", columns="group", values="share")
    base = full.drop_duplicates("group").set_index("group")["base"]
    cols = (["all participants"] if overall is not None else []) + sorted(kept["group"].unique(), key=str)
    share = share.reindex(index=code_order(overall if overall is not None else freq), columns=cols)
    fig, ax = plt.subplots(figsize=(max(5.5, 3.2 + 1.2 * share.shape[1]), 1.2 + 0.36 * max(len(share), 1)))
    sns.heatmap(share * 100, annot=True, fmt=".0f", cmap="Blues", vmin=0, vmax=100, cbar_kws={"label": "% of participants"},
                ax=ax, linewidths=0.5)
    ax.set_xticklabels([f"{labels_of([c], 11)[0]}\n(n={base.get(c, 0)})" for c in share.columns], rotation=0)
    if overall is not None and share.shape[1] > 1:
        ax.axvline(1, color="white", lw=4)
    ax.set_yticklabels([label(c) for c in share.index], rotation=0)
    ax.set_xlabel(label(attribute))
    ax.set_ylabel("")
    ax.set_title("% of participants who raised each code")
    _tight(fig)
    return fig


def concentration_plot(conc: pd.DataFrame, focus_label: str, top: int = 12):
    """Share of the focus group vs all other participants with each code (dumbbell chart)."""
    _fonts()
    d = conc.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.8 + 0.4 * max(len(d), 1)))
    y = np.arange(len(d))
    ax.hlines(y, d["others_share"] * 100, d["focus_share"] * 100, color="#bbbbbb", lw=2)
    ax.scatter(d["others_share"] * 100, y, color="#7f7f7f", label="all other participants", zorder=3)
    ax.scatter(d["focus_share"] * 100, y, color="#d55e00", label=focus_label, zorder=3)
    ax.set_yticks(y, [label(c) + (" *" if p < 0.05 else "") for c, p in zip(d["code"], d["p_adjusted"])])
    ax.set_xlabel("% of participants with the code")
    ax.set_xlim(0, 100)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / max(len(d), 1)), ncols=2, frameon=False)
    ax.set_title(f"Codes raised by {focus_label} vs others (* = real difference)")
    _tight(fig)
    return fig


def cooccurrence_heatmap(matrix: pd.DataFrame):
    """Co-occurrence counts; the diagonal (units with the code) is blanked to show the pairs."""
    import seaborn as sns
    _fonts()
    arr = matrix.to_numpy(dtype=float, copy=True)
    np.fill_diagonal(arr, np.nan)
    m = pd.DataFrame(arr, index=matrix.index, columns=matrix.columns)
    n = max(len(m), 1)
    fig, ax = plt.subplots(figsize=(1.5 + 0.55 * n, 1.2 + 0.5 * n))
    sns.heatmap(m, annot=True, fmt=".0f", cmap="Purples", ax=ax, cbar_kws={"label": "units with both codes"},
                linewidths=0.5)
    ax.set_xticklabels([label(c) for c in m.columns], rotation=45, ha="right")
    ax.set_yticklabels([label(c) for c in m.index], rotation=0)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(f"Codes found together ({matrix.attrs.get('unit', '')})")
    _tight(fig)
    return fig


def saturation_plot(curve: pd.DataFrame, batch: int = 3):
    """Cumulative distinct codes (line) and new codes (bars) per additional interview."""
    _fonts()
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    n = curve["interview"].to_numpy()
    if len(curve) <= 150:
        ax.bar(n, curve["new_codes"], color="#56b4e9", label="new codes in this interview")
    else:   # hundreds of interviews: the same bars as one outline (thousands of bars take seconds to draw)
        ax.stairs(curve["new_codes"].to_numpy(), np.append(n - 0.5, n[-1] + 0.5), fill=True, color="#56b4e9",
                  label="new codes in this interview")
    ax.plot(n, curve["cumulative_codes"], color="#0072b2", marker="o" if len(curve) <= 150 else None, ms=3,
            label="codes found so far")
    if len(curve) > batch:
        ax.axvspan(curve["interview"].iloc[-batch] - 0.5, curve["interview"].iloc[-1] + 0.5, color="#eeeeee",
                   zorder=0, label=f"last {batch} interviews")
    ax.set_xlabel("interviews, in the order they were held")
    ax.set_ylabel("codes")
    ax.legend(frameon=False, loc="center right")
    ax.set_title("Saturation: do more interviews still find new codes?")
    _tight(fig)
    return fig


def evidence_plot(evidence: pd.DataFrame):
    """Share of participants with supporting and contradicting codes per hypothesis."""
    _fonts()
    d = evidence.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.55 * max(len(d), 1)))
    y = np.arange(len(d))
    ax.barh(y + 0.18, d["supporting_share"] * 100, height=0.36, color="#009e73", label="supporting codes")
    ax.barh(y - 0.18, d["contradicting_share"].fillna(0) * 100, height=0.36, color="#cc79a7",
            label="contradicting codes")
    ax.set_yticks(y, [f"{h}: {v}" for h, v in zip(d["hypothesis"], d["evidence"])])
    ax.set_xlabel("% of participants heard")
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.25 - 0.4 / max(len(d), 1)), ncols=2)
    ax.set_title("Qualitative evidence per hypothesis")
    _tight(fig)
    return fig


def timeline_plot(timeline: pd.DataFrame):
    """Immersion observation-log entries: date (x) by code (y), one marker style per site."""
    _fonts()
    codes = sorted(timeline["code"].unique())
    fig, ax = plt.subplots(figsize=(7.5, 1.0 + 0.4 * max(len(codes), 1)))
    ymap = {c: i for i, c in enumerate(codes)}
    markers = "osD^v<>p*h"
    for i, (site, g) in enumerate(timeline.groupby("site")):
        ax.scatter(g["date"], g["code"].map(ymap), marker=markers[i % len(markers)], s=40, alpha=0.8,
                   label=f"site {i + 1}")
    ax.set_yticks(range(len(codes)), [label(c) for c in codes])
    ax.set_xlabel("date of the observation")
    if timeline["site"].nunique() <= 8:
        ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1, 1))
    ax.set_title("Immersion: what was observed, when")
    fig.autofmt_xdate()
    _tight(fig)
    return fig


def themes_plot(themes: pd.DataFrame, title: str = "Suggested themes"):
    """Texts per suggested theme, labelled by their top terms (Chinese terms render as text)."""
    _fonts()
    d = themes.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.5 * max(len(d), 1)))
    ax.barh(np.arange(len(d)), d["share"] * 100, color="#0072b2")
    ax.set_yticks(np.arange(len(d)), [f"{t}. {lab}" for t, lab in zip(d["theme"], d["label"])])
    ax.set_xlabel("% of texts")
    ax.set_title(title)
    _tight(fig)
    return fig


def sentiment_plot(summary: pd.DataFrame):
    """Stacked shares of positive / neutral / negative per group (scored texts only)."""
    _fonts()
    d = summary.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.5 * max(len(d), 1)))
    left = np.zeros(len(d))
    for col, colour in (("negative", "#d55e00"), ("neutral", "#bbbbbb"), ("positive", "#009e73")):
        vals = d[f"{col}_share"].fillna(0).to_numpy() * 100
        ax.barh(np.arange(len(d)), vals, left=left, color=colour, label=col)
        left += vals
    ax.set_yticks(np.arange(len(d)), labels_of(d["group"]))
    ax.set_xlabel("% of scored texts")
    ax.set_xlim(0, 100)
    ax.legend(frameon=False, ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    _tight(fig)
    return fig


__all__ = ["frequency_heatmap", "concentration_plot", "cooccurrence_heatmap", "saturation_plot", "evidence_plot",
           "timeline_plot", "themes_plot", "sentiment_plot"]

"""VOC phase 1: the sample design against the recruited sample, and the survey's precision.

- `recruited_sample` / `survey_sample`: the people actually in the sample (interview participants
  marked recruited, industry experts left out; completed survey responses of the study's wave).
- `coverage`: per checklist dimension (gender, age band, region, segment, role, customer status)
  the recruited count and share against the target share, flags (none recruited, below the minimum
  per cell, under- or over-represented), a goodness-of-fit test, a homogeneity measure (normalised
  Shannon entropy and Gini-Simpson), and the crossed quota grid of two dimensions.
- `margin_of_error`, `required_base`, `detectable_difference`, `detectable_rating_difference`,
  `precision_table`, `power_table`: what a survey of a given base can tell apart.

All counts are vectorised (value_counts / crosstab); the loops run over dimensions and values of
the params, never over rows.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from insight.labels import label, labels_of

from insight.checks import InputError
from scipy import stats

from insight.config.scope import DIMENSION_LABELS, SAMPLE_DIMENSIONS
from insight.speedups import isin

STATUS_LABELS = {
    "none": "⚠ none recruited",
    "below_min": "⚠ below the minimum",
    "under": "▼ under-represented",
    "over": "▲ over-represented",
    "ok": "✓ on target",
    "unplanned": "not in the targets",
    "no_target": "no target set",
    "no_match": "⚠ target value not in the data",
}
FLAGGED = ("none", "below_min", "under", "over")
MISSING = "(not recorded)"


class SampleError(InputError):
    """Bad sample input: names the table, the column, example rows and the fix."""


# --- who is in the sample ---------------------------------------------------------------------

_BOOL_WORDS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False,
               "1.0": True, "0.0": False, "t": True, "f": False, "y": True, "n": False}


def _bool_column(df: pd.DataFrame, col: str, table: str) -> pd.Series:
    """A True/False column (vectorised), missing values kept as <NA>; anything else is an error
    naming the table, column, example rows and the fix."""
    s = df[col]
    if pd.api.types.is_bool_dtype(s):
        return s.astype("boolean")
    txt = s.astype("string").str.strip().str.lower()
    mapped = txt.map(_BOOL_WORDS)
    bad = (txt.notna() & (txt != "") & mapped.isna()).to_numpy()
    if bad.any():
        rows = list(df.index[bad][:5])
        raise SampleError(f"{table}.{col} must be True or False; rows {rows} hold {list(pd.unique(s[bad])[:5])} "
                          f"({int(bad.sum())} rows in all). Fix: write True / False (or yes / no) in {col}.")
    return mapped.astype("boolean")


def recruited_sample(participants: pd.DataFrame, exclude_roles=("expert",)) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(recruited, on the recruitment list only) participants, industry experts left out.

    `recruited` True: recruited for the interviews; False: on the recruitment list only; empty: not
    recruited (e.g. self-selected community posters). Without a `recruited` column every participant
    counts as recruited (the table then lists the sample itself).
    """
    df = participants
    if "role" in df.columns and exclude_roles:
        df = df[~df["role"].isin(list(exclude_roles))]
    if "recruited" not in df.columns:
        return df.copy(), df.iloc[0:0].copy()
    flag = _bool_column(df, "recruited", "participants")
    return df[flag.fillna(False).astype(bool)].copy(), df[(~flag).fillna(False).astype(bool)].copy()


def survey_sample(responses: pd.DataFrame, wave: int | None = None) -> tuple[pd.DataFrame, str]:
    """Completed responses of one wave (default: the latest wave in the table) and a note saying which."""
    df = responses
    notes = []
    if "completed" in df.columns:
        df = df[_bool_column(df, "completed", "survey_responses").fillna(False).astype(bool)]
        notes.append("completed responses only")
    if "wave" in df.columns and df["wave"].notna().any():
        waves = sorted(pd.unique(df["wave"].dropna()))
        chosen = wave if wave is not None else waves[-1]
        if chosen not in waves:
            raise SampleError(f"survey_responses.wave has no wave {chosen!r}; it has {waves}. "
                              "Fix: pass one of these waves, or check the survey export.")
        df = df[df["wave"] == chosen]
        notes.insert(0, f"wave {chosen}")
    return df.copy(), ", ".join(notes)


# --- coverage ---------------------------------------------------------------------------------

@dataclass
class Coverage:
    """The sample against its targets."""
    source: str                          # e.g. "interviews", "survey"
    table_name: str                      # the canonical table read
    n: int                               # people in the sample
    table: pd.DataFrame                  # one row per dimension x value
    summary: pd.DataFrame                # one row per dimension
    grid: pd.DataFrame | None = None     # the crossed quota grid (long), when asked
    cross: tuple[str, str] | None = None
    skipped: list[str] = field(default_factory=list)   # targeted dimensions the table lacks
    mismatched: list[str] = field(default_factory=list)  # targeted dimensions whose targets match no recorded value
    min_per_cell: int = 3

    @property
    def flagged(self) -> pd.DataFrame:
        return self.table[self.table["status"].isin(FLAGGED)]

    def status(self, dimension: str, value: str) -> str:
        row = self.table[(self.table["dimension"] == dimension) & (self.table["value"] == value)]
        if row.empty:
            raise KeyError(f"no {dimension}={value!r} in the coverage table")
        return str(row["status"].iloc[0])

    def display_table(self) -> pd.DataFrame:
        """The coverage table for a reviewer (labels, percentages as numbers 0-100)."""
        t = self.table
        out = pd.DataFrame({
            "Dimension": t["dimension"].map(DIMENSION_LABELS),
            "Value": labels_of(t["value"].astype(str)),
            "Target %": (t["target"] * 100).round(1),
            "In the sample": t["n"],
            "% of the sample": (t["share"] * 100).round(1),
            "Expected n": t["expected_n"].round(1),
            "Gap (points)": t["gap_pp"].round(1),
            "Status": t["status"].map(STATUS_LABELS),
        })
        if "available" in t.columns:
            out.insert(4, "On the list, not recruited", t["available"])
        return out

    def display_summary(self) -> pd.DataFrame:
        """One row per dimension: how many recorded, how varied, how close to the targets (formatted)."""
        s = self.summary
        two = lambda v: "" if pd.isna(v) else f"{v:.2f}"
        pval = lambda v: "" if pd.isna(v) else ("< 0.001" if v < 0.001 else f"{v:.3f}")
        return pd.DataFrame({
            "Dimension": s["dimension"].map(DIMENSION_LABELS),
            "Recorded": s["n"],
            "Not recorded": s["missing"],
            "Groups seen": s["values_seen"],
            "Homogeneity (entropy, 0-1)": s["entropy"].map(two),
            "Targets' entropy": s["target_entropy"].map(two),
            "Gini-Simpson (0-1)": s["gini_simpson"].map(two),
            "Fit to targets: p": s["p_value"].map(pval),
            "Verdict": s["verdict"],
        })


def _slug(v) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(v).lower()).strip("_") or "x"


def normalised_entropy(counts, k: int | None = None) -> float:
    """Shannon entropy of the shares divided by ln(k) (k = number of categories, default len(counts)):
    0 = everyone in one category, 1 = spread evenly over k categories."""
    c = np.asarray(counts, dtype=float)
    c = c[c > 0]
    k = int(k if k is not None else len(np.asarray(counts)))
    if c.sum() == 0:
        return float("nan")
    if k <= 1:
        return 0.0
    return float(stats.entropy(c) / math.log(k))


def gini_simpson(counts, k: int | None = None) -> float:
    """1 - sum(p^2), normalised by its maximum 1 - 1/k (k categories): 0 = all alike, 1 = even."""
    c = np.asarray(counts, dtype=float)
    k = int(k if k is not None else len(c))
    tot = c.sum()
    if tot == 0:
        return float("nan")
    if k <= 1:
        return 0.0
    p = c / tot
    return float((1 - (p ** 2).sum()) / (1 - 1 / k))


def _fit_test(observed: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Chi-square goodness of fit of the observed counts to the target shares (categories with a target)."""
    keep = target > 0
    obs, tgt = observed[keep], target[keep]
    if keep.sum() < 2 or obs.sum() == 0:
        return float("nan"), float("nan")
    expected = tgt / tgt.sum() * obs.sum()
    res = stats.chisquare(obs, expected)
    return float(res.statistic), float(res.pvalue)


def coverage(sample: pd.DataFrame, targets: dict[str, dict[str, float]], *, source: str = "sample",
             table_name: str = "participants", dimensions=None, min_per_cell: int = 3,
             under_ratio: float = 0.67, over_ratio: float = 1.5, homogeneity_warning: float = 0.5,
             pool: pd.DataFrame | None = None, cross: list[str] | tuple[str, ...] | None = None) -> Coverage:
    """Compare a sample with target shares per dimension.

    targets: {dimension: {value: share}} (each sums to 1). Dimensions without targets are still
    described (counts, homogeneity) when the table has them. `pool`: people on the recruitment
    list but not recruited, counted per value ("On list, not recruited") to show who could fill a gap.
    """
    dims = list(dimensions) if dimensions is not None else list(SAMPLE_DIMENSIONS)
    for d in targets:
        if d not in dims:
            dims.append(d)
    n = len(sample)
    parts, summary, skipped, mismatched = [], [], [], []
    for dim in dims:
        tgt = dict(targets.get(dim) or {})
        if dim not in sample.columns:
            if tgt:
                skipped.append(dim)
            continue
        values = sample[dim]
        missing = int(values.isna().sum())
        counts = values.dropna().astype(str).value_counts()
        if not tgt and counts.empty:
            continue
        order = list(tgt) + sorted(v for v in counts.index if v not in tgt)
        t = pd.DataFrame({"dimension": dim, "value": order})
        t["target"] = t["value"].map(tgt).astype(float)
        t["n"] = counts.reindex(order, fill_value=0).to_numpy().astype(int)
        known = int(t["n"].sum())
        t["share"] = t["n"] / known if known else np.nan
        t["expected_n"] = t["target"] * known
        t["ratio"] = t["share"] / t["target"].where(t["target"] > 0)
        t["gap_pp"] = (t["share"] - t["target"]) * 100
        has_t = t["target"].notna() & (t["target"] > 0)
        t["status"] = np.select(
            [~t["target"].notna() & bool(tgt), ~has_t & t["target"].notna(), ~has_t,
             t["n"] == 0, t["n"] < min_per_cell, t["ratio"] < under_ratio, t["ratio"] > over_ratio],
            ["unplanned", "unplanned", "no_target", "none", "below_min", "under", "over"], default="ok")
        mismatch = bool(tgt) and known > 0 and not counts.index.isin(list(tgt)).any()
        if mismatch:   # the targets name none of the recorded values (other regions, a typo): no flags
            t.loc[t["value"].isin(list(tgt)), "status"] = "no_match"
            mismatched.append(dim)
        if pool is not None and dim in pool.columns:
            avail = pool[dim].dropna().astype(str).value_counts()
            t["available"] = avail.reindex(order, fill_value=0).to_numpy().astype(int)
        elif pool is not None:
            t["available"] = 0
        parts.append(t)

        k = len(order) if not mismatch else len(counts)
        ent = normalised_entropy(t["n"].to_numpy(), k)
        tgt_ent = normalised_entropy(t["target"].fillna(0).to_numpy(), k) if tgt else float("nan")
        chi2, p = (_fit_test(t["n"].to_numpy().astype(float), t["target"].fillna(0).to_numpy())
                   if tgt and not mismatch else (np.nan, np.nan))
        if known == 0:
            verdict = "not recorded"
        elif mismatch:
            verdict = "⚠ the targets name none of the recorded values"
        elif ent < homogeneity_warning:
            verdict = "⚠ homogeneous: most people alike"
        elif tgt and (t["status"].isin(FLAGGED)).any():
            verdict = "▲▼ off target: " + ", ".join(t.loc[t["status"].isin(FLAGGED), "value"].astype(str))
        elif tgt:
            verdict = "✓ diverse and on target"
        else:
            verdict = "✓ diverse (no target set)"
        summary.append({"dimension": dim, "n": known, "missing": missing, "values_seen": int((t["n"] > 0).sum()),
                        "categories": k, "entropy": ent, "target_entropy": tgt_ent,
                        "gini_simpson": gini_simpson(t["n"].to_numpy(), k), "chi2": chi2, "p_value": p,
                        "homogeneous": bool(known and ent < homogeneity_warning), "verdict": verdict,
                        "min_expected": float(t["expected_n"].min()) if tgt else float("nan")})
    table = (pd.concat(parts, ignore_index=True) if parts else
             pd.DataFrame(columns=["dimension", "value", "target", "n", "share", "expected_n", "ratio", "gap_pp", "status"]))
    cov = Coverage(source, table_name, n, table, pd.DataFrame(summary), skipped=skipped, min_per_cell=min_per_cell,
                   mismatched=mismatched)
    if cross:
        a, b = cross
        cov.grid = cross_grid(sample, a, b, targets.get(a) or {}, targets.get(b) or {}, table_name=table_name,
                              min_per_cell=min_per_cell, over_ratio=over_ratio)
        cov.cross = (a, b)
    return cov


def cross_grid(sample: pd.DataFrame, a: str, b: str, targets_a: dict[str, float], targets_b: dict[str, float], *,
               table_name: str = "participants", min_per_cell: int = 3, over_ratio: float = 1.5) -> pd.DataFrame:
    """The quota grid of two dimensions: recruited per cell against n x share_a x share_b.

    Long format: a, b, n, expected_n, ratio, status (none / below_min / over / ok / unplanned)."""
    for col in (a, b):
        if col not in sample.columns:
            raise SampleError(f"{table_name} has no column {col!r}, which scope.sample.cross crosses. "
                              f"Fix: set scope.sample.cross to two of its columns ({', '.join(c for c in SAMPLE_DIMENSIONS if c in sample.columns)}) "
                              "or [] for no grid.")
    both = sample[[a, b]].dropna().astype(str)
    counts = pd.crosstab(both[a], both[b])
    rows = list(targets_a) + sorted(v for v in counts.index if v not in targets_a)
    cols = list(targets_b) + sorted(v for v in counts.columns if v not in targets_b)
    counts = counts.reindex(index=rows, columns=cols, fill_value=0)
    g = counts.stack().rename("n").reset_index()
    g.columns = ["a", "b", "n"]
    known = len(both)
    ta = g["a"].map(targets_a).astype(float)
    tb = g["b"].map(targets_b).astype(float)
    g["expected_n"] = ta * tb * known
    g["ratio"] = g["n"] / g["expected_n"].where(g["expected_n"] > 0)
    planned = g["expected_n"] > 0
    # a gap is flagged where the targets expect people: none recruited where at least one is expected,
    # fewer than the minimum where the targets expect at least the minimum; cells the targets
    # themselves make smaller than the minimum are marked small by design
    g["status"] = np.select(
        [~planned, (g["n"] == 0) & (g["expected_n"] >= 1),
         (g["n"] < min_per_cell) & (g["expected_n"] >= min_per_cell), g["ratio"] > over_ratio,
         (g["expected_n"] < min_per_cell) & (g["n"] < min_per_cell)],
        ["unplanned", "none", "below_min", "over", "small_by_design"], default="ok")
    g.attrs.update({"a": a, "b": b, "n": known, "min_per_cell": min_per_cell})
    return g


def grid_note(grid: pd.DataFrame) -> str:
    """One sentence on the quota grid for the reviewer: gaps, and whether the sample can fill it."""
    m = grid.attrs.get("min_per_cell", 3)
    planned = grid[grid["expected_n"] > 0]
    gaps = int(grid["status"].isin(["none", "below_min"]).sum())
    small = int((grid["status"] == "small_by_design").sum())
    over = int((grid["status"] == "over").sum())
    need = int(np.ceil(np.maximum(planned["expected_n"], m).sum())) if len(planned) else 0
    parts = [f"{gaps} of {len(planned)} targeted cells have a recruitment gap (⚠), {over} are over-represented (▲)."]
    if small:
        parts.append(f"{small} cells are smaller than the minimum of {m} by design (·): the targets with "
                     f"{grid.attrs.get('n', 0)} people give them too few; at least {m} in every cell would take "
                     f"about {need} people.")
    return " ".join(parts)


def coverage_figure(cov: Coverage, title: str | None = None):
    """Recruited share (bars, coloured by status) against the target share (black ticks), one panel
    per dimension."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    t = cov.table
    dims = list(dict.fromkeys(t["dimension"]))
    heights = [max(1, (t["dimension"] == d).sum()) for d in dims]
    fig, axes = plt.subplots(len(dims), 1, figsize=(7.5, 0.32 * sum(heights) + 0.75 * len(dims) + 0.8),
                             gridspec_kw={"height_ratios": heights}, sharex=True, squeeze=False)
    colours = {"ok": "#4c72b0", "over": "#dd8452", "under": "#c44e52", "below_min": "#c44e52", "none": "#c44e52",
               "unplanned": "#8c8c8c", "no_target": "#8c8c8c"}
    for ax, d in zip(axes[:, 0], dims):
        sub = t[t["dimension"] == d].iloc[::-1]
        y = np.arange(len(sub))
        ax.barh(y, sub["share"].fillna(0) * 100, color=[colours[s] for s in sub["status"]], height=0.7)
        ax.scatter(sub["target"] * 100, y, marker="|", s=260, color="black", zorder=3, linewidths=2.5)
        ax.set_yticks(y, [f"{label(v)} (n={k})" for v, k in zip(sub["value"], sub["n"])])
        ax.set_title(DIMENSION_LABELS.get(d, d), loc="left", fontsize=10)
        ax.grid(axis="y", visible=False)
    axes[-1, 0].set_xlabel("share of the sample (%)")
    handles = [Patch(color=colours["ok"], label="on target"), Patch(color=colours["over"], label="over-represented"),
               Patch(color=colours["under"], label="under / below minimum"),
               Patch(color=colours["no_target"], label="no target"),
               Line2D([], [], color="black", marker="|", linestyle="", markersize=12, label="target")]
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=8, frameon=False, bbox_to_anchor=(0.5, -0.02))
    if title:
        fig.suptitle(title, fontweight="bold")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def grid_figure(grid: pd.DataFrame, min_per_cell: int = 3):
    """Heatmap of the quota grid: each cell shows recruited (expected); colour = recruited / expected
    on a log scale (red: short, blue: over); cells below the minimum are outlined."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.patches import Rectangle

    a, b = grid.attrs.get("a", "a"), grid.attrs.get("b", "b")
    rows = list(dict.fromkeys(grid["a"]))
    cols = list(dict.fromkeys(grid["b"]))
    n = grid.pivot(index="a", columns="b", values="n").reindex(index=rows, columns=cols)
    e = grid.pivot(index="a", columns="b", values="expected_n").reindex(index=rows, columns=cols)
    ratio = np.log2((n + 0.5) / (e + 0.5)).where(e > 0)
    annot = n.astype(int).astype(str) + "\n(" + e.round(1).astype(str).replace("nan", "–") + ")"
    fig, ax = plt.subplots(figsize=(1.3 * len(cols) + 2.5, 0.75 * len(rows) + 1.6))
    sns.heatmap(ratio, annot=annot, fmt="", cmap="RdBu", center=0, vmin=-2, vmax=2, linewidths=1,
                linecolor="white", ax=ax, cbar_kws={"label": "log2(recruited / expected)"})
    status = grid.pivot(index="a", columns="b", values="status").reindex(index=rows, columns=cols)
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            if status.loc[r, c] in ("none", "below_min"):
                ax.add_patch(Rectangle((j, i), 1, 1, fill=False, edgecolor="black", lw=2))
    ax.set_xlabel(DIMENSION_LABELS.get(b, b))
    ax.set_ylabel(DIMENSION_LABELS.get(a, a))
    ax.set_title("Recruited (expected) per cell; outlined: a recruitment gap", fontsize=10)
    plt.setp(ax.get_yticklabels(), rotation=0)
    return fig


def grid_table(grid: pd.DataFrame) -> pd.DataFrame:
    """The quota grid as a readable cross-table 'recruited (expected)'."""
    a, b = grid.attrs.get("a", "a"), grid.attrs.get("b", "b")
    cell = grid["n"].astype(str) + " (" + grid["expected_n"].round(1).astype(str).replace("nan", "–") + ")" + \
        grid["status"].map({"none": " ⚠", "below_min": " ⚠", "over": " ▲", "small_by_design": " ·"}).fillna("")
    out = grid.assign(cell=cell).pivot(index="a", columns="b", values="cell")
    out = out.reindex(index=list(dict.fromkeys(grid["a"])), columns=list(dict.fromkeys(grid["b"])))
    out.index.name = DIMENSION_LABELS.get(a, a)
    out.columns.name = DIMENSION_LABELS.get(b, b)
    return out


def _cell_words(r, min_per_cell: int) -> str:
    share = f"{r.share:.0%}" if pd.notna(r.share) else "n/a"
    if r.status == "over":
        return f"over-represents {r.value} ({share} against a target of {r.target:.0%})"
    if r.status == "under":
        return f"under-represents {r.value} ({share} against a target of {r.target:.0%})"
    if r.status == "none":
        return f"has nobody from {r.value} (target {r.target:.0%})"
    return f"has only {r.n} from {r.value}, under the minimum of {min_per_cell} (target {r.target:.0%})"


def sample_findings(cov: Coverage, who: str | None = None) -> list[dict]:
    """Warnings about the sample as findings, one per dimension with flagged cells
    (id scope.sample.<source>.<dimension>), per homogeneous dimension
    (scope.sample.<source>.homogeneity.<dimension>) and per targeted dimension the table lacks."""
    who = who or {"interviews": "interview"}.get(cov.source, cov.source)
    src = "survey" if cov.table_name == "survey_responses" else "qual"
    out = []
    flagged = cov.flagged
    for dim, rows in flagged.groupby("dimension", sort=False):
        label = DIMENSION_LABELS.get(dim, dim).lower()
        words = [_cell_words(r, cov.min_per_cell) for r in rows.itertuples(index=False)]
        statement = f"By {label}, the {who} sample " + "; ".join(words) + "."
        short = rows[rows["status"] != "over"]
        if "available" in rows.columns and short["available"].sum():
            statement += (" On the recruitment list but not recruited: "
                          + ", ".join(f"{a} {v}" for v, a in zip(short["value"], short["available"]) if a) + ".")
        worst = rows.loc[(rows["gap_pp"].abs()).idxmax()]
        out.append({"id": f"scope.sample.{_slug(cov.source)}.{dim}", "statement": statement,
                    "metric": f"largest gap to target, {worst['value']} (points)", "value": round(float(worst["gap_pp"]), 1),
                    "base": int(cov.n), "severity": "warning", "source": src,
                    "extra": {"dimension": dim,
                              **{st: rows.loc[rows["status"] == st, "value"].tolist() for st in FLAGGED
                                 if (rows["status"] == st).any()}}})
    for r in cov.summary.itertuples(index=False):
        if r.homogeneous:
            out.append({"id": f"scope.sample.{_slug(cov.source)}.homogeneity.{r.dimension}",
                        "statement": f"The {who} sample is homogeneous in {DIMENSION_LABELS.get(r.dimension, r.dimension).lower()} "
                                     f"(normalised entropy {r.entropy:.2f}, 0 = all alike, 1 = even): a homogeneous "
                                     "sample biases the result.",
                        "metric": "normalised Shannon entropy", "value": round(float(r.entropy), 2), "base": int(r.n),
                        "severity": "warning", "source": src, "extra": {"dimension": r.dimension}})
    for d in cov.mismatched:
        rows = cov.table[cov.table["dimension"] == d]
        out.append({"id": f"scope.sample.{_slug(cov.source)}.mismatch.{d}",
                    "statement": f"The {DIMENSION_LABELS.get(d, d).lower()} targets ("
                                 + ", ".join(rows.loc[rows["status"] == "no_match", "value"].astype(str))
                                 + f") name none of the values the {who} sample records ("
                                 + ", ".join(rows.loc[rows["n"] > 0, "value"].astype(str))
                                 + f"): its coverage cannot be checked. Fix: write these values under "
                                   f"scope.sample.targets.{d} in the study parameters.",
                    "severity": "warning", "source": src, "extra": {"dimension": d}})
    for d in cov.skipped:
        out.append({"id": f"scope.sample.{_slug(cov.source)}.unrecorded.{d}",
                    "statement": f"The {who} sample does not record {DIMENSION_LABELS.get(d, d).lower()}, which has "
                                 "targets: its coverage cannot be checked.",
                    "severity": "warning", "source": src, "extra": {"dimension": d}})
    return out


# --- survey precision and power -----------------------------------------------------------------

def _z(confidence: float) -> float:
    return float(stats.norm.ppf(1 - (1 - confidence) / 2))


def fpc(n, population) -> float:
    """Finite-population correction sqrt((N - n) / (N - 1)); 1 when the population is unknown."""
    if population is None:
        return 1.0
    if population < n:
        raise ValueError(f"the sample ({n}) is larger than the population ({population}); "
                         "fix scope.sample.survey_population or the planned base")
    return math.sqrt((population - n) / (population - 1)) if population > 1 else 0.0


def margin_of_error(n: int, p: float = 0.5, confidence: float = 0.95, population: int | None = None) -> float:
    """Half-width of the normal confidence interval of a share: z * sqrt(p(1-p)/n) * fpc, as a proportion
    (0.098 = ±9.8 points). Worst case p = 0.5."""
    if n is None or n < 1:
        raise ValueError(f"the base must be at least 1 (got {n})")
    return _z(confidence) * math.sqrt(p * (1 - p) / n) * fpc(n, population)


def required_base(moe: float, p: float = 0.5, confidence: float = 0.95, population: int | None = None) -> int:
    """Smallest base whose margin of error is at most `moe` (a proportion, 0.05 = ±5 points):
    n0 = z^2 p(1-p) / moe^2, corrected for a finite population n = n0 / (1 + (n0 - 1) / N)."""
    n0 = _z(confidence) ** 2 * p * (1 - p) / moe ** 2
    n = n0 / (1 + (n0 - 1) / population) if population else n0
    return int(math.ceil(n - 1e-9))


def detectable_difference(n1: float, n2: float, alpha: float = 0.05, power: float = 0.8,
                          baseline: float = 0.5) -> float:
    """Smallest difference between two shares (as a proportion) that a two-sided two-proportion test
    at `alpha` detects with `power`, for groups of n1 and n2 and a reference share `baseline`.

    Solves Cohen's h with statsmodels' NormalIndPower, then turns h back into shares:
    p2 = sin(asin(sqrt(p1)) + h/2)^2 (downwards when upwards would pass 100%)."""
    from statsmodels.stats.power import NormalIndPower

    if min(n1, n2) < 2:
        return float("nan")
    h = _solved(NormalIndPower().solve_power(effect_size=None, nobs1=n1, alpha=alpha, power=power, ratio=n2 / n1,
                                             alternative="two-sided"))
    if h != h:
        return float("nan")
    phi = math.asin(math.sqrt(baseline))
    if phi + h / 2 <= math.pi / 2:
        return math.sin(phi + h / 2) ** 2 - baseline
    return baseline - math.sin(max(phi - h / 2, 0.0)) ** 2


def detectable_rating_difference(n1: float, n2: float, sd: float = 1.0, alpha: float = 0.05,
                                 power: float = 0.8) -> float:
    """Smallest difference in mean rating (in scale points) a two-sided t-test detects: Cohen's d from
    statsmodels' TTestIndPower times the assumed standard deviation."""
    from statsmodels.stats.power import TTestIndPower

    if min(n1, n2) < 2:
        return float("nan")
    d = _solved(TTestIndPower().solve_power(effect_size=None, nobs1=n1, alpha=alpha, power=power, ratio=n2 / n1,
                                            alternative="two-sided"))
    return d * sd


def required_per_group_rating(difference: float, sd: float, alpha: float = 0.05, power: float = 0.8,
                              ratio: float = 1.0) -> int:
    """Smallest group size n1 (the other group n1 x ratio) for a two-sided two-sample t-test at
    `alpha` to detect a mean difference `difference` with `power` when the SD is `sd`: Cohen's
    d = difference / sd solved by statsmodels' TTestIndPower (Cohen 1988, table 2.4.1)."""
    from statsmodels.stats.power import TTestIndPower

    if not (difference and sd and sd > 0) or not np.isfinite([difference, sd]).all():
        return -1
    n = _solved(TTestIndPower().solve_power(effect_size=abs(difference) / sd, nobs1=None, alpha=alpha, power=power,
                                            ratio=ratio, alternative="two-sided"))
    return int(math.ceil(n - 1e-9)) if n == n else -1


def required_per_group_share(p_reference: float, difference: float, alpha: float = 0.05, power: float = 0.8,
                             ratio: float = 1.0) -> int:
    """Smallest group size to detect shares p_reference against p_reference + difference (two-sided
    two-proportion test): Cohen's h solved by statsmodels' NormalIndPower (Cohen 1988, table 6.4.1)."""
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    p2 = min(max(p_reference + difference, 1e-6), 1 - 1e-6)
    h = abs(proportion_effectsize(p2, p_reference))
    if not h:
        return -1
    n = _solved(NormalIndPower().solve_power(effect_size=h, nobs1=None, alpha=alpha, power=power, ratio=ratio,
                                             alternative="two-sided"))
    return int(math.ceil(n - 1e-9)) if n == n else -1


def next_study_sample(params, responses: pd.DataFrame | None) -> tuple[pd.DataFrame, list[str]]:
    """Sample needed per group for the NEXT study, from what this study observed: for every survey
    hypothesis with a rating measure, the SD and the difference seen between its groups in the
    completed responses, and the group size needed to detect (at the study's alpha and power)
    (a) the smallest difference that matters (params scope.sample.smallest_rating_difference) with
    the observed SD, and (b) the difference observed. Returns (table, problems): a hypothesis whose
    data cannot give an SD (missing column, fewer than two answers, a constant column) is named in
    `problems` with the reason instead of a silent gap."""
    s = params.scope.sample
    cols = ["Hypothesis", "Measure", "Comparison", "n now (focus / reference)", "Observed SD", "Observed difference",
            "Smallest difference that matters", "n per group needed (smallest difference)",
            "n per group needed (observed difference)"]
    rows, problems = [], []
    if responses is None or responses.empty:
        return pd.DataFrame(columns=cols), ["this study has no completed survey responses yet, so there is no observed "
                                            "spread to size the next study on; it is sized once the survey is in"]
    for h in params.hypotheses:
        q = h.quant
        if q is None or q.source != "survey":
            continue
        if q.measure not in responses.columns or q.group_by not in responses.columns:
            problems.append(f"{h.id}: the survey responses have no column "
                            f"{q.measure if q.measure not in responses.columns else q.group_by!r}")
            continue
        x = pd.to_numeric(responses[q.measure], errors="coerce")
        g = responses[q.group_by].astype("string")
        focus = q.groups[0] if q.groups else None
        if focus is None:
            problems.append(f"{h.id}: no focus group named (quant.groups), so no two-group comparison to size")
            continue
        ref = q.groups[1:] if len(q.groups) > 1 else None
        a = x[(g == focus) & x.notna()]
        b = x[(g.isin(ref) if ref else (g.notna() & (g != focus))) & x.notna()]
        if len(a) < 2 or len(b) < 2:
            problems.append(f"{h.id}: {q.measure} has {len(a)} answers in {focus} and {len(b)} in the reference: "
                            "at least two each are needed to estimate the spread")
            continue
        sd = math.sqrt(((len(a) - 1) * a.var() + (len(b) - 1) * b.var()) / (len(a) + len(b) - 2))
        if not sd > 0:
            problems.append(f"{h.id}: {q.measure} is constant in these responses (SD 0): no spread to size a sample on")
            continue
        diff = float(a.mean() - b.mean())
        rows.append({"Hypothesis": h.id, "Measure": q.measure,
                     "Comparison": f"{focus} vs {', '.join(ref) if ref else 'the others'} ({q.group_by})",
                     "n now (focus / reference)": f"{len(a):,} / {len(b):,}", "Observed SD": round(sd, 2),
                     "Observed difference": round(diff, 2), "Smallest difference that matters": s.smallest_rating_difference,
                     "n per group needed (smallest difference)": required_per_group_rating(
                         s.smallest_rating_difference, sd, s.alpha, s.power),
                     "n per group needed (observed difference)": required_per_group_rating(diff, sd, s.alpha, s.power)
                     if abs(diff) > 1e-9 else -1})
    out = pd.DataFrame(rows, columns=cols)
    for c in ("n per group needed (smallest difference)", "n per group needed (observed difference)"):
        out[c] = out[c].astype("Int64").where(out[c] > 0)
    return out, problems


def next_study_finding(table: pd.DataFrame, params) -> dict | None:
    """The largest per-group sample the next study needs to detect the smallest difference that matters."""
    if table.empty:
        return None
    s = params.scope.sample
    need = table["n per group needed (smallest difference)"]
    if need.isna().all():
        return None
    r = table.loc[need.astype("Float64").idxmax()]
    return {"id": "scope.next_study.sample", "statement":
            f"To detect a difference of {s.smallest_rating_difference:g} rating points (the smallest that matters) with "
            f"the spread seen in this survey (SD {r['Observed SD']:.2f}, {r['Measure']}), the next study needs "
            f"{int(r['n per group needed (smallest difference)']):,} completed responses in each group compared "
            f"({r['Comparison']}; two-sided alpha {s.alpha:g}, power {s.power:.0%}).",
            "metric": "completed responses needed per group", "value": int(r["n per group needed (smallest difference)"]),
            "base": int(sum(int(v.replace(",", "")) for v in str(r["n now (focus / reference)"]).split(" / "))),
            "test": "two-sample t-test power (statsmodels TTestIndPower)", "severity": "info", "source": "survey",
            "extra": {"hypothesis": r["Hypothesis"], "sd": float(r["Observed SD"])}}


def _solved(value) -> float:
    """statsmodels' power solvers return an array when they fail to converge (tiny groups): NaN then."""
    arr = np.asarray(value, dtype=float).reshape(-1)
    return float(arr[0]) if arr.size == 1 and np.isfinite(arr[0]) else float("nan")


def precision_table(bases, confidence: float = 0.95, population: int | None = None) -> pd.DataFrame:
    """Margin of error (points, worst case p = 50%) at each base; with the finite-population
    correction too when the population is known."""
    rows = []
    for label, n in bases.items() if isinstance(bases, dict) else ((str(b), b) for b in bases):
        if not n:
            continue
        row = {"Base": label, "n": int(n), "Margin of error (± points)": round(margin_of_error(n, 0.5, confidence) * 100, 1)}
        if population:
            row[f"With finite-population correction, N = {population:,} (± points)"] = (
                round(margin_of_error(n, 0.5, confidence, population) * 100, 1) if n <= population else float("nan"))
        rows.append(row)
    return pd.DataFrame(rows)


def power_table(sizes: dict[str, float], *, alpha: float = 0.05, power: float = 0.8,
                baseline: float = 0.5, sd: float = 1.0) -> pd.DataFrame:
    """Every pair of groups (sizes: {group: n}, e.g. the planned base split by the segment targets):
    the groups' sizes and the smallest differences the survey can detect between them."""
    groups = [(g, n) for g, n in sizes.items() if n and n > 0]
    rows = []
    for i in range(len(groups)):
        for j in range(i + 1, len(groups)):
            (g1, n1), (g2, n2) = groups[i], groups[j]
            rows.append({
                "Group A": g1, "n A": int(round(n1)), "Group B": g2, "n B": int(round(n2)),
                "Detectable difference in a share (points)": round(detectable_difference(n1, n2, alpha, power, baseline) * 100, 1),
                "Detectable difference in a mean rating (points)": round(detectable_rating_difference(n1, n2, sd, alpha, power), 2),
            })
    return pd.DataFrame(rows, columns=["Group A", "n A", "Group B", "n B", "Detectable difference in a share (points)",
                                       "Detectable difference in a mean rating (points)"])


def achieved_shares(sample: pd.DataFrame, dim: str) -> dict[str, float]:
    if dim not in sample.columns:
        return {}
    return sample[dim].dropna().astype(str).value_counts(normalize=True).to_dict()


# --- study-level helpers (what the notebook calls) -------------------------------------------------

def _design(params):
    return params.scope.sample


def interview_coverage(study) -> Coverage | None:
    """The recruited interview sample (participants) against the targets; None without participants."""
    if not study.has("participants"):
        return None
    s = _design(study.params)
    rec, pool = recruited_sample(study.table("participants"), s.exclude_roles)
    cross = [c for c in s.cross if c in rec.columns]
    return coverage(rec, s.targets.as_dict(), source="interviews", table_name="participants",
                    min_per_cell=s.min_per_cell, under_ratio=s.under_ratio, over_ratio=s.over_ratio,
                    homogeneity_warning=s.homogeneity_warning, pool=pool, cross=cross if len(cross) == 2 else None)


def recruited_heard(study) -> tuple[int, int]:
    """(recruited participants, of whom took part in a qualitative source of the study's period).
    Before fieldwork, or when the recruits are for another wave, the second is 0: the sample checks
    then describe the recruitment list, not the people heard."""
    if not study.has("participants"):
        return 0, 0
    s = _design(study.params)
    rec, _ = recruited_sample(study.table("participants"), s.exclude_roles)
    ids = set()
    for name in ("qual_sources", "coded_segments"):
        if study.has(name) and "participant_id" in study.table(name).columns:
            ids |= set(study.table(name)["participant_id"].dropna().astype(str))
    return len(rec), int(isin(rec["participant_id"].astype(str), ids).sum()) if "participant_id" in rec else 0


def study_wave(study, responses: pd.DataFrame) -> int | None:
    """The survey wave of the study: its period's year when the table has that wave, else the latest."""
    if "wave" not in responses.columns or responses["wave"].dropna().empty:
        return None
    year = study.params.study.period.end.year
    waves = set(pd.unique(responses["wave"].dropna()))
    return year if year in waves else None


def survey_coverage(study) -> tuple[Coverage | None, pd.DataFrame | None, str]:
    """(coverage, the completed responses of the study's wave, a note) — (None, None, reason) without a survey."""
    if not study.has("survey_responses"):
        return None, None, "the study has no survey responses"
    s = _design(study.params)
    raw = study.table("survey_responses")
    sample, note = survey_sample(raw, study_wave(study, raw))
    cross = [c for c in s.cross if c in sample.columns]
    cov = coverage(sample, s.survey.as_dict(), source="survey", table_name="survey_responses",
                   min_per_cell=s.min_per_cell, under_ratio=s.under_ratio, over_ratio=s.over_ratio,
                   homogeneity_warning=s.homogeneity_warning, cross=cross if len(cross) == 2 else None)
    return cov, sample, note


@dataclass
class SurveyPrecision:
    planned: int | None
    achieved: int | None
    population: int | None
    precision: pd.DataFrame          # margin of error at the planned and achieved bases
    pairs: pd.DataFrame              # detectable differences between the groups of `compare`, planned split
    achieved_pairs: pd.DataFrame     # the same with the achieved group sizes (empty without a survey)
    hypotheses: pd.DataFrame         # per survey hypothesis: its comparison and detectable rating difference
    findings: list[dict]


def survey_precision(params, achieved: pd.DataFrame | None = None, population: int | None = None) -> SurveyPrecision:
    """Margin of error and detectable differences of the survey at the planned base (and at the
    achieved one when the completed responses are given)."""
    s = params.scope.sample
    planned = params.scope.survey_base()
    population = s.survey_population or population
    n_ach = int(len(achieved)) if achieved is not None else None
    if population is not None and max(planned or 0, n_ach or 0) > population:
        population = None  # the base exceeds the frame: the correction does not apply
    bases = {k: v for k, v in (("planned", planned), ("achieved", n_ach)) if v}
    prec = precision_table(bases, s.confidence, population)
    kw = dict(alpha=s.alpha, power=s.power, baseline=s.baseline_share, sd=s.rating_sd)
    shares = s.survey.as_dict().get(s.compare, {})
    pairs = power_table({g: sh * planned for g, sh in shares.items()}, **kw) if planned and shares else power_table({}, **kw)
    ach_sizes = (achieved[s.compare].dropna().astype(str).value_counts().to_dict()
                 if achieved is not None and s.compare in achieved.columns else {})
    achieved_pairs = power_table(ach_sizes, **kw)

    rows = []
    for h in params.hypotheses:
        q = h.quant
        if q is None or q.source != "survey":
            continue
        dim_shares = s.survey.as_dict().get(q.group_by, {})
        focus = q.groups[0] if q.groups else None
        ref = q.groups[1:] if q.groups and len(q.groups) > 1 else None
        row = {"Hypothesis": h.id, "Measure": q.measure,
               "Comparison": f"{focus} vs {', '.join(ref) if ref else 'the others'} ({q.group_by})" if focus else f"groups of {q.group_by}"}
        if focus and planned and dim_shares:
            n1 = planned * dim_shares.get(focus, 0)
            n2 = planned * (sum(dim_shares.get(r, 0) for r in ref) if ref else 1 - dim_shares.get(focus, 0))
            row.update({"Planned n (focus / reference)": f"{n1:,.0f} / {n2:,.0f}",
                        "Detectable rating difference, planned": round(detectable_rating_difference(n1, n2, **_t(kw)), 2)})
        if focus and achieved is not None and q.group_by in achieved.columns:
            g = achieved[q.group_by].astype("string")
            n1 = int((g == focus).sum())
            n2 = int(g.isin(ref).sum()) if ref else int((g.notna() & (g != focus)).sum())
            row.update({"Achieved n (focus / reference)": f"{n1:,} / {n2:,}",
                        "Detectable rating difference, achieved": round(detectable_rating_difference(n1, n2, **_t(kw)), 2)})
        rows.append(row)
    hyp = pd.DataFrame(rows)

    findings = []
    if planned:
        moe = margin_of_error(planned, 0.5, s.confidence) * 100
        findings.append({"id": "scope.survey.moe", "statement":
                         f"At the planned base of {planned:,} completed responses the survey's margin of error is "
                         f"±{moe:.1f} points ({s.confidence:.0%} confidence, worst case of a 50% share).",
                         "metric": "margin of error (points)", "value": round(moe, 1), "base": planned,
                         "severity": "info", "source": "survey"})
    if planned and n_ach is not None:
        moe_a = margin_of_error(n_ach, 0.5, s.confidence) * 100 if n_ach else float("nan")
        short = n_ach < 0.9 * planned
        findings.append({"id": "scope.survey.achieved", "statement":
                         f"The survey achieved {n_ach:,} completed responses of {planned:,} planned"
                         + (f": its margin of error is ±{moe_a:.1f} points instead of ±{moe:.1f}." if short else
                            f" (margin of error ±{moe_a:.1f} points)."),
                         "metric": "completed responses", "value": n_ach, "base": n_ach,
                         "severity": "warning" if short else "info", "source": "survey"})
    if len(pairs):
        worst = pairs.loc[pairs["Detectable difference in a share (points)"].idxmax()]
        findings.append({"id": "scope.survey.power", "statement":
                         f"At the planned base, between {str(worst['Group A']).replace('_', ' ')} ({worst['n A']:,}) and "
                         f"{str(worst['Group B']).replace('_', ' ')} "
                         f"({worst['n B']:,}) the survey can detect a difference of {worst['Detectable difference in a share (points)']:.1f} "
                         f"points in a share, or {worst['Detectable difference in a mean rating (points)']:.2f} points in a mean rating "
                         f"(two-sided alpha {s.alpha:g}, power {s.power:.0%}); smaller real differences may go unseen.",
                         "metric": "detectable difference (points)", "value": float(worst["Detectable difference in a share (points)"]),
                         "base": planned, "test": "two-proportion power (Cohen's h)", "severity": "info", "source": "survey",
                         "extra": {"compare": s.compare}})
    return SurveyPrecision(planned, n_ach, population, prec, pairs, achieved_pairs, hyp, findings)


def _t(kw: dict) -> dict:
    return {"sd": kw["sd"], "alpha": kw["alpha"], "power": kw["power"]}


def precision_tables(precision: SurveyPrecision, params) -> list[tuple[pd.DataFrame, str, object, str | None]]:
    """The survey precision tables to show, as (table, caption, base, note), in reading order."""
    s = params.scope.sample
    out = []

    def words(df: pd.DataFrame) -> pd.DataFrame:  # group values and variable names as a reviewer reads them
        cols = [c for c in ("Group A", "Group B", "Comparison") if c in df.columns]
        out = df.assign(**{c: labels_of(df[c].astype(str)) for c in cols})
        for c in [c for c in df.columns if "rating" in c and pd.api.types.is_numeric_dtype(df[c])]:
            out[c] = df[c].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")   # as precise as the finding's wording
        return out
    compare = DIMENSION_LABELS.get(s.compare, str(s.compare).replace("_", " ")).lower()
    if not precision.precision.empty:
        out.append((precision.precision, "Survey margin of error at the planned and achieved bases", "bases per row",
                    f"Worst case (a 50% share), {s.confidence:.0%} confidence. The finite-population correction applies "
                    "when the survey reaches a large part of all customers."))
    if len(precision.pairs):
        out.append((words(precision.pairs), f"Smallest detectable differences between {compare} groups at the planned base",
                    precision.planned, f"Groups sized by the survey targets; two-sided alpha {s.alpha:g}, power "
                    f"{s.power:.0%}; a {s.baseline_share:.0%} share in the reference group; a rating SD of {s.rating_sd:g} point."))
    if len(precision.achieved_pairs):
        out.append((words(precision.achieved_pairs), f"Smallest detectable differences between {compare} groups as achieved",
                    precision.achieved, "Groups sized as the completed responses came in."))
    if len(precision.hypotheses):
        out.append((words(precision.hypotheses), "Survey hypotheses: the smallest difference in mean rating each comparison can detect",
                    "planned bases per row", f"Assuming a rating SD of {s.rating_sd:g} point; a real difference smaller than this may go unseen."))
    return out


def targets_vs_population(targets: dict[str, dict[str, float]], customers: pd.DataFrame) -> pd.DataFrame:
    """The target shares next to the customer base's shares (region, segment, status), so a reviewer
    sees whether the targets are representative or deliberately boost a group."""
    cols = {"region": "region", "segment": "segment", "customer_status": "status"}
    rows = []
    for dim, col in cols.items():
        tgt = targets.get(dim) or {}
        if not tgt or col not in customers.columns:
            continue
        base = customers[col].dropna().astype(str).value_counts(normalize=True)
        for value in list(tgt) + sorted(v for v in base.index if v not in tgt):
            t, b = tgt.get(value), float(base.get(value, 0.0))
            rows.append({"Dimension": DIMENSION_LABELS[dim], "Value": label(value),
                         "Target %": round(t * 100, 1) if t is not None else np.nan,
                         "Customer base %": round(b * 100, 1),
                         "Target − base (points)": round((t - b) * 100, 1) if t is not None else np.nan})
    return pd.DataFrame(rows, columns=["Dimension", "Value", "Target %", "Customer base %", "Target − base (points)"])


# --- fieldwork against the plan ------------------------------------------------------------------

METHOD_KINDS = {   # params method -> qual_sources.kind
    "one_to_one": "interview_1to1", "one_to_many": "group_interview", "phone": "phone_interview",
    "video": "video_interview", "focus_group": "focus_group", "expert_council": "expert_session",
    "community": "community_post", "immersive": "observation_log",
}


def method_progress(params, qual_sources: pd.DataFrame | None = None, coded_segments: pd.DataFrame | None = None,
                    survey_completed: int | None = None) -> pd.DataFrame:
    """Per declared method: planned n against what the data holds — people taking part (participants of
    its sources and of their coded excerpts), sessions or entries, and a status."""
    people = sessions = None
    if qual_sources is not None and "kind" in qual_sources.columns:
        sessions = qual_sources["kind"].value_counts()
        parts = [qual_sources[["kind", "participant_id"]]] if "participant_id" in qual_sources.columns else []
        if coded_segments is not None and {"source_id", "participant_id"} <= set(coded_segments.columns):
            parts.append(coded_segments[["source_id", "participant_id"]]
                         .merge(qual_sources[["source_id", "kind"]], on="source_id")[["kind", "participant_id"]])
        people = (pd.concat(parts).dropna().drop_duplicates().groupby("kind")["participant_id"].nunique()
                  if parts else pd.Series(dtype=int))
    rows = []
    for m in params.scope.methods:
        planned = m.planned_n
        if m.method == "survey":
            got, sess, unit = survey_completed, None, "completed responses"
        elif m.method == "data_research":
            got, sess, unit = None, None, "company data"
        else:
            kind = METHOD_KINDS[m.method]
            got = int(people.get(kind, 0)) if people is not None else None
            sess = int(sessions.get(kind, 0)) if sessions is not None else None
            unit = "participants"
        if got is None:
            status = "not measured" if m.method != "data_research" else "—"
        elif got == 0 and sess:
            status = f"under way: {sess} sessions / entries, participants not recorded"
        elif got == 0:
            status = "⚠ not started" if planned else "nothing yet"
        elif not planned:
            status = "no plan"
        elif got >= planned:
            status = "✓ reached"
        elif got >= 0.9 * planned:
            status = f"≈ {got / planned:.0%} of the plan"
        else:
            status = f"⚠ {got} of {planned}"
        rows.append({"Method": m.label, "Planned n": planned, "Achieved": got, "Unit": unit,
                     "Sessions / entries": sess, "Status": status})
    df = pd.DataFrame(rows, columns=["Method", "Planned n", "Achieved", "Unit", "Sessions / entries", "Status"])
    for c in ("Planned n", "Achieved", "Sessions / entries"):
        df[c] = df[c].astype("Int64")
    return df


def progress_findings(progress: pd.DataFrame) -> list[dict]:
    """One warning finding listing the methods short of their planned n (id scope.fieldwork.short)."""
    flagged = progress[progress["Status"].astype(str).str.startswith("⚠")]
    if flagged.empty:
        return []
    none = flagged["Achieved"].fillna(0).eq(0)
    short, idle = flagged[~none], flagged[none]
    parts = []
    if len(short):
        parts.append("Fieldwork is short of the plan: " + "; ".join(
            f"{m} {int(a)} of {int(p)} {u}" for m, a, p, u in
            zip(short["Method"], short["Achieved"], short["Planned n"], short["Unit"])) + ".")
    if len(idle):
        parts.append(f"Not started in the study's data: {', '.join(idle['Method'])} "
                     f"({int(idle['Planned n'].fillna(0).sum()):,} planned participants in all).")
    return [{"id": "scope.fieldwork.short", "statement": " ".join(parts),
             "severity": "warning", "source": "data", "extra": {"methods": flagged["Method"].tolist(),
                                                                "not_started": idle["Method"].tolist()}}]

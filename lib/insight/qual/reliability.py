"""Inter-coder reliability where segments are coded twice (or more).

- Cohen's kappa for two coders (scikit-learn's cohen_kappa_score);
- Krippendorff's alpha, nominal, any number of coders, missing data (the `krippendorff` package).

Per code the data are binary decisions: for each unit (segment) a coder who coded the unit either
applied the code (1) or not (0); a coder who did not code the unit is missing. 'Overall' pools
every (segment, code) decision into one binary reliability matrix. Interpretation follows
Krippendorff (2004): alpha >= 0.800 reliable; 0.667-0.800 tentative conclusions only; below, not reliable.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from insight.qual.model import QualDataError


def cohen_kappa(a, b, labels=None) -> float:
    """Cohen's kappa of two coders' labels for the same units (NaN when undefined, e.g. one
    category only)."""
    from sklearn.metrics import cohen_kappa_score
    a, b = list(a), list(b)
    if len(a) != len(b):
        raise ValueError(f"cohen_kappa needs the same units for both coders (got {len(a)} and {len(b)} labels)")
    if len(a) == 0 or len(set(a) | set(b)) < 2:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(cohen_kappa_score(a, b, labels=labels))


def krippendorff_alpha(data, level: str = "nominal") -> float:
    """Krippendorff's alpha of a coders x units matrix (NaN = the coder did not code the unit).
    NaN when undefined (fewer than two values or no pairable units)."""
    import krippendorff
    arr = np.asarray(data, dtype=float)
    if arr.ndim != 2 or arr.shape[0] < 2:
        return float("nan")
    pairable = (~np.isnan(arr)).sum(axis=0) >= 2
    values = np.unique(arr[:, pairable][~np.isnan(arr[:, pairable])])
    if pairable.sum() == 0 or len(values) < 2:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(krippendorff.alpha(reliability_data=arr, level_of_measurement=level))


def decisions(segments: pd.DataFrame, coders=None) -> pd.DataFrame:
    """Binary coding decisions on the units (segment_id) coded by at least two of `coders`:
    one row per (segment_id, coder) that coded the unit, one 0/1 column per code."""
    for col in ("segment_id", "coder", "code"):
        if col not in segments.columns:
            raise QualDataError(f"coded_segments: column {col!r} is missing; reliability needs segment_id, coder, code. "
                                "Fix: map the column in params `data.tables.coded_segments`.")
    seg = segments[["segment_id", "coder", "code"]].dropna().astype(str).drop_duplicates()
    if coders:
        unknown = sorted(set(coders) - set(seg["coder"]))
        if unknown:
            raise QualDataError(f"coded_segments.coder: coder(s) {', '.join(unknown)} named in params "
                                f"`qualitative.coders` never coded a segment (coders present: "
                                f"{', '.join(sorted(seg['coder'].unique()))}). Fix: correct the names in params.")
        seg = seg[seg["coder"].isin(coders)]
    n_coders = seg.groupby("segment_id")["coder"].nunique()
    seg = seg[seg["segment_id"].isin(n_coders.index[n_coders >= 2])]
    if seg.empty:
        return pd.DataFrame(columns=["segment_id", "coder"])
    wide = pd.crosstab([seg["segment_id"], seg["coder"]], seg["code"]).clip(upper=1)
    return wide.reset_index()


def intercoder_reliability(segments: pd.DataFrame, coders=None, good: float = 0.8,
                           tentative: float = 0.667) -> pd.DataFrame:
    """Per code and overall: units double-coded, coders, how often the code was applied, percent
    agreement, Cohen's kappa (exactly two coders) and Krippendorff's alpha (nominal), with a verdict."""
    wide = decisions(segments, coders)
    cols = ["code", "units", "coders", "applied", "agreement", "kappa", "alpha", "verdict"]
    if wide.empty:
        return pd.DataFrame(columns=cols)
    codes = [c for c in wide.columns if c not in ("segment_id", "coder")]
    coder_list = sorted(wide["coder"].unique())
    rows = []
    long = wide.melt(id_vars=["segment_id", "coder"], value_vars=codes, var_name="code", value_name="v")

    def one(label, frame, unit_cols):
        mat = frame.pivot_table(index="coder", columns=unit_cols, values="v", aggfunc="max")
        mat = mat.reindex(coder_list)
        arr = mat.to_numpy(dtype=float)
        both = mat.notna().sum(axis=0) >= 2
        sub = mat.loc[:, both]
        if sub.shape[1]:  # coders agree on a unit when its (>= 2) decisions are all equal: min == max
            d = sub.to_numpy(dtype=float)   # (vectorised: nunique(axis=0) runs a Python loop per unit)
            agree = float((np.nanmin(d, axis=0) == np.nanmax(d, axis=0)).mean())
        else:
            agree = float("nan")
        kappa = float("nan")
        if len(coder_list) == 2:
            pair = sub.dropna(axis=1)
            kappa = cohen_kappa(pair.iloc[0], pair.iloc[1], labels=[0, 1]) if pair.shape[1] else float("nan")
        alpha = krippendorff_alpha(arr)
        rows.append({"code": label, "units": int(both.sum()), "coders": int(mat.notna().any(axis=1).sum()),
                     "applied": int(np.nansum(arr)), "agreement": agree, "kappa": kappa, "alpha": alpha,
                     "verdict": verdict(alpha, good, tentative)})

    for code in codes:
        one(code, long[long["code"] == code], "segment_id")
    one("overall (every code decision)", long, ["segment_id", "code"])
    return pd.DataFrame(rows, columns=cols)


def verdict(alpha: float, good: float = 0.8, tentative: float = 0.667) -> str:
    if alpha is None or np.isnan(alpha):
        return "not computable (too few units or no variation)"
    if alpha >= good:
        return "reliable"
    if alpha >= tentative:
        return "tentative: draw tentative conclusions only"
    return "not reliable: refine the code's definition and recode"


__all__ = ["cohen_kappa", "krippendorff_alpha", "decisions", "intercoder_reliability", "verdict"]

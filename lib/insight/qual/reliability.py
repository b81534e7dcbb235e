"""Inter-coder reliability where segments are coded twice (or more).

- Cohen's kappa for two coders (scikit-learn's cohen_kappa_score), with the asymptotic interval of
  Fleiss, Cohen & Everitt (1969) from statsmodels (`cohen_kappa_ci`);
- weighted kappa (linear or quadratic disagreement weights) for ordinal codes (`weighted_kappa`,
  statsmodels cohens_kappa, same interval);
- Fleiss' kappa for several coders who all coded every unit (`fleiss_kappa`: statsmodels for the
  value, the Fleiss, Nee & Landis 1979 standard error under no agreement, a bootstrap over units
  for the interval);
- Krippendorff's alpha, nominal, any number of coders, missing data (the `krippendorff` package),
  with a bootstrap interval over units.

`choose_coefficient` picks the one that fits the design (and says why); the report leads with it.

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
from insight.speedups import isin


def cohen_kappa(a, b, labels=None) -> float:
    """Cohen's kappa of two coders' labels for the same units (NaN when undefined, e.g. one
    category only)."""
    from sklearn.metrics import cohen_kappa_score
    a, b = _objects(a), _objects(b)
    if len(a) != len(b):
        raise ValueError(f"cohen_kappa needs the same units for both coders (got {len(a)} and {len(b)} labels)")
    if len(a) == 0 or len(set(a) | set(b)) < 2:
        return float("nan")
    if pd.isna(a).any() or pd.isna(b).any():
        a, b, weight = list(a), list(b), None
    else:   # each distinct (a, b) pair once, weighted by its count: the same (integer) confusion matrix,
        # without scikit-learn's Python loop over every unit
        a, b, weight = _pairs(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(cohen_kappa_score(a, b, labels=labels, sample_weight=weight))


def _objects(x) -> np.ndarray:
    """x's values as a 1-d object array (as list(x) would give them), without a Python loop for a
    Series or an array."""
    if isinstance(x, (pd.Series, pd.Index)):
        return x.to_numpy(dtype=object)
    if isinstance(x, np.ndarray) and x.ndim == 1:
        return x.astype(object)
    values = list(x)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _pairs(a: np.ndarray, b: np.ndarray) -> tuple[list, list, np.ndarray]:
    """The distinct (a, b) pairs of two object arrays without missing values, and how often each occurs."""
    ca, ua = pd.factorize(a)
    cb, ub = pd.factorize(b)
    pair, n = np.unique(ca.astype(np.int64) * len(ub) + cb, return_counts=True)
    return list(ua.take(pair // len(ub))), list(ub.take(pair % len(ub))), n.astype(np.int64)


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


RESAMPLES = 2000   # bootstrap resamples of units for the Fleiss and Krippendorff intervals
SEED = 20240


def _ci_or_nan(lo, hi):
    return (float(lo), float(hi)) if np.isfinite(lo) and np.isfinite(hi) else (float("nan"), float("nan"))


def weighted_kappa(a, b, weights: str | None = "linear", categories=None, confidence: float = 0.95) -> tuple[float, float, float]:
    """(kappa, low, high) of two coders' ordinal codes with linear or quadratic disagreement
    weights (weights=None: unweighted Cohen's kappa). Categories are the sorted values seen (or
    `categories`, in order), weights by their position, as R irr::kappa2 does. Value and
    asymptotic interval from statsmodels cohens_kappa. NaN when undefined (no variation)."""
    from statsmodels.stats.inter_rater import cohens_kappa

    a, b = _objects(a), _objects(b)
    if len(a) != len(b):
        raise ValueError(f"weighted_kappa needs the same units for both coders (got {len(a)} and {len(b)} codes)")
    # units both coders coded (missing as pd.isna, value by value, but in one vectorised pass)
    keep = ~(pd.isna(a) | pd.isna(b))
    a, b = a[keep], b[keep]
    seen = set(a) | set(b)
    cats = list(categories) if categories is not None else sorted(seen)
    if len(a) < 2 or len(seen) < 2:
        return (float("nan"), float("nan"), float("nan"))
    pos = {c: i for i, c in enumerate(cats)}
    unknown = sorted(seen - set(pos), key=str)
    if unknown:
        raise ValueError(f"codes {unknown} are not among the categories {cats}; add them to the categories")
    table = np.zeros((len(cats), len(cats)))
    ca, ua = pd.factorize(a)          # each distinct value looked up once
    cb, ub = pd.factorize(b)
    np.add.at(table, (np.array([pos[x] for x in ua], dtype=np.intp)[ca],
                      np.array([pos[y] for y in ub], dtype=np.intp)[cb]), 1)
    wt = {None: None, "linear": "linear", "quadratic": "quadratic"}.get(weights, "bad")
    if wt == "bad":
        raise ValueError(f"weights must be 'linear', 'quadratic' or None, not {weights!r}")
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        res = cohens_kappa(table, wt=wt) if wt else cohens_kappa(table)
    k = float(res.kappa)
    if not np.isfinite(k):
        return (float("nan"), float("nan"), float("nan"))
    from scipy.stats import norm
    half = float(norm.ppf(0.5 + confidence / 2)) * float(res.std_kappa)
    lo, hi = _ci_or_nan(k - half, k + half)
    return (k, max(lo, -1.0), min(hi, 1.0))


def cohen_kappa_ci(a, b, confidence: float = 0.95) -> tuple[float, float, float]:
    """(kappa, low, high): unweighted Cohen's kappa with its asymptotic interval."""
    return weighted_kappa(a, b, weights=None, confidence=confidence)


def _fleiss_from_counts(counts: np.ndarray) -> np.ndarray:
    """Fleiss' kappa of (..., units, categories) tables of how many coders chose each category,
    every unit coded by the same number of coders (vectorised over the leading axes)."""
    m = float(counts.reshape(-1, counts.shape[-1])[0].sum())   # coders per unit (the same for every unit)
    n_units = counts.shape[-2]
    p_j = counts.sum(axis=-2) / (n_units * m)
    p_i = ((counts ** 2).sum(axis=-1) - m) / (m * (m - 1))
    p_bar, p_e = p_i.mean(axis=-1), (p_j ** 2).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p_e < 1, (p_bar - p_e) / (1 - p_e), np.nan)


def fleiss_kappa(ratings, confidence: float = 0.95, n_resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """Fleiss' kappa (Fleiss 1971) of a units x coders array of codes, every coder coding every
    unit: value (statsmodels fleiss_kappa), se0 = the standard error under no agreement beyond
    chance (Fleiss, Nee & Landis 1979, Psychological Bulletin 86(5)), z = kappa / se0, and a
    percentile bootstrap interval over units (`n_resamples`, fixed seed). NaN when undefined."""
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    arr = np.asarray(ratings, dtype=object)
    nan = float("nan")
    out = {"kappa": nan, "ci_low": nan, "ci_high": nan, "se0": nan, "z": nan, "units": 0, "coders": 0}
    if arr.ndim != 2 or arr.shape[1] < 2:
        return out
    if pd.isna(pd.DataFrame(arr)).to_numpy().any():
        raise ValueError("fleiss_kappa needs every coder to code every unit; with missing codings use "
                         "Krippendorff's alpha (krippendorff_alpha)")
    codes, _ = pd.factorize(pd.Series(arr.ravel()), sort=True)   # category -> 0..c-1, jointly for all coders
    codes = codes.reshape(arr.shape)
    counts = np.stack([(codes == j).sum(axis=1) for j in range(codes.max() + 1)], axis=1)
    out.update(units=int(arr.shape[0]), coders=int(arr.shape[1]))
    counts = counts.astype(float)
    if arr.shape[0] < 2 or (counts.sum(axis=0) > 0).sum() < 2:
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        k = float(sm_fleiss(counts, method="fleiss"))
    n, m = counts.shape[0], arr.shape[1]
    p = counts.sum(axis=0) / (n * m)
    pq = p * (1 - p)
    se0 = np.sqrt(2 / (n * m * (m - 1))) * np.sqrt(pq.sum() ** 2 - (pq * (1 - 2 * p)).sum()) / pq.sum()
    rng = np.random.default_rng(seed)
    boot = _fleiss_from_counts(counts[rng.integers(0, n, size=(n_resamples, n))])
    boot = boot[np.isfinite(boot)]
    a = 1 - confidence
    lo, hi = np.quantile(boot, [a / 2, 1 - a / 2]) if len(boot) else (nan, nan)
    out.update(kappa=k, ci_low=float(lo), ci_high=float(hi), se0=float(se0), z=float(k / se0) if se0 > 0 else nan)
    return out


def _binary_alpha(ones: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Krippendorff's alpha (nominal) of binary decisions from per-unit counts: `ones` coders
    applying the code and `m` coders coding the unit (pairable units, m >= 2), vectorised over the
    leading axes: alpha = 1 - (n - 1) * o_01 / (n_0 n_1), o_01 = sum n_u0 n_u1 / (m_u - 1)."""
    zeros = m - ones
    n = m.sum(axis=-1)
    n1 = ones.sum(axis=-1)
    o01 = (zeros * ones / (m - 1)).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((n1 > 0) & (n1 < n), 1 - (n - 1) * o01 / ((n - n1) * n1), np.nan)


def alpha_ci(arr: np.ndarray, confidence: float = 0.95, n_resamples: int = RESAMPLES, seed: int = SEED) -> tuple[float, float]:
    """Percentile bootstrap interval over units of Krippendorff's alpha for a coders x units
    matrix of 0/1 decisions (NaN = not coded)."""
    arr = np.asarray(arr, dtype=float)
    m = (~np.isnan(arr)).sum(axis=0)
    ones = np.nansum(arr, axis=0)
    keep = m >= 2
    m, ones = m[keep].astype(float), ones[keep]
    if len(m) < 2 or len(np.unique(arr[~np.isnan(arr)])) > 2:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(m), size=(n_resamples, len(m)))
    boot = _binary_alpha(ones[idx], m[idx])
    boot = boot[np.isfinite(boot)]
    if len(boot) < n_resamples / 2:
        return (float("nan"), float("nan"))
    a = 1 - confidence
    lo, hi = np.quantile(boot, [a / 2, 1 - a / 2])
    return (float(lo), float(hi))


def choose_coefficient(n_coders: int, complete: bool, ordinal: bool = False) -> tuple[str, str]:
    """(coefficient, why) for a coding design: two coders on every unit -> Cohen's kappa
    (weighted for ordinal codes); three or more on every unit -> Fleiss' kappa; any unit not
    coded by every coder -> Krippendorff's alpha, the one coefficient that allows missing codings."""
    if n_coders < 2:
        return ("none", "fewer than two coders coded the same excerpts: agreement cannot be measured")
    if not complete:
        return ("Krippendorff's alpha", f"not every one of the {n_coders} coders coded every double-coded excerpt; "
                "Krippendorff's alpha is the coefficient that allows missing codings (kappas need complete data)")
    if n_coders == 2:
        return (("weighted kappa" if ordinal else "Cohen's kappa"),
                "two coders coded the same excerpts" + (": ordinal codes, so near misses count as partial agreement "
                                                        "(weighted kappa)" if ordinal else ": Cohen's kappa"))
    return ("Fleiss' kappa", f"{n_coders} coders each coded every double-coded excerpt: Fleiss' kappa (Cohen's "
            "kappa is for two coders)")


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
    seg = seg[isin(seg["segment_id"], n_coders.index[n_coders >= 2])]
    if seg.empty:
        return pd.DataFrame(columns=["segment_id", "coder"])
    # the (segment, coder, code) triples are distinct: a count per triple is 1 where the coder applied the
    # code (pd.crosstab counted the same with a Python call per group: seconds at 300k segments)
    wide = seg.groupby(["segment_id", "coder", "code"]).size().unstack("code", fill_value=0).clip(upper=1)
    return wide.reset_index()


def intercoder_reliability(segments: pd.DataFrame, coders=None, good: float = 0.8,
                           tentative: float = 0.667) -> pd.DataFrame:
    """Per code and overall: units double-coded, coders, how often the code was applied, percent
    agreement, Cohen's kappa (exactly two coders) and Krippendorff's alpha (nominal); then the
    coefficient that fits the design (choose_coefficient: Cohen's kappa, Fleiss' kappa or
    Krippendorff's alpha), its value and 95% interval, why it was chosen, and the verdict on it
    (the Krippendorff 2004 levels, applied to the chosen coefficient)."""
    wide = decisions(segments, coders)
    cols = ["code", "units", "coders", "applied", "agreement", "kappa", "alpha", "coefficient", "value", "ci_low",
            "ci_high", "why", "verdict"]
    if wide.empty:
        return pd.DataFrame(columns=cols)
    codes = [c for c in wide.columns if c not in ("segment_id", "coder")]
    coder_list = sorted(wide["coder"].unique())
    rows = []
    # coders x units x codes: a coder's 0/1 decision on a unit (segment), NaN where the coder did not code it;
    # units in sorted order and codes in their (sorted) column order, as pivot tables of the decisions by
    # coder and unit (per code) or by coder and (unit, code) (overall) would order them, built in one pass
    unit, units = pd.factorize(wide["segment_id"], sort=True)
    cube = np.full((len(coder_list), len(units), len(codes)), np.nan)
    cube[pd.Index(coder_list).get_indexer(wide["coder"]), unit, :] = wide[codes].to_numpy(dtype=float)

    def one(label, arr):
        mat = pd.DataFrame(arr, index=coder_list)
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
        active = sub.notna().any(axis=1)
        coefficient, why = choose_coefficient(int(active.sum()), bool(sub.loc[active].notna().all().all()))
        value, lo, hi = float("nan"), float("nan"), float("nan")
        if coefficient == "Cohen's kappa":
            pair = sub.loc[active]
            value, lo, hi = cohen_kappa_ci(pair.iloc[0], pair.iloc[1])
        elif coefficient == "Fleiss' kappa":
            fk = fleiss_kappa(sub.loc[active].T.to_numpy())
            value, lo, hi = fk["kappa"], fk["ci_low"], fk["ci_high"]
        elif coefficient == "Krippendorff's alpha":
            value, (lo, hi) = alpha, alpha_ci(arr)
        rows.append({"code": label, "units": int(both.sum()), "coders": int(mat.notna().any(axis=1).sum()),
                     "applied": int(np.nansum(arr)), "agreement": agree, "kappa": kappa, "alpha": alpha,
                     "coefficient": coefficient, "value": value, "ci_low": lo, "ci_high": hi, "why": why,
                     "verdict": verdict(value if coefficient != "none" else alpha, good, tentative)})

    for i, code in enumerate(codes):
        one(code, np.ascontiguousarray(cube[:, :, i]))
    one("overall (every code decision)", cube.reshape(len(coder_list), -1))
    return pd.DataFrame(rows, columns=cols)


def verdict(alpha: float, good: float = 0.8, tentative: float = 0.667) -> str:
    if alpha is None or np.isnan(alpha):
        return "not computable (too few units or no variation)"
    if alpha >= good:
        return "reliable"
    if alpha >= tentative:
        return "tentative: draw tentative conclusions only"
    return "not reliable: refine the code's definition and recode"


__all__ = ["cohen_kappa", "cohen_kappa_ci", "weighted_kappa", "fleiss_kappa", "krippendorff_alpha", "alpha_ci",
           "choose_coefficient", "decisions", "intercoder_reliability", "verdict"]

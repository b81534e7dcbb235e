"""Shared statistics: group comparisons with effect sizes, p-value correction, proportion and
NPS intervals, weighted summaries.

Everything a library does well is delegated (pingouin for the tests and Hedges' g, scipy for the
Mann-Whitney U and tests from summary statistics, statsmodels for proportion intervals and the
multiple-comparison corrections). What is written here is the choice of the test, the
direction of an effect, and the few published formulas no library offers (the NPS adjusted-Wald
interval of Rocks 2016; the Hanley-McNeil standard error used for the rank-biserial and AUC
intervals; the noncentral chi-square interval of Cramer's V; the bootstrap of epsilon-squared).
Every effect size comes with an interval: exact (noncentral F for eta-squared, noncentral
chi-square for Cramer's V, Hanley-McNeil for AUC / rank-biserial, Katz log for risk ratios)
where a formula exists, a seeded percentile bootstrap (BOOTSTRAP_RESAMPLES) where not.

    >>> r = compare_groups(df, "q_onboarding", "segment", "ordinal", groups=["enterprise"])
    >>> r.test, r.p_value, r.effect_size_name, r.effect_size, r.ci_low, r.ci_high
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Literal, Sequence

import numpy as np
import pandas as pd

from insight.checks import InputError
from scipy import stats as sps

MeasureType = Literal["auto", "continuous", "ordinal", "binary", "categorical"]
CORRECTIONS = {"holm": "holm", "bonferroni": "bonferroni", "fdr_bh": "fdr_bh", "bh": "fdr_bh",
               "benjamini-hochberg": "fdr_bh", "none": None}
CORRECTION_LABELS = {"holm": "Holm", "bonferroni": "Bonferroni", "fdr_bh": "Benjamini-Hochberg (FDR)",
                     "none": "no correction"}
# smallest effects of interest (conventional "small" effects), used to call a non-significant
# result "no meaningful difference" only when the whole interval lies inside +/- this bound
SMALL_EFFECT = {"Hedges g": 0.2, "rank-biserial r": 0.147, "difference in proportions": 0.05,
                "Cramer's V": 0.1, "eta-squared": 0.01, "epsilon-squared": 0.01}


class StatsInputError(InputError):
    """A comparison cannot be made from the data given (missing column, too few cases...)."""


# --- intervals --------------------------------------------------------------------------------

def z_value(confidence: float = 0.95) -> float:
    return float(sps.norm.ppf(0.5 + confidence / 2))


def proportion_ci(count, n, confidence: float = 0.95, method: str = "wilson") -> tuple[float, float]:
    """Interval for a proportion: method 'wilson' (score), 'adjusted_wald' (Agresti-Coull,
    as recommended by Sauro & Lewis), 'exact' (Clopper-Pearson) or 'normal' (Wald).
    Counts and n may be fractional (weighted counts scaled to an effective base)."""
    from statsmodels.stats.proportion import proportion_confint

    if n is None or not n or n <= 0:
        return (math.nan, math.nan)
    sm_method = {"wilson": "wilson", "adjusted_wald": "agresti_coull", "agresti_coull": "agresti_coull",
                 "exact": "beta", "clopper_pearson": "beta", "normal": "normal", "wald": "normal"}.get(method)
    if sm_method is None:
        raise ValueError(f"unknown interval method {method!r}; use wilson, adjusted_wald, exact or normal")
    lo, hi = proportion_confint(count, n, alpha=1 - confidence, method=sm_method)
    return (float(max(lo, 0.0)), float(min(hi, 1.0)))


def wilson_ci(count, n, confidence: float = 0.95) -> tuple[float, float]:
    return proportion_ci(count, n, confidence, "wilson")


def adjusted_wald_ci(count, n, confidence: float = 0.95) -> tuple[float, float]:
    return proportion_ci(count, n, confidence, "adjusted_wald")


@dataclass
class NPSResult:
    nps: float            # -100..100
    promoters: float      # shares 0..1 (weighted when weights were given)
    passives: float
    detractors: float
    n: int                # respondents answering
    n_eff: float          # effective base (= n unweighted)
    ci_low: float
    ci_high: float

    def as_dict(self) -> dict:
        return asdict(self)


def nps_adjusted_wald(promoters: float, detractors: float, n: float, confidence: float = 0.95) -> tuple[float, float, float]:
    """Adjusted-Wald interval of the Net Promoter Score (Rocks 2016, The American Statistician
    70(4); as described by Sauro & Lewis, MeasuringU 2021): add 3 to n and 3/4 to the promoter
    and detractor counts, then NPS' = p'_pro - p'_det with variance
    (p'_pro + p'_det - (p'_pro - p'_det)^2) / (n + 3). Returns (adjusted NPS, low, high) on the
    -1..1 scale, clipped to [-1, 1]. Counts may be fractional (weighted, on an effective base)."""
    if n <= 0:
        return (math.nan, math.nan, math.nan)
    n_adj = n + 3.0
    pp = (promoters + 0.75) / n_adj
    pd_ = (detractors + 0.75) / n_adj
    centre = pp - pd_
    var = (pp + pd_ - centre ** 2) / n_adj
    half = z_value(confidence) * math.sqrt(max(var, 0.0))
    return (centre, max(-1.0, centre - half), min(1.0, centre + half))


def nps(scores, weights=None, confidence: float = 0.95) -> NPSResult:
    """NPS (promoters 9-10 minus detractors 0-6, in points -100..100) with the adjusted-Wald
    interval; weighted shares use the Kish effective base for the interval."""
    s = pd.Series(scores, dtype="float64")
    w = pd.Series(1.0, index=s.index) if weights is None else pd.Series(weights, index=s.index, dtype="float64")
    ok = s.notna() & w.notna()
    s, w = s[ok], w[ok]
    n = int(len(s))
    if n == 0:
        return NPSResult(math.nan, math.nan, math.nan, math.nan, 0, 0.0, math.nan, math.nan)
    bad = s[(s < 0) | (s > 10) | (s != np.floor(s))]
    if len(bad):
        raise StatsInputError(f"NPS scores must be whole numbers 0-10; found {sorted(bad.unique())[:5]} "
                              f"in rows {list(bad.index[:10])}; fix the codes or map them in params")
    tot = w.sum()
    pro = float(w[s >= 9].sum() / tot)
    det = float(w[s <= 6].sum() / tot)
    n_eff = effective_n(w)
    _, lo, hi = nps_adjusted_wald(pro * n_eff, det * n_eff, n_eff, confidence)
    return NPSResult(100 * (pro - det), pro, 1 - pro - det, det, n, n_eff, 100 * lo, 100 * hi)


# --- effect sizes with their intervals ----------------------------------------------------------

BOOTSTRAP_RESAMPLES = 2000   # resamples of every bootstrap interval (stated in the reports)
BOOTSTRAP_SEED = 20240       # fixed, so a rerun of a report gives the same interval
BOOTSTRAP_MIN_GROUP = 5      # fewer cases in a group: no bootstrap interval (it would not mean anything)


INTERVAL_METHODS = {
    "Hedges g": "exact, noncentral t (pingouin)",
    "rank-biserial r": "Hanley-McNeil standard error",
    "difference in proportions": "Newcombe's hybrid score",
    "eta-squared": "exact, noncentral F",
    "epsilon-squared": f"percentile bootstrap within groups, {BOOTSTRAP_RESAMPLES:,} resamples, fixed seed",
    "Cramer's V": "exact, noncentral chi-square",
    "risk ratio": "Katz log method",
    "AUC": "Hanley-McNeil standard error",
    "odds ratio": "Woolf log method",
}


def interval_note(names) -> str:
    """One sentence for a table note: how the interval of each effect size shown was made."""
    seen = [n for n in dict.fromkeys(str(x) for x in names if isinstance(x, str) and x) if n in INTERVAL_METHODS]
    if not seen:
        return ""
    return "95% intervals: " + "; ".join(f"{n}: {INTERVAL_METHODS[n]}" for n in seen) + "."


def eta_squared_ci(f_stat: float, df1: float, df2: float, confidence: float = 0.95) -> tuple[float, float]:
    """Interval of (partial) eta-squared by inverting the noncentral F distribution (Steiger 2004,
    Psychological Methods 9(2); Smithson 2001): the noncentrality limits (statsmodels
    confint_noncentrality) become eta-squared as lambda / (lambda + df1 + df2 + 1). With a Welch
    F (fractional df2) the interval is the same construction on Welch's degrees of freedom."""
    from statsmodels.stats.oneway import confint_noncentrality

    if not all(np.isfinite([f_stat, df1, df2])) or df1 <= 0 or df2 <= 0:
        return (math.nan, math.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = confint_noncentrality(float(f_stat), (float(df1), float(df2)), alpha=1 - confidence)
    lo, hi = max(float(lo), 0.0), max(float(hi), 0.0)
    total = df1 + df2 + 1
    return (lo / (lo + total), hi / (hi + total))


def cramers_v_ci(chi2: float, n: float, shape: tuple[int, int], confidence: float = 0.95) -> tuple[float, float]:
    """Interval of Cramer's V by inverting the noncentral chi-square distribution (Smithson 2003,
    "Confidence intervals", ch. 4): the noncentrality limits lambda give V = sqrt((lambda + df) /
    (n (k - 1))), k = min(rows, columns); a lower limit of lambda = 0 gives V = 0 (so the interval
    excludes 0 exactly when the chi-square test is significant at 1 - confidence)."""
    from scipy.optimize import brentq

    rows, cols = shape
    k, df = min(rows, cols), (rows - 1) * (cols - 1)
    if not np.isfinite(chi2) or n <= 0 or k < 2:
        return (math.nan, math.nan)
    a = 1 - confidence

    def limit(p):   # lambda with P(X <= chi2 | lambda) = p; 0 when even lambda = 0 gives less
        if sps.chi2.cdf(chi2, df) <= p:
            return 0.0
        top = max(chi2, 1.0)
        while sps.ncx2.cdf(chi2, df, top) > p:
            top *= 2
        return brentq(lambda lam: sps.ncx2.cdf(chi2, df, lam) - p, 0.0, top, xtol=1e-10)

    lam_lo, lam_hi = limit(1 - a / 2), limit(a / 2)
    to_v = lambda lam: min(math.sqrt((lam + df) / (n * (k - 1))), 1.0)
    return (0.0 if lam_lo == 0 else to_v(lam_lo), to_v(lam_hi))


def cramers_v(table, confidence: float = 0.95) -> tuple[float, float, float, float, float]:
    """(V, low, high, chi2, p) of a contingency table of counts: Pearson chi-square without
    continuity correction (scipy), V = sqrt(chi2 / (n (k - 1))), noncentral chi-square interval."""
    t = np.asarray(table, dtype=float)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    n = t.sum()
    if t.ndim != 2 or min(t.shape) < 2 or n <= 0:
        return (math.nan, math.nan, math.nan, math.nan, math.nan)
    chi2, p, _, _ = sps.chi2_contingency(t, correction=False)
    v = math.sqrt(chi2 / (n * (min(t.shape) - 1)))
    lo, hi = cramers_v_ci(chi2, n, t.shape, confidence)
    return (float(v), lo, hi, float(chi2), float(p))


def odds_ratio_ci(table, confidence: float = 0.95) -> tuple[float, float, float]:
    """(odds ratio, low, high) of a 2x2 table [[a, b], [c, d]]: the sample odds ratio ad/bc with
    Woolf's log interval exp(ln OR +- z sqrt(1/a + 1/b + 1/c + 1/d)) (scipy odds_ratio, kind
    'sample'); NaN limits when a cell is 0 (no finite interval then)."""
    from scipy.stats.contingency import odds_ratio

    t = np.asarray(table, dtype=float).reshape(2, 2)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = odds_ratio(t.astype(int), kind="sample")
        ci = r.confidence_interval(confidence) if (t > 0).all() else None
    est = float(r.statistic)
    if ci is None:
        return (est, math.nan, math.nan)
    return (est, float(ci.low), float(ci.high))


def rank_epsilon_squared(h: float, n: int) -> float:
    """Epsilon-squared of a Kruskal-Wallis H (Tomczak & Tomczak 2014, Trends in Sport Sciences
    21(1), eq. 9): H / ((n^2 - 1) / (n + 1)) = H / (n - 1); 0..1."""
    return float(h / ((n * n - 1) / (n + 1))) if n > 1 else math.nan


def _kruskal_h_counts(counts: np.ndarray) -> np.ndarray:
    """Tie-corrected Kruskal-Wallis H of (..., groups, levels) count tables (vectorised over the
    leading axes): mid-ranks of the levels, rank sums per group."""
    col = counts.sum(axis=-2)
    n = col.sum(axis=-1)
    mid = np.cumsum(col, axis=-1) - (col - 1) / 2.0
    ranks = (counts * mid[..., None, :]).sum(axis=-1)
    ni = counts.sum(axis=-1)
    h = 12.0 / (n * (n + 1)) * (ranks ** 2 / ni).sum(axis=-1) - 3 * (n + 1)
    ties = 1 - (col ** 3 - col).sum(axis=-1) / (n ** 3 - n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ties > 0, h / np.where(ties > 0, ties, 1), 0.0)


def epsilon_squared_ci(samples: Sequence, confidence: float = 0.95, n_resamples: int = BOOTSTRAP_RESAMPLES,
                       seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """(epsilon-squared, low, high) of a Kruskal-Wallis comparison of `samples` (one array per
    group). No closed-form interval exists, so the interval is a percentile bootstrap, stratified
    by group (each group resampled with replacement at its own size), `n_resamples` resamples
    with a fixed seed; no interval (NaN) when a group has fewer than BOOTSTRAP_MIN_GROUP cases. Done on the table of counts per group and value, so thousands of
    resamples of a rating scale take milliseconds."""
    groups = [np.asarray(x, dtype=float) for x in samples]
    groups = [x[~np.isnan(x)] for x in groups]
    if len(groups) < 2 or any(len(x) == 0 for x in groups):
        return (math.nan, math.nan, math.nan)
    small = min(len(x) for x in groups) < BOOTSTRAP_MIN_GROUP
    levels = np.unique(np.concatenate(groups))
    counts = np.stack([np.bincount(np.searchsorted(levels, x), minlength=len(levels)) for x in groups]).astype(float)
    n = int(counts.sum())
    eps = rank_epsilon_squared(float(_kruskal_h_counts(counts)), n)
    if small:
        return (eps, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    boot = np.stack([rng.multinomial(int(c.sum()), c / c.sum(), size=n_resamples) for c in counts], axis=1)
    e = _kruskal_h_counts(boot.astype(float)) / (n - 1)
    a = 1 - confidence
    lo, hi = np.quantile(e, [a / 2, 1 - a / 2])
    return (eps, float(max(lo, 0.0)), float(min(hi, 1.0)))


def auc_ci(auc: float, n_pos: int, n_neg: int, confidence: float = 0.95) -> tuple[float, float]:
    """Interval of an AUC (= the probability that a random positive outranks a random negative,
    ties half) from the Hanley & McNeil (1982, Radiology 143:29) standard error, clipped to [0, 1]."""
    if not (n_pos and n_neg) or auc is None or not np.isfinite(auc):
        return (math.nan, math.nan)
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    half = z_value(confidence) * math.sqrt(max(var, 0.0))
    return (max(0.0, auc - half), min(1.0, auc + half))


def rank_biserial(x, y, confidence: float = 0.95) -> tuple[float, float, float, float, float]:
    """(U, p, r_rb, low, high): Mann-Whitney U of x vs y (scipy), rank-biserial r = 2*A - 1 where
    A = U/(n1 n2) is the probability that x beats y (ties half); positive means x tends higher.
    Interval from the Hanley & McNeil (1982) standard error of A (auc_ci)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) == 0 or len(y) == 0:
        return (math.nan, math.nan, math.nan, math.nan, math.nan)
    res = sps.mannwhitneyu(x, y, alternative="two-sided")
    a = res.statistic / (len(x) * len(y))
    lo, hi = auc_ci(a, len(x), len(y), confidence)
    return (float(res.statistic), float(res.pvalue), 2 * a - 1, 2 * lo - 1, 2 * hi - 1)


def rank_biserial_groups(values, groups, wanted, confidence: float = 0.95) -> dict:
    """{g: rank_biserial(values[groups == g], values[groups != g])} for each g of `wanted` (`groups`
    without missing values), ranking the pooled values once instead of once per group: every test
    pools the same values. The arithmetic is scipy's mannwhitneyu (two-sided, asymptotic, continuity
    and tie correction: average ranks, R1 summed over the group's values in their order, the tie term
    over the sorted tie counts), so the results are the same to the last bit; a group with 8 or fewer
    values on a side (where scipy may choose its exact test) or values with NaN go to rank_biserial."""
    from scipy import special

    v = np.asarray(values, dtype=float)
    g = np.asarray(groups, dtype=object)
    out = {}
    if np.isnan(v).any():
        return {k: rank_biserial(v[g == k], v[g != k], confidence) for k in wanted}
    n = len(v)
    ranks = sps.rankdata(v, method="average")
    y = np.sort(v, kind="stable")
    first = np.concatenate([[True], y[:-1] != y[1:]])
    starts = np.flatnonzero(first)
    t = np.zeros(n, dtype=float)
    t[first] = np.diff(starts, append=n).astype(float)
    tie_term = np.sum(t**3 - t)
    for k in wanted:
        m = g == k
        n1 = int(m.sum())
        n2 = n - n1
        if n1 <= 8 or n2 <= 8:
            out[k] = rank_biserial(v[m], v[~m], confidence)
            continue
        u1 = np.sum(ranks[m]) - n1 * (n1 + 1) / 2
        u = np.maximum(u1, n1 * n2 - u1)
        s = np.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
        z = (u - n1 * n2 / 2 - 0.5) / s
        p = float(np.clip(special.ndtr(-z) * 2, 0.0, 1.0))
        a = u1 / (n1 * n2)
        lo, hi = auc_ci(a, n1, n2, confidence)
        out[k] = (float(u1), p, 2 * a - 1, 2 * lo - 1, 2 * hi - 1)
    return out


# --- weights ----------------------------------------------------------------------------------

def effective_n(weights) -> float:
    """Kish effective base (sum w)^2 / sum w^2."""
    w = np.asarray(pd.Series(weights, dtype="float64").dropna())
    if len(w) == 0 or not np.any(w):
        return 0.0
    return float(w.sum() ** 2 / np.square(w).sum())


def design_effect(weights) -> float:
    """Kish design effect of unequal weighting: 1 + CV^2 = n * sum(w^2) / sum(w)^2."""
    w = np.asarray(pd.Series(weights, dtype="float64").dropna())
    if len(w) == 0:
        return math.nan
    return float(len(w) * np.square(w).sum() / w.sum() ** 2)


def weighted_mean_sd(x, weights=None) -> tuple[float, float, int, float]:
    """(mean, sd, n, n_eff) of x with optional weights; sd with the reliability-weights
    correction, so unweighted input gives the ordinary sample sd."""
    s = pd.Series(x, dtype="float64")
    w = pd.Series(1.0, index=s.index) if weights is None else pd.Series(weights, index=s.index, dtype="float64")
    ok = s.notna() & w.notna()
    s, w = s[ok].to_numpy(), w[ok].to_numpy()
    n = len(s)
    if n == 0:
        return (math.nan, math.nan, 0, 0.0)
    mean = float(np.average(s, weights=w))
    v1, v2 = w.sum(), np.square(w).sum()
    denom = v1 - v2 / v1
    var = float(np.sum(w * (s - mean) ** 2) / denom) if denom > 0 else math.nan
    return (mean, math.sqrt(var) if var == var else math.nan, n, effective_n(w))


def mean_ci(x, weights=None, confidence: float = 0.95) -> tuple[float, float, float, int, float]:
    """(mean, low, high, n, n_eff): t interval on the effective base."""
    mean, sd, n, n_eff = weighted_mean_sd(x, weights)
    if n < 2 or not sd == sd:
        return (mean, math.nan, math.nan, n, n_eff)
    half = sps.t.ppf(0.5 + confidence / 2, max(n_eff - 1, 1)) * sd / math.sqrt(n_eff)
    return (mean, mean - half, mean + half, n, n_eff)


def share_ci(flags, weights=None, confidence: float = 0.95, method: str = "wilson") -> tuple[float, float, float, int, float]:
    """(share, low, high, n, n_eff) of a 0/1 (or bool) series; weighted share, interval on the
    effective base."""
    s = pd.Series(flags).astype("float64")
    w = pd.Series(1.0, index=s.index) if weights is None else pd.Series(weights, index=s.index, dtype="float64")
    ok = s.notna() & w.notna()
    s, w = s[ok], w[ok]
    n = int(len(s))
    if n == 0:
        return (math.nan, math.nan, math.nan, 0, 0.0)
    p = float((s * w).sum() / w.sum())
    n_eff = effective_n(w)
    lo, hi = proportion_ci(p * n_eff, n_eff, confidence, method)
    return (p, lo, hi, n, n_eff)


# --- tests from summary statistics (banner column comparisons) -----------------------------------

def two_proportion_z(p1: float, n1: float, p2: float, n2: float) -> float:
    """Two-sided p of the pooled two-proportion z-test; n may be effective bases."""
    if min(n1, n2) <= 0:
        return math.nan
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0 if p1 == p2 else 0.0
    z = (p1 - p2) / se
    return float(2 * sps.norm.sf(abs(z)))


def welch_t_from_stats(m1: float, sd1: float, n1: float, m2: float, sd2: float, n2: float) -> float:
    """Two-sided p of Welch's t from means, sds and (effective) bases (scipy)."""
    if min(n1, n2) < 2 or not (sd1 == sd1 and sd2 == sd2):
        return math.nan
    if sd1 == 0 and sd2 == 0:
        return 1.0 if m1 == m2 else 0.0
    return float(sps.ttest_ind_from_stats(m1, sd1, n1, m2, sd2, n2, equal_var=False).pvalue)


# --- multiple comparisons ----------------------------------------------------------------------

_PINGOUIN = {"holm": "holm", "bonferroni": "bonf", "fdr_bh": "fdr_bh"}


def p_adjust(pvalues, method: str = "holm") -> np.ndarray:
    """Corrected p-values (pingouin's multicomp); NaN entries stay NaN and are not counted.
    method: holm, bonferroni, fdr_bh (Benjamini-Hochberg) or none. (Not statsmodels' multipletests:
    its Holm branch runs a full garbage collection on every call, 0.1 s in a kernel that has pandas,
    scipy and ibis loaded; a report corrects dozens of families.)"""
    from pingouin import multicomp

    key = CORRECTIONS.get(str(method).lower(), "invalid")
    if key == "invalid":
        raise ValueError(f"unknown correction {method!r}; use one of {', '.join(CORRECTION_LABELS)}")
    p = np.asarray(pvalues, dtype="float64").reshape(-1)
    out = p.copy()
    ok = ~np.isnan(p)
    if key is None or ok.sum() == 0:
        return out
    out[ok] = np.minimum(multicomp(p[ok], method=_PINGOUIN[key])[1], 1.0)
    return out


# --- group comparisons -------------------------------------------------------------------------

@dataclass
class GroupComparison:
    measure: str
    group_by: str
    measure_type: str
    test: str
    statistic: float
    p_value: float
    effect_size: float | None
    effect_size_name: str
    ci_low: float | None
    ci_high: float | None
    n: int
    groups: list[str]
    summary: pd.DataFrame = field(repr=False)
    difference: float | None = None      # focus minus reference (mean, mean rank shift or proportion)
    reason: str = ""

    @property
    def direction(self) -> str:
        d = self.effect_size if self.effect_size_name in ("Hedges g", "rank-biserial r", "difference in proportions") else self.difference
        if d is None or d != d:
            return "none"
        return "higher" if d > 0 else "lower" if d < 0 else "none"

    def as_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "summary"}
        d["direction"] = self.direction
        return d


def infer_measure_type(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "binary"
    if not pd.api.types.is_numeric_dtype(s):
        return "categorical"
    vals = s.dropna().unique()
    if len(vals) <= 2 and set(np.asarray(vals, dtype=float)) <= {0.0, 1.0}:
        return "binary"
    if len(vals) <= 11 and np.all(np.asarray(vals, dtype=float) == np.round(np.asarray(vals, dtype=float))):
        return "ordinal"
    return "continuous"


def compare_groups(df: pd.DataFrame, measure: str, group_by: str, measure_type: MeasureType = "auto",
                   groups: Sequence[str] | None = None, confidence: float = 0.95,
                   table: str = "data", min_n: int = 2) -> GroupComparison:
    """Compare `measure` across the groups of `group_by`, choosing the test by measure type:

    - continuous: 2 groups Welch t with Hedges g (Mann-Whitney when a group is small, n < 30, and
      Shapiro-Wilk rejects normality); 3+ groups one-way ANOVA when Levene's test finds the
      variances alike, else Welch ANOVA, with eta-squared (Kruskal-Wallis under the same
      small-and-non-normal condition);
    - ordinal (rating scales): Mann-Whitney U with the rank-biserial r; 3+ groups Kruskal-Wallis
      with epsilon-squared;
    - binary: chi-square; 2 groups report the difference in proportions with Newcombe's
      interval; 3+ groups Cramer's V;
    - categorical: chi-square test of independence with Cramer's V.

    groups: None compares all groups; [a] compares a with all other respondents ("others");
    [a, b] compares a with b (the sign of the effect is a minus b); longer lists keep those groups.
    """
    import pingouin as pg

    for col in (measure, group_by):
        if col not in df.columns:
            raise StatsInputError(f"{table} has no column {col!r} (columns: {', '.join(map(str, df.columns[:30]))}); "
                                  f"fix the measure / group_by name or map the column in params")
    d = df[[measure, group_by]].dropna().copy()
    d[group_by] = d[group_by].astype(str)
    present = sorted(d[group_by].unique())
    if groups:
        missing = [g for g in groups if g not in present]
        if missing:
            raise StatsInputError(f"{table}.{group_by} has no rows with {missing} (values present: {present}); "
                                  "fix the group names in the hypothesis or the data")
        if len(groups) == 1:
            focus = groups[0]
            d[group_by] = np.where(d[group_by] == focus, focus, "others")
            order = [focus, "others"]
        else:
            d = d[d[group_by].isin(groups)]
            order = list(groups)
    else:
        order = present
    order = [g for g in order if (d[group_by] == g).sum() > 0]
    if len(order) < 2:
        raise StatsInputError(f"{table}.{group_by} has fewer than two groups with answers to {measure!r}; nothing to compare")
    counts = d[group_by].value_counts()
    small = [g for g in order if counts.get(g, 0) < min_n]
    if small:
        raise StatsInputError(f"groups {small} of {table}.{group_by} have fewer than {min_n} answers to {measure!r}")
    mtype = infer_measure_type(d[measure]) if measure_type == "auto" else measure_type
    if mtype not in ("continuous", "ordinal", "binary", "categorical"):
        raise ValueError(f"measure_type must be continuous, ordinal, binary or categorical, not {measure_type!r}")
    if mtype in ("continuous", "ordinal", "binary"):
        try:
            d[measure] = pd.to_numeric(d[measure].astype("float64") if d[measure].dtype == bool else d[measure])
        except (TypeError, ValueError):
            raise StatsInputError(f"{table}.{measure} is not numeric but was compared as {mtype}; "
                                  "compare it as categorical or fix the codes") from None
    vals = [d.loc[d[group_by] == g, measure].to_numpy(dtype=float) if mtype != "categorical" else None for g in order]
    n = int(len(d))
    k = len(order)

    if mtype in ("binary", "categorical"):
        summary = (pd.crosstab(d[group_by], d[measure], normalize="index").reindex(order)
                   .assign(n=counts.reindex(order).to_numpy()))
        expected, observed, st = pg.chi2_independence(d, x=group_by, y=measure, correction=False)
        row = st[st["test"] == "pearson"].iloc[0]
        chi2, p, v = float(row["chi2"]), float(row["pval"]), float(row["cramer"])
        low_expected = bool((expected.to_numpy() < 5).any())
        reason = "chi-square test of independence" + (" (some expected counts < 5: read with care)" if low_expected else "")
        if mtype == "binary" and k == 2:
            from statsmodels.stats.proportion import confint_proportions_2indep
            x1, x2 = vals
            c1, c2 = x1.sum(), x2.sum()
            diff = c1 / len(x1) - c2 / len(x2)
            lo, hi = confint_proportions_2indep(c1, len(x1), c2, len(x2), method="newcomb", alpha=1 - confidence)
            return GroupComparison(measure, group_by, mtype, "chi-square (2x2)", chi2, p, float(diff),
                                   "difference in proportions", float(lo), float(hi), n, order, summary,
                                   float(diff), reason + f"; Cramer's V = {v:.3f}")
        v_lo, v_hi = cramers_v_ci(chi2, n, observed.shape, confidence)
        return GroupComparison(measure, group_by, mtype, "chi-square", chi2, p, v, "Cramer's V", v_lo, v_hi,
                               n, order, summary, None, reason + "; interval: noncentral chi-square (Smithson 2003)")

    summary = d.groupby(group_by)[measure].agg(n="count", mean="mean", sd="std", median="median").reindex(order)
    nonnormal_small = False
    if mtype == "continuous":
        for x in vals:
            if len(x) < 30 and len(x) >= 3 and np.ptp(x) > 0 and sps.shapiro(x).pvalue < 0.05:
                nonnormal_small = True
    use_ranks = mtype == "ordinal" or nonnormal_small
    why = ("rating scale (ordinal): rank-based test" if mtype == "ordinal"
           else "a small group is not normally distributed: rank-based test" if nonnormal_small
           else "continuous measure: Welch test (no equal-variance assumption)")
    if k == 2:
        x, y = vals
        diff = float(x.mean() - y.mean())
        if use_ranks:
            u, p, r, lo, hi = rank_biserial(x, y, confidence)
            return GroupComparison(measure, group_by, mtype, "Mann-Whitney U", u, p, r, "rank-biserial r", lo, hi,
                                   n, order, summary, diff, why)
        t = pg.ttest(x, y, correction=True, confidence=confidence)
        g = float(pg.compute_effsize(x, y, eftype="hedges"))
        lo, hi = pg.compute_esci(stat=g, nx=len(x), ny=len(y), eftype="hedges", confidence=confidence, decimals=6)
        return GroupComparison(measure, group_by, mtype, "Welch t-test", float(t["T"].iloc[0]), float(t["p_val"].iloc[0]
                               if "p_val" in t else t["p-val"].iloc[0]), g, "Hedges g", float(lo), float(hi),
                               n, order, summary, diff, why)
    if use_ranks:
        kw = pg.kruskal(data=d, dv=measure, between=group_by)
        h = float(kw["H"].iloc[0])
        p = float(kw["p_unc"].iloc[0] if "p_unc" in kw else kw["p-unc"].iloc[0])
        eps, e_lo, e_hi = epsilon_squared_ci(vals, confidence)
        return GroupComparison(measure, group_by, mtype, "Kruskal-Wallis H", h, p, eps, "epsilon-squared", e_lo, e_hi,
                               n, order, summary, None,
                               why + (f"; interval: percentile bootstrap, {BOOTSTRAP_RESAMPLES:,} resamples within groups"
                                      if e_lo == e_lo else f"; no interval: a group has fewer than "
                                      f"{BOOTSTRAP_MIN_GROUP} cases, too few to bootstrap"))
    equal_var = bool(sps.levene(*vals, center="median").pvalue >= 0.05)
    if equal_var:
        with warnings.catch_warnings():   # pingouin 0.7 calls a pandas method pandas 3.1 deprecates
            warnings.filterwarnings("ignore", message=".*inplace keyword.*")
            aov = pg.anova(data=d, dv=measure, between=group_by, effsize="np2")
        name, why = "one-way ANOVA", why.replace("Welch test (no equal-variance assumption)",
                                                 "one-way ANOVA (Levene: variances alike)")
    else:
        aov = pg.welch_anova(data=d, dv=measure, between=group_by)
        name, why = "Welch ANOVA", why.replace("Welch test (no equal-variance assumption)",
                                               "Welch ANOVA (Levene: variances differ)")
    p = float(aov["p_unc"].iloc[0] if "p_unc" in aov else aov["p-unc"].iloc[0])
    f_stat = float(aov["F"].iloc[0])
    e_lo, e_hi = eta_squared_ci(f_stat, float(aov["ddof1"].iloc[0]), float(aov["ddof2"].iloc[0]), confidence)
    return GroupComparison(measure, group_by, mtype, name, f_stat, p, float(aov["np2"].iloc[0]), "eta-squared",
                           e_lo, e_hi, n, order, summary, None, why + "; interval: noncentral F (Steiger 2004)")


def evidence_from(expected: str, direction: str, significant: bool, rules_out_expected: bool = False,
                  negligible: bool = False) -> str:
    """THE rule that turns a test into evidence for a hypothesis; every analysis uses it.

    expected: lower | higher | different | no_difference (the focus group against the reference);
    direction: higher | lower | none (what the data show); significant: p below alpha (corrected);
    rules_out_expected: the effect's interval excludes even a small effect in the expected direction;
    negligible: the interval lies within the smallest effect of interest on both sides.

    A significant effect in the expected direction supports, in the opposite direction contradicts.
    A non-significant result is evidence only when its interval settles the question (an
    equivalence argument): it contradicts a directional expectation it rules out, and supports
    "no_difference" when the effect is negligible; otherwise it is inconclusive (too little data)."""
    if expected == "no_difference":
        return "contradicts" if significant else ("supports" if negligible else "inconclusive")
    if significant:
        if expected == "different":
            return "supports"
        return "supports" if direction == expected else "contradicts"
    return "contradicts" if rules_out_expected else "inconclusive"


def is_significant(p_value, alpha: float = 0.05) -> bool:
    """The `significant` of evidence_from: a (corrected) p-value below alpha; False for a missing p."""
    return p_value is not None and p_value == p_value and float(p_value) < alpha


DIFFERENCE_WORDS = {"supports": "a significant difference", "contradicts": "a difference too small to matter",
                    "inconclusive": "no significant difference"}


def difference_words(p_value, alpha: float = 0.05, negligible: bool = False, words: dict | None = None) -> str:
    """The words a report uses for "is there a difference?", from THE evidence rule: evidence_from
    for the expectation 'different' (significant -> 'a significant difference'; not significant
    -> 'no significant difference', or 'a difference too small to matter' when the interval rules
    out even a small effect). `words` replaces the three phrases (same keys) for other sentences,
    e.g. {"supports": "a significant change", "inconclusive": "within the margin of error"}.
    Every "significant" in the reports' prose comes from here or from evidence_from."""
    ev = evidence_from("different", "none", is_significant(p_value, alpha), rules_out_expected=negligible)
    table = {**DIFFERENCE_WORDS, **(words or {})}
    return table[ev]


def evidence_for(result: GroupComparison, expected: str, p_value: float, alpha: float = 0.05) -> str:
    """evidence_from for a GroupComparison, given the (corrected) p-value: the smallest effect of
    interest is SMALL_EFFECT of the comparison's effect-size measure."""
    sig = p_value == p_value and p_value < alpha
    bound = SMALL_EFFECT.get(result.effect_size_name)
    lo, hi = result.ci_low, result.ci_high
    have_ci = bound is not None and lo is not None and hi is not None and lo == lo and hi == hi
    if result.effect_size_name in ("eta-squared", "epsilon-squared", "Cramer's V"):
        # no sign: the effect is negligible when its whole interval lies below the smallest effect
        # of interest (the point estimate only when no interval could be made)
        negligible = (have_ci and hi < bound) if have_ci else (
            result.effect_size is not None and bound is not None and result.effect_size < bound)
        rules_out_expected = negligible
    else:
        negligible = have_ci and -bound < lo and hi < bound
        # the interval rules out at least a small effect in the expected direction
        rules_out_expected = have_ci and ((expected == "lower" and lo > -bound) or
                                          (expected == "higher" and hi < bound) or
                                          (expected == "different" and negligible))
    return evidence_from(expected, result.direction, sig, rules_out_expected, negligible)


def nps_difference(scores_a, scores_b, weights_a=None, weights_b=None, confidence: float = 0.95) -> dict:
    """Difference of two independent NPS (a minus b, in points) with the adjusted-Wald variances
    of each (Rocks 2016; Sauro & Lewis's comparison of two NPS): z = diff / sqrt(var_a + var_b).
    Returns dict(nps_a, nps_b, difference, ci_low, ci_high, z, p_value, n_a, n_b)."""
    ra, rb = nps(scores_a, weights_a, confidence), nps(scores_b, weights_b, confidence)

    def adj(r: NPSResult):
        n_adj = r.n_eff + 3.0
        pp = (r.promoters * r.n_eff + 0.75) / n_adj
        pd_ = (r.detractors * r.n_eff + 0.75) / n_adj
        return pp - pd_, (pp + pd_ - (pp - pd_) ** 2) / n_adj

    ca, va = adj(ra)
    cb, vb = adj(rb)
    se = math.sqrt(va + vb)
    diff = ca - cb
    z = diff / se if se > 0 else math.nan
    p = float(2 * sps.norm.sf(abs(z))) if z == z else math.nan
    half = z_value(confidence) * se
    return {"nps_a": ra.nps, "nps_b": rb.nps, "difference": ra.nps - rb.nps,
            "ci_low": 100 * (diff - half), "ci_high": 100 * (diff + half), "z": z, "p_value": p,
            "n_a": ra.n, "n_b": rb.n}

"""Shared statistics: group comparisons with effect sizes, p-value correction, proportion and
NPS intervals, weighted summaries.

Everything a library does well is delegated (pingouin for the tests and Hedges' g, scipy for the
Mann-Whitney U and tests from summary statistics, statsmodels for proportion intervals and the
multiple-comparison corrections). What is written here is the choice of the test, the
direction of an effect, and the few published formulas no library offers (the NPS adjusted-Wald
interval of Rocks 2016; the Hanley-McNeil standard error used for the rank-biserial interval).

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

def p_adjust(pvalues, method: str = "holm") -> np.ndarray:
    """Corrected p-values (statsmodels multipletests); NaN entries stay NaN and are not counted.
    method: holm, bonferroni, fdr_bh (Benjamini-Hochberg) or none."""
    from statsmodels.stats.multitest import multipletests

    key = CORRECTIONS.get(str(method).lower(), "invalid")
    if key == "invalid":
        raise ValueError(f"unknown correction {method!r}; use one of {', '.join(CORRECTION_LABELS)}")
    p = np.asarray(pvalues, dtype="float64")
    out = p.copy()
    ok = ~np.isnan(p)
    if key is None or ok.sum() == 0:
        return out
    out[ok] = multipletests(p[ok], method=key)[1]
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


def _rank_biserial(x: np.ndarray, y: np.ndarray, confidence: float) -> tuple[float, float, float, float, float]:
    """(U, p, r_rb, low, high): Mann-Whitney U of x vs y (scipy), rank-biserial r = 2*A - 1 where
    A = U/(n1 n2) is the probability that x beats y (ties half); positive means x tends higher.
    Interval from the Hanley & McNeil (1982) standard error of A."""
    res = sps.mannwhitneyu(x, y, alternative="two-sided")
    n1, n2 = len(x), len(y)
    a = res.statistic / (n1 * n2)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    se = math.sqrt(max(a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n2 - 1) * (q2 - a * a), 0.0) / (n1 * n2))
    z = z_value(confidence)
    lo, hi = max(a - z * se, 0.0), min(a + z * se, 1.0)
    return (float(res.statistic), float(res.pvalue), 2 * a - 1, 2 * lo - 1, 2 * hi - 1)


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
        return GroupComparison(measure, group_by, mtype, "chi-square", chi2, p, v, "Cramer's V", None, None,
                               n, order, summary, None, reason)

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
            u, p, r, lo, hi = _rank_biserial(x, y, confidence)
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
        eps = max((h - k + 1) / (n - k), 0.0)
        return GroupComparison(measure, group_by, mtype, "Kruskal-Wallis H", h, p, eps, "epsilon-squared", None, None,
                               n, order, summary, None, why)
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
    return GroupComparison(measure, group_by, mtype, name, float(aov["F"].iloc[0]), p,
                           float(aov["np2"].iloc[0]), "eta-squared", None, None, n, order, summary, None, why)


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


def evidence_for(result: GroupComparison, expected: str, p_value: float, alpha: float = 0.05) -> str:
    """evidence_from for a GroupComparison, given the (corrected) p-value: the smallest effect of
    interest is SMALL_EFFECT of the comparison's effect-size measure."""
    sig = p_value == p_value and p_value < alpha
    bound = SMALL_EFFECT.get(result.effect_size_name)
    lo, hi = result.ci_low, result.ci_high
    have_ci = bound is not None and lo is not None and hi is not None and lo == lo and hi == hi
    if result.effect_size_name in ("eta-squared", "epsilon-squared", "Cramer's V"):
        negligible = result.effect_size is not None and bound is not None and result.effect_size < bound
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

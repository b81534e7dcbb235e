"""insight.stats against published and hand-computed reference values."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from insight import stats as st


# --- proportion intervals -----------------------------------------------------------------------

@pytest.mark.parametrize("x,n,lo,hi", [
    # Newcombe RG (1998) "Two-sided confidence intervals for the single proportion: comparison of
    # seven methods", Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score, no
    # continuity correction): 81/263, 15/148, 0/20, 1/29.
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_matches_newcombe_1998(x, n, lo, hi):
    got = st.wilson_ci(x, n)
    assert got[0] == pytest.approx(lo, abs=5e-5)
    assert got[1] == pytest.approx(hi, abs=5e-5)


def test_adjusted_wald_hand_computed():
    # Agresti-Coull / adjusted Wald (Sauro & Lewis): p~ = (x + z^2/2) / (n + z^2), z = 1.959964.
    # 0 of 20: p~ = 1.920729 / 23.841459 = 0.080563; se = sqrt(0.080563 * 0.919437 / 23.841459)
    # = 0.055735; high = 0.080563 + 1.959964 * 0.055735 = 0.189800; low clipped at 0.
    lo, hi = st.adjusted_wald_ci(0, 20)
    assert lo == 0.0
    assert hi == pytest.approx(0.18980, abs=5e-5)


def test_nps_adjusted_wald_hand_computed():
    # Rocks (2016) adjusted-Wald as given by Sauro & Lewis (MeasuringU, 2021): add 3 to n and
    # 3/4 to promoters and detractors. 100 answers, 40 promoters, 20 detractors:
    # n' = 103; p'pro = 40.75/103 = 0.395631; p'det = 20.75/103 = 0.201456;
    # NPS' = 0.194175; var = (0.395631 + 0.201456 - 0.194175^2) / 103 = 0.559383/103 = 0.0054309;
    # se = 0.073695; half-width = 1.959964 * 0.073695 = 0.144439 -> 0.049736 .. 0.338614.
    centre, lo, hi = st.nps_adjusted_wald(40, 20, 100)
    assert centre == pytest.approx(0.194175, abs=1e-6)
    assert lo == pytest.approx(0.049736, abs=1e-5)
    assert hi == pytest.approx(0.338614, abs=1e-5)
    # from raw scores: 40 x 10, 40 x 8 (passives), 20 x 3
    r = st.nps([10] * 40 + [8] * 40 + [3] * 20)
    assert r.nps == pytest.approx(20.0)
    assert (r.ci_low, r.ci_high) == (pytest.approx(4.9736, abs=1e-3), pytest.approx(33.8614, abs=1e-3))
    assert r.promoters == 0.4 and r.detractors == 0.2 and r.n == 100


def test_nps_rejects_codes_outside_0_10():
    with pytest.raises(st.StatsInputError, match="0-10"):
        st.nps([10, 11, 3])


# --- weights -----------------------------------------------------------------------------------

def test_kish_design_effect_hand_computed():
    # weights 1, 1, 2, 4: n = 4, sum w = 8, sum w^2 = 22; deff = n sum w^2 / (sum w)^2 = 88/64
    # = 1.375 (= 1 + CV^2: mean 2, population variance 1.5, CV^2 = 0.375); effective base
    # = 64/22 = 2.9091; efficiency = 2.9091/4 = 0.7273.
    w = [1, 1, 2, 4]
    assert st.design_effect(w) == pytest.approx(1.375)
    assert st.effective_n(w) == pytest.approx(64 / 22)
    arr = np.array(w, dtype=float)
    assert st.design_effect(w) == pytest.approx(1 + arr.var() / arr.mean() ** 2)


def test_weighted_mean_sd_reliability_weights():
    # values 2 (weight 1) x5 and 4 (weight 3) x5: mean = (10 + 60) / 20 = 3.5;
    # sum w (x - m)^2 = 5 * 1.5^2 + 15 * 0.5^2 = 15; V1 = 20, V2 = 50; var = 15 / (20 - 50/20) = 0.857143
    mean, sd, n, n_eff = st.weighted_mean_sd([2] * 5 + [4] * 5, [1] * 5 + [3] * 5)
    assert mean == pytest.approx(3.5)
    assert sd ** 2 == pytest.approx(15 / 17.5)
    assert n == 10 and n_eff == pytest.approx(8.0)


# --- tests from summary statistics --------------------------------------------------------------

def test_two_proportion_z_hand_computed():
    # p1 = 0.60 (n 100), p2 = 0.45 (n 80): pooled = (60 + 36) / 180 = 0.533333;
    # se = sqrt(0.533333 * 0.466667 * (1/100 + 1/80)) = sqrt(0.0056) = 0.074833;
    # z = 0.15 / 0.074833 = 2.004459; two-sided p = 2 * (1 - Phi(2.004459)) = 0.04502
    assert st.two_proportion_z(0.60, 100, 0.45, 80) == pytest.approx(0.04502, abs=1e-5)


def test_welch_from_stats_hand_computed():
    # A: mean 4.4, var 0.488889, n 10; B: mean 3.5, var 0.857143, n 8:
    # se = sqrt(0.0488889 + 0.1071429) = 0.395009; t = 0.9 / 0.395009 = 2.27843;
    # df = 0.156032^2 / (0.0488889^2/9 + 0.1071429^2/7) = 12.78; p = 0.0406
    p = st.welch_t_from_stats(4.4, math.sqrt(4.4 / 9), 10, 3.5, math.sqrt(15 / 17.5), 8)
    assert p == pytest.approx(0.04056, abs=1e-4)


# --- p-value correction --------------------------------------------------------------------------

def test_p_adjust_holm_and_bh_hand_computed():
    p = [0.01, 0.04, 0.03, np.nan]
    # Holm: sorted 0.01, 0.03, 0.04 -> 3*0.01 = 0.03, 2*0.03 = 0.06, max(1*0.04, 0.06) = 0.06
    assert np.allclose(st.p_adjust(p, "holm")[:3], [0.03, 0.06, 0.06])
    # BH: 0.04*3/3 = 0.04, 0.03*3/2 = 0.045 -> min over larger ranks = 0.04, 0.01*3 = 0.03
    assert np.allclose(st.p_adjust(p, "fdr_bh")[:3], [0.03, 0.04, 0.04])
    assert math.isnan(st.p_adjust(p, "holm")[3])
    assert np.allclose(st.p_adjust(p, "none")[:3], p[:3])
    with pytest.raises(ValueError, match="unknown correction"):
        st.p_adjust(p, "tukey")


def test_p_adjust_matches_r_reference_without_collecting_garbage(monkeypatch):
    """Hand-computed by the definitions (Holm 1979: (m-i+1) p(i), running maximum; Bonferroni: m p;
    Benjamini-Hochberg 1995: m p(i) / i, running minimum from the top), the values R's
    p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05, 0.5), ...) gives. The correction must not run a full
    garbage collection (statsmodels' Holm did, 0.1 s a call in a loaded kernel)."""
    import gc

    def no_collect(*a, **k):
        raise AssertionError("gc.collect called")

    monkeypatch.setattr(gc, "collect", no_collect)
    p = [0.01, 0.02, 0.03, 0.04, 0.05, 0.5]
    assert np.allclose(st.p_adjust(p, "holm"), [0.06, 0.10, 0.12, 0.12, 0.12, 0.5])
    assert np.allclose(st.p_adjust(p, "bonferroni"), [0.06, 0.12, 0.18, 0.24, 0.30, 1.0])
    assert np.allclose(st.p_adjust(p, "fdr_bh"), [0.06, 0.06, 0.06, 0.06, 0.06, 0.5])
    assert st.p_adjust([], "holm").size == 0


# --- group comparisons ---------------------------------------------------------------------------

def _two_groups(shift: float, n: int = 150, seed: int = 3, ordinal: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(3.0 + shift, 1.0, n)
    b = rng.normal(3.0, 1.0, n)
    if ordinal:
        a, b = np.clip(np.round(a), 1, 5), np.clip(np.round(b), 1, 5)
    return pd.DataFrame({"y": np.r_[a, b], "g": ["focus"] * n + ["other"] * n})


def test_compare_groups_welch_matches_pingouin_and_hedges_g():
    import pingouin as pg

    df = _two_groups(-0.5)
    r = st.compare_groups(df, "y", "g", "continuous", groups=["focus", "other"])
    x, y = df.y[df.g == "focus"], df.y[df.g == "other"]
    ref = pg.ttest(x, y, correction=True)
    assert r.test == "Welch t-test"
    assert r.p_value == pytest.approx(float(ref["p_val"].iloc[0]))
    assert r.effect_size == pytest.approx(float(pg.compute_effsize(x, y, eftype="hedges")))
    assert r.direction == "lower" and r.ci_low < r.effect_size < r.ci_high < 0


def test_rank_biserial_hand_computed():
    # x = [3, 4, 5], y = [1, 2, 3]: pairs x>y: 3>1,3>2 (2), 3=3 tie (0.5), 4>all (3), 5>all (3)
    # -> U = 8.5 of 9 pairs; A = 0.9444; r_rb = 2A - 1 = 0.8889
    df = pd.DataFrame({"y": [3, 4, 5, 1, 2, 3], "g": list("aaabbb")})
    r = st.compare_groups(df, "y", "g", "ordinal", groups=["a", "b"])
    assert r.test == "Mann-Whitney U"
    assert r.statistic == pytest.approx(8.5)
    assert r.effect_size == pytest.approx(2 * 8.5 / 9 - 1)


def test_rank_biserial_groups_is_rank_biserial_per_group_to_the_bit():
    rng = np.random.default_rng(3)
    values = np.round(rng.gamma(1.0, 1.0, 5000), 1)            # many ties, as shares of revenue have
    values[rng.random(5000) < 0.3] = 0.0
    groups = rng.choice(np.array(["a", "b", "c", "d"], dtype=object), 5000, p=[0.5, 0.3, 0.198, 0.002])
    got = st.rank_biserial_groups(values, groups, ["a", "b", "c", "d", "none"])
    for g in ["a", "b", "c", "d", "none"]:     # d: at most 8 values (scipy may test exactly); none: empty
        want = st.rank_biserial(values[groups == g], values[groups != g])
        assert np.array_equal(np.array(got[g]), np.array(want), equal_nan=True), g


@pytest.mark.filterwarnings("ignore:.*inplace keyword")   # inside pingouin.anova with pandas 3.1
def test_compare_groups_k_groups_and_categorical():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"y": rng.normal(0, 1, 300) + np.repeat([0, 0.5, 1.0], 100),
                       "g": np.repeat(["a", "b", "c"], 100),
                       "c": rng.choice(["x", "y"], 300)})
    r = st.compare_groups(df, "y", "g", "continuous")
    assert r.test == "one-way ANOVA" and r.p_value < 0.001 and 0 < r.effect_size < 1   # equal variances
    import pingouin as pg
    assert r.p_value == pytest.approx(float(pg.anova(data=df, dv="y", between="g")["p_unc"].iloc[0]))
    df.loc[df.g == "c", "y"] *= 4                                                       # unequal variances
    w = st.compare_groups(df, "y", "g", "continuous")
    assert w.test == "Welch ANOVA"
    assert w.p_value == pytest.approx(float(pg.welch_anova(data=df, dv="y", between="g")["p_unc"].iloc[0]))
    k = st.compare_groups(df, "y", "g", "ordinal")
    assert k.test == "Kruskal-Wallis H"
    c = st.compare_groups(df, "c", "g", "categorical")
    assert c.test == "chi-square" and c.effect_size_name == "Cramer's V"


def test_compare_groups_binary_newcombe_difference():
    from statsmodels.stats.proportion import confint_proportions_2indep

    df = pd.DataFrame({"y": [1] * 30 + [0] * 70 + [1] * 50 + [0] * 50, "g": ["a"] * 100 + ["b"] * 100})
    r = st.compare_groups(df, "y", "g", "binary", groups=["a", "b"])
    lo, hi = confint_proportions_2indep(30, 100, 50, 100, method="newcomb")
    assert r.effect_size == pytest.approx(-0.2) and (r.ci_low, r.ci_high) == (pytest.approx(lo), pytest.approx(hi))
    assert r.direction == "lower"


def test_evidence_rules():
    df = _two_groups(-0.6, ordinal=True)
    r = st.compare_groups(df, "y", "g", "ordinal", groups=["focus"])
    assert st.evidence_for(r, "lower", r.p_value) == "supports"
    assert st.evidence_for(r, "higher", r.p_value) == "contradicts"
    null = st.compare_groups(_two_groups(0.0, n=3000, ordinal=True), "y", "g", "ordinal", groups=["focus"])
    assert st.evidence_for(null, "lower", max(null.p_value, 0.5)) == "contradicts"   # tight interval around 0
    small = st.compare_groups(_two_groups(0.0, n=15, ordinal=True), "y", "g", "ordinal", groups=["focus"])
    assert st.evidence_for(small, "lower", max(small.p_value, 0.5)) == "inconclusive"


def test_compare_groups_bad_input_messages():
    df = pd.DataFrame({"y": [1, 2, 3], "g": ["a", "b", "b"]})
    with pytest.raises(st.StatsInputError, match="no column 'x'"):
        st.compare_groups(df, "x", "g")
    with pytest.raises(st.StatsInputError, match=r"no rows with \['z'\]"):
        st.compare_groups(df, "y", "g", groups=["z"])


def test_nps_difference_hand_computed():
    # wave a: 40 promoters, 40 passives, 20 detractors; wave b: 20 / 40 / 40 (n = 100 each).
    # Adjusted (Rocks 2016): a' = 0.194175, b' = -0.194175, each variance 0.0054309 (see above);
    # se = sqrt(2 * 0.0054309) = 0.104220; z = 0.388350 / 0.104220 = 3.7263; p = 0.000194;
    # interval 100 * (0.388350 -/+ 1.959964 * 0.104220) = 18.41 .. 59.26; raw difference 20 - (-20) = 40.
    a = [10] * 40 + [8] * 40 + [3] * 20
    b = [10] * 20 + [8] * 40 + [3] * 40
    d = st.nps_difference(a, b)
    assert d["difference"] == pytest.approx(40.0)
    assert d["z"] == pytest.approx(3.7263, abs=1e-3)
    assert d["p_value"] == pytest.approx(0.000194, abs=2e-6)
    assert (d["ci_low"], d["ci_high"]) == (pytest.approx(18.41, abs=0.01), pytest.approx(59.26, abs=0.01))


# --- effect sizes with intervals (issue 17 item 3) -----------------------------------------------

@pytest.mark.parametrize("f,df1,df2,lo,hi", [
    # Smithson (2001), Educational and Psychological Measurement 61(4), worked examples, 90%
    # intervals of partial eta-squared, as checked in R apaTables' tests (test_anova_ci.R):
    (6.00, 1, 42, 0.0117, 0.2801),
    (2.65, 6, 42, 0.0174, 0.3577),
    # Fidler & Thompson (2001), same source: F = 4.00 (3, 16) and F = 1.5 (1, 16), whose lower
    # limit is 0 (the test is not significant at 10%)
    (4.00, 3, 16, 0.0357, 0.5671),
    (1.50, 1, 16, 0.0, 0.3167),
])
def test_eta_squared_interval_matches_smithson_2001(f, df1, df2, lo, hi):
    got = st.eta_squared_ci(f, df1, df2, confidence=0.90)
    assert got[0] == pytest.approx(lo, abs=1e-4)
    assert got[1] == pytest.approx(hi, abs=1e-4)


MT_AM_VS = [[12, 7], [6, 7]]   # mtcars: am (0 automatic, 1 manual) x vs (0 V-shaped, 1 straight)


def test_cramers_v_interval_matches_confintr():
    # R package confintr (M. Mayer), tests/testthat/test-ci_cramersv.R: table(mtcars[c("am", "vs")]),
    # chisq.test(correct = FALSE): V = 0.1683451, 95% interval [0, 0.5441663] (noncentral chi-square,
    # Smithson 2003: V = sqrt((lambda + df) / (n (k - 1))), the lower limit 0 when lambda's is 0).
    v, lo, hi, chi2, p = st.cramers_v(MT_AM_VS)
    assert v == pytest.approx(0.1683451, abs=1e-6)
    assert p == pytest.approx(0.3409, abs=1e-4)          # chisq.test p-value quoted in the same test
    assert lo == 0.0
    assert hi == pytest.approx(0.5441663, abs=1e-4)


def test_cramers_v_interval_excludes_zero_exactly_when_significant():
    # a strong 2 x 3 association (n = 300): chi-square p < 0.05, so the lower limit is above 0
    v, lo, hi, chi2, p = st.cramers_v([[60, 30, 10], [20, 40, 40]] + [[30, 35, 35]])
    assert p < 0.05 and 0 < lo < v < hi < 1


MTCARS_MPG = [21.0, 21.0, 22.8, 21.4, 18.7, 18.1, 14.3, 24.4, 22.8, 19.2, 17.8, 16.4, 17.3, 15.2, 10.4, 10.4,
              14.7, 32.4, 30.4, 33.9, 21.5, 15.5, 15.2, 13.3, 19.2, 27.3, 26.0, 30.4, 15.8, 19.7, 15.0, 21.4]
MTCARS_CYL = [6, 6, 4, 6, 8, 6, 8, 4, 4, 6, 6, 8, 8, 8, 8, 8, 8, 4, 4, 4, 4, 8, 8, 8, 8, 4, 4, 4, 8, 6, 8, 4]


def test_epsilon_squared_matches_r_and_its_bootstrap_matches_scipy():
    from scipy import stats as sps

    mpg, cyl = np.array(MTCARS_MPG), np.array(MTCARS_CYL)
    groups = [mpg[cyl == c] for c in (4, 6, 8)]
    # R: kruskal.test(mpg ~ cyl, mtcars) gives chi-squared = 25.746; effectsize::rank_epsilon_squared
    # gives 0.83 (= H / (n - 1) = 25.746 / 31, Tomczak & Tomczak 2014).
    eps, lo, hi = st.epsilon_squared_ci(groups)
    assert float(sps.kruskal(*groups).statistic) == pytest.approx(25.746, abs=5e-4)
    assert eps == pytest.approx(25.746 / 31, abs=1e-4) and round(eps, 2) == 0.83
    # the percentile bootstrap (stratified by group) agrees with SciPy's reference bootstrap up to
    # Monte-Carlo error; both are seeded
    ref = sps.bootstrap(groups, lambda *g: sps.kruskal(*g).statistic / 31, n_resamples=2000, method="percentile",
                        rng=np.random.default_rng(1), vectorized=False)
    assert lo == pytest.approx(ref.confidence_interval.low, abs=0.03)
    assert hi == pytest.approx(min(ref.confidence_interval.high, 1.0), abs=0.03)
    assert st.epsilon_squared_ci(groups) == (eps, lo, hi)          # same seed, same interval
    assert all(np.isnan(st.epsilon_squared_ci([groups[0], []])))    # an empty group: no interval, no crash


def test_compare_groups_every_effect_size_has_an_interval():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"y": rng.normal(0, 1, 300) + np.repeat([0, 0.5, 1.0], 100),
                       "g": np.repeat(["a", "b", "c"], 100), "c": rng.choice(["x", "y"], 300)})
    df["o"] = np.clip(np.round(df["y"] + 3), 1, 5)
    for measure, mtype in (("y", "continuous"), ("o", "ordinal"), ("c", "categorical")):
        r = st.compare_groups(df, measure, "g", mtype)
        assert r.ci_low is not None and r.ci_high is not None, r.effect_size_name
        assert r.ci_low <= r.effect_size <= r.ci_high, r.effect_size_name
    anova = st.compare_groups(df, "y", "g", "continuous")
    f, k, n = anova.statistic, 3, 300
    assert (anova.ci_low, anova.ci_high) == pytest.approx(st.eta_squared_ci(f, k - 1, n - k))


def test_interval_note_names_each_method_once():
    note = st.interval_note(["epsilon-squared", "Cramer's V", "epsilon-squared", None, "unknown measure"])
    assert note.startswith("95% intervals: epsilon-squared: percentile bootstrap")
    assert f"{st.BOOTSTRAP_RESAMPLES:,} resamples" in note and note.count("epsilon-squared") == 1
    assert "Cramer's V: exact, noncentral chi-square" in note
    assert st.interval_note([]) == ""


def test_difference_words_come_from_the_evidence_rule():
    # the three outcomes of evidence_from for the expectation "different"
    assert st.difference_words(0.01, 0.05) == "a significant difference"
    assert st.difference_words(0.20, 0.05) == "no significant difference"
    assert st.difference_words(0.20, 0.05, negligible=True) == "a difference too small to matter"
    assert st.difference_words(float("nan"), 0.05) == "no significant difference"   # no test, no claim
    assert st.difference_words(0.01, 0.05, words={"supports": "a significant change"}) == "a significant change"
    assert st.is_significant(0.049, 0.05) and not st.is_significant(None, 0.05)


def test_odds_ratio_woolf_interval_hand_computed():
    # [[10, 5], [4, 12]]: OR = 10*12 / (5*4) = 6; se(ln OR) = sqrt(1/10 + 1/5 + 1/4 + 1/12) = 0.795822;
    # exp(ln 6 -+ 1.959964 * 0.795822) = exp(1.791759 -+ 1.559785) = 1.26109 .. 28.5467 (Woolf 1955)
    est, lo, hi = st.odds_ratio_ci([[10, 5], [4, 12]])
    assert est == pytest.approx(6.0)
    assert (lo, hi) == (pytest.approx(1.26109, abs=1e-4), pytest.approx(28.5467, abs=1e-3))
    assert all(np.isnan(st.odds_ratio_ci([[2, 0], [1, 2]])[1:]))      # an empty cell: no finite interval

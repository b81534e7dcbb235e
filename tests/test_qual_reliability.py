"""Inter-coder reliability against published and hand-computed reference values."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insight.qual.importers import read_qdpx
from insight.qual.reliability import cohen_kappa, intercoder_reliability, krippendorff_alpha

FIX = __import__("pathlib").Path(__file__).parent / "fixtures" / "qual"
nan = np.nan


def test_krippendorff_worked_example():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: reliability data
    # matrix of 4 observers (A-D) x 12 units, nominal data with missing values; published alpha = 0.743.
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],   # observer A
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],       # observer B
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],     # observer C
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],       # observer D
    ]
    assert krippendorff_alpha(data) == pytest.approx(0.743, abs=5e-4)


def test_cohen_kappa_textbook():
    # The classic 2x2 example (Wikipedia "Cohen's kappa", 50 proposals read by A and B):
    # yes/yes 20, A yes B no 5, A no B yes 10, no/no 15.
    # p_o = 35/50 = 0.7; p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = (0.7-0.5)/(1-0.5) = 0.4
    a = ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_undefined_values_are_nan():
    assert np.isnan(cohen_kappa([1, 1, 1], [1, 1, 1]))
    assert np.isnan(krippendorff_alpha([[1, 1, 1], [1, 1, 1]]))
    assert np.isnan(krippendorff_alpha([[1, nan], [nan, 1]]))  # no unit coded twice


def test_per_code_and_overall_on_the_qdpx_fixture():
    # Fixture: coder_a and coder_b both code three spans of interview_P01:
    #   unit 1: a integration_pain, b integration_pain
    #   unit 2: a integration_pain, b training_gap
    #   unit 3: a great_support,    b great_support
    # integration_pain decisions a=[1,1,0] b=[1,0,0]:
    #   kappa: p_o=2/3, p_e=(2/3)(1/3)+(1/3)(2/3)=4/9 -> (2/3-4/9)/(5/9) = 0.4
    #   alpha: n=6 values, n1=n0=3; D_o = 2/6; D_e = 2*3*3/(6*5) = 0.6 -> 1 - (1/3)/0.6 = 4/9
    # training_gap a=[0,0,0] b=[0,1,0]: kappa = (2/3 - 2/3)/(1/3) = 0; alpha: D_o=2/6, D_e=2*1*5/30 -> 0
    # great_support identical -> 1 and 1
    # overall, 9 pooled decisions: p_o=7/9, p_e=(3/9)^2+(6/9)^2=5/9 -> kappa 0.5;
    #   alpha: n=18, n1=6, n0=12, D_o=4/18, D_e=2*6*12/(18*17) -> 1 - (4/18)/(144/306) = 0.52778
    qd = read_qdpx(FIX / "interviews.qdpx")
    rel = intercoder_reliability(qd.segments).set_index("code")
    assert rel.loc["integration_pain", "units"] == 3
    assert rel.loc["integration_pain", "kappa"] == pytest.approx(0.4)
    assert rel.loc["integration_pain", "alpha"] == pytest.approx(4 / 9)
    assert rel.loc["integration_pain", "agreement"] == pytest.approx(2 / 3)
    assert rel.loc["training_gap", "kappa"] == pytest.approx(0.0)
    assert rel.loc["training_gap", "alpha"] == pytest.approx(0.0, abs=1e-12)
    assert rel.loc["great_support", "alpha"] == pytest.approx(1.0)
    overall = rel.loc["overall (every code decision)"]
    assert overall["kappa"] == pytest.approx(0.5)
    assert overall["alpha"] == pytest.approx(1 - (4 / 18) / (144 / 306))
    assert rel.loc["great_support", "verdict"] == "reliable"
    assert rel.loc["integration_pain", "verdict"].startswith("not reliable")


def test_three_coders_with_missing_data_matches_the_matrix():
    # Three coders, a code applied or not; coder c skipped unit u3. The per-code alpha equals
    # Krippendorff's alpha of the equivalent coders x units matrix.
    seg = pd.DataFrame({
        "segment_id": ["u1", "u1", "u1", "u2", "u2", "u2", "u3", "u3", "u4", "u4", "u4"],
        "coder": ["a", "b", "c", "a", "b", "c", "a", "b", "a", "b", "c"],
        "code": ["x", "x", "x", "y", "x", "y", "x", "x", "y", "y", "y"],
    })
    rel = intercoder_reliability(seg).set_index("code")
    x = [[1, 0, 1, 0], [1, 1, 1, 0], [1, 0, nan, 0]]
    assert rel.loc["x", "alpha"] == pytest.approx(krippendorff_alpha(x))
    assert np.isnan(rel.loc["x", "kappa"])  # kappa only for exactly two coders
    assert rel.loc["x", "coders"] == 3


def test_unknown_coder_named_in_params_is_a_clear_error():
    seg = pd.DataFrame({"segment_id": ["u1", "u1"], "coder": ["a", "b"], "code": ["x", "x"]})
    with pytest.raises(ValueError, match=r"coder\(s\) zed .*qualitative.coders"):
        intercoder_reliability(seg, coders=["a", "zed"])


# --- kappas beyond two coders, weighted kappa, the choice of coefficient (issue 17 item 1) -------

# Fleiss (1971), Psychological Bulletin 76(5): 30 patients, 6 psychiatrists each, 5 diagnoses
# (1 depression, 2 personality disorder, 3 schizophrenia, 4 neurosis, 5 other), as R irr's
# `diagnoses` data and statsmodels' tests.
DIAGNOSES = [[4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5], [2, 2, 2, 4, 4, 4],
             [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4], [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5],
             [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4], [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5],
             [3, 3, 3, 3, 3, 5], [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
             [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4], [1, 4, 4, 4, 4, 5],
             [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4], [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5]]


def test_fleiss_kappa_fleiss_1971():
    from insight.qual.reliability import fleiss_kappa

    r = fleiss_kappa(DIAGNOSES)
    # Fleiss (1971): kappa = 0.430; R irr::kappam.fleiss(diagnoses): 0.4302445, z = 17.65183
    # (z = kappa / se0, se0 of Fleiss, Nee & Landis 1979)
    assert r["kappa"] == pytest.approx(0.4302445, abs=1e-7)
    assert r["z"] == pytest.approx(17.65183, abs=1e-4)
    assert r["units"] == 30 and r["coders"] == 6
    assert 0.30 < r["ci_low"] < r["kappa"] < r["ci_high"] < 0.56      # bootstrap over the 30 patients
    with pytest.raises(ValueError, match="Krippendorff"):
        fleiss_kappa([[1, 2, np.nan], [1, 1, 1]])


# SAS example quoted in statsmodels' tests (test_inter_rater.py, table10): rows coder A, columns
# coder B, categories 0, 1, 2 (category 0 never used).
TABLE10 = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]


def _ratings(table):
    a, b = [], []
    for i, row in enumerate(table):
        for j, n in enumerate(row):
            a += [i] * n
            b += [j] * n
    return a, b


def test_cohen_and_linear_weighted_kappa_match_sas():
    from insight.qual.reliability import cohen_kappa_ci, weighted_kappa

    a, b = _ratings(TABLE10)
    # SAS PROC FREQ: simple kappa 0.4842, 95% limits 0.2137 to 0.7547
    k, lo, hi = weighted_kappa(a, b, weights=None, categories=[0, 1, 2])
    assert (k, lo, hi) == (pytest.approx(0.4842, abs=1e-4), pytest.approx(0.2137, abs=1e-4), pytest.approx(0.7547, abs=1e-4))
    assert cohen_kappa_ci(a, b)[0] == pytest.approx(0.4842, abs=1e-4)
    # weighted kappa, linear weights (scores 0, 1, 2): 0.4701, 95% limits 0.1845 to 0.7558
    k, lo, hi = weighted_kappa(a, b, weights="linear", categories=[0, 1, 2])
    assert (k, lo, hi) == (pytest.approx(0.4701, abs=1e-4), pytest.approx(0.1845, abs=1e-4), pytest.approx(0.7558, abs=1e-4))


# R irr `anxiety` data (20 subjects rated 1-6 by three raters), raters 2 and 3
ANX2 = [3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4]
ANX3 = [2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2]


def test_weighted_kappa_matches_r_irr_kappa2():
    from insight.qual.reliability import weighted_kappa

    # irr::kappa2(anxiety[, 2:3], "equal") = 0.1459075 and "squared" = 0.2520325 (values quoted in
    # statsmodels' test_cohens_kappa_irr); irr uses the categories observed (1, 2, 3, 4, 6)
    assert weighted_kappa(ANX2, ANX3, "linear")[0] == pytest.approx(0.1459075, abs=1e-6)
    k, lo, hi = weighted_kappa(ANX2, ANX3, "quadratic")
    assert k == pytest.approx(0.2520325, abs=1e-6) and lo < k < hi
    assert weighted_kappa(ANX2, ANX3, None)[0] == pytest.approx(-0.006289308, abs=1e-6)
    assert all(np.isnan(weighted_kappa([2, 2, 2], [2, 2, 2])))          # no variation: not computable
    with pytest.raises(ValueError, match="weights"):
        weighted_kappa(ANX2, ANX3, "cubic")


def test_binary_alpha_and_its_interval():
    from insight.qual.reliability import alpha_ci

    # the bootstrap interval brackets the alpha of the matrix; 2x3 fixture of the qdpx test above:
    # integration_pain decisions a=[1,1,0] b=[1,0,0] -> alpha 4/9
    data = np.array([[1, 1, 0] * 10, [1, 0, 0] * 10], dtype=float)
    lo, hi = alpha_ci(data)
    assert lo < krippendorff_alpha(data) < hi
    assert all(np.isnan(alpha_ci(np.array([[1.0, nan], [nan, 0.0]]))))   # nothing pairable


def test_the_coefficient_follows_the_design():
    from insight.qual.reliability import choose_coefficient

    assert choose_coefficient(2, True)[0] == "Cohen's kappa"
    assert choose_coefficient(2, True, ordinal=True)[0] == "weighted kappa"
    assert choose_coefficient(4, True)[0] == "Fleiss' kappa"
    name, why = choose_coefficient(3, False)
    assert name == "Krippendorff's alpha" and "missing" in why
    assert choose_coefficient(1, True)[0] == "none"
    # in the table: three complete coders -> Fleiss; two coders -> Cohen (0.4 in the qdpx fixture);
    # one coder skipping a unit -> alpha (the three-coder test above)
    seg = pd.DataFrame({"segment_id": [f"u{i}" for i in range(6) for _ in range(3)],
                        "coder": ["a", "b", "c"] * 6,
                        "code": ["x", "x", "x", "y", "x", "y", "x", "x", "x", "y", "y", "y", "x", "y", "x", "y", "y", "y"]})
    rel = intercoder_reliability(seg).set_index("code")
    assert rel.loc["x", "coefficient"] == "Fleiss' kappa"
    qd = read_qdpx(FIX / "interviews.qdpx")
    two = intercoder_reliability(qd.segments).set_index("code")
    assert two.loc["integration_pain", "coefficient"] == "Cohen's kappa"
    assert two.loc["integration_pain", "value"] == pytest.approx(0.4)


def test_no_variation_says_not_computable_in_the_report_table():
    from insight.qual.analysis import reliability_display

    # both coders apply the same single code to every unit: no variation, nothing to compute
    seg = pd.DataFrame({"segment_id": ["u1", "u1", "u2", "u2"], "coder": ["a", "b", "a", "b"], "code": ["x"] * 4})
    shown = reliability_display(intercoder_reliability(seg))
    assert (shown["value (95% CI)"] == "not computable (too few units or no variation)").all()
    assert (shown["Krippendorff's alpha"] == "not computable").all()
    assert not shown.astype(str).apply(lambda c: c.str.contains("nan")).any().any()

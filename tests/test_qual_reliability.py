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

"""The qualitative analyses against the demo company's planted effects, and the notebooks end to end."""
from __future__ import annotations

import re

import pytest

from insight.demo.planted import PLANTED
from insight.qual import analysis as qa
from insight.qual.model import QualData
from insight.qual.reliability import intercoder_reliability


@pytest.fixture(scope="session")
def demo_qual():
    from insight.demo import generate
    d = generate(scale=0.5)
    return QualData(d["participants"], d["qual_sources"], d["codebook"], d["coded_segments"], origin="demo").prepared()


def test_planted_churn_code_is_found(demo_qual):
    planted = PLANTED["churn_code"].values        # integration_pain: 75% of churned vs 15% of other participants
    voice = qa.customer_voice(demo_qual).primary()
    conc = qa.concentration(voice, "customer_status", "churned")
    over = conc[conc["difference"] > 0]
    top = over.sort_values("p_value").iloc[0]
    assert top["code"] == planted["code"]
    assert top["focus_share"] == pytest.approx(planted["rate_churned"], abs=0.2)
    assert top["others_share"] == pytest.approx(planted["rate_other"], abs=0.1)
    assert top["p_value"] < 0.05 and top["odds_ratio"] > 4
    # the code is the one over-represented code: no other code is raised more often by churned participants
    # with a real difference
    assert (over[over["code"] != planted["code"]]["p_value"] > 0.05).all()


def test_demo_double_coding_is_moderately_reliable(demo_qual):
    # the generator has coder_b recode ~20% of segments, changing the code 26% of the time: agreement on
    # the pooled decisions must be clearly above chance but below the 'reliable' bar
    rel = intercoder_reliability(demo_qual.segments).set_index("code")
    overall = rel.loc["overall (every code decision)"]
    assert 0.5 < overall["alpha"] < 0.8 and overall["units"] > 1000


def test_demo_probing_and_saturation(demo_qual):
    interviews = demo_qual.kinds(qa.INTERVIEW_KINDS)
    depth = qa.probing_depth(interviews)
    # every demo interview carries marked probe turns, and the transcript-derived count matches the segments' flags
    assert (depth["probes"] > 0).all()
    assert (depth["probes"] == depth["from_probes"]).all()
    curve = qa.saturation_curve(interviews)
    assert curve["cumulative_codes"].iloc[-1] == interviews.segments["code"].nunique()


@pytest.mark.slow
def test_qualitative_notebook(run_notebook):
    from conftest import notebook_text
    nb = run_notebook("voc/qualitative.ipynb")
    text = notebook_text(nb)
    assert "Traceback" not in text
    for caption in ("Participants who raised each code", "New codes per additional interview",
                    "Qualitative evidence per hypothesis", "Inter-coder reliability per code and overall",
                    "Representative quotes per code"):
        assert caption in text
    assert 'data-finding="qual.H4"' in text and 'data-finding="qual.reliability"' in text
    assert "Coefficient: Cohen&#x27;s kappa, because two coders" in text or "Coefficient: Cohen's kappa, because two coders" in text
    assert not re.search(r"[\w.+-]+@[\w-]+\.[a-z]{2,}", text)            # e-mails in excerpts are masked
    assert "findfont" not in text and "UserWarning" not in text


@pytest.mark.slow
def test_immersion_experts_community_notebook(run_notebook):
    from conftest import notebook_text
    nb = run_notebook("voc/immersion_experts_community.ipynb")
    text = notebook_text(nb)
    assert "Traceback" not in text
    for caption in ("Observation-log entries by date and theme", "Key points per expert-council session",
                    "Suggested themes: top words and example texts", "Tone of the texts by source"):
        assert caption in text
    assert 'data-finding="qual.theme.voice.1"' in text
    assert not re.search(r"[\w.+-]+@[\w-]+\.[a-z]{2,}", text)

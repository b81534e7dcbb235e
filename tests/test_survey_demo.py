"""The survey analysis against the effects planted in the demo company, and the two notebooks run
end to end on the small demo study."""
from __future__ import annotations

import pandas as pd
import pytest

from insight.demo.planted import PLANTED
from insight.params import load_params
from insight.paths import Project
from insight.survey.hypotheses import survey_hypotheses, hypothesis_tests
from insight.survey.pipeline import SurveyRun, nps_trend, prepare_survey

try:
    from insight.demo import generate
except ImportError:  # the demo generator is written by another engineer
    generate = None
ATTRS = ["q_attr_value", "q_attr_reliability", "q_attr_support", "q_attr_ease", "q_attr_features",
         "q_attr_hard", "q_attr_responsive", "q_attr_partner"]


class _Study:
    """Just what prepare_survey needs, on the generated tables (no data layer involved)."""

    def __init__(self, tables):
        self.params = load_params("2024-annual")
        self.project = Project.find()
        self.period = self.params.study.period
        self._t = tables

    def table(self, name):
        return self._t[name].copy()


@pytest.fixture(scope="module")
def demo():
    if generate is None:
        pytest.skip("insight.demo.generate is not available yet")
    return generate(scale=0.5)


@pytest.fixture(scope="module")
def survey(demo) -> SurveyRun:
    return prepare_survey(_Study(demo))


def _truth(raw: pd.DataFrame):
    """Who was planted, from the planted definitions (not from the cleaning rules):
    speeders completed in under PLANTED fraction_of_median of the median time; straight-liners
    gave one answer to every item of the attribute grid."""
    done = raw["completed"].astype(bool)
    frac = PLANTED["speeders"].values["fraction_of_median"]
    speeders = set(raw.loc[done & (raw["duration_seconds"] <= frac * raw.loc[done, "duration_seconds"].median()), "respondent_id"])
    grid = raw[ATTRS]
    flat = set(raw.loc[done & grid.notna().all(axis=1) & (grid.nunique(axis=1) == 1), "respondent_id"])
    return speeders, flat


def test_planted_speeders_and_straight_liners_are_removed(survey):
    raw = survey.raw
    speeders, flat = _truth(raw)
    n_wave = (raw["respondent_id"].notna()).sum()
    # the planted shares of the wave (4% and 3% of ~400 respondents)
    assert len(speeders) >= 0.5 * PLANTED["speeders"].values["share"] * n_wave
    assert len(flat) >= 0.5 * PLANTED["straight_liners"].values["share"] * n_wave
    removed = set(survey.cleaning.removed["respondent_id"])
    assert len(speeders & removed) / len(speeders) >= 0.9
    assert len(flat & removed) / len(flat) >= 0.9
    # few false removals among the speeder and straight-liner rules
    by_rule = survey.cleaning.removed.groupby("rule")["respondent_id"].apply(set)
    false_speed = by_rule.get("speeder", set()) - speeders
    false_flat = by_rule.get("straight_liner", set()) - flat
    assert len(false_speed) <= 0.1 * len(speeders) + 1
    assert len(false_flat) <= 0.1 * len(flat) + 1
    # duplicates: planted as the same customer with the same answers twice
    assert survey.cleaning.audit.set_index("rule").loc["duplicate", "removed"] >= 2


def test_weighting_corrects_the_enterprise_overrepresentation(survey):
    p = PLANTED["survey_overrepresents_enterprise"].values
    m = survey.raking.margins.set_index("category")
    assert m.loc["enterprise", "sample"] == pytest.approx(p["respondent_share"], abs=0.08)
    assert m.loc["enterprise", "weighted"] == pytest.approx(p["population_share"], abs=1e-6)
    assert survey.raking.converged


def test_enterprise_onboarding_gap_h1_is_significant_and_lower(survey):
    res = hypothesis_tests(survey.data, survey.questionnaire, survey_hypotheses(survey_params())).set_index("hypothesis")
    h1 = res.loc["H1"]
    assert PLANTED["enterprise_onboarding_gap"].values["shift"] < 0
    assert h1["p_adjusted"] < 0.01 and h1["direction"] == "lower" and h1["evidence"] == "supports"
    assert h1["difference"] < -0.3                     # planted -0.8 on the latent scale, rounded to 1-5
    # H3 (planted false: no smb value gap) is not significant and not supported
    h3 = res.loc["H3"]
    assert PLANTED["no_price_gap"].values["shift"] == 0.0
    assert h3["p_adjusted"] > 0.05 and h3["evidence"] != "supports"


def survey_params():
    return load_params("2024-annual")


def test_nps_falls_from_2023_to_2024(survey):
    d = nps_trend(survey)
    planted = PLANTED["nps_shift"].values
    assert d["wave"] == 2024 and d["compare_wave"] == 2023
    assert d["nps_a"] < d["nps_b"]
    # each wave's NPS lies within a sampling margin of its planted value
    assert abs(d["nps_a"] - planted["nps_2024"]) < 15 and abs(d["nps_b"] - planted["nps_2023"]) < 15


def test_constructs_are_reliable(survey):
    from insight.survey.reliability import reliability

    rel = reliability(survey.data, survey.questionnaire)[0].set_index("construct")
    assert (rel["alpha"].between(0.65, 0.9)).all()


def test_demo_data_fits_the_questionnaire(demo, survey):
    # the demo generator and the questionnaire share one contract: no unknown or missing column
    bad = survey.questionnaire.check_responses(demo["survey_responses"])
    assert bad.empty


def test_the_survey_run_is_kept_for_the_other_notebooks(small_project, monkeypatch):
    """The cleaned and weighted survey (and the previous study's wave) is computed once per study data
    and settings and reused by the other notebooks that ask (fieldwork, results, the synthesis): the
    same run, without cleaning again. Other settings, or a damaged file, compute it again."""
    from insight.study import load_study
    from insight.survey import pipeline

    calls = []
    real = pipeline.clean_responses
    monkeypatch.setattr(pipeline, "clean_responses", lambda *a, **k: calls.append(1) or real(*a, **k))

    def study():   # each notebook loads the study in its own kernel
        return load_study("2024-annual", Project(small_project))

    folder, name = pipeline._run_key(study())
    (folder / name).unlink(missing_ok=True)
    first = prepare_survey(study())
    assert len(calls) == 2 and (folder / name).is_file()        # this wave and the previous study's
    again = prepare_survey(study())
    assert len(calls) == 2
    for a, b in ((first.data, again.data), (first.compare, again.compare), (first.raw, again.raw),
                 (first.cleaning.audit, again.cleaning.audit), (first.raking.margins, again.raking.margins)):
        pd.testing.assert_frame_equal(a, b)
    assert (again.wave, again.compare_wave, again.compare_note) == (first.wave, first.compare_wave, first.compare_note)

    other = study()
    other.params.survey.speeder_fraction = 0.45                  # another setting: another run
    assert pipeline._run_key(other)[1] != name
    prepare_survey(other)
    assert len(calls) == 4

    (folder / name).write_bytes(b"not a pickle")                  # damaged: computed again, not trusted
    pd.testing.assert_frame_equal(prepare_survey(study()).data, first.data)
    assert len(calls) == 6
    prepare_survey(study(), responses=study().table("survey_responses"))   # given responses: never kept
    assert len(calls) == 7 and pipeline._kept_run(folder, name) is not None   # (no previous study looked up)

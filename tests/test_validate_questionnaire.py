"""Survey responses checked against the study's questionnaire when the data are prepared
(`make validate`, before any notebook runs): unknown question ids, questions the data lack,
answers outside a scale or option list, required questions left unanswered — every problem at once,
with the file, the column, the row and the fix (the data layer's Problem).

The expected problems are read off the hand-written responses below (file rows: header = row 1)."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from insight.cli import main
from insight.data import DataError
from insight.data.prepare import data_fingerprint, prepare_study_data
from insight.data.testing import study_params
from insight.params import load_params
from insight.paths import Project

ROOT = Path(__file__).resolve().parent.parent
QUESTIONNAIRE = textwrap.dedent("""\
    title: Test survey
    sections:
      - title: S
        questions:
          - {id: q_nps, type: nps, text: "Recommend?", scale: {min: 0, max: 10}, required: true}
          - {id: q_csat, type: csat, text: "Satisfied?", scale: {min: 1, max: 5}}
          - {id: q_ces, type: ces, text: "Easy?", scale: {min: 1, max: 7}}
          - id: q_plan
            type: single
            text: "Plan?"
            options: [{code: basic, label: Basic}, {code: pro, label: Pro}]
          - {id: q_why, type: open, text: "Why?", asked_if: {answered: q_nps}}
    """)
HEAD = "respondent_id,wave,started_at,submitted_at,duration_seconds,completed"
ROWS = [  # file rows 2..6
    "R1,2024,2024-03-01 10:00,2024-03-01 10:05,300,true,9,5,basic,great,1",
    "R2,2024,2024-03-02 10:00,2024-03-02 10:04,240,true,,4,pro,,2",        # required q_nps unanswered
    "R3,2024,2024-03-03 10:00,2024-03-03 10:06,360,true,11,3,basic,,3",    # NPS 11
    "R4,2024,2024-03-04 10:00,,,false,,2,gold,,4",                         # partial (no NPS is fine); plan 'gold'
    "R5,2024,2024-03-05 10:00,2024-03-05 10:03,180,true,7,6,pro,ok,5",     # CSAT 6
]


def project_with(root: Path, responses: str, questionnaire: str = QUESTIONNAIRE, **survey) -> Project:
    (root / "params").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "survey.csv").write_text(responses, encoding="utf-8")
    (root / "questionnaire.yaml").write_text(questionnaire, encoding="utf-8")
    params = study_params("s", {"tables": {"survey_responses": {"path": "data/survey.csv"}}}, ("2024-01-01", "2024-12-31"))
    params["survey"] = {"questionnaire": "questionnaire.yaml", "weighting": {"margins": {}}, **survey}
    (root / "params" / "s.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    (root / "notebooks").symlink_to(ROOT / "notebooks", target_is_directory=True)
    return Project(root)


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("INSIGHT_PII_KEY", "test-key")
    monkeypatch.setenv("INSIGHT_ROOT", str(tmp_path))
    return tmp_path


def test_every_problem_at_once_with_file_column_row_and_fix(env, capsys):
    project = project_with(env, "\n".join([HEAD + ",q_nps,q_csat,q_plan,q_why,q_extra", *ROWS]) + "\n")
    with pytest.raises(DataError) as e:
        prepare_study_data(load_params("s", project), project)
    errs = [p for p in e.value.problems if p.severity == "error"]
    assert all(p.file == "data/survey.csv" and p.fix for p in errs)
    by_key: dict[str, list] = {}
    for p in errs:
        by_key.setdefault(p.key, []).append(p.message)
    assert sorted(by_key) == ["survey_responses", "survey_responses.q_csat", "survey_responses.q_nps",
                              "survey_responses.q_plan"]
    table = " | ".join(by_key["survey_responses"])
    assert "columns ['q_extra'] are not in the questionnaire (questionnaire.yaml)" in table
    assert "the questionnaire asks ['q_ces'] but survey_responses has no such columns" in table
    nps = " | ".join(by_key["survey_responses.q_nps"])
    assert "1 answer outside the codes of q_nps (whole numbers 0-10): values '11' (row 4; respondents R3)" in nps
    assert ("1 completed response did not answer the required question q_nps although it was asked "
            "(row 3; respondents R2)") in nps
    assert by_key["survey_responses.q_csat"] == [
        "1 answer outside the codes of q_csat (whole numbers 1-5): values '6' (row 6; respondents R5)"]
    assert by_key["survey_responses.q_plan"] == [
        "1 answer outside the codes of q_plan (basic, pro): values 'gold' (row 5; respondents R4)"]
    assert len(errs) == 6
    # `make validate` prints them all and exits 2; nothing was prepared
    assert main(["validate", "s"]) == 2
    err = capsys.readouterr().err
    assert "6 problems in the study's data" in err and "[survey_responses.q_plan]" in err and "fix:" in err
    assert not [d for d in (env / ".cache" / "studies" / "s").glob("*") if not d.name.startswith(".")]


def test_out_of_range_blank_turns_them_into_warnings(env, capsys):
    rows = [r.replace("R2,2024,2024-03-02 10:00,2024-03-02 10:04,240,true,,", "R2,2024,2024-03-02 10:00,2024-03-02 10:04,240,true,8,")
            for r in ROWS]
    project = project_with(env, "\n".join([HEAD + ",q_nps,q_csat,q_plan,q_why,q_ces", *rows]) + "\n", out_of_range="blank")
    prep = prepare_study_data(load_params("s", project), project)
    warned = sorted(p.key for p in prep.warnings if "they will be blanked" in p.message)
    assert warned == ["survey_responses.q_csat", "survey_responses.q_nps", "survey_responses.q_plan"]
    assert prep.rows["survey_responses"] == 5
    assert main(["validate", "s"]) == 0
    assert "params and data are valid" in capsys.readouterr().out


def test_a_broken_questionnaire_is_one_clear_problem(env):
    project = project_with(env, "\n".join([HEAD + ",q_nps", ROWS[0].rsplit(",", 5)[0] + ",9"]) + "\n",
                           questionnaire="title: x\nsections:\n  - title: S\n    questions:\n      - {id: q_nps, type: nps}\n")
    with pytest.raises(DataError) as e:
        prepare_study_data(load_params("s", project), project)
    [p] = [p for p in e.value.problems if p.severity == "error"]
    assert p.key == "survey.questionnaire" and p.file == "questionnaire.yaml" and "needs a `scale:" in p.message


def test_the_questionnaire_is_part_of_the_data_fingerprint(env):
    project = project_with(env, "\n".join([HEAD + ",q_nps,q_csat,q_plan,q_why,q_ces", ROWS[0]]) + "\n")
    before = data_fingerprint(load_params("s", project), project)
    (env / "questionnaire.yaml").write_text(QUESTIONNAIRE.replace("required: true", "required: false"), encoding="utf-8")
    assert data_fingerprint(load_params("s", project), project) != before

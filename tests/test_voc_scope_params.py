"""VOC phase 1, the params side: the `scope` section, its cross-checks (untestable hypotheses,
hypotheses without a method, uncovered dimensions), and the readable tables built from params."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from insight.params import ParamsError, load_params, read_params, warnings_of
from insight.paths import Project

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def demo_raw() -> dict:
    return yaml.safe_load((ROOT / "params" / "2024-annual.yaml").read_text(encoding="utf-8"))


def write_study(tmp_path: Path, raw: dict, name: str = "scope-test") -> tuple[Path, Project]:
    raw = copy.deepcopy(raw)
    raw["study"]["name"] = name
    raw["study"].pop("previous_study", None)
    (tmp_path / "params").mkdir(exist_ok=True)
    (tmp_path / "notebooks").mkdir(exist_ok=True)
    path = tmp_path / "params" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path, Project(tmp_path)


def line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


def problems_of(path, project):
    with pytest.raises(ParamsError) as info:
        read_params(path, project)
    return info.value.problems


H7_SURVEY = {"id": "H7", "question": "Q1", "dimension": "usage",
             "statement": "Users who attended training rate ease of use higher.",
             "quant": {"source": "survey", "measure": "q_attr_ease", "group_by": "role", "groups": ["user"],
                       "expected": "higher"}}
H8_QUAL = {"id": "H8", "question": "Q3", "dimension": "brand_interaction",
           "statement": "Customers feel support does not listen.", "qual": {"supports": ["slow_support"]}}


# --- the demo studies ------------------------------------------------------------------------

@pytest.mark.parametrize("study", ["2024-annual", "2023-annual"])
def test_demo_studies_have_a_complete_design(study):
    params = load_params(study, Project(ROOT))
    assert params.scope.methods, "the demo declares its methods"
    assert [str(w) for w in warnings_of(params) if "scope" in w.key or "hypotheses" in w.key] == []
    from insight.voc.scope import testability, testable_label
    verdicts = {t.hypothesis: testable_label(t, params.scope.methods) for t in testability(params)}
    assert verdicts == {f"H{i}": "yes" for i in range(1, 7)}
    assert params.scope.survey_base() == 800


def test_a_study_without_scope_validates_with_a_warning(tmp_path, demo_raw):
    raw = copy.deepcopy(demo_raw)
    raw.pop("scope")
    path, project = write_study(tmp_path, raw)
    params = read_params(path, project)
    warns = warnings_of(params)
    assert [w.key for w in warns] == ["scope.methods"]
    assert "no execution methods" in warns[0].message
    # the defaults still describe the demo's sample
    assert params.scope.sample.targets.region["LATAM"] == 0.15


# --- untestable hypotheses are errors --------------------------------------------------------

def test_survey_hypothesis_without_any_survey_method_is_rejected(tmp_path, demo_raw):
    raw = copy.deepcopy(demo_raw)
    raw["hypotheses"].append(H7_SURVEY)
    raw["scope"]["methods"] = [m for m in raw["scope"]["methods"] if m["method"] != "survey"]
    path, project = write_study(tmp_path, raw)
    problems = problems_of(path, project)
    errors = [p for p in problems if p.severity == "error"]
    assert len(errors) == 1, [str(p) for p in problems]
    err = errors[0]
    assert err.file == "params/scope-test.yaml"
    assert err.key == "hypotheses[6]"
    assert "H7 cannot be tested by any declared method" in err.message
    assert "needs a survey" in err.message
    assert "method: survey" in err.fix and "serves: [H7]" in err.fix
    assert err.line == line_of(path, "id: H7")
    # the report names file, key path and fix in one readable line each
    text = str(ParamsError(problems))
    assert "params/scope-test.yaml:" in text and "[hypotheses[6]]" in text and "fix:" in text
    # H1, H3 and H4 keep their qualitative test but lose their survey part: warnings, not errors
    partly = {p.key for p in problems if p.severity == "warning" and "will not be tested" in p.message}
    assert partly == {"hypotheses[0]", "hypotheses[2]", "hypotheses[3]"}


def test_qual_hypothesis_without_any_qualitative_method_is_rejected(tmp_path, demo_raw):
    raw = copy.deepcopy(demo_raw)
    raw["hypotheses"] += [H7_SURVEY, H8_QUAL]
    raw["scope"]["methods"] = [m for m in raw["scope"]["methods"] if m["method"] in ("data_research",)]
    path, project = write_study(tmp_path, raw)
    problems = problems_of(path, project)
    errors = {p.key: p for p in problems if p.severity == "error"}
    # all problems at once: H1/H3/H4 (survey + qual), H7 (survey) and H8 (qual) have no declared method
    assert set(errors) == {"hypotheses[0]", "hypotheses[2]", "hypotheses[3]", "hypotheses[6]", "hypotheses[7]"}
    h8 = errors["hypotheses[7]"]
    assert "qualitative codes need a qualitative method" in h8.message
    assert "data_research" in h8.message          # what is declared
    assert "method: one_to_one" in h8.fix
    assert h8.line == line_of(path, "id: H8")


def test_unknown_ids_in_serves_are_errors(tmp_path, demo_raw):
    raw = copy.deepcopy(demo_raw)
    raw["scope"]["methods"][0]["serves"] = ["Q1", "Q9"]
    path, project = write_study(tmp_path, raw)
    err = next(p for p in problems_of(path, project) if p.severity == "error")
    assert err.key == "scope.methods[0].serves"
    assert "'Q9'" in err.message and "Q1, Q2, Q3" in err.fix


# --- warnings ------------------------------------------------------------------------------

def test_hypothesis_without_method_and_uncovered_dimension_warn(tmp_path, demo_raw):
    raw = copy.deepcopy(demo_raw)
    # drop the brand-interaction hypotheses (H2, H5): that dimension is uncovered, and Q3 has none left
    raw["hypotheses"] = [h for h in raw["hypotheses"] if h["dimension"] != "brand_interaction"]
    # the survey serves H1 only; the qualitative methods serve nothing of Q2: H3 has no method
    for m in raw["scope"]["methods"]:
        if m["method"] == "survey":
            m["serves"] = ["H1"]
        elif m["method"] == "data_research":
            m["serves"] = ["H6"]
        elif m["method"] != "data_research":
            m["serves"] = [s for s in m["serves"] if s not in ("Q2", "H3")] or ["Q1"]
    path, project = write_study(tmp_path, raw)
    params = read_params(path, project)          # warnings only: it validates
    warns = warnings_of(params)
    by_msg = {w.message: w for w in warns}
    h3 = next(w for w in warns if "hypothesis H3 has no method" in w.message)
    assert h3.key == "hypotheses[1]" and "serves" in h3.fix and "survey" in h3.fix
    dim = next(w for w in warns if "dimension 'brand_interaction'" in w.message)
    assert dim.key == "hypotheses" and "dimension: brand_interaction" in dim.fix
    q3 = next(w for w in warns if "question Q3 has no hypothesis" in w.message)
    assert q3.key == "questions[2]"
    assert not any("'usage'" in m or "'purchase'" in m for m in by_msg)

    from insight.voc.scope import scope_findings
    findings = scope_findings(params)
    assert {f["severity"] for f in findings} == {"warning"}
    assert len({f["id"] for f in findings}) == len(findings)
    assert all(f["id"].startswith("scope.params.") for f in findings)


# --- sample targets ---------------------------------------------------------------------------

@pytest.mark.parametrize("targets, key, words", [
    ({"region": {"North America": 0.5, "EMEA": 0.3}}, "scope.sample.targets.region", "add up to 0.800"),
    ({"segment": {"enterprise": 0.5, "startup": 0.5}}, "scope.sample.targets.segment", "unknown segment value"),
    ({"customer_status": {"existing": 60, "churned": 40}}, "scope.sample.targets.customer_status", "between 0 and 1"),
])
def test_bad_sample_targets_are_errors(tmp_path, demo_raw, targets, key, words):
    raw = copy.deepcopy(demo_raw)
    raw["scope"]["sample"]["targets"] = targets
    path, project = write_study(tmp_path, raw)
    errs = [p for p in problems_of(path, project) if p.severity == "error"]
    assert [p.key for p in errs] == [key]
    assert words in errs[0].message


def test_unknown_method_is_an_error_with_the_choices(tmp_path, demo_raw):
    raw = copy.deepcopy(demo_raw)
    raw["scope"]["methods"][0]["method"] = "telepathy"
    path, project = write_study(tmp_path, raw)
    err = next(p for p in problems_of(path, project) if p.severity == "error")
    assert err.key == "scope.methods[0].method"
    assert "focus_group" in err.fix


# --- the readable tables ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def params():
    return load_params("2024-annual", Project(ROOT))


def test_coverage_matrix_counts_hypotheses(params):
    from insight.voc.scope import coverage_matrix
    m = coverage_matrix(params)
    # by hand from params/2024-annual.yaml: Q1 usage H1, H4; Q1 brand H2; Q2 purchase H3, H6; Q3 brand H5
    assert m.to_numpy().tolist() == [[2, 0, 1], [0, 2, 0], [0, 0, 1]]
    assert m.to_numpy().sum() == len(params.hypotheses)
    assert m.index[0].startswith("Q1: ")


def test_method_matrix_and_tables(params):
    from insight.voc.scope import hypotheses_table, method_matrix, method_table, questions_table, study_frame
    mm = method_matrix(params)
    assert mm.loc["H2", "Data research (CRM, usage and other company data)"] == "✓"
    assert mm.loc["H2", "1:1 interview"] == "○"          # serves Q1 but cannot test a CRM spec
    assert mm.loc["H1", "Survey (questionnaire)"] == "✓"
    assert (mm["Testable"] == "yes").all()
    mt = method_table(params)
    assert mt.loc[mt["Method"] == "Survey (questionnaire)", "Planned n"].item() == 800
    assert mt.loc[mt["Method"] == "1:1 interview", "Hypotheses it can test"].item() == "H1, H4, H5"
    ht = hypotheses_table(params)
    assert ht.loc[0, "Quantitative test"] == "survey: q_onboarding by segment — enterprise expected lower than the others"
    assert "onboarding friction" in ht.loc[0, "Qualitative evidence"]
    frame = study_frame(params).set_index("Item")["Study frame"]
    assert frame["Trigger"].startswith("Annual")
    assert questions_table(params)["Hypotheses"].tolist() == ["H1, H2, H4", "H3, H6", "H5"]


def test_research_plan_per_question(params):
    from insight.voc.plan import plan_overview, research_plan, research_plan_markdown, sample_plan
    plans = research_plan(params)
    assert [q for q, _, _ in plans] == ["Q1", "Q2", "Q3"]
    q1 = plans[0][2]
    assert [h.split(":")[0] for h in q1["Hypothesis"]] == ["H1", "H2", "H4"]
    assert "Survey (questionnaire), n = 800" in q1.loc[0, "Methods (planned n)"]
    # H2 is tested only by data research: interviews serving Q1 are not listed as testing it
    assert q1.loc[1, "Methods (planned n)"] == "Data research (CRM, usage and other company data)"
    assert "Cut first-year churn" in plans[0][1]
    ov = plan_overview(params)
    assert (ov["Not yet testable"] == "—").all() and ov["Sign-off"].str.contains("approved").all()
    assert "LATAM 15%" in sample_plan(params).set_index("Dimension").loc["Region", "Interview targets"]
    md = research_plan_markdown(params)
    for token in ("# Research plan", "H1:", "H6:", "Sign-off", "| customer success |"):
        assert token in md


def test_templates_for_analysts_exist():
    checklist = (ROOT / "templates" / "sample-checklist.md").read_text(encoding="utf-8")
    for item in ("genders and age bands", "regions", "market segments", "roles in the decision chain",
                 "churned, prospect and competitors' customers", "Minimum per group", "Sign-off"):
        assert item.lower() in checklist.lower(), item
    plan = (ROOT / "templates" / "research-plan.md").read_text(encoding="utf-8")
    for item in ("Study frame", "Strategic questions", "Hypotheses", "Methods", "Sample", "Plan per question",
                 "Sign-off", "**Why**", "**Who**", "**When**", "**What**"):
        assert item in plan, item

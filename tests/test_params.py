"""Study parameters: every problem reported at once with file, key path, line and fix; exit code 2;
nothing written."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from insight.params import ParamsError, load_params, read_params
from insight.paths import Project

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def proj(tmp_path) -> Project:
    (tmp_path / "params").mkdir()
    (tmp_path / "notebooks").mkdir()
    for p in (ROOT / "params").glob("*.yaml"):
        (tmp_path / "params" / p.name).write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
    return Project(tmp_path)


def edit(proj: Project, study: str, fn) -> Path:
    path = proj.params_file(study)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    fn(raw)
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def problems(proj, study="2024-annual"):
    with pytest.raises(ParamsError) as exc:
        load_params(study, proj)
    return exc.value.problems


def test_demo_studies_are_valid(proj):
    for study in ("2024-annual", "2023-annual"):
        p = load_params(study, proj)
        assert p.study.name == study
        assert p.hypotheses and p.questions


def test_unknown_key_names_path_line_and_suggestion(proj):
    edit(proj, "2024-annual", lambda r: r["study"].update(titel="typo"))
    [p] = problems(proj)
    assert p.file == "params/2024-annual.yaml"
    assert p.key == "study.titel"
    assert p.line is not None and p.line > 1
    assert "did you mean `title`" in p.fix


def test_all_problems_reported_at_once(proj):
    def break_it(r):
        del r["objectives"]["why"]                          # missing required key
        r["study"]["period"]["start"] = "2024-02-30"          # impossible date
        r["report"] = {"small_base": "thirty"}                # wrong type
        r["questions"][0]["priority"] = "urgent"              # not an allowed value
        r["surprise"] = 1                                     # unknown top-level key
    edit(proj, "2024-annual", break_it)
    ps = problems(proj)
    keys = {p.key for p in ps}
    assert {"objectives.why", "study.period.start", "report.small_base", "questions[0].priority", "surprise"} <= keys
    by_key = {p.key: p for p in ps}
    assert "YYYY-MM-DD" in by_key["study.period.start"].fix
    assert "whole number" in by_key["report.small_base"].fix
    assert "'high'" in by_key["questions[0].priority"].fix
    assert "add the required key `why`" in by_key["objectives.why"].fix
    assert all(p.line for p in ps if p.key != "objectives.why")


def test_period_end_before_start(proj):
    edit(proj, "2024-annual", lambda r: r["study"].update(period={"start": "2024-12-31", "end": "2024-01-01"}))
    [p] = problems(proj)
    assert p.key == "study.period" and "before it starts" in p.message


@pytest.mark.parametrize("bad", ["../x", "my study", "A/B", ".hidden", ""])
def test_study_name_must_be_a_slug(proj, bad):
    [p] = problems(proj, bad)
    assert "plain study name" in p.message or "empty" in p.message


def test_name_must_match_file(proj):
    edit(proj, "2024-annual", lambda r: r["study"].update(name="2024-other"))
    [p] = problems(proj)
    assert p.key == "study.name" and "name: 2024-annual" in p.fix


def test_missing_data_file_and_unknown_question(proj):
    def break_it(r):
        r["data"] = {"tables": {"orders": {"path": "data/local/nope.csv"}}}
        r["hypotheses"][0]["question"] = "Q9"
    edit(proj, "2024-annual", break_it)
    ps = {p.key: p for p in problems(proj)}
    assert "file not found" in ps["data.tables.orders.path"].message
    assert "Q9" in ps["hypotheses[0].question"].message and "Q1" in ps["hypotheses[0].question"].fix


def test_untestable_hypothesis_rejected(proj):
    def break_it(r):
        r["hypotheses"][1].pop("quant", None)
        r["hypotheses"][1].pop("qual", None)
    edit(proj, "2024-annual", break_it)
    ps = problems(proj)
    assert any(p.key == "hypotheses[1]" and "cannot be tested" in p.message for p in ps)


def test_no_such_study_suggests_new_study(proj):
    [p] = problems(proj, "2031-q1")
    assert "make new-study STUDY=2031-q1" in p.fix


def test_broken_yaml_gives_line(proj):
    proj.params_file("2024-annual").write_text("study:\n  name: 2024-annual\n   title: x\n", encoding="utf-8")
    [p] = problems(proj)
    assert p.line == 3 and "indentation" in p.fix


def test_cli_exit_code_2_and_nothing_written(proj):
    edit(proj, "2024-annual", lambda r: r["study"].update(titel="typo"))
    res = subprocess.run([sys.executable, "-m", "insight", "report", "2024-annual"], cwd=proj.root,
                         env={"INSIGHT_ROOT": str(proj.root), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert res.returncode == 2, res.stderr
    assert "study.titel" in res.stderr and "nothing was run or written" in res.stderr
    assert not (proj.root / "reports").exists()
    assert not (proj.root / ".cache").exists()


def test_the_fast_yaml_loader_reads_the_same_documents():
    # every YAML file of the project, and YAML 1.1's tricky plain scalars, as yaml.safe_load reads them;
    # libyaml's parser is the one used when PyYAML has it (its wheels do): a tenth of the time per kernel
    from insight.checks import YAML_LOADER, load_yaml

    if yaml.__with_libyaml__:
        assert YAML_LOADER is yaml.CSafeLoader
    files = [*ROOT.glob("params/*.yaml"), *ROOT.glob("templates/**/*.yaml")]
    assert len(files) >= 4
    for path in files:   # the new-study template is YAML once its placeholders are filled in
        text = path.read_text(encoding="utf-8").replace("{{study}}", "2031-q1").replace("{{year}}", "2031")
        assert load_yaml(text) == yaml.safe_load(text), path
    tricky = ("a: yes\nb: off\nc: 010\nd: 1_000\ne: 2024-03-31\nf: .inf\ng: ~\nh: 1:30\ni: '007'\n"
              "j: [1, 2.5, -3e2]\nk: {x: !!str 1}\nl: &r [1]\nm: *r\nn: \"caf\\u00e9\"\n")
    got = load_yaml(tricky)
    assert got == yaml.safe_load(tricky)
    # and as YAML 1.1 defines them (booleans, octal, underscores, dates, sexagesimal, aliases)
    assert (got["a"], got["b"], got["c"], got["d"], got["h"], got["i"]) == (True, False, 8, 1000, 90, "007")
    assert str(got["e"]) == "2024-03-31" and got["f"] == float("inf") and got["g"] is None
    assert got["k"] == {"x": "1"} and got["m"] == [1] and got["n"] == "café"
    with pytest.raises(yaml.YAMLError):
        load_yaml("a: !!python/object/apply:os.system ['true']\n")

"""The runner on a toy project: incremental reruns for each kind of change, a failing notebook keeps
the last good report, parallel workers, ONLY=, skipped notebooks with their reason."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from insight import runner
from insight.paths import Project
from insight.runner import RunOptions, run_report

ROOT = Path(__file__).resolve().parent.parent

PARAMS = """
study:
  name: toy
  title: "Toy study"
  trigger: ad_hoc
  period: {start: 2024-01-01, end: 2024-12-31}
objectives: {why: w, who: w, when: w, what: w}
questions: [{id: Q1, text: t, business_goal: g, owner: product}]
data:
  tables:
    customers: {path: data/customers.csv}
"""

CUSTOMERS = "customer_id,region,segment,signup_date,status\nC1,EMEA,smb,2023-01-05,existing\nC2,APAC,enterprise,2023-03-01,churned\n"


def write_nb(path: Path, code: str, meta: dict) -> None:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["insight"] = meta
    params = new_code_cell('study = "toy"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [new_markdown_cell(f"# {meta.get('title', path.stem)}\n\n## Part"), params, new_code_cell(code)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


PARALLEL = """
import os, time
from insight.findings import record_finding
t0 = time.time(); time.sleep(1.5)
record_finding("{name}.timing", "ran", extra={{"pid": os.getpid(), "start": t0, "end": time.time()}}, severity="key")
"""


@pytest.fixture
def toy(tmp_path, monkeypatch) -> Project:
    root = tmp_path / "toy"
    (root / "params").mkdir(parents=True)
    (root / "params" / "toy.yaml").write_text(PARAMS, encoding="utf-8")
    (root / "data").mkdir()
    (root / "data" / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (root / "templates").symlink_to(ROOT / "templates", target_is_directory=True)
    nbs = root / "notebooks"
    write_nb(nbs / "a" / "alpha.ipynb", PARALLEL.format(name="alpha"), {"title": "Alpha", "order": 1})
    write_nb(nbs / "a" / "beta.ipynb",
             PARALLEL.format(name="beta") + "\nfrom pathlib import Path\nimport os\n"
             "if (Path(os.environ['INSIGHT_ROOT']) / 'FAIL').exists():\n    raise ValueError('planted failure')\n",
             {"title": "Beta", "order": 2})
    write_nb(nbs / "b" / "needs_survey.ipynb", "print('never')",
             {"title": "Needs survey", "requires": ["survey_responses"], "order": 3})
    write_nb(nbs / "synth.ipynb",
             "from insight.findings import load_findings, record_finding\nf = load_findings(study)\n"
             "record_finding('synthesis.summary.1', f'{len(f)} findings read', severity='key')",
             {"title": "Synthesis", "stage": 2, "order": 90})
    monkeypatch.setenv("INSIGHT_ROOT", str(root))
    monkeypatch.chdir(root)
    # the real source hash is tested on its own; pinning it keeps edits elsewhere from rerunning the toy
    monkeypatch.setattr(runner, "source_hash", lambda project: "pinned-source")
    return Project(root)


def manifest(p: Project) -> dict:
    return json.loads((p.report_dir("toy") / "manifest.json").read_text())


def statuses(p: Project) -> dict:
    return {k: v["status"] for k, v in manifest(p)["notebooks"].items()}


def run(p, **kw):
    return run_report("toy", RunOptions(quiet=True, **kw), p)


def test_full_then_incremental(toy, monkeypatch):
    assert run(toy, jobs=2) == 0
    first = statuses(toy)
    assert first == {"alpha": "ok", "beta": "ok", "needs_survey": "not applicable", "synth": "ok"}
    m = manifest(toy)
    assert m["notebooks"]["needs_survey"]["reason"] == "no survey responses data in this study"
    for name in ("alpha", "beta", "synth"):
        e = m["notebooks"][name]
        assert e["input_hash"] and e["duration"] > 0 and e["outputs"] == [f"{name}.html"]
    index = (toy.report_dir("toy") / "index.html").read_text()
    assert "no survey responses data in this study" in index
    # the executive summary ranks the reports' own findings (the synthesis's own lines stay in its report)
    assert "The 2 most important findings" in index and index.count("→&nbsp;Alpha") >= 1

    # their run times are remembered for the project (a cold run of another study starts the longest first)
    assert set(runner.read_durations(toy)) == {"alpha", "beta", "synth"}
    # parallel: alpha and beta ran in two processes at the same time
    findings = json.loads((toy.report_dir("toy") / "findings.json").read_text())
    t = {f["id"]: f["extra"] for f in findings if f["id"].endswith(".timing")}
    assert t["alpha.timing"]["pid"] != t["beta.timing"]["pid"]
    assert t["alpha.timing"]["start"] < t["beta.timing"]["end"] and t["beta.timing"]["start"] < t["alpha.timing"]["end"]

    # nothing changed: nothing reruns, and it is quick
    t0 = time.perf_counter()
    assert run(toy) == 0
    warm = time.perf_counter() - t0
    assert set(statuses(toy).values()) == {"unchanged", "not applicable"}, statuses(toy)
    assert warm < 10  # the 3-second target is measured by `make bench`, not here

    # the notebook file changed: only it reruns (its findings are the same, so the synthesis does not)
    nb = toy.notebooks_dir / "a" / "alpha.ipynb"
    nb.write_text(nb.read_text().replace("ran", "ran again"))
    run(toy)
    s = statuses(toy)
    assert s["alpha"] == "ok" and s["beta"] == "unchanged"

    # the params changed: everything reruns
    pf = toy.params_file("toy")
    pf.write_text(pf.read_text().replace('"Toy study"', '"Toy study v2"'))
    run(toy)
    assert {statuses(toy)[k] for k in ("alpha", "beta", "synth")} == {"ok"}

    # a data file changed: everything reruns
    data = toy.root / "data" / "customers.csv"
    data.write_text(data.read_text() + "C3,LATAM,mid_market,2024-02-01,existing\n")
    run(toy)
    assert {statuses(toy)[k] for k in ("alpha", "beta", "synth")} == {"ok"}

    # the lib/insight source changed: everything reruns
    monkeypatch.setattr(runner, "source_hash", lambda project: "changed-source")
    run(toy)
    assert {statuses(toy)[k] for k in ("alpha", "beta", "synth")} == {"ok"}
    run(toy)
    assert {statuses(toy)[k] for k in ("alpha", "beta", "synth")} == {"unchanged"}

    # FORCE reruns all; ONLY runs one
    run(toy, force=True)
    assert {statuses(toy)[k] for k in ("alpha", "beta", "synth")} == {"ok"}
    run(toy, force=True, only=["beta"])
    s = statuses(toy)
    assert s["beta"] == "ok" and s["alpha"] == "ok"  # alpha kept its entry from the previous run
    assert manifest(toy)["notebooks"]["alpha"]["started"] != manifest(toy)["notebooks"]["beta"]["started"]


def test_source_hash_covers_the_package_and_template(tmp_path):
    from insight.paths import PACKAGE_DIR
    root = tmp_path / "p"
    (root / "templates" / "report").mkdir(parents=True)
    (root / "templates" / "report" / "index.html.j2").write_text("a")
    project = Project(root)
    h1 = runner.source_hash(project)
    assert h1 == runner.source_hash(project) and len(h1) == 32
    (root / "templates" / "report" / "index.html.j2").write_text("b")
    assert runner.source_hash(project) != h1
    assert (PACKAGE_DIR / "runner.py").exists()


def test_failing_notebook_keeps_last_good_report(toy):
    assert run(toy, jobs=2) == 0
    good = (toy.report_dir("toy") / "beta.html").read_bytes()
    (toy.root / "FAIL").write_text("x")
    beta = toy.notebooks_dir / "a" / "beta.ipynb"
    beta.write_text(beta.read_text().replace("ran", "ran, then failed"))
    assert run(toy, jobs=2) == 1
    assert (toy.report_dir("toy") / "beta.html").read_bytes() == good
    m = manifest(toy)["notebooks"]
    assert m["beta"]["status"] == "failed" and "planted failure" in m["beta"]["error"]
    assert m["beta"]["html"] == "beta.html"
    failed = toy.report_dir("toy") / "failed" / "beta.html"
    assert 'id="papermill-error-cell"' in failed.read_text()
    index = (toy.report_dir("toy") / "index.html").read_text()
    assert "failed/beta.html#papermill-error-cell" in index and "planted failure" in index
    assert m["alpha"]["status"] == "unchanged"
    # a failed notebook is retried on the next run, and recovers
    (toy.root / "FAIL").unlink()
    assert run(toy) == 0
    assert statuses(toy)["beta"] == "ok"


def test_unknown_only_is_an_error(toy, capsys):
    assert run(toy, only=["nope"]) == 2
    assert "no such notebook" in capsys.readouterr().err


def test_a_hung_cell_fails_its_notebook_after_the_timeout(toy):
    pf = toy.params_file("toy")
    pf.write_text(pf.read_text() + "report: {cell_timeout: 10}\n")
    write_nb(toy.notebooks_dir / "a" / "hang.ipynb", "import time\ntime.sleep(120)", {"title": "Hang", "order": 5})
    t0 = time.perf_counter()
    assert run(toy, only=["hang"]) == 1
    assert time.perf_counter() - t0 < 90
    e = manifest(toy)["notebooks"]["hang"]
    assert e["status"] == "failed" and "timed out" in e["error"].lower()


def test_a_section_whose_table_is_missing_is_left_out_with_a_note(toy):
    """issue 18: the runner skips a section, not the report; the index says what the table would add."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["insight"] = {"title": "Mixed", "requires": ["customers"], "order": 5, "sections": [
        {"id": "cohorts", "title": "Cohorts", "needs": ["orders"], "shows": "cohort grids"},
        {"id": "churn", "title": "Churn", "needs": ["customers"], "shows": "churn rates"}]}
    params = new_code_cell('study = "toy"')
    params.metadata["tags"] = ["parameters"]
    head = new_markdown_cell("## Cohorts\n\nExplained here.")
    grid = new_code_cell("raise RuntimeError('the orders section ran')")
    churn_md = new_markdown_cell("## Churn")
    churn = new_code_cell("print('churn section ' + 'ran')")
    for cell, sid in ((head, "cohorts"), (grid, "cohorts"), (churn_md, "churn"), (churn, "churn")):
        cell.metadata["tags"] = [f"section:{sid}"]
    nb.cells = [new_markdown_cell("# Mixed"), params, head, grid, churn_md, churn, new_code_cell("print('the end')")]
    nbformat.write(nb, str(toy.notebooks_dir / "mixed.ipynb"))
    assert run(toy, only=["mixed"]) == 0
    m = manifest(toy)["notebooks"]
    assert m["mixed"]["status"] == "ok"
    assert m["mixed"]["sections_skipped"] == [{"id": "cohorts", "title": "Cohorts", "needs": ["orders"], "shows": "cohort grids",
                                              "note": "This section needs an orders table, which this study does not have: "
                                                      "it would show cohort grids."}]
    html = (toy.report_dir("toy") / "mixed.html").read_text(encoding="utf-8")
    assert "This section needs an orders table, which this study does not have: it would show cohort grids." in html
    assert "Explained here" not in html and "the orders section ran" not in html
    assert "churn section ran" in html and "the end" in html
    index = (toy.report_dir("toy") / "index.html").read_text(encoding="utf-8")
    assert "What more data would add" in index and "section “Cohorts”: cohort grids" in index
    assert "Needs survey</a>" not in index and "Needs survey (the whole report)" in index


def test_longest_expected_notebook_starts_first():
    """The order of a run: by the notebook's last time in this study, else its last time in any study of
    the project, else a guess from the rows of the tables it reads (sections included)."""
    from insight.catalog import NotebookInfo, SectionInfo

    big = NotebookInfo("funnel", Path("f.ipynb"), "f.ipynb", "F", requires=("journey_events",))
    mixed = NotebookInfo("churn", Path("c.ipynb"), "c.ipynb", "C", requires=("customers",),
                         sections=(SectionInfo("cohorts", "Cohorts", needs=("orders|usage",)),))
    small = NotebookInfo("tiny", Path("t.ipynb"), "t.ipynb", "T", requires=("customers",))
    rows = {"journey_events": 6_000_000, "customers": 400_000, "orders": 10_000_000}
    guess = {nb.name: runner.expected_seconds(nb, {}, {}, rows) for nb in (big, mixed, small)}
    assert guess == {"funnel": 0.5 + 9.0, "churn": 0.5 + 15.6, "tiny": 0.5 + 0.6}
    assert runner.expected_seconds(small, {}, {"tiny": 30.0}, rows) == 30.0              # known in another study
    assert runner.expected_seconds(small, {"duration": 2.0}, {"tiny": 30.0}, rows) == 2.0  # this study's own
    # a notebook's typical seconds on the demo study (metadata insight.seconds) replace the half second
    slow_text = NotebookInfo("qual", Path("q.ipynb"), "q.ipynb", "Q", requires=("customers",), seconds=4.4)
    assert runner.expected_seconds(slow_text, {}, {}, rows) == 4.4 + 0.6


def test_every_bundled_notebook_says_how_long_it_typically_takes(tmp_path):
    """insight.seconds in each bundled notebook's metadata: what orders a first run (no history), so that
    the notebooks that are long on any study (qualitative coding, the sample checks) do not start last
    and leave one core idle at the end. A value that is not a positive number is ignored, not fatal."""
    import json

    from insight.catalog import discover, read_info
    from insight.paths import Project

    infos = discover(Project.find())
    assert infos and all(nb.seconds is not None and 0.3 <= nb.seconds <= 30 for nb in infos), \
        [nb.name for nb in infos if nb.seconds is None]
    by = {nb.name: nb.seconds for nb in infos}
    assert by["qualitative"] > by["data_inventory"] and by["scope_and_sample"] > by["feedback_loop"]
    for bad in ("slow", -1, None, [2]):
        p = tmp_path / "x.ipynb"
        p.write_text(json.dumps({"cells": [], "metadata": {"insight": {"seconds": bad}}}), encoding="utf-8")
        assert read_info(p, tmp_path).seconds is None

"""Load (issue 15: "a study with 25 notebooks run 20 times in a row with random edits between runs").

Kept affordable for `make test`: a toy study with 4 analysis notebooks and a synthesis notebook
(stage 2, reading their findings) stands in for the 25 notebooks; it runs 10 times (20 with
RELIABILITY_RUNS=20, as the issue asks; 10 keep the suite's time down) with seeded random
edits between runs — a notebook's code changed (its finding changes, so the synthesis must rerun),
a comment added (it reruns, its findings do not change, so the synthesis must NOT rerun), a file
rewritten byte for byte (nothing reruns), a customer added to the data or the study title changed
(everything reruns), the data file rewritten unchanged (nothing reruns), or nothing. After every run
each notebook's decision (rerun or unchanged) is checked against what changed, every report must
still exist, and after the last run the findings are compared with those of a from-scratch run of
a copy of the project. Edits that rerun everything (data, title) are rare, to keep the time down."""
from __future__ import annotations

import json
import os
import random
import time

import nbformat
import pytest

from reltoy import copy_project, lost_reports, make_toy, snapshot, statuses

from insight import runner
from insight.runner import RunOptions, run_report

pytestmark = pytest.mark.slow
RUNS = int(os.environ.get("RELIABILITY_RUNS", "10"))   # the 20: RELIABILITY_RUNS=20

STAGE1 = """
from insight.study import load_study
from insight.findings import record_finding
df = load_study(study).table("customers")
K = 1
record_finding("{name}.value", "value of {name}", value=float(len(df) * K + {i}), severity="key")
"""
SYNTH = """
from insight.findings import load_findings, record_finding
f = load_findings(study)
f = f[~f["id"].str.startswith("synth")]
record_finding("synth.total", f"{len(f)} findings, total {f['value'].sum():g}", value=float(f["value"].sum()), severity="key")
"""
NAMES = [f"n{i}" for i in range(1, 5)]


def findings(project) -> list[dict]:
    return json.loads((project.report_dir("toy") / "findings.json").read_text())


def stage1_findings(project) -> dict:
    out = {}
    for name in NAMES:
        path = project.report_dir("toy") / "findings" / f"{name}.json"
        out[name] = path.read_text() if path.exists() else None
    return out


def run(project, **kw) -> int:
    os.environ["INSIGHT_ROOT"] = str(project.root)
    try:
        return run_report("toy", RunOptions(quiet=True, jobs=2, **kw), project)
    finally:
        os.environ.pop("INSIGHT_ROOT", None)


def test_repeated_runs_with_random_edits_decide_right(tmp_path, monkeypatch, figures):
    monkeypatch.setenv("INSIGHT_PII_KEY", "load-key")
    monkeypatch.setattr(runner, "source_hash", lambda project: "pinned-source")
    p = make_toy(tmp_path / "toy", {n: STAGE1.format(name=n, i=i) for i, n in enumerate(NAMES)})
    from reltoy import write_nb
    write_nb(p.notebooks_dir / "synth.ipynb", SYNTH, {"title": "Synthesis", "stage": 2, "order": 90})
    assert run(p) == 0
    rng = random.Random(2015)
    files = lambda: {n: (p.notebooks_dir / f"{n}.ipynb").read_bytes() for n in [*NAMES, "synth"]}  # noqa: E731
    data, params = p.root / "data" / "customers.csv", p.params_file("toy")
    # cheap edits are frequent; "data" and "title" rerun everything and are rare
    kinds = ["code"] * 5 + ["comment"] * 3 + ["same bytes"] * 4 + ["data same bytes"] * 3 + ["none"] * 2 + ["data", "title"]
    for i in range(1, RUNS + 1):
        before_nbs, before_inputs, before_f1 = files(), (data.read_bytes(), params.read_bytes()), stage1_findings(p)
        good = snapshot(p)
        kind = rng.choice(kinds)
        kind = {RUNS // 2: "data", RUNS - 1: "title"}.get(i, kind)   # both rerun-everything edits, always
        targets = rng.sample(NAMES, rng.choice([1, 1, 2]))
        for name in targets if kind in ("code", "comment", "same bytes") else []:
            path = p.notebooks_dir / f"{name}.ipynb"
            nb = nbformat.read(str(path), as_version=4)
            if kind == "code":
                k = int(nb.cells[-1].source.split("K = ")[1].split("\n")[0])
                nb.cells[-1].source = nb.cells[-1].source.replace(f"K = {k}\n", f"K = {k + 1}\n")
                nbformat.write(nb, str(path))
            elif kind == "comment":
                nb.cells[-1].source += f"\n# edit {i}"
                nbformat.write(nb, str(path))
            else:
                path.write_bytes(path.read_bytes())
                os.utime(path, (time.time() + i, time.time() + i))
        if kind == "data":
            data.write_text(data.read_text() + f"X{i},APAC,smb,2023-02-01,existing\n")
        elif kind == "data same bytes":
            data.write_bytes(data.read_bytes())
            os.utime(data, (time.time() + i, time.time() + i))
        elif kind == "title":
            params.write_text(params.read_text().replace('title: "Toy study', f'title: "Toy study {i}'))
        figures.fault()   # one randomly edited rerun

        assert run(p) == 0, (i, kind)
        everything = (data.read_bytes(), params.read_bytes()) != before_inputs
        after = files()
        expect = {n: everything or after[n] != before_nbs[n] for n in NAMES}
        expect["synth"] = everything or after["synth"] != before_nbs["synth"] or stage1_findings(p) != before_f1
        got = {n: s == "ok" for n, s in statuses(p).items()}
        assert got == expect, (i, kind, targets, {n: (got[n], expect[n]) for n in got if got[n] != expect[n]})
        lost = lost_reports(good, p)
        figures.reports_lost(len(lost))
        assert not lost, (i, kind, lost)

        if i == RUNS:   # the incremental result equals a from-scratch run's
            twin = copy_project(p.root, tmp_path / f"twin{i}")
            assert run(twin, force=True) == 0
            assert findings(twin) == findings(p), i

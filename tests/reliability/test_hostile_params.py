"""Hostile or broken study parameters (issue 15): YAML tags that would run code, alias bombs, a 50 MB
file, bytes that are not UTF-8, deep nesting, and data paths that escape the project or point at a
device, a pipe, a symbolic-link loop or the workbook's own files. Each gives a clear message (file,
key, line, fix), `make report` exits 2, and nothing is written."""
from __future__ import annotations

import os
import time

import pytest
import yaml

from insight.data.testing import study_params
from insight.params import ParamsError, load_params
from insight.paths import Project
from insight.runner import RunOptions, run_report

GOOD = study_params("toy", {"tables": {"customers": {"path": "data/customers.csv"}}})


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("INSIGHT_PII_KEY", "k")
    (tmp_path / "params").mkdir()
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "customers.csv").write_text("customer_id,region,segment,signup_date,status\nC1,EMEA,smb,2023-01-05,existing\n")
    return Project(tmp_path)


def write(project, text: str | bytes) -> None:
    path = project.params_file("toy")
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))


def refused(project, figures, *words, key: str | None = None, line: bool = True) -> str:
    """The params are refused by load_params and by `report` (exit 2, nothing written); returns the report."""
    figures.bad_input()
    t0 = time.perf_counter()
    with pytest.raises(ParamsError) as exc:
        load_params("toy", project)
    assert time.perf_counter() - t0 < 10
    text = exc.value.report()
    for w in words:
        assert w in text, text
    first = exc.value.problems[0]
    assert first.file.endswith("toy.yaml") and first.fix, text
    if key is not None:
        assert any(p.key == key for p in exc.value.problems), text
    if line:
        assert any(p.line for p in exc.value.problems), text
    assert run_report("toy", RunOptions(quiet=True), project) == 2
    assert not project.reports_dir.exists() and not project.cache_dir.exists(), "something was written"
    return text


def test_python_object_tags_are_refused_and_never_run(project, figures, tmp_path):
    marker = tmp_path / "ran"
    write(project, yaml.safe_dump(GOOD) + f"evil: !!python/object/apply:os.system ['touch {marker}']\n")
    refused(project, figures, "YAML tag refused", "python/object", "remove the tag")
    write(project, yaml.safe_dump(GOOD) + "evil: !!python/name:os.system\n")
    refused(project, figures, "YAML tag refused")
    assert not marker.exists()


def test_an_alias_bomb_is_refused_quickly(project, figures):
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):   # 9 ** 10 values once expanded
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]")
    write(project, yaml.safe_dump(GOOD) + "\n".join(lines) + "\n")
    refused(project, figures, "anchors and aliases", "billion laughs", line=False)


def test_small_aliases_still_work(project):
    write(project, yaml.safe_dump(GOOD, sort_keys=False).replace("why: test", "why: &w test").replace("who: test", "who: *w"))
    assert load_params("toy", project).objectives.who == "test"


def test_a_50_mb_params_file_is_refused_without_reading_it(project, figures):
    path = project.params_file("toy")
    with open(path, "wb") as fh:
        fh.write(yaml.safe_dump(GOOD).encode())
        fh.write(b"# padding\n" * 5_000_000)
    assert path.stat().st_size > 50_000_000
    refused(project, figures, "50.0 MB", "data.tables", line=False)


def test_bytes_that_are_not_utf8_name_the_line(project, figures):
    write(project, yaml.safe_dump(GOOD).encode().replace(b"title: Study toy", b"title: Caf\xe9 study"))
    refused(project, figures, "not UTF-8", "Save As")


def test_deep_nesting_and_nul_bytes_are_clear_errors(project, figures):
    write(project, yaml.safe_dump(GOOD) + "deep: " + "[" * 5000 + "]" * 5000 + "\n")
    refused(project, figures, "toy.yaml", line=False)
    write(project, yaml.safe_dump(GOOD) + "x: a\x00b\n")
    refused(project, figures, "not valid YAML")


def with_path(project, path: str) -> None:
    params = study_params("toy", {"tables": {"customers": {"path": path}}})
    write(project, yaml.safe_dump(params, sort_keys=False))


KEY = "data.tables.customers.path"


def test_a_relative_path_that_climbs_out_of_the_project(project, figures):
    with_path(project, "../../../../etc/passwd")
    refused(project, figures, "points outside the project folder", "data/local", key=KEY)


def test_system_files_and_devices(project, figures):
    for path in ("/etc/passwd", "/dev/zero", "/proc/self/environ"):
        with_path(project, path)
        refused(project, figures, "system folder", key=KEY)
    dev = project.root / "data" / "zero.csv"
    dev.symlink_to("/dev/zero")
    with_path(project, "data/zero.csv")
    refused(project, figures, "system folder", key=KEY)


def test_a_pipe_and_a_symlink_loop(project, figures):
    fifo = project.root / "data" / "pipe.csv"
    os.mkfifo(fifo)
    with_path(project, "data/pipe.csv")
    refused(project, figures, "device, pipe or socket", key=KEY)
    a, b = project.root / "data" / "a.csv", project.root / "data" / "b.csv"
    a.symlink_to(b)
    b.symlink_to(a)
    with_path(project, "data/a.csv")
    refused(project, figures, "loops back on itself", key=KEY)


def test_the_workbooks_own_files_are_never_data(project, figures):
    (project.root / ".insight-key").write_text("secret-key-value\n")
    with_path(project, ".insight-key")
    text = refused(project, figures, "workbook's own files", key=KEY)
    assert "secret-key-value" not in text
    (project.root / ".insight-key").unlink()


def test_an_absolute_path_to_a_real_export_is_still_allowed(project, tmp_path_factory):
    """Exports on a share are normal (the real-data fixtures use absolute paths)."""
    elsewhere = tmp_path_factory.mktemp("share") / "customers.csv"
    elsewhere.write_text((project.root / "data" / "customers.csv").read_text())
    with_path(project, str(elsewhere))
    assert load_params("toy", project).data.tables["customers"].path == str(elsewhere)

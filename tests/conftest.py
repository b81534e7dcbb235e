"""Shared fixtures.

- `project_root`: the repository.
- `small_project`: a temporary project tree whose params are the bundled demo studies at a small
  scale (tests stay fast); notebooks/ and templates/ are the repository's own (symlinked).
- `run_notebook(rel_path, study=...)`: executes a notebook with papermill on the small project
  and returns the executed notebook (nbformat), failing with the cell's error if it raises.
- `shared_datasets`: ../shared/datasets, or the test is skipped when absent.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SMALL_SCALE = 0.5
SHARED = ROOT.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


def make_project(dest: Path, scale: float = SMALL_SCALE) -> Path:
    """A project tree at `dest` with the demo studies at `scale`."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "params").mkdir(exist_ok=True)
    for p in (ROOT / "params").glob("*.yaml"):
        text = p.read_text(encoding="utf-8")
        text = re.sub(r"demo: \{scale: [0-9.]+", f"demo: {{scale: {scale}", text)
        (dest / "params" / p.name).write_text(text, encoding="utf-8")
    for name in ("notebooks", "templates"):
        link = dest / name
        if not link.exists():
            link.symlink_to(ROOT / name, target_is_directory=True)
    return dest


@pytest.fixture(scope="session")
def small_project(tmp_path_factory) -> Path:
    return make_project(tmp_path_factory.mktemp("small-project"))


@pytest.fixture(scope="session")
def small_env(small_project):
    """Environment for processes (kernels) that must see the small project."""
    env = dict(os.environ)
    env["INSIGHT_ROOT"] = str(small_project)
    env.pop("INSIGHT_FINDINGS", None)
    return env


@pytest.fixture
def use_small_project(small_project, monkeypatch):
    monkeypatch.setenv("INSIGHT_ROOT", str(small_project))
    return small_project


@pytest.fixture(scope="session")
def run_notebook(small_project, tmp_path_factory):
    import papermill as pm
    import nbformat

    out_dir = tmp_path_factory.mktemp("executed")

    def run(rel_path: str, study: str = "2024-annual", **parameters):
        src = ROOT / "notebooks" / rel_path
        out = out_dir / (src.stem + f"-{study}.ipynb")
        old = os.environ.get("INSIGHT_ROOT")
        os.environ["INSIGHT_ROOT"] = str(small_project)
        try:
            pm.execute_notebook(str(src), str(out), parameters={"study": study, **parameters},
                                kernel_name="python3", cwd=str(src.parent), progress_bar=False)
        finally:
            if old is None:
                os.environ.pop("INSIGHT_ROOT", None)
            else:
                os.environ["INSIGHT_ROOT"] = old
        return nbformat.read(str(out), as_version=4)

    return run


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared/datasets is absent")
    return SHARED


def notebook_text(nb) -> str:
    """All outputs of an executed notebook as one string (HTML and text)."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            parts.append(str(data.get("text/html", "")))
            parts.append(str(data.get("text/plain", "")))
            parts.append(str(out.get("text", "")))
    return "\n".join(parts)



@pytest.fixture
def empty_project(tmp_path, monkeypatch):
    """An empty project folder (with data/) that the workbook treats as its root, with a fixed key."""
    monkeypatch.setenv("INSIGHT_PII_KEY", "test-key")
    monkeypatch.setenv("INSIGHT_ROOT", str(tmp_path))
    (tmp_path / "data").mkdir()
    return tmp_path

# --- the reliability suite's figures (tests/reliability/): every test counts what it did through the
# `figures` fixture, and the run ends with one line
#   reliability: N faults injected, N bad inputs tried, N reports lost (goal 0), N raw personal values found in outputs (goal 0)
# A test that loses a report or finds a personal value also fails; the line makes the totals visible.
# (Here rather than in tests/reliability/conftest.py: a second module named conftest would shadow this
# one for the tests that import ROOT and friends from it.)

FIGURES = {"faults": 0, "bad_inputs": 0, "reports_lost": 0, "personal_found": 0}
_RAN = []


class Figures:
    def fault(self, n: int = 1) -> None:
        FIGURES["faults"] += n

    def bad_input(self, n: int = 1) -> None:
        FIGURES["bad_inputs"] += n

    def reports_lost(self, n: int) -> None:
        FIGURES["reports_lost"] += n

    def personal_found(self, n: int) -> None:
        FIGURES["personal_found"] += n


@pytest.fixture
def figures() -> Figures:
    _RAN.append(1)
    return Figures()


def figures_line() -> str:
    f = FIGURES
    return (f"reliability: {f['faults']} faults injected, {f['bad_inputs']} bad inputs tried, "
            f"{f['reports_lost']} reports lost (goal 0), {f['personal_found']} raw personal values found in outputs (goal 0)")


def pytest_terminal_summary(terminalreporter):
    if _RAN:
        terminalreporter.write_sep("-", "reliability figures")
        terminalreporter.write_line(figures_line())

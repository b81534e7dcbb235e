"""make help, make new-study: the scaffold validates once filled, never overwrites, refuses bad names."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from insight.params import ParamsError, read_params
from insight.paths import Project
from insight.scaffold import new_study

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def proj(tmp_path) -> Project:
    (tmp_path / "params").mkdir()
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "templates").symlink_to(ROOT / "templates", target_is_directory=True)
    return Project(tmp_path)


def test_new_study_scaffold_is_valid_yaml_with_todos(proj, capsys):
    assert new_study("2025-h1", proj) == 0
    path = proj.params_file("2025-h1")
    text = path.read_text()
    raw = yaml.safe_load(text)
    assert raw["study"]["name"] == "2025-h1" and "TODO" in text
    # as scaffolded it is already structurally valid: the study can be validated and then filled in
    params = read_params(path, proj)
    assert params.data.demo is not None
    assert "make validate STUDY=2025-h1" in capsys.readouterr().out


def test_new_study_refuses_to_overwrite(proj, capsys):
    path = proj.params_file("2025-h1")
    path.write_text("mine")
    assert new_study("2025-h1", proj) == 2
    assert path.read_text() == "mine"
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["../evil", "two words", "UPPER/x"])
def test_new_study_refuses_bad_names(proj, bad):
    assert new_study(bad, proj) == 2
    assert not any(proj.params_dir.iterdir())


def test_make_help_lists_targets():
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True).stdout
    for target in ("setup", "report", "validate", "test", "lab", "new-study", "bench", "clean", "help"):
        assert f"make {target}" in out
    assert "JOBS=" in out and "FORCE=1" in out and "ONLY=" in out


def test_every_notebook_starts_with_a_parameters_cell_and_has_no_outputs():
    import nbformat
    nbs = sorted((ROOT / "notebooks").rglob("*.ipynb"))
    assert nbs
    for path in nbs:
        if ".ipynb_checkpoints" in path.parts:
            continue
        nb = nbformat.read(str(path), as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert "parameters" in code[0].metadata.get("tags", []), f"{path.name}: first code cell is not tagged parameters"
        assert 'study = "2024-annual"' in code[0].source, path.name
        assert all(not c.get("outputs") for c in code), f"{path.name} is committed with outputs"
        assert "insight" in nb.metadata and nb.metadata["insight"].get("title"), f"{path.name}: metadata.insight.title"
        for c in code:
            lines = [l for l in c.source.splitlines() if l.strip() and not l.strip().startswith("#")]
            assert len(lines) <= 20, f"{path.name}: a cell of {len(lines)} lines — move the logic into lib/insight"


def test_a_notebook_runs_as_opened_in_jupyterlab(monkeypatch):
    """No parameter injection, no INSIGHT_ROOT: the kernel starts in the notebook's folder, as in
    `make lab`, and the first cell's default study (the bundled demo) is used."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv("INSIGHT_ROOT", raising=False)
    path = ROOT / "notebooks" / "voc" / "scope_and_sample.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors

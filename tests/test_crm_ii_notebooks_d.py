"""CRM analysis II (issue 9): with only customers and survey answers (no interactions, orders,
subscriptions...), the satisfaction extremes and the CRM capability notebooks still run and
explain what is missing instead of crashing."""
from __future__ import annotations

import re

import pytest

from conftest import notebook_text

STUDY = "crm-ii-minimal"


@pytest.fixture(scope="module")
def minimal_study(small_project):
    from insight.demo import generate

    tables = generate(scale=0.2)
    folder = small_project / "data" / STUDY
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("customers", "survey_responses"):
        tables[name].to_parquet(folder / f"{name}.parquet")
    text = (small_project / "params" / "2024-annual.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^  name: 2024-annual$", f"  name: {STUDY}", text)
    head, _, rest = text.partition("\ndata:\n")
    tail = rest[rest.index("\n\n"):] if "\n\n" in rest else ""
    spec = "".join(f"    {n}: {{path: data/{STUDY}/{n}.parquet}}\n" for n in ("customers", "survey_responses"))
    (small_project / "params" / f"{STUDY}.yaml").write_text(f"{head}\ndata:\n  tables:\n{spec}{tail}", encoding="utf-8")
    return STUDY


def test_extremes_without_crm_tables(minimal_study, run_notebook, tmp_path, monkeypatch):
    monkeypatch.setenv("INSIGHT_FINDINGS", str(tmp_path / "f.json"))
    nb = run_notebook("crm/satisfaction_extremes.ipynb", study=minimal_study)
    text = notebook_text(nb)
    assert "Traceback" not in text
    assert "complaints of the extremes cannot be compared" in text


def test_capability_without_crm_tables(minimal_study, run_notebook, tmp_path, monkeypatch):
    found = check_run_study("crm_capability", minimal_study, run_notebook, tmp_path, monkeypatch)
    assert found["extra"].keys() >= {"identify", "know"}


def check_run_study(name, study, run_notebook, tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("INSIGHT_FINDINGS", str(tmp_path / "f.json"))
    nb = run_notebook(f"crm/{name}.ipynb", study=study)
    text = notebook_text(nb)
    assert "Traceback" not in text and "not measurable" in text
    return json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))[0]

"""Shared checks of the CRM analysis II notebooks (issue 9); the notebook runs are split over
test_crm_ii_notebooks_*.py so that each test module stays fast."""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

from conftest import notebook_text

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ["complaints", "consultations", "contact_evaluation", "satisfaction_extremes", "profitability",
             "crm_capability"]
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def check_committed(name: str) -> None:
    nb = nbformat.read(str(ROOT / "notebooks" / "crm" / f"{name}.ipynb"), as_version=4)
    meta = nb.metadata["insight"]
    assert meta["stage"] == 1 and 50 <= meta["order"] <= 55 and meta["requires"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []) and 'study = "2024-annual"' in code[0].source
    assert all(not c.get("outputs") for c in code)
    assert all(len(c.source.splitlines()) <= 16 for c in code), "notebook cells stay thin"


def check_run(name: str, run_notebook, findings_file: Path, monkeypatch) -> list[dict]:
    """Run the notebook on the small demo study; check its report and return its findings."""
    monkeypatch.setenv("INSIGHT_FINDINGS", str(findings_file))
    nb = run_notebook(f"crm/{name}.ipynb")
    text = notebook_text(nb)
    assert "Traceback" not in text
    assert "(n = " in text
    assert not EMAIL.search(text), "no email address reaches the report"
    streams = [o for c in nb.cells for o in c.get("outputs", [])
               if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    assert not streams, f"warnings printed into the report: {streams[:1]}"
    found = json.loads(findings_file.read_text(encoding="utf-8"))
    assert found and all(f["id"].startswith("crm.") and f["source"] == "crm" for f in found)
    return found

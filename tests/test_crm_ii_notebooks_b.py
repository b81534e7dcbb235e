"""CRM analysis II (issue 9): contact evaluation and satisfaction extremes run on the small demo study."""
from __future__ import annotations

from crm_ii_nbcheck import check_run


def test_contact_evaluation_notebook(run_notebook, tmp_path, monkeypatch):
    found = check_run("contact_evaluation", run_notebook, tmp_path / "f.json", monkeypatch)
    assert {"crm.contacts.coverage", "crm.contacts.multi_unit", "crm.contacts.uncontacted"} <= {f["id"] for f in found}


def test_satisfaction_extremes_notebook(run_notebook, tmp_path, monkeypatch):
    found = check_run("satisfaction_extremes", run_notebook, tmp_path / "f.json", monkeypatch)
    ratio = next(f for f in found if f["id"] == "crm.extremes.complaints")
    assert ratio["value"] > 1.5

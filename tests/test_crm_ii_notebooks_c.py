"""CRM analysis II (issue 9): profitability and the CRM capability scorecard run on the small demo study."""
from __future__ import annotations

from crm_ii_nbcheck import check_run


def test_profitability_notebook(run_notebook, tmp_path, monkeypatch):
    found = check_run("profitability", run_notebook, tmp_path / "f.json", monkeypatch)
    loss = next(f for f in found if f["id"] == "crm.profit.loss_making_segment")
    assert loss["extra"]["focus"] == "smb"


def test_crm_capability_notebook(run_notebook, tmp_path, monkeypatch):
    found = check_run("crm_capability", run_notebook, tmp_path / "f.json", monkeypatch)
    assert 0 <= found[0]["value"] <= 100

"""CRM analysis II (issue 9): the notebooks are committed clean; complaints and consultations run
on the small demo study (the others: test_crm_ii_notebooks_b.py, _c.py)."""
from __future__ import annotations

import pytest

from crm_ii_nbcheck import NOTEBOOKS, check_committed, check_run


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_clean(name):
    check_committed(name)


def test_complaints_notebook(run_notebook, tmp_path, monkeypatch):
    found = check_run("complaints", run_notebook, tmp_path / "f.json", monkeypatch)
    h5 = [f for f in found if f.get("hypothesis") == "H5"]
    assert h5 and h5[0]["evidence"] == "supports"


def test_consultations_notebook(run_notebook, tmp_path, monkeypatch):
    found = check_run("consultations", run_notebook, tmp_path / "f.json", monkeypatch)
    assert {"crm.consultations.answer_time", "crm.consultations.suggestions_implemented"} <= {f["id"] for f in found}

"""CRM analysis I notebooks (issue 8): each runs on the small demo study and shows its key
findings; committed without outputs, with the index metadata the runner needs."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from conftest import notebook_text

NB = Path(__file__).resolve().parent.parent / "notebooks" / "crm"
EXPECT = {
    "product_distribution": ["crm.distribution.h6", "hypothesis H6: supports", "APAC"],
    "retention_churn": ["crm.churn.at_risk_backtest", "crm.retention.revenue", "Kaplan"],
    "upgrade_crosssell": ["crm.crosssell.candidates", "renews"],
    "customer_value": ["crm.value.rfm_top_segment", "crm.value.clv_concentration", "champions",
                       "crm.value.holdout_tracking", "Cumulative repeat purchases", "holdout error"],
    "product_opinions": ["crm.opinions.ratings", "crm.opinions.adoption_ai_assistant", "mid market"],
    "loyalty": ["crm.loyalty.driver", "crm.loyalty.by_segment"],
}


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_notebook_committed_clean(name):
    nb = nbformat.read(str(NB / f"{name}.ipynb"), as_version=4)
    meta = nb.metadata["insight"]
    assert meta["stage"] == 1 and 40 <= meta["order"] <= 45 and meta["requires"]
    assert "parameters" in nb.cells[1].metadata.get("tags", [])
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert sum(1 for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("# ")) == 1


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_notebook_runs_on_demo(run_notebook, name):
    nb = run_notebook(f"crm/{name}.ipynb")
    text = notebook_text(nb)
    for needle in EXPECT[name]:
        assert needle in text, f"{name}: {needle!r} missing from the output"
    assert "Traceback" not in text
    assert "Finding(" not in text                       # no stray reprs of record_finding's return value
    plain = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)
    assert not re.search(r"[\w.+-]+@[\w-]+\.[a-z]{2,}", plain), "an e-mail address reached the report"

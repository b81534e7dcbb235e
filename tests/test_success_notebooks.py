"""The customer-success notebooks (cadence, health, education) run on the small demo study and
record their findings; the other three are in test_success_notebooks_journey.py (each module ~20 s)."""
from __future__ import annotations

import re

import pytest

from conftest import notebook_text

CASES = [
    ("success/review_cadence.ipynb", ["success.missed_checkup_churn"]),
    ("success/health_score.ipynb", ["success.health_score_auc"]),
    ("success/education.ipynb", ["success.education_academy_churn"]),
]


@pytest.mark.parametrize("path,finding_ids", CASES, ids=[c[0].split("/")[1] for c in CASES])
def test_notebook_runs(run_notebook, path, finding_ids):
    nb = run_notebook(path)
    text = notebook_text(nb)
    for fid in finding_ids:
        assert f'data-finding="{fid}"' in text, f"{path} did not record {fid}"
    assert "Traceback" not in text
    # personal data never reaches the report: no e-mail address anywhere in the outputs (images aside)
    plain = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)
    assert not re.search(r"[\w.+-]+@[\w-]+\.[A-Za-z]{2,}", plain)

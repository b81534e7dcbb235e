"""The six customer-success and journey notebooks run on the small demo study and record their findings."""
from __future__ import annotations

import re

import pytest

from conftest import notebook_text

CASES = [
    ("success/review_cadence.ipynb", ["success.missed_checkup_churn"]),
    ("success/health_score.ipynb", ["success.health_score_auc"]),
    ("success/education.ipynb", ["success.education_academy_churn"]),
    ("success/feedback_loop.ipynb", ["success.feedback_cycle_team", "success.feedback_told_team"]),
    ("success/lead_onboarding.ipynb", ["success.trial_conversion_channel"]),
    ("success/journey_funnel.ipynb", ["journey.channel_dropoff", "journey.abandonment_by_segment"]),
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

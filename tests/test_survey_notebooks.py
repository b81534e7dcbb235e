"""The two survey notebooks run end to end on the small demo study (papermill)."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def _needs_data_layer():
    try:
        import insight.data.prepare  # noqa: F401
    except ImportError:
        pytest.skip("the data layer (insight.data.prepare) is not available yet")


def test_fieldwork_notebook_runs(run_notebook, _needs_data_layer):
    from conftest import notebook_text

    nb = run_notebook("voc/survey_fieldwork.ipynb")
    text = notebook_text(nb)
    assert "Cleaning audit" in text and "Weight diagnostics" in text and "Removed respondents" in text
    assert "@" not in text.replace("&#64;", "")   # no email address reaches the report
    assert "Traceback" not in text


def test_results_notebook_runs(run_notebook, _needs_data_layer):
    from conftest import notebook_text

    nb = run_notebook("voc/survey_results.ipynb")
    text = notebook_text(nb)
    assert "Banner table" in text and "<sup class='sig'>" in text.replace('"', "'")
    assert 'data-finding="survey.H1"' in text and 'data-finding="survey.nps"' in text
    assert "Cronbach" in text and "Traceback" not in text

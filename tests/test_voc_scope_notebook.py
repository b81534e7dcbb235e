"""The VOC phase 1 notebook runs on the small demo study and shows what a reviewer needs."""
from __future__ import annotations


import nbformat
import pytest

from conftest import ROOT, notebook_text

NB = "voc/scope_and_sample.ipynb"


def test_notebook_is_committed_clean_with_metadata():
    nb = nbformat.read(str(ROOT / "notebooks" / NB), as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in first.metadata.get("tags", []) and 'study = "2024-annual"' in first.source
    meta = nb.metadata["insight"]
    assert meta["order"] == 10 and meta["requires"] == [] and meta["stage"] == 1
    heads = [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines()
             if line.startswith("# ")]
    assert len(heads) == 1
    # thin notebook: no code cell longer than ~15 lines
    assert max(len(c.source.splitlines()) for c in nb.cells if c.cell_type == "code") <= 15


@pytest.fixture(scope="module")
def executed(run_notebook):
    return run_notebook(NB, study="2024-annual")


@pytest.mark.slow
def test_notebook_runs_and_reports(executed):
    text = notebook_text(executed)
    for needle in ("Study frame", "Question × dimension coverage", "Which method can test which hypothesis",
                   "Interview sample against its targets", "over-represented", "Interview quota grid", "Fieldwork against the plan",
                   "Interview targets against the customer base",
                   "Survey respondents against the targets", "Survey margin of error",
                   "Smallest detectable differences", "Research plan for Q1", "approved", "Fieldwork timeline",
                   "Completed responses needed per group in the next study"):
        assert needle in text, needle
    assert "Traceback" not in text


@pytest.mark.slow
def test_notebook_records_the_planted_sample_warnings(executed):
    text = notebook_text(executed)
    found = set()
    for cell in executed.cells:
        for out in cell.get("outputs", []):
            html = str(out.get("data", {}).get("text/html", ""))
            if 'data-finding="' in html:
                found.add(html.split('data-finding="', 1)[1].split('"', 1)[0])
    assert {"scope.sample.interviews.region", "scope.sample.interviews.customer_status",
            "scope.sample.survey.segment", "scope.survey.moe", "scope.survey.power", "scope.next_study.sample"} <= found
    assert "over-represents North America" in text
    assert "over-represents enterprise" in text
    # no personal data: participants' names never reach the output
    assert "PT001" not in text


MINIMAL = """
study:
  name: bare
  title: "A study with customers only"
  trigger: ad_hoc
  period: {start: 2024-01-01, end: 2024-12-31}
objectives: {why: "Learn", who: "Customers", when: "2024", what: "CRM"}
questions:
  - {id: Q1, text: "Who leaves?", business_goal: "Retention", owner: sales}
hypotheses:
  - id: H1
    question: Q1
    dimension: usage
    statement: "SMB customers churn more."
    quant: {source: crm, measure: churned, group_by: segment, groups: [smb], expected: higher}
data:
  tables:
    customers: {path: data/customers.csv}
"""


@pytest.mark.slow
def test_notebook_on_a_study_without_scope_participants_or_survey(tmp_path, monkeypatch):
    """Missing optional inputs give notes, never a crash."""
    import papermill as pm

    (tmp_path / "params").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "params" / "bare.yaml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "data" / "customers.csv").write_text(
        "customer_id,region,segment,signup_date,status\n"
        "C1,EMEA,smb,2023-02-01,existing\nC2,APAC,enterprise,2023-03-01,churned\nC3,EMEA,mid_market,2024-01-05,existing\n",
        encoding="utf-8")
    for name in ("notebooks", "templates"):
        (tmp_path / name).symlink_to(ROOT / name, target_is_directory=True)
    monkeypatch.setenv("INSIGHT_ROOT", str(tmp_path))
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / NB), str(out), parameters={"study": "bare"}, kernel_name="python3",
                        cwd=str(ROOT / "notebooks" / "voc"), progress_bar=False)
    text = notebook_text(nbformat.read(str(out), as_version=4))
    assert "No execution methods are declared" in text
    assert "no participants table" in text
    assert "No survey sample to check" in text
    assert "plans no survey base" in text
    assert "no hypothesis covers the dimension" in text.lower()
    assert "Research plan for Q1" in text

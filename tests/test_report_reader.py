"""What a reader of a report sees: no setup cells (parameters, injected parameters, imports), dates
that do not wrap, formulas in plain text, ids as labels, and the index's executive summary with links
to the report sections. Fast: no notebook is executed."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from insight.display import finding_anchor, table_html
from insight.index_page import executive_summary
from insight.labels import label_list, labelled, labels_of
from insight.paths import Project
from insight.render import external_references, is_setup_cell, nowrap_dates, render_notebook

ROOT = Path(__file__).resolve().parent.parent
TAGS = re.compile(r"<[^>]+>")


def _text(markup: str) -> str:
    return html.unescape(TAGS.sub("", markup))


def _executed_notebook():
    v4 = nbformat.v4
    cells = [
        v4.new_markdown_cell("# Title\n\nWhat this report shows.\n\n## A section"),
        v4.new_code_cell('study = "2024-annual"', metadata={"tags": ["parameters"]}),
        v4.new_code_cell('# Parameters\nstudy = "small-test"\n', metadata={"tags": ["injected-parameters"]}),
        v4.new_code_cell("from insight import load_study\nstudy = load_study(study)"),       # setup: shows nothing
        v4.new_code_cell("show_table(t)", outputs=[v4.new_output(
            "display_data", data={"text/html": '<figure class="insight-figure table-figure">RESULT-TABLE</figure>'})]),
        v4.new_code_cell("prepare()", outputs=[v4.new_output(
            "error", ename="ValueError", evalue="SETUP-FAILED", traceback=["ValueError: SETUP-FAILED"])]),
    ]
    return v4.new_notebook(cells=cells)


def test_setup_cells_never_reach_the_reader(tmp_path):
    nb = _executed_notebook()
    assert [is_setup_cell(c) for c in nb.cells] == [False, True, True, True, False, False]
    out = render_notebook(nb, tmp_path / "r.html", Project(ROOT), {"title": "T", "study": "s"})
    body = out.read_text(encoding="utf-8")
    text = _text(body)
    assert "2024-annual" not in text and "small-test" not in text and "load_study" not in text
    assert "RESULT-TABLE" in body and "SETUP-FAILED" in text          # a failed setup cell shows its error
    assert body.count('class="code-fold"') == 2                          # the result cell and the failed one
    assert not external_references(body)
    assert len(nb.cells) == 6                                            # the executed notebook is left whole


def test_dates_never_wrap_and_show_without_midnight():
    df = pd.DataFrame({"customer": ["a", "b"], "due": pd.to_datetime(["2024-03-31", "2024-04-01"]),
                       "renews": ["2025-01-31", "2025-02-28"], "n": [1, 2]})
    markup = table_html(df, "Due dates", index=False)
    assert "2024-03-31" in markup and "00:00:00" not in markup
    styled = {col for rule in re.finditer(r"([^{}]+)\{([^}]*)\}", markup) if "white-space: nowrap" in rule.group(2)
              for col in re.findall(r"_row\d+_col(\d+)", rule.group(1))}
    assert {"1", "2"} <= styled and "0" not in styled                     # the two date columns, not the names
    timed = table_html(pd.DataFrame({"at": pd.to_datetime(["2024-03-31 14:05"])}), "Times", index=False)
    assert "2024-03-31 14:05" in timed
    # quarters as period_label writes them ('2024Q1') are dates too: never broken inside the label
    from insight.crm.attention_base import period_label
    quarters = pd.DataFrame({"period": period_label(pd.Series(pd.to_datetime(["2024-02-03", "2024-11-30"]))),
                             "contacts": [3, 4]})
    assert quarters["period"].tolist() == ["2024Q1", "2024Q4"]
    markup = table_html(quarters, "Contacts per quarter", index=False)
    nowrap = {col for rule in re.finditer(r"([^{}]+)\{([^}]*)\}", markup) if "white-space: nowrap" in rule.group(2)
              for col in re.findall(r"_row\d+_col(\d+)", rule.group(1))}
    assert "0" in nowrap and "1" not in nowrap


def test_dates_in_prose_stay_on_one_line():
    markup = '<p title="2024-01-01">flagged on 2024-07-01, churned by 2024-12-31.</p><style>/* 2024-02-02 */</style>'
    out = nowrap_dates(markup)
    assert out == ('<p title="2024-01-01">flagged on <span class="date">2024-07-01</span>, churned by '
                   '<span class="date">2024-12-31</span>.</p><style>/* 2024-02-02 */</style>')
    assert re.search(r"\.date[^{]*\{[^}]*white-space: nowrap", (ROOT / "templates/report/static/insight.css").read_text())


def test_no_latex_in_report_markdown():
    """Formulas are written in plain text and Unicode (Σ, ÷, ×), never LaTeX: reports carry no math
    renderer (no script may run in them, see insight.render.external_references)."""
    latex = re.compile(r"\$[^$\n]+\$|\\\(|\\\[|\\(?:frac|sum|sqrt|cdot|times|le|ge)\b")
    found = []
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown" and latex.search("".join(cell["source"])):
                found.append(path.name)
    assert not found, f"LaTeX in markdown of {found}: write the formula in plain text (e.g. Σ MRR at end ÷ Σ MRR at start)"


def test_ids_become_labels_in_every_area():
    df = pd.DataFrame({"owner": ["csm_ana", "csm_ben"], "reviews due": [3, 4]},
                      index=pd.Index(["mid_market", "smb"], name="segment"))
    out = labelled(df)
    assert out["owner"].tolist() == ["CSM ana", "CSM ben"] and out.index.tolist() == ["mid market", "SMB"]
    assert list(out.columns) == ["owner", "reviews due"]                  # columns are left as they are
    assert labels_of(["onboarding_praise", "price_concern_long_text"], width=12) == ["onboarding\npraise",
                                                                                     "price\nconcern long\ntext"]
    assert label_list("training_gap, price_concern") == "training gap, price concern"
    assert label_list(None) == ""


def _finding(id, notebook, statement, **kw):
    return {"id": id, "notebook": notebook, "statement": statement, "severity": kw.pop("severity", "info"),
            "hypothesis": kw.pop("hypothesis", None), "evidence": kw.pop("evidence", None), "extra": kw.pop("extra", {}),
            "p_value": kw.pop("p_value", None), "base": kw.pop("base", None), "metric": kw.pop("metric", None),
            "value": kw.pop("value", None)}


def test_executive_summary_links_every_item_to_its_section():
    html_of = {"crm/churn": "crm-churn.html", "voc/survey": "voc-survey.html", "voc/synthesis": "voc-synthesis.html"}
    findings = [
        _finding("crm.churn.ent", "crm/churn", "Enterprise churn doubled", severity="key", hypothesis="H1",
                 evidence="supports", p_value=0.001, base=800, metric="churn rate", value=0.2),
        _finding("voc.survey.h1", "voc/survey", "Enterprise rate onboarding lower", hypothesis="H1",
                 evidence="supports", p_value=0.03, base=400),
        _finding("crm.churn.smb", "crm/churn", "SMB churn flat", p_value=0.4, base=900),
        _finding("crm.churn.other", "crm/churn", "Third churn finding", severity="key", p_value=0.2),
        _finding("data.warn", "crm/churn", "Missing dates", severity="warning"),
        _finding("synthesis.verdict.H1", "voc/synthesis", "2 supporting measurements", hypothesis="H1",
                 extra={"verdict": "supported", "hypothesis_statement": "Enterprise onboarding lags"}),
        _finding("synthesis.yoy.nps", "voc/synthesis", "NPS fell 15 points", p_value=0.01, base=1200),
        _finding("synthesis.action.1", "voc/synthesis", "Fix onboarding", hypothesis="H1",
                 extra={"owner": "customer success", "due": "2025-03-31", "status": "agreed", "insight": "x"}),
    ]
    previous = [_finding("crm.churn.ent", "crm/churn", "Enterprise churn", metric="churn rate", value=0.1)]
    ex = executive_summary(findings, previous, html_of, "voc-synthesis.html", titles={"crm/churn": "Churn"})
    v = ex["verdicts"][0]
    assert v["verdict"] == "supported" and v["statement"] == "Enterprise onboarding lags"
    # strongest evidence: the smaller p-value of the two supporting findings, with its base
    assert v["evidence"]["statement"] == "Enterprise churn doubled"
    assert v["evidence"]["detail"] == "n = 800 · p = 0.001"
    assert v["evidence"]["link"] == "crm-churn.html#" + finding_anchor("crm.churn.ent")
    assert v["evidence"]["where"] == "Churn"
    # key findings first, then those bearing on a hypothesis; at most two per report; warnings, synthesis
    # records and the findings already shown as a verdict's evidence left out
    assert [t["statement"] for t in ex["top"]] == ["Third churn finding", "Enterprise rate onboarding lower", "SMB churn flat"]
    assert [c["statement"] for c in ex["changes"]] == ["NPS fell 15 points", "Churn rate: 0.1 before, 0.2 now"]
    assert ex["changes"][0]["link"] == "voc-synthesis.html#Year-over-year"
    assert ex["actions"][0]["action"] == "Fix onboarding" and ex["actions"][0]["link"] == "voc-synthesis.html#Action-plan"


@pytest.mark.parametrize("fid", ["crm.churn.enterprise", "a b/c"])
def test_finding_anchor_is_an_html_id(fid):
    assert re.fullmatch(r"finding-[\w.-]+", finding_anchor(fid))


def test_pdf_says_what_to_install_when_chromium_is_missing(monkeypatch, tmp_path):
    from insight.pdf import PdfError, build_pdf
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("INSIGHT_CHROMIUM", raising=False)
    with pytest.raises(PdfError, match=r"apt-get install chromium.*HTML reports do not need it"):
        build_pdf("2024-annual", Project(ROOT))


def test_report_exporter_gives_the_page_nbconvert_would(tmp_path):
    """render.exporter skips HTMLExporter's closing BeautifulSoup pass (alt text for images without it,
    tabindex inside .jp-Notebook) and the lab template's bleach pass over highlighted code: on a
    notebook with prose, hostile code, a table, an image with and without alt text, the page is the
    same document as stock nbconvert's with the same template (compared after the same parse), and
    the hostile code stays text."""
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter

    from insight.render import _PIXEL, exporter

    v4 = nbformat.v4
    hostile = 'x = "</div><script>alert(1)</script>" & 1 < 2  # <img src=x onerror=alert(2)>'
    nb = v4.new_notebook(cells=[
        v4.new_markdown_cell("# Title\n\nProse with *emphasis*, a date 2024-03-31 and a [link](https://example.org)."),
        v4.new_code_cell(hostile, outputs=[v4.new_output(
            "display_data", data={"text/html": '<table><tr><td class="n">1 &amp; 2</td></tr></table>'})]),
        v4.new_code_cell("fig", outputs=[v4.new_output("display_data", data={"image/png": _PIXEL, "text/plain": "fig"})]),
        v4.new_code_cell("show_figure(f)", outputs=[v4.new_output(
            "display_data", data={"text/html": f'<figure><img alt="A chart" src="data:image/png;base64,{_PIXEL}"/></figure>'})]),
    ])
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    ours = exporter(Project(ROOT))
    stock = HTMLExporter(config=ours.config)
    assert type(ours) is not HTMLExporter and isinstance(ours, HTMLExporter)
    resources = {"insight": {"title": "t"}, "metadata": {"name": "t"}}
    mine, _ = ours.from_notebook_node(nb, resources=dict(resources))
    theirs, _ = stock.from_notebook_node(nb, resources=dict(resources))
    assert str(BeautifulSoup(mine, features="html.parser")) == theirs
    page = BeautifulSoup(mine, features="html.parser")
    assert not page.find_all("script") and not page.find_all(attrs={"onerror": True})   # the code stays text
    assert hostile in page.get_text()
    assert [i.get("alt") for i in page.find_all("img")] == ["No description has been provided for this image", "A chart"]

"""Hostile free text (issue 15): <script>, event handlers, javascript: links, Markdown and LaTeX that
would be interpreted, right-to-left overrides, very long words. Data text reaches a report through
insight.display (tables, notes, findings, captions) and findings: it must stay inert text, be shown
in the order it is written, and not break the page layout (checked in headless Chromium)."""
from __future__ import annotations

import re

import matplotlib
import pandas as pd
import pytest

from insight.display import esc, figure_html, setup_plots, table_html
from insight.findings import Finding, record_finding
from insight.paths import Project
from insight.render import external_references, render_notebook

LONG = "x" * 3000
HOSTILE = ["<script>alert('pwned')</script>", '<img src=x onerror="alert(1)">', '<a href="javascript:alert(1)">click</a>',
           "[click me](javascript:alert(1))", "![t](https://evil.example/track.png)", "$\\frac{1}{0}$ and $$x^2$$",
           "\\(x\\) **bold** _it_", "invoice\u202egnp.exe", "\u2067isolated\u2069 text", "https://example.com/" + LONG]


def hostile_html() -> str:
    df = pd.DataFrame({"customer": [f"C{i}" for i in range(len(HOSTILE))], "comment": HOSTILE,
                       "score": range(len(HOSTILE))}).set_index("customer")
    parts = [table_html(df, "Comments <b>as written</b>", base=len(df), note=HOSTILE[0])]
    from insight import display
    captured = []
    orig = display._emit
    display._emit = captured.append
    try:
        display.show_note(HOSTILE[1], title=HOSTILE[2])
        display.show_finding(Finding(id="x.1", statement=HOSTILE[3] + HOSTILE[7], notebook="t", metric=HOSTILE[5], value=1))
    finally:
        display._emit = orig
    return "".join(parts + captured)


def test_display_keeps_hostile_text_inert(figures):
    figures.bad_input(len(HOSTILE))
    out = hostile_html()
    assert external_references(out) == []
    assert "<script" not in out.lower() and "<img" not in out.lower() and "<a " not in out.lower()
    assert "&lt;script&gt;" in out and "javascript:alert(1)" in out   # shown, as text
    assert "\u202e" not in out and "\u2067" not in out and "invoicegnp.exe" in out
    assert "overflow-wrap: anywhere" in out


def test_findings_lose_reordering_controls(monkeypatch, tmp_path):
    monkeypatch.delenv("INSIGHT_FINDINGS", raising=False)
    f = record_finding("t.bidi", "Top complaint: invoice\u202egnp.exe", show=False)
    assert f.statement == "Top complaint: invoicegnp.exe"
    assert esc("a\u202eb<") == "ab&lt;"


def test_dollar_signs_in_chart_labels_are_not_mathematics(figures):
    """'$\\frac{1}{0}$' or 'Plan $5 vs $10' as a category name: without text.parse_math off, matplotlib
    parses it as mathtext (a ValueError for a bad expression, silently changed text otherwise)."""
    import matplotlib.pyplot as plt
    setup_plots()
    assert matplotlib.rcParams["text.parse_math"] is False
    figures.bad_input(2)
    fig, ax = plt.subplots()
    ax.bar(["$\\frac{1}{0", "Plan $5 vs $10"], [1, 2])
    ax.set_title("$\\undefinedcommand{x}$")
    html = figure_html(fig, "Plans by revenue", base=2)
    assert html.startswith('<figure class="insight-figure chart-figure"><img alt="Plans by revenue"')


@pytest.mark.slow
def test_a_rendered_report_with_hostile_text_stays_offline_and_in_layout(tmp_path, project_root, figures):
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    nb = new_notebook()
    cell = new_code_cell("show_table(df, ...)")
    cell.outputs = [new_output("display_data", data={"text/html": hostile_html(), "text/plain": "table"})]
    nb.cells = [new_markdown_cell("# Comments\n\n## Verbatims"), cell]
    out = tmp_path / "report.html"
    render_notebook(nb, out, Project(project_root), {"title": "Comments " + HOSTILE[0], "study": "toy",
                                                     "findings": [{"statement": HOSTILE[7], "severity": "key"}]})
    text = out.read_text(encoding="utf-8")
    figures.bad_input(len(HOSTILE))
    assert external_references(text) == []
    assert "\u202e" not in text and not re.search(r"<script\b", text, re.I)

    from debian import ensure_debian
    from playwright.sync_api import sync_playwright
    chromium = ensure_debian("chromium", "chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            dialogs = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(out.as_uri(), wait_until="load")
            page_width = page.evaluate("document.documentElement.scrollWidth")
            table_width = page.evaluate("document.querySelector('table.insight-table').getBoundingClientRect().width")
        finally:
            browser.close()
    assert not dialogs, dialogs   # no alert() ran
    assert page_width <= 1000 and table_width <= 1000, (page_width, table_width)

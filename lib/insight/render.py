"""Executed notebook -> the reviewer's HTML, with our nbconvert template (templates/report)."""
from __future__ import annotations

import html
import os
import re
import sys
from pathlib import Path

from insight.paths import Project

_TEXT = re.compile(r">([^<]+)<")
_DATE = re.compile(r"(?<![\w-])(\d{4}-\d{2}-\d{2})(?![\w-])")
_RAW = re.compile(r"<(style|script|pre|textarea)\b.*?</\1>", re.S | re.I)
_HEADING = re.compile(r'<h([23]) id="([^"]+)"[^>]*>(.*?)</h\1>', re.S)
_TAGS = re.compile(r"<[^>]+>")
_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt\s*=)([^>]*?)\s*(/?)>", re.I)


def _toc(body: str) -> str:
    main_start = body.find("<main>")
    items = []
    for m in _HEADING.finditer(body, main_start if main_start >= 0 else 0):
        level, anchor, inner = m.group(1), m.group(2), m.group(3)
        if 'class="no-toc"' in m.group(0):
            continue
        text = html.unescape(_TAGS.sub("", inner)).rstrip("¶").strip()
        items.append(f'<li class="toc-h{level}"><a href="#{html.escape(anchor)}">{html.escape(text)}</a></li>')
    if not items:
        return ""
    return "<h2 class=\"no-toc\">Contents</h2><ol>" + "".join(items) + "</ol>"


def nowrap_dates(markup: str) -> str:
    """Every ISO date in the text of a page (findings, notes, prose) kept on one line: wrapped in
    <span class="date"> (white-space: nowrap in the stylesheet). Tags, attributes, styles and code
    are left as they are."""
    def text(m: re.Match) -> str:
        return ">" + _DATE.sub(r'<span class="date">\1</span>', m.group(1)) + "<"

    out, last = [], 0
    for raw in _RAW.finditer(markup):
        out.append(_TEXT.sub(text, markup[last:raw.start()]))
        out.append(raw.group(0))
        last = raw.end()
    out.append(_TEXT.sub(text, markup[last:]))
    return "".join(out)


_EXPORTERS: dict[str, object] = {}


def exporter(project: Project):
    """The report's HTMLExporter for a project, built once per process: its Jinja templates are
    compiled on the first notebook (about 0.2 s) and reused for the next ones (Jinja still reloads a
    template whose file changed)."""
    key = str(project.templates_dir)
    if key not in _EXPORTERS:
        _EXPORTERS[key] = _new_exporter(project)
    return _EXPORTERS[key]


def skip_iri_grammars() -> None:
    """Let nbformat's jsonschema start without rfc3987_syntax. jsonschema imports that package when it
    is installed (jupyter-events asks for it, for JupyterLab) to check the "iri" formats of JSON
    schemas, and it compiles 38 lark grammars as it is imported: 1.3 of the 2.6 CPU seconds the
    runner spends importing papermill and nbconvert, on the cores that prepare the data. Notebook
    validation never checks formats. Marked as absent in this process (and the workers it forks)
    unless it was imported already; kernels and JupyterLab are not touched."""
    sys.modules.setdefault("rfc3987_syntax", None)


_PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="


def warm_up(project: Project) -> None:
    """Import papermill and nbconvert and compile the report template by rendering a tiny notebook:
    the runner does this while the data are prepared, so that every worker it forks starts with
    them (instead of each paying 3-4 s before its first notebook). Best effort: a failure here only
    means the workers do it themselves."""
    skip_iri_grammars()
    try:
        import nbformat
        import papermill  # noqa: F401 - imported for the workers that are forked after this

        nb = nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_markdown_cell("## Warm-up\n\nA *table*, <b>a date</b> 2024-01-01.\n\n- a list"),
            nbformat.v4.new_code_cell("x = 1  # code", outputs=[nbformat.v4.new_output(
                "display_data", data={"text/html": "<table><tr><td>1</td></tr></table>", "text/plain": "1",
                                      "image/png": _PIXEL})])])
        exporter(project).from_notebook_node(nb, resources={"insight": {"title": "warm-up"},
                                                            "metadata": {"name": "warm-up"}})
    except Exception:  # noqa: BLE001
        pass


def _report_exporter_class():
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class ReportExporter(HTMLExporter):
        """nbconvert's HTMLExporter without its last step: a BeautifulSoup re-parse of the whole page
        (html.parser over every embedded PNG, about half of the rendering time) that adds alt text to
        images without it and a tabindex to cells inside a .jp-Notebook element. The report template
        has no .jp-Notebook; the alt text is added here by a pattern over <img> tags (an analyst's
        plt.show() has none; our figures always do). tests/test_report_reader.py checks that the page
        is the same document as stock nbconvert's. The rest is HTMLExporter.from_notebook_node of the
        pinned nbconvert."""

        def from_notebook_node(self, nb, resources=None, **kw):
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            self.register_filter("highlight_code", self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            body, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return _IMG_WITHOUT_ALT.sub(r'<img\1 alt="No description has been provided for this image"\2>', body), resources

    return ReportExporter


def _new_exporter(project: Project):
    from traitlets.config import Config

    c = Config()
    c.HTMLExporter.extra_template_basedirs = [str(project.templates_dir)]
    c.HTMLExporter.template_name = "report"
    c.HTMLExporter.exclude_input_prompt = True
    c.HTMLExporter.exclude_output_prompt = True
    c.HTMLExporter.embed_images = True
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = {"remove-cell", "remove_cell"}
    c.TagRemovePreprocessor.remove_input_tags = {"remove-input", "remove_input"}
    if os.environ.get("INSIGHT_STOCK_EXPORTER") == "1":   # nbconvert's own HTMLExporter (make bench --ablation)
        from nbconvert import HTMLExporter
        return HTMLExporter(config=c)
    return _report_exporter_class()(config=c)


# papermill's parameters cell (the notebook's defaults, e.g. study = "2024-annual") and the cell it
# injects with the run's values: plumbing, never shown to a reader
SETUP_TAGS = {"parameters", "injected-parameters"}


def is_setup_cell(cell) -> bool:
    """A cell a reader never sees: the parameters cells, and any code cell that displays nothing
    (imports, loading the study, preparing frames). A setup cell that failed carries its error
    output, so it is shown."""
    if cell.get("cell_type") != "code":
        return False
    tags = set(cell.get("metadata", {}).get("tags", []) or [])
    return bool(tags & SETUP_TAGS) or not cell.get("outputs")


def reader_cells(nb):
    """A copy of the notebook without its setup cells (is_setup_cell): what a report shows."""
    import copy

    out = copy.copy(nb)
    out.cells = [c for c in nb.cells if not is_setup_cell(c)]
    return out


def _plain(value):
    """The header and footer values without text-reordering controls (insight.display.plain_text)."""
    from insight.display import plain_text
    if isinstance(value, str):
        return plain_text(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def render_notebook(nb, out_html: Path, project: Project, meta: dict) -> Path:
    """Render an executed notebook (path or nbformat node) to `out_html`. `meta` fills the header and
    the provenance footer (title, study, findings, fingerprints, packages, commit, ...)."""
    import nbformat

    if not hasattr(nb, "cells"):
        nb = nbformat.read(str(nb), as_version=4)
    exp = exporter(project)
    meta = _plain(meta)
    body, _ = exp.from_notebook_node(reader_cells(nb), resources={"insight": meta, "metadata": {"name": meta.get("title", "report")}})
    body = nowrap_dates(body.replace("<!--INSIGHT-TOC-->", _toc(body), 1))
    from insight.safety import atomic_write
    return atomic_write(out_html, body)


_EXTERNAL = [
    (re.compile(r"<script\b", re.I), "a <script> element"),
    (re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?(?!#)", re.I), "a <link> to another file"),
    (re.compile(r"\b(?:src|href|poster|data)\s*=\s*[\"']?\s*(?:https?:)?//", re.I), "an attribute loading a URL"),
    (re.compile(r"url\(\s*[\"']?\s*(?:https?:)?//", re.I), "a CSS url() to the network"),
    (re.compile(r"@import\b", re.I), "a CSS @import"),
    (re.compile(r"<(?:iframe|object|embed)\b", re.I), "an embedded frame/object"),
    (re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I), "an inline event handler (script)"),
    (re.compile(r"<[a-z][^>]*javascript:", re.I), "a javascript: URL"),   # in a tag (as text it is inert)
]


def external_references(html_text: str) -> list[str]:
    """Everything in a report that would load or run something from outside the file.
    Plain links a reader may click (<a href="https://...">) are allowed; loads are not."""
    found = []
    for pattern, what in _EXTERNAL:
        for m in pattern.finditer(html_text):
            snippet = html_text[max(0, m.start() - 40): m.end() + 60].replace("\n", " ")
            if what == "an attribute loading a URL" and re.search(r"<a\b[^>]*$", html_text[max(0, m.start() - 300): m.start()]):
                continue  # a clickable hyperlink, not a load
            found.append(f"{what}: …{snippet}…")
    return found

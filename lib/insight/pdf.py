"""The whole study as one PDF, for people who print or archive: reports/<study>/<study>.pdf.

Made offline from the same HTML reports: Debian's chromium prints each page (driven through
playwright; the report stylesheet's @media print rules hide code folds, start sections on a new page
and keep table rows and figures whole), and pypdf joins the pages into one file with one bookmark
per report, in the index page's order (the index first). Network requests are refused, so the PDF
shows exactly what the offline HTML shows. `make report` never needs chromium; this step says what
to install when it is missing.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from insight.paths import Project

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


class PdfError(RuntimeError):
    """The PDF cannot be made: says why and what to do."""


def find_chromium() -> str | None:
    """INSIGHT_CHROMIUM, else the first of chromium / chromium-browser / google-chrome on PATH."""
    env = os.environ.get("INSIGHT_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    return next((p for p in map(shutil.which, CANDIDATES) if p), None)


def study_pages(project: Project, study: str) -> list[tuple[str, Path]]:
    """(bookmark title, HTML file) of the study in reading order: the index page, then every report
    the index lists with a rendered file (failed notebooks keep their last good report)."""
    report_dir = project.report_dir(study)
    manifest_path = report_dir / "manifest.json"
    index = report_dir / "index.html"
    if not manifest_path.exists() or not index.exists():
        raise PdfError(f"{report_dir} has no rendered study (index.html, manifest.json). "
                       f"Fix: run `make report STUDY={study}` first.")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    entries = sorted(manifest.get("notebooks", {}).items(),
                     key=lambda kv: (kv[1].get("stage", 1), kv[1].get("order", 100), kv[0]))
    pages = [("Executive summary and contents", index)]
    for name, e in entries:
        if e.get("html") and (report_dir / e["html"]).exists():
            pages.append((e.get("title") or name, report_dir / e["html"]))
    return pages


def print_pages(pages: list[tuple[str, Path]], out_dir: Path, chromium: str) -> list[Path]:
    """Each page printed to its own PDF in out_dir (A4, backgrounds kept, print stylesheet)."""
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:"))
                          else route.abort())
            page = context.new_page()
            for i, (_, html) in enumerate(pages):
                page.goto(html.resolve().as_uri(), wait_until="load")
                target = out_dir / f"{i:03d}.pdf"
                page.pdf(path=str(target), format="A4", print_background=True, prefer_css_page_size=True,
                         margin={"top": "16mm", "bottom": "16mm", "left": "14mm", "right": "14mm"})
                out.append(target)
        finally:
            browser.close()
    return out


def merge(parts: list[Path], titles: list[str], out_pdf: Path, title: str) -> Path:
    """One PDF of `parts` with a top-level bookmark per part (at its first page), written atomically."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for part, name in zip(parts, titles):
        writer.append(str(part), outline_item=name, import_outline=False)
    writer.add_metadata({"/Title": title, "/Creator": "customer-insight workbook"})
    writer.page_mode = "/UseOutlines"
    tmp = out_pdf.with_name(out_pdf.name + ".tmp")
    with open(tmp, "wb") as fh:
        writer.write(fh)
    tmp.replace(out_pdf)
    return out_pdf


def build_pdf(study: str, project: Project | None = None, out: Path | None = None) -> Path:
    """reports/<study>/<study>.pdf from the rendered study; raises PdfError with the fix."""
    project = project or Project.find()
    chromium = find_chromium()
    if not chromium:
        raise PdfError("The study PDF is printed by Debian's chromium, which is not installed "
                       "(looked for chromium, chromium-browser, google-chrome on PATH and INSIGHT_CHROMIUM). "
                       "Fix: apt-get install chromium (as root), or set INSIGHT_CHROMIUM to a Chromium binary. "
                       "The HTML reports do not need it.")
    pages = study_pages(project, study)
    out = out or project.report_dir(study) / f"{study}.pdf"
    try:
        from insight.params import load_params
        title = load_params(study, project).study.title
    except Exception:  # noqa: BLE001 - a title is a nicety; the PDF is made all the same
        title = study
    with tempfile.TemporaryDirectory(prefix="insight-pdf-") as tmp:
        parts = print_pages(pages, Path(tmp), chromium)
        return merge(parts, [t for t, _ in pages], out, f"{title} ({study})")

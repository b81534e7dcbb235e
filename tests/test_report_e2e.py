"""The whole demo study rendered on a small scale: every notebook runs, reports are offline and
self-contained, no personal data from the inputs appears, hostile text stays text, and the index
and a report open in headless Chromium with no console error and no network request."""
from __future__ import annotations

import html as html_lib
import os
import re
from pathlib import Path

import pytest

from debian import ensure_debian

from insight.paths import Project
from insight.render import external_references
from insight.runner import RunOptions, run_report

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test-output"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
PHONE_AFTER = re.compile(r"call me back on ([+\d][\d ()-]{6,}\d)")  # how the demo embeds phone numbers

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def rendered(small_project):
    """Render 2023-annual then 2024-annual (which compares with it) on the small demo."""
    os.environ["INSIGHT_ROOT"] = str(small_project)
    try:
        project = Project(small_project)
        codes = {s: run_report(s, RunOptions(jobs=2, quiet=False), project) for s in ("2023-annual", "2024-annual")}
    finally:
        os.environ.pop("INSIGHT_ROOT", None)
    return project, codes


def _manifest(project, study):
    import json
    return json.loads((project.report_dir(study) / "manifest.json").read_text())


def test_every_notebook_renders(rendered):
    project, codes = rendered
    m = _manifest(project, "2024-annual")["notebooks"]
    failed = {k: v.get("error") for k, v in m.items() if v["status"] == "failed"}
    assert not failed, failed
    assert codes["2024-annual"] == 0 and codes["2023-annual"] == 0
    assert all(v["status"] == "ok" for v in m.values()), {k: v["status"] for k, v in m.items()}
    assert len(m) >= 2


def _htmls(project):
    return sorted(project.reports_dir.rglob("*.html"))


def test_reports_are_offline_and_script_free(rendered):
    project, _ = rendered
    htmls = _htmls(project)
    assert htmls
    for html in htmls:
        text = html.read_text(encoding="utf-8")
        assert not external_references(text), (html.name, external_references(text)[:3])
        # no parameters cell (the notebook's default study = "2024-annual", nor the injected one) reaches a reader
        assert 'study = "' not in html_lib.unescape(re.sub(r"<[^>]+>", "", text)), html.name
        assert html.stat().st_size < 5 * 1024 * 1024, f"{html.name} is over 5 MB"


def test_no_raw_personal_data_in_reports(rendered):
    """Every email and phone number in the generated inputs is absent from every HTML report."""
    project, _ = rendered
    from insight.demo import generate
    from insight.params import load_params
    spec = load_params("2024-annual", project).data.demo
    tables = generate(scale=spec.scale, seed=spec.seed)
    from insight.data.schema import TABLES
    needles = set()
    for name, t in tables.items():
        personal = [c.name for c in TABLES[name].columns if c.personal and c.name in t.columns]
        for col in personal:
            needles |= {str(v) for v in t[col].dropna().unique() if len(str(v)) > 5}
        for col in t.columns:  # any text column, including survey open ends outside the schema
            if t[col].dtype == object or str(t[col].dtype).startswith("str"):
                texts = t[col].dropna().astype(str)
                needles |= set(EMAIL.findall(" ".join(texts)))
                needles |= {m.strip(" .") for m in PHONE_AFTER.findall(" ".join(texts))}
    assert len(needles) > 50
    for html in _htmls(project):
        text = html.read_text(encoding="utf-8")
        leaked = [n for n in needles if n in text]
        assert not leaked, f"{html.name} shows personal data: {leaked[:5]}"


def _chromium() -> str:
    return ensure_debian("chromium", "chromium")


def test_index_and_report_in_headless_chromium(rendered):
    project, _ = rendered
    from playwright.sync_api import sync_playwright
    OUT.mkdir(exist_ok=True)
    report_dir = project.report_dir("2024-annual")
    pages = [report_dir / "index.html"]
    m = _manifest(project, "2024-annual")["notebooks"]
    pages += [report_dir / e["html"] for e in m.values() if e.get("html")][:2]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            for page_path in pages:
                page = browser.new_page(viewport={"width": 1200, "height": 900})
                errors, requests = [], []
                page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.on("request", lambda req: requests.append(req.url))
                page.goto(page_path.as_uri(), wait_until="load")
                assert page.title()
                if page_path.name != "index.html":
                    folds = page.locator("details.code-fold")
                    if folds.count():
                        assert not folds.first.evaluate("d => d.open")
                        folds.first.locator("summary").click()
                        assert folds.first.evaluate("d => d.open")
                page.screenshot(path=str(OUT / f"browser-{page_path.stem}.png"), full_page=False)
                external = [u for u in requests if not u.startswith(("file://", "data:"))]
                assert not errors, f"{page_path.name}: console errors {errors}"
                assert not external, f"{page_path.name}: network requests {external}"
                page.close()
        finally:
            browser.close()


def test_every_report_reads_well_at_desktop_and_phone_width(rendered):
    """Every report of the demo study and its index at 1280 px and 390 px (a phone): the page body never
    scrolls sideways, no console error, no network request, every figure and table states its base."""
    from browser_check import read_study
    project, _ = rendered
    problems = read_study(project.report_dir("2024-annual"), "demo")
    assert not problems, "\n".join(problems)


def test_study_pdf_has_a_bookmark_per_report(rendered):
    """make pdf: one file, the index first, one top-level bookmark per report at its first page, text
    that can be extracted (searchable, copyable), and no folded code printed."""
    from pypdf import PdfReader
    from insight.pdf import build_pdf, study_pages
    project, _ = rendered
    os.environ["INSIGHT_CHROMIUM"] = _chromium()
    try:
        out = build_pdf("2024-annual", project)
    finally:
        os.environ.pop("INSIGHT_CHROMIUM", None)
    pages = study_pages(project, "2024-annual")
    reader = PdfReader(str(out))
    top = [o for o in reader.outline if not isinstance(o, list)]
    assert [o.title for o in top] == [t for t, _ in pages]
    starts = [reader.get_destination_page_number(o) for o in top]
    assert starts == sorted(starts) and len(set(starts)) == len(starts) and starts[0] == 0
    assert len(reader.pages) >= len(pages)
    first = reader.pages[0].extract_text()
    assert "2024 annual customer study" in first and "Executive summary" in first
    churn = reader.pages[starts[[t for t, _ in pages].index("Retention and churn")]].extract_text()
    assert "Retention and churn" in churn and "Show code" not in churn


def _findings(project, study):
    import json
    return {f["id"]: f for f in json.loads((project.report_dir(study) / "findings.json").read_text())}


def test_synthesis_verdicts_match_planted_effects(rendered):
    """H1 (enterprise onboarding gap) is planted true; H3 (smb value gap) is planted false."""
    project, _ = rendered
    f = _findings(project, "2024-annual")
    assert f["synthesis.verdict.H1"]["extra"]["verdict"] == "supported"
    assert f["synthesis.verdict.H3"]["extra"]["verdict"] in ("rejected", "not_enough_evidence")
    assert any(k.startswith("synthesis.summary.") for k in f)
    index = (project.report_dir("2024-annual") / "index.html").read_text()
    assert "Executive summary" in index and "Hypothesis verdicts" in index


def test_say_do_gap_and_year_over_year(rendered):
    project, _ = rendered
    f = _findings(project, "2024-annual")
    gap = f["synthesis.say_do.promoters_churned"]
    assert gap["value"] >= 5 and gap["value"] / gap["base"] >= 0.05  # PLANTED churned_promoters: 12% of promoters
    nps = f["synthesis.yoy.nps"]
    assert nps["p_value"] < 0.05 and nps["value"] < 0  # PLANTED nps_shift: 25 -> 10

"""Reading rendered reports as a reader does: every page of a study in headless Chromium (Debian's,
installed by tests/debian.py when absent) at a desktop width and a phone width.

    problems = read_study(report_dir, "demo")      # [] when every page reads well; screenshots kept

Checked on every page and width: the page body never scrolls sideways (wide tables scroll inside
their own box), no console error or page error, no request leaves the file, and every figure and
table has a caption stating its base (n = 1,234; 15 tables; "study parameters" for a table of
settings). Screenshots of the first screen go to
test-output/browser/<label>/<page>-<width>.png.
"""
from __future__ import annotations

import json
from pathlib import Path

from debian import ensure_debian

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test-output" / "browser"
WIDTHS = (1280, 390)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

# per page: how wide the page is against the window, and the figures whose caption lacks a base
_MEASURE = """() => {
  const doc = document.documentElement;
  const wide = [...document.querySelectorAll('body *')].filter(e => {
      const r = e.getBoundingClientRect(); return r.right > doc.clientWidth + 1 && r.width > 0; })
    .filter(e => !e.parentElement.closest('figure, .jp-OutputArea-output, pre, details, .toc'))
    .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ')[0] : ''));
  const nobase = [...document.querySelectorAll('figure.insight-figure')].filter(f => {
      const cap = f.querySelector('figcaption'); const base = cap && cap.querySelector('.cap-base');
      return !base || !base.textContent.replace(/[()\\s]/g, ''); })
    .map(f => (f.querySelector('figcaption') || {textContent: '(no caption)'}).textContent.trim().slice(0, 80));
  return {scroll: doc.scrollWidth, client: doc.clientWidth, wide, nobase};
}"""


def chromium() -> str:
    return ensure_debian("chromium", "chromium")


def study_pages(report_dir: Path) -> list[Path]:
    """The index page and every rendered report of a study."""
    manifest = json.loads((report_dir / "manifest.json").read_text(encoding="utf-8"))
    return [report_dir / "index.html"] + [report_dir / e["html"] for e in manifest["notebooks"].values() if e.get("html")]


def read_study(report_dir: Path, label: str, widths=WIDTHS) -> list[str]:
    """Every page of the study at every width; the problems found, one line each."""
    from playwright.sync_api import sync_playwright

    out = OUT / label
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=ARGS)
        try:
            for width in widths:
                context = browser.new_context(viewport={"width": width, "height": 900})
                page = context.new_page()
                errors: list[str] = []
                requests: list[str] = []
                page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.on("request", lambda req: requests.append(req.url))
                for html in study_pages(report_dir):
                    errors.clear()
                    requests.clear()
                    page.goto(html.resolve().as_uri(), wait_until="load")
                    m = page.evaluate(_MEASURE)
                    where = f"{label} {html.name} at {width} px"
                    if m["scroll"] > m["client"] + 1:
                        problems.append(f"{where}: the page scrolls sideways ({m['scroll']} px wide in {m['client']} px; "
                                        f"too wide: {', '.join(m['wide']) or 'inside a figure'})")
                    if errors:
                        problems.append(f"{where}: console errors {errors[:3]}")
                    external = [u for u in requests if not u.startswith(("file:", "data:"))]
                    if external:
                        problems.append(f"{where}: network requests {external[:3]}")
                    if m["nobase"] and width == widths[0]:
                        problems.append(f"{where}: figures without a base in the caption: {m['nobase']}")
                    page.screenshot(path=str(out / f"{html.stem}-{width}.png"))
                context.close()
        finally:
            browser.close()
    return problems

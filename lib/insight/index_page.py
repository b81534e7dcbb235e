"""reports/<study>/index.html: the study's front page — what was studied, every report with its
status, time and link, why a notebook was skipped, the executive summary, hypothesis verdicts and
the recorded findings. Rendered with Jinja2 (autoescaping on), inline CSS only."""
from __future__ import annotations

import json
from pathlib import Path

from insight.paths import Project

TRIGGERS = {
    "annual_planning": "Annual / strategic planning",
    "external_change": "External change (e.g. an epidemic, an industry policy change)",
    "structural_change": "Structural change of the customer base",
    "ad_hoc": "Ad hoc",
}


def _text(value):
    """Every value printed by the template: plain strings lose the Unicode controls that reorder text on
    screen (insight.display.plain_text) before Jinja escapes them; markup marked safe stays as it is."""
    import markupsafe

    from insight.display import plain_text
    return plain_text(value) if isinstance(value, str) and not isinstance(value, markupsafe.Markup) else value


def _env(project: Project):
    import jinja2
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(project.templates_dir)),
                              autoescape=True, trim_blocks=True, lstrip_blocks=True, finalize=_text)


def build_context(project: Project, study: str, params, manifest: dict) -> dict:
    report_dir = project.report_dir(study)
    fpath = report_dir / "findings.json"
    findings = json.loads(fpath.read_text(encoding="utf-8")) if fpath.exists() else []
    entries = sorted(manifest.get("notebooks", {}).items(),
                     key=lambda kv: (kv[1].get("stage", 1), kv[1].get("order", 100), kv[0]))
    by_nb: dict[str, list] = {}
    for f in findings:
        by_nb.setdefault(f.get("notebook", ""), []).append(f)
    summary = [f for f in findings if str(f.get("id", "")).startswith("synthesis.summary")]
    verdicts = [f for f in findings if (f.get("extra") or {}).get("verdict")]
    sections = []
    for name, e in entries:
        fs = [f for f in by_nb.get(name, []) if not str(f.get("id", "")).startswith("synthesis.")]
        if fs:
            sections.append({"name": name, "title": e.get("title", name), "html": e.get("html"), "findings": fs})
    css = (project.templates_dir / "report" / "static" / "insight.css").read_text(encoding="utf-8")
    counts = {}
    for _, e in entries:
        counts[e.get("status", "?")] = counts.get(e.get("status", "?"), 0) + 1
    return {
        "study": study, "p": params, "trigger": TRIGGERS.get(params.study.trigger, params.study.trigger),
        "entries": entries, "summary": summary, "verdicts": verdicts, "sections": sections,
        "warnings": manifest.get("warnings", []), "updated": manifest.get("updated", ""),
        "commit": manifest.get("commit", ""), "css": css, "counts": counts,
        "synthesis_html": next((e.get("html") for n, e in entries if n.endswith("synthesis") and e.get("html")), None),
        "previous": params.study.previous_study,
        "previous_exists": bool(params.study.previous_study and
                                (project.report_dir(params.study.previous_study) / "index.html").exists()),
    }


def write_index(project: Project, study: str, params, manifest: dict) -> Path:
    html = _env(project).get_template("index.html.j2").render(**build_context(project, study, params, manifest))
    from insight.safety import atomic_write
    return atomic_write(project.report_dir(study) / "index.html", html)

"""reports/<study>/index.html: the study's front page. First a one-screen executive summary a leader
reads in two minutes (verdict per hypothesis with its strongest evidence and base, the five most
important findings, what changed since the previous study, the action plan; every item links to its
report section), then what was studied, every report with its status, time and link, why a notebook
was skipped, and the recorded findings. Rendered with Jinja2 (autoescaping on), inline CSS only."""
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


TOP_FINDINGS = 5
MAX_CHANGES = 5


def _load(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def _is_synthesis(f: dict) -> bool:
    return str(f.get("id", "")).startswith("synthesis.")


def _p(f: dict) -> float:
    p = f.get("p_value")
    return 1.0 if p is None else float(p)


def _link(f: dict, html_of: dict) -> str | None:
    """The report section a finding comes from: its report, at the finding itself."""
    from insight.display import finding_anchor
    html = html_of.get(f.get("notebook", ""))
    return f"{html}#{finding_anchor(f['id'])}" if html else None


def _item(f: dict, html_of: dict, titles: dict, **extra) -> dict:
    """A summary line: the statement, its base and test, and where to read more."""
    return {"statement": f["statement"], "detail": _evidence_line(f), "link": _link(f, html_of),
            "where": titles.get(f.get("notebook", ""), f.get("notebook", "")), **extra}


def _evidence_line(f: dict) -> str:
    """'n = 1,234 · p < 0.001': the base and the test of a finding, for the summary."""
    from insight.display import base_label, p_label
    bits = [base_label(f["base"])] if f.get("base") is not None else []
    if f.get("p_value") is not None:
        bits.append("p " + p_label(f["p_value"]))
    return " · ".join(bits)


def executive_summary(findings: list[dict], previous: list[dict], html_of: dict, synthesis_html: str | None,
                      alpha: float = 0.05, titles: dict | None = None) -> dict:
    """What a leader reads first, each item with a link to the report section it comes from:

    - verdicts: per hypothesis the verdict and its strongest evidence (the measured finding with the
      smallest p-value; an interview finding when nothing was measured) with its base;
    - top: the TOP_FINDINGS most important findings (key findings first, then findings that bear on
      a hypothesis, then by p-value; at most two per report, so one report cannot fill the list; not
      those already shown as a verdict's evidence);
    - changes: what changed since the previous study (the synthesis's year-over-year tests, then
      the largest moves of findings both studies recorded);
    - actions: the action plan of the synthesis."""
    from insight.labels import sentence
    titles = titles or {}
    own = [f for f in findings if not _is_synthesis(f)]
    syn_at = lambda anchor: f"{synthesis_html}#{anchor}" if synthesis_html else None
    verdicts = []
    for v in (f for f in findings if (f.get("extra") or {}).get("verdict")):
        h = v.get("hypothesis")
        ev = [f for f in own if f.get("hypothesis") == h and f.get("evidence") in ("supports", "contradicts")]
        ev.sort(key=lambda f: (f.get("p_value") is None, _p(f), -(f.get("base") or 0)))
        best = ev[0] if ev else None
        verdicts.append({"hypothesis": h, "statement": v["extra"].get("hypothesis_statement", ""),
                         "verdict": v["extra"]["verdict"], "why": v["statement"], "link": syn_at("Hypothesis-verdicts"),
                         "evidence": best and _item(best, html_of, titles)})
    shown = {v["evidence"]["link"] for v in verdicts if v["evidence"]}
    ranked = sorted(own, key=lambda f: (f.get("severity") != "key",
                                        not (f.get("hypothesis") and f.get("evidence") in ("supports", "contradicts")),
                                        _p(f) >= alpha, _p(f)))
    top, per_report = [], {}
    for f in ranked:
        if (f.get("severity") == "warning" or per_report.get(f.get("notebook"), 0) >= 2
                or (_link(f, html_of) in shown and _link(f, html_of))):
            continue
        per_report[f.get("notebook")] = per_report.get(f.get("notebook"), 0) + 1
        top.append(_item(f, html_of, titles))
        if len(top) == TOP_FINDINGS:
            break
    changes = [_item(f, html_of, titles, link=syn_at("Year-over-year"), where="Synthesis: year over year")
               for f in findings if str(f.get("id", "")).startswith("synthesis.yoy.")]
    before = {f["id"]: f for f in previous if not _is_synthesis(f)}
    moves = []
    for f in own:
        b = before.get(f["id"])
        if (b is None or f.get("metric") != b.get("metric") or not isinstance(f.get("value"), (int, float))
                or not isinstance(b.get("value"), (int, float)) or isinstance(f.get("value"), bool) or not b["value"]):
            continue
        rel = abs(f["value"] - b["value"]) / abs(b["value"])
        if rel >= 0.05:
            moves.append((rel, _item(f, html_of, titles, statement=f"{sentence(f['metric'])}: {_num(b['value'])} "
                                     f"before, {_num(f['value'])} now", detail="")))
    changes += [m for _, m in sorted(moves, key=lambda x: -x[0])]
    actions = [{"action": f["statement"], **(f.get("extra") or {}), "link": syn_at("Action-plan"), "where": "Action plan"}
               for f in findings if str(f.get("id", "")).startswith("synthesis.action.")]
    return {"verdicts": verdicts, "top": top, "changes": changes[:MAX_CHANGES], "actions": actions}


def _num(v) -> str:
    v = float(v)
    if v == int(v) and abs(v) >= 1:
        return f"{int(v):,}"
    return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def build_context(project: Project, study: str, params, manifest: dict) -> dict:
    report_dir = project.report_dir(study)
    findings = _load(report_dir / "findings.json")
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
    html_of = {name: e.get("html") for name, e in entries if e.get("html")}
    synthesis_html = next((e.get("html") for n, e in entries if n.endswith("synthesis") and e.get("html")), None)
    prev = params.study.previous_study
    previous = _load(project.report_dir(prev) / "findings.json") if prev else []
    alpha = getattr(getattr(params, "report", None), "alpha", 0.05)
    return {
        "exec": executive_summary(findings, previous, html_of, synthesis_html, alpha,
                                  {name: e.get("title", name) for name, e in entries}),
        "study": study, "p": params, "trigger": TRIGGERS.get(params.study.trigger, params.study.trigger),
        "entries": entries, "gains": data_gains(entries), "summary": summary, "verdicts": verdicts, "sections": sections,
        "warnings": manifest.get("warnings", []), "updated": manifest.get("updated", ""),
        "commit": manifest.get("commit", ""), "css": css, "counts": counts,
        "synthesis_html": synthesis_html,
        "previous": params.study.previous_study,
        "previous_exists": bool(params.study.previous_study and
                                (project.report_dir(params.study.previous_study) / "index.html").exists()),
    }


def data_gains(entries) -> list[dict]:
    """What each missing table would add: per table (or set of alternatives), the whole reports that
    need it and the sections of the other reports that were left out for want of it."""
    from insight.sections import needs_text
    gains: dict[str, list[dict]] = {}
    for name, e in entries:
        if e.get("status") == "not applicable":
            for t in e.get("missing_tables") or ():
                gains.setdefault(t, []).append({"report": e.get("title", name), "html": None, "section": None,
                                                "shows": e.get("summary", "")})
            continue
        for s in e.get("sections_skipped") or ():
            for t in s.get("needs", ()):
                gains.setdefault(t, []).append({"report": e.get("title", name), "html": e.get("html"),
                                                "section": s.get("title"), "shows": s.get("shows", "")})
    return [{"table": t, "label": needs_text([t]), "entries": items}
            for t, items in sorted(gains.items(), key=lambda kv: (-len(kv[1]), kv[0]))]


def write_index(project: Project, study: str, params, manifest: dict) -> Path:
    from insight.render import nowrap_dates
    from insight.safety import atomic_write
    html = nowrap_dates(_env(project).get_template("index.html.j2").render(**build_context(project, study, params, manifest)))
    return atomic_write(project.report_dir(study) / "index.html", html)

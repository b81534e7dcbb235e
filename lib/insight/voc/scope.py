"""VOC phase 1: the study frame, the hypotheses, their question x dimension coverage and the
choice of methods — readable tables for the reviewer, and the cross-checks behind
`params.scope` (which hypotheses the declared methods can test).

Everything here reads the validated params only; nothing needs data.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from insight.config.core import DIMENSION_LABELS as HYP_DIMENSION_LABELS
from insight.config.scope import (
    QUAL_METHODS,
    QUANT_CRM_METHODS,
    QUANT_SURVEY_METHODS,
)

TRIGGER_LABELS = {
    "annual_planning": "Annual or multi-year strategic planning",
    "external_change": "A big external change (e.g. an epidemic, an industry policy change)",
    "structural_change": "A structural change of the customer base",
    "ad_hoc": "Ad hoc request",
}
EXPECTED_WORDS = {
    "lower": "expected lower",
    "higher": "expected higher",
    "different": "expected to differ",
    "no_difference": "expected no difference",
}
PRIORITY_ORDER = {"high": 0, "medium": 1, "low": 2}


# --- what each hypothesis needs and which methods serve it ---------------------------------

@dataclass(frozen=True)
class Testability:
    """How one hypothesis can be tested by the study's methods."""
    hypothesis: str
    needs_survey: bool
    needs_crm: bool
    needs_qual: bool
    serving: tuple[int, ...]          # indices into params.scope.methods that serve it

    @property
    def needs(self) -> bool:
        return self.needs_survey or self.needs_crm or self.needs_qual


def _needs(h) -> tuple[bool, bool, bool]:
    survey = h.quant is not None and h.quant.source == "survey"
    crm = h.quant is not None and h.quant.source == "crm"
    qual = h.qual is not None and bool(h.qual.supports or h.qual.contradicts)
    return survey, crm, qual


def serving_methods(params, hypothesis) -> tuple[int, ...]:
    """Indices of the methods whose `serves` names the hypothesis or its question."""
    return tuple(i for i, m in enumerate(params.scope.methods)
                 if hypothesis.id in m.serves or hypothesis.question in m.serves)


def can_test(t: Testability, method) -> bool:
    """Whether one method yields the kind of evidence the hypothesis's spec needs."""
    return bool((t.needs_survey and method.method in QUANT_SURVEY_METHODS)
                or (t.needs_crm and method.method in QUANT_CRM_METHODS)
                or (t.needs_qual and method.method in QUAL_METHODS))


def testing_methods(params, t: Testability) -> list:
    """The methods that serve the hypothesis and can test it."""
    return [params.scope.methods[j] for j in t.serving if can_test(t, params.scope.methods[j])]


def testability(params) -> list[Testability]:
    out = []
    for h in params.hypotheses:
        s, c, q = _needs(h)
        out.append(Testability(h.id, s, c, q, serving_methods(params, h)))
    return out


def _kinds(methods) -> tuple[bool, bool, bool]:
    names = {m.method for m in methods}
    return (bool(names & QUANT_SURVEY_METHODS), bool(names & QUANT_CRM_METHODS), bool(names & QUAL_METHODS))


def _need_words(survey: bool, crm: bool, qual: bool) -> list[str]:
    words = []
    if survey:
        words.append("its survey spec needs a survey")
    if crm:
        words.append("its CRM spec needs data research (method: data_research)")
    if qual:
        words.append("its qualitative codes need a qualitative method (interview, focus group, immersive research, "
                     "expert council or community)")
    return words


def scope_problems(params) -> list[tuple[tuple, str, str, str]]:
    """The cross-checks of params.scope against questions and hypotheses:
    (loc, message, fix, severity) tuples, as insight.params expects from `cross_check`."""
    out: list[tuple[tuple, str, str, str]] = []
    scope = params.scope
    methods = scope.methods
    qids = [q.id for q in params.questions]
    hids = [h.id for h in params.hypotheses]
    known = set(qids) | set(hids)

    for i, m in enumerate(methods):
        unknown = [s for s in m.serves if s not in known]
        if unknown:
            out.append((("scope", "methods", i, "serves"),
                        f"method {m.method} serves {', '.join(map(repr, unknown))}, "
                        + ("which is not a question or hypothesis id" if len(unknown) == 1 else
                           "which are not question or hypothesis ids"),
                        f"use question ids ({', '.join(qids)}) or hypothesis ids ({', '.join(hids) or 'none yet'})", "error"))
        if m.method == "survey" and not m.planned_n and not scope.sample.survey_planned_base:
            out.append((("scope", "methods", i), "the survey has no planned base, so its margin of error and power "
                        "cannot be computed", "add `planned_n:` (completed responses you plan), e.g. 400", "warning"))

    if not methods:
        if params.hypotheses:
            out.append((("scope", "methods"), "no execution methods are declared, so nobody can tell how the "
                        "hypotheses will be tested",
                        "add `scope: {methods: [...]}`: each {method, serves: [question or hypothesis ids], planned_n, "
                        "timeline, owner}", "warning"))
    else:
        has_survey, has_crm, has_qual = _kinds(methods)
        for i, (h, t) in enumerate(zip(params.hypotheses, testability(params))):
            if not t.needs:
                continue  # insight.params already rejects a hypothesis with no spec at all
            declared = (t.needs_survey and has_survey) or (t.needs_crm and has_crm) or (t.needs_qual and has_qual)
            if not declared:
                present = sorted({m.method for m in methods})
                out.append((("hypotheses", i),
                            f"hypothesis {h.id} cannot be tested by any declared method: "
                            + "; ".join(_need_words(t.needs_survey, t.needs_crm, t.needs_qual))
                            + f", but scope.methods declares only {', '.join(present)}",
                            f"add a method that can test it under scope.methods with `serves: [{h.id}]` "
                            f"(e.g. `- {{method: {_suggest(t)}, serves: [{h.id}]}}`), or change how {h.id} is tested "
                            "(quant: / qual:)", "error"))
                continue
            if not t.serving:
                out.append((("hypotheses", i),
                            f"hypothesis {h.id} has no method: no entry of scope.methods serves it or its question {h.question}",
                            f"add {h.id} (or {h.question}) to the `serves` list of a {_suggest(t)} method", "warning"))
                continue
            s_survey, s_crm, s_qual = _kinds([methods[j] for j in t.serving])
            missing = (t.needs_survey and not s_survey, t.needs_crm and not s_crm, t.needs_qual and not s_qual)
            met = (t.needs_survey and s_survey) or (t.needs_crm and s_crm) or (t.needs_qual and s_qual)
            if not met:
                out.append((("hypotheses", i),
                            f"hypothesis {h.id} has no method that can test it: the methods serving it "
                            f"({', '.join(methods[j].method for j in t.serving)}) cannot, because "
                            + "; ".join(_need_words(*missing)),
                            f"add {h.id} to the `serves` list of a {_suggest(t)} method", "warning"))
            elif any(missing):
                out.append((("hypotheses", i),
                            f"part of hypothesis {h.id} will not be tested: " + "; ".join(_need_words(*missing))
                            + ", and none serves it",
                            f"add {h.id} to the `serves` list of such a method, or drop that part of the spec", "warning"))

    covered = {h.dimension for h in params.hypotheses}
    for dim, label in HYP_DIMENSION_LABELS.items():
        if dim not in covered:
            out.append((("hypotheses",), f"no hypothesis covers the dimension {dim!r} ({label})",
                        f"add a hypothesis with `dimension: {dim}`, or say in the study summary why it is out of scope",
                        "warning"))
    with_h = {h.question for h in params.hypotheses}
    for i, q in enumerate(params.questions):
        if q.id not in with_h:
            out.append((("questions", i), f"strategic question {q.id} has no hypothesis",
                        f"add a hypothesis with `question: {q.id}`", "warning"))

    sample = scope.sample
    for dim in sample.cross:
        if not sample.targets.as_dict().get(dim):
            out.append((("scope", "sample", "cross"), f"the quota grid crosses {dim!r}, which has no target shares",
                        f"add target shares under scope.sample.targets.{dim}, or remove it from `cross`", "warning"))
    return out


def _suggest(t: Testability) -> str:
    if t.needs_survey:
        return "survey"
    if t.needs_crm:
        return "data_research"
    return "one_to_one"


# --- readable tables --------------------------------------------------------------------------

def study_frame(params) -> pd.DataFrame:
    """The study frame as two columns (item, what the params say), for the reviewer."""
    s, o = params.study, params.objectives
    rows = [
        ("Study", s.title),
        ("Trigger", TRIGGER_LABELS.get(s.trigger, s.trigger)),
        ("Why now", s.trigger_note),
        ("Period", f"{s.period.start:%d %b %Y} to {s.period.end:%d %b %Y}"),
        ("Study owner", s.owner),
        ("Departments taking part", ", ".join(d.replace("_", " ") for d in s.departments)),
        ("Previous study (compared with)", s.previous_study or "none"),
        ("Why — what we want to learn, for which business goal", o.why),
        ("Who — which customers", o.who),
        ("When — timeline for collection, analysis, sharing", o.when),
        ("What — data, tools, constraints", o.what),
    ]
    return pd.DataFrame([r for r in rows if r[1]], columns=["Item", "Study frame"])


def questions_table(params) -> pd.DataFrame:
    """Strategic questions, most important first, with the hypotheses that address each."""
    by_q: dict[str, list[str]] = {}
    for h in params.hypotheses:
        by_q.setdefault(h.question, []).append(h.id)
    rows = [{
        "ID": q.id,
        "Strategic question": q.text,
        "Business goal": q.business_goal,
        "Priority": q.priority,
        "Owning department": q.owner.replace("_", " "),
        "Hypotheses": ", ".join(by_q.get(q.id, [])) or "none",
    } for q in params.questions]
    df = pd.DataFrame(rows, columns=["ID", "Strategic question", "Business goal", "Priority", "Owning department",
                                     "Hypotheses"])
    return df


def quant_text(q) -> str:
    """'survey: q_onboarding by segment — enterprise expected lower than the others'."""
    if q is None:
        return ""
    by = str(q.group_by).replace("_", " ")
    what = f"{q.source}: {q.measure} by {by}"
    if q.groups:
        flag = lambda g: f"{by} = {g}" if str(g).lower() in ("true", "false", "yes", "no", "0", "1") else str(g).replace("_", " ")
        focus = flag(q.groups[0])
        ref = ", ".join(map(flag, q.groups[1:])) if len(q.groups) > 1 else "the others"
        return f"{what} — {focus} {EXPECTED_WORDS[q.expected]} than {ref}"
    return f"{what} — groups {EXPECTED_WORDS[q.expected]}"


def qual_text(q) -> str:
    if q is None:
        return ""
    parts = []
    if q.supports:
        parts.append("supported by codes " + ", ".join(c.replace("_", " ") for c in q.supports))
    if q.contradicts:
        parts.append("contradicted by " + ", ".join(c.replace("_", " ") for c in q.contradicts))
    return "; ".join(parts)


def hypotheses_table(params) -> pd.DataFrame:
    """One row per hypothesis: its question, dimension, statement, how it is tested, which methods."""
    methods = params.scope.methods
    rows = []
    for h, t in zip(params.hypotheses, testability(params)):
        rows.append({
            "ID": h.id,
            "Question": h.question,
            "Dimension": HYP_DIMENSION_LABELS[h.dimension],
            "Hypothesis": h.statement,
            "Quantitative test": quant_text(h.quant) or "—",
            "Qualitative evidence": qual_text(h.qual) or "—",
            "Methods": ", ".join(dict.fromkeys(m.label for m in testing_methods(params, t))) or "none",
            "Testable": testable_label(t, methods),
        })
    return pd.DataFrame(rows, columns=["ID", "Question", "Dimension", "Hypothesis", "Quantitative test",
                                       "Qualitative evidence", "Methods", "Testable"])


def testable_label(t: Testability, methods) -> str:
    """'yes', 'partly (no survey)', 'no' — by the methods that serve the hypothesis."""
    if not t.serving:
        return "no method"
    s, c, q = _kinds([methods[j] for j in t.serving])
    lacks = [name for need, have, name in ((t.needs_survey, s, "survey"), (t.needs_crm, c, "data research"),
                                           (t.needs_qual, q, "qualitative method")) if need and not have]
    met = (t.needs_survey and s) or (t.needs_crm and c) or (t.needs_qual and q)
    if not met:
        return "no (needs " + " / ".join(lacks) + ")"
    return "yes" if not lacks else "partly (no " + ", ".join(lacks) + ")"


def coverage_matrix(params) -> pd.DataFrame:
    """Number of hypotheses per strategic question (rows) and dimension (columns), zeros included."""
    cols = list(HYP_DIMENSION_LABELS)
    qids = [q.id for q in params.questions]
    h = pd.DataFrame([(x.question, x.dimension) for x in params.hypotheses], columns=["question", "dimension"])
    m = pd.crosstab(pd.Categorical(h["question"], categories=qids),
                    pd.Categorical(h["dimension"], categories=cols), dropna=False)
    m.index = [f"{q.id}: {q.text}" for q in params.questions]
    m.columns = [HYP_DIMENSION_LABELS[c] for c in cols]
    m.index.name, m.columns.name = "Strategic question", "Dimension"
    return m.astype(int)


def coverage_figure(matrix: pd.DataFrame):
    """Heatmap of the question x dimension coverage: the count in each cell, empty cells stand out."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    import textwrap

    fig, ax = plt.subplots(figsize=(7.5, 0.7 * len(matrix) + 1.8))
    sns.heatmap(matrix, annot=True, fmt="d", cmap="Blues", cbar=False, linewidths=1, linecolor="white",
                vmin=0, vmax=max(2, int(matrix.to_numpy().max()) if matrix.size else 2), ax=ax)
    ax.set_yticklabels([textwrap.fill(str(t), 38) for t in matrix.index], rotation=0)
    ax.set_xticklabels([textwrap.fill(str(t), 22) for t in matrix.columns], rotation=0)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title("Hypotheses per strategic question and dimension")
    ax.xaxis.tick_top()
    return fig


def method_table(params) -> pd.DataFrame:
    """One row per declared method: what it serves, what evidence it yields, size, timeline, owner."""
    rows = []
    tests = testability(params)
    for i, m in enumerate(params.scope.methods):
        served = [t.hypothesis for t in tests if i in t.serving and can_test(t, m)]
        evidence = ("survey answers" if m.method in QUANT_SURVEY_METHODS else
                    "company data" if m.method in QUANT_CRM_METHODS else "qualitative codes")
        rows.append({
            "Method": m.label,
            "Serves": ", ".join(m.serves),
            "Hypotheses it can test": ", ".join(served) or "none",
            "Evidence": evidence,
            "Planned n": m.planned_n,
            "Timeline": m.timeline or _dates(m),
            "Owner": m.owner.replace("_", " "),
            "Why this method": m.note,
        })
    df = pd.DataFrame(rows, columns=["Method", "Serves", "Hypotheses it can test", "Evidence", "Planned n", "Timeline",
                                     "Owner", "Why this method"])
    df["Planned n"] = df["Planned n"].astype("Int64")
    return df


def _dates(m) -> str:
    if m.start and m.end:
        return f"{m.start:%d %b %Y} – {m.end:%d %b %Y}"
    return ""


def method_matrix(params) -> pd.DataFrame:
    """Hypotheses (rows) x methods (columns): '✓' the method serves and can test it, '○' it serves the
    hypothesis but yields the wrong kind of evidence for its spec, '' not served; plus a verdict column."""
    methods = params.scope.methods
    labels = list(dict.fromkeys(m.label for m in methods))
    rows = []
    for h, t in zip(params.hypotheses, testability(params)):
        row = {"Hypothesis": h.id}
        for lab in labels:
            row[lab] = ""
        for j in t.serving:
            m = methods[j]
            can = can_test(t, m)
            if can or row[m.label] != "✓":
                row[m.label] = "✓" if can else "○"
        row["Testable"] = testable_label(t, methods)
        rows.append(row)
    return pd.DataFrame(rows, columns=["Hypothesis", *labels, "Testable"]).set_index("Hypothesis")


def scope_findings(params) -> list[dict]:
    """The params warnings of the scope checks as findings (ids 'scope.params.*'), for record_finding."""
    out = []
    for loc, message, fix, severity in scope_problems(params):
        if severity != "warning":
            continue
        key = ".".join(str(p) for p in loc)
        out.append({"id": f"scope.params.{key}", "statement": f"{message[0].upper()}{message[1:]}. Fix: {fix}.",
                    "severity": "warning", "source": "data"})
    # de-duplicate ids (e.g. several uncovered dimensions share the loc 'hypotheses')
    seen: dict[str, int] = {}
    for f in out:
        n = seen.get(f["id"], 0)
        seen[f["id"]] = n + 1
        if n:
            f["id"] = f"{f['id']}.{n + 1}"
    return out

"""VOC phase 1: the research plan a reviewer signs off — per strategic question its hypotheses, how
each is tested, the methods with their planned size, timeline and owner; the sample design; the
fieldwork timeline. Also renders the plan as Markdown (the shape of templates/research-plan.md).
"""
from __future__ import annotations

import pandas as pd

from insight.config.core import DIMENSION_LABELS as HYP_DIMENSION_LABELS
from insight.config.scope import DIMENSION_LABELS, QUAL_METHODS
from insight.voc.scope import qual_text, quant_text, testability, testable_label, testing_methods, can_test

SIGN_OFF = "☐ approved   ☐ changes needed"


def _method_cell(m) -> str:
    return m.label + (f", n = {m.planned_n:,}" if m.planned_n else "")


def _timeline(m) -> str:
    if m.timeline:
        return m.timeline
    if m.start and m.end:
        return f"{m.start:%d %b} – {m.end:%d %b %Y}"
    return "not set"


def _questions(params):
    return list(params.questions)


def question_plan(params, qid: str) -> pd.DataFrame:
    """One row per hypothesis of the question: statement, test, methods (with planned n), timeline, owner."""
    methods = params.scope.methods
    rows = []
    for h, t in zip(params.hypotheses, testability(params)):
        if h.question != qid:
            continue
        ms = testing_methods(params, t)
        test = "; ".join(x for x in (quant_text(h.quant), qual_text(h.qual)) if x)
        rows.append({
            "Hypothesis": f"{h.id}: {h.statement}",
            "Dimension": HYP_DIMENSION_LABELS[h.dimension],
            "How it is tested": test or "—",
            "Methods (planned n)": "; ".join(dict.fromkeys(_method_cell(m) for m in ms)) or "⚠ no method",
            "Timeline": "; ".join(dict.fromkeys(_timeline(m) for m in ms)) or "—",
            "Owner": ", ".join(dict.fromkeys(m.owner.replace("_", " ") for m in ms if m.owner)) or "—",
            "Testable": testable_label(t, methods),
        })
    return pd.DataFrame(rows, columns=["Hypothesis", "Dimension", "How it is tested", "Methods (planned n)",
                                       "Timeline", "Owner", "Testable"])


def plan_caption(params, qid: str) -> str:
    q = next(q for q in params.questions if q.id == qid)
    return (f"Research plan for {q.id}: {q.text} Business goal: {q.business_goal}. "
            f"Priority {q.priority}; owned by {q.owner.replace('_', ' ')}.")


def research_plan(params) -> list[tuple[str, str, pd.DataFrame]]:
    """[(question id, caption, plan table)] for every question, most important first."""
    return [(q.id, plan_caption(params, q.id), question_plan(params, q.id)) for q in _questions(params)]


def plan_overview(params) -> pd.DataFrame:
    """One row per strategic question: goal, priority, owner, hypotheses, methods, and a sign-off box."""
    methods = params.scope.methods
    tests = {t.hypothesis: t for t in testability(params)}
    rows = []
    for q in _questions(params):
        hyps = [h for h in params.hypotheses if h.question == q.id]
        idx = sorted({j for h in hyps for j in tests[h.id].serving if can_test(tests[h.id], methods[j])} |
                     {j for j, m in enumerate(methods) if q.id in m.serves})
        untestable = [h.id for h in hyps if not testable_label(tests[h.id], methods).startswith(("yes", "partly"))]
        rows.append({
            "Question": f"{q.id}: {q.text}",
            "Business goal": q.business_goal,
            "Priority": q.priority,
            "Owner": q.owner.replace("_", " "),
            "Hypotheses": ", ".join(h.id for h in hyps) or "⚠ none",
            "Methods": "; ".join(dict.fromkeys(methods[j].label for j in idx)) or "⚠ none",
            "Not yet testable": ", ".join(untestable) or "—",
            "Sign-off": SIGN_OFF,
        })
    return pd.DataFrame(rows, columns=["Question", "Business goal", "Priority", "Owner", "Hypotheses", "Methods",
                                       "Not yet testable", "Sign-off"])


def _shares_text(shares: dict[str, float]) -> str:
    return (" · ".join(f"{str(k).replace('_', ' ')} {v:.0%}" for k, v in shares.items()) if shares
            else "no target (described only)")


def sample_plan(params) -> pd.DataFrame:
    """The sample design: per checklist dimension the interview and survey targets."""
    s = params.scope.sample
    qual, surv = s.targets.as_dict(), s.survey.as_dict()
    rows = [{"Dimension": label, "Interview targets": _shares_text(qual.get(d, {})),
             "Survey targets": _shares_text(surv.get(d, {}))} for d, label in DIMENSION_LABELS.items()]
    return pd.DataFrame(rows)


def sample_rules(params) -> pd.DataFrame:
    """The rules the sample is checked against, in words."""
    s = params.scope.sample
    qual_n = sum(m.planned_n or 0 for m in params.scope.methods if m.method in QUAL_METHODS)
    base = params.scope.survey_base()
    rows = [
        ("Planned qualitative participants (all qualitative methods)", f"{qual_n:,}" if qual_n else "not set"),
        ("Planned completed survey responses", f"{base:,}" if base else "not set"),
        ("Minimum per cell", f"{s.min_per_cell}"),
        ("Under-represented when the share is below", f"{s.under_ratio:.0%} of the target"),
        ("Over-represented when the share is above", f"{s.over_ratio:.0%} of the target"),
        ("Quota grid", " × ".join(DIMENSION_LABELS[d] for d in s.cross) if s.cross else "none"),
        ("Homogeneity warning (normalised entropy below)", f"{s.homogeneity_warning:.2f}"),
        ("Left out of the customer sample", ", ".join(s.exclude_roles) or "nobody"),
        ("Survey precision", f"{s.confidence:.0%} confidence; power {s.power:.0%} at alpha {s.alpha:g}; "
                             f"reference share {s.baseline_share:.0%}; rating SD {s.rating_sd:g} point(s)"),
    ]
    return pd.DataFrame(rows, columns=["Rule", "Setting"])


SHORT_LABELS = {
    "one_to_one": "1:1 interviews", "one_to_many": "Group interviews", "phone": "Phone interviews",
    "video": "Video interviews", "focus_group": "Focus group", "survey": "Survey", "immersive": "Immersive research",
    "expert_council": "Expert council", "community": "Community", "data_research": "Data research",
}


def timeline_figure(params):
    """A Gantt chart of the methods with start and end dates (owner written on each bar); None when
    no method has both."""
    ms = [m for m in params.scope.methods if m.start and m.end]
    if not ms:
        return None
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.5, 0.45 * len(ms) + 1.4))
    p = params.study.period
    lo = min([pd.Timestamp(p.start)] + [pd.Timestamp(m.start) for m in ms])
    hi = max([pd.Timestamp(p.end)] + [pd.Timestamp(m.end) for m in ms]) + pd.Timedelta(days=1)
    for i, m in enumerate(ms):
        start, end = mdates.date2num(pd.Timestamp(m.start)), mdates.date2num(pd.Timestamp(m.end) + pd.Timedelta(days=1))
        ax.barh(i, end - start, left=start, height=0.6, color="#4c72b0" if m.method in QUAL_METHODS else "#dd8452")
        if m.owner:
            if end + 3 < mdates.date2num(hi) - 40:      # room on the right of the bar
                x, ha, colour = end + 3, "left", "#444444"
            elif start - 3 > mdates.date2num(lo) + 40:  # room on the left
                x, ha, colour = start - 3, "right", "#444444"
            else:                                       # a bar over the whole period: inside it
                x, ha, colour = start + 3, "left", "white"
            ax.text(x, i, m.owner.replace("_", " "), va="center", ha=ha, fontsize=8, color=colour)
    ax.set_yticks(range(len(ms)), [SHORT_LABELS.get(m.method, m.label) for m in ms])
    ax.invert_yaxis()
    ax.set_xlim(mdates.date2num(lo), mdates.date2num(hi))
    ax.xaxis.set_major_locator(mdates.MonthLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title("Fieldwork timeline (blue: qualitative; orange: survey and data research; grey text: owner)", fontsize=10)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig


def _md_table(df: pd.DataFrame) -> str:
    def cell(v) -> str:
        return ("" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)).replace("|", "\\|").replace("\n", " ")
    head = "| " + " | ".join(map(cell, df.columns)) + " |"
    sep = "|" + "---|" * len(df.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def research_plan_markdown(params) -> str:
    """The research plan as Markdown, in the shape of templates/research-plan.md, ready to circulate."""
    from insight.voc.scope import method_table, study_frame

    s = params.study
    out = [f"# Research plan: {s.title}", "", f"Study `{s.name}`, owner {s.owner or 'not set'}.", "",
           "## 1. Study frame", "", _md_table(study_frame(params)), "",
           "## 2. Strategic questions and sign-off", "", _md_table(plan_overview(params)), "",
           "## 3. Plan per question", ""]
    for qid, caption, table in research_plan(params):
        out += [f"### {caption}", "", _md_table(table) if len(table) else "_No hypothesis yet._", ""]
    out += ["## 4. Methods", "", _md_table(method_table(params)), "",
            "## 5. Sample", "", _md_table(sample_plan(params)), "", _md_table(sample_rules(params)), "",
            "## 6. Sign-off", "", "| Reviewer | Department | Decision | Date |", "|---|---|---|---|",
            *[f"|  | {d.replace('_', ' ')} | {SIGN_OFF} |  |" for d in (s.departments or ["(department)"])], ""]
    return "\n".join(out)

"""Display and record the synthesis: what the notebook shows, section by section."""
from __future__ import annotations

import pandas as pd

from insight.labels import label
from insight.display import p_label, show_figure, show_note, show_table
from insight.findings import record_finding
from insight.stats import interval_note
from insight.synthesis import drivers as drv
from insight.synthesis import groups as grp
from insight.synthesis.verdicts import evidence_table, source_label, sources_text

VERDICT_LABEL = {"supported": "supported", "rejected": "rejected", "mixed": "mixed",
                 "not_enough_evidence": "not enough evidence"}
MEASURE_LABEL = {"q_nps": "NPS", "q_csat": "Satisfaction (1-5)", "q_onboarding": "Onboarding satisfaction (1-5)",
                 "q_renew": "Likelihood to continue (1-5)"}
STRENGTH_LABEL = {"strong": "strong (significant measurement)", "moderate": "moderate (voiced in interviews)",
                  "weak": "weak"}


def words(value) -> str:
    """An id as words for a reader (insight.labels.label); a missing value stays empty."""
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else label(value)


def _p_text(p) -> str:
    return "" if p is None or pd.isna(p) else p_label(float(p)).replace("= ", "")


def _ci_text(lo, hi, percent: bool = True) -> str:
    if pd.isna(lo) or pd.isna(hi):
        return ""
    return f"{lo:.1%} to {hi:.1%}" if percent else f"{lo:.2f} to {hi:.2f}"


def record_synthesis(syn, study) -> None:
    """The executive summary and the verdicts become findings: the index page shows them."""
    for i, item in enumerate(syn.summary, 1):
        record_finding(f"synthesis.summary.{i}", item["statement"], severity="key", source="synthesis",
                       hypothesis=item.get("hypothesis"), show=False,
                       extra={"confidence": item.get("confidence"), "evidence_text": item.get("evidence")})
    for _, r in syn.verdicts.iterrows():
        record_finding(f"synthesis.verdict.{r['hypothesis']}", r["reason"], hypothesis=r["hypothesis"],
                       source="synthesis", show=False,
                       extra={"verdict": r["verdict"], "hypothesis_statement": r["statement"]})
    for i, a in enumerate(syn.actions.to_dict("records"), 1):   # the action plan, for the index page
        record_finding(f"synthesis.action.{i}", str(a["action"]), source="synthesis", show=False,
                       hypothesis=a.get("hypothesis") or None,
                       extra={"insight": a["insight"], "owner": words(a["owner"]), "due": "" if pd.isna(a["due"]) else str(a["due"]),
                              "success_metric": _metric_words(a["success metric"], syn.labels),
                              "status": a["status"]})


def show_summary(syn) -> None:
    if not syn.summary:
        if syn.verdicts.empty and len(syn.findings):
            show_note(f"The study declares no hypotheses, so the summary has no verdicts to state; the "
                      f"{len(syn.findings):,} findings of the analyses are listed on the index page.", "warning")
        else:
            show_note("No insight could be drawn yet: no analysis recorded findings for this study.", "warning")
        return
    t = pd.DataFrame([{"#": i, "Insight": s["statement"], "Evidence": s.get("evidence", ""),
                       "Confidence": s.get("confidence", "")} for i, s in enumerate(syn.summary, 1)])
    show_table(t, "Executive summary: the top insights of the study", base=f"{len(t)} insights from the recorded findings", index=False,
               note="Confidence: high when significant evidence agrees across sources; medium with one "
                    "source; low when evidence is mixed or missing.")
    for n in syn.notes:
        show_note(n)


def show_verdicts(syn) -> None:
    v = syn.verdicts
    if v.empty:
        show_note("This study declares no hypotheses.")
        return
    t = pd.DataFrame({
        "Hypothesis": v["hypothesis"], "Dimension": v["dimension"].map(words), "Statement": v["statement"],
        "Verdict": v["verdict"].map(VERDICT_LABEL), "Why": v["reason"],
        "Findings for / against / inconclusive": [f"{a} / {b} / {c}" for a, b, c in
                                                  zip(v["supporting"], v["contradicting"], v["inconclusive"])],
        "Sources": v["sources"].map(lambda x: sources_text(x.split(", ")) if x else "none")})
    n_linked = int(syn.findings["hypothesis"].isin(set(v["hypothesis"])).sum()) if len(syn.findings) else 0
    show_table(t, "Verdict per hypothesis", base=f"{n_linked:,} findings linked to a hypothesis", index=False,
               note="Findings for / against / inconclusive: how many findings of the other reports support, "
                    "contradict or leave open each hypothesis; the next section lists them.")


def show_evidence(syn, alpha: float = 0.05, min_participants: int = 3) -> None:
    for _, r in syn.verdicts.iterrows():
        ev = evidence_table(syn.findings, r["hypothesis"], alpha, min_participants)
        if ev.empty:
            show_note(f"{r['hypothesis']}: no finding tested it yet.", "warning")
            continue
        effect = [(f"{name} = {es:.2f}" + ("" if pd.isna(lo) else f" ({lo:.2f} to {hi:.2f})")) if name and not pd.isna(es)
                  else "" for name, es, lo, hi in
                  zip(ev["effect_size_name"].fillna(""), pd.to_numeric(ev["effect_size"], errors="coerce"),
                      pd.to_numeric(ev["effect_low"], errors="coerce"), pd.to_numeric(ev["effect_high"], errors="coerce"))]
        base = pd.to_numeric(ev["base"], errors="coerce")
        t = pd.DataFrame({"Source": ev["source"].map(source_label), "Direction": ev["evidence"].fillna(""),
                          "Strength": ev["strength"].map(lambda x: STRENGTH_LABEL.get(x, x)), "Finding": ev["statement"],
                          "Base": base.map(lambda b: "" if pd.isna(b) else f"{int(b):,}"), "p": ev["p_value"].map(_p_text),
                          "Effect size (95% CI)": effect, "Report": ev["notebook"].map(words)})
        show_table(t, f"Evidence for {r['hypothesis']}: {r['statement']}",
                   base=f"{len(ev)} finding{'s' if len(ev) != 1 else ''}", index=False,
                   note=f"Verdict: {VERDICT_LABEL[r['verdict']]} — {r['reason']}.")


def show_group_differences(syn) -> None:
    t = syn.group_tests
    if t.empty:
        show_note("No group comparison was possible (no survey answers or too few per group).")
        return
    label = t["measure"].map(lambda m: MEASURE_LABEL.get(m, syn.labels.get(m, m)))
    sig = t[t["significant"]]
    if len(sig):
        show_note("Real differences after correcting for the number of tests: "
                  + "; ".join(f"{m} by {words(a)}" for m, a in zip(label[sig.index], sig["attribute"]))
                  + ". Every other measure and group comparison in the table is within what chance produces.")
    else:
        show_note("No measure differs between groups beyond what chance produces, once corrected for the number of tests.")
    show_table(pd.DataFrame({
        "Measure": label, "Compared across": t["attribute"].map(words), "Test": t["test"],
        "Effect size (95% CI)": [f"{n} = {e:.3f}" + (f" ({lo:.3f} to {hi:.3f})" if lo is not None and lo == lo else "")
                                 for n, e, lo, hi in zip(t["effect_size_name"], t["effect_size"],
                                                         t.get("ci_low", [None] * len(t)), t.get("ci_high", [None] * len(t)))],
        "p": t["p_value"].map(_p_text), "p (corrected)": t["p_adjusted"].map(_p_text),
        "Real difference?": t["significant"].map({True: "yes", False: "no"}), "n": t["n"]}),
        "Key measures across groups: tests with corrected p-values", base=int(t["n"].max()), index=False,
        note="Holm correction across the whole table; effect sizes: epsilon-squared (several groups; 0.01 small, "
             "0.06 medium, 0.14 large) or rank-biserial r (two groups). " + interval_note(t["effect_size_name"]))
    for m, per_attr in syn.group_estimates.items():
        per_attr = {a: e for a, e in per_attr.items() if not e.empty}
        if not per_attr:
            continue
        fig = grp.plot_group_estimates(per_attr, MEASURE_LABEL.get(m, m))
        n = int(sum(e["n"].sum() for e in per_attr.values()) / max(len(per_attr), 1))
        show_figure(fig, f"{MEASURE_LABEL.get(m, m)} by group with 95% intervals", base=n,
                    note=("Weighted like the survey report; each group's base in brackets."
                          if syn.survey is not None and "weight" in syn.survey.data.columns else None))


def show_triangulation(syn) -> None:
    if syn.say_do is None:
        show_note("Survey answers could not be linked to CRM records (no customer ids), so the say-do gap is not measured.")
    else:
        c = syn.say_do["churn_by_category"]
        show_note(_say_do_sentence(c))
        show_table(_rate_table(c, "churned", "churn rate", "NPS group"),
                   f"Churn within {syn.say_do.get('months', 'the')} months after the survey, by what customers said (NPS group)",
                   base=syn.say_do["base"], index=False)
        if "spend_by_category" in syn.say_do:
            show_table(_rate_table(syn.say_do["spend_by_category"], "cut spend", "share who cut spend", "NPS group"),
                       "Customers who cut their spend by half or more in the 6 months after the survey",
                       base=syn.say_do["base"], index=False)
        if len(syn.satisfaction_renewal):
            sr = syn.satisfaction_renewal
            show_table(_rate_table(sr, "churned", "churn rate", "Overall satisfaction (1-5)"),
                       "Churn after the survey by overall satisfaction (1-5)", base=int(sr["customers"].sum()), index=False)
    if len(syn.trust):
        show_table(syn.trust.rename(columns={"coverage": "customers covered"}), "How far each source can be trusted",
                   base=f"{len(syn.trust)} sources", index=False, percent=["customers covered"],
                   note="Base: respondents, participants or customers in each source; customers covered: the share of "
                        "the customer base the source speaks for.")


def _rate_table(t: pd.DataFrame, yes: str, rate: str, first: str) -> pd.DataFrame:
    """A rate table (customers, yes, rate, ci_low, ci_high) with reader's column names and one interval column."""
    return pd.DataFrame({first: [words(i) for i in t.index], "customers": t["customers"].to_numpy(),
                         yes: t["yes"].to_numpy(), rate: [f"{r:.1%}" for r in t["rate"]],
                         "95% interval": [_ci_text(lo, hi) for lo, hi in zip(t["ci_low"], t["ci_high"])]})


def _say_do_sentence(c: pd.DataFrame) -> str:
    """What the churn-by-NPS-group table says, in one sentence."""
    if "promoter" not in c.index or "detractor" not in c.index:
        return "Churn after the survey by what customers said."
    p, d = c.loc["promoter"], c.loc["detractor"]
    apart = p["ci_low"] > d["ci_high"] or p["ci_high"] < d["ci_low"]
    comp = ("more often than" if p["rate"] > d["rate"] else "less often than") if apart else "about as often as"
    return (f"{int(p['yes'])} of {int(p['customers'])} promoters ({p['rate']:.0%}) churned after saying they would recommend us — "
            f"{comp} detractors ({d['rate']:.0%})" + ("" if apart else ": the intervals overlap") +
            ". A high score alone does not say a customer will stay.")


def show_drivers(syn) -> None:
    if syn.drivers is None:
        show_note("Key drivers were not estimated for this study.")
        return
    d = syn.drivers
    names = {c: syn.labels.get(c, words(c)) for c in d.index}
    fix = [names[c] for c in d.index[d["quadrant"] == "fix first"]]
    if fix:
        show_note("Fix first (above-median importance, below-median performance): " + "; ".join(f.rstrip(".") for f in fix) + ".")
    show_table(pd.DataFrame({"#": range(1, len(d) + 1), "Attribute": [names[c] for c in d.index], "Importance": [f"{x:.0%}" for x in d["importance_share"]],
                             "Performance (% agreeing)": [f"{x:.0%}" for x in d["performance"]], "Quadrant": d["quadrant"],
                             "Coefficient": [f"{x:.2f}" for x in d["coef"]], "p": d["p_value"].map(_p_text)}),
               "What drives the recommendation score: relative importance (share of explained variance) and "
               "performance (% agreeing)", base=int(d["base"].iloc[0]), index=False,
               note=f"Relative importance by LMG (averaged over orderings); the attributes together explain "
                    f"{d['r2_total'].iloc[0]:.0%} of the variance of the score. Quadrants split at the medians.")
    numbers = {c: str(i) for i, c in enumerate(d.index, 1)}  # the attributes' texts would overlap in the chart
    show_figure(drv.plot_importance_performance(d, numbers), "Importance-performance: fix what matters most and performs worst",
                base=int(d["base"].iloc[0]), note="Each point is numbered as its row (#) in the table above.")


def show_year_over_year(syn, study) -> None:
    y = syn.yoy
    prev = study.params.study.previous_study
    if not prev:
        show_note("This is the first study of its series: no previous study is named (study.previous_study in the "
                  "study parameters), so there is nothing to compare with yet.")
        return
    if "error" in y:
        show_note(y["error"], "warning")
        return
    rows = []
    if "nps" in y:
        d = y["nps"]
        rows.append({"measure": "NPS (points)", "before": d["nps_b"], "now": d["nps_a"], "change": d["difference"],
                     "95% CI of change": f"{d['ci_low']:+.1f} to {d['ci_high']:+.1f}", "p": p_label(d["p_value"]),
                     "base": f"{d['n_b']:,} / {d['n_a']:,}", "_p": d["p_value"], "_lo": d["ci_low"], "_hi": d["ci_high"],
                     "_n": d["n_a"] + d["n_b"]})
    if "churn" in y:
        c = y["churn"]
        rows.append({"measure": "Logo churn (%)", "before": 100 * c["rate_before"], "now": 100 * c["rate_now"],
                     "change": 100 * c["difference"], "95% CI of change": f"{100 * c['ci_low']:+.1f} to {100 * c['ci_high']:+.1f}",
                     "p": p_label(c["p_value"]), "base": f"{c['base_before']:,} / {c['base_now']:,}",
                     "_p": c["p_value"], "_lo": 100 * c["ci_low"], "_hi": 100 * c["ci_high"], "_n": c["base_now"] + c["base_before"]})
    if rows:
        table = pd.DataFrame(rows)
        show_table(table[[c for c in table.columns if not c.startswith("_")]], f"Key metrics: {prev} → {study.name}",
                   base="bases per row (before / now)", index=False)
        for r in rows:
            record_finding(f"synthesis.yoy.{r['measure'].split()[0].lower()}",
                           f"{r['measure']}: {r['before']:.1f} in {prev}, {r['now']:.1f} now ({r['change']:+.1f}, p {r['p']}).",
                           metric=f"change in {r['measure']}", value=r["change"], ci_low=r["_lo"], ci_high=r["_hi"],
                           p_value=r["_p"], base=r["_n"], source="synthesis", show=False)
    if "themes" in y and len(y["themes"]):
        t = y["themes"]
        moved = t[t["trend"] != "stable"]
        shown = moved if len(moved) else t.head(10)
        n_now, n_before = y.get("theme_bases", (None, None))
        bases = (f"{n_now:,} participants now, {n_before:,} before" if n_now is not None else None)
        small = n_before is not None and min(n_now, n_before) < study.params.report.small_base
        show_table(pd.DataFrame({"Theme (code)": [words(c) for c in shown.index],
                                 f"share in {study.name}": [f"{x:.0%}" for x in shown["share_now"]],
                                 f"share in {prev}": [f"{x:.0%}" for x in shown["share_before"]],
                                 "change (points)": [f"{100 * x:+.0f}" for x in shown["change"]], "trend": shown["trend"]}),
                   "Interview themes that appeared, faded, rose or fell", base=bases, index=False,
                   note="Share of the coded interview participants voicing each code in each study; a change of at "
                        "least 10 points counts as a rise or fall."
                        + (" One of the studies has few participants: read the shares as rough." if small else ""))


def _metric_words(text, labels: dict) -> str:
    """Ids in a success metric as words: 'q_onboarding for segment = enterprise' ->
    'Onboarding satisfaction (1-5) for segment = enterprise'."""
    import re

    def one(m):
        tok = m.group(0)
        if tok in MEASURE_LABEL:
            return MEASURE_LABEL[tok]
        if tok in labels:
            return f'"{labels[tok].rstrip(".")}"'
        return words(tok)
    return re.sub(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b", one, str(text)) if isinstance(text, str) else text


def show_actions(syn) -> None:
    if syn.actions.empty:
        show_note("No actions yet: add them under synthesis.actions in the study params "
                  "(templates/action-plan.md shows the fields).")
        return
    show_table(syn.actions.assign(owner=syn.actions["owner"].map(words),
                                  **{"success metric": syn.actions["success metric"].map(lambda m: _metric_words(m, syn.labels))}),
               "Action plan: insight, action, owner, due date, success metric", base=f"{len(syn.actions)} actions", index=False,
               note="'agreed' rows come from the study params; 'suggested' rows follow from supported hypotheses "
                    "that have no agreed action yet.")

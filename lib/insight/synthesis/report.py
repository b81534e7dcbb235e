"""Display and record the synthesis: what the notebook shows, section by section."""
from __future__ import annotations

import pandas as pd

from insight.display import esc, p_label, show_figure, show_note, show_table
from insight.findings import record_finding
from insight.synthesis import drivers as drv
from insight.synthesis import groups as grp
from insight.synthesis.verdicts import evidence_table

VERDICT_LABEL = {"supported": "supported", "rejected": "rejected", "mixed": "mixed",
                 "not_enough_evidence": "not enough evidence"}
MEASURE_LABEL = {"q_nps": "NPS", "q_csat": "Satisfaction (1-5)", "q_onboarding": "Onboarding satisfaction (1-5)",
                 "q_renew": "Likelihood to continue (1-5)"}


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


def show_summary(syn) -> None:
    if not syn.summary:
        show_note("No insight could be drawn yet: no analysis recorded findings for this study.", "warning")
        return
    t = pd.DataFrame([{"#": i, "Insight": s["statement"], "Evidence": s.get("evidence", ""),
                       "Confidence": s.get("confidence", "")} for i, s in enumerate(syn.summary, 1)])
    show_table(t, "Executive summary: the top insights of the study", index=False,
               note="Confidence: high when significant evidence agrees across sources; medium with one "
                    "source; low when evidence is mixed or missing.")
    for n in syn.notes:
        show_note(n)


def show_verdicts(syn) -> None:
    v = syn.verdicts
    if v.empty:
        show_note("This study declares no hypotheses.")
        return
    t = v.assign(verdict=v["verdict"].map(VERDICT_LABEL))[
        ["hypothesis", "dimension", "statement", "verdict", "reason", "supporting", "contradicting", "inconclusive", "sources"]]
    show_table(t, "Verdict per hypothesis", base=f"{len(syn.findings):,} findings", index=False)


def show_evidence(syn, alpha: float = 0.05, min_participants: int = 3) -> None:
    for _, r in syn.verdicts.iterrows():
        ev = evidence_table(syn.findings, r["hypothesis"], alpha, min_participants)
        if ev.empty:
            show_note(f"{r['hypothesis']}: no finding tested it yet.", "warning")
            continue
        ev = ev.assign(p_value=ev["p_value"].map(lambda p: "" if p is None or pd.isna(p) else p_label(p).replace("= ", "")))
        show_table(ev, f"Evidence for {r['hypothesis']}: {r['statement']}", base=int(len(ev)), index=False,
                   note=f"Verdict: {VERDICT_LABEL[r['verdict']]} — {r['reason']}.")


def show_group_differences(syn) -> None:
    t = syn.group_tests
    if t.empty:
        show_note("No group comparison was possible (no survey answers or too few per group).")
        return
    show_table(t[["measure", "attribute", "test", "effect_size_name", "effect_size", "p_value", "p_adjusted", "significant", "n"]]
               .assign(measure=t["measure"].map(lambda m: MEASURE_LABEL.get(m, m))),
               "Key measures across groups: tests with corrected p-values", base=int(t["n"].max()), index=False,
               precision=3, note="Holm correction across the whole table; effect sizes: epsilon-squared (several "
                                 "groups) or rank-biserial r (two groups).")
    for m, per_attr in syn.group_estimates.items():
        per_attr = {a: e for a, e in per_attr.items() if not e.empty}
        if not per_attr:
            continue
        fig = grp.plot_group_estimates(per_attr, MEASURE_LABEL.get(m, m))
        n = int(sum(e["n"].sum() for e in per_attr.values()) / max(len(per_attr), 1))
        show_figure(fig, f"{MEASURE_LABEL.get(m, m)} by group with 95% intervals", base=n)


def show_triangulation(syn) -> None:
    if syn.say_do is None:
        show_note("Survey answers could not be linked to CRM records (no customer ids), so the say-do gap is not measured.")
    else:
        t = syn.say_do["churn_by_category"].reset_index().rename(columns={"nps_category": "NPS group"})
        show_table(t, "Churn within the months after the survey, by what customers said (NPS group)",
                   base=syn.say_do["base"], percent=["rate", "ci_low", "ci_high"], index=False)
        if "spend_by_category" in syn.say_do:
            t = syn.say_do["spend_by_category"].reset_index().rename(columns={"nps_category": "NPS group", "rate": "cut spend"})
            show_table(t, "Customers who cut their spend by half or more in the 6 months after the survey",
                       base=syn.say_do["base"], percent=["cut spend", "ci_low", "ci_high"], index=False)
        if len(syn.satisfaction_renewal):
            show_table(syn.satisfaction_renewal, "Churn after the survey by overall satisfaction (1-5)",
                       base=int(syn.satisfaction_renewal["customers"].sum()), percent=["rate", "ci_low", "ci_high"])
    if len(syn.trust):
        show_table(syn.trust, "How far each source can be trusted", index=False, percent=["coverage"])


def show_drivers(syn) -> None:
    if syn.drivers is None:
        show_note("Key drivers were not estimated for this study.")
        return
    d = syn.drivers
    show_table(d[["importance_share", "performance", "quadrant", "coef", "p_value"]], "What drives the recommendation score: "
               "relative importance (share of explained variance) and performance (% agreeing)", base=int(d["base"].iloc[0]),
               percent=["importance_share", "performance"], precision=1,
               note=f"Relative importance by LMG (averaged over orderings); the attributes together explain "
                    f"{d['r2_total'].iloc[0]:.0%} of the variance of the score.")
    show_figure(drv.plot_importance_performance(d), "Importance-performance: fix what matters most and performs worst",
                base=int(d["base"].iloc[0]))


def show_year_over_year(syn, study) -> None:
    y = syn.yoy
    prev = study.params.study.previous_study
    if not prev:
        show_note("This study names no previous study (study.previous_study), so nothing is compared over time.")
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
        show_table(table[[c for c in table.columns if not c.startswith("_")]], f"Key metrics: {prev} → {study.name}", index=False)
        for r in rows:
            record_finding(f"synthesis.yoy.{r['measure'].split()[0].lower()}",
                           f"{r['measure']}: {r['before']:.1f} in {prev}, {r['now']:.1f} now ({r['change']:+.1f}, p {r['p']}).",
                           metric=f"change in {r['measure']}", value=r["change"], ci_low=r["_lo"], ci_high=r["_hi"],
                           p_value=r["_p"], base=r["_n"], source="synthesis", show=False)
    if "themes" in y and len(y["themes"]):
        t = y["themes"]
        moved = t[t["trend"] != "stable"]
        show_table(moved if len(moved) else t.head(10), "Interview themes that appeared, faded, rose or fell",
                   percent=["share_now", "share_before", "change"],
                   note="Share of interview participants voicing each code in each study.")


def show_actions(syn) -> None:
    if syn.actions.empty:
        show_note("No actions yet: add them under synthesis.actions in the study params "
                  "(templates/action-plan.md shows the fields).")
        return
    show_table(syn.actions, "Action plan: insight, action, owner, due date, success metric", index=False,
               note="'agreed' rows come from the study params; 'suggested' rows follow from supported hypotheses "
                    "that have no agreed action yet.")

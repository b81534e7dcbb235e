"""From recorded findings to a verdict per hypothesis — the rule, in one place, documented and tested.

Each finding linked to a hypothesis carries `evidence` (supports / contradicts / inconclusive) and a
source (survey, crm, qual, ...). Its weight:

- **strong**: quantitative (survey, crm, success, journey) with p < alpha, or a non-significant
  quantitative result that the analysis still labelled supports/contradicts — under the shared rule
  (insight.stats.evidence_from) that happens only when the effect's interval settles the question
  (it rules out even a small effect in the expected direction: an equivalence argument);
- **moderate**: qualitative, voiced by at least `min_participants` participants (finding.base);
- **weak**: everything else (a non-significant difference, a handful of interviews).

Verdict:
- **supported**: strong support, and no strong contradiction;
  or moderate support from one source agreeing with strong support from another (noted as "sources agree");
- **rejected**: strong contradiction and no strong support;
- **mixed**: strong evidence both ways, or moderate support against strong contradiction or vice versa;
- **not enough evidence**: no strong evidence either way (only weak or inconclusive findings, or none).

Only qualitative support, however broad, gives at most "not enough evidence" with the note that it is
suggestive: a qualitative theme shows that something happens, not how often.
"""
from __future__ import annotations

import pandas as pd

QUANT_SOURCES = {"survey", "crm", "success", "journey", "data"}
SOURCE_LABELS = {"survey": "survey", "crm": "CRM records", "qual": "interviews", "success": "customer-success records",
                 "journey": "journey data", "data": "data checks", "synthesis": "synthesis"}


def source_label(source) -> str:
    """A finding's source as a reviewer reads it ('crm' -> 'CRM records')."""
    return SOURCE_LABELS.get(str(source), str(source))


def sources_text(sources) -> str:
    return ", ".join(source_label(s) for s in sorted(set(sources)))
VERDICTS = ("supported", "rejected", "mixed", "not_enough_evidence")


def finding_strength(row, alpha: float = 0.05, min_participants: int = 3) -> str:
    source = row.get("source") or ""
    p = row.get("p_value")
    evidence = row.get("evidence")
    if evidence not in ("supports", "contradicts"):
        return "weak"
    if source in QUANT_SOURCES:
        # significant, or settled by its interval (see evidence_from): either way a measured answer
        return "strong" if p is not None and not pd.isna(p) else "weak"
    if source == "qual":
        base = row.get("base")
        return "moderate" if base is not None and not pd.isna(base) and base >= min_participants else "weak"
    return "weak"


def verdict_for(findings: pd.DataFrame, alpha: float = 0.05, min_participants: int = 3) -> tuple[str, str]:
    """The verdict and a one-line reason for one hypothesis' findings."""
    if findings.empty:
        return "not_enough_evidence", "no finding tested this hypothesis"
    strength = findings.apply(lambda r: finding_strength(r, alpha, min_participants), axis=1)
    ev = findings["evidence"]
    s_sup = findings[(strength == "strong") & (ev == "supports")]
    s_con = findings[(strength == "strong") & (ev == "contradicts")]
    m_sup = findings[(strength == "moderate") & (ev == "supports")]
    m_con = findings[(strength == "moderate") & (ev == "contradicts")]
    if len(s_sup) and not len(s_con):
        if len(m_con):
            return "mixed", "a measured result supports it, but interviews contradict it"
        agree = set(s_sup["source"]) | set(m_sup["source"])
        if len(agree) > 1:
            return "supported", f"a significant result, and the sources agree ({sources_text(agree)})"
        return "supported", f"a significant result from one source ({sources_text(agree)})"
    if len(s_con) and not len(s_sup):
        if len(m_sup):
            return "mixed", "a measured result contradicts it, but interviews support it"
        if not (s_con["p_value"] < alpha).any():
            return "rejected", (f"the {sources_text(s_con['source'])} found no difference, and its interval rules out "
                                "even a small effect in the expected direction")
        return "rejected", "significant contradicting evidence and no significant support"
    if len(s_sup) and len(s_con):
        return "mixed", "measured evidence points both ways"
    # measured without a significant result (a non-significant difference, or an inconclusive test)
    measured = findings[findings["source"].isin(QUANT_SOURCES) & (strength == "weak")]
    if len(m_sup) and not len(m_con):
        if len(measured):
            return "not_enough_evidence", (f"the interviews support it, but the {sources_text(measured['source'])} "
                                           "found no significant difference")
        return "not_enough_evidence", "only qualitative support: suggestive, not measured"
    if len(m_con) and not len(m_sup):
        if len(measured):
            return "not_enough_evidence", (f"the interviews contradict it, and the {sources_text(measured['source'])} "
                                           "found no significant difference")
        return "not_enough_evidence", "only qualitative contradiction: suggestive, not measured"
    if len(m_sup) and len(m_con):
        return "not_enough_evidence", "interviews point both ways and nothing was measured"
    against = measured[measured["evidence"] == "contradicts"]
    if len(against):
        # measured, not significant, but labelled against the hypothesis by its report (for the survey: the
        # interval of the effect rules out even a small difference in the expected direction)
        return "not_enough_evidence", (f"the {sources_text(against['source'])} found no significant difference, and "
                                       "what it measured points against the hypothesis")
    return "not_enough_evidence", "no significant difference was found (it may exist but be too small to detect)"


VERDICT_COLUMNS = ["hypothesis", "dimension", "statement", "verdict", "reason", "supporting", "contradicting",
                   "inconclusive", "sources"]


def hypothesis_verdicts(findings: pd.DataFrame, hypotheses, alpha: float = 0.05,
                        min_participants: int = 3) -> pd.DataFrame:
    """One row per hypothesis of the study: verdict, reason, evidence counts by direction and source."""
    rows = []
    linked = findings[findings["hypothesis"].notna()] if not findings.empty else findings
    for h in hypotheses:
        f = linked[linked["hypothesis"] == h.id] if not linked.empty else linked
        f = f[~f["id"].astype(str).str.startswith("synthesis.")] if not f.empty else f
        verdict, reason = verdict_for(f, alpha, min_participants)
        ev = f["evidence"] if not f.empty else pd.Series(dtype=object)
        rows.append({
            "hypothesis": h.id, "dimension": h.dimension, "statement": h.statement, "verdict": verdict,
            "reason": reason, "supporting": int((ev == "supports").sum()),
            "contradicting": int((ev == "contradicts").sum()), "inconclusive": int((ev == "inconclusive").sum()),
            "sources": ", ".join(sorted(set(f["source"].dropna()))) if not f.empty else "",
        })
    # a study without hypotheses still gets the columns (the summary and action plan select on them)
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


def evidence_table(findings: pd.DataFrame, hypothesis: str, alpha: float = 0.05, min_participants: int = 3) -> pd.DataFrame:
    """The findings behind one hypothesis with their strength, for the reviewer."""
    f = findings[(findings["hypothesis"] == hypothesis) & ~findings["id"].astype(str).str.startswith("synthesis.")].copy()
    if f.empty:
        return pd.DataFrame(columns=["source", "evidence", "strength", "statement", "base", "p_value", "effect_size"])
    f["strength"] = f.apply(lambda r: finding_strength(r, alpha, min_participants), axis=1)
    # the effect's interval: its own (effect_ci_*), or the metric's when the metric is the effect size
    nan = pd.Series(float("nan"), index=f.index)
    same = pd.to_numeric(f.get("value", nan), errors="coerce").sub(pd.to_numeric(f["effect_size"], errors="coerce")).abs() < 1e-12
    for side in ("low", "high"):
        own = pd.to_numeric(f.get(f"effect_ci_{side}", nan), errors="coerce")
        f[f"effect_{side}"] = own.fillna(pd.to_numeric(f.get(f"ci_{side}", nan), errors="coerce").where(same))
    cols = ["source", "evidence", "strength", "statement", "base", "p_value", "effect_size", "effect_size_name",
            "effect_low", "effect_high", "notebook"]
    return f[cols].sort_values(["strength", "source"]).reset_index(drop=True)

"""The executive summary and the action plan."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from insight.synthesis.verdicts import sources_text

CONFIDENCE = {"supported": "high", "rejected": "high", "mixed": "low", "not_enough_evidence": "low"}


def _lower_first(s: str) -> str:
    """'Enterprise customers' -> 'enterprise customers', but 'APAC customers' stays."""
    return s[0].lower() + s[1:] if len(s) > 1 and s[1].islower() else s


def verdict_sentence(row) -> str:
    v = row["verdict"]
    s = row["statement"].rstrip(".")
    if v == "supported":
        return f"Confirmed: {_lower_first(s)} — {row['reason']}."
    if v == "rejected":
        return f"Not so: the evidence contradicts that {_lower_first(s)}."
    if v == "mixed":
        return f"Unclear: evidence on whether {_lower_first(s)} points both ways."
    return f"Open: not enough evidence yet on whether {_lower_first(s)}."


def executive_summary(verdicts: pd.DataFrame, extra: list[dict] | None = None, size: int = 6) -> list[dict]:
    """Top insights in plain words: decided hypotheses first (supported, then rejected), then the
    further insights given in `extra` (dicts with statement, evidence, confidence, rank), then open ones."""
    items = []
    order = {"supported": 0, "rejected": 1, "mixed": 3, "not_enough_evidence": 4}
    for _, r in verdicts.iterrows():
        conf = CONFIDENCE[r["verdict"]]
        if r["verdict"] == "supported" and "sources agree" not in r["reason"]:
            conf = "medium"
        items.append({"statement": verdict_sentence(r), "evidence": f"findings: {r['supporting']} supporting, "
                      f"{r['contradicting']} contradicting, {r['inconclusive']} inconclusive"
                      + (f" ({sources_text(r['sources'].split(', '))})" if r['sources'] else ""),
                      "confidence": conf, "hypothesis": r["hypothesis"], "rank": order[r["verdict"]]})
    for e in extra or []:
        items.append({"rank": 2, "hypothesis": None, **e})
    items.sort(key=lambda x: x["rank"])
    return items[:size]


def action_plan(params, verdicts: pd.DataFrame) -> pd.DataFrame:
    """Agreed actions from params.synthesis.actions, plus a suggested row for every supported hypothesis
    that has none yet (owner: the department owning its strategic question)."""
    rows = [{"insight": a.insight, "action": a.action, "owner": a.owner, "due": a.due,
             "success metric": a.success_metric, "hypothesis": a.hypothesis, "status": "agreed"}
            for a in params.synthesis.actions]
    covered = {a.hypothesis for a in params.synthesis.actions if a.hypothesis}
    owners = {q.id: q.owner for q in params.questions}
    due = params.study.period.end + dt.timedelta(days=params.synthesis.default_owner_due_days)
    hyps = {h.id: h for h in params.hypotheses}
    for _, r in verdicts[verdicts["verdict"] == "supported"].iterrows():
        if r["hypothesis"] in covered:
            continue
        h = hyps[r["hypothesis"]]
        metric = (f"{h.quant.measure} for {h.quant.group_by} = {', '.join(h.quant.groups or [])}".strip(" =")
                  if h.quant else "share of interviewees raising " + ", ".join(h.qual.supports if h.qual else []))
        rows.append({"insight": h.statement, "action": "to be agreed: an owner proposes the response",
                     "owner": owners.get(h.question, ""), "due": due, "success metric": metric,
                     "hypothesis": h.id, "status": "suggested"})
    return pd.DataFrame(rows, columns=["insight", "action", "owner", "due", "success metric", "hypothesis", "status"])

"""Findings of the qualitative notebooks, built from the analysis tables: each function returns a
list of keyword dicts for insight.findings.record_finding (ids prefixed "qual.", source "qual"),
so the notebooks stay thin and the wording is tested."""
from __future__ import annotations

import math

import pandas as pd


def _lab(code: str) -> str:
    return str(code).replace("_", " ")


def _num(v):
    return None if v is None or (isinstance(v, float) and (math.isnan(v) or math.isinf(v))) else float(v)


def code_links(hypotheses) -> dict[str, list[tuple[str, str]]]:
    """code -> [(hypothesis id, 'supports' | 'contradicts')] from the params' qual specs."""
    out: dict[str, list[tuple[str, str]]] = {}
    for h in hypotheses:
        if h.qual is None:
            continue
        for c in h.qual.supports:
            out.setdefault(c, []).append((h.id, "supports"))
        for c in h.qual.contradicts:
            out.setdefault(c, []).append((h.id, "contradicts"))
    return out


def hypothesis_findings(evidence: pd.DataFrame) -> list[dict]:
    out = []
    for r in evidence.itertuples(index=False):
        con = (f", {r.contradicting} ({r.contradicting_share:.0%}) raised contradicting ones ({r.contradicting_codes})"
               if r.contradicting_codes != "—" else "")
        verdict = {"supports": "the interviews support it", "contradicts": "the interviews contradict it",
                   "inconclusive": "the interviews are inconclusive"}[r.evidence]
        out.append(dict(
            id=f"qual.{r.hypothesis}",
            statement=(f"{r.hypothesis} — {r.statement} {r.supporting} of {r.base} participants "
                       f"({r.supporting_share:.0%}) raised supporting codes ({r.supporting_codes}){con}: {verdict}."),
            metric="share of participants with supporting codes", value=_num(r.supporting_share), base=int(r.base),
            test="participant count rule (see the notebook's method note)", hypothesis=r.hypothesis,
            evidence=r.evidence, source="qual", severity="key" if r.evidence != "inconclusive" else "info",
            extra={"supporting": int(r.supporting), "contradicting": int(r.contradicting), "both": int(r.both),
                   "missing_codes": r.missing_codes}))
    return out


def concentration_findings(conc: pd.DataFrame, attribute: str, value: str, hypotheses=(), alpha: float = 0.05,
                           max_findings: int = 3) -> list[dict]:
    """Codes significantly more frequent in the focus group (Holm-adjusted Fisher p < alpha)."""
    links = code_links(hypotheses)
    sig = conc[(conc["p_adjusted"] < alpha) & (conc["difference"] > 0)].head(max_findings)
    group = f"{_lab(value)} participants ({_lab(attribute)} = {value})"
    base = int(conc["focus_base"].iloc[0] + conc["others_base"].iloc[0]) if len(conc) else 0
    if sig.empty:
        lead = conc[conc["difference"] > 0].sort_values("p_value").head(1)
        hint = ""
        if len(lead):
            r = lead.iloc[0]
            hint = (f" The largest gap, '{_lab(r['code'])}' ({r['focus_share']:.0%} of them against "
                    f"{r['others_share']:.0%} of the others, p = {r['p_value']:.3f} before and {r['p_adjusted']:.3f} "
                    f"after adjusting for {len(conc)} codes), is a lead to check with more {_lab(value)} participants.")
        return [dict(id=f"qual.concentrated.{attribute}.none",
                     statement=f"No code is significantly more frequent among {group} than among other participants." + hint,
                     base=base, test=f"Fisher's exact test per code, Holm-adjusted over {len(conc)} codes",
                     p_value=_num(lead["p_adjusted"].iloc[0]) if len(lead) else None,
                     source="qual", severity="info")]
    out = []
    for r in sig.itertuples(index=False):
        linked = links.get(r.code, [])
        hyp = linked[0][0] if linked else None
        out.append(dict(
            id=f"qual.concentrated.{r.code}",
            statement=(f"'{_lab(r.code)}' is concentrated among {group}: {r.focus_share:.0%} of them "
                       f"({r.focus_with} of {r.focus_base}) raised it, against {r.others_share:.0%} of the others "
                       f"({r.others_with} of {r.others_base})."),
            metric=f"share of {value} participants with the code", value=_num(r.focus_share), base=base,
            test=f"Fisher's exact test, Holm-adjusted over {len(conc)} codes", p_value=_num(r.p_adjusted),
            effect_size=_num(r.odds_ratio), effect_size_name="odds ratio", hypothesis=hyp,
            evidence=linked[0][1] if linked else None, source="qual", severity="key",
            extra={"code": r.code, "others_share": _num(r.others_share), "p_unadjusted": _num(r.p_value),
                   "linked_hypotheses": [h for h, _ in linked]}))
    return out


def saturation_finding(status: dict) -> dict:
    return dict(id="qual.saturation", statement=status["message"], metric="new codes in the most recent interviews",
                value=float(status["recent_new"]), base=int(status["interviews"]), source="qual",
                severity="info" if status["reached"] else "warning",
                extra={"total_codes": status["total_codes"], "last_new_at": status.get("last_new_at")})


def reliability_finding(rel: pd.DataFrame, good: float = 0.8, tentative: float = 0.667) -> dict | None:
    if rel.empty:
        return None
    overall = rel.iloc[-1]
    weak = rel.iloc[:-1]
    weak = weak[weak["alpha"] < tentative]["code"].tolist()
    a = overall["alpha"]
    verdict = overall["verdict"].split(":")[0]
    statement = (f"Coders agree at Krippendorff's alpha {a:.2f} over {int(overall['units'])} double-coded "
                 f"decisions ({verdict})." + (f" Codes below {tentative}: {', '.join(map(_lab, weak))} — refine "
                                               "their definitions before relying on them." if weak else ""))
    return dict(id="qual.reliability", statement=statement, metric="Krippendorff's alpha (nominal, all codes)",
                value=_num(a), base=int(overall["units"]), test="Krippendorff's alpha; Cohen's kappa for two coders",
                effect_size=_num(overall["kappa"]), effect_size_name="Cohen's kappa", source="qual",
                severity="info" if a >= good else "warning", extra={"weak_codes": weak})


def theme_findings(themes: pd.DataFrame, n_texts: int, label: str, slug: str) -> list[dict]:
    out = []
    for r in themes.itertuples(index=False):
        out.append(dict(
            id=f"qual.theme.{slug}.{r.theme}",
            statement=(f"Suggested theme in {label}: '{r.label}' — {r.share:.0%} of {n_texts} texts "
                       f"(top terms: {r.top_terms})."),
            metric="share of texts", value=_num(r.share), base=int(n_texts), test="TF-IDF + NMF (suggestion)",
            source="qual", severity="info", extra={"top_terms": r.top_terms}))
    return out


__all__ = ["code_links", "hypothesis_findings", "concentration_findings", "saturation_finding",
           "reliability_finding", "theme_findings"]

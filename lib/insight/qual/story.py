"""Findings of the qualitative notebooks, built from the analysis tables: each function returns a
list of keyword dicts for insight.findings.record_finding (ids prefixed "qual.", source "qual"),
so the notebooks stay thin and the wording is tested."""
from __future__ import annotations

import math

import pandas as pd

from insight.labels import label


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
        con = (f", {r.contradicting} ({r.contradicting_share:.0%}) raised contradicting ones "
               f"({label(r.contradicting_codes)})" if r.contradicting_codes != "—" else "")
        verdict = {"supports": "the qualitative evidence supports it", "contradicts": "the qualitative evidence contradicts it",
                   "inconclusive": "the qualitative evidence is inconclusive"}[r.evidence]
        grp = ""
        if isinstance(r.focus_group, str):
            grp = (f"; {r.focus_share:.0%} of {label(r.focus_group)} participants raised them against "
                   f"{r.others_share:.0%} of the others")
        why = (f", as the codes are not more frequent among {label(r.focus_group)} participants than among the others"
               if r.group_note and r.evidence == "inconclusive" and isinstance(r.focus_group, str) else "")
        out.append(dict(
            id=f"qual.{r.hypothesis}",
            statement=(f"{r.hypothesis} — {r.statement} {r.supporting} of {r.base} participants "
                       f"({r.supporting_share:.0%}) raised supporting codes ({label(r.supporting_codes)}){con}{grp}: "
                       f"{verdict}{why}."),
            metric="% of participants with supporting codes",
            value=None if _num(r.supporting_share) is None else round(100 * r.supporting_share, 1), base=int(r.base),
            test="participant count rule (see 'Evidence for each hypothesis')", hypothesis=r.hypothesis,
            evidence=r.evidence, source="qual", severity="key" if r.evidence != "inconclusive" else "info",
            extra={"supporting": int(r.supporting), "contradicting": int(r.contradicting), "both": int(r.both),
                   "missing_codes": r.missing_codes, "focus_group": r.focus_group if isinstance(r.focus_group, str) else None,
                   "focus_share": _num(r.focus_share), "others_share": _num(r.others_share)}))
    return out


def concentration_findings(conc: pd.DataFrame, attribute: str, value: str, hypotheses=(), alpha: float = 0.05,
                           max_findings: int = 3) -> list[dict]:
    """Codes significantly more frequent in the focus group (Holm-adjusted Fisher p < alpha)."""
    from insight.stats import is_significant

    links = code_links(hypotheses)
    real = conc["p_adjusted"].map(lambda p: is_significant(p, alpha)).astype(bool)
    sig = conc[real & (conc["difference"] > 0)].head(max_findings)
    group = f"{label(value)} participants ({label(attribute)} = {value})"
    base = int(conc["focus_base"].iloc[0] + conc["others_base"].iloc[0]) if len(conc) else 0
    fewer = conc[real & (conc["difference"] < 0)].head(max_findings)
    less = ("" if fewer.empty else " Significantly less frequent among them: " + "; ".join(
        f"'{label(r.code)}' ({r.focus_share:.0%} against {r.others_share:.0%} of the others)"
        for r in fewer.itertuples(index=False)) + ".")
    if len(conc):
        group = f"the {int(conc['focus_base'].iloc[0])} {group}"
    if sig.empty:
        lead = conc[conc["difference"] > 0].sort_values("p_value").head(1)
        hint = ""
        if len(lead):
            r = lead.iloc[0]
            hint = (f" The largest gap, '{label(r['code'])}' ({r['focus_share']:.0%} of them against "
                    f"{r['others_share']:.0%} of the others, p = {r['p_value']:.3f} before and {r['p_adjusted']:.3f} "
                    f"after adjusting for {len(conc)} codes), is a lead to check with more {label(value)} participants.")
        return [dict(id=f"qual.concentrated.{attribute}.none",
                     statement=(f"No code is significantly more frequent among {group} than among other "
                                f"participants." + hint + less),
                     base=base, test=f"Fisher's exact test per code, Holm-adjusted over {len(conc)} codes",
                     p_value=_num(lead["p_adjusted"].iloc[0]) if len(lead) else None,
                     source="qual", severity="info")]
    out = []
    for r in sig.itertuples(index=False):
        linked = links.get(r.code, [])
        hyp = linked[0][0] if linked else None
        out.append(dict(
            id=f"qual.concentrated.{r.code}",
            statement=(f"'{label(r.code)}' is concentrated among {group}: {r.focus_share:.0%} of them "
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


def reliability_finding(rel: pd.DataFrame, good: float = 0.8, tentative: float = 0.667,
                        min_units: int = 0) -> dict | None:
    """The overall inter-coder agreement on the coefficient that fits the design (see
    reliability.choose_coefficient), with its 95% interval and why it was chosen; with fewer than
    `min_units` double-coded excerpts, a warning that reliability cannot be judged yet; when the
    coefficient cannot be computed (no variation, nothing pairable), a warning that says so."""
    if rel.empty:
        return None
    overall = rel.iloc[-1]
    name = overall.get("coefficient", "Krippendorff's alpha")
    a = overall.get("value", overall["alpha"])
    n_units = int(rel.iloc[:-1]["units"].max()) if len(rel) > 1 else int(overall["units"])
    test = f"{name}; chosen because {overall.get('why', 'it allows any number of coders and missing codings')}"
    if n_units < min_units:
        return dict(id="qual.reliability",
                    statement=(f"Only {n_units} excerpts were double-coded: too few to judge whether the coding is "
                               f"reliable (at least {min_units} are needed). Have a second analyst code 10-20% of "
                               "the excerpts."),
                    metric="double-coded excerpts", value=float(n_units), base=n_units,
                    test=test, source="qual", severity="warning",
                    extra={"coefficient": name, "value": _num(a), "decisions": int(overall["units"])})
    if _num(a) is None:
        return dict(id="qual.reliability",
                    statement=(f"Agreement between coders cannot be computed from the {int(overall['units']):,} double-coded "
                               "decisions: the coders never disagree on a code that varies, or no excerpt was coded by "
                               "two of them. Have a second analyst code 10-20% of the excerpts across all codes."),
                    metric="double-coded decisions", value=float(overall["units"]), base=int(overall["units"]),
                    test=test, source="qual", severity="warning", extra={"coefficient": name})
    weak = rel.iloc[:-1]
    weak = weak[weak.get("value", weak["alpha"]) < tentative]["code"].tolist()
    verdict = overall["verdict"].split(":")[0]
    lo, hi = _num(overall.get("ci_low")), _num(overall.get("ci_high"))
    ci = f", 95% CI {lo:.2f} to {hi:.2f}" if lo is not None and hi is not None else ""
    statement = (f"Agreement between coders: {name} {a:.2f}{ci} over {int(overall['units']):,} double-coded "
                 f"decisions ({verdict})." + (f" Codes below {tentative}: {', '.join(map(label, weak))} — refine "
                                               "their definitions before relying on them." if weak else ""))
    return dict(id="qual.reliability", statement=statement, metric=f"{name} (all codes)",
                value=_num(a), ci_low=lo, ci_high=hi, base=int(overall["units"]), test=test,
                effect_size=_num(overall["alpha"]) if name != "Krippendorff's alpha" else _num(overall["kappa"]),
                effect_size_name="Krippendorff's alpha" if name != "Krippendorff's alpha" else "Cohen's kappa",
                source="qual", severity="info" if a >= good else "warning",
                extra={"weak_codes": weak, "coefficient": name, "why": overall.get("why")})


def theme_findings(themes: pd.DataFrame, n_texts: int, label: str, slug: str, top: int | None = None) -> list[dict]:
    """One finding per suggested theme (the `top` largest only when given); the statement says
    they are suggestions for the codebook, not conclusions."""
    out = []
    rows = themes if top is None else themes.head(top)
    for r in rows.itertuples(index=False):
        first = top is not None and r.theme == themes["theme"].iloc[0]
        ties = int((themes["texts"] == themes["texts"].iloc[0]).sum())
        which = (f"The largest of {len(themes)} suggested themes" if ties == 1 else
                 f"One of the {ties} equally large of {len(themes)} suggested themes")
        lead = (f"{which} in {label} (suggestions to seed the codebook, not conclusions)" if first
                else f"Suggested theme in {label}")
        out.append(dict(
            id=f"qual.theme.{slug}.{r.theme}",
            statement=(f"{lead}: '{r.label}' — {r.share:.0%} of {n_texts} texts "
                       f"(top terms: {r.top_terms})."),
            metric="% of texts", value=None if _num(r.share) is None else round(100 * r.share, 1), base=int(n_texts),
            test="TF-IDF + NMF (suggestion)",
            source="qual", severity="info", extra={"top_terms": r.top_terms}))
    return out


def immersion_finding(timeline: pd.DataFrame, top: int = 3) -> dict | None:
    """What the immersion's observation log says most often, and which themes recur every week."""
    if timeline.empty:
        return None
    coded = timeline[timeline["code"] != "uncoded"]
    entries = int(timeline["source_id"].nunique())
    weeks = int(timeline["week"].max()) if timeline["week"].notna().any() else 0
    counts = coded.groupby("code")["source_id"].nunique().sort_values(ascending=False, kind="stable")
    counts = counts.reset_index().sort_values(["source_id", "code"], ascending=[False, True])
    most = ", ".join(f"{label(c)} ({n} entr{'y' if n == 1 else 'ies'})" for c, n in zip(counts["code"].head(top), counts["source_id"].head(top)))
    every = sorted(coded.groupby("code")["week"].nunique().loc[lambda s: s >= weeks].index) if weeks > 1 else []
    statement = (f"On the customer's site the researcher logged {entries} observations over {weeks} week(s); the "
                 f"themes seen most often: {most}." if most else
                 f"On the customer's site the researcher logged {entries} observations over {weeks} week(s), none coded yet.")
    if every:
        statement += f" Seen every week: {', '.join(map(label, every))}."
    return dict(id="qual.immersion", statement=statement, metric="observation-log entries", value=float(entries),
                base=entries, source="qual", severity="info",
                extra={"weeks": weeks, "top_codes": counts["code"].head(top).tolist(), "every_week": every})


__all__ = ["immersion_finding", "code_links", "hypothesis_findings", "concentration_findings", "saturation_finding",
           "reliability_finding", "theme_findings"]

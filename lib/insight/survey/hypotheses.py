"""Hypothesis tests on the survey: every hypothesis whose quant spec has source "survey" is tested
with the test that fits its measure (insight.stats.compare_groups), the p-values are corrected
across the hypotheses, and the evidence (supports / contradicts / inconclusive) is judged from
the direction, the corrected p and the effect's interval."""
from __future__ import annotations

import math

import pandas as pd

from insight.stats import (CORRECTION_LABELS, StatsInputError, compare_groups, evidence_for, p_adjust)
from insight.survey.questionnaire import Questionnaire

COLUMNS = ["hypothesis", "statement", "measure", "group_by", "comparison", "expected", "test", "n", "statistic",
           "p_value", "p_adjusted", "effect_size_name", "effect_size", "ci_low", "ci_high", "difference",
           "direction", "evidence", "reason", "groups"]


def measure_type(qn: Questionnaire, measure: str) -> str:
    if "__" in measure and qn.column_question(measure) is not None:
        return "binary"
    q = qn.question(measure)
    if q.type in ("nps", "csat", "ces", "rating", "likert", "attention"):
        return "ordinal"
    if q.type in ("pmf", "single"):
        return "categorical"
    raise StatsInputError(f"question {measure} is {q.type}; hypotheses need a closed question")


def survey_hypotheses(params) -> list:
    return [h for h in params.hypotheses if h.quant is not None and h.quant.source == "survey"]


def hypothesis_tests(df: pd.DataFrame, qn: Questionnaire, hypotheses: list, *, correction: str = "holm",
                    alpha: float = 0.05, confidence: float = 0.95) -> pd.DataFrame:
    """One row per hypothesis (see COLUMNS). A hypothesis that cannot be tested (unknown measure,
    a group without answers) gets evidence 'inconclusive' and the reason, never a crash."""
    rows = []
    for h in hypotheses:
        spec = h.quant
        row = {"hypothesis": h.id, "statement": h.statement, "measure": spec.measure, "group_by": spec.group_by,
               "expected": spec.expected, "evidence": "inconclusive"}
        try:
            if spec.measure not in qn and qn.column_question(spec.measure) is None:
                raise StatsInputError(f"measure {spec.measure!r} is not a question of the questionnaire; fix "
                                      f"hypotheses[{h.id}].quant.measure (questions: {', '.join(q.id for q in qn.questions)})")
            mtype = measure_type(qn, spec.measure)
            res = compare_groups(df, spec.measure, spec.group_by, mtype, groups=spec.groups, confidence=confidence,
                                 table="survey_responses")
            comparison = (f"{res.groups[0]} vs {res.groups[1]}" if len(res.groups) == 2 else
                          f"{len(res.groups)} groups of {spec.group_by}")
            summ = res.summary
            groups_txt = "; ".join(
                f"{g}: " + (f"mean {r['mean']:.2f} (n={int(r['n'])})" if "mean" in summ.columns else f"n={int(r['n'])}")
                for g, r in summ.iterrows())
            row.update(comparison=comparison, test=res.test, n=res.n, statistic=res.statistic, p_value=res.p_value,
                       effect_size_name=res.effect_size_name, effect_size=res.effect_size, ci_low=res.ci_low,
                       ci_high=res.ci_high, difference=res.difference, direction=res.direction, reason=res.reason,
                       groups=groups_txt, _result=res)
        except (StatsInputError, KeyError, ValueError) as exc:
            row.update(reason=f"not tested: {exc}", p_value=math.nan)
        rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(columns=COLUMNS)
    out["p_adjusted"] = p_adjust(out["p_value"].astype(float), correction)
    for i, r in out.iterrows():
        res = r.get("_result")
        if isinstance(res, object) and hasattr(res, "effect_size"):
            out.at[i, "evidence"] = evidence_for(res, r["expected"], r["p_adjusted"], alpha)
    out.attrs["correction"] = CORRECTION_LABELS.get(correction, correction)
    return out.drop(columns=["_result"], errors="ignore").reindex(columns=COLUMNS)


def hypothesis_sentence(r: pd.Series, alpha: float = 0.05) -> str:
    """A plain-language statement of one tested hypothesis."""
    if str(r.get("reason", "")).startswith("not tested"):
        return f"{r['hypothesis']} could not be tested on the survey: {r['reason'][12:]}"
    from insight.stats import difference_words, is_significant

    sig = is_significant(r["p_adjusted"], alpha)
    verdict = {"supports": "supports", "contradicts": "contradicts", "inconclusive": "neither supports nor contradicts"}[r["evidence"]]
    diff = r["difference"]
    shift = (f" (difference in means {_signed(diff)} points)" if isinstance(diff, float) and not math.isnan(diff)
             and r["effect_size_name"] != "difference in proportions" else "")
    why = ""
    if not sig and r["evidence"] == "contradicts":
        why = ": the interval of the effect rules out even a small difference in the expected direction"
    elif not sig and r["evidence"] == "inconclusive":
        why = ": too little data to tell"
    return (f"{r['hypothesis']}: the survey {verdict} the hypothesis \"{r['statement']}\" — "
            f"{str(r['comparison']).replace('_', ' ')}{shift}, {difference_words(r['p_adjusted'], alpha)} "
            f"({r['test']}, corrected p {'<' if sig else '≥'} {alpha:g}){why}.")


def _signed(v: float, digits: int = 2) -> str:
    """'+0.25', '-0.81', and '0.00' rather than '-0.00' for a value that rounds to zero."""
    text = f"{v:+.{digits}f}"
    return f"{0:.{digits}f}" if float(text) == 0 else text


def record_hypothesis_findings(results: pd.DataFrame, alpha: float = 0.05, show: bool = True) -> list:
    """Record one finding per tested hypothesis (ids survey.<hypothesis id>)."""
    from insight.findings import record_finding

    out = []
    for _, r in results.iterrows():
        tested = not str(r.get("reason", "")).startswith("not tested")
        fields = dict(hypothesis=r["hypothesis"], evidence=r["evidence"], source="survey",
                      severity="key" if tested and r["evidence"] != "inconclusive" else "info",
                      extra={"measure": r["measure"], "group_by": r["group_by"], "comparison": r.get("comparison"),
                             "expected": r["expected"], "correction": results.attrs.get("correction", ""),
                             "p_uncorrected": None if pd.isna(r["p_value"]) else float(r["p_value"])})
        if tested:
            has_effect = not pd.isna(r["effect_size"])
            r3 = lambda v: None if pd.isna(v) else round(float(v), 3)   # effect sizes read to 3 decimals
            fields.update(metric=f"{r['effect_size_name']} ({r['measure']}, {r['comparison']})" if has_effect else r["measure"],
                          value=r3(r["effect_size"]) if has_effect else None,
                          base=int(r["n"]), test=r["test"], p_value=float(r["p_adjusted"]),
                          effect_size=r3(r["effect_size"]) if has_effect else None,
                          effect_size_name=r["effect_size_name"],
                          ci_low=r3(r["ci_low"]), ci_high=r3(r["ci_high"]))
            fields["extra"]["difference"] = None if pd.isna(r["difference"]) else float(r["difference"])
        out.append(record_finding(f"survey.{r['hypothesis']}", hypothesis_sentence(r, alpha), show=show, **fields))
    return out


def hypotheses_display(results: pd.DataFrame) -> pd.DataFrame:
    """A reviewer-readable table of hypothesis_tests: one row per hypothesis."""
    rows = []
    for _, r in results.iterrows():
        tested = not str(r.get("reason", "")).startswith("not tested")
        eff = "–"
        if tested and not pd.isna(r["effect_size"]):
            eff = f"{r['effect_size_name']} {_signed(r['effect_size'])}"
            if not pd.isna(r["ci_low"]):
                eff += f" ({_signed(r['ci_low'])} to {_signed(r['ci_high'])})"
        p = r["p_adjusted"]
        rows.append({"hypothesis": r["hypothesis"], "statement": r["statement"],
                     "comparison": r["comparison"] if tested else "–", "expected": r["expected"],
                     "groups": r["groups"] if tested else r["reason"], "test": r["test"] if tested else "–",
                     "corrected p": "–" if pd.isna(p) else ("< 0.001" if p < 0.001 else f"{p:.3f}"),
                     "effect size (95% interval)": eff, "evidence": r["evidence"]})
    return pd.DataFrame(rows)

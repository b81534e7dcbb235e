"""Everything the synthesis notebook shows, computed in one call so the executive summary can come first."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from insight.findings import load_findings
from insight.synthesis import drivers, groups, summary, triangulate, verdicts, yoy


@dataclass
class Synthesis:
    findings: pd.DataFrame
    verdicts: pd.DataFrame
    group_tests: pd.DataFrame = field(default_factory=pd.DataFrame)
    group_estimates: dict = field(default_factory=dict)
    say_do: dict | None = None
    satisfaction_renewal: pd.DataFrame = field(default_factory=pd.DataFrame)
    trust: pd.DataFrame = field(default_factory=pd.DataFrame)
    drivers: pd.DataFrame | None = None
    yoy: dict = field(default_factory=dict)
    summary: list = field(default_factory=list)
    actions: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list = field(default_factory=list)
    labels: dict = field(default_factory=dict)   # survey column -> question text, for tables and charts
    survey: object | None = None                 # the survey pipeline's run (cleaned, weighted; comparison wave)


def survey_run(study):
    """The survey pipeline's run of the study (cleaned and weighted respondents, and the comparison wave
    of the previous study cleaned and weighted the same way), or None without survey responses."""
    if not study.has("survey_responses"):
        return None
    from insight.survey.pipeline import prepare_survey
    return prepare_survey(study)


def survey_frame(study) -> pd.DataFrame | None:
    """The study's analysis-ready respondents (cleaned and weighted by the survey pipeline), or None."""
    run = survey_run(study)
    return None if run is None else run.data


def question_labels(questionnaire) -> dict[str, str]:
    """Survey column -> the question's text, so reviewers read 'The product is reliable.' rather than an id."""
    return {q.id: q.text for q in questionnaire.closed_questions} if questionnaire is not None else {}


def synthesize(study) -> Synthesis:
    p = study.params
    cfg = p.synthesis
    f = load_findings(study.name, study.project)
    v = verdicts.hypothesis_verdicts(f, p.hypotheses, cfg.alpha, cfg.min_participants)
    s = Synthesis(findings=f, verdicts=v)
    extra: list[dict] = []
    s.survey = survey_run(study)
    resp = None if s.survey is None else s.survey.data
    s.labels = question_labels(None if s.survey is None else s.survey.questionnaire)
    if resp is not None and len(resp):
        attrs = [a for a in cfg.group_attributes if a in resp.columns]
        s.group_tests = groups.group_differences(resp, cfg.key_measures, attrs, p.survey.correction if p.survey.correction != "none" else "holm",
                                                 alpha=cfg.alpha)
        for m in ("q_nps", "q_onboarding"):
            if m in resp.columns:
                s.group_estimates[m] = {a: groups.group_estimates(resp, m, a) for a in attrs}
        try:
            s.drivers = drivers.importance_performance(resp, cfg.driver_target, cfg.driver_items)
        except ValueError as exc:
            s.notes.append(f"Key drivers not estimated: {exc}")
    else:
        s.notes.append("No survey in this study: group differences and key drivers need survey answers.")
    if resp is not None and study.has("customers") and "customer_id" in resp.columns:
        orders = study.engine.table("orders") if study.has("orders") else None   # summed per respondent on the engine
        linked = triangulate.link_survey_to_crm(resp, study.table("customers"), orders, cfg.say_do_months)
        if len(linked):
            s.say_do = triangulate.say_do_gap(linked)
            s.say_do["base"] = len(linked)
            s.say_do["months"] = cfg.say_do_months
            from insight.findings import record_finding
            record_finding("synthesis.say_do.promoters_churned",
                           f"{s.say_do['promoters_churned']} of {s.say_do['promoters']} promoters churned within "
                           f"{cfg.say_do_months} months of the survey.", metric="promoters who churned",
                           value=s.say_do["promoters_churned"], base=s.say_do["promoters"], source="synthesis",
                           show=False, extra={"customers": s.say_do["churned_promoters"]["customer_id"].astype(str).tolist()})
            s.satisfaction_renewal = triangulate.satisfaction_vs_renewal(linked)
            pr = s.say_do["churn_by_category"]
            if s.say_do["promoters_churned"]:
                extra.append({"statement": f"Say-do gap: {s.say_do['promoters_churned']} of {s.say_do['promoters']} "
                              f"promoters ({pr.loc['promoter', 'rate']:.0%}) churned within {cfg.say_do_months} months "
                              "of saying they would recommend us — a high score alone does not mean a customer stays.",
                              "evidence": f"survey linked to CRM, n = {len(linked):,}", "confidence": "high"})
    s.trust = triangulate.source_trust(_source_bases(study, resp))
    if p.study.previous_study:
        s.yoy = _year_over_year(study, resp, s.survey)
        if "nps" in s.yoy:
            d = s.yoy["nps"]
            from insight.stats import difference_words, is_significant
            sig = is_significant(d["p_value"], cfg.alpha)
            changed = difference_words(d["p_value"], cfg.alpha, words={"supports": "changed",
                                                                       "inconclusive": "did not change significantly"})
            extra.append({"statement": f"NPS {changed} since "
                          f"{p.study.previous_study}: {d['nps_b']:+.0f} → {d['nps_a']:+.0f} "
                          f"({d['difference']:+.0f} points, 95% CI {d['ci_low']:+.0f} to {d['ci_high']:+.0f}).",
                          "evidence": f"survey waves, n = {d['n_a']:,} and {d['n_b']:,}",
                          "confidence": "high" if sig else "medium"})
    s.summary = summary.executive_summary(v, extra, cfg.summary_size)
    s.actions = summary.action_plan(p, v)
    return s


def _source_bases(study, resp) -> dict:
    out = {}
    n_customers = len(study.table("customers")) if study.has("customers") else None
    if resp is not None:
        linked = resp["customer_id"].nunique() if "customer_id" in resp.columns else None
        out["survey"] = {"base": len(resp), "coverage": (linked / n_customers) if linked and n_customers else None,
                         "note": "self-selected respondents; weighted to the customer base where margins are given"}
    if study.has("participants"):
        parts = study.table("participants")
        out["interviews"] = {"base": len(parts), "coverage": (parts["customer_id"].nunique() / n_customers)
                             if n_customers and "customer_id" in parts else None,
                             "note": "small purposive sample: shows why, not how many; check the sample coverage"}
    if study.has("orders") or study.has("subscriptions"):
        out["CRM records"] = {"base": n_customers or 0, "coverage": 1.0 if n_customers else None,
                              "note": "complete for what is recorded; behaviour, not motives"}
    return out


def _year_over_year(study, resp, run=None) -> dict:
    from insight.study import load_study
    out = {}
    prev_name = study.params.study.previous_study
    try:
        prev = load_study(prev_name, study.project)
    except Exception as exc:  # noqa: BLE001 - a broken previous study must not break this one
        return {"error": f"the previous study {prev_name} could not be loaded: {exc}"}
    if run is not None and run.compare is not None and "q_nps" in resp and "q_nps" in run.compare:
        # the survey report's own comparison (both waves cleaned and weighted the same way): the two
        # reports must show the same NPS change
        from insight.survey.pipeline import nps_trend
        out["nps"] = nps_trend(run)
    else:
        prev_resp = survey_frame(prev)
        if resp is not None and prev_resp is not None and "q_nps" in resp and "q_nps" in prev_resp:
            out["nps"] = yoy.nps_change(resp["q_nps"], prev_resp["q_nps"])
    if study.has("customers"):
        cur = (study.params.study.period.start, study.params.study.period.end)
        pp = prev.params.study.period
        try:
            out["churn"] = yoy.churn_change(study.table("customers"), cur, (pp.start, pp.end))
        except ValueError as exc:
            out["churn_error"] = str(exc)
    if study.has("coded_segments") and prev.has("coded_segments"):
        now_cs, before_cs = study.table("coded_segments"), prev.table("coded_segments")
        out["themes"] = yoy.theme_shift(now_cs, before_cs)
        out["theme_bases"] = (int(now_cs["participant_id"].nunique()), int(before_cs["participant_id"].nunique()))
    return out

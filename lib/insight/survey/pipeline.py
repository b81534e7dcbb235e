"""One call that takes a study's survey from raw responses to clean, weighted data, so the two
survey notebooks stay thin:

    survey = prepare_survey(study)
    survey.questionnaire, survey.wave, survey.raw, survey.cleaning, survey.raking, survey.data
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from insight.survey.clean import CleanResult, clean_responses
from insight.survey.fieldwork import wave_of
from insight.survey.questionnaire import Questionnaire, load_questionnaire
from insight.survey.weight import RakeResult, rake


@dataclass
class SurveyRun:
    config: object                       # params.survey
    questionnaire: Questionnaire
    wave: int
    raw: pd.DataFrame                    # all responses of the wave (before cleaning)
    cleaning: CleanResult
    raking: RakeResult
    data: pd.DataFrame                   # clean respondents with a `weight` column
    compare_wave: int | None = None
    compare: pd.DataFrame | None = None  # clean, weighted responses of the comparison wave
    small_base: int = 30
    tiny_base: int = 10
    compare_note: str = ""               # where the comparison wave came from, or why there is none

    @property
    def weighted(self) -> bool:
        return bool(self.config.weighting.margins)

    @property
    def weights(self) -> pd.Series:
        return self.data["weight"]


def _clean_and_weight(df: pd.DataFrame, qn: Questionnaire, cfg) -> tuple[CleanResult, RakeResult, pd.DataFrame]:
    res = clean_responses(df, qn, speeder_fraction=cfg.speeder_fraction,
                          straightline_min_items=cfg.straightline_min_items, keep_partials=cfg.keep_partials,
                          drop_failed_attention=cfg.drop_failed_attention, out_of_range=cfg.out_of_range)
    rk = rake(res.data, cfg.weighting.margins, trim=cfg.weighting.trim, tolerance=cfg.weighting.tolerance,
              max_iter=cfg.weighting.max_iter)
    data = res.data.assign(weight=rk.weights)
    return res, rk, data


def prepare_survey(study, responses: pd.DataFrame | None = None) -> SurveyRun:
    """Load the questionnaire and the responses, pick the wave, clean and weight it (and the
    comparison wave when there is one). Raises SurveyDataError / WeightingError with the fix.

    On the study's own responses the run is kept in the study store (_kept_run) and reused by the
    other notebooks that ask (survey fieldwork, survey results, the synthesis at the end of a run)."""
    key = _run_key(study) if responses is None else None
    if key is not None and (kept := _kept_run(*key)) is not None:
        return kept
    run = _prepare_survey(study, responses)
    if key is not None:
        _keep_run(*key, run)
    return run


def _run_key(study):
    """(folder, name) of the kept run of `study`: a hash of everything a run depends on (the prepared
    data's fingerprint, which covers the responses and the questionnaire files; the study's params;
    the previous study's params and data fingerprint, for the comparison wave; the lib/insight source,
    as for the runner's reruns; the pandas, numpy and pyarrow versions, which the pickled frames depend
    on). None when the study has no prepared store."""
    import hashlib
    import json
    from pathlib import Path

    import numpy as np
    import pyarrow as pa

    from insight.data.prepare import data_fingerprint
    from insight.runner import package_hash

    try:
        tables = study.prepared.tables
        if not tables:
            return None
        folder = Path(next(iter(tables.values()))).parent / "derived"
        parts = {"data": study.prepared.fingerprint, "params": study.params.model_dump(mode="json"),
                 "code": package_hash(),
                 "packages": [pd.__version__, np.__version__, pa.__version__]}
        prev = getattr(study.params.study, "previous_study", None)
        if prev:
            try:
                from insight.params import load_params
                prev_params = load_params(prev, study.project)
                parts["previous"] = [prev_params.model_dump(mode="json"), data_fingerprint(prev_params, study.project)]
            except Exception as exc:  # noqa: BLE001 - the run says why the comparison is missing; a fix changes the key
                parts["previous"] = f"{type(exc).__name__}: {exc}"
        digest = hashlib.blake2b(json.dumps(parts, sort_keys=True, default=str).encode(), digest_size=10).hexdigest()
        return folder, f"survey-run-{digest}.pkl"
    except Exception:  # noqa: BLE001 - no store, no reuse: the run is computed as before
        return None


def _kept_run(folder, name) -> SurveyRun | None:
    """The kept run, or None when there is none or it cannot be read (it is then computed again)."""
    import pickle

    try:
        with open(folder / name, "rb") as fh:
            run = pickle.load(fh)
    except Exception:  # noqa: BLE001 - a missing, partial or stale file is recomputed, never trusted
        return None
    return run if isinstance(run, SurveyRun) else None


def _keep_run(folder, name, run: SurveyRun) -> None:
    """Write the run next to the study's prepared tables (a local file of the same project and code,
    like the derived tables): into a temporary file, then renamed, so a reader never sees half of it.
    Best effort: a read-only or full disk only costs the next notebook the time to compute it."""
    import os
    import pickle

    tmp = folder / f".tmp-{name}-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            pickle.dump(run, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, folder / name)
    except Exception:  # noqa: BLE001
        pass
    finally:
        tmp.unlink(missing_ok=True)


def _prepare_survey(study, responses: pd.DataFrame | None) -> SurveyRun:
    cfg = study.params.survey
    qn = load_questionnaire(cfg.questionnaire, study.project)
    allr = study.table("survey_responses") if responses is None else responses
    wave = wave_of(study, allr, cfg.wave)
    waves = pd.to_numeric(allr["wave"], errors="coerce")
    raw = allr[waves == wave].copy()
    cleaning, raking, data = _clean_and_weight(raw, qn, cfg)
    cmp_wave = cfg.compare_wave
    if cmp_wave is None:
        earlier = sorted(w for w in waves.dropna().astype(int).unique() if w < wave)
        cmp_wave = int(earlier[-1]) if earlier else None
    compare, note = None, ""
    if cmp_wave is not None and (waves == cmp_wave).any():
        compare = _clean_and_weight(allr[waves == cmp_wave].copy(), qn, cfg)[2]
        note = f"wave {cmp_wave} of this study's survey data"
    elif responses is None:
        compare, prev_wave, note = _previous_study_wave(study, qn, cfg, cmp_wave)
        if compare is not None:
            cmp_wave = prev_wave
    else:
        note = "the responses hold no earlier wave"
    small, tiny = cfg.bases(study.params)
    return SurveyRun(cfg, qn, wave, raw, cleaning, raking, data, cmp_wave if compare is not None else None,
                     compare, small, tiny, note)


def _previous_study_wave(study, qn: Questionnaire, cfg, wave: int | None):
    """(clean weighted responses, wave, note) of the previous study (params study.previous_study),
    when the study's own data has no earlier wave: successive annual studies are compared."""
    prev = getattr(study.params.study, "previous_study", None)
    if not prev:
        return None, None, "the study names no previous study (study.previous_study) and its data has one wave"
    try:
        from insight.study import load_study

        other = load_study(prev, study.project)
        if not other.has("survey_responses"):
            return None, None, f"the previous study {prev} has no survey responses"
        r = other.table("survey_responses")
        rw = pd.to_numeric(r["wave"], errors="coerce")
        w = wave_of(other, r, wave if wave is not None and (rw == wave).any() else None)
        data = _clean_and_weight(r[rw == w].copy(), qn, cfg)[2]
        return data, w, f"wave {w} of the previous study {prev}, cleaned and weighted the same way"
    except Exception as exc:  # noqa: BLE001 - the comparison is optional; the notebook says why it is missing
        return None, None, f"the previous study {prev} could not be used: {str(exc).splitlines()[0]}"


def banner_sections(survey: SurveyRun) -> list[tuple[str, list[str]]]:
    """(section title, closed question ids) per questionnaire section, for one banner table each;
    restricted to survey.banner_questions when params set it."""
    keep = set(survey.config.banner_questions or [q.id for q in survey.questionnaire.closed_questions])
    out = []
    for title, _ in survey.questionnaire.sections:
        ids = [q.id for q in survey.questionnaire.closed_questions if q.section == title and q.id in keep]
        if ids:
            out.append((title, ids))
    return out


def record_metric_findings(survey: SurveyRun, table: pd.DataFrame, show: bool = True) -> list:
    """Record the headline metrics (NPS, CSAT, CES, PMF) as findings survey.<metric>."""
    from insight.findings import record_finding
    from insight.survey.metrics import format_metric

    picks = [("q_nps", "NPS", "survey.nps", "Net Promoter Score"),
             ("q_csat", "% satisfied (top-2-box)", "survey.csat", "Customer satisfaction (top-2-box)"),
             ("q_ces", "% agree (5-7)", "survey.ces", "Customer effort: 'easy to get my issue resolved' (% agree)"),
             ("q_pmf", "% very disappointed (PMF)", "survey.pmf", "Product-market fit: % very disappointed")]
    out = []
    for qid, metric, fid, label in picks:
        row = table[(table["question"] == qid) & (table["metric"] == metric)]
        if row.empty or pd.isna(row["value"].iloc[0]):
            continue
        r = row.iloc[0]
        text = (f"{label} in the {survey.wave} survey: {format_metric(r['value'], r['unit'])} "
                f"(95% interval {format_metric(r['ci_low'], r['unit'])} to {format_metric(r['ci_high'], r['unit'])}"
                f"{', weighted' if survey.weighted else ''}).")
        severity = "info"
        if qid == "q_pmf":
            bench = survey.config.pmf_benchmark
            above = r["ci_low"] > bench
            below = r["ci_high"] < bench
            text += (f" That is {'above' if above else 'below' if below else 'not clearly different from'} the "
                     f"{bench:.0%} product-market-fit benchmark.")
            severity = "key" if below or above else "info"
        scale = 100.0 if r["unit"] == "%" else 1.0   # the detail line reads like the statement: 45 (%), not 0.448
        out.append(record_finding(fid, text, metric=metric, value=round(float(r["value"]) * scale, 1), base=int(r["n"]),
                                  ci_low=round(float(r["ci_low"]) * scale, 1), ci_high=round(float(r["ci_high"]) * scale, 1),
                                  source="survey",
                                  severity=severity, show=show,
                                  extra={"wave": survey.wave, "effective_base": float(r["n_eff"]),
                                         "weighted": survey.weighted}))
    return out


def nps_trend(survey: SurveyRun) -> dict | None:
    """NPS of the analysed wave against the comparison wave (adjusted-Wald z-test), or None."""
    from insight.stats import nps_difference

    if survey.compare is None:
        return None
    d = nps_difference(survey.data["q_nps"], survey.compare["q_nps"], survey.data["weight"], survey.compare["weight"],
                       survey.config.confidence)
    d.update(wave=survey.wave, compare_wave=survey.compare_wave)
    return d


def record_nps_trend(survey: SurveyRun, alpha: float = 0.05, show: bool = True):
    from insight.findings import record_finding

    d = nps_trend(survey)
    if d is None:
        return None
    from insight.stats import difference_words, is_significant

    sig = is_significant(d["p_value"], alpha)
    move = "fell" if d["difference"] < 0 else "rose"
    change = difference_words(d["p_value"], alpha, words={"supports": "a significant change",
                                                          "inconclusive": "within the margin of error"})
    text = (f"NPS {move} from {d['nps_b']:+.0f} in {d['compare_wave']} to {d['nps_a']:+.0f} in {d['wave']} "
            f"({d['difference']:+.0f} points; {change}).")
    return record_finding("survey.nps_trend", text, metric="NPS change (points)", value=d["difference"],
                          base=int(d["n_a"] + d["n_b"]), test="two-sample z on adjusted-Wald NPS variances",
                          p_value=d["p_value"], ci_low=d["ci_low"], ci_high=d["ci_high"], source="survey",
                          severity="key" if sig else "info", show=show,
                          extra={"wave": d["wave"], "compare_wave": d["compare_wave"]})


def banner_groups(survey: SurveyRun, max_columns: int = 8) -> list[list[str]]:
    """The banner variables split into tables of at most `max_columns` group columns each (in the
    params order), so a table stays readable on a page."""
    out: list[list[str]] = []
    width = 0
    for b in survey.config.banners:
        if b not in survey.data.columns:
            continue
        k = int(survey.data[b].nunique())
        if out and width + k <= max_columns:
            out[-1].append(b)
            width += k
        else:
            out.append([b])
            width = k
    return out


def plot_weights(weights: pd.Series):
    """Histogram of the respondents' weights (1 = the average respondent)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.hist(weights, bins=30)
    ax.set_xlabel("weight (1 = average respondent)")
    ax.set_ylabel("respondents")
    return fig


def record_weighting_finding(survey: SurveyRun, show: bool = True):
    """The weighting's cost in precision: design effect and effective base, as a finding."""
    from insight.findings import record_finding
    from insight.stats import design_effect, effective_n

    rk = survey.raking
    deff, neff = design_effect(survey.weights), effective_n(survey.weights)
    return record_finding(
        "survey.weighting",
        f"Weighting to the population on {', '.join(survey.config.weighting.margins)} gives a design effect "
        f"of {deff:.2f}: the {len(survey.data):,} respondents are worth {neff:,.0f} unweighted ones."
        + (f" Trimming {rk.trimmed:,} weight(s) at the caps brought the design effect down from "
           f"{rk.deff_untrimmed:.2f} (effective base {len(survey.data) / rk.deff_untrimmed:,.0f})."
           if rk.deff_untrimmed is not None and rk.trimmed else ""),
        metric="design effect", value=deff, base=len(survey.data), source="survey",
        severity="warning" if deff > 2 else "info", show=show,
        extra={"effective_base": neff, "converged": rk.converged, "max_error": rk.max_error,
               "deff_untrimmed": rk.deff_untrimmed, "trimmed": rk.trimmed})

"""Test (pilot) and field the survey: the pilot check and the field status.

- pilot_check: items nobody answered, routing (skip-logic) violations, items without variance,
  median completion time, on the first responses of the wave.
- field status: responses per day (started and completed), completion rate, quota fill against
  the phase 1 sample targets (params.scope.sample.survey_targets, else .targets).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from insight.labels import label, labels_of

from insight.survey.questionnaire import Questionnaire


def wave_of(study, responses: pd.DataFrame, wave: int | None = None) -> int:
    """The wave analysed: `wave` when given, else the study period's year when present, else the latest."""
    waves = sorted(pd.to_numeric(responses["wave"], errors="coerce").dropna().astype(int).unique())
    if not waves:
        raise ValueError("survey_responses has no wave values; fix: add the wave (survey year) column")
    if wave is not None:
        if wave not in waves:
            raise ValueError(f"survey_responses has no wave {wave}; it has {waves}; fix survey.wave in params")
        return int(wave)
    year = study.period.start.year if study is not None else None
    return int(year) if year in waves else int(waves[-1])


def pilot_check(df: pd.DataFrame, qn: Questionnaire, first_n: int | None = 50) -> tuple[pd.DataFrame, dict]:
    """Check the first `first_n` responses (by start time) as a pilot. Returns (issues, summary):
    issues has one row per problem (check, question, detail, respondents); summary holds the
    pilot size, completes and the median completion time in minutes."""
    d = df.sort_values("started_at").head(first_n) if first_n else df
    done = d["completed"].fillna(False).astype(bool)
    issues = []
    for q in qn.questions:
        cols = [c for c in q.columns if c in d.columns]
        if not cols:
            issues.append(("missing column", q.id, "the question has no column in the data", len(d)))
            continue
        asked = qn.asked_mask(d, q)
        answered = qn.answered(d, q)
        if asked.any() and not answered[asked].any():
            issues.append(("nobody answered", q.id, f"asked of {int(asked.sum())} pilot respondents, answered by none", int(asked.sum())))
        violations = answered & ~asked
        if violations.any():
            issues.append(("routing violation", q.id, f"answered by {int(violations.sum())} respondents the routing "
                           f"should have skipped ({_route(q.asked_if)})", int(violations.sum())))
        skipped = asked & done & ~answered
        if q.type not in ("open", "multi") and skipped.any() and asked.sum() and skipped.sum() / max(int((asked & done).sum()), 1) > 0.2:
            issues.append(("high item non-response", q.id, f"{int(skipped.sum())} of {int((asked & done).sum())} completes "
                           "who were asked left it blank", int(skipped.sum())))
        if q.scale is not None or q.type in ("single", "pmf"):
            vals = d.loc[answered, q.id].dropna()
            if len(vals) >= 5 and vals.nunique() == 1:
                issues.append(("no variance", q.id, f"every pilot answer is {vals.iloc[0]!r}: check the wording or the scale", len(vals)))
    dur = pd.to_numeric(d.loc[done, "duration_seconds"], errors="coerce")
    summary = {"pilot respondents": int(len(d)), "completes": int(done.sum()),
               "median completion time (minutes)": float(dur.median() / 60) if len(dur.dropna()) else math.nan,
               "issues": len(issues)}
    return pd.DataFrame(issues, columns=["check", "question", "detail", "respondents"]), summary


def _route(asked_if) -> str:
    from insight.survey.questionnaire import _routing_text
    return "asked only if " + _routing_text(asked_if) if asked_if else "always asked"


def responses_over_time(df: pd.DataFrame, freq: str = "D") -> pd.DataFrame:
    """Responses started and completed per period, with cumulative completes."""
    start = pd.to_datetime(df["started_at"])
    done = df["completed"].fillna(False).astype(bool)
    per = start.dt.to_period(freq).dt.start_time
    t = pd.DataFrame({"date": per, "completed": done}).groupby("date").agg(started=("completed", "size"),
                                                                           completed=("completed", "sum"))
    t["cumulative completes"] = t["completed"].cumsum()
    return t.reset_index()


def field_summary(df: pd.DataFrame) -> pd.DataFrame:
    done = df["completed"].fillna(False).astype(bool)
    start = pd.to_datetime(df["started_at"])
    dur = pd.to_numeric(df.loc[done, "duration_seconds"], errors="coerce")
    rows = [("responses started", len(df)), ("completes", int(done.sum())),
            ("partial completes", int((~done).sum())),
            ("completion rate", f"{done.mean():.0%}" if len(df) else "–"),
            ("first response", str(start.min().date()) if len(df) else "–"),
            ("last response", str(start.max().date()) if len(df) else "–"),
            ("median completion time", f"{dur.median() / 60:.1f} min" if len(dur.dropna()) else "–")]
    return pd.DataFrame(rows, columns=["", "value"])


def survey_targets(params) -> dict[str, dict[str, float]]:
    """The phase 1 survey sample targets (shares per dimension) when params.scope defines them."""
    sample = getattr(getattr(params, "scope", None), "sample", None)
    if sample is None:
        return {}
    targets = getattr(sample, "survey_targets", None) or getattr(sample, "targets", None)
    if targets is None:
        return {}
    if hasattr(targets, "as_dict"):
        return targets.as_dict()
    return {k: dict(v) for k, v in dict(targets).items() if v}


def quota_fill(df: pd.DataFrame, targets: dict[str, dict[str, float]], planned_base: int | None = None,
               completed_only: bool = True, under: float = 0.8, over: float = 1.25) -> pd.DataFrame:
    """Per dimension and value: target share, target count (of the planned base, else of the
    completes), achieved count and share, fill % and a status (under / on target / over: fill
    below `under` or above `over`; pass the scope's under_ratio / over_ratio so the phase 1
    report and this one judge a group alike)."""
    d = df[df["completed"].fillna(False).astype(bool)] if completed_only else df
    base = planned_base or len(d)
    rows = []
    for dim, shares in targets.items():
        if dim not in d.columns:
            rows.append({"dimension": dim, "value": "(column missing)", "target share": np.nan, "target n": np.nan,
                         "achieved n": np.nan, "achieved share": np.nan, "fill": np.nan, "status": "no data"})
            continue
        counts = d[dim].astype("string").value_counts()
        for val, share in shares.items():
            got = int(counts.get(val, 0))
            target_n = share * base
            fill = got / target_n if target_n else np.nan
            status = "under" if fill < under else "over" if fill > over else "on target"
            rows.append({"dimension": dim, "value": val, "target share": share, "target n": round(target_n),
                         "achieved n": got, "achieved share": got / len(d) if len(d) else np.nan,
                         "fill": fill, "status": status})
    return pd.DataFrame(rows)


def quota_fill_display(fill: pd.DataFrame) -> pd.DataFrame:
    """quota_fill for a report: dimensions and values as words ('customer status', 'mid market')."""
    out = fill.copy()
    for c in ("dimension", "value"):
        out[c] = labels_of(out[c].astype(str))
    return out


def quota_summary(fill: pd.DataFrame, under: float = 0.8, over: float = 1.25) -> str:
    """One sentence on the quota fill: which groups are under and over target."""
    def items(status):
        d = fill[fill["status"] == status]
        return ", ".join(f"{label(v)} ({f:.0%} of target)" for v, f in zip(d["value"], d["fill"]))
    low, high = items("under"), items("over")
    if len(fill) and (fill["status"] == "no data").all():
        dims = ", ".join(labels_of(dict.fromkeys(fill["dimension"])))
        return f"The survey does not record {dims}, so the quotas cannot be checked."
    if not low and not high:
        return f"Every quota is filled within {under:.0%} to {over:.0%} of its target."
    parts = ([f"under target: {low}"] if low else []) + ([f"over target: {high}"] if high else [])
    return ("Quotas " + "; ".join(parts) + ". Weighting (below) corrects these proportions"
            + (", but a group under target keeps the precision of its smaller base." if low else "."))


def plot_responses_over_time(over_time: pd.DataFrame):
    """Bars of responses started / completed per day and the cumulative completes (a figure)."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.bar(over_time["date"], over_time["started"], color="#bbb", label="started")
    ax.bar(over_time["date"], over_time["completed"], label="completed")
    ax2 = ax.twinx()
    ax2.plot(over_time["date"], over_time["cumulative completes"], color="black", label="cumulative completes")
    ax.set_ylabel("responses per day")
    ax2.set_ylabel("cumulative completes")
    ax2.grid(False)
    loc = mdates.AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig

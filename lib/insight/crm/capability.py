"""CRM capability scorecard (seed 001, area 6): how well the company identifies, interacts with
and knows its customers, measured from the study's own data as scores from 0 to 100.

The population is the customers active at some point in the study period (signed up before its
end, not churned before its start) whose status is in attention.capability_statuses.

Scores (each indicator is a share 0-1; a dimension's score is 100 x the mean of its measurable
indicators; the overall score is the mean of the dimension scores):

- Identify: profile completeness — for each profile column of `customers` (region, country,
  segment, industry, employees, signup_date, owner, acquisition_channel, contact name/email/phone,
  company), the share of the population with a value; churn_date and churn_reason are measured on
  churned customers only. A column the export does not have at all counts as 0 (not captured).
- Interact: coverage — share of the population with any interaction in the period; proactive
  coverage — share with an outbound contact; timeliness — share of inbound consultations and
  complaints in the period answered (resolved_date) within attention.answer_target_days (an
  unanswered request is not timely). The median days to answer is reported alongside.
- Know: the share of the population whose own voice the company has: a survey response, an
  interview/qualitative participation, a feedback item or a review (any of these). The share per
  source is shown alongside but does not enter the score.

A table missing from the study makes its indicators "not measurable" (shown, not scored).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from insight.crm.attention_base import (
    AttentionDataError, active_customers, days_between, in_period, period_bounds, require_columns,
)
from insight.data.engine import interaction_customers, interaction_rows
from insight.speedups import isin

IDENTIFY_COLUMNS = ("company", "name", "email", "phone", "region", "country", "segment", "industry", "employees",
                    "signup_date", "owner", "acquisition_channel")
CHURN_COLUMNS = ("churn_date", "churn_reason")
DIMENSIONS = ("identify", "interact", "know")
DIMENSION_LABELS = {"identify": "Identify: do we know who our customers are?",
                    "interact": "Interact: do we reach them, and answer in time?",
                    "know": "Know: do we have their own voice?"}


def _row(dim, indicator, value, *, scored=True, detail="", base=None):
    return {"dimension": dim, "indicator": indicator, "value": value, "scored": scored and value == value,
            "base": base, "detail": detail}


def identify_indicators(pop: pd.DataFrame) -> list[dict]:
    rows = []
    n = len(pop)
    for col in IDENTIFY_COLUMNS:
        if col in pop.columns:
            v = pop[col]
            filled = v.notna() & (v.astype(str).str.strip() != "") if v.dtype == object or pd.api.types.is_string_dtype(v) else v.notna()
            rows.append(_row("identify", f"{col.replace('_', ' ')} filled", float(filled.mean()) if n else np.nan, base=n))
        else:
            rows.append(_row("identify", f"{col.replace('_', ' ')} filled", 0.0, base=n, detail="column not captured"))
    churned = pop.loc[pop["status"] == "churned"] if "status" in pop.columns else pop.iloc[0:0]
    for col in CHURN_COLUMNS:
        if len(churned) == 0:
            continue
        if col in churned.columns:
            rows.append(_row("identify", f"{col.replace('_', ' ')} filled (churned customers)", float(churned[col].notna().mean()),
                             base=len(churned)))
        else:
            rows.append(_row("identify", f"{col.replace('_', ' ')} filled (churned customers)", 0.0, base=len(churned),
                             detail="column not captured"))
    return rows


def interact_indicators(pop: pd.DataFrame, interactions, *, period=None,
                        target_days: float = 3.0, request_types=("consultation", "complaint")) -> tuple[list[dict], float]:
    """Rows and the median days to answer (NaN when not measurable). `interactions`: a DataFrame, an
    engine table (then only the customers contacted and the inbound requests leave the engine) or None."""
    n = len(pop)
    if interactions is None:
        return ([_row("interact", name, np.nan, detail="no interactions table")
                 for name in ("contacted in the period", "actively (outbound) contacted", "requests answered in time")],
                np.nan)
    need = ["customer_id", "date", "direction", "type"]
    if isinstance(interactions, pd.DataFrame):
        require_columns(interactions, "interactions", need, "the interact dimension")
        it = in_period(interactions, "date", period)
        contacted = it["customer_id"].astype(str).unique()
        outbound = it.loc[it["direction"] == "outbound", "customer_id"].astype(str).unique()
        req = it.loc[(it["direction"] == "inbound") & it["type"].isin(list(request_types))]
    else:   # an engine table: the customers contacted and the inbound requests of the period come back
        lacking = [c for c in need if c not in interactions.columns]
        if lacking:
            raise AttentionDataError(f"table 'interactions' has no column(s) {lacking} (needed for the interact dimension); "
                                     f"it has: {', '.join(interactions.columns)}. Fix: map them in params "
                                     "data.tables.interactions.columns")
        bounds = period_bounds(period) if period is not None else (None, None)
        per = interaction_customers(interactions, *bounds)
        contacted, outbound = per.index, per.index[per["outbound"].to_numpy() > 0]
        req = interaction_rows(interactions, since=bounds[0], until=bounds[1], types=list(request_types),
                               directions=["inbound"], columns=("customer_id", "date", "resolved_date"))
    ids = pop["customer_id"].astype(str)
    any_c = isin(ids, contacted)
    out_c = isin(ids, outbound)
    rows = [_row("interact", "contacted in the period", float(any_c.mean()) if n else np.nan, base=n),
            _row("interact", "actively (outbound) contacted", float(out_c.mean()) if n else np.nan, base=n)]
    req = req.loc[isin(req["customer_id"].astype(str), ids.unique())]
    median = np.nan
    if "resolved_date" not in req.columns:
        rows.append(_row("interact", "requests answered in time", np.nan, detail="no resolved_date column"))
    elif len(req) == 0:
        rows.append(_row("interact", "requests answered in time", np.nan, detail="no inbound requests in the period"))
    else:
        days = days_between(req["date"], req["resolved_date"])
        timely = days.le(target_days)  # NaN (unanswered) -> False
        median = float(days.median())
        rows.append(_row("interact", "requests answered in time", float(timely.mean()), base=len(req),
                         detail=f"within {target_days:g} days; median {median:.1f} days"))
    return rows, median


def know_indicators(pop: pd.DataFrame, sources: dict[str, pd.DataFrame | None]) -> list[dict]:
    """sources: name -> table with customer_id (None when the study lacks it)."""
    n = len(pop)
    ids = pop["customer_id"].astype(str)
    heard = pd.Series(False, index=pop.index)
    rows = []
    measurable = False
    for name, table in sources.items():
        if table is None or "customer_id" not in table.columns:
            rows.append(_row("know", f"with {name}", np.nan, scored=False, detail=f"no {name} table"))
            continue
        measurable = True
        has = isin(ids, table["customer_id"].dropna().astype(str).unique())
        heard |= has
        rows.append(_row("know", f"with {name}", float(has.mean()) if n else np.nan, scored=False, base=n))
    rows.insert(0, _row("know", "with any voice-of-customer data", float(heard.mean()) if (n and measurable) else np.nan,
                        base=n, detail="survey, interview, feedback or review"))
    return rows


def scorecard(customers: pd.DataFrame, *, interactions=None, survey=None, participants=None, feedback=None,
              reviews=None, period=None, statuses=("existing", "churned"), target_days: float = 3.0,
              request_types=("consultation", "complaint")) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(indicators, scores): every indicator with its value (share), whether it is scored, base
    and detail; and per dimension the score 0-100 with the number of indicators scored, plus an
    `overall` row (mean of the measurable dimensions)."""
    require_columns(customers, "customers", ["customer_id", "status"], "the capability scorecard")
    pop = active_customers(customers, period, statuses)
    if participants is not None and "recruited" in participants.columns:
        participants = participants.loc[participants["recruited"].astype("boolean").fillna(True).astype(bool)]
    rows = identify_indicators(pop)
    irows, _ = interact_indicators(pop, interactions, period=period, target_days=target_days, request_types=request_types)
    rows += irows
    rows += know_indicators(pop, {"survey response": survey, "interview or qualitative participation": participants,
                                  "feedback item": feedback, "review": reviews})
    ind = pd.DataFrame(rows)
    scored = ind.loc[ind["scored"]]
    g = scored.groupby("dimension")["value"]
    scores = pd.DataFrame({"score": g.mean() * 100, "indicators scored": g.size()}).reindex(list(DIMENSIONS))
    scores["indicators scored"] = scores["indicators scored"].fillna(0).astype(int)
    scores["question"] = [DIMENSION_LABELS[d] for d in scores.index]
    overall = scores["score"].mean()
    scores.loc["overall"] = [overall, int(scores["indicators scored"].sum()), "Mean of the measurable dimensions"]
    scores["indicators scored"] = scores["indicators scored"].astype(int)
    scores.index.name = "dimension"
    scores.attrs["population"] = len(pop)
    return ind, scores


def indicator_table(ind: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """One dimension's indicators for a reviewer: value, whether it counts in the score, base, detail."""
    t = ind.loc[ind["dimension"] == dimension]
    return pd.DataFrame({
        "indicator": t["indicator"],
        "value": t["value"],
        "in the score": np.where(t["scored"], "yes", np.where(t["value"].isna(), "not measurable", "shown only")),
        "base": t["base"].astype("Int64"),
        "detail": t["detail"],
    })


def plot_scorecard(scores: pd.DataFrame):
    """Horizontal bars 0-100 per dimension (and overall)."""
    import matplotlib.pyplot as plt

    s = scores["score"].iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 2.6))
    colors = ["#555555" if i == "overall" else "#0072b2" for i in s.index]
    ax.barh(s.index.astype(str), s.fillna(0), color=colors)
    for y, v in enumerate(s):
        ax.text((0 if v != v else v) + 1, y, "not measurable" if v != v else f"{v:.0f}", va="center")
    ax.set_xlim(0, 105)
    ax.set_xlabel("score (0-100)")
    return fig


def _weakest_text(dims: pd.Series) -> str:
    """'the weakest dimension is ...', naming every dimension that ties with it once rounded as shown."""
    shown = dims.round(0)
    low = [d for d in dims.sort_values().index if shown[d] == shown.min()]
    if len(low) == len(dims):
        return "the dimensions score alike."
    if len(low) > 1:
        return "the weakest dimensions are " + " and ".join(f"'{d}'" for d in low) + f" ({shown.min():.0f} each)."
    return f"the weakest dimension is '{low[0]}' ({DIMENSION_LABELS.get(low[0], low[0]).split(': ', 1)[-1]})."


def findings(scores: pd.DataFrame) -> list[dict]:
    """record_finding keyword dicts: the overall score and the weakest dimension."""
    pop = scores.attrs.get("population")
    dims = scores.drop(index="overall")["score"].dropna()
    if dims.empty:
        return []
    overall = float(scores.loc["overall", "score"])
    parts = ", ".join(f"{d} {v:.0f}" for d, v in dims.items())
    return [dict(
        id="crm.capability.overall", source="crm", severity="info", metric="CRM capability score (0-100)",
        value=overall, base=pop,
        statement=f"CRM capability scores {overall:.0f}/100 ({parts}); " + _weakest_text(dims),
        extra={d: float(v) for d, v in dims.items()})]

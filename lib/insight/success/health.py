"""Customer health score: weighted, normalised measures -> 0-100 with red / yellow / green bands,
VALIDATED rather than asserted.

Measures, each computed as of a score date from data strictly before it:
- usage_trend: mean monthly active users (all features) over the last N complete months against
  the N months before, as log((recent + 1) / (prior + 1)); higher is better; only for customers
  with usage over the whole 2N months;
- engagement: interactions the customer initiated (inbound, not complaints) in the lookback
  window; higher is better;
- support_load: complaints in the lookback window; higher is WORSE (inverted);
- satisfaction: the customer's latest answer to the survey satisfaction question; higher is better;
- cadence: share of the due cadence reviews held on time (insight.success.cadence).

Each measure becomes its percentile rank among the scored customers (0-1, ties averaged); the
score is 100 x the weighted mean of the measures a customer has (weights of missing measures are
shared out among the others). Validation: the score computed as of a cutoff date ranks the
customers who churned in the following horizon (AUC), and the churn rate per band.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from insight.data.engine import usage_windows
from insight.success._common import SuccessDataError, as_dates, counts_on, customer_base, reindex_on, require

MEASURES = ("usage_trend", "engagement", "support_load", "satisfaction", "cadence")
HIGHER_IS_WORSE = {"support_load"}
MEASURE_LABELS = {
    "usage_trend": "Usage trend", "engagement": "Engagement", "support_load": "Support load (complaints)",
    "satisfaction": "Satisfaction (survey)", "cadence": "Review cadence on time",
}
BANDS = ("red", "yellow", "green")
BAND_COLORS = {"red": "#d73027", "yellow": "#fee08b", "green": "#1a9850"}


def _month_index(s: pd.Series) -> pd.Series:
    return s.dt.year * 12 + s.dt.month - 1


def active_customers(customers: pd.DataFrame, as_of) -> pd.DataFrame:
    """Customers signed up before `as_of` and not churned by then."""
    as_of = pd.Timestamp(as_of)
    c = customer_base(customers)
    return c[(c["signup_date"] < as_of) & ~(c["churn_date"] <= as_of)]


def health_measures(customers: pd.DataFrame, as_of, *, usage: pd.DataFrame | None = None,
                    interactions: pd.DataFrame | None = None, survey: pd.DataFrame | None = None,
                    windows: dict | None = None, lookback_days: int = 180, usage_months: int = 3,
                    satisfaction_question: str = "q_csat") -> pd.DataFrame:
    """Raw measures per active customer as of `as_of` (index customer_id), using only data dated
    before `as_of`. Tables that are None give an all-missing measure."""
    as_of = pd.Timestamp(as_of)
    base = active_customers(customers, as_of)
    out = pd.DataFrame(index=pd.Index(base["customer_id"].to_numpy(), name="customer_id"),
                       columns=list(MEASURES), dtype=float)

    if usage is not None:
        if isinstance(usage, pd.DataFrame):
            require(usage, "usage", ["customer_id", "month", "active_users"])
            as_dates(usage, "usage", "month", nullable=False)
        last = (as_of.year * 12 + as_of.month - 1) - 1            # the last complete month before as_of
        # per customer on the engine (insight.data.engine.usage_windows): active users of all features
        # in the last N complete months and the N before
        per = usage_windows(usage, pd.Timestamp(year=last // 12, month=last % 12 + 1, day=1), usage_months, per_month="sum")
        # a trend needs the whole prior window: customers whose usage starts later get no trend
        # (a new customer's ramp-up is not growth)
        per = per.loc[(last - _month_index(per["first_month"])) >= 2 * usage_months - 1]
        trend = np.log((per["recent"] / usage_months + 1) / (per["prior"] / usage_months + 1))
        out["usage_trend"] = reindex_on(trend, out.index)

    if interactions is not None:
        since = as_of - pd.Timedelta(days=lookback_days)
        data_start = None
        if isinstance(interactions, pd.DataFrame):
            require(interactions, "interactions", ["customer_id", "date", "type"])
            it = interactions[[c for c in ("customer_id", "date", "type", "direction") if c in interactions.columns]].copy()
            it["date"] = as_dates(it, "interactions", "date", nullable=False)
            before = it[it["date"] < as_of]
            recent = before[before["date"] >= since]
        else:   # an engine table: only the rows each measure needs leave the engine (a fraction of the table)
            from insight.data.engine import first_date, interaction_rows
            recent = interaction_rows(interactions, since=since, before=as_of)
            before = interaction_rows(interactions, before=as_of, types=list(windows or {}),
                                      columns=("customer_id", "date", "type")) if windows else None
            data_start = first_date(interactions)
        is_c = recent["type"].eq("complaint")
        # engagement is what the customer initiates: our own calls (cadence, onboarding, demos) say
        # nothing about the customer's interest, and they crowd into a new customer's first months
        own = recent["direction"].eq("outbound") if "direction" in recent.columns else pd.Series(False, index=recent.index)
        out["engagement"], out["support_load"] = counts_on(
            recent["customer_id"], out.index, [(~is_c & ~own).to_numpy(dtype=bool), is_c.to_numpy(dtype=bool)])
        if windows:
            from insight.success.cadence import cadence_compliance
            out["cadence"] = reindex_on(cadence_compliance(customers, before, windows, as_of, data_start=data_start),
                                        out.index)

    if survey is not None and "customer_id" in survey.columns and satisfaction_question in survey.columns:
        s = survey[survey["customer_id"].notna()].copy()
        when = "submitted_at" if "submitted_at" in s.columns else "started_at"
        require(s, "survey_responses", [when])
        s["_when"] = pd.to_datetime(s[when], errors="coerce")
        if "started_at" in s.columns:
            s["_when"] = s["_when"].fillna(pd.to_datetime(s["started_at"], errors="coerce"))
        s["_v"] = pd.to_numeric(s[satisfaction_question], errors="coerce")
        s = s[(s["_when"] < as_of) & s["_v"].notna()].sort_values("_when")
        out["satisfaction"] = reindex_on(s.groupby("customer_id")["_v"].last().astype(float), out.index)
    return out


def normalise(measures: pd.DataFrame) -> pd.DataFrame:
    """Percentile rank (0-1) of each measure among the customers that have it; inverted where
    higher is worse, so 1 is always healthiest."""
    norm = measures.rank(pct=True, method="average")
    # rank(pct) of n values runs 1/n..1; rescale to 0..1 so the worst is 0 and the best 1
    n = measures.notna().sum()
    norm = (norm * n - 1) / (n - 1).where(n > 1)
    for m in HIGHER_IS_WORSE & set(norm.columns):
        norm[m] = 1 - norm[m]
    return norm


def health_score(measures: pd.DataFrame, weights: dict[str, float]) -> pd.Series:
    """0-100: the weighted mean of the normalised measures each customer has."""
    unknown = set(weights) - set(measures.columns)
    if unknown:
        raise SuccessDataError(f"health-score weights name unknown measures {sorted(unknown)}; "
                               f"the measures are {list(MEASURES)}. Fix: correct success.health_weights.")
    norm = normalise(measures[list(weights)])
    w = pd.Series(weights, dtype=float)
    avail = norm.notna()
    wsum = avail.mul(w, axis=1).sum(axis=1)
    score = norm.fillna(0).mul(w, axis=1).sum(axis=1) / wsum.where(wsum > 0)
    return (100 * score).rename("health_score")


def band(score: pd.Series, red_below: float, yellow_below: float) -> pd.Series:
    """red below `red_below`, yellow below `yellow_below`, green otherwise (NaN stays NaN)."""
    cat = pd.cut(score, [-np.inf, red_below, yellow_below, np.inf], right=False, labels=list(BANDS))
    return cat.rename("band")


def score_customers(study_tables: dict, cfg, as_of) -> pd.DataFrame:
    """Measures, normalised measures, score and band per customer as of `as_of`.
    `study_tables`: canonical tables by name (customers required; usage, interactions,
    survey_responses optional); cfg: params.success."""
    measures = health_measures(
        study_tables["customers"], as_of, usage=study_tables.get("usage"),
        interactions=study_tables.get("interactions"), survey=study_tables.get("survey_responses"),
        windows=cfg.cadence_windows.as_dict(), lookback_days=cfg.health_lookback_days,
        usage_months=cfg.health_usage_months, satisfaction_question=cfg.satisfaction_question)
    weights = {k: v for k, v in cfg.health_weights.as_dict().items() if v > 0}
    out = measures.copy()
    out["health_score"] = health_score(measures, weights)
    out["band"] = band(out["health_score"], cfg.health_bands.red_below, cfg.health_bands.yellow_below)
    cust = customer_base(study_tables["customers"])
    attrs = [c for c in ("segment", "owner", "region") if c in cust.columns]
    if attrs:
        out[attrs] = reindex_on(cust[attrs], out.index)
    return out


def score_gap(scored: pd.DataFrame, study_tables: dict, cfg) -> str | None:
    """Why no health score can be computed (a sentence for the reader), or None when at least one
    customer has at least one weighted measure. A score of customers with no measure at all would be
    a table of blanks dressed as a result."""
    weighted = [m for m, w in cfg.health_weights.as_dict().items() if w > 0 and m in scored.columns]
    if len(scored) and scored[weighted].notna().any().any():
        return None
    why = []
    if "usage" not in study_tables:
        why.append("usage trend needs a usage table")
    if "interactions" not in study_tables:
        why.append("engagement, complaints and review cadence need an interactions table")
    survey = study_tables.get("survey_responses")
    if survey is None:
        why.append("satisfaction needs survey answers")
    elif "customer_id" not in survey.columns or not survey["customer_id"].notna().any():
        why.append("satisfaction needs survey answers linked to customers, and this survey carries no customer id")
    elif cfg.satisfaction_question not in survey.columns:
        why.append(f"satisfaction needs the survey question {cfg.satisfaction_question} "
                   "(params success.satisfaction_question), which this survey does not have")
    detail = "; ".join(why) if why else "the tables there are hold no data before the score date"
    return (f"none of the {len(scored):,} active customers has any of the measures the score is built from "
            f"(0% have usage, engagement, complaints, satisfaction or review cadence): {detail}")


def call_list(scored: pd.DataFrame, n: int = 15) -> pd.DataFrame:
    """The n lowest-scoring red customers with their raw measures, readable column names."""
    red = scored[scored["band"] == "red"].nsmallest(n, "health_score")
    cols = [c for c in ["segment", "owner", "health_score", *MEASURES] if c in red.columns]
    return red[cols].rename(columns={"health_score": "Health score", **MEASURE_LABELS})


def call_list_display(red: pd.DataFrame, lookback_days: int) -> pd.DataFrame:
    """The call list as a reviewer reads it: whole-number score and counts, the survey rating as given,
    the review share as a percentage, units in the column names, blanks where a measure is missing."""
    def fmt(col, f):
        return red[col].map(lambda v: "" if pd.isna(v) else f(v)) if col in red.columns else None
    cols = {
        "Segment": red["segment"].map(lambda v: "" if pd.isna(v) else str(v).replace("_", " ")) if "segment" in red else None,
        "Owner": fmt("owner", str),
        "Health score (0-100)": fmt("Health score", lambda v: f"{v:.0f}"),
        "Usage trend (log ratio)": fmt(MEASURE_LABELS["usage_trend"], lambda v: f"{v:+.2f}"),
        f"Contacts they started ({lookback_days} days)": fmt(MEASURE_LABELS["engagement"], lambda v: f"{v:.0f}"),
        f"Complaints ({lookback_days} days)": fmt(MEASURE_LABELS["support_load"], lambda v: f"{v:.0f}"),
        "Satisfaction (survey answer)": fmt(MEASURE_LABELS["satisfaction"], lambda v: f"{v:g}"),
        "Reviews on time": fmt(MEASURE_LABELS["cadence"], lambda v: f"{v:.0%}"),
    }
    return pd.DataFrame({k: v for k, v in cols.items() if v is not None}, index=red.index.rename("customer"))


def measure_coverage(measures: pd.DataFrame) -> pd.DataFrame:
    """Per measure: customers who have it and its share."""
    n = len(measures)
    have = measures[list(MEASURES)].notna().sum()
    return pd.DataFrame({"customers with the measure": have, "share": have / n if n else np.nan},
                        index=pd.Index(list(MEASURES))).rename(index=MEASURE_LABELS)


def auc_ci(auc: float, n_pos: int, n_neg: int, z: float = 1.959964) -> tuple[float, float]:
    """95% CI of an AUC from the Hanley & McNeil (1982) standard error (insight.stats.auc_ci)."""
    from insight.stats import auc_ci as _auc_ci
    from scipy.stats import norm
    return _auc_ci(auc, n_pos, n_neg, confidence=float(2 * norm.cdf(z) - 1))


def churn_auc(score: pd.Series, churned: pd.Series) -> float:
    """AUC of a health score (higher = healthier) for ranking churners first: the probability
    that a random churner scores below a random retained customer (ties count half)."""
    from sklearn.metrics import roc_auc_score
    ok = score.notna() & churned.notna()
    y = churned[ok].astype(bool)
    if y.nunique() < 2:
        return float("nan")
    return float(roc_auc_score(y, -score[ok].astype(float)))


@dataclass
class HealthValidation:
    cutoff: pd.Timestamp
    horizon_end: pd.Timestamp
    scored: pd.DataFrame               # score as of cutoff + churned_after
    auc: float
    auc_low: float
    auc_high: float
    n_churned: int
    n_retained: int
    by_band: pd.DataFrame
    by_measure: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def base(self) -> int:
        return self.n_churned + self.n_retained


def validate_health(study_tables: dict, cfg, end, horizon_days: int | None = None) -> HealthValidation:
    """Score every customer active at cutoff = end - horizon from data before the cutoff, then
    check how well it ranks those who churned in (cutoff, end]. No data after the cutoff reaches
    the score. Customers marked churned without a churn date are left out (when is unknown)."""
    horizon_days = horizon_days or cfg.validation_horizon_days
    end = pd.Timestamp(end)
    cutoff = end - pd.Timedelta(days=horizon_days)
    scored = score_customers(study_tables, cfg, cutoff)
    cust = customer_base(study_tables["customers"], end)
    unknown_when = cust["churned"] & cust["churn_date"].isna()
    cust = reindex_on(cust.assign(_unknown_when=unknown_when)[["_unknown_when", "churn_date"]], scored.index)
    known = ~cust["_unknown_when"].fillna(False).to_numpy(dtype=bool)
    scored = scored[known]
    cd = cust["churn_date"].to_numpy()[known]
    scored["churned_after"] = (cd > cutoff.to_datetime64()) & (cd <= end.to_datetime64())
    scored = scored[scored["health_score"].notna()]
    y = scored["churned_after"]
    auc = churn_auc(scored["health_score"], y)
    n1, n0 = int(y.sum()), int((~y).sum())
    lo, hi = auc_ci(auc, n1, n0)
    by_band = churn_by_band(scored)
    rows = []
    for m in MEASURES:
        if scored[m].notna().any():
            s = scored[m] * (-1 if m in HIGHER_IS_WORSE else 1)
            ok = s.notna()
            rows.append({"measure": MEASURE_LABELS[m], "customers": int(ok.sum()),
                         "AUC": churn_auc(s[ok], y[ok])})
    rows.append({"measure": "Health score (all measures)", "customers": len(scored), "AUC": auc})
    return HealthValidation(cutoff, end, scored, auc, lo, hi, n1, n0, by_band, pd.DataFrame(rows).set_index("measure"))


def validation_gap(v: HealthValidation) -> str | None:
    """Why this study's data cannot validate the score (a sentence for the reader), or None when it can:
    the check needs scored customers on the cutoff date, and both churners (with a churn date in the
    horizon) and customers who stayed."""
    if v.base == 0:
        return ("no customer active on the cutoff date has a score: the study has none of the data the measures "
                "are built from (usage, interactions, survey answers) before that date")
    if v.n_churned == 0:
        return (f"none of the {v.n_retained:,} scored customers has a churn date between {v.cutoff:%d %b %Y} and "
                f"{v.horizon_end:%d %b %Y} (the customers table needs churn_date: when a customer left)")
    if v.n_retained == 0:
        return f"all {v.n_churned:,} scored customers churned after the cutoff: there is no one who stayed to compare with"
    return None


def missing_at_cutoff(v: HealthValidation, weights: dict[str, float]) -> list[str]:
    """Weighted measures with no data before the validation cutoff (left out of the validated score)."""
    return [MEASURE_LABELS[m] for m, w in weights.items() if w > 0 and not v.scored[m].notna().any()]


def churn_by_band(scored: pd.DataFrame, outcome: str = "churned_after") -> pd.DataFrame:
    g = scored.groupby("band", observed=False)[outcome].agg(["size", "sum"])
    g.columns = ["customers", "churned"]
    g["churn rate"] = (g["churned"] / g["customers"]).where(g["customers"] > 0)
    g.index = g.index.astype(str)
    g.index.name = "band"
    return g


def band_summary(scored: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Customers per band (share), overall or by an attribute."""
    if by is None:
        t = scored["band"].value_counts().reindex(list(BANDS), fill_value=0).to_frame("customers")
        t["share"] = t["customers"] / t["customers"].sum()
        return t
    t = pd.crosstab(scored[by].fillna("(unknown)"), scored["band"]).reindex(columns=list(BANDS), fill_value=0)
    share = t.div(t.sum(axis=1), axis=0)
    share.insert(0, "customers", t.sum(axis=1))
    share["median score"] = scored.groupby(scored[by].fillna("(unknown)"))["health_score"].median()
    return share


def plot_score_distribution(scored: pd.DataFrame, red_below: float, yellow_below: float):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    ax.hist(scored["health_score"].dropna(), bins=np.arange(0, 102.5, 2.5), color="#4575b4")
    ax.axvspan(0, red_below, color=BAND_COLORS["red"], alpha=0.15)
    ax.axvspan(red_below, yellow_below, color=BAND_COLORS["yellow"], alpha=0.25)
    ax.axvspan(yellow_below, 100, color=BAND_COLORS["green"], alpha=0.12)
    ax.set_xlabel("health score (0 = least healthy, 100 = healthiest)")
    ax.set_ylabel("customers")
    ax.set_xlim(0, 100)
    fig.tight_layout()
    return fig


def plot_roc(validation: HealthValidation):
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve
    s = validation.scored
    fpr, tpr, _ = roc_curve(s["churned_after"].astype(bool), -s["health_score"])
    fig, ax = plt.subplots(figsize=(4.8, 4.5))
    ax.plot(fpr, tpr, color="#d73027", lw=2, label=f"health score (AUC {validation.auc:.2f})")
    ax.plot([0, 1], [0, 1], color="grey", ls="--", label="chance (AUC 0.50)")
    ax.set_xlabel("share of retained customers flagged (false alarms)")
    ax.set_ylabel("share of churners flagged (caught)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def plot_churn_by_band(by_band: pd.DataFrame):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    rates = by_band["churn rate"].astype(float)
    ax.bar(by_band.index, rates, color=[BAND_COLORS.get(b, "grey") for b in by_band.index], edgecolor="black")
    for i, (r, n) in enumerate(zip(rates, by_band["customers"])):
        if np.isfinite(r):
            ax.text(i, r, f"{r:.0%}\n(n={n:,})", ha="center", va="bottom")
    ax.yaxis.set_major_locator(plt.matplotlib.ticker.MaxNLocator(nbins=5, steps=[1, 2, 5, 10]))  # 0%, 5%, 10%...
    ax.yaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("churned in the following period")
    ax.set_ylim(0, max(0.05, float(np.nanmax(rates.to_numpy())) * 1.35) if rates.notna().any() else 1)
    fig.tight_layout()
    return fig


def weights_table(cfg) -> pd.DataFrame:
    """The measures, their weights (as shares) and direction, for the report."""
    w = pd.Series(cfg.health_weights.as_dict())
    return pd.DataFrame({"weight": (w / w.sum()).to_numpy(),
                         "direction": ["lower is healthier" if m in HIGHER_IS_WORSE else "higher is healthier" for m in w.index]},
                        index=pd.Index([MEASURE_LABELS[m] for m in w.index], name="measure"))


def auc_finding(v: HealthValidation, alpha: float) -> dict:
    useful = np.isfinite(v.auc_low) and v.auc_low > 0.5
    return dict(
        id="success.health_score_auc",
        statement=(f"The health score computed on {v.cutoff:%d %b %Y} scores the {v.n_churned:,} customers who churned in "
                   f"the following {(v.horizon_end - v.cutoff).days} days lower than the {v.n_retained:,} who stayed: AUC "
                   f"{v.auc:.2f} "
                   + ("(better than chance)" if useful else "(not clearly better than chance)") + "."),
        metric="AUC (churn after the cutoff)", value=v.auc, base=v.base, ci_low=v.auc_low, ci_high=v.auc_high,
        test="ROC AUC, Hanley-McNeil 95% CI", source="success", severity="key" if useful else "warning",
        extra={"cutoff": f"{v.cutoff:%Y-%m-%d}", "n_churned": v.n_churned,
               "churn_by_band": {str(k): float(r) for k, r in v.by_band["churn rate"].items() if np.isfinite(r)}})

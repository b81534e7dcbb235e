"""Triangulation: survey answers linked to what customers then did in the CRM (seed 002: customers may
praise a product and cancel anyway — never decide from one source)."""
from __future__ import annotations

import pandas as pd
from statsmodels.stats.proportion import proportion_confint


def nps_category(score: pd.Series) -> pd.Series:
    """promoter 9-10, passive 7-8, detractor 0-6 (Reichheld); NaN stays NaN."""
    cat = pd.Series(pd.NA, index=score.index, dtype="object")
    cat[score >= 9] = "promoter"
    cat[(score >= 7) & (score < 9)] = "passive"
    cat[score <= 6] = "detractor"
    return cat


def link_survey_to_crm(responses: pd.DataFrame, customers: pd.DataFrame, orders=None,
                       months: int = 9, nps_col: str = "q_nps") -> pd.DataFrame:
    """One row per completed respondent linked to a customer: NPS category, whether the customer churned
    within `months` after answering, and (with orders: a DataFrame or a study table on the engine)
    revenue of the lines not flagged as returns in the 182 days before answering and from then on
    (insight.data.engine.spend_around: only one row per respondent comes back)."""
    need = {"customer_id", "submitted_at", nps_col}
    missing = need - set(responses.columns)
    if missing:
        raise KeyError(f"survey_responses lacks {sorted(missing)}: triangulation needs respondents linked to customers")
    r = responses[responses["customer_id"].notna() & responses[nps_col].notna()].copy()
    r["answered"] = pd.to_datetime(r["submitted_at"]).fillna(pd.to_datetime(r["started_at"]))
    cols = ["customer_id", "status", "churn_date"] + [c for c in ("segment", "region") if c in customers.columns]
    c = customers[cols].rename(columns={"segment": "crm_segment", "region": "crm_region"})
    linked = r.merge(c, on="customer_id", how="inner")
    churn = pd.to_datetime(linked["churn_date"])
    horizon = linked["answered"] + pd.DateOffset(months=months)
    linked["churned_after"] = churn.notna() & (churn > linked["answered"]) & (churn <= horizon)
    linked["nps_category"] = nps_category(linked[nps_col])
    from insight.data.engine import is_table, spend_around

    if orders is not None and (is_table(orders) or not orders.empty):
        anchors = linked[["respondent_id", "customer_id", "answered"]].rename(columns={"respondent_id": "key",
                                                                                      "answered": "at"})
        spend = spend_around(orders, anchors, days=182)
        linked = linked.merge(spend, left_on="respondent_id", right_index=True, how="left")
        linked[["before", "after"]] = linked[["before", "after"]].fillna(0.0)
        linked["cut_spend"] = (linked["before"] > 0) & (linked["after"] < 0.5 * linked["before"])
    return linked


def rate_table(linked: pd.DataFrame, by: str, flag: str) -> pd.DataFrame:
    """Share of `flag` per level of `by` with Wilson 95% intervals."""
    g = linked.groupby(by, observed=True)[flag].agg(["sum", "count"])
    lo, hi = proportion_confint(g["sum"], g["count"], alpha=0.05, method="wilson")
    out = pd.DataFrame({"customers": g["count"].astype(int), "yes": g["sum"].astype(int),
                        "rate": g["sum"] / g["count"], "ci_low": lo, "ci_high": hi})
    return out


def say_do_gap(linked: pd.DataFrame) -> dict:
    """Promoters who churned anyway (and, with orders, who cut spend): counts, rates against the rest."""
    churn = rate_table(linked, "nps_category", "churned_after").reindex(["promoter", "passive", "detractor"])
    prom = linked[linked["nps_category"] == "promoter"]
    out = {"churn_by_category": churn, "promoters": int(len(prom)),
           "promoters_churned": int(prom["churned_after"].sum()),
           "churned_promoters": prom[prom["churned_after"]][["respondent_id", "customer_id", "q_nps", "answered",
                                                             "churn_date"]].reset_index(drop=True)}
    if "cut_spend" in linked.columns:
        out["spend_by_category"] = rate_table(linked, "nps_category", "cut_spend").reindex(["promoter", "passive", "detractor"])
    return out


def satisfaction_vs_renewal(linked: pd.DataFrame, col: str = "q_csat") -> pd.DataFrame:
    """Did satisfied customers stay? Churn after the survey per satisfaction level."""
    if col not in linked.columns:
        return pd.DataFrame()
    d = linked[linked[col].notna()].copy()
    d[col] = d[col].astype(int)
    t = rate_table(d, col, "churned_after")
    t.index.name = col
    return t


def source_trust(bases: dict[str, dict]) -> pd.DataFrame:
    """How far each source can be trusted: base, coverage of the customer base, known biases.
    `bases`: source -> {"base": n, "coverage": share, "note": text}."""
    rows = []
    for source, b in bases.items():
        n, cov = b.get("base", 0), b.get("coverage")
        if n >= 300 and (cov is None or cov >= 0.1):
            level = "high"
        elif n >= 30:
            level = "medium"
        else:
            level = "low"
        rows.append({"source": source, "base": n, "coverage": cov, "trust": level, "caveats": b.get("note", "")})
    return pd.DataFrame(rows)

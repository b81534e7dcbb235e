"""Loyalty index: a documented composite of trust, purchase frequency, service experience,
satisfaction and the likelihood of continuing (params crm.loyalty: each component's source,
measure and weight).

How the index is built (LOYALTY_METHOD, shown in the report):
1. each component is put on a 0-100 scale: a survey answer as (answer - low) / (high - low) x 100 on
   its answer range (reversed when the item is negatively worded); a CRM measure as the customer's
   percentile rank among all customers x 100 (order frequency: purchase days in the 12 months
   before the reference date; tenure: days since signup; complaints: complaints in those 12 months,
   reversed);
2. the index is the weighted mean of the components, weights rescaled to sum to 1; a customer
   missing some components gets the weighted mean of the rest, when those carry at least half of
   the total weight (else no index);
3. survey answers come from the customer's latest completed response (linked by customer_id).

Which component drives it (`drivers`): with weights w_i (summing to 1) and index I = sum w_i c_i,
var(I) = sum_i w_i cov(c_i, I), so share_i = w_i cov(c_i, I) / var(I) splits the spread of the index
exactly among the components (shares sum to 1). A component with a large weight but little spread
drives little; one that varies a lot and moves with the others drives much. Group gaps are split
the same way: gap_i = w_i (mean of c_i in the group - mean overall).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from insight.crm.purchases import CrmInputError, account_customers, as_dates, as_numbers, require
from insight.data.engine import interactions_of, purchase_day_counts
from insight.stats import is_significant
from insight.speedups import isin

LOYALTY_METHOD = (
    "Each component is put on a 0-100 scale: a survey answer as (answer - lowest) / (highest - lowest) x 100 on its answer "
    "range (reversed for negatively worded items); a CRM measure as the customer's percentile rank among all customers x 100 "
    "(order frequency: days with a purchase in the 12 months before the reference date; tenure: days since signup; "
    "complaints: complaints in those 12 months, reversed). The index is the weighted mean of the components, with the "
    "weights rescaled to sum to 1; a customer missing some components gets the weighted mean of the rest when those carry "
    "at least half of the total weight. Survey answers come from the customer's latest completed response."
)
DRIVERS_METHOD = (
    "With weights w (summing to 1) and index I = Σ w·c, the spread of the index splits exactly into the components: "
    "var(I) = Σ w·cov(c, I), so a component's share = w·cov(c, I) / var(I) (shares sum to 100%). A component with a large "
    "weight but little spread drives little; one that varies a lot and moves with the others drives much. Gaps between "
    "groups split the same way: a component contributes w × (its mean in the group − its overall mean)."
)


def latest_responses(survey: pd.DataFrame) -> pd.DataFrame:
    """One row per customer: their latest completed survey response."""
    require(survey, "survey_responses", ["customer_id"], "linking survey answers to customers")
    s = survey.loc[survey["customer_id"].notna()].copy()
    if "completed" in s:
        s = s.loc[s["completed"].fillna(False).astype(bool)]
    order = [c for c in ("wave", "submitted_at", "started_at") if c in s]
    if order:
        s = s.sort_values(order)
    return s.drop_duplicates("customer_id", keep="last").set_index("customer_id")


def _pct(values: pd.Series) -> pd.Series:
    return values.rank(method="average", pct=True) * 100


def crm_measure(name: str, customers: pd.DataFrame, as_of, orders=None, interactions=None) -> pd.Series:
    """A CRM loyalty measure per customer (raw, before scaling)."""
    c = account_customers(customers, undated_churn="keep").drop_duplicates("customer_id").set_index("customer_id")
    return _crm_measure(name, c, pd.Timestamp(as_of), orders, interactions)


def _crm_measure(name: str, c: pd.DataFrame, C: pd.Timestamp, orders, interactions) -> pd.Series:
    """crm_measure on the customers already prepared as it prepares them (`c`: account_customers, one row
    per customer_id, indexed by it): loyalty_frame has them at hand."""
    if name == "order_frequency":
        if orders is None:
            raise CrmInputError("loyalty component order_frequency needs the orders table")
        # purchase days in the 365 whole days up to as_of, counted on the engine (`orders` may be lazy)
        days = purchase_day_counts(orders, C.normalize() - pd.Timedelta(days=365), C.normalize())
        return days.reindex(c.index).fillna(0).astype(float)
    if name == "tenure":
        return (C - c["signup_date"]).dt.days.astype(float)
    if name == "complaints":
        if interactions is None:
            raise CrmInputError("loyalty component complaints needs the interactions table")
        # of an engine table only the complaints of the year come back (insight.data.engine.interactions_of)
        i = interactions_of(interactions, ["complaint"], C - pd.Timedelta(days=365), C)
        require(i, "interactions", ["customer_id", "date", "type"], "the complaints loyalty component")
        d = as_dates(i, "interactions", "date")
        m = (i["type"] == "complaint") & (d <= C) & (d > C - pd.Timedelta(days=365))
        return i.loc[m].groupby("customer_id").size().reindex(c.index).fillna(0).astype(float)
    raise CrmInputError(f"unknown CRM loyalty measure {name!r}; use order_frequency, tenure or complaints "
                        "(params crm.loyalty.<component>.measure)")


def loyalty_frame(components: dict, customers: pd.DataFrame, as_of, survey: pd.DataFrame | None = None,
                  orders: pd.DataFrame | None = None, interactions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per customer with a survey response (or every customer when no component is from the
    survey): components on 0-100, loyalty_index, segment and region. `components` maps a name to
    a params LoyaltyComponent (or a dict with source, measure, weight, scale, reverse)."""
    comps = {k: (v if isinstance(v, dict) else v.model_dump()) for k, v in components.items()}
    comps = {k: v for k, v in comps.items() if v["weight"] > 0}
    if not comps:
        raise CrmInputError("no loyalty component has a positive weight (params crm.loyalty)")
    # the index never uses churn dates: exports that flag churn without a date are fine here
    cust = account_customers(customers, undated_churn="keep").drop_duplicates("customer_id").set_index("customer_id")
    uses_survey = any(v["source"] == "survey" for v in comps.values())
    if uses_survey:
        if survey is None:
            raise CrmInputError("the loyalty index uses survey answers (trust, satisfaction, ...) but the study has no survey_responses")
        resp = latest_responses(survey)
        resp = resp.loc[isin(resp.index, cust.index)]
        missing = [v["measure"] for v in comps.values() if v["source"] == "survey" and v["measure"] not in resp.columns]
        if missing:
            raise CrmInputError(f"table 'survey_responses' lacks question column(s) {', '.join(missing)} used by the loyalty index; "
                                f"it has: {', '.join(c for c in resp.columns if str(c).startswith('q'))}. Fix: point "
                                "params crm.loyalty.<component>.measure at the right question id")
        index = resp.index
    else:
        index = cust.index
    out = pd.DataFrame(index=index)
    for name, v in comps.items():
        if v["source"] == "survey":
            x = as_numbers(resp, "survey_responses", v["measure"])
            lo, hi = v.get("scale") or (x.min(), x.max())
            if hi <= lo:
                raise CrmInputError(f"loyalty component {name}: answer range [{lo}, {hi}] is empty")
            val = (x - lo) / (hi - lo) * 100
            out[name] = (100 - val if v.get("reverse") else val).clip(0, 100)
        else:
            raw = _crm_measure(v["measure"], cust, pd.Timestamp(as_of), orders, interactions)
            pct = _pct(raw)
            out[name] = (100 - pct if v.get("reverse") or v["measure"] == "complaints" else pct).reindex(index)
    w = pd.Series({k: v["weight"] for k, v in comps.items()}, dtype=float)
    w = w / w.sum()
    present = out[w.index].notna()
    cover = present.mul(w, axis=1).sum(axis=1)
    num = out[w.index].fillna(0).mul(w, axis=1).sum(axis=1)
    out["loyalty_index"] = (num / cover).where(cover >= 0.5)
    for col in ("segment", "region"):
        if col in cust:
            out[col] = cust[col].reindex(index)
    out.attrs["weights"] = w.to_dict()
    return out


def loyalty_by(frame: pd.DataFrame, by: str, alpha: float = 0.05) -> pd.DataFrame:
    """Mean loyalty index per group with t CIs; Welch's ANOVA (pingouin) in .attrs."""
    import pingouin as pg
    from scipy import stats

    d = frame.dropna(subset=["loyalty_index", by])
    g = d.groupby(by, observed=True)["loyalty_index"]
    out = pd.DataFrame({"customers": g.size(), "mean": g.mean(), "sd": g.std(ddof=1), "median": g.median()})
    se = out["sd"] / np.sqrt(out["customers"])
    t = stats.t.ppf(1 - alpha / 2, (out["customers"] - 1).clip(lower=1))
    out["ci_low"], out["ci_high"] = out["mean"] - t * se, out["mean"] + t * se
    if d[by].nunique() >= 2:
        a = pg.welch_anova(data=d, dv="loyalty_index", between=by)
        pcol = "p_unc" if "p_unc" in a.columns else "p-unc"
        from insight.stats import eta_squared_ci
        out.attrs.update(test="Welch ANOVA", F=float(a["F"].iloc[0]), p_value=float(a[pcol].iloc[0]),
                         eta_squared=float(a["np2"].iloc[0]) if "np2" in a else None, base=int(len(d)),
                         eta_squared_ci=eta_squared_ci(float(a["F"].iloc[0]), float(a["ddof1"].iloc[0]),
                                                       float(a["ddof2"].iloc[0]), 1 - alpha))
    return out.sort_values("mean", ascending=False)


def drivers(frame: pd.DataFrame) -> pd.DataFrame:
    """Share of the index's variance due to each component (see DRIVERS_METHOD), on customers
    with every component; plus each component's mean and its correlation with the rest of the index."""
    w = pd.Series(frame.attrs["weights"], dtype=float)
    d = frame[list(w.index)].dropna()
    if len(d) < 3:
        raise CrmInputError(f"only {len(d)} customers have every loyalty component; the drivers need at least 3")
    idx = d.mul(w, axis=1).sum(axis=1)
    var = idx.var(ddof=0)
    cov = d.apply(lambda c: ((c - c.mean()) * (idx - idx.mean())).mean())
    out = pd.DataFrame({"weight": w, "mean": d.mean(), "sd": d.std(ddof=0),
                        "share_of_variance": w * cov / var if var > 0 else np.nan})
    rest = {k: (idx - w[k] * d[k]).corr(d[k]) for k in w.index}
    out["corr_with_rest"] = pd.Series(rest)
    out.attrs["base"] = int(len(d))
    return out.sort_values("share_of_variance", ascending=False)


def gap_decomposition(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per group: gap of the mean index to the overall mean, split into component contributions
    w_i x (group mean of c_i - overall mean of c_i) (complete cases; contributions sum to the gap)."""
    w = pd.Series(frame.attrs["weights"], dtype=float)
    d = frame.dropna(subset=[*w.index, by])
    overall = d[list(w.index)].mean()
    g = d.groupby(by, observed=True)[list(w.index)].mean()
    contrib = (g - overall).mul(w, axis=1)
    contrib["gap"] = contrib.sum(axis=1)
    return contrib


def histogram(frame: pd.DataFrame, title: str = ""):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    ax.hist(frame["loyalty_index"].dropna(), bins=np.arange(0, 105, 5), edgecolor="white")
    ax.set_xlabel("loyalty index (0-100)")
    ax.set_ylabel("customers")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def weights_table(components: dict) -> pd.DataFrame:
    comps = {k: (v if isinstance(v, dict) else v.model_dump()) for k, v in components.items()}
    total = sum(v["weight"] for v in comps.values())
    return pd.DataFrame([{"component": k, "source": v["source"], "measure": v["measure"],
                          "weight": v["weight"] / total} for k, v in comps.items()]).set_index("component")


def segment_finding(table: pd.DataFrame, by: str, alpha: float = 0.05) -> dict:
    hi, lo = table.index[0], table.index[-1]
    p = table.attrs.get("p_value")
    real = is_significant(p, alpha)
    from insight.labels import label
    statement = (f"Loyalty index by {by}: {label(hi)} {table.loc[hi, 'mean']:.0f} against {label(lo)} {table.loc[lo, 'mean']:.0f} of 100"
                 + (" — a real difference." if real else "; the groups do not differ beyond chance."))
    return dict(id=f"crm.loyalty.by_{by}", statement=statement, metric=f"mean loyalty index {label(hi)} - {label(lo)}",
                value=float(table.loc[hi, "mean"] - table.loc[lo, "mean"]), base=table.attrs.get("base"),
                test="Welch ANOVA", p_value=p, effect_size=table.attrs.get("eta_squared"), effect_size_name="eta squared",
                effect_ci_low=(table.attrs.get("eta_squared_ci") or (None, None))[0],
                effect_ci_high=(table.attrs.get("eta_squared_ci") or (None, None))[1],
                source="crm", severity="key" if real else "info")


def driver_finding(drv: pd.DataFrame, frame: pd.DataFrame) -> dict:
    top = drv.index[0]
    statement = (f"The loyalty index (mean {frame['loyalty_index'].mean():.0f} of 100) is driven most by {top}: it accounts "
                 f"for {drv.loc[top, 'share_of_variance']:.0%} of the differences between customers "
                 f"(weight {drv.loc[top, 'weight']:.0%}).")
    return dict(id="crm.loyalty.driver", statement=statement, metric=f"share of index variance from {top}",
                value=float(drv.loc[top, "share_of_variance"]), base=drv.attrs.get("base"), source="crm", severity="key",
                extra={str(k): float(v) for k, v in drv["share_of_variance"].items()})


CRM_MEASURE_TABLE = {"order_frequency": "orders", "complaints": "interactions", "tenure": "customers"}


def usable_components(components: dict, has, survey: pd.DataFrame | None = None) -> tuple[dict, dict]:
    """(components this study can measure, {left-out component: why, as a clause}). Besides a missing
    table (available_components), a survey component is left out when the survey answers carry no
    customer id (they cannot be linked to customers) or lack its question column."""
    keep, dropped = available_components(components, has)
    reasons = {k: f"the study has no {t} table" for k, t in dropped.items()}
    if survey is not None:
        linked = "customer_id" in survey.columns and bool(survey["customer_id"].notna().any())
        for k, v in list(keep.items()):
            d = v if isinstance(v, dict) else v.model_dump()
            if d["source"] != "survey":
                continue
            if not linked:
                reasons[k] = "the survey answers carry no customer id, so they cannot be linked to customers"
            elif d["measure"] not in survey.columns:
                reasons[k] = f"the survey has no question {d['measure']} (params crm.loyalty.{k}.measure)"
            else:
                continue
            del keep[k]
    return keep, reasons


def available_components(components: dict, has) -> tuple[dict, dict]:
    """(components whose tables the study has, {left-out component: missing table}); `has` is
    study.has."""
    keep, dropped = {}, {}
    for k, v in components.items():
        d = v if isinstance(v, dict) else v.model_dump()
        table = "survey_responses" if d["source"] == "survey" else CRM_MEASURE_TABLE.get(d["measure"], "customers")
        (keep.__setitem__(k, v) if has(table) else dropped.__setitem__(k, table))
    return keep, dropped

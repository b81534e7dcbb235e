"""Satisfaction extremes (seed 001, area 4d): the 20% most and the 20% least satisfied
customers (survey satisfaction linked to customers through customer_id, averaged per customer),
where they are (per product and region) and what characterises them (a profile comparison with
tests and effect sizes).

    sat = customer_satisfaction(study.table("survey_responses"), ["q_csat", "q_nps"])
    groups = extreme_groups(sat, share=0.2)
    feats = customer_features(customers, interactions=..., orders=..., subscriptions=...)
    compare_profiles(groups.merge(feats), "extreme", "least satisfied", "most satisfied")
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from insight.crm.attention_base import (
    AttentionDataError, in_period, period_bounds, quiet, require_columns, to_dates,
)
from insight.data.engine import customer_sales, interaction_counts
from insight.speedups import positions, take_at as take
from insight.stats import StatsInputError, compare_groups, is_significant, p_adjust

LEAST, MIDDLE, MOST = "least satisfied", "middle", "most satisfied"
OTHERS = "all other customers"
# known answer scales; other measures are rescaled by their observed range
SCALES = {"q_nps": (0.0, 10.0), "q_csat": (1.0, 5.0)}


def _rescaled(d: pd.DataFrame, m: str) -> pd.Series:
    v = pd.to_numeric(d[m], errors="coerce")
    bad = d[m].notna() & v.isna()
    if bad.any():
        raise AttentionDataError(
            f"table 'survey_responses', column {m!r}: {int(bad.sum()):,} non-numeric answers, e.g. "
            f"{list(d.loc[bad, m].astype(str).unique()[:5])}. Fix: code the answers as numbers "
            f"(map them with data.tables.survey_responses.values.{m}).")
    lo, hi = SCALES.get(m, (v.min(), v.max()))
    return (v - lo) / (hi - lo) if hi > lo else v * np.nan


def customer_satisfaction(survey: pd.DataFrame, measures, *, combine: bool = False, period=None,
                          period_column: str = "started_at", completed_only: bool = True) -> tuple[pd.DataFrame, str]:
    """One satisfaction score per customer: the mean over the customer's respondents.

    Uses the first of `measures` present in the survey (on its own scale); with combine=True every
    present measure is rescaled to 0-1 (by its scale: q_nps 0-10, q_csat 1-5, others their
    observed range) and the respondent's mean of them is used. The other present measures give a
    `tiebreak` score (their rescaled mean, 0.5 when missing) that orders customers tied on the
    main score. Returns (DataFrame customer_id, satisfaction, tiebreak, respondents; a label of
    the measure used)."""
    require_columns(survey, "survey_responses", ["customer_id"], "linking satisfaction to customers")
    present = [m for m in measures if m in survey.columns]
    if not present:
        raise AttentionDataError(
            f"table 'survey_responses' has none of the satisfaction questions {list(measures)}. Fix: set "
            f"attention.satisfaction_measures in the study params to the question ids of your survey "
            f"(numeric answer columns).")
    d = survey.loc[survey["customer_id"].notna()]
    if completed_only and "completed" in d.columns:
        d = d.loc[d["completed"].astype("boolean").fillna(False).astype(bool)]
    if period is not None and period_column in d.columns:
        d = in_period(d, period_column, period)
    rescaled = pd.DataFrame({m: _rescaled(d, m) for m in present}, index=d.index)
    if combine:
        score = rescaled.mean(axis=1, skipna=True)
        tiebreak = pd.Series(np.nan, index=d.index)
    else:
        score = pd.to_numeric(d[present[0]], errors="coerce")
        tiebreak = rescaled[present[1:]].mean(axis=1, skipna=True) if len(present) > 1 else pd.Series(np.nan, index=d.index)
    d = pd.DataFrame({"customer_id": d["customer_id"].astype(str), "satisfaction": score, "tiebreak": tiebreak})
    d = d.dropna(subset=["satisfaction"])
    g = d.groupby("customer_id")
    out = pd.DataFrame({"satisfaction": g["satisfaction"].mean(), "tiebreak": g["tiebreak"].mean().fillna(0.5),
                        "respondents": g.size()}).reset_index()
    used = present if combine else present[:1]
    label = " + ".join(used) + (" (each rescaled to 0-1)" if combine and len(used) > 1 else "")
    return out, label


def extreme_groups(sat: pd.DataFrame, share: float = 0.2, *, within: str | None = None) -> pd.DataFrame:
    """Label each customer `least satisfied` (the lowest `share` by satisfaction), `most
    satisfied` (the highest `share`) or `middle`; `within` ranks inside each value of a column
    (e.g. product). Group size is round(share x n) per ranking. Customers tied on satisfaction
    are ordered by `tiebreak` (the other satisfaction measures) when present, then by
    customer_id (a pseudonymised id: arbitrary but reproducible)."""
    if not 0 < share <= 0.5:
        raise ValueError(f"share must be in (0, 0.5], got {share}")
    keys = ["satisfaction"] + (["tiebreak"] if "tiebreak" in sat.columns else []) + ["customer_id"]
    d = sat.sort_values(keys).copy()
    if within:
        g = d.groupby(within, observed=True)
        pos = g.cumcount()
        n = g["satisfaction"].transform("size")
    else:
        pos = pd.Series(np.arange(len(d)), index=d.index)
        n = pd.Series(len(d), index=d.index)
    k = np.floor(n * share + 0.5).astype(int)
    d["extreme"] = np.where(pos < k, LEAST, np.where(pos >= n - k, MOST, MIDDLE))
    return d


def extremes_by(groups: pd.DataFrame, by: str, *, min_base: int = 10, missing_label: str = "(not recorded)") -> pd.DataFrame:
    """Where the extremes are: per value of `by`, customers with a score, mean satisfaction, the
    shares of them in the overall least / most satisfied groups, and the within-group cut-offs
    (20th / 80th percentile of satisfaction for share 0.2). Groups below `min_base` customers get
    no statistics (too small to report)."""
    if by not in groups.columns:
        raise AttentionDataError(f"the satisfaction table has no column {by!r} to break the extremes down by")
    key = groups[by].astype("object").where(groups[by].notna(), missing_label).astype(str)
    g = groups.groupby(key)
    share = (groups["extreme"] == LEAST).mean()
    share = min(max(share, 0.0), 0.5)
    out = pd.DataFrame({
        "customers": g.size(),
        "mean satisfaction": g["satisfaction"].mean(),
        "in least satisfied": (groups["extreme"] == LEAST).groupby(key).mean(),
        "in most satisfied": (groups["extreme"] == MOST).groupby(key).mean(),
        "low cut-off": g["satisfaction"].quantile(share if share > 0 else 0.2),
        "high cut-off": g["satisfaction"].quantile(1 - share if share > 0 else 0.8),
    })
    small = out["customers"] < min_base
    out.loc[small, out.columns.drop("customers")] = np.nan
    out.index.name = by
    return out.sort_values("in least satisfied", ascending=False)


# --- customer profile -------------------------------------------------------------------------

def customer_features(customers: pd.DataFrame, *, interactions: pd.DataFrame | None = None,
                      orders: pd.DataFrame | None = None, subscriptions: pd.DataFrame | None = None,
                      period=None, complaint_types=("complaint",), products: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per customer with what an analyst would profile them by (no personal data):
    segment, region, industry, tenure_years; complaints and contacts (interactions in the period);
    revenue and orders (non-returned order lines in the period) and main_product (most revenue);
    plan (of the subscription with the highest MRR) and mrr (sum over subscriptions live in
    the period); main_product falls back to the product of the largest subscription for
    customers without orders, and is the product name when products is given. Columns whose table
    is missing are left out."""
    require_columns(customers, "customers", ["customer_id"], "the customer profile")
    keep = [c for c in ("customer_id", "segment", "region", "industry", "status", "employees") if c in customers.columns]
    first = ~customers["customer_id"].duplicated()      # one row per customer (the first)
    f = customers.loc[first, keep].copy()
    f["customer_id"] = f["customer_id"].astype(str)
    ref = pd.Timestamp(period.end) if period is not None else pd.Timestamp.today().normalize()
    if "signup_date" in customers.columns:
        su = to_dates(customers.loc[first, "signup_date"])
        f["tenure_years"] = ((ref - su).dt.days / 365.25).to_numpy()
    ids = f["customer_id"]
    if interactions is not None:
        if isinstance(interactions, pd.DataFrame):
            require_columns(interactions, "interactions", ["customer_id", "date", "type"], "complaints per customer")
        # counted per customer on the engine (insight.data.engine.interaction_counts): may be a lazy table
        ic = interaction_counts(interactions, *(period_bounds(period) if period is not None else (None, None)),
                                complaint_types=complaint_types)
        at = positions(ids, ic.index)
        f["complaints"] = take(ic["complaints"], at, f.index).fillna(0).astype(int)
        f["contacts"] = take(ic["contacts"], at, f.index).fillna(0).astype(int)
    if orders is not None:
        if isinstance(orders, pd.DataFrame):
            require_columns(orders, "orders", ["customer_id", "order_date", "revenue"], "revenue per customer")
        # per customer on the engine (insight.data.engine.customer_sales): `orders` may be a lazy table
        start, end = period_bounds(period) if period is not None else (None, None)
        cs = customer_sales(orders, start, end)
        at = positions(ids, cs.index)
        f["revenue"] = take(cs["revenue"], at, f.index).fillna(0.0)
        f["orders"] = take(cs["orders"], at, f.index).fillna(0).astype(int)
        if "main_product" in cs.columns and len(cs):
            f["main_product"] = take(cs["main_product"], at, f.index)
    if subscriptions is not None and len(subscriptions):
        require_columns(subscriptions, "subscriptions", ["customer_id", "mrr", "start_date"], "plan and MRR per customer")
        s = subscriptions.copy()
        if period is not None:
            start, end = period_bounds(period)
            live = (to_dates(s["start_date"]) <= end)
            if "end_date" in s.columns:
                live &= ~(to_dates(s["end_date"]) < start)
            s = s.loc[live]
        cid = s["customer_id"].astype(str)
        mrr = s["mrr"].groupby(cid).sum()
        f["mrr"] = take(mrr, positions(ids, mrr.index), f.index).fillna(0.0)
        if "plan" in s.columns or "product_id" in s.columns:
            # each customer's subscription with the highest MRR (the first of ties in table order)
            top = s.assign(customer_id=cid).sort_values(["customer_id", "mrr"], ascending=[True, False]) \
                   .drop_duplicates("customer_id").set_index("customer_id")
            at = positions(ids, top.index)
        if "plan" in s.columns:
            f["plan"] = take(top["plan"], at, f.index)
        if "product_id" in s.columns:      # customers without orders: the product of their largest subscription
            sub_main = take(top["product_id"].astype(str), at, f.index)
            f["main_product"] = f["main_product"].fillna(sub_main) if "main_product" in f.columns else sub_main
    if "main_product" in f.columns and products is not None and {"product_id", "name"} <= set(products.columns):
        names = products.drop_duplicates("product_id").assign(product_id=lambda x: x["product_id"].astype(str)) \
                        .set_index("product_id")["name"]
        f["main_product"] = f["main_product"].map(names).fillna(f["main_product"])
    return f.reset_index(drop=True)


NUMERIC_FEATURES = ("complaints", "contacts", "revenue", "orders", "mrr", "tenure_years", "employees")
CATEGORICAL_FEATURES = ("segment", "region", "plan", "industry", "main_product")
FEATURE_LABELS = {
    "complaints": "complaints filed", "contacts": "contacts (all interactions)", "revenue": "revenue",
    "orders": "orders", "mrr": "monthly recurring revenue", "tenure_years": "years as a customer",
    "employees": "employees", "segment": "segment", "region": "region", "plan": "plan",
    "industry": "industry", "main_product": "main product",
}


def compare_profiles(df: pd.DataFrame, group: str, focus: str, reference: str | None = None, *,
                     numeric=NUMERIC_FEATURES, categorical=CATEGORICAL_FEATURES,
                     correction: str = "holm", alpha: float = 0.05) -> pd.DataFrame:
    """Profile comparison of two groups (e.g. least vs most satisfied; loss-making vs profitable):
    numeric features by Mann-Whitney U with the rank-biserial r (and its 95% CI); categorical ones
    by chi-square with Cramer's V, showing the category most over-represented in the focus group.
    p-values are corrected over the features (Holm by default). insight.stats.compare_groups does
    the tests. reference=None compares the focus group with everyone else (labelled OTHERS).
    Features absent from `df` or constant are skipped."""
    from insight.labels import label
    if reference is None:
        reference = OTHERS
        df = df.assign(**{group: np.where(df[group] == focus, focus, OTHERS)})
    d = df.loc[df[group].isin([focus, reference])]
    rows = []
    for col in [c for c in numeric if c in d.columns]:
        x = d[[col, group]].dropna()
        if x[group].nunique() < 2 or x[col].nunique() < 2:
            continue
        try:
            r = quiet(compare_groups, x, col, group, "ordinal", groups=[focus, reference], table="customer profile")
        except StatsInputError:
            continue
        a = x.loc[x[group] == focus, col]
        b = x.loc[x[group] == reference, col]
        rows.append({"feature": FEATURE_LABELS.get(col, col), "column": col, "kind": "numeric",
                     focus: a.mean(), reference: b.mean(), "shown as": "mean",
                     f"median {focus}": a.median(), f"median {reference}": b.median(),
                     "test": r.test, "p": r.p_value, "effect size": r.effect_size,
                     "effect size name": r.effect_size_name, "CI low": r.ci_low, "CI high": r.ci_high,
                     "n": r.n})
    for col in [c for c in categorical if c in d.columns]:
        x = d[[col, group]].dropna()
        if x[group].nunique() < 2 or x[col].nunique() < 2:
            continue
        x = x.assign(**{col: x[col].astype(str)})
        try:
            r = quiet(compare_groups, x, col, group, "categorical", groups=[focus, reference], table="customer profile")
        except StatsInputError:
            continue
        shares = pd.crosstab(x[group], x[col], normalize="index")
        lift = shares.loc[focus] - shares.loc[reference]
        top = lift.idxmax()
        rows.append({"feature": f"{FEATURE_LABELS.get(col, col)}: {label(str(top))}", "column": col, "kind": "categorical",
                     focus: shares.loc[focus, top], reference: shares.loc[reference, top], "shown as": "share",
                     f"median {focus}": np.nan, f"median {reference}": np.nan,
                     "test": r.test, "p": r.p_value, "effect size": r.effect_size,
                     "effect size name": r.effect_size_name, "CI low": r.ci_low, "CI high": r.ci_high,
                     "n": r.n})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["p corrected"] = p_adjust(out["p"].to_numpy(), correction)
    out["significant"] = [is_significant(p, alpha) for p in out["p corrected"]]
    out["size"] = [effect_label(e, n) for e, n in zip(out["effect size"], out["effect size name"])]
    return out.sort_values(["significant", "effect size"], key=lambda s: s.abs() if s.name == "effect size" else s,
                           ascending=[False, False]).reset_index(drop=True)


def profile_table(profile: pd.DataFrame, focus: str, reference: str) -> pd.DataFrame:
    """The profile comparison formatted for a reviewer: values as shares or means, p as text,
    the effect size with its name and size label."""
    from insight.display import p_label

    if profile.empty:
        return profile
    def val(v, kind):
        return "" if v != v else (f"{v:.0%}" if kind == "categorical" else f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}")
    return pd.DataFrame({
        "feature": profile["feature"],
        focus: [val(v, k) for v, k in zip(profile[focus], profile["kind"])],
        reference: [val(v, k) for v, k in zip(profile[reference], profile["kind"])],
        "compared as": np.where(profile["kind"] == "categorical", "share", "mean"),
        "test": profile["test"],
        "p (Holm)": [p_label(p).replace("= ", "") for p in profile["p corrected"]],
        "effect size": [f"{n} {e:+.2f}" if n == "rank-biserial r" else f"{n} {e:.2f}"
                        for n, e in zip(profile["effect size name"], profile["effect size"])],
        "size": profile["size"],
        "real difference": np.where(profile["significant"], "yes", "no"),
    })


def effect_label(value: float, name: str) -> str:
    """Conventional size labels: rank-biserial r (Vargha & Delaney 2000 via r = 2A - 1: 0.11
    small, 0.28 medium, 0.43 large) and Cramer's V (Cohen 1988 for df = 1: 0.1, 0.3, 0.5)."""
    if value is None or value != value:
        return ""
    v = abs(value)
    cuts = (0.11, 0.28, 0.43) if name == "rank-biserial r" else (0.1, 0.3, 0.5)
    return "negligible" if v < cuts[0] else "small" if v < cuts[1] else "medium" if v < cuts[2] else "large"


@dataclass
class RateRatio:
    ratio: float
    ci_low: float
    ci_high: float
    mean_focus: float
    mean_reference: float
    n_focus: int
    n_reference: int


def mean_ratio(x, y, *, n_resamples: int = 2000, seed: int = 20240101, confidence: float = 0.95) -> RateRatio:
    """Ratio of means x / y (e.g. complaints per customer, least vs most satisfied) with a
    percentile bootstrap interval (fixed seed: reproducible).

    Counts take few distinct values, so a resample of n customers is drawn as how many of them have
    each value (one multinomial draw over the distinct values, the same distribution as drawing the
    n customers with replacement): 2000 resamples of 400,000 customers cost milliseconds instead of
    the 3.6 s scipy.stats.bootstrap takes to draw 800 million indices. Values with many distinct
    levels (as many as a quarter of the observations) go to scipy.stats.bootstrap unchanged."""
    x = np.asarray(pd.Series(x).dropna(), dtype=float)
    y = np.asarray(pd.Series(y).dropna(), dtype=float)
    mx, my = (x.mean() if len(x) else np.nan), (y.mean() if len(y) else np.nan)
    ratio = mx / my if my else np.nan
    lo = hi = np.nan
    if len(x) >= 2 and len(y) >= 2 and my > 0:
        rng = np.random.default_rng(seed)
        levels = [np.unique(a, return_counts=True) for a in (x, y)]
        if all(4 * len(v) <= len(a) for (v, _), a in zip(levels, (x, y))):
            means = [rng.multinomial(len(a), c / len(a), size=n_resamples) @ v / len(a)
                     for (v, c), a in zip(levels, (x, y))]
            with np.errstate(divide="ignore", invalid="ignore"):
                boot = means[0] / means[1]
            alpha = (1 - confidence) / 2
            lo, hi = (float(q) for q in np.percentile(boot, [100 * alpha, 100 * (1 - alpha)]))
        else:
            from scipy import stats

            def stat(a, b, axis=-1):
                with np.errstate(divide="ignore", invalid="ignore"):
                    return a.mean(axis=axis) / b.mean(axis=axis)
            # resamples in batches of at most ~20M values (160 MB): one batch of 2000 resamples of 400k
            # customers held 6.4 GB at 10M order lines; small groups still run as one batch (same result)
            batch = max(1, int(2e7 // (len(x) + len(y))))
            r = stats.bootstrap((x, y), stat, n_resamples=n_resamples, confidence_level=confidence, batch=batch,
                                method="percentile", random_state=rng, vectorized=True)
            lo, hi = float(r.confidence_interval.low), float(r.confidence_interval.high)
    return RateRatio(float(ratio), lo, hi, float(mx), float(my), len(x), len(y))


def plot_distribution(groups: pd.DataFrame, label: str):
    """Histogram of customer satisfaction with the two extreme groups coloured."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots()
    sns.histplot(data=groups, x="satisfaction", hue="extreme", hue_order=[LEAST, MIDDLE, MOST],
                 palette={LEAST: "#d55e00", MIDDLE: "#bbbbbb", MOST: "#009e73"}, multiple="stack",
                 bins=min(30, max(5, groups["satisfaction"].nunique())), ax=ax)
    ax.set_xlabel(f"customer satisfaction ({label}, mean per customer)")
    ax.set_ylabel("customers")
    if ax.get_legend() is not None:           # beside the bars, never over them
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1), frameon=False, title=None)
    return fig


def plot_profile(profile: pd.DataFrame, focus: str, reference: str):
    """Effect sizes of the profile comparison with their intervals (numeric: rank-biserial r;
    categorical: Cramer's V), significant ones highlighted."""
    import matplotlib.pyplot as plt

    p = profile.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(p) + 1.4))
    y = np.arange(len(p))
    colors = np.where(p["significant"], "#0072b2", "#bbbbbb")
    ax.barh(y, p["effect size"], color=colors)
    lo = (p["effect size"] - p["CI low"]).fillna(0).clip(lower=0)
    hi = (p["CI high"] - p["effect size"]).fillna(0).clip(lower=0)
    ax.errorbar(p["effect size"], y, xerr=[lo, hi], fmt="none", ecolor="#333", capsize=2)
    ax.set_yticks(y, p["feature"].astype(str))
    ax.axvline(0, color="#333", lw=0.8)
    ax.set_xlabel(f"effect size ({focus} vs {reference}; >0: higher in {focus})")
    return fig


def findings(profile: pd.DataFrame, ratio: RateRatio | None, *, label: str, share: float = 0.2,
             reference: str = OTHERS, alpha: float = 0.05) -> list[dict]:
    """record_finding keyword dicts: the complaints of the least satisfied against `reference`
    (everyone else, or the most satisfied), and the features that significantly set them apart.
    `profile` is compare_profiles(..., LEAST, reference)."""
    out = []
    pct = f"{share:.0%}"
    ref_text = f"the {pct} most satisfied" if reference == MOST else "the other customers"
    if ratio is not None and ratio.n_focus and ratio.n_reference and ratio.ratio == ratio.ratio:
        row = profile.loc[profile["column"] == "complaints"] if len(profile) else profile
        kw = {}
        if len(row):
            r = row.iloc[0]
            kw = dict(test=f"{r['test']} (Holm-corrected over {len(profile)} features)", p_value=float(r["p corrected"]),
                      effect_size=float(r["effect size"]), effect_size_name=str(r["effect size name"]),
                      effect_ci_low=None if pd.isna(r["CI low"]) else float(r["CI low"]),
                      effect_ci_high=None if pd.isna(r["CI high"]) else float(r["CI high"]))
        sig = bool(kw) and is_significant(kw["p_value"], alpha)
        out.append(dict(
            id="crm.extremes.complaints", source="crm", severity="key" if sig else "info",
            metric=f"complaints per customer, least satisfied / {'most satisfied' if reference == MOST else 'others'}",
            value=ratio.ratio, base=ratio.n_focus + ratio.n_reference, ci_low=ratio.ci_low, ci_high=ratio.ci_high,
            statement=(f"The {pct} least satisfied customers filed {ratio.ratio:.1f} times as many complaints as "
                       f"{ref_text} ({ratio.mean_focus:.2f} vs {ratio.mean_reference:.2f} per customer)"
                       + (", a real difference." if sig else "; the difference could be chance.")),
            extra={"measure": label, "mean_least": ratio.mean_focus, "mean_reference": ratio.mean_reference,
                   "reference": reference}, **kw))
    if len(profile):
        sig = profile.loc[profile["significant"] & (profile["column"] != "complaints")]
        if len(sig):
            bits = []
            for _, r in sig.head(4).iterrows():
                if r["kind"] == "categorical":
                    bits.append(f"{r['feature']} ({r[LEAST]:.0%} vs {r[reference]:.0%})")
                else:
                    bits.append(f"{r['feature']} (mean {r[LEAST]:,.1f} vs {r[reference]:,.1f})")
            out.append(dict(
                id="crm.extremes.profile", source="crm", severity="info",
                metric="features that differ significantly", value=len(sig), base=int(profile["n"].max()),
                statement=f"Besides complaints, the least satisfied differ from {ref_text} in: " + "; ".join(bits) + ".",
                extra={"features": sig["feature"].tolist()}))
        else:
            out.append(dict(
                id="crm.extremes.profile", source="crm", severity="info", metric="features that differ significantly",
                value=0, base=int(profile["n"].max()),
                statement=f"Apart from complaints, no profile feature tells the least satisfied from {ref_text} "
                          "with confidence."))
    return out


def complaint_ratio(prof: pd.DataFrame, reference: str = OTHERS, **kw) -> RateRatio | None:
    """Complaints per customer of the least satisfied / those of `reference` (OTHERS or MOST)."""
    if "complaints" not in prof.columns:
        return None
    ref = prof["extreme"] != LEAST if reference == OTHERS else prof["extreme"] == reference
    return mean_ratio(prof.loc[prof["extreme"] == LEAST, "complaints"], prof.loc[ref, "complaints"], **kw)

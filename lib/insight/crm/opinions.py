"""Opinions on products: ratings per product, and the acceptance of newly launched products.

- `ratings_by_product`: reviews per product, mean rating with a t-based 95% CI, share of 4-5
  (satisfied) and 1-2 (dissatisfied) ratings; a Kruskal-Wallis test across products (ratings are
  ordinal, so a rank test).
- `adoption`: for each new product (launched on or after a date), the share of customers who have
  bought it by N months after launch, per customer group. The eligible customers of a group are
  those with an account at launch who had not churned by then; a customer who churns later stays
  in the denominator (an adoption they did not make). Time to adoption is compared across groups
  with a log-rank test (adoption as the event, censored at churn or the end of the data).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from insight.crm.purchases import CrmInputError, account_customers, as_dates, as_numbers, require
from insight.data.engine import first_purchase_of
from insight.stats import is_significant


def ratings_by_product(reviews: pd.DataFrame, products: pd.DataFrame | None = None, alpha: float = 0.05) -> pd.DataFrame:
    from scipy import stats

    require(reviews, "reviews", ["product_id", "rating"], "ratings per product")
    r = reviews.copy()
    r["rating"] = as_numbers(r, "reviews", "rating")
    bad = r["rating"].notna() & ~r["rating"].between(1, 5)
    if bad.any():
        rows = list(r.index[bad][:5])
        raise CrmInputError(f"table 'reviews', column 'rating': {int(bad.sum())} rating(s) outside 1-5 (rows {rows}); "
                            "map your scale onto 1-5 in params data.tables.reviews.values")
    r = r.dropna(subset=["rating"])
    g = r.groupby("product_id", observed=True)["rating"]
    out = pd.DataFrame({"reviews": g.size(), "mean_rating": g.mean(), "sd": g.std(ddof=1),
                        "share_4_5": g.apply(lambda s: (s >= 4).mean()), "share_1_2": g.apply(lambda s: (s <= 2).mean())})
    se = out["sd"] / np.sqrt(out["reviews"])
    tcrit = stats.t.ppf(1 - alpha / 2, (out["reviews"] - 1).clip(lower=1))
    out["ci_low"] = out["mean_rating"] - tcrit * se
    out["ci_high"] = out["mean_rating"] + tcrit * se
    if products is not None and {"product_id", "name"} <= set(products.columns):
        meta = products.drop_duplicates("product_id").set_index("product_id")
        out.insert(0, "product", meta["name"].reindex(out.index))
        if "category" in meta:
            out.insert(1, "category", meta["category"].reindex(out.index))
    groups = [s.to_numpy() for _, s in g if len(s) >= 2]
    if len(groups) >= 2:
        from insight.stats import BOOTSTRAP_RESAMPLES, epsilon_squared_ci
        h, p = stats.kruskal(*groups)
        n = sum(len(x) for x in groups)
        eps, lo, hi = epsilon_squared_ci(groups, 1 - alpha)
        out.attrs.update(test="Kruskal-Wallis", h=float(h), p_value=float(p), base=int(n), epsilon_squared=eps,
                         epsilon_squared_ci=(lo, hi), resamples=BOOTSTRAP_RESAMPLES)
    return out.sort_values("mean_rating", ascending=False)


def rating_trend(reviews: pd.DataFrame, grain: str = "Q") -> pd.DataFrame:
    """Mean rating and reviews per period."""
    require(reviews, "reviews", ["date", "rating"], "the rating trend")
    r = reviews.copy()
    r["date"] = as_dates(r, "reviews", "date")
    r["period"] = r["date"].dt.to_period(grain).astype(str)
    g = r.groupby("period")["rating"]
    return pd.DataFrame({"reviews": g.size(), "mean_rating": g.mean(), "share_4_5": g.apply(lambda s: (s >= 4).mean())})


def new_products(products: pd.DataFrame, since) -> pd.DataFrame:
    """Products launched on or after `since`."""
    require(products, "products", ["product_id", "name"], "new-product adoption")
    if "launch_date" not in products:
        raise CrmInputError("table 'products' has no launch_date: new-product adoption needs it")
    p = products.copy()
    p["launch_date"] = as_dates(p, "products", "launch_date")
    return p.loc[p["launch_date"] >= pd.Timestamp(since)].sort_values("launch_date")


def adoption_frame(orders: pd.DataFrame, customers: pd.DataFrame, product_ids, launch_date, as_of,
                   by: str = "segment") -> pd.DataFrame:
    """Per eligible customer: group, adopted (bought by as_of), months_to_adopt (or to censoring).
    `orders`: a DataFrame or an ibis table (study.engine.table("orders")): each customer's first
    purchase of the product comes back from the engine (insight.data.engine.first_purchase_of)."""
    c = account_customers(customers)
    L, E = pd.Timestamp(launch_date), pd.Timestamp(as_of)
    require(c, "customers", [by], "adoption by group")
    c = c.loc[(c["signup_date"] <= L) & (c["churn_date"].isna() | (c["churn_date"] > L))].drop_duplicates("customer_id")
    first = first_purchase_of(orders, product_ids, L, E)
    f = c.set_index("customer_id")[[by, "churn_date"]].copy()
    f["first_purchase"] = first.reindex(f.index)
    f["adopted"] = f["first_purchase"].notna()
    end = f["churn_date"].where(f["churn_date"].notna() & (f["churn_date"] < E), E)
    t_end = f["first_purchase"].where(f["adopted"], end)
    f["months"] = (t_end - L).dt.days / 30.4375
    f.attrs["observed_months"] = (E - L).days / 30.4375
    return f


def adoption_curve(frame: pd.DataFrame, by: str = "segment", months: int = 9) -> pd.DataFrame:
    """Share of the eligible customers of each group who adopted within m months of launch,
    m = 1..months (rows: groups; columns: months; .attrs['base'] customers per group)."""
    observed = frame.attrs.get("observed_months")
    if observed is not None:                       # months not yet observed for everyone are left out
        months = max(1, min(months, int(np.floor(observed))))
    ms = np.arange(1, months + 1)
    adopted_at = frame["months"].where(frame["adopted"])
    hits = (adopted_at.to_numpy()[:, None] <= ms[None, :])
    d = pd.DataFrame(hits, index=frame.index, columns=ms)
    d[by] = frame[by].to_numpy()
    out = d.groupby(by, observed=True)[list(ms)].mean()
    out.columns.name = "months since launch"
    out.attrs["base"] = frame.groupby(by, observed=True).size().to_dict()
    return out


def adoption_test(frame: pd.DataFrame, by: str = "segment") -> dict:
    """Log-rank test of time to adoption across groups (KM on 'not yet adopted')."""
    from insight.crm.churn import kaplan_meier
    res = kaplan_meier(frame["months"].clip(lower=0), frame["adopted"], frame[by].astype(str))
    res["by"] = by
    return res


def adoption_plot(curve: pd.DataFrame, title: str = ""):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for grp, row in curve.iterrows():
        ax.plot(row.index.astype(int), row.to_numpy(), marker="o", label=str(grp))
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("months since launch")
    ax.set_ylabel("share of customers who bought it")
    ax.set_title(title)
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def ratings_finding(table: pd.DataFrame, alpha: float = 0.05, min_reviews: int = 10) -> dict:
    t = table.loc[table["reviews"] >= min_reviews]
    if t.empty:  # a small export: no product has enough reviews to be ranked
        return dict(id="crm.opinions.ratings", statement=f"No product has {min_reviews} or more reviews, so products are "
                    "not ranked by rating.", metric="most reviews of one product",
                    value=int(table["reviews"].max()) if len(table) else 0, base=table.attrs.get("base"),
                    source="crm", severity="info")
    lo, hi = t["mean_rating"].idxmin(), t["mean_rating"].idxmax()
    name = (lambda i: str(t.loc[i, "product"]) if "product" in t else str(i))
    p = table.attrs.get("p_value")
    real = is_significant(p, alpha)
    statement = (f"{name(hi)} is rated highest ({t.loc[hi, 'mean_rating']:.1f} of 5, {t.loc[hi, 'share_4_5']:.0%} give 4-5) and "
                 f"{name(lo)} lowest ({t.loc[lo, 'mean_rating']:.1f}, {t.loc[lo, 'share_1_2']:.0%} give 1-2)"
                 + ("; ratings differ between products." if real else "; the differences may be chance."))
    return dict(id="crm.opinions.ratings", statement=statement, metric=f"mean rating of {name(lo)}",
                value=float(t.loc[lo, "mean_rating"]), base=table.attrs.get("base"),
                test=f"Kruskal-Wallis; epsilon-squared interval: bootstrap, {table.attrs.get('resamples', 0):,} resamples",
                p_value=p,
                effect_size=table.attrs.get("epsilon_squared"), effect_size_name="epsilon squared", source="crm",
                effect_ci_low=(table.attrs.get("epsilon_squared_ci") or (None, None))[0],
                effect_ci_high=(table.attrs.get("epsilon_squared_ci") or (None, None))[1],
                severity="key" if real else "info")


def adoption_finding(curve: pd.DataFrame, test: dict, product: str, by: str = "segment", alpha: float = 0.05,
                     at: int | None = None) -> dict:
    at = at or int(curve.columns.max())
    col = curve[at].sort_values(ascending=False)
    fast, slow = col.index[0], col.index[-1]
    p = test["p_value"]
    real = is_significant(p, alpha)
    from insight.labels import label
    statement = (f"{at} months after launch, {col[fast]:.0%} of {label(fast)} customers had bought {product}, against "
                 f"{col[slow]:.0%} of {label(slow)}" + (" — adoption speed differs by " + label(by) + "." if real
                                                        else ", a gap that may be chance."))
    return dict(id=f"crm.opinions.adoption_{str(product).lower().replace(' ', '_')}", statement=statement,
                metric=f"adoption at {at} months, {label(fast)}", value=float(col[fast]), base=test["base"],
                test="log-rank test of time to adoption", p_value=p, source="crm", severity="key" if real else "info",
                extra={str(k): float(v) for k, v in col.items()})

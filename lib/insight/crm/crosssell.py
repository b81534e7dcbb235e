"""Upgrade and cross-sell candidates, each with its reason:

- contract end near: a running subscription ends or renews within N days (a natural moment for a
  renewal and upgrade conversation);
- usage near plan limits: active users (the busiest feature of the latest month) at or above a
  share of the seats bought on running subscriptions;
- affinity: products (or categories) bought together more often than chance. For a pair A -> B:
  support = share of customers who bought both; confidence = share of A's buyers who also bought B;
  lift = confidence / share of all customers who bought B (1 = no affinity). A customer who bought A
  but not B is a candidate for B when the rule A -> B passes the thresholds (params crm.crosssell:
  lift >= 1.5, confidence >= 20%, support >= 2% and 20 customers buying both by default; see
  thresholds_text for why).

The affinity computation is a sparse customer x item matrix product, so it scales to big order
tables.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from insight.crm.purchases import CrmInputError, as_dates, as_numbers, require
from insight.data.engine import customer_items, latest_usage
from insight.speedups import isin


def basket_matrix(orders, products: pd.DataFrame | None = None, level: str = "category",
                  max_items: int | None = 300, until=None):
    """(sparse 0/1 customer x item matrix, customer index, item index) of the purchases up to the day
    `until` (all when None). With many products only the `max_items` items with the most buyers are
    kept (rules on rare items are noise anyway). `orders`: a DataFrame or an ibis table: who bought
    which item comes back from the engine (insight.data.engine.customer_items), not the lines."""
    from scipy import sparse

    if level == "category":
        if products is None:
            raise CrmInputError("affinity by category needs the products table (product_id, category)")
        require(products, "products", ["product_id", "category"], "affinity by category")
    items = None
    if level == "category":
        items = products[["product_id", "category"]].drop_duplicates("product_id").rename(columns={"category": "item"})
    pairs = customer_items(orders, until, items)          # distinct (customer_id, item), from the engine
    if max_items is not None and pairs["item"].nunique() > max_items:
        # the items with the most buyers; ties by item, so the choice does not depend on the row order
        buyers = pairs["item"].value_counts().sort_index().sort_values(ascending=False, kind="stable")
        pairs = pairs.loc[isin(pairs["item"], buyers.index[:max_items])]
    cc = pd.Categorical(pairs["customer_id"])
    ii = pd.Categorical(pairs["item"])
    m = sparse.csr_matrix((np.ones(len(pairs), dtype=np.float64), (cc.codes, ii.codes)),
                          shape=(len(cc.categories), len(ii.categories)))
    m.sort_indices()       # items in order within each customer's row, whatever order the pairs came in
    return m, pd.Index(cc.categories.to_numpy(dtype=object), name="customer_id"), pd.Index(ii.categories.to_numpy(dtype=object), name=level)


def association_rules(orders, products: pd.DataFrame | None = None, level: str = "category",
                      min_pair_customers: int = 1, max_items: int | None = 300, until=None) -> pd.DataFrame:
    """Every pair A -> B with customers_both, support, confidence, lift, sorted by lift (purchases up
    to the day `until`, all when None)."""
    m, _, items = basket_matrix(orders, products, level, max_items, until)
    return _rules(m, items, level, min_pair_customers)


def _rules(m, items: pd.Index, level: str, min_pair_customers: int) -> pd.DataFrame:
    """association_rules of a basket matrix (basket_matrix)."""
    n = m.shape[0]
    co = (m.T @ m).toarray()
    single = np.diag(co).copy()
    conf = co / single[:, None]
    lift = conf / (single[None, :] / n)
    a, b = np.meshgrid(np.arange(len(items)), np.arange(len(items)), indexing="ij")
    keep = (a != b) & (co >= min_pair_customers)
    out = pd.DataFrame({"antecedent": items[a[keep]], "consequent": items[b[keep]],
                        "customers_both": co[keep].astype(int), "customers_antecedent": single[a[keep]].astype(int),
                        "support": co[keep] / n, "confidence": conf[keep], "lift": lift[keep]})
    out.attrs.update(customers=n, level=level)
    return out.sort_values(["lift", "customers_both"], ascending=False).reset_index(drop=True)


def strong_rules(rules: pd.DataFrame, min_lift: float = 1.5, min_confidence: float = 0.2, min_pair_customers: int = 20,
                 min_support: float = 0.0) -> pd.DataFrame:
    """The rules that pass every threshold (params crm.crosssell): lift, confidence, support and
    customers buying both."""
    return rules.loc[(rules["lift"] >= min_lift) & (rules["confidence"] >= min_confidence) &
                     (rules["customers_both"] >= min_pair_customers) & (rules["support"] >= min_support)]


def thresholds_text(config) -> str:
    """The affinity thresholds in words, with why they are set as they are (for the report)."""
    return (f"A pair A → B makes candidates only when buying A goes with buying B clearly more often than chance "
            f"(lift at least {config.min_lift:g}), at least {config.min_confidence:.0%} of A's buyers also bought B, "
            f"and the pair is common: at least {config.min_support:.0%} of all customers and {config.min_pair_customers:,} "
            "customers bought both. Weaker rules flood the list: products that most customers buy anyway pair up with lifts "
            "around 1.2 by chance alone (on the demo company such rules made four in five active customers candidates), "
            "and rules on rare pairs are mostly noise. "
            "Set per study in params crm.crosssell (min_lift, min_confidence, min_support, min_pair_customers).")


def affinity_candidates(orders, products: pd.DataFrame | None = None, level: str = "category",
                        min_lift: float = 1.5, min_confidence: float = 0.2, min_pair_customers: int = 20,
                        rules: pd.DataFrame | None = None, max_items: int | None = 300,
                        min_support: float = 0.0, until=None) -> pd.DataFrame:
    """One row per customer and recommended item not yet bought (purchases up to the day `until`),
    from the strongest rule that recommends it (highest lift among the items the customer has).
    Columns: customer_id, item, because_of, lift, confidence, reason."""
    basket = None
    if rules is None:       # one basket for the rules and the candidates (each costs a pass over who bought what)
        basket = basket_matrix(orders, products, level, max_items, until)
        rules = _rules(basket[0], basket[2], level, min_pair_customers)
    r = strong_rules(rules, min_lift, min_confidence, min_pair_customers, min_support)
    if r.empty:
        return pd.DataFrame(columns=["customer_id", "item", "because_of", "lift", "confidence", "reason"])
    m, cust, items = basket if basket is not None else basket_matrix(orders, products, level, max_items, until)
    pos = {v: i for i, v in enumerate(items)}
    ai = r["antecedent"].map(pos).to_numpy()
    bi = r["consequent"].map(pos).to_numpy()
    k = len(items)
    rows = []
    # for each recommended item b, the best antecedent lift among the customer's items (few items: loop over items)
    for b in np.unique(bi):
        sel = bi == b
        lifts = np.zeros(k)
        lifts[ai[sel]] = r["lift"].to_numpy()[sel]
        score = m.multiply(lifts[None, :]).tocsr()
        best = np.asarray(score.max(axis=1).toarray()).ravel()
        arg = np.asarray(score.argmax(axis=1)).ravel()
        has_b = np.asarray(m[:, b].toarray()).ravel() > 0
        cand = (best > 0) & ~has_b
        if cand.any():
            rows.append(pd.DataFrame({"customer_id": cust[cand], "item": items[b], "because_of": items[arg[cand]],
                                      "lift": best[cand]}))
    if not rows:
        return pd.DataFrame(columns=["customer_id", "item", "because_of", "lift", "confidence", "reason"])
    out = pd.concat(rows, ignore_index=True)
    conf = r.set_index(["antecedent", "consequent"])["confidence"]
    out["confidence"] = conf.reindex(pd.MultiIndex.from_arrays([out["because_of"], out["item"]])).to_numpy()
    label = lambda v: v.astype(str)
    if level == "product" and products is not None and {"product_id", "name"} <= set(products.columns):
        names = products.drop_duplicates("product_id").set_index("product_id")["name"].astype(str)
        label = lambda v: v.map(names).fillna(v.astype(str))
    out["reason"] = ("bought " + label(out["because_of"]) + "; " + (out["confidence"] * 100).round(0).astype(int).astype(str)
                     + "% of those buyers also buy " + label(out["item"]) + " (lift " + out["lift"].round(2).astype(str) + ")")
    return out.sort_values(["customer_id", "lift"], ascending=[True, False]).reset_index(drop=True)


def contract_end_candidates(subscriptions: pd.DataFrame, as_of, within_days: int = 90) -> pd.DataFrame:
    """Running subscriptions whose renewal (or end) date falls within `within_days` after as_of."""
    require(subscriptions, "subscriptions", ["customer_id", "product_id", "start_date", "end_date"], "contract-end candidates")
    s = subscriptions.copy()
    C = pd.Timestamp(as_of)
    s["start_date"] = as_dates(s, "subscriptions", "start_date")
    s["end_date"] = as_dates(s, "subscriptions", "end_date")
    due = as_dates(s, "subscriptions", "renewal_date") if "renewal_date" in s else s["end_date"]
    s["due"] = due.fillna(s["end_date"])
    running = (s["start_date"] <= C) & (s["end_date"].isna() | (s["end_date"] > C))
    near = running & (s["due"] > C) & (s["due"] <= C + pd.Timedelta(days=within_days))
    out = s.loc[near, ["customer_id", "product_id", *[c for c in ("plan", "mrr") if c in s], "due"]].copy()
    out["days_to_renewal"] = (out["due"] - C).dt.days
    out["reason"] = ("contract " + out["product_id"].astype(str) + " renews " + out["due"].dt.strftime("%Y-%m-%d") +
                     " (in " + out["days_to_renewal"].astype(str) + np.where(out["days_to_renewal"] == 1, " day)", " days)"))
    return out.sort_values("days_to_renewal").reset_index(drop=True)


def usage_limit_candidates(usage: pd.DataFrame, subscriptions: pd.DataFrame, as_of, share: float = 0.9) -> pd.DataFrame:
    """Customers whose active users in the latest month up to as_of reach `share` of their seats."""
    if isinstance(usage, pd.DataFrame):
        require(usage, "usage", ["customer_id", "month", "active_users"], "usage-limit candidates")
    require(subscriptions, "subscriptions", ["customer_id", "start_date", "end_date"], "usage-limit candidates")
    if "seats" not in subscriptions:
        raise CrmInputError("table 'subscriptions' has no seats column: usage near plan limits needs the seats bought")
    C = pd.Timestamp(as_of)
    users = latest_usage(usage, C)       # on the engine: the busiest feature of each customer's latest month
    if users.empty:
        return pd.DataFrame(columns=["customer_id", "active_users", "seats", "utilisation", "reason"])
    s = subscriptions.copy()
    s["start_date"] = as_dates(s, "subscriptions", "start_date")
    s["end_date"] = as_dates(s, "subscriptions", "end_date")
    s["seats"] = as_numbers(s, "subscriptions", "seats")
    running = (s["start_date"] <= C) & (s["end_date"].isna() | (s["end_date"] > C))
    seats = s.loc[running & (s["seats"] > 0)].groupby("customer_id")["seats"].sum()
    d = pd.DataFrame({"active_users": users, "seats": seats}).dropna()
    d["utilisation"] = d["active_users"] / d["seats"]
    d = d.loc[d["utilisation"] >= share].sort_values("utilisation", ascending=False)
    d["reason"] = ("uses " + d["active_users"].astype(int).astype(str) + " of " + d["seats"].astype(int).astype(str)
                   + " seats (" + (d["utilisation"] * 100).round(0).astype(int).astype(str) + "%)")
    return d.rename_axis("customer_id").reset_index()


def candidates(customers: pd.DataFrame, as_of, orders=None, products=None, subscriptions=None, usage=None,
               config=None, rules: pd.DataFrame | None = None) -> pd.DataFrame:
    """All candidates in one list: customer_id, segment, region, kind (renewal | upgrade |
    cross_sell), item, reason. Churned customers (by as_of, or marked churned with no date) are left out.
    `rules`: association_rules(orders, products, config.level, until=as_of) when already computed (the
    affinity candidates then need the basket only when some rule is strong)."""
    from insight.crm.churn import churn_frame
    if config is None:
        from insight.config.crm import CrossSellConfig
        config = CrossSellConfig()
    from insight.crm.purchases import undated_churners
    if rules is not None and (rules.attrs.get("level") != config.level):
        raise ValueError(f"the rules given are by {rules.attrs.get('level')!r}, the candidates by {config.level!r}")
    customers = customers.loc[~undated_churners(customers)]   # churned, date unknown: they have left all the same
    active = churn_frame(customers, as_of)
    active = active.loc[~active["churned"]].drop_duplicates("customer_id").set_index("customer_id")
    parts = []
    if subscriptions is not None:
        ce = contract_end_candidates(subscriptions, as_of, config.contract_end_within_days)
        parts.append(ce.assign(kind="renewal", item=ce["product_id"])[["customer_id", "kind", "item", "reason"]])
        if usage is not None and "seats" in subscriptions:
            ul = usage_limit_candidates(usage, subscriptions, as_of, config.usage_limit_share)
            parts.append(ul.assign(kind="upgrade", item="more seats")[["customer_id", "kind", "item", "reason"]])
    if orders is not None:
        af = affinity_candidates(orders, products, config.level, config.min_lift, config.min_confidence, config.min_pair_customers,
                                 rules=rules, min_support=config.min_support, until=as_of)
        parts.append(af.assign(kind="cross_sell")[["customer_id", "kind", "item", "reason"]])
    if not parts:
        raise CrmInputError("cross-sell candidates need orders (affinity) or subscriptions (contract end, usage limits)")
    out = pd.concat(parts, ignore_index=True)
    pos = active.index.get_indexer(out["customer_id"])    # one lookup in the active customers' ids for all columns
    out, pos = out.loc[pos >= 0], pos[pos >= 0]
    for col in ("region", "segment"):
        if col in active:
            out.insert(1, col, active[col].iloc[pos].to_numpy())
    out = out.reset_index(drop=True)
    out.attrs["active_customers"] = len(active)
    return out


KIND_LABELS = {"renewal": "contract ending soon", "upgrade": "usage near the plan limit", "cross_sell": "product affinity"}


def candidates_finding(cand: pd.DataFrame) -> dict:
    """record_finding keyword arguments: how many active customers are candidates, per kind in
    distinct customers (a customer can be a candidate of several kinds and for several products)."""
    n = int(cand["customer_id"].nunique())
    per_kind = cand.groupby("kind")["customer_id"].nunique().sort_values(ascending=False)
    active = cand.attrs.get("active_customers")
    share = f" ({n / active:.0%} of {active:,} active customers)" if active else ""
    parts = "; ".join(f"{KIND_LABELS.get(k, k)}: {v:,}" for k, v in per_kind.items())
    return dict(id="crm.crosssell.candidates", statement=f"{n:,} active customers are upgrade or cross-sell candidates{share}. "
                f"Customers per reason ({'several reasons can apply' if per_kind.sum() > n else 'one reason each'}): {parts}.",
                metric="candidate customers", value=n, base=active, source="crm",
                extra={str(k): int(v) for k, v in per_kind.items()})


def label_rules(rules: pd.DataFrame, products: pd.DataFrame | None) -> pd.DataFrame:
    """Rules for display: product ids replaced by 'name (id)' when the products table has names."""
    if products is None or rules.attrs.get("level") != "product" or "name" not in products:
        return rules
    names = products.drop_duplicates("product_id").set_index("product_id")["name"].astype(str)
    out = rules.copy()
    for col in ("antecedent", "consequent"):
        out[col] = out[col].map(lambda v: f"{names[v]} ({v})" if v in names.index else str(v))
    return out

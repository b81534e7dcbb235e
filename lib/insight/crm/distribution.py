"""Product distribution: what each customer type buys, by region and period.

- `sales_frame`: purchases of a period summed per customer and product on the engine
  (insight.data.engine.product_sales), joined to customer attributes and product names/categories:
  one row per customer and product bought, with revenue and lines. Every measure here is a sum or a
  count of distinct customers over those rows, so it equals the same measure over the order lines.
- `study_sales`: the frames of the study period and the period before, product and customer groups
  collapsed alike for the charts.
- `share_table`: revenue (or customers) share of each product group within each customer group.
- `share_change`: the same shares in two periods and their difference in percentage points.
- `period_shares`: the mix per quarter (or month, year), summed on the engine per product and period.
- `concentration`: index = share of a product group within a customer group / its overall share
  (1 = as everywhere, 2 = twice as much), with the cell's adjusted standardized residual of the
  customer-group x product-group chi-square table on customer counts.
- `buyer_rate_comparison`: the share of customers who bought a product group in one customer group
  against all others (two-proportion z-test, risk ratio): the test behind hypotheses such as H6.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from insight.crm.purchases import CrmInputError, collapse, period_name, require
from insight.data.engine import product_sales, purchase_customers
from insight.speedups import isin, positions
from insight.stats import p_adjust


def _check_products(orders, products: pd.DataFrame) -> None:
    """Every purchase line names a product of the products table (over all dates)."""
    per = product_sales(orders, by=("product_id",))
    unknown = per.loc[~per["product_id"].isin(products["product_id"])]
    if len(unknown):
        raise CrmInputError(f"table 'orders', column 'product_id': {int(unknown['lines'].sum()):,} purchase line(s) name products "
                            f"missing from 'products' (e.g. {list(unknown['product_id'].head(5))}). "
                            "Fix: add them to the products table or exclude them in params data.tables.orders.exclude")


def _left_join(frame: pd.DataFrame, table: pd.DataFrame, key: str) -> pd.DataFrame:
    """frame.merge(table, on=key, how="left") for a `table` with unique keys. With text keys and text
    columns (the sales frames: millions of rows per customer and product) the table's rows are found
    by one Arrow hash lookup (speedups.positions; a missing key matches a missing key, as in
    merge) and taken by position: pandas' merge factorises both key columns through Arrow-to-Python
    conversions (about 1 s per join at 10M order lines). The same frame either way."""
    def text(s):
        return isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"

    other = [c for c in table.columns if c != key]
    if set(other) & set(frame.columns) or not all(text(x) for x in (frame[key], table[key], *(table[c] for c in other))):
        return frame.merge(table, on=key, how="left")
    pos = positions(frame[key], table[key])
    out = frame.reset_index(drop=True)
    for c in other:
        out[c] = table[c].array.take(pos, allow_fill=True)
    return out


def _with_products(frame: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """`frame` (with product_id) with the product's name (as `product`) and category."""
    return _left_join(frame, products[["product_id", "name", "category"]].drop_duplicates("product_id")
                      .rename(columns={"name": "product"}), "product_id")


def sales_frame(orders, customers: pd.DataFrame, products: pd.DataFrame,
                attributes: list[str] | tuple[str, ...] = ("segment", "region"), period: tuple | None = None,
                check: bool = True) -> pd.DataFrame:
    """Purchases with start <= order day <= end of `period` (all when None), one row per customer and
    product bought: customer_id, product_id, product (name), category, the customer `attributes`
    the customers table has, revenue and lines. `orders`: a DataFrame or an ibis table (the sums run
    on the engine)."""
    require(products, "products", ["product_id", "name", "category"], "product distribution")
    attrs = [a for a in attributes if a in customers.columns]
    require(customers, "customers", ["customer_id"])
    if check:
        _check_products(orders, products)
    lo, hi = period if period is not None else (None, None)
    o = product_sales(orders, lo, hi)
    o = _with_products(o, products)
    c = customers[["customer_id", *attrs]].drop_duplicates("customer_id")
    return _left_join(o, c, "customer_id")


def study_sales(orders, customers: pd.DataFrame, products: pd.DataFrame, attributes, level: str,
                current: tuple, previous: tuple, max_items: int = 12, max_groups: int = 15) -> dict:
    """The sales frames of the study period ('current') and of the period before ('previous'), with
    at most `max_items` product groups of `level` (the largest by revenue in the study period; the
    rest 'other') and at most `max_groups` values of each customer attribute (the most common among
    the customers; the rest 'other'), the same in both frames. 'groupings': the attributes with at
    least two values to compare; 'unusable': the others."""
    from insight.crm.purchases import usable

    cur = sales_frame(orders, customers, products, attributes, current)
    prev = sales_frame(orders, customers, products, attributes, previous, check=False)
    # distinct values before set(): a set of a pandas 3 text column walks it in Python (1-2 us a row,
    # seconds at millions of rows); unique() is one pass in C
    kept = set(collapse(cur[level], max_items, cur["revenue"]).dropna().unique())
    groupings = [b for b in attributes if usable(cur, b)]
    for frame in (cur, prev):
        frame[level] = frame[level].where(frame[level].isin(kept) | frame[level].isna(), "other")
        for b in groupings:
            top = set(collapse(customers[b].dropna(), max_groups).unique())
            frame[b] = frame[b].where(frame[b].isin(top) | frame[b].isna(), "other")
    return {"current": cur, "previous": prev, "groupings": groupings,
            "unusable": [b for b in attributes if b not in groupings]}


def share_table(sales: pd.DataFrame, by: str, level: str = "category", measure: str = "revenue",
                normalize: str = "row", base: bool = True) -> pd.DataFrame:
    """Crosstab of customer group (rows) x product group (columns): shares of revenue ('revenue'),
    of buying customers ('customers') or of order lines ('orders'). normalize='row' gives each
    customer group's mix; 'column' each product group's buyers; 'all' the grand share.
    The base per row is in .attrs['base'] (customers per group; base=False leaves it out: distinct
    customers per group cost a pass over every row's customer id, 0.3-0.5 s at 10M lines)."""
    require(sales, "sales", [by, level, "customer_id"])
    d = sales.loc[sales[by].notna() & sales[level].notna()]
    if measure == "revenue":
        t = d.pivot_table(index=by, columns=level, values="revenue", aggfunc="sum", fill_value=0.0, observed=True)
    elif measure == "customers":
        t = d.drop_duplicates(["customer_id", level]).pivot_table(index=by, columns=level, values="customer_id",
                                                                   aggfunc="count", fill_value=0, observed=True)
    elif measure == "orders":      # order lines: summed when the rows are per customer and product
        t = (d.assign(lines=1) if "lines" not in d.columns else d).pivot_table(
            index=by, columns=level, values="lines", aggfunc="sum", fill_value=0, observed=True)
    else:
        raise ValueError("measure must be revenue, customers or orders")
    t = t.astype(float)
    if normalize == "row":
        out = t.div(t.sum(axis=1), axis=0)
    elif normalize == "column":
        out = t.div(t.sum(axis=0), axis=1)
    elif normalize == "all":
        out = t / t.to_numpy().sum()
    else:
        out = t
    if base:
        out.attrs["base"] = d.groupby(by, observed=True)["customer_id"].nunique().to_dict()
    return out


def share_change(current: pd.DataFrame, previous: pd.DataFrame, by: str, level: str = "category",
                 measure: str = "revenue") -> pd.DataFrame:
    """Long table of shares in the previous and the current period (two sales frames) and the change
    in points."""
    if current.empty:
        raise CrmInputError("no purchases in the study period: check params study.period")
    cur = share_table(current, by, level, measure).stack().rename("share")
    prev = share_table(previous, by, level, measure).stack().rename("share") if len(previous) else cur * np.nan
    out = pd.concat({"previous": prev, "current": cur}, axis=1).fillna(0.0)
    out["change_points"] = (out["current"] - out["previous"]) * 100
    out.index.names = [by, level]
    return out.sort_values("change_points", key=abs, ascending=False)


def mix_shift_sentence(current: pd.DataFrame, previous: pd.DataFrame, level: str, measure: str = "revenue") -> str | None:
    """One sentence on what moved most in the overall mix between the previous and the current period
    (two sales frames; None when either has no purchases)."""
    from insight.labels import label

    def shares(s):
        tot = s[measure].sum()
        return s.groupby(level, observed=True)[measure].sum() / tot if len(s) and tot else None

    cur, prev = shares(current), shares(previous)
    if cur is None or prev is None:
        return None
    d = pd.concat({"prev": prev, "cur": cur}, axis=1).fillna(0.0)
    d["change"] = (d["cur"] - d["prev"]) * 100
    up, down = d["change"].idxmax(), d["change"].idxmin()
    text = (f"Across all customers, the largest shift from the period before is {label(up)}: {d.at[up, 'prev']:.0%} of revenue "
            f"then, {d.at[up, 'cur']:.0%} now ({d.at[up, 'change']:+.0f} points)")
    if d.at[down, "change"] < 0:
        text += f"; {label(down)} fell most, from {d.at[down, 'prev']:.0%} to {d.at[down, 'cur']:.0%} ({d.at[down, 'change']:+.0f} points)"
    return text + "."


def customer_mix(sales: pd.DataFrame, level: str = "category") -> pd.DataFrame:
    """Per customer: share of their revenue in each product group (rows customers, sorted; columns
    groups, sorted). Customers without revenue are left out."""
    m = _mix_codes(sales, level)
    return pd.DataFrame(m.mix, index=pd.Index(m.customers[m.kept], name="customer_id"),
                        columns=pd.Index(m.items[m.cols], name=level)).sort_index()


@dataclass
class _Mix:
    """customer_mix over integer codes: `cust` and `lvl` (each row's customer and product-group code,
    -1 when missing; `customers` and `items` their values, items sorted), `mix` (one row per customer
    with revenue, the `kept` customer codes; one column per product group present, the `cols` codes)
    and `first_row` (each customer's first row)."""
    cust: np.ndarray
    customers: pd.Index
    lvl: np.ndarray
    items: pd.Index
    revenue: np.ndarray
    mix: np.ndarray
    kept: np.ndarray
    cols: np.ndarray
    first_row: np.ndarray


def _mix_codes(sales: pd.DataFrame, level: str) -> _Mix:
    """Each customer's revenue mix from one factorisation of the customer and the product group and
    numpy sums: at 10M order lines the sales frame has 2.7M rows, and pandas' pivot on the text keys
    took about a second per call (the concentration tests ask for it once per customer attribute)."""
    require(sales, "sales", [level, "customer_id", "revenue"])
    cust, customers = pd.factorize(sales["customer_id"])     # -1: missing
    lvl, items = pd.factorize(sales[level], sort=True)       # sorted: a pivot's column order
    revenue = np.nan_to_num(sales["revenue"].to_numpy(dtype=float, na_value=np.nan))   # a pivot's sum skips NaN
    nl, n_cust = len(items), len(customers)
    rows = np.flatnonzero((cust >= 0) & (lvl >= 0))
    per = np.bincount(cust[rows].astype(np.int64) * nl + lvl[rows], weights=revenue[rows],
                      minlength=n_cust * nl).reshape(n_cust, nl)
    cols = np.unique(lvl[rows])
    per = per[:, cols]
    total = per.sum(axis=1)
    kept = np.flatnonzero(total > 0)
    first_row = np.full(n_cust, -1, dtype=np.int64)
    at = np.flatnonzero(cust >= 0)
    first_row[cust[at][::-1]] = at[::-1]
    return _Mix(cust, customers, lvl, items, revenue, per[kept] / total[kept, None], kept, cols, first_row)


def concentration(sales: pd.DataFrame, by: str, level: str = "category", min_index: float = 1.5,
                  min_customers: int = 10, alpha: float = 0.05) -> pd.DataFrame:
    """Every customer-group x product-group cell: revenue share within the group, overall share,
    concentration index (share / overall share), buying customers, and a test: the share of each
    customer's revenue spent on the product group, customers of the group against all others
    (Mann-Whitney U, rank-biserial effect size, Holm-adjusted p over all cells). notable = index >=
    min_index, adjusted p < alpha and at least min_customers buyers in the cell. Sorted by index.

    The sums behind it are share_table's and customer_mix's, taken over integer codes of the customer,
    the customer group and the product group (_mix_codes: one factorisation of each column, then numpy
    sums) rather than through pandas' pivots, which factorised the text keys of the 2.7M-row sales frame
    at 10M order lines again for each (2.3 s a call; now 1.4 s)."""
    require(sales, "sales", [by, level, "customer_id"])
    m = _mix_codes(sales, level)
    cust, lvl, items, revenue = m.cust, m.lvl, m.items, m.revenue
    grp, groups = pd.factorize(sales[by], sort=True)
    nl, ng = len(items), len(groups)
    both = (lvl >= 0) & (grp >= 0)          # share_table's rows: a customer group and a product group
    g_in = np.unique(grp[both])
    l_in = np.unique(lvl[both])

    def grid(at, weights=None) -> pd.DataFrame:
        sums = np.bincount(at, weights=weights, minlength=ng * nl).reshape(ng, nl)[np.ix_(g_in, l_in)]
        return pd.DataFrame(sums.astype(float), index=pd.Index(groups[g_in], name=by), columns=pd.Index(items[l_in], name=level))

    cell = grp * nl + lvl
    rev = grid(cell[both], revenue[both])
    overall = rev.sum(axis=0) / rev.to_numpy().sum()
    within = rev.div(rev.sum(axis=1), axis=0)
    index = within / overall
    # buying customers per cell: each customer once per product group (its first row, as drop_duplicates)
    have = np.flatnonzero(both & (cust >= 0))
    _, first = np.unique(cust[have].astype(np.int64) * nl + lvl[have], return_index=True)
    cust_grid = grid(cell[have[first]])
    # each customer's group: that of their first row (missing when it has none)
    cust_grp = grp[m.first_row[m.kept]]
    mix = m.mix
    cols = m.cols
    out = pd.DataFrame({
        "share_in_group": within.stack(),
        "overall_share": pd.DataFrame(np.broadcast_to(overall.to_numpy(), within.shape), index=within.index,
                                      columns=within.columns).stack(),
        "index": index.stack(), "buyers": cust_grid.reindex_like(within).fillna(0).stack().astype(int),
    })
    out.index.names = [by, level]
    from insight.stats import rank_biserial_groups
    # one test per cell (a few dozen cells): customers of the group against the others with a group;
    # each product group's values are ranked once for all the customer groups
    known = cust_grp >= 0
    labels = np.asarray(groups, dtype=object)[cust_grp[known]]
    col_of = {items[c]: j for j, c in enumerate(cols)}
    tests = {item: rank_biserial_groups(mix[known, col_of[item]], labels,
                                        sorted(set(g for g, i in out.index if i == item), key=str))
             for item in dict.fromkeys(out.index.get_level_values(1))}
    cells = []
    for g, item in out.index:
        _, p, r, lo, hi = tests[item][g]           # Hanley-McNeil interval of the rank-biserial r
        cells.append((r, lo, hi, p))
    cells = np.array(cells, dtype=float).reshape(-1, 4)
    out["rank_biserial"], out["rank_biserial_low"], out["rank_biserial_high"] = cells[:, 0], cells[:, 1], cells[:, 2]
    out["p_value"] = cells[:, 3]
    out["p_holm"] = p_adjust(out["p_value"].to_numpy(dtype=float), "holm")
    out["notable"] = (out["index"] >= min_index) & (out["p_holm"] < alpha) & (out["buyers"] >= min_customers)
    out.attrs["base"] = int(known.sum())
    return out.sort_values("index", ascending=False)


def buyer_rate_comparison(sales: pd.DataFrame, customers: pd.DataFrame, by: str, group, level: str,
                          item, alpha: float = 0.05) -> dict:
    """Share of customers in `group` (of column `by`) who bought `item` (of `level`) against the
    share among all other customers (every customer with the attribute counts, buyers or not).
    Two-proportion z-test (statsmodels), risk ratio with a log-scale CI, Cohen's h."""
    from statsmodels.stats.proportion import proportions_ztest, confint_proportions_2indep

    require(customers, "customers", ["customer_id", by])
    buyers = sales.loc[sales[level] == item, "customer_id"].unique()
    c = customers.loc[customers[by].notna(), ["customer_id", by]].drop_duplicates("customer_id")
    c = c.loc[isin(c["customer_id"], sales["customer_id"])]   # customers who bought anything
    if group not in set(c[by].unique()):
        raise CrmInputError(f"customers.{by} has no value {group!r}; values: {sorted(map(str, c[by].unique()))}")
    bought = isin(c["customer_id"], buyers)
    ing = c[by] == group
    k1, n1 = int(bought[ing].sum()), int(ing.sum())
    k0, n0 = int(bought[~ing].sum()), int((~ing).sum())
    p1, p0 = k1 / n1, (k0 / n0 if n0 else np.nan)
    z, p = proportions_ztest([k1, k0], [n1, n0])
    lo, hi = confint_proportions_2indep(k1, n1, k0, n0, method="log-adjusted", compare="ratio", alpha=alpha)
    h = 2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p0))
    return {"group": group, "item": item, "share_group": p1, "share_others": p0, "buyers_group": k1,
            "customers_group": n1, "buyers_others": k0, "customers_others": n0, "risk_ratio": p1 / p0 if p0 else np.nan,
            "ci_low": float(lo), "ci_high": float(hi), "z": float(z), "p_value": float(p), "cohens_h": float(h),
            "base": n1 + n0}


def period_shares(orders, products: pd.DataFrame, level: str = "category", period: tuple | None = None,
                  grain: str = "Q", kept=None, measure: str = "revenue") -> pd.DataFrame:
    """Share of each product group per period (rows periods, columns product groups) of the purchases
    in `period` (start, end; all when None), summed on the engine per product and period. `kept`: the
    product groups shown (the others as 'other'), e.g. those of study_sales. .attrs['customers']: the
    customers who bought in `period`."""
    if measure not in ("revenue", "lines"):
        raise ValueError("measure must be revenue or lines")
    lo, hi = period if period is not None else (None, None)
    per = product_sales(orders, lo, hi, by=("product_id",), grain=grain)
    per = _with_products(per, products)
    if kept is not None:
        per[level] = per[level].where(per[level].isin(set(kept)) | per[level].isna(), "other")
    t = per.pivot_table(index="period", columns=level, values=measure, aggfunc="sum", fill_value=0.0, observed=True).astype(float)
    out = t.div(t.sum(axis=1), axis=0)
    out.index = [period_name(int(p), grain) for p in out.index]
    out.index.name, out.columns.name = "period", level
    out.attrs["customers"] = purchase_customers(orders, lo, hi)
    return out


def heatmap(table: pd.DataFrame, title: str = "", fmt: str = ".0%", cmap: str = "Blues", center=None, ax=None,
            vmin=None, vmax=None):
    """A seaborn heatmap of a share (or index) table; returns the figure."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if ax is None:
        fig, ax = plt.subplots(figsize=(1.1 * max(4, table.shape[1]) + 2, 0.5 * max(3, table.shape[0]) + 1.5))
    else:
        fig = ax.figure
    from insight.labels import label
    xname, yname = table.columns.name, table.index.name
    table = table.astype(float)      # the same words as the tables: 'mid_market' reads 'mid market'
    table.index = [label(v) if isinstance(v, str) else v for v in table.index]
    table.columns = [label(v) if isinstance(v, str) else v for v in table.columns]
    sns.heatmap(table, annot=True, fmt=fmt, cmap=cmap, center=center, cbar=False, ax=ax, linewidths=0.5,
                vmin=vmin, vmax=vmax)
    ax.grid(False)
    ax.set_title(title)
    ax.set_xlabel(label(xname) if xname else "")
    ax.set_ylabel(label(yname) if yname else "")
    ax.tick_params(axis="x", rotation=30)
    ax.tick_params(axis="y", rotation=0)          # seaborn turns row labels vertical on short heatmaps
    fig.tight_layout()
    return fig


def bought_hypotheses(params) -> list:
    """The study's CRM hypotheses whose measure is bought_<product group> (e.g. H6)."""
    return [h for h in params.hypotheses
            if h.quant is not None and h.quant.source == "crm" and h.quant.measure.startswith("bought_")]


def tested_by_hypothesis(hyps, by: str, group, item) -> bool:
    """True when one of the study's bought_<item> hypotheses already tests `group` of `by` on `item`
    (its finding says it; a second finding on the same cell would repeat it)."""
    return any(h.quant.group_by == by and h.quant.measure == f"bought_{item}" and group in (h.quant.groups or [])
               for h in hyps)


def concentration_finding(by: str, group, item, row) -> dict:
    """record_finding keyword arguments for one notable concentration (a row of `concentration`)."""
    from insight.labels import label, sentence
    return dict(id=f"crm.distribution.concentration_{by}_{group}_{item}".lower().replace(" ", "_"),
                statement=sentence(f"{label(group)} customers spend {row['share_in_group']:.0%} of their revenue on "
                                   f"{label(item)}, against {row['overall_share']:.0%} overall (index {row['index']:.2f})."),
                metric="concentration index", value=float(row["index"]), base=int(row["buyers"]),
                test="Mann-Whitney U (Holm-adjusted)", p_value=float(row["p_holm"]), effect_size=float(row["rank_biserial"]),
                effect_size_name="rank-biserial r", effect_ci_low=float(row["rank_biserial_low"]),
                effect_ci_high=float(row["rank_biserial_high"]), source="crm", severity="key")


def evidence_of(expected: str, diff: float, p: float, alpha: float) -> str:
    """supports / contradicts / inconclusive for an expected direction (insight.stats.evidence_from;
    no equivalence margin here, so a non-significant result is inconclusive)."""
    from insight.stats import evidence_from

    direction = "higher" if diff > 0 else "lower" if diff < 0 else "none"
    return evidence_from(expected, direction, p == p and p < alpha)


def bought_finding(hyp, sales: pd.DataFrame, customers: pd.DataFrame, alpha: float = 0.05) -> dict:
    """Test a bought_<item> hypothesis and return record_finding keyword arguments.

    "Group G buys item X more" is measured as the share of each customer's revenue spent on X,
    customers of G against all other customers (Mann-Whitney U, pre-specified so not adjusted;
    rank-biserial effect size); the value reported is the concentration index (share of G's revenue
    on X / share of all revenue on X). The share of customers who bought X at all (G against the
    others, two-proportion z-test) is added in `extra`."""
    from insight.stats import rank_biserial

    q = hyp.quant
    item = q.measure[len("bought_"):]
    level = "category" if item in set(sales["category"].unique()) else \
        "product_id" if item in set(sales["product_id"].unique()) else None
    if level is None:
        raise CrmInputError(f"hypothesis {hyp.id}: measure {q.measure!r} names no product category or product id; "
                            f"categories: {sorted(map(str, sales['category'].unique()))}")
    if not q.groups:
        raise CrmInputError(f"hypothesis {hyp.id}: quant.groups must name the focus group of {q.group_by}")
    group = q.groups[0]
    rate = buyer_rate_comparison(sales, customers, q.group_by, group, level, item, alpha)
    mix = customer_mix(sales, level)[item]
    grp = sales.drop_duplicates("customer_id").set_index("customer_id")[q.group_by].reindex(mix.index)
    x, y = mix[grp == group].to_numpy(), mix[(grp != group) & grp.notna()].to_numpy()
    _, p, rb, rb_lo, rb_hi = rank_biserial(x, y)
    rev = sales.loc[sales[q.group_by].notna()]
    share_g = rev.loc[(rev[q.group_by] == group) & (rev[level] == item), "revenue"].sum() / rev.loc[rev[q.group_by] == group, "revenue"].sum()
    share_all = rev.loc[rev[level] == item, "revenue"].sum() / rev["revenue"].sum()
    index = share_g / share_all if share_all else np.nan
    ev = evidence_of(q.expected, float(np.mean(x) - np.mean(y)), float(p), alpha)
    from insight.labels import label, sentence
    statement = sentence(f"{label(group)} customers spend {share_g:.0%} of their revenue on {label(item)}, against {share_all:.0%} "
                         f"across all customers (index {index:.2f}); {rate['share_group']:.0%} of them bought {label(item)} at all, "
                         f"against {rate['share_others']:.0%} elsewhere.")
    return dict(id=f"crm.distribution.{hyp.id.lower()}", statement=statement,
                metric=f"concentration index of {item} in {group} (share of revenue / overall share)", value=float(index),
                base=int(len(x) + len(y)), test="Mann-Whitney U on each customer's share of revenue spent on " + str(item),
                p_value=float(p), effect_size=float(rb), effect_size_name="rank-biserial r",
                effect_ci_low=float(rb_lo), effect_ci_high=float(rb_hi), hypothesis=hyp.id, evidence=ev, source="crm", severity="key" if ev != "inconclusive" else "info",
                extra={"mean_share_group": float(np.mean(x)), "mean_share_others": float(np.mean(y)),
                       "buyers_share_group": rate["share_group"], "buyers_share_others": rate["share_others"],
                       "buyers_risk_ratio": rate["risk_ratio"], "buyers_risk_ratio_ci": [rate["ci_low"], rate["ci_high"]],
                       "buyers_p_value": rate["p_value"]})

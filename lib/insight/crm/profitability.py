"""Customer profitability (seed 001, area 5): revenue minus cost to serve per customer; the
whale curve; profit by segment; the profile of loss-making customers.

    prof = customer_profit(orders, costs, customers, period=study.period)
    curve, summary = whale_curve(prof)
    profit_by(prof, "segment")

Definitions (shown to reviewers in the notebook):
- revenue: order lines in the period that are not returns (orders.revenue);
- cost to serve: the sum of the chosen cost components in the period (costs.cost_service,
  cost_support, cost_acquisition, discount; params attention.cost_components);
- profit = revenue - cost to serve; loss-making: profit < 0.
- whale curve (Kaplan & Narayanan 2001): customers ranked from most to least profitable on the
  x axis (cumulative share of customers), cumulative profit as a share of total profit on the y
  axis. The curve peaks above 100% when loss-making customers give back part of the profit the
  best ones make; it ends at 100%.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from insight.crm.attention_base import AttentionDataError, period_bounds, require_columns
from insight.speedups import positions, take_at as take
from insight.data.engine import cost_totals, revenue_per_customer

COST_LABELS = {"cost_service": "service", "cost_support": "support", "cost_acquisition": "acquisition",
               "discount": "discounts"}


def customer_profit(orders, costs, customers: pd.DataFrame | None = None, *,
                    components=("cost_service", "cost_support", "cost_acquisition", "discount"),
                    period=None) -> pd.DataFrame:
    """Revenue, cost components, cost to serve and profit per customer (customers with either
    revenue or costs in the period; the other side counts as 0), with segment / region attached
    when customers is given. orders=None means no revenue data: raises, profit needs revenue."""
    components = list(components)
    if isinstance(costs, pd.DataFrame):
        require_columns(costs, "costs", ["customer_id", "period", *components], "the cost to serve")
    if orders is None:
        raise AttentionDataError("profitability needs the orders table for revenue; the study has none. "
                                 "Fix: add an orders export under data.tables.orders in the study params.")
    if isinstance(orders, pd.DataFrame):
        require_columns(orders, "orders", ["customer_id", "order_date", "revenue"], "revenue per customer")
    bounds = period_bounds(period) if period is not None else (None, None)
    # costs summed and order lines -> revenue per customer run on the engine (a DataFrame or an ibis table)
    cost, negative = cost_totals(costs, *bounds, components=components)
    if negative:
        raise AttentionDataError(
            f"table 'costs', column(s) {negative['columns']}: negative costs in {negative['rows']:,} row(s), e.g. "
            f"customer_id {', '.join(negative['customers'])}. Fix: costs and discounts are "
            f"positive amounts; correct the export or map the sign.")
    rev = revenue_per_customer(orders, *bounds).rename("revenue")
    # the customers with revenue, then those with costs only (the order an outer pd.concat gives), each
    # side looked up once through pyarrow (pandas aligned the 400,000 text ids in 0.7 s at 10M)
    extra = cost.index[positions(cost.index.to_series(), rev.index) < 0]
    ids = rev.index.append(extra).rename("customer_id")
    keys = ids.to_series()
    at_rev, at_cost = positions(keys, rev.index), positions(keys, cost.index)
    df = pd.DataFrame({"revenue": take(rev, at_rev, ids), **{c: take(cost[c], at_cost, ids) for c in cost.columns}},
                      index=ids).fillna(0.0)
    df["cost to serve"] = df[components].sum(axis=1)
    df["profit"] = df["revenue"] - df["cost to serve"]
    df["loss_making"] = df["profit"] < 0
    df = df.reset_index()
    if customers is not None:
        keep = [k for k in ("customer_id", "segment", "region", "industry", "status") if k in customers.columns]
        attrs = customers[keep].drop_duplicates("customer_id").assign(customer_id=lambda x: x["customer_id"].astype(str))
        at = positions(df["customer_id"], pd.Index(attrs["customer_id"]))     # a left merge on the unique ids
        for c in keep[1:]:
            df[c] = take(attrs[c], at, df.index)
    return df


@dataclass
class WhaleSummary:
    customers: int
    total_profit: float
    peak_share: float              # highest cumulative profit / total profit (e.g. 1.6 = 160%)
    customers_at_peak: float       # share of customers (ranked) where the curve peaks
    customers_for_total: float     # smallest share of customers whose profit reaches 100% of the total
    loss_making: int
    loss_making_share: float
    profit_of_profitable: float    # sum of positive profits
    loss_of_loss_making: float     # sum of negative profits (<= 0)

    def as_dict(self) -> dict:
        return asdict(self)


def whale_curve(prof: pd.DataFrame, *, profit: str = "profit") -> tuple[pd.DataFrame, WhaleSummary]:
    """The whale curve: customers ranked by profit (highest first), with `rank`,
    `customer_share` (rank / n), `cum_profit` and `cum_share` (cum_profit / total profit).
    Raises when total profit is not positive (the curve as a share of total is then undefined)."""
    p = prof[profit].dropna().sort_values(ascending=False, kind="mergesort").to_numpy(float)
    n = len(p)
    if n == 0:
        raise AttentionDataError("no customers with revenue or costs in the period: nothing to draw a whale curve of")
    total = p.sum()
    if not total > 0:
        raise AttentionDataError(
            f"total profit over the {n:,} customers is {total:,.2f}, not positive: the whale curve (cumulative "
            f"profit as a share of the total) is undefined. Check the cost components (attention.cost_components) "
            f"and that revenue and costs cover the same period.")
    cum = np.cumsum(p)
    curve = pd.DataFrame({"rank": np.arange(1, n + 1), "customer_share": np.arange(1, n + 1) / n,
                          "profit": p, "cum_profit": cum, "cum_share": cum / total})
    i_peak = int(np.argmax(cum))
    # first rank whose cumulative profit reaches the total (tolerance for float sums)
    i_total = int(np.argmax(cum >= total * (1 - 1e-12)))
    summary = WhaleSummary(
        customers=n, total_profit=float(total), peak_share=float(cum[i_peak] / total),
        customers_at_peak=(i_peak + 1) / n, customers_for_total=(i_total + 1) / n,
        loss_making=int((p < 0).sum()), loss_making_share=float((p < 0).mean()),
        profit_of_profitable=float(p[p > 0].sum()), loss_of_loss_making=float(p[p < 0].sum()))
    return curve, summary


def profit_by(prof: pd.DataFrame, by: str = "segment", *, missing_label: str = "(not recorded)") -> pd.DataFrame:
    """Per group: customers, revenue, cost to serve, profit, margin (profit / revenue), median
    profit per customer, loss-making customers and their share, share of total profit."""
    if by not in prof.columns:
        raise AttentionDataError(f"the profit table has no column {by!r}; available: {sorted(prof.columns)}")
    key = prof[by].astype("object").where(prof[by].notna(), missing_label).astype(str)
    g = prof.groupby(key)
    out = pd.DataFrame({
        "customers": g.size(),
        "revenue": g["revenue"].sum(),
        "cost to serve": g["cost to serve"].sum(),
        "profit": g["profit"].sum(),
        "median profit per customer": g["profit"].median(),
        "loss-making customers": g["loss_making"].sum().astype(int),
        "loss-making share": g["loss_making"].mean(),
    })
    out["margin"] = out["profit"] / out["revenue"].where(out["revenue"] != 0)
    total = prof["profit"].sum()
    out["share of total profit"] = out["profit"] / total if total else np.nan
    out.index.name = by
    return out.sort_values("profit", ascending=False)


def cost_mix(prof: pd.DataFrame, components, *, by: str = "loss_making") -> pd.DataFrame:
    """Average cost components per customer for each group (e.g. loss-making or not)."""
    key = prof[by].map({True: "loss-making", False: "profitable"}) if by == "loss_making" else prof[by].astype(str)
    out = prof.groupby(key)[["revenue", *components, "cost to serve", "profit"]].mean()
    out = out.rename(columns=COST_LABELS)
    out.index.name = ""
    return out


def plot_whale(curve: pd.DataFrame, summary: WhaleSummary):
    """The whale curve with the 100% line, the peak and the break-even customer share marked."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    x = np.r_[0, curve["customer_share"].to_numpy()] * 100
    y = np.r_[0, curve["cum_share"].to_numpy()] * 100
    ax.plot(x, y, color="#0072b2", lw=2)
    ax.axhline(100, color="#555", lw=0.8, ls="--")
    ax.scatter([summary.customers_at_peak * 100], [summary.peak_share * 100], color="#d55e00", zorder=3)
    ax.annotate(f"peak {summary.peak_share:.0%} of total profit\nat the top {summary.customers_at_peak:.0%} of customers",
                (summary.customers_at_peak * 100, summary.peak_share * 100), xytext=(10, -30),
                textcoords="offset points", fontsize="small")
    ax.set_xlabel("customers ranked by profit, most profitable first (cumulative %)")
    ax.set_ylabel("cumulative profit (% of total)")
    ax.set_xlim(0, 100)
    ax.set_ylim(min(0, y.min() - 5), max(y.max() * 1.08, 110))
    return fig


def plot_profit_by(table: pd.DataFrame):
    """Profit, revenue and cost to serve per group (bars)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    table[["revenue", "cost to serve", "profit"]].plot(kind="bar", ax=ax, color=["#0072b2", "#e69f00", "#009e73"],
                                                       width=0.8)
    from matplotlib.ticker import FuncFormatter

    ax.axhline(0, color="#333", lw=0.8)
    ax.set_xlabel("")
    ax.set_ylabel("amount (study currency)")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.tick_params(axis="x", rotation=0)
    ax.legend(frameon=False)
    return fig


def loss_by_group(prof: pd.DataFrame, by: str = "segment", *, min_base: int = 10):
    """The group with the highest share of loss-making customers compared with all others
    (chi-square; difference in proportions with Newcombe's interval via insight.stats)."""
    from insight.crm.attention_base import quiet
    from insight.stats import StatsInputError, compare_groups

    t = profit_by(prof, by)
    t = t.loc[t["customers"] >= min_base]
    if len(t) < 2:
        return None, None
    focus = str(t["loss-making share"].idxmax())
    d = prof[[by, "loss_making"]].dropna().assign(loss_making=lambda x: x["loss_making"].astype(bool))
    try:
        r = quiet(compare_groups, d, "loss_making", by, "binary", groups=[focus], table="costs")
    except StatsInputError:
        return focus, None
    return focus, r


def findings(prof: pd.DataFrame, summary: WhaleSummary | None, *, by: str = "segment",
             min_base: int = 10, alpha: float = 0.05) -> list[dict]:
    """record_finding keyword dicts: the whale curve and the loss-making group."""
    out = []
    if summary is not None:
        out.append(dict(
            id="crm.profit.whale", source="crm", severity="key" if summary.peak_share > 1.2 else "info",
            metric="whale curve peak (share of total profit)", value=summary.peak_share, base=summary.customers,
            statement=(f"{summary.loss_making_share:.0%} of customers cost more to serve than they bring in: they give back "
                       f"{summary.peak_share - 1:.0%} of the total profit, which the profitable "
                       f"{summary.customers_at_peak:.0%} earn ({summary.peak_share:.0%} of it). The most profitable "
                       f"{summary.customers_for_total:.0%} of customers alone make as much profit as all customers together."),
            extra=summary.as_dict()))
    if by in prof.columns:
        focus, r = loss_by_group(prof, by, min_base=min_base)
        if focus is not None and r is not None:
            from insight.labels import label
            from insight.stats import wilson_ci

            in_focus = prof[by].astype(str) == focus
            share_focus = float(prof.loc[in_focus, "loss_making"].mean())
            share_other = float(prof.loc[~in_focus, "loss_making"].mean())
            lo, hi = wilson_ci(int(prof.loc[in_focus, "loss_making"].sum()), int(in_focus.sum()))
            sig = r.p_value < alpha
            out.append(dict(
                id=f"crm.profit.loss_making_{by}", source="crm", severity="key" if sig else "info",
                metric=f"share loss-making, {by} {label(focus)}", value=share_focus, base=r.n, test=r.test,
                p_value=r.p_value, effect_size=r.effect_size, effect_size_name=r.effect_size_name,
                ci_low=lo, ci_high=hi,
                statement=(f"{share_focus:.0%} of {label(focus)} customers cost more to serve than they bring in, against "
                           f"{share_other:.0%} of other customers"
                           + (" — a real difference." if sig else "; the difference could be chance.")),
                extra={"focus": focus, "share_other": share_other, "effect_size_ci": [r.ci_low, r.ci_high],
                       "n_focus": int(in_focus.sum())}))
    return out

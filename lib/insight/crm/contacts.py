"""Contact evaluation (seed 001, area 4c): how many customers each department actively
contacted per period and product; customers contacted by more than one unit (an overlap matrix
between departments); customers nobody contacted.

    cont = contacts(study.table("interactions"), direction="outbound", period=study.period)
    contacted_per(cont, "department")
    overlap_matrix(cont)
    uncontacted(active_customers(customers, study.period), cont)
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from insight.crm.attention_base import (
    AttentionDataError, add_product_names, check_values, fmt_pct, in_period, period_bounds, period_label,
    require_columns, to_dates,
)
from insight.speedups import isin


def contacts(interactions, *, direction: str = "outbound", period=None, freq: str = "quarter",
             types=None, products: pd.DataFrame | None = None) -> pd.DataFrame:
    """Contacts (interactions) of the given direction (outbound = actively contacted; any = all),
    in the period, with a `period` label. `interactions`: a DataFrame or an engine table (then only
    the contacts' rows and columns leave the engine)."""
    if not isinstance(interactions, pd.DataFrame):
        interactions = _engine_contacts(interactions, direction, period, types)
    require_columns(interactions, "interactions", ["customer_id", "date", "department"]
                    + ([] if direction == "any" else ["direction"]), "the contact evaluation")
    d = interactions
    if direction != "any":
        check_values(d, "interactions", "direction", ["inbound", "outbound"], "interaction_id")
        d = d.loc[d["direction"] == direction]
    if types is not None:
        d = d.loc[d["type"].isin(list(types))]
    d = d.copy()
    d["date"] = to_dates(d["date"])
    d = in_period(d, "date", period).copy()
    d["period"] = period_label(d["date"], freq)
    if "product_id" not in d.columns:
        d["product_id"] = pd.NA
    add_product_names(d, products)
    return d.reset_index(drop=True)


_CONTACT_COLUMNS = ("interaction_id", "customer_id", "date", "department", "channel", "direction", "type", "product_id")


def _engine_contacts(table, direction: str, period, types) -> pd.DataFrame:
    """The contacts of an engine table of interactions as a DataFrame: the direction, types and period
    are filtered on the engine and only the columns the contact evaluation reads come back (not the
    texts, reps or statuses); the unknown-direction check runs on the table's distinct values."""
    from insight.data.engine import distinct_values, interaction_rows

    missing = [c for c in ("customer_id", "date", "department", *([] if direction == "any" else ["direction"]))
               if c not in table.columns]
    if missing:
        raise AttentionDataError(f"table 'interactions' has no column(s) {missing} (needed for the contact evaluation); "
                                 f"it has: {', '.join(table.columns)}. Fix: map them in params data.tables.interactions.columns")
    if direction != "any":
        unknown = sorted(map(str, set(distinct_values(table, "direction")) - {"inbound", "outbound"}))
        if unknown:
            raise AttentionDataError(f"table 'interactions', column 'direction': unknown value(s) {unknown[:8]}; "
                                     "allowed: ['inbound', 'outbound']. Fix: map them with "
                                     "data.tables.interactions.values.direction in the study params.")
    since, until = period_bounds(period) if period is not None else (None, None)
    return interaction_rows(table, since=since, until=until, types=types,
                            directions=None if direction == "any" else [direction],
                            columns=tuple(c for c in _CONTACT_COLUMNS if c in table.columns))


def contacted_per(cont: pd.DataFrame, by: str | list[str], *, population: int | None = None,
                  missing_label: str = "(not recorded)") -> pd.DataFrame:
    """Distinct customers contacted and contacts per group (by may be a list, e.g.
    ["department", "period"]); with `population`, the share of the customer base reached."""
    by = [by] if isinstance(by, str) else list(by)
    d = cont.copy()
    for b in by:
        d[b] = d[b].astype("object").where(d[b].notna(), missing_label).astype(str)
    g = d.groupby(by)
    out = pd.DataFrame({"customers contacted": g["customer_id"].nunique(), "contacts": g.size()})
    out["contacts per customer"] = out["contacts"] / out["customers contacted"]
    if population:
        out["share of customers"] = out["customers contacted"] / population
    return out.sort_values("customers contacted", ascending=False) if len(by) == 1 else out


def department_period_matrix(cont: pd.DataFrame) -> pd.DataFrame:
    """Distinct customers contacted: departments (rows) x periods (columns)."""
    t = cont.groupby(["department", "period"])["customer_id"].nunique().unstack("period", fill_value=0)
    return t.reindex(sorted(t.columns), axis=1).sort_index()


def overlap_matrix(cont: pd.DataFrame, *, by: str = "department") -> pd.DataFrame:
    """Customers contacted by both units: a symmetric units x units matrix whose diagonal is the
    customers each unit contacted (computed as XᵀX of the customer x unit 0/1 matrix)."""
    pairs = cont[["customer_id", by]].dropna().drop_duplicates()
    if pairs.empty:
        return pd.DataFrame(dtype=int)
    # the 0/1 matrix from codes (pd.crosstab counted its cells group by group in Python: 6 s at 10M)
    customer, _ = pd.factorize(pairs["customer_id"])
    unit, units = pd.factorize(pairs[by], sort=True)
    x = np.zeros((customer.max() + 1, len(units)), dtype=np.int64)
    x[customer, unit] = 1
    units = pd.Index(units, name=by)
    return pd.DataFrame(x.T @ x, index=units, columns=units.copy())


def units_per_customer(cont: pd.DataFrame, *, by: str = "department") -> pd.DataFrame:
    """How many customers were contacted by 1, 2, 3... units, with shares."""
    n = cont.dropna(subset=[by]).groupby("customer_id")[by].nunique()
    t = n.value_counts().sort_index()
    out = pd.DataFrame({"customers": t, "share of contacted": t / max(t.sum(), 1)})
    out.index.name = f"{by}s contacting the customer"
    return out


def multi_unit_share(cont: pd.DataFrame, *, by: str = "department") -> tuple[int, int]:
    """(customers contacted by more than one unit, customers contacted)."""
    n = cont.dropna(subset=[by]).groupby("customer_id")[by].nunique()
    return int((n > 1).sum()), int(len(n))


def uncontacted(population: pd.DataFrame, cont: pd.DataFrame, *, by: list[str] | tuple[str, ...] = ("segment", "region"),
                missing_label: str = "(not recorded)") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers of the population nobody contacted: (the customers — ids and attributes only, no
    personal data — and a summary per attribute: customers, not contacted, share not contacted)."""
    require_columns(population, "customers", ["customer_id"], "the uncontacted customers")
    reached = isin(population["customer_id"], cont["customer_id"].unique())
    keep = ["customer_id"] + [c for c in by if c in population.columns]
    none = population.loc[~reached, keep + [c for c in ("status", "signup_date") if c in population.columns]]
    rows = []
    for b in [c for c in by if c in population.columns]:
        key = population[b].astype("object").where(population[b].notna(), missing_label).astype(str)
        t = pd.DataFrame({"customers": key.groupby(key).size(),
                          "not contacted": (~reached).groupby(key).sum()})
        t["share not contacted"] = t["not contacted"] / t["customers"]
        t.index = pd.MultiIndex.from_product([[b], t.index], names=["attribute", "value"])
        rows.append(t)
    summary = pd.concat(rows) if rows else pd.DataFrame(columns=["customers", "not contacted", "share not contacted"])
    return none.reset_index(drop=True), summary


def plot_overlap(m: pd.DataFrame):
    """Heatmap of the overlap matrix (customers contacted by both units): off-diagonal cells
    coloured by their count, the diagonal (each unit's own total) in grey."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(1.0 * len(m) + 2.5, 0.8 * len(m) + 1.8))
    diag = np.eye(len(m), dtype=bool)
    sns.heatmap(m, mask=~diag, annot=True, fmt=",d", cmap=sns.light_palette("#bbbbbb", as_cmap=True), vmin=0,
                vmax=max(int(m.values.max()), 1) * 4, cbar=False, ax=ax, linewidths=0.5)
    sns.heatmap(m, mask=diag, annot=True, fmt=",d", cmap="Blues", vmin=0,
                vmax=max(int(m.values[~diag].max()) if (~diag).any() else 1, 1), cbar=False, ax=ax, linewidths=0.5)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(axis="x", rotation=30)
    ax.tick_params(axis="y", rotation=0)
    return fig


def plot_department_periods(t: pd.DataFrame):
    """Customers contacted per department and period (grouped bars)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    t.T.plot(kind="bar", ax=ax, width=0.85)
    ax.set_xlabel("")
    ax.set_ylabel("customers contacted")
    ax.legend(title="department", frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))  # beside the bars
    ax.tick_params(axis="x", rotation=0)
    return fig


def findings(population: pd.DataFrame, cont: pd.DataFrame, *, direction: str = "outbound") -> list[dict]:
    """record_finding keyword dicts: coverage, customers contacted by several departments, nobody."""
    n = len(population)
    if n == 0:
        return []
    ids = population["customer_id"].astype(str)
    reached = isin(ids, cont["customer_id"].astype(str).unique())
    multi, contacted = multi_unit_share(cont.loc[isin(cont["customer_id"].astype(str), ids.unique())])
    word = "actively contacted" if direction == "outbound" else "contacted"
    out = [dict(id="crm.contacts.coverage", source="crm", severity="info", metric=f"share {word}",
                value=float(reached.mean()), base=n,
                statement=f"{fmt_pct(reached.mean())} of the {n:,} customers of the period were {word} at least once.")]
    if contacted:
        out.append(dict(id="crm.contacts.multi_unit", source="crm", severity="info",
                        metric="share contacted by more than one department", value=multi / contacted, base=contacted,
                        statement=f"{fmt_pct(multi / contacted)} of the customers {word} heard from more than one "
                                  f"department ({multi:,} of {contacted:,}): coordinate who calls whom."))
    none = int((~reached).sum())
    out.append(dict(id="crm.contacts.uncontacted", source="crm",
                    severity="warning" if none / n > 0.25 else "info", metric="customers nobody contacted",
                    value=none, base=n,
                    statement=f"{none:,} customers ({fmt_pct(none / n)}) were not {word} by any department in the period."))
    return out

"""Education (customer-success pillar 2, seed 004): use of webinars, documentation, the academy
and other learning content (interactions of type `education`, by channel) against product
adoption (usage) and churn.

Reading note for reviewers: customers who stay longer have more time to attend a webinar, so a
plain "users ever vs never" churn comparison flatters education (immortal-time bias). The churn
finding therefore uses a landmark date: customers active on it, grouped by the education they
had used before it, followed for churn after it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from insight.data.engine import usage_adoption
from insight.speedups import positions
from insight.success._common import Comparison, as_dates, compare_rates, customer_base, pct, require


def education_use(customers: pd.DataFrame, interactions: pd.DataFrame, channels: list[str],
                  landmark=None, as_of=None) -> pd.DataFrame:
    """One row per customer: education interactions per channel (`edu_<channel>`, others pooled
    in `edu_other`), `used_<channel>` flags, `used_any`, segment and churned (by `as_of`: the
    study's period end; data after it is ignored).

    landmark: a date. Only customers active on it are kept, only use before it counts, and
    `churned` means churned after it (up to `as_of`): a landmark comparison, free of the bias
    that long-lived customers have more time to use education."""
    if not isinstance(interactions, pd.DataFrame):   # an engine table: the columns used of its education rows come back
        from insight.data.engine import _require, interaction_rows
        _require(interactions, "interactions", ["customer_id", "date", "type"], "the interaction analyses")
        interactions = interaction_rows(interactions, until=as_of, types=["education"],
                                        columns=("customer_id", "date", "type", "channel"))
    require(interactions, "interactions", ["customer_id", "date", "type", "channel"])
    cust = customer_base(customers, as_of)
    it = interactions.loc[interactions["type"].eq("education"), ["customer_id", "date", "channel"]].copy()
    it["date"] = as_dates(it, "interactions", "date", nullable=False)
    if as_of is not None:
        it = it[it["date"] <= pd.Timestamp(as_of)]
    if landmark is not None:
        landmark = pd.Timestamp(landmark)
        cust = cust[(cust["signup_date"] < landmark) & ~(cust["churn_date"] <= landmark)].copy()
        cust["churned"] = cust["churn_date"] > landmark        # churn after as_of was cleared above
        it = it[it["date"] < landmark]
    # interactions per customer (their position among cust) and channel (others pooled), counted with
    # numpy: a crosstab on the text ids aggregates each of 460,000 customers in a Python loop (9 s)
    names = list(channels) + ["other"]
    ch = np.full(len(it), len(channels), dtype=np.int64)
    for j in reversed(range(len(channels))):
        ch[(it["channel"] == channels[j]).fillna(False).to_numpy(dtype=bool)] = j
    at = positions(it["customer_id"], cust["customer_id"])
    ok = (at >= 0) & it["customer_id"].notna().to_numpy()
    counts = np.bincount(at[ok] * len(names) + ch[ok], minlength=len(cust) * len(names)).reshape(len(cust), len(names))
    out = cust[[c for c in ("customer_id", "segment", "owner", "churned") if c in cust.columns]].copy()
    for j, c in enumerate(names):
        out[f"edu_{c}"] = counts[:, j].astype(np.int64)
    for c in list(channels) + ["other"]:
        out[f"used_{c}"] = out[f"edu_{c}"] > 0
    out["used_any"] = out[[f"edu_{c}" for c in list(channels) + ["other"]]].sum(axis=1) > 0
    return out.reset_index(drop=True)


def _with_other(edu: pd.DataFrame, channels: list[str]) -> list[str]:
    """The channels, plus the pooled 'other' when somebody used another channel."""
    return list(channels) + (["other"] if edu["used_other"].any() else [])


def use_summary(edu: pd.DataFrame, channels: list[str], by: str | None = None) -> pd.DataFrame:
    """Share of customers who used each channel (and any), overall or by an attribute."""
    cols = [f"used_{c}" for c in _with_other(edu, channels)] + ["used_any"]
    if by is None:
        t = edu[cols].mean().to_frame("share of customers")
        t["customers who used it"] = edu[cols].sum().astype(int)
        t.index = [c.removeprefix("used_").replace("any", "any education") for c in t.index]
        return t
    g = edu.groupby(edu[by].fillna("(unknown)"))
    t = g[cols].mean()
    t.columns = [c.removeprefix("used_").replace("any", "any education") for c in cols]
    t.insert(0, "customers", g.size())
    return t


def churn_by_channel(edu: pd.DataFrame, channels: list[str]) -> tuple[pd.DataFrame, dict[str, Comparison]]:
    """Churn of users against non-users of each channel (and of any education): rates, risk
    ratio with 95% CI and chi-square p-value."""
    rows, comps = [], {}
    for c in _with_other(edu, channels) + ["any"]:
        flag = edu[f"used_{c}"]
        comp = compare_rates(flag, edu["churned"], focus=f"used {c}", reference=f"did not use {c}")
        comps[c] = comp
        rows.append({"channel": "any education" if c == "any" else c, "users": comp.n_focus,
                     "churn (users)": comp.rate_focus, "non-users": comp.n_reference,
                     "churn (non-users)": comp.rate_reference, "risk ratio": comp.risk_ratio,
                     "CI low": comp.ci_low, "CI high": comp.ci_high, "p": comp.p_value})
    return pd.DataFrame(rows).set_index("channel"), comps


def adoption(usage) -> pd.DataFrame:
    """Per customer: mean monthly active users (all features summed) and features used; summed on the
    engine (insight.data.engine.usage_adoption). `usage`: a DataFrame or an ibis table."""
    if isinstance(usage, pd.DataFrame):
        require(usage, "usage", ["customer_id", "month", "feature", "active_users"])
    return usage_adoption(usage)


def adoption_by_channel(edu: pd.DataFrame, adopt: pd.DataFrame, channels: list[str]) -> pd.DataFrame:
    """Median adoption of users against non-users of each channel, Mann-Whitney U (scipy) and
    the rank-biserial effect (positive: users adopt more)."""
    from scipy.stats import mannwhitneyu
    d = edu.merge(adopt, left_on="customer_id", right_index=True, how="inner")
    rows = []
    for c in _with_other(edu, channels) + ["any"]:
        for m in ("mean monthly active users", "features used"):
            a = d.loc[d[f"used_{c}"], m].dropna()
            b = d.loc[~d[f"used_{c}"], m].dropna()
            p = rbc = np.nan
            if len(a) and len(b):
                u, p = mannwhitneyu(a, b, alternative="two-sided")
                rbc = 2 * u / (len(a) * len(b)) - 1
            rows.append({"channel": "any education" if c == "any" else c, "measure": m,
                         "users": len(a), "median (users)": a.median() if len(a) else np.nan,
                         "non-users": len(b), "median (non-users)": b.median() if len(b) else np.nan,
                         "rank-biserial r": rbc, "p (Mann-Whitney)": p})
    return pd.DataFrame(rows).set_index(["channel", "measure"])


def education_finding(comp: Comparison, channel: str, alpha: float, landmark: Comparison | None = None,
                       landmark_date=None) -> dict:
    """Finding on churn of the channel's users (all customers, ever used), with the landmark
    check (customers active on a date, by use before it) in the statement when given."""
    sig = comp.p_value < alpha
    less = comp.rate_focus < comp.rate_reference
    statement = (f"Customers who used the {channel} churned {'less' if less else 'more'} "
                 f"({pct(comp.rate_focus)} of {comp.n_focus:,}) than those who did not "
                 f"({pct(comp.rate_reference)} of {comp.n_reference:,})"
                 + ("" if sig else "; the difference could be chance") + ".")
    extra = {"rate_users": comp.rate_focus, "rate_non_users": comp.rate_reference}
    if landmark is not None and np.isfinite(landmark.risk_ratio):
        lsig = landmark.p_value < alpha
        when = f" on {pd.Timestamp(landmark_date):%d %b %Y}" if landmark_date is not None else ""
        statement += (f" Among customers active{when}, the churn ratio of earlier {channel} users is "
                      f"{landmark.risk_ratio:.2f} (95% CI {landmark.ci_low:.2f} to {landmark.ci_high:.2f})"
                      + (": the link holds once time as a customer is accounted for." if lsig and landmark.risk_ratio < 1
                         else ": in this fairer check users churn more." if lsig
                         else ": this fairer check does not confirm a difference, so time as a customer may explain "
                              "part of the gap."))
        extra.update(landmark_risk_ratio=landmark.risk_ratio, landmark_ci=[landmark.ci_low, landmark.ci_high],
                     landmark_p=landmark.p_value, landmark_base=landmark.base)
    return dict(
        id=f"success.education_{channel}_churn", statement=statement,
        metric=f"churn risk ratio ({channel} users / non-users)", value=comp.risk_ratio, base=comp.base,
        test=comp.test, p_value=comp.p_value, effect_size=comp.risk_ratio, effect_size_name="risk ratio",
        ci_low=comp.ci_low, ci_high=comp.ci_high, source="success", severity="key" if sig else "info", extra=extra)


def plot_churn_by_channel(table: pd.DataFrame):
    """Churn of users vs non-users per channel (bars) with the number of users."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["churn (users)"], width=0.4, label="used it", color="#1a9850")
    ax.bar(x + 0.2, table["churn (non-users)"], width=0.4, label="did not", color="#bdbdbd")
    ax.set_xticks(x, [f"{i}\n(users n={n:,})" for i, n in zip(table.index, table["users"])])
    ax.yaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("churn rate")
    ax.legend()
    fig.tight_layout()
    return fig


def churn_table_display(table: pd.DataFrame) -> pd.DataFrame:
    """The churn-by-channel table as a reviewer reads it: churn rates in %, the risk ratio with its
    interval in one column, p as a label ('< 0.001'), blanks (not 'nan') where a channel has no users."""
    from insight.display import p_label

    def num(v, f):
        return "" if v is None or not np.isfinite(v) else f(v)
    return pd.DataFrame({
        "users": table["users"], "churn (users)": table["churn (users)"].map(lambda v: num(v, lambda x: f"{x:.1%}")),
        "non-users": table["non-users"],
        "churn (non-users)": table["churn (non-users)"].map(lambda v: num(v, lambda x: f"{x:.1%}")),
        "risk ratio": table["risk ratio"].map(lambda v: num(v, lambda x: f"{x:.2f}")),
        "95% CI": [num(lo, lambda x: f"{x:.2f}") + (" to " + f"{hi:.2f}" if np.isfinite(hi) else "") if np.isfinite(lo) else ""
                   for lo, hi in zip(table["CI low"], table["CI high"])],
        "p": table["p"].map(lambda v: num(v, lambda x: p_label(x).replace("= ", ""))),
    }, index=table.index)


def no_users_note(table: pd.DataFrame, when) -> str | None:
    """A sentence naming the channels nobody had used by a date (their rows stay blank), or None."""
    none = [str(c) for c in table.index[table["users"] == 0]]
    if not none:
        return None
    return (f"No customer active on {when:%d %b %Y} had used {', '.join(none)} before that date (the records of "
            "these channels start later), so there is nothing to compare for them.")


def adoption_display(t: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The adoption table with medians rounded for reading and p as a label, and one sentence saying
    what matters: how large the largest difference between users and non-users is."""
    from insight.display import p_label
    out = t.copy()
    for c in ("median (users)", "median (non-users)"):
        out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:,.1f}" if v != round(v) else f"{v:,.0f}")
    out["rank-biserial r"] = out["rank-biserial r"].map(lambda v: "" if pd.isna(v) else f"{v:+.2f}")
    out["p (Mann-Whitney)"] = out["p (Mann-Whitney)"].map(lambda v: "" if pd.isna(v) else p_label(v).replace("= ", ""))
    r = t["rank-biserial r"].abs()
    if r.notna().any():
        top = r.idxmax()
        size = "negligible" if r.max() < 0.1 else "small" if r.max() < 0.3 else "moderate" if r.max() < 0.5 else "large"
        sentence = (f"The largest difference between users and non-users is {size} (rank-biserial r = "
                    f"{t.loc[top, 'rank-biserial r']:+.2f}, {top[1]} for {top[0]})"
                    + (": education goes with little or no difference in how much customers use the product."
                       if r.max() < 0.1 else "."))
    else:
        sentence = "Adoption could not be compared: no channel has both users and non-users with usage data."
    return out, sentence

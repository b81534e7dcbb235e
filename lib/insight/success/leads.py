"""Onboarding of sales-qualified leads (customer-success pillar 1, seed 004): time from the
qualified-lead step to the onboarding step, and trial conversion, by acquisition channel.

Per visitor (journey_events.visitor_id): the first `qualified` event, the first `onboarded`
event at or after it; the first `trial` event and whether a `purchase` followed it (within
`window_days` when given). The channel is the customer's acquisition_channel when the visitor
is linked to a customer that has one, otherwise the channel of the visitor's first event.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from insight.labels import label
from insight.success._common import SuccessDataError, pct
from insight.success.journey import _events


def _first_after(ev: pd.DataFrame, step: str, start: pd.Series, window_days: float | None) -> pd.Series:
    cand = ev.loc[ev["step"] == step, ["visitor_id", "timestamp"]]
    cand = cand.merge(start.rename("t0").dropna().reset_index(), on="visitor_id")
    ok = cand["timestamp"] >= cand["t0"]
    if window_days is not None:
        ok &= cand["timestamp"] <= cand["t0"] + pd.Timedelta(days=float(window_days))
    return cand[ok].groupby("visitor_id")["timestamp"].min().reindex(start.index)


def visitor_channel(ev: pd.DataFrame, customers: pd.DataFrame | None) -> pd.DataFrame:
    """Per visitor: first-touch channel, customer_id, and `channel` (acquisition channel when known)."""
    first = ev.sort_values("timestamp", kind="stable").drop_duplicates("visitor_id").set_index("visitor_id")
    out = pd.DataFrame({"first_touch": first["channel"]})
    out["customer_id"] = None
    if "customer_id" in ev.columns:
        cid = ev.loc[ev["customer_id"].notna(), ["visitor_id", "customer_id"]].drop_duplicates("visitor_id")
        out["customer_id"] = cid.set_index("visitor_id")["customer_id"].reindex(out.index)
    out["channel"] = out["first_touch"]
    if customers is not None and "acquisition_channel" in customers.columns:
        acq = out["customer_id"].map(customers.set_index("customer_id")["acquisition_channel"])
        out["channel"] = acq.where(acq.notna(), out["first_touch"])
    return out


def lead_onboarding(events: pd.DataFrame, customers: pd.DataFrame | None = None, *,
                    qualified_step: str = "qualified", onboarded_step: str = "onboarded",
                    trial_step: str = "trial", converted_step: str = "purchase",
                    window_days: float | None = None) -> pd.DataFrame:
    """One row per visitor who became a qualified lead or started a trial: qualified / onboarded
    / trial / converted times, days from qualified to onboarded, converted flag and channel."""
    ev = _events(events)
    present = set(ev["step"].unique())
    for key, s in (("lead_qualified_step", qualified_step), ("lead_onboarded_step", onboarded_step)):
        if s not in present:
            raise SuccessDataError(f"journey_events.step never has the value {s!r} (success.{key}); values present: "
                                   f"{', '.join(sorted(map(str, present)))}. Fix: set success.{key} to the step's name.")
    q = ev[ev["step"] == qualified_step].groupby("visitor_id")["timestamp"].min()
    t = ev[ev["step"] == trial_step].groupby("visitor_id")["timestamp"].min()
    idx = q.index.union(t.index)
    out = pd.DataFrame(index=idx)
    out["qualified_at"] = q.reindex(idx)
    out["onboarded_at"] = _first_after(ev, onboarded_step, out["qualified_at"], None)
    out["days_to_onboard"] = (out["onboarded_at"] - out["qualified_at"]).dt.total_seconds() / 86400
    out["trial_at"] = t.reindex(idx)
    out["converted_at"] = _first_after(ev, converted_step, out["trial_at"], window_days)
    out["onboarded"] = out["onboarded_at"].notna().where(out["qualified_at"].notna())
    out["converted"] = out["converted_at"].notna().where(out["trial_at"].notna())
    ch = visitor_channel(ev, customers)
    out = out.join(ch[["channel", "customer_id"]])
    out.index.name = "visitor_id"
    return out


def by_channel(leads: pd.DataFrame) -> pd.DataFrame:
    """Per channel: qualified leads, onboarded share, median and 75th-percentile days to
    onboarding, trials and trial conversion."""
    g = leads.groupby(leads["channel"].fillna("(unknown)"))
    out = pd.DataFrame({
        "qualified leads": g["qualified_at"].count(),
        "onboarded": g["onboarded"].apply(lambda s: s.dropna().astype(bool).mean() if s.notna().any() else np.nan),
        "median days to onboard": g["days_to_onboard"].median(),
        "p75 days to onboard": g["days_to_onboard"].quantile(0.75),
        "trials": g["trial_at"].count(),
        "trial conversion": g["converted"].apply(lambda s: s.dropna().astype(bool).mean() if s.notna().any() else np.nan),
    })
    return out.sort_values("qualified leads", ascending=False)


def channel_tests(leads: pd.DataFrame, min_n: int = 5) -> dict:
    """Do channels differ? Kruskal-Wallis on days to onboard, chi-square on trial conversion
    (scipy), channels with at least `min_n` observations."""
    from scipy.stats import chi2_contingency, kruskal
    res = {}
    d = leads.dropna(subset=["days_to_onboard"])
    groups = [x["days_to_onboard"].to_numpy() for _, x in d.groupby("channel") if len(x) >= min_n]
    if len(groups) >= 2:
        h, p = kruskal(*groups)
        res["onboard"] = {"test": "Kruskal-Wallis (days to onboard by channel)", "statistic": float(h),
                          "p_value": float(p), "n": int(sum(map(len, groups))), "groups": len(groups)}
    t = leads.dropna(subset=["converted"])
    ct = pd.crosstab(t["channel"], t["converted"].astype(bool))
    ct = ct[ct.sum(axis=1) >= min_n]
    if ct.shape[0] >= 2 and ct.shape[1] == 2:
        chi2, p, dof, _ = chi2_contingency(ct.to_numpy())
        res["trial"] = {"test": "chi-square (trial conversion by channel)", "statistic": float(chi2),
                        "p_value": float(p), "n": int(ct.to_numpy().sum()), "groups": int(ct.shape[0])}
    return res


def lead_findings(table: pd.DataFrame, tests: dict, alpha: float, min_base: int = 30) -> list[dict]:
    out = []
    ok = table[table["qualified leads"] >= min_base]
    on = tests.get("onboard")
    if on and not ok.empty and ok["median days to onboard"].notna().any():
        slow, fast = ok["median days to onboard"].idxmax(), ok["median days to onboard"].idxmin()
        sig = on["p_value"] < alpha
        out.append(dict(
            id="success.lead_onboarding_time",
            statement=(f"Qualified leads from {label(slow)} wait a median {ok.loc[slow, 'median days to onboard']:.0f} days for "
                       f"onboarding, against {ok.loc[fast, 'median days to onboard']:.0f} days from {label(fast)}"
                       + ("" if sig else "; channels do not differ beyond chance") + "."),
            metric="median days from qualified lead to onboarding", value=float(ok["median days to onboard"].median()),
            base=on["n"], test=on["test"], p_value=on["p_value"], source="success",
            severity="warning" if sig else "info", extra={"slowest": slow, "fastest": fast}))
    tr = tests.get("trial")
    okt = table[table["trials"] >= min_base]
    if tr and not okt.empty and okt["trial conversion"].notna().any():
        lo, hi = okt["trial conversion"].idxmin(), okt["trial conversion"].idxmax()
        sig = tr["p_value"] < alpha
        out.append(dict(
            id="success.trial_conversion_channel",
            statement=(f"Trial conversion ranges from {pct(okt.loc[lo, 'trial conversion'])} ({label(lo)}) to "
                       f"{pct(okt.loc[hi, 'trial conversion'])} ({label(hi)})"
                       + ("" if sig else "; channels do not differ beyond chance") + "."),
            metric="trial conversion of the lowest channel (%)", value=round(100 * float(okt.loc[lo, "trial conversion"]), 1),
            base=tr["n"],
            test=tr["test"], p_value=tr["p_value"], source="success", severity="key" if sig else "info",
            extra={"lowest": lo, "highest": hi}))
    return out


def plot_days_to_onboard(leads: pd.DataFrame, order: list[str] | None = None):
    import matplotlib.pyplot as plt
    import seaborn as sns
    d = leads.dropna(subset=["days_to_onboard"]).assign(channel=lambda x: x["channel"].map(label))
    order = [label(c) for c in order] if order is not None else None
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * d["channel"].nunique() + 1.6))
    sns.boxplot(data=d, x="days_to_onboard", y="channel", order=order, color="#92c5de", showfliers=False, ax=ax)
    ax.set_xlabel("days from qualified lead to onboarding")
    ax.set_ylabel("")
    fig.tight_layout()
    return fig

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

from insight.data import engine as E
from insight.labels import label
from insight.success._common import SuccessDataError, pct


def lead_onboarding(events, customers=None, *,
                    qualified_step: str = "qualified", onboarded_step: str = "onboarded",
                    trial_step: str = "trial", converted_step: str = "purchase",
                    window_days: float | None = None) -> pd.DataFrame:
    """One row per visitor who became a qualified lead or started a trial: qualified / onboarded
    / trial / converted times, days from qualified to onboarded, converted flag and channel.
    `events`: journey events as a DataFrame or an engine table (the rows per visitor are found on
    the engine: insight.data.engine.journey_leads)."""
    present = E.journey_steps(events)
    for key, s in (("lead_qualified_step", qualified_step), ("lead_onboarded_step", onboarded_step)):
        if s not in present:
            raise SuccessDataError(f"journey_events.step never has the value {s!r} (success.{key}); values present: "
                                   f"{', '.join(sorted(map(str, present)))}. Fix: set success.{key} to the step's name.")
    got = E.journey_leads(events, customers, qualified=qualified_step, onboarded=onboarded_step, trial=trial_step,
                          converted=converted_step, window_days=window_days)
    out = got[["qualified_at", "onboarded_at"]].copy()
    out["days_to_onboard"] = (out["onboarded_at"] - out["qualified_at"]).dt.total_seconds() / 86400
    out["trial_at"] = got["trial_at"]
    out["converted_at"] = got["converted_at"]
    out["onboarded"] = out["onboarded_at"].notna().where(out["qualified_at"].notna())
    out["converted"] = out["converted_at"].notna().where(out["trial_at"].notna())
    out["channel"] = got["channel"].astype(object)
    out["customer_id"] = got["customer_id"].astype(object)
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

"""Customer journey and funnel (insight strategy step 3 and 5, seed 002): the touchpoint
catalogue by channel, funnel conversion and drop-off per step and channel with a conversion
window, and where customers abandon compared across segments.

Funnel rule: a visitor enters the funnel at their first event of step 1; they reach step k+1 when
they have an event of step k+1 no earlier than the time they reached step k and no later than
`window_days` after it. A visitor's channel is the channel of their first event (first touch);
their segment the first known segment of their events (or of their customer record).
The row-level work runs on the study's engine (insight.data.engine: one join per funnel step, whatever
the number of events); what comes back is a count per channel, segment and last step (`funnel`), or a
row per visitor when asked (`reached_steps`). A DataFrame of events runs the same expressions on an
in-process DuckDB.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from insight.data import engine as E
from insight.labels import label
from insight.stats import is_significant
from insight.success._common import Comparison, SuccessDataError, compare_counts, pct, require


def _events(events: pd.DataFrame) -> pd.DataFrame:
    require(events, "journey_events", ["visitor_id", "timestamp", "step", "channel"])
    ev = events.copy(deep=False)   # copy-on-write: a column replaced below never touches the caller's frame
    if not pd.api.types.is_datetime64_any_dtype(ev["timestamp"]):
        ts = pd.to_datetime(ev["timestamp"], errors="coerce")
        bad = ts.isna() & ev["timestamp"].notna()
        if bad.any():
            raise SuccessDataError(f"table 'journey_events' column 'timestamp': {int(bad.sum())} value(s) are not "
                                   f"date-times, e.g. rows {list(ev.index[bad][:5])}. Fix: write ISO date-times.")
        ev["timestamp"] = ts
    missing = ev["visitor_id"].isna() | ev["timestamp"].isna() | ev["step"].isna()
    if missing.any():
        raise SuccessDataError(f"table 'journey_events': {int(missing.sum())} row(s) lack visitor_id, timestamp or step, "
                               f"e.g. rows {list(ev.index[missing][:5])}. Fix: fill them or drop them from the export.")
    return ev


def in_period(events, start, end):
    """Journey events from `start` to the end of the day `end` (a study's period): a DataFrame for a
    DataFrame, a lazy engine table for an engine table (study.engine.table("journey_events"))."""
    if not isinstance(events, pd.DataFrame):
        return E.journey_in_period(events, start, end)
    ev = _events(events)
    lo, hi = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    return ev[(ev["timestamp"] >= lo) & (ev["timestamp"] < hi)]


def check_steps(events, steps: list[str]) -> None:
    """Every funnel step must occur in the data (a typo would silently give a 0% step)."""
    present = E.journey_steps(events)
    absent = [s for s in steps if s not in present]
    if absent:
        raise SuccessDataError(
            f"funnel steps {absent} never occur in journey_events.step (values present: "
            f"{', '.join(sorted(map(str, present)))}). Fix: correct success.funnel_steps in the study params.")


def visitor_count(events) -> int:
    """Distinct visitors of the events."""
    return E.journey_visitor_count(events)


def touchpoint_catalogue(events, steps: list[str] | None = None) -> pd.DataFrame:
    """Every (channel, touchpoint): events, distinct visitors, distinct customers, share of all
    events and the funnel steps it serves. Counted on the engine."""
    per, st = E.journey_touchpoints(events)
    out = per.set_index(["channel", "touchpoint"])[["events", "visitors", "customers"]].astype("int64")
    if "customer_id" not in events.columns:
        out = out.drop(columns="customers")
    total = out["events"].sum()
    out["share of events"] = out["events"] / total if total else np.nan
    order = {s: i for i, s in enumerate(steps or [])}
    st["_o"] = st["step"].map(order).fillna(len(order))
    st = st.sort_values(["_o", "step"])
    out["steps"] = st.groupby(["channel", "touchpoint"], observed=True)["step"].agg(", ".join)
    return out.sort_values("events", ascending=False)


def channel_summary(events) -> pd.DataFrame:
    """Per channel: events, visitors, touchpoints and visitors who came first through it. Counted on
    the engine."""
    got = E.journey_channels(events)
    out = got[["events", "visitors"]].copy()
    if "touchpoint" in events.columns:
        out["touchpoints"] = got["touchpoints"]
    out["first-touch visitors"] = got["first_touch"]
    return out.sort_values("events", ascending=False)


def _entered(steps: list[str]) -> None:
    if len(steps) < 2:
        raise SuccessDataError("the funnel needs at least two steps. Fix: list them in success.funnel_steps.")


def _last_step(last, steps: list[str]) -> pd.Categorical:
    return pd.Categorical(np.asarray(steps, dtype=object)[np.asarray(last, dtype=int)], categories=steps, ordered=True)


def reached_steps(events, steps: list[str], window_days: float, customers=None) -> pd.DataFrame:
    """One row per visitor who entered the funnel (had step 1): the time each step was reached
    under the window rule (NaT when not), `last_step` reached, first-touch `channel`, `segment`.
    Pass `customers` to fill segments from the customer record when events lack them. Computed on the
    engine; the result has a row per visitor (for the funnel tables of a large study use `funnel`)."""
    _entered(steps)
    check_steps(events, steps)
    got = E.journey_funnel_visitors(events, steps, window_days, customers)
    out = got[[f"t{k}" for k in range(len(steps))]].set_axis(steps, axis=1)
    out["last_step"] = _last_step(got["last"], steps)
    out["completed"] = got["last"].to_numpy() == len(steps) - 1
    out["channel"] = got["channel"].astype(object)
    if "customer_id" in events.columns:
        out["customer_id"] = got["customer_id"].astype(object)
    out["segment"] = got["segment"].astype(object)
    return out


def funnel(events, steps: list[str], window_days: float, customers=None) -> pd.DataFrame:
    """The funnel in compact form: visitors who entered it counted per first-touch `channel`, `segment`
    and `last_step` (column `visitors`), each visitor under the same window rule as reached_steps. The
    funnel tables below take it as they take reached_steps' rows; only these counts leave the engine."""
    _entered(steps)
    check_steps(events, steps)
    got = E.journey_funnel_counts(events, steps, window_days, customers)
    return pd.DataFrame({"channel": got["channel"].astype(object), "segment": got["segment"].astype(object),
                         "last_step": _last_step(got["last"], steps), "visitors": got["visitors"]})


def _weight(reached: pd.DataFrame) -> pd.Series:
    """Visitors a row stands for: its `visitors` count in the compact funnel, 1 for a visitor's row."""
    if "visitors" in reached.columns:
        return reached["visitors"].astype("int64")
    return pd.Series(1, index=reached.index, dtype="int64")


def _reached(reached: pd.DataFrame, steps: list[str]) -> pd.DataFrame:
    """Per row, whether each step was reached: steps are reached in order, so step k is reached when
    the last step reached is k or later."""
    level = pd.Series(reached["last_step"]).map({s: i for i, s in enumerate(steps)}).to_numpy(dtype=float)
    return pd.DataFrame({s: level >= i for i, s in enumerate(steps)}, index=reached.index)


def funnel_table(reached: pd.DataFrame, steps: list[str]) -> pd.DataFrame:
    """Per step: visitors reaching it, conversion from the previous step and from step 1, and
    the drop-off (visitors lost before the next step). `reached`: reached_steps or funnel."""
    n = _reached(reached, steps).mul(_weight(reached), axis=0).sum()
    out = pd.DataFrame({"visitors": n.astype(int)})
    out["conversion from previous step"] = (n / n.shift(1)).where(n.shift(1) > 0)
    out["conversion from first step"] = n / n.iloc[0] if n.iloc[0] else np.nan
    out["dropped before next step"] = (n - n.shift(-1)).fillna(0).astype(int)
    out["drop-off to next step"] = (1 - n.shift(-1) / n).where(n > 0)
    out.loc[steps[-1], "drop-off to next step"] = np.nan
    out.index.name = "step"
    return out


def funnel_by(reached: pd.DataFrame, steps: list[str], by: str = "channel") -> pd.DataFrame:
    """Conversion from the previous step per step (columns) for each group (rows), plus the
    group's visitors and overall conversion; long-tail groups are kept (read their base)."""
    flags = _reached(reached, steps).mul(_weight(reached), axis=0)
    counts = flags.groupby(reached[by].fillna("(unknown)").to_numpy(), observed=True).sum()
    conv = counts.div(counts.shift(1, axis=1)).iloc[:, 1:]
    conv.columns = [f"{a} → {b}" for a, b in zip(steps[:-1], steps[1:])]
    conv.insert(0, "visitors", counts[steps[0]])
    conv["overall"] = counts[steps[-1]] / counts[steps[0]]
    conv.index.name = by
    return conv.sort_values("visitors", ascending=False)


def abandonment(reached: pd.DataFrame, by: str = "segment") -> tuple[pd.DataFrame, dict]:
    """Where visitors stop (their last step), by group: shares per group and a chi-square test
    of independence (scipy) with Cramér's V. Visitors who completed the funnel count at the
    last step. Returns (table of shares with a `visitors` column, test dict)."""
    from scipy.stats import chi2_contingency

    from insight.stats import cramers_v
    d = reached[reached[by].notna()]
    ct = pd.crosstab(d[by], d["last_step"], values=_weight(d), aggfunc="sum").fillna(0).astype("int64")
    ct = ct.loc[:, ct.sum() > 0]
    test = {"chi2": np.nan, "dof": 0, "p_value": np.nan, "cramers_v": np.nan, "cramers_v_ci": (np.nan, np.nan),
            "n": int(ct.to_numpy().sum()), "test": "chi-square test of independence (group x last step)"}
    if ct.shape[0] >= 2 and ct.shape[1] >= 2:
        chi2, p, dof, _ = chi2_contingency(ct.to_numpy())
        v, lo, hi, _, _ = cramers_v(ct.to_numpy())       # V and its interval from the uncorrected chi-square
        test.update(chi2=float(chi2), p_value=float(p), dof=int(dof), cramers_v=v, cramers_v_ci=(lo, hi))
    share = ct.div(ct.sum(axis=1), axis=0)
    last = reached["last_step"].cat.categories[-1] if hasattr(reached["last_step"], "cat") else None
    share.columns = ["completed the funnel" if c == last else f"stopped after {c}" for c in share.columns]
    share.insert(0, "visitors", ct.sum(axis=1))
    return share, test


def step_conversion_comparison(reached: pd.DataFrame, from_step: str, to_step: str, by: str,
                               focus: str, reference: str) -> Comparison:
    """Conversion from_step -> to_step of the `focus` group against the `reference` group
    (visitors who reached from_step), as a two-proportion comparison."""
    for v in (focus, reference):
        if v not in set(reached[by].dropna()):
            raise SuccessDataError(f"no visitor in the funnel has {by} = {v!r} (values: "
                                   f"{', '.join(sorted(map(str, reached[by].dropna().unique())))}). "
                                   f"Fix: choose another success.funnel_focus_channel / funnel_reference_channel.")
    steps = list(reached["last_step"].cat.categories)
    flags, w = _reached(reached, steps), _weight(reached)
    came = w.where(flags[from_step], 0)
    went = w.where(flags[from_step] & flags[to_step], 0)
    f, r = reached[by].eq(focus), reached[by].eq(reference)
    return compare_counts(went[f].sum(), came[f].sum(), went[r].sum(), came[r].sum(), focus=focus, reference=reference)


def biggest_dropoff(table: pd.DataFrame) -> tuple[str, float]:
    """The step after which most of the remaining visitors are lost."""
    d = table["drop-off to next step"].dropna()
    if d.empty:
        return ("", float("nan"))
    return (str(d.idxmax()), float(d.max()))


def dropoff_finding(comp: Comparison, from_step: str, to_step: str, alpha: float) -> dict:
    sig = comp.p_value < alpha
    return dict(
        id="journey.channel_dropoff",
        statement=(f"Visitors first reached through {label(comp.focus)} convert from {from_step} to {to_step} at "
                   f"{pct(comp.rate_focus)} (of {comp.n_focus:,}) against {pct(comp.rate_reference)} "
                   f"(of {comp.n_reference:,}) for {label(comp.reference)}"
                   + ("" if sig else "; the difference could be chance") + "."),
        metric=f"{from_step}→{to_step} conversion ratio ({label(comp.focus)} / {label(comp.reference)})", value=comp.risk_ratio,
        base=comp.base, test=comp.test, p_value=comp.p_value, effect_size=comp.risk_ratio,
        effect_size_name="risk ratio", ci_low=comp.ci_low, ci_high=comp.ci_high, source="journey",
        severity="key" if sig else "info",
        extra={"rate_focus": comp.rate_focus, "rate_reference": comp.rate_reference})


def plot_funnel(table: pd.DataFrame):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(table) + 1.5))
    n = table["visitors"].to_numpy(dtype=float)
    y = np.arange(len(table))
    ax.barh(y, n, color="#4575b4")
    for i, (v, c) in enumerate(zip(n, table["conversion from previous step"])):
        lab = f"{int(v):,}" + ("" if i == 0 or not np.isfinite(c) else f"  ({c:.0%} of previous)")
        ax.text(v, i, " " + lab, va="center")
    ax.set_yticks(y, [str(s) for s in table.index])
    ax.invert_yaxis()
    ax.set_xlabel("visitors reaching the step")
    ax.set_xlim(0, max(n.max(), 1) * 1.45)
    fig.tight_layout()
    return fig


def plot_conversion_by(conv: pd.DataFrame, min_visitors: int = 30):
    """Heat map: step-to-step conversion per group (rows with fewer visitors are left out)."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    d = conv[conv["visitors"] >= min_visitors].drop(columns=["visitors"])
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(d) + 1.8))
    sns.heatmap(d.astype(float), annot=True, fmt=".0%", cmap="RdYlGn", vmin=0, vmax=1, cbar=False, ax=ax)
    ax.set_ylabel("")
    ax.set_xlabel("conversion from the previous step")
    fig.tight_layout()
    return fig


def plot_abandonment(share: pd.DataFrame):
    import matplotlib.pyplot as plt
    d = share.drop(columns=["visitors"])
    fig, ax = plt.subplots(figsize=(7.5, 0.6 * len(d) + 1.8))
    left = np.zeros(len(d))
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, d.shape[1]))
    for col, colr in zip(d.columns, colors):
        ax.barh([str(i) for i in d.index], d[col], left=left, color=colr, label=col)
        left += d[col].to_numpy(dtype=float)
    ax.xaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    ax.set_xlim(0, 1)
    ax.legend(ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False, fontsize="small")
    fig.tight_layout()
    return fig


def window_sensitivity(events, steps: list[str], windows=(7, 14, 30, 60, 90)) -> pd.DataFrame:
    """Overall conversion (first to last step) and per step for several conversion windows:
    shows how much the chosen window drives the numbers. Each window is one count on the engine,
    over the funnel's events read once."""
    _entered(steps)
    check_steps(events, steps)
    rows = {}
    for w, got in E.journey_funnel_windows(events, steps, sorted(set(float(x) for x in windows))).items():
        counts = pd.DataFrame({"last_step": _last_step(got["last"], steps), "visitors": got["visitors"]})
        rows[f"{w:g} days"] = funnel_table(counts, steps)["conversion from first step"]
    out = pd.DataFrame(rows).T
    out.columns = [f"reached {s}" for s in out.columns]
    out.index.name = "conversion window"
    return out.iloc[:, 1:]


def abandonment_finding(share: pd.DataFrame, test: dict, by: str, alpha: float) -> dict:
    sig = is_significant(test["p_value"], alpha)
    return dict(
        id=f"journey.abandonment_by_{by}",
        statement=(f"Where visitors leave the funnel {'differs' if sig else 'does not differ beyond chance'} "
                   f"between {by}s (Cramér's V = {test['cramers_v']:.2f}, 95% CI {test['cramers_v_ci'][0]:.2f} to "
                   f"{test['cramers_v_ci'][1]:.2f})."),
        metric="Cramér's V", value=test["cramers_v"], base=test["n"], test=test["test"], p_value=test["p_value"],
        ci_low=test["cramers_v_ci"][0], ci_high=test["cramers_v_ci"][1],
        effect_size=test["cramers_v"], effect_size_name="Cramér's V", source="journey",
        severity="warning" if sig else "info")

"""Opinions and complaints (seed 001, area 4a): complaints by type/reason, product, date,
resolving rep and region; resolved vs unresolved; time to resolve per department with tests;
which problems get solved and which do not, and why (reason codes, or text themes).

Typical use (notebooks/crm/complaints.ipynb):

    comp = complaints(study.table("interactions"), study.table("customers"), types=["complaint"])
    breakdown(comp, "reason_code")
    resolution_time_test(comp, focus="billing", expected="higher")
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from insight.crm.attention_base import (
    AttentionDataError, add_product_names, days_between, describe_days, example_rows, fmt_pct, in_period,
    p_text, period_bounds, period_label, quiet, require_columns, to_dates,
)
from insight.data.engine import interactions_of
from insight.stats import GroupComparison, StatsInputError, compare_groups, evidence_for

OUTCOMES = ("resolved", "unresolved", "open")
_RESOLVED_STATUS = {"resolved": "resolved", "done": "resolved", "unresolved": "unresolved", "open": "open"}


def complaints(interactions: pd.DataFrame, customers: pd.DataFrame | None = None, *,
               types=("complaint",), period=None, freq: str = "quarter",
               products: pd.DataFrame | None = None) -> pd.DataFrame:
    """The complaint interactions with derived columns:

    - `outcome`: resolved / unresolved / open (from `status`; when status is missing, a
      resolved_date means resolved, none means open);
    - `days_to_resolve`: resolved_date - date in days (resolved complaints only);
    - `period`: the period label of `date` (freq month, quarter or year);
    - `region`, `segment`: from customers when given;
    - `product`: the product name (from products when given, else the product id).

    Raises AttentionDataError naming the rows when a complaint is resolved before it was filed.
    """
    types = list(types)
    # an engine table: only the complaints of the period come back
    interactions = interactions_of(interactions, types, *(period_bounds(period) if period is not None else (None, None)))
    require_columns(interactions, "interactions", ["interaction_id", "customer_id", "date", "type", "department"],
                    "the complaint analysis")
    comp = interactions.loc[interactions["type"].isin(types)].copy()
    comp["date"] = to_dates(comp["date"])
    comp = in_period(comp, "date", period).copy()
    status = comp["status"].map(_RESOLVED_STATUS) if "status" in comp.columns else pd.Series(pd.NA, index=comp.index)
    if "resolved_date" in comp.columns:
        comp["resolved_date"] = to_dates(comp["resolved_date"])
        has_date = comp["resolved_date"].notna()
    else:
        comp["resolved_date"] = pd.NaT
        has_date = pd.Series(False, index=comp.index)
    fallback = np.where(has_date, "resolved", "open")
    comp["outcome"] = status.astype("object").where(status.notna(), fallback).astype("string")
    days = days_between(comp["date"], comp["resolved_date"])
    bad = days < 0
    if bad.any():
        raise AttentionDataError(
            f"table 'interactions', column 'resolved_date': complaints resolved before they were filed "
            f"({example_rows(comp, bad, 'interaction_id')}). Fix: correct resolved_date (or date) "
            f"in the source export, or blank resolved_date when unknown.")
    comp["days_to_resolve"] = days.where(comp["outcome"] == "resolved")
    comp["period"] = period_label(comp["date"], freq)
    if customers is not None and len(comp):
        keep = [c for c in ("customer_id", "region", "segment") if c in customers.columns]
        comp = comp.drop(columns=[c for c in keep if c != "customer_id" and c in comp.columns])
        comp = comp.merge(customers[keep].drop_duplicates("customer_id"), on="customer_id", how="left")
    for col in ("product_id", "rep", "reason_code", "region", "segment", "text"):
        if col not in comp.columns:
            comp[col] = pd.NA
    add_product_names(comp, products)
    return comp.reset_index(drop=True)


def breakdown(comp: pd.DataFrame, by: str, *, top: int | None = None, missing_label: str = "(not recorded)") -> pd.DataFrame:
    """Complaints per value of `by`: count, share of all, resolved / unresolved / open shares,
    median days to resolve. Sorted by count; `top` keeps the largest groups."""
    if by not in comp.columns:
        raise AttentionDataError(f"complaints have no column {by!r}; available: {sorted(comp.columns)}")
    key = comp[by].astype("object").where(comp[by].notna(), missing_label).astype(str)
    outcome = pd.crosstab(key, comp["outcome"]).reindex(columns=list(OUTCOMES), fill_value=0)
    n = outcome.sum(axis=1)
    out = pd.DataFrame({
        "complaints": n,
        "share of all": n / max(len(comp), 1),
        "resolved": outcome["resolved"] / n,
        "unresolved": outcome["unresolved"] / n,
        "open": outcome["open"] / n,
        "median days to resolve": comp.groupby(key)["days_to_resolve"].median(),
    })
    out.index.name = by
    out = out.sort_values("complaints", ascending=False)
    return out.head(top) if top else out


def over_time(comp: pd.DataFrame) -> pd.DataFrame:
    """Complaints per period and outcome (rows: periods in order)."""
    t = pd.crosstab(comp["period"], comp["outcome"]).reindex(columns=list(OUTCOMES), fill_value=0)
    t["total"] = t.sum(axis=1)
    return t.sort_index()


def resolution_times(comp: pd.DataFrame, by: str = "department") -> pd.DataFrame:
    """Distribution of days to resolve per group (resolved complaints): n, median, quartiles, p90, mean."""
    return describe_days(comp, "days_to_resolve", by)


@dataclass
class ResolutionTest:
    """Resolution times of one group (e.g. the billing department) against the others."""
    focus: str
    group: str
    overall: GroupComparison         # Kruskal-Wallis across all groups (epsilon-squared)
    focus_vs_rest: GroupComparison   # Mann-Whitney U, focus vs the rest (rank-biserial r with CI)
    expected: str
    alpha: float
    median_focus: float
    median_rest: float
    n_focus: int
    n_rest: int

    @property
    def significant(self) -> bool:
        p = self.focus_vs_rest.p_value
        return bool(p == p and p < self.alpha)

    @property
    def evidence(self) -> str:
        """supports / contradicts / inconclusive for the expectation (insight.stats.evidence_for)."""
        return evidence_for(self.focus_vs_rest, self.expected, self.focus_vs_rest.p_value, self.alpha)

    @property
    def ratio(self) -> float:
        return self.median_focus / self.median_rest if self.median_rest else float("nan")


def resolution_time_test(comp: pd.DataFrame, focus: str, *, group: str = "department",
                         expected: str = "higher", alpha: float = 0.05) -> ResolutionTest:
    """Do complaints of `focus` (e.g. a department) take longer (expected=higher) to resolve than
    the others? Kruskal-Wallis across all groups and Mann-Whitney U of the focus group against
    the rest with the rank-biserial r (insight.stats.compare_groups; days are skewed, so
    rank-based tests)."""
    if group not in comp.columns:
        raise AttentionDataError(f"complaints have no column {group!r} to compare resolution times by")
    known = sorted(set(comp[group].dropna().astype(str)))
    if focus not in known:
        raise AttentionDataError(
            f"table 'interactions', column {group!r}: no complaint has the value {focus!r}; values: "
            f"{known}. Fix: name an existing value in the hypothesis' quant.groups.")
    d = comp.dropna(subset=["days_to_resolve", group])[["days_to_resolve", group]].copy()
    d[group] = d[group].astype(str)
    if (d[group] == focus).sum() < 2 or (d[group] != focus).sum() < 2:
        raise AttentionDataError(
            f"too few resolved complaints to compare {group} {focus!r} with the others "
            f"({(d[group] == focus).sum()} vs {(d[group] != focus).sum()}); resolution times need resolved_date.")
    overall = quiet(compare_groups, d, "days_to_resolve", group, "ordinal", table="interactions")
    two = quiet(compare_groups, d, "days_to_resolve", group, "ordinal", groups=[focus], table="interactions")
    is_focus = d[group] == focus
    return ResolutionTest(focus, group, overall, two, expected, alpha,
                          float(d.loc[is_focus, "days_to_resolve"].median()),
                          float(d.loc[~is_focus, "days_to_resolve"].median()),
                          int(is_focus.sum()), int((~is_focus).sum()))


def hypothesis_tests(params, comp: pd.DataFrame) -> list[tuple[object, ResolutionTest]]:
    """Test every study hypothesis with quant source crm and measure days_to_resolve."""
    out = []
    for h in params.hypotheses:
        q = h.quant
        if q is None or q.source != "crm" or q.measure != "days_to_resolve" or not q.groups:
            continue
        out.append((h, resolution_time_test(comp, q.groups[0], group=q.group_by, expected=q.expected,
                                            alpha=params.report.alpha)))
    return out


def reason_resolution(comp: pd.DataFrame, *, top: int | None = None) -> tuple[pd.DataFrame, GroupComparison | None]:
    """Which problems get solved and which do not: the breakdown by reason_code (highest
    unresolved share first) and a chi-square test of reason x outcome with Cramer's V (closed
    complaints only; None when there are not two reasons and two outcomes to compare)."""
    table = breakdown(comp, "reason_code", top=top).sort_values(["unresolved", "complaints"], ascending=[False, False])
    closed = comp.loc[comp["outcome"].isin(["resolved", "unresolved"]) & comp["reason_code"].notna()]
    closed = closed.assign(outcome=closed["outcome"].astype(str), reason_code=closed["reason_code"].astype(str))
    if closed["reason_code"].nunique() < 2 or closed["outcome"].nunique() < 2:
        return table, None
    try:
        test = quiet(compare_groups, closed, "outcome", "reason_code", "categorical", table="interactions")
    except StatsInputError:
        test = None
    return table, test


_CJK = re.compile(r"[\u3400-\u9fff]")


def _tokenizer(texts: pd.Series):
    """None (scikit-learn's default word tokenizer) or jieba for Chinese text."""
    sample = " ".join(texts.head(200).astype(str))
    if _CJK.search(sample):
        import jieba

        jieba.setLogLevel(60)
        return lambda s: [w for w in jieba.lcut(s) if w.strip() and len(w.strip()) > 1]
    return None


def text_themes(comp: pd.DataFrame, by: str = "outcome", *, n_terms: int = 8, min_docs: int = 5) -> pd.DataFrame:
    """Themes of complaint text when reason codes are absent: the most distinctive terms of each
    group — the terms whose mean TF-IDF weight over the group's complaints most exceeds their mean
    weight over the other complaints (English stop words removed; jieba words for Chinese text).
    With a single group, its highest-weight terms. Returns one row per group: complaints with
    text, top terms."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    d = comp.loc[comp["text"].notna() & (comp["text"].astype(str).str.strip() != "")]
    if d.empty:
        return pd.DataFrame(columns=[by, "complaints with text", "top terms"])
    texts = d["text"].astype(str)
    tok = _tokenizer(texts)
    words = TfidfVectorizer(stop_words="english" if tok is None else None, tokenizer=tok,
                            token_pattern=None if tok else r"(?u)\b[^\W\d_]{3,}\b").build_analyzer()
    # each distinct text is split into words once (complaints repeat a few texts: 234,343 complaints had
    # 114 distinct texts at 10M order lines); the same terms per complaint, so the same TF-IDF matrix
    terms_of = {t: words(t) for t in pd.unique(texts.to_numpy())}
    vec = TfidfVectorizer(analyzer=terms_of.__getitem__,
                          min_df=min(min_docs, max(1, len(d) // 20)), max_features=5000, sublinear_tf=True)
    try:
        m = vec.fit_transform(texts)
    except ValueError:  # empty vocabulary
        return pd.DataFrame(columns=[by, "complaints with text", "top terms"])
    terms = np.asarray(vec.get_feature_names_out())
    groups = d[by].astype("object").where(d[by].notna(), "(not recorded)").astype(str).to_numpy()
    rows = []
    uniq = pd.unique(groups)
    for g in uniq:
        mask = groups == g
        weights = np.asarray(m[mask].mean(axis=0)).ravel()
        if len(uniq) > 1:
            weights = weights - np.asarray(m[~mask].mean(axis=0)).ravel()
        idx = np.argsort(-weights)[:n_terms]
        rows.append({by: g, "complaints with text": int(mask.sum()),
                     "top terms": ", ".join(terms[idx][weights[idx] > 0])})
    return pd.DataFrame(rows).sort_values("complaints with text", ascending=False).reset_index(drop=True)


def plot_resolution_times(comp: pd.DataFrame, by: str = "department", focus: str | None = None):
    """Box plot of days to resolve per group, groups ordered by median; the focus group highlighted."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    d = comp.dropna(subset=["days_to_resolve"])
    order = d.groupby(by)["days_to_resolve"].median().sort_values(ascending=False).index.tolist()
    fig, ax = plt.subplots(figsize=(7.5, 0.5 * len(order) + 1.6))
    palette = {g: ("#d55e00" if g == focus else "#9fb7cc") for g in order}
    sns.boxplot(data=d, y=by, x="days_to_resolve", order=order, hue=by, hue_order=order, palette=palette,
                legend=False, showfliers=False, ax=ax)
    ax.set_xlabel("days from complaint to resolution")
    ax.set_ylabel("")
    return fig


def plot_over_time(comp: pd.DataFrame):
    """Stacked bars: complaints per period by outcome."""
    import matplotlib.pyplot as plt

    t = over_time(comp)[list(OUTCOMES)]
    fig, ax = plt.subplots()
    t.plot(kind="bar", stacked=True, ax=ax, color=["#009e73", "#d55e00", "#9fb7cc"], width=0.8)
    ax.set_xlabel("")
    ax.set_ylabel("complaints")
    ax.legend(title="outcome", frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.tick_params(axis="x", rotation=0)
    return fig


def slowest_group(comp: pd.DataFrame, by: str = "department", *, min_base: int = 10) -> str | None:
    """The group with the highest median days to resolve among groups with at least min_base
    resolved complaints (None when no group qualifies)."""
    t = resolution_times(comp, by)
    t = t.loc[t["n"] >= min_base]
    return None if t.empty else str(t.index[0])


def findings(comp: pd.DataFrame, tests: list[tuple[object, ResolutionTest]], *, min_base: int = 10,
             exploratory: ResolutionTest | None = None, reasons: pd.DataFrame | None = None,
             reason_test: GroupComparison | None = None, alpha: float = 0.05) -> list[dict]:
    """The findings of the complaint analysis as record_finding keyword dicts: the resolution
    rate; one per tested hypothesis (or the exploratory slowest-group test); the least solved reason."""
    out = []
    n = len(comp)
    if n == 0:
        return out
    resolved = float((comp["outcome"] == "resolved").mean())
    unresolved = float((comp["outcome"] == "unresolved").mean())
    out.append(dict(
        id="crm.complaints.resolution", source="crm", severity="info", metric="share resolved", value=resolved,
        base=n, statement=f"{fmt_pct(resolved)} of the {n:,} complaints in the period were resolved, "
                          f"{fmt_pct(unresolved)} were closed unresolved and the rest are still open."))
    done = [(h, t) for h, t in tests] + ([(None, exploratory)] if exploratory is not None else [])
    for h, t in done:
        r = t.focus_vs_rest
        sig = t.significant
        direction = "longer" if t.median_focus > t.median_rest else "shorter"
        statement = (f"Complaints handled by {t.focus} take a median of {t.median_focus:.1f} days to resolve, "
                     f"against {t.median_rest:.1f} days in the other {t.group}s "
                     + (f"({direction}, a real difference: {p_text(r.p_value)})." if sig
                        else f"(the difference could be chance: {p_text(r.p_value)})."))
        out.append(dict(
            id=f"crm.complaints.{'hypothesis_' + h.id if h is not None else 'slowest_' + t.group}",
            statement=statement, source="crm", severity="key" if (sig and h is not None) else "info",
            metric=f"median days to resolve, {t.focus}", value=t.median_focus, base=t.n_focus + t.n_rest,
            test=r.test, p_value=r.p_value, effect_size=r.effect_size, effect_size_name=r.effect_size_name,
            effect_ci_low=r.ci_low, effect_ci_high=r.ci_high, hypothesis=h.id if h is not None else None, evidence=t.evidence if h is not None else None,
            extra={"median_other": t.median_rest, "n_focus": t.n_focus, "n_other": t.n_rest,
                   "effect_size_ci": [r.ci_low, r.ci_high],
                   "group": t.group, "focus": t.focus, "ratio_of_medians": t.ratio}))
    if reasons is not None and len(reasons):
        r = reasons.loc[reasons["complaints"] >= min_base]
        if len(r) >= 2:
            worst_name = r["unresolved"].idxmax()
            best_name = r["resolved"].idxmax()
            worst, best = r.loc[worst_name], r.loc[best_name]
            sig = reason_test is not None and reason_test.p_value < alpha
            test_kw = {} if reason_test is None else dict(
                test=reason_test.test, p_value=reason_test.p_value, effect_size=reason_test.effect_size,
                effect_size_name=reason_test.effect_size_name, effect_ci_low=reason_test.ci_low,
                effect_ci_high=reason_test.ci_high)
            tail = ("" if reason_test is None else
                    " The chance of being solved depends on the reason." if sig else
                    f" But the reasons do not differ in how often they are solved beyond chance ({p_text(reason_test.p_value)}).")
            from insight.labels import label
            out.append(dict(
                id="crm.complaints.unsolved_reason", source="crm",
                severity="warning" if (sig and worst["unresolved"] > unresolved) else "info",
                metric=f"share unresolved, reason {worst_name}", value=float(worst["unresolved"]),
                base=int(worst["complaints"]),
                statement=(f"Complaints about '{label(worst_name)}' are the least often solved "
                           f"({fmt_pct(worst['unresolved'])} closed unresolved, of {int(worst['complaints']):,}); "
                           f"'{label(best_name)}' complaints the most often ({fmt_pct(best['resolved'])} resolved).{tail}"),
                **test_kw))
    return out

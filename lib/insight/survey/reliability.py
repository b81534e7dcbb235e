"""Scale reliability per construct: Cronbach's alpha (pingouin) with its interval, corrected
item-total correlations (each item against the sum of the OTHER items) and alpha if the item is
deleted. Reverse-coded items are turned round (min + max - x) first."""
from __future__ import annotations

import numpy as np
import pandas as pd

from insight.labels import labels_of

from insight.survey.questionnaire import Questionnaire


def item_analysis(items: pd.DataFrame, confidence: float = 0.95) -> tuple[dict, pd.DataFrame]:
    """Alpha of a set of item columns (listwise complete rows) and the per-item table."""
    import pingouin as pg

    raw = items.apply(pd.to_numeric, errors="coerce")
    alpha, ci = pg.cronbach_alpha(data=raw, nan_policy="listwise", ci=confidence)
    data = raw.dropna()
    rows = []
    total = data.sum(axis=1)
    for col in data.columns:
        rest = total - data[col]
        r = float(np.corrcoef(data[col], rest)[0, 1]) if data[col].std() > 0 and rest.std() > 0 else np.nan
        others = data.drop(columns=col)
        a_del = float(pg.cronbach_alpha(data=others)[0]) if others.shape[1] >= 2 else np.nan
        rows.append({"item": col, "mean": float(data[col].mean()), "corrected item-total r": r,
                     "alpha if deleted": a_del})
    summary = {"alpha": float(alpha), "ci_low": float(ci[0]), "ci_high": float(ci[1]), "n": int(len(data)),
               "items": int(data.shape[1])}
    return summary, pd.DataFrame(rows)


def reliability(df: pd.DataFrame, qn: Questionnaire, confidence: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-construct table, per-item table) for every construct of the questionnaire."""
    summaries, item_tables = [], []
    for construct, qs in qn.constructs.items():
        cols = [q.id for q in qs if q.id in df.columns]
        if len(cols) < 2:
            continue
        scored = pd.DataFrame({q.id: qn.scored(df, q) for q in qs if q.id in df.columns})
        summary, items = item_analysis(scored, confidence)
        summaries.append({"construct": construct, **summary,
                          "verdict": ("good (≥ 0.8)" if summary["alpha"] >= 0.8 else "acceptable (0.7-0.8)"
                                      if summary["alpha"] >= 0.7 else "questionable (0.6-0.7)" if summary["alpha"] >= 0.6
                                      else "poor (< 0.6): do not average these items")})
        rev = {q.id: q.reverse for q in qs}
        items.insert(0, "construct", construct)
        items["reverse-coded"] = items["item"].map(rev)
        item_tables.append(items)
    cols = ["construct", "alpha", "ci_low", "ci_high", "n", "items", "verdict"]
    return (pd.DataFrame(summaries, columns=cols),
            pd.concat(item_tables, ignore_index=True) if item_tables else pd.DataFrame())


def reliability_display(rel: pd.DataFrame, items: pd.DataFrame, qn: Questionnaire | None = None
                        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two tables of `reliability` for a report: constructs as words, the interval as text,
    each item as its statement (when the questionnaire is given) and 'yes' for reverse-coded ones."""
    def lab(s):
        return pd.Series(labels_of(s.astype(str)), index=s.index)
    constructs = pd.DataFrame({
        "construct": lab(rel["construct"]).to_numpy(), "Cronbach's alpha": rel["alpha"].round(2).to_numpy(),
        "interval": [f"{lo:.2f} to {hi:.2f}" for lo, hi in zip(rel["ci_low"], rel["ci_high"])],
        "respondents": rel["n"].to_numpy(), "statements": rel["items"].to_numpy(), "verdict": rel["verdict"].to_numpy()})
    if items.empty:
        return constructs, items
    text = items["item"].astype(str)
    if qn is not None:
        known = {q.id: q.text for q in qn.questions}
        text = text.map(lambda i: known.get(i, i))
    # a reverse-coded statement's mean is of the turned-round answers: say so, or it contradicts the raw mean
    text = text.where(~items["reverse-coded"].fillna(False).astype(bool), text + " (answers turned round)")
    per_item = pd.DataFrame({
        "construct": lab(items["construct"]).to_numpy(), "statement": text.to_numpy(),
        "mean": items["mean"].to_numpy(), "corrected item-total r": items["corrected item-total r"].to_numpy(),
        "alpha if deleted": items["alpha if deleted"].to_numpy(),
        "reverse-coded": items["reverse-coded"].map(lambda v: "yes" if bool(v) else "").to_numpy()})
    return constructs, per_item


def construct_scores(df: pd.DataFrame, qn: Questionnaire) -> pd.DataFrame:
    """Mean of each construct's (reverse-scored) items per respondent; NaN when an item is missing."""
    out = {}
    for construct, qs in qn.constructs.items():
        scored = pd.DataFrame({q.id: qn.scored(df, q) for q in qs if q.id in df.columns})
        out[construct] = scored.mean(axis=1, skipna=False)
    return pd.DataFrame(out, index=df.index)

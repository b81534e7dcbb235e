"""Sentiment of free text with an offline lexicon: VADER (vaderSentiment, its lexicon ships with
the package; nothing is downloaded at run time). VADER is English-only: texts holding Chinese,
Japanese or Korean characters pass through with sentiment 'not scored'.

Labels follow VADER's authors: compound >= 0.05 positive, <= -0.05 negative, else neutral.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from insight.qual.model import has_cjk

POSITIVE, NEGATIVE = 0.05, -0.05


@lru_cache(maxsize=1)
def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    return SentimentIntensityAnalyzer()


def score_sentiment(texts) -> pd.DataFrame:
    """One row per text (same index): language ('en', 'cjk' or 'empty'), compound (-1..1, NaN when not
    scored), sentiment (positive | neutral | negative | not scored)."""
    s = pd.Series(texts)
    s = s.astype("object").where(s.notna(), "").astype(str)
    cjk = has_cjk(s)
    an = _analyzer()
    compound = pd.Series(np.nan, index=s.index, dtype=float)
    todo = s[~cjk & s.str.strip().ne("")]
    # VADER scores one text at a time (a lexicon walk per text); open texts number thousands, not millions
    compound.loc[todo.index] = [an.polarity_scores(t)["compound"] for t in todo.tolist()]
    label = np.select([compound >= POSITIVE, compound <= NEGATIVE, compound.notna()],
                      ["positive", "negative", "neutral"], default="not scored")
    language = np.select([cjk, s.str.strip().eq("")], ["cjk", "empty"], default="en")
    return pd.DataFrame({"language": language, "compound": compound, "sentiment": label},
                        index=s.index)


def sentiment_summary(scored: pd.DataFrame, by: pd.Series | None = None) -> pd.DataFrame:
    """Counts and shares of positive / neutral / negative / not scored, overall or per group;
    mean compound over scored texts."""
    df = scored.assign(group=by.values if by is not None else "all texts")
    counts = pd.crosstab(df["group"], df["sentiment"])
    for c in ("positive", "neutral", "negative", "not scored"):
        if c not in counts:
            counts[c] = 0
    counts = counts[["positive", "neutral", "negative", "not scored"]]
    out = counts.copy()
    scored_n = counts[["positive", "neutral", "negative"]].sum(axis=1)
    out["texts"] = counts.sum(axis=1)
    out["scored"] = scored_n
    for c in ("positive", "neutral", "negative"):
        out[f"{c}_share"] = counts[c] / scored_n.replace(0, np.nan)
    out["mean_compound"] = df.groupby("group")["compound"].mean()
    out.index.name = "group"
    return out.reset_index()


__all__ = ["score_sentiment", "sentiment_summary"]

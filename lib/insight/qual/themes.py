"""Suggested themes for uncoded text (community posts, open ends, complaints), to seed a codebook.

TF-IDF (scikit-learn) over words — English with scikit-learn's English stop words, Chinese
segmented with jieba and a short Chinese stop list — then NMF (non-negative matrix factorisation):
each theme is a weighted set of terms; every text gets the theme it loads on most. Themes are
suggestions for an analyst to name and turn into codes, not findings on their own.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from insight.qual.model import has_cjk, shorten

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_WORD = re.compile(r"(?u)\b[^\W\d_][\w'’-]*[^\W_]\b")
ZH_STOP = frozenset("""
的 了 是 我 也 很 都 就 在 和 有 不 这 那 还 又 没 没有 我们 你 他 她 它 他们 一个 一 个 啊 吧 呢 吗 哦 嗯
与 及 或 但 但是 而 而且 所以 因为 如果 就是 还是 可以 比较 非常 感觉 觉得 说 要 会 能 到 对 把 被 给 让
着 过 去 来 上 下 里 中 后 前 再 才 只 太 更 最 挺 真 真的 些 这个 那个 这样 那样 什么 怎么 为 之 其 等
""".split())
EN_EXTRA_STOP = frozenset({"just", "really", "like", "im", "it's", "don't", "didn't", "i'm", "ve", "ll", "got"})


def _jieba():
    import jieba
    jieba.setLogLevel(logging.WARNING)
    return jieba


def tokenize(text: str) -> list[str]:
    """Words of one text: jieba segmentation when it holds Chinese characters (dropping stop words,
    punctuation and single characters), else lower-cased English words without stop words."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    text = "" if text is None else str(text)
    if _CJK.search(text):
        words = _jieba().lcut(text)
        out = []
        for w in words:
            w = w.strip().lower()
            if len(w) < 2 or w in ZH_STOP or not re.search(r"\w", w) or w.isdigit():
                continue
            if not _CJK.search(w) and (w in ENGLISH_STOP_WORDS or len(w) < 3):
                continue
            out.append(w)
        return out
    return [w for w in (m.lower() for m in _WORD.findall(text))
            if w not in ENGLISH_STOP_WORDS and w not in EN_EXTRA_STOP and len(w) > 2]


def tfidf_matrix(texts, min_df=2, max_df: float = 0.9, max_features: int = 5000):
    """TF-IDF document-term matrix (sparse) and the vocabulary."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = pd.Series(texts).fillna("").astype(str)
    n = len(texts)
    vec = TfidfVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None,
                          min_df=min(min_df, max(n, 1)), max_df=max_df if n >= 10 else 1.0,
                          max_features=max_features, sublinear_tf=True)
    try:
        mat = vec.fit_transform(texts)
    except ValueError:  # empty vocabulary
        from scipy.sparse import csr_matrix
        return csr_matrix((n, 0)), np.array([], dtype=object)
    return mat, vec.get_feature_names_out()


@dataclass
class Themes:
    themes: pd.DataFrame       # theme, label, top_terms, texts, share, examples
    assignments: pd.DataFrame  # one row per input text: theme, weight
    n_texts: int
    note: str = ""


def suggest_themes(texts, n_themes: int = 6, n_terms: int = 8, n_examples: int = 2, max_docs: int = 5000,
                   example_chars: int = 200, random_state: int = 0) -> Themes:
    """Suggested themes of a collection of texts (any language jieba or English tokenising handles).

    `max_docs`: larger collections are sampled (deterministically) to keep it fast; the themes'
    `texts` and `share` count the texts analysed. Texts with no theme term get theme 0 (none)."""
    from sklearn.decomposition import NMF

    s = pd.Series(texts).dropna().astype(str)
    s = s[s.str.strip().ne("")]
    note = ""
    if len(s) > max_docs:
        s = s.sample(max_docs, random_state=random_state)
        note = f"A random sample of {max_docs:,} texts was analysed."
    s = s.reset_index(drop=True)
    empty = Themes(pd.DataFrame(columns=["theme", "label", "top_terms", "texts", "share", "examples"]),
                   pd.DataFrame(columns=["text", "theme", "weight"]), len(s), "")
    if len(s) < 4:
        empty.note = f"Only {len(s)} texts: too few to suggest themes."
        return empty
    mat, terms = tfidf_matrix(s, min_df=2 if len(s) >= 20 else 1)
    if mat.shape[1] < 2:
        empty.note = "The texts share too few words to suggest themes."
        return empty
    k = int(max(1, min(n_themes, mat.shape[0] - 1, mat.shape[1] - 1)))
    model = NMF(n_components=k, init="nndsvda", random_state=random_state, max_iter=400)
    w = model.fit_transform(mat)
    h = model.components_
    dominant = w.argmax(axis=1)
    weight = w.max(axis=1)
    theme = np.where(weight > 0, dominant + 1, 0)
    assign = pd.DataFrame({"text": s, "theme": theme, "weight": weight})
    rows = []
    for j in range(k):  # a handful of themes
        top = terms[np.argsort(h[j])[::-1][:n_terms]]
        members = assign[assign["theme"] == j + 1].sort_values("weight", ascending=False)
        examples = shorten(members["text"].head(n_examples), example_chars).tolist()
        rows.append({"theme": j + 1, "label": " · ".join(top[:3]), "top_terms": ", ".join(top),
                     "texts": len(members), "share": len(members) / len(s), "examples": examples})
    themes = pd.DataFrame(rows).sort_values(["texts", "theme"], ascending=[False, True], kind="stable").reset_index(drop=True)
    renumber = {old: new for new, old in enumerate(themes["theme"], start=1)}   # theme 1 = the largest
    themes["theme"] = themes["theme"].map(renumber)
    assign["theme"] = assign["theme"].map(renumber).fillna(0).astype(int)
    return Themes(themes, assign, len(s), note)


def language_of(texts) -> pd.Series:
    s = pd.Series(texts).fillna("").astype(str)
    return pd.Series(np.where(has_cjk(s), "zh", "en"), index=s.index)


__all__ = ["tokenize", "tfidf_matrix", "suggest_themes", "Themes", "language_of", "ZH_STOP"]

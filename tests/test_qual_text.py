"""Uncoded text: suggested themes (TF-IDF + NMF, jieba for Chinese) and offline sentiment (VADER);
Chinese passes intact into themes and plot labels."""
from __future__ import annotations

import warnings

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from insight.qual.sentiment import score_sentiment, sentiment_summary  # noqa: E402
from insight.qual.themes import suggest_themes, tokenize  # noqa: E402


def test_vader_published_examples():
    # The vaderSentiment README's examples: "VADER is smart, handsome, and funny." compound 0.8316;
    # "VADER is not smart, handsome, nor funny." compound -0.7424.
    s = score_sentiment(["VADER is smart, handsome, and funny.", "VADER is not smart, handsome, nor funny.",
                         "服务很好，房间干净。", None])
    assert s["compound"].iloc[0] == pytest.approx(0.8316, abs=1e-4)
    assert s["compound"].iloc[1] == pytest.approx(-0.7424, abs=1e-4)
    assert s["sentiment"].tolist() == ["positive", "negative", "not scored", "not scored"]
    assert s["language"].tolist() == ["en", "en", "cjk", "empty"]


def test_tokenize_english_and_chinese():
    assert tokenize("The connector was REALLY hard to set up!") == ["connector", "hard", "set"]
    zh = tokenize("房间很干净，早餐品种丰富")
    assert "房间" in zh and "早餐" in zh and "很" not in zh and "，" not in zh


def test_themes_on_hand_made_texts():
    texts = (["billing invoice wrong amount charged twice"] * 6 + ["invoice charged twice refund billing"] * 4
             + ["support slow reply waited days ticket"] * 6 + ["ticket support waited reply"] * 4)
    th = suggest_themes(texts, n_themes=2, n_terms=4)
    labels = th.themes["top_terms"].tolist()
    assert len(th.themes) == 2 and th.themes["texts"].sum() == 20
    assert any("invoice" in t or "billing" in t for t in labels) and any("support" in t or "ticket" in t for t in labels)
    assert suggest_themes(["one", "two"]).themes.empty
    # themes are numbered by size (1 = the largest) in the table and in each text's assignment
    lop = suggest_themes(texts[:16], n_themes=2, n_terms=4)        # 10 billing texts, 6 support texts
    assert lop.themes["theme"].tolist() == [1, 2] and lop.themes["texts"].tolist() == [10, 6]
    assert (lop.assignments["theme"] == 1).sum() == 10


def _glyph_warnings(fig) -> list[str]:
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        fig.canvas.draw()
    plt.close(fig)
    return [str(w.message) for w in rec if "missing from font" in str(w.message) or "Glyph" in str(w.message)]


@pytest.mark.realdata
def test_chinese_reviews_themes_and_plot_labels(shared_datasets):
    from insight.fonts import font_family
    from insight.qual.plots import themes_plot

    df = pd.read_csv(shared_datasets / "reviews_zh" / "ChnSentiCorp_htl_all.csv")
    texts = df["review"].dropna().sample(1200, random_state=7)
    th = suggest_themes(texts, n_themes=5)
    assert len(th.themes) == 5
    assert th.themes["label"].str.contains(r"[\u4e00-\u9fff]").all()         # Chinese terms, intact
    assert any("房间" in t or "酒店" in t for t in th.themes["top_terms"])
    assert all(e in set(texts) or e.endswith("…") for ex in th.themes["examples"] for e in ex)
    assert "Noto Sans CJK SC" in font_family()
    assert _glyph_warnings(themes_plot(th.themes, title="建议主题")) == []
    # the check itself works: the same labels in DejaVu Sans alone lack glyphs
    fig, ax = plt.subplots()
    ax.set_yticks(range(len(th.themes)), th.themes["label"], fontfamily="DejaVu Sans")
    assert _glyph_warnings(fig) != []
    # sentiment passes Chinese through unscored
    assert set(score_sentiment(texts.head(50))["sentiment"]) == {"not scored"}


@pytest.mark.realdata
def test_english_reviews_themes_and_sentiment(shared_datasets):
    df = pd.read_csv(shared_datasets / "reviews" / "womens_clothing_ecommerce_reviews.csv.gz")
    df = df.dropna(subset=["Review Text"]).sample(3000, random_state=1)
    th = suggest_themes(df["Review Text"], n_themes=6)
    terms = " ".join(th.themes["top_terms"])
    assert len(th.themes) == 6 and th.themes["texts"].sum() == 3000
    assert "size" in terms and ("fabric" in terms or "color" in terms) and "the" not in terms.split(", ")
    s = score_sentiment(df["Review Text"])
    summ = sentiment_summary(s, df["Rating"]).set_index("group")
    # lexicon sentiment must follow the stars: 5-star reviews far more positive than 1-star ones
    assert summ.loc[5, "mean_compound"] > summ.loc[1, "mean_compound"] + 0.4
    assert summ.loc[5, "positive_share"] > 0.9 and summ.loc[1, "negative_share"] > 3 * summ.loc[5, "negative_share"]
    assert summ["mean_compound"].is_monotonic_increasing

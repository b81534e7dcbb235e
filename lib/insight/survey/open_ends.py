"""Open-ended answers handed to the qualitative analysis as sources (kind "open_end")."""
from __future__ import annotations

import pandas as pd

from insight.survey.questionnaire import Questionnaire

SOURCE_COLUMNS = ["source_id", "kind", "date", "participant_id", "title", "text"]
EXTRA_COLUMNS = ["respondent_id", "customer_id", "question", "wave", "segment", "region", "customer_status", "role"]


def open_ends_as_sources(responses: pd.DataFrame, questionnaire: Questionnaire) -> pd.DataFrame:
    """One row per non-empty open answer, shaped like the qual_sources table: source_id
    ("<respondent_id>:<question id>"), kind "open_end", date (submitted, else started), no
    participant_id, title (the question id and text), text (the answer, already masked by the data
    layer). Extra columns after the canonical ones carry the respondent's id and groups
    (respondent_id, customer_id, question, wave, segment, region, customer_status, role) so the
    qualitative analysis can code them and compare groups."""
    frames = []
    date = pd.to_datetime(responses["submitted_at"]).fillna(pd.to_datetime(responses["started_at"])) \
        if "submitted_at" in responses else pd.to_datetime(responses["started_at"])
    for q in questionnaire.of_type("open"):
        if q.id not in responses.columns:
            continue
        text = responses[q.id].astype("string").str.strip()
        keep = text.notna() & (text != "")
        if not keep.any():
            continue
        sub = responses.loc[keep]
        f = pd.DataFrame({
            "source_id": sub["respondent_id"].astype(str) + ":" + q.id,
            "kind": "open_end",
            "date": date[keep].dt.normalize(),
            "participant_id": pd.Series(pd.NA, index=sub.index, dtype="string"),
            "title": f"{q.id}: {q.text}",
            "text": text[keep],
        })
        for col in EXTRA_COLUMNS:
            if col == "question":
                f[col] = q.id
            elif col in sub.columns:
                f[col] = sub[col]
        frames.append(f)
    if not frames:
        return pd.DataFrame(columns=SOURCE_COLUMNS + EXTRA_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def open_answers_display(sources: pd.DataFrame, questionnaire: Questionnaire, n: int = 8) -> pd.DataFrame:
    """The first `n` open answers for a report: the respondent's segment, the question as worded
    and the (already masked) answer; no ids."""
    texts = {q.id: q.text for q in questionnaire.questions}
    d = sources.head(n)
    out = pd.DataFrame({"question": d["question"].map(texts).fillna(d["question"]).to_numpy() if "question" in d
                        else d["title"].to_numpy(), "answer": d["text"].to_numpy()})
    if "segment" in d:
        out.insert(0, "segment", d["segment"].astype("string").str.replace("_", " ").fillna("").to_numpy())
    return out


def open_answer_counts(sources: pd.DataFrame, questionnaire: Questionnaire) -> pd.DataFrame:
    """Open answers per question (as worded), for the report."""
    texts = {q.id: q.text for q in questionnaire.questions}
    key = sources["question"].map(texts).fillna(sources["question"]) if "question" in sources else sources["title"]
    return key.value_counts(sort=False).rename_axis("question").rename("answers").reset_index()

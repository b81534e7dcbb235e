"""Cleaning with an audit trail: every rule flags respondents; a respondent is removed for the first
rule (in RULES order) that flags them; the audit counts per rule what it flagged and removed,
and the removed respondents are listed by pseudonymous respondent id and reason."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from insight.survey.questionnaire import Questionnaire

RULES = {
    "duplicate": "the same customer submitted the same answers again (the first submission is kept)",
    "partial": "did not complete the survey (partial complete)",
    "out_of_range": "an answer code outside the question's scale",
    "speeder": "completed faster than {fraction:.0%} of the median completion time ({threshold:.0f} s)",
    "straight_liner": "gave the same answer to every item of a grid ({min_items}+ items)",
    "attention": "failed the attention check",
}


@dataclass
class CleanResult:
    data: pd.DataFrame              # the respondents kept
    removed: pd.DataFrame           # respondent_id, reason, rule
    audit: pd.DataFrame             # rule, description, flagged, removed, remaining
    flags: pd.DataFrame = field(repr=False)   # one boolean column per rule, index of the input
    out_of_range: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    speeder_threshold: float = float("nan")
    blanked: int = 0

    @property
    def n_in(self) -> int:
        return len(self.flags)

    @property
    def n_out(self) -> int:
        return len(self.data)


def straightline_flags(df: pd.DataFrame, qn: Questionnaire, min_items: int = 5) -> pd.Series:
    """True where a respondent gave one and the same code to all answered items of any grid
    that has at least `min_items` items answered."""
    flag = pd.Series(False, index=df.index)
    for grid, items in qn.grids.items():
        cols = [q.id for q in items if q.id in df.columns]
        if len(cols) < min_items:
            continue
        block = df[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype="float64")
        answered = (~np.isnan(block)).sum(axis=1)
        with np.errstate(all="ignore"):
            same = np.nanmin(np.where(answered[:, None] > 0, block, 0), axis=1) == np.nanmax(
                np.where(answered[:, None] > 0, block, 0), axis=1)
        flag |= pd.Series((answered >= min_items) & same, index=df.index)
    return flag


def speeder_flags(df: pd.DataFrame, fraction: float) -> tuple[pd.Series, float]:
    """True for completes faster than `fraction` x the median duration of completes."""
    done = df["completed"].fillna(False).astype(bool)
    dur = pd.to_numeric(df["duration_seconds"], errors="coerce")
    median = float(dur[done].median()) if done.any() else float("nan")
    threshold = fraction * median
    return (done & (dur < threshold)).fillna(False), threshold


def duplicate_flags(df: pd.DataFrame, qn: Questionnaire) -> pd.Series:
    """True for a later submission with the same customer_id and identical answers."""
    cols = [c for c in qn.answer_columns if c in df.columns]
    if "customer_id" not in df.columns or not cols:
        return pd.Series(False, index=df.index)
    order = df.sort_values([c for c in ("submitted_at", "started_at") if c in df.columns], kind="stable")
    # only a customer who submitted more than once can have a duplicate: the comparison of every answer
    # runs on their submissions alone (in the same order, so the same first of each identical set)
    repeat = (order["customer_id"].notna() & order["customer_id"].duplicated(keep=False)).to_numpy(dtype=bool)
    dup = pd.Series(False, index=order.index)
    if repeat.any():
        dup[repeat] = order[repeat].duplicated(subset=["customer_id", *cols], keep="first").to_numpy(dtype=bool)
    return dup.reindex(df.index).fillna(False)


def attention_flags(df: pd.DataFrame, qn: Questionnaire) -> pd.Series:
    flag = pd.Series(False, index=df.index)
    for q in qn.of_type("attention"):
        if q.id in df.columns:
            s = pd.to_numeric(df[q.id], errors="coerce")
            flag |= s.notna() & (s != q.correct)
    return flag


def clean_responses(df: pd.DataFrame, qn: Questionnaire, *, speeder_fraction: float = 1 / 3,
                    straightline_min_items: int = 5, keep_partials: bool = False,
                    drop_failed_attention: bool = True, out_of_range: str = "error") -> CleanResult:
    """Apply the cleaning rules (see RULES) and return the kept data with the audit trail.
    Raises SurveyDataError for data that does not fit the questionnaire (out-of-range codes too,
    unless out_of_range is 'blank' or 'remove')."""
    bad = qn.check_responses(df, out_of_range=out_of_range)
    data = df.copy()
    blanked = 0
    rid = data["respondent_id"].astype(str)
    oor = pd.Series(False, index=data.index)
    if len(bad):
        bad_ids = set(bad["respondent_id"])
        if out_of_range == "blank":
            for col, ids in bad.groupby("column")["respondent_id"]:
                mask = rid.isin(set(ids))
                blanked += int(mask.sum())
                data.loc[mask, col] = np.nan
        else:
            oor = rid.isin(bad_ids)
    flags = pd.DataFrame(index=data.index)
    flags["duplicate"] = duplicate_flags(data, qn)
    flags["partial"] = ~data["completed"].fillna(False).astype(bool) if not keep_partials else False
    flags["out_of_range"] = oor
    flags["speeder"], threshold = speeder_flags(data, speeder_fraction)
    flags["straight_liner"] = straightline_flags(data, qn, straightline_min_items)
    flags["attention"] = attention_flags(data, qn) if drop_failed_attention else False
    flags = flags.astype(bool)
    first = flags.idxmax(axis=1).where(flags.any(axis=1))
    keep = first.isna()
    audit_rows, remaining = [], len(data)
    for rule, text in RULES.items():
        removed = int((first == rule).sum())
        remaining -= removed
        audit_rows.append({"rule": rule.replace("_", " "),
                           "description": text.format(fraction=speeder_fraction, threshold=threshold,
                                                      min_items=straightline_min_items),
                           "flagged": int(flags[rule].sum()), "removed": removed, "remaining": remaining})
    audit = pd.DataFrame(audit_rows)
    removed = pd.DataFrame({"respondent_id": rid[~keep], "rule": first[~keep]})
    removed["reason"] = removed["rule"].map(lambda r: RULES[r].split(" (")[0].format(
        fraction=speeder_fraction, threshold=threshold, min_items=straightline_min_items))
    sub = flags[~keep]
    also = pd.Series("", index=sub.index)
    for rule in RULES:
        also = also + np.where(sub[rule], rule.replace("_", " ") + "; ", "")
    removed["all flags"] = also.str.rstrip("; ")
    order = {r: i for i, r in enumerate(RULES)}
    removed = (removed.assign(_o=removed["rule"].map(order)).sort_values(["_o", "respondent_id"])
               .drop(columns="_o").reset_index(drop=True))
    return CleanResult(data[keep].copy(), removed, audit, flags, bad, threshold, blanked)

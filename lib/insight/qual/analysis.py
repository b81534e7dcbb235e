"""Qualitative analyses on QualData: each returns a tidy DataFrame (plots live in insight.qual.plots).

Counting is by participant unless said otherwise: a participant 'has' a code when any of their
segments carries it, however many times they said it (mentions are reported next to it).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from insight.labels import label, label_list, labels_of
from insight.qual.model import INTERVIEW_KINDS, UNCODED_KINDS, QualData, QualDataError, has_cjk, mask_personal, shorten
from insight.stats import is_significant, p_adjust
from insight.speedups import isin


def display_dates(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with datetime columns as YYYY-MM-DD text, for tables a reviewer reads."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d")
    return out


def customer_voice(qd: QualData, interview_kinds=INTERVIEW_KINDS, uncoded_kinds=UNCODED_KINDS) -> QualData:
    """The sources where customers speak for themselves (interviews, focus groups, community posts,
    open ends, complaints), without observation logs (the researcher's notes) or expert sessions
    (industry veterans, not customers); one coder's codes per segment (QualData.primary)."""
    return qd.kinds([*interview_kinds, *uncoded_kinds])


# --- frequency by participant attributes --------------------------------------------------------

def code_frequency(qd: QualData, by: str | None = None, codes=None) -> pd.DataFrame:
    """Participants with each code, overall (by=None) or per value of a participant attribute.

    Columns: code, group, participants (with the code), base (participants in the group),
    share, mentions (distinct coded segments). Codes of the codebook never used appear with 0."""
    if by is not None and by not in qd.participants.columns:
        raise QualDataError(f"participants: no attribute column {by!r} to break codes down by (columns: "
                            f"{', '.join(qd.participants.columns)}). Fix: pick one of those in params "
                            "`qualitative.attributes`, or add the column to the participants table.")
    people = qd.participant_attributes([by] if by else [])
    group = people[by] if by else pd.Series("all participants", index=people.index)
    people = people.assign(group=group.astype(str))
    base = people.groupby("group").size().rename("base")
    cp = qd.coded_participants().assign(participant_id=lambda d: d["participant_id"].astype(str))
    cp = cp.merge(people[["participant_id", "group"]], on="participant_id", how="inner")
    seg = qd.segments.dropna(subset=["participant_id"]).assign(participant_id=lambda d: d["participant_id"].astype(str))
    seg = seg.merge(people[["participant_id", "group"]], on="participant_id", how="inner")
    if codes is None:  # every code used, and every leaf code of the codebook (unused parents say nothing)
        cb = qd.codebook
        parents = set(cb["parent"].dropna().astype(str))
        leaves = set(cb["code"].astype(str)) - parents
        codes = sorted(leaves | set(cp["code"].astype(str).unique()))
    codes = list(codes)
    have = cp.groupby(["code", "group"]).size().rename("participants")
    mentions = seg.drop_duplicates(["segment_id", "code"]).groupby(["code", "group"]).size().rename("mentions")
    grid = pd.MultiIndex.from_product([codes, base.index], names=["code", "group"])
    out = pd.DataFrame(index=grid).join(have).join(mentions).fillna(0).astype(int).reset_index()
    out = out.merge(base, left_on="group", right_index=True)
    out["share"] = out["participants"] / out["base"]
    return out[["code", "group", "participants", "base", "share", "mentions"]]


def frequency_table(freq: pd.DataFrame, min_base: int = 0) -> pd.DataFrame:
    """Wide, reader-friendly form of code_frequency: one row per code, one column per group,
    cells 'share (n/base)'; groups below min_base show 'base too small'."""
    cell = (freq["share"].map(lambda v: f"{v:.0%}") + " (" + freq["participants"].astype(str) + "/"
            + freq["base"].astype(str) + ")")
    cell = cell.where(freq["base"] >= min_base, "base too small")
    wide = freq.assign(cell=cell).pivot(index="code", columns="group", values="cell")
    wide = wide.loc[code_order(freq)]
    wide.columns.name = None
    wide.index.name = "code"
    return wide


def code_order(freq: pd.DataFrame) -> list[str]:
    """The order codes are listed in every table and chart of code frequencies: most participants
    first (over all groups), ties alphabetically, so a table and a heat map read alike."""
    tot = freq.groupby("code")["participants"].sum().rename("n").reset_index()
    return tot.sort_values(["n", "code"], ascending=[False, True], kind="stable")["code"].tolist()


def frequency_display(freq: pd.DataFrame, min_base: int = 0) -> pd.DataFrame:
    """frequency_table for a report: codes as labels in a 'code' column (show with index=False)."""
    wide = frequency_table(freq, min_base).reset_index()
    wide["code"] = labels_of(wide["code"])
    return wide


def omitted_groups(freq: pd.DataFrame, min_base: int) -> list[str]:
    """Groups of a code_frequency breakdown below min_base, as 'name (n)' (left out of heat maps)."""
    base = freq.drop_duplicates("group").set_index("group")["base"]
    small = base[base < min_base].sort_values(ascending=False)
    return [f"{label(g)} (n = {n})" for g, n in small.items()]


def concentration(qd: QualData, attribute: str, value: str, codes=None) -> pd.DataFrame:
    """Which codes are concentrated in one group of participants (e.g. customer_status = churned)?

    Per code: share of the focus group with the code vs share of all other participants,
    difference in points, odds ratio with Woolf's 95% interval (none when a cell is empty) and
    Fisher's exact test (two-sided), with Holm-adjusted
    p-values over the codes tested. Sorted by adjusted p."""
    from scipy.stats import fisher_exact

    freq = code_frequency(qd, by=attribute, codes=codes)
    groups = set(freq["group"])
    if value not in groups:
        raise QualDataError(f"participants.{attribute}: no participant has the value {value!r} (values: "
                            f"{', '.join(sorted(groups))}). Fix: correct params `qualitative.focus_group`.")
    focus = freq[freq["group"] == value].set_index("code")
    rest = freq[freq["group"] != value].groupby("code")[["participants", "base"]].sum()
    out = pd.DataFrame({"focus_with": focus["participants"], "focus_base": focus["base"],
                        "others_with": rest["participants"], "others_base": rest["base"]})
    out["focus_share"] = out["focus_with"] / out["focus_base"]
    out["others_share"] = out["others_with"] / out["others_base"]
    out["difference"] = out["focus_share"] - out["others_share"]
    tables = np.stack([out["focus_with"], out["focus_base"] - out["focus_with"],
                       out["others_with"], out["others_base"] - out["others_with"]], axis=1).astype(int)
    from insight.stats import odds_ratio_ci
    res = [fisher_exact(t.reshape(2, 2)) for t in tables]  # one test per code (tens of codes)
    out["odds_ratio"] = [r.statistic for r in res]
    ors = np.array([odds_ratio_ci(t) for t in tables], dtype=float).reshape(-1, 3)
    out["odds_ratio_low"], out["odds_ratio_high"] = ors[:, 1], ors[:, 2]
    out["p_value"] = [r.pvalue for r in res]
    out["p_adjusted"] = p_adjust(out["p_value"].to_numpy(dtype=float), "holm")
    out = out.reset_index().rename(columns={"index": "code"})
    return out.sort_values(["p_adjusted", "difference"], ascending=[True, False]).reset_index(drop=True)


def concentration_table(conc: pd.DataFrame, value: str, alpha: float = 0.05, top: int = 12) -> pd.DataFrame:
    """Reader-friendly form of `concentration`: shares as percentages, p-values as text, and a
    plain 'real difference?' column (Holm-adjusted p below alpha). The same `top` codes as
    plots.concentration_plot; odds ratio 'n/a' when nobody raised the code."""
    from insight.display import p_label

    d = conc.head(top)
    return pd.DataFrame({
        "code": d["code"].map(label),
        f"{label(value)} (%)": (d["focus_share"] * 100).round(0),
        "others (%)": (d["others_share"] * 100).round(0),
        "odds ratio": d["odds_ratio"].map(lambda v: "n/a" if pd.isna(v) else "∞" if np.isinf(v) else f"{v:.2f}"),
        "odds ratio 95% CI": [("n/a (a group has no one, or everyone, with the code)" if pd.isna(lo)
                               else f"{lo:.2f} to {hi:.2f}") for lo, hi in zip(d["odds_ratio_low"], d["odds_ratio_high"])],
        "p (adjusted)": d["p_adjusted"].map(lambda p: p_label(p).replace("= ", "")),
        "real difference?": np.where([is_significant(p, alpha) for p in d["p_adjusted"]],
                                     np.where(d["difference"] > 0, f"yes, more among {value}", f"yes, less among {value}"),
                                     "no"),
    })


# --- co-occurrence ------------------------------------------------------------------------------

def co_occurrence(qd: QualData, unit: str = "segment") -> pd.DataFrame:
    """Code co-occurrence matrix: cell (a, b) = number of units carrying both codes; the diagonal
    is the number of units carrying the code. unit='segment' (same excerpt) or 'participant'
    (same person, anywhere in their material). The matrix's `attrs['unit']` states it."""
    if unit not in ("segment", "participant"):
        raise ValueError("unit must be 'segment' or 'participant'")
    key = "segment_id" if unit == "segment" else "participant_id"
    pairs = qd.segments[[key, "code"]].dropna().drop_duplicates()
    if pairs.empty:
        m = pd.DataFrame()
    else:
        # unit x code indicator (each pair once, so 0/1) as a dense array, then X'X: the same counts
        # as a crosstab of the pairs, without building a frame of every unit (300,000 at the largest demo)
        codes = pd.Index(sorted(pairs["code"].unique()), name="code")
        units, _ = pd.factorize(pairs[key])
        x = np.zeros((int(units.max()) + 1, len(codes)))
        x[units, codes.get_indexer(pairs["code"])] = 1.0
        m = pd.DataFrame((x.T @ x).round().astype("int64"), index=codes, columns=codes.copy())
    m.attrs["unit"] = "same segment (excerpt)" if unit == "segment" else "same participant"
    m.attrs["units"] = int(pairs[key].nunique()) if len(pairs) else 0
    return m


def top_pairs(matrix: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The most frequent code pairs of a co-occurrence matrix (off-diagonal, each pair once)."""
    if matrix.empty:
        return pd.DataFrame(columns=["code_a", "code_b", "units"])
    m = matrix.to_numpy()
    iu = np.triu_indices_from(m, k=1)
    df = pd.DataFrame({"code_a": matrix.index[iu[0]], "code_b": matrix.columns[iu[1]], "units": m[iu]})
    return df[df["units"] > 0].sort_values("units", ascending=False).head(n).reset_index(drop=True)


def pairs_display(pairs: pd.DataFrame, unit: str = "excerpts") -> pd.DataFrame:
    """top_pairs for a report: code labels and plain headers."""
    return pd.DataFrame({"code": labels_of(pairs["code_a"]),
                         "raised together with": labels_of(pairs["code_b"]),
                         unit: pairs["units"].to_numpy()})


# --- saturation ---------------------------------------------------------------------------------

def saturation_curve(qd: QualData, kinds=INTERVIEW_KINDS) -> pd.DataFrame:
    """New codes per additional interview, in the order interviews were held (date, then id).

    Columns: interview (1..n), source_id, date, codes (distinct codes in it), new_codes,
    cumulative_codes, new_code_names."""
    src = qd.sources[qd.sources["kind"].isin(list(kinds))][["source_id", "date"]].copy()
    src["date"] = pd.to_datetime(src["date"], errors="coerce")
    src = src.sort_values(["date", "source_id"], kind="stable").reset_index(drop=True)
    src["interview"] = np.arange(1, len(src) + 1)
    pairs = qd.segments[["source_id", "code"]].drop_duplicates().merge(src, on="source_id")
    first = pairs.sort_values("interview").drop_duplicates("code")
    new = first.groupby("interview")["code"].agg(lambda s: ", ".join(sorted(s)))
    out = src.assign(codes=src["source_id"].map(pairs.groupby("source_id")["code"].nunique()).fillna(0).astype(int),
                     new_codes=src["interview"].map(first.groupby("interview").size()).fillna(0).astype(int),
                     new_code_names=src["interview"].map(new).fillna(""))
    out["cumulative_codes"] = out["new_codes"].cumsum()
    return out[["interview", "source_id", "date", "codes", "new_codes", "cumulative_codes", "new_code_names"]]


def saturation_status(curve: pd.DataFrame, batch: int = 3) -> dict:
    """Is saturation reached: did the last `batch` interviews add no new code?"""
    n = len(curve)
    if n == 0:
        return {"reached": False, "interviews": 0, "recent_new": 0, "total_codes": 0,
                "message": "No interviews: saturation cannot be judged."}
    recent = int(curve["new_codes"].tail(batch).sum())
    total = int(curve["cumulative_codes"].iloc[-1])
    last_new = curve.loc[curve["new_codes"] > 0, "interview"]
    last_new = int(last_new.iloc[-1]) if len(last_new) else 0
    if n < batch + 1:
        reached, msg = False, (f"Only {n} interviews: too few to judge saturation (need more than {batch}).")
    elif recent == 0:
        reached, msg = True, (f"Saturation reached: the last {batch} of {n} interviews added no new code; the "
                              f"{total} codes were all found by interview {last_new}.")
    else:
        reached, msg = False, (f"Not saturated: the last {batch} interviews still added {recent} new code(s); "
                               "plan more interviews, in the groups where new codes appeared.")
    return {"reached": reached, "interviews": n, "recent_new": recent, "total_codes": total,
            "last_new_at": last_new, "message": msg}


# --- quotes -------------------------------------------------------------------------------------

def representative_quotes(qd: QualData, codes=None, n: int = 2, max_chars: int = 280,
                          attributes=("customer_status", "segment", "role")) -> pd.DataFrame:
    """Up to `n` quotes per code, from different participants: excerpts of typical length for the
    code (close to its median, at least 30 characters when possible), excerpts coded with this code
    alone preferred (they illustrate it unambiguously), then answers to probes.
    Personal data (e-mails, phones, links, participant names) is masked; escape on display."""
    seg = qd.segments.dropna(subset=["excerpt"]).drop_duplicates(["segment_id", "code"])
    seg = seg.assign(shared=seg.groupby("segment_id")["code"].transform("nunique").gt(1))  # carries other codes too
    if codes is not None:
        seg = seg[seg["code"].isin(list(codes))]
    if seg.empty:
        return pd.DataFrame(columns=["code", "participant_id", "quote", "who"])
    seg = seg.assign(length=seg["excerpt"].astype(str).str.len())
    med = seg.groupby("code")["length"].transform("median").clip(lower=1)
    shared = seg["shared"]
    score = ((seg["length"] - med).abs() / med + (seg["length"] < 30) * 1.0
             - seg["is_probe"].fillna(False).astype(float) * 0.25 + shared * 2.0)
    seg = seg.assign(score=score, pid=seg["participant_id"].fillna(seg["segment_id"]).astype(str))
    pick = (seg.sort_values(["code", "score", "segment_id"]).drop_duplicates(["code", "pid"])
            .drop_duplicates(["code", "excerpt"]).groupby("code", sort=False).head(n))
    names = qd.participants["name"].dropna().tolist() if "name" in qd.participants else []
    quote = shorten(mask_personal(pick["excerpt"], names), max_chars)
    attrs = [a for a in attributes if a in qd.participants.columns]
    people = qd.participants[["participant_id", *attrs]].drop_duplicates("participant_id")
    out = pick[["code", "participant_id"]].assign(quote=quote.values).merge(people, on="participant_id", how="left")
    who = pd.Series("", index=out.index)
    for a in attrs:
        who = who.str.cat(out[a].astype("object").where(out[a].notna(), "").astype(str).str.replace("_", " "), sep=", ")
    out["who"] = who.str.strip(", ").str.replace(r"(, )+", ", ", regex=True)
    return out[["code", "participant_id", "quote", "who"]].reset_index(drop=True)


# --- evidence per hypothesis --------------------------------------------------------------------

def hypothesis_evidence(qd: QualData, hypotheses, min_participants: int = 3, ratio: float = 2.0,
                        min_share: float = 0.2) -> pd.DataFrame:
    """For each hypothesis with qualitative codes: participants with supporting codes, with
    contradicting codes (and with both), out of the participants interviewed, and a verdict:

    - with supporting and contradicting codes: 'supports' when at least `min_participants` support
      and they outnumber the contradicting ones `ratio` times; 'contradicts' the other way round;
      otherwise 'inconclusive';
    - with supporting codes only: 'supports' when at least `min_participants` and at least
      `min_share` of the base support; otherwise 'inconclusive' (never 'contradicts': silence is
      not evidence against).

    Codes named by a hypothesis but absent from the codebook are listed in `missing_codes`.

    A hypothesis about one group (its quant spec names `group_by`, a participant attribute, and
    `groups`, the focus group first) is only 'supports' when the supporting codes are also more
    frequent in that group than among the other participants (`focus_share` > `others_share`);
    otherwise it is 'inconclusive' with the reason in `group_note` (many people complaining about
    price says nothing about SMB customers in particular)."""
    known = set(qd.codebook["code"].astype(str))
    cp = qd.coded_participants().assign(participant_id=lambda d: d["participant_id"].astype(str))
    base = qd.n_participants
    rows = []
    for h in hypotheses:
        if h.qual is None or not (h.qual.supports or h.qual.contradicts):
            continue
        sup = set(cp.loc[cp["code"].isin(h.qual.supports), "participant_id"])
        con = set(cp.loc[cp["code"].isin(h.qual.contradicts), "participant_id"])
        n_sup, n_con = len(sup), len(con)
        if h.qual.contradicts:
            if n_sup >= min_participants and n_sup >= ratio * n_con:
                v = "supports"
            elif n_con >= min_participants and n_con >= ratio * n_sup:
                v = "contradicts"
            else:
                v = "inconclusive"
        else:
            v = "supports" if (n_sup >= min_participants and base and n_sup / base >= min_share) else "inconclusive"
        focus, f_share, o_share, note = _group_check(qd, h, sup)
        if v == "supports" and focus is not None and not f_share > o_share:
            v = "inconclusive"
            note = (f"the supporting codes are not more frequent among {focus} participants ({f_share:.0%}) than "
                    f"among the others ({o_share:.0%})")
        missing = sorted((set(h.qual.supports) | set(h.qual.contradicts)) - known)
        rows.append({"hypothesis": h.id, "statement": h.statement, "supporting_codes": ", ".join(h.qual.supports),
                     "contradicting_codes": ", ".join(h.qual.contradicts) or "—", "base": base,
                     "supporting": n_sup, "contradicting": n_con, "both": len(sup & con),
                     "supporting_share": n_sup / base if base else np.nan,
                     "contradicting_share": n_con / base if base else np.nan,
                     "evidence": v, "missing_codes": ", ".join(missing), "focus_group": focus,
                     "focus_share": f_share, "others_share": o_share, "group_note": note})
    cols = ["hypothesis", "statement", "supporting_codes", "contradicting_codes", "base", "supporting",
            "contradicting", "both", "supporting_share", "contradicting_share", "evidence", "missing_codes",
            "focus_group", "focus_share", "others_share", "group_note"]
    return pd.DataFrame(rows, columns=cols)


def _group_check(qd: QualData, h, supporters: set) -> tuple[str | None, float, float, str]:
    """(focus group, share of its participants with supporting codes, share of the others, note)
    for a hypothesis naming a group of a participant attribute; (None, nan, nan, reason) otherwise."""
    q = getattr(h, "quant", None)
    if q is None or not q.groups or q.group_by not in qd.participants.columns:
        return None, np.nan, np.nan, ""
    people = qd.participant_attributes([q.group_by])
    attr = people[q.group_by].astype(str)
    focus = str(q.groups[0])
    in_focus = attr == focus
    in_ref = attr.isin([str(g) for g in q.groups[1:]]) if len(q.groups) > 1 else (~in_focus & (attr != "unknown"))
    if not in_focus.any() or not in_ref.any():
        return None, np.nan, np.nan, f"no {focus} participant, or nobody to compare them with, among those heard"
    has = isin(people["participant_id"].astype(str), supporters)
    return focus, float(has[in_focus].mean()), float(has[in_ref].mean()), ""


def evidence_table(evidence: pd.DataFrame) -> pd.DataFrame:
    """Reader-friendly form of hypothesis_evidence: counts with their shares in one cell."""
    def cell(n, share):
        return [f"{a} ({b:.0%})" if pd.notna(b) else str(a) for a, b in zip(n, share)]
    return pd.DataFrame({
        "hypothesis": evidence["hypothesis"],
        "supporting codes": evidence["supporting_codes"].map(label_list),
        "participants supporting": cell(evidence["supporting"], evidence["supporting_share"]),
        "contradicting codes": evidence["contradicting_codes"].map(label_list),
        "participants contradicting": cell(evidence["contradicting"], evidence["contradicting_share"]),
        "supporting codes in the named group": [
            "—" if not isinstance(g, str) else f"{label(g)} {f:.0%} vs others {o:.0%}"
            for g, f, o in zip(evidence["focus_group"], evidence["focus_share"], evidence["others_share"])],
        "qualitative evidence": evidence["evidence"],
    })


# --- probing depth ------------------------------------------------------------------------------

def probing_depth(qd: QualData, kinds=INTERVIEW_KINDS, probe_phrases=None) -> pd.DataFrame:
    """Per interview: questions asked, probes (follow-up questions), the longest run of consecutive
    probes (how deep the interviewer dug), coded segments and the share of them that came from
    answers to probes. From the transcript's turns when the source has text, else from the coded
    segments' is_probe flags."""
    from insight.qual.importers import DEFAULT_PROBE_PHRASES, parse_transcripts

    phrases = DEFAULT_PROBE_PHRASES if probe_phrases is None else probe_phrases
    src = qd.sources[qd.sources["kind"].isin(list(kinds))]
    seg = qd.segments[isin(qd.segments["source_id"], src["source_id"])].drop_duplicates(["segment_id"])
    segs = seg.groupby("source_id").agg(coded_segments=("segment_id", "nunique"),
                                        from_probes=("is_probe", "sum"))
    turns = parse_transcripts(src["text"], phrases)   # every transcript in one vectorised pass
    parsed = set(turns["doc"])
    q = turns[turns["role"] == "interviewer"]
    probe = q["is_probe"].astype(bool)
    # the longest run of consecutive probes among an interview's questions: a run restarts at each
    # non-probe question and at each interview's first question; chain = probes so far in the run
    run = ((~probe) | (q["doc"] != q["doc"].shift(1))).cumsum()
    chain = probe.astype(int).groupby(run).cumsum()
    counts = pd.DataFrame({"questions": q.groupby("doc").size(), "probes": probe.groupby(q["doc"]).sum(),
                           "deepest_chain": chain.groupby(q["doc"]).max()})
    out = _per_source(src["source_id"], counts, parsed)
    out = out.merge(src[["source_id", "kind", "date", "participant_id"]], on="source_id").merge(
        segs, left_on="source_id", right_index=True, how="left")
    out[["coded_segments", "from_probes"]] = out[["coded_segments", "from_probes"]].fillna(0).astype(int)
    out["probe_share"] = out["probes"] / out["questions"].replace(0, np.nan)
    out["coded_from_probes_share"] = out["from_probes"] / out["coded_segments"].replace(0, np.nan)
    return out[["source_id", "kind", "date", "participant_id", "questions", "probes", "probe_share", "deepest_chain",
                "coded_segments", "from_probes", "coded_from_probes_share"]]


def _per_source(source_ids: pd.Series, counts: pd.DataFrame, parsed: set) -> pd.DataFrame:
    """source_id and the integer `counts` of each source by its position (0 where a parsed transcript has
    no question; NaN, as floats, where the source has no transcript): one reindex, not a lookup per source.
    No sources: untyped empty columns, as a frame of no rows has."""
    if source_ids.empty:
        return pd.DataFrame(columns=["source_id", *counts.columns])
    counts = counts.reindex(range(len(source_ids)), fill_value=0).astype(int)
    unparsed = [i not in parsed for i in range(len(source_ids))]
    if any(unparsed):
        counts = counts.astype(float)
        counts.loc[unparsed] = np.nan
    return pd.concat([pd.Series(source_ids.tolist(), name="source_id"), counts], axis=1)


def probing_display(depth: pd.DataFrame) -> pd.DataFrame:
    """probing_depth for a report: plain headers, kinds as labels, dates as text."""
    from insight.qual.model import KIND_LABELS
    d = display_dates(depth.sort_values(["date", "source_id"], kind="stable"))
    return pd.DataFrame({
        "interview": d["source_id"].to_numpy(), "kind": d["kind"].map(KIND_LABELS).fillna(d["kind"]).to_numpy(),
        "date": d["date"].to_numpy(), "questions asked": d["questions"].astype("Int64").to_numpy(),
        "follow-up questions": d["probes"].astype("Int64").to_numpy(), "share of follow-ups": d["probe_share"].to_numpy(),
        "longest run of follow-ups": d["deepest_chain"].astype("Int64").to_numpy(),
        "excerpts coded": d["coded_segments"].to_numpy(),
        "share coded from follow-ups": d["coded_from_probes_share"].to_numpy()})


def probing_summary(depth: pd.DataFrame) -> str:
    """One sentence on probing_depth for a reviewer: typical follow-ups per interview, the deepest
    run, and interviews without any follow-up (only those with a transcript are counted)."""
    d = depth.dropna(subset=["questions"])
    if d.empty:
        return "No interview has a transcript, so the follow-up questions cannot be counted."
    share = d["probes"].sum() / d["questions"].sum() if d["questions"].sum() else float("nan")
    deepest = d.loc[d["deepest_chain"].idxmax()]
    none = int((d["probes"] == 0).sum())
    text = (f"Across {len(d)} interviews with a transcript, interviewers asked a median of {d['probes'].median():.0f} "
            f"follow-up questions per interview ({share:.0%} of all their questions); the longest run of follow-ups "
            f"in a row was {int(deepest['deepest_chain'])} ({deepest['source_id']}).")
    return text + (f" {none} interview(s) had no follow-up question at all: their answers stay on the surface."
                   if none else " Every interview had follow-up questions.")


def probe_yield_display(yield_: pd.DataFrame) -> pd.DataFrame:
    """probe_yield for a report: code labels and plain headers."""
    return pd.DataFrame({"code": labels_of(yield_["code"]), "excerpts": yield_["segments"].to_numpy(),
                         "from follow-up answers": yield_["from_probes"].astype(int).to_numpy(),
                         "share from follow-ups": yield_["share_from_probes"].to_numpy()})


def reliability_display(rel: pd.DataFrame) -> pd.DataFrame:
    """intercoder_reliability for a report: code labels and plain headers (agreement is a share);
    the coefficient chosen for the design with its 95% interval, or why it cannot be computed."""
    def chosen(r) -> str:
        if r["coefficient"] == "none" or pd.isna(r["value"]):
            return "not computable (too few units or no variation)"
        ci = "" if pd.isna(r["ci_low"]) else f" ({r['ci_low']:.2f} to {r['ci_high']:.2f})"
        return f"{r['value']:.2f}{ci}"
    return pd.DataFrame({"code": labels_of(rel["code"]), "double-coded units": rel["units"].to_numpy(),
                         "coders": rel["coders"].to_numpy(), "times applied": rel["applied"].to_numpy(),
                         "agreement": rel["agreement"].map(lambda v: "" if pd.isna(v) else f"{v:.0%}").to_numpy(),
                         "coefficient": rel["coefficient"].to_numpy(),
                         "value (95% CI)": [chosen(r) for _, r in rel.iterrows()],
                         "Krippendorff's alpha": rel["alpha"].map(lambda v: "not computable" if pd.isna(v) else f"{v:.2f}").to_numpy(),
                         "verdict": rel["verdict"].to_numpy()})


def probe_yield(qd: QualData, kinds=INTERVIEW_KINDS) -> pd.DataFrame:
    """Which codes surface mainly in answers to probes (the deeper drivers)? Per code: coded
    segments, from probes, share from probes."""
    src = qd.sources[qd.sources["kind"].isin(list(kinds))]
    seg = qd.segments[isin(qd.segments["source_id"], src["source_id"])].drop_duplicates(["segment_id", "code"])
    g = seg.groupby("code").agg(segments=("segment_id", "nunique"), from_probes=("is_probe", "sum"))
    g["share_from_probes"] = g["from_probes"] / g["segments"]
    return g.sort_values("share_from_probes", ascending=False).reset_index()


# --- immersion, experts -------------------------------------------------------------------------

def immersion_timeline(qd: QualData, max_chars: int = 160) -> pd.DataFrame:
    """Observation-log entries as a timeline: one row per (entry, code) with the entry's date,
    the week of the immersion (1 = first week on site), the site (participant or customer) and a
    masked excerpt. Uncoded entries appear with code 'uncoded'."""
    src = qd.sources[qd.sources["kind"] == "observation_log"].copy()
    cols = ["date", "week", "site", "source_id", "code", "note"]
    if src.empty:
        return pd.DataFrame(columns=cols)
    src["date"] = pd.to_datetime(src["date"], errors="coerce")
    seg = qd.segments[isin(qd.segments["source_id"], src["source_id"])].drop_duplicates(["source_id", "code"])
    out = src[["source_id", "date", "participant_id", "title", "text"]].merge(
        seg[["source_id", "code", "excerpt"]], on="source_id", how="left")
    out["code"] = out["code"].fillna("uncoded")
    site = out["participant_id"].astype("object").where(out["participant_id"].notna(), "site")
    if "customer_id" in qd.participants.columns:
        cust = qd.participants.drop_duplicates("participant_id").set_index("participant_id")["customer_id"]
        site = out["participant_id"].map(cust).astype("object").where(lambda s: s.notna(), site)
    out["site"] = site.astype(str)
    start = out.groupby("site")["date"].transform("min")
    out["week"] = ((out["date"] - start).dt.days // 7 + 1).astype("Int64")
    note = out["excerpt"].astype("object").where(out["excerpt"].notna(), out["text"])
    names = qd.participants["name"].dropna().tolist() if "name" in qd.participants else []
    out["note"] = shorten(mask_personal(note.fillna(""), names), max_chars)
    return out[cols].sort_values(["site", "date", "code"]).reset_index(drop=True)


def weekly_table(timeline: pd.DataFrame) -> pd.DataFrame:
    """Observation-log entries per code (rows, as labels) and week on site (columns)."""
    weekly = timeline.pivot_table(index="code", columns="week", values="source_id", aggfunc="nunique", fill_value=0)
    weekly.columns = [f"week {w}" for w in weekly.columns]
    weekly = weekly.reset_index()
    weekly["code"] = labels_of(weekly["code"])
    return weekly


def timeline_display(timeline: pd.DataFrame, n: int = 15) -> pd.DataFrame:
    """The first `n` observation-log entries for a report: date as text, code as label."""
    d = display_dates(timeline[["date", "week", "code", "note"]].head(n))
    return d.assign(code=labels_of(d["code"]))


def key_points_display(points: pd.DataFrame) -> pd.DataFrame:
    """expert_key_points for a report: plain headers, code labels."""
    d = display_dates(points)
    return pd.DataFrame({"date": d["date"].to_numpy(), "session": d["title"].to_numpy(), "#": d["rank"].to_numpy(),
                         "theme (code)": labels_of(d["code"].str.strip("()")),
                         "key point": d["key_point"].to_numpy()})


def themes_display(themes: pd.DataFrame) -> pd.DataFrame:
    """suggest_themes' table for a report: plain headers, share as a whole percentage."""
    return pd.DataFrame({"theme": themes["theme"].to_numpy(), "label": themes["label"].to_numpy(),
                         "top words": themes["top_terms"].to_numpy(), "texts": themes["texts"].to_numpy(),
                         "share of texts": themes["share"].map(lambda v: f"{v:.0%}").to_numpy(),
                         "example texts": themes["examples"].map(" | ".join).to_numpy()})


def tone_display(summary: pd.DataFrame) -> pd.DataFrame:
    """sentiment_summary for a report: plain headers, shares as whole percentages."""
    def pct(s):
        return s.map(lambda v: "" if pd.isna(v) else f"{v:.0%}").to_numpy()
    return pd.DataFrame({"source": labels_of(summary["group"]),
                         "texts": summary["texts"].to_numpy(), "scored": summary["scored"].to_numpy(),
                         "positive": pct(summary["positive_share"]), "neutral": pct(summary["neutral_share"]),
                         "negative": pct(summary["negative_share"]),
                         "mean tone (-1 to +1)": summary["mean_compound"].round(2).to_numpy()})


_SENT = re.compile(r"(?<=[.!?。！？])\s+|\n+")


def expert_key_points(qd: QualData, n: int = 3, max_chars: int = 220) -> pd.DataFrame:
    """Key points per expert (elders') council session. Coded sessions: the session's most
    frequent codes, each with its most typical excerpt. Uncoded sessions: the `n` most central
    sentences (highest mean TF-IDF weight, an extractive summary)."""
    src = qd.sources[qd.sources["kind"] == "expert_session"]
    cols = ["source_id", "date", "title", "rank", "code", "key_point"]
    if src.empty:
        return pd.DataFrame(columns=cols)
    names = qd.participants["name"].dropna().tolist() if "name" in qd.participants else []
    seg = qd.segments[isin(qd.segments["source_id"], src["source_id"])].dropna(subset=["excerpt"])
    rows = []
    if len(seg):
        counts = seg.groupby(["source_id", "code"]).size().rename("k").reset_index()
        seg = seg.assign(length=seg["excerpt"].astype(str).str.len())
        med = seg.groupby(["source_id", "code"])["length"].transform("median")
        seg = seg.assign(d=(seg["length"] - med).abs()).sort_values(["source_id", "code", "d"])
        best = seg.drop_duplicates(["source_id", "code"])[["source_id", "code", "excerpt"]]
        top = counts.sort_values(["source_id", "k", "code"], ascending=[True, False, True]).groupby("source_id").head(n)
        top = top.merge(best, on=["source_id", "code"])
        top["rank"] = top.groupby("source_id").cumcount() + 1
        rows.append(top.rename(columns={"excerpt": "key_point"})[["source_id", "rank", "code", "key_point"]])
    uncoded = src[~isin(src["source_id"], seg["source_id"])].dropna(subset=["text"])
    if len(uncoded):
        sents = uncoded[["source_id", "text"]].assign(sentence=uncoded["text"].astype(str).str.split(_SENT)).explode("sentence")
        sents["sentence"] = sents["sentence"].astype(str).str.strip()
        sents = sents[sents["sentence"].str.len() >= 20].reset_index(drop=True)
        if len(sents):
            from insight.qual.themes import tfidf_matrix
            mat, _ = tfidf_matrix(sents["sentence"], min_df=1)
            nnz = np.diff(mat.indptr).clip(min=1)
            sents["score"] = np.asarray(mat.sum(axis=1)).ravel() / np.sqrt(nnz)
            top = sents.sort_values(["source_id", "score"], ascending=[True, False]).groupby("source_id").head(n)
            top = top.assign(rank=top.groupby("source_id").cumcount() + 1, code="(uncoded)")
            rows.append(top.rename(columns={"sentence": "key_point"})[["source_id", "rank", "code", "key_point"]])
    if not rows:
        return pd.DataFrame(columns=cols)
    out = pd.concat(rows, ignore_index=True).merge(src[["source_id", "date", "title"]], on="source_id")
    out["key_point"] = shorten(mask_personal(out["key_point"], names), max_chars)
    return out[cols].sort_values(["date", "source_id", "rank"]).reset_index(drop=True)


def uncoded_texts(qd: QualData, kinds) -> pd.DataFrame:
    """Free text of the sources of these kinds (community posts, open ends, complaints), masked:
    source_id, kind, date, text, language ('zh' when it holds CJK characters, else 'en')."""
    src = qd.sources[qd.sources["kind"].isin(list(kinds))].dropna(subset=["text"])
    src = src[src["text"].astype(str).str.strip().ne("")]
    names = qd.participants["name"].dropna().tolist() if "name" in qd.participants else []
    text = mask_personal(src["text"], names)
    return pd.DataFrame({"source_id": src["source_id"].values, "kind": src["kind"].values, "date": src["date"].values,
                         "text": text.values, "language": np.where(has_cjk(text), "zh", "en")})


__all__ = ["display_dates", "customer_voice", "code_order", "frequency_display", "omitted_groups",
           "pairs_display", "probing_display", "probing_summary", "weekly_table", "timeline_display",
           "key_points_display", "themes_display", "tone_display", "probe_yield_display", "reliability_display", "concentration_table", "code_frequency", "frequency_table", "concentration", "co_occurrence", "top_pairs", "saturation_curve",
           "saturation_status", "representative_quotes", "hypothesis_evidence", "evidence_table", "probing_depth", "probe_yield",
           "immersion_timeline", "expert_key_points", "uncoded_texts"]

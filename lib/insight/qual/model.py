"""One model for every qualitative source.

Interviews (1:1, group, phone, video), focus groups, immersion observation logs, expert-council
sessions, community posts, open ends and complaint texts all become the same four canonical
tables of insight.data.schema: `participants`, `qual_sources`, `codebook`, `coded_segments`.
`QualData` holds them together, checks that they agree with each other (every coded segment's code
is in the codebook, every source exists...) and answers the joins every analysis needs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from insight.checks import InputError

from insight.data.schema import QUAL_KINDS, TABLES
from insight.speedups import isin

TABLE_NAMES = ("participants", "qual_sources", "codebook", "coded_segments")
INTERVIEW_KINDS = ("interview_1to1", "group_interview", "phone_interview", "video_interview", "focus_group")
UNCODED_KINDS = ("community_post", "open_end", "complaint_text")
KIND_LABELS = {
    "interview_1to1": "1:1 interview", "group_interview": "group interview (1:many)",
    "phone_interview": "phone interview", "video_interview": "video interview", "focus_group": "focus group",
    "observation_log": "immersion observation log", "expert_session": "expert council session",
    "community_post": "community post", "open_end": "survey open end", "complaint_text": "complaint text",
}


class QualDataError(InputError):
    """Qualitative data that cannot be analysed: the message names the table or file, the column,
    the rows and the fix."""


def _rows(values, limit: int = 5) -> str:
    values = [str(v) for v in values]
    head = ", ".join(values[:limit])
    return head + (f" and {len(values) - limit} more" if len(values) > limit else "")


def empty_table(name: str) -> pd.DataFrame:
    """An empty canonical table with every column of the schema."""
    return pd.DataFrame({c.name: pd.Series(dtype="object") for c in TABLES[name].columns})


def conform(df: pd.DataFrame, name: str, where: str | None = None) -> pd.DataFrame:
    """Add missing optional columns, check required ones, order the columns canonically.

    Raises QualDataError naming the table (and `where`, e.g. the file) when a required column is
    absent."""
    table = TABLES[name]
    where = where or f"table {name}"
    missing = [c for c in table.required if c not in df.columns]
    if missing:
        raise QualDataError(f"{where}: required column(s) {', '.join(missing)} missing from {name} "
                            f"(it has: {', '.join(map(str, df.columns)) or 'no columns'}). Fix: add the column(s) "
                            f"or map your export's column names onto them in params `data.tables.{name}`.")
    out = df.copy()
    for c in table.columns:
        if c.name not in out.columns:
            out[c.name] = pd.Series([None] * len(out), index=out.index, dtype="object")
    extra = [c for c in out.columns if c not in {c.name for c in table.columns}]
    return out[[c.name for c in table.columns] + extra]


@dataclass
class QualData:
    """The four qualitative tables together. Build with `QualData.from_study(study)` or from importers."""
    participants: pd.DataFrame = field(default_factory=lambda: empty_table("participants"))
    sources: pd.DataFrame = field(default_factory=lambda: empty_table("qual_sources"))
    codebook: pd.DataFrame = field(default_factory=lambda: empty_table("codebook"))
    segments: pd.DataFrame = field(default_factory=lambda: empty_table("coded_segments"))
    origin: str = "study"

    @classmethod
    def from_study(cls, study) -> "QualData":
        frames = {n: (study.table(n) if study.has(n) else empty_table(n)) for n in TABLE_NAMES}
        qd = cls(frames["participants"], frames["qual_sources"], frames["codebook"], frames["coded_segments"],
                 origin=f"study {study.name}")
        return qd.prepared()

    def prepared(self, check: bool = True) -> "QualData":
        """Conform every table, fill each segment's participant from its source, then check."""
        where = self.origin
        self.participants = conform(self.participants, "participants", f"{where}: participants")
        self.sources = conform(self.sources, "qual_sources", f"{where}: qual_sources")
        self.codebook = conform(self.codebook, "codebook", f"{where}: codebook")
        self.segments = conform(self.segments, "coded_segments", f"{where}: coded_segments")
        seg = self.segments
        if len(seg) and len(self.sources):
            src_part = self.sources.set_index("source_id")["participant_id"]
            src_part = src_part[~src_part.index.duplicated()]
            fill = seg["source_id"].map(src_part)
            seg["participant_id"] = seg["participant_id"].where(seg["participant_id"].notna(), fill)
        if len(seg):
            seg["is_probe"] = _as_bool(seg["is_probe"])
            seg["turn"] = pd.to_numeric(seg["turn"], errors="coerce").astype("Int64")
        self.segments = seg
        if check:
            self.check()
        return self

    # --- consistency -------------------------------------------------------------------------
    def check(self) -> None:
        """Raise QualDataError listing every inconsistency between the four tables."""
        problems = []
        seg, where = self.segments, self.origin
        if len(seg):
            known = set(self.codebook["code"].dropna().astype(str))
            bad = seg[~seg["code"].astype(str).isin(known)]
            if len(bad):
                codes = sorted(bad["code"].astype(str).unique())
                problems.append(
                    f"{where}: coded_segments.code uses {len(codes)} code(s) missing from the codebook: "
                    f"{_rows(codes)} (rows with segment_id {_rows(bad['segment_id'].unique())}). Fix: add the "
                    "code(s) to the codebook (with a definition), or correct the code in the coding export.")
            if len(self.sources):
                srcs = set(self.sources["source_id"].astype(str))
                bad = seg[~isin(seg["source_id"].astype(str), srcs)]
                if len(bad):
                    problems.append(
                        f"{where}: coded_segments.source_id refers to source(s) missing from qual_sources: "
                        f"{_rows(sorted(bad['source_id'].astype(str).unique()))} (segment_id "
                        f"{_rows(bad['segment_id'].unique())}). Fix: add the sources or correct the source ids.")
        src = self.sources
        if len(src):
            bad = src[~src["kind"].isin(QUAL_KINDS)]
            if len(bad):
                problems.append(
                    f"{where}: qual_sources.kind has unknown value(s) {_rows(sorted(bad['kind'].astype(str).unique()))} "
                    f"(source_id {_rows(bad['source_id'])}). Fix: use one of {', '.join(QUAL_KINDS)}.")
        cb = self.codebook
        if len(cb):
            parents = cb["parent"].dropna().astype(str)
            parents = parents[parents != ""]
            orphan = sorted(set(parents) - set(cb["code"].astype(str)))
            if orphan:
                problems.append(f"{where}: codebook.parent names code(s) not in the codebook: {_rows(orphan)}. "
                                "Fix: add the parent codes as rows of their own, or clear `parent`.")
            dup = cb["code"][cb["code"].duplicated()].astype(str).unique()
            if len(dup):
                problems.append(f"{where}: codebook.code lists {_rows(dup)} more than once. Fix: keep one row per code.")
        if problems:
            raise QualDataError("\n".join(problems))

    def to_files(self, folder, fmt: str = "csv") -> dict[str, "Path"]:
        """Write the four canonical tables (participants.csv, qual_sources.csv, codebook.csv,
        coded_segments.csv; or .parquet) so a study's params can name them under `data.tables`,
        e.g. after importing a REFI-QDA project exported from QualCoder, NVivo or ATLAS.ti.
        In CSV, a text that would run as a spreadsheet formula when the file is opened in Excel
        (=, +, -, @ first) is written with a leading apostrophe (insight.safety.spreadsheet_safe)."""
        from pathlib import Path
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        out = {}
        for name, df in (("participants", self.participants), ("qual_sources", self.sources),
                         ("codebook", self.codebook), ("coded_segments", self.segments)):
            path = folder / f"{name}.{fmt}"
            if fmt == "csv":
                from insight.safety import spreadsheet_safe
                spreadsheet_safe(df).to_csv(path, index=False, encoding="utf-8")
            elif fmt == "parquet":
                df.to_parquet(path, index=False)
            else:
                raise ValueError("fmt must be 'csv' or 'parquet'")
            out[name] = path
        return out

    # --- joins ---------------------------------------------------------------------------------
    def primary(self, coder: str | None = None) -> "QualData":
        """One coder's codes per segment, for counting: where a segment was coded by several coders
        (for reliability), keep the `coder`'s codes, else those of the coder who coded most segments.
        Double coding then neither inflates frequencies nor adds codes only a second coder saw."""
        seg = self.segments
        if seg.empty or seg["coder"].nunique() < 2:
            return self
        counts = seg.drop_duplicates(["segment_id", "coder"])["coder"].value_counts()
        order = list(counts.index)
        if coder is not None:
            if coder not in order:
                raise QualDataError(f"{self.origin}: primary coder {coder!r} never coded a segment (coders: "
                                    f"{', '.join(order)}). Fix: correct params `qualitative.primary_coder`.")
            order = [coder] + [c for c in order if c != coder]
        rank = seg["coder"].map({c: i for i, c in enumerate(order)})
        keep = rank == rank.groupby(seg["segment_id"]).transform("min")
        return QualData(self.participants, self.sources, self.codebook, seg[keep], origin=self.origin)

    def kinds(self, kinds) -> "QualData":
        """The subset whose sources are of these kinds (segments follow their sources)."""
        kinds = list(kinds)
        src = self.sources[self.sources["kind"].isin(kinds)]
        seg = self.segments[isin(self.segments["source_id"], src["source_id"])]
        return QualData(self.participants, src, self.codebook, seg, origin=self.origin)

    def coded_participants(self) -> pd.DataFrame:
        """Distinct (participant_id, code) pairs: a participant 'has' a code when any coder coded it
        in any of their segments."""
        seg = self.segments.dropna(subset=["participant_id"])
        return seg[["participant_id", "code"]].drop_duplicates()

    def base_participants(self) -> pd.Series:
        """Participants who took part in at least one of these sources (the base of frequencies),
        whether or not any segment of theirs was coded. Sorted by pandas, in the order sorted() gives
        (code points) without a Python step per participant."""
        ids = pd.concat([self.sources["participant_id"], self.segments["participant_id"]]).dropna()
        return pd.Series(ids.astype(str).unique(), name="participant_id").sort_values(ignore_index=True)

    def participant_attributes(self, attributes) -> pd.DataFrame:
        """The base participants with the requested attributes ('unknown' where missing)."""
        base = self.base_participants().to_frame()
        attrs = [a for a in attributes if a in self.participants.columns]
        p = self.participants[["participant_id", *attrs]].drop_duplicates("participant_id")
        p = p.assign(participant_id=p["participant_id"].astype(str))
        out = base.merge(p, on="participant_id", how="left")
        for a in attrs:
            out[a] = out[a].astype("object").where(out[a].notna(), "unknown").astype(str)
        return out

    def code_labels(self) -> dict[str, str]:
        from insight.labels import label
        return {c: label(c) for c in self.codebook["code"].astype(str)}

    @property
    def n_participants(self) -> int:
        return len(self.base_participants())

    def summary(self) -> pd.DataFrame:
        """Sources by kind: number of sources, participants, coded segments and coders."""
        src = self.sources.assign(date=pd.to_datetime(self.sources["date"], errors="coerce"))
        seg = self.segments.merge(src[["source_id", "kind"]], on="source_id", how="left")
        by = pd.DataFrame({"kind": list(QUAL_KINDS)})
        s = src.groupby("kind").agg(sources=("source_id", "nunique"), first=("date", "min"), last=("date", "max"))
        people = pd.concat([src[["kind", "participant_id"]], seg[["kind", "participant_id"]]]).dropna()
        s["participants"] = people.drop_duplicates().groupby("kind").size()
        g = seg.groupby("kind").agg(coded_segments=("segment_id", "nunique"), coders=("coder", "nunique"))
        out = by.merge(s, left_on="kind", right_index=True, how="left").merge(g, left_on="kind", right_index=True, how="left")
        out = out[out["sources"].fillna(0) > 0].copy()
        for c in ("sources", "participants", "coded_segments", "coders"):
            out[c] = out[c].fillna(0).astype(int)
        for c in ("first", "last"):
            out[c] = out[c].dt.strftime("%Y-%m-%d")
        out["kind"] = out["kind"].map(KIND_LABELS)
        out = out[["kind", "sources", "participants", "first", "last", "coded_segments", "coders"]].reset_index(drop=True)
        return out.rename(columns={"first": "first date", "last": "last date", "coded_segments": "coded excerpts"})


def _as_bool(s: pd.Series) -> pd.Series:
    """True/False from booleans, 0/1 or text (true/yes/1); missing is False."""
    if pd.api.types.is_bool_dtype(s):
        return s.fillna(False).astype(bool)
    text = s.astype("object").where(s.notna(), "").astype(str).str.strip().str.lower()
    return text.isin(["true", "1", "1.0", "yes", "y"])


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\w)(?:\+?\d[\d\s().-]{7,}\d)(?!\w)")
_URL = re.compile(r"https?://\S+")


def mask_personal(text: pd.Series | str, names=()) -> pd.Series | str:
    """Mask e-mail addresses, phone numbers, URLs and the given personal names in free text
    (vectorised over a Series). The result is still raw text: escape it on display."""
    single = isinstance(text, str)
    s = pd.Series([text]) if single else text.astype("object").where(text.notna(), "").astype(str)
    s = s.str.replace(_URL, "[link]", regex=True)
    try:  # the data layer's masking (careful phone rules) when present
        from insight.data.pii import mask_series
        s = mask_series(s)[0].astype("object").fillna("").astype(str)
    except ImportError:  # pragma: no cover
        s = s.str.replace(_EMAIL, "[email]", regex=True).str.replace(_PHONE, "[phone]", regex=True)
    names = sorted({str(n).strip() for n in names if isinstance(n, str) and len(str(n).strip()) >= 3}, key=len, reverse=True)
    if names:
        pattern = re.compile(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b", flags=re.IGNORECASE)
        s = s.str.replace(pattern, "[name]", regex=True)
        # first names alone too (a participant introduces themselves by first name)
        firsts = sorted({n.split()[0] for n in names if len(n.split()) > 1 and len(n.split()[0]) >= 3}, key=len, reverse=True)
        if firsts:
            s = s.str.replace(re.compile(r"\b(?:" + "|".join(map(re.escape, firsts)) + r")\b"), "[name]", regex=True)
    return s.iloc[0] if single else s


def shorten(text: pd.Series, max_chars: int) -> pd.Series:
    """Cut texts longer than max_chars at a word boundary, adding an ellipsis."""
    s = text.astype(str).str.replace(r"\s+", " ", regex=True).str.strip()
    long = s.str.len() > max_chars
    cut = s[long].str.slice(0, max_chars).str.replace(r"\s+\S*$", "", regex=True) + " …"
    s.loc[long] = cut
    return s


def has_cjk(text: pd.Series) -> pd.Series:
    return text.astype(str).str.contains(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]", regex=True)


__all__ = ["QualData", "QualDataError", "INTERVIEW_KINDS", "UNCODED_KINDS", "KIND_LABELS", "empty_table",
           "conform", "mask_personal", "shorten", "has_cjk"]

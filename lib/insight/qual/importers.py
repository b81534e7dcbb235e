"""Import qualitative material from what analysts really have, into the canonical tables.

- plain-text or Markdown transcripts with speaker turns ("Interviewer: ...", "**P03:** ...",
  "[00:12:04] Moderator: ..."), with optional YAML front matter (participant, date, kind, title);
- CSV exports of highlights/tags (Taguette, Dovetail and similar: one row per highlight);
- the REFI-QDA exchange formats: codebook `.qdc` (import and export) and project `.qdpx` (import),
  so coding can happen in QualCoder, NVivo, ATLAS.ti, MAXQDA or Taguette and the analysis here.

Every importer raises `QualImportError` naming the file, what is wrong and how to fix it.
"""
from __future__ import annotations

import io
import re
import uuid
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd
import yaml

from insight.checks import load_yaml
from insight.config.qual import PROBE_PHRASES
from insight.data.schema import QUAL_KINDS
from insight.qual.model import QualData, QualDataError, _rows, conform, empty_table

QDC_NS = "urn:QDA-XML:codebook:1.0"
QDE_NS = "urn:QDA-XML:project:1.0"
HYPOTHESIS_SET = "hypothesis:"
_GUID_NS = uuid.UUID("6f1b2a7e-3c4d-4e5f-8a9b-0c1d2e3f4a5b")
INTERVIEWER_LABELS = ("interviewer", "moderator", "facilitator", "researcher", "interviewer (probe)", "i", "q",
                      "int", "mod", "访谈者", "主持人", "采访者", "研究员")
DEFAULT_PROBE_PHRASES = PROBE_PHRASES
MAX_MEMBER_BYTES = 200_000_000   # an archive member we read (project.qde, a text source), uncompressed
MAX_RATIO = 200                  # uncompressed / compressed above this (and over 10 MB) is a zip bomb
MAX_MEMBERS = 100_000

class QualImportError(QualDataError):
    """A file that cannot be imported: the message names the file, the problem and the fix."""


# --- text files ---------------------------------------------------------------------------------

def read_text(path: str | Path, encoding: str | None = None) -> str:
    """A text file's content. UTF-8 (with or without BOM) and UTF-16 with a BOM are read as is;
    any other encoding must be named, else QualImportError says which one the file looks like."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise QualImportError(f"{path}: cannot read the file ({exc.strerror}). Fix: check the path.") from None
    return decode_bytes(raw, str(path), encoding)


def decode_bytes(raw: bytes, name: str, encoding: str | None = None) -> str:
    if encoding:
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise QualImportError(f"{name}: cannot be read as {encoding} ({exc}). Fix: give the file's real encoding, "
                                  "or save it as UTF-8.") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        guess = None
        try:
            from charset_normalizer import from_bytes
            best = from_bytes(raw).best()
            guess = best.encoding if best is not None else None
        except Exception:  # pragma: no cover - the guess is only a hint
            guess = None
        hint = f" It looks like {guess}." if guess else ""
        raise QualImportError(
            f"{name}: not UTF-8 text (byte {raw[exc.start:exc.start + 1]!r} at position {exc.start} cannot be "
            f"decoded).{hint} Fix: save the transcript as UTF-8 (in most editors: Save As > Encoding: UTF-8), "
            f"or pass encoding=\"{guess or 'cp1252'}\" to the importer.") from None


def split_front_matter(text: str) -> tuple[dict, str]:
    """YAML front matter between '---' lines at the top of a Markdown file, and the rest."""
    m = re.match(r"\A---\s*\n(.*?)\n---\s*\n", text, flags=re.S)
    if not m:
        return {}, text
    try:
        meta = load_yaml(m.group(1)) or {}
    except yaml.YAMLError:
        return {}, text
    return (meta if isinstance(meta, dict) else {}), text[m.end():]


# After a speaker's first letter, up to 38 more of [\w .'’()\-] up to the first place where '**' or '__',
# spaces and a colon follow: the shortest such speaker, as the lazy [\w .'’()\-]{0,38}? finds, but without
# trying the rest of the pattern after every character. Only a space or '_' can begin that ending, so
# only they look ahead; nothing shorter could end there, so the repeat never gives characters back (+).
_SPEAKER_REST = r"(?:[^\W_]|[.'’()\-]|_(?!_[ \t]*[:：])| (?![ \t]*[:：])){0,38}+"
_TURN = re.compile(
    r"^[ \t]*(?:[-*>][ \t]+)?"                       # Markdown list/quote marker
    r"(?:\[?\(?(?P<ts>\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?)\)?\]?[ \t]*)?"   # [00:12:04]
    r"(?:\*\*|__)?(?P<speaker>[^\W\d_]" + _SPEAKER_REST + r"|[\u4e00-\u9fff]{1,8}(?:\s*\d+)?)(?:\*\*|__)?"
    r"[ \t]*[:：][ \t]*(?:\*\*|__)?[ \t]*(?P<text>.*)$")


def _turn_rows(text: str) -> list[dict]:
    """The speaker turns of one transcript as dicts (speaker, text, start, end), by its lines."""
    cols: dict[str, list] = {"speaker": [], "text": [], "start": [], "end": []}
    _turns_into(text, cols)
    return [dict(zip(cols, r)) for r in zip(*cols.values())]


def _turns_into(text: str, cols: dict[str, list]) -> int:
    """Append the speaker turns of one transcript to the lists cols['speaker'], ['text'], ['start'],
    ['end'] (columns rather than a dict per turn: one pass over the lines of thousands of transcripts);
    returns how many. A line 'Speaker: ...' starts a turn; any other non-blank line continues the
    current one; lines starting with '#' are headings. Blank lines are skipped before the pattern: they
    can neither match it (it needs a speaker and a colon) nor continue a turn."""
    speakers, texts, starts, ends = cols["speaker"], cols["text"], cols["start"], cols["end"]
    first = len(speakers)
    match = _TURN.match
    pos = 0
    for line in text.splitlines(keepends=True):
        stripped = line.rstrip("\r\n")
        body = stripped.strip()
        if body and not body.startswith("#"):
            m = match(stripped)
            speaker = m.group("speaker").strip() if m else ""
            if m and 0 < len(speaker.split()) <= 4:
                speakers.append(speaker)
                texts.append(m.group("text"))
                starts.append(pos + m.start("text"))
                ends.append(pos + len(stripped))
            elif len(speakers) > first:
                texts[-1] += "\n" + body
                ends[-1] = pos + len(stripped)
        pos += len(line)
    return len(speakers) - first


def _classify_turns(df: pd.DataFrame, probe_phrases, interviewer_labels, doc=None) -> pd.DataFrame:
    """Roles and probes of turns (vectorised; `doc` keys the transcript of each row when the frame
    holds several, so that an answer only follows a probe of its own transcript)."""
    labels = {x.lower() for x in interviewer_labels}
    phrases = tuple(p.lower() for p in probe_phrases)
    label = df["speaker"].str.lower()
    bracket = _containing(df["text"], "[")      # '[probe]' can only open a text that has a '['
    tagged = np.zeros(len(df), dtype=bool)
    if bracket.any():
        tagged[bracket] = df["text"][bracket].str.match(r"\s*\[probe\]", case=False).to_numpy(dtype=bool)
    marked = label.str.contains("probe", regex=False) | tagged
    # what follows a '(' or '[' of a label is dropped: only labels with one are rewritten (re.sub one by
    # one; the others are what the substitution would return unchanged)
    base_label = _where_any(label, "([", lambda x: x.str.replace(r"\s*[(\[].*$", "", regex=True)).str.strip()
    is_int = base_label.isin(labels) | label.isin(labels)
    starts = df["text"].str.lower().str.lstrip().str.startswith(phrases) if phrases else False
    df["role"] = is_int.map({True: "interviewer", False: "participant"})
    probe_q = is_int & (marked | starts)
    follows = probe_q.shift(1, fill_value=False) & ~is_int
    if doc is not None:
        follows &= doc == doc.shift(1)
    df["is_probe"] = (probe_q | follows).astype(bool)
    df["text"] = _where_any(df["text"], "[", lambda x: x.str.replace(r"^\s*\[probe\]\s*", "", regex=True, case=False))
    return df


def _containing(x: pd.Series, chars: str) -> np.ndarray:
    """Whether each value contains one of `chars` (vectorised substring tests)."""
    has = np.zeros(len(x), dtype=bool)
    for c in chars:
        has |= x.str.contains(c, regex=False).fillna(False).to_numpy(dtype=bool)
    return has


def _where_any(x: pd.Series, chars: str, change) -> pd.Series:
    """change(x) computed only on the values containing one of `chars` (a pattern that needs one of
    them to match leaves every other value as it is): the same Series, without a Python regex call per value."""
    has = _containing(x, chars)
    if has.all():
        return change(x)
    out = x.copy()
    if has.any():
        out[has] = change(x[has])
    return out


def parse_transcript(text: str, probe_phrases=DEFAULT_PROBE_PHRASES,
                     interviewer_labels=INTERVIEWER_LABELS) -> pd.DataFrame:
    """Speaker turns of a transcript: turn (1-based), speaker, role (interviewer|participant),
    text, is_probe, start, end (character offsets of the turn's text in `text`).

    A turn starts at a line 'Speaker: ...' (speaker up to four words, optionally bold, optionally
    after a timestamp); other lines continue the current turn. An interviewer turn is a probe when
    its label says so ('Interviewer (probe):'), it starts with '[probe]', or it starts with one of
    `probe_phrases`; a participant turn is a probe answer when it follows a probe."""
    rows = _turn_rows(text)
    if not rows:
        return pd.DataFrame(columns=["turn", "speaker", "role", "text", "is_probe", "start", "end"])
    df = _classify_turns(pd.DataFrame(rows), probe_phrases, interviewer_labels)
    df["turn"] = range(1, len(df) + 1)
    return df[["turn", "speaker", "role", "text", "is_probe", "start", "end"]]


def parse_transcripts(texts, probe_phrases=DEFAULT_PROBE_PHRASES,
                      interviewer_labels=INTERVIEWER_LABELS) -> pd.DataFrame:
    """parse_transcript of many transcripts at once (one vectorised pass instead of one small
    DataFrame per transcript): the same columns plus `doc`, the position of the transcript in
    `texts`. Missing or blank texts have no turns."""
    found: dict[str, list] = {"speaker": [], "text": [], "start": [], "end": []}
    docs = []
    for i, text in enumerate(texts):
        if isinstance(text, str) and text.strip():
            docs += [i] * _turns_into(text, found)
    cols = ["doc", "turn", "speaker", "role", "text", "is_probe", "start", "end"]
    if not docs:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame(found)
    doc = pd.Series(docs, index=df.index)
    df = _classify_turns(df, probe_phrases, interviewer_labels, doc=doc)
    df["doc"] = doc
    df["turn"] = df.groupby("doc").cumcount() + 1
    return df[cols]


def _as_date(value, default=None):
    if value is None or value == "":
        return default
    try:
        return pd.Timestamp(value).normalize()
    except (ValueError, TypeError):
        return default


def import_transcripts(paths, kind: str = "interview_1to1", date=None, encoding: str | None = None,
                       probe_phrases=DEFAULT_PROBE_PHRASES) -> dict[str, pd.DataFrame]:
    """Plain-text or Markdown transcripts into `qual_sources` (one row per file) and `turns`
    (one row per speaker turn: source_id, turn, speaker, role, text, is_probe).

    source_id is the file name without extension; front matter keys `source_id`, `participant`
    (participant_id), `date`, `kind` and `title` override the defaults; a date in the file name
    (YYYY-MM-DD) is used when there is none."""
    if isinstance(paths, (str, Path)):
        p = Path(paths)
        paths = sorted([*p.glob("*.txt"), *p.glob("*.md")]) if p.is_dir() else [p]
    src_rows, turn_frames = [], []
    for path in map(Path, paths):
        meta, body = split_front_matter(read_text(path, encoding))
        k = str(meta.get("kind", kind))
        if k not in QUAL_KINDS:
            raise QualImportError(f"{path}: unknown kind {k!r}. Fix: write one of {', '.join(QUAL_KINDS)} "
                                  "(front matter `kind:` or the importer's kind=).")
        m = re.search(r"(\d{4}-\d{2}-\d{2})", path.stem)
        d = _as_date(meta.get("date"), _as_date(m.group(1)) if m else _as_date(date))
        if d is None:
            raise QualImportError(f"{path}: no date for this source. Fix: add `date: YYYY-MM-DD` to the front matter, "
                                  "put the date in the file name, or pass date= to the importer.")
        sid = str(meta.get("source_id", path.stem))
        turns = parse_transcript(body, probe_phrases)
        if turns.empty and k in ("interview_1to1", "group_interview", "phone_interview", "video_interview", "focus_group"):
            raise QualImportError(f"{path}: no speaker turns found. Fix: start each turn on a new line with the "
                                  "speaker and a colon, e.g. 'Interviewer: ...' then 'Participant: ...'.")
        src_rows.append({"source_id": sid, "kind": k, "date": d, "participant_id": meta.get("participant"),
                         "title": meta.get("title", path.stem), "text": body})
        turn_frames.append(turns.assign(source_id=sid))
    sources = conform(pd.DataFrame(src_rows), "qual_sources", "transcripts") if src_rows else empty_table("qual_sources")
    turns = pd.concat(turn_frames, ignore_index=True) if turn_frames else pd.DataFrame(
        columns=["source_id", "turn", "speaker", "role", "text", "is_probe", "start", "end"])
    return {"qual_sources": sources, "turns": turns}


_ENTRY = re.compile(r"^##\s+(\d{4}-\d{2}-\d{2})\b.*$", flags=re.M)
_CODES_LINE = re.compile(r"^\s*codes?\s*:\s*(.*)$", flags=re.I | re.M)


def import_observation_log(path: str | Path, encoding: str | None = None, coder: str = "observer") -> dict[str, pd.DataFrame]:
    """An immersion observation log (Markdown diary, see templates/instruments/observation_log.md)
    into `qual_sources` (one observation_log row per '## YYYY-MM-DD' entry) and `coded_segments`
    (one row per code named on an entry's 'Codes: a, b' line; the excerpt is the entry's text).
    Headings that are not dates (weekly summaries, hand-back) are left out."""
    path = Path(path)
    meta, body = split_front_matter(read_text(path, encoding))
    heads = list(_ENTRY.finditer(body))
    if not heads:
        raise QualImportError(f"{path}: no dated entries. Fix: start each entry with a heading '## YYYY-MM-DD' "
                              "(see templates/instruments/observation_log.md).")
    src_rows, seg_rows = [], []
    seen: dict[str, int] = {}
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(body)
        chunk = body[m.end():end]
        nxt = re.search(r"^#{1,2}\s", chunk, flags=re.M)          # a non-date heading ends the entry
        chunk = chunk[:nxt.start()] if nxt else chunk
        codes_m = _CODES_LINE.search(chunk)
        codes = [c.strip() for c in re.split(r"[,;]", codes_m.group(1)) if c.strip()] if codes_m else []
        text = _CODES_LINE.sub("", chunk).strip()
        day = m.group(1)
        seen[day] = seen.get(day, 0) + 1
        sid = f"{path.stem}-{day}" + (f"-{seen[day]}" if seen[day] > 1 else "")
        date = _as_date(day)
        if date is None:
            raise QualImportError(f"{path}: entry heading '{m.group(0).strip()}' is not a real date. Fix: write YYYY-MM-DD.")
        src_rows.append({"source_id": sid, "kind": "observation_log", "date": date,
                         "participant_id": meta.get("participant"), "title": f"Observation log {day}", "text": text})
        for c in codes:
            seg_rows.append({"segment_id": sid, "source_id": sid, "participant_id": None, "coder": coder, "code": c,
                             "excerpt": text, "turn": None, "is_probe": False})
    sources = conform(pd.DataFrame(src_rows), "qual_sources", str(path))
    segments = conform(pd.DataFrame(seg_rows), "coded_segments", str(path)) if seg_rows else empty_table("coded_segments")
    return {"qual_sources": sources, "coded_segments": segments}


# --- highlight/tag CSV exports ------------------------------------------------------------------

_ALIASES = {
    "excerpt": ("excerpt", "content", "highlight", "text", "quote", "highlight text", "selection"),
    "code": ("code", "codes", "tag", "tags", "label", "labels"),
    "source_id": ("source_id", "document", "document name", "note", "note title", "source", "transcript",
                  "file", "interview"),
    "coder": ("coder", "author", "created by", "user", "owner", "creator"),
    "participant_id": ("participant_id", "participant", "respondent", "speaker", "customer"),
    "segment_id": ("segment_id", "id", "highlight id"),
    "turn": ("turn",),
    "is_probe": ("is_probe", "probe"),
}


def import_highlights_csv(path: str | Path, coder: str | None = None, encoding: str | None = None,
                          codebook: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """A CSV export of highlights/tags (Taguette: id, document, tag, content; Dovetail and others:
    Highlight, Tags, Note title, Created by...) into `coded_segments` and a `codebook`.

    Several tags in one cell (comma or semicolon separated) give one row per tag. When `codebook`
    is given every tag must be in it; otherwise the tags seed a new codebook."""
    path = Path(path)
    text = read_text(path, encoding)
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise QualImportError(f"{path}: not a readable CSV ({exc}). Fix: export the highlights again as CSV.") from None
    lower = {c.strip().lower(): c for c in raw.columns}
    picked = {}
    for canon, aliases in _ALIASES.items():
        for a in aliases:
            if a in lower and lower[a] not in picked.values():
                picked[canon] = lower[a]
                break
    missing = [c for c in ("excerpt", "code", "source_id") if c not in picked]
    if missing:
        raise QualImportError(
            f"{path}: no column for {', '.join(missing)} (columns: {', '.join(raw.columns)}). Fix: rename the "
            f"columns, e.g. " + "; ".join(f"{m} <- one of {', '.join(_ALIASES[m][:4])}" for m in missing) + ".")
    df = pd.DataFrame({canon: raw[col] for canon, col in picked.items()})
    if "segment_id" not in df:
        df["segment_id"] = [f"{path.stem}-{i + 1}" for i in range(len(df))]
    if "coder" not in df or coder:
        df["coder"] = coder or path.stem
    df["code"] = df["code"].str.split(r"[;,]")
    df = df.explode("code")
    df["code"] = df["code"].str.strip()
    df = df[df["code"].ne("") & df["code"].notna()]
    if "turn" in df:
        df["turn"] = pd.to_numeric(df["turn"], errors="coerce").astype("Int64")
    if "is_probe" in df:
        df["is_probe"] = df["is_probe"].str.lower().isin(["1", "true", "yes", "y"])
    df = df.replace({"": None})
    segments = conform(df.drop_duplicates(["segment_id", "coder", "code"]).reset_index(drop=True), "coded_segments", str(path))
    if codebook is None:
        codebook = conform(pd.DataFrame({"code": sorted(segments["code"].unique())}), "codebook", str(path))
    else:
        unknown = sorted(set(segments["code"]) - set(codebook["code"]))
        if unknown:
            rows = segments.index[segments["code"].isin(unknown)] + 2
            raise QualImportError(f"{path}: tag(s) {_rows(unknown)} are not in the codebook (CSV lines "
                                  f"{_rows(rows.tolist())}). Fix: add them to the codebook or correct the tags.")
    return {"coded_segments": segments, "codebook": codebook}


# --- REFI-QDA: codebook .qdc ------------------------------------------------------------------

def code_guid(code: str) -> str:
    """A stable GUID per code name, so re-exports of the same codebook are identical."""
    return str(uuid.uuid5(_GUID_NS, code)).upper()


def _split_ids(value) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    return [x.strip() for x in str(value).split(",") if x.strip()]


def normalise_codebook(cb: pd.DataFrame) -> pd.DataFrame:
    """Canonical form for comparisons: one row per code sorted by code, empty strings as None,
    hypothesis ids sorted and comma-joined."""
    out = conform(cb, "codebook")[["code", "parent", "definition", "hypotheses"]]
    clean = {c: [_text_or_none(v) for v in out[c]] for c in ("code", "parent", "definition")}
    clean["hypotheses"] = [",".join(sorted(_split_ids(v))) or None for v in out["hypotheses"]]
    res = pd.DataFrame(clean, dtype="object")
    return res.sort_values("code").reset_index(drop=True)


def _text_or_none(v):
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
        return None
    v = str(v).strip()
    return v or None


def codebook_xml(cb: pd.DataFrame, origin: str = "insight workbook") -> bytes:
    """The codebook as REFI-QDA codebook XML (.qdc): nested Code elements (children inside their
    parent) with Description = definition; linked hypotheses as Sets named 'hypothesis:<id>'."""
    cb = normalise_codebook(cb)
    ET.register_namespace("", QDC_NS)
    q = lambda tag: f"{{{QDC_NS}}}{tag}"  # noqa: E731
    root = ET.Element(q("CodeBook"), {"origin": origin})
    codes_el = ET.SubElement(root, q("Codes"))
    children: dict[str | None, list] = {}
    known = set(cb["code"])
    for r in cb.itertuples(index=False):
        parent = r.parent if r.parent in known and r.parent != r.code else None
        children.setdefault(parent, []).append(r)

    def add(parent_el, row, seen):
        el = ET.SubElement(parent_el, q("Code"), {"guid": code_guid(row.code), "name": row.code, "isCodable": "true"})
        if row.definition:
            ET.SubElement(el, q("Description")).text = row.definition
        for child in children.get(row.code, []):
            if child.code not in seen:
                add(el, child, seen | {child.code})

    for r in children.get(None, []):
        add(codes_el, r, {r.code})
    hyp: dict[str, list[str]] = {}
    for r in cb.itertuples(index=False):
        for h in _split_ids(r.hypotheses):
            hyp.setdefault(h, []).append(r.code)
    if hyp:
        sets_el = ET.SubElement(root, q("Sets"))
        for h in sorted(hyp):
            s = ET.SubElement(sets_el, q("Set"), {"guid": code_guid(HYPOTHESIS_SET + h), "name": HYPOTHESIS_SET + h})
            ET.SubElement(s, q("Description")).text = f"codes linked to hypothesis {h}"
            for c in hyp[h]:
                ET.SubElement(s, q("MemberCode"), {"targetGUID": code_guid(c)})
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_qdc(cb: pd.DataFrame, path: str | Path, origin: str = "insight workbook") -> Path:
    """Export the codebook as a REFI-QDA .qdc file (importable in QualCoder, NVivo, ATLAS.ti, MAXQDA)."""
    path = Path(path)
    path.write_bytes(codebook_xml(cb, origin))
    return path


def _parse_xml(data: bytes, name: str):
    from defusedxml.ElementTree import fromstring, ParseError
    try:
        root = fromstring(data)
    except ParseError as exc:
        raise QualImportError(f"{name}: not well-formed XML ({exc}). Fix: export it again from your QDA software; "
                              "do not edit the XML by hand.") from None
    except Exception as exc:  # defusedxml refuses entity tricks
        from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
        if isinstance(exc, (EntitiesForbidden, DTDForbidden, ExternalReferenceForbidden)):
            raise QualImportError(
                f"{name}: XML refused: it declares entities or external references ({exc}), which REFI-QDA files "
                "never need and which can exhaust memory or read other files. Fix: export it again from your QDA "
                "software; do not open files of unknown origin.") from None
        raise QualImportError(f"{name}: XML refused ({type(exc).__name__}: {exc}). Fix: export it again.") from None
    for el in root.iter():  # local names: namespaces differ between tools and versions
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]
    return root


def _codes_from(codebook_el, name: str) -> tuple[pd.DataFrame, dict[str, str]]:
    rows, guids = [], {}
    codes_el = codebook_el.find("Codes")
    if codes_el is None:
        return empty_table("codebook"), guids

    def walk(el, parent):
        for code in el.findall("Code"):
            cname, guid = code.get("name"), code.get("guid")
            if not cname:
                raise QualImportError(f"{name}: a Code element (guid {guid}) has no name. Fix: name every code.")
            desc = code.find("Description")
            rows.append({"code": cname, "parent": parent,
                         "definition": (desc.text or "").strip() or None if desc is not None else None,
                         "hypotheses": None})
            if guid:
                guids[guid.upper()] = cname
            walk(code, cname)

    walk(codes_el, None)
    cb = pd.DataFrame(rows, columns=["code", "parent", "definition", "hypotheses"])
    sets_el = codebook_el.find("Sets")
    if sets_el is not None and len(cb):
        links: dict[str, list[str]] = {}
        for s in sets_el.findall("Set"):
            sname = s.get("name") or ""
            if not sname.startswith(HYPOTHESIS_SET):
                continue
            for m in s.findall("MemberCode"):
                code = guids.get((m.get("targetGUID") or "").upper())
                if code:
                    links.setdefault(code, []).append(sname[len(HYPOTHESIS_SET):])
        cb["hypotheses"] = cb["code"].map(lambda c: ",".join(sorted(links[c])) if c in links else None)
    dup = cb["code"][cb["code"].duplicated()].unique()
    if len(dup):
        raise QualImportError(f"{name}: code name(s) {_rows(dup)} appear more than once. Fix: rename them so "
                              "every code name is unique (the analysis joins on names).")
    return conform(cb, "codebook", name), guids


def read_qdc(path: str | Path) -> pd.DataFrame:
    """A REFI-QDA codebook (.qdc) as the canonical codebook table (code, parent, definition,
    hypotheses from Sets named 'hypothesis:<id>')."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise QualImportError(f"{path}: cannot read the file ({exc.strerror}). Fix: check the path.") from None
    root = _parse_xml(data, str(path))
    if root.tag != "CodeBook":
        raise QualImportError(f"{path}: the root element is <{root.tag}>, not <CodeBook>. Fix: export the codebook "
                              "as a REFI-QDA codebook (.qdc); a project export is a .qdpx file (use read_qdpx).")
    cb, _ = _codes_from(root, str(path))
    return cb


# --- REFI-QDA: project .qdpx ------------------------------------------------------------------

def _check_archive(zf: zipfile.ZipFile, name: str) -> None:
    """Refuse archives no QDA software writes: member paths that climb out of the archive or are
    absolute (a later extraction would write elsewhere), and absurd member counts."""
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise QualImportError(f"{name}: the archive holds {len(infos):,} files, more than any REFI-QDA project "
                              f"(limit {MAX_MEMBERS:,}). Fix: export the project again.")
    for info in infos:
        parts = info.filename.replace("\\", "/").split("/")
        if info.filename.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", info.filename):
            raise QualImportError(f"{name}: the archive entry {info.filename!r} has a path outside the archive "
                                  "('..' or absolute), which REFI-QDA exports never contain. Fix: export the project "
                                  "again from your QDA software; do not use an archive of unknown origin.")


def _read_member(zf: zipfile.ZipFile, member: str, name: str) -> bytes:
    """One archive member's bytes, refusing a zip bomb (a huge or absurdly compressed member) before
    decompressing it. zipfile never returns more than the size the entry declares."""
    info = zf.getinfo(member)
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > MAX_MEMBER_BYTES or (info.file_size > 10_000_000 and ratio > MAX_RATIO):
        raise QualImportError(f"{name}: the archive member {member!r} unpacks to {info.file_size / 1e6:,.0f} MB "
                              f"({ratio:,.0f} times its packed size): a zip bomb, not a REFI-QDA export. Fix: export "
                              "the project again from your QDA software.")
    try:
        return zf.read(member)
    except Exception as exc:  # noqa: BLE001 - BadZipFile (bad CRC, a size header that lies), zlib.error, ...
        raise QualImportError(f"{name}: the archive member {member!r} cannot be unpacked ({type(exc).__name__}: "
                              f"{exc}). Fix: export the project again from your QDA software.") from None


def _date_of(value: str | None):
    if not value:
        return None
    try:
        return pd.Timestamp(value).tz_localize(None).normalize() if pd.Timestamp(value).tzinfo else pd.Timestamp(value).normalize()
    except (ValueError, TypeError):
        return None


PARTICIPANT_VARIABLES = ("segment", "region", "role", "customer_status", "gender", "age_band", "customer_id")


def read_qdpx(path: str | Path, kind: str = "interview_1to1", kinds: dict[str, str] | None = None,
              probe_phrases=DEFAULT_PROBE_PHRASES, check: bool = True) -> QualData:
    """A REFI-QDA project (.qdpx: a zip with project.qde and a Sources folder) as QualData.

    - codebook from CodeBook/Codes (nested codes give parents);
    - one qual_sources row per TextSource (text from PlainTextContent or the internal file named by
      plainTextPath), kind from `kinds[source name]` else `kind`, date from creationDateTime;
    - participants from Cases (case name = participant_id; case variables named like participant
      columns, e.g. segment or customer_status, fill them); a source belongs to the case that refers to it;
    - one coded_segments row per Coding of a PlainTextSelection: segment_id is source:start-end so
      that two coders' codings of the same span meet for reliability; coder = the coding's user name;
      turn and is_probe from the transcript's speaker turns."""
    path = Path(path)
    name = str(path)
    kinds = kinds or {}
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise QualImportError(f"{name}: file not found. Fix: check the path.") from None
    except zipfile.BadZipFile:
        raise QualImportError(f"{name}: not a REFI-QDA project: a .qdpx file is a zip archive and this one is not. "
                              "Fix: export the project again (REFI-QDA / QDPX export of your QDA software); "
                              "a codebook alone is a .qdc file (use read_qdc).") from None
    with zf:
        _check_archive(zf, name)
        members = {m.lower(): m for m in zf.namelist()}
        qde = next((members[m] for m in members if m.endswith(".qde") and "/" not in m.strip("/")), None)
        if qde is None:
            raise QualImportError(f"{name}: the archive has no project.qde (it holds: {_rows(zf.namelist())}). "
                                  "Fix: export the project again as REFI-QDA .qdpx; the archive must contain project.qde.")
        root = _parse_xml(_read_member(zf, qde, name), f"{name}:{qde}")
        if root.tag != "Project":
            raise QualImportError(f"{name}:{qde}: the root element is <{root.tag}>, not <Project>. "
                                  "Fix: export the project again as REFI-QDA .qdpx.")
        users = {(u.get("guid") or "").upper(): u.get("name") or u.get("guid") for u in root.iter("User")}
        cb_el = root.find("CodeBook")
        codebook, guids = _codes_from(cb_el, f"{name}:{qde}") if cb_el is not None else (empty_table("codebook"), {})

        # cases -> participants; source guid -> participant
        part_rows, source_case = [], {}
        variables = {(v.get("guid") or "").upper(): (v.get("name") or "") for v in root.iter("Variable")}
        cases_el = root.find("Cases")
        for case in (cases_el.findall("Case") if cases_el is not None else []):
            pid = case.get("name") or case.get("guid")
            row = {"participant_id": pid}
            for vv in case.findall("VariableValue"):
                ref = vv.find("VariableRef")
                vname = variables.get((ref.get("targetGUID") or "").upper(), "") if ref is not None else ""
                vname = vname.strip().lower().replace(" ", "_")
                val = next((c.text for c in vv if c.tag.endswith("Value") and c.tag != "VariableValue"), None)
                if vname in PARTICIPANT_VARIABLES and val is not None:
                    row[vname] = val.strip()
            part_rows.append(row)
            for ref in case.iter("SourceRef"):
                source_case[(ref.get("targetGUID") or "").upper()] = pid

        src_rows, seg_rows = [], []
        sources_el = root.find("Sources")
        for ts in (sources_el.findall("TextSource") if sources_el is not None else []):
            sguid = (ts.get("guid") or "").upper()
            sname = ts.get("name") or sguid
            content = ts.find("PlainTextContent")
            if content is not None and content.text is not None:
                text = content.text
            else:
                ptp = ts.get("plainTextPath") or (ts.findtext("PlainTextPath") or "")
                if not ptp:
                    raise QualImportError(f"{name}: text source {sname!r} has neither PlainTextContent nor "
                                          "plainTextPath. Fix: export the project again with its sources included.")
                inner = re.sub(r"^internal://", "", ptp.strip(), flags=re.I)
                cands = [members[m] for m in members if m.split("/")[-1] == inner.lower().split("/")[-1]]
                if not cands:
                    raise QualImportError(f"{name}: text source {sname!r} points at {ptp}, which is not in the "
                                          "archive (expected under Sources/). Fix: export the project again "
                                          "including the source files.")
                text = decode_bytes(_read_member(zf, cands[0], name), f"{name}:{cands[0]}")
            k = kinds.get(sname, kind)
            if k not in QUAL_KINDS:
                raise QualImportError(f"{name}: source {sname!r} gets unknown kind {k!r}. Fix: use one of {', '.join(QUAL_KINDS)}.")
            src_rows.append({"source_id": sname, "kind": k, "date": _date_of(ts.get("creationDateTime")),
                             "participant_id": source_case.get(sguid), "title": sname, "text": text})
            turns = parse_transcript(text, probe_phrases)
            for sel in ts.findall("PlainTextSelection"):
                try:
                    start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
                except (TypeError, ValueError):
                    raise QualImportError(f"{name}: a selection in source {sname!r} (guid {sel.get('guid')}) lacks "
                                          "integer startPosition/endPosition. Fix: export the project again.") from None
                if not (0 <= start <= end <= len(text)):
                    raise QualImportError(f"{name}: a selection in source {sname!r} spans {start}-{end}, outside the "
                                          f"source's {len(text)} characters. Fix: export the project again; the "
                                          "source text and the selections must come from the same export.")
                turn, probe = None, False
                if len(turns):
                    hit = turns[(turns["start"] <= start) & (turns["end"] >= start)]
                    if len(hit):
                        turn, probe = int(hit["turn"].iloc[0]), bool(hit["is_probe"].iloc[0])
                sel_user = (sel.get("creatingUser") or "").upper()
                for coding in sel.findall("Coding"):
                    ref = coding.find("CodeRef")
                    target = (ref.get("targetGUID") or "").upper() if ref is not None else ""
                    if target not in guids:
                        raise QualImportError(
                            f"{name}: a coding in source {sname!r} (characters {start}-{end}) refers to code guid "
                            f"{target or '(none)'}, which is not in the project's codebook. Fix: export the project "
                            "again, or add the code to the codebook before exporting.")
                    user = (coding.get("creatingUser") or "").upper() or sel_user
                    seg_rows.append({"segment_id": f"{sname}:{start}-{end}", "source_id": sname,
                                     "participant_id": source_case.get(sguid), "coder": users.get(user, user or "coder"),
                                     "code": guids[target], "excerpt": text[start:end], "turn": turn,
                                     "is_probe": probe})
        skipped = sorted({el.tag for el in (sources_el if sources_el is not None else []) if el.tag != "TextSource"})
        if skipped:
            import warnings
            warnings.warn(f"{name}: {', '.join(skipped)} elements skipped: only text sources (TextSource) are "
                          "imported; export transcripts of audio/video and the text of PDFs as text sources.",
                          stacklevel=2)
    participants = pd.DataFrame(part_rows) if part_rows else empty_table("participants")
    sources = pd.DataFrame(src_rows) if src_rows else empty_table("qual_sources")
    segments = pd.DataFrame(seg_rows) if seg_rows else empty_table("coded_segments")
    segments = segments.drop_duplicates(["segment_id", "coder", "code"]) if len(segments) else segments
    qd = QualData(participants, sources, codebook, segments, origin=name)
    return qd.prepared(check=check)


__all__ = ["QualImportError", "read_text", "decode_bytes", "split_front_matter", "parse_transcript", "parse_transcripts",
           "import_transcripts", "import_observation_log", "import_highlights_csv", "read_qdc", "write_qdc", "codebook_xml",
           "normalise_codebook", "read_qdpx", "code_guid"]

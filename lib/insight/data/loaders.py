"""Read one export file into a raw DataFrame, or say precisely why it cannot be read.

CSV: UTF-8, UTF-8 with BOM, UTF-16 (Excel "Unicode text"), GBK/GB18030, Latin-1/cp1252; the
encoding is the declared one (`encoding:` in params) or detected: UTF-8 is tried strictly first,
then charset-normalizer guesses; single-byte guesses are read as cp1252 (Excel's Western
encoding) when that decodes, else Latin-1. The delimiter is sniffed unless declared. `.gz` files
are decompressed. Every value is read as text (ids keep their leading zeros; "NA" stays a
region); the mapping step parses types. Excel .xlsx by sheet name; Parquet as typed.

Each loaded frame carries `_row`: the row number as the user sees it in the file (the header is
row 1, so the first data row is 2; in Parquet the first row is 1), for error messages.
"""
from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from insight.config.data import TableSpec
from insight.data.problems import problem
from insight.params import Problem
from insight.paths import Project

ROW = "_row"
NA_VALUES = ["", "NaN", "nan", "NULL", "null", "None", "none", "#N/A", "N/A", "n/a", "-nan"]
_CJK = {"gb18030", "gbk", "gb2312", "hz", "big5", "big5hkscs", "cp950", "shift_jis", "cp932", "euc_jp",
        "euc_kr", "cp949", "iso2022_jp", "utf_16", "utf_32"}
MAX_LINE = 1 << 20   # a header line longer than this (1 MiB) is not a table export
_FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
            ".parquet": "parquet", ".pq": "parquet"}


# Arrow -> pandas without gathering columns of one dtype into a 2-D block (a copy of each) and freeing
# each Arrow column once converted: the same frame (values, dtypes, column order), less time and memory
PARQUET_TO_PANDAS = {"split_blocks": True, "self_destruct": True}


def read_parquet(path) -> pd.DataFrame:
    """pandas.read_parquet(path), converted with PARQUET_TO_PANDAS."""
    return pd.read_parquet(path, to_pandas_kwargs=dict(PARQUET_TO_PANDAS))


@dataclass
class Loaded:
    frame: pd.DataFrame
    file: str          # the path as shown to users
    details: str       # how it was read: format, encoding, delimiter, sheet
    spaced_headers: tuple[str, ...] = ()   # headers with leading/trailing spaces in the file (read stripped)


def _strip_headers(df: pd.DataFrame) -> tuple[str, ...]:
    """Strip the headers in place; return those that had surrounding spaces (reported as a warning)."""
    raw = [str(c) for c in df.columns]
    df.columns = [c.strip() for c in raw]
    return tuple(c for c in raw if c != c.strip())


def display_path(path: Path, project: Project) -> str:
    try:
        return str(path.resolve().relative_to(project.root.resolve()))
    except (ValueError, OSError, RuntimeError):   # outside the project, or a symbolic-link loop
        return str(path)


def file_format(spec: TableSpec, path: Path) -> str | None:
    if spec.format:
        return spec.format
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
        if not suffixes:
            return "csv"
    return _FORMATS.get(suffixes[-1]) if suffixes else None


def read_table(name: str, spec: TableSpec, project: Project) -> tuple[Loaded | None, list[Problem]]:
    path = project.resolve(spec.path)
    shown = display_path(path, project)
    key = f"data.tables.{name}.path"
    refused = project.data_path_problem(spec.path)
    if refused:
        return None, [problem(shown, key, *refused)]
    if not path.exists():
        near = sorted(p.name for p in path.parent.glob("*"))[:20] if path.parent.is_dir() else []
        return None, [problem(shown, key, f"the {name} file does not exist",
                              "correct `path:` (relative to the project root, or absolute)"
                              + (f"; files in {display_path(path.parent, project)}: {', '.join(near)}" if near else ""))]
    if path.is_dir():
        return None, [problem(shown, key, "is a folder, not a file", "point `path:` at the file itself")]
    fmt = file_format(spec, path)
    try:
        if fmt == "csv":
            return _read_csv(name, spec, path, shown)
        if fmt == "xlsx":
            return _read_xlsx(name, spec, path, shown)
        if fmt == "parquet":
            return _read_parquet(name, path, shown)
    except MemoryError:  # pragma: no cover
        raise
    except Exception as exc:  # a reader failing in a way we did not foresee: still one clear problem
        return None, [problem(shown, name, f"could not be read as {fmt}: {type(exc).__name__}: {exc}",
                              "check that the file is a valid export in that format")]
    return None, [problem(shown, key, f"cannot tell the format of {path.name}",
                          "add `format: csv`, `format: xlsx` or `format: parquet`")]


def read_source(name: str, spec: TableSpec, project: Project | None = None) -> tuple[Loaded | None, list[Problem]]:
    """A table or query on a database connection (insight.data.sources) as a raw frame, like a file's;
    `_row` is the row's position in the result (1 = the first)."""
    from insight.data import sources  # lazy: file-only studies need no database driver

    try:
        df, details = sources.read_source(spec.source, project)
    except sources.SourceProblem as exc:
        return None, [sources.problem_for(name, spec.source, exc)]
    shown = sources.describe(spec.source)
    if df.empty:
        return None, [problem(shown, f"data.tables.{name}.source", "the source returned no rows",
                              "check `table:` or the query's WHERE clause")]
    df = df.reset_index(drop=True)
    df[ROW] = range(1, len(df) + 1)
    return Loaded(df, shown, details), []


# --- CSV ---------------------------------------------------------------------------------------

def _sniff_binary(raw: bytes) -> str | None:
    """A reason the bytes are not a text table, or None."""
    head = raw[:8192]
    if head.startswith(b"PK\x03\x04"):
        return "is a zip archive (an Excel .xlsx workbook?), not a CSV text file"
    if head.startswith(b"PAR1"):
        return "is a Parquet file, not a CSV text file"
    if head.startswith(b"%PDF"):
        return "is a PDF document, not a CSV text file"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "is an old Excel .xls (or other OLE) file, not a CSV text file"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None  # UTF-16 with a BOM
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    if b"\x00" in head or control > max(2, len(head) // 100):
        return "holds binary data, not text"
    return None


_SHORT = 4096   # non-ASCII bytes below which a statistical guess of the encoding is unreliable
_KOREAN = {"cp949", "euc_kr", "johab", "iso2022_kr"}


def _short_chinese(raw: bytes) -> bool:
    """A short export in GBK/GB18030 (a supported encoding) that charset-normalizer, with too little
    text to go on, takes for Korean or a Western code page: it decodes as GB18030, its non-ASCII
    letters are Chinese ideographs, and few of them touch a Latin letter (a Western accented letter
    read as GB18030 swallows the letter after it and lands inside a word: Müller, Åse, Straße).
    Korean in a short file is read as Chinese by this rule (its bytes decode alike); Korean is not
    among the encodings the loader supports, and `encoding:` in params declares it."""
    import unicodedata

    if sum(b >= 0x80 for b in raw) >= _SHORT:
        return False
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        return False
    letters = [i for i, ch in enumerate(text) if ord(ch) >= 0x80 and unicodedata.category(ch).startswith("L")]
    hanzi = [i for i in letters if 0x4E00 <= ord(text[i]) <= 0x9FFF]
    if not hanzi or len(hanzi) < 0.95 * len(letters):
        return False

    def latin(i):
        return 0 <= i < len(text) and text[i].isascii() and text[i].isalpha()

    touching = sum(latin(i - 1) or latin(i + 1) for i in hanzi)
    return touching <= 0.3 * len(hanzi)


def decode(raw: bytes, declared: str = "auto") -> tuple[str | None, str, str | None]:
    """(text, encoding used, reason it failed)."""
    if declared and declared.lower() != "auto":
        enc = declared
        try:
            return raw.decode(enc), enc, None
        except LookupError:
            return None, enc, f"{enc!r} is not an encoding Python knows"
        except UnicodeDecodeError as exc:
            line = raw[:exc.start].count(b"\n") + 1
            return None, enc, (f"is not valid {enc}: byte {raw[exc.start:exc.start + 1]!r} at byte offset "
                               f"{exc.start:,} (line {line}) cannot be decoded")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16", None
        except UnicodeDecodeError:
            pass
    try:
        text = raw.decode("utf-8-sig")
        return text, ("utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"), None
    except UnicodeDecodeError:
        pass
    mixed = _mixed_utf8(raw)
    if mixed:
        return None, "mixed", mixed
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:200_000]).best()
    guess = (best.encoding if best else "").lower().replace("-", "_")
    if guess in ("gbk", "gb2312"):
        guess = "gb18030"  # the superset Windows writes for "Chinese (Simplified)"
    if (guess in _KOREAN or guess not in _CJK) and _short_chinese(raw):
        guess = "gb18030"
    if guess in _CJK:
        try:
            return raw.decode(guess), guess, None
        except UnicodeDecodeError:
            pass
    for enc in ("cp1252", "latin-1"):
        try:
            return raw.decode(enc), enc, None
        except UnicodeDecodeError:
            continue
    return None, "unknown", "its text encoding could not be recognised"  # pragma: no cover


def _mixed_utf8(raw: bytes) -> str | None:
    """The reason a file that is not valid UTF-8 is nevertheless mostly UTF-8 (lines pasted from
    another export in another encoding): any single encoding would turn part of it into mojibake."""
    import re

    text = raw.decode("utf-8", errors="surrogateescape")
    undecodable = re.compile("[\udc80-\udcff]")
    bad = sum(1 for _ in undecodable.finditer(text))
    good = sum(1 for _ in re.finditer("[^\x00-\x7f]", text)) - bad
    if good < 3 or good < bad:
        return None
    first = undecodable.search(text)
    import bisect
    from itertools import islice

    breaks = [m.start() for m in re.finditer("\n", text)]
    lines = sorted({bisect.bisect_left(breaks, m.start()) + 1 for m in islice(undecodable.finditer(text), 10_000)})
    shown = ", ".join(map(str, lines[:5])) + (f" and {len(lines) - 5:,} more" if len(lines) > 5 else "")
    byte = bytes([ord(first.group(0)) - 0xdc00])
    return (f"mixes text encodings: most of it is UTF-8, but line{'s' if len(lines) > 1 else ''} {shown} "
            f"hold{'s' if len(lines) == 1 else ''} bytes that are not (e.g. {byte!r} on line {lines[0]}, "
            "typical of Windows/Latin-1 text pasted in); read in one encoding, part of the text would be garbled")


def sniff_delimiter(text: str) -> str:
    sample = "\n".join(text[:64_000].splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        header = sample.splitlines()[0] if sample else ""
        counts = {d: header.count(d) for d in ",;\t|"}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _long_first_line(path: Path) -> bool:
    """True when the file's first line is over MAX_LINE bytes (checked without reading it all)."""
    with open(path, "rb") as fh:
        head = fh.read(MAX_LINE + 1)
    if head[:2] == b"\x1f\x8b" or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    return len(head) > MAX_LINE and b"\n" not in head and b"\r" not in head


def _duplicate_columns(names: list[str]) -> dict[str, list[int]]:
    """Column name -> its 1-based positions, for names used more than once (after stripping spaces)."""
    pos: dict[str, list[int]] = {}
    for i, n in enumerate(names, start=1):
        pos.setdefault(str(n).strip() if n is not None else "", []).append(i)
    return {n: p for n, p in pos.items() if n and len(p) > 1}


def _duplicate_problems(dups: dict[str, list[int]], name: str, shown: str) -> list[Problem]:
    return [problem(shown, f"{name}.{col}", f"the header (row 1) names the column {col!r} {len(p)} times "
                    f"(columns {', '.join(map(str, p))}); the values of one would be silently taken for the other",
                    "rename or delete the extra columns in the export so that every column name is unique")
            for col, p in dups.items()]


def _read_csv(name: str, spec: TableSpec, path: Path, shown: str) -> tuple[Loaded | None, list[Problem]]:
    if _long_first_line(path):
        return None, [problem(shown, name, f"{path.name}: row 1 (the header) is over {MAX_LINE >> 20} MB long "
                              "without a line break, so it is not a table export",
                              "export the table again as CSV (one row per line, a header row first)")]
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            return None, [problem(shown, name, f"is a damaged gzip file ({exc})", "export the file again")]
    if not raw.strip():
        return None, [problem(shown, name, "the file is empty", "export the table again, with its header row and data")]
    reason = _sniff_binary(raw)
    if reason:
        return None, [problem(shown, name, f"{path.name} {reason}",
                              "point `path:` at the CSV export, or set `format:` (xlsx, parquet) to match the file")]
    text, enc, reason = decode(raw, spec.encoding)
    if text is None and enc == "mixed":
        return None, [problem(shown, name, f"{path.name} {reason}",
                              "correct those lines and save the file as UTF-8 (or export it again in one encoding)")]
    if text is None:
        return None, [problem(shown, name, f"{path.name} {reason}",
                              "remove `encoding:` to detect it, or declare the right one "
                              "(utf-8, utf-8-sig, gb18030, cp1252, latin-1)")]
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        return None, [problem(shown, name, f"{path.name} holds a NUL byte (\\x00) on line {line} "
                              f"({text.count(chr(0)):,} in all): the export is damaged or not plain text",
                              "export the table again; or remove the NUL bytes (e.g. `tr -d '\\000' < in.csv > out.csv`)")]
    delim = spec.delimiter or sniff_delimiter(text)
    try:
        header = next(csv.reader(io.StringIO(text[:MAX_LINE * 4]), delimiter=delim), [])
    except csv.Error:
        header = []
    if dups := _duplicate_columns(header):
        return None, _duplicate_problems(dups, name, shown)
    try:
        df = pd.read_csv(io.StringIO(text), sep=delim, dtype=str, keep_default_na=False, na_values=NA_VALUES,
                         skip_blank_lines=True)
    except pd.errors.EmptyDataError:
        return None, [problem(shown, name, "the file is empty", "export the table again, with its header row and data")]
    except pd.errors.ParserError as exc:
        return None, [problem(shown, name, f"is not a well-formed CSV table: {exc}",
                              f"check quoting on that line, or declare `delimiter:` (read with {delim!r})")]
    spaced = _strip_headers(df)
    if df.empty:
        return None, [problem(shown, name, "has a header row but no data rows",
                              "export the table again with its data")]
    df[ROW] = range(2, len(df) + 2)
    details = f"CSV, encoding {enc}, delimiter {_delim_name(delim)}" + (", gzip" if path.suffix.lower() == ".gz" else "")
    return Loaded(df, shown, details, spaced), []


def _delim_name(d: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(d, repr(d))


# --- Excel and Parquet ---------------------------------------------------------------------------

def _read_xlsx(name: str, spec: TableSpec, path: Path, shown: str) -> tuple[Loaded | None, list[Problem]]:
    import difflib
    import zipfile

    import openpyxl

    if path.stat().st_size == 0:
        return None, [problem(shown, name, "the file is empty", "export the workbook again")]
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        return None, [problem(shown, name, f"{path.name} is not a readable .xlsx workbook ({exc})",
                              "save it from Excel as .xlsx (not .xls or .csv), or set `format:` to match the file")]
    sheets = list(wb.sheetnames)
    header = []
    if spec.sheet in sheets:
        header = list(next(wb[spec.sheet].iter_rows(min_row=1, max_row=1, values_only=True), ()))
    wb.close()
    if dups := _duplicate_columns(header):
        return None, _duplicate_problems(dups, name, shown)
    if not spec.sheet or spec.sheet not in sheets:
        close = difflib.get_close_matches(spec.sheet or "", sheets, n=1)
        what = f"has no sheet {spec.sheet!r}" if spec.sheet else "needs a sheet name"
        return None, [problem(shown, f"data.tables.{name}.sheet", f"the workbook {what}; its sheets are: {', '.join(sheets)}",
                              f"write `sheet: {close[0] if close else sheets[0]}`")]
    df = pd.read_excel(path, sheet_name=spec.sheet, engine="openpyxl")
    spaced = _strip_headers(df)
    df = df.dropna(how="all")
    if df.empty:
        return None, [problem(shown, name, f"the sheet {spec.sheet!r} has no data rows", "pick the sheet that holds the table")]
    df[ROW] = df.index.to_numpy() + 2
    df = df.reset_index(drop=True)
    return Loaded(df, shown, f"Excel workbook, sheet {spec.sheet!r}", spaced), []


def _read_parquet(name: str, path: Path, shown: str) -> tuple[Loaded | None, list[Problem]]:
    if path.stat().st_size == 0:
        return None, [problem(shown, name, "the file is empty", "write the table again")]
    try:
        df = read_parquet(path)
    except Exception as exc:  # pyarrow raises several types
        return None, [problem(shown, name, f"{path.name} is not a readable Parquet file ({type(exc).__name__}: {exc})",
                              "write it again with pandas.DataFrame.to_parquet, or set `format:` to match the file")]
    if df.empty:
        return None, [problem(shown, name, "has no rows", "write the table again with its data")]
    df = df.reset_index(drop=True)
    df[ROW] = range(1, len(df) + 1)
    return Loaded(df, shown, "Parquet"), []


# --- qualitative material named under data.qual -------------------------------------------------------

def qual_files(spec, project: Project) -> list[Path]:
    """Every file `data.qual` reads (for the fingerprint): the .qdpx and the transcripts."""
    files = []
    if spec.qdpx:
        files.append(project.resolve(spec.qdpx))
    if spec.transcripts:
        folder = project.resolve(spec.transcripts)
        if folder.is_dir():
            files += sorted([*folder.glob("*.txt"), *folder.glob("*.md")])
    return files


def _qual_problem(path: Path, project: Project, key: str, exc: Exception) -> Problem:
    text = str(exc)
    message, _, fix = text.partition(" Fix: ")
    if message.startswith(str(path) + ": "):
        message = message[len(str(path)) + 2:]
    shown = display_path(path, project)
    return problem(shown, key, message.strip(), fix.strip())


def read_qual(spec, project: Project, probe_phrases=None) -> tuple[dict[str, Loaded], list[Problem]]:
    """`data.qual` (a REFI-QDA .qdpx and/or a folder of transcripts) as raw canonical tables:
    participants, qual_sources, codebook, coded_segments from the project; qual_sources from the
    transcripts. Rows are numbered from 1 in each table (`_row`) for messages."""
    from insight.qual.importers import DEFAULT_PROBE_PHRASES, QualImportError, import_transcripts, read_qdpx
    from insight.qual.model import QualDataError

    probe_phrases = probe_phrases or DEFAULT_PROBE_PHRASES
    frames: dict[str, tuple[pd.DataFrame, str, str]] = {}
    problems: list[Problem] = []
    if spec.qdpx:
        path = project.resolve(spec.qdpx)
        shown = display_path(path, project)
        try:
            qd = read_qdpx(path, kind=spec.kind, kinds=spec.kinds, probe_phrases=probe_phrases, check=False)
        except (QualImportError, QualDataError) as exc:
            problems.append(_qual_problem(path, project, "data.qual.qdpx", exc))
        else:
            how = "REFI-QDA project (.qdpx)"
            for name, df in (("participants", qd.participants), ("qual_sources", qd.sources),
                             ("codebook", qd.codebook), ("coded_segments", qd.segments)):
                if len(df):
                    frames[name] = (df, shown, how)
    if spec.transcripts:
        folder = project.resolve(spec.transcripts)
        shown = display_path(folder, project)
        paths = sorted([*folder.glob("*.txt"), *folder.glob("*.md")])
        groups: dict[str, list[Path]] = {}
        for p in paths:
            groups.setdefault(spec.kinds.get(p.stem, spec.kind), []).append(p)
        got = []
        for kind, group in groups.items():
            for p in group:   # one file at a time, so that every bad file is reported
                try:
                    got.append(import_transcripts([p], kind=kind, date=spec.date, encoding=spec.encoding,
                                                  probe_phrases=probe_phrases)["qual_sources"])
                except (QualImportError, QualDataError) as exc:
                    problems.append(_qual_problem(p, project, "data.qual.transcripts", exc))
        if got:
            df = pd.concat(got, ignore_index=True)
            if "qual_sources" in frames:
                prev, where, how = frames["qual_sources"]
                frames["qual_sources"] = (pd.concat([prev, df], ignore_index=True), f"{where} and {shown}",
                                          f"{how} and {len(paths)} transcripts")
            else:
                frames["qual_sources"] = (df, shown, f"{len(paths)} transcripts (.txt/.md)")
    out = {}
    for name, (df, shown, how) in frames.items():
        df = df.reset_index(drop=True).copy()
        if name == "qual_sources" and spec.date is not None:
            df["date"] = df["date"].where(df["date"].notna(), pd.Timestamp(spec.date))
        df[ROW] = range(1, len(df) + 1)
        out[name] = Loaded(df, shown, how)
    return out, problems

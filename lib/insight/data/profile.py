"""Profile an export before it is mapped: how the file is read (format, encoding, delimiter,
sheet) and, per column, what it holds — the kind of values (id, email, phone, date, number,
money, yes/no, category, free text), the date format, distinct values, the share missing and the
most frequent values of categories. `make map` (insight.data.suggest) builds its guesses on this.

    prof = profile_file("data/local/accounts.csv", project)
    prof.column("Churn").kind, prof.column("Churn").top    # 'boolean', [('No', 5174), ('Yes', 1869)]

The file is read by the same loader as a study's data (insight.data.loaders), so what is profiled
is exactly what `make validate` will read. Values of personal columns (emails, phones, names) are
never kept as examples.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from insight.config.data import TableSpec
from insight.data.loaders import ROW, file_format, read_table
from insight.data.mapping import COMMON_DATE_FORMATS, FALSE, TRUE, norm_label
from insight.data.problems import DataError, problem
from insight.paths import Project

SAMPLE = 5000            # values examined per column for patterns (emails, dates, numbers)
TOP = 12                 # most frequent values kept for categories
CATEGORY_MAX = 30        # at most this many distinct values make a category
EMAIL = re.compile(r"^[\w.+'-]+@[\w-]+(\.[\w-]+)+$")
PHONE = re.compile(r"^\+?[\d\s().\-/]{7,20}$")
CURRENCY = re.compile(r"[$€£¥₹]|\b(?:USD|EUR|GBP|CHF|CNY|RMB)\b")
_PERSONAL_NAMES = {"name", "full_name", "contact", "contact_name", "first_name", "last_name", "surname",
                   "person", "customer_name", "email", "e_mail", "phone", "telephone", "mobile"}


def split_camel(name: str) -> str:
    """'customerID' -> 'customer_id', 'MonthlyCharges' -> 'monthly_charges', 'Review Text' -> 'review_text'."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name))
    s = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", s)
    return norm_label(s)


@dataclass
class ColumnProfile:
    name: str
    rows: int
    missing: int
    distinct: int
    kind: str                      # empty id email phone date datetime integer number money boolean category text
    top: list[tuple[str, int]] = field(default_factory=list)   # categories only, most frequent first
    date_format: str | None = None           # None for ISO dates (and typed Excel dates)
    date_ambiguous: list[str] = field(default_factory=list)    # other formats that read every value too
    date_range: tuple[str, str] | None = None
    minimum: float | None = None
    maximum: float | None = None
    mean_length: float = 0.0
    personal: bool = False
    whole: bool = False            # numbers: all whole

    @property
    def present(self) -> int:
        return self.rows - self.missing

    @property
    def missing_share(self) -> float:
        return self.missing / self.rows if self.rows else 0.0

    @property
    def unique(self) -> bool:
        return self.present > 0 and self.distinct == self.present

    @property
    def id_like(self) -> bool:
        """Short codes without spaces, or whole numbers, that mostly differ from row to row."""
        if self.kind == "id":
            return True
        return self.kind == "integer" and self.distinct >= 0.5 * max(self.present, 1) and self.distinct > 20

    def describe(self) -> str:
        """One line for a comment: kind, distinct values, missing share, values or range."""
        parts = [self.kind]
        if self.kind == "empty":
            return "empty (every value missing)"
        parts.append(f"{self.distinct:,} distinct" + (" (unique)" if self.unique and self.present > 1 else ""))
        if self.missing:
            parts.append(f"{self.missing_share:.0%} missing" if self.missing_share >= 0.005 else
                         f"{self.missing:,} missing")
        if self.kind in ("date", "datetime") and self.date_range:
            parts.append(f"{self.date_range[0]} to {self.date_range[1]}"
                         + (f", format {self.date_format}" if self.date_format else ""))
        elif self.kind in ("integer", "number", "money") and self.minimum is not None:
            parts.append(f"{self.minimum:g} to {self.maximum:g}")
        if self.top and not self.personal and not self.unique:
            from insight.data.pii import mask_text   # emails and phone numbers inside values never shown
            shown = ", ".join(f"{mask_text(v)} ({n:,})" for v, n in self.top[:6])
            parts.append(shown + (", ..." if len(self.top) > 6 or self.distinct > len(self.top) else ""))
        return "; ".join(parts)


@dataclass
class FileProfile:
    path: str                      # as written into params (relative to the project root when inside it)
    details: str                   # how it was read
    rows: int
    columns: list[ColumnProfile]
    frame: pd.DataFrame = field(repr=False)
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)

    def column(self, name: str) -> ColumnProfile:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.path} has no column {name!r}")

    def values(self, name: str) -> pd.Series:
        """The column's non-missing values as stripped text (ids exported as floats lose their '.0')."""
        s = self.frame[name].dropna()
        if pd.api.types.is_float_dtype(s.dtype) and len(s) and np.all(s == np.round(s)):
            s = s.astype("int64")
        s = s.astype(str).str.strip()
        return s.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)


def _text(s: pd.Series) -> pd.Series:
    return s.dropna().astype(str).str.strip().pipe(lambda x: x[x != ""])


def _dates(sample: pd.Series) -> tuple[str | None, list[str], pd.Series] | None:
    """(format or None for ISO, other formats that also read every value, parsed) when every
    sampled value is a date, else None."""
    if not sample.str.contains(r"\d", regex=True).all() or sample.str.fullmatch(r"-?\d+(\.\d+)?").all():
        return None
    iso = pd.to_datetime(sample, format="ISO8601", errors="coerce")
    if iso.notna().all():
        return None, [], iso
    fits = []
    for fmt in COMMON_DATE_FORMATS:
        parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
        if parsed.notna().all():
            fits.append((fmt, parsed))
    if not fits:
        return None
    fmt, parsed = fits[0]
    other = [f for f, p in fits[1:] if not p.equals(parsed)]
    return fmt, other, parsed


def profile_column(name: str, s: pd.Series) -> ColumnProfile:
    rows = len(s)
    miss = int(s.isna().sum())
    if pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype):
        blank = s.astype("string").str.strip() == ""
        miss += int(blank.fillna(False).sum())
        s = s.mask(blank.fillna(False).astype(bool))
    text = _text(s)
    distinct = int(text.nunique())
    prof = ColumnProfile(name, rows, miss, distinct, "empty")
    prof.personal = split_camel(name) in _PERSONAL_NAMES
    if text.empty:
        return prof
    sample = text.sample(min(SAMPLE, len(text)), random_state=0) if len(text) > SAMPLE else text
    prof.mean_length = float(sample.str.len().mean())
    lower = set(text.str.lower().unique()[:3])
    kind = None
    if pd.api.types.is_bool_dtype(s.dtype):
        kind = "boolean"
    elif pd.api.types.is_datetime64_any_dtype(s.dtype):
        d = s.dropna()
        kind = "datetime" if (d != d.dt.normalize()).any() else "date"
        prof.date_range = (str(d.min().date()), str(d.max().date()))
    elif distinct <= 2 and lower <= (TRUE | FALSE) and not (lower <= {"0", "1", "0.0", "1.0"} and distinct == 1):
        kind = "boolean"
    if kind is None and sample.str.match(EMAIL).mean() >= 0.9:
        kind, prof.personal = "email", True
    if kind is None and prof.mean_length <= 40 and (got := _dates(sample)) is not None:
        fmt, other, _ = got
        full = pd.to_datetime(text, format=fmt or "ISO8601", errors="coerce").dropna()
        if len(full):
            kind = "datetime" if (full != full.dt.normalize()).any() else "date"
            prof.date_format, prof.date_ambiguous = fmt, other
            prof.date_range = (str(full.min().date()), str(full.max().date()))
    if kind is None:
        num = pd.to_numeric(sample, errors="coerce")
        if num.notna().mean() >= 0.98:
            kind = "number"
        elif prof.mean_length <= 25 and sample.str.contains(CURRENCY, regex=True).mean() >= 0.5:
            stripped = sample.str.replace(CURRENCY, "", regex=True).str.replace(r"[\s,']", "", regex=True)
            if pd.to_numeric(stripped, errors="coerce").notna().mean() >= 0.98:
                kind = "money"
        if kind is not None:
            allnum = pd.to_numeric(text if kind == "number" else
                                   text.str.replace(CURRENCY, "", regex=True).str.replace(r"[\s,']", "", regex=True),
                                   errors="coerce").dropna()
            prof.minimum, prof.maximum = float(allnum.min()), float(allnum.max())
            prof.whole = bool(np.all(allnum == np.round(allnum)))
            if kind == "number" and prof.whole:
                kind = "integer"
    if kind is None and sample.str.match(PHONE).mean() >= 0.9 and \
            sample.str.count(r"\d").ge(7).mean() >= 0.9 and sample.str.contains(r"[\s+()\-]").mean() >= 0.5:
        kind, prof.personal = "phone", True
    if kind is None:
        spaced = sample.str.contains(" ").mean()
        if distinct == len(text) and distinct >= 3 and spaced == 0 and prof.mean_length <= 40 and \
                sample.str.contains(r"\d").mean() >= 0.9:
            kind = "id"
        elif distinct <= CATEGORY_MAX or (distinct <= 0.05 * len(text) and prof.mean_length <= 40):
            kind = "category"
        elif prof.mean_length > 30 and spaced >= 0.5:
            kind = "text"
        elif spaced < 0.2 and prof.mean_length <= 40:
            kind = "id"
        else:
            kind = "category" if distinct <= 0.5 * len(text) else "text"
    prof.kind = kind
    if kind in ("category", "boolean", "integer") and distinct <= CATEGORY_MAX and not prof.personal:
        counts = text.value_counts()
        prof.top = [(str(v), int(n)) for v, n in counts.head(TOP).items()]
    return prof


def _sheets(path: Path) -> list[str]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True)
    except Exception:  # the loader reports an unreadable workbook with its own message
        return []
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def profile_file(path: str | Path, project: Project | None = None, sheet: str | None = None,
                 encoding: str = "auto", delimiter: str | None = None, table: str = "file") -> FileProfile:
    """Read a CSV/Excel/Parquet export exactly as a study would and profile every column.
    Raises DataError (file, what is wrong, the fix) when it cannot be read."""
    project = project or Project.find()
    p = Path(path).expanduser()
    resolved = p if p.is_absolute() else (Path.cwd() / p)
    if not resolved.exists():
        resolved = project.resolve(p)
    try:
        shown = str(resolved.resolve().relative_to(project.root.resolve()))
    except ValueError:
        shown = str(resolved.resolve()) if p.is_absolute() else str(p)
    spec = TableSpec(path=str(resolved), sheet=sheet, encoding=encoding, delimiter=delimiter)
    sheets: list[str] = []
    if resolved.is_file() and file_format(spec, resolved) == "xlsx":
        sheets = _sheets(resolved)
        if sheet is None and len(sheets) == 1:
            spec = spec.model_copy(update={"sheet": sheets[0]})
        elif sheet is None and sheets:
            raise DataError([problem(shown, "SHEET", f"the workbook has {len(sheets)} sheets: {', '.join(sheets)}",
                                     f"name the one to map: make map FILE={path} SHEET={sheets[0]!r}")])
    loaded, problems = read_table(table, spec, project)
    if loaded is None:
        raise DataError(problems)
    df = loaded.frame.drop(columns=[ROW])
    cols = [profile_column(c, df[c]) for c in df.columns]
    return FileProfile(shown, loaded.details, len(df), cols, df, spec.sheet, sheets)

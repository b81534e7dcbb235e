"""Turn a raw export into a canonical table: rename columns, drop and exclude rows, map values,
fill defaults, parse types, compute derived columns, collapse to one row per key.

Every step is vectorised. Problems are collected, not raised, so that the user sees them all;
each names the file, the table.column, example rows (file row numbers) and the fix.

Order of the steps (so that a mapping can rely on it):
  columns -> drop_missing -> exclude -> values -> defaults -> fill_missing -> (required columns?)
  -> parse types -> compute -> where/exclude_if -> date_offsets -> one_row_per_key/aggregate
  -> canonical columns (and the declared `attributes:`) only
`exclude` compares the values as they are in the file; `values` maps them before types are
parsed (so `Yes: true` feeds a bool column); allowed-value columns also accept case and spacing
variants of the canonical values ("Mid-Market" -> mid_market).
"""
from __future__ import annotations

import difflib
import re
from typing import Any

import numpy as np
import pandas as pd

from insight.config.data import TableSpec
from insight.data.loaders import ROW
from insight.data.problems import examples_text, many, problem, rows_text
from insight.data.schema import SEGMENTS, TABLES, Col, Table
from insight.params import Problem

TRUE = {"true", "t", "yes", "y", "1", "1.0", "on"}
FALSE = {"false", "f", "no", "n", "0", "0.0", "off"}
COMMON_DATE_FORMATS = ["%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y", "%m-%d-%Y", "%Y%m%d",
                       "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d/%m/%y", "%m/%d/%y", "%d %b %Y", "%b %d, %Y",
                       "%Y年%m月%d日"]
_SAFE_EXPR = re.compile(r"^[\w\s+\-*/%().<>=!&|~,'\"]+$")


def allowed_values(table: Table, col: Col, segments: list[str] | None = None) -> tuple | None:
    if col.name == "segment" and col.allowed == SEGMENTS and segments:
        return tuple(segments)
    return col.allowed


def norm_label(value: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(value).strip().lower()).strip("_")


class Text:
    """Cheap questions about a text column, answered by one Arrow scan each when the column is held in
    Arrow (pandas' default `str`), else by pandas: the same answers as the pandas expressions named."""

    def __init__(self, s: pd.Series):
        self.s = s
        self.arrow = None
        dtype = s.dtype
        if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
            import pyarrow as pa

            arrow = pa.array(s.array)   # the column's own Arrow data (no copy)
            if pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type):
                self.arrow = arrow

    def spaced(self) -> bool:
        """s.str.startswith(" ").any() or s.str.endswith(" ").any()"""
        if self.arrow is None:
            return bool(self.s.str.startswith(" ").any() or self.s.str.endswith(" ").any())
        import pyarrow.compute as pc

        return bool(pc.any(pc.starts_with(self.arrow, " ")).as_py() or pc.any(pc.ends_with(self.arrow, " ")).as_py())

    def has_empty(self) -> bool:
        """(s == "").any(), missing values not counted"""
        if self.arrow is None:
            return bool((self.s == "").to_numpy(dtype=bool, na_value=False).any())
        import pyarrow.compute as pc

        shortest = pc.min(pc.binary_length(self.arrow)).as_py()   # None when every value is missing
        return shortest == 0

    def first(self) -> str | None:
        """s.dropna().iloc[0], None when every value is missing"""
        if self.arrow is None:
            nn = self.s.dropna()
            return nn.iloc[0] if len(nn) else None
        import pyarrow.compute as pc

        a = self.arrow
        if a.null_count == len(a):
            return None
        at = 0 if a.null_count == 0 else pc.index(pc.is_valid(a), True).as_py()
        return a[at].as_py()

    def all_in(self, allowed) -> bool:
        """not (s.notna() & ~s.isin(allowed)).any(): every value present is one of `allowed`"""
        if self.arrow is None or not all(isinstance(v, str) for v in allowed):
            return not bool((self.s.notna() & ~self.s.isin(allowed)).any())
        import pyarrow as pa
        import pyarrow.compute as pc

        found = pc.sum(pc.is_in(self.arrow, value_set=pa.array(list(allowed), type=self.arrow.type))).as_py() or 0
        return found + self.arrow.null_count == len(self.arrow)


class Mapper:
    """Apply one table's mapping; collect problems (errors), warnings and notes."""

    def __init__(self, name: str, df: pd.DataFrame, spec: TableSpec | None, file: str,
                 segments: list[str] | None = None):
        self.name = name
        self.table = TABLES[name]
        self.df = df
        self.spec = spec or TableSpec(path="")
        self.file = file
        source = self.spec.source
        self.origin = "file" if source is None else ("table" if source.table else "query result")  # for messages
        self.segments = segments
        self.file_columns = [c for c in df.columns if c != ROW]
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.notes: list[str] = []

    # -- helpers --------------------------------------------------------------------------------
    def err(self, col: str | None, message: str, fix: str = ""):
        self.errors.append(problem(self.file, f"{self.name}.{col}" if col else self.name, message, fix))

    def warn(self, col: str | None, message: str, fix: str = ""):
        self.warnings.append(problem(self.file, f"{self.name}.{col}" if col else self.name, message, fix, "warning"))

    def rows(self, mask) -> str:
        mask = np.asarray(mask, dtype=bool)
        return rows_text(self.df[ROW].to_numpy()[mask][:5], int(mask.sum()))

    # -- steps ----------------------------------------------------------------------------------
    def run(self) -> pd.DataFrame | None:
        self.rename()
        if self.errors:
            return None
        self.drop_missing()
        self.exclude()
        self.map_values()
        self.defaults()
        if not self.check_required():
            return None
        self.parse_types()
        self.compute()
        self.filter_rows()
        self.date_offsets()
        if self.errors:
            return None
        self.one_row_per_key()
        self.fill_missing()
        if self.errors:
            return None
        return self.select()

    def rename(self):
        cols = list(self.df.columns)
        targets: dict[str, str] = {}
        for their, ours in self.spec.columns.items():
            their = their.strip() if their not in cols else their   # headers are read without surrounding spaces
            if their not in cols:
                close = difflib.get_close_matches(their, cols, n=1, cutoff=0.5)
                self.err(ours, f"`columns:` maps {their!r}, but the {self.origin} has no such column; its columns are: "
                               f"{', '.join(c for c in cols if c != ROW)}",
                         ("write the file's header exactly" if self.origin == "file" else "write the column name exactly") + (f", e.g. `{close[0]}: {ours}`" if close else ""))
                continue
            if ours in targets.values():
                self.err(ours, f"two file columns are mapped to {ours!r}", "map only one column to each canonical name")
            targets[their] = ours
        for their, ours in self.spec.attribute_names().items():
            their = their.strip() if their not in cols else their
            if their not in cols:
                close = difflib.get_close_matches(their, cols, n=1, cutoff=0.5)
                self.err(ours, f"`attributes:` names {their!r}, but the file has no such column",
                         "write the file's header exactly" + (f", e.g. `{close[0]}`" if close else ""))
                continue
            targets[their] = ours
        # a mapped column wins over an unmapped file column that happens to carry the canonical name
        clash = [c for c in cols if c in targets.values() and c not in targets]
        # headers that differ from a canonical name only in case and spacing ("Customer ID") map themselves
        canon = [c.name for c in self.table.columns]
        taken = set(targets.values()) | {c for c in cols if c in canon}
        for c in cols:
            n = norm_label(c)
            if c not in targets and c not in canon and n in canon and n not in taken:
                targets[c] = n
                taken.add(n)
                self.notes.append(f"column {c!r} read as {n}")
        self.df = self.df.drop(columns=clash).rename(columns=targets)

    def _need(self, col: str, key: str) -> bool:
        if col in self.df.columns:
            return True
        self.err(col, f"`{key}:` names {col!r}, which is not a column after mapping",
                 "map the file's column to it with `columns:`")
        return False

    def drop_missing(self):
        for col in self.spec.drop_missing:
            if not self._need(col, "drop_missing"):
                continue
            miss = self.df[col].isna().to_numpy()
            if miss.any():
                self.warn(col, f"{int(miss.sum()):,} of {len(self.df):,} rows have no {col} and were dropped "
                               f"({self.rows(miss)})",
                          f"nothing to do if rows without {col} are expected; otherwise fill {col} in the export")
                self.df = self.df.loc[~miss].reset_index(drop=True)

    def exclude(self):
        for col, values in self.spec.exclude.items():
            if not self._need(col, "exclude"):
                continue
            s = self.df[col]
            hit = s.astype("string").str.strip().isin([str(v) for v in values]).fillna(False).to_numpy(dtype=bool)
            if hit.any():
                self.notes.append(f"{many(hit.sum(), 'row')} excluded by {col} in ({', '.join(map(str, values))})")
                self.df = self.df.loc[~hit].reset_index(drop=True)

    def map_values(self):
        for col, mapping in self.spec.values.items():
            if not self._need(col, "values"):
                continue
            m: dict[str, Any] = {}
            for k, v in mapping.items():
                if isinstance(k, bool):  # YAML reads Yes/No/true/on as booleans: match their spellings
                    for spelling in (TRUE if k else FALSE):
                        m.setdefault(spelling, v)
                    continue
                m[str(k).strip()] = v
            s = self.df[col]
            text = s.astype("string").str.strip()
            key = text.where(text.isin(list(m)), text.str.lower())
            hit = key.isin(list(m)).fillna(False).to_numpy(dtype=bool)
            if hit.any():
                out = s.astype(object).copy()
                out[hit] = key[hit].map(m).to_numpy()
                self.df[col] = out

    def defaults(self):
        for col, value in self.spec.defaults.items():
            if col not in self.df.columns:
                self.df[col] = value
                self.notes.append(f"{col} set to {value!r} for every row (`defaults:`)")

    def fill_missing(self):
        """After combining rows (so that `first` prefers a real value over the filler)."""
        for col, value in self.spec.fill_missing.items():
            if col not in self.df.columns:
                self.df[col] = value
                n = len(self.df)
            else:
                n = int(self.df[col].isna().sum())
                if not n:
                    continue
                self.df[col] = self.df[col].astype(object).where(self.df[col].notna(), value)
            self.notes.append(f"{n:,} missing {col} filled with {value!r} (`fill_missing:`)")
            try:
                self.df[col] = self.coerce(self.table.col(col), self.df[col])
            except KeyError:
                pass

    def check_required(self) -> bool:
        produced = set(self.spec.compute) | set(self.spec.date_offsets) | set(self.spec.fill_missing)
        have = self.file_columns
        missing = [c for c in self.table.required if c not in self.df.columns and c not in produced]
        canon = {x.name for x in self.table.columns}
        for col in missing:
            candidates = [c for c in have if c not in self.spec.columns and c not in canon]
            normed = {norm_label(c): c for c in candidates}
            close = difflib.get_close_matches(norm_label(col), list(normed), n=1, cutoff=0.5)
            hint = f"`columns: {{{normed[close[0]]}: {col}}}`" if close else f"`columns: {{<their column>: {col}}}`"
            self.err(col, f"the required column {col!r} is missing; the {self.origin}'s columns are: "
                          f"{', '.join(have) if have else '(none)'}",
                     f"map the {self.origin}'s column in params with {hint}, or give every row one value with "
                     f"`defaults: {{{col}: ...}}`")
        return not missing

    # -- types ----------------------------------------------------------------------------------
    def parse_types(self):
        for col in self.table.columns:
            if col.name in self.df.columns:
                self.df[col.name] = self.coerce(col, self.df[col.name])

    def coerce(self, col: Col, s: pd.Series, what: str = "") -> pd.Series:
        kind = col.dtype
        if kind == "str":
            return self._to_str(col, s)
        if kind in ("int", "float"):
            return self._to_number(col, s)
        if kind == "bool":
            return self._to_bool(col, s)
        if kind in ("date", "datetime"):
            return self._to_date(col, s)
        return s

    def _to_str(self, col: Col, s: pd.Series) -> pd.Series:
        if pd.api.types.is_float_dtype(s.dtype):
            vals = s.to_numpy(dtype=float, na_value=np.nan)
            finite = vals[~np.isnan(vals)]
            if finite.size and np.all(finite == np.round(finite)):
                s = s.astype("Int64")
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            s = s.dt.strftime("%Y-%m-%d")
        out = s if s.dtype == "str" else s.astype("str")   # missing values stay missing
        # each step below runs only when a scan of the column's Arrow data says it changes something
        # (Text): most columns need none of them
        text = Text(out)
        if len(out) and text.spaced():
            out = out.str.strip()
            text = Text(out)
        if text.has_empty():
            empty = (out == "").to_numpy(dtype=bool, na_value=False)
            out = out.mask(empty, None)
            text = Text(out)
        # ids exported through a float column ("17850.0") read as text: drop the ".0"
        first = text.first()
        if first is not None and first.endswith(".0") and out.dropna().str.fullmatch(r"-?\d+\.0+").all():
            out = out.str.replace(r"\.0+$", "", regex=True)
            text = Text(out)
        allowed = allowed_values(self.table, col, self.segments)
        if allowed is not None and not text.all_in(allowed):
            bad = out.notna() & ~out.isin(allowed)
            if bad.any():  # accept case and spacing variants of the canonical labels
                canon = {norm_label(a): a for a in allowed}
                fixed = out[bad].str.lower().str.replace(r"[^0-9a-z]+", "_", regex=True).str.strip("_").map(canon)
                fixed = fixed.where(fixed.notna(), out[bad])
                out = out.copy()
                out[bad] = fixed
        return out

    def _to_number(self, col: Col, s: pd.Series) -> pd.Series:
        if pd.api.types.is_bool_dtype(s.dtype):
            s = s.astype("Int64")
        if not pd.api.types.is_numeric_dtype(s.dtype):
            text = s.astype("string").str.strip()
            text = text.mask(text == "", None)
            num = pd.to_numeric(text, errors="coerce")
            bad = (text.notna() & num.isna()).to_numpy(dtype=bool)
            if bad.any():
                self.err(col.name, f"{many(bad.sum(), 'value')} could not be read as a number ({self.rows(bad)}; e.g. "
                                   f"{examples_text(text[bad].head(20))})",
                         "correct them in the file, or map them to numbers with `values:`"
                         + (" (write 1234.5, without thousands separators or currency signs)" if True else ""))
            s = num
        if col.dtype == "int":
            if pd.api.types.is_integer_dtype(s.dtype):   # whole numbers already: nothing to check
                return s.astype("Int64")
            vals = s.to_numpy(dtype=float, na_value=np.nan)
            frac = ~np.isnan(vals) & (vals != np.round(vals))
            if frac.any():
                self.err(col.name, f"{many(frac.sum(), 'value is')} not a whole number ({self.rows(frac)}; e.g. "
                                   f"{examples_text(vals[frac][:20])})", "write whole numbers")
                return s
            return s.astype("Int64")
        return s.astype("float64")

    def _to_bool(self, col: Col, s: pd.Series) -> pd.Series:
        if pd.api.types.is_bool_dtype(s.dtype):
            return s.astype("boolean") if s.isna().any() else s.astype(bool)
        text = s.astype("string").str.strip().str.lower()
        out = pd.Series(pd.NA, index=s.index, dtype="boolean")
        out[text.isin(TRUE).fillna(False).to_numpy(dtype=bool)] = True
        out[text.isin(FALSE).fillna(False).to_numpy(dtype=bool)] = False
        bad = (text.notna() & out.isna()).to_numpy(dtype=bool)
        if bad.any():
            self.err(col.name, f"{many(bad.sum(), 'value')} could not be read as yes/no ({self.rows(bad)}; e.g. "
                               f"{examples_text(s[bad].head(20))})",
                     f"map them with `values: {{{col.name}: {{<their value>: true}}}}`; recognised: "
                     "true/false, yes/no, y/n, 1/0")
        return out if out.isna().any() else out.astype(bool)

    def _to_date(self, col: Col, s: pd.Series) -> pd.Series:
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            out = s
            if getattr(out.dt, "tz", None) is not None:
                out = out.dt.tz_convert("UTC").dt.tz_localize(None)
        else:
            fmt = self.spec.date_format
            if s.dtype == object:
                s = s.map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v) if len(s) < 200_000 else s
            text = s.astype("string").str.strip()
            text = text.mask(text == "", None)
            out = pd.to_datetime(text, format=fmt or "ISO8601", errors="coerce")
            bad = (text.notna() & out.isna()).to_numpy(dtype=bool)
            if bad.any():
                examples = text[bad].head(20).tolist()
                expected = f"the format {fmt!r} (`date_format:`)" if fmt else "the ISO format YYYY-MM-DD (optionally with a time)"
                guess = _guess_date_format(text[bad].head(50).tolist())
                fix = (f"write `date_format: \"{guess}\"` for this table" if guess and guess != fmt else
                       "correct those values, or set `date_format:` to the file's format (e.g. \"%d/%m/%Y\")")
                self.err(col.name, f"{many(bad.sum(), 'value')} could not be read as a date in {expected} "
                                   f"({self.rows(bad)}; e.g. {examples_text(examples)})", fix)
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_convert("UTC").dt.tz_localize(None)
        out = out.astype("datetime64[ns]") if out.dtype != "datetime64[ns]" else out
        return out.dt.normalize() if col.dtype == "date" and not _at_midnight(out) else out

    # -- derived columns --------------------------------------------------------------------------
    def compute(self):
        for target, expr in self.spec.compute.items():
            if not _SAFE_EXPR.match(expr) or "__" in expr or re.search(r"\.\s*[A-Za-z_]", expr):
                self.err(target, f"`compute:` expression {expr!r} is not allowed",
                         "use column names, numbers, + - * / %, comparisons and & | ~ only")
                continue
            names = set(re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*\b", expr)) - {"and", "or", "not", "True", "False"}
            unknown = [n for n in names if n not in self.df.columns]
            if unknown:
                self.err(target, f"`compute:` expression {expr!r} uses {', '.join(map(repr, unknown))}, "
                                 f"which {'is' if len(unknown) == 1 else 'are'} not a column after mapping; columns: "
                                 f"{', '.join(c for c in self.df.columns if c != ROW)}",
                         "map the file's column with `columns:` first, then use the mapped name")
                continue
            env = {}
            for n in names:
                s = self.df[n]
                if not pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
                    num = pd.to_numeric(s.astype("string").str.strip(), errors="coerce")
                    if num.notna().sum() == s.notna().sum():
                        s = num
                env[n] = s
            try:
                result = pd.DataFrame(env).eval(expr)
            except Exception as exc:
                self.err(target, f"`compute:` expression {expr!r} failed: {exc}", "check the expression")
                continue
            try:
                col = self.table.col(target)
            except KeyError:
                self.df[target] = result
                continue
            self.df[target] = self.coerce(col, pd.Series(result, index=self.df.index))

    def filter_rows(self):
        """`where:` keeps the rows where its condition holds, `exclude_if:` drops them (insight.data.conditions)."""
        from insight.data.conditions import ConditionError, evaluate
        for key, keep in (("where", True), ("exclude_if", False)):
            expr = getattr(self.spec, key)
            if not expr or self.errors:
                continue
            try:
                hit = evaluate(expr, self.df.drop(columns=[ROW]))
            except ConditionError as exc:
                self.err(None, f"`{key}: {expr}`: {exc}", "use the column names after `columns:` mapping")
                continue
            drop = (~hit.fillna(False) if keep else hit.fillna(False)).to_numpy(dtype=bool)
            if drop.any():
                self.notes.append(f"{many(drop.sum(), 'row')} dropped by `{key}: {expr}` ({self.rows(drop)})")
                self.df = self.df.loc[~drop].reset_index(drop=True)

    def date_offsets(self):
        for target, off in self.spec.date_offsets.items():
            src = off.months or off.days
            if not self._need(src, "date_offsets"):
                continue
            n = pd.to_numeric(self.df[src], errors="coerce")
            bad = (self.df[src].notna() & n.isna()).to_numpy(dtype=bool)
            if bad.any():
                self.err(src, f"{many(bad.sum(), 'value')} could not be read as a number ({self.rows(bad)})", "correct them")
                continue
            as_of = pd.Timestamp(off.as_of)
            if off.days:
                out = as_of - pd.to_timedelta(n, unit="D")
            else:
                total = as_of.year * 12 + (as_of.month - 1) - n.round()
                first = pd.to_datetime(pd.DataFrame({"year": total // 12, "month": total % 12 + 1, "day": 1}),
                                       errors="coerce")
                dim = first.dt.days_in_month
                out = first + pd.to_timedelta(np.minimum(as_of.day, dim) - 1, unit="D")
            self.df[target] = out.astype("datetime64[ns]").dt.normalize()

    def one_row_per_key(self):
        if not self.spec.one_row_per_key:
            return
        key = list(self.table.key)
        missing = [k for k in key if k not in self.df.columns]
        if missing:
            return
        agg = {c: self.spec.aggregate.get(c, "first") for c in self.df.columns if c not in key}
        agg[ROW] = "min"
        before = len(self.df)
        self.df = self.df.groupby(key, sort=False, dropna=False, observed=True).agg(agg).reset_index()
        if len(self.df) < before:
            self.notes.append(f"{before:,} file rows combined into {len(self.df):,} rows, one per "
                              f"{' + '.join(key)}")

    def select(self) -> pd.DataFrame:
        canon = [c.name for c in self.table.columns if c.name in self.df.columns]
        extra = [a for a in self.spec.attribute_names().values() if a in self.df.columns and a not in canon]
        for a in extra:   # attributes are labels to group by: text, stripped, blanks missing
            self.df[a] = self._to_str(Col(a, "str", nullable=True), self.df[a])
        if self.table.extra_columns:
            used = set(self.spec.columns) | {ROW}
            extra += [c for c in self.df.columns if c not in canon and c not in used and c not in extra]
        dropped = [c for c in self.df.columns if c not in canon and c not in extra and c != ROW]
        if dropped:
            self.notes.append(f"columns not used (not part of the canonical table, dropped): {', '.join(dropped)}")
        self.dropped = dropped
        return self.df[canon + extra + [ROW]]


_DAY_NS = 86_400 * 10**9
_NAT = np.iinfo(np.int64).min


def _at_midnight(s: pd.Series) -> bool:
    """Every value of a datetime64[ns] column (missing ones aside) is at midnight, so that
    `s.dt.normalize()` would give the same values (dates from a Parquet file or a database usually are)."""
    ns = s.to_numpy(dtype="datetime64[ns]").view("int64")
    # NaT (the smallest int64) is not a whole number of days: the values off midnight are the NaTs
    return np.count_nonzero(ns % _DAY_NS) == np.count_nonzero(ns == _NAT)


def _guess_date_format(values: list[str]) -> str | None:
    values = [v for v in values if isinstance(v, str)]
    if not values:
        return None
    for fmt in COMMON_DATE_FORMATS:
        parsed = pd.to_datetime(pd.Series(values), format=fmt, errors="coerce")
        if parsed.notna().all():
            return fmt
    return None


def map_table(name: str, df: pd.DataFrame, spec: TableSpec | None, file: str,
              segments: list[str] | None = None) -> tuple[pd.DataFrame | None, Mapper]:
    m = Mapper(name, df, spec, file, segments)
    out = m.run()
    return out, m

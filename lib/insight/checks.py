"""Input checks every analysis shares: a missing column or an unparseable date in a table handed to
an analysis raises one kind of error that names the table, the column, example rows and the fix.

Area modules subclass InputError (CrmInputError, SuccessDataError, ...) so callers can catch either.
"""
from __future__ import annotations

from typing import Iterable

import pandas as pd
import yaml

# The YAML loader for everything the workbook reads (params, questionnaires, mapping files, transcripts'
# front matter): libyaml's parser under PyYAML's safe constructor when PyYAML has it (its PyPI wheels do),
# the same documents and errors as yaml.SafeLoader at a tenth of its time (a study's params and
# questionnaire are read by every notebook's kernel: 50-60 ms each in Python), else yaml.SafeLoader.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str):
    """yaml.safe_load(text) with YAML_LOADER."""
    return yaml.load(text, Loader=YAML_LOADER)   # noqa: S506 - a safe loader (plain data, no tags)


class InputError(ValueError):
    """Bad input to an analysis: the message names the table, the column, example rows and the fix."""


def require_columns(df: pd.DataFrame, table: str, columns: Iterable[str], purpose: str = "",
                    fix: str | None = None, error: type[InputError] = InputError) -> None:
    """Raise `error` when `df` lacks any of `columns`, listing what it has and how to map it."""
    if not isinstance(df, pd.DataFrame):
        raise error(f"{table}: expected a table (DataFrame), got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if not missing:
        return
    why = f" (needed for {purpose})" if purpose else ""
    raise error(
        f"table {table!r} has no column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}{why}; "
        f"it has: {', '.join(map(str, df.columns))}. Fix: "
        + (fix or f"map your export's column onto it in params data.tables.{table}.columns "
                  f"({{their_name: {missing[0]}}}) or give a constant with params data.tables.{table}.defaults "
                  f"(canonical columns: insight.data.schema)."))


def as_dates(df: pd.DataFrame, table: str, column: str, nullable: bool = True,
             error: type[InputError] = InputError) -> pd.Series:
    """The column as datetime64; values that are not dates (or missing when not `nullable`) raise
    `error` naming the first rows."""
    s = df[column]
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
    else:
        out = pd.to_datetime(s, errors="coerce")
    bad = out.isna() & s.notna()
    if bad.any():
        rows = list(df.index[bad.to_numpy()][:5])
        raise error(f"table {table!r}, column {column!r}: {int(bad.sum()):,} value(s) are not dates, e.g. rows "
                    f"{rows} ({', '.join(repr(v) for v in s[bad].head(3))}). Fix: write dates as YYYY-MM-DD or set "
                    f"data.tables.{table}.date_format in the study params.")
    if not nullable and out.isna().any():
        rows = list(df.index[out.isna().to_numpy()][:5])
        raise error(f"table {table!r}, column {column!r}: {int(out.isna().sum()):,} row(s) have no date, e.g. rows "
                    f"{rows}. Fix: fill the dates in the export or drop those rows (data.tables.{table}.drop_missing).")
    return out

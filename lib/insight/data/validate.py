"""Validate canonical tables against insight.data.schema with pandera, plus the checks between
tables (an order's customer must exist) and soft warnings for missing values.

Types are parsed (with row-level messages) by insight.data.mapping before this runs; pandera
checks what the schema declares about values: missing values in non-nullable columns, allowed
values, ranges and unique keys. Every failure becomes one Problem per column and check with the
count, the first file rows and example values, and what to write in params or the file.
"""
from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from insight.data import scratch
from insight.data.loaders import ROW
from insight.data.mapping import allowed_values, norm_label
from insight.data.problems import examples_text, many, problem, rows_text
from insight.data.schema import TABLES, Table
from insight.params import Problem

# Columns whose missing values are expected by design (no warning): dates of events that have not
# happened, answers only some rows have, links that only exist for some rows.
MISSING_BY_DESIGN = {
    "customers": {"churn_date", "churn_reason"},
    "products": {"launch_date"},
    "subscriptions": {"end_date", "renewal_date"},
    "interactions": {"resolved_date", "product_id", "reason_code", "implemented", "text", "status"},
    "survey_responses": {"submitted_at", "duration_seconds", "customer_id", "email"},
    "participants": {"customer_id", "name"},
    "qual_sources": {"participant_id", "title"},
    "codebook": {"parent", "definition", "hypotheses"},
    "coded_segments": {"participant_id", "turn", "is_probe"},
    "journey_events": {"customer_id", "touchpoint", "segment"},
    "usage": {"events"},
    "feedback_items": {"planned_date", "shipped_date", "customer_told_date", "text"},
    "reviews": {"customer_id", "text"},
}


def build_schema(table: Table, segments: list[str] | None = None, unique: bool = True) -> "pa.DataFrameSchema":
    # pandera (and the pyspark.pandas it imports) only when a table is validated: the notebook kernels'
    # fork server imports this module with the study store but never validates (0.2 s of its start)
    import pandera.pandas as pa

    columns = {}
    for c in table.columns:
        checks = []
        allowed = allowed_values(table, c, segments)
        if allowed is not None:
            checks.append(pa.Check.isin(list(allowed)))
        if c.min is not None:
            checks.append(pa.Check.ge(c.min))
        if c.max is not None:
            checks.append(pa.Check.le(c.max))
        columns[c.name] = pa.Column(nullable=c.nullable, checks=checks, required=c.required)
    return pa.DataFrameSchema(columns, unique=list(table.key) if unique else None, report_duplicates="all", strict=False)


def keys_are_unique(df: pd.DataFrame, key: list[str]) -> bool:
    """True when no two rows share the key (missing values equal to each other, as in pandera and in
    SQL's GROUP BY). Rows in key order are decided by their neighbours (_unique_if_sorted); others by a
    64-bit hash of the key computed in DuckDB over the key columns as Arrow (no copy of the strings) and
    sorted in NumPy, the key columns themselves grouped in DuckDB only when two hashes meet; pandera's own
    check (report_duplicates="all") costs several times that per million rows, so it runs only when there
    are duplicates to report row by row. Columns Arrow cannot hold as one type
    (mixed objects) fall back to DataFrame.duplicated. Measured on the 10M demo order lines (order_id,
    product_id; not in key order): the hashes sorted 0.9 CPU s, grouped in DuckDB 2.9 s,
    DataFrame.duplicated 6.6 s."""
    if not all(c in df.columns for c in key):
        return False
    if len(df) < 100_000:
        return not df.duplicated(subset=key).any()
    import pyarrow   # not `pa`: that is pandera in this module

    try:
        keys = pyarrow.Table.from_pandas(df[key], preserve_index=False)
    except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError, TypeError, ValueError):
        return not df.duplicated(subset=key).any()
    decided = _unique_if_sorted([keys.column(c) for c in range(keys.num_columns)])
    if decided is not None:
        return decided
    with scratch.duckdb(keys=keys) as con:
        cols = ", ".join('"' + c.replace('"', '""') + '"' for c in key)
        # first over a 64-bit hash of the key (equal keys hash alike, so distinct hashes prove distinct
        # keys), sorted in NumPy: on the 10M demo order lines 0.9 CPU s, where DuckDB's grouping of the
        # hashes took 2.9; only when two hashes meet are the keys themselves grouped (a collision, or a duplicate)
        hashes = np.sort(con.execute(f"SELECT hash({cols}) AS h FROM keys").fetchnumpy()["h"])
        if not (hashes[1:] == hashes[:-1]).any():
            return True
        del hashes
        return con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM keys GROUP BY ALL HAVING count(*) > 1)").fetchone()[0] == 0


# column types whose order and equality in Arrow are those of pandas (no NaN, no -0.0: not floats)
def _ordered_type(t) -> bool:
    import pyarrow

    return (pyarrow.types.is_string(t) or pyarrow.types.is_large_string(t) or pyarrow.types.is_integer(t)
            or pyarrow.types.is_timestamp(t) or pyarrow.types.is_date(t) or pyarrow.types.is_boolean(t))


_BITS = ((8, "uint8"), (16, "uint16"), (32, "uint32"), (64, "uint64"))


def _unique_if_sorted(cols: list) -> bool | None:
    """Whether the rows of the key columns (Arrow) are unique, decided without hashing the keys when the
    rows come in key order, as exports and the demo company usually do (ids ascending, events by id,
    costs by customer and month); None when it cannot be decided this way (the caller groups then).

    Rows sorted on the whole key (no step down between neighbours): unique exactly when no two
    neighbours are equal. Rows sorted on the first columns only (order lines by order, usage by
    customer and month): equal keys can only meet inside a run of rows with the same first columns;
    when the rest is one column of at most 64 values, each row sets the bit of its value and a run
    holds a duplicate exactly when it has more rows than bits set. One comparison of neighbours per
    column (Arrow, a few ms per million rows) and a few bytes per row, where grouping hashes every key.
    Missing values and floats (NaN, -0.0) are left to the grouping, which treats them as pandas does."""
    import pyarrow.compute as pc

    n = len(cols[0])
    if n < 2 or any(c.null_count or not _ordered_type(c.type) for c in cols):
        return None
    same = None   # neighbours equal on the columns so far
    for j, col in enumerate(cols):
        prev, nxt = col.slice(0, n - 1), col.slice(1)
        down = pc.less(nxt, prev)
        if pc.any(down if same is None else pc.and_(down, same)).as_py():
            break   # not sorted on this column within runs of equal earlier columns
        eq = pc.equal(nxt, prev)
        same = eq if same is None else pc.and_(same, eq)
    else:
        return not pc.any(same).as_py()
    rest = cols[j:]
    if same is None or len(rest) != 1:
        return None
    values = pc.unique(rest[0])
    width = next((dt for bits, dt in _BITS if len(values) <= bits), None)
    if width is None:
        return None
    codes = pc.index_in(rest[0], value_set=values).to_numpy().astype(width)
    flags = np.left_shift(np.ones(1, dtype=width), codes)
    del codes
    starts = np.flatnonzero(~same.to_numpy()) + 1
    starts = np.concatenate([[0], starts])
    held = np.bitwise_or.reduceat(flags, starts)
    lengths = np.diff(np.append(starts, n))
    return bool(np.all(np.bitwise_count(held) == lengths))


def validate_table(name: str, df: pd.DataFrame, file: str, segments: list[str] | None = None) -> list[Problem]:
    """Problems (errors) of one canonical table; df has a RangeIndex and the `_row` column."""
    from pandera.errors import SchemaErrors

    table = TABLES[name]
    schema = build_schema(table, segments, unique=bool(table.key) and not keys_are_unique(df, list(table.key)))
    try:
        schema.validate(df, lazy=True, inplace=True)   # the schema only checks (no coercion): no copy of the table
        return []
    except SchemaErrors as exc:
        fc = exc.failure_cases
    out: list[Problem] = []
    rownums = df[ROW].to_numpy()
    fc = fc.copy()
    fc["check"] = fc["check"].astype(str)
    for (col, check), grp in fc.groupby(["column", "check"], sort=False, dropna=False):
        idx = pd.to_numeric(grp["index"], errors="coerce").dropna().astype(int).unique()
        idx = np.sort(idx)
        rows = rows_text(rownums[idx[:5]], len(idx)) if len(idx) else ""
        key = f"{name}.{col}" if isinstance(col, str) else name
        if "uniqueness" in check:
            keycols = " + ".join(table.key)
            ex = df.loc[idx[:5], list(table.key)].astype(str).agg(" / ".join, axis=1).tolist() if len(idx) else []
            if col != table.key[0] and len(table.key) > 1:
                continue  # one message per key, not per key column
            out.append(problem(file, f"{name}.{keycols.replace(' + ', '+')}",
                               f"{many(len(idx), 'row')} share their key ({keycols}) with another row ({rows}; "
                               f"e.g. {examples_text(ex)})",
                               "remove the duplicate rows from the file, or add `one_row_per_key: true` (with "
                               "`aggregate:`) when several rows per key are expected"))
        elif check == "not_nullable":
            out.append(problem(file, key, f"{many(len(idx), 'row has', 'rows')} no {col} ({rows})",
                               f"fill in {col} in the file, or drop those rows with `drop_missing: [{col}]`"))
        elif check.startswith("isin"):
            c = table.col(col)
            allowed = list(allowed_values(table, c, segments) or [])
            values = pd.Series(grp["failure_case"]).astype(str)
            counts = values.value_counts()
            suggest = {}
            for v in counts.index[:5]:
                close = difflib.get_close_matches(norm_label(v), allowed, n=1, cutoff=0.4)
                suggest[v] = close[0] if close else "<one of the allowed values>"
            mapping = ", ".join(f"{v!r}: {t}" for v, t in suggest.items())
            seg_hint = " (or list your segments in `data.segments:`)" if col == "segment" else ""
            out.append(problem(file, key,
                               f"{many(len(idx), 'value is')} not allowed ({rows}; e.g. {examples_text(counts.index[:5])}); "
                               f"allowed: {', '.join(map(str, allowed))}",
                               f"map them in params with `values: {{{col}: {{{mapping}}}}}`{seg_hint}"))
        elif check.startswith(("greater_than", "less_than", "in_range")):
            c = table.col(col)
            bound = f"at least {c.min:g}" if c.min is not None else ""
            if c.max is not None:
                bound += (" and " if bound else "") + f"at most {c.max:g}"
            out.append(problem(file, key, f"{many(len(idx), 'value is')} out of range: must be {bound} ({rows}; e.g. "
                                          f"{examples_text(grp['failure_case'].head(20).tolist())})",
                               "correct them in the file, or drop those rows"))
        elif check == "column_in_dataframe":
            out.append(problem(file, f"{name}.{grp['failure_case'].iloc[0]}",
                               f"the required column {grp['failure_case'].iloc[0]!r} is missing",
                               "map it with `columns:`"))
        else:
            out.append(problem(file, key, f"{len(grp):,} values fail the check {check} ({rows})",
                               "correct them in the file"))
    return out


def check_references(frames: dict[str, pd.DataFrame], files: dict[str, str],
                     known: dict[str, pd.DataFrame] | None = None,
                     distinct: dict | None = None) -> tuple[list[Problem], list[str]]:
    """Every non-missing value of a referencing column in `frames` exists in the table it refers to,
    looked up in `known` (the referenced tables, or only their key columns; default: `frames`).
    Returns (errors, notes on checks that could not run because the other table is absent). With
    `distinct` (a dict), the number of distinct non-missing values of each column checked is put into
    it under (table, column) where the check found it anyway (text held in Arrow, the usual case)."""
    known = frames if known is None else {**known, **frames}
    errors: list[Problem] = []
    notes: list[str] = []
    for name, df in frames.items():
        for c in TABLES[name].columns:
            if not c.references or c.name not in df.columns:
                continue
            other, ocol = c.references.split(".")
            if other not in known or ocol not in known[other].columns:
                notes.append(f"{name}.{c.name} not checked against {other} (the study has no {other} table)")
                continue
            vals = df[c.name]
            found: dict = {}
            unknown = _unknown_values(vals, known[other][ocol], found)
            if distinct is not None and "distinct" in found:
                distinct[(name, c.name)] = found["distinct"]
            if len(unknown):
                bad = vals.isin(unknown).to_numpy(dtype=bool)
                unknown = pd.unique(vals[bad])
                rows = rows_text(df[ROW].to_numpy()[bad][:5], int(bad.sum()))
                errors.append(problem(files.get(name, name), f"{name}.{c.name}",
                                      f"{many(bad.sum(), 'row')} refer{'s' if bad.sum() == 1 else ''} to {many(len(unknown), c.name + ' value')} "
                                      f"missing from the {other} table "
                                      f"({files.get(other, other)}) ({rows}; e.g. {examples_text(unknown[:5])})",
                                      f"add them to the {other} file, or remove those rows; if the ids are written "
                                      f"differently in the two files, align them (e.g. leading zeros)"))
    return errors, notes


def _arrow_text(s: pd.Series):
    """The Arrow data of a text column held in Arrow (pandas' default `str`), else None."""
    dtype = s.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        import pyarrow   # not `pa`: that is pandera in this module

        arrow = pyarrow.array(s.array)   # no copy
        if pyarrow.types.is_string(arrow.type) or pyarrow.types.is_large_string(arrow.type):
            return arrow
    return None


def _unknown_text(vals, known, found: dict | None = None) -> pd.Index:
    """The distinct non-missing values of the Arrow text `vals` absent from `known` (Arrow text), in
    the order they first appear: the distinct values (one hash pass over `vals`), then a lookup of
    each of them. Their number goes into `found["distinct"]`: the preparation's profile counts a
    table's customers with it instead of a second pass (10M order lines: about 0.6 CPU s)."""
    import pyarrow.compute as pc

    distinct = pc.unique(vals)
    if found is not None:
        found["distinct"] = len(distinct) - (1 if distinct.null_count else 0)
    ok = pc.is_in(distinct, value_set=pc.unique(known).cast(distinct.type), skip_nulls=True)
    absent = pc.and_(pc.invert(ok), pc.is_valid(distinct))
    if not pc.any(absent).as_py():
        return pd.Index([], dtype=object)
    return pd.Index(pc.filter(distinct, absent).to_pylist(), dtype=object)


def _unknown_values(values: pd.Series, known: pd.Series, found: dict | None = None) -> pd.Index:
    """The distinct non-missing `values` absent from `known`. Text held in Arrow on both sides (ids, the
    usual case), of any length: Arrow's is_in (_unknown_text), which holds up better than DuckDB's two
    threads on a busy machine and, for small tables, saves turning the other table's ids into Python
    objects for each of them. Other large columns: one anti-join in DuckDB over the columns as Arrow
    (both cores, no copy of the strings; 22M usage rows against 500k customers: about 1 s instead of 4 s
    of distinct values and hash lookups in pandas). Small ones, or values Arrow cannot hold as one type:
    distinct values first, then an object hash lookup."""
    vals, ids = _arrow_text(values), _arrow_text(known)
    if vals is not None and ids is not None:
        return _unknown_text(vals, ids, found)
    if len(values) >= 100_000:
        import pyarrow   # not `pa`: that is pandera in this module

        try:
            v = pyarrow.table({"v": pyarrow.array(values, from_pandas=True)})
            k = pyarrow.table({"k": pyarrow.array(known, from_pandas=True)})
        except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError, TypeError, ValueError):
            v = None
        def kind(t):   # string and large_string compare alike; any other type must match exactly
            return "string" if pyarrow.types.is_string(t) or pyarrow.types.is_large_string(t) else str(t)

        if v is not None and kind(v.schema.field("v").type) == kind(k.schema.field("k").type) == "string":
            return _unknown_text(v.column("v"), k.column("k"), found)
        if v is not None and kind(v.schema.field("v").type) == kind(k.schema.field("k").type):
            with scratch.duckdb(vals=v, known=k) as con:
                got = con.execute("SELECT DISTINCT v FROM vals ANTI JOIN known ON vals.v = known.k "
                                  "WHERE v IS NOT NULL").fetchall()
            return pd.Index([r[0] for r in got], dtype=object)
    known_ix = pd.Index(known.dropna().unique().astype(object), dtype=object)
    distinct = pd.Index(values.dropna().unique().astype(object), dtype=object)
    return distinct[known_ix.get_indexer(distinct) < 0]


def missing_warnings(name: str, df: pd.DataFrame, file: str, threshold: float) -> list[Problem]:
    """Soft problems: missing values above the threshold in columns that should mostly be filled."""
    out = []
    table = TABLES[name]
    n = len(df)
    if not n:
        return out
    by_design = MISSING_BY_DESIGN.get(name, set())
    for c in table.columns:
        if c.name not in df.columns or c.name in by_design or c.personal:
            continue
        miss = df[c.name].isna().to_numpy()
        k = int(miss.sum())
        if k and k / n > threshold:
            out.append(problem(file, f"{name}.{c.name}",
                               f"{k / n:.1%} of {c.name} values are missing ({k:,} of {n:,} rows; "
                               f"{rows_text(df[ROW].to_numpy()[miss][:5], k)})",
                               f"fill them in the export if you can; analyses by {c.name} leave these rows out",
                               "warning"))
    return out

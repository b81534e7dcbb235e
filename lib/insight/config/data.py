"""Where a study's data comes from: the generated demo company, or the user's own exports
mapped onto the canonical tables (see insight.data.schema).

Example (a CRM export and order lines; tests/fixtures/data/*.yaml has complete real examples):

    data:
      tables:
        customers:
          path: data/local/crm_accounts.xlsx
          sheet: Accounts
          columns: {Account ID: customer_id, Tier: segment, Created: signup_date, Stage: status}
          values: {segment: {Gold: enterprise, Silver: mid_market, Bronze: smb}}
          date_format: "%d/%m/%Y"
        orders:
          path: data/local/order_lines.csv.gz          # encoding and delimiter detected
          columns: {Invoice: order_id, SKU: product_id, Account: customer_id, Date: order_date,
                    Qty: quantity, Price: unit_price}
          compute: {revenue: quantity * unit_price, is_return: quantity < 0}
          drop_missing: [customer_id]                   # dropped with a warning giving the count
          exclude: {product_id: [POST, FEE]}            # rows that are not products
          one_row_per_key: true                         # several lines per order_id + product_id
          aggregate: {quantity: sum, revenue: sum}
        subscriptions:                                  # from a database (insight.data.sources)
          source: {url: "postgres://analyst@db.example.com:5432/billing", table: billing.subscriptions}

Steps, in order: columns -> drop_missing -> exclude -> values -> defaults -> (required columns)
-> types (dates: date_format or ISO) -> compute -> date_offsets -> one_row_per_key -> fill_missing.
Headers that differ from a canonical name only in case and spacing ("Customer ID") need no mapping.
"""
from __future__ import annotations

import datetime as dt
import difflib
from typing import Any, Literal

from pydantic import Field, model_validator

from insight.config.base import Section

TableName = Literal[
    "customers", "products", "orders", "subscriptions", "costs", "interactions",
    "survey_responses", "participants", "qual_sources", "codebook", "coded_segments",
    "journey_events", "usage", "feedback_items", "reviews",
]


Aggregate = Literal["first", "last", "min", "max", "sum", "mean", "median", "count", "nunique"]


class DateOffset(Section):
    """A date computed back from a reference date by an age column (e.g. tenure in months)."""
    as_of: dt.date = Field(description="the date the export was taken, e.g. 2020-01-31")
    months: str | None = Field(default=None, description="column holding a number of months before as_of")
    days: str | None = Field(default=None, description="column holding a number of days before as_of")

    @model_validator(mode="after")
    def _one_unit(self):
        if (self.months is None) == (self.days is None):
            raise ValueError("give exactly one of `months:` or `days:` (the column holding the age)")
        return self


class SourceSpec(Section):
    """A table or a SQL query on a database connection (insight.data.sources), read instead of a file.
    Credentials come only from the environment: `${PGPASSWORD}`-style placeholders in the URL, or the
    driver's own variables (PGUSER, PGPASSWORD, PGPASSFILE...)."""
    url: str = Field(description="connection URL without a password, e.g. postgres://analyst@db.example.com:5432/sales; "
                                 "a password may only be written as an environment variable, postgres://${PGUSER}:${PGPASSWORD}@host/db")
    table: str | None = Field(default=None, description="table (or view) to read, schema-qualified, e.g. sales.orders")
    query: str | None = Field(default=None, description="SELECT statement whose result is the table")
    timeout: int = Field(default=5, ge=2, le=300, description="seconds to wait for the server to answer when connecting (at least 2)")

    @model_validator(mode="after")
    def _check(self):
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of `table:` (e.g. sales.orders) or `query:` (a SELECT statement)")
        from insight.data.sources import url_problem

        reason = url_problem(self.url)
        if reason:
            raise ValueError(reason)
        return self


class TableSpec(Section):
    path: str | None = Field(default=None, description="file path, absolute or relative to the project root")
    source: SourceSpec | None = Field(default=None, description="read the table from a database instead of a file: "
                                      "{url: postgres://host:5432/db, table: schema.table} or {url: ..., query: select ...}")
    format: Literal["csv", "xlsx", "parquet"] | None = Field(default=None, description="inferred from the suffix when omitted")
    sheet: str | None = Field(default=None, description="Excel sheet name")
    encoding: str = Field(default="auto", description="auto, utf-8, utf-8-sig, gb18030, gbk, latin-1, cp1252")
    delimiter: str | None = Field(default=None, description="CSV field separator; sniffed when omitted")
    columns: dict[str, str] = Field(default_factory=dict, description="their column name -> canonical name")
    values: dict[str, dict[bool | int | float | str, Any]] = Field(default_factory=dict, description="canonical column -> {their value: canonical value}; YAML reads unquoted Yes/No as booleans, which still match the spellings yes/no, true/false, y/n, 1/0")
    defaults: dict[str, Any] = Field(default_factory=dict, description="canonical column -> constant, for columns the export lacks")
    date_format: str | None = Field(default=None, description="strftime format of the date columns, e.g. %d/%m/%Y")
    exclude: dict[str, list[Any]] = Field(default_factory=dict, description="canonical column -> values whose rows are dropped (e.g. non-product stock codes)")
    personal: list[str] | None = Field(default=None, description="columns of this table to pseudonymise besides those the data model marks personal (contact name, email, phone), e.g. [rep]; default: the study-wide personal_columns")
    drop_missing: list[str] = Field(default_factory=list, description="canonical columns whose rows are dropped (with a warning giving the count) when the value is missing, e.g. orders without a customer id")
    fill_missing: dict[str, Any] = Field(default_factory=dict, description="canonical column -> value written where the file has none")
    compute: dict[str, str] = Field(default_factory=dict, description="canonical column -> arithmetic/comparison expression over other columns (pandas eval), e.g. revenue: quantity * unit_price, is_return: quantity < 0")
    date_offsets: dict[str, DateOffset] = Field(default_factory=dict, description="canonical date column -> {as_of, months|days: column}: a date counted back from the export date")
    one_row_per_key: bool = Field(default=False, description="the file has several rows per key (e.g. customers derived from order lines): keep one row per table key, combining rows with `aggregate`")
    aggregate: dict[str, Aggregate] = Field(default_factory=dict, description="with one_row_per_key: canonical column -> first, last, min, max, sum, mean, median, count or nunique (default first)")

    @model_validator(mode="after")
    def _one_origin(self):
        if (self.path is None) == (self.source is None):
            raise ValueError("give exactly one of `path:` (an export file) or `source:` (a database table or query)")
        if self.source is not None and (self.format or self.sheet or self.delimiter or self.encoding != "auto"):
            raise ValueError("`format:`, `sheet:`, `encoding:` and `delimiter:` describe files; remove them for a `source:`")
        return self


class DemoSpec(Section):
    scale: float = Field(default=1.0, gt=0, description="1 = the demo size; larger values feed the benchmark")
    seed: int = Field(default=20240101, description="random seed of the generator; the same seed gives the same company")


class DataSpec(Section):
    demo: DemoSpec | None = Field(default=None, description="use the generated demo company")
    tables: dict[TableName, TableSpec] = Field(default_factory=dict, description="canonical table -> the export it is read from and how it maps; with `demo:` too, a table given here replaces the demo's. Several tables may read the same file (e.g. customers and products derived from order lines with one_row_per_key)")
    personal_columns: list[str] = Field(default_factory=lambda: ["name", "email", "phone"], description="names of columns pseudonymised wherever they appear outside the data model (e.g. survey columns); the model's own personal columns (customers' contact name, email, phone...) are always pseudonymised, product names are not")
    segments: list[str] | None = Field(default=None, description="allowed segment values; default: the canonical ones")
    missing_warning: float = Field(default=0.0, ge=0, le=1, description="share of missing values in a column above which a warning is shown")

    def cross_check(self, params) -> list:
        """Mapping keys must name canonical columns (typos are caught before any data is read)."""
        from insight.data.schema import TABLES

        out = []
        for tname, spec in self.tables.items():
            table = TABLES[tname]
            canon = [c.name for c in table.columns]
            produced = set(spec.columns.values()) | set(spec.compute) | set(spec.date_offsets)
            for key in ("values", "defaults", "exclude", "drop_missing", "fill_missing", "compute",
                        "date_offsets", "aggregate"):
                names = getattr(spec, key)
                for col in names:
                    if col in canon or (key in ("exclude", "drop_missing") and col in produced):
                        continue
                    if table.extra_columns:  # survey answers: any column name is fine
                        continue
                    close = difflib.get_close_matches(col, canon, n=1)
                    out.append((("data", "tables", tname, key, col),
                                f"{col!r} is not a column of the canonical {tname} table",
                                (f"did you mean `{close[0]}`? " if close else "")
                                + f"use one of: {', '.join(canon)}", "error"))
            for their, ours in spec.columns.items():
                if ours not in canon and not table.extra_columns and ours not in _used_names(spec):
                    close = difflib.get_close_matches(ours, canon, n=1)
                    out.append((("data", "tables", tname, "columns", their),
                                f"{their!r} is mapped to {ours!r}, which is not a column of the canonical {tname} table "
                                "(nor used by `compute:` or `date_offsets:`)",
                                (f"did you mean `{close[0]}`? " if close else "")
                                + f"map it to one of: {', '.join(canon)}", "error"))
            if spec.aggregate and not spec.one_row_per_key:
                out.append((("data", "tables", tname, "aggregate"), "`aggregate:` only applies with `one_row_per_key: true`",
                            "add `one_row_per_key: true` or remove `aggregate:`", "error"))
        return out


def _used_names(spec: TableSpec) -> set[str]:
    """Names that compute expressions and date offsets read (helper columns of a mapping)."""
    import re

    names: set[str] = set()
    for expr in spec.compute.values():
        names |= set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expr))
    for off in spec.date_offsets.values():
        names |= {n for n in (off.months, off.days) if n}
    return names

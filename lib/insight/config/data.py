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
-> types (dates: date_format or ISO) -> compute -> where / exclude_if -> date_offsets -> one_row_per_key
-> fill_missing.
Headers that differ from a canonical name only in case and spacing ("Customer ID") need no mapping.
"""
from __future__ import annotations

import datetime as dt
import difflib
from typing import Any, Literal

from pydantic import Field, model_validator

from insight.config.base import Section
from insight.config.qual import QualKind

TableName = Literal[
    "customers", "products", "orders", "subscriptions", "costs", "interactions",
    "survey_responses", "participants", "qual_sources", "codebook", "coded_segments",
    "journey_events", "usage", "feedback_items", "reviews",
]


QUAL_TABLES = ("participants", "qual_sources", "codebook", "coded_segments")   # what `data.qual` produces

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
    """A table or a SQL query on a database connection (insight.data.sources), read instead of a file:
    a PostgreSQL server, or a DuckDB or SQLite database file (opened read-only). Credentials come only
    from the environment: `${PGPASSWORD}`-style placeholders in the URL, or the driver's own variables
    (PGUSER, PGPASSWORD, PGPASSFILE...)."""
    url: str = Field(description="connection URL without a password, e.g. postgres://analyst@db.example.com:5432/sales; "
                                 "a password may only be written as an environment variable, postgres://${PGUSER}:${PGPASSWORD}@host/db; "
                                 "or a database file: duckdb://data/local/warehouse.duckdb, sqlite://data/local/crm.sqlite "
                                 "(relative to the project root; three slashes for an absolute path)")
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
    where: str | None = Field(default=None, description="keep only the rows where this condition holds, e.g. `mrr >= 0 and status != 'test'` (see insight.data.conditions: column comparisons joined by and/or/not; rows where it cannot be decided are dropped)")
    exclude_if: str | None = Field(default=None, description="drop the rows where this condition holds, e.g. `total_charges < 0` (same language as `where:`; rows where it cannot be decided are kept)")
    attributes: dict[str, str] | list[str] = Field(default_factory=dict, description="extra file columns kept as customer attributes that segment analyses can group by, e.g. [PaymentMethod] (kept as payment_method) or {PaymentMethod: payment}")
    one_row_per_key: bool = Field(default=False, description="the file has several rows per key (e.g. customers derived from order lines): keep one row per table key, combining rows with `aggregate`")
    aggregate: dict[str, Aggregate] = Field(default_factory=dict, description="with one_row_per_key: canonical column -> first, last, min, max, sum, mean, median, count or nunique (default first)")

    @model_validator(mode="after")
    def _one_origin(self):
        if (self.path is None) == (self.source is None):
            raise ValueError("give exactly one of `path:` (an export file) or `source:` (a database table or query)")
        if self.source is not None and (self.format or self.sheet or self.delimiter or self.encoding != "auto"):
            raise ValueError("`format:`, `sheet:`, `encoding:` and `delimiter:` describe files; remove them for a `source:`")
        return self


    @model_validator(mode="after")
    def _conditions_parse(self):
        from insight.data.conditions import ConditionError, parse
        for key in ("where", "exclude_if"):
            expr = getattr(self, key)
            if expr is not None:
                try:
                    parse(expr)
                except ConditionError as exc:
                    raise ValueError(f"`{key}: {expr}` is not a condition the workbook can read: {exc}") from None
        return self

    def attribute_names(self) -> dict[str, str]:
        """File column -> attribute column name (a list names them by their header, lower_snake_case)."""
        if isinstance(self.attributes, dict):
            return dict(self.attributes)
        import re
        return {a: re.sub(r"[^0-9a-z]+", "_", a.strip().lower()).strip("_") for a in self.attributes}


class QualSpec(Section):
    """Qualitative material named directly: a REFI-QDA project and/or a folder of transcripts,
    read into the four qualitative tables (participants, qual_sources, codebook, coded_segments)."""
    qdpx: str | None = Field(default=None, description="a REFI-QDA project (.qdpx) exported from QualCoder, NVivo, ATLAS.ti or MAXQDA: its codebook, text sources, cases (participants, with case variables such as segment) and codings")
    transcripts: str | None = Field(default=None, description="a folder of plain-text or Markdown transcripts (.txt, .md), one source per file, turns written 'Speaker: ...'; optional front matter participant, date, kind, title")
    kind: QualKind = Field(default="interview_1to1", description="the kind of every source unless `kinds:` or a transcript's front matter says otherwise")
    kinds: dict[str, QualKind] = Field(default_factory=dict, description="source name (in the .qdpx) or transcript file name without extension -> kind, e.g. {council_2024-09: expert_session}")
    date: dt.date | None = Field(default=None, description="the date of sources that carry none (a transcript without a date in its front matter or file name)")
    encoding: str | None = Field(default=None, description="encoding of the transcripts; default UTF-8 (with or without BOM) or UTF-16 with a BOM")

    @model_validator(mode="after")
    def _some(self):
        if self.qdpx is None and self.transcripts is None:
            raise ValueError("name a REFI-QDA project with `qdpx:` and/or a folder of transcripts with `transcripts:`")
        return self

    def cross_check(self, data: "DataSpec") -> list:
        from insight.paths import Project

        project, out = Project.find(), []
        if self.qdpx is not None:
            p = project.resolve(self.qdpx)
            if not p.is_file():
                out.append((("data", "qual", "qdpx"), f"file not found: {self.qdpx}",
                            "write the path (relative to the project root, or absolute) of the exported .qdpx project", "error"))
            elif p.suffix.lower() != ".qdpx":
                out.append((("data", "qual", "qdpx"), f"{self.qdpx} is not a .qdpx file",
                            "export the project as REFI-QDA (.qdpx); a folder of text transcripts goes under `transcripts:`", "error"))
        if self.transcripts is not None:
            p = project.resolve(self.transcripts)
            if not p.is_dir():
                out.append((("data", "qual", "transcripts"), f"folder not found: {self.transcripts}",
                            "write the path of the folder holding the .txt / .md transcripts", "error"))
            elif not any(p.glob("*.txt")) and not any(p.glob("*.md")):
                out.append((("data", "qual", "transcripts"), f"{self.transcripts} holds no .txt or .md transcripts",
                            "save the transcripts as plain text (.txt) or Markdown (.md) in that folder", "error"))
        for name in sorted(set(data.tables) & set(QUAL_TABLES)):
            out.append((("data", "tables", name), f"{name} is read from `data.qual:` and named under `tables:` too",
                        f"remove `tables: {name}` or `qual:`", "error"))
        return out


class DemoSpec(Section):
    scale: float = Field(default=1.0, gt=0, description="1 = the demo size; larger values feed the benchmark")
    seed: int = Field(default=20240101, description="random seed of the generator; the same seed gives the same company")


ENGINE_BACKENDS = ("duckdb", "pyspark", "postgres", "trino", "bigquery", "snowflake", "clickhouse", "datafusion",
                   "mysql", "mssql", "databricks", "athena", "impala", "oracle", "exasol", "risingwave", "sqlite")


class EngineSpec(Section):
    """Where the row-level aggregations run (insight.data.engine): DuckDB in process by default; any
    ibis backend by name or URL. Credentials never belong here: write ${VAR} in a URL and set VAR."""
    backend: str = Field(default="duckdb", description="ibis backend: duckdb (default, in process), pyspark, or another ibis backend")
    url: str | None = Field(default=None, description="an ibis connection URL instead of backend, e.g. trino://user@host:8080/hive/sales; ${VAR} is read from the environment")
    master: str | None = Field(default=None, description="pyspark: the Spark master, e.g. local[2] or spark://host:7077 (default local[*])")
    threads: int | None = Field(default=None, ge=1, description="duckdb: worker threads (default: all cores)")
    memory_limit: str | None = Field(default=None, description="duckdb: memory before it spills to disk, e.g. 2GB")
    options: dict[str, Any] = Field(default_factory=dict, description="backend options: Spark configuration (spark.driver.memory: 4g ...) or connect() keywords")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value):
        if isinstance(value, str):   # `engine: duckdb` or `engine: trino://...`
            return {"url": value} if "://" in value else {"backend": value}
        return value

    @model_validator(mode="after")
    def _check(self):
        import re

        if self.url is not None:
            if not re.match(r"^[a-z][a-z0-9+]*://", self.url):
                raise ValueError(f"url {self.url!r} is not a connection URL; write it as backend://..., e.g. "
                                 "postgres://analyst@db.example.com:5432/crm")
            if re.search(r"//[^/@]*:[^/@${}]+@", self.url):
                raise ValueError("the url holds a password; write ${VARIABLE} in its place and set the variable "
                                 "in the environment (credentials never go into params)")
            return self
        if self.backend not in ENGINE_BACKENDS:
            close = difflib.get_close_matches(self.backend, ENGINE_BACKENDS, n=1)
            raise ValueError(f"unknown engine backend {self.backend!r}; "
                             + (f"did you mean {close[0]!r}? " if close else "")
                             + f"use one of: {', '.join(ENGINE_BACKENDS)} (or url: for any ibis URL)")
        if self.master is not None and self.backend != "pyspark":
            raise ValueError("`master:` applies to backend pyspark only")
        if self.backend != "duckdb" and (self.threads or self.memory_limit):
            raise ValueError("`threads:` and `memory_limit:` apply to backend duckdb only; "
                             "give Spark settings under `options:` (e.g. spark.driver.memory: 4g)")
        if self.backend == "pyspark":
            import importlib.util
            if importlib.util.find_spec("pyspark") is None:
                raise ValueError("backend pyspark needs the pyspark package, which is not installed; "
                                 "run `make setup ENGINES=1` (it installs requirements-engines.lock)")
        return self


class DataSpec(Section):
    engine: EngineSpec = Field(default_factory=EngineSpec, description="where the row-level aggregations run: duckdb (default, no server), {backend: pyspark, master: local[2]}, or an ibis URL")
    demo: DemoSpec | None = Field(default=None, description="use the generated demo company")
    qual: QualSpec | None = Field(default=None, description="qualitative material: `qdpx:` a REFI-QDA project and/or `transcripts:` a folder of transcripts, read into participants, qual_sources, codebook and coded_segments (replacing the demo's)")
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
            attrs = spec.attribute_names()
            for their, ours in attrs.items():
                if ours in canon:
                    out.append((("data", "tables", tname, "attributes", their),
                                f"the attribute {ours!r} has the name of a canonical {tname} column",
                                f"map it with `columns: {{{their}: {ours}}}` instead, or give the attribute another name",
                                "error"))
            for key in ("values", "defaults", "exclude", "drop_missing", "fill_missing", "compute",
                        "date_offsets", "aggregate"):
                names = getattr(spec, key)
                for col in names:
                    if col in canon or (key in ("exclude", "drop_missing") and col in produced):
                        continue
                    if col in attrs.values() and key in ("values", "exclude", "drop_missing", "fill_missing", "aggregate"):
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
        if self.qual is not None:
            out += self.qual.cross_check(self)
        return out


def _used_names(spec: TableSpec) -> set[str]:
    """Names that compute expressions and date offsets read (helper columns of a mapping)."""
    import re

    names: set[str] = set()
    for expr in spec.compute.values():
        names |= set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expr))
    for off in spec.date_offsets.values():
        names |= {n for n in (off.months, off.days) if n}
    from insight.data.conditions import names_in
    for expr in (spec.where, spec.exclude_if):
        if expr:
            names |= names_in(expr)
    return names

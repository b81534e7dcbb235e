"""Read a canonical table from a database instead of an export file: a table or a SQL query on a
connection, through ibis: a PostgreSQL server (via psycopg 3), or a DuckDB or SQLite database file
(`duckdb://data/local/warehouse.duckdb`, `sqlite:///abs/path/crm.sqlite`; a relative path is relative to
the project root and follows the rules of an export's `path:`; the file is opened read-only). The
result is a raw frame like a file's; the mapping, validation, pseudonymisation and cache of
insight.data.prepare then apply unchanged.

    data:
      tables:
        customers:
          source: {url: "postgres://analyst@db.example.com:5432/sales", table: crm.customers}
        orders:
          source:
            url: "postgres://${PGUSER}:${PGPASSWORD}@db.example.com:5432/sales"
            query: select * from shop.order_lines where order_date >= '2022-01-01'
          columns: {line_total: revenue}

Credentials come only from the environment: `${NAME}` placeholders in the URL are replaced by
environment variables when connecting, and what the URL leaves out the driver takes from its own
variables (PGUSER, PGPASSWORD, PGPASSFILE / ~/.pgpass, PGSSLMODE...). A password written in the
URL is a params error. Messages, reports, logs, the cache and its fingerprint only ever see the URL
as written in params, without a password (`shown_url`), and any secret value that a driver message
might echo is blotted out.

Cache fingerprint of a source's table: a hash of its spec as written in params (the URL, which
holds no password, the table or query, the mapping) and of a change indicator: on PostgreSQL the row
count and an order-independent checksum of every row's text (sum of 64-bit slices of md5(row::text)),
computed by the server in one scan without sending the rows; for a database file, the checksum of the
file (any change to it re-reads the tables taken from it). Any change to a value, a row added or removed, changes it, so the next
`make report` / `make validate` re-reads a changed source and reuses the cache of an unchanged one.
Notebooks started by `make report` reuse the indicator the run checked at its start
(<cache>/studies/<study>/sources.json) instead of scanning the source again; `FORCE=1` re-reads
every source regardless.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import warnings
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import pandas as pd

from insight.params import Problem

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SCHEMES = {"postgres": "postgres", "postgresql": "postgres", "duckdb": "duckdb", "sqlite": "sqlite"}
FILES = {"duckdb": "DuckDB", "sqlite": "SQLite"}   # database files: no server, no credentials
SECRET_KEYS = {"password", "passwd", "pwd", "sslpassword", "token", "secret", "api_key", "apikey"}
INSTALL = {"postgres": ("psycopg", "make setup-engines (or: .venv/bin/pip install -r requirements-engines.lock)")}


def file_path(url: str) -> str | None:
    """The database file a duckdb:// or sqlite:// URL names, as written (duckdb:///abs/x.duckdb is
    absolute, duckdb://data/local/x.duckdb relative to the project root); None for a server URL."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in FILES:
        return None
    return rest.split("?", 1)[0]


# --- the URL as written, as shown, as used -----------------------------------------------------

def url_problem(url: str) -> str | None:
    """Why a params URL is not acceptable (never quoting a secret), or None."""
    path = file_path(url)
    if path is not None:
        if not path or path == ":memory:":
            return (f"the URL names no database file; write {url.partition('://')[0]}://data/local/warehouse.db "
                    "(relative to the project root) or three slashes and an absolute path")
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "the URL is not a connection URL; write it as postgres://host:5432/database"
    if parts.scheme.lower() not in SCHEMES or not parts.hostname:
        return ("the URL is not a PostgreSQL connection URL (postgres://host:5432/database) nor a database "
                "file (duckdb://data/local/warehouse.duckdb, sqlite://data/local/crm.sqlite)")
    if parts.password and not PLACEHOLDER.fullmatch(parts.password):
        return ("the URL holds a password written out; credentials never go into params. Write "
                "`${PGPASSWORD}` in its place and export PGPASSWORD in the environment, or leave the password "
                "out: the driver reads PGPASSWORD or ~/.pgpass itself")
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() in SECRET_KEYS and not PLACEHOLDER.fullmatch(value):
            return (f"the URL passes `{key}=`; credentials never go into params. Write `{key}=${{PGPASSWORD}}` "
                    "and export the variable, or leave it out: the driver reads PGPASSWORD or ~/.pgpass itself")
    return None


def shown_url(url: str) -> str:
    """The URL as written in params, without any password (placeholders included)."""
    if file_path(url) is not None:
        return url                  # a file: no credentials, and the path's case kept
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = "&".join(f"{k}={v}" for k, v in parse_qsl(parts.query, keep_blank_values=True)
                     if k.lower() not in SECRET_KEYS)
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def describe(spec) -> str:
    """How a source is named in messages: the URL without password and the table, or 'query'."""
    return f"{shown_url(spec.url)} ({'table ' + spec.table if spec.table else 'query'})"


def source_key(spec) -> str:
    """Identity of a source without secrets: URL without password + table or query."""
    ident = json.dumps({"url": shown_url(spec.url), "table": spec.table, "query": spec.query}, sort_keys=True)
    return hashlib.blake2b(ident.encode(), digest_size=10).hexdigest()


class SourceProblem(Exception):
    """One problem reading a source; prepare turns it into a DataError entry."""

    def __init__(self, message: str, fix: str):
        super().__init__(message)
        self.message = message
        self.fix = fix


def expand_url(url: str) -> tuple[str, list[str]]:
    """The URL with ${NAME} placeholders replaced by environment variables, and the secret values it
    now holds (raw and quoted: to blot out of any message). The values are URL-quoted, so a password
    with '#', '@', '/' or '+' stays one value, except in a database file's path (duckdb://${DB_FILE}),
    which is taken as it is. The one way placeholders are read, for sources and for data.engine."""
    missing = [n for n in PLACEHOLDER.findall(url) if n not in os.environ]
    if missing:
        names = ", ".join(dict.fromkeys(missing))
        raise SourceProblem(f"the URL names the environment variable{'s' if len(missing) > 1 else ''} {names}, "
                            "which is not set",
                            f"export {missing[0]}=... in the shell that runs make (credentials come only from the "
                            "environment), or remove the placeholder to let the driver read PGPASSWORD / ~/.pgpass")
    plain = file_path(url) is not None
    value = (lambda m: os.environ[m.group(1)]) if plain else (lambda m: quote(os.environ[m.group(1)], safe=""))
    secrets = [v for n in PLACEHOLDER.findall(url) if (raw := os.environ[n]) for v in (raw, quote(raw, safe=""))]
    return PLACEHOLDER.sub(value, url), secrets


def _blot(text: str, secrets: list[str]) -> str:
    for s in sorted({*secrets, os.environ.get("PGPASSWORD", "")} - {""}, key=len, reverse=True):
        text = text.replace(s, "***")
    return text


def _first_line(exc: BaseException, secrets: list[str]) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))   # the SQL parser underlines with terminal escapes
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return _blot(" ".join(lines[:2]) if lines else type(exc).__name__, secrets)


# --- connecting ------------------------------------------------------------------------------

@dataclass
class _Conn:
    con: object
    secrets: list[str]


_CONNECTIONS: dict[tuple, _Conn] = {}


def _database_file(spec, project):
    """The database file of a duckdb:// or sqlite:// source, checked like an export's path."""
    from insight.paths import Project

    project = project or Project.find()
    written = file_path(spec.url)
    refused = project.data_path_problem(written)
    if refused:
        raise SourceProblem(*refused)
    path = project.resolve(written)
    kind = FILES[spec.url.partition("://")[0].lower()]
    if not path.is_file():
        raise SourceProblem(f"no {kind} database file at {written}" + (" (it is a folder)" if path.is_dir() else ""),
                            "write the path of the database file after the two slashes, relative to the project "
                            "root (or three slashes and an absolute path)")
    return path, kind


def _connect_file(spec, project) -> _Conn:
    import sqlite3

    import ibis

    path, kind = _database_file(spec, project)
    try:
        if kind == "DuckDB":
            con = ibis.duckdb.connect(str(path), read_only=True)
        else:   # read-only: a missing table can never create an empty database or change the file
            raw = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            raw.execute("SELECT count(*) FROM sqlite_master").fetchone()   # not a database: fails here
            con = ibis.sqlite.from_connection(raw)
    except Exception as exc:  # noqa: BLE001 - every failure to open becomes one clear problem
        text = _first_line(exc, [])
        if "could not set lock" in text.lower() or "database is locked" in text.lower():
            raise SourceProblem(f"the {kind} file {file_path(spec.url)} is open for writing in another program ({text})",
                                "close that program (or its connection), or point `url:` at a copy of the file") from None
        raise SourceProblem(f"{file_path(spec.url)} could not be opened as a {kind} database ({text})",
                            f"check that the file is a {kind} database (not an export or another database's file)") from None
    return _Conn(con, [])


def _connect(spec, project=None) -> _Conn:
    """An ibis connection (one per URL, timeout and environment, reused within the process)."""
    backend = SCHEMES[urlsplit(spec.url).scheme.lower()]
    if backend in FILES:
        return _connect_file(spec, project)
    try:
        import ibis
        import psycopg  # noqa: F401 - the driver ibis' postgres backend uses
    except ImportError as exc:
        module, how = INSTALL[backend]
        raise SourceProblem(f"the database driver is not installed ({exc.name or module} is missing)",
                            f"install the optional engine packages: {how}") from None
    url, secrets = expand_url(spec.url)
    memo = (url, spec.timeout, tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("PG"))))
    known = _CONNECTIONS.get(memo)
    if known is not None and not (known.con.con.closed or known.con.con.broken):
        return known
    parts = urlsplit(url)
    kwargs = {k: v for k, v in parse_qsl(parts.query)}
    kwargs.update(host=parts.hostname, port=parts.port or 5432,
                  database=unquote(parts.path.lstrip("/")) or None,
                  user=unquote(parts.username) if parts.username else None,
                  password=unquote(parts.password) if parts.password else None,
                  connect_timeout=spec.timeout)
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    try:
        con = ibis.postgres.connect(**kwargs)
    except Exception as exc:  # noqa: BLE001 - every driver failure becomes one clear problem
        raise _connect_problem(exc, spec, secrets) from None
    _CONNECTIONS[memo] = _Conn(con, secrets)
    return _CONNECTIONS[memo]


def _connect_problem(exc: Exception, spec, secrets: list[str]) -> SourceProblem:
    text = _first_line(exc, secrets)
    low = text.lower()
    parts = urlsplit(spec.url)
    where = f"{parts.hostname}:{parts.port or 5432}"
    if "password authentication failed" in low or "no password supplied" in low or (
            "role" in low and "does not exist" in low) or "authentication failed" in low:
        return SourceProblem(f"the server refused the credentials ({text})",
                             "check the user in `url:` (or PGUSER) and the password in the environment "
                             "(PGPASSWORD, the URL's ${...} variable or ~/.pgpass); passwords never go into params")
    if "database" in low and "does not exist" in low:
        return SourceProblem(f"the server has no such database ({text})",
                             "correct the database name at the end of `url:` (postgres://host:port/DATABASE)")
    if "translate host name" in low or "name or service not known" in low or "nodename nor servname" in low:
        return SourceProblem(f"the host name {parts.hostname!r} is unknown ({text})",
                             "correct the host in `url:`, or check the network / VPN")
    if "refused" in low or "timeout" in low or "timed out" in low or "no route" in low or "unreachable" in low:
        return SourceProblem(f"no database server answers at {where} (waited at most {spec.timeout} s: {text})",
                             "check the host and port in `url:` and that the server is running and reachable from "
                             "this machine; raise `timeout:` for a slow network")
    return SourceProblem(f"could not connect ({text})", "check `url:` and the credentials in the environment")


def _relation(conn: _Conn, spec):
    """The ibis table expression of the source (a table, or the query's result)."""
    con = conn.con
    if spec.table:
        schema, _, table = spec.table.rpartition(".")
        try:
            return con.table(table, database=schema or None)
        except Exception as exc:  # noqa: BLE001
            if _is_missing_table(exc):
                raise _missing_table(conn, spec, schema, table) from None
            raise SourceProblem(f"the table could not be read ({_first_line(exc, conn.secrets)})",
                                "check `table:` and that the user may read it (GRANT SELECT)") from None
    try:
        return con.sql(spec.query, dialect=con.name)
    except Exception as exc:  # noqa: BLE001
        raise _query_problem(exc, conn) from None


def _is_missing_table(exc: Exception) -> bool:
    name = type(exc).__name__
    return name in ("TableNotFound", "UndefinedTable", "NoSuchTableError") or "does not exist" in str(exc).lower() \
        or "not found" in str(exc).lower()


def _missing_table(conn: _Conn, spec, schema: str, table: str) -> SourceProblem:
    try:
        names = conn.con.list_tables(database=schema or None)
    except Exception:  # noqa: BLE001 - e.g. the schema itself is missing
        names = []
    close = difflib.get_close_matches(table, names, n=1)
    listed = f"; tables in {schema or 'the search path'}: {', '.join(sorted(names)[:20])}" if names else \
        (f"; the schema {schema!r} has no tables or does not exist" if schema else "")
    return SourceProblem(f"the server has no table {spec.table!r}{listed}",
                         (f"did you mean `table: {schema + '.' if schema else ''}{close[0]}`? " if close else "")
                         + "write `table:` as schema.table, as the server names it")


def _query_problem(exc: Exception, conn: _Conn) -> SourceProblem:
    text = _first_line(exc, conn.secrets)
    if "permission denied" in text.lower():
        return SourceProblem(f"the user may not read it ({text})",
                             "ask for SELECT rights on those tables, or connect as another user")
    if type(exc).__module__.startswith("sqlglot"):   # ibis parses the query before sending it
        return SourceProblem(f"the query is not valid SQL ({text})",
                             "correct `query:` (try it in the database's own client first); it must be one SELECT statement")
    return SourceProblem(f"the query failed on the server ({text})",
                         "correct `query:` (try it in the database's own client first); it must be one SELECT statement")


def _checked(conn: _Conn, action, spec):
    """Run a server round trip, turning a query failure into a SourceProblem."""
    try:
        return action()
    except SourceProblem:
        raise
    except Exception as exc:  # noqa: BLE001
        if spec.table and _is_missing_table(exc):
            schema, _, table = spec.table.rpartition(".")
            raise _missing_table(conn, spec, schema, table) from None
        raise _query_problem(exc, conn) from None


# --- what prepare uses -------------------------------------------------------------------------

def change_indicator(spec, project=None) -> str:
    """Row count and checksum of the source, computed by the server; for a database file, the file's
    checksum, once the table or query is known to be readable (see the module docstring)."""
    import ibis

    conn = _connect(spec, project)
    expr = _relation(conn, spec)
    if conn.con.name in FILES:
        from insight.data.prepare import file_hash

        _checked(conn, lambda: expr.schema(), spec)
        path = _database_file(spec, project)[0]
        # committed changes may still sit in the write-ahead log beside the file (an app that keeps it open)
        logs = [w for w in (path.with_name(path.name + "-wal"), path.with_name(path.name + ".wal")) if w.is_file()]
        return "file=" + "+".join(file_hash(p) for p in [path, *logs])
    sql = ibis.to_sql(expr, dialect="postgres")
    check = (f"SELECT count(*), coalesce(sum(('x' || left(md5(t::text), 16))::bit(64)::bigint::numeric), 0) "
             f"FROM ({sql}) AS t")

    def run():
        with conn.con.raw_sql(check) as cur:
            return cur.fetchone()

    rows, checksum = _checked(conn, run, spec)
    return f"rows={int(rows)};md5sum={checksum}"


def read_source(spec, project=None) -> tuple[pd.DataFrame, str]:
    """(the source's rows as a frame, how it was read)."""
    conn = _connect(spec, project)
    expr = _relation(conn, spec)
    with warnings.catch_warnings():   # ibis 12 asks pandas 3 for a deprecated option on every string column
        warnings.filterwarnings("ignore", message=".*future.infer_string.*")
        df = _checked(conn, expr.to_pandas, spec)
    what = f"table {spec.table}" if spec.table else "query"
    kind = FILES.get(conn.con.name, "PostgreSQL")
    return df, f"{kind} {what} at {shown_url(spec.url)}, {len(df):,} rows"


def problem_for(name: str, spec, exc: SourceProblem) -> Problem:
    return Problem(file=describe(spec), key=f"data.tables.{name}.source", message=exc.message, fix=exc.fix)

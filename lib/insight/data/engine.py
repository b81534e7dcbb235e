"""The data engine: a study's canonical tables as lazy ibis tables, and the heavy row-level
aggregations written once as ibis expressions that run on any ibis backend.

    eng = study.engine                               # StudyEngine of the study
    orders = eng.table("orders")                     # ibis table over the prepared Parquet (nothing read yet)
    per_customer = customer_orders(orders, until=as_of)   # small pandas frame, one row per customer

Which engine runs them is the study's `data.engine` (insight.config.data.EngineSpec):

    data:
      engine: duckdb                                          # the default: in process, no server
      engine: {backend: duckdb, threads: 2, memory_limit: 2GB}
      engine: {backend: pyspark, master: "local[2]", options: {spark.driver.memory: 4g}}
      engine: {url: "trino://analyst@trino.example.com:8080/hive/sales"}   # any ibis URL, ${VAR} from the environment

`connect(spec)` opens the backend (one function, used by the study store and by warehouse sources).

Every aggregation accepts an ibis table or a pandas DataFrame. A DataFrame is checked and typed by the
CRM input checks (errors name the column, the rows and the fix) and wrapped as an in-memory table on
DuckDB, so the same expression runs either way: there is one implementation of each aggregation.
What returns is small (one row per customer, per cohort and period, per visitor); the statistics run
on it in pandas where they were. What cannot be pushed down is said at the place.

Numbers: sums of money are summed by the engine in its own order, so they agree with pandas to
floating-point rounding (far below a cent); counts and dates agree exactly (tests/test_engine_*.py).
"""
from __future__ import annotations

import os
import re
import threading
import warnings
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    import ibis.expr.types as ir

    from insight.config.data import EngineSpec


# ibis 12 reads a pandas option that pandas 3 deprecates, and calls a DuckDB method that DuckDB 1.5
# deprecates (DuckDB 2.0 removed it from connections: ibis 12's con.sql() fails there, hence duckdb 1.5.6);
# harmless, but the warnings would land in every report that aggregates
warnings.filterwarnings("ignore", message=r".*future\.infer_string.*", module=r"ibis\..*")
warnings.filterwarnings("ignore", message=r".*fetch_arrow_table\(\) is deprecated.*", module=r"ibis\..*")
warnings.filterwarnings("ignore", message=r".*copy keyword is deprecated.*", module=r"pyspark\..*")


class EngineError(RuntimeError):
    """The configured engine cannot be reached or used: the message names it and the fix."""


# --- connecting ---------------------------------------------------------------------------------

_SPARK_LOCK = threading.Lock()


def engine_spec(spec: "EngineSpec | dict | str | None" = None) -> "EngineSpec":
    """A params value (None, a backend name, an ibis URL or a mapping) as an EngineSpec."""
    from insight.config.data import EngineSpec

    if spec is None:
        return EngineSpec()
    if isinstance(spec, EngineSpec):
        return spec
    if isinstance(spec, str):
        return EngineSpec(url=spec) if "://" in spec else EngineSpec(backend=spec)
    return EngineSpec(**spec)


def engine_label(spec: "EngineSpec") -> str:
    """How the engine is named in messages: never with the credentials of a URL."""
    if spec.url:
        return re.sub(r"//[^@/]*@", "//***@", spec.url)
    return spec.backend + (f" ({spec.master})" if spec.backend == "pyspark" else "")


def expand_env(url: str, where: str) -> tuple[str, list[str]]:
    """${NAME} in an engine URL read from the environment (insight.data.sources.expand_url: credentials
    stay out of params): the URL and the secret values it now holds, to keep out of messages."""
    from insight.data.sources import SourceProblem, expand_url

    try:
        return expand_url(url)
    except SourceProblem as exc:
        raise EngineError(f"{where}: {exc.message}. Fix: {exc.fix}") from None


def connect(spec: "EngineSpec | dict | str | None" = None):
    """Open the ibis backend a spec names: DuckDB in process (default), a local or cluster Spark
    session, or any ibis URL (postgres://, trino://, bigquery://, snowflake://...). Raises
    EngineError naming the engine and the fix."""
    spec = engine_spec(spec)
    label = engine_label(spec)
    secrets: list[str] = []
    try:
        import ibis
    except ImportError as exc:  # pragma: no cover - ibis is in requirements.lock
        raise EngineError(f"the ibis package is missing ({exc}). Fix: make setup") from exc
    try:
        if spec.url:
            url, secrets = expand_env(spec.url, "data.engine.url")
            con = ibis.connect(url, **spec.options)
            if getattr(con, "name", "") == "postgres":
                # the study's tables have no indexes, and a join under a time window (the funnel's steps) is
                # estimated at a row or two: the planner then loops over a whole table per row (the demo's
                # funnel: 6 s for one step of 2,000 visitors). Hash and merge joins are always possible here.
                con.raw_sql("SET enable_nestloop = off").close()
            return con
        if spec.backend == "duckdb":
            # threads: the params', else the kernel's share of the cores in a parallel run (safety.thread_limits)
            threads = spec.threads or _env_threads()
            config = {k: v for k, v in {"threads": threads, "memory_limit": spec.memory_limit}.items() if v}
            con = ibis.duckdb.connect(**config, **spec.options)
            try:    # a terminal progress bar would print into the reports
                con.raw_sql("SET enable_progress_bar = false")
            except Exception:   # inside Jupyter DuckDB refuses the setting without ipywidgets: it shows no bar there
                pass
            return con
        if spec.backend == "pyspark":
            return ibis.pyspark.connect(spark_session(spec))
        return getattr(ibis, spec.backend).connect(**spec.options)
    except EngineError:
        raise
    except ImportError as exc:
        raise EngineError(f"data.engine {label}: its Python package is not installed ({exc}). "
                          "Fix: make setup ENGINES=1 (installs requirements-engines.lock: pyspark and the warehouse "
                          "drivers)") from exc
    except Exception as exc:
        raise EngineError(f"data.engine {label}: cannot connect ({type(exc).__name__}: {_short(exc, secrets=secrets)}). "
                          "Fix: check the engine is running and reachable from this machine, and the "
                          "data.engine settings in the study params") from None


def preflight(prepared, spec: "EngineSpec | dict | str | None" = None) -> str | None:
    """Before any notebook runs (make report, make validate): the study's engine, when it is not the
    default DuckDB in process, is reachable and can hold the study's tables. An engine that reads no
    files gets them copied now, once (StudyEngine._copied), so a role without the right to create
    tables is told so here rather than by every notebook. Spark in local mode is not started (a JVM
    per check): its package and Java are looked for, and a cluster master's port is dialled. Raises
    EngineError naming the engine and the fix; returns what was checked, for the console."""
    spec = engine_spec(spec)
    label = engine_label(spec)
    if not spec.url and spec.backend == "duckdb":
        return None
    if not spec.url and spec.backend == "pyspark":
        return _spark_preflight(spec, label)
    eng = StudyEngine(prepared, spec)
    con = eng.con
    try:
        if reads_files(con):
            return f"data.engine {label}: connected"
        for name in sorted(prepared.tables):
            eng.table(name)
        return f"data.engine {label}: connected; the study's {len(prepared.tables)} tables are on it"
    finally:
        try:
            con.disconnect()
        except Exception:   # noqa: BLE001 - a check's connection: closing it may fail, the check did not
            pass


def _spark_preflight(spec: "EngineSpec", label: str) -> str:
    import importlib.util
    import shutil
    import socket
    from urllib.parse import urlsplit

    if importlib.util.find_spec("pyspark") is None:
        raise EngineError(f"data.engine {label}: PySpark is not installed. Fix: make setup ENGINES=1 "
                          "(installs requirements-engines.lock)")
    java_home = os.environ.get("JAVA_HOME")
    if not shutil.which("java") and not (java_home and Path(java_home, "bin", "java").exists()):
        raise EngineError(f"data.engine {label}: Spark needs Java 17 and none was found (no `java` on PATH, no "
                          "JAVA_HOME). Fix: apt-get install openjdk-17-jre-headless, or set JAVA_HOME")
    master = spec.master or "local[*]"
    if master.startswith("spark://"):
        last: Exception | None = None
        for hostport in master[len("spark://"):].split(","):    # a standby list: host1:7077,host2:7077
            parts = urlsplit("//" + hostport)
            try:
                with socket.create_connection((parts.hostname, parts.port or 7077), timeout=5):
                    break
            except Exception as exc:   # noqa: BLE001 - refused, unknown host, timeout, no port
                last = exc
        else:
            raise EngineError(f"data.engine {label}: the Spark master {master} does not answer ({last}). Fix: "
                              "start the cluster or correct data.engine.master in the study params")
    if master.startswith("spark://"):
        return f"data.engine {label}: PySpark and Java found; {master} answers"
    return f"data.engine {label}: PySpark and Java found" + ("" if master.startswith("local") else
                                                               f" ({master} is reached when the first notebook starts)")


def reads_files(con) -> bool:
    """Whether an ibis backend reads Parquet files itself (DuckDB, Spark, the cloud warehouses' loaders);
    PostgreSQL and some servers do not, and get the study's tables copied in (StudyEngine._copied)."""
    from ibis.backends import BaseBackend

    return type(con).read_parquet is not BaseBackend.read_parquet


def _copy_parquet(con, name: str, path: Path) -> None:
    """A Parquet file into a new table `name` on `con`, a batch of rows at a time. On PostgreSQL through
    the driver's COPY with Arrow's CSV writer: ibis' own create_table sends a Python object per value
    (executemany), 0.63 s against 0.09 s for the demo's 42,349 order lines, and about 10 GB of objects
    for 10M; COPY took 1.4 s for 1M lines here. Other backends get ibis' create_table."""
    import io

    import ibis
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq
    import sqlglot as sg
    import sqlglot.expressions as sge

    if getattr(con, "name", "") != "postgres":
        con.create_table(name, pq.read_table(path))
        return
    f = pq.ParquetFile(path)
    table = sg.to_identifier(name, quoted=True)
    create = sge.Create(kind="TABLE", this=sge.Schema(
        this=table, expressions=ibis.Schema.from_pyarrow(f.schema_arrow).to_sqlglot_column_defs("postgres")))
    columns = sge.Tuple(expressions=[sg.to_identifier(c, quoted=True) for c in f.schema_arrow.names])
    options = pcsv.WriteOptions(include_header=False)   # strings quoted, a missing value unquoted: NULL
    with con.con.cursor() as cur, con.con.transaction():
        # one copier per table across machines too (the file lock of _copied holds on one machine only):
        # a second waits here, then finds the first one's table and leaves it as it is
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (name,))
        if cur.execute("SELECT to_regclass(%s)", (table.sql("postgres"),)).fetchone()[0] is not None:
            return
        cur.execute(create.sql("postgres"))
        # Arrow writes UTF-8 whatever the connection's client encoding is
        with cur.copy(f"COPY {table.sql('postgres')} {columns.sql('postgres')} FROM STDIN "
                      "(FORMAT csv, ENCODING 'UTF8')") as copy:
            for batch in f.iter_batches(batch_size=65536):
                buf = io.BytesIO()
                pcsv.write_csv(batch, buf, options)
                copy.write(buf.getbuffer())
        # statistics at once: without them the planner takes a grouping of a few rows for one of thousands
        # and nests loops (the lead report's window sensitivity ran for minutes on the demo's 36,000
        # journey events, 2 s with them); the server's autovacuum would analyse the table only later
        cur.execute(f"ANALYZE {table.sql('postgres')}")


def _env_threads() -> int | None:
    from insight.safety import ENGINE_THREADS

    try:
        n = int(os.environ.get(ENGINE_THREADS, ""))
    except ValueError:
        return None
    return n if n > 0 else None


def spark_session(spec: "EngineSpec"):
    """One SparkSession per process (Spark allows one): created on first use from the spec."""
    from pyspark.sql import SparkSession

    with _SPARK_LOCK:
        b = SparkSession.builder.master(spec.master or "local[*]").appName("insight")
        conf = {"spark.ui.enabled": "false", "spark.sql.session.timeZone": "UTC",
                # few, larger tasks: the returned aggregates are small and local runs have few cores
                "spark.sql.shuffle.partitions": "4" if (spec.master or "local").startswith("local") else "200", "spark.sql.execution.arrow.pyspark.enabled": "true"}
        if (spec.master or "local").startswith("local"):
            conf.update({"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"})
        conf.update({k: str(v) for k, v in spec.options.items()})
        for k, v in conf.items():
            b = b.config(k, v)
        return b.getOrCreate()


def _short(exc: Exception, n: int = 300, secrets: list[str] = ()) -> str:
    text = " ".join(str(exc).split())
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text if len(text) <= n else text[:n] + "..."


class StudyEngine:
    """A study's prepared tables on its engine. Tables are opened lazily (the Parquet files are
    read by the engine only when an expression runs) and once per process."""

    def __init__(self, prepared, spec: "EngineSpec | dict | str | None" = None):
        self.prepared = prepared
        self.spec = engine_spec(spec)
        self._con = None
        self._tables: dict[str, Any] = {}

    @property
    def con(self):
        if self._con is None:
            self._con = connect(self.spec)
        return self._con

    @property
    def label(self) -> str:
        return engine_label(self.spec)

    def has(self, name: str) -> bool:
        return name in self.prepared.tables

    def table(self, name: str) -> "ir.Table":
        if name not in self.prepared.tables:
            from insight.study import MissingTableError
            raise MissingTableError(f"no {name!r} table; the study has: {', '.join(sorted(self.prepared.tables)) or 'none'}")
        if name not in self._tables:
            path: Path = self.prepared.tables[name]
            if not reads_files(self.con):
                self._tables[name] = self._copied(name, path)
            else:
                try:
                    self._tables[name] = self.con.read_parquet(str(path), table_name=self._view_name(name, path))
                except EngineError:
                    raise
                except Exception as exc:
                    raise EngineError(f"data.engine {self.label}: cannot read the prepared {name!r} table {path} "
                                      f"({type(exc).__name__}: {_short(exc)}). Fix: on a cluster, put the study cache "
                                      "(.cache/studies) on storage every worker can read") from exc
            _STUDY_TABLES[self._tables[name].op()] = self
        return self._tables[name]

    def _view_name(self, name: str, path: Path) -> str:
        """`insight_<table>_<digest>`: the digest of the file's contents when the manifest has it, else of
        its path, size and modification time. ibis takes two tables of the same name and schema on two
        connections with the same settings for one, so a plain `insight_orders` let a second study (or
        the same study's new data) in one process get the first one's remembered answers."""
        import hashlib

        digest = (self.prepared.checksums.get(name) or [None, None])[1]
        if not digest:
            st = path.stat()
            digest = hashlib.blake2b(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode(), digest_size=8).hexdigest()
        return f"insight_{name}_{digest[:16]}"

    def _copied(self, name: str, path: Path) -> "ir.Table":
        """The prepared table copied into an engine that reads no files (PostgreSQL, or any server that
        cannot see this machine's disk): once per table contents, as `insight_<table>_<checksum>` in the
        connection's schema, so every notebook and every later run over the same data reuse it, and
        changed data get a table of their own (earlier copies are left for the owner of the schema to
        drop). On PostgreSQL the table is created and filled in one transaction: another process never
        sees half a table."""
        from insight.data.prepare import _lock, file_hash

        digest = (self.prepared.checksums.get(name) or [None, None])[1] or file_hash(path)
        target = f"insight_{name}_{digest[:16]}"
        con = self.con
        try:
            if target not in con.list_tables(like=target):
                with _lock(path.parent / f".copy-{target}.lock"):   # the notebooks of one run: one copies
                    if target not in con.list_tables(like=target):
                        _copy_parquet(con, target, path)
            table = con.table(target)
            con.raw_sql(f'SELECT 1 FROM "{target}" LIMIT 0').close()   # a copy made by another user: readable?
            return table
        except Exception as exc:
            if type(exc).__name__ == "InsufficientPrivilege":
                fix = ("give the engine's user the right to create tables in its schema and to read the study's "
                       f"copies (PostgreSQL: GRANT CREATE ON SCHEMA ... TO ...; GRANT SELECT ON {target} TO ...), "
                       "or leave data.engine out to run on DuckDB in process")
            else:
                fix = ("the engine could not take the table as it is (the error names the column or the cause); "
                       "leave data.engine out to run on DuckDB in process")
            raise EngineError(f"data.engine {self.label}: cannot copy the prepared {name!r} table into it "
                              f"({type(exc).__name__}: {_short(exc)}). Fix: {fix}") from exc

    def derived(self, what: str, expr: "ir.Table") -> "ir.Table":
        """`expr`, a table derived from this study's tables (e.g. the purchase days of the orders), kept
        in the study store: on DuckDB written once as Parquet next to the prepared tables (named after
        a hash of its SQL, so a changed definition or other data never reuse it) by the first notebook
        that asks, under a file lock (the other notebooks of the run wait for it and read it), and
        read lazily like a prepared table. Other engines keep it on the engine for the process
        (ibis Table.cache) as before: the store's files are local to this machine."""
        if self.spec.url or self.spec.backend != "duckdb":
            return _cached(expr)
        import hashlib

        sql = str(self.con.compile(expr))
        folder = Path(next(iter(self.prepared.tables.values()))).parent / "derived"
        path = folder / f"{what}-{hashlib.blake2b(sql.encode(), digest_size=8).hexdigest()}.parquet"
        if path.name not in self._tables:
            try:
                self._tables[path.name] = self._keep(expr, folder, path)
            except Exception:   # noqa: BLE001 - a cache: a full disk or a read-only study cache costs time, not a report
                return _cached(expr)
        return self._tables[path.name]

    def _keep(self, expr: "ir.Table", folder: Path, path: Path) -> "ir.Table":
        from insight.data.prepare import _lock

        name = f"insight_{path.stem.replace('-', '_')}"
        for attempt in (1, 2):
            if not path.is_file():
                with _lock(folder / f".{path.stem}.lock"):
                    if not path.is_file():   # written into a temporary file and renamed: never half a file
                        tmp = folder / f".tmp-{path.stem}-{os.getpid()}.parquet"
                        try:
                            self.con.to_parquet(expr, str(tmp))
                            os.replace(tmp, path)
                        finally:
                            tmp.unlink(missing_ok=True)
            try:
                return self.con.read_parquet(str(path), table_name=name)
            except Exception:   # a damaged file (a disk error): written again, once
                if attempt == 2:
                    raise
                path.unlink(missing_ok=True)


_STUDY_TABLES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # a study table's ibis op -> its StudyEngine


# --- inputs -------------------------------------------------------------------------------------

def is_table(obj) -> bool:
    """True for an ibis table expression."""
    try:
        import ibis.expr.types as ir
    except ImportError:  # pragma: no cover
        return False
    return isinstance(obj, ir.Table)


def _require(t, table: str, columns, why: str) -> None:
    from insight.crm.purchases import CrmInputError

    missing = [c for c in columns if c not in t.columns]
    if missing:
        raise CrmInputError(f"table {table!r} lacks column(s) {missing} needed for {why}; it has {list(t.columns)}. "
                            f"Fix: map them in params data.tables.{table}.columns")


def _memtable(frame: pd.DataFrame):
    """A DataFrame as an in-memory ibis table; such tables run on ibis' default backend, which is
    set once to an in-process DuckDB opened by connect() (so without its progress bar)."""
    import ibis

    if not getattr(_memtable, "ready", False):
        ibis.set_backend(connect())
        _memtable.ready = True
    return ibis.memtable(frame)


def order_lines(orders, numbers: tuple[str, ...] = (), keep: tuple[str, ...] = ()) -> "ir.Table":
    """Order lines as customer_id, order_id, order_date, revenue and `returned` (a return or
    cancellation: is_return, or a negative quantity or revenue; see crm.purchases.return_mask), plus
    the optional numeric columns `numbers` that the table has (e.g. settlement_days) and the columns
    `keep` as they are (required, e.g. product_id)."""
    import ibis

    if isinstance(orders, pd.DataFrame):
        from insight.crm.purchases import as_dates, as_numbers, require, return_mask

        require(orders, "orders", ["order_id", "customer_id", "order_date", "revenue", *keep], "purchases")
        frame = pd.DataFrame({"customer_id": orders["customer_id"], "order_id": orders["order_id"],
                              **{c: orders[c] for c in keep},
                              "order_date": as_dates(orders, "orders", "order_date").astype("datetime64[us]"),
                              "revenue": as_numbers(orders, "orders", "revenue"),
                              "returned": return_mask(orders).to_numpy(dtype=bool),
                              **{c: as_numbers(orders, "orders", c).astype(float) for c in numbers if c in orders.columns}})
        return _memtable(frame)
    _require(orders, "orders", ["order_id", "customer_id", "order_date", "revenue", *keep], "purchases")
    t = orders
    ret = ibis.literal(False)
    if "quantity" in t.columns:
        ret = ret | (t.quantity.fill_null(0) < 0)
    ret = ret | (t.revenue.fill_null(0) < 0)
    if "is_return" in t.columns:
        ret = ret | t.is_return.fill_null(False)
    return t.select(customer_id=t.customer_id, order_id=t.order_id, **{c: t[c] for c in keep},
                    order_date=t.order_date.cast("timestamp"),
                    revenue=t.revenue.cast("float64"), returned=ret,
                    **{c: t[c].cast("float64") for c in numbers if c in t.columns})


def _purchase_lines(orders, numbers: tuple[str, ...] = (), keep: tuple[str, ...] = ()) -> "ir.Table":
    """The order lines that are purchases (crm.purchases.purchases): no returns, a customer and a date."""
    o = order_lines(orders, numbers, keep)
    return o.filter(~o.returned & o.customer_id.notnull() & o.order_date.notnull())


def first_purchase_time(orders):
    """The earliest order_date (as recorded, with its time) of a purchase line; None without purchases.
    The first purchase day comes from the purchase days (kept on the engine for the notebook), then the
    earliest time from the lines of that day only: a scan of every order line less (0.7 CPU s at 10M)."""
    span = purchase_span(orders)
    if span is None:
        return None
    p = _purchase_lines(orders)
    p = p.filter((p.order_date >= _ts(span[0])) & (p.order_date < _ts(span[0] + pd.Timedelta(days=1))))
    return pd.Timestamp(_fetch(p.aggregate(first=p.order_date.min()))["first"].iloc[0])


def window_behaviour(orders, start, mid, end) -> pd.DataFrame:
    """Per customer who bought with start <= order_date < mid (index customer_id, sorted): purchase_days
    (distinct calendar days with a purchase: two orders on one day are one, whatever their times),
    revenue, settlement_days (mean over those lines, when the table has the column with values) and
    retained (bought from mid to the day `end`, that whole day included: an order at 18:00 on the
    as-of day counts, as it does in customer_orders). The input of crm.retention.behaviour_frame."""
    p = _purchase_lines(orders, ("settlement_days",))
    before = p.filter((p.order_date >= _ts(start)) & (p.order_date < _ts(mid)))
    settle = "settlement_days" in p.columns
    # grouped twice (by customer and day, then by customer) rather than a COUNT(DISTINCT day) per
    # customer: the same figures, and DuckDB's distinct aggregate costs a fifth more (2.7 against 2.2 s
    # over 10M order lines); the mean settlement is the summed days over the lines that have them
    per_day = {"revenue": before.revenue.sum()}
    if settle:
        per_day.update(settle_sum=before.settlement_days.sum(), settled=before.settlement_days.count())
    days = before.group_by(customer_id=before.customer_id, day=before.order_date.truncate("D")).agg(**per_day)
    aggs = {"purchase_days": days.count(), "revenue": days.revenue.sum()}
    if settle:
        settled = days.settled.sum()
        aggs.update(settlement_days=days.settle_sum.sum() / settled.nullif(0), settled=settled)
    f = days.group_by("customer_id").agg(**aggs)
    until = pd.Timestamp(end).normalize() + pd.Timedelta(days=1)
    after = p.filter((p.order_date >= _ts(mid)) & (p.order_date < _ts(until))).select("customer_id").distinct()
    after = after.mutate(retained=True)
    f = f.left_join(after, "customer_id").select(f, retained=after.retained.fill_null(False))
    df = _fetch(f).sort_values("customer_id").set_index("customer_id")
    df["purchase_days"] = df["purchase_days"].astype(int)
    df["retained"] = df["retained"].astype(bool)
    if settle:
        if int(df.pop("settled").sum()) == 0:   # the column is there but empty: as if it were not
            df = df.drop(columns="settlement_days")
        else:
            df["settlement_days"] = df["settlement_days"].astype(float)
    return df[[c for c in ("purchase_days", "revenue", "settlement_days", "retained") if c in df.columns]]


def _ts(value) -> "Any":
    import ibis
    return ibis.literal(pd.Timestamp(value).to_pydatetime(), type="timestamp")


def purchase_days(orders) -> "ir.Table":
    """One row per customer and purchase day (several orders the same day are one transaction, as in
    the BG/NBD literature): customer_id, date (midnight), revenue. Same as crm.purchases.transactions."""
    p = _purchase_lines(orders)
    days = p.group_by(customer_id=p.customer_id, date=p.order_date.truncate("D")).agg(
        revenue=p.revenue.sum().fill_null(0.0))
    return days if isinstance(orders, pd.DataFrame) else _kept(orders, "purchase_days", days)


_KEPT: dict = {}    # (orders table, what) -> the table materialised on its engine, for this process


def _kept(source: "ir.Table", what: str, expr: "ir.Table") -> "ir.Table":
    """`expr` (derived from the study table `source`) materialised once and reused by every later
    aggregation in the process: for a study's own table on DuckDB in the study store, written once
    for all the notebooks of a run (StudyEngine.derived); otherwise on the engine (ibis Table.cache:
    a temporary table on DuckDB, Postgres or a warehouse; a persisted DataFrame on Spark). A notebook asks several questions of the
    same purchase days (cohort sizes, active and last-active counts, RFM, the at-risk windows): at 10M
    order lines each scan and regrouping of the lines costs seconds, a scan of the kept purchase days
    (about a third of the rows, three columns) a fraction. A backend that cannot keep tables gets the
    expression as it is."""
    if not _fixed(source):      # a table that may change under the process (a warehouse's, a file read again)
        return expr
    key = (source.op(), what)
    if key not in _KEPT:
        store = _STUDY_TABLES.get(source.op())
        _KEPT[key] = store.derived(what, expr) if store is not None else _cached(expr)
        while len(_KEPT) > 8:                       # a few studies' tables at most, oldest out first
            _KEPT.pop(next(iter(_KEPT)))
    return _KEPT[key]


def _cached(expr: "ir.Table") -> "ir.Table":
    try:
        kept = expr.cache()
    except Exception:   # e.g. a read-only warehouse role without temporary tables
        return expr
    backend = kept._find_backend()
    if getattr(backend, "name", "") == "postgres":   # autovacuum never analyses temporary tables
        try:
            backend.raw_sql(f'ANALYZE "{kept.op().name}"').close()
        except Exception:   # noqa: BLE001 - statistics help the planner; a table without them still answers
            pass
    return kept


def repeat_purchase_counts(orders, split, end) -> tuple[pd.Series, pd.Series]:
    """The counts behind the BG/NBD tracking plot (crm.value.tracking), over the purchase days up to
    `end` (a day, inclusive): (first purchase day -> customers whose first purchase day it is, repeat
    purchase day -> purchase days after their first by the customers whose first purchase day is on or
    before `split`), both sorted by day. Only these per-day counts come back, not the purchase days."""
    d = purchase_days(orders)
    d = d.filter(d.date <= _ts(end))
    first = d.group_by("customer_id").agg(first=d.date.min())
    firsts = _fetch(first.group_by("first").agg(customers=first.count()))
    j = d.join(first, "customer_id")
    j = j.filter((j.date > j.first) & (j.first <= _ts(split)))
    repeats = _fetch(j.group_by("date").agg(n=j.count()))
    return (firsts.set_index("first")["customers"].astype("int64").sort_index(),
            repeats.set_index("date")["n"].astype("int64").sort_index())


def _fetch(expr) -> pd.DataFrame:
    """An expression's result as a pandas frame, through Arrow (ibis' to_pyarrow, then pyarrow's
    to_pandas), with times as naive datetime64[ns] (dates too). ibis' own to_pandas gives the same
    frame for the columns returned here (text, numbers, booleans, times, dates), but it turns every
    column that has a null into a list of Python objects first and converts them back: at 10M order
    lines 0.5 s for a 400,000-customer result with one nullable column (tests/test_engine_config.py
    checks the two against each other)."""
    df = expr.to_pyarrow().to_pandas(date_as_object=False)
    for c in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = df[c].dt.tz_localize(None) if getattr(df[c].dt, "tz", None) is not None else df[c]
            df[c] = df[c].astype("datetime64[ns]")
    return df


def purchase_span(orders) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """(first, last) purchase day, or None when there are no purchases."""
    d = purchase_days(orders)
    got = _fetch(d.aggregate(first=d.date.min(), last=d.date.max(), n=d.count()))
    if not len(got) or int(got["n"].iloc[0]) == 0:
        return None
    return pd.Timestamp(got["first"].iloc[0]), pd.Timestamp(got["last"].iloc[0])


def customer_orders(orders, until=None, *, returns: bool = False) -> pd.DataFrame:
    """Per customer (index customer_id, sorted), over the purchase days up to `until` (a day,
    inclusive; all when None): first_purchase, last_purchase, purchase_days, revenue (sum of the
    purchases), first_day_revenue (revenue of the first purchase day). With returns=True also
    `returned`: the absolute revenue of the customer's return lines dated up to `until` (0 without).
    The input of RFM (crm.value.rfm_table) and of the BG/NBD and Gamma-Gamma models
    (crm.value.summary_from_transactions), both on the same day in the customer_value notebook: asked
    once (_remembered), the answer with returns also answers the question without."""
    until = None if until is None else pd.Timestamp(until)
    if not returns and not isinstance(orders, pd.DataFrame) and _fixed(orders):
        have = _ANSWERS.get((orders.op(), ("customer_orders", until, True)))
        if have is not None:
            return have.drop(columns="returned")      # a new frame: the remembered one stays as it is
    return _remembered(orders, ("customer_orders", until, returns), lambda: _customer_orders(orders, until, returns))


def _customer_orders(orders, until, returns: bool) -> pd.DataFrame:
    d = purchase_days(orders)
    if until is not None:
        d = d.filter(d.date <= _ts(until))
    g = d.group_by("customer_id").agg(first_purchase=d.date.min(), last_purchase=d.date.max(),
                                      purchase_days=d.count(), revenue=d.revenue.sum())
    first = d.join(g, [d.customer_id == g.customer_id, d.date == g.first_purchase]).select(
        customer_id=d.customer_id, first_day_revenue=d.revenue)
    out = g.join(first, "customer_id").select(g, first.first_day_revenue)
    if returns:
        o = order_lines(orders)
        r = o.filter(o.returned & o.customer_id.notnull())
        if until is not None:
            r = r.filter(r.order_date <= _ts(until))
        r = r.group_by("customer_id").agg(returned=r.revenue.abs().sum())
        out = out.left_join(r, "customer_id").select(out, returned=r.returned.fill_null(0.0))
    df = _fetch(out).sort_values("customer_id").set_index("customer_id")
    df["purchase_days"] = df["purchase_days"].astype(int)
    return df


def purchase_day_counts(orders, after, until) -> pd.Series:
    """Purchase days per customer with after < day <= until (customers with none are absent)."""
    d = purchase_days(orders)
    d = d.filter((d.date > _ts(after)) & (d.date <= _ts(until)))
    got = _fetch(d.group_by("customer_id").agg(n=d.count()))
    return got.set_index("customer_id")["n"].astype(int).sort_index()


def purchase_day_windows(orders, edges) -> pd.DataFrame:
    """Purchase days per customer in consecutive windows: `edges` e0 < e1 < ... < ek give the windows
    e0 < day <= e1, ..., e(k-1) < day <= ek, one int column each (w0, w1, ...); one row per customer
    with a purchase day in any of them (index customer_id, sorted). purchase_day_counts of each window
    in one scan of the purchase days (the at-risk rule compares two windows)."""
    import ibis

    edges = [pd.Timestamp(e) for e in edges]
    d = purchase_days(orders)
    d = d.filter((d.date > _ts(edges[0])) & (d.date <= _ts(edges[-1])))
    aggs = {f"w{i}": ibis.ifelse((d.date > _ts(a)) & (d.date <= _ts(b)), 1, 0).sum()
            for i, (a, b) in enumerate(zip(edges[:-1], edges[1:]))}
    got = _fetch(d.group_by("customer_id").agg(**aggs))
    return got.set_index("customer_id").astype("int64").sort_index()


def _period(date, grain: str):
    """Consecutive period numbers, as crm.purchases.period_number: month year*12+month-1, quarter
    year*4+quarter-1, year."""
    y = date.year()
    if grain == "M":
        return y * 12 + date.month() - 1
    if grain == "Q":
        return y * 4 + date.quarter() - 1
    if grain == "Y":
        return y
    raise ValueError(f"grain must be M, Q or Y, not {grain!r}")


_ANSWERS: dict = {}   # (study table, question) -> a small result, for this process


def _fixed(expr) -> bool:
    """True when `expr` reads only a study's prepared tables (files written once per data fingerprint:
    they do not change under a running process) and in-memory data: then what is derived from it may
    be kept and its answers remembered. An ibis table is known by its name and schema only, so the same
    name over other data (a file read again, a warehouse table that gained rows) would get an old answer."""
    import ibis.expr.operations as ops

    for node in expr.op().find(ops.Relation):
        if any(isinstance(c, ops.Relation) for c in node.__children__):
            continue                                  # not a leaf: made of the relations below it
        if not isinstance(node, ops.InMemoryTable) and node not in _STUDY_TABLES:
            return False
    return True


def _remembered(source, question: tuple, compute):
    """compute() once per process for a study table (its Parquet file does not change under a running
    notebook) and the same question; a DataFrame's answer is computed each time (the frame may change).
    A notebook that draws the same grid twice (cohort retention in two modes) asks the engine once.
    Any other table (an analyst's own file read again under the same name, a warehouse table that
    gains rows) is asked each time: its name says nothing of its data."""
    import copy

    if isinstance(source, pd.DataFrame) or not _fixed(source):
        return compute()
    key = (source.op(), question)
    if key not in _ANSWERS:
        _ANSWERS[key] = compute()
        while len(_ANSWERS) > 32:
            _ANSWERS.pop(next(iter(_ANSWERS)))
    return copy.deepcopy(_ANSWERS[key])      # callers may change what they get


def cohort_counts(orders, grain: str, until=None, *, cohorts: pd.Series | None = None,
                  leave_out: list | None = None) -> dict:
    """The counts behind a cohort retention grid (crm.retention.cohort_grid), over purchase days up
    to `until`. A customer's cohort is the period of their first purchase, or `cohorts` (a period
    number per customer_id, e.g. of the signup; customers absent from it are left out); customers
    in `leave_out` are left out. Returns small frames:
    size (cohort -> customers), active (cohort, offset -> customers who bought in that period),
    last_active (cohort, offset -> customers whose last purchase period is that offset), and the
    first/last purchase day and the customers left out that bought."""
    question = ("cohort_counts", grain, None if until is None else pd.Timestamp(until),
                None if cohorts is None else tuple(zip(cohorts.index.tolist(), cohorts.tolist())),
                None if leave_out is None else tuple(sorted(map(str, leave_out))))
    return _remembered(orders, question, lambda: _cohort_counts(orders, grain, until, cohorts, leave_out))


def _cohort_counts(orders, grain, until, cohorts, leave_out) -> dict:
    # One pass over the customer x period pairs instead of one per frame: each customer's first and last
    # purchase period (and whether they are left out) joined back to their periods, then counted per
    # cohort and period; a customer's last period is where p == last, so the same rows give the
    # active counts, the last-active counts and (summed) the cohort sizes. At 10M order lines this
    # is one scan and regrouping of the purchase days instead of four (6 -> 2 CPU s).
    import ibis

    d = purchase_days(orders)
    if until is not None:
        d = d.filter(d.date <= _ts(until))
    span = _fetch(d.aggregate(first=d.date.min(), last=d.date.max(), n=d.count()))
    if not len(span) or int(span["n"].iloc[0]) == 0:
        return {"empty": True}
    act = d.select(customer_id=d.customer_id, p=_period(d.date, grain)).distinct()
    per = act.group_by("customer_id").agg(first=act.p.min(), last=act.p.max())
    if leave_out:
        out_ids = _memtable(pd.DataFrame({"customer_id": pd.Series(list(leave_out), dtype=object)}))
        out_ids = out_ids.distinct().mutate(out=ibis.literal(True))
        per = per.left_join(out_ids, "customer_id").select(per, out=out_ids.out.fill_null(False))
    else:
        per = per.mutate(out=ibis.literal(False))
    if cohorts is None:
        per = per.mutate(cohort=per.first)
    else:
        coh = _memtable(pd.DataFrame({"customer_id": cohorts.index.to_numpy(dtype=object),
                                      "cohort": cohorts.to_numpy(dtype="int64")}))
        per = per.left_join(coh, "customer_id").select(per, cohort=coh.cohort)   # null: not in `cohorts`
    j = act.join(per, "customer_id")
    # a left-out customer counts once (their last period) towards left_out, in no cohort
    j = j.filter(j.out | (j.p >= j.cohort))
    j = j.select(out=j.out, cohort=ibis.ifelse(j.out, ibis.null("int64"), j.cohort.cast("int64")),
                 offset=ibis.ifelse(j.out, ibis.null("int64"), (j.p - j.cohort).cast("int64")),
                 is_last=ibis.ifelse(j.p == j["last"], 1, 0))
    rows = _fetch(j.group_by(["out", "cohort", "offset"]).agg(active=j.count(), last=j.is_last.sum()))
    out = rows["out"].astype(bool).to_numpy()
    left_out = int(rows.loc[out, "last"].sum())
    rows = rows.loc[~out, ["cohort", "offset", "active", "last"]].astype("int64")
    rows = rows.sort_values(["cohort", "offset"], ignore_index=True)
    active = rows.loc[rows["active"] > 0, ["cohort", "offset", "active"]].rename(columns={"active": "customers"})
    last_active = rows.loc[rows["last"] > 0, ["cohort", "offset", "last"]].rename(columns={"last": "customers"})
    if cohorts is None:
        size = rows.groupby("cohort")["last"].sum().rename("customers")
    else:  # signup cohorts count every customer, buyers or not
        size = cohorts.value_counts().rename("customers").rename_axis("cohort")
    return {"empty": False, "first": pd.Timestamp(span["first"].iloc[0]), "last": pd.Timestamp(span["last"].iloc[0]),
            "size": size.astype(int).sort_index(),
            "active": active.reset_index(drop=True), "last_active": last_active.reset_index(drop=True),
            "left_out": left_out}


def product_sales(orders, start=None, end=None, by: tuple[str, ...] = ("customer_id", "product_id"),
                  grain: str | None = None) -> pd.DataFrame:
    """Purchase lines (crm.purchases.purchases) with start <= order day <= end (whole days; all when
    None) summed per `by` (of customer_id, product_id) and, with `grain` (M, Q, Y), per `period`
    (crm.purchases.period_number): revenue and lines. The input of crm.distribution: one row per
    customer and product bought instead of one per line."""
    p = _purchase_lines(orders, keep=("product_id",))
    if start is not None:
        p = p.filter(p.order_date >= _ts(pd.Timestamp(start).normalize()))
    if end is not None:
        p = p.filter(p.order_date < _ts(pd.Timestamp(end).normalize() + pd.Timedelta(days=1)))
    keys = {k: p[k] for k in by}
    if grain:
        keys["period"] = _period(p.order_date, grain)
    # sorted on the engine: at 10M order lines pandas' sort of the 2.7M (customer, product) rows on their
    # text keys took 0.5-1 s of each call; the engine's order is the same (byte order, missing last)
    got = _fetch(p.group_by(**keys).agg(revenue=p.revenue.sum().fill_null(0.0), lines=p.count()).order_by(list(keys)))
    got["lines"] = got["lines"].astype("int64")
    return got


def purchase_customers(orders, start=None, end=None) -> int:
    """How many customers have a purchase line with start <= order day <= end (whole days; all when
    None): len(product_sales(orders, start, end, by=("customer_id",))) counted on the engine over the
    kept purchase days (the days of the same purchase lines), without fetching the customer ids."""
    d = purchase_days(orders)
    if start is not None:
        d = d.filter(d.date >= _ts(pd.Timestamp(start).normalize()))
    if end is not None:
        d = d.filter(d.date <= _ts(pd.Timestamp(end).normalize()))
    return int(_fetch(d.aggregate(n=d.customer_id.nunique()))["n"].iloc[0])


def customer_items(orders, until=None, items: pd.DataFrame | None = None) -> pd.DataFrame:
    """Who bought what: the distinct (customer_id, item) of the purchase lines (crm.purchases.purchases)
    up to the day `until` (all when None), in no particular order; item is the product_id, or with
    `items` (a frame of product_id, item, e.g. the category) the product's item (products without one
    left out). The input of crm.crosssell.basket_matrix: a pair per customer and item, not the lines."""
    p = _purchase_lines(orders, keep=("product_id",))
    if until is not None:
        p = p.filter(p.order_date < _ts(pd.Timestamp(until).normalize() + pd.Timedelta(days=1)))
    if items is None:
        t = p.select(customer_id=p.customer_id, item=p.product_id)
    else:
        m = _memtable(items[["product_id", "item"]].rename(columns={"product_id": "item_product"}))
        j = p.join(m, p.product_id == m.item_product)
        t = j.select(customer_id=j.customer_id, item=j.item)
    t = t.filter(t.item.notnull()).distinct()
    return _fetch(t)


def first_purchase_of(orders, product_ids, start, end) -> pd.Series:
    """Per customer (index customer_id, sorted) who bought one of `product_ids` with start <=
    order_date <= end (timestamps as recorded): the order_date of the first such purchase line
    (crm.purchases.purchases: no returns). The input of crm.opinions.adoption_frame."""
    p = _purchase_lines(orders, keep=("product_id",))
    p = p.filter(p.product_id.isin(list(product_ids)) & (p.order_date >= _ts(start)) & (p.order_date <= _ts(end)))
    got = _fetch(p.group_by("customer_id").agg(first_purchase=p.order_date.min()))
    return got.set_index("customer_id")["first_purchase"].sort_index()


def _flagged_lines(orders, start=None, end=None, keep: tuple[str, ...] = ()) -> "ir.Table":
    """The order lines not flagged is_return (negative lines without the flag count: credits are
    netted) with start <= order_date <= end: customer_id (as text), order_date, revenue and the
    columns `keep`. Profitability's and the satisfaction profiles' definition of revenue."""
    import ibis

    if isinstance(orders, pd.DataFrame):
        from insight.crm.attention_base import to_dates

        frame = pd.DataFrame({"customer_id": orders["customer_id"].astype(str),
                              "order_date": to_dates(orders["order_date"]).astype("datetime64[us]"),
                              "revenue": orders["revenue"].astype(float),
                              **{c: orders[c].astype(str).where(orders[c].notna()) for c in keep}})
        frame["returned"] = (orders["is_return"].astype("boolean").fillna(False).astype(bool).to_numpy()
                             if "is_return" in orders.columns else False)
        t = _memtable(frame)
    else:
        _require(orders, "orders", ["customer_id", "order_date", "revenue", *keep], "revenue per customer")
        t = orders.select(customer_id=orders.customer_id.cast("string"), order_date=orders.order_date.cast("timestamp"),
                          revenue=orders.revenue.cast("float64"),
                          returned=orders.is_return.fill_null(False) if "is_return" in orders.columns else ibis.literal(False),
                          **{c: orders[c].cast("string") for c in keep})
    t = t.filter(~t.returned)
    if start is not None:
        t = t.filter((t.order_date >= _ts(start)) & (t.order_date <= _ts(end)))
    return t


def revenue_per_customer(orders, start=None, end=None) -> pd.Series:
    """Revenue of the order lines not flagged is_return with start <= order_date <= end, per
    customer_id (as text, as crm.profitability.customer_profit counts it). Negative lines without
    the flag count: that is profitability's definition (credits netted), unlike purchases."""
    t = _flagged_lines(orders, start, end)
    got = _fetch(t.group_by("customer_id").agg(revenue=t.revenue.sum()))
    return got.set_index("customer_id")["revenue"].astype(float).sort_index()


def spend_around(orders, anchors: pd.DataFrame, days: int = 182) -> pd.DataFrame:
    """Revenue before and after a moment per anchor: `anchors` has key, customer_id and at (one row
    per key, e.g. a survey respondent and when they answered). Over the lines of _flagged_lines of
    the anchor's customer: before = at - days <= order_date < at, after = at <= order_date < at + days.
    The anchors go to the engine (a small table) and one row per key comes back, index key, zeros for
    keys without lines; the order lines stay where they are."""
    import ibis

    at = pd.to_datetime(anchors["at"]).astype("datetime64[us]")
    lo, hi = at.min(), at.max()
    if pd.notna(lo):   # only lines within `days` of some anchor can count: the others (most of a long history)
        # never reach the join; both bounds are as wide as the widest window (a line outside adds nothing)
        reach = pd.Timedelta(seconds=int(round(float(days) * 86400)))
        t = _flagged_lines(orders, lo - reach, hi + reach)
    else:
        t = _flagged_lines(orders)
    a = _memtable(pd.DataFrame({"key": anchors["key"].astype(object).to_numpy(),
                                "customer_id": anchors["customer_id"].astype(str).astype(object).to_numpy(),
                                "at": at.to_numpy()}))
    j = t.join(a, t.customer_id == a.customer_id)
    span = _interval(days)
    before = (j.order_date >= j["at"] - span) & (j.order_date < j["at"])
    after = (j.order_date >= j["at"]) & (j.order_date < j["at"] + span)
    out = j.group_by("key").agg(before=ibis.ifelse(before, j.revenue, 0.0).sum(),
                                after=ibis.ifelse(after, j.revenue, 0.0).sum())
    got = _fetch(out).set_index("key")[["before", "after"]].astype(float)
    keys = pd.Index(pd.unique(anchors["key"].astype(object).to_numpy()), name="key")
    return got.reindex(keys).fillna(0.0)


def customer_sales(orders, start=None, end=None) -> pd.DataFrame:
    """Per customer_id (as text; index, sorted), over the lines of _flagged_lines: revenue, orders
    (distinct order_id) and, when the table has product_id, main_product (the product with the most
    revenue; ties to the smallest id). The order columns of crm.extremes.customer_features."""
    import ibis

    cols = orders.columns
    keep = tuple(c for c in ("order_id", "product_id") if c in cols)
    t = _flagged_lines(orders, start, end, keep)
    if "order_id" in keep:   # distinct orders: grouped by order first (see window_behaviour), not COUNT(DISTINCT)
        per = t.group_by(["customer_id", "order_id"]).agg(revenue=t.revenue.sum())
        out = per.group_by("customer_id").agg(revenue=per.revenue.sum(), orders=per.order_id.count())
    else:
        out = t.group_by("customer_id").agg(revenue=t.revenue.sum(), orders=t.count())
    df = _fetch(out).set_index("customer_id").sort_index()
    df["orders"] = df["orders"].astype(int)
    if "product_id" in keep:
        p = t.filter(t.product_id.notnull())
        per = p.group_by(["customer_id", "product_id"]).agg(revenue=p.revenue.sum())
        rank = ibis.row_number().over(group_by=per.customer_id, order_by=[ibis.desc(per.revenue), per.product_id])
        main = per.mutate(rank=rank)
        main = main.filter(main["rank"] == 0).select("customer_id", "product_id")
        from insight.speedups import positions, take_at as take   # a lookup on text ids through pyarrow

        main = _fetch(main).set_index("customer_id")["product_id"]
        df["main_product"] = take(main, positions(df.index.to_series(), main.index), df.index)
    return df


# --- usage (customer x month x feature rows: the largest table of a SaaS study) ------------------

def usage_rows(usage, feature: bool = False) -> "ir.Table":
    """Usage rows as customer_id, month (timestamp), active_users (float) and, with `feature`, the
    feature. A DataFrame is checked by the CRM input checks (unparseable months or counts raise with
    the rows named)."""
    cols = ["customer_id", "month", "active_users", *(["feature"] if feature else [])]
    if isinstance(usage, pd.DataFrame):
        from insight.crm.purchases import as_dates, as_numbers, require

        require(usage, "usage", cols, "usage")
        frame = pd.DataFrame({"customer_id": usage["customer_id"],
                              "month": as_dates(usage, "usage", "month").astype("datetime64[us]"),
                              "active_users": as_numbers(usage, "usage", "active_users").astype(float),
                              **({"feature": usage["feature"]} if feature else {})})
        return _memtable(frame)
    _require(usage, "usage", cols, "usage")
    return usage.select(customer_id=usage.customer_id, month=usage.month.cast("timestamp"),
                        active_users=usage.active_users.cast("float64"), **({"feature": usage.feature} if feature else {}))


def _month_number(month):
    return month.year() * 12 + month.month() - 1


def usage_windows(usage, last_month, months: int, per_month: str = "sum", first_month: bool = True) -> pd.DataFrame:
    """Per customer with usage in the 2 x `months` months up to and including `last_month` (index
    customer_id, sorted): `recent`, the active users of the last `months` months, and `prior`, of the
    `months` before (each month's active users summed over features with per_month='sum', or the
    busiest feature's with 'max'; months without a row count 0), and `first_month`, the customer's
    earliest usage month of all (first_month=False leaves it out: a scan of every usage row less). The
    input of the usage rules of success.health and crm.churn."""
    if per_month not in ("sum", "max"):
        raise ValueError("per_month must be sum or max")
    u = usage_rows(usage)
    last = pd.Timestamp(last_month)
    last_n = last.year * 12 + last.month - 1
    u = u.filter(u.customer_id.notnull())
    first = u.filter(u.month.notnull()).group_by("customer_id").agg(first_month=u.month.min())
    # the 2 x `months` months as a range of the month column itself, which the engine applies while it
    # reads (row groups skipped by their statistics, ids read only for the rows kept); `ago` numbers them
    since = (last.to_period("M") - (2 * months - 1)).to_timestamp()
    until = (last.to_period("M") + 1).to_timestamp()
    w = u.filter((u.month >= _ts(since)) & (u.month < _ts(until)))
    w = w.mutate(ago=last_n - _month_number(w.month))
    agg = w.active_users.sum() if per_month == "sum" else w.active_users.max()
    pm = w.group_by(["customer_id", "ago"]).agg(users=agg.fill_null(0.0))
    per = pm.group_by("customer_id").agg(recent=pm.users.sum(where=pm.ago < months).fill_null(0.0),
                                         prior=pm.users.sum(where=pm.ago >= months).fill_null(0.0))
    if first_month:
        per = per.join(first, "customer_id").select(per, first.first_month)
    df = _fetch(per).sort_values("customer_id").set_index("customer_id")
    return df[["recent", "prior", *(["first_month"] if first_month else [])]].astype({"recent": float, "prior": float})


def usage_adoption(usage) -> pd.DataFrame:
    """Per customer (index customer_id, sorted): the mean over their usage months of the active users
    summed over features, and the features with active users. The input of success.education.adoption."""
    u = usage_rows(usage, feature=True)
    u = u.filter(u.customer_id.notnull())
    monthly = u.group_by(["customer_id", "month"]).agg(users=u.active_users.sum().fill_null(0.0))
    mean = monthly.group_by("customer_id").agg(mean_users=monthly.users.mean())
    used = u.filter(u.active_users > 0).group_by("customer_id").agg(features=u.feature.nunique())
    out = mean.left_join(used, "customer_id").select(mean, features=used.features.fill_null(0))
    df = _fetch(out).sort_values("customer_id").set_index("customer_id")
    return pd.DataFrame({"mean monthly active users": df["mean_users"].astype(float),
                         "features used": df["features"].astype(int)})


def latest_usage(usage, until) -> pd.Series:
    """Per customer (index customer_id, sorted): the active users of the busiest feature in their
    latest usage month up to `until`. The input of crm.crosssell.usage_limit_candidates."""
    u = usage_rows(usage)
    u = u.filter(u.customer_id.notnull() & u.month.notnull() & (u.month <= _ts(until)))
    latest = u.group_by("customer_id").agg(latest=u.month.max())
    j = u.join(latest, [u.customer_id == latest.customer_id, u.month == latest.latest]).select(u.customer_id, u.active_users)
    got = _fetch(j.group_by("customer_id").agg(active_users=j.active_users.max()))
    return got.set_index("customer_id")["active_users"].astype(float).sort_index()


# --- journey events (one row per touchpoint event: the longest table of a funnel study) ---------

_JOURNEY_OPTIONAL = ("touchpoint", "segment", "customer_id")


def journey_rows(events) -> "ir.Table":
    """Journey events as visitor_id, timestamp, step, channel, touchpoint, segment and customer_id (the
    last three null when the table lacks them). A DataFrame is checked by success.journey's input
    checks (unparseable times, or rows without visitor, time or step, raise with the rows named); rows of
    an engine table without visitor, time or step are left out (the preparation rejects such rows)."""
    import ibis

    source = None if isinstance(events, pd.DataFrame) else events
    if source is None:
        from insight.success.journey import _events

        ev = _events(events)
        frame = pd.DataFrame({c: ev[c] for c in ("visitor_id", "step", "channel", *_JOURNEY_OPTIONAL) if c in ev.columns})
        frame["timestamp"] = ev["timestamp"].astype("datetime64[us]")
        events = _memtable(frame)
    else:
        _require(events, "journey_events", ["visitor_id", "timestamp", "step", "channel"], "the journey")
    t = events

    def text(c):        # a column of nulls (all-None in a DataFrame) has no type until cast
        return t[c].cast("string") if t[c].type().is_null() or t[c].type().is_string() else t[c]

    t = t.select(visitor_id=t.visitor_id, timestamp=t.timestamp.cast("timestamp"), step=text("step"),
                 channel=text("channel"),
                 **{c: (t[c].cast("string") if c == "customer_id" else text(c)) if c in t.columns else ibis.null("string")
                    for c in _JOURNEY_OPTIONAL})
    out = t.filter(t.visitor_id.notnull() & t.timestamp.notnull() & t.step.notnull())
    if source is not None:   # what derived tables of these rows are kept under (_visitors_of)
        _SOURCES[out.op()] = _PERIODS.get(source.op(), (source, "journey_visitors"))
    return out


def journey_in_period(events, start, end) -> "ir.Table":
    """Journey events from `start` to the end of the day `end`, as an engine table."""
    ev = journey_rows(events)
    lo, hi = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    out = ev.filter((ev.timestamp >= _ts(lo)) & (ev.timestamp < _ts(hi)))
    source, what = _SOURCES.get(ev.op(), (None, None))
    if what == "journey_visitors":   # the period of a whole table: its visitors are kept under the study table
        _PERIODS[out.op()] = (source, f"journey_visitors_{lo:%Y%m%d%H%M%S}_{hi:%Y%m%d%H%M%S}")
    return out


def journey_steps(events) -> set:
    """The distinct steps of the events (asked once per process of the same engine table: the funnel
    and the window sensitivity both check their steps)."""
    ev = journey_rows(events)
    return _remembered(events, ("journey_steps",), lambda: set(_fetch(ev.select("step").distinct())["step"].dropna()))


def _first_at_earliest(t, value: str, when: str = "timestamp"):
    """Per visitor, `value` of their earliest row of `t` (ties: the smallest value). A join on the
    earliest time rather than a window or arg_min: deterministic and the same on every backend."""
    first = t.group_by("visitor_id").agg(_t=t[when].min())
    j = t.join(first, [t.visitor_id == first.visitor_id, t[when] == first._t])
    return j.group_by(visitor_id=j.visitor_id).agg(**{value: j[value].min()})


def _journey_visitors(ev) -> "ir.Table":
    """Per visitor of the events: first-touch `channel` (the channel of their first event), `segment`
    (the first known segment of their events) and `customer_id` (the customer they are linked to; the
    smallest when several)."""
    channel = _first_at_earliest(ev, "channel")
    known = ev.filter(ev.segment.notnull())
    segment = _first_at_earliest(known, "segment")
    linked = ev.filter(ev.customer_id.notnull())
    cust = linked.group_by("visitor_id").agg(customer_id=linked.customer_id.min())
    out = channel.left_join(segment, "visitor_id").select(channel, segment.segment)
    return out.left_join(cust, "visitor_id").select(out, cust.customer_id)


def _visitors_of(ev) -> "ir.Table":
    """_journey_visitors of journey_rows(events), kept once per study when the events are a study's table
    or its journey_in_period (the study store, as the purchase days, a file per period): the channel
    summary, the funnel and the lead report each ask for it, about 3 s each at 9M events, and the journey
    and lead notebooks read the same period. Other tables are kept for the process (_kept)."""
    v = _journey_visitors(ev)
    source, what = _SOURCES.get(ev.op(), (None, None))
    return v if source is None else _kept(source, what, v)


# journey_rows(t).op() -> (the table its derived tables are kept under, their name): t itself, or for the
# rows of journey_in_period(t) the study table t and a name with the period
_SOURCES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_PERIODS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()   # journey_in_period(t).op() -> (t, name)


def _customer_column(customers, column: str):
    """(customer_id, column) of a customers table or DataFrame, or None when it lacks the column."""
    if customers is None or column not in customers.columns:
        return None
    if isinstance(customers, pd.DataFrame):
        c = customers.drop_duplicates("customer_id")
        t = _memtable(pd.DataFrame({"customer_id": c["customer_id"].astype(object).to_numpy(),
                                    column: c[column].astype(object).to_numpy()}))
    else:
        t = customers
    t = t.select(customer_id=t.customer_id.cast("string"), value=t[column].cast("string"))
    return t.group_by("customer_id").agg(**{column: t.value.min()})


def _with_customer(visitors, customers, column: str, into: str):
    """`into` filled from the customer's `column` where the visitor has none (or always, when into
    names a column the visitor table lacks)."""
    c = _customer_column(customers, column)
    if c is None:
        return visitors
    j = visitors.left_join(c, visitors.customer_id == c.customer_id)
    return j.select(*[visitors[k] for k in visitors.columns if k != into],
                    **{into: visitors[into].fill_null(c[column]) if into in visitors.columns else c[column]})


def _interval(days: float):
    import ibis
    return ibis.interval(seconds=int(round(float(days) * 86400)))


def _entered(ev, step: str) -> "ir.Table":
    """Per visitor with an event of `step` (the funnel's first): visitor_id and t, their first such event.
    The same for every window: kept like the visitors (_visitors_of; a study period's in the study store),
    so the funnel and the window sensitivity group the step's events once (a third of a funnel query)."""
    import hashlib

    first = ev.filter(ev.step == step)
    t0 = first.group_by("visitor_id").agg(t=first.timestamp.min())
    source, what = _SOURCES.get(ev.op(), (None, None))
    if source is None:
        return t0
    tag = hashlib.blake2b(str(step).encode(), digest_size=4).hexdigest()
    return _kept(source, what.replace("journey_visitors", "journey_entered", 1) + f"_{tag}", t0)


def _reached_tables(ev, steps: list[str], window_days: float) -> list:
    """Per funnel step k, the visitors who reached it under success.journey's window rule: a table of
    visitor_id and t, the time they reached it (one row per visitor). Step 1 is a visitor's first event of
    it; each later step one join of its events with the previous step's visitors, on the engine."""
    f = ev.filter(ev.step.isin(list(steps))).select("visitor_id", "timestamp", "step")
    prev = _entered(ev, steps[0])
    out = [prev]
    win = _interval(window_days)
    for step in steps[1:]:
        c = f.filter(f.step == step)
        j = c.join(prev, "visitor_id")
        j = j.filter((j.timestamp >= j.t) & (j.timestamp <= j.t + win))
        prev = j.group_by("visitor_id").agg(t=j.timestamp.min())
        out.append(prev)
    return out


def _funnel_times(ev, steps: list[str], window_days: float) -> "ir.Table":
    """Per visitor with an event of step 1: visitor_id, t0 .. t{k-1} (the time each step was reached
    under success.journey's window rule; null when not) and `last`, the index of the last step reached
    (steps are reached in order). One join per step, on the engine."""
    reached = _reached_tables(ev, steps, window_days)
    out = reached[0].select("visitor_id", t0=reached[0].t)
    for k, tk in enumerate(reached[1:], 1):
        out = out.left_join(tk, "visitor_id").select(out, **{f"t{k}": tk.t})
    last = sum((out[f"t{k}"].notnull().cast("int32") for k in range(1, len(steps))), 0)
    return out.mutate(last=last)


def _last_counts(n: pd.DataFrame, by: list[str], count: str) -> pd.DataFrame:
    """Visitors per `by` and last step reached, from n: visitors per `by` and step reached (column k).
    Steps are reached in order, so those whose last step is k are those who reached k less those who
    reached k + 1 (what the per-visitor `last` would count, without a row per visitor)."""
    n = n[[*by, "k", count]]
    up = n[n["k"] > 0].assign(k=n["k"] - 1, **{count: -n[count]})
    d = pd.concat([n, up], ignore_index=True).rename(columns={"k": "last", count: "visitors"})
    d = d.groupby([*by, "last"], dropna=False, sort=False, as_index=False)["visitors"].sum()
    d = d[d["visitors"] > 0]
    d["last"] = d["last"].astype(int)
    d["visitors"] = d["visitors"].astype("int64")
    return d.sort_values([*by, "last"], na_position="last", ignore_index=True)


def _step_parts(reached: list, **values) -> "ir.Table":
    """One aggregate row per step k of the reached tables (union all): k and the `values` (functions of
    a step's table giving an aggregate)."""
    import ibis

    parts = [t.aggregate(k=ibis.literal(k, type="int32"), **{c: f(t) for c, f in values.items()})
             for k, t in enumerate(reached)]
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


def journey_funnel_visitors(events, steps: list[str], window_days: float, customers=None) -> pd.DataFrame:
    """One row per visitor who entered the funnel (index visitor_id, sorted): t0 .. t{k-1}, last, channel
    (first touch), segment (the events', else the customer's) and customer_id. The per-visitor funnel of
    success.journey.reached_steps: as many rows as visitors (use journey_funnel_counts to aggregate)."""
    ev = journey_rows(events)
    got = _fetch(_visitor_funnel(ev, steps, window_days, customers))
    return got.sort_values("visitor_id").set_index("visitor_id")


def _visitor_funnel(ev, steps, window_days, customers):
    times = _funnel_times(ev, steps, window_days)
    who = _with_customer(_visitors_of(ev), customers, "segment", "segment")
    return times.join(who, "visitor_id").select(times, who.channel, who.segment, who.customer_id)


def journey_funnel_counts(events, steps: list[str], window_days: float, customers=None,
                          by: tuple[str, ...] = ("channel", "segment")) -> pd.DataFrame:
    """Visitors who entered the funnel counted per `by` (of channel, segment) and `last` (the index of
    the last step reached): the funnel, its drop-off and abandonment tables of success.journey, without
    a row per visitor leaving the engine. Counted per step reached (each step's visitors joined with
    their channel and segment, grouped) and differenced (_last_counts): at 9M events this avoids joining
    every entered visitor with every step's times (about half the work)."""
    import ibis

    ev = journey_rows(events)
    reached = _reached_tables(ev, steps, window_days)
    if by:
        who = _with_customer(_visitors_of(ev), customers, "segment", "segment").select("visitor_id", *by)
        ids = ibis.union(*[t.select("visitor_id", k=ibis.literal(k, type="int32")) for k, t in enumerate(reached)])
        j = ids.join(who, "visitor_id")
        n = _fetch(j.group_by([*by, "k"]).agg(n=j.count()))
    else:
        n = _fetch(_step_parts(reached, n=lambda t: t.count()))
    return _last_counts(n, list(by), "n")


def journey_funnel_windows(events, steps: list[str], windows) -> dict[float, pd.DataFrame]:
    """journey_funnel_counts(events, steps, w, by=()) for each window w, all windows followed in one pass:
    the first step's time is the same for every window, and each later step is one join of its events
    with the previous step's times under every window (a column per window) and one grouping that
    takes, per window, the earliest event inside that window (min with a filter). The rule is
    _reached_tables' exactly; the work is one join per step instead of one per step and window (at 9M
    events, five windows: about 13 s -> a third of it). What comes back is, per step and window, the
    visitors who reached it (a count of the non-null times), differenced into last-step counts."""
    ev = journey_rows(events)
    windows = list(windows)
    f = ev.filter(ev.step.isin(list(steps))).select("visitor_id", "timestamp", "step")
    t0 = _entered(ev, steps[0])
    prev = t0.select("visitor_id", **{f"w{i}": t0.t for i in range(len(windows))})
    reached = [prev]
    for step in steps[1:]:
        c = f.filter(f.step == step)
        j = c.join(prev, "visitor_id")
        prev = j.group_by("visitor_id").agg(**{
            f"w{i}": j.timestamp.min(where=(j.timestamp >= j[f"w{i}"]) & (j.timestamp <= j[f"w{i}"] + _interval(float(w))))
            for i, w in enumerate(windows)})
        reached.append(prev)
    got = _fetch(_step_parts(reached, **{f"n{i}": (lambda t, i=i: t[f"w{i}"].count()) for i in range(len(windows))}))
    return {w: _last_counts(got, [], f"n{i}") for i, w in enumerate(windows)}


def journey_channels(events) -> pd.DataFrame:
    """Per channel (index): events, visitors (distinct), touchpoints (distinct) and first-touch visitors."""
    ev = journey_rows(events)
    per = ev.group_by("channel").agg(events=ev.count(), visitors=ev.visitor_id.nunique(),
                                     touchpoints=ev.touchpoint.nunique())
    first = _visitors_of(ev)
    ft = first.group_by("channel").agg(first_touch=first.count())
    got = _fetch(per.left_join(ft, "channel").select(per, first_touch=ft.first_touch.fill_null(0)))
    return got.set_index("channel").astype("int64")


def journey_touchpoints(events) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per channel and touchpoint ('(none)' when null): events, visitors and customers (distinct); and
    the distinct (channel, touchpoint, step) triples."""
    ev = journey_rows(events)
    ev = ev.mutate(touchpoint=ev.touchpoint.fill_null("(none)"))
    per = _fetch(ev.group_by(["channel", "touchpoint"]).agg(events=ev.count(), visitors=ev.visitor_id.nunique(),
                                                            customers=ev.customer_id.nunique()))
    steps = _fetch(ev.select("channel", "touchpoint", "step").distinct())
    return per, steps


def journey_visitor_count(events) -> int:
    """Distinct visitors: the rows of _visitors_of (one per visitor with an event), which the channel
    summary and the funnel read anyway, instead of a distinct count over the events."""
    v = _visitors_of(journey_rows(events))
    return int(_fetch(v.aggregate(n=v.count()))["n"].iloc[0])


def journey_leads(events, customers=None, *, qualified: str, onboarded: str, trial: str, converted: str,
                  window_days: float | None = None) -> pd.DataFrame:
    """One row per visitor with a `qualified` or a `trial` event (index visitor_id, sorted): qualified_at
    (their first qualified event), onboarded_at (the first onboarded event at or after it), trial_at (the
    first trial event), converted_at (the first `converted` event at or after the trial, within
    `window_days` when given), customer_id, and channel: the customer's acquisition_channel when the
    visitor is linked to a customer that has one, else the first-touch channel. The input of
    success.leads."""
    ev = journey_rows(events)
    s = ev.filter(ev.step.isin([qualified, trial]))
    base = s.group_by("visitor_id").agg(qualified_at=s.timestamp.min(where=s.step == qualified),
                                        trial_at=s.timestamp.min(where=s.step == trial))

    def first_after(step, start, window):
        c = ev.filter(ev.step == step).select("visitor_id", "timestamp")
        j = c.join(base, "visitor_id")
        ok = j.timestamp >= j[start]
        if window is not None:
            ok = ok & (j.timestamp <= j[start] + _interval(window))
        j = j.filter(ok)
        return j.group_by("visitor_id").agg(t=j.timestamp.min())

    on = first_after(onboarded, "qualified_at", None)
    conv = first_after(converted, "trial_at", window_days)
    out = base.left_join(on, "visitor_id").select(base, onboarded_at=on.t)
    out = out.left_join(conv, "visitor_id").select(out, converted_at=conv.t)
    # first-touch channel and linked customer of the leads only (_journey_visitors' rules on their own
    # events; segments are not needed): not every visitor of the period's events (at 9M events 11 s)
    lead_ev = ev.join(base.select("visitor_id"), "visitor_id").select(ev.visitor_id, ev.timestamp, ev.channel,
                                                                      ev.customer_id)
    first = _first_at_earliest(lead_ev, "channel")
    linked = lead_ev.filter(lead_ev.customer_id.notnull())
    cust = linked.group_by("visitor_id").agg(customer_id=linked.customer_id.min())
    who = first.left_join(cust, "visitor_id").select(first.visitor_id, cust.customer_id, first_touch=first.channel)
    who = _with_customer(who, customers, "acquisition_channel", "acquisition_channel")
    channel = (who.acquisition_channel.fill_null(who.first_touch) if "acquisition_channel" in who.columns
               else who.first_touch)
    out = out.join(who, "visitor_id").select(out, who.customer_id, channel=channel)
    got = _fetch(out).sort_values("visitor_id").set_index("visitor_id")
    return got[["qualified_at", "onboarded_at", "trial_at", "converted_at", "customer_id", "channel"]]


# --- interactions (contacts, complaints, reviews: a few rows per customer and month) ------------

def interaction_rows(interactions, *, since=None, after=None, until=None, before=None, types=None, directions=None,
                     columns: tuple[str, ...] = ("customer_id", "date", "type", "direction")) -> pd.DataFrame:
    """The interactions dated since <= date, after < date, date <= until and date < before (each bound
    that is given) and, with `types` / `directions`, of those types and directions: the `columns` the
    table has, as a pandas frame. The filter and the choice of columns run on the engine; the analyses
    (success.health, success.cadence, crm.contacts, crm.churn) then work on these rows, a fraction of
    the table. Not pushed down further: their rules (cadence windows per customer and step, renewal
    shifts, period labels) stay in pandas on the rows returned."""
    _require(interactions, "interactions", ["customer_id", "date"], "the interaction analyses")
    import ibis

    t = interactions
    date = t.date.cast("timestamp")
    cond = ibis.literal(True)
    for bound, op in ((since, "__ge__"), (after, "__gt__"), (until, "__le__"), (before, "__lt__")):
        if bound is not None:
            cond &= getattr(date, op)(_ts(bound))
    if types is not None:
        cond &= t.type.isin(list(types))
    if directions is not None:
        cond &= t.direction.isin(list(directions))
    t = t.filter(cond)
    return _fetch(t.select(*[t[c] if c != "date" else t.date.cast("timestamp").name("date") for c in columns if c in t.columns]))


def interactions_of(interactions, types=None, start=None, end=None) -> pd.DataFrame:
    """Interactions as a DataFrame for the analyses that work on their rows (complaints, consultations,
    suggestions, the review cadence, education use): a DataFrame as it is; of an engine table, the rows
    of `types` dated start <= date <= end (each when given) with every column (the filter runs on the
    engine: complaints are about a tenth of the interactions)."""
    if isinstance(interactions, pd.DataFrame):
        return interactions
    _require(interactions, "interactions", ["customer_id", "date", "type"], "the interaction analyses")
    return interaction_rows(interactions, since=start, until=end, types=None if types is None else list(types),
                            columns=tuple(interactions.columns))


def distinct_values(table, column: str) -> list:
    """The distinct non-null values of a column of an engine table."""
    return _fetch(table.select(column).distinct())[column].dropna().tolist()


def first_date(table, column: str = "date"):
    """The earliest value of a date column of an engine table (None when it has none)."""
    got = _fetch(table.aggregate(first=table[column].cast("timestamp").min()))
    v = got["first"].iloc[0] if len(got) else None
    return None if v is None or pd.isna(v) else pd.Timestamp(v)


def _dated(table, name: str, date: str, text: tuple[str, ...], numbers: tuple[str, ...] = ()) -> "ir.Table":
    """customer_id (as text), `date` (a timestamp), the `text` columns and the `numbers` (float) of a
    table or DataFrame (its dates read as crm.attention_base.to_dates reads them)."""
    if isinstance(table, pd.DataFrame):
        from insight.crm.attention_base import to_dates

        frame = pd.DataFrame({"customer_id": table["customer_id"].astype(str).where(table["customer_id"].notna()),
                              date: to_dates(table[date]).astype("datetime64[us]"),
                              **{c: table[c].astype(object).where(table[c].notna()) for c in text},
                              **{c: pd.to_numeric(table[c], errors="coerce").astype(float) for c in numbers}})
        return _memtable(frame)
    _require(table, name, ["customer_id", date, *text, *numbers], name)
    return table.select(customer_id=table.customer_id.cast("string"), **{date: table[date].cast("timestamp")},
                        **{c: table[c].cast("string") for c in text}, **{c: table[c].cast("float64") for c in numbers})


def _within(t, column: str, start, end):
    if start is not None:
        t = t.filter(t[column] >= _ts(start))
    if end is not None:
        t = t.filter(t[column] <= _ts(end))
    return t


def interaction_counts(interactions, start=None, end=None, complaint_types=("complaint",)) -> pd.DataFrame:
    """Per customer_id (as text; index, sorted) with interactions dated start <= date <= end (all when
    None): contacts (all of them) and complaints (those of complaint_types). The contact columns of
    crm.extremes.customer_features."""
    t = _within(_dated(interactions, "interactions", "date", ("type",)), "date", start, end)
    t = t.filter(t.customer_id.notnull())
    got = _fetch(t.group_by("customer_id").agg(contacts=t.count(),
                                               complaints=t.type.isin(list(complaint_types)).sum()))
    return got.set_index("customer_id").sort_index().astype("int64")


def interaction_customers(interactions, start=None, end=None) -> pd.DataFrame:
    """Per customer_id (as text, a missing id included; index) with interactions dated start <= date
    <= end (all when None): outbound, how many of them are outbound. The coverage indicators of
    crm.capability (contacted at all, actively contacted)."""
    t = _within(_dated(interactions, "interactions", "date", ("direction",)), "date", start, end)
    got = _fetch(t.group_by("customer_id").agg(outbound=(t.direction == "outbound").sum().fill_null(0)))
    return got.set_index("customer_id").astype("int64")


def cost_totals(costs, start=None, end=None, components=()) -> tuple[pd.DataFrame, dict | None]:
    """The cost rows dated start <= period <= end summed per customer_id (as text; index, sorted) for
    each component; and None, or when some are negative {"rows": rows with a negative component,
    "columns": those components, "customers": up to five of their customer ids} (crm.profitability
    refuses negative costs and names them)."""
    import functools
    import operator

    components = list(components)
    t = _within(_dated(costs, "costs", "period", (), tuple(components)), "period", start, end)
    negative = None
    if components:
        any_neg = functools.reduce(operator.or_, [(t[c] < 0).fill_null(False) for c in components])
        got = _fetch(t.aggregate(rows=any_neg.sum(), **{c: (t[c] < 0).sum() for c in components}))
        rows = int(got["rows"].iloc[0] or 0)
        if rows:
            ids = _fetch(t.filter(any_neg).select("customer_id").limit(5))["customer_id"].astype(str).tolist()
            negative = {"rows": rows, "columns": [c for c in components if int(got[c].iloc[0] or 0)], "customers": ids}
    t = t.filter(t.customer_id.notnull())
    sums = _fetch(t.group_by("customer_id").agg(**{c: t[c].sum().fill_null(0.0) for c in components}))
    return sums.set_index("customer_id").sort_index().astype(float), negative

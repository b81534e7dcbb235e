"""Warehouse sources (insight.data.sources) against a real PostgreSQL server the tests start
(tests/pgserver.py): a study whose customers and orders come from Postgres, as a table and as a
query, gives canonical tables identical to the same data read from export files; the cache and its
change indicator; every bad input with its message, before anything runs, the last good report kept;
the password never in any output, exception or cached file."""
from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from insight.data import DataError
from insight.data.prepare import data_fingerprint, prepare_study_data
from insight.data.testing import write_study
from insight.params import ParamsError, load_params
from pgserver import DATABASE, PostgresServer, free_port

ROOT = Path(__file__).resolve().parent.parent
SCALE = 0.1   # 400 customers, ~8k order lines

# the orders export names revenue "amount", and the mapping renames it, drops two products and maps
# the segment labels: a source is mapped exactly like a file
ORDERS_COLUMNS = ["order_id", "customer_id", "product_id", "order_date", "quantity", "amount", "is_return",
                  "settlement_days"]
ORDERS_MAP = {"columns": {"amount": "revenue"}, "exclude": {"product_id": ["P07", "P08"]}}
# the query returns the types a warehouse would: a date, whole-number quantities, a numeric
ORDERS_QUERY = ("select order_id, customer_id, product_id, order_date::date as order_date, quantity::integer as quantity, "
                "amount, is_return, settlement_days::numeric as settlement_days from sales.orders")
CUSTOMERS_MAP = {"values": {"segment": {"Enterprise": "enterprise", "Mid-market": "mid_market", "SMB": "smb"}}}
PG_TYPES = {"str": "text", "Int64": "bigint", "float64": "double precision", "bool": "boolean",
            "datetime64[ns]": "timestamp"}


@pytest.fixture(scope="module")
def pg():
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="module")
def exports() -> dict[str, pd.DataFrame]:
    """The demo company's customers and orders, as a CRM and a shop system would export them."""
    from insight.demo import generate

    tables = generate(scale=SCALE, seed=20240101)
    customers = tables["customers"].copy()
    customers["segment"] = customers["segment"].map({"enterprise": "Enterprise", "mid_market": "Mid-market",
                                                     "smb": "SMB"})
    orders = tables["orders"].rename(columns={"revenue": "amount"})[ORDERS_COLUMNS]
    return {"customers": customers, "orders": orders}


@pytest.fixture(scope="module")
def warehouse(pg, exports):
    """The exports loaded into schema `sales` (COPY through psycopg, as the superuser), readable by analyst."""
    with psycopg.connect(host=str(pg.dir), port=pg.port, user="admin", dbname=DATABASE, autocommit=True) as con:
        con.execute("CREATE SCHEMA sales")
        for name, df in exports.items():
            cols = ", ".join(f"{c} {PG_TYPES[str(t)]}" for c, t in df.dtypes.items())
            con.execute(f"CREATE TABLE sales.{name} ({cols})")
            with con.cursor().copy(f"COPY sales.{name} ({', '.join(df.columns)}) FROM STDIN") as copy:
                for row in df.astype(object).where(df.notna(), None).itertuples(index=False):
                    copy.write_row(row)
        con.execute("GRANT USAGE ON SCHEMA sales TO analyst; GRANT SELECT ON ALL TABLES IN SCHEMA sales TO analyst")
    return pg


@pytest.fixture(autouse=True)
def _env(monkeypatch, pg):
    monkeypatch.setenv("INSIGHT_PII_KEY", "test-key")
    monkeypatch.setenv("PGPASSWORD", pg.password)   # the driver's own variable: the params never hold it
    monkeypatch.delenv("INSIGHT_NOTEBOOK", raising=False)
    for var in ("PGUSER", "PGHOST", "PGPORT", "PGDATABASE", "PGPASSFILE", "PGSERVICE"):
        monkeypatch.delenv(var, raising=False)


def source_tables(pg, customers: dict | None = None, orders: dict | None = None) -> dict:
    return {
        "customers": {"source": {"url": pg.url(), "table": "sales.customers"}, **CUSTOMERS_MAP, **(customers or {})},
        "orders": {"source": {"url": pg.url(), "query": ORDERS_QUERY}, **ORDERS_MAP, **(orders or {})},
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory, warehouse, exports):
    """One project: study `files` reads CSV exports, study `pg` the same data from Postgres."""
    root = tmp_path_factory.mktemp("warehouse-project")
    (root / "data").mkdir()
    for name, df in exports.items():
        df.to_csv(root / "data" / f"{name}.csv", index=False)
    write_study(root, "files", {"tables": {
        "customers": {"path": "data/customers.csv", **CUSTOMERS_MAP},
        "orders": {"path": "data/orders.csv", **ORDERS_MAP}}})
    return write_study(root, "pg", {"tables": source_tables(warehouse)}, link_notebooks=ROOT)


def frames(prepared) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(path) for name, path in sorted(prepared.tables.items())}


def problems_text(exc) -> str:
    return "\n".join(str(p) for p in exc.problems)


def bad_study(project, name: str, pg, **tables) -> str:
    """Study `name` in the project: the good sources with some tables replaced."""
    write_study(project.root, name, {"tables": {**source_tables(pg), **tables}})
    return name


def prepare_error(project, study: str, secret: str) -> str:
    """The problems of preparing `study`, which fails, writes nothing and never shows `secret`."""
    def prepared_versions():
        root = project.study_cache(study)
        return sorted(d.name for d in root.iterdir() if d.is_dir()) if root.exists() else []

    before = prepared_versions()
    with pytest.raises(DataError) as info:
        prepare_study_data(load_params(study, project), project)
    text = problems_text(info.value) + "\n" + str(info.value)
    assert secret not in text
    assert prepared_versions() == before, "nothing new is cached, nothing is removed"
    return text


# --- the happy path ---------------------------------------------------------------------------

def test_postgres_table_and_query_give_the_same_canonical_tables_as_the_files(project, pg):
    from_files = prepare_study_data(load_params("files", project), project)
    from_pg = prepare_study_data(load_params("pg", project), project)
    a, b = frames(from_files), frames(from_pg)
    assert set(a) == set(b) == {"customers", "orders"}
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)
    # the mapping ran: P07/P08 excluded, amount -> revenue, the segment labels mapped, PII pseudonymised
    assert not b["orders"]["product_id"].isin(["P07", "P08"]).any() and "revenue" in b["orders"]
    assert set(b["customers"]["segment"]) <= {"enterprise", "mid_market", "smb"}
    assert b["customers"]["email"].str.fullmatch(r"anon-[0-9a-f]{16}").all()
    assert from_pg.rows == from_files.rows
    # the source is named by its URL without password, the table or "query"
    assert from_pg.sources == {"customers": f"{pg.url()} (table sales.customers)", "orders": f"{pg.url()} (query)"}
    assert from_pg.details["customers"][0].startswith("PostgreSQL table sales.customers at postgres://analyst@")


def test_a_password_placeholder_is_read_from_the_environment(project, pg, monkeypatch):
    monkeypatch.delenv("PGPASSWORD")
    monkeypatch.setenv("WAREHOUSE_PASSWORD", pg.password)
    url = f"postgres://analyst:${{WAREHOUSE_PASSWORD}}@127.0.0.1:{pg.port}/{DATABASE}"
    write_study(project.root, "pg-placeholder", {"tables": {
        "customers": {"source": {"url": url, "table": "sales.customers"}, **CUSTOMERS_MAP}}})
    prepared = prepare_study_data(load_params("pg-placeholder", project), project)
    assert prepared.rows["customers"] == 400
    # shown without the placeholder's value (and without the placeholder: no password at all)
    assert prepared.sources["customers"] == f"{pg.url()} (table sales.customers)"
    monkeypatch.delenv("WAREHOUSE_PASSWORD")
    text = prepare_error(project, "pg-placeholder", pg.password)
    assert "WAREHOUSE_PASSWORD" in text and "not set" in text and "export WAREHOUSE_PASSWORD=" in text


def test_cache_reused_while_the_source_is_unchanged_and_refreshed_when_it_changes(project, pg, monkeypatch):
    params = load_params("pg", project)
    first = prepare_study_data(params, project)
    built = first.tables["orders"].stat().st_mtime_ns
    again = prepare_study_data(params, project)
    assert again.fingerprint == first.fingerprint and again.tables["orders"].stat().st_mtime_ns == built
    order_id = pd.read_parquet(first.tables["orders"])["order_id"].iloc[0]
    pg.psql(f"UPDATE sales.orders SET amount = amount + 1 WHERE order_id = '{order_id}';")
    try:
        # a notebook of a running `make report` keeps the snapshot the run checked at its start
        monkeypatch.setenv("INSIGHT_NOTEBOOK", "some-notebook")
        assert data_fingerprint(params, project) == first.fingerprint
        monkeypatch.delenv("INSIGHT_NOTEBOOK")
        # the next run sees the change (same row count: the checksum catches it) and re-reads the source
        changed = prepare_study_data(params, project)
        assert changed.fingerprint != first.fingerprint
        old, new = (pd.read_parquet(p.tables["orders"]) for p in (first, changed))
        assert new["revenue"].sum() == pytest.approx(old["revenue"].sum() + (old["order_id"] == order_id).sum())
    finally:
        pg.psql(f"UPDATE sales.orders SET amount = amount - 1 WHERE order_id = '{order_id}';")


# --- bad input --------------------------------------------------------------------------------

def test_a_password_written_in_the_url_is_a_params_error(project, pg):
    url = f"postgres://analyst:{pg.password}@127.0.0.1:{pg.port}/{DATABASE}"
    write_study(project.root, "pg-literal", {"tables": {"customers": {"source": {"url": url, "table": "sales.customers"}}}})
    with pytest.raises(ParamsError) as info:
        load_params("pg-literal", project)
    text = info.value.report()
    assert "data.tables.customers.source" in text and "the URL holds a password written out" in text
    assert "${PGPASSWORD}" in text and pg.password not in text


def test_unreachable_server_and_unknown_host(project, pg):
    closed = free_port()   # nothing listens there
    bad_study(project, "pg-refused", pg, customers={
        "source": {"url": pg.url(port=closed), "table": "sales.customers"}, **CUSTOMERS_MAP})
    text = prepare_error(project, "pg-refused", pg.password)
    assert f"postgres://analyst@127.0.0.1:{closed}/{DATABASE} (table sales.customers)" in text
    assert "[data.tables.customers.source]" in text and f"no database server answers at 127.0.0.1:{closed}" in text
    assert "check the host and port in `url:`" in text
    bad_study(project, "pg-nohost", pg, orders={"source": {"url": f"postgres://analyst@no-such-host.invalid:5432/{DATABASE}",
                                                           "query": "select 1"}})
    text = prepare_error(project, "pg-nohost", pg.password)
    assert "the host name 'no-such-host.invalid' is unknown" in text and "(query)" in text
    bad_study(project, "pg-nodb", pg, orders={"source": {"url": pg.url(database="nosuchdb"), "query": "select 1"}})
    text = prepare_error(project, "pg-nodb", pg.password)
    assert "the server has no such database" in text and "correct the database name at the end of `url:`" in text


def test_a_server_that_does_not_answer_fails_within_the_timeout(project, pg):
    with socket.socket() as silent:   # accepts TCP connections, never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        bad_study(project, "pg-silent", pg, customers={
            "source": {"url": pg.url(port=port), "table": "sales.customers", "timeout": 2}, **CUSTOMERS_MAP})
        t0 = time.perf_counter()
        text = prepare_error(project, "pg-silent", pg.password)
        assert time.perf_counter() - t0 < 10
    assert f"no database server answers at 127.0.0.1:{port} (waited at most 2 s" in text


def test_wrong_credentials(project, pg, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "not-the-" + pg.password)
    text = prepare_error(project, "pg", pg.password)
    assert "the server refused the credentials" in text and 'password authentication failed for user "analyst"' in text
    assert "PGPASSWORD" in text and pg.password not in text
    # both sources are reported at once
    assert "(table sales.customers)" in text and "(query)" in text


def test_missing_table_and_sql_errors(project, pg):
    bad_study(project, "pg-typo", pg, customers={"source": {"url": pg.url(), "table": "sales.custmers"}, **CUSTOMERS_MAP})
    text = prepare_error(project, "pg-typo", pg.password)
    assert "the server has no table 'sales.custmers'" in text and "did you mean `table: sales.customers`?" in text
    bad_study(project, "pg-syntax", pg, orders={"source": {"url": pg.url(), "query": "select order_id frm sales.orders"}})
    text = prepare_error(project, "pg-syntax", pg.password)
    assert "[data.tables.orders.source]" in text and "the query is not valid SQL" in text and "correct `query:`" in text
    assert "Line 1, Col: 25" in text and "\x1b" not in text
    pg.psql("CREATE TABLE IF NOT EXISTS sales.salaries (customer_id text);")   # analyst may not read it
    bad_study(project, "pg-denied", pg, customers={"source": {"url": pg.url(), "table": "sales.salaries"}})
    text = prepare_error(project, "pg-denied", pg.password)
    assert "permission denied for table salaries" in text and "ask for SELECT rights" in text
    bad_study(project, "pg-column", pg, orders={"source": {"url": pg.url(), "query": "select revenue from sales.orders"}})
    text = prepare_error(project, "pg-column", pg.password)
    assert "the query failed on the server" in text and 'column "revenue" does not exist' in text
    assert "correct `query:`" in text


def test_a_query_with_the_wrong_columns_names_the_missing_canonical_columns(project, pg):
    query = "select order_id, customer_id, order_date, quantity from sales.orders"
    bad_study(project, "pg-columns", pg, orders={"source": {"url": pg.url(), "query": query}})
    text = prepare_error(project, "pg-columns", pg.password)
    for col in ("product_id", "revenue"):
        assert (f"{pg.url()} (query) [orders.{col}]: the required column '{col}' is missing; the query result's "
                "columns are: order_id, customer_id, order_date, quantity") in text
    assert "2 problems in the study's data" in text
    # with the mapping amount -> revenue, the message names the column the mapping expects
    bad_study(project, "pg-columns-mapped", pg, orders={"source": {"url": pg.url(), "query": query}, **ORDERS_MAP})
    text = prepare_error(project, "pg-columns-mapped", pg.password)
    assert ("[orders.revenue]: `columns:` maps 'amount', but the query result has no such column; its columns are: "
            "order_id, customer_id, order_date, quantity") in text


def test_report_stops_before_any_notebook_and_keeps_the_last_good_report(project, pg, monkeypatch, capsys):
    from insight.runner import RunOptions, run_report

    report = project.report_dir("pg")
    report.mkdir(parents=True, exist_ok=True)
    (report / "manifest.json").write_text('{"notebooks": {}}', encoding="utf-8")
    (report / "index.html").write_text("<p>last good report</p>", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in report.iterdir() if p.is_file()}
    monkeypatch.setenv("PGPASSWORD", "wrong-" + pg.password)
    assert run_report("pg", RunOptions(quiet=True), project) == 2
    err = capsys.readouterr().err
    assert "the server refused the credentials" in err and pg.password not in err
    assert {p.name: p.read_bytes() for p in report.iterdir() if p.is_file()} == before
    assert not (project.cache_dir / "runs" / "pg").exists() or not list((project.cache_dir / "runs" / "pg").glob("*.ipynb"))


def test_driver_not_installed_says_how_to_install(project, pg, monkeypatch, capsys):
    """`make validate` where psycopg cannot be imported (an environment set up without the optional
    engine packages: Python's import system is told the module is absent)."""
    from insight.cli import main

    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.setenv("INSIGHT_ROOT", str(project.root))
    assert main(["validate", "pg"]) == 2
    out = capsys.readouterr()
    assert "the database driver is not installed (psycopg is missing)" in out.err
    assert "make setup-engines" in out.err and "[data.tables.customers.source]" in out.err
    assert pg.password not in out.out + out.err


def test_no_password_in_the_output_or_the_cache(project, pg, monkeypatch, capsys):
    """Run last (file order): `make validate` prints no password, and nothing the tests above cached holds it."""
    from insight.cli import main

    monkeypatch.setenv("INSIGHT_ROOT", str(project.root))
    assert main(["validate", "pg"]) == 0
    out = capsys.readouterr()
    assert "pg: params and data are valid; tables: customers, orders" in out.out
    assert pg.password not in out.out + out.err
    secret = pg.password.encode()
    files = [p for p in project.cache_dir.rglob("*") if p.is_file()]
    assert any(p.name == "sources.json" for p in files) and any(p.suffix == ".parquet" for p in files)
    assert [p for p in files if secret in p.read_bytes()] == []

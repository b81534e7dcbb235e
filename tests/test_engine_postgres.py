"""PostgreSQL as a study's engine (`data.engine: {url: postgres://...}`), on a real server the tests
start (tests/pgserver.py): PostgreSQL reads no Parquet files, so each prepared table is copied in once
per contents (StudyEngine._copied) and the aggregations of insight.data.engine run there. They must
give the hand-computed values and the pandas reference of test_engine_parity, exactly as on DuckDB and
PySpark; the copies must hold the same values (text with quotes, commas and line breaks, empty text
and missing values kept apart); and the funnel's windowed joins must not be planned as nested loops
(the lead report ran for minutes on the demo's 36,000 journey events before that).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from insight.data import engine as E
from insight.data.prepare import Prepared
from pgserver import PostgresServer, free_port

import test_engine_parity as P

pytest.importorskip("psycopg", reason="the PostgreSQL driver comes with requirements-engines.lock (make test installs it)")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pg():
    with PostgresServer() as server:
        server.psql("GRANT CREATE ON SCHEMA public TO analyst; CREATE ROLE reader LOGIN PASSWORD "
                    f"'{server.password}'; GRANT USAGE ON SCHEMA public TO reader;")
        yield server
        import gc

        E._KEPT.clear()     # the kept temporary tables are dropped while the server still runs,
        gc.collect()        # not by ibis' finalizers at exit


@pytest.fixture(autouse=True)
def _env(monkeypatch, pg):
    monkeypatch.setenv("PGPASSWORD", pg.password)   # the driver's own variable: the params never hold it
    for var in ("PGUSER", "PGHOST", "PGPORT", "PGDATABASE", "PGPASSFILE", "PGSERVICE"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def store(tmp_path, pg):
    """tables(**frames) -> each frame written as the study store writes it, and read through a
    StudyEngine on the Postgres engine (so copied in)."""
    count = iter(range(1000))

    def tables(**frames):
        folder = tmp_path / f"fp{next(count)}"
        folder.mkdir()
        paths = {}
        for name, frame in frames.items():
            paths[name] = folder / f"{name}.parquet"
            frame.to_parquet(paths[name], index=False, coerce_timestamps="us")
        eng = E.StudyEngine(Prepared(tables=paths), {"url": pg.url("analyst")})
        got = [eng.table(name) for name in frames]
        return got[0] if len(got) == 1 else got
    return tables


def test_edge_cases_on_postgres(store):
    orders = store(orders=P.edge_orders())
    assert orders._find_backend().name == "postgres"
    P._same(E.customer_orders(orders, P.UNTIL, returns=True), P.EXPECTED)
    P._same(E.customer_orders(orders, returns=True), P.ref_customer_orders(P.edge_orders(), None))
    assert E.purchase_span(orders) == (pd.Timestamp("2023-12-31"), pd.Timestamp("2024-05-02"))
    assert E.purchase_day_counts(orders, pd.Timestamp("2024-01-31"), P.UNTIL).to_dict() == {"A": 1, "B": 1, "D": 1, "E": 1, "F": 1}
    k = E.cohort_counts(orders, "Q", P.UNTIL, leave_out=["B"])
    size, active, last = P.ref_cohort_counts(P.edge_orders().query("customer_id != 'B'"), P.UNTIL)
    assert k["left_out"] == 1 and k["size"].to_dict() == size
    assert {(r.cohort, r.offset): r.customers for r in k["active"].itertuples()} == active
    assert {(r.cohort, r.offset): r.customers for r in k["last_active"].itertuples()} == last
    start, end = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-30 23:59:59")
    got, want = E.revenue_per_customer(orders, start, end), P.ref_revenue(P.edge_orders(), start, end)
    assert sorted(got.index) == sorted(want) and all(abs(got[c] - v) < P.MONEY for c, v in want.items())
    P._product_sales_ok(orders)
    P._customer_sales_ok(orders)
    P._spend_ok(orders)
    P._repeat_ok(orders)
    P._first_purchase_ok(orders)
    P._customer_items_ok(orders)
    P._check_windows(lambda frame: store(orders=frame))
    P._usage_ok(store(usage=P.usage_frame()))
    P._journey_ok(*store(journey_events=P.edge_journey(), customers=P.edge_customers()))


def test_the_demo_study_on_postgres(small_project, pg):
    """The small demo study with data.engine on Postgres: every prepared table copied in holds the same
    values and types as its Parquet file, and RFM's and the cohorts' aggregates are the reference's."""
    from insight import load_study
    from insight.crm.purchases import reference_dates
    from insight.paths import Project

    demo = load_study("2024-annual", Project(small_project))
    eng = E.StudyEngine(demo.prepared, {"url": pg.url("analyst")})
    for name, path in sorted(demo.prepared.tables.items()):
        want = pq.read_table(path)
        got = eng.table(name).to_pyarrow()
        assert got.num_rows == want.num_rows > 0, name
        for column in want.column_names:
            assert got[column].type == want[column].type or pa.types.is_string(got[column].type), (name, column)
            assert got[column].to_pylist() == want[column].to_pylist(), (name, column)
    as_of = reference_dates(demo.params)["as_of"]
    frame = demo.table("orders")
    P._same(E.customer_orders(eng.table("orders"), as_of, returns=True), P.ref_customer_orders(frame, as_of))
    size, active, _ = P.ref_cohort_counts(frame, as_of)
    k = E.cohort_counts(eng.table("orders"), "Q", as_of)
    assert k["size"].to_dict() == size and len(size) > 1
    assert {(r.cohort, r.offset): r.customers for r in k["active"].itertuples()} == active


def test_the_funnel_joins_are_not_nested_loops(small_project, pg):
    """A join under a time window is estimated at a row or two; with nested loops allowed, Postgres
    scanned the whole events table once per visitor of the previous step. The engine's connection
    turns them off, and the funnel's and the window sensitivity's plans have none."""
    import ibis

    from insight import load_study
    from insight.paths import Project

    demo = load_study("2024-annual", Project(small_project))
    eng = E.StudyEngine(demo.prepared, {"url": pg.url("analyst")})
    ev = E.journey_in_period(eng.table("journey_events"), "2024-01-01", "2024-12-31")
    steps = ["visit", "signup", "trial", "purchase"]
    plans = []
    real = E._fetch

    def explained(expr, *a, **k):
        cur = eng.con.raw_sql("EXPLAIN " + ibis.to_sql(expr, dialect="postgres"))
        plans.append("\n".join(row[0] for row in cur.fetchall()))
        cur.close()
        return real(expr, *a, **k)

    E._fetch = explained
    try:
        counts = E.journey_funnel_counts(ev, steps, 14, eng.table("customers"))
        windows = E.journey_funnel_windows(ev, steps, [7.0, 30.0, 90.0])
    finally:
        E._fetch = real
    assert plans and not [p for p in plans if "Nested Loop" in p]
    on_duckdb = E.journey_in_period(demo.engine.table("journey_events"), "2024-01-01", "2024-12-31")
    want = E.journey_funnel_counts(on_duckdb, steps, 14, demo.engine.table("customers"))
    key = ["channel", "segment", "last"]
    assert counts.sort_values(key).reset_index(drop=True).equals(want.sort_values(key).reset_index(drop=True))
    assert counts["visitors"].sum() > 1000
    want = E.journey_funnel_windows(on_duckdb, steps, [7.0, 30.0, 90.0])
    assert {w: c.set_index("last")["visitors"].to_dict() for w, c in windows.items()} == \
        {w: c.set_index("last")["visitors"].to_dict() for w, c in want.items()}


def test_text_and_missing_values_are_copied_exactly(store):
    """The copy goes through CSV (the driver's COPY): text that looks like CSV's own syntax, or like
    Postgres' NULL markers, comes back as it went in, and an empty text stays apart from a missing one."""
    texts = ['plain', 'with "quotes"', "a, comma", "two\nlines", "carriage\r\nreturn", "back\\slash", "",
             None, "NULL", "\\N", "  spaced  ", "Grüße, 東京 👋", "'single'", "tab\there", '"', ","]
    frame = pd.DataFrame({"customer_id": [f"C{i}" for i in range(len(texts))], "note": texts,
                          "amount": [1.5, None, -0.0, 1e300, 2.25, None, 0.1, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0],
                          "count": pd.array([1, None, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], dtype="Int64"),
                          "flag": [True, False, None, True, False, True, False, True, False, True, False, True, False, True, False, True],
                          "at": pd.to_datetime(["2024-01-05 09:00:00.123456", None] + ["2024-02-29 23:59:59"] * 14, format="ISO8601")})
    got = store(notes=frame).to_pyarrow()
    want = pa.Table.from_pandas(frame, preserve_index=False)
    for column in frame.columns:
        assert got[column].to_pylist() == want[column].to_pylist(), column


def test_text_is_copied_right_into_a_database_that_is_not_utf8(tmp_path, pg):
    """Arrow writes UTF-8; COPY is told so whatever the connection's client encoding (a LATIN1
    database's default), so accented text arrives as written."""
    pg.psql("CREATE DATABASE latin ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0 OWNER analyst;")
    path = tmp_path / "customers.parquet"
    frame = pd.DataFrame({"customer_id": ["C1", "C2"], "city": ["Köln", "Besançon"], "note": ["Grüße", None]})
    frame.to_parquet(path, index=False)
    eng = E.StudyEngine(Prepared(tables={"customers": path}), {"url": pg.url("analyst", database="latin")})
    got = eng.table("customers").to_pyarrow()
    assert got["city"].to_pylist() == ["Köln", "Besançon"] and got["note"].to_pylist() == ["Grüße", None]


def test_each_table_is_copied_once_per_contents(tmp_path, pg, monkeypatch):
    """A second process (a later notebook or run) reuses the copy; changed data get a table of their own."""
    path = tmp_path / "orders.parquet"
    late = pd.DataFrame([("o99", "T", "p9", pd.Timestamp("2024-03-03 12:34:56"), 1.0, 1.23, False)],
                        columns=P.edge_orders().columns)
    frame = pd.concat([P.edge_orders(), late], ignore_index=True)      # contents no other test copies
    frame.to_parquet(path, index=False, coerce_timestamps="us")
    copies = []
    real = E._copy_parquet
    monkeypatch.setattr(E, "_copy_parquet", lambda con, name, p: copies.append(name) or real(con, name, p))
    for _ in range(2):
        eng = E.StudyEngine(Prepared(tables={"orders": path}), {"url": pg.url("analyst")})
        P._same(E.customer_orders(eng.table("orders"), P.UNTIL, returns=True), P.ref_customer_orders(frame, P.UNTIL))
    assert len(copies) == 1 and copies[0].startswith("insight_orders_")
    changed = frame.query("customer_id != 'A'")
    changed.to_parquet(path, index=False, coerce_timestamps="us")
    eng = E.StudyEngine(Prepared(tables={"orders": path}), {"url": pg.url("analyst")})
    P._same(E.customer_orders(eng.table("orders"), P.UNTIL, returns=True), P.ref_customer_orders(changed, P.UNTIL))
    assert len(copies) == 2 and copies[1] != copies[0]
    assert {copies[0], copies[1]} <= set(eng.con.list_tables(like="insight_orders_"))


def test_a_role_that_cannot_create_or_read_the_tables_is_told_what_to_grant(tmp_path, pg):
    path = tmp_path / "orders.parquet"
    frame = P.edge_orders().assign(order_id=lambda d: d["order_id"] + "-reader")     # contents no other test copies
    frame.to_parquet(path, index=False, coerce_timestamps="us")
    before = set(E.connect({"url": pg.url("analyst")}).list_tables())
    eng = E.StudyEngine(Prepared(tables={"orders": path}), {"url": pg.url("reader")})
    with pytest.raises(E.EngineError) as info:
        eng.table("orders")
    text = str(info.value)
    assert f"postgres://***@127.0.0.1:{pg.port}/insight" in text and "'orders'" in text and "GRANT CREATE ON SCHEMA" in text
    assert pg.password not in text
    assert set(E.connect({"url": pg.url("analyst")}).list_tables()) == before   # nothing half-made
    # the copy made by another user, which this one may not read
    E.StudyEngine(Prepared(tables={"orders": path}), {"url": pg.url("analyst")}).table("orders")
    with pytest.raises(E.EngineError, match=r"GRANT SELECT ON insight_orders_\w+ TO"):
        E.StudyEngine(Prepared(tables={"orders": path}), {"url": pg.url("reader")}).table("orders")


@pytest.fixture
def engine_project(tmp_path):
    """A project with study `eng`: the demo company at a small scale, notebooks linked from the repository."""
    from insight.data.testing import write_study

    def make(engine: dict):
        return write_study(tmp_path, "eng", {"demo": {"scale": 0.05}, "engine": engine},
                           link_notebooks=ROOT)
    return make


def _last_good(project, study: str) -> dict:
    report = project.report_dir(study)
    report.mkdir(parents=True, exist_ok=True)
    (report / "manifest.json").write_text('{"notebooks": {}}', encoding="utf-8")
    (report / "index.html").write_text("<p>last good report</p>", encoding="utf-8")
    return {p.name: p.read_bytes() for p in report.iterdir() if p.is_file()}


@pytest.mark.parametrize("who, port, says", [
    ("analyst", 9, "cannot connect"),                      # nothing listens there
    ("reader", None, "GRANT CREATE ON SCHEMA"),            # connects, may not create the study's tables
])
def test_report_and_validate_stop_before_any_notebook(engine_project, pg, who, port, says, capsys, monkeypatch):
    """An engine that cannot be reached, or cannot take the study's tables: `make report` and `make
    validate` exit 2 naming the engine (without its password) and the fix, no notebook runs and the
    last good report stays as it was."""
    from insight.cli import main
    from insight.runner import RunOptions, run_report

    project = engine_project({"url": pg.url(who, port=port)})
    before = _last_good(project, "eng")
    assert run_report("eng", RunOptions(quiet=True), project) == 2
    err = capsys.readouterr().err
    assert says in err and "Fix:" in err and "Nothing was run" in err and pg.password not in err
    assert "postgres://***@127.0.0.1:" in err
    report = project.report_dir("eng")
    assert {p.name: p.read_bytes() for p in report.iterdir() if p.is_file()} == before
    assert not list((project.cache_dir / "runs" / "eng").glob("*.ipynb"))
    monkeypatch.setenv("INSIGHT_ROOT", str(project.root))
    assert main(["validate", "eng"]) == 2
    assert says in capsys.readouterr().err


def test_validate_copies_the_tables_once_for_every_notebook(engine_project, pg, capsys, monkeypatch):
    from insight.cli import main

    project = engine_project({"url": pg.url("analyst")})
    monkeypatch.setenv("INSIGHT_ROOT", str(project.root))
    assert main(["validate", "eng"]) == 0
    out = capsys.readouterr().out
    assert "data.engine postgres://***@127.0.0.1:" in out and "tables are on it" in out
    copies = []
    real = E._copy_parquet
    monkeypatch.setattr(E, "_copy_parquet", lambda con, name, p: copies.append(name) or real(con, name, p))
    assert main(["validate", "eng"]) == 0 and copies == []              # the second time: found, not copied


def test_spark_preflight_names_what_is_missing(monkeypatch, tmp_path):
    """PySpark's check starts no JVM: Java is looked for, a cluster master's port is dialled."""
    spec = {"backend": "pyspark", "master": "local[2]"}
    monkeypatch.setenv("PATH", str(tmp_path))                # no java on PATH
    monkeypatch.delenv("JAVA_HOME", raising=False)
    if importlib.util.find_spec("pyspark") is not None:
        with pytest.raises(E.EngineError, match="Java 17.*openjdk-17-jre-headless"):
            E.preflight(None, spec)
        java = tmp_path / "jdk" / "bin" / "java"
        java.parent.mkdir(parents=True)
        java.write_text("")
        monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
        assert "PySpark and Java found" in E.preflight(None, spec)
        with pytest.raises(E.EngineError, match=r"the Spark master spark://127\.0\.0\.1:\d+ does not answer.*Fix:"):
            E.preflight(None, {"backend": "pyspark", "master": f"spark://127.0.0.1:{free_port()}"})
    assert E.preflight(None, None) is None and E.preflight(None, "duckdb") is None   # the default: nothing to check


def test_notebooks_render_on_postgres_with_the_findings_of_duckdb(tmp_path, pg):
    """The notebooks that lean on the engine most (the funnel and the lead report, whose windowed joins
    once ran for minutes there; retention's cohorts and windows), rendered on Postgres: their findings
    are the same as the same study's on DuckDB."""
    import json

    from insight.data.testing import write_study
    from insight.runner import RunOptions, run_report

    only = ["journey_funnel", "lead_onboarding", "retention_churn"]
    write_study(tmp_path, "on-duckdb", {"demo": {"scale": 0.25}}, link_notebooks=ROOT)
    project = write_study(tmp_path, "on-postgres", {"demo": {"scale": 0.25}, "engine": {"url": pg.url("analyst")}},
                          link_notebooks=ROOT)
    found = {}
    for study in ("on-duckdb", "on-postgres"):
        assert run_report(study, RunOptions(quiet=True, only=only, jobs=2), project) == 0
        manifest = json.loads((project.report_dir(study) / "manifest.json").read_text(encoding="utf-8"))
        assert [manifest["notebooks"][n]["status"] for n in only] == ["ok"] * 3
        found[study] = {n: json.loads((project.report_dir(study) / "findings" / f"{n}.json").read_text(
            encoding="utf-8").replace(study, "STUDY")) for n in only}
    assert found["on-postgres"] == found["on-duckdb"]
    assert all(found["on-duckdb"][n] for n in only)                  # real findings, not empty ones

"""Database files as sources (insight.data.sources): a DuckDB or SQLite file holding a company's tables,
read as a table or a query, gives the same canonical tables as the same data exported to CSV; the
file is only ever read (its bytes unchanged, nothing created); a changed file is read again; every bad
input (a missing file, a path out of the project, a file that is no database, one locked by a writer, a
missing table, a bad query) is one problem naming the source and the fix, and nothing is prepared."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from insight.data import DataError
from insight.data.prepare import prepare_study_data
from insight.data.testing import write_study
from insight.params import ParamsError, load_params

SCALE = 0.1   # 400 customers, ~8k order lines


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("INSIGHT_PII_KEY", "test-key")
    monkeypatch.delenv("INSIGHT_NOTEBOOK", raising=False)


@pytest.fixture(scope="module")
def exports() -> dict[str, pd.DataFrame]:
    from insight.demo import generate

    tables = generate(scale=SCALE, seed=20240101)
    return {"customers": tables["customers"], "orders": tables["orders"]}


@pytest.fixture(scope="module")
def root(tmp_path_factory, exports) -> Path:
    """A project with the exports as CSV files, in a DuckDB file (schema sales) and in a SQLite file
    (dates as text, as SQLite keeps them)."""
    root = tmp_path_factory.mktemp("file-sources")
    (root / "data" / "local").mkdir(parents=True)
    for name, df in exports.items():
        df.to_csv(root / "data" / f"{name}.csv", index=False)
    con = duckdb.connect(str(root / "data" / "local" / "warehouse.duckdb"))
    con.execute("CREATE SCHEMA sales")
    for name, df in exports.items():
        con.register("frame", df)
        con.execute(f"CREATE TABLE sales.{name} AS SELECT * FROM frame")
        con.unregister("frame")
    con.close()
    with sqlite3.connect(root / "data" / "local" / "crm.sqlite") as con:
        for name, df in exports.items():
            df.assign(**{c: df[c].astype(str) for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])}) \
                .to_sql(name, con, index=False)
    con.close()
    write_study(root, "files", {"tables": {name: {"path": f"data/{name}.csv"} for name in exports}})
    return root


def study(root: Path, name: str, **tables) -> str:
    write_study(root, name, {"tables": tables})
    return name


def frames(prepared) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(path) for name, path in sorted(prepared.tables.items())}


def prepare(root: Path, name: str):
    from insight.paths import Project

    project = Project(root)
    return prepare_study_data(load_params(name, project), project)


def problems(root: Path, name: str) -> str:
    with pytest.raises(DataError) as info:
        prepare(root, name)
    return "\n".join(str(p) for p in info.value.problems)


def test_duckdb_and_sqlite_files_give_the_canonical_tables_of_the_exports(root):
    before = {p.name: p.read_bytes() for p in (root / "data" / "local").iterdir()}
    want = frames(prepare(root, "files"))
    got = prepare(root, study(
        root, "db",
        customers={"source": {"url": "sqlite://data/local/crm.sqlite", "table": "customers"}},
        orders={"source": {"url": "duckdb://data/local/warehouse.duckdb", "query": "select * from sales.orders"}}))
    assert set(frames(got)) == set(want) == {"customers", "orders"}
    for name, df in frames(got).items():
        pd.testing.assert_frame_equal(df, want[name])
    assert got.sources == {"customers": "sqlite://data/local/crm.sqlite (table customers)",
                           "orders": "duckdb://data/local/warehouse.duckdb (query)"}
    absolute = f"duckdb://{root / 'data' / 'local' / 'warehouse.duckdb'}"     # three slashes: an absolute path
    same = prepare(root, study(root, "db-abs", customers={"source": {"url": absolute, "table": "sales.customers"}},
                               orders={"source": {"url": absolute, "table": "sales.orders"}}))
    for name, df in frames(same).items():
        pd.testing.assert_frame_equal(df, want[name])
    assert {p.name: p.read_bytes() for p in (root / "data" / "local").iterdir()} == before   # only read


def test_a_changed_file_is_read_again(root, tmp_path):
    """The change indicator of a database file is its checksum: an unchanged file reuses the prepared
    tables, a row added is read on the next preparation."""
    import shutil

    copy = root / "data" / "local" / "changing.duckdb"
    shutil.copy(root / "data" / "local" / "warehouse.duckdb", copy)
    name = study(root, "changing", customers={"source": {"url": "duckdb://data/local/changing.duckdb", "table": "sales.customers"}})
    first = prepare(root, name)
    assert prepare(root, name).fingerprint == first.fingerprint
    con = duckdb.connect(str(copy))
    con.execute("INSERT INTO sales.customers SELECT * REPLACE ('C9999999' AS customer_id) FROM sales.customers LIMIT 1")
    con.close()
    again = prepare(root, name)
    assert again.fingerprint != first.fingerprint
    assert len(pd.read_parquet(again.tables["customers"])) == len(pd.read_parquet(first.tables["customers"])) + 1


def test_bad_files_tables_and_queries(root, tmp_path):
    (root / "data" / "local" / "notes.sqlite").write_text("customer_id,segment\nC1,smb\n", encoding="utf-8")
    cases = {
        "missing-file": ({"url": "duckdb://data/local/nowhere.duckdb", "table": "sales.orders"},
                         ["no DuckDB database file at data/local/nowhere.duckdb", "relative to the project root"]),
        "not-a-database": ({"url": "sqlite://data/local/notes.sqlite", "table": "customers"},
                           ["data/local/notes.sqlite could not be opened as a SQLite database", "check that the file is a SQLite database"]),
        "missing-table": ({"url": "duckdb://data/local/warehouse.duckdb", "table": "sales.order"},
                          ["has no table 'sales.order'", "did you mean `table: sales.orders`?"]),
        "bad-query": ({"url": "sqlite://data/local/crm.sqlite", "query": "select * from custmers"},
                      ["the query failed", "custmers", "SELECT statement"]),
    }
    for name, (source, says) in cases.items():
        text = problems(root, study(root, name, orders={"source": source}))
        assert f"[data.tables.orders.source]" in text and source["url"] in text, text
        for s in says:
            assert s in text, (name, s, text)
        assert not (root / ".cache" / "studies" / name).exists() or not list((root / ".cache" / "studies" / name).rglob("*.parquet"))
    assert not (root / "data" / "local" / "nowhere.duckdb").exists()      # never created by looking for it


def test_a_path_out_of_the_project_is_a_params_error(root):
    from insight.paths import Project

    study(root, "outside", orders={"source": {"url": "sqlite://../elsewhere/crm.sqlite", "table": "orders"}})
    with pytest.raises(ParamsError) as info:
        load_params("outside", Project(root))
    text = info.value.report()
    assert "points outside the project folder" in text and "data.tables.orders.source.url" in text
    study(root, "device", orders={"source": {"url": "sqlite:///dev/zero", "table": "orders"}})
    with pytest.raises(ParamsError, match="system folder"):
        load_params("device", Project(root))


def test_a_duckdb_file_open_for_writing_elsewhere(root):
    """DuckDB lets one process write a file and no one else open it: the message says so and how to go on."""
    path = root / "data" / "local" / "warehouse.duckdb"
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(path)!r})
        print("open", flush=True)
        sys.stdin.read()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "open"
        text = problems(root, study(root, "locked", orders={"source": {"url": "duckdb://data/local/warehouse.duckdb",
                                                                       "table": "sales.orders"}}))
        assert "is open for writing in another program" in text and "point `url:` at a copy of the file" in text
    finally:
        writer.communicate("", timeout=30)


def test_a_change_still_in_the_write_ahead_log_is_seen(root):
    """An application that keeps its SQLite database open in WAL mode commits into crm.sqlite-wal; the
    main file is unchanged until a checkpoint. The change indicator takes the log too."""
    import shutil

    path = root / "data" / "local" / "live.sqlite"
    shutil.copy(root / "data" / "local" / "crm.sqlite", path)
    app = sqlite3.connect(path)
    try:
        app.execute("PRAGMA journal_mode=WAL")
        app.execute("PRAGMA wal_autocheckpoint=0")
        name = study(root, "live", customers={"source": {"url": "sqlite://data/local/live.sqlite", "table": "customers"}})
        first = prepare(root, name)
        main_file = path.read_bytes()
        app.execute("INSERT INTO customers SELECT * FROM customers LIMIT 1")
        app.execute("UPDATE customers SET customer_id = 'C9999999' WHERE rowid = (SELECT max(rowid) FROM customers)")
        app.commit()
        assert path.read_bytes() == main_file and (root / "data" / "local" / "live.sqlite-wal").stat().st_size > 0
        again = prepare(root, name)
        assert again.fingerprint != first.fingerprint
        assert len(pd.read_parquet(again.tables["customers"])) == len(pd.read_parquet(first.tables["customers"])) + 1
    finally:
        app.close()

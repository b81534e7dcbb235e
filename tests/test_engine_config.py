"""`data.engine` in the study params: the default, the short forms, and clear messages for bad
settings and unreachable engines (real DuckDB, no mocks)."""
from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from insight.config.data import DataSpec, EngineSpec
from insight.data import engine as E


def test_default_is_duckdb_in_process():
    spec = DataSpec().engine
    assert spec.backend == "duckdb" and spec.url is None
    con = E.connect(spec)
    assert con.name == "duckdb"
    assert con.sql("select 41 + 1 as x").to_pandas()["x"].tolist() == [42]


def test_short_forms():
    assert DataSpec(engine="pyspark" if False else "duckdb").engine.backend == "duckdb"
    assert DataSpec(engine="trino://analyst@host:8080/hive/sales").engine.url.startswith("trino://")
    spec = EngineSpec(backend="duckdb", threads=1, memory_limit="500MB")
    con = E.connect(spec)
    assert con.sql("select current_setting('threads') as t").to_pandas()["t"].tolist() == [1]


@pytest.mark.parametrize("value, words", [
    ({"backend": "duckbd"}, ["unknown engine backend 'duckbd'", "did you mean 'duckdb'"]),
    ({"backend": "duckdb", "master": "local[2]"}, ["`master:` applies to backend pyspark only"]),
    ({"url": "postgres://analyst:secret@db:5432/crm"}, ["holds a password", "${VARIABLE}"]),
    ({"url": "not a url"}, ["is not a connection URL"]),
    ({"backend": "duckdb", "colour": "red"}, ["colour"]),
])
def test_bad_settings_are_named(value, words):
    with pytest.raises(ValidationError) as err:
        DataSpec(engine=value)
    text = str(err.value)
    for w in words:
        assert w in text, text


def test_unreachable_engine_names_it_and_the_fix(tmp_path):
    missing = tmp_path / "no" / "such" / "folder" / "x.duckdb"
    with pytest.raises(E.EngineError) as err:
        E.connect(f"duckdb://{missing}")
    assert "cannot connect" in str(err.value) and "Fix:" in str(err.value)


def test_credentials_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("INSIGHT_TEST_DB_PASSWORD", raising=False)
    with pytest.raises(E.EngineError) as err:
        E.connect("postgres://analyst:${INSIGHT_TEST_DB_PASSWORD}@127.0.0.1:1/crm")
    assert "INSIGHT_TEST_DB_PASSWORD" in str(err.value) and "export" in str(err.value)
    assert E.engine_label(EngineSpec(url="postgres://analyst:${X}@db/crm")) == "postgres://***@db/crm"
    monkeypatch.setenv("INSIGHT_TEST_DB_FILE", str(tmp_path / "crm.duckdb"))
    con = E.connect("duckdb://${INSIGHT_TEST_DB_FILE}")
    assert con.name == "duckdb" and (tmp_path / "crm.duckdb").exists()


def test_study_engine_reads_prepared_tables_lazily(tmp_path):
    from insight.data.prepare import Prepared
    from insight.study import MissingTableError

    path = tmp_path / "orders.parquet"
    pd.DataFrame({"order_id": ["o1"], "customer_id": ["A"], "order_date": pd.to_datetime(["2024-01-02"]),
                  "revenue": [9.5], "quantity": [1.0]}).to_parquet(path, index=False, coerce_timestamps="us")
    eng = E.StudyEngine(Prepared(tables={"orders": path}))
    t = eng.table("orders")
    assert E.is_table(t) and eng.table("orders") is t
    assert E.customer_orders(t)["revenue"].tolist() == [9.5]
    with pytest.raises(MissingTableError, match="no 'usage' table"):
        eng.table("usage")


def test_fetch_gives_ibis_own_frame_with_times_in_nanoseconds():
    """engine._fetch reads results through Arrow; the frame is the one ibis' to_pandas gives (which
    boxes every column with a null into Python objects), times naive and in nanoseconds."""
    import datetime as dt

    import ibis
    import pyarrow as pa

    con = ibis.duckdb.connect()
    t = con.create_table("t", pa.table({
        "s": pa.array(["a", None, "c"]), "s2": pa.array(["a", "b", "c"]),
        "i": pa.array([1, None, 3], pa.int64()), "i2": pa.array([1, 2, 3], pa.int64()),
        "i32": pa.array([1, None, 3], pa.int32()), "f": pa.array([1.5, None, 2.0]),
        "b": pa.array([True, None, False]), "b2": pa.array([True, False, False]),
        "ts": pa.array([dt.datetime(2024, 1, 1, 5), None, dt.datetime(2024, 1, 3)], pa.timestamp("us")),
        "tz": pa.array([dt.datetime(2024, 1, 1, 5), None, dt.datetime(2024, 1, 3)], pa.timestamp("us", tz="UTC")),
        "d": pa.array([dt.date(2024, 1, 1), None, dt.date(2024, 1, 3)], pa.date32()),
        "d2": pa.array([dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 1, 3)], pa.date32()),
    }))
    exprs = [t, t.mutate(n=t.i.count(), total=t.i.sum(), up=(t.i2 > 1).cast("int32").sum()),
             t.group_by("s").agg(n=t.count(), last=t.ts.max(), first_day=t.d.min()),
             t.filter(t.i2 > 5)]   # an empty result keeps its types
    for expr in exprs:
        want = expr.to_pandas()
        for c in want.columns:
            if pd.api.types.is_datetime64_any_dtype(want[c]):
                want[c] = (want[c].dt.tz_localize(None) if getattr(want[c].dt, "tz", None) is not None
                           else want[c]).astype("datetime64[ns]")
        got = E._fetch(expr)
        pd.testing.assert_frame_equal(got, want)
        assert all(str(got[c].dtype) == "datetime64[ns]" for c in ("ts", "tz", "d", "d2") if c in got.columns)


def test_a_password_from_the_environment_never_shows_even_in_part(monkeypatch):
    """${VAR} values are URL-quoted into the URL: a password with '#', '/', '@' or '+' stays one value
    (unquoted, '#' cut the URL there and the driver's message quoted what came before it)."""
    secret = "s3cr#et+x/y@z"
    monkeypatch.setenv("INSIGHT_TEST_ENGINE_PW", secret)
    with pytest.raises(E.EngineError) as err:
        E.connect("postgres://analyst:${INSIGHT_TEST_ENGINE_PW}@127.0.0.1:9/crm")
    text = str(err.value)
    assert "cannot connect" in text and "127.0.0.1" in text
    for part in ("s3cr", "et+x", "x/y", "y@z", "s3cr%23et"):
        assert part not in text, text
    assert err.value.__cause__ is None and err.value.__suppress_context__   # the driver's exception is not chained

"""Warehouse sources in params (no server needed): what a `source:` may say, and how its URL is shown.
The server-backed behaviour is in test_warehouse_postgres.py."""
from __future__ import annotations

import pytest

from insight.data.sources import shown_url, source_key, url_problem
from insight.data.testing import write_study
from insight.params import ParamsError, load_params


def params_problems(tmp_path, customers: dict) -> str:
    project = write_study(tmp_path, "s", {"tables": {"customers": customers}})
    with pytest.raises(ParamsError) as info:
        load_params("s", project)
    return info.value.report()


@pytest.mark.parametrize("url", [
    "postgres://analyst:hunter2-secret@db.example.com:5432/sales",
    "postgresql://analyst:hunter2-secret@db.example.com/sales",
    "postgres://analyst@db.example.com/sales?sslmode=require&password=hunter2-secret",
    "postgres://analyst:$PGPASSWORD-hunter2-secret@db.example.com/sales",   # not a ${NAME} placeholder
])
def test_a_written_password_is_refused_without_repeating_it(tmp_path, url):
    text = params_problems(tmp_path, {"source": {"url": url, "table": "crm.customers"}})
    assert "[data.tables.customers.source]" in text and "credentials never go into params" in text
    assert "${PGPASSWORD}" in text and "hunter2-secret" not in text


@pytest.mark.parametrize("url", [
    "postgres://analyst@db.example.com:5432/sales",
    "postgres://${PGUSER}:${PGPASSWORD}@db.example.com:5432/sales",
    "postgres://db.example.com/sales?sslmode=require",
])
def test_urls_without_a_written_password_are_accepted(url):
    assert url_problem(url) is None


def test_only_postgres_urls_are_sources(tmp_path):
    text = params_problems(tmp_path, {"source": {"url": "mysql://db.example.com/sales", "table": "customers"}})
    assert "not a PostgreSQL connection URL" in text


@pytest.mark.parametrize("spec, message", [
    ({"source": {"url": "postgres://h/db"}}, "give exactly one of `table:`"),
    ({"source": {"url": "postgres://h/db", "table": "t", "query": "select 1"}}, "give exactly one of `table:`"),
    ({"path": "data/c.csv", "source": {"url": "postgres://h/db", "table": "t"}}, "give exactly one of `path:`"),
    ({}, "give exactly one of `path:`"),
    ({"source": {"url": "postgres://h/db", "table": "t"}, "sheet": "Accounts"}, "describe files"),
    ({"source": {"url": "postgres://h/db", "table": "t", "password": "x"}}, "unknown key"),
])
def test_source_spec_mistakes(tmp_path, spec, message):
    assert message in params_problems(tmp_path, spec)


def test_the_url_is_shown_without_password_and_the_key_ignores_it():
    assert shown_url("postgres://analyst:${PGPASSWORD}@db.example.com:5432/sales?sslmode=require&password=${X}") == \
        "postgres://analyst@db.example.com:5432/sales?sslmode=require"

    class Spec:
        url, table, query = "postgres://analyst:${A}@h/db", "crm.customers", None

    class Other(Spec):
        url = "postgres://analyst:${B}@h/db"

    assert source_key(Spec) == source_key(Other)

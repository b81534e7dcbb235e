"""The in-process DuckDB that data preparation computes with (key checks, allowed values, keyed
hashes): one connection per thread, opened once (a connection costs 15-20 ms, a dozen uses per
preparation), never one inherited through fork, and without DuckDB's progress bar (it would print
into the study owner's terminal while a check over millions of rows runs). Not the study's engine
(insight.data.engine): this one only ever sees Arrow tables handed to it for one statement."""
from __future__ import annotations

import contextlib
import os
import threading

_LOCAL = threading.local()


@contextlib.contextmanager
def duckdb(**tables):
    """The connection, with `tables` (Arrow) registered for one use and unregistered after it, so
    nothing stays held."""
    import duckdb as _duckdb

    con = getattr(_LOCAL, "con", None)
    if con is None or _LOCAL.pid != os.getpid():   # never a connection inherited through fork
        _LOCAL.inherited = con   # kept, not closed: its locks and threads belong to the parent
        con = _duckdb.connect()
        try:
            con.execute("SET enable_progress_bar = false")
        except _duckdb.Error:   # inside Jupyter without ipywidgets DuckDB refuses the setting: it shows no bar there
            pass
        _LOCAL.con, _LOCAL.pid = con, os.getpid()
    for name, table in tables.items():
        con.register(name, table)
    try:
        yield con
    finally:
        for name in tables:
            con.unregister(name)

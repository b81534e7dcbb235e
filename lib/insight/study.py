"""The one entry point of every notebook: `study = load_study("2024-annual")`.

It validates the params, prepares the data once (load, map, validate, pseudonymise, cache as
Parquet; see insight.data.prepare) and hands out canonical tables on demand.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from insight.config import Params
from insight.params import load_params, warnings_of
from insight.paths import Project

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from insight.data.engine import StudyEngine
    from insight.data.prepare import Prepared


class MissingTableError(LookupError):
    pass


@dataclass
class Study:
    name: str
    params: Params
    project: Project
    _frames: dict = field(default_factory=dict, repr=False)

    @cached_property
    def prepared(self) -> "Prepared":
        from insight.data.prepare import prepare_study_data
        return prepare_study_data(self.params, self.project)

    @cached_property
    def engine(self) -> "StudyEngine":
        """The study's tables as lazy ibis tables on its engine (params data.engine; DuckDB in process
        by default), for lib code that only aggregates: `customer_orders(study.engine.table("orders"))`
        returns one row per customer without loading the order lines into pandas."""
        from insight.data.engine import StudyEngine
        return StudyEngine(self.prepared, self.params.data.engine)

    @property
    def tables(self) -> list[str]:
        return sorted(self.prepared.tables)

    def has(self, *tables: str) -> bool:
        return all(t in self.prepared.tables for t in tables)

    def table(self, name: str) -> "pd.DataFrame":
        """A canonical table as a DataFrame (loaded once; each call returns its own frame: pandas'
        copy-on-write copies the data only if the caller changes it, so callers may modify it freely)."""
        if name not in self.prepared.tables:
            raise MissingTableError(f"study {self.name!r} has no {name!r} table; it has: {', '.join(self.tables) or 'none'}")
        if name not in self._frames:
            from insight.data.prepare import read_prepared

            checksum = self.prepared.checksums.get(name) or ["", ""]
            df = read_prepared(Path(self.prepared.tables[name]), str(checksum[1]))
            for c in df.columns:   # stored as microseconds (readable by Spark); pandas works in nanoseconds
                if str(df[c].dtype) == "datetime64[us]":
                    df[c] = df[c].astype("datetime64[ns]")
            self._frames[name] = df
        return self._frames[name].copy(deep=False)

    @property
    def period(self):
        return self.params.study.period

    @property
    def title(self) -> str:
        return self.params.study.title

    @property
    def warnings(self) -> list:
        return [*warnings_of(self.params), *self.prepared.warnings]


def load_study(study: str = "2024-annual", project: Project | None = None) -> Study:
    """Validate the study params (raising ParamsError with every problem) and return a Study."""
    project = project or Project.find()
    params = load_params(study, project)
    return Study(study, params, project)

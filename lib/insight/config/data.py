"""Where a study's data comes from: the generated demo company, or the user's own exports
mapped onto the canonical tables (see insight.data.schema)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from insight.config.base import Section

TableName = Literal[
    "customers", "products", "orders", "subscriptions", "costs", "interactions",
    "survey_responses", "participants", "qual_sources", "codebook", "coded_segments",
    "journey_events", "usage", "feedback_items", "reviews",
]


class TableSpec(Section):
    path: str = Field(description="file path, absolute or relative to the project root")
    format: Literal["csv", "xlsx", "parquet"] | None = Field(default=None, description="inferred from the suffix when omitted")
    sheet: str | None = Field(default=None, description="Excel sheet name")
    encoding: str = Field(default="auto", description="auto, utf-8, utf-8-sig, gb18030, gbk, latin-1, cp1252")
    delimiter: str | None = None
    columns: dict[str, str] = Field(default_factory=dict, description="their column name -> canonical name")
    values: dict[str, dict[str, Any]] = Field(default_factory=dict, description="canonical column -> {their value: canonical value}")
    defaults: dict[str, Any] = Field(default_factory=dict, description="canonical column -> constant, for columns the export lacks")
    date_format: str | None = Field(default=None, description="strftime format of the date columns, e.g. %d/%m/%Y")
    exclude: dict[str, list[Any]] = Field(default_factory=dict, description="canonical column -> values whose rows are dropped (e.g. non-product stock codes)")
    personal: list[str] | None = Field(default=None, description="canonical columns holding personal data; default: name, email, phone")


class DemoSpec(Section):
    scale: float = Field(default=1.0, gt=0, description="1 = the demo size; larger values feed the benchmark")
    seed: int = 20240101


class DataSpec(Section):
    demo: DemoSpec | None = Field(default=None, description="use the generated demo company")
    tables: dict[TableName, TableSpec] = Field(default_factory=dict)
    personal_columns: list[str] = Field(default_factory=lambda: ["name", "email", "phone"])
    segments: list[str] | None = Field(default=None, description="allowed segment values; default: the canonical ones")
    missing_warning: float = Field(default=0.0, ge=0, le=1, description="share of missing values in a column above which a warning is shown")

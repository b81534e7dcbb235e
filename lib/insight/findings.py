"""Structured findings: one call records a finding; the runner collects them per study.

Inside a runner-driven notebook run the environment variable INSIGHT_FINDINGS names the JSON
file this notebook writes; the runner gathers every notebook's file into
reports/<study>/findings.json, which the index and the synthesis read. Run interactively (in
JupyterLab) the findings are kept in memory and shown, and `load_findings` reads the last
published set, so an analyst's trial runs never overwrite a study's record.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from insight.paths import Project

Evidence = Literal["supports", "contradicts", "inconclusive"]

_SESSION: list["Finding"] = []


@dataclass
class Finding:
    id: str
    statement: str
    notebook: str
    metric: str | None = None
    value: float | None = None
    base: int | None = None
    test: str | None = None
    p_value: float | None = None
    effect_size: float | None = None
    effect_size_name: str | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    effect_ci_low: float | None = None     # the effect size's own interval, when the metric is not the effect size
    effect_ci_high: float | None = None
    hypothesis: str | None = None
    evidence: Evidence | None = None
    source: str | None = None          # survey | crm | qual | success | journey | data
    severity: str = "info"             # info | warning | key
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {k: _plain(v) for k, v in asdict(self).items()}


def _plain(v):
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def current_notebook() -> str:
    return os.environ.get("INSIGHT_NOTEBOOK", "interactive")


def record_finding(id: str, statement: str, *, show: bool = True, **fields) -> Finding:
    """Record one finding. Fields: metric, value, base, test, p_value, effect_size,
    effect_size_name, ci_low, ci_high, hypothesis, evidence, source, severity, extra."""
    unknown = set(fields) - set(Finding.__dataclass_fields__)
    if unknown:
        raise TypeError(f"record_finding got unknown fields {sorted(unknown)}; "
                        f"use {sorted(set(Finding.__dataclass_fields__) - {'id', 'statement', 'notebook'})}")
    if fields.get("evidence") not in (None, "supports", "contradicts", "inconclusive"):
        raise ValueError("evidence must be 'supports', 'contradicts' or 'inconclusive'")
    from insight.display import plain_text
    f = Finding(id=id, statement=plain_text(statement), notebook=current_notebook(), **fields)
    _SESSION[:] = [x for x in _SESSION if x.id != id] + [f]
    target = os.environ.get("INSIGHT_FINDINGS")
    if target:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([x.to_json() for x in _SESSION], indent=1, ensure_ascii=False), encoding="utf-8")
    if show:
        from insight.display import show_finding
        show_finding(f)
    return f


def session_findings() -> list[Finding]:
    return list(_SESSION)


def findings_file(study: str, project: Project | None = None) -> Path:
    project = project or Project.find()
    return project.report_dir(study) / "findings.json"


def load_findings(study: str, project: Project | None = None):
    """All findings published for a study (a DataFrame, one row per finding)."""
    import pandas as pd

    path = findings_file(study, project)
    rows = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    cols = list(Finding.__dataclass_fields__)
    return pd.DataFrame(rows, columns=cols)


def read_findings_file(path: Path) -> list[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return data if isinstance(data, list) else []

"""Helpers for tests and examples: a minimal study around a `data:` section.

    project = write_study(tmp_path, "retail", {"tables": {...}}, period=("2011-01-01", "2011-12-31"))
    params = load_params("retail", project)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from insight.paths import Project


def study_params(name: str, data: dict[str, Any], period: tuple[str, str] = ("2024-01-01", "2024-12-31"),
                 title: str | None = None) -> dict[str, Any]:
    return {
        "study": {"name": name, "title": title or f"Study {name}", "trigger": "ad_hoc",
                  "period": {"start": period[0], "end": period[1]}},
        "objectives": {"why": "test", "who": "test", "when": "test", "what": "test"},
        "questions": [{"id": "Q1", "text": "What?", "business_goal": "test", "owner": "test"}],
        "data": data,
    }


def write_study(root: Path, name: str, data: dict[str, Any], period: tuple[str, str] = ("2024-01-01", "2024-12-31"),
                title: str | None = None, link_notebooks: Path | None = None) -> Project:
    """A project at `root` holding params/<name>.yaml (and, optionally, notebooks/ and templates/
    symlinked from the repository `link_notebooks`)."""
    root = Path(root)
    (root / "params").mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(study_params(name, data, period, title), sort_keys=False, allow_unicode=True)
    (root / "params" / f"{name}.yaml").write_text(text, encoding="utf-8")
    if link_notebooks is not None:
        for sub in ("notebooks", "templates"):
            link = root / sub
            if not link.exists() and (link_notebooks / sub).exists():
                link.symlink_to(link_notebooks / sub, target_is_directory=True)
    else:
        (root / "notebooks").mkdir(exist_ok=True)
    return Project(root)

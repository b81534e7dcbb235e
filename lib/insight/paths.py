"""Where things live. One Project object; tests point it at a temporary tree.

The root is found from the INSIGHT_ROOT environment variable, else by walking up from the
current directory to the folder holding `params/` and `notebooks/`, else the repository that
contains this package (an editable install).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _find_root() -> Path:
    env = os.environ.get("INSIGHT_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for cand in [here, *here.parents]:
        if (cand / "params").is_dir() and (cand / "notebooks").is_dir():
            return cand
    return PACKAGE_DIR.parent.parent


@dataclass(frozen=True)
class Project:
    root: Path

    @classmethod
    def find(cls) -> "Project":
        return cls(_find_root())

    @property
    def params_dir(self) -> Path:
        return self.root / "params"

    @property
    def notebooks_dir(self) -> Path:
        return self.root / "notebooks"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def cache_dir(self) -> Path:
        return self.root / ".cache"

    def params_file(self, study: str) -> Path:
        return self.params_dir / f"{study}.yaml"

    def report_dir(self, study: str) -> Path:
        return self.reports_dir / study

    def study_cache(self, study: str) -> Path:
        return self.cache_dir / "studies" / study

    def resolve(self, path: str | os.PathLike) -> Path:
        """A path written in params: absolute, or relative to the project root."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.root / p)

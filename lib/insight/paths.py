"""Where things live. One Project object; tests point it at a temporary tree.

The root is found from the INSIGHT_ROOT environment variable, else by walking up from the
current directory to the folder holding `params/` and `notebooks/`, else the repository that
contains this package (an editable install).
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SYSTEM_DIRS = ("/dev", "/proc", "/sys", "/etc", "/boot", "/run")


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

    def data_path_problem(self, written: str | os.PathLike) -> tuple[str, str] | None:
        """Why a data path written in params must not be read, as (message, fix); None when it may be
        (a missing file or a folder is left to the caller's own message). Refused: a relative path
        that climbs out of the project (`../..`; write an absolute path when a file really lives
        elsewhere), system folders (/dev, /proc, /etc ...), devices, pipes and sockets, symbolic-link
        loops, and the workbook's own files (the pseudonymisation key, .cache/, reports/)."""
        p = Path(written).expanduser()
        if not p.is_absolute():
            norm = os.path.normpath(p)
            if norm == os.pardir or norm.startswith(os.pardir + os.sep):
                return (f"{written} points outside the project folder",
                        "put the export in data/local/ (git-ignored) and write the path relative to the project "
                        "root, or write its absolute path if it must stay elsewhere")
        full = self.resolve(written)
        try:
            st = full.stat()
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return (f"{written} is a symbolic link that loops back on itself",
                        "point `path:` at the real file (`ls -l` shows where each link leads)")
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return None
            return (f"{written} cannot be read: {exc.strerror}", "check the path and its permissions")
        try:
            real = full.resolve()
        except (OSError, RuntimeError):
            real = full
        if any(real == Path(d) or Path(d) in real.parents for d in SYSTEM_DIRS):
            return (f"{written} is in a system folder ({real}), not a data export",
                    "point `path:` at your export file, e.g. data/local/customers.csv")
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            return (f"{written} is a device, pipe or socket, not a file",
                    "point `path:` at a regular file (an export saved to disk)")
        root = self.root.resolve()
        if real == root / ".insight-key" or any(d in real.parents for d in (root / ".cache", root / "reports")):
            return (f"{written} is one of the workbook's own files (the pseudonymisation key, .cache/ or reports/)",
                    "point `path:` at your own export; the workbook's files are never data")
        return None

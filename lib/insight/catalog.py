"""The notebooks of the workbook and what each needs, read from their own metadata.

Each notebook carries `metadata.insight`: title, summary, requires (canonical tables), stage (1 =
analyses, run in parallel; 2 = synthesis, after them), order (position on the index), seconds (its
typical CPU seconds on the demo study at scale 1: the runner's guess of how long it takes before it
has ever run it, to start the longest first; see runner.expected_seconds). An analyst's new notebook
without that metadata still runs: stage 1, no requirements, titled by its file name.

`requires` is the minimum for any of the notebook to run. A section that needs more declares it in
`sections`, and its cells carry the tag `section:<id>`:

    "sections": [{"id": "cohorts", "title": "Cohort retention", "needs": ["orders"],
                  "shows": "the share of each cohort that buys again, period by period"}]

A need is a table name or alternatives joined by "|" ("orders|usage|subscriptions": any one of
them). When a study lacks what a section needs, the runner leaves that section's cells out and puts
a short note in their place ("This section needs an orders table, which this study does not have:
it would show ..."); the rest of the report runs (see insight.sections).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from insight.paths import Project


@dataclass(frozen=True)
class SectionInfo:
    id: str
    title: str
    needs: tuple[str, ...] = ()      # table names; "a|b" means either
    shows: str = ""                  # what the section would show, for the note and the index

    def missing(self, tables) -> list[str]:
        """The needs the study's tables do not meet (each as written, e.g. "orders" or "orders|usage")."""
        have = set(tables)
        return [n for n in self.needs if not any(alt.strip() in have for alt in n.split("|"))]


@dataclass(frozen=True)
class NotebookInfo:
    name: str            # file stem, unique across notebooks/: used by ONLY= and in report file names
    path: Path
    rel: str             # path relative to notebooks/
    title: str
    summary: str = ""
    requires: tuple[str, ...] = ()
    stage: int = 1
    order: int = 100
    area: str = ""
    sections: tuple[SectionInfo, ...] = ()
    seconds: float | None = None   # typical CPU seconds on the demo study at scale 1 (a scheduling hint)

    @property
    def html_name(self) -> str:
        return f"{self.name}.html"


class CatalogError(Exception):
    pass


def _title_from_cells(nb: dict, fallback: str) -> str:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            src = "".join(cell.get("source", ""))
            for line in src.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def read_info(path: Path, root: Path) -> NotebookInfo:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogError(f"{path}: not a readable notebook ({exc}); open and save it in JupyterLab") from None
    meta = (nb.get("metadata") or {}).get("insight") or {}
    rel = path.relative_to(root).as_posix()
    title = meta.get("title") or _title_from_cells(nb, path.stem.replace("_", " ").capitalize())
    sections = []
    for i, sec in enumerate(meta.get("sections") or ()):
        if not isinstance(sec, dict) or not sec.get("id"):
            raise CatalogError(f"{rel}: metadata insight.sections[{i}] needs an `id` (the cells of the section are "
                               "tagged section:<id>); fix it in the notebook's metadata")
        sections.append(SectionInfo(id=str(sec["id"]), title=str(sec.get("title", sec["id"])),
                                    needs=tuple(sec.get("needs", ())), shows=str(sec.get("shows", ""))))
    return NotebookInfo(
        name=path.stem, path=path, rel=rel, title=str(title), summary=str(meta.get("summary", "")),
        requires=tuple(meta.get("requires", ())), stage=int(meta.get("stage", 1)),
        order=int(meta.get("order", 100)), area=rel.split("/")[0] if "/" in rel else "",
        sections=tuple(sections), seconds=_seconds(meta.get("seconds")),
    )


def _seconds(value) -> float | None:
    """metadata insight.seconds as a positive number, else None (it only orders the first run: a wrong
    value is ignored rather than stopping the report)."""
    try:
        got = float(value)
    except (TypeError, ValueError):
        return None
    return got if got > 0 and got != float("inf") else None


def discover(project: Project) -> list[NotebookInfo]:
    root = project.notebooks_dir
    infos = [read_info(p, root) for p in sorted(root.rglob("*.ipynb"))
             if ".ipynb_checkpoints" not in p.parts and not p.name.startswith(".")]
    seen: dict[str, str] = {}
    for info in infos:
        if info.name in seen:
            raise CatalogError(f"two notebooks are both named {info.name!r}: {seen[info.name]} and {info.rel}; "
                               "rename one (report files and ONLY= use the file name)")
        seen[info.name] = info.rel
    return sorted(infos, key=lambda i: (i.stage, i.order, i.rel))

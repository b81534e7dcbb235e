"""Sections of a report that need more than the notebook's minimum (metadata insight.sections,
cells tagged section:<id>; see insight.catalog). The runner calls `prune` before executing a
notebook: the cells of every section whose tables the study lacks are left out, and one markdown
cell in their place says what the section needs and what it would show. The manifest keeps the
list (`sections_skipped`), and the index lists what each missing table would add."""
from __future__ import annotations

import copy
import html

from insight.catalog import NotebookInfo, SectionInfo

TAG = "section:"


def _table_words(need: str) -> list[str]:
    return [alt.strip().replace("_", " ") for alt in need.split("|")]


def needs_text(missing: list[str]) -> str:
    """'an orders table', 'an orders, usage or subscriptions table', 'orders and costs tables'."""
    parts = [" or ".join(w) if len(w) <= 2 else ", ".join(w[:-1]) + " or " + w[-1]
             for w in (_table_words(m) for m in missing)]
    if len(parts) == 1:
        article = "an" if parts[0][:1] in "aeio" else "a"   # a usage table, an orders table
        return f"{article} {parts[0]} table"
    return ", ".join(parts[:-1]) + " and " + parts[-1] + " tables"


def note_text(section: SectionInfo, missing: list[str]) -> str:
    text = f"This section needs {needs_text(missing)}, which this study does not have"
    return text + (f": it would show {section.shows.rstrip('.')}." if section.shows else ".")


def skipped(info: NotebookInfo, tables) -> list[dict]:
    """The sections of a notebook the study's tables cannot feed, with what each misses."""
    out = []
    for sec in info.sections:
        miss = sec.missing(tables)
        if miss:
            out.append({"id": sec.id, "title": sec.title, "needs": miss, "shows": sec.shows,
                        "note": note_text(sec, miss)})
    return out


def _section_of(cell: dict) -> str | None:
    for tag in (cell.get("metadata") or {}).get("tags") or ():
        if str(tag).startswith(TAG):
            return str(tag)[len(TAG):]
    return None


def prune(nb: dict, skip: list[dict]) -> dict:
    """A copy of the notebook (its JSON) without the cells of the skipped sections; the first cell
    of each is replaced by a markdown cell with the section's title and the note."""
    by_id = {s["id"]: s for s in skip}
    out = copy.deepcopy(nb)
    cells, done = [], set()
    for cell in out.get("cells", []):
        sid = _section_of(cell)
        if sid not in by_id:
            cells.append(cell)
            continue
        if sid in done:
            continue
        done.add(sid)
        s = by_id[sid]
        cells.append({"cell_type": "markdown", "id": f"skipped-{sid}"[:64], "metadata": {"tags": [TAG + sid]},
                      "source": f"## {s['title']}\n\n"
                                f'<div class="insight-note note-skip">{html.escape(s["note"])}</div>\n'})
    out["cells"] = cells
    return out

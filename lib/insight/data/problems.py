"""DataError: every problem found in a study's data at once, each with the file, the
table.column, example rows and count, and the fix. It is a ParamsError, so the runner and the
CLI report it the same way (and stop before any notebook runs)."""
from __future__ import annotations

from typing import Iterable

from insight.params import ParamsError, Problem, errors_first


class DataError(ParamsError):
    def report(self) -> str:
        errors = [p for p in self.problems if p.severity == "error"]
        n = len(errors)
        head = (f"{n} problem{'s' if n != 1 else ''} in the study's data; nothing was prepared or written "
                "(fix them all, then run again):")
        return "\n".join([head, *("  " + str(p) for p in errors_first(self.problems))])


def rows_text(rows: Iterable[int], count: int | None = None, limit: int = 5) -> str:
    """'row 7' / 'rows 2, 5, 9, 10, 11 and 37 more (42 rows)': file row numbers, header = row 1."""
    rows = [int(r) for r in rows]
    count = len(rows) if count is None else int(count)
    shown = rows[:limit]
    if count == 1:
        return f"row {shown[0]}" if shown else "1 row"
    text = "rows " + ", ".join(str(r) for r in shown)
    if count > len(shown):
        text += f" and {count - len(shown):,} more"
    return text


def many(n: int, word: str, plural: str | None = None) -> str:
    """'1 row', '2,345 rows'; 'value is' -> '3 values are' (a trailing ' is'/' has' agrees too)."""
    n = int(n)
    verb = ""
    for one, more in ((" is", " are"), (" has", " have"), (" was", " were")):
        if word.endswith(one):
            word, verb = word[: -len(one)], (one if n == 1 else more)
    noun = word if n == 1 else (plural or word + "s")
    return f"{n:,} {noun}{verb}"


def examples_text(values: Iterable, limit: int = 5) -> str:
    seen: list[str] = []
    for v in values:
        s = repr(v) if isinstance(v, str) else str(v)
        if len(s) > 40:
            s = s[:37] + "...'"
        if s not in seen:
            seen.append(s)
        if len(seen) >= limit:
            break
    return ", ".join(seen)


def problem(file: str, key: str, message: str, fix: str = "", severity: str = "error") -> Problem:
    return Problem(file=file, key=key, message=message, fix=fix, severity=severity)

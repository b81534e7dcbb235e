"""Load and validate params/<study>.yaml before anything runs.

Every problem is collected and reported at once, each with the file, the key path, the line and
what to write instead. `ParamsError` carries them; the CLI prints them and exits with code 2.
"""
from __future__ import annotations

import datetime as dt
import difflib
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from insight.checks import YAML_LOADER
from insight.config import Params
from insight.paths import Project

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9_-]+)*$")
MAX_PARAMS_BYTES = 1_000_000   # a study's params are a few kilobytes; data belong in data.tables files
MAX_YAML_NODES = 100_000       # values after anchors/aliases are expanded (a "billion laughs" is refused)


@dataclass(frozen=True)
class Problem:
    file: str
    key: str
    message: str
    fix: str = ""
    line: int | None = None
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        key = f" [{self.key}]" if self.key else ""
        fix = f"\n    fix: {self.fix}" if self.fix else ""
        return f"{self.severity.upper()} {where}{key}: {self.message}{fix}"


class ParamsError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(self.report())

    def __reduce__(self):   # raised in a worker process (data preparation), re-raised in the runner
        return type(self), (self.problems,)

    def report(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the study parameters; nothing was run or written:"
        return "\n".join([head, *("  " + str(p) for p in errors_first(self.problems))])


def errors_first(problems: list[Problem]) -> list[Problem]:
    """Errors (what stops the run) before warnings (hypotheses, dimensions...), each in its own order."""
    return [p for p in problems if p.severity == "error"] + [p for p in problems if p.severity != "error"]


def check_slug(study: str) -> str | None:
    """None when `study` is a plain slug, else the reason it is not."""
    if not study:
        return "the study name is empty"
    if not SLUG.match(study) or ".." in study:
        return (f"{study!r} is not a plain study name: use lower-case letters, digits, '-' and '_' "
                "only (no spaces, slashes or '..'), e.g. 2025-h1")
    return None


# --- key paths and YAML line numbers -------------------------------------------------------

def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _line_map(root) -> dict[tuple, int]:
    """(key, index, ...) path -> 1-based line of that node in the composed YAML document."""
    lines: dict[tuple, int] = {}

    def walk(node, path):
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = k.value
                lines[path + (key,)] = k.start_mark.line + 1
                walk(v, path + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, path + (i,))

    if root is not None:
        walk(root, ())
    return lines


def _line_for(lines: dict[tuple, int], loc: tuple) -> int | None:
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return None


# --- what to write instead ------------------------------------------------------------------

def _unwrap(tp):
    """The model class behind Optional[...] / list[...] / dict[..., ...] annotations."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if arg is not type(None):
                return _unwrap(arg)
    if origin in (list, tuple, set):
        return _unwrap(typing.get_args(tp)[0])
    if origin is dict:
        return _unwrap(typing.get_args(tp)[1])
    return tp


def _model_at(loc: tuple) -> type[BaseModel] | None:
    model: typing.Any = Params
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        inner = _unwrap(field.annotation)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            model = inner
        elif typing.get_origin(field.annotation) is dict:
            continue  # a dict key such as a table name: stay on the value type
        else:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


_TYPE_HINTS = {
    "int_type": "write a whole number, e.g. 30",
    "int_parsing": "write a whole number, e.g. 30",
    "float_type": "write a number, e.g. 0.05",
    "float_parsing": "write a number, e.g. 0.05",
    "string_type": "write text (quote it if it starts with a digit or symbol)",
    "bool_type": "write true or false",
    "bool_parsing": "write true or false",
    "list_type": "write a list, one '- item' per line",
    "dict_type": "write a mapping of 'key: value' lines",
    "model_type": "write a mapping of 'key: value' lines",
    "date_type": "write a date as YYYY-MM-DD, e.g. 2024-01-31",
    "date_parsing": "write a real calendar date as YYYY-MM-DD, e.g. 2024-01-31",
    "date_from_datetime_parsing": "write a real calendar date as YYYY-MM-DD, e.g. 2024-01-31",
    "date_from_datetime_inexact": "write a date without a time, as YYYY-MM-DD",
    "greater_than": "write a larger value",
    "greater_than_equal": "write a larger value",
    "less_than": "write a smaller value",
    "less_than_equal": "write a smaller value",
    "too_short": "add at least one entry",
}


def _fix_for(err: dict) -> str:
    kind = err["type"]
    loc = tuple(err["loc"])
    if kind == "missing":
        model = _model_at(loc[:-1])
        desc = ""
        if model is not None and loc and loc[-1] in model.model_fields:
            desc = model.model_fields[loc[-1]].description or ""
        return f"add the required key `{loc[-1]}`" + (f" ({desc})" if desc else "")
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        if model is None:
            return "remove this key"
        allowed = list(model.model_fields)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean `{close[0]}`? " if close else ""
        return f"{hint}remove it or use one of: {', '.join(allowed)}"
    if kind in ("literal_error", "enum"):
        expected = err.get("ctx", {}).get("expected", "")
        return f"write one of {expected}"
    if kind == "value_error":
        return ""
    return _TYPE_HINTS.get(kind, "")


def _message_for(err: dict) -> str:
    kind = err["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    given = err.get("input")
    if kind not in ("value_error",) and not isinstance(given, (dict, list)) and given is not None:
        msg += f" (got {given!r})"
    return msg


# --- loading ----------------------------------------------------------------------------------

def read_params(path: Path, project: Project | None = None) -> Params:
    """Parse and validate one params file; raise ParamsError listing every problem."""
    project = project or Project.find()
    fname = _display(path, project)
    if not path.exists():
        studies = sorted(p.stem for p in project.params_dir.glob("*.yaml"))
        raise ParamsError([Problem(fname, "", "no such study parameters file",
                                   f"create it with `make new-study STUDY={path.stem}`"
                                   + (f", or use one of: {', '.join(studies)}" if studies else ""))])
    raw, root = _load_yaml(path, fname)
    if not isinstance(raw, dict):
        raise ParamsError([Problem(fname, "", "the file must be a mapping of sections (study:, objectives:, ...)",
                                   "start from `make new-study` and fill it in")])
    lines = _line_map(root)
    problems: list[Problem] = []
    params: Params | None = None
    try:
        params = Params.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            problems.append(Problem(fname, _key_path(loc), _message_for(err), _fix_for(err),
                                    _line_for(lines, loc)))
    # checks that need the whole file, done on the raw mapping so they run even when typing failed
    name = (raw.get("study") or {}).get("name") if isinstance(raw.get("study"), dict) else None
    if name is not None:
        reason = check_slug(str(name))
        if reason:
            problems.append(Problem(fname, "study.name", reason, "write the file's name without .yaml",
                                    _line_for(lines, ("study", "name"))))
        elif str(name) != path.stem:
            problems.append(Problem(fname, "study.name", f"the name {name!r} differs from the file name {path.stem!r}",
                                    f"write `name: {path.stem}` or rename the file", _line_for(lines, ("study", "name"))))
    if params is not None:
        problems += _cross_checks(params, fname, lines, project)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ParamsError(problems)
    assert params is not None
    params._warnings = [p for p in problems if p.severity == "warning"]  # type: ignore[attr-defined]
    return params


def _expanded_size(node, memo: dict) -> int:
    """How many values the document holds once every alias is expanded (computed without expanding)."""
    key = id(node)
    if key not in memo:
        memo[key] = 0   # a node that contains itself counts once (PyYAML builds such loops lazily)
        if isinstance(node, yaml.MappingNode):
            n = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            n = 1 + sum(_expanded_size(v, memo) for v in node.value)
        else:
            n = 1
        memo[key] = min(n, 10 * MAX_YAML_NODES)
    return memo[key]


def _load_yaml(path: Path, fname: str):
    """(data, composed root node) of a params file, refusing what plain study parameters never need:
    a file that is not a regular file or is over MAX_PARAMS_BYTES, text that is not UTF-8, YAML tags
    that construct Python objects (!!python/object...), and anchors/aliases that expand into more
    than MAX_YAML_NODES values. Raises ParamsError (file, line, fix)."""
    import stat

    def fail(message, fix, line=None):
        return ParamsError([Problem(fname, "", message, fix, line=line)])

    st = path.stat()
    if not stat.S_ISREG(st.st_mode):
        raise fail("is not a regular file (a device, pipe or socket)", "point params/ at a plain YAML text file")
    if st.st_size > MAX_PARAMS_BYTES:
        raise fail(f"the file is {st.st_size / 1e6:,.1f} MB; study parameters are a few kilobytes of YAML "
                   f"(the limit is {MAX_PARAMS_BYTES / 1e6:g} MB)",
                   "keep data in files named under data.tables (CSV, Excel, Parquet), not in the params file")
    raw_bytes = path.read_bytes()
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw_bytes[:exc.start].count(b"\n") + 1
        raise fail(f"is not UTF-8 text (byte {raw_bytes[exc.start:exc.start + 1]!r} cannot be decoded)",
                   "save the file as UTF-8 (in most editors: Save As > Encoding: UTF-8)", line) from None
    loader = None
    try:
        loader = YAML_LOADER(text)
        root = loader.get_single_node()
        if root is None:
            return None, None
        if _expanded_size(root, {}) > MAX_YAML_NODES:
            raise fail(f"anchors and aliases (&name / *name) expand into more than {MAX_YAML_NODES:,} values, "
                       "which no study needs (this is how a 'billion laughs' file exhausts memory)",
                       "write the values out, or use an alias only for a small repeated block")
        return loader.construct_document(root), root
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise fail(f"YAML tag refused: {exc.problem}. Study parameters are plain data; tags such as "
                   "!!python/object would create program objects (and run code) when loaded",
                   "remove the tag (the part starting with !) and write a plain value",
                   mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else (text[:exc.position].count("\n") + 1 if hasattr(exc, "position") else None)
        raise fail(f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                   "check indentation (spaces, not tabs) and quoting near this line", line) from None
    except RecursionError:
        raise fail("the YAML is nested too deeply", "write the parameters as in templates/study.yaml") from None
    finally:
        if loader is not None:
            loader.dispose()


def _display(path: Path, project: Project) -> str:
    try:
        return str(path.resolve().relative_to(project.root))
    except (ValueError, OSError, RuntimeError):   # outside the project, or a symbolic-link loop
        return str(path)


def _dupes(items: list[str]) -> set[str]:
    seen, dup = set(), set()
    for i in items:
        (dup if i in seen else seen).add(i)
    return dup


def _cross_checks(params: Params, fname: str, lines, project: Project) -> list[Problem]:
    out: list[Problem] = []

    def add(loc, message, fix, severity="error"):
        out.append(Problem(fname, _key_path(loc), message, fix, _line_for(lines, loc), severity))

    qids = [q.id for q in params.questions]
    for d in _dupes(qids):
        add(("questions",), f"question id {d!r} is used twice", "give every question its own id")
    hids = [h.id for h in params.hypotheses]
    for d in _dupes(hids):
        add(("hypotheses",), f"hypothesis id {d!r} is used twice", "give every hypothesis its own id")
    for i, h in enumerate(params.hypotheses):
        if h.question not in qids:
            add(("hypotheses", i, "question"), f"hypothesis {h.id} refers to question {h.question!r}, which is not defined",
                f"use one of: {', '.join(qids)}")
        if h.quant is None and (h.qual is None or not (h.qual.supports or h.qual.contradicts)):
            add(("hypotheses", i), f"hypothesis {h.id} cannot be tested: it has no quantitative spec and no qualitative codes",
                "add `quant:` (measure, group_by, expected) and/or `qual:` (supports / contradicts codes)")
    if params.study.previous_study:
        prev = params.study.previous_study
        reason = check_slug(prev)
        if reason:
            add(("study", "previous_study"), reason, "write the name of an existing study")
        elif not project.params_file(prev).exists():
            add(("study", "previous_study"), f"no params file for the previous study {prev!r}",
                f"create params/{prev}.yaml or remove `previous_study`")
    data = params.data
    if data.demo is None and not data.tables and data.qual is None:
        add(("data",), "the study names no data", "add `demo: {}` for the demo company, `tables:` with your exports, "
            "or `qual:` with a .qdpx project or a folder of transcripts")
    for tname, spec in data.tables.items():
        if spec.source is not None:   # a database table or query: checked when the data are prepared
            from insight.data.sources import file_path

            written = file_path(spec.source.url)   # a database file follows the rules of an export's path
            refused = project.data_path_problem(written) if written else None
            if refused:
                add(("data", "tables", tname, "source", "url"), *refused)
            continue
        p = project.resolve(spec.path)
        refused = project.data_path_problem(spec.path)
        if refused:
            add(("data", "tables", tname, "path"), *refused)
            continue
        if not p.exists():
            add(("data", "tables", tname, "path"), f"file not found: {spec.path}",
                "write the path relative to the project root (or absolute) of an existing file")
        elif p.is_dir():
            add(("data", "tables", tname, "path"), f"{spec.path} is a folder, not a file", "point at the file itself")
        fmt = spec.format or {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".gz": "csv", ".xlsx": "xlsx",
                              ".parquet": "parquet", ".pq": "parquet"}.get(p.suffix.lower())
        if fmt is None:
            add(("data", "tables", tname, "path"), f"cannot tell the format of {spec.path}",
                "add `format: csv`, `format: xlsx` or `format: parquet`")
        if fmt == "xlsx" and not spec.sheet:
            add(("data", "tables", tname), "an Excel file needs the sheet to read", "add `sheet: <sheet name>`")
    # section-specific checks: a section may define cross_check(params) -> [(loc, message, fix, severity)]
    for section_name in Params.model_fields:
        section = getattr(params, section_name)
        check = getattr(section, "cross_check", None)
        if callable(check):
            for loc, message, fix, severity in check(params):
                add(tuple(loc), message, fix, severity)
    return out


def load_params(study: str, project: Project | None = None) -> Params:
    """Validate the study name, then its params file."""
    project = project or Project.find()
    reason = check_slug(study)
    if reason:
        raise ParamsError([Problem(f"STUDY={study}", "", reason, "pass the name of a file in params/ without .yaml")])
    return read_params(project.params_file(study), project)


def warnings_of(params: Params) -> list[Problem]:
    return list(getattr(params, "_warnings", []))


def today() -> dt.date:
    return dt.date.today()

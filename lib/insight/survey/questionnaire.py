"""The questionnaire as data: one YAML file is both the fieldwork questionnaire and the codebook.

Format (see templates/instruments/demo-survey.yaml and the ready blocks in blocks.yaml):

    title: "Customer survey"
    company: "Northwind Software"       # replaces {company} in texts
    blocks: blocks.yaml                 # ready question blocks (relative to this file)
    attributes: [country]               # extra respondent columns the data may carry
    sections:
      - title: "Recommendation"
        questions:
          - {id: q_nps, block: nps}
          - {id: q_nps_why, block: nps_why, asked_if: {answered: q_nps}}
          - id: q_attr
            block: likert_battery        # a grid: one column per item
            items:
              - {id: q_attr_hard, text: "The product is hard to use.", construct: product_experience, reverse: true}

Question types: nps (0-10), csat (1-5, top-2-box), ces (1-7, % agree = top 3), rating and
likert (a scale; top-2-box and mean), pmf (very / somewhat / not disappointed), single (one
option code), multi (one 0/1 column per option: <id>__<code>), open (free text), attention
(a scale with a `correct` code), grid (items that are likert questions sharing a scale;
constructs and reverse coding live on the items).

Skip logic: `asked_if: {answered: q_x}` (asked when q_x has an answer) and/or
`asked_if: {column: [values]}` (asked when the respondent's column holds one of the values).
`required: true`: every completed response the routing asks it of must answer it (a grid: each item).

The responses are checked against the questionnaire when the study's data are prepared
(`make validate`, before any notebook runs; `check_study_responses`) and again by the survey
notebooks: columns the questionnaire does not know, questions the data lack, answers outside a
question's codes, required questions left unanswered — every problem at once, each with the file,
the column, the rows and the fix.
"""
from __future__ import annotations

import html
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from insight.checks import InputError, load_yaml
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from insight.data.schema import TABLES

QType = Literal["nps", "csat", "ces", "rating", "likert", "pmf", "single", "multi", "open", "attention", "grid"]
SCALED = ("nps", "csat", "ces", "rating", "likert", "attention")
CHOICE = ("pmf", "single")
RESPONDENT_COLUMNS = tuple(c.name for c in TABLES["survey_responses"].columns)
TABLE = "survey_responses"


class QuestionnaireError(ValueError):
    """The questionnaire file is not valid."""


class SurveyDataError(InputError):
    """The survey responses do not fit the questionnaire."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        n = len(problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} in {TABLE} against the questionnaire:\n"
                         + "\n".join("  - " + p for p in problems))


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)


class Scale(_M):
    min: int
    max: int
    labels: dict[int, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ordered(self):
        if self.max <= self.min:
            raise ValueError(f"scale max ({self.max}) must be above min ({self.min})")
        return self


class Option(_M):
    code: str
    label: str


class Item(_M):
    id: str
    text: str
    construct_name: str | None = Field(default=None, alias="construct")
    reverse: bool = False


class QuestionSpec(_M):
    id: str
    type: QType
    text: str = ""
    block: str | None = None
    scale: Scale | None = None
    options: list[Option] | None = None
    items: list[Item] | None = None
    construct_name: str | None = Field(default=None, alias="construct")
    reverse: bool = False
    correct: int | None = None
    asked_if: dict[str, Any] | None = None
    required: bool = False
    note: str = ""

    @model_validator(mode="after")
    def _complete(self):
        if self.type in SCALED + ("grid",) and self.scale is None:
            raise ValueError(f"question {self.id} ({self.type}) needs a `scale: {{min:, max:}}`")
        if self.type in CHOICE + ("multi",) and not self.options:
            raise ValueError(f"question {self.id} ({self.type}) needs `options:` (code and label each)")
        if self.type == "grid" and not self.items:
            raise ValueError(f"grid {self.id} needs `items:` (id and text each)")
        if self.type == "attention" and self.correct is None:
            raise ValueError(f"attention check {self.id} needs `correct:` (the code an attentive respondent picks)")
        if self.type == "nps" and self.scale and (self.scale.min, self.scale.max) != (0, 10):
            raise ValueError(f"NPS question {self.id} must use the 0-10 scale")
        return self


class SectionSpec(_M):
    title: str
    questions: list[QuestionSpec]


class QuestionnaireSpec(_M):
    title: str
    company: str = "the company"
    blocks: str | None = None
    introduction: str = ""
    attributes: list[str] = Field(default_factory=list)
    sections: list[SectionSpec]


@dataclass(frozen=True)
class Question:
    """One analysable question (grid items are questions of type likert with `grid` set)."""
    id: str
    type: str
    text: str
    section: str
    scale: Scale | None = None
    options: tuple[Option, ...] = ()
    construct: str | None = None
    reverse: bool = False
    correct: int | None = None
    asked_if: dict[str, Any] | None = None
    grid: str | None = None
    note: str = ""
    required: bool = False

    @property
    def columns(self) -> list[str]:
        if self.type == "multi":
            return [f"{self.id}__{o.code}" for o in self.options]
        return [self.id]

    @property
    def codes(self) -> list:
        if self.scale is not None:
            return list(range(self.scale.min, self.scale.max + 1))
        return [o.code for o in self.options]

    def label(self, code) -> str:
        if self.scale is not None:
            try:
                return self.scale.labels.get(int(code), str(code))
            except (TypeError, ValueError):
                return str(code)
        for o in self.options:
            if o.code == code:
                return o.label
        return str(code)

    @property
    def top_codes(self) -> list[int]:
        """The 'top box' codes: NPS 9-10, CES 5-7 (agree on 1-7), other scales the top two."""
        if self.scale is None:
            return []
        hi = self.scale.max
        if self.type == "nps":
            return [9, 10]
        if self.type == "ces":
            return list(range(hi - 2, hi + 1))
        return [hi - 1, hi]

    @property
    def is_scale(self) -> bool:
        return self.type in ("nps", "csat", "ces", "rating", "likert")


@dataclass
class Questionnaire:
    title: str
    company: str
    introduction: str
    sections: list[tuple[str, list[QuestionSpec]]]
    questions: list[Question]
    attributes: list[str] = field(default_factory=list)
    path: Path | None = None

    # --- look-ups -------------------------------------------------------------------------
    def question(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(f"the questionnaire {self.path or ''} has no question {qid!r}; "
                       f"questions: {', '.join(q.id for q in self.questions)}")

    def __contains__(self, qid: str) -> bool:
        return any(q.id == qid for q in self.questions)

    def of_type(self, *types: str) -> list[Question]:
        return [q for q in self.questions if q.type in types]

    @property
    def answer_columns(self) -> list[str]:
        return [c for q in self.questions for c in q.columns]

    @property
    def closed_questions(self) -> list[Question]:
        return [q for q in self.questions if q.type not in ("open", "attention")]

    @property
    def grids(self) -> dict[str, list[Question]]:
        out: dict[str, list[Question]] = {}
        for q in self.questions:
            if q.grid:
                out.setdefault(q.grid, []).append(q)
        return out

    @property
    def constructs(self) -> dict[str, list[Question]]:
        out: dict[str, list[Question]] = {}
        for q in self.questions:
            if q.construct:
                out.setdefault(q.construct, []).append(q)
        return out

    def column_question(self, column: str) -> Question | None:
        for q in self.questions:
            if column in q.columns:
                return q
        return None

    # --- skip logic -----------------------------------------------------------------------
    def asked_mask(self, df: pd.DataFrame, q: Question | str) -> pd.Series:
        """True where the routing asks the question of the respondent (vectorised)."""
        q = self.question(q) if isinstance(q, str) else q
        mask = pd.Series(True, index=df.index)
        for key, cond in (q.asked_if or {}).items():
            if key == "answered":
                for qid in ([cond] if isinstance(cond, str) else cond):
                    mask &= self._answered(df, self.question(qid))
            else:
                values = cond if isinstance(cond, list) else [cond]
                mask &= df[key].isin(values)
        return mask

    def _answered(self, df: pd.DataFrame, q: Question) -> pd.Series:
        cols = [c for c in q.columns if c in df.columns]
        if not cols:
            return pd.Series(False, index=df.index)
        return df[cols].notna().any(axis=1)

    def answered(self, df: pd.DataFrame, q: Question | str) -> pd.Series:
        return self._answered(df, self.question(q) if isinstance(q, str) else q)

    # --- checking data against the codebook ---------------------------------------------------
    def check_responses(self, df: pd.DataFrame, out_of_range: str = "error") -> pd.DataFrame:
        """Raise SurveyDataError listing every problem (see `problems`). Out-of-range codes are
        only reported (not raised) when out_of_range is 'blank' or 'remove': the returned
        DataFrame lists them (respondent_id, question, column, value)."""
        problems, bad = self.problems(df, out_of_range=out_of_range)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise SurveyDataError([f"{p.key}: {p.message}; fix: {p.fix}" for p in errors])
        return bad

    def problems(self, df: pd.DataFrame, file: str = TABLE, out_of_range: str = "error") -> tuple[list, pd.DataFrame]:
        """(every problem of the responses against the questionnaire as data-layer Problems, the
        out-of-range answers as a DataFrame). Problems: columns the questionnaire does not know,
        answer columns the data lack, routing columns absent, codes outside a scale or option list
        (warnings when out_of_range is 'blank' or 'remove': they are blanked/removed at cleaning),
        required questions left unanswered by completed responses the routing asked them of.
        Rows are the file's row numbers when `df` carries `_row` (as prepared data do), and
        respondent ids are named too."""
        from insight.data.loaders import ROW
        from insight.data.problems import examples_text, many, problem, rows_text

        out: list = []
        qfile = str(self.path or "the questionnaire")
        known = set(RESPONDENT_COLUMNS) | set(self.attributes) | set(self.answer_columns) | {ROW}
        unknown = [c for c in df.columns if c not in known]
        if unknown:
            out.append(problem(file, TABLE, f"columns {unknown} are not in the questionnaire ({qfile})",
                               "add each question to the questionnaire, list respondent attributes under "
                               "`attributes:`, or leave the column out of the export / its column mapping"))
        missing = [c for c in self.answer_columns if c not in df.columns]
        if missing:
            out.append(problem(file, TABLE, f"the questionnaire asks {missing} but {TABLE} has no such columns",
                               "map the export's column names onto the question ids in params "
                               "(data.tables.survey_responses.columns) or remove the questions from the questionnaire "
                               f"({qfile})"))
        for q in self.questions:
            for key in (q.asked_if or {}):
                if key != "answered" and key not in df.columns:
                    out.append(problem(file, f"{TABLE}.{key}", f"question {q.id} is routed on column {key!r}, which "
                                       f"{TABLE} lacks", "add the column to the data or change `asked_if`"))
        rid = df["respondent_id"] if "respondent_id" in df.columns else pd.Series(df.index, index=df.index)
        rownums = df[ROW] if ROW in df.columns else None

        def where(mask) -> str:
            ids = list(rid[mask].astype(str).head(5))
            more = " ..." if int(mask.sum()) > 5 else ""
            text = f"respondents {', '.join(ids)}{more}"
            if rownums is not None:
                text = rows_text(rownums[mask].head(5), int(mask.sum())) + "; " + text
            return text

        bad_rows = []
        for q in self.questions:
            for col in q.columns:
                if col not in df.columns or q.type == "open":
                    continue
                s = df[col]
                present = s.notna()
                if q.type == "multi":
                    num = pd.to_numeric(s, errors="coerce")
                    bad = present & ~num.isin([0, 1])
                    allowed = "0/1"
                elif q.scale is not None:
                    num = pd.to_numeric(s, errors="coerce")
                    bad = present & ~num.isin(q.codes)
                    allowed = f"whole numbers {q.scale.min}-{q.scale.max}"
                else:
                    bad = present & ~s.astype("string").isin([str(c) for c in q.codes])
                    allowed = ", ".join(map(str, q.codes))
                if bad.any():
                    vals = sorted(map(str, s[bad].unique()))[:8]
                    severity = "error" if out_of_range == "error" else "warning"
                    action = {"blank": "blanked", "remove": "removed with their respondents"}.get(out_of_range, "")
                    out.append(problem(
                        file, f"{TABLE}.{col}",
                        f"{many(int(bad.sum()), 'answer')} outside the codes of {q.id} ({allowed}): values "
                        f"{examples_text(vals, 8)} ({where(bad)})" + (f"; they will be {action} (survey.out_of_range)"
                                                                      if action else ""),
                        "correct the codes, recode them in params (data.tables.survey_responses.values), or set "
                        "survey.out_of_range to blank/remove", severity))
                    bad_rows.append(pd.DataFrame({"respondent_id": rid[bad].astype(str), "question": q.id,
                                                  "column": col, "value": s[bad].astype(str)}))
        if "completed" in df.columns:
            done = df["completed"].fillna(False).astype(bool)
            for q in self.questions:
                cols = [c for c in q.columns if c in df.columns]
                if not q.required or not cols:
                    continue
                try:
                    asked = self.asked_mask(df, q)
                except KeyError:   # routed on a column the data lack: reported above
                    continue
                unanswered = done & asked & ~self._answered(df, q)
                if unanswered.any():
                    out.append(problem(
                        file, f"{TABLE}.{q.id}",
                        f"{many(int(unanswered.sum()), 'completed response')} did not answer the required question "
                        f"{q.id} although it was asked ({where(unanswered)})",
                        f"correct the export (completed: false for partial responses), or mark {q.id} "
                        f"`required: false` in the questionnaire ({qfile})"))
        bad = (pd.concat(bad_rows, ignore_index=True) if bad_rows
               else pd.DataFrame(columns=["respondent_id", "question", "column", "value"]))
        return out, bad

    # --- scoring helpers ---------------------------------------------------------------------
    def scored(self, df: pd.DataFrame, q: Question | str) -> pd.Series:
        """Numeric answers with reverse-coded items turned round (min+max-x)."""
        q = self.question(q) if isinstance(q, str) else q
        s = pd.to_numeric(df[q.id], errors="coerce")
        if q.reverse and q.scale is not None:
            s = q.scale.min + q.scale.max - s
        return s

    # --- rendering -----------------------------------------------------------------------------
    def to_markdown(self) -> str:
        return render_markdown(self)

    def to_html(self) -> str:
        return render_html(self)

    def codebook(self, short: bool = False) -> pd.DataFrame:
        """One row per analysable question: id, type, text, codes, construct, reverse, routing
        (short=True: scale end labels and option codes only, for a report)."""
        rows = []
        for q in self.questions:
            rows.append({"question": q.id, "section": q.section, "type": q.type, "text": q.text,
                         "codes": _codes_text(q, short), "construct": q.construct or "",
                         "reverse": "yes" if q.reverse else "",
                         "asked if": _routing_text(q.asked_if), "columns": ", ".join(q.columns)})
        return pd.DataFrame(rows)


# --- loading -----------------------------------------------------------------------------------

def _read_yaml(path: Path) -> dict:
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise QuestionnaireError(f"questionnaire file not found: {path}; fix: set survey.questionnaire in params "
                                 "to an existing file (e.g. templates/instruments/demo-survey.yaml)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise QuestionnaireError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)}); "
                                 "fix: check indentation (spaces) and quoting") from None
    if not isinstance(data, dict):
        raise QuestionnaireError(f"{path}: a questionnaire is a mapping with title: and sections:")
    return data


def _merge_blocks(raw: dict, blocks: dict, path: Path) -> dict:
    out = []
    for si, sec in enumerate(raw.get("sections") or []):
        qs = []
        for qi, q in enumerate((sec or {}).get("questions") or []):
            if not isinstance(q, dict):
                raise QuestionnaireError(f"{path}: sections[{si}].questions[{qi}] must be a mapping (id:, type: or block:)")
            name = q.get("block")
            if name is not None:
                if name not in blocks:
                    raise QuestionnaireError(f"{path}: question {q.get('id')} uses block {name!r}, which is not defined; "
                                             f"fix: use one of {', '.join(sorted(blocks))}")
                q = {**blocks[name], **q}
            qs.append(q)
        out.append({**sec, "questions": qs})
    return {**raw, "sections": out}


def load_questionnaire(path: str | Path, project=None) -> Questionnaire:
    """Read and validate a questionnaire YAML (relative paths resolve against the project root)."""
    from insight.paths import Project

    p = Path(path)
    if not p.is_absolute():
        p = (project or Project.find()).resolve(p)
    raw = _read_yaml(p)
    blocks: dict = {}
    if raw.get("blocks"):
        bp = (p.parent / raw["blocks"]).resolve()
        blocks = (_read_yaml(bp).get("blocks") or {})
    merged = _merge_blocks(raw, blocks, p)
    try:
        spec = QuestionnaireSpec.model_validate(merged)
    except ValidationError as exc:
        lines = []
        for e in exc.errors():
            loc = e["loc"]
            qid = ""
            try:
                if loc[0] == "sections" and len(loc) > 3:
                    qid = f" (question {merged['sections'][loc[1]]['questions'][loc[3]].get('id')})"
            except (KeyError, IndexError, TypeError, AttributeError):
                pass
            lines.append(f"  - {'.'.join(map(str, loc))}{qid}: {e['msg'].removeprefix('Value error, ')}")
        raise QuestionnaireError(f"{p}: {len(lines)} problem(s) in the questionnaire:\n" + "\n".join(lines)) from None
    return _build(spec, p)


def _fill(text: str, company: str) -> str:
    return text.replace("{company}", company)


def _build(spec: QuestionnaireSpec, path: Path | None) -> Questionnaire:
    qs: list[Question] = []
    for sec in spec.sections:
        for q in sec.questions:
            if q.type == "grid":
                for it in q.items or []:
                    qs.append(Question(it.id, "likert", _fill(it.text, spec.company), sec.title, q.scale, (),
                                       it.construct_name, it.reverse, None, q.asked_if, q.id, q.note, q.required))
            else:
                qs.append(Question(q.id, q.type, _fill(q.text, spec.company), sec.title, q.scale,
                                   tuple(q.options or ()), q.construct_name, q.reverse, q.correct, q.asked_if, None, q.note,
                                   q.required))
    ids = [q.id for q in qs]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise QuestionnaireError(f"{path}: question ids {dup} are used twice; fix: give every question its own id")
    for q in qs:
        for key, cond in (q.asked_if or {}).items():
            if key == "answered":
                for ref in ([cond] if isinstance(cond, str) else cond):
                    if ref not in ids:
                        raise QuestionnaireError(f"{path}: question {q.id} is asked if {ref!r} is answered, "
                                                 "but there is no such question; fix the `asked_if`")
    return Questionnaire(spec.title, spec.company, spec.introduction,
                         [(s.title, s.questions) for s in spec.sections], qs, list(spec.attributes), path)


def check_study_responses(params, project, df: pd.DataFrame, file: str) -> list:
    """The study's survey responses against its questionnaire (params.survey.questionnaire), as
    data-layer Problems for `make validate`; a questionnaire that cannot be read is one problem."""
    from insight.data.loaders import display_path
    from insight.data.problems import problem

    cfg = params.survey
    path = project.resolve(cfg.questionnaire)
    if not path.is_file():   # an error of the params already (survey.questionnaire); here only a note
        return [problem(display_path(path, project), "survey.questionnaire",
                        f"the survey responses were not checked: the questionnaire {cfg.questionnaire} was not found",
                        "set survey.questionnaire to the questionnaire YAML of this survey", "warning")]
    try:
        qn = load_questionnaire(path, project)
    except QuestionnaireError as exc:
        message, _, fix = str(exc).removeprefix(f"{path}: ").partition("; fix: ")
        return [problem(display_path(path, project), "survey.questionnaire", message, fix)]
    qn.path = Path(display_path(path, project))
    return qn.problems(df, file, out_of_range=cfg.out_of_range)[0]


def questionnaire_files(path: Path) -> list[Path]:
    """The questionnaire file and the blocks file it names (what its content depends on)."""
    files = [path]
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return files
    if isinstance(raw, dict) and raw.get("blocks"):
        files.append((path.parent / str(raw["blocks"])).resolve())
    return files


# --- rendering for fieldwork -------------------------------------------------------------------

def _codes_text(q: Question, short: bool = False) -> str:
    if q.scale is not None:
        labels = q.scale.labels
        if short:
            ends = [f"{k} {labels[k]}" for k in (q.scale.min, q.scale.max) if k in labels]
            return f"{q.scale.min}-{q.scale.max}" + (f" ({' … '.join(ends)})" if ends else "")
        lab = "; ".join(f"{k} = {v}" for k, v in sorted(labels.items()))
        return f"{q.scale.min}-{q.scale.max}" + (f" ({lab})" if lab else "")
    if q.options:
        if short:
            return " / ".join(o.code for o in q.options)
        return "; ".join(f"{o.code} = {o.label}" for o in q.options)
    return "free text" if q.type == "open" else ""


def _routing_text(asked_if: dict | None) -> str:
    if not asked_if:
        return ""
    parts = []
    for key, cond in asked_if.items():
        if key == "answered":
            parts.append(f"{cond} answered")
        else:
            vals = cond if isinstance(cond, list) else [cond]
            parts.append(f"{key} is {' or '.join(map(str, vals))}")
    return " and ".join(parts)


def render_markdown(qn: Questionnaire) -> str:
    """A readable questionnaire for fieldwork (Markdown): numbered questions, answer options,
    routing instructions, grids as tables."""
    out = [f"# {qn.title}", ""]
    if qn.introduction:
        out += [qn.introduction, ""]
    n = 0
    for title, specs in qn.sections:
        out += [f"## {title}", ""]
        for spec in specs:
            n += 1
            route = _routing_text(spec.asked_if)
            head = f"**{n}. {_fill(spec.text, qn.company) or spec.id}**  `{spec.id}`"
            out.append(head)
            if route:
                out.append(f"*Ask only if {route}.*")
            if spec.note:
                out.append(f"*Note: {spec.note}*")
            out.append("")
            if spec.type == "grid":
                codes = list(range(spec.scale.min, spec.scale.max + 1))
                out.append("| Statement | " + " | ".join(spec.scale.labels.get(c, str(c)) for c in codes) + " |")
                out.append("|---|" + "---|" * len(codes))
                for it in spec.items or []:
                    out.append(f"| {_fill(it.text, qn.company)} | " + " | ".join("○" for _ in codes) + " |")
            elif spec.scale is not None:
                out.append("  ".join(f"○ {c}" + (f" {spec.scale.labels[c]}" if c in spec.scale.labels else "")
                                     for c in range(spec.scale.min, spec.scale.max + 1)))
            elif spec.options:
                box = "☐" if spec.type == "multi" else "○"
                out += [f"- {box} {o.label}" for o in spec.options]
            elif spec.type == "open":
                out.append("_" * 60)
            out.append("")
    return "\n".join(out)


def render_html(qn: Questionnaire) -> str:
    """The questionnaire as a self-contained HTML page (every text escaped)."""
    e = html.escape
    body = [f"<h1>{e(qn.title)}</h1>"]
    if qn.introduction:
        body.append(f"<p class='intro'>{e(qn.introduction)}</p>")
    n = 0
    for title, specs in qn.sections:
        body.append(f"<h2>{e(title)}</h2>")
        for spec in specs:
            n += 1
            body.append(f"<div class='q'><p><strong>{n}. {e(_fill(spec.text, qn.company) or spec.id)}</strong> "
                        f"<code>{e(spec.id)}</code></p>")
            route = _routing_text(spec.asked_if)
            if route:
                body.append(f"<p class='route'>Ask only if {e(route)}.</p>")
            if spec.type == "grid":
                codes = list(range(spec.scale.min, spec.scale.max + 1))
                head = "".join(f"<th>{e(spec.scale.labels.get(c, str(c)))}</th>" for c in codes)
                rows = "".join(f"<tr><td>{e(_fill(it.text, qn.company))}</td>" + "<td>○</td>" * len(codes) + "</tr>"
                               for it in spec.items or [])
                body.append(f"<table><tr><th>Statement</th>{head}</tr>{rows}</table>")
            elif spec.scale is not None:
                body.append("<p>" + " ".join(f"○ {c} {e(spec.scale.labels.get(c, ''))}"
                                             for c in range(spec.scale.min, spec.scale.max + 1)) + "</p>")
            elif spec.options:
                box = "☐" if spec.type == "multi" else "○"
                body.append("<ul>" + "".join(f"<li>{box} {e(o.label)}</li>" for o in spec.options) + "</ul>")
            elif spec.type == "open":
                body.append("<div class='open'></div>")
            body.append("</div>")
    style = ("body{font-family:sans-serif;max-width:50em;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:.3em .6em}.route{color:#a33;font-style:italic}"
             ".open{border:1px solid #ccc;height:4em}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(qn.title)}</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>")


def main(argv: list[str] | None = None) -> int:
    """python -m insight.survey.questionnaire FILE [--html OUT.html | --md OUT.md]"""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print(main.__doc__)
        return 2
    qn = load_questionnaire(argv[0])
    if len(argv) >= 3 and argv[1] in ("--html", "--md"):
        text = render_html(qn) if argv[1] == "--html" else render_markdown(qn)
        Path(argv[2]).write_text(text, encoding="utf-8")
    else:
        print(render_markdown(qn))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

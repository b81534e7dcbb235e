"""Command line: python -m insight report|validate|pdf|new-study STUDY, map FILE (the Makefile's targets call these)."""
from __future__ import annotations

import argparse
import sys

from insight.paths import Project


def _cmd_report(args) -> int:
    from insight.runner import RunOptions, run_report
    only = [x for part in (args.only or []) for x in part.split(",") if x]
    return run_report(args.study, RunOptions(jobs=args.jobs, force=args.force, only=only, quiet=args.quiet))


def _cmd_validate(args) -> int:
    from insight.params import ParamsError, load_params, warnings_of
    project = Project.find()
    try:
        params = load_params(args.study, project)
    except ParamsError as exc:
        print(exc.report(), file=sys.stderr)
        return 2
    from insight.data.prepare import DataError, prepare_study_data
    try:
        prepared = prepare_study_data(params, project)
    except DataError as exc:
        # the data errors first (they stop the run), then the warnings about the params (hypotheses, dimensions)
        print(exc.report() if hasattr(exc, "report") else str(exc), file=sys.stderr)
        for w in warnings_of(params):
            print("  " + str(w), file=sys.stderr)
        return 2
    from insight.data.engine import EngineError, preflight
    try:
        checked = preflight(prepared, params.data.engine)
    except EngineError as exc:
        print(f"ERROR {exc}", file=sys.stderr)
        return 2
    for w in [*prepared.warnings, *warnings_of(params)]:
        print(str(w))
    if checked:
        print(checked)
    print(f"{args.study}: params and data are valid; tables: {', '.join(sorted(prepared.tables))}")
    return 0


def _cmd_pdf(args) -> int:
    from insight.pdf import PdfError, build_pdf
    try:
        out = build_pdf(args.study)
    except PdfError as exc:
        print(f"make pdf: {exc}", file=sys.stderr)
        return 2
    print(f"{args.study}: {out}")
    return 0


def _cmd_new_study(args) -> int:
    from insight.scaffold import new_study
    return new_study(args.study, Project.find())


def _cmd_map(args) -> int:
    from insight.data.suggest import map_file
    return map_file(args.file, Project.find(), table=args.table, study=args.study, sheet=args.sheet)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="insight", description="Customer-insight workbook")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("report", help="render a study's reports")
    r.add_argument("study")
    r.add_argument("--jobs", type=int, default=None, help="parallel notebooks (default: number of cores)")
    r.add_argument("--force", action="store_true", help="rerun every notebook")
    r.add_argument("--only", action="append", help="run only this notebook (file name without .ipynb)")
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(func=_cmd_report)
    v = sub.add_parser("validate", help="check params and data, run nothing")
    v.add_argument("study")
    v.set_defaults(func=_cmd_validate)
    d = sub.add_parser("pdf", help="the rendered study as one PDF with a bookmark per report (needs chromium)")
    d.add_argument("study")
    d.set_defaults(func=_cmd_pdf)
    n = sub.add_parser("new-study", help="scaffold params/<study>.yaml")
    n.add_argument("study")
    n.set_defaults(func=_cmd_new_study)
    m = sub.add_parser("map", help="profile an export and suggest its mapping for params (never overwrites)")
    m.add_argument("file", help="the export: .csv/.txt/.tsv(.gz), .xlsx, .parquet or a REFI-QDA .qdpx project")
    m.add_argument("--table", default=None, help="the canonical table it holds (guessed from the columns when omitted)")
    m.add_argument("--study", default=None, help="the study: its mapped tables are used to recognise ids, and the "
                                                  "block is also written to params/mappings/<study>.<table>.yaml")
    m.add_argument("--sheet", default=None, help="the Excel sheet")
    m.set_defaults(func=_cmd_map)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""`make new-study STUDY=2025-h1`: params/<study>.yaml from the commented template; never overwrites."""
from __future__ import annotations

import datetime as dt
import sys

from insight.params import check_slug
from insight.paths import Project


def new_study(study: str, project: Project) -> int:
    reason = check_slug(study)
    if reason:
        print(f"ERROR STUDY={study}: {reason}", file=sys.stderr)
        return 2
    target = project.params_file(study)
    if target.exists():
        print(f"ERROR {target.relative_to(project.root)} already exists; it was left untouched. "
              "Choose another STUDY name or edit that file.", file=sys.stderr)
        return 2
    template = (project.templates_dir / "study.yaml").read_text(encoding="utf-8")
    year = dt.date.today().year
    text = (template.replace("{{study}}", study).replace("{{year}}", str(year)))
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "x", encoding="utf-8") as fh:  # "x": fail rather than overwrite, even in a race
        fh.write(text)
    print(f"created {target.relative_to(project.root)}: fill in the sections marked TODO, then "
          f"`make validate STUDY={study}` and `make report STUDY={study}`")
    return 0

"""A toy project for the reliability suite (the same shape as tests/test_runner.py's `toy`: one
customers export, cheap notebooks), plus the checks every fault test makes afterwards."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from test_runner import CUSTOMERS, PARAMS, ROOT, write_nb  # noqa: F401 - re-exported for the suite

from insight.paths import Project
from insight.safety import FORK_DIR_PREFIX, TMP_MARK

COUNT = """
from insight.study import load_study
from insight.findings import record_finding
s = load_study(study)
df = s.table("customers")
record_finding("{name}.rows", f"{{len(df)}} customers", value=len(df), severity="key")
"""

SLEEP = COUNT + "\nimport time\ntime.sleep({seconds})\n"


def make_toy(root: Path, notebooks: dict[str, str] | None = None, customers: str = CUSTOMERS) -> Project:
    """A toy project at `root`: params/toy.yaml, data/customers.csv, notebooks (name -> code)."""
    (root / "params").mkdir(parents=True, exist_ok=True)
    (root / "params" / "toy.yaml").write_text(PARAMS, encoding="utf-8")
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "customers.csv").write_text(customers, encoding="utf-8")
    if not (root / "templates").exists():
        (root / "templates").symlink_to(ROOT / "templates", target_is_directory=True)
    notebooks = notebooks if notebooks is not None else {"alpha": COUNT.format(name="alpha"),
                                                         "beta": COUNT.format(name="beta")}
    for i, (name, code) in enumerate(notebooks.items(), start=1):
        write_nb(root / "notebooks" / f"{name}.ipynb", code, {"title": name.title(), "order": i})
    return Project(root)


def cli(root: Path, *args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    """`python -m insight report toy ...` as a separate process (what `make report` runs)."""
    e = {**os.environ, "INSIGHT_ROOT": str(root), "INSIGHT_PII_KEY": "reliability-test-key", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "insight", "report", "toy", *args], cwd=root, env=e,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, **kw)


def snapshot(project: Project, study: str = "toy") -> dict[str, bytes]:
    """The published reports (HTML) by name."""
    d = project.report_dir(study)
    return {p.name: p.read_bytes() for p in sorted(d.glob("*.html"))} if d.is_dir() else {}


def complete_html(data: bytes) -> bool:
    return data.rstrip().endswith(b"</html>") and data.lstrip().lower().startswith(b"<!doctype html")


def lost_reports(before: dict[str, bytes], project: Project, study: str = "toy") -> list[str]:
    """Reports published before a fault that are gone or damaged after it (a complete new version of
    a report is not a loss)."""
    after = snapshot(project, study)
    return [name for name in before if name not in after or not complete_html(after[name])]


def leftovers(project: Project, study: str = "toy") -> list[str]:
    """Temporary files and folders of killed runs: in reports/, .cache/ and the fork-server folders."""
    found = []
    for base in (project.reports_dir, project.cache_dir):
        if base.is_dir():
            for p in base.rglob("*"):
                if p.name.startswith((TMP_MARK, ".tmp-")) or p.name.endswith(".tmp") or p.name.startswith(FORK_DIR_PREFIX):
                    found.append(str(p))
    return found


def fork_dirs_of_dead_runners() -> list[str]:
    """insight-fk-<pid>-* folders in the system temporary folder whose runner is gone."""
    out = []
    for d in Path(tempfile.gettempdir()).glob(FORK_DIR_PREFIX + "*"):
        try:
            pid = int(d.name[len(FORK_DIR_PREFIX):].split("-", 1)[0])
        except ValueError:
            continue   # an old-style folder from before this fix: not ours to judge
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            out.append(str(d))
        except PermissionError:
            pass
    return out


def processes_of(root: Path) -> list[int]:
    """Live processes started for this project (their environment names it as INSIGHT_ROOT)."""
    needle = f"INSIGHT_ROOT={root}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            env = (proc / "environ").read_bytes()
            state = (proc / "stat").read_text().split(")")[-1].split()[0]
        except OSError:
            continue
        if needle in env.split(b"\0") and state != "Z":
            pids.append(int(proc.name))
    return pids


def manifest(project: Project, study: str = "toy") -> dict:
    return json.loads((project.report_dir(study) / "manifest.json").read_text(encoding="utf-8"))


def statuses(project: Project, study: str = "toy") -> dict[str, str]:
    return {k: v["status"] for k, v in manifest(project, study)["notebooks"].items()}


def json_files_parse(project: Project, study: str = "toy") -> list[str]:
    """The run's JSON outputs that do not parse (a torn write)."""
    bad = []
    d = project.report_dir(study)
    for p in [d / "manifest.json", d / "findings.json", *sorted((d / "findings").glob("*.json"))]:
        if p.exists():
            try:
                json.loads(p.read_text(encoding="utf-8"))
            except ValueError:
                bad.append(p.name)
    return bad


def copy_project(src: Path, dest: Path) -> Project:
    """The project's inputs only (params, data, notebooks): a from-scratch twin."""
    for sub in ("params", "data", "notebooks"):
        shutil.copytree(src / sub, dest / sub)
    (dest / "templates").symlink_to(ROOT / "templates", target_is_directory=True)
    return Project(dest)

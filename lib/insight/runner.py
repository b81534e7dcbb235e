"""`make report STUDY=x`: validate, decide, run notebooks in parallel, render, publish, index.

Publishing is atomic per file: notebooks execute and render into .cache/runs/<study>/, and only a
complete, successful HTML replaces reports/<study>/<name>.html. A failed run keeps the last good
report, its own rendering (with papermill's error banner) goes to reports/<study>/failed/, and
the index marks it failed with a link to the failing cell. A notebook reruns only when its input
hash changes: the notebook file, the study params, the data fingerprint, the lib/insight source,
the report template, and (for the synthesis stage) the findings it reads.

Kernels start warm: a fork server (insight.forkkernel) imports pandas, scipy, statsmodels, matplotlib,
seaborn... once and forks each notebook's kernel from it (its own process, as before), saving 2-3
CPU seconds per notebook; INSIGHT_WARM_KERNELS=0 starts plain ipykernels instead. Each notebook's
CPU seconds are recorded in the manifest next to its wall time (`cpu`, `duration`).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from insight import safety
from insight.catalog import NotebookInfo, discover
from insight.findings import read_findings_file
from insight.paths import PACKAGE_DIR, Project
from insight.sections import skipped as skipped_sections

MANIFEST = "manifest.json"
KERNEL_ENV = {"MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}

PACKAGES = ["python", "insight", "pandas", "numpy", "scipy", "statsmodels", "pingouin", "scikit-learn",
            "matplotlib", "seaborn", "pandera", "papermill", "nbconvert", "jupyterlab"]


def kernel_env(workers: int) -> dict[str, str]:
    """The environment of the kernels when `workers` notebooks run at once: KERNEL_ENV and each kernel's
    share of the cores for the BLAS libraries' thread pools and the study engine's DuckDB
    (safety.thread_limits)."""
    return {**KERNEL_ENV, **safety.thread_limits(workers)}


# --- hashing -------------------------------------------------------------------------------------

def _hash_files(paths, h=None):
    h = h or hashlib.blake2b(digest_size=16)
    for p in paths:
        h.update(str(p.name).encode())
        h.update(p.read_bytes())
    return h


def _package_files() -> list[Path]:
    return sorted(PACKAGE_DIR.rglob("*.py")) + sorted(PACKAGE_DIR.rglob("*.yaml"))


def package_hash() -> str:
    """The lib/insight source (what a notebook's results depend on, besides its inputs)."""
    return _hash_files(_package_files()).hexdigest()


def source_hash(project: Project) -> str:
    """The lib/insight source and the report template: a change to either reruns everything."""
    files = _package_files() + sorted(p for p in (project.templates_dir / "report").rglob("*") if p.is_file())
    return _hash_files(files).hexdigest()


def input_hash(*parts: str | bytes) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode())
        h.update(b"\x00")
    return h.hexdigest()


# --- context shared by the run ---------------------------------------------------------------------

def git_commit(project: Project) -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=project.root, capture_output=True,
                             text=True, timeout=5).stdout.strip()
        if not sha:
            return "not a git checkout"
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "lib", "notebooks", "templates", "params"],
                               cwd=project.root, capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    from importlib import metadata
    out = {"python": sys.version.split()[0]}
    for name in PACKAGES[1:]:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def _now() -> str:
    return dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _atomic_write(path: Path, text: str) -> None:
    safety.atomic_write(path, text)


# --- one notebook, in a worker process --------------------------------------------------------------

def execute_job(job: dict) -> dict:
    """Run one notebook with papermill, then render it, with the kernel's own chatter (stderr) sent to
    .cache/runs/<study>/<name>.log instead of the study owner's terminal. The environment the job sets
    for its kernel is undone afterwards: a run of one notebook at a time executes jobs in the runner
    itself, and a later stage's kernels must not take one job's thread shares for the user's settings."""
    work = Path(job["work_dir"])
    work.mkdir(parents=True, exist_ok=True)
    saved, environ = os.dup(2), dict(os.environ)
    with open(work / f"{job['name']}.log", "w", encoding="utf-8") as log:
        os.dup2(log.fileno(), 2)
        try:
            return _execute_job(job, work)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.environ.clear()
            os.environ.update(environ)


def _execute_job(job: dict, work: Path) -> dict:
    out_nb = work / f"{job['name']}.ipynb"
    out_html = work / f"{job['name']}.html"
    findings = work / f"{job['name']}.findings.json"
    for p in (out_nb, out_html, findings):
        p.unlink(missing_ok=True)
    kernel_cpu = work / f"{job['name']}.kernel-cpu"
    kernel_exit = work / f"{job['name']}.kernel-exit"
    kernel_cpu.unlink(missing_ok=True)
    kernel_exit.unlink(missing_ok=True)
    os.environ.update({"INSIGHT_ROOT": job["root"], "INSIGHT_NOTEBOOK": job["name"],
                       "INSIGHT_FINDINGS": str(findings), "INSIGHT_KERNEL_CPU_FILE": str(kernel_cpu),
                       "INSIGHT_KERNEL_EXIT_FILE": str(kernel_exit), **job.get("env", KERNEL_ENV)})
    started = _now()
    t0 = time.perf_counter()
    cpu0 = _cpu_seconds()
    result = {"name": job["name"], "status": "ok", "error": None, "started": started}
    try:
        from insight.render import skip_iri_grammars
        skip_iri_grammars()
        import papermill as pm
        from insight import forkkernel
        # warm when the fork server runs; either way the manager records how a dying kernel exited
        warm = {"kernel_manager_class": forkkernel.kernel_manager_class()}
        source = job["path"]
        if job.get("sections_skipped"):   # sections the study's tables cannot feed: left out, a note in place
            from insight.sections import prune
            source = str(work / f"{job['name']}.source.ipynb")
            nb = json.loads(Path(job["path"]).read_text(encoding="utf-8"))
            Path(source).write_text(json.dumps(prune(nb, job["sections_skipped"]), ensure_ascii=False), encoding="utf-8")
        pm.execute_notebook(source, str(out_nb), parameters={"study": job["study"]}, kernel_name="python3",
                            cwd=str(Path(job["path"]).parent), progress_bar=False, log_output=False,
                            request_save_on_cell_execute=False, execution_timeout=job.get("cell_timeout"), **warm)
    except Exception as exc:  # noqa: BLE001 - any failure of the notebook is reported, not raised
        result["status"] = "failed"
        result["error"] = safety.explain_failure(exc, out_nb, kernel_exit)[:2000]
        result["error_cell"] = getattr(exc, "exec_count", None)
    result["duration"] = round(time.perf_counter() - t0, 2)
    result["findings"] = read_findings_file(findings) if result["status"] == "ok" else []
    meta = dict(job["meta"])
    meta.update(started=started, duration=f"{result['duration']:.1f} s", status=result["status"],
                findings=[f for f in result["findings"] if f.get("severity") in ("key", "warning")][:8]
                or result["findings"][:6])
    if out_nb.exists():
        try:
            from insight.render import render_notebook
            render_notebook(out_nb, out_html, Project(Path(job["root"])), meta)
            result["html"] = str(out_html)
        except Exception:  # noqa: BLE001
            result["status"] = "failed"
            result["error"] = (result["error"] or "") + "\nrendering failed: " + traceback.format_exc(limit=3)
    # CPU seconds of this notebook (its kernel, plus papermill and rendering in this worker): unlike
    # wall time it does not grow when other work shares the machine's cores
    result["cpu"] = _cpu_seconds() - cpu0
    try:  # a warm kernel is the fork server's child, not ours: its launcher reports its CPU time
        result["cpu"] += float(kernel_cpu.read_text())
    except (OSError, ValueError):
        pass
    result["cpu"] = round(result["cpu"], 2)
    return result


class _PreparationCrashed(RuntimeError):
    pass


# How much lower the preparation's processes run while the warm kernels' fork server imports the analysis
# packages beside them (a full run). The first notebooks need both; the server's imports (4-5 CPU s, one
# process) were the longer of the two at 1M order lines: shared evenly with the preparation's three
# processes it was ready 1.3-2.9 s after the data. The total work is the same, so the preparation of a
# large study, which outlasts the imports by far, ends when it did.
PREPARATION_NICE = 5


def _preparation_child(nice: int) -> None:
    safety.die_with_parent()
    if nice:
        try:
            os.nice(nice)   # inherited by the preparation's workers
        except OSError:
            pass


def _prepare_apart(params, project: Project, force: bool, warm_up: bool = False, workers: int | None = None):
    """prepare_study_data in a forked child process that exits when it is done: the tables it held
    (gigabytes at millions of order lines; pandas and Arrow keep freed memory for reuse) go back to the
    machine before the notebooks run, instead of staying in the runner and in every worker it forks.
    What returns is the small Prepared record; a DataError is re-raised here with its problems."""
    import multiprocessing
    from concurrent.futures.process import BrokenProcessPool

    from insight.data.prepare import prepare_study_data

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"),
                             initializer=_preparation_child, initargs=(PREPARATION_NICE if warm_up else 0,)) as pool:
        try:
            future = pool.submit(prepare_study_data, params, project, force=force, verify=True, workers=workers)
            if warm_up:   # while the child prepares: the notebook workers forked later inherit it
                from insight import render
                render.warm_up(project)
            return future.result()
        except BrokenProcessPool:
            raise _PreparationCrashed("data preparation stopped abruptly (killed, or out of memory: the study's tables "
                               "did not fit). Fix: free memory or run on a larger machine; the last good "
                               "reports are kept") from None


def _cpu_seconds() -> float:
    """User + system CPU of this process and of its finished (reaped) children."""
    import resource
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


# --- the run -------------------------------------------------------------------------------------

@dataclass
class RunOptions:
    jobs: int | None = None
    force: bool = False
    only: list[str] = field(default_factory=list)
    quiet: bool = False


class Progress:
    def __init__(self, total: int, quiet: bool = False):
        self.total, self.n, self.quiet = total, 0, quiet

    def line(self, tag: str, name: str, detail: str = "", count: bool = True) -> None:
        if count:
            self.n += 1
        if self.quiet:
            return
        pos = f"[{self.n:>2}/{self.total}]" if count else "       "
        print(f"{pos} {tag:<8} {name}{('  ' + detail) if detail else ''}", flush=True)


def run_report(study: str, options: RunOptions | None = None, project: Project | None = None) -> int:
    """Render a study. Returns the exit code: 0 all good, 1 a notebook failed (or an output could not
    be written), 2 invalid input or an unwritable reports folder, 3 another run of the study is running."""
    with contextlib.ExitStack() as guard:         # the study lock (insight.safety), held to the end
        with contextlib.ExitStack() as servers:   # the warm-kernel fork server, when one is started
            servers.guard = guard
            return _run_report(study, options or RunOptions(), project or Project.find(), servers)


def _take_study(servers: contextlib.ExitStack, project: Project, study: str) -> int:
    """Take the study's lock, remove what killed runs left behind, check the reports folder can be
    written. 0, or the exit code with the reason printed."""
    try:
        servers.guard.enter_context(safety.StudyLock(project, study))
    except safety.Busy as exc:
        print(f"ERROR {exc}", file=sys.stderr)
        return 3
    except OSError as exc:
        print("ERROR " + safety.explain_os_error(exc, safety.lock_path(project, study), "creating the lock file"),
              file=sys.stderr)
        return 2
    safety.clean_stale(project, study)
    try:
        safety.check_writable(project.report_dir(study))
        safety.check_writable(project.cache_dir / "runs" / study)
    except safety.PublishError as exc:
        print(f"ERROR {exc.strerror}; nothing was run", file=sys.stderr)
        return 2
    return 0


def _read_manifest(path: Path) -> dict:
    """The last run's manifest; a damaged one (a disk error, a hand edit) counts as none: every
    notebook then reruns, which is slow but never wrong."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        print(f"WARNING {path} is unreadable ({exc}); every notebook is rerun", file=sys.stderr)
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("notebooks", {}), dict):
        print(f"WARNING {path} is not a run manifest; every notebook is rerun", file=sys.stderr)
        return {}
    data["notebooks"] = {k: v for k, v in data.get("notebooks", {}).items() if isinstance(v, dict)}
    return data


def _start_warm_kernels(servers: contextlib.ExitStack, work_dir: Path, jobs: int) -> None:
    """Start the fork server of warm kernels (insight.forkkernel) once per run, for `jobs` notebooks at
    once (numpy and scipy load in the server: their BLAS thread pools are sized there);
    INSIGHT_WARM_KERNELS=0 turns it off (every notebook then starts a plain ipykernel)."""
    if getattr(servers, "warm_kernels", False) or os.environ.get("INSIGHT_WARM_KERNELS", "1") == "0":
        return
    from insight.forkkernel import Server
    work_dir.mkdir(parents=True, exist_ok=True)
    servers.enter_context(Server(work_dir, env=kernel_env(jobs)))
    servers.warm_kernels = True


def _run_report(study: str, options: RunOptions, project: Project, servers: contextlib.ExitStack) -> int:
    from insight.params import ParamsError, load_params

    t_start = time.perf_counter()
    try:
        params = load_params(study, project)
    except ParamsError as exc:
        print(exc.report(), file=sys.stderr)
        return 2
    try:
        notebooks = discover(project)
    except Exception as exc:  # noqa: BLE001
        print(f"ERROR {exc}", file=sys.stderr)
        return 2
    unknown = [o for o in options.only if o not in {n.name for n in notebooks} | {n.rel for n in notebooks}]
    if unknown:
        print(f"ERROR ONLY={','.join(unknown)}: no such notebook; notebooks are: "
              + ", ".join(n.name for n in notebooks), file=sys.stderr)
        return 2
    if (code := _take_study(servers, project, study)):
        return code
    full = options.force or not (project.report_dir(study) / MANIFEST).exists()
    jobs = options.jobs or safety.cores()
    if full:
        # a full run is coming: the server imports the analysis packages while the data are prepared
        _start_warm_kernels(servers, project.cache_dir / "runs" / study, jobs)
    from insight.data.prepare import DataError
    try:
        prepared = _prepare_apart(params, project, options.force, warm_up=full, workers=options.jobs)
    except DataError as exc:
        print(exc.report() if hasattr(exc, "report") else str(exc), file=sys.stderr)
        return 2
    except _PreparationCrashed as exc:
        print(f"ERROR {exc}", file=sys.stderr)
        return 2
    from insight.data.engine import EngineError, preflight
    try:
        checked = preflight(prepared, params.data.engine)
    except EngineError as exc:
        print(f"ERROR {exc}\nNothing was run; the last good reports are kept.", file=sys.stderr)
        return 2
    if checked and not options.quiet:
        print(checked, flush=True)

    report_dir = project.report_dir(study)
    work_dir = project.cache_dir / "runs" / study
    manifest_path = report_dir / MANIFEST
    old = _read_manifest(manifest_path)
    old_nbs = old.get("notebooks", {})
    params_file = project.params_file(study)
    params_bytes = params_file.read_bytes()
    data_fp = prepared.fingerprint   # = data_fingerprint(params, project), without checking the sources again
    src_hash = source_hash(project)
    commit = git_commit(project)
    packages = package_versions()
    base_meta = {
        "study": study, "study_title": params.study.title, "params_file": str(params_file.relative_to(project.root)),
        "period": f"{params.study.period.start} to {params.study.period.end}", "commit": commit,
        "packages": packages, "fingerprints": dict(prepared.fingerprints), "params_text": params_bytes.decode("utf-8"),
        "rendered": dt.date.today().isoformat(),
    }

    selected = set(options.only)
    history = read_durations(project)
    ran_now: set[str] = set()
    entries: dict[str, dict] = {}
    plan: dict[int, list[NotebookInfo]] = {}
    progress = Progress(len(notebooks), options.quiet)
    allowed = params.report.notebooks
    for nb in notebooks:
        prev = old_nbs.get(nb.name, {})
        entry = {"rel": nb.rel, "title": nb.title, "summary": nb.summary, "stage": nb.stage, "order": nb.order,
                 "html": prev.get("html"), "last_good": prev.get("last_good")}
        missing = [t for t in nb.requires if t not in prepared.tables]
        reason = None
        if allowed is not None and nb.name not in allowed:
            reason = "not in this study's report.notebooks list"
        elif nb.name in params.report.exclude_notebooks:
            reason = "excluded by this study's report.exclude_notebooks"
        elif missing:
            reason = "no " + " / ".join(t.replace("_", " ") for t in missing) + " data in this study"
        if reason:
            entry.update(status="not applicable", reason=reason, html=None,
                         missing_tables=missing if reason.startswith("no ") else [])   # for the index's data gains
            entries[nb.name] = entry
            progress.line("skip", nb.rel, reason)
            continue
        if selected and nb.name not in selected and nb.rel not in selected:
            entries[nb.name] = {**prev, **{k: entry[k] for k in ("rel", "title", "summary", "stage", "order")}} \
                if prev else {**entry, "status": "not run", "reason": "not selected by ONLY="}
            progress.line("skip", nb.rel, "not selected (ONLY=)")
            continue
        entry["sections_skipped"] = skipped_sections(nb, prepared.tables)
        entries[nb.name] = entry
        plan.setdefault(nb.stage, []).append(nb)

    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "findings").mkdir(exist_ok=True)
    failed = 0
    for stage in sorted(plan):
        upstream = b""
        if stage > 1:  # later stages read the findings of earlier ones
            collect_findings(report_dir, entries, before_stage=stage)
            upstream = (report_dir / "findings.json").read_bytes()
            prev_name = params.study.previous_study
            if prev_name:
                prev_findings = project.report_dir(prev_name) / "findings.json"
                upstream += project.params_file(prev_name).read_bytes()
                upstream += prev_findings.read_bytes() if prev_findings.exists() else b""
        todo = []
        for nb in plan[stage]:
            h = input_hash(nb.path.read_bytes(), params_bytes, data_fp, src_hash, upstream)
            prev = old_nbs.get(nb.name, {})
            entry = entries[nb.name]
            entry["input_hash"] = h
            html_ok = prev.get("html") and (report_dir / prev["html"]).exists()
            if not options.force and prev.get("status") in ("ok", "unchanged") and prev.get("input_hash") == h and html_ok:
                entry.update(status="unchanged", duration=prev.get("duration"), started=prev.get("started"),
                             outputs=prev.get("outputs", []), html=prev["html"])
                progress.line("skip", nb.rel, "unchanged since the last run")
                continue
            meta = {**base_meta, "title": nb.title, "summary": nb.summary, "notebook": "notebooks/" + nb.rel,
                    "input_hash": h}
            todo.append({"name": nb.name, "path": str(nb.path), "study": study, "root": str(project.root),
                         "work_dir": str(work_dir), "meta": meta, "cell_timeout": params.report.cell_timeout,
                         "sections_skipped": entry["sections_skipped"]})
        ran_now |= {j["name"] for j in todo}
        # longest first, so that no long notebook starts last while the other workers go idle
        infos = {nb.name: nb for nb in plan[stage]}
        todo.sort(key=lambda j: -expected_seconds(infos[j["name"]], old_nbs.get(j["name"], {}), history, prepared.rows))
        if len(todo) >= 2:   # one notebook alone starts as fast in a plain kernel
            _start_warm_kernels(servers, work_dir, jobs)
        failed += _run_jobs(todo, jobs, entries, report_dir, progress)
    servers.close()
    write_durations(project, {n: entries[n].get("duration") for n in ran_now if entries[n].get("status") == "ok"})
    manifest = {"study": study, "title": params.study.title, "updated": _now(), "commit": commit,
                "data_fingerprint": data_fp, "fingerprints": dict(prepared.fingerprints),
                "warnings": [_problem_dict(w) for w in prepared.warnings], "notebooks": entries}
    from insight.index_page import write_index
    try:
        collect_findings(report_dir, entries)
        _atomic_write(manifest_path, json.dumps(manifest, indent=1, ensure_ascii=False))
        write_index(project, study, params, manifest)
    except safety.PublishError as exc:
        print(f"ERROR {exc.strerror}", file=sys.stderr)
        return 1
    total = time.perf_counter() - t_start
    if not options.quiet:
        ok = sum(1 for n in ran_now if entries[n].get("status") == "ok")
        unchanged = sum(1 for e in entries.values() if e.get("status") == "unchanged")
        print(f"{study}: {ok} rendered, {unchanged} unchanged, {failed} failed in {total:.1f} s -> "
              f"{(report_dir / 'index.html').relative_to(project.root)}", flush=True)
    return 1 if failed else 0


DURATIONS = "durations.json"   # in .cache/runs/: each notebook's last good run time, whichever study ran it


def read_durations(project: Project) -> dict[str, float]:
    try:
        data = json.loads((project.cache_dir / "runs" / DURATIONS).read_text(encoding="utf-8"))
        return {str(k): float(v) for k, v in data.items() if isinstance(v, (int, float))}
    except (OSError, ValueError, AttributeError):
        return {}


def write_durations(project: Project, durations: dict) -> None:
    """Remember the run times of the notebooks that ran (best effort: only the order of later runs uses it)."""
    known = read_durations(project)
    known.update({k: float(v) for k, v in durations.items() if isinstance(v, (int, float))})
    try:
        _atomic_write(project.cache_dir / "runs" / DURATIONS, json.dumps(known, indent=1, sort_keys=True))
    except (OSError, safety.PublishError):
        pass


def expected_seconds(nb: NotebookInfo, last: dict, history: dict[str, float], rows: dict[str, int]) -> float:
    """How long a notebook is expected to run, to start the longest first: its last run in this study,
    else its last run in any study of the project (.cache/runs/durations.json: a new study, or a cold
    run after the reports were removed), else a guess: the notebook's typical seconds on the demo study
    at scale 1 (metadata insight.seconds; 0.5 without it), which is most of a notebook's time on a small
    study (figures, tables, tests; the qualitative and sample notebooks are among the longest while
    reading few rows), plus a second and a half per million rows of the tables it reads (the order of
    magnitude of the demo's notebooks at millions of order lines)."""
    for known in (last.get("duration"), history.get(nb.name)):
        if isinstance(known, (int, float)) and known > 0:
            return float(known)
    needs = list(nb.requires) + [n for sec in nb.sections for n in sec.needs]
    read = {alt.strip() for n in needs for alt in n.split("|") if alt.strip() in rows}
    return (nb.seconds or 0.5) + 1.5 * sum(rows[t] for t in read) / 1e6


def _problem_dict(p) -> dict:
    return {k: getattr(p, k, None) for k in ("file", "key", "message", "fix", "line", "severity")}


def _run_jobs(todo: list[dict], jobs: int, entries: dict, report_dir: Path, progress: Progress) -> int:
    if not todo:
        return 0
    failed = 0
    for job in todo:
        progress.line("run", entries[job["name"]]["rel"], count=False)
    workers = max(1, min(jobs, len(todo)))
    for job in todo:
        job["env"] = kernel_env(workers)
    if workers == 1:
        results = (execute_job(j) for j in todo)
        for res in results:
            failed += _publish(res, entries, report_dir, progress)
        return failed
    with ProcessPoolExecutor(max_workers=workers, initializer=safety.die_with_parent) as pool:
        pending = {pool.submit(execute_job, j): j for j in todo}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                job = pending.pop(fut)
                try:
                    res = fut.result()
                except Exception as exc:  # noqa: BLE001 - a crashed worker fails that notebook only
                    res = {"name": job["name"], "status": "failed", "error": f"worker crashed: {exc}",
                           "duration": 0, "findings": [], "started": _now()}
                failed += _publish(res, entries, report_dir, progress)
    return failed


def _publish(res: dict, entries: dict, report_dir: Path, progress: Progress) -> int:
    name = res["name"]
    entry = entries[name]
    entry.update(duration=res.get("duration"), started=res.get("started"), cpu=res.get("cpu"))
    html_src = Path(res["html"]) if res.get("html") else None
    if res["status"] == "ok" and html_src and html_src.exists():
        target = report_dir / f"{name}.html"
        try:
            safety.publish_file(html_src, target)
            _atomic_write(report_dir / "findings" / f"{name}.json",
                          json.dumps(res.get("findings", []), indent=1, ensure_ascii=False))
        except safety.PublishError as exc:   # e.g. the disk is full: the last good report stays
            res = {**res, "status": "failed", "error": f"publishing failed: {exc.strerror}"}
            html_src = None
    if res["status"] == "ok" and html_src:
        target = report_dir / f"{name}.html"
        entry.update(status="ok", html=target.name, outputs=[target.name], error=None, error_link=None,
                     last_good={"input_hash": entry.get("input_hash"), "rendered": res.get("started")})
        progress.line("done", entry["rel"], f"{res['duration']:.1f} s")
        return 0
    entry.update(status="failed", error=res.get("error"), input_hash=None)
    if html_src and html_src.exists():
        try:
            safety.publish_file(html_src, report_dir / "failed" / f"{name}.html")
            entry["error_link"] = f"failed/{name}.html#papermill-error-cell"
        except (safety.PublishError, OSError):
            entry["error_link"] = None
    else:
        entry["error_link"] = None
    # the last good report stays where it was; entry["html"] still points at it when it exists
    if entry.get("html") and not (report_dir / entry["html"]).exists():
        entry["html"] = None
    progress.line("FAILED", entry["rel"], f"{res.get('duration', 0):.1f} s  {(res.get('error') or '').splitlines()[0][:160]}")
    return 1


def collect_findings(report_dir: Path, entries: dict, before_stage: int | None = None) -> list[dict]:
    """Gather the per-notebook findings of every notebook that has a good report into findings.json
    (only those of stages before `before_stage` when given: what a later stage reads)."""
    out = []
    for name, entry in sorted(entries.items(), key=lambda kv: (kv[1].get("stage", 1), kv[1].get("order", 100), kv[0])):
        if entry.get("status") in ("not applicable",):
            continue
        if before_stage is not None and entry.get("stage", 1) >= before_stage:
            continue
        path = report_dir / "findings" / f"{name}.json"
        if path.exists() and entry.get("html"):
            for f in read_findings_file(path):
                f.setdefault("notebook", name)
                out.append(f)
    _atomic_write(report_dir / "findings.json", json.dumps(out, indent=1, ensure_ascii=False))
    return out

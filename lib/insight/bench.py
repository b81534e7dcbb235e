"""`make bench [SCALE=25]`: the full report on a large demo company, cold then warm, against the plain
alternative (papermill then nbconvert, one notebook after the other), and the 10x scaling check.

Prints one JSON line per run: per-notebook wall time, total wall time, peak memory of the largest
single process (sampled), size of each HTML file. Not a test: it reports figures.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from insight.paths import Project

DEFAULT_SCALE = 25.0  # about 1,000,000 order lines


class PeakMemory:
    """Samples this process and all its descendants; keeps the largest RSS of any one process."""

    def __init__(self, interval: float = 0.2):
        self.interval, self.peak, self.peak_name = interval, 0, ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        me = psutil.Process()
        while not self._stop.is_set():
            for p in [me, *me.children(recursive=True)]:
                try:
                    rss = p.memory_info().rss
                    if rss > self.peak:
                        self.peak, self.peak_name = rss, " ".join(p.cmdline()[:3])[:120]
                except psutil.Error:
                    pass
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def bench_project(scale: float, root: Path) -> Project:
    """A project tree under .cache/bench/ whose demo studies run at `scale`."""
    src = Project.find()
    if root.exists():
        shutil.rmtree(root)
    (root / "params").mkdir(parents=True)
    for p in src.params_dir.glob("*.yaml"):
        text = re.sub(r"demo: \{scale: [0-9.]+", f"demo: {{scale: {scale}", p.read_text(encoding="utf-8"))
        (root / "params" / p.name).write_text(text, encoding="utf-8")
    for name in ("notebooks", "templates"):
        (root / name).symlink_to(src.root / name, target_is_directory=True)
    return Project(root)


def _children_cpu() -> float:
    """CPU seconds (user + system) of every finished descendant: the machine is shared, so CPU time
    says what a run costs when wall time is inflated by other work (see load_average_1min)."""
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _env(project: Project) -> dict:
    return {**os.environ, "INSIGHT_ROOT": str(project.root)}


def run_report_timed(project: Project, study: str, label: str, force: bool, jobs: int | None) -> dict:
    cmd = [sys.executable, "-m", "insight", "report", study, "--quiet"] + (["--force"] if force else []) \
        + (["--jobs", str(jobs)] if jobs else [])
    t0 = time.perf_counter()
    cpu0 = _children_cpu()
    with PeakMemory() as mem:
        res = subprocess.run(cmd, cwd=project.root, env=_env(project), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - cpu0
    manifest = json.loads((project.report_dir(study) / "manifest.json").read_text())
    nbs = {k: {"status": v.get("status"), "seconds": v.get("duration"), "cpu_seconds": v.get("cpu")}
           for k, v in manifest["notebooks"].items()}
    sizes = {p.name: p.stat().st_size for p in sorted(project.report_dir(study).glob("*.html"))}
    return {"run": label, "study": study, "exit": res.returncode, "total_seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 1), "load_average_1min": round(os.getloadavg()[0], 2),
            "peak_memory_mb": round(mem.peak / 2**20, 1), "peak_process": mem.peak_name,
            "notebooks": nbs, "html_bytes": sizes, "largest_html_mb": round(max(sizes.values(), default=0) / 2**20, 2),
            "stderr_tail": res.stderr[-600:] if res.returncode else ""}


def run_plain(project: Project, study: str) -> dict:
    """What an analyst would script: papermill then nbconvert, one notebook after the other."""
    out = project.root / "plain"
    out.mkdir(exist_ok=True)
    bindir = Path(sys.executable).parent
    times = {}
    t0 = time.perf_counter()
    nbs = sorted(p for p in project.notebooks_dir.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    with PeakMemory() as mem:
        for nb in nbs:
            t = time.perf_counter()
            executed = out / nb.name
            subprocess.run([str(bindir / "papermill"), str(nb), str(executed), "-p", "study", study, "--cwd", str(nb.parent)],
                           env=_env(project), capture_output=True, text=True)
            if executed.exists():
                subprocess.run([str(bindir / "jupyter"), "nbconvert", "--to", "html", str(executed)],
                               env=_env(project), capture_output=True, text=True)
            times[nb.stem] = round(time.perf_counter() - t, 2)
    return {"run": "plain papermill + nbconvert, sequential", "study": study, "total_seconds": round(time.perf_counter() - t0, 2),
            "peak_memory_mb": round(mem.peak / 2**20, 1), "notebooks": times}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=float, default=DEFAULT_SCALE)
    ap.add_argument("--study", default="2024-annual")
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--skip-plain", action="store_true")
    ap.add_argument("--skip-scaling", action="store_true")
    args = ap.parse_args(argv)
    base = Project.find().cache_dir / "bench"
    results = []

    def emit(d):
        results.append(d)
        print(json.dumps(d), flush=True)

    project = bench_project(args.scale, base / f"scale-{args.scale:g}")
    prev = "2023-annual" if args.study == "2024-annual" else None
    if prev:  # the synthesis compares with the previous study; render it first (not timed)
        subprocess.run([sys.executable, "-m", "insight", "report", prev, "--quiet"], cwd=project.root,
                       env=_env(project), capture_output=True)
    # cold: fresh reports and prepared-data cache of the study (the demo data itself is generated here too)
    shutil.rmtree(project.report_dir(args.study), ignore_errors=True)
    shutil.rmtree(project.study_cache(args.study), ignore_errors=True)
    cold = run_report_timed(project, args.study, f"cold (scale {args.scale:g})", True, args.jobs)
    emit(cold)
    emit(run_report_timed(project, args.study, f"warm (scale {args.scale:g})", False, args.jobs))
    if not args.skip_plain:
        plain = run_plain(project, args.study)
        plain["ratio_plain_over_workbook_cold"] = round(plain["total_seconds"] / max(cold["total_seconds"], 1e-9), 2)
        emit(plain)
    if not args.skip_scaling:
        small = bench_project(args.scale / 10, base / f"scale-{args.scale / 10:g}")
        if prev:
            subprocess.run([sys.executable, "-m", "insight", "report", prev, "--quiet"], cwd=small.root,
                           env=_env(small), capture_output=True)
        shutil.rmtree(small.study_cache(args.study), ignore_errors=True)
        s = run_report_timed(small, args.study, f"cold (scale {args.scale / 10:g})", True, args.jobs)
        emit(s)
        emit({"run": "scaling", "data_ratio": 10, "time_ratio": round(cold["total_seconds"] / max(s["total_seconds"], 1e-9), 2),
              "target": "time ratio <= 10"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

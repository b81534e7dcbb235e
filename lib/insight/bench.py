"""`make bench [SCALE=25]`: the full report on a large demo company at SCALE and at 10x SCALE, side by
side in one run (scale 25 is about 1,000,000 order lines, 250 about 10,000,000): demo generation
(cached, reported separately), cold run, warm run, data preparation alone, peak memory of the whole
process tree (the sum over every process, sampled), HTML sizes; optionally the plain alternative
(papermill then nbconvert, one notebook after the other).

Prints one JSON line per measurement, then a side-by-side summary with the targets. Not a test: it
reports figures. The machine may be shared: each line carries the load average and CPU seconds, and
`--repeat N` runs the cold run and the preparation N times at each scale (the cold runs alternating
between the scales) and summarises their medians.
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
    """Samples this process and all its descendants. `peak` is the highest sum of the resident set
    sizes over the whole process tree at one sample (what the machine must hold); `peak_pss` the same
    with proportional set sizes (pages shared between forked kernels counted once); `peak_single`
    the largest single process.

    The resident sizes are read every `interval` (/proc/<pid>/statm: microseconds). The proportional
    sizes need the kernel to walk every page of every process (/proc/<pid>/smaps_rollup: 14 ms of CPU
    for a 2 GB process, so 30-40 ms per sample of a 10M run, 6-8 % of a core at four samples a second,
    taken from the run being measured); they are read when the resident sum reaches a new peak (at
    most every `pss_gap` seconds) and at least every `pss_every` seconds."""

    def __init__(self, interval: float = 0.25, pss_gap: float = 1.0, pss_every: float = 5.0):
        self.interval, self.pss_gap, self.pss_every = interval, pss_gap, pss_every
        self.peak, self.peak_pss, self.peak_single, self.peak_name = 0, 0, 0, ""
        self.samples = self.pss_samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        me = psutil.Process()
        last_pss = float("-inf")
        while not self._stop.is_set():
            procs, total = [], 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    rss = p.memory_info().rss
                except psutil.Error:
                    continue
                procs.append(p)
                total += rss
                if rss > self.peak_single:
                    try:
                        self.peak_single, self.peak_name = rss, " ".join(p.cmdline()[:3])[:120]
                    except psutil.Error:
                        pass
            now = time.monotonic()
            if (total > self.peak and now - last_pss >= self.pss_gap) or now - last_pss >= self.pss_every:
                pss = 0
                for p in procs:
                    try:
                        info = p.memory_full_info()
                        pss += getattr(info, "pss", info.rss)
                    except psutil.Error:
                        pass
                self.peak_pss, last_pss = max(self.peak_pss, pss), now
                self.pss_samples += 1
            self.peak = max(self.peak, total)
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def figures(self) -> dict:
        return {"peak_total_memory_mb": round(self.peak / 2**20, 1), "peak_total_pss_mb": round(self.peak_pss / 2**20, 1),
                "peak_single_process_mb": round(self.peak_single / 2**20, 1), "peak_process": self.peak_name}


def bench_project(scale: float, root: Path) -> Project:
    """A project tree under .cache/bench/ whose demo studies run at `scale`. Its generated demo company
    (.cache/demo) is kept between runs; everything else is laid anew."""
    src = Project.find()
    if root.exists():
        for p in root.iterdir():
            if p.name == ".cache":
                for q in p.iterdir():
                    if q.name != "demo":
                        shutil.rmtree(q, ignore_errors=True) if q.is_dir() else q.unlink()
            elif p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
    (root / "params").mkdir(parents=True)
    for p in src.params_dir.glob("*.yaml"):
        text = re.sub(r"demo: \{scale: [0-9.]+", f"demo: {{scale: {scale}", p.read_text(encoding="utf-8"))
        (root / "params" / p.name).write_text(text, encoding="utf-8")
    for name in ("notebooks", "templates"):
        (root / name).symlink_to(src.root / name, target_is_directory=True)
    return Project(root)


def _timed_python(project: Project, code: str, label: str, env: dict | None = None) -> dict:
    """Run `code` in a fresh interpreter of the project (it prints one JSON object); adds wall time,
    CPU time and peak memory of that process tree. `env`: extra environment variables."""
    t0, cpu0 = time.perf_counter(), _children_cpu()
    with PeakMemory() as mem:
        res = subprocess.run([sys.executable, "-c", code], cwd=project.root, env=_env(project, env), capture_output=True,
                             text=True)
    out = {"run": label, "exit": res.returncode, "total_seconds": round(time.perf_counter() - t0, 2),
           "cpu_seconds": round(_children_cpu() - cpu0, 1), "load_average_1min": round(os.getloadavg()[0], 2),
           **mem.figures()}
    try:
        out.update(json.loads([line for line in res.stdout.splitlines() if line.startswith("{")][-1]))
    except (ValueError, IndexError):
        out["stderr_tail"] = res.stderr[-600:]
    return out


GENERATE = """
import json, time
from insight.params import load_params
from insight.paths import Project
from insight.data import prepare
p = Project.find(); params = load_params({study!r}, p)
done = lambda: sorted(str(f) for f in (p.cache_dir / "demo").glob("*/tables.json"))
before = done()
t = time.perf_counter(); tables = prepare._demo_tables(params, p)
rows = tables.rows if isinstance(tables, prepare.DemoTables) else (lambda name: len(tables[name]))
print(json.dumps({{"seconds_in_process": round(time.perf_counter() - t, 2), "cached": bool(before) and before == done(),
                  "order_lines": rows("orders"), "rows": sum(rows(name) for name in tables)}}))
"""

PREPARE = """
import json, time
from insight.params import load_params
from insight.paths import Project
from insight.data import prepare
p = Project.find(); params = load_params({study!r}, p)
prepare._demo_tables(params, p)                      # the demo company is generated (and cached) before the timer
t = time.perf_counter(); prepared = prepare.prepare_study_data(params, p, force=True)
print(json.dumps({{"seconds_in_process": round(time.perf_counter() - t, 2), "order_lines": prepared.rows.get("orders"),
                  "parquet_mb": round(sum(f.stat().st_size for f in prepared.tables.values()) / 2**20, 1)}}))
"""


def _children_cpu() -> float:
    """CPU seconds (user + system) of every finished descendant: the machine is shared, so CPU time
    says what a run costs when wall time is inflated by other work (see load_average_1min)."""
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _env(project: Project, extra: dict | None = None) -> dict:
    return {**os.environ, "INSIGHT_ROOT": str(project.root), **(extra or {})}


def run_report_timed(project: Project, study: str, label: str, force: bool, jobs: int | None,
                     env: dict | None = None) -> dict:
    cmd = [sys.executable, "-m", "insight", "report", study, "--quiet"] + (["--force"] if force else []) \
        + (["--jobs", str(jobs)] if jobs else [])
    t0 = time.perf_counter()
    cpu0 = _children_cpu()
    with PeakMemory() as mem:
        res = subprocess.run(cmd, cwd=project.root, env=_env(project, env), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if not (project.report_dir(study) / "manifest.json").exists():
        return {"run": label, "study": study, "exit": res.returncode, "stderr_tail": res.stderr[-600:]}
    cpu = _children_cpu() - cpu0
    manifest = json.loads((project.report_dir(study) / "manifest.json").read_text())
    nbs = {k: {"status": v.get("status"), "seconds": v.get("duration"), "cpu_seconds": v.get("cpu")}
           for k, v in manifest["notebooks"].items()}
    sizes = {p.name: p.stat().st_size for p in sorted(project.report_dir(study).glob("*.html"))}
    return {"run": label, "study": study, "exit": res.returncode, "total_seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 1), "load_average_1min": round(os.getloadavg()[0], 2),
            **mem.figures(), "notebooks": nbs, "html_bytes": sizes, "largest_html_mb": round(max(sizes.values(), default=0) / 2**20, 2),
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
            **mem.figures(), "notebooks": times}


STAGES = """
import json, sys, time
import duckdb, pandas as pd
from insight.data import engine as E
src, copies, backends = {src!r}, {copies}, {backends!r}
out = {{}}
path = src
if copies > 1:   # order lines repeated with new customer and order ids: the same mix, copies x the rows
    path = src.replace(".parquet", f"-x{{copies}}.parquet")
    duckdb.sql(f"COPY (SELECT o.* REPLACE (o.customer_id || '-' || k AS customer_id, o.order_id || '-' || k AS order_id) "
               f"FROM read_parquet('{{src}}') o, range({{copies}}) t(k)) TO '{{path}}' (FORMAT parquet)")
for backend in backends:
    t = time.perf_counter()
    con = E.connect({{"backend": backend, "master": "local[2]"}} if backend == "pyspark" else None)
    orders = con.read_parquet(path, table_name="bench_orders")
    row = {{"connect_s": round(time.perf_counter() - t, 2)}}
    n = orders.count().to_pyarrow().as_py()
    for name, fn in [("customer_orders", lambda: E.customer_orders(orders, returns=True)),
                     ("cohort_counts", lambda: E.cohort_counts(orders, "Q")),
                     ("revenue_per_customer", lambda: E.revenue_per_customer(orders))]:
        t = time.perf_counter(); got = fn()
        frames = [v for v in (got.values() if isinstance(got, dict) else [got]) if hasattr(v, "memory_usage")]
        row[name] = {{"seconds": round(time.perf_counter() - t, 2), "rows_returned": sum(len(f) for f in frames),
                     "bytes_returned": int(sum(pd.DataFrame(f).memory_usage(deep=True).sum() for f in frames))}}
    out[backend] = dict(order_lines=n, **row)
print(json.dumps(out))
"""


def engine_stages(project: Project, study: str, copies: int, backends: tuple[str, ...]) -> dict:
    """The pushed-down aggregations alone on the prepared orders (and on `copies` x them): time, rows
    and bytes returned, per engine. The figures behind docs/scaling.md."""
    from insight.params import load_params
    from insight.data.prepare import prepare_study_data

    prepared = prepare_study_data(load_params(study, project), project)
    code = STAGES.format(src=str(prepared.tables["orders"]), copies=copies, backends=backends)
    return _timed_python(project, code, f"engine stages ({copies}x the prepared orders)")


# What each home-made speed-up is worth: the same cold run with it switched off. The rule: a home-made
# server (or a patch of another library) is kept only while a benchmark shows it pays.
ABLATIONS = {"warm kernels off (plain ipykernel per notebook)": {"INSIGHT_WARM_KERNELS": "0"},
             "jupyter_client's own handshake waits (0.2 s IOPub silence, 0.1 s exit polls)": {"INSIGHT_FAST_HANDSHAKE": "0"},
             "nbconvert's own HTMLExporter (its closing BeautifulSoup pass)": {"INSIGHT_STOCK_EXPORTER": "1"}}


def ablation(project: Project, study: str, jobs: int | None, emit, cold: dict) -> dict:
    """A cold run with each speed-up off, against the cold run with all on."""
    out = {}
    for name, env in ABLATIONS.items():
        shutil.rmtree(project.study_cache(study), ignore_errors=True)
        off = run_report_timed(project, study, f"cold, {name}", True, jobs, env)
        emit(off)
        out[name] = {"cold_s": off.get("total_seconds"), "cold_cpu_s": off.get("cpu_seconds"),
                     "cold_s_saved": _saved(off.get("total_seconds"), cold.get("total_seconds")),
                     "cold_cpu_s_saved": _saved(off.get("cpu_seconds"), cold.get("cpu_seconds"))}
    return out


def _saved(off, on):
    return round(off - on, 2) if isinstance(off, (int, float)) and isinstance(on, (int, float)) else None


TARGETS = "1M cold < 35 s, data preparation < 3 s; 10M cold < 180 s with peak total memory < 6 GiB; 10x data <= 3x time"


class ScaleBench:
    """The benchmark at one scale, in two parts so that the scales' cold runs can alternate: set up (the
    project, the demo company, the previous study's reports), then each cold run (`cold`), then the
    rest and the summary row (`finish`). With --repeat the cold runs go 1M, 10M, 1M, 10M, ...: the host
    drifts over minutes, and the ratio of the two scales should compare runs made under the same drift."""

    def __init__(self, scale: float, study: str, base: Path, emit):
        self.scale, self.study, self.emit = scale, study, emit
        self.project = bench_project(scale, base / f"scale-{scale:g}")
        self.gen = _timed_python(self.project, GENERATE.format(study=study),
                                 f"demo generation (scale {scale:g}, cached when unchanged)")
        emit(self.gen)
        prev = "2023-annual" if study == "2024-annual" else None
        if prev:  # the synthesis compares with the previous study; render it first (not timed)
            subprocess.run([sys.executable, "-m", "insight", "report", prev, "--quiet"], cwd=self.project.root,
                           env=_env(self.project), capture_output=True)
        self.colds: list[dict] = []

    def cold(self, jobs: int | None, i: int = 0, repeat: int = 1) -> None:
        """A cold run: fresh reports and prepared-data cache of the study (the demo company itself is cached)."""
        shutil.rmtree(self.project.report_dir(self.study), ignore_errors=True)
        shutil.rmtree(self.project.study_cache(self.study), ignore_errors=True)
        probe = host_probe()   # the host's speed just before the run, to read the run against
        self.colds.append({**run_report_timed(self.project, self.study, f"cold (scale {self.scale:g}){_nth(i, repeat)}",
                                              True, jobs), "host_probe_s": probe})
        self.emit(self.colds[-1])

    def finish(self, jobs: int | None, plain: bool = False, ablate: bool = False, repeat: int = 1) -> dict:
        project, study, scale, emit, colds = self.project, self.study, self.scale, self.emit, self.colds
        warm = run_report_timed(project, study, f"warm (scale {scale:g})", False, jobs)
        emit(warm)
        preps = []
        for i in range(repeat):
            preps.append(_timed_python(project, PREPARE.format(study=study),
                                       f"data preparation alone (scale {scale:g}){_nth(i, repeat)}"))
            emit(preps[-1])
        # the run of the median time stands for the scale where one run's details are reported (HTML, ablation)
        cold = sorted(colds, key=lambda r: r.get("total_seconds") or 0.0)[len(colds) // 2]
        if plain:
            p = run_plain(project, study)
            p["ratio_plain_over_workbook_cold"] = round(p["total_seconds"] / max(cold.get("total_seconds", 0), 1e-9), 2)
            emit(p)
        ablated = ablation(project, study, jobs, emit, cold) if ablate else None
        return {"scale": scale, "order_lines": preps[0].get("order_lines") or self.gen.get("order_lines"),
                "generation_s": self.gen.get("total_seconds"), "generation_cached": self.gen.get("cached"),
                **repeated(colds, preps), "warm_s": warm.get("total_seconds"),
                "largest_html_mb": cold.get("largest_html_mb"),
                "html_total_mb": round(sum((cold.get("html_bytes") or {}).values()) / 2**20, 2),
                "failed": sorted({k for c in colds for k, v in (c.get("notebooks") or {}).items()
                                  if v.get("status") == "failed"}),
                "load_average_1min": cold.get("load_average_1min"), **({"ablation": ablated} if ablated else {})}


def host_probe(rounds: int = 3) -> float:
    """The host's speed, as the seconds a fixed piece of pure Python takes on one core (the best of
    `rounds`, about 0.2 s each on this machine): the interpreter's work that most of a notebook's
    non-engine time is made of. The machine is shared and its speed moves by up to a quarter within an
    hour, for any code; the probe taken before each cold run says in what state of the host the run
    was made, so that runs of different states are not read as a change of the code. A proxy: it does
    not see the memory bandwidth or the second core."""
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        acc, seen = 0, {}
        for i in range(1_500_000):
            acc += i * i % 7
            seen[i & 1023] = acc
        best = min(best, time.perf_counter() - t)
    return round(best, 4)


def paired_ratios(small: list[dict], large: list[dict]) -> dict | None:
    """The 10x time ratio of each alternated pair of cold runs (run i at both scales, made minutes apart
    under about the same state of the host), and the same ratio with each run's time divided by the
    host probe taken before it (`host_probe`: a run made while the host was slower counts for less).
    Medians of both. None without at least one pair of timed runs."""
    import statistics

    pairs = [(a, b) for a, b in zip(small, large) if a.get("total_seconds") and b.get("total_seconds")]
    if not pairs:
        return None
    raw = [b["total_seconds"] / a["total_seconds"] for a, b in pairs]
    out = {"time_ratio_10x_pairs": [round(r, 2) for r in raw], "time_ratio_10x_pairs_median": round(statistics.median(raw), 2)}
    probed = [(a, b) for a, b in pairs if a.get("host_probe_s") and b.get("host_probe_s")]
    if probed:
        adjusted = [(b["total_seconds"] / b["host_probe_s"]) / (a["total_seconds"] / a["host_probe_s"]) for a, b in probed]
        probes = [r["host_probe_s"] for pair in probed for r in pair]
        out["time_ratio_10x_host_adjusted"] = round(statistics.median(adjusted), 2)
        out["host_probe_s_range"] = [min(probes), max(probes)]
    return out


def _nth(i: int, n: int) -> str:
    return f", {i + 1} of {n}" if n > 1 else ""


def repeated(colds: list[dict], preps: list[dict]) -> dict:
    """The figures of repeated cold runs and preparations of the same code (--repeat): the medians of
    their times and CPU seconds, the highest of their peak memories (the target is a ceiling), and
    every run's time. This machine is shared and its state moves a run by up to a quarter (within two
    hours the same code's 1M cold runs took 35.0 to 46.7 s and its 10M cold runs 107.8 to 135.6 s), so
    one run says little about a target near its figure; the median of a few says what the code does.
    With one run, that run's figures."""
    import statistics

    def median(runs, key):
        got = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
        return round(statistics.median(got), 2) if got else None

    def highest(key):
        got = [r[key] for r in colds if isinstance(r.get(key), (int, float))]
        return max(got) if got else None

    out = {"data_preparation_s": median(preps, "seconds_in_process"), "cold_s": median(colds, "total_seconds"),
           "cold_cpu_s": median(colds, "cpu_seconds"), "peak_total_memory_mb": highest("peak_total_memory_mb"),
           "peak_total_pss_mb": highest("peak_total_pss_mb")}
    if len(colds) > 1:
        out["cold_s_runs"] = [r.get("total_seconds") for r in colds]
        out["cold_cpu_s_runs"] = [r.get("cpu_seconds") for r in colds]
        out["data_preparation_s_runs"] = [r.get("seconds_in_process") for r in preps]
    return out


def fixed_and_per_million(rows: list[dict]) -> dict | None:
    """The two scales' cold times read as a fixed part plus a part per million order lines (a straight
    line through the two points: T = F + D x millions): F, D, and the D that a ratio of 3 between the
    two times would need at this F (T10 <= 3 T1 is F + D n10 <= 3 (F + D n1), so D <= 2 F / (n10 - 3 n1)).
    None without two usable scales. Every cut of F raises the ratio; only a cut of D lowers it."""
    if len(rows) != 2:
        return None
    (t1, l1), (t2, l2) = ((r.get("cold_s"), r.get("order_lines")) for r in rows)
    if not (t1 and t2 and l1 and l2) or l2 <= l1:
        return None
    n1, n2 = l1 / 1e6, l2 / 1e6
    per = (t2 - t1) / (n2 - n1)
    fixed = t1 - per * n1
    out = {"fixed_s": round(fixed, 1), "per_million_lines_s": round(per, 2)}
    if n2 > 3 * n1 and fixed > 0:
        out["per_million_lines_s_for_ratio_3"] = round(2 * fixed / (n2 - 3 * n1), 2)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=float, default=DEFAULT_SCALE, help="the smaller scale; 10x it runs too")
    ap.add_argument("--study", default="2024-annual")
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--only-small", action="store_true", help="skip the 10x scale (e.g. too little memory)")
    ap.add_argument("--plain", action="store_true", help="also time plain papermill + nbconvert")
    ap.add_argument("--ablation", action="store_true", help="at SCALE, also a cold run with each home-made speed-up "
                    "switched off in turn (the fork server of warm kernels, the kernel handshake without idle waits, "
                    "the HTML exporter without its re-parse): what each is worth")
    ap.add_argument("--repeat", type=int, default=1, metavar="N", help="N cold runs and N preparations at each "
                    "scale: the summary takes their medians (and the highest peak memory) and lists every run")
    ap.add_argument("--stages", action="store_true", help="only time the engine aggregations at SCALE and 10x its "
                    "order lines (DuckDB; PySpark too when installed), on the prepared study of an earlier run")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    base = Project.find().cache_dir / "bench"
    results = []

    def emit(d):
        results.append(d)
        print(json.dumps(d), flush=True)

    if args.stages:
        import importlib.util
        backends = ("duckdb", "pyspark") if importlib.util.find_spec("pyspark") else ("duckdb",)
        project = Project(base / f"scale-{args.scale:g}")
        for copies in (1, 10):
            emit(engine_stages(project, args.study, copies, backends))
        return 0
    benches = [ScaleBench(sc, args.study, base, emit) for sc in [args.scale, *([] if args.only_small else [args.scale * 10])]]
    for i in range(args.repeat):          # the scales' cold runs alternate (ScaleBench)
        for b in benches:
            b.cold(args.jobs, i, args.repeat)
    rows = [b.finish(args.jobs, plain=args.plain and k == 0, ablate=args.ablation and k == 0, repeat=args.repeat)
            for k, b in enumerate(benches)]
    summary = {"run": "summary", "targets": TARGETS, "scales": rows}
    if len(rows) == 2 and rows[0]["cold_s"] and rows[1]["cold_s"]:
        summary["time_ratio_10x"] = round(rows[1]["cold_s"] / rows[0]["cold_s"], 2)
    split = fixed_and_per_million(rows)
    if split:
        summary["cold_time_split"] = split
    pairs = paired_ratios(benches[0].colds, benches[1].colds) if len(benches) == 2 else None
    if pairs:
        summary["paired"] = pairs
    emit(summary)
    keys = ["order_lines", "generation_s", "data_preparation_s", "cold_s", "cold_cpu_s", "warm_s",
            "peak_total_memory_mb", "peak_total_pss_mb", "largest_html_mb", "html_total_mb", "load_average_1min"]
    print(f"\n{'':24}" + "".join(f"{'scale ' + format(r['scale'], 'g'):>16}" for r in rows))
    for k in keys:
        print(f"{k:24}" + "".join(f"{str(r.get(k)):>16}" for r in rows))
    for r in rows:
        if r.get("cold_s_runs"):
            print(f"scale {r['scale']:g}, medians of {len(r['cold_s_runs'])} runs; cold s "
                  + ", ".join(map(str, r["cold_s_runs"])) + "; cold CPU s " + ", ".join(map(str, r["cold_cpu_s_runs"]))
                  + "; data preparation s " + ", ".join(map(str, r["data_preparation_s_runs"])))
    for r in rows:
        for name, a in (r.get("ablation") or {}).items():
            print(f"scale {r['scale']:g}, {name}: " + ", ".join(f"{k} {v}" for k, v in a.items()))
    print(f"targets: {TARGETS}" + (f"; measured 10x time ratio {summary['time_ratio_10x']}" if "time_ratio_10x" in summary else ""))
    if pairs:
        print("10x time ratio of each alternated pair of cold runs: " + ", ".join(map(str, pairs["time_ratio_10x_pairs"]))
              + (f"; with each run divided by the host probe before it (pure Python on one core, "
                 f"{pairs['host_probe_s_range'][0]}-{pairs['host_probe_s_range'][1]} s): median "
                 f"{pairs['time_ratio_10x_host_adjusted']}" if "time_ratio_10x_host_adjusted" in pairs else ""))
    if split:
        print(f"cold time as a fixed part and a part per million order lines: {split['fixed_s']} s + "
              f"{split['per_million_lines_s']} s per million"
              + (f"; a ratio of 3 at this fixed part needs at most {split['per_million_lines_s_for_ratio_3']} s per million"
                 if "per_million_lines_s_for_ratio_3" in split else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

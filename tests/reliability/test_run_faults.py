"""Faults during a run (issue 15): two runs of one study at once, the runner killed with SIGKILL at
chosen moments, kernels that die, a full disk and a read-only reports folder while publishing.
Every test checks the same promises afterwards: the last good reports are still there and complete,
the JSON outputs parse, the next run recovers by itself, and nothing temporary is left behind."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from reltoy import (COUNT, SLEEP, cli, complete_html, fork_dirs_of_dead_runners, json_files_parse, leftovers,
                    lost_reports, make_toy, manifest, processes_of, snapshot, statuses)

from insight import safety
from insight.runner import RunOptions, run_report

pytestmark = pytest.mark.slow
KEY = "reliability-test-key"


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("INSIGHT_PII_KEY", KEY)


def run(project, **kw) -> int:
    os.environ["INSIGHT_ROOT"] = str(project.root)
    try:
        return run_report("toy", RunOptions(quiet=True, **kw), project)
    finally:
        os.environ.pop("INSIGHT_ROOT", None)


def wait_for(predicate, timeout: float = 120, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def edit(project, name: str, marker: str) -> None:
    """Change a notebook's code (a comment), so that it reruns."""
    import nbformat
    path = project.notebooks_dir / f"{name}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[-1].source += f"\n# {marker}"
    nbformat.write(nb, str(path))


# --- two runs of one study ---------------------------------------------------------------------

def test_two_runs_of_one_study_at_once_one_refuses(tmp_path, figures):
    """A cron job and a person start `make report` together: exactly one runs; the other stops at once
    with the holder's pid and what to do. Afterwards the outputs parse and a new run works."""
    p = make_toy(tmp_path / "toy", {"alpha": SLEEP.format(name="alpha", seconds=3), "beta": COUNT.format(name="beta")})
    a = cli(p.root, "--jobs", "2")
    b = cli(p.root, "--jobs", "2")
    figures.fault()
    outs = {proc.pid: proc.communicate(timeout=300) for proc in (a, b)}
    codes = {proc.pid: proc.returncode for proc in (a, b)}
    assert sorted(codes.values()) == [0, 3], (codes, outs)
    loser = next(pid for pid, c in codes.items() if c == 3)
    winner = next(pid for pid, c in codes.items() if c == 0)
    err = outs[loser][1]
    assert f"pid {winner}" in err and "is running" in err and "wait for it to finish" in err, err
    assert "Traceback" not in err
    assert json_files_parse(p) == [] and set(statuses(p).values()) == {"ok"}
    assert run(p) == 0 and set(statuses(p).values()) == {"unchanged"}


def test_a_stale_lock_of_a_dead_run_does_not_block(tmp_path, figures):
    p = make_toy(tmp_path / "toy", {"alpha": COUNT.format(name="alpha")})
    lock = safety.lock_path(p, "toy")
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"pid": 2 ** 22 + 7, "host": "gone", "started": "yesterday"}))
    figures.fault()
    assert run(p) == 0
    assert lock.read_text() == ""   # released and emptied at the end of the run



def test_a_forked_worker_does_not_keep_the_lock_of_a_killed_runner(tmp_path):
    """The runner's worker processes are forked while it holds the lock: they close their copy at once,
    and a lock still held a moment after its holder died (a child sharing the locked file, exiting) is
    waited for, not refused."""
    from insight.paths import Project
    project = Project(tmp_path)
    lock = safety.StudyLock(project, "toy")
    with lock:
        child = os.fork()
        if child == 0:   # the worker: its copy of the lock descriptor is closed
            os._exit(0 if not os.path.exists(f"/proc/self/fd/{lock.fd}")
                     or os.readlink(f"/proc/self/fd/{lock.fd}") != str(lock.path) else 1)
        assert os.waitpid(child, 0)[1] == 0
    # a dead holder's lock, still held by a process that lets go after 1 s: the next run waits for it
    import fcntl
    fd = os.open(lock.path, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    lock.path.write_text(json.dumps({"pid": 2 ** 22 + 7, "host": __import__("socket").gethostname()}))
    threading.Timer(1.0, os.close, [fd]).start()
    t = time.monotonic()
    with safety.StudyLock(project, "toy"):
        assert 0.8 < time.monotonic() - t < safety.StudyLock.STALE_WAIT
    # a live holder is refused at once
    other = subprocess.Popen(["python3", "-c", "import fcntl,os,sys,time; fd=os.open(sys.argv[1], os.O_RDWR); "
                              "fcntl.flock(fd, fcntl.LOCK_EX); print(1, flush=True); time.sleep(30)", str(lock.path)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "1"
        lock.path.write_text(json.dumps({"pid": other.pid, "host": __import__("socket").gethostname()}))
        t = time.monotonic()
        with pytest.raises(safety.Busy, match=f"pid {other.pid}"):
            with safety.StudyLock(project, "toy"):
                pass
        assert time.monotonic() - t < 1.0
    finally:
        other.kill()
        other.wait()

# --- SIGKILL at chosen moments -----------------------------------------------------------------

class Lines:
    """The runner's progress lines, read as they come."""

    def __init__(self, proc):
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.thread.start()

    def _read(self, proc):
        for line in proc.stdout:
            self.lines.append(line)

    def seen(self, text: str) -> bool:
        return any(text in line for line in self.lines)


def _lock_taken(p, pid):
    def check():
        try:
            return json.loads(safety.lock_path(p, "toy").read_text() or "{}").get("pid") == pid
        except (OSError, ValueError):
            return False
    return check


def test_sigkill_at_any_moment_then_the_next_run_recovers(tmp_path, figures):
    """kill -9 of the runner alone (its workers, fork server and kernels must go by themselves) during
    data preparation, in the middle of a notebook, right after a report was published, and at a
    random (seeded) moment. After each kill: every published HTML is complete (the old or the new
    one), the JSON outputs parse, no process of the run survives. Then one plain run recovers: every
    notebook ok, no temporary file or fork-server folder left."""
    rng = random.Random(15)
    big = "customer_id,region,segment,signup_date,status\n" + "".join(
        f"C{i},EMEA,smb,2023-01-05,existing\n" for i in range(2000))
    p = make_toy(tmp_path / "toy", {"alpha": SLEEP.format(name="alpha", seconds=2), "beta": COUNT.format(name="beta"),
                                    "gamma": COUNT.format(name="gamma")}, customers=big)
    assert run(p, jobs=2) == 0
    good = snapshot(p)
    assert len(good) == 4   # index + three reports
    moments = [
        ("data preparation", lambda proc, out: _lock_taken(p, proc.pid)(), 0.2),
        ("mid-notebook", lambda proc, out: out.seen("run ") and (p.cache_dir / "runs/toy/alpha.log").exists(), 1.0),
        ("just published", lambda proc, out: out.seen("done "), 0.0),
        ("random", lambda proc, out: True, rng.uniform(0.5, 6.0)),
    ]
    killed = []
    for i, (what, trigger, delay) in enumerate(moments):
        data = p.root / "data" / "customers.csv"   # new inputs every time: everything has to be redone
        data.write_text(data.read_text() + f"X{i},APAC,smb,2023-02-01,existing\n")
        proc = cli(p.root, "--jobs", "2")
        out = Lines(proc)
        assert wait_for(lambda: trigger(proc, out) or proc.poll() is not None, timeout=240), what
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)   # the runner only, as `kill -9 <pid>` does
        proc.wait()
        killed.append(proc.pid)
        figures.fault()
        assert wait_for(lambda: not processes_of(p.root), timeout=90), (what, processes_of(p.root))
        lost = lost_reports(good, p)
        figures.reports_lost(len(lost))
        assert not lost, (what, lost)
        assert all(complete_html(b) for b in snapshot(p).values()), what
        assert json_files_parse(p) == [], what
    assert run(p, jobs=2) == 0
    assert set(statuses(p).values()) == {"ok"}
    assert all(complete_html(b) for b in snapshot(p).values())
    assert leftovers(p) == []
    assert not [d for d in fork_dirs_of_dead_runners() if any(f"-{pid}-" in d for pid in killed)]
    assert not processes_of(p.root)


def test_atomic_write_is_old_or_new_never_partial(tmp_path, figures):
    """A writer killed at random moments while replacing a 4 MB file: the file is always exactly the old
    or the new content; the next run's clean-up removes the killed writer's temporary file."""
    target = tmp_path / "reports" / "toy" / "big.html"
    a, b = b"A" * (4 << 20), b"B" * (4 << 20)
    safety.atomic_write(target, a)
    code = ("import sys, itertools\nsys.path.insert(0, %r)\nfrom pathlib import Path\nfrom insight.safety import atomic_write\n"
            "for i in itertools.count():\n    atomic_write(Path(%r), (b'A' if i %% 2 else b'B') * (4 << 20))\n"
            % (str(Path(safety.__file__).parents[1]), str(target)))
    rng = random.Random(7)
    for _ in range(8):
        proc = subprocess.Popen([os.sys.executable, "-c", code])
        time.sleep(rng.uniform(0.3, 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        figures.fault()
        assert target.read_bytes() in (a, b)
    from insight.paths import Project
    safety.clean_stale(Project(tmp_path), "toy")
    assert sorted(q.name for q in target.parent.iterdir()) == ["big.html"]


# --- kernels that die --------------------------------------------------------------------------

DYING = {
    "exits": "import os\nos._exit(3)",
    "segfault": "import ctypes\nctypes.string_at(0)",
    "out_of_memory": "import resource\nresource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\nx = bytearray(3 << 30)",
}


def test_a_dying_kernel_fails_only_its_notebook_with_the_reason(tmp_path, figures):
    p = make_toy(tmp_path / "toy", {"alpha": COUNT.format(name="alpha"), **DYING})
    assert run(p, jobs=2) == 1
    figures.fault(len(DYING))
    m = manifest(p)["notebooks"]
    assert m["alpha"]["status"] == "ok"
    assert {k: m[k]["status"] for k in DYING} == {k: "failed" for k in DYING}
    assert "exited with status 3" in m["exits"]["error"]
    assert "segmentation fault" in m["segfault"]["error"]
    assert "out of memory" in m["out_of_memory"]["error"] and m["out_of_memory"]["error_link"]
    index = (p.report_dir("toy") / "index.html").read_text()
    for words in ("exited with status 3", "segmentation fault", "out of memory"):
        assert words in index
    assert not processes_of(p.root)


def _killed_preparation(*args, **kwargs):
    """Stands in for prepare_study_data: the process dies as the kernel's OOM killer ends it."""
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_killed_data_preparation_is_a_clear_error_and_keeps_the_reports(tmp_path, figures, monkeypatch, capsys):
    """Data preparation runs in a child process (its gigabytes of tables go back to the machine before
    the notebooks run). When that child is killed (out of memory), the run stops with exit 2 and a
    message that says what happened and what to do, before any notebook runs; the last good reports
    stay; the next run works."""
    p = make_toy(tmp_path / "toy", {"alpha": COUNT.format(name="alpha")})
    assert run(p) == 0
    good = snapshot(p)
    edit(p, "alpha", "v2")
    capsys.readouterr()
    monkeypatch.setattr("insight.data.prepare.prepare_study_data", _killed_preparation)
    assert run(p) == 2
    figures.fault()
    err = capsys.readouterr().err
    assert "data preparation stopped abruptly" in err and "out of memory" in err and "Traceback" not in err, err
    assert snapshot(p) == good
    figures.reports_lost(len(lost_reports(good, p)))
    monkeypatch.undo()
    assert run(p) == 0 and statuses(p)["alpha"] == "ok" and snapshot(p)["alpha.html"] != good["alpha.html"]
    assert not processes_of(p.root)


# --- disk full and read-only while publishing --------------------------------------------------

def _can_mount() -> bool:
    return os.geteuid() == 0


@contextmanager
def tmpfs(folder: Path, size: str):
    """A real small file system (tmpfs) mounted on `folder` (root only)."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.skipif(not _can_mount(), reason="mounting a small tmpfs needs root")
def test_disk_full_while_publishing_keeps_the_last_good_report(tmp_path, figures):
    """reports/ is a 1 MB tmpfs (another file system than .cache/, as a share would be). With the disk
    full the run fails with 'the disk is full', the last good reports stay byte for byte, no partial
    or temporary file is left; once space is freed the next run publishes."""
    p = make_toy(tmp_path / "toy", {"alpha": COUNT.format(name="alpha"), "beta": COUNT.format(name="beta")})
    with tmpfs(p.reports_dir, "1m"):
        assert run(p, jobs=2) == 0
        good = snapshot(p)
        filler = p.reports_dir / "filler"
        with open(filler, "wb", buffering=0) as fh:   # fill the disk to the last byte...
            try:
                while True:
                    fh.write(b"\0" * 4096)
                    fh.flush()
            except OSError:
                pass
        os.truncate(filler, filler.stat().st_size - 8192)   # ...but for 8 KB: less than a report needs
        edit(p, "alpha", "v2")
        proc = cli(p.root)
        out, err = proc.communicate(timeout=300)
        figures.fault()
        assert proc.returncode == 1, (out, err)
        assert "disk is full" in err + out, (out, err)
        assert "Traceback" not in err
        assert snapshot(p) == good
        figures.reports_lost(len(lost_reports(good, p)))
        assert [q for q in p.reports_dir.rglob("*") if safety.TMP_MARK in q.name or q.name.endswith(".tmp")] == []
        filler.unlink()
        assert run(p) == 0
        assert statuses(p)["alpha"] == "ok" and snapshot(p)["alpha.html"] != good["alpha.html"]


@contextmanager
def read_only(folder: Path):
    """`folder` made read-only for real: a read-only bind mount as root (root ignores permissions),
    else permissions."""
    if os.geteuid() == 0:
        subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
        try:
            yield
        finally:
            subprocess.run(["umount", "-l", str(folder)], check=False)
    else:
        mode = folder.stat().st_mode
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(mode)


def test_read_only_reports_folder_is_a_clear_error_before_any_work(tmp_path, figures):
    p = make_toy(tmp_path / "toy", {"alpha": COUNT.format(name="alpha")})
    assert run(p) == 0
    good = snapshot(p)
    edit(p, "alpha", "v2")
    with read_only(p.reports_dir):
        proc = cli(p.root)
        out, err = proc.communicate(timeout=300)
        figures.fault()
    assert proc.returncode == 2, (out, err)
    assert "read-only" in err and "nothing was run" in err and "Traceback" not in err, err
    assert snapshot(p) == good
    assert run(p) == 0 and statuses(p)["alpha"] == "ok"


# --- missing and damaged caches ----------------------------------------------------------------

def test_missing_or_damaged_caches_are_rebuilt_never_trusted(tmp_path, figures):
    """No .cache/ at all; a truncated Parquet file; a same-size garbage Parquet file; a garbage cache
    manifest; a garbage reports manifest: each is detected and rebuilt, and the findings (the row
    count of the customers table) stay right."""
    import shutil

    from insight.data.prepare import prepare_study_data
    from insight.params import load_params

    p = make_toy(tmp_path / "toy", {"alpha": COUNT.format(name="alpha")})
    assert run(p) == 0
    params = load_params("toy", p)

    def rows_found():
        return json.loads((p.report_dir("toy") / "findings.json").read_text())[0]["value"]

    shutil.rmtree(p.cache_dir)
    figures.fault()
    assert run(p) == 0 and statuses(p)["alpha"] == "unchanged"
    assert prepare_study_data(params, p).tables["customers"].is_file()

    folder = prepare_study_data(params, p).tables["customers"].parent
    parquet = folder / "customers.parquet"
    good = parquet.read_bytes()
    damages = {
        "truncated": lambda: parquet.write_bytes(good[: len(good) // 2]),
        "garbage of the same size": lambda: parquet.write_bytes(b"PAR1" + bytes(len(good) - 8) + b"PAR1"),
        "garbage manifest": lambda: (folder / "manifest.json").write_text('{"tables": 5}'),
    }
    for what, damage in damages.items():
        damage()
        figures.fault()
        prepared = prepare_study_data(params, p, verify=True)   # what the runner asks, once per run
        import pandas as pd
        assert len(pd.read_parquet(prepared.tables["customers"])) == 2, what
    assert run(p, force=True) == 0 and rows_found() == 2

    (p.report_dir("toy") / "manifest.json").write_text("{not json")
    figures.fault()
    assert run(p) == 0 and statuses(p)["alpha"] == "ok" and rows_found() == 2


def test_a_damaged_demo_cache_is_regenerated(tmp_path, figures):
    from insight.data.prepare import _demo_tables
    from insight.data.testing import write_study
    from insight.params import load_params

    project = write_study(tmp_path, "d", {"demo": {"scale": 0.05}})
    params = load_params("d", project)
    first = _demo_tables(params, project)
    listing = next((project.cache_dir / "demo").glob("*/tables.json"))
    for garbage in ("[]", "5", "{\"customers\": 1}", "not json"):
        listing.write_text(garbage)
        figures.fault()
        again = _demo_tables(params, project)
        assert sorted(again) == sorted(first) and len(again["customers"]) == len(first["customers"]), garbage
    orders = next((project.cache_dir / "demo").glob("*/orders.arrow"))   # a table cut short
    orders.write_bytes(orders.read_bytes()[: orders.stat().st_size // 2])
    figures.fault()
    again = _demo_tables(params, project)
    assert len(again["orders"]) == len(first["orders"]) and orders.stat().st_size > 0

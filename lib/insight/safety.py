"""Run safety for `make report`: one writer per study, atomic publishing, clear disk errors, cleanup.

- `StudyLock(project, study)`: an exclusive lock (fcntl.flock on .cache/locks/<study>.lock) held for
  the whole run. A second run of the same study refuses at once with `Busy`, naming the holder's pid,
  host and start time. The kernel releases a flock when its holder dies (even by SIGKILL), so a stale
  lock never blocks: the next run simply takes it and overwrites the holder information.
- `atomic_write(path, data)`: written to a unique temporary file next to the target, flushed to disk,
  then renamed over it: a reader (or a run killed half-way) sees the old file or the new one, never
  a partial one. Any OSError removes the temporary file and is raised as `PublishError`, whose
  message says what happened in plain words (disk full, read-only, no permission) and what to do.
- `publish_file(src, target)`: a rename when both are on one file system, else an atomic copy (the
  reports folder may be another mount, e.g. a share).
- `check_writable(folder)`: fail before hours of work rather than after.
- `clean_stale(project, study)`: temporary files and folders of runs that were killed.
- `die_with_parent()`: a worker process initializer: the worker is killed when the runner dies.
- `cores()`: the cores this process may use (its CPU affinity; a container or `taskset` may allow
  fewer than the machine has); `thread_limits(workers)`: the environment that keeps the BLAS
  libraries' thread pools and the study engine's DuckDB within them when `workers` processes run at
  once.
- `explain_failure(exc, executed notebook, kernel exit file)`: why a notebook failed, for the index
  (a kernel that died: its signal or status; an error without a message: what the cell printed).
"""
from __future__ import annotations

import datetime as dt
import errno
import json
import os
import shutil
import signal
import socket
import sys
import time
from pathlib import Path

from insight.paths import Project

TMP_MARK = ".insight-tmp-"   # every temporary file written by atomic_write carries this in its name
FORK_DIR_PREFIX = "insight-fk-"
KERNEL_IPC_PREFIX = "insight-k-"   # + <pid of the process that started the kernel>-<random>-<channel>, in the temp folder


class Busy(RuntimeError):
    """Another run of the same study holds the lock."""


class PublishError(OSError):
    """Writing an output failed; the message is meant for the study owner."""


# --- plain-language OS errors -----------------------------------------------------------------------

def _free_bytes(path: Path) -> int | None:
    for p in (path, *path.parents):
        try:
            return shutil.disk_usage(p).free
        except OSError:
            continue
    return None


def _mb(n: int | None) -> str:
    return "unknown" if n is None else f"{n / 1e6:,.1f} MB"


def explain_os_error(exc: OSError, path: Path, doing: str = "writing") -> str:
    """One line for a study owner: what failed, where, why, and what to do."""
    path = Path(path)
    code = getattr(exc, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT):
        return (f"the disk is full: {doing} {path} failed (no space left on the device; "
                f"{_mb(_free_bytes(path.parent))} free). Fix: free some space (or raise the quota) and run again; "
                "the last good reports are kept.")
    if code == errno.EROFS:
        return (f"{path.parent} is on a read-only file system: {doing} {path} failed. "
                "Fix: make the reports folder writable (remount it read-write, or copy the project elsewhere) "
                "and run again.")
    if code in (errno.EACCES, errno.EPERM):
        return (f"no permission: {doing} {path} failed. Fix: make {path.parent} writable for this user "
                "(chmod/chown) and run again.")
    return f"{doing} {path} failed: {exc.strerror or exc}. Fix: check the folder and the disk, then run again."


# --- why a notebook failed ---------------------------------------------------------------------------

_SIGNALS = {
    9: "was killed (SIGKILL): most often the machine ran out of memory and the system stopped the biggest "
       "process (see `dmesg`), or someone stopped it. Fix: give the notebook more memory, or work on less data",
    11: "crashed with a segmentation fault (SIGSEGV) in compiled code (a C extension, or ctypes). Fix: see the "
        "kernel log; rerun once (a crash can be a fluke), else check the versions of the compiled packages",
    6: "aborted (SIGABRT), often a C library that ran out of memory or found its data damaged. Fix: see the "
       "kernel log",
    7: "crashed with a bus error (SIGBUS), often a memory-mapped file that shrank or a full disk",
    15: "was terminated (SIGTERM) by someone or something outside the run",
}
_OUT_OF_MEMORY = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "Unable to allocate")


def explain_failure(exc: BaseException, out_nb: Path, exit_file: Path) -> str:
    """Why a notebook failed, in words a study owner can act on: the error and its message; for a kernel
    that died, how it exited (signal, status); for an error without a message (a MemoryError under a
    memory limit, an error whose traceback could not even be formatted), what the failing cell printed."""
    ename = getattr(exc, "ename", None) or type(exc).__name__
    evalue = str(getattr(exc, "evalue", None) or ("" if hasattr(exc, "ename") else exc)).strip()
    if type(exc).__name__ == "DeadKernelError":
        try:
            code = int(exit_file.read_text().strip())
        except (OSError, ValueError):
            return "the notebook's kernel died (its exit status is unknown). Fix: see the kernel log"
        sig = -code if code < 0 else (code - 128 if code > 128 else None)   # plain kernel / via the launcher
        if sig:
            return f"the notebook's kernel {_SIGNALS.get(sig, f'was killed by signal {sig}')}"
        return (f"the notebook's kernel exited with status {code} in the middle of a cell (os._exit, sys.exit "
                "in a thread, or a library that exits). Fix: find the cell that ends the process")
    detail = _error_output(out_nb) if (not evalue or evalue in ("None", ename)) else ""
    if any(m in f"{ename} {evalue} {detail}" for m in _OUT_OF_MEMORY):
        return (f"{ename}: out of memory{(': ' + evalue) if evalue else ''}. The notebook needs more memory than "
                "it may use (a memory limit, or the machine's). Fix: work on less data or give it more memory"
                + (f". Last output: {detail}" if detail else ""))
    if not evalue:
        return f"{ename}: {detail or 'the error has no message'}"
    return f"{ename}: {evalue}"


def _error_output(out_nb: Path) -> str:
    """The last lines the failing cell wrote (stderr, tracebacks) in the executed notebook, or ''."""
    try:
        import nbformat
        nb = nbformat.read(str(out_nb), as_version=4)
    except Exception:  # noqa: BLE001 - no notebook, nothing to add
        return ""
    for cell in reversed(nb.cells):
        texts = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                texts += [f"{out.get('ename', '')}: {out.get('evalue', '')}"]
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                texts += [line for line in str(out.get("text", "")).splitlines() if line.strip()]
        if texts:
            return " | ".join(texts[-2:])[:500]
    return ""


# --- writing --------------------------------------------------------------------------------------

def _tmp_name(path: Path) -> Path:
    return path.with_name(f"{TMP_MARK}{os.getpid()}-{path.name}")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, data: str | bytes, doing: str = "writing") -> Path:
    """Replace `path` by `data` atomically (old or new content, never a mix). Raises PublishError."""
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = _tmp_name(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _unlink(tmp)
        raise PublishError(exc.errno, explain_os_error(exc, path, doing)) from exc
    _fsync_dir(path.parent)
    return path


def publish_file(src: Path, target: Path) -> Path:
    """Move a finished file into place atomically; across file systems, copy then rename."""
    src, target = Path(src), Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, target)
        return target
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise PublishError(exc.errno, explain_os_error(exc, target, "publishing")) from exc
    tmp = _tmp_name(target)
    try:
        shutil.copyfile(src, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        _unlink(tmp)
        raise PublishError(exc.errno, explain_os_error(exc, target, "publishing")) from exc
    _unlink(src)
    return target


def check_writable(folder: Path) -> None:
    """Raise PublishError (with the reason in plain words) unless a file can be created in `folder`."""
    folder = Path(folder)
    probe = folder / f"{TMP_MARK}{os.getpid()}-probe"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as fh:
            fh.write(b"x")
    except OSError as exc:
        raise PublishError(exc.errno, explain_os_error(exc, probe, "creating a file in")) from exc
    finally:
        _unlink(probe)


def _unlink(p: Path) -> None:
    try:
        os.unlink(p)
    except OSError:
        pass


# --- tables for spreadsheets ------------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _formula_safe(v):
    if not isinstance(v, str) or not v.startswith(FORMULA_START):
        return v
    try:
        float(v.replace(",", ""))
        return v   # a signed number ("-12.5") is a value, not a formula
    except ValueError:
        return "'" + v


def spreadsheet_safe(df):
    """A copy of `df` whose text cells cannot run as spreadsheet formulas when the CSV/xlsx is opened
    in Excel or LibreOffice ("CSV injection": =HYPERLINK(...), =cmd|...!A0, @SUM(...)): a text that
    starts with = + - @ or a tab gets a leading apostrophe, as Excel itself shows typed text.
    Numbers, including signed ones, are left alone."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or str(out[c].dtype) in ("str", "string"):
            out[c] = out[c].map(_formula_safe)
    return out


# --- one writer per study -------------------------------------------------------------------------

def lock_path(project: Project, study: str) -> Path:
    return project.cache_dir / "locks" / f"{study}.lock"


class StudyLock:
    """Exclusive lock on one study for the duration of a run (see the module docstring)."""

    def __init__(self, project: Project, study: str):
        self.path = lock_path(project, study)
        self.study = study
        self.fd: int | None = None

    STALE_WAIT = 15.0

    def holder(self) -> dict:
        try:
            return json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def __enter__(self) -> "StudyLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not self._lock(fd):
            os.close(fd)
            h = self.holder()
            who = (f"pid {h.get('pid', '?')} on {h.get('host', '?')}, started {h.get('started', '?')}"
                   if h else "another process")
            raise Busy(f"another `make report STUDY={self.study}` is running ({who}); two runs of one study "
                       f"would overwrite each other's reports. Fix: wait for it to finish (or stop it) and "
                       f"run again. Lock file: {self.path}") from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "argv": sys.argv[:6],
                "started": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self.fd = fd
        _HELD_LOCKS.add(fd)
        return self

    def _lock(self, fd: int) -> bool:
        """Take the flock. A live holder is refused at once; when the recorded holder is dead (a runner
        killed a moment ago), its last processes (forked workers, which share the locked file, still
        exiting) release the lock within moments: wait up to STALE_WAIT seconds for that."""
        import fcntl

        deadline = None
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except OSError:
                h = self.holder()
                pid = h.get("pid")
                if not isinstance(pid, int) or h.get("host") != socket.gethostname() or _pid_alive(pid):
                    return False
                deadline = deadline or time.monotonic() + self.STALE_WAIT
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            try:
                os.ftruncate(self.fd, 0)
            except OSError:
                pass
            _HELD_LOCKS.discard(self.fd)
            os.close(self.fd)   # closing the descriptor releases the flock
            self.fd = None


# A forked child (the runner's worker processes) would share the locked file and keep the lock after a
# killed runner until it exits; it closes its copy at once instead (a close, not an unlock: the
# runner's own lock stays).
_HELD_LOCKS: set[int] = set()


def _close_held_locks() -> None:
    for fd in list(_HELD_LOCKS):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD_LOCKS.clear()


os.register_at_fork(after_in_child=_close_held_locks)


# --- what killed runs leave behind ----------------------------------------------------------------

def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tmp_pid(name: str, prefix: str) -> int | None:
    try:
        return int(name[len(prefix):].split("-", 1)[0])
    except ValueError:
        return None


def fork_server_dirs(work_dir: Path) -> list[Path]:
    """Where fork-server sockets may live (see insight.forkkernel.Server): the run's folder, or the
    system's temporary folder when that path is too long for a socket."""
    import tempfile
    return [Path(work_dir), Path(tempfile.gettempdir())]


def stale_kernel_sockets() -> list[Path]:
    """Remove the Unix socket files of kernels whose starting process is gone (a kernel killed with its
    notebook's worker leaves its five sockets in the temporary folder; a kernel that ends normally
    removes them itself). Returns what was removed."""
    import tempfile

    removed = []
    try:
        entries = list(Path(tempfile.gettempdir()).glob(KERNEL_IPC_PREFIX + "*"))
    except OSError:
        return removed
    for f in entries:
        pid = _tmp_pid(f.name, KERNEL_IPC_PREFIX)   # older names had 16 random hex digits there: not a pid
        if pid is not None and 0 < pid < 1 << 22 and not _pid_alive(pid) and not f.is_dir():
            _unlink(f)
            removed.append(f)
    return removed


def clean_stale(project: Project, study: str) -> list[Path]:
    """Remove what killed runs left (called under the study lock): temporary files in the study's
    report and run folders, half-built data caches, fork-server folders and kernel sockets whose
    process is gone.
    Returns what was removed."""
    removed: list[Path] = []
    folders = [project.report_dir(study), project.report_dir(study) / "findings",
               project.report_dir(study) / "failed", project.cache_dir / "runs" / study]
    for folder in folders:
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            stale = p.name.startswith(TMP_MARK) or p.name.endswith(".tmp")
            if stale and p.is_file():
                _unlink(p)
                removed.append(p)
    for base in (project.study_cache(study), project.cache_dir / "demo"):   # insight.data.prepare's half-built caches
        for d in (base.glob(".tmp-*") if base.is_dir() else []):
            pid = _tmp_pid(d.name.rsplit("-", 1)[-1], "")
            if d.is_dir() and pid is not None and not _pid_alive(pid):
                shutil.rmtree(d, ignore_errors=True)
                removed.append(d)
    # derived tables (insight.data.engine.StudyEngine.derived) and tables' Arrow copies
    # (insight.data.prepare.read_prepared) being written
    study_cache = project.study_cache(study)
    tmps = [*study_cache.glob("*/derived/.tmp-*.parquet"), *study_cache.glob("*/frames/.tmp-*.arrow")] \
        if study_cache.is_dir() else []
    for f in tmps:
        pid = _tmp_pid(f.name.rsplit("-", 1)[-1].split(".", 1)[0], "")
        if pid is not None and not _pid_alive(pid):
            _unlink(f)
            removed.append(f)
    removed += stale_kernel_sockets()
    for base in fork_server_dirs(project.cache_dir / "runs" / study):
        try:
            entries = list(base.glob(FORK_DIR_PREFIX + "*"))
        except OSError:
            continue
        for d in entries:
            pid = _tmp_pid(d.name, FORK_DIR_PREFIX)
            if d.is_dir() and pid is not None and not _pid_alive(pid):
                shutil.rmtree(d, ignore_errors=True)
                removed.append(d)
    return removed


# --- worker processes -----------------------------------------------------------------------------

def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# the thread pools of the BLAS libraries under numpy and scipy (OpenBLAS in their wheels; MKL in some
# builds): one thread per core in every process that loads them, spinning between calls. OpenMP's
# OMP_NUM_THREADS is left alone: Arrow sizes its own thread pool by it, and a run with it at 1 per
# kernel was no faster
THREAD_POOLS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# the threads of the study engine's DuckDB in each kernel (insight.data.engine.connect), unless the
# study's params set data.engine.threads
ENGINE_THREADS = "INSIGHT_DUCKDB_THREADS"


def thread_limits(workers: int) -> dict[str, str]:
    """Environment variables that give each of `workers` processes running at once (the kernels of a
    parallel run) its share of the cores for the BLAS libraries' thread pools, read when the library
    loads (as joblib's loky does for its workers), and for the study engine's DuckDB. Without them
    every kernel starts pools as large as the machine. OpenBLAS's threads spin while they wait for the
    next call: on 2 cores with 2 kernels a BG/NBD fit took 3.6 CPU s for 1.9 s of wall time instead of
    1.8, taken from the other kernel; the 25 notebooks at 10M order lines 241 -> 207 CPU s. DuckDB's
    second thread per kernel only splits and merges work the other kernel's core is busy with anyway:
    207 -> 199 CPU s. A variable the user set is left as it is."""
    share = str(max(1, cores() // max(1, workers)))
    return {v: share for v in (*THREAD_POOLS, ENGINE_THREADS) if v not in os.environ}


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """In a worker process (or the fork server, with SIGTERM so that it can clean up): ask Linux to send
    `sig` when its parent (the runner) dies, so that a killed run leaves no orphan process writing
    into the next run's folders. No-op elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, int(sig))
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:   # the parent died before prctl took effect
        os._exit(1)


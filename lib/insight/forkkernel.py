"""Warm notebook kernels: fork them from a process that has already imported the heavy packages.

A notebook kernel spends 2-3 CPU seconds importing pandas, scipy.stats, statsmodels, matplotlib and
seaborn before its first line of analysis; a report runs 25 of them on 2 cores. The runner starts
one *fork server* (`python -m insight.forkkernel serve <socket>`), which imports those packages
once and then forks a fresh child per kernel: each notebook still runs in its own process (nothing
is shared between notebooks but the read-only, copy-on-write imported code), it just starts warm.

How a kernel is launched: the runner asks papermill for `ForkKernelManager`, whose kernel command is
`python -m insight.forkkernel launch -f <connection file>` instead of `python -m ipykernel_launcher
-f ...`. That small launcher process is what Jupyter manages: it hands its arguments, working
folder, environment and stdin/stdout/stderr to the server, which forks a child that becomes the
ipykernel (exactly as ipykernel_launcher would). The launcher forwards signals (interrupt,
terminate) to the kernel and exits with the kernel's exit status; if the launcher is killed, the
server kills its kernel. Whenever no server answers (not started, not ready within the wait, or
gone), the launcher simply becomes a normal `ipykernel_launcher`: nothing depends on the server.

The server imports no notebook-specific state: environment variables (INSIGHT_FINDINGS, ...) are
the kernel's own, set in the child before ipykernel starts; matplotlib's backend is not resolved
in the server, so the inline backend is set up in each kernel as usual.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys
import time

ENV_SOCKET = "INSIGHT_FORK_SERVER"
ENV_PID = "INSIGHT_FORK_SERVER_PID"
ENV_CPU_FILE = "INSIGHT_KERNEL_CPU_FILE"   # where the launcher writes its kernel's CPU seconds
ENV_PARENT = "INSIGHT_FORK_SERVER_PARENT"   # the runner's pid: the server stops when it is gone
ENV_EXIT_FILE = "INSIGHT_KERNEL_EXIT_FILE"   # where the kernel manager writes how a dead kernel exited
WAIT_READY = 60.0   # seconds a launcher waits for the server to finish its imports

# imported once by the server; every notebook needs most of them. ibis and its DuckDB SQL compiler
# (0.4-0.7 s a kernel) are here, the duckdb module itself is not: importing it starts a thread, and a
# process is forked safely only while it has none of its own (the kernel imports duckdb, 0.03 s)
PRELOAD = ("numpy", "pandas", "pyarrow", "pyarrow.parquet", "scipy.stats", "scipy.special", "statsmodels.api",
           "statsmodels.formula.api", "statsmodels.stats.proportion", "statsmodels.stats.multitest", "matplotlib",
           "matplotlib.pyplot", "seaborn", "pingouin", "sklearn.metrics", "sklearn.linear_model", "pydantic", "yaml",
           "IPython", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger", "matplotlib_inline",
           "insight.config", "insight.params", "insight.study", "insight.display", "insight.findings", "insight.stats",
           "insight.data.prepare", "insight.fonts",
           "ibis", "ibis.expr.types", "ibis.expr.api", "ibis.backends.sql.compilers.duckdb", "sqlglot.dialects.duckdb",
           "insight.data.engine")
# ... and every module of the analysis packages the notebooks import (0.3 s once instead of a few
# tenths of a second of compiling and importing in each kernel)
PRELOAD_PACKAGES = ("insight.labels", "insight.crm", "insight.success", "insight.survey", "insight.qual",
                    "insight.voc", "insight.synthesis", "insight.data.inventory")


# --- framing: 4-byte length + JSON ---------------------------------------------------------------

def _send(sock: socket.socket, obj, fds=()) -> None:
    data = json.dumps(obj).encode()
    msg = struct.pack("!I", len(data)) + data
    if fds:
        socket.send_fds(sock, [msg], list(fds))
    else:
        sock.sendall(msg)


def _recv_exact(sock: socket.socket, n: int, fds_wanted: int = 0):
    buf, fds = b"", []
    while len(buf) < n:
        if fds_wanted and not fds:
            chunk, got, _, _ = socket.recv_fds(sock, n - len(buf), fds_wanted)
            fds = list(got)
        else:
            chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf, fds


def _recv(sock: socket.socket, fds_wanted: int = 0):
    head, fds = _recv_exact(sock, 4, fds_wanted)
    (n,) = struct.unpack("!I", head)
    body, more = _recv_exact(sock, n)
    return json.loads(body), fds + more


# --- the launcher (what Jupyter starts as "the kernel") -----------------------------------------

def _plain_kernel(args: list[str]) -> None:
    """Become an ordinary ipykernel (no server available)."""
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *args])


def _server_alive() -> bool:
    pid = os.environ.get(ENV_PID)
    if not pid:
        return True
    try:
        os.kill(int(pid), 0)
        return True
    except (OSError, ValueError):
        return False


def launch(args: list[str]) -> None:
    path = os.environ.get(ENV_SOCKET)
    if not path:
        _plain_kernel(args)
    deadline = time.monotonic() + WAIT_READY
    sock = None
    while sock is None:
        if os.path.exists(path):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                sock = s
                break
            except OSError:
                s.close()
                _plain_kernel(args)
        if time.monotonic() > deadline or not _server_alive():
            _plain_kernel(args)
        time.sleep(0.05)
    try:
        _send(sock, {"args": args, "cwd": os.getcwd(), "env": dict(os.environ)}, fds=(0, 1, 2))
        reply, _ = _recv(sock)
    except (OSError, EOFError, ValueError):
        sock.close()
        _plain_kernel(args)
    pid = int(reply["pid"])

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except OSError:
            pass

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, forward)
    while True:
        try:
            done, _ = _recv(sock)
            break
        except InterruptedError:
            continue
        except (OSError, EOFError, ValueError):
            done = {"status": 1}
            break
    report = os.environ.get(ENV_CPU_FILE)
    if report and "cpu" in done:   # the kernel is the server's child: its CPU time is reported here
        try:
            with open(report, "w") as fh:
                fh.write(str(done["cpu"]))
        except OSError:
            pass
    os._exit(int(done.get("status", 1)))


# --- the server --------------------------------------------------------------------------------

def _modules(packages) -> list[str]:
    """The packages and every module under them."""
    import importlib.util
    import pkgutil

    out = []
    for name in packages:
        out.append(name)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            out += [m.name for m in pkgutil.walk_packages(spec.submodule_search_locations, name + ".")]
    return out


def _preload() -> None:
    import importlib
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in [*PRELOAD, *_modules(PRELOAD_PACKAGES)]:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - a package missing here is imported by the kernel itself
                pass
    try:
        from insight.fonts import font_family
        font_family()  # registers the bundled CJK font with matplotlib's font manager, once
    except Exception:  # noqa: BLE001
        pass
    try:   # pandas' Styler (imported on first use) and jinja's first rendering: 60-90 ms in every kernel
        import pandas as pd

        from insight.display import table_html
        table_html(pd.DataFrame({"n": [1], "share": [0.5], "when": pd.to_datetime(["2024-01-01"])},
                                index=pd.Index(["a"], name="group")), "warm-up", base=1, percent=["share"])
    except Exception:  # noqa: BLE001 - a kernel then does it itself
        pass


def _child(request: dict, fds: list[int], inherited) -> None:
    """In the forked child: become the kernel the launcher asked for."""
    try:
        signal.set_wakeup_fd(-1)
        for obj in inherited:   # the server's sockets and selector are not the kernel's business
            obj.close()
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
            os.close(fd)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        args = list(request["args"])
        if os.environ.get("JPY_PARENT_PID"):   # read by ipykernel at import time, i.e. in the server: pass it on
            args.append(f"--IPKernelApp.parent_handle={os.environ['JPY_PARENT_PID']}")
        sys.argv = [sys.executable, *args]
        from ipykernel import kernelapp as app
        app.launch_new_instance()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        os._exit(code)
    except BaseException:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        os._exit(1)
    os._exit(0)


def serve(path: str) -> None:
    import selectors

    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]   # as ipykernel_launcher does; the kernel puts its own working folder back
    # the runner may die at any moment, also during the imports: the server then stops (SIGTERM from
    # the kernel, or noticing its parent is gone), killing its kernels and removing its socket folder
    parent = int(os.environ.get(ENV_PARENT) or os.getppid())
    from insight.safety import die_with_parent
    die_with_parent(signal.SIGTERM)   # during the imports SIGTERM simply ends the process
    _preload()
    # what the server imported is never collected: moved out of the collector's sight (gc.freeze, made
    # for forking servers), so that a kernel's collections do not walk, and thereby copy, the pages of
    # millions of imported objects (a kernel's start went from 60-170 ms to 60 ms of initialisation)
    import gc
    gc.freeze()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    if os.path.exists(path):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = f"{path}.{os.getpid()}.tmp"
    listener.bind(tmp)
    listener.listen(64)
    os.rename(tmp, path)   # the socket appears only once the imports are done
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    # a kernel that exits wakes the loop at once (SIGCHLD through a wake-up socket), so its launcher,
    # and the notebook's runner waiting for it, hear of it without waiting out the select timeout
    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sel.register(wake_r, selectors.EVENT_READ, "wake")
    kernels: dict[int, socket.socket] = {}   # kernel pid -> its launcher's connection
    try:
        while not stop and os.getppid() == parent:
            for key, _ in sel.select(timeout=0.2):
                if key.data == "wake":
                    try:
                        wake_r.recv(4096)
                    except OSError:
                        pass
                elif key.fileobj is listener:
                    conn, _ = listener.accept()
                    try:
                        request, fds = _recv(conn, fds_wanted=3)
                    except (OSError, EOFError, ValueError):
                        conn.close()
                        continue
                    pid = os.fork()
                    if pid == 0:
                        _child(request, fds, [listener, conn, *kernels.values(), sel, wake_r, wake_w])
                    for fd in fds:
                        os.close(fd)
                    kernels[pid] = conn
                    try:
                        _send(conn, {"pid": pid})
                    except OSError:
                        pass
                    sel.register(conn, selectors.EVENT_READ, pid)
                else:  # a launcher went away (killed): its kernel goes too
                    pid = key.data
                    try:
                        alive = key.fileobj.recv(1)
                    except OSError:
                        alive = b""
                    if not alive:
                        sel.unregister(key.fileobj)
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except OSError:
                            pass
            while kernels:   # reap finished kernels and tell their launchers
                try:
                    pid, status, usage = os.wait4(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                conn = kernels.pop(pid, None)
                if conn is None:
                    continue
                code = os.waitstatus_to_exitcode(status)
                try:
                    sel.unregister(conn)
                except (KeyError, ValueError):
                    pass
                try:
                    _send(conn, {"status": code if code >= 0 else 128 - code,
                                 "cpu": round(usage.ru_utime + usage.ru_stime, 3)})
                except OSError:
                    pass
                conn.close()
    finally:
        for pid in kernels:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.unlink(path)
        except OSError:
            pass
        folder = os.path.dirname(path)
        if os.path.basename(folder).startswith("insight-fk-"):   # the folder Server made for the socket
            try:
                os.rmdir(folder)
            except OSError:
                pass


# --- the runner's side -------------------------------------------------------------------------

class Server:
    """Start the fork server (context manager); sets ENV_SOCKET/ENV_PID for the kernels to find it."""

    def __init__(self, folder, env: dict | None = None):
        from pathlib import Path

        self.folder = Path(folder)
        self.env = env or {}
        self.proc = None
        self.path = None

    def __enter__(self):
        import subprocess
        import tempfile

        from insight.safety import FORK_DIR_PREFIX

        # the socket lives in the run's own folder (.cache/runs/<study>/insight-fk-<runner pid>-*/s), or in
        # the system's temporary folder when that path is too long: AF_UNIX socket paths are limited to
        # about 100 characters. The server removes the folder when it stops, also when the runner was
        # killed (it notices its parent is gone); a folder of a dead runner is removed by the next run
        # (insight.safety.clean_stale).
        prefix = f"{FORK_DIR_PREFIX}{os.getpid()}-"
        base = str(self.folder) if len(str(self.folder)) + len(prefix) + 12 < 100 else None
        self.path = os.path.join(tempfile.mkdtemp(prefix=prefix, dir=base), "s")
        env = {**os.environ, **self.env, ENV_PARENT: str(os.getpid())}
        self.proc = subprocess.Popen([sys.executable, "-m", "insight.forkkernel", "serve", self.path], env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(self.folder / "fork-server.log", "w"))
        os.environ[ENV_SOCKET] = self.path
        os.environ[ENV_PID] = str(self.proc.pid)
        return self

    def __exit__(self, *exc):
        os.environ.pop(ENV_SOCKET, None)
        os.environ.pop(ENV_PID, None)
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except Exception:  # noqa: BLE001
                self.proc.kill()
                self.proc.wait()
            if self.proc.stderr:
                self.proc.stderr.close()
        import shutil
        shutil.rmtree(os.path.dirname(self.path), ignore_errors=True)


# How long a notebook's runner waits on its kernel besides the work itself. jupyter_client's defaults
# cost about 0.4 s a notebook (10 s of a 25-notebook report): the client's sockets retry a connection
# to a kernel that is not yet listening every 100 ms, `wait_for_ready` waits for 0.2 s of silence on
# IOPub after the kernel answered, and the shutdown polls the kernel process every 100 ms.
RECONNECT_MS = 5         # the client's sockets retry a connection to a starting kernel this often
EXIT_POLL = 0.005        # seconds between looks at a kernel that was asked to shut down


def fast_handshake() -> bool:
    """INSIGHT_FAST_HANDSHAKE=0 gives jupyter_client's own waits (for `make bench --ablation`)."""
    return os.environ.get("INSIGHT_FAST_HANDSHAKE", "1") != "0"


def kernel_client_class():
    """An AsyncKernelClient whose `wait_for_ready` returns as soon as the kernel has answered a
    kernel_info request and its IOPub channel is shown to be connected (a message arrived on it),
    without then waiting for 0.2 s of silence on IOPub: nbclient takes only the IOPub messages whose
    parent is the request it sent, so a late status message of the handshake is never mistaken for
    a cell's output. The protocol is otherwise jupyter_client's: kernel_info again until answered,
    a dead kernel or the timeout raise RuntimeError."""
    import asyncio
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient

    class ReadyKernelClient(AsyncKernelClient):
        async def wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
            while True:
                self.kernel_info()
                try:
                    msg = await self.shell_channel.get_msg(timeout=1)
                except Empty:
                    msg = None
                if msg is not None and msg["msg_type"] == "kernel_info_reply":
                    try:   # IOPub is connected when a message comes through it (the welcome or a status)
                        await self.iopub_channel.get_msg(timeout=0.2)
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(msg)
                        break
                if not await self.is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
                await asyncio.sleep(0)
            while True:   # what is already queued on IOPub is dropped; nothing is waited for
                try:
                    await self.iopub_channel.get_msg(timeout=0)
                except Empty:
                    break

    return ReadyKernelClient


def kernel_manager_class():
    """An AsyncKernelManager whose python kernels start through the fork server (when one runs), and
    which writes the exit status of a kernel found dead to $INSIGHT_KERNEL_EXIT_FILE (a plain kernel:
    -signal or the status; through the launcher: 128 + signal or the status), for the runner's message.
    Unless INSIGHT_FAST_HANDSHAKE=0, its kernels are connected to and shut down without idle waits
    (kernel_client_class, RECONNECT_MS, EXIT_POLL)."""
    import asyncio

    from jupyter_client import AsyncKernelManager
    from traitlets import default

    fast = fast_handshake()

    class ForkKernelManager(AsyncKernelManager):
        if fast:
            @default("client_factory")
            def _default_client_factory(self):
                return kernel_client_class()

            @default("context")
            def _default_context(self):
                import zmq
                import zmq.asyncio

                self._created_context = True
                ctx = zmq.asyncio.Context()
                ctx.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)   # default for every socket of this context
                return ctx

        @default("transport")
        def _default_transport(self):
            # Unix sockets named after the kernel's connection file, not TCP ports: two notebooks starting
            # at once can be handed the same free port (chosen, released, then bound by the kernel), and
            # the second kernel dies with "Address already in use"
            return "ipc"

        @default("ip")
        def _default_ip(self):
            # the sockets' path prefix (<prefix>-1 .. -5): unique per kernel and in the temporary folder,
            # never "kernel-ipc" in the notebook's folder, where two kernels would share the names
            # (jupyter_client removes the files when the kernel shuts down)
            import tempfile
            import uuid

            from insight.safety import KERNEL_IPC_PREFIX
            # named after this process, so that the next run removes the files of a killed kernel
            # (insight.safety.stale_kernel_sockets)
            return os.path.join(tempfile.gettempdir(), f"{KERNEL_IPC_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}")

        async def is_alive(self) -> bool:
            alive = await AsyncKernelManager.is_alive(self)
            target = os.environ.get(ENV_EXIT_FILE)
            if not alive and target:
                code = getattr(getattr(self.provisioner, "process", None), "returncode", None)
                if code is not None:
                    try:
                        with open(target, "w") as fh:
                            fh.write(str(code))
                    except OSError:
                        pass
            return alive

        async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
            """jupyter_client's shutdown, but a kernel asked to stop is looked at every few milliseconds
            (EXIT_POLL) instead of every 0.1 s; one that is still running after shutdown_wait_time is
            left to jupyter_client's own escalation (interrupt, terminate, kill)."""
            if fast and not now and not restart and self.has_kernel and self.owns_kernel:
                await self.interrupt_kernel()   # as jupyter_client does first (a cell may still run)
                await self.request_shutdown()
                end = time.monotonic() + max(self.shutdown_wait_time, 0) / 2
                while time.monotonic() < end and await AsyncKernelManager.is_alive(self):
                    await asyncio.sleep(EXIT_POLL)
                # gone: jupyter_client only tidies up (its "kill" of an ended process sends nothing, where
                # a second shutdown request would sit 0.1 s in the control socket's linger)
                now = not await AsyncKernelManager.is_alive(self)
            await AsyncKernelManager.shutdown_kernel(self, now=now, restart=restart)

        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            same_python = len(cmd) > 2 and os.path.realpath(cmd[0]) == os.path.realpath(sys.executable)
            if os.environ.get(ENV_SOCKET) and same_python and cmd[1:3] == ["-m", "ipykernel_launcher"]:
                cmd = [cmd[0], "-m", "insight.forkkernel", "launch", *cmd[3:]]
            return cmd

    return ForkKernelManager


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        serve(sys.argv[2])
    elif len(sys.argv) >= 2 and sys.argv[1] == "launch":
        launch(sys.argv[2:])
    else:
        print("usage: python -m insight.forkkernel serve <socket> | launch -f <connection file>", file=sys.stderr)
        raise SystemExit(2)

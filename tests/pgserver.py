"""A throw-away PostgreSQL server for tests: Debian's postgresql package (installed by
tests/debian.py when absent), a fresh cluster in a temporary folder, a free local TCP port, the unix
socket in the same folder, password (scram) authentication over TCP. Postgres refuses to run as
root, so under root the cluster belongs to the `postgres` system user the package creates.

    with PostgresServer() as pg:
        pg.url("analyst")            # postgres://analyst@127.0.0.1:<port>/insight (no password)
        pg.password                  # the analyst's password, to pass through PGPASSWORD
"""
from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from debian import ensure_debian

DATABASE = "insight"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self):
        pg_ctl = ensure_debian("postgresql", "pg_ctl", search=("/usr/lib/postgresql/*/bin/pg_ctl",))
        self.bin = Path(pg_ctl).resolve().parent   # /usr/lib/postgresql/<version>/bin (PATH may hold a link)
        self.port = free_port()
        self.password = "pw-" + secrets.token_hex(12)   # distinctive: tests look for it in every output
        self.dir = Path(tempfile.mkdtemp(prefix="insight-pg-"))
        self.user = None if os.geteuid() != 0 else "postgres"
        self._started = False

    # -- running commands as the cluster's owner ---------------------------------------------------
    def _run(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run([str(a) for a in args], input=input, capture_output=True, text=True, user=self.user,
                              cwd=self.dir, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{' '.join(map(str, args))} failed: {done.stdout}\n{done.stderr}")
        return done

    def psql(self, sql: str) -> str:
        """Run SQL as the superuser over the unix socket (trusted)."""
        return self._run(self.bin / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.dir, "-p", str(self.port),
                         "-U", "admin", "-d", DATABASE, input=sql).stdout

    def __enter__(self) -> "PostgresServer":
        try:
            return self._start()
        except BaseException:
            self.__exit__()   # a half-started server is stopped and its folder removed
            raise

    def _start(self) -> "PostgresServer":
        if self.user:
            owner = pwd.getpwnam(self.user)
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
        self.dir.chmod(0o700)
        self._run(self.bin / "initdb", "-D", self.dir / "data", "-U", "admin", "--auth-local=trust",
                  "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
        self._run(self.bin / "pg_ctl", "-D", self.dir / "data", "-l", self.dir / "server.log", "-w", "-t", "60", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                  "-c synchronous_commit=off -c full_page_writes=off", "start")
        self._started = True
        self._run(self.bin / "createdb", "-h", self.dir, "-p", str(self.port), "-U", "admin", DATABASE)
        self.psql(f"CREATE ROLE analyst LOGIN PASSWORD '{self.password}';")
        return self

    def __exit__(self, *exc) -> None:
        if self._started:
            subprocess.run([str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop"],
                           capture_output=True, user=self.user, cwd=self.dir, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, user: str = "analyst", database: str = DATABASE, port: int | None = None) -> str:
        return f"postgres://{user}@127.0.0.1:{port or self.port}/{database}"

"""Test set-up: install a Debian package the tests need (a browser, Java, a database server) when
it is absent, as the CI machine's root user can. One place for it, so every suite installs alike.

    chromium = ensure_debian("chromium", "chromium")     # -> /usr/bin/chromium
    java = ensure_debian("openjdk-17-jre-headless", "java")

The apt lock is waited for (other processes may be installing), the package lists are refreshed
once per test session, and a package that cannot be had fails the test with the command to run.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

_UPDATED = False
_APT = ["apt-get", "-o", "DPkg::Lock::Timeout=900", "-y", "-qq"]


def ensure_debian(package: str, executable: str, *, search: tuple[str, ...] = ()) -> str:
    """Path of `executable` (looked up on PATH, then in `search` globs); installs `package` first when
    it is missing and we are root. Fails the test when it cannot be had."""
    global _UPDATED
    path = _find(executable, search)
    if not path and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if not _UPDATED:
            subprocess.run([*_APT, "update"], check=False, capture_output=True, env=env)
            _UPDATED = True
        subprocess.run([*_APT, "install", "--no-install-recommends", package], check=False,
                       capture_output=True, env=env)
        path = _find(executable, search)
    if not path:
        pytest.fail(f"Debian's {package} is not installed and could not be installed "
                    f"(apt-get install {package})")
    return path


def _find(executable: str, search: tuple[str, ...]) -> str | None:
    found = shutil.which(executable)
    if found:
        return found
    for pattern in search:
        hits = sorted(Path("/").glob(pattern.lstrip("/")))
        if hits:
            return str(hits[-1])
    return None

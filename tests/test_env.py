"""The pip lock and environment.yml carry the same packages and pins; the lock pins everything."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines) -> dict[str, str]:
    out = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if not line or line.startswith("-"):
            continue
        m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(==|=)\s*([^\s;]+)$", line)
        assert m, f"not pinned: {line!r}"
        out[norm(m.group(1))] = m.group(3)
    return out


def test_lock_pins_every_package():
    lock = pins((ROOT / "requirements.lock").read_text().splitlines())
    direct = pins((ROOT / "requirements.in").read_text().splitlines())
    assert len(lock) > len(direct)
    for name, version in direct.items():
        assert lock.get(name) == version, f"requirements.in pins {name}=={version}, lock has {lock.get(name)}"
    for name in ("jupyterlab", "papermill", "nbconvert", "pandas", "seaborn", "pingouin"):
        assert name in direct, f"{name} was promised to the users"


def test_environment_yml_matches_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    lock = pins((ROOT / "requirements.lock").read_text().splitlines())
    direct = pins((ROOT / "requirements.in").read_text().splitlines())
    conda, pip = [], []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip += dep.get("pip", [])
        else:
            conda.append(dep)
    conda = [d for d in conda if not d.startswith("python=") and d != "pip"]
    declared = pins(conda + pip)
    assert set(declared) == set(direct), (f"only in environment.yml: {set(declared) - set(direct)}; "
                                          f"only in requirements.in: {set(direct) - set(declared)}")
    for name, version in declared.items():
        assert lock[name] == version, f"environment.yml pins {name}={version}, requirements.lock has {lock[name]}"
    assert "-e ." in pip


def test_engines_lock_pins_everything_and_agrees_with_the_main_lock():
    """requirements-engines.lock (pyspark, warehouse drivers; `make setup ENGINES=1`) only adds packages:
    a package pinned in both locks must carry the same version."""
    engines = pins((ROOT / "requirements-engines.lock").read_text().splitlines())
    lock = pins((ROOT / "requirements.lock").read_text().splitlines())
    assert "pyspark" in engines
    for name, version in engines.items():
        assert lock.get(name, version) == version, f"{name}: engines lock {version}, main lock {lock[name]}"
    makefile = (ROOT / "Makefile").read_text()
    assert "requirements-engines.lock" in makefile

"""Personal data in every artefact (issue 15): a study on exports holding names, emails and phone
numbers (in personal columns and inside free text) is rendered with the real data-inventory notebook,
a notebook that dumps every table every way a notebook can (print, the raw pandas HTML, show_table,
stderr into the kernel log), and one that fails with a row in its error message. Then EVERY file the
workbook wrote — reports, failed/ renderings, findings, the manifest, the index with its tracebacks,
kernel logs and executed notebooks in .cache/runs, the prepared Parquet tables in .cache — is
searched for each raw value. Names inside free text are not detectable and not part of the promise;
the values of name columns are. The pseudonymisation key file stays 0600 and appears nowhere."""
from __future__ import annotations

import html
import os
import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest

from reltoy import ROOT, make_toy, manifest

from insight.paths import Project
from insight.runner import RunOptions, run_report

pytestmark = pytest.mark.slow

PEOPLE = [("C1", "Ann Leeworth", "ann.leeworth@example.com", "+44 20 7946 0958"),
          ("C2", "Bo Chenwick", "bo.chenwick@example.cn", "138 0013 8000"),
          ("C3", "Cyrus Dellamore", "cyrus.d@example.org", "(555) 123-4567")]
NOTES = ["please call me back on +1 212 555 0199 about the invoice",
         "write to finance.lead@example.net, not to me",
         "my mobile 139 1234 5678 is best after 6pm"]

DUMP = """
import sys
import pandas as pd
from IPython.display import display
from insight.study import load_study
from insight.display import show_table
s = load_study(study)
for name in s.tables:
    df = s.table(name)
    print(df.to_string())
    display(df)
    show_table(df, f"All of {name}", base=len(df))
    print(df.head().to_string(), file=sys.stderr)
"""
FAIL = """
from insight.study import load_study
row = load_study(study).table("customers").iloc[0].to_dict()
raise ValueError(f"cannot use this row: {row}")
"""


def needles() -> set[str]:
    out = {v for _, *vals in PEOPLE for v in vals}
    out |= {"+1 212 555 0199", "finance.lead@example.net", "139 1234 5678"}
    return out


def _files(root: Path, folders=("reports", ".cache")):
    for base in (root / f for f in folders):
        for p in base.rglob("*"):
            if p.is_file():
                yield p


def scan(root: Path, secrets: set[str], folders=("reports", ".cache")) -> dict[str, list[str]]:
    """file -> raw values found in it (Parquet read as data, every other file as text, HTML unescaped)."""
    found: dict[str, list[str]] = {}
    for p in _files(root, folders):
        if p.suffix == ".parquet":
            df = pd.read_parquet(p)
            text = "\n".join(df.astype(str).to_csv(index=False).splitlines()) + " ".join(map(str, df.columns))
        else:
            raw = p.read_bytes().decode("utf-8", errors="replace")
            text = raw + "\n" + html.unescape(raw)
        hits = sorted(s for s in secrets if s in text)
        if hits:
            found[str(p.relative_to(root))] = hits
    return found


def test_no_raw_personal_value_in_any_artefact(tmp_path, monkeypatch, figures):
    monkeypatch.delenv("INSIGHT_PII_KEY", raising=False)   # the key file is used, and checked
    customers = "customer_id,name,email,phone,region,segment,signup_date,status\n" + "".join(
        f'{cid},{name},{mail},"{phone}",EMEA,smb,2023-01-05,existing\n' for cid, name, mail, phone in PEOPLE)
    p = make_toy(tmp_path / "toy", {"dump": DUMP, "fails": FAIL}, customers=customers)
    shutil.copy(ROOT / "notebooks" / "data_inventory.ipynb", p.notebooks_dir / "data_inventory.ipynb")
    inter = "interaction_id,customer_id,date,department,channel,direction,type,text\n" + "".join(
        f'I{i},C{i + 1},2024-03-0{i + 1},support,email,inbound,complaint,"{note}"\n' for i, note in enumerate(NOTES))
    (p.root / "data" / "interactions.csv").write_text(inter)
    params = p.params_file("toy")
    params.write_text(params.read_text() + "    interactions: {path: data/interactions.csv}\n")
    key = p.root / ".insight-key"
    key.write_text("a-long-secret-pseudonymisation-key-0123456789\n")
    key.chmod(0o644)   # as after an unzip: it must be owner-only again

    os.environ["INSIGHT_ROOT"] = str(p.root)
    try:
        code = run_report("toy", RunOptions(quiet=True, jobs=2), Project(p.root))
    finally:
        os.environ.pop("INSIGHT_ROOT", None)
    m = manifest(p)["notebooks"]
    assert code == 1 and m["fails"]["status"] == "failed" and "cannot use this row" in m["fails"]["error"]
    assert m["dump"]["status"] == "ok" and m["data_inventory"]["status"] == "ok", {k: v.get("error") for k, v in m.items()}
    assert (p.report_dir("toy") / "failed" / "fails.html").exists()
    assert list((p.cache_dir / "runs" / "toy").glob("*.log"))

    secrets = needles() | {key.read_text().strip()}
    in_inputs = {v for hits in scan(p.root, secrets, ("data",)).values() for v in hits}
    assert in_inputs == needles()   # the scan finds every value where it really is
    found = scan(p.root, secrets)
    figures.personal_found(sum(len(v) for v in found.values()))
    assert not found, found
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    dumped = (p.report_dir("toy") / "dump.html").read_text()
    assert "anon-" in dumped and "[email]" in dumped and "[phone]" in dumped   # the values were there, protected

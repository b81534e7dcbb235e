"""Hostile or broken exports (issue 15): NUL bytes, a 200 MB file on one line, mixed encodings in one
file, spreadsheet formulas in cells, duplicate column names, 10,000 columns. Each is read correctly
or refused with the file, the column or line, and the fix; nothing is written to the cache."""
from __future__ import annotations

import time
import tracemalloc

import pandas as pd
import pytest

from insight.data import DataError
from insight.data.loaders import read_table
from insight.data.prepare import prepare_study_data
from insight.data.testing import write_study
from insight.params import load_params

HEADER = "customer_id,region,segment,signup_date,status\n"


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("INSIGHT_PII_KEY", "k")


def project_with(tmp_path, data: bytes, name: str = "c.csv", spec: dict | None = None):
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / name).write_bytes(data)
    project = write_study(tmp_path, "s", {"tables": {"customers": {"path": f"data/{name}", **(spec or {})}}})
    return load_params("s", project), project


def refused(params, project, figures, *words) -> str:
    figures.bad_input()
    with pytest.raises(DataError) as exc:
        prepare_study_data(params, project)
    text = exc.value.report()
    for w in words:
        assert w in text, text
    assert all(p.fix for p in exc.value.problems if p.severity == "error"), text
    root = project.study_cache("s")
    assert not root.exists() or not [d for d in root.iterdir() if not d.name.startswith(".")], "cache written"
    return text


def rows(n: int, start: int = 1) -> str:
    return "".join(f"C{i},EMEA,smb,2023-01-05,existing\n" for i in range(start, start + n))


def test_a_nul_byte_far_into_the_file_names_its_line(tmp_path, figures):
    data = (HEADER + rows(600) + "C9999,EM\x00EA,smb,2023-01-05,existing\n").encode()
    assert data.index(b"\x00") > 8192   # beyond what the binary sniffing looks at
    params, project = project_with(tmp_path, data)
    refused(params, project, figures, "data/c.csv", "NUL byte", "line 602", "tr -d")


def test_a_200_mb_file_on_one_line_is_refused_without_loading_it(tmp_path, figures):
    path = tmp_path / "data" / "c.csv"
    path.parent.mkdir()
    with open(path, "wb") as fh:
        chunk = b"x," * (1 << 19)   # 1 MiB
        for _ in range(200):
            fh.write(chunk)
    project = write_study(tmp_path, "s", {"tables": {"customers": {"path": "data/c.csv"}}})
    params = load_params("s", project)
    figures.bad_input()
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        loaded, problems = read_table("customers", params.data.tables["customers"], project)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    path.unlink()
    assert loaded is None and "row 1 (the header) is over 1 MB long" in problems[0].message
    assert peak < 20_000_000, f"{peak / 1e6:.0f} MB held to refuse it"
    assert time.perf_counter() - t0 < 10


def test_mixed_encodings_in_one_file_are_refused_with_the_lines(tmp_path, figures):
    utf8 = (HEADER + "C1,Zürich,smb,2023-01-05,existing\nC2,São Paulo,smb,2023-01-05,existing\n"
            "C3,Ærø,smb,2023-01-05,existing\n").encode("utf-8")
    latin = "C4,Café de Paris,smb,2023-01-05,existing\n".encode("cp1252")
    params, project = project_with(tmp_path, utf8 + latin + rows(3, 5).encode())
    refused(params, project, figures, "mixes text encodings", "line 5", "b'\\xe9'", "save the file as UTF-8")


def test_a_real_single_byte_export_still_reads(tmp_path):
    text = HEADER + "C1,Café,smb,2023-01-05,existing\nC2,Zürich,smb,2023-01-05,existing\n"
    params, project = project_with(tmp_path, text.encode("cp1252"), spec={"columns": {}})
    loaded, problems = read_table("customers", params.data.tables["customers"], project)
    assert not problems and list(loaded.frame["region"]) == ["Café", "Zürich"]


FORMULAS = ['=HYPERLINK("http://evil.example/x","click me")', "=cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "+1+cmd|' /C calc'!A0", "-2+3"]


def test_formula_cells_stay_text_in_the_data_and_in_reports(tmp_path, figures):
    from insight.display import table_html
    body = "".join(f'C{i},"{f.replace(chr(34), chr(34) * 2)}",smb,2023-01-05,existing\n' for i, f in enumerate(FORMULAS))
    params, project = project_with(tmp_path, (HEADER + body).encode())
    figures.bad_input(len(FORMULAS))
    loaded, problems = read_table("customers", params.data.tables["customers"], project)
    assert not problems and list(loaded.frame["region"]) == FORMULAS
    html = table_html(loaded.frame[["customer_id", "region"]], "Regions as exported", base=len(FORMULAS))
    assert "<a " not in html and 'href="http' not in html
    import html as htmlmod
    import re
    cells = [htmlmod.unescape(c) for c in re.findall(r'<td id="[^"]+_col1"[^>]*>(.*?)</td>', html)]
    assert cells == FORMULAS


def test_tables_the_workbook_writes_as_csv_cannot_run_formulas(tmp_path, figures):
    """QualData.to_files writes the canonical qualitative tables as CSV for the user to open or re-import:
    a cell starting with = + - @ gets a leading apostrophe (CSV injection); numbers stay numbers."""
    from insight.qual.model import QualData, empty_table

    segments = empty_table("coded_segments")
    segments = pd.DataFrame({c: [None] * len(FORMULAS) for c in segments.columns})
    segments["segment_id"] = [f"s{i}" for i in range(len(FORMULAS))]
    segments["excerpt"] = FORMULAS
    segments["code"] = ["-12.5", "price", "price", "price", "price"]
    qd = QualData(empty_table("participants"), empty_table("qual_sources"), empty_table("codebook"), segments, origin="t")
    figures.bad_input(len(FORMULAS))
    out = qd.to_files(tmp_path / "qual")
    back = pd.read_csv(out["coded_segments"], dtype=str, keep_default_na=False)
    assert [v[0] for v in back["excerpt"]] == ["'"] * len(FORMULAS)
    assert [v[1:] for v in back["excerpt"]] == FORMULAS
    assert back["code"][0] == "-12.5"


def test_duplicate_column_names_are_refused(tmp_path, figures):
    data = ("customer_id,region,segment,region ,signup_date,status\n"
            "C1,EMEA,smb,APAC,2023-01-05,existing\n").encode()
    params, project = project_with(tmp_path, data)
    refused(params, project, figures, "data/c.csv", "customers.region", "'region' 2 times", "columns 2, 4", "unique")
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Customers"
    ws.append(["customer_id", "email", "segment", "email", "region", "signup_date", "status"])
    ws.append(["C1", "a@example.com", "smb", "b@example.com", "EMEA", "2023-01-05", "existing"])
    (tmp_path / "data" / "c.xlsx").parent.mkdir(exist_ok=True)
    wb.save(tmp_path / "data" / "c.xlsx")
    project = write_study(tmp_path, "s", {"tables": {"customers": {"path": "data/c.xlsx", "sheet": "Customers"}}})
    text = refused(load_params("s", project), project, figures, "customers.email", "columns 2, 4")
    assert "a@example.com" not in text


def test_ten_thousand_columns(tmp_path, figures):
    extra = [f"x{i}" for i in range(10_000)]
    header = HEADER.rstrip("\n") + "," + ",".join(extra) + "\n"
    body = "".join(f"C{i},EMEA,smb,2023-01-05,existing," + ",".join("1" for _ in extra) + "\n" for i in range(20))
    params, project = project_with(tmp_path, (header + body).encode())
    figures.bad_input()
    t0 = time.perf_counter()
    prepared = prepare_study_data(params, project)
    assert time.perf_counter() - t0 < 60
    df = pd.read_parquet(prepared.tables["customers"])
    assert len(df) == 20 and "customer_id" in df.columns

"""The data layer on small hand-made exports (tests/fixtures/data): mapping, validation, every
bad-input case with its message, the cache, encodings and formats, PII never left in tables."""
from __future__ import annotations

import gzip
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from insight.data import DataError
from insight.data.prepare import data_fingerprint, prepare_study_data
from insight.data.testing import write_study
from insight.params import ParamsError, Problem, load_params

FIX = Path(__file__).parent / "fixtures" / "data"
CUSTOMERS_MAP = {"Customer ID": "customer_id", "Contact": "name", "E-mail": "email", "Phone": "phone",
                 "Region": "region", "Tier": "segment", "Signup": "signup_date", "Status": "status"}
RAW_PII = ["ann.lee@example.com", "bo.chen@example.cn", "cy@example.org", "di.roy@example.com",
           "+44 20 7946 0958", "138 0013 8000", "(555) 123-4567", "555-987-6543", "Ann Lee", "Bo Chen"]


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("INSIGHT_PII_KEY", "test-key")


def study(tmp_path, customers="customers.csv", orders="orders.csv", products="products.csv", specs=None):
    """A project in tmp_path with the fixture files copied to data/ and a study 's' mapping them."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    tables = {}
    for name, fname, extra in [("customers", customers, {"columns": CUSTOMERS_MAP}),
                               ("products", products, {}), ("orders", orders, {})]:
        if fname is None:
            continue
        if (FIX / fname).exists():
            shutil.copy(FIX / fname, data / fname)
        tables[name] = {"path": f"data/{fname}", **extra}
    for name, spec in (specs or {}).items():
        tables[name] = {**tables.get(name, {}), **spec}
    project = write_study(tmp_path, "s", {"tables": tables})
    return load_params("s", project), project


def problems_of(exc) -> str:
    return "\n".join(str(p) for p in exc.value.problems)


def cache_is_empty(project) -> bool:
    root = project.study_cache("s")
    return not root.exists() or not [d for d in root.iterdir() if not d.name.startswith(".")]


# --- the happy path ---------------------------------------------------------------------------

def test_prepare_maps_validates_and_pseudonymises(tmp_path):
    params, project = study(tmp_path)
    prep = prepare_study_data(params, project)
    assert set(prep.tables) == {"customers", "products", "orders"}
    assert prep.rows == {"customers": 4, "products": 2, "orders": 4}
    cust = pd.read_parquet(prep.tables["customers"])
    # segment labels in any case/spacing become the canonical ones
    assert cust["segment"].tolist() == ["enterprise", "smb", "mid_market", "smb"]
    assert str(cust["signup_date"].dtype).startswith("datetime64")
    assert cust["name"].str.fullmatch(r"anon-[0-9a-f]{16}").all()
    assert cust["email"].str.fullmatch(r"anon-[0-9a-f]{16}").all()
    assert "Notes" not in cust.columns  # an unmapped column (with a phone in it) never reaches the cache
    orders = pd.read_parquet(prep.tables["orders"])
    assert orders["revenue"].sum() == 4800.0 and orders["order_date"].min() == pd.Timestamp("2024-01-03")
    # the product name is not personal data, only customers' contact names are
    assert pd.read_parquet(prep.tables["products"])["name"].tolist() == ["Core platform", "Insight analytics"]
    assert prep.personal["customers"]["pseudonymised"] == ["name", "email", "phone"]
    # soft problem: 1 of 4 regions missing (25% > the 0% default threshold) is a warning, not an error
    [w] = [w for w in prep.warnings if w.key == "customers.region"]
    assert w.severity == "warning" and "25.0%" in w.message and "row 4" in w.message
    assert prep.sources["customers"] == "data/customers.csv"
    assert "delimiter semicolon" in prep.details["orders"][0]


def test_no_raw_email_or_phone_left_in_any_table(tmp_path):
    params, project = study(tmp_path)
    prep = prepare_study_data(params, project)
    for path in prep.tables.values():
        text = pd.read_parquet(path).astype(str).to_csv()
        for raw in RAW_PII:
            assert raw not in text, (path.name, raw)


def test_cache_reused_and_invalidated(tmp_path):
    params, project = study(tmp_path)
    first = prepare_study_data(params, project)
    t0 = time.perf_counter()
    again = prepare_study_data(params, project)
    assert time.perf_counter() - t0 < 0.3
    assert again.tables == first.tables and again.fingerprint == first.fingerprint
    # a changed file gives a new fingerprint and a new prepared version
    with open(tmp_path / "data" / "orders.csv", "a") as fh:
        fh.write("O5;C001;P2;2024-04-01;1;800\n")
    fp = data_fingerprint(params, project)
    assert fp != first.fingerprint
    assert prepare_study_data(params, project).rows["orders"] == 5


def test_tables_read_whole_come_from_a_mapped_copy_equal_to_the_parquet(tmp_path, monkeypatch):
    """Study.table reads a prepared table through an Arrow IPC copy (prepare.read_prepared): the frame
    is pd.read_parquet's (times in nanoseconds), the copy is written by the first reader and used by
    the next, and a damaged copy is read from Parquet and written again."""
    import pyarrow.parquet as pq

    from insight.data import prepare
    from insight.study import Study

    params, project = study(tmp_path)
    prepared = prepare_study_data(params, project)
    for name, path in prepared.tables.items():
        want = pd.read_parquet(path)
        for c in want.columns:
            if str(want[c].dtype) == "datetime64[us]":
                want[c] = want[c].astype("datetime64[ns]")
        got = Study("s", params, project).table(name)
        pd.testing.assert_frame_equal(got, want)
        copies = list((path.parent / prepare.FRAMES).glob(f"{name}-*.arrow"))
        assert len(copies) == 1 and prepared.checksums[name][1][:16] in copies[0].name
    copy = next((prepared.tables["orders"].parent / prepare.FRAMES).glob("orders-*.arrow"))
    with monkeypatch.context() as m:   # the next reader uses the copy: the Parquet file is not read
        m.setattr(pq, "read_table", lambda *a, **k: pytest.fail("read the Parquet file again"))
        assert len(Study("s", params, project).table("orders")) == prepared.rows["orders"]
    copy.write_bytes(copy.read_bytes()[:100])   # a truncated copy (a disk error)
    assert len(Study("s", params, project).table("orders")) == prepared.rows["orders"]
    assert prepare._ipc_file_rows(copy) == prepared.rows["orders"]
    # a copy left half-written by a killed kernel is removed by the next run (insight.safety.clean_stale)
    import os
    import subprocess
    import sys

    from insight import safety

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    stale, live = (copy.parent / f".tmp-{copy.stem}-{pid}.arrow" for pid in (dead, os.getpid()))
    stale.write_bytes(b"x")
    live.write_bytes(b"x")
    assert stale in safety.clean_stale(project, "s") and not stale.exists() and live.exists()


def test_fingerprint_does_not_load_data(tmp_path, monkeypatch):
    params, project = study(tmp_path)
    import insight.data.loaders as loaders

    monkeypatch.setattr(loaders, "read_table", lambda *a, **k: pytest.fail("fingerprint loaded data"))
    fp = data_fingerprint(params, project)
    assert fp == data_fingerprint(params, project) and len(fp) == 20


def test_study_with_only_some_tables(tmp_path, monkeypatch):
    params, project = study(tmp_path, orders=None, products=None)
    prep = prepare_study_data(params, project)
    assert set(prep.tables) == {"customers"}
    from insight.study import load_study

    s = load_study("s", project)
    assert s.has("customers") and not s.has("orders")
    assert len(s.table("customers")) == 4


def test_values_mapping_and_yaml_booleans(tmp_path):
    # YAML reads `Yes:`/`No:` keys as booleans; they still match the file's "Yes"/"No"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "c.csv").write_text(
        "id,seg,since,churned\nA,Large,2023-01-01,Yes\nB,Small,2023-02-01,No\n", encoding="utf-8")
    project = write_study(tmp_path, "s", {"tables": {"customers": {
        "path": "data/c.csv", "columns": {"id": "customer_id", "seg": "segment", "since": "signup_date", "churned": "status"},
        "values": {"segment": {"Large": "enterprise", "Small": "smb"}, "status": {True: "churned", False: "existing"}},
        "defaults": {"region": None}}}})
    params = load_params("s", project)
    cust = pd.read_parquet(prepare_study_data(params, project).tables["customers"])
    assert cust["segment"].tolist() == ["enterprise", "smb"]
    assert cust["status"].tolist() == ["churned", "existing"]


# --- bad input: a clear message each, nothing written -------------------------------------------

def test_missing_file(tmp_path):
    params, project = study(tmp_path)
    # params validation already names it...
    (tmp_path / "data" / "orders.csv").unlink()
    with pytest.raises(ParamsError) as exc:
        load_params("s", project)
    assert "file not found: data/orders.csv" in problems_of(exc)
    # ...and so does the data layer when the file disappears after the params were read
    with pytest.raises(DataError) as exc:
        prepare_study_data(params, project)
    text = problems_of(exc)
    assert "orders file does not exist" in text and "data/orders.csv" in text and "customers.csv" in text
    assert cache_is_empty(project)


def test_wrong_excel_sheet_lists_sheets(tmp_path):
    params, project = study(tmp_path)
    xlsx = tmp_path / "data" / "products.xlsx"
    with pd.ExcelWriter(xlsx) as xw:
        pd.read_csv(FIX / "products.csv").to_excel(xw, sheet_name="Products", index=False)
        pd.DataFrame({"a": [1]}).to_excel(xw, sheet_name="Notes", index=False)
    params, project = study(tmp_path, products=None)
    project = write_study(tmp_path, "s", {"tables": {**{k: v.model_dump(exclude_defaults=True) for k, v in params.data.tables.items()},
                                                     "products": {"path": "data/products.xlsx", "sheet": "Produkte"}}})
    params = load_params("s", project)
    with pytest.raises(DataError) as exc:
        prepare_study_data(params, project)
    text = problems_of(exc)
    assert "has no sheet 'Produkte'; its sheets are: Products, Notes" in text
    assert "sheet: Products" in text
    assert cache_is_empty(project)
    # the right sheet loads
    project = write_study(tmp_path, "s", {"tables": {**{k: v.model_dump(exclude_defaults=True) for k, v in params.data.tables.items()},
                                                     "products": {"path": "data/products.xlsx", "sheet": "Products"}}})
    prep = prepare_study_data(load_params("s", project), project)
    assert pd.read_parquet(prep.tables["products"])["list_price"].tolist() == [1200.0, 800.0]
    assert "sheet 'Products'" in prep.details["products"][0]


def test_unmapped_required_column_suggests_mapping(tmp_path):
    cmap = {k: v for k, v in CUSTOMERS_MAP.items() if k != "Signup"}
    params, project = study(tmp_path, specs={"customers": {"columns": cmap}})
    with pytest.raises(DataError) as exc:
        prepare_study_data(params, project)
    [p] = [p for p in exc.value.problems if p.key == "customers.signup_date"]
    assert p.file == "data/customers.csv"
    assert "required column 'signup_date' is missing" in p.message
    assert "Signup" in p.message and "Notes" in p.message          # the file's columns are listed
    assert "`columns: {Signup: signup_date}`" in p.fix
    assert cache_is_empty(project)


def test_unparseable_date_names_rows_and_format(tmp_path):
    params, project = study(tmp_path, customers="customers_bad_dates.csv")
    with pytest.raises(DataError) as exc:
        prepare_study_data(params, project)
    [p] = [p for p in exc.value.problems if p.key == "customers.signup_date"]
    # data rows 3 and 4 of the file are rows 4 and 5 counting the header as row 1
    assert "2 values could not be read as a date" in p.message and "rows 4, 5" in p.message and "'01.03.2023'" in p.message
    assert "YYYY-MM-DD" in p.message
    assert 'date_format: "%d.%m.%Y"' in p.fix
    assert cache_is_empty(project)


def test_date_format_declared(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "c.csv").write_text("customer_id,region,segment,signup_date,status\n"
                                             "A,EMEA,smb,31/01/2023,existing\nB,APAC,smb,01/02/2023,existing\n")
    project = write_study(tmp_path, "s", {"tables": {"customers": {"path": "data/c.csv", "date_format": "%d/%m/%Y"}}})
    cust = pd.read_parquet(prepare_study_data(load_params("s", project), project).tables["customers"])
    assert cust["signup_date"].tolist() == [pd.Timestamp("2023-01-31"), pd.Timestamp("2023-02-01")]


def test_duplicate_keys(tmp_path):
    params, project = study(tmp_path, customers="customers_dup_keys.csv", orders=None)
    with pytest.raises(DataError) as exc:
        prepare_study_data(params, project)
    [p] = [p for p in exc.value.problems if p.key == "customers.customer_id"]
    assert "2 rows share their key (customer_id)" in p.message and "rows 3, 5" in p.message and "'C002'" in p.message
    assert "one_row_per_key" in p.fix
    assert cache_is_empty(project)


def test_order_for_unknown_customer(tmp_path):
    params, project = study(tmp_path, orders="orders_unknown_customer.csv")
    with pytest.raises(DataError) as exc:
        prepare_study_data(params, project)
    [p] = [p for p in exc.value.problems if p.key == "orders.customer_id"]
    assert p.file == "data/orders_unknown_customer.csv"
    assert "2 rows refer to 2 customer_id values missing from the customers table" in p.message
    assert "rows 4, 5" in p.message and "'C998'" in p.message and "'C999'" in p.message
    assert cache_is_empty(project)


def test_tables_prepared_one_at_a_time_after_the_tables_they_refer_to(tmp_path):
    """Preparation streams the tables (one in memory at a time): orders listed before customers and
    products are still checked against them; a bad table after good ones leaves no cache."""
    from insight.data.prepare import _order

    assert _order(["orders", "coded_segments", "customers", "qual_sources", "products", "codebook"]) == [
        "customers", "qual_sources", "products", "codebook", "orders", "coded_segments"]
    data = tmp_path / "data"
    data.mkdir()
    for f in ("orders_unknown_customer.csv", "customers.csv", "products.csv"):
        shutil.copy(FIX / f, data / f)
    tables = {"orders": {"path": "data/orders_unknown_customer.csv"},
              "customers": {"path": "data/customers.csv", "columns": CUSTOMERS_MAP},
              "products": {"path": "data/products.csv"}}
    project = write_study(tmp_path, "s", {"tables": tables})
    with pytest.raises(DataError) as exc:
        prepare_study_data(load_params("s", project), project)
    [p] = [p for p in exc.value.problems if p.key == "orders.customer_id"]
    assert "2 rows refer to 2 customer_id values missing from the customers table" in p.message
    assert cache_is_empty(project) and not list(project.study_cache("s").glob(".tmp-*"))
    shutil.copy(FIX / "orders.csv", data / "orders_unknown_customer.csv")   # fixed: all three written
    prepared = prepare_study_data(load_params("s", project), project)
    assert list(prepared.tables) == ["orders", "customers", "products"] == list(prepared.rows)
    assert prepared.rows["orders"] == 4 and all(p.is_file() for p in prepared.tables.values())


def test_unknown_category_lists_allowed_and_suggests_values(tmp_path):
    params, project = study(tmp_path, customers="customers_bad_segment.csv")
    with pytest.raises(DataError) as exc:
        prepare_study_data(params, project)
    [p] = [p for p in exc.value.problems if p.key == "customers.segment"]
    assert "2 values are not allowed" in p.message and "rows 2, 3" in p.message
    assert "'Gold'" in p.message and "allowed: enterprise, mid_market, smb" in p.message
    assert "values: {segment: {" in p.fix and "'Gold':" in p.fix and "data.segments" in p.fix


def test_own_segments_allowed(tmp_path):
    params, project = study(tmp_path, customers="customers_bad_segment.csv")
    project = write_study(tmp_path, "s", {"tables": {k: v.model_dump(exclude_defaults=True) for k, v in params.data.tables.items()},
                                          "segments": ["gold", "small_biz", "mid_market", "smb"]})
    cust = pd.read_parquet(prepare_study_data(load_params("s", project), project).tables["customers"])
    assert cust["segment"].tolist() == ["gold", "small_biz", "mid_market", "smb"]


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"order_id;customer_id;product_id;order_date;quantity;revenue\n", "has a header row but no data rows"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" * 20, "holds binary data, not text"),
    (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 64, "is a zip archive (an Excel .xlsx workbook?)"),
])
def test_empty_and_binary_files(tmp_path, content, message):
    params, project = study(tmp_path)
    (tmp_path / "data" / "orders.csv").write_bytes(content)
    with pytest.raises(DataError) as exc:
        prepare_study_data(params, project)
    [p] = [p for p in exc.value.problems if p.file == "data/orders.csv"]
    assert message in p.message and p.fix
    assert cache_is_empty(project)


def test_every_problem_reported_at_once(tmp_path):
    params, project = study(tmp_path, customers="customers_bad_dates.csv", orders="orders_unknown_customer.csv",
                            products="empty.csv")
    with pytest.raises(DataError) as exc:
        prepare_study_data(params, project)
    keys = {p.key for p in exc.value.problems if p.severity == "error"}
    assert {"customers.signup_date", "products"} <= keys
    assert "problems in the study's data; nothing was prepared or written" in str(exc.value)


# --- encodings and formats ----------------------------------------------------------------------

ZH = "customer_id,region,segment,signup_date,status,name\n" + "".join(
    f"C{i},{r},smb,2023-0{1 + i % 9}-15,existing,{n}\n"
    for i, (r, n) in enumerate([("华东", "张伟"), ("华南", "李娜"), ("华北", "王芳"), ("西南", "刘洋"), ("华东", "陈静"),
                                ("东北", "杨磊"), ("华中", "赵敏"), ("西北", "黄强")]))
LATIN = "customer_id;region;segment;signup_date;status;name\n" + "".join(
    f"C{i};{r};smb;2023-0{1 + i % 9}-15;existing;{n}\n"
    for i, (r, n) in enumerate([("Île-de-France", "José Müller"), ("Baden-Württemberg", "Zoë Dupré"),
                                ("Comunidad Valenciana", "Begoña Núñez"), ("Besançon", "François Øster")]))


@pytest.mark.parametrize("text, encoding, expected", [
    (ZH, "utf-8", "utf-8"),
    (ZH, "utf-8-sig", "utf-8-sig"),
    (ZH, "gb18030", "gb18030"),
    (ZH, "gbk", "gb18030"),
    (LATIN, "cp1252", "cp1252"),
    (LATIN, "latin-1", "cp1252"),   # Latin-1 letters decode the same as cp1252
    (ZH, "utf-16", "utf-16"),
])
def test_encodings_detected(tmp_path, text, encoding, expected):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "c.csv").write_bytes(text.encode(encoding))
    project = write_study(tmp_path, "s", {"tables": {"customers": {"path": "data/c.csv"}}})
    params = load_params("s", project)
    prep = prepare_study_data(params, project)
    cust = pd.read_parquet(prep.tables["customers"])
    want = pd.read_csv(pd.io.common.StringIO(text), sep=None, engine="python")
    assert cust["region"].tolist() == want["region"].tolist()
    assert f"encoding {expected}" in prep.details["customers"][0]


@pytest.mark.parametrize("text, encoding, expected", [
    # a few lines of Chinese in GBK: too short for charset-normalizer, which guesses cp1252 or cp949
    ("客户,金额\nA,100\n", "gbk", "gb18030"),
    ("id,name\n1,王芳\n2,李娜\n", "gbk", "gb18030"),
    ("订单号,客户,日期,金额\nO1,C1,2024-01-05,120.5\n", "gbk", "gb18030"),
    ("备注\n“好”，非常满意！\n", "gbk", "gb18030"),
    ("产品\n华为Mate60手机\n", "gbk", "gb18030"),
    # short Western files stay Western: an accented letter read as GB18030 lands inside a word
    ("name,city\nMüller,Köln\n", "cp1252", "cp1252"),
    ("id,note\n1,naïve résumé\n", "cp1252", "cp1252"),
    ("x\nStraße\n", "cp1252", "cp1252"),
    ("x\nÉmile\n", "cp1252", "cp1252"),
    # Japanese keeps charset-normalizer's answer
    ("名前,都市\n田中,東京\n", "shift_jis", "cp932"),
])
def test_short_files_decoded_in_their_encoding(text, encoding, expected):
    from insight.data.loaders import decode
    got, enc, reason = decode(text.encode(encoding))
    assert (got, enc, reason) == (text, expected, None)


def test_declared_encoding_used_and_wrong_one_reported(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "c.csv").write_bytes(ZH.encode("gb18030"))
    project = write_study(tmp_path, "s", {"tables": {"customers": {"path": "data/c.csv", "encoding": "gb18030"}}})
    prep = prepare_study_data(load_params("s", project), project)
    assert pd.read_parquet(prep.tables["customers"])["region"].iloc[0] == "华东"
    project = write_study(tmp_path, "s", {"tables": {"customers": {"path": "data/c.csv", "encoding": "utf-8"}}})
    with pytest.raises(DataError) as exc:
        prepare_study_data(load_params("s", project), project)
    assert "is not valid utf-8" in problems_of(exc) and "line 2" in problems_of(exc)


def test_gzip_tab_delimited_and_parquet(tmp_path):
    (tmp_path / "data").mkdir()
    with gzip.open(tmp_path / "data" / "c.tsv.gz", "wt", encoding="utf-8") as fh:
        fh.write(ZH.replace(",", "\t"))
    pd.read_csv(FIX / "products.csv").to_parquet(tmp_path / "data" / "p.parquet")
    project = write_study(tmp_path, "s", {"tables": {"customers": {"path": "data/c.tsv.gz"},
                                                     "products": {"path": "data/p.parquet"}}})
    prep = prepare_study_data(load_params("s", project), project)
    assert prep.rows == {"customers": 8, "products": 2}
    assert "delimiter tab" in prep.details["customers"][0] and "gzip" in prep.details["customers"][0]


def test_survey_restricted_to_study_period_transactions_kept(tmp_path):
    params, project = study(tmp_path)
    (tmp_path / "data" / "survey.csv").write_text(
        "respondent_id,customer_id,wave,started_at,submitted_at,duration_seconds,completed,q_nps,comment\n"
        "R1,C001,2023,2023-10-01 10:00,2023-10-01 10:09,540,true,9,mail me at ann.lee@example.com\n"
        "R2,C002,2024,2024-10-01 10:00,2024-10-01 10:05,300,true,3,call +44 20 7946 0958\n"
        "R3,C003,2024,2024-10-02 11:00,,,false,,\n", encoding="utf-8")
    orders = pd.read_csv(FIX / "orders.csv", sep=";")
    orders.loc[len(orders)] = ["O0", "C001", "P1", "2022-06-01", 1, 1200]
    orders.to_csv(tmp_path / "data" / "orders.csv", sep=";", index=False)
    tables = {k: v.model_dump(exclude_defaults=True) for k, v in params.data.tables.items()}
    tables["survey_responses"] = {"path": "data/survey.csv"}
    project = write_study(tmp_path, "s", {"tables": tables})
    # the responses are checked against the study's questionnaire when they are prepared
    (tmp_path / "questionnaire.yaml").write_text(
        "title: t\nsections:\n  - title: s\n    questions:\n      - {id: q_nps, type: nps, scale: {min: 0, max: 10}}\n"
        "      - {id: comment, type: open}\n", encoding="utf-8")
    with open(project.params_file("s"), "a", encoding="utf-8") as fh:
        fh.write(f"survey: {{questionnaire: '{tmp_path / 'questionnaire.yaml'}', weighting: {{margins: {{}}}}}}\n")
    prep = prepare_study_data(load_params("s", project), project)
    survey = pd.read_parquet(prep.tables["survey_responses"])
    assert survey["respondent_id"].tolist() == ["R2", "R3"]           # the 2023 response is left out
    assert survey["comment"].iloc[0] == "call [phone]"                 # open ends are masked
    assert prep.rows["orders"] == 5                                    # full transaction history kept
    assert any("outside the study period" in d for d in prep.details["survey_responses"])


def test_params_catch_mapping_typos_before_reading_data(tmp_path):
    (tmp_path / "data").mkdir()
    shutil.copy(FIX / "products.csv", tmp_path / "data" / "products.csv")
    project = write_study(tmp_path, "s", {"tables": {"products": {
        "path": "data/products.csv", "columns": {"Name": "nmae"}, "values": {"categroy": {"x": "y"}},
        "aggregate": {"name": "first"}}}})
    with pytest.raises(ParamsError) as exc:
        load_params("s", project)
    text = problems_of(exc)
    assert "data.tables.products.values.categroy" in text and "did you mean `category`?" in text
    assert "'Name' is mapped to 'nmae'" in text and "did you mean `name`?" in text
    assert "`aggregate:` only applies with `one_row_per_key: true`" in text
    assert "params/s.yaml:" in text   # with the line in the params file


def test_compute_expressions_are_restricted(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "p.csv").write_text("product_id,name,category,price\nP1,A,x,2\n")
    project = write_study(tmp_path, "s", {"tables": {"products": {
        "path": "data/p.csv", "compute": {"list_price": "price.__class__"}}}})
    with pytest.raises(DataError) as exc:
        prepare_study_data(load_params("s", project), project)
    assert "is not allowed" in problems_of(exc)


def test_headers_differing_only_in_case_and_spacing_map_themselves(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "c.csv").write_text("Customer ID,Region,Segment,Signup Date,STATUS\n"
                                             "A,EMEA,smb,2023-01-31,existing\n")
    project = write_study(tmp_path, "s", {"tables": {"customers": {"path": "data/c.csv"}}})
    prep = prepare_study_data(load_params("s", project), project)
    cust = pd.read_parquet(prep.tables["customers"])
    assert list(cust.columns) == ["customer_id", "region", "segment", "signup_date", "status"]
    assert "column 'Customer ID' read as customer_id" in prep.details["customers"]


# --- deriving several tables from one export (the Online Retail design, on a hand-made file) ----

LINES = """Invoice,Code,Description,Qty,Price,Customer,When,Country
1001,A1,Red mug,2,3.50,17850.0,01/12/2010 08:26,United Kingdom
1001,A1,Red mug,1,3.50,17850.0,01/12/2010 08:26,United Kingdom
1001,POST,Postage,1,18.00,17850.0,01/12/2010 08:26,United Kingdom
1002,B2,,5,1.25,,01/12/2010 09:00,France
C1003,A1,Red mug,-1,3.50,12583.0,02/12/2010 10:00,France
1004,B2,Blue plate,4,1.25,12583.0,03/12/2010 11:00,France
"""
SHARED = {"path": "data/lines.csv", "date_format": "%d/%m/%Y %H:%M"}


def test_orders_customers_products_derived_from_one_file(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "lines.csv").write_text(LINES, encoding="utf-8")
    project = write_study(tmp_path, "s", {"tables": {
        "orders": {**SHARED, "columns": {"Invoice": "order_id", "Code": "product_id", "Customer": "customer_id",
                                         "When": "order_date", "Qty": "quantity", "Price": "unit_price"},
                   "drop_missing": ["customer_id"], "exclude": {"product_id": ["POST"]},
                   "compute": {"revenue": "quantity * unit_price", "is_return": "quantity < 0"},
                   "one_row_per_key": True, "aggregate": {"quantity": "sum", "revenue": "sum"}},
        "customers": {**SHARED, "columns": {"Customer": "customer_id", "When": "signup_date", "Country": "region"},
                      "drop_missing": ["customer_id"], "defaults": {"status": "existing", "segment": None},
                      "one_row_per_key": True, "aggregate": {"signup_date": "min"}},
        "products": {**SHARED, "columns": {"Code": "product_id", "Description": "name"},
                     "exclude": {"product_id": ["POST"]}, "defaults": {"category": "giftware"},
                     "fill_missing": {"name": "(no description)"}, "one_row_per_key": True}}},
        period=("2010-12-01", "2010-12-31"))
    prep = prepare_study_data(load_params("s", project), project)
    t = {k: pd.read_parquet(v) for k, v in prep.tables.items()}
    o = t["orders"].set_index(["order_id", "product_id"])
    # invoice 1001 has A1 twice: 2 x 3.50 + 1 x 3.50 = 10.50 for quantity 3; postage excluded
    assert o.loc[("1001", "A1"), "quantity"] == 3 and o.loc[("1001", "A1"), "revenue"] == pytest.approx(10.5)
    assert ("1001", "POST") not in o.index and ("1002", "B2") not in o.index   # no customer: dropped
    assert bool(o.loc[("C1003", "A1"), "is_return"]) and o.loc[("C1003", "A1"), "revenue"] == pytest.approx(-3.5)
    assert o.loc[("1004", "B2"), "order_date"] == pd.Timestamp("2010-12-03")
    c = t["customers"].set_index("customer_id")
    assert sorted(c.index) == ["12583", "17850"]                                # float ids read as text ids
    assert c.loc["12583", "signup_date"] == pd.Timestamp("2010-12-02")          # first invoice
    p = t["products"].set_index("product_id")
    assert p.loc["B2", "name"] == "Blue plate"      # the first real description, not the filler
    [w] = [w for w in prep.warnings if w.key == "orders.customer_id"]
    assert "1 of 6 rows have no customer_id and were dropped (row 5)" in w.message
    assert any("1 row excluded by product_id" in d for d in prep.details["orders"])


def test_date_offsets_in_days(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "c.csv").write_text("id,age_days,status\nA,0,existing\nB,31,existing\n")
    project = write_study(tmp_path, "s", {"tables": {"customers": {
        "path": "data/c.csv", "columns": {"id": "customer_id"}, "defaults": {"region": None, "segment": None},
        "date_offsets": {"signup_date": {"as_of": "2024-03-31", "days": "age_days"}}}}})
    cust = pd.read_parquet(prepare_study_data(load_params("s", project), project).tables["customers"])
    assert cust["signup_date"].tolist() == [pd.Timestamp("2024-03-31"), pd.Timestamp("2024-02-29")]


# --- the cache under failure and in parallel ------------------------------------------------------

def test_failed_write_leaves_no_cache(tmp_path, monkeypatch):
    params, project = study(tmp_path)
    calls = []
    real = pd.DataFrame.to_parquet

    def flaky(self, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(self, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", flaky)
    with pytest.raises(OSError):
        prepare_study_data(params, project)
    assert cache_is_empty(project)
    assert not list(project.study_cache("s").glob(".tmp-*"))
    monkeypatch.setattr(pd.DataFrame, "to_parquet", real)
    assert prepare_study_data(params, project).rows["orders"] == 4


def _prepare_in_process(root: str) -> str:
    import os

    os.environ["INSIGHT_PII_KEY"] = "test-key"
    from insight.paths import Project

    project = Project(Path(root))
    return str(prepare_study_data(load_params("s", project), project).tables["orders"])


def test_parallel_prepares_share_one_cache(tmp_path):
    from concurrent.futures import ProcessPoolExecutor

    study(tmp_path)
    with ProcessPoolExecutor(2) as pool:
        paths = list(pool.map(_prepare_in_process, [str(tmp_path)] * 2))
    assert paths[0] == paths[1] and Path(paths[0]).is_file()
    dirs = [d for d in (tmp_path / ".cache" / "studies" / "s").iterdir() if not d.name.startswith(".")]
    assert len(dirs) == 1


def test_csv_given_as_excel(tmp_path):
    params, project = study(tmp_path)
    shutil.copy(FIX / "products.csv", tmp_path / "data" / "products.xlsx")
    tables = {k: v.model_dump(exclude_defaults=True) for k, v in params.data.tables.items()}
    tables["products"] = {"path": "data/products.xlsx", "sheet": "Products"}
    project = write_study(tmp_path, "s", {"tables": tables})
    with pytest.raises(DataError) as exc:
        prepare_study_data(load_params("s", project), project)
    assert "products.xlsx is not a readable .xlsx workbook" in problems_of(exc)


def test_excel_rows_and_types(tmp_path):
    (tmp_path / "data").mkdir()
    df = pd.DataFrame({"customer_id": [101, 102, 103], "region": ["EMEA", "APAC", "AMER"],
                       "segment": ["smb", "Gold", "enterprise"],
                       "signup_date": pd.to_datetime(["2023-01-31", "2023-02-28", "2023-03-31"]),
                       "status": ["existing"] * 3})
    df.to_excel(tmp_path / "data" / "c.xlsx", sheet_name="Accounts", index=False)
    project = write_study(tmp_path, "s", {"tables": {"customers": {"path": "data/c.xlsx", "sheet": "Accounts"}}})
    with pytest.raises(DataError) as exc:
        prepare_study_data(load_params("s", project), project)
    # the second data row is spreadsheet row 3 (the header is row 1)
    assert "1 value is not allowed (row 3; e.g. 'Gold')" in problems_of(exc)
    df.loc[1, "segment"] = "mid_market"
    df.to_excel(tmp_path / "data" / "c.xlsx", sheet_name="Accounts", index=False)
    cust = pd.read_parquet(prepare_study_data(load_params("s", project), project).tables["customers"])
    assert cust["customer_id"].tolist() == ["101", "102", "103"]          # ids are text
    assert cust["signup_date"].iloc[1] == pd.Timestamp("2023-02-28")


def test_keys_are_unique_on_large_tables_agrees_with_pandas():
    """keys_are_unique takes DuckDB over Arrow from 100,000 rows: the same answer as DataFrame.duplicated,
    with two missing keys equal (as in pandera) and mixed-type object columns falling back to pandas."""
    import numpy as np

    from insight.data.validate import keys_are_unique

    n = 200_000
    df = pd.DataFrame({"a": [f"o{i}" for i in range(n)], "b": ["p1"] * n,
                       "d": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n), "s"),
                       "i": pd.array(np.arange(n), dtype="Int64")})
    assert keys_are_unique(df, ["a", "b"]) and keys_are_unique(df, ["d"]) and keys_are_unique(df, ["i", "b"])
    twice = df.copy()
    twice.loc[5, "a"] = "o7"
    assert not keys_are_unique(twice, ["a", "b"]) and keys_are_unique(twice, ["a", "d"])
    missing = df.copy()
    missing.loc[[3, 9], "a"] = np.nan
    assert not keys_are_unique(missing, ["a", "b"]) and missing.duplicated(["a", "b"]).any()
    mixed = df.astype({"a": object})
    mixed.loc[4, "a"] = 4
    mixed.loc[8, "a"] = 4
    assert not keys_are_unique(mixed, ["a", "b"])
    assert not keys_are_unique(df, ["a", "not_there"])
    # the checks share one connection per process; a forked child (the runner prepares in one) opens
    # its own instead of using the parent's, and gets the same answers
    import os
    pid = os.fork()
    if pid == 0:
        ok = keys_are_unique(df, ["a", "b"]) and not keys_are_unique(twice, ["a", "b"])
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_key_check_on_rows_in_key_order_is_exact():
    """Rows in key order are decided by comparing neighbours (no grouping): sorted on the whole key, or on
    its first columns with the rest one column of few values (a bit per value within each run of equal
    first columns). Hand-made cases, each against what the rows hold."""
    import pyarrow

    from insight.data.validate import _unique_if_sorted

    def decide(**cols):
        t = pyarrow.table(cols)
        return _unique_if_sorted([t.column(i) for i in range(t.num_columns)])

    assert decide(a=["a1", "a2", "a3"]) is True
    assert decide(a=["a1", "a2", "a2", "a3"]) is False                       # equal neighbours
    assert decide(a=["a1", "a3", "a2"]) is None                              # not in order: grouped instead
    assert decide(a=[1, 1, 2], b=["x", "y", "x"]) is True                    # sorted on the whole key
    assert decide(a=[1, 1, 2, 2], b=["y", "x", "x", "x"]) is False           # run 2 holds x twice
    assert decide(a=[1, 1, 1, 2, 2], b=["y", "z", "x", "z", "y"]) is True     # rest unsorted, distinct per run
    assert decide(a=[1, 1, 1, 2, 2], b=["y", "x", "y", "z", "x"]) is False    # y twice in run 1, not neighbours
    assert decide(a=[1, 1, 2, 3], b=["x", "x", "y", "z"][::-1]) is True
    d = pyarrow.array([pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01")])
    assert decide(c=["C1", "C1", "C1"], m=d, f=["p", "q", "p"]) is True     # sorted on (c, m); f distinct per run
    assert decide(c=["C1", "C1", "C1"], m=d, f=["q", "q", "p"]) is False
    assert decide(c=["C1", "C1", "C1"], m=d, f=["q", "p", "p"]) is True      # p in two months: no duplicate
    many = [f"v{i:03d}" for i in range(65)]                                 # more than 64 values: grouped
    assert decide(a=[1] * 65, b=many[::-1]) is None
    assert decide(a=[1] * 64, b=many[:64][::-1]) is True
    assert decide(a=[1] * 65, b=many[:64][::-1] + ["v000"]) is False
    assert decide(a=["a1", None, "a2"]) is None                             # missing values: grouped
    assert decide(a=[1.0, 2.0, 3.0]) is None                                # floats (NaN, -0.0): grouped
    assert decide(a=[1, 2, 2], b=[3, 1, 2]) is True                         # ints, rest of many values but
    assert decide(a=[2, 1], b=[1, 1]) is None                               # ... first column out of order


@pytest.mark.parametrize("ordered", [True, False])
def test_duplicate_keys_in_a_large_table_named_as_before(ordered):
    """From 100,000 rows the key check runs on Arrow (neighbours when the rows are in key order, else a
    grouping); duplicates found either way are named row by row by pandera, as for a small table."""
    import numpy as np

    from insight.data.validate import keys_are_unique, validate_table
    from insight.data.loaders import ROW

    n = 150_000
    months = pd.date_range("2023-01-01", periods=3, freq="MS")
    df = pd.DataFrame({"customer_id": pd.array([f"C{i // 6:06d}" for i in range(n)], dtype="str"),
                       "month": np.tile(np.repeat(months.to_numpy(), 2), n // 6),
                       "feature": pd.array(["core", "api"] * (n // 2), dtype="str"),
                       "active_users": pd.array(np.ones(n, dtype=np.int64), dtype="Int64")})
    if not ordered:
        df = df.iloc[::-1].reset_index(drop=True)
    df[ROW] = range(2, n + 2)
    assert keys_are_unique(df, ["customer_id", "month", "feature"])
    assert validate_table("usage", df, "usage.csv") == []
    dup = df.copy()
    both = np.flatnonzero(((dup["customer_id"] == "C000166") & (dup["month"] == months[2])).to_numpy())
    dup.loc[both, "feature"] = "core"                       # C000166's two March rows: core and core
    assert not keys_are_unique(dup, ["customer_id", "month", "feature"])
    [p] = validate_table("usage", dup, "usage.csv")
    assert p.key == "usage.customer_id+month+feature"
    first, second = sorted(df[ROW].to_numpy()[both])
    assert f"(rows {first}, {second}; e.g. 'C000166 / 2023-03-01 / core'" in p.message
    assert "2 rows share their key (customer_id + month + feature) with another row" in p.message


@pytest.mark.parametrize("storage", ["arrow", "object"])
def test_text_scans_answer_as_pandas(storage):
    """insight.data.mapping.Text answers by Arrow scans what the pandas expressions it replaces answer,
    and by those expressions for text not held in Arrow."""
    from insight.data.mapping import Text

    cases = [["a", "b"], [" a", "b"], ["a", "b "], ["a", None, "b"], [None, None], [], ["", "x"], [None, "", None],
             [None, "12.0", "3"], ["7.0"], ["smb", None, "enterprise"], ["smb", "Mid-Market"], ["a\t", "\tb"]]
    for values in cases:
        s = pd.Series(values, dtype="str" if storage == "arrow" else object)
        t = Text(s)
        assert (t.arrow is not None) == (storage == "arrow")
        assert t.spaced() == bool(len(s) and (s.str.startswith(" ").any() or s.str.endswith(" ").any())), values
        assert t.has_empty() == bool((s == "").to_numpy(dtype=bool, na_value=False).any()), values
        nn = s.dropna()
        assert t.first() == (nn.iloc[0] if len(nn) else None), values
        allowed = ("smb", "enterprise", "a", "b")
        assert t.all_in(allowed) == (not (s.notna() & ~s.isin(allowed)).any()), values
        assert t.all_in(()) == (not s.notna().any()), values


def test_dates_at_midnight_are_not_normalised_again():
    from insight.data.mapping import _at_midnight

    s = pd.Series(pd.to_datetime(["2024-01-31", None, "1969-12-31", "1900-02-28"]))
    assert _at_midnight(s) and s.dt.normalize().equals(s)
    for late in ["2024-01-31 00:00:00.000000001", "1969-12-31 23:59:59", "1900-02-28 12:00"]:
        t = pd.Series(pd.to_datetime([late, None]))
        assert not _at_midnight(t)
    assert _at_midnight(pd.Series(pd.to_datetime([None, None])))
    assert _at_midnight(pd.Series([], dtype="datetime64[ns]"))


def test_text_columns_are_cleaned_as_before(tmp_path):
    """The steps of reading a text column (strip, blank -> missing, '17850.0' -> '17850', label variants)
    still run when the scans find something to do, in Arrow-held and object columns alike."""
    from insight.data.mapping import Mapper
    from insight.data.schema import Col

    m = Mapper("customers", pd.DataFrame({"_row": [2]}), None, "c.csv")
    for dtype in ("str", object):
        out = m._to_str(Col("customer_id", "str"), pd.Series([" 17850.0", "12.0 ", "", None, "3.0"], dtype=dtype))
        assert [None if pd.isna(v) else v for v in out] == ["17850", "12", None, None, "3"]
        out = m._to_str(Col("customer_id", "str"), pd.Series(["17850.0", "A1"], dtype=dtype))
        assert out.tolist() == ["17850.0", "A1"]
        seg = m.table.col("segment")
        out = m._to_str(seg, pd.Series(["Mid-Market", None, "smb", " SMB"], dtype=dtype))
        assert [None if pd.isna(v) else v for v in out] == ["mid_market", None, "smb", "smb"]
        assert str(out.dtype) == "str"


def test_references_in_a_large_table_found_by_arrow():
    """From 100,000 rows text ids are looked up with Arrow's is_in: missing values are neither unknown
    nor known, an id absent from the other table is named with its rows, as for a small table."""
    import numpy as np

    from insight.data.loaders import ROW
    from insight.data.validate import _unknown_values, check_references

    n = 150_000
    ids = np.array([f"C{i % 1000:04d}" for i in range(n)], dtype=object)
    ids[::7] = None
    ids[[10, 20, 30_000]] = ["X1", "X2", "X1"]
    orders = pd.DataFrame({"customer_id": pd.array(ids, dtype="str"), ROW: range(2, n + 2)})
    customers = pd.DataFrame({"customer_id": pd.array([f"C{i:04d}" for i in range(1000)] + [None], dtype="str")})
    assert sorted(_unknown_values(orders["customer_id"], customers["customer_id"])) == ["X1", "X2"]
    assert list(_unknown_values(orders["customer_id"].where(orders["customer_id"] < "X"), customers["customer_id"])) == []
    errors, _ = check_references({"orders": orders}, {"orders": "o.csv", "customers": "c.csv"},
                                 {"customers": customers})
    [p] = errors
    assert p.key == "orders.customer_id"
    assert "3 rows refer to 2 customer_id values missing from the customers table (c.csv) (rows 12, 22, 30002" in p.message
    assert "'X1', 'X2'" in p.message


def test_reference_check_counts_the_distinct_ids_the_profile_reports():
    """The reference check hands the number of distinct non-missing ids it found (hand-counted here:
    1,000 known ids and 2 unknown ones; missing values not counted) to whoever asks."""
    import numpy as np

    from insight.data.loaders import ROW
    from insight.data.validate import check_references

    n = 150_000
    ids = np.array([f"C{i % 1000:04d}" for i in range(n)], dtype=object)   # C0000 .. C0999: 1,000 ids
    ids[::7] = None                                                       # missing: not counted
    ids[[10, 20, 30_000]] = ["X1", "X2", "X1"]                             # 2 more, unknown ones
    orders = pd.DataFrame({"customer_id": pd.array(ids, dtype="str"), ROW: range(2, n + 2)})
    customers = pd.DataFrame({"customer_id": pd.array([f"C{i:04d}" for i in range(1000)], dtype="str")})
    distinct: dict = {}
    check_references({"orders": orders}, {"orders": "o.csv"}, {"customers": customers}, distinct)
    assert distinct == {("orders", "customer_id"): 1002}


def test_the_profile_counts_customers_with_the_reference_checks_count(tmp_path, monkeypatch):
    """The preparation's profile takes a table's distinct customers from its reference check instead of
    hashing the column again: 6 order lines of 3 customers (hand-counted), and the manifest says 3."""
    from insight.data import prepare

    monkeypatch.setenv("INSIGHT_PII_KEY", "test-key")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders6.csv").write_text(
        "order_id;customer_id;product_id;order_date;quantity;revenue\n"
        "O1;C001;P1;2024-01-03;1;1200\nO2;C001;P2;2024-02-03;2;1600\nO3;C002;P1;2024-03-03;1;1200\n"
        "O4;C002;P2;2024-03-09;1;800\nO5;C002;P1;2024-04-01;1;1200\nO6;C004;P2;2024-05-02;1;800\n", encoding="utf-8")
    params, project = study(tmp_path, orders="orders6.csv")
    given = {}
    real = prepare.profile_table

    def watched(name, df, customers=None):
        given[name] = customers
        return real(name, df, customers=customers)

    monkeypatch.setattr(prepare, "profile_table", watched)
    prep = prepare_study_data(params, project, workers=1)
    assert given["orders"] == 3          # counted by the reference check, not again
    assert given["customers"] is None    # the customers table refers to no other: counted by the profile
    assert prep.profile["orders"]["customers"] == 3 and prep.profile["customers"]["customers"] == 4


def test_parquet_read_without_block_copies_is_the_same_frame(tmp_path):
    """insight.data.loaders.read_parquet (split blocks, Arrow freed as converted) gives pandas.read_parquet's
    frame: values, dtypes (nullable ints, text, dates, missing values) and column order."""
    from insight.data.loaders import read_parquet

    df = pd.DataFrame({"id": pd.array(["a", None, "c"], dtype="str"), "q": [1.5, None, 3.0], "r": [1.0, 2.0, 3.0],
                       "n": pd.array([1, None, 3], dtype="Int64"), "k": [1, 2, 3], "b": [True, False, True],
                       "d": pd.to_datetime(["2024-01-01", None, "2024-03-01"])})
    df.to_parquet(tmp_path / "t.parquet", index=False)
    got, want = read_parquet(tmp_path / "t.parquet"), pd.read_parquet(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert list(got.dtypes) == list(want.dtypes) and list(got.columns) == list(df.columns)


def demo_study(tmp_path, scale=0.2):
    from insight.data.testing import write_study

    project = write_study(tmp_path, "s", {"demo": {"scale": scale}})
    return load_params("s", project), project


def test_tables_prepared_in_worker_processes_are_the_same(tmp_path, monkeypatch):
    """The tables that refer to others are prepared in forked worker processes: the Parquet files are
    the same bytes, and the manifest the same, as when every table is prepared in this process; the
    referred-to tables (customers, products, participants...) are checked here, first, and every table
    is written by one of the workers."""
    import os

    from insight.data import pii, prepare

    monkeypatch.setenv("INSIGHT_PII_KEY", "test-key")
    params, project = demo_study(tmp_path)
    key = pii.load_key(project)
    fp, per = prepare._fingerprints(params, project, key)
    real, log = prepare._write_parquet, tmp_path / "writers.txt"

    def logged(df, path):   # inherited by the forked workers; appends are atomic at this size
        with open(log, "a") as fh:
            fh.write(f"{path.parent.name} {path.stem} {os.getpid()}\n")
        return real(df, path)

    monkeypatch.setattr(prepare, "_write_parquet", logged)
    got = {}
    for workers in (1, 2):
        folder = tmp_path / f"w{workers}"
        folder.mkdir()
        got[workers] = prepare.build(params, project, key, fp, per, folder=folder, workers=workers)
    one, two = got[1], got[2]
    assert len(one.tables) == 15
    assert one.checksums == two.checksums   # byte for byte
    for field in ("rows", "profile", "personal", "details", "notes", "sources"):
        assert getattr(one, field) == getattr(two, field), field
    assert [str(w) for w in one.warnings] == [str(w) for w in two.warnings]
    assert list(one.rows) == list(two.rows)   # the manifest lists the tables in the same order
    pids = {}
    for line in log.read_text().splitlines():
        folder, name, pid = line.split()
        pids.setdefault(folder, {})[name] = int(pid)
    assert set(pids["w1"].values()) == {os.getpid()}
    assert len(pids["w2"]) == 15 and os.getpid() not in pids["w2"].values()
    assert len(set(pids["w2"].values())) == 2   # every table written by one of two workers


def test_jobs_limit_the_preparation_workers(tmp_path, monkeypatch):
    """`make report JOBS=1` (a machine short of memory) prepares in one process: the runner passes its
    jobs to prepare_study_data, which passes them to build."""
    from insight import runner
    from insight.data import prepare

    log = tmp_path / "workers.txt"
    real = prepare.build

    def watched(*args, **kwargs):   # inherited by the runner's forked preparation process
        with open(log, "a") as fh:
            fh.write(f"{kwargs.get('workers')}\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(prepare, "build", watched)
    params, project = study(tmp_path)
    runner._prepare_apart(params, project, force=True, workers=1)
    prepare_study_data(params, project, force=True)
    assert log.read_text().split() == ["1", "None"]   # None: one per core, at most PREPARE_WORKERS


def test_problems_of_tables_in_workers_come_in_table_order(tmp_path, monkeypatch):
    """Problems found in different worker processes are reported together, in the tables' order, and
    nothing is written."""
    from insight.data import prepare

    monkeypatch.setenv("INSIGHT_PII_KEY", "test-key")
    real = prepare.validate_table

    def planted(name, df, file, segments):
        found = real(name, df, file, segments)
        if name in ("usage", "orders", "reviews"):
            found.append(Problem(file, f"{name}.x", f"planted problem in {name}", "fix it"))
        return found

    monkeypatch.setattr(prepare, "validate_table", planted)
    params, project = demo_study(tmp_path)
    with pytest.raises(DataError) as exc:
        prepare_study_data(params, project)
    planted_keys = [p.key for p in exc.value.problems if p.message.startswith("planted")]
    assert planted_keys == ["orders.x", "usage.x", "reviews.x"]   # prepare._order, not the largest first
    assert cache_is_empty(project)


def test_a_failed_write_of_a_queued_table_leaves_nothing(tmp_path, monkeypatch):
    from insight.data import prepare

    real = prepare._write_parquet

    def fails_on_orders(df, path):
        if path.name == "orders.parquet":
            raise OSError("disk full")
        return real(df, path)

    monkeypatch.setattr(prepare, "_write_parquet", fails_on_orders)
    params, project = study(tmp_path)
    with pytest.raises(OSError, match="disk full"):
        prepare_study_data(params, project)
    assert cache_is_empty(project)


@pytest.mark.parametrize("n", [12, 150_000])
def test_unknown_ids_same_for_arrow_text_and_objects(n):
    """Ids held in Arrow on both sides are looked up with is_in at any size; ids as Python objects take
    the pandas path (small) or DuckDB/Arrow (large): the same distinct unknown values either way."""
    import numpy as np

    from insight.data.validate import _unknown_values

    ids = np.array([["C1", "C2", "X9", None, "C3", "é", "X9", "C10"][i % 8] for i in range(n)], dtype=object)
    known = ["C1", "C2", "C3", None, "c10"]
    for vd in ("str", object):
        for kd in ("str", object):
            got = _unknown_values(pd.Series(ids, dtype=vd), pd.Series(known, dtype=kd))
            assert sorted(got) == ["C10", "X9", "é"] and got.dtype == object, (vd, kd)

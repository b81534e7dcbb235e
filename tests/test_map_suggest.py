"""`make map`: profiling an export and suggesting its mapping (insight.data.profile, insight.data.suggest).

Every expectation is written by hand from the small files below (or from the hand-written mapping
of tests/fixtures/data/customers.csv in test_data_prepare.py), never taken from the code's output.
The suggested block must load and validate as is under `data: tables:`; `make validate` then names
what is still missing."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from insight.data import DataError
from insight.data.prepare import prepare_study_data
from insight.data.profile import profile_file
from insight.data.suggest import map_file, suggest_mapping
from insight.data.testing import write_study
from insight.params import load_params
from insight.paths import Project

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures" / "data"
# the mapping written by hand for this fixture in tests/test_data_prepare.py
CUSTOMERS_MAP = {"Customer ID": "customer_id", "Contact": "name", "E-mail": "email", "Phone": "phone",
                 "Region": "region", "Tier": "segment", "Signup": "signup_date", "Status": "status"}


@pytest.fixture
def root(empty_project):
    return empty_project


def pasted(block: str) -> dict:
    """The block pasted under `data:` / `  tables:` of a params file, read back as YAML."""
    return yaml.safe_load("data:\n  tables:\n" + block)["data"]


def study_from(root: Path, name: str, data: dict) -> Project:
    return write_study(root, name, data, ("2023-01-01", "2024-12-31"), link_notebooks=ROOT)


def test_fixture_customers_mapped_as_by_hand(root):
    prof = profile_file(FIX / "customers.csv", Project(root))
    sug = suggest_mapping(prof)
    assert sug.table == "customers"
    assert sug.spec()["columns"] == CUSTOMERS_MAP
    assert sug.values == {}            # Enterprise/SMB/Mid-Market and existing/churned are read as they are
    assert "Notes" in [c.name for c in sug.unused]
    # the block validates and prepares as is; the Notes' phone number is never shown in it
    block = sug.block()
    assert "123-4567" not in block and "ann.lee@example.com" not in block
    project = study_from(root, "fx", pasted(block))
    prep = prepare_study_data(load_params("fx", project), project)
    assert prep.rows["customers"] == 4


LATIN1 = ("Account No;Company;Contact Email;Tel;Created;Size;Churned?;Revenue\n"
          "A-1001;Müller GmbH;anna@mueller.de;+49 30 1234 5678;31/01/2023;Large;N;1200.50\n"
          "A-1002;Café Olé;bob@cafe.fr;+33 1 23 45 67 89;15/02/2023;Small;Y;300\n"
          "A-1003;Zürich AG;cy@zag.ch;+41 44 123 45 67;28/02/2023;Medium;N;800\n"
          "A-1004;Ørsted;di@orsted.dk;+45 12 34 56 78;13/03/2023;Small;Y;150\n"
          "A-1005;Garçon SA;ed@garcon.fr;+33 6 12 34 56 78;20/03/2023;Gold;N;90\n")


def test_latin1_semicolon_export(root):
    path = root / "data" / "crm.csv"
    path.write_bytes(LATIN1.encode("cp1252"))
    prof = profile_file(path, Project(root))
    assert "cp1252" in prof.details and "semicolon" in prof.details
    assert prof.column("Contact Email").kind == "email" and prof.column("Tel").kind == "phone"
    assert prof.column("Created").kind == "date" and prof.column("Created").date_format == "%d/%m/%Y"
    assert prof.column("Churned?").kind == "boolean"
    sug = suggest_mapping(prof)
    assert sug.table == "customers"
    cols = sug.spec()["columns"]
    assert cols == {"Account No": "customer_id", "Company": "company", "Contact Email": "email", "Tel": "phone",
                    "Created": "signup_date", "Size": "segment", "Churned?": "status"}
    assert sug.values == {"segment": {"Large": "enterprise", "Small": "smb", "Medium": "mid_market"},
                          "status": {"N": "existing", "Y": "churned"}}
    assert sug.unplaced_values == {"segment": ["Gold"]}
    assert sug.date_format == "%d/%m/%Y"
    assert sug.defaults == {"region": None}
    block = sug.block()
    assert pasted(block)["tables"]["customers"] == sug.spec()     # the printed block is the mapping
    assert "CHECK: could not place Gold" in block and "anna@mueller.de" not in block and "1234 5678" not in block
    # it loads and validates as pasted; `make validate` then names the one value left to map
    project = study_from(root, "crm", pasted(block))
    params = load_params("crm", project)
    with pytest.raises(DataError) as e:
        prepare_study_data(params, project)
    errs = [p for p in e.value.problems if p.severity == "error"]
    assert len(errs) == 1 and errs[0].key == "customers.segment" and "'Gold'" in errs[0].message
    # the user maps Gold and the table prepares: 2 churned of 5, as written above
    data = pasted(block)
    data["tables"]["customers"]["values"]["segment"]["Gold"] = "enterprise"
    project = study_from(root, "crm2", data)
    prep = prepare_study_data(load_params("crm2", project), project)
    t = pd.read_parquet(prep.tables["customers"])
    assert (t["status"] == "churned").sum() == 2 and t.loc[t.segment == "enterprise"].shape[0] == 2
    assert str(t["signup_date"].min().date()) == "2023-01-31"


def test_ids_that_join_to_a_mapped_table_are_recognised(root):
    (root / "data" / "customers.csv").write_bytes((FIX / "customers.csv").read_bytes())
    tickets = root / "data" / "tickets.csv"
    tickets.write_text("Ticket,Ref,Other,Opened\nT1,C001,X9,2024-01-02\nT2,C003,X8,2024-01-05\n"
                       "T3,C001,X7,2024-02-01\nT4,C004,X6,2024-02-03\n", encoding="utf-8")
    project = study_from(root, "s", {"tables": {"customers": {"path": "data/customers.csv", "columns": CUSTOMERS_MAP}}})
    from insight.data.suggest import study_ids
    joins, _ = study_ids("s", project)
    assert joins == {"customers.customer_id": {"C001", "C002", "C003", "C004"}}
    prof = profile_file(tickets, project)
    alone = suggest_mapping(prof, "interactions")
    assert "customer_id" not in alone.guesses           # "Ref" says nothing by its name
    joined = suggest_mapping(prof, "interactions", joins)
    assert joined.guesses["customer_id"].column == "Ref"
    assert "customer_ids of the study's customers table" in joined.guesses["customer_id"].why
    assert joined.guesses["interaction_id"].column == "Ticket" and joined.guesses["date"].column == "Opened"


def test_ambiguous_dates_are_flagged(root):
    path = root / "data" / "orders.csv"
    path.write_text("order,customer,product,date,qty,amount\nO1,C1,P1,01/02/2024,1,10\nO2,C2,P1,03/04/2024,2,20\n",
                    encoding="utf-8")
    sug = suggest_mapping(profile_file(path, Project(root)), "orders")
    assert sug.date_format == "%d/%m/%Y"
    assert any("%m/%d/%Y" in n and "check" in n for n in sug.date_notes)
    assert "# CHECK: date: every value also reads as %m/%d/%Y" in sug.block()


def test_repeated_keys_and_missing_required_columns(root):
    path = root / "data" / "reviews.csv"
    path.write_text("Item,Stars,Comment\nK1,5,Lovely fit and soft fabric\nK1,2,Too small for me and thin\n"
                    "K2,4,Nice colour but runs a bit large\n", encoding="utf-8")
    project = Project(root)
    products = suggest_mapping(profile_file(path, project), "products")
    assert products.guesses["product_id"].column == "Item" and products.one_row_per_key
    reviews = suggest_mapping(profile_file(path, project), "reviews")
    assert {c: g.column for c, g in reviews.guesses.items()} == {"product_id": "Item", "rating": "Stars", "text": "Comment"}
    assert [m for m, _ in reviews.missing] == ["review_id", "date"]
    # pasted as is it validates as params; `make validate` then asks for exactly those two columns
    project = study_from(root, "r", pasted(reviews.block()))
    with pytest.raises(DataError) as e:
        prepare_study_data(load_params("r", project), project)
    assert sorted(p.key for p in e.value.problems if p.severity == "error") == ["reviews.date", "reviews.review_id"]


def test_excel_sheets(root):
    path = root / "data" / "crm.xlsx"
    with pd.ExcelWriter(path) as xl:
        pd.DataFrame({"Notes": ["x"]}).to_excel(xl, sheet_name="Read me", index=False)
        pd.DataFrame({"customer_id": ["C1", "C2"], "status": ["existing", "churned"],
                      "signup_date": pd.to_datetime(["2023-05-01", "2023-06-30"])}).to_excel(xl, sheet_name="Accounts", index=False)
    project = Project(root)
    with pytest.raises(DataError, match="2 sheets: Read me, Accounts"):
        profile_file(path, project)
    prof = profile_file(path, project, sheet="Accounts")
    assert prof.column("signup_date").kind == "date" and prof.column("signup_date").date_format is None
    block = suggest_mapping(prof).block()
    spec = pasted(block)["tables"]["customers"]
    assert spec["sheet"] == "Accounts" and "date_format" not in spec
    project = study_from(root, "x", pasted(block))
    assert prepare_study_data(load_params("x", project), project).rows["customers"] == 2


def test_map_file_never_overwrites(root, capsys):
    project = Project(root)
    (root / "params").mkdir(exist_ok=True)
    assert map_file(str(FIX / "customers.csv"), project, study="s1") == 0
    target = root / "params" / "mappings" / "s1.customers.yaml"
    first = target.read_text(encoding="utf-8")
    assert "customers:" in first and pasted(first)["tables"]["customers"]["columns"] == CUSTOMERS_MAP
    target.write_text("# my edits\n", encoding="utf-8")
    assert map_file(str(FIX / "customers.csv"), project, study="s1") == 2
    assert target.read_text(encoding="utf-8") == "# my edits\n"
    assert "already exists; it was left untouched" in capsys.readouterr().err
    # params/*.yaml stays the list of studies: the suggestion is not one of them
    assert not list((root / "params").glob("*.yaml"))


def test_bad_requests_get_a_clear_message(root, capsys):
    project = Project(root)
    assert map_file("", project) == 2
    assert "make map FILE=" in capsys.readouterr().err
    assert map_file(str(FIX / "customers.csv"), project, table="customer") == 2
    assert "did you mean customers?" in capsys.readouterr().err
    assert map_file(str(root / "data" / "nope.csv"), project) == 2
    assert "does not exist" in capsys.readouterr().err


def test_qdpx_block_validates(root, capsys):
    import shutil
    shutil.copy(ROOT / "tests" / "fixtures" / "qual" / "interviews.qdpx", root / "data" / "interviews.qdpx")
    project = Project(root)
    assert map_file(str(root / "data" / "interviews.qdpx"), project) == 0
    block = capsys.readouterr().out
    assert "2 text sources, 5 codes, 8 codings by 2 coder(s), 2 cases" in block
    data = yaml.safe_load("data:\n" + block)["data"]
    assert data == {"qual": {"qdpx": "data/interviews.qdpx", "kind": "interview_1to1"}}
    project = study_from(root, "q", data)
    assert prepare_study_data(load_params("q", project), project).rows["coded_segments"] == 8


def test_the_command_line(root, capsys):
    from insight.cli import main

    assert main(["map", str(FIX / "orders.csv")]) == 0
    out = capsys.readouterr().out
    spec = pasted(out)["tables"]["orders"]
    assert spec["columns"] == {c: c for c in ("order_id", "customer_id", "product_id", "order_date", "quantity",
                                              "revenue")}


def test_money_with_currency_signs_is_flagged(root):
    path = root / "data" / "subs.csv"
    path.write_text('contract_id,customer_id,mrr\nS1,C1,"$1,200.00"\nS2,C2,$80.50\nS3,C3,$99.00\n', encoding="utf-8")
    prof = profile_file(path, Project(root))
    assert prof.column("mrr").kind == "money" and (prof.column("mrr").minimum, prof.column("mrr").maximum) == (80.5, 1200.0)
    sug = suggest_mapping(prof, "subscriptions")
    assert sug.guesses["mrr"].column == "mrr" and sug.guesses["subscription_id"].column == "contract_id"
    assert "mrr: mrr" in sug.block() and "export without currency signs" in sug.block()

"""`make map` on two real public exports (../shared/datasets, skipped when absent): the IBM Telco
churn sample and the women's clothing e-commerce reviews — the README walkthrough, step by step.

The key columns are identified by hand from the files' headers and their dataset README:
  Telco: customerID is the customer key, Churn (Yes/No) says whether the customer left, tenure is
         the number of months as a customer, MonthlyCharges the monthly bill, Contract the plan;
         the file has no dates.
  Reviews: the first column (blank header) is a row number, Clothing ID the product reviewed,
         Rating the 1-5 stars, Review Text the review, Department Name the product's department;
         the file has no dates.
Counts are taken from the raw files with the csv module, independently of the code under test."""
from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pandas as pd
import pytest
import yaml

from insight.data import DataError
from insight.data.prepare import prepare_study_data
from insight.data.profile import profile_file
from insight.data.suggest import suggest_mapping
from insight.data.testing import write_study
from insight.params import load_params
from insight.paths import Project

pytestmark = pytest.mark.realdata
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("INSIGHT_PII_KEY", "test-key")
    monkeypatch.setenv("INSIGHT_ROOT", str(tmp_path))
    return tmp_path


def pasted(*blocks: str) -> dict:
    return yaml.safe_load("data:\n  tables:\n" + "".join(blocks))["data"]


def errors(exc) -> list:
    return [p for p in exc.problems if p.severity == "error"]


def test_telco_customers_and_subscriptions(shared_datasets, root):
    src = shared_datasets / "telco_churn" / "Telco-Customer-Churn.csv"
    with open(src, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    churned = sum(r["Churn"] == "Yes" for r in rows)
    prof = profile_file(src, Project(root))
    assert "comma" in prof.details and prof.rows == len(rows)

    cust = suggest_mapping(prof)                       # TABLE omitted: guessed
    assert cust.table == "customers"
    # the key columns identified by hand (other columns may map onto optional canonical ones)
    assert {"customerID": "customer_id", "Churn": "status"}.items() <= cust.spec()["columns"].items()
    assert cust.values["status"] == {"No": "existing", "Yes": "churned"}
    assert cust.defaults["region"] is None and cust.defaults["segment"] is None
    [(missing, hint)] = cust.missing
    assert missing == "signup_date" and "months: tenure" in hint

    subs = suggest_mapping(prof, "subscriptions")
    assert {"customerID": "customer_id", "Contract": "plan", "MonthlyCharges": "mrr",
            "Churn": "status"}.items() <= subs.spec()["columns"].items()
    assert subs.values["status"] == {"No": "active", "Yes": "cancelled"}
    assert subs.compute == {"subscription_id": "customer_id"}
    assert sorted(m for m, _ in subs.missing) == ["product_id", "start_date"]

    # pasted as is: the params validate, and `make validate` names exactly what is missing
    project = write_study(root, "telco", pasted(cust.block(), subs.block()), ("2017-02-01", "2018-01-31"),
                          link_notebooks=ROOT)
    params = load_params("telco", project)
    with pytest.raises(DataError) as e:
        prepare_study_data(params, project)
    assert sorted((p.key, p.message.split(";")[0]) for p in errors(e.value)) == [
        ("customers.signup_date", "the required column 'signup_date' is missing"),
        ("subscriptions.product_id", "the required column 'product_id' is missing"),
        ("subscriptions.start_date", "the required column 'start_date' is missing")]

    # the edit the hints suggest (the export date is an assumption of this example)
    data = pasted(cust.block(), subs.block())
    data["tables"]["customers"]["date_offsets"] = {"signup_date": {"as_of": "2018-01-31", "months": "tenure"}}
    data["tables"]["subscriptions"]["date_offsets"] = {"start_date": {"as_of": "2018-01-31", "months": "tenure"}}
    data["tables"]["subscriptions"]["columns"]["InternetService"] = "product_id"
    project = write_study(root, "telco", data, ("2017-02-01", "2018-01-31"), link_notebooks=ROOT)
    prep = prepare_study_data(load_params("telco", project), project)
    t = pd.read_parquet(prep.tables["customers"])
    assert len(t) == len(rows) == 7043 and (t["status"] == "churned").sum() == churned == 1869


def test_clothing_reviews_and_their_products(shared_datasets, root):
    src = shared_datasets / "reviews" / "womens_clothing_ecommerce_reviews.csv.gz"
    with gzip.open(src, "rt", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    products_n = len({r["Clothing ID"] for r in rows})
    prof = profile_file(src, Project(root))

    rev = suggest_mapping(prof)
    assert rev.table == "reviews"
    assert {"Unnamed: 0": "review_id", "Clothing ID": "product_id", "Review Text": "text",
            "Rating": "rating"}.items() <= rev.spec()["columns"].items()
    assert [m for m, _ in rev.missing] == ["date"]
    prod = suggest_mapping(prof, "products")
    assert prod.guesses["product_id"].column == "Clothing ID" and prod.one_row_per_key
    assert prod.guesses["category"].column == "Department Name"
    # 14 rows have no department and 16% no title: the labels the products table needs are filled
    assert prod.fill_missing == {"name": "(unknown)", "category": "(unknown)"}

    project = write_study(root, "rev", pasted(rev.block(), prod.block()), ("2019-01-01", "2019-12-31"),
                          link_notebooks=ROOT)
    with pytest.raises(DataError) as e:
        prepare_study_data(load_params("rev", project), project)
    assert [p.key for p in errors(e.value)] == ["reviews.date"]

    data = pasted(rev.block(), prod.block())
    data["tables"]["reviews"]["defaults"] = {"date": "2019-06-30"}     # the export carries no review dates
    project = write_study(root, "rev", data, ("2019-01-01", "2019-12-31"), link_notebooks=ROOT)
    prep = prepare_study_data(load_params("rev", project), project)
    assert prep.rows["reviews"] == len(rows) == 23486
    assert prep.rows["products"] == products_n


def test_online_retail_orders_as_the_hand_written_mapping(shared_datasets, root):
    """The UCI Online Retail invoice lines against the orders mapping written by hand in
    tests/fixtures/data/online_retail.yaml (its `exclude:` list of non-product stock codes is
    knowledge no profile has, and stays the user's edit)."""
    fixture = yaml.safe_load((ROOT / "tests" / "fixtures" / "data" / "online_retail.yaml").read_text(encoding="utf-8"))
    by_hand = fixture["tables"]["orders"]
    sug = suggest_mapping(profile_file(shared_datasets / "online_retail" / "online_retail.csv.gz", Project(root)))
    assert sug.table == "orders"
    spec = sug.spec()
    assert yaml.safe_load("t:\n" + sug.block())["t"]["orders"] == spec
    assert spec["columns"] == by_hand["columns"]
    assert spec["compute"] == by_hand["compute"] and spec["drop_missing"] == by_hand["drop_missing"]
    assert spec["one_row_per_key"] is True and spec["aggregate"] == by_hand["aggregate"]

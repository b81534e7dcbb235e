"""Real public exports (../shared/datasets, skipped when absent) mapped through params:
Online Retail (UCI) -> orders, customers, products; IBM Telco churn -> customers, subscriptions;
and the data inventory notebook rendered on a real-export study.

The mappings are tests/fixtures/data/online_retail.yaml and telco_churn.yaml. Online Retail is
tested on its first 20,000 lines to stay fast (the full file goes through the same vectorised
code in the benchmark); every expectation is recomputed here from the raw file with plain pandas.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from insight.data.loaders import ROW
from insight.data.mapping import Mapper
from insight.data.prepare import prepare_study_data
from insight.data.schema import Col
from insight.data.testing import write_study
from insight.params import load_params

FIX = Path(__file__).parent / "fixtures" / "data"
ROOT = Path(__file__).resolve().parent.parent
NON_PRODUCTS = {"POST", "DOT", "M", "m", "BANK CHARGES", "C2", "D", "CRUK", "PADS", "AMAZONFEE", "S", "B"}


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("INSIGHT_PII_KEY", "test-key")


def mapping(name: str, path: Path) -> dict:
    data = yaml.safe_load((FIX / name).read_text(encoding="utf-8"))
    for spec in data["tables"].values():
        spec["path"] = str(path)
    return data


@pytest.fixture(scope="module")
def retail_subset(shared_datasets, tmp_path_factory) -> Path:
    src = shared_datasets / "online_retail" / "online_retail.csv.gz"
    out = tmp_path_factory.mktemp("retail") / "online_retail_head.csv.gz"
    with gzip.open(src, "rt", encoding="utf-8") as fin, gzip.open(out, "wt", encoding="utf-8") as fout:
        for i, line in enumerate(fin):
            if i > 20_000:
                break
            fout.write(line)
    return out


@pytest.fixture(scope="module")
def retail(retail_subset, tmp_path_factory):
    os.environ["INSIGHT_PII_KEY"] = "test-key"
    project = write_study(tmp_path_factory.mktemp("retail-project"), "retail",
                          mapping("online_retail.yaml", retail_subset), period=("2010-12-01", "2011-12-31"))
    prep = prepare_study_data(load_params("retail", project), project)
    raw = pd.read_csv(retail_subset, dtype={"InvoiceNo": str, "StockCode": str})
    return prep, {t: pd.read_parquet(p) for t, p in prep.tables.items()}, raw


def test_retail_orders(retail):
    prep, t, raw = retail
    orders = t["orders"]
    # rows without CustomerID are dropped, with a warning stating the count
    n_missing = int(raw["CustomerID"].isna().sum())
    assert n_missing > 0
    [w] = [w for w in prep.warnings if w.key == "orders.customer_id"]
    assert w.severity == "warning" and f"{n_missing:,} of {len(raw):,} rows have no customer_id" in w.message
    # non-product stock codes are excluded
    assert not orders["product_id"].isin(NON_PRODUCTS).any()
    # reference: the same filtering and revenue in plain pandas
    kept = raw[raw["CustomerID"].notna() & ~raw["StockCode"].isin(NON_PRODUCTS)]
    assert orders["revenue"].sum() == pytest.approx((kept["Quantity"] * kept["UnitPrice"]).sum())
    assert len(orders) == len(kept.drop_duplicates(["InvoiceNo", "StockCode"]))
    # hand check: invoice 536365, stock code 85123A: 6 x 2.55 = 15.30 on 2010-12-01, customer 17850
    first = orders.set_index(["order_id", "product_id"]).loc[("536365", "85123A")]
    assert first["revenue"] == pytest.approx(15.30) and first["customer_id"] == "17850"
    assert first["order_date"] == pd.Timestamp("2010-12-01")
    # cancellations ('C' invoices, negative quantities) are flagged as returns
    is_c = orders["order_id"].str.startswith("C")
    assert is_c.any() and (orders["is_return"] == is_c).all()
    assert (orders.loc[orders["is_return"], "quantity"] < 0).all()
    # CustomerID was a float column in the export: ids come out as "17850", not "17850.0"
    assert not orders["customer_id"].str.contains(r"\.").any()


def test_retail_customers_and_products_derived_from_the_same_file(retail):
    prep, t, raw = retail
    cust, prods = t["customers"], t["products"]
    with_id = raw[raw["CustomerID"].notna()]
    assert len(cust) == with_id["CustomerID"].nunique()
    assert cust["customer_id"].is_unique and prods["product_id"].is_unique
    # signup = first invoice; region = country
    first = with_id.assign(d=pd.to_datetime(with_id["InvoiceDate"])).groupby("CustomerID")["d"].min()
    c = cust.set_index("customer_id")
    assert c.loc["17850", "signup_date"] == first.loc[17850.0].normalize()
    assert (cust["region"] == cust["country"]).all() and (cust["status"] == "existing").all()
    assert set(t["orders"]["product_id"]) <= set(prods["product_id"])
    assert set(t["orders"]["customer_id"]) <= set(cust["customer_id"])
    assert not prods["product_id"].isin(NON_PRODUCTS).any()
    assert prods["name"].notna().all()
    assert "online_retail_head.csv.gz" in prep.sources["orders"]
    assert "gzip" in prep.details["orders"][0]


@pytest.fixture(scope="module")
def telco(shared_datasets, tmp_path_factory):
    os.environ["INSIGHT_PII_KEY"] = "test-key"
    src = shared_datasets / "telco_churn" / "Telco-Customer-Churn.csv"
    root = tmp_path_factory.mktemp("telco-project")
    project = write_study(root, "telco", mapping("telco_churn.yaml", src), period=("2017-02-01", "2018-01-31"),
                          title="Telco churn sample", link_notebooks=ROOT)
    prep = prepare_study_data(load_params("telco", project), project)
    return project, prep, {t: pd.read_parquet(p) for t, p in prep.tables.items()}, pd.read_csv(src)


def test_telco_customers_and_subscriptions(telco):
    project, prep, t, raw = telco
    cust, subs = t["customers"], t["subscriptions"]
    assert len(cust) == len(subs) == len(raw) == 7043
    # Churn Yes/No -> status; 1,869 churned customers in the published sample
    assert (cust["status"] == "churned").sum() == (raw["Churn"] == "Yes").sum() == 1869
    assert (subs["status"] == "cancelled").sum() == 1869
    # tenure counted back from the export date: 0 months -> 2018-01-31, 34 months -> 2015-03-31
    s = subs.set_index("customer_id")
    assert s.loc["7590-VHVEG", "start_date"] == pd.Timestamp("2017-12-31")   # tenure 1
    assert s.loc["5575-GNVDE", "start_date"] == pd.Timestamp("2015-03-31")   # tenure 34
    zero = raw.loc[raw["tenure"] == 0, "customerID"]
    assert (s.loc[zero, "start_date"] == pd.Timestamp("2018-01-31")).all()
    assert s["mrr"].sum() == pytest.approx(raw["MonthlyCharges"].sum())
    # the file has no region: a warning, not an error
    assert any(w.key == "customers.region" and "100.0%" in w.message for w in prep.warnings)
    assert any("not checked against products" in n for n in prep.notes)


def test_telco_total_charges_blanks_read_as_missing(shared_datasets):
    # TotalCharges is text with " " for the 11 customers in their first month: parsed as a number
    # column, the blanks become missing values instead of errors
    raw = pd.read_csv(shared_datasets / "telco_churn" / "Telco-Customer-Churn.csv", dtype=str,
                      keep_default_na=False)
    raw[ROW] = range(2, len(raw) + 2)
    m = Mapper("subscriptions", raw, None, "Telco-Customer-Churn.csv")
    total = m._to_number(Col("total_charges", "float", nullable=True), raw["TotalCharges"])
    assert not m.errors
    assert int(total.isna().sum()) == 11 == int((raw["tenure"] == "0").sum())
    assert total.sum() == pytest.approx(pd.to_numeric(raw["TotalCharges"], errors="coerce").sum())


def test_data_inventory_renders_on_real_export(telco):
    import nbformat
    import papermill as pm

    from conftest import notebook_text

    project, prep, _, _ = telco
    out = project.root / "inventory-out.ipynb"
    env_before = os.environ.get("INSIGHT_ROOT")
    os.environ["INSIGHT_ROOT"] = str(project.root)
    try:
        pm.execute_notebook(str(ROOT / "notebooks" / "data_inventory.ipynb"), str(out), parameters={"study": "telco"},
                            kernel_name="python3", cwd=str(ROOT / "notebooks"), progress_bar=False)
    finally:
        if env_before is None:
            os.environ.pop("INSIGHT_ROOT", None)
        else:
            os.environ["INSIGHT_ROOT"] = env_before
    text = notebook_text(nbformat.read(str(out), as_version=4))
    assert "Tables, rows, period and customers covered" in text
    assert "Telco-Customer-Churn.csv" in text and "7,043" in text
    assert "100.0% of region values are missing" in text
    assert "not checked against products" in text

"""CRM analysis I on real public data (../shared/datasets; skipped when absent):
- CDNOW: the published BG/NBD and Gamma-Gamma parameters (Fader, Hardie & Lee 2005; Fader &
  Hardie 2013) and the published summary (frequency, recency, T) rebuilt from the transactions;
- Online Retail (UCI): cancellations, rows without customer and non-product codes handled; RFM,
  cohorts, CLV and affinity run on it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insight.crm import crosssell, retention, value


@pytest.fixture(scope="module")
def cdnow(shared_datasets):
    summary = pd.read_csv(shared_datasets / "cdnow" / "cdnow_customers_summary.csv")
    tx = pd.read_csv(shared_datasets / "cdnow" / "CDNOW_sample.txt", sep=r"\s+", header=None,
                     names=["master_id", "customer_id", "date", "cds", "revenue"])
    tx["order_date"] = pd.to_datetime(tx["date"].astype(str), format="%Y%m%d")
    tx["customer_id"] = tx["customer_id"].astype(str)
    tx["order_id"] = tx.index.astype(str)
    return summary, tx


def test_bgnbd_reproduces_published_cdnow(cdnow):
    summary, _ = cdnow
    m = value.fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    # Fader, Hardie & Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4
    assert m.r == pytest.approx(0.243, abs=0.001)
    assert m.alpha == pytest.approx(4.414, abs=0.01)
    assert m.a == pytest.approx(0.793, abs=0.002)
    assert m.b == pytest.approx(2.426, abs=0.01)
    assert m.loglik == pytest.approx(-9582.4, abs=0.1)


def test_summary_and_gamma_gamma_reproduce_published_cdnow(cdnow):
    summary, tx = cdnow
    s = value.summary_from_transactions(tx, calibration_end="1997-09-30")   # 39-week calibration period
    ref = summary.assign(ID=summary["ID"].astype(str)).set_index("ID")
    j = s.join(ref.add_suffix("_ref"), how="inner")
    assert len(j) == 2357
    assert (j["frequency"] == j["frequency_ref"]).all()
    np.testing.assert_allclose(j["recency"], j["recency_ref"], atol=0.005)   # published to 2 decimals
    np.testing.assert_allclose(j["T"], j["T_ref"], atol=0.005)
    gg = value.fit_gamma_gamma(s["frequency"], s["monetary"])
    # Fader & Hardie (2013), 946 repeat customers: p = 6.25, q = 3.74, gamma = 15.44
    assert gg.n == 946
    assert gg.p == pytest.approx(6.25, abs=0.01)
    assert gg.q == pytest.approx(3.74, abs=0.01)
    assert gg.gamma == pytest.approx(15.44, abs=0.02)


def test_cdnow_tracking_39_week_calibration_and_holdout(cdnow):
    """Fader, Hardie & Lee (2005), fig. 2: weekly cumulative repeat transactions of the 2,357
    CDNOW sample customers, the model fitted on weeks 1-39, tracked over weeks 40-78."""
    summary, tx = cdnow
    m = value.fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    t = value.tracking(tx, "1997-09-30", "1998-06-30", model=m)
    assert len(t) == 78 and int(t["holdout"].sum()) == 39 and t.attrs["customers"] == 2357
    # actual repeat transactions: 2,457 in the calibration weeks (the published sum of frequency)
    assert t.attrs["calibration_actual"] == summary["frequency"].sum() == 2457
    # and 1,882 in weeks 40-78 (counted from the transactions: 6,919 rows, 6,696 purchase days,
    # less the 2,357 first purchases and the 2,457 calibration repeats)
    assert t.attrs["holdout_actual"] == 1882
    # predicted: the cohort sum of eq. 9 agrees with the sum of each customer's conditional
    # expectation for weeks 40-78 (eq. 10), two independent formulas of the paper
    conditional = m.expected_purchases(39, summary["frequency"], summary["recency"], summary["T"]).sum()
    assert t.attrs["holdout_predicted"] == pytest.approx(conditional, rel=0.02)
    # the model tracks the calibration weeks within 2% and the 78-week cumulative total within 5%;
    # in the holdout alone it forecasts about 1,670 of the 1,882 repeat purchases (-11%)
    assert t.attrs["calibration_predicted"] == pytest.approx(2457, rel=0.02)
    assert abs(t.attrs["end_cumulative_error"]) < 0.05
    assert -0.15 < t.attrs["holdout_error"] < -0.05
    assert t["actual_cum"].is_monotonic_increasing and t["predicted_cum"].is_monotonic_increasing


@pytest.fixture(scope="module")
def retail(shared_datasets):
    """Online Retail mapped onto canonical orders the way params data.tables.orders would:
    InvoiceNo -> order_id, StockCode -> product_id, CustomerID -> customer_id, revenue = Quantity x
    UnitPrice, is_return = 'C' invoice; non-product codes excluded."""
    raw = pd.read_csv(shared_datasets / "online_retail" / "online_retail.csv.gz",
                      dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
    raw = raw.loc[~raw["StockCode"].isin(["POST", "DOT", "M", "BANK CHARGES", "C2", "AMAZONFEE", "PADS", "B", "CRUK", "D", "S"])]
    o = pd.DataFrame({
        "order_id": raw["InvoiceNo"], "product_id": raw["StockCode"],
        "customer_id": raw["CustomerID"].str.replace(r"\.0$", "", regex=True),
        "order_date": pd.to_datetime(raw["InvoiceDate"]), "quantity": raw["Quantity"].astype(float),
        "revenue": raw["Quantity"] * raw["UnitPrice"], "is_return": raw["InvoiceNo"].str.startswith("C"),
    })
    return o


def test_online_retail_rfm_cohorts_clv(retail):
    r = value.rfm(retail, as_of="2011-12-10")
    assert r["frequency"].min() >= 1
    assert set(r["r"]).issubset(range(1, 6)) and r["segment_rfm"].nunique() >= 5
    # cancellations never count as purchases: frequency counts only non-'C' invoice days
    n_purchase_customers = retail.loc[~retail["is_return"] & retail["customer_id"].notna(), "customer_id"].nunique()
    assert len(r) == n_purchase_customers
    g = retention.cohort_grid(retail, grain="M", mode="in_period")
    assert g.iloc[:, 0].eq(1).all()                 # every cohort bought in its own first month
    assert 0.1 < g.iloc[0, 1] < 0.6                  # Dec-2010 cohort back in Jan-2011
    clv = value.clv_table(retail, as_of="2011-12-09", horizon_months=6)
    assert clv["p_alive"].between(0, 1).all()
    assert (clv["frequency"] == 0).any()            # one-order customers are handled
    assert np.isfinite(clv["clv"]).all() and clv["clv"].median() > 0


def test_online_retail_affinity(retail):
    o = retail.loc[retail["order_date"] >= "2011-09-01"]
    rules = crosssell.association_rules(o, level="product", min_pair_customers=30, max_items=150)
    assert (rules["lift"] > 1).any()
    cand = crosssell.affinity_candidates(o, level="product", min_lift=3, min_confidence=0.3, min_pair_customers=30,
                                         rules=rules, max_items=150)
    assert len(cand) and cand["reason"].str.contains("lift").all()


@pytest.fixture(scope="module")
def retail_study(shared_datasets, tmp_path_factory):
    """Online Retail through the data layer's mapping (tests/fixtures/data/online_retail.yaml),
    first 150,000 lines (Dec 2010 - Apr 2011) to stay fast."""
    import gzip
    import os

    import yaml

    from insight.data.testing import write_study

    os.environ.setdefault("INSIGHT_PII_KEY", "test-key")
    sub = tmp_path_factory.mktemp("retail-data") / "online_retail_head.csv.gz"
    with gzip.open(shared_datasets / "online_retail" / "online_retail.csv.gz", "rt", encoding="utf-8") as fin, \
            gzip.open(sub, "wt", encoding="utf-8") as fout:
        for i, line in enumerate(fin):
            if i > 150_000:
                break
            fout.write(line)
    root = Path(__file__).resolve().parent.parent
    data = yaml.safe_load((root / "tests" / "fixtures" / "data" / "online_retail.yaml").read_text(encoding="utf-8"))
    for spec in data["tables"].values():
        spec["path"] = str(sub)
    project = write_study(tmp_path_factory.mktemp("retail-project"), "retail", data,
                          period=("2011-01-01", "2011-04-30"), link_notebooks=root)
    return project


def test_online_retail_through_mapping(retail_study):
    from insight.crm import churn
    from insight.study import load_study

    study = load_study("retail", retail_study)
    orders, customers = study.table("orders"), study.table("customers")
    assert orders["is_return"].any()                     # cancellations are kept, flagged
    r = value.rfm(orders, as_of="2011-04-30")
    assert r["monetary"].notna().all() and len(r) > 1000
    g = retention.cohort_grid(orders, customers, grain="M")
    assert g.iloc[:, 0].eq(1).all()
    flags = churn.at_risk(customers, "2011-04-30", orders=orders)     # order data without contracts: P(alive)
    assert "low_p_alive" in flags.attrs["rules"]


def test_customer_value_notebook_on_online_retail(retail_study):
    import os

    import nbformat
    import papermill as pm

    from conftest import notebook_text

    src = Path(__file__).resolve().parent.parent / "notebooks" / "crm" / "customer_value.ipynb"
    out = retail_study.root / "customer_value-retail.ipynb"
    old = os.environ.get("INSIGHT_ROOT")
    os.environ["INSIGHT_ROOT"] = str(retail_study.root)
    try:
        pm.execute_notebook(str(src), str(out), parameters={"study": "retail"}, kernel_name="python3",
                            cwd=str(src.parent), progress_bar=False)
    finally:
        os.environ.pop("INSIGHT_ROOT") if old is None else os.environ.__setitem__("INSIGHT_ROOT", old)
    text = notebook_text(nbformat.read(str(out), as_version=4))
    assert "crm.value.clv_concentration" in text and "champions" in text

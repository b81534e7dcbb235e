"""The data layer on the demo company: every table prepared, the study period applied to the
survey and qualitative tables only, no raw personal data left, the planted effects intact, the
cache fast, and the data inventory (library and notebook)."""
from __future__ import annotations

import re
import time

import pandas as pd
import pytest

from insight.data import inventory as inv
from insight.data.prepare import prepare_study_data
from insight.data.schema import TABLES
from insight.demo.planted import PLANTED
from insight.params import load_params
from insight.paths import Project
from insight.study import load_study


@pytest.fixture(scope="session")
def demo_raw():
    from insight.demo import generate

    return generate(scale=0.5)


@pytest.fixture(scope="session")
def project(small_project):
    return Project(small_project)


@pytest.fixture(scope="session")
def study24(project):
    return load_study("2024-annual", project)


@pytest.fixture(scope="session")
def prepared(study24):
    return {name: pd.read_parquet(path) for name, path in study24.prepared.tables.items()}


def raw_pii(raw: dict[str, pd.DataFrame]) -> set[str]:
    """Every email and phone number the generator put in: personal columns, and those appended to
    free text (found by the generator's own phrases, not by the masker under test)."""
    out: set[str] = set()
    for name, df in raw.items():
        for col in ("email", "phone"):
            if col in df.columns:
                out |= set(df[col].dropna().astype(str))
        for col in df.columns:
            if df[col].dtype == object or str(df[col].dtype) == "str":
                text = df[col].dropna().astype(str)
                text = text[text.str.contains("reach me at|call me back on", regex=True)]
                for found in text.str.extract(r"(?:reach me at|call me back on) (.+?)\.?$")[0].dropna():
                    out.add(found)
    return {x for x in out if len(x) > 6}


def all_text(frames: dict[str, pd.DataFrame]) -> str:
    """Every distinct text value of every table, one per line (PII can only hide in text)."""
    values: set[str] = set()
    for df in frames.values():
        for col in df.columns:
            if df[col].dtype == object or str(df[col].dtype) in ("str", "string"):
                values |= set(df[col].dropna().astype(str).unique())
    return "\n".join(values)


def test_demo_prepares_every_table(prepared, demo_raw):
    assert set(prepared) == {t for t in demo_raw if t in TABLES}
    # transactional tables keep their full history (2023 and 2024)
    assert len(prepared["orders"]) == len(demo_raw["orders"])
    assert prepared["orders"]["order_date"].min() < pd.Timestamp("2024-01-01")
    assert len(prepared["interactions"]) == len(demo_raw["interactions"])
    # the survey is the study's own fieldwork: only the 2024 wave
    survey = prepared["survey_responses"]
    raw_2024 = demo_raw["survey_responses"]["started_at"].between("2024-01-01", "2024-12-31 23:59:59")
    assert len(survey) == int(raw_2024.sum()) > 0
    assert set(survey["wave"]) == {2024}
    assert survey["started_at"].between("2024-01-01", "2024-12-31 23:59:59").all()
    # coded segments follow their sources
    assert prepared["coded_segments"]["source_id"].isin(prepared["qual_sources"]["source_id"]).all()
    # answer columns of the questionnaire are kept
    assert "q_nps" in survey.columns and "q_onboarding" in survey.columns


def test_no_raw_email_or_phone_left(prepared, demo_raw):
    needles = raw_pii(demo_raw)
    assert len(needles) > 500  # the generator's emails and phones (customers, respondents, texts)
    hay = all_text(prepared)
    left = [n for n in needles if n in hay]
    assert not left, left[:5]
    assert prepared["customers"]["email"].str.fullmatch(r"anon-[0-9a-f]{16}").all()
    assert "[email]" in hay and "[phone]" in hay


def test_planted_effects_survive_preparation(project, prepared):
    # NPS = % promoters (9-10) - % detractors (0-6): planted 25 in 2023 and 10 in 2024;
    # 404 respondents per wave at scale 0.5 give a standard error of about 4-5 points
    def nps(df):
        v = df["q_nps"].dropna()
        return 100 * ((v >= 9).mean() - (v <= 6).mean())

    plant = PLANTED["nps_shift"].values
    survey23 = load_study("2023-annual", project).table("survey_responses")
    assert abs(nps(survey23) - plant["nps_2023"]) < 10
    assert abs(nps(prepared["survey_responses"]) - plant["nps_2024"]) < 10
    assert nps(survey23) > nps(prepared["survey_responses"])
    # APAC buys analytics far more than the other regions (planted multiplier 2.5): the joins
    # between orders, customers and products still work after preparation
    rc = PLANTED["region_category"].values
    m = (prepared["orders"].loc[lambda d: ~d["is_return"]]
         .merge(prepared["customers"][["customer_id", "region"]], on="customer_id")
         .merge(prepared["products"][["product_id", "category"]], on="product_id"))
    share = m.assign(hit=m["category"].eq(rc["category"])).groupby(m["region"].eq(rc["region"]))["hit"].mean()
    assert share[True] / share[False] > 1.8


def test_demo_cache_reused_quickly(project):
    params = load_params("2024-annual", project)
    first = prepare_study_data(params, project)
    t0 = time.perf_counter()
    again = prepare_study_data(params, project)
    assert time.perf_counter() - t0 < 0.5
    assert again.tables == first.tables


def test_inventory_tables(study24):
    ov = inv.overview(study24)
    assert list(ov["Table"])[:3] == ["customers", "products", "orders"]
    row = ov.set_index("Table").loc["survey_responses"]
    assert row["Period covered"].startswith("2024-") and "study period only" in row["Period covered"]
    assert ov.set_index("Table").loc["customers", "Rows"] == study24.prepared.rows["customers"]
    miss = inv.missing_values(study24).set_index(["Table", "Column"])
    assert miss.loc[("customers", "churn_date"), "Expected?"].startswith("yes")
    assert (miss["Missing"] > 0).all()
    pers = inv.personal_data(study24).set_index("Table")
    assert pers.loc["customers", "Pseudonymised columns"] == "name, email, phone"
    assert pers.loc["interactions", "Emails masked"] > 0
    src = inv.sources(study24)
    assert src["Fingerprint"].str.len().eq(20).all()


def test_data_inventory_notebook(run_notebook, demo_raw):
    nb = run_notebook("data_inventory.ipynb")
    from conftest import notebook_text

    text = notebook_text(nb)
    for caption in ("Tables, rows, period and customers covered", "Columns with missing values",
                    "Personal data pseudonymised or masked", "Data sources and fingerprints"):
        assert caption in text
    assert "Traceback" not in text
    left = [n for n in raw_pii(demo_raw) if n in text]
    assert not left, left[:5]
    meta = nb.metadata["insight"]
    assert meta["title"] == "Data inventory" and meta["requires"] == [] and meta["order"] == 0


def test_own_export_replaces_a_demo_table(tmp_path, demo_raw, monkeypatch):
    from insight.data.testing import write_study

    monkeypatch.setenv("INSIGHT_PII_KEY", "test-key")
    (tmp_path / "data").mkdir()
    own = demo_raw["customers"].drop(columns=["name", "email", "phone"]).head(len(demo_raw["customers"]))
    own.assign(region=own["region"].str.upper()).to_csv(tmp_path / "data" / "crm_customers.csv", index=False)
    project = write_study(tmp_path, "mixed", {"demo": {"scale": 0.5}, "tables": {
        "customers": {"path": "data/crm_customers.csv"}}})
    prep = prepare_study_data(load_params("mixed", project), project)
    assert prep.sources["customers"] == "data/crm_customers.csv" and prep.sources["orders"] == "demo company"
    cust = pd.read_parquet(prep.tables["customers"])
    assert cust["region"].str.isupper().all() and "email" not in cust.columns

"""Churn on a real one-row-per-customer export with no orders (issue 18): the IBM Telco churn sample
(../shared/datasets/telco_churn, skipped when absent) mapped as tests/fixtures/data/telco_churn.yaml
renders the retention and churn report from customers and subscriptions alone: churn rate by
contract, churn categories, Kaplan-Meier survival on tenure and an at-risk list, while the sections
that need orders say so in place and the index lists what an orders table would add.

The Telco file has no churn category; the test adds one, made up and clearly so: every churned
customer gets one of five categories by the position of its row (row i -> CATEGORIES[i % 5]), in a
column whose header ends in a space (as exports often do) to check that it is matched and reported.

Every expected number is counted here from the raw CSV with the csv module (never with the lib):
churn rates per contract, categories per count, the Kaplan-Meier product-limit estimate
S(t) = prod over event times u <= t of (1 - d_u / n_u) on the integer tenures (Kaplan & Meier 1958),
and the at-risk rule's flags from those hand-made curves.
"""
from __future__ import annotations

import csv
import json
import os
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

from insight.data.testing import study_params
from insight.paths import Project
from insight.runner import RunOptions, run_report

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
CATEGORIES = ["Competitor", "Dissatisfaction", "Price", "Attitude", "Other"]
HORIZON_MONTHS = 183 / 30.4375          # params crm.at_risk.horizon_days over the lib's month length
LIFT, MIN_RISK = 2.0, 0.1               # params crm.at_risk.profile_lift and profile_min_risk (the defaults)


def _raw(shared: Path) -> list[dict]:
    with open(shared / "telco_churn" / "Telco-Customer-Churn.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for i, r in enumerate(rows):
        r["Churn Category "] = CATEGORIES[i % 5] if r["Churn"] == "Yes" else ""
    return rows


def _km(rows: list[dict]) -> dict[int, float]:
    """Product-limit survival at every integer tenure 0..79 (Telco tenures run 0..72), by hand."""
    tenures = [int(r["tenure"]) for r in rows]
    events = Counter(int(r["tenure"]) for r in rows if r["Churn"] == "Yes")
    s, out = 1.0, {}
    for t in range(80):
        at_risk = sum(1 for x in tenures if x >= t)
        if events[t]:
            s *= 1 - events[t] / at_risk
        out[t] = s
    return out


@pytest.fixture(scope="module")
def telco(shared_datasets, tmp_path_factory):
    root = tmp_path_factory.mktemp("telco-churn") / "p"
    (root / "params").mkdir(parents=True)
    (root / "data").mkdir()
    rows = _raw(shared_datasets)
    with open(root / "data" / "telco.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    text = (ROOT / "tests" / "fixtures" / "data" / "telco_churn.yaml").read_text(encoding="utf-8")
    mapping = yaml.safe_load(text.replace("{datasets}/telco_churn/Telco-Customer-Churn.csv", "data/telco.csv"))
    mapping["tables"]["customers"]["columns"]["Churn Category"] = "churn_category"
    params = study_params("telco", mapping, ("2017-02-01", "2018-01-31"), title="Telco churn")
    (root / "params" / "telco.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    for sub in ("notebooks", "templates"):
        (root / sub).symlink_to(ROOT / sub, target_is_directory=True)
    project = Project(root)
    old = os.environ.get("INSIGHT_ROOT")
    os.environ["INSIGHT_ROOT"] = str(root)
    try:
        code = run_report("telco", RunOptions(jobs=2, quiet=True, only=["retention_churn", "health_score"]), project)
    finally:
        os.environ.pop("INSIGHT_ROOT", None) if old is None else os.environ.__setitem__("INSIGHT_ROOT", old)
    out = project.report_dir("telco")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    findings = {f["id"]: f for f in json.loads((out / "findings" / "retention_churn.json").read_text(encoding="utf-8"))} \
        if (out / "findings" / "retention_churn.json").exists() else {}
    return {"code": code, "manifest": manifest, "dir": out, "rows": rows, "findings": findings,
            "html": (out / "retention_churn.html").read_text(encoding="utf-8") if (out / "retention_churn.html").exists() else ""}


def test_the_churn_report_runs_without_orders(telco):
    nbs = telco["manifest"]["notebooks"]
    assert telco["code"] == 0, {k: v.get("error") for k, v in nbs.items() if v["status"] == "failed"}
    assert nbs["retention_churn"]["status"] == "ok"
    skipped = {s["id"]: s["needs"] for s in nbs["retention_churn"]["sections_skipped"]}
    assert skipped == {"cohorts": ["orders"], "behaviour": ["orders"]}     # the subscriptions section runs


def test_churn_rate_by_contract_matches_the_raw_counts(telco):
    n, lost = Counter(), Counter()
    for r in telco["rows"]:
        n[r["Contract"]] += 1
        lost[r["Contract"]] += r["Churn"] == "Yes"
    # 1,655 / 3,875 month-to-month customers churned, 166 / 1,473 one-year, 48 / 1,695 two-year
    expected = {k: lost[k] / n[k] for k in n}
    got = telco["findings"]["crm.churn.by_contract"]["extra"]
    assert set(got) == set(expected)
    for k, v in expected.items():
        assert got[k] == pytest.approx(v, abs=1e-12), k
    assert telco["findings"]["crm.churn.by_contract"]["base"] == len(telco["rows"])
    assert "Churn rate by contract" in telco["html"]


def test_churn_categories_are_ranked_with_the_raw_counts(telco):
    counts = Counter(r["Churn Category "] for r in telco["rows"] if r["Churn"] == "Yes")
    top, k = counts.most_common(1)[0]
    f = telco["findings"]["crm.churn.top_category"]
    assert f["base"] == sum(counts.values()) == 1869
    assert f["value"] == pytest.approx(k / sum(counts.values()))
    assert top.lower() in f["statement"].lower()
    assert "Churn categories, ranked" in telco["html"]
    # the header with a trailing space is matched and reported
    warnings = telco["manifest"]["warnings"]
    assert any("'Churn Category '" in w["message"] and "telco.csv" in w["file"] for w in warnings), warnings


def test_survival_on_tenure_matches_the_product_limit_estimate(telco):
    by = defaultdict(list)
    for r in telco["rows"]:
        by[r["Contract"]].append(r)
    at12 = {k: _km(v)[12] for k, v in by.items()}
    f = telco["findings"]["crm.churn.survival_contract"]
    # the finding's value is the lowest 12-month survival across contracts (month-to-month)
    assert f["value"] == pytest.approx(min(at12.values()), abs=1e-9)
    for contract, s in at12.items():     # 70% of month-to-month, 99% of one year, 100% of two year
        assert f"{s:.0%} of {contract.lower()}" in f["statement"].lower(), contract
    assert "Kaplan–Meier survival by contract" in telco["html"]
    assert f["p_value"] is not None and f["p_value"] < 1e-10     # the contracts differ beyond doubt


def test_the_at_risk_list_matches_the_hand_made_rule(telco):
    # no orders or usage: the churn-profile rule works on the attribute that separates churn most, the
    # contract (Cramér's V ~0.41 against ~0.32 for the internet service and ~0.30 for the payment method).
    # A customer is flagged when, of the customers of their contract who reached their tenure (at least
    # 20 of them), the share who left within the horizon is >= 10% and >= 2x that of all customers.
    by = defaultdict(list)
    for r in telco["rows"]:
        by[r["Contract"]].append(r)
    curves = {k: _km(v) for k, v in by.items()}
    overall = _km(telco["rows"])

    def leave(s, t):
        return 1 - s[int(t + HORIZON_MONTHS)] / s[t]

    # customers of each contract who reached each tenure (tenure >= t)
    reached_at = {k: {t: sum(1 for x in v if int(x["tenure"]) >= t) for t in range(80)} for k, v in by.items()}
    flagged = active = 0
    for r in telco["rows"]:
        if r["Churn"] == "Yes":
            continue
        active += 1
        t = int(r["tenure"])
        reached = reached_at[r["Contract"]][t]
        p, p_all = leave(curves[r["Contract"]], t), leave(overall, t)
        flagged += reached >= 20 and p_all > 0 and p >= MIN_RISK and p / p_all >= LIFT
    assert active == 5174
    assert f"{flagged:,} of {active:,} active customers flagged." in telco["html"]
    assert 0 < flagged < active


def test_sections_that_need_orders_say_so(telco):
    html = telco["html"]
    assert html.count("This section needs an orders table, which this study does not have: it would show") == 2
    assert "Recurring revenue retention" in html
    index = (telco["dir"] / "index.html").read_text(encoding="utf-8")
    assert "What more data would add" in index
    assert "Cohort retention" in index and "Retention by purchase behaviour" in index
    assert "Customer value" in index          # a whole report that needs orders


def test_the_health_score_says_it_cannot_be_computed(telco):
    html = (telco["dir"] / "health_score.html").read_text(encoding="utf-8")
    assert "This section needs a usage, interactions or survey responses table" in html
    assert "Measures and weights of the health score" not in html
    assert "Customers per band" not in html

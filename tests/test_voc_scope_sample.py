"""VOC phase 1, the sample side: margin of error, detectable differences, homogeneity and coverage
against reference values, and the planted sample imbalances of the demo company."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from insight.voc.sample import (
    SampleError,
    coverage,
    cross_grid,
    detectable_difference,
    detectable_rating_difference,
    gini_simpson,
    grid_note,
    margin_of_error,
    normalised_entropy,
    power_table,
    precision_table,
    recruited_sample,
    required_base,
    sample_findings,
    survey_sample,
)

# --- margin of error: textbook values -----------------------------------------------------------


def test_margin_of_error_textbook_values():
    # worst case p = 0.5 at 95%: 1.96 * sqrt(0.25 / n)
    assert round(margin_of_error(100) * 100, 1) == 9.8        # 1.96 * 0.05  = 0.098
    assert round(margin_of_error(400) * 100, 1) == 4.9        # 1.96 * 0.025 = 0.049
    assert round(margin_of_error(1000) * 100, 1) == 3.1       # 1.96 * 0.01581 = 0.031
    # 99% confidence, n = 400: 2.5758 * 0.025 = 0.0644
    assert margin_of_error(400, confidence=0.99) == pytest.approx(0.0644, abs=5e-5)
    # a share of 20% (not the worst case), n = 400: 1.96 * sqrt(0.16 / 400) = 1.96 * 0.02 = 0.0392
    assert margin_of_error(400, p=0.2) == pytest.approx(0.0392, abs=5e-5)


def test_margin_of_error_with_finite_population_correction():
    # n = 400 of N = 1,000: 1.959964 * 0.025 * sqrt((1000 - 400) / 999) = 0.0489991 * 0.774984 = 0.037974
    assert margin_of_error(400, population=1000) == pytest.approx(0.037974, abs=1e-6)
    # the whole population surveyed: no sampling error
    assert margin_of_error(500, population=500) == 0.0
    with pytest.raises(ValueError, match="larger than the population"):
        margin_of_error(600, population=500)


def test_required_base_textbook_values():
    # n0 = 1.96^2 * 0.25 / 0.05^2 = 384.15 -> 385 for ±5 points (the classic "384")
    assert required_base(0.05) == 385
    # with N = 1,000: 384.15 / (1 + 383.15 / 1000) = 277.7 -> 278 (the usual sample-size table value)
    assert required_base(0.05, population=1000) == 278
    # ±3 points: 1.96^2 * 0.25 / 0.0009 = 1067.1 -> 1068
    assert required_base(0.03) == 1068


# --- power: detectable differences --------------------------------------------------------------

def test_detectable_difference_hand_computed():
    # n1 = n2 = 200, two-sided alpha 0.05, power 0.8, reference share 0.5.
    # Cohen's h = (z_0.975 + z_0.8) * sqrt(1/200 + 1/200) = (1.959964 + 0.841621) * 0.1 = 0.2801585
    # p2 = sin(asin(sqrt(0.5)) + h/2)^2 = sin(pi/4 + 0.1400793)^2 = (1 + sin h) / 2 = 0.6382540
    # detectable difference = 0.6382540 - 0.5 = 0.1382540 (13.8 points)
    assert detectable_difference(200, 200) == pytest.approx(0.138254, abs=1e-5)


def test_detectable_difference_matches_cohens_table():
    # Cohen (1988), table 6.4.1: h = 0.20 needs n = 392 per group (two-tailed alpha .05, power .80);
    # at p1 = 0.5, h = 0.2 means p2 = (1 + sin 0.2) / 2 = 0.599334, a difference of 0.099334
    assert detectable_difference(392, 392) == pytest.approx(0.099334, abs=2e-4)
    # Cohen (1988), table 2.4.1: d = 0.50 needs n = 64 per group: with SD 1 point, 0.5 points
    assert detectable_rating_difference(64, 64, sd=1.0) == pytest.approx(0.50, abs=0.01)
    assert detectable_rating_difference(64, 64, sd=2.0) == pytest.approx(1.00, abs=0.02)


def test_detectable_difference_behaves():
    # unequal groups detect less than equal groups of the same total; bigger groups detect smaller gaps
    assert detectable_difference(100, 300) > detectable_difference(200, 200)
    assert detectable_difference(800, 800) < detectable_difference(200, 200)
    # near the top of the scale the difference is taken downwards and stays a valid share
    d = detectable_difference(30, 30, baseline=0.95)
    assert 0 < d < 0.95
    assert math.isnan(detectable_difference(1, 50))


def test_power_and_precision_tables():
    t = power_table({"enterprise": 160, "mid_market": 280, "smb": 360})
    assert len(t) == 3 and list(t["Group A"]) == ["enterprise", "enterprise", "mid_market"]
    # the smallest pair has the largest detectable difference
    assert t["Detectable difference in a share (points)"].idxmax() == 0
    p = precision_table({"planned": 400, "achieved": 100}, population=1000)
    assert p["Margin of error (± points)"].tolist() == [4.9, 9.8]
    assert p.iloc[0, 3] == 3.8                                  # 0.037974 -> 3.8 points


# --- homogeneity -----------------------------------------------------------------------------

def test_homogeneity_reference_values():
    assert normalised_entropy([5, 5, 5, 5]) == pytest.approx(1.0)
    assert normalised_entropy([20, 0, 0, 0]) == 0.0
    # two of four planned groups, evenly: ln 2 / ln 4 = 0.5
    assert normalised_entropy([10, 10, 0, 0]) == pytest.approx(0.5)
    # shares 0.5, 0.25, 0.25: H = 0.5 ln 2 + 2 * 0.25 ln 4 = 1.039721; / ln 3 (1.098612) = 0.946395
    assert normalised_entropy([2, 1, 1]) == pytest.approx(0.946395, abs=1e-6)
    # Gini-Simpson: 1 - (0.25 + 0.0625 + 0.0625) = 0.625; / (1 - 1/3) = 0.9375
    assert gini_simpson([2, 1, 1]) == pytest.approx(0.9375)
    assert gini_simpson([7, 0]) == 0.0


# --- coverage on a hand-made sample -----------------------------------------------------------

TARGETS = {"region": {"North America": 0.35, "EMEA": 0.30, "APAC": 0.20, "LATAM": 0.15},
           "customer_status": {"existing": 0.60, "churned": 0.25, "prospect": 0.10, "competitor": 0.05}}


@pytest.fixture
def hand_sample() -> pd.DataFrame:
    # 20 recruited customers, 2 more on the list, 2 industry experts
    region = ["North America"] * 12 + ["EMEA"] * 6 + ["APAC"] * 2 + ["LATAM"] * 2 + [None] * 2
    status = ["existing"] * 15 + ["churned"] * 3 + ["prospect"] * 2 + ["churned"] * 2 + [None] * 2
    role = ["user"] * 10 + ["decision_maker"] * 10 + ["user"] * 2 + ["expert"] * 2
    recruited = [True] * 20 + [False] * 2 + [True] * 2
    return pd.DataFrame({"participant_id": [f"P{i}" for i in range(24)], "region": region,
                         "customer_status": status, "role": role, "recruited": recruited})


def test_coverage_flags_and_counts(hand_sample):
    rec, pool = recruited_sample(hand_sample)
    assert len(rec) == 20 and len(pool) == 2                  # experts left out, list-only apart
    cov = coverage(rec, TARGETS, source="interviews", min_per_cell=3, pool=pool)
    t = cov.table.set_index(["dimension", "value"])
    # region: 12 / 6 / 2 / 0 of 20 against 35 / 30 / 20 / 15 %
    assert t.loc[("region", "North America"), "share"] == 0.6
    assert t.loc[("region", "North America"), "status"] == "over"       # 0.60 / 0.35 = 1.71 > 1.5
    assert t.loc[("region", "EMEA"), "status"] == "ok"                  # 0.30 / 0.30 = 1
    assert t.loc[("region", "APAC"), "status"] == "below_min"           # 2 < 3
    assert t.loc[("region", "LATAM"), "status"] == "none"
    assert t.loc[("region", "LATAM"), "available"] == 2                 # the two on the list
    assert t.loc[("region", "LATAM"), "expected_n"] == pytest.approx(3.0)
    assert t.loc[("region", "APAC"), "gap_pp"] == pytest.approx(-10.0)
    # status: 15 / 3 / 2 / 0 -> existing 75% (ratio 1.25, ok); churned 15% (0.6 < 0.67: under)
    assert t.loc[("customer_status", "churned"), "status"] == "under"
    assert t.loc[("customer_status", "existing"), "status"] == "ok"
    # role has no target: described only
    assert t.loc[("role", "user"), "status"] == "no_target"
    s = cov.summary.set_index("dimension")
    # chi-square for region: expected 7, 6, 4, 3 -> 25/7 + 0 + 4/4 + 9/3 = 7.5714 (3 df)
    assert s.loc["region", "chi2"] == pytest.approx(7.571429, abs=1e-5)
    assert s.loc["role", "entropy"] == pytest.approx(1.0)               # 10 / 10 over 2 groups
    assert not s.loc["role", "homogeneous"]
    f = {x["id"]: x for x in sample_findings(cov)}
    assert set(f) == {"scope.sample.interviews.region", "scope.sample.interviews.customer_status"}
    assert "over-represents North America (60% against a target of 35%)" in f["scope.sample.interviews.region"]["statement"]
    assert "2 LATAM" in f["scope.sample.interviews.region"]["statement"]
    assert f["scope.sample.interviews.region"]["extra"]["none"] == ["LATAM"]


def test_homogeneous_dimension_is_flagged():
    df = pd.DataFrame({"gender": ["male"] * 19 + ["female"], "region": ["EMEA"] * 20})
    cov = coverage(df, {}, source="interviews", homogeneity_warning=0.5)
    s = cov.summary.set_index("dimension")
    # 19 / 1: H = -(0.95 ln 0.95 + 0.05 ln 0.05) = 0.198515; / ln 2 = 0.286397
    assert s.loc["gender", "entropy"] == pytest.approx(0.286397, abs=1e-6)
    assert s.loc["gender", "homogeneous"] and s.loc["region", "homogeneous"]
    ids = {f["id"] for f in sample_findings(cov)}
    assert ids == {"scope.sample.interviews.homogeneity.gender", "scope.sample.interviews.homogeneity.region"}


def test_targeted_dimension_missing_from_the_table_is_reported():
    df = pd.DataFrame({"region": ["EMEA", "APAC"]})
    cov = coverage(df, {"segment": {"smb": 1.0}}, source="survey", table_name="survey_responses")
    assert cov.skipped == ["segment"]
    f = sample_findings(cov)
    assert f[0]["id"] == "scope.sample.survey.unrecorded.segment" and f[0]["source"] == "survey"


def test_cross_grid_expected_counts(hand_sample):
    rec, _ = recruited_sample(hand_sample)
    g = cross_grid(rec, "region", "customer_status", TARGETS["region"], TARGETS["customer_status"], min_per_cell=2)
    cell = g.set_index(["a", "b"])
    # 20 with both known; North America x existing expected 20 * 0.35 * 0.60 = 4.2, recruited 12
    assert cell.loc[("North America", "existing"), "expected_n"] == pytest.approx(4.2)
    assert cell.loc[("North America", "existing"), "n"] == 12
    assert cell.loc[("North America", "existing"), "status"] == "over"
    # North America x churned: expected 20 * 0.35 * 0.25 = 1.75, nobody recruited: a gap
    assert cell.loc[("North America", "churned"), "status"] == "none"
    # LATAM x churned: expected 0.75 < 1, nobody: smaller than the minimum by the targets themselves
    assert cell.loc[("LATAM", "churned"), "status"] == "small_by_design"
    # EMEA x churned: 3 recruited, expected 1.5 -> twice the target
    assert cell.loc[("EMEA", "churned"), "status"] == "over"
    assert g["n"].sum() == 20 and len(g) == 16
    note = grid_note(g)
    # gaps: NA x churned, APAC x existing (2.4), APAC x churned (1.0), LATAM x existing (1.8)
    assert note.startswith("4 of 16 targeted cells have a recruitment gap (⚠), 3 are over-represented")
    # 8 cells expect fewer than 2; two in each: 4.2 + 3.6 + 2.4 (the three bigger cells) + 13 x 2 = 36.2 -> 37
    assert "8 cells are smaller than the minimum of 2 by design" in note and "about 37 people" in note


def test_bad_sample_input_errors_name_table_column_rows_and_fix(hand_sample):
    bad = hand_sample.assign(recruited=hand_sample["recruited"].astype(object))
    bad.loc[[3, 5], "recruited"] = "maybe"
    with pytest.raises(SampleError) as info:
        recruited_sample(bad)
    msg = str(info.value)
    assert "participants.recruited" in msg and "[3, 5]" in msg and "'maybe'" in msg and "Fix:" in msg
    with pytest.raises(SampleError, match=r"participants has no column 'segment'.*Fix: set scope.sample.cross"):
        cross_grid(hand_sample, "segment", "region", {}, {})
    with pytest.raises(SampleError, match="no wave 2030"):
        survey_sample(pd.DataFrame({"wave": [2023, 2024], "completed": [True, True]}), wave=2030)


def test_survey_sample_takes_completed_responses_of_one_wave():
    df = pd.DataFrame({"wave": [2023, 2024, 2024, 2024], "completed": [True, True, False, True]})
    s, note = survey_sample(df)
    assert len(s) == 2 and note == "wave 2024, completed responses only"
    s, _ = survey_sample(df, wave=2023)
    assert len(s) == 1


# --- the planted imbalances of the demo company ----------------------------------------------------

@pytest.fixture(scope="module")
def demo():
    gen = pytest.importorskip("insight.demo").generate
    return gen(scale=0.5)


@pytest.fixture(scope="module")
def demo_params():
    from insight.params import load_params
    from insight.paths import Project
    from pathlib import Path
    return load_params("2024-annual", Project(Path(__file__).resolve().parent.parent))


def test_interview_coverage_finds_the_planted_imbalance(demo, demo_params):
    from insight.demo.planted import PLANTED
    design = demo_params.scope.sample
    rec, pool = recruited_sample(demo["participants"], design.exclude_roles)
    cov = coverage(rec, design.targets.as_dict(), source="interviews", min_per_cell=design.min_per_cell,
                   under_ratio=design.under_ratio, over_ratio=design.over_ratio, pool=pool)
    planted = PLANTED["sample_imbalance"].values
    over = planted["over"]
    (dim, value), = over.items()
    assert cov.status(dim, value) == "over"                                 # North America
    for under in planted["under"]:
        (dim, value), = under.items()
        assert cov.status(dim, value) in ("under", "below_min", "none")   # LATAM, churned
    flagged = {(r.dimension, r.value) for r in cov.flagged.itertuples()}
    # nothing else in region is over-represented
    assert {v for d, v in flagged if d == "region" and cov.status(d, v) == "over"} == {over["region"]}
    ids = {f["id"] for f in sample_findings(cov)}
    assert {"scope.sample.interviews.region", "scope.sample.interviews.customer_status"} <= ids


def test_survey_coverage_finds_enterprise_over_represented(demo, demo_params):
    from insight.demo.planted import PLANTED
    p = PLANTED["survey_overrepresents_enterprise"].values
    design = demo_params.scope.sample
    responses, _ = survey_sample(demo["survey_responses"], wave=2024)
    cov = coverage(responses, design.survey.as_dict(), source="survey", table_name="survey_responses")
    row = cov.table.set_index(["dimension", "value"]).loc[("segment", "enterprise")]
    assert row["status"] == "over"
    assert row["share"] == pytest.approx(p["respondent_share"], abs=0.06)
    assert row["target"] == pytest.approx(p["population_share"], abs=0.01)


def test_demo_targets_match_the_demo_population(demo, demo_params):
    """The survey targets are the customer base's shares (what 'representative' means for the demo)."""
    cust = demo["customers"]
    targets = demo_params.scope.sample.survey.as_dict()
    seg = cust["segment"].value_counts(normalize=True)
    for value, share in targets["segment"].items():
        assert seg.get(value, 0) == pytest.approx(share, abs=0.05)
    reg = cust["region"].value_counts(normalize=True)
    for value, share in targets["region"].items():
        assert reg.get(value, 0) == pytest.approx(share, abs=0.06)
    status = cust["status"].value_counts(normalize=True)
    for value, share in targets["customer_status"].items():
        assert status.get(value, 0) == pytest.approx(share, abs=0.05)


def test_targets_naming_none_of_the_recorded_values_are_reported_not_flagged():
    # a user's study with its own regions while the targets still name the demo's
    df = pd.DataFrame({"region": ["Nordics"] * 5 + ["Benelux"] * 5})
    cov = coverage(df, {"region": TARGETS["region"]}, source="interviews")
    assert cov.flagged.empty and cov.mismatched == ["region"]
    s = cov.summary.set_index("dimension")
    assert s.loc["region", "entropy"] == pytest.approx(1.0)         # 5 / 5 over the two recorded regions
    (f,) = sample_findings(cov)
    assert f["id"] == "scope.sample.interviews.mismatch.region"
    assert "North America" in f["statement"] and "Nordics" in f["statement"] and "scope.sample.targets.region" in f["statement"]


def test_targets_vs_population():
    from insight.voc.sample import targets_vs_population
    customers = pd.DataFrame({"region": ["EMEA"] * 3 + ["APAC"], "status": ["existing"] * 2 + ["churned", "prospect"]})
    t = targets_vs_population(TARGETS, customers).set_index(["Dimension", "Value"])
    # EMEA: target 30%, base 3 of 4 = 75% -> -45 points; LATAM: 15% vs 0%
    assert t.loc[("Region", "EMEA"), "Customer base %"] == 75.0
    assert t.loc[("Region", "EMEA"), "Target − base (points)"] == -45.0
    assert t.loc[("Region", "LATAM"), "Customer base %"] == 0.0
    assert t.loc[("Customer status", "churned"), "Customer base %"] == 25.0


def test_method_progress_counts_people_per_method(demo_params):
    from insight.voc.sample import method_progress, progress_findings
    qs = pd.DataFrame({"source_id": ["S1", "S2", "S3", "S4", "S5"],
                       "kind": ["interview_1to1", "interview_1to1", "focus_group", "observation_log", "interview_1to1"],
                       "participant_id": ["P1", "P2", None, None, "P1"]})
    cs = pd.DataFrame({"source_id": ["S3", "S3", "S3", "S1"], "participant_id": ["P7", "P8", "P7", "P1"]})
    pr = method_progress(demo_params, qs, cs, survey_completed=700).set_index("Method")
    # 1:1: P1 (twice) and P2 -> 2 people in 3 sessions, planned 18
    assert pr.loc["1:1 interview", "Achieved"] == 2 and pr.loc["1:1 interview", "Sessions / entries"] == 3
    assert pr.loc["1:1 interview", "Status"] == "⚠ 2 of 18"
    # the focus group's members come from its coded excerpts: P7, P8
    assert pr.loc["Focus group", "Achieved"] == 2
    assert pr.loc["Immersive research (on site, observation log)", "Status"].startswith("under way: 1 sessions")
    assert pr.loc["Phone interview", "Status"] == "⚠ not started"
    assert pr.loc["Survey (questionnaire)", "Status"] == "⚠ 700 of 800"     # 87.5% < 90%
    (f,) = progress_findings(pr.reset_index())
    assert f["id"] == "scope.fieldwork.short" and "1:1 interview 2 of 18 participants" in f["statement"]
    # methods with nobody yet are listed apart: video 8, phone 5, group 3, council 6 planned = 22
    # (immersion is under way: entries without participants, not flagged)
    assert ("Not started in the study's data: Video interview, Phone interview, 1:many (group) interview, Expert "
            "(elders') council (22 planned participants in all)." in f["statement"])


# --- sample size for the next study (issue 17 item 5) -----------------------------------------

def test_required_per_group_matches_cohens_tables():
    from insight.voc.sample import required_per_group_rating, required_per_group_share

    # Cohen (1988), table 2.4.1 (two-tailed alpha .05, power .80): d = .20 -> 393, .50 -> 64, .80 -> 26.
    # For d = .20 the exact noncentral-t solution is 393.4, so 394 (as G*Power 3 gives); Cohen's
    # table rounds his normal approximation to 393
    assert required_per_group_rating(0.2, 1.0) == 394
    assert required_per_group_rating(0.5, 1.0) == 64
    assert required_per_group_rating(0.8, 1.0) == 26
    assert required_per_group_rating(0.3, 0.6) == 64          # the same d = 0.5 in rating points
    # Cohen (1988), table 6.4.1: h = .20 -> 392, h = .50 -> 63 (p1 = 0.5, p2 = (1 + sin h) / 2).
    # n = 2 ((z_.975 + z_.80) / h)^2 = 2 (2.801585 / 0.2)^2 = 392.4 for h = .20: 393 whole respondents
    # (Cohen's table prints the rounded 392)
    assert required_per_group_share(0.5, (1 + math.sin(0.2)) / 2 - 0.5) == 393
    assert required_per_group_share(0.5, (1 + math.sin(0.5)) / 2 - 0.5) == 63
    assert required_per_group_rating(0.3, 0.0) == -1          # no spread: no answer, not a crash


def test_next_study_sample_uses_the_observed_spread_and_the_planted_effect(demo, demo_params):
    from insight.demo.planted import PLANTED
    from insight.voc.sample import next_study_finding, next_study_sample, required_per_group_rating

    responses, _ = survey_sample(demo["survey_responses"], wave=2024)
    table, problems = next_study_sample(demo_params, responses)
    h1 = table.set_index("Hypothesis").loc["H1"]
    # the planted effect: enterprise customers rate onboarding 0.8 points lower (H1)
    planted = PLANTED["enterprise_onboarding_gap"].values
    assert planted["question"] == h1["Measure"] and h1["Observed difference"] < planted["shift"] / 2
    x = pd.to_numeric(responses["q_onboarding"], errors="coerce")
    a = x[(responses["segment"] == "enterprise") & x.notna()]
    b = x[(responses["segment"] != "enterprise") & responses["segment"].notna() & x.notna()]
    sd = math.sqrt(((len(a) - 1) * a.var() + (len(b) - 1) * b.var()) / (len(a) + len(b) - 2))   # pooled SD by hand
    assert h1["Observed SD"] == pytest.approx(sd, abs=0.005)
    assert h1["n per group needed (smallest difference)"] == required_per_group_rating(
        demo_params.scope.sample.smallest_rating_difference, sd)
    f = next_study_finding(table, demo_params)
    assert f["value"] == int(table["n per group needed (smallest difference)"].max())


def test_next_study_sample_says_why_a_hypothesis_cannot_be_sized(demo_params):
    from insight.voc.sample import next_study_sample

    constant = pd.DataFrame({"segment": ["enterprise", "smb", "smb", "enterprise"], "q_onboarding": [3, 3, 3, 3],
                             "q_attr_value": [1, 2, None, None], "customer_status": ["churned"] * 4})
    table, problems = next_study_sample(demo_params, constant)
    text = " ".join(problems)
    assert "H1: q_onboarding is constant" in text                  # a constant column
    assert "H3: q_attr_value has" in text and "at least two" in text   # too few cases
    assert "H4" in text                                             # no reference group answers

"""The survey library on small hand-made data: reference values and bad input."""
from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insight.survey import QuestionnaireError, SurveyDataError, load_questionnaire
from insight.survey.banner import banner_table
from insight.survey.clean import clean_responses
from insight.survey.fieldwork import pilot_check, quota_fill, responses_over_time
from insight.survey.hypotheses import hypothesis_tests as run_hypotheses
from insight.survey.metrics import metric_display, metric_table
from insight.survey.open_ends import SOURCE_COLUMNS, open_ends_as_sources
from insight.survey.reliability import item_analysis, reliability
from insight.survey.weight import WeightingError, rake, weight_diagnostics
from survey_fake import ATTRS, fake_responses

ROOT = Path(__file__).resolve().parent.parent
DEMO_Q = ROOT / "templates" / "instruments" / "demo-survey.yaml"


@pytest.fixture(scope="module")
def qn():
    return load_questionnaire(DEMO_Q)


# --- questionnaire -----------------------------------------------------------------------------

def test_demo_questionnaire_matches_the_contract(qn):
    expected = ["q_nps", "q_nps_why", "q_csat", "q_ces", "q_pmf", "q_onboarding", "q_renew", "q_trust",
                *ATTRS, "q_attention", *[f"q_channels__{c}" for c in ("email", "phone", "chat", "community", "academy")],
                "q_churn_reason", "q_improve"]
    assert sorted(qn.answer_columns) == sorted(expected)
    assert qn.question("q_attr_hard").reverse and qn.question("q_attention").correct == 4
    assert {q.id for q in qn.constructs["product_experience"]} == {"q_attr_reliability", "q_attr_ease", "q_attr_features", "q_attr_hard"}
    assert {q.id for q in qn.constructs["relationship"]} == {"q_attr_value", "q_attr_support", "q_attr_responsive", "q_attr_partner"}
    assert [o.code for o in qn.question("q_pmf").options] == ["very", "somewhat", "not"]
    assert qn.question("q_ces").scale.max == 7 and qn.question("q_ces").top_codes == [5, 6, 7]
    assert qn.question("q_nps").top_codes == [9, 10]


def test_render_markdown_and_html(qn):
    md = qn.to_markdown()
    assert "## Recommendation" in md and "*Ask only if customer_status is churned.*" in md
    assert "| The product is hard to use. |" in md
    page = qn.to_html()
    assert page.startswith("<!DOCTYPE html>") and "http" not in page
    assert "Northwind Software&#x27;s product" in page   # escaped apostrophe


def _write(tmp_path, text: str) -> Path:
    p = tmp_path / "q.yaml"
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def test_questionnaire_errors_are_clear(tmp_path):
    with pytest.raises(QuestionnaireError, match="needs `options:`"):
        load_questionnaire(_write(tmp_path, """
            title: t
            sections:
              - title: s
                questions:
                  - {id: q_a, type: single, text: x}
        """))
    with pytest.raises(QuestionnaireError, match="uses block 'npz'"):
        load_questionnaire(_write(tmp_path, f"""
            title: t
            blocks: {DEMO_Q.parent / 'blocks.yaml'}
            sections:
              - title: s
                questions:
                  - {{id: q_a, block: npz}}
        """))
    with pytest.raises(QuestionnaireError, match="not found"):
        load_questionnaire(tmp_path / "nope.yaml")


def test_bad_data_code_outside_scale(qn):
    df = fake_responses(50)
    df.loc[3, "q_csat"] = 9
    with pytest.raises(SurveyDataError) as e:
        qn.check_responses(df)
    msg = str(e.value)
    assert "survey_responses.q_csat" in msg and "1-5" in msg and "'9.0'" in msg and df.loc[3, "respondent_id"] in msg
    assert "fix:" in msg


def test_bad_data_question_missing_from_questionnaire(qn):
    df = fake_responses(20).assign(q_loyalty=3)
    with pytest.raises(SurveyDataError, match=r"columns \['q_loyalty'\] are not in the questionnaire.*fix: add"):
        qn.check_responses(df)


def test_bad_data_questionnaire_column_absent(qn):
    df = fake_responses(20).drop(columns=["q_trust"])
    with pytest.raises(SurveyDataError, match=r"asks \['q_trust'\] but survey_responses has no such columns.*fix: map"):
        qn.check_responses(df)


# --- cleaning ------------------------------------------------------------------------------------

def _planted_dirty(n=400, seed=2):
    df = fake_responses(n, seed)
    med = df["duration_seconds"].median()
    speed = df.index[:12]
    df.loc[speed, "duration_seconds"] = 0.2 * med
    flat = df.index[20:30]
    df.loc[flat, ATTRS] = 3.0
    dup = df.loc[[40, 41]].copy()
    dup["respondent_id"] = ["DUP1", "DUP2"]
    dup["started_at"] = dup["started_at"] + pd.Timedelta(hours=2)
    dup["submitted_at"] = dup["submitted_at"] + pd.Timedelta(hours=2)
    df.loc[50:53, "q_attention"] = 2.0
    df.loc[60:64, "completed"] = False
    df.loc[60:64, ["q_channels__email", "q_improve"]] = np.nan
    df = pd.concat([df, dup], ignore_index=True)
    return df, set(df.loc[speed, "respondent_id"]), set(df.loc[flat, "respondent_id"])


def test_cleaning_finds_each_rule_with_an_audit_trail(qn):
    df, speeders, flat = _planted_dirty()
    res = clean_responses(df, qn)
    audit = res.audit.set_index("rule")
    assert audit.loc["duplicate", "removed"] == 2
    assert set(res.removed.loc[res.removed.rule == "duplicate", "respondent_id"]) == {"DUP1", "DUP2"}
    assert set(res.removed.loc[res.removed.rule == "speeder", "respondent_id"]) == speeders
    assert set(res.removed.loc[res.removed.rule == "straight_liner", "respondent_id"]) == flat
    assert audit.loc["attention", "removed"] == 4 and audit.loc["partial", "removed"] == 5
    assert res.n_out == len(df) - len(res.removed) == audit["remaining"].iloc[-1]
    assert audit["removed"].sum() == len(res.removed)
    assert "email" not in res.removed.columns


def test_cleaning_out_of_range_options(qn):
    df = fake_responses(60)
    df.loc[5, "q_nps"] = 12
    with pytest.raises(SurveyDataError):
        clean_responses(df, qn)
    removed = clean_responses(df, qn, out_of_range="remove")
    assert list(removed.removed.respondent_id) == [df.loc[5, "respondent_id"]]
    blanked = clean_responses(df, qn, out_of_range="blank")
    assert blanked.blanked == 1 and math.isnan(blanked.data.loc[5, "q_nps"])


# --- weighting -----------------------------------------------------------------------------------

# Kalton & Flores-Cervantes (2003), "Weighting methods", J. Official Statistics 19(2):81-97:
# Table 1 gives respondent counts and population counts for a 4 x 3 table (A1-A4 x B1-B3);
# their raking example (Table 2) gives the raked weights below (population total 1500 over
# 1000 respondents, so the weights are relative to a mean of 1.5).
KFC_RESP = [[20, 40, 40], [50, 140, 310], [100, 50, 50], [30, 100, 70]]
KFC_POP = [[80, 40, 55], [60, 150, 340], [170, 60, 200], [55, 165, 125]]
KFC_RAKED = [[1.81, 1.45, 2.02], [1.08, 0.87, 1.21], [2.20, 1.76, 2.45], [1.83, 1.47, 2.04]]


def _kfc_sample():
    rows = [(f"A{i + 1}", f"B{j + 1}") for i in range(4) for j in range(3) for _ in range(KFC_RESP[i][j])]
    return pd.DataFrame(rows, columns=["A", "B"])


def test_raking_reproduces_kalton_flores_cervantes():
    df = _kfc_sample()
    pop = np.array(KFC_POP)
    margins = {"A": {f"A{i + 1}": pop[i].sum() for i in range(4)}, "B": {f"B{j + 1}": pop[:, j].sum() for j in range(3)}}
    res = rake(df, margins, tolerance=1e-9)
    assert res.converged
    cell = (res.weights * 1500 / 1000).groupby([df.A, df.B]).first().unstack()
    assert np.allclose(cell.to_numpy(), KFC_RAKED, atol=0.006)
    # every margin hits its population share
    assert np.allclose(res.margins["weighted"], res.margins["target"], atol=1e-8)


def test_raking_errors_and_trimming():
    df = _kfc_sample()
    with pytest.raises(WeightingError, match=r"categories \['A5'\] with no respondent.*merge"):
        rake(df, {"A": {"A1": .2, "A2": .2, "A3": .2, "A4": .2, "A5": .2}})
    with pytest.raises(WeightingError, match=r"has categories \['A4'\] that .* lacks"):
        rake(df, {"A": {"A1": .4, "A2": .3, "A3": .3}})
    skewed = {"A": {"A1": .7, "A2": .1, "A3": .1, "A4": .1}}
    trimmed = rake(df, skewed, trim=(0.5, 2.0))
    assert trimmed.weights.max() <= 2.0 * trimmed.weights.mean() + 1e-9
    assert not trimmed.converged and trimmed.max_error > 0.01   # the cap makes the margin unreachable
    diag = weight_diagnostics(trimmed.weights, trimmed).set_index("statistic")["value"]
    assert diag["converged"] == "NO"
    # what the trim bought: the Kish deff of the untrimmed raking, by hand from its weights
    # (n sum w^2 / (sum w)^2), against the trimmed one
    w = rake(df, skewed).weights.to_numpy()
    assert trimmed.deff_untrimmed == pytest.approx(len(w) * (w ** 2).sum() / w.sum() ** 2)
    assert diag["design effect without trimming"] == pytest.approx(trimmed.deff_untrimmed)
    assert diag["design effect saved by trimming"] > 0
    assert rake(df, skewed).deff_untrimmed is None            # no trim, nothing to compare


# --- metrics -------------------------------------------------------------------------------------

def test_metric_table_hand_computed(qn):
    df = pd.DataFrame({"q_nps": [10] * 40 + [8] * 40 + [3] * 20,
                       "q_csat": [5] * 30 + [4] * 30 + [2] * 40,
                       "seg": ["a"] * 50 + ["b"] * 50})
    t = metric_table(df, qn, ["q_nps", "q_csat"]).set_index("metric")
    assert t.loc["NPS", "value"] == pytest.approx(20.0)
    assert t.loc["NPS", "ci_low"] == pytest.approx(4.9736, abs=1e-3)       # see test_stats (Rocks 2016)
    assert t.loc["% satisfied (top-2-box)", "value"] == pytest.approx(0.60)
    # Wilson 60/100: 0.5020 .. 0.6906 (score interval, z = 1.96)
    assert t.loc["% satisfied (top-2-box)", "ci_low"] == pytest.approx(0.5020, abs=1e-4)
    assert t.loc["mean (1-5)", "value"] == pytest.approx((150 + 120 + 80) / 100)
    by = metric_table(df, qn, ["q_nps"], by="seg", tiny_base=60)
    assert by["suppressed"].all() and by["value"].isna().all()
    assert "estimate" in metric_display(t.reset_index()).columns


def test_weighted_metrics_use_the_effective_base(qn):
    df = pd.DataFrame({"q_csat": [5] * 50 + [1] * 50})
    w = pd.Series([3.0] * 50 + [1.0] * 50)
    t = metric_table(df, qn, ["q_csat"], weights=w).set_index("metric")
    # weighted share 150/200 = 0.75; effective base 200^2 / (50*9 + 50) = 80
    assert t.loc["% satisfied (top-2-box)", "value"] == pytest.approx(0.75)
    assert t.loc["% satisfied (top-2-box)", "n_eff"] == pytest.approx(80.0)


# --- banner tables -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mini_qn(tmp_path_factory):
    p = tmp_path_factory.mktemp("q") / "mini.yaml"
    p.write_text(textwrap.dedent("""
        title: mini
        sections:
          - title: s
            questions:
              - id: q_yes
                type: single
                text: "Do you like it?"
                options: [{code: "yes", label: "Yes"}, {code: "no", label: "No"}]
              - {id: q_score, type: rating, text: "Score", scale: {min: 1, max: 5}}
              - id: q_ch
                type: multi
                text: "Channels"
                options: [{code: a, label: "A"}, {code: b, label: "B"}]
    """), encoding="utf-8")
    return load_questionnaire(p)


def test_banner_two_proportion_letters_with_effective_bases(mini_qn):
    # Column x: 100 respondents, weight 1, 60 say yes -> 60%, effective base 100.
    # Column y: 50 at weight 1 (30 yes) + 50 at weight 3 (20 yes): weighted yes = (30 + 60)/200 = 45%,
    # effective base 200^2/(50 + 450) = 80. Pooled z-test on effective bases: p = 0.04502
    # (hand computation in test_stats.test_two_proportion_z_hand_computed) -> upper-case letter.
    # (On the raw base of 100, p would be 0.0337; the effective base is what is used.)
    yes_x = ["yes"] * 60 + ["no"] * 40
    yes_y = ["yes"] * 30 + ["no"] * 20 + ["yes"] * 20 + ["no"] * 30
    df = pd.DataFrame({"q_yes": yes_x + yes_y, "grp": ["x"] * 100 + ["y"] * 100,
                       "q_score": 3.0, "q_ch__a": 1.0, "q_ch__b": 0.0})
    w = pd.Series([1.0] * 100 + [1.0] * 50 + [3.0] * 50)
    bt = banner_table(df, mini_qn, ["grp"], ["q_yes"], weights=w, correction="none")
    frame = bt.to_frame()
    assert frame.loc[("Do you like it?", "% Yes"), ("grp", "y")] == pytest.approx(0.45)
    assert bt.cells[(0, 2)].n_eff == pytest.approx(80.0)
    assert bt.letter_of("grp", "y") == "B"
    assert bt.cell_letters("q_yes", "% Yes", "grp", "x") == "B"         # x is higher than column B at p < 0.05
    assert bt.cell_letters("q_yes", "% No", "grp", "y") == "A"
    # Holm across the table's 2 tests: both p = 0.04502 -> adjusted 0.09004 -> lower case
    holm = banner_table(df, mini_qn, ["grp"], ["q_yes"], weights=w, correction="holm")
    assert holm.cell_letters("q_yes", "% Yes", "grp", "x") == "b"
    assert "Holm" in holm.legend and "2 column comparisons" in holm.legend
    # the sentence under the table names the strict-level differences only (x 60% vs y 45%, and the mirror row)
    assert bt.highlights() == ("Real differences (p < 0.05 after the correction): “Do you like it?” % Yes: x (60%) is "
                               "higher than y (45%); % No: y (55%) is higher than x (40%).")
    assert holm.highlights().startswith("No group differs from another in this table by more than chance")


def test_banner_welch_letters_on_effective_bases(mini_qn):
    # x: 5,4,5,4,5,3,4,5,5,4 (mean 4.4, var 0.4889, n 10); y: 2 (weight 1) x5 and 4 (weight 3) x5:
    # weighted mean 3.5, var 0.857143, effective base 8. Welch t = 2.278, df 12.8, p = 0.0406
    # (test_stats.test_welch_from_stats_hand_computed) -> "B" on x's mean at p < 0.05.
    xs = [5, 4, 5, 4, 5, 3, 4, 5, 5, 4]
    df = pd.DataFrame({"q_score": xs + [2] * 5 + [4] * 5, "grp": ["x"] * 10 + ["y"] * 10, "q_yes": "yes",
                       "q_ch__a": 1.0, "q_ch__b": 0.0})
    w = [1.0] * 10 + [1.0] * 5 + [3.0] * 5
    bt = banner_table(df, mini_qn, ["grp"], ["q_score"], weights=w, correction="none", small_base=5, tiny_base=5)
    assert bt.cells[(2, 2)].value == pytest.approx(3.5)
    assert bt.cell_letters("q_score", "mean (1-5)", "grp", "x") == "B"


def test_banner_multiple_choice_on_respondents_small_and_tiny_bases(mini_qn):
    # 40 respondents answered the channels question (NaN = not reached); 30 ticked A, 20 ticked B:
    # A = 30/40 = 75%, B = 50% (adds to 125%: percentaged on respondents, not on 50 answers)
    a = [1.0] * 30 + [0.0] * 10 + [np.nan] * 10
    b = [1.0] * 20 + [0.0] * 20 + [np.nan] * 10
    grp = ["x"] * 35 + ["y"] * 8 + ["z"] * 7
    df = pd.DataFrame({"q_ch__a": a, "q_ch__b": b, "grp": grp, "q_yes": "yes", "q_score": 3.0})
    bt = banner_table(df, mini_qn, ["grp"], ["q_ch"], small_base=30, tiny_base=5)
    f = bt.to_frame()
    assert f.loc[("Channels", "% A"), ("Total", "Total")] == pytest.approx(0.75)
    assert f.loc[("Channels", "% B"), ("Total", "Total")] == pytest.approx(0.50)
    assert f.loc[("Channels", "base: n (effective)"), ("Total", "Total")] == 40
    # y has 5 answering (35 x, 8 y of which 3 NaN... ) -> check suppression of a tiny column
    n_y = int(f.loc[("Channels", "base: n (effective)"), ("grp", "y")])
    n_z = int(f.loc[("Channels", "base: n (effective)"), ("grp", "z")])
    assert n_z == 0 and math.isnan(f.loc[("Channels", "% A"), ("grp", "z")])
    html = bt.to_html()
    assert "⚠" in html and "–" in html and "<sup" not in html.split("Channels")[0]
    assert n_y == 5


def test_banner_html_escapes_labels(mini_qn):
    df = pd.DataFrame({"q_yes": ["yes", "no"] * 30, "grp": ["<script>x</script>"] * 30 + ["b"] * 30,
                       "q_score": 3.0, "q_ch__a": 1.0, "q_ch__b": 0.0})
    html = banner_table(df, mini_qn, ["grp"], ["q_yes"]).to_html()
    assert "<script>" not in html and "&lt;script&gt;" in html


# --- reliability -----------------------------------------------------------------------------------

def test_cronbach_alpha_matches_pingouin_documentation():
    import pingouin as pg

    data = pg.read_dataset("cronbach_wide_missing")
    # pingouin.cronbach_alpha docstring: listwise deletion -> 0.8016949152542373, CI [0.581, 0.933]
    summary, items = item_analysis(data)
    assert summary["alpha"] == pytest.approx(0.8016949152542373, abs=1e-12)
    assert (summary["ci_low"], summary["ci_high"]) == (pytest.approx(0.581, abs=1e-3), pytest.approx(0.933, abs=1e-3))
    # and the long-format Likert example of the same docstring: 0.5917188485995826
    long = pg.read_dataset("cronbach_alpha")
    wide = long.pivot(index="Subj", columns="Items", values="Scores")
    assert item_analysis(wide)[0]["alpha"] == pytest.approx(0.5917188485995826, abs=1e-12)


def test_item_total_and_alpha_if_deleted_hand_computed():
    # X1 = 1,2,3,4; X2 = 2,2,3,5; X3 = 1,3,3,4. Item variances 1.6667, 2, 1.5833; total 4,7,9,13
    # variance 14.25 -> alpha = 3/2 (1 - 5.25/14.25) = 0.947368.
    # Without X1: X2 + X3 = 3,5,6,9 (variance 6.25) -> alpha = 2 (1 - 3.58333/6.25) = 0.853333.
    # Corrected item-total r of X1 with 3,5,6,9: cross-products 9.5 / sqrt(5 * 18.75) = 0.981156.
    d = pd.DataFrame({"X1": [1, 2, 3, 4], "X2": [2, 2, 3, 5], "X3": [1, 3, 3, 4]})
    summary, items = item_analysis(d)
    items = items.set_index("item")
    assert summary["alpha"] == pytest.approx(0.947368, abs=1e-6)
    assert items.loc["X1", "alpha if deleted"] == pytest.approx(0.853333, abs=1e-6)
    assert items.loc["X1", "corrected item-total r"] == pytest.approx(9.5 / math.sqrt(5 * 18.75), abs=1e-9)


def test_reliability_reverse_codes_items(qn):
    df = fake_responses(300)
    rel, items = reliability(df, qn)
    pe = rel.set_index("construct").loc["product_experience", "alpha"]
    assert pe > 0.6
    assert items.set_index("item").loc["q_attr_hard", "corrected item-total r"] > 0.3   # positive once reversed
    from insight.survey.reliability import reliability_display
    shown, per_item = reliability_display(rel, items, qn)
    assert "product experience" in shown["construct"].tolist()
    hard = per_item.set_index("statement").loc[qn.question("q_attr_hard").text + " (answers turned round)"]
    assert hard["reverse-coded"] == "yes" and hard["construct"] == "product experience"


def test_signed_never_shows_minus_zero():
    from insight.survey.hypotheses import _signed
    assert (_signed(-0.00227), _signed(0.25), _signed(-0.81)) == ("0.00", "+0.25", "-0.81")
    from insight.survey.metrics import format_metric
    assert (format_metric(-0.258, "points"), format_metric(12.8, "points")) == ("0", "+13")


# --- hypotheses, fieldwork, open ends --------------------------------------------------------------

class _H:
    def __init__(self, hid, measure, group_by, groups, expected):
        from insight.config.core import QuantSpec
        self.id, self.statement = hid, f"{hid} statement"
        self.quant = QuantSpec(source="survey", measure=measure, group_by=group_by, groups=groups, expected=expected)


def test_hypotheses_on_a_planted_gap(qn):
    df = fake_responses(600, seed=4)
    ent = df.segment == "enterprise"
    df.loc[ent, "q_onboarding"] = np.clip(df.loc[ent, "q_onboarding"] - 1, 1, 5)
    hs = [_H("H1", "q_onboarding", "segment", ["enterprise"], "lower"),
          _H("H9", "q_nope", "segment", ["smb"], "lower")]
    res = run_hypotheses(df, qn, hs).set_index("hypothesis")
    assert res.loc["H1", "evidence"] == "supports" and res.loc["H1", "direction"] == "lower"
    assert res.loc["H1", "p_adjusted"] < 0.001 and res.loc["H1", "test"] == "Mann-Whitney U"
    assert res.loc["H9", "evidence"] == "inconclusive" and "not tested" in res.loc["H9", "reason"]


def test_pilot_check_finds_routing_violations_and_no_variance(qn):
    df = fake_responses(80)
    prospects = df.customer_status == "prospect"
    df.loc[prospects, "q_pmf"] = "very"          # asked only of existing / churned
    issues, summary = pilot_check(df, qn, first_n=80)
    checks = set(zip(issues["check"], issues["question"]))
    assert ("routing violation", "q_pmf") in checks
    assert ("no variance", "q_attention") in checks
    assert summary["median completion time (minutes)"] == pytest.approx(df.duration_seconds.median() / 60)


def test_field_status_and_quota_fill():
    df = fake_responses(200)
    df.loc[:9, "completed"] = False
    t = responses_over_time(df)
    assert t["started"].sum() == 200 and t["cumulative completes"].iloc[-1] == 190
    q = quota_fill(df, {"segment": {"enterprise": 0.2, "mid_market": 0.35, "smb": 0.45}}, planned_base=200)
    ent = q.set_index("value").loc["enterprise"]
    assert ent["target n"] == 40 and ent["status"] == "over"
    from insight.survey.fieldwork import quota_fill_display, quota_summary
    assert "mid market" in quota_fill_display(q)["value"].tolist()
    fake = pd.DataFrame({"value": ["a_b", "c", "d"], "fill": [0.5, 1.0, 2.0], "status": ["under", "on target", "over"]})
    assert quota_summary(fake) == ("Quotas under target: a b (50% of target); over target: d (200% of target). "
                                   "Weighting (below) corrects these proportions, but a group under target keeps "
                                   "the precision of its smaller base.")


def test_open_ends_as_sources_shape(qn):
    df = fake_responses(30)
    src = open_ends_as_sources(df, qn)
    assert list(src.columns[:6]) == SOURCE_COLUMNS
    assert set(src["kind"]) == {"open_end"} and src["source_id"].is_unique
    assert (src["question"] == "q_nps_why").sum() == 30
    assert src["text"].notna().all()


# --- params section ---------------------------------------------------------------------------------

def test_survey_params_defaults_and_checks(tmp_path, monkeypatch):
    import re
    from conftest import make_project
    from insight.params import ParamsError, load_params

    root = make_project(tmp_path / "proj")
    monkeypatch.setenv("INSIGHT_ROOT", str(root))
    p = load_params("2024-annual")
    assert p.survey.questionnaire == "templates/instruments/demo-survey.yaml"
    assert p.survey.weighting.margins == {"segment": {"enterprise": 0.20, "mid_market": 0.35, "smb": 0.45}}
    assert p.survey.significance == (0.05, 0.10) and p.survey.correction == "holm"
    assert p.survey.bases(p) == (p.report.small_base, p.report.min_base)
    from insight.survey.fieldwork import survey_targets
    targets = survey_targets(p)          # phase 1 sample targets (params.scope.sample), when defined
    if targets:
        assert all(abs(sum(v.values()) - 1) < 0.01 for v in targets.values())
    f = root / "params" / "2024-annual.yaml"
    f.write_text(f.read_text(encoding="utf-8") + "\nsurvey:\n  questionnaire: templates/instruments/nope.yaml\n"
                 "  weighting: {margins: {segment: {enterprise: 0.5, smb: 0.3}}}\n", encoding="utf-8")
    with pytest.raises(ParamsError) as e:
        load_params("2024-annual")
    text = str(e.value)
    assert "survey.weighting.margins.segment" in text and "sum to 0.800" in text
    assert "questionnaire file not found" in text
    assert re.search(r"2024-annual.yaml:\d+", text)


def test_questionnaire_renderer_cli(tmp_path, capsys):
    from insight.survey.questionnaire import main

    assert main([str(DEMO_Q)]) == 0
    assert "# Customer survey" in capsys.readouterr().out
    out = tmp_path / "q.html"
    assert main([str(DEMO_Q), "--html", str(out)]) == 0
    assert "<h2>Satisfaction</h2>" in out.read_text(encoding="utf-8")


def test_weight_diagnostics_display_formats():
    from insight.survey.weight import diagnostics_display, weight_diagnostics
    # weights 1, 1, 2: mean 4/3, CV^2 = var/mean^2 = (2/9)/(16/9) = 1/8 -> deff 1.125; effective base 16/6 = 2.67 -> "3"
    d = diagnostics_display(weight_diagnostics([1.0, 1.0, 2.0])).set_index("statistic")["value"]
    assert d["respondents weighted"] == "3" and d["smallest weight"] == "1.00" and d["largest weight"] == "2.00"
    assert d["design effect (Kish, 1 + CV²)"] == "1.12" and d["effective base"] == "3"
    assert d["weighting efficiency"] == "89%"                      # 2.67 / 3


def test_open_answers_for_the_report(qn):
    from insight.survey.open_ends import open_answer_counts, open_answers_display
    df = fake_responses(30)
    src = open_ends_as_sources(df, qn)
    shown = open_answers_display(src, qn, n=5)
    assert len(shown) == 5 and "source_id" not in shown.columns and not shown["question"].str.startswith("q_").any()
    counts = open_answer_counts(src, qn)
    assert counts["answers"].sum() == len(src) and not counts["question"].str.startswith("q_").any()

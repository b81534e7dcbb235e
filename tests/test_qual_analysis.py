"""Qualitative analyses on small hand-made data with hand-computed expectations."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from insight.config.core import Hypothesis, QualSpec
from insight.qual import analysis as qa
from insight.qual.model import QualData, QualDataError


def _qd() -> QualData:
    """Six participants, five interviews (P1..P5) on successive days and one expert session (P6).

    Codes per interview: S1 {a, b}, S2 {b, c}, S3 {a}, S4 {c}, S5 {b, a (mentioned twice)}."""
    participants = pd.DataFrame({
        "participant_id": ["P1", "P2", "P3", "P4", "P5", "P6"],
        "name": ["Ann Lee", "Bo Chen", "Cy Roe", "Di Fox", "Ed Kim", "Fay Wu"],
        "customer_status": ["churned", "churned", "existing", "existing", "existing", None],
        "segment": ["smb", "enterprise", "smb", "smb", "enterprise", None],
        "role": ["user", "user", "decision_maker", "user", "champion", "expert"],
    })
    days = pd.to_datetime(["2024-07-01", "2024-07-02", "2024-07-03", "2024-07-04", "2024-07-05", "2024-07-06"])
    sources = pd.DataFrame({
        "source_id": ["S1", "S2", "S3", "S4", "S5", "X1"],
        "kind": ["interview_1to1"] * 4 + ["video_interview", "expert_session"],
        "date": days, "participant_id": ["P1", "P2", "P3", "P4", "P5", "P6"],
        "title": ["i1", "i2", "i3", "i4", "i5", "Council"],
        "text": ["Interviewer: Hi?\nParticipant: a.\nInterviewer: Why?\nParticipant: b.\nInterviewer: Tell me more\n"
                 "Participant: more.\nInterviewer: Thanks", None, None, None, None, None],
    })
    codebook = pd.DataFrame({"code": ["a", "b", "c", "d"], "parent": [None, None, None, "a"]})
    seg = pd.DataFrame([
        ("g1", "S1", "coder_a", "a", "Call me on +44 20 7946 0958, Ann Lee here: the setup was a real struggle", 2, False),
        ("g2", "S1", "coder_a", "b", "b in S1 from a probe answer", 4, True),
        ("g3", "S2", "coder_a", "b", "b in S2", 2, False),
        ("g3", "S2", "coder_a", "c", "b in S2", 2, False),
        ("g4", "S3", "coder_a", "a", "a in S3, quite a typical length of excerpt", 2, False),
        ("g5", "S4", "coder_a", "c", "c in S4", 2, False),
        ("g6", "S5", "coder_a", "b", "b in S5", 2, False),
        ("g7", "S5", "coder_a", "a", "a in S5, first time", 4, False),
        ("g8", "S5", "coder_a", "a", "a in S5, again", 6, False),
        ("g7", "S5", "coder_b", "a", "a in S5, first time", 4, False),
        ("x1", "X1", "coder_a", "d", "The market will consolidate within three years.", None, None),
    ], columns=["segment_id", "source_id", "coder", "code", "excerpt", "turn", "is_probe"])
    return QualData(participants, sources, codebook, seg, origin="hand-made").prepared()


def test_participant_filled_from_source_and_base():
    qd = _qd()
    assert qd.segments.set_index("segment_id").loc["g5", "participant_id"] == "P4"
    assert qd.kinds(qa.INTERVIEW_KINDS).n_participants == 5


def test_code_frequency_counts_participants_not_mentions():
    qd = _qd().kinds(qa.INTERVIEW_KINDS)
    f = qa.code_frequency(qd).set_index("code")
    # a: P1, P3, P5 -> 3 of 5 participants; mentions g1, g4, g7, g8 = 4 distinct segments (g7 coded twice)
    assert f.loc["a", "participants"] == 3 and f.loc["a", "base"] == 5 and f.loc["a", "mentions"] == 4
    assert f.loc["a", "share"] == pytest.approx(0.6)
    assert f.loc["d", "participants"] == 0                       # in the codebook, unused in interviews
    by = qa.code_frequency(qd, by="customer_status").set_index(["code", "group"])
    # churned = P1, P2: a only P1 -> 1/2; existing = P3, P4, P5: a in P3, P5 -> 2/3
    assert by.loc[("a", "churned"), "share"] == pytest.approx(1 / 2)
    assert by.loc[("a", "existing"), "share"] == pytest.approx(2 / 3)
    table = qa.frequency_table(qa.code_frequency(qd, by="customer_status"))
    assert table.loc["a", "existing"] == "67% (2/3)"


def test_unknown_attribute_is_a_clear_error():
    with pytest.raises(QualDataError, match=r"participants: no attribute column 'industry'.*qualitative.attributes"):
        qa.code_frequency(_qd(), by="industry")


def test_concentration_fisher_exact():
    qd = _qd().kinds(qa.INTERVIEW_KINDS)
    c = qa.concentration(qd, "customer_status", "churned").set_index("code")
    # b: churned P1, P2 -> 2/2; others P5 -> 1/3. 2x2 [[2, 0], [1, 2]]: Fisher two-sided p = 0.4
    # (hypergeometric: P(X=2) = C(3,2)C(2,0)/C(5,2) = 3/10, P(X=0) = C(3,0)C(2,2)/C(5,2) = 1/10, p = 0.4)
    assert c.loc["b", "focus_share"] == 1.0 and c.loc["b", "others_share"] == pytest.approx(1 / 3)
    assert c.loc["b", "p_value"] == pytest.approx(0.4)
    with pytest.raises(QualDataError, match=r"no participant has the value 'lost'"):
        qa.concentration(qd, "customer_status", "lost")


def test_co_occurrence_units():
    qd = _qd()
    seg_m = qa.co_occurrence(qd, unit="segment")
    assert seg_m.attrs["unit"] == "same segment (excerpt)"
    assert seg_m.loc["b", "c"] == 1 and seg_m.loc["a", "b"] == 0   # only g3 carries two codes
    part = qa.co_occurrence(qd, unit="participant")
    # participants: P1 {a,b}, P2 {b,c}, P3 {a}, P4 {c}, P5 {a,b}, P6 {d}
    assert part.loc["a", "b"] == 2 and part.loc["b", "c"] == 1 and part.loc["a", "a"] == 3
    assert qa.top_pairs(part).iloc[0].tolist() == ["a", "b", 2]


def test_co_occurrence_matches_a_crosstab_on_many_units():
    """The indicator-matrix product equals the crosstab of the (unit, code) pairs (reference), with
    repeated pairs and missing codes, codes in sorted order."""
    import numpy as np
    rng = np.random.default_rng(3)
    n = 5000
    seg = pd.DataFrame({"segment_id": rng.integers(0, 1200, n).astype(str),
                        "code": rng.choice(["z", "m", "a", "q", None], n)})
    qd = SimpleNamespace(segments=seg)
    got = qa.co_occurrence(qd, unit="segment")
    pairs = seg.dropna().drop_duplicates()
    x = pd.crosstab(pairs["segment_id"], pairs["code"]).clip(upper=1)
    ref = x.T @ x
    assert list(got.index) == ["a", "m", "q", "z"] == list(got.columns)
    assert (got.to_numpy() == ref.to_numpy()).all() and got.attrs["units"] == pairs["segment_id"].nunique()


def test_saturation_curve():
    qd = _qd()
    curve = qa.saturation_curve(qd)
    # S1 {a,b} -> 2 new; S2 {b,c} -> 1 (c); S3, S4, S5 -> 0
    assert curve["new_codes"].tolist() == [2, 1, 0, 0, 0]
    assert curve["cumulative_codes"].tolist() == [2, 3, 3, 3, 3]
    st = qa.saturation_status(curve, batch=3)
    assert st["reached"] and st["last_new_at"] == 2
    assert not qa.saturation_status(curve.head(3), batch=3)["reached"]


def test_quotes_are_masked_and_from_distinct_participants():
    q = qa.representative_quotes(_qd(), codes=["a"], n=3, max_chars=60)
    assert q["participant_id"].is_unique and len(q) == 3
    text = " ".join(q["quote"])
    assert "7946" not in text and "Ann Lee" not in text and "[phone]" in text and "[name]" in text
    assert q["quote"].str.len().max() <= 62


def test_hypothesis_evidence_rules():
    qd = _qd().kinds(qa.INTERVIEW_KINDS)
    hyps = [
        Hypothesis(id="H1", question="Q1", dimension="usage", statement="s", qual=QualSpec(supports=["a"], contradicts=["c"])),
        Hypothesis(id="H2", question="Q1", dimension="usage", statement="s", qual=QualSpec(supports=["b"])),
        Hypothesis(id="H3", question="Q1", dimension="usage", statement="s", qual=QualSpec(supports=["c"], contradicts=["zz"])),
        Hypothesis(id="H4", question="Q1", dimension="usage", statement="no qual"),
    ]
    ev = qa.hypothesis_evidence(qd, hyps, min_participants=3, ratio=2.0, min_share=0.5).set_index("hypothesis")
    # H1: a in P1,P3,P5 (3), c in P2,P4 (2): 3 < 2*2 -> inconclusive
    assert (ev.loc["H1", "supporting"], ev.loc["H1", "contradicting"], ev.loc["H1", "evidence"]) == (3, 2, "inconclusive")
    # H2: b in P1,P2,P5 = 3 of 5 = 60% >= 50% -> supports
    assert ev.loc["H2", "evidence"] == "supports" and ev.loc["H2", "supporting_share"] == pytest.approx(0.6)
    assert ev.loc["H3", "missing_codes"] == "zz"
    assert "H4" not in ev.index
    ev2 = qa.hypothesis_evidence(qd, hyps[:1], min_participants=2, ratio=1.5).set_index("hypothesis")
    assert ev2.loc["H1", "evidence"] == "supports"             # 3 >= 1.5 * 2


def test_probing_depth_from_transcript():
    d = qa.probing_depth(_qd()).set_index("source_id")
    # S1: 4 interviewer turns: "Hi?", "Why?" (probe), "Tell me more" (probe), "Thanks" -> 2 probes, chain 2
    assert d.loc["S1", "questions"] == 4 and d.loc["S1", "probes"] == 2 and d.loc["S1", "deepest_chain"] == 2
    assert d.loc["S1", "coded_from_probes_share"] == pytest.approx(0.5)
    assert np.isnan(d.loc["S2", "questions"])


def test_expert_key_points_and_timeline():
    kp = qa.expert_key_points(_qd())
    assert kp["code"].tolist() == ["d"] and "consolidate" in kp["key_point"].iloc[0]
    src = pd.DataFrame({"source_id": ["O1", "O2", "O3"], "kind": ["observation_log"] * 3,
                        "date": pd.to_datetime(["2024-03-04", "2024-03-12", "2024-03-20"]),
                        "participant_id": [None] * 3, "title": ["d1", "d2", "d3"],
                        "text": ["Team exports data to Excel by hand.", "Mail me at x@y.org", "Training day."]})
    qd = QualData(sources=src, origin="obs").prepared()
    tl = qa.immersion_timeline(qd)
    assert tl["week"].tolist() == [1, 2, 3] and set(tl["code"]) == {"uncoded"}
    assert "[email]" in tl["note"].iloc[1]
    sents = pd.DataFrame({"source_id": ["X9"], "kind": ["expert_session"], "date": [pd.Timestamp("2024-05-01")],
                          "title": ["Round table"],
                          "text": ["Hello all. Regulation on data residency will force local hosting in APAC by 2026. "
                                   "Coffee later. Buyers now ask for integration certificates before they sign."]})
    kp2 = qa.expert_key_points(QualData(sources=sents, origin="x").prepared(), n=2)
    assert len(kp2) == 2 and not kp2["key_point"].str.contains("Coffee").any()


def test_findings_built_from_the_tables():
    from insight.qual import story
    qd = _qd().kinds(qa.INTERVIEW_KINDS)
    hyps = [Hypothesis(id="H2", question="Q1", dimension="usage", statement="B matters.", qual=QualSpec(supports=["b"]))]
    ev = qa.hypothesis_evidence(qd, hyps, min_participants=3, min_share=0.5)
    f = story.hypothesis_findings(ev)[0]
    assert f["id"] == "qual.H2" and f["evidence"] == "supports" and f["source"] == "qual" and f["base"] == 5
    assert "3 of 5 participants (60%)" in f["statement"]
    conc = qa.concentration(qd, "customer_status", "churned")
    none = story.concentration_findings(conc, "customer_status", "churned", hyps)
    assert none[0]["id"] == "qual.concentrated.customer_status.none" and "'b'" in none[0]["statement"]
    sig = story.concentration_findings(conc.assign(p_adjusted=0.01), "customer_status", "churned", hyps)
    b = next(x for x in sig if x["id"] == "qual.concentrated.b")
    assert b["hypothesis"] == "H2" and b["evidence"] == "supports" and b["effect_size"] is None  # odds ratio inf
    # a: churned P1 of P1, P2 (50%) against P3, P5 of P3-P5 (67%): a significant gap the other way is named too
    less = story.concentration_findings(conc.assign(p_adjusted=np.where(conc["code"] == "a", 0.01, 0.9)),
                                        "customer_status", "churned", hyps)[0]["statement"]
    assert less.startswith("No code is significantly more frequent among the 2 churned participants (customer status")
    assert less.endswith("Significantly less frequent among them: 'a' (50% against 67% of the others).")


def test_params_section_defaults_and_checks():
    from insight.config.qual import QualConfig
    from insight.config.core import Hypothesis as H
    cfg = QualConfig()
    assert "interview_1to1" in cfg.interview_kinds and cfg.focus_group == {"customer_status": "churned"}
    with pytest.raises(ValueError, match="reliability_tentative"):
        QualConfig(reliability_good=0.6, reliability_tentative=0.7)

    class P:  # the part of Params cross_check reads
        hypotheses = [H(id="H9", question="Q1", dimension="usage", statement="s",
                        qual=QualSpec(supports=["x"], contradicts=["x"]))]
    problems = QualConfig(uncoded_kinds=["open_end", "focus_group"]).cross_check(P)
    assert [p[3] for p in problems] == ["warning", "error"]
    assert "H9" in problems[1][1] and problems[1][0] == ("hypotheses", 0, "qual")
    bad = QualConfig(attributes=["segmnet"], focus_group={"status": "churned"}).cross_check(P)
    assert bad[0][0] == ("qualitative", "attributes", 0) and "did you mean 'segment'" in bad[0][2]
    assert bad[1][0] == ("qualitative", "focus_group", "status")


def test_bad_qualitative_params_reported_with_file_key_and_line(tmp_path):
    import shutil
    from pathlib import Path
    from insight.params import ParamsError, load_params
    from insight.paths import Project
    root = Path(__file__).resolve().parent.parent
    (tmp_path / "params").mkdir()
    (tmp_path / "notebooks").mkdir()
    for p in (root / "params").glob("*.yaml"):
        shutil.copy(p, tmp_path / "params" / p.name)
    path = tmp_path / "params" / "2024-annual.yaml"
    original = path.read_text(encoding="utf-8")
    path.write_text(original + "\nqualitative:\n  n_themes: 1\n", encoding="utf-8")
    with pytest.raises(ParamsError, match=r"2024-annual.yaml:\d+ \[qualitative.n_themes\]: Input should be greater"):
        load_params("2024-annual", Project(tmp_path))
    path.write_text(original + "\nqualitative:\n  attributes: [segmnet]\n", encoding="utf-8")
    with pytest.raises(ParamsError) as exc:
        load_params("2024-annual", Project(tmp_path))
    report = str(exc.value)
    assert "[qualitative.attributes[0]]: 'segmnet' is not a participant attribute" in report
    assert "did you mean 'segment'" in report


def test_study_with_sources_only():
    class Stub:  # a study that has qual_sources and nothing else of the qualitative tables
        name = "stub"
        def has(self, t):
            return t == "qual_sources"
        def table(self, t):
            return pd.DataFrame({"source_id": ["C1", "C2"], "kind": ["community_post", "expert_session"],
                                 "date": pd.to_datetime(["2024-02-01", "2024-03-01"]), "participant_id": [None, None],
                                 "title": ["post", "council"],
                                 "text": ["Love the new dashboards, call me on +1 (555) 010-9999",
                                          "Buyers ask for certificates before they sign. Markets consolidate fast."]})
    qd = QualData.from_study(Stub())
    assert qd.segments.empty and qd.codebook.empty
    texts = qa.uncoded_texts(qd, ["community_post"])
    assert "[phone]" in texts["text"].iloc[0] and texts["language"].iloc[0] == "en"
    assert len(qa.expert_key_points(qd)) == 2
    assert qa.immersion_timeline(qd).empty and qa.saturation_curve(qd).empty
    assert qa.code_frequency(qd).empty


def test_frequency_display_and_heatmap_agree():
    """The table of all participants and the heat map's first column show the same numbers, in the
    same order (the 2023 report once showed 40 in the heat map against 45% in the table)."""
    from insight.qual import plots as qp
    qd = _qd().kinds(qa.INTERVIEW_KINDS)
    overall = qa.code_frequency(qd)
    # a: 3 participants, b: 3, c: 2, d: 0 -> order a, b (tie, alphabetical), c, d
    assert qa.code_order(overall) == ["a", "b", "c", "d"]
    table = qa.frequency_display(overall)
    assert table.columns.tolist() == ["code", "all participants"]
    assert table["all participants"].tolist() == ["60% (3/5)", "60% (3/5)", "40% (2/5)", "0% (0/5)"]
    by = qa.code_frequency(qd, by="customer_status")
    # churned: P1, P2 (2); existing: P3, P4, P5 (3): with min_base 3 churned is left out
    assert qa.omitted_groups(by, 3) == ["churned (n = 2)"]
    fig = qp.frequency_heatmap(by, "customer_status", min_base=3, overall=overall)
    ax = fig.axes[0]
    cells = [t.get_text() for t in ax.texts]
    # row-major: (a: all 60, existing 67), (b: 60, 33), (c: 40, 33), (d: 0, 0)
    assert cells == ["60", "67", "60", "33", "40", "33", "0", "0"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c", "d"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["all\nparticipants\n(n=5)", "existing\n(n=3)"]
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_concentration_table_reads_well():
    qd = _qd().kinds(qa.INTERVIEW_KINDS)
    t = qa.concentration_table(qa.concentration(qd, "customer_status", "churned"), "churned").set_index("code")
    # d: nobody raised it -> 2x2 [[0, 2], [0, 3]]: odds ratio undefined, shown as n/a (not 'nan')
    assert t.loc["d", "odds ratio"] == "n/a"
    assert t.loc["d", "odds ratio 95% CI"].startswith("n/a")      # says why there is no interval
    assert t.loc["b", "churned (%)"] == 100 and t.loc["b", "others (%)"] == 33


def test_quotes_prefer_excerpts_with_the_code_alone():
    qd = _qd()
    # g3 carries b and c; g5 carries c alone (P4): the c quote is taken from g5 first
    q = qa.representative_quotes(qd, codes=["c"], n=1)
    assert q["quote"].tolist() == ["c in S4"]


def test_reliability_finding_with_a_handful_of_excerpts():
    from insight.qual import story
    rel = pd.DataFrame({"code": ["a", "overall (every code decision)"], "units": [3, 6], "coders": [2, 2],
                        "applied": [3, 5], "agreement": [1.0, 0.8], "kappa": [1.0, 0.7], "alpha": [1.0, 0.7],
                        "verdict": ["reliable", "tentative"]})
    f = story.reliability_finding(rel, min_units=10)
    assert f["severity"] == "warning" and f["statement"].startswith("Only 3 excerpts were double-coded")
    f = story.reliability_finding(rel, min_units=3)
    assert f["statement"].startswith("Agreement between coders: Krippendorff's alpha 0.70 over 6")


def test_probing_summary_sentence():
    d = qa.probing_depth(_qd())
    # only S1 has a transcript: 4 questions, 2 probes (50%), longest run 2
    assert qa.probing_summary(d) == ("Across 1 interviews with a transcript, interviewers asked a median of 2 follow-up "
                                     "questions per interview (50% of all their questions); the longest run of "
                                     "follow-ups in a row was 2 (S1). Every interview had follow-up questions.")


def test_immersion_finding_counts_entries_and_weekly_themes():
    from insight.qual import story
    tl = pd.DataFrame({"date": pd.to_datetime(["2024-05-06", "2024-05-06", "2024-05-14", "2024-05-14", "2024-05-20"]),
                       "week": [1, 1, 2, 2, 3], "site": "C1", "source_id": ["L1", "L1", "L2", "L2", "L3"],
                       "code": ["slow_support", "trust", "slow_support", "uncoded", "slow_support"], "note": "x"})
    f = story.immersion_finding(tl, top=2)
    # 3 entries (L1..L3) over 3 weeks; slow_support in L1, L2, L3 (3 entries, every week), trust in L1 (1)
    assert f["statement"] == ("On the customer's site the researcher logged 3 observations over 3 week(s); the themes "
                              "seen most often: slow support (3 entries), trust (1 entry). Seen every week: slow support.")
    assert qa.weekly_table(tl[tl["code"] != "uncoded"]).set_index("code").loc["slow support"].tolist() == [1, 1, 1]


def test_hypothesis_about_a_group_needs_its_codes_in_that_group():
    from insight.config.core import QuantSpec
    qd = _qd().kinds(qa.INTERVIEW_KINDS)
    quant = QuantSpec(source="survey", measure="q", group_by="customer_status", groups=["churned"], expected="lower")
    hyps = [Hypothesis(id="HB", question="Q1", dimension="usage", statement="s", quant=quant, qual=QualSpec(supports=["b"])),
            Hypothesis(id="HA", question="Q1", dimension="usage", statement="s", quant=quant, qual=QualSpec(supports=["a"]))]
    ev = qa.hypothesis_evidence(qd, hyps, min_participants=3, min_share=0.5).set_index("hypothesis")
    # b: P1, P2, P5 = 3 of 5 overall; churned P1, P2 -> 2/2 = 100% against existing P5 -> 1/3: supports
    assert ev.loc["HB", "evidence"] == "supports" and ev.loc["HB", "focus_share"] == 1.0
    assert ev.loc["HB", "others_share"] == pytest.approx(1 / 3)
    # a: P1, P3, P5 = 3 of 5 overall (would support), but churned 1/2 = 50% < existing 2/3: inconclusive
    assert ev.loc["HA", "evidence"] == "inconclusive" and "not more frequent among churned" in ev.loc["HA", "group_note"]
    from insight.qual import story
    f = {x["id"]: x for x in story.hypothesis_findings(ev.reset_index())}
    assert "50% of churned participants raised them against 67% of the others" in f["qual.HA"]["statement"]
    assert qa.evidence_table(ev.reset_index()).set_index("hypothesis").loc["HB", "supporting codes in the named group"] \
        == "churned 100% vs others 33%"

"""Importers: transcripts, highlight CSVs, REFI-QDA codebook (.qdc) and project (.qdpx)."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

from insight.qual.importers import (QualImportError, import_highlights_csv, import_transcripts, normalise_codebook,
                                    parse_transcript, read_qdc, read_qdpx, read_text, write_qdc)
from insight.qual.model import QualData, QualDataError

FIX = Path(__file__).parent / "fixtures" / "qual"
S1 = FIX / "qdpx_project" / "Sources" / "9B2C4D6E-1111-4A2B-8C3D-000000000001.txt"


# --- .qdc ------------------------------------------------------------------------------------

def test_read_qdc_fixture():
    cb = read_qdc(FIX / "codebook.qdc").set_index("code")
    assert list(cb.index) == ["onboarding", "onboarding_friction", "onboarding_praise", "价格顾虑"]
    assert cb.loc["onboarding_friction", "parent"] == "onboarding"
    assert pd.isna(cb.loc["onboarding", "parent"])
    assert cb.loc["onboarding_praise", "definition"] == "Getting started was smooth."
    assert cb.loc["onboarding_friction", "hypotheses"] == "H1"
    assert cb.loc["价格顾虑", "hypotheses"] == "H3"          # the non-hypothesis set is ignored
    assert cb.loc["价格顾虑", "definition"] == "价格太高 & value for money"


def test_qdc_round_trip(tmp_path):
    cb = pd.DataFrame({
        "code": ["usage", "integration_pain", "training_gap", "price_concern", "客服很好"],
        "parent": [None, "usage", "usage", "", None],
        "definition": ["Using the product", "Connecting <other> systems is hard & slow", None, "Price too high",
                       "支持很快"],
        "hypotheses": [None, "H4", "H1, H4", "H3", None],
    })
    path = write_qdc(cb, tmp_path / "codebook.qdc")
    back = read_qdc(path)
    pd.testing.assert_frame_equal(normalise_codebook(back), normalise_codebook(cb))
    # the export is a REFI-QDA codebook: root CodeBook in the codebook namespace, nested codes
    text = path.read_text(encoding="utf-8")
    assert 'xmlns="urn:QDA-XML:codebook:1.0"' in text and "<Sets>" in text
    assert write_qdc(back, tmp_path / "again.qdc").read_bytes() == path.read_bytes()  # stable GUIDs


def test_qdc_errors(tmp_path):
    bad = tmp_path / "broken.qdc"
    bad.write_text("<CodeBook><Codes><Code name='x'></Codes>", encoding="utf-8")
    with pytest.raises(QualImportError, match=r"broken.qdc: not well-formed XML.*Fix: export it again"):
        read_qdc(bad)
    with pytest.raises(QualImportError, match=r"root element is <Project>, not <CodeBook>.*read_qdpx"):
        read_qdc(FIX / "qdpx_project" / "project.qde")


# --- .qdpx -----------------------------------------------------------------------------------

def test_read_qdpx_fixture():
    qd = read_qdpx(FIX / "interviews.qdpx")
    assert isinstance(qd, QualData)
    cb = qd.codebook.set_index("code")
    assert cb.loc["integration_pain", "parent"] == "usage_issues"
    assert cb.loc["training_gap", "definition"] == "Users lack the knowledge to use the product."
    src = qd.sources.set_index("source_id")
    assert src.loc["interview_P01", "participant_id"] == "P01"
    assert src.loc["interview_P01", "date"] == pd.Timestamp("2024-07-03")
    assert src.loc["interview_P01", "text"] == S1.read_text(encoding="utf-8")          # from plainTextPath
    assert src.loc["interview_P02", "text"].startswith("访谈者：你们怎么看价格？")             # PlainTextContent
    p = qd.participants.set_index("participant_id")
    assert p.loc["P01", "customer_status"] == "churned" and p.loc["P01", "segment"] == "enterprise"
    seg = qd.segments
    assert len(seg) == 8 and set(seg["coder"]) == {"coder_a", "coder_b"}
    one = seg[(seg["segment_id"] == "interview_P01:171-253") & (seg["coder"] == "coder_b")].iloc[0]
    assert one["code"] == "training_gap"
    assert one["excerpt"] == "The API documentation was missing the webhook part, so our developer had to guess."
    assert one["turn"] == 4 and bool(one["is_probe"])         # the answer to "Why was it so hard?"
    zh = seg[seg["code"] == "price_concern"].iloc[0]
    assert zh["excerpt"] == "价格有点高" and zh["participant_id"] == "P02"


def _zip(tmp_path, name, files: dict[str, bytes]) -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as z:
        for k, v in files.items():
            z.writestr(k, v)
    return path


def test_non_text_sources_are_skipped_with_a_warning(tmp_path):
    qde = (FIX / "qdpx_project" / "project.qde").read_bytes().replace(
        b"</Sources>", b'<AudioSource guid="A1" name="call" path="internal://a.m4a"/></Sources>')
    path = _zip(tmp_path, "audio.qdpx", {"project.qde": qde, f"Sources/{S1.name}": S1.read_bytes()})
    with pytest.warns(UserWarning, match=r"AudioSource elements skipped"):
        qd = read_qdpx(path)
    assert len(qd.sources) == 2


def test_malformed_qdpx(tmp_path):
    qde = (FIX / "qdpx_project" / "project.qde").read_bytes()
    src = S1.read_bytes()
    not_zip = tmp_path / "export.qdpx"
    not_zip.write_bytes(qde)
    with pytest.raises(QualImportError, match=r"export.qdpx: not a REFI-QDA project.*zip archive.*Fix: export"):
        read_qdpx(not_zip)
    with pytest.raises(QualImportError, match=r"no project.qde .*Fix"):
        read_qdpx(_zip(tmp_path, "empty.qdpx", {"Sources/a.txt": src}))
    with pytest.raises(QualImportError, match=r"project.qde: not well-formed XML"):
        read_qdpx(_zip(tmp_path, "cut.qdpx", {"project.qde": qde[: len(qde) // 2]}))
    with pytest.raises(QualImportError, match=r"points at internal://9B2C4D6E.*not in the archive.*Fix"):
        read_qdpx(_zip(tmp_path, "nosrc.qdpx", {"project.qde": qde}))
    dangling = qde.replace(b'<CodeRef targetGUID="C0000000-0000-4000-8000-000000000020"/>',
                           b'<CodeRef targetGUID="C0000000-0000-4000-8000-0000000000FF"/>')
    with pytest.raises(QualImportError, match=r"refers to code guid C0000000-0000-4000-8000-0000000000FF.*not in"):
        read_qdpx(_zip(tmp_path, "dangling.qdpx", {"project.qde": dangling, f"Sources/{S1.name}": src}))
    outside = qde.replace(b'endPosition="346"', b'endPosition="9999"')
    with pytest.raises(QualImportError, match=r"spans 297-9999, outside"):
        read_qdpx(_zip(tmp_path, "outside.qdpx", {"project.qde": outside, f"Sources/{S1.name}": src}))


# --- transcripts -----------------------------------------------------------------------------

def test_parse_transcript_turns_and_probes():
    text = ("Interviewer: How was onboarding?\n"
            "Participant: Slow.\n"
            "It took two months.\n"
            "Interviewer: Why do you say slow?\n"
            "Participant: Nobody called us.\n"
            "Interviewer: [probe] And then?\n"
            "Participant: We found the academy.\n"
            "Interviewer: Thanks.\n")
    t = parse_transcript(text)
    assert t["role"].tolist() == ["interviewer", "participant"] * 3 + ["interviewer"]
    assert t.loc[1, "text"] == "Slow.\nIt took two months."
    assert t["is_probe"].tolist() == [False, False, True, True, True, True, False]
    assert t.loc[4, "text"] == "And then?"
    assert text[t.loc[3, "start"]:t.loc[3, "end"]] == "Nobody called us."


def test_import_markdown_transcript_with_front_matter():
    out = import_transcripts([FIX / "interview_P07_2024-08-14.md"])
    src = out["qual_sources"].iloc[0]
    assert src["source_id"] == "interview_P07_2024-08-14" and src["participant_id"] == "P07"
    assert src["kind"] == "video_interview" and src["date"] == pd.Timestamp("2024-08-14")
    turns = out["turns"]
    assert len(turns) == 8 and turns["speaker"].iloc[1] == "P07"
    assert turns["text"].iloc[1] == "Mostly for reports. The export to our ERP never worked,\nwe copied numbers by hand every Friday."
    assert turns["is_probe"].tolist() == [False, False, True, True, True, True, False, False]
    assert turns["text"].iloc[-1] == "价格还可以。"


def test_transcript_in_unknown_encoding(tmp_path):
    path = tmp_path / "interview_P09_2024-09-01.txt"
    path.write_bytes("Interviewer: Ça va ?\nParticipant: Très bien, merci — déjà fini.\n".encode("cp1252"))
    with pytest.raises(QualImportError, match=r"interview_P09_2024-09-01.txt: not UTF-8 text.*Fix: save the transcript as UTF-8"):
        import_transcripts([path])
    text = read_text(path, encoding="cp1252")
    assert "Très bien" in text
    path16 = tmp_path / "utf16.txt"
    path16.write_bytes("Interviewer: 你好\n".encode("utf-16"))
    assert read_text(path16) == "Interviewer: 你好\n"


def test_transcript_without_turns_or_date(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("just some notes without speakers", encoding="utf-8")
    with pytest.raises(QualImportError, match=r"notes.txt: no date"):
        import_transcripts([p])
    with pytest.raises(QualImportError, match=r"notes.txt: no speaker turns found.*'Interviewer: \.\.\.'"):
        import_transcripts([p], date="2024-01-01")


# --- highlight CSVs and the codebook check ----------------------------------------------------

def test_import_taguette_highlights():
    out = import_highlights_csv(FIX / "highlights_taguette.csv", coder="coder_a")
    seg = out["coded_segments"]
    assert len(seg) == 4                                  # one highlight carries two tags
    assert set(seg.loc[seg["segment_id"] == "2", "code"]) == {"training_gap", "integration_pain"}
    assert set(seg["coder"]) == {"coder_a"} and set(seg["source_id"]) == {"interview_P07"}
    assert sorted(out["codebook"]["code"]) == ["churn_decision", "integration_pain", "training_gap"]


def test_highlight_with_code_missing_from_codebook():
    cb = pd.DataFrame({"code": ["integration_pain", "training_gap"]})
    with pytest.raises(QualImportError, match=r"highlights_taguette.csv: tag\(s\) churn_decision are not in the codebook \(CSV lines 5\)"):
        import_highlights_csv(FIX / "highlights_taguette.csv", codebook=cb)


def test_segment_coded_with_unknown_code_names_table_rows_and_fix():
    out = import_highlights_csv(FIX / "highlights_taguette.csv")
    cb = out["codebook"][out["codebook"]["code"] != "churn_decision"]
    src = pd.DataFrame({"source_id": ["interview_P07"], "kind": ["interview_1to1"], "date": [pd.Timestamp("2024-08-14")]})
    qd = QualData(sources=src, codebook=cb, segments=out["coded_segments"], origin="highlights_taguette.csv")
    with pytest.raises(QualDataError, match=r"highlights_taguette.csv: coded_segments.code uses 1 code\(s\) missing "
                                            r"from the codebook: churn_decision \(rows with segment_id 3\)\. Fix: add"):
        qd.prepared()


def test_missing_columns_in_csv(tmp_path):
    p = tmp_path / "export.csv"
    p.write_text("Title,Body\nx,y\n", encoding="utf-8")
    with pytest.raises(QualImportError, match=r"export.csv: no column for excerpt, code, source_id"):
        import_highlights_csv(p)


# --- the instrument templates import as they are ------------------------------------------------

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "instruments"


def test_observation_log_template_imports():
    from insight.qual.importers import import_observation_log
    out = import_observation_log(TEMPLATES / "observation_log.md")
    src, seg = out["qual_sources"], out["coded_segments"]
    assert src["date"].tolist() == [pd.Timestamp("2024-05-06"), pd.Timestamp("2024-05-07")]
    assert set(src["kind"]) == {"observation_log"} and src["participant_id"].tolist() == ["P00", "P00"]
    assert seg["code"].tolist() == ["onboarding_friction", "training_gap"]
    assert src["text"].iloc[0].startswith("Observed: the operations team") and "Codes:" not in src["text"].iloc[0]
    assert "Weekly summary" not in src["text"].iloc[1]


def test_expert_agenda_notes_parse_as_turns():
    text = (TEMPLATES / "expert_council_agenda.md").read_text(encoding="utf-8")
    notes = text[text.index("    Moderator: What changes"):text.index("## After the session")]
    t = parse_transcript(notes)
    assert t["speaker"].tolist() == ["Moderator", "E1", "Moderator (probe)", "E1"]
    assert t["is_probe"].tolist() == [False, False, True, True]


def test_imported_project_written_as_canonical_tables(tmp_path):
    qd = read_qdpx(FIX / "interviews.qdpx")
    paths = qd.to_files(tmp_path)
    seg = pd.read_csv(paths["coded_segments"], dtype=str)
    assert len(seg) == 8 and "价格有点高" in set(seg["excerpt"])
    back = QualData(pd.read_csv(paths["participants"], dtype=str), pd.read_csv(paths["qual_sources"], dtype=str),
                    pd.read_csv(paths["codebook"], dtype=str), seg, origin="csv").prepared()
    assert back.n_participants == 2


def test_quotes_keep_chinese_and_are_escaped_on_display():
    from insight.display import table_html
    from insight.qual.analysis import representative_quotes
    qd = read_qdpx(FIX / "interviews.qdpx")
    qd.segments.loc[qd.segments["code"] == "great_support", "excerpt"] = "<script>alert(1)</script> great & fast"
    q = representative_quotes(qd, n=1)
    assert q.set_index("code").loc["price_concern", "quote"] == "价格有点高"
    html = table_html(q, "Quotes", base=2)
    assert "<script>" not in html and "&lt;script&gt;" in html and "价格有点高" in html

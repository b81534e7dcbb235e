"""`data.qual` in params: a REFI-QDA .qdpx project and/or a folder of transcripts named directly,
read into the four qualitative canonical tables at preparation, validated, fingerprinted and cached.

Expected values are those of the hand-written fixtures (tests/fixtures/qual): the project
interviews.qdpx has 2 cases (P01 churned enterprise, P02), 2 text sources (interview_P01 created
2024-07-03, interview_P02 2024-07-05), 5 codes and 8 codings by coder_a and coder_b; the transcript
interview_P07_2024-08-14.md is a video interview of P07 (front matter), dated by its file name."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from insight.data import DataError
from insight.data.prepare import data_fingerprint, prepare_study_data
from insight.data.testing import write_study
from insight.params import ParamsError, load_params

ROOT = Path(__file__).resolve().parent.parent
QUAL = ROOT / "tests" / "fixtures" / "qual"
PERIOD = ("2024-01-01", "2024-12-31")


@pytest.fixture
def project_root(empty_project):
    return empty_project


def _tables(prep) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(path) for name, path in prep.tables.items()}


def test_qdpx_gives_the_four_qualitative_tables(project_root):
    shutil.copy(QUAL / "interviews.qdpx", project_root / "data" / "interviews.qdpx")
    project = write_study(project_root, "q", {"qual": {"qdpx": "data/interviews.qdpx"}}, PERIOD, link_notebooks=ROOT)
    prep = prepare_study_data(load_params("q", project), project)
    t = _tables(prep)
    assert set(t) == {"participants", "qual_sources", "codebook", "coded_segments"}
    assert sorted(t["participants"]["participant_id"]) == ["P01", "P02"]
    assert t["participants"].set_index("participant_id").loc["P01", "segment"] == "enterprise"
    src = t["qual_sources"].set_index("source_id")
    assert list(src.index) == ["interview_P01", "interview_P02"]
    assert src.loc["interview_P01", "date"] == pd.Timestamp("2024-07-03")
    assert len(t["codebook"]) == 5
    assert len(t["coded_segments"]) == 8 and set(t["coded_segments"]["coder"]) == {"coder_a", "coder_b"}
    assert prep.sources["coded_segments"] == "data/interviews.qdpx"
    # fingerprinted and cached like any export: the same file reuses the cache, a changed one does not
    fp = data_fingerprint(load_params("q", project), project)
    assert prepare_study_data(load_params("q", project), project).fingerprint == fp == prep.fingerprint
    with open(project_root / "data" / "interviews.qdpx", "ab") as fh:
        fh.write(b"\0")   # trailing bytes after a zip's end are allowed: still readable, new content
    assert data_fingerprint(load_params("q", project), project) != fp


def test_transcripts_folder_and_kinds(project_root):
    folder = project_root / "data" / "transcripts"
    folder.mkdir()
    shutil.copy(QUAL / "interview_P07_2024-08-14.md", folder)
    (folder / "council.txt").write_text("Moderator: What did you see this year?\nExpert A: Prices rose.\n",
                                        encoding="utf-8")
    data = {"qual": {"transcripts": "data/transcripts", "kinds": {"council": "expert_session"}, "date": "2024-09-30"}}
    project = write_study(project_root, "t", data, PERIOD, link_notebooks=ROOT)
    prep = prepare_study_data(load_params("t", project), project)
    src = _tables(prep)["qual_sources"].set_index("source_id")
    assert set(prep.tables) == {"qual_sources"}
    assert src.loc["interview_P07_2024-08-14", "kind"] == "video_interview"      # its front matter
    assert src.loc["interview_P07_2024-08-14", "date"] == pd.Timestamp("2024-08-14")   # its file name
    assert src.loc["interview_P07_2024-08-14", "participant_id"] == "P07"
    assert src.loc["council", "kind"] == "expert_session"                        # `kinds:`
    assert src.loc["council", "date"] == pd.Timestamp("2024-09-30")              # `date:`
    assert "jane.roe@example.com" not in src.loc["interview_P07_2024-08-14", "text"]   # masked like any free text


def test_every_bad_transcript_is_reported_at_once(project_root):
    folder = project_root / "data" / "transcripts"
    folder.mkdir()
    (folder / "a.txt").write_text("Interviewer: Hello?\nP1: Hi.\n", encoding="utf-8")           # no date
    (folder / "b.txt").write_text("just some notes without speakers\n", encoding="utf-8")       # no date either
    project = write_study(project_root, "t", {"qual": {"transcripts": "data/transcripts"}}, PERIOD, link_notebooks=ROOT)
    with pytest.raises(DataError) as e:
        prepare_study_data(load_params("t", project), project)
    probs = [p for p in e.value.problems if p.severity == "error"]
    assert sorted(p.file for p in probs) == ["data/transcripts/a.txt", "data/transcripts/b.txt"]
    assert all(p.key == "data.qual.transcripts" and "date" in p.message and "YYYY-MM-DD" in p.fix for p in probs)
    assert not (project_root / ".cache" / "studies" / "t").exists() or not any(
        d for d in (project_root / ".cache" / "studies" / "t").iterdir() if not d.name.startswith("."))


def test_params_errors_name_the_key_and_the_fix(project_root):
    (project_root / "data" / "notes.zip").write_bytes(b"PK")
    data = {"qual": {"qdpx": "data/missing.qdpx", "transcripts": "data/none"},
            "tables": {"codebook": {"path": "data/notes.zip", "format": "csv"}}}
    project = write_study(project_root, "bad", data, PERIOD, link_notebooks=ROOT)
    with pytest.raises(ParamsError) as e:
        load_params("bad", project)
    by_key = {p.key: p for p in e.value.problems}
    assert "file not found: data/missing.qdpx" in by_key["data.qual.qdpx"].message
    assert "folder not found: data/none" in by_key["data.qual.transcripts"].message
    assert "named under `tables:` too" in by_key["data.tables.codebook"].message
    project = write_study(project_root, "empty", {"qual": {"kind": "focus_group"}}, PERIOD, link_notebooks=ROOT)
    with pytest.raises(ParamsError, match="qdpx:.*transcripts:"):
        load_params("empty", project)


def test_qual_replaces_the_demo_qualitative_tables(project_root):
    folder = project_root / "data" / "transcripts"
    folder.mkdir()
    shutil.copy(QUAL / "interview_P07_2024-08-14.md", folder)
    project = write_study(project_root, "d", {"demo": {"scale": 0.2}, "qual": {"transcripts": "data/transcripts"}}, PERIOD, link_notebooks=ROOT)
    prep = prepare_study_data(load_params("d", project), project)
    t = _tables(prep)
    assert list(t["qual_sources"]["source_id"]) == ["interview_P07_2024-08-14"]
    for name in ("participants", "codebook", "coded_segments"):
        assert name not in t            # the demo's interviews are not mixed with the user's
    assert "customers" in t and "orders" in t   # the rest of the demo company stays

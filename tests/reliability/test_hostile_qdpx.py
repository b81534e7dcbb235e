"""Hostile REFI-QDA projects (issue 15): a zip bomb, an archive whose size header lies, entries with
'../' or absolute paths, XML entity expansion (billion laughs) and external entities, and sources
that reference files missing from the archive. Each is refused with a QualImportError naming the
file, what is wrong and the fix, quickly and without unpacking the bomb."""
from __future__ import annotations

import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from insight.qual.importers import QualImportError, read_qdpx

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "qual"
QDE = (FIX / "qdpx_project" / "project.qde").read_bytes()
SRC = next((FIX / "qdpx_project" / "Sources").glob("*.txt"))


def archive(tmp_path, name: str, files: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", compression=method) as z:
        for member, data in files.items():
            z.writestr(member, data)
    return path


def refused(path: Path, figures, *words) -> str:
    figures.bad_input()
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(QualImportError) as exc:
            read_qdpx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    msg = str(exc.value)
    assert str(path) in msg and "Fix:" in msg, msg
    for w in words:
        assert w in msg, msg
    assert time.perf_counter() - t0 < 20 and peak < 60_000_000, (time.perf_counter() - t0, peak)
    return msg


def test_the_good_fixture_still_imports():
    qd = read_qdpx(FIX / "interviews.qdpx")
    assert len(qd.sources) and len(qd.segments)


def test_a_zip_bomb_is_refused_before_unpacking(tmp_path, figures):
    bomb = tmp_path / "bomb.qdpx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("project.qde", "w", force_zip64=True) as fh:
            block = b"\0" * (1 << 20)
            for _ in range(300):   # 300 MB of zeros, a few hundred KB packed
                fh.write(block)
        z.writestr(f"Sources/{SRC.name}", SRC.read_bytes())
    assert bomb.stat().st_size < 2_000_000
    refused(bomb, figures, "zip bomb", "project.qde")
    small_bomb = tmp_path / "small.qdpx"   # under the size limit, but packed 1000:1
    with zipfile.ZipFile(small_bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("project.qde", b"\0" * (50 << 20))
    refused(small_bomb, figures, "zip bomb")


def test_an_archive_whose_size_header_lies_is_a_clear_error(tmp_path, figures):
    path = archive(tmp_path, "lies.qdpx", {"project.qde": QDE, f"Sources/{SRC.name}": SRC.read_bytes()})
    data = bytearray(path.read_bytes())
    cd = data.rindex(b"PK\x01\x02")   # the central directory entry of the last member
    start = data.index(b"PK\x01\x02")
    data[start + 24:start + 28] = (100).to_bytes(4, "little")   # project.qde "uncompressed size" = 100 bytes
    assert cd >= start
    path.write_bytes(bytes(data))
    refused(path, figures, "lies.qdpx")


@pytest.mark.parametrize("member", ["../evil.txt", "Sources/../../evil.txt", "/etc/cron.d/evil", "C:/evil.txt"])
def test_entries_with_paths_outside_the_archive(tmp_path, figures, member):
    path = archive(tmp_path, "escape.qdpx", {"project.qde": QDE, f"Sources/{SRC.name}": SRC.read_bytes(), member: b"x"})
    refused(path, figures, "outside the archive", repr(member))
    assert not (tmp_path.parent / "evil.txt").exists()


LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Project [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&lol9;"/>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE Project [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&secret;"/>"""


def test_xml_entity_expansion_and_external_entities(tmp_path, figures):
    refused(archive(tmp_path, "laughs.qdpx", {"project.qde": LAUGHS}), figures, "entities", "export it again")
    msg = refused(archive(tmp_path, "external.qdpx", {"project.qde": EXTERNAL}), figures, "entities")
    assert "root:" not in msg


def test_sources_referencing_files_not_in_the_archive(tmp_path, figures):
    path = archive(tmp_path, "nosources.qdpx", {"project.qde": QDE})
    refused(path, figures, "not in the archive", "including the source files")

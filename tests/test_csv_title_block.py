"""A CSV export with title lines above its header (EMIS Web searches: search name, run
date, counts) whose block grows or shrinks by a line from one month to the next still
loads with a mapping without header_row (newcomer2 finding 08; readers finds the
header), with row numbers the file's own; and a renamed local export is read with the
mapping whose columns it has (finding 04)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from eolneeds.config import load_config
from eolneeds.ingest import ingest_files
from eolneeds.reporting import RecordingReporter

CONFIG = """
[project]
icb_name = "Test ICB"
icb_code = "QXX"

[[places]]
code = "P1"
name = "Place One"
"""

HEADER = "NHS Number,Date Added to Register,Usual GP's Organisation Code,Preferred Place of Death"
ROWS = ["9434765919,16-Feb-2024,C83010,Home",
        "4010232137,03-Mar-2024,C83010,Hospice",
        "4010232145,not known,C83010,Home",  # quarantined: no date added
        "4010232153,21-Jan-2025,C83011,Care home"]


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret-at-all")


def export(path: Path, titles: list[str]) -> Path:
    path.write_text("\r\n".join([*titles, HEADER, *ROWS]) + "\r\n", encoding="utf-8")
    return path


APRIL = ["Palliative Care Register (incl. deceased) - EOL audit search",
         "Run date: 01/04/2026", "Population count: 4", ""]
MAY = APRIL[:2] + ["Search criteria: on register, any status"] + APRIL[2:]  # header row 6
JUNE = APRIL[:3]  # no blank line: header on row 4


def project(root: Path, header_row: int | None) -> Path:
    (root / "mappings").mkdir(parents=True)
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    pinned = f"header_row = {header_row}\n" if header_row else ""
    (root / "mappings" / "emis.toml").write_text(
        f'dataset = "register"\n{pinned}nhs_number = true\n[columns]\n'
        'person_id = "NHS Number"\ndate_added = "Date Added to Register"\n'
        "gp_practice = \"Usual GP's Organisation Code\"\n"
        'preferred_place_of_death = "Preferred Place of Death"\n', encoding="utf-8")
    return root


def test_title_block_of_another_length_still_loads(tmp_path):
    root = project(tmp_path / "p", None)
    config = load_config(root)
    for month, titles in (("04", APRIL), ("05", MAY), ("06", JUNE)):
        path = export(tmp_path / f"EMIS_PalCareRegister_2026{month}.csv", titles)
        [result] = ingest_files(config, "register", [path], mapping="emis",
                                reporter=RecordingReporter())
        assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (4, 3, 1)
        con = duckdb.connect(str(root / "eolneeds.duckdb"), read_only=True)
        try:
            [(row,)] = con.execute("SELECT row_number FROM rejects WHERE file_id = $f",
                                   {"f": result.file_id}).fetchall()
        finally:
            con.close()
        assert row == len(titles) + 4  # the file's own line of the 'not known' date


def test_empty_lines_above_a_header_need_no_header_row_and_say_nothing(tmp_path):
    root = project(tmp_path / "p", None)
    path = export(tmp_path / "emis.csv", ["", ""])
    reporter = RecordingReporter()
    [result] = ingest_files(load_config(root), "register", [path], mapping="emis",
                            reporter=reporter)
    assert (result.rows_read, result.rows_loaded) == (4, 3)


def test_a_renamed_local_export_is_read_with_the_mapping_whose_columns_it_has(tmp_path):
    """newcomer2 finding 04: the practice saved its EMIS search under a new name. No
    mapping's name starts the file's, no preset reads it, and there is no
    mappings/register.toml; the one register mapping whose every column the file has
    reads it (ingest without --mapping and `run` alike), and says so. With two such
    mappings the choice is not guessed."""
    from eolneeds.inspect import mapping_for_file

    root = project(tmp_path / "p", None)
    (root / "mappings" / "emis.toml").rename(root / "mappings" / "EMIS_PalCareRegister.toml")
    (root / "mappings" / "community.toml").write_text(
        'dataset = "activity"\n[columns]\nperson_id = "NHS Number"\n'
        'start_date = "Contact Date"\n[defaults]\nactivity_type = "community_contact"\n',
        encoding="utf-8")
    config = load_config(root)
    path = export(tmp_path / "PalliativeCareRegister_Apr2026.csv", MAY)
    assert mapping_for_file(config, "register", path) == "EMIS_PalCareRegister"
    assert mapping_for_file(config, "activity", path) is None  # its columns are not there
    reporter = RecordingReporter()
    [result] = ingest_files(config, "register", [path], reporter=reporter)
    assert (result.rows_read, result.rows_loaded) == (4, 3)
    assert any("read with " in f.get("text", "") and "EMIS_PalCareRegister.toml" in f["text"]
               for _n, f in reporter.events)
    (root / "mappings" / "EMIS_copy.toml").write_text(
        (root / "mappings" / "EMIS_PalCareRegister.toml").read_text(encoding="utf-8"),
        encoding="utf-8")
    assert mapping_for_file(load_config(root), "register", path) is None

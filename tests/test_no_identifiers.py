"""No clear identifier anywhere in the project (issue 10.2). After every case of the
bad-input corpus -- loaded, quarantined or refused -- no NHS number that was in the
input is in the database (any table, any column) or in any file of the project folder,
temporary folder included: checked in tests/test_bad_inputs.py's test_bad_input, on the
project that case's own ingest left (this file used to ingest every case a second
time for this check alone). Here: the corpus has numbers to look for, names, postcodes and dates of
birth are not kept either, and a killed ingest's transcoded copy is swept by the next
command that takes the lock."""

from __future__ import annotations

import subprocess
import sys

from identifier_leaks import leaks, numbers_in
from test_bad_inputs import CASES, CORPUS, TEST_KEY, _project

from eolneeds.db import TEMP_FOLDER
from eolneeds.ingest import ingest_files
from eolneeds.reporting import Reporter


def _numbers(case) -> set[str]:
    return numbers_in(CORPUS / name for name in [*case.before, case.file])


def test_the_corpus_holds_nhs_numbers_to_look_for():
    with_numbers = [c.name for c in CASES if _numbers(c)]
    assert len(with_numbers) >= 5, with_numbers


def test_a_good_file_loaded_keeps_no_nhs_number(tmp_path, monkeypatch):
    """good.csv loaded: test_bad_input checks it only where it is refused (its three
    cases with their own eolneeds.toml or database, and the mapping cases), so its
    loaded rows are checked here, as this file did when it ingested every case again
    into a fresh project."""
    monkeypatch.setenv("EOLNEEDS_KEY", TEST_KEY)
    [case] = [c for c in CASES if c.database == b""]  # good.csv, deaths
    config = _project(tmp_path / "project", case)
    [result] = ingest_files(config, case.dataset, [CORPUS / case.file], reporter=Reporter())
    assert result.rows_loaded > 0
    numbers = _numbers(case)
    assert numbers
    assert leaks(config.root, numbers) == []


# What personal_columns.csv carries besides NHS numbers: names, postcodes, dates of
# birth (in the forms a database could hold them).
PERSONAL = {"Lovelace", "Turing", "Hopper", "Seacole", "SW1A 1AA", "CB2 1TN", "N1 9GU",
            "E1 6AN", "10/12/1915", "1915-12-10", "23/06/1912", "1912-06-23", "31/02/1906",
            "08/01/2023", "2023-01-08"}


def test_no_name_postcode_or_date_of_birth_is_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", TEST_KEY)
    [case] = [c for c in CASES if c.file == "personal_columns.csv"]
    config = _project(tmp_path / "project", case)
    ingest_files(config, case.dataset, [CORPUS / case.file], reporter=Reporter())
    assert leaks(config.root, PERSONAL | _numbers(case)) == []


def test_a_killed_ingests_transcoded_copy_is_swept_by_the_next_command(tmp_path):
    """A kill -9 mid-ingest skips every finally: its transcoded copy stays until the
    next command that takes the project lock sweeps the temporary folder."""
    config = _project(tmp_path / "project", CASES[0])
    left = config.root / TEMP_FOLDER / "eolneeds-killed.csv"
    left.parent.mkdir(parents=True)
    left.write_text("person_id\n9434765919\n", encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-c", "from eolneeds.cli import main; main()", "validate",
         "--project", str(config.root)],
        capture_output=True, text=True, timeout=120, env={"EOLNEEDS_KEY": TEST_KEY,
                                                          "PATH": "/usr/bin"})
    assert "Traceback" not in completed.stderr
    assert not left.exists()
    assert leaks(config.root, {"9434765919"}) == []

"""Files Windows Explorer (or a Mac's Finder) writes into the folders it shows on a
shared drive -- desktop.ini, Thumbs.db -- are no extracts (newcomer2 finding 11): `run`
passed them to ingest, which stopped the month (exit 3) asking for person_id to be
mapped in desktop.ini. They are passed over, as hidden files and Excel's ~$ files are."""

from __future__ import annotations

from pathlib import Path

from eolneeds.config import load_config
from eolneeds.reporting import RecordingReporter
from eolneeds.run import inbox_files
from tests.small_project import make_project
from tests.test_ingest import write

DEATHS = ("person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death\n"
          "P1,05/01/2023,85,F,E01000001,C34.9,Hospital\n")


def test_folder_files_of_the_operating_system_are_not_extracts(tmp_path: Path) -> None:
    config = make_project(tmp_path / "p")
    inbox = config.root / "inbox"
    for folder in ("deaths", "register"):
        (inbox / folder).mkdir(parents=True)
    write(inbox / "deaths" / "desktop.ini",
          "[.ShellClassInfo]\r\nIconResource=C:\\Windows\\System32\\imageres.dll,-3\r\n")
    (inbox / "register" / "Thumbs.db").write_bytes(
        bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 504)
    (inbox / "register" / "ehthumbs.db").write_bytes(b"\x00" * 16)
    write(inbox / "desktop.ini", "[.ShellClassInfo]\r\n")  # the inbox folder's own
    extract = write(inbox / "deaths" / "deaths_2023-01.csv", DEATHS)
    reporter = RecordingReporter()
    found = inbox_files(load_config(config.root), reporter=reporter)
    assert found == [("deaths", extract)]
    assert reporter.events == []  # nothing to say about them either

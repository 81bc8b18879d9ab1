"""Windows Explorer writes desktop.ini and Thumbs.db into the folders it shows (a project
on a shared drive): `run` leaves them where they are instead of reading them as
extracts and stopping the month (newcomer2 finding 11)."""

from __future__ import annotations

from eolneeds import run as run_mod
from eolneeds.config import load_config
from eolneeds.reporting import RecordingReporter


def test_system_files_in_the_inbox_are_not_extracts(tmp_path):
    root = tmp_path / "p"
    (root / "inbox" / "deaths").mkdir(parents=True)
    (root / "inbox" / "register").mkdir(parents=True)
    (root / "eolneeds.toml").write_text(
        '[project]\nicb_name = "T"\nicb_code = "QXX"\n\n[[places]]\ncode = "P1"\n'
        'name = "One"\n', encoding="utf-8")
    (root / "inbox" / "deaths" / "desktop.ini").write_text(
        "[.ShellClassInfo]\r\nIconResource=C:\\Windows\\System32\\imageres.dll,-3\r\n",
        encoding="utf-16")
    (root / "inbox" / "deaths" / "Thumbs.db").write_bytes(
        bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504))  # an OLE file, as Windows writes
    (root / "inbox" / "register" / "DESKTOP.INI").write_text("[x]\n", encoding="utf-8")
    (root / "inbox" / "Thumbs.db").write_bytes(bytes(8))
    (root / "inbox" / "deaths" / "PCMD_Deaths_202602.csv").write_text("a\n", encoding="utf-8")
    reporter = RecordingReporter()
    files = run_mod.inbox_files(load_config(root), reporter=reporter)
    assert [(d, p.name) for d, p in files] == [("deaths", "PCMD_Deaths_202602.csv")]
    assert not [f for n, f in reporter.events if n == "message"]

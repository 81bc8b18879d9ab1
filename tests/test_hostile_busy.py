"""Red team: the monthly run while an analyst has the project database open in another
program -- a notebook or DBeaver with a read-only DuckDB connection, as analysts are told
to open it. DuckDB's file lock turns the run away (exit 4) and nothing moves; but the
message said the database was "in use by another eolneeds process -- wait for it to
finish", sending whoever reads the job's log after an eolneeds run that was never there
while the job failed every month. It now names the program and its pid and says that a
DuckDB session open even read-only holds it.

Real files, a real DuckDB database held by a real second process, the real CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

KEY = "test-key-not-secret-busy"
CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
CONFIG = '[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'
HEADER = "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death\n"
ROWS = "".join(f"{n},2024-0{m}-1{m},8{m},F,E01000001,C34.9,home\n"
               for m, n in enumerate(["4010232137", "4505577104", "4839298429"], start=1))
# An analyst's session: opens the database read-only, says so, then keeps it open.
SESSION = ("import duckdb, sys, time; con = duckdb.connect(sys.argv[1], read_only=True); "
           "print('open', flush=True); time.sleep(120)")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, encoding="utf-8",
                          env={**os.environ, "EOLNEEDS_KEY": KEY}, timeout=300)


def test_a_run_while_an_analyst_reads_the_database_is_exit_4_naming_the_session(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    areas = tmp_path / "areas.csv"
    areas.write_text("lsoa_code,place,imd_decile\nE01000001,P1,3\n", encoding="utf-8")
    assert _cli("ingest", "areas", str(areas), "--project", str(root)).returncode == 0
    inbox = root / "inbox" / "deaths"
    inbox.mkdir(parents=True)
    (inbox / "deaths_2024.csv").write_text(HEADER + ROWS, encoding="utf-8")
    database = root / "eolneeds.duckdb"
    before = database.read_bytes()
    session = subprocess.Popen([sys.executable, "-c", SESSION, str(database)],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert session.stdout is not None and session.stdout.readline().strip() == "open"
        ran = _cli("--log-format", "json", "run", "--month", "2024-03", "--project",
                   str(root))
        ingest = _cli("ingest", "deaths", str(inbox / "deaths_2024.csv"), "--project",
                      str(root))
    finally:
        session.kill()
        session.wait()
    program = Path(sys.executable).resolve().name
    for result in (ran, ingest):
        assert result.returncode == 4, result.stderr
        assert "Traceback" not in result.stderr
        human = [line for line in result.stderr.splitlines() if not line.startswith("{")]
        assert human == [
            f"Error: {database} is open in another program ({program}, pid {session.pid}): "
            "another eolneeds command, or a DuckDB session (a notebook, DBeaver, the duckdb "
            "shell) that has it open, even read-only — close the database there, or let the "
            "command finish, and try again"], result.stderr
    # Nothing moved: the input waits in the inbox, nothing is published, the database is
    # as it was, the lock is free, and the month's log says why the run stopped.
    assert (inbox / "deaths_2024.csv").is_file()
    assert not (root / "output").exists() or not any((root / "output").iterdir())
    assert database.read_bytes() == before
    assert not (root / ".eolneeds.lock").exists()
    log = [json.loads(line) for line in
           (root / "logs" / "eolneeds-2024-03.log").read_text("utf-8").splitlines()]
    finished = [r for r in log if r["event"] == "run_finished"]
    assert [r["status"] for r in finished] == ["locked"]
    assert f"pid {session.pid}" in finished[0]["error"]
    # Closed, the next run goes through.
    again = _cli("run", "--month", "2024-03", "--project", str(root))
    assert again.returncode != 4, again.stderr

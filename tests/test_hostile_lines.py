"""Red team: a text file that is one enormous line (a file whose line breaks were lost,
a binary blob named .csv). The header was read with an unbounded readline: a file of
one 300 MB line took 690 MB of memory and then Python's csv module failed on it ("field
larger than field limit"), exit 1 "a bug in eolneeds"; `inspect` took 1.8 GB to refuse
it (a 1 GB line: about 6 GB), and `run` read it whole first to recognise its layout.
Each now reads at most a row's limit (2,000,000 bytes, DuckDB's) of a line and refuses
it as a long data row is refused (test_hostile_files), in about 100 MB.

Real files, a real DuckDB database, the real CLI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

KEY = "test-key-not-secret-lines"
CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
CONFIG = '[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'
REFUSED = ("Error: deaths.csv row {row}: the row is longer than the 2000000 bytes a row may "
           "be (a value of millions of characters, or a quote opened and never closed) — "
           "remove or shorten that value (or close the quote), then ingest the file again")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, encoding="utf-8",
                          env={**os.environ, "EOLNEEDS_KEY": KEY}, timeout=300)


def _error(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def root(tmp_path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    return root


@pytest.mark.parametrize(("text", "row"), [
    # No line break at all: the header never ends.
    ("person_id,date_of_death," + "A" * 3_000_000, 1),
    # A title line that never ends, above the header.
    ("Deaths extract " + "x" * 3_000_000 + "\nperson_id,date_of_death\n1,2024-01-01\n", 1),
])
def test_one_enormous_line_is_refused_by_ingest_inspect_and_run(root, tmp_path, text, row):
    extract = tmp_path / "deaths.csv"
    extract.write_text(text, encoding="utf-8")
    inbox = root / "inbox" / "deaths"
    inbox.mkdir(parents=True)
    (inbox / "deaths.csv").write_text(text, encoding="utf-8")
    for args in (["ingest", "deaths", str(extract), "--project", str(root)],
                 ["inspect", str(extract)],
                 ["run", "--month", "2024-03", "--project", str(root)]):
        result = _cli(*args)
        assert result.returncode == 3, (args, result.stderr[-2000:])
        assert _error(result) == REFUSED.format(row=row), args
    assert (inbox / "deaths.csv").is_file()  # left for the next run, not archived
    assert not (root / "output").exists() or not any((root / "output").iterdir())

"""Red team: names that carry control characters into what eolneeds prints. A file in the
inbox named 'x\\nError: ...' printed its error over two lines (the second one forged), and
one holding an escape sequence ('\\x1b[2J', '\\x1b]8;;...') rewrote the terminal of whoever
ran the command. Printed text now shows them escaped; an error stays one line. (Names
are POSIX file names here: Windows forbids these characters in them.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file names")

CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
CONFIG = '[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'
HEADER = "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death\n"
ROW = "9434765919,2024-01-15,80,F,E01000001,C34.9,home\n"


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args, "--project", str(root)], capture_output=True,
                          text=True, encoding="utf-8", timeout=120, cwd=root,
                          env={**os.environ, "EOLNEEDS_KEY": "test-key-not-secret"})


@pytest.fixture
def root(tmp_path) -> Path:
    (tmp_path / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def test_an_error_naming_a_file_with_a_line_break_is_one_line(root):
    forged = root / "deaths\nError: validation passed\x1b[2J.csv"
    forged.write_text("", encoding="utf-8")  # empty: refused, naming the file
    done = _cli(root, "ingest", "deaths", str(forged))
    assert done.returncode == 3, done.stderr
    assert done.stderr.splitlines()[1:] == [
        "Error: deaths\\nError: validation passed\\x1b[2J.csv: the file is empty (0 bytes) "
        "— re-export the extract; an empty file has nothing to load"]


def test_messages_about_a_loaded_file_show_its_escape_sequences_escaped(root):
    name = "deaths_\x1b]8;;https:example.invalid\x1b\\\r.csv"
    extract = root / name
    extract.write_text(HEADER + ROW, encoding="utf-8")
    done = _cli(root, "ingest", "deaths", str(extract))
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stderr + done.stdout and "\r" not in done.stderr
    assert ("deaths_\\x1b]8;;https:example.invalid\\x1b\\\\r.csv: 1 row read, 1 loaded"
            in done.stderr)

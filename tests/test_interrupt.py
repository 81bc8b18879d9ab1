"""Interrupted and odd scheduled runs. Ctrl-C (SIGINT) mid-command: one line saying what
happened and what to do, exit 130, the lock released and nothing unfinished kept (Typer
turned Ctrl-C into exit 130 with no word; kill -9 is tests/test_kill.py). Inbox entries
that are not extracts are named."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from test_bad_inputs import CASES, CORPUS, TEST_KEY, _project

from eolneeds.lock import LOCK_FILE
from eolneeds.reporting import Reporter
from eolneeds.run import HOLD_LOCK_ENV, inbox_files

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT is POSIX")


def test_ctrl_c_during_a_run_says_so_exits_130_and_frees_the_project(tmp_path):
    config = _project(tmp_path / "project", CASES[0])
    inbox = config.root / "inbox" / "deaths"
    inbox.mkdir(parents=True)
    (inbox / "deaths.csv").write_bytes((CORPUS / "good.csv").read_bytes())
    env = {**os.environ, "EOLNEEDS_KEY": TEST_KEY, HOLD_LOCK_ENV: "60"}
    started = subprocess.Popen(
        [sys.executable, "-c", "from eolneeds.cli import main; main()", "--log-format",
         "json", "run", "--month", "2023-03", "--project", str(config.root)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        # A child of a non-interactive shell may inherit SIGINT ignored: restore it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        # Wait until it holds the lock (its hold event, on stderr), then press Ctrl-C.
        assert started.stderr is not None
        deadline = time.monotonic() + 120
        for line in started.stderr:
            if line.startswith("{") and json.loads(line).get("event") == "test_hold_lock":
                break
            assert time.monotonic() < deadline
        started.send_signal(signal.SIGINT)
        _out, err = started.communicate(timeout=60)
    finally:
        if started.poll() is None:
            started.kill()
    assert started.returncode == 130
    assert err.splitlines()[-1] == (
        "Error: interrupted (Ctrl-C) — nothing unfinished was kept (a file is loaded whole "
        "or not at all, outputs are written whole or not at all); run the command again")
    assert "Traceback" not in err
    assert not (config.root / LOCK_FILE).exists()
    assert (inbox / "deaths.csv").exists()  # not archived: the run did not finish
    assert not (config.root / "output").exists()


class _Messages(Reporter):
    def __init__(self) -> None:
        self.said: list[tuple[str, str]] = []

    def message(self, text: str, *, level: str = "info") -> None:
        self.said.append((level, text))


def test_a_folder_or_broken_link_in_the_inbox_is_named_not_skipped_silently(tmp_path):
    """Found by a red-team run: neither is read nor archived, so without a word it
    would wait in the inbox unseen month after month."""
    config = _project(tmp_path / "project", CASES[0])
    folder = config.root / "inbox" / "deaths"
    folder.mkdir(parents=True)
    (folder / "deaths.csv").write_bytes((CORPUS / "good.csv").read_bytes())
    (folder / "march.csv").mkdir()
    (folder / "gone.csv").symlink_to(tmp_path / "nowhere.csv")
    reporter = _Messages()
    assert inbox_files(config, reporter=reporter) == [("deaths", folder / "deaths.csv")]
    assert reporter.said == [
        ("warning", f"{folder / 'gone.csv'} is a link, not a file, and was left alone (a "
                    "link in the inbox is never followed) — copy the extract itself into the "
                    "folder"),
        ("warning", f"{folder / 'march.csv'} is a folder, not an extract, and was left alone")]


# Raises KeyboardInterrupt when eolneeds.cli is imported, as a Ctrl-C in the first
# few hundred milliseconds of start-up (while typer, rich and duckdb load) would.
_CTRL_C_WHILE_IMPORTING = """
import sys
class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "eolneeds.cli":
            raise KeyboardInterrupt
        return None
sys.meta_path.insert(0, CtrlC())
from eolneeds.__main__ import main
main()
"""


def test_ctrl_c_while_the_command_is_still_starting_gives_the_one_line_not_a_traceback():
    ended = subprocess.run([sys.executable, "-c", _CTRL_C_WHILE_IMPORTING, "--version"],
                           capture_output=True, text=True, timeout=60)
    assert ended.returncode == 130
    assert "Traceback" not in ended.stderr
    assert ended.stderr.splitlines() == [
        "Error: interrupted (Ctrl-C) — nothing unfinished was kept (a file is loaded whole "
        "or not at all, outputs are written whole or not at all); run the command again"]


def test_the_installed_command_starts_through_the_guarded_entry_point():
    """The guard only helps if `eolneeds` (the console script) and `python -m eolneeds`
    go through it."""
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads(
        (Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"]["eolneeds"] == "eolneeds.__main__:main"
    ended = subprocess.run([sys.executable, "-m", "eolneeds", "--version"],
                           capture_output=True, text=True, timeout=60)
    assert ended.returncode == 0, ended.stderr
    assert ended.stdout.strip()

"""Red team: `assess --out` pointing where outputs must not go, or cannot.

* `--out ''` (an unset variable in a script: --out "$REPORTS") wrote into the current
  folder as if it were `--out .`.
* `--out PROJECT/inbox/deaths` wrote indicators.csv and manifest.json into the inbox:
  the next scheduled `run` ingested them as death extracts and stopped (exit 3) every
  month until someone found them. The project's temporary folder is emptied by every
  command. Both are refused (exit 2) before any work.
* `--out` through a file (eolneeds.duckdb/reports) or into a folder that cannot be
  written (/proc/self) was exit 1, 'a bug in eolneeds', after the whole assessment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
CONFIG = '[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'


def _assess(root: Path, out: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "assess", "--project", str(root), "--out", out],
                          capture_output=True, text=True, encoding="utf-8", timeout=120,
                          cwd=root, env={**os.environ, "EOLNEEDS_KEY": "test-key-not-secret"})


@pytest.fixture
def root(tmp_path) -> Path:
    (tmp_path / "inbox" / "deaths").mkdir(parents=True)
    (tmp_path / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.name != ".eolneeds.lock"}


@pytest.mark.parametrize("out", ["", "  "])
def test_an_empty_out_is_refused_not_the_current_folder(root, out):
    before = _files(root)
    done = _assess(root, out)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"Error: --out {out!r} is empty — name a folder for the outputs, "
                           "e.g. --out reports\n")
    assert _files(root) == before


@pytest.mark.parametrize("inside, folder, why", [
    ("inbox/deaths", "inbox", "the next `eolneeds run` would read the outputs as extracts"),
    ("inbox", "inbox", "the next `eolneeds run` would read the outputs as extracts"),
    ("reports/../inbox/new", "inbox",
     "the next `eolneeds run` would read the outputs as extracts"),
    (".eolneeds-tmp/reports", ".eolneeds-tmp", "every command empties it"),
])
def test_out_inside_a_folder_eolneeds_reads_or_empties_is_refused(root, inside, folder, why):
    out = str(root / inside)
    done = _assess(root, out)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"Error: --out {out} is inside the project's {folder} folder "
                           f"({why}) — name a folder outside it, e.g. --out "
                           f"{root / 'reports'}\n")
    assert list((root / "inbox" / "deaths").iterdir()) == []


def test_out_through_a_file_is_a_usage_error_before_any_work(root):
    out = str(root / "eolneeds.toml" / "reports")
    done = _assess(root, out)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"Error: --out {out} is inside {root / 'eolneeds.toml'}, which is "
                           "a file — name a folder for the outputs (it is created if it does "
                           "not exist)\n")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="a folder no one can write in")
def test_out_where_nothing_can_be_written_is_a_usage_error(root):
    done = _assess(root, "/proc/self")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("Error: --out /proc/self: cannot write there (")
    assert done.stderr.endswith(") — name a folder you can write to\n")


@pytest.mark.parametrize("command", ["init", "sample"])
def test_an_empty_project_folder_is_refused_not_the_current_folder(tmp_path, command):
    # `eolneeds init "$DIR"` with DIR unset made the current folder a project.
    done = subprocess.run([*CLI, command, ""], capture_output=True, text=True,
                          encoding="utf-8", timeout=120, cwd=tmp_path,
                          env={**os.environ, "EOLNEEDS_KEY_DIR": str(tmp_path / "keys")})
    assert done.returncode == 2, done.stderr
    assert done.stderr == ("Error: DIR '' is empty — name the folder for the project, e.g. "
                           "eol-2026\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["init", "sample"])
def test_a_project_folder_through_a_file_is_a_usage_error(root, command):
    # `sample eolneeds.toml` was exit 1 (FileExistsError).
    for target in (root / "eolneeds.toml", root / "eolneeds.toml" / "demo"):
        done = subprocess.run([*CLI, command, str(target)], capture_output=True, text=True,
                              encoding="utf-8", timeout=120, cwd=root)
        assert done.returncode == 2, done.stderr
        assert done.stderr == (f"Error: {root / 'eolneeds.toml'} is a file, not a folder — "
                               "choose a folder for the project\n")

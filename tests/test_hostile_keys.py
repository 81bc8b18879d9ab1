"""Red team: the pseudonymisation key, from $EOLNEEDS_KEY or [privacy] key_file. A key
that is blank, short enough to guess, not text (a UTF-16 copy of the key file, a
variable set from bytes that are not UTF-8) or not a file at all (/dev/zero, a folder)
is refused with exit 2 and one line saying why, before anything is read or stored:
never a silent weak key, an internal error, or a read that never ends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
CONFIG = '[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'
GOOD_KEY = "0123456789abcdef" * 4


def _project(tmp_path: Path, key_file: Path | None = None) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    privacy = f'\n[privacy]\nkey_file = "{key_file.as_posix()}"\n' if key_file else ""
    (root / "eolneeds.toml").write_text(CONFIG + privacy, encoding="utf-8")
    (root / "areas.csv").write_text("lsoa_code,place,imd_decile\nE01000001,P1,3\n",
                                    encoding="utf-8")
    return root


def _ingest(root: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "ingest", "areas", str(root / "areas.csv"), "--project",
                           str(root)], capture_output=True, env=env, timeout=60)


def _env_without_key() -> dict:
    return {k: v for k, v in os.environb.items() if k != b"EOLNEEDS_KEY"}


def _refused(done: subprocess.CompletedProcess, root: Path, words: str) -> None:
    stderr = done.stderr.decode("utf-8")
    assert done.returncode == 2, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1 and words in lines[0], stderr
    assert "Traceback" not in stderr and "Internal error" not in stderr
    # Refused before anything was stored under the weak key.
    assert not (root / "eolneeds.duckdb").exists()


ENV_KEYS = {
    "blank": (b"   ", "is blank"),
    "short": (b"secret", "is 6 characters long"),
    "not UTF-8": (b"\xff\xfe" + GOOD_KEY.encode(), "is not one line of UTF-8 text"),
    "control character": (GOOD_KEY.encode() + b"\x07", "is not one line of UTF-8 text"),
}


@pytest.mark.parametrize("value, words", ENV_KEYS.values(), ids=list(ENV_KEYS))
def test_a_weak_or_garbled_key_in_the_variable_is_refused(tmp_path, value, words):
    root = _project(tmp_path)
    done = _ingest(root, {**_env_without_key(), b"EOLNEEDS_KEY": value})
    _refused(done, root, "$EOLNEEDS_KEY " + words)


FILE_KEYS = {
    "empty": (b"", "is blank"),
    "whitespace": (b" \r\n\t\n", "is blank"),
    "short": (b"abc123\n", "is 6 characters long"),
    "UTF-16 (PowerShell's Out-File)": ("\ufeff" + GOOD_KEY + "\r\n").encode("utf-16-le"),
}


@pytest.mark.parametrize("content", FILE_KEYS.values(), ids=list(FILE_KEYS))
def test_a_weak_or_garbled_key_file_is_refused(tmp_path, content):
    data, words = content if isinstance(content, tuple) else (content, "not one line of "
                                                                       "UTF-8 text")
    key_file = tmp_path / "project.key"
    key_file.write_bytes(data)
    root = _project(tmp_path, key_file)
    _refused(_ingest(root, _env_without_key()), root, words)


@pytest.mark.parametrize("target", ["/dev/zero", "folder"])
def test_a_key_file_that_is_not_a_file_is_refused_not_read_for_ever(tmp_path, target):
    if target == "folder":
        key_file = tmp_path / "keys"
        key_file.mkdir()
    else:
        key_file = Path(target)
        if not key_file.exists():
            pytest.skip("no /dev/zero on this system")
    root = _project(tmp_path, key_file)
    _refused(_ingest(root, _env_without_key()), root, "is not a key file")


def test_the_key_init_writes_and_a_long_passphrase_are_taken(tmp_path):
    key_file = tmp_path / "project.key"
    key_file.write_text(GOOD_KEY + "\n", encoding="utf-8")
    root = _project(tmp_path, key_file)
    done = _ingest(root, _env_without_key())
    assert done.returncode == 0, done.stderr.decode("utf-8")
    other = tmp_path / "other"
    other.mkdir()
    root2 = _project(other)
    done = _ingest(root2, {**_env_without_key(),
                           b"EOLNEEDS_KEY": "a passphrase of ünïcode words".encode()})
    assert done.returncode == 0, done.stderr.decode("utf-8")


def test_a_short_key_an_existing_project_was_written_with_still_works_and_warns(tmp_path):
    """A project whose database was written with a short key (before keys had a minimum
    length) keeps working, with a warning that says how to move to a strong key:
    refusing it would stop its monthly run for good, since a new key cannot link new
    data to old. A new project is still refused (above)."""
    root = _project(tmp_path)
    short = {**_env_without_key(), b"EOLNEEDS_KEY": b"secret"}
    # The database as an earlier version left it, written with the short key.
    import duckdb
    duckdb.connect(str(root / "eolneeds.duckdb")).close()
    done = _ingest(root, short)
    stderr = done.stderr.decode("utf-8")
    assert done.returncode == 0, stderr
    assert "6 characters long" in stderr and "ingest every file again" in stderr, stderr
    assert "Traceback" not in stderr

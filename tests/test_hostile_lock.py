"""Red team: a project lock that eolneeds never writes. A link leading nowhere in place
of .eolneeds.lock made every command spin at full speed for ever (creating the lock
fails, reading it finds nothing, so it looked 'released' and was tried again); a named
pipe made it wait for a writer for ever, a link to /dev/zero read until memory ran out;
a folder was 'a process that is starting up' and, with --wait, an internal error. Each
is now refused at once (exit 2) saying what to delete. (POSIX: links, pipes and
/dev/zero.)"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from eolneeds.lock import LOCK_FILE

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX links and pipes")

CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
CONFIG = '[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'


@pytest.mark.parametrize("kind, made", [
    ("a link", lambda p: p.symlink_to(p.parent / "nowhere")),
    ("a link", lambda p: p.symlink_to("/dev/zero")),
    ("a pipe, socket or device", os.mkfifo),
    ("a folder", lambda p: p.mkdir()),
])
@pytest.mark.parametrize("wait", ["0", "5"])
def test_a_lock_that_is_not_a_file_is_refused_at_once(tmp_path, kind, made, wait):
    (tmp_path / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    lock = tmp_path / LOCK_FILE
    made(lock)
    done = subprocess.run([*CLI, "run", "--month", "2024-06", "--project", str(tmp_path),
                           "--wait", wait], capture_output=True, text=True, encoding="utf-8",
                          timeout=60, env={**os.environ, "EOLNEEDS_KEY": "test-key-not-secret"})
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"Error: {lock} is {kind}, not a lock file eolneeds writes — delete it (no eolneeds "
        "run is using it), then run the command again")



def test_taking_the_lock_sweeps_only_eolneeds_files_from_a_linked_temp_folder(tmp_path):
    # `ln -s /scratch PROJECT/.eolneeds-tmp` (spill to a bigger disk): every command
    # deleted every file and folder on /scratch, and with a link to / everything.
    from eolneeds.db import TEMP_FOLDER
    from eolneeds.lock import project_lock

    scratch = tmp_path / "scratch"
    (scratch / "someone's work").mkdir(parents=True)
    (scratch / "someone's work" / "thesis.docx").write_text("years", encoding="utf-8")
    (scratch / "results.csv").write_text("1,2\n", encoding="utf-8")
    (scratch / "eolneeds-killed.csv").write_text("a killed ingest's copy", encoding="utf-8")
    (scratch / "duckdb_temp_1_0_storage_S32K-0.tmp").write_bytes(b"spill")
    root = tmp_path / "project"
    root.mkdir()
    (root / TEMP_FOLDER).symlink_to(scratch, target_is_directory=True)
    with project_lock(root, command="test"):
        pass
    assert sorted(p.name for p in scratch.iterdir()) == ["results.csv", "someone's work"]
    assert (scratch / "someone's work" / "thesis.docx").read_text(encoding="utf-8") == "years"

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


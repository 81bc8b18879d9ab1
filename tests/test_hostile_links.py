"""Red team: a symbolic link in the inbox. Whoever can drop a file into inbox/ could
drop a link to any file the scheduled job can read: /etc/passwd was read, its first line
printed (as the headers found) in the message and the run's log, and the link archived.
The rule (README "The monthly run"): a link in the inbox -- to a file, a folder, or
nowhere, and a dataset folder that is a link -- is never followed: it is named in a
warning and left alone, and the extracts beside it go in. The inbox folder itself may
be a link or a mount (whoever set up the project chose it).

The real CLI and a real project.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sample_settings import primary_suppression_only

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="symlinks need a privilege")

KEY = "test-key-not-secret-links"
CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
SECRET = "root:x:0:0:secret-first-line:/root:/bin/bash\nsecond,line\n"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, encoding="utf-8",
                          env={**os.environ, "EOLNEEDS_KEY": KEY}, timeout=600)


def test_a_link_in_the_inbox_is_never_followed(tmp_path):
    from eolneeds.sample import LAST_DAY

    root = tmp_path / "project"
    made = _cli("sample", str(root), "--deaths", "150")
    assert made.returncode == 0, made.stderr
    with (root / "eolneeds.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[outputs]\nformats = ["csv"]\nper_place = false\n')
    # The inbox's links are the subject, not disclosure control: secondary suppression
    # was most of the run's time (tests/sample_settings.py).
    primary_suppression_only(root)
    outside = tmp_path / "passwd"
    outside.write_text(SECRET, encoding="utf-8")
    (root / "inbox" / "deaths" / "deaths_extra.csv").symlink_to(outside)
    (root / "inbox" / "activity" / "spells.csv").symlink_to(tmp_path)  # a folder
    month = LAST_DAY.strftime("%Y-%m")
    ran = _cli("run", "--month", month, "--project", str(root))
    assert ran.returncode == 0, ran.stderr
    log = (root / "logs" / f"eolneeds-{month}.log").read_text(encoding="utf-8")
    for text in (ran.stdout, ran.stderr, log):
        assert "secret-first-line" not in text
    assert "deaths_extra.csv is a link, not a file, and was left alone" in ran.stderr
    assert "spells.csv is a link, not a file, and was left alone" in ran.stderr
    # Left where it was, not archived; the target untouched.
    assert (root / "inbox" / "deaths" / "deaths_extra.csv").is_symlink()
    assert not list((root / "archive").rglob("deaths_extra.csv"))
    assert outside.read_text(encoding="utf-8") == SECRET
    # The extracts beside it went in.
    assert list((root / "archive" / month / "deaths").glob("*.csv"))

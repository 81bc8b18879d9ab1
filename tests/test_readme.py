"""The README's walk-through runs as shown: every command in it exits 0."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
MARKER = "<!-- readme-walkthrough -->"


def walkthrough_commands() -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    assert MARKER in text, "the README lost its walk-through block"
    # Every block after a marker, in order (the onboarding one runs after the first).
    blocks = re.findall(re.escape(MARKER) + r"\s*```sh\n(.*?)```", text, re.S)
    assert blocks
    return [shlex.split(line) for block in blocks for line in block.splitlines()
            if line.strip()]


def test_readme_shows_the_two_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text


@pytest.mark.slow
def test_readme_walkthrough_runs(session_env: Path, tmp_path: Path) -> None:
    bindir = Path(sys.executable).parent
    commands = walkthrough_commands()
    assert len(commands) >= 10
    for argv in commands:
        assert argv[0] == ".venv/bin/eolneeds", argv
        argv = [str(bindir / "eolneeds"), *argv[1:]]
        proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True,
                              encoding="utf-8", env=dict(os.environ))
        assert proc.returncode == 0, f"{shlex.join(argv)}\n{proc.stderr[-1500:]}"
        assert "Traceback" not in proc.stderr
    assert (tmp_path / "my-new-project" / "eolneeds.toml").is_file()
    assert (tmp_path / "my-project" / "reports" / "report.html").is_file()
    assert (tmp_path / "my-project" / "output" / "2026-10" / "indicators.csv").is_file()
    assert (tmp_path / "onboarding" / "mappings" / "my_register.toml").is_file()
    assert (tmp_path / "onboarding" / "reports" / "indicators.csv").is_file()

"""Finding and creating projects."""

from __future__ import annotations

from pathlib import Path

from eolneeds.config import CONFIG_FILE, ProjectConfig, find_project, load_config
from eolneeds.errors import UsageError
from eolneeds.reporting import Reporter


def require_project(project: Path | None) -> ProjectConfig:
    """The project for commands that change or inspect one (ingest, validate, run)."""
    root = find_project(project)
    if root is None:
        raise UsageError(
            f"no project here (no {CONFIG_FILE} in {Path.cwd()}) — pass --project DIR, "
            "or create one with `eolneeds init DIR` or `eolneeds sample DIR`"
        )
    return load_config(root)


def init_project(directory: Path, *, reporter: Reporter) -> Path:
    raise NotImplementedError("filled in by the Foundation (init) work")

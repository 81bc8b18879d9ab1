"""A copy of a project's database, for a test that changes it (its publication ledger,
a late registration) without changing it for the other tests."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from eolneeds.config import ProjectConfig


def database_copy(config: ProjectConfig, root: Path) -> ProjectConfig:
    """`config` with its project database copied into `root` (a file copy: no ingest
    again), for a test that changes the database (its publication ledger, a late
    registration) without changing it for the other tests."""
    root.mkdir(parents=True, exist_ok=True)
    source = config.database_path
    for suffix in ("", ".wal"):  # a write-ahead log, if one was left
        if source.with_name(source.name + suffix).exists():
            shutil.copy(source.with_name(source.name + suffix),
                        root / (source.name + suffix))
    return dataclasses.replace(config, root=root)

"""Locate the files that ship inside the package (queries, templates, sample data,
reference tables) with importlib.resources, so they are found from a checkout, an
editable install and a plain wheel install alike."""

from __future__ import annotations

from importlib.resources import as_file, files
from importlib.resources.abc import Traversable
from pathlib import Path


def queries_dir() -> Traversable:
    return files("eolneeds.queries")


def read_query(name: str) -> str:
    """The text of queries/<name>.sql (UTF-8)."""
    return (files("eolneeds.queries") / f"{name}.sql").read_text(encoding="utf-8")


def templates_dir() -> Traversable:
    return files("eolneeds.report_templates")


def sample_data_dir() -> Traversable:
    return files("eolneeds.sample_data")


def reference_file(name: str) -> Traversable:
    """A shipped reference table, e.g. reference_file("esp2013.csv")."""
    return files("eolneeds.reference") / name


def copy_tree(src: Traversable, dest: Path) -> None:
    """Copy a packaged folder (which may be inside a zip) to a real folder on disk."""
    dest.mkdir(parents=True, exist_ok=True)
    for entry in src.iterdir():
        if entry.name in {"__init__.py", "__pycache__"}:
            continue
        target = dest / entry.name
        if entry.is_dir():
            copy_tree(entry, target)
        else:
            with as_file(entry) as real:
                target.write_bytes(Path(real).read_bytes())

"""Opening the project database with bounded memory.

DuckDB defaults to 80% of RAM; an England-scale run on a shared 24 GB machine must stay
well under that, so every connection caps memory and spills to a temp folder beside the
database instead. EOLNEEDS_MEMORY_LIMIT (e.g. "2GB") overrides the cap.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

DEFAULT_MEMORY_LIMIT = "3GB"


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path = Path(path)
    con = duckdb.connect(str(path), read_only=read_only)
    limit = os.environ.get("EOLNEEDS_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)
    con.execute(f"SET memory_limit = '{_checked_limit(limit)}'")
    spill = path.parent / ".eolneeds-tmp"
    # SET does not take prepared parameters, so the path is quoted by hand.
    con.execute(f"SET temp_directory = '{_sql_string(str(spill))}'")
    # DuckDB draws its own progress bar on long statements; ours (or none) is enough.
    con.execute("SET enable_progress_bar = false")
    return con


def _checked_limit(limit: str) -> str:
    cleaned = limit.strip().upper().replace(" ", "")
    if not cleaned[:-2].replace(".", "").isdigit() or cleaned[-2:] not in ("MB", "GB"):
        from eolneeds.errors import UsageError

        raise UsageError(
            f"EOLNEEDS_MEMORY_LIMIT={limit!r} is not a size — use a value like 2GB or 1500MB"
        )
    return cleaned


def _sql_string(text: str) -> str:
    return text.replace("'", "''")

"""How the core tells the outside world what it is doing, without importing rich/typer.

The core calls `reporter.event("file_ingested", file=..., rows_read=...)` for every
notable step and wraps long loops in `with reporter.progress("Ingesting", total) as step:`
calling `step(n)`. The CLI supplies a Reporter that draws rich progress bars on a
terminal, plain lines otherwise, or one JSON object per event (`--log-format json`).
Tests pass `Reporter()` (silent) or `RecordingReporter()` to assert the events.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eolneeds.normalise import escape_unshown, mask_identifiers


def event_json(name: str, fields: dict[str, Any]) -> str:
    """One event as one JSON line (no newline): what `--log-format json` prints and
    what scheduled runs append to logs/. Paths and datetimes become strings."""
    record: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "event": name,
    }
    for key, value in fields.items():
        if isinstance(value, Path):
            value = str(value)
        elif isinstance(value, datetime):
            value = value.isoformat()
        # Names in the text are shown as everywhere else (normalise.escape_unshown): JSON
        # would escape a line break but keep a right-to-left override or U+2028 as it is.
        record[key] = escape_unshown(value) if isinstance(value, str) else value
    # A file or column named with an NHS number must not reach a log (README, Privacy).
    return mask_identifiers(json.dumps(record, ensure_ascii=False, default=str))


def no_progress(advance: int = 1) -> None:
    """The step function of a progress bar that draws nothing."""


class Reporter:
    """Silent base reporter. Subclasses override `event` and `progress`."""

    def event(self, name: str, **fields: Any) -> None:
        """A notable step: name is snake_case (run_started, file_ingested, ...)."""

    def message(self, text: str, *, level: str = "info") -> None:
        """A human line (level: info | warning | error | debug)."""
        self.event("message", text=text, level=level)

    @contextmanager
    def progress(
        self, description: str, total: int | None = None
    ) -> Iterator[Callable[[int], None]]:
        yield no_progress


class RecordingReporter(Reporter):
    """Keeps every event in memory; for tests."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def event(self, name: str, **fields: Any) -> None:
        self.events.append((name, fields))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

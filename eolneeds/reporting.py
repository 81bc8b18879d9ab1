"""How the core tells the outside world what it is doing, without importing rich/typer.

The core calls `reporter.event("file_ingested", file=..., rows_read=...)` for every
notable step and wraps long loops in `with reporter.progress("Ingesting", total) as step:`
calling `step(n)`. The CLI supplies a Reporter that draws rich progress bars on a
terminal, plain lines otherwise, or one JSON object per event (`--log-format json`).
Tests pass `Reporter()` (silent) or `RecordingReporter()` to assert the events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


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

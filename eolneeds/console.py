"""The CLI's Reporter: rich progress bars on a terminal, plain lines when not, one JSON
object per event with --log-format json. Only the CLI imports this module."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from eolneeds.normalise import escape_unshown, mask_identifiers
from eolneeds.reporting import Reporter, event_json, no_progress


def visible(text: str, *, one_line: bool = False) -> str:
    """`text` with its control and text-direction characters escaped ('\\x1b', '\\r',
    '\\u202e'; normalise.escape_unshown, the rule names are kept and shown by); with
    `one_line`, line breaks and tabs too (an error is one line). Such characters in what
    is printed come from names (a file, a sheet, a column) an attacker or an accident
    chose: an escape sequence rewrites the terminal, a carriage return overwrites the line,
    a line break forges another line of the log."""
    return escape_unshown(text, keep="" if one_line else "\n\t")


class ConsoleReporter(Reporter):
    def __init__(
        self,
        *,
        log_format: str = "text",
        quiet: bool = False,
        verbose: bool = False,
        stream: TextIO | None = None,
    ) -> None:
        self.log_format = log_format
        self.quiet = quiet
        self.verbose = verbose
        self.stream = stream or sys.stderr
        self.is_terminal = self.stream.isatty() and log_format == "text"
        self.extra_sinks: list[TextIO] = []  # e.g. the project's logs/ file for `run`
        self.stream_lost = False

    def _write(self, text: str) -> None:
        """Write to the console stream. If whoever reads it has gone away (a closed pipe:
        `eolneeds run ... | head`, a log shipper that died), carry on without it: the
        job and its log file matter more than the console."""
        if self.stream_lost:
            return
        try:
            # The line's own ending is kept; one inside it is shown escaped.
            body, end = (text[:-1], "\n") if text.endswith("\n") else (text, "")
            self.stream.write(visible(mask_identifiers(body)) + end)
            self.stream.flush()
        except (BrokenPipeError, ValueError, OSError):
            self.stream_lost = True

    # -- events ----------------------------------------------------------------------
    def event(self, name: str, **fields: Any) -> None:
        line = event_json(name, fields)
        for sink in self.extra_sinks:
            sink.write(line + "\n")
            sink.flush()
        if self.log_format == "json":
            self._write(line + "\n")
            return
        if name == "message":
            level = fields.get("level", "info")
            if level == "debug" and not self.verbose:
                return
            if self.quiet and level == "info":
                return
            prefix = {"warning": "Warning: ", "error": "Error: "}.get(level, "")
            # A message is one line (Reporter.message): a break inside it came from a name.
            text = visible(str(fields.get("text", "")), one_line=True)
            self._write(f"{prefix}{text}\n")
        elif self.verbose:
            detail = ", ".join(f"{k}={v}" for k, v in fields.items())
            self._write(f"{name}: {detail}\n")

    @contextmanager
    def progress(
        self, description: str, total: int | None = None
    ) -> Iterator[Callable[[int], None]]:
        if self.quiet or self.log_format == "json":
            yield no_progress
            return
        if not self.is_terminal:
            # Plain lines for logs and pipes: one at the start, one at the end.
            self._write(f"{description}...\n")
            yield no_progress
            self._write(f"{description}: done\n")
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        console = Console(file=self.stream)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as bar:
            task = bar.add_task(description, total=total)

            def step(advance: int = 1) -> None:
                bar.advance(task, advance)

            yield step
            if total is not None:
                bar.update(task, completed=total)

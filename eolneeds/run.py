"""`eolneeds run --month YYYY-MM`: the scheduled monthly job.

One run, under the project lock (lock.py):

1. ingest every file under inbox/<dataset>/ (files already loaded are skipped by their
   content hash, so a re-run duplicates nothing);
2. validate; blocking faults stop the run with exit 3 before any output is touched;
3. assess the rolling 12 months ending with MONTH (protected against the previous
   month's publication, see publication()) into a hidden temporary folder
   output/.tmp-MONTH-..., then rename it into place as output/MONTH/ (swapping out an
   earlier run of the same month) and point output/LATEST (and the symlink
   output/latest, where the OS allows) at the newest month;
4. move the processed inputs to archive/MONTH/<dataset>/.

Kill-safety: every visible name changes by one atomic rename, so a run killed at any
moment leaves either the old state or the new one. (On a project's first run the
month's folder lands a moment before output/LATEST is first written: a kill between
the two leaves LATEST absent, so a reader of it still sees the old state, no output,
and the next run points it.) Leftovers (hidden temp folders, an
aside copy of an earlier output) are tidied by the next run before it starts. The
database is protected by ingest's one-transaction-per-file.

Every event is appended as one JSON line to DIR/logs/eolneeds-MONTH.log, whatever the
console's log format, so a scheduler's runs can be audited afterwards.

Test hooks: EOLNEEDS_TEST_HOLD_LOCK_SECONDS=N makes the run sleep N seconds just after
taking the lock, so tests can make two runs overlap deterministically;
EOLNEEDS_TEST_HOLD_ARCHIVE_SECONDS=N sleeps after the first input is archived, so a test
can kill a run in its archive step. They are read only here and do nothing when unset.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import math
import os
import re
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from eolneeds.config import ProjectConfig
from eolneeds.db import disk_full, explain
from eolneeds.errors import EolneedsError, InputDataError, UsageError, shell_arg
from eolneeds.formatting import plural
from eolneeds.lock import ReadOnlyProjectError, project_lock
from eolneeds.normalise import shown_name
from eolneeds.outputs import atomic_write_text, sha256_file
from eolneeds.reporting import Reporter, event_json

if TYPE_CHECKING:
    from eolneeds import ledger
    from eolneeds.periods import Period

HOLD_LOCK_ENV = "EOLNEEDS_TEST_HOLD_LOCK_SECONDS"
HOLD_ARCHIVE_ENV = "EOLNEEDS_TEST_HOLD_ARCHIVE_SECONDS"
OUTPUT_DIR = "output"
ARCHIVE_DIR = "archive"
LOGS_DIR = "logs"
LATEST_FILE = "LATEST"
LATEST_LINK = "latest"
RUN_RECORD = "run.json"
# ASCII digits only: Python's \d is any script's, and a month typed "２０２６-10" sorted
# after every real month and took output/LATEST for good.
_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
# Reference data first, so that person-level data meets its areas on the same run (the
# areas may come as one file, or as an LSOA-to-Place lookup and a deprivation file).
INGEST_ORDER = ("areas", "lsoa_places", "deprivation", "practices", "population",
                "projections", "deaths", "register", "activity", "benchmarks")


@dataclass
class RunResult:
    month: str
    output_dir: Path
    log_file: Path
    new_data: bool
    files_ingested: list[str] = field(default_factory=list)
    files_skipped: list[str] = field(default_factory=list)
    files_archived: list[Path] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    def render_summary(self) -> str:
        data = (
            f"{len(self.files_ingested)} new {plural(len(self.files_ingested), 'file')} "
            "ingested"
            if self.new_data
            else "no new data (reports rebuilt from the data already loaded)"
        )
        if self.files_skipped:
            data += f", {len(self.files_skipped)} already loaded"
        return (
            f"Run {self.month} finished in {self.duration_s:.1f} s: {data}; "
            f"{len(self.outputs)} output {plural(len(self.outputs), 'file')} in "
            f"{self.output_dir}"
            + (f"; {len(self.files_archived)} {plural(len(self.files_archived), 'input')} "
               "archived" if self.files_archived else "")
        )


# ---------------------------------------------------------------------------------------
# The run log: every event also goes, as one JSON line, to logs/eolneeds-MONTH.log


class _LoggingReporter(Reporter):
    """Passes everything to the caller's reporter and appends each event to a file."""

    def __init__(self, inner: Reporter, sink: TextIO) -> None:
        self.inner = inner
        self.sink = sink

    def event(self, name: str, **fields: Any) -> None:
        self.sink.write(event_json(name, fields) + "\n")
        self.sink.flush()
        self.inner.event(name, **fields)

    @contextmanager
    def progress(
        self, description: str, total: int | None = None
    ) -> Iterator[Callable[[int], None]]:
        with self.inner.progress(description, total) as step:
            yield step


# ---------------------------------------------------------------------------------------
# Seams onto the other parts (kept as functions so orchestration tests can stand them in)


def _ingest(
    config: ProjectConfig, dataset: str, files: list[Path], *, mapping: str | None,
    reporter: Reporter,
) -> list[Any]:
    from eolneeds.ingest import ingest_files

    return ingest_files(config, dataset, files, mapping=mapping, reporter=reporter)


def _replace(
    config: ProjectConfig, dataset: str, path: Path, *, mapping: str | None,
    reporter: Reporter,
) -> None:
    from eolneeds.ingest import ingest_files

    ingest_files(config, dataset, [path], mapping=mapping, replace=True, reporter=reporter)


def _validate(config: ProjectConfig, *, reporter: Reporter) -> list[str]:
    from eolneeds.validate import validate_project

    return list(validate_project(config, reporter=reporter).blocking)


def _deaths_span(config: ProjectConfig) -> tuple[Any, Any] | None:
    """The first and last date of death loaded, or None (no database or no deaths)."""
    from eolneeds.db import connect

    if not config.database_path.is_file():
        return None
    con = connect(config.database_path, read_only=True)
    try:
        if not con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = 'deaths' "
                           "AND schema_name = 'main'").fetchone():
            return None
        span = con.execute("SELECT min(date_of_death), max(date_of_death) "
                           "FROM deaths").fetchone()
    finally:
        con.close()
    return None if span is None or span[0] is None else (span[0], span[1])


def _check_month_has_deaths(config: ProjectConfig, month: str) -> None:
    """A month whose reporting window holds none of the deaths loaded is a mistyped month
    (9999-12 for 2025-12): its reports would be empty, and a month after every real one
    would take output/LATEST from them for good."""
    from eolneeds import periods

    span = _deaths_span(config)
    if span is None:
        return
    window = periods.rolling(month, config.periods.months, option="--month")
    first, last = span
    if window.start > last or window.end < first:
        raise UsageError(
            f"--month {month}: the {config.periods.months} months to {month} hold none of "
            f"the deaths loaded (they run from {first:%Y-%m} to {last:%Y-%m}) — give the "
            f"month the run is for, e.g. --month {last:%Y-%m}; nothing was published")
    # A month after the deaths end (the month's extract is late): its 12 months would
    # hold fewer months of deaths and be published as a whole year. Refused, not warned:
    # a scheduled run has no one to read a warning before the pack goes out.
    if (last.year, last.month) < (window.end.year, window.end.month):
        raise InputDataError(
            f"--month {month}: the deaths loaded end {last:%Y-%m-%d}, before the end of "
            f"{month}: the {config.periods.months} months to {month} would count the "
            f"deaths of only part of them as the whole — put the deaths extract to "
            f"{window.end:%Y-%m-%d} in {config.inbox / 'deaths'} and run again, or run "
            f"--month {last:%Y-%m}; nothing was published")


def publication(month: str, months: int) -> list[Period]:
    """The periods `run --month` publishes: the `months` months ending with the month.
    Not the financial year to date as well: the year to date of one month less that of
    the month before is that month alone, in every cell, a table of small counts no
    suppression of either publication can protect (an audit recovered 291 counts of
    1-7 from two consecutive runs of a 3,000-death ICB; protecting them hid every
    headline figure of both periods)."""
    from eolneeds import periods

    return [periods.rolling(month, months, option="--month")]


def previous_publication(month: str, months: int) -> list[Period]:
    """The periods `run --month` published for the month before `month`."""
    from eolneeds import periods

    year, mon = periods.parse_month(month, option="--month")
    before = f"{year - (mon == 1):04d}-{12 if mon == 1 else mon - 1:02d}"
    try:
        return publication(before, months)
    except UsageError:  # a month before year 1: there was no earlier publication
        return []


def _assess(config: ProjectConfig, month: str, out: Path, *, reporter: Reporter
            ) -> ledger.Publication | None:
    """Assess the month into `out`; returns what it gives, for the ledger (kept by the
    caller once the folder is published)."""
    from eolneeds.assess import AssessOptions, assess_project

    options = AssessOptions(
        periods=publication(month, config.periods.months),
        out=out,
        # Last month's run published its own window: the two differ by the month in and
        # the month out, counts that disclosure control protects here too.
        earlier=previous_publication(month, config.periods.months),
        keep=False,
    )
    return assess_project(config, options, reporter=reporter).publication


# ---------------------------------------------------------------------------------------
# Inbox: which files, which mapping


def mapping_for_file(config: ProjectConfig, dataset: str, file: str | Path) -> str | None:
    """The mapping a file in inbox/<dataset>/ is read with: the same choice as `ingest`
    without --mapping (inspect.mapping_for_file)."""
    from eolneeds.inspect import mapping_for_file as choose

    return choose(config, dataset, file)


# What Windows Explorer (and a Mac's Finder, on a shared drive) writes into the folders
# it shows: folder settings and thumbnail caches, recreated whenever they are deleted.
_HOUSEKEEPING = {"desktop.ini", "thumbs.db", "ehthumbs.db", "ehthumbs_vista.db", "icon\r"}


def _is_housekeeping(path: Path) -> bool:
    return path.name.lower() in _HOUSEKEEPING


def _is_input_file(path: Path) -> bool:
    # Hidden files, Excel's "~$book.xlsx" owner files, partial downloads and the
    # operating system's folder files are not data.
    name = path.name
    return (
        path.is_file()
        and not name.startswith((".", "~$"))
        and not name.endswith((".part", ".crdownload", ".tmp"))
        and not _is_housekeeping(path)
    )


def inbox_files(config: ProjectConfig, *, reporter: Reporter) -> list[tuple[str, Path]]:
    """(dataset, file) for every input waiting in inbox/<dataset>/, in a fixed order."""
    inbox = config.inbox
    if not inbox.is_dir():
        if os.path.lexists(inbox):
            # A link in a loop, one to a share not mounted, a file: no extract can be
            # read, and a run went on to publish last month's data again (then stopped,
            # exit 1, on the loop). Said before anything is read or published.
            what = "a link that leads to no folder" if inbox.is_symlink() else \
                "a file, not a folder"
            raise UsageError(f"{inbox} is {what}, so no extract can be read "
                             "from it — make it a folder (or mount the folder it links to), "
                             "then run again; nothing was read or published")
        return []
    found: list[tuple[str, Path]] = []
    for dataset in INGEST_ORDER:
        folder = inbox / dataset
        if folder.is_symlink():
            # A link in the inbox is never followed (see below), a dataset folder either.
            reporter.message(f"{folder} is a link, not a folder, and was left alone — "
                             "make it a folder and copy the extracts into it",
                             level="warning")
            continue
        if folder.is_dir():
            for p in sorted(folder.iterdir(), key=lambda p: p.name):
                if p.is_symlink():
                    # Whoever can write to the inbox could make a link to any file the
                    # scheduled job can read (/etc/passwd, another project's extract):
                    # it would be read (its first line printed as headers), loaded and
                    # archived. An extract is copied into the inbox, never linked.
                    if not p.name.startswith("."):
                        reporter.message(f"{p} is a link, not a file, and was left alone "
                                         "(a link in the inbox is never followed) — copy "
                                         "the extract itself into the folder",
                                         level="warning")
                elif _is_input_file(p):
                    found.append((dataset, p))
                elif not p.name.startswith(".") and not p.is_file():
                    # Neither read nor archived: say so, or it waits there unseen.
                    if p.is_dir():
                        what = "a folder"
                    elif not p.exists():
                        continue  # gone since the folder was listed
                    else:  # a named pipe (reading it would wait for ever), socket, device
                        what = "a pipe, socket or device"
                    reporter.message(f"{p} is {what}, not an extract, and was left alone",
                                     level="warning")
    for entry in sorted(inbox.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.name.upper().startswith("README") \
                or _is_housekeeping(entry):
            continue  # hidden files, folder files and the inbox's own README are not inputs
        if entry.is_file() or (entry.is_dir() and entry.name not in INGEST_ORDER):
            reporter.message(
                f"{entry} is not in a dataset folder and was left alone — move it to "
                f"inbox/<dataset>/ ({', '.join(INGEST_ORDER)})",
                level="warning",
            )
    return found


def ingest_inbox(config: ProjectConfig, *, dataset: str | None = None,
                 reporter: Reporter) -> tuple[list[tuple[str, Path]], list[str], list[str]]:
    """Ingest every file waiting in inbox/<dataset>/ (only DATASET's folder when given),
    in INGEST_ORDER, each with the mapping chosen by its name (mapping_for_file), in this
    one process: `run`'s step 1 and `eolneeds ingest --inbox`. Nothing is archived.

    Returns (the files found, as (dataset, path); "dataset/name" of those loaded; of
    those skipped because their bytes were loaded before)."""
    pending = [(d, p) for d, p in inbox_files(config, reporter=reporter)
               if dataset is None or d == dataset]
    ingested: list[str] = []
    skipped: list[str] = []
    # One ingest_files call per mapping: it reads all its files with one mapping.
    groups: dict[tuple[str, str | None], list[Path]] = {}
    for found, path in pending:
        groups.setdefault((found, mapping_for_file(config, found, path)), []).append(path)
    from eolneeds.readers import file_state

    for (found, mapping), files in groups.items():
        states = {path: file_state(path) for path in files}
        results = _ingest(config, found, files, mapping=mapping, reporter=reporter)
        for path, res in zip(files, results, strict=False):
            (skipped if getattr(res, "skipped", False) else ingested).append(
                f"{found}/{path.name}"
            )
        # Ingest refuses a file that changes while it reads it; one that a copy went on
        # writing after the read (the copy paused) would be archived whole yet loaded in
        # part, and its next version loaded beside it. Load it again as it now is.
        for path in [p for p in files if file_state(p) != states[p]]:
            reporter.message(f"{path.name} changed after it was read (still being copied?): "
                             "loading it again as it is now", level="warning")
            before = file_state(path)
            _replace(config, found, path, mapping=mapping, reporter=reporter)
            if file_state(path) != before:
                raise InputDataError(
                    f"{path.name}: is still changing (being written or copied) — wait "
                    "until it is complete, then run again")
    return pending, ingested, skipped


# ---------------------------------------------------------------------------------------
# Publishing outputs atomically


def _rename_exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2 RENAME_EXCHANGE).

    False where unsupported; the caller then uses two renames, which leave a moment
    when the month folder is absent (the next run repairs that, see _tidy_outputs)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return result == 0


def publish_folder(built: Path, final: Path) -> None:
    """Put the complete folder `built` at `final`, replacing any earlier one whole."""
    if not final.exists():
        os.replace(built, final)
        return
    if _rename_exchange(built, final):
        shutil.rmtree(built)  # `built` now holds the previous run's outputs
        return
    aside = final.with_name(f".old-{final.name}-{secrets.token_hex(4)}")
    os.replace(final, aside)
    os.replace(built, final)
    shutil.rmtree(aside, ignore_errors=True)


def point_latest(output_root: Path) -> str | None:
    """Write output/LATEST (and the symlink output/latest) naming the newest month."""
    months = sorted(
        d.name for d in output_root.iterdir()
        if _MONTH.match(d.name) and d.is_dir() and not d.is_symlink()
    ) if output_root.is_dir() else []
    if not months:
        return None
    newest = months[-1]
    atomic_write_text(output_root / LATEST_FILE, newest + "\n")
    link = output_root / LATEST_LINK
    # On a case-insensitive file system `latest` *is* LATEST; and a real folder the
    # user made there is not ours to replace. Only (re)create our own symlink.
    if os.path.lexists(link) and not link.is_symlink():
        return newest
    tmp = output_root / f".{LATEST_LINK}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        os.symlink(newest, tmp, target_is_directory=True)
        os.replace(tmp, link)
    except OSError:
        # Windows without the symlink privilege: LATEST is the portable pointer.
        try:
            tmp.unlink()
        except OSError:
            pass
    return newest


def _tidy_outputs(output_root: Path, *, reporter: Reporter) -> None:
    """Repair what a killed run left behind. Runs under the lock, so nobody else is
    writing here: every hidden temp name belongs to a dead run."""
    if not output_root.is_dir():
        return
    for entry in sorted(output_root.iterdir(), key=lambda p: p.name):
        name = entry.name
        if name.startswith(".old-"):
            month = name[len(".old-"):][:7]
            # Killed between the two renames of publish_folder: the aside copy is
            # the last complete output of that month; put it back.
            if _MONTH.match(month) and not (output_root / month).exists():
                os.replace(entry, output_root / month)
                reporter.event("output_restored", path=output_root / month)
            else:
                shutil.rmtree(entry, ignore_errors=True)
        elif name.startswith(".tmp-") and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            reporter.event("stale_temp_removed", path=entry)
        elif ".tmp-" in name and name.startswith("."):
            entry.unlink(missing_ok=True)
    point_latest(output_root)


# ---------------------------------------------------------------------------------------
# Archiving inputs


# The longest file name most file systems hold, in bytes (ext4, NTFS and APFS: 255).
MAX_NAME_BYTES = 255


def _free_name(folder: Path, name: str) -> Path:
    """'name (2).csv', 'name (3).csv', ...: the first not taken in `folder`, its stem
    shortened to keep it within MAX_NAME_BYTES (a 252-byte extract name archived twice
    was 'File name too long', exit 1, after the month was published: every later run
    failed the same way, its inputs never archived)."""
    stem, dot, suffix = name.partition(".")
    if len(suffix.encode("utf-8")) > 64:  # dots far into the name: its last suffix only
        stem, dot, suffix = name.rpartition(".") if "." in name[-65:] else (name, "", "")
    n = 2
    while True:
        tail = f" ({n}){dot}{suffix}"
        room = MAX_NAME_BYTES - len(tail.encode("utf-8"))
        short = stem.encode("utf-8")[:max(room, 1)].decode("utf-8", "ignore")
        candidate = folder / f"{short}{tail}"
        if not candidate.exists():
            return candidate
        n += 1


def archive_inputs(root: Path, month: str, files: list[tuple[str, Path]], *,
                   reporter: Reporter | None = None) -> list[Path]:
    """Move processed inputs to archive/MONTH/<dataset>/. A file already archived with
    the same content (a re-run after a kill) is simply removed from the inbox; a
    different file with the same name is kept beside it as 'name (2).csv'."""
    archived: list[Path] = []
    for dataset, path in files:
        if archived and reporter is not None:
            _hold_for_tests(reporter, HOLD_ARCHIVE_ENV)
        if not path.exists():
            continue
        folder = root / ARCHIVE_DIR / month / dataset
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / path.name
        if target.exists():
            if sha256_file(target) == sha256_file(path):
                path.unlink()
                archived.append(target)
                continue
            target = _free_name(folder, path.name)
        try:
            os.replace(path, target)
        except OSError:
            # Another volume (a mounted inbox): copy under a hidden name, rename, then
            # remove the original. A kill mid-copy leaves no partial file under the
            # extract's name (the next run would keep it, and the whole one as
            # 'name (2)'): only the hidden copy, which the next run writes over.
            # (Named by a digest of the name: '.NAME.archiving' of a 250-byte name
            # was too long a name.)
            digest = hashlib.sha256(path.name.encode("utf-8")).hexdigest()[:16]
            partial = folder / f".{digest}.archiving"
            shutil.copy2(path, partial)
            os.replace(partial, target)
            path.unlink()
        archived.append(target)
    return archived


# ---------------------------------------------------------------------------------------
# The run


def check_month(month: str) -> str:
    month = month.strip()
    if not _MONTH.match(month):
        raise UsageError(f"--month {month!r} is not a month — use YYYY-MM, e.g. 2025-10")
    from eolneeds.periods import parse_month

    parse_month(month, option="--month")  # the periods' own bounds, before any work
    return month


def check_layout(root: Path, month: str) -> None:
    """Refuse, before any work, a project whose run folders are in the way: a file where
    the run makes a folder (output/, output/MONTH, logs/, archive/MONTH/<dataset>), or a
    folder where it writes a file (output/LATEST, the month's log). Each failed half-way,
    exit 1: after publishing (LATEST), the inputs were never archived, every month."""
    folders = [root / OUTPUT_DIR, root / OUTPUT_DIR / month, root / LOGS_DIR,
               root / ARCHIVE_DIR, root / ARCHIVE_DIR / month,
               *(root / ARCHIVE_DIR / month / dataset for dataset in INGEST_ORDER)]
    files = [root / OUTPUT_DIR / LATEST_FILE, root / LOGS_DIR / f"eolneeds-{month}.log"]
    for folder in folders:
        if os.path.lexists(folder) and not folder.is_dir():
            raise UsageError(f"{folder} is a file (or a broken link), where the run keeps a "
                             "folder — move it aside, then run again; nothing was changed")
    for file in files:
        if file.is_dir():
            raise UsageError(f"{file} is a folder, where the run writes a file — move it "
                             "aside, then run again; nothing was changed")


def _hold_for_tests(reporter: Reporter, variable: str = HOLD_LOCK_ENV) -> None:
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return
    try:
        seconds = float(raw)
    except ValueError:
        return
    if seconds > 0:
        reporter.event("test_hold_lock" if variable == HOLD_LOCK_ENV else "test_hold_archive",
                       seconds=seconds)
        time.sleep(seconds)


def _open_log(log_file: Path) -> TextIO:
    """The month's log, opened to append. A project the job cannot write (a read-only
    share or mount, logs/ owned by another account) was exit 1, 'a bug in eolneeds', on
    the first folder the run made: it is the lock's case (exit 2, lock.ReadOnlyProjectError),
    met first. A full disk is named as everywhere (db.explain)."""
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        return log_file.open("a", encoding="utf-8", newline="\n")
    except OSError as exc:
        if disk_full(exc):
            raise
        raise ReadOnlyProjectError(
            f"{log_file.parent} cannot be written ({exc.strerror or exc}), so the run "
            "cannot keep its log — run eolneeds as a user who can write to the project "
            "folder, or copy the project somewhere writable") from None


def run_month(
    config: ProjectConfig, month: str, *, wait: float = 0.0, reporter: Reporter
) -> RunResult:
    """The scheduled job for one month. Raises ProjectLockedError (exit 4) if another
    run holds the project, InputDataError (exit 3) on input faults."""
    month = check_month(month)
    # nan would make the lock's deadline never pass: the job would wait for ever.
    if not 0 <= wait < math.inf:
        raise UsageError(f"--wait {wait:g}: give the seconds to wait for another run's lock, "
                         "0 or more, e.g. --wait 600")
    started = time.monotonic()
    root = config.root
    check_layout(root, month)
    log_file = root / LOGS_DIR / f"eolneeds-{month}.log"
    with _open_log(log_file) as sink:
        log = _LoggingReporter(reporter, sink)
        log.event("run_started", month=month, project=root, pid=os.getpid(), wait=wait)
        status = "failed"
        error: str | None = None
        result: RunResult | None = None
        try:
            with project_lock(root, command=f"eolneeds run --month {month}", wait=wait):
                log.event("lock_acquired", pid=os.getpid())
                _hold_for_tests(log)
                result = _run_locked(config, month, log_file, reporter=log)
            status = "ok"
        except EolneedsError as exc:
            status = {3: "input_error", 4: "locked"}.get(int(exc.exit_code), "failed")
            error = str(exc)
            raise
        except BaseException as exc:
            # A full disk or a damaged database is logged as the user is told it (the
            # scheduler's reader sees the log, not the terminal), a bug as itself.
            known = explain(exc) if isinstance(exc, Exception) else None
            error = str(known) if known is not None else f"{type(exc).__name__}: {exc}"
            raise
        finally:
            duration = round(time.monotonic() - started, 3)
            fields: dict[str, Any] = {"month": month, "status": status, "duration_s": duration}
            if result is not None:
                result.duration_s = duration
                fields.update(
                    new_data=result.new_data,
                    files_ingested=len(result.files_ingested),
                    files_archived=len(result.files_archived),
                    output=result.output_dir,
                )
            if error is not None:
                fields["error"] = error
            log.event("run_finished", **fields)
    assert result is not None  # status ok
    return result


def _run_locked(
    config: ProjectConfig, month: str, log_file: Path, *, reporter: Reporter
) -> RunResult:
    root = config.root
    output_root = root / OUTPUT_DIR
    _tidy_outputs(output_root, reporter=reporter)

    # 1. Ingest the inbox (files already loaded are skipped by their content hash).
    pending, ingested, skipped = ingest_inbox(config, reporter=reporter)
    new_data = bool(ingested)
    if not new_data:
        reporter.event("no_new_data", month=month, files_already_loaded=len(skipped))
        reporter.message(
            f"No new data in {config.inbox}: the {month} reports are rebuilt from the data "
            "already loaded."
        )

    # 2. Validate before anything visible changes.
    blocking = _validate(config, reporter=reporter)
    if blocking:
        raise InputDataError(
            f"validation found {len(blocking)} blocking {plural(len(blocking), 'fault')}: "
            f"{'; '.join(blocking)} — "
            f"see `eolneeds validate --project {shell_arg(root)}`, fix the data (a "
            "corrected file of the same name goes in with `eolneeds ingest DATASET FILE "
            "--replace`) and run "
            f"again; the outputs in {output_root} were left untouched"
        )

    _check_month_has_deaths(config, month)

    if config.disclosure.enabled:
        # Months published before the ledger held anything (a database rebuilt, or
        # older than the ledger) are read back from their folders: readers hold them.
        from eolneeds import ledger

        unread = ledger.recover(config.database_path, output_root,
                                rounded=bool(config.disclosure.rounding))
        if unread:
            reporter.message(
                f"the publication ledger has no record of the {len(unread)} "
                f"{plural(len(unread), 'month')} published in {output_root} "
                f"({', '.join(unread)}), and their counts cannot be read back (no "
                "indicators.csv or .parquet among them, or rounded counts): this month is "
                "protected against last month's window only, not against what they showed",
                level="warning")

    # 3. Assess into a hidden folder, then publish it whole.
    output_root.mkdir(parents=True, exist_ok=True)
    built = output_root / f".tmp-{month}-{os.getpid()}-{secrets.token_hex(4)}"
    built.mkdir()
    try:
        publication = _assess(config, month, built, reporter=reporter)
        outputs = sorted(
            p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file()
        )
        record = {
            "month": month,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "new_data": new_data,
            # Published beside the outputs: a name is shown as in every message (shown_name).
            "files_ingested": [shown_name(name) for name in ingested],
            "files_already_loaded": [shown_name(name) for name in skipped],
            # The complete list, so anyone can check that a month folder is whole.
            "outputs": {name: sha256_file(built / name) for name in outputs},
        }
        atomic_write_text(built / RUN_RECORD, json.dumps(record, indent=2) + "\n")
        final = output_root / month
        try:
            publish_folder(built, final)
        except PermissionError as exc:
            # Windows will not rename a folder while a file in it is open.
            raise EolneedsError(
                f"cannot replace {final}: {exc.strerror} — close any report or pack from "
                "that folder (Excel, a browser) and run again; nothing was changed"
            ) from None
    except BaseException:
        shutil.rmtree(built, ignore_errors=True)
        raise
    # Published: readers hold it from now (a run that failed before published nothing).
    if publication is not None:
        import duckdb

        from eolneeds import ledger

        try:
            ledger.keep(config.database_path, publication, datetime.now(UTC))
        except (duckdb.Error, OSError, EolneedsError) as exc:
            # The month is out: failing the run now would not take it back. The next
            # run reads it back from its folder (ledger.recover).
            reporter.message(
                f"the {month} outputs are published, but the publication ledger could not "
                f"keep them ({type(exc).__name__}); the next run reads them back from "
                f"{final}", level="warning")
    point_latest(output_root)
    reporter.event("output_written", path=final, files=len(outputs) + 1)

    # 4. Archive the inputs only now that the outputs that used them are in place.
    archived = archive_inputs(root, month, pending, reporter=reporter)
    if archived:
        reporter.event("inputs_archived", folder=root / ARCHIVE_DIR / month, files=len(archived))

    return RunResult(
        month=month,
        output_dir=final,
        log_file=log_file,
        new_data=new_data,
        files_ingested=ingested,
        files_skipped=skipped,
        files_archived=archived,
        outputs=outputs + [RUN_RECORD],
    )

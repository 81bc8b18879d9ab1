"""Opening the project database with bounded memory.

DuckDB defaults to 80% of RAM; an England-scale run on a shared 24 GB machine must stay
well under that, so every connection caps memory and spills to a temp folder beside the
database instead. EOLNEEDS_MEMORY_LIMIT (e.g. "2GB") overrides the cap.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
from pathlib import Path

import duckdb

DEFAULT_MEMORY_LIMIT = "3GB"
# Beside the database: DuckDB's spill files and ingest's transcoded (UTF-8) copies of
# cp1252 / UTF-16 extracts. Only a command holding the project lock writes here.
TEMP_FOLDER = ".eolneeds-tmp"
# The names written there: readers._transcode's copies, DuckDB's spill files.
OWN_TEMP_PREFIXES = ("eolneeds-", "duckdb_temp")


def sweep_temp_folder(root: Path) -> None:
    """Empty the project's temporary folder. Called when a command takes the project
    lock, so no other eolneeds process can be using it: what is there was left by a
    command that was killed (a transcoded copy is a full copy of an extract)."""
    folder = Path(root) / TEMP_FOLDER
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        # Only what eolneeds and DuckDB write there: the folder may be a link to a scratch
        # disk others use too (`ln -s /scratch .eolneeds-tmp`), whose files, and all of /
        # for a link to it, were deleted by every command.
        if not entry.name.startswith(OWN_TEMP_PREFIXES):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        except OSError:
            pass  # in use (Windows) or not ours to remove: never fail a command on it


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path = Path(path)
    check_database_file(path)
    try:
        # Nothing downloads at run time: a file that is another database (SQLite)
        # would otherwise make DuckDB fetch an extension to read it.
        con = duckdb.connect(str(path), read_only=read_only, config={
            "autoinstall_known_extensions": False, "autoload_known_extensions": False})
    except duckdb.Error as exc:
        raise _open_error(path, exc) from None
    limit = os.environ.get("EOLNEEDS_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)
    con.execute(f"SET memory_limit = '{_checked_limit(limit)}'")
    spill = path.parent / TEMP_FOLDER
    # SET does not take prepared parameters, so the path is quoted by hand.
    con.execute(f"SET temp_directory = '{_sql_string(str(spill))}'")
    # DuckDB draws its own progress bar on long statements; ours (or none) is enough.
    con.execute("SET enable_progress_bar = false")
    return con


def check_database_file(path: Path) -> None:
    """Refuse what is not a database file before DuckDB opens it: a named pipe there made
    every command wait for ever, and a folder, a device or a link leading nowhere was
    DuckDB's IO error, exit 1. (A link to a file not yet made is fine: DuckDB makes it.)"""
    from eolneeds.errors import InputDataError, UsageError

    if not os.path.lexists(path):
        return
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if Path(os.path.realpath(path)).parent.is_dir():
            return
        raise UsageError(f"{path}: is a link to {os.readlink(path)}, in a folder that does "
                         "not exist — mount or create that folder, or remove the link (the "
                         "database is then made in the project)") from None
    except OSError as exc:  # a loop of links
        raise UsageError(f"{path}: cannot be opened ({exc.strerror}) — remove the link, "
                         "or point it at the database file") from None
    if stat.S_ISREG(mode):
        return
    kind = "a folder" if stat.S_ISDIR(mode) else "a pipe, socket or device"
    raise InputDataError(f"{path}: is {kind}, not a database file — move it aside; the next "
                         "ingest makes a new database (then ingest the extracts again)")


# Below this DuckDB cannot hold one block of a query: every command ran out of memory,
# an internal error, whatever the data.
MIN_MEMORY_MB = 100


def _checked_limit(limit: str) -> str:
    cleaned = limit.strip().upper().replace(" ", "")
    # ASCII digits, one decimal point at most ('1.5.5GB' was DuckDB's parser error).
    size = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(MB|GB)", cleaned)
    from eolneeds.errors import UsageError

    if not size:
        raise UsageError(
            f"EOLNEEDS_MEMORY_LIMIT={limit!r} is not a size — use a value like 2GB or 1500MB"
        )
    megabytes = float(size.group(1)) * (1024 if size.group(2) == "GB" else 1)
    if megabytes < MIN_MEMORY_MB:
        raise UsageError(
            f"EOLNEEDS_MEMORY_LIMIT={limit!r} is less than the {MIN_MEMORY_MB}MB eolneeds "
            "needs to run at all — use a value like 2GB or 1500MB, or unset it (3GB)")
    return cleaned


def _sql_string(text: str) -> str:
    return text.replace("'", "''")


def _open_error(path: Path, exc: duckdb.Error) -> Exception:
    """The user's error for a database that will not open (exit 2, 3 or 4), or `exc`
    itself when it is not one we can explain."""
    from eolneeds.errors import ProjectLockedError, UsageError

    lowered = str(exc).lower()
    if "lock" in lowered and "conflicting" in lowered or "could not set lock" in lowered:
        return ProjectLockedError(f"{path} is {_lock_holder(str(exc))}")
    if "permission denied" in lowered or "read-only file system" in lowered:
        return UsageError(
            f"{path}: cannot be opened for writing (permission denied) — run eolneeds as a "
            "user who can write to the project folder, or copy the project somewhere "
            "writable")
    if _damaged(exc):
        return damaged_database(path)
    return exc


def _lock_holder(error: str) -> str:
    """Who holds DuckDB's lock on the database, as DuckDB names it ("Conflicting lock is
    held in /usr/bin/python3 (PID 4242)"), and what to do. An analyst's session (DBeaver,
    the duckdb shell, a notebook, even opened read-only) holds it as firmly as another
    eolneeds command, and "wait for it to finish" sent the user after a run that was
    not there while the monthly job failed every month."""
    found = re.search(r"lock is held in (.+?) \(PID (\d+)\)", error)
    who = f" ({Path(found.group(1)).name}, pid {found.group(2)})" if found else ""
    return (f"open in another program{who}: another eolneeds command, or a DuckDB session "
            "(a notebook, DBeaver, the duckdb shell) that has it open, even read-only — "
            "close the database there, or let the command finish, and try again")


def _damaged(exc: BaseException) -> bool:
    lowered = str(exc).lower()
    return isinstance(exc, duckdb.Error) and (
        "not a valid duckdb database" in lowered or "corrupt database" in lowered
        or "checksum" in lowered and "block" in lowered
        or "could not read enough bytes" in lowered
        # another kind of database file (SQLite): DuckDB wants an extension for it
        or "extension" in lowered and ("not found" in lowered or "download" in lowered)
        or isinstance(exc, duckdb.SerializationException))


def damaged_database(path: Path | str | None) -> Exception:
    from eolneeds.errors import InputDataError

    where = f"{path}: is not" if path else "the project database is not"
    return InputDataError(
        f"{where} a readable DuckDB database (it is empty or damaged) — restore it from a "
        "backup, or move it aside and ingest the extracts again")


def explain(exc: BaseException) -> Exception | None:
    """A user's error for an error met mid-command that is not a bug in eolneeds (a
    database damaged after it opened, a full disk), else None."""
    if disk_full(exc):
        return full_disk_error(exc)
    if isinstance(exc, duckdb.OutOfMemoryException):
        from eolneeds.errors import UsageError

        limit = os.environ.get("EOLNEEDS_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)
        return UsageError(
            f"the database ran out of the memory it may use ({limit}, from "
            "EOLNEEDS_MEMORY_LIMIT or the 3GB default) — set EOLNEEDS_MEMORY_LIMIT higher "
            "(e.g. 6GB) if the machine has it free, or close other programs, then run the "
            "command again; the database keeps what the last finished command wrote")
    return damaged_database(None) if _damaged(exc) else None


def disk_full(exc: BaseException) -> bool:
    """The disk (or the user's quota) ran out while DuckDB or eolneeds wrote to it."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return True
    lowered = str(exc).lower()
    return isinstance(exc, duckdb.Error) and (
        "no space left on device" in lowered or "disk quota exceeded" in lowered
        or "not enough space on the disk" in lowered)  # Windows' wording


def naming_the_file(exc: BaseException, path: Path | str) -> BaseException:
    """A full disk met writing `path`, with `path` named when the error names no file: a
    writer's own buffers (zipfile's, openpyxl's, a file object's) fail with none, and
    "the disk is full" alone did not say which disk, when the outputs or the temporary
    folder are often on another one than the project. Anything else is returned as it
    is."""
    if isinstance(exc, OSError) and not exc.filename and disk_full(exc):
        named = OSError(exc.errno, exc.strerror, str(path))
        named.__cause__ = exc
        return named
    return exc


def full_disk_error(exc: BaseException) -> Exception:
    """Exit 2, as for a folder that cannot be written: the machine, not the data or
    eolneeds, is at fault. A failed write rolls its transaction back, so the database
    is as the last finished command left it."""
    from eolneeds.errors import UsageError

    found = re.search(r'"([^"]+)"', str(exc))
    where = getattr(exc, "filename", None) or (found.group(1) if found else None)
    writing = f" while writing {where}" if where else ""
    return UsageError(
        f"the disk is full{writing} — free some space on it (or move the project to a "
        "disk with room), then run the command again; the database keeps what the last "
        "finished command wrote")

"""The project lock: one `eolneeds run` at a time per project folder.

The lock is a small JSON file, DIR/.eolneeds.lock, created atomically with
O_CREAT|O_EXCL so that exactly one process can make it. It names its holder (pid,
host, start time, command) so that a second run can say who is in the way.

A lock left behind by a killed process is *stale*: its pid is no longer running on
this host. Breaking a stale lock is itself a race (two waiters may both see it), so a
waiter first takes a short-lived "breaker" file (again O_EXCL), re-reads the lock
under it, removes it only if it is still the very same stale lock (same nonce), and
then competes for the lock with O_EXCL like everyone else. At no moment can two
processes both believe they hold the lock.

A lock held on another host (a shared network folder) cannot be checked and is
treated as live: the message says which file to delete if that run is known to be
gone.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from eolneeds.db import sweep_temp_folder
from eolneeds.errors import ProjectLockedError, UsageError

LOCK_FILE = ".eolneeds.lock"
# A lock file that cannot be parsed was created by a process killed between creating
# and writing it (microseconds); after this long nobody is still writing it.
UNREADABLE_LOCK_GRACE_S = 2.0
# The breaker is held for a few file operations only; one older than this is stale.
BREAKER_STALE_S = 10.0
POLL_INTERVAL_S = 0.2
MAX_LOCK_BYTES = 64 * 1024


@dataclass(frozen=True)
class LockHolder:
    pid: int
    hostname: str
    started_at: str
    command: str
    nonce: str = ""

    def describe(self) -> str:
        return (
            f"pid {self.pid} on {self.hostname}, started {self.started_at}, "
            f"command: {self.command}"
        )


def lock_path(root: Path) -> Path:
    return Path(root) / LOCK_FILE


def read_holder(path: Path) -> LockHolder | None:
    """The holder recorded in a lock file, or None if absent or unreadable."""
    try:
        with Path(path).open("rb") as fh:  # a lock is ~200 bytes: never read a huge one
            raw = json.loads(fh.read(MAX_LOCK_BYTES).decode("utf-8"))
        return LockHolder(
            pid=int(raw["pid"]),
            hostname=str(raw["hostname"]),
            started_at=str(raw["started_at"]),
            command=str(raw.get("command", "")),
            nonce=str(raw.get("nonce", "")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def pid_alive(pid: int) -> bool:
    """Is a process with this pid running on this machine? Errs on the side of 'yes'."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows CI only
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)  # signal 0: existence check, nothing is sent
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    except OSError:
        return True
    return True


def _windows_pid_alive(pid: int) -> bool:  # pragma: no cover - Windows only
    import ctypes
    from ctypes import wintypes

    process_query_limited_information = 0x1000
    still_active = 259
    error_access_denied = 5
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32.OpenProcess.restype = wintypes.HANDLE
    handle = kernel32.OpenProcess(process_query_limited_information, False, pid)
    if not handle:
        # Access denied means the process exists but belongs to another user.
        return ctypes.get_last_error() == error_access_denied  # type: ignore[attr-defined]
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == still_active
    finally:
        kernel32.CloseHandle(handle)


def _is_stale(holder: LockHolder) -> bool:
    if holder.hostname != socket.gethostname():
        return False  # cannot check another machine's processes: assume it is alive
    if holder.pid == os.getpid():
        return False  # our own lock (e.g. a nested acquire): never "stale"
    return not pid_alive(holder.pid)


def _create_exclusive(path: Path, content: str) -> bool:
    """Create `path` holding `content` if it does not exist. False if it does."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    try:
        os.write(fd, content.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def _age_s(path: Path) -> float | None:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None


class ReadOnlyProjectError(UsageError):
    """The project folder cannot be written, so the lock cannot be taken."""


class ProjectLock:
    """`with ProjectLock(root, command="eolneeds run ...").acquire(wait=30): ...`"""

    def __init__(self, root: Path, *, command: str) -> None:
        self.root = Path(root)
        self.path = lock_path(self.root)
        self.holder = LockHolder(
            pid=os.getpid(),
            hostname=socket.gethostname(),
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            command=command,
            nonce=secrets.token_hex(8),
        )
        self.held = False

    # -- acquiring -------------------------------------------------------------------
    def acquire(self, *, wait: float = 0.0, poll: float = POLL_INTERVAL_S) -> ProjectLock:
        """Take the lock, waiting up to `wait` seconds; ProjectLockedError if not."""
        if self.held:
            return self
        content = json.dumps(asdict(self.holder), indent=1) + "\n"
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
                created = _create_exclusive(self.path, content)
            except OSError as exc:  # read-only folder or file system
                raise ReadOnlyProjectError(
                    f"project folder {self.root} cannot be written ({exc.strerror or exc}), "
                    f"so its lock {self.path.name} cannot be taken — run eolneeds as a user "
                    "who can write to the folder, or copy the project somewhere writable"
                ) from None
            if created:
                self.held = True
                # No other eolneeds process uses the project now: clear what a killed one
                # left in its temporary folder (a transcoded extract is a full copy).
                sweep_temp_folder(self.root)
                return self
            self._check_regular()
            holder = read_holder(self.path)
            if holder is None:
                age = _age_s(self.path)
                if age is None:
                    continue  # released between our two looks: try again at once
                if age > UNREADABLE_LOCK_GRACE_S and self._break(None):
                    continue
            elif _is_stale(holder) and self._break(holder):
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProjectLockedError(self._locked_message(holder, wait))
            time.sleep(min(poll, remaining))

    def _check_regular(self) -> None:
        """Refuse a lock that eolneeds never writes: a link (one leading nowhere made
        every command spin for ever), a named pipe (reading it waited for ever), a
        device, a folder. Neither live nor stale, it is never taken over: say so."""
        try:
            mode = os.lstat(self.path).st_mode
        except FileNotFoundError:
            return  # released between our two looks: the loop tries again
        if stat.S_ISREG(mode):
            return
        kind = ("a link" if stat.S_ISLNK(mode) else "a folder" if stat.S_ISDIR(mode)
                else "a pipe, socket or device")
        raise UsageError(f"{self.path} is {kind}, not a lock file eolneeds writes — delete it "
                         "(no eolneeds run is using it), then run the command again")

    def _break(self, expected: LockHolder | None) -> bool:
        """Remove the lock file if it is still `expected` (None: still unreadable).

        Done under the breaker file so that a waiter cannot delete a fresh lock that
        another waiter created after both saw the same stale one."""
        breaker = self.path.with_name(self.path.name + ".breaker")
        if not _create_exclusive(breaker, str(os.getpid())):
            age = _age_s(breaker)
            if age is not None and age > BREAKER_STALE_S:
                try:
                    breaker.unlink()
                except FileNotFoundError:
                    pass
            return False
        try:
            current = read_holder(self.path)
            if expected is None:
                age = _age_s(self.path)
                same = current is None and age is not None and age > UNREADABLE_LOCK_GRACE_S
            else:
                same = current is not None and current.nonce == expected.nonce and (
                    current.pid == expected.pid
                )
            if not same:
                return False
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            return True
        finally:
            try:
                breaker.unlink()
            except FileNotFoundError:
                pass

    def _locked_message(self, holder: LockHolder | None, wait: float) -> str:
        who = holder.describe() if holder else "a process that is starting up"
        waited = f" after waiting {wait:g} s" if wait > 0 else ""
        return (
            f"project {self.root} is locked by another eolneeds run ({who}){waited} — "
            "let it finish, or pass --wait SECONDS; if that process is known to be gone, "
            f"delete {self.path}"
        )

    # -- releasing -------------------------------------------------------------------
    def release(self) -> None:
        """Remove the lock file, but only if it is still ours."""
        if not self.held:
            return
        self.held = False
        current = read_holder(self.path)
        if current is not None and current.nonce == self.holder.nonce:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass

    def __enter__(self) -> ProjectLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextmanager
def project_lock(root: Path, *, command: str, wait: float = 0.0) -> Iterator[ProjectLock]:
    """Hold the project lock for the body; released however the body ends."""
    lock = ProjectLock(root, command=command)
    lock.acquire(wait=wait)
    try:
        yield lock
    finally:
        lock.release()

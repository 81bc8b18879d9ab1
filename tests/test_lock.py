"""The project lock: exclusive, names its holder, waits, and takes over stale locks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from eolneeds.errors import ExitCode, ProjectLockedError
from eolneeds.lock import (
    LOCK_FILE,
    UNREADABLE_LOCK_GRACE_S,
    ProjectLock,
    pid_alive,
    project_lock,
    read_holder,
)


def _dead_pid() -> int:
    """The pid of a process that has run and exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _write_lock(root: Path, pid: int, *, host: str | None = None, nonce: str = "old") -> Path:
    path = root / LOCK_FILE
    path.write_text(
        json.dumps(
            {
                "pid": pid,
                "hostname": host or socket.gethostname(),
                "started_at": "2025-11-01T02:00:00+00:00",
                "command": "eolneeds run --month 2025-10",
                "nonce": nonce,
            }
        ),
        encoding="utf-8",
    )
    return path


def test_acquire_writes_holder_and_release_removes_it(tmp_path: Path) -> None:
    with project_lock(tmp_path, command="eolneeds run --month 2025-10") as lock:
        holder = read_holder(tmp_path / LOCK_FILE)
        assert holder is not None
        assert holder.pid == os.getpid()
        assert holder.hostname == socket.gethostname()
        assert holder.command == "eolneeds run --month 2025-10"
        assert holder.started_at.endswith("+00:00")
        assert lock.held
    assert not (tmp_path / LOCK_FILE).exists()
    # Nothing else is left in the folder (no breaker or temp files).
    assert list(tmp_path.iterdir()) == []


def test_lock_released_when_body_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with project_lock(tmp_path, command="x"):
            raise RuntimeError("boom")
    assert not (tmp_path / LOCK_FILE).exists()


def test_second_acquire_fails_at_once_naming_the_holder(tmp_path: Path) -> None:
    with project_lock(tmp_path, command="eolneeds run --month 2025-10"):
        second = ProjectLock(tmp_path, command="eolneeds run --month 2025-10")
        started = time.monotonic()
        with pytest.raises(ProjectLockedError) as info:
            second.acquire(wait=0)
        assert time.monotonic() - started < 5  # no waiting with wait=0
    message = str(info.value)
    assert f"pid {os.getpid()}" in message
    assert "started 20" in message
    assert str(tmp_path / LOCK_FILE) in message
    assert "\n" not in message
    assert info.value.exit_code == ExitCode.LOCKED == 4


def test_wait_succeeds_when_the_holder_releases_in_time(tmp_path: Path) -> None:
    first = ProjectLock(tmp_path, command="first").acquire()
    timer = threading.Timer(0.5, first.release)
    timer.start()
    try:
        second = ProjectLock(tmp_path, command="second").acquire(wait=10, poll=0.05)
        assert read_holder(tmp_path / LOCK_FILE).nonce == second.holder.nonce  # type: ignore[union-attr]
        second.release()
    finally:
        timer.cancel()
        first.release()
    assert not (tmp_path / LOCK_FILE).exists()


def test_wait_fails_when_the_holder_keeps_it(tmp_path: Path) -> None:
    with project_lock(tmp_path, command="first"):
        started = time.monotonic()
        with pytest.raises(ProjectLockedError, match="after waiting 0.6 s"):
            ProjectLock(tmp_path, command="second").acquire(wait=0.6, poll=0.05)
        assert time.monotonic() - started >= 0.6
        # The holder's lock is intact.
        assert read_holder(tmp_path / LOCK_FILE).pid == os.getpid()  # type: ignore[union-attr]


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    assert not pid_alive(_dead_pid())
    assert not pid_alive(0)


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    _write_lock(tmp_path, _dead_pid())
    with project_lock(tmp_path, command="new") as lock:
        holder = read_holder(tmp_path / LOCK_FILE)
        assert holder is not None
        assert holder.pid == os.getpid()
        assert holder.nonce == lock.holder.nonce
    assert not (tmp_path / LOCK_FILE).exists()
    assert list(tmp_path.iterdir()) == []  # the breaker file is gone too


def test_lock_of_a_live_process_is_not_taken_over(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        _write_lock(tmp_path, sleeper.pid)
        with pytest.raises(ProjectLockedError, match=f"pid {sleeper.pid}"):
            ProjectLock(tmp_path, command="new").acquire(wait=0.3, poll=0.05)
        assert read_holder(tmp_path / LOCK_FILE).pid == sleeper.pid  # type: ignore[union-attr]
    finally:
        sleeper.kill()
        sleeper.wait()


def test_lock_from_another_host_is_treated_as_live(tmp_path: Path) -> None:
    # A dead pid, but on another machine sharing the folder: we cannot check it.
    _write_lock(tmp_path, _dead_pid(), host="some-other-host.invalid")
    with pytest.raises(ProjectLockedError, match="some-other-host.invalid"):
        ProjectLock(tmp_path, command="new").acquire(wait=0)


def test_unreadable_lock_is_taken_over_only_once_old(tmp_path: Path) -> None:
    # A process killed between creating the file and writing it leaves it empty.
    path = tmp_path / LOCK_FILE
    path.write_text("", encoding="utf-8")
    with pytest.raises(ProjectLockedError, match="starting up"):
        ProjectLock(tmp_path, command="new").acquire(wait=0)
    old = time.time() - UNREADABLE_LOCK_GRACE_S - 5
    os.utime(path, (old, old))
    with project_lock(tmp_path, command="new"):
        assert read_holder(path).pid == os.getpid()  # type: ignore[union-attr]


def test_release_does_not_delete_someone_elses_lock(tmp_path: Path) -> None:
    lock = ProjectLock(tmp_path, command="a").acquire()
    # Someone (wrongly) broke our lock and took it.
    _write_lock(tmp_path, os.getpid(), nonce="theirs")
    lock.release()
    assert read_holder(tmp_path / LOCK_FILE).nonce == "theirs"  # type: ignore[union-attr]


def test_racing_waiters_on_a_stale_lock_never_both_hold_it(tmp_path: Path) -> None:
    """Eight threads break the same stale lock at once; the lock must stay exclusive."""
    _write_lock(tmp_path, _dead_pid())
    holding = 0
    most = 0
    guard = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker() -> None:
        nonlocal holding, most
        try:
            start.wait()
            # Each thread has its own nonce; the pid is shared, so the lock checks nonces.
            lock = ProjectLock(tmp_path, command="t").acquire(wait=20, poll=0.01)
            with guard:
                holding += 1
                most = max(most, holding)
            time.sleep(0.02)
            with guard:
                holding -= 1
            lock.release()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert most == 1
    assert not (tmp_path / LOCK_FILE).exists()

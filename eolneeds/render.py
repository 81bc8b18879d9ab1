"""Writing the HTML report and the Excel packs of one bundle, on both cores.

The report and the packs are independent once the bundle exists, and rendering them is
Python work that holds the GIL, so threads cannot overlap it. On a machine with a core
to spare, one worker process (spawned, so the same on Windows, macOS and Linux) writes
Excel packs while this process writes the report and then packs too: each process
claims the next pack from a shared counter until none is left, so neither waits for the
other while there is work. The worker is only an accelerator: a pack it could not write
(it failed, or it died) is written here, which raises the error as a run without the
worker would. The files are the same whichever process writes them.

A worker costs about half a second to start (Python, polars, openpyxl; it imports only
what the packs need, not scipy). `assess` starts it before computing the indicator
table (PackWorker.start), so that cost is paid on the other core while DuckDB works;
the bundle is sent to it over a pipe when the table is done. write_outputs without a
started worker starts one itself when it pays (use_worker).
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.sharedctypes import Synchronized

    from eolneeds.bundle import ReportBundle
    from eolneeds.report_excel import _Shared

# Below this many indicator rows every pack together takes less than the worker's
# start-up (about 0.5 s of CPU on another core): write them here. Measured at ICB scale
# (25,000 rows: seven packs 2.1 s), the packs cost about 0.07 ms a row plus 0.1 s each.
WORKER_MIN_ROWS = 5_000
# Above this many the worker's own copy of the bundle and of the rows the packs share
# would cost gigabytes (about 12 KB a row at ICB scale, measured): an England-scale
# table (480,000 rows) is written in this process alone, in bounded memory.
WORKER_MAX_ROWS = 100_000
_CLOSED = 2**31 - 1  # the claim counter's value once nothing more may be claimed


@dataclass(frozen=True)
class Written:
    """One output: where, how long it took to write, and which process wrote it."""

    path: Path
    seconds: float
    worker: bool


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Rendering makes millions of short-lived objects (cells, styles, XML strings), and
    at the default thresholds the garbage collector's full passes over every object
    alive (the bundle, the packs' shared rows) cost an eighth of the packs' time
    (2.8 -> 2.45 CPU s at ICB scale, measured). Young objects are still collected, every
    20,000 allocations rather than 700, so the cycles each pack leaves are freed."""
    before = gc.get_threshold()
    gc.set_threshold(20_000, 50, 1_000)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use (Linux)
    except AttributeError:  # Windows, macOS
        return os.cpu_count() or 1


def use_worker(bundle: ReportBundle, packs: int) -> bool:
    """A worker pays off with two packs or more, a big enough bundle and a spare core."""
    return (packs >= 2 and WORKER_MIN_ROWS <= bundle.indicators.height <= WORKER_MAX_ROWS
            and _cores() >= 2)


def write_outputs(bundle: ReportBundle, *, html: Path | None = None,
                  packs: Sequence[tuple[Path, str | None]] = (),
                  written: Callable[[Path], None] | None = None,
                  worker: PackWorker | bool | None = None) -> list[Written]:
    """Write the HTML report (if `html`) and the Excel packs (path, Place code or None
    for the ICB's), each atomically; `written` is called as each file is in place.
    `worker`: a started PackWorker to share the packs with (the caller stops it; not
    used above WORKER_MAX_ROWS), True or False to start one here or not, None to start
    one if use_worker(). Returns what was written, report first, then the packs in the
    order given."""
    from eolneeds.report_excel import _Shared

    packs = list(packs)
    report: list[Written] = []
    done: dict[int, Written] = {}
    shared: list[_Shared] = []  # the rows the packs share, built for the first pack here

    def write_here(number: int) -> None:
        if not shared:
            shared.append(_Shared(bundle))
        path, place = packs[number]
        done[number] = _write_pack(bundle, path, place, shared[0], written)

    if worker is None:
        worker = use_worker(bundle, len(packs))
    if worker is False or not packs or bundle.indicators.height > WORKER_MAX_ROWS:
        with _fewer_collections():
            if html is not None:
                report.append(_write_report(bundle, html, written))
            for each in range(len(packs)):
                write_here(each)
        return report + [done[n] for n in range(len(packs))]
    if worker is True:
        with PackWorker() as started:
            return write_outputs(bundle, html=html, packs=packs, written=written,
                                 worker=started)
    with _fewer_collections():
        worker.send(bundle, packs)
        if html is not None:
            report.append(_write_report(bundle, html, written))
        while (number := worker.claim()) is not None:
            write_here(number)
        # Every pack is claimed: wait for those the worker took, and write here any it
        # did not write.
        for theirs, seconds in worker.results():
            if seconds is None:
                write_here(theirs)
                continue
            done[theirs] = Written(packs[theirs][0], seconds, True)
            if written is not None:
                written(packs[theirs][0])
    return report + [done[n] for n in range(len(packs))]


def _write_report(bundle: ReportBundle, path: Path,
                  written: Callable[[Path], None] | None) -> Written:
    from eolneeds.report_html import write_html_report

    start = time.perf_counter()
    write_html_report(bundle, path)
    if written is not None:
        written(path)
    return Written(path, time.perf_counter() - start, False)


def _write_pack(bundle: ReportBundle, path: Path, place: str | None, shared: _Shared,
                written: Callable[[Path], None] | None) -> Written:
    from eolneeds.report_excel import write_excel_pack

    start = time.perf_counter()
    write_excel_pack(bundle, path, place=place, shared=shared)
    if written is not None:
        written(path)
    return Written(path, time.perf_counter() - start, False)


@contextmanager
def worker_for(outputs: int) -> Iterator[PackWorker | None]:
    """A PackWorker started now and stopped at the end, if `outputs` (the report and
    packs to be written) are two or more and a core is spare; else None."""
    if outputs < 2 or _cores() < 2:
        yield None
        return
    with PackWorker() as worker:
        yield worker


def _claim(counter: Synchronized[int], count: int) -> int | None:
    """The next pack's number, or None when every pack is claimed."""
    with counter.get_lock():
        number = counter.value
        if number >= count:
            return None
        counter.value = number + 1
        return number


class PackWorker:
    """One spawned process writing packs, and its two pipes: the bundle and the list of
    packs go out on one (sent from a thread: the pipe takes them only as fast as the
    worker reads, after its imports), each pack's result comes back on the other.

        with worker_for(outputs) as worker:  # None where it would not pay
            ...  # compute the bundle
            write_outputs(bundle, ..., worker=worker or False)
    """

    def __init__(self) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.count = 0  # packs sent; none may be claimed before
        self.counter = context.Value("i", 0)
        self.mine: set[int] = set()
        bundle_in, self._bundle_out = context.Pipe(duplex=False)
        self._results, results_out = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_work, args=(bundle_in, results_out, self.counter),
            name="eolneeds-packs", daemon=True)
        with _ctrl_c_ignored():
            self.process.start()
        # Only the worker holds these ends now: the pipes report its exit as end of file.
        bundle_in.close()
        results_out.close()
        self._sender: threading.Thread | None = None

    def __enter__(self) -> PackWorker:
        return self

    def send(self, bundle: ReportBundle, packs: list[tuple[Path, str | None]]) -> None:
        """Give the worker the bundle and the packs; from now on packs may be claimed."""
        self.count = len(packs)
        self._sender = threading.Thread(target=_send, args=(self._bundle_out,
                                                            (bundle, packs)),
                                        name="eolneeds-packs-send", daemon=True)
        self._sender.start()

    def claim(self) -> int | None:
        number = _claim(self.counter, self.count)
        if number is not None:
            self.mine.add(number)
        return number

    def results(self) -> list[tuple[int, float | None]]:
        """Each pack not claimed here, once the worker has written it (with its
        seconds) or ended (None: it failed, or stopped before)."""
        theirs = set(range(self.count)) - self.mine
        found: list[tuple[int, float | None]] = []
        while theirs:
            try:
                number, seconds = self._results.recv()
            except EOFError:  # the worker ended: what it did not report is ours
                break
            theirs.discard(number)
            found.append((number, seconds))
        found += [(number, None) for number in sorted(theirs)]
        return found

    def __exit__(self, *exc: object) -> None:
        # No more claims. A worker that claimed nothing (never sent a bundle, or the
        # packs were written here first) is stopped; one that claimed a pack is let
        # finish it, so no temporary file is left behind.
        with self.counter.get_lock():
            claimed = min(self.counter.value, self.count)
            self.counter.value = _CLOSED
        if claimed == len(self.mine):
            self.process.terminate()
        self.process.join()
        # The worker has ended, so a sender still blocked on the pipe fails and returns.
        if self._sender is not None:
            self._sender.join()
        self._bundle_out.close()
        self._results.close()
        self.process.close()


@contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """Ctrl-C reaches every process of the terminal's group. The worker inherits an
    ignored SIGINT (kept across exec, and Python then installs no KeyboardInterrupt
    handler), so it prints no traceback: this process handles the interrupt and stops
    the worker on its way out."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can be set only from the main thread
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def _keep_ctrl_c_ignored() -> None:
    """Polars (2.x) installs its own SIGINT handler when it is imported, in place of the
    ignored SIGINT this worker inherited (_ctrl_c_ignored): Ctrl-C then raised
    KeyboardInterrupt inside the worker's next query, with a traceback, and the parent
    wrote every pack again. Python still records the inherited 'ignore'; set it again."""
    import signal

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _send(connection: Connection, payload: object) -> None:
    try:
        connection.send(payload)
    except (OSError, ValueError):  # the worker ended (or was stopped) before reading it
        pass


def _work(bundle_in: Connection, results_out: Connection,
          counter: Synchronized[int]) -> None:
    """The worker: wait for the bundle, then claim packs and write them until none is
    left; stop at the first one that fails (the parent writes it again and reports the
    error), and when the parent has gone (killed: write nothing more)."""
    import multiprocessing

    # Everything a pack needs is imported now, while the parent computes the table.
    from eolneeds import practice_sheets  # noqa: F401 - imported by report_excel when used
    from eolneeds.report_excel import _Shared, write_excel_pack

    _keep_ctrl_c_ignored()
    parent = multiprocessing.parent_process()
    try:
        bundle, packs = bundle_in.recv()
    except EOFError:  # the parent had nothing to send
        return
    bundle_in.close()
    number = _claim(counter, len(packs))
    if number is None:
        return
    gc.set_threshold(20_000, 50, 1_000)  # as _fewer_collections, for the whole process
    shared = _Shared(bundle)
    while number is not None:
        path, place = packs[number]
        start = time.perf_counter()
        try:
            write_excel_pack(bundle, path, place=place, shared=shared)
        except Exception:  # noqa: BLE001 - the parent writes it again and reports it
            _report(results_out, number, None)
            return
        if not _report(results_out, number, time.perf_counter() - start):
            return
        if parent is not None and not parent.is_alive():
            return
        number = _claim(counter, len(packs))


def _report(results_out: Connection, number: int, seconds: float | None) -> bool:
    """Tell the parent a pack is done (seconds) or not (None); False if it has gone."""
    try:
        results_out.send((number, seconds))
    except OSError:
        return False
    return True

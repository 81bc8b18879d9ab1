"""Writing the report and the packs of one bundle with a worker process
(eolneeds/render.py): the same files whichever process writes them, the worker's
failures raised here as a run without it raises them, and no process left behind."""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path

import pytest

from eolneeds import render, report_excel
from eolneeds.errors import UsageError
from eolneeds.report_html import render_html

sys.path.insert(0, str(Path(__file__).parent))
from report_fixtures import make_bundle  # noqa: E402


@pytest.fixture(scope="module")
def bundle():
    return make_bundle()


def _targets(folder: Path, bundle) -> list[tuple[Path, str | None]]:
    return [(folder / "pack-icb.xlsx", None)] + [
        (folder / f"pack-{code}.xlsx", code) for code in bundle.places]


def _parts(path: Path) -> dict[str, bytes]:
    """Every part of an xlsx, byte for byte, minus the save timestamp."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist() if name != "docProps/core.xml"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory, bundle):
    """Each pack written alone in this process, without a worker."""
    folder = tmp_path_factory.mktemp("reference")
    parts = {}
    for path, place in _targets(folder, bundle):
        report_excel.write_excel_pack(bundle, path, place=place)
        parts[place] = _parts(path)
    return parts


def test_packs_the_worker_writes_are_the_packs_written_here(tmp_path, bundle, reference):
    """Nothing claimed here: the spawned worker writes every pack, from the bundle it
    was sent, and they are part for part the packs written in this process."""
    targets = _targets(tmp_path, bundle)
    with render.PackWorker() as worker:
        worker.send(bundle, targets)
        results = dict(worker.results())
    assert sorted(results) == list(range(len(targets)))
    assert all(seconds is not None and seconds > 0 for seconds in results.values())
    for path, place in targets:
        assert _parts(path) == reference[place], place
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p, _ in targets)
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("worker", [True, False], ids=["worker", "no-worker"])
def test_write_outputs_writes_the_report_and_every_pack(tmp_path, bundle, worker,
                                                        reference):
    targets = _targets(tmp_path, bundle)
    seen: list[Path] = []
    rendered = render.write_outputs(bundle, html=tmp_path / "report.html", packs=targets,
                                    written=seen.append, worker=worker)
    expected = [tmp_path / "report.html"] + [path for path, _ in targets]
    assert [w.path for w in rendered] == expected
    assert sorted(seen) == sorted(expected)
    assert not any(w.worker for w in rendered) if not worker else not rendered[0].worker
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == render_html(bundle)
    for path, place in targets:
        assert _parts(path) == reference[place], place
    assert multiprocessing.active_children() == []


def test_a_pack_the_worker_cannot_write_fails_as_it_does_without_the_worker(tmp_path,
                                                                            bundle):
    """The worker stops at a pack that fails and reports nothing for it; this process
    writes it again and raises the error a run without the worker raises."""
    targets = [(tmp_path / "nope.xlsx", "E99")] + _targets(tmp_path, bundle)[:2]
    with render.PackWorker() as worker:
        worker.send(bundle, targets)
        results = dict(worker.results())
    assert results == {0: None, 1: None, 2: None}  # it stopped at the first
    with pytest.raises(UsageError, match="no Place with code 'E99'"):
        render.write_outputs(bundle, packs=targets, worker=True)
    assert not (tmp_path / "nope.xlsx").exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    assert multiprocessing.active_children() == []


def test_a_worker_with_nothing_left_to_claim_is_stopped(tmp_path, bundle):
    """Every pack claimed here before the worker has started: it is stopped, not
    waited for, and writes nothing."""
    targets = _targets(tmp_path, bundle)[:2]
    with render.PackWorker() as worker:
        worker.send(bundle, targets)
        claimed = [worker.claim(), worker.claim(), worker.claim()]
        assert claimed == [0, 1, None]
        for path, place in targets:
            report_excel.write_excel_pack(bundle, path, place=place)
        assert worker.results() == []
    assert multiprocessing.active_children() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p, _ in targets)


def test_a_bundle_too_big_for_a_second_copy_is_not_sent(tmp_path, bundle, monkeypatch):
    monkeypatch.setattr(render, "WORKER_MAX_ROWS", bundle.indicators.height - 1)
    with render.PackWorker() as worker:
        rendered = render.write_outputs(bundle, packs=_targets(tmp_path, bundle),
                                        worker=worker)
        assert worker.count == 0  # nothing sent: it may claim nothing
    assert not any(w.worker for w in rendered)


def test_writing_a_pack_does_not_import_scipy(tmp_path, bundle):
    """The worker imports only what the packs need (scipy, which the report's methods
    bring in, would add most of a second to its start-up)."""
    import subprocess

    script = ("import sys, pickle; from pathlib import Path; "
              "from eolneeds.render import _work; from eolneeds import report_excel; "
              "bundle = pickle.loads(sys.stdin.buffer.read()); "
              "report_excel.write_excel_pack(bundle, Path(sys.argv[1]), "
              "place=bundle.places[0]); print('scipy' in sys.modules)")
    import pickle

    found = subprocess.run([sys.executable, "-c", script, str(tmp_path / "p.xlsx")],
                           input=pickle.dumps(bundle), capture_output=True, check=True)
    assert found.stdout.decode().strip() == "False"


def test_a_worker_never_sent_a_bundle_is_stopped():
    """assess starts the worker before the table; if no bundle follows (the table
    failed), leaving the block stops it."""
    with render.PackWorker() as worker:
        assert worker.process.is_alive()
    assert multiprocessing.active_children() == []


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT is POSIX")
def test_ctrl_c_is_left_to_the_parent(tmp_path, bundle, capfd):
    """Ctrl-C reaches the whole process group. The worker ignores it, during its
    start-up and while it writes packs (no traceback of its own, every pack written):
    this process gets the KeyboardInterrupt and stops the worker on its way out."""
    import os
    import signal
    import time

    targets = _targets(tmp_path, bundle)
    with render.PackWorker() as worker:
        worker.send(bundle, targets)
        for _ in range(10):
            time.sleep(0.15)
            os.kill(worker.process.pid, signal.SIGINT)
        results = dict(worker.results())
    assert sorted(results) == list(range(len(targets)))
    assert None not in results.values()
    assert "KeyboardInterrupt" not in capfd.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_worker_is_used_only_where_it_pays(bundle, monkeypatch):
    monkeypatch.setattr(render, "_cores", lambda: 2)
    assert bundle.indicators.height < render.WORKER_MIN_ROWS  # the hand-made bundle
    assert not render.use_worker(bundle, 7)
    monkeypatch.setattr(render, "WORKER_MIN_ROWS", 1)
    assert render.use_worker(bundle, 7)
    assert not render.use_worker(bundle, 1)
    monkeypatch.setattr(render, "WORKER_MAX_ROWS", bundle.indicators.height - 1)
    assert not render.use_worker(bundle, 7)  # a second copy would cost too much memory
    monkeypatch.setattr(render, "_cores", lambda: 1)
    assert not render.use_worker(bundle, 7)
    with render.worker_for(8) as worker:
        assert worker is None
    monkeypatch.setattr(render, "_cores", lambda: 2)
    with render.worker_for(1) as worker:
        assert worker is None

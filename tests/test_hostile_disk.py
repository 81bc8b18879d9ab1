"""Red team: a full disk under the database, the temporary folder or the output folder,
made real with a small tmpfs (as root: the suite and CI run as root). Each is a clear
exit 2 (the machine's fault, as for a folder that cannot be written: test_bad_inputs
covers the message) naming the file it could not write, and nothing is half-written or
published; with room again the same command goes through.

Found: the transcoded copy in the temporary folder and the Excel packs failed inside a
writer's own buffers (a file object's, zipfile's), whose error names no file, and the
message said only "the disk is full" -- not which disk, when the output and temporary
folders are often on other disks than the project (a scratch disk linked as
.eolneeds-tmp, a shared drive for output/).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from sample_settings import primary_suppression_only

from eolneeds.reporting import Reporter

KEY = "test-key-not-secret-disk"
CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
CONFIG = ('[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'
          '\n[ingest]\nmax_rejected_share = 1.0\n')
HEADER = "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death,note\n"
FULL = ("the disk is full while writing {where} — free some space on it (or move the "
        "project to a disk with room), then run the command again; the database keeps what "
        "the last finished command wrote")

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="tmpfs is Linux's")


@contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                              str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:  # not root, or a container without CAP_SYS_ADMIN
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, encoding="utf-8",
                          env={**os.environ, "EOLNEEDS_KEY": KEY}, timeout=900)


def _error(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0].removeprefix("Error: ")


def _nhs_numbers(count: int) -> Iterator[str]:
    """Valid NHS numbers (modulus 11, worked as in test_privacy): 400000000.. with the
    check digit; a stem whose check would be 10 is skipped."""
    stem = 400_000_000
    while count:
        digits = [int(c) for c in str(stem)]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        stem += 1
        if check == 10:
            continue
        yield f"{stem - 1}{0 if check == 11 else check}"
        count -= 1


def _extract(path: Path, rows: int, encoding: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        fh.write(HEADER)
        for i, nhs in enumerate(_nhs_numbers(rows)):
            fh.write(f"{nhs},2024-0{1 + i % 9}-1{i % 9},{60 + i % 30},F,E01000001,C34.9,home,"
                     f"caf\u00e9 {i}\n")
    return path


def _project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    areas = root.parent / "areas.csv"
    areas.write_text("lsoa_code,place,imd_decile\nE01000001,P1,3\n", encoding="utf-8")
    assert _cli("ingest", "areas", str(areas), "--project", str(root)).returncode == 0
    return root


def _deaths(root: Path) -> int:
    con = duckdb.connect(str(root / "eolneeds.duckdb"), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        return con.execute("SELECT count(*) FROM deaths").fetchone()[0] \
            if "deaths" in tables else 0
    finally:
        con.close()


def test_a_full_temporary_folder_names_it_and_keeps_nothing(tmp_path):
    """The temporary folder linked to a scratch disk with no room for the UTF-8 copy of a
    Windows-1252 extract."""
    root = _project(tmp_path / "project")
    with tmpfs(tmp_path / "scratch", "1m") as scratch:
        (root / ".eolneeds-tmp").symlink_to(scratch)
        extract = _extract(tmp_path / "deaths.csv", 40_000, "cp1252")
        assert extract.stat().st_size > 2_000_000
        before = (root / "eolneeds.duckdb").read_bytes()
        result = _cli("ingest", "deaths", str(extract), "--project", str(root))
        assert result.returncode == 2, result.stderr
        error = _error(result)
        where = error.removeprefix("the disk is full while writing ").split(" — ")[0]
        assert Path(where).parent == root / ".eolneeds-tmp", error
        assert Path(where).name.startswith("eolneeds-")
        assert error == FULL.format(where=where)
        assert list(scratch.iterdir()) == []  # the part-written copy is gone
        assert (root / "eolneeds.duckdb").read_bytes() == before


def test_a_full_database_disk_names_the_file_and_the_load_goes_through_with_room(tmp_path):
    with tmpfs(tmp_path / "disk", "3m") as disk:
        root = _project(disk / "project")
        extract = _extract(tmp_path / "deaths.csv", 40_000, "utf-8")
        result = _cli("ingest", "deaths", str(extract), "--project", str(root))
        assert result.returncode == 2, result.stderr
        error = _error(result)
        assert error.startswith(f"the disk is full while writing {root}{os.sep}eolneeds.duckdb")
        assert _deaths(root) == 0  # the file's transaction left nothing
        subprocess.run(["mount", "-o", "remount,size=60m", str(disk)], check=True)
        again = _cli("ingest", "deaths", str(extract), "--project", str(root))
        assert again.returncode == 0, again.stderr
        assert "40000 rows read, 40000 loaded into deaths, 0 quarantined" in again.stderr
        assert _deaths(root) == 40_000


@pytest.mark.slow
def test_a_full_output_disk_publishes_nothing_and_keeps_latest(tmp_path):
    """The monthly run with output/ on a disk that fills while the Excel pack is written:
    exit 2 naming the pack, the month not published, the previous month's LATEST kept
    and the inputs left in the inbox for the next run."""
    import eolneeds.sample as sample

    root = tmp_path / "proj"
    sample.write_sample(root, deaths=150, seed=3, reporter=Reporter(),
                        key_file=tmp_path / "sample.key")  # unused: EOLNEEDS_KEY is set
    with (root / "eolneeds.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[outputs]\nformats = ["xlsx"]\nper_place = false\n')
    primary_suppression_only(root)
    month = sample.LAST_DAY.strftime("%Y-%m")
    inputs = sorted(p.relative_to(root) for p in (root / "inbox").rglob("*") if p.is_file())
    with tmpfs(root / "output", "300k") as output:
        earlier = output / "2020-01"  # an earlier month, published
        earlier.mkdir()
        (earlier / "indicators.csv").write_text("x\n", encoding="utf-8")
        (output / "LATEST").write_text("2020-01\n", encoding="utf-8")
        result = _cli("run", "--month", month, "--project", str(root))
        assert result.returncode == 2, result.stderr[-3000:]
        error = _error(result)
        where = error.removeprefix("the disk is full while writing ").split(" — ")[0]
        assert Path(where).is_relative_to(output) and Path(where).name.endswith(".xlsx"), error
        assert error == FULL.format(where=where)
        # The convenience link `latest` may be made to follow LATEST; nothing else.
        assert sorted(p.name for p in output.iterdir()) in (
            ["2020-01", "LATEST"], ["2020-01", "LATEST", "latest"])
        if (output / "latest").is_symlink():
            assert (output / "latest").resolve() == earlier.resolve()
        assert (output / "LATEST").read_text(encoding="utf-8") == "2020-01\n"
        assert [p.name for p in earlier.iterdir()] == ["indicators.csv"]
    assert sorted(p.relative_to(root) for p in (root / "inbox").rglob("*")
                  if p.is_file()) == inputs
    log = [json.loads(line) for line in
           (root / "logs" / f"eolneeds-{month}.log").read_text("utf-8").splitlines()]
    finished = [r for r in log if r["event"] == "run_finished"]
    assert [r["status"] for r in finished] == ["failed"], finished
    assert "the disk is full while writing" in finished[0]["error"]

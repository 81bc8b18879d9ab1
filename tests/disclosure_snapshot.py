"""Every table disclosure control decides, from differently shaped projects, written to a
folder: run it before and after a change to disclosure control that must not change
any decision (a speed-up), and compare the two folders byte for byte (`diff -r`).

    python tests/disclosure_snapshot.py OUT [WORK]

Projects (each generated here, nothing read from another test's session):

* sample: the tests' 3,000-death sample (seed 7), `assess` with csv and xlsx and a
  pack per Place, the publication kept in the ledger;
* small: a 400-death sample (seed 3), most cells small, the same;
* national: `sample --layout national` (900 deaths, seed 20; min_count 8), every file
  ingested with its mapping, then assessed as above;
* monthly: two consecutive 12-month runs on a copy of the sample's database (2026-02,
  then 2026-03 against the first's ledger), as tests/test_monthly_consecutive.py.

Written for each: indicators.csv (the full table, hidden rows included), every cell of
every workbook as `sheet!cell<TAB>repr(value)` (the workbooks' own bytes hold their
creation time), and the ledger's rows, sorted, without the time they were kept. What
differs from run to run whatever disclosure control decides is written as a placeholder:
the times files were ingested and packs written, and the checksums of eolneeds.toml (it
names a key file of a random name) and of generated workbooks (they hold the time they
were written). The CPU time of each assess and run is printed, not written.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import openpyxl

from eolneeds import ledger
from eolneeds.assess import AssessOptions, assess_project, compute_indicators
from eolneeds.config import ProjectConfig, load_config
from eolneeds.db import connect
from eolneeds.ingest import ingest_files
from eolneeds.reporting import Reporter
from eolneeds.run import previous_publication, publication
from eolneeds.sample import ingest_sample, write_sample
from eolneeds.sample_national import national_sample_files, write_national_sample


def _ledger_rows(database: Path, out: Path) -> None:
    con = duckdb.connect(str(database), read_only=True)
    try:
        columns = [c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = $t "
            "ORDER BY column_index", {"t": ledger.TABLE}).fetchall()
            if c != "published_at"]
        rows = con.execute(
            f"SELECT {', '.join(columns)} FROM {ledger.TABLE} ORDER BY ALL").fetchall() \
            if columns else []
    finally:
        con.close()
    with (out / "ledger.tsv").open("w", encoding="utf-8") as f:
        f.write("\t".join(columns) + "\n")
        for row in rows:
            f.write("\t".join(map(repr, row)) + "\n")


#: When a file was ingested or a pack written, in the packs' provenance text.
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00)?")


def _when_run(value: object) -> object:
    """A value of the run itself rather than of the data: an ingest or write time (on or
    after the day before today: the data end long before), or the text holding one."""
    if isinstance(value, datetime) and value.date() >= date.today() - timedelta(days=1):
        return "<when run>"
    if isinstance(value, str):
        return _TIMESTAMP.sub("<when run>", value)
    return value


def _workbook_cells(xlsx: Path, out: Path) -> None:
    book = openpyxl.load_workbook(xlsx, read_only=True)
    with out.open("w", encoding="utf-8") as f:
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                # Checksums that change from run to run: eolneeds.toml's (it names a key
                # file of a random name) and a generated workbook's (it holds the time
                # it was written).
                run_checksum = any(isinstance(c.value, str) and (
                    c.value == "eolneeds.toml" or c.value.endswith(".xlsx")) for c in row)
                for cell in row:
                    value = _when_run(cell.value)
                    if run_checksum and isinstance(value, str) and len(value) == 64:
                        value = "<checksum>"
                    if value is not None:
                        f.write(f"{sheet.title}!{cell.coordinate}\t{value!r}\n")
    book.close()


def _assess(config: ProjectConfig, out: Path) -> None:
    start = time.process_time()
    result = assess_project(
        config, AssessOptions(formats=["csv", "xlsx"], out=out / "output", per_place=True),
        reporter=Reporter())
    print(f"  assess {config.root.name}: {time.process_time() - start:.1f} CPU s",
          flush=True)
    for path in sorted(result.outputs):
        if path.suffix == ".csv":
            shutil.copy(path, out / path.name)
        elif path.suffix == ".xlsx":
            _workbook_cells(path, out / (path.stem + ".cells.tsv"))
    shutil.rmtree(out / "output")
    _ledger_rows(config.database_path, out)


def _sample(work: Path, out: Path, name: str, deaths: int, seed: int) -> ProjectConfig:
    root = work / name
    write_sample(root, deaths=deaths, seed=seed, reporter=Reporter())
    config = load_config(root)
    ingest_sample(config, reporter=Reporter())
    # Kept before assess writes its ledger: the monthly runs start with none.
    shutil.copy(config.database_path, work / f"{name}.duckdb")
    (out / name).mkdir(parents=True)
    _assess(config, out / name)
    return config


def _national(work: Path, out: Path) -> None:
    root = work / "national"
    write_national_sample(root, deaths=900, seed=20, reporter=Reporter())
    config = load_config(root)
    for dataset, path, mapping in national_sample_files(root):
        ingest_files(config, dataset, [path], mapping=mapping, reporter=Reporter())
    (out / "national").mkdir(parents=True)
    _assess(config, out / "national")


def _monthly(work: Path, out: Path, sample: ProjectConfig) -> None:
    root = work / "monthly"
    root.mkdir()
    shutil.copy(work / "sample.duckdb", root / sample.database_path.name)
    config = dataclasses.replace(sample, root=root)
    (out / "monthly").mkdir(parents=True)
    when = datetime(2026, 3, 5, 6, 0, tzinfo=UTC)
    for month in ("2026-02", "2026-03"):
        given = ledger.Publication()
        con = connect(config.database_path)
        start = time.process_time()
        try:
            table = compute_indicators(config, con, periods=publication(month, 12),
                                       earlier=previous_publication(month, 12),
                                       publication=given)
        finally:
            con.close()
        print(f"  run {month}: {time.process_time() - start:.1f} CPU s", flush=True)
        ledger.keep(config.database_path, given, when)
        when += timedelta(days=31)
        table.write_csv(out / "monthly" / f"indicators-{month}.csv")
    _ledger_rows(config.database_path, out / "monthly")


def main(out: Path, work: Path) -> None:
    os.environ.setdefault("EOLNEEDS_KEY", "test-session-pseudonymisation-key")
    os.environ.setdefault("EOLNEEDS_KEY_DIR", str(work / "keys"))
    if out.exists():
        sys.exit(f"{out} exists: give a new folder")
    out.mkdir(parents=True)
    sample = _sample(work, out, "sample", 3000, 7)
    _monthly(work, out, sample)
    _sample(work, out, "small", 400, 3)
    _national(work, out)


if __name__ == "__main__":
    target = Path(sys.argv[1]).resolve()
    if len(sys.argv) > 2:
        main(target, Path(sys.argv[2]).resolve())
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(target, Path(tmp))

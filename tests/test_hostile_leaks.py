"""Red team: a valid NHS number planted in every free-text column of every dataset (a
shifted row, a careless export) is kept nowhere in clear: not in any column of any table
of the DuckDB file, not in its bytes, not in an output or a log.

It was kept where a column's text is stored as it comes: deaths' and registers'
practice codes, ADMIMETH and treatment function codes, the practice workbook's practice
and PCN names and the Fingertips download's labels, and from there it reached
indicators.csv and report.html. Such text is now masked at ingest like a reason.
"""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
from pathlib import Path

import duckdb
import openpyxl
import pytest
from sample_settings import primary_suppression_only

CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]

# Dataset file -> columns that hold stored text (and coded values) where a number is put.
PLANT = {
    "inbox/deaths/deaths_pcmd.csv": ["GP_PRACTICE_CODE", "POD_CODE", "ETHNIC_GROUP",
                                     "DEC_LSOA", "S_COD_CODE_2", "DEC_SEX"],
    "inbox/register/register_epaccs.csv": ["Practice Code", "Preferred Place of Death",
                                           "DNACPR"],
    "inbox/activity/activity_community.csv": ["treatment_function", "activity_type", "cost"],
    "inbox/activity/hes_apc_spells.csv": ["ADMIMETH", "TRETSPEF", "SPELL_COST"],
    "inbox/activity/ecds_ae_attendances.csv": ["COST"],
    "inbox/benchmarks/fingertips_peolc.csv": ["Area Name", "Indicator Name", "Value note",
                                              "Category", "Parent Name"],
}


def _valid(number: str) -> bool:
    total = sum(int(d) * (10 - i) for i, d in enumerate(number[:9]))
    check = (11 - total % 11) % 11
    return check != 10 and check == int(number[9])


def _numbers(count: int) -> list[str]:
    rng = random.Random(11)
    found: list[str] = []
    while len(found) < count:
        number = str(rng.randint(4_000_000_000, 4_999_999_999))
        if _valid(number) and number not in found:
            found.append(number)
    return found


def _plant(root: Path) -> list[str]:
    numbers = iter(_numbers(60))
    planted: list[str] = []
    for name, columns in PLANT.items():
        path = root / name
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        header, body = rows[0], rows[1:]
        for k, column in enumerate(columns):
            number = next(numbers)
            planted.append(number)
            at = header.index(column)
            for row in body[3 + k::25]:  # a few rows each, never most of the file
                row[at] = number
        with path.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(rows)
    book_path = root / "inbox/practices/epcn.xlsx"
    book = openpyxl.load_workbook(book_path)
    for ws in book.worksheets:
        header = None
        for row in ws.iter_rows():
            values = [c.value for c in row]
            if header is None and "Partner Name" in values:
                header = values
            elif header is not None and row[0].row % 3 == 0:
                for column in ("Partner Name", "PCN Name"):
                    number = next(numbers)
                    planted.append(number)
                    row[header.index(column)].value = f"Dr {number} surgery"
    book.save(book_path)
    return planted


@pytest.mark.slow
def test_an_nhs_number_in_any_stored_text_is_kept_nowhere(tmp_path):
    root = tmp_path / "p"
    env = {k: v for k, v in os.environ.items() if k != "EOLNEEDS_KEY"}
    subprocess.run([*CLI, "sample", str(root), "--deaths", "400", "--seed", "5"],
                   check=True, capture_output=True, timeout=300, env=env)
    planted = _plant(root)
    # A planted number would come from the inputs, not from which cells are hidden:
    # secondary suppression (most of the run's time, tests/sample_settings.py) is off;
    # primary suppression stays on.
    primary_suppression_only(root)
    done = subprocess.run([*CLI, "--log-format", "json", "run", "--month", "2026-10",
                           "--project", str(root)], capture_output=True, timeout=900,
                          env=env)
    assert done.returncode == 0, done.stderr.decode("utf-8")[-2000:]

    with duckdb.connect(str(root / "eolneeds.duckdb"), read_only=True) as con:
        columns = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                              "WHERE table_schema = 'main'").fetchall()
        for table, column in columns:
            for (value,) in con.execute(f'SELECT DISTINCT CAST("{column}" AS VARCHAR) '
                                        f'FROM "{table}"').fetchall():
                if value is not None:
                    digits = "".join(value.split())
                    assert not any(n in digits for n in planted), (table, column, value)
        # The mask shows where one was.
        assert con.execute("SELECT count(*) FROM deaths WHERE gp_practice = "
                           "'[10+ digits withheld]'").fetchone()[0] > 0

    streams = [done.stdout, done.stderr]
    for path in root.rglob("*"):
        rel = path.relative_to(root).parts
        if path.is_file() and rel[0] not in ("archive", "inbox"):
            streams.append(path.read_bytes())
    for data in streams:
        for number in planted:
            spaced = f"{number[:3]} {number[3:6]} {number[6:]}"
            assert number.encode() not in data and spaced.encode() not in data

"""No identifier leaves the database, and no clear NHS number enters it.

After a full `run` on generated data that carries NHS numbers:

* no NHS number from the inputs (plain, spaced '943 476 5919' or dashed) appears in
  any output or log file — HTML, CSV, JSON, the xlsx packs' unzipped XML, the Parquet
  file's raw bytes *and* its decoded values;
* no pseudonymised person_id from the database appears in any of them either;
* no NHS number is anywhere in the database: every VARCHAR (and VARCHAR[]) column of
  every table, plus the raw bytes of the .duckdb file (and its WAL, if any).
"""

from __future__ import annotations

import gzip
import re
import zipfile
from pathlib import Path

import duckdb
import pytest
from sample_settings import primary_suppression_only

from eolneeds.reporting import Reporter

KEY = "privacy-test-key"
# Ten digits, optionally grouped 3-3-4 by spaces or dashes, not inside a longer number.
NHS_SHAPE = re.compile(r"(?<![0-9])([0-9]{3})[ -]?([0-9]{3})[ -]?([0-9]{4})(?![0-9])")
NHS_SHAPE_BYTES = re.compile(rb"(?<![0-9])([0-9]{3})[ -]?([0-9]{3})[ -]?([0-9]{4})(?![0-9])")


def nhs_check_digit_ok(digits: str) -> bool:
    """Modulus 11: weights 10..2 on the first nine digits; 11 - (sum mod 11), 11 -> 0,
    10 -> invalid. E.g. 943 476 5919: 9*10+4*9+3*8+4*7+7*6+6*5+5*4+9*3+1*2 = 299,
    299 mod 11 = 2, 11 - 2 = 9 = the last digit."""
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def test_check_digit_helper_known_answers() -> None:
    assert nhs_check_digit_ok("9434765919")  # the NHS's published example
    assert not nhs_check_digit_ok("9434765918")


def _text_of(path: Path) -> str:
    """Everything a person could read out of a file, as text."""
    data = path.read_bytes()
    parts = [data.decode("utf-8", errors="replace")]
    if path.suffix == ".gz":
        parts.append(gzip.decompress(data).decode("utf-8", errors="replace"))
    if zipfile.is_zipfile(path):  # xlsx: the sheets, shared strings, charts are XML
        with zipfile.ZipFile(path) as zf:
            parts += [zf.read(n).decode("utf-8", errors="replace") for n in zf.namelist()]
    if path.suffix == ".parquet":  # strings may be compressed: read the values too
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        for column in table.columns:
            parts.append("\n".join(str(v) for v in column.to_pylist()))
    return "\n".join(parts)


def _nhs_numbers_in(text: str) -> set[str]:
    found = set()
    for m in NHS_SHAPE.finditer(text):
        digits = "".join(m.groups())
        if nhs_check_digit_ok(digits):
            found.add(digits)
    return found


@pytest.fixture(scope="module")
def ran_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One full run (HTML, Excel, CSV, Parquet) on 300 generated deaths."""
    import eolneeds.sample as sample
    from eolneeds.config import load_config
    from eolneeds.run import run_month

    base = tmp_path_factory.mktemp("privacy")
    root = base / "proj"
    sample.write_sample(root, deaths=300, seed=11, reporter=Reporter(),
                        key_file=base / "sample.key")
    # The ICB pack only: the per-Place packs come from the same writer, and cost time.
    with (root / "eolneeds.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[outputs]\nformats = ["html", "xlsx", "csv", "parquet"]\n'
                 'per_place = false\n')
    # An identifier in an output would come from the inputs, not from which cells are
    # hidden: secondary suppression, most of a small run's time (tests/sample_settings.py),
    # is off; primary suppression stays on. Disclosure control has its own tests.
    primary_suppression_only(root)
    month = str(sample.LAST_DAY.strftime("%Y-%m"))
    mp = pytest.MonkeyPatch()
    mp.setenv("EOLNEEDS_KEY", KEY)
    try:
        run_month(load_config(root), month, reporter=Reporter())
    finally:
        mp.undo()
    return root, month


def _input_nhs_numbers(root: Path) -> set[str]:
    numbers: set[str] = set()
    for path in (root / "archive").rglob("*"):
        if path.is_file():
            numbers |= _nhs_numbers_in(_text_of(path))
    return numbers


def _output_files(root: Path) -> list[Path]:
    files = [p for d in ("output", "logs") for p in (root / d).rglob("*") if p.is_file()]
    assert any(p.suffix == ".xlsx" for p in files), "expected an Excel pack to scan"
    assert any(p.suffix == ".html" for p in files), "expected an HTML report to scan"
    return files


@pytest.mark.slow
def test_no_nhs_number_or_person_id_in_any_output(ran_project: tuple[Path, str]) -> None:
    root, _ = ran_project
    nhs = _input_nhs_numbers(root)
    assert len(nhs) >= 100, "the generated inputs should carry NHS numbers to look for"
    con = duckdb.connect(str(root / "eolneeds.duckdb"), read_only=True)
    try:
        tables = [
            r[0] for r in con.execute(
                "SELECT DISTINCT table_name FROM duckdb_columns() WHERE column_name = 'person_id'"
            ).fetchall()
        ]
        person_ids = {
            r[0] for t in tables
            for r in con.execute(f"SELECT DISTINCT person_id FROM {t}").fetchall()
            if r[0] is not None
        }
    finally:
        con.close()
    assert len(person_ids) >= 100
    for path in _output_files(root):
        text = _text_of(path)
        leaked = _nhs_numbers_in(text) & nhs
        assert not leaked, f"{path} holds NHS numbers {sorted(leaked)[:3]}"
        ids = [pid for pid in person_ids if pid in text]
        assert not ids, f"{path} holds person_ids {ids[:3]}"


def test_no_clear_nhs_number_in_the_database(ran_project: tuple[Path, str]) -> None:
    root, _ = ran_project
    nhs = _input_nhs_numbers(root)
    db = root / "eolneeds.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    try:
        columns = con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE data_type IN ('VARCHAR', 'VARCHAR[]') AND NOT internal"
        ).fetchall()
        assert ("deaths", "person_id") in columns
        for table, column in columns:
            rows = con.execute(f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM "{table}"')
            values = "\n".join(str(r[0]) for r in rows.fetchall())
            leaked = _nhs_numbers_in(values) & nhs
            assert not leaked, f"{table}.{column} holds NHS numbers {sorted(leaked)[:3]}"
    finally:
        con.close()
    for path in (db, db.with_name(db.name + ".wal")):
        if path.exists():
            data = path.read_bytes()
            raw = {b"".join(m.groups()).decode() for m in NHS_SHAPE_BYTES.finditer(data)}
            assert not raw & nhs, f"raw bytes of {path.name} hold NHS numbers"

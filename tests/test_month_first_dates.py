"""Dates written month first (m/d/yyyy: a register re-saved by Excel with US regional
settings) are recognised (newcomer2 finding 09): inspect names %m/%d/%Y and writes it
into the mapping; the refusal of a file read day first advises it, so following the
advice works; and where the file loads anyway (the limit raised), the day-first
reading of the dates that fit it is warned about as probably swapped."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from eolneeds import inspect as insp
from eolneeds import normalise as nz
from eolneeds.config import load_config
from eolneeds.errors import InputDataError
from eolneeds.ingest import ingest_files
from eolneeds.reporting import RecordingReporter

CONFIG = """
[project]
icb_name = "Test ICB"
icb_code = "QXX"

[[places]]
code = "P1"
name = "Place One"
"""


def nhs_number(stem: int) -> str:
    digits = f"{stem:09d}"
    check = 11 - sum(int(d) * (10 - i) for i, d in enumerate(digits)) % 11
    return digits + str(0 if check == 11 else check) if check != 10 else ""


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret-at-all")


def us_register(path: Path, days: list[date]) -> Path:
    """An EMIS-like register export, Excel-resaved: dates as m/d/yyyy, no leading zeros."""
    numbers = [n for n in (nhs_number(400000000 + i) for i in range(3 * len(days))) if n]
    lines = ["NHS Number,Date Added to Register,Usual GP's Organisation Code"]
    lines += [f"{n},{d.month}/{d.day}/{d.year},C83010" for n, d in zip(numbers, days,
                                                                          strict=False)]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


# 40 dates, 1 Jan 2024 on every 9 days: 16 have a day of 12 or less (ambiguous).
DAYS = [date(2024, 1, 1) + timedelta(days=9 * i) for i in range(40)]


def test_date_shape_and_order_known_answers():
    assert nz.date_shape("2/16/2024") == "%m/%d/%Y"
    assert nz.date_shape("16/2/2024") == "%d/%m/%Y"
    assert nz.date_shape("2/3/2024") == "%d/%m/%Y"  # either: the UK's order
    assert nz.date_shape("12-31-2024") == "%m-%d-%Y"
    assert nz.date_shape("1/13/24") == "%m/%d/%y"
    assert [nz.date_order(t) for t in ("2/16/2024", "16/2/2024", "2/3/2024", "2024-02-16")
            ] == ["mdy", "dmy", None, None]
    assert nz.settle_date_formats({"%d/%m/%Y": 3, "%m/%d/%Y": 5}, 0) == {"%m/%d/%Y": 8}
    # A value only day first too: mixed, left as counted.
    assert nz.settle_date_formats({"%d/%m/%Y": 3, "%m/%d/%Y": 5}, 1) == {
        "%d/%m/%Y": 3, "%m/%d/%Y": 5}


def test_inspect_names_month_first_and_its_mapping_loads_every_date(tmp_path):
    ambiguous = sum(d.day <= 12 for d in DAYS)
    assert 0 < ambiguous < len(DAYS)
    root = tmp_path / "p"
    root.mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    path = us_register(tmp_path / "PalCareRegister_excel_us.csv", DAYS)
    found = insp.inspect_file(path)
    assert f"{len(DAYS)} text dates %m/%d/%Y" in found.render_text()
    written = insp.write_mapping(found, "emis_us", root, dataset="register")
    assert 'date_format = "%m/%d/%Y"' in written.read_text(encoding="utf-8")
    config = load_config(root)
    [result] = ingest_files(config, "register", [path], mapping="emis_us",
                            reporter=RecordingReporter())
    assert (result.rows_loaded, result.rows_rejected) == (len(DAYS), 0)
    con = duckdb.connect(str(root / "eolneeds.duckdb"), read_only=True)
    try:
        loaded = [r[0] for r in con.execute(
            "SELECT date_added FROM register ORDER BY source_row").fetchall()]
    finally:
        con.close()
    assert loaded == DAYS


def test_refusal_advises_month_first_and_following_it_works(tmp_path):
    root = tmp_path / "p"
    (root / "mappings").mkdir(parents=True)
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    mapping = root / "mappings" / "emis.toml"
    base = ('dataset = "register"\nnhs_number = true\n{fmt}[columns]\n'
            'person_id = "NHS Number"\ndate_added = "Date Added to Register"\n'
            "gp_practice = \"Usual GP's Organisation Code\"\n")
    mapping.write_text(base.format(fmt=""), encoding="utf-8")
    path = us_register(tmp_path / "register.csv", DAYS)
    with pytest.raises(InputDataError) as refused:
        ingest_files(load_config(root), "register", [path], mapping="emis",
                     reporter=RecordingReporter())
    advice = str(refused.value)
    assert 'date_format = "%m/%d/%Y", as in' in advice, advice
    mapping.write_text(base.format(fmt='date_format = "%m/%d/%Y"\n'), encoding="utf-8")
    [result] = ingest_files(load_config(root), "register", [path], mapping="emis",
                            reporter=RecordingReporter())
    assert (result.rows_loaded, result.rows_rejected) == (len(DAYS), 0)


def test_a_month_first_file_read_day_first_is_warned_as_swapped(tmp_path):
    root = tmp_path / "p"
    (root / "mappings").mkdir(parents=True)
    (root / "eolneeds.toml").write_text(CONFIG + "\n[ingest]\nmax_rejected_share = 1.0\n",
                                        encoding="utf-8")
    (root / "mappings" / "emis.toml").write_text(
        'dataset = "register"\nnhs_number = true\n[columns]\nperson_id = "NHS Number"\n'
        'date_added = "Date Added to Register"\n', encoding="utf-8")
    path = us_register(tmp_path / "register.csv", DAYS)
    reporter = RecordingReporter()
    [result] = ingest_files(load_config(root), "register", [path], mapping="emis",
                            reporter=reporter)
    ambiguous = sum(d.day <= 12 for d in DAYS)
    assert (result.rows_loaded, result.rows_rejected) == (ambiguous, len(DAYS) - ambiguous)
    warnings = [f["text"] for name, f in reporter.events
                if name == "message" and f["level"] == "warning"]
    assert any(f"{len(DAYS) - ambiguous} values of date_added can only be month first" in w
               and 'set date_format = "%m/%d/%Y"' in w for w in warnings), warnings

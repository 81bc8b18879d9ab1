"""Dates written month first (m/d/yyyy, Excel's short date on a US-English PC) in a
file whose mapping reads day first (newcomer2 finding 09): inspect names the month-first
format, the refusal advises it (never the format that already failed), and the dates
that read either way round are never loaded with day and month swapped, whatever
[ingest] max_rejected_share allows."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from eolneeds import normalise as nz
from eolneeds.config import load_config
from eolneeds.errors import InputDataError
from eolneeds.ingest import ingest_files
from eolneeds.inspect import inspect_file, mapping_text
from eolneeds.reporting import Reporter
from tests.small_project import make_project
from tests.test_ingest import query, write

MAPPING = """dataset = "register"
[columns]
person_id = "Patient ID"
date_added = "Added"
"""


@pytest.fixture(autouse=True)
def _key(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")


def _dates(n: int) -> list[date]:
    rng = random.Random(9)
    return [date(2023, 1, 1) + timedelta(days=rng.randrange(700)) for _ in range(n)]


def _register(path: Path, dates: list[date], month_first: bool) -> Path:
    """A register as Excel re-saves it: no leading zeros, in the order asked."""
    lines = ["Patient ID,Added"]
    for i, d in enumerate(dates):
        first, second = (d.month, d.day) if month_first else (d.day, d.month)
        lines.append(f"R{i:04d},{first}/{second}/{d.year}")
    return write(path, "\r\n".join(lines) + "\r\n")


@pytest.mark.parametrize(("text", "shape", "order"), [
    ("2/16/2024", "%m/%d/%Y", "month"),
    ("16/2/2024", "%d/%m/%Y", "day"),
    ("3/4/2024", "%d/%m/%Y", None),  # either way round: the UK order
    ("12/12/2024", "%d/%m/%Y", None),
    ("02-16-2024", "%m-%d-%Y", "month"),
    ("16.02.2024", "%d.%m.%Y", "day"),
    ("2/16/24", "%m/%d/%y", "month"),
    ("2024-02-16", "%Y-%m-%d", None),
])
def test_a_date_written_month_first_has_the_month_first_shape(
        text: str, shape: str, order: str | None) -> None:
    assert nz.date_shape(text) == shape
    assert nz.date_order(text) == order


def test_inspect_calls_a_month_first_column_month_first(tmp_path: Path) -> None:
    path = _register(tmp_path / "us.csv", _dates(200), month_first=True)
    found = inspect_file(path)
    added = next(c for c in found.columns if c.name == "Added")
    # Every date, including those up to the 12th, is month first.
    assert added.text_dates == {"%m/%d/%Y": 200}
    assert 'date_format = "%m/%d/%Y"' in mapping_text(found, dataset="register")


def test_inspect_keeps_a_day_first_column_day_first(tmp_path: Path) -> None:
    path = _register(tmp_path / "uk.csv", _dates(200), month_first=False)
    added = next(c for c in inspect_file(path).columns if c.name == "Added")
    assert added.text_dates == {"%d/%m/%Y": 200}


def _config(tmp_path: Path, ingest: str = ""):  # type: ignore[no-untyped-def]
    config = make_project(tmp_path / "p", {"reg": MAPPING})
    if ingest:
        with (config.root / "eolneeds.toml").open("a", encoding="utf-8") as f:
            f.write(f"\n[ingest]\n{ingest}\n")
        config = load_config(config.root)
    return config


@pytest.mark.parametrize("limit", ["", "max_rejected_share = 1.0"])
def test_month_first_dates_are_refused_with_the_format_that_reads_them(
        tmp_path: Path, limit: str) -> None:
    dates = _dates(200)
    path = _register(tmp_path / "us.csv", dates, month_first=True)
    config = _config(tmp_path, limit)
    with pytest.raises(InputDataError) as refused:
        ingest_files(config, "register", [path], mapping="reg", reporter=Reporter())
    message = str(refused.value)
    assert 'date_format = "%m/%d/%Y"' in message
    assert 'date_format = "%d/%m/%Y"' not in message
    assert "swapped" in message
    assert query(config, "SELECT count(*) FROM register") == [(0,)]
    # Following the advice literally loads every row, each on its own date.
    mapping = config.root / "mappings" / "reg.toml"
    mapping.write_text(MAPPING.replace('dataset = "register"\n',
                                       'dataset = "register"\ndate_format = "%m/%d/%Y"\n'),
                       encoding="utf-8")
    [result] = ingest_files(load_config(config.root), "register", [path], mapping="reg",
                            reporter=Reporter())
    assert (result.rows_read, result.rows_loaded) == (200, 200)
    loaded = query(config, "SELECT date_added FROM register ORDER BY source_row")
    assert [d for (d,) in loaded] == dates


def test_a_day_first_file_with_one_month_first_slip_loads(tmp_path: Path) -> None:
    """A typing slip ('3/13/2024') in a file whose other dates prove day first is that
    row's fault alone: quarantined, the file loads."""
    dates = _dates(50)
    path = _register(tmp_path / "uk.csv", dates, month_first=False)
    with path.open("a", encoding="utf-8") as f:
        f.write("R9999,3/13/2024\r\n")
    config = _config(tmp_path)
    [result] = ingest_files(config, "register", [path], mapping="reg", reporter=Reporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (51, 50, 1)
    loaded = query(config, "SELECT date_added FROM register ORDER BY source_row")
    assert [d for (d,) in loaded] == dates


def test_impossible_dates_are_not_answered_with_the_format_they_have(tmp_path: Path) -> None:
    """Dates in the mapping's own format that are no dates ('31/02/2024'): the fix is in
    the file; advising date_format = "%d/%m/%Y" again would loop."""
    path = write(tmp_path / "bad.csv", "Patient ID,Added\n" + "".join(
        f"R{i},31/02/2024\n" for i in range(5)))
    config = _config(tmp_path)
    with pytest.raises(InputDataError) as refused:
        ingest_files(config, "register", [path], mapping="reg", reporter=Reporter())
    message = str(refused.value)
    assert "date_format = " not in message
    assert "correct the dates in the file" in message and "'31/02/2024'" in message

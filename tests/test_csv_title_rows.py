"""A CSV search export (EMIS Web, SystmOne) with a title block above its header whose
height changes month to month (newcomer2 finding 08): with no header_row the header is
found below the titles, as in a workbook; a pinned header_row that no longer holds the
mapping's headers names the line that does; a message never quotes a title line or a
data row as "the columns found"."""

from __future__ import annotations

from pathlib import Path

import pytest

from eolneeds.errors import InputDataError
from eolneeds.ingest import ingest_files
from eolneeds.inspect import inspect_file, mapping_text
from eolneeds.reporting import Reporter
from tests.small_project import make_project
from tests.test_ingest import query, write

MAPPING = """dataset = "register"
nhs_number = true
[columns]
person_id = "NHS Number"
date_added = "Date Added to Register"
gp_practice = "Usual GP's Organisation Code"
"""
HEADER = '"NHS Number","Usual GP\'s Organisation Code","Date Added to Register"'
# Valid NHS numbers (modulus 11), written as EMIS prints them
NUMBERS = ["943 476 5919", "943 476 5870", "401 023 2137", "943 476 5005"]


@pytest.fixture(autouse=True)
def _key(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")


def _export(path: Path, titles: list[str]) -> Path:
    """Title lines, the header, four rows; the third row's date is no date."""
    rows = [f'"{n}","C83010","{d}"' for n, d in
            zip(NUMBERS, ["16-Feb-2024", "09-Nov-2024", "31-Feb-2024", "01-Mar-2025"],
                strict=True)]
    return write(path, "\r\n".join([*titles, HEADER, *rows]) + "\r\n")


TITLES = {
    "four lines": ['"Palliative Care Register - EOL audit search"', '"Run date: 30-Apr-2026"',
                   '"Population count: 4"', ""],
    "a criteria line added": ['"Palliative Care Register - EOL audit search"',
                              '"Run date: 31-May-2026"', '"Search criteria: register, all dates"',
                              '"Population count: 4"', ""],
    "the blank line gone": ['"Palliative Care Register - EOL audit search"',
                            '"Run date: 30-Jun-2026"', '"Population count: 4"'],
    "none": [],
}


@pytest.mark.parametrize("titles", TITLES.values(), ids=TITLES.keys())
def test_the_header_is_found_below_any_title_lines(tmp_path: Path, titles: list[str]) -> None:
    config = make_project(tmp_path / "p", {"emis": MAPPING})
    path = _export(tmp_path / "export.csv", titles)
    [result] = ingest_files(config, "register", [path], mapping="emis", reporter=Reporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (4, 3, 1)
    # The impossible date is on the file's line: titles, header, then the third row.
    [(row, column)] = query(config, "SELECT row_number, column_name FROM rejects")
    assert (row, column) == (len(titles) + 4, "date_added")


@pytest.mark.parametrize(("titles", "pinned", "actual"), [
    (TITLES["a criteria line added"], 5, 6),  # row 5 is now blank
    (TITLES["the blank line gone"], 5, 4),  # row 5 is now a data row
])
def test_a_pinned_header_row_that_moved_names_the_row_it_is_on(
        tmp_path: Path, titles: list[str], pinned: int, actual: int) -> None:
    config = make_project(tmp_path / "p",
                          {"emis": MAPPING.replace("nhs_number", f"header_row = {pinned}\n"
                                                                 "nhs_number")})
    path = _export(tmp_path / "export.csv", titles)
    with pytest.raises(InputDataError) as refused:
        ingest_files(config, "register", [path], mapping="emis", reporter=Reporter())
    message = str(refused.value)
    assert f"on row {actual}, not on row {pinned}" in message
    assert "remove header_row from" in message and f"header_row = {actual}" in message
    assert "943" not in message and "C83010" not in message  # no data row quoted
    # Following the advice: without header_row the file loads.
    (config.root / "mappings" / "emis.toml").write_text(MAPPING, encoding="utf-8")
    [result] = ingest_files(make_project(tmp_path / "p"), "register", [path], mapping="emis",
                            reporter=Reporter())
    assert result.rows_loaded == 3


def test_a_message_quotes_the_headers_not_a_title(tmp_path: Path) -> None:
    """A mapping that cannot read the file (here: none, the canonical names) is told the
    columns the file has, not its title line."""
    config = make_project(tmp_path / "p")
    path = _export(tmp_path / "export.csv", TITLES["four lines"])
    with pytest.raises(InputDataError) as refused:
        ingest_files(config, "register", [path], reporter=Reporter())
    message = str(refused.value)
    assert "'Date Added to Register'" in message
    assert "Palliative Care Register" not in message


def test_inspect_leaves_a_csv_header_row_unpinned(tmp_path: Path) -> None:
    path = _export(tmp_path / "export.csv", TITLES["four lines"])
    found = inspect_file(path)
    assert found.header_row == 5
    lines = mapping_text(found, dataset="register").splitlines()
    assert not any(line.startswith("header_row") for line in lines)
    assert any(line.startswith("# header_row = 5") for line in lines)


def test_a_workbook_whose_header_moved_names_the_row_it_is_on(tmp_path: Path) -> None:
    """The same in a workbook: a title row added above a header_row the mapping pins."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Palliative Care Register - EOL audit search"])
    sheet.append(["Run date: 31-May-2026"])
    sheet.append(["Search criteria: register, all dates"])  # the new line
    sheet.append(["NHS Number", "Usual GP's Organisation Code", "Date Added to Register"])
    for number in NUMBERS:
        sheet.append([number, "C83010", "16-Feb-2024"])
    path = tmp_path / "export.xlsx"
    book.save(path)
    config = make_project(tmp_path / "p", {"emis": MAPPING.replace(
        "nhs_number", "header_row = 3\nnhs_number")})
    with pytest.raises(InputDataError) as refused:
        ingest_files(config, "register", [path], mapping="emis", reporter=Reporter())
    message = str(refused.value)
    assert "on row 4, not on row 3" in message and "header_row = 4" in message
    (config.root / "mappings" / "emis.toml").write_text(MAPPING, encoding="utf-8")
    [result] = ingest_files(make_project(tmp_path / "p"), "register", [path], mapping="emis",
                            reporter=Reporter())
    assert result.rows_loaded == 4

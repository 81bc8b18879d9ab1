"""A Place pack of the assessed sample as LibreOffice prints it (headless, to PDF): what a
commissioner gets from File > Print. Read back with poppler's pdfinfo / pdftotext, never
by looking at a picture.

Measured on the bundled demo (6 Places, 3 years): the Place pack printed on 618 A4 pages,
537 of them the Indicator data table; now 84, the Indicator data sheet one page.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook
from openpyxl.utils import range_boundaries

pytestmark = [
    pytest.mark.libreoffice,
    # CI installs LibreOffice and poppler-utils (.ci/run): there a missing tool fails.
    pytest.mark.skipif((shutil.which("soffice") is None or shutil.which("pdftotext") is None)
                       and not os.environ.get("CI"),
                       reason="LibreOffice or poppler-utils not installed"),
]

_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                   r'yMax="([\d.]+)">([^<]*)</word>')
# A figure as the packs print one: a number, a period such as 2023 or 2024-25, a date, or
# a shorthand mark.
FIGURE = re.compile(r"^(-?£?\d+(,\d{3})*(\.\d+)?%?|\d{4}(-\d\d){1,2}|\[[cxz]\])$")
Word = tuple[float, float, float, float, str]


@pytest.fixture(scope="module")
def place_pack(assessed_sample) -> Path:
    packs = sorted(p for p in assessed_sample.outputs
                   if p.name.startswith("pack-") and p.name != "pack-icb.xlsx")
    assert packs, assessed_sample.outputs
    return packs[0]


@pytest.fixture(scope="module")
def printed(place_pack, tmp_path_factory) -> Path:
    """The Place pack printed to PDF by LibreOffice: every sheet, as File > Print does."""
    out = tmp_path_factory.mktemp("printed")
    profile = tmp_path_factory.mktemp("lo_profile")
    result = subprocess.run(
        ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless",
         "--convert-to", "pdf", "--outdir", str(out), str(place_pack)],
        capture_output=True, text=True, timeout=300, check=False)
    pdf = out / (place_pack.stem + ".pdf")
    assert result.returncode == 0 and pdf.is_file(), result.stdout + result.stderr
    return pdf


@pytest.fixture(scope="module")
def place_book(place_pack):
    """The Place pack as openpyxl loads it (styles and tables), once for the tests that
    only read it: a load of the sample's Place pack is a few CPU seconds."""
    wb = load_workbook(place_pack, read_only=False)
    yield wb
    wb.close()


# pdftotext's reading of a PDF, once per file: several tests read the same printout.
@functools.cache
def _pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    return text.split("\f")[:-1]


@functools.cache
def _words(pdf: Path) -> list[list[Word]]:
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    return [[(float(a), float(b), float(c), float(d), t) for a, b, c, d, t in
             _WORD.findall(page)] for page in html.split("<page ")[1:]]


def _lines(page: list[Word]) -> list[list[Word]]:
    lines: dict[int, list[Word]] = {}
    for word in page:
        lines.setdefault(round(word[3]), []).append(word)
    return [sorted(line) for _, line in sorted(lines.items())]


def _sheet_of(page: str, sheets: list[str]) -> str | None:
    """The sheet a page belongs to: its page header ends with the sheet name."""
    head = [line.rstrip() for line in page.splitlines() if line.strip()][:2]
    return next((s for s in sorted(sheets, key=len, reverse=True)
                 if any(line.endswith(s) for line in head)), None)


def test_the_default_print_is_what_a_reader_needs(place_pack, place_book, printed,
                                                  assessed_sample):
    """Printing the whole workbook prints every theme sheet and only the notes of the
    Indicator data sheet (it printed every row: 537 of the demo pack's 618 pages), and
    the sheet itself still holds every row of the Place's table."""
    info = subprocess.run(["pdfinfo", str(printed)], capture_output=True, text=True,
                          check=True).stdout
    total = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]
    pages = _pages(printed)
    assert len(pages) == total
    wb = place_book
    per_sheet: dict[str, int] = {}
    for page in pages:
        sheet = _sheet_of(page, wb.sheetnames)
        assert sheet is not None, page[:300]
        per_sheet[sheet] = per_sheet.get(sheet, 0) + 1
    assert set(per_sheet) == set(wb.sheetnames)  # every sheet prints
    assert per_sheet["Indicator_data"] == 1, per_sheet
    data_page = next(p for p in pages if _sheet_of(p, wb.sheetnames) == "Indicator_data")
    assert "To print rows: filter the table" in " ".join(data_page.split())
    assert total <= 100, per_sheet
    assert per_sheet["Key_findings"] == 1, per_sheet  # a commissioner's one page
    # The theme sheets print whole: every indicator of Place of death is on paper.
    place_of_death = " ".join(" ".join(p.split()) for p in pages
                              if _sheet_of(p, wb.sheetnames) == "Place_of_death")
    for name in ("Deaths at home", "Deaths in hospital", "Deaths in usual place of residence"):
        assert name in place_of_death, name
    # The sheet is still complete: one table row per indicator row of the Place.
    ws = wb["Indicator_data"]
    table = next(iter(ws.tables.values()))
    _, first, _, last = range_boundaries(table.ref)
    place = place_pack.stem.removeprefix("pack-")
    codes = {p.code.lower(): p.code for p in assessed_sample.bundle.config.places}
    rows = assessed_sample.indicators.filter(pl.col("area_code") == codes[place]).height
    assert last - first >= rows  # the Place's rows and the ICB's beside them


def test_contents_sheet_names_print_whole(place_pack, printed):
    """Each sheet name on the printed Contents sheet ends before its description
    begins (LibreOffice cut 'DQ10 Areas and population' at the description, where
    pdftotext read it as 'populationData'). Checked on the words' boxes in the PDF."""
    wb = load_workbook(place_pack, read_only=True)
    names = wb.sheetnames[2:]  # Contents lists the sheets after itself
    # Every page of Contents: with more data-quality tables it runs onto a second page.
    pages = [w for w, text in zip(_words(printed), _pages(printed), strict=True)
             if _sheet_of(text, wb.sheetnames) == "Contents"]
    found = 0
    for line in (line for page in pages for line in _lines(page)):
        texts = [w[4] for w in line]
        for name in names:
            parts = name.split()
            if texts[:len(parts)] != parts or len(texts) == len(parts):
                continue
            found += 1
            # The description starts in the next column: a gap, not a fused word.
            assert line[len(parts)][0] - line[len(parts) - 1][2] >= 3.0, (name, texts)
            break
    assert found == len(names), (found, names)
    # A two-digit DQ sheet (DQ10 or later: the number moves as tables are added).
    assert any(re.fullmatch(r"DQ1\d_Areas_and_population", n) for n in names), names


def test_printed_figures_stand_apart_from_the_next_column(printed):
    """No figure prints run into the cell to its right: a figure followed on its line by
    a word that starts like a figure or a period ('28.3' then '2023, not 2025-26') is at
    least 3 pt from it. With LibreOffice ignoring the alignment indent they stood 1.3 pt
    apart, closer than a space."""
    starts = re.compile(r"^[-£\[\d]")
    checked = 0
    for number, page in enumerate(_words(printed), start=1):
        for line in _lines(page):
            for before, after in zip(line, line[1:], strict=False):
                if FIGURE.match(before[4]) and starts.match(after[4]):
                    checked += 1
                    assert after[0] - before[2] >= 3.0, (number, before, after)
    assert checked > 200


def test_printed_column_headers_keep_their_words_whole(place_book, printed):
    """Every word of every table header prints whole: a header wraps between words,
    never inside one ('Numerato' / 'r' printed under a column too narrow for the bold
    word)."""
    wb = place_book
    pages = _pages(printed)
    for name in ("Summary", "Place_of_death", "Identification", "Hospital_use"):
        ws = wb[name]
        table = next(iter(ws.tables.values()))
        first_col, header_row, last_col, _ = range_boundaries(table.ref)
        words = {w.strip("()") for c in range(first_col, last_col + 1)
                 for w in str(ws.cell(header_row, c).value).split()}
        printed_words = {w.strip("()") for p in pages if _sheet_of(p, wb.sheetnames) == name
                         for w in p.split()}
        broken = sorted(w for w in words if len(w) > 3 and w not in printed_words)
        assert not broken, (name, broken)

"""The Excel packs: reopened with openpyxl, round-tripped through LibreOffice, attacked
with formula payloads.

Workbooks are built once per module (building is the slow part) from the shared
hand-made bundle in tests/report_fixtures.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.utils import range_boundaries

from eolneeds import report_excel
from eolneeds.errors import UsageError

sys.path.insert(0, str(Path(__file__).parent))
from report_fixtures import HOSTILE_STRINGS, make_bundle  # noqa: E402

FRONT_SHEETS = ["Cover", "Contents", "Notes", "Metadata"]
THEME_SHEETS = ["Summary", "Mortality_and_need", "Place_of_death", "Identification",
                "Hospital_use", "Cost_per_death", "Inequalities", "Projections"]
TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
BAD_SHEET_CHARS = set("[]:*?/\\")


@pytest.fixture(scope="module")
def bundle():
    return make_bundle()


@pytest.fixture(scope="module")
def packs(tmp_path_factory, bundle):
    """The ICB pack and one Place pack, written through the public entry point."""
    out = tmp_path_factory.mktemp("packs")
    icb = out / "icb.xlsx"
    place = out / "place.xlsx"
    report_excel.write_excel_pack(bundle, icb)
    report_excel.write_excel_pack(bundle, place, place=bundle.places[1])
    return {"icb": icb, "place": place}


@pytest.fixture(scope="module")
def books(packs):
    """Each pack opened once (about a CPU second each) for the module's read-only checks.
    Reading a cell with ws.cell() creates it in memory, so a test comparing whole sheets
    opens its own copy."""
    return {name: load_workbook(path) for name, path in packs.items()}


@pytest.fixture(scope="module")
def hostile_packs(tmp_path_factory):
    hostile = make_bundle(hostile=True)
    out = tmp_path_factory.mktemp("hostile")
    paths = [out / "icb.xlsx"]
    report_excel.write_excel_pack(hostile, paths[0])
    # The ICB pack carries every Place's name; one Place pack covers the Place layout.
    paths.append(out / "place.xlsx")
    report_excel.write_excel_pack(hostile, paths[-1], place=hostile.places[0])
    return paths


@pytest.fixture(scope="module")
def hostile_books(hostile_packs):
    return [(path, load_workbook(path)) for path in hostile_packs]


def _only_table_ref(ws) -> str:
    (table,) = ws.tables.values()
    return table.ref


def _data_sheets(wb):
    return [ws for ws in wb.worksheets if ws.title != "Cover"]


# ---------------------------------------------------------------------------------------
# Structure


@pytest.mark.parametrize("which", ["icb", "place"])
def test_sheet_order_is_cover_contents_notes_metadata_then_themes(books, which):
    wb = books[which]
    names = wb.sheetnames
    assert names[:4] == FRONT_SHEETS
    assert names[4] == "Key_findings"  # what a commissioner reads first, as in the report
    assert names[5:5 + len(THEME_SHEETS)] == THEME_SHEETS
    dq = [n for n in names if n.startswith("DQ")]
    assert len(dq) == 4  # one per bundle.data_quality table
    assert names[-1] == "Indicator_data"
    for name in names:
        assert len(name) <= 31 and not (set(name) & BAD_SHEET_CHARS)


@pytest.mark.parametrize("which", ["icb", "place"])
def test_every_data_sheet_has_a_valid_table_matching_its_data(books, which):
    wb = books[which]
    seen: set[str] = set()
    for ws in _data_sheets(wb):
        assert len(ws.tables) >= 1, ws.title
        for name, ref in ws.tables.items():
            assert TABLE_NAME.match(name) and len(name) <= 255, name
            assert name.casefold() not in seen, f"duplicate table name {name}"
            seen.add(name.casefold())
            min_col, min_row, max_col, max_row = range_boundaries(ref)
            # The table covers exactly the used block: the header, at least one data
            # row, nothing written below it except charts' room, nothing to its right.
            assert max_row > min_row, f"{ws.title}: empty table"
            headers = [ws.cell(min_row, c).value for c in range(min_col, max_col + 1)]
            assert all(isinstance(h, str) and h for h in headers), (ws.title, headers)
            assert len({h.casefold() for h in headers}) == len(headers)
            assert all(ws.cell(min_row, c).data_type == "s"
                       for c in range(min_col, max_col + 1))
            assert ws.cell(max_row + 1, min_col).value is None
            assert ws.cell(min_row, max_col + 1).value is None
            assert any(ws.cell(max_row, c).value is not None
                       for c in range(min_col, max_col + 1))
            # No merged cell may touch a table (Excel repairs such files).
            for merged in ws.merged_cells.ranges:
                assert merged.max_row < min_row, (ws.title, str(merged))
            # No frozen panes (test_excel_standard_audit.test_no_sheet_freezes_panes).
            assert ws.freeze_panes is None, ws.title
        assert ws["A1"].style == "Headline 1" and ws["A1"].value


def test_value_columns_carry_number_formats(books):
    wb = books["icb"]
    ws = wb["Place_of_death"]
    ref = _only_table_ref(ws)
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    headers = {ws.cell(min_row, c).value: c for c in range(min_col, max_col + 1)}
    for header in ("ICB", "Hartside", "Middleford", "Redcar Vale", "ICB lower 95% CI"):
        col = headers[header]
        cells = [ws.cell(r, col) for r in range(min_row + 1, max_row + 1)]
        numbers = [c for c in cells if isinstance(c.value, float)]
        assert numbers, header
        # Percentages are stored 0-100 with one decimal place and a '%' unit column
        # (and a digit's width of space after the figure: '_0').
        assert {c.number_format for c in numbers} == {"0.0_0"}, header
    units = {ws.cell(r, headers["Unit"]).value for r in range(min_row + 1, max_row + 1)}
    assert units == {"%"}

    mortality = wb["Mortality_and_need"]
    ref = _only_table_ref(mortality)
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    col = {mortality.cell(min_row, c).value: c for c in range(min_col, max_col + 1)}
    formats = {}
    for r in range(min_row + 1, max_row + 1):
        cell = mortality.cell(r, col["ICB"])
        if cell.value in ("[c]", "[x]", "[z]"):  # shorthand (HIV deaths are [c]): text
            continue
        formats.setdefault(mortality.cell(r, col["Unit"]).value, set()).add(cell.number_format)
    assert formats["count"] == {"#,##0_0"}
    assert formats["per 100,000"] == {"#,##0.0_0"}
    assert formats["%"] == {"0.0_0"}


def test_icb_pack_shows_places_side_by_side_with_comparison_words(books, bundle):
    ws = books["icb"]["Place_of_death"]
    ref = _only_table_ref(ws)
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    headers = [ws.cell(min_row, c).value for c in range(min_col, max_col + 1)]
    # Indicator, Unit, Polarity (every row is a total, so no Breakdown / Group), then areas.
    assert headers[3:7] == ["ICB", "Hartside", "Middleford", "Redcar Vale"]
    row = next(r for r in range(min_row + 1, max_row + 1)
               if ws.cell(r, 1).value == "Deaths in hospital")
    expected = bundle.indicators.filter(
        indicator_id="pod_hospital_pct", period="2024-25", breakdown="all",
        area_code="E06000002")
    # The cell holds the value at its published precision (one decimal place); the
    # comparison words say what the bundle's comparison means for a lower-is-better
    # indicator.
    assert ws.cell(row, headers.index("Middleford") + 1).value == round(
        expected["value"][0], 1)
    word_col = headers.index("Middleford compared with ICB") + 1
    words = {"higher": "Higher (worse)", "lower": "Lower (better)", "similar": "Similar"}
    assert ws.cell(row, word_col).value == words[expected["comparison"][0]]
    assert ws.cell(row, headers.index("Polarity") + 1).value == "Lower is better"
    # The colours follow the words through conditional formats on each comparison column.
    letter = ws.cell(min_row, word_col).column_letter
    ranges = [str(cf.sqref) for cf in ws.conditional_formatting]
    assert f"{letter}{min_row + 1}:{letter}{max_row}" in ranges


def test_place_pack_shows_the_place_with_the_icb_as_comparator(books, bundle):
    wb = books["place"]
    ws = wb["Summary"]
    ref = _only_table_ref(ws)
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    headers = [ws.cell(min_row, c).value for c in range(min_col, max_col + 1)]
    assert headers[3:7] == ["Middleford", "ICB", "Difference from ICB",
                            "Compared with ICB"]  # no Breakdown, Group
    assert "Hartside" not in headers
    data = wb["Indicator_data"]
    ref = _only_table_ref(data)
    _, dmin, _, dmax = range_boundaries(ref)
    area_codes = {data.cell(r, 4).value for r in range(dmin + 1, dmax + 1)}
    assert area_codes == {"E06000002", "QXX"}
    assert "Middleford" in wb["Cover"]["A1"].value


def test_suppressed_values_show_c_and_the_rule_is_stated(books, bundle):
    wb = books["icb"]
    ws = wb["Indicator_data"]
    ref = _only_table_ref(ws)
    _, min_row, _, max_row = range_boundaries(ref)
    suppressed_rows = [r for r in range(min_row + 1, max_row + 1)
                       if ws.cell(r, 21).value == "Yes"]  # the Suppressed column
    assert len(suppressed_rows) == int(bundle.indicators["suppressed"].sum())
    for r in suppressed_rows:
        assert ws.cell(r, 13).value == "[c]" and ws.cell(r, 13).data_type == "s"
    notes_above = " ".join(str(ws.cell(r, 1).value) for r in range(2, min_row))
    assert "[c] suppressed [note 1]" in notes_above
    notes = wb["Notes"]
    assert notes["A4"].value == "[note 1]"
    assert "suppressed and shown as [c]" in notes["C4"].value


def test_contents_links_every_sheet_internally(books):
    wb = books["icb"]
    ws = wb["Contents"]
    linked = []
    for row in ws.iter_rows():
        for cell in row:
            if cell.hyperlink is not None:
                assert not cell.hyperlink.target, "links must stay inside the workbook"
                match = re.fullmatch(r"'?(.*?)'?!A1", cell.hyperlink.location)
                assert match, cell.hyperlink.location
                assert match.group(1).replace("''", "'") in wb.sheetnames
                linked.append(match.group(1))
    assert linked == wb.sheetnames[2:]
    cover_links = [c.hyperlink.location for row in wb["Cover"].iter_rows() for c in row
                   if c.hyperlink is not None]
    assert cover_links == ["'Contents'!A1"]


def test_pack_has_native_charts(packs):
    from openpyxl.chart import BarChart, LineChart

    for which in ("icb", "place"):
        wb = report_excel.build_workbook(make_bundle(),
                                         place=None if which == "icb" else "E06000001")
        charts = {ws.title: ws._charts for ws in wb.worksheets if ws._charts}
        assert set(charts) == {"Place_of_death", "Inequalities", "Projections"}
        assert isinstance(charts["Place_of_death"][0], BarChart)
        assert charts["Place_of_death"][0].grouping == "stacked"
        assert isinstance(charts["Projections"][0], LineChart)
    # And they survive into the file (openpyxl does not read charts back; the zip does).
    import zipfile
    with zipfile.ZipFile(packs["icb"]) as z:
        assert len([n for n in z.namelist() if n.startswith("xl/charts/chart")]) == 3


def test_notes_and_metadata_come_from_catalogue_and_manifest(books, bundle):
    wb = books["icb"]
    notes = " ".join(str(c.value) for row in wb["Notes"].iter_rows() for c in row if c.value)
    assert "Wilson" in notes and "European Standard Population" in notes
    assert "Deaths in usual place of residence (diupr_pct)" in notes
    meta = wb["Metadata"]
    values = [[c.value for c in row] for row in meta.iter_rows()]
    flat = " ".join(str(v) for row in values for v in row if v)
    for entry in bundle.manifest["inputs"]:
        assert entry["file_name"] in flat
        assert entry["content_hash"] in flat
    assert "2022-04-01 to 2025-03-31" in flat  # deaths extract dates
    assert "eolneeds" in flat and "0.1.0" in flat


def test_data_quality_sheets_hold_the_bundle_tables(books, bundle):
    wb = books["icb"]
    completeness = wb["DQ1_Field_completeness"]
    ref = _only_table_ref(completeness)
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    assert max_row - min_row == bundle.data_quality[0].frame.height
    headers = [completeness.cell(min_row, c).value for c in range(min_col, max_col + 1)]
    assert headers == ["Dataset", "Field", "Rows", "Complete", "Complete %"]
    assert completeness.cell(min_row + 1, 3).number_format == "#,##0_0"
    # An empty data-quality table still gets a valid table with a 'No data' row.
    empty = wb["DQ4_Duplicate_deaths"]
    ref = _only_table_ref(empty)
    _, min_row, _, max_row = range_boundaries(ref)
    assert max_row == min_row + 1 and empty.cell(max_row, 1).value == "No data"


def test_same_bundle_gives_same_cells(tmp_path, bundle):
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    report_excel.write_excel_pack(bundle, a)
    report_excel.write_excel_pack(bundle, b)
    wa, wb = load_workbook(a), load_workbook(b)
    assert wa.sheetnames == wb.sheetnames
    for sa, sb in zip(wa.worksheets, wb.worksheets, strict=True):
        assert [[c.value for c in r] for r in sa.iter_rows()] == \
               [[c.value for c in r] for r in sb.iter_rows()]


def test_unknown_place_is_a_usage_error_and_writes_nothing(tmp_path, bundle):
    target = tmp_path / "nope.xlsx"
    with pytest.raises(UsageError, match="no Place with code 'E99'"):
        report_excel.write_excel_pack(bundle, target, place="E99")
    assert list(tmp_path.iterdir()) == []


def test_write_is_atomic_existing_file_kept_on_failure(tmp_path, bundle, monkeypatch):
    target = tmp_path / "pack.xlsx"
    target.write_bytes(b"previous pack")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    # Fail half-way through writing the sheets, after the zip has been started.
    monkeypatch.setattr("openpyxl.worksheet._writer.WorksheetWriter.write_tail", boom)
    with pytest.raises(OSError):
        report_excel.write_excel_pack(bundle, target)
    assert target.read_bytes() == b"previous pack"
    assert [p.name for p in tmp_path.iterdir()] == ["pack.xlsx"]


# ---------------------------------------------------------------------------------------
# Formula injection


def test_hostile_strings_are_inert_text_everywhere(hostile_books):
    payloads = HOSTILE_STRINGS
    found = 0
    for path, wb in hostile_books:
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    value = cell.value
                    assert cell.data_type != "f", (path.name, ws.title, cell.coordinate, value)
                    if isinstance(value, str):
                        assert not value.startswith(("=", "+", "-", "@")), \
                            (path.name, ws.title, cell.coordinate, value)
                        if any(p in value for p in payloads):
                            found += 1
                            assert cell.data_type == "s"
    # The payloads did reach the workbook (as text): the test is not vacuous.
    assert found > 50


def test_hostile_place_names_become_quoted_headers(hostile_books):
    wb = hostile_books[0][1]
    ws = wb["Place_of_death"]
    ref = _only_table_ref(ws)
    min_col, min_row, max_col, _ = range_boundaries(ref)
    headers = [ws.cell(min_row, c).value for c in range(min_col, max_col + 1)]
    assert "'+1" in headers and "'@SUM(A1)" in headers
    assert "'=HYPERLINK(\"x\")" in headers
    assert "<script>alert(1)</script>" not in headers  # it is a code, not a name here
    assert any('=HYPERLINK("x") ICB' in str(c.value) for c in wb["Cover"]["A"])


def test_clean_text_strips_control_characters_and_neutralises():
    assert report_excel.clean_text("=1+1") == "'=1+1"
    assert report_excel.clean_text("a\x07b") == "a b"
    assert report_excel.clean_text("\t=cmd") == "'\t=cmd"
    assert report_excel.clean_text(3) == "3"
    assert len(report_excel.clean_text("x" * 40000)) == 32767


# ---------------------------------------------------------------------------------------
# LibreOffice round trip (the nearest thing to "opens in Excel without repair" we can run)


# CI installs LibreOffice and poppler-utils (.ci/run): there a missing tool fails the
# test instead.
needs_libreoffice = pytest.mark.skipif(
    shutil.which("soffice") is None and not os.environ.get("CI"),
    reason="LibreOffice not installed")
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None and not os.environ.get("CI"),
    reason="poppler-utils (pdftotext) not installed")


@pytest.fixture(scope="module")
def pdfs(packs, tmp_path_factory):
    """Both packs printed to PDF by LibreOffice, once for every test that reads them."""
    out = tmp_path_factory.mktemp("converted")
    profile = tmp_path_factory.mktemp("lo_profile")
    result = subprocess.run(
        ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless",
         "--convert-to", "pdf", "--outdir", str(out), str(packs["icb"]), str(packs["place"])],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert result.returncode == 0, result.stderr
    return {"icb": out / "icb.pdf", "place": out / "place.pdf", "log": result.stdout
            + result.stderr, "profile": profile}


@pytest.mark.libreoffice
@needs_libreoffice
def test_libreoffice_converts_the_packs(packs, pdfs, tmp_path):
    profile = pdfs["profile"]
    for name in ("icb", "place"):
        pdf = pdfs[name]
        assert pdf.is_file(), pdfs["log"]
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF") and len(data) > 20_000
        # Every sheet prints at least one page.
        assert len(re.findall(rb"/Type\s*/Page[^s]", data)) >= 16
    # And LibreOffice reads every sheet, table cell and shorthand back as Excel would
    # need to: saved again as xlsx, the sheets, the [c] cells and the charts are there.
    again = tmp_path / "again"
    result = subprocess.run(
        ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless",
         "--convert-to", "xlsx", "--outdir", str(again), str(packs["place"])],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert result.returncode == 0, result.stderr
    original, converted = load_workbook(packs["place"]), load_workbook(again / "place.xlsx")
    assert converted.sheetnames == original.sheetnames
    for name in ("Summary", "Place_of_death", "Inequalities"):
        assert [[c.value for c in row] for row in converted[name].iter_rows()] == \
               [[c.value for c in row] for row in original[name].iter_rows()], name
    assert not any(ws.merged_cells.ranges for ws in converted.worksheets)
    import zipfile
    with zipfile.ZipFile(again / "place.xlsx") as z:
        assert len([n for n in z.namelist() if n.startswith("xl/charts/chart")]) == 3


# ---------------------------------------------------------------------------------------
# Printing: A4, legible, every page labelled (checked on LibreOffice's PDF of the packs)

_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                   r'yMax="([\d.]+)">([^<]*)</word>')


# A figure as the packs print one: a number, a period such as 2023 or 2024-25, a date,
# or a shorthand mark.
_NUMBER = re.compile(r"^(-?£?\d+(,\d{3})*(\.\d+)?%?|\d{4}(-\d\d){1,2}|\[[cxz]\])$")


def _pdf_words(pdf: Path) -> list[list[tuple[float, float, float, float, str]]]:
    """Each page's words with their boxes (points), from pdftotext -bbox."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    return [[(float(a), float(b), float(c), float(d), t) for a, b, c, d, t in
             _WORD.findall(page)] for page in html.split("<page ")[1:]]


def _pdf_pages_text(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    return text.split("\f")[:-1]


def test_print_plan_known_answers():
    """A4 is 595 x 842 pt; with 0.4 in side margins 538 pt (portrait) or 784 pt
    (landscape) are usable. Worked by hand from those widths."""
    plan = report_excel.print_plan
    assert plan(500, []) == report_excel.PrintPlan("portrait", 100, False, 0)
    assert plan(700, []) == report_excel.PrintPlan("landscape", 100, False, 0)
    # 980 pt: 784.3 / 980 = 80% of full size, legible: fitted to one page wide.
    assert plan(980, []) == report_excel.PrintPlan("landscape", 80, True, 0)
    # 3,000 pt would print at 26%: across pages at 65% instead, repeating key columns
    # while they take at most 60% of the page (470.6 pt): 300 + 80 + 180 = 560 pt is
    # 364 pt at 65%, so all three; 600 + 300 = 900 pt is 585 pt, so only the first.
    assert plan(3000, [300, 80, 180]) == report_excel.PrintPlan("landscape", 65, False, 3)
    assert plan(3000, [600, 300]) == report_excel.PrintPlan("landscape", 65, False, 1)
    assert plan(3000, [800]) == report_excel.PrintPlan("landscape", 65, False, 0)


def test_every_sheet_has_an_a4_print_setup(books):
    """A4; portrait, landscape or fitted to the width only at 65% or more, else at 65%
    across pages with the table's header row (and key columns) repeated; margins; the
    pack's title, the sheet name and 'Page N of M' in the header and footer."""
    for wb in books.values():
        for ws in wb.worksheets:
            setup = ws.page_setup
            assert int(setup.paperSize) == 9, ws.title  # A4
            assert setup.orientation in ("portrait", "landscape"), ws.title
            assert setup.pageOrder == "overThenDown", ws.title
            assert ws.page_margins.left == 0.4 and ws.page_margins.top == 0.7, ws.title
            assert ws.oddHeader.right.text == "&A" and "&P of &N" in ws.oddFooter.right.text
            assert ws.oddHeader.left.text.startswith("Palliative and end-of-life care")
            assert ws.print_area, ws.title
            if ws.sheet_properties.pageSetUpPr.fitToPage:
                assert (setup.orientation, setup.fitToWidth, setup.fitToHeight) == \
                    ("landscape", 1, 0), ws.title
            else:
                assert int(setup.scale or 100) >= 65, ws.title
            if ws.tables:
                ref = next(iter(ws.tables.values())).ref
                header_row = range_boundaries(ref)[1]
                assert ws.print_title_rows == f"${header_row}:${header_row}", ws.title
        # The theme tables are too wide for one page: they print across pages at 65%,
        # indicator, breakdown and group repeated at the left of each.
        for name in ("Mortality_and_need", "Place_of_death", "Hospital_use"):
            ws = wb[name]
            assert not ws.sheet_properties.pageSetUpPr.fitToPage, name
            assert (ws.page_setup.orientation, int(ws.page_setup.scale)) == ("landscape", 65)
            assert ws.print_title_cols == "$A:$C", name
        assert wb["Cover"].page_setup.orientation == "portrait"


def test_numbers_stand_off_the_cell_to_their_right(books):
    """A right-aligned figure keeps a digit's width of space at its cell's right edge,
    in its number format ('_0', which Excel and LibreOffice both honour; LibreOffice
    ignored the alignment indent used before in some rows), and its column is widened
    for it, so "28.3" never prints flush against "2023" in the next column
    (tests/test_excel_print.py checks LibreOffice's PDF)."""
    ws = books["icb"]["Summary"]
    numbers = [c for row in ws.iter_rows() for c in row
               if isinstance(c.value, int | float) or c.value in ("[c]", "[x]", "[z]")]
    assert numbers and all(c.alignment.horizontal == "right" for c in numbers)
    assert all(c.number_format.endswith("_0") for c in numbers)
    assert {c.number_format for c in numbers if isinstance(c.value, str)} == {"@_0"}


@pytest.mark.libreoffice
@needs_libreoffice
@needs_poppler
def test_printed_packs_are_legible_and_labelled(books, pdfs):
    """The PDF LibreOffice prints: no word smaller than about 6 pt (the old fit-everything
    -to-one-page-wide setup printed theme tables at 3 pt); no two figures run together
    (it printed "43.0" and "2023" as "43.02023"); every page carries its sheet's
    name and 'Page N of M'; and the page count stays bounded. Two figures side by side
    (two cells) stand at least 3 pt apart: a space of the smallest printed text is 2 pt."""
    for name in ("icb", "place"):
        words = _pdf_words(pdfs[name])
        heights = [w[3] - w[1] for page in words for w in page]
        # A word's box is about 1.2 x its font size: 7.5 pt is about 6 pt text.
        assert min(heights) >= 7.5, (name, min(heights))
        for number, page in enumerate(words, start=1):
            lines: dict[float, list[tuple[float, float, float, float, str]]] = {}
            for word in page:
                lines.setdefault(round(word[3]), []).append(word)
            for line in lines.values():
                line.sort()
                for before, after in zip(line, line[1:], strict=False):
                    if _NUMBER.match(before[4]) and _NUMBER.match(after[4]):
                        assert after[0] - before[2] >= 3.0, (name, number, before, after)
        pages = _pdf_pages_text(pdfs[name])
        sheets = books[name].sheetnames
        per_sheet: dict[str, int] = {}
        for number, text in enumerate(pages, start=1):
            assert f"Page {number} of {len(pages)}" in text, (name, number)
            # The page header: the pack's title, then the sheet name at the right.
            head = [line.rstrip() for line in text.splitlines() if line.strip()][:2]
            sheet = next((s for s in sorted(sheets, key=len, reverse=True)
                          if any(line.endswith(s) for line in head)), None)
            assert sheet is not None, (name, number, head)
            per_sheet[sheet] = per_sheet.get(sheet, 0) + 1
        assert set(per_sheet) == set(sheets), name
        # Short sheets print on a page or three, the notes on a few more; the Indicator
        # data sheet only its notes and header row (tests/test_excel_print.py).
        for sheet, count in per_sheet.items():
            limit = 1 if sheet == "Indicator_data" else 8 if sheet == "Notes" else 4
            assert count <= limit, (name, sheet, count)


# ---------------------------------------------------------------------------------------
# The fast paths give what openpyxl's own slow paths give
#
# The pack is written with pre-built cell styles, rows formatted as text, the Indicator
# data body streamed from its values, and memoised merges (a 300,000-cell pack took a
# minute through openpyxl's per-cell paths). Each fast path is compared here with the
# openpyxl code it stands in for, so a change in either shows up as a failure.


def _canonical_parts(path: Path) -> dict[str, str]:
    """Every XML part of an xlsx in canonical form (attribute order, quoting and empty
    elements normalised), minus the save timestamp."""
    import zipfile
    from xml.etree.ElementTree import canonicalize

    with zipfile.ZipFile(path) as z:
        return {name: canonicalize(z.read(name).decode("utf-8"))
                for name in z.namelist() if name != "docProps/core.xml"}


def _every_kind_of_cell(path_for_openpyxl: Path, path_for_ours: Path) -> None:
    from datetime import date, datetime

    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    def build():
        wb = Workbook()
        ws = wb.active
        values = [
            0, 1, -7, 10**17, 2.5, -0.0, 1e-12, 1 / 3, 123456789.123456789, float("nan"),
            "plain", " leading", "trailing ", "   ", "", "a & b < c > d \"e\"", "line\nbreak",
            "tab\there", "unicode £ é 漢", "'=1+1", "#N/A", True, False,
            date(2024, 3, 31), datetime(2024, 4, 1, 13, 30), "=SUM(A1:A2)", None,
        ]
        for row, value in enumerate(values, start=1):
            ws.cell(row=row, column=1, value=value)
            styled = ws.cell(row=row, column=3, value=value)
            styled.font = Font(bold=True)
            styled.number_format = "0.00"
            ws.cell(row=row, column=5).font = Font(italic=True)  # a styled blank
        ws["B2"].hyperlink = "#Sheet!A1"
        ws["B3"] = "linked"
        ws["B3"].hyperlink = "#'Other sheet'!A1"
        ws["B4"].comment = Comment("a note", "me")
        ws.row_dimensions[2].height = 30
        ws.row_dimensions[40].height = 20  # a row with a height and no cells
        wb.create_sheet("Other sheet")["A1"] = "x"
        return wb

    build().save(path_for_openpyxl)
    report_excel.save_workbook(build(), path_for_ours)


def test_fast_row_writer_writes_what_openpyxl_writes(tmp_path):
    theirs, ours = tmp_path / "openpyxl.xlsx", tmp_path / "ours.xlsx"
    _every_kind_of_cell(theirs, ours)
    expected, got = _canonical_parts(theirs), _canonical_parts(ours)
    assert set(got) == set(expected)
    for name in expected:
        assert got[name] == expected[name], name
    # And the comparison can fail: a changed cell is a different part.
    assert '<c r="A1"' in expected["xl/worksheets/sheet1.xml"]


@pytest.mark.parametrize("hostile", [False, True], ids=["plain", "hostile"])
def test_streamed_pack_equals_the_pack_openpyxl_writes_cell_by_cell(tmp_path, bundle,
                                                                    hostile, monkeypatch):
    """write_excel_pack (Indicator data written column by column, fast rows) against
    build_workbook (every cell made, row by row) saved by openpyxl's own Workbook.save:
    the same file, also for hostile text (formula payloads, control characters, XML
    metacharacters, leading and trailing spaces)."""
    if hostile:
        bundle = make_bundle(hostile=True)
    formatted = []  # the column-wise path must be the one taken
    row_xml = report_excel._DataColumns.row_xml
    monkeypatch.setattr(report_excel._DataColumns, "row_xml",
                        lambda self, *a: formatted.append(self) or row_xml(self, *a))
    for place in (None, bundle.places[0]):
        ours, theirs = tmp_path / "ours.xlsx", tmp_path / "theirs.xlsx"
        report_excel.write_excel_pack(bundle, ours, place=place)
        report_excel.build_workbook(bundle, place=place).save(theirs)
        expected, got = _canonical_parts(theirs), _canonical_parts(ours)
        assert set(got) == set(expected)
        for name in expected:
            if name.startswith("xl/drawings/drawing"):
                # Our writer adds each chart's alt text; openpyxl's cannot.
                assert 'descr="' in got[name] and 'descr="' not in expected[name]
                got[name] = re.sub(r' (descr|title)="[^"]*"', "", got[name])
            if "<tableParts" in got[name]:
                # Our writer exempts each table body from "number stored as text";
                # openpyxl's writes no <ignoredErrors>.
                assert "<ignoredErrors>" in got[name]
                got[name] = re.sub(r"<ignoredErrors>.*?</ignoredErrors>", "", got[name])
            assert got[name] == expected[name], (place, name)
    assert len(formatted) == 2


def test_cell_maker_matches_setting_style_and_format_on_each_cell(bundle):
    """_CellMaker resolves each (named style, number format) once; the cells must be
    the ones the public API makes: cell.value, cell.style, cell.number_format."""
    from datetime import date

    wb = report_excel.build_workbook(bundle)
    ws = wb.create_sheet("Scratch")
    # A figure's cell (eol_number) carries its format with a digit's width of space
    # after it ('_0'); text marks and blanks there take the text format '@_0'.
    rate, text = "#,##0.0_0", "@_0"
    cases = [  # (value, number_format, style) -> what _put wrote before it was fast
        ("text", None, "eol_cell", "text", "s", "eol_cell", "General"),
        ("=bad", None, "eol_wrap", "'=bad", "s", "eol_wrap", "General"),
        ("#N/A", None, "eol_cell", "#N/A", "s", "eol_cell", "General"),
        (3, "0", "eol_cell", 3, "n", "eol_number", "0_0"),
        (2.5, None, "eol_cell", 2.5, "n", "eol_number", rate),
        (float("inf"), None, "eol_cell", None, "n", "eol_number", text),
        (report_excel.Num(12.0, "0.0"), None, "eol_cell", 12.0, "n", "eol_number", "0.0_0"),
        (report_excel.Num(float("nan"), "0.0"), None, "eol_cell", None, "n", "eol_number",
         text),
        (report_excel.CONFIDENTIAL, None, "eol_cell", "[c]", "s", "eol_number", text),
        (report_excel.NOT_APPLICABLE, None, "eol_cell", "[z]", "s", "eol_number", text),
        (2.26, None, "eol_cell", 2.3, "n", "eol_number", rate),  # stored as published
        (True, None, "eol_word", "Yes", "s", "eol_word", "General"),
        (date(2024, 4, 1), None, "eol_cell", date(2024, 4, 1), "d", "eol_number",
         "yyyy-mm-dd_0"),
        (None, None, "eol_wrap", None, "n", "eol_wrap", "General"),
    ]
    for row, (value, fmt, style, stored, data_type, style_name, number_format) in enumerate(
            cases, start=1):
        report_excel._put(ws, row, 1, value, number_format=fmt, style=style)
        cell = ws.cell(row, 1)
        assert (cell.value, cell.data_type) == (stored, data_type), value
        assert (cell.style, cell.number_format) == (style_name, number_format), value
        # The same cell made through openpyxl's public setters has the same style array.
        reference = ws.cell(row, 2)
        reference.style = style_name
        if number_format != "General":
            reference.number_format = number_format
        assert list(cell._style) == list(reference._style), value


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(
    st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**12, 10**12),
    st.text(max_size=12), st.booleans(),
    st.builds(report_excel.Num, st.one_of(st.none(), st.floats()), st.just("0.0")),
), max_size=30))
@example([0.0, -0.0])  # "-0.00" is longer than "0.00"
@example([9.994, 9.996, -9.996, None, "ab\ncde"])  # rounding up adds a digit
def test_longest_is_the_longest_display_length(values):
    assert report_excel._longest(values) == max(
        (report_excel._display_length(v) for v in values), default=0)


def test_without_the_fast_rows_the_streamed_body_is_still_written(tmp_path, bundle,
                                                                   monkeypatch):
    """Where openpyxl writes with lxml (no raw text), the streamed Indicator data body
    is turned into cells first and openpyxl writes them: the same file."""
    fast = tmp_path / "fast.xlsx"
    report_excel.write_excel_pack(bundle, fast, place=bundle.places[0])
    monkeypatch.setattr(report_excel, "LXML", True)
    plain = tmp_path / "plain.xlsx"
    report_excel.write_excel_pack(bundle, plain, place=bundle.places[0])
    assert _canonical_parts(plain) == _canonical_parts(fast)
    data = load_workbook(plain)["Indicator_data"]
    assert data.max_row > 100 and data.cell(data.max_row, 1).value


def test_packs_written_together_equal_packs_written_one_by_one(tmp_path, bundle):
    """write_excel_packs shares each row's cells and XML between the packs of one bundle
    (the ICB's rows are in every pack): the files are the ones written separately."""
    targets = [(tmp_path / "together-icb.xlsx", None)] + [
        (tmp_path / f"together-{i}.xlsx", code) for i, code in enumerate(bundle.places)]
    written = []
    report_excel.write_excel_packs(bundle, targets, written=written.append)
    assert written == [path for path, _ in targets]
    for path, place in targets:
        alone = tmp_path / "alone.xlsx"
        report_excel.write_excel_pack(bundle, alone, place=place)
        assert _canonical_parts(path) == _canonical_parts(alone), place


# ---------------------------------------------------------------------------------------
# Key findings


def _key_findings(wb) -> list[dict[str, Any]]:
    ws = wb["Key_findings"]
    table = ws.tables["Key_findings"]
    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    rows = [[ws.cell(r, c) for c in range(min_col, max_col + 1)]
            for r in range(min_row, max_row + 1)]
    header = [c.value for c in rows[0]]
    return [{h: c for h, c in zip(header, row, strict=True)} for row in rows[1:]]


@pytest.mark.parametrize("which", ["icb", "place"])
def test_the_key_findings_sheet_carries_the_reports_findings(books, bundle, which):
    """Word for word the report's cards, in the report's order (a Place's pack after
    the Place's own findings, tests/test_place_findings.py), a pointer to a section of
    the report left out (Finding.detail_for); each row linking to a sheet of this
    workbook; a table from the row under its notes, cited notes resolve."""
    from eolneeds.report_html import build_context

    report = [v.finding for v in build_context(bundle).findings]
    assert len(report) >= 5
    rows = _key_findings(books[which])
    said = [(r["Question"].value, r["Finding"].value, r["Detail"].value) for r in rows]
    own = len(said) - len(report)
    assert (own == 0) == (which == "icb")
    assert said[own:] == [(f.question, f.headline, f.detail_for(None)) for f in report]
    for row in rows:
        link = row["Sheet in this workbook"]
        assert link.hyperlink is not None and link.value in books[which].sheetnames
        assert link.hyperlink.location == f"'{link.value}'!A1"
    ws = books[which]["Key_findings"]
    assert ws["A1"].value.startswith("Key findings: ")
    notes = {r[0] for r in books[which]["Notes"].iter_rows(values_only=True)
             if isinstance(r[0], str) and r[0].startswith("[note")}
    above = " ".join(str(c.value) for c in ws["A"][1:5] if c.value)
    cited = set(re.findall(r"\[note \d+\]", above))
    assert cited and cited <= notes, (cited, notes)


def test_the_key_findings_sheet_never_says_a_suppressed_value(tmp_path):
    """Middleford's share of hospital deaths, the highest, is suppressed: the pack's key
    findings no longer name it or its value (as the report's cards, findings.py)."""
    from test_findings import _set

    bundle = make_bundle()
    bundle.indicators = _set(bundle.indicators, "pod_hospital_pct", "E06000002",
                             value=71.5, lower_ci_95=69.0, upper_ci_95=74.0)
    path = tmp_path / "before.xlsx"
    report_excel.write_excel_pack(bundle, path)
    before = " ".join(str(c.value) for r in _key_findings(load_workbook(path)) for c in r.values())
    assert "Deaths in hospital are highest in Middleford: 71.5%" in before
    bundle.indicators = _set(bundle.indicators, "pod_hospital_pct", "E06000002",
                             value=None, lower_ci_95=None, upper_ci_95=None,
                             numerator=None, suppressed=True)
    for place in (None, "E06000002"):
        path = tmp_path / f"after-{place}.xlsx"
        report_excel.write_excel_pack(bundle, path, place=place)
        after = " ".join(str(c.value) for r in _key_findings(load_workbook(path))
                         for c in r.values())
        assert "71.5" not in after and "highest in Middleford" not in after


def test_the_cover_points_to_the_key_findings_and_says_where_filters_are(books):
    for wb in books.values():
        cover = " ".join(str(c.value) for c in wb["Cover"]["A"] if c.value)
        assert "Start with the Key_findings sheet" in cover
        assert "with filters;" not in cover  # filter buttons are on Indicator_data only
        assert "filter buttons only on the Indicator_data table" in cover


def test_the_key_findings_are_worked_out_once_for_all_packs(tmp_path, bundle, monkeypatch):
    """The findings read the indicator table (millions of rows at England scale): the
    packs of one bundle share them rather than each working them out again."""
    calls = []
    original = report_excel.findings_builder

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(report_excel, "findings_builder", counted)
    targets = [(tmp_path / "icb.xlsx", None)] + [
        (tmp_path / f"{code}.xlsx", code) for code in bundle.places]
    report_excel.write_excel_packs(bundle, targets)
    assert len(calls) == 1
    for path, _ in targets:
        assert _key_findings(load_workbook(path))

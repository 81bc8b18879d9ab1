"""The Excel packs against the Government Analysis Function's "Releasing statistics in
spreadsheets", point by point, asserted on packs written by the public entry point.

Each test names the point it checks. The packs are the ICB pack and every Place's pack
of the shared hand-made bundle (tests/report_fixtures.py); charts are read from the
file's XML (openpyxl does not read charts' alt text or references back).
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import polars as pl
import pytest
from openpyxl import load_workbook
from openpyxl.utils import range_boundaries

from eolneeds import categories, report_excel

sys.path.insert(0, str(Path(__file__).parent))
from report_fixtures import make_bundle  # noqa: E402

SHORTHAND = {"[c]", "[x]", "[z]"}
COMPARISON_WORDS = {"Higher (worse)", "Lower (worse)", "Higher (better)", "Lower (better)",
                    "Similar", "Higher (not judged)", "Lower (not judged)", "Not compared"}
NOTE = re.compile(r"\[note (\d+)\]")
NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "xdr": "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing",
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
}


def with_no_residents(built, place: str, quintile: str):
    """The bundle with `place` having no LSOA in deprivation `quintile`: its rows for
    that quintile published as "no residents" (no value, not suppressed), as
    categories.no_residents_rows writes them."""
    hit = ((pl.col("area_code") == place) & (pl.col("breakdown") == "imd_quintile")
           & (pl.col("breakdown_value") == quintile))
    measures = ["numerator", "denominator", "value", "lower_ci_95", "upper_ci_95",
                "lower_ci_99_8", "upper_ci_99_8"]
    built.indicators = built.indicators.with_columns(
        *[pl.when(hit).then(None).otherwise(pl.col(c)).alias(c) for c in measures],
        pl.when(hit).then(False).otherwise(pl.col("suppressed")).alias("suppressed"),
        pl.when(hit).then(pl.lit(categories.NO_RESIDENTS_NOTE)).otherwise(pl.col("note"))
        .alias("note"))
    return built


#: The fixture Place with no residents in a quintile (a Place with no LSOA in the most
#: deprived fifth of England, say): its pack must still chart its own gradient.
NO_RESIDENTS_PLACE, NO_RESIDENTS_QUINTILE = "E06000003", "1"


@pytest.fixture(scope="module")
def bundle():
    # A scheduled next update, as [project] next_update in eolneeds.toml gives it.
    built = with_no_residents(make_bundle(), NO_RESIDENTS_PLACE, NO_RESIDENTS_QUINTILE)
    built.config = dataclasses.replace(built.config, next_update="1 June 2025 (monthly)")
    return built


@pytest.fixture(scope="module")
def packs(tmp_path_factory, bundle):
    """The ICB pack (key None) and every Place's pack, written as assess writes them."""
    out = tmp_path_factory.mktemp("standard")
    paths = {}
    for place in (None, *bundle.places):
        paths[place] = out / f"pack-{place or 'icb'}.xlsx"
        report_excel.write_excel_pack(bundle, paths[place], place=place)
    return paths


@pytest.fixture(scope="module")
def books(packs):
    return {place: load_workbook(path) for place, path in packs.items()}


def _tables(wb):
    """(sheet, table name, (min_col, min_row, max_col, max_row)) for every table."""
    for ws in wb.worksheets:
        for name, ref in ws.tables.items():
            yield ws, name, range_boundaries(ref)


def _table_cells(ws, bounds):
    min_col, min_row, max_col, max_row = bounds
    headers = [ws.cell(min_row, c).value for c in range(min_col, max_col + 1)]
    rows = [[ws.cell(r, c) for c in range(min_col, max_col + 1)]
            for r in range(min_row + 1, max_row + 1)]
    return headers, rows


# ---------------------------------------------------------------------------------------
# Cover sheet, contents, notes


def test_cover_gives_title_about_source_period_dates_contact_and_shorthand(books, bundle):
    for place, wb in books.items():
        cover = wb["Cover"]
        assert cover["A1"].style == "Headline 1" and "needs assessment" in cover["A1"].value
        assert cover.tables == {} and not cover.merged_cells.ranges
        text = "\n".join(str(c.value) for c in cover["A"] if c.value)
        # Nothing outside column A.
        assert all(c.value is None for row in cover.iter_rows(min_col=2) for c in row)
        for start in ("Source: ", "Period covered: 2024-25", "Published: ",
                      "Next update: 1 June 2025 (monthly)",
                      f"Contact: {bundle.config.contact}"):
            assert f"\n{start}" in text, start
        assert bundle.generated_at.strftime("%d %B %Y") in text
        assert "This workbook is the population needs assessment" in text
        for mark in ("[c] confidential", "[x] not available", "[z] not applicable",
                     "[note N]", "Higher (worse)"):
            assert mark in text, mark
        headings = [c.value for c in cover["A"] if c.style == "Headline 2"]
        assert "Shorthand used in the tables" in headings
        if place is not None:
            assert bundle.config.place_name(place) in cover["A1"].value


def test_next_update_has_a_default_when_not_configured(tmp_path):
    path = tmp_path / "pack.xlsx"
    report_excel.write_excel_pack(make_bundle(), path)
    text = " ".join(str(c.value) for c in load_workbook(path)["Cover"]["A"] if c.value)
    assert "Next update: Not scheduled" in text


def test_contents_links_resolve_to_every_later_sheet(books):
    for wb in books.values():
        ws = wb["Contents"]
        (name, ref), = ws.tables.items()
        _, rows = _table_cells(ws, range_boundaries(ref))
        targets = []
        for sheet_cell, description in rows:
            link = sheet_cell.hyperlink
            assert link is not None and not link.target  # inside the workbook
            sheet, cell = link.location.rsplit("!", 1)
            sheet = sheet.strip("'").replace("''", "'")
            assert sheet in wb.sheetnames and cell == "A1"
            assert sheet_cell.value == sheet and description.value
            targets.append(sheet)
        assert targets == wb.sheetnames[2:]


def test_note_markers_resolve_to_the_notes_table(books):
    for wb in books.values():
        notes = wb["Notes"]
        (_, ref), = notes.tables.items()
        headers, rows = _table_cells(notes, range_boundaries(ref))
        assert headers[0] == "Note number"
        numbers = [row[0].value for row in rows]
        assert numbers == [f"[note {i}]" for i in range(1, len(rows) + 1)]
        cited: set[str] = set()
        for ws in wb.worksheets:
            if ws.title in ("Cover", "Notes"):
                continue
            for row in ws.iter_rows():
                for cell in row:
                    cited |= {f"[note {n}]" for n in NOTE.findall(str(cell.value or ""))}
        assert cited and cited <= set(numbers)
        # Each indicator row of a theme table cites its definition first.
        topics = {row[0].value: row[1].value for row in rows}
        ws = wb["Place_of_death"]
        headers, table = _table_cells(ws, range_boundaries(ref_of(ws)))
        col = headers.index("Notes")
        for row in table:
            first = NOTE.search(row[col].value)
            assert first, row[0].value
            assert topics[first.group(0)].startswith(row[0].value)


def ref_of(ws) -> str:
    (_, ref), = ws.tables.items()
    return ref


# ---------------------------------------------------------------------------------------
# One table per sheet from A1, Excel tables, no merged cells, no blanks


def test_one_table_per_sheet_title_in_a1_nothing_beside_or_below(books):
    for wb in books.values():
        for ws in wb.worksheets[1:]:
            assert len(ws.tables) == 1, ws.title
            min_col, min_row, max_col, max_row = range_boundaries(ref_of(ws))
            assert min_col == 1 and ws["A1"].style == "Headline 1" and ws["A1"].value
            assert ws["A2"].value == "This worksheet contains one table." or ws.title in (
                "Contents", "Notes", "Metadata")
            for row in ws.iter_rows():
                for cell in row:
                    if cell.value is None:
                        continue
                    inside = (min_col <= cell.column <= max_col
                              and min_row <= cell.row <= max_row)
                    # Above the table: title and notes, in column A only.
                    assert inside or (cell.column == 1 and cell.row < min_row), \
                        (ws.title, cell.coordinate, cell.value)
            # The notes run straight into the table: no blank row between.
            assert all(ws.cell(r, 1).value for r in range(1, min_row)), ws.title


def test_excel_tables_have_unique_names_and_string_headers(books):
    for wb in books.values():
        names = [name for _, name, _ in _tables(wb)]
        assert len({n.casefold() for n in names}) == len(names)
        for ws, _name, bounds in _tables(wb):
            headers, _ = _table_cells(ws, bounds)
            assert all(isinstance(h, str) and h for h in headers), (ws.title, headers)
            assert len({h.casefold() for h in headers}) == len(headers)


def test_no_merged_cells_anywhere(packs):
    for path in packs.values():
        with zipfile.ZipFile(path) as z:
            sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
            assert sheets
            for name in sheets:
                assert b"<mergeCell" not in z.read(name), (path.name, name)


def test_no_blank_cells_inside_tables_only_shorthand(books):
    seen: set[str] = set()
    for wb in books.values():
        for ws, _, bounds in _tables(wb):
            headers, rows = _table_cells(ws, bounds)
            for row in rows:
                for _header, cell in zip(headers, row, strict=True):
                    value = cell.value
                    assert value is not None and value != "", (ws.title, cell.coordinate)
                    if isinstance(value, str) and value.startswith("["):
                        if not NOTE.match(value):
                            assert value in SHORTHAND, (ws.title, cell.coordinate, value)
                            seen.add(value)
                            # Shorthand stands among numbers: right-aligned like them.
                            assert cell.alignment.horizontal == "right"
    assert seen == SHORTHAND  # the fixture exercises all three


def test_shorthand_says_why_a_value_is_missing(books, bundle):
    ws = books[None]["Indicator_data"]
    headers, rows = _table_cells(ws, range_boundaries(ref_of(ws)))
    col = {h: i for i, h in enumerate(headers)}
    for row in rows:
        method, suppressed = row[col["Method"]].value, row[col["Suppressed"]].value
        value, lower = row[col["Value"]].value, row[col["Lower 95% CI"]].value
        if method in ("C", "Q"):  # counts and medians have no confidence interval
            assert lower == "[z]"
        no_residents = (row[col["Area code"]].value == NO_RESIDENTS_PLACE
                        and row[col["Group"]].value == NO_RESIDENTS_QUINTILE
                        and row[col["Breakdown"]].value == "imd_quintile")
        if suppressed == "Yes":
            assert value == "[c]"
        elif no_residents:  # structurally empty: not applicable, not suppressed
            assert value == "[z]" and lower == "[z]"
        elif method not in ("SII", "RII"):
            assert isinstance(value, float | int)
        if row[col["Area type"]].value == "icb":
            assert row[col["Compared with ICB"]].value == "[z]"


# ---------------------------------------------------------------------------------------
# Units, comparison words, precision


def test_units_are_in_column_headers_or_a_unit_column(books):
    for wb in books.values():
        for ws, _, bounds in _tables(wb):
            headers, rows = _table_cells(ws, bounds)
            numeric = {headers[i] for row in rows for i, c in enumerate(row)
                       if isinstance(c.value, float)}
            if not numeric or "Unit" in headers:
                continue
            for header in numeric:
                unitless_ok = ws.title.startswith("DQ") or ws.title in ("Notes", "Metadata")
                assert unitless_ok or "(" in header or "%" in header, (ws.title, header)
    projections = books[None]["Projections"]
    headers, _ = _table_cells(projections, range_boundaries(ref_of(projections)))
    assert all(h.endswith("(people per year)") for h in headers[1:])


def test_comparison_words_carry_the_meaning_colour_is_second(books, bundle):
    polarity = {"pod_hospital_pct": "lower_is_better", "diupr_pct": "higher_is_better"}
    expect = {
        ("higher", "lower_is_better"): "Higher (worse)",
        ("lower", "lower_is_better"): "Lower (better)",
        ("higher", "higher_is_better"): "Higher (better)",
        ("lower", "higher_is_better"): "Lower (worse)",
    }
    names = {"pod_hospital_pct": "Deaths in hospital",
             "diupr_pct": "Deaths in usual place of residence"}
    checked = 0
    for place, wb in books.items():
        ws = wb["Place_of_death"]
        bounds = range_boundaries(ref_of(ws))
        headers, rows = _table_cells(ws, bounds)
        comparison_cols = [i for i, h in enumerate(headers) if "ompared with ICB" in h]
        assert comparison_cols
        for row in rows:
            for i in comparison_cols:
                assert row[i].value in COMPARISON_WORDS | {"[x]"}, row[i].value
        for ind_id, pol in polarity.items():
            row = next(r for r in rows if r[0].value == names[ind_id])
            for code in [place] if place else bundle.places:
                rec = bundle.indicators.filter(
                    indicator_id=ind_id, area_code=code, period="2024-25", breakdown="all")
                comparison = rec["comparison"][0]
                header = ("Compared with ICB" if place else
                          f"{bundle.config.place_name(code)} compared with ICB")
                words = row[headers.index(header)].value
                assert words == expect.get((comparison, pol), "Similar"), (code, ind_id)
                checked += 1
        # The colour rules key on the words themselves, never on anything else.
        formulas = [rule.formula[0] for cf in ws.conditional_formatting for rule in cf.rules]
        assert any('"(better)"' in f for f in formulas)
        assert any('"(worse)"' in f for f in formulas)
    assert checked >= 6


def test_values_are_stored_at_the_precision_they_are_shown(books):
    # Each figure's format ends in the space that keeps it off the next column ('_0').
    decimals = {f"{fmt}_0": places for fmt, places in
                {"0.0": 1, "#,##0.0": 1, "#,##0": 0, "£#,##0": 0, "0.00": 2, "0": 0}.items()}
    counted = 0
    for wb in books.values():
        for ws, _, bounds in _tables(wb):
            _, rows = _table_cells(ws, bounds)
            for row in rows:
                for cell in row:
                    if isinstance(cell.value, float) and cell.number_format in decimals:
                        places = decimals[cell.number_format]
                        assert round(cell.value, places) == cell.value, \
                            (ws.title, cell.coordinate, cell.value, cell.number_format)
                        counted += 1
    assert counted > 1000


# ---------------------------------------------------------------------------------------
# Tab names


def test_tab_names_fit_31_characters_and_are_cut_between_words(books):
    for wb in books.values():
        for name in wb.sheetnames:
            assert len(name) <= 31
    used: set[str] = set()
    long = "Deaths by underlying cause and by deprivation quintile of residence"
    name = report_excel._sheet_name(long, used)
    spaced = name.replace("_", " ")
    assert len(name) <= 31 and long.startswith(spaced) and long[len(spaced)] == " "
    assert not name.endswith(("_and", "_by", "_of"))
    assert name == "Deaths_by_underlying_cause"
    again = report_excel._sheet_name(long, used)
    assert again == "Deaths_by_underlying_cause_2"
    # A single word longer than the limit is the only thing ever cut mid-word.
    assert report_excel._sheet_name("x" * 40, set()) == "x" * 31


# ---------------------------------------------------------------------------------------
# Charts


def _resolve(base: str, target: str) -> str:
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(
        posixpath.join(posixpath.dirname(base), target))


def _rels(z: zipfile.ZipFile, part: str) -> dict[str, str]:
    rels = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
    if rels not in z.namelist():
        return {}
    root = ET.fromstring(z.read(rels))
    return {r.get("Id"): _resolve(part, r.get("Target"))
            for r in root.findall("rel:Relationship", NS)}


def charts_in(path: Path) -> list[dict]:
    """Every chart: its sheet, anchor (0-based col, row), alt text, and per series the
    title, category and value references."""
    found = []
    with zipfile.ZipFile(path) as z:
        workbook = ET.fromstring(z.read("xl/workbook.xml"))
        book_rels = _rels(z, "xl/workbook.xml")
        for sheet in workbook.find("m:sheets", NS):
            part = book_rels[sheet.get(f"{{{NS['r']}}}id")]
            for drawing in [t for t in _rels(z, part).values() if "drawings/" in t]:
                drawing_rels = _rels(z, drawing)
                root = ET.fromstring(z.read(drawing))
                for anchor in root:
                    frame = anchor.find("xdr:graphicFrame", NS)
                    if frame is None:
                        continue
                    props = frame.find("xdr:nvGraphicFramePr/xdr:cNvPr", NS)
                    chart_id = frame.find(".//c:chart", NS).get(f"{{{NS['r']}}}id")
                    chart = ET.fromstring(z.read(drawing_rels[chart_id]))
                    series = []
                    for ser in chart.iter(f"{{{NS['c']}}}ser"):
                        def ref(tag, ser=ser):
                            f = ser.find(f"c:{tag}//c:f", NS)
                            return None if f is None else f.text
                        series.append({"tx": ref("tx"), "cat": ref("cat"), "val": ref("val")})
                    found.append({
                        "sheet": sheet.get("name"),
                        "col": int(anchor.find("xdr:from/xdr:col", NS).text),
                        "row": int(anchor.find("xdr:from/xdr:row", NS).text),
                        "descr": props.get("descr"), "title": props.get("title"),
                        "series": series,
                    })
    return found


def _cells(wb, formula: str):
    sheet, ref = formula.rsplit("!", 1)
    ws = wb[sheet.strip("'").replace("''", "'")]
    ref = ref.replace("$", "")
    if ":" not in ref:
        ref = f"{ref}:{ref}"
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    return ws, [ws.cell(r, c) for r in range(min_row, max_row + 1)
                for c in range(min_col, max_col + 1)]


def test_every_chart_has_alt_text_and_sits_beside_its_table(packs, books):
    for place, path in packs.items():
        charts = charts_in(path)
        assert {c["sheet"] for c in charts} == {"Place_of_death", "Inequalities",
                                                "Projections"}
        for chart in charts:
            assert chart["descr"] and len(chart["descr"]) > 60, chart
            assert chart["title"]
            ws = books[place][chart["sheet"]]
            min_col, min_row, max_col, _ = range_boundaries(ref_of(ws))
            # To the right of the table (one column gap), level with its header row.
            assert chart["col"] == max_col + 1 and chart["row"] == min_row - 1
            # The line above the table says where the chart is.
            lines = " ".join(str(ws.cell(r, 1).value) for r in range(2, min_row))
            assert "Chart: a " in lines and "right of the table" in lines


def test_charts_read_only_published_cells_of_their_own_table(packs, books):
    for place, path in packs.items():
        wb = books[place]
        for chart in charts_in(path):
            for series in chart["series"]:
                for key in ("tx", "cat", "val"):
                    if series[key] is None:
                        continue
                    ws, cells = _cells(wb, series[key])
                    assert ws.title == chart["sheet"]
                    min_col, min_row, max_col, max_row = range_boundaries(ref_of(ws))
                    for cell in cells:
                        assert min_col <= cell.column <= max_col
                        assert min_row <= cell.row <= max_row
                        if key == "val" and cell.row > min_row:
                            assert isinstance(cell.value, float | int) or \
                                cell.value in SHORTHAND


def test_each_place_pack_charts_show_that_place(packs, books, bundle):
    frame = bundle.indicators
    for place in bundle.places:
        name = bundle.config.place_name(place)
        wb = books[place]
        charts = {c["sheet"]: c for c in charts_in(packs[place])}
        assert all(name in c["descr"] for c in charts.values())

        # Inequalities: a series titled with the Place holds its five quintile values;
        # a quintile it has no residents in is [z], a gap, and the alt text says so.
        chart = charts["Inequalities"]
        titles = [_cells(wb, s["tx"])[1][0].value for s in chart["series"]]
        assert titles[0] == name  # the pack's own Place first
        ws, values = _cells(wb, chart["series"][0]["val"])
        indicator = ws.cell(values[0].row, 1).value
        ind_id = frame.filter(indicator_name=indicator)["indicator_id"][0]
        for quintile, cell in zip("12345", values, strict=True):
            expected = frame.filter(indicator_id=ind_id, area_code=place, period="2024-25",
                                    breakdown="imd_quintile", breakdown_value=quintile)
            if (place, quintile) == (NO_RESIDENTS_PLACE, NO_RESIDENTS_QUINTILE):
                assert expected["value"][0] is None and cell.value == "[z]"
                assert f"{name} has no residents in quintile 1 ([z])" in chart["descr"]
            else:
                assert cell.value == round(expected["value"][0], 1)

        # Place of death: the Place is a bar; its cells hold its own figures.
        chart = charts["Place_of_death"]
        categories = [c.value for c in _cells(wb, chart["series"][0]["cat"])[1]]
        assert categories[0] == name
        for series in chart["series"]:
            ws, values = _cells(wb, series["val"])
            indicator = ws.cell(values[0].row, 1).value
            expected = frame.filter(indicator_name=indicator, area_code=place,
                                    period="2024-25", breakdown="all")["value"][0]
            assert values[0].value == (round(expected, 1) if expected is not None else "[c]")

        # Projections: the Place's own projected need, year by year.
        chart = charts["Projections"]
        titles = [_cells(wb, s["tx"])[1][0].value for s in chart["series"]]
        assert all(t.startswith(name) for t in titles)
        ws, cells = _cells(wb, chart["series"][-1]["val"])
        need = frame.filter(indicator_id="pc_need_projected", area_code=place,
                            breakdown="all").sort("period")["value"].to_list()
        assert [c.value for c in cells] == need


def test_gradient_chart_skips_a_place_whose_quintiles_are_suppressed(tmp_path):
    """A [c] quintile would plot as zero: the chart then draws no gradient for that
    Place, and the line above the table says why."""
    bundle = make_bundle()
    place = bundle.places[0]
    bundle.indicators = bundle.indicators.with_columns(
        pl.when((pl.col("area_code") == place) & (pl.col("breakdown_value") == "3"))
        .then(None).otherwise(pl.col("value")).alias("value"),
        (pl.col("suppressed") | ((pl.col("area_code") == place)
                                 & (pl.col("breakdown_value") == "3"))).alias("suppressed"))
    path = tmp_path / "pack.xlsx"
    report_excel.write_excel_pack(bundle, path, place=place)
    assert "Inequalities" not in {c["sheet"] for c in charts_in(path)}
    ws = load_workbook(path)["Inequalities"]
    lines = " ".join(str(ws.cell(r, 1).value) for r in range(2, 9))
    assert "Chart: none: no gradient is drawn for" in lines
    assert "a suppressed [c] quintile would plot as zero" in lines


def test_gradient_chart_says_why_when_a_place_has_too_few_quintiles_with_residents(
        tmp_path):
    """A Place with residents in one quintile only has no gradient to draw: the line
    above the table says that, not that a quintile is suppressed."""
    bundle = make_bundle()
    place = bundle.places[0]
    for quintile in "2345":
        bundle = with_no_residents(bundle, place, quintile)
    path = tmp_path / "pack.xlsx"
    report_excel.write_excel_pack(bundle, path, place=place)
    assert "Inequalities" not in {c["sheet"] for c in charts_in(path)}
    ws = load_workbook(path)["Inequalities"]
    lines = " ".join(str(ws.cell(r, 1).value) for r in range(2, 9))
    assert "fewer than two quintiles have residents" in lines
    assert "[c]" not in lines.split("Chart: ")[1]


def test_indicator_data_too_long_for_a_worksheet_leaves_out_practice_rows_and_says_so(
        tmp_path, monkeypatch):
    """A worksheet holds 1,048,576 rows; an England-wide practice breakdown can exceed
    that. The sheet then leaves out the practice and PCN rows and says so, instead of
    writing a file Excel cannot open. (The limit is lowered here to keep the test fast.)"""
    import polars as pl

    bundle = make_bundle()
    extra = bundle.indicators.filter(breakdown="all").head(40).with_columns(
        breakdown=pl.lit("gp_practice"),
        breakdown_value=pl.format("P{}", pl.int_range(pl.len()).cast(pl.String)))
    bundle.indicators = pl.concat([bundle.indicators, extra])
    total = bundle.indicators.height
    monkeypatch.setattr(report_excel, "EXCEL_MAX_ROWS",
                        total - 20 + report_excel._DATA_SHEET_HEADING + 1)
    path = tmp_path / "pack.xlsx"
    report_excel.write_excel_pack(bundle, path)
    ws = load_workbook(path)["Indicator_data"]
    min_col, min_row, max_col, max_row = range_boundaries(ref_of(ws))
    assert max_row - min_row == total - 40  # every row but the 40 practice rows
    lines = " ".join(str(ws.cell(r, 1).value) for r in range(2, min_row))
    assert "40 GP practice and PCN rows are not on this sheet" in lines
    breakdowns = {ws.cell(r, 9).value for r in range(min_row + 1, max_row + 1)}
    assert "gp_practice" not in breakdowns


def test_every_place_pack_of_the_assessed_sample_charts_its_own_gradient(assessed_sample):
    """On the real sample (Places with no LSOA in some quintiles, small numbers
    suppressed) each Place pack charts its own gradient whenever one of its rows can be
    drawn (no [c] or [x] quintile, at least two values, [z] a gap), and otherwise says
    truly why not."""
    bundle = assessed_sample.bundle
    # The Place packs only: the ICB's (pack-icb.xlsx, the largest) is skipped below in any
    # case, and a full load of it (styles and tables) was a third of this test's time.
    packs = [Path(p) for p in assessed_sample.outputs
             if Path(p).suffix == ".xlsx" and Path(p).name != "pack-icb.xlsx"]
    assert len(packs) == len(bundle.config.places)
    charted_with_gap = 0
    for path in packs:
        wb = load_workbook(path)
        ws = wb["Inequalities"]
        headers, rows = _table_cells(ws, range_boundaries(ref_of(ws)))
        area, first_q = headers.index("Area"), headers.index("Quintile 1 (most deprived)")
        name = rows[0][area].value  # the pack's own area comes first
        if name == bundle.config.icb_name:
            continue
        own = [[c.value for c in r[first_q:first_q + 5]] for r in rows
               if r[area].value == name]
        drawable = [q for q in own if sum(isinstance(v, int | float) for v in q) >= 2
                    and all(isinstance(v, int | float) or v == "[z]" for v in q)]
        chart = next((c for c in charts_in(path) if c["sheet"] == "Inequalities"), None)
        lines = " ".join(str(ws.cell(r, 1).value) for r in range(2, 9))
        if drawable:
            assert chart is not None, (name, lines)
            assert _cells(wb, chart["series"][0]["tx"])[1][0].value == name
            _, values = _cells(wb, chart["series"][0]["val"])
            charted = [c.value for c in values]
            assert charted in drawable
            charted_with_gap += "[z]" in charted
        else:
            assert chart is None
            assert f"no gradient is drawn for {name}" in lines
            has_c = any("[c]" in q for q in own)
            assert ("[c] quintile" in lines) == has_c, lines
    assert charted_with_gap >= 1  # the sample exercises a Place with no-residents quintiles

"""Merged rare categories and 'no residents' rows (issue 11.2), end to end on a small
database built by hand: the expected counts are worked out below from the people put in,
not from the code.

Two Places, financial year 2024-25, all deaths on 2024-10-01 at age 80:

P1 (LSOAs in quintiles 1, 2, 3, 4, 5): 40 cancer deaths (C34.9), 7 neurodegenerative
   (G20), 2 HIV (B20) = 49 deaths. Ethnic groups: 3 mixed, 6 other, the rest white.
P2 (LSOAs in quintiles 1, 3, 4, 5; none in 2): 30 cancer, 8 neurodegenerative, no HIV
   = 38 deaths, all white.

With the default rule (counts 1-7 hidden), HIV alone (2 in P1, 2 in the ICB) would be
suppressed, and a neighbour with it. Published merged: P1 'neurodegenerative_hiv' =
7 + 2 = 9 deaths, 9 / 49 = 18.4% of deaths; P2 = 8; the ICB = 17. Ethnic 'mixed_other'
in the ICB = 3 + 6 = 9; a Place publishes the coarser ethnic grouping instead, P1's
'minority_ethnic' = 9 (Asian, Black, Mixed or Other), white 40. P2's quintile 2 has no
residents: its rows say so.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from handbuilt_db import handbuilt_config
from openpyxl import load_workbook

from eolneeds import categories, report_excel
from eolneeds.assess import AssessOptions, assess_project
from eolneeds.config import DisclosureConfig
from eolneeds.db import connect
from eolneeds.reporting import Reporter
from eolneeds.schema import create_schema

DOD = date(2024, 10, 1)
PERIOD = "2023-11 to 2024-10"  # the twelve months to --period-end 2024-10 (the deaths' month)
# LSOA, Place, IMD decile (quintile = ceil(decile / 2))
AREAS = [("A1", "P1", 1), ("A2", "P1", 3), ("A3", "P1", 5), ("A4", "P1", 7), ("A5", "P1", 9),
         ("B1", "P2", 2), ("B3", "P2", 6), ("B4", "P2", 8), ("B5", "P2", 10)]


def _deaths() -> list[tuple]:
    rows: list[tuple] = []
    # (place prefix, cause, how many, ethnicity of the first ones)
    plan = [("P1", "C349", 40), ("P1", "G20", 7), ("P1", "B20", 2),
            ("P2", "C349", 30), ("P2", "G20", 8)]
    lsoas = {p: [a for a, place, _ in AREAS if place == p] for p in ("P1", "P2")}
    ethnic = ["mixed"] * 3 + ["other"] * 6  # P1's first nine deaths
    n = {"P1": 0, "P2": 0}
    for place, cause, count in plan:
        for _ in range(count):
            i = n[place]
            n[place] += 1
            eth = ethnic[i] if place == "P1" and i < len(ethnic) else "white"
            # Spread over the Place's LSOAs; half in hospital, half at home.
            lsoa = lsoas[place][i % len(lsoas[place])]
            pod = "hospital" if (i // len(lsoas[place])) % 2 else "home"
            rows.append((f"{place}-{i:03d}", DOD, 80, "female" if i % 3 else "male", lsoa,
                         cause, pod, eth))
    return rows


def _build(path: Path) -> None:
    con = connect(path)
    try:
        create_schema(con)
        for row, (pid, dod, age, sex, lsoa, cause, pod, eth) in enumerate(_deaths(), start=2):
            con.execute(
                "INSERT INTO deaths (person_id, date_of_death, age, sex, lsoa_code, "
                "underlying_cause, place_of_death, ethnicity, source_file_id, source_row) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                [pid, dod, age, sex, lsoa, cause, pod, eth, row])
        for row, (lsoa, place, decile) in enumerate(AREAS, start=2):
            con.execute("INSERT INTO areas (lsoa_code, place, imd_decile, source_file_id, "
                        "source_row) VALUES (?, ?, ?, 2, ?)", [lsoa, place, decile, row])
        row = 2
        for lsoa, _, _ in AREAS:
            for sex in ("male", "female"):
                con.execute("INSERT INTO population VALUES (?, 2024, ?, '80-84', 1000.0, 3, ?)",
                            [lsoa, sex, row])
                row += 1
    finally:
        con.close()


def _assess(root: Path, min_count: int):
    config = handbuilt_config(root, disclosure=DisclosureConfig(min_count=min_count))
    _build(config.database_path)
    return assess_project(config, AssessOptions(
        formats=["csv", "xlsx", "html"], out=root / "out", period_end="2024-10"),
        reporter=Reporter())


@pytest.fixture(scope="module")
def default_rule(tmp_path_factory):
    return _assess(tmp_path_factory.mktemp("categories"), 8)


@pytest.fixture(scope="module")
def no_rule(tmp_path_factory):
    return _assess(tmp_path_factory.mktemp("categories_open"), 0)


def _row(frame: pl.DataFrame, ind: str, area: str, breakdown: str, value: str) -> dict:
    rows = frame.filter(pl.col("indicator_id") == ind, pl.col("area_code") == area,
                        pl.col("period") == PERIOD, pl.col("breakdown") == breakdown,
                        pl.col("breakdown_value") == value)
    assert rows.height == 1, (ind, area, breakdown, value, rows)
    return rows.row(0, named=True)


def test_the_merge_is_fixed_documented_and_keeps_need_sums():
    merged = {(m.breakdown, m.published): set(m.members) for m in categories.merges()}
    assert merged == {("cause_group", "neurodegenerative_hiv"): {"neurodegenerative", "hiv"},
                      ("ethnic_group", "mixed_other"): {"mixed", "other"},
                      ("ethnic_group_broad", "minority_ethnic"): {"asian", "black", "mixed",
                                                                  "other"}}
    # HIV stays with a need-list group, never in 'other' (need + other = all deaths).
    assert categories.members("cause_group", "other") == ["other"]
    # The catalogue's notes (report, packs, `eolneeds indicators`) and the docs name it.
    from eolneeds.catalogue import load_summaries
    text = {s.id: s.definition for s in load_summaries()}["categories"]
    root = Path(__file__).resolve().parents[1]
    for m in categories.merges():
        for where in (text, (root / "README.md").read_text(encoding="utf-8"),
                      (root / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")):
            assert m.published in where and all(x in where for x in m.members)
        # ... and readers see the merge in words, never as codes (the catalogue's note
        # is shown in the report's definitions and the packs' Notes sheet).
        assert m.holds in text, m
        assert " + ".join(m.members) not in text.replace(m.holds, ""), m
    assert {m.published: m.holds for m in categories.merges()} == {
        "neurodegenerative_hiv": "neurodegenerative disease + HIV",
        "mixed_other": "mixed + other ethnic groups",
        "minority_ethnic": "Asian + Black + Mixed + Other ethnic groups"}


def test_a_rare_category_is_published_merged_with_the_right_count(default_rule):
    frame = default_rule.indicators
    p1 = _row(frame, "deaths", "P1", "cause_group", "neurodegenerative_hiv")
    assert (p1["numerator"], p1["suppressed"]) == (9.0, False)
    assert "neurodegenerative disease + HIV" in p1["note"]
    assert "neurodegenerative + hiv" not in p1["note"]
    share = _row(frame, "cause_group_pct", "P1", "cause_group", "neurodegenerative_hiv")
    assert share["suppressed"] is False
    assert share["value"] == pytest.approx(100 * 9 / 49)
    assert _row(frame, "deaths", "P2", "cause_group", "neurodegenerative_hiv")["numerator"] == 8
    assert _row(frame, "deaths", "QXX", "cause_group", "neurodegenerative_hiv")[
        "numerator"] == 17
    eth = _row(frame, "deaths", "QXX", "ethnic_group", "mixed_other")
    assert (eth["numerator"], eth["suppressed"]) == (9.0, False)
    assert "mixed + other ethnic groups" in eth["note"]
    assert "(mixed + other)" not in eth["note"]
    # A Place publishes ethnic group only in the coarser grouping; the ICB both.
    assert frame.filter((pl.col("area_type") == "place")
                        & (pl.col("breakdown") == "ethnic_group")).height == 0
    for area in ("P1", "QXX"):
        broad = _row(frame, "deaths", area, "ethnic_group_broad", "minority_ethnic")
        assert (broad["numerator"], broad["suppressed"]) == (9.0, False), area
        assert "Asian + Black + Mixed + Other ethnic groups" in broad["note"]
        white = _row(frame, "deaths", area, "ethnic_group_broad", "white")
        assert white["numerator"] == (40.0 if area == "P1" else 78.0), area
    # No recorded rare category is published anywhere, in any breakdown.
    for value in ("hiv", "neurodegenerative", "mixed", "other"):
        bd = "ethnic_group" if value in ("mixed", "other") else "cause_group"
        assert frame.filter((pl.col("breakdown") == bd)
                            & (pl.col("breakdown_value") == value)).height == 0
    assert frame.filter(pl.col("breakdown_value").str.ends_with(": hiv")).height == 0


def test_every_area_has_the_same_published_categories(default_rule):
    frame = default_rule.indicators.filter(
        pl.col("breakdown").is_in(["cause_group", "ethnic_group", "ethnic_group_broad"]))
    seen = frame.group_by("area_code", "breakdown").agg(pl.col("breakdown_value").unique())
    allowed = {bd: set(categories.published_values(bd))
               for bd in ("cause_group", "ethnic_group", "ethnic_group_broad")}
    for area, bd, values in seen.iter_rows():
        assert set(values) <= allowed[bd], (area, bd, values)


def test_no_residents_rows_in_the_table_csv_excel_and_html(default_rule):
    frame = default_rule.indicators
    ids = frame.filter((pl.col("breakdown") == "imd_quintile")
                       & (pl.col("area_code") == "P1"))["indicator_id"].unique().to_list()
    assert "dsr_all_cause" in ids and "pod_hospital_pct" in ids
    for ind in ids:
        row = _row(frame, ind, "P2", "imd_quintile", "2")
        assert row["value"] is None and row["numerator"] is None
        assert row["suppressed"] is False
        assert row["note"] == categories.NO_RESIDENTS_NOTE
    # P1 has LSOAs in every quintile: no such row; nor has the ICB (P1 covers them all).
    assert frame.filter((pl.col("note") == categories.NO_RESIDENTS_NOTE)
                        & (pl.col("area_code") != "P2")).height == 0

    out = default_rule.out_dir
    with (out / "indicators.csv").open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["area_code"] == "P2"
                and r["breakdown"] == "imd_quintile" and r["breakdown_value"] == "2"
                and r["period"] == PERIOD]
    assert rows and all(r["value"] == "" and r["note"].startswith("no residents")
                        and r["suppressed"].lower() == "false" for r in rows)

    pack = next(p for p in default_rule.outputs if p.suffix == ".xlsx")
    book = load_workbook(pack, read_only=True)
    data = book["Indicator_data"]
    header = None
    found = 0
    for cells in data.iter_rows(values_only=True):
        if header is None:
            if "Breakdown" in cells and "Value" in cells:
                header = list(cells)
            continue
        rec = dict(zip(header, cells, strict=False))
        if rec.get("Area code", rec.get("Area")) in ("P2", "Beta") \
                and rec["Breakdown"] == "imd_quintile" and str(rec["Group"]) == "2":
            assert rec["Value"] == "[z]", rec
            assert rec["Suppressed"] in (False, "FALSE", "No", "no", 0), rec
            found += 1
    assert found
    # The shorthand is explained in the workbook.
    texts = [str(c) for ws in book.worksheets for r in ws.iter_rows(values_only=True)
             for c in r if c]
    assert any("[z]" in t and "no residents" in t for t in texts)
    # The Notes sheet carries the merge and its reasons.
    notes = [str(c) for r in book["Notes"].iter_rows(values_only=True) for c in r if c]
    assert any("neurodegenerative_hiv" in n and "mixed_other" in n for n in notes)
    book.close()

    html = next(p for p in default_rule.outputs if p.suffix == ".html").read_text(
        encoding="utf-8")
    assert "no residents" in html
    assert "Merged categories and no residents" in html and "neurodegenerative_hiv" in html
    # Every note a reader sees names the merged groups in words, not codes.
    assert "neurodegenerative disease + HIV" in html
    assert "mixed + other ethnic groups" in html
    for code_words in ("neurodegenerative + hiv", "(mixed + other)"):
        assert code_words not in html and code_words not in " ".join(notes), code_words


def test_no_residents_rows_take_no_part_in_disclosure_or_the_sii(no_rule):
    frame = no_rule.indicators
    # With no suppression rule nothing is hidden: the empty quintile is not 'suppressed'.
    assert not frame.filter(pl.col("note").fill_null("").str.starts_with("no residents")
                            )["suppressed"].any()
    # P2's SII uses its four quintiles with residents and is published; quintile 2 is
    # absent, not a withheld input.
    sii = _row(frame, "pod_hospital_pct", "P2", "imd_quintile", "SII")
    assert sii["value"] is not None, sii
    assert "quintile(s) 2" not in (sii["note"] or "")


def test_the_gradient_chart_marks_a_quintile_with_no_residents_apart_from_a_hidden_one():
    from eolneeds import charts

    points = [charts.IntervalPoint("1", 10.0, 8.0, 12.0),
              charts.IntervalPoint("2", None, None, None),  # suppressed
              charts.IntervalPoint("3", None, None, None, "–"),  # no residents
              charts.IntervalPoint("4", 12.0, 10.0, 14.0),
              charts.IntervalPoint("5", 13.0, 11.0, 15.0)]
    svg = charts.gradient_chart("g", "t", "s", [charts.GradientPanel(
        title="x", unit="%", points=points, reference=11.0, annotation=None)])
    assert svg.count(">*</text>") == 1 and svg.count(">–</text>") == 1


def test_a_group_with_nobody_in_it_is_published_as_no_residents(default_rule):
    frame = default_rule.indicators
    # P2's deaths are all white: its share of deaths at home among the other ethnic
    # groups has nobody behind it. P1 has 9 such deaths: a real row (hidden here: fewer
    # than 8 of them died at home).
    empty = _row(frame, "pod_home_pct", "P2", "ethnic_group_broad", "minority_ethnic")
    assert empty["value"] is None and empty["suppressed"] is False
    assert empty["note"].startswith("no residents: nobody")
    real = _row(frame, "pod_home_pct", "P1", "ethnic_group_broad", "minority_ethnic")
    assert real["suppressed"] is True and not real["note"].startswith("no residents")
    # Every area has a row for every published category of such an indicator: a Place
    # in the coarser ethnic grouping only, the ICB in both.
    for area in ("P1", "P2", "QXX"):
        for value in categories.published_values("ethnic_group_broad"):
            _row(frame, "pod_home_pct", area, "ethnic_group_broad", value)
    for value in categories.published_values("ethnic_group"):
        _row(frame, "pod_home_pct", "QXX", "ethnic_group", value)
        assert frame.filter((pl.col("area_code") == "P1") & (pl.col("breakdown") == "ethnic_group")
                            ).height == 0
    # A share of all deaths is not 'nobody' when the group is empty: no row is invented.
    assert frame.filter((pl.col("indicator_id") == "cause_group_pct")
                        & pl.col("note").fill_null("").str.starts_with("no residents")
                        ).height == 0


def test_disclosure_never_picks_a_no_residents_row_as_a_complement():
    """Quintile 1 (5 deaths at home) is hidden; the other quintiles and the total would
    give it back, so one more quintile must go. Quintile 5 has no residents: no count,
    so it can be neither the complement nor an unknown; the smallest published quintile
    with people in it (3: 30) is chosen, and quintile 5 keeps its 'no residents' row."""
    from test_disclosure import by_value, frame

    from eolneeds.disclosure import apply_disclosure

    rows = by_value(apply_disclosure(frame([
        {"breakdown": "imd_quintile", "breakdown_value": "1", "numerator": 5, "denominator": 50},
        {"breakdown": "imd_quintile", "breakdown_value": "2", "numerator": 40, "denominator": 90},
        {"breakdown": "imd_quintile", "breakdown_value": "3", "numerator": 30, "denominator": 80},
        {"breakdown": "imd_quintile", "breakdown_value": "4", "numerator": 60, "denominator": 99},
        {"breakdown": "imd_quintile", "breakdown_value": "5", "note": categories.NO_RESIDENTS_NOTE,
         "comparison": "not_compared"},
        {"breakdown": "all", "breakdown_value": "all", "numerator": 135, "denominator": 319},
    ]), DisclosureConfig(min_count=8)))
    assert rows["1"]["suppressed"] and rows["3"]["suppressed"]
    assert not rows["2"]["suppressed"] and not rows["4"]["suppressed"]
    assert rows["5"]["suppressed"] is False and rows["5"]["note"] == categories.NO_RESIDENTS_NOTE


def _theme_rows(path: Path, sheet: str, indicator: str) -> list[dict]:
    """The rows of one indicator in a pack's theme sheet, by column header."""
    book = load_workbook(path, read_only=True)
    try:
        rows = list(book[sheet].iter_rows(values_only=True))
    finally:
        book.close()
    top = next(i for i, r in enumerate(rows) if r and r[0] == "Indicator")
    return [dict(zip(rows[top], r, strict=False)) for r in rows[top + 1:]
            if r and r[0] == indicator]


def test_a_place_pack_shows_the_broad_ethnic_groups_beside_the_icbs(no_rule, tmp_path):
    """Alpha's (P1) pack: the number of deaths by broad ethnic group, the Place's beside
    the ICB's (Asian, Black, Mixed or Other: P1's 3 mixed + 6 other = 9, the ICB's the
    same; White: 40, the ICB's 40 + 38 = 78), and none of the ICB's five groups, whose
    Alpha cells would all be [x] (they made its printed pack 119 pages, bound 100:
    tests/test_excel_print.py). The ICB's pack has both groupings."""
    place, icb = tmp_path / "alpha.xlsx", tmp_path / "icb.xlsx"
    report_excel.write_excel_packs(no_rule.bundle, [(place, "P1"), (icb, None)])
    rows = _theme_rows(place, "Mortality_and_need", "Number of deaths")
    by = {(r["Breakdown"], r["Group"]): (r["Alpha"], r["ICB"]) for r in rows}
    assert by[("Broad ethnic group", "Asian, Black, Mixed or Other")] == (9, 9)
    assert by[("Broad ethnic group", "White")] == (40, 78)
    assert not [key for key in by if key[0] == "Ethnic group"], by
    icb_rows = _theme_rows(icb, "Mortality_and_need", "Number of deaths")
    groups = {(r["Breakdown"], r["Group"]): r["Alpha"] for r in icb_rows}
    assert groups[("Ethnic group", "Mixed or other ethnic group")] == "[x]"  # not at Place
    assert groups[("Broad ethnic group", "Asian, Black, Mixed or Other")] == 9

"""England alongside: the OHID Fingertips download ingested as it comes (preset
`fingertips`, dataset `benchmarks`), England and the region picked per indicator, and
shown with period and source in the HTML report and the Excel packs."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import openpyxl
import pytest

from eolneeds.benchmarks import FINGERTIPS_COLUMNS, load_benchmarks
from eolneeds.ingest import ingest_files
from eolneeds.reporting import Reporter
from tests.small_project import make_project

MAPPING = 'dataset = "benchmarks"\npreset = "fingertips"\n'


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")


def _project(root: Path, mapping: str = MAPPING):
    return make_project(root, {"fingertips": mapping})


def _row(**fields: str) -> list[str]:
    base = dict.fromkeys(FINGERTIPS_COLUMNS, "")
    base.update({"Sex": "Persons", "Age": "All ages"})
    base.update({k.replace("_", " "): v for k, v in fields.items()})
    return [base[c] for c in FINGERTIPS_COLUMNS]


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FINGERTIPS_COLUMNS)
        writer.writerows(rows)
    return path


HOSPITAL = "Percentage of deaths that occur in hospital"
ROWS = [
    # England, three periods: the latest (2023, by 'Time period Sortable') is picked.
    _row(**{"Indicator ID": "93474", "Indicator Name": HOSPITAL, "Area Code": "E92000001",
            "Area Name": "England", "Area Type": "England", "Time period": "2021",
            "Value": "44.1", "Count": "250000", "Denominator": "566893",
            "Time period Sortable": "20210000"}),
    _row(**{"Indicator ID": "93474", "Indicator Name": HOSPITAL, "Area Code": "E92000001",
            "Area Name": "England", "Area Type": "England", "Time period": "2023",
            "Value": "42.95", "Lower CI 95.0 limit": "42.8", "Upper CI 95.0 limit": "43.1",
            "Count": "245000", "Denominator": "570431", "Time period Sortable": "20230000"}),
    _row(**{"Indicator ID": "93474", "Indicator Name": HOSPITAL, "Area Code": "E92000001",
            "Area Name": "England", "Area Type": "England", "Time period": "2022",
            "Value": "43.4", "Time period Sortable": "20220000"}),
    # Breakdowns of the same period that must not be taken for the total.
    _row(**{"Indicator ID": "93474", "Indicator Name": HOSPITAL, "Area Code": "E92000001",
            "Area Name": "England", "Area Type": "England", "Sex": "Male",
            "Time period": "2023", "Value": "45.0", "Time period Sortable": "20230000"}),
    _row(**{"Indicator ID": "93474", "Indicator Name": HOSPITAL, "Area Code": "E92000001",
            "Area Name": "England", "Area Type": "England", "Time period": "2023",
            "Category Type": "Deprivation decile", "Category": "Most deprived decile",
            "Value": "49.0", "Time period Sortable": "20230000"}),
    # The region, parent of the ICB's own row.
    _row(**{"Indicator ID": "93474", "Indicator Name": HOSPITAL, "Area Code": "E40000006",
            "Area Name": "South West region", "Area Type": "Region", "Parent Code":
            "E92000001", "Time period": "2023", "Value": "41.2",
            "Time period Sortable": "20230000"}),
    _row(**{"Indicator ID": "93474", "Indicator Name": HOSPITAL, "Area Code": "E40000007",
            "Area Name": "Another region", "Area Type": "Region", "Time period": "2023",
            "Value": "45.5", "Time period Sortable": "20230000"}),
    _row(**{"Indicator ID": "93474", "Indicator Name": HOSPITAL, "Area Code": "E54000999",
            "Area Name": "Test ICB", "Area Type": "ICB", "Parent Code": "E40000006",
            "Time period": "2023", "Value": "40.0", "Time period Sortable": "20230000"}),
    # An indicator mapped only by the mapping's [recode.indicator_id].
    _row(**{"Indicator ID": "93999", "Indicator Name": "Emergency admissions (3+) in the "
            "last 90 days of life", "Area Code": "E92000001", "Area Name": "England",
            "Area Type": "England", "Time period": "2022/23", "Value": "6.4",
            "Time period Sortable": "20220000"}),
    # An indicator we do not compute: loaded, never shown; a suppressed value: blank.
    _row(**{"Indicator ID": "91099", "Indicator Name": "Something else", "Area Code":
            "E92000001", "Area Name": "England", "Area Type": "England",
            "Time period": "2023", "Value": "8.1"}),
    _row(**{"Indicator ID": "93474", "Indicator Name": HOSPITAL, "Area Code": "E06000053",
            "Area Name": "Isles of Scilly", "Area Type": "Counties & UAs",
            "Time period": "2023", "Value": "", "Value note": "Value suppressed"}),
]


def _load(config) -> list:
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        return load_benchmarks(con, indicator_ids=["pod_hospital_pct", "ea_last90_3plus_pct"],
                               icb_code=config.icb_code, icb_name=config.icb_name)
    finally:
        con.close()


def test_a_fingertips_download_ingests_as_it_comes(tmp_path: Path) -> None:
    config = _project(tmp_path / "p", MAPPING + '[recode.indicator_id]\n"93999" = '
                      '"ea_last90_3plus_pct"\n')
    path = _write(tmp_path / "fingertips.csv", ROWS)
    [result] = ingest_files(config, "benchmarks", [path], mapping="fingertips",
                            reporter=Reporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (len(ROWS),
                                                                             len(ROWS), 0)
    found = {(b.indicator_id, b.area_type): b for b in _load(config)}
    england = found[("pod_hospital_pct", "england")]
    # The latest period, all persons, no category: the 2023 row (worked out from ROWS).
    assert (england.value, england.period, england.area_name) == (42.95, "2023", "England")
    assert (england.lower_ci_95, england.upper_ci_95) == (42.8, 43.1)
    assert (england.count, england.denominator) == (245000, 570431)
    assert england.source == "OHID Fingertips download, fingertips.csv"
    assert england.source_indicator == f"93474 {HOSPITAL}"
    # The region is the ICB's parent, not the other region in the file.
    region = found[("pod_hospital_pct", "region")]
    assert (region.area_name, region.value) == ("South West region", 41.2)
    # Mapped by the mapping's recode, with its financial-year period as published.
    recoded = found[("ea_last90_3plus_pct", "england")]
    assert (recoded.value, recoded.period) == (6.4, "2022/23")
    assert len(found) == 3


def test_without_the_recode_an_unknown_id_stays_out(tmp_path: Path) -> None:
    config = _project(tmp_path / "p")
    path = _write(tmp_path / "fingertips.csv", ROWS)
    ingest_files(config, "benchmarks", [path], mapping="fingertips", reporter=Reporter())
    found = {(b.indicator_id, b.area_type) for b in _load(config)}
    assert found == {("pod_hospital_pct", "england"), ("pod_hospital_pct", "region")}


def test_a_download_missing_a_required_column_is_refused(tmp_path: Path) -> None:
    from eolneeds.errors import EolneedsError

    config = _project(tmp_path / "p")
    path = tmp_path / "broken.csv"
    path.write_text("Indicator ID,Indicator Name,Area Code,Value\n93474,x,E92000001,1\n",
                    encoding="utf-8")
    with pytest.raises(EolneedsError) as caught:
        ingest_files(config, "benchmarks", [path], mapping="fingertips", reporter=Reporter())
    assert "Time period" in str(caught.value)


def test_the_sample_writes_the_real_layout_and_it_is_ingested(sample_project) -> None:
    path = sample_project.root / "inbox" / "benchmarks" / "fingertips_peolc.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    assert tuple(header) == FINGERTIPS_COLUMNS
    found = {(b.indicator_id, b.area_type): b for b in _load_sample(sample_project)}
    for ind in ("pod_hospital_pct", "pod_home_pct", "pod_care_home_pct", "pod_hospice_pct",
                "pod_other_pct"):
        assert found[(ind, "england")].period == "2023"
        assert (ind, "region") in found
    # 2023 in the generator: 43.4% (REFERENCE.md, 2022) - 0.4 of 571,000 deaths.
    assert found[("pod_hospital_pct", "england")].value == pytest.approx(
        100 * round(571_000 * 0.430) / 571_000)


def _load_sample(config) -> list:
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        return load_benchmarks(con, indicator_ids=["pod_hospital_pct", "pod_home_pct",
                                                   "pod_care_home_pct", "pod_hospice_pct",
                                                   "pod_other_pct"],
                               icb_code=config.icb_code, icb_name=config.icb_name)
    finally:
        con.close()


def test_england_with_period_and_source_in_the_report_and_the_packs(assessed_sample) -> None:
    bundle = assessed_sample.bundle
    england = bundle.england()
    assert england["pod_hospital_pct"].source.startswith("OHID Fingertips download")
    # A value only typed into eolneeds.toml is labelled as such, with no period claimed.
    assert "eolneeds.toml [benchmarks]" in england["ea_last90_3plus_pct"].source
    html = next(p for p in assessed_sample.outputs if p.suffix == ".html").read_text(
        encoding="utf-8")
    section = html[html.index('id="england"'):]
    section = section[:section.index("</section>")]
    # England's 2023 against the report's own period: the difference is said, and a
    # typed-in value says it has no period (never taken for the local one).
    assert f">2023, not {assessed_sample.headline_period}<" in section  # under the value
    assert ">period not stated<" in section
    assert "OHID Fingertips download, fingertips_peolc.csv" in section
    assert "South West region" in section
    assert "ICB compared with England" in section
    for pack in (p for p in assessed_sample.outputs if p.suffix == ".xlsx"):
        workbook = openpyxl.load_workbook(pack, read_only=True)
        try:
            cells = [c for ws in workbook for row in ws.iter_rows(values_only=True)
                     for c in row if isinstance(c, str)]
        finally:
            workbook.close()
        assert "England period" in cells, pack.name
        # The pack says what the report says: England's period against its own.
        assert f"2023, not {assessed_sample.headline_period}" in cells, pack.name
        assert "period not stated" in cells, pack.name
        assert any("OHID Fingertips download, fingertips_peolc.csv" in c for c in cells)


# The download exactly as Fingertips writes it (every column, in order, with the
# comparison column named after the parent area type), and the area types and
# breakdowns a real PEoLC download holds.
REAL_COLUMNS = (
    "Indicator ID", "Indicator Name", "Parent Code", "Parent Name", "Area Code", "Area Name",
    "Area Type", "Sex", "Age", "Category Type", "Category", "Time period", "Value",
    "Lower CI 95.0 limit", "Upper CI 95.0 limit", "Lower CI 99.8 limit",
    "Upper CI 99.8 limit", "Count", "Denominator", "Value note", "Recent Trend",
    "Compared to England value or percentiles", "Compared to ICB/region value or percentiles",
    "Time period Sortable", "New data", "Compared to goal", "Time period range",
)
SHARED_NAMES = {
    "pod_hospital_pct": "Percentage of deaths that occur in hospital",
    "pod_home_pct": "Percentage of deaths that occur at home",
    "pod_care_home_pct": "Percentage of deaths that occur in care homes",
    "pod_hospice_pct": "Percentage of deaths that occur in hospice",
    "pod_other_pct": "Percentage of deaths that occur in 'other places'",
    "diupr_pct": "Percentage of deaths in usual place of residence (DiUPR)",
    "ea_last90_3plus_pct": "Percentage of deaths with 3 or more emergency admissions in "
                           "the last 90 days of life",
}


def _real_rows() -> tuple[list[dict[str, str]], dict[tuple[str, str], float]]:
    """Rows of every kind, and the values that must be picked: (ours, 'england' |
    'region') -> value. The wanted total of each indicator is 10 + its position (England)
    and 20 + it (the ICB's region); every other row carries a value that would show if
    it were taken (90+)."""
    rows: list[dict[str, str]] = []
    wanted: dict[tuple[str, str], float] = {}
    areas = (  # (parent code, code, name, type)
        ("", "E92000001", "England", "England"),
        ("E92000001", "E40000006", "South West", "Region"),
        ("E92000001", "E40000003", "London", "Region"),
        ("E40000006", "E54000999", "Test ICB", "ICB"),
        ("E54000999", "E38000999", "NHS Test ICB - 11X", "Sub-ICB"),
        ("E40000006", "E06000052", "Cornwall", "Counties & UAs (from Apr 2023)"),
    )

    def add(i: int, name: str, area: tuple[str, str, str, str], value: float, *,
            sex: str = "Persons", age: str = "All ages", category_type: str = "",
            category: str = "", period: str = "2023", sortable: str = "20230000",
            ind_id: str = "") -> None:
        parent, code, area_name, area_type = area
        rows.append(dict.fromkeys(REAL_COLUMNS, "") | {
            "Indicator ID": ind_id or str(80000 + i), "Indicator Name": name,
            "Parent Code": parent, "Area Code": code, "Area Name": area_name,
            "Area Type": area_type, "Sex": sex, "Age": age, "Category Type": category_type,
            "Category": category, "Time period": period, "Value": f"{value}",
            "Count": "100", "Denominator": "1000", "Time period Sortable": sortable,
            "Recent Trend": "Cannot be calculated", "Time period range": "1y"})

    for i, (ours, name) in enumerate(SHARED_NAMES.items()):
        for area in areas:
            total = {"England": 10.0 + i, "South West": 20.0 + i}.get(area[2], 30.0 + i)
            add(i, name, area, total)
            if area[2] == "England":
                wanted[(ours, "england")] = total
            elif area[2] == "South West":
                wanted[(ours, "region")] = total
            # Breakdowns of the same period and area: never the total.
            add(i, name, area, 91.0, sex="Male")
            add(i, name, area, 92.0, sex="Female")
            add(i, name, area, 93.0, age="85+ yrs")
            add(i, name, area, 94.0, category_type="LSOA11 deprivation deciles in England "
                "(IMD2019)", category="Most deprived decile (IMD2019)")
            # A later period published only for an age band and a category.
            add(i, name, area, 95.0, age="<75 yrs", period="2024", sortable="20240000")
            add(i, name, area, 96.0, category_type="Ethnic groups", category="White",
                period="2024", sortable="20240000")
            # An earlier total: older than the one wanted.
            add(i, name, area, 97.0, period="2022", sortable="20220000")
    # Names that must not be taken for ours: a different population or definition.
    add(20, "Percentage of deaths that occur in care homes who were temporary residents",
        areas[0], 98.0)
    add(21, "Percentage of deaths in usual place of residence among people aged 65 years "
        "and over", areas[0], 99.0)
    return rows, wanted


def test_a_real_layout_download_uses_only_the_totals(tmp_path: Path) -> None:
    """Every column of the real download, five area types, sex, age-band and category
    rows, a later period for a subgroup only: the preset loads every row, and England
    and the ICB's region come from the Persons / All ages / no-category rows of the
    latest period for each shared indicator, recognised by its published name."""
    config = _project(tmp_path / "p")
    rows, wanted = _real_rows()
    path = tmp_path / "fingertips-peolc.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:  # as downloaded
        writer = csv.DictWriter(handle, fieldnames=REAL_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    [result] = ingest_files(config, "benchmarks", [path], mapping="fingertips",
                            reporter=Reporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (
        len(rows), len(rows), 0)
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        found = load_benchmarks(con, indicator_ids=sorted(SHARED_NAMES),
                                icb_code=config.icb_code, icb_name=config.icb_name)
    finally:
        con.close()
    got = {(b.indicator_id, b.area_type): b.value for b in found}
    assert got == wanted
    assert {b.period for b in found} == {"2023"}
    assert {b.area_name for b in found if b.area_type == "region"} == {"South West"}

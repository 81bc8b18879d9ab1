"""NHS ODS's practice list, epraccur, read as published (issue 9, onboarding).

epraccur.csv (and the ODS Data Search and Export report of the same name) has no header
row: 27 columns, the practice's ODS code first, its open and close dates eleventh and
twelfth, the status thirteenth, the prescribing setting twenty-sixth (4 = GP practice;
walk-in centres, out-of-hours services, prisons and the like are listed too). Preset
ods_epraccur reads it by position: GP practices load into `practices` with no PCN and
their open and close dates; the other rows are quarantined with their own reason (never
counted towards refusing the file). A practice listed only there is published at
practice level and under PCN 'no_pcn' ("No PCN") when it was open during the assessed
periods, never dropped. Known answers worked out by hand from the rows below."""

from __future__ import annotations

import shlex
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from eolneeds.assess import compute_indicators
from eolneeds.cli import app
from eolneeds.config import DisclosureConfig, load_config
from eolneeds.db import connect
from eolneeds.errors import InputDataError
from eolneeds.ingest import ingest_files
from eolneeds.inspect import inspect_file
from eolneeds.reporting import Reporter
from eolneeds.validate import validate_project
from tests.handbuilt_db import build_practice_db, handbuilt_config
from tests.small_project import one_place_project
from tests.test_ingest import query


def _row(code: str, name: str, opened: str, closed: str, status: str, setting: str) -> str:
    """One epraccur line as ODS writes it: code, name, national grouping, high level
    health geography, five address lines, postcode, open date, close date, status, sub
    type, commissioner, join and left parent dates, telephone, the null and flag columns,
    prescribing setting (26th), a null 27th (synthetic values)."""
    return (f'{code},"{name}",Y63,QHM,"THE HEALTH CENTRE","LAWSON STREET",'
            f'"STOCKTON-ON-TEES","CLEVELAND","",TS18 1HU,{opened},{closed},{status},B,16C,'
            f'20220701,,01642 672351,,,,0,,,,{setting},')


ROWS = [
    _row("A81001", "THE DENSHAM SURGERY", "19740401", "", "A", "4"),          # loaded
    _row("A81002", "QUEENS PARK MEDICAL CENTRE", "19740401", "20200331", "C", "4"),  # loaded
    _row("Y02345", "TOWN WALK-IN CENTRE", "20100401", "", "A", "1"),          # quarantined
    _row("Y03456", "OUT OF HOURS SERVICE", "20100401", "", "A", "2"),         # quarantined
    _row("A81003", "THE HEALTH CENTRE, VICTORIA ROAD", "19740401", "", "A", "4"),  # loaded
    _row("Y04567", "HMP TOWN", "20100401", "", "A", "25"),                    # quarantined
    _row("Y05678", "TOWN HOSPICE", "20100401", "", "A", "13"),                # quarantined
]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")


def _epraccur(path: Path) -> Path:
    path.write_bytes(("\r\n".join(ROWS) + "\r\n").encode("utf-8"))
    return path


def _project(root: Path, mapping: str | None = None) -> Path:
    if mapping is None:
        return one_place_project(root, {})
    preset = "ods_epraccur" if mapping == "epraccur" else mapping
    return one_place_project(root, {mapping: f'dataset = "practices"\npreset = "{preset}"\n'})


def _query(root: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    return query(load_config(root), sql)


def test_gp_practices_load_and_the_rest_say_why(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", "epraccur")
    path = _epraccur(tmp_path / "epraccur.csv")
    # Four of seven rows are no GP practice: more than the 50% refusal share, yet the
    # file loads (ODS lists every prescribing organisation; that is no mapping fault).
    [res] = ingest_files(load_config(root), "practices", [path], mapping="epraccur",
                         reporter=Reporter())
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (7, 3, 4)
    assert _query(root, "SELECT practice_code, practice_name, pcn_code, start_date, "
                        "end_date, source_row FROM practices ORDER BY source_row") == [
        ("A81001", "THE DENSHAM SURGERY", None, date(1974, 4, 1), None, 1),
        ("A81002", "QUEENS PARK MEDICAL CENTRE", None, date(1974, 4, 1), date(2020, 3, 31), 2),
        ("A81003", "THE HEALTH CENTRE, VICTORIA ROAD", None, date(1974, 4, 1), None, 5)]
    reasons = dict(_query(root, "SELECT row_number, reason FROM rejects"))
    assert sorted(reasons) == [3, 4, 6, 7]
    assert reasons[6] == ("not a GP practice (prescribing setting 25): ODS's practice list "
                          "names every prescribing organisation; only GP practices (setting "
                          "4) are read")


def test_inspect_names_the_preset_and_its_mapping_ingests(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    path = _epraccur(tmp_path / "epraccur.csv")
    found = inspect_file(path)
    assert (found.preset, found.dataset) == ("ods_epraccur", "practices")
    text = found.render_text()
    assert "no header row" in text and "header     none (the first line is a row)" in text
    assert "rows       7 data rows" in text  # the first line counted too
    result = CliRunner().invoke(app, ["inspect", str(path), "--write-mapping", "epraccur",
                                      "--project", str(root)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["ingest", "practices", str(path), "--mapping",
                                      "epraccur", "--project", str(root)])
    assert result.exit_code == 0, result.output
    assert _query(root, "SELECT count(*) FROM practices") == [(3,)]


@pytest.mark.parametrize("mapping", [None, "ods_epcn"])
def test_read_with_a_header_mapping_the_advice_followed_literally_ingests(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mapping: str | None) -> None:
    """Without a mapping, or with the ePCN one: the message says what the file is and
    the mapping to write; written as it says, the command it names ingests."""
    root = _project(tmp_path / "p", mapping)
    if mapping is not None:  # the default mapping of the dataset reads ePCN
        (root / "mappings" / f"{mapping}.toml").rename(root / "mappings" / "practices.toml")
    path = _epraccur(tmp_path / "epraccur.csv")
    with pytest.raises(InputDataError) as refused:
        ingest_files(load_config(root), "practices", [path], reporter=Reporter())
    message = str(refused.value)
    assert "epraccur" in message and "no header row" in message
    write, run = message.split(" — write ", 1)[1].split(", then run ")
    target, holding = write.split(" holding ")
    assert Path(target) == root / "mappings" / "epraccur.toml"
    Path(target).write_text(holding.replace(" and ", "\n") + "\n", encoding="utf-8")
    command = shlex.split(run)
    assert command[:4] == ["eolneeds", "ingest", "practices", str(path)]
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, command[1:])
    assert result.exit_code == 0, result.output
    assert _query(root, "SELECT count(*) FROM practices") == [(3,)]


def test_a_header_less_file_of_other_width_and_an_empty_line_keep_row_numbers(
        tmp_path: Path) -> None:
    """Rows are numbered by line (1 = the first line: there is no header), an empty line
    included; a row cut short is quarantined, not shifted."""
    root = _project(tmp_path / "p", "epraccur")
    path = tmp_path / "epraccur.csv"
    path.write_bytes(("\r\n".join([ROWS[0], "", ROWS[4], "A81009,SHORT ROW"]) + "\r\n")
                     .encode("utf-8"))
    [res] = ingest_files(load_config(root), "practices", [path], mapping="epraccur",
                         reporter=Reporter())
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (3, 2, 1)
    assert _query(root, "SELECT practice_code, source_row FROM practices ORDER BY 2") == [
        ("A81001", 1), ("A81003", 3)]
    assert [r for (r,) in _query(root, "SELECT row_number FROM rejects")] == [4]


# ---------------------------------------------------------------------------------------
# Practices without a PCN through assess and validate, on the hand-built practice
# database (tests/handbuilt_db.py): C1 (9 need deaths, none identified) is in no PCN
# lookup there, and one death has no practice at all.

PERIOD = "2023-11 to 2024-10"


def _assess(tmp_path: Path, listed: list[tuple[str, date, date | None]]) -> pl.DataFrame:
    config = handbuilt_config(tmp_path, disclosure=DisclosureConfig(min_count=0))
    build_practice_db(config.database_path)
    con = connect(config.database_path)
    try:
        con.executemany(
            "INSERT INTO practices (practice_code, practice_name, pcn_code, start_date, "
            "end_date, source_file_id, source_row) VALUES (?, 'X', NULL, ?, ?, 9, ?)",
            [(*r, i) for i, r in enumerate(listed, start=1)])
        frame = compute_indicators(config, con)
        funnel = con.sql("SELECT practice_code, pcn_code FROM practice_funnel").pl()
    finally:
        con.close()
    return frame.filter(pl.col("period") == PERIOD), funnel


def _counts(frame: pl.DataFrame, breakdown: str) -> dict[str, tuple]:  # type: ignore[type-arg]
    sel = frame.filter((pl.col("indicator_id") == "on_register_need_pct")
                       & (pl.col("breakdown") == breakdown))
    return {r["breakdown_value"]: (r["numerator"], r["denominator"])
            for r in sel.iter_rows(named=True)}


def test_a_practice_in_no_pcn_is_published_under_no_pcn(tmp_path: Path) -> None:
    # C1 listed by epraccur, open since 1974: 'no_pcn' = C1's 9 need deaths, 0
    # identified; 'unknown' keeps only the death with no practice (1, 0). A1, also
    # listed by epraccur, stays in its PCN U00001 (the ePCN rows decide).
    frame, funnel = _assess(tmp_path, [("C1", date(1974, 4, 1), None),
                                       ("A1", date(1974, 4, 1), None)])
    assert _counts(frame, "pcn") == {
        "U00001": (40, 80), "U00002": (25, 40), "no_pcn": (0, 9), "unknown": (0, 1)}
    assert _counts(frame, "gp_practice")["C1"] == (0, 9)
    pcns = dict(funnel.unique().iter_rows())
    assert (pcns["C1"], pcns["A1"], pcns["unknown"]) == ("no_pcn", "U00001", "unknown")


def test_a_practice_closed_before_the_assessment_is_not_listed(tmp_path: Path) -> None:
    # C1 closed on 31 March 2020, before any assessed period (the earliest starts in
    # 2023): its deaths cannot be at a practice that is known, so PCN 'unknown' = 10, 0,
    # as with no practice list; the practice itself is still published.
    frame, _ = _assess(tmp_path, [("C1", date(1974, 4, 1), date(2020, 3, 31))])
    assert _counts(frame, "pcn") == {
        "U00001": (40, 80), "U00002": (25, 40), "unknown": (0, 10)}
    assert _counts(frame, "gp_practice")["C1"] == (0, 9)


def test_validate_counts_deaths_at_practices_in_no_pcn_and_closed(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", "epraccur")
    _epraccur(tmp_path / "epraccur.csv")
    ingest_files(load_config(root), "practices", [tmp_path / "epraccur.csv"],
                 mapping="epraccur", reporter=Reporter())
    deaths = tmp_path / "deaths.csv"
    deaths.write_text(
        "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death,"
        "gp_practice\n"
        "A,05/01/2023,85,F,E01000001,C34.9,Hospital,A81001\n"   # in no PCN
        "B,06/01/2023,85,F,E01000001,C34.9,Hospital,A81002\n"   # in no PCN, closed 2020
        "C,07/01/2023,85,F,E01000001,C34.9,Hospital,Y02345\n",  # walk-in: not a practice
        encoding="utf-8")
    ingest_files(load_config(root), "deaths", [deaths], reporter=Reporter())
    report = validate_project(load_config(root), reporter=Reporter())
    rows = {r[0]: r[1:4] for r in report.table("practices").frame.iter_rows()}
    assert rows["deaths whose practice is in no PCN (listed only by ODS's practice list)"] \
        == (2, 2, "A81001, A81002")
    assert rows["deaths after their practice closed (ODS's practice list)"] == (1, 1, "A81002")
    assert rows["deaths whose practice is not in the practices file"] == (1, 1, "Y02345")
    assert rows["practices in the practices file with no current PCN"] == (0, 0, "none")


def test_practices_closed_with_no_close_date_dormant_or_proposed_are_said(
        tmp_path: Path) -> None:
    """ODS's status: C1 is closed (C) but has no close date, D1 dormant, P1 proposed.
    Before, the status was not read: all three were taken as open practices without a
    word. Their deaths still count under them (never dropped), and validate lists them
    with the fix; A81001 (active) is not listed."""
    root = _project(tmp_path / "p", "epraccur")
    path = tmp_path / "epraccur.csv"
    path.write_bytes(("\r\n".join([
        ROWS[0],
        _row("C81001", "CLOSED SURGERY", "19740401", "", "C", "4"),
        _row("D81001", "DORMANT SURGERY", "19740401", "", "D", "4"),
        _row("P81001", "PROPOSED SURGERY", "20250401", "", "P", "4"),
    ]) + "\r\n").encode("utf-8"))
    ingest_files(load_config(root), "practices", [path], mapping="epraccur",
                 reporter=Reporter())
    assert _query(root, "SELECT practice_code, status FROM practices ORDER BY 1") == [
        ("A81001", "A"), ("C81001", "C"), ("D81001", "D"), ("P81001", "P")]
    deaths = tmp_path / "deaths.csv"
    deaths.write_text(
        "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death,"
        "gp_practice\n"
        "A,05/01/2023,85,F,E01000001,C34.9,Hospital,A81001\n"
        "B,06/01/2023,85,F,E01000001,C34.9,Hospital,C81001\n"
        "C,07/01/2023,85,F,E01000001,C34.9,Hospital,C81001\n"
        "D,08/01/2023,85,F,E01000001,C34.9,Hospital,D81001\n"
        "E,09/01/2023,85,F,E01000001,C34.9,Hospital,P81001\n",
        encoding="utf-8")
    ingest_files(load_config(root), "deaths", [deaths], reporter=Reporter())
    report = validate_project(load_config(root), reporter=Reporter())
    rows = {r[0]: r[1:4] for r in report.table("practices").frame.iter_rows()}
    assert rows["deaths at practices ODS lists as closed but with no close date "
                "(status C)"] == (2, 1, "C81001")
    assert rows["deaths at practices ODS lists as dormant or proposed (status D or P)"] \
        == (2, 2, "D81001, P81001")
    assert "record the practice the person was registered with at death" in \
        report.render_text()


def test_with_an_epraccur_mapping_in_place_the_message_names_it_and_it_ingests(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingested with the ePCN mapping named (--mapping practices) while a mapping for
    epraccur exists: the message names the command with that mapping, which ingests.
    (With no --mapping, ingest already takes the mapping that reads the file.)"""
    root = _project(tmp_path / "p", "epraccur")
    (root / "mappings" / "practices.toml").write_text(
        'dataset = "practices"\npreset = "ods_epcn"\n', encoding="utf-8")
    path = _epraccur(tmp_path / "gp_list_2024-10.csv")
    with pytest.raises(InputDataError) as refused:
        ingest_files(load_config(root), "practices", [path], mapping="practices",
                     reporter=Reporter())
    command = shlex.split(str(refused.value).split(" — run ", 1)[1])
    assert command[:6] == ["eolneeds", "ingest", "practices", str(path), "--mapping",
                           "epraccur"]
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, command[1:])
    assert result.exit_code == 0, result.output
    assert _query(root, "SELECT count(*) FROM practices") == [(3,)]


def test_the_epcn_file_the_no_pcn_check_advises_gives_the_practice_its_pcn(
        tmp_path: Path) -> None:
    """validate's advice for deaths at a practice in no PCN, followed: load the ePCN
    file that holds it; the practice then has its PCN and the check finds the other."""
    root = _project(tmp_path / "p", "epraccur")
    ingest_files(load_config(root), "practices", [_epraccur(tmp_path / "epraccur.csv")],
                 mapping="epraccur", reporter=Reporter())
    deaths = tmp_path / "deaths.csv"
    deaths.write_text(
        "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death,"
        "gp_practice\n"
        "A,05/01/2023,85,F,E01000001,C34.9,Hospital,A81001\n"
        "B,06/01/2023,85,F,E01000001,C34.9,Hospital,A81003\n", encoding="utf-8")
    ingest_files(load_config(root), "deaths", [deaths], reporter=Reporter())
    check = "deaths whose practice is in no PCN (listed only by ODS's practice list)"

    def found() -> tuple:  # type: ignore[type-arg]
        report = validate_project(load_config(root), reporter=Reporter())
        return {r[0]: r[1:4] for r in report.table("practices").frame.iter_rows()}[check]

    assert found() == (2, 2, "A81001, A81003")
    (root / "mappings" / "ods_epcn.toml").write_text(
        'dataset = "practices"\npreset = "ods_epcn"\n', encoding="utf-8")
    epcn = tmp_path / "epcn.csv"
    epcn.write_text("Partner Organisation Code,Partner Name,PCN Code,PCN Name\n"
                    "A81001,THE DENSHAM SURGERY,U12345,STOCKTON PCN\n", encoding="utf-8")
    ingest_files(load_config(root), "practices", [epcn], mapping="ods_epcn",
                 reporter=Reporter())
    assert found() == (1, 1, "A81003")

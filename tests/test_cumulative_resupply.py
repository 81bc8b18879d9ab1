"""A cumulative (year-to-date) re-supply of activity or a register snapshot, loaded on top
of the earlier file of the same feed, must not count any event twice (newcomer2 finding
01): its rows that repeat rows already loaded from an earlier file read with the same
mapping are quarantined as duplicates, naming the earlier file and row. Rows repeating
within one file, and rows of another feed, still load. Counts worked out by hand."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb
import pytest

from eolneeds import ingest
from eolneeds.config import load_config
from eolneeds.ingest import ingest_files
from eolneeds.reporting import RecordingReporter
from tests.small_project import one_place_project

SPELLS_HEADER = "NHS_NUMBER,ADMIDATE,DISDATE,ADMIMETH,TREATMENT_FUNCTION_CODE,SPELL_COST"


def nhs_number(stem: int) -> str:
    """A valid NHS number (modulus 11) from a nine-digit stem."""
    digits = f"{stem:09d}"
    check = 11 - sum(int(d) * (10 - i) for i, d in enumerate(digits)) % 11
    check = 0 if check == 11 else check
    assert check != 10, stem
    return digits + str(check)


A, B, C, D = (nhs_number(s) for s in (400000001, 400000002, 400000004, 400000005))


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret-at-all")


def project(root: Path) -> Path:
    spells = 'dataset = "activity"\npreset = "hes_apc"\n'
    return one_place_project(root, {
        "hes_apc": spells, "other_trust": spells,
        "emis": 'dataset = "register"\nnhs_number = true\n[columns]\nperson_id = "NHS Number"\n'
                'date_added = "Date Added"\ngp_practice = "Practice"\n'})


def write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def query(root: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(root / "eolneeds.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


FEBRUARY = [
    SPELLS_HEADER,
    f"{A},20250110,20250112,21,300,1200",   # 2
    f"{A},20250110,20250110,21,300,300",    # 3: a second emergency admission that day
    f"{B},20250201,18000101,21,300,",       # 4: not yet discharged
    f"{C},20250115,20250116,11,100,900",    # 5: elective
]
MARCH = [
    SPELLS_HEADER,
    f"{B},20250201,20250305,21,300,4000",   # 2: repeats Feb row 4, now discharged
    f"{A},20250110,20250112,21,300,1200",   # 3: repeats Feb row 2
    f"{C},20250115,20250116,11,100,900",    # 4: repeats Feb row 5
    f"{A},20250110,20250110,21,300,300",    # 5: repeats Feb row 3
    f"{A},20250110,20250111,21,300,500",    # 6: a third that day: new in March
    f"{D},20250310,20250312,21,300,800",    # 7: new
]


def reasons(root: Path) -> list[tuple]:
    return query(root, "SELECT row_number, reason FROM rejects ORDER BY 1")


def repeat(row: int) -> str:
    return ("duplicate activity row for this person, activity_type and start_date: already "
            f"loaded from HES_APC_Spells_to_202502.csv row {row}")


def warnings_of(reporter: RecordingReporter) -> list[str]:
    return [f["text"] for name, f in reporter.events
            if name == "message" and f["level"] == "warning"]


@pytest.mark.parametrize("direct", [True, False])
def test_cumulative_activity_resupply_replaces_the_earlier_file(tmp_path, monkeypatch,
                                                                direct):
    """March's file repeats every spell of February's: it takes February's place (as
    --replace-file would), so each admission counts once and B's discharge date, not
    known in February, is March's."""
    monkeypatch.setattr(ingest, "DIRECT_LOAD", direct)
    root = project(tmp_path / "p")
    config = load_config(root)
    feb = write(tmp_path / "in" / "HES_APC_Spells_to_202502.csv", FEBRUARY)
    mar = write(tmp_path / "in" / "HES_APC_Spells_to_202503.csv", MARCH)
    [first] = ingest_files(config, "activity", [feb], mapping="hes_apc",
                           reporter=RecordingReporter())
    assert (first.rows_read, first.rows_loaded, first.rows_rejected) == (4, 4, 0)
    reporter = RecordingReporter()
    [second] = ingest_files(config, "activity", [mar], mapping="hes_apc", reporter=reporter)
    assert (second.rows_read, second.rows_loaded, second.rows_rejected) == (6, 6, 0)
    # A: three emergency admissions on 10 Jan; B, D: one each; C elective.
    assert query(root, "SELECT count(*) FILTER (WHERE activity_type = "
                       "'emergency_admission'), count(*), count(DISTINCT source_file_id) "
                       "FROM activity") == [(5, 6, 1)]
    assert query(root, "SELECT end_date FROM activity WHERE start_date = DATE "
                       "'2025-02-01'") == [(date(2025, 3, 5),)]
    assert query(root, "SELECT file_name, replaced_by FROM ingest_log ORDER BY file_id") == [
        ("HES_APC_Spells_to_202502.csv", second.file_id),
        ("HES_APC_Spells_to_202503.csv", None)]
    assert reasons(root) == []
    assert any("HES_APC_Spells_to_202503.csv: repeats every row of "
               "HES_APC_Spells_to_202502.csv" in m for m in warnings_of(reporter))
    [again] = ingest_files(config, "activity", [mar], mapping="hes_apc",
                           reporter=RecordingReporter())
    assert again.skipped


@pytest.mark.parametrize("direct", [True, False])
def test_rolling_window_resupply_quarantines_the_repeated_rows(tmp_path, monkeypatch,
                                                               direct):
    """A re-supply that no longer holds one of February's spells (a rolling window moved
    on, or a spell deleted) cannot replace February's file: the rows it repeats are
    quarantined as duplicates naming February's row (multiset: A's third admission on
    10 Jan is new), and the earlier values stand, said in a warning with the fix."""
    monkeypatch.setattr(ingest, "DIRECT_LOAD", direct)
    root = project(tmp_path / "p")
    config = load_config(root)
    feb = write(tmp_path / "in" / "HES_APC_Spells_to_202502.csv", FEBRUARY)
    rolling = write(tmp_path / "in" / "HES_APC_Spells_rolling_202503.csv",
                    [row for row in MARCH if not row.startswith(C)])
    ingest_files(config, "activity", [feb], mapping="hes_apc", reporter=RecordingReporter())
    reporter = RecordingReporter()
    [second] = ingest_files(config, "activity", [rolling], mapping="hes_apc",
                            reporter=reporter)
    assert (second.rows_read, second.rows_loaded, second.rows_rejected) == (5, 2, 3)
    assert query(root, "SELECT count(*) FILTER (WHERE activity_type = "
                       "'emergency_admission'), count(*) FROM activity") == [(5, 6)]
    assert reasons(root) == [(2, repeat(4)), (3, repeat(2)), (4, repeat(3))]
    assert query(root, "SELECT count(*) FROM ingest_log WHERE replaced_by IS NOT NULL") == [
        (0,)]
    assert any("1 row repeats activity rows already loaded from another file with "
               "DIFFERENT values" in m for m in warnings_of(reporter))


def test_repeats_within_a_file_or_from_another_feed_still_load(tmp_path):
    root = project(tmp_path / "p")
    config = load_config(root)
    feb = write(tmp_path / "in" / "trust_a.csv", FEBRUARY)
    # Another trust's file (another mapping: another feed) with the same admission of A.
    other = write(tmp_path / "in" / "trust_b.csv", [SPELLS_HEADER,
                                                    f"{A},20250110,20250112,21,300,1200"])
    [first] = ingest_files(config, "activity", [feb], mapping="hes_apc",
                           reporter=RecordingReporter())
    [second] = ingest_files(config, "activity", [other], mapping="other_trust",
                            reporter=RecordingReporter())
    assert (first.rows_loaded, second.rows_loaded) == (4, 1)
    assert query(root, "SELECT count(*) FROM rejects") == [(0,)]
    assert query(root, "SELECT count(*) FROM activity WHERE start_date = DATE "
                       "'2025-01-10'") == [(3,)]


def test_register_snapshots_load_each_entry_once(tmp_path):
    """April's snapshot no longer lists A (who died): it cannot replace March's, so its
    repeat of B's entry is quarantined and C's new entry loads. May's repeats every entry
    held (B, C, and A's from March) and adds one: it replaces both loads."""
    root = project(tmp_path / "p")
    config = load_config(root)
    header = "NHS Number,Date Added,Practice"
    march = write(tmp_path / "in" / "emis_202503.csv", [
        header, f"{A},01/02/2025,A81001", f"{B},03/02/2025,A81001"])
    april = write(tmp_path / "in" / "emis_202504.csv", [
        header, f"{B},03/02/2025,A81002", f"{C},02/04/2025,A81001"])
    may = write(tmp_path / "in" / "emis_202505.csv", [
        header, f"{C},02/04/2025,A81001", f"{B},03/02/2025,A81002",
        f"{A},01/02/2025,A81001", f"{D},02/05/2025,A81001"])
    ingest_files(config, "register", [march], mapping="emis", reporter=RecordingReporter())
    [second] = ingest_files(config, "register", [april], mapping="emis",
                            reporter=RecordingReporter())
    assert (second.rows_read, second.rows_loaded, second.rows_rejected) == (2, 1, 1)
    assert query(root, "SELECT row_number, reason FROM rejects") == [
        (2, "duplicate register row for this person and date_added: already loaded from "
            "emis_202503.csv row 3")]
    assert query(root, "SELECT count(*), count(DISTINCT person_id) FROM register") == [(3, 3)]
    [third] = ingest_files(config, "register", [may], mapping="emis",
                           reporter=RecordingReporter())
    assert (third.rows_read, third.rows_loaded, third.rows_rejected) == (4, 4, 0)
    assert query(root, "SELECT count(*), count(DISTINCT person_id), "
                       "count(DISTINCT source_file_id) FROM register") == [(4, 4, 1)]
    assert query(root, "SELECT count(*) FROM rejects") == [(0,)]
    assert query(root, "SELECT file_name FROM ingest_log WHERE replaced_by = "
                       f"{third.file_id} ORDER BY 1") == [("emis_202503.csv",),
                                                           ("emis_202504.csv",)]


@pytest.mark.slow
def test_monthly_runs_on_cumulative_spells_count_as_the_whole_file_loaded_once(tmp_path):
    """Two `eolneeds run`s, the second on a cumulative re-supply of the first's spells
    (every row again plus the later ones, under a new name): the indicators equal those
    of a project that loaded only the whole file, once; the first load is replaced, and
    rows read = loaded + rejected for every file."""
    import subprocess
    import sys

    from sample_settings import primary_suppression_only

    from eolneeds import sample
    from eolneeds.reporting import Reporter

    env = {**os.environ, "EOLNEEDS_KEY": "run-test-key-not-secret"}
    cli = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
    month = sample.LAST_DAY.strftime("%Y-%m")

    def generated(root: Path) -> list[str]:
        sample.write_sample(root, deaths=150, seed=4, reporter=Reporter(),
                            key_file=root.parent / "sample.key")
        with (root / "eolneeds.toml").open("a", encoding="utf-8") as fh:
            fh.write('\n[outputs]\nformats = ["csv"]\nper_place = false\n')
        primary_suppression_only(root)
        spells = root / "inbox" / "activity" / "hes_apc_spells.csv"
        lines = spells.read_text(encoding="utf-8").splitlines()
        spells.unlink()
        return lines

    def run(root: Path) -> None:
        proc = subprocess.run([*cli, "run", "--month", month, "--project", str(root)],
                              capture_output=True, text=True, encoding="utf-8", env=env,
                              timeout=900)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]

    # The reference: the whole spells file, loaded once.
    whole = tmp_path / "whole" / "proj"
    lines = generated(whole)
    write(whole / "inbox" / "activity" / "hes_apc_spells_to_2026-10.csv", lines)
    run(whole)
    # The routine: two thirds of the spells, then the cumulative file with all of them.
    routine = tmp_path / "routine" / "proj"
    assert generated(routine) == lines
    cut = 1 + 2 * (len(lines) - 1) // 3
    write(routine / "inbox" / "activity" / "hes_apc_spells_to_2026-09.csv", lines[:cut])
    run(routine)
    write(routine / "inbox" / "activity" / "hes_apc_spells_to_2026-10.csv", lines)
    run(routine)
    assert query(routine, "SELECT file_name, replaced_by IS NOT NULL FROM ingest_log WHERE "
                          "file_name LIKE 'hes_apc_spells%' ORDER BY file_id") == [
        ("hes_apc_spells_to_2026-09.csv", True), ("hes_apc_spells_to_2026-10.csv", False)]
    assert query(routine, "SELECT count(*) FROM ingest_log WHERE rows_read <> rows_loaded "
                          "+ rows_rejected") == [(0,)]
    for table in ("activity", "rejects"):
        assert query(routine, f"SELECT count(*) FROM {table}") == query(
            whole, f"SELECT count(*) FROM {table}")
    assert ((routine / "output" / month / "indicators.csv").read_bytes()
            == (whole / "output" / month / "indicators.csv").read_bytes())


PCMD_HEADER = ("DEC_NHS_NUMBER\tREG_DATE_OF_DEATH\tREG_DATE\tDEC_AGEC\tDEC_SEX\tDEC_LSOA\t"
               "S_UNDERLYING_COD_ICD10\tPLACE_OF_DEATH")


def test_a_death_with_no_nhs_number_counts_once_across_cumulative_resupplies(tmp_path):
    """newcomer2 finding 02: a death with no NHS number is unlinked; sent again in each
    cumulative re-supply (under new names, the cause amended), it is recognised as the same
    death and quarantined as a duplicate, as a death with a number is. Two deaths with no
    number that differ (here: LSOA) are two deaths, in one file or across files."""
    root = project(tmp_path / "p")
    (root / "mappings" / "pcmd_deaths.toml").write_text(
        'dataset = "deaths"\npreset = "pcmd_deaths"\n', encoding="utf-8")
    config = load_config(root)
    rows = [
        f"{A}\t20250610\t20250612\t81\t1\tE01012112\tC349\tHospital",       # 2
        "NULL\t20250610\t20250613\t77\t2\tE01012112\tI219\tHospice",        # 3: no number
        "\t20250610\t20250613\t77\t2\tE01012113\tI219\tHospice",            # 4: another
    ]
    feb = write(tmp_path / "in" / "PCMD_Deaths_202602.txt", [PCMD_HEADER, *rows])
    mar = write(tmp_path / "in" / "PCMD_Deaths_202603.txt", [
        PCMD_HEADER, *rows[:2], rows[2].replace("I219", "I251"),  # an amended cause
        f"{B}\t20250301\t20250303\t90\t2\tE01012112\tF03\tCare home"])
    # April's DARS file no longer holds A's death (a rolling window): it replaces nothing,
    # and its repeats, the two deaths with no number among them, are duplicates.
    apr = write(tmp_path / "in" / "NIC123456_DEATHS_20260430.txt", [
        PCMD_HEADER, f"{B}\t20250301\t20250303\t90\t2\tE01012112\tF03\tCare home",
        *reversed(rows[1:])])
    [first] = ingest_files(config, "deaths", [feb], mapping="pcmd_deaths",
                           reporter=RecordingReporter())
    assert (first.rows_loaded, first.rows_rejected) == (3, 0)
    # March repeats every death of February (the two with no number recognised by their
    # facts, one with its cause amended): it replaces February's load.
    [second] = ingest_files(config, "deaths", [mar], mapping="pcmd_deaths",
                            reporter=RecordingReporter())
    assert (second.rows_read, second.rows_loaded, second.rows_rejected) == (4, 4, 0)
    assert query(root, "SELECT count(*) FROM ingest_log WHERE replaced_by = "
                       f"{second.file_id}") == [(1,)]
    [third] = ingest_files(config, "deaths", [apr], mapping="pcmd_deaths",
                           reporter=RecordingReporter())
    assert (third.rows_read, third.rows_loaded, third.rows_rejected) == (3, 0, 3)
    assert query(root, "SELECT count(*), count(*) FILTER (WHERE person_id LIKE 'u%'), "
                       "count(DISTINCT person_id) FROM deaths") == [(4, 2, 4)]
    # March's amended cause stands (April's repeat of it, with the old cause, is a
    # duplicate: the cause is not among the facts that recognise it).
    assert query(root, "SELECT lsoa_code, underlying_cause FROM deaths WHERE person_id "
                       "LIKE 'u%' ORDER BY 1") == [("E01012112", "I219"),
                                                  ("E01012113", "I251")]
    assert query(root, "SELECT row_number, reason FROM rejects ORDER BY 1") == [
        (2, "duplicate death for this person: already loaded from PCMD_Deaths_202603.txt "
            "row 5"),
        (3, "duplicate death for this person: already loaded from PCMD_Deaths_202603.txt "
            "row 4"),
        (4, "duplicate death for this person: already loaded from PCMD_Deaths_202603.txt "
            "row 3")]

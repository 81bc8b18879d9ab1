"""Two admissions of one person on one day are two (the spell identifier is read).

SUS / HES APC extracts identify each spell (APCS_IDENT, SPELL_ID, HES_SPELL_ID). Before,
it was not read, and a person's rows of one day were one event: a second spell that day
in a later file of the feed was quarantined as a repeat of the first, and an episode
extract's two spells of one day kept their first episode's end (bed days lost). Now two
spells are two admissions with their own bed days; the same spell sent twice (in one
file or a later one) counts once; the episodes of one spell make one admission. Counts
worked out by hand from the rows below."""

from __future__ import annotations

from pathlib import Path

import pytest

from eolneeds.ingest import ingest_files
from eolneeds.reporting import RecordingReporter
from tests.test_cumulative_resupply import nhs_number, project, query, write

X, Y = nhs_number(400000001), nhs_number(400000002)
HEADER = "APCS_IDENT,NHS_NUMBER,ADMIDATE,DISDATE,ADMIMETH,SPELL_COST"


@pytest.fixture(autouse=True)
def _key(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret-at-all")


def _admissions(root: Path) -> list[tuple]:
    return query(root, "SELECT start_date::VARCHAR, end_date::VARCHAR, cost FROM activity "
                       "WHERE admission_method IS NOT NULL ORDER BY start_date, end_date")


def _ingest(root: Path, path: Path) -> tuple[int, int, int]:
    from eolneeds.config import load_config

    [r] = ingest_files(load_config(root), "activity", [path], mapping="hes_apc",
                       reporter=RecordingReporter())
    return r.rows_read, r.rows_loaded, r.rows_rejected


def test_two_spells_of_one_day_are_two_admissions_across_a_feed(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    # February: X's first spell of 10 January (discharged the same day), and Y's.
    february = write(tmp_path / "apc_2025-02.csv", [
        HEADER,
        f"S1,{X},20250110,20250110,21,500",
        f"S2,{Y},20250120,20250125,21,900",
    ])
    assert _ingest(root, february) == (2, 2, 0)
    # March, a rolling window that has moved on (no S1): X readmitted on 10 January
    # (S3, a second spell that day), and S2 sent again (a repeat: counts once).
    march = write(tmp_path / "apc_2025-03.csv", [
        HEADER,
        f"S3,{X},20250110,20250114,21,700",
        f"S2,{Y},20250120,20250125,21,900",
        f"S4,{Y},20250301,20250302,21,300",
    ])
    assert _ingest(root, march) == (3, 2, 1)
    assert _admissions(root) == [
        ("2025-01-10", "2025-01-10", 500.0), ("2025-01-10", "2025-01-14", 700.0),
        ("2025-01-20", "2025-01-25", 900.0), ("2025-03-01", "2025-03-02", 300.0)]
    [(reason,)] = query(root, "SELECT reason FROM rejects")
    assert reason.startswith("duplicate activity row for this person, activity_type and "
                             "start_date: already loaded from apc_2025-02.csv row 3")


def test_the_same_spell_twice_in_one_file_counts_once(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    path = write(tmp_path / "apc.csv", [
        HEADER,
        f"S1,{X},20250110,20250110,21,500",
        f"S1,{X},20250110,20250110,21,500",  # the same spell again: a duplicate
        f"S2,{X},20250110,20250112,21,800",  # another spell that day: an admission
    ])
    assert _ingest(root, path) == (3, 2, 1)
    assert _admissions(root) == [("2025-01-10", "2025-01-10", 500.0),
                                 ("2025-01-10", "2025-01-12", 800.0)]
    assert query(root, "SELECT row_number, column_name, value, reason FROM rejects") == [
        (3, "spell_id", None, "duplicate admission: the same spell (spell_id) as row 2 of "
                              "this file")]
    # The spell identifier is pseudonymised like the NHS number: never kept clear.
    ids = {r[0] for r in query(root, "SELECT spell_id FROM activity")}
    assert len(ids) == 2 and not ids & {"S1", "S2"}
    assert all(len(i) == 32 for i in ids)


def test_without_a_spell_identifier_rows_of_one_day_load_as_before(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    path = write(tmp_path / "apc.csv", [
        "NHS_NUMBER,ADMIDATE,DISDATE,ADMIMETH,SPELL_COST",
        f"{X},20250110,20250110,21,500",
        f"{X},20250110,20250110,21,500",
    ])
    assert _ingest(root, path) == (2, 2, 0)
    assert query(root, "SELECT count(*) FROM activity WHERE spell_id IS NULL") == [(2,)]


def test_episodes_of_two_spells_on_one_day_each_get_their_spells_bed_days(
        tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    # HES APC episodes: spell H1 (one episode, discharged 11 Jan) and spell H2 (two
    # episodes: 10-12 Jan, then 12-20 Jan, discharged 20 Jan), both admitted 10 January.
    path = write(tmp_path / "hes_episodes.csv", [
        "EPIKEY,SPELL_ID,NEWNHSNO,ADMIDATE,ADMIMETH,EPIORDER,EPISTART,EPIEND,DISDATE",
        f"E1,H1,{X},2025-01-10,21,01,2025-01-10,2025-01-11,2025-01-11",
        f"E2,H2,{X},2025-01-10,21,01,2025-01-10,2025-01-12,1800-01-01",
        f"E3,H2,{X},2025-01-10,21,02,2025-01-12,2025-01-20,2025-01-20",
    ])
    assert _ingest(root, path) == (3, 3, 0)
    # Two admissions; H2's runs to its discharge (was its first episode's end, 12 Jan).
    assert [r[:2] for r in _admissions(root)] == [("2025-01-10", "2025-01-11"),
                                                  ("2025-01-10", "2025-01-20")]
    assert query(root, "SELECT count(*) FROM activity WHERE activity_type = 'other'") == [(1,)]


def test_a_feed_that_starts_sending_spell_ids_matches_its_earlier_rows(tmp_path: Path) -> None:
    """January's SUS extract had no spell identifier; February's cumulative re-supply
    adds APCS_IDENT. Before, no row of February repeated one of January (the keys differed
    by the spell id: NULL against a value), so every admission of January was loaded
    twice. Now an earlier load without spell ids is compared without them: a whole
    re-supply replaces it, and a rolling window's repeats are duplicates."""
    root = project(tmp_path / "p")
    january = write(tmp_path / "apc_2025-01.csv", [
        "NHS_NUMBER,ADMIDATE,DISDATE,ADMIMETH,SPELL_COST",
        f"{X},20250110,20250112,21,500",
        f"{Y},20250120,20250125,21,900",
    ])
    assert _ingest(root, january) == (2, 2, 0)
    # February repeats both (with their spell ids now) and adds one: a cumulative
    # re-supply, which replaces January.
    february = write(tmp_path / "apc_2025-02.csv", [
        HEADER,
        f"S1,{X},20250110,20250112,21,500",
        f"S2,{Y},20250120,20250125,21,900",
        f"S3,{Y},20250205,20250206,21,300",
    ])
    assert _ingest(root, february) == (3, 3, 0)
    assert _admissions(root) == [("2025-01-10", "2025-01-12", 500.0),
                                 ("2025-01-20", "2025-01-25", 900.0),
                                 ("2025-02-05", "2025-02-06", 300.0)]
    assert query(root, "SELECT file_name, replaced_by FROM ingest_log ORDER BY file_id") == [
        ("apc_2025-01.csv", 2), ("apc_2025-02.csv", None)]


def test_a_rolling_window_with_spell_ids_repeats_rows_sent_without_them(
        tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    january = write(tmp_path / "apc_2025-01.csv", [
        "NHS_NUMBER,ADMIDATE,DISDATE,ADMIMETH,SPELL_COST",
        f"{X},20250110,20250112,21,500",
        f"{Y},20250120,20250125,21,900",
    ])
    assert _ingest(root, january) == (2, 2, 0)
    # The window moved on (X's January spell gone): Y's spell repeats, X has a new one.
    february = write(tmp_path / "apc_2025-02.csv", [
        HEADER,
        f"S2,{Y},20250120,20250125,21,900",
        f"S4,{X},20250210,20250211,21,200",
    ])
    assert _ingest(root, february) == (2, 1, 1)
    assert _admissions(root) == [("2025-01-10", "2025-01-12", 500.0),
                                 ("2025-01-20", "2025-01-25", 900.0),
                                 ("2025-02-10", "2025-02-11", 200.0)]
    # A third file with spell ids is compared with February by them: S5 is a second
    # spell of Y on 20 January, new; S2 again is a repeat.
    march = write(tmp_path / "apc_2025-03.csv", [
        HEADER,
        f"S2,{Y},20250120,20250125,21,900",
        f"S5,{Y},20250120,20250120,21,100",
    ])
    assert _ingest(root, march) == (2, 1, 1)
    assert query(root, "SELECT count(*) FROM activity WHERE admission_method IS NOT NULL") \
        == [(4,)]

"""A large [recode.X] table (100,000 old-to-new codes: practice mergers, an LSOA
vintage's best-fit lookup) is read as a lookup, not spelt out as SQL: it used to take
about 95 s to plan. Speed is measured by the bench (BENCHMARKS.md), not here: these
tests check that a large table recodes exactly what a small one did."""

from __future__ import annotations

from pathlib import Path

import pytest

from eolneeds import normalise as nz
from eolneeds.ingest import ingest_files
from eolneeds.reporting import RecordingReporter
from tests.small_project import make_project
from tests.test_ingest import DEATHS_HEADER, query, write

ENTRIES = 100_000


@pytest.fixture(autouse=True)
def _key(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")


def _big_mapping() -> str:
    lines = ['dataset = "deaths"', "", "[recode.gp_practice]"]
    # Old practice codes O00000 ... O99999 -> N00000 ... N99999.
    lines += [f'"O{i:05d}" = "N{i:05d}"' for i in range(ENTRIES)]
    lines += ["", "[recode.place_of_death]",
              # Two spellings of one key: the first entry wins, as it always has.
              '"Own home" = "home"', '"own-home" = "hospital"',
              '"NH" = "care_home"']
    return "\n".join(lines) + "\n"


def test_a_100000_entry_recode_table_recodes_every_row(tmp_path: Path) -> None:
    config = make_project(tmp_path / "p", {"deaths": _big_mapping()})
    header = DEATHS_HEADER + ",gp_practice"
    rows = [
        # practice codes at both ends of the table and in its middle; one not in it
        "P1,2023-01-05,80,F,E01000001,C349,Own home,O00000",
        "P2,2023-01-06,81,M,E01000001,C349,OWN HOME,o50000",  # key is case-blind
        "P3,2023-01-07,82,F,E01000001,C349,NH,O99999",
        "P4,2023-01-08,83,M,E01000001,C349,hospital,Q12345",  # not in the table: kept
        "P5,31/02/2023,84,F,E01000001,C349,NH,O00001",  # impossible date: quarantined
    ]
    csv = write(tmp_path / "deaths.csv", "\n".join([header, *rows]) + "\n")
    [result] = ingest_files(config, "deaths", [csv], reporter=RecordingReporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (5, 4, 1)
    got = query(config, "SELECT source_row, gp_practice, place_of_death FROM deaths "
                        "ORDER BY source_row")
    assert got == [(2, "N00000", "home"), (3, "N50000", "home"),
                   (4, "N99999", "care_home"), (5, "Q12345", "hospital")]
    [(reason,)] = query(config, "SELECT reason FROM rejects")
    assert "date_of_death" in reason


def test_the_python_reference_keys_the_table_as_ingest_does() -> None:
    # The first of two entries with one key wins (the SQL lookup's rule, above).
    table = {"Own home": "home", "own-home": "hospital", "1.0": "male"}
    assert nz.user_recode(table) == {"own home": "home", "1": "male"}
    assert nz.recode("OWN-HOME", {}, user=table) == "home"
    assert nz.recode("1", {}, user=table) == "male"

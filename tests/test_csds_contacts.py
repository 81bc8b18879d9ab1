"""CSDS care contacts count only contacts that took place (onboarding fault 2).

A Community Services Data Set extract lists every appointment: ATTENDED OR DID NOT
ATTEND (Attendance_Status, AttendOrDNACode) is 5 or 6 for a contact that happened, 2, 3,
4 or 7 for one cancelled or missed, 0 for one still to come (NHS Data Dictionary). Read
with a mapping of canonical columns every row counted as a community contact, so DNAs
and cancellations raised `community_last90_pct`. The `csds_contacts` preset loads the
attended contacts and quarantines the others with their own reason, which never counts
towards refusing the file and names the recode that counts them after all."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from eolneeds.cli import app
from eolneeds.config import load_config
from eolneeds.ingest import ingest_files
from eolneeds.inspect import inspect_file
from eolneeds.reporting import Reporter
from tests.small_project import one_place_project

# Valid NHS number (modulus 11): 943 476 591 -> 9*10+4*9+3*8+4*7+7*6+6*5+5*4+9*3+1*2 =
# 299; 299 mod 11 = 2; check digit 11 - 2 = 9.
NHS = "9434765919"
# status -> loaded?   (the day of the month tells the rows apart)
STATUSES = [("5", True), ("6", True), ("05", True), ("3", False), ("2", False),
            ("4", False), ("7", False), ("", False), ("0", False)]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")


def _project(root: Path, mapping: str = 'dataset = "activity"\npreset = "csds_contacts"\n'
             ) -> Path:
    return one_place_project(root, {"csds": mapping})


def _extract(path: Path) -> Path:
    lines = ["NHS_Number,Care_Contact_ID,Contact_Date,Attendance_Status,Team_Type_Code"]
    lines += [f"{NHS},C{i},2024-05-{i + 1:02d},{status},A03"
              for i, (status, _loaded) in enumerate(STATUSES)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _query(root: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    con = duckdb.connect(str(load_config(root).database_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_only_attended_contacts_load_and_the_rest_say_why(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    path = _extract(tmp_path / "CSDS_contacts_2024-05.csv")
    # Six of nine rows are not contacts: more than the 50% refusal share, yet the file
    # loads (a clinic's DNAs are its data, not a mapping fault).
    [res] = ingest_files(load_config(root), "activity", [path], mapping="csds",
                         reporter=Reporter())
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (9, 3, 6)
    assert _query(root, "SELECT activity_type, day(start_date) FROM activity "
                        "ORDER BY source_row") == [
        ("community_contact", 1), ("community_contact", 2), ("community_contact", 3)]
    reasons = dict(_query(root, "SELECT row_number, reason FROM rejects"))
    assert reasons[5] == (
        "contact not attended (attendance status 3): only attended contacts (5, 6) count; "
        "to count these too, add \"not attended: 3\" = \"community_contact\" under "
        "[recode.activity_type] in the mapping")
    assert "(attendance status 7)" in reasons[8]
    assert "(attendance status not recorded)" in reasons[9]
    assert "(attendance status 0)" in reasons[10]


def test_the_recode_the_reason_names_counts_them(tmp_path: Path) -> None:
    """The fix, applied literally: the key and value the reason quotes, under
    [recode.activity_type], then the file again with --replace."""
    root = _project(tmp_path / "p")
    path = _extract(tmp_path / "CSDS_contacts_2024-05.csv")
    ingest_files(load_config(root), "activity", [path], mapping="csds", reporter=Reporter())
    mapping = root / "mappings" / "csds.toml"
    mapping.write_text(mapping.read_text(encoding="utf-8")
                       + '\n[recode.activity_type]\n"not attended: 3" = "community_contact"\n',
                       encoding="utf-8")
    result = CliRunner().invoke(app, ["ingest", "activity", str(path), "--mapping", "csds",
                                      "--project", str(root), "--replace"])
    assert result.exit_code == 0, result.output
    assert _query(root, "SELECT count(*) FROM activity") == [(4,)]
    assert _query(root, "SELECT count(*) FROM rejects") == [(5,)]


def test_inspect_recognises_a_csds_extract(tmp_path: Path) -> None:
    path = _extract(tmp_path / "CSDS_contacts_2024-05.csv")
    found = inspect_file(path)
    assert (found.preset, found.dataset) == ("csds_contacts", "activity")


def test_a_community_extract_without_attendance_is_not_taken_for_csds(tmp_path: Path) -> None:
    path = tmp_path / "community.csv"
    path.write_text(f"NHS_Number,Contact_Date,Team_Type\n{NHS},2024-05-01,District nursing\n",
                    encoding="utf-8")
    assert inspect_file(path).preset is None


def test_specialist_palliative_care_teams_contacts_are_specialist_palliative(
        tmp_path: Path) -> None:
    """Team type 47 (SERVICE OR TEAM TYPE DELIVERING CARE: specialist palliative care
    service, CSDS v1.6), as a code or in words, is a specialist palliative contact when
    attended; 14 (end of life care service, the generalist team) and others stay
    community contacts; a missed 47 visit is not counted at all. Known answers by row."""
    root = _project(tmp_path / "p")
    rows = [  # (status, team type, what the row must become; None = quarantined)
        ("5", "47", "specialist_palliative_contact"),
        ("6", "047", "specialist_palliative_contact"),
        ("5", "Specialist Palliative Care Service", "specialist_palliative_contact"),
        ("5", "14", "community_contact"),
        ("5", "12", "community_contact"),
        ("5", "", "community_contact"),
        ("3", "47", None),
    ]
    path = tmp_path / "CSDS_contacts_2024-05.csv"
    path.write_text("NHS_Number,Contact_Date,Attendance_Status,Team_Type_Code\n" + "".join(
        f'{NHS},2024-05-{i + 1:02d},{status},"{team}"\n'
        for i, (status, team, _want) in enumerate(rows)), encoding="utf-8")
    [res] = ingest_files(load_config(root), "activity", [path], mapping="csds",
                         reporter=Reporter())
    assert (res.rows_loaded, res.rows_rejected) == (6, 1)
    assert _query(root, "SELECT day(start_date), activity_type FROM activity "
                        "ORDER BY start_date") == [
        (i + 1, want) for i, (_s, _t, want) in enumerate(rows) if want is not None]


def test_a_csds_extract_without_team_type_counts_community_contacts(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    path = tmp_path / "CSDS_contacts_2024-05.csv"
    path.write_text(f"NHS_Number,Contact_Date,Attendance_Status\n{NHS},2024-05-01,5\n",
                    encoding="utf-8")
    ingest_files(load_config(root), "activity", [path], mapping="csds", reporter=Reporter())
    assert _query(root, "SELECT activity_type FROM activity") == [("community_contact",)]

"""One rule for "no value" (onboarding fault 4): national extracts, warehouse clients and
GP-system exports write a missing value as `N/A`, `n/a`, `-`, `NULL`, `Not known` or a
cell of spaces. In every column of every dataset they are no value: never a bad code
quarantining its row, never a category of their own, never one identifier shared by
everyone without a number.

Before: 'N/A' as a death's LSOA was kept as an LSOA code, '-' as an ethnicity set to
not_known with a field action ('not a known code'), 'n/a' as a register's practice was
a practice, an activity row's 'Not known' treatment function was a treatment function,
and a register row whose identifier was 'N/A' was quarantined as failing the NHS number
check rather than as missing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from eolneeds.config import load_config
from eolneeds.ingest import ingest_files
from eolneeds.inspect import inspect_file
from eolneeds.readers import NO_VALUE_TEXTS, is_no_value, value_sql
from eolneeds.reporting import Reporter
from tests.small_project import one_place_project

TEST_KEY = "test-key-not-secret"
# Valid NHS numbers (modulus 11): 943 476 591 -> 9*10+4*9+3*8+4*7+7*6+6*5+5*4+9*3+1*2 =
# 299; 299 mod 11 = 2; check digit 11 - 2 = 9. 401 023 213: 4*10+0+1*8+0+2*6+3*5+2*4+1*3
# +3*2 = 92; 92 mod 11 = 4; 11 - 4 = 7.
GOOD = ["9434765919", "4010232137"]
SPELLINGS = ["N/A", "n/a", "-", "NULL", "Not known", "NOT KNOWN", "   ", "#N/A", "(null)"]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOLNEEDS_KEY", TEST_KEY)


def _project(root: Path) -> Path:
    # Deaths keyed by local identifiers (not NHS numbers): one person per row.
    return one_place_project(root, {"deaths": 'dataset = "deaths"\nnhs_number = false\n',
                                    "register": 'dataset = "register"\nnhs_number = true\n'})


def _rows(root: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    con = duckdb.connect(str(load_config(root).database_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("text", SPELLINGS + ["", None])
def test_every_spelling_is_no_value_in_sql_and_in_python(text: str | None) -> None:
    con = duckdb.connect()
    try:
        assert con.execute(f"SELECT {value_sql('v')} FROM (SELECT $t AS v)",
                           {"t": text}).fetchone() == (None,)
    finally:
        con.close()
    assert is_no_value(text)


@pytest.mark.parametrize("text", ["N", "n", "NA", "Nope", "-5", "None", "Not knowing",
                                  "--", "C34.9", "NK", "nul"])
def test_values_that_only_look_alike_are_kept(text: str) -> None:
    con = duckdb.connect()
    try:
        assert con.execute(f"SELECT {value_sql('v')} FROM (SELECT $t AS v)",
                           {"t": text}).fetchone() == (text.strip(),)
    finally:
        con.close()
    assert not is_no_value(text)
    assert text.strip().lower() not in NO_VALUE_TEXTS


def test_a_deaths_extract_writing_missing_values_loads_every_death(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    lines = ["person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death,"
             "ethnicity,gp_practice"]
    for i, text in enumerate(SPELLINGS):
        # Every optional column, and sex and place of death (a death's own unknown),
        # written as the export writes "no value".
        cell = f'"{text}"'
        lines.append(f"P{i},2024-0{1 + i % 9}-15,{cell},{cell},{cell},{cell},{cell},"
                     f"{cell},{cell}")
    path = tmp_path / "deaths.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    [res] = ingest_files(load_config(root), "deaths", [path], reporter=Reporter())
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (9, 9, 0)
    assert _rows(root, "SELECT DISTINCT age, sex, lsoa_code, underlying_cause, place_of_death, "
                       "ethnicity, gp_practice FROM deaths") == [
        (None, "unknown", None, None, "unknown", None, None)]
    # Recorded as missing (the death still counts), never as 'not a known code'.
    reasons = {r for (r,) in _rows(root, "SELECT DISTINCT reason FROM field_actions")}
    assert reasons == {"sex is missing; the death still counts",
                       "place_of_death is missing; the death still counts"}


def test_register_and_activity_rows_with_missing_values(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    (root / "mappings" / "activity.toml").write_text(
        'dataset = "activity"\nnhs_number = true\n', encoding="utf-8")
    register = tmp_path / "register.csv"
    register.write_text(
        "person_id,date_added,gp_practice,preferred_place_of_death,dnacpr,advance_care_plan\n"
        f"{GOOD[0]},2024-01-02,n/a,Not known,N/A,-\n"
        f"{GOOD[1]},2024-01-03,-,NULL,Not known,  \n"
        # No identifier (N/A): missing, so it cannot link -- not 'fails the NHS check'.
        "N/A,2024-01-04,A81001,home,yes,no\n", encoding="utf-8")
    [res] = ingest_files(load_config(root), "register", [register], reporter=Reporter())
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (3, 2, 1)
    assert _rows(root, "SELECT gp_practice, preferred_place_of_death, dnacpr, advance_care_plan "
                       "FROM register ORDER BY source_row") == [(None, None, None, None)] * 2
    [(column, reason)] = _rows(root, "SELECT column_name, reason FROM rejects")
    assert column == "person_id" and "missing" in reason and "NHS number" not in reason

    activity = tmp_path / "activity.csv"
    activity.write_text(
        "person_id,activity_type,start_date,end_date,admission_method,treatment_function,cost\n"
        f"{GOOD[0]},emergency_admission,2024-02-01,-,21,Not known,N/A\n"
        f"{GOOD[1]},community_contact,2024-02-02,N/A,n/a,-,NULL\n", encoding="utf-8")
    [res] = ingest_files(load_config(root), "activity", [activity], reporter=Reporter())
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (2, 2, 0)
    assert _rows(root, "SELECT end_date, admission_method, treatment_function, cost "
                       "FROM activity ORDER BY source_row") == [
        (None, "21", None, None), (None, None, None, None)]
    assert _rows(root, "SELECT count(*) FROM field_actions WHERE dataset = 'activity'") == [(0,)]


def test_inspect_counts_them_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "extract.csv"
    path.write_text("code,flag\nA81001,N/A\nA81002,-\nA81003,Not known\nA81004,yes\n",
                    encoding="utf-8")
    found = inspect_file(path)
    [flag] = [c for c in found.columns if c.name == "flag"]
    assert flag.filled == 1

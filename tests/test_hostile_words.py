"""Red team: a person's name in the wrong column -- 'Mrs Joan Smith' as a cause of death,
a place of death, a sex, a date, an age, an LSOA or a GP practice (a row shifted by a
column, or an extract with the name where a code belongs). It was kept word for word in
rejects and field_actions, value and reason, beside the row's number, and the loaded
row keeps the age, date of death and LSOA: enough to find the person. A name in the
practice column was loaded and so published as a breakdown of the indicator table.

The rule (normalise.is_free_text): a value of a coded column is kept only when it is a
code -- tokens with a digit, the column's own words, one short abbreviation; anything
else is words and is kept only as '[words withheld]'; words in a practice column are
blanked, not loaded.

Real file, a real DuckDB database, the real CLI.
"""

from __future__ import annotations

import duckdb
import pytest
from test_hostile_postcodes import CONFIG, _cli

from eolneeds import normalise as nz
from eolneeds.ingest import COLUMN_WORDS
from eolneeds.normalise import WITHHELD

NAMES = ("Joan", "Smith", "Kaur", "Lee")
EXTRACT = (
    "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death,gp_practice\n"
    "4010232137,2024-01-01,81,F,E01000001,Mrs Joan Smith,home,A81001\n"
    "4505577104,2024-01-02,82,F,E01000001,C34.9,Joan Smith,MRS JOAN SMITH\n"
    "4839298429,2024-01-03,83,Ann Lee,E01000001,C34.9,Hosp,A81001\n"
    "4010232145,Joan Kaur,84,F,E01000001,C34.9,home,A81001\n"
    "4010232153,2024-01-05,Dr Smith,F,Kaur,C34X,Care home (nursing),A81001\n")


@pytest.mark.parametrize("value", ["Mrs Joan Smith", "Joan Smith", "Smith", "Ann Lee",
                                   "Dr Wu", "St Christopher's Hospice", "JOAN SMITH",
                                   "Zoë Ünal"])
def test_words_are_free_text_and_sql_agrees(value):
    words = COLUMN_WORDS["place_of_death"]
    assert nz.is_free_text(value, words)
    con = duckdb.connect()
    try:
        sql = nz.withhold_sql(nz.sql_literal(value), words)
        assert con.execute(f"SELECT {sql}").fetchone() == (WITHHELD,)
    finally:
        con.close()


@pytest.mark.parametrize("value", ["C34.9", "C34X", "E01000001", "31/02/2025", "1e308", "NaN",
                                   "-0", "\u0661\u0662\u0663", "01-Jan-2024", "0000-00-00",
                                   "NK", "HSP", "X", "POD 9", "Care home (nursing)",
                                   "Nursing Home", "Not known", "A81001"])
def test_codes_dates_and_numbers_are_kept(value):
    words = COLUMN_WORDS["place_of_death"]
    assert not nz.is_free_text(value, words)
    con = duckdb.connect()
    try:
        sql = nz.withhold_sql(nz.sql_literal(value), words)
        assert con.execute(f"SELECT {sql}").fetchone() == (value,)
    finally:
        con.close()


def test_sql_and_python_agree_on_every_run_of_letters():
    # withhold_sql finds a run of four letters with regexp_extract_all (cheaper for
    # DuckDB to bind than regexp_matches): it must withhold exactly what is_free_text
    # does. Known answers first (a run of four letters is words; one of three is an
    # abbreviation; two of three are words), then 2,000 random values of letters in
    # several scripts, digits, spaces, '_' and punctuation, in runs of every length.
    import random

    words = COLUMN_WORDS["place_of_death"]
    known = {"Abcd": True, "Abc": False, "Abc Def": True, "Ab Cd": False, "Ab1cd": False,
             "\u00c9t\u00e9s": True, "\u0416\u0416\u0416": False, "\u0416\u0416\u0416\u0416": True,
             "x_yz": False, "abc_def": True, "12 ab": False}
    alphabet = "abcXYZ\u00e9\u0416\u05d0\u4e2d0123 _-."
    rng = random.Random(9)
    values = list(known) + ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
                            for _ in range(2000)]
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE v (x VARCHAR)")
        con.executemany("INSERT INTO v VALUES (?)", [[x] for x in values])
        got = dict(con.execute(f"SELECT x, {nz.withhold_sql('x', words)} = "
                               f"{nz.sql_literal(WITHHELD)} FROM v").fetchall())
    finally:
        con.close()
    for value, free in known.items():
        assert nz.is_free_text(value, words) is free, value
    assert {v: got[v] for v in values} == {v: nz.is_free_text(v, words) for v in values}


def test_a_name_in_a_coded_column_is_kept_nowhere(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    extract = tmp_path / "deaths.csv"
    extract.write_text(EXTRACT, encoding="utf-8")
    ingested = _cli("ingest", "deaths", str(extract), "--project", str(root))
    assert ingested.returncode == 0, ingested.stderr
    assert "5 rows read, 4 loaded into deaths, 1 quarantined" in ingested.stderr
    con = duckdb.connect(str(root / "eolneeds.duckdb"), read_only=True)
    try:
        kept = con.execute(
            "SELECT 'reject', row_number, column_name, value FROM rejects UNION ALL "
            "SELECT action, row_number, column_name, value FROM field_actions "
            "ORDER BY 2, 3").fetchall()
        reasons = [r[0] for r in con.execute(
            "SELECT reason FROM rejects UNION ALL SELECT reason FROM field_actions")
            .fetchall()]
        practices = con.execute(
            "SELECT gp_practice FROM deaths ORDER BY source_row").fetchall()
    finally:
        con.close()
    assert kept == [
        ("blanked", 2, "underlying_cause", WITHHELD),
        ("blanked", 3, "gp_practice", WITHHELD),
        ("set to unknown", 3, "place_of_death", WITHHELD),
        ("set to unknown", 4, "place_of_death", WITHHELD),  # 'Hosp': one word, 4 letters
        ("set to unknown", 4, "sex", WITHHELD),
        ("reject", 5, "date_of_death", WITHHELD),
        ("blanked", 6, "age", WITHHELD),
        ("blanked", 6, "lsoa_code", WITHHELD)]
    assert all(WITHHELD in reason for reason in reasons)
    # The practice column's name was left out of the table (it would be published).
    assert practices == [("A81001",), (None,), ("A81001",), ("A81001",)]
    validated = _cli("validate", "--project", str(root))
    for name in NAMES:
        for where in (*reasons, *(str(r) for r in kept), validated.stdout, validated.stderr):
            assert name not in where and name.upper() not in where

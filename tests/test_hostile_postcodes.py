"""Red team: a postcode where an LSOA, a code or a date is expected -- an extract giving
the postcode of residence mapped as lsoa_code, or a row shifted by a column. The value
was kept verbatim in field_actions (and a rejected one in rejects), beside the row
number, and the loaded row keeps the age and date of death: with the postcode, enough
to find the person. A UK postcode is now masked wherever a value or reason is kept, as
an NHS number is ('[postcode withheld]' says what it was, so the fix is still plain).

Words in a coded column (an address, a name) are withheld whole (test_hostile_words).

Real file, a real DuckDB database, the real CLI.
"""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
from identifier_leaks import leaks

from eolneeds.normalise import POSTCODE_MASK, WITHHELD, mask

KEY = "test-key-not-secret-postcode"
CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
CONFIG = ('[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'
          '\n[ingest]\nmax_rejected_share = 1.0\n')
POSTCODES = {"SW1A 1AA", "SW1A 2AA", "CB2 1TN", "n1 9gu"}
EXTRACT = (
    "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death\n"
    "4010232137,SW1A 1AA,81,F,E01000001,C34.9,home\n"        # rejected: no date of death
    "4505577104,2024-01-02,82,F,SW1A 2AA,C34.9,home\n"       # a postcode for the LSOA
    "4839298429,2024-01-03,83,F,n1 9gu,C34.9,Flat 2 CB2 1TN\n"  # and an address for a place
    "4010232145,2024-01-04,84,F,E01000001,C34.9,home\n")


def test_masking_knows_postcodes_from_codes_and_dates():
    assert mask("SW1A 2AA") == POSTCODE_MASK
    assert mask("lsoa 'm1 1ae' and EC1A1BB") == f"lsoa '{POSTCODE_MASK}' and {POSTCODE_MASK}"
    for kept in ("E01000001", "W01001234", "Z10001", "C34.9", "2024-01-02", "E92000001",
                 "90+", "U071"):
        assert mask(kept) == kept


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, encoding="utf-8",
                          env={**os.environ, "EOLNEEDS_KEY": KEY}, timeout=300)


def test_a_postcode_in_a_coded_column_is_kept_nowhere(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    extract = tmp_path / "deaths.csv"
    extract.write_text(EXTRACT, encoding="utf-8")
    ingested = _cli("ingest", "deaths", str(extract), "--project", str(root))
    assert ingested.returncode == 0, ingested.stderr
    assert "4 rows read, 3 loaded into deaths, 1 quarantined" in ingested.stderr
    con = duckdb.connect(str(root / "eolneeds.duckdb"), read_only=True)
    try:
        kept = con.execute(
            "SELECT 'reject', row_number, column_name, value, reason FROM rejects UNION ALL "
            "SELECT action, row_number, column_name, value, reason FROM field_actions "
            "ORDER BY 2, 3").fetchall()
    finally:
        con.close()
    assert kept == [
        ("reject", 2, "date_of_death", POSTCODE_MASK,
         f"date_of_death '{POSTCODE_MASK}' is not a date (expected dd/mm/yyyy or yyyy-mm-dd)"),
        ("blanked", 3, "lsoa_code", POSTCODE_MASK,
         f"lsoa_code '{POSTCODE_MASK}' is not an LSOA code (expected E01 or W01 and 6 "
         "digits, e.g. E01000001)"),
        ("blanked", 4, "lsoa_code", POSTCODE_MASK,
         f"lsoa_code '{POSTCODE_MASK}' is not an LSOA code (expected E01 or W01 and 6 "
         "digits, e.g. E01000001)"),
        ("set to unknown", 4, "place_of_death", WITHHELD,  # an address is words
         f"place_of_death '{WITHHELD}' is not a known code; add a "
         "[recode.place_of_death] entry to the mapping")]
    validated = _cli("validate", "--project", str(root))
    said = ingested.stdout + ingested.stderr + validated.stdout + validated.stderr
    assert not [p for p in POSTCODES if p.lower() in said.lower()]
    assert leaks(root, POSTCODES) == []

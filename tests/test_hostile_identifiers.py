"""Red team: a clear NHS number where no value is expected -- in a file's name, as a
column's name -- must not be kept in the database, the run log or an output, nor be
printed in a message. Values were already masked (test_no_identifiers.py); these are the
names around them. Real files, a real DuckDB database, the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from identifier_leaks import leaks

from eolneeds.normalise import MASK, mask_nhs_numbers

KEY = "test-key-not-secret"
CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
NHS = "9434765919"  # a valid check digit: a real-shaped NHS number
CONFIG = ('[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'
          '\n[ingest]\nmax_rejected_share = 1.0\n')
HEADER = "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death"
ROWS = "".join(f"{n},2024-0{m}-1{m},8{m},F,E01000001,C34.9,home\n"
               for m, n in enumerate(["4010232137", "4505577104", "4839298429"], start=1))


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, encoding="utf-8",
                          env={**os.environ, "EOLNEEDS_KEY": KEY}, timeout=600, cwd=cwd)


def _project(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    return root


def _inputs(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if NHS in p.name or p.parent.name == "deaths"}


def test_masking_names_keeps_dates_and_longer_numbers():
    # Worked out by hand: 943 476 591 -> 9*10+4*9+3*8+4*7+7*6+6*5+5*4+9*3+1*2 = 299;
    # 299 mod 11 = 2; 11 - 2 = 9, the tenth digit. 9434765918 fails its check.
    assert mask_nhs_numbers(f"deaths_{NHS}.csv") == f"deaths_{MASK}.csv"
    assert mask_nhs_numbers("file 943 476 5919 and 943-476-5919") == f"file {MASK} and {MASK}"
    assert mask_nhs_numbers("deaths_943.476.5919.csv") == f"deaths_{MASK}.csv"
    assert mask_nhs_numbers("(943) 476\u00a05919") == MASK
    assert mask_nhs_numbers("deaths_9434765918.csv") == "deaths_9434765918.csv"
    assert mask_nhs_numbers("PCMD_20241001123456.csv") == "PCMD_20241001123456.csv"
    assert mask_nhs_numbers("deaths_2024-10.csv") == "deaths_2024-10.csv"


def test_an_nhs_number_in_the_file_name_is_kept_nowhere(tmp_path):
    root = _project(tmp_path / "project")
    extract = tmp_path / f"deaths_{NHS}.csv"
    extract.write_text(f"{HEADER}\n{ROWS}", encoding="utf-8")
    areas = tmp_path / "areas.csv"
    areas.write_text("lsoa_code,place,imd_decile\nE01000001,P1,3\n", encoding="utf-8")
    assert _cli("ingest", "areas", str(areas), "--project", str(root), cwd=root).returncode == 0
    ingested = _cli("ingest", "deaths", str(extract), "--project", str(root), cwd=root)
    assert ingested.returncode == 0, ingested.stderr
    assert f"deaths_{MASK}.csv: 3 rows read, 3 loaded" in ingested.stderr
    # The same bytes again are known by their content, whatever the name says.
    again = _cli("ingest", "deaths", str(extract), "--project", str(root), cwd=root)
    assert again.returncode == 0 and "already loaded" in again.stderr, again.stderr
    assessed = _cli("assess", "--project", str(root), "--out", str(root / "out"),
                    "--format", "html,xlsx,csv,parquet", cwd=root)
    assert assessed.returncode == 0, assessed.stderr
    said = ingested.stdout + ingested.stderr + again.stderr + assessed.stdout + assessed.stderr
    assert NHS not in said
    assert leaks(root, {NHS}) == []


def test_an_nhs_number_as_a_column_name_is_not_printed_or_logged(tmp_path):
    root = _project(tmp_path / "project")
    inbox = root / "inbox" / "deaths"
    inbox.mkdir(parents=True)
    # The sex column's header is an NHS number (a shifted export): the refusal lists the
    # columns found, and the scheduled run logs it.
    (inbox / "deaths_2024.csv").write_text(f"{HEADER.replace('sex', NHS)}\n{ROWS}",
                                           encoding="utf-8")
    ran = _cli("--log-format", "json", "run", "--month", "2024-03", "--project", str(root),
               cwd=root)
    assert ran.returncode == 3, ran.stderr
    assert "Traceback" not in ran.stderr
    assert f"'{MASK}'" in ran.stderr and "column 'sex' is missing" in ran.stderr
    assert NHS not in ran.stdout + ran.stderr
    assert leaks(root, {NHS}) == [f"inbox/deaths/deaths_2024.csv: {NHS}"]


def test_inspect_does_not_print_an_nhs_number_in_a_name(tmp_path):
    root = _project(tmp_path / "project")
    extract = tmp_path / f"deaths_{NHS}.csv"
    extract.write_text(f"{HEADER},{NHS}\n" + ROWS.replace("\n", ",x\n"), encoding="utf-8")
    found = _cli("inspect", str(extract), "--project", str(root), "--dataset", "deaths",
                 cwd=root)
    assert found.returncode == 0, found.stderr
    assert NHS not in found.stdout + found.stderr
    assert MASK in found.stdout


# The same NHS number as exporters and typists write it: dots, slashes, underscores, a
# no-break space (Excel's grouping), tabs, doubled spaces, one digit at a time, a bracketed
# first group, full-width digits (a Japanese-locale or copy-pasted export).
WRITTEN = ["943.476.5919", "943\u00a0476\u00a05919", "943/476/5919", "943_476_5919",
           "943\t476\t5919", "943  476  5919", "9 4 3 4 7 6 5 9 1 9", "(943) 476-5919",
           "\uff19\uff14\uff13\uff14\uff17\uff16\uff15\uff19\uff11\uff19"]


def test_an_nhs_number_written_any_way_in_any_column_is_masked(tmp_path):
    """Each form lands where a value is kept (field_actions: an LSOA, a sex, a cause that
    is not one); none may be kept readable, whatever separates its digits."""
    import duckdb

    root = _project(tmp_path / "project")
    rows = "".join(f"{n},2024-01-{10 + i},80,{w},{w},{w},home\n" for i, (n, w) in enumerate(
        zip(["4010232137", "4505577104", "4839298429"] * 3, WRITTEN, strict=True)))
    extract = tmp_path / "deaths.csv"
    extract.write_text(f"{HEADER}\n{rows}", encoding="utf-8")
    done = _cli("ingest", "deaths", str(extract), "--project", str(root), cwd=root)
    assert done.returncode == 0, done.stderr
    checked = _cli("validate", "--project", str(root), cwd=root)
    con = duckdb.connect(str(root / "eolneeds.duckdb"), read_only=True)
    try:
        kept = con.execute("SELECT value, reason FROM field_actions").fetchall()
        columns = con.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE "
                              "NOT internal AND data_type = 'VARCHAR'").fetchall()
        values = [v for table, column in columns
                  for (v,) in con.execute(f'SELECT DISTINCT "{column}" FROM "{table}"')
                  .fetchall() if v is not None]
    finally:
        con.close()
    assert len(kept) >= len(WRITTEN)  # each form is kept at least once (so checked)
    full_width = str.maketrans("\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19",
                               "0123456789")
    for text in [*values, checked.stdout, checked.stderr, done.stderr]:
        digits = "".join(c for c in text.translate(full_width) if c.isdigit())
        assert NHS not in digits, text


def test_inspect_shows_no_nhs_number_written_any_way_as_an_example(tmp_path):
    root = _project(tmp_path / "project")
    extract = tmp_path / "notes.csv"
    extract.write_text("ref,notes\n" + "".join(f"{i},{w}\n" for i, w in enumerate(WRITTEN)),
                       encoding="utf-8")
    found = _cli("inspect", str(extract), "--project", str(root), "--dataset", "deaths",
                 cwd=root)
    assert found.returncode == 0, found.stderr
    full_width = str.maketrans("\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19",
                               "0123456789")
    digits = "".join(c for c in found.stdout.translate(full_width) if c.isdigit())
    assert NHS not in digits
    assert MASK in found.stdout


def test_a_valid_nhs_number_grouped_with_no_break_spaces_or_dots_links(tmp_path, monkeypatch):
    """Pasted from a web page or a letter, 943 476 5919 comes with no-break or thin spaces,
    or dots: the same person, not an invalid number that loses the register row."""
    import duckdb

    from eolneeds.config import load_config
    from eolneeds.ingest import ingest_files
    from eolneeds.reporting import Reporter

    monkeypatch.setenv("EOLNEEDS_KEY", KEY)
    root = _project(tmp_path / "project")
    (root / "mappings").mkdir()
    (root / "mappings" / "register.toml").write_text('dataset = "register"\nnhs_number = true\n',
                                                     encoding="utf-8")
    forms = ["943\u00a0476\u00a05919", "943\u2009476\u20095919", "943\u202f476\u202f5919",
             "943.476.5919", "9434765919.0", "943 476 5919"]
    extract = tmp_path / "register.csv"
    extract.write_text("person_id,date_added,gp_practice\n"
                       + "".join(f"{f},2024-01-0{i + 1},Z10002\n" for i, f in enumerate(forms)),
                       encoding="utf-8")
    [result] = ingest_files(load_config(root), "register", [extract], reporter=Reporter())
    assert (result.rows_read, result.rows_loaded) == (6, 6)
    con = duckdb.connect(str(root / "eolneeds.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(DISTINCT person_id) FROM register").fetchone() == (1,)
        assert con.execute("SELECT count(*) FROM field_actions").fetchone() == (0,)
    finally:
        con.close()


def test_masking_rewrites_nothing_but_the_number():
    from eolneeds.normalise import mask

    fw = "\uff19\uff14\uff13\uff14\uff17\uff16\uff15\uff19\uff11\uff19"
    assert mask(f"cost '\uff11\uff12' or {fw}") == f"cost '\uff11\uff12' or {MASK}"
    assert mask_nhs_numbers(f"sheet \uff11\uff12 of {fw}") == f"sheet \uff11\uff12 of {MASK}"


def test_an_nhs_number_in_a_mapping_name_is_kept_nowhere(tmp_path):
    # The mapping's name (its file's name) was kept in ingest_log in clear, and from
    # there went into every manifest.json.
    root = _project(tmp_path / "project")
    (root / "mappings").mkdir()
    (root / "mappings" / f"deaths_{NHS}.toml").write_text('dataset = "deaths"\n',
                                                          encoding="utf-8")
    extract = tmp_path / "deaths.csv"
    extract.write_text(f"{HEADER}\n{ROWS}", encoding="utf-8")
    areas = tmp_path / "areas.csv"
    areas.write_text("lsoa_code,place,imd_decile\nE01000001,P1,3\n", encoding="utf-8")
    assert _cli("ingest", "areas", str(areas), "--project", str(root), cwd=root).returncode == 0
    said = ""
    for _ in range(2):  # the second time: skipped, with no word of a changed mapping
        ingested = _cli("ingest", "deaths", str(extract), "--project", str(root), "--mapping",
                        f"deaths_{NHS}", cwd=root)
        assert ingested.returncode == 0, ingested.stderr
        said += ingested.stdout + ingested.stderr
    assert "already loaded (file 2), skipped" in said and "Warning" not in said
    assessed = _cli("assess", "--project", str(root), "--out", str(root / "out"), "--format",
                    "csv", cwd=root)
    assert assessed.returncode == 0, assessed.stderr
    assert NHS not in said + assessed.stdout + assessed.stderr
    assert leaks(root, {NHS}) == []

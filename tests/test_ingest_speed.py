"""The shortcuts that keep ingest near the pseudonymised floor (issue 9.8) give the same
answers as the long way round."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from eolneeds import readers

# Libraries `ingest` of a CSV never needs: each costs a tenth of a second or more to
# import, paid by every `eolneeds ingest` process.
HEAVY = ("polars", "scipy", "numpy", "matplotlib", "openpyxl", "jinja2", "pyarrow")


@pytest.mark.parametrize("dataset", ["areas", "benchmarks"])
def test_csv_ingest_imports_no_heavy_library(tmp_path, dataset):
    """Nor does the Fingertips download (its preset lives beside the report's code)."""
    from eolneeds.reporting import Reporter
    from eolneeds.sample import write_sample

    write_sample(tmp_path / "p", deaths=200, seed=3, reporter=Reporter())
    [areas] = [p for p in (tmp_path / "p" / "inbox" / dataset).iterdir()
               if p.suffix == ".csv"]
    code = (
        "import sys\n"
        "from eolneeds.cli import main\n"
        f"sys.argv = ['eolneeds', '--quiet', 'ingest', {dataset!r}, {str(areas)!r}, "
        f"'--project', {str(tmp_path / 'p')!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def _reference(data: bytes) -> tuple[int, bool, bool]:
    """(line breaks as DuckDB reads them, a quote, an empty line before the last
    non-empty one), worked out on the whole text at once."""
    breaks = re.findall(rb"\r\n|\r|\n", data)
    lines = re.split(rb"\r\n|\r|\n", data)
    last_full = max((i for i, line in enumerate(lines) if line), default=-1)
    empty_before = any(not line for line in lines[:last_full])
    return len(breaks), b'"' in data, empty_before


CASES = [
    b"a,b\n1,2\n3,4\n",
    b"a,b\r\n1,2\r\n3,4\r\n",
    b"a,b\r1,2\r3,4\r",
    b"a,b\n1,2\n\n3,4\n",
    b"a,b\r\n1,2\r\n\r\n3,4",
    b"a,b\r1,2\r\r3,4\r",
    b"a,b\n1,2\n3,4\n\n\n",
    b'a,b\n1,"x\r\ny"\n2,z\n',
    b"a,b\n1,2\r\n3,4\r5,6\n\r\n7,8",
    b"\n\na,b\n1,2",
    b"a,b\r\r\n1,2\n\r3,4\r\n\r",
]


@pytest.mark.parametrize("numpy_from", [0, readers.NUMPY_COUNT_FROM])
@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 1 << 20])
@pytest.mark.parametrize("data", CASES)
def test_line_scan_counts_match_the_whole_text(tmp_path, monkeypatch, data, chunk,
                                               numpy_from):
    """Read in chunks of any size (a CR LF split across two), the scan counts what the
    whole text holds; the empty-line search is made only when asked for. Line ends
    counted by numpy (a big file) or by bytes.count (a small one) alike."""
    monkeypatch.setattr(readers, "CHUNK", chunk)
    monkeypatch.setattr(readers, "NUMPY_COUNT_FROM", numpy_from)
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    breaks, quote, empty = _reference(data)
    fast = readers._scan_lines(path, False)
    assert (fast.line_breaks, fast.quotes, fast.empty_line) == (breaks, quote, False)
    full = readers._scan_lines(path, False, empty_lines=True)
    assert (full.line_breaks, full.quotes, full.empty_line) == (breaks, quote, empty)


def _ingest_one(root, dataset: str, path, mapping: str, actions_sql: str,
                loaded_sql: str) -> tuple:
    """Ingest `path` into a fresh one-Place project at `root` with the mapping lines
    given; (rows read, loaded, rejected), the rejects, the field actions and the loaded
    rows, as the two queries select them."""
    import duckdb

    from eolneeds import ingest
    from eolneeds.config import load_config
    from eolneeds.reporting import Reporter

    (root / "mappings").mkdir(parents=True)
    (root / "eolneeds.toml").write_text(
        '[project]\nicb_name = "T"\nicb_code = "QXX"\n\n[[places]]\ncode = "P1"\n'
        'name = "One"\n', encoding="utf-8")
    (root / "mappings" / f"{dataset}.toml").write_text(
        f'dataset = "{dataset}"\n{mapping}', encoding="utf-8")
    config = load_config(root)
    [result] = ingest.ingest_files(config, dataset, [path], reporter=Reporter())
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        return ((result.rows_read, result.rows_loaded, result.rows_rejected),
                con.execute("SELECT row_number, column_name, reason FROM rejects "
                            "ORDER BY 1").fetchall(),
                con.execute(actions_sql).fetchall(),
                con.execute(loaded_sql).fetchall())
    finally:
        con.close()


def test_rejected_rows_fetched_by_rowid_match_the_row_number_path(tmp_path, monkeypatch):
    """A CSV's marked rows are fetched again by rowid (ingest._quarantine); a workbook's
    by their row number. The same rows under a title line give the same rejects, field
    actions and loaded rows either way, on the rows worked out by hand."""
    import openpyxl

    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    rows = [
        ["Deaths extract (title line)"],
        ["person_id", "date_of_death", "age", "sex", "lsoa_code", "underlying_cause",
         "place_of_death"],
        ["9434765919", "05/06/2024", "80", "F", "E01000001", "C34.9", "Hospital"],  # 3
        ["4010232137", "31/02/2024", "70", "M", "E01000002", "I25.1", "Home"],      # 4: date
        ["9434765918", "07/06/2024", "85", "F", "E01000001", "C50.9", "Hospital"],  # 5: check
        ["4010232145", "08/06/2024", "999", "M", "E01000002", "I64", "Home"],       # 6: age
        ["4010232153", "09/06/2024", "60", "M", "E01000002", "I64", "Care home"],   # 7
    ]
    csv_path = tmp_path / "deaths.csv"
    csv_path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    xlsx_path = tmp_path / "deaths.xlsx"
    book = openpyxl.Workbook()
    for r in rows:
        book.active.append(r)
    book.save(xlsx_path)

    seen = []
    for name, path in (("csv", csv_path), ("xlsx", xlsx_path)):
        seen.append(_ingest_one(
            tmp_path / name, "deaths", path, 'nhs_number = true\nheader_row = 2\n',
            "SELECT row_number, column_name, action FROM field_actions ORDER BY 1, 2",
            "SELECT source_row FROM deaths ORDER BY 1"))
    csv_seen, xlsx_seen = seen
    assert csv_seen == xlsx_seen
    counts, rejects, actions, loaded = csv_seen
    assert counts == (5, 4, 1)
    assert [(r, c) for r, c, _ in rejects] == [(4, "date_of_death")]
    assert [r for r, _, _ in actions] == [5, 6]
    assert loaded == [(3,), (5,), (6,), (7,)]


@pytest.mark.parametrize("empty_line", [False, True])
def test_direct_load_matches_the_rows_table_path(tmp_path, monkeypatch, empty_line):
    """Activity rows go straight into the dataset's table, the rows left out found by
    counting rows per block of row numbers (ingest._mark_left_out); the other way types
    them into a temporary table first. Both give the same rows read, rejects, field
    actions and loaded rows, on rows worked out by hand -- with blocks of 4 rows, so
    that several blocks differ, and with an empty line that shifts the row numbers."""
    from eolneeds import ingest

    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    monkeypatch.setattr(ingest, "ROW_BLOCK", 4)
    lines = [
        "person_id,activity_type,start_date,end_date,admission_method,treatment_function,cost",
        "9434765919,community_contact,2024-06-01,2024-06-01,,,10",      # 2
        "4010232137,community_contact,2024-06-02,2024-06-02,,,20",      # 3
        "9434765918,community_contact,2024-06-03,2024-06-03,,,30",      # 4: check digit
        "4010232145,community_contact,2024-06-04,2024-06-04,,,-5",      # 5: cost blanked
        ",,,,,,",                                                        # 6: blank
        "4010232153,community_contact,2024-06-05,2024-06-01,,,40",      # 7: end blanked
        "Total,,,,,,100",                                                # 8: totals
        "9434765919,community_contact,2024-06-06,2024-06-06,,,50",      # 9
        "4010232137,community_contact,2024-06-07,2024-06-07,,,abc",     # 10: cost blanked
        "4010232145,visit,2024-06-08,2024-06-08,,,60",                  # 11: type
        "4010232153,community_contact,2024-06-09,2024-06-09,,,70",      # 12
    ]
    shift = 0
    if empty_line:  # an empty line after row 3: every later row is one further down
        lines.insert(3, "")
        shift = 1
    seen = []
    for direct in (True, False):
        monkeypatch.setattr(ingest, "DIRECT_LOAD", direct)
        path = tmp_path / f"activity-{direct}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        seen.append(_ingest_one(
            tmp_path / f"direct-{direct}", "activity", path, "nhs_number = true\n",
            "SELECT row_number, column_name, action, reason FROM field_actions ORDER BY 1, 2",
            "SELECT source_row, person_id, start_date, cost FROM activity ORDER BY 1"))
    assert seen[0] == seen[1]
    counts, rejects, actions, loaded = seen[0]
    assert counts == (10, 7, 3)

    def at(row: int) -> int:
        return row + shift if row > 3 else row

    assert [(r, c) for r, c, _ in rejects] == [
        (at(4), "person_id"), (at(8), None), (at(11), "activity_type")]
    # A stay ending before it starts still counts as an admission: its end blanked
    # (inputs8, f291b73), not the row rejected.
    assert [(r, c, a) for r, c, a, _ in actions] == [
        (at(5), "cost", "blanked"), (at(7), "end_date", "blanked"),
        (at(10), "cost", "blanked")]
    assert [r for r, _, _, _ in loaded] == [at(r) for r in (2, 3, 5, 7, 9, 10, 12)]
    assert [c for _, _, _, c in loaded] == [10, 20, None, 40, 50, None, 70]


@pytest.mark.parametrize("bad_cause", [False, True])
def test_marked_rows_spelt_without_the_causes_none_of_them_fails(tmp_path, monkeypatch,
                                                                 bad_cause):
    """The pass spelling out the marked rows leaves out the checks (and lookups) of the
    contributory causes that none of the marked rows fails (ingest._spelt_plan): the
    same rejects and field actions as with every check, worked out by hand -- marked
    rows with no bad cause, and (bad_cause) one with a junk code in S_COD_CODE_3 too."""
    from eolneeds import ingest

    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    header = ("DEC_NHS_NUMBER,REG_DATE_OF_DEATH,REG_DATE,DEC_AGEC,DEC_SEX,DEC_LSOA,"
              "S_UNDERLYING_COD_ICD10," + ",".join(f"S_COD_CODE_{i}" for i in range(1, 16))
              + ",POD_CODE,POD_NHS_ESTABLISHMENT,POD_ESTABLISHMENT_TYPE")

    def death(number: str, died: str, cause3: str = "") -> str:
        causes = ["C34.9", "J18.9", cause3] + [""] * 12
        return ",".join([number, died, "20250110", "80", "1", "E01000001", "C34.9",
                         *causes, "H1", "1", "01"])

    lines = [header,
             death("9434765919", "20250102"),                             # 2
             death("4010232137", "20253102"),                             # 3: no date
             death("9434765918", "20250103"),                             # 4: unlinked
             death("4010232145", "20250104", "C50.9"),                    # 5
             death("4010232153", "20250105", "KEEP OUT" if bad_cause else "I64")]  # 6
    path = tmp_path / "deaths.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    seen = []
    for prune in (True, False):
        if not prune:
            monkeypatch.setattr(ingest, "_spelt_plan", lambda con, plan, rows: plan)
        seen.append(_ingest_one(
            tmp_path / f"prune-{prune}", "deaths", path, 'preset = "pcmd_deaths"\n',
            "SELECT row_number, column_name, value, action, reason FROM field_actions "
            "ORDER BY 1, 2", "SELECT source_row, contributory_causes FROM deaths ORDER BY 1"))
    assert seen[0] == seen[1]
    counts, rejects, actions, loaded = seen[0]
    assert counts == (5, 4, 1)
    assert [(r, c) for r, c, _ in rejects] == [(3, "date_of_death")]
    assert [(r, c, a) for r, c, _, a, _ in actions] == [(4, "person_id", "unlinked")] + (
        [(6, "contributory_causes", "code dropped")] if bad_cause else [])
    assert [c for _, c in loaded] == [["C349", "J189"], ["C349", "J189"],
                                      ["C349", "J189", "C509"],
                                      ["C349", "J189"] if bad_cause else ["C349", "J189", "I64"]]


def test_costs_looked_up_once_per_value_match_costs_read_per_row(tmp_path, monkeypatch):
    """A cost is cleaned and checked per row (ingest.PER_ROW_COLUMNS) or, like any
    other column, once per distinct value in a lookup. Costs of every kind -- currency
    and thousands marks, Arabic-Indic digits and decimal mark, white space, a "no
    value" word, text, a negative and an implausible amount, repeats of each -- give
    the same rows, rejects and field actions both ways, and the costs worked out by
    hand."""
    from eolneeds import ingest

    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    costs = ["10", "£1,234.50", "\u0661\u0662\u0663\u066b\u0665", " 12 ", "N/A", "abc",
             "-5", "20000000", "", "10", "abc", "£1,234.50"]
    lines = ["person_id,activity_type,start_date,end_date,cost"] + [
        f"9434765919,community_contact,2024-06-{day:02d},2024-06-{day:02d},\"{cost}\""
        for day, cost in enumerate(costs, start=1)]
    path = tmp_path / "activity.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    seen = []
    for per_row in ({"spell_id"}, {"cost", "spell_id"}):
        monkeypatch.setattr(ingest, "PER_ROW_COLUMNS", per_row)
        seen.append(_ingest_one(
            tmp_path / "-".join(sorted(per_row)), "activity", path, "nhs_number = true\n",
            "SELECT row_number, column_name, value, action, reason FROM field_actions "
            "ORDER BY 1, 2", "SELECT source_row, cost FROM activity ORDER BY 1"))
    assert seen[0] == seen[1]
    counts, rejects, actions, loaded = seen[0]
    assert counts == (12, 12, 0) and rejects == []
    assert [c for _, c in loaded] == [10.0, 1234.5, 123.5, 12.0, None, None, None, None,
                                      None, 10.0, None, 1234.5]
    assert [(r, c, a) for r, c, _, a, _ in actions] == [
        (r, "cost", "blanked") for r in (7, 8, 9, 12)]


@pytest.mark.parametrize("sorted_from", [0, 10**9])
def test_unique_keys_load_direct_with_the_same_duplicates(tmp_path, monkeypatch,
                                                          sorted_from):
    """Deaths (a dataset whose key must be unique) go straight into an empty dataset
    table too; their duplicates are then looked for among the rows inserted (after a
    cheap test that there are none) and deleted. Into a table that holds rows they go
    through ROWS_TABLE. Both ways give the same rows read, rejects, field actions and
    loaded rows, worked out by hand: a repeat within the first file (whose own field
    action goes with it), then a repeat of a death loaded from the earlier file, a
    repeat within the second file, and a rejected row, which is no first sighting.
    The same whichever way the hashes of the keys are compared (ingest._hashes_distinct:
    sorted in numpy from `sorted_from` rows, else count(DISTINCT) in DuckDB)."""
    import duckdb

    from eolneeds import ingest
    from eolneeds.config import load_config
    from eolneeds.reporting import Reporter

    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    monkeypatch.setattr(ingest, "SORTED_HASHES_FROM", sorted_from)
    header = "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death"
    earlier = [
        header,
        "9434765919,05/06/2024,80,F,E01000001,C34.9,Hospital",   # 2
        "9434765919,06/06/2024,999,F,E01000001,C34.9,Hospital",  # 3: repeats row 2
        "4010232161,04/06/2024,75,F,E01000001,C34.9,Hospital",   # 4
    ]
    lines = [
        header,
        "4010232137,01/06/2024,70,M,E01000002,I25.1,Home",        # 2
        "9434765919,05/06/2024,80,F,E01000001,C34.9,Hospital",   # 3: in the earlier file
        "4010232137,02/06/2024,999,M,E01000002,I25.1,Home",      # 4: repeats row 2
        "4010232145,31/02/2024,60,M,E01000002,I64,Home",         # 5: no such date
        "4010232145,08/06/2024,60,M,E01000002,I64,Home",         # 6: row 5 was rejected
        "4010232153,09/06/2024,999,M,E01000002,I64,Care home",   # 7: age blanked
    ]
    chosen = []
    real = ingest._loads_direct

    def spy(*args):
        chosen.append(real(*args))
        return chosen[-1]

    monkeypatch.setattr(ingest, "_loads_direct", spy)
    seen = []
    for direct in (True, False):
        monkeypatch.setattr(ingest, "DIRECT_LOAD", direct)
        root = tmp_path / f"direct-{direct}"
        (root / "mappings").mkdir(parents=True)
        (root / "eolneeds.toml").write_text(
            '[project]\nicb_name = "T"\nicb_code = "QXX"\n\n[[places]]\ncode = "P1"\n'
            'name = "One"\n', encoding="utf-8")
        (root / "mappings" / "deaths.toml").write_text(
            'dataset = "deaths"\nnhs_number = true\n', encoding="utf-8")
        (root / "old").mkdir()
        (root / "old" / "deaths.csv").write_text("\n".join(earlier) + "\n", encoding="utf-8")
        (root / "deaths.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        config = load_config(root)
        results = [ingest.ingest_files(config, "deaths", [path], reporter=Reporter())[0]
                   for path in (root / "old" / "deaths.csv", root / "deaths.csv")]
        con = duckdb.connect(str(config.database_path), read_only=True)
        try:
            seen.append((
                [(r.rows_read, r.rows_loaded, r.rows_rejected) for r in results],
                con.execute("SELECT file_id, row_number, column_name, reason FROM rejects "
                            "ORDER BY 1, 2").fetchall(),
                con.execute("SELECT file_id, row_number, column_name, action "
                            "FROM field_actions ORDER BY 1, 2").fetchall(),
                con.execute("SELECT source_file_id, source_row, age, date_of_death "
                            "FROM deaths ORDER BY 1, 2").fetchall()))
        finally:
            con.close()
    assert chosen == [True, False, False, False]  # direct only into the empty table
    assert seen[0] == seen[1]
    counts, rejects, actions, loaded = seen[0]
    assert counts == [(3, 2, 1), (6, 3, 3)]
    assert [(f, r, c) for f, r, c, _ in rejects] == [
        (1, 3, "person_id"), (2, 3, "person_id"), (2, 4, "person_id"),
        (2, 5, "date_of_death")]
    within = "duplicate death for this person: first seen on row 2 of this file"
    assert rejects[0][3] == within
    assert rejects[1][3] == ("duplicate death for this person: already loaded from "
                             "deaths.csv row 2")
    assert rejects[2][3] == within
    assert [(f, r, c, a) for f, r, c, a in actions] == [(2, 7, "age", "blanked")]
    assert [(f, r, a) for f, r, a, _ in loaded] == [
        (1, 2, 80), (1, 4, 75), (2, 2, 70), (2, 6, 60), (2, 7, None)]


@pytest.mark.parametrize("sorted_from", [0, 10**9])
def test_hashes_distinct_both_ways(monkeypatch, sorted_from):
    """ingest._hashes_distinct, worked out by hand: all different (including none and
    one), a repeat anywhere (first and last, neighbours, the largest 64-bit values), the
    same answer from numpy's sort and DuckDB's count(DISTINCT)."""
    import duckdb

    from eolneeds import ingest

    monkeypatch.setattr(ingest, "SORTED_HASHES_FROM", sorted_from)
    con = duckdb.connect()
    top = 2**64 - 1
    cases = [([], True), ([7], True), ([3, 1, 2], True), ([5, 1, 5], False),
             ([1, 2, 2, 3], False), ([top, 0, top - 1], True), ([top, 1, top], False),
             (list(range(1000)) + [999], False), (list(range(1000, 0, -1)), True)]
    for values, expected in cases:
        con.execute("CREATE OR REPLACE TABLE v (h UBIGINT)")
        if values:
            con.executemany("INSERT INTO v VALUES (?)", [[x] for x in values])
        assert ingest._hashes_distinct(con, "SELECT h FROM v WHERE h >= $low",
                                       {"low": 0}) is expected, values


def test_repeated_header_found_with_padding_and_only_when_equal(tmp_path, monkeypatch):
    """The repeated-header test trims only values that contain both column names
    (ingest._plan_columns): a padded repeat is still one; a value that merely contains a
    name is not (rejected for what it is, not as a header)."""
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    header = "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death"
    lines = [
        header,
        "P1,05/06/2024,80,F,E01000001,C34.9,Hospital",                              # 2
        "  person_id , date_of_death ,age,sex,lsoa_code,underlying_cause,place_of_death",  # 3
        "person_id2,date_of_death x,80,F,E01000001,C34.9,Hospital",                 # 4
        "P5,06/06/2024,81,M,E01000001,C34.9,Home",                                  # 5
        "P6,07/06/2024,82,M,E01000001,C34.9,Home",                                  # 6
    ]
    path = tmp_path / "deaths.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts, rejects, _, loaded = _ingest_one(
        tmp_path / "p", "deaths", path, "", "SELECT 1 WHERE false",
        "SELECT source_row FROM deaths ORDER BY 1")
    assert counts == (5, 3, 2)
    assert [r for r, _, _ in rejects] == [3, 4]
    assert rejects[0][2].startswith("row repeats the header")
    assert "repeats the header" not in rejects[1][2]
    assert rejects[1][2].startswith("date_of_death 'date_of_death x' is not a date")
    assert loaded == [(2,), (5,), (6,)]


def test_trim_skipped_only_where_it_would_change_nothing():
    """readers.trimmed_sql gives what stripping readers.WHITE_SPACE (every space
    separator, the ASCII white space controls, zero-width characters and the BOM) from
    both ends gives, on every value -- each at either end and inside, other control and
    non-ASCII characters, empty and NULL -- and on random strings of those characters."""
    import random

    import duckdb

    spaces = [" ", "\u00a0", "\u1680", *map(chr, range(0x2000, 0x200B)), "\u202f",
              "\u205f", "\u3000"]
    others = ["a", "Z", "1", "!", "~", "\t", "\n", "\x7f", "\x01", "é", "ß", "€", "\u200b",
              "\ufeff", "'", ","]
    values: list[str | None] = [None, ""]
    for sp in spaces:
        values += [sp, sp + "x", "x" + sp, sp + "x" + sp, "x" + sp + "y", sp * 3]
    values += others + [o + "x" + o for o in others]
    rng = random.Random(11)
    alphabet = spaces + others
    values += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))
               for _ in range(3000)]
    con = duckdb.connect()
    con.execute("CREATE TABLE v (c VARCHAR)")
    con.executemany("INSERT INTO v VALUES (?)", [[v] for v in values])
    got = con.execute(f"SELECT c, {readers.trimmed_sql('c')} FROM v").fetchall()
    differ = [(c, t) for c, t in got
              if t != (None if c is None else c.strip(readers.WHITE_SPACE))]
    assert differ == []
    assert con.execute(f"SELECT {readers.trimmed_sql('c')} FROM (SELECT ' a\u00a0' AS c)"
                       ).fetchone() == ("a",)

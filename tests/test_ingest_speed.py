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


def test_csv_ingest_imports_no_heavy_library(tmp_path):
    from eolneeds.reporting import Reporter
    from eolneeds.sample import write_sample

    write_sample(tmp_path / "p", deaths=200, seed=3, reporter=Reporter())
    areas = next((tmp_path / "p" / "inbox" / "areas").iterdir())
    code = (
        "import sys\n"
        "from eolneeds.cli import main\n"
        f"sys.argv = ['eolneeds', '--quiet', 'ingest', 'areas', {str(areas)!r}, "
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
]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 1 << 20])
@pytest.mark.parametrize("data", CASES)
def test_line_scan_counts_match_the_whole_text(tmp_path, monkeypatch, data, chunk):
    """Read in chunks of any size (a CR LF split across two), the scan counts what the
    whole text holds; the empty-line search is made only when asked for."""
    monkeypatch.setattr(readers, "CHUNK", chunk)
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    breaks, quote, empty = _reference(data)
    fast = readers._scan_lines(path, False)
    assert (fast.line_breaks, fast.quotes, fast.empty_line) == (breaks, quote, False)
    full = readers._scan_lines(path, False, empty_lines=True)
    assert (full.line_breaks, full.quotes, full.empty_line) == (breaks, quote, empty)


def test_rejected_rows_fetched_by_rowid_match_the_row_number_path(tmp_path, monkeypatch):
    """A CSV's marked rows are fetched again by rowid (ingest._quarantine); a workbook's
    by their row number. The same rows under a title line give the same rejects, field
    actions and loaded rows either way, on the rows worked out by hand."""
    import duckdb
    import openpyxl

    from eolneeds.config import load_config
    from eolneeds.ingest import ingest_files
    from eolneeds.reporting import Reporter

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
        root = tmp_path / name
        (root / "mappings").mkdir(parents=True)
        (root / "eolneeds.toml").write_text(
            '[project]\nicb_name = "T"\nicb_code = "QXX"\n\n[[places]]\ncode = "P1"\n'
            'name = "One"\n', encoding="utf-8")
        (root / "mappings" / "deaths.toml").write_text(
            'dataset = "deaths"\nnhs_number = true\nheader_row = 2\n', encoding="utf-8")
        config = load_config(root)
        [result] = ingest_files(config, "deaths", [path], reporter=Reporter())
        con = duckdb.connect(str(config.database_path), read_only=True)
        try:
            seen.append((
                (result.rows_read, result.rows_loaded, result.rows_rejected),
                con.execute("SELECT row_number, column_name, reason FROM rejects "
                            "ORDER BY 1").fetchall(),
                con.execute("SELECT row_number, column_name, action FROM field_actions "
                            "ORDER BY 1, 2").fetchall(),
                con.execute("SELECT source_row FROM deaths ORDER BY 1").fetchall()))
        finally:
            con.close()
    csv_seen, xlsx_seen = seen
    assert csv_seen == xlsx_seen
    counts, rejects, actions, loaded = csv_seen
    assert counts == (5, 4, 1)
    assert [(r, c) for r, c, _ in rejects] == [(4, "date_of_death")]
    assert [r for r, _, _ in actions] == [5, 6]
    assert loaded == [(3,), (5,), (6,), (7,)]

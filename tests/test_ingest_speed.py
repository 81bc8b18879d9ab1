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

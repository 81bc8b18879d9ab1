"""Red team: a file in the inbox named with a line break, an escape or a right-to-left
override ('deaths\\nINFO all fine \\u202egpj.csv'). The monthly run printed its ingest
lines over two lines (the second one forged: 'INFO all fine ...'), kept the override as
it is in the run's log, and stored the name as it came in ingest_log: from there the
manifest, run.json, the report's and the packs' files tables showed a line break
inside a cell and the override turned the rest of the name around ('...csv.jpg').

The rule, one helper (normalise.shown_name, on normalise.escape_unshown, which
console.visible and the run log's event_json use too): a name is kept and shown with
its NHS numbers masked and each control, line-breaking or text-direction character as
its Python escape ('\\n', '\\x1b', '\\u202e'): visible, one line, the same everywhere.
(Names are POSIX file names here: Windows forbids most of these characters in them.)

`inspect` printed the name as it came (its first line split in two), and `--write-mapping`
wrote it into the mapping's first comment: a name holding '\ndataset = "register"\n#'
wrote its own keys into the mapping (refused as a duplicate key by luck; a key the
mapping lacked, such as a preset, would have been taken).

Real ingest, a real DuckDB file and the run's real log; validation and assessment are
stood in (the manifest's inputs are read from ingest_log by outputs._inputs, which the
report and packs show).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from small_project import CONFIG, HEADER, small_project, stand_in_validation_and_assessment

from eolneeds import run as run_mod
from eolneeds.config import load_config
from eolneeds.console import ConsoleReporter, visible
from eolneeds.db import connect
from eolneeds.normalise import MASK, shown_name
from eolneeds.outputs import _inputs

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file names")

ROWS = "".join(f"{n},2024-0{m}-1{m},8{m},F,E01000001,C34.9,home\n"
               for m, n in enumerate(["4010232137", "4505577104", "4839298429"], start=1))
NAME = "deaths\nINFO all fine \u202egpj\x1b[2J 943 476 5919.csv"
SHOWN = f"deaths\\nINFO all fine \\u202egpj\\x1b[2J {MASK}.csv"


def test_a_name_is_shown_escaped_and_masked_by_one_rule():
    assert shown_name(NAME) == SHOWN
    # Every character that moves or turns text around: C0, C1, the separators, the
    # direction marks, embeddings, overrides and isolates.
    for hidden in ["\r", "\x85", "\u2028", "\u2029", "\u200e", "\u200f", "\u061c",
                   "\u202a", "\u202d", "\u2066", "\u2069"]:
        shown = shown_name(f"a{hidden}b.csv")
        assert shown.isprintable() and shown == f"a{repr(hidden)[1:-1]}b.csv"
    # Names as they usually are stay as they are: accents, spaces, dates, Windows paths.
    for plain in ["décès 2024-10 (v2).csv", r"C:\Data\deaths_20241001123456.csv"]:
        assert shown_name(plain) == plain
    # What the console prints goes by the same rule; a report keeps its line breaks.
    assert visible("one\u202e\ntwo") == "one\\u202e\ntwo"
    assert visible("one\u202e\ntwo", one_line=True) == "one\\u202e\\ntwo"


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    root = small_project(tmp_path, monkeypatch)
    (root / "inbox" / "deaths" / NAME).write_text(HEADER + ROWS, encoding="utf-8")
    stand_in_validation_and_assessment(monkeypatch)
    return root


def test_a_hostile_file_name_is_one_escaped_line_in_every_record_of_the_run(root):
    printed = io.StringIO()
    run_mod.run_month(load_config(root), "2024-03", reporter=ConsoleReporter(stream=printed))

    # The console: the file's lines start with its escaped name; no line is forged.
    lines = printed.getvalue().splitlines()
    assert [line for line in lines if "INFO all fine" in line] == [
        f"{SHOWN}: 3 rows read, 3 loaded into deaths, 0 quarantined; read with no mapping "
        "(the canonical column names)"]
    # The run log: one JSON object a line, the name escaped in its text as printed.
    log = (root / "logs" / "eolneeds-2024-03.log").read_text(encoding="utf-8")
    records = [json.loads(line) for line in log.splitlines()]
    assert any(r.get("text", "").startswith(f"{SHOWN}: 3 rows read") for r in records)
    # run.json, published beside the outputs.
    record = json.loads((root / "output" / "2024-03" / "run.json").read_text(encoding="utf-8"))
    assert record["files_ingested"] == [f"deaths/{SHOWN}"]
    # ingest_log (read by the manifest, the report's and the packs' files tables),
    # rejects and field_actions keep the escaped name.
    con = connect(root / "eolneeds.duckdb", read_only=True)
    try:
        assert [i["file_name"] for i in _inputs(con)] == [SHOWN]
        path = con.execute("SELECT file_path FROM ingest_log").fetchone()[0]
    finally:
        con.close()
    assert path.endswith(f"/{SHOWN}")
    for text in (printed.getvalue(), log, json.dumps(record, ensure_ascii=False), path):
        assert not any(c in text for c in "\x1b\u202e"), text
        assert "5919" not in text


def test_inspect_shows_the_name_on_one_line_and_writes_no_key_of_it(tmp_path):
    from eolneeds.config import load_config as load
    from eolneeds.inspect import inspect_file, write_mapping

    root = tmp_path / "project"
    root.mkdir()
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    name = 'deaths\npreset = "hes_apc"\n#\u202e.csv'
    extract = tmp_path / name
    extract.write_text(HEADER + ROWS, encoding="utf-8")
    found = inspect_file(extract)
    assert found.render_text().splitlines()[0] == (
        'deaths\\npreset = "hes_apc"\\n#\\u202e.csv')
    written = write_mapping(found, "mine", root)
    text = written.read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith(
        '# Written by `eolneeds inspect deaths\\npreset = "hes_apc"\\n#\\u202e.csv`')
    assert "\u202e" not in text and "\npreset" not in text
    mapping = load(root).mappings["mine"]
    assert (mapping.dataset, mapping.preset) == ("deaths", None)

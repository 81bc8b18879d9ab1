"""Red team: hostile names in eolneeds.toml reaching every output writer.

A NUL or a bell in a Place name made that Place's Excel pack a file Excel cannot open
(the workbook's title property is XML, which cannot hold them); a 250-character Place
code made the monthly run end in an internal error (a pack's file name over 255 bytes)
after all its ingest was done. Both are now refused when eolneeds.toml is read, naming
the key. Names that are text but hostile (formula prefixes, HTML, Windows device names
as codes, 10,000 characters) are written harmlessly: checked on a real run by opening
every pack, parsing every XML part and reading the CSV and the HTML.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from sample_settings import primary_suppression_only

from eolneeds.config import load_config
from eolneeds.errors import ConfigError

CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
BASE = '[project]\nicb_name = "Test ICB"\n\n[[places]]\ncode = "P1"\nname = "Place One"\n'
KEY = "test-key-not-secret"

REFUSED = {
    "NUL in a name": ('[[places]]\ncode = "P2"\nname = "Fern\\u0000holt"\n',
                      "key 'places entry 2.name' holds the invisible character U+0000 at "
                      "position 5"),
    "bell in a name": ('[[places]]\ncode = "P2"\nname = "Fernholt\\u0007"\n',
                       "key 'places entry 2.name' holds the invisible character U+0007"),
    "right-to-left override": ('[[places]]\ncode = "P2"\nname = "abc\\u202Egpj.exe"\n',
                               "holds the invisible character U+202E at position 4"),
    "control in the ICB name": ('[[places]]\ncode = "P2"\n[outputs]\n',
                                None),
    "line break in a Place name": ('[[places]]\ncode = "P2"\nname = "Fern\\nholt"\n',
                                   "[[places]] entry 2: key 'name' holds a tab or line "
                                   "break"),
    "tab in a Place code": ('[[places]]\ncode = "P\\t2"\n',
                            "[[places]] entry 2: key 'code' holds a tab or line break"),
    "250-character code": (f'[[places]]\ncode = "{"Q" * 250}"\n',
                           "[[places]] entry 2: key 'code' is 250 characters long — a "
                           "Place code has at most 64"),
}


@pytest.mark.parametrize("text, message", REFUSED.values(), ids=list(REFUSED))
def test_an_invisible_character_or_unusable_code_is_refused_naming_the_key(tmp_path, text,
                                                                           message):
    if message is None:  # the ICB name, outside [[places]]
        text, message = "", "key 'project.icb_name' holds the invisible character U+001B"
        base = BASE.replace('"Test ICB"', '"Test\\u001b[31m ICB"')
    else:
        base = BASE
    (tmp_path / "eolneeds.toml").write_text(base + text, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(tmp_path)
    assert message in str(refused.value)
    assert str(refused.value).startswith(str(tmp_path / "eolneeds.toml"))


def test_a_refused_name_is_exit_2_on_the_monthly_run(tmp_path):
    (tmp_path / "eolneeds.toml").write_text(
        BASE + '[[places]]\ncode = "P2"\nname = "Fern\\u0000holt"\n', encoding="utf-8")
    done = subprocess.run([*CLI, "run", "--month", "2026-10", "--project", str(tmp_path)],
                          capture_output=True, text=True, encoding="utf-8", timeout=120,
                          env={**os.environ, "EOLNEEDS_KEY": KEY})
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("Error: ") and "U+0000" in done.stderr
    assert "Traceback" not in done.stderr


# Codes and names as a careless or hostile config would give them. Codes that are
# Windows device names are fine: packs are named pack-CODE.xlsx, never CODE.xlsx.
HOSTILE = {
    "ASH": ("CON", '=HYPERLINK("http://example.invalid/","click")'),
    "BRK": ("=1+2", "+cmd|' /C calc'!A0"),
    "CAS": ("COM1", "@SUM(1+1)"),
    "DUN": ("NUL", "<script>alert(1)</script><img src=x onerror=alert(2)>"),
    "EAS": ("-2+3", "W" * 10_000),
    "FER": ("aux", "Fernholt & Co \"quoted\" 'single' ; | \\ "),
}


def _hostile_project(root: Path) -> None:
    toml = (root / "eolneeds.toml").read_text(encoding="utf-8")
    for old, (code, name) in HOSTILE.items():
        old_block = f'code = "{old}"\nname = '
        assert old_block in toml
        toml = toml.replace(old_block, f"code = {json.dumps(code)}\nname = "
                                       f"{json.dumps(name)}\n#")
    (root / "eolneeds.toml").write_text(toml, encoding="utf-8")
    for path, column in ((root / "inbox/areas/areas_lsoa2021.csv", "place"),
                         (root / "inbox/projections/projections_place.csv", "area_code")):
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        at = rows[0].index(column)
        for row in rows[1:]:
            if row[at] in HOSTILE:
                row[at] = HOSTILE[row[at]][0]
        with path.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(rows)


@pytest.mark.slow
def test_hostile_place_names_and_codes_reach_no_output_as_code(tmp_path):
    root = tmp_path / "p"
    env = {**os.environ}
    env.pop("EOLNEEDS_KEY", None)
    subprocess.run([*CLI, "sample", str(root), "--deaths", "400", "--seed", "3"],
                   check=True, capture_output=True, timeout=300, env=env)
    _hostile_project(root)
    # Escaping is what is tested, not which cells are hidden: secondary suppression was
    # most of this run (tests/sample_settings.py). Primary suppression stays on.
    primary_suppression_only(root)
    done = subprocess.run([*CLI, "run", "--month", "2026-10", "--project", str(root)],
                          capture_output=True, text=True, encoding="utf-8", timeout=600,
                          env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    out = root / "output" / "2026-10"
    packs = sorted(out.glob("pack-*.xlsx"))
    assert {p.name for p in packs} == {"pack-icb.xlsx", "pack-con.xlsx", "pack-1-2.xlsx",
                                       "pack-com1.xlsx", "pack-nul.xlsx", "pack-2-3.xlsx",
                                       "pack-aux.xlsx"}
    for pack in packs:
        with zipfile.ZipFile(pack) as archive:
            for part in archive.namelist():
                if part.endswith((".xml", ".rels")):
                    # Excel opens only well-formed XML. (ElementTree, like minidom, is
                    # expat and refuses the same bytes; minidom took 10x the time.)
                    ElementTree.fromstring(archive.read(part))
        # Streamed (read_only): the same cell parser, formulas still read as type "f".
        wb = openpyxl.load_workbook(pack, read_only=True)
        try:
            for ws in wb.worksheets:
                for row in ws.iter_rows():
                    for cell in row:
                        assert cell.data_type != "f", (pack.name, ws.title, cell.coordinate)
                        if isinstance(cell.value, str):
                            assert not cell.value.startswith(("=", "+", "-", "@")), \
                                (pack.name, ws.title, cell.coordinate, cell.value[:40])
        finally:
            wb.close()
    with (out / "indicators.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            for column in ("area_code", "area_name"):
                assert not row[column].startswith(("=", "+", "-", "@")), row[column][:40]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

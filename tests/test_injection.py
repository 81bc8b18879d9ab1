"""Hostile Place names and codes come out inert in every output (issue: Reports).

A Place whose code is `=HYPERLINK("x")` and whose name is `<script>alert(1)</script>`
goes through the real pipeline (ingest -> assess -> HTML, Excel, CSV). The HTML must
carry it escaped, no workbook cell may be a formula or start with a formula character,
and no CSV field may start with one.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sample_settings import primary_suppression_only

from eolneeds.assess import AssessOptions, assess_project
from eolneeds.config import load_config
from eolneeds.db import connect
from eolneeds.reporting import Reporter

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("x")'
FORMULA_START = ("=", "+", "-", "@")


@pytest.fixture(scope="module")
def hostile_outputs(session_env: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from eolneeds.sample import ingest_sample, write_sample

    root = tmp_path_factory.mktemp("hostile") / "project"
    write_sample(root, deaths=600, seed=11, reporter=Reporter())
    # Escaping is not about disclosure control; secondary suppression was most of this
    # fixture's time (tests/sample_settings.py). Primary suppression stays on.
    primary_suppression_only(root)
    config = load_config(root)
    ingest_sample(config, reporter=Reporter())
    first, second = config.places[0], config.places[1]
    # Give one Place a formula for a code and another a script for a name, in the
    # configuration and in the database alike.
    toml = (root / "eolneeds.toml").read_text(encoding="utf-8")
    toml = toml.replace(f'code = "{first.code}"', "code = '=HYPERLINK(\"x\")'", 1)
    toml = toml.replace(f'name = "{second.name}"', f'name = "{SCRIPT}"', 1)
    (root / "eolneeds.toml").write_text(toml, encoding="utf-8")
    con = connect(config.database_path)
    try:
        con.execute("UPDATE areas SET place = $new WHERE place = $old",
                    {"new": FORMULA, "old": first.code})
    finally:
        con.close()
    config = load_config(root)
    assert {p.code for p in config.places} >= {FORMULA}
    assert SCRIPT in {p.name for p in config.places}
    out = root / "out"
    assess_project(
        config,
        AssessOptions(formats=["html", "xlsx", "csv"], out=out, per_place=True),
        reporter=Reporter(),
    )
    return out


def test_html_escapes_the_script(hostile_outputs: Path) -> None:
    html = (hostile_outputs / "report.html").read_text(encoding="utf-8")
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.slow
def test_no_workbook_cell_is_a_formula(hostile_outputs: Path) -> None:
    packs = sorted(hostile_outputs.glob("*.xlsx"))
    assert len(packs) >= 2
    seen_payload = 0
    for pack in packs:
        # Read-only: the same cell parser (a formula is data_type "f"), streamed, several
        # times faster on packs of thousands of rows.
        workbook = openpyxl.load_workbook(pack, read_only=True)
        try:
            for sheet in workbook.worksheets:
                for row in sheet.iter_rows():
                    for cell in row:
                        assert cell.data_type != "f", f"{pack.name} {sheet.title}!{cell}"
                        if isinstance(cell.value, str):
                            assert not cell.value.startswith(FORMULA_START), (
                                f"{pack.name} {sheet.title}!{cell}: {cell.value!r}"
                            )
                            seen_payload += "HYPERLINK" in cell.value
        finally:
            workbook.close()
        # The raw XML must not contain a formula element either.
        with zipfile.ZipFile(pack) as archive:
            for name in archive.namelist():
                if name.startswith("xl/worksheets/"):
                    assert b"<f>" not in archive.read(name), f"{pack.name} {name}"
    assert seen_payload > 0  # the hostile code did reach the workbooks


def test_no_csv_field_starts_with_a_formula_character(hostile_outputs: Path) -> None:
    text = (hostile_outputs / "indicators.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    text_columns = [i for i, name in enumerate(header)
                    if name in ("area_code", "area_name", "indicator_name", "note")]
    payload_rows = 0
    for row in rows[1:]:
        for i in text_columns:
            assert not row[i].startswith(FORMULA_START), row
        payload_rows += "HYPERLINK" in row[header.index("area_code")]
    assert payload_rows > 0

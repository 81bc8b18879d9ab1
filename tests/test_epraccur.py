"""NHS ODS's practice list, epraccur, as published (onboarding fault 3, in part).

epraccur.csv (and the ODS Data Search and Export report of the same name) has no header
row: 27 columns, the practice's ODS code first, its open date eleventh. Ingested as
practices, the message was "required column 'practice_code' is missing (found:
'A81001', 'THE DENSHAM SURGERY', ...)": a practice's name and address read as headers,
and no word of what the file is. It also names no Primary Care Network, which is what the
practices dataset maps each practice to, so it cannot stand in for the ePCN workbook.
inspect and ingest now say what the file is and which file to use; the advice, followed
literally (the sample's ePCN workbook, preset ods_epcn), ingests."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eolneeds.cli import app
from eolneeds.config import load_config
from eolneeds.errors import InputDataError
from eolneeds.ingest import ingest_files
from eolneeds.inspect import inspect_file
from eolneeds.reporting import Reporter
from eolneeds.sample import make_geography, write_pcn_lookup

CONFIG = """
[project]
icb_name = "Test ICB"
icb_code = "QXX"

[[places]]
code = "P1"
name = "Place One"
"""
# Two practices as the file writes them: code, name, national grouping, high level
# health geography, five address lines, postcode, open date, close date, status, sub
# type, commissioner, join and left parent dates, telephone, then the null and flag
# columns to 27 (synthetic values).
ROWS = [
    'A81001,"THE DENSHAM SURGERY",Y63,QHM,"THE HEALTH CENTRE","LAWSON STREET",'
    '"STOCKTON-ON-TEES","CLEVELAND","",TS18 1HU,19740401,,A,B,16C,20220701,,01642 672351,'
    ',,,0,,,,4,',
    'A81002,"QUEENS PARK MEDICAL CENTRE",Y63,QHM,"QUEENS PARK MEDICAL CTR","FARRER STREET",'
    '"STOCKTON ON TEES","CLEVELAND","",TS18 2AW,19740401,,A,B,16C,20220701,,01642 679681,'
    ',,,0,,,,4,',
]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")


def _epraccur(path: Path) -> Path:
    path.write_text("\r\n".join(ROWS) + "\r\n", encoding="utf-8")
    return path


def test_inspect_says_what_epraccur_is(tmp_path: Path) -> None:
    found = inspect_file(_epraccur(tmp_path / "epraccur.csv"))
    assert found.preset is None
    text = found.render_text()
    assert "NHS ODS epraccur" in text and "ods_epcn" in text


def test_ingest_names_the_file_to_use_and_that_file_ingests(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "p"
    (root / "mappings").mkdir(parents=True)
    (root / "eolneeds.toml").write_text(CONFIG, encoding="utf-8")
    (root / "mappings" / "practices.toml").write_text(
        'dataset = "practices"\npreset = "ods_epcn"\n', encoding="utf-8")
    path = _epraccur(tmp_path / "epraccur.csv")
    with pytest.raises(InputDataError) as refused:
        ingest_files(load_config(root), "practices", [path], reporter=Reporter())
    message = str(refused.value)
    assert "epraccur" in message and "no header row" in message and "no PCN" in message
    # The fix, literally, where the user downloaded epcn.xlsx: the command it names.
    monkeypatch.chdir(tmp_path)
    write_pcn_lookup(tmp_path / "epcn.xlsx", make_geography(200, 1))
    command = shlex.split(message.rsplit(": run ", 1)[1])
    assert command[:4] == ["eolneeds", "ingest", "practices", "epcn.xlsx"]
    result = CliRunner().invoke(app, command[1:])
    assert result.exit_code == 0, result.output
    assert "practices" in result.output

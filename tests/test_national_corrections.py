"""Corrected extracts (newcomer finding 10): a corrected death file sent under a new name
(`..._v2.csv`), and an ONS amendments file (the same deaths, cause or place changed).

`--replace` that matches no earlier file is refused and names `--replace-file OLDNAME`;
`--replace-file` puts the new file in the old one's place. Rows repeating deaths already
loaded are quarantined as duplicates (a cumulative re-supply is no fault, so they never
make a file refused), but rows that repeat a death with DIFFERENT values are counted
loudly, with the way to apply them.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eolneeds.cli import app
from eolneeds.config import load_config
from eolneeds.errors import UsageError
from eolneeds.ingest import ingest_files
from eolneeds.reporting import RecordingReporter, Reporter
from tests.small_project import make_project
from tests.test_ingest import query, write
from tests.test_presets import PCMD

PRESET = 'dataset = "deaths"\npreset = "pcmd_deaths"\n'
# Valid NHS numbers (modulus 11).
ROWS = {
    "9434765919": "20230105,20230110,85,2,E01000001,C349,I251,H,,",
    "9434765005": "20230201,20230206,70,1,E01000001,I219,I251,H,,",
    "9434765013": "20230301,20230306,64,2,E01000001,J449,I251,H,,",
}


@pytest.fixture(autouse=True)
def _key(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")


def _file(path: Path, rows: dict[str, str]) -> Path:
    return write(path, ",".join(PCMD) + "\n" + "".join(f"{k},{v}\n" for k, v in rows.items()))


def _messages(reporter: RecordingReporter) -> str:
    return "\n".join(f["text"] for name, f in reporter.events if name == "message")


def _run(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output


@pytest.fixture
def loaded(tmp_path: Path):  # type: ignore[no-untyped-def]
    root = tmp_path / "p"
    config = make_project(root, {"pcmd_deaths": PRESET})
    first = _file(tmp_path / "PCMD_2023.csv", ROWS)
    ingest_files(config, "deaths", [first], reporter=Reporter())
    return root, config


def test_replace_matching_no_file_says_so_and_its_advice_works(loaded, tmp_path):  # type: ignore[no-untyped-def]
    root, config = loaded
    fixed = dict(ROWS, **{"9434765005": ROWS["9434765005"].replace(",70,", ",71,")})
    v2 = _file(tmp_path / "PCMD_2023_v2.csv", fixed)
    with pytest.raises(UsageError) as err:
        ingest_files(config, "deaths", [v2], replace=True, reporter=Reporter())
    message = str(err.value)
    assert err.value.exit_code == 2
    assert "--replace matches no file loaded into deaths" in message
    assert "--replace-file PCMD_2023.csv" in message
    assert query(config, "SELECT count(*) FROM ingest_log") == [(1,)]  # nothing loaded
    # Followed literally, as a command.
    _run(["ingest", "deaths", str(v2), "--replace-file", "PCMD_2023.csv",
          "--project", str(root)])
    assert query(config, "SELECT file_name, replaced_by IS NULL FROM ingest_log "
                         "ORDER BY file_id") == [("PCMD_2023.csv", False),
                                                 ("PCMD_2023_v2.csv", True)]
    assert sorted(a for (a,) in query(config, "SELECT age FROM deaths")) == [64, 71, 85]
    assert query(config, "SELECT count(*) FROM rejects") == [(0,)]


def test_replace_file_naming_no_loaded_file_is_refused(loaded, tmp_path):  # type: ignore[no-untyped-def]
    _root, config = loaded
    v2 = _file(tmp_path / "PCMD_2023_v2.csv", ROWS)
    with pytest.raises(UsageError, match=r"no file of that name is loaded into deaths "
                                         r"\(loaded: PCMD_2023.csv\)"):
        ingest_files(config, "deaths", [v2], replace_file="PCMD_2022.csv",
                     reporter=Reporter())


def test_replace_with_nothing_loaded_just_loads(tmp_path):  # type: ignore[no-untyped-def]
    config = make_project(tmp_path / "p", {"pcmd_deaths": PRESET})
    first = _file(tmp_path / "PCMD_2023.csv", ROWS)
    [res] = ingest_files(config, "deaths", [first], replace=True, reporter=Reporter())
    assert res.rows_loaded == 3


def test_amendments_with_different_values_are_said_loudly(loaded, tmp_path):  # type: ignore[no-untyped-def]
    _root, config = loaded
    # ONS amendments: two deaths, cause and place corrected; the file holds only them.
    amended = {k: ROWS[k].replace("I251,H", "C349,E") for k in ("9434765919", "9434765005")}
    amendments = _file(tmp_path / "PCMD_2023_AMENDMENTS.csv", amended)
    reporter = RecordingReporter()
    [res] = ingest_files(config, "deaths", [amendments], reporter=reporter)
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (2, 0, 2)
    said = _messages(reporter)
    assert "2 rows repeat deaths already loaded from another file with DIFFERENT values" in said
    # Only part of the earlier file: replacing it would drop the third death.
    assert "PCMD_2023.csv (2 of its 3)" in said and "replacing one would drop the rest" in said
    assert "every row repeats deaths already loaded" in said


def test_a_resupply_of_the_same_rows_replaces_the_earlier_load(loaded, tmp_path):  # type: ignore[no-untyped-def]
    """A cumulative re-supply (every death of the earlier file again, read with the same
    mapping) takes the earlier load's place, as --replace-file would (newcomer2 finding
    07): its values stand, nothing is quarantined, and ingest says so."""
    _root, config = loaded
    corrected = dict(ROWS, **{"9434765005": ROWS["9434765005"].replace("I251,H", "C349,E")})
    again = _file(tmp_path / "PCMD_2023_resupply.csv", corrected)
    reporter = RecordingReporter()
    [res] = ingest_files(config, "deaths", [again], reporter=reporter)
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (3, 3, 0)
    said = _messages(reporter)
    assert "repeats every row of PCMD_2023.csv" in said and "DIFFERENT" not in said
    assert query(config, "SELECT file_name, replaced_by IS NULL FROM ingest_log "
                         "ORDER BY file_id") == [("PCMD_2023.csv", False),
                                                 ("PCMD_2023_resupply.csv", True)]
    # The corrected place of death ('E', elsewhere, for 'H', home) stands.
    assert query(config, "SELECT count(*), count(*) FILTER (WHERE place_of_death = "
                         "'home') FROM deaths") == [(3, 2)]
    assert query(config, "SELECT count(*) FROM rejects") == [(0,)]


def test_a_resupply_through_another_mapping_is_quarantined_and_said(loaded, tmp_path):  # type: ignore[no-untyped-def]
    """The same rows read with another mapping are another feed: not a replacement, so
    every row is a duplicate, said with the --replace-file that puts it in place."""
    root, config = loaded
    (root / "mappings" / "other_pcmd.toml").write_text(PRESET, encoding="utf-8")
    config = load_config(root)
    again = _file(tmp_path / "PCMD_2023_resupply.csv", {**ROWS})
    write(again, again.read_text("utf-8") + "\n")  # other bytes, the same rows
    reporter = RecordingReporter()
    [res] = ingest_files(config, "deaths", [again], mapping="other_pcmd", reporter=reporter)
    assert res.rows_loaded == 0 and res.rows_rejected == 3
    said = _messages(reporter)
    assert "DIFFERENT" not in said
    assert "every row repeats deaths already loaded" in said
    command = re.search(r"eolneeds (ingest .*--replace-file \S+)", said)
    assert command, said
    _run(shlex.split(command.group(1)) + ["--project", str(root)])
    assert query(load_config(root), "SELECT count(*) FROM deaths") == [(3,)]
    assert query(config, "SELECT count(*) FROM rejects WHERE file_id IN (SELECT file_id "
                         "FROM ingest_log WHERE replaced_by IS NULL)") == [(0,)]

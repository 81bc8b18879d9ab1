"""A local export saved under a new name (a practice's search renamed mid-year;
newcomer2 finding 04): no mapping's name starts the file's name, so it is read with the
canonical names and stops; the message names the mapping the project has that reads it,
and each way it offers works when followed literally."""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest

from eolneeds.config import load_config
from eolneeds.errors import InputDataError
from eolneeds.ingest import ingest_files
from eolneeds.reporting import Reporter
from tests.small_project import make_project
from tests.test_ingest import query, write

MAPPING = """dataset = "register"
nhs_number = true
[columns]
person_id = "NHS Number"
date_added = "Date Added to Register"
"""
TEXT = ('"Register search"\n\n"NHS Number","Date Added to Register"\n'
        '"943 476 5919","16-Feb-2024"\n"943 476 5870","09-Nov-2024"\n')


@pytest.fixture(autouse=True)
def _key(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")


def _refusal(tmp_path: Path) -> tuple[Path, Path, str]:
    config = make_project(tmp_path / "p", {"EMIS_PalCareRegister": MAPPING})
    inbox = config.root / "inbox" / "register"
    inbox.mkdir(parents=True)
    path = write(inbox / "PalliativeCareRegister_Apr2026.csv", TEXT)
    with pytest.raises(InputDataError) as refused:
        ingest_files(config, "register", [path], reporter=Reporter())
    return config.root, path, str(refused.value)


def test_the_message_names_the_mapping_that_reads_the_file(tmp_path: Path) -> None:
    root, _path, message = _refusal(tmp_path)
    assert "read with no mapping (the canonical column names)" in message
    assert "required column 'person_id' is missing" in message
    assert f"{root / 'mappings' / 'EMIS_PalCareRegister.toml'} reads its columns" in message
    assert "register.toml" not in message  # no mapping to build column by column


def test_copying_the_mapping_as_advised_reads_the_file(tmp_path: Path) -> None:
    root, path, message = _refusal(tmp_path)
    copy = root / "mappings" / "PalliativeCareRegister.toml"
    assert f"to {copy} " in message
    shutil.copy(root / "mappings" / "EMIS_PalCareRegister.toml", copy)
    config = load_config(root)
    [result] = ingest_files(config, "register", [path], reporter=Reporter())
    assert result.rows_loaded == 2
    assert query(config, "SELECT mapping FROM ingest_log") == [("PalliativeCareRegister",)]


def test_the_advised_command_reads_the_file(tmp_path: Path) -> None:
    root, path, message = _refusal(tmp_path)
    command = shlex.split(message.split("or give it: ")[1])
    assert command[:3] == ["eolneeds", "ingest", "register"] and command[3] == str(path)
    mapping = command[command.index("--mapping") + 1]
    assert command[command.index("--project") + 1] == str(root)
    config = load_config(root)
    [result] = ingest_files(config, "register", [path], mapping=mapping, reporter=Reporter())
    assert result.rows_loaded == 2


def test_renaming_the_file_as_advised_reads_it(tmp_path: Path) -> None:
    root, path, message = _refusal(tmp_path)
    assert "rename the file to start with EMIS_PalCareRegister" in message
    renamed = path.rename(path.with_name("EMIS_PalCareRegister_Apr2026.csv"))
    [result] = ingest_files(load_config(root), "register", [renamed], reporter=Reporter())
    assert result.rows_loaded == 2

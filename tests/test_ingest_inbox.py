"""`eolneeds ingest --inbox`: every file waiting in inbox/<dataset>/ loaded by one command
(one process), each with the mapping `run` would choose, nothing archived; the same rows
as one `ingest DATASET FILE` per file. And the usage errors of `ingest`, each with its
advice applied literally."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.small_project import make_project
from tests.test_ingest import TEST_KEY, query, write

CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]

# A local death extract read by mappings/deaths_local.toml (its name starts the file's
# name, so `run` and --inbox choose it), with one row that cannot count (31 February).
LOCAL_MAPPING = """dataset = "deaths"
date_format = "%d/%m/%Y"

[columns]
person_id = "NHS_NO"
date_of_death = "DOD"
age = "AGE"
sex = "SEX"
lsoa_code = "LSOA"
underlying_cause = "CAUSE"
place_of_death = "POD"
"""
LOCAL_DEATHS = ("NHS_NO,DOD,AGE,SEX,LSOA,CAUSE,POD\n"
                "943 476 5919,05/01/2023,85,F,E01000001,C34.9,hospital\n"
                "P2,01/02/2023,70,M,E01000002,I25X,home\n"
                "P3,31/02/2023,70,M,E01000002,I25X,home\n")
# Canonical column names: no mapping's name fits it, and there is no mappings/deaths.toml.
CANONICAL_DEATHS = ("person_id,date_of_death,age,sex,lsoa_code,underlying_cause,"
                    "place_of_death\n"
                    "P4,2023-03-01,90,2,E01000001,F03,care_home\n")
AREAS = "lsoa_code,place,imd_decile\nE01000001,P1,3\nE01000002,P1,7\n"


def _project(root: Path) -> Path:
    make_project(root, {"deaths_local": LOCAL_MAPPING})
    for folder in ("areas", "deaths"):
        (root / "inbox" / folder).mkdir(parents=True)
    write(root / "inbox" / "areas" / "areas_2021.csv", AREAS)
    write(root / "inbox" / "deaths" / "deaths_local_2023.csv", LOCAL_DEATHS)
    write(root / "inbox" / "deaths" / "registrations.csv", CANONICAL_DEATHS)
    return root


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, encoding="utf-8",
                          env={**os.environ, "EOLNEEDS_KEY": TEST_KEY}, timeout=300)


def _log(root: Path) -> list[tuple]:
    return query(make_project(root), "SELECT dataset, file_name, mapping, rows_read, "
                 "rows_loaded, rows_rejected FROM ingest_log ORDER BY file_id")


def _tables(root: Path) -> dict[str, list[tuple]]:
    config = make_project(root)
    return {
        "deaths": query(config, "SELECT person_id, date_of_death, age, sex, lsoa_code, "
                        "underlying_cause, place_of_death, source_row FROM deaths "
                        "ORDER BY person_id"),
        "areas": query(config, "SELECT lsoa_code, place, imd_decile FROM areas ORDER BY 1"),
        "rejects": query(config, "SELECT file_name, row_number, reason FROM rejects "
                         "ORDER BY 1, 2"),
    }


def test_inbox_loads_every_waiting_file_with_runs_mapping_and_leaves_them(tmp_path):
    root = _project(tmp_path / "p")
    done = _cli("ingest", "--inbox", "--project", str(root))
    assert done.returncode == 0, done.stderr
    # Reference data first (as `run`), each file with the mapping its name chooses, and
    # for every file rows read = loaded + rejected.
    assert _log(root) == [
        ("areas", "areas_2021.csv", "(canonical)", 2, 2, 0),
        ("deaths", "deaths_local_2023.csv", "deaths_local", 3, 2, 1),
        ("deaths", "registrations.csv", "(canonical)", 1, 1, 0),
    ]
    assert f"{root / 'inbox'}: 3 new files loaded" in done.stdout + done.stderr
    # Nothing is archived: the files wait for the monthly run.
    assert sorted(p.name for p in (root / "inbox").rglob("*.csv")) == [
        "areas_2021.csv", "deaths_local_2023.csv", "registrations.csv"]
    assert not (root / "archive").exists()

    again = _cli("ingest", "--inbox", "--project", str(root))
    assert again.returncode == 0, again.stderr
    assert "0 new files loaded, 3 skipped (already loaded)" in again.stdout + again.stderr
    assert len(_log(root)) == 3


def test_inbox_gives_the_same_rows_as_one_ingest_per_file(tmp_path):
    together = _project(tmp_path / "together")
    assert _cli("ingest", "--inbox", "--project", str(together)).returncode == 0
    apart = _project(tmp_path / "apart")
    for args in (["areas", "inbox/areas/areas_2021.csv"],
                 ["deaths", "inbox/deaths/deaths_local_2023.csv", "--mapping", "deaths_local"],
                 ["deaths", "inbox/deaths/registrations.csv"]):
        args[1] = str(apart / args[1])
        done = _cli("ingest", *args, "--project", str(apart))
        assert done.returncode == 0, done.stderr
    assert _log(together) == _log(apart)
    rows = _tables(together)
    assert rows == _tables(apart)
    assert len(rows["deaths"]) == 3 and len(rows["rejects"]) == 1


def test_inbox_of_one_dataset_loads_only_its_folder(tmp_path):
    root = _project(tmp_path / "p")
    done = _cli("ingest", "deaths", "--inbox", "--project", str(root))
    assert done.returncode == 0, done.stderr
    assert [(d, f) for d, f, *_ in _log(root)] == [("deaths", "deaths_local_2023.csv"),
                                                   ("deaths", "registrations.csv")]
    nothing = _cli("ingest", "lsoa_places", "--inbox", "--project", str(root))
    assert nothing.returncode == 0, nothing.stderr
    assert "no files waiting, nothing to load" in nothing.stdout + nothing.stderr


def test_the_monthly_runs_ingest_after_inbox_loads_nothing_again(tmp_path, monkeypatch):
    # run's step 1 is ingest_inbox too: after `ingest --inbox` it finds every file loaded.
    monkeypatch.setenv("EOLNEEDS_KEY", TEST_KEY)
    root = _project(tmp_path / "p")
    assert _cli("ingest", "--inbox", "--project", str(root)).returncode == 0
    from eolneeds.config import load_config
    from eolneeds.reporting import Reporter
    from eolneeds.run import ingest_inbox

    found, loaded, skipped = ingest_inbox(load_config(root), reporter=Reporter())
    assert (len(found), loaded) == (3, [])
    assert skipped == ["areas/areas_2021.csv", "deaths/deaths_local_2023.csv",
                       "deaths/registrations.csv"]
    assert len(_log(root)) == 3


def _error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.startswith("Error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr


def test_ingest_without_files_says_what_to_give_and_inbox_then_works(tmp_path):
    root = _project(tmp_path / "p")
    for args in ([], ["deaths"]):
        said = _error(_cli("ingest", *args, "--project", str(root)))
        assert "name the dataset and the files to load" in said
        assert "or give --inbox to load every file waiting" in said
    # The advice, literally: --inbox.
    done = _cli("ingest", "--inbox", "--project", str(root))
    assert done.returncode == 0, done.stderr
    assert len(_log(root)) == 3


@pytest.mark.parametrize("options", [["--encoding", "utf-8"], ["--mapping", "deaths_local"],
                                     ["--mapping", "deaths_local", "--replace"]])
def test_inbox_with_a_per_file_option_names_the_command_that_takes_it(tmp_path, options):
    root = _project(tmp_path / "p")
    said = _error(_cli("ingest", "--inbox", *options, "--project", str(root)))
    assert f"takes no {options[0]}" in said
    command = said.split("instead of --inbox: ", 1)[1].strip()
    assert command == "eolneeds ingest DATASET FILE " + " ".join(options)
    # The advice, literally, with the dataset and the file put in.
    file = root / "inbox" / "deaths" / "deaths_local_2023.csv"
    words = shlex.split(command)[2:]
    words[words.index("DATASET")] = "deaths"
    words[words.index("FILE")] = str(file)
    done = _cli("ingest", *words, "--project", str(root))
    assert done.returncode == 0, done.stderr
    assert _log(root)[-1][1:4] == ("deaths_local_2023.csv", "deaths_local", 3)


def test_inbox_with_files_too_says_choose_one(tmp_path):
    root = _project(tmp_path / "p")
    file = str(root / "inbox" / "deaths" / "registrations.csv")
    said = _error(_cli("ingest", "deaths", file, "--inbox", "--project", str(root)))
    assert "name the files to load, or give --inbox, not both" in said
    done = _cli("ingest", "deaths", file, "--project", str(root))  # without --inbox
    assert done.returncode == 0, done.stderr
    assert [f for _, f, *_ in _log(root)] == ["registrations.csv"]

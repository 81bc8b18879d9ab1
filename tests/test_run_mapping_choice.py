"""Which mapping reads a file when none is named (`run`, and `ingest` without --mapping),
and that every piece of advice about mappings works when followed literally (newcomer
finding 05: mappings written by `inspect --write-mapping NAME` under the names the README
shows were not used by `run`, and its advice looped).

The rule (inspect.mapping_for_file): a mapping whose name starts the file's name; else,
for a file in a national layout, the project's mapping with that preset (of several, the
one named as the preset, else as the dataset); else mappings/<dataset>.toml; else none.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eolneeds.cli import app
from eolneeds.config import load_config
from eolneeds.errors import InputDataError, UsageError
from eolneeds.ingest import ingest_files
from eolneeds.inspect import mapping_for_file
from eolneeds.reporting import RecordingReporter, Reporter
from tests.small_project import make_project
from tests.test_ingest import query, write
from tests.test_presets import PCMD

PRESET = 'dataset = "deaths"\npreset = "pcmd_deaths"\n'
ROW = "9434765919,20230105,20230110,85,2,E01000001,C349,I251,H,,\n"


@pytest.fixture(autouse=True)
def _key(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")


def _pcmd(folder: Path, name: str = "PCMD_QOQ_DEATHS_2023-24.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write(folder / name, ",".join(PCMD) + "\n" + ROW)


def _follow(advice: str, command: str) -> None:
    """Run the `eolneeds <command> ...` the advice gives, exactly as written."""
    found = re.search(rf"eolneeds ({command} .*?--project \S+)", advice)
    assert found, advice
    result = CliRunner().invoke(app, shlex.split(found.group(1)))
    assert result.exit_code == 0, result.output


def test_a_mapping_named_as_inspect_suggests_reads_the_national_file(tmp_path):  # type: ignore[no-untyped-def]
    config = make_project(tmp_path / "p", {"pcmd_deaths": PRESET,
                                           "local": 'dataset = "deaths"\n'})
    path = _pcmd(tmp_path / "p" / "inbox" / "deaths")
    assert mapping_for_file(config, "deaths", path) == "pcmd_deaths"
    # Only by name (no file to look at): no name fits.
    assert mapping_for_file(config, "deaths", path.name) is None
    ingest_files(config, "deaths", [path], reporter=Reporter())
    assert query(config, "SELECT mapping, rows_loaded FROM ingest_log") == [("pcmd_deaths", 1)]
    # A file in no national layout is not read by the preset's mapping.
    local = write(tmp_path / "other.csv", "person_id,date_of_death\nP1,2023-01-05\n")
    assert mapping_for_file(config, "deaths", local) is None


def test_the_layout_beats_the_dataset_mapping_but_not_a_name(tmp_path):  # type: ignore[no-untyped-def]
    config = make_project(tmp_path / "p", {"deaths": 'dataset = "deaths"\n',
                                           "mine": PRESET,
                                           "pcmd_qoq": 'dataset = "deaths"\n'})
    path = _pcmd(tmp_path)
    assert mapping_for_file(config, "deaths", path) == "pcmd_qoq"  # its name starts the file's
    other = _pcmd(tmp_path, "extract_2025.csv")
    assert mapping_for_file(config, "deaths", other) == "mine"  # not deaths.toml
    canonical = write(tmp_path / "x.csv", "person_id,date_of_death\nP1,2023-01-05\n")
    assert mapping_for_file(config, "deaths", canonical) == "deaths"


def test_several_mappings_of_the_layout_ask_and_the_advice_works(tmp_path):  # type: ignore[no-untyped-def]
    root = tmp_path / "p"
    config = make_project(root, {"first": PRESET, "second": PRESET})
    path = _pcmd(tmp_path)
    with pytest.raises(UsageError) as err:
        ingest_files(config, "deaths", [path], reporter=Reporter())
    assert err.value.exit_code == 2
    assert "first, second" in str(err.value)
    # Followed literally: rename the one to use to mappings/pcmd_deaths.toml.
    target = re.search(r"rename the one to use to (\S+\.toml)", str(err.value))
    assert target and Path(target.group(1)) == root / "mappings" / "pcmd_deaths.toml"
    (root / "mappings" / "second.toml").rename(target.group(1))
    config = load_config(root)
    ingest_files(config, "deaths", [path], reporter=Reporter())
    assert query(config, "SELECT mapping FROM ingest_log") == [("pcmd_deaths",)]


def _missing_column_advice(config, path: Path) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(InputDataError) as err:
        ingest_files(config, "deaths", [path], reporter=Reporter())
    return str(err.value)


def test_advice_to_write_the_preset_mapping_works(tmp_path):  # type: ignore[no-untyped-def]
    # A mapping chosen by its name that reads the file as canonical columns.
    root = tmp_path / "p"
    config = make_project(root, {"pcmd": 'dataset = "deaths"\n'})
    path = _pcmd(tmp_path)
    advice = _missing_column_advice(config, path)
    assert "--write-mapping pcmd_deaths" in advice
    _follow(advice, "inspect")
    _follow(advice, "ingest")
    assert query(load_config(root), "SELECT mapping FROM ingest_log") == [("pcmd_deaths",)]


def test_advice_when_the_mapping_file_exists_edits_it(tmp_path):  # type: ignore[no-untyped-def]
    root = tmp_path / "p"
    config = make_project(root, {"pcmd": 'dataset = "deaths"\n',
                                 "pcmd_deaths": 'dataset = "register"\n'})
    path = _pcmd(tmp_path)
    advice = _missing_column_advice(config, path)
    assert "--write-mapping" not in advice  # inspect would refuse: the file exists
    target = root / "mappings" / "pcmd_deaths.toml"
    assert f'set dataset = "deaths" and preset = "pcmd_deaths" in {target}' in advice
    target.write_text(PRESET, encoding="utf-8")
    _follow(advice, "ingest")


def test_advice_names_the_mapping_that_reads_the_layout(tmp_path):  # type: ignore[no-untyped-def]
    root = tmp_path / "p"
    config = make_project(root, {"pcmd": 'dataset = "deaths"\n', "mine": PRESET})
    path = _pcmd(tmp_path)
    advice = _missing_column_advice(config, path)
    assert "which mapping 'mine' reads" in advice and "--write-mapping" not in advice
    _follow(advice, "ingest")


def test_no_advice_ever_reloads_with_no_mapping(tmp_path):  # type: ignore[no-untyped-def]
    root = tmp_path / "p"
    config = make_project(root, {"mine": 'dataset = "deaths"\n[columns]\n'
                                         'person_id = "Patient"\n'})
    path = write(tmp_path / "extract.csv", "Patient,date_of_death,age,sex,lsoa_code,"
                 "underlying_cause,place_of_death\nP9,2023-01-05,85,F,E01000001,C34.9,home\n")
    ingest_files(config, "deaths", [path], mapping="mine", reporter=Reporter())
    reporter = RecordingReporter()
    [again] = ingest_files(config, "deaths", [path], reporter=reporter)
    assert again.skipped
    said = " ".join(f["text"] for name, f in reporter.events if name == "message")
    assert "already loaded (file 1) with mapping 'mine', skipped" in said
    assert "--replace" not in said and "no mapping" not in said


def test_inspect_write_mapping_says_whether_run_will_use_it(tmp_path):  # type: ignore[no-untyped-def]
    root = tmp_path / "p"
    make_project(root)
    path = _pcmd(tmp_path)
    result = CliRunner().invoke(app, ["inspect", str(path), "--write-mapping", "pcmd_deaths",
                                      "--project", str(root)])
    assert result.exit_code == 0, result.output
    assert "Next:" not in result.output  # the mapping is written: no advice to write it
    assert "`eolneeds run` reads PCMD_QOQ_DEATHS_2023-24.csv" in result.output
    # A mapping of no national layout under a name that fits no file: the rename that
    # makes `run` use it, followed literally, does.
    local = write(tmp_path / "extract.csv", "Patient,Died\n9434765919,2023-01-05\n")
    result = CliRunner().invoke(app, ["inspect", str(local), "--dataset", "deaths",
                                      "--write-mapping", "mine", "--project", str(root)])
    assert result.exit_code == 0, result.output
    rename = re.search(r"rename it to (\S+\.toml)", result.output)
    assert rename, result.output
    (root / "mappings" / "mine.toml").rename(rename.group(1))
    assert mapping_for_file(load_config(root), "deaths", local) == "deaths"


def test_national_files_whose_names_fit_no_mapping_are_read_by_their_layout(  # type: ignore[no-untyped-def]
        session_env: Path, tmp_path: Path):
    """The national sample's inbox with its files renamed as a supplier names them
    (QOQ_...): each is read with the project's mapping of its layout, as `run` reads its
    inbox (run.mapping_for_file is this choice)."""
    from eolneeds import run
    from eolneeds.sample_national import national_files, write_national_sample

    root = tmp_path / "project"
    write_national_sample(root, deaths=60, seed=5, reporter=Reporter())
    renamed = {}
    # Not the register (no national layout) nor the HES files (two mappings share the
    # preset, each with its own columns): those keep the names their mappings fit.
    for f in national_files("2025"):
        if f.preset and f.preset != "hes_apc":
            path = root / "inbox" / f.path
            renamed[path.rename(path.with_name("QOQ_" + path.name))] = (f.dataset, f.preset)
    config = load_config(root)
    presets_of = {m.name: m.preset for m in config.mappings.values()}
    for path, (dataset, preset) in renamed.items():
        chosen = run.mapping_for_file(config, dataset, path)
        assert chosen is not None and presets_of[chosen] == preset, path.name
    # Loaded as chosen (one file of each kind of text layout: the workbooks' choice is
    # the same code, and loading them is slow).
    todo = {"pcmd_deaths", "ecds_ae", "lsoa_place_lookup"}
    for path, (dataset, preset) in renamed.items():
        if preset in todo:
            todo.remove(preset)
            [res] = ingest_files(config, dataset, [path], reporter=Reporter())
            assert res.rows_loaded > 0 and presets_of[query(
                config, "SELECT mapping FROM ingest_log WHERE file_id = $id",
                {"id": res.file_id})[0][0]] == preset, path.name

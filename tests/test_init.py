"""`eolneeds init`: the scaffolded project loads, the key lives outside it, and an
existing project is never overwritten."""

from __future__ import annotations

import os
import stat
import sys
import tomllib
from pathlib import Path

import pytest

from eolneeds.config import DEFAULT_EMERGENCY_ADMIMETH, load_config, parse_mapping, resolve_key
from eolneeds.errors import UsageError
from eolneeds.project import KEY_DIR_ENV_VAR, init_project
from eolneeds.reporting import RecordingReporter, Reporter
from eolneeds.schema import DATASETS


@pytest.fixture
def key_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "keys"
    monkeypatch.setenv(KEY_DIR_ENV_VAR, str(folder))
    monkeypatch.delenv("EOLNEEDS_KEY", raising=False)
    return folder


def test_init_scaffolds_a_project_that_loads(key_dir: Path, tmp_path: Path):
    reporter = RecordingReporter()
    path = init_project(tmp_path / "eol-2026", reporter=reporter)
    root = tmp_path / "eol-2026"
    assert path == root.resolve() / "eolneeds.toml"
    for folder in ("mappings", "output", "archive", "logs"):
        assert (root / folder).is_dir()
    for dataset in DATASETS:
        assert (root / "inbox" / dataset).is_dir()
    config = load_config(root)
    # The written defaults are the dataclass defaults: the file documents them truly.
    assert config.disclosure.min_count == 8 and config.disclosure.rounding == 0
    assert config.periods.default == "financial_year" and config.periods.years == 3
    assert config.methods.emergency_admission_methods == DEFAULT_EMERGENCY_ADMIMETH
    assert config.outputs.per_place is True
    assert [p.code for p in config.places] == ["PLACE1", "PLACE2"]
    assert config.mappings == {}  # templates are *.toml.example, not live mappings
    assert "project_created" in reporter.names()


def test_every_section_is_present_and_commented(key_dir: Path, tmp_path: Path):
    text = init_project(tmp_path / "p", reporter=Reporter()).read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    assert set(raw) == {"project", "places", "privacy", "disclosure", "periods", "methods",
                        "outputs", "benchmarks"}
    for key in ("icb_name", "min_count", "rounding", "bed_days", "formats", "key_file"):
        line = next(line for line in text.splitlines() if line.startswith(key))
        assert "#" in line or key in ("icb_name", "key_file"), line
    assert text.count("#") > 30


def test_key_is_outside_the_project_private_and_not_in_the_config(key_dir: Path,
                                                                  tmp_path: Path):
    root = tmp_path / "proj"
    init_project(root, reporter=Reporter())
    config = load_config(root)
    assert config.key_file is not None
    assert config.key_file.parent == key_dir.resolve()
    assert config.key_file.name.startswith("proj-") and config.key_file.suffix == ".key"
    assert root.resolve() not in config.key_file.parents
    key = resolve_key(config)
    assert len(key) == 64  # 256 bits, hex
    assert key.decode() not in (root / "eolneeds.toml").read_text(encoding="utf-8")
    for path in root.rglob("*"):
        if path.is_file():
            assert key not in path.read_bytes()
    if sys.platform != "win32":
        assert stat.S_IMODE(os.stat(config.key_file).st_mode) == 0o600


def test_two_projects_get_different_keys(key_dir: Path, tmp_path: Path):
    a = load_config(init_project(tmp_path / "a", reporter=Reporter()).parent)
    b = load_config(init_project(tmp_path / "b", reporter=Reporter()).parent)
    assert a.key_file != b.key_file
    assert resolve_key(a) != resolve_key(b)


def test_refuses_to_init_over_an_existing_project(key_dir: Path, tmp_path: Path):
    root = tmp_path / "p"
    config_path = init_project(root, reporter=Reporter())
    config_path.write_text(config_path.read_text(encoding="utf-8") + "\n# mine\n",
                           encoding="utf-8")
    before = config_path.read_bytes()
    keys_before = sorted(key_dir.iterdir())
    with pytest.raises(UsageError, match="already exists"):
        init_project(root, reporter=Reporter())
    assert config_path.read_bytes() == before
    assert sorted(key_dir.iterdir()) == keys_before  # no stray key made either


def test_init_into_an_existing_folder_with_data_keeps_it(key_dir: Path, tmp_path: Path):
    root = tmp_path / "existing"
    (root / "inbox" / "deaths").mkdir(parents=True)
    (root / "inbox" / "deaths" / "d.csv").write_text("x\n", encoding="utf-8")
    init_project(root, reporter=Reporter())
    assert (root / "inbox" / "deaths" / "d.csv").read_text(encoding="utf-8") == "x\n"


def test_mapping_templates_parse_once_renamed(key_dir: Path, tmp_path: Path):
    root = tmp_path / "p"
    init_project(root, reporter=Reporter())
    templates = sorted((root / "mappings").glob("*.toml.example"))
    names = {p.name.removesuffix(".toml.example") for p in templates}
    assert set(DATASETS) <= names and {"hes_apc", "ecds_ae"} <= names
    for template in templates:
        name = template.name.removesuffix(".toml.example")
        raw = tomllib.loads(template.read_text(encoding="utf-8"))
        mapping = parse_mapping(name, raw, str(template))
        assert mapping.dataset in DATASETS
    # Renamed into place, a template is picked up as that dataset's mapping.
    (root / "mappings" / "hes_apc.toml.example").rename(root / "mappings" / "hes_apc.toml")
    assert load_config(root).mappings["hes_apc"].preset == "hes_apc"


def test_init_over_a_file_is_a_usage_error(key_dir: Path, tmp_path: Path):
    target = tmp_path / "afile"
    target.write_text("", encoding="utf-8")
    with pytest.raises(UsageError, match="is a file"):
        init_project(target, reporter=Reporter())

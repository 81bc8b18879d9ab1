"""Shared fixtures. Expensive ones are built once per session; every DuckDB connection a
fixture opens is closed before it yields (Windows file locks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eolneeds.config import KEY_ENV_VAR, ProjectConfig, load_config
from eolneeds.project import KEY_DIR_ENV_VAR
from eolneeds.reporting import Reporter

SAMPLE_DEATHS = 3000
SAMPLE_SEED = 7
SESSION_KEY = "test-session-pseudonymisation-key"


@pytest.fixture(scope="session")
def session_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """EOLNEEDS_KEY for the session, and new keys written to a temporary folder rather
    than ~/.eolneeds/keys. Yields that key folder."""
    key_dir = tmp_path_factory.mktemp("keys")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_ENV_VAR, SESSION_KEY)
        patch.setenv(KEY_DIR_ENV_VAR, str(key_dir))
        yield key_dir


@pytest.fixture(scope="session")
def sample_project(session_env: Path, tmp_path_factory: pytest.TempPathFactory
                   ) -> ProjectConfig:
    """A small generated project (3,000 deaths), every file ingested once."""
    from eolneeds.sample import ingest_sample, write_sample

    root = tmp_path_factory.mktemp("sample") / "project"
    write_sample(root, deaths=SAMPLE_DEATHS, seed=SAMPLE_SEED, reporter=Reporter())
    config = load_config(root)
    ingest_sample(config, reporter=Reporter())
    return config


@pytest.fixture(scope="session")
def assessed_sample(sample_project: ProjectConfig, tmp_path_factory: pytest.TempPathFactory):
    """One `assess` run of the sample project, every format, a pack per Place.

    Returns eolneeds.assess.AssessResult: .indicators (the table), .bundle (what the
    report writers received), .outputs (paths written), .out_dir, .headline_period."""
    from eolneeds.assess import AssessOptions, assess_project

    out = tmp_path_factory.mktemp("assessed") / "output"
    return assess_project(
        sample_project,
        AssessOptions(formats=["csv", "parquet", "html", "xlsx"], out=out, per_place=True),
        reporter=Reporter(),
    )

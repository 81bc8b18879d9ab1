"""Shared fixtures. Expensive ones are built once per session (once per xdist worker);
every DuckDB connection a fixture opens is closed before it yields (Windows file locks).

The suite runs in parallel (pytest-xdist, `-n auto --dist loadgroup` in pyproject.toml):
every test must work in any worker and any order, so no fixed paths outside tmp_path,
no ports, no os.chdir or os.environ changes except through monkeypatch."""

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


_WIDER_SCOPES = ("module", "class", "package")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order and group the tests for a parallel run.

    * Modules holding a test marked `slow` run first, each module still in one piece
      (a module split in two would build its module fixtures twice): the long tests then
      start while the many short ones fill the workers' time around them, instead of one
      long test starting last and running alone.
    * Under xdist (`--dist loadgroup`), the tests of a module that use one of its
      module- or class-scoped fixtures go to one worker (an xdist_group named after the
      module), so that fixture is built once; every other test is scheduled on its own.
    """
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    slow_first = sorted(modules.values(),
                        key=lambda group: not any(i.get_closest_marker("slow") for i in group))
    items[:] = [item for group in slow_first for item in group]
    if not config.pluginmanager.hasplugin("xdist"):
        return  # `-p no:xdist`: the xdist_group mark is not even registered
    for module, group in modules.items():
        for item in group:
            fixtureinfo = getattr(item, "_fixtureinfo", None)
            if fixtureinfo is not None and any(
                fixturedef.scope in _WIDER_SCOPES
                for fixturedefs in fixtureinfo.name2fixturedefs.values()
                for fixturedef in fixturedefs
            ):
                item.add_marker(pytest.mark.xdist_group(module))
                _name_group_in_node_id(config, item, module)


def _name_group_in_node_id(config: pytest.Config, item: pytest.Item, group: str) -> None:
    """Give the node id the "@group" suffix xdist's loadgroup scheduler groups by.

    pytest-xdist 3.8 appends it by setting item._nodeid, which pytest 9 no longer reads
    (the id lives in item._id, a NodeId): the suffix never appeared, every test was a
    group of its own, and each module fixture was built in every worker, and again
    whenever a worker came back to the module (test_suite_grouping.py catches that).
    Only in a worker of a loadgroup run, and only where xdist's own suffix is missing."""
    if not getattr(config.option, "loadgroup", False) or item.nodeid.endswith(f"@{group}"):
        return
    node_id = getattr(item, "_id", None)
    if node_id is not None and hasattr(node_id, "parse"):
        item._id = type(node_id).parse(f"{item.nodeid}@{group}")


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
    report writers received), .outputs (paths written), .out_dir, .headline_period,
    .publication (what it gives, for the publication ledger).

    Not kept in the shared database's ledger: every test then computes against a
    database with no publication on record, whatever ran before it (kept there, a later
    assess was protected against this one only where this fixture happened to be built
    first). A test about the ledger keeps it in a copy (tests/database_copy.py)."""
    from eolneeds.assess import AssessOptions, assess_project

    out = tmp_path_factory.mktemp("assessed") / "output"
    return assess_project(
        sample_project,
        AssessOptions(formats=["csv", "parquet", "html", "xlsx"], out=out, per_place=True,
                      keep=False),
        reporter=Reporter(),
    )


"""A one-Place project for the red-team tests of ingest and the monthly run, and the
stand-ins for validation and assessment where those are not what a test is about (their
outputs are tested elsewhere)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eolneeds import run as run_mod
from eolneeds.config import ProjectConfig, load_config

CONFIG = ('[project]\nicb_name = "Test ICB"\nicb_code = "QXX"\n\n'
          '[[places]]\ncode = "P1"\nname = "Place One"\n')
HEADER = "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death\n"


def one_place_project(root: Path, mappings: dict[str, str] | None = None, *,
                      extra: str = "") -> Path:
    """root (made if missing) with eolneeds.toml, one Place P1 of ICB QXX plus `extra`
    (more tables or Places), and mappings/<name>.toml for each of `mappings` (the folder
    made only when mappings are given, as a new user's project may not have one)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "eolneeds.toml").write_text(CONFIG + extra, encoding="utf-8")
    if mappings is not None:
        (root / "mappings").mkdir(exist_ok=True)
        for name, text in mappings.items():
            (root / "mappings" / f"{name}.toml").write_text(text, encoding="utf-8")
    return root


def make_project(root: Path, mappings: dict[str, str] | None = None, *,
                 extra: str = "") -> ProjectConfig:
    """one_place_project, loaded."""
    return load_config(one_place_project(root, mappings, extra=extra))


def small_project(tmp_path: Path, monkeypatch: Any) -> Path:
    """tmp_path/project with eolneeds.toml and inbox/deaths/, and the key set."""
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    root = one_place_project(tmp_path / "project")
    (root / "inbox" / "deaths").mkdir(parents=True)
    return root


def stand_in_assessment(config: Any, month: str, out: Path, *, reporter: Any) -> None:
    """`run`'s assessment, standing in: one file written, nothing for the ledger."""
    (out / "indicators.csv").write_text("x\n", encoding="utf-8")


def stand_in_validation_and_assessment(monkeypatch: Any) -> None:
    """`run` validates nothing and its assessment writes one file."""
    monkeypatch.setattr(run_mod, "_validate", lambda config, *, reporter: [])
    monkeypatch.setattr(run_mod, "_assess", stand_in_assessment)

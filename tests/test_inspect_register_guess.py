"""A SystmOne-style register report (free-text headers chosen by whoever built the report;
newcomer2 finding 06): inspect recognises it as a register without --dataset and maps
person_id to the column of NHS numbers, by its name or, when no name says so, by its
values; the mapping it writes then loads every row."""

from __future__ import annotations

from pathlib import Path

import pytest

from eolneeds.config import load_config
from eolneeds.ingest import ingest_files
from eolneeds.inspect import guess_dataset, inspect_file, mapping_text
from eolneeds.reporting import Reporter
from tests.small_project import make_project
from tests.test_ingest import write

# Valid NHS numbers (modulus 11 check digit), spaced as SystmOne prints them
NUMBERS = ["943 476 5919", "943 476 5870", "401 023 2137", "943 476 5005"]


@pytest.fixture(autouse=True)
def _key(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")


def _report(path: Path, identifier: str) -> Path:
    rows = [f"{n},C83010,{d} Feb 2024,Usual place of residence,N,Y"
            for n, d in zip(NUMBERS, (16, 3, 21, 9), strict=True)]
    return write(path, "\n".join([
        f"{identifier},Registered practice,Date added to palliative care register,"
        "Preferred place of death,DNACPR,Advance care plan", *rows]) + "\n")


@pytest.mark.parametrize("identifier", ["Patient NHS number", "S1 client ref"])
def test_a_systmone_register_is_recognised_and_its_nhs_numbers_mapped(
        tmp_path: Path, identifier: str) -> None:
    path = _report(tmp_path / "PalCare_SystmOne_2026-02.csv", identifier)
    found = inspect_file(path)
    assert found.dataset == "register"
    text = mapping_text(found)
    assert f'person_id = "{identifier}"' in text
    assert "nhs_number = true" in text
    assert 'date_added = "Date added to palliative care register"' in text
    # The mapping as written loads every row.
    config = make_project(tmp_path / "p", {"PalCare_SystmOne": text})
    [result] = ingest_files(load_config(config.root), "register", [path],
                            mapping="PalCare_SystmOne", reporter=Reporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (4, 4, 0)


def test_two_columns_of_nhs_numbers_are_not_guessed_between(tmp_path: Path) -> None:
    """Which of two is the patient's is not for inspect to guess: person_id stays '?'."""
    rows = [f"{n},{n},{d} Feb 2024" for n, d in zip(NUMBERS, (16, 3, 21, 9), strict=True)]
    path = write(tmp_path / "two.csv", "\n".join(
        ["Ref A,Ref B,Date added to palliative care register", *rows]) + "\n")
    found = inspect_file(path)
    assert found.dataset is None
    assert '# person_id = "?"' in mapping_text(found, dataset="register")


def test_names_alone_do_not_make_a_register_without_an_identifier() -> None:
    assert guess_dataset(["Registered practice", "Date added to palliative care register"]) \
        is None

"""A SystmOne report's register (newcomer2 finding 06): free-text headers such as
'Patient NHS number' and 'Date added to palliative care register'. inspect recognises
the dataset without --dataset and maps the NHS number column it checked to person_id,
so the mapping it writes loads the file as it is."""

from __future__ import annotations

import pytest

from eolneeds import inspect as insp
from eolneeds.config import load_config
from eolneeds.ingest import ingest_files
from eolneeds.reporting import RecordingReporter


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret-at-all")


def test_systmone_register_is_recognised_and_its_mapping_loads(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "eolneeds.toml").write_text(
        '[project]\nicb_name = "T"\nicb_code = "QXX"\n\n[[places]]\ncode = "P1"\n'
        'name = "One"\n', encoding="utf-8")
    path = tmp_path / "PalCare_SystmOne_2026-02.csv"
    path.write_text(
        "Patient NHS number,Registered practice,Date added to palliative care register,"
        "Preferred place of death,DNACPR,Advance care plan\r\n"
        "943 476 5919,C83010,16 Feb 2024,Usual place of residence,N,Y\r\n"
        "401 023 2137,C83010,09 Nov 2024,Hospice,Y,N\r\n"
        "401 023 2145,C83011,03 Jan 2025,Nursing home,Y,Y\r\n", encoding="utf-8")
    found = insp.inspect_file(path)
    assert found.dataset == "register"
    written = insp.write_mapping(found, "PalCare_SystmOne", root).read_text(encoding="utf-8")
    assert 'person_id = "Patient NHS number"' in written
    assert "nhs_number = true" in written
    [result] = ingest_files(load_config(root), "register", [path],
                            reporter=RecordingReporter())
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 3, 0)


def test_nhs_number_named_anywhere_in_a_header_is_the_identifier():
    for header in ("Patient NHS number", "NHS No. of patient", "Patient NHS No",
                   "NHSNumber"):
        assert insp.guess_columns("register", [header, "Date added"])["person_id"] == header
    assert "person_id" not in insp.guess_columns("register", ["Patient name", "Date added"])

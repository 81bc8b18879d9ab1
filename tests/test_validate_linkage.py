"""validate warns when a register or activity file links to no death (newcomer2 finding
10): deaths identified by NHS number beside spells identified by NCDR's own pseudonym
share no person, and the indicators counting from the spells would read 0."""

from __future__ import annotations

from eolneeds.config import load_config
from eolneeds.ingest import ingest_files
from eolneeds.reporting import RecordingReporter
from eolneeds.validate import UNLINKED_FILE_ROWS, validate_project

DEATHS = "person_id,date_of_death,age,sex,lsoa_code,underlying_cause,place_of_death"
ACTIVITY = "person_id,activity_type,start_date,end_date"


def test_a_file_linking_to_no_death_is_warned_about(tmp_path, monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret-at-all")
    root = tmp_path / "p"
    root.mkdir()
    (root / "eolneeds.toml").write_text(
        '[project]\nicb_name = "T"\nicb_code = "QXX"\n\n[[places]]\ncode = "P1"\n'
        'name = "One"\n', encoding="utf-8")
    n = UNLINKED_FILE_ROWS
    deaths = tmp_path / "deaths.csv"
    deaths.write_text(DEATHS + "\n" + "".join(
        f"D{i},05/01/2025,80,F,E01000001,C34.9,Hospital\n" for i in range(n)),
        encoding="utf-8")
    # NCDR's pseudonyms: no person among the deaths.
    pseudo = tmp_path / "ncdr_spells.csv"
    pseudo.write_text(ACTIVITY + "\n" + "".join(
        f"X{i},emergency_admission,01/12/2024,03/12/2024\n" for i in range(n)),
        encoding="utf-8")
    # One person among the deaths: a file of mostly other people, as extracts are.
    linked = tmp_path / "community.csv"
    linked.write_text(ACTIVITY + "\nD1,community_contact,01/12/2024,\n" + "".join(
        f"Y{i},community_contact,01/12/2024,\n" for i in range(n)), encoding="utf-8")
    config = load_config(root)
    for dataset, path in (("deaths", deaths), ("activity", pseudo), ("activity", linked)):
        ingest_files(config, dataset, [path], reporter=RecordingReporter())
    report = validate_project(config, reporter=RecordingReporter())
    said = [w for w in report.warnings if "none of its people is among the deaths" in w]
    assert len(said) == 1, report.warnings
    assert said[0].startswith(f"ncdr_spells.csv (activity, {n:,} rows): ")
    assert "Der_Pseudo_NHS_Number" in said[0]

"""`eolneeds inspect`: what a file holds, the preset that reads it, a mapping that ingests.

Run on every file of a national-layout sample (sample --layout national), whose layouts
are the national ones as published; identifiers must never be shown."""

from __future__ import annotations

import csv
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from eolneeds.cli import app
from eolneeds.config import load_config
from eolneeds.errors import InputDataError, UsageError
from eolneeds.ingest import ingest_files
from eolneeds.inspect import find_header_row, inspect_file, mapping_text
from eolneeds.reporting import Reporter
from eolneeds.sample_national import national_files, write_national_sample

FILES = national_files("2025")


@pytest.fixture(scope="module")
def national(session_env: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("inspect") / "project"
    write_national_sample(root, deaths=300, seed=11, reporter=Reporter())
    return root


def _fresh_project(national: Path, target: Path) -> Path:
    """A copy of the national sample with no mappings: what a new user starts from."""
    shutil.copytree(national, target)
    shutil.rmtree(target / "mappings")
    (target / "mappings").mkdir()
    return target


@pytest.mark.parametrize("f", FILES, ids=[Path(f.path).name for f in FILES])
def test_inspect_names_the_preset_of_each_national_layout(national: Path, f) -> None:  # type: ignore[no-untyped-def]
    found = inspect_file(national / "inbox" / f.path)
    assert found.preset == f.preset
    assert found.dataset == f.dataset
    text = found.render_text()
    if f.preset:
        assert f'preset = "{f.preset}"' in text
    # No NHS number from the file is ever printed.
    raw = (national / "inbox" / f.path).read_bytes()
    if not f.path.endswith(".xlsx"):
        numbers = set(re.findall(rb"\b9\d{9}\b", raw))
        assert not any(n.decode() in text for n in numbers)


def test_what_inspect_finds_in_the_awkward_files(national: Path) -> None:
    inbox = national / "inbox"
    deaths = inspect_file(inbox / "deaths" / "pcmd_deaths_2023-04_2025-03.csv")
    assert (deaths.encoding, deaths.delimiter) == ("cp1252", ",")
    spells = inspect_file(inbox / "activity" / "hes_apc_spells.txt")
    assert (spells.encoding, spells.delimiter) == ("utf-8-sig", "|")
    assert spells.headers[1] == "NHS_NUMBER"  # the BOM is not part of the first header
    discharge = next(c for c in spells.columns if c.name == "DISDATE")
    assert 0 < discharge.filled < spells.rows  # blank for some who died in hospital
    register = inspect_file(inbox / "register" / "register_epaccs.xlsx")
    assert [s.name for s in register.sheets] == ["About", "Register"]
    assert (register.sheet, register.header_row) == ("Register", 5)
    added = next(c for c in register.columns if c.name == "Date Added")
    assert added.excel_dates > 0 and added.text_dates.get("%d/%m/%Y", 0) > 0
    nhs = next(c for c in register.columns if c.name == "NHS Number")
    assert nhs.identifier and nhs.examples == [] and nhs.nhs_valid == register.rows - 1
    population = inspect_file(inbox / "population" / "ons_population_mid-2025.xlsx")
    assert population.sheet == "Mid-2025 LSOA 2021" and population.header_row == 4
    old = inspect_file(inbox / "population" / "ons_population_mid-2023.xlsx")
    assert old.header_row == 5
    assert {"Mid-2023 Males", "Mid-2023 Females"} <= set(old.data_sheets)


def test_a_column_of_nhs_numbers_is_hidden_whatever_its_name(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("ref,when\n9434765919,2025-01-01\n943 476 5870,2025-01-02\n",
                    encoding="utf-8")
    found = inspect_file(path)
    assert found.columns[0].identifier
    text = found.render_text()
    assert "9434765919" not in text and "943 476 5870" not in text
    assert "2 of 2 pass the NHS number check" in text


def test_phone_numbers_and_long_digit_runs_are_never_shown(tmp_path: Path) -> None:
    # Found by the red team: a 'Mobile' column was shown as '07700900123'.
    path = tmp_path / "x.csv"
    path.write_text("Mobile,Contact,Tel,GP\n07700900123,020 7946 0958 ext 12,01632960001,"
                    "A81001\n", encoding="utf-8")
    text = inspect_file(path).render_text()
    assert "07700900123" not in text and "7946 0958" not in text
    assert "01632960001" not in text
    assert "'A81001'" in text  # a practice code is not personal


def test_a_deaths_file_is_guessed_as_deaths_not_as_a_lookup() -> None:
    # It holds lsoa_code and place_of_death, which also fit lsoa_places (two of its three
    # columns): the dataset reading the most columns wins.
    from eolneeds.inspect import guess_dataset

    headers = ["person_id", "date_of_death", "age", "sex", "lsoa_code", "underlying_cause",
               "place_of_death"]
    assert guess_dataset(headers) == "deaths"
    assert guess_dataset(["lsoa_code", "place"]) == "lsoa_places"


def test_a_hidden_sheet_is_not_taken_for_the_data() -> None:
    # Red team: inspect chose the hidden old copy (and would write sheet = "Old extract").
    found = inspect_file(Path(__file__).parent / "bad_inputs" / "hidden_sheet.xlsx")
    assert found.sheet == "Deaths"
    assert "'Old extract'                    2 rows, 7 columns  (hidden)" in found.render_text()


def test_header_row_is_found_below_title_rows() -> None:
    rows = [("Title",), (None, None), ("Produced by", None, None), ("a", "b", "c"),
            (1, 2, 3)]
    assert find_header_row(rows) == 4
    assert find_header_row([(None,), ()]) is None
    # A national layout's header wins over a wider table of notes above it.
    notes = [("Note", "Text", "More", "Even more", "x", "y", "z")] * 2
    assert find_header_row([*notes, ("LSOA21CD", "Place name"), ("E01000001", "A")]) == 3


@pytest.mark.parametrize("f", FILES, ids=[Path(f.path).name for f in FILES])
def test_the_mapping_inspect_writes_ingests(national: Path, tmp_path: Path, f) -> None:  # type: ignore[no-untyped-def]
    project = _fresh_project(national, tmp_path / "p")
    path = project / "inbox" / f.path
    result = CliRunner().invoke(app, ["inspect", str(path), "--write-mapping", "mine",
                                      "--project", str(project)])
    assert result.exit_code == 0, result.output
    mapping = (project / "mappings" / "mine.toml").read_text(encoding="utf-8")
    if f.preset:
        assert f'preset = "{f.preset}"' in mapping
    if f.dataset not in ("lsoa_places", "deprivation"):
        # Load the areas first, as a user would (deaths and activity are counted by them).
        for g in FILES:
            if g.dataset in ("lsoa_places", "deprivation"):
                name = _write_preset_mapping(project, g)
                ingest_files(load_config(project), g.dataset, [project / "inbox" / g.path],
                             mapping=name, reporter=Reporter())
    config = load_config(project)
    [res] = ingest_files(config, f.dataset, [path], mapping="mine", reporter=Reporter())
    assert res.rows_loaded > 0
    assert res.rows_read == res.rows_loaded + res.rows_rejected
    # Nothing is quarantined but the register's Total row, the CSDS appointments that
    # did not take place (Attendance_Status other than 5 or 6: counted from the file)
    # and epraccur's organisations other than GP practices (prescribing setting, the
    # 26th field, other than 4):
    # deaths whose NHS number fails its check, or aged 999, are loaded
    # (test_national_acceptance.py counts them).
    expected = 1 if f.dataset == "register" else 0
    if f.preset == "csds_contacts":
        with path.open(encoding="utf-8", newline="") as fh:
            expected = sum(1 for row in csv.DictReader(fh)
                           if row["Attendance_Status"] not in ("5", "6"))
        assert expected > 0
    if f.preset == "ods_epraccur":
        with path.open(encoding="utf-8", newline="") as fh:
            expected = sum(1 for row in csv.reader(fh) if row[25] != "4")
        assert expected > 0
    assert res.rows_rejected == expected


def _write_preset_mapping(project: Path, f) -> str | None:  # type: ignore[no-untyped-def]
    if f.preset is None:
        return None
    name = f"preset_{f.preset}"
    (project / "mappings" / f"{name}.toml").write_text(
        f'dataset = "{f.dataset}"\npreset = "{f.preset}"\n', encoding="utf-8")
    return name


def test_register_mapping_is_filled_in_for_the_user(national: Path) -> None:
    found = inspect_file(national / "inbox" / "register" / "register_epaccs.xlsx")
    text = mapping_text(found)
    for line in ('dataset = "register"', 'sheet = "Register"', "header_row = 5",
                 "nhs_number = true", 'date_format = "%d/%m/%Y"', 'person_id = "NHS Number"',
                 'date_added = "Date Added"', 'gp_practice = "Practice Code"',
                 'preferred_place_of_death = "Preferred Place of Death"', 'dnacpr = "DNACPR"',
                 'advance_care_plan = "ACP in Place"',
                 '"Usual residence (own home)" = "home"'):
        assert line in text, line


def _advised_commands(message: str) -> tuple[list[str], list[str]]:
    """The arguments of the two commands the "use the preset" advice gives: the inspect
    that writes the mapping, then the ingest."""
    write = re.search(r"\(eolneeds (inspect .+?) does it\)", message)
    ingest = re.search(r"then run eolneeds (ingest .+)$", message)
    assert write and ingest, message
    return shlex.split(write[1]), shlex.split(ingest[1])


def _eolneeds(cwd: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """The installed command, run as a user would from `cwd`."""
    command = Path(sys.executable).with_name("eolneeds")
    return subprocess.run([str(command), *args], cwd=cwd, capture_output=True, text=True,
                          encoding="utf-8", check=False)


@pytest.mark.parametrize("name", ["activity/hes_apc_spells.txt",  # its columns say
                                  "deprivation/iod_file1_IoD2025.xlsx"])  # its sheet says
def test_ingest_without_a_mapping_names_the_preset_and_the_advice_works(
        national: Path, tmp_path: Path, name: str) -> None:
    # A project folder with a space in its name, and a user in another folder who names
    # the file relative to where they are: the advice must run as printed.
    project = _fresh_project(national, tmp_path / "my project")
    here = tmp_path / "elsewhere"
    here.mkdir()
    given = f"../my project/inbox/{name}"
    dataset = name.split("/")[0]
    failed = _eolneeds(here, ["ingest", dataset, given, "--project", str(project)])
    assert failed.returncode == 3, failed.stderr
    [message] = [line for line in failed.stderr.splitlines() if line.startswith("Error:")]
    national_name = re.search(r"national (\w+) layout", message)[1]  # type: ignore[index]
    assert f'preset = "{national_name}"' in message
    write, ingest = _advised_commands(message)
    # Follow it literally, from the same folder.
    wrote = _eolneeds(here, write)
    assert wrote.returncode == 0, wrote.stderr
    assert (project / "mappings" / f"{national_name}.toml").is_file()
    # inspect --write-mapping prints the same ingest command.
    printed = re.search(r"check it, then eolneeds (ingest .+)$", wrote.stdout.strip(), re.M)
    assert printed and shlex.split(printed[1]) == ingest, wrote.stdout
    done = _eolneeds(here, ingest)
    assert done.returncode == 0, done.stderr
    [(read, loaded)] = duckdb.connect(str(load_config(project).database_path), read_only=True
                                      ).execute("SELECT rows_read, rows_loaded FROM ingest_log"
                                                ).fetchall()
    assert loaded == read > 0


def test_write_mapping_needs_a_project_and_never_overwrites(national: Path,
                                                            tmp_path: Path) -> None:
    path = national / "inbox" / "register" / "register_epaccs.xlsx"
    runner = CliRunner()
    outside = runner.invoke(app, ["inspect", str(path), "--write-mapping", "reg",
                                  "--project", str(tmp_path)])
    assert isinstance(outside.exception, UsageError)
    assert "not an eolneeds project" in str(outside.exception)
    project = _fresh_project(national, tmp_path / "p")
    args = ["inspect", str(path), "--write-mapping", "reg", "--project", str(project)]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert isinstance(again.exception, UsageError)
    assert "already exists" in str(again.exception)


def test_inspect_of_a_missing_or_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["inspect", str(tmp_path / "nope.csv")])
    assert isinstance(missing.exception, UsageError)
    (tmp_path / "empty.csv").write_bytes(b"")
    empty = runner.invoke(app, ["inspect", str(tmp_path / "empty.csv")])
    assert isinstance(empty.exception, InputDataError)
    assert "empty" in str(empty.exception)


def test_gzip_csv_with_title_lines_and_a_starter_mapping(tmp_path: Path) -> None:
    import gzip

    text = ("Hospice activity extract\r\nProduced 01/11/2026\r\n"
            "NHS No;Contact date;Type of contact;Patient surname\r\n"
            "943 476 5919;03/10/2026;Specialist palliative;Smith\r\n"
            "943 476 5870;04/10/2026;Hospice inpatient;Jones\r\n")
    path = tmp_path / "hospice.csv.gz"
    path.write_bytes(gzip.compress(text.encode("cp1252")))
    found = inspect_file(path)
    assert (found.gzipped, found.delimiter, found.header_row) == (True, ";", 3)
    assert found.rows == 2
    shown = found.render_text()
    assert "Smith" not in shown and "943 476" not in shown  # personal values hidden
    mapping = mapping_text(found, dataset="activity")
    # Not pinned: ingest finds it below the title lines (newcomer2 finding 08)
    assert "# header_row = 3" in mapping and 'person_id = "NHS No"' in mapping
    assert 'start_date = "Contact date"' in mapping and 'date_format = "%d/%m/%Y"' in mapping
    assert 'activity_type = "Type of contact"' in mapping
    assert '"Specialist palliative" = "specialist_palliative_contact"' in mapping
    assert '"Hospice inpatient"' not in mapping  # a value ingest already knows
    assert "end_date" not in mapping.split("[columns]")[1]  # optional and absent: left out
    register = mapping_text(inspect_file(path), dataset="register")
    # Required and no header names it: proposed from the only column of dates, marked
    # as a guess for the user to check.
    line = next(x for x in register.splitlines() if "date_added" in x)
    assert line.startswith('date_added = "Contact date"') and "guessed" in line, line


def test_iod2019_and_a_2011_lookup_are_recognised_and_ingest(session_env: Path,
                                                             tmp_path: Path) -> None:
    root = tmp_path / "p19"
    write_national_sample(root, deaths=60, seed=2, reporter=Reporter(), iod="2019")
    shutil.rmtree(root / "mappings")
    (root / "mappings").mkdir()
    for f in national_files("2019"):
        if f.dataset not in ("lsoa_places", "deprivation"):
            continue
        path = root / "inbox" / f.path
        found = inspect_file(path)
        assert found.preset == f.preset
        result = CliRunner().invoke(app, ["inspect", str(path), "--write-mapping", f.dataset,
                                          "--project", str(root)])
        assert result.exit_code == 0, result.output
        [res] = ingest_files(load_config(root), f.dataset, [path], mapping=f.dataset,
                             reporter=Reporter())
        assert res.rows_loaded == res.rows_read > 0


@pytest.mark.parametrize("rel", ["population/ons_population_mid-2023.xlsx",
                                 "population/ons_population_mid-2025.xlsx",
                                 "deprivation/iod_file1_IoD2025.xlsx"])
def test_a_national_workbook_without_its_preset_names_it_and_the_advice_works(
        national: Path, tmp_path: Path, rel: str) -> None:
    project = _fresh_project(national, tmp_path / "p")
    path = project / "inbox" / rel
    dataset = rel.split("/")[0]
    with pytest.raises(InputDataError) as caught:
        ingest_files(load_config(project), dataset, [path], reporter=Reporter())
    preset = inspect_file(path).preset
    assert preset is not None
    message = str(caught.value)
    assert f'preset = "{preset}"' in message and f"--mapping {preset}" in message
    # Follow the advice as written.
    write, ingest = _advised_commands(message)
    runner = CliRunner()
    assert runner.invoke(app, write).exit_code == 0
    assert runner.invoke(app, ingest).exit_code == 0
    [(read, loaded)] = duckdb.connect(str(load_config(project).database_path), read_only=True
                                      ).execute("SELECT rows_read, rows_loaded FROM ingest_log"
                                                ).fetchall()
    assert loaded == read > 0



def _one_place_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project of one Place, its key in the environment."""
    project = tmp_path / "p"
    project.mkdir()
    monkeypatch.setenv("EOLNEEDS_KEY", "test-key-not-secret")
    (project / "eolneeds.toml").write_text(
        '[project]\nicb_name = "T"\nicb_code = "QXX"\n[[places]]\ncode = "P1"\nname = "One"\n',
        encoding="utf-8")
    (project / "mappings").mkdir()
    return project

def test_a_gp_system_register_export_is_mapped_and_ingests(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A clinical system's search exported as CSV (cp1252, CRLF): title lines, NHS numbers
    # printed in groups, dates in three shapes, the practice as "Organisation code".
    project = _one_place_project(tmp_path, monkeypatch)
    path = tmp_path / "palliative_register.csv"
    path.write_bytes("\r\n".join([
        '"Palliative Care Register"', '"Run date: 01-Dec-2026 09:15"', '"Population count: 3"',
        "",
        '"NHS Number","Date added to register","Organisation code","Preferred place of death",'
        '"DNACPR decision","Advance care plan"',
        '"943 476 5005","01-Mar-2024","A81001","Home","Yes","Y"',
        '"943 476 5013","15/03/2024","A81001","Care home (nursing)","No","N"',
        '"943 476 5021","2024-04-02","A81002","Hospice","Not known",""',
    ]).encode("cp1252") + b"\r\n")
    result = CliRunner().invoke(app, ["inspect", str(path), "--write-mapping", "register",
                                      "--project", str(project)])
    assert result.exit_code == 0, result.output
    written = (project / "mappings" / "register.toml").read_text(encoding="utf-8")
    assert 'gp_practice = "Organisation code"' in written
    [res] = ingest_files(load_config(project), "register", [path], mapping="register",
                         reporter=Reporter())
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (3, 3, 0)
    config = load_config(project)
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        assert con.execute(
            "SELECT CAST(date_added AS VARCHAR), gp_practice, preferred_place_of_death, dnacpr, "
            "advance_care_plan FROM register ORDER BY source_row").fetchall() == [
            ("2024-03-01", "A81001", "home", True, True),
            ("2024-03-15", "A81001", "care_home", False, False),
            ("2024-04-02", "A81002", "hospice", None, None)]
    finally:
        con.close()


@pytest.mark.parametrize("header", ["Usual GP practice", "Registered GP Practice", "GP Practice",
                                    "Practice ODS code"])
def test_the_practice_of_a_register_export_is_guessed_by_its_usual_names(header: str) -> None:
    from eolneeds.inspect import guess_columns

    found = guess_columns("register", ["NHS Number", "Date Added", header,
                                       "Preferred Place of Death"])
    assert found["gp_practice"] == header


def test_a_community_contacts_extract_is_mapped_by_its_team_type(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A community services extract (CSDS-like) says what each contact was by the team
    that made it: inspect maps it as the activity type, recoding the words it can."""
    project = _one_place_project(tmp_path, monkeypatch)
    path = tmp_path / "csds_contacts.csv"
    path.write_bytes(b"Person_ID,Contact_Date,Team_Type,Care_Contact_Duration\r\n"
                     b"9434765005,2024-04-01,District nursing,30\r\n"
                     b"9434765013,02/04/2024,Specialist palliative care,45\r\n")
    result = CliRunner().invoke(app, ["inspect", str(path), "--write-mapping", "csds",
                                      "--project", str(project)])
    assert result.exit_code == 0, result.output
    written = (project / "mappings" / "csds.toml").read_text(encoding="utf-8")
    assert 'dataset = "activity"' in written and 'activity_type = "Team_Type"' in written
    [res] = ingest_files(load_config(project), "activity", [path], mapping="csds",
                         reporter=Reporter())
    assert (res.rows_loaded, res.rows_rejected) == (2, 0)
    con = duckdb.connect(str(load_config(project).database_path), read_only=True)
    try:
        assert con.execute("SELECT activity_type FROM activity ORDER BY source_row"
                           ).fetchall() == [("community_contact",),
                                            ("specialist_palliative_contact",)]
    finally:
        con.close()


def test_a_usual_gp_column_of_clinicians_names_is_not_mapped_as_the_practice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An EMIS Web search export's 'Usual GP' is the clinician ('Dr Smith, Jane'), not the
    practice: mapped as gp_practice (newcomer3's first try), every register entry loaded
    with a doctor's name as its practice, published as one and matching no practice of
    the ODS lookup. The mapping leaves it out and says why; a column of ODS codes under
    the same header is still mapped."""
    project = _one_place_project(tmp_path, monkeypatch)
    for name, gps in (("emis_register", ("Dr Smith, Jane", "Dr Patel, Ravi")),
                      ("codes_register", ("A81001", "a81002"))):
        path = tmp_path / f"{name}.csv"
        path.write_text(
            '"Palliative care register"\r\n"Search run on 01-Dec-2026"\r\n\r\n'
            '"NHS Number","Usual GP","Date Added"\r\n'
            f'"943 476 5919","{gps[0]}","01/05/2024"\r\n'
            f'"401 023 2137","{gps[1]}","02/05/2024"\r\n', encoding="utf-8")
        result = CliRunner().invoke(app, ["inspect", str(path), "--write-mapping", name,
                                          "--dataset", "register", "--project", str(project)])
        assert result.exit_code == 0, result.output
    written = (project / "mappings" / "emis_register.toml").read_text(encoding="utf-8")
    assert '\ngp_practice = ' not in written
    assert '# gp_practice = "Usual GP"  # not mapped: its values are not ODS practice codes' \
        in written
    # Literally as written, the mapping ingests: the entries load, with no practice.
    config = load_config(project)
    [res] = ingest_files(config, "register", [tmp_path / "emis_register.csv"],
                         mapping="emis_register", reporter=Reporter())
    assert (res.rows_loaded, res.rows_rejected) == (2, 0)
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        assert con.execute("SELECT DISTINCT gp_practice FROM register").fetchall() == [(None,)]
    finally:
        con.close()
    codes = (project / "mappings" / "codes_register.toml").read_text(encoding="utf-8")
    assert '\ngp_practice = "Usual GP"\n' in codes


def test_a_date_column_mostly_yyyymmdd_gets_no_date_format_that_would_lose_the_rest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dates in several formats in one column (two systems' exports pasted together):
    three yyyymmdd, one dd/mm/yyyy. inspect wrote the most common, date_format =
    "%Y%m%d", under which '15/05/2024' is no date: the register entry was quarantined,
    a death then 'not on a register' (newcomer3). yyyymmdd and ISO are read whatever
    the format, so the mapping names the most common format that is not (here
    dd/mm/yyyy). Also a register export with no practice column
    at all (the practice check must not assume one)."""
    project = _one_place_project(tmp_path, monkeypatch)
    path = tmp_path / "register_mixed.csv"
    path.write_text("NHS Number,Date Added\r\n943 476 5919,20240501\r\n"
                    "401 023 2137,20240502\r\n987 654 3210,20240503\r\n"
                    "450 557 7104,15/05/2024\r\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["inspect", str(path), "--write-mapping", "register_mixed",
                                      "--dataset", "register", "--project", str(project)])
    assert result.exit_code == 0, result.output
    written = (project / "mappings" / "register_mixed.toml").read_text(encoding="utf-8")
    assert 'date_format = "%d/%m/%Y"' in written and "%Y%m%d" not in written
    config = load_config(project)
    [res] = ingest_files(config, "register", [path], mapping="register_mixed",
                         reporter=Reporter())
    assert (res.rows_loaded, res.rows_rejected) == (4, 0)
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        assert con.execute("SELECT CAST(max(date_added) AS VARCHAR) FROM register"
                           ).fetchall() == [("2024-05-15",)]
    finally:
        con.close()


def test_an_emis_date_column_with_month_names_is_known_as_dates(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EMIS Web exports write dates as '20-Jun-2023', among dd/mm/yyyy ones typed in.
    inspect counted only the dd/mm/yyyy ones as dates (half the column), so it did not
    see the register's 'Date' column as its date added and the mapping it wrote could
    not ingest (newcomer3). A month name is read whatever the date_format, so it counts
    as a date and is never made the mapping's format (which would lose the others)."""
    project = _one_place_project(tmp_path, monkeypatch)
    path = tmp_path / "emis_pal_register.csv"
    path.write_text('"Palliative care register"\r\n"Search run on 01-Dec-2026"\r\n\r\n'
                    '"NHS Number","Date of Birth","Date","Code Term"\r\n'
                    '"943 476 5919","01-Jan-1940","20-Jun-2023","Palliative care"\r\n'
                    '"401 023 2137","02-Feb-1941","21-Jun-2023","Palliative care"\r\n'
                    '"987 654 3210","03-Mar-1942","13/08/2024","Palliative care"\r\n',
                    encoding="utf-8")
    result = CliRunner().invoke(app, ["inspect", str(path), "--write-mapping", "emis_pal",
                                      "--dataset", "register", "--project", str(project)])
    assert result.exit_code == 0, result.output
    assert "2 text dates %d-%b-%Y" in result.output
    written = (project / "mappings" / "emis_pal.toml").read_text(encoding="utf-8")
    assert 'date_added = "Date"' in written and "%d-%b-%Y" not in written
    config = load_config(project)
    [res] = ingest_files(config, "register", [path], mapping="emis_pal", reporter=Reporter())
    assert (res.rows_loaded, res.rows_rejected) == (3, 0)

"""Finding and creating projects: require_project(), init_project() and the
pseudonymisation key that lives outside the project folder."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from eolneeds.config import CONFIG_FILE, ProjectConfig, find_project, load_config
from eolneeds.errors import UsageError
from eolneeds.reporting import Reporter
from eolneeds.schema import DATASETS

KEY_DIR_ENV_VAR = "EOLNEEDS_KEY_DIR"
# Project sub-folders: inbox/<dataset>/ is what `eolneeds run` ingests; output/ holds the
# dated reports; archive/ the inputs already loaded; logs/ the run logs.
PROJECT_FOLDERS = ("mappings", "inbox", "output", "archive", "logs")


def require_project(project: Path | None) -> ProjectConfig:
    """The project for commands that change or inspect one (ingest, validate, run)."""
    root = find_project(project)
    if root is None:
        raise UsageError(
            f"no project here (no {CONFIG_FILE} in {Path.cwd()}) — pass --project DIR, "
            "or create one with `eolneeds init DIR` or `eolneeds sample DIR`"
        )
    return load_config(root)


def key_directory() -> Path:
    """Where new keys go: $EOLNEEDS_KEY_DIR, else ~/.eolneeds/keys."""
    env = os.environ.get(KEY_DIR_ENV_VAR)
    return Path(env).expanduser() if env else Path.home() / ".eolneeds" / "keys"


def create_key_file(project_name: str, *, directory: Path | None = None) -> Path:
    """Write a new random pseudonymisation key (256 bits, hex) readable by the owner only.

    The key sits outside the project folder so that the database and outputs can be
    shared or backed up without it; losing it means new data no longer links to old, so
    the file name carries the project name to make it easy to find and back up.
    """
    folder = directory if directory is not None else key_directory()
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", project_name).strip("-") or "project"
    path = folder / f"{stem}-{secrets.token_hex(4)}.key"
    # O_EXCL: never overwrite an existing key; 0o600 from the start, not chmod afterwards.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return path.resolve()


def toml_string(value: str) -> str:
    """A TOML basic string (paths on Windows contain backslashes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def init_project(directory: Path, *, reporter: Reporter) -> Path:
    """Scaffold a project in `directory`; returns the path of its eolneeds.toml."""
    root = Path(directory).expanduser().resolve()
    config_path = root / CONFIG_FILE
    if config_path.exists():
        raise UsageError(
            f"{config_path} already exists — init never overwrites a project; choose a new "
            "folder, or edit the existing eolneeds.toml"
        )
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} is a file, not a folder — choose a folder for the project")
    root.mkdir(parents=True, exist_ok=True)
    for folder in PROJECT_FOLDERS:
        (root / folder).mkdir(exist_ok=True)
    for dataset in DATASETS:
        (root / "inbox" / dataset).mkdir(exist_ok=True)

    key_path = create_key_file(root.name)
    config_path.write_text(config_template(root.name, key_path), encoding="utf-8")
    for name, text in MAPPING_TEMPLATES.items():
        target = root / "mappings" / f"{name}.toml.example"
        if not target.exists():
            target.write_text(text, encoding="utf-8")
    reporter.event("project_created", project=str(root), key_file=str(key_path))
    reporter.message(
        f"Created {config_path}. Pseudonymisation key: {key_path} — back it up and keep it "
        "outside the project; without it new data will not link to old."
    )
    return config_path


def config_template(name: str, key_path: Path) -> str:
    return f"""\
# eolneeds project configuration (read with Python's tomllib).
# Precedence: a command-line option beats this file, which beats the built-in default.
# Every key below is shown with its default; delete or change what you need.
# Unknown keys are an error, so a typo never silently falls back to a default.

[project]
icb_name = "{name}"                 # shown on every report page (required)
icb_code = "ICB"                    # area_code of the ICB rows in the indicator table
contact = "Contact: add [project] contact to eolneeds.toml"   # printed on the reports
lsoa_vintage = "2021"               # "2011" or "2021": which LSOAs your areas file uses

# One [[places]] entry per Place: `code` as it appears in the areas file's `place`
# column, `name` as readers know it. Add as many as you have.
[[places]]
code = "PLACE1"
name = "First Place"

[[places]]
code = "PLACE2"
name = "Second Place"

[privacy]
# The pseudonymisation key (created by `eolneeds init`, outside this folder). NHS numbers
# and other person identifiers are replaced by a keyed hash at ingest. Back the key up:
# the same key is needed every month for new data to link to old. The environment
# variable EOLNEEDS_KEY overrides this file.
key_file = {toml_string(str(key_path))}

[disclosure]
min_count = 8        # counts 1 to min_count-1 are shown as *; 8 = the NHS "1-7" rule; 0 = off
rounding = 0         # 0 = none; 5 or 10 = round other counts (NHS hospital statistics: 5)
secondary = true     # also hide a second cell where a total would reveal a hidden one

[periods]
default = "financial_year"   # "financial_year" (April-March) or "rolling"
months = 12                  # length of a rolling period
years = 3                    # financial years reported (trends need 3 or more)

[methods]
# ADMIMETH codes counted as emergency admissions (2B and 2C are not settled nationally).
emergency_admission_methods = ["21", "22", "23", "24", "25", "2A", "2B", "2C", "2D", "28"]
# DiUPR counts all deaths; true leaves out external causes (V01-Y89, U50.9) as the
# national indicator does, at the price of withholding many Place deprivation gradients.
diupr_exclude_external_causes = false
bed_days = "inclusive_days"            # or "nights" (day cases count 0)
# unit_cost_per_bed_day = 350.0        # used when activity rows carry no cost (default: none)

[outputs]
formats = ["html", "xlsx", "csv", "parquet"]   # any of these; --format overrides
per_place = true      # one Excel pack per Place as well as the ICB pack

[benchmarks]
# England values to show beside the Places and the ICB, by indicator id, e.g.
# pod_hospital_pct = 43.4
# pod_home_pct = 28.7

# What-if scenarios (modelled per Place and ICB: people affected, bed days and cost
# freed, with a range and the assumptions). Kinds: identification (target =
# "best_place" or a %), emergency_admissions (reduction_pct), usual_place_of_death
# (target_pct). Uncomment to use:
# [[scenarios]]
# id = "identify_like_best"
# kind = "identification"
# target = "best_place"

# Column mappings: one file per local extract in mappings/NAME.toml (see the
# *.toml.example templates there). Without `--mapping NAME`, `ingest` and `eolneeds run`
# read a file of dataset X with the mapping whose name starts the file name
# (mappings/hes_apc.toml reads inbox/activity/hes_apc_2025-10.csv), else for a file in a
# national layout the mapping with its preset, else mappings/X.toml.
"""


def _mapping_template(dataset: str, body: str, name: str | None = None) -> str:
    return f"""\
# Mapping for the {dataset} dataset. Rename this file to mappings/{name or dataset}.toml (or
# any NAME.toml) and edit it to describe your extract. A file without --mapping (and
# every file `eolneeds run` takes from inbox/{dataset}/) is read with the mapping whose
# name starts its file name, else for a national layout the mapping with its preset,
# else mappings/{dataset}.toml.
# Keys: dataset, preset, format (auto|csv|xlsx|parquet), encoding (auto|utf-8|cp1252),
# delimiter (auto|comma|tab|semicolon|pipe), sheet, header_row (Excel's row number),
# date_format (default "%d/%m/%Y"; yyyy-mm-dd is always accepted), nhs_number,
# [columns] canonical = "Your column", [recode.COLUMN] "your value" = "canonical value",
# [defaults] canonical = constant.
dataset = "{dataset}"
{body}"""


MAPPING_TEMPLATES: dict[str, str] = {
    "deaths": _mapping_template("deaths", """\
# A national death extract (PCMD / civil registration layout) needs only the preset:
preset = "pcmd_deaths"

# A local layout instead (delete the preset line above):
# nhs_number = true                 # person_id holds NHS numbers: check and pseudonymise
# [columns]
# person_id = "NHS Number"
# date_of_death = "Date of Death"
# age = "Age"
# sex = "Gender"
# lsoa_code = "LSOA"
# underlying_cause = "Underlying Cause"
# contributory_causes = ["Cause 2", "Cause 3"]
# place_of_death = "Place of Death"
# [recode.place_of_death]
# "Own Home" = "home"
# "Nursing Home" = "care_home"
"""),
    "register": _mapping_template("register", """\
nhs_number = true
date_format = "%d/%m/%Y"
[columns]
person_id = "NHS Number"
date_added = "Date Added"
gp_practice = "Practice Code"
preferred_place_of_death = "Preferred Place of Death"
dnacpr = "DNACPR"                   # Y/N, Yes/No, 1/0, True/False are all understood
advance_care_plan = "ACP"
[recode.preferred_place_of_death]
"Usual residence (own home)" = "home"
"""),
    "activity": _mapping_template("activity", """\
# Canonical column names need no [columns]. Presets for national layouts:
#   preset = "hes_apc"   admitted patient care spells (ADMIMETH -> emergency/elective)
#   preset = "ecds_ae"   A&E attendances
nhs_number = true
# [columns]
# person_id = "NHS Number"
# activity_type = "Contact Type"
# start_date = "Contact Date"
# [recode.activity_type]
# "District Nursing" = "community_contact"
# [defaults]
# activity_type = "community_contact"
"""),
    "hes_apc": _mapping_template("activity", name="hes_apc", body="""\
preset = "hes_apc"
"""),
    "ecds_ae": _mapping_template("activity", name="ecds_ae", body="""\
preset = "ecds_ae"
"""),
    "population": _mapping_template("population", """\
# The ONS mid-year estimates workbook by LSOA (either layout) needs only the preset,
# and `year = 2022` when neither the sheet names nor the titles say the year:
# preset = "ons_population"
# A long table instead:
# Columns: lsoa_code, year, sex, age_band ('0-4' ... '85-89', '90+'), population.
# [columns]
# lsoa_code = "LSOA21CD"
# population = "Count"
"""),
    "areas": _mapping_template("areas", """\
# Columns: lsoa_code, place (a [[places]] code), imd_decile (1 = most deprived),
# rural_urban (optional), lsoa_vintage (optional: 2011 or 2021).
# [columns]
# lsoa_code = "LSOA21CD"
# imd_decile = "IMD Decile"
"""),
    "lsoa_places": _mapping_template("lsoa_places", """\
# An LSOA-to-Place lookup: an LSOA column (LSOA21CD, LSOA11CD, LSOA code ...) and a
# Place column (Place, Place code, Place name, LAD22CD, LAD24NM ...) holding a Place
# code or name of [[places]] in eolneeds.toml. With it and a deprivation file, no
# areas file is needed.
preset = "lsoa_place_lookup"
"""),
    "deprivation": _mapping_template("deprivation", """\
# English Indices of Deprivation File 1 (IoD2019 or IoD2025), as published: all of
# England (LSOAs outside the ICB are expected).
preset = "iod_file1"
"""),
    "benchmarks": _mapping_template("benchmarks", """\
# The OHID Fingertips data download (CSV) of the Palliative and End of Life Care
# profile, as it comes; Fingertips indicator ids are mapped to eolneeds ids by the preset.
preset = "fingertips"
"""),
    "projections": _mapping_template("projections", """\
# Columns: area_code (a Place code or an LSOA code), year, sex, age_band, population.
# [columns]
# area_code = "Place"
"""),
    "practices": _mapping_template("practices", """\
# GP practice -> Primary Care Network: NHS England's ODS ePCN workbook (epcn.xlsx) as
# published; the preset reads its "PCN Core Partner Details" sheet. Optional: without
# it, practices are reported but their PCN is 'unknown'.
preset = "ods_epcn"
"""),
}


def check_output_folder(out: Path, root: Path | None) -> None:
    """Refuse an output folder before any work, rather than fail (or do harm) after it:
    a path through a file, a folder that cannot be written, or a place in the project
    that eolneeds itself reads or empties (inbox/: the next `run` would ingest the report
    and indicator table as extracts and stop; the temporary folder: emptied by the next
    command)."""
    from eolneeds.db import TEMP_FOLDER

    where = Path(out)
    existing = where
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        what = "is a file" if existing == where else f"is inside {existing}, which is a file"
        raise UsageError(f"--out {out} {what} — name a folder for the outputs (it is "
                         "created if it does not exist)")
    if root is not None:
        resolved = _resolved(where)
        for folder, why in ((Path(root) / "inbox", "the next `eolneeds run` would read the "
                             "outputs as extracts"),
                            (Path(root) / TEMP_FOLDER, "every command empties it")):
            if resolved.is_relative_to(_resolved(folder)):
                raise UsageError(
                    f"--out {out} is inside the project's {folder.name} folder ({why}) — name "
                    f"a folder outside it, e.g. --out {Path(root) / 'reports'}")
    try:
        where.mkdir(parents=True, exist_ok=True)
        probe = where / f".eolneeds-write-test-{os.getpid()}-{secrets.token_hex(4)}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write there ({exc.strerror}) — name a folder "
                         "you can write to") from None


def _resolved(path: Path) -> Path:
    """`path` with its links followed; a loop of links (an inbox linked to itself) as it
    is written: it holds nothing, and resolve() raised RuntimeError, exit 1, at the end of
    a monthly run's work."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        return Path(os.path.abspath(path))

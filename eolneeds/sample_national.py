"""`eolneeds sample DIR --layout national`: the synthetic ICB in the national layouts.

The same people, deaths, registers and activity as the ordinary sample (sample.py makes
them), written the way the national files are published and exported, noise included,
so that onboarding real files can be rehearsed and tested end to end:

* deaths: two death registration (PCMD) extracts, cp1252 with CRLF line ends, one with
  `DEC_NHS_NUMBER`, `LSOA_OF_RESIDENCE_CODE` and yyyymmdd dates, the other with
  `NHS_NUMBER`, `LSOA21CD` and dd/mm/yyyy dates, then the last months from ONS
  (tab-delimited, the Public Health Mortality File's names: `NHSNO`, `DOD`, `AGEC` with
  `AGECUNIT`, `LSOAR`, `FIC10UND`, place of death as `CESTRSS` / `NHSIND` /
  `ESTTYPED`); a few deaths with an NHS number whose
  check digit fails and a few with age 999 (both must still count), and two deaths of
  residents of a neighbouring area (loaded, outside the ICB);
* hospital spells (SUS/HES APC): pipe-delimited UTF-8 with a BOM, `NHS_NUMBER`,
  `TREATMENT_FUNCTION_CODE`, quoted thousands-separated costs ("1,234.50"), a blank
  discharge date for some who died in hospital; every third spell instead in a HES APC
  episode extract as DARS sends it (comma CSV, `NEWNHSNO`, `EPIORDER`, `EPISTART` /
  `EPIEND`, `DISDATE` on a spell's last episode only, `1800-01-01` for no date), some
  spells split into two or three episodes: each spell must count once, with the bed
  days of the whole spell; some deaths in hospital with no discharge date on the last
  episode;
* A&E (ECDS): `NHSNUMBER`, `ARRIVALDATE`;
* community care contacts (CSDS): `NHS_Number`, `Contact_Date`, `Attendance_Status`,
  `Team_Type_Code`: every community contact (5, or 6; district nursing, team type 12),
  plus appointments cancelled or missed (2, 3, 4, 7, blank), some for people with no
  contact in their last 90 days, and the specialist palliative care team's contacts
  (team type 47);
* ODS's GP practice list epraccur: no header row, 27 columns, CRLF; the sample's
  practices (prescribing setting 4), one closed in 2015, and a walk-in centre, an
  out-of-hours service, a hospice and a prison (other settings, not read); and the ePCN
  workbook, where two practices are in no PCN;
* a palliative care register workbook: the data on the second sheet, title rows above
  the header, Excel dates with some typed as text, a Total row;
* ONS mid-year population estimates by LSOA: the current layout (cover, contents and
  notes sheets, the data sheet last, header on row 4, F0..F90 and M0..M90) for some
  years and the older one (a sheet per sex, header on row 5, 0..89 and 90+) for others,
  with LSOAs outside the ICB as in the all-England file;
* English Indices of Deprivation File 1 (IoD2025, or IoD2019 with --iod 2019), LSOAs
  outside the ICB included;
* ONS 2022-based subnational population projections (SNPP) as the workbook is laid out:
  cover, contents and notes sheets, then a sheet per sex (and persons) under title rows,
  one row per local authority and single year of age (90+ in one row, an All ages row),
  a column per year 2022 ... 2047; the Places are local authorities named as in
  eolneeds.toml, with a neighbouring authority and England beside them;
* an LSOA-to-Place lookup holding Place names (resolved to codes at ingest).

Ground truth. truth.json is counted here from what the generator decided (who died when,
where, of what; which emergency admissions and register entries each person has), never
from the files or from ingest: per Place and financial year, deaths, deaths by place
(religious establishments with care homes, as published), deaths with 3+ emergency
admissions in the last 90 days, deaths on a register before death, deaths whose
underlying cause is on the palliative care need list, hospital bed days in the last 90
days (each spell, admission to discharge, clipped to the window), deaths with an
attended community contact in the last 90 days, and deaths with specialist palliative
care in the last year (a team type 47 contact, or a treatment function 315 spell); the
population and the projected population per Place, year, sex and five-year band; each
LSOA's Place and IMD decile. A death whose NHS number fails its check cannot be linked,
so it counts as a death but never as on a register or admitted.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from eolneeds.config import CONFIG_FILE, DEFAULT_EMERGENCY_ADMIMETH
from eolneeds.errors import UsageError
from eolneeds.project import create_key_file
from eolneeds.reporting import Reporter
from eolneeds.sample import (
    _GROWTH,
    _POD,
    BLOCK,
    ICB_CODE,
    LIVING_PER_DEATH,
    MAPPINGS,
    PLACES,
    POPULATION_YEARS,
    Block,
    Geography,
    _population_for,
    _stream,
    make_block,
    make_geography,
    nhs_numbers,
    pcn_lookup_rows,
    sample_config_text,
    write_pcn_lookup,
)
from eolneeds.schema import AGE_BANDS_ESP, DATASETS

IOD_VINTAGES = ("2019", "2025")
# Population years written in the older ONS layout (a sheet per sex); the rest in the
# current one. One year per layout at least, so both are onboarded in every project.
OLD_LAYOUT_YEARS = (2023, 2024)
DEATHS_SPLIT = date(2025, 4, 1)  # deaths before this day in the first extract
ONS_DEATHS_FROM = date(2026, 4, 1)  # deaths from this day in the ONS-layout extract
NEIGHBOUR_LSOAS = 40  # LSOAs of a neighbouring area in the all-England files
ENGLAND_LSOAS = {"2019": 32_844, "2025": 33_755}  # LSOAs ranked by each IoD
_STREAM_NOISE = 4
TRUTH_FILE = "truth.json"
SNPP_YEARS = tuple(range(2022, 2048))  # the 2022-based projections' years, as published

# Truth measures, and the indicator whose numerator each one is.
TRUTH_INDICATORS: dict[str, str] = {
    "deaths": "deaths",
    "pod_home": "pod_home_pct",
    "pod_care_home": "pod_care_home_pct",
    "pod_hospital": "pod_hospital_pct",
    "pod_hospice": "pod_hospice_pct",
    "pod_other": "pod_other_pct",
    "ea_last90_3plus": "ea_last90_3plus_pct",
    "on_register": "on_register_pct",
    "need_deaths": "pc_need_pct",
    "bed_days": "bed_days_last90_mean",
    "community_last90": "community_last90_pct",
    "spc_last_year": "spc_last_year_pct",
}


@dataclass(frozen=True)
class NationalFile:
    dataset: str
    path: str  # under inbox/
    mapping: str | None  # mappings/NAME.toml, also the start of the file name
    preset: str | None
    layout: str  # one line for the inbox README


def national_files(iod: str) -> tuple[NationalFile, ...]:
    """Every file of a national-layout sample, in ingest order."""
    iod_name = "IoD2019" if iod == "2019" else "IoD2025"
    vintage = "2011" if iod == "2019" else "2021"
    old = [NationalFile("population", f"population/ons_population_mid-{y}.xlsx",
                        "ons_population", "ons_population",
                        "ONS LSOA estimates, older layout: a sheet per sex, 0..89, 90+")
           for y in OLD_LAYOUT_YEARS]
    new = [NationalFile("population", f"population/ons_population_mid-{y}.xlsx",
                        "ons_population", "ons_population",
                        "ONS LSOA estimates, current layout: data sheet last, F0..M90")
           for y in POPULATION_YEARS if y not in OLD_LAYOUT_YEARS]
    return (
        NationalFile("lsoa_places", f"lsoa_places/lsoa_place_lookup_lsoa{vintage}.csv",
                     "lsoa_place_lookup", "lsoa_place_lookup",
                     "local LSOA-to-Place lookup, Place names"),
        NationalFile("deprivation", f"deprivation/iod_file1_{iod_name}.xlsx", "iod_file1",
                     "iod_file1",
                     f"English Indices of Deprivation File 1 ({iod_name}), all England"),
        *old, *new,
        NationalFile("projections", "projections/ons_projections_2022-based.xlsx",
                     "ons_projections", "ons_projections",
                     "ONS 2022-based SNPP: a sheet per sex, single years, 2022..2047"),
        NationalFile("practices", "practices/epraccur.csv", "epraccur", "ods_epraccur",
                     "ODS epraccur: no header row, 27 columns, walk-in, OOH, prison rows"),
        NationalFile("practices", "practices/epcn.xlsx", "epcn", "ods_epcn",
                     "ODS ePCN workbook: PCNDetails, then PCN Core Partner Details"),
        NationalFile("deaths", "deaths/pcmd_deaths_2023-04_2025-03.csv", "pcmd_deaths",
                     "pcmd_deaths", "PCMD, cp1252 CRLF, LSOA_OF_RESIDENCE_CODE, yyyymmdd"),
        NationalFile("deaths", "deaths/pcmd_deaths_2025-04_2026-03.csv", "pcmd_deaths",
                     "pcmd_deaths", "PCMD, cp1252 CRLF, NHS_NUMBER, LSOA21CD, dd/mm/yyyy"),
        NationalFile("deaths", "deaths/ons_deaths_2026-04_2026-10.txt", "ons_deaths",
                     "pcmd_deaths", "ONS deaths (PHMF names), tab, CESTRSS/NHSIND/ESTTYPED"),
        NationalFile("register", "register/register_epaccs.xlsx", "register_epaccs", None,
                     "EPaCCS workbook: second sheet, title rows, text dates, Total row"),
        NationalFile("activity", "activity/hes_apc_spells.txt", "hes_apc", "hes_apc",
                     "SUS/HES APC spells: pipe, UTF-8 BOM, quoted costs \"1,234.50\""),
        NationalFile("activity", "activity/hes_episodes_dars.csv", "hes_episodes", "hes_apc",
                     "HES APC episodes (DARS): NEWNHSNO, EPIORDER, DISDATE on the last"),
        NationalFile("activity", "activity/ecds_ae_attendances.csv", "ecds_ae", "ecds_ae",
                     "ECDS A&E attendances: NHSNUMBER, ARRIVALDATE"),
        NationalFile("activity", "activity/csds_contacts_2022-2026.csv", "csds_contacts",
                     "csds_contacts", "CSDS care contacts: Attendance_Status, DNAs included"),
    )


_REGISTER_WORKBOOK = """\
# The EPaCCS register workbook: the table is on the sheet "Register" under three title
# rows; dates are Excel dates, some typed as text dd/mm/yyyy.
"""


def national_mappings(iod: str) -> dict[str, str]:
    """The mappings of a national-layout sample: a preset and little else."""
    return {
        "pcmd_deaths": """\
# Death registrations (PCMD): the preset finds DEC_NHS_NUMBER / NHS_NUMBER,
# DEC_LSOA / LSOA_OF_RESIDENCE_CODE / LSOA21CD and reads yyyymmdd or dd/mm/yyyy dates.
dataset = "deaths"
preset = "pcmd_deaths"
""",
        "ons_deaths": """\
# Death registrations from ONS (Public Health Mortality File names: NHSNO, DOD, AGEC,
# LSOAR, FIC10UND, CESTRSS / NHSIND / ESTTYPED): the same preset reads them.
dataset = "deaths"
preset = "pcmd_deaths"
""",
        "hes_apc": """\
# Hospital spells (SUS/HES APC), pipe-delimited with a BOM.
dataset = "activity"
preset = "hes_apc"

[columns]
person_id = "NHS_NUMBER"
""",
        "hes_episodes": """\
# HES APC episodes as DARS sends them: the preset counts each spell once (EPIORDER).
dataset = "activity"
preset = "hes_apc"
""",
        "ecds_ae": """\
# A&E attendances (ECDS).
dataset = "activity"
preset = "ecds_ae"
""",
        "csds_contacts": """\
# Community care contacts (CSDS): attended contacts only (Attendance_Status 5, 6); the
# others are quarantined, each with the recode that would count it.
dataset = "activity"
preset = "csds_contacts"
""",
        # The same register as the standard sample's, exported as a workbook.
        "register_epaccs": _REGISTER_WORKBOOK + MAPPINGS["register"].split("\n", 1)[1]
        .replace('dataset = "register"\n',
                 'dataset = "register"\nsheet = "Register"\nheader_row = 5\n'),
        "ons_population": """\
# ONS mid-year population estimates by LSOA, either layout; the year comes from the
# sheet name (Mid-2025 ...).
dataset = "population"
preset = "ons_population"
""",
        "iod_file1": f"""\
# English Indices of Deprivation File 1 (IoD{iod}): IMD decile per LSOA, all England.
dataset = "deprivation"
preset = "iod_file1"
""",
        "ons_projections": """\
# ONS subnational population projections (2022- or 2018-based) as published: a column
# per year, summed into five-year bands; local authorities named as Places are Places.
dataset = "projections"
preset = "ons_projections"
""",
        "epraccur": """\
# ODS's GP practice list as published (epraccur.csv, no header row): GP practices only
# (prescribing setting 4), with no PCN; load the ePCN workbook too to give them PCNs.
dataset = "practices"
preset = "ods_epraccur"
""",
        "epcn": """\
# NHS England's ePCN workbook as published: each practice's PCN (the sheet "PCN Core
# Partner Details" is found by its headers).
dataset = "practices"
preset = "ods_epcn"
""",
        "lsoa_place_lookup": """\
# The local LSOA-to-Place lookup; Place names are resolved to the codes in eolneeds.toml.
dataset = "lsoa_places"
preset = "lsoa_place_lookup"
""",
    }


# ---------------------------------------------------------------------------------------
# Entry point


def write_national_sample(directory: Path, *, deaths: int, seed: int, reporter: Reporter,
                          iod: str = "2025", key_file: Path | None = None) -> dict[str, Any]:
    """Write a ready project in the national layouts with its truth.json; return the truth."""
    if iod not in IOD_VINTAGES:
        raise UsageError(f"--iod {iod!r}: use {' or '.join(IOD_VINTAGES)}")
    if deaths < 1:
        raise UsageError("--deaths must be at least 1")
    root = Path(directory).expanduser().resolve()
    if (root / CONFIG_FILE).exists():
        raise UsageError(
            f"{root / CONFIG_FILE} already exists — `eolneeds sample` writes a new project; "
            "choose an empty folder"
        )
    root.mkdir(parents=True, exist_ok=True)
    reporter.event("sample_started", directory=str(root), deaths=deaths, seed=seed,
                   layout="national")
    (root / "mappings").mkdir(exist_ok=True)
    for name, text in national_mappings(iod).items():
        (root / "mappings" / f"{name}.toml").write_text(text, encoding="utf-8")
    inbox = root / "inbox"
    for dataset in {*DATASETS, *(f.dataset for f in national_files(iod))}:
        (inbox / dataset).mkdir(parents=True, exist_ok=True)

    geo = make_geography(deaths, seed)
    blocks_count = (deaths + BLOCK - 1) // BLOCK
    living_per_block = round(LIVING_PER_DEATH * BLOCK)
    used = deaths + blocks_count * living_per_block
    numbers = nhs_numbers(used + 10)
    with reporter.progress("Generating deaths", total=deaths) as step:
        blocks: list[Block] = []
        for b in range(blocks_count):
            blocks.append(make_block(geo, seed, b, min(BLOCK, deaths - b * BLOCK), b * BLOCK,
                                     deaths + b * living_per_block, numbers))
            step(blocks[-1].deaths.height)
    data = _Data(
        deaths=pl.concat([b.deaths for b in blocks]),
        register=pl.concat([b.register for b in blocks]),
        hes=pl.concat([b.hes for b in blocks]),
        ecds=pl.concat([b.ecds for b in blocks]),
        community=pl.concat([b.community for b in blocks]),
        facts=pl.concat([b.facts for b in blocks]),
    )
    rng = _stream(seed, _STREAM_NOISE)
    noise = _choose_noise(rng, data.facts.height)
    neighbours = _neighbour_lsoas(geo)
    files = {f.path: f for f in national_files(iod)}
    vintage = "2011" if iod == "2019" else "2021"

    _write_lookup(inbox / f"lsoa_places/lsoa_place_lookup_lsoa{vintage}.csv", geo, vintage)
    _write_iod(inbox / next(p for p in files if p.startswith("deprivation/")), geo,
               neighbours, iod, rng)
    for year in POPULATION_YEARS:
        path = inbox / f"population/ons_population_mid-{year}.xlsx"
        if year in OLD_LAYOUT_YEARS:
            _write_population_old(path, geo, neighbours, year)
        else:
            _write_population_current(path, geo, neighbours, year)
    _write_projections(inbox / "projections/ons_projections_2022-based.xlsx", geo)
    practices, not_practices = _write_epraccur(inbox / "practices/epraccur.csv", geo)
    # The first practice of two Places is in no PCN: in epraccur, not in the ePCN file.
    no_pcn = [sorted(set(geo.practice[geo.place == i].tolist()))[0] for i in (0, 3)]
    write_pcn_lookup(inbox / "practices/epcn.xlsx", geo, leave_out=no_pcn)
    fresh = [str(x) for x in numbers[used:used + 2]]
    _write_deaths(inbox / "deaths", data.deaths, noise, neighbours, fresh)
    blank_disdate, split, episode_blank = _write_hes(inbox / "activity/hes_apc_spells.txt",
                                      inbox / "activity/hes_episodes_dars.csv", data, rng)
    _write_ecds(inbox / "activity/ecds_ae_attendances.csv", data.ecds)
    not_attended = _write_csds(inbox / "activity/csds_contacts_2022-2026.csv", data, rng)
    text_dates = _write_register(inbox / "register/register_epaccs.xlsx", data.register)
    (inbox / "README.txt").write_text(_inbox_readme(iod), encoding="utf-8")

    truth = {
        "generator": "eolneeds sample --layout national",
        "seed": seed,
        "deaths_requested": deaths,
        "iod": iod,
        "indicators": TRUTH_INDICATORS,
        "noise": {
            "deaths_failing_nhs_check": len(noise.bad_nhs),
            "deaths_age_999": len(noise.age_999),
            "deaths_outside_icb": len(fresh),
            "spells_blank_discharge_in_hospital_death": blank_disdate,
            "csds_contacts_not_attended": not_attended,
            "spells_in_several_episodes": split,
            "episode_spells_blank_discharge_in_hospital_death": episode_blank,
            "register_text_dates": text_dates,
            "epraccur_not_gp_practices": not_practices,
        },
        # The GP practices epraccur lists: the sample's (every death's practice, open
        # throughout) and one that closed in 2015.
        "practices": practices,
        "pcn_need_deaths": pcn_need_truth(data.facts, geo, no_pcn),
        "rows": truth_rows(data, noise),
        "deaths_by_month": deaths_by_month(data.facts),
        "population": population_truth(geo),
        "projections": projections_truth(geo),
        "areas": [{"lsoa_code": str(code), "place": PLACES[int(i)].code, "imd_decile": int(d)}
                  for code, i, d in zip(geo.lsoa, geo.place, geo.decile, strict=True)],
    }
    (root / TRUTH_FILE).write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    if key_file is None:
        key_file = create_key_file(f"sample-{root.name}")
    config = sample_config_text(key_file)
    if vintage == "2011":
        config = config.replace('lsoa_vintage = "2021"', 'lsoa_vintage = "2011"')
    config = config.replace(
        "# it is made up. See inbox/README.txt",
        "# it is made up. The files are in the national layouts (truth.json holds the counts\n"
        "# they should give). See inbox/README.txt")
    (root / CONFIG_FILE).write_text(config, encoding="utf-8")
    reporter.event("sample_written", directory=str(root), deaths=deaths, layout="national")
    reporter.message(f"Wrote a synthetic project with {deaths:,} deaths in the national "
                     f"layouts to {root} (expected counts in {TRUTH_FILE})")
    return truth


@dataclass
class _Data:
    deaths: pl.DataFrame
    register: pl.DataFrame
    hes: pl.DataFrame
    ecds: pl.DataFrame
    community: pl.DataFrame  # canonical: community, specialist palliative, hospice rows
    facts: pl.DataFrame


@dataclass
class _Noise:
    bad_nhs: np.ndarray  # death row indices whose NHS number gets a wrong check digit
    age_999: np.ndarray  # death row indices whose age is written 999


def _choose_noise(rng: np.random.Generator, n: int) -> _Noise:
    k = min(max(3, n // 400), max(n // 2, 0))
    chosen = rng.permutation(n)[: 2 * k]
    return _Noise(np.sort(chosen[:k]), np.sort(chosen[k:]))


# ---------------------------------------------------------------------------------------
# Ground truth, from the generator's own decisions


def financial_year(days: pl.Expr) -> pl.Expr:
    """Days since 1970 -> '2024-25'."""
    d = days.cast(pl.Int32).cast(pl.Date)
    start = pl.when(d.dt.month() >= 4).then(d.dt.year()).otherwise(d.dt.year() - 1)
    return (start.cast(pl.Utf8) + "-"
            + ((start + 1) % 100).cast(pl.Utf8).str.zfill(2))


def truth_rows(data: _Data, noise: _Noise) -> list[dict[str, Any]]:
    """Per Place code (and the ICB code) and financial year: the truth measures."""
    facts = data.facts.with_row_index("i").with_columns(
        linked=~pl.col("i").is_in(noise.bad_nhs.tolist()),
        nhs=pl.col("nhs").cast(pl.Int64),
    )
    emergency = list(DEFAULT_EMERGENCY_ADMIMETH)
    spells = data.hes.select(
        nhs=pl.col("PERSON_ID").cast(pl.Int64),
        start=pl.col("ADMIDATE").cast(pl.Int32),
        emergency=pl.col("ADMIMETH").is_in(emergency),
    ).filter("emergency")
    ea = (facts.filter("linked").select("i", "nhs", "death")
          .join(spells, on="nhs")
          .filter((pl.col("start") <= pl.col("death"))
                  & (pl.col("start") >= pl.col("death") - 89))
          .group_by("i").agg(ea=pl.len()))
    # Bed days in the last 90 days: each admitted spell (admission to discharge, however
    # the files split it into episodes or leave a death's discharge date blank) clipped
    # to the window, inclusive days (REFERENCE.md).
    stays = data.hes.select(
        nhs=pl.col("PERSON_ID").cast(pl.Int64),
        start=pl.col("ADMIDATE").cast(pl.Int32),
        end=pl.col("DISDATE").cast(pl.Int32),
    )
    window = pl.col("death") - 89
    bed = (facts.filter("linked").select("i", "nhs", "death")
           .join(stays, on="nhs")
           .filter(pl.col("start") <= pl.col("death"))
           .with_columns(end=pl.min_horizontal(pl.col("end").fill_null(pl.col("death")),
                                               pl.col("death")))
           .filter(pl.col("end") >= window)
           .group_by("i")
           .agg(bed=(pl.col("end") - pl.max_horizontal(pl.col("start"), window) + 1).sum()))
    register = data.register.select(
        nhs=pl.col("NHS Number").str.replace_all(" ", "").cast(pl.Int64),
        added=pl.col("Date Added").str.strptime(pl.Date, "%d/%m/%Y").cast(pl.Int32),
    )
    on_register = (facts.filter("linked").select("i", "nhs", "death")
                   .join(register, on="nhs")
                   .filter(pl.col("added") <= pl.col("death"))
                   .select("i").unique().with_columns(reg=pl.lit(True)))
    # Community contacts that took place (the CSDS file adds cancelled and missed ones,
    # which must not count), started in the 90 days ending on the date of death.
    contacts = data.community.filter(pl.col("activity_type") == "community_contact").select(
        nhs=pl.col("person_id").cast(pl.Int64), start=pl.col("start_date").cast(pl.Int32))
    community = (facts.filter("linked").select("i", "nhs", "death")
                 .join(contacts, on="nhs")
                 .filter((pl.col("start") <= pl.col("death"))
                         & (pl.col("start") >= pl.col("death") - 89))
                 .select("i").unique().with_columns(comm=pl.lit(True)))
    # Specialist palliative care in the last year (365 days ending on the date of
    # death): a CSDS contact by a specialist palliative care team (team type 47), or a
    # hospital spell under treatment function 315 (palliative medicine) that started on
    # or before the death and ran into that year (a blank discharge runs to the death).
    # Hospice stays are in no national file the sample writes.
    spc_contacts = data.community.filter(
        pl.col("activity_type") == "specialist_palliative_contact").select(
        nhs=pl.col("person_id").cast(pl.Int64), start=pl.col("start_date").cast(pl.Int32),
        end=pl.col("start_date").cast(pl.Int32))
    spc_spells = data.hes.filter(pl.col("TRETSPEF") == "315").select(
        nhs=pl.col("PERSON_ID").cast(pl.Int64), start=pl.col("ADMIDATE").cast(pl.Int32),
        end=pl.col("DISDATE").cast(pl.Int32))
    spc = (facts.filter("linked").select("i", "nhs", "death")
           .join(pl.concat([spc_contacts, spc_spells]), on="nhs")
           .filter((pl.col("start") <= pl.col("death"))
                   & (pl.col("death") - pl.max_horizontal(
                       pl.col("start"), pl.col("end").fill_null(pl.col("death"))) <= 364))
           .select("i").unique().with_columns(spc=pl.lit(True)))
    per_death = (facts.join(ea, on="i", how="left").join(on_register, on="i", how="left")
                 .join(bed, on="i", how="left").join(community, on="i", how="left")
                 .join(spc, on="i", how="left")
                 .with_columns(
                     period=financial_year(pl.col("death")),
                     area=pl.col("place").replace_strict(
                         list(range(len(PLACES))), [p.code for p in PLACES]),
                     # Published with care homes, not 'other' places (place_of_death.sql).
                     pod_name=pl.when(pl.col("religious")).then(pl.lit("care_home"))
                     .otherwise(pl.col("pod").replace_strict(list(range(len(_POD))),
                                                             list(_POD))),
                 ))
    measures = [
        pl.len().alias("deaths"),
        *[(pl.col("pod_name") == p).sum().alias(f"pod_{p}") for p in _POD],
        (pl.col("ea").fill_null(0) >= 3).sum().alias("ea_last90_3plus"),
        pl.col("reg").fill_null(False).sum().alias("on_register"),
        pl.col("need").sum().alias("need_deaths"),
        pl.col("bed").fill_null(0).sum().alias("bed_days"),
        pl.col("comm").fill_null(False).sum().alias("community_last90"),
        pl.col("spc").fill_null(False).sum().alias("spc_last_year"),
    ]
    by_place = per_death.group_by("area", "period").agg(measures)
    icb = per_death.group_by("period").agg(measures).with_columns(area=pl.lit(ICB_CODE))
    table = pl.concat([by_place, icb.select(by_place.columns)]).sort("area", "period")
    return [{k: (int(v) if isinstance(v, (int, np.integer)) else v) for k, v in row.items()}
            for row in table.iter_rows(named=True)]


def pcn_need_truth(facts: pl.DataFrame, geo: Geography, no_pcn: list[str]
                   ) -> list[dict[str, Any]]:
    """The ICB's need deaths per financial year and PCN: each death's practice (the
    generator gave it the practice of its LSOA) in its current PCN (the relationship
    with no end date), or 'no_pcn' for the practices left out of the ePCN file."""
    current = {r[0]: r[2] for r in pcn_lookup_rows(geo) if r[5] is None}
    current.update({code: "no_pcn" for code in no_pcn})
    need = facts.filter("need").with_columns(
        period=financial_year(pl.col("death")),
        pcn=pl.col("practice").replace_strict(current, default="unknown"))
    table = need.group_by("period", "pcn").agg(need_deaths=pl.len()).sort("period", "pcn")
    return [{"period": p, "pcn": c, "need_deaths": int(n)}
            for p, c, n in table.iter_rows()]


def deaths_by_month(facts: pl.DataFrame) -> dict[str, int]:
    """The ICB's deaths per calendar month ('2026-10'), for rolling periods."""
    month = facts["death"].cast(pl.Int32).cast(pl.Date).dt.strftime("%Y-%m")
    counts = month.value_counts().sort(month.name)
    return {str(m): int(n) for m, n in counts.iter_rows()}


def population_truth(geo: Geography) -> list[dict[str, Any]]:
    """The ICB's population per year, sex and five-year band (the generator's own
    banded counts, which the single-year ONS files must band back to), per Place too."""
    out = []
    for year in POPULATION_YEARS:
        pop = _population_for(geo, year)
        for i, place in enumerate(PLACES):
            mine = pop[geo.place == i]
            for s, sex in enumerate(("male", "female")):
                for b, band in enumerate(AGE_BANDS_ESP):
                    out.append({"area": place.code, "year": year, "sex": sex,
                                "age_band": band, "population": int(mine[:, s, b].sum())})
    return out


def _projected_bands(geo: Geography, year: int) -> np.ndarray:
    """(Places, 2, 19): each Place's 2024 population grown by band to `year` (as the
    ordinary sample's projections, over the SNPP's years)."""
    bands = np.stack([geo.population[geo.place == i].sum(axis=0) for i in range(len(PLACES))])
    return np.rint(bands * _GROWTH ** (year - 2024)).astype(np.int64)


def projections_truth(geo: Geography) -> list[dict[str, Any]]:
    """Per Place, year and sex: the projected population of the 19 five-year bands, in
    AGE_BANDS_ESP order (the SNPP workbook's single years must band back to them)."""
    out = []
    for year in SNPP_YEARS:
        pop = _projected_bands(geo, year)
        for i, place in enumerate(PLACES):
            for s, sex in enumerate(("male", "female")):
                out.append({"area": place.code, "year": year, "sex": sex,
                            "bands": [int(v) for v in pop[i, s]]})
    return out


# ---------------------------------------------------------------------------------------
# Files


def _lsoa_names(geo: Geography) -> list[str]:
    names = []
    counter: dict[int, int] = {}
    for i in geo.place:
        counter[int(i)] = counter.get(int(i), 0) + 1
        names.append(f"{PLACES[int(i)].name} {counter[int(i)]:03d}{'ABCD'[counter[int(i)] % 4]}")
    return names


def _lad_code(i: int) -> str:
    return f"E069990{i + 10:02d}"


@dataclass
class _Neighbours:
    lsoa: list[str]
    name: list[str]
    decile: np.ndarray
    population: np.ndarray  # (n, 2, 19)


def _neighbour_lsoas(geo: Geography) -> _Neighbours:
    """LSOAs of a neighbouring area: in the all-England files, not in the lookup."""
    rng = _stream(0, _STREAM_NOISE, 1)
    n = NEIGHBOUR_LSOAS
    scale = rng.uniform(0.8, 1.2, n)
    base = geo.population[rng.integers(0, len(geo.lsoa), n)]
    return _Neighbours(
        lsoa=[f"E018{k:05d}" for k in range(1, n + 1)],
        name=[f"Neighbourshire {k:03d}A" for k in range(1, n + 1)],
        decile=rng.integers(1, 11, n),
        population=np.rint(base * scale[:, None, None]),
    )


def _write_lookup(path: Path, geo: Geography, vintage: str) -> None:
    """A lookup as an analyst makes it: code, name, Place name (not code)."""
    frame = pl.DataFrame({
        f"LSOA{vintage[2:]}CD": geo.lsoa,
        f"LSOA{vintage[2:]}NM": _lsoa_names(geo),
        "Place name": [PLACES[int(i)].name for i in geo.place],
    })
    frame.write_csv(path)


def _write_iod(path: Path, geo: Geography, nb: _Neighbours, iod: str,
               rng: np.random.Generator) -> None:
    from openpyxl import Workbook

    total = ENGLAND_LSOAS[iod]
    lsoa = [*geo.lsoa.tolist(), *nb.lsoa]
    names = [*_lsoa_names(geo), *nb.name]
    lads = [_lad_code(int(i)) for i in geo.place] + ["E06999099"] * len(nb.lsoa)
    lad_names = [PLACES[int(i)].name for i in geo.place] + ["Neighbourshire"] * len(nb.lsoa)
    decile = np.concatenate([geo.decile, nb.decile])
    # A rank consistent with the decile: decile d holds ranks (d-1)N/10+1 .. dN/10.
    rank = np.empty(len(lsoa), dtype=np.int64)
    for d in range(1, 11):
        idx = np.flatnonzero(decile == d)
        lo, hi = (d - 1) * total // 10 + 1, d * total // 10
        rank[idx] = lo + rng.choice(hi - lo + 1, len(idx), replace=False)
    order = np.argsort(lsoa)
    lsoa_year, lad_year = ("2011", "2019") if iod == "2019" else ("2021", "2024")
    # IoD2019 headers without the parenthesis, IoD2025 with it: both are published.
    rank_head = "Index of Multiple Deprivation (IMD) Rank"
    decile_head = "Index of Multiple Deprivation (IMD) Decile"
    if iod == "2025":
        rank_head += " (where 1 is most deprived)"
        decile_head += " (where 1 is most deprived 10% of LSOAs)"
    book = Workbook()
    notes = book.active
    notes.title = "Notes"
    notes.append([f"English Indices of Deprivation {iod}"])
    notes.append(["File 1: index of multiple deprivation"])
    notes.append(["Synthetic: every code and value in this workbook is made up."])
    data = book.create_sheet(f"IMD{iod}" if iod == "2019" else f"IoD{iod}")
    data.append([f"LSOA code ({lsoa_year})", f"LSOA name ({lsoa_year})",
                 f"Local Authority District code ({lad_year})",
                 f"Local Authority District name ({lad_year})", rank_head, decile_head])
    for i in order:
        data.append([lsoa[i], names[i], lads[i], lad_names[i], int(rank[i]), int(decile[i])])
    book.save(path)


def _single_years(pop: np.ndarray) -> np.ndarray:
    """(n, 2, 19) five-year bands -> (n, 2, 91) single years 0..89 and 90+, each band's
    count spread over its five ages (the remainder to the youngest), so that banding
    the file again gives the generator's counts exactly."""
    pop = pop.astype(np.int64)
    out = np.zeros((*pop.shape[:2], 91), dtype=np.int64)
    for b in range(18):
        base, extra = np.divmod(pop[:, :, b], 5)
        for k in range(5):
            out[:, :, 5 * b + k] = base + (extra > k)
    out[:, :, 90] = pop[:, :, 18]
    return out


def _population_rows(geo: Geography, nb: _Neighbours, year: int
                     ) -> tuple[list[str], list[str], list[int], np.ndarray]:
    # The neighbours grow 1% a year from the same base year as the ICB's LSOAs.
    neighbours = np.rint(nb.population * 1.01 ** (year - 2024))
    pop = np.concatenate([_population_for(geo, year), neighbours])
    lsoa = [*geo.lsoa.tolist(), *nb.lsoa]
    names = [*_lsoa_names(geo), *nb.name]
    place = [int(i) for i in geo.place] + [-1] * len(nb.lsoa)
    return lsoa, names, place, _single_years(pop)


def _lad(place: int) -> tuple[str, str]:
    if place < 0:
        return "E06999099", "Neighbourshire"
    return _lad_code(place), PLACES[place].name


def _workbook() -> Any:
    """A new workbook with no default sheet. Not openpyxl's write-only kind: that records
    no sheet sizes, which Excel and the ONS files do (and a reader then scans the whole
    sheet to find them)."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    return book


def _ons_workbook(cover_name: str, title: str, sheets: list[str], note: str) -> Any:
    """A new ONS-style workbook with its front sheets: cover, contents (listing
    `sheets`), notes (one note). The data sheets are the caller's."""
    book = _workbook()
    cover = book.create_sheet(cover_name)
    for line in (title, "Synthetic: every code and number in this workbook is made up.",
                 "Source: Office for National Statistics (layout only)"):
        cover.append([line])
    contents = book.create_sheet("Contents")
    contents.append(["Contents"])
    contents.append(["Worksheet name", "Worksheet title"])
    for name in sheets:
        contents.append([name, title if len(sheets) == 1 else f"{title}: {name.lower()}"])
    notes = book.create_sheet("Notes")
    notes.append(["Notes"])
    notes.append(["Note number", "Note text"])
    notes.append(["Note 1", note])
    return book


def _write_population_current(path: Path, geo: Geography, nb: _Neighbours, year: int) -> None:
    """Mid-2022 onwards: Cover, Contents, Notes, then the data sheet; header on row 4."""

    lsoa, names, place, single = _population_rows(geo, nb, year)
    title = (f"Mid-{year} population estimates for Lower layer Super Output Areas "
             "(LSOAs) in England and Wales by single year of age and sex")
    book = _ons_workbook("Cover", title, [f"Mid-{year} LSOA 2021"],
                         "Age 90 includes everyone aged 90 and over.")
    data = book.create_sheet(f"Mid-{year} LSOA 2021")
    data.append([title])
    data.append(["This worksheet contains one table."])
    data.append(["Source: Office for National Statistics"])
    data.append(["LAD 2021 Code", "LAD 2021 Name", "LSOA 2021 Code", "LSOA 2021 Name",
                 "Total", *[f"F{a}" for a in range(91)], *[f"M{a}" for a in range(91)]])
    for i in range(len(lsoa)):
        males, females = single[i, 0], single[i, 1]
        data.append([*_lad(place[i]), lsoa[i], names[i], int(males.sum() + females.sum()),
                     *[int(v) for v in females], *[int(v) for v in males]])
    book.save(path)


def _write_population_old(path: Path, geo: Geography, nb: _Neighbours, year: int) -> None:
    """Mid-2020 and before: a sheet per sex (and persons), header on row 5."""

    lsoa, names, place, single = _population_rows(geo, nb, year)
    book = _workbook()
    contents = book.create_sheet("Contents")
    contents.append([f"Lower Layer Super Output Area population estimates, mid-{year}"])
    contents.append(["Synthetic: every code and number in this workbook is made up."])
    for label, values in (("Persons", single.sum(axis=1)), ("Males", single[:, 0]),
                          ("Females", single[:, 1])):
        sheet = book.create_sheet(f"Mid-{year} {label}")
        sheet.append([f"Mid-{year} Population Estimates for Lower Layer Super Output "
                      f"Areas in England and Wales by Single Year of Age and Sex: {label}"])
        sheet.append(["Lower Layer Super Output Area population estimates"])
        sheet.append(["All figures are rounded; 90+ is everyone aged 90 and over"])
        sheet.append([])
        sheet.append(["LSOA Code", "LSOA Name", "LA Code (2018 boundaries)",
                      "LA name (2018 boundaries)", "LA Code (2021 boundaries)",
                      "LA name (2021 boundaries)", "All Ages", *range(90), "90+"])
        for i in range(len(lsoa)):
            lad, lad_name = _lad(place[i])
            row = values[i]
            sheet.append([lsoa[i], names[i], lad, lad_name, lad, lad_name, int(row.sum()),
                          *[int(v) for v in row]])
    book.save(path)


def _write_projections(path: Path, geo: Geography) -> None:
    """The 2022-based SNPP table 2 as laid out: Cover, Contents, Notes, then Males,
    Females and Persons, each under title rows, one row per area and single year of age
    ('90+' one row, an 'All ages' row first), a column per year. The Places are local
    authorities (their code made up, their name as in eolneeds.toml); a neighbouring
    authority and England are in the table too, as in the all-England file."""
    singles = {year: _single_years(_projected_bands(geo, year)) for year in SNPP_YEARS}
    neighbour = {year: np.rint(singles[year].sum(axis=0) * 0.4).astype(np.int64)
                 for year in SNPP_YEARS}
    title = ("Population projections for local authorities by single year of age and sex, "
             "England, 2022-based")
    book = _ons_workbook("Cover_sheet", title, ["Males", "Females", "Persons"],
                         "Age 90+ includes everyone aged 90 and over.")
    # area code, name, {year: (2, 91) single years by sex}
    areas: list[tuple[str, str, dict[int, np.ndarray]]] = [
        (_lad_code(i), p.name, {y: singles[y][i] for y in SNPP_YEARS})
        for i, p in enumerate(PLACES)]
    areas.append(("E06999099", "Neighbourshire", neighbour))
    areas.append(("E92000001", "England",
                  {y: singles[y].sum(axis=0) + neighbour[y] for y in SNPP_YEARS}))
    for label, sexes in (("Males", [0]), ("Females", [1]), ("Persons", [0, 1])):
        sheet = book.create_sheet(label)
        sheet.append([f"{title}: {label.lower()}"])
        sheet.append(["This worksheet contains one table. Five-year migration variant."])
        sheet.append(["Source: Office for National Statistics"])
        sheet.append(["Area code", "Area name", "Age", *SNPP_YEARS])
        for code, name, by_year in areas:
            counts = {y: by_year[y][sexes].sum(axis=0) for y in SNPP_YEARS}  # (91,)
            sheet.append([code, name, "All ages", *[int(counts[y].sum()) for y in SNPP_YEARS]])
            for age in range(91):
                sheet.append([code, name, age if age < 90 else "90+",
                              *[int(counts[y][age]) for y in SNPP_YEARS]])
    book.save(path)


_ESTABLISHMENTS = {
    "hospital": "Royal Wessex Infirmary – Brackenford wing",
    "care_home": "Maison Lévêque Nursing Home",
    "hospice": "St Michael’s Hospice",
}


def _write_deaths(folder: Path, deaths: pl.DataFrame, noise: _Noise,
                  neighbours: _Neighbours, fresh: list[str]) -> None:
    """Two PCMD extracts split by date of death, cp1252 with CRLF, header variants; the
    last months' deaths from ONS instead, tab-delimited with the ONS names."""
    frame = deaths
    number = frame["DEC_NHS_NUMBER"].to_list()
    for i in noise.bad_nhs.tolist():  # a wrong check digit: the death still counts
        number[i] = number[i][:9] + str((int(number[i][9]) + 1) % 10)
    age = frame["DEC_AGEC"].cast(pl.Utf8).to_list()
    for i in noise.age_999.tolist():
        age[i] = "999"
    frame = frame.with_columns(DEC_NHS_NUMBER=pl.Series(number), DEC_AGEC=pl.Series(age))
    # Two residents of the neighbouring area: loaded, but outside the ICB.
    outside = frame.head(2).with_columns(
        DEC_NHS_NUMBER=pl.Series(fresh[:2]),
        DEC_LSOA=pl.Series(neighbours.lsoa[:2]))
    frame = pl.concat([frame, outside])
    pod_name = pl.when(pl.col("POD_CODE") == "H").then(pl.lit(None))
    kind = pl.col("POD_ESTABLISHMENT_TYPE").cast(pl.Int32, strict=False)
    frame = frame.with_columns(POD_ESTABLISHMENT_NAME=(
        pod_name.when(kind == 83).then(pl.lit(_ESTABLISHMENTS["hospice"]))
        .when(kind.is_in([1, 3, 18])).then(pl.lit(_ESTABLISHMENTS["hospital"]))
        .when(kind.is_in([2, 4, 7, 10])).then(pl.lit(_ESTABLISHMENTS["care_home"]))
        .otherwise(pl.lit(None))))
    died = pl.col("REG_DATE_OF_DEATH").str.strptime(pl.Date, "%Y%m%d")
    first = frame.filter(died < DEATHS_SPLIT).rename(
        {"DEC_LSOA": "LSOA_OF_RESIDENCE_CODE"})
    second = frame.filter((died >= DEATHS_SPLIT) & (died < ONS_DEATHS_FROM)).rename(
        {"DEC_NHS_NUMBER": "NHS_NUMBER", "DEC_LSOA": "LSOA21CD"})
    _write_ons_deaths(folder / "ons_deaths_2026-04_2026-10.txt",
                      frame.filter(died >= ONS_DEATHS_FROM))
    uk = {c: pl.col(c).str.strptime(pl.Date, "%Y%m%d").dt.strftime("%d/%m/%Y")
          for c in ("REG_DATE_OF_DEATH", "REG_DATE")}
    second = second.with_columns(**uk)
    for part, name in ((first, "pcmd_deaths_2023-04_2025-03.csv"),
                       (second, "pcmd_deaths_2025-04_2026-03.csv")):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(part.columns)
        for row in part.iter_rows():
            writer.writerow(["" if v is None else v for v in row])
        (folder / name).write_bytes(out.getvalue().encode("cp1252"))


# PCMD name -> the ONS Public Health Mortality File's name for the same field.
ONS_DEATH_NAMES = {
    "DEC_NHS_NUMBER": "NHSNO", "REG_DATE_OF_DEATH": "DOD", "REG_DATE": "DOR",
    "DEC_AGEC": "AGEC", "DEC_SEX": "SEX", "DEC_LSOA": "LSOAR",
    "S_UNDERLYING_COD_ICD10": "FIC10UND",
    **{f"S_COD_CODE_{k}": f"FIC10MEN{k}" for k in range(1, 16)},
    "POD_CODE": "CESTRSS", "POD_NHS_ESTABLISHMENT": "NHSIND",
    "POD_ESTABLISHMENT_TYPE": "ESTTYPED", "GP_PRACTICE_CODE": "GPPRAC",
}


def _write_ons_deaths(path: Path, frame: pl.DataFrame) -> None:
    """Deaths as ONS supplies them: tab-delimited UTF-8, LF line ends, yyyymmdd, the
    PHMF names, the age unit beside the age (1 = years), place of death as CESTRSS
    ('H', 'E' or the establishment), NHSIND and ESTTYPED; no ethnic group."""
    ons = frame.select(list(ONS_DEATH_NAMES)).rename(ONS_DEATH_NAMES).with_columns(
        AGECUNIT=pl.lit("1"))
    lines = ["\t".join(ons.columns)]
    lines += ["\t".join("" if v is None else str(v) for v in row) for row in ons.iter_rows()]
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))


def _write_hes(path: Path, episodes_path: Path, data: _Data, rng: np.random.Generator
               ) -> tuple[int, int, int]:
    """SUS/HES APC spells: pipe, UTF-8 with BOM, quoted costs with thousands commas; the
    spell that ends in death has DISMETH 4, and about a third of those no DISDATE yet.
    Every third spell goes to the HES APC episode extract instead (_write_episodes).
    Returns how many discharge dates were left blank in the spells file, how many
    spells the episode extract splits into several episodes, and how many discharge
    dates of a death in hospital it leaves blank."""
    deaths = data.facts.select(PERSON_ID=pl.col("nhs").cast(pl.Utf8), death=pl.col("death"))
    spells = data.hes.with_row_index("spell").join(deaths, on="PERSON_ID", how="left")
    as_episodes = spells.filter(pl.col("spell") % 3 == 2)
    spells = spells.filter(pl.col("spell") % 3 != 2)
    ends_in_death = (spells["DISDATE"].cast(pl.Int32) == spells["death"]).fill_null(False)
    blank = ends_in_death & pl.Series(rng.random(spells.height) < 0.35)
    spells = spells.with_columns(
        SPELL_ID=pl.format("SP{}", (pl.col("spell") + 1_000_001).cast(pl.Utf8)),
        PROCODE3=pl.lit("RZZ"),
        DISMETH=pl.when(ends_in_death).then(pl.lit("4")).otherwise(pl.lit("1")),
        DISDATE=pl.when(blank).then(pl.lit(None, pl.Utf8))
        .otherwise(pl.col("DISDATE").dt.strftime("%Y-%m-%d")),
        ADMIDATE=pl.col("ADMIDATE").dt.strftime("%Y-%m-%d"),
    )
    columns = ["SPELL_ID", "NHS_NUMBER", "PROCODE3", "ADMIDATE", "DISDATE", "ADMIMETH",
               "DISMETH", "TREATMENT_FUNCTION_CODE", "SPELL_COST"]
    lines = ["|".join(columns)]
    for row in spells.select("SPELL_ID", "PERSON_ID", "PROCODE3", "ADMIDATE", "DISDATE",
                             "ADMIMETH", "DISMETH", "TRETSPEF", "SPELL_COST").iter_rows():
        *text, cost = row
        lines.append("|".join([*("" if v is None else str(v) for v in text),
                               f'"{cost:,.2f}"']))
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return int(blank.sum()), *_write_episodes(episodes_path, as_episodes, rng)


def _write_episodes(path: Path, spells: pl.DataFrame, rng: np.random.Generator
                    ) -> tuple[int, int]:
    """HES APC as DARS sends it: one row per consultant episode. A spell of a day or more
    is split into one (60%), two (30%) or three (10%) episodes of about equal length;
    every episode repeats ADMIDATE and ADMIMETH, EPIORDER numbers them 01, 02, ..., and
    only the last has DISDATE (the others 1800-01-01, HES's 'no date'); about a third of
    the spells that end in death have neither DISDATE nor EPIEND on their last episode
    (the spell then runs to the date of death). The treatment function stays the
    spell's. Returns how many spells have several episodes, and how many deaths in
    hospital have no discharge date."""
    parts = rng.choice([1, 2, 3], size=spells.height, p=[0.6, 0.3, 0.1])
    blank = rng.random(spells.height) < 0.35
    lines = [",".join(["NEWNHSNO", "PROCODE3", "ADMIDATE", "DISDATE", "ADMIMETH", "DISMETH",
                       "EPIORDER", "EPISTART", "EPIEND", "MAINSPEF", "TRETSPEF"])]
    split = unrecorded_deaths = 0
    epoch = date(1970, 1, 1).toordinal()
    for row, k, unrecorded in zip(spells.select("PERSON_ID", "ADMIDATE", "DISDATE",
                                                "ADMIMETH", "TRETSPEF", "death").iter_rows(),
                                  parts, blank, strict=True):
        person, admitted, discharged, method, tretspef, death = row
        end = discharged or admitted
        length = (end - admitted).days
        k = int(min(k, length)) if length > 0 else 1
        split += k > 1
        bounds = [admitted + (end - admitted) * i // k for i in range(k + 1)]
        died = discharged is not None and discharged.toordinal() - epoch == death
        # A death in hospital whose discharge was never recorded: the spell ended on the
        # date of death, so the truth (DISDATE = death) is unchanged.
        recorded = discharged is not None and not (died and unrecorded)
        unrecorded_deaths += died and not recorded
        for i in range(k):
            last = i == k - 1
            lines.append(",".join([
                str(person), "RZZ", admitted.isoformat(),
                discharged.isoformat() if last and recorded else "1800-01-01", str(method),
                ("4" if died else "1") if last else "8", f"{i + 1:02d}", bounds[i].isoformat(),
                bounds[i + 1].isoformat() if recorded or not last else "",
                str(tretspef), str(tretspef)]))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    return split, unrecorded_deaths


def _write_epraccur(path: Path, geo: Geography) -> tuple[list[str], int]:
    """ODS's epraccur as published: no header row, 27 columns (code, name, national
    grouping, high level health geography, five address lines, postcode, open date,
    close date, status, sub-type, commissioner, join / left parent dates, telephone,
    nulls, amended flag, prescribing setting 26th), quoted text, CRLF. Every practice
    of the sample (setting 4, active), a practice closed in 2015, and organisations of
    other prescribing settings (walk-in centre 1, out of hours 2, hospice 13, prison 25)
    in code order among them. Returns the GP practice codes and the count of others."""
    def line(code: str, name: str, opened: str, closed: str, status: str,
             setting: int) -> str:
        return (f'{code},"{name}","Y63","QHM","THE HEALTH CENTRE","1 HIGH STREET",'
                f'"TOWN","","",ZZ1 1ZZ,{opened},{closed},{status},B,"00X",20220701,,'
                f'01234 567890,,,,0,,,,{setting},')

    practices = sorted(set(geo.practice.tolist()))
    rows = {code: line(code, f"SURGERY {code}", "19740401", "", "A", 4) for code in practices}
    rows["Z00001"] = line("Z00001", "OLD SURGERY", "19740401", "20150331", "C", 4)
    others = {"Y00001": ("TOWN WALK-IN CENTRE", 1), "Y00002": ("OUT OF HOURS SERVICE", 2),
              "Y00003": ("TOWN HOSPICE", 13), "Y00004": ("HMP TOWN", 25)}
    for code, (name, setting) in others.items():
        rows[code] = line(code, name, "20100401", "", "A", setting)
    path.write_bytes(("\r\n".join(rows[c] for c in sorted(rows)) + "\r\n").encode("utf-8"))
    return sorted([*practices, "Z00001"]), len(others)


def _write_ecds(path: Path, ecds: pl.DataFrame) -> None:
    ecds.with_row_index("k").select(
        EC_IDENT=pl.format("EC{}", (pl.col("k") + 5_000_001).cast(pl.Utf8)),
        NHSNUMBER=pl.col("PERSON_ID"),
        ARRIVALDATE=pl.col("ARRIVAL_DATE").dt.strftime("%Y-%m-%d"),
        EC_DEPARTMENT_TYPE=pl.lit("01"),
        COST=pl.col("COST"),
    ).write_csv(path)


def _write_csds(path: Path, data: _Data, rng: np.random.Generator) -> int:
    """A CSDS care contacts extract (NCDR-style names): every community contact the
    generator made, attended (Attendance_Status 5, or 6 for one in ten), and appointments
    that did not take place (2, 3, 4, 7, or no status): beside attended contacts, and for
    people with no contact in their last 90 days, so that counting them would raise
    community_last90_pct. Returns how many rows did not take place."""
    attended = data.community.filter(pl.col("activity_type") == "community_contact")
    rows = attended.select(NHS_Number=pl.col("person_id"), Contact_Date=pl.col("start_date"))
    rows = rows.with_columns(Attendance_Status=pl.Series(
        np.where(rng.random(rows.height) < 0.9, "5", "6")))
    beside = rows[rng.integers(0, max(rows.height, 1), max(3, rows.height // 8))] \
        if rows.height else rows
    beside = beside.with_columns(Attendance_Status=pl.Series(
        rng.choice(["2", "3", "4", "7"], beside.height)))
    who = rng.choice(data.facts.height, min(data.facts.height, max(3, data.facts.height // 10)),
                     replace=False)
    deaths = data.facts[who]
    missed = pl.DataFrame({
        "NHS_Number": deaths["nhs"].cast(pl.Utf8),
        "Contact_Date": pl.Series(deaths["death"].to_numpy() - rng.integers(0, 80, len(who)))
        .cast(pl.Int32).cast(pl.Date),
        "Attendance_Status": rng.choice(["2", "3", "4", "7", ""], len(who)),
    })
    # Specialist palliative care teams' contacts (team type 47), attended: drawn after
    # the others so that the rest of the sample is as before.
    palliative = data.community.filter(
        pl.col("activity_type") == "specialist_palliative_contact").select(
        NHS_Number=pl.col("person_id"), Contact_Date=pl.col("start_date"),
        Attendance_Status=pl.lit("5"), Team_Type_Code=pl.lit("47"))
    team = pl.lit("12")  # district nursing service
    out = pl.concat([rows.with_columns(Team_Type_Code=team),
                     beside.with_columns(Team_Type_Code=team),
                     missed.with_columns(Team_Type_Code=team), palliative]
                    ).sort("Contact_Date", "NHS_Number")
    out.with_row_index("k").select(
        Care_Contact_ID=pl.format("CC{}", (pl.col("k") + 7_000_001).cast(pl.Utf8)),
        NHS_Number=pl.col("NHS_Number"),
        Contact_Date=pl.col("Contact_Date").dt.strftime("%Y-%m-%d"),
        Attendance_Status=pl.col("Attendance_Status"),
        Team_Type_Code=pl.col("Team_Type_Code"),
        Consultation_Mechanism=pl.lit("01"),
    ).write_csv(path)
    return beside.height + missed.height


def _write_register(path: Path, register: pl.DataFrame) -> int:
    """The register workbook: a notes sheet first, the table on 'Register' under three
    title rows and a blank row (header on row 5), every seventh date typed as text, a
    Total row below. Returns how many dates are text."""
    from openpyxl import Workbook

    book = Workbook()
    about = book.active
    about.title = "About"
    about["A1"] = "EPaCCS palliative care register — extract for the ICB"
    about["A2"] = "The table is on the sheet Register. Synthetic: every person is made up."
    sheet = book.create_sheet("Register")
    sheet["A1"] = "Palliative care register (EPaCCS)"
    sheet["A2"] = "Extract produced 14/11/2026 by the clinical systems team"
    sheet["A3"] = "Patient-identifiable: handle under the data sharing agreement"
    sheet.append([])
    header = ["NHS Number", "Date Added", "Practice Code", "Preferred Place of Death",
              "DNACPR", "ACP in Place"]
    sheet.append(header)
    text_dates = 0
    for k, row in enumerate(register.iter_rows()):
        number, added, *rest = row
        day, month, year = (int(x) for x in added.split("/"))
        cell: object = date(year, month, day)
        if k % 7 == 3:
            cell = added
            text_dates += 1
        sheet.append([number, cell, *rest])
    sheet.append(["Total", register.height, None, None, None, None])
    for cells in sheet.iter_rows(min_row=6, min_col=2, max_col=2):
        for c in cells:
            if isinstance(c.value, date):
                c.number_format = "DD/MM/YYYY"
    book.save(path)
    return text_dates


def _inbox_readme(iod: str) -> str:
    lines = [
        "Synthetic input files written by `eolneeds sample --layout national`: the national",
        "layouts as published and exported (every person and number is made up). Each file",
        "is read by the mapping in ../mappings/ whose name starts its file name; most are a",
        "preset and little else. ../truth.json holds the counts they should give.",
        "",
    ]
    for f in national_files(iod):
        lines.append(f"{f.path:<46} {f.layout}")
    lines += [
        "",
        "What a file holds:  eolneeds inspect inbox/deaths/pcmd_deaths_2023-04_2025-03.csv",
        "Ingest it:          eolneeds ingest deaths "
        "inbox/deaths/pcmd_deaths_2023-04_2025-03.csv --project . --mapping pcmd_deaths",
        "Ingest everything:  eolneeds run --month 2026-10 --project .",
        "",
    ]
    return "\n".join(lines)


def national_sample_files(directory: Path, iod: str | None = None
                          ) -> list[tuple[str, Path, str | None]]:
    """(dataset, file, mapping) of a national-layout sample, in ingest order."""
    root = Path(directory)
    if iod is None:
        iod = "2019" if any((root / "inbox" / "deprivation").glob("*IoD2019*")) else "2025"
    return [(f.dataset, root / "inbox" / f.path, f.mapping) for f in national_files(iod)]


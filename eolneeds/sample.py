"""Synthetic data: `eolneeds sample DIR` and the bundled sample project.

`write_sample` writes a ready project for a fictional ICB ("Wessex Downs and Coast") with
six Places of different deprivation, and one input file per local extract under
inbox/<dataset>/, each in the layout real extracts arrive in (national death extract,
HES admitted patient care, ECDS A&E, a GP EPaCCS register export, canonical community
activity, population, areas, projections) with the mapping that reads it.

How the data are made (all vectorised numpy; nothing loops per person):

* Geography: LSOAs (fictional codes E019xxxxx) in each Place, with IMD deciles drawn
  around the Place's own level, a GP practice, and a population by sex and the 19 ESP
  age bands; deprived LSOAs are younger.
* Deaths: each death picks an (LSOA, sex, age band) cell with probability population x
  age-specific mortality x a deprivation multiplier, so ages (median about 82), sexes
  and the deprivation gradient in mortality come out together. Causes follow an age-
  dependent mix (about 75% on the palliative care need list), place of death a mix
  adjusted for cause, age, register status and deprivation and then raked so the
  whole matches England 2022 (hospital 44%, home 29%, care home 20%, hospice 5%, other
  2%).
* Register: need deaths are on the register more often in less deprived areas; some
  entries come late (within 30 days of death), some after death, some people are on it
  but still alive. Activity in the last year of life: emergency admissions (more in
  deprived areas; about 6% of people with 3 or more in the last 90 days), elective
  admissions, A&E, community and specialist palliative contacts, hospice stays; costs.

Scale: deaths are made in fixed blocks of BLOCK deaths, each with its own random stream
(SeedSequence([seed, kind, block])), so the output does not depend on how many blocks are
written at a time; `chunk_deaths` only bounds memory. England scale (2.85 M deaths,
about 3.5 M register and 30 M activity rows) runs in bounded memory.

The bundled sample (sample_data/) is a small run of this generator plus a few
deliberately messy files; rebuild it with `python -m eolneeds.sample --rebuild-bundled`.
"""

from __future__ import annotations

import csv
import gzip
import io
import secrets
import shutil
import sys
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl

from eolneeds.config import CONFIG_FILE, ProjectConfig, load_config
from eolneeds.errors import UsageError
from eolneeds.project import create_key_file, toml_string
from eolneeds.reporting import Reporter
from eolneeds.schema import AGE_BANDS_ESP, DATASETS

BLOCK = 10_000  # deaths per random stream: fixed, so output never depends on chunking
DEFAULT_CHUNK_DEATHS = 100_000  # deaths held in memory and written at a time
FIRST_DAY = date(2023, 4, 1)  # three complete NHS financial years ...
LAST_DAY = date(2026, 10, 31)  # ... and seven months
# The day the extracts were "taken": nothing is dated later (ingest rejects future dates).
EXTRACT_DAY = date(2026, 11, 14)
POPULATION_YEARS = (2023, 2024, 2025, 2026)
PROJECTION_YEARS = tuple(range(2023, 2041))
LIVING_PER_DEATH = 0.75  # people on a register who have not died, per death
ICB_NAME = "Wessex Downs and Coast ICB (synthetic)"
ICB_CODE = "QZZ"
EPOCH = np.datetime64("1970-01-01", "D")

# Kinds of random stream, so that geography, deaths and the living never share one.
_STREAM_GEOGRAPHY, _STREAM_DEATHS, _STREAM_LIVING = 0, 1, 2


@dataclass(frozen=True)
class SamplePlace:
    code: str
    name: str
    share: float  # of the ICB's LSOAs
    imd_centre: float  # IMD deciles are drawn around this (1 = most deprived)
    age_tilt: float  # > 0: an older population
    rural: float  # share of rural LSOAs
    ethnicity: tuple[float, ...]  # white, mixed, asian, black, other, not_known


PLACES: tuple[SamplePlace, ...] = (
    SamplePlace("ASH", "Ashbourne Vale", 0.22, 2.0, -0.35, 0.0,
                (0.62, 0.04, 0.19, 0.10, 0.02, 0.03)),
    SamplePlace("BRK", "Brackenford", 0.17, 4.5, -0.1, 0.1,
                (0.80, 0.03, 0.09, 0.04, 0.01, 0.03)),
    SamplePlace("CAS", "Castlemoor", 0.16, 8.5, 0.15, 0.3,
                (0.93, 0.015, 0.025, 0.01, 0.005, 0.015)),
    SamplePlace("DUN", "Dunmere", 0.14, 6.0, 0.35, 0.75,
                (0.95, 0.01, 0.01, 0.005, 0.005, 0.02)),
    SamplePlace("EAS", "Eastwick Coast", 0.16, 3.0, 0.5, 0.25,
                (0.94, 0.01, 0.015, 0.01, 0.005, 0.02)),
    SamplePlace("FER", "Fernholt", 0.15, 9.0, 0.1, 0.2,
                (0.88, 0.02, 0.06, 0.02, 0.005, 0.015)),
)

# England-like population shares by ESP band (per cent, 2021 census, rounded).
_POP_SHARE = np.array([5.4, 6.0, 6.1, 5.7, 6.0, 6.6, 6.9, 6.7, 6.3, 6.2, 6.8, 6.6, 5.8,
                       4.9, 4.9, 3.6, 2.4, 1.5, 0.8])
_FEMALE_SHARE = np.array([0.49] * 13 + [0.51, 0.52, 0.53, 0.56, 0.60, 0.68])
# Annual deaths per 100,000 (persons, England-like); men higher, women lower.
_MORTALITY = np.array([75, 8, 9, 22, 35, 45, 60, 85, 130, 200, 310, 480, 750, 1150, 1850,
                       3000, 5800, 13000, 28000], dtype=float) / 100_000
_SEX_MORTALITY = np.array([1.2, 0.85])  # male, female
# Population change a year, by band: older people grow fastest (for 2023-26 and 2040).
_GROWTH = np.array([1.001] * 13 + [1.012, 1.015, 1.02, 1.025, 1.028, 1.03])
_BAND_LOW = np.array([5 * i for i in range(19)])

# ---------------------------------------------------------------------------------------
# Causes of death. Normalised codes by category; the first nine categories are on the
# palliative care need list (INDICATORS.md), the last four are not.
_CAUSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cancer", ("C349", "C189", "C509", "C61", "C259", "C159", "C169", "C679", "C64",
                "C719", "C800", "C900", "C920", "C220", "C56")),
    ("heart", ("I251", "I500", "I219", "I250", "I350", "I48", "I110", "I429")),
    ("respiratory", ("J449", "J441", "J439", "J969", "J47")),
    ("renal", ("N185", "N179", "I120", "N289")),
    ("liver", ("K703", "K746", "K721")),
    ("stroke", ("I639", "I619", "I64", "I694", "I678")),
    ("dementia", ("F03", "G309", "F019", "R54")),
    ("neuro", ("G20", "G35", "G122", "G10", "G231", "G903")),
    ("hiv", ("B20", "B24")),
    ("infection", ("J189", "J180", "A419", "N390", "J690")),
    ("covid", ("U071",)),
    ("other_medical", ("E119", "K566", "K922", "D649", "R99", "E43", "M069", "N40")),
    ("external", ("W19", "X59", "V892", "X70", "X420", "Y349", "W10", "W01")),
)
_NEED_CATEGORIES = 9
_CAT = {name: i for i, (name, _) in enumerate(_CAUSES)}
# Probability of each category by age group (under 65, 65-84, 85+); each row sums to 1.
_CAUSE_MIX = np.array([
    [0.38, 0.11, 0.04, 0.01, 0.08, 0.04, 0.01, 0.03, 0.003, 0.04, 0.01, 0.13, 0.117],
    [0.33, 0.15, 0.08, 0.015, 0.02, 0.06, 0.08, 0.025, 0.0005, 0.06, 0.02, 0.14, 0.0195],
    [0.14, 0.16, 0.06, 0.02, 0.003, 0.07, 0.27, 0.015, 0.0, 0.09, 0.025, 0.125, 0.022],
])
_COMORBIDITIES = ("I10", "E119", "I251", "J449", "F03", "N183", "I48", "J189", "R54",
                  "I500", "E86", "N390")

# Place of death: categories and England 2022 shares (REFERENCE.md), rounded.
_POD = ("hospital", "home", "care_home", "hospice", "other")
_POD_TARGET = np.array([0.44, 0.29, 0.20, 0.05, 0.02])
_PREFERENCE_MIX = np.array([0.10, 0.52, 0.18, 0.18, 0.02])  # hospital, home, ... other
_PREFERENCE_WORDS = {
    "hospital": ("Hospital",),
    "home": ("Home", "Own home", "Usual residence (own home)"),
    "care_home": ("Care Home", "Nursing Home"),
    "hospice": ("Hospice", "Hospice IPU"),
    "other": ("Other",),
}
_ETHNIC_LETTERS = ("A", "D", "H", "M", "S", "Z")  # white, mixed, asian, black, other, n/k
_ETHNIC_SECOND = ("B", "F", "J", "N", "R", "Z")  # a second letter of the same group

_EMERGENCY_ADMIMETH = (("21", 0.60), ("22", 0.05), ("23", 0.03), ("24", 0.02), ("25", 0.01),
                       ("2A", 0.03), ("2B", 0.03), ("2C", 0.005), ("2D", 0.02), ("28", 0.205))
_ELECTIVE_ADMIMETH = (("11", 0.4), ("12", 0.5), ("13", 0.1))
_EMERGENCY_TRETSPEF = (("300", 0.35), ("430", 0.25), ("320", 0.1), ("340", 0.1),
                       ("100", 0.08), ("370", 0.06), ("315", 0.03), ("110", 0.03))
_ELECTIVE_TRETSPEF = (("370", 0.35), ("800", 0.25), ("100", 0.15), ("301", 0.1),
                      ("110", 0.1), ("101", 0.05))


# ---------------------------------------------------------------------------------------
# Helpers


def _stream(seed: int, kind: int, block: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, kind, block]))


def _pick(rng: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    """n draws from one categorical distribution."""
    cum = np.cumsum(probs / probs.sum())
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(probs) - 1)


def _pick_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, k) weight matrix."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(axis=1), weights.shape[1] - 1)


def _choice(rng: np.random.Generator, table: tuple[tuple[str, float], ...], n: int
            ) -> np.ndarray:
    codes = np.array([c for c, _ in table])
    return codes[_pick(rng, np.array([p for _, p in table]), n)]


def _text(values: np.ndarray) -> pl.Series:
    """A text column from an object array holding None for blanks."""
    return pl.Series(values.tolist(), dtype=pl.Utf8)


def _days(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _as_dates(days: np.ndarray) -> pl.Series:
    return pl.Series(days.astype("datetime64[D]")).cast(pl.Date)


def nhs_numbers(count: int) -> np.ndarray:
    """`count` distinct synthetic NHS numbers (int64, ten digits) that pass modulus 11.

    They start in the 999 test range (999 000 0000 - 999 999 9999, never issued to
    patients) and continue down through 998, 997 ... when more are needed; within each
    range the order is scrambled so consecutive people do not get consecutive numbers.
    """
    found: list[np.ndarray] = []
    have = 0
    prefix = 999
    weights = np.arange(10, 1, -1)
    while have < count:
        if prefix < 900:
            raise UsageError("too many people for the synthetic NHS number ranges")
        j = (np.arange(1_000_000, dtype=np.int64) * 611_953 + 12_345) % 1_000_000
        base = prefix * 1_000_000 + j  # nine digits
        digits = (base[:, None] // 10 ** np.arange(8, -1, -1)) % 10
        check = 11 - (digits * weights).sum(axis=1) % 11
        check = np.where(check == 11, 0, check)
        ok = check != 10  # a check digit of 10 is never issued
        found.append(base[ok] * 10 + check[ok])
        have += int(ok.sum())
        prefix -= 1
    return np.concatenate(found)[:count]


def format_nhs_spaced(numbers: pl.Series) -> pl.Series:
    """'9991234567' -> '999 123 4567', as NHS numbers are printed."""
    text = numbers.cast(pl.Utf8)
    return text.str.slice(0, 3) + " " + text.str.slice(3, 3) + " " + text.str.slice(6, 4)


# ---------------------------------------------------------------------------------------
# Geography


@dataclass
class Geography:
    lsoa: np.ndarray  # codes
    place: np.ndarray  # index into PLACES
    decile: np.ndarray  # 1 = most deprived
    rural: np.ndarray  # bool
    practice: np.ndarray  # GP practice code per LSOA
    population: np.ndarray  # (lsoa, sex, band), the 2024 population
    death_cells: np.ndarray  # cumulative weights over lsoa*2*19 cells


def _mortality_multiplier(decile: np.ndarray) -> np.ndarray:
    # Most deprived decile about twice the mortality of the least deprived.
    return 1.40 - 0.08 * (decile - 1)


def make_geography(deaths: int, seed: int) -> Geography:
    rng = _stream(seed, _STREAM_GEOGRAPHY)
    shares = _POP_SHARE / _POP_SHARE.sum()
    # Expected deaths a year in an LSOA of 1,600 people of average deprivation.
    per_lsoa_year = 1600 * float((shares * _MORTALITY).sum())
    years = ((LAST_DAY - FIRST_DAY).days + 1) / 365.25
    n_lsoa = max(len(PLACES) * 4, round(deaths / (years * per_lsoa_year)))
    place_share = np.array([p.share for p in PLACES])
    counts = np.floor(place_share / place_share.sum() * n_lsoa).astype(int)
    counts[: n_lsoa - counts.sum()] += 1
    place = np.repeat(np.arange(len(PLACES)), counts)
    deciles = np.arange(1, 11)
    decile = np.empty(n_lsoa, dtype=np.int64)
    rural = np.empty(n_lsoa, dtype=bool)
    for i, p in enumerate(PLACES):
        mask = place == i
        # Wide enough that every Place has some LSOAs in most quintiles (for its SII).
        weights = np.exp(-((deciles - p.imd_centre) ** 2) / (2 * 2.4**2))
        decile[mask] = 1 + _pick(rng, weights, int(mask.sum()))
        rural[mask] = rng.random(int(mask.sum())) < p.rural
    lsoa = np.array([f"E019{n:05d}" for n in range(1, n_lsoa + 1)])
    # A practice per four LSOAs or so, within the Place.
    practice = np.empty(n_lsoa, dtype=object)
    for i in range(len(PLACES)):
        idx = np.flatnonzero(place == i)
        practice[idx] = [f"Z{i + 1}{(k // 4) + 1:04d}" for k in range(len(idx))]
    # Population: England shares tilted older by the Place's tilt and by affluence.
    tilt = np.array([PLACES[i].age_tilt for i in place]) + 0.05 * (decile - 5.5)
    band_pos = np.arange(19) / 18
    structure = shares[None, :] * np.exp(tilt[:, None] * band_pos[None, :] * 1.5)
    structure /= structure.sum(axis=1, keepdims=True)
    total = rng.normal(1600, 200, n_lsoa).clip(1000, 2600)
    persons = structure * total[:, None]
    population = np.stack([persons * (1 - _FEMALE_SHARE), persons * _FEMALE_SHARE], axis=1)
    population = np.rint(population)
    weights = (population * _MORTALITY[None, None, :] * _SEX_MORTALITY[None, :, None]
               * _mortality_multiplier(decile)[:, None, None])
    return Geography(lsoa, place, decile, rural, practice.astype(str), population,
                     np.cumsum(weights.ravel()))


# ---------------------------------------------------------------------------------------
# One block of deaths and everything that hangs off them


@dataclass
class Block:
    deaths: pl.DataFrame
    register: pl.DataFrame
    hes: pl.DataFrame
    ecds: pl.DataFrame
    community: pl.DataFrame
    # What the generator decided for each death, before any file layout: the ground
    # truth `sample --layout national` counts from (number, day of death as days since
    # 1970, Place index, place of death index into _POD, whether that 'other' place is a
    # religious establishment, cause on the need list).
    facts: pl.DataFrame


def _written_icd(codes: np.ndarray, variant: np.ndarray) -> np.ndarray:
    """ICD-10 codes in the forms real extracts hold: C34.9 / C349 / c34.9, C61 / C61X / c61."""
    s = pl.Series(codes.astype(str))
    long = s.str.len_chars() >= 4
    dotted = s.str.slice(0, 3) + "." + s.str.slice(3)
    filler = s + "X"
    lower_dotted = dotted.str.to_lowercase()
    lower = s.str.to_lowercase()
    v0, v1 = pl.Series(variant == 0), pl.Series(variant == 1)
    out = pl.select(
        pl.when(v0).then(pl.when(long).then(dotted).otherwise(s))
        .when(v1).then(pl.when(long).then(s).otherwise(filler))
        .otherwise(pl.when(long).then(lower_dotted).otherwise(lower))
    ).to_series()
    return out.to_numpy()


def _repeat_events(rng: np.random.Generator, counts: np.ndarray, death: np.ndarray,
                   lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """(person index, start day) for counts[i] events per person, each starting a
    uniform lo..hi days before that person's death."""
    person = np.repeat(np.arange(len(counts)), counts)
    start = death[person] - rng.integers(lo, hi + 1, len(person))
    return person, start


def _gamma_poisson(rng: np.random.Generator, mean: np.ndarray, shape: float) -> np.ndarray:
    """Overdispersed counts: a person-level gamma frailty times Poisson."""
    return rng.poisson(mean * rng.gamma(shape, 1 / shape, len(mean)))


def make_block(geo: Geography, seed: int, block: int, n: int, first_person: int,
               living_first: int, numbers: np.ndarray) -> Block:
    """Deaths first_person .. first_person+n-1 and their records; living register
    entries for people living_first ... (see LIVING_PER_DEATH)."""
    rng = _stream(seed, _STREAM_DEATHS, block)
    # Who, where, when.
    cell = np.minimum(np.searchsorted(geo.death_cells, rng.random(n) * geo.death_cells[-1],
                                      side="right"), len(geo.death_cells) - 1)
    lsoa_idx, rest = np.divmod(cell, 2 * 19)
    sex_idx, band = np.divmod(rest, 19)
    age = _BAND_LOW[band] + rng.integers(0, 5, n)
    old = band == 18
    age[old] = 90 + np.minimum(rng.exponential(3.2, int(old.sum())).astype(int), 19)
    decile = geo.decile[lsoa_idx]
    place = geo.place[lsoa_idx]
    first, last = _days(FIRST_DAY), _days(LAST_DAY)
    day = np.arange(first, last + 1)
    # Winter peak: about 15% more deaths in January than the average.
    doy = (day - _days(date(2023, 1, 1))) % 365
    season = 1 + 0.15 * np.cos(2 * np.pi * (doy - 15) / 365)
    death = day[_pick(rng, season, n)]
    registration = death + 1 + rng.gamma(2.0, 3.0, n).astype(int)
    coroner = rng.random(n) < 0.03
    registration[coroner] += rng.integers(30, 200, int(coroner.sum()))
    registration = np.minimum(registration, _days(EXTRACT_DAY))

    # Cause of death by age group.
    age_group = np.where(age < 65, 0, np.where(age < 85, 1, 2))
    category = _pick_rows(rng, _CAUSE_MIX[age_group])
    lengths = np.array([len(codes) for _, codes in _CAUSES])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    all_codes = np.array([c for _, codes in _CAUSES for c in codes])
    code_idx = starts[category] + (rng.random(n) * lengths[category]).astype(int)
    underlying = all_codes[code_idx]
    variant_probs = np.array([0.6, 0.3, 0.1])
    underlying_text = _written_icd(underlying, _pick(rng, variant_probs, n))
    need = category < _NEED_CATEGORIES
    cancer = category == _CAT["cancer"]
    dementia = category == _CAT["dementia"]
    external = category == _CAT["external"]
    # Contributory causes: S_COD_CODE_1 repeats the underlying cause as extracts do;
    # up to three comorbidities follow.
    extra = _pick(rng, np.array([0.3, 0.35, 0.25, 0.1]), n)
    comorb = np.array(_COMORBIDITIES)
    none = pl.Series([None] * n, dtype=pl.Utf8)
    contributory: list[pl.Series] = [pl.Series(underlying_text, dtype=pl.Utf8)]
    for k in range(3):
        text = _written_icd(comorb[rng.integers(0, len(comorb), n)], _pick(rng, variant_probs, n))
        contributory.append(pl.Series(text, dtype=pl.Utf8).zip_with(pl.Series(extra > k), none))

    # Register status: need deaths more often, and more often in less deprived areas.
    p_register = np.where(need, 0.40 + 0.032 * (decile - 1), 0.08 + 0.01 * (decile - 1))
    p_register = np.where(cancer, np.minimum(p_register * 1.2, 0.92), p_register)
    # Practices differ in how well they identify people (practice_identification).
    p_register = np.minimum(p_register * practice_identification(geo.practice[lsoa_idx]),
                            0.97)
    registered = rng.random(n) < p_register

    # Place of death: a base mix adjusted person by person, then raked to the targets.
    weight = np.tile(_POD_TARGET, (n, 1))
    d = decile - 1
    weight[:, 0] *= 1.25 - 0.05 * d  # hospital: more in deprived areas
    weight[:, 1] *= 0.9 + 0.022 * d
    weight[:, 3] *= 0.8 + 0.05 * d
    weight[registered] *= np.array([0.55, 1.35, 1.1, 2.2, 1.0])
    weight[cancer] *= np.array([1.0, 1.3, 0.5, 3.0, 0.8])
    weight[dementia] *= np.array([0.7, 0.6, 3.0, 0.2, 0.5])
    weight[external] *= np.array([1.2, 1.0, 0.2, 0.05, 8.0])
    weight[age < 65] *= np.array([1.0, 1.2, 0.1, 1.2, 1.5])
    weight[age >= 85] *= np.array([1.0, 0.9, 1.7, 0.7, 0.7])
    prob = weight / weight.sum(axis=1, keepdims=True)
    for _ in range(8):  # iterative proportional fitting of the column margins
        prob *= _POD_TARGET / prob.mean(axis=0)
        prob /= prob.sum(axis=1, keepdims=True)
    pod = _pick_rows(rng, prob)
    pod_code, nhs_flag, est_type = _pod_codes(rng, pod)

    # Ethnicity by Place.
    eth_probs = np.array([p.ethnicity for p in PLACES])[place]
    eth = _pick_rows(rng, eth_probs)
    letters = np.where(rng.random(n) < 0.8, np.array(_ETHNIC_LETTERS)[eth],
                       np.array(_ETHNIC_SECOND)[eth])

    person_number = numbers[first_person:first_person + n]
    practice = geo.practice[lsoa_idx]
    deaths_df = pl.DataFrame({
        "DEC_NHS_NUMBER": pl.Series(person_number).cast(pl.Utf8),
        "REG_DATE_OF_DEATH": _as_dates(death).dt.strftime("%Y%m%d"),
        "REG_DATE": _as_dates(registration).dt.strftime("%Y%m%d"),
        "DEC_AGEC": age,
        "DEC_SEX": sex_idx + 1,
        "DEC_LSOA": geo.lsoa[lsoa_idx],
        "S_UNDERLYING_COD_ICD10": underlying_text,
        **{f"S_COD_CODE_{k + 1}": contributory[k] for k in range(4)},
        **{f"S_COD_CODE_{k}": none for k in range(5, 16)},
        "POD_CODE": _text(pod_code),
        "POD_NHS_ESTABLISHMENT": _text(nhs_flag),
        "POD_ESTABLISHMENT_TYPE": _text(est_type),
        "ETHNIC_GROUP": letters,
        "GP_PRACTICE_CODE": practice,
    })

    register_df = _register_rows(rng, seed, block, n, registered, death, pod, practice,
                                 person_number, living_first, numbers, geo)
    hes, ecds, community = _activity_rows(rng, n, death, pod, decile, registered, cancer,
                                          dementia, external, person_number)
    facts = pl.DataFrame({
        "nhs": person_number, "death": death, "place": place, "pod": pod, "need": need,
        "practice": practice,
        # the generator's religious establishments (non-NHS type 52 among 'other' places)
        "religious": (pod == _POD.index("other")) & (nhs_flag == "2") & (est_type == "52"),
    })
    return Block(deaths_df, register_df, hes, ecds, community, facts)


# ---------------------------------------------------------------------------------------
# GP practices and Primary Care Networks (issue 13)

#: Practices per PCN (within a Place), as real PCNs of 30-50,000 patients hold 4-8.
PRACTICES_PER_PCN = 5


def practice_identification(practice: np.ndarray) -> np.ndarray:
    """Each practice's multiplier on the chance of being on the register before death:
    a built-in spread, so that the practice funnel has real outliers. From the code alone
    (a CRC of it; no random stream, so the other data do not move): most practices
    between about 0.75x and 1.3x; practice numbers ending 7 identify at 0.4x (well below
    the ICB), those ending 3 at 1.5x."""
    import zlib

    codes = np.asarray(practice, dtype=str)
    unique, inverse = np.unique(codes, return_inverse=True)
    u = np.array([zlib.crc32(c.encode("utf-8")) / 2**32 for c in unique])
    factor = np.exp(0.18 * np.tan(np.pi * (u - 0.5)).clip(-1.5, 1.5))
    last = np.array([c[-1] for c in unique])
    factor = np.where(last == "7", 0.4, np.where(last == "3", 1.5, factor))
    return factor[inverse]


def pcn_lookup_rows(geo: Geography) -> list[tuple]:
    """The ODS practice-to-PCN relationships of the sample's practices: PCNs of
    PRACTICES_PER_PCN practices within each Place, codes 'U' + 5 digits. The second
    practice of each Place moved PCN in 2023 (an ended relationship and a current one),
    as happens in the real file; ended PCNs are not in the PCNDetails sheet. Rows:
    (practice, practice name, PCN, PCN name, start, end, sub-ICB location code, name)."""
    rows: list[tuple] = []
    for i, place in enumerate(PLACES):
        practices = sorted(set(geo.practice[geo.place == i].tolist()))
        for k, code in enumerate(practices):
            number = i * 100 + k // PRACTICES_PER_PCN + 1
            pcn, pcn_name = f"U{number:05d}", f"{place.name} PCN {k // PRACTICES_PER_PCN + 1}"
            name = f"{place.name.upper()} SURGERY {k + 1}"
            sub_icb = (f"{i + 1:02d}X", f"NHS WESSEX DOWNS AND COAST ICB - {i + 1:02d}X")
            if k == 1:
                # From a PCN that has since merged into others (code ...99).
                old = f"U{i * 100 + 99:05d}"
                rows.append((code, name, old, f"{place.name} West PCN", date(2019, 7, 1),
                             date(2023, 3, 31), *sub_icb))
                rows.append((code, name, pcn, pcn_name, date(2023, 4, 1), None, *sub_icb))
            else:
                rows.append((code, name, pcn, pcn_name, date(2019, 7, 1), None, *sub_icb))
    return rows


EPCN_PARTNER_HEADERS = (
    "Partner Organisation Code", "Partner Name", "Practice Parent Sub ICB Location Code",
    "Practice Parent Sub ICB Location Name", "PCN Code", "PCN Name",
    "PCN Parent Sub ICB Location Code", "PCN Parent Sub ICB Location Name",
    "Practice to PCN Relationship Start Date", "Practice to PCN Relationship End Date",
    "Practice Sub ICB and PCN Sub ICB Match?",
)


def write_pcn_lookup(path: Path, geo: Geography, leave_out: Collection[str] = ()) -> int:
    """The ePCN workbook as NHS England publishes it: a 'PCNDetails' sheet first, then
    'PCN Core Partner Details' (one row per practice-to-PCN relationship, dates as
    Excel dates, an empty end date for current ones); `leave_out`: practices in no PCN.
    Returns the relationship rows."""
    from openpyxl import Workbook

    rows = [r for r in pcn_lookup_rows(geo) if r[0] not in leave_out]
    book = Workbook()
    details = book.active
    details.title = "PCNDetails"
    details.append(["PCN Code", "PCN Name", "Current Sub ICB Location Code",
                    "Sub ICB Location Name", "Open Date", "Close Date"])
    seen: set[str] = set()
    for r in rows:
        if r[2] not in seen and r[5] is None:
            seen.add(r[2])
            details.append([r[2], r[3], r[6], r[7], date(2019, 7, 1), None])
    partners = book.create_sheet("PCN Core Partner Details")
    partners.append(list(EPCN_PARTNER_HEADERS))
    for code, name, pcn, pcn_name, start, end, sub, sub_name in rows:
        partners.append([code, name, sub, sub_name, pcn, pcn_name, sub, sub_name, start, end,
                         "Yes"])
    for sheet in (details, partners):
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, date):
                    cell.number_format = "dd/mm/yyyy"
    fixed = datetime(2026, 1, 1)
    book.properties.created = fixed
    buffer = io.BytesIO()
    book.save(buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_same_bytes_every_time(buffer.getvalue(), fixed))
    return len(rows)


def _same_bytes_every_time(xlsx: bytes, stamp: datetime) -> bytes:
    """An .xlsx whose bytes depend only on its content: openpyxl stamps the save time
    into docProps/core.xml and each zip entry; the sample must be reproducible."""
    import re
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(<)",
                              rb"\g<1>" + stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode() +
                              rb"\g<2>", data)
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, data)
    return out.getvalue()


def _pod_codes(rng: np.random.Generator, pod: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """POD_CODE, POD_NHS_ESTABLISHMENT, POD_ESTABLISHMENT_TYPE for each category, using
    the REFERENCE.md classification (establishment types written '01' and '1' alike)."""
    n = len(pod)
    code = np.array([f"CE{x:05d}" for x in rng.integers(1, 4000, n)], dtype=object)
    nhs = np.full(n, None, dtype=object)
    kind = np.full(n, None, dtype=object)
    options = {
        0: (("1", "01", 0.85), ("1", "1", 0.05), ("1", "03", 0.03), ("1", "18", 0.02),
            ("2", "01", 0.05)),
        2: (("2", "03", 0.60), ("2", "04", 0.20), ("2", "3", 0.05), ("2", "07", 0.05),
            ("1", "02", 0.05), ("2", "10", 0.05)),
        3: (("1", "83", 0.3), ("2", "83", 0.7)),
        4: (("2", "52", 0.07), ("1", "05", 0.04), ("2", "34", 0.04)),
    }
    for category, table in options.items():
        idx = np.flatnonzero(pod == category)
        probs = np.array([p for *_, p in table])
        if category == 4:  # the rest of 'other' is 'E', elsewhere
            probs = np.append(probs, 1 - probs.sum())
        choice = _pick(rng, probs, len(idx))
        for k, (flag, typ, _) in enumerate(table):
            hit = idx[choice == k]
            nhs[hit] = flag
            kind[hit] = typ
        if category == 4:
            code[idx[choice == len(table)]] = "E"
    code[pod == 1] = "H"
    return code, nhs, kind


def _register_rows(rng: np.random.Generator, seed: int, block: int, n: int,
                   registered: np.ndarray, death: np.ndarray, pod: np.ndarray,
                   practice: np.ndarray, person_number: np.ndarray, living_first: int,
                   numbers: np.ndarray, geo: Geography) -> pl.DataFrame:
    idx = np.flatnonzero(registered)
    m = len(idx)
    kind = _pick(rng, np.array([0.04, 0.22, 0.74]), m)  # after death, late, earlier
    before = np.where(
        kind == 1, rng.integers(0, 31, m),
        31 + np.minimum(rng.lognormal(np.log(150), 0.9, m).astype(int), 1500))
    added = np.where(kind == 0, np.minimum(death[idx] + rng.integers(1, 30, m),
                                           _days(EXTRACT_DAY)), death[idx] - before)
    # Preferred place: recorded for about three in four; people who did not die in
    # hospital usually died where they wanted to.
    recorded = rng.random(m) < 0.75
    preference = _pick(rng, _PREFERENCE_MIX, m)
    actual = pod[idx]
    same = (actual != 0) & (rng.random(m) < 0.75)
    preference = np.where(same, actual, preference)
    pref_text = _preference_words(rng, preference, recorded)
    dnacpr = np.where(rng.random(m) < 0.7, "Y", "N")
    acp = _pick(rng, np.array([0.55, 0.3, 0.15]), m)
    acp_text = np.array(["Yes", "No", None], dtype=object)[acp]
    rows = {
        "nhs": person_number[idx], "added": added, "practice": practice[idx],
        "pref": _text(pref_text), "dnacpr": dnacpr, "acp": _text(acp_text),
    }
    frame = pl.DataFrame(rows)
    # Some people have a second entry (another service added them too).
    again = frame.filter(pl.Series(rng.random(m) < 0.06))
    if again.height:
        gap = rng.integers(1, 60, again.height)
        again = again.with_columns(
            (pl.col("added") + pl.Series(gap)).clip(upper_bound=_days(EXTRACT_DAY)))
    # People on the register who have not died.
    living_rng = _stream(seed, _STREAM_LIVING, block)
    k = round(LIVING_PER_DEATH * n)
    living = pl.DataFrame({
        "nhs": numbers[living_first:living_first + k],
        "added": living_rng.integers(_days(FIRST_DAY) - 365, _days(LAST_DAY) + 1, k),
        "practice": geo.practice[living_rng.integers(0, len(geo.practice), k)],
        "pref": _text(_preference_words(living_rng, _pick(living_rng, _PREFERENCE_MIX, k),
                                        living_rng.random(k) < 0.6)),
        "dnacpr": np.where(living_rng.random(k) < 0.5, "Y", "N"),
        "acp": _text(np.array(["Yes", "No", None], dtype=object)[
            _pick(living_rng, np.array([0.4, 0.4, 0.2]), k)]),
    })
    out = pl.concat([frame, again, living])
    return pl.DataFrame({
        "NHS Number": format_nhs_spaced(out["nhs"]),
        "Date Added": _as_dates(out["added"].to_numpy()).dt.strftime("%d/%m/%Y"),
        "Practice Code": out["practice"],
        "Preferred Place of Death": out["pref"],
        "DNACPR": out["dnacpr"],
        "ACP in Place": out["acp"],
    })


def _preference_words(rng: np.random.Generator, preference: np.ndarray,
                      recorded: np.ndarray) -> np.ndarray:
    out = np.full(len(preference), None, dtype=object)
    for i, place in enumerate(_POD):
        words = np.array(_PREFERENCE_WORDS[place], dtype=object)
        idx = np.flatnonzero((preference == i) & recorded)
        out[idx] = words[rng.integers(0, len(words), len(idx))]
    return out


def _activity_rows(rng: np.random.Generator, n: int, death: np.ndarray, pod: np.ndarray,
                   decile: np.ndarray, registered: np.ndarray, cancer: np.ndarray,
                   dementia: np.ndarray, external: np.ndarray, person_number: np.ndarray
                   ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    hospital_death = pod == 0
    hospice_death = pod == 3
    # Emergency admissions: more in deprived areas, fewer for people on a register.
    ea_mult = ((1.35 - 0.07 * (decile - 1)) * np.where(registered, 0.8, 1.0)
               * np.where(cancer, 1.1, 1.0) * np.where(dementia, 0.8, 1.0)
               * np.where(external, 0.4, 1.0))
    n90 = _gamma_poisson(rng, 0.45 * ea_mult, 0.8)
    n_early = _gamma_poisson(rng, 0.55 * ea_mult, 1.2)
    p1, s1 = _repeat_events(rng, n90, death, 1, 89)
    p2, s2 = _repeat_events(rng, n_early, death, 90, 364)
    person = np.concatenate([p1, p2])
    start = np.concatenate([s1, s2])
    stay = np.where(rng.random(len(person)) < 0.18, 0,
                    np.minimum(1 + rng.geometric(1 / 6, len(person)), 60))
    end = np.minimum(start + stay, death[person] - 1)
    start = np.minimum(start, end)
    # Dying in hospital: the last admission ends on the day of death.
    final = np.flatnonzero(hospital_death)
    final_stay = np.minimum(rng.geometric(1 / 9, len(final)), 90)
    final_emergency = rng.random(len(final)) < 0.92
    elect_count = rng.poisson(np.where(cancer, 1.4, 0.3))
    p3, s3 = _repeat_events(rng, elect_count, death, 1, 364)
    e_stay = np.where(rng.random(len(p3)) < 0.6, 0, rng.integers(1, 6, len(p3)))
    e_end = np.minimum(s3 + e_stay, death[p3] - 1)
    s3 = np.minimum(s3, e_end)

    em_person = np.concatenate([person, final[final_emergency]])
    em_start = np.concatenate([start, death[final[final_emergency]]
                               - final_stay[final_emergency]])
    em_end = np.concatenate([end, death[final[final_emergency]]])
    el_person = np.concatenate([p3, final[~final_emergency]])
    el_start = np.concatenate([s3, death[final[~final_emergency]]
                               - final_stay[~final_emergency]])
    el_end = np.concatenate([e_end, death[final[~final_emergency]]])
    ne, nl = len(em_person), len(el_person)
    em_cost = rng.gamma(4.0, (600 + 350 * (em_end - em_start)) / 4.0)
    el_cost = rng.gamma(5.0, (1600 + 250 * (el_end - el_start)) / 5.0)
    hes = pl.DataFrame({
        "PERSON_ID": pl.Series(person_number[np.concatenate([em_person, el_person])])
        .cast(pl.Utf8),
        "ADMIDATE": _as_dates(np.concatenate([em_start, el_start])),
        "DISDATE": _as_dates(np.concatenate([em_end, el_end])),
        "ADMIMETH": np.concatenate([_choice(rng, _EMERGENCY_ADMIMETH, ne),
                                    _choice(rng, _ELECTIVE_ADMIMETH, nl)]),
        "TRETSPEF": np.concatenate([_choice(rng, _EMERGENCY_TRETSPEF, ne),
                                    _choice(rng, _ELECTIVE_TRETSPEF, nl)]),
        "SPELL_COST": np.round(np.concatenate([em_cost, el_cost]), 2),
    })

    # A&E attendances.
    ae_mult = (1.3 - 0.06 * (decile - 1)) * np.where(registered, 0.85, 1.0)
    a90 = _gamma_poisson(rng, 1.0 * ae_mult, 1.0)
    a_early = _gamma_poisson(rng, 0.9 * ae_mult, 1.0)
    pa1, sa1 = _repeat_events(rng, a90, death, 0, 89)
    pa2, sa2 = _repeat_events(rng, a_early, death, 90, 364)
    ae_person = np.concatenate([pa1, pa2])
    ecds = pl.DataFrame({
        "PERSON_ID": pl.Series(person_number[ae_person]).cast(pl.Utf8),
        "ARRIVAL_DATE": _as_dates(np.concatenate([sa1, sa2])),
        "COST": np.round(rng.gamma(6.0, 260 / 6.0, len(ae_person)), 2),
    })

    # Community, specialist palliative and hospice care (canonical layout).
    p_comm = np.clip(0.45 + 0.15 * registered + 0.1 * cancer, 0, 0.95)
    c90 = np.where(rng.random(n) < p_comm, 1 + rng.poisson(6.0, n), 0)
    c_early = rng.poisson(np.where(registered, 1.5, 0.5))
    pc1, sc1 = _repeat_events(rng, c90, death, 0, 89)
    pc2, sc2 = _repeat_events(rng, c_early, death, 90, 364)
    p_spc = np.clip(0.12 + 0.35 * registered + 0.2 * cancer + 0.015 * (decile - 5), 0, 0.95)
    spc = np.where(rng.random(n) < p_spc, 1 + rng.poisson(2.0, n), 0)
    ps, ss = _repeat_events(rng, spc, death, 0, 364)
    # Hospice deaths end a hospice stay; a few others had a stay in the last 90 days.
    hospice_final = np.flatnonzero(hospice_death)
    h_stay = np.minimum(rng.geometric(1 / 10, len(hospice_final)), 60)
    other_stay = np.flatnonzero(~hospice_death & (rng.random(n) < 0.03 + 0.04 * cancer))
    o_start = death[other_stay] - rng.integers(15, 90, len(other_stay))
    o_end = np.minimum(o_start + rng.integers(2, 14, len(other_stay)), death[other_stay] - 1)
    comm_person = np.concatenate([pc1, pc2])
    comm_start = np.concatenate([sc1, sc2])
    kinds = (["community_contact"] * len(comm_person) + ["specialist_palliative_contact"]
             * len(ps) + ["hospice_inpatient"] * (len(hospice_final) + len(other_stay)))
    people = np.concatenate([comm_person, ps, hospice_final, other_stay])
    starts = np.concatenate([comm_start, ss, death[hospice_final] - h_stay, o_start])
    ends = np.concatenate([comm_start, ss, death[hospice_final], o_end])
    stays = ends - starts
    cost = np.concatenate([
        rng.gamma(8.0, 70 / 8.0, len(comm_person)),
        rng.gamma(8.0, 160 / 8.0, len(ps)),
        420.0 * (1 + stays[len(comm_person) + len(ps):]),
    ])
    tf = ([None] * len(comm_person) + ["315"] * len(ps)
          + [None] * (len(hospice_final) + len(other_stay)))
    community = pl.DataFrame({
        "person_id": pl.Series(person_number[people]).cast(pl.Utf8),
        "activity_type": kinds,
        "start_date": _as_dates(starts),
        "end_date": _as_dates(ends),
        "treatment_function": pl.Series(tf, dtype=pl.Utf8),
        "cost": np.round(cost, 2),
    })
    return hes, ecds, community


# ---------------------------------------------------------------------------------------
# Population, areas and projections


def areas_frame(geo: Geography) -> pl.DataFrame:
    return pl.DataFrame({
        "lsoa_code": geo.lsoa,
        "place": [PLACES[i].code for i in geo.place],
        "imd_decile": geo.decile,
        "rural_urban": np.where(geo.rural, "rural", "urban"),
        "lsoa_vintage": ["2021"] * len(geo.lsoa),
    })


def _population_for(geo: Geography, year: int) -> np.ndarray:
    return np.rint(geo.population * (_GROWTH ** (year - 2024))[None, None, :])


def population_frames(geo: Geography, lsoa_chunk: int = 20_000) -> Iterator[pl.DataFrame]:
    """LSOA x year x sex x band, in chunks of LSOAs (bounded memory at England scale)."""
    sexes = np.array(["male", "female"])
    bands = np.array(AGE_BANDS_ESP)
    for lo in range(0, len(geo.lsoa), lsoa_chunk):
        hi = min(lo + lsoa_chunk, len(geo.lsoa))
        parts = []
        for year in POPULATION_YEARS:
            pop = _population_for(geo, year)[lo:hi]  # (l, 2, 19)
            count = pop.size
            parts.append(pl.DataFrame({
                "lsoa_code": np.repeat(geo.lsoa[lo:hi], 38),
                "year": np.full(count, year),
                "sex": np.tile(np.repeat(sexes, 19), hi - lo),
                "age_band": np.tile(bands, 2 * (hi - lo)),
                "population": pop.ravel().astype(np.int64),
            }))
        yield pl.concat(parts)


def projections_frame(geo: Geography) -> pl.DataFrame:
    """Place x year to 2040 x sex x band, from the 2024 population and band growth."""
    rows = []
    for i, place in enumerate(PLACES):
        base = geo.population[geo.place == i].sum(axis=0)  # (2, 19)
        for year in PROJECTION_YEARS:
            pop = np.rint(base * _GROWTH ** (year - 2024))
            rows.append(pl.DataFrame({
                "area_code": [place.code] * 38,
                "year": [year] * 38,
                "sex": ["male"] * 19 + ["female"] * 19,
                "age_band": list(AGE_BANDS_ESP) * 2,
                "population": pop.ravel().astype(np.int64),
            }))
    return pl.concat(rows)


# ---------------------------------------------------------------------------------------
# Files


# inbox file -> (dataset, mapping name or None for canonical columns). The mapping name
# is also the start of the file name, so `eolneeds run` picks the same mapping.
SAMPLE_FILES: tuple[tuple[str, str, str | None], ...] = (
    ("areas", "areas/areas_lsoa2021.csv", None),
    ("population", "population/population_lsoa.csv", None),
    ("projections", "projections/projections_place.csv", None),
    ("deaths", "deaths/deaths_pcmd.csv", "deaths"),
    ("register", "register/register_epaccs.csv", "register"),
    ("activity", "activity/hes_apc_spells.csv", "hes_apc"),
    ("activity", "activity/ecds_ae_attendances.csv", "ecds_ae"),
    ("activity", "activity/activity_community.csv", "activity"),
)

#: The practice-to-PCN lookup (an .xlsx in the ODS layout, so not one of the CSV sinks).
PCN_LOOKUP_FILE = "practices/epcn.xlsx"


def _fingertips_mapping() -> str:
    from eolneeds.benchmarks import FINGERTIPS_MAPPING

    return FINGERTIPS_MAPPING


def _write_fingertips(path: Path) -> int:
    """The Fingertips download (real column layout) for England, a region and the ICB."""
    from eolneeds.benchmarks import write_fingertips_sample

    return write_fingertips_sample(path, icb_code=ICB_CODE, icb_name=ICB_NAME)
# England and regional values in the OHID Fingertips download layout (eolneeds.benchmarks).
FINGERTIPS_FILE = "benchmarks/fingertips_peolc.csv"

MAPPINGS: dict[str, str] = {
    "fingertips": _fingertips_mapping(),
    "practices": """\
# GP practice -> Primary Care Network: NHS England's ODS ePCN workbook as published. The
# preset knows its columns; of its sheets, the one with those columns is read.
dataset = "practices"
preset = "ods_epcn"
""",
    "deaths": """\
# Death registrations in the national (PCMD) layout: the preset knows the columns and
# turns POD_CODE / POD_NHS_ESTABLISHMENT / POD_ESTABLISHMENT_TYPE into place of death.
dataset = "deaths"
preset = "pcmd_deaths"
""",
    "register": """\
# The GP EPaCCS register export: spaced NHS numbers, dd/mm/yyyy dates, local words.
dataset = "register"
nhs_number = true
date_format = "%d/%m/%Y"

[columns]
person_id = "NHS Number"
date_added = "Date Added"
gp_practice = "Practice Code"
preferred_place_of_death = "Preferred Place of Death"
dnacpr = "DNACPR"
advance_care_plan = "ACP in Place"

[recode.preferred_place_of_death]
"Usual residence (own home)" = "home"
"Hospice IPU" = "hospice"
""",
    "hes_apc": """\
# Hospital admitted patient care spells (HES APC layout); ADMIMETH gives the type.
dataset = "activity"
preset = "hes_apc"
""",
    "ecds_ae": """\
# A&E attendances (ECDS layout).
dataset = "activity"
preset = "ecds_ae"
""",
    "activity": """\
# Community, specialist palliative care and hospice activity in canonical columns;
# person_id holds NHS numbers, checked and pseudonymised at ingest.
dataset = "activity"
nhs_number = true
""",
}


def sample_config_text(key_file: Path | None, *, key_line: str | None = None) -> str:
    places = "\n".join(
        f'[[places]]\ncode = "{p.code}"\nname = "{p.name}"\n' for p in PLACES
    )
    key = key_line if key_line is not None else f"key_file = {toml_string(str(key_file))}"
    return f"""\
# A synthetic project written by `eolneeds sample`. Every person, place and number in
# it is made up. See inbox/README.txt for the files and mappings/ for how each is read.

[project]
icb_name = "{ICB_NAME}"
icb_code = "{ICB_CODE}"
contact = "Synthetic data for demonstration: not for decisions"
lsoa_vintage = "2021"

{places}
[privacy]
# Outside the project folder, as `eolneeds init` does it.
{key}

[disclosure]
min_count = 8
rounding = 0
secondary = true

[periods]
default = "financial_year"
months = 12
years = 3

[benchmarks]
# England 2022 (REFERENCE.md), for orientation.
pod_hospital_pct = 43.4
pod_home_pct = 28.7
pod_care_home_pct = 20.5
pod_hospice_pct = 4.7
ea_last90_3plus_pct = 6.2
{SCENARIOS_TOML}"""


# What-if scenarios of the sample project (eolneeds/scenarios.py): change a target here
# and the report, the Scenarios sheet and the indicator table change with it.
SCENARIOS_TOML = """
# What-if scenarios (modelled, not observed): the people affected, bed days and cost
# freed per Place and for the ICB, with the assumptions stated beside them.
[[scenarios]]
id = "identify_like_best"
kind = "identification"
target = "best_place"
name = "Every Place identifies need as well as the best Place"

[[scenarios]]
id = "fewer_emergency_admissions"
kind = "emergency_admissions"
reduction_pct = 10
name = "Emergency admissions in the last 90 days fall by 10%"

[[scenarios]]
id = "more_die_at_home"
kind = "usual_place_of_death"
target_pct = 60
"""


INBOX_README = """\
Synthetic input files written by `eolneeds sample` (every person and number is made up).

Each folder holds one dataset; the mapping in ../mappings/ whose name starts the file
name says how the file is read (else mappings/<dataset>.toml, else canonical columns).

areas/areas_lsoa2021.csv            LSOA -> Place, IMD decile (1 = most deprived), rural/urban
population/population_lsoa.csv      LSOA x year (2023-2026) x sex x 19 ESP age bands
projections/projections_place.csv   Place x year (2023-2040) x sex x age band
deaths/deaths_pcmd.csv              death registrations, national PCMD layout (preset
                                    pcmd_deaths): NHS number, yyyymmdd dates, ICD-10 in the
                                    forms extracts hold (C34.9, C349, c34.9, C61X),
                                    S_COD_CODE_1.. contributory causes, POD_* codes
register/register_epaccs.csv        GP EPaCCS register export: spaced NHS numbers,
                                    dd/mm/yyyy dates, preferred place in words, DNACPR Y/N
activity/hes_apc_spells.csv         admitted patient care spells, HES layout (ADMIMETH)
activity/ecds_ae_attendances.csv    A&E attendances, ECDS layout
activity/activity_community.csv     community, specialist palliative and hospice activity,
                                    canonical columns
practices/epcn.xlsx                 GP practice -> Primary Care Network, NHS England's ODS
                                    ePCN workbook layout (preset ods_epcn)

Ingest everything:  eolneeds ingest --inbox --project .
or one by one:      eolneeds ingest deaths inbox/deaths/deaths_pcmd.csv --project .
The monthly job:    eolneeds run --month 2026-10 --project .   (ingests, assesses, archives)
"""


class _CsvSink:
    """Appends frames to one CSV (optionally gzip, with a fixed header and mtime so
    the bytes depend only on the data)."""

    def __init__(self, path: Path, *, gzipped: bool) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._raw: BinaryIO = path.open("wb")
        self._fh: BinaryIO | gzip.GzipFile = self._raw
        if gzipped:
            self._fh = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0)
        self._header = True
        self.rows = 0

    def write(self, frame: pl.DataFrame) -> None:
        buffer = io.BytesIO()
        frame.write_csv(buffer, include_header=self._header, date_format="%Y-%m-%d")
        self._fh.write(buffer.getvalue())
        self._header = False
        self.rows += frame.height

    def close(self) -> None:
        if self._fh is not self._raw:
            self._fh.close()
        self._raw.close()


@contextmanager
def _sinks(inbox: Path, gzipped: bool) -> Iterator[dict[str, _CsvSink]]:
    suffix = ".gz" if gzipped else ""
    sinks = {rel: _CsvSink(inbox / (rel + suffix), gzipped=gzipped)
             for _, rel, _ in SAMPLE_FILES}
    try:
        yield sinks
    finally:
        for sink in sinks.values():
            sink.close()


def write_sample(directory: Path, *, deaths: int, seed: int, reporter: Reporter,
                 chunk_deaths: int = DEFAULT_CHUNK_DEATHS, gzipped: bool = False,
                 key_file: Path | None = None) -> None:
    """Write a ready synthetic project with `deaths` deaths into `directory`."""
    root = Path(directory).expanduser().resolve()
    if deaths < 1:
        raise UsageError("--deaths must be at least 1")
    if (root / CONFIG_FILE).exists():
        raise UsageError(
            f"{root / CONFIG_FILE} already exists — `eolneeds sample` writes a new project; "
            "choose an empty folder"
        )
    root.mkdir(parents=True, exist_ok=True)
    reporter.event("sample_started", directory=str(root), deaths=deaths, seed=seed)
    write_sample_files(root, deaths=deaths, seed=seed, reporter=reporter,
                       chunk_deaths=chunk_deaths, gzipped=gzipped)
    if key_file is None:
        key_file = create_key_file(f"sample-{root.name}")
    (root / CONFIG_FILE).write_text(sample_config_text(key_file), encoding="utf-8")
    reporter.event("sample_written", directory=str(root), deaths=deaths)
    reporter.message(f"Wrote a synthetic project with {deaths:,} deaths to {root}")


def write_sample_files(root: Path, *, deaths: int, seed: int, reporter: Reporter,
                       chunk_deaths: int = DEFAULT_CHUNK_DEATHS, gzipped: bool = False
                       ) -> None:
    """The data half of write_sample: mappings/, inbox/ and its README."""
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    for name, text in MAPPINGS.items():
        (root / "mappings" / f"{name}.toml").write_text(text, encoding="utf-8")
    inbox = root / "inbox"
    for dataset in DATASETS:
        (inbox / dataset).mkdir(parents=True, exist_ok=True)
    (inbox / "README.txt").write_text(INBOX_README, encoding="utf-8")

    geo = make_geography(deaths, seed)
    blocks = (deaths + BLOCK - 1) // BLOCK
    living_per_block = round(LIVING_PER_DEATH * BLOCK)
    numbers = nhs_numbers(deaths + blocks * living_per_block)
    per_chunk = max(1, chunk_deaths // BLOCK)
    with _sinks(inbox, gzipped) as sinks:
        sinks["areas/areas_lsoa2021.csv"].write(areas_frame(geo))
        for frame in population_frames(geo):
            sinks["population/population_lsoa.csv"].write(frame)
        sinks["projections/projections_place.csv"].write(projections_frame(geo))
        with reporter.progress("Generating deaths", total=deaths) as step:
            for chunk_start in range(0, blocks, per_chunk):
                made = [
                    make_block(geo, seed, b, min(BLOCK, deaths - b * BLOCK), b * BLOCK,
                               deaths + b * living_per_block, numbers)
                    for b in range(chunk_start, min(blocks, chunk_start + per_chunk))
                ]
                for attr, rel in (("deaths", "deaths/deaths_pcmd.csv"),
                                  ("register", "register/register_epaccs.csv"),
                                  ("hes", "activity/hes_apc_spells.csv"),
                                  ("ecds", "activity/ecds_ae_attendances.csv"),
                                  ("community", "activity/activity_community.csv")):
                    sinks[rel].write(pl.concat([getattr(b, attr) for b in made]))
                step(sum(b.deaths.height for b in made))
        for rel, sink in sinks.items():
            reporter.event("sample_file_written", file=rel, rows=sink.rows)
    rows = write_pcn_lookup(inbox / PCN_LOOKUP_FILE, geo)
    reporter.event("sample_file_written", file=PCN_LOOKUP_FILE, rows=rows)
    rows = _write_fingertips(inbox / FINGERTIPS_FILE)
    reporter.event("sample_file_written", file=FINGERTIPS_FILE, rows=rows)


def sample_files(directory: Path) -> list[tuple[str, Path, str | None]]:
    """(dataset, file, mapping name) for every input file of a sample project, in
    ingest order (areas, population, projections, deaths, register, activity).

    The mapping is the one whose name starts the file name (as `eolneeds run` picks
    it), else the dataset's own mapping, else None (canonical columns)."""
    root = Path(directory)
    mappings = load_config(root).mappings
    found: list[tuple[str, Path, str | None]] = []
    for dataset in ("areas", "practices", "population", "projections", "deaths", "register",
                    "activity", "benchmarks"):
        folder = root / "inbox" / dataset
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            names = [m.name for m in mappings.values()
                     if m.dataset == dataset and path.name.lower().startswith(m.name.lower())]
            if names:
                mapping: str | None = max(names, key=lambda n: (len(n), n))
            elif dataset in mappings and mappings[dataset].dataset == dataset:
                mapping = dataset
            else:
                mapping = None
            found.append((dataset, path, mapping))
    return found


# ---------------------------------------------------------------------------------------
# The bundled sample

BUNDLED_DEATHS = 24_000
BUNDLED_SEED = 2026
_KEY_PLACEHOLDER = 'key_file = "written by eolneeds when the sample is copied"'


def bundled_project(workdir: Path, *, reporter: Reporter | None = None) -> ProjectConfig:
    """Copy the bundled sample into workdir/sample, give it a throwaway key in
    workdir/sample.key (outside the project), ingest every file; return its config."""
    from eolneeds.resources import copy_tree, sample_data_dir

    reporter = reporter or Reporter()
    workdir = Path(workdir).resolve()
    project = workdir / "sample"
    if project.exists():
        shutil.rmtree(project)
    copy_tree(sample_data_dir(), project)
    key = workdir / "sample.key"
    key.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
    config_path = project / CONFIG_FILE
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(text.replace(_KEY_PLACEHOLDER, f"key_file = {toml_string(str(key))}"),
                           encoding="utf-8")
    config = load_config(project)
    ingest_sample(config, reporter=reporter)
    return config


def ingest_sample(config: ProjectConfig, *, reporter: Reporter) -> None:
    """Ingest every file of a sample project with its mapping, in dependency order."""
    from eolneeds.ingest import ingest_files

    for dataset, path, mapping in sample_files(config.root):
        ingest_files(config, dataset, [path], mapping=mapping, reporter=reporter)


def rebuild_bundled(target: Path, *, reporter: Reporter) -> None:
    """Regenerate sample_data/ (keeps its __init__.py): a small gzip run of the
    generator plus the deliberately messy files."""
    target = Path(target)
    for entry in target.iterdir():
        if entry.name in ("__init__.py", "__pycache__"):
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    write_sample_files(target, deaths=BUNDLED_DEATHS, seed=BUNDLED_SEED, reporter=reporter,
                       gzipped=True)
    (target / CONFIG_FILE).write_text(sample_config_text(None, key_line=_KEY_PLACEHOLDER),
                                      encoding="utf-8")
    write_messy_files(target, deaths=BUNDLED_DEATHS, seed=BUNDLED_SEED)
    (target / "README.md").write_text(BUNDLED_README, encoding="utf-8")


BUNDLED_README = f"""\
# The bundled synthetic sample

What `eolneeds assess` runs on when there is no project: a fictional ICB with six
Places, {BUNDLED_DEATHS:,} deaths from 2023-04-01 to 2026-10-31 and the register, activity,
population, areas and projections that go with them, written by `eolneeds.sample`
(seed {BUNDLED_SEED}, gzip CSV), plus a few deliberately messy files for the data-quality
report (see inbox/README.txt). Every person and number is made up.

Do not edit these files by hand. Regenerate them with

    python -m eolneeds.sample --rebuild-bundled

`eolneeds.sample.bundled_project(workdir)` copies this folder, gives the copy a throwaway
pseudonymisation key outside it, and ingests every file.
"""


# The deliberately messy files of the bundled sample, so that the data-quality report has
# something to show. Each is read by its own mapping, named as the start of the file name.
MESSY_MAPPINGS: dict[str, str] = {
    "deaths_registrar": """\
# A local death extract from a neighbouring registration office: exported from Excel as
# cp1252 (Windows) text, dd/mm/yyyy dates, place of death in words. Encoding "auto"
# detects cp1252; write encoding = "cp1252" to force it.
dataset = "deaths"
encoding = "auto"
nhs_number = true
date_format = "%d/%m/%Y"

[columns]
person_id = "NHS No"
date_of_death = "Date of Death"
date_of_registration = "Date Registered"
age = "Age at Death"
sex = "Gender"
lsoa_code = "LSOA of Residence"
underlying_cause = "Underlying Cause (ICD-10)"
contributory_causes = ["Cause 2", "Cause 3"]
place_of_death = "Place of Death"
ethnicity = "Ethnicity"

[recode.place_of_death]
"Patient's home" = "home"
"Nursing/residential home" = "care_home"
"St Catherine's Hospice" = "hospice"
""",
    "register_hospice": """\
# St Catherine's Hospice register, an Excel workbook with a title block above the table:
# the headers are on row 4 of the sheet "Register".
dataset = "register"
format = "xlsx"
sheet = "Register"
header_row = 4
nhs_number = true
date_format = "%d/%m/%Y"

[columns]
person_id = "NHS number"
date_added = "Date added to register"
preferred_place_of_death = "Preferred place of death"
dnacpr = "DNACPR in place"
""",
}

MESSY_README = """
Deliberately messy files (bundled sample only), so the data-quality report has work to do:

deaths/deaths_registrar_2026.csv    cp1252-encoded local extract (é, £, — in it),
                                    dd/mm/yyyy dates. Bad rows: an impossible date
                                    (31/02/2026), an NHS number with a wrong check digit,
                                    an unknown place of death ("Caravan park"), an LSOA
                                    not in the areas file, and a death already in
                                    deaths_pcmd.csv (a duplicate)
register/register_hospice.xlsx      Excel workbook with three title rows above the header
                                    (mapping: sheet + header_row = 4), dates as Excel dates
                                    and as text, and a "Total" row at the bottom
"""


def write_messy_files(target: Path, *, deaths: int, seed: int) -> None:
    """Add the messy files (and their mappings) to a sample written by write_sample_files."""
    from openpyxl import Workbook

    rng = _stream(seed, 3)
    for name, text in MESSY_MAPPINGS.items():
        (target / "mappings" / f"{name}.toml").write_text(text, encoding="utf-8")
    with (target / "inbox" / "README.txt").open("a", encoding="utf-8") as fh:
        fh.write(MESSY_README)
    inbox = target / "inbox"
    with gzip.open(inbox / "deaths" / "deaths_pcmd.csv.gz", "rb") as fh:
        pcmd = pl.read_csv(fh.read(), infer_schema_length=0)
    with gzip.open(inbox / "areas" / "areas_lsoa2021.csv.gz", "rb") as fh:
        lsoas = pl.read_csv(fh.read())["lsoa_code"].to_list()
    blocks = (deaths + BLOCK - 1) // BLOCK
    used = deaths + blocks * round(LIVING_PER_DEATH * BLOCK)
    fresh = [str(x) for x in nhs_numbers(used + 60)[used:]]

    # 1. The cp1252 local death extract: 52 late registrations of new people ...
    places = ["Patient's home", "Hospital", "Nursing/residential home",
              "St Catherine's Hospice", "Hospital", "Own home", "Elsewhere"]
    causes = ["C34.9", "I25.1", "F03X", "J44.9", "C18.9", "I63.9", "J18.9", "G30.9"]
    rows: list[list[str]] = []
    for i in range(52):
        died = date(2026, 10, 1) + timedelta(days=int(rng.integers(0, 31)))
        rows.append([
            fresh[i], died.strftime("%d/%m/%Y"),
            (died + timedelta(days=int(rng.integers(2, 12)))).strftime("%d/%m/%Y"),
            str(int(rng.integers(58, 99))), ["M", "F"][int(rng.integers(0, 2))],
            lsoas[int(rng.integers(0, len(lsoas)))], causes[int(rng.integers(0, len(causes)))],
            "I10", "", places[int(rng.integers(0, len(places)))],
            ["White British", "Indian", "Caribbean", "Not stated"][int(rng.integers(0, 4))],
            "Ashbourne Vale — Lévêque House", "Dr Zoë Brontë (£ fee waived)",
        ])
    # ... and the bad rows, each a known fault (see MESSY_README).
    rows[3][1] = "31/02/2026"  # impossible date
    bad = fresh[52]
    rows[7][0] = bad[:9] + str((int(bad[9]) + 1) % 10)  # wrong check digit
    rows[11][9] = "Caravan park"  # unknown place of death
    rows[15][5] = "E01999999"  # LSOA not in the areas file
    dup = pcmd.row(0, named=True)  # the same death as deaths_pcmd.csv row 2
    dod = dup["REG_DATE_OF_DEATH"]
    rows.append([
        dup["DEC_NHS_NUMBER"], f"{dod[6:8]}/{dod[4:6]}/{dod[0:4]}", "", dup["DEC_AGEC"],
        "M" if dup["DEC_SEX"] == "1" else "F", dup["DEC_LSOA"],
        dup["S_UNDERLYING_COD_ICD10"], "", "", "Hospital", "White British",
        "Ashbourne Vale — Lévêque House", "Dr Zoë Brontë (£ fee waived)",
    ])
    header = ["NHS No", "Date of Death", "Date Registered", "Age at Death", "Gender",
              "LSOA of Residence", "Underlying Cause (ICD-10)", "Cause 2", "Cause 3",
              "Place of Death", "Ethnicity", "Registration District", "Certifying Doctor"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    (inbox / "deaths" / "deaths_registrar_2026.csv").write_bytes(out.getvalue().encode("cp1252"))

    # 2. The hospice register workbook: people from the main deaths file who died of
    # cancer, added in the months before death.
    cancer = pcmd.filter(pl.col("S_UNDERLYING_COD_ICD10").str.to_uppercase().str.starts_with("C"))
    chosen = cancer.head(240)
    book = Workbook()
    sheet = book.active
    sheet.title = "Register"
    sheet["A1"] = "St Catherine's Hospice — palliative care register"
    sheet["A2"] = "Extract produced 14/11/2026 by the clinical systems team"
    sheet.append([])
    sheet.append(["NHS number", "Surname initial", "Date added to register",
                  "Preferred place of death", "DNACPR in place"])
    prefs = ["Home", "Hospice", "Hospice IPU", "Care home", "Hospital", None]
    for i, row in enumerate(chosen.iter_rows(named=True)):
        dod = date(int(row["REG_DATE_OF_DEATH"][:4]), int(row["REG_DATE_OF_DEATH"][4:6]),
                   int(row["REG_DATE_OF_DEATH"][6:]))
        added = dod - timedelta(days=int(rng.integers(3, 200)))
        number = row["DEC_NHS_NUMBER"]
        spaced = f"{number[:3]} {number[3:6]} {number[6:]}"
        # Every fourth date is typed as text, as when cells were pasted in.
        cell_date: object = added.strftime("%d/%m/%Y") if i % 4 == 0 else added
        sheet.append([spaced, "ABCDEFGHJKLMNPRSTW"[i % 18], cell_date,
                      prefs[int(rng.integers(0, len(prefs)))],
                      "Yes" if rng.random() < 0.8 else "No"])
    sheet.append([f"Total: {chosen.height} patients", None, None, None, None])
    for row_cells in sheet.iter_rows(min_row=5, min_col=3, max_col=3):
        for cell in row_cells:
            if isinstance(cell.value, date):
                cell.number_format = "DD/MM/YYYY"
    book.save(inbox / "register" / "register_hospice.xlsx")


def _main(argv: list[str]) -> int:
    if argv != ["--rebuild-bundled"]:
        sys.stderr.write("usage: python -m eolneeds.sample --rebuild-bundled\n")
        return 2
    target = Path(__file__).resolve().parent.parent / "sample_data"
    rebuild_bundled(target, reporter=Reporter())
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    print(f"rebuilt {target} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))


"""Built-in mappings for national extract layouts (ARCHITECTURE.md, "Presets").

A preset says which source column feeds each canonical column, and derives the columns
whose meaning is spread over several national fields (place of death from the three
POD_* fields, activity type from ADMIMETH) with the fixed rules of REFERENCE.md. A
user's mapping can still override any column, recode values and set defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eolneeds.config import DEFAULT_EMERGENCY_ADMIMETH
from eolneeds.errors import ConfigError
from eolneeds.normalise import sql_literal

PRESETS: tuple[str, ...] = ("pcmd_deaths", "hes_apc", "ecds_ae", "ods_epcn")


@dataclass(frozen=True)
class Derived:
    """A canonical column computed from several source columns by a SQL expression.

    `build` receives the SQL of each source (trimmed text, NULL when empty or absent)
    and returns SQL giving text that the column's ordinary parser then checks.
    """

    sources: tuple[str, ...]
    build: Callable[[Sequence[str]], str]
    optional: tuple[str, ...] = ()  # sources that may be absent from the file


# canonical column -> one source column, a list of sources (list columns), or Derived
SourceSpec = str | list[str] | Derived


@dataclass(frozen=True)
class Preset:
    name: str
    dataset: str
    columns: dict[str, SourceSpec]
    # source columns a file in this layout must have (others are used when present)
    required_sources: tuple[str, ...]
    nhs_number: bool = True
    defaults: dict[str, str] = field(default_factory=dict)


def _in(expr: str, codes: Sequence[int]) -> str:
    return f"{expr} IN ({', '.join(str(c) for c in codes)})"


def place_of_death_sql(sources: Sequence[str]) -> str:
    """POD_CODE, POD_NHS_ESTABLISHMENT, POD_ESTABLISHMENT_TYPE -> place of death.

    PHE 2019 classification (REFERENCE.md), rules applied in order. Establishment type
    is read as a number so '1' and '01' are the same. Non-NHS types 52 and 64 are
    religious establishments (as in the national indicator code), which the table's
    'other' range would otherwise swallow, so they are tested first.
    """
    pod_code, nhs_flag, est_type = sources
    code = f"upper({pod_code})"
    nhs = f"TRY_CAST({nhs_flag} AS INTEGER)"
    kind = f"TRY_CAST({est_type} AS INTEGER)"
    other_non_nhs = (
        f"({_in(kind, (5, 8, 9))} OR {kind} BETWEEN 11 AND 13 OR {kind} BETWEEN 15 AND 17 "
        f"OR {kind} BETWEEN 23 AND 31 OR {kind} BETWEEN 34 AND 82)"
    )
    return (
        "(CASE "
        f"WHEN {code} = 'H' THEN 'home' "
        f"WHEN {code} = 'E' THEN 'other' "
        f"WHEN {kind} = 83 THEN 'hospice' "
        f"WHEN {nhs} = 1 AND {_in(kind, (1, 3, 18, 99))} THEN 'hospital' "
        f"WHEN {nhs} = 2 AND {_in(kind, (1, 18, 19))} THEN 'hospital' "
        f"WHEN {nhs} = 1 AND {_in(kind, (2, 4, 7, 10, 21))} THEN 'care_home' "
        f"WHEN {nhs} = 2 AND {_in(kind, (3, 4, 7, 10, 14, 20, 22, 32, 33, 99))} "
        "THEN 'care_home' "
        f"WHEN {nhs} = 2 AND {_in(kind, (52, 64))} THEN 'religious' "
        f"WHEN {nhs} = 1 AND {_in(kind, (5, 6, 8, 9, 11))} THEN 'other' "
        f"WHEN {nhs} = 2 AND {other_non_nhs} THEN 'other' "
        "ELSE 'unknown' END)"
    )


def place_of_death(pod_code: str | None, nhs_flag: str | None, est_type: str | None) -> str:
    """Python reference of place_of_death_sql (for tests)."""
    code = (pod_code or "").strip().upper()
    try:
        nhs: int | None = int((nhs_flag or "").strip())
    except ValueError:
        nhs = None
    try:
        kind: int | None = int((est_type or "").strip())
    except ValueError:
        kind = None
    if code == "H":
        return "home"
    if code == "E":
        return "other"
    if kind == 83:
        return "hospice"
    if (nhs == 1 and kind in (1, 3, 18, 99)) or (nhs == 2 and kind in (1, 18, 19)):
        return "hospital"
    if (nhs == 1 and kind in (2, 4, 7, 10, 21)) or (
        nhs == 2 and kind in (3, 4, 7, 10, 14, 20, 22, 32, 33, 99)
    ):
        return "care_home"
    if nhs == 2 and kind in (52, 64):
        return "religious"
    if nhs == 1 and kind in (5, 6, 8, 9, 11):
        return "other"
    if nhs == 2 and kind is not None and (
        kind in (5, 8, 9) or 11 <= kind <= 13 or 15 <= kind <= 17 or 23 <= kind <= 31
        or 34 <= kind <= 82
    ):
        return "other"
    return "unknown"


def admission_type_sql(emergency: Sequence[str]) -> Callable[[Sequence[str]], str]:
    """ADMIMETH -> activity type: emergency list (configurable), 11-13 elective, else other."""

    def build(sources: Sequence[str]) -> str:
        method = f"upper({sources[0]})"
        codes = ", ".join(sql_literal(c.upper()) for c in emergency)
        return (
            f"(CASE WHEN {method} IN ({codes}) THEN 'emergency_admission' "
            f"WHEN {method} IN ('11', '12', '13') THEN 'elective_admission' "
            "ELSE 'other' END)"
        )

    return build


def get_preset(
    name: str, *, emergency_methods: Sequence[str] = DEFAULT_EMERGENCY_ADMIMETH,
    where: str = "mapping",
) -> Preset:
    if name == "pcmd_deaths":
        return Preset(
            name=name,
            dataset="deaths",
            columns={
                "person_id": "DEC_NHS_NUMBER",
                "date_of_death": "REG_DATE_OF_DEATH",
                "date_of_registration": "REG_DATE",
                "age": "DEC_AGEC",
                "sex": "DEC_SEX",
                "lsoa_code": "DEC_LSOA",
                "underlying_cause": "S_UNDERLYING_COD_ICD10",
                "contributory_causes": [f"S_COD_CODE_{i}" for i in range(1, 16)],
                "place_of_death": Derived(
                    ("POD_CODE", "POD_NHS_ESTABLISHMENT", "POD_ESTABLISHMENT_TYPE"),
                    place_of_death_sql,
                ),
                "ethnicity": "ETHNIC_GROUP",
                "gp_practice": "GP_PRACTICE_CODE",
            },
            required_sources=(
                "DEC_NHS_NUMBER", "REG_DATE_OF_DEATH", "DEC_AGEC", "DEC_SEX", "DEC_LSOA",
                "S_UNDERLYING_COD_ICD10", "POD_CODE", "POD_NHS_ESTABLISHMENT",
                "POD_ESTABLISHMENT_TYPE",
            ),
        )
    if name == "hes_apc":
        return Preset(
            name=name,
            dataset="activity",
            columns={
                "person_id": "PERSON_ID",
                "start_date": "ADMIDATE",
                "end_date": "DISDATE",
                "admission_method": "ADMIMETH",
                "activity_type": Derived(("ADMIMETH",), admission_type_sql(emergency_methods)),
                "treatment_function": "TRETSPEF",
                "cost": "SPELL_COST",
            },
            required_sources=("PERSON_ID", "ADMIDATE", "ADMIMETH"),
        )
    if name == "ecds_ae":
        return Preset(
            name=name,
            dataset="activity",
            columns={"person_id": "PERSON_ID", "start_date": "ARRIVAL_DATE", "cost": "COST"},
            required_sources=("PERSON_ID", "ARRIVAL_DATE"),
            defaults={"activity_type": "ae_attendance"},
        )
    if name == "ods_epcn":
        return ods_epcn_preset()
    raise ConfigError(f"{where}: preset {name!r} is not known — use one of {', '.join(PRESETS)}")


# The sheet of NHS England's ePCN workbook (epcn.xlsx) that lists each practice's PCN;
# the workbook opens on a PCN details sheet, so a mapping names this one.
ODS_EPCN_SHEET = "PCN Core Partner Details"


def ods_epcn_preset() -> Preset:
    """ODS practice-to-PCN lookup (ePCN workbook, sheet 'PCN Core Partner Details', or
    the ODS 'epcncorepartnerdetails' CSV with its headers): one row per practice-to-PCN
    relationship. Practice codes are ODS (prescribing cost centre) codes, PCN codes
    'U' and five digits. No person identifiers."""
    return Preset(
        name="ods_epcn",
        dataset="practices",
        columns={
            "practice_code": "Partner Organisation Code",
            "practice_name": "Partner Name",
            "pcn_code": "PCN Code",
            "pcn_name": "PCN Name",
            "start_date": "Practice to PCN Relationship Start Date",
            "end_date": "Practice to PCN Relationship End Date",
        },
        required_sources=("Partner Organisation Code", "PCN Code"),
        nhs_number=False,
    )

"""The indicator catalogue, as data (eolneeds/reference/indicators.toml).

`eolneeds indicators`, the report's definitions page and the Excel Notes sheet are all
generated from `load_catalogue()`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Indicator:
    id: str
    name: str
    theme: str  # 'mortality_need' | 'place_of_death' | 'identification' | 'hospital_use'
    definition: str
    numerator: str
    denominator: str  # '—' where none
    unit: str
    method: str  # P | R | DSR | M | Q | C
    breakdowns: tuple[str, ...]  # e.g. ('sex', 'imd_quintile'); ('all',) means every one
    polarity: str  # 'higher_is_better' | 'lower_is_better' | 'neutral'
    query: str  # stem of the queries/ file that counts it
    inequality_summary: bool = False  # SII/RII rows are produced
    spc: bool = False  # monthly series with XmR chart
    headline: bool = False  # shown in the overview / CLI summary


def load_catalogue() -> list[Indicator]:
    raise NotImplementedError("filled in by the Indicators work")


def render_catalogue(fmt: str) -> str:
    raise NotImplementedError("filled in by the Indicators work")

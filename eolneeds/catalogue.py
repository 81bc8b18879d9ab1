"""The indicator catalogue, as data (eolneeds/reference/indicators.toml).

`eolneeds indicators`, the report's definitions page and the Excel Notes sheet are all
generated from `load_catalogue()`; assess reads the same entries to know which query
columns make each indicator, which breakdowns to keep and which get SII/RII and SPC rows.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from eolneeds.resources import reference_file

# What `breakdowns = ["all"]` stands for (INDICATORS.md, "Breakdowns").
STANDARD_BREAKDOWNS: tuple[str, ...] = (
    "imd_quintile", "sex", "age_band", "ethnic_group", "ethnic_group_broad", "cause_group",
)
METHODS: tuple[str, ...] = ("P", "R", "DSR", "M", "Q", "C")
THEMES: dict[str, str] = {
    "mortality_need": "Mortality and need",
    "place_of_death": "Place of death",
    "identification": "Identification and planning",
    "hospital_use": "Hospital and community care at the end of life",
}
POLARITIES: tuple[str, ...] = ("higher_is_better", "lower_is_better", "neutral")


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
    total_row: bool = True  # a breakdown 'all' row (False where it would always be 100%)
    numerator_column: str = ""  # column of the query result holding the numerator
    denominator_column: str = ""  # ... and the denominator ('' for none)

    @property
    def label(self) -> str:
        """The name as tables and findings show it: a rate's unit is part of what it
        means, so 'per 100,000' is added where the name does not already say it."""
        if self.unit == "per 100,000" and "100,000" not in self.name:
            return f"{self.name} (per 100,000)"
        return self.name

    @property
    def breakdown_list(self) -> tuple[str, ...]:
        """The breakdowns with 'all' expanded, in a fixed order (without the total)."""
        out: list[str] = []
        for name in self.breakdowns:
            for b in STANDARD_BREAKDOWNS if name == "all" else (name,):
                if b not in out:
                    out.append(b)
        return tuple(out)


@dataclass(frozen=True)
class Summary:
    """A described output that is not an indicator of its own (SII/RII, SPC, ...)."""

    id: str
    name: str
    definition: str


def _raw() -> dict[str, Any]:
    with reference_file("indicators.toml").open("rb") as fh:
        return tomllib.load(fh)


@lru_cache(maxsize=1)
def _load() -> tuple[tuple[Indicator, ...], tuple[Summary, ...]]:
    raw = _raw()
    indicators = []
    for entry in raw.get("indicator", []):
        entry = dict(entry)
        entry["breakdowns"] = tuple(entry.get("breakdowns", ()))
        indicators.append(Indicator(**entry))
    summaries = tuple(Summary(**entry) for entry in raw.get("summary", []))
    return tuple(indicators), summaries


def load_catalogue() -> list[Indicator]:
    """Every indicator, in catalogue (report) order."""
    return list(_load()[0])


def load_summaries() -> list[Summary]:
    """Descriptions of the SII/RII summaries, the SPC series, data quality, disclosure."""
    return list(_load()[1])


def indicator_by_id() -> dict[str, Indicator]:
    return {ind.id: ind for ind in _load()[0]}


def _breakdown_text(ind: Indicator) -> str:
    text = ", ".join(ind.breakdowns) if ind.breakdowns else "—"
    return text


def render_catalogue(fmt: str) -> str:
    """The catalogue as a plain-text table, Markdown or JSON."""
    indicators = load_catalogue()
    summaries = load_summaries()
    if fmt == "json":
        payload = {
            "indicators": [
                {**asdict(ind), "breakdowns": list(ind.breakdowns)} for ind in indicators
            ],
            "summaries": [asdict(s) for s in summaries],
        }
        return json.dumps(payload, indent=2, ensure_ascii=False)
    if fmt == "markdown":
        lines = ["# Indicator catalogue", ""]
        for theme, title in THEMES.items():
            lines += [f"## {title}", "",
                      "| id | name | numerator | denominator | unit | method | breakdowns |",
                      "|---|---|---|---|---|---|---|"]
            for ind in indicators:
                if ind.theme == theme:
                    cells = [f"`{ind.id}`", ind.name, ind.numerator, ind.denominator,
                             ind.unit, ind.method, _breakdown_text(ind)]
                    lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
            lines.append("")
        lines += ["## Definitions", ""]
        for ind in indicators:
            lines += [f"**`{ind.id}`** — {ind.definition}", ""]
        for summary in summaries:
            lines += [f"## {summary.name}", "", summary.definition, ""]
        return "\n".join(lines).rstrip() + "\n"
    if fmt == "table":
        header = ("id", "method", "unit", "breakdowns", "name")
        rows = [
            (ind.id, ind.method, ind.unit, _breakdown_text(ind), ind.name) for ind in indicators
        ]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
        out = []
        for row in [header, tuple("-" * len(h) for h in header), *rows]:
            out.append("  ".join(
                [cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)] + [row[-1]]
            ).rstrip())
        out.append("")
        out.append("Also: " + "; ".join(s.name for s in summaries) + ".")
        out.append("Full definitions: eolneeds indicators --format markdown")
        return "\n".join(out)
    raise ValueError(f"unknown catalogue format {fmt!r}: use table, markdown or json")

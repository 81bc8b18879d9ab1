"""Key findings: the few sentences a commissioner reads first, written from the data.

Each finding answers one question a commissioner asks ("which Place has the most
hospital deaths?", "who is missing from the register?", "where are admissions high?",
"what does it cost?", "how does need grow?"), then the wider picture (Places that differ
from the ICB, the ICB and each Place against England, the steepest inequality
gradients). Every number comes from the indicator table as published: a suppressed or
missing value is never used, so a finding cannot reveal what disclosure control hid. A
finding whose evidence is missing is left out rather than guessed.

The findings are plain data (the `Finding` dataclass) so the HTML report and the Excel
packs can show the same sentences; `evidence` names the section and Place that hold
the numbers behind each one, and each writer turns that into its own link.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeGuard

import polars as pl

from eolneeds.bundle import BenchmarkValue, cost_per_death, cost_source_text
from eolneeds.catalogue import indicator_by_id
from eolneeds.formatting import (
    fmt_count,
    fmt_interval,
    fmt_money_rounded,
    fmt_number,
    fmt_value,
    is_missing,
    judge,
    plural,
    unit_decimals,
)

PROJECTION_ID = "pc_need_projected"


@dataclass(frozen=True)
class Finding:
    key: str  # stable id: 'hospital_deaths', 'register_gap', 'admissions', 'cost', ...
    question: str  # the commissioner's question it answers
    headline: str  # one short line with the number
    detail: str  # one or two sentences of context
    section: str  # where the evidence is: 'place' | 'overview' | 'projections' |
    #               'inequalities' | 'england'
    place: str | None = None  # the Place code, when the evidence is in a Place section
    question_key: str = ""  # the Place question ('place', 'identification', 'hospital')
    evidence: str = ""  # link text: what the reader will find there


def _versus(comparison: str | None, polarity: str, comparator: str) -> str:
    verdict = judge(comparison, polarity)
    if verdict.key in ("similar", "not_compared"):
        return ""
    direction = str(comparison)
    meaning = f" ({verdict.key})" if verdict.key in ("better", "worse") else ""
    return f", significantly {direction} than {comparator}{meaning}"


SHOWN_PLACES = 2  # a finding card names this many Places; the evidence lists them all


def _most_first(places: list[tuple[int, str]], where: str) -> str:
    """'A: ...; B: ...; and 3 more Places (see where).' The Places with the most
    differences first (ties in Place order), so a card stays a few lines long."""
    ranked = [text for _, text in sorted(places, key=lambda p: -p[0])]
    shown = "; ".join(ranked[:SHOWN_PLACES])
    rest = len(ranked) - SHOWN_PLACES
    if rest > 0:
        return f"{shown}; and {rest} more {plural(rest, 'Place')} (see {where})."
    return f"{shown}."


def _published(row: dict[str, Any] | None) -> TypeGuard[dict[str, Any]]:
    return row is not None and not row["suppressed"] and not is_missing(row["value"])


def _period_key(period: str) -> str:
    """'2022/23' and '2022-23' name the same financial year; case and spaces aside."""
    return " ".join(period.replace("/", "-").lower().split())


def benchmark_period(benchmark: BenchmarkValue, local_period: str) -> str:
    """The words beside a national (or regional) value wherever it is compared with a
    local one: its period, and whether that differs from the local value's, so that an
    England 2023 value is never read as if it were this report's 2025-26.

    '2025-26' (the same period), '2023, not 2025-26' (a different one), or
    'period not stated' (typed into [benchmarks], or a download without a period);
    then, where the definitions may differ (DiUPR), how: '2023, not 2025-26; England
    leaves out external causes; counted here' (BenchmarkValue.definition)."""
    period = (benchmark.period or "").strip()
    if not period:
        words = "period not stated"
    elif _period_key(period) == _period_key(local_period):
        words = period
    else:
        words = f"{period}, not {local_period}"
    return f"{words}; {benchmark.definition}" if benchmark.definition else words


def versus_benchmark(row: dict[str, Any] | None, benchmark: float) -> str | None:
    """'higher', 'lower' or 'similar': an area's published value against a national
    value (England's interval is far narrower than an ICB's or a Place's, so it is
    taken as fixed); None when the area has no published interval to compare."""
    if not _published(row) or is_missing(row["lower_ci_95"]) \
            or is_missing(row["upper_ci_95"]):
        return None
    lo, hi = float(row["lower_ci_95"]), float(row["upper_ci_95"])
    return "higher" if benchmark < lo else "lower" if benchmark > hi else "similar"


class FindingsBuilder:
    """Reads the headline period's rows once; one method per finding."""

    def __init__(self, indicators: pl.DataFrame, *, icb_code: str, places: list[str],
                 period: str, place_name: Callable[[str], str],
                 england: dict[str, BenchmarkValue] | None = None,
                 unit_cost: float | None = None) -> None:
        self.icb = icb_code
        self.unit_cost = unit_cost  # [methods] unit_cost_per_bed_day, for the cost's source
        self.places = places
        self.period = period
        self.place_name = place_name
        self.england = england or {}
        self.catalogue = indicator_by_id()
        self.rows: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.projection: dict[str, dict[str, Any]] = {}
        for row in indicators.iter_rows(named=True):
            if row["indicator_id"] == PROJECTION_ID:
                if row["area_code"] == icb_code and row["breakdown"] == "all":
                    self.projection[row["period"]] = row
            elif row["period"] == period:
                self.rows[(row["indicator_id"], row["area_code"], row["breakdown"],
                           row["breakdown_value"])] = row

    # --- helpers -------------------------------------------------------------------
    def get(self, ind: str, area: str, breakdown: str = "all",
            value: str = "all") -> dict[str, Any] | None:
        return self.rows.get((ind, area, breakdown, value))

    def name(self, ind: str) -> str:
        entry = self.catalogue.get(ind)
        return entry.label if entry else ind

    def polarity(self, ind: str) -> str:
        entry = self.catalogue.get(ind)
        return entry.polarity if entry else "neutral"

    def value(self, row: dict[str, Any]) -> str:
        return fmt_value(row["value"], row["unit"], method=row["method"])

    def interval(self, row: dict[str, Any]) -> str:
        """' (95% CI 47.3 to 52.8)' beside a Place's value, so a reader sees how sure
        the verdict beside it is; '' where the row has no interval."""
        if is_missing(row["lower_ci_95"]) or is_missing(row["upper_ci_95"]):
            return ""
        limits = fmt_interval(row["lower_ci_95"], row["upper_ci_95"], row["unit"],
                              method=row["method"])
        return f" (95% CI {limits})"

    def ranked(self, ind: str) -> list[tuple[float, str, dict[str, Any]]]:
        """Places with a published value, highest first (ties by Place order)."""
        out: list[tuple[float, int, str, dict[str, Any]]] = []
        for i, place in enumerate(self.places):
            row = self.get(ind, place)
            if _published(row):
                out.append((float(row["value"]), -i, place, row))
        out.sort(reverse=True)
        return [(v, place, row) for v, _, place, row in out]

    def versus_icb(self, ind: str, row: dict[str, Any]) -> str:
        """', significantly higher than the ICB (worse)', or '' when similar."""
        return _versus(row["comparison"], self.polarity(ind), "the ICB")

    def england_text(self, ind: str) -> str:
        """', England 43.4% (2023, not 2025-26)' where a national value exists: its
        period always beside it ('period not stated' where unknown)."""
        eng = self.england.get(ind)
        if eng is None:
            return ""
        unit = self.catalogue[ind].unit if ind in self.catalogue else ""
        return (f", {eng.area_name} {fmt_value(eng.value, unit)} "
                f"({benchmark_period(eng, self.period)})")

    def highest(self, ind: str, key: str, question: str, what: str,
                question_key: str, evidence: str) -> Finding | None:
        """The Place with the highest published value, against the ICB and England."""
        ranked = self.ranked(ind)
        icb = self.get(ind, self.icb)
        if not ranked or not _published(icb):
            return None
        value, place, row = ranked[0]
        name = self.place_name(place)
        detail = (f"{self.value(row)} {what} {name}{self.interval(row)}"
                  f"{self.versus_icb(ind, row)}: "
                  f"ICB {self.value(icb)}{self.england_text(ind)}.")  # type: ignore[arg-type]
        if len(ranked) > 1:
            low_value, low_place, low_row = ranked[-1]
            detail += f" Lowest: {self.place_name(low_place)}, {self.value(low_row)}."
        return Finding(key=key, question=question,
                       headline=f"{name}: {self.value(row)}",
                       detail=detail, section="place", place=place,
                       question_key=question_key,
                       evidence=f"{evidence} in {name}")

    # --- the findings ----------------------------------------------------------------
    def hospital_deaths(self) -> Finding | None:
        return self.highest("pod_hospital_pct", "hospital_deaths",
                            "Where is the share of hospital deaths highest?",
                            "of deaths were in hospital in", "place", "Deaths in hospital")

    def register_gap(self) -> Finding | None:
        unidentified = self.get("unidentified_need", self.icb)
        identified = self.get("on_register_need_pct", self.icb)
        if not _published(unidentified) and not _published(identified):
            return None
        parts = []
        if _published(unidentified):
            headline = (f"{fmt_count(unidentified['value'])} people with needs not on a "  # type: ignore[index]
                        "register")
        else:
            headline = f"{self.value(identified)} of people with needs identified"  # type: ignore[arg-type]
        if _published(identified):
            parts.append(f"{self.value(identified)} of people who died with palliative "  # type: ignore[arg-type]
                         f"care needs were on a register"
                         f"{self.england_text('on_register_need_pct')}.")
        ranked = self.ranked("on_register_need_pct")
        place = None
        if ranked:
            _, place, row = ranked[-1]
            missing = self.get("unidentified_need", place)
            there = (f"; {fmt_count(missing['value'])} people with needs there were not on "  # type: ignore[index]
                     "a register" if _published(missing) else "")
            parts.append(f"Lowest: {self.place_name(place)}, {self.value(row)}"
                         f"{self.interval(row)}"
                         f"{self.versus_icb('on_register_need_pct', row)}{there}.")
        # Where most people are missed: a large Place can miss the most people without
        # the lowest share (published counts only).
        counts = [(float(r["value"]), p) for p in self.places
                  if _published(r := self.get("unidentified_need", p))]  # type: ignore[index]
        if counts:
            most, where = max(counts, key=lambda t: (t[0], t[1]))
            if where != place:
                parts.append(f"Most people not identified: {self.place_name(where)}, "
                             f"{fmt_count(most)}.")
        return Finding(key="register_gap", question="Who is missing from the register?",
                       headline=headline, detail=" ".join(parts),
                       section="place" if place else "overview", place=place,
                       question_key="identification",
                       evidence=(f"Identification in {self.place_name(place)}" if place
                                 else "Headline indicators"))

    def admissions(self) -> Finding | None:
        return self.highest("ea_last90_3plus_pct", "admissions",
                            "Where are emergency admissions high?",
                            "had three or more emergency admissions in their last 90 "
                            "days of life in", "hospital", "Emergency admissions")

    def cost(self) -> Finding | None:
        total = self.get("hospital_cost_last90", self.icb)
        if not _published(total):
            return None
        detail = "Hospital care in the last 90 days of life, across the ICB"
        per_death = cost_per_death(total)
        if per_death is not None:
            detail += (f": about {fmt_value(per_death, '£')} for each of the "
                       f"{fmt_count(total['denominator'])} people who died")  # type: ignore[index]
        detail += f" ({cost_source_text(self.unit_cost, short=True)})."
        ranked = self.ranked("hospital_cost_last90")
        place = None
        if ranked:
            _, place, row = ranked[0]
            detail += (f" Largest total: {self.place_name(place)}, "
                       f"{fmt_money_rounded(row['value'])}.")
        return Finding(key="cost", question="What does it cost?",
                       headline=f"{fmt_money_rounded(total['value'])} in {self.period}",  # type: ignore[index]
                       detail=detail, section="place" if place else "overview",
                       place=place, question_key="hospital",
                       evidence=(f"Hospital care in {self.place_name(place)}" if place
                                 else "Headline indicators"))

    def need_growth(self) -> Finding | None:
        years = sorted(self.projection)
        usable = [y for y in years
                  if not is_missing(self.projection[y]["denominator"])
                  and not self.projection[y]["suppressed"]
                  and not is_missing(self.projection[y]["numerator"])]
        if len(usable) < 2:
            return None
        first, last = self.projection[usable[0]], self.projection[usable[-1]]
        d0, d1 = float(first["denominator"]), float(last["denominator"])
        n0, n1 = float(first["numerator"]), float(last["numerator"])
        if d0 <= 0 or n0 <= 0:
            return None
        need_change = 100 * (n1 - n0) / n0
        deaths_change = 100 * (d1 - d0) / d0
        sign = "+" if need_change >= 0 else ""
        # Both ends are projections (calendar years); the rates behind them are those of
        # the reporting period (a financial year), which the text names.
        detail = (f"At {self.period} rates, population change alone takes deaths with "
                  f"palliative care need from {fmt_count(n0)} a year in {usable[0]} to "
                  f"{fmt_count(n1)} in {usable[-1]} (projected calendar years); all deaths "
                  f"from {fmt_count(d0)} to {fmt_count(d1)} "
                  f"({'+' if deaths_change >= 0 else ''}{fmt_number(deaths_change, 0)}%).")
        return Finding(key="need_growth", question="How does need grow?",
                       headline=f"{sign}{fmt_number(need_change, 0)}% need by {usable[-1]}",
                       detail=detail, section="projections",
                       evidence="Projections to 2040")

    def places_differ(self) -> Finding | None:
        headline_ids = [i.id for i in self.catalogue.values() if i.headline]
        differ: list[tuple[int, str]] = []
        for place in self.places:
            judged, neutral = [], []
            for ind in headline_ids:
                row = self.get(ind, place)
                if not _published(row):
                    continue
                verdict = judge(row["comparison"], self.polarity(ind))  # type: ignore[index]
                text = f"{self.name(ind).lower()} {row['comparison']}"  # type: ignore[index]
                if verdict.key in ("better", "worse"):
                    judged.append(f"{text} ({verdict.key})")
                elif verdict.key == "not_judged":
                    neutral.append(text)
            words = (judged + neutral)[:1]
            more = len(judged) + len(neutral) - len(words)
            if words:
                differ.append((len(judged) + len(neutral),
                               f"{self.place_name(place)}: {', '.join(words)}"
                               + (f" and {more} more" if more else "")))
        if not differ:
            detail = ("No Place differs significantly from the ICB on the headline "
                      "indicators (95% confidence).")
        else:
            detail = _most_first(differ, "the table of headline indicators")
        return Finding(key="places_differ",
                       question="Where does a Place differ from the ICB?",
                       headline=(f"{len(differ)} of {len(self.places)} Places differ"
                                 if differ else "No significant differences"),
                       detail=detail, section="overview",
                       evidence="Headline indicators, every Place")

    def england_differences(self, area: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(indicator, 'higher'|'lower', row) where the area differs significantly from
        England (95% interval against the national value), in catalogue order."""
        found = []
        for ind, eng in self.england.items():
            row = self.get(ind, area)
            comparison = versus_benchmark(row, eng.value)
            if comparison in ("higher", "lower") and row is not None:
                found.append((ind, comparison, row))
        return found

    def england_periods(self) -> str:
        """One sentence on the periods of the national values compared with, as the
        local values are this report's period: 'England values: 2023, not 2025-26 (3
        indicators); period not stated (2).'"""
        counts: dict[str, int] = {}
        for eng in self.england.values():
            words = benchmark_period(eng, self.period)
            counts[words] = counts.get(words, 0) + 1
        parts = [f"{words} ({n} {plural(n, 'indicator')})" if len(counts) > 1
                 else words for words, n in counts.items()]
        return f"England values: {'; '.join(parts)}."

    def _difference_text(self, ind: str, comparison: str) -> str:
        verdict = judge(comparison, self.polarity(ind))
        meaning = f" ({verdict.key})" if verdict.key in ("better", "worse") else ""
        return f"{self.name(ind).lower()} {comparison}{meaning}"

    def versus_england(self) -> Finding | None:
        """The ICB and each Place against England, wherever a national value and the
        area's interval allow."""
        if not self.england:
            return None
        icb = [f"{self._difference_text(ind, cmp)}: {self.value(row)} against "
               f"{fmt_value(self.england[ind].value, row['unit'])} "
               f"({benchmark_period(self.england[ind], self.period)})"
               for ind, cmp, row in self.england_differences(self.icb)]
        places: list[tuple[int, str]] = []
        for place in self.places:
            diffs = self.england_differences(place)
            if diffs:
                words = self._difference_text(*diffs[0][:2])
                more = f" and {len(diffs) - 1} more" if len(diffs) > 1 else ""
                places.append((len(diffs), f"{self.place_name(place)}: {words}{more}"))
        n = len(self.england)
        detail = (f"ICB: {'; '.join(icb)}." if icb else
                  f"The ICB does not differ significantly from England on the {n} "
                  "indicators with a national value.")
        # The periods before the Places, so the card says them even when cut short.
        detail += " " + self.england_periods()
        detail += (f" Places: {_most_first(places, 'the England section')}" if places else
                   " No Place differs significantly from England.")
        return Finding(key="versus_england",
                       question="How do the ICB and its Places compare with England?",
                       headline=(f"ICB differs on {len(icb)} of {n}; "
                                 f"{len(places)} of {len(self.places)} Places differ"),
                       detail=detail, section="england",
                       evidence="England alongside")

    def inequality(self, top: int = 3) -> Finding | None:
        """The `top` steepest gradients by deprivation across the ICB among those whose
        slope index (SII) is significant at 95% (its interval excludes zero)."""
        steepest: list[tuple[float, str, dict[str, Any], dict[str, Any] | None]] = []
        for (ind, area, breakdown, value), row in self.rows.items():
            if area != self.icb or breakdown != "imd_quintile" or value != "SII":
                continue
            if row["suppressed"] or is_missing(row["lower_ci_95"]) \
                    or is_missing(row["upper_ci_95"]):
                continue
            if row["lower_ci_95"] <= 0 <= row["upper_ci_95"]:
                continue  # not significant: no clear gradient
            rii = self.get(ind, self.icb, "imd_quintile", "RII")
            # RII is unit-free, so gradients of different indicators compare on it; |SII|
            # relative to the ICB value stands in when RII is missing.
            icb_row = self.get(ind, self.icb)
            if _published(rii) and float(rii["value"]) > 0:  # type: ignore[index]
                # On the log scale, so that a ratio of 0.5 is as steep as one of 2 (|RII - 1|
                # ranked 1.6 above 0.5, a gradient half as steep).
                steep = abs(math.log(float(rii["value"])))  # type: ignore[index]
            elif _published(icb_row) and float(icb_row["value"]) != 0:  # type: ignore[index]
                steep = abs(float(row["value"]) / float(icb_row["value"]))  # type: ignore[index]
            else:
                continue
            steepest.append((steep, ind, row, rii if _published(rii) else None))
        if not steepest:
            return None
        steepest.sort(key=lambda t: (-t[0], t[1]))
        parts = []
        for _, ind, sii, rii in steepest[:top]:
            # Quintile 1 (most deprived) sits at the left of the regression: a negative
            # SII means the indicator is higher where people are more deprived.
            direction = "higher" if sii["value"] < 0 else "lower"
            verdict = judge(direction, self.polarity(ind))
            meaning = {"worse": " (worse)", "better": " (better)"}.get(verdict.key, "")
            unit = sii["unit"]
            text = (f"{self.name(ind)} {direction} in more deprived areas{meaning}: SII "
                    f"{fmt_value(sii['value'], unit)} (95% CI "
                    f"{fmt_number(sii['lower_ci_95'], unit_decimals(unit))} to "
                    f"{fmt_number(sii['upper_ci_95'], unit_decimals(unit))})")
            if rii is not None:
                text += f", RII {fmt_number(rii['value'], 2)}"
            # By how much, in words a commissioner reads without the sign convention, and
            # where: the Places whose own gradient is significant the same way.
            gap_unit = "percentage points" if unit == "%" else unit  # a gap of percentages
            gap = fmt_value(abs(sii["value"]), gap_unit)
            if gap_unit and gap_unit not in gap:
                gap += f" {gap_unit}"  # '465.9 per 100,000': the unit is said, not implied
            text += (f", a modelled gap of {gap} between the "
                     f"most and the least deprived, {self._gradient_places(ind, sii)}")
            parts.append(text)
        shown = len(parts)
        detail = ("; ".join(parts) + ". Each is significant at 95% (the interval of the "
                  "slope index excludes zero)")
        detail += (f"; {len(steepest)} indicators in all have a significant gradient "
                   "across the ICB." if len(steepest) > shown else " across the ICB.")
        return Finding(key="inequality", question="Who is missing out?",
                       headline=("Steepest gradient by deprivation" if shown == 1 else
                                 f"The {shown} steepest gradients by deprivation"),
                       detail=detail, section="inequalities",
                       evidence="Inequalities by deprivation")

    def _gradient_places(self, ind: str, icb_sii: dict[str, Any]) -> str:
        """'significant in Ashbourne Vale and Fernholt' (the Places whose SII interval
        excludes zero on the ICB's side), or 'not significant in any Place on its own'."""
        negative = icb_sii["value"] < 0
        places = []
        for place in self.places:
            sii = self.get(ind, place, "imd_quintile", "SII")
            if not _published(sii) or is_missing(sii["lower_ci_95"]) \
                    or is_missing(sii["upper_ci_95"]):
                continue
            if (sii["upper_ci_95"] < 0) if negative else (sii["lower_ci_95"] > 0):
                places.append(self.place_name(place))
        if not places:
            return "not significant in any Place on its own"
        listed = ", ".join(places[:-1]) + f" and {places[-1]}" if len(places) > 1 else places[0]
        return f"significant in {listed}"

    def build(self) -> list[Finding]:
        makers = (self.hospital_deaths, self.register_gap, self.admissions, self.cost,
                  self.need_growth, self.places_differ, self.versus_england,
                  self.inequality)
        return [f for f in (make() for make in makers) if f is not None]


def key_findings(indicators: pl.DataFrame, *, icb_code: str, places: list[str],
                 period: str, place_name: Callable[[str], str],
                 england: dict[str, BenchmarkValue] | None = None,
                 unit_cost: float | None = None) -> list[Finding]:
    """The key findings for the headline period, most asked first."""
    return FindingsBuilder(indicators, icb_code=icb_code, places=places, period=period,
                           place_name=place_name, england=england,
                           unit_cost=unit_cost).build()

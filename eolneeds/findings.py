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

from eolneeds.bundle import BenchmarkValue, ReportBundle, cost_per_death, cost_source_text
from eolneeds.catalogue import indicator_by_id
from eolneeds.formatting import (
    fmt_count,
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
    # The full evidence (intervals, indices), shown in the section the finding links
    # to rather than on its card
    more: tuple[str, ...] = ()
    # The report section the detail sends the reader to ('the England section'), in
    # the words ' (see the England section)' (SEE_WORDS); an output without that
    # section says its own or none (detail_for)
    see: str = ""
    # The detail's opening words, which a short space shows after the headline (the
    # report's Place opening, above the Place's details, where the findings in full
    # would make the report too long to read): the detail always begins with them
    brief: str = ""

    def detail_for(self, see: str | None) -> str:
        """The detail as an output holding `see` instead of the report's section says
        it; None: an output with no such place, so the pointer goes."""
        if not self.see:
            return self.detail
        said = SEE_WORDS.format(self.see)
        return self.detail.replace(said, SEE_WORDS.format(see) if see else "")


SEE_WORDS = " (see {})"


@dataclass(frozen=True)
class Gradient:
    """A significant gradient by deprivation across the ICB (FindingsBuilder.gradients)."""

    ind: str
    steep: float  # |log RII|, or |SII| / ICB value where there is no RII
    sii: dict[str, Any]
    rii: dict[str, Any] | None
    direction: str  # 'higher' | 'lower' in more deprived areas
    verdict: str  # judge(direction, polarity).key: how more deprived areas fare


#: A percentage indicator with a gradient by deprivation, said of people: (the short
#: words for a card's headline, the full words, whom the percentage is of). One not
#: listed is named by its catalogue name.
PEOPLE_WORDS: dict[str, tuple[str, str, str]] = {
    "spc_last_year_pct": ("had specialist palliative care",
                          "had specialist palliative care in their last year of life",
                          "people who died"),
    "ea_last90_3plus_pct": ("had 3+ emergency admissions before death",
                            "had three or more emergency admissions in their last 90 "
                            "days of life", "people who died"),
    "pod_hospital_pct": ("died in hospital", "were in hospital", "deaths"),
    "diupr_pct": ("died where they usually lived",
                  "were in the person's usual place of residence (home, care home or "
                  "religious establishment)", "deaths"),
    "on_register_need_pct": ("were identified for palliative care",
                             "were on a palliative care register before death",
                             "people who died with palliative care needs"),
}


def _about(people: float) -> int:
    """A modelled number of people, rounded as it is said ('about 200', 'about 65'):
    to the nearest 10 from 100, else to the nearest 5."""
    step = 10 if people >= 100 else 5
    return int(math.floor(people / step + 0.5) * step)


def _listed(names: list[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]


def _versus(comparison: str | None, polarity: str, comparator: str) -> str:
    verdict = judge(comparison, polarity)
    if verdict.key in ("similar", "not_compared"):
        return ""
    direction = str(comparison)
    meaning = f" ({verdict.key})" if verdict.key in ("better", "worse") else ""
    return f", significantly {direction} than {comparator}{meaning}"


ENGLAND_SECTION = "the England section"  # where the report compares every Place with England
SHOWN_PLACES = 2  # a finding card names this many Places; the evidence lists them all


def _most_first(places: list[tuple[int, str]], where: str) -> str:
    """'A: ...; B: ...; and 3 more Places (see where).' The Places with the most
    differences first (ties in Place order), so a card stays a few lines long."""
    ranked = [text for _, text in sorted(places, key=lambda p: -p[0])]
    shown = "; ".join(ranked[:SHOWN_PLACES])
    rest = len(ranked) - SHOWN_PLACES
    if rest > 0:
        return f"{shown}; and {rest} more {plural(rest, 'Place')}{SEE_WORDS.format(where)}."
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
    words = period_words(benchmark, local_period)
    return f"{words}; {benchmark.definition}" if benchmark.definition else words


def period_words(benchmark: BenchmarkValue, local_period: str) -> str:
    """benchmark_period without the definition: the period alone."""
    period = (benchmark.period or "").strip()
    if not period:
        return "period not stated"
    if _period_key(period) == _period_key(local_period):
        return period
    return f"{period}, not {local_period}"


def versus_benchmark(row: dict[str, Any] | None, benchmark: float) -> str | None:
    """'higher', 'lower' or 'similar': an area's published value against a national
    value (England's interval is far narrower than an ICB's or a Place's, so it is
    taken as fixed); None when the area has no published interval to compare."""
    if not _published(row) or is_missing(row["lower_ci_95"]) \
            or is_missing(row["upper_ci_95"]):
        return None
    lo, hi = float(row["lower_ci_95"]), float(row["upper_ci_95"])
    return "higher" if benchmark < lo else "lower" if benchmark > hi else "similar"


def _tallied(name: str, against: str, measure: str, compared: int,
             found: dict[str, list[str]]) -> tuple[str, list[str]]:
    """A Place against a comparator, as a headline and the detail's sentences: 'X is
    worse than the ICB on 2 of 6 headline measures and better on 1', then 'Worse: ...'
    (found: 'worse', 'better', 'other' -> the measures said, each with its values)."""
    worse, better, other = found["worse"], found["better"], found["other"]
    of = f"{compared} {plural(compared, measure)}"
    if worse:
        headline = f"{name} is worse than {against} on {len(worse)} of {of}" + (
            f" and better on {len(better)}" if better else "")
    elif better:
        headline = f"{name} is better than {against} on {len(better)} of {of}"
    elif other:
        headline = f"{name} differs from {against} on {len(other)} of {of}"
    elif compared > 1:
        headline = f"{name} is similar to {against} on all {of} compared"
    else:
        headline = f"{name} is similar to {against} on the one {measure} compared"
    parts = [f"{word}: {'; '.join(items)}." for word, items in
             (("Worse", worse), ("Better", better),
              ("Different, with no better direction", other)) if items]
    return headline, parts


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
        # Only the rows a finding reads (the headline period's totals and deprivation
        # quintiles, the ICB's projections), picked out by polars before the Python loop:
        # an England-scale table is millions of rows, most of them GP practices and PCNs.
        wanted = indicators.filter(
            ((pl.col("period") == period) & pl.col("breakdown").is_in(["all", "imd_quintile"]))
            | ((pl.col("indicator_id") == PROJECTION_ID) & (pl.col("area_code") == icb_code)
               & (pl.col("breakdown") == "all")))
        for row in wanted.iter_rows(named=True):
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
                question_key: str, evidence: str, most: str) -> Finding | None:
        """The Place with the highest published value, against the ICB and England;
        `most` begins the headline, a sentence ('Deaths in hospital are highest in')."""
        ranked = self.ranked(ind)
        icb = self.get(ind, self.icb)
        if not ranked or not _published(icb):
            return None
        value, place, row = ranked[0]
        name = self.place_name(place)
        # In words: 'significantly higher' says how sure; the interval is in the
        # tables the card links to, not in a commissioner's sentence.
        detail = (f"{self.value(row)} {what} {name}{self.versus_icb(ind, row)}: "
                  f"ICB {self.value(icb)}{self.england_text(ind)}.")  # type: ignore[arg-type]
        if len(ranked) > 1:
            low_value, low_place, low_row = ranked[-1]
            detail += f" Lowest: {self.place_name(low_place)}, {self.value(low_row)}."
        return Finding(key=key, question=question,
                       headline=f"{most} {name}: {self.value(row)}",
                       detail=detail, section="place", place=place,
                       question_key=question_key,
                       evidence=f"{evidence} in {name}")

    # --- the findings ----------------------------------------------------------------
    def hospital_deaths(self) -> Finding | None:
        return self.highest("pod_hospital_pct", "hospital_deaths",
                            "Where is the share of hospital deaths highest?",
                            "of deaths were in hospital in", "place", "Deaths in hospital",
                            "Deaths in hospital are highest in")

    def register_gap(self) -> Finding | None:
        unidentified = self.get("unidentified_need", self.icb)
        identified = self.get("on_register_need_pct", self.icb)
        if not _published(unidentified) and not _published(identified):
            return None
        parts = []
        if _published(unidentified):
            headline = (f"{fmt_count(unidentified['value'])} people with needs were not "  # type: ignore[index]
                        "on a register")
        else:
            headline = (f"{self.value(identified)} of people with needs were "  # type: ignore[arg-type]
                        "identified")
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
                            "days of life in", "hospital", "Emergency admissions",
                            "Repeat emergency admissions are highest in")

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
                       # What the money is for, in a sentence to repeat.
                       headline=(f"{fmt_money_rounded(total['value'])} on hospital care "  # type: ignore[index]
                                 "in the last 90 days of life"),
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
        # Both ends are projections (calendar years, as the projections' note says); the
        # rates behind them are those of the reporting period (a financial year), which
        # the text names.
        detail = (f"At {self.period} rates, population change alone takes deaths with "
                  f"palliative care need from {fmt_count(n0)} a year in {usable[0]} to "
                  f"{fmt_count(n1)} in {usable[-1]}; all deaths "
                  f"from {fmt_count(d0)} to {fmt_count(d1)} "
                  f"({'+' if deaths_change >= 0 else ''}{fmt_number(deaths_change, 0)}%).")
        return Finding(key="need_growth", question="How does need grow?",
                       # In words, not '+38%': plainer, and a cell of the packs' Key
                       # findings sheet may not begin with '+' (safety.neutralise).
                       headline=(f"Need projected to "
                                 f"{'rise' if need_change >= 0 else 'fall'} "
                                 f"{fmt_number(abs(need_change), 0)}% by {usable[-1]}"),
                       detail=detail, section="projections",
                       evidence="Projections to 2040")

    def places_differ(self) -> Finding | None:
        """Where a Place differs from the ICB, as a commissioner acts on it: the Place
        significantly worse on the most headline measures (ties in Place order), then the
        other Places worse on any, then those better. Its link opens that Place, whose
        section begins with what stands out there."""
        headline_ids = [i.id for i in self.catalogue.values() if i.headline]
        # (Place, measures worse, measures better, measures compared), in Place order
        tally: list[tuple[str, int, int, int]] = []
        for place in self.places:
            verdicts = [judge(row["comparison"], self.polarity(ind)).key
                        for ind in headline_ids if _published(row := self.get(ind, place))]
            compared = sum(v != "not_compared" for v in verdicts)
            tally.append((place, verdicts.count("worse"), verdicts.count("better"),
                          compared))
        worst = sorted((t for t in tally if t[1]), key=lambda t: -t[1])  # stable: Place order
        best = sorted((t for t in tally if t[2]), key=lambda t: -t[2])

        def named(items: list[tuple[str, int, int, int]], column: int) -> str:
            shown = [f"{self.place_name(t[0])} ({t[column]} of {t[3]})"
                     for t in items[:SHOWN_PLACES]]
            rest = len(items) - SHOWN_PLACES
            return ", ".join(shown) + (f" and {rest} more" if rest > 0 else "")

        question = "Where does a Place differ from the ICB?"
        if not worst and not best:
            return Finding(key="places_differ", question=question,
                           headline="No Place differs significantly from the ICB",
                           detail=("No Place is significantly better or worse than the ICB "
                                   "on the headline measures (95% confidence)."),
                           section="overview", evidence="Headline indicators, every Place")
        lead, column, word = (worst[0], 1, "worse") if worst else (best[0], 2, "better")
        name = self.place_name(lead[0])
        detail = []
        if len(worst if worst else best) > 1:
            detail.append(f"Also {word}: {named((worst if worst else best)[1:], column)}.")
        if worst and best:
            detail.append(f"Better than the ICB: {named(best, 2)}.")
        detail.append("Measures counted where the difference is significant (unlikely to be "
                      "chance, 95% confidence).")
        return Finding(key="places_differ", question=question,
                       headline=(f"{name} is {word} than the ICB on {lead[column]} of "
                                 f"{lead[3]} headline measures"),
                       detail=" ".join(detail), section="place", place=lead[0],
                       evidence=f"What stands out in {name}")

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
        local values are this report's period, grouped by period alone (a definition
        that differs is said once, england_differences_said): 'England values: 2023,
        not 2025-26 (3 measures); period not stated (2 measures).'"""
        counts: dict[str, int] = {}
        for eng in self.england.values():
            words = period_words(eng, self.period)
            counts[words] = counts.get(words, 0) + 1
        parts = [f"{words} ({n} {plural(n, 'measure')})" if len(counts) > 1
                 else words for words, n in counts.items()]
        return f"England values: {'; '.join(parts)}."

    def england_differences_said(self) -> str:
        """Each way a national definition differs from this assessment's, once (care
        homes and other places differ by the same religious establishments)."""
        return " ".join(dict.fromkeys(e.difference for e in self.england.values()
                                      if e.difference))

    def _difference_text(self, ind: str, comparison: str) -> str:
        verdict = judge(comparison, self.polarity(ind))
        meaning = f" ({verdict.key})" if verdict.key in ("better", "worse") else ""
        return f"{self.name(ind).lower()} {comparison}{meaning}"

    def versus_england(self) -> Finding | None:
        """The ICB and each Place against England, wherever a national value and the
        area's interval allow. The headline says plainly how the ICB compares (worse
        on so many measures, better on so many); the detail names them, worse first,
        then the periods of England's values and any definition that differs, once,
        then the Places."""
        if not self.england:
            return None
        compared = sum(versus_benchmark(self.get(ind, self.icb), eng.value) is not None
                       for ind, eng in self.england.items())
        by_verdict: dict[str, list[str]] = {"worse": [], "better": [], "other": []}
        for ind, cmp, row in self.england_differences(self.icb):
            verdict = judge(cmp, self.polarity(ind)).key
            meaning = f", {verdict}" if verdict in ("worse", "better") else ""
            by_verdict[verdict if verdict in ("worse", "better") else "other"].append(
                f"{self.name(ind).lower()} {self.value(row)} against "
                f"{fmt_value(self.england[ind].value, row['unit'])} ({cmp}{meaning})")
        worse, better, other = by_verdict["worse"], by_verdict["better"], by_verdict["other"]
        of = f"of {compared} {plural(compared, 'measure')}"
        if worse or better:
            said = ([f"worse than England on {len(worse)} {of}"] if worse else []) + (
                [f"better on {len(better)}" if worse else
                 f"better than England on {len(better)} {of}"] if better else [])
            headline = "The ICB is " + " and ".join(said)
        elif other:
            headline = f"The ICB differs from England on {len(other)} {of}"
        elif compared:
            headline = (f"The ICB is similar to England on all {compared} measures compared"
                        if compared > 1 else "The ICB is similar to England")
        else:
            headline = "The ICB could not be compared with England"
        differing = worse + better + other
        detail = (f"ICB against England: {'; '.join(differing)}." if differing else
                  "The ICB does not differ significantly from England on any measure "
                  "with a national value." if compared else
                  "The ICB's values have no published interval to compare.")
        # The periods before the Places, so the card says them even when cut short.
        detail += " " + self.england_periods()
        if said_once := self.england_differences_said():
            detail += " " + said_once
        places: list[tuple[int, str]] = []
        for place in self.places:
            diffs = self.england_differences(place)
            if diffs:
                words = self._difference_text(*diffs[0][:2])
                rest = len(diffs) - 1
                more = f" and {rest} more {plural(rest, 'measure')}" if rest else ""
                places.append((len(diffs), f"{self.place_name(place)}: {words}{more}"))
        detail += (f" Places that differ ({len(places)} of {len(self.places)}): "
                   f"{_most_first(places, ENGLAND_SECTION)}" if places else
                   " No Place differs significantly from England.")
        return Finding(key="versus_england",
                       question="How do the ICB and its Places compare with England?",
                       headline=headline, detail=detail, section="england",
                       evidence="England alongside",
                       see=ENGLAND_SECTION if SEE_WORDS.format(ENGLAND_SECTION) in detail
                       else "")

    def gradients(self) -> list[Gradient]:
        """The ICB's significant gradients by deprivation (the slope index's 95% interval
        excludes zero), steepest first: by |log RII| (unit-free, so gradients of
        different indicators compare; a ratio of 0.5 is as steep as one of 2), with
        |SII| relative to the ICB value standing in where the RII is missing."""
        found: list[Gradient] = []
        for (ind, area, breakdown, value), row in self.rows.items():
            if area != self.icb or breakdown != "imd_quintile" or value != "SII":
                continue
            if row["suppressed"] or is_missing(row["value"]) \
                    or is_missing(row["lower_ci_95"]) or is_missing(row["upper_ci_95"]):
                continue
            if row["lower_ci_95"] <= 0 <= row["upper_ci_95"]:
                continue  # not significant: no clear gradient
            rii = self.get(ind, self.icb, "imd_quintile", "RII")
            icb_row = self.get(ind, self.icb)
            if _published(rii) and float(rii["value"]) > 0:
                steep = abs(math.log(float(rii["value"])))
            elif _published(icb_row) and float(icb_row["value"]) != 0:
                steep = abs(float(row["value"]) / float(icb_row["value"]))
            else:
                continue
            # Quintile 1 (most deprived) sits at the left of the regression: a negative
            # SII means the indicator is higher where people are more deprived.
            direction = "higher" if row["value"] < 0 else "lower"
            found.append(Gradient(ind, steep, row, rii if _published(rii) else None,
                                  direction, judge(direction, self.polarity(ind)).key))
        found.sort(key=lambda g: (-g.steep, g.ind))
        return found

    def gradient_text(self, g: Gradient) -> str:
        """The full evidence of one gradient, for the Inequalities section: its slope
        index with the 95% interval, the relative index, the modelled gap in words that
        need no sign convention, and the Places where it is significant on its own."""
        sii, unit = g.sii, g.sii["unit"]
        meaning = {"worse": " (worse)", "better": " (better)"}.get(g.verdict, "")
        text = (f"{self.name(g.ind)} {g.direction} in more deprived areas{meaning}: SII "
                f"{fmt_value(sii['value'], unit)} (95% CI "
                f"{fmt_number(sii['lower_ci_95'], unit_decimals(unit))} to "
                f"{fmt_number(sii['upper_ci_95'], unit_decimals(unit))})")
        if g.rii is not None:
            text += f", RII {fmt_number(g.rii['value'], 2)}"
        gap_unit = "percentage points" if unit == "%" else unit  # a gap of percentages
        gap = fmt_value(abs(sii["value"]), gap_unit)
        if gap_unit and gap_unit not in gap:
            gap += f" {gap_unit}"  # '465.9 per 100,000': the unit is said, not implied
        places = self.gradient_places(g)
        where = (f"significant in {_listed(places)}" if places
                 else "not significant in any Place on its own")
        return (f"{text}, a modelled gap of {gap} between the most and the least "
                f"deprived, {where}.")

    def deprived_gap(self, g: Gradient) -> tuple[dict[str, Any], dict[str, Any], int] | None:
        """(most deprived fifth's row, least deprived fifth's row, people): for a
        percentage, how many more (or fewer) people of the most deprived fifth had the
        outcome than at the least deprived fifth's rate, from published values only
        (both quintiles and the denominator), rounded; None where a value is hidden,
        the two fifths disagree with the slope index's direction, or the number rounds
        below 10 (a difference that small is not a headline)."""
        most = self.get(g.ind, self.icb, "imd_quintile", "1")
        least = self.get(g.ind, self.icb, "imd_quintile", "5")
        if not _published(most) or not _published(least) or most["unit"] != "%" \
                or is_missing(most["denominator"]):
            return None
        difference = float(most["value"]) - float(least["value"])
        if (difference > 0) != (g.direction == "higher") or difference == 0:
            return None  # the ends disagree with the modelled slope: no count to give
        people = _about(abs(difference) / 100 * float(most["denominator"]))
        return (most, least, people) if people >= 10 else None

    def gradient_places(self, g: Gradient) -> list[str]:
        """The Places whose own slope index is significant on the ICB's side."""
        negative = g.sii["value"] < 0
        places = []
        for place in self.places:
            sii = self.get(g.ind, place, "imd_quintile", "SII")
            if not _published(sii) or is_missing(sii["lower_ci_95"]) \
                    or is_missing(sii["upper_ci_95"]):
                continue
            if (sii["upper_ci_95"] < 0) if negative else (sii["lower_ci_95"] > 0):
                places.append(self.place_name(place))
        return places

    def inequality(self) -> Finding | None:
        """Who is missing out, as a commissioner acts on it: the gradient by deprivation
        that costs the most deprived fifth of neighbourhoods the most people (who, how
        many), the Places where it is significant (where), and the other measures worse
        for them. The slope and relative indices with their intervals, for every
        significant gradient, go to the Inequalities section (`more`)."""
        found = self.gradients()
        if not found:
            return None
        more = tuple(self.gradient_text(g) for g in found)
        worse = [g for g in found if g.verdict == "worse"]
        if not worse:
            n = len(found)
            return Finding(
                key="inequality", question="Who is missing out?",
                headline="No measure is significantly worse in more deprived areas",
                detail=(f"{n} measure{'s' if n > 1 else ''} differ{'' if n > 1 else 's'} "
                        "by deprivation across the ICB, none to the disadvantage of "
                        "more deprived areas."),
                section="inequalities", evidence="Inequalities by deprivation", more=more)
        counted = [(gap[2], -i, g, gap) for i, g in enumerate(worse)
                   if (gap := self.deprived_gap(g)) is not None]
        if counted:
            people, _, lead, (most, least, _) = max(counted, key=lambda t: (t[0], t[1]))
            short, full, who = PEOPLE_WORDS.get(
                lead.ind, (f"with {self.name(lead.ind).lower()}",) * 2 + ("people",))
            than = "more" if lead.direction == "higher" else "fewer"
            headline = (f"In the most deprived areas, about {fmt_count(people)} {than} "
                        f"people {short}")
            detail = (f"In the most deprived fifth of neighbourhoods, {self.value(most)} "
                      f"of the {fmt_count(most['denominator'])} {who} {full}, against "
                      f"{self.value(least)} in the least deprived fifth: about "
                      f"{fmt_count(people)} {than} people than at that rate.")
        else:
            lead = worse[0]
            headline = (f"People in the most deprived areas fare worse on "
                        f"{self.name(lead.ind).lower()}")
            detail = (f"{self.name(lead.ind)} is {lead.direction} in more deprived "
                      "neighbourhoods, to their disadvantage.")
        places = self.gradient_places(lead)
        if places:
            rest = len(places) - SHOWN_PLACES
            named = (", ".join(places[:SHOWN_PLACES])
                     + f" and {rest} more Place{'s' if rest > 1 else ''}" if rest > 0
                     else _listed(places))
            detail += f" The gap is significant (unlikely to be chance) in {named}."
        else:
            detail += (" The gap is significant across the ICB, not in any Place on its "
                       "own.")
        others = [self.name(g.ind).lower() for g in worse if g is not lead]
        if others:
            rest = len(others) - 1
            detail += (f" Also worse for them: {others[0]}"
                       + (f" and {rest} more measure{'s' if rest > 1 else ''}." if rest
                          else "."))
        return Finding(key="inequality", question="Who is missing out?",
                       headline=headline, detail=detail, section="inequalities",
                       evidence="Inequalities by deprivation", more=more)

    # --- one Place's own findings (its pack's first rows) ---------------------------
    def place_findings(self, place: str) -> list[Finding]:
        """What stands out in one Place, for its own pack: against the ICB on the
        headline measures, against England, who is missing out within it, and what its
        hospital care at the end of life cost. Published values only, like every
        finding: a hidden value is never named, compared or counted."""
        name = self.place_name(place)
        makers = (self.place_versus_icb, self.place_versus_england,
                  self.place_missing_out, self.place_cost)
        return [f for f in (make(place, name) for make in makers) if f is not None]

    def place_versus_icb(self, place: str, name: str) -> Finding | None:
        found: dict[str, list[str]] = {"worse": [], "better": [], "other": []}
        compared = 0
        for ind in (i.id for i in self.catalogue.values() if i.headline):
            row, icb = self.get(ind, place), self.get(ind, self.icb)
            if not _published(row) or not _published(icb):
                continue
            verdict = judge(row["comparison"], self.polarity(ind)).key
            if verdict == "not_compared":
                continue
            compared += 1
            if verdict != "similar":
                said = (f"{self.name(ind).lower()} {self.value(row)} against the ICB's "
                        f"{self.value(icb)}")
                if verdict not in ("worse", "better"):
                    said += f" ({row['comparison']})"
                found[verdict if verdict in ("worse", "better") else "other"].append(said)
        if not compared:
            return None
        headline, parts = _tallied(name, "the ICB", "headline measure", compared, found)
        parts.append("Counted where the difference is significant (unlikely to be "
                     "chance, 95% confidence).")
        return Finding(key="place_versus_icb", question=f"What stands out in {name}?",
                       headline=headline, detail=" ".join(parts), section="overview",
                       place=place, evidence=f"Headline indicators in {name}")

    def place_versus_england(self, place: str, name: str) -> Finding | None:
        if not self.england:
            return None
        compared = sum(versus_benchmark(self.get(ind, place), eng.value) is not None
                       for ind, eng in self.england.items())
        if not compared:
            return None
        found: dict[str, list[str]] = {"worse": [], "better": [], "other": []}
        for ind, cmp, row in self.england_differences(place):
            verdict = judge(cmp, self.polarity(ind)).key
            said = (f"{self.name(ind).lower()} {self.value(row)} against England's "
                    f"{fmt_value(self.england[ind].value, row['unit'])}")
            found[verdict if verdict in ("worse", "better") else "other"].append(
                said if verdict in ("worse", "better") else f"{said} ({cmp})")
        headline, parts = _tallied(name, "England", "measure", compared, found)
        parts.append(self.england_periods())
        if said_once := self.england_differences_said():
            parts.append(said_once)
        return Finding(key="place_versus_england",
                       question=f"How does {name} compare with England?",
                       headline=headline, detail=" ".join(parts), section="england",
                       place=place, evidence=f"England beside {name}")

    def place_missing_out(self, place: str, name: str) -> Finding | None:
        """The gradients by deprivation significant within the Place (its own slope
        index's 95% interval excludes zero), grouped by how more deprived
        neighbourhoods fare."""
        fare: dict[str, list[str]] = {"worse": [], "better": [], "other": []}
        measured = 0
        for ind in self.catalogue:
            sii = self.get(ind, place, "imd_quintile", "SII")
            if not _published(sii) or is_missing(sii["lower_ci_95"]) \
                    or is_missing(sii["upper_ci_95"]):
                continue
            measured += 1
            if sii["lower_ci_95"] <= 0 <= sii["upper_ci_95"]:
                continue
            # Quintile 1 (most deprived) at the left: a negative SII = higher there.
            direction = "higher" if sii["value"] < 0 else "lower"
            verdict = judge(direction, self.polarity(ind)).key
            fare[verdict if verdict in ("worse", "better") else "other"].append(
                f"{self.name(ind).lower()} ({direction} there)")
        if not measured:
            return None
        worse, better, other = fare["worse"], fare["better"], fare["other"]
        if worse:
            headline = (f"People in {name}'s more deprived neighbourhoods fare worse on "
                        f"{len(worse)} {plural(len(worse), 'measure')}")
        elif better or other:
            headline = (f"No measure is significantly worse in {name}'s more deprived "
                        "neighbourhoods")
        else:
            headline = f"No measure differs significantly by deprivation within {name}"
        # Whom, by name: the report's Place opening shows these beside the headline.
        named = " ".join(f"{word}: {'; '.join(items)}." for word, items in
                         (("Worse", worse), ("Better", better),
                          ("Different, with no better direction", other)) if items)
        detail = " ".join(filter(None, (
            named, f"{measured} {plural(measured, 'measure')} compared across the "
                   f"deprivation fifths of {name}'s neighbourhoods; a gradient counts "
                   "where it is significant (unlikely to be chance, 95% confidence).")))
        return Finding(key="place_missing_out", question=f"Who is missing out in {name}?",
                       headline=headline, detail=detail, section="inequalities",
                       place=place, evidence=f"Inequalities by deprivation in {name}",
                       brief=named)

    def place_cost(self, place: str, name: str) -> Finding | None:
        total = self.get("hospital_cost_last90", place)
        if not _published(total):
            return None
        detail = f"Hospital care in the last 90 days of life of people who died in {name}"
        per_death = cost_per_death(total)
        if per_death is not None:
            detail += (f": about {fmt_value(per_death, '£')} for each of the "
                       f"{fmt_count(total['denominator'])} people who died")
            icb_per_death = cost_per_death(self.get("hospital_cost_last90", self.icb))
            if icb_per_death is not None:
                detail += f", against {fmt_value(icb_per_death, '£')} across the ICB"
        detail += f" ({cost_source_text(self.unit_cost, short=True)})."
        return Finding(key="place_cost", question=f"What does hospital care cost in {name}?",
                       headline=(f"{fmt_money_rounded(total['value'])} on hospital care "
                                 f"in the last 90 days of life in {name}"),
                       detail=detail, section="place", place=place, question_key="hospital",
                       evidence=f"Hospital care in {name}")

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


def findings_builder(bundle: ReportBundle,
                     place_name: Callable[[str], str]) -> FindingsBuilder:
    """The builder of one assessment's findings (its rows read once): the key findings
    (build) and each Place's own (place_findings)."""
    config = bundle.config
    return FindingsBuilder(bundle.indicators, icb_code=config.icb_code,
                           places=list(bundle.places) or [p.code for p in config.places],
                           period=bundle.headline_period, place_name=place_name,
                           england=bundle.england(),
                           unit_cost=config.methods.unit_cost_per_bed_day)


def bundle_findings(bundle: ReportBundle, place_name: Callable[[str], str]) -> list[Finding]:
    """The key findings of one assessment, as the report and every pack show them."""
    return findings_builder(bundle, place_name).build()

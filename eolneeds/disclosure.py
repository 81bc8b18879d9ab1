"""Small-number disclosure control for the indicator table (DESIGN.md section 8).

Applied last, to the whole long table, by `apply_disclosure`:

1. Primary suppression: a count from 1 to min_count - 1 (default 1-7) is hidden. The
   count protected depends on the method: the numerator of counts, proportions and
   rates; the number of people behind a mean, a median or a cost (the denominator); for
   proportions the denominator too (5 of 5 tells the same story as 0 of 5 does not).
2. Publication rules (ONS mortality practice, applied whatever min_count is because
   they are about reliability): directly standardised rates are not published below 10
   events, crude rates below 3; rates on fewer than 20 events are noted as unreliable.
3. Secondary suppression: a hidden count must not come back from any combination of the
   sums the table publishes (_relations: breakdowns, breakdowns nested in another,
   Places to the ICB, shorter periods to longer ones, places of death, need,
   projections, a percentage's numerator within its denominator). Two names for the
   same people are one count (_COUNT_ALIASES by definition, _same_counts by the data).
   What a sum leaves over (deaths of unknown place of death, sex or age; of external
   causes; the 3 people outside 98.5% of 200) is a count too: a latent count, never
   published, protected like a hidden cell where it is 1-7. A cheap pairing rule hides
   complementary counts first, each the one whose rows are worth least (_row_cost:
   headline and SII-quintile rows weigh most, a latent count nothing, a count that
   would start a cascade pays for it); an exact check (sparse elimination over every
   sum, no size limit) finds what is still determined, one more count is hidden for
   each, and the two repeat. Then _release publishes again every complementary count
   that gives nothing away, and the exact check runs once more: a table it cannot make
   safe is not written (fail closed).
4. SII/RII rows built on a hidden quintile are hidden.
5. Optional rounding of the remaining counts to the nearest 5 or 10.

A hidden row keeps no value, no intervals and no numerator or denominator;
`suppressed` is true and `note` names the rule. 0 is never suppressed (it discloses
nobody). `min_count = 0` (or 1) turns 1, 3 and 5 off; modelled projections are exempt.
"""

from __future__ import annotations

import functools
import gc
import heapq
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from typing import ParamSpec, TypeVar

import numpy as np
import polars as pl

from eolneeds.config import DisclosureConfig

_P = ParamSpec("_P")
DSR_MIN_EVENTS = 10
CRUDE_RATE_MIN_EVENTS = 3
RELIABLE_MIN_EVENTS = 20
SUMMARY_VALUES = ("SII", "RII")
#: The deprivation 'quintile' of deaths in LSOAs the deprivation file does not rank (an
#: LSOA of another vintage): a part of every total like any quintile, but no group of an
#: inequality summary (neither counted, pooled nor, when hidden, hiding the summary).
UNKNOWN_QUINTILE = "unknown"
_VALUE_COLUMNS = (
    "numerator", "denominator", "value", "lower_ci_95", "upper_ci_95",
    "lower_ci_99_8", "upper_ci_99_8",
)


def suppressed_note(min_count: int) -> str:
    """The note of every count hidden by the small-number rule, whichever step hid it.
    One wording on purpose: a note that told a count of 1-7 (primary) from one hidden
    with it (secondary) would tell a reader that the first is at least 1 and the second
    0 or at least 8, and with the published sums that pins hidden counts exactly (an
    independent audit recovered 50 counts of a 3,000-death project that way). ONS marks
    every such cell [c] alike."""
    return (f"suppressed: a count of 1-{min_count - 1}, or a count that would let one be "
            "worked out (disclosure control)")


DSR_NOTE = f"not published: fewer than {DSR_MIN_EVENTS} events for a standardised rate (ONS)"
CRUDE_NOTE = f"not published: fewer than {CRUDE_RATE_MIN_EVENTS} events for a crude rate (ONS)"
UNRELIABLE_NOTE = f"unreliable: fewer than {RELIABLE_MIN_EVENTS} events"
SII_NOTE = "suppressed: a deprivation quintile is suppressed"
PROJECTION_NOTE = ("withheld: the count of the base period it is projected from is "
                   "suppressed")
#: Projected counts are rounded to the nearest PROJECTION_ROUNDING.
PROJECTION_ROUNDING = 10.0


def _join_note(existing: pl.Expr, addition: str) -> pl.Expr:
    return (
        pl.when(existing.is_null() | (existing == ""))
        .then(pl.lit(addition))
        .otherwise(existing + pl.lit("; " + addition))
    )


# ---------------------------------------------------------------------------------------
# The counts behind the table, and the sums that tie them together
#
# A count of people is published in many rows: deaths in a Place's quintile 3 is the
# numerator of `deaths` and `crude_death_rate`, and the denominator of every percentage
# of deaths in that cell. Disclosure control therefore works on the counts, not the
# rows: a count is named (what it counts, area, period, breakdown, value), hidden once,
# and every row that carries it is hidden. Then no row can give back what another hides.

#: Query columns that count the same people as another column. By definition: a death
#: with a DNACPR decision, an advance care plan or a preferred place recorded on an entry
#: dated on or before death (planning_deaths.sql: the 'dated' counts behind the medians)
#: is on a register before death (register.sql, advance_care_planning.sql), so those are
#: the register counts. Names the data show to be one count are merged too (_same_counts).
_COUNT_ALIASES = {"cause_deaths": "deaths", "cause_denominator": "deaths",
                  "dnacpr_dated": "dnacpr_register", "acp_dated": "acp_register",
                  "ppod_dated": "ppod_recorded"}
#: Place of death categories: together they are all deaths (DESIGN.md section 5).
_POD_COUNTS = ("pod_home", "pod_care_home", "pod_hospital", "pod_hospice", "pod_other")
Key = tuple[str, str, str, str, str]  # count name, area_code, period, breakdown, value


def _count_roles() -> dict[str, tuple[str | None, str | None]]:
    """indicator id -> (name of the count its numerator carries, name of the count its
    denominator carries); None where that column is not a count of people (a sum of bed
    days or money, a population)."""
    from eolneeds.catalogue import load_catalogue

    roles: dict[str, tuple[str | None, str | None]] = {}
    for ind in load_catalogue():
        num: str | None = _COUNT_ALIASES.get(ind.numerator_column, ind.numerator_column)
        den: str | None = ind.denominator_column or None
        den = _COUNT_ALIASES.get(den, den) if den else None
        if ind.method in ("R", "DSR"):
            den = None  # a population, not a count of people who died
        if ind.method == "DSR":
            # Deaths of known age: usually the same count as the deaths of the cell, but
            # its own sums where an age is missing (tied to the deaths in _relations).
            num = f"dsr_{num}"
        if ind.method == "M" or ind.unit == "£":
            num = None  # a sum of days or of money
        if ind.method == "Q":
            num = den  # assess puts the number of people in the numerator
        if ind.method == "C" and ind.id.endswith("_projected"):
            num, den = "projected", "projected_deaths"
        roles[ind.id] = (num, den)
    return roles


def _row_keys(frame: pl.DataFrame, projected: set[str]) -> list[tuple[Key | None, Key | None]]:
    """The (numerator, denominator) count keys of every row, in row order."""
    roles = _count_roles()
    out: list[tuple[Key | None, Key | None]] = []
    for ind, method, unit, area, period, bd, value in frame.select(
        "indicator_id", "method", "unit", "area_code", "period", "breakdown", "breakdown_value"
    ).iter_rows():
        if bd == "imd_quintile" and value in SUMMARY_VALUES:
            out.append((None, None))
            continue
        if ind in roles:
            num, den = roles[ind]
        else:  # an indicator outside the catalogue: protect by method, counts its own
            num = f"{ind}.numerator" if method in ("C", "P", "R", "DSR") and unit != "£" else None
            den = f"{ind}.denominator" if method in ("P", "M", "Q") or unit == "£" else None
        num_key: Key | None = (num, area, period, bd, value) if num else None
        den_key: Key | None = (den, area, period, bd, value) if den else None
        if ind in projected:
            if bd == "all":
                num_key = ("projected_need", area, period, bd, value)
            den_key = ("projected_deaths", area, period, "all", "all")
        elif bd == "cause_group" and den == "deaths" and num == "deaths" and ind in roles:
            den_key = ("deaths", area, period, "all", "all")  # share of all deaths
        elif bd == "cause_group_imd_quintile" and den == "deaths" and ind in roles:
            den_key = ("deaths", area, period, "imd_quintile", str(value).split(": ")[0])
        out.append((num_key, den_key))
    return out


#: Counts of a subset of the people of another count (part, whole), beyond the
#: numerator and denominator of a percentage (those are tied in apply_disclosure): the
#: difference is a count of people too (admitted once or twice; on the register without
#: a need cause; dated but not on the register), and can be small.
_SUBSETS = (
    ("need_on_register", "on_register"), ("ea_3plus", "ea_any"),
    ("dnacpr_need", "dnacpr_register"), ("acp_need", "acp_register"),
    ("ppod_need", "ppod_recorded"),
    # A need death with a DNACPR decision (a plan, a preference) recorded before death is
    # a need death on a register.
    ("dnacpr_need", "need_on_register"), ("acp_need", "need_on_register"),
    ("ppod_need", "need_on_register"),
)
#: Counts that are model outputs: their residuals are not counts of people.
_MODELLED = frozenset({"projected", "projected_need", "projected_deaths"})
Relation = tuple[Key, ...]
#: (breakdown, breakdown it nests in) -> category -> the category it lies in.
Nesting = dict[tuple[str, str], dict[str, str]]


def nested_breakdowns(combinations: pl.DataFrame) -> Nesting:
    """Breakdowns whose categories each lie in one category of another breakdown, found
    in the combinations of breakdown values the deaths have (one column per breakdown,
    e.g. death_cells): every age band lies in one age group (0-64 and 65-74 in under 75),
    so the bands of an age group add up to it, a sum the table publishes too. A
    breakdown nests in another that has fewer categories (two or more) where each of
    its categories meets only one of the other's."""
    columns = [c for c in combinations.columns if combinations[c].n_unique() >= 2]
    out: Nesting = {}
    for child in columns:
        for parent in columns:
            if child == parent or combinations[child].n_unique() <= combinations[parent].n_unique():
                continue
            pairs = combinations.select(child, parent).unique().drop_nulls()
            if pairs[child].is_duplicated().any():
                continue
            out[(child, parent)] = {str(c): str(p) for c, p in pairs.iter_rows()}
    return out


def _sorted_keys(keys: Iterable[tuple], flat: bool = False) -> list:
    """Keys (tuples of strings of one length; `flat`: pairs of such keys) in the order
    sorted() gives them, faster: each compared as one string joined with NUL, which
    sorts below every other character (so a prefix sorts first, as in tuple order)."""
    items = list(keys)
    try:
        if flat:
            return sorted(items, key=lambda pair: "\x00".join(pair[0] + pair[1]))
        return sorted(items, key="\x00".join)
    except TypeError:  # not all strings
        return sorted(items)


def _residual_name(total: Key, tag: str) -> str:
    """The name of the count a sum leaves over (its total less its published parts)."""
    return f"{total[0]}~{tag}"


def _month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def _months_left(spans: dict[str, tuple[date, date]], whole: str,
                 parts: Iterable[str]) -> str | None:
    """The months of period `whole` that none of the periods `parts` covers, as a label
    ('months 2025-11, 2026-10'; None where a period is not whole months)."""
    if whole not in spans:
        return None
    start, end = spans[whole]
    left = set(range(_month_index(start), _month_index(end) + 1))
    for part in parts:
        if part not in spans:
            return None
        s, e = spans[part]
        left -= set(range(_month_index(s), _month_index(e) + 1))
    return "months " + ", ".join(f"{m // 12:04d}-{m % 12 + 1:02d}" for m in sorted(left))


def _relations(values: dict[Key, float], period_parts: dict[str, dict[str, set[str]]],
               icb_codes: set[str], pairs: Iterable[tuple[Key, Key]] = (),
               nesting: Nesting | None = None,
               spans: dict[str, tuple[date, date]] | None = None,
               unpublished: frozenset[str] | set[str] = frozenset(),
               ) -> tuple[list[Relation], dict[Key, float]]:
    """Every sum the table publishes, (total, part, part, ...), and the counts they leave
    over. A hidden count is safe only where no combination of the sums gives it back.

    * breakdowns: the values of a breakdown add up to the 'all' row (cause group within
      quintile adds up both ways); a breakdown nested in another (`nesting`: age bands
      in age groups, practices in PCNs) adds up to each of its categories;
    * Places add up to the ICB;
    * shorter periods (months, quarters, years) add up to a period they lie in;
    * across indicators: the places of death add up to all deaths; deaths in the usual
      place of residence are home + care home (religious establishments are published
      within care homes, place_of_death.sql: nothing is left over but the external-cause
      deaths there, where those are left out, and 'other places' with those is a count
      too); the deaths of a standardised rate are the deaths of known age; the deaths
      of the DiUPR denominator are all deaths, or those not of external causes where
      [methods] diupr_exclude_external_causes leaves those out;
      need deaths on a register plus those not identified are the need deaths; need
      deaths plus the 'other' cause group are all deaths; projected cause groups add up
      to projected deaths, and projected need plus projected 'other' is projected deaths;
    * a percentage's numerator is part of its denominator (`pairs`), and _SUBSETS.

    Where a sum's parts do not add up to its total (deaths of unknown place, sex or age;
    of external causes; people not counted in a percentage's numerator; months the
    table does not show), what is left over is a count too: it is returned with its
    value as a latent count, part of the sum, never published, and protected like a
    hidden cell where it is small. A residual of zero adds nothing (the attacker may
    assume it).

    The months a period leaves over (`spans`: each period's first and last day) are
    named by those months, not by the period they are left over from: the same months
    left over from two periods are one count, as they are to a reader (a year to date
    less the year to date a month earlier is that month, and so is a 12-month window
    less the 11 months it shares with the previous one). Named by their period, they
    would be two unknowns, and the check would miss what the two sums give together.

    A remainder of 0 is kept, as a count of its own, where a part of its sum is a period
    never published (`unpublished`: the months two 12-month windows share): the month
    in or out of a cell is a month no reader was given, so a reader cannot assume it is
    0 (only a published 0 makes it so, _forced_zero). Dropped, the sum would read 'the
    shared months are the window', and every cell with no death in the month in would
    give its month out away (W1 less W2): on the 3,000-death sample the second of two
    consecutive monthly runs hid 258 of 273 headline rows to protect those."""
    keys = set(values)
    groups: dict[tuple, list[Key]] = {}
    # Sets iterate in an order that changes from one process to the next (string hashes
    # are salted), and the order of the sums decides which complementary cells are
    # chosen: everything here is walked in sorted order so that two runs on the same
    # data hide the same cells (byte-identical outputs).
    child_of: dict[str, list[tuple[str, str]]] = {}
    for parent, families in sorted(period_parts.items()):
        for family, children in sorted(families.items()):
            for child in sorted(children):
                child_of.setdefault(child, []).append((parent, family))
    nest_of: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for (child_bd, parent_bd), parent_of in sorted((nesting or {}).items()):
        nest_of.setdefault(child_bd, []).append((parent_bd, parent_of))
    ordered = _sorted_keys(keys)
    for key in ordered:
        name, area, period, bd, value = key
        for parent_bd, parent_of in nest_of.get(bd, ()):
            if value in parent_of:
                groups.setdefault(("bd", name, area, period, parent_bd, parent_of[value], bd),
                                  []).append(key)
        if bd == "cause_group_imd_quintile":
            q, _, g = value.partition(": ")
            groups.setdefault(("bd", name, area, period, "imd_quintile", q, "cgq"),
                              []).append(key)
            groups.setdefault(("bd", name, area, period, "cause_group", g, "cgq"),
                              []).append(key)
        elif bd != "all":
            groups.setdefault(("bd", name, area, period, "all", "all", bd), []).append(key)
        if area not in icb_codes:
            groups.setdefault(("icb", name, period, bd, value), []).append(key)
        for parent, family in child_of.get(period, ()):
            groups.setdefault(("parts", name, area, parent, bd, value, family), []).append(key)
    icb = next(iter(icb_codes)) if len(icb_codes) == 1 else None
    tagged: list[tuple[str, Key, list[Key]]] = []
    for gkey, members in groups.items():
        if gkey[0] == "bd":
            _, name, area, period, bd, value, tag = gkey
            total: Key | None = (name, area, period, bd, value)
            tag = f"bd:{tag}"
        elif gkey[0] == "icb":
            _, name, period, bd, value = gkey
            total, tag = ((name, icb, period, bd, value) if icb else None), "places"
        else:
            _, name, area, parent, bd, value, family = gkey
            total, tag = (name, area, parent, bd, value), f"parts:{family}"
        if total is None or total in members:
            continue
        tagged.append((tag, total, sorted(members)))
    cells = {(a, p, b, v) for _, a, p, b, v in keys}
    for a, p, b, v in _sorted_keys(cells):
        def present(name: str, cell: tuple = (a, p, b, v)) -> Key:
            return (name, *cell)  # type: ignore[return-value]
        # Only sums whose total is counted here can be used (checked below as well;
        # most cells have few of these counts, and this loop runs over every cell).
        deaths = present("deaths")
        if deaths in values:
            tagged.append(("pod", deaths, [present(n) for n in _POD_COUNTS]))
        if present("need_deaths") in values:
            tagged.append(("need", present("need_deaths"),
                           [present("need_on_register"), present("need_unidentified")]))
        if present("projected_deaths", (a, p, "all", "all")) in values:
            tagged.append(("proj", present("projected_deaths", (a, p, "all", "all")),
                           [present("projected_need"),
                            present("projected", (a, p, "cause_group", "other"))]))
        if deaths in values:
            if b == "all":
                tagged.append(("need_other", deaths,
                               [present("need_deaths"),
                                present("deaths", (a, p, "cause_group", "other"))]))
            if b == "imd_quintile":
                tagged.append(("need_other", deaths,
                               [present("need_deaths"),
                                present("deaths", (a, p, "cause_group_imd_quintile",
                                                   f"{v}: other"))]))
            tagged.append(("age", deaths, [present("dsr_deaths")]))
            tagged.append(("external", deaths, [present("diupr_deaths")]))
        if present("diupr") in values:
            tagged.append(("usual", present("diupr"),
                           [present("pod_home"), present("pod_care_home")]))
        for part, whole in _SUBSETS:
            if present(whole) in values:
                tagged.append((f"part:{part}", present(whole), [present(part)]))
    for den, num in _sorted_keys(set(pairs), flat=True):
        if num != den:
            # Named by the part's breakdown too: a quintile's deaths are the
            # denominator of each of its cause groups, and each leaves its own remainder.
            where = "" if num[3:] == den[3:] else f"@{num[3]}={num[4]}"
            tagged.append((f"part:{num[0]}{where}", den, [num]))
    # Projected cause groups add up to projected deaths (a breakdown of a total that is
    # carried as the denominator, so it has no 'all' key of its own name).
    proj: dict[tuple, list[Key]] = {}
    for key in ordered:
        if key[0] == "projected" and key[3] == "cause_group":
            proj.setdefault(key[1:3], []).append(key)
    for (area, period), members in proj.items():
        tagged.append(("proj_groups", ("projected_deaths", area, period, "all", "all"),
                       sorted(members)))
    # A sum is usable only where all its counts are in the table; where a part is not
    # published at all, its sum gives nothing away on its own.
    relations: list[Relation] = []
    latent: dict[Key, float] = {}
    done: set[tuple] = set()
    for tag, total, parts in tagged:
        # The values of the sum's counts, published or latent (None where one is not
        # counted); looked up inline: this loop runs over every sum of the table.
        total_value = values.get(total)
        if total_value is None:
            total_value = latent.get(total)
        if total_value is None:
            continue
        part_values = [values.get(k) for k in parts]
        if None in part_values:
            part_values = [latent.get(k) if v is None else v
                           for k, v in zip(parts, part_values, strict=True)]
            if None in part_values:
                continue
        if (tag, total, *parts) in done:
            continue
        done.add((tag, total, *parts))
        rest = total_value - sum(v for v in part_values if v is not None)
        if abs(rest) > 1e-6 * max(1.0, abs(total_value)) or (
                unpublished and tag.startswith("parts:")
                and any(k[2] in unpublished for k in parts)):
            leftover: Key = (_residual_name(total, tag), *total[1:])  # type: ignore[assignment]
            months = (_months_left(spans, total[2], [k[2] for k in parts])
                      if spans is not None and tag.startswith("parts:") else None)
            if months is not None:
                # The same months of the same count, whichever period they are left
                # over from (the sums agree on its value, being of the same data).
                named: Key = (f"{total[0]}~months", total[1], months, *total[3:])  # type: ignore[assignment]
                if named not in latent or abs(latent[named] - rest) <= 1e-6 * max(
                        1.0, abs(rest)):
                    leftover = named
            if leftover in latent and leftover[0] != f"{total[0]}~months":
                # two sums may never share a remainder by accident
                raise AssertionError(f"disclosure: two sums leave the same remainder {leftover}")
            latent[leftover] = rest
            parts = [*parts, leftover]
            if tag == "usual":
                # What is left of deaths in the usual place of residence (minus the
                # external-cause deaths at home and in care homes, where those are left
                # out; religious establishments are within care homes) taken from
                # 'other places' is a count of people too: deaths elsewhere plus those
                # external-cause deaths (all deaths less hospital, hospice and DiUPR).
                other: Key = ("pod_other", *total[1:])  # type: ignore[assignment]
                tagged.append(("usual_other", other, [leftover]))
        relations.append((total, *parts))
    return relations, latent


def _same_counts(values: dict[Key, float], min_count: int,
                 skip: Iterable[str] = ()) -> dict[Key, Key]:
    """Counts that an attacker takes to be one count under two names, found in the data
    (the catalogue's own, by definition, are _COUNT_ALIASES): two count names are alike
    where their values agree in every cell (area, period, breakdown, value) where both
    are counted and neither is a small count of 1 to min_count - 1 (those are hidden, so
    the attacker cannot see them differ), in at least one cell that is not zero. Lined up
    cell by cell, the published numbers agree everywhere, and a count hidden under one
    name is read off the other. Alike names are one count in every cell where their
    values are equal (a key -> the key it is merged into: the first name in sorted
    order); where they differ they stay apart (an attacker assuming them equal there is
    wrong). `skip`: names left alone (model outputs)."""
    skipped = set(skip)
    names = sorted({k[0] for k in values if k[0] not in skipped})
    if len(names) < 2:
        return {}
    at = {n: i for i, n in enumerate(names)}
    cells = sorted({k[1:] for k in values if k[0] in at})
    where = {c: j for j, c in enumerate(cells)}
    table = np.full((len(names), len(cells)), np.nan)
    for k, v in values.items():
        if k[0] in at:
            table[at[k[0]], where[k[1:]]] = v
    present = ~np.isnan(table)
    small = present & (table > 0) & (table < min_count)
    parent = list(range(len(names)))

    def find(a: int) -> int:
        while parent[a] != a:
            a = parent[a]
        return a

    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            both = present[i] & present[j]
            if not both.any():
                continue
            seen = both & ~small[i] & ~small[j]
            equal = table[i] == table[j]
            if np.all(equal[seen]) and np.any(equal[both] & (table[i][both] != 0)):
                a, b = find(i), find(j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    classes: dict[int, list[int]] = {}
    for i in range(len(names)):
        classes.setdefault(find(i), []).append(i)
    merged: dict[Key, Key] = {}
    for members in classes.values():
        if len(members) < 2:
            continue
        for j, cell in enumerate(cells):
            first: dict[float, str] = {}
            for i in members:  # in name order: the first name with a value keeps it
                v = table[i, j]
                if np.isnan(v):
                    continue
                if v in first:
                    merged[(names[i], *cell)] = (first[v], *cell)  # type: ignore[assignment]
                else:
                    first[v] = names[i]
    return merged


def _merge_counts(merged: dict[Key, Key], relations: list[Relation]) -> list[Relation]:
    """The sums with merged keys (_same_counts) put in: a sum whose total is now one of
    its parts says only that its other parts are zero (they are: the two are equal), and
    is dropped."""
    out = []
    for rel in relations:
        mapped = tuple(map(merged.get, rel, rel))  # a key not merged is itself
        if mapped[0] not in mapped[1:]:
            out.append(mapped)
    return out


def _secondary(values: dict[Key, float], hidden: set[Key],
               relations: list[tuple[Key, ...]] | _Sums,
               icb_codes: frozenset[str] = frozenset(),
               free: frozenset[Key] | set[Key] = frozenset(),
               cost: Callable[[Key], float] | None = None,
               pinned: frozenset[Key] | set[Key] = frozenset()) -> set[Key]:
    """Complementary suppression: until no sum has exactly one hidden count, hide in
    each such sum the count that costs least.

    With `cost` (apply_disclosure passes _row_cost): a non-zero count before a zero (a
    zero known elsewhere protects nothing), then the least of: what the count's rows are
    worth (_row_cost: headline and inequality-summary rows weigh most, a latent count
    nothing) plus CASCADE_COST for each of its other sums it would leave with a single
    hidden count (each will need one more: a cascade, across Places or periods); then
    the smallest count, then the key order. Parts and the total compete.

    Without `cost` (the order before issue 11.2, kept for direct callers): a Place's
    count before the ICB's, a count outside the deprivation quintiles before one in
    them, the count whose other sums already hold a hidden count, then the smallest;
    totals only where no part can be, or where the sum has one part besides the hidden
    one. A `free` count (a latent count that needs no protection: never published, but
    not small) is hidden without needing a partner; it still takes part in the sums."""
    sums = _Sums.of(relations)
    relations, by_key = sums.relations, sums.sums_of
    is_hidden = sums.mask(hidden, "hidden")
    hidden_in = sums.hidden_in(is_hidden).tolist()
    guarded = sums.hidden_in(is_hidden & ~sums.mask(free, "secondary free")).tolist()
    added: set[Key] = set()

    def new_singletons(key: Key, rel_index: int) -> int:
        return sum(1 for j in by_key(key) if j != rel_index and hidden_in[j] == 0)

    # The two cheapest counts of each sum with nothing hidden, while `hidden` stays as it
    # is (costs read it): cleared at each count hidden. Without it a choice among a PCN's
    # practices prices the ICB's sum of thousands of practices once per candidate
    # (England as one ICB: 41.2 -> 40.4 s, the same decisions).
    cheapest: dict[int, list[tuple[float, Key]]] = {}

    def cascade(key: Key, rel_index: int) -> float:
        """What hiding `key` will cost in its other sums that it leaves with a single
        hidden count: in each, CASCADE_COST and the cheapest count left to hide there."""
        assert cost is not None
        total = 0.0
        for j in by_key(key):
            if j != rel_index and hidden_in[j] == 0:
                if j not in cheapest:
                    cheapest[j] = heapq.nsmallest(
                        2, ((cost(k), k) for k in relations[j] if k not in hidden))
                rest = [c for c, k in cheapest[j] if k != key]
                total += CASCADE_COST + (rest[0] if rest else 0.0)
        return total

    # The sums with exactly one hidden count to guard: all of them read once, then only
    # those left from the round before and those a count hidden since is in (no other
    # sum's counts change). Each round takes them in order, as a full scan would.
    pending = [i for i, (h, g) in enumerate(zip(hidden_in, guarded, strict=True))
               if h == 1 and g == 1]
    for _ in range(50):
        if not pending:
            break
        changed: set[int] = set()
        for i in pending:
            if hidden_in[i] != 1 or guarded[i] != 1:
                continue
            rel = relations[i]
            candidates = [k for k in rel[1:] if k not in hidden and k not in pinned] or (
                [rel[0]] if rel[0] not in hidden and rel[0] not in pinned else [])
            if cost is not None and rel[0] not in hidden and rel[0] not in pinned \
                    and candidates[-1:] != [rel[0]]:
                # With costs, the total competes too: the ICB's quintile for a Place's
                # (which pairs with every Place's), a register count for the need count
                # an inequality summary stands on; a headline total costs most.
                candidates.append(rel[0])
            elif len(rel) == 3 and rel[2] in hidden and rel[0] not in hidden \
                    and rel[0] not in pinned:
                # (whole, part, hidden): hiding the whole protects as well as the part,
                # and is sometimes cheaper (the register count rather than the need count
                # an inequality summary stands on).
                candidates.append(rel[0])
            if not candidates:
                continue
            if cost is None:
                choice = min(candidates, key=lambda k: (
                    values.get(k, 0) <= 0, k[1] in icb_codes, k[3] == "imd_quintile",
                    new_singletons(k, i), values.get(k, 0), k))
            else:
                choice = min(candidates, key=lambda k: (
                    values.get(k, 0) <= 0, cost(k) + cascade(k, i), values.get(k, 0), k))
            hidden.add(choice)
            added.add(choice)
            cheapest.clear()
            for j in by_key(choice):
                hidden_in[j] += 1
                guarded[j] += 1
                changed.add(j)
        pending = sorted(i for i in changed.union(pending)
                         if hidden_in[i] == 1 and guarded[i] == 1)
    return added


def _determined(hidden: set[Key], relations: list[tuple[Key, ...]] | _Sums,
                free: frozenset[Key] | set[Key] = frozenset(),
                among: Iterable[Key] | None = None) -> list[Key]:
    """The hidden counts (other than `free` ones) that the published ones determine
    exactly, by any combination of the sums (linear algebra): a hidden count is safe
    only where the sums, with the published counts put in, still let it move.

    The hidden counts fall into blocks joined by sums (_Sums.blocks); a block with
    nothing to protect is skipped, and a block met before (the same hidden counts: then
    the same sums) is taken from _Sums.solved without building its sums (the rounds of
    _protect change few blocks, and the last check after _release meets most blocks
    again). Each block is solved by sparse Gaussian elimination (_solve_block),
    whatever its size.

    `among`: where only these counts can be determined, only their blocks are solved.
    Hiding more never fixes a count that could move (a null vector of the sums, with 0
    for the counts hidden since, is still one), so between two checks with more hidden
    only the counts found the first time need looking at again."""
    sums = _Sums.of(relations)
    protect = ~sums.mask(free, "free")
    if among is not None:
        protect &= sums.mask(among)
    found: list[Key] = []
    for members, equations in sums.blocks(hidden, protect, skip_solved=True):
        if equations is None:
            determined = sums.solved[members.tobytes()][0]
        else:
            fixed, dof = _solve_block(len(members), equations())
            determined = frozenset(sums.keys[members[c]] for c in fixed)
            sums.solved[members.tobytes()] = (determined, dof)
        found.extend(k for k in determined if k not in free)
    return sorted(found)


def _solve_block(n: int, equations_in: list[dict[int, float]]) -> tuple[list[int], int]:
    """The unknowns (0..n-1) that the homogeneous sums `equations_in` fix at zero, and
    the degrees of freedom of the sums (the dimension of their null space).

    Sparse Gaussian elimination: the unknowns are taken one at a time, fewest sums
    first; each is solved from its shortest sum and put into the others (one in a single
    sum just leaves with it). What is left in no sum is unconstrained. Giving those
    random values and solving back yields a random vector of the null space: an
    unknown that some null vector moves, a random one moves (with probability 1; two
    draws with a fixed seed, so runs agree); one the sums determine stays at zero."""
    pivots, solved = _eliminate(n, equations_in)
    rng = np.random.default_rng(20240401)
    free = int((~solved).sum())
    draws = []
    for _ in range(2):
        x = np.zeros(n)
        x[~solved] = rng.uniform(0.5, 1.5, free)
        draws.append(x.tolist())
    # Both draws solved back at once, in Python lists (indexing an array element by
    # element is slow): for each, the same operations in the same order as a sum()
    # over the pivot's other terms, so the same doubles.
    a, b = draws
    for j, row in reversed(pivots):
        sa = sb = 0.0  # as sum() starts (0 + y and 0.0 + y are the same double)
        for k, c in row.items():
            if k != j:
                sa += c * a[k]
                sb += c * b[k]
        d = row[j]
        a[j] = -sa / d
        b[j] = -sb / d
    moves = np.zeros(n, dtype=bool)
    for xs in draws:
        x = np.array(xs, dtype=float)
        scale = max(1.0, float(np.max(np.abs(x)))) if n else 1.0
        moves |= np.abs(x) > 1e-7 * scale
    return [j for j in range(n) if not moves[j]], n - len(pivots)


def _eliminate(n: int, equations_in: list[dict[int, float]],
               ) -> tuple[list[tuple[int, dict[int, float]]], np.ndarray]:
    """Sparse Gaussian elimination of homogeneous sums over unknowns 0..n-1 (see
    _solve_block): the pivots, in order, each (unknown, the sum it is solved from), and
    which unknowns are solved (the others are free)."""
    equations = dict(enumerate(dict(e) for e in equations_in))
    eqs_of: list[set[int]] = [set() for _ in range(n)]
    for e, coeffs in equations.items():
        for j in coeffs:
            eqs_of[j].add(e)
    # The heap holds (degree, unknown) as one int, degree * n + unknown: the same order
    # as the pair, and an int compares faster than a tuple.
    size = max(n, 1)
    heap = [len(eqs_of[j]) * size + j for j in range(n)]
    heapq.heapify(heap)
    pop, push = heapq.heappop, heapq.heappush
    done = [False] * n
    pivots: list[tuple[int, dict[int, float]]] = []  # (unknown, the sum it is solved from)
    while heap:
        degree, j = divmod(pop(heap), size)
        sums_j = eqs_of[j]
        if done[j] or degree != len(sums_j):
            continue
        done[j] = True
        if degree == 0:
            continue  # in no sum left: unconstrained
        if degree == 1:
            (pivot,) = sums_j
        else:
            pivot = min(sums_j, key=lambda e: (len(equations[e]), e))
        row = equations.pop(pivot)
        for k in row:
            eqs_of[k].discard(pivot)
        pivots.append((j, row))
        if sums_j:  # j's other sums: j put out of each with the pivot's sum
            pivot_value = row[j]
            terms = list(row.items())
            for e in sorted(sums_j):
                target = equations[e]
                factor = target[j] / pivot_value
                for k, c in terms:
                    v = target.get(k, 0.0) - factor * c
                    if -1e-12 < v < 1e-12:  # abs(v) < 1e-12, without the call
                        if k in target:
                            del target[k]
                            eqs_of[k].discard(e)
                    else:
                        if k not in target:
                            eqs_of[k].add(e)
                        target[k] = v
                if not target:
                    del equations[e]
            sums_j.clear()
        # Only the unknowns of the pivot's sum changed how many sums they are in (they
        # left the pivot's sum, and joined or left the sums it was put into); every
        # other unknown's entry in the heap is still its own. (Pushing every unknown of
        # every changed sum again gave the same order, and 3.0 M pushes and 3.8 M pops
        # on the second of two consecutive monthly runs of the 3,000-death sample.)
        for k in row:
            if not done[k]:
                push(heap, len(eqs_of[k]) * size + k)
    solved = np.zeros(n, dtype=bool)
    for j, _row in pivots:
        solved[j] = True
    return pivots, solved


#: _null_basis works a basis out as sparse maps up to this many non-zeros, then as a
#: dense solve (a block whose null space is dense would be slow in Python).
SPARSE_BASIS_MAX = 2_000_000


def _null_basis(n: int, pivots: list[tuple[int, dict[int, float]]],
                solved: np.ndarray) -> np.ndarray:
    """A basis of the null space of eliminated sums (_eliminate): one column per free
    unknown (1 there, 0 at the other free ones), the solved unknowns from their sums.
    Each pivot's sum holds it and unknowns solved after it or free, so the pivots are
    solved last first (back substitution). The columns are usually sparse (a solved
    unknown depends on few free ones: 8,000 non-zeros in a 4,484 x 955 basis at ICB
    scale), so each unknown's row is worked out as a sparse map and then laid out
    dense; past SPARSE_BASIS_MAX non-zeros, the triangular system is solved at once."""
    free_cols = np.flatnonzero(~solved)
    basis = np.zeros((n, len(free_cols)))
    rows: dict[int, dict[int, float]] = {int(j): {c: 1.0} for c, j in enumerate(free_cols)}
    budget = SPARSE_BASIS_MAX
    for j, row in reversed(pivots):
        acc: dict[int, float] = {}
        for k, c in row.items():
            if k != j:
                for col, v in rows[k].items():
                    acc[col] = acc.get(col, 0.0) - c * v
        d = row[j]
        rows[j] = {col: v / d for col, v in acc.items() if v != 0.0}
        budget -= len(acc)
        if budget < 0:
            return _dense_null_basis(n, pivots, free_cols, basis)
    at_rows = [j for j, row in rows.items() for _ in row]
    at_cols = [col for row in rows.values() for col in row]
    basis[at_rows, at_cols] = [v for row in rows.values() for v in row.values()]
    return basis


def _dense_null_basis(n: int, pivots: list[tuple[int, dict[int, float]]],
                      free_cols: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """_null_basis for a dense null space: the solved part is a triangular system
    M x = -F, solved for every column at once (sparse LU, in pivot order: no fill-in)."""
    from scipy import sparse
    from scipy.sparse.linalg import splu

    basis[free_cols, np.arange(len(free_cols))] = 1.0
    if not pivots or not len(free_cols):
        return basis
    at = {j: i for i, (j, _row) in enumerate(pivots)}
    free_at = {int(j): i for i, j in enumerate(free_cols)}
    m_rows, m_cols, m_vals, f_rows, f_cols, f_vals = [], [], [], [], [], []
    for i, (_j, row) in enumerate(pivots):
        for k, c in row.items():
            if k in at:
                m_rows.append(i)
                m_cols.append(at[k])
                m_vals.append(c)
            else:
                f_rows.append(i)
                f_cols.append(free_at[k])
                f_vals.append(c)
    size = len(pivots)
    m = sparse.csc_matrix((m_vals, (m_rows, m_cols)), shape=(size, size))
    f = sparse.csc_matrix((f_vals, (f_rows, f_cols)), shape=(size, len(free_cols)))
    # M is upper triangular in pivot order: kept in that order (no column permutation,
    # the diagonal as pivot) its LU factors are I and M itself.
    solved_part = splu(m, permc_spec="NATURAL", diag_pivot_thresh=0.0).solve(-f.toarray())
    basis[[j for j, _row in pivots]] = solved_part
    return basis


class _Sums:
    """The sums (relations) numbered once, for the rounds that read them against a
    growing set of hidden counts: counts are numbered in sorted key order, and each sum
    is a row of coefficients (-1 for its total, +1 for each part, a count's terms added
    up, zeros dropped, in the order the count first appears in the sum). Built once per
    apply_disclosure rather than once per round (the rounds of _protect rebuilt every
    sum in Python)."""

    def __init__(self, relations: list[tuple[Key, ...]]):
        self.relations = relations
        self.keys = _sorted_keys({k for rel in relations for k in rel})
        self.index = {k: i for i, k in enumerate(self.keys)}
        n = len(self.keys)
        lengths = np.fromiter((len(rel) for rel in relations), dtype=np.int64,
                              count=len(relations))
        #: Every term of every sum: its sum and its count (a count twice, twice).
        self.occ_rows = np.repeat(np.arange(len(relations), dtype=np.int64), lengths)
        self.occ_cols = np.fromiter((self.index[k] for rel in relations for k in rel),
                                    dtype=np.int64, count=int(lengths.sum()))
        sign = np.ones(len(self.occ_cols))
        sign[np.cumsum(lengths) - lengths] = -1.0  # the total
        # A count's terms in one sum added up, in the order it first appears there.
        code = self.occ_rows * max(n, 1) + self.occ_cols
        unique, first, inverse = np.unique(code, return_index=True, return_inverse=True)
        summed = np.bincount(inverse.ravel(), weights=sign, minlength=len(unique))
        order = np.argsort(first, kind="stable")
        order = order[summed[order] != 0]
        self.rows, self.cols = unique[order] // max(n, 1), unique[order] % max(n, 1)
        self.data = summed[order]
        # The sums each count is in, by count number (for sums_of).
        self._by_col = np.argsort(self.occ_cols, kind="stable")
        self._col_start = np.searchsorted(self.occ_cols[self._by_col], np.arange(n + 1))
        self._masks: dict[str, tuple[set[Key], np.ndarray]] = {}
        #: Blocks solved (the bytes of their numbers) -> (the counts their sums
        #: determine, degrees of freedom): the same counts have the same sums.
        self.solved: dict[bytes, tuple[frozenset[Key], int]] = {}
        #: For _forced_zero, built on its first call (the values do not change within
        #: a run): which counts are 0, and which terms are parts of a sum with no part
        #: that may be negative, with the total of each term.
        self.zero_terms: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def sums_of(self, key: Key) -> list[int]:
        """The sums `key` is in, in order (a sum twice where the count is in it twice)."""
        j = self.index.get(key)
        if j is None:
            return []
        return self.occ_rows[self._by_col[self._col_start[j]:self._col_start[j + 1]]].tolist()

    @staticmethod
    def of(relations: list[tuple[Key, ...]] | _Sums) -> _Sums:
        return relations if isinstance(relations, _Sums) else _Sums(relations)

    def mask(self, keys: Iterable[Key], slot: str | None = None) -> np.ndarray:
        """The counts of `keys` (those in some sum) as a mask over the numbered counts.
        With a `slot`, `keys` is a set that changes little from one call to the next
        (the hidden counts, round after round): only what changed since the last call
        with that slot is looked up (a set difference does not hash the keys again)."""
        nearest = None
        if slot is not None and isinstance(keys, set):
            # From the mask of the stored set closest to this one (the hidden counts
            # less those to protect are close to the hidden counts).
            for before, mask in self._masks.values():
                added, removed = keys - before, before - keys
                if len(added) + len(removed) < len(keys) and (
                        nearest is None or len(added) + len(removed) < nearest[0]):
                    nearest = (len(added) + len(removed), mask, added, removed)
        if nearest is not None:
            _, out, added, removed = nearest
            out = out.copy()
            out[[self.index[k] for k in removed if k in self.index]] = False
            out[[self.index[k] for k in added if k in self.index]] = True
        else:
            out = np.zeros(len(self.keys), dtype=bool)
            out[[self.index[k] for k in keys if k in self.index]] = True
        if slot is not None and isinstance(keys, set):
            self._masks[slot] = (set(keys), out)
        return out

    def hidden_in(self, hidden: np.ndarray) -> np.ndarray:
        """How many counts of each sum are in the mask `hidden` (a count twice, twice)."""
        return np.bincount(self.occ_rows, weights=hidden[self.occ_cols],
                           minlength=len(self.relations)).astype(np.int64)

    def blocks(self, hidden: Iterable[Key], wanted: np.ndarray | None = None,
               skip_solved: bool = False,
               ) -> Iterable[tuple[np.ndarray, Callable[[], list[dict[int, float]]] | None]]:
        """The hidden counts that are in some sum, in blocks joined by sums: each block's
        counts (numbers, ascending) and a function that builds its sums (coefficients
        over the block's positions; published counts are constants and drop out of the
        homogeneous system), or None where `skip_solved` and the block is in
        `solved`. Only blocks with a count in `wanted` (a mask) are given."""
        from scipy import sparse
        from scipy.sparse.csgraph import connected_components

        n = len(self.keys)
        mask = self.mask(hidden, "hidden")
        keep = mask[self.cols]
        rows, cols, data = self.rows[keep], self.cols[keep], self.data[keep]
        # Each term is joined to the first hidden term of its sum.
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if len(rows) else rows
        first = np.repeat(cols[starts], np.diff(np.r_[starts, len(rows)]))
        graph = sparse.coo_matrix((np.ones(len(cols)), (first, cols)), shape=(n, n))
        _, label = connected_components(graph, directed=False)
        members = np.flatnonzero(mask)
        if wanted is not None:
            blocks_wanted = np.unique(label[members[wanted[members]]])
        else:
            blocks_wanted = np.unique(label[members])
        member_label = label[members]
        by_block = np.argsort(member_label, kind="stable")
        member_bounds = np.searchsorted(member_label[by_block], blocks_wanted)
        term_label = label[cols]
        terms = np.argsort(term_label, kind="stable")
        sorted_labels = term_label[terms]
        # Blocks in the order of their first count (as the sorted keys run).
        order = np.argsort(members[by_block][member_bounds], kind="stable")
        for b in order:
            block = blocks_wanted[b]
            start = member_bounds[b]
            end = start + np.searchsorted(member_label[by_block][start:], block, side="right")
            block_members = members[by_block[start:end]]
            if skip_solved and block_members.tobytes() in self.solved:
                yield block_members, None
                continue
            lo, hi = np.searchsorted(sorted_labels, [block, block + 1])
            own = terms[lo:hi]

            def equations(own: np.ndarray = own, block_members: np.ndarray = block_members
                          ) -> list[dict[int, float]]:
                local = np.searchsorted(block_members, cols[own]).tolist()
                out: list[dict[int, float]] = []
                previous = -1
                for r, j, c in zip(rows[own].tolist(), local, data[own].tolist(), strict=True):
                    if r != previous:
                        out.append({})
                        previous = r
                    out[-1][j] = c
                return out

            yield block_members, equations


#: The largest null-space basis (hidden counts x degrees of freedom, float64 cells)
#: _release builds for one block: 25 M cells = 200 MB, and each release updates it whole.
RELEASE_MAX_CELLS = 25_000_000
#: Candidates _release projects together (one matrix product against what is released).
RELEASE_CHUNK = 64


def _release(hidden: set[Key], relations: list[tuple[Key, ...]] | _Sums, needs: set[Key],
             candidates: list[Key]) -> list[Key]:
    """Publish again complementary counts the table does not need hidden, most useful
    first (`candidates` in order): greedy cascades often hide more than the exact check
    asks for. A count is released where publishing it determines no count of `needs`.

    Per block, a basis Z of the null space of the sums (rows: hidden counts): a count is
    determined where its row of Z is zero. Publishing count k fixes z_k = 0; count j is
    then determined exactly where its row is parallel to k's (Z_j in span(Z_k)). After
    releases, the null space is Z P, P the projection onto the orthogonal complement of
    the released rows. Z is never updated (a release would rewrite it whole, and a block
    has thousands of rows): a candidate's row is projected when it is tried, against the
    orthonormal directions released so far, and the needed rows keep only what the
    check reads (squared norm, component along a fixed direction), updated from one
    product per release. Returns the counts released (removed from `hidden`)."""
    from scipy import sparse

    wanted = set(candidates)
    order = {k: i for i, k in enumerate(candidates)}
    released: list[Key] = []
    sums = _Sums.of(relations)
    # A candidate in no sum is tied to nothing: publishing it gives nothing away.
    loose = sorted(k for k in wanted if k in hidden and k not in sums.index)
    hidden.difference_update(loose)
    released.extend(loose)
    for members, build in sums.blocks(hidden, sums.mask(wanted)):
        assert build is not None
        keys = [sums.keys[j] for j in members]
        in_block = [k for k in keys if k in wanted]
        n = len(keys)
        known = sums.solved.get(members.tobytes())
        if known is not None and n * known[1] > RELEASE_MAX_CELLS:
            continue  # as below, without eliminating a large block again
        pivots, solved = _eliminate(n, build())
        dof = n - len(pivots)
        if n * dof > RELEASE_MAX_CELLS:
            # The dense null-space basis of a block this size would not fit in memory
            # (all of England as one project: 151,950 x 53,014 = 60 GiB) nor finish:
            # leave its complementary counts hidden. Releasing only gives back counts
            # that were safe to show, so skipping it is safe, merely less useful.
            continue
        basis = _null_basis(n, pivots, solved)
        position = {k: i for i, k in enumerate(keys)}
        # The needed rows of the basis as a sparse matrix: a basis is mostly zeros, and
        # every release multiplies all of them by the direction released.
        needed = sparse.csr_matrix(basis[[position[k] for k in keys if k in needs]])
        g = needed.shape[0]
        norms = np.asarray(needed.multiply(needed).sum(axis=1)).ravel()
        scale = np.maximum(norms, 1.0)
        # Two rows are parallel only if their unit vectors have the same |projection| on
        # a fixed random direction: a sorted signature of the needed rows finds the few
        # that could be parallel to a candidate, which are then checked exactly.
        direction = np.asarray(np.random.default_rng(20240401).standard_normal(dof))
        along = needed @ direction
        sig, sort = _signatures(along, norms)
        done = np.zeros((min(len(in_block), dof), dof))  # released directions, orthonormal
        m = 0
        tried = sorted(in_block, key=order.__getitem__)
        for first in range(0, len(tried), RELEASE_CHUNK):
            chunk = tried[first:first + RELEASE_CHUNK]
            # The chunk's rows projected at once against the directions released before
            # it (a matrix product, fast), then each against those released within it.
            # Each projection is done twice, so that the directions stay orthogonal.
            rows = basis[[position[k] for k in chunk]]
            projected = rows.copy()
            for _ in range(2):
                projected -= (projected @ done[:m].T) @ done[:m]
            since = m
            for k, row, v in zip(chunk, rows, projected, strict=True):
                for _ in range(2):
                    v -= (done[since:m] @ v) @ done[since:m]
                vv = float(v @ v)
                if vv <= 1e-18 * max(float(row @ row), 1.0):
                    # Determined already by what is published: publishing it adds nothing.
                    hidden.discard(k)
                    released.append(k)
                    continue
                if g:
                    mine = abs(float(v @ direction)) / np.sqrt(vv)
                    lo, hi = np.searchsorted(sig, [mine - 1e-6, mine + 1e-6])
                    near = sort[lo:hi]
                    w = needed[near] @ v  # = their projected rows . v (v is in the complement)
                    if np.any(norms[near] - w * w / vv <= 1e-9 * scale[near]):
                        continue  # it would give a needed count away
                hidden.discard(k)
                released.append(k)
                unit = v / np.sqrt(vv)
                done[m] = unit
                m += 1
                if g:
                    w = needed @ unit
                    norms = np.maximum(norms - w * w, 0.0)
                    along -= w * float(unit @ direction)
                    sig, sort = _signatures(along, norms)
    return released


def _signatures(along: np.ndarray, norms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """_release's sorted signatures of the needed rows: |projection of each unit row on
    the direction| (`along`: the row's component along it), sorted, with the sort order
    (rows parallel to a candidate share it)."""
    sig = np.abs(along) / np.sqrt(np.maximum(norms, 1e-300))
    sort = np.argsort(sig, kind="stable")
    return sig[sort], sort


def _protect(values: dict[Key, float], hidden: set[Key],
             relations: list[tuple[Key, ...]] | _Sums,
             icb_codes: frozenset[str] = frozenset(),
             free: frozenset[Key] | set[Key] = frozenset(),
             needs: set[Key] | None = None,
             cost: Callable[[Key], float] | None = None,
             pinned: frozenset[Key] | set[Key] = frozenset(),
             known: frozenset[Key] | set[Key] = frozenset()) -> None:
    """Secondary suppression until no hidden count can be worked out: the cheap pairing
    rule first (_secondary), then the exact check (_determined); each count it still
    finds exposed gets one more complementary count hidden, from a sum it is in, and the
    two steps repeat. A `pinned` count (a 0 a reader knows, _forced_zero) is never a
    complementary count: hiding it would protect nothing; nor is a `known` count (an
    earlier publication's), which is never hidden at all."""
    sums = _Sums.of(relations)
    pinned = set(pinned) | set(known)

    def around(key: Key) -> Iterable[Key]:
        """The counts of the sums `key` is in."""
        return (k for r in sums.sums_of(key) for k in sums.relations[r])

    exposed: list[Key] | None = None
    for _ in range(200):
        hidden_before = len(hidden)
        _secondary(values, hidden, sums, icb_codes, free, cost, pinned)
        # Only a count that needs protection (a small one) is a disclosure when it can
        # be worked out; a complementary count may be, as long as those stay hidden.
        # Hidden only grows here: only the counts exposed last round can be again.
        exposed = _determined(hidden, sums, free if needs is None else hidden - needs,
                              exposed)
        if not exposed:
            return
        near: set[Key] = set()
        for key in exposed:
            # Hide the cheapest published count of the sums with the exposed count (one
            # sum further out where those are all hidden already); one at a time, as a
            # count hidden for one exposed count often covers the next (a count that
            # shares a sum with one just hidden waits for the next round's check).
            if key in near:
                continue
            # Each sum is read once per search: a sum met again one ring further out
            # was all hidden then and still is (hidden does not change until a choice),
            # and a large sum (the ICB's, of every practice) reached from each of its
            # counts was read once per count (the re-run of test_extremes: 83 M reads).
            frontier, seen = {key}, {key}
            read: set[int] = set()
            for _depth in range(4):
                reach = {r for f in frontier for r in sums.sums_of(f)} - read
                read |= reach
                options = {k for r in reach for k in sums.relations[r]}
                published = {k for k in options if k not in hidden and k not in pinned}
                if published:
                    choice = min(published, key=lambda k: (
                        values.get(k, 0) <= 0, k[1] in icb_codes, k[3] == "imd_quintile",
                        values.get(k, 0), k) if cost is None else (
                        values.get(k, 0) <= 0, cost(k), values.get(k, 0), k))
                    hidden.add(choice)
                    near.update(around(choice))
                    break
                frontier = options - seen
                seen |= options
        if len(hidden) == hidden_before:
            # Nothing could be hidden for the counts still exposed (every sum within
            # reach is hidden, or holds only counts a reader has: an earlier
            # publication's, zeros a zero total gives away). Another round would meet
            # the same counts and hide nothing again (a re-run after wide data changes,
            # tests/test_extremes, spent 199 such rounds: minutes): the last resort.
            break
    _hide_until_safe(hidden, sums, lambda: _determined(
        hidden, sums, free if needs is None else hidden - needs, exposed), known)


#: The remainder that is not a count of people, so may be below 0 (see _relations): DiUPR
#: less home and care home, minus the external-cause deaths there where DiUPR leaves
#: those out.
SIGNED_REMAINDER = "~usual"
#: Rounds of publishing hidden zeros that a zero total gives away and protecting again.
ZERO_ROUNDS = 5


def _forced_zero(hidden: set[Key], relations: list[tuple[Key, ...]] | _Sums,
                 values: dict[Key, float]) -> set[Key]:
    """The hidden counts a reader knows are 0 without any algebra: the parts of a sum
    whose total is published as 0 (counts are never negative, so parts of nothing are
    nothing), and in turn the parts of such a part. Linear algebra alone does not see
    this (0 = a + b leaves a free), yet a hidden 0 there protects nothing: an auditor
    recovered 2 care-home deaths from deaths - home - hospital - hospice - other where
    'other' was a hidden 0 of a Place under an ICB total published as 0. The exact
    check treats these counts as published. Not where a part of the sum may be negative
    (SIGNED_REMAINDER)."""
    sums = _Sums.of(relations)
    n = len(sums.keys)
    if sums.zero_terms is None:
        value = np.fromiter((values.get(k, np.nan) for k in sums.keys), dtype=float,
                            count=n)
        first = np.r_[True, sums.occ_rows[1:] != sums.occ_rows[:-1]]  # each sum's total
        total_of_term = sums.occ_cols[first][np.cumsum(first) - 1]
        parts = ~first
        # A part that may be negative (the remainder of deaths in the usual place of
        # residence: less the external-cause deaths at home and in care homes where
        # those are left out) can offset another: a zero total then fixes none of its
        # sum's parts.
        signed = np.fromiter((k[0].endswith(SIGNED_REMAINDER) for k in sums.keys),
                             dtype=bool, count=n) | (value < 0)
        has_signed = np.bincount(sums.occ_rows[parts & signed[sums.occ_cols]],
                                 minlength=len(sums.relations)) > 0
        parts &= ~has_signed[sums.occ_rows]
        sums.zero_terms = (value == 0, parts, total_of_term)
    is_zero, parts, total_of_term = sums.zero_terms
    is_hidden = sums.mask(hidden, "hidden")
    known_zero = ~is_hidden & is_zero
    forced = np.zeros(n, dtype=bool)
    while True:  # a forced part may be the total of another sum: until nothing changes
        reached = parts & known_zero[total_of_term]
        new = np.zeros(n, dtype=bool)
        new[sums.occ_cols[reached]] = True
        new &= is_hidden & ~forced
        if not new.any():
            return {sums.keys[j] for j in np.flatnonzero(forced)}
        forced |= new
        known_zero |= new


def _publish_forced_zeros(values: dict[Key, float], hidden: set[Key], sums: _Sums,
                          icb_codes: frozenset[str], free: set[Key], needs: set[Key],
                          cost: Callable[[Key], float] | None,
                          known: set[Key] | frozenset[Key] = frozenset()) -> None:
    """A hidden 0 under a total published as 0 protects nothing (a reader knows it is
    0): publish it, and protect again with real complements. Rarely more than one round;
    what is still exposed after ZERO_ROUNDS the last resort (_hide_until_safe) hides."""
    pinned: set[Key] = set()
    for _ in range(ZERO_ROUNDS):
        forced = _forced_zero(hidden, sums, values)
        if not forced:
            return
        hidden -= forced
        pinned |= forced
        _protect(values, hidden, sums, icb_codes, free, needs, cost, pinned, known)


def _exposed(hidden: set[Key], sums: _Sums, needs: set[Key],
             values: dict[Key, float]) -> list[Key]:
    """The counts to protect that the published ones give back: by linear algebra, with
    the hidden counts that a zero total forces to 0 counted as published."""
    unknown = hidden - _forced_zero(hidden, sums, values)
    return _determined(unknown, sums, unknown - needs)


def _hide_until_safe(hidden: set[Key], relations: list[tuple[Key, ...]] | _Sums,
                     exposed_now: Callable[[], list[Key]],
                     keep: set[Key] | frozenset[Key] = frozenset()) -> None:
    """The last resort when the cheaper steps leave a count exposed: hide every published
    count of the sums around the exposed ones, one ring further out each round, until
    nothing can be worked out (at worst the whole linked block is hidden).

    Fails closed without failing the run: a scheduled monthly assess must still write
    its outputs, and hiding more is always safe, whereas stopping with an error would
    leave the month with nothing. `keep`: counts a reader has whatever is hidden here
    (a zero a zero total gives away, an earlier publication's): never hidden, as hiding
    them would only make the check believe they are unknown."""
    sums = _Sums.of(relations)
    exposed = exposed_now()
    frontier = set(exposed)
    while exposed:
        around = {k for f in frontier for r in sums.sums_of(f) for k in sums.relations[r]
                  } - set(keep)
        if not around - frontier:
            return  # all linked counts hidden: none is published to work anything out
        hidden |= around
        frontier |= around
        exposed = exposed_now()


#: What a complementary count costs for each sum it leaves with one hidden count (that
#: sum will need another count hidden: a cascade).
CASCADE_COST = 6.0
#: Weights of the rows a complementary count hides (see _row_cost).
HEADLINE_WEIGHT = 20.0
QUINTILE_WEIGHT = 6.0
ICB_WEIGHT = 3.0
SII_LOSS_WEIGHT = 20.0
POOL_WEIGHT = 8.0
#: An inequality summary needs this many published quintiles (assess.SII_MIN_QUINTILES).
SII_QUINTILES = 3
#: (indicator id, breakdown) -> the weight of such a row in _row_cost, in place of 1.
RowWeights = dict[tuple[str, str], float]


def _row_cost(frame: pl.DataFrame, keys: list[tuple[Key | None, Key | None]],
              hidden: set[Key], weights: RowWeights | None = None
              ) -> tuple[Callable[[Key], float], dict[Key, float]]:
    """The cost of hiding a count: the weight of the published rows it would hide (those
    not hidden already by their other count), read against `hidden` as it grows. A row
    weighs 1 (or what `weights` gives its (indicator, breakdown): the caller's hook for
    rows a table exists for, such as the practice funnel's); a headline row (breakdown
    'all') HEADLINE_WEIGHT; a deprivation quintile of
    an indicator with an inequality summary QUINTILE_WEIGHT while more than
    SII_QUINTILES of its quintiles are shown; where hiding it leaves fewer, POOL_WEIGHT
    if every hidden quintile can still be pooled with an adjacent one (the summary may
    stand over pooled groups: _summary_pools) and SII_LOSS_WEIGHT if not, 1 once the
    summary is lost anyway; an ICB row ICB_WEIGHT times as much. So the complement of a
    hidden quintile is its neighbour where that keeps the summary (issue 11.2: on
    generated 20,000-death ICBs more summaries stand, BENCHMARKS.md).
    A latent count carries no row and costs nothing. Also returns what each count's
    rows weigh in all, hidden or not (the order in which _release tries them)."""
    from eolneeds.catalogue import load_catalogue

    unequal = {i.id for i in load_catalogue() if i.inequality_summary}
    row_weight = weights or {}
    rows_of: dict[Key, list[int]] = {}
    other: list[tuple[Key | None, Key | None]] = []
    weight: list[float] = []
    group: list[int | None] = []
    groups: dict[tuple, int] = {}
    members: list[list[int]] = []
    order_of: dict[int, float] = {}
    for r, ((nk, dk), ind, area_type, area, period, bd, bv, den) in enumerate(zip(
            keys, frame["indicator_id"].to_list(), frame["area_type"].to_list(),
            frame["area_code"].to_list(), frame["period"].to_list(),
            frame["breakdown"].to_list(), frame["breakdown_value"].to_list(),
            frame["denominator"].to_list(), strict=True)):
        scale = ICB_WEIGHT if area_type == "icb" else 1.0
        weight.append((HEADLINE_WEIGHT if bd == "all" else row_weight.get((ind, bd), 1.0))
                      * scale)
        other.append((nk, dk))
        g = None
        # A quintile with no residents (no denominator) is no group of the summary
        # (_summary_pools, assess._sii_rows): not counted as shown, nor pooled with.
        if bd == "imd_quintile" and ind in unequal and bv not in SUMMARY_VALUES \
                and bv != UNKNOWN_QUINTILE and den is not None and den > 0:
            g = groups.setdefault((ind, area, period), len(groups))
            if g == len(members):
                members.append([])
            members[g].append(r)
            order_of[r] = _quintile_order(str(bv))
        group.append(g)
        for k in {nk, dk}:
            if k is not None:
                rows_of.setdefault(k, []).append(r)

    def row_hidden(r: int, but: Key | None = None) -> bool:
        return any(o is not None and o != but and o in hidden for o in other[r])

    for g_rows in members:
        g_rows.sort(key=order_of.__getitem__)
    poolable_cache: dict[tuple[int, ...], bool] = {}

    def poolable(shut: tuple[int, ...]) -> bool:
        """(number of quintiles, positions of the hidden ones...): whether they can still
        be cut into SII_QUINTILES runs of adjacent quintiles with no hidden one alone
        (_summary_pools then checks that the pooled counts give nothing away)."""
        if shut not in poolable_cache:
            n = shut[0]
            closed = set(shut[1:])
            poolable_cache[shut] = any(
                len(runs) >= SII_QUINTILES and not any(
                    len(run) == 1 and run[0] in closed for run in runs)
                for runs in _runs(list(range(n))))
        return poolable_cache[shut]

    def cost(key: Key) -> float:
        total = 0.0
        for r in rows_of.get(key, ()):
            if row_hidden(r, key):
                continue
            g = group[r]
            if g is None:
                total += weight[r]
                continue
            shut = [m != r and row_hidden(m) for m in members[g]]
            shown = len(shut) - sum(shut)
            if shown > SII_QUINTILES:
                w = QUINTILE_WEIGHT
            else:
                # Below SII_QUINTILES the summary can still stand over pooled groups
                # where each hidden quintile has an adjacent one to pool with: hiding
                # this one costs POOL_WEIGHT where that stays possible, SII_LOSS_WEIGHT
                # where it ends it, and 1 where the summary is lost already.
                before = poolable((len(shut), *(i for i, s in enumerate(shut) if s)))
                if shown < SII_QUINTILES and not before:
                    w = 1.0
                else:
                    shut[members[g].index(r)] = True
                    after = poolable((len(shut), *(i for i, s in enumerate(shut) if s)))
                    w = POOL_WEIGHT if after else SII_LOSS_WEIGHT
            total += w * weight[r]
        return total

    worth = {k: sum(weight[r] * (1.0 if group[r] is None else QUINTILE_WEIGHT) for r in rows)
             for k, rows in rows_of.items()}
    return cost, worth


def _period_spans(frame: pl.DataFrame) -> dict[str, tuple[date, date]]:
    """Each period of whole months -> its first and last day."""
    return {str(p): (s, e) for p, s, e in
            frame.select("period", "period_start", "period_end").unique().iter_rows()
            if s is not None and e is not None and s.day == 1
            and (e + timedelta(days=1)).day == 1}


def _period_parts(frame: pl.DataFrame) -> dict[str, dict[str, set[str]]]:
    """Each reporting period -> family (length in months) -> the shorter periods of the
    table that lie inside it: months and quarters in a financial year, single years in a
    pooled period, a financial year in a longer span. A family whose periods overlap
    forms no sum; one that covers the period only in part forms a sum with a remainder
    (the months it does not show), which _relations carries as a latent count."""
    spans: dict[str, tuple] = {}
    for p, s, e in frame.select("period", "period_start", "period_end").unique().iter_rows():
        if s is None or e is None or s.day != 1 or (e + timedelta(days=1)).day != 1:
            continue  # not whole months: no sum of months to form
        spans[str(p)] = (s, e, (e.year - s.year) * 12 + e.month - s.month + 1)
    out: dict[str, dict[str, set[str]]] = {}
    for parent, (ps, pe, length) in sorted(spans.items()):
        families: dict[int, list[tuple]] = {}
        for child, (cs, ce, clen) in spans.items():
            if child != parent and clen < length and cs >= ps and ce <= pe:
                families.setdefault(clen, []).append((cs, ce, child))
        for clen, members in sorted(families.items()):
            members.sort()
            if all(b[0] > a[1] for a, b in zip(members, members[1:], strict=False)):
                out.setdefault(parent, {})[f"{clen}m"] = {m[2] for m in members}
    return out


def _projection_base(key: Key, base_period: str | None) -> Key | None:
    """The count of the base period a projected count is modelled from."""
    if base_period is None:
        return None
    name, area, _, bd, value = key
    if name == "projected":
        return ("deaths", area, base_period, bd, value)
    if name == "projected_need":
        return ("need_deaths", area, base_period, "all", "all")
    return ("deaths", area, base_period, "all", "all")


def _without_cycle_collection(function: Callable[_P, pl.DataFrame]
                              ) -> Callable[_P, pl.DataFrame]:
    """Run `function` with Python's cycle collector paused. Disclosure control makes
    millions of small tuples, dicts and sets (England: 950,000 counts in 600,000 sums),
    none of them in reference cycles, and each burst of allocation set off collections
    that walked every live object again (12% of the ICB's time, more at England's)."""
    @functools.wraps(function)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> pl.DataFrame:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()
    return paused


#: An earlier publication's counts, by count key: (the value it published or hid, hidden).
Published = dict[Key, tuple[float, bool]]
#: Periods of the counts an earlier publication of the same span gave, where a count has
#: changed since (its value then), and of the change (now less then, or then less now).
BEFORE_PREFIX = "published before: "
CHANGE_PREFIX = "changed since published: "


def _version_prefixes(version: int, versions: int) -> tuple[str, str]:
    """The period prefixes of an earlier version's values and changes: the latest as
    `published before: `, an older one numbered (`published before: [1 of 3] `)."""
    if version == versions - 1:
        return BEFORE_PREFIX, CHANGE_PREFIX
    tag = f"[{version + 1} of {versions}] "
    return BEFORE_PREFIX + tag, CHANGE_PREFIX + tag


def _against_before(values: dict[Key, float], latent: dict[Key, float],
                    relations: list[Relation], before: Published, min_count: int,
                    modelled: frozenset[str], primary: set[Key],
                    prefixes: tuple[str, str] = (BEFORE_PREFIX, CHANGE_PREFIX),
                    ) -> tuple[list[Relation], set[Key], set[Key], set[Key]]:
    """Tie this table to an earlier publication of the same spans (audit 5, findings
    03 and 05: a month published again after one late registration showed 179 cells
    one up, the late death's Place, quintile, sex, age and cause; a financial year and
    the 12-month run of the same span, each safe alone, gave back 18 hidden counts
    where their patterns differed).

    An unchanged count is the same count: published then, a reader has it (returned in
    `same`, to be known); hidden then, it stays hidden (`pinned`) so that the two
    patterns are one. A changed count is its value then plus the change: the value then
    is a count of its own (`published before: ...`, known or pinned like an unchanged
    one), the change a latent count (`changed since published: ...`, protected where it
    is 1-7), and every sum of the table holds for the values then as well (the earlier
    table added up), so a second copy of each sum that holds a changed count is added
    over the values then. `values` gains the counts of both. `prefixes`: the period
    prefixes of the values then and the changes (one pair per earlier version, so that
    each version's are counts of their own). Returns (the sums added, same, pinned, the
    changed counts)."""
    before_prefix, change_prefix = prefixes
    same: set[Key] = set()
    pinned: set[Key] = set()
    old: dict[Key, Key] = {}  # changed count -> its value then
    added: list[Relation] = []
    for key, (then, was_hidden) in before.items():
        now = values.get(key)
        if now is None or key in latent or key[0] in modelled:
            continue
        if then != then:  # NaN: hidden, its value never published (ledger.read_back)
            if was_hidden:
                pinned.add(key)
            continue
        if now == then:
            if was_hidden:
                pinned.add(key)
            elif key not in primary:  # published under another rule: it is out
                same.add(key)
            continue
        then_key = (key[0], key[1], before_prefix + key[2], key[3], key[4])
        change = (key[0], key[1], change_prefix + key[2], key[3], key[4])
        values[then_key], values[change] = then, abs(now - then)
        (pinned if was_hidden else same).add(then_key)
        old[key] = then_key
        # Counts are never negative: the larger of the two is the sum.
        added.append((key, then_key, change) if now > then else (then_key, key, change))
    if not old:
        return added, same, pinned, set()
    for relation in relations:
        if not any(k in old for k in relation):
            continue
        left = [k for k in relation if k in latent]
        if len(left) > 1:
            continue  # not written by _relations: one remainder a sum
        copy = [old.get(k, k) for k in relation]
        if left:
            # What the sum left over then: its total less its parts, at their values then.
            i = relation.index(left[0])
            parts = [values[k] for j, k in enumerate(copy) if j and j != i]
            then = (values[copy[0]] - sum(parts)) if i else sum(parts)
            if then != latent[left[0]]:
                copy[i] = (left[0][0], left[0][1], before_prefix + left[0][2], left[0][3],
                           left[0][4])
                values[copy[i]] = then
        added.append(tuple(copy))
    return added, same, pinned, set(old)


@_without_cycle_collection
def apply_disclosure(
    frame: pl.DataFrame,
    settings: DisclosureConfig,
    *,
    exempt_indicators: Iterable[str] = (),
    projection_base: str | None = None,
    nesting: Nesting | None = None,
    pools: dict[tuple[str, str, str], list[str]] | None = None,
    weights: RowWeights | None = None,
    earlier_periods: Iterable[str] = (),
    linking_periods: Iterable[str] = (),
    before: Published | Sequence[Published] | None = None,
    record: list[tuple[Key, float, bool]] | None = None,
) -> pl.DataFrame:
    """Suppress, note and round an indicator table (INDICATOR_SCHEMA in, same out).
    `weights`: rows worth more than a breakdown row's 1 when complementary counts are
    chosen, by (indicator, breakdown) (_row_cost; practice.DISCLOSURE_WEIGHTS).
    `nesting`: breakdowns whose categories lie in another's (nested_breakdowns).
    `pools`, where given, is filled with the pooled deprivation groups inequality
    summaries may be computed from without giving anything away (_summary_pools).

    `earlier_periods`: periods an earlier publication gave readers (the previous month's
    rolling window and year to date, for a monthly run): their rows take part in the
    sums and count as published, every count of them (fail closed: whatever that
    publication hid), so that nothing here can be worked out against them, and they are
    never hidden. `linking_periods`: periods computed only to join this publication's
    periods to the earlier ones (the months two windows share): never published, their
    counts protected like a latent count. The caller drops the rows of both.

    `before`: what earlier publications of the same spans published (the publication
    ledger, eolneeds.ledger), by this table's count keys: each count's value then and
    whether it was hidden; one such table, or one per earlier version (oldest first: a
    reader holds them all). An unchanged count keeps its earlier pattern (published:
    known, never hidden; hidden: hidden again, never released); a changed one (late
    registrations, a corrected file) is tied to its earlier value through the change,
    a count protected where it is 1-7 (_against_before), against each version.
    `record`, where given, is filled with every count of the published periods, its
    value and whether it was hidden (what the ledger keeps)."""
    exempt = pl.col("indicator_id").is_in(list(exempt_indicators))
    summary = pl.col("breakdown_value").is_in(list(SUMMARY_VALUES))
    min_count = settings.min_count
    out = frame.with_columns(
        pl.col("suppressed").fill_null(False),
        pl.col("note").fill_null(""),
    )

    # 2. Publication rules for rates (not disclosure: reliability).
    events = pl.col("numerator")
    is_dsr = (pl.col("method") == "DSR") & ~summary
    is_crude = (pl.col("method") == "R") & ~summary
    dsr_hidden = is_dsr & events.is_not_null() & (events < DSR_MIN_EVENTS)
    crude_hidden = is_crude & events.is_not_null() & (events < CRUDE_RATE_MIN_EVENTS)
    unreliable = (is_dsr | is_crude) & events.is_not_null() & (events < RELIABLE_MIN_EVENTS)
    out = out.with_columns(
        pl.when(dsr_hidden).then(_join_note(pl.col("note"), DSR_NOTE))
        .when(crude_hidden).then(_join_note(pl.col("note"), CRUDE_NOTE))
        .when(unreliable).then(_join_note(pl.col("note"), UNRELIABLE_NOTE))
        .otherwise(pl.col("note")).alias("note"),
        # The rate is withheld; its count is not disclosive unless rule 1 says so.
        *(pl.when(dsr_hidden | crude_hidden).then(None).otherwise(pl.col(c)).alias(c)
          for c in ("value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8")),
    )

    if settings.enabled:
        # 1 and 3. Primary and secondary suppression, on the counts behind the rows.
        projected = set(exempt_indicators)
        keys = _row_keys(out, projected)
        values: dict[Key, float] = {}
        for (nk, dk), num, den in zip(keys, out["numerator"].to_list(),
                                      out["denominator"].to_list(), strict=True):
            for key, v in ((nk, num), (dk, den)):
                if key is not None and v is not None:
                    values[key] = max(values.get(key, 0.0), float(v))
        modelled = _MODELLED
        earlier, linking = set(earlier_periods), set(linking_periods)
        shadow = earlier | linking
        primary = {k for k, v in values.items() if k[0] not in modelled and 0 < v < min_count
                   and k[2] not in shadow}
        hidden = set(primary)
        icb_codes = frozenset(out.filter(pl.col("area_type") == "icb")["area_code"].to_list())
        # A percentage's numerator is part of its denominator: the people left out of it
        # are a count too (98.5% of 200 is 3 people who were not).
        pairs = [(dk, nk) for (nk, dk), method, unit in zip(
            keys, out["method"].to_list(), out["unit"].to_list(), strict=True)
            if method == "P" and unit != "£" and nk is not None and dk is not None]
        relations, latent = (_relations(values, _period_parts(out), set(icb_codes), pairs,
                                        nesting, _period_spans(out), linking)
                             if settings.secondary else ([], {}))
        row_keys, raw_values = keys, dict(values)  # before merging: what the ledger keeps
        # One count under two names (equal wherever both are counted) is one count.
        merged = _same_counts(values, min_count, modelled)
        if merged:
            relations = _merge_counts(merged, relations)
            keys = [(None if nk is None else merged.get(nk, nk),
                     None if dk is None else merged.get(dk, dk)) for nk, dk in keys]
            values = {merged.get(k, k): v for k, v in values.items()}
            primary = {merged.get(k, k) for k in primary}
            hidden = {merged.get(k, k) for k in hidden}
        # Latent counts (what a sum leaves over) are never published: unknown to a
        # reader, and protected like a hidden cell where they are small; the others are
        # `free` (unknown, but nothing to protect).
        free = {k for k, v in latent.items()
                if k[0].split("~")[0] in modelled or not 0 < abs(v) < min_count}
        hidden |= set(latent)
        # Counts an earlier publication gave (known: never hidden, never chosen), and
        # the linking periods' counts (never published: unknown, like a latent count).
        known = {k for k in values if k[2] in earlier}
        linked = {k for k in values if k[2] in linking}
        # Known by assumption only (fail closed: no ledger record of them), until the
        # ledger's versions below confirm them (what they published) or not (hid).
        assumed = set(known)
        free |= {k for k in linked if k[0] in modelled or not 0 < abs(values[k]) < min_count}
        hidden |= linked
        values = {**values, **latent}
        pinned: set[Key] = set()  # hidden by an earlier publication: hidden for good
        versions = [before] if isinstance(before, dict) else list(before or [])
        if versions:
            same: set[Key] = set()
            changed: set[Key] = set()
            added: list[Relation] = []
            for number, version in enumerate(versions):
                merged_before: Published = {}
                for k0, entry in version.items():
                    merged_before.setdefault(merged.get(k0, k0), entry)
                more, same_then, pinned_then, changed_then = _against_before(
                    values, latent, relations, merged_before, min_count, modelled, primary,
                    _version_prefixes(number, len(versions)))
                added += more
                same |= same_then
                pinned |= pinned_then
                changed |= changed_then
            # Published in one version is out, whatever another hid.
            pinned -= same
            relations = [*relations, *added]
            # A count recounted for an earlier publication's period that differs from
            # what it published is not what readers hold: unknown, like a latent count.
            recounted = changed & known
            # An earlier publication's count the ledger has as hidden was never given:
            # unknown, and protected here like any hidden count (pinned above). Taken as
            # known, nothing here would stop this table giving it back (on the sample's
            # two consecutive runs it changed no cell: what the first hid, the second
            # does not give back either; it is checked now rather than assumed).
            known = (known - recounted - pinned) | same
            assumed -= same | pinned | recounted
            unknown = recounted | {k for k in values if k[2].startswith(
                (BEFORE_PREFIX, CHANGE_PREFIX)) and k not in known}
            hidden |= pinned | unknown
            free |= {k for k in unknown if not 0 < abs(values[k]) < min_count}
        cost, worth = _row_cost(out, keys, hidden, weights)
        # The sums numbered once for every round below.
        sums = _Sums(relations)
        _secondary(values, hidden, sums, icb_codes, free, cost, known)
        # Projections echo the count they are projected from: withheld where it is hidden
        # (then their own sums are protected in turn).
        withheld = {k for k in values if k[0] in modelled
                    and _projection_base(k, projection_base) in hidden}
        hidden |= withheld
        if relations:
            needs = {k for k in hidden if k not in free and k[0] not in modelled
                     and 0 < abs(values.get(k, 0.0)) < min_count}
            if known:
                # What the earlier publication's counts give on their own (what is left
                # of its window beyond its year to date) was for that publication to
                # protect: nothing hidden here could, and it is not this one's to.
                rest = set(sums.keys) - known
                if assumed:
                    # Earlier counts taken as known with no record of them: with this
                    # table's zeros too (a 0 here makes the shared months of its cell 0,
                    # and the month out is the assumed count itself, which no reader was
                    # given: protecting it hid the whole window). Never where the ledger
                    # has the counts: then a published earlier count and a 0 here give
                    # back what the two publications really give together.
                    zeros = {k for k in rest if values.get(k) == 0 and k not in latent}
                    rest -= _forced_zero(rest - zeros, sums, values) | zeros
                earlier_given = set(_determined(rest, sums, rest - needs))
                needs -= earlier_given
            _protect(values, hidden, sums, icb_codes, free, needs, cost, known=known)
            _publish_forced_zeros(values, hidden, sums, icb_codes, free, needs, cost, known)
            # The greedy choices above hide more than the sums need: publish again every
            # complementary count that gives nothing away, the most useful first; then
            # the exact check once more, over everything (fail closed).
            spare_set = {k for k in hidden if k in worth and k not in needs
                         and k not in primary and k[0] not in modelled
                         and k[2] not in shadow and k not in pinned}
            # Only a count that would show a row again is worth trying: one whose row's
            # other count is published, or could be released too.
            useful = {k for pair in keys for k, o in (pair, pair[::-1])
                      if k in spare_set and (o is None or o not in hidden or o in spare_set)}
            spare = sorted(useful, key=lambda k: (-worth[k], k))
            _release(hidden, sums, needs, spare)
            _publish_forced_zeros(values, hidden, sums, icb_codes, free, needs, cost, known)
            _hide_until_safe(hidden, sums, lambda: _exposed(hidden, sums, needs, values),
                             known)
            if known and earlier_given:
                # Left to the earlier publication is what the two give together; this
                # table alone must still not give such a count back (a reader may hold
                # this one only): protected here with the earlier counts unknown (the
                # run's window alone gave back 6 counts of 1-7 on the 3,000-death sample).
                alone = hidden | known
                _protect(values, alone, sums, icb_codes, free | known, earlier_given, cost)
                hidden |= alone - known
            if pools is not None:
                pools.update(_summary_pools(out, keys, values, hidden, relations, needs,
                                            min_count, sums))
        if record is not None:
            for pair in row_keys:
                for counted in pair:
                    if counted is not None and counted[0] not in modelled \
                            and counted[2] not in shadow and counted in raw_values:
                        record.append((counted, raw_values[counted],
                                       merged.get(counted, counted) in hidden))
        kind = []
        for nk, dk in keys:
            found = [k for k in (nk, dk) if k is not None and k in hidden]
            if not found:
                kind.append("")
            elif any(k[0] in modelled for k in found):
                kind.append("projection")
            elif any(k in primary for k in found):
                kind.append("primary")
            else:
                kind.append("secondary")
        kinds = pl.Series("_kind", kind, dtype=pl.String)
        notes = {"primary": suppressed_note(min_count), "secondary": suppressed_note(min_count),
                 "projection": PROJECTION_NOTE}
        addition = pl.col("_kind").replace_strict(notes, default="")
        out = out.with_columns(kinds).with_columns(
            (pl.col("suppressed") | (pl.col("_kind") != "")).alias("suppressed"),
            pl.when(pl.col("_kind") == "").then(pl.col("note"))
            .when(pl.col("note") == "").then(addition)
            .otherwise(pl.col("note") + pl.lit("; ") + addition).alias("note"),
        ).drop("_kind")
        # Projections are model outputs: rounded to the nearest 10 (they are not precise
        # to the person, and a rounded figure does not echo a small count exactly).
        if projected:
            is_projection = pl.col("indicator_id").is_in(list(projected))
            out = out.with_columns(
                *(pl.when(is_projection).then((pl.col(c) / PROJECTION_ROUNDING).round(0)
                                              * PROJECTION_ROUNDING)
                  .otherwise(pl.col(c)).alias(c)
                  for c in ("numerator", "denominator", "value")),
            )
        # 4. Summaries built on a hidden quintile.
        hidden_quintiles = (
            out.filter(pl.col("suppressed") & (pl.col("breakdown") == "imd_quintile") & ~summary
                       & (pl.col("breakdown_value") != UNKNOWN_QUINTILE))
            .select("indicator_id", "area_code", "period").unique()
            .with_columns(pl.lit(True).alias("_quintile_hidden"))
        )
        out = out.join(hidden_quintiles, on=["indicator_id", "area_code", "period"],
                       how="left", nulls_equal=True)
        sii_hidden = summary & (pl.col("breakdown") == "imd_quintile") & pl.col(
            "_quintile_hidden").fill_null(False)
        out = out.with_columns(
            (pl.col("suppressed") | sii_hidden).alias("suppressed"),
            pl.when(sii_hidden).then(_join_note(pl.col("note"), SII_NOTE))
            .otherwise(pl.col("note")).alias("note"),
        ).drop("_quintile_hidden")

        # 5. Rounding of what is left.
        if settings.rounding:
            base = float(settings.rounding)
            countable = ~exempt & ~summary & (pl.col("unit") != "£")

            def rounded(column: str) -> pl.Expr:
                return (pl.col(column) / base).round(0) * base

            exact = out["numerator"].to_numpy().astype(float)
            out = out.with_columns(
                pl.when(countable & pl.col("method").is_in(["C", "P", "R", "DSR"]))
                .then(rounded("numerator")).otherwise(pl.col("numerator")).alias("numerator"),
                pl.when(countable & pl.col("method").is_in(["P", "M", "Q"]))
                .then(rounded("denominator")).otherwise(pl.col("denominator"))
                .alias("denominator"),
                pl.when(countable & (pl.col("method") == "C"))
                .then(rounded("value")).otherwise(pl.col("value")).alias("value"),
            )
            out = _from_rounded_counts(out, exact, out.select(countable).to_series())

    is_hidden = pl.col("suppressed")
    return out.with_columns(
        *(pl.when(is_hidden).then(None).otherwise(pl.col(c)).alias(c) for c in _VALUE_COLUMNS),
        pl.when(is_hidden).then(pl.lit("not_compared")).otherwise(pl.col("comparison"))
        .alias("comparison"),
        pl.when(pl.col("note") == "").then(None).otherwise(pl.col("note")).alias("note"),
    ).select(frame.columns)


def _from_rounded_counts(out: pl.DataFrame, exact: np.ndarray,
                         countable: pl.Series) -> pl.DataFrame:
    """Values and intervals of the rows whose counts were rounded, from the rounded
    counts: a percentage, a rate and their intervals computed from the exact counts give
    them back (26.436781...% of a published 85 is 23 of 87 and nothing else; a DSR's
    Dobson interval, (U - DSR) / (DSR - L) = (O_U - O) / (O - O_L), is a function of its
    count alone). A percentage and a crude rate are recomputed from the rounded counts
    (Wilson; exact/Byar's over the population); a DSR keeps its value and has its
    interval rescaled to the rounded count (Dobson's, with the variance it implies); a
    mean's total (bed days over its published value gives its number of people) is not
    published."""
    from eolneeds import methods

    method = out["method"].to_numpy()
    ok = countable.to_numpy() & out["numerator"].is_not_null().to_numpy()
    x = out["numerator"].fill_null(np.nan).to_numpy().astype(float)
    n = out["denominator"].fill_null(np.nan).to_numpy().astype(float)
    columns = {c: out[c].fill_null(np.nan).to_numpy().astype(float).copy()
               for c in ("value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8",
                         "upper_ci_99_8")}
    levels = ((0.95, "lower_ci_95", "upper_ci_95"), (0.998, "lower_ci_99_8", "upper_ci_99_8"))
    with np.errstate(divide="ignore", invalid="ignore"):
        rows = ok & (method == "P") & (n > 0)
        if rows.any():
            xs, ns = np.minimum(x[rows], n[rows]), n[rows]
            for confidence, lo, hi in levels:
                value, low, high = methods.wilson(xs, ns, confidence)
                columns["value"][rows] = value * 100
                columns[lo][rows], columns[hi][rows] = low * 100, high * 100
        rows = ok & (method == "R") & (n > 0)
        if rows.any():
            for confidence, lo, hi in levels:
                value, low, high = methods.crude_rate(x[rows], n[rows], confidence)
                columns["value"][rows] = value
                columns[lo][rows], columns[hi][rows] = low, high
        rows = ok & (method == "DSR") & (exact > 0) & (x > 0)
        if rows.any():
            o, r, dsr = exact[rows], x[rows], columns["value"][rows]
            for confidence, lo, hi in levels:
                o_lo, o_hi = methods.poisson_limits(o, confidence)
                # sqrt(var / O) from the exact interval, then for the rounded count.
                k = (columns[hi][rows] - dsr) / (o_hi - o) * np.sqrt(o / r)
                r_lo, r_hi = methods.poisson_limits(r, confidence)
                columns[lo][rows] = dsr + k * (r_lo - r)
                columns[hi][rows] = dsr + k * (r_hi - r)
    mean_total = pl.lit(pl.Series(countable.to_numpy() & (method == "M")))
    return out.with_columns(
        *(pl.Series(c, v).fill_nan(None) for c, v in columns.items()),
    ).with_columns(
        pl.when(mean_total).then(None).otherwise(pl.col("numerator")).alias("numerator"))


# ---------------------------------------------------------------------------------------
# Inequality summaries over pooled quintiles
#
# An SII/RII is computed from the quintiles that are published (assess._sii_rows). Where
# fewer than SII_QUINTILES are, a run of adjacent quintiles (1+2, 4+5, 2+3+4, ...) that
# holds the hidden or unpublished ones can stand as one deprivation group, so that the
# summary needs no hidden input. The summary is one or two linear combinations of its
# groups' values (and its intervals echo them), so a pooled group's value is as good as
# published: its numerator and denominator are published sums of the quintiles' counts.
# A pooling is used only where that gives nothing away, checked with the same exact
# machinery as the rest of the table.

#: The label of a pooled group: its quintiles joined by '+' ('1+2').
POOL_JOIN = "+"


def pool_label(run: Iterable[str]) -> str:
    return POOL_JOIN.join(run)


def _quintile_order(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return float("inf")  # a label that is no quintile number sorts last


_Q = TypeVar("_Q")


def _runs(quintiles: list[_Q]) -> list[list[tuple[_Q, ...]]]:
    """Every way to cut the ordered quintiles into runs of adjacent ones."""
    out: list[list[tuple[_Q, ...]]] = []
    n = len(quintiles)
    for cuts in range(1 << max(n - 1, 0)):
        groups, start = [], 0
        for i in range(1, n):
            if cuts >> (i - 1) & 1:
                groups.append(tuple(quintiles[start:i]))
                start = i
        groups.append(tuple(quintiles[start:]))
        out.append(groups)
    return out


def _transformable(method: str, value: float, low: float, high: float | None) -> bool:
    """Whether methods.sii_rii can take a group's value and limits: the logit of a
    percentage needs 0 < p < 100, the log of a rate > 0."""
    if method == "P":
        return 0 < low and 0 < value < 100 and (high is None or high < 100)
    return value > 0 and low > 0


def _summary_pools(out: pl.DataFrame, keys: list[tuple[Key | None, Key | None]],
                   values: dict[Key, float], hidden: set[Key], relations: list[Relation],
                   needs: set[Key], min_count: int, base_sums: _Sums | None = None,
                   ) -> dict[tuple[str, str, str], list[str]]:
    """(indicator_id, area_code, period) -> the deprivation groups (pool_label) its
    SII/RII is to be computed from, for the summaries that have fewer than SII_QUINTILES
    usable quintiles (hidden, or a rate not published) and can be saved by pooling.

    A candidate grouping has at least SII_QUINTILES groups; a group of one quintile is a
    published one; a pooled group holds an unusable quintile (pooling published ones
    only would lose a group). A published quintile the SII cannot take (0 or 100%:
    _transformable) is unusable too, and a summary with one is pooled even with
    SII_QUINTILES usable quintiles left (without it, it is not calculated at all); a
    pooled percentage must itself be above 0 and below 100%. The most groups win, then
    the fewest quintiles pooled.
    A grouping is safe where (1) each pooled group's numerator and denominator counts
    are 0 or at least min_count (a standardised rate's events DSR_MIN_EVENTS, a crude
    rate's CRUDE_RATE_MIN_EVENTS) and (2) with those pooled counts published as sums of
    the quintiles' counts, the exact check (_determined) finds no hidden count that
    needs protection, and no pooled sum of any other count of those quintiles (what a
    pooled group leaves over: its people outside the numerator, its external-cause
    deaths, ...) that is 1 to min_count - 1, can be worked out. Groupings accepted stay
    published for the next ones (checked together)."""
    from eolneeds.catalogue import load_catalogue

    methods = {i.id: i.method for i in load_catalogue() if i.inequality_summary}
    events_min = {"DSR": DSR_MIN_EVENTS, "R": CRUDE_RATE_MIN_EVENTS}
    groups: dict[tuple[str, str, str], list[tuple[str, int, bool]]] = {}
    # Summaries with a published quintile the SII cannot take (methods.sii_rii: a
    # percentage of 0 or 100, a rate of 0, whose log / logit is infinite): with it the
    # summary is not calculated, so it is pooled with a neighbour like a hidden one.
    degenerate: set[tuple[str, str, str]] = set()
    for r, (ind, area, period, bd, bv, den, value, low, high) in enumerate(out.select(
            "indicator_id", "area_code", "period", "breakdown", "breakdown_value",
            "denominator", "value", "lower_ci_95", "upper_ci_95").iter_rows()):
        if ind not in methods or bd != "imd_quintile" or bv in SUMMARY_VALUES \
                or bv == UNKNOWN_QUINTILE:
            continue
        if den is None or not den > 0:
            continue  # no residents (or no deaths): not a group of the summary
        usable = value is not None and low is not None and not any(
            k is not None and k in hidden for k in keys[r])
        if usable and not _transformable(methods[ind], value, low, high):
            usable = False
            degenerate.add((ind, area, period))
        groups.setdefault((ind, area, period), []).append((str(bv), r, usable))
    names_of: dict[tuple[str, str, str], set[str]] = {}
    for name, area, period, bd, bv in values:
        if bd == "imd_quintile":
            names_of.setdefault((area, period, bv), set()).add(name)
    by_key: dict[Key, list[int]] = {}
    rels = list(relations)
    for i, rel in enumerate(rels):
        for k in rel:
            by_key.setdefault(k, []).append(i)
    hidden = set(hidden)
    needs = set(needs)
    known: set[Key] = set()  # pooled sums published by a grouping accepted before

    def exposed(start: set[Key]) -> bool:
        # The hidden counts joined to `start` by sums, and those sums: the only block
        # a new sum can change.
        seen, frontier, rel_ids = set(start), list(start), set()
        while frontier:
            k = frontier.pop()
            for i in by_key.get(k, ()):
                if i in rel_ids:
                    continue
                rel_ids.add(i)
                for o in rels[i]:
                    if o in hidden and o not in seen:
                        seen.add(o)
                        frontier.append(o)
        block = [rels[i] for i in sorted(rel_ids)]
        return bool(_determined(seen, block, seen - needs))

    basis = _PoolBasis(base_sums, set(hidden), needs) if base_sums is not None else None

    pools: dict[tuple[str, str, str], list[str]] = {}
    for (ind, area, period), members in sorted(groups.items()):
        if len(members) < SII_QUINTILES or (
                sum(u for _, _, u in members) >= SII_QUINTILES
                and (ind, area, period) not in degenerate):
            continue
        members.sort(key=lambda m: _quintile_order(m[0]))
        labels = [m[0] for m in members]
        row_of = {m[0]: m[1] for m in members}
        published = {m[0] for m in members if m[2]}
        options = []
        for runs in _runs(labels):
            if len(runs) < SII_QUINTILES or any(len(g) == 1 and g[0] not in published
                                                for g in runs):
                continue
            if any(len(g) > 1 and set(g) <= published for g in runs):
                continue
            options.append((-len(runs), sum(len(g) for g in runs if len(g) > 1), runs))
        for _, _, runs in sorted(options):
            new_rels: list[Relation] = []
            new_hidden: set[Key] = set()
            new_needs: set[Key] = set()
            new_known: set[Key] = set()
            ok = True
            for g in (g for g in runs if len(g) > 1):
                label = pool_label(g)
                published_names = {k[0] for q in g for k in keys[row_of[q]] if k is not None}
                numerator = 0.0
                for slot, k0 in enumerate(keys[row_of[g[0]]]):
                    if k0 is None:
                        continue
                    total = sum(values.get((k0[0], area, period, "imd_quintile", q), 0.0)
                                for q in g)
                    floor = events_min.get(methods[ind], min_count) if slot == 0 else min_count
                    if 0 < total < max(floor, min_count) or (slot == 0 and total < floor):
                        ok = False
                    if slot == 0:
                        numerator = total
                    elif methods[ind] == "P" and not 0 < numerator < total:
                        ok = False  # a pooled 0 or 100%: no more usable than its parts
                # Every count of the pooled quintiles (a count a quintile does not have
                # is 0 there: its sums hold without it).
                names = set().union(*(names_of.get((area, period, q), set()) for q in g))
                for name in sorted(names):
                    parts = [k for k in ((name, area, period, "imd_quintile", q) for q in g)
                             if k in values]
                    pooled: Key = (name, area, period, "imd_quintile", label)
                    if pooled in known or (len(parts) < 2 and name not in published_names):
                        continue
                    new_rels.append((pooled, *parts))
                    if name in published_names:
                        new_known.add(pooled)
                    else:
                        new_hidden.add(pooled)
                        total = sum(values.get(p, 0.0) for p in parts)
                        if 0 < abs(total) < min_count:
                            new_needs.add(pooled)
            if not ok:
                continue
            if basis is not None:
                verdict = basis.try_pool(new_rels, new_known, new_needs)
                if verdict is False:
                    continue  # this grouping would give a count back
                if verdict is True:
                    for i, rel in enumerate(new_rels, start=len(rels)):
                        for k in rel:
                            by_key.setdefault(k, []).append(i)
                    rels.extend(new_rels)
                    hidden |= new_hidden
                    hidden -= new_known
                    needs |= new_needs
                    known |= new_known
                    pools[(ind, area, period)] = [pool_label(g) for g in runs]
                    break
                # A block too large for a basis: from here on, eliminate (the basis
                # would not hold what the eliminations accept).
                basis = None
            start = {k for rel in new_rels for k in rel[1:] if k in hidden} | new_hidden
            for i, rel in enumerate(new_rels, start=len(rels)):
                for k in rel:
                    by_key.setdefault(k, []).append(i)
            rels.extend(new_rels)
            was_hidden = hidden & new_known
            hidden |= new_hidden
            hidden -= new_known
            needs |= new_needs
            if exposed(start):
                # Undo: this grouping would give a count back.
                del rels[len(rels) - len(new_rels):]
                for rel in new_rels:
                    for k in rel:
                        while by_key[k] and by_key[k][-1] >= len(rels):
                            by_key[k].pop()
                hidden -= new_hidden
                hidden |= was_hidden
                needs -= new_needs
                continue
            known |= new_known
            pools[(ind, area, period)] = [pool_label(g) for g in runs]
            break
    return pools


class _PoolBasis:
    """_summary_pools' exact check without eliminating a block again per grouping: the
    null space of the sums over the hidden counts (a basis Z per block, _null_basis, as
    _release uses) is worked out once, and a grouping's pooled sums are put in as what
    they are, linear functions of the quintiles' counts: a published pooled sum fixes
    the sum of its hidden parts' rows of Z, a hidden one is that sum. A count is
    determined where its row lies in the span of the fixed directions (nothing is left
    after projecting it on them). Accepted groupings add their fixed directions
    (orthonormal, kept per block). Where a block's basis would be too large
    (RELEASE_MAX_CELLS) it answers None, and the caller eliminates as before."""

    def __init__(self, sums: _Sums, hidden: set[Key], needs: set[Key]):
        self.sums = sums
        self.hidden = hidden  # the base hidden counts (pooled sums are not among them)
        self.needs = needs
        self.z: dict[int, np.ndarray] = {}  # group -> basis (rows: its counts)
        self.done: dict[int, np.ndarray] = {}  # group -> fixed directions, orthonormal
        self.row: dict[Key, tuple[int, int]] = {}  # hidden count -> (group, row)
        self.need_at: dict[int, list[int]] = {}  # group -> rows of counts to protect
        self.pooled_needs: dict[int, list[np.ndarray]] = {}  # group -> pooled ones' rows
        self.next_group = 0
        self.block_of: dict[int, tuple[np.ndarray, Callable[[], list[dict[int, float]]]]] \
            | None = None
        self.big: set[int] = set()  # first counts of blocks too large for a basis

    def _blocks(self) -> dict[int, tuple[np.ndarray, Callable[[], list[dict[int, float]]]]]:
        """Every block of the hidden counts (numbered once), by each count's number."""
        if self.block_of is None:
            self.block_of = {}
            for members, build in self.sums.blocks(self.hidden):
                assert build is not None
                for m in members.tolist():
                    self.block_of[m] = (members, build)
        return self.block_of

    def _new_group(self, z: np.ndarray, keys: list[Key]) -> int:
        g = self.next_group
        self.next_group += 1
        self.z[g] = z
        self.done[g] = np.zeros((0, z.shape[1]))
        for i, k in enumerate(keys):
            self.row[k] = (g, i)
        self.need_at[g] = [i for i, k in enumerate(keys) if k in self.needs]
        self.pooled_needs[g] = []
        return g

    def _group_of(self, key: Key) -> int | None:
        """The group of a hidden count, its block's basis built on first use; None where
        the basis would be too large."""
        if key in self.row:
            return self.row[key][0]
        s = self.sums
        j = s.index.get(key)
        if j is None:
            return self._new_group(np.ones((1, 1)), [key])  # in no sum: free alone
        members, build = self._blocks()[j]
        first = int(members[0])
        if first in self.big:
            return None
        n = len(members)
        pivots, solved = _eliminate(n, build())
        if n * (n - len(pivots)) > RELEASE_MAX_CELLS:
            self.big.add(first)
            return None
        return self._new_group(_null_basis(n, pivots, solved), [s.keys[m] for m in members])

    def _merge(self, groups: set[int]) -> int:
        """One group of several (block-diagonal: their sums are apart so far)."""
        order = sorted(groups)
        target = order[0]
        if len(order) == 1:
            return target
        heights = [self.z[g].shape[0] for g in order]
        widths = [self.z[g].shape[1] for g in order]
        merged = np.zeros((sum(heights), sum(widths)))
        done_rows = sum(self.done[g].shape[0] for g in order)
        done = np.zeros((done_rows, sum(widths)))
        need_at: list[int] = []
        pooled: list[np.ndarray] = []
        offset: dict[int, tuple[int, int]] = {}
        r0 = c0 = d0 = 0
        for g, h, w in zip(order, heights, widths, strict=True):
            merged[r0:r0 + h, c0:c0 + w] = self.z[g]
            d = self.done[g].shape[0]
            done[d0:d0 + d, c0:c0 + w] = self.done[g]
            need_at += [r0 + i for i in self.need_at[g]]
            for v in self.pooled_needs[g]:
                wide = np.zeros(merged.shape[1])
                wide[c0:c0 + w] = v
                pooled.append(wide)
            offset[g] = (r0, c0)
            r0, c0, d0 = r0 + h, c0 + w, d0 + d
        for key, (g, i) in list(self.row.items()):
            if g in offset:
                self.row[key] = (target, offset[g][0] + i)
        for g in order[1:]:
            del self.z[g], self.done[g], self.need_at[g], self.pooled_needs[g]
        self.z[target], self.done[target] = merged, done
        self.need_at[target], self.pooled_needs[target] = need_at, pooled
        return target

    def try_pool(self, new_rels: list[Relation], new_known: set[Key],
                 new_needs: set[Key]) -> bool | None:
        """Whether a grouping's pooled sums leave every count to protect undetermined
        (True: accepted, its fixed directions kept), give one back (False), or None (a
        block too large: the caller checks by elimination)."""
        involved: set[int] = set()
        for rel in new_rels:
            for k in rel[1:]:
                if k in self.hidden:
                    g = self._group_of(k)
                    if g is None:
                        return None
                    involved.add(g)
        if not involved:
            return not new_needs  # a pooled sum of published counts is known
        g = self._merge(involved)
        z, done = self.z[g], self.done[g]

        def vector(parts: tuple[Key, ...]) -> np.ndarray:
            at = [self.row[k][1] for k in parts if k in self.hidden]
            return z[at].sum(axis=0) if at else np.zeros(z.shape[1])

        fixed = [vector(rel[1:]) for rel in new_rels if rel[0] in new_known]
        added = [vector(rel[1:]) for rel in new_rels if rel[0] in new_needs]
        if z.shape[1] == 0:
            return not added  # every count of the block is known: so is a pooled one
        directions = done
        if fixed:
            c = np.vstack(fixed)
            for _ in range(2):  # orthogonal to what is fixed already (twice, for accuracy)
                c = c - (c @ done.T) @ done
            _u, s, vt = np.linalg.svd(c, full_matrices=False)
            scale = max(float(np.abs(np.vstack(fixed)).max()), 1.0)
            rank = int(np.sum(s > 1e-9 * scale))
            directions = np.vstack([done, vt[:rank]])
        rows = np.vstack([z[self.need_at[g]], *self.pooled_needs[g], *added]) \
            if self.need_at[g] or self.pooled_needs[g] or added \
            else np.zeros((0, z.shape[1]))
        norms = np.einsum("ij,ij->i", rows, rows)
        along = rows @ directions.T
        left = norms - np.einsum("ij,ij->i", along, along)
        if np.any(left <= 1e-9 * np.maximum(norms, 1.0)):
            return False
        self.done[g] = directions
        self.pooled_needs[g] = self.pooled_needs[g] + added
        return True

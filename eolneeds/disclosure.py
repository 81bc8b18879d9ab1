"""Small-number disclosure control for the indicator table (DESIGN.md section 8).

Applied last, to the whole long table, by `apply_disclosure`:

1. Primary suppression: a count from 1 to min_count - 1 (default 1-7) is hidden. The
   count protected depends on the method: the numerator of counts, proportions and
   rates; the number of people behind a mean, a median or a cost (the denominator); for
   proportions the denominator too (5 of 5 tells the same story as 0 of 5 does not).
2. Publication rules (ONS mortality practice, applied whatever min_count is because
   they are about reliability): directly standardised rates are not published below 10
   events, crude rates below 3; rates on fewer than 20 events are noted as unreliable.
3. Secondary suppression: a single hidden cell could be recovered by subtracting the
   others from the total. Within each breakdown set (indicator x area x period x
   breakdown) and within each set of Places (which add up to the ICB), if exactly one
   cell is hidden the next-smallest cell is hidden too. Repeated until nothing changes.
4. SII/RII rows built on a hidden quintile are hidden.
5. Optional rounding of the remaining counts to the nearest 5 or 10.

A hidden row keeps no value, no intervals and no numerator or denominator;
`suppressed` is true and `note` names the rule. 0 is never suppressed (it discloses
nobody). `min_count = 0` (or 1) turns 1, 3 and 5 off; modelled projections are exempt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import polars as pl

from eolneeds.config import DisclosureConfig

DSR_MIN_EVENTS = 10
CRUDE_RATE_MIN_EVENTS = 3
RELIABLE_MIN_EVENTS = 20
SUMMARY_VALUES = ("SII", "RII")
_VALUE_COLUMNS = (
    "numerator", "denominator", "value", "lower_ci_95", "upper_ci_95",
    "lower_ci_99_8", "upper_ci_99_8",
)


def primary_note(min_count: int) -> str:
    return f"suppressed: count of 1-{min_count - 1} (primary suppression)"


SECONDARY_NOTE = "suppressed: would reveal a suppressed cell from the total (secondary suppression)"
DSR_NOTE = f"not published: fewer than {DSR_MIN_EVENTS} events for a standardised rate (ONS)"
CRUDE_NOTE = f"not published: fewer than {CRUDE_RATE_MIN_EVENTS} events for a crude rate (ONS)"
UNRELIABLE_NOTE = f"unreliable: fewer than {RELIABLE_MIN_EVENTS} events"
SII_NOTE = "suppressed: a deprivation quintile is suppressed"
#: Largest block of linked hidden counts the exact check works on (a dense matrix of
#: this many columns: 4,000 is about 130 MB and seconds). Generated projects up to 20,000
#: deaths stay far below it; a larger block is left to the pairing rule alone.
AUDIT_MAX_BLOCK = 4000
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


def _small(column: str, min_count: int) -> pl.Expr:
    col = pl.col(column)
    return col.is_not_null() & (col > 0) & (col < min_count)


def _disclosive_count(min_count: int) -> pl.Expr:
    """True where the row reveals a count of 1 .. min_count - 1 (see module docstring)."""
    method = pl.col("method")
    money = pl.col("unit") == "£"
    by_numerator = method.is_in(["C", "P", "R", "DSR"]) & ~money
    by_denominator = method.is_in(["P", "M", "Q"]) | money
    return (by_numerator & _small("numerator", min_count)) | (
        by_denominator & _small("denominator", min_count)
    )


# ---------------------------------------------------------------------------------------
# The counts behind the table, and the sums that tie them together
#
# A count of people is published in many rows: deaths in a Place's quintile 3 is the
# numerator of `deaths` and `crude_death_rate`, and the denominator of every percentage
# of deaths in that cell. Disclosure control therefore works on the counts, not the
# rows: a count is named (what it counts, area, period, breakdown, value), hidden once,
# and every row that carries it is hidden. Then no row can give back what another hides.

#: Query columns that count the same people as another column.
_COUNT_ALIASES = {"cause_deaths": "deaths", "cause_denominator": "deaths"}
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


_MONTH = re.compile(r"^\d{4}-\d{2}$")
_QUARTER = re.compile(r"^\d{4}-\d{2} Q[1-4]$")


def _relations(keys: set[Key], period_months: dict[str, set[str]],
               icb_codes: set[str]) -> list[tuple[Key, ...]]:
    """Every published sum: (total, member, member, ...). A hidden count is safe only
    where no sum has it as its only hidden part.

    * breakdowns: the values of a breakdown add up to the 'all' row (cause group within
      quintile adds up both ways);
    * Places add up to the ICB;
    * months (and quarters) add up to a reporting period they tile;
    * across indicators: the five places of death add up to all deaths; need deaths on
      a register plus those not identified are the need deaths; need deaths plus the
      'other' cause group are all deaths; projected cause groups add up to projected
      deaths, and projected need plus projected 'other' is projected deaths.
    """
    groups: dict[tuple, list[Key]] = {}
    sub_periods = {c for children in period_months.values() for c in children}
    # Sets iterate in an order that changes from one process to the next (string hashes
    # are salted), and the order of the sums decides which complementary cells are
    # chosen: everything here is walked in sorted order so that two runs on the same
    # data hide the same cells (byte-identical outputs).
    for key in sorted(keys):
        name, area, period, bd, value = key
        if bd == "cause_group_imd_quintile":
            q, _, g = value.partition(": ")
            groups.setdefault(("bd", name, area, period, "imd_quintile", q), []).append(key)
            groups.setdefault(("bd", name, area, period, "cause_group", g), []).append(key)
        elif bd != "all":
            groups.setdefault(("bd", name, area, period, "all", "all", bd), []).append(key)
        if area not in icb_codes:
            groups.setdefault(("icb", name, period, bd, value), []).append(key)
        if bd == "all" and period in sub_periods:
            for parent, months in sorted(period_months.items()):
                if period in months:
                    groups.setdefault(("months", name, area, parent), []).append(key)
    icb = next(iter(icb_codes)) if len(icb_codes) == 1 else None
    relations: list[tuple[Key, ...]] = []
    for gkey, members in groups.items():
        if gkey[0] == "bd":
            _, name, area, period, bd, value = gkey[:6]
            total: Key | None = (name, area, period, bd, value)
        elif gkey[0] == "icb":
            _, name, period, bd, value = gkey
            total = (name, icb, period, bd, value) if icb else None
        else:
            _, name, area, parent = gkey
            if len(members) != len(period_months[parent]):
                continue  # the months shown do not tile the period: no sum to use
            total = (name, area, parent.split("|")[0], "all", "all")
        if total is None or total in members:
            continue
        relations.append((total, *sorted(members)))
    cells = {(a, p, b, v) for _, a, p, b, v in keys}
    for a, p, b, v in sorted(cells):
        def present(name: str, cell: tuple = (a, p, b, v)) -> Key:
            return (name, *cell)  # type: ignore[return-value]
        relations.append((present("deaths"), *(present(n) for n in _POD_COUNTS)))
        relations.append((present("need_deaths"), present("need_on_register"),
                          present("need_unidentified")))
        relations.append((present("projected_deaths", (a, p, "all", "all")),
                          present("projected_need"), present("projected", (a, p, "cause_group",
                                                                        "other"))))
        if b == "all":
            relations.append((present("deaths"), present("need_deaths"),
                              present("deaths", (a, p, "cause_group", "other"))))
        if b == "imd_quintile":
            relations.append((present("deaths"), present("need_deaths"),
                              present("deaths", (a, p, "cause_group_imd_quintile",
                                                 f"{v}: other"))))
        # A standardised rate's deaths are the cell's deaths (less any of unknown age):
        # hidden together.
        relations.append((present("deaths"), present("dsr_deaths")))
    # Projected cause groups add up to projected deaths (a breakdown of a total that is
    # carried as the denominator, so it has no 'all' key of its own name).
    proj: dict[tuple, list[Key]] = {}
    for key in sorted(keys):
        if key[0] == "projected" and key[3] == "cause_group":
            proj.setdefault(key[1:3], []).append(key)
    for (area, period), members in proj.items():
        relations.append((("projected_deaths", area, period, "all", "all"), *sorted(members)))
    # A relation is usable only where all its counts are in the table; where a part is
    # not published at all, its sum gives nothing away on its own.
    return [r for r in relations if all(k in keys for k in r)]


def _secondary(values: dict[Key, float], hidden: set[Key],
               relations: list[tuple[Key, ...]], icb_codes: frozenset[str] = frozenset(),
               ) -> set[Key]:
    """Complementary suppression: until no sum has exactly one hidden count, hide in
    each such sum the count that costs least. Cost, in order: a non-zero count before a
    zero (a zero known elsewhere protects nothing), a Place's count before the ICB's
    (the ICB's quintiles carry its inequality summaries), then the count whose other sums
    already hold a hidden count (so hidden counts pair up, as the corners of a
    rectangle, instead of cascading), then the smallest count, then the key order.
    Totals are chosen only where no part can be."""
    by_key: dict[Key, list[int]] = {}
    for i, rel in enumerate(relations):
        for k in rel:
            by_key.setdefault(k, []).append(i)
    hidden_in = [sum(1 for k in rel if k in hidden) for rel in relations]
    added: set[Key] = set()

    def new_singletons(key: Key, rel_index: int) -> int:
        return sum(1 for j in by_key[key] if j != rel_index and hidden_in[j] == 0)

    for _ in range(50):
        pending = [i for i, h in enumerate(hidden_in) if h == 1]
        if not pending:
            break
        for i in pending:
            if hidden_in[i] != 1:
                continue
            rel = relations[i]
            candidates = [k for k in rel[1:] if k not in hidden] or (
                [rel[0]] if rel[0] not in hidden else [])
            if not candidates:
                continue
            choice = min(candidates, key=lambda k: (
                values.get(k, 0) <= 0, k[1] in icb_codes, new_singletons(k, i),
                values.get(k, 0), k))
            hidden.add(choice)
            added.add(choice)
            for j in by_key[choice]:
                hidden_in[j] += 1
    return added


def _determined(hidden: set[Key], relations: list[tuple[Key, ...]]) -> list[Key]:
    """The hidden counts that the published ones determine exactly, by any combination
    of the sums (linear algebra): a hidden count is safe only where some vector of the
    null space of the sums, restricted to the hidden counts, moves it. Worked block by
    block (hidden counts joined by a sum), so the matrices stay small."""
    unknown = sorted(hidden)
    index = {k: i for i, k in enumerate(unknown)}
    rows: list[dict[int, float]] = []
    for rel in relations:
        coeffs: dict[int, float] = {}
        for position, key in enumerate(rel):
            if key in index:
                coeffs[index[key]] = coeffs.get(index[key], 0.0) + (-1.0 if position == 0
                                                                     else 1.0)
        coeffs = {j: c for j, c in coeffs.items() if c != 0}
        if coeffs:
            rows.append(coeffs)
    parent = list(range(len(unknown)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for coeffs in rows:
        first, *rest = coeffs
        for j in rest:
            parent[find(j)] = find(first)
    blocks: dict[int, list[int]] = {}
    for j in range(len(unknown)):
        blocks.setdefault(find(j), []).append(j)
    block_rows: dict[int, list[dict[int, float]]] = {}
    for coeffs in rows:
        block_rows.setdefault(find(next(iter(coeffs))), []).append(coeffs)
    found: list[Key] = []
    for root, cols in blocks.items():
        equations = block_rows.get(root, [])
        if not equations or len(cols) > AUDIT_MAX_BLOCK:
            # Beyond this size the dense check would cost minutes and gigabytes; such a
            # block keeps the pairing rule's protection only (see AUDIT_MAX_BLOCK).
            continue
        column_of = {j: c for c, j in enumerate(cols)}
        matrix = np.zeros((len(equations), len(cols)))
        for r, equation in enumerate(equations):
            for j, coeff in equation.items():
                matrix[r, column_of[j]] = coeff
        # The null space of the sums is that of their Gram matrix (small integer
        # coefficients, so squaring the condition number costs no accuracy here), and
        # a symmetric eigen-decomposition is several times faster than an SVD.
        eigenvalues, vectors = np.linalg.eigh(matrix.T @ matrix)
        null = vectors[:, eigenvalues < 1e-10 * max(1.0, float(eigenvalues[-1]))]
        for c, j in enumerate(cols):
            if null.shape[1] == 0 or np.max(np.abs(null[c])) < 1e-6:
                found.append(unknown[j])
    return found


def _protect(values: dict[Key, float], hidden: set[Key],
             relations: list[tuple[Key, ...]], icb_codes: frozenset[str] = frozenset(),
             ) -> None:
    """Secondary suppression until no hidden count can be worked out: the cheap pairing
    rule first (_secondary), then the exact check (_determined); each count it still
    finds exposed gets one more complementary count hidden, from a sum it is in, and the
    two steps repeat."""
    by_key: dict[Key, list[tuple[Key, ...]]] = {}
    for rel in relations:
        for k in rel:
            by_key.setdefault(k, []).append(rel)
    for _ in range(30):
        _secondary(values, hidden, relations, icb_codes)
        exposed = _determined(hidden, relations)
        if not exposed:
            return
        for key in exposed:
            # In every sum with the exposed count, hide its cheapest published count
            # (one sum further out where those are all hidden already).
            frontier, seen = {key}, {key}
            for _depth in range(4):
                added = False
                for rel in (r for f in sorted(frontier) for r in by_key.get(f, [])):
                    # A part before the total, as in _secondary.
                    published = [k for k in rel[1:] if k not in hidden] or [
                        k for k in rel[:1] if k not in hidden]
                    if published:
                        hidden.add(min(published, key=lambda k: (
                            values.get(k, 0) <= 0, k[1] in icb_codes, values.get(k, 0), k)))
                        added = True
                if added:
                    break
                options = {k for f in frontier for rel in by_key.get(f, []) for k in rel}
                frontier = options - seen
                seen |= options


def _period_months(frame: pl.DataFrame) -> dict[str, set[str]]:
    """Each (reporting period, family) -> the months, or the quarters, that tile it
    (from the table's dates); a period they cover only in part gets a placeholder so
    that no sum is formed. Keys are 'period|month' and 'period|quarter'."""
    bounds = frame.select("period", "period_start", "period_end").unique()
    parts: dict[str, dict[str, tuple]] = {"month": {}, "quarter": {}}
    for p, s, e in bounds.iter_rows():
        if s is None or e is None:
            continue
        # '2024-12' (a month) and '2024-25' (a financial year) look alike: the dates decide.
        if _MONTH.match(str(p)) and (e - s).days < 32:
            parts["month"][p] = (s, e)
        elif _QUARTER.match(str(p)):
            parts["quarter"][p] = (s, e)
    out: dict[str, set[str]] = {}
    for period, start, end in bounds.iter_rows():
        if start is None or end is None or period in parts["month"] \
                or period in parts["quarter"]:
            continue
        span = (end.year - start.year) * 12 + end.month - start.month + 1
        for family, size in (("month", 1), ("quarter", 3)):
            inside = {m for m, (ms, me) in parts[family].items() if ms >= start and me <= end}
            if not inside:
                continue
            missing = span // size - len(inside)
            out[f"{period}|{family}"] = inside | {f"missing:{i}" for i in range(max(missing, 0))}
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


def apply_disclosure(
    frame: pl.DataFrame,
    settings: DisclosureConfig,
    *,
    exempt_indicators: Iterable[str] = (),
    projection_base: str | None = None,
) -> pl.DataFrame:
    """Suppress, note and round an indicator table (INDICATOR_SCHEMA in, same out)."""
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
        modelled = {"projected", "projected_need", "projected_deaths"}
        primary = {k for k, v in values.items() if k[0] not in modelled and 0 < v < min_count}
        hidden = set(primary)
        icb_codes = frozenset(out.filter(pl.col("area_type") == "icb")["area_code"].to_list())
        relations = _relations(set(values), _period_months(out), set(icb_codes)) \
            if settings.secondary else []
        _secondary(values, hidden, relations, icb_codes)
        # Projections echo the count they are projected from: withheld where it is hidden
        # (then their own sums are protected in turn).
        withheld = {k for k in values if k[0] in modelled
                    and _projection_base(k, projection_base) in hidden}
        hidden |= withheld
        if relations:
            _protect(values, hidden, relations, icb_codes)
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
        notes = {"primary": primary_note(min_count), "secondary": SECONDARY_NOTE,
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
            out.filter(pl.col("suppressed") & (pl.col("breakdown") == "imd_quintile") & ~summary)
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

            out = out.with_columns(
                pl.when(countable & pl.col("method").is_in(["C", "P", "R", "DSR"]))
                .then(rounded("numerator")).otherwise(pl.col("numerator")).alias("numerator"),
                pl.when(countable & pl.col("method").is_in(["P", "M", "Q"]))
                .then(rounded("denominator")).otherwise(pl.col("denominator"))
                .alias("denominator"),
                pl.when(countable & (pl.col("method") == "C"))
                .then(rounded("value")).otherwise(pl.col("value")).alias("value"),
            )

    is_hidden = pl.col("suppressed")
    return out.with_columns(
        *(pl.when(is_hidden).then(None).otherwise(pl.col(c)).alias(c) for c in _VALUE_COLUMNS),
        pl.when(is_hidden).then(pl.lit("not_compared")).otherwise(pl.col("comparison"))
        .alias("comparison"),
        pl.when(pl.col("note") == "").then(None).otherwise(pl.col("note")).alias("note"),
    ).select(frame.columns)

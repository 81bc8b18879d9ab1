"""Practice rows under disclosure control: published where the rule allows, hidden for a
true, stated reason (issue 11.2 "Useful", practice level).

A hand-made indicator table of one ICB, two PCNs and four practices, with the two
practice indicators whose counts meet: identification (need deaths on a register / need
deaths) and median days on the register (all deaths on a register). Worked by hand:

    practice  PCN  need deaths  identified  on a register  on a register, no need cause
    P1        N    40           30          32             2   <- 1-7: protected
    P2        N    40           20          29             9
    P3        S    30           15          15             0
    P4        S    30           12          20             8
    PCN N          80           50          61             11
    PCN S          60           27          35             8
    ICB            140          77          96             19

P1's 2 registered deaths without a need cause are 32 - 30: one of those two counts must
be hidden, and then one more in each sum it is part of (P1 + P2 = PCN N; the four
practices = the ICB). Hiding P1's 30 identified would blank identification at P1 and P2
(75% and 50%); hiding P1's 32 on a register blanks only two median-days rows. The
practice funnel's rows weigh as a headline (practice.DISCLOSURE_WEIGHTS), so
identification is published at every practice and PCN: 75%, 50%, 50%, 40%; 62.5%, 45%.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from eolneeds.bundle import INDICATOR_COLUMNS, INDICATOR_SCHEMA, suppression_reason
from eolneeds.config import DisclosureConfig
from eolneeds.disclosure import apply_disclosure, suppressed_note
from eolneeds.practice import DISCLOSURE_WEIGHTS, FUNNEL_INDICATOR

ICB = "QXX"
PCN_OF = {"P1": "N", "P2": "N", "P3": "S", "P4": "S"}
#: breakdown, value: need deaths, identified, on a register (the table above)
COUNTS = {
    ("gp_practice", "P1"): (40, 30, 32), ("gp_practice", "P2"): (40, 20, 29),
    ("gp_practice", "P3"): (30, 15, 15), ("gp_practice", "P4"): (30, 12, 20),
    ("pcn", "N"): (80, 50, 61), ("pcn", "S"): (60, 27, 35), ("all", "all"): (140, 77, 96),
}


def _table() -> pl.DataFrame:
    base = {
        "indicator_name": "x", "area_type": "icb", "area_code": ICB, "area_name": "ICB",
        "period": "2024-25", "period_start": date(2024, 4, 1),
        "period_end": date(2025, 3, 31), "lower_ci_95": None, "upper_ci_95": None,
        "lower_ci_99_8": None, "upper_ci_99_8": None, "comparison": "not_compared",
        "suppressed": False, "note": None,
    }
    rows = []
    for (breakdown, value), (need, identified, registered) in COUNTS.items():
        cell = {**base, "breakdown": breakdown, "breakdown_value": value}
        rows.append({**cell, "indicator_id": FUNNEL_INDICATOR, "numerator": identified,
                     "denominator": need, "value": 100 * identified / need, "unit": "%",
                     "method": "P"})
        rows.append({**cell, "indicator_id": "register_days_median",
                     "numerator": registered, "denominator": registered, "value": 60.0,
                     "unit": "days", "method": "Q"})
    return pl.DataFrame(rows, schema=INDICATOR_SCHEMA).select(INDICATOR_COLUMNS)


def _disclose(weights: dict | None) -> pl.DataFrame:
    return apply_disclosure(_table(), DisclosureConfig(min_count=8),
                            nesting={("gp_practice", "pcn"): PCN_OF}, weights=weights)


def _shown(frame: pl.DataFrame, indicator: str) -> dict[str, float]:
    return {r["breakdown_value"]: r["value"] for r in frame.filter(
        (pl.col("indicator_id") == indicator) & ~pl.col("suppressed")).iter_rows(named=True)}


def test_identification_is_published_at_every_practice_the_rule_allows() -> None:
    out = _disclose(DISCLOSURE_WEIGHTS)
    assert _shown(out, FUNNEL_INDICATOR) == {
        "all": pytest.approx(55.0), "P1": 75.0, "P2": 50.0, "P3": 50.0, "P4": 40.0,
        "N": 62.5, "S": 45.0}
    # The 2 registered deaths without a need cause at P1 are protected on the register
    # counts instead: P1's median days is hidden, and with it one more of each sum P1's
    # 32 is in (P2, in the same PCN, covers both: P1 + P2 = 61 and the ICB's 96).
    medians = _shown(out, "register_days_median")
    assert "P1" not in medians and "P2" not in medians
    assert {"P3", "P4", "S", "all"} <= set(medians)


def test_without_the_weights_identification_was_the_complement() -> None:
    """The defect (issue 11.2): every row weighing 1, the smaller count (30 identified
    rather than 32 on a register) was hidden, blanking identification at P1 and P2."""
    shown = _shown(_disclose(None), FUNNEL_INDICATOR)
    assert "P1" not in shown and "P2" not in shown


def test_the_small_remainder_cannot_be_worked_out() -> None:
    """By hand, from what is published: P1's identified (30) is shown, so P1's 2 would
    come back from P1's count on a register; that is hidden, and so is P2's, and the two
    sums they are in (PCN N: P1 + P2 = 61; the ICB: 96 - P3 - P4 = 61) say only that
    P1 + P2 = 61: P1 can be anything from 30 (it holds the 30 identified) to 61 - 20."""
    out = _disclose(DISCLOSURE_WEIGHTS)
    registered = {r["breakdown_value"]: r["denominator"] for r in out.filter(
        pl.col("indicator_id") == "register_days_median").iter_rows(named=True)}
    assert registered["P1"] is None and registered["P2"] is None
    shown = [v for k, v in registered.items() if v is not None]
    assert registered["all"] == 96 and registered.get("N") in (None, 61)
    assert registered["P3"] + registered["P4"] == 35 and len(shown) >= 4


def test_every_hidden_practice_says_the_same() -> None:
    """Two practices added to the table: P5 (5 need deaths) and P6 (30, 25 identified:
    5 not identified), in a third PCN with nothing else; each is hidden for its own small
    count, and its note says exactly what the complements' notes say. Notes that told
    them apart would tell a reader that P5's and P6's hidden counts are at least 1 and
    the others' 0 or at least 8 (an auditor pinned counts that way)."""
    table = _table()
    extra = table.filter((pl.col("breakdown") == "gp_practice")
                         & (pl.col("breakdown_value") == "P4")
                         & (pl.col("indicator_id") == FUNNEL_INDICATOR))
    rows = [extra.with_columns(pl.lit(code).alias("breakdown_value"),
                               pl.lit(float(k)).alias("numerator"),
                               pl.lit(float(n)).alias("denominator"))
            for code, n, k in (("P5", 5, 2), ("P6", 30, 25))]
    raw = pl.concat([table, *rows])
    settings = DisclosureConfig(min_count=8)
    out = apply_disclosure(raw, settings, weights=DISCLOSURE_WEIGHTS)
    notes = {r["breakdown_value"]: r["note"] for r in out.filter(
        (pl.col("indicator_id") == FUNNEL_INDICATOR) & pl.col("suppressed")).iter_rows(
        named=True)}
    assert {"P5", "P6"} <= set(notes)
    assert set(notes.values()) == {suppressed_note(8)}
    # ... and so do the counts hidden with them (a complement somewhere in the table).
    others = out.filter(pl.col("suppressed") & ~pl.col("breakdown_value").is_in(["P5", "P6"]))
    assert others.height > 0 and set(others["note"].to_list()) == {suppressed_note(8)}
    assert suppression_reason(notes["P5"]) == (
        "a count of 1-7, or a count that would let one be worked out (disclosure control)")
    # Published rows carry no reason.
    assert out.filter(~pl.col("suppressed"))["note"].null_count() == out.filter(
        ~pl.col("suppressed")).height

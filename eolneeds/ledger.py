"""The publication ledger: every count a publication gave (or hid), by span, kept in the
project database so that a later publication of the same span can be protected
against it (disclosure.apply_disclosure's `before`).

A reader holds every publication. Two of the same span agree cell for cell where the
counts are the same and the suppression pattern is one (otherwise a cell hidden in one
and shown in the other gives it away: audit 5, finding 05, a financial year and the
12-month run ending with its March, 18 hidden counts of 1-7); where counts changed
(late registrations, a corrected file) each difference is a count of the people who
changed (finding 03: a month run again after one late registration showed 179 cells
one up, the late death's Place, quintile, sex, age and cause). The ledger is keyed by
span, not label: `2025-26` and `2025-04 to 2026-03` are the same months.

Kept: the latest value of each count of each span and whether it was hidden, with the
time it was published. Counts of people, as the database already holds records: the
ledger is not an output and leaves the project only with the database.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl

from eolneeds.disclosure import Key, Published

TABLE = "published_counts"
_DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    count_name VARCHAR NOT NULL,
    area_code VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    breakdown VARCHAR NOT NULL,
    breakdown_value VARCHAR NOT NULL,
    value DOUBLE NOT NULL,
    hidden BOOLEAN NOT NULL,
    published_at TIMESTAMP NOT NULL,
    PRIMARY KEY (count_name, area_code, period_start, period_end, breakdown, breakdown_value)
)
"""
_KEY = ["count_name", "area_code", "period_start", "period_end", "breakdown",
        "breakdown_value"]


def _exists(con: Any) -> bool:
    return bool(con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = $t AND NOT "
                            "temporary", {"t": TABLE}).fetchall())


def spans_on_record(con: Any) -> set[tuple[date, date]] | None:
    """The spans the ledger holds a publication of; None where there is no ledger yet
    (a project's first publication, or a database older than the ledger)."""
    if not _exists(con):
        return None
    return {(s, e) for s, e in con.execute(
        f"SELECT DISTINCT period_start, period_end FROM {TABLE}").fetchall()}


def published_before(con: Any, spans: dict[str, tuple[date, date]]) -> Published:
    """What earlier publications gave of the periods `spans` (label -> first and last
    day), keyed by this table's count keys (the period as its label here)."""
    if not spans or not _exists(con):
        return {}
    labels = pl.DataFrame({"period": list(spans),
                           "period_start": [s for s, _ in spans.values()],
                           "period_end": [e for _, e in spans.values()]},
                          schema={"period": pl.String, "period_start": pl.Date,
                                  "period_end": pl.Date})
    con.register("ledger_spans", labels.to_arrow())
    try:
        rows = con.execute(
            f"SELECT p.count_name, p.area_code, s.period, p.breakdown, p.breakdown_value, "
            f"p.value, p.hidden FROM {TABLE} p JOIN ledger_spans s "
            "USING (period_start, period_end)").fetchall()
    finally:
        con.unregister("ledger_spans")
    return {(name, area, period, bd, value): (then, hidden)
            for name, area, period, bd, value, then, hidden in rows}


def record(con: Any, counts: list[tuple[Key, float, bool]],
           spans: dict[str, tuple[date, date]], when: datetime) -> None:
    """Keep what this publication gave: each count's value and whether it was hidden,
    in place of an earlier publication's of the same count and span."""
    rows = [(name, area, *spans[period], bd, value, float(v), hidden)
            for (name, area, period, bd, value), v, hidden in counts if period in spans]
    if not rows:
        return
    frame = pl.DataFrame(rows, orient="row", schema={
        "count_name": pl.String, "area_code": pl.String, "period_start": pl.Date,
        "period_end": pl.Date, "breakdown": pl.String, "breakdown_value": pl.String,
        "value": pl.Float64, "hidden": pl.Boolean}).unique(subset=_KEY, keep="first")
    con.execute(_DDL)
    con.register("ledger_rows", frame.to_arrow())
    try:
        con.execute(f"INSERT OR REPLACE INTO {TABLE} SELECT *, $when FROM ledger_rows",
                    {"when": when})
    finally:
        con.unregister("ledger_rows")

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

A reader holds every version, not only the latest: two earlier versions of a span
differ by the changes between them as the latest differs from each. Kept: each count of
each span, its value and whether it was hidden, with the time it was published, one row
per version of the count: a row is added only where a count changed since its latest
row (value or pattern). Bound: rows <= counts of the span x the publications of it that
changed that count; a span published again unchanged adds none, and late registrations
add the cells they touch (and those hidden with them). A later publication of the span
is protected against every version (`published_before`, oldest first). Counts of
people, as the database already holds records: the ledger is not an output and leaves
the project only with the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from eolneeds.db import connect
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
    PRIMARY KEY (count_name, area_code, period_start, period_end, breakdown, breakdown_value,
                 published_at)
)
"""
_KEY = ["count_name", "area_code", "period_start", "period_end", "breakdown",
        "breakdown_value"]


@dataclass
class Publication:
    """What one publication gives, to be kept once it is out (`keep`): every count of
    its periods, its value and whether it was hidden (apply_disclosure's `record`),
    and the periods' first and last days by label. Filled by compute_indicators; kept
    by assess after its outputs are written, by run after the month's folder is in
    place. A table computed and not published (a test, a failed write) is kept
    nowhere: recorded before its outputs, a failed write made every later publication
    of its months hide cells to agree with a table nobody saw."""

    counts: list[tuple[Key, float, bool]] = field(default_factory=list)
    spans: dict[str, tuple[date, date]] = field(default_factory=dict)


def keep(database: Path, publication: Publication, when: datetime) -> None:
    """Keep a publication that is out in the ledger of the project database."""
    if not publication.counts:
        return
    con = connect(database)
    try:
        record(con, publication.counts, publication.spans, when)
    finally:
        con.close()


def _exists(con: Any) -> bool:
    return bool(con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = $t AND NOT "
                            "temporary", {"t": TABLE}).fetchall())


def _create(con: Any) -> None:
    """The table, keyed by version too; a ledger of eolneeds 12 (the latest version of
    each count only, keyed without published_at) is moved into it as it is."""
    if _exists(con):
        [(columns,)] = con.execute(
            "SELECT constraint_column_names FROM duckdb_constraints() WHERE table_name = $t "
            "AND constraint_type = 'PRIMARY KEY'", {"t": TABLE}).fetchall() or [([],)]
        if "published_at" in columns:
            return
        con.execute(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_latest_only")
        con.execute(_DDL)
        con.execute(f"INSERT INTO {TABLE} SELECT * FROM {TABLE}_latest_only")
        con.execute(f"DROP TABLE {TABLE}_latest_only")
        return
    con.execute(_DDL)


def spans_on_record(con: Any) -> set[tuple[date, date]] | None:
    """The spans the ledger holds a publication of; None where there is no ledger yet
    (a project's first publication, or a database older than the ledger)."""
    if not _exists(con):
        return None
    return {(s, e) for s, e in con.execute(
        f"SELECT DISTINCT period_start, period_end FROM {TABLE}").fetchall()}


def published_before(con: Any, spans: dict[str, tuple[date, date]]) -> list[Published]:
    """What earlier publications gave of the periods `spans` (label -> first and last
    day), keyed by this table's count keys (the period as its label here): one table
    per version, oldest first. A version is what the publications at one time gave:
    each count of the spans they published as it stood then (its latest row up to that
    time; a row is kept only where a count changed, `record`)."""
    if not spans or not _exists(con):
        return []
    labels = pl.DataFrame({"period": list(spans),
                           "period_start": [s for s, _ in spans.values()],
                           "period_end": [e for _, e in spans.values()]},
                          schema={"period": pl.String, "period_start": pl.Date,
                                  "period_end": pl.Date})
    con.register("ledger_spans", labels.to_arrow())
    try:
        rows = con.execute(
            f"SELECT p.count_name, p.area_code, s.period, p.breakdown, p.breakdown_value, "
            f"p.value, p.hidden, p.published_at FROM {TABLE} p JOIN ledger_spans s "
            "USING (period_start, period_end) ORDER BY p.published_at").fetchall()
    finally:
        con.unregister("ledger_spans")
    times_of: dict[str, list[datetime]] = {}  # period -> the times it was published
    for row in rows:
        times = times_of.setdefault(row[2], [])
        if not times or times[-1] != row[7]:
            times.append(row[7])
    versions: dict[datetime, Published] = {}
    state: dict[str, Published] = {}  # period -> each count as it stands (rows in order)
    for i, (name, area, period, bd, value, then, hidden, when) in enumerate(rows):
        state.setdefault(period, {})[(name, area, period, bd, value)] = (then, hidden)
        if i + 1 == len(rows) or rows[i + 1][7] != when:
            # The end of this time's rows: each period published now stands as it is.
            for label, times in times_of.items():
                if when in times:
                    versions.setdefault(when, {}).update(state[label])
    return [versions[t] for t in sorted(versions)]


def record(con: Any, counts: list[tuple[Key, float, bool]],
           spans: dict[str, tuple[date, date]], when: datetime) -> None:
    """Keep what this publication gave: each count's value and whether it was hidden,
    beside what earlier publications gave. A row is added only where a count differs
    from its latest version (value or pattern): a span published again unchanged adds
    nothing, and one published again after late registrations adds the cells they
    changed (and those hidden with them). So the ledger holds at most one row per count
    and version of it, and a version only where something changed."""
    rows = [(name, area, *spans[period], bd, value, float(v), hidden)
            for (name, area, period, bd, value), v, hidden in counts if period in spans]
    if not rows:
        return
    frame = pl.DataFrame(rows, orient="row", schema={
        "count_name": pl.String, "area_code": pl.String, "period_start": pl.Date,
        "period_end": pl.Date, "breakdown": pl.String, "breakdown_value": pl.String,
        "value": pl.Float64, "hidden": pl.Boolean}).unique(subset=_KEY, keep="first")
    _create(con)
    con.register("ledger_rows", frame.to_arrow())
    key = ", ".join(_KEY)
    try:
        con.execute(
            f"INSERT INTO {TABLE} SELECT r.*, $when FROM ledger_rows r LEFT JOIN ("
            f"SELECT {key}, arg_max(value, published_at) AS latest_value, "
            f"arg_max(hidden, published_at) AS latest_hidden FROM {TABLE} GROUP BY ALL"
            f") l USING ({key}) WHERE l.latest_value IS NULL OR l.latest_value <> r.value "
            "OR l.latest_hidden <> r.hidden", {"when": when})
    finally:
        con.unregister("ledger_rows")


#: The tables a published folder holds that give its counts back, in the order tried.
_TABLE_FILES = ("indicators.parquet", "indicators.csv")


def read_back(folder: Path) -> Publication | None:
    """What a published folder's indicator table gave (None where it holds none): each
    count shown in a row, with its value; each count of a hidden row shown in none, as
    hidden, its value unknown (NaN: it was never published; a later publication hides
    it again, _against_before)."""
    from eolneeds.bundle import INDICATOR_SCHEMA
    from eolneeds.disclosure import _MODELLED, _row_keys

    for name in _TABLE_FILES:
        path = folder / name
        if not path.is_file():
            continue
        # An output folder is ours, but a month's run must not fail on what someone left
        # there: a file that is not a table of ours is no table.
        try:
            frame = (pl.read_parquet(path) if path.suffix == ".parquet" else
                     pl.read_csv(path, schema_overrides=INDICATOR_SCHEMA, encoding="utf8"))
            frame = frame.select([pl.col(c).cast(t) for c, t in INDICATOR_SCHEMA.items()])
            spans = {str(p): (s, e) for p, s, e in frame.select(
                "period", "period_start", "period_end").unique().iter_rows()
                if s is not None and e is not None}
            rows = list(zip(_row_keys(frame, set()), frame["numerator"].to_list(),
                            frame["denominator"].to_list(), frame["suppressed"].to_list(),
                            strict=True))
        except (pl.exceptions.PolarsError, OSError, ValueError, TypeError):
            continue  # try the next, else nothing to read
        break
    else:
        return None
    shown: dict[Key, float] = {}
    hidden: set[Key] = set()
    for (num, den), n, d, suppressed in rows:
        for key, value in ((num, n), (den, d)):
            if key is None or key[0] in _MODELLED or key[2] not in spans:
                continue
            if value is not None:
                shown[key] = float(value)
            elif suppressed:
                hidden.add(key)
    counts = [(k, v, False) for k, v in shown.items()]
    counts += [(k, float("nan"), True) for k in sorted(hidden - set(shown))]
    return Publication(counts=counts, spans=spans)


def recover(database: Path, output_root: Path, *, rounded: bool) -> list[str]:
    """Read back what the month folders under `output_root` published (`run`'s outputs)
    that the ledger has no record of, each at the time its run finished: every folder
    where the ledger holds nothing (a database rebuilt, or older than the ledger); else
    a folder published after the ledger's latest record whose window is not on record
    (a run stopped between publishing its folder and keeping it). Returns the months
    whose counts it cannot read where the ledger holds nothing (no indicator table
    among the formats; rounded counts, which are not the counts), for the caller to
    warn of."""
    import json

    con = connect(database)
    try:
        on_record = spans_on_record(con)
        latest = (con.execute(f"SELECT max(published_at) FROM {TABLE}").fetchall()[0][0]
                  if on_record else None)
    finally:
        con.close()
    months = sorted(p for p in output_root.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]")
                    if p.is_dir() and not p.is_symlink()) if output_root.is_dir() else []
    unread: list[str] = []
    last: datetime | None = None
    for folder in months:
        publication = None if rounded else read_back(folder)
        if publication is None:
            if not on_record:
                unread.append(folder.name)
            continue
        try:
            record_ = json.loads((folder / "run.json").read_text(encoding="utf-8"))
            when = datetime.fromisoformat(str(record_["finished_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            when = datetime.fromtimestamp((folder / _TABLE_FILES[0]).stat().st_mtime
                                          if (folder / _TABLE_FILES[0]).exists() else
                                          (folder / _TABLE_FILES[1]).stat().st_mtime)
        when = when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when
        if on_record:
            # Its reporting periods (those with breakdowns; not its SPC months).
            own = {publication.spans[k[2]] for k, _, _ in publication.counts if k[3] != "all"}
            if latest is None or when <= latest or own <= on_record:
                continue
        if last is not None and when <= last:  # one time per publication (the key)
            when = last + timedelta(microseconds=1)
        keep(database, publication, when)
        last = when
    return unread

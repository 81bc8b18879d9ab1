"""Disclosure control across publications: a reader holds last month's publication too
(audit 5, findings 01-02: two consecutive `run --month` publications differenced gave
back 291 counts of 1-7 of the month in, and 570 cells of the month out)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import polars as pl

from eolneeds import ledger
from eolneeds.assess import EARLIER_PREFIX, LINKING_PREFIX, _as_on_record, _shadow_periods
from eolneeds.bundle import INDICATOR_COLUMNS, INDICATOR_SCHEMA
from eolneeds.config import DisclosureConfig
from eolneeds.db import connect
from eolneeds.disclosure import apply_disclosure
from eolneeds.periods import Period, fy_to_date, rolling
from eolneeds.run import previous_publication, publication

FYTD_NOW = ("2026-27 to date", date(2026, 4, 1), date(2026, 10, 31))
FYTD_BEFORE = (EARLIER_PREFIX + "2026-27 to date", date(2026, 4, 1), date(2026, 9, 30))
WINDOW_NOW = ("2025-11 to 2026-10", date(2025, 11, 1), date(2026, 10, 31))
WINDOW_BEFORE = (EARLIER_PREFIX + "2025-10 to 2026-09", date(2025, 10, 1), date(2026, 9, 30))
SHARED = (LINKING_PREFIX + "2025-11 to 2026-09", date(2025, 11, 1), date(2026, 9, 30))


def _deaths(period: tuple[str, date, date], counts: dict[tuple[str, str], float]) -> list[dict]:
    label, start, end = period
    return [{"indicator_id": "deaths", "indicator_name": "Number of deaths",
             "area_type": "place", "area_code": "P1", "area_name": "Alpha", "period": label,
             "period_start": start, "period_end": end, "breakdown": b, "breakdown_value": v,
             "numerator": n, "denominator": None, "value": n, "lower_ci_95": None,
             "upper_ci_95": None, "lower_ci_99_8": None, "upper_ci_99_8": None,
             "unit": "count", "method": "C", "comparison": "not_compared",
             "suppressed": False, "note": None} for (b, v), n in counts.items()]


def _table(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=INDICATOR_SCHEMA).select(INDICATOR_COLUMNS)


def _shown(result: pl.DataFrame, period: str) -> dict[str, float]:
    return {r["breakdown_value"]: r["numerator"] for r in result.filter(
        (pl.col("period") == period) & ~pl.col("suppressed")).iter_rows(named=True)}


def test_a_year_to_date_less_last_months_gives_back_no_small_count_of_the_month():
    # Last month's year to date published 26 men and 24 women; this month 29 and 29: 3
    # men and 5 women died in October. Each figure is 8 or more on its own (the old
    # rules published them all), but the difference is the month's count.
    before = {("all", "all"): 50, ("sex", "male"): 26, ("sex", "female"): 24}
    now = {("all", "all"): 58, ("sex", "male"): 29, ("sex", "female"): 29}
    result = apply_disclosure(_table(_deaths(FYTD_BEFORE, before) + _deaths(FYTD_NOW, now)),
                              DisclosureConfig(min_count=8), earlier_periods=[FYTD_BEFORE[0]])
    # The earlier publication's counts are what readers hold: never hidden here.
    assert len(_shown(result, FYTD_BEFORE[0])) == 3
    shown = _shown(result, FYTD_NOW[0])
    names = {"all": ("all", "all"), "male": ("sex", "male"), "female": ("sex", "female")}
    for value, count in shown.items():
        assert not 0 < count - before[names[value]] < 8, (value, count)
    assert "all" in shown  # 8 deaths in the month: the total stays published


def test_the_month_that_leaves_a_rolling_window_is_protected_through_the_months_shared():
    # Last month: 12 months 60, year to date 30. This month: 12 months 65, year to date
    # 40. (60 - 30) - (65 - 40) = 5 deaths in October 2025, the month that left the
    # window. The two remainders (November to March) are the same months: one count.
    total = ("all", "all")
    rows = (_deaths(WINDOW_BEFORE, {total: 60}) + _deaths(FYTD_BEFORE, {total: 30})
            + _deaths(SHARED, {total: 55}) + _deaths(WINDOW_NOW, {total: 65})
            + _deaths(FYTD_NOW, {total: 40}))
    result = apply_disclosure(_table(rows), DisclosureConfig(min_count=8),
                              earlier_periods=[WINDOW_BEFORE[0], FYTD_BEFORE[0]],
                              linking_periods=[SHARED[0]])
    window, to_date = _shown(result, WINDOW_NOW[0]), _shown(result, FYTD_NOW[0])
    assert not (window and to_date), "both published: 60 - 30 - (65 - 40) = 5"
    assert not _shown(result, SHARED[0])  # counted to link, never published


def test_the_shared_months_of_two_windows_are_counted_and_never_an_earlier_span_again():
    now, before = rolling("2026-10", 12), rolling("2026-09", 12)
    earlier, linking = _shadow_periods([now], [before])
    assert [(p.label, p.start, p.end) for p in earlier] == [WINDOW_BEFORE]
    assert [(p.label, p.start, p.end) for p in linking] == [SHARED]
    # A period already published (same span) is not counted twice; nested ones need no
    # link (the year to date of September lies inside this window).
    earlier, linking = _shadow_periods([now], [rolling("2026-10", 12), fy_to_date("2026-09")])
    assert [p.label for p in earlier] == [FYTD_BEFORE[0]] and linking == []


def test_the_monthly_run_publishes_its_window_only_and_is_protected_against_last_month():
    assert publication("2026-10", 12) == [Period("2025-11 to 2026-10", date(2025, 11, 1),
                                                 date(2026, 10, 31), "rolling")]
    assert previous_publication("2026-01", 12) == [rolling("2025-12", 12)]
    assert previous_publication("1900-01", 12) == []


# ---------------------------------------------------------------------------------------
# The same span published twice (audit 5, findings 03 and 05): the publication ledger.

FY = ("2025-26", date(2025, 4, 1), date(2026, 3, 31))
WINDOW = ("2025-04 to 2026-03", date(2025, 4, 1), date(2026, 3, 31))  # the same months
Q4 = ("2025-26 Q4", date(2026, 1, 1), date(2026, 3, 31))


def _by_sex(period: tuple[str, date, date], males: tuple[int, int], females: tuple[int, int]
            ) -> list[dict]:
    """Deaths by sex in two Places (P1, P2) and the ICB."""
    label, start, end = period
    counts = {("P1", "all", "all"): males[0] + females[0], ("P1", "sex", "male"): males[0],
              ("P1", "sex", "female"): females[0],
              ("P2", "all", "all"): males[1] + females[1], ("P2", "sex", "male"): males[1],
              ("P2", "sex", "female"): females[1],
              ("ICB", "all", "all"): sum(males) + sum(females),
              ("ICB", "sex", "male"): sum(males), ("ICB", "sex", "female"): sum(females)}
    rows = []
    for (area, b, v), n in counts.items():
        row = _deaths(period, {(b, v): n})[0]
        rows.append({**row, "area_code": area, "area_name": area,
                     "area_type": "icb" if area == "ICB" else "place"})
    return rows


def _cells(result: pl.DataFrame, period: str) -> dict[tuple[str, str], float | None]:
    """(area, breakdown value) -> the published count, None where hidden."""
    return {(r["area_code"], r["breakdown_value"]): None if r["suppressed"] else r["numerator"]
            for r in result.filter(pl.col("period") == period).iter_rows(named=True)}


_PUBLISHED_AT = itertools.count()  # publications an hour apart


def _publish(database, rows: list[dict], periods: list[tuple[str, date, date]]
             ) -> pl.DataFrame:
    """Publish a table as assess does: against the ledger of the project database (a
    DuckDB file), then into it."""
    spans = {label: (start, end) for label, start, end in periods}
    con = connect(database)
    try:
        counts: list = []
        result = apply_disclosure(_table(rows), DisclosureConfig(min_count=8),
                                  before=ledger.published_before(con, spans), record=counts)
        ledger.record(con, counts, spans,
                      datetime(2026, 4, 5, 6, 30) + timedelta(hours=next(_PUBLISHED_AT)))
    finally:
        con.close()
    return result


def test_a_span_published_again_in_another_table_keeps_its_suppression_pattern(tmp_path):
    # A financial year and the 12-month window of the same months, each safe alone. The
    # window's table also holds a quarter (as the run's SPC series does), and on its own
    # that tips the choice of complementary cells to the ICB: published beside the year,
    # the ICB's 16 men less P2's 13 were P1's 3.
    year = ((3, 13), (25, 23))
    quarter = ((0, 9), (3, 10))
    alone = [apply_disclosure(_table(_by_sex(FY, *year)), DisclosureConfig(min_count=8)),
             apply_disclosure(_table(_by_sex(WINDOW, *year) + _by_sex(Q4, *quarter)),
                              DisclosureConfig(min_count=8))]
    first, second = _cells(alone[0], FY[0]), _cells(alone[1], WINDOW[0])
    assert first[("ICB", "male")] == 16 and second[("P2", "male")] == 13  # the attack
    assert first[("P1", "male")] is None and second[("P1", "male")] is None

    database = tmp_path / "project.duckdb"
    fy = _publish(database, _by_sex(FY, *year), [FY])
    window = _publish(database, _by_sex(WINDOW, *year) + _by_sex(Q4, *quarter), [WINDOW, Q4])
    # One pattern: what either shows, the other shows too (or hides nothing more).
    assert _cells(window, WINDOW[0]) == _cells(fy, FY[0]) == first


def test_a_span_published_again_after_a_late_registration_hides_the_difference(tmp_path):
    # Published: P1 3 men and 25 women, P2 13 and 23. Then one more man of P1 is
    # registered late and the same months are published again: every count the late
    # death is in is one up (P1's deaths, the ICB's, the ICB's men). Shown twice, each
    # would give him away; so each of them is hidden in one of the two (here the second:
    # the first is out), and the sums cannot give the change back.
    database = tmp_path / "project.duckdb"
    before = _cells(_publish(database, _by_sex(FY, (3, 13), (25, 23)), [FY]), FY[0])
    again = _cells(_publish(database, _by_sex(FY, (4, 13), (25, 23)), [FY]), FY[0])
    for cell, count in again.items():
        if count is not None and before[cell] is not None:
            assert count == before[cell], (cell, before[cell], count)
    # The unchanged Place keeps its headline figure.
    assert again[("P2", "all")] == before[("P2", "all")] == 36
    assert again[("P1", "all")] is None and again[("ICB", "all")] is None
    # A third publication with nothing new agrees with the second, cell for cell.
    third = _cells(_publish(database, _by_sex(FY, (4, 13), (25, 23)), [FY]), FY[0])
    assert third == again


def test_every_earlier_version_of_a_span_is_protected_against_not_only_the_latest(tmp_path):
    # The same year published four times, a late registration between each: a man of
    # P1, a woman of P1, a woman of P2. A reader keeps every version. When the ledger
    # kept only the latest, the third was protected against the second alone, and
    # showed P1's deaths and the ICB's as 30 and 66 where the first had shown 28 and 64:
    # the two late deaths of P1 (on main e30413b; the fourth showed the ICB's women as
    # 50 against the first's 48).
    database = tmp_path / "project.duckdb"
    years = [((3, 13), (25, 23)), ((4, 13), (25, 23)), ((4, 13), (26, 23)), ((4, 13), (26, 24))]
    versions = [_cells(_publish(database, _by_sex(FY, males, females), [FY]), FY[0])
                for males, females in years]
    for i, first in enumerate(versions):
        for later in versions[i + 1:]:
            for cell, count in later.items():
                if count is not None and first[cell] is not None:
                    assert count == first[cell], (cell, first[cell], count)
    # What each keeps: the first publication whole, then only the counts that changed
    # (value or pattern); published again unchanged, nothing.
    con = connect(database)
    try:
        rows = con.execute("SELECT count(*) FROM published_counts").fetchone()[0]
        per_version = [n for (n,) in con.execute(
            "SELECT count(*) FROM published_counts GROUP BY published_at "
            "ORDER BY published_at").fetchall()]
    finally:
        con.close()
    assert per_version[0] == 9 and all(n < 9 for n in per_version[1:])
    again = _cells(_publish(database, _by_sex(FY, *years[-1]), [FY]), FY[0])
    assert again == versions[-1]
    con = connect(database)
    try:
        assert con.execute("SELECT count(*) FROM published_counts").fetchone()[0] == rows
    finally:
        con.close()


def test_a_ledger_of_the_latest_versions_only_is_kept_as_the_first_version(tmp_path):
    # eolneeds 12's ledger, keyed without the time, is moved into the table keyed by
    # version on the next publication, and the span keeps its pattern.
    database = tmp_path / "project.duckdb"
    first = _cells(_publish(database, _by_sex(FY, (3, 13), (25, 23)), [FY]), FY[0])
    con = connect(database)
    try:
        con.execute("CREATE TABLE old AS SELECT * FROM published_counts")
        con.execute("DROP TABLE published_counts")
        con.execute(
            "CREATE TABLE published_counts (count_name VARCHAR NOT NULL, area_code VARCHAR "
            "NOT NULL, period_start DATE NOT NULL, period_end DATE NOT NULL, breakdown "
            "VARCHAR NOT NULL, breakdown_value VARCHAR NOT NULL, value DOUBLE NOT NULL, "
            "hidden BOOLEAN NOT NULL, published_at TIMESTAMP NOT NULL, PRIMARY KEY "
            "(count_name, area_code, period_start, period_end, breakdown, breakdown_value))")
        con.execute("INSERT INTO published_counts SELECT * FROM old")
        con.execute("DROP TABLE old")
    finally:
        con.close()
    again = _cells(_publish(database, _by_sex(FY, (4, 13), (25, 23)), [FY]), FY[0])
    for cell, count in again.items():
        if count is not None and first[cell] is not None:
            assert count == first[cell], (cell, first[cell], count)
    con = connect(database)
    try:
        assert con.execute("SELECT count(DISTINCT published_at) FROM published_counts"
                           ).fetchone()[0] == 2
    finally:
        con.close()


def test_an_earlier_window_the_ledger_has_no_record_of_is_counted_not_known():
    # A month re-run after a late registration, the month before never run: its window,
    # recounted today, holds the late death; counted as published it made the late
    # death's month 'the earlier publication's doing' and the re-run showed 139 cells one
    # up. The ledger says it was never published.
    now, before = rolling("2026-03", 12), rolling("2026-02", 12)
    earlier, linking = _shadow_periods([now], [before])
    assert _as_on_record(earlier, linking, None) == (earlier, linking)  # no ledger yet
    assert _as_on_record(earlier, linking, {(now.start, now.end)}) == ([], [*earlier, *linking])
    on_record = {(before.start, before.end)}
    assert _as_on_record(earlier, linking, on_record) == (earlier, linking)


# ---------------------------------------------------------------------------------------
# When a publication is kept: once its outputs are written, never by computing a table.


def _on_record(config) -> set[tuple[date, date]] | None:
    con = connect(config.database_path)
    try:
        return ledger.spans_on_record(con)
    finally:
        con.close()


def test_the_ledger_keeps_a_publication_once_its_outputs_are_written(tmp_path):
    # The ledger was written inside compute_indicators, before the outputs: an assess
    # whose write failed (here its manifest.json, the last file, cannot replace a
    # folder of that name) had every later publication of its months agree with a table
    # no reader ever saw, and a table computed only to be looked at (a test, the truth
    # of an attack) was on record as published.
    from handbuilt_db import build_handbuilt_db, handbuilt_config

    from eolneeds.assess import AssessOptions, assess_project, compute_indicators
    from eolneeds.periods import financial_year
    from eolneeds.reporting import Reporter

    config = handbuilt_config(tmp_path / "project")  # disclosure control on (1-7)
    config.root.mkdir()
    build_handbuilt_db(config.database_path)
    periods = [financial_year(2024)]
    con = connect(config.database_path)
    try:
        compute_indicators(config, con, periods=periods, reporter=Reporter())
    finally:
        con.close()
    assert _on_record(config) is None  # computed, not published

    out = tmp_path / "out"
    (out / "manifest.json").mkdir(parents=True)
    options = AssessOptions(formats=["csv"], out=out, periods=periods)
    try:
        assess_project(config, options, reporter=Reporter())
    except Exception:  # noqa: BLE001 -- whichever error the failed write is
        pass
    else:
        raise AssertionError("the write was meant to fail")
    assert (out / "indicators.csv").exists()  # written before the manifest failed
    assert _on_record(config) is None  # not out: nothing kept

    (out / "manifest.json").rmdir()
    result = assess_project(config, options, reporter=Reporter())
    assert result.publication is not None and result.publication.counts
    fy = financial_year(2024)
    given = {result.publication.spans[key[2]] for key, _, _ in result.publication.counts}
    assert (fy.start, fy.end) in given
    assert _on_record(config) == given


def test_the_shared_sample_database_keeps_no_publication(sample_project, assessed_sample):
    # The session's sample database kept the ledger of the session's assess, so every
    # later assess of it was protected against that one where the fixture happened to
    # be built first (ledger7: results depended on test order). Kept nowhere now; a
    # test about the ledger keeps it in a copy of the database.
    assert assessed_sample.publication is not None and assessed_sample.publication.counts
    # Other tests may publish other spans of the shared project: none of the
    # fixture's spans may be on record.
    on_record = _on_record(sample_project) or set()
    assert not set(assessed_sample.publication.spans.values()) & on_record


def test_months_published_before_the_ledger_are_read_back_from_their_folders(tmp_path):
    # A project database rebuilt (or older than the ledger) after a run published the
    # year in output/2026-03/: the ledger is empty, so the next publication of the
    # same months after a late registration was protected against nothing, and showed
    # P1's deaths and the ICB's one up (28 -> 29, 64 -> 65: the late death's Place).
    # `run` reads what the month folders published back into an empty ledger first.
    from eolneeds.assess import _csv_bytes

    output = tmp_path / "output"
    first = _publish(tmp_path / "old.duckdb", _by_sex(FY, (3, 13), (25, 23)), [FY])
    (output / "2026-03").mkdir(parents=True)
    (output / "2026-03" / "indicators.csv").write_bytes(_csv_bytes(first))
    (output / "2026-03" / "run.json").write_text(
        '{"month": "2026-03", "finished_at": "2026-04-05T06:30:00+00:00"}', encoding="utf-8")
    (output / "2026-02").mkdir()  # a month whose formats held no table
    (output / "2026-02" / "report.html").write_text("<p></p>", encoding="utf-8")

    database = tmp_path / "rebuilt.duckdb"
    connect(database).close()
    assert ledger.recover(database, output, rounded=False) == ["2026-02"]
    again = _cells(_publish(database, _by_sex(FY, (4, 13), (25, 23)), [FY]), FY[0])
    before = _cells(first, FY[0])
    for cell, count in again.items():
        if count is not None and before[cell] is not None:
            assert count == before[cell], (cell, before[cell], count)
    assert again[("P2", "all")] == before[("P2", "all")] == 36
    # Read back once: the ledger holds the month now, and is not read back over.
    assert ledger.recover(database, output, rounded=False) == []
    # Rounded counts are not the counts: not read back, said.
    assert ledger.recover(tmp_path / "other.duckdb", output, rounded=True) == [
        "2026-02", "2026-03"]


def test_a_month_published_but_not_kept_is_read_back_by_the_next_run(tmp_path):
    # run keeps a month in the ledger just after publishing its folder: a run stopped
    # between the two (killed, the disk full) left a month readers hold that the ledger
    # has no record of, though it holds others. The next run reads back a folder
    # published after the ledger's latest record whose window is not on record.
    from eolneeds.assess import _csv_bytes

    database = tmp_path / "project.duckdb"
    _publish(database, _by_sex(Q4, (0, 9), (3, 10)), [Q4])  # on record, 2026-04-05
    year = _publish(tmp_path / "elsewhere.duckdb", _by_sex(FY, (3, 13), (25, 23)), [FY])
    output = tmp_path / "output"
    (output / "2026-03").mkdir(parents=True)
    (output / "2026-03" / "indicators.csv").write_bytes(_csv_bytes(year))
    (output / "2026-03" / "run.json").write_text(
        '{"month": "2026-03", "finished_at": "2026-05-01T00:00:00+00:00"}', encoding="utf-8")
    assert ledger.recover(database, output, rounded=False) == []
    con = connect(database)
    try:
        assert (FY[1], FY[2]) in ledger.spans_on_record(con)
    finally:
        con.close()
    again = _cells(_publish(database, _by_sex(FY, (4, 13), (25, 23)), [FY]), FY[0])
    before = _cells(year, FY[0])
    for cell, count in again.items():
        if count is not None and before[cell] is not None:
            assert count == before[cell], (cell, before[cell], count)


def test_a_month_published_whose_ledger_write_fails_finishes_with_a_warning(
        tmp_path, monkeypatch):
    # The ledger keeps a month once its folder is in place; a failure there (the disk
    # full; here the write made to fail) came after the outputs were out, and exited
    # the run with an error for a month readers hold. It finishes, says so, and the
    # next run reads the month back (test_a_month_published_but_not_kept_...).
    import duckdb
    from small_project import HEADER, small_project

    from eolneeds import run as run_mod
    from eolneeds.config import load_config
    from eolneeds.reporting import RecordingReporter

    root = small_project(tmp_path, monkeypatch)
    (root / "inbox" / "deaths" / "deaths.csv").write_text(
        HEADER + "4010232137,2024-01-11,81,F,E01000001,C34.9,home\n", encoding="utf-8")
    monkeypatch.setattr(run_mod, "_validate", lambda config, *, reporter: [])

    def assessed(config, month, out, *, reporter):
        (out / "indicators.csv").write_text("x\n", encoding="utf-8")
        return ledger.Publication(
            counts=[(("deaths", "P1", FY[0], "all", "all"), 64.0, False)],
            spans={FY[0]: (FY[1], FY[2])})

    def full(database, publication, when):
        raise duckdb.IOException("No space left on device")

    monkeypatch.setattr(run_mod, "_assess", assessed)
    monkeypatch.setattr(ledger, "keep", full)
    reporter = RecordingReporter()
    result = run_mod.run_month(load_config(root), "2024-01", reporter=reporter)
    assert (result.output_dir / "indicators.csv").exists()
    warnings = [f["text"] for name, f in reporter.events
                if name == "message" and f.get("level") == "warning"]
    assert any("could not keep them (IOException); the next run reads them back" in w
               for w in warnings), warnings

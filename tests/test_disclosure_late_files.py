"""The report's data-quality and provenance tables against a small file of people's
records (disclosure 6, the report re-audited): a deaths file of late registrations with
one row published '1 row read' (the files table, the manifest and the report's input
files) and its first and last date of death, the one death's date, while the count
beside them showed '*'."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from eolneeds.bundle import DataQualityTable
from eolneeds.db import connect
from eolneeds.outputs import WITHHELD, _inputs
from eolneeds.schema import create_schema
from eolneeds.validate import protect_quality_tables


def test_a_small_file_of_deaths_shows_neither_its_rows_nor_its_dates():
    files = DataQualityTable("files", "Files loaded", "", pl.DataFrame({
        "file_id": [1, 2, 3], "dataset": ["deaths", "deaths", "areas"],
        "file_name": ["deaths.csv", "deaths_late.csv", "areas.csv"],
        "rows_read": [3000, 1, 5], "rows_loaded": [3000, 1, 5], "rows_rejected": [0, 0, 0]}))
    coverage = DataQualityTable("source_coverage", "Date coverage", "", pl.DataFrame({
        "data": ["deaths data", "deaths data"], "file_name": ["deaths.csv", "deaths_late.csv"],
        "rows": [3000, 1], "first_date": ["2023-04-01", "2025-11-15"],
        "last_date": ["2026-10-31", "2025-11-15"]}))
    out = {t.key: t for t in protect_quality_tables([files, coverage], 8)}
    late = out["files"].frame.row(1, named=True)
    assert (late["rows_read"], late["rows_loaded"], late["rows_rejected"]) == (None, None, None)
    # A big file, and a small file of areas (not people), are shown as they are.
    assert out["files"].frame.row(0, named=True)["rows_read"] == 3000
    assert out["files"].frame.row(2, named=True)["rows_read"] == 5
    dates = out["source_coverage"].frame.row(1, named=True)
    assert (dates["rows"], dates["first_date"], dates["last_date"]) == (None, None, None)
    assert out["source_coverage"].frame.row(0, named=True)["first_date"] == "2023-04-01"
    assert {(1, "first_date"), (1, "last_date")} <= out["source_coverage"].confidential


def test_the_manifest_withholds_a_small_file_of_peoples_records(tmp_path):
    con = connect(tmp_path / "project.duckdb")
    try:
        create_schema(con)
        when = datetime(2026, 5, 20, 6, 30)
        for file_id, dataset, name, rows in ((1, "deaths", "deaths.csv", 3000),
                                              (2, "deaths", "deaths_late.csv", 1),
                                              (3, "areas", "areas.csv", 5)):
            con.execute("INSERT INTO ingest_log (file_id, dataset, file_name, file_path, "
                        "content_hash, rows_read, rows_loaded, rows_rejected, started_at, "
                        "finished_at) VALUES (?, ?, ?, ?, 'x', ?, ?, 0, ?, ?)",
                        [file_id, dataset, name, name, rows, rows, when, when])
        published = {i["file_name"]: i for i in _inputs(con, 8)}
        internal = {i["file_name"]: i for i in _inputs(con)}
    finally:
        con.close()
    late = published["deaths_late.csv"]
    assert (late["rows_read"], late["rows_loaded"], late["rows_rejected"]) == (WITHHELD,) * 3
    assert published["deaths.csv"]["rows_read"] == 3000
    assert published["areas.csv"]["rows_read"] == 5
    assert internal["deaths_late.csv"]["rows_read"] == 1  # disclosure control off

"""Every query is safe for any value ingest accepts (issue 10.1): a project whose every
activity cost and population is the largest value ingest accepts assesses and runs its
monthly job; one more and ingest refuses (the population row) or blanks (the cost)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import pytest

from eolneeds.config import load_config
from eolneeds.ingest import NUMBER_BOUNDS, ingest_files
from eolneeds.reporting import Reporter

KEY = "test-key-not-secret"
CLI = [sys.executable, "-c", "from eolneeds.cli import main; main()"]
MAX_COST = NUMBER_BOUNDS[("activity", "cost")][0]
MAX_POPULATION = NUMBER_BOUNDS[("population", "population")][0]


def _env() -> dict[str, str]:
    return {**os.environ, "EOLNEEDS_KEY": KEY}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, encoding="utf-8",
                          env=_env(), timeout=600)


def test_the_largest_accepted_values_are_accepted_and_one_more_is_not(tmp_path, monkeypatch):
    monkeypatch.setenv("EOLNEEDS_KEY", KEY)
    root = tmp_path / "p"
    root.mkdir()
    (root / "eolneeds.toml").write_text('[project]\nicb_name = "T"\n[[places]]\ncode = "P1"\n'
                                        '[ingest]\nmax_rejected_share = 1.0\n',
                                        encoding="utf-8")
    config = load_config(root)
    activity = tmp_path / "activity.csv"
    activity.write_text("person_id,activity_type,start_date,cost\n"
                        f"A,emergency,2024-01-01,{MAX_COST}\n"
                        f"A,emergency,2024-01-02,{MAX_COST + 0.01}\n"
                        "A,emergency,2024-01-03,1e16\n", encoding="utf-8")
    [result] = ingest_files(config, "activity", [activity], reporter=Reporter())
    assert (result.rows_loaded, result.rows_rejected) == (3, 0)
    population = tmp_path / "population.csv"
    population.write_text("lsoa_code,year,sex,age_band,population\n"
                          f"E01000001,2024,F,0-4,{MAX_POPULATION}\n"
                          f"E01000001,2024,M,0-4,{MAX_POPULATION + 1}\n"
                          "E01000001,2024,M,5-9,1e308\n"
                          "E01000001,2024,M,10-14,2.5\n", encoding="utf-8")
    [result] = ingest_files(config, "population", [population], reporter=Reporter())
    assert (result.rows_loaded, result.rows_rejected) == (1, 3)
    con = duckdb.connect(str(config.database_path), read_only=True)
    try:
        assert con.execute("SELECT cost FROM activity ORDER BY source_row").fetchall() == [
            (float(MAX_COST),), (None,), (None,)]
        assert con.execute("SELECT reason FROM field_actions ORDER BY row_number"
                           ).fetchall() == [
            (f"cost '{MAX_COST + 0.01}' is above 10,000,000, the most a cost can plausibly "
             "be",),
            ("cost '1e16' is above 10,000,000, the most a cost can plausibly be",)]
        assert [r[0] for r in con.execute("SELECT reason FROM rejects ORDER BY row_number"
                                          ).fetchall()] == [
            f"population '{MAX_POPULATION + 1}' is above 10,000,000, the most a population "
            "can plausibly be",
            "population '1e308' is above 10,000,000, the most a population can plausibly be",
            "population '2.5' is not a whole number"]
    finally:
        con.close()


@pytest.mark.slow
def test_monthly_run_and_assess_succeed_with_the_largest_accepted_values(tmp_path):
    sample = pytest.importorskip("eolneeds.sample")
    root = tmp_path / "proj"
    # Large enough that the ICB's headline cost survives disclosure control (on 150
    # deaths every headline row was a complementary cell once hidden zeros a reader can
    # infer stopped counting as protection).
    sample.write_sample(root, deaths=400, seed=7, reporter=Reporter(),
                        key_file=tmp_path / "sample.key")
    with (root / "eolneeds.toml").open("a", encoding="utf-8") as fh:
        fh.write(f"\n[outputs]\nformats = {json.dumps(['csv'])}\nper_place = false\n")
    month = sample.LAST_DAY.strftime("%Y-%m")
    first = _cli("run", "--month", month, "--project", str(root))
    assert first.returncode == 0, first.stderr[-3000:]

    # Every cost and population a period touches at the largest value ingest accepts
    # (the test above proves it does), every activity row an emergency admission with
    # that cost, so every sum in the queries is as large as it can be.
    con = duckdb.connect(str(root / "eolneeds.duckdb"))
    try:
        con.execute("UPDATE activity SET cost = $c", {"c": float(MAX_COST)})
        con.execute("UPDATE population SET population = $p", {"p": float(MAX_POPULATION)})
        con.execute("UPDATE projections SET population = $p", {"p": float(MAX_POPULATION)})
        # A copy of every activity row, started the day each person died: every death
        # with activity has 3+ emergency admissions in its last 90 days at the top cost.
        con.execute("INSERT INTO activity (person_id, activity_type, start_date, end_date, "
                    "admission_method, treatment_function, cost, source_file_id, source_row) "
                    "SELECT a.person_id, 'emergency_admission', "
                    "d.date_of_death, d.date_of_death, '21', a.treatment_function, $c, "
                    "a.source_file_id, a.source_row + 1000000 FROM activity a "
                    "JOIN deaths d USING (person_id)", {"c": float(MAX_COST)})
    finally:
        con.close()
    assessed = _cli("assess", "--project", str(root), "--format", "csv",
                    "--out", str(tmp_path / "out"))
    assert assessed.returncode == 0, assessed.stderr[-3000:]
    # The sums really were that large: the ICB's hospital cost in the last 90 days is
    # at least three top-cost admissions per death that had activity.
    import polars as pl
    table = pl.read_csv(tmp_path / "out" / "indicators.csv", infer_schema_length=0)
    costs = table.filter(pl.col("indicator_id") == "hospital_cost_last90",
                         pl.col("breakdown") == "all", pl.col("suppressed") == "false")
    assert costs.height > 0
    assert costs["numerator"].cast(pl.Float64).max() >= 3 * MAX_COST
    again = _cli("run", "--month", month, "--project", str(root))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Traceback" not in again.stderr


@pytest.mark.parametrize(("extra", "message"), [
    ("[periods]\nyears = -1\n",
     "[periods]: key 'years' must be between 1 and 50 (the number of financial years to "
     "report)"),
    ("[benchmarks]\npod_hospital_pct = 43.4\npod_hosptal_pct = 1.0\n",
     "[benchmarks]: key 'pod_hosptal_pct' is not an indicator id — use an id from "
     "`eolneeds indicators`, e.g. pod_hospital_pct"),
    ("[benchmarks]\npod_hospital_pct = nan\n",
     "[benchmarks]: key 'pod_hospital_pct' must be a finite number, not nan"),
])
def test_implausible_settings_are_refused_naming_the_key(tmp_path, extra, message):
    root = tmp_path / "p"
    root.mkdir()
    (root / "eolneeds.toml").write_text('[project]\nicb_name = "T"\n[[places]]\ncode = "P1"\n'
                                        + extra, encoding="utf-8")
    completed = _cli("validate", "--project", str(root))
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines()[-1] == (
        f"Error: {root / 'eolneeds.toml'} {message}")

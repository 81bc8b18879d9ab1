"""One regression test per fixed bug, named after what it guards."""

from __future__ import annotations

import polars as pl


def test_cause_group_shares_use_all_deaths_as_denominator(assessed_sample) -> None:  # type: ignore[no-untyped-def]
    # Bug: cause_group_pct divided each group by itself, so every group showed 100%.
    frame = assessed_sample.indicators.filter(
        (pl.col("indicator_id") == "cause_group_pct")
        & (pl.col("area_type") == "icb")
        & (pl.col("breakdown") == "cause_group")
        & ~pl.col("suppressed")
    )
    assert frame.height > 0
    deaths = assessed_sample.indicators.filter(
        (pl.col("indicator_id") == "deaths")
        & (pl.col("area_type") == "icb")
        & (pl.col("breakdown") == "all")
    ).select("period", pl.col("numerator").alias("all_deaths"))
    joined = frame.join(deaths, on="period")
    assert (joined["denominator"] == joined["all_deaths"]).all()
    assert (joined["value"] < 100).all()
    # Shown groups of one period cannot add up to more than all deaths.
    per_period = joined.group_by("period").agg(pl.col("value").sum())
    assert (per_period["value"] <= 100.0 + 1e-9).all()


class _ClosedPipe:
    """A console stream whose reader has gone away."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    def isatty(self) -> bool:
        return False


def test_closed_console_pipe_does_not_stop_the_job_or_its_log(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Bug: `eolneeds --log-format json run ... | head` failed the run with BrokenPipeError
    # once head exited, leaving the month unreported.
    from eolneeds.console import ConsoleReporter

    log = (tmp_path / "run.log").open("w", encoding="utf-8")
    for log_format in ("json", "text"):
        reporter = ConsoleReporter(log_format=log_format, stream=_ClosedPipe())  # type: ignore[arg-type]
        reporter.extra_sinks.append(log)
        reporter.event("run_started", month="2026-10")
        reporter.message("still going")
        with reporter.progress("Counting", 3) as step:
            step(1)
        reporter.event("run_finished", status="ok")
    log.close()
    lines = (tmp_path / "run.log").read_text(encoding="utf-8").splitlines()
    assert [line.count('"event": "run_finished"') for line in lines].count(1) == 2


def test_disclosure_hides_the_same_cells_whatever_the_hash_seed(assessed_sample, sample_project,
                                                                  tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Bug: secondary suppression walked sets of cell keys, whose order follows Python's
    # per-process string-hash salt, so two runs on the same data hid different
    # complementary cells and indicators.csv differed between runs.
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    first = (assessed_sample.out_dir / "indicators.csv").read_bytes()
    out = tmp_path / "again"
    # A copy: the assess keeps its publication in the project's ledger, and the shared
    # sample's database keeps none (tests/conftest.py, assessed_sample).
    project = tmp_path / "project"
    shutil.copytree(sample_project.root, project)
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    eolneeds = Path(sys.executable).with_name("eolneeds")
    done = subprocess.run(
        [str(eolneeds), "--quiet", "assess", "--project", str(project),
         "--format", "csv", "--out", str(out)],
        env=env, capture_output=True, text=True, encoding="utf-8", check=False)
    assert done.returncode == 0, done.stderr
    assert (out / "indicators.csv").read_bytes() == first

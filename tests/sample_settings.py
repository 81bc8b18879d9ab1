"""Settings for generated projects whose tests are about something other than disclosure
control (locking, kill-safety, the monthly run's bookkeeping).

Secondary suppression is pure computation in memory, and on the small samples these tests
generate (150-200 deaths, most cells small) it is most of each run: `run` of a 200-death
sample took 43 s with it and 4.6 s without (load 9, 2026-12-01). Primary suppression stays
on, so the outputs are still the suppressed ones. test_disclosure*.py and the session's
assessed sample (tests/conftest.py) keep the full rules; the identifier tests
(test_privacy.py, test_hostile_leaks.py) do not need them: an identifier in an output
would come from the inputs, not from which cells are hidden.
"""

from __future__ import annotations

from pathlib import Path


def primary_suppression_only(root: Path) -> None:
    """Turn secondary suppression off in the generated project at `root`."""
    toml = root / "eolneeds.toml"
    text = toml.read_text(encoding="utf-8")
    assert text.count("secondary = true") == 1, "the sample's [disclosure] default moved"
    toml.write_text(text.replace("secondary = true", "secondary = false"), encoding="utf-8")

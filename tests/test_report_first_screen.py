"""What a commissioner reads first in a Place's section (its key facts, above the seven
questions): for every headline indicator judged against the ICB, by how much (in the
indicator's unit, agreeing with the figures shown), the Place's 95% interval, and
England's value with its period wherever there is one. Read from the assessed sample's
report, parsed."""

from __future__ import annotations

import html
import re

import pytest

from eolneeds.report_context import slug

FACT = re.compile(r'<li class="fact[^"]*">(.*?)</li>', re.S)
SPAN = re.compile(r'<span class="fact-(\w+)">(.*?)</span>', re.S)
GAP = re.compile(r"^([\d,.]+) (percentage points|per 100,000|per person) (above|below) the ICB; "
                 r"95% CI ([\d,.]+) to ([\d,.]+)$")


def _number(text: str) -> float:
    return float(text.replace(",", "").rstrip("%"))


@pytest.fixture(scope="module")
def facts(assessed_sample):
    page = (assessed_sample.out_dir / "report.html").read_text(encoding="utf-8")
    found = {}
    for code in assessed_sample.bundle.places:
        section = page.split(f'id="place-{slug(code)}"', 1)[1]
        section = section.split('<details class="place-details">', 1)[0]
        found[code] = [{k: " ".join(html.unescape(v).split()) for k, v in SPAN.findall(item)}
                       for item in FACT.findall(section)]
    return found


def test_every_verdict_says_by_how_much_and_how_sure(facts):
    judged = 0
    for code, items in facts.items():
        assert items, code
        for fact in items:
            verdict = fact.get("comparison", "")
            if not verdict.startswith(("Higher", "Lower")):
                continue
            judged += 1
            match = GAP.match(fact.get("detail", ""))
            assert match, (code, fact)
            size, _, side, low, high = match.groups()
            value = _number(fact["value"])
            icb = _number(re.match(r"ICB ([\d,.]+%?)", fact["context"]).group(1))  # type: ignore[union-attr]
            # The gap is the difference of the figures shown, on the verdict's side.
            assert abs(abs(value - icb) - _number(size)) < 0.051, (code, fact)
            assert (side == "above") == (value > icb) == verdict.startswith("Higher")
            # The Place's value lies in its interval, and the ICB outside it (a verdict;
            # on a limit at most, as both are rounded for print).
            assert _number(low) <= value <= _number(high), (code, fact)
            assert not _number(low) < icb < _number(high), (code, fact)
    assert judged >= 2


def test_england_is_beside_the_icb_with_its_period(facts, assessed_sample):
    england = assessed_sample.bundle.england()
    labelled = 0
    for items in facts.values():
        for fact in items:
            if "England" in fact["context"]:
                labelled += 1
                # 'ICB 44.4% · England 43.0% (2023, not 2025-26)' or '(period not stated)'
                assert re.search(r"· England [\d,.]+%? \((\d{4}.*|period not stated)\)$",
                                 fact["context"]), fact
    assert labelled >= len(assessed_sample.bundle.places) and england


def test_who_is_missing_out_is_on_the_first_screen(assessed_sample):
    """Each Place's first screen names every indicator whose gradient by deprivation is
    significant there (its SII interval excludes zero, in the indicator table), and
    only those."""
    import polars as pl

    page = (assessed_sample.out_dir / "report.html").read_text(encoding="utf-8")
    table = assessed_sample.indicators.filter(
        (pl.col("period") == assessed_sample.headline_period)
        & (pl.col("breakdown") == "imd_quintile") & (pl.col("breakdown_value") == "SII")
        & ~pl.col("suppressed") & pl.col("lower_ci_95").is_not_null())
    names = {ind.id: ind.label for ind in __import__(
        "eolneeds.catalogue", fromlist=["load_catalogue"]).load_catalogue()}
    seen = 0
    for code in assessed_sample.bundle.places:
        first = page.split(f'id="place-{slug(code)}"', 1)[1]
        first = first.split('<details class="place-details">', 1)[0]
        text = " ".join(html.unescape(re.search(
            r'<p class="missing-out">(.*?)</p>', first, re.S).group(1)).split())  # type: ignore[union-attr]
        mine = table.filter(pl.col("area_code") == code)
        significant = {r["indicator_id"] for r in mine.iter_rows(named=True)
                       if not r["lower_ci_95"] <= 0 <= r["upper_ci_95"]}
        for ind_id in set(mine["indicator_id"]):
            # Named in plain words, with the direction: 'deaths in hospital (higher there)'
            assert (f"{names[ind_id].lower()} (" in text.lower()) == (ind_id in significant), \
                (code, ind_id)
        seen += mine.height
        if not significant:
            assert "No measure differs significantly by deprivation" in text
    assert seen >= 1  # SII rows were there to check (tests/test_report_funnel_gaps.py
    # checks the same on a hand-built bundle with significant gradients)


def test_every_table_in_a_place_section_names_the_place_and_the_period(assessed_sample):
    """A table copied out of a Place's section still says whose figures and which period
    they are (a 'Deaths by cause group, 2025-26' caption stood in every section)."""
    page = (assessed_sample.out_dir / "report.html").read_text(encoding="utf-8")
    checked = 0
    for code in assessed_sample.bundle.places:
        name = assessed_sample.bundle.config.place_name(code)
        section = page.split(f'id="place-{slug(code)}"', 1)[1]
        section = section.split('<p class="back">', 1)[0]
        for caption in re.findall(r"<caption>(.*?)</caption>", section, re.S):
            text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", caption)).split())
            assert name in text, (code, text)
            assert re.search(r"\b20\d\d\b", text), (code, text)
            checked += 1
    assert checked >= 6 * len(assessed_sample.bundle.places)

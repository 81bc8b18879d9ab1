"""Issue 11.5, "the text matches the numbers": every figure the report, the packs and the
CLI state about the indicator table is checked against the produced table itself
(indicators.csv), not against the code's constants.

Each test reads the outputs of one assess run of the generated sample (the session
fixture `assessed_sample`): the CSV with the csv module, the HTML as text, the packs
with openpyxl.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest
from report_fixtures import make_bundle

from eolneeds import methods
from eolneeds.catalogue import load_catalogue, load_summaries, render_catalogue
from eolneeds.report_html import render_html

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------
# Reading the outputs


def _rows(result: Any) -> list[dict[str, str]]:
    with (result.out_dir / "indicators.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _text(markup: str) -> str:
    """The visible text of an HTML page, one run of white space as one space."""
    markup = re.sub(r"<(svg|style|script)\b.*?</\1>", " ", markup, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup)))


def _report(result: Any) -> str:
    return (result.out_dir / "report.html").read_text(encoding="utf-8")


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def _reason(note: str) -> str:
    """Why a hidden row is hidden: the first part of its note naming a disclosure rule
    (worked out here from the notes as written, not with the code's helper)."""
    for part in note.split("; "):
        if part.startswith("suppressed: "):
            return part[len("suppressed: "):]
        if part.startswith("withheld: "):
            return "withheld, " + part[len("withheld: "):]
    return "other reasons"


def _sheet_rows(ws: Any) -> list[list[Any]]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def _table(ws: Any, first_header: str) -> tuple[list[str], list[list[Any]]]:
    """The sheet's table: the header row starting with `first_header`, then its rows."""
    rows = _sheet_rows(ws)
    top = next(i for i, r in enumerate(rows) if r and r[0] == first_header)
    header = [str(h) for h in rows[top] if h is not None]
    body = [r[:len(header)] for r in rows[top + 1:] if r and r[0] is not None]
    return header, body


def _present(value: str) -> bool:
    """A number in the CSV: not empty and not NaN (a summary that was not calculated)."""
    return value not in ("", "NaN", "nan")


def _tally_claim(text: str) -> tuple[int, int, dict[str, int]]:
    """(hidden, values, {reason: n}) from '3,789 of the 19,417 values in ... are
    suppressed (shown as *), by rule: reason: n; reason: n.'"""
    match = re.search(r"([\d,]+) of the ([\d,]+) values in [^.]*? (?:is|are) suppressed "
                      r"\(shown as [^)]*\)(?:, by rule: (.*?)\.(?: |$))?", text)
    assert match, text[:300]
    rules: dict[str, int] = {}
    for part in (match.group(3) or "").split("; "):
        if part:
            reason, _, n = part.rpartition(": ")
            rules[reason] = _number(n)
    return _number(match.group(1)), _number(match.group(2)), rules


# ---------------------------------------------------------------------------------------
# Suppression tallies


def test_report_suppression_tally_equals_the_tables_own_counts(assessed_sample) -> None:
    rows = _rows(assessed_sample)
    hidden = [r for r in rows if r["suppressed"] == "true"]
    assert hidden, "the sample should hide some small numbers"
    by_reason = Counter(_reason(r["note"]) for r in hidden)

    text = _text(_report(assessed_sample))
    match = re.search(r"([\d,]+) of the ([\d,]+) values in the indicator table behind this "
                      r"report are suppressed \(shown as \*\), by rule: (.*?) Every chart",
                      text)
    assert match, "the report states how many values are suppressed"
    assert _number(match.group(1)) == len(hidden)
    assert _number(match.group(2)) == len(rows)
    stated = {reason: _number(n) for reason, n in
              re.findall(r"(.+?): ([\d,]+) values? ", match.group(3) + " ")}
    assert {k.strip(): v for k, v in stated.items()} == dict(by_reason)
    # The rules add up to the total: no value counted twice, no note that is not a rule.
    assert sum(stated.values()) == len(hidden)
    assert not any(k.strip().startswith(("unreliable", "modelled")) for k in stated)

    # Each Place's caveats: its hidden values in the headline period.
    period = assessed_sample.headline_period
    claims = re.findall(rf"([\d,]+) values for (.+?) in {re.escape(period)} are suppressed",
                        text)
    assert claims
    for n, place in claims:
        expected = sum(1 for r in hidden if r["area_name"] == place and r["period"] == period)
        assert _number(n) == expected, place


def test_pack_suppression_tally_equals_its_indicator_data(assessed_sample) -> None:
    rows = _rows(assessed_sample)
    packs = sorted(assessed_sample.out_dir.glob("pack-*.xlsx"))
    assert len(packs) >= 2
    for path in packs:
        wb = openpyxl.load_workbook(path, read_only=True)
        try:
            cover = " ".join(str(r[0]) for r in _sheet_rows(wb["Cover"]) if r and r[0])
            header, body = _table(wb["Indicator_data"], "Indicator ID")
            notes_header, notes = _table(wb["Notes"], "Note number")
        finally:
            wb.close()
        hidden_col, note_col = header.index("Suppressed"), header.index("Note")
        hidden = [r for r in body if str(r[hidden_col]).lower() in ("true", "yes", "1")]
        by_reason = Counter(_reason(str(r[note_col] or "")) for r in hidden)
        for text in (cover, next(str(n[2]) for n in notes if n[1].startswith("Suppression"))):
            n_hidden, n_values, rules = _tally_claim(text)
            assert (n_hidden, n_values) == (len(hidden), len(body)), path.name
            assert rules == dict(by_reason), path.name
        if path.name == "pack-icb.xlsx":
            # The ICB pack holds every row: its tally is the CSV's.
            assert (n_hidden, n_values) == (
                sum(r["suppressed"] == "true" for r in rows), len(rows))


def test_cli_summary_states_the_tables_counts(assessed_sample) -> None:
    rows = _rows(assessed_sample)
    summary = assessed_sample.render_summary()
    n_hidden, n_values, rules = _tally_claim(summary)
    hidden = [r for r in rows if r["suppressed"] == "true"]
    assert (n_hidden, n_values) == (len(hidden), len(rows))
    assert rules == dict(Counter(_reason(r["note"]) for r in hidden))


# ---------------------------------------------------------------------------------------
# Units: per 100,000 and percentage points


def test_rates_say_per_100000_everywhere(assessed_sample) -> None:
    rates = {i.id: i.name for i in load_catalogue() if i.method in ("DSR", "R")}
    rows = _rows(assessed_sample)
    for r in rows:
        if r["indicator_id"] in rates and r["breakdown_value"] != "RII":
            assert r["unit"] == "per 100,000", r
    # HTML: every row header naming a rate says per 100,000.
    markup = _report(assessed_sample)
    headers = [_text(h).strip() for h in re.findall(r"<th[^>]*scope=\"row\"[^>]*>(.*?)</th>",
                                                    markup, flags=re.S)]
    named = [h for h in headers if any(h.startswith(n) for n in rates.values())]
    assert any("Age-standardised" in h for h in named)
    assert all("per 100,000" in h for h in named), [h for h in named if "100,000" not in h]
    # Key findings naming a rate say per 100,000.
    findings = re.search(r'id="key-findings".*?</section>', markup, flags=re.S)
    assert findings
    for name in rates.values():
        for hit in re.finditer(re.escape(name.lower()), _text(findings.group(0)).lower()):
            tail = _text(findings.group(0)).lower()[hit.end():hit.end() + 20]
            assert "per 100,000" in tail, tail
    # Excel: the Unit column of every rate row.
    wb = openpyxl.load_workbook(assessed_sample.out_dir / "pack-icb.xlsx", read_only=True)
    try:
        for sheet in ("Summary", "Mortality_and_need"):
            header, body = _table(wb[sheet], "Indicator")
            unit = header.index("Unit")
            rate_rows = [r for r in body if r[0] in rates.values()]
            assert rate_rows and all(r[unit] == "per 100,000" for r in rate_rows), sheet
    finally:
        wb.close()


def test_sii_of_a_percentage_is_in_percentage_points(assessed_sample) -> None:
    percent = {i.id: i.name for i in load_catalogue() if i.unit == "%"}
    rows = _rows(assessed_sample)
    sii = [r for r in rows if r["breakdown_value"] == "SII" and r["indicator_id"] in percent]
    assert sii and all(r["unit"] == "percentage points" for r in sii)
    published = [r for r in sii if r["value"]]
    assert published

    # HTML: every SII of a percentage written in the report says percentage points.
    markup = _report(assessed_sample)
    for table in re.findall(r"<table.*?</table>", markup, flags=re.S):
        if "SII (95% CI)" not in table:
            continue
        for tr in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S):
            cells = [_text(c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr,
                                                          flags=re.S)]
            if cells and cells[0] in percent.values() and cells[1] not in ("–", ""):
                assert "percentage points" in cells[1], cells
                assert "%" not in cells[1], cells
    # The key finding on the steepest gradient, when it is a percentage's.
    finding = re.search(r"([^.]*?) is (?:higher|lower) in more deprived areas[^:]*: slope "
                        r"index of inequality ([^,]*?)(?:,| across)", _text(markup))
    if finding and finding.group(1).strip() in percent.values():
        assert finding.group(2).endswith("percentage points"), finding.group(0)

    # Excel: the SII unit column.
    wb = openpyxl.load_workbook(assessed_sample.out_dir / "pack-icb.xlsx", read_only=True)
    try:
        header, body = _table(wb["Inequalities"], "Indicator")
    finally:
        wb.close()
    unit, sii_col, sii_unit = header.index("Unit"), header.index("SII"), header.index("SII unit")
    checked = 0
    for r in body:
        if isinstance(r[sii_col], (int, float)):
            expected = "percentage points" if r[unit] == "%" else r[unit]
            assert r[sii_unit] == expected, r
            checked += 1
    assert checked


# ---------------------------------------------------------------------------------------
# Cost per death, with its source


def _cost_rows(rows: list[dict[str, str]], period: str) -> dict[str, dict[str, str]]:
    return {r["area_name"]: r for r in rows
            if r["indicator_id"] == "hospital_cost_last90" and r["breakdown"] == "all"
            and r["period"] == period}


def test_cost_per_death_in_the_report_and_every_pack(assessed_sample) -> None:
    rows = _rows(assessed_sample)
    period = assessed_sample.headline_period
    cost = _cost_rows(rows, period)
    assert cost
    text = _text(_report(assessed_sample))
    for area, r in cost.items():
        if r["suppressed"] == "true" or not r["value"]:
            continue
        per_death = float(r["value"]) / float(r["denominator"])
        # Worked out here: pounds to the nearest pound with a thousands separator.
        shown = f"£{int(per_death + 0.5):,}"
        assert shown in text, (area, shown)
    assert "Cost per death of hospital care in the last 90 days of life" in text
    assert "Cost: the costs recorded on the activity files" in text
    assert "no unit cost is configured" in text  # the sample configures none

    for path in sorted(assessed_sample.out_dir.glob("pack-*.xlsx")):
        wb = openpyxl.load_workbook(path, read_only=True)
        try:
            ws = wb["Cost_per_death"]
            lines = " ".join(str(r[0]) for r in _sheet_rows(ws)[:8] if r and r[0])
            header, body = _table(ws, "Area")
        finally:
            wb.close()
        assert "the costs recorded on the activity files" in lines, path.name
        total = header.index("Cost of hospital care in the last 90 days of life (£)")
        deaths, each = header.index("Deaths (people)"), header.index("Cost per death (£)")
        current = {r[0]: r for r in body if r[1] == period}
        assert current, path.name
        for area, r in current.items():
            source = cost[area]
            if source["suppressed"] == "true":
                assert r[each] == "[c]"
                continue
            assert r[total] == pytest.approx(round(float(source["value"])), abs=0.5)
            assert r[deaths] == float(source["denominator"])
            assert r[each] == pytest.approx(
                round(float(source["value"]) / float(source["denominator"])), abs=0.5)


def test_a_configured_unit_cost_is_named_as_the_source() -> None:
    bundle = make_bundle()
    methods_config = dataclasses.replace(bundle.config.methods, unit_cost_per_bed_day=412.5)
    bundle.config = dataclasses.replace(bundle.config, methods=methods_config)
    text = _text(render_html(bundle))
    assert "£412.50 per bed day" in text
    assert "[methods] unit_cost_per_bed_day" in text


# ---------------------------------------------------------------------------------------
# SII draws and the RII definition, as computed


def _stated_draws(text: str) -> set[str]:
    return set(re.findall(r"(\d[\d,]*) (?:simulated )?draws", text))


def test_one_number_of_sii_draws_is_stated_and_used(assessed_sample) -> None:
    texts = {
        "report": _text(_report(assessed_sample)),
        "catalogue": render_catalogue("markdown"),
        "README": (ROOT / "README.md").read_text(encoding="utf-8"),
    }
    for doc in (ROOT / "docs").glob("*.md"):
        texts[doc.name] = doc.read_text(encoding="utf-8")
    wb = openpyxl.load_workbook(assessed_sample.out_dir / "pack-icb.xlsx", read_only=True)
    try:
        texts["pack notes"] = " ".join(str(c) for r in _sheet_rows(wb["Notes"]) for c in r
                                       if c)
    finally:
        wb.close()
    stated = {name: _stated_draws(t) for name, t in texts.items()}
    numbers = set().union(*stated.values())
    assert len(numbers) == 1, stated
    assert stated["report"] and stated["catalogue"] and stated["pack notes"]
    draws = _number(numbers.pop())

    # The stated number is the one used: the published SII limits come back from the
    # published quintiles with that many draws (and not with ten times as many).
    rows = _rows(assessed_sample)
    period = assessed_sample.headline_period
    checked = 0
    for ind in ("pod_hospital_pct", "dsr_all_cause"):
        quintiles = [r for r in rows if r["indicator_id"] == ind and r["area_type"] == "icb"
                     and r["period"] == period and r["breakdown"] == "imd_quintile"
                     and r["breakdown_value"] in "12345" and r["suppressed"] == "false"
                     and r["value"] and r["lower_ci_95"]]
        sii = next(r for r in rows if r["indicator_id"] == ind and r["area_type"] == "icb"
                   and r["period"] == period and r["breakdown_value"] == "SII")
        assert len(quintiles) >= 3 and _present(sii["value"])
        value_type = "proportion" if ind.endswith("_pct") else "rate"
        args = [np.array([float(r[c]) for r in quintiles]) for c in
                ("breakdown_value", "value", "denominator", "lower_ci_95", "upper_ci_95")]
        for reps, same in ((draws, True), (draws * 10, False)):
            result = methods.sii_rii(*args, value_type=value_type, reps=reps,
                                     value_scale=100.0 if value_type == "proportion" else 1.0,
                                     min_quantiles=3)
            limits = (result.sii_lower, result.sii_upper)
            published = (float(sii["lower_ci_95"]), float(sii["upper_ci_95"]))
            close = np.allclose(limits, published, rtol=1e-4, atol=1e-4)
            assert close is same, (ind, reps, limits, published)
        checked += 1
    assert checked == 2


def test_rii_is_least_over_most_deprived_as_published(assessed_sample) -> None:
    """The catalogue says RII = modelled least-deprived value / modelled most-deprived
    value. Refit each published ICB SII by weighted least squares here (numpy, not
    eolneeds.methods) and check both the SII and the RII against that reading."""
    definition = next(s.definition for s in load_summaries() if s.id == "sii_rii")
    assert re.search(r"RII is the modelled value at the least deprived end divided by the "
                     r"modelled value at the most deprived end", definition)
    assert "rank 0 = most deprived, 1 = least deprived" in definition
    rows = _rows(assessed_sample)
    checked = 0
    for summary in (r for r in rows if r["breakdown_value"] == "RII"
                    and _present(r["value"]) and r["area_type"] == "icb"):
        group = [r for r in rows if r["indicator_id"] == summary["indicator_id"]
                 and r["area_code"] == summary["area_code"]
                 and r["period"] == summary["period"] and r["breakdown"] == "imd_quintile"]
        used = sorted((r for r in group if r["breakdown_value"] in "12345"
                       and r["suppressed"] == "false" and r["value"] and r["lower_ci_95"]
                       and float(r["denominator"] or 0) > 0),
                      key=lambda r: int(r["breakdown_value"]))
        sii = next(r for r in group if r["breakdown_value"] == "SII")
        if "pooled" in (sii["note"] or ""):
            continue  # over pooled quintiles, not published: tests/test_sii_pooled.py
        pop = np.array([float(r["denominator"]) for r in used])
        y = np.array([float(r["value"]) for r in used])
        share = pop / pop.sum()
        rank = np.cumsum(share) - share / 2  # quintile 1 (most deprived) nearest 0
        w = np.sqrt(share)
        (b0, b1), *_ = np.linalg.lstsq(np.column_stack([w, rank * w]), y * w, rcond=None)
        most, least = b0, b0 + b1  # fitted values at rank 0 and rank 1
        assert float(sii["value"]) == pytest.approx(least - most, rel=1e-5, abs=1e-6)
        assert float(summary["value"]) == pytest.approx(least / most, rel=1e-5)
        checked += 1
    assert checked >= 3


# ---------------------------------------------------------------------------------------
# Year basis of projections


def test_projections_state_their_year_basis(assessed_sample) -> None:
    period = assessed_sample.headline_period
    rows = _rows(assessed_sample)
    projected = [r for r in rows if r["indicator_id"] == "pc_need_projected"]
    assert projected and all(re.fullmatch(r"\d{4}", r["period"]) for r in projected)
    assert not re.fullmatch(r"\d{4}", period)  # a counted period is not a calendar year
    text = _text(_report(assessed_sample))
    section = text[text.index("Projections to 2040", text.index("Inequalities")):]
    assert "calendar years (January to December)" in section
    assert f"those counted in {period}" in section
    assert f"At {period} rates, population change alone" in text  # the key finding
    wb = openpyxl.load_workbook(assessed_sample.out_dir / "pack-icb.xlsx", read_only=True)
    try:
        lines = [str(r[0]) for r in _sheet_rows(wb["Projections"])[:12] if r and r[0]]
    finally:
        wb.close()
    assert any(line.startswith("Year basis") and f"counted in {period}" in line
               for line in lines), lines

"""Each Place section's findings are the Place's own (findings.FindingsBuilder.
place_findings), word for word those its pack's Key_findings sheet opens with: in full
first inside the Place's details, and above them, as the section opens, their headlines
against the ICB and England and, beside the key facts, who is missing out (its
significant gradients by deprivation, without the indices). One source, so the report
and the pack cannot disagree; only the headlines outside, so the report stays short
(tests/test_findings.py bounds its length). Known answers on the hand-built bundle
(tests/report_fixtures.py), values set here."""

from __future__ import annotations

import html
import re

import polars as pl
from openpyxl import load_workbook
from report_fixtures import make_bundle, set_headline_row

from eolneeds import report_excel
from eolneeds.report_html import render_html

_set = set_headline_row
_FINDING = re.compile(r'<p class="place-finding"><span class="finding-question">(.*?)</span> '
                      r'<strong>(.*?)\.</strong> (.*?)</p>', re.S)


def _words(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def _section(page: str, code: str) -> str:
    return page.split(f'id="place-{code.lower()}"', 1)[1].split('<p class="back">', 1)[0]


def _first_screen(page: str, code: str) -> str:
    """What shows with the Place's details closed."""
    return _section(page, code).split('<details class="place-details">', 1)[0]


def _in_full(page: str, code: str) -> list[tuple[str, str, str]]:
    """(question, finding, detail) of each of the Place's findings inside its details."""
    block = _section(page, code).split(f'id="place-{code.lower()}-findings"', 1)[1]
    block = block.split("</section>", 1)[0]
    return [(_words(q), _words(h), _words(d)) for q, h, d in _FINDING.findall(block)]


def _paragraph(fragment: str, css: str) -> str:
    found = re.search(rf'<p class="{css}">(.*?)</p>', fragment, re.S)
    assert found, css
    return _words(found.group(1))


def _pack_findings(path, name: str) -> list[tuple[str, str, str]]:
    """The Key_findings rows of a Place's pack that are the Place's own (its name in the
    question); the ICB's key findings follow them."""
    wb = load_workbook(path, read_only=True)
    try:
        rows = list(wb["Key_findings"].iter_rows(values_only=True))
    finally:
        wb.close()
    top = next(i for i, r in enumerate(rows) if r and r[0] == "Question")
    return [(str(r[0]), str(r[1]), " ".join(str(r[2]).split())) for r in rows[top + 1:]
            if r and r[0] and name in str(r[0])]


def _hartside_bundle():
    """Hartside: deaths in hospital 47.5% against the ICB's 44.0%, significantly higher
    (lower is better: worse), and above England's 43.4% (its interval 45.0 to 50.0:
    higher, worse); identified before death 61.0% against 56.0%, higher (better);
    palliative care need 70.0% against 75.0%, lower (no better direction); the rest set
    similar. Six headline measures are compared (the count of deaths is not)."""
    bundle = make_bundle()
    hartside = bundle.places[0]
    frame = bundle.indicators
    for ind in ("dsr_all_cause", "pc_need_pct", "pod_hospital_pct", "diupr_pct",
                "on_register_need_pct", "ea_last90_3plus_pct"):
        frame = _set(frame, ind, hartside, comparison="similar")
    frame = _set(frame, "pod_hospital_pct", "QXX", value=44.0)
    frame = _set(frame, "pod_hospital_pct", hartside, value=47.5, lower_ci_95=45.0,
                 upper_ci_95=50.0, comparison="higher")
    frame = _set(frame, "on_register_need_pct", "QXX", value=56.0)
    frame = _set(frame, "on_register_need_pct", hartside, value=61.0, comparison="higher")
    frame = _set(frame, "pc_need_pct", "QXX", value=75.0)
    frame = _set(frame, "pc_need_pct", hartside, value=70.0, comparison="lower")
    # England's 6.2% inside Hartside's interval: no difference from England.
    frame = _set(frame, "ea_last90_3plus_pct", hartside, lower_ci_95=5.0, upper_ci_95=8.0)
    bundle.indicators = frame
    return bundle, hartside


def test_the_opening_names_what_is_worse_better_and_different_against_icb_and_england():
    bundle, hartside = _hartside_bundle()
    page = render_html(bundle)
    opening = _paragraph(_first_screen(page, hartside), "stands-out")
    assert opening.startswith(
        "Hartside is worse than the ICB on 1 of 6 headline measures and better on 1. "
        "Hartside is worse than England on 1 of "), opening
    assert opening.endswith("In full: what stands out in Hartside"), opening
    full = {q: (h, d) for q, h, d in _in_full(page, hartside)}
    headline, detail = full["What stands out in Hartside?"]
    assert headline == "Hartside is worse than the ICB on 1 of 6 headline measures and " \
                       "better on 1"
    assert detail == (
        "Worse: deaths in hospital 47.5% against the ICB's 44.0%. "
        "Better: identified among those with palliative care need 61.0% against the "
        "ICB's 56.0%. "
        "Different, with no better direction: deaths from conditions indicating "
        "palliative care need 70.0% against the ICB's 75.0% (lower). "
        "Counted where the difference is significant (unlikely to be chance, 95% "
        "confidence).")
    _, england = full["How does Hartside compare with England?"]
    assert england.startswith("Worse: deaths in hospital 47.5% against England's 43.4%")
    # The figures are inside the details only: the first screen has the headlines.
    assert "47.5% against" not in _words(_first_screen(page, hartside))

    # Nothing differs: said so, and a suppressed value is never counted or named.
    frame = bundle.indicators
    for ind in ("pod_hospital_pct", "on_register_need_pct", "pc_need_pct"):
        frame = _set(frame, ind, hartside, comparison="similar")
    frame = _set(frame, "dsr_all_cause", hartside, value=None, lower_ci_95=None,
                 upper_ci_95=None, numerator=None, suppressed=True, comparison="higher")
    bundle.indicators = frame
    page = render_html(bundle)
    assert _paragraph(_first_screen(page, hartside), "stands-out").startswith(
        "Hartside is similar to the ICB on all 5 headline measures compared. ")
    full = {q: (h, d) for q, h, d in _in_full(page, hartside)}
    assert full["What stands out in Hartside?"] == (
        "Hartside is similar to the ICB on all 5 headline measures compared",
        "Counted where the difference is significant (unlikely to be chance, 95% "
        "confidence).")


def test_the_opening_comes_first_and_links_to_the_findings_in_full():
    """Straight under the Place's heading, before the key facts; its link goes to the
    findings in full, the first thing inside the Place's details."""
    page = render_html(make_bundle())
    for code in make_bundle().places:
        section = _section(page, code)
        heading_end = section.index("</h2>")
        opening = section.index('<p class="stands-out">')
        assert heading_end < opening < section.index('class="key-facts"'), code
        anchor = f"place-{code.lower()}-findings"
        assert f'href="#{anchor}"' in _first_screen(page, code), code
        inside = section.split('<details class="place-details">', 1)[1]
        first_inside = re.search(r'<section [^>]*id="([^"]+)"', inside)
        assert first_inside and first_inside.group(1) == anchor, code


def _agree(page: str, code: str, name: str, pack_rows: list[tuple[str, str, str]]) -> None:
    """The report's findings in full are the pack's rows; what shows above the details
    is their words: the headlines against the ICB and England, and who is missing out
    (its headline, then the start of its detail, naming whom)."""
    full = _in_full(page, code)
    assert sorted(full) == sorted(pack_rows), code
    by_question = {q: (h, d) for q, h, d in pack_rows}
    first = _first_screen(page, code)
    opening = _paragraph(first, "stands-out")
    said = " ".join(f"{by_question[q][0]}." for q in (
        f"What stands out in {name}?", f"How does {name} compare with England?")
        if q in by_question)
    assert said and opening.startswith(said + " In full"), (code, opening, said)
    headline, detail = by_question[f"Who is missing out in {name}?"]
    missing = _paragraph(first, "missing-out")
    assert missing.startswith(headline + "."), (code, missing)
    assert detail.startswith(missing[len(headline) + 1:].strip()), (code, missing, detail)


def test_the_report_and_the_pack_say_the_same_findings_for_every_place(tmp_path):
    """On the hand-built bundle, every Place: the findings in its report section are the
    rows its pack's Key_findings sheet opens with, question, finding and detail alike,
    and there are four (against the ICB, England, who is missing out, cost)."""
    bundle, _ = _hartside_bundle()
    page = render_html(bundle)
    packs = [(tmp_path / f"{code}.xlsx", code) for code in bundle.places]
    report_excel.write_excel_packs(bundle, packs)
    for path, code in packs:
        name = bundle.config.place_name(code)
        rows = _pack_findings(path, name)
        assert len(rows) == 4, (code, rows)
        _agree(page, code, name, rows)


def test_the_sample_report_and_packs_say_the_same_findings(assessed_sample):
    """On the assessed sample, every Place: the report's findings are its pack's own;
    the findings in full name as worse (better) than the ICB exactly the headline
    indicators the table marks worse (better) where the ICB's value is published; no
    SII, RII or interval in the first-screen 'Who is missing out'."""
    from eolneeds.catalogue import load_catalogue
    from eolneeds.formatting import judge

    page = (assessed_sample.out_dir / "report.html").read_text(encoding="utf-8")
    table = assessed_sample.indicators.filter(
        (pl.col("period") == assessed_sample.headline_period) & (pl.col("breakdown") == "all")
        & ~pl.col("suppressed"))
    headline = {i.id: i for i in load_catalogue() if i.headline}
    named = 0
    for place in assessed_sample.config.places:
        code, name = place.code, place.name
        pack = assessed_sample.out_dir / f"pack-{code.lower()}.xlsx"
        _agree(page, code, name, _pack_findings(pack, name))
        missing = _paragraph(_first_screen(page, code), "missing-out")
        assert "SII" not in missing and "RII" not in missing and "(−" not in missing
        detail = {q: d for q, _, d in _in_full(page, code)}[f"What stands out in {name}?"]
        lists = {key: (re.search(rf"{word}: (.*?)\. ", detail) or [None, ""])[1]
                 for key, word in (("worse", "Worse"), ("better", "Better"))}
        for row in table.filter(pl.col("area_code") == code).iter_rows(named=True):
            ind = headline.get(row["indicator_id"])
            if ind is None:
                continue
            icb = table.filter((pl.col("area_code") == assessed_sample.config.icb_code)
                               & (pl.col("indicator_id") == ind.id))
            if icb.height == 0:
                continue  # nothing to compare with: not counted
            verdict = judge(row["comparison"], ind.polarity).key
            for key in ("worse", "better"):
                assert (f"{ind.label.lower()} " in lists[key]) == (verdict == key), \
                    (code, ind.id, detail)
            named += verdict in ("worse", "better")
    assert named >= 1

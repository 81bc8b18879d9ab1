"""Each Place section opens with the Place's own findings (findings.FindingsBuilder.
place_findings), word for word those its pack's Key_findings sheet opens with: what
stands out against the ICB and against England, its hospital cost, and beside the key
facts who is missing out (its significant gradients by deprivation, without the
indices). One source, so the report and the pack cannot disagree. Known answers on the
hand-built bundle (tests/report_fixtures.py), comparisons set here."""

from __future__ import annotations

import html
import re

import polars as pl
from openpyxl import load_workbook
from report_fixtures import make_bundle, set_headline_row

from eolneeds import report_excel
from eolneeds.report_html import render_html

_set = set_headline_row
_FINDING = re.compile(r'<p class="(?:place-finding|missing-out)"><span class="finding-question">'
                      r'(.*?)</span> <strong>(.*?)\.</strong> (.*?)</p>', re.S)


def _first_screen(page: str, code: str) -> str:
    section = page.split(f'id="place-{code.lower()}"', 1)[1]
    return section.split('<details class="place-details">', 1)[0]


def _said(fragment: str) -> list[tuple[str, str, str]]:
    """(question, headline, detail) of each Place finding on a first screen."""
    return [tuple(" ".join(html.unescape(part).split()) for part in m)
            for m in _FINDING.findall(fragment)]


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


def _opening(page: str, code: str) -> dict[str, tuple[str, str, str]]:
    return {q.split(" in ")[0].split(" does ")[0]: (q, h, d)
            for q, h, d in _said(_first_screen(page, code))}


def test_the_opening_names_what_is_worse_better_and_different_against_icb_and_england():
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
    opening = _opening(render_html(bundle), hartside)
    question, headline, detail = opening["What stands out"]
    assert question == "What stands out in Hartside?"
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
    _, _, england = opening["How"]
    assert england.startswith("Worse: deaths in hospital 47.5% against England's 43.4%")

    # Nothing differs: said so, and a suppressed value is never counted or named.
    for ind in ("pod_hospital_pct", "on_register_need_pct", "pc_need_pct"):
        frame = _set(frame, ind, hartside, comparison="similar")
    frame = _set(frame, "dsr_all_cause", hartside, value=None, lower_ci_95=None,
                 upper_ci_95=None, numerator=None, suppressed=True, comparison="higher")
    bundle.indicators = frame
    _, headline, detail = _opening(render_html(bundle), hartside)["What stands out"]
    assert headline == "Hartside is similar to the ICB on all 5 headline measures compared"
    assert detail == ("Counted where the difference is significant (unlikely to be "
                      "chance, 95% confidence).")


def test_the_opening_comes_first_in_each_place_section():
    """Straight under the Place's heading, before the key facts."""
    page = render_html(make_bundle())
    for code in make_bundle().places:
        section = page.split(f'id="place-{code.lower()}"', 1)[1]
        heading_end = section.index("</h2>")
        opening = section.index('<div class="stands-out">')
        assert heading_end < opening < section.index('class="key-facts"'), code
        assert _said(section[opening:section.index('class="key-facts"')])[0][0] \
            .startswith("What stands out in ")


def test_the_report_and_the_pack_say_the_same_findings_for_every_place(tmp_path):
    """On the hand-built bundle, every Place: the findings its report section opens
    with are the rows its pack's Key_findings sheet opens with, question, finding and
    detail alike, and there are four (against the ICB, England, who is missing out,
    cost)."""
    bundle = make_bundle()
    page = render_html(bundle)
    packs = [(tmp_path / f"{code}.xlsx", code) for code in bundle.places]
    report_excel.write_excel_packs(bundle, packs)
    for path, code in packs:
        name = bundle.config.place_name(code)
        said = _said(_first_screen(page, code))
        assert len(said) == 4, (code, said)
        assert sorted(said) == sorted(_pack_findings(path, name)), code


def test_the_sample_report_and_packs_say_the_same_findings(assessed_sample):
    """On the assessed sample, every Place: the report's opening findings are its
    pack's own, and the opening names as worse (better) than the ICB exactly the
    headline indicators the table marks worse (better); no SII, RII or interval in the
    first-screen 'Who is missing out'."""
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
        said = _said(_first_screen(page, code))
        pack = assessed_sample.out_dir / f"pack-{code.lower()}.xlsx"
        assert sorted(said) == sorted(_pack_findings(pack, name)), code
        missing = html.unescape(re.search(r'<p class="missing-out">(.*?)</p>',
                                          _first_screen(page, code), re.S).group(1))  # type: ignore[union-attr]
        assert "SII" not in missing and "RII" not in missing and "(−" not in missing
        detail = _opening(page, code)["What stands out"][2]
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

"""Each Place section opens with what stands out for that Place: the headline measures on
which it differs significantly from the ICB (worse, better, or different where neither
direction is better) and from England, in plain words; and its first-screen "Who is
missing out" names its significant gradients by deprivation without the indices.
Known answers on the hand-built bundle (tests/report_fixtures.py), comparisons set here."""

from __future__ import annotations

import html
import re

import polars as pl
from report_fixtures import make_bundle, set_headline_row

from eolneeds.report_html import build_context, render_html

_set = set_headline_row


def _opening(bundle, code: str) -> str:
    return next(p.stands_out for p in build_context(bundle).places if p.code == code)


def test_the_opening_names_what_is_worse_better_and_different_against_icb_and_england():
    """Hartside: deaths in hospital higher than the ICB (lower is better: worse) and
    outside England's 43.4% (its interval 45.0 to 50.0: higher, worse); deaths in usual
    place of residence higher (better); palliative care need lower (no better direction);
    identification set similar. Six headline measures are compared (the count of deaths
    is not)."""
    bundle = make_bundle()
    hartside = bundle.places[0]
    frame = bundle.indicators
    frame = _set(frame, "pod_hospital_pct", hartside, value=47.5, lower_ci_95=45.0,
                 upper_ci_95=50.0, comparison="higher")
    frame = _set(frame, "diupr_pct", hartside, comparison="higher")
    frame = _set(frame, "on_register_need_pct", hartside, comparison="similar")
    # England's 6.2% inside Hartside's interval: no difference from England.
    frame = _set(frame, "ea_last90_3plus_pct", hartside, lower_ci_95=5.0, upper_ci_95=8.0)
    bundle.indicators = frame
    assert _opening(bundle, hartside) == (
        "What stands out in Hartside, 2024-25: significantly worse than the ICB on 1 of 6 "
        "headline measures: deaths in hospital. Better on deaths in usual place of "
        "residence. Different, with no better direction: deaths from conditions indicating "
        "palliative care need (lower). Against England: deaths in hospital higher (worse). "
        "(Significant: unlikely to be chance, at 95% confidence.)")

    # Nothing differs: said so, and a suppressed value is never counted or named.
    for ind in ("pod_hospital_pct", "diupr_pct", "pc_need_pct"):
        frame = _set(frame, ind, hartside, comparison="similar")
    frame = _set(frame, "pod_hospital_pct", hartside, lower_ci_95=40.0)
    frame = _set(frame, "dsr_all_cause", hartside, value=None, lower_ci_95=None,
                 upper_ci_95=None, numerator=None, suppressed=True, comparison="higher")
    bundle.indicators = frame
    assert _opening(bundle, hartside) == (
        "What stands out in Hartside, 2024-25: no significant difference from the ICB on "
        "the 5 headline measures compared. (Significant: unlikely to be chance, at 95% "
        "confidence.)")


def test_the_opening_comes_first_in_each_place_section():
    """Straight under the Place's heading, before the key facts."""
    page = render_html(make_bundle())
    for code in make_bundle().places:
        section = page.split(f'id="place-{code.lower()}"', 1)[1]
        heading_end = section.index("</h2>")
        opening = section.index('<p class="stands-out">')
        assert heading_end < opening < section.index('class="key-facts"'), code
        text = html.unescape(re.search(r'<p class="stands-out">(.*?)</p>', section,
                                       re.S).group(1))  # type: ignore[union-attr]
        assert text.startswith("What stands out in ")


def test_the_sample_openings_agree_with_the_indicator_table(assessed_sample):
    """On the assessed sample: each Place's opening names as worse (better) exactly the
    headline indicators the table marks worse (better) than the ICB, and no SII, RII or interval
    appears in the first-screen 'Who is missing out'."""
    from eolneeds.catalogue import load_catalogue
    from eolneeds.formatting import judge

    page = (assessed_sample.out_dir / "report.html").read_text(encoding="utf-8")
    table = assessed_sample.indicators.filter(
        (pl.col("period") == assessed_sample.headline_period) & (pl.col("breakdown") == "all")
        & ~pl.col("suppressed"))
    headline = {i.id: i for i in load_catalogue() if i.headline}
    named = 0
    for code in assessed_sample.bundle.places:
        section = page.split(f'id="place-{code.lower()}"', 1)[1].split("<details", 1)[0]
        opening = " ".join(html.unescape(re.search(
            r'<p class="stands-out">(.*?)</p>', section, re.S).group(1)).split())  # type: ignore[union-attr]
        missing = html.unescape(re.search(r'<p class="missing-out">(.*?)</p>', section,
                                          re.S).group(1))  # type: ignore[union-attr]
        assert "SII" not in missing and "RII" not in missing and "(−" not in missing
        said = {}
        for verdict, pattern in (
                ("worse", r"significantly worse than the ICB on \d+ of \d+ headline "
                          r"measures: (.*?)\. "),
                ("better", r"(?:Better on |significantly better than the ICB on \d+ of "
                           r"\d+ headline measures: )(.*?)\. ")):
            found = re.search(pattern, opening)
            said[verdict] = found.group(1).split("; ") if found else []
        for row in table.filter(pl.col("area_code") == code).iter_rows(named=True):
            ind = headline.get(row["indicator_id"])
            if ind is None:
                continue
            verdict = judge(row["comparison"], ind.polarity).key
            label = ind.label[:1].lower() + ind.label[1:]
            for key in ("worse", "better"):
                assert (label in said[key]) == (verdict == key), (code, ind.id, opening)
            named += verdict in ("worse", "better")
    assert named >= 1

"""The report's first-screen finding "Who is missing out?" reads as a commissioner needs:
which gradients are steepest (ranked fairly), by how much in words that need no sign
convention, and where (the Places whose own gradient is significant the same way).
Known answers on the hand-made bundle, with summary rows set here."""

from __future__ import annotations

import polars as pl
from report_fixtures import make_bundle, set_headline_row

from eolneeds.findings import key_findings

PERIOD = "2024-25"


def _summary(frame: pl.DataFrame, ind: str, area: str, which: str, **values) -> pl.DataFrame:
    target = ((pl.col("indicator_id") == ind) & (pl.col("area_code") == area)
              & (pl.col("period") == PERIOD) & (pl.col("breakdown") == "imd_quintile")
              & (pl.col("breakdown_value") == which))
    assert frame.filter(target).height == 1, (ind, area, which)
    return frame.with_columns([
        pl.when(target).then(pl.lit(v, dtype=frame.schema[k])).otherwise(pl.col(k)).alias(k)
        for k, v in values.items()])


def _inequality(bundle):
    found = {f.key: f for f in key_findings(
        bundle.indicators, icb_code=bundle.config.icb_code, places=bundle.places,
        period=bundle.headline_period, place_name=bundle.config.place_name,
        england=bundle.england())}
    return found["inequality"]


def _flat(bundle) -> pl.DataFrame:
    """Every SII of the bundle made not significant (its interval across zero), so that
    only the gradients a test sets can be findings."""
    frame = bundle.indicators
    sii = (pl.col("breakdown") == "imd_quintile") & (pl.col("breakdown_value") == "SII")
    return frame.with_columns(
        pl.when(sii).then(pl.lit(-1.0)).otherwise(pl.col("lower_ci_95")).alias("lower_ci_95"),
        pl.when(sii).then(pl.lit(1.0)).otherwise(pl.col("upper_ci_95")).alias("upper_ci_95"))


def test_steepness_is_judged_on_the_ratio_scale_so_half_is_as_steep_as_double():
    """RII 0.5 (the least deprived end half the most deprived) is a steeper gradient
    than RII 1.6: |log 0.5| = 0.69 > |log 1.6| = 0.47 (|RII - 1| put 1.6 first)."""
    bundle = make_bundle()
    icb = bundle.config.icb_code
    frame = _flat(bundle)
    frame = _summary(frame, "diupr_pct", icb, "SII", value=20.0, lower_ci_95=10.0,
                     upper_ci_95=30.0, suppressed=False)
    frame = _summary(frame, "diupr_pct", icb, "RII", value=1.6, suppressed=False)
    frame = _summary(frame, "pod_hospital_pct", icb, "SII", value=-15.0, lower_ci_95=-25.0,
                     upper_ci_95=-5.0, suppressed=False)
    frame = _summary(frame, "pod_hospital_pct", icb, "RII", value=0.5, suppressed=False)
    bundle.indicators = frame
    more = _inequality(bundle).more  # the evidence, in the Inequalities section
    first, second = more[:2]
    assert first.startswith("Deaths in hospital higher in more deprived areas (worse)"), more
    assert second.startswith("Deaths in usual place of residence lower in more deprived")


def test_the_gap_is_said_without_a_sign_and_the_places_are_named():
    bundle = make_bundle()
    icb = bundle.config.icb_code
    hartside, middleford, redcar = bundle.places
    frame = _flat(bundle)
    # ICB: SII -30.0 (quintile 1, most deprived, at the left): higher in more deprived
    # areas by a modelled 30.0 percentage points; said as a gap, without the sign.
    frame = _summary(frame, "diupr_pct", icb, "SII", value=-30.0, lower_ci_95=-40.0,
                     upper_ci_95=-20.0, suppressed=False)
    frame = _summary(frame, "diupr_pct", icb, "RII", value=0.3, suppressed=False)
    # Hartside's own gradient is significant the same way; Middleford's interval crosses
    # zero; Redcar Vale's is significant the other way: only Hartside is named.
    frame = _summary(frame, "diupr_pct", hartside, "SII", value=-25.0, lower_ci_95=-35.0,
                     upper_ci_95=-15.0, suppressed=False)
    frame = _summary(frame, "diupr_pct", middleford, "SII", value=-10.0, lower_ci_95=-30.0,
                     upper_ci_95=5.0, suppressed=False)
    frame = _summary(frame, "diupr_pct", redcar, "SII", value=5.0, lower_ci_95=1.0,
                     upper_ci_95=9.0, suppressed=False)
    bundle.indicators = frame
    part = next(p for p in _inequality(bundle).more
                if p.startswith("Deaths in usual place of residence"))
    assert ("a modelled gap of 30.0 percentage points between the most and the least "
            "deprived, significant in Hartside") in part, part
    assert "Middleford" not in part and "Redcar Vale" not in part

    # A suppressed Place SII names nothing; with none significant, the finding says so.
    bundle.indicators = _summary(frame, "diupr_pct", hartside, "SII", value=None,
                                 lower_ci_95=None, upper_ci_95=None, suppressed=True)
    part = next(p for p in _inequality(bundle).more
                if p.startswith("Deaths in usual place of residence"))
    assert "not significant in any Place on its own" in part


_headline = set_headline_row


def test_who_is_missing_from_the_register_says_how_many_and_where():
    """The lowest share is named with the number of people it misses; where another
    Place misses more people (a larger Place with a better share), it is named too."""
    bundle = make_bundle()
    hartside, middleford, redcar = bundle.places
    frame = bundle.indicators
    frame = _headline(frame, "on_register_need_pct", hartside, value=30.0, lower_ci_95=27.0,
                      upper_ci_95=33.0, comparison="lower", suppressed=False)
    frame = _headline(frame, "on_register_need_pct", middleford, value=45.0,
                      lower_ci_95=43.0, upper_ci_95=47.0, suppressed=False)
    frame = _headline(frame, "on_register_need_pct", redcar, value=46.0, lower_ci_95=44.0,
                      upper_ci_95=48.0, suppressed=False)
    frame = _headline(frame, "unidentified_need", hartside, value=412.0, numerator=412.0,
                      suppressed=False)
    frame = _headline(frame, "unidentified_need", middleford, value=650.0, numerator=650.0,
                      suppressed=False)
    frame = _headline(frame, "unidentified_need", redcar, value=1210.0, numerator=1210.0,
                      suppressed=False)
    bundle.indicators = frame
    found = {f.key: f for f in key_findings(
        bundle.indicators, icb_code=bundle.config.icb_code, places=bundle.places,
        period=bundle.headline_period, place_name=bundle.config.place_name,
        england=bundle.england())}["register_gap"]
    assert ("Lowest: Hartside, 30.0%, significantly lower than the "
            "ICB (worse); 412 people with needs there were not on a register.") in found.detail
    assert "Most people not identified: Redcar Vale, 1,210." in found.detail

    # Hartside's count suppressed: its share is still named, its count is not.
    bundle.indicators = _headline(frame, "unidentified_need", hartside, value=None,
                                  numerator=None, suppressed=True)
    found = {f.key: f for f in key_findings(
        bundle.indicators, icb_code=bundle.config.icb_code, places=bundle.places,
        period=bundle.headline_period, place_name=bundle.config.place_name,
        england=bundle.england())}["register_gap"]
    assert "Lowest: Hartside, 30.0%" in found.detail
    assert "people with needs there" not in found.detail


# --- The card: who, where, how many people; the indices in the Inequalities section ---

def _gradient(frame: pl.DataFrame, ind: str, area: str, *, sii: tuple[float, float, float],
              rii: float, most: tuple[float, float] | None = None,
              least: float | None = None) -> pl.DataFrame:
    """Set an area's SII (value, lower, upper) and RII, and where given the most
    deprived fifth's (value %, deaths) and the least deprived fifth's value %."""
    frame = _summary(frame, ind, area, "SII", value=sii[0], lower_ci_95=sii[1],
                     upper_ci_95=sii[2], suppressed=False)
    frame = _summary(frame, ind, area, "RII", value=rii, suppressed=False)
    if most is not None:
        frame = _summary(frame, ind, area, "1", value=most[0], denominator=most[1],
                         numerator=most[0] * most[1] / 100, suppressed=False)
    if least is not None:
        frame = _summary(frame, ind, area, "5", value=least, suppressed=False)
    return frame


def test_the_card_says_who_how_many_people_and_where():
    """Known answer: specialist palliative care 30.0% of 1,000 deaths in the most
    deprived fifth against 50.0% in the least: (50 - 30)% x 1,000 = 200 fewer people. It
    is the only significant gradient, and significant on its own in Hartside only."""
    bundle = make_bundle()
    icb = bundle.config.icb_code
    hartside = bundle.places[0]
    frame = _flat(bundle)
    frame = _gradient(frame, "spc_last_year_pct", icb, sii=(20.0, 10.0, 30.0), rii=1.8,
                      most=(30.0, 1000.0), least=50.0)
    frame = _gradient(frame, "spc_last_year_pct", hartside, sii=(22.0, 5.0, 39.0), rii=1.9)
    bundle.indicators = frame
    found = _inequality(bundle)
    assert found.headline == ("In the most deprived areas, about 200 fewer people had "
                              "specialist palliative care")
    assert found.detail == (
        "In the most deprived fifth of neighbourhoods, 30.0% of the 1,000 people who died "
        "had specialist palliative care in their last year of life, against 50.0% in the "
        "least deprived fifth: about 200 fewer people than at that rate. The gap is "
        "significant (unlikely to be chance) in Hartside.")
    assert found.section == "inequalities" and len(found.more) == 1

    # A second gradient, worse for the most deprived and costing more people (deaths in
    # hospital 60% of 1,000 against 30%: 300 more), leads; the first is named after it.
    frame = _gradient(frame, "pod_hospital_pct", icb, sii=(-30.0, -40.0, -20.0), rii=0.5,
                      most=(60.0, 1000.0), least=30.0)
    bundle.indicators = frame
    found = _inequality(bundle)
    assert found.headline == "In the most deprived areas, about 300 more people died in hospital"
    assert "60.0% of the 1,000 deaths were in hospital, against 30.0%" in found.detail
    assert found.detail.endswith(
        "The gap is significant across the ICB, not in any Place on its own. Also worse "
        "for them: specialist palliative care contact in the last year of life.")


def test_a_hidden_end_of_the_gradient_gives_no_count_of_people():
    """The most deprived fifth's value suppressed: the card names the measure without a
    number of people, and nothing of the hidden value; a difference rounding below 10
    people is no headline number either."""
    bundle = make_bundle()
    icb = bundle.config.icb_code
    frame = _flat(bundle)
    frame = _gradient(frame, "spc_last_year_pct", icb, sii=(20.0, 10.0, 30.0), rii=1.8,
                      most=(30.0, 1000.0), least=50.0)
    hidden = _summary(frame, "spc_last_year_pct", icb, "1", value=None, numerator=None,
                      denominator=None, lower_ci_95=None, upper_ci_95=None, suppressed=True)
    bundle.indicators = hidden
    found = _inequality(bundle)
    assert found.headline == ("People in the most deprived areas fare worse on specialist "
                              "palliative care contact in the last year of life")
    card = found.headline + " " + found.detail
    assert "30.0" not in card and "1,000" not in card and "about" not in card

    # 30.5% against 31.0% of 1,000: 5 people, below a headline's 10.
    bundle.indicators = _gradient(frame, "spc_last_year_pct", icb, sii=(20.0, 10.0, 30.0),
                                  rii=1.8, most=(30.5, 1000.0), least=31.0)
    assert _inequality(bundle).headline.startswith(
        "People in the most deprived areas fare worse on ")


def test_no_gradient_worse_for_the_most_deprived_is_said_so():
    bundle = make_bundle()
    frame = _flat(bundle)
    # Specialist palliative care higher in more deprived areas: better for them.
    bundle.indicators = _gradient(frame, "spc_last_year_pct", bundle.config.icb_code,
                                  sii=(-20.0, -30.0, -10.0), rii=0.6)
    found = _inequality(bundle)
    assert found.headline == "No measure is significantly worse in more deprived areas"
    assert found.detail == ("1 measure differs by deprivation across the ICB, none to the "
                            "disadvantage of more deprived areas.")


def test_the_sample_card_is_short_and_its_indices_are_in_the_section_it_links_to(
        assessed_sample):
    """On the report `assess` writes for the sample: the card is a headline of at most
    80 characters and a detail of at most 450, with no SII, RII or interval; its link
    opens the Inequalities section's list of the significant gradients, one per ICB SII
    whose interval excludes zero in the indicator table, each with SII, interval, RII."""
    import html
    import re

    page = (assessed_sample.out_dir / "report.html").read_text(encoding="utf-8")
    card = re.search(r'<li class="finding" id="finding-inequality">(.*?)</li>', page, re.S)
    assert card is not None

    def text(pattern: str) -> str:
        return " ".join(html.unescape(re.search(pattern, card.group(1), re.S).group(1))  # type: ignore[union-attr]
                        .split())

    headline, detail = text(r'class="finding-h">(.*?)</p>'), text(r'class="finding-d">(.*?)</p>')
    assert len(headline) <= 80 and len(detail) <= 450, (headline, detail)
    assert headline.startswith("In the most deprived areas, about ")
    for word in ("SII", "RII", "CI", "interval"):
        assert word not in headline + detail, word
    assert 'href="#inequalities-steepest"' in card.group(1)

    section = page.split('<section class="major" id="inequalities"', 1)[1].split("</section>", 1)[0]
    assert 'id="inequalities-steepest"' in section
    items = re.findall(r"<li>(.*?)</li>", section.split('<ul class="gradients">', 1)[1]
                       .split("</ul>", 1)[0], re.S)
    icb = assessed_sample.bundle.config.icb_code
    significant = assessed_sample.indicators.filter(
        (pl.col("period") == assessed_sample.headline_period) & (pl.col("area_code") == icb)
        & (pl.col("breakdown_value") == "SII") & ~pl.col("suppressed")
        & ((pl.col("lower_ci_95") > 0) | (pl.col("upper_ci_95") < 0)))
    assert len(items) == significant.height >= 1
    for item in items:
        assert "SII" in item and "95% CI" in item and "RII" in item, item

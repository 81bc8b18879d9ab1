"""A Place's pack says what stands out in THAT Place (findings.place_findings): its own
headline measures against the ICB and England, who is missing out within it and what
its hospital care cost, before the ICB's key findings; from published figures only.
And a pack refers only to what it holds: every sheet, note and topic a cell points to
is in the workbook, and no cell sends the reader to a section of the HTML report.
Known answers on the hand-built bundle (tests/report_fixtures.py), set here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from report_fixtures import make_bundle, set_headline_row

from eolneeds import report_excel
from eolneeds.findings import findings_builder
from eolneeds.formatting import BREAKDOWN_LABELS
from eolneeds.report_html import build_context

HEADLINE = ("dsr_all_cause", "pc_need_pct", "pod_hospital_pct", "diupr_pct",
            "on_register_need_pct", "ea_last90_3plus_pct")


def _known_bundle():
    """Middleford: deaths in hospital 47.5% against the ICB's 44.0%, significantly
    higher (lower is better: worse); deaths in usual place of residence 52.0% against
    48.0%, higher (better); palliative care need 70.0% against 75.0%, lower (no better
    direction); the other three headline measures similar."""
    bundle = make_bundle()
    middleford = bundle.places[1]
    frame = bundle.indicators
    for place in bundle.places:
        for ind in HEADLINE:
            frame = set_headline_row(frame, ind, place, comparison="similar")
    for ind, icb, own, comparison in (("pod_hospital_pct", 44.0, 47.5, "higher"),
                                      ("diupr_pct", 48.0, 52.0, "higher"),
                                      ("pc_need_pct", 75.0, 70.0, "lower")):
        frame = set_headline_row(frame, ind, "QXX", value=icb)
        frame = set_headline_row(frame, ind, middleford, value=own, comparison=comparison)
    bundle.indicators = frame
    return bundle, middleford


def _own(bundle, place):
    config = bundle.config
    return {f.key: f for f in findings_builder(bundle, config.place_name).place_findings(place)}


def test_a_place_is_told_what_stands_out_in_it_against_the_icb() -> None:
    bundle, middleford = _known_bundle()
    found = _own(bundle, middleford)["place_versus_icb"]
    assert found.question == "What stands out in Middleford?"
    assert found.headline == ("Middleford is worse than the ICB on 1 of 6 headline measures "
                              "and better on 1")
    assert found.detail == (
        "Worse: deaths in hospital 47.5% against the ICB's 44.0%. "
        "Better: deaths in usual place of residence 52.0% against the ICB's 48.0%. "
        "Different, with no better direction: deaths from conditions indicating "
        "palliative care need 70.0% against the ICB's 75.0% (lower). "
        "Counted where the difference is significant (unlikely to be chance, 95% "
        "confidence).")


def test_a_hidden_value_is_never_named_compared_or_counted_in_a_places_findings() -> None:
    bundle, middleford = _known_bundle()
    bundle.indicators = set_headline_row(
        bundle.indicators, "pod_hospital_pct", middleford, value=None, lower_ci_95=None,
        upper_ci_95=None, numerator=None, suppressed=True)
    own = _own(bundle, middleford)
    found = own["place_versus_icb"]
    assert found.headline == "Middleford is better than the ICB on 1 of 5 headline measures"
    said = " ".join(f.headline + " " + f.detail for f in own.values())
    assert "47.5" not in said
    # Its gradient by deprivation, a published slope index, may still be named.
    compared = " ".join(own[k].detail for k in ("place_versus_icb", "place_versus_england"))
    assert "deaths in hospital" not in compared


def test_a_places_pack_opens_with_its_own_findings_then_the_icbs(tmp_path: Path) -> None:
    bundle, middleford = _known_bundle()
    report = [v.finding for v in build_context(bundle).findings]
    own = list(_own(bundle, middleford).values())
    assert own and own[0].key == "place_versus_icb"
    place_pack, icb_pack = tmp_path / "place.xlsx", tmp_path / "icb.xlsx"
    report_excel.write_excel_packs(bundle, [(place_pack, middleford), (icb_pack, None)])
    for path, expected in ((place_pack, own + report), (icb_pack, report)):
        wb = load_workbook(path)
        ws = wb["Key_findings"]
        header_row = next(r for r in range(1, 20) if ws.cell(r, 1).value == "Question")
        rows = [(ws.cell(r, 1).value, ws.cell(r, 2).value, ws.cell(r, 3).value)
                for r in range(header_row + 1, ws.max_row + 1) if ws.cell(r, 1).value]
        assert rows == [(f.question, f.headline, f.detail_for(None)) for f in expected]
    # The ICB's pack has no Place's own findings; Middleford's has no other Place's.
    icb_text = " ".join(str(c.value) for row in load_workbook(icb_pack)["Key_findings"]
                        for c in row if c.value)
    assert "What stands out in" not in icb_text
    place_text = " ".join(str(c.value) for row in load_workbook(place_pack)["Key_findings"]
                          for c in row if c.value)
    assert "What stands out in Middleford?" in place_text
    assert "What stands out in Hartside" not in place_text


# --- cross-references ------------------------------------------------------------------

#: Words that begin a sentence before 'sheet' without naming one ('Each sheet holds...').
_NOT_NAMES = {"Each", "This"}


def cross_reference_faults(wb) -> list[str]:
    """Every pointer a cell makes to elsewhere, checked against the workbook itself:
    '[note N]' to a note on the Notes sheet; 'the X sheet' to a sheet; '(see ...)' and
    'see ...' to a sheet or a Notes topic; internal hyperlinks to a sheet. A section
    or question of the HTML report is not in a workbook, so it is never referred to."""
    sheets = set(wb.sheetnames)
    notes_rows = [r for r in wb["Notes"].iter_rows(values_only=True)
                  if isinstance(r[0], str) and r[0].startswith("[note")]
    notes = {r[0] for r in notes_rows}
    topics = [str(r[1]) for r in notes_rows]
    faults = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                link = cell.hyperlink
                if link is not None and link.location:
                    target = link.location.split("!")[0].strip("'")
                    if target not in sheets:
                        faults.append(f"{ws.title}!{cell.coordinate}: link to {target}")
                text = cell.value
                if not isinstance(text, str):
                    continue
                where = f"{ws.title}!{cell.coordinate}"
                for note in re.findall(r"\[note \d+\]", text):
                    if note not in notes:
                        faults.append(f"{where}: {note}")
                for name in re.findall(r"\b(\w+) sheets?\b", text):
                    if name[:1].isupper() and name not in _NOT_NAMES and name not in sheets:
                        faults.append(f"{where}: the {name} sheet")
                for pointer in re.findall(r"\bsee ([^).;]+)", text):
                    named = re.findall(r"\b(\w+) sheet\b", pointer)
                    topic = pointer.strip().strip("'")
                    if not (named and all(n in sheets for n in named)) \
                            and not any(t.startswith(topic) for t in topics):
                        faults.append(f"{where}: see {pointer}")
                for section in re.findall(r"\b(?:the [\w ]+ section|question \d+)\b", text,
                                          flags=re.I):
                    faults.append(f"{where}: {section}")
    return faults


def _many_places_differ_from_england(bundle):
    """All three Places differ from England: the key findings' England card names two
    and counts the third (where the report points to its England section)."""
    for place in bundle.places:
        bundle.indicators = set_headline_row(bundle.indicators, "pod_hospital_pct", place,
                                             value=71.5, lower_ci_95=69.0, upper_ci_95=74.0)
    return bundle


def test_every_cross_reference_in_every_pack_is_to_something_the_pack_holds(
        tmp_path: Path) -> None:
    bundle = _many_places_differ_from_england(make_bundle())
    england = next(v.finding for v in build_context(bundle).findings
                   if v.finding.key == "versus_england")
    assert "(see the England section)" in england.detail  # the report's own pointer
    targets = [(tmp_path / "icb.xlsx", None)] + [
        (tmp_path / f"{code}.xlsx", code) for code in bundle.places]
    report_excel.write_excel_packs(bundle, targets)
    for path, _ in targets:
        wb = load_workbook(path)
        assert cross_reference_faults(wb) == [], path.name
        text = " ".join(str(c.value) for row in wb["Key_findings"] for c in row if c.value)
        assert "and 1 more Place." in text  # counted, with no pointer out of the pack


@pytest.mark.parametrize("pack", ["pack-icb.xlsx", "first-place"])
def test_the_sample_packs_refer_only_to_what_they_hold(assessed_sample, pack) -> None:
    if pack == "first-place":
        pack = f"pack-{assessed_sample.bundle.places[0].lower()}.xlsx"
    wb = load_workbook(assessed_sample.out_dir / pack)
    assert cross_reference_faults(wb) == []


# --- where the suppressed values are ---------------------------------------------------


def test_the_suppression_tally_by_breakdown_is_worked_from_the_table() -> None:
    """Known answer: 10 GP practice rows with 6 hidden, 8 ethnic group rows with 2, 5
    quintile rows with 1, 4 sex rows with 1, 3 totals with none: the three breakdowns
    hiding most are named, the rest summed, and the totals said whole."""
    import polars as pl

    from eolneeds.bundle import suppression_tally

    spec = [("gp_practice", 10, 6), ("ethnic_group", 8, 2), ("imd_quintile", 5, 1),
            ("sex", 4, 1), ("all", 3, 0)]
    frame = pl.DataFrame(
        {"breakdown": [b for b, rows, _ in spec for _ in range(rows)],
         "suppressed": [i < hidden for _, rows, hidden in spec for i in range(rows)],
         "note": [None] * 30}, schema={"breakdown": pl.String, "suppressed": pl.Boolean,
                                       "note": pl.String})
    tally = suppression_tally(frame)
    assert tally.suppressed == 10
    assert tally.where_sentence() == (
        "Suppressed values by breakdown: GP practice 6 of 10; ethnic group 2 of 8; "
        "deprivation quintile 1 of 5; other breakdowns 1 of 4; all people (the totals) "
        "0 of 3.")
    assert suppression_tally(frame.with_columns(pl.lit(False).alias("suppressed"))
                             ).where_sentence() == ""


def test_the_sample_says_where_its_suppressed_values_are(assessed_sample) -> None:
    """The report and every pack say which breakdowns hold the hidden values, in numbers
    that are the table's own."""
    import polars as pl

    def stated(text: str) -> dict[str, tuple[int, int]]:
        found = re.search(r"Suppressed values by breakdown: (.*?)\.(?: |$)", text)
        assert found, text[:300]
        return {name.strip(): (int(n.replace(",", "")), int(rows.replace(",", "")))
                for name, n, rows in re.findall(r"([^;]+?) ([\d,]+) of ([\d,]+)",
                                                found.group(1))}

    def table_counts(frame: pl.DataFrame) -> dict[str, tuple[int, int]]:
        return {b: (int(n), int(rows)) for b, n, rows in frame.group_by("breakdown").agg(
            pl.col("suppressed").sum(), pl.len()).iter_rows()}

    counts = table_counts(assessed_sample.indicators)
    html = (assessed_sample.out_dir / "report.html").read_text(encoding="utf-8")
    said = stated(re.sub(r"<[^>]+>", " ", html))
    assert said.pop("all people (the totals)") == counts.pop("all")
    other = said.pop("other breakdowns", (0, 0))
    words = {v.lower(): k for k, v in BREAKDOWN_LABELS.items()}
    named = {words[name.lower()]: n for name, n in said.items()}
    assert named and all(counts[b] == n for b, n in named.items())
    # The breakdowns named are those hiding the most; the rest are summed.
    assert min(n for n, _ in named.values()) >= max(
        (n for b, (n, _) in counts.items() if b not in named), default=0)
    rest = [v for b, v in counts.items() if b not in named]
    assert other == ((sum(n for n, _ in rest), sum(r for _, r in rest))
                     if any(n for n, _ in rest) else (0, 0))
    said = stated(re.sub(r"<[^>]+>", " ", html))
    icb = load_workbook(assessed_sample.out_dir / "pack-icb.xlsx", read_only=True)
    try:
        cover = " ".join(str(r[0]) for r in icb["Cover"].iter_rows(values_only=True) if r[0])
    finally:
        icb.close()
    assert stated(cover) == said

"""The HTML report (eolneeds.report_html): self-contained, accessible, escaped, and it
renders in a real browser with no console errors and no network requests."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest
from report_fixtures import make_bundle

from eolneeds import report_html
from eolneeds.report_html import period_kind, render_html, write_html_report

PLACES = [
    ("E06000001", "Hartside"),
    ("E06000002", "Middleford"),
    ("E06000003", "Redcar Vale"),
    ("E06000004", "Northmoor"),
    ("E06000005", "St Albright & Coastal"),
]

URL_ATTRIBUTES = {"src", "href", "xlink:href", "action", "poster", "srcset", "data",
                  "formaction", "background", "cite", "longdesc", "manifest"}


class ReportParser(HTMLParser):
    """Collects what the structural checks need from the page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.headings: list[tuple[int, str]] = []
        self.ids: list[str] = []
        self.url_values: list[tuple[str, str, str]] = []
        self.styles: list[str] = []
        self.tables = 0
        self.captions = 0
        self.svgs: list[dict[str, str | None]] = []
        self.svg_titles: set[str] = set()
        self.tags: list[str] = []
        self.th_without_scope = 0
        self.html_lang: str | None = None
        self._heading: list[str] | None = None
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append(tag)
        if tag == "html":
            self.html_lang = attributes.get("lang")
        if "id" in attributes and attributes["id"] is not None:
            self.ids.append(attributes["id"])
        for name, value in attrs:
            if name in URL_ATTRIBUTES and value is not None:
                self.url_values.append((tag, name, value))
            if name == "style" and value:
                self.styles.append(value)
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = [tag]
        if tag == "table":
            self.tables += 1
        if tag == "caption":
            self.captions += 1
        if tag == "th" and attributes.get("scope") not in ("col", "row", "colgroup",
                                                            "rowgroup"):
            self.th_without_scope += 1
        if tag == "svg":
            self.svgs.append(attributes)
        if tag == "title" and "svg" in self.stack and attributes.get("id"):
            self.svg_titles.add(attributes["id"])  # type: ignore[arg-type]
        if tag == "style":
            self._in_style = True
        if tag not in ("meta", "link", "br", "img", "input", "hr", "path", "use", "rect"):
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.headings.append((int(tag[1]), "".join(self._heading[1:]).strip()))
            self._heading = None
        if tag == "style":
            self._in_style = False
        while self.stack:
            if self.stack.pop() == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)
        if self._in_style:
            self.styles.append(data)


def parse(html: str) -> ReportParser:
    parser = ReportParser()
    parser.feed(html)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The five-Place report, rendered once for the module."""
    out = tmp_path_factory.mktemp("report") / "report.html"
    bundle = make_bundle(places=PLACES)
    write_html_report(bundle, out)
    return out, out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def parsed(report: tuple[Path, str]) -> ReportParser:
    return parse(report[1])


# --- self-contained ---------------------------------------------------------------------


def test_no_external_reference(report: tuple[Path, str], parsed: ReportParser) -> None:
    html = report[1]
    assert "http" not in html.lower()
    assert "//" not in html
    for tag, name, value in parsed.url_values:
        assert value.startswith(("#", "data:")), f"<{tag} {name}={value!r}> points outside"
    for css in parsed.styles:
        for target in re.findall(r"url\(\s*['\"]?([^'\")]*)", css):
            assert target.startswith(("#", "data:")), f"url({target}) points outside"
    assert "@import" not in html
    assert not {"script", "iframe", "object", "embed", "link", "img"} & set(parsed.tags)


def test_one_h1_and_headings_never_skip_a_level(parsed: ReportParser) -> None:
    levels = [level for level, _ in parsed.headings]
    assert levels.count(1) == 1 and levels[0] == 1
    for (before, _), (after, text) in zip(parsed.headings, parsed.headings[1:], strict=False):
        assert after <= before + 1, f"heading {text!r} jumps from h{before} to h{after}"


def test_every_table_has_a_caption_and_scoped_headers(parsed: ReportParser) -> None:
    assert parsed.tables > 20
    assert parsed.captions == parsed.tables
    assert parsed.th_without_scope == 0


def test_every_svg_is_labelled(parsed: ReportParser) -> None:
    assert len(parsed.svgs) >= 5 * len(PLACES)
    for svg in parsed.svgs:
        assert svg.get("role") == "img"
        labelled_by = (svg.get("aria-labelledby") or "").split()
        assert labelled_by, svg.get("id")
        assert labelled_by[0] in parsed.svg_titles


def test_ids_are_unique(parsed: ReportParser) -> None:
    duplicates = {i for i in parsed.ids if parsed.ids.count(i) > 1}
    assert not duplicates


def test_language_and_skip_link(report: tuple[Path, str], parsed: ReportParser) -> None:
    assert parsed.html_lang == "en-GB"
    assert '<a class="skip-link" href="#main">' in report[1]
    assert 'id="main"' in report[1]


def test_a_section_per_place_answering_the_seven_questions(
    report: tuple[Path, str], parsed: ReportParser
) -> None:
    html = report[1]
    h2 = [text for level, text in parsed.headings if level == 2]
    for code, name in PLACES:
        anchor = f"place-{code.lower()}"
        assert f'<section class="place major" id="{anchor}"' in html
        assert any(text.endswith(name) for text in h2), name
        for key in ("deaths", "need", "place", "identification", "hospital", "inequality",
                    "quality"):
            assert f'id="{anchor}-{key}"' in html
    # Place names are escaped like any input ('&' in "St Albright & Coastal").
    assert "St Albright &amp; Coastal" in html


def test_main_sections_present(parsed: ReportParser) -> None:
    h2 = [text for level, text in parsed.headings if level == 2]
    for title in ("ICB overview", "Inequalities", "Projections to 2040",
                  "Monthly trends (statistical process control)", "Data quality",
                  "Definitions and methods", "Sources and provenance"):
        assert title in h2


def test_charts_have_a_text_alternative_and_their_numbers(report: tuple[Path, str]) -> None:
    html = report[1]
    figures = html.count('<figure class="chart-figure"')
    assert figures == html.count('<p class="chart-summary">')
    assert figures == html.count("<summary>Show the numbers behind this chart</summary>")


def test_suppression_rule_is_explained_and_suppressed_values_show_a_star(
    report: tuple[Path, str],
) -> None:
    html = report[1]
    assert html.count("Counts from 1 to 7 are suppressed and shown as *") == 1
    # The fixture suppresses small cause groups; such cells read '*', never a number.
    assert re.search(r'<td class="num">\*</td>', html)
    assert "count of 1 to 7: " in html  # the tally names the rule and its count


def test_comparisons_are_words_not_colour_alone(report: tuple[Path, str]) -> None:
    html = report[1]
    for css, word in (("cmp-better", "better"), ("cmp-worse", "worse")):
        cells = re.findall(rf'<td class="num cmp {css}">(.*?)</td>', html)
        assert cells and all(word in cell for cell in cells)


def test_definitions_from_the_catalogue_and_methods(report: tuple[Path, str]) -> None:
    html = report[1]
    from eolneeds.catalogue import load_catalogue

    for indicator in load_catalogue():
        assert f'id="def-{indicator.id}"' in html
    assert "Wilson score" in html  # methods.METHOD_DESCRIPTIONS
    assert "Making Data Count" in html


def test_manifest_in_the_footer(report: tuple[Path, str]) -> None:
    html = report[1]
    assert "deaths_2022_2025.csv" in html
    assert "0f" * 32 in html  # the input file's hash
    assert "eolneeds 0.1.0" in html


def test_spc_meaning_written_out(report: tuple[Path, str]) -> None:
    html = report[1]
    assert "What the latest month shows:" in html
    # The fixture steps the percentages up for the last 8 months: a shift, so some
    # indicator shows special cause variation, described in words.
    assert "Special cause variation" in html


# --- escaping -----------------------------------------------------------------------------


HOSTILE_PLACE = ("<script>alert(1)</script>", "<script>alert(2)</script> Vale")


@pytest.fixture(scope="module")
def hostile_outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A one-Place report whose Place code and name (and notes, ICB name and data-quality
    values) hold markup, written twice."""
    folder = tmp_path_factory.mktemp("hostile")
    bundle = make_bundle(places=[HOSTILE_PLACE], hostile=True)
    first, second = folder / "a.html", folder / "b.html"
    write_html_report(bundle, first)
    write_html_report(bundle, second)
    return first, second


def test_markup_in_place_names_and_codes_is_inert(hostile_outputs: tuple[Path, Path]) -> None:
    html = hostile_outputs[0].read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the code, shown as text
    assert "&lt;script&gt;alert(2)&lt;/script&gt; Vale" in html  # the name, shown as text
    parser = parse(html)
    assert "script" not in parser.tags
    # The hostile code reaches element ids only in a sanitised form.
    assert all(re.fullmatch(r"[A-Za-z0-9_.:-]+", i) for i in parser.ids)


# --- reproducibility and writing ------------------------------------------------------------


def test_same_bundle_gives_byte_identical_html(hostile_outputs: tuple[Path, Path]) -> None:
    first, second = hostile_outputs
    assert first.read_bytes() == second.read_bytes()
    assert sorted(p.name for p in first.parent.iterdir()) == ["a.html", "b.html"]  # no temps


def test_missing_indicators_degrade_gracefully() -> None:
    """A run without register or activity data still renders (those answers say so)."""
    bundle = make_bundle(places=PLACES[:2])
    keep = ("deaths", "dsr_all_cause", "pod_home_pct", "pod_hospital_pct")
    frame = bundle.indicators.filter(bundle.indicators["indicator_id"].is_in(keep))
    html = render_html(replace(bundle, indicators=frame, data_quality=[],
                               manifest={}))
    parser = parse(html)
    assert [level for level, _ in parser.headings].count(1) == 1
    assert "No projections were produced" in html
    assert "No data-quality tables were supplied" in html


@pytest.mark.parametrize(
    ("period", "kind"),
    [("2024-25", "financial_year"), ("2024-12", "month"), ("2030", "year"),
     ("2024-11 to 2025-10", "rolling")],
)
def test_period_kind(period: str, kind: str) -> None:
    assert period_kind(period) == kind


def test_period_kind_uses_dates_when_labels_are_ambiguous() -> None:
    from datetime import date

    # '2011-12' is both December 2011 and the financial year 2011-12.
    assert period_kind("2011-12", date(2011, 12, 1), date(2011, 12, 31)) == "month"
    assert period_kind("2011-12", date(2011, 4, 1), date(2012, 3, 31)) == "financial_year"


def test_assessment_words() -> None:
    assert report_html.assessment("higher", "higher_is_better") == "better"
    assert report_html.assessment("higher", "lower_is_better") == "worse"
    assert report_html.assessment("lower", "neutral") == "lower"
    assert report_html.assessment("similar", "lower_is_better") == "similar"
    assert report_html.assessment(None, "lower_is_better") == "not_compared"


# --- a real browser ---------------------------------------------------------------------------


@pytest.mark.browser
def test_renders_in_headless_chromium_offline(report: tuple[Path, str], tmp_path: Path) -> None:
    from browser import Browser, require_chromium

    require_chromium()
    path = report[0]
    with Browser(width=1280, height=900) as browser:
        page = browser.open(path)
        assert page.console_errors == []
        assert page.exceptions == []
        assert page.log_errors == []
        assert page.requests, "the browser should have recorded the page request itself"
        assert page.external_requests == []
        # Every chart laid out with a real size (the SVGs parsed as SVG, not text).
        sizes = browser.evaluate(
            "Array.from(document.querySelectorAll('svg.chart'))"
            ".map(s => [s.getBoundingClientRect().width, s.getBoundingClientRect().height])")
        assert sizes and all(w > 300 and h > 50 for w, h in sizes)
        png = browser.screenshot()
        pdf = browser.print_pdf()
    screenshot = tmp_path / "report.png"
    screenshot.write_bytes(png)
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    # Each Place starts a new page, so there are comfortably more pages than Places.
    assert pages > len(PLACES) + 5


def test_suppression_rules_are_counted_one_by_one():
    """Each hidden value counts once, under the first disclosure rule its note names
    ("suppressed: ..." or "withheld: ..."); notes that only describe a value
    ("unreliable: ...") are not rules, and the rules add up to the hidden values."""
    from eolneeds.bundle import suppression_tally

    bundle = make_bundle()
    frame = bundle.indicators
    notes = ["unreliable: few; suppressed: rule a", "suppressed: rule a; withheld: b",
             "withheld: b", "unreliable: few", None]
    rows = frame.head(len(notes)).with_columns(
        pl.Series("suppressed", [True, True, True, False, False]), pl.Series("note", notes))
    tally = suppression_tally(rows)
    assert (tally.values, tally.suppressed) == (5, 3)
    assert tally.by_rule == (("rule a", 2), ("withheld, b", 1))
    assert tally.sentence() == ("3 of the 5 values in the indicator table are suppressed "
                                "(shown as *), by rule: rule a: 2; withheld, b: 1.")

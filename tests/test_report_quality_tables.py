"""The report's data-quality tables read as the packs' do: a count DuckDB summed (a
128-bit integer, which arrives as a polars Decimal) is a formatted number, not '3720';
headers spell acronyms as acronyms ('LSOAs', not 'Lsoas')."""

from __future__ import annotations

import html
import re
from decimal import Decimal

import polars as pl
from report_fixtures import make_bundle

from eolneeds.bundle import DataQualityTable
from eolneeds.formatting import column_header, fmt_cell
from eolneeds.report_html import render_html


def test_fmt_cell_formats_a_decimal_count_like_an_integer():
    assert fmt_cell(Decimal(3720)) == "3,720"
    assert fmt_cell(Decimal("12.5")) == "12.5"
    assert column_header("lsoa_vintage") == "LSOA vintage"
    assert column_header("lsoas") == "LSOAs"
    assert column_header("complete_pct") == "Complete %"
    assert column_header("extra_rows") == "Extra rows"


def test_the_report_shows_duckdb_sums_as_numbers_and_acronyms_as_acronyms():
    bundle = make_bundle()
    bundle.data_quality = [*bundle.data_quality, DataQualityTable(
        key="areas_by_place", title="Areas and population by Place",
        description="LSOAs and latest-year population per Place.",
        frame=pl.DataFrame({
            "place": ["E06000001"], "lsoas": [96],
            "extra_rows": pl.Series([Decimal(3720)], dtype=pl.Decimal(38, 0)),
            "population": [157142.0]}))]
    page = render_html(bundle)
    start = page.index("<caption>Areas and population by Place")
    table = page[start:page.index("</table>", start)]
    cells = [" ".join(html.unescape(re.sub(r"<[^>]+>", "", c)).split())
             for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", table, re.S)]
    assert cells[:4] == ["Place", "LSOAs", "Extra rows", "Population"], cells
    assert cells[4:] == ["E06000001", "96", "3,720", "157,142"], cells

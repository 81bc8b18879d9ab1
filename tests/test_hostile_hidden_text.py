"""Red team: control and text-direction characters in values from input files.

eolneeds.toml refuses them in names (test_hostile_names), but values from the data --
a GP practice code in the deaths extract, a practice or PCN name in the ePCN workbook, a
Fingertips label -- went into indicators.csv and the HTML report as they came: an escape
sequence (ESC [31m) recoloured the terminal of whoever printed the CSV, a vertical tab
(invalid in HTML) reached the report, and a right-to-left override displays a practice's
name or code reversed ("Trojan source" text). The Excel packs already dropped the
control characters (openpyxl refuses them). Now every output shows U+FFFD in their place,
indicators.parquet included (round 5).

Real pipeline: a generated project, ingested, with practice codes made hostile in the
database, assessed to CSV and HTML.
"""

from __future__ import annotations

import re

import polars as pl
import pytest
from markupsafe import Markup
from sample_settings import primary_suppression_only

from eolneeds.assess import AssessOptions, assess_project
from eolneeds.config import load_config
from eolneeds.db import connect
from eolneeds.report_html import environment
from eolneeds.reporting import Reporter
from eolneeds.safety import neutralise

HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def test_neutralise_shows_hidden_characters_plainly():
    assert neutralise("Z1\x1b[31m2") == "Z1\ufffd[31m2"
    assert neutralise("\u202eY10001") == "\ufffdY10001"
    assert neutralise("A\u2066B\u2069\x0bC\x00") == "A\ufffdB\ufffd\ufffdC\ufffd"
    assert neutralise("=1+2\x07") == "'=1+2\ufffd"
    assert neutralise("line one\nline two\tand\r") == "line one\nline two\tand\r"
    assert neutralise(-3.5) == -3.5


def test_the_report_shows_hidden_characters_plainly_and_keeps_markup():
    template = environment().from_string("{{ name }}|{{ chart }}")
    assert template.render(name="Z1\x1b[31m2 <b>", chart=Markup("<svg>\u202e</svg>")) == \
        "Z1\ufffd[31m2 &lt;b&gt;|<svg>\ufffd</svg>"


@pytest.mark.slow
def test_hostile_practice_codes_reach_no_output_hidden(tmp_path, session_env):
    from eolneeds.sample import ingest_sample, write_sample

    root = tmp_path / "project"
    write_sample(root, deaths=300, seed=11, reporter=Reporter())
    primary_suppression_only(root)
    config = load_config(root)
    ingest_sample(config, reporter=Reporter())
    con = connect(config.database_path)
    try:
        codes = [r[0] for r in con.execute(
            "SELECT gp_practice FROM deaths WHERE gp_practice IS NOT NULL "
            "GROUP BY gp_practice ORDER BY count(*) DESC LIMIT 2").fetchall()]
        for code, hostile in zip(codes, ["Z1\x1b[31m2", "\u202eZ9\x0b8"], strict=True):
            con.execute("UPDATE deaths SET gp_practice = $new WHERE gp_practice = $old",
                        {"new": hostile, "old": code})
    finally:
        con.close()
    out = tmp_path / "out"
    assess_project(config, AssessOptions(formats=["csv", "html", "parquet"], out=out,
                                         per_place=False),
                   reporter=Reporter())
    csv_text = (out / "indicators.csv").read_text(encoding="utf-8")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Z1\ufffd[31m2" in csv_text and "\ufffdZ9\ufffd8" in csv_text
    assert HIDDEN.findall(csv_text) == []
    assert HIDDEN.findall(html) == []
    # Parquet too (round 5: the control characters reached it as they came).
    table = pl.read_parquet(out / "indicators.parquet")
    texts = [v for name, dtype in table.schema.items() if dtype == pl.String
             for v in table[name].drop_nulls().to_list()]
    assert "Z1\ufffd[31m2" in texts and "\ufffdZ9\ufffd8" in texts
    assert [v for v in texts if HIDDEN.search(v)] == []

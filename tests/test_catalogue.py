from __future__ import annotations

import json
import re
from pathlib import Path

from eolneeds.catalogue import METHODS, POLARITIES, THEMES, load_catalogue, render_catalogue
from eolneeds.resources import queries_dir

SHARED_INDICATORS = Path("/work/shared/INDICATORS.md")
# Every id of INDICATORS.md (copied here so the test also runs outside this workspace).
EXPECTED_IDS = {
    "deaths", "crude_death_rate", "dsr_all_cause", "cause_group_pct", "pc_need_pct",
    "pc_need_rate", "pc_need_projected", "pod_home_pct", "pod_care_home_pct",
    "pod_hospital_pct", "pod_hospice_pct", "pod_other_pct", "diupr_pct", "on_register_pct",
    "on_register_need_pct", "unidentified_need", "register_days_median", "register_late_pct",
    "ppod_recorded_pct", "ppod_achieved_pct", "ea_last90_any_pct", "ea_last90_3plus_pct",
    "bed_days_last90_mean", "ae_last90_mean", "spc_last_year_pct", "community_last90_pct",
    "hospital_cost_last90",
}
# Advance care planning (issue 13), defined in the catalogue and its INDICATORS-style
# text (docs/INDICATORS-issue13.md) rather than the shared file.
ADVANCE_CARE_PLANNING_IDS = {
    "dnacpr_need_pct", "dnacpr_register_pct", "acp_need_pct", "acp_register_pct",
    "ppod_need_pct", "dnacpr_days_median", "acp_days_median", "ppod_days_median",
}


def test_every_indicator_of_the_catalogue_is_there_once():
    ids = [ind.id for ind in load_catalogue()]
    assert len(ids) == len(set(ids))
    assert set(ids) == EXPECTED_IDS | ADVANCE_CARE_PLANNING_IDS
    if SHARED_INDICATORS.is_file():
        documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", SHARED_INDICATORS.read_text(
            encoding="utf-8"), flags=re.M))
        assert documented == EXPECTED_IDS


def test_entries_are_well_formed_and_name_an_existing_query():
    queries = {e.name.removesuffix(".sql") for e in queries_dir().iterdir()}
    for ind in load_catalogue():
        assert ind.method in METHODS, ind.id
        assert ind.polarity in POLARITIES, ind.id
        assert ind.theme in THEMES, ind.id
        assert ind.query in queries, ind.id
        assert ind.numerator_column, ind.id
        assert ind.definition and ind.name and ind.unit, ind.id


def test_flags_match_indicators_md():
    catalogue = {ind.id: ind for ind in load_catalogue()}
    assert {i for i, ind in catalogue.items() if ind.inequality_summary} == {
        "dsr_all_cause", "pod_hospital_pct", "diupr_pct", "on_register_need_pct",
        "ea_last90_3plus_pct", "spc_last_year_pct"}
    assert {i for i, ind in catalogue.items() if ind.spc} == {
        "deaths", "pod_hospital_pct", "diupr_pct", "on_register_pct", "ea_last90_3plus_pct"}
    assert catalogue["ea_last90_3plus_pct"].breakdown_list == (
        "imd_quintile", "sex", "age_band", "ethnic_group", "ethnic_group_broad", "cause_group",
        "age_group")
    assert catalogue["crude_death_rate"].breakdown_list == ("sex", "imd_quintile")


def test_render_formats():
    table = render_catalogue("table")
    assert table.splitlines()[0].split() == ["id", "method", "unit", "breakdowns", "name"]
    assert "pod_hospital_pct" in table
    markdown = render_catalogue("markdown")
    assert "| `diupr_pct` |" in markdown and "## Slope and relative index" in markdown
    payload = json.loads(render_catalogue("json"))
    assert len(payload["indicators"]) == len(EXPECTED_IDS | ADVANCE_CARE_PLANNING_IDS)
    assert {s["id"] for s in payload["summaries"]} >= {"sii_rii", "spc", "data_quality"}

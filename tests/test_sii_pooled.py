"""Inequality summaries over pooled deprivation groups (issue 11.2): where quintiles are
hidden, the SII/RII is computed over adjacent quintiles pooled, only where the pooled
group gives nothing away, and never from fewer than 3 groups."""

from __future__ import annotations

import numpy as np
import polars as pl

from eolneeds.assess import POOLED_NOTE, SII_MIN_QUINTILES, _pooled_groups, _sii_rows
from eolneeds.catalogue import load_catalogue
from eolneeds.config import DisclosureConfig
from eolneeds.disclosure import apply_disclosure
from tests.test_disclosure import frame

IND = "pod_hospital_pct"


def _quintiles(cells: dict[str, tuple[int, int]]) -> pl.DataFrame:
    """A Place's quintile rows and its 'all' row of one percentage, with true values."""
    rows = []
    for q, (num, den) in cells.items():
        p = 100 * num / den
        rows.append({"indicator_id": IND, "breakdown": "imd_quintile", "breakdown_value": q,
                     "numerator": num, "denominator": den, "value": p,
                     "lower_ci_95": p * 0.8, "upper_ci_95": min(p * 1.2, 99.0)})
    num = sum(n for n, _ in cells.values())
    den = sum(d for _, d in cells.values())
    rows.append({"indicator_id": IND, "breakdown": "all", "breakdown_value": "all",
                 "numerator": num, "denominator": den, "value": 100 * num / den,
                 "lower_ci_95": 1.0, "upper_ci_95": 99.0})
    return frame(rows)


def _summaries(cells: dict[str, tuple[int, int]]) -> tuple[dict, dict, dict]:
    table = _quintiles(cells)
    pools: dict = {}
    out = apply_disclosure(table, DisclosureConfig(min_count=8), pools=pools)
    ind = next(i for i in load_catalogue() if i.id == IND)
    rows = _sii_rows(out, [ind], {}, pools=pools,
                     pooled=lambda i: _pooled_groups(i, table, None, None, pools))
    sii = rows.filter(pl.col("breakdown_value") == "SII").row(0, named=True)
    rii = rows.filter(pl.col("breakdown_value") == "RII").row(0, named=True)
    return pools, sii, rii


def test_known_answer_sii_over_pooled_groups():
    # Quintiles 1 (3 deaths in hospital of 20) and 2 (6 of 30) are both hidden: two
    # quintiles are left, but 1+2 (9 of 50) can be published (the total less 3 and 4
    # gives it anyway), so the summary stands over 1+2, 3 and 4.
    pools, sii, rii = _summaries({"1": (3, 20), "2": (6, 30), "3": (40, 90),
                                  "4": (12, 60)})
    assert pools == {(IND, "P1", "2024-25"): ["1+2", "3", "4"]}
    # Worked out here: the percentage of each group, ranks at the midpoints of the
    # cumulative population shares, weighted least squares with sqrt(share) weights.
    value = np.array([9 / 50, 40 / 90, 12 / 60]) * 100
    pop = np.array([50.0, 90.0, 60.0])
    share = pop / pop.sum()
    rank = np.cumsum(share) - share / 2
    assert np.allclose(rank, [0.125, 0.475, 0.85])
    w = np.sqrt(share)
    (b0, b1), *_ = np.linalg.lstsq(np.column_stack([w, rank * w]), value * w, rcond=None)
    assert abs(sii["value"] - b1) < 1e-9
    assert abs(rii["value"] - (b0 + b1) / b0) < 1e-9
    assert sii["lower_ci_95"] < sii["value"] < sii["upper_ci_95"]
    assert POOLED_NOTE in sii["note"] and sii["note"].endswith(": 1+2"), sii["note"]


def test_a_pooled_summary_is_withheld_when_fewer_than_the_minimum_groups_remain():
    # Three quintiles: 1+2 pooled and 3 are two groups, one short of the minimum.
    pools, sii, _ = _summaries({"1": (3, 20), "2": (6, 30), "3": (40, 90)})
    assert pools == {}
    assert SII_MIN_QUINTILES == 3
    assert sii["value"] is None and "not calculated" in sii["note"], sii["note"]


def test_a_pool_that_would_publish_a_small_count_is_not_used():
    # 2 + 5 = 7 deaths in hospital in quintiles 1+2: a count the rule hides.
    pools, sii, _ = _summaries({"1": (2, 20), "2": (5, 30), "3": (40, 90), "4": (12, 60)})
    assert pools == {}
    assert sii["value"] is None
    # 17 of 20 and 28 of 30 leave 3 + 2 = 5 people not in hospital in the pooled group.
    pools, sii, _ = _summaries({"1": (17, 20), "2": (28, 30), "3": (40, 90), "4": (12, 60)})
    assert pools == {}


def test_the_report_names_the_pooled_quintiles_from_the_note():
    # The report and the packs read the pooled groups from the SII row's note.
    from eolneeds.report_sections import pooled_groups

    assert pooled_groups({"note": f"{POOLED_NOTE}: 1+2, 4+5"}) == "1+2, 4+5"
    assert pooled_groups({"note": "quintile(s) 1 left out (suppressed)"}) == ""
    assert pooled_groups({"note": None}) == ""


def test_a_pooled_standardised_rate_pools_each_age_band():
    """A DSR over quintiles 1+2 standardises the pooled deaths over the pooled population
    of each age band (not an average of the two rates); for a Place and for the ICB,
    whose age-band counts carry no area code."""
    from eolneeds.assess import _Counts
    from eolneeds.methods import esp2013

    bands = [b for b, _ in esp2013()]
    young, old = bands[10], bands[17]
    cells = {  # quintile -> (deaths, population) in the two bands
        "1": ((4, 1000), (30, 400)), "2": ((2, 3000), (15, 200)), "3": ((9, 2500), (40, 600)),
    }
    deaths, population, raw = [], [], []
    for area_type, code in (("place", "P1"), ("icb", None)):
        for q, ((dy, ny), (do, no)) in cells.items():
            for band, d, n in ((young, dy, ny), (old, do, no)):
                deaths.append((area_type, code, "2024-25", "imd_quintile", q, band, d))
                population.append((2024, area_type, code, "imd_quintile", q, band, float(n)))
            raw.append({"indicator_id": "dsr_all_cause", "method": "DSR", "unit": "per 100,000",
                        "area_type": area_type, "area_code": code or "ICB1",
                        "breakdown": "imd_quintile", "breakdown_value": q,
                        "numerator": dy + do, "denominator": ny + no, "value": 1.0,
                        "lower_ci_95": 0.5, "upper_ci_95": 1.5})
    keys = ["area_type", "area_code", "period", "breakdown", "breakdown_value"]
    counts = _Counts(
        frames={"mortality_by_age": pl.DataFrame(deaths, schema=[*keys, "esp_band", "deaths"],
                                                 orient="row")},
        population=pl.DataFrame(population, schema=["year", "area_type", "area_code",
                                                    "breakdown", "breakdown_value", "esp_band",
                                                    "population"], orient="row"),
        population_years=[2024])
    pop_map = pl.DataFrame({"period": ["2024-25"], "year": [2024], "person_years": [1.0]},
                           schema={"period": pl.String, "year": pl.Int64,
                                   "person_years": pl.Float64})
    pools = {("dsr_all_cause", "P1", "2024-25"): ["1+2", "3"],
             ("dsr_all_cause", "ICB1", "2024-25"): ["1+2", "3"]}
    ind = next(i for i in load_catalogue() if i.id == "dsr_all_cause")
    rows = _pooled_groups(ind, frame(raw), counts, pop_map, pools)
    weight = dict(esp2013())
    expected = (weight[young] * (4 + 2) / (1000 + 3000)
                + weight[old] * (30 + 15) / (400 + 200)) / sum(weight.values()) * 100_000
    assert sorted(rows["area_code"].to_list()) == ["ICB1", "P1"]
    assert rows["breakdown_value"].to_list() == ["1+2", "1+2"]
    for r in rows.iter_rows(named=True):
        assert abs(r["value"] - expected) < 1e-9 * expected
        assert r["numerator"] == 51 and r["lower_ci_95"] < r["value"] < r["upper_ci_95"]


def test_a_quintile_at_0_percent_is_pooled_with_its_neighbour():
    # Quintile 1 published at 0 of 20: the SII's logit cannot take 0% (phe_sii's rule),
    # so over the five quintiles as they are the summary is not calculated. Pooled with
    # quintile 2 (0 + 12 of 20 + 30, both published: the pooled counts are their sums
    # and give nothing new) it stands over 1+2, 3 and 4.
    pools, sii, _ = _summaries({"1": (0, 20), "2": (12, 30), "3": (40, 90), "4": (12, 60)})
    assert pools == {(IND, "P1", "2024-25"): ["1+2", "3", "4"]}
    value = np.array([12 / 50, 40 / 90, 12 / 60]) * 100
    share = np.array([50.0, 90.0, 60.0]) / 200
    rank = np.cumsum(share) - share / 2
    w = np.sqrt(share)
    (b0, b1), *_ = np.linalg.lstsq(np.column_stack([w, rank * w]), value * w, rcond=None)
    assert abs(sii["value"] - b1) < 1e-9
    assert sii["note"].endswith(f"{POOLED_NOTE}: 1+2"), sii["note"]
    # 100% likewise (20 of 20 in quintile 4, pooled with 3: 52 of 110).
    pools, sii, _ = _summaries({"1": (9, 20), "2": (12, 30), "3": (32, 90), "4": (20, 20)})
    assert pools == {(IND, "P1", "2024-25"): ["1", "2", "3+4"]}
    assert sii["value"] is not None
    # A pool that stays at 0% is no better: not used, and the summary not calculated.
    pools, sii, _ = _summaries({"1": (0, 20), "2": (0, 30), "3": (40, 90), "4": (12, 60)})
    assert pools == {} and sii["value"] is None


def test_the_complement_of_a_hidden_quintile_is_its_neighbour_where_that_saves_the_summary():
    # 5 of 20 deaths in hospital in quintile 1 are hidden, and the Place's total needs a
    # second quintile hidden with it. Any of 2, 3 and 4 protects it, and each leaves two
    # quintiles published; only quintile 2, adjacent to 1, leaves a summary: over 1+2
    # pooled (35 of 80: the total less 3 and 4 gives it anyway), 3 and 4. So the
    # complement is quintile 2, though quintile 4's count is the smallest
    # (disclosure._row_cost: POOL_WEIGHT against SII_LOSS_WEIGHT).
    pools, sii, _ = _summaries({"1": (5, 20), "2": (30, 60), "3": (40, 90), "4": (12, 50)})
    assert pools == {(IND, "P1", "2024-25"): ["1+2", "3", "4"]}
    assert sii["value"] is not None and sii["note"].endswith(f"{POOLED_NOTE}: 1+2")
    # Quintile 2 with no residents: 1 and 3 are adjacent (Fernholt's case).
    pools, sii, _ = _summaries({"1": (5, 20), "3": (30, 60), "4": (40, 90), "5": (12, 50)})
    assert pools == {(IND, "P1", "2024-25"): ["1+3", "4", "5"]}
    assert sii["value"] is not None

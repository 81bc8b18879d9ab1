-- population: resident population by year and ESP2013 five-year age band, the
-- denominators of crude_death_rate, pc_need_rate and dsr_all_cause.
--
-- Reads: population, assessment_areas. Only LSOAs of the configured Places ($places). Breakdowns
-- all, sex and imd_quintile (quintile = ceil(decile / 2)). assess picks, per period, the
-- year matching the period (Period.population_year), or the nearest year supplied.
-- Speed: LSOAs are summed into cells (year, Place, sex, quintile, band) first and only
-- the cells are spread over the breakdowns. Populations are whole numbers, whose sums
-- in DOUBLE are exact (below 2^53) in any order, so the totals are the same.

WITH resident AS (
    SELECT
        p.year,
        a.place,
        p.sex,
        -- LSOAs the deprivation file does not rank: quintile 'unknown', as their deaths.
        coalesce(CAST(CAST(ceil(a.imd_decile / 2) AS INTEGER) AS VARCHAR), 'unknown')
            AS imd_quintile,
        p.age_band AS esp_band,
        sum(p.population) AS population
    FROM population AS p
    JOIN assessment_areas AS a ON a.lsoa_code = p.lsoa_code
    WHERE list_contains($places, a.place)
    GROUP BY ALL
),
by_breakdown AS (
    SELECT r.*, unnest([
        {'breakdown': 'all', 'breakdown_value': 'all'},
        {'breakdown': 'sex', 'breakdown_value': r.sex},
        {'breakdown': 'imd_quintile', 'breakdown_value': r.imd_quintile}
    ], recursive := true)
    FROM resident AS r
)
SELECT
    year,
    CASE WHEN grouping(place) = 1 THEN 'icb' ELSE 'place' END AS area_type,
    place AS area_code,
    breakdown,
    breakdown_value,
    esp_band,
    sum(population) AS population
FROM by_breakdown
GROUP BY GROUPING SETS (
    (year, breakdown, breakdown_value, esp_band, place),
    (year, breakdown, breakdown_value, esp_band)
)

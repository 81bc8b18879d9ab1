-- mortality_by_age: deaths by ESP2013 five-year age band, the numerators of
-- dsr_all_cause (denominator: population by the same bands, population.sql).
--
-- Reads: deaths_in_scope, assess_periods. Breakdowns all, sex and imd_quintile only (the
-- DSR's breakdowns); single months are not standardised. Deaths with no recorded age
-- have no band and are left out of the DSR (reported in data quality as missing age).

WITH death_periods AS (
    SELECT p.period, d.place, d.sex, d.imd_quintile, d.esp_band
    FROM deaths_in_scope AS d
    JOIN assess_periods AS p
      ON d.date_of_death BETWEEN p.period_start AND p.period_end
    WHERE p.kind <> 'month' AND d.esp_band IS NOT NULL
),
by_breakdown AS (
    SELECT dp.*, unnest([
        {'breakdown': 'all', 'breakdown_value': 'all'},
        {'breakdown': 'sex', 'breakdown_value': dp.sex},
        {'breakdown': 'imd_quintile', 'breakdown_value': dp.imd_quintile}
    ], recursive := true)
    FROM death_periods AS dp
)
SELECT
    CASE WHEN grouping(place) = 1 THEN 'icb' ELSE 'place' END AS area_type,
    place AS area_code,
    period,
    breakdown,
    breakdown_value,
    esp_band,
    count(*) AS deaths
FROM by_breakdown
GROUP BY GROUPING SETS (
    (period, breakdown, breakdown_value, esp_band, place),
    (period, breakdown, breakdown_value, esp_band)
)

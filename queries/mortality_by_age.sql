-- mortality_by_age: deaths by ESP2013 five-year age band, the numerators of
-- dsr_all_cause (denominator: population by the same bands, population.sql).
--
-- Reads: deaths_in_scope, assess_periods. Breakdowns all, sex and imd_quintile only (the
-- DSR's breakdowns); single months are not standardised. Deaths with no recorded age
-- have no band and are left out of the DSR (reported in data quality as missing age).
-- Speed: as in mortality.sql, deaths are counted into cells first and only the cells
-- are spread over the breakdowns (sums of counts are exact).

WITH period_days AS (
    SELECT d.date_of_death, p.period
    FROM (SELECT DISTINCT date_of_death FROM deaths_in_scope) AS d
    JOIN assess_periods AS p
      ON d.date_of_death BETWEEN p.period_start AND p.period_end
    WHERE p.kind <> 'month'
),
cells AS (
    SELECT p.period, d.place, d.sex, d.imd_quintile, d.esp_band, count(*) AS deaths
    FROM deaths_in_scope AS d
    JOIN period_days AS p USING (date_of_death)
    WHERE d.esp_band IS NOT NULL
    GROUP BY ALL
),
by_breakdown AS (
    SELECT c.*, unnest([
        {'breakdown': 'all', 'breakdown_value': 'all'},
        {'breakdown': 'sex', 'breakdown_value': c.sex},
        {'breakdown': 'imd_quintile', 'breakdown_value': c.imd_quintile}
    ], recursive := true)
    FROM cells AS c
)
SELECT
    CASE WHEN grouping(place) = 1 THEN 'icb' ELSE 'place' END AS area_type,
    place AS area_code,
    period,
    breakdown,
    breakdown_value,
    esp_band,
    CAST(sum(deaths) AS BIGINT) AS deaths
FROM by_breakdown
GROUP BY GROUPING SETS (
    (period, breakdown, breakdown_value, esp_band, place),
    (period, breakdown, breakdown_value, esp_band)
)

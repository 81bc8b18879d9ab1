-- mortality: deaths and deaths with palliative care need.
--
-- Indicators: deaths (numerator: deaths), cause_group_pct (numerator: deaths in the cause
-- group = `cause_deaths`; denominator: all deaths, or all deaths in the quintile for the
-- cause_group_imd_quintile rows = `cause_denominator`), pc_need_pct (need_deaths /
-- deaths), and the numerators of crude_death_rate and pc_need_rate (their population
-- denominators come from population.sql).
-- Reads: deaths_in_scope (deaths_in_scope.sql), assess_periods.
-- One row per area (each Place and the ICB) x period x breakdown x value.
-- Speed: the range join to the periods runs over the distinct dates of death, not every
-- death; deaths are then counted per period and cell (cell_id: one per combination of
-- breakdown values, deaths_in_scope.sql) and only the cells are spread over the
-- breakdowns. Sums of counts are exact, so the result is the same as counting every
-- death in every breakdown.

WITH period_days AS (
    SELECT d.date_of_death, p.period, p.kind
    FROM (SELECT DISTINCT date_of_death FROM deaths_in_scope) AS d
    JOIN assess_periods AS p
      ON d.date_of_death BETWEEN p.period_start AND p.period_end
),
cell_counts AS (
    SELECT
        p.period, p.kind, d.cell_id,
        count(*) AS deaths,
        count(*) FILTER (WHERE d.pc_need) AS need_deaths,
        count(*) FILTER (WHERE d.pc_need_upper) AS need_deaths_upper
    FROM deaths_in_scope AS d
    JOIN period_days AS p USING (date_of_death)
    GROUP BY ALL
),
cells AS (
    SELECT * FROM cell_counts JOIN death_cells USING (cell_id)
),
by_breakdown AS (
    SELECT c.*, unnest(breakdown_rows(c.kind, c.imd_quintile, c.sex, c.age_band,
                                      c.age_group, c.ethnic_group,
                                      c.ethnic_group_broad, c.cause_group), recursive := true)
    FROM cells AS c
),
counts AS (
    SELECT
        CASE WHEN grouping(place) = 1 THEN 'icb' ELSE 'place' END AS area_type,
        place AS area_code,
        period,
        breakdown,
        breakdown_value,
        CAST(sum(deaths) AS BIGINT) AS deaths,
        CAST(sum(need_deaths) AS BIGINT) AS need_deaths,
        CAST(sum(need_deaths_upper) AS BIGINT) AS need_deaths_upper
    FROM by_breakdown
    GROUP BY GROUPING SETS (
        (period, breakdown, breakdown_value, place),
        (period, breakdown, breakdown_value)
    )
)
SELECT
    c.*,
    c.deaths AS cause_deaths,
    -- The denominator of a cause group's share: all deaths in the area and period, or
    -- all deaths in the same IMD quintile for the '1: cancer' style rows.
    CASE c.breakdown
        WHEN 'cause_group' THEN max(c.deaths) FILTER (WHERE c.breakdown = 'all') OVER area_period
        WHEN 'cause_group_imd_quintile' THEN (
            SELECT q.deaths FROM counts AS q
            WHERE q.breakdown = 'imd_quintile'
              AND q.breakdown_value = split_part(c.breakdown_value, ': ', 1)
              AND q.area_type = c.area_type
              AND q.area_code IS NOT DISTINCT FROM c.area_code
              AND q.period = c.period
        )
    END AS cause_denominator
FROM counts AS c
WINDOW area_period AS (PARTITION BY c.area_type, c.area_code, c.period)

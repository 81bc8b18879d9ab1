-- register: identification and planning, from palliative care register / EPaCCS entries.
--
-- A death is "on a register" when the person has an entry dated on or before the date of
-- death (entries after death do not count). Indicators:
--   on_register_pct       on_register / deaths
--   on_register_need_pct  need_on_register / need_deaths
--   unidentified_need     need_unidentified (need deaths with no entry before death)
--   register_days_median  median days from the first entry to death, among on_register
--   register_late_pct     register_late (first entry 0-30 days before death) / on_register
--   ppod_recorded_pct     ppod_recorded (a preference recorded on an entry dated on or
--                         before death; 'unknown' is not a preference) / on_register
--   ppod_achieved_pct     ppod_achieved (place of death = the latest such preference)
--                         / ppod_recorded
-- Reads: deaths_in_scope, register, assess_periods.
-- Speed: only deaths in a reporting period are matched to the register; the counts are
-- taken per period and cell (cell_id: one per combination of breakdown values,
-- deaths_in_scope.sql) and only the cells are spread over the breakdowns (sums of counts
-- are exact). The median needs every value, so it is taken separately, over the deaths
-- on a register only.

WITH period_days AS (
    SELECT d.date_of_death, p.period, p.kind
    FROM (SELECT DISTINCT date_of_death FROM deaths_in_scope) AS d
    JOIN assess_periods AS p
      ON d.date_of_death BETWEEN p.period_start AND p.period_end
),
in_periods AS (
    SELECT d.death_id, d.person_id, d.date_of_death, d.cell_id, d.pc_need, d.place_of_death
    FROM deaths_in_scope AS d
    SEMI JOIN (SELECT DISTINCT date_of_death FROM period_days) AS p USING (date_of_death)
),
entries AS (
    -- One row per death with an entry on or before the date of death.
    SELECT
        d.death_id,
        d.date_of_death,
        d.cell_id,
        date_diff('day', min(r.date_added), d.date_of_death) AS register_days,
        -- The latest preference recorded before death is the one that applied.
        arg_max(r.preferred_place_of_death, r.date_added) FILTER (
            WHERE r.preferred_place_of_death IS NOT NULL
              AND r.preferred_place_of_death <> 'unknown'
        ) AS preferred_place
    FROM in_periods AS d
    JOIN register AS r
      ON r.person_id = d.person_id AND r.date_added <= d.date_of_death
    GROUP BY d.death_id, d.date_of_death, d.cell_id
),
per_death AS (
    SELECT
        d.date_of_death, d.cell_id, d.pc_need, d.place_of_death,
        e.death_id IS NOT NULL AS on_register,
        e.register_days,
        e.preferred_place
    FROM in_periods AS d
    LEFT JOIN entries AS e USING (death_id)
),
cell_counts AS (
    SELECT
        p.period, p.kind, x.cell_id,
        count(*) AS deaths,
        count(*) FILTER (WHERE x.on_register) AS on_register,
        count(*) FILTER (WHERE x.pc_need) AS need_deaths,
        count(*) FILTER (WHERE x.pc_need AND x.on_register) AS need_on_register,
        count(*) FILTER (WHERE x.pc_need AND NOT x.on_register) AS need_unidentified,
        count(*) FILTER (WHERE x.on_register AND x.register_days <= 30) AS register_late,
        count(*) FILTER (WHERE x.on_register AND x.preferred_place IS NOT NULL)
            AS ppod_recorded,
        count(*) FILTER (
            WHERE x.on_register AND x.preferred_place IS NOT NULL
              AND x.preferred_place = x.place_of_death
        ) AS ppod_achieved
    FROM per_death AS x
    JOIN period_days AS p USING (date_of_death)
    GROUP BY ALL
),
cells AS (
    SELECT * FROM cell_counts JOIN death_cells USING (cell_id)
),
counts AS (
    SELECT
        CASE WHEN grouping(place) = 1 THEN 'icb' ELSE 'place' END AS area_type,
        place AS area_code,
        period,
        breakdown,
        breakdown_value,
        CAST(sum(deaths) AS BIGINT) AS deaths,
        CAST(sum(on_register) AS BIGINT) AS on_register,
        CAST(sum(need_deaths) AS BIGINT) AS need_deaths,
        CAST(sum(need_on_register) AS BIGINT) AS need_on_register,
        CAST(sum(need_unidentified) AS BIGINT) AS need_unidentified,
        CAST(sum(register_late) AS BIGINT) AS register_late,
        CAST(sum(ppod_recorded) AS BIGINT) AS ppod_recorded,
        CAST(sum(ppod_achieved) AS BIGINT) AS ppod_achieved
    FROM (
        SELECT c.*, unnest(breakdown_rows(c.kind, c.imd_quintile, c.sex, c.age_band,
                                          c.age_group, c.ethnic_group,
                                          c.ethnic_group_broad, c.cause_group),
                           recursive := true)
        FROM cells AS c
    )
    GROUP BY GROUPING SETS (
        (period, breakdown, breakdown_value, place),
        (period, breakdown, breakdown_value)
    )
),
medians AS (
    SELECT
        CASE WHEN grouping(place) = 1 THEN 'icb' ELSE 'place' END AS area_type,
        place AS area_code,
        period,
        breakdown,
        breakdown_value,
        quantile_cont(register_days, 0.5) AS register_days_median
    FROM (
        SELECT p.period, c.place, e.register_days,
               unnest(breakdown_rows(p.kind, c.imd_quintile, c.sex, c.age_band,
                                     c.age_group, c.ethnic_group,
                                     c.ethnic_group_broad, c.cause_group),
                      recursive := true)
        FROM entries AS e
        JOIN period_days AS p USING (date_of_death)
        JOIN death_cells AS c USING (cell_id)
    )
    GROUP BY GROUPING SETS (
        (period, breakdown, breakdown_value, place),
        (period, breakdown, breakdown_value)
    )
)
SELECT
    c.area_type, c.area_code, c.period, c.breakdown, c.breakdown_value,
    c.deaths, c.on_register, c.need_deaths, c.need_on_register, c.need_unidentified,
    m.register_days_median,
    c.register_late, c.ppod_recorded, c.ppod_achieved
FROM counts AS c
LEFT JOIN medians AS m
  ON m.area_type = c.area_type
 AND m.area_code IS NOT DISTINCT FROM c.area_code
 AND m.period = c.period
 AND m.breakdown = c.breakdown
 AND m.breakdown_value IS NOT DISTINCT FROM c.breakdown_value

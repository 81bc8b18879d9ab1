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
-- Speed: only deaths in a reporting period are matched to the register; deaths are then
-- counted into cells (one per combination of breakdown values, and per number of days
-- on the register) and only the cells are spread over the breakdowns. The median is
-- read from the resulting counts per number of days: the middle value, or the mean of
-- the two middle values -- exactly what quantile_cont(register_days, 0.5) gives.

WITH period_days AS (
    SELECT d.date_of_death, p.period, p.kind
    FROM (SELECT DISTINCT date_of_death FROM deaths_in_scope) AS d
    JOIN assess_periods AS p
      ON d.date_of_death BETWEEN p.period_start AND p.period_end
),
in_periods AS (
    SELECT d.*
    FROM deaths_in_scope AS d
    SEMI JOIN (SELECT DISTINCT date_of_death FROM period_days) AS p USING (date_of_death)
),
entries AS (
    SELECT
        d.death_id,
        min(r.date_added) AS first_entry,
        -- The latest preference recorded before death is the one that applied.
        arg_max(r.preferred_place_of_death, r.date_added) FILTER (
            WHERE r.preferred_place_of_death IS NOT NULL
              AND r.preferred_place_of_death <> 'unknown'
        ) AS preferred_place
    FROM in_periods AS d
    JOIN register AS r
      ON r.person_id = d.person_id AND r.date_added <= d.date_of_death
    GROUP BY d.death_id
),
per_death AS (
    SELECT
        d.*,
        e.first_entry IS NOT NULL AS on_register,
        date_diff('day', e.first_entry, d.date_of_death) AS register_days,
        e.preferred_place
    FROM in_periods AS d
    LEFT JOIN entries AS e USING (death_id)
),
cells AS (
    SELECT
        p.period, p.kind, d.place, d.imd_quintile, d.sex, d.age_band, d.age_group,
        d.ethnic_group, d.cause_group,
        -- NULL for deaths not on a register.
        d.register_days,
        count(*) AS deaths,
        count(*) FILTER (WHERE d.on_register) AS on_register,
        count(*) FILTER (WHERE d.pc_need) AS need_deaths,
        count(*) FILTER (WHERE d.pc_need AND d.on_register) AS need_on_register,
        count(*) FILTER (WHERE d.pc_need AND NOT d.on_register) AS need_unidentified,
        count(*) FILTER (WHERE d.on_register AND d.register_days <= 30) AS register_late,
        count(*) FILTER (WHERE d.on_register AND d.preferred_place IS NOT NULL)
            AS ppod_recorded,
        count(*) FILTER (
            WHERE d.on_register AND d.preferred_place IS NOT NULL
              AND d.preferred_place = d.place_of_death
        ) AS ppod_achieved
    FROM per_death AS d
    JOIN period_days AS p USING (date_of_death)
    GROUP BY ALL
),
by_breakdown AS (
    SELECT c.*, unnest(breakdown_rows(c.kind, c.imd_quintile, c.sex, c.age_band,
                                      c.age_group, c.ethnic_group, c.cause_group), recursive := true)
    FROM cells AS c
),
by_days AS (
    -- Per area, period, breakdown value and number of days on the register.
    SELECT
        CASE WHEN grouping(place) = 1 THEN 'icb' ELSE 'place' END AS area_type,
        place AS area_code,
        period,
        breakdown,
        breakdown_value,
        register_days,
        sum(deaths) AS deaths,
        sum(on_register) AS on_register,
        sum(need_deaths) AS need_deaths,
        sum(need_on_register) AS need_on_register,
        sum(need_unidentified) AS need_unidentified,
        sum(register_late) AS register_late,
        sum(ppod_recorded) AS ppod_recorded,
        sum(ppod_achieved) AS ppod_achieved
    FROM by_breakdown
    GROUP BY GROUPING SETS (
        (period, breakdown, breakdown_value, place, register_days),
        (period, breakdown, breakdown_value, register_days)
    )
),
ranked AS (
    -- Deaths on a register up to and including each number of days (ascending).
    SELECT
        *,
        sum(on_register) OVER (
            PARTITION BY area_type, area_code, period, breakdown, breakdown_value
            ORDER BY register_days
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS on_register_upto,
        sum(on_register) OVER (
            PARTITION BY area_type, area_code, period, breakdown, breakdown_value
        ) AS on_register_total
    FROM by_days
),
totals AS (
    SELECT
        area_type, area_code, period, breakdown, breakdown_value,
        CAST(sum(deaths) AS BIGINT) AS deaths,
        CAST(sum(on_register) AS BIGINT) AS on_register,
        CAST(sum(need_deaths) AS BIGINT) AS need_deaths,
        CAST(sum(need_on_register) AS BIGINT) AS need_on_register,
        CAST(sum(need_unidentified) AS BIGINT) AS need_unidentified,
        -- The values at 0-based positions floor((n - 1) / 2) and ceil((n - 1) / 2) of the
        -- sorted days: the first number of days whose running count passes the position.
        CAST(min(register_days) FILTER (
            WHERE register_days IS NOT NULL
              AND on_register_upto > (on_register_total - 1) // 2
        ) AS DOUBLE) AS median_low,
        CAST(min(register_days) FILTER (
            WHERE register_days IS NOT NULL
              AND on_register_upto > on_register_total // 2
        ) AS DOUBLE) AS median_high,
        CAST(sum(register_late) AS BIGINT) AS register_late,
        CAST(sum(ppod_recorded) AS BIGINT) AS ppod_recorded,
        CAST(sum(ppod_achieved) AS BIGINT) AS ppod_achieved
    FROM ranked
    GROUP BY ALL
)
SELECT
    area_type, area_code, period, breakdown, breakdown_value,
    deaths, on_register, need_deaths, need_on_register, need_unidentified,
    median_low + (median_high - median_low) * 0.5 AS register_days_median,
    register_late, ppod_recorded, ppod_achieved
FROM totals

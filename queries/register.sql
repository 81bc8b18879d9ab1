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

WITH entries AS (
    SELECT
        d.death_id,
        min(r.date_added) AS first_entry,
        -- The latest preference recorded before death is the one that applied.
        arg_max(r.preferred_place_of_death, r.date_added) FILTER (
            WHERE r.preferred_place_of_death IS NOT NULL
              AND r.preferred_place_of_death <> 'unknown'
        ) AS preferred_place
    FROM deaths_in_scope AS d
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
    FROM deaths_in_scope AS d
    LEFT JOIN entries AS e USING (death_id)
),
death_periods AS (
    SELECT p.period, p.kind, pd.*
    FROM per_death AS pd
    JOIN assess_periods AS p
      ON pd.date_of_death BETWEEN p.period_start AND p.period_end
),
by_breakdown AS (
    SELECT dp.*, unnest(breakdown_rows(dp.kind, dp.imd_quintile, dp.sex, dp.age_band,
                                       dp.age_group, dp.ethnic_group, dp.cause_group), recursive := true)
    FROM death_periods AS dp
)
SELECT
    CASE WHEN grouping(place) = 1 THEN 'icb' ELSE 'place' END AS area_type,
    place AS area_code,
    period,
    breakdown,
    breakdown_value,
    count(*) AS deaths,
    count(*) FILTER (WHERE on_register) AS on_register,
    count(*) FILTER (WHERE pc_need) AS need_deaths,
    count(*) FILTER (WHERE pc_need AND on_register) AS need_on_register,
    count(*) FILTER (WHERE pc_need AND NOT on_register) AS need_unidentified,
    quantile_cont(register_days, 0.5) FILTER (WHERE on_register) AS register_days_median,
    count(*) FILTER (WHERE on_register AND register_days <= 30) AS register_late,
    count(*) FILTER (WHERE on_register AND preferred_place IS NOT NULL) AS ppod_recorded,
    count(*) FILTER (
        WHERE on_register AND preferred_place IS NOT NULL AND preferred_place = place_of_death
    ) AS ppod_achieved
FROM by_breakdown
GROUP BY GROUPING SETS (
    (period, breakdown, breakdown_value, place),
    (period, breakdown, breakdown_value)
)

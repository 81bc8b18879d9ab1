-- scenario_inputs: what the what-if scenarios (eolneeds/scenarios.py) need beyond the
-- indicator table, for one reporting period ($period), per Place and for the ICB.
--
-- Groups of deaths (a death is in 'all' and in each group it belongs to):
--   all                 every death in scope
--   need_identified     need deaths on a register before death
--   need_unidentified   need deaths not on a register before death
--   usual_residence     died at home, in a care home or a religious establishment (the
--                       DiUPR numerator; external causes left out as diupr_pct does when
--                       $exclude_external)
--   hospital            died in hospital (external causes left out likewise)
-- Per group: deaths; bed days in the last 90 days (sum, sum of squares: for a mean and
-- its t interval); emergency admissions starting in the last 90 days, deaths with one or
-- more, their bed days in the window and their cost (the spell's cost, else window bed
-- days x $unit_cost_per_bed_day); and, for a cost per bed day from the data, the cost
-- and whole-stay days of admissions in the window that carry a cost.
-- Windows, emergency classification and bed days: last90_activity.sql, the rows
-- activity_last90.sql counts too (INDICATORS.md "Last 90 days").
-- Uses: last90_activity
-- Reads: deaths_in_scope, register, activity, assess_periods.

WITH chosen AS (
    SELECT d.death_id, d.person_id, d.date_of_death, d.place, d.pc_need, d.place_of_death,
           d.external_cause
    FROM deaths_in_scope AS d
    JOIN assess_periods AS p
      ON p.period = $period AND d.date_of_death BETWEEN p.period_start AND p.period_end
),
identified AS (
    SELECT DISTINCT d.death_id
    FROM chosen AS d
    JOIN register AS r ON r.person_id = d.person_id AND r.date_added <= d.date_of_death
),
measured AS (
    -- Only rows that touch the 90-day window count here (the macro's rows also reach
    -- back a year, for specialist palliative care).
    SELECT * FROM last90_activity($emergency_methods, $bed_days_nights, $period)
    WHERE end_date >= window_start
),
per_death AS (
    SELECT
        death_id,
        sum(window_bed_days) AS bed_days,
        count(*) FILTER (WHERE is_emergency AND starts_in_window) AS ea_admissions,
        sum(window_bed_days) FILTER (WHERE is_emergency AND is_admission) AS ea_bed_days,
        -- DECIMAL (to the penny), as in activity_last90.sql: a sum of doubles taken in
        -- parallel differs in its last bits from run to run; pennies add up exactly.
        sum(CAST(CASE WHEN is_emergency AND starts_in_window
                 THEN coalesce(cost, window_bed_days * CAST($unit_cost_per_bed_day AS DOUBLE))
            END AS DECIMAL(18, 2))) AS ea_cost,
        sum(CAST(cost AS DECIMAL(18, 2)))
            FILTER (WHERE is_admission AND starts_in_window AND cost IS NOT NULL)
            AS costed_cost,
        sum(date_diff('day', start_date, coalesce(recorded_end, date_of_death))
            + CASE WHEN $bed_days_nights THEN 0 ELSE 1 END)
            FILTER (WHERE is_admission AND starts_in_window AND cost IS NOT NULL)
            AS costed_days
    FROM measured
    GROUP BY death_id
),
described AS (
    SELECT
        d.place,
        coalesce(p.bed_days, 0) AS bed_days,
        coalesce(p.ea_admissions, 0) AS ea_admissions,
        coalesce(p.ea_bed_days, 0) AS ea_bed_days,
        coalesce(p.ea_cost, 0) AS ea_cost,
        coalesce(p.costed_cost, 0) AS costed_cost,
        coalesce(p.costed_days, 0) AS costed_days,
        list_concat(
            ['all'],
            CASE WHEN d.pc_need AND i.death_id IS NOT NULL THEN ['need_identified']
                 WHEN d.pc_need THEN ['need_unidentified'] ELSE [] END,
            CASE WHEN $exclude_external AND d.external_cause THEN []
                 WHEN d.place_of_death IN ('home', 'care_home', 'religious')
                     THEN ['usual_residence']
                 WHEN d.place_of_death = 'hospital' THEN ['hospital'] ELSE [] END
        ) AS groups
    FROM chosen AS d
    LEFT JOIN identified AS i USING (death_id)
    LEFT JOIN per_death AS p USING (death_id)
),
spread AS (
    SELECT *, unnest(groups) AS grp FROM described
)
SELECT
    CASE WHEN grouping(place) = 1 THEN 'icb' ELSE 'place' END AS area_type,
    place AS area_code,
    grp,
    count(*) AS deaths,
    sum(bed_days) AS bed_days,
    sum(bed_days * bed_days) AS bed_days_sumsq,
    sum(ea_admissions) AS ea_admissions,
    count(*) FILTER (WHERE ea_admissions > 0) AS ea_people,
    sum(ea_bed_days) AS ea_bed_days,
    sum(ea_cost) AS ea_cost,
    sum(costed_cost) AS costed_cost,
    sum(costed_days) AS costed_days
FROM spread
GROUP BY GROUPING SETS ((place, grp), (grp))

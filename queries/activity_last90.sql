-- activity_last90: hospital and community care at the end of life.
--
-- Window, emergency classification and bed days: last90_activity.sql (shared with
-- scenario_inputs.sql). The window is the 90 days ending on the date of death,
-- inclusive; specialist palliative care uses the last year (365 days). Admissions
-- count when they start in the window; bed days are each admitted stay clipped to it.
-- Indicators (denominator: all deaths = `deaths`):
--   ea_last90_any_pct     ea_any (1+ emergency admissions)
--   ea_last90_3plus_pct   ea_3plus (3+ emergency admissions)
--   bed_days_last90_mean  bed_days (sum; bed_days_sumsq for the standard deviation)
--   ae_last90_mean        ae_attendances (sum; ae_attendances_sumsq)
--   spc_last_year_pct     spc_any (specialist palliative contact, treatment function 315
--                         or hospice inpatient episode in the last 365 days)
--   community_last90_pct  community_any
--   hospital_cost_last90  hospital_cost: cost of admissions and A&E attendances starting
--                         in the window; an admission with no cost counts its bed days in
--                         the window x $unit_cost_per_bed_day (when configured).
-- Uses: last90_activity
-- Reads: deaths_in_scope, activity, assess_periods.
-- Speed: the matching of deaths to activity is last90_activity's. Each death's
-- measures are summed once; deaths are then counted per period and cell (cell_id: one
-- per combination of breakdown values, deaths_in_scope.sql) and only the cells are
-- spread over the breakdowns. Sums and sums of squares of whole numbers and of pennies are exact, so the
-- result is the same as summing every death in every breakdown.

WITH period_days AS (
    SELECT d.date_of_death, p.period, p.kind
    FROM (SELECT DISTINCT date_of_death FROM deaths_in_scope) AS d
    JOIN assess_periods AS p
      ON d.date_of_death BETWEEN p.period_start AND p.period_end
),
measured AS (
    SELECT * FROM last90_activity($emergency_methods, $bed_days_nights, NULL)
),
per_death AS (
    -- Deaths with activity only; the others count with zeros (cells below).
    SELECT
        death_id,
        -- One value per death: cheaper as aggregates than as grouping keys.
        any_value(cell_id) AS cell_id,
        any_value(date_of_death) AS date_of_death,
        count(*) FILTER (WHERE is_emergency AND starts_in_window) AS emergency_admissions,
        sum(window_bed_days) AS bed_days,
        count(*) FILTER (WHERE is_ae AND starts_in_window) AS ae_attendances,
        count(*) FILTER (WHERE is_palliative AND start_date >= date_of_death - 364)
            AS palliative_contacts,
        count(*) FILTER (WHERE is_community AND starts_in_window) AS community_contacts,
        -- DECIMAL (to the penny) keeps the sums exact and so reproducible.
        sum(CAST(CASE
            WHEN NOT starts_in_window THEN 0
            WHEN is_ae THEN coalesce(cost, 0)
            WHEN is_admission
                THEN coalesce(cost, window_bed_days * CAST($unit_cost_per_bed_day AS DOUBLE), 0)
            ELSE 0
        END AS DECIMAL(18, 2))) AS hospital_cost
    FROM measured
    -- Only the palliative contacts look back a whole year.
    WHERE starts_in_window OR window_bed_days > 0 OR is_palliative
    GROUP BY death_id
),
cell_deaths AS (
    SELECT p.period, p.kind, d.cell_id, count(*) AS deaths
    FROM deaths_in_scope AS d
    JOIN period_days AS p USING (date_of_death)
    GROUP BY ALL
),
cell_activity AS (
    SELECT
        p.period, p.kind, x.cell_id,
        count(*) FILTER (WHERE x.emergency_admissions >= 1) AS ea_any,
        count(*) FILTER (WHERE x.emergency_admissions >= 3) AS ea_3plus,
        sum(x.bed_days) AS bed_days,
        sum(x.bed_days * x.bed_days) AS bed_days_sumsq,
        sum(x.ae_attendances) AS ae_attendances,
        sum(x.ae_attendances * x.ae_attendances) AS ae_attendances_sumsq,
        count(*) FILTER (WHERE x.palliative_contacts >= 1) AS spc_any,
        count(*) FILTER (WHERE x.community_contacts >= 1) AS community_any,
        sum(x.hospital_cost) AS hospital_cost
    FROM per_death AS x
    JOIN period_days AS p USING (date_of_death)
    GROUP BY ALL
),
cells AS (
    SELECT
        t.period, t.kind, c.place, c.imd_quintile, c.sex, c.age_band, c.age_group,
        c.ethnic_group, c.ethnic_group_broad, c.cause_group,
        t.deaths,
        coalesce(a.ea_any, 0) AS ea_any,
        coalesce(a.ea_3plus, 0) AS ea_3plus,
        coalesce(a.bed_days, 0) AS bed_days,
        coalesce(a.bed_days_sumsq, 0) AS bed_days_sumsq,
        coalesce(a.ae_attendances, 0) AS ae_attendances,
        coalesce(a.ae_attendances_sumsq, 0) AS ae_attendances_sumsq,
        coalesce(a.spc_any, 0) AS spc_any,
        coalesce(a.community_any, 0) AS community_any,
        coalesce(a.hospital_cost, 0) AS hospital_cost
    FROM cell_deaths AS t
    LEFT JOIN cell_activity AS a USING (period, kind, cell_id)
    JOIN death_cells AS c USING (cell_id)
),
by_breakdown AS (
    SELECT c.*, unnest(breakdown_rows(c.kind, c.imd_quintile, c.sex, c.age_band,
                                      c.age_group, c.ethnic_group,
                                      c.ethnic_group_broad, c.cause_group), recursive := true)
    FROM cells AS c
)
SELECT
    CASE WHEN grouping(place) = 1 THEN 'icb' ELSE 'place' END AS area_type,
    place AS area_code,
    period,
    breakdown,
    breakdown_value,
    CAST(sum(deaths) AS BIGINT) AS deaths,
    CAST(sum(ea_any) AS BIGINT) AS ea_any,
    CAST(sum(ea_3plus) AS BIGINT) AS ea_3plus,
    -- Sums and sums of squares of whole numbers are exact, so the standard deviation
    -- assess derives from them is the same on every run (a parallel stddev_samp over
    -- doubles can differ in the last bit between runs).
    sum(bed_days) AS bed_days,
    sum(bed_days_sumsq) AS bed_days_sumsq,
    sum(ae_attendances) AS ae_attendances,
    sum(ae_attendances_sumsq) AS ae_attendances_sumsq,
    CAST(sum(spc_any) AS BIGINT) AS spc_any,
    CAST(sum(community_any) AS BIGINT) AS community_any,
    sum(hospital_cost) AS hospital_cost
FROM by_breakdown
GROUP BY GROUPING SETS (
    (period, breakdown, breakdown_value, place),
    (period, breakdown, breakdown_value)
)

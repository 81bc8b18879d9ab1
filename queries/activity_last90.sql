-- activity_last90: hospital and community care at the end of life.
--
-- Window: the 90 days ending on the date of death, inclusive (date of death - 89 ..
-- date of death); specialist palliative care uses the last year (365 days).
-- Emergency admission: admission_method in $emergency_methods where the method is
-- recorded, else activity_type = 'emergency_admission'. Admissions count when they start
-- in the window. Bed days: every admitted stay overlapping the window, clipped to it;
-- inclusive days (min(discharge, death) - max(admission, window start) + 1), or nights
-- (the same without + 1) when $bed_days_nights; a stay with no discharge date runs to
-- the date of death.
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
-- Reads: deaths_in_scope, activity, assess_periods.
-- Speed: only deaths in a reporting period are matched to activity (a hash join on
-- person_id, the window applied to its output in whole days), and each activity row's
-- type is classified once, before the join. Each death's measures are summed once;
-- deaths are then counted per period and cell (cell_id: one per combination of
-- breakdown values, deaths_in_scope.sql) and only the cells are spread over the
-- breakdowns. Sums and sums of squares of whole numbers and of pennies are exact, so the
-- result is the same as summing every death in every breakdown.

WITH period_days AS (
    SELECT d.date_of_death, p.period, p.kind
    FROM (SELECT DISTINCT date_of_death FROM deaths_in_scope) AS d
    JOIN assess_periods AS p
      ON d.date_of_death BETWEEN p.period_start AND p.period_end
),
in_periods AS (
    SELECT d.death_id, d.person_id, d.date_of_death, d.cell_id
    FROM deaths_in_scope AS d
    SEMI JOIN (SELECT DISTINCT date_of_death FROM period_days) AS p USING (date_of_death)
),
classified AS (
    SELECT
        person_id,
        start_date,
        end_date,
        cost,
        CASE WHEN admission_method IS NOT NULL
             THEN list_contains($emergency_methods, admission_method)
             ELSE activity_type = 'emergency_admission'
        END AS is_emergency,
        (activity_type IN ('emergency_admission', 'elective_admission')
         OR admission_method IS NOT NULL) AS is_admission,
        activity_type = 'ae_attendance' AS is_ae,
        activity_type = 'community_contact' AS is_community,
        (activity_type IN ('specialist_palliative_contact', 'hospice_inpatient')
         OR treatment_function = '315') AS is_palliative
    FROM activity
),
linked AS (
    SELECT
        d.death_id,
        d.cell_id,
        d.date_of_death,
        -- DATE - INTEGER is a DATE: the window's first day.
        d.date_of_death - 89 AS window_start,
        a.start_date,
        coalesce(a.end_date, d.date_of_death) AS end_date,
        a.cost,
        a.is_emergency,
        a.is_admission,
        a.is_ae,
        a.is_community,
        a.is_palliative
    FROM in_periods AS d
    JOIN classified AS a ON a.person_id = d.person_id
    -- Started on or before the date of death, and could touch the last year: started in
    -- it, or a stay still running. Written as differences in days so that they filter
    -- the join's output rather than being checked inside the join (which costs more).
    WHERE d.date_of_death - a.start_date >= 0
      AND d.date_of_death - greatest(a.start_date, coalesce(a.end_date, a.start_date)) <= 364
),
measured AS (
    SELECT
        *,
        start_date >= window_start AS starts_in_window,
        CASE WHEN is_admission AND end_date >= window_start THEN greatest(
            date_diff('day', greatest(start_date, window_start),
                      least(end_date, date_of_death))
            + CASE WHEN $bed_days_nights THEN 0 ELSE 1 END,
            0)
        ELSE 0 END AS window_bed_days
    FROM linked
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
        c.ethnic_group, c.cause_group,
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
                                      c.age_group, c.ethnic_group, c.cause_group), recursive := true)
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

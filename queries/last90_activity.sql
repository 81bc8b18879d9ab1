-- last90_activity: the activity of each death at the end of life, one row per activity
-- row, classified and measured once for every query that counts it
-- (activity_last90.sql, the indicators; scenario_inputs.sql, the what-if scenarios), so
-- the two cannot drift apart. A table macro, created before the query that uses it
-- (run_query runs this file for any query whose header says "Uses: last90_activity").
--
-- last90_activity(emergency_methods, bed_days_nights, one_period):
--   the deaths of deaths_in_scope whose date of death is in a period of assess_periods
--   (one_period NULL), or in that one period; each joined to its activity rows that
--   started on or before the date of death and could touch its last year of life
--   (started in it, or a stay still running in it: an admission with no discharge
--   date runs to the date of death).
-- Columns: death_id, cell_id, date_of_death, window_start (date of death - 89: the
-- 90-day window, inclusive), start_date, end_date (a missing one as the date of
-- death), recorded_end (as recorded), cost, is_emergency (admission_method in
-- emergency_methods where the method is recorded, else activity_type
-- emergency_admission), is_admission, is_ae, is_community, is_palliative (specialist
-- palliative contact, hospice episode or treatment function 315), starts_in_window,
-- window_bed_days (an admitted stay clipped to the window: inclusive days, or nights
-- when bed_days_nights; 0 for anything else, and for a stay whose end date, before its
-- start, not a date or in the future, ingest blanked: it counts as an admission, but
-- its length is unknown).
-- Reads: deaths_in_scope, assess_periods, activity, field_actions.
-- Speed: only deaths in the periods are matched to activity (a hash join on person_id,
-- the window applied to its output in whole days), and each activity row's type is
-- classified once, before the join.

CREATE OR REPLACE TEMP MACRO last90_activity(emergency_methods, bed_days_nights,
                                             one_period) AS TABLE
WITH period_dates AS (
    SELECT DISTINCT d.date_of_death
    FROM (SELECT DISTINCT date_of_death FROM deaths_in_scope) AS d
    JOIN assess_periods AS p
      ON d.date_of_death BETWEEN p.period_start AND p.period_end
    WHERE one_period IS NULL OR p.period = one_period
),
in_periods AS (
    SELECT d.death_id, d.person_id, d.date_of_death, d.cell_id
    FROM deaths_in_scope AS d
    SEMI JOIN period_dates AS p USING (date_of_death)
),
-- Stays of unknown length: ingest blanked an end date before the start, not a date or
-- in the future (the reason ends as ingest.UNKNOWN_LENGTH says). Not run to the date
-- of death.
unknown_length AS (
    SELECT DISTINCT file_id, row_number
    FROM field_actions
    WHERE dataset = 'activity' AND column_name = 'end_date'
      AND contains(reason, 'with no bed days (its length is unknown)')
),
classified AS (
    SELECT
        person_id,
        start_date,
        end_date,
        u.row_number IS NOT NULL AS length_unknown,
        cost,
        CASE WHEN admission_method IS NOT NULL
             THEN list_contains(emergency_methods, admission_method)
             ELSE activity_type = 'emergency_admission'
        END AS is_emergency,
        (activity_type IN ('emergency_admission', 'elective_admission')
         OR admission_method IS NOT NULL) AS is_admission,
        activity_type = 'ae_attendance' AS is_ae,
        activity_type = 'community_contact' AS is_community,
        (activity_type IN ('specialist_palliative_contact', 'hospice_inpatient')
         OR treatment_function = '315') AS is_palliative
    FROM activity AS a
    LEFT JOIN unknown_length AS u
      ON u.file_id = a.source_file_id AND u.row_number = a.source_row
),
linked AS (
    SELECT
        d.death_id,
        d.cell_id,
        d.date_of_death,
        -- DATE - INTEGER is a DATE: the window's first day.
        d.date_of_death - 89 AS window_start,
        a.start_date,
        coalesce(a.end_date, CASE WHEN NOT a.length_unknown THEN d.date_of_death END)
            AS end_date,
        a.end_date AS recorded_end,
        a.cost,
        a.is_emergency,
        a.is_admission,
        a.is_ae,
        a.is_community,
        a.is_palliative
    FROM in_periods AS d
    JOIN classified AS a ON a.person_id = d.person_id
    -- Started on or before the date of death, and could touch the last year: started in
    -- it, or a stay still running (an admission with no discharge date runs to the date
    -- of death). Written as differences in days so that they filter the join's output
    -- rather than being checked inside the join (which costs more).
    WHERE d.date_of_death - a.start_date >= 0
      AND d.date_of_death - greatest(a.start_date, coalesce(
              a.end_date, CASE WHEN a.is_admission AND NOT a.length_unknown
                               THEN d.date_of_death END, a.start_date))
          <= 364
)
SELECT
    *,
    start_date >= window_start AS starts_in_window,
    CASE WHEN is_admission AND end_date >= window_start THEN greatest(
        date_diff('day', greatest(start_date, window_start), least(end_date, date_of_death))
        + CASE WHEN bed_days_nights THEN 0 ELSE 1 END,
        0)
    ELSE 0 END AS window_bed_days
FROM linked

-- coverage: the dates each source of data covers, per kind of data an indicator needs
-- (eolneeds.coverage), and per file it came from (validate's date coverage table).
--
-- One row per (source, file): source is deaths, register, admitted (admitted patient
-- care: emergency or elective admissions, or any row with an admission method),
-- ae (A&E attendances), community (community contacts), palliative (specialist
-- palliative contacts, hospice episodes, treatment function 315). The activity
-- classification is last90_activity.sql's, so that coverage speaks of the very rows
-- the indicators count. A row may be of two kinds (an admission under palliative
-- medicine is admitted and palliative). first_date / last_date: the first and last
-- date of death, date added or start date; rows: rows with a date; file_first /
-- file_last: the span of the file's rows of its dataset, whatever their kind.
-- Reads: deaths, register, activity, ingest_log (the file names).

WITH dated AS (
    SELECT 'deaths' AS source, source_file_id, date_of_death AS day FROM deaths
    UNION ALL
    SELECT 'register', source_file_id, date_added FROM register
    UNION ALL
    SELECT unnest(list_filter([
               CASE WHEN activity_type IN ('emergency_admission', 'elective_admission')
                         OR admission_method IS NOT NULL THEN 'admitted' END,
               CASE WHEN activity_type = 'ae_attendance' THEN 'ae' END,
               CASE WHEN activity_type = 'community_contact' THEN 'community' END,
               CASE WHEN activity_type IN ('specialist_palliative_contact',
                                           'hospice_inpatient')
                         OR treatment_function = '315' THEN 'palliative' END],
               lambda k: k IS NOT NULL)),
           source_file_id, start_date
    FROM activity
)
SELECT
    d.source,
    coalesce(l.file_name, '(file not recorded)') AS file_name,
    min(d.day) AS first_date,
    max(d.day) AS last_date,
    count(*) AS rows,
    -- The whole file's span, every kind of row in it: a kind of activity is covered as
    -- far as the files holding it are (a few specialist palliative contacts in a
    -- community extract that runs to March are not an extract that stops in January).
    min(f.file_first) AS file_first,
    max(f.file_last) AS file_last
FROM dated AS d
JOIN (SELECT source_file_id, min(day) AS file_first, max(day) AS file_last
      FROM dated GROUP BY source_file_id) AS f
  ON f.source_file_id IS NOT DISTINCT FROM d.source_file_id
LEFT JOIN ingest_log AS l ON l.file_id = d.source_file_id
WHERE d.day IS NOT NULL
GROUP BY ALL
ORDER BY d.source, first_date, file_name

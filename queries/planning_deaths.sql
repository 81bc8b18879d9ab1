-- planning_deaths: one row per death in a reporting period (months left out), with the
-- death's GP practice and PCN and what its register entries record before death. The
-- base of advance_care_planning.sql and practice_variation.sql.
--
-- Practice: the death's registered practice (deaths.gp_practice), else the practice of
-- the person's latest register entry on or before death, else of their earliest entry
-- after it; 'unknown' when none. PCN: the practice's current PCN in `practices` (the
-- relationship with no end date, else the one that ended last; ties by the later
-- start) -- one PCN per practice, so practices add up exactly to their PCN; 'no_pcn'
-- for a practice listed without a PCN (ODS's epraccur: practices rows with no pcn_code,
-- their dates the practice's opening and closing) that was open at some time in the
-- assessment's periods -- published at practice level, and as "no PCN" in PCN tables,
-- never dropped;
-- 'unknown' when the practice is in neither or no lookup was ingested.
-- Register (entries dated on or before the date of death; later entries do not count):
--   register_days   days from the first entry to death
--   dnacpr_days     days from the first entry recording a DNACPR decision to death
--   acp_days        days from the first entry recording an advance care plan to death
--   ppod_days       days from the first entry recording a preferred place of death
--                   ('unknown' is not a preference) to death
--   preferred_place the latest such preference (the one that applied)
-- NULL days = not recorded before death.
-- Reads: deaths_in_scope, deaths (gp_practice), register, practices, assess_periods.

CREATE OR REPLACE TEMP TABLE planning_deaths AS
WITH in_periods AS (
    SELECT
        p.period, d.death_id, d.person_id, d.date_of_death, d.place, d.imd_quintile,
        d.pc_need, d.place_of_death
    FROM deaths_in_scope AS d
    JOIN assess_periods AS p
      ON d.date_of_death BETWEEN p.period_start AND p.period_end
    WHERE p.kind <> 'month'
),
people AS (
    SELECT DISTINCT death_id, person_id, date_of_death FROM in_periods
),
entries AS (
    SELECT
        d.death_id,
        min(r.date_added) FILTER (WHERE r.date_added <= d.date_of_death) AS first_added,
        min(r.date_added) FILTER (WHERE r.date_added <= d.date_of_death AND r.dnacpr)
            AS first_dnacpr,
        min(r.date_added) FILTER (WHERE r.date_added <= d.date_of_death
                                    AND r.advance_care_plan) AS first_acp,
        min(r.date_added) FILTER (
            WHERE r.date_added <= d.date_of_death
              AND r.preferred_place_of_death IS NOT NULL
              AND r.preferred_place_of_death <> 'unknown') AS first_ppod,
        arg_max(r.preferred_place_of_death, r.date_added) FILTER (
            WHERE r.date_added <= d.date_of_death
              AND r.preferred_place_of_death IS NOT NULL
              AND r.preferred_place_of_death <> 'unknown') AS preferred_place,
        arg_max(r.gp_practice, r.date_added) FILTER (
            WHERE r.date_added <= d.date_of_death AND r.gp_practice IS NOT NULL)
            AS practice_before,
        arg_min(r.gp_practice, r.date_added) FILTER (
            WHERE r.date_added > d.date_of_death AND r.gp_practice IS NOT NULL)
            AS practice_after
    FROM people AS d
    JOIN register AS r ON r.person_id = d.person_id
    GROUP BY d.death_id
),
current_pcn AS (
    -- ORDER BY inside arg_max is not needed: one key orders the relationships.
    SELECT
        practice_code,
        arg_max(pcn_code, struct_pack(open := end_date IS NULL,
                                      ended := coalesce(end_date, DATE '9999-12-31'),
                                      started := coalesce(start_date, DATE '1900-01-01'),
                                      pcn := pcn_code)) AS pcn_code
    FROM practices
    WHERE pcn_code IS NOT NULL
    GROUP BY practice_code
),
span AS (
    SELECT min(period_start) AS first_day, max(period_end) AS last_day
    FROM assess_periods WHERE kind <> 'month'
),
listed AS (
    -- Practices listed without a PCN, open at some time in the assessment's span. One
    -- answer per practice whatever the period: the PCN tables nest practices in PCNs
    -- (disclosure control relies on it), so a practice is never in two.
    SELECT DISTINCT l.practice_code
    FROM practices AS l, span AS s
    WHERE l.pcn_code IS NULL
      AND coalesce(l.start_date, DATE '1900-01-01') <= s.last_day
      AND coalesce(l.end_date, DATE '9999-12-31') >= s.first_day
)
SELECT
    d.period, d.death_id, d.place, d.imd_quintile, d.pc_need, d.place_of_death,
    coalesce(src.gp_practice, e.practice_before, e.practice_after, 'unknown') AS gp_practice,
    coalesce(c.pcn_code, CASE WHEN l.practice_code IS NOT NULL THEN 'no_pcn' END,
             'unknown') AS pcn,
    date_diff('day', e.first_added, d.date_of_death) AS register_days,
    date_diff('day', e.first_dnacpr, d.date_of_death) AS dnacpr_days,
    date_diff('day', e.first_acp, d.date_of_death) AS acp_days,
    date_diff('day', e.first_ppod, d.date_of_death) AS ppod_days,
    e.preferred_place
FROM in_periods AS d
JOIN deaths AS src ON src.rowid = d.death_id
LEFT JOIN entries AS e USING (death_id)
LEFT JOIN current_pcn AS c
  ON c.practice_code = coalesce(src.gp_practice, e.practice_before, e.practice_after)
LEFT JOIN listed AS l
  ON l.practice_code = coalesce(src.gp_practice, e.practice_before, e.practice_after);

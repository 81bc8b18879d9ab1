-- practice_variation: identification before death per GP practice and per Primary Care
-- Network, for the ICB (breakdown gp_practice / pcn; see planning_deaths.sql for how a
-- death gets its practice and PCN). Same columns and definitions as register.sql, so
-- assess adds these rows to the register indicators' own:
--   on_register_need_pct  need_on_register / need_deaths
--   register_days_median  median days from the first entry to death, among on_register
--   register_late_pct     register_late (first entry 0-30 days before death) / on_register
--   ppod_recorded_pct     ppod_recorded / on_register
--   ppod_achieved_pct     ppod_achieved / ppod_recorded
-- Every death has a practice and a PCN ('unknown' included), so the practices add up to
-- their PCN and both add up to the ICB: disclosure control relies on it (practice.py).
-- Reads: planning_deaths.

WITH spread AS (
    SELECT d.*, b.breakdown, b.breakdown_value
    FROM planning_deaths AS d,
    LATERAL (VALUES ('gp_practice', d.gp_practice), ('pcn', d.pcn))
        AS b(breakdown, breakdown_value)
)
SELECT
    'icb' AS area_type,
    CAST(NULL AS VARCHAR) AS area_code,
    period,
    breakdown,
    breakdown_value,
    count(*) AS deaths,
    count(*) FILTER (WHERE register_days IS NOT NULL) AS on_register,
    count(*) FILTER (WHERE pc_need) AS need_deaths,
    count(*) FILTER (WHERE pc_need AND register_days IS NOT NULL) AS need_on_register,
    count(*) FILTER (WHERE pc_need AND register_days IS NULL) AS need_unidentified,
    quantile_cont(register_days, 0.5) AS register_days_median,
    count(*) FILTER (WHERE register_days <= 30) AS register_late,
    count(*) FILTER (WHERE register_days IS NOT NULL AND preferred_place IS NOT NULL)
        AS ppod_recorded,
    count(*) FILTER (WHERE register_days IS NOT NULL AND preferred_place = place_of_death)
        AS ppod_achieved
FROM spread
GROUP BY period, breakdown, breakdown_value

-- advance_care_planning: DNACPR decisions, advance care plans and preferred place of
-- death recorded before death, among need deaths and among deaths of people on a
-- palliative care register, and how long before death each was first recorded.
--
-- Indicators (numerator / denominator):
--   dnacpr_need_pct      dnacpr_need (need deaths with a DNACPR decision recorded on an
--                        entry dated on or before death) / need_deaths
--   dnacpr_register_pct  dnacpr_register / on_register (deaths on a register before death)
--   acp_need_pct         acp_need / need_deaths
--   acp_register_pct     acp_register / on_register
--   ppod_need_pct        ppod_need / need_deaths (ppod_recorded_pct, register.sql, is the
--                        same among deaths on a register)
--   dnacpr_days_median   median days from the first DNACPR entry to death, among deaths
--                        with one (dnacpr_dated); likewise acp_days_median (acp_dated)
--                        and ppod_days_median (ppod_dated)
-- Breakdowns: all and imd_quintile per Place and ICB; gp_practice and pcn for the ICB
-- only (a practice's deaths, wherever in the ICB they lived; see planning_deaths.sql).
-- Reads: planning_deaths.

WITH per_death AS (
    SELECT
        *,
        register_days IS NOT NULL AS on_register,
        dnacpr_days IS NOT NULL AS dnacpr,
        acp_days IS NOT NULL AS acp,
        ppod_days IS NOT NULL AS ppod
    FROM planning_deaths
),
spread AS (
    SELECT d.*, b.breakdown, b.breakdown_value
    FROM per_death AS d,
    LATERAL (
        VALUES ('all', 'all'), ('imd_quintile', d.imd_quintile),
               ('gp_practice', d.gp_practice), ('pcn', d.pcn)
    ) AS b(breakdown, breakdown_value)
),
counted AS (
    SELECT
        CASE WHEN grouping(place) = 1 THEN 'icb' ELSE 'place' END AS area_type,
        place AS area_code,
        period,
        breakdown,
        breakdown_value,
        count(*) AS deaths,
        count(*) FILTER (WHERE pc_need) AS need_deaths,
        count(*) FILTER (WHERE on_register) AS on_register,
        count(*) FILTER (WHERE pc_need AND dnacpr) AS dnacpr_need,
        count(*) FILTER (WHERE on_register AND dnacpr) AS dnacpr_register,
        count(*) FILTER (WHERE pc_need AND acp) AS acp_need,
        count(*) FILTER (WHERE on_register AND acp) AS acp_register,
        count(*) FILTER (WHERE pc_need AND ppod) AS ppod_need,
        count(*) FILTER (WHERE dnacpr) AS dnacpr_dated,
        count(*) FILTER (WHERE acp) AS acp_dated,
        count(*) FILTER (WHERE ppod) AS ppod_dated,
        quantile_cont(dnacpr_days, 0.5) AS dnacpr_days_median,
        quantile_cont(acp_days, 0.5) AS acp_days_median,
        quantile_cont(ppod_days, 0.5) AS ppod_days_median
    FROM spread
    GROUP BY GROUPING SETS (
        (period, breakdown, breakdown_value, place),
        (period, breakdown, breakdown_value)
    )
)
-- Practices and PCNs are ICB-wide rows: Place rows would only split a practice (counting
-- them and dropping them is simpler than a second grouping, and costs little).
SELECT * FROM counted
WHERE area_type = 'icb' OR breakdown IN ('all', 'imd_quintile')

-- place_of_death: where people died.
--
-- Indicators (denominator: all deaths = `deaths`): pod_home_pct (pod_home),
-- pod_care_home_pct (pod_care_home), pod_hospital_pct (pod_hospital), pod_hospice_pct
-- (pod_hospice), pod_other_pct (pod_other: other places and religious establishments);
-- diupr_pct: home + care home + religious establishment (diupr) over `diupr_deaths`,
-- which leaves out deaths from external causes when $exclude_external is true (the
-- national indicator's choice; [methods] diupr_exclude_external_causes).
-- Unknown place of death stays in the denominators (pod_unknown, for data quality).
-- Reads: deaths_in_scope, assess_periods.

WITH death_periods AS (
    SELECT p.period, p.kind, d.*
    FROM deaths_in_scope AS d
    JOIN assess_periods AS p
      ON d.date_of_death BETWEEN p.period_start AND p.period_end
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
    count(*) FILTER (WHERE place_of_death = 'home') AS pod_home,
    count(*) FILTER (WHERE place_of_death = 'care_home') AS pod_care_home,
    count(*) FILTER (WHERE place_of_death = 'hospital') AS pod_hospital,
    count(*) FILTER (WHERE place_of_death = 'hospice') AS pod_hospice,
    count(*) FILTER (WHERE place_of_death IN ('other', 'religious')) AS pod_other,
    count(*) FILTER (WHERE place_of_death = 'unknown' OR place_of_death IS NULL) AS pod_unknown,
    count(*) FILTER (
        WHERE place_of_death IN ('home', 'care_home', 'religious')
          AND NOT ($exclude_external AND external_cause)
    ) AS diupr,
    count(*) FILTER (WHERE NOT ($exclude_external AND external_cause)) AS diupr_deaths
FROM by_breakdown
GROUP BY GROUPING SETS (
    (period, breakdown, breakdown_value, place),
    (period, breakdown, breakdown_value)
)

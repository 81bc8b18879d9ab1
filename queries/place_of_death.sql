-- place_of_death: where people died.
--
-- Indicators (denominator: all deaths = `deaths`): pod_home_pct (pod_home),
-- pod_care_home_pct (pod_care_home: care homes and religious establishments),
-- pod_hospital_pct (pod_hospital), pod_hospice_pct (pod_hospice), pod_other_pct
-- (pod_other: other places, elsewhere and other communal establishments);
-- diupr_pct: home + care home + religious establishment (diupr) over `diupr_deaths`,
-- which leaves out deaths from external causes when $exclude_external is true (the
-- national indicator's choice; [methods] diupr_exclude_external_causes, default false:
-- all deaths, README "Deaths in usual place of residence (DiUPR)").
-- Unknown place of death stays in the denominators (pod_unknown, for data quality).
-- Religious establishments are published within care homes, not in 'other places' as
-- the national five-way classification has them: a fixed publication definition, the
-- same for every area and period (README, "rare categories are merged, not hidden").
-- Both are communal establishments people live in, and the national DiUPR counts both
-- as the usual place of residence, so DiUPR = home + care home exactly. In 'other
-- places' the religious deaths (about 0.1% of deaths: 1-7 in most Places and years)
-- would be DiUPR - home - care home, a small count any reader could work out, and
-- protecting it hid the headline care-home and 'other places' figures of most Places.
-- Reads: deaths_in_scope, assess_periods.
-- Speed: as in mortality.sql, deaths are counted per period and cell first and only the
-- cells are spread over the breakdowns (sums of counts are exact).

WITH period_days AS (
    SELECT d.date_of_death, p.period, p.kind
    FROM (SELECT DISTINCT date_of_death FROM deaths_in_scope) AS d
    JOIN assess_periods AS p
      ON d.date_of_death BETWEEN p.period_start AND p.period_end
),
cell_counts AS (
    SELECT
        p.period, p.kind, d.cell_id,
        count(*) AS deaths,
        count(*) FILTER (WHERE d.place_of_death = 'home') AS pod_home,
        count(*) FILTER (WHERE d.place_of_death IN ('care_home', 'religious'))
            AS pod_care_home,
        count(*) FILTER (WHERE d.place_of_death = 'hospital') AS pod_hospital,
        count(*) FILTER (WHERE d.place_of_death = 'hospice') AS pod_hospice,
        count(*) FILTER (WHERE d.place_of_death = 'other') AS pod_other,
        count(*) FILTER (WHERE d.place_of_death = 'unknown' OR d.place_of_death IS NULL)
            AS pod_unknown,
        count(*) FILTER (
            WHERE d.place_of_death IN ('home', 'care_home', 'religious')
              AND NOT ($exclude_external AND d.external_cause)
        ) AS diupr,
        count(*) FILTER (WHERE NOT ($exclude_external AND d.external_cause)) AS diupr_deaths
    FROM deaths_in_scope AS d
    JOIN period_days AS p USING (date_of_death)
    GROUP BY ALL
),
cells AS (
    SELECT * FROM cell_counts JOIN death_cells USING (cell_id)
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
    CAST(sum(pod_home) AS BIGINT) AS pod_home,
    CAST(sum(pod_care_home) AS BIGINT) AS pod_care_home,
    CAST(sum(pod_hospital) AS BIGINT) AS pod_hospital,
    CAST(sum(pod_hospice) AS BIGINT) AS pod_hospice,
    CAST(sum(pod_other) AS BIGINT) AS pod_other,
    CAST(sum(pod_unknown) AS BIGINT) AS pod_unknown,
    CAST(sum(diupr) AS BIGINT) AS diupr,
    CAST(sum(diupr_deaths) AS BIGINT) AS diupr_deaths
FROM by_breakdown
GROUP BY GROUPING SETS (
    (period, breakdown, breakdown_value, place),
    (period, breakdown, breakdown_value)
)

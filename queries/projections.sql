-- projections: projected annual deaths and palliative care need to $last_year
-- (pc_need_projected; Etkind et al. 2017, "stable proportions").
--
-- Per Place, sex and ESP2013 age band: the death rate of the base period
-- ($period_start .. $period_end; deaths / (population of $population_year x
-- $person_years)) applied to the projected population gives projected deaths; the base
-- period's share of those deaths in each cause group (need = every group but 'other')
-- gives projected deaths by cause group and projected need. The ICB is the sum of its
-- Places. Bands with no base population contribute nothing (no rate can be formed).
-- Output: numerator `projected` (need, or deaths in the cause group) and denominator
-- `projected_deaths`.
-- Reads: deaths_in_scope, population, projections, assessment_areas.

WITH base_deaths AS (
    SELECT place, sex, esp_band, cause_group, pc_need, count(*) AS deaths
    FROM deaths_in_scope
    WHERE date_of_death BETWEEN $period_start AND $period_end AND esp_band IS NOT NULL
    GROUP BY ALL
),
base_population AS (
    SELECT a.place, p.sex, p.age_band AS esp_band, sum(p.population) AS population
    FROM population AS p
    JOIN assessment_areas AS a ON a.lsoa_code = p.lsoa_code
    WHERE p.year = $population_year AND list_contains($places, a.place)
    GROUP BY ALL
),
cell_rates AS (
    -- Deaths per person-year in each Place x sex x band, split by cause group.
    SELECT b.place, b.sex, b.esp_band, b.cause_group, b.pc_need,
           b.deaths / (p.population * $person_years) AS rate
    FROM base_deaths AS b
    JOIN base_population AS p USING (place, sex, esp_band)
    WHERE p.population > 0
),
projected_population AS (
    -- Projections by Place, or by LSOA (summed to its Place).
    SELECT coalesce(a.place, pr.area_code) AS place, pr.year, pr.sex,
           pr.age_band AS esp_band, sum(pr.population) AS population
    FROM projections AS pr
    LEFT JOIN assessment_areas AS a ON a.lsoa_code = pr.area_code
    WHERE pr.year BETWEEN $first_year AND $last_year
      AND list_contains($places, coalesce(a.place, pr.area_code))
    GROUP BY ALL
),
projected AS (
    -- A left join keeps every projected Place, with 0 where no base deaths give a rate.
    SELECT pp.place, pp.year, r.cause_group, coalesce(r.pc_need, false) AS pc_need,
           coalesce(pp.population * r.rate, 0) AS deaths
    FROM projected_population AS pp
    LEFT JOIN cell_rates AS r USING (place, sex, esp_band)
),
by_group AS (
    SELECT
        CASE WHEN grouping(place) = 1 THEN 'icb' ELSE 'place' END AS area_type,
        place AS area_code,
        year,
        cause_group,
        sum(deaths) AS projected,
        sum(deaths) FILTER (WHERE pc_need) AS projected_need
    FROM projected
    GROUP BY GROUPING SETS ((year, cause_group, place), (year, cause_group))
)
SELECT
    area_type, area_code, year, 'cause_group' AS breakdown, cause_group AS breakdown_value,
    projected,
    sum(projected) OVER (PARTITION BY area_type, area_code, year) AS projected_deaths
FROM by_group
QUALIFY cause_group IS NOT NULL
UNION ALL
SELECT
    area_type, area_code, year, 'all' AS breakdown, 'all' AS breakdown_value,
    coalesce(sum(projected_need), 0) AS projected,
    sum(projected) AS projected_deaths
FROM by_group
GROUP BY area_type, area_code, year

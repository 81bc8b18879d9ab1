-- deaths_in_scope: the base set every indicator counts from.
--
-- Rows: registered deaths of residents -- the death's LSOA is in `assessment_areas` and maps to one
-- of the Places configured in eolneeds.toml ($places) -- with date of death between
-- $data_start and $data_end (the span of all reporting periods). Deaths with no LSOA or
-- an LSOA outside the ICB are left out here; validate counts them in data quality.
-- Reads: deaths, assessment_areas (the view of areas + lsoa_places + deprivation), ref_pc_need_codes (loaded by assess from
-- eolneeds/reference/pc_need_codes.csv, ranges expanded to single codes),
-- ref_published_categories (eolneeds/reference/published_categories.csv, loaded by
-- categories.load_reference_table): the category each recorded ethnic group and cause
-- group is published in. Rare ones are merged into a wider category here, before any
-- count, so every query breaks down into the same published categories (categories.py).
-- Adds: IMD quintile = ceil(decile / 2) (1 = most deprived), reporting age band, ESP2013
-- five-year band, age group (under_75 / 75_plus), broad ethnic group, cause group and the
-- palliative care need flag (underlying cause on the list: the minimal estimate; an
-- upper estimate uses the contributory causes too), external cause flag (V01-Y89, U50.9,
-- for the DiUPR exclusion).
-- Also: cell_id, the death's combination of breakdown values (place, IMD quintile, sex,
-- age band, age group, ethnic group, cause group), and the table death_cells (cell_id ->
-- those values, one row per combination present). The queries count deaths per period
-- and cell on this one integer and spread only the cells over the breakdowns: much
-- cheaper than grouping every death by seven strings.
-- Also defines the macro breakdown_rows(): the (breakdown, value) pairs each death
-- contributes to, so that every query breaks down in exactly the same way.

CREATE OR REPLACE TEMP TABLE deaths_in_scope AS
WITH resident AS (
    SELECT
        -- The row's id in the deaths table: unique, and free (numbering the deaths in a
        -- sorted order cost a sort of every death). It only joins a death's own rows.
        d.rowid AS death_id,
        d.person_id,
        d.date_of_death,
        a.place,
        CAST(ceil(a.imd_decile / 2) AS INTEGER) AS imd_quintile_number,
        -- Age as given, else from date of birth (complete years at death).
        coalesce(d.age, date_sub('year', d.date_of_birth, d.date_of_death)) AS age,
        d.sex,
        -- Published category (mixed and other are published together, categories.py).
        coalesce(pe.published, d.ethnicity, 'not_known') AS ethnic_group,
        -- The coarser grouping a Place publishes instead (white, the other four groups
        -- together, not known: categories.PLACE_INSTEAD); the ICB publishes both.
        coalesce(pb.published, d.ethnicity, 'not_known') AS ethnic_group_broad,
        d.underlying_cause,
        d.contributory_causes,
        d.place_of_death,
        -- The need list holds three-character categories (C34 for C00-C97) and a few
        -- four-character codes (G122 for G12.2): match either. The list has no overlaps
        -- and one row per code, so these joins never add rows.
        coalesce(n4.cause_group, n3.cause_group) AS need_cause_group
    FROM deaths AS d
    JOIN assessment_areas AS a ON a.lsoa_code = d.lsoa_code
    LEFT JOIN ref_pc_need_codes AS n3 ON n3.code = left(d.underlying_cause, 3)
    LEFT JOIN ref_pc_need_codes AS n4 ON n4.code = left(d.underlying_cause, 4)
    LEFT JOIN ref_published_categories AS pe
      ON pe.breakdown = 'ethnic_group' AND pe.recorded = coalesce(d.ethnicity, 'not_known')
    LEFT JOIN ref_published_categories AS pb
      ON pb.breakdown = 'ethnic_group_broad'
     AND pb.recorded = coalesce(d.ethnicity, 'not_known')
    WHERE d.date_of_death BETWEEN $data_start AND $data_end
      AND list_contains($places, a.place)
),
contributory_need AS (
    -- Only deaths whose underlying cause is not on the list can be added by the upper
    -- estimate, so only their contributory causes are looked up.
    SELECT c.death_id, true AS any_need
    FROM (
        SELECT r.death_id, unnest(r.contributory_causes) AS code
        FROM resident AS r
        WHERE r.contributory_causes IS NOT NULL AND r.need_cause_group IS NULL
    ) AS c
    LEFT JOIN ref_pc_need_codes AS n3 ON n3.code = left(c.code, 3)
    LEFT JOIN ref_pc_need_codes AS n4 ON n4.code = left(c.code, 4)
    WHERE coalesce(n4.cause_group, n3.cause_group) IS NOT NULL
    GROUP BY ALL
),
described AS (
    SELECT
        r.death_id,
        r.person_id,
        r.date_of_death,
        r.place,
        -- A death in an LSOA the deprivation file does not rank (an LSOA of another
        -- vintage, a gap in the file) is in the quintile 'unknown': counted in every
        -- total, published like the unknown age band, and left out of SII/RII.
        coalesce(CAST(r.imd_quintile_number AS VARCHAR), 'unknown') AS imd_quintile,
        r.age,
        CASE
            WHEN r.age IS NULL THEN 'unknown'
            WHEN r.age < 65 THEN '0-64'
            WHEN r.age < 75 THEN '65-74'
            WHEN r.age < 85 THEN '75-84'
            ELSE '85+'
        END AS age_band,
        CASE
            WHEN r.age IS NULL THEN 'unknown'
            WHEN r.age < 75 THEN 'under_75'
            ELSE '75_plus'
        END AS age_group,
        CASE
            WHEN r.age IS NULL THEN NULL
            WHEN r.age >= 90 THEN '90+'
            ELSE CAST(r.age // 5 * 5 AS VARCHAR) || '-' || CAST(r.age // 5 * 5 + 4 AS VARCHAR)
        END AS esp_band,
        r.sex,
        r.ethnic_group,
        r.ethnic_group_broad,
        r.underlying_cause,
        -- Deaths with no recorded cause are in 'other': not on the need list. The
        -- published group: HIV is published with neurodegenerative disease (categories.py).
        coalesce(pc.published, r.need_cause_group, 'other') AS cause_group,
        r.need_cause_group IS NOT NULL AS pc_need,
        (r.need_cause_group IS NOT NULL OR coalesce(c.any_need, false)) AS pc_need_upper,
        coalesce(
            left(r.underlying_cause, 3) BETWEEN 'V01' AND 'Y89'
            OR left(r.underlying_cause, 4) = 'U509',
            false
        ) AS external_cause,
        r.place_of_death
    FROM resident AS r
    LEFT JOIN contributory_need AS c USING (death_id)
    LEFT JOIN ref_published_categories AS pc
      ON pc.breakdown = 'cause_group' AND pc.recorded = r.need_cause_group
)
-- The cell is named by a 64-bit hash of its seven values (no sort or join of every
-- death needed); death_cells below checks that no two combinations share a hash.
SELECT
    *,
    hash(place, imd_quintile, sex, age_band, age_group, ethnic_group, cause_group) AS cell_id
FROM described;

CREATE OR REPLACE TEMP TABLE death_cells AS
WITH combinations AS (
    SELECT DISTINCT
        cell_id, place, imd_quintile, sex, age_band, age_group, ethnic_group,
        ethnic_group_broad, cause_group
    FROM deaths_in_scope
)
SELECT
    CASE WHEN count(*) OVER (PARTITION BY cell_id) > 1
         THEN error('deaths_in_scope: two combinations of breakdown values share a cell_id')
         ELSE cell_id END AS cell_id,
    place, imd_quintile, sex, age_band, age_group, ethnic_group, ethnic_group_broad,
    cause_group
FROM combinations;

-- The (breakdown, value) pairs a death contributes to in one period. Single months feed
-- only the SPC series, which is not broken down.
CREATE OR REPLACE TEMP MACRO breakdown_rows(kind, imd_quintile, sex, age_band, age_group,
                                            ethnic_group, ethnic_group_broad,
                                            cause_group) AS
    CASE WHEN kind = 'month' THEN [{'breakdown': 'all', 'breakdown_value': 'all'}]
    ELSE [
        {'breakdown': 'all', 'breakdown_value': 'all'},
        {'breakdown': 'imd_quintile', 'breakdown_value': imd_quintile},
        {'breakdown': 'sex', 'breakdown_value': sex},
        {'breakdown': 'age_band', 'breakdown_value': age_band},
        {'breakdown': 'age_group', 'breakdown_value': age_group},
        {'breakdown': 'ethnic_group', 'breakdown_value': ethnic_group},
        {'breakdown': 'ethnic_group_broad', 'breakdown_value': ethnic_group_broad},
        {'breakdown': 'cause_group', 'breakdown_value': cause_group},
        {'breakdown': 'cause_group_imd_quintile',
         'breakdown_value': imd_quintile || ': ' || cause_group}
    ] END;

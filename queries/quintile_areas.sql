-- quintile_areas: how many LSOAs each Place has in each deprivation quintile.
--
-- A Place with no LSOA in a quintile has no residents there: assess publishes its rows
-- for that quintile as structurally empty ('no residents', categories.py) instead of
-- leaving them out. Reads: assessment_areas; only the configured Places ($places).
SELECT
    place,
    CAST(CAST(ceil(imd_decile / 2) AS INTEGER) AS VARCHAR) AS imd_quintile,
    count(*) AS lsoas
FROM assessment_areas
WHERE list_contains($places, place) AND imd_decile IS NOT NULL
GROUP BY ALL

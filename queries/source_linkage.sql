-- source_linkage: whether the deaths link to each source of data an indicator counts
-- (eolneeds.coverage): a source none of whose identifiers is a death's cannot be
-- counted at all -- the deaths keyed by NHS number and the hospital spells by a
-- pseudonym from another system (NCDR, UDAL) make every activity indicator 0.0%,
-- an impossible figure published as if true.
--
-- A sample answers it: up to 1,000 deaths with a linkable person_id (a pseudonym, not
-- an unlinked death's 'u' id; the first by pseudonym, which is as good as random).
-- Where a source truly links, even 5% of deaths in it makes none of 1,000 a chance of
-- 1 in 10^22; and the sample is the small side of the join, so the check reads each
-- activity row's person_id once against 1,000 (England scale: 27 M rows) instead of
-- joining every row to every death.
-- One row per source with a sampled death in it (register; admitted, ae, community,
-- palliative: the kinds of activity, classified as coverage.sql does): linkable (the
-- deaths sampled, the same on every row), linked (of those, the deaths in a row of the
-- source, any date). A source loaded but absent here links to none of them.
-- Reads: deaths, register, activity.

WITH sampled AS (
    SELECT person_id FROM deaths WHERE NOT starts_with(person_id, 'u')
    ORDER BY person_id LIMIT 1000
),
kinds AS (
    SELECT 'register' AS source, person_id FROM register
    WHERE person_id IN (SELECT person_id FROM sampled)
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
           person_id
    FROM activity
    WHERE person_id IN (SELECT person_id FROM sampled)
)
SELECT
    source,
    (SELECT count(*) FROM sampled) AS linkable,
    count(DISTINCT person_id) AS linked
FROM kinds
GROUP BY source
ORDER BY source

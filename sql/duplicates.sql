-- Copies and near-copies among the catalog's rows. Loaded after views.sql: it reads the `samples` view.

-- Pairs of analysed rows that hold the same sound in different bytes: re-encoded (WAV to FLAC or MP3),
-- trimmed or padded a little, the same file re-exported. Both must be of one kind, within
-- `duration_tolerance` (a share of the longer) in length and `loudness_tolerance` LU in loudness, and
-- have embeddings at least `min_similarity` alike (cosine). Loudness is what parts two takes of one
-- synth patch, which summary features alone would call twins; a re-encoding keeps it within a tenth of
-- a LU. Rows are compared only with rows of their kind in a neighbouring length bucket (tenths of a
-- second) and loudness bucket (`loudness_tolerance` wide): two rows within both tolerances are at most
-- one bucket apart in each, so no pair is lost, and a large catalog costs a join, not every pair.
CREATE OR REPLACE MACRO near_duplicate_pairs(
    min_similarity := 0.99, duration_tolerance := 0.05, loudness_tolerance := 0.5
) AS TABLE
WITH analysed AS (
    SELECT path, content_hash, kind, duration_s, loudness_lufs, embedding,
           CAST(floor(duration_s * 10) AS BIGINT) AS length_bucket,
           CAST(floor(loudness_lufs / loudness_tolerance) AS BIGINT) AS level_bucket
    FROM samples
    WHERE error IS NULL AND embedding IS NOT NULL AND loudness_lufs IS NOT NULL AND kind IS NOT NULL
), probes AS (
    SELECT *, unnest([length_bucket - 1, length_bucket, length_bucket + 1]) AS near_length FROM analysed
), probes2 AS (
    SELECT *, unnest([level_bucket - 1, level_bucket, level_bucket + 1]) AS near_level FROM probes
)
SELECT a.path AS path_a, b.path AS path_b, array_cosine_similarity(a.embedding, b.embedding) AS similarity
FROM probes2 a
JOIN analysed b
    ON b.kind = a.kind AND b.length_bucket = a.near_length AND b.level_bucket = a.near_level AND a.path < b.path
WHERE a.content_hash IS DISTINCT FROM b.content_hash
    AND abs(a.duration_s - b.duration_s) <= duration_tolerance * greatest(a.duration_s, b.duration_s)
    AND abs(a.loudness_lufs - b.loudness_lufs) <= loudness_tolerance
    AND array_cosine_similarity(a.embedding, b.embedding) >= min_similarity;

-- Groups of rows with the same bytes (`content_hash`), one row per file.
CREATE OR REPLACE VIEW exact_duplicates AS
SELECT dense_rank() OVER (ORDER BY content_hash) AS group_id, 'exact' AS match,
       path, size_bytes, duration_s, content_hash
FROM samples
WHERE content_hash IN (
    SELECT content_hash FROM samples WHERE content_hash IS NOT NULL GROUP BY content_hash HAVING count(*) > 1
);

-- Exact copies (match = 'exact') and near-copies (match = 'near'), one row per file and group. A near
-- group is everything near_duplicate_pairs connects, however indirectly (a chain a~b~c is one group,
-- and so are exact copies that are each near a third file), named by its first path; a file copied
-- exactly and also re-encoded is in both kinds of group.
CREATE OR REPLACE VIEW duplicates AS
WITH RECURSIVE pairs AS MATERIALIZED (
    SELECT path_a, path_b FROM near_duplicate_pairs()
), edges AS (
    SELECT path_a AS path, path_b AS other FROM pairs
    UNION ALL
    SELECT path_b, path_a FROM pairs
), reach(path, anchor) AS (
    SELECT DISTINCT path, path FROM edges
    UNION
    SELECT e.other, r.anchor FROM reach r JOIN edges e ON e.path = r.path
), anchored AS (
    SELECT path, min(anchor) AS anchor FROM reach GROUP BY path
), groups AS (
    SELECT 'exact' AS match, content_hash AS grp, path FROM exact_duplicates
    UNION ALL
    SELECT 'near', anchor, path FROM anchored
)
SELECT dense_rank() OVER (ORDER BY g.match, g.grp) AS group_id, g.match,
       s.path, s.size_bytes, s.duration_s, s.content_hash
FROM groups g JOIN samples s USING (path);

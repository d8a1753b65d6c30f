-- Copies and near-copies among the catalog's rows. Loaded after views.sql: it reads the `samples` view.

-- Pairs of analysed rows that hold the same sound in different bytes: re-encoded (WAV to FLAC or MP3),
-- trimmed or padded a little, the same file re-exported. Both must be of one kind, within
-- `duration_tolerance` (a share of the longer) in length and `loudness_tolerance` LU in loudness, and
-- have embeddings at least `min_similarity` alike (cosine). Loudness is what parts two takes of one
-- synth patch, which summary features alone would call twins; a re-encoding keeps it within a tenth of
-- a LU. Rows are only compared with rows of a neighbouring length (tenth-of-a-second buckets), so the
-- pairs of a large catalog cost a join, not every row against every row.
CREATE OR REPLACE MACRO near_duplicate_pairs(
    min_similarity := 0.99, duration_tolerance := 0.05, loudness_tolerance := 0.5
) AS TABLE
WITH analysed AS (
    SELECT path, content_hash, kind, duration_s, loudness_lufs, embedding,
           CAST(floor(duration_s * 10) AS BIGINT) AS bucket
    FROM samples
    WHERE error IS NULL AND embedding IS NOT NULL
), probes AS (
    SELECT *, unnest([bucket - 1, bucket, bucket + 1]) AS near_bucket FROM analysed
)
SELECT a.path AS path_a, b.path AS path_b, array_cosine_similarity(a.embedding, b.embedding) AS similarity
FROM probes a
JOIN analysed b ON b.bucket = a.near_bucket AND a.path < b.path
WHERE a.content_hash IS DISTINCT FROM b.content_hash
    AND a.kind IS NOT DISTINCT FROM b.kind
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

-- Exact copies (match = 'exact') and near-copies (match = 'near', see near_duplicate_pairs), one row per
-- file and group. A near group gathers a file and every file paired with it, under the first path of
-- them; a file copied exactly and also re-encoded is in both kinds of group.
CREATE OR REPLACE VIEW duplicates AS
WITH edges AS (
    SELECT path_a AS path, path_b AS other FROM near_duplicate_pairs()
    UNION ALL
    SELECT path_b, path_a FROM near_duplicate_pairs()
), anchored AS (
    SELECT path, least(path, min(other)) AS anchor FROM edges GROUP BY path
), groups AS (
    SELECT 'exact' AS match, content_hash AS grp, path FROM exact_duplicates
    UNION ALL
    SELECT 'near', anchor, path FROM anchored
)
SELECT dense_rank() OVER (ORDER BY g.match, g.grp) AS group_id, g.match,
       s.path, s.size_bytes, s.duration_s, s.content_hash
FROM groups g JOIN samples s USING (path);

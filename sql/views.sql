-- The catalog's views over its Parquet files. sampledex sets four variables when it connects, each a
-- list of verified files (pipeline/catalog.py, Catalog.snapshot):
--   sampledex_base       the compacted base (one row per path, sorted by key and bpm, with path_key)
--   sampledex_samples    the parts written since the base (rows as analysed)
--   sampledex_removals   paths that left their source since the base
--   sampledex_runs       one row per index run
-- Each list ends with an empty file of the full schema, so a list is never empty. From another DuckDB
-- client, `SET VARIABLE sampledex_catalog = '/path/to/catalog'; .read sql/files.sql` sets them from the
-- catalog's CURRENT.json (without verifying checksums), then `.read` keys.sql, macros.sql and this file.

-- Parquet keeps no fixed list size, so the embedding is read as FLOAT[] and made FLOAT[47] here (47 is
-- models/embedding.py's DIM; a test holds them together): DuckDB's array functions want the fixed size.
CREATE OR REPLACE VIEW sample_base AS
SELECT * REPLACE (CAST(embedding AS FLOAT[47]) AS embedding)
FROM read_parquet(getvariable('sampledex_base'), union_by_name = true);

CREATE OR REPLACE VIEW sample_deltas AS
SELECT * REPLACE (CAST(embedding AS FLOAT[47]) AS embedding)
FROM read_parquet(getvariable('sampledex_samples'), union_by_name = true);

CREATE OR REPLACE VIEW removals AS
SELECT * FROM read_parquet(getvariable('sampledex_removals'), union_by_name = true);

-- The base's rows and every row written since, superseded ones included.
CREATE OR REPLACE VIEW sample_history AS
SELECT * EXCLUDE (path_key) FROM sample_base
UNION ALL BY NAME
SELECT * FROM sample_deltas;

-- The catalog: each path's newest row, unless the path was removed after it. The base holds one
-- row per path already, so only the few parts since it are deduplicated; a base row gives way to any
-- part's row of its path and to any removal of it, all of which were written after the base (they
-- live in its generation's folders), in one anti-join. path_key (the upper 64 bits of the path's MD5,
-- stored in the base) makes that join cheap: the base's paths are not read to apply it.
CREATE OR REPLACE VIEW samples AS
WITH latest AS (
    SELECT *, md5_number_upper(path) AS path_key FROM sample_deltas
    QUALIFY row_number() OVER (PARTITION BY path ORDER BY indexed_at DESC) = 1
), gone AS (
    SELECT md5_number_upper(path) AS path_key, max(removed_at) AS removed_at FROM removals GROUP BY path
)
SELECT b.* EXCLUDE (path_key) FROM sample_base b
    ANTI JOIN (SELECT path_key FROM latest UNION ALL SELECT path_key FROM gone) since ON since.path_key = b.path_key
UNION ALL BY NAME
SELECT l.* EXCLUDE (path_key) FROM latest l
    ANTI JOIN gone g ON g.path_key = l.path_key AND g.removed_at >= l.indexed_at;

CREATE OR REPLACE VIEW runs AS
SELECT * FROM read_parquet(getvariable('sampledex_runs'), union_by_name = true)
ORDER BY started_at;

-- The catalog's views over its Parquet parts. The catalog folder comes from
-- the variable sampledex_catalog; from any DuckDB client:
--   SET VARIABLE sampledex_catalog = '/path/to/catalog';
--   .read sql/keys.sql
--   .read sql/macros.sql
--   .read sql/views.sql

-- Every row ever written, newest and superseded alike.
CREATE OR REPLACE VIEW sample_history AS
SELECT * FROM read_parquet(getvariable('sampledex_catalog') || '/samples/*.parquet', union_by_name = true);

CREATE OR REPLACE VIEW removals AS
SELECT * FROM read_parquet(getvariable('sampledex_catalog') || '/removals/*.parquet');

-- The catalog: each path's newest row, unless the path was removed after it.
CREATE OR REPLACE VIEW samples AS
SELECT h.* FROM sample_history h
LEFT JOIN (SELECT path, max(removed_at) AS removed_at FROM removals GROUP BY path) r
       ON r.path = h.path
WHERE r.removed_at IS NULL OR h.indexed_at > r.removed_at
QUALIFY row_number() OVER (PARTITION BY h.path ORDER BY h.indexed_at DESC) = 1;

CREATE OR REPLACE VIEW runs AS
SELECT * FROM read_parquet(getvariable('sampledex_catalog') || '/runs/*.parquet')
ORDER BY started_at;

-- For a DuckDB client other than sampledex: the file lists views.sql reads, from the catalog's
-- CURRENT.json and folders (sampledex itself also verifies each file's checksum and leaves out bad ones).
--   SET VARIABLE sampledex_catalog = '/path/to/catalog';
--   SET VARIABLE sampledex_sql = '/path/to/sampledex/sql';   -- where these files are (default: ./sql)
--   .read sql/files.sql
--   .read sql/keys.sql
--   .read sql/macros.sql
--   .read sql/views.sql
SET VARIABLE sampledex_generation = (
    SELECT {'number': generation, 'base': base}
    FROM read_json(getvariable('sampledex_catalog') || '/CURRENT.json', columns = {generation: 'INTEGER', base: 'VARCHAR'}));
SET VARIABLE sampledex_folder = CASE WHEN getvariable('sampledex_generation').number = 0 THEN ''
    ELSE '/g' || lpad(getvariable('sampledex_generation').number::VARCHAR, 6, '0') END;
SET VARIABLE sampledex_sql = coalesce(getvariable('sampledex_sql'), 'sql');
SET VARIABLE sampledex_base = (
    SELECT list_append(coalesce(list(file), []), getvariable('sampledex_sql') || '/empty_base.parquet') FROM glob(getvariable('sampledex_catalog') || '/' || coalesce(getvariable('sampledex_generation').base, 'base/none')));
SET VARIABLE sampledex_samples = (
    SELECT list_append(coalesce(list(file), []), getvariable('sampledex_sql') || '/empty_samples.parquet') FROM glob(getvariable('sampledex_catalog') || '/samples' || getvariable('sampledex_folder') || '/*.parquet'));
SET VARIABLE sampledex_removals = (
    SELECT list_append(coalesce(list(file), []), getvariable('sampledex_sql') || '/empty_removals.parquet') FROM glob(getvariable('sampledex_catalog') || '/removals' || getvariable('sampledex_folder') || '/*.parquet'));
SET VARIABLE sampledex_runs = (
    SELECT list_append(coalesce(list(file), []), getvariable('sampledex_sql') || '/empty_runs.parquet') FROM glob(getvariable('sampledex_catalog') || '/runs/*.parquet'));

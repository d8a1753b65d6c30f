-- Example queries against a catalog (run with `sampledex query "..."`).

-- Loops in A minor or a Camelot-compatible key, 120–128 BPM (half/double time too).
SELECT path, key, camelot, bpm
FROM samples
WHERE kind = 'loop'
  AND list_contains(compatible_keys('A minor'), key)
  AND bpm_between(bpm, 120, 128)
ORDER BY key_confidence DESC;

-- How many samples per key, Camelot order.
SELECT camelot(key) AS camelot, key, count(*) AS n
FROM samples WHERE key IS NOT NULL
GROUP BY ALL ORDER BY camelot;

-- Files that could not be analysed, and why.
SELECT path, error FROM samples WHERE error IS NOT NULL;

-- Duplicates: the same bytes under several paths.
SELECT content_hash, list(path) AS paths
FROM samples GROUP BY content_hash HAVING count(*) > 1;

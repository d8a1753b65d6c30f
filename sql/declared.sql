-- What a sample declares (declared_key, declared_bpm, declared_root: its ACID/smpl chunks and tags, else
-- its name and folders) against what its audio says (key, bpm, root_note). Loaded after views.sql: it
-- reads the `samples` view and the key_index, key_name and bpm_between macros (keys.sql, macros.sql).

-- Pitch class 0..11 of a note in any spelling with an optional octave ('C#3', 'Db', 'bb2', 'F♯'); NULL otherwise.
CREATE OR REPLACE MACRO note_pc(n) AS
    key_index(regexp_extract(trim(n), '^([A-Ga-g](#|♯|b|♭)?)(-?[0-9]+)?$', 1)) % 12;

-- The octave written in a note ('C#3' -> 3, C4 = 261.6 Hz), NULL when none is written.
CREATE OR REPLACE MACRO note_octave(n) AS
    TRY_CAST(regexp_extract(trim(n), '^[A-Ga-g](#|♯|b|♭)?(-?[0-9]+)$', 2) AS INTEGER);

-- Whether two notes are the same: same pitch class, and the same octave where both write one
-- (root_matches('Db3', 'C#3'), root_matches('F', 'F2') are true; root_matches('F2', 'F3') is false).
CREATE OR REPLACE MACRO root_matches(root, want) AS
    note_pc(root) = note_pc(want)
    AND (note_octave(root) IS NULL OR note_octave(want) IS NULL OR note_octave(root) = note_octave(want));

-- How key b (the audio's) stands to key a (the declared one), both in any spelling:
--   'same key'      the same key
--   'relative key'  same notes, other mode (A minor / C major: same Camelot number)
--   'parallel'      same tonic, other mode (A minor / A major)
--   'fifth'         same mode, a fifth up or down (A minor / E minor, D minor: Camelot neighbours)
--   'other'         anything else
-- NULL when either is NULL or not a key.
CREATE OR REPLACE MACRO key_relation(a, b) AS (
    SELECT CASE
        WHEN x IS NULL OR y IS NULL THEN NULL
        WHEN x = y THEN 'same key'
        WHEN x < 12 AND y >= 12 AND (x + 9) % 12 = y % 12 THEN 'relative key'
        WHEN x >= 12 AND y < 12 AND (x + 3) % 12 = y THEN 'relative key'
        WHEN x % 12 = y % 12 THEN 'parallel'
        WHEN (x >= 12) = (y >= 12) AND (x - y + 24) % 12 IN (5, 7) THEN 'fifth'
        ELSE 'other'
    END
    FROM (SELECT key_index(a) AS x, key_index(b) AS y)
);

-- How tempo b (the audio's) stands to tempo a (the declared one), within a tolerance in BPM:
-- 'same tempo', 'half time' (b is half of a), 'double time' (b is twice a), 'other'; NULL when either is NULL.
CREATE OR REPLACE MACRO tempo_relation(a, b, tolerance := 2.0) AS
    CASE
        WHEN a IS NULL OR b IS NULL THEN NULL
        WHEN abs(b - a) <= tolerance THEN 'same tempo'
        WHEN abs(2 * b - a) <= tolerance THEN 'half time'
        WHEN abs(b - 2 * a) <= tolerance THEN 'double time'
        ELSE 'other'
    END;

-- Rows whose declared key or tempo contradicts the audio's, with how: `relation` names each contradiction
-- ('relative key', 'parallel', 'fifth', 'other key', 'half time', 'double time', 'other tempo', joined
-- by '; '); key_relation and tempo_relation give each comparison, 'same key'/'same tempo' included.
-- A row is listed only when a declared value and the audio's both exist and differ; failed rows never are.
CREATE OR REPLACE VIEW disagreements AS
WITH r AS (
    SELECT path, kind, declared_key, key, key_relation(declared_key, key) AS key_relation,
           declared_bpm, bpm, tempo_relation(declared_bpm, bpm) AS tempo_relation, notes
    FROM samples
    WHERE error IS NULL AND ((declared_key IS NOT NULL AND key IS NOT NULL)
                             OR (declared_bpm IS NOT NULL AND bpm IS NOT NULL))
)
SELECT path, kind,
       concat_ws('; ',
                 CASE WHEN key_relation <> 'same key'
                      THEN CASE key_relation WHEN 'other' THEN 'other key' ELSE key_relation END END,
                 CASE WHEN tempo_relation <> 'same tempo'
                      THEN CASE tempo_relation WHEN 'other' THEN 'other tempo' ELSE tempo_relation END END) AS relation,
       declared_key, key, key_relation, declared_bpm, bpm, tempo_relation, notes
FROM r
WHERE coalesce(key_relation <> 'same key', false) OR coalesce(tempo_relation <> 'same tempo', false)
ORDER BY path;

-- Whether a row's declared values pass a search's filters (what `search --declared` asks): `want_keys` a
-- list of canonical keys (the key and, with --compatible, its compatible keys), `bpm_lo`/`bpm_hi` a
-- tempo range (half and double time count unless `strict`), `root` a note (root_matches: the octave
-- only where both write one). A NULL filter is no filter; a filter on a value the row does not declare
-- fails; a row that declares nothing never passes. Always TRUE or FALSE.
CREATE OR REPLACE MACRO declared_matches(declared_key, declared_bpm, declared_root,
                                         want_keys := NULL, bpm_lo := NULL, bpm_hi := NULL,
                                         root := NULL, strict := false) AS
    coalesce(
        (declared_key IS NOT NULL OR declared_bpm IS NOT NULL OR declared_root IS NOT NULL)
        AND (want_keys IS NULL OR list_contains(want_keys, declared_key))
        AND (bpm_lo IS NULL OR CASE WHEN strict THEN declared_bpm BETWEEN bpm_lo AND bpm_hi
                                    ELSE bpm_between(declared_bpm, bpm_lo, bpm_hi) END)
        AND (root IS NULL OR root_matches(declared_root, root)),
        false);

-- Whether a row's declarations agree with its audio (what `search --declared` with no filter lists):
-- at least one declared value has a detected counterpart, and none contradicts it (the same key, a
-- tempo within `tolerance` BPM, the same root note). Always TRUE or FALSE.
CREATE OR REPLACE MACRO declared_agrees(declared_key, key, declared_bpm, bpm, declared_root, root_note,
                                        tolerance := 2.0) AS
    coalesce(
        ((declared_key IS NOT NULL AND key IS NOT NULL)
         OR (declared_bpm IS NOT NULL AND bpm IS NOT NULL)
         OR (declared_root IS NOT NULL AND root_note IS NOT NULL))
        AND (declared_key IS NULL OR key IS NULL OR key_index(declared_key) = key_index(key))
        AND (declared_bpm IS NULL OR bpm IS NULL OR abs(declared_bpm - bpm) <= tolerance)
        AND (declared_root IS NULL OR root_note IS NULL OR root_matches(root_note, declared_root)),
        false);

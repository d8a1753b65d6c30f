-- Macros for key and tempo search. Keys are read in any accepted spelling
-- ('A minor', 'Am', 'c# min', '8A'); they return canonical keys.

-- Key index 0..23 (0-11 major by tonic pitch class, 12-23 minor) of any accepted
-- spelling: 'A minor', 'Am', 'a min', 'C#m', 'Dbmin', 'c# minor', 'F sharp major',
-- 'Bb', 'CM' (major) vs 'Cm' (minor), Camelot '8A', Open Key '1m'. NULL otherwise.
-- The same rules as sampledex.models.keys.parse_key (a test holds them together).
CREATE OR REPLACE MACRO key_index(k) AS (
    WITH p AS (
        SELECT trim(k) AS t,
               regexp_extract(trim(k), '^([A-Ga-g])\s*(#|♯|b|♭|[Ss][Hh][Aa][Rr][Pp]|[Ff][Ll][Aa][Tt])?\s*([A-Za-z-]*)$',
                              ['letter', 'acc', 'mode']) AS m,
               regexp_extract(trim(k), '^(1[0-2]|0?[1-9])\s*([ABab])$', ['num', 'letter']) AS cam,
               regexp_extract(trim(k), '^(1[0-2]|0?[1-9])\s*([dm])$', ['num', 'letter']) AS ok
    )
    SELECT CASE
        WHEN cam.num <> '' THEN (SELECT any_value(w.tonic_pc + 12 * (w.mode = 'minor')::INT) FROM key_wheel w
                                 WHERE w.camelot_number = TRY_CAST(cam.num AS INT) AND w.camelot_letter = upper(cam.letter))
        WHEN ok.num <> '' THEN (SELECT any_value(w.tonic_pc + 12 * (w.mode = 'minor')::INT) FROM key_wheel w
                                WHERE w.camelot_number = (TRY_CAST(ok.num AS INT) + 6) % 12 + 1
                                  AND w.camelot_letter = CASE ok.letter WHEN 'm' THEN 'A' ELSE 'B' END)
        WHEN m.letter <> '' AND (m.mode = 'M' OR lower(m.mode) IN ('', 'maj', 'major', 'dur', 'ionian')) THEN
            ((list_position(['c', 'd', 'e', 'f', 'g', 'a', 'b'], lower(m.letter)) - 1)
             * 2 - (list_position(['c', 'd', 'e', 'f', 'g', 'a', 'b'], lower(m.letter)) > 3)::INT
             + CASE WHEN lower(m.acc) IN ('#', '♯', 'sharp') THEN 1
                    WHEN lower(m.acc) IN ('b', '♭', 'flat') THEN -1 ELSE 0 END + 12) % 12
        WHEN m.letter <> '' AND lower(m.mode) IN ('m', 'min', 'minor', 'moll', 'aeolian', '-') THEN
            ((list_position(['c', 'd', 'e', 'f', 'g', 'a', 'b'], lower(m.letter)) - 1)
             * 2 - (list_position(['c', 'd', 'e', 'f', 'g', 'a', 'b'], lower(m.letter)) > 3)::INT
             + CASE WHEN lower(m.acc) IN ('#', '♯', 'sharp') THEN 1
                    WHEN lower(m.acc) IN ('b', '♭', 'flat') THEN -1 ELSE 0 END + 12) % 12 + 12
    END FROM p
);

-- Canonical key of any accepted spelling: key_name('c#m') = 'Db minor'.
CREATE OR REPLACE MACRO key_name(k) AS (
    SELECT any_value(w.key) FROM key_wheel w WHERE w.tonic_pc + 12 * (w.mode = 'minor')::INT = key_index(k)
);

-- Camelot code of a key in any spelling: camelot('A minor') = '8A', camelot('C') = '8B'.
CREATE OR REPLACE MACRO camelot(k) AS (
    SELECT any_value(w.camelot) FROM key_wheel w WHERE w.key = key_name(k)
);

-- Keys that mix harmonically with k, under a rule (DJs disagree on which):
--   'exact'     the key itself
--   'adjacent'  the key and its neighbours a fifth up and down (same letter, number ±1)
--   'relative'  the key and its relative major/minor (same number, other letter)
--   'camelot'   adjacent + relative: the classic Camelot rule (default)
--   'extended'  camelot + the diagonals (other letter, number ±1)
CREATE OR REPLACE MACRO compatible_keys(k, rule := 'camelot') AS (
    SELECT list(w.key ORDER BY w.camelot_letter, w.camelot_number)
    FROM key_wheel s, key_wheel w
    WHERE s.key = key_name(k)
      AND CASE
            WHEN rule NOT IN ('exact', 'adjacent', 'relative', 'camelot', 'extended')
              THEN error('compatible_keys: unknown rule ''' || rule
                         || ''' (exact, adjacent, relative, camelot, extended)')
            ELSE w.key = s.key
              OR (rule IN ('adjacent', 'camelot', 'extended')
                  AND w.camelot_letter = s.camelot_letter
                  AND (w.camelot_number - s.camelot_number + 12) % 12 IN (1, 11))
              OR (rule IN ('relative', 'camelot', 'extended')
                  AND w.camelot_number = s.camelot_number AND w.camelot_letter <> s.camelot_letter)
              OR (rule = 'extended'
                  AND w.camelot_letter <> s.camelot_letter
                  AND (w.camelot_number - s.camelot_number + 12) % 12 IN (1, 11))
          END
);

-- Whether a tempo matches a target within a tolerance in BPM, counting half
-- and double time as a match (a 62 BPM loop plays along at 124).
CREATE OR REPLACE MACRO bpm_match(bpm, target, tolerance := 2.0) AS
    abs(bpm - target) <= tolerance
    OR abs(2 * bpm - target) <= tolerance
    OR abs(bpm / 2 - target) <= tolerance;

-- Whether a tempo falls in [lo, hi] BPM, at half or double time included.
CREATE OR REPLACE MACRO bpm_between(bpm, lo, hi) AS
    bpm BETWEEN lo AND hi OR 2 * bpm BETWEEN lo AND hi OR bpm / 2 BETWEEN lo AND hi;

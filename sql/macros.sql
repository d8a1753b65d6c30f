-- Macros for key and tempo search. Keys are read in the canonical spelling
-- ('A minor', 'F# major') or as a Camelot code ('8A'); they return canonical keys.

-- Canonical key of a canonical name or a Camelot code; NULL for anything else.
CREATE OR REPLACE MACRO key_name(k) AS (
    SELECT any_value(w.key) FROM key_wheel w WHERE w.key = k OR w.camelot = upper(trim(k))
);

-- Camelot code of a key: camelot('A minor') = '8A', camelot('C major') = '8B'.
CREATE OR REPLACE MACRO camelot(k) AS (
    SELECT any_value(w.camelot) FROM key_wheel w WHERE w.key = k OR w.camelot = upper(trim(k))
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
    WHERE (s.key = k OR s.camelot = upper(trim(k)))
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

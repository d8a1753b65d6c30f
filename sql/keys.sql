-- The 24 keys in their canonical spelling with pitch class and Camelot position.
-- Generated from sampledex.models.keys (a test checks that the two agree).
CREATE OR REPLACE VIEW key_wheel AS
SELECT *, camelot_number || camelot_letter AS camelot
FROM (VALUES
    ('C major', 'C', 'major', 0, 8, 'B'),
    ('Db major', 'Db', 'major', 1, 3, 'B'),
    ('D major', 'D', 'major', 2, 10, 'B'),
    ('Eb major', 'Eb', 'major', 3, 5, 'B'),
    ('E major', 'E', 'major', 4, 12, 'B'),
    ('F major', 'F', 'major', 5, 7, 'B'),
    ('F# major', 'F#', 'major', 6, 2, 'B'),
    ('G major', 'G', 'major', 7, 9, 'B'),
    ('Ab major', 'Ab', 'major', 8, 4, 'B'),
    ('A major', 'A', 'major', 9, 11, 'B'),
    ('Bb major', 'Bb', 'major', 10, 6, 'B'),
    ('B major', 'B', 'major', 11, 1, 'B'),
    ('C minor', 'C', 'minor', 0, 5, 'A'),
    ('Db minor', 'Db', 'minor', 1, 12, 'A'),
    ('D minor', 'D', 'minor', 2, 7, 'A'),
    ('Eb minor', 'Eb', 'minor', 3, 2, 'A'),
    ('E minor', 'E', 'minor', 4, 9, 'A'),
    ('F minor', 'F', 'minor', 5, 4, 'A'),
    ('F# minor', 'F#', 'minor', 6, 11, 'A'),
    ('G minor', 'G', 'minor', 7, 6, 'A'),
    ('Ab minor', 'Ab', 'minor', 8, 1, 'A'),
    ('A minor', 'A', 'minor', 9, 8, 'A'),
    ('Bb minor', 'Bb', 'minor', 10, 3, 'A'),
    ('B minor', 'B', 'minor', 11, 10, 'A')
) AS t(key, tonic, mode, tonic_pc, camelot_number, camelot_letter);

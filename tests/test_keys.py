"""Key spelling contract (DESIGN.md): one canonical spelling, every common input spelling."""

from __future__ import annotations

import pytest

from sampledex.models import keys

# The Camelot wheel as DJ software prints it, written out by hand so that the
# tests do not reuse the arithmetic in keys.camelot().
WHEEL = {
    "1A": "Ab minor",
    "1B": "B major",
    "2A": "Eb minor",
    "2B": "F# major",
    "3A": "Bb minor",
    "3B": "Db major",
    "4A": "F minor",
    "4B": "Ab major",
    "5A": "C minor",
    "5B": "Eb major",
    "6A": "G minor",
    "6B": "Bb major",
    "7A": "D minor",
    "7B": "F major",
    "8A": "A minor",
    "8B": "C major",
    "9A": "E minor",
    "9B": "G major",
    "10A": "B minor",
    "10B": "D major",
    "11A": "F# minor",
    "11B": "A major",
    "12A": "Db minor",
    "12B": "E major",
}
CAMELOT_OF = {name: code for code, name in WHEEL.items()}
CANONICAL_TONICS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def test_vocabulary_is_the_contract():
    assert keys.TONICS == CANONICAL_TONICS
    assert keys.MODES == ("major", "minor")
    assert keys.NUM_KEYS == 24
    assert keys.KEY_NAMES == tuple(f"{t} major" for t in CANONICAL_TONICS) + tuple(
        f"{t} minor" for t in CANONICAL_TONICS
    )
    assert set(keys.KEY_NAMES) == set(WHEEL.values())


SPELLINGS = [
    # DESIGN.md's examples
    ("C#m", "Db minor"),
    ("Dbmin", "Db minor"),
    ("c# minor", "Db minor"),
    ("12A", "Db minor"),
    # names
    ("A minor", "A minor"),
    ("Am", "A minor"),
    ("a min", "A minor"),
    ("amin", "A minor"),
    ("A-", "A minor"),
    ("Amoll", "A minor"),
    ("A aeolian", "A minor"),
    ("F sharp major", "F# major"),
    ("F sharp minor", "F# minor"),
    ("Fsharp", "F# major"),
    ("Gb", "F# major"),
    ("Gbm", "F# minor"),
    ("Bb", "Bb major"),
    ("bb", "Bb major"),
    ("Bbm", "Bb minor"),
    ("bbm", "Bb minor"),
    ("B flat minor", "Bb minor"),
    ("Bflat", "Bb major"),
    ("A flat", "Ab major"),
    ("G#m", "Ab minor"),
    ("B", "B major"),
    ("b", "B major"),
    ("bm", "B minor"),
    ("Eb Major", "Eb major"),
    ("ebm", "Eb minor"),
    ("E b m", "Eb minor"),
    ("D#", "Eb major"),
    ("C", "C major"),
    ("Cmaj", "C major"),
    ("C major", "C major"),
    ("C Major", "C major"),
    ("C MINOR", "C minor"),
    ("Cdur", "C major"),
    ("C ionian", "C major"),
    ("  C   major  ", "C major"),
    # case of a lone M: capital is major, small is minor
    ("CM", "C major"),
    ("Cm", "C minor"),
    ("F#M", "F# major"),
    ("F#m", "F# minor"),
    # enharmonic edge spellings
    ("Cb", "B major"),
    ("B#", "C major"),
    ("E#", "F major"),
    ("Fb", "E major"),
    # unicode accidentals
    ("C♯m", "Db minor"),
    ("C♯ minor", "Db minor"),
    ("D♭", "Db major"),
    ("B♭ minor", "Bb minor"),
    ("E♭m", "Eb minor"),
    ("F♯", "F# major"),
    # Camelot
    ("8A", "A minor"),
    ("8B", "C major"),
    ("8a", "A minor"),
    ("8b", "C major"),
    ("08A", "A minor"),
    (" 12B ", "E major"),
    ("1A", "Ab minor"),
    ("1B", "B major"),
    ("5A", "C minor"),
    # Open Key: 1d = C major, 1m = A minor, then round the same wheel
    ("1d", "C major"),
    ("1m", "A minor"),
    ("2d", "G major"),
    ("2m", "E minor"),
    ("6m", "Ab minor"),
    ("12d", "F major"),
    ("12m", "D minor"),
]


@pytest.mark.parametrize("text, expected", SPELLINGS)
def test_input_spellings(text, expected):
    index = keys.parse_key(text)
    assert keys.KEY_NAMES[index] == expected
    assert keys.canonical(text) == expected
    assert keys.camelot(index) == CAMELOT_OF[expected]
    tonic, mode = expected.split(" ")
    assert tonic in CANONICAL_TONICS and mode in ("major", "minor")
    assert keys.is_minor(index) == (mode == "minor")
    assert keys.tonic_pc(index) == CANONICAL_TONICS.index(tonic)


@pytest.mark.parametrize("code, name", sorted(WHEEL.items()))
def test_camelot_wheel(code, name):
    index = keys.KEY_NAMES.index(name)
    assert keys.camelot(index) == code
    assert keys.from_camelot(code) == index
    assert keys.from_camelot(code.lower()) == index
    assert keys.parse_key(code) == index


ALL = range(24)


def _open_key(index: int) -> str:
    number, letter = int(CAMELOT_OF[keys.KEY_NAMES[index]][:-1]), CAMELOT_OF[keys.KEY_NAMES[index]][-1]
    return f"{(number - 8) % 12 + 1}{'m' if letter == 'A' else 'd'}"


@pytest.mark.parametrize("index", ALL)
def test_round_trips_for_all_keys(index):
    name = keys.KEY_NAMES[index]
    tonic, mode = name.split(" ")
    assert keys.parse_key(name) == index
    assert keys.canonical(name) == name
    assert keys.parse_key(name.lower()) == index
    assert keys.parse_key(tonic + ("m" if mode == "minor" else "")) == index
    assert keys.parse_key(tonic + ("min" if mode == "minor" else "maj")) == index
    assert keys.parse_key(tonic.replace("#", "♯").replace("b", "♭") + " " + mode) == index
    assert keys.from_camelot(keys.camelot(index)) == index
    assert keys.parse_key(keys.camelot(index)) == index
    assert keys.parse_key(_open_key(index)) == index
    assert keys.key_index(keys.tonic_pc(index), keys.is_minor(index)) == index


@pytest.mark.parametrize("index", ALL)
def test_relative_and_parallel(index):
    rel, par = keys.relative(index), keys.parallel(index)
    assert keys.relative(rel) == index
    assert keys.parallel(par) == index
    assert keys.is_minor(rel) != keys.is_minor(index)
    assert keys.is_minor(par) != keys.is_minor(index)
    # relatives share the Camelot number, parallels share the tonic
    assert keys.camelot(rel)[:-1] == keys.camelot(index)[:-1]
    assert keys.tonic_pc(par) == keys.tonic_pc(index)
    # a relative minor's tonic is a minor third below its major's
    major, minor = (rel, index) if keys.is_minor(index) else (index, rel)
    assert (keys.tonic_pc(major) - keys.tonic_pc(minor)) % 12 == 3


def test_relative_examples():
    c_major = keys.parse_key("C major")
    assert keys.KEY_NAMES[keys.relative(c_major)] == "A minor"
    assert keys.KEY_NAMES[keys.relative(keys.parse_key("A minor"))] == "C major"
    assert keys.KEY_NAMES[keys.relative(keys.parse_key("E major"))] == "Db minor"
    assert keys.KEY_NAMES[keys.parallel(c_major)] == "C minor"


BAD = [
    "H major",
    "",
    "   ",
    "13A",
    "0A",
    "13B",
    "C lydian",
    "Cmajor7",
    "C##",
    "Z",
    "1e",
    "8C",
    "A minor minor",
    "Am7",
    "#C",
]


@pytest.mark.parametrize("text", BAD)
def test_bad_spellings_raise(text):
    with pytest.raises(keys.KeySpellingError) as info:
        keys.parse_key(text)
    assert repr(text) in str(info.value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(keys.KeySpellingError):
        keys.canonical(text)


@pytest.mark.parametrize("value", [None, 5, 8.0])
def test_non_strings_raise(value):
    with pytest.raises(keys.KeySpellingError):
        keys.parse_key(value)


@pytest.mark.parametrize("code", ["13A", "0B", "Am", "8C", ""])
def test_from_camelot_rejects(code):
    with pytest.raises(keys.KeySpellingError) as info:
        keys.from_camelot(code)
    assert repr(code) in str(info.value)


@pytest.mark.parametrize("text, expected", [("F Sharp Major", "F# major"), ("B Flat minor", "Bb minor")])
def test_capitalised_accidental_words(text, expected):
    assert keys.canonical(text) == expected

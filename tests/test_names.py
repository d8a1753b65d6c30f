"""What file names and folders declare (models/names.py): a table of real-world names, and properties."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sampledex.models import keys
from sampledex.models.names import BPM_RANGE, Declared, declared_from_path, key_from_text

# (path, kind argument, expected key, expected bpm, expected root)
NAMES: list[tuple[str, str | None, str | None, float | None, str | None]] = [
    # the patterns of the issue
    ("Bass_Loop_124bpm_F#min.wav", None, "F# minor", 124, None),
    ("Cymatics - Keys Loop - 85 BPM F Min.wav", None, "F minor", 85, None),
    ("Kick - Clean (F).wav", None, None, None, "F"),
    ("97 BPM G# Maj", None, "Ab major", 97, None),
    ("Pad_C#m.wav", None, "Db minor", None, None),
    ("08A Pad.wav", None, "A minor", None, None),
    ("Synth_Loop_124_F#min.wav", None, "F# minor", 124, None),
    ("Rhodes One Shot G3.wav", None, None, None, "G3"),
    ("Ebmaj7 chord.wav", None, "Eb major", None, None),
    ("Loops/96 BPM/E minor/Guitar 03.wav", None, "E minor", 96, None),
    ("808 C#.wav", None, None, None, "Db"),
    # numbers without tempo context declare nothing
    ("Take_118.wav", None, None, None, None),
    ("Snare_909_02.wav", None, None, None, None),
    ("Session_2024_v3.wav", None, None, None, None),
    ("Impact_12s.wav", None, None, None, None),
    ("Drum_Loop_118.wav", None, None, None, None),
    ("Kick 120.wav", None, None, None, None),
    ("Clap_Layer_128_05.wav", None, None, None, None),
    ("Vocal Chop 2019 Remix 03.wav", None, None, None, None),
    ("Pad_Amin_02.wav", None, "A minor", None, None),
    ("Loop_Am_12.wav", None, "A minor", None, None),
    ("Chord Loop Am 64 Bars.wav", None, "A minor", None, None),
    ("Arp Loop F#m 128 Steps.wav", None, "F# minor", None, None),
    ("Synth_124_F#min.wav", None, "F# minor", None, None),  # no loop word, no kind: 124 may be an index
    ("Synth_124_F#min.wav", "loop", "F# minor", 124, None),
    ("Synth_124_F#min.wav", "one-shot", "F# minor", None, None),
    ("Loops 120-130 BPM/Keys_Am.wav", None, "A minor", None, None),
    ("Sweep 4 bars 2000hz.wav", None, None, None, None),
    ("Bass Loop 2024bpm Am.wav", None, "A minor", None, None),
    # drum words make a bare letter meaningless
    ("Ride B.wav", None, None, None, None),
    ("Crash E.wav", None, None, None, None),
    ("Snare B 03.wav", None, None, None, None),
    ("Hi Hat Open A.wav", None, None, None, None),
    ("Kick_A1.wav", None, None, None, None),
    ("Perc_Shaker_D.wav", "one-shot", None, None, None),
    ("Drums/Kicks/Kick 04 E.wav", None, None, None, None),
    ("Tom (G).wav", None, None, None, "G"),
    ("Tom_C#2.wav", None, None, None, "Db2"),
    ("Kick -6dB.wav", None, None, None, None),
    ("Perc Loop 125 bpm E minor.wav", None, "E minor", 125, None),
    ("FX Riser 8 Bars 128BPM.wav", None, None, 128, None),
    ("Drum & Bass/Bass One Shot C.wav", None, None, None, "C"),
    # bare notes: root of a one-shot, major key of a loop or chord
    ("One Shots/Synth/Lead_F.wav", None, None, None, "F"),
    ("Loops/Keys/Keys_C.wav", None, "C major", None, None),
    ("Pad_C.wav", None, None, None, None),
    ("Pad_C.wav", "one-shot", None, None, "C"),
    ("Pad_C.wav", "loop", "C major", None, None),
    ("Brass Stab F.wav", None, None, None, "F"),
    ("Piano Hit Bb.wav", None, None, None, "Bb"),
    ("Bass One Shot - C1.wav", None, None, None, "C1"),
    ("808 - Boom (C).wav", None, None, None, "C"),
    ("808_Long_Gb.wav", None, None, None, "F#"),
    ("808 Loop 140 BPM F#.wav", None, "F# major", 140, None),
    ("Guitar Riff 90bpm Bb.wav", None, "Bb major", 90, None),
    ("Keys Loop 120 BPM C.wav", None, "C major", 120, None),
    ("Piano Chord C.wav", None, "C major", None, None),
    ("Piano Chord C3.wav", None, "C major", None, "C3"),
    ("Bell_OneShot_C5.wav", None, None, None, "C5"),
    ("E-Piano One Shot A#3.wav", None, None, None, "Bb3"),
    ("Sub Bass - Root F.wav", None, None, None, "F"),
    ("Key of C - Piano Loop.wav", None, "C major", None, None),
    ("Vocal Chop A.wav", None, None, None, None),
    ("Side B - Guitar Loop.wav", None, None, None, None),
    ("Take A.wav", "one-shot", None, None, None),
    ("A Day In Life Loop 120bpm.wav", None, None, 120, None),
    ("G-Funk Synth Loop 94 BPM.wav", None, None, 94, None),
    ("B3 Organ Loop 120 BPM Am.wav", None, "A minor", 120, None),
    ("DX7 Bell C4.wav", None, None, None, "C4"),
    ("Juno-60 Pad.wav", None, None, None, None),
    # explicit keys in every common spelling
    ("Vocal Loop 2 - 140 BPM - Dmin.wav", None, "D minor", 140, None),
    ("140_Dmin_VocalLoop_2.wav", None, "D minor", 140, None),
    ("Loop 15 - 140 BPM (Dm).wav", None, "D minor", 140, None),
    ("Pluck_Loop_128_G#m.wav", None, "Ab minor", 128, None),
    ("Lead 128 BPM A#min.wav", None, "Bb minor", 128, None),
    ("Pad (Ebm).wav", None, "Eb minor", None, None),
    ("Piano - A Minor - 85 BPM.wav", None, "A minor", 85, None),
    ("Strings C Major.wav", None, "C major", None, None),
    ("02 - Keys - C Major.wav", None, "C major", None, None),
    ("Melody_Loop_Cmaj_110bpm.wav", None, "C major", 110, None),
    ("Arp Loop F minor 128.wav", None, "F minor", 128, None),
    ("Reese Bass Loop 172 Fm.wav", None, "F minor", 172, None),
    ("Bass Loop 01 - 174 - Em.wav", None, "E minor", 174, None),
    ("SO_PT_120_Am_Guitar_Loop.wav", None, "A minor", 120, None),
    ("Guitar_Loop_Dm_100_03.wav", None, "D minor", 100, None),
    ("D#m_Pluck.wav", None, "Eb minor", None, None),
    ("F Sharp Major Pad.wav", None, "F# major", None, None),
    ("B flat minor Strings.wav", None, "Bb minor", None, None),
    ("Gb Min Choir.wav", None, "F# minor", None, None),
    ("Pad – C♯m.wav", None, "Db minor", None, None),
    ("Strings B♭ Major 90 BPM.wav", None, "Bb major", 90, None),
    ("ＢＰＭ120 Loop Am.wav", None, "A minor", 120, None),
    ("Cdur Klavier.wav", None, "C major", None, None),
    ("a moll Streicher Loop 80bpm.wav", None, "A minor", 80, None),
    ("Keys_Loop_A-minor_92.5bpm.wav", None, "A minor", 92.5, None),
    ("Vox_Hook_Gmin_95.wav", None, "G minor", None, None),
    ("Synth 124bpmAm.wav", None, "A minor", 124, None),
    ("Loop_124F#min.wav", None, "F# minor", 124, None),
    ("Emotional Pad Loop.wav", None, None, None, None),
    ("Amen Break 170bpm.wav", None, None, 170, None),
    ("FM_Bass_Loop_120bpm.wav", None, None, 120, None),
    ("GM Piano C4.wav", None, None, None, "C4"),
    ("Tempo 100 - Guitar Loop - E minor.wav", None, "E minor", 100, None),
    ("BPM: 128 Lead Loop Cm.wav", None, "C minor", 128, None),
    # lower case and capitals
    ("bass_loop_124bpm_f#min.wav", None, "F# minor", 124, None),
    ("keys_loop_90bpm_am.wav", None, "A minor", 90, None),
    ("pad_c#m.wav", None, "Db minor", None, None),
    ("fm_lead_loop_128bpm.wav", None, None, 128, None),
    ("f#_bass_loop_128bpm.wav", None, "F# major", 128, None),
    ("BASS_LOOP_124BPM_F#MIN.WAV", None, "F# minor", 124, None),
    ("PAD_C#M.WAV", None, "Db minor", None, None),
    ("FM_SYNTH_AM.WAV", None, None, None, None),
    # Camelot
    ("8A - Keys Loop.wav", None, "A minor", None, None),
    ("Loop 128 BPM 8A.wav", None, "A minor", 128, None),
    ("Pad (11B).wav", None, "A major", None, None),
    ("Camelot 5A Pad.wav", None, "C minor", None, None),
    ("Keys/12A/Pad 01.wav", None, "Db minor", None, None),
    ("Take 2B.wav", None, None, None, None),
    ("Bass_01A.wav", None, None, None, None),
    ("Kick 1A.wav", None, None, None, None),
    # chords
    ("Rhodes Chord Cmaj9.wav", None, "C major", None, None),
    ("Guitar Chord Dm7.wav", None, "D minor", None, None),
    ("Gmaj7_Rhodes_Chord.wav", None, "G major", None, None),
    ("Am7 Stab.wav", None, "A minor", None, None),
    ("Piano Chord G7.wav", None, "G major", None, None),
    ("Chord Bdim.wav", None, None, None, None),
    ("Csus4 Pad.wav", None, None, None, None),
    ("Am7 - D9 - Gmaj7 Progression.wav", None, None, None, None),
    ("Am F C G Progression 90 BPM.wav", None, None, 90, None),
    # folders
    ("Samples/Keys/F#min/Pad 01.wav", None, "F# minor", None, None),
    ("s3://bucket/Loops/128 BPM/A minor/Synth 04.wav", None, "A minor", 128, None),
    ("C:\\Samples\\Loops\\Am\\Guitar 01.wav", None, "A minor", None, None),
    ("C:/Samples/One Shots/Piano_C.wav", None, None, None, "C"),
    ("Loops/120 BPM/Pad_C.wav", None, "C major", 120, None),
    ("Pack/C minor/Loop 90bpm Eb major.wav", None, "Eb major", 90, None),
    ("/home/user/A/B/C/Pad 01.wav", None, None, None, None),
    ("Pack 2024/Drums/Snare 09.wav", None, None, None, None),
    ("Vocal Phrase Dm 120 - I Am Free.wav", None, "D minor", 120, None),
    ("i_am_free_vocal_120bpm.wav", None, None, 120, None),
    ("Piano in C.wav", None, "C major", None, None),
    ("Loop A.wav", None, None, None, None),
    ("Loop B 140bpm.wav", None, None, 140, None),
    ("Synth Loop - 128 - E.wav", None, "E major", None, None),
    ("OS_Keys_C#.wav", None, None, None, "Db"),
    ("Trap_808_Long_F#1.wav", None, None, None, "F#1"),
    ("Sub Drop (G).wav", None, None, None, None),
    ("Tonal Impact (C#).wav", None, None, None, "Db"),
    ("Piano_C4_mf_RR2.wav", None, None, None, "C4"),
    ("Top Loop 128.wav", None, None, None, None),
    ("Kick 48kHz 24bit.wav", None, None, None, None),
    ("Riser 16 bars 140 Bpm.wav", None, None, 140, None),
    ("Vox_Chop_A#_OneShot.wav", None, None, None, "Bb"),
    ("Keys (100 BPM) [G Major].wav", None, "G major", 100, None),
    ("Lead - 8B - 126bpm.wav", None, "C major", 126, None),
    # demo library names
    ("tonal_loop_Eb-minor_160bpm_0001.wav", None, "Eb minor", 160, None),
    ("chord_stab_A-minor_0007.wav", None, "A minor", None, None),
    ("chord_stab_F#-major_0012.flac", None, "F# major", None, None),
    ("note_G#4_0003.wav", None, None, None, "Ab4"),
    ("drum_loop_drums_174bpm_0001.wav", None, None, 174, None),
    ("drum_hit_drums_0004.ogg", None, None, None, None),
]


@pytest.mark.parametrize(("path", "kind", "key", "bpm", "root"), NAMES, ids=[n[0] + f"[{n[1]}]" for n in NAMES])
def test_declared_from_path(path, kind, key, bpm, root):
    d = declared_from_path(path, kind=kind)
    assert (d.key, d.bpm, d.root) == (key, None if bpm is None else float(bpm), root)


def test_the_table_is_large_and_each_value_canonical():
    assert len(NAMES) >= 80
    assert len({(n[0], n[1]) for n in NAMES}) == len(NAMES)
    for _, _, key, _, root in NAMES:
        assert key is None or key in keys.KEY_NAMES
        assert root is None or re.fullmatch(r"(C|Db|D|Eb|E|F|F#|G|Ab|A|Bb|B)\d?", root)


def test_kind_words_sources_and_emptiness():
    d = declared_from_path("Loops/Bass_Loop_124bpm_F#min.wav")
    assert d.kind == "loop" and d.source == "name" and d.source_of("bpm") == "name" and not d.empty
    assert declared_from_path("Rhodes One Shot G3.wav").kind == "one-shot"
    assert declared_from_path("Loops & One Shots/Pad 01.wav").kind is None
    nothing = declared_from_path("Take_118.wav")
    assert nothing == Declared() and nothing.empty and nothing.source is None and nothing.source_of("key") is None


@pytest.mark.parametrize(
    "bad", ["", " ", "/", "//", ".wav", None, 42, b"Bass_Loop_124bpm_F#min.wav", "\x00\x00", "#" * 500]
)
def test_odd_input_declares_nothing_or_reads_bytes(bad):
    d = declared_from_path(bad)  # type: ignore[arg-type]
    assert isinstance(d, Declared)
    if isinstance(bad, bytes):
        assert (d.key, d.bpm) == ("F# minor", 124.0)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Am", "A minor"),
        ("A minor", "A minor"),
        ("8A", "A minor"),
        ("1m", "A minor"),
        ("A#m/Bbm", "Bb minor"),
        ("C", "C major"),
        ("F#-minor", "F# minor"),
        ("E♭ major", "Eb major"),
        ("o", None),
        ("", None),
        ("Am/C", None),
        (None, None),
        ("Abm (1A)", "Ab minor"),
    ],
)
def test_key_from_text(text, key):
    assert key_from_text(text) == key


# -- properties ------------------------------------------------------------------------

#: examples per property; SAMPLEDEX_HYPOTHESIS_EXAMPLES=5000 searches harder
PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("SAMPLEDEX_HYPOTHESIS_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _valid(d: Declared) -> None:
    assert d.key is None or d.key in keys.KEY_NAMES
    assert d.bpm is None or BPM_RANGE[0] <= d.bpm <= BPM_RANGE[1]
    assert d.root is None or re.fullmatch(r"(C|Db|D|Eb|E|F|F#|G|Ab|A|Bb|B)\d?", d.root)
    assert d.kind in (None, "loop", "one-shot")


@PROPERTY_SETTINGS
@given(st.text(), st.sampled_from([None, "loop", "one-shot", "weird"]))
def test_never_raises_on_any_text(text, kind):
    _valid(declared_from_path(text, kind=kind))


NAMEISH = st.text(alphabet="ABCDEFGabcdefgmjnior#b♯♭ _-./\\()[]0123456789BPMbpmLoopShotKick8", max_size=60)


@PROPERTY_SETTINGS
@given(NAMEISH, st.sampled_from([None, "loop", "one-shot"]))
def test_never_raises_on_name_like_text(text, kind):
    _valid(declared_from_path(text, kind=kind))


_FLATS = {1: "Db", 3: "Eb", 6: "Gb", 8: "Ab", 10: "Bb"}
_SHARPS = {1: "C#", 3: "D#", 6: "F#", 8: "G#", 10: "A#"}
_NATURALS = {0: "C", 2: "D", 4: "E", 5: "F", 7: "G", 9: "A", 11: "B"}


@st.composite
def key_spellings(draw) -> tuple[int, str, str]:
    """(key index, a spelling of it that the grammar reads anywhere in a loop's name, its form)."""
    index = draw(st.integers(0, 23))
    pc, minor = keys.tonic_pc(index), keys.is_minor(index)
    if pc in _NATURALS:
        letter, accidentals = _NATURALS[pc], [""]
    else:
        letter, accidentals = draw(
            st.sampled_from(
                [(_SHARPS[pc][0], ["#", "♯", " sharp", "sharp"]), (_FLATS[pc][0], ["b", "♭", " flat", "-flat"])]
            )
        )
    accidental = draw(st.sampled_from(accidentals))
    form = draw(st.sampled_from(["word", "m", "camelot"] if minor else ["word", "camelot", "bare"]))
    if form == "camelot":
        code = keys.camelot(index)
        return index, draw(st.sampled_from([code, code.zfill(3)])), form
    if form == "m":
        if "sharp" in accidental or "flat" in accidental:
            accidental = accidental.strip(" -")
        lower = accidental in ("#", "♯") and draw(st.booleans())
        return index, (letter.lower() if lower else letter) + accidental + "m", form
    if form == "bare":
        if not accidental:
            return index, letter, "plain"  # a natural: a note only at the end of a name
        symbol = {" sharp": "#", "sharp": "#", " flat": "b", "-flat": "b"}.get(accidental, accidental)
        return index, letter + symbol, form
    words = ["minor", "min", "Min", "MIN", "Minor", "moll"] if minor else ["major", "maj", "Maj", "MAJ", "Major", "dur"]
    word = draw(st.sampled_from(words))
    separator = draw(st.sampled_from(["", " ", "_", "-"]))
    tonic = draw(st.sampled_from([letter, letter.lower()])) + accidental
    return index, tonic + separator + word, form


LOOP_WORDS = st.lists(
    st.sampled_from(["Synth", "Keys", "Loop", "Pad", "Guitar", "Lush", "Warm", "Vol", "Melody"]), min_size=0, max_size=3
)


@PROPERTY_SETTINGS
@given(
    key_spellings(),
    LOOP_WORDS,
    st.integers(0, 4),
    st.sampled_from(["_", " ", " - ", "-"]),
    st.sampled_from([".wav", ".flac", ""]),
    st.booleans(),
)
def test_a_key_in_any_spelling_and_place_is_read_back(spelled, words, place, joiner, extension, in_folder):
    index, text, form = spelled
    tokens = ["Loop", *words, "120 BPM"]
    if in_folder:
        path = f"Pack/{text}/{joiner.join(tokens)}{extension or '.wav'}"
    else:
        if form == "plain":
            tokens.append(text)  # a plain letter is a note at the end of a name
        elif form == "camelot":
            tokens.insert(0 if place % 2 else len(tokens), text)  # at the start, or beside the tempo
        else:
            tokens.insert(min(place, len(tokens)), text)
        path = joiner.join(tokens) + extension
    if in_folder and form in ("plain", "bare"):
        return  # a folder's bare note is no key (rule 7)
    d = declared_from_path(path)
    assert d.key == keys.KEY_NAMES[index], path
    assert d.bpm == 120.0, path


@st.composite
def tempo_spellings(draw) -> tuple[float, str]:
    bpm = draw(st.one_of(st.integers(40, 300).map(float), st.integers(400, 2999).map(lambda n: n / 10)))
    number = f"{bpm:g}"
    word = "".join(draw(st.sampled_from([c, c.upper()])) for c in "bpm")
    separator = draw(st.sampled_from(["", " ", "_", "-"]))
    return bpm, draw(st.sampled_from([number + separator + word, word + separator + number]))


@PROPERTY_SETTINGS
@given(
    tempo_spellings(),
    st.lists(st.sampled_from(["Drum", "Loop", "Kick", "Top", "Groove", "Vox", "03", "v2"]), max_size=4),
    st.integers(0, 4),
    st.sampled_from(["_", " ", " - "]),
)
def test_a_tempo_written_with_bpm_is_read_back(spelled, words, place, joiner):
    bpm, text = spelled
    tokens = list(words)
    tokens.insert(min(place, len(tokens)), text)
    path = joiner.join(tokens) + ".wav"
    assert declared_from_path(path).bpm == bpm, path


@PROPERTY_SETTINGS
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                [
                    "Take",
                    "Snare",
                    "Session",
                    "Loop",
                    "Drum",
                    "Impact",
                    "Kick",
                    "Vocal",
                    "Final",
                    "Mix",
                    "v3",
                    "Bounce",
                    "Master",
                    "Pad",
                    "Ride",
                    "Crash",
                ]
            ),
            st.integers(0, 3000).map(str),
            st.integers(1, 99).map(lambda n: f"{n:02d}"),
            st.integers(1, 60).map(lambda n: f"{n}s"),
        ),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from(["_", " ", "-", " - "]),
    st.sampled_from([None, "loop", "one-shot"]),
)
def test_no_tempo_without_tempo_context(tokens, joiner, kind):
    path = joiner.join(tokens) + ".wav"
    d = declared_from_path(path, kind=kind)
    assert d.bpm is None and d.key is None, path

"""What a sample's file name and folders declare: key, tempo and root note, as packs write them.

A pure function of the path's text (:func:`declared_from_path`); reading the
file's own metadata (ACID/smpl chunks, tags) is the pipeline's job
(``pipeline/tags.py``), which merges the two. When the name is unclear, nothing
is declared: a wrong declaration is worse than none.

Grammar
-------
The path is split on ``/`` and ``\\``; the last part is the *name* (its
extension dropped), the others are *folders* (a drive or scheme such as ``C:``,
``s3:`` is skipped). Text is read after Unicode NFKC normalisation, with ``♯``
read as ``#`` and ``♭`` as ``b``. *Separators* are white space and
``_ - . , + & ( ) [ ] { } ~ ! ' " ; : = @ |`` and the like; a *token* is a run
of other characters; *words* are the letters of a part split at separators,
digits and camelCase (``KickDrum`` is kick, drum), compared in lower case with
a plural ``s`` allowed.

Tempo (``declared.bpm``, BPM)

1. A number of 2–3 digits (no leading zero unless 3 digits; a decimal part
   allowed: ``92.5``, ``92,5``) next to ``bpm`` or ``tempo`` in any case, before
   or after it, glued or with one separator (after the word also ``:``/``=``):
   ``124bpm``, ``85 BPM``, ``120_Bpm``, ``BPM-96``, ``BPM: 128``, ``Tempo 100``.
   A range (``120-130 BPM``) and a value outside 40–300 declare no tempo.
2. In a loop's name only (see Kind), a number of 2–3 digits without a leading
   zero, in 50–220, written beside a key of rule 3, 4 or 5, or beside a bare
   note with an accidental read as a key, with nothing but up to three
   separators between (or glued before the key): ``Synth_Loop_124_F#min``,
   ``Loop Am 90``, ``Loop_124F#min``; not when a unit word follows it (``Am 64
   Bars``, ``128 Steps``). Several such numbers that differ declare none.
3. No other number is a tempo: ``Take_118``, ``Snare_909_02``,
   ``Session_2024_v3``, ``Impact_12s``, ``Drum_Loop_118``, ``Top Loop 128``
   declare nothing.

Key (``declared.key``, canonical spelling as :data:`keys.KEY_NAMES`)

4. *Explicit key*: a note letter ``A``–``G``, an optional accidental (``#``,
   ``b``, ``sharp``, ``flat``) and a written mode: either a mode word
   (``minor major min maj moll dur``, any case, glued or after up to three
   separators: ``F Min``, ``G# Maj``, ``a min``, ``E-minor``, ``F sharp major``,
   ``Cmaj``), or a lower-case ``m`` glued to an upper-case letter (``Am``,
   ``C#m``, ``Ebm``). No letter may touch either end (``Amen``, ``Eminem``,
   ``Bam`` are words). Lower-case ``m`` after a lower-case letter counts with a
   sharp (``c#m``), or in an all-lower-case part as a token of its own (``am``;
   never ``fm``, FM synthesis). Upper-case ``M`` (``CM``, ``FM``, ``AM``, ``GM``)
   is not read, except after a sharp in an all-capitals part (``C#M``: minor).
   ``Am`` after the word ``I`` is English (``I Am Free``).
5. *Chord*: a note and a chord quality. ``maj7 maj9 M7 M9 add9 add2 69`` …
   give the major key, ``m7 m9 m11 m13 m6 madd9 min7`` … the minor key
   (``Ebmaj7`` → Eb major, ``Am7`` → A minor); a plain-number quality (``C7``,
   ``G9``, ``C6``) only with the word ``chord`` in the name or its two innermost
   folders (else ``C7`` is a note with an octave). ``sus``, ``dim``, ``aug`` and
   half-diminished chords (``m7b5``) declare no key.
6. *Camelot code* ``1A``–``12B`` (``08A`` too; upper-case letter, or a two-digit
   code in an all-lower-case part) at the start of the name, in brackets, after
   the word ``key`` or ``camelot``, or beside a tempo or key (``08A Pad``,
   ``Pad (11B)``, ``Loop 128 BPM 8A``); in a folder only at its start. Elsewhere
   it is a label (``Take 2B``, ``Bass_01A``). Open Key codes (``1m``) are not
   read from names.
7. *Bare note*: a letter with an optional accidental (``C#``, ``Db`` …, not
   ``Cb Fb E# B#``) and an optional octave 0–8, and no mode. It counts only where
   it is clearly a note: with an accidental (``808 C#``, ``Pad F#``), with an
   octave (``G3``), in brackets (``Kick - Clean (F)``), after the words ``key``,
   ``key of``, ``in``, ``root`` or ``note``, or, a plain upper-case letter, as the
   name's last token (only numbers, or a tempo or key already read, after it:
   ``Pad_C``, ``Pad_C_01``) or right after a tempo (``120 BPM C``) — and not
   after a variation word (``Take``, ``Part``, ``Version``, ``Side``, ``Kit``,
   ``Mix``, ``Vol`` …) or right after ``loop`` (``Loop A`` is a label).
   Lower-case plain letters are never notes (``a`` is a word; ``f#`` is). With a drum word
   in the name or its two innermost folders (kick, snare, hat, ride, crash,
   cymbal, clap, tom, perc, shaker, rim, fx, impact, riser, sweep, noise, drum …;
   "drum & bass" is a genre, not a drum), only a bracketed note, one with an
   accidental or one after a cue word counts: ``Ride B`` and ``Kick_A1`` declare
   nothing, ``Kick (F)`` and ``Tom C#2`` are roots. ``B3`` with ``organ`` is an
   instrument.
8. A bare note is the major key on a loop or with the word ``chord`` (``Keys
   Loop 120 BPM C``, ``Piano Chord C``) and after ``key``/``in`` (``Key of C``,
   ``Piano in C``); with an octave it is a root (rule 10), and with ``chord`` also
   the major key; without octave on a one-shot it is the root (rule 11); when
   the kind is unknown, it declares nothing.
9. Different keys in the name declare no key (``Am7 - Gmaj7 Progression``), nor
   does an explicit key among two or more other note letters (``Am F C G``). An
   explicit key (rules 4–6) outranks bare notes. Folders are read for tempo
   (rule 1) and keys (rules 4–6), innermost first, when the name declares none:
   ``Loops/96 BPM/E minor/Guitar 03.wav``; a folder's bare note is no key.

Root (``declared.root``: tonic spelled as keys are, ``C Db D Eb E F F# G Ab A
Bb B``, then the octave when written; C4 = 261.6 Hz)

10. A bare note with an octave: ``Rhodes One Shot G3``, ``note_G#4`` → ``Ab4``,
    ``Tom_C#2`` → ``Db2``.
11. A bare note without octave on a one-shot, or after ``root``/``note``:
    ``Kick - Clean (F)`` → ``F``, ``808 C#`` → ``Db``.
    Several bare notes that differ declare no root.

Kind (``declared.kind``, ``'loop'`` or ``'one-shot'``), which decides rules 2, 8, 11

12. Words, the name first, then folders innermost first; the first part that
    says one kind decides (a part with both says nothing): ``loop(s) looped
    groove riff progression phrase melody`` say loop; ``one shot``, ``oneshot``,
    ``shot``, ``hit``, ``stab``, ``single``, ``note``, ``OS`` say one-shot. Only
    these words fill ``declared.kind``. For rules 2, 8 and 11, when no part says,
    a tempo (rule 1) means loop; a drum word or the token ``808`` means
    one-shot; otherwise the caller's ``kind`` (the audio's answer, or the ACID
    flag) decides, and without one a bare note without octave declares nothing.

:func:`declared_from_path` never raises: any input (empty, non-text, odd
Unicode) that cannot be read declares nothing.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TypeVar

from . import keys

T = TypeVar("T")

LOOP = "loop"
ONE_SHOT = "one-shot"
#: a declared tempo outside this range is not a tempo (BPM)
BPM_RANGE = (40.0, 300.0)
#: a number beside a key in a loop's name is a tempo only in this range (BPM)
BESIDE_KEY_BPM_RANGE = (50, 220)

#: the most of a path read: its last characters, each part's first, and the innermost folders
MAX_PATH_CHARS = 4096
MAX_PART_CHARS = 255
MAX_FOLDERS = 8

#: words that make a bare note letter meaningless (a cymbal named ``Ride B``), unless bracketed or with an accidental
DRUM_WORDS = frozenset(
    """kick kik bd snare snr sd hat hihat hh ride crash cymbal clap tom perc percussion shaker rim rimshot
    fx sfx impact riser sweep uplifter downlifter noise whoosh snap tambourine tamb conga bongo cowbell
    clave drum breakbeat foley glitch cym openhat closedhat ohh chh tabla djembe cajon guiro""".split()
)
#: genre names that hold a drum word without being drums
_GENRE_RE = re.compile(r"drum\s*(?:&|and|n|'n'|'n|n')\s*bass|drumnbass|d\s*&\s*b", re.IGNORECASE)
LOOP_WORDS = frozenset("loop looped groove riff progression phrase melody melodie".split())
ONE_SHOT_WORDS = frozenset("oneshot shot hit stab single note 1shot os".split())
CHORD_WORDS = frozenset({"chord"})
#: a plain letter after one of these is a variation label, not a note (``Take A``, ``Kit B``)
VARIATION_WORDS = frozenset(
    """take part version ver var variation alt side mix option opt group kit bank pattern scene section vol
    volume disc chain layer type set style mic room round pass velocity vel rr velo no num number""".split()
)

#: words after a number that make it a count or a measure, not a tempo (``64 Bars``)
UNIT_WORDS = frozenset(
    "bar bars beat beats step steps sec secs second seconds s ms hz khz k bit bits st semitones cent cents db "
    "min mins minute minutes x times layers voices notes hits takes".split()
)

_SEPARATORS = r"\s_\-.,+&()\[\]{}~!'\";:=@|<>*^%$`"
_TOKEN_RE = re.compile(rf"[^{_SEPARATORS}]+")
_SEP_ONLY_RE = re.compile(rf"^[{_SEPARATORS}]*$")
_WORD_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_EXTENSION_RE = re.compile(r"\.[A-Za-z][A-Za-z0-9]{1,4}$")

_TEMPO_NUMBER = r"(?P<n>(?:[1-9]\d{1,2}|0\d\d)(?:[.,]\d{1,2})?)"
_TEMPO_BEFORE_RE = re.compile(r"(?<![0-9.,])" + _TEMPO_NUMBER + r"[ _-]?(?i:bpm|tempo(?![A-Za-z]))")
_TEMPO_AFTER_RE = re.compile(r"(?<![A-Za-z])(?i:bpm|tempo)(?:[ _-]|\s*[:=]\s*)?" + _TEMPO_NUMBER + r"(?![0-9])")
_RANGE_BEFORE_RE = re.compile(r"(?<![0-9.,])(?P<lo>[1-9]\d{1,2})\s*(?:-|~|to)\s*$", re.IGNORECASE)

_TONIC = r"(?P<t>[A-Ga-g])(?P<acc>#|b|[ _-]?(?i:sharp|flat))?"
_KEY_RE = re.compile(
    r"(?<![A-Za-z#])"
    + _TONIC
    + r"(?:[ _-]{0,3}(?P<word>(?i:minor|major|min|maj|moll|dur))|(?P<m>m)|(?P<M>M))(?![A-Za-z])"
)
_MINOR_QUALITIES = ["m7", "m9", "m11", "m13", "m6", "madd9", "(?i:min)(?:7|9|11|13|6)", "mmaj7", "mM7"]
_MAJOR_QUALITIES = ["(?i:maj)(?:7|9|11|13|6)", "M7", "M9", "(?i:add)(?:9|2|11)", "69"]
_NUMBER_QUALITIES = ["7", "9", "11", "13", "6"]
_NO_KEY_QUALITIES = [
    "m7b5",
    "m7-5",
    "dim7",
    "dim",
    "aug",
    "7sus4",
    "7sus2",
    "sus2",
    "sus4",
    "sus",
    "°7",
    "°",
    "ø7",
    "ø",
    r"\+",
]
_CHORD_RE = re.compile(
    r"(?<![A-Za-z0-9#])(?P<t>[A-Ga-g])(?P<acc>#|b)?(?P<q>"
    + "|".join(
        f"(?P<{g}>{'|'.join(qs)})"
        for g, qs in (
            ("none", _NO_KEY_QUALITIES),
            ("minor", _MINOR_QUALITIES),
            ("major", _MAJOR_QUALITIES),
            ("number", _NUMBER_QUALITIES),
        )
    )
    + r")(?![A-Za-z0-9#])"
)
_CAMELOT_RE = re.compile(r"(?<![A-Za-z0-9#.,])(?P<n>0[1-9]|1[0-2]|[1-9])(?P<l>[ABab])(?![A-Za-z0-9#])")
_BARE_RE = re.compile(r"(?<![A-Za-z0-9#])(?P<t>[A-G](?:#|b)?|[a-g]#)(?P<oct>[0-8])?(?![A-Za-z0-9#])")
_NUMBER_RE = re.compile(r"(?<![A-Za-z0-9.,#])(?P<n>[1-9]\d{1,2})(?![0-9.,]?\d)")
#: bare notes with an accidental that names use; ``Cb``, ``Fb``, ``E#``, ``B#`` are left alone
_BARE_ACCIDENTALS = {"C#", "Db", "D#", "Eb", "F#", "Gb", "G#", "Ab", "A#", "Bb"}


@dataclass(frozen=True)
class Declared:
    """What a sample declares about itself; each value None when nothing is declared.

    ``key`` is a canonical key (``'F# minor'``), ``bpm`` a tempo (BPM), ``root`` a
    note in canonical tonic spelling with its octave when written (``'G3'``,
    ``'Db'``; C4 = 261.6 Hz), ``kind`` ``'loop'`` or ``'one-shot'`` as words or
    an ACID chunk say. ``sources`` pairs each declared field with where it was
    read: ``(('key', 'name'), ('bpm', 'acid'))``.
    """

    key: str | None = None
    bpm: float | None = None
    root: str | None = None
    kind: str | None = None
    sources: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def source_of(self, name: str) -> str | None:
        """Where field ``name`` was read (``'name'``, ``'acid'``, ``'smpl'``, ``'id3'`` …), or None."""
        return next((where for f, where in self.sources if f == name), None)

    @property
    def source(self) -> str | None:
        """Every place something was read, joined by ``+`` (``'acid+name'``), or None."""
        seen = list(dict.fromkeys(where for _, where in self.sources))
        return "+".join(seen) if seen else None

    @property
    def empty(self) -> bool:
        """True when no key, tempo or root is declared."""
        return self.key is None and self.bpm is None and self.root is None


NOTHING = Declared()


def declared_from_path(path: str, *, kind: str | None = None) -> Declared:
    """The key, tempo, root and kind that a sample's file name and folders declare.

    Parameters
    ----------
    path : str
        a path or URL (``/lib/Loops/96 BPM/E minor/Guitar 03.wav``,
        ``s3://bucket/Bass_Loop_124bpm_F#min.wav``); only its text is read.
    kind : {'loop', 'one-shot'} or None
        the audio's own answer, used when the words of the path do not say
        (it decides whether a bare note is a key or a root).

    Returns a :class:`Declared` whose ``sources`` name ``'name'``; see the module
    docstring for the grammar. Never raises: unreadable input declares nothing.
    """
    try:
        return _declared(path, kind)
    except Exception:  # noqa: BLE001 - a name must never fail a file's analysis
        return NOTHING


def key_from_text(text: object) -> str | None:
    """The canonical key a tag's text names (``'Am'``, ``'A minor'``, ``'8A'``, ``'1m'``, ``'A#m/Bbm'``), or None.

    A tag holds a key and nothing else, so a bare tonic is a major key here and
    Open Key codes are read (:func:`keys.parse_key`); text that is not one key
    (``'o'`` for off-key, two different keys) gives None. Never raises.
    """
    try:
        if not isinstance(text, str):
            return None
        text = _normalise(text).strip().strip("\x00").strip()
        candidates = {text, text.replace("-", " ").replace("_", " ")}
        for piece in re.split(r"[/|,;()\[\]]", text):
            candidates.add(piece.strip())
        found = set()
        for candidate in candidates:
            if not candidate:
                continue
            try:
                found.add(keys.parse_key(candidate))
            except keys.KeySpellingError:
                part = _Part(candidate)
                _find_keys(part)
                _find_camelot(part, folder=True)
                found.update(f.key for f in part.found if f.key is not None)
        return keys.KEY_NAMES[found.pop()] if len(found) == 1 else None
    except Exception:  # noqa: BLE001 - a tag must never fail a file's analysis
        return None


# -- the parts of a path -------------------------------------------------------


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return (
        text.replace("♯", "#")
        .replace("♭", "b")
        .replace("–", "-")
        .replace("—", "-")
        .replace("‐", "-")
        .replace("＃", "#")
    )


def _split(path: str) -> tuple[str, list[str]]:
    """The name without its extension, and the folders innermost first (at most :data:`MAX_FOLDERS`).

    Each part is cut to :data:`MAX_PART_CHARS`, as file systems cut names: the
    scan stays fast on any input.
    """
    parts = [p[:MAX_PART_CHARS] for p in re.split(r"[/\\]+", path[-MAX_PATH_CHARS:]) if p and not p.endswith(":")]
    if not parts:
        return "", []
    name = _EXTENSION_RE.sub("", parts[-1])
    return name, parts[-2 : -2 - MAX_FOLDERS : -1]


def _words(text: str) -> list[str]:
    """Lower-case words of a part, camelCase split (``KickDrum`` → kick, drum), genre names removed."""
    text = _GENRE_RE.sub(" ", text)
    return [w.lower() for w in _WORD_RE.findall(text)]


def _has(words: list[str], vocabulary: frozenset[str]) -> bool:
    return any(w in vocabulary or (len(w) > 3 and w.endswith("s") and w[:-1] in vocabulary) for w in words)


def _part_kind(words: list[str]) -> str | None:
    joined = " ".join(words)
    one_shot = _has(words, ONE_SHOT_WORDS) or "one shot" in joined or "1 shot" in joined
    loop = _has(words, LOOP_WORDS)
    if loop and not one_shot:
        return LOOP
    if one_shot and not loop:
        return ONE_SHOT
    return None


# -- spans found in one part ---------------------------------------------------


@dataclass
class _Found:
    start: int
    end: int
    what: str  # 'tempo', 'key', 'chord', 'camelot', 'nokey', or a bare 'note' ('keynote', 'rootnote' after a cue)
    key: int | None = None  # key index
    bpm: float | None = None
    note: tuple[int, str, int | None] | None = None  # (pitch class, tonic as written, octave)


class _Part:
    """One name or folder: its text with found spans blanked out as they are found."""

    def __init__(self, text: str):
        self.text = text
        self.work = text
        self.found: list[_Found] = []
        letters = [c for c in text if c.isalpha()]
        self.lower = bool(letters) and all(not c.isupper() for c in letters)
        self.upper = bool(letters) and all(not c.islower() for c in letters)

    def take(self, f: _Found) -> None:
        self.found.append(f)
        self.work = self.work[: f.start] + " " * (f.end - f.start) + self.work[f.end :]

    def tokens(self) -> list[tuple[int, int, str]]:
        return [(m.start(), m.end(), m.group()) for m in _TOKEN_RE.finditer(self.work)]

    def bracketed(self, start: int, end: int) -> bool:
        left, right = self.text[:start].rstrip(" "), self.text[end:].lstrip(" ")
        return bool(left) and bool(right) and left[-1] in "([{" and right[0] in ")]}"

    def beside(self, start: int, end: int, whats: tuple[str, ...]) -> bool:
        """Whether a found span of one of ``whats`` touches [start, end) with only separators between."""
        for f in self.found:
            if f.what not in whats:
                continue
            gap = self.text[f.end : start] if f.end <= start else self.text[end : f.start] if f.start >= end else None
            if gap is not None and len(gap) <= 3 and _SEP_ONLY_RE.match(gap):
                return True
        return False

    def previous_words(self, start: int, n: int = 2) -> list[str]:
        return _words(self.text[:start])[-n:]


def _bpm(text: str) -> float | None:
    value = float(text.replace(",", "."))
    return value if BPM_RANGE[0] <= value <= BPM_RANGE[1] else None


def _find_tempi(part: _Part) -> None:
    for regex in (_TEMPO_BEFORE_RE, _TEMPO_AFTER_RE):
        for m in regex.finditer(part.work):
            low = _RANGE_BEFORE_RE.search(part.work[: m.start()]) if regex is _TEMPO_BEFORE_RE else None
            if low and BPM_RANGE[0] <= int(low["lo"]) < float(m["n"].replace(",", ".")):
                continue  # a range, 120-130 BPM: no one tempo
            if part.work[m.start() : m.end()].strip() != part.work[m.start() : m.end()]:
                continue  # overlaps a span already taken
            bpm = _bpm(m["n"])
            part.take(_Found(m.start(), m.end(), "tempo", bpm=bpm))


def _tonic_index(letter: str, accidental: str | None, minor: bool) -> int:
    acc = (accidental or "").strip(" _-")
    return keys.parse_key(f"{letter.upper()}{acc} {'minor' if minor else 'major'}")


def _find_chords(part: _Part, chord_word: bool) -> None:
    for m in _CHORD_RE.finditer(part.work):
        if m["t"].islower() and (m["number"] or m["q"] in ("M7", "M9", "mM7")):
            continue
        if part.upper and m["q"] in ("M7", "M9"):
            continue  # CM7 in capitals could be Cm7
        if m["number"] and not chord_word:
            continue  # C7 is a note with its octave unless the name says chord
        if m["none"]:
            part.take(_Found(m.start(), m.end(), "nokey"))
            continue
        part.take(_Found(m.start(), m.end(), "chord", key=_tonic_index(m["t"], m["acc"], bool(m["minor"]))))


def _find_keys(part: _Part) -> None:
    for m in _KEY_RE.finditer(part.work):
        letter, acc = m["t"], m["acc"]
        if m["word"]:
            minor = m["word"].lower() in ("minor", "min", "moll")
        elif m["m"]:
            if letter.islower() and acc != "#" and not _lone_lower_minor(part, m):
                continue
            if m.group() in ("Am", "am") and part.previous_words(m.start(), 1) == ["i"]:
                continue  # "I Am Free"
            minor = True
        else:  # upper-case M: only C#M in an all-capitals name
            if not (part.upper and acc == "#"):
                continue
            minor = True
        part.take(_Found(m.start(), m.end(), "key", key=_tonic_index(letter, acc, minor)))


def _lone_lower_minor(part: _Part, m: re.Match) -> bool:
    """``am`` in an all-lower-case name, as a token of its own: A minor (not ``fm``, not ``i am``)."""
    if not part.lower or m["acc"]:
        return False
    text = m.group()
    left, right = part.text[: m.start()], part.text[m.end() :]
    if text == "fm" or (left and not _SEP_ONLY_RE.match(left[-1])) or (right and not _SEP_ONLY_RE.match(right[0])):
        return False
    return part.previous_words(m.start(), 1) != ["i"]


def _find_camelot(part: _Part, *, folder: bool) -> None:
    for m in _CAMELOT_RE.finditer(part.work):
        if m["l"].islower() and not (part.lower and len(m["n"]) == 2):
            continue
        at_start = _SEP_ONLY_RE.match(part.text[: m.start()]) is not None
        ok = at_start
        if not folder:
            ok = (
                ok
                or part.bracketed(m.start(), m.end())
                or bool(set(part.previous_words(m.start(), 1)) & {"key", "camelot"})
                or part.beside(m.start(), m.end(), ("tempo", "key", "chord"))
            )
        if ok:
            part.take(_Found(m.start(), m.end(), "camelot", key=keys.from_camelot(m["n"] + m["l"].upper())))


def _find_notes(part: _Part, *, drums: bool) -> None:
    tokens = part.tokens()
    for m in _BARE_RE.finditer(part.work):
        tonic, octave = m["t"], m["oct"]
        accidental = tonic[1:] if len(tonic) > 1 else ""
        if accidental and tonic[0].upper() + accidental not in _BARE_ACCIDENTALS:
            continue
        cue = part.previous_words(m.start(), 2)
        cue_word = cue[-1] if cue else None
        if cue[-2:] == ["key", "of"] or cue_word == "in":
            cue_word = "key"  # Key of C, Piano in C
        bracketed = part.bracketed(m.start(), m.end())
        strong = bool(accidental) or bracketed or cue_word in ("key", "root", "note")
        if drums and not strong:
            continue
        if not strong and not octave:
            if (
                cue_word in VARIATION_WORDS
                or cue_word in ("loop", "loops")
                or not _last_or_after_tempo(part, tokens, m)
            ):
                continue
        if not strong and octave and cue_word in VARIATION_WORDS:
            continue
        if tonic == "B" and octave == "3" and "organ" in _words(part.text):
            continue  # a Hammond B3 organ
        pc = keys.tonic_pc(keys.parse_key(tonic))
        written_octave = int(octave) if octave else None
        what = "keynote" if cue_word == "key" else "rootnote" if cue_word in ("root", "note") else "note"
        part.take(_Found(m.start(), m.end(), what, note=(pc, tonic, written_octave)))


def _last_or_after_tempo(part: _Part, tokens: list[tuple[int, int, str]], m: re.Match) -> bool:
    """A plain letter is a note as the part's last token (numbers after it aside) or right after a tempo."""
    if part.beside(m.start(), m.end(), ("tempo",)) and any(
        f.what == "tempo" and f.end <= m.start() for f in part.found
    ):
        return True
    index = next((i for i, (s, _, _) in enumerate(tokens) if s == m.start()), None)
    if index is None:
        return False
    after = tokens[index + 1 :]
    if not all(t.isdigit() for _, _, t in after):
        return False
    # the only token, or the last one after some words; not first in front of numbers alone
    return index > 0 or not after


def _find_tempo_beside_key(part: _Part, spans: list[tuple[int, int]]) -> float | None:
    """The one number of a loop's name written beside a key span (only separators between), if any."""
    values = set()
    for m in _NUMBER_RE.finditer(part.work):
        n = int(m["n"])
        if not BESIDE_KEY_BPM_RANGE[0] <= n <= BESIDE_KEY_BPM_RANGE[1]:
            continue
        right = part.text[m.end() :]
        glued = any(s == m.end() for s, _ in spans)
        if right and not _SEP_ONLY_RE.match(right[0]) and not glued:
            continue  # 12s, 120x: a unit or a word, not a tempo
        following = _words(right)[:1]
        if following and following[0] in UNIT_WORDS and not glued:
            continue  # 64 Bars, 128 Steps: a count, not a tempo
        for s, e in spans:
            gap = part.text[e : m.start()] if e <= m.start() else part.text[m.end() : s] if s >= m.end() else None
            if gap is not None and len(gap) <= 3 and _SEP_ONLY_RE.match(gap):
                values.add(float(n))
    return values.pop() if len(values) == 1 else None


# -- the whole path ------------------------------------------------------------


def _one(values: list[T]) -> T | None:
    """The value when all agree, else None."""
    distinct = set(values)
    return distinct.pop() if len(distinct) == 1 else None


def _note_name(pc: int, octave: int | None) -> str:
    return keys.TONICS[pc] + ("" if octave is None else str(octave))


def _the_note(notes: list[_Found]) -> tuple[_Found, int | None] | None:
    """The one note the bare notes of a name agree on (same pitch class, at most one octave), with its octave."""
    if not notes or len({f.note[0] for f in notes if f.note}) != 1:
        return None
    octaves = {f.note[2] for f in notes if f.note and f.note[2] is not None}
    if len(octaves) > 1:
        return None
    cued = [f for f in notes if f.what != "note"]
    return (cued or notes)[0], (octaves.pop() if octaves else None)


def _declared(path: object, kind: str | None) -> Declared:
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if isinstance(path, bytes):
        path = path.decode("utf-8", "replace")
    if not isinstance(path, str) or not path.strip():
        return NOTHING
    name_text, folder_texts = _split(_normalise(path))
    name = _Part(name_text)
    folders = [_Part(t) for t in folder_texts]

    name_words = _words(name.text)
    near_words = name_words + [w for f in folders[:2] for w in _words(f.text)]
    drums = _has(near_words, DRUM_WORDS)
    chord_word = _has(near_words, CHORD_WORDS)
    word_kind = next((k for k in (_part_kind(_words(p.text)) for p in [name, *folders]) if k), None)

    _find_tempi(name)
    _find_chords(name, chord_word)
    _find_keys(name)
    _find_camelot(name, folder=False)
    _find_notes(name, drums=drums)

    # tempo: the name's, else the innermost folder's that has one
    tempi = [f.bpm for f in name.found if f.what == "tempo"]
    bpm = _one(tempi) if None not in tempi else None
    folder_bpm = None
    if not tempi:
        for folder in folders:
            _find_tempi(folder)
            found = [f.bpm for f in folder.found if f.what == "tempo"]
            if found:
                folder_bpm = _one(found) if None not in found else None
                break

    resolved_kind = word_kind
    if resolved_kind is None:
        if bpm is not None or folder_bpm is not None:
            resolved_kind = LOOP
        elif drums or "808" in name_words:
            resolved_kind = ONE_SHOT
        else:
            resolved_kind = _kind_argument(kind)

    # key and root: explicit keys outrank bare notes; different ones cancel out
    explicit = [f for f in name.found if f.what in ("key", "chord", "camelot")]
    key: int | None = _one([f.key for f in explicit]) if explicit else None
    letters = [t for _, _, t in _Part(name.work).tokens() if re.fullmatch(r"[A-G](?:#|b)?", t)]
    if explicit and letters and len({*letters}) + len(explicit) >= 3:
        key = None  # a progression, Am F C G: no one key
    root: str | None = None
    key_spans = [(f.start, f.end) for f in explicit] if key is not None else []
    picked = _the_note([f for f in name.found if f.note])
    if picked is not None:
        note, octave = picked
        pc, tonic, _ = note.note  # type: ignore[misc]
        if note.what == "keynote":
            key = key if explicit else keys.key_index(pc, minor=False)
        elif note.what == "rootnote" or octave is not None:
            root = _note_name(pc, octave)
            if chord_word and not explicit:
                key = keys.key_index(pc, minor=False)
        elif not explicit and (chord_word or resolved_kind == LOOP):
            key = keys.key_index(pc, minor=False)
            if len(tonic) > 1:  # with an accidental: clear enough to have a tempo beside it
                key_spans.append((note.start, note.end))
        elif resolved_kind == ONE_SHOT:
            root = _note_name(pc, None)

    # a number beside a key in a loop's name is its tempo
    if not tempi and folder_bpm is None and resolved_kind == LOOP and key is not None and key_spans:
        bpm = _find_tempo_beside_key(name, key_spans)

    # the innermost folder that names a key, when the name names none (and is not torn between several)
    if key is None and not explicit:
        for folder in folders:
            _find_chords(folder, chord_word=False)
            _find_keys(folder)
            _find_camelot(folder, folder=True)
            folder_keys = [f.key for f in folder.found if f.what in ("key", "chord", "camelot")]
            if folder_keys:
                key = _one(folder_keys)
                break
    if bpm is None and not tempi:
        bpm = folder_bpm

    values = (("key", key), ("bpm", bpm), ("root", root), ("kind", word_kind))
    return Declared(
        key=None if key is None else keys.KEY_NAMES[key],
        bpm=bpm,
        root=root,
        kind=word_kind,
        sources=tuple((f, "name") for f, v in values if v is not None),
    )


def _kind_argument(kind: str | None) -> str | None:
    if not isinstance(kind, str):
        return None
    k = kind.strip().lower().replace("_", "-").replace(" ", "-")
    if k in ("loop", "loops"):
        return LOOP
    if k in ("one-shot", "oneshot", "one-shots", "shot"):
        return ONE_SHOT
    return None

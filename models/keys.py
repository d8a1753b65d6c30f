"""Musical key vocabulary: one canonical spelling, every common input spelling, Camelot codes.

A key is identified by an index ``0..23``: ``tonic_pc`` for majors (0 = C) and
``12 + tonic_pc`` for minors. The canonical spelling is ``"<tonic> <mode>"`` with
tonics ``C Db D Eb E F F# G Ab A Bb B`` (the catalog contract); the Camelot wheel
puts C major at ``8B`` and A minor at ``8A``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .errors import SampledexError

if TYPE_CHECKING:
    import numpy as np

TONICS: tuple[str, ...] = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MODES: tuple[str, str] = ("major", "minor")
NUM_KEYS = 24
#: the class after the 24 keys: "no key" (drums, percussion, noise, FX)
NO_KEY = NUM_KEYS

#: canonical spellings, indexed by key index
KEY_NAMES: tuple[str, ...] = tuple(f"{t} {m}" for m in MODES for t in TONICS)

_LETTER_PC = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_ACCIDENTALS = {"#": 1, "♯": 1, "sharp": 1, "b": -1, "♭": -1, "flat": -1, "": 0}
_MAJOR_WORDS = {"", "maj", "major", "dur", "ionian"}
_MINOR_WORDS = {"m", "min", "minor", "moll", "aeolian", "-"}

_KEY_RE = re.compile(r"^\s*(?P<letter>[A-Ga-g])\s*(?P<acc>#|♯|b|♭|(?i:sharp|flat))?\s*(?P<mode>[A-Za-z-]*)\s*$")
_CAMELOT_RE = re.compile(r"^\s*(?P<num>1[0-2]|0?[1-9])\s*(?P<letter>[ABab])\s*$")
_OPEN_KEY_RE = re.compile(r"^\s*(?P<num>1[0-2]|0?[1-9])\s*(?P<letter>[dm])\s*$")


class KeySpellingError(SampledexError, ValueError):
    """A string that is not a key in any spelling we accept."""


def key_index(tonic_pc: int, minor: bool) -> int:
    """Key index ``0..23`` of a tonic pitch class (0 = C) and mode."""
    return (tonic_pc % 12) + (12 if minor else 0)


def tonic_pc(index: int) -> int:
    """Pitch class of the tonic (0 = C) of key ``index``."""
    return index % 12


def is_minor(index: int) -> bool:
    return index >= 12


def camelot(index: int) -> str:
    """Camelot code of key ``index``: C major ``8B``, A minor ``8A``.

    Moving one step round the wheel is a perfect fifth; a major and its relative
    minor share the number.
    """
    major_pc = (tonic_pc(index) + 3) % 12 if is_minor(index) else tonic_pc(index)
    number = (7 * major_pc + 7) % 12 + 1
    return f"{number}{'A' if is_minor(index) else 'B'}"


def from_camelot(code: str) -> int:
    """Key index of a Camelot code such as ``"8A"``."""
    m = _CAMELOT_RE.match(code)
    if not m:
        raise KeySpellingError(f"{code!r} is not a Camelot code (1A..12B)")
    return _from_wheel(int(m["num"]), m["letter"].upper() == "A")


def _from_wheel(number: int, minor: bool) -> int:
    # inverse of camelot(): number = 7*pc + 7 (mod 12) + 1, and 7 is its own inverse mod 12
    major_pc = (7 * (number - 8)) % 12
    return key_index((major_pc - 3) % 12 if minor else major_pc, minor)


def parse_key(text: str) -> int:
    """Key index of any accepted spelling.

    Accepted: ``"A minor"``, ``"Am"``, ``"a min"``, ``"C#m"``, ``"Dbmin"``,
    ``"c# minor"``, ``"F sharp major"``, ``"Bb"`` (a bare tonic is major),
    ``"Cmaj"``, ``"CM"``, Camelot codes (``"12A"``) and Open Key codes
    (``"1d"`` = C major, ``"1m"`` = A minor).

    Raises
    ------
    KeySpellingError
        if ``text`` is not a key; the message carries the bad value.
    """
    if not isinstance(text, str) or not text.strip():
        raise KeySpellingError(f"{text!r} is not a key")
    m = _CAMELOT_RE.match(text)
    if m:
        return _from_wheel(int(m["num"]), m["letter"].upper() == "A")
    m = _OPEN_KEY_RE.match(text)
    if m:
        # Open Key puts C major at 1d; Camelot at 8B: the same wheel shifted by 7
        return _from_wheel((int(m["num"]) + 6) % 12 + 1, m["letter"] == "m")
    m = _KEY_RE.match(text)
    if not m:
        raise KeySpellingError(f"{text!r} is not a key")
    pc = _LETTER_PC[m["letter"].lower()] + _ACCIDENTALS[(m["acc"] or "").lower()]
    mode = m["mode"]
    if mode == "M":
        minor = False
    elif mode.lower() in _MAJOR_WORDS:
        minor = False
    elif mode.lower() in _MINOR_WORDS:
        minor = True
    else:
        raise KeySpellingError(f"{text!r} is not a key: unknown mode {mode!r}")
    return key_index(pc, minor)


def canonical(text: str) -> str:
    """Canonical spelling (``"Db minor"``) of any accepted spelling (``"c#m"``)."""
    return KEY_NAMES[parse_key(text)]


def relative(index: int) -> int:
    """The relative major of a minor key, or the relative minor of a major key."""
    if is_minor(index):
        return key_index(tonic_pc(index) + 3, minor=False)
    return key_index(tonic_pc(index) + 9, minor=True)


def parallel(index: int) -> int:
    """Same tonic, other mode."""
    return (index + 12) % NUM_KEYS


@dataclass(frozen=True)
class KeyEstimate:
    """A key decision. ``index`` is ``None`` when the method finds no key.

    ``first_confidence``: how sure the method was of its own first answer before a second opinion changed
    it (the CNN's probability of its best key before the chroma's evidence); None when there was none. The
    rules for sounds without notes read this (:attr:`sureness`): whether a sound holds a key is the
    method's own call, which key it holds may take the second opinion.

    ``corroborated``: the key as a second, independent method names it too (the CNN's key where the chroma's own
    best key is the same, clearly: :func:`cnn.corroborates`), else None. It is set even when ``index`` is None,
    where the method called the sound keyless only by its cautious margin; the rules for sounds without notes let
    it stand for a held sound with notes in it (:func:`descriptors.gate_key`).
    """

    index: int | None
    confidence: float
    first_confidence: float | None = None
    corroborated: KeyEstimate | None = None

    @property
    def sureness(self) -> float:
        return self.confidence if self.first_confidence is None else self.first_confidence

    @property
    def name(self) -> str | None:
        return None if self.index is None else KEY_NAMES[self.index]

    @property
    def camelot(self) -> str | None:
        return None if self.index is None else camelot(self.index)


class KeyEstimator(Protocol):
    """What every key method is: a log-frequency spectrogram in, one decision out.

    ``S`` is :func:`frontend.logfreq_spectrogram`'s output, shape
    ``[NUM_BINS, frames]``; ``version`` names the method and its weights, and
    goes into each row's ``analysis_version``.
    """

    @property
    def version(self) -> str: ...

    def __call__(self, S: np.ndarray) -> KeyEstimate: ...

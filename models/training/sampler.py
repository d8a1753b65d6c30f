"""A sampler over real recorded instruments: the training material's third source of sound.

Multisample libraries (SFZ instruments and the like: a folder of recorded notes, one per file, the note in
the name; drum kits of single hits) are read as folders of audio, never through their ``.sfz`` programs:
names are enough once each instrument's octave numbering is checked against the pitch heard.

    folder ──► files, grouped by the folder that holds them (one instrument or kit each; a folder named for
               one piece, as DrumGizmo's ``Samples/KdrumL`` or an SFZ kit's ``Samples/Snare``, belongs to the
               kit of the folder above it)
           ──► each file: a drum piece (from its name and folders) or a recorded note
               (from its name, else from the pitch heard: :func:`pitch.estimate_pitch`)
           ──► an instrument's octave numbering: the octave shift that makes most names agree with the
               pitch heard (libraries call middle C ``C3`` or ``C4``); a note whose name and sound disagree
               is dropped
           ──► :class:`Sampler`: nearest recorded note resampled to pitch, the layer nearest the velocity,
               round robins drawn at random; GM drum notes played on the kit's pieces

:class:`Sampler` renders like :class:`render.FluidRenderer` (same ``render`` signature), so the
generator's music and the corpus play through real instruments beside FluidSynth and numpy synthesis.
Libraries are development-time data (see README's "Training on real recorded instruments"): nothing here
downloads anything.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sampledex.models import onsets, pitch
from sampledex.models.errors import SampledexError

from .synth import Note

SR = 22050
AUDIO_SUFFIXES = (".wav", ".flac", ".aif", ".aiff", ".ogg")
#: a recorded note is kept for at most this long (s): longer tails add memory, not information
MAX_SECONDS = 8.0
#: a drum hit is drawn this share of a piece's hits (sorted by level) around the one its velocity points to: round
#: robins and the layers beside it, as a drummer never strikes twice alike
VELOCITY_SPREAD = 0.05
#: a note further than this from every recorded one (semitones) is moved by octaves into the range
MAX_STRETCH = 4
#: release of a note let go before its sample ends (s)
RELEASE_S = 0.08

_LETTERS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
#: ``C4``, ``A#2``, ``Fs4`` (s = sharp), ``ab2``/``Bb3`` (b = flat), ``C-1``, ``A7v16`` (a velocity layer
#: written on): a whole name token
_NOTE_TOKEN = re.compile(r"^([a-g])(#|s|b)?(-1|[0-9])(?:v[0-9]{1,3})?$", re.IGNORECASE)
#: MIDI note numbers written alone (``_055_``, ``PIANO 102``): two or three digits, the piano's range
_MIDI_TOKEN = re.compile(r"^[0-9]{2,3}$")
_SPLIT = re.compile(r"[^A-Za-z0-9#]+|(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=[0-9]{2,})")

#: drum pieces by the words that name them, first match wins; ``hat_open`` comes from a hat word plus "open"
_DRUM_WORDS: dict[str, str] = {
    **dict.fromkeys(("kick", "kdrum", "bd", "bassdrum", "kik"), "kick"),
    **dict.fromkeys(("snare", "sd", "rimshot", "rim", "sidestick"), "snare"),
    **dict.fromkeys(("clap", "claps", "handclap"), "clap"),
    **dict.fromkeys(("hihat", "hat", "hh", "hats"), "hat_closed"),
    **dict.fromkeys(("crash", "china", "splash", "cymbal", "crashl", "crashr"), "crash"),
    **dict.fromkeys(("ride", "ridel", "rider", "bell"), "ride"),
    **dict.fromkeys(("tom", "toms", "floortom"), "tom"),
    **dict.fromkeys(
        (
            "bongo",
            "conga",
            "cowbell",
            "shaker",
            "tambourine",
            "cuica",
            "castagnette",
            "castanet",
            "woodblock",
            "claves",
            "clave",
            "cabasa",
            "guiro",
            "agogo",
            "timbale",
            "triangle",
            "vibraslap",
            "maracas",
            "perc",
            "percussion",
        ),
        "perc",
    ),
}
#: an instrument needs this many recorded notes (fewer are strays in a kit's or an FX folder)
MIN_NOTES = 3
#: files that are not sounds of the instrument (DrumGizmo's trigger channel, release noises)
_SKIP_WORDS = frozenset({"trigger", "silence", "rel", "release", "noise"})
#: General MIDI drum notes → the pieces that can play them, best first
GM_DRUMS: dict[int, tuple[str, ...]] = {
    35: ("kick",),
    36: ("kick",),
    37: ("snare", "perc"),
    38: ("snare",),
    39: ("clap", "snare"),
    40: ("snare",),
    42: ("hat_closed", "hat_open", "ride"),
    44: ("hat_closed", "hat_open"),
    46: ("hat_open", "hat_closed", "crash"),
    41: ("tom",),
    43: ("tom",),
    45: ("tom",),
    47: ("tom",),
    48: ("tom",),
    50: ("tom",),
    49: ("crash", "ride", "hat_open"),
    57: ("crash", "ride", "hat_open"),
    51: ("ride", "crash", "hat_closed"),
    53: ("ride", "crash"),
}
_PERCUSSION = ("perc", "tom", "snare", "hat_closed")


class LibraryError(SampledexError, ValueError):
    """A folder given as a sample library holds nothing the sampler can play."""


def words(text: str) -> list[str]:
    """Lower-case tokens of a file or folder name: split at punctuation, spaces and case changes."""
    return [w.lower() for w in _SPLIT.split(text) if w]


def note_from_name(stem: str) -> int | None:
    """The MIDI note a file name states (``C4`` = 60 as written; the library's octave numbering is checked
    later), or None. A note token (``A#2``, ``Fs4``, ``ab2``) wins over a bare MIDI number (``_055_``)."""
    tokens = [t for t in re.split(r"[^A-Za-z0-9#-]+|(?<=[0-9])-|_", stem) if t]
    notes = [m for t in tokens if (m := _NOTE_TOKEN.match(t))]
    if notes:
        letter, accidental, octave = notes[-1].groups()
        shift = {"#": 1, "s": 1, "S": 1, "b": -1}.get(accidental or "", 0)
        midi = 12 * (int(octave) + 1) + _LETTERS[letter.lower()] + shift
        return midi if 0 <= midi <= 127 else None
    numbers = [int(t) for t in tokens if _MIDI_TOKEN.match(t) and 21 <= int(t) <= 108]
    return numbers[-1] if numbers else None


def _piece_word(word: str) -> str | None:
    """The piece a word names, read with and without a number and a side (``Tom1``, ``KdrumL``)."""
    bare = word.rstrip("0123456789")
    return _DRUM_WORDS.get(word) or _DRUM_WORDS.get(bare) or _DRUM_WORDS.get(bare.rstrip("lr"))


def drum_piece(relative: Path) -> str | None:
    """The kit piece a file is (``kick``, ``snare``, ``clap``, ``hat_closed``, ``hat_open``, ``crash``,
    ``ride``, ``tom``, ``perc``), from its name first, then its folders innermost first; None if neither
    names one."""
    for part in (relative.stem, *reversed(relative.parent.parts)):
        found = [p for w in words(part) if (p := _piece_word(w))]
        if found:
            piece = found[0]
            if piece == "hat_closed" and {"open", "op"} & set(words(relative.stem) + words(part)):
                return "hat_open"
            return piece
    return None


def decode(path: Path, *, sr: int = SR, max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """A recording as mono float32 at ``sr`` Hz, from its first sound (leading silence cut), at most
    ``max_seconds`` long."""
    import soundfile as sf

    from sampledex.models import frontend

    with sf.SoundFile(str(path)) as f:
        y = f.read(int(max_seconds * f.samplerate * 1.2) + f.samplerate, dtype="float32", always_2d=True)
        y = frontend.mono_at(y, f.samplerate, sr)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak == 0.0:
        return np.zeros(0, np.float32)
    start = max(0, int(np.argmax(np.abs(y) > peak * 10 ** (-40 / 20))) - int(0.002 * sr))
    return np.ascontiguousarray(y[start : start + int(max_seconds * sr)])


def heard_midi(y: np.ndarray, *, sr: int = SR) -> float | None:
    """The pitch heard in a recorded note (fractional MIDI), from its first 3 s; None if unpitched."""
    y = y[: 3 * sr]
    strength = onsets.onset_strength(y, sr=sr)
    return pitch.estimate_pitch(y, strength.energy_db, sr=sr, fps=strength.fps).midi


def octave_shift(named: Sequence[int], heard: Sequence[float | None]) -> int:
    """Semitones (a multiple of 12) to add to an instrument's named notes: the octave numbering that makes
    most names agree with the pitch heard, among notes whose pitch class agrees within a semitone."""
    votes: Counter[int] = Counter()
    for n, h in zip(named, heard):
        if h is not None and abs((h - n + 6) % 12 - 6) <= 1:
            votes[12 * int(round((h - n) / 12))] += 1
    return votes.most_common(1)[0][0] if votes else 0


def _layer_index(count: int, velocity: float, rng: np.random.Generator, *, spread: float) -> int:
    """Which of ``count`` layers (sorted by level) a note of ``velocity`` (0–1) plays: the one it points to, give
    or take a normal draw of ``spread`` layers."""
    at = velocity * (count - 1) + float(rng.normal(0, spread))
    return int(np.clip(round(at), 0, count - 1))


@dataclass(frozen=True)
class Zone:
    """One recorded note: ``audio`` (mono float32 at the sampler's rate), its ``midi`` note and its level
    (peak, dBFS), which orders the velocity layers."""

    audio: np.ndarray
    midi: int
    level_db: float


@dataclass
class Instrument:
    """The recorded notes of one folder, sorted by note."""

    name: str
    zones: list[Zone]
    notes: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.zones.sort(key=lambda z: (z.midi, z.level_db))
        self.notes = np.array([z.midi for z in self.zones])

    def fold(self, midi: int) -> int:
        """``midi`` moved by octaves until a recorded note lies within :data:`MAX_STRETCH` semitones."""
        low, high = int(self.notes[0]), int(self.notes[-1])
        while midi < low - MAX_STRETCH and midi + 12 <= high + MAX_STRETCH:
            midi += 12
        while midi > high + MAX_STRETCH and midi - 12 >= low - MAX_STRETCH:
            midi -= 12
        return midi

    def zone(self, midi: int, velocity: float, rng: np.random.Generator) -> Zone:
        """The recorded note nearest ``midi`` (ties drawn), in the layer nearest ``velocity`` (0–1), one
        round robin drawn."""
        distance = np.abs(self.notes - midi)
        nearest = np.flatnonzero(distance == distance.min())
        recorded = int(self.notes[nearest[int(rng.integers(nearest.size))]])
        layer = [z for z in self.zones if z.midi == recorded]  # sorted by level
        return layer[_layer_index(len(layer), velocity, rng, spread=0.25)]  # now and then the layer beside it


@dataclass
class Kit:
    """Single hits of one kit, by piece, each piece's hits sorted by level (peak): its velocity layers."""

    name: str
    pieces: dict[str, list[np.ndarray]]

    def __post_init__(self) -> None:
        for hits in self.pieces.values():
            hits.sort(key=lambda y: float(np.max(np.abs(y))))

    def hit(self, gm_note: int, rng: np.random.Generator, velocity: float = 1.0) -> np.ndarray:
        """A recorded hit for a General MIDI drum note (another piece where the kit lacks it), from the layers
        nearest ``velocity`` (0–1). A kit recorded at every dynamic (DrumGizmo's: dozens of hits per piece,
        ghost notes to rimshots) would otherwise play each beat at a dynamic drawn at random, and a pattern's
        kick on one and three as one loud kick and one ghost."""
        for piece in (*GM_DRUMS.get(gm_note, ()), *_PERCUSSION, *self.pieces):
            if self.pieces.get(piece):
                hits = self.pieces[piece]
                return hits[_layer_index(len(hits), velocity, rng, spread=0.25 + VELOCITY_SPREAD * len(hits))]
        raise LibraryError(f"kit {self.name} has no hits")


@dataclass
class Library:
    """What one folder holds: instruments and kits, and the files left out (with why)."""

    folder: str
    instruments: list[Instrument]
    kits: list[Kit]
    left_out: list[tuple[str, str]]

    def summary(self) -> str:
        notes = sum(len(i.zones) for i in self.instruments)
        hits = sum(len(h) for k in self.kits for h in k.pieces.values())
        return (
            f"{self.folder}: {len(self.instruments)} instruments ({notes} notes), {len(self.kits)} kits "
            f"({hits} hits), {len(self.left_out)} files left out"
        )


def audio_files(folder: str | Path, *, suffixes: tuple[str, ...] = AUDIO_SUFFIXES) -> list[Path]:
    """The audio files (names ending in one of ``suffixes``) under a library's folder, sorted;
    :class:`LibraryError` if it is no folder or holds none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LibraryError(f"sample library {folder} is not a folder")
    found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in suffixes and p.is_file())
    if not found:
        raise LibraryError(f"sample library {folder} holds no audio file ({', '.join(suffixes)})")
    return found


def _folder_name(place: Path, root: Path) -> str:
    return str(place.relative_to(root)) if place != root else root.name


def kit_folder(parent: Path, root: Path) -> Path:
    """The folder whose kit the hits in ``parent`` belong to: ``parent`` itself, or the folder above it when
    ``parent`` is named for one piece (a kit recorded a folder per piece: ``Samples/KdrumL``, ``Samples/Tom2``),
    so that a loop is played on the whole kit and not on one piece of it."""
    if parent != root and any(_piece_word(w) for w in words(parent.name)):
        return parent.parent
    return parent


def load_library(folder: str | Path, *, sr: int = SR, max_seconds: float = MAX_SECONDS) -> Library:
    """Read a folder of recordings (any depth) as instruments and kits; see the module's docstring.

    Raises :class:`LibraryError` when the folder holds no audio file the sampler can use.
    """
    folder = Path(folder)
    groups: dict[Path, list[Path]] = {}
    for path in audio_files(folder):
        groups.setdefault(path.parent, []).append(path)
    instruments, left_out = [], []
    kit_pieces: dict[Path, dict[str, list[np.ndarray]]] = {}
    for parent, paths in groups.items():
        pieces: dict[str, list[np.ndarray]] = {}
        named, heard, recordings = [], [], []
        for path in paths:
            relative = path.relative_to(folder)
            if _SKIP_WORDS & set(words(path.stem)):
                left_out.append((str(relative), "not a note or hit"))
                continue
            try:
                y = decode(path, sr=sr, max_seconds=max_seconds)
            except (RuntimeError, ValueError, OSError) as e:  # soundfile's LibsndfileError is a RuntimeError
                left_out.append((str(relative), f"unreadable: {e}"))
                continue
            if y.size < int(0.02 * sr):
                left_out.append((str(relative), "silent"))
                continue
            piece = drum_piece(relative)
            if piece is not None:
                pieces.setdefault(piece, []).append(y)
                continue
            named.append(note_from_name(path.stem))
            heard.append(heard_midi(y, sr=sr))
            recordings.append((relative, y))
        name = _folder_name(parent, folder)
        if recordings and sum(map(len, pieces.values())) > len(
            recordings
        ):  # mostly a kit: its other sounds are percussion
            pieces.setdefault("perc", []).extend(y for _, y in recordings)
            named, heard, recordings = [], [], []
        for piece, hits in pieces.items():
            kit_pieces.setdefault(kit_folder(parent, folder), {}).setdefault(piece, []).extend(hits)
        shift = octave_shift([n for n in named if n is not None], [h for n, h in zip(named, heard) if n is not None])
        zones = []
        for (relative, y), n, h in zip(recordings, named, heard):
            if n is not None:
                n += shift
                if h is not None and abs(h - n) > 1:  # the name and the sound disagree: trust neither
                    left_out.append((str(relative), f"named {n}, sounds {h:.1f}"))
                    continue
            elif h is not None:
                n = int(round(h))
            else:
                left_out.append((str(relative), "no note in its name and no pitch heard"))
                continue
            zones.append(Zone(y, n, float(20 * np.log10(np.max(np.abs(y))))))
        pitched = sum(h is not None for h in heard)
        if len(zones) >= MIN_NOTES and 2 * pitched >= len(heard):
            instruments.append(Instrument(name, zones))
        elif zones:  # strays, or an instrument of noises (a guitar played behind the bridge): no pitch to teach
            left_out.append((name, f"{len(zones)} notes, {pitched} of {len(heard)} recordings heard pitched"))
    kits = [Kit(_folder_name(place, folder), pieces) for place, pieces in kit_pieces.items()]
    if not instruments and not kits:
        raise LibraryError(f"{folder} holds no recorded note or drum hit the sampler can play")
    return Library(str(folder), instruments, kits, left_out)


def _place(out: np.ndarray, y: np.ndarray, at: int) -> None:
    end = min(out.size, at + y.size)
    if end > at >= 0:
        out[at:end] += y[: end - at]


def _shift(y: np.ndarray, semitones: float, sr: int) -> np.ndarray:
    """``y`` played ``semitones`` higher (faster) or lower (slower), as a sampler plays a recorded note."""
    if semitones == 0:
        return y
    import soxr

    return soxr.resample(y, sr * 2 ** (semitones / 12), sr).astype(np.float32)


class Sampler:
    """Plays note events on real recorded instruments (and GM drum notes on recorded kits) at ``sr`` Hz.

    ``program`` picks an instrument (``program`` modulo their number), as a General MIDI program picks a
    soundfont preset; velocity layers and round robins are drawn from the sampler's own seeded generator,
    so a sequence of renders is reproducible from ``seed``.
    """

    def __init__(self, libraries: Iterable[Library], *, sr: int = SR, seed: int = 0):
        libraries = list(libraries)
        self.sr = sr
        self.instruments = [i for lib in libraries for i in lib.instruments]
        self.kits = [k for lib in libraries for k in lib.kits]
        self.name = "sampler:" + ",".join(Path(lib.folder).name for lib in libraries)
        self.rng = np.random.default_rng(seed)

    @classmethod
    def load(cls, folders: Iterable[str | Path], *, sr: int = SR, seed: int = 0) -> Sampler:
        return cls([load_library(f, sr=sr) for f in folders], sr=sr, seed=seed)

    @property
    def has_drums(self) -> bool:
        return bool(self.kits)

    @property
    def has_instruments(self) -> bool:
        return bool(self.instruments)

    def render(
        self, notes: list[Note], duration: float, *, program: int = 0, drums: bool = False, tail: float = 0.0
    ) -> np.ndarray:
        """Play ``notes`` on one instrument (or a kit) for ``duration`` + ``tail`` seconds.

        Returns
        -------
        np.ndarray [shape=(round((duration + tail) * sr),), dtype=float32], not normalised.
        """
        out = np.zeros(int(round((duration + tail) * self.sr)), np.float32)
        if drums:
            if not self.kits:
                raise LibraryError(f"{self.name} has no drum kit")
            kit = self.kits[int(self.rng.integers(len(self.kits)))]
            for n in notes:
                hit = kit.hit(int(round(n.midi)), self.rng, n.velocity)
                _place(out, hit * (0.3 + 0.7 * n.velocity), int(round(n.onset * self.sr)))
            return out
        if not self.instruments:
            raise LibraryError(f"{self.name} has no pitched instrument")
        instrument = self.instruments[program % len(self.instruments)]
        release = int(RELEASE_S * self.sr)
        for n in notes:
            midi = instrument.fold(int(round(n.midi)))
            zone = instrument.zone(midi, n.velocity, self.rng)
            semitones = midi - zone.midi + (n.midi - round(n.midi))
            held = int(round(n.duration * self.sr))
            # only what the note uses is resampled: held time plus release, at the recording's speed
            need = int((held + release) * 2 ** (semitones / 12)) + 64
            y = _shift(zone.audio[:need], semitones, self.sr)[: held + release].copy()
            if y.size > held:
                y[held:] *= np.linspace(1, 0, y.size - held, dtype=np.float32)
            else:
                fade = min(y.size, 64)
                y[y.size - fade :] *= np.linspace(1, 0, fade, dtype=np.float32)
            _place(out, y * (0.3 + 0.7 * n.velocity), int(round(n.onset * self.sr)))
        return out

"""Labelled audio this machine can make: sample-pack loops, one-shots, melodies, corpus pieces, electronic
sound design (:mod:`electronic`), keyless material.

Every example is ``(audio, label, kind)`` with ``label`` a key index 0..23 or
:data:`NO_KEY`. Material comes from two sources of sound — FluidSynth with
General MIDI soundfonts and numpy synthesis — and from two sources of music:
generated (progressions typical of major and of minor keys, basslines,
arpeggios, melodies, drums, and the pads, FX, basses, plucks and buzzing
strings of electronic sample packs) and real (the music21 corpus, :mod:`corpus`).

Training and evaluation are kept apart on purpose: training renders with
:data:`render.TRAIN_SOUNDFONTS`, :data:`TRAIN_PROGRESSIONS` and the corpus
pieces that are not held out; the evaluation sets render with
:data:`render.EVAL_SOUNDFONT`, :data:`EVAL_PROGRESSIONS` and the held-out
pieces.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import ModuleType

import numpy as np

from sampledex.models import keys

from . import augment, electronic, synth
from .synth import Note

NO_KEY = keys.NO_KEY
SR = 22050

#: (scale degree 0..6, chord quality) per bar. Minor keys use the harmonic-minor
#: dominant where real music does.
TRAIN_PROGRESSIONS = {
    "major": [
        [(0, "maj"), (3, "maj"), (4, "maj"), (0, "maj")],
        [(0, "maj"), (5, "min"), (3, "maj"), (4, "maj")],
        [(0, "maj"), (4, "maj"), (5, "min"), (3, "maj")],
        [(0, "maj"), (1, "min7"), (4, "dom7"), (0, "maj7")],
        [(0, "maj"), (3, "maj"), (0, "maj"), (4, "maj")],
        [(0, "maj7"), (3, "maj7"), (1, "min7"), (4, "dom7")],
        [(0, "maj"), (2, "min"), (3, "maj"), (4, "maj")],
        [(0, "maj"), (4, "maj"), (3, "maj"), (4, "maj")],
        [(5, "min"), (3, "maj"), (0, "maj"), (4, "maj")],
        [(0, "maj"), (0, "maj"), (3, "maj"), (4, "dom7")],
    ],
    "minor": [
        [(0, "min"), (3, "min"), (4, "maj"), (0, "min")],
        [(0, "min"), (5, "maj"), (2, "maj"), (6, "maj")],
        [(0, "min"), (6, "maj"), (5, "maj"), (4, "maj")],
        [(0, "min"), (3, "min"), (6, "maj"), (0, "min")],
        [(0, "min"), (5, "maj"), (6, "maj"), (0, "min")],
        [(0, "min7"), (3, "min7"), (4, "dom7"), (0, "min7")],
        [(0, "min"), (6, "maj"), (5, "maj"), (6, "maj")],
        [(0, "min"), (3, "min"), (4, "min"), (0, "min")],
        [(0, "min"), (0, "min"), (5, "maj"), (4, "maj")],
        [(0, "min"), (2, "maj"), (6, "maj"), (3, "min")],
    ],
}
#: held out of training: the evaluation's "other music"
EVAL_PROGRESSIONS = {
    "major": [
        [(0, "maj"), (5, "min"), (1, "min"), (4, "maj")],
        [(0, "maj"), (2, "min"), (5, "min"), (3, "maj")],
        [(3, "maj"), (4, "maj"), (0, "maj"), (0, "maj")],
        [(0, "maj7"), (5, "min7"), (1, "min7"), (4, "dom7")],
    ],
    "minor": [
        [(0, "min"), (3, "min"), (5, "maj"), (4, "maj")],
        [(0, "min"), (6, "maj"), (3, "min"), (4, "maj")],
        [(0, "min"), (5, "maj"), (3, "min"), (4, "dom7")],
        [(0, "min7"), (6, "maj"), (5, "maj7"), (4, "dom7")],
    ],
}
#: semitones above the root of each chord quality
CHORD_INTERVALS = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "dim": (0, 3, 6),
    "dom7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
    # a tonic chord's colours, which packs name by the root in the bass: C6 holds Am7's notes, over C
    "add9": (0, 4, 7, 14),
    "6": (0, 4, 7, 9),
    "6/9": (0, 4, 7, 9, 14),
    "maj9": (0, 4, 7, 11, 14),
    "madd9": (0, 3, 7, 14),
    "min6": (0, 3, 7, 9),
    "min9": (0, 3, 7, 10, 14),
    "min11": (0, 3, 7, 10, 14, 17),
    # no third: named minor, as a drone of a tonic and a fifth is (electronic.drone_voicing)
    "5": (0, 7, 12),
}
#: the colours a held or struck tonic chord takes besides its triad and seventh, by mode (minor: True)
TONIC_COLOURS = {False: ("add9", "6", "6/9", "maj9"), True: ("madd9", "min6", "min9", "min11")}
#: General MIDI programs per role: every melodic family (pianos, chromatic percussion, organs, guitars,
#: strings, ensembles, brass, reeds, pipes, synth leads and pads, ethnic), so timbre does not tell the key
_MELODIC = tuple(range(0, 32)) + tuple(range(40, 96)) + tuple(range(104, 112))
PROGRAMS = {
    "chords": _MELODIC,
    "bass": tuple(range(32, 40)) + (0, 19, 42, 43, 58, 70, 87),
    "arp": _MELODIC,
    "melody": _MELODIC,
}
#: General MIDI drum notes
KICK, SNARE, CLAP, CLOSED_HAT, OPEN_HAT, LOW_TOM, HIGH_TOM, CRASH, RIDE = 36, 38, 39, 42, 46, 45, 50, 49, 51
DRUM_HITS = (KICK, SNARE, CLAP, CLOSED_HAT, OPEN_HAT, LOW_TOM, HIGH_TOM, CRASH, RIDE, 37, 54, 56, 69, 70, 75)
#: families drawn by numpy synthesis in :mod:`electronic`, each the function of that name there
ELECTRONIC_FAMILIES = ("pad", "tonal_fx", "bass", "pluck", "buzz")
#: share of tonal FX laid over a pitchless wash as loud as a quarter to two and a half times their tones
#: (:func:`electronic.noise_bed`): the keyless class's washes must not teach that a riser over a tonic has no key
NOISE_BED_SHARE = 0.4
#: every family :func:`example` knows
FAMILIES = ("loop", "stab", "melody", "corpus", "corpus_melody", *ELECTRONIC_FAMILIES, "keyless")


def chord_pitches(key: int, degree: int, quality: str, *, octave: int = 4) -> list[int]:
    """MIDI pitches of a chord on a scale degree, voiced near the tonic of ``octave``."""
    tonic = 12 * (octave + 1) + keys.tonic_pc(key)
    root = tonic + synth.scale_of(key)[degree]
    if root > tonic + 6:
        root -= 12
    return [root + i for i in CHORD_INTERVALS[quality]]


def _scale_pitch(key: int, step: int, octave: int) -> int:
    scale = synth.scale_of(key)
    shift, s = divmod(step, 7)
    return 12 * (octave + 1 + shift) + keys.tonic_pc(key) + scale[s]


def loop_parts(
    key: int, progression: list, *, bpm: float, bars: int, rng: np.random.Generator
) -> dict[str, list[Note]]:
    """Chords, bass, arpeggio and melody of a bar-exact loop (one chord per bar, 4/4)."""
    beat = 60.0 / bpm
    parts: dict[str, list[Note]] = {"chords": [], "bass": [], "arp": [], "melody": []}
    chord_rhythm = [(0, 4)] if rng.random() < 0.5 else [(0, 1.5), (1.5, 1), (2.5, 1.5)]
    bass_rhythm = [(b, 1) for b in range(4)] if rng.random() < 0.5 else [(0, 2.5), (3, 1)]
    arp_step = float(rng.choice([0.5, 0.25]))
    for bar in range(bars):
        degree, quality = progression[bar % len(progression)]
        pitches = chord_pitches(key, degree, quality)
        t0 = bar * 4
        for start, length in chord_rhythm:
            parts["chords"] += [Note((t0 + start) * beat, length * beat * 0.95, p, 0.6) for p in pitches]
        for start, length in bass_rhythm:
            parts["bass"].append(Note((t0 + start) * beat, length * beat * 0.9, pitches[0] - 24, 0.8))
        order = pitches + [pitches[0] + 12]
        for i in range(int(4 / arp_step)):
            parts["arp"].append(
                Note((t0 + i * arp_step) * beat, arp_step * beat * 0.9, order[i % len(order)] + 12, 0.5)
            )
        step = 0
        for i in range(8):
            if i % 4 == 0:  # strong beats land on chord tones
                step = int(rng.choice([degree, degree + 2, degree + 4])) % 7
            else:
                step = int(np.clip(step + rng.choice([-1, 1, 2, -2]), -2, 9))
            if rng.random() < 0.85:
                parts["melody"].append(Note((t0 + i * 0.5) * beat, 0.45 * beat, _scale_pitch(key, step, 5), 0.7))
    return parts


def drum_notes(*, bpm: float, bars: int, rng: np.random.Generator) -> list[Note]:
    """A GM drum pattern: kick, snare or clap backbeat, hats, sometimes a fill."""
    beat = 60.0 / bpm
    notes = []
    four_floor = rng.random() < 0.5
    for bar in range(bars):
        t0 = bar * 4
        for b in range(4):
            if four_floor or b in (0, 2) or rng.random() < 0.2:
                notes.append(Note((t0 + b) * beat, 0.2, KICK, 0.9))
            if b in (1, 3):
                notes.append(Note((t0 + b) * beat, 0.2, SNARE if rng.random() < 0.7 else CLAP, 0.8))
        for e in range(8 if rng.random() < 0.6 else 16):
            step = 4 / (8 if len(notes) % 2 else 16)
            notes.append(Note((t0 + e * step) * beat, 0.1, CLOSED_HAT, float(rng.uniform(0.4, 0.8))))
        if rng.random() < 0.2:
            notes.append(Note((t0 + 3.5) * beat, 0.3, OPEN_HAT, 0.6))
    return notes


def _pick(renderers: list, rng: np.random.Generator, *, drums: bool = False):
    """A renderer that plays pitched instruments (or, with ``drums``, a kit), drawn; None if none does."""
    able = [r for r in renderers if (r.has_drums if drums else r.has_instruments)]
    return able[int(rng.integers(len(able)))] if able else None


def _layer(notes: list[Note], duration: float, role: str, rng: np.random.Generator, renderers: list) -> np.ndarray:
    """One instrument: a soundfont program or recorded instrument if renderers are given (usually), else
    numpy synthesis."""
    if renderers and rng.random() < 0.75 and (r := _pick(renderers, rng)) is not None:
        y = r.render(notes, duration, program=int(rng.choice(PROGRAMS[role])))
        return y[: int(round(duration * SR))]
    wave = str(rng.choice(synth.WAVES))
    return synth.render(notes, duration, SR, wave=wave, release=0.05)


def _drums(duration: float, bpm: float, bars: int, rng: np.random.Generator, renderers: list) -> np.ndarray:
    if renderers and rng.random() < 0.7 and (r := _pick(renderers, rng, drums=True)) is not None:
        return r.render(drum_notes(bpm=bpm, bars=bars, rng=rng), duration, drums=True)[: int(round(duration * SR))]
    return synth.drum_loop(bpm=bpm, bars=bars, sr=SR, rng=rng)


def _mix(layers: list[tuple[np.ndarray, float]]) -> np.ndarray:
    n = max(y.size for y, _ in layers)
    out = np.zeros(n, dtype=np.float32)
    for y, gain in layers:
        out[: y.size] += synth.normalise(y) * gain
    return synth.normalise(out)


def tonal_loop(key: int, rng: np.random.Generator, renderers: list, progressions: dict) -> np.ndarray:
    """A sample-pack loop in ``key``: 2–4 of chords, bass, arpeggio, melody; drums half the time."""
    mode = "minor" if keys.is_minor(key) else "major"
    progression = progressions[mode][int(rng.integers(len(progressions[mode])))]
    bpm = float(rng.uniform(70, 175))
    bars = int(rng.choice([1, 2, 4])) if 240 * 4 / bpm <= 12 else int(rng.choice([1, 2]))
    duration = bars * 240 / bpm
    parts = loop_parts(key, progression, bpm=bpm, bars=bars, rng=rng)
    roles = [r for r in ("chords", "bass", "arp", "melody") if rng.random() < 0.6] or ["chords"]
    layers = [(_layer(parts[r], duration, r, rng, renderers), float(rng.uniform(0.5, 1.0))) for r in roles]
    if rng.random() < 0.5:
        layers.append((_drums(duration, bpm, bars, rng, renderers), float(rng.uniform(0.3, 1.0))))
    return _mix(layers)


def tonic_colour(key: int, rng: np.random.Generator) -> str:
    """One of :data:`TONIC_COLOURS` for the key's mode, drawn evenly."""
    colours = TONIC_COLOURS[keys.is_minor(key)]
    return colours[int(rng.integers(len(colours)))]


def one_shot_chord(key: int, rng: np.random.Generator, renderers: list) -> np.ndarray:
    """A tonic chord stab (triad 40 %, seventh 30 % or a colour 30 %, :func:`tonic_colour`; with its bass)
    of 0.4–3 s."""
    draw = rng.random()
    minor = keys.is_minor(key)
    if draw < 0.4:
        quality = "min" if minor else "maj"
    elif draw < 0.7:
        quality = "min7" if minor else "maj7"
    else:
        quality = tonic_colour(key, rng)
    pitches = chord_pitches(key, 0, quality)
    duration = float(rng.uniform(0.4, 3.0))
    notes = [Note(0.0, duration * 0.8, p, 0.7) for p in pitches + [pitches[0] - 12]]
    return synth.normalise(_layer(notes, duration, "chords", rng, renderers))


def melody_line(key: int, rng: np.random.Generator, renderers: list) -> np.ndarray:
    """A monophonic line in the key (tonic-centred, cadencing on the tonic), lead or bass register."""
    bpm = float(rng.uniform(70, 160))
    bars = int(rng.choice([2, 4]))
    octave = int(rng.choice([2, 4, 5]))
    beat = 60 / bpm
    notes, step, t = [], 0, 0.0
    total = bars * 4
    while t < total - 1:
        length = float(rng.choice([0.5, 0.5, 1.0, 0.25, 1.5]))
        if t % 4 == 0:
            step = int(rng.choice([0, 0, 2, 4, 7]))
        else:
            step = int(np.clip(step + rng.choice([-2, -1, -1, 1, 1, 2, 3]), -3, 10))
        notes.append(Note(t * beat, length * beat * 0.9, _scale_pitch(key, step, octave), 0.75))
        t += length
    notes.append(Note(t * beat, beat, _scale_pitch(key, 0, octave), 0.75))
    duration = (t + 1) * beat + 0.3
    return synth.normalise(_layer(notes, duration, "bass" if octave == 2 else "melody", rng, renderers))


def corpus_audio(
    notes: list[tuple[float, float, int]],
    rng: np.random.Generator,
    renderers: list,
    *,
    max_seconds: float = 12.0,
    role: str = "melody",
) -> np.ndarray:
    """Render a corpus piece's notes (quarter-note times) at a random tempo, from a random start."""
    bpm = float(rng.uniform(70, 140))
    beat = 60 / bpm
    starts = sorted({n[0] for n in notes})
    begin = starts[int(rng.integers(max(1, len(starts) // 2)))] if rng.random() < 0.5 else 0.0
    events = [
        Note((on - begin) * beat, dur * beat * 0.95, m, 0.75)
        for on, dur, m in notes
        if on >= begin and (on - begin) * beat < max_seconds
    ]
    duration = min(max_seconds, max(e.onset + e.duration for e in events) + 0.3)
    return synth.normalise(_layer(events, duration, role, rng, renderers))


def keyless(rng: np.random.Generator, renderers: list) -> tuple[np.ndarray, str]:
    """Material with no key: a drum loop, a drum hit, noise, a sweep, a noisy FX burst, or designed keyless FX
    (noise risers and falls, unpitched impacts, reversed noise swells: :func:`electronic.keyless_fx`, whose
    kind is returned)."""
    kind = str(rng.choice(["drums", "drums", "hit", "hit", "noise", "sweep", "fx", "designed"]))
    if kind == "designed":
        return electronic.keyless_fx(rng)
    if kind == "drums":
        bpm = float(rng.uniform(70, 175))
        bars = int(rng.choice([1, 2]))
        return _drums(bars * 240 / bpm, bpm, bars, rng, renderers), kind
    if kind == "hit":
        if renderers and rng.random() < 0.7 and (r := _pick(renderers, rng, drums=True)) is not None:
            return r.render(
                [Note(0, 0.3, int(rng.choice(DRUM_HITS)), 0.9)], 0.3, drums=True, tail=float(rng.uniform(0.2, 1.5))
            ), kind
        return [synth.kick(SR), synth.snare(SR, rng), synth.hat(SR, rng, duration=0.3)][int(rng.integers(3))], kind
    duration = float(rng.uniform(0.5, 6.0))
    n = int(duration * SR)
    t = np.arange(n) / SR
    if kind == "noise":
        y = rng.standard_normal(n)
        if rng.random() < 0.5:
            y = np.cumsum(y)
            y -= np.convolve(y, np.ones(512) / 512, mode="same")
        return (y * np.exp(-t * float(rng.uniform(0, 3)))).astype(np.float32), kind
    if kind == "sweep":
        f0, f1 = sorted(rng.uniform(40, 8000, 2))[:: 1 if rng.random() < 0.5 else -1]
        phase = 2 * np.pi * np.cumsum(np.geomspace(f0, f1, n)) / SR
        y = np.sin(phase) if rng.random() < 0.5 else rng.standard_normal(n) * np.linspace(0, 1, n)
        return y.astype(np.float32), kind
    # FX: a riser or impact of filtered noise with a fast random pitch glide
    glide = np.geomspace(float(rng.uniform(50, 500)), float(rng.uniform(500, 5000)), n)
    y = np.sin(2 * np.pi * np.cumsum(glide) / SR) * rng.standard_normal(n) * np.exp(-t * float(rng.uniform(0.5, 4)))
    return y.astype(np.float32), kind


def example(
    family: str,
    seed: int,
    *,
    renderers: list,
    progressions: dict = TRAIN_PROGRESSIONS,
    piece=None,
    degrade: bool = True,
) -> tuple[np.ndarray, int, str]:
    """One labelled example of a family, fully determined by ``seed``.

    Families (:data:`FAMILIES`): ``loop``, ``stab``, ``melody``, ``corpus`` (a whole piece),
    ``corpus_melody`` (its top line), the numpy-only electronic families ``pad``, ``tonal_fx``,
    ``bass``, ``pluck``, ``buzz`` (:mod:`electronic`; they ignore ``renderers``), ``keyless``.
    ``piece`` is a :class:`corpus.Piece` for the corpus families.

    Degradations may cut an excerpt, except from stabs and tonal FX: an FX's key is in what it lands on or
    holds, and an excerpt of a riser's glide alone would teach that a sweep has a key.
    """
    rng = np.random.default_rng(seed)
    key = int(rng.integers(24))
    if family == "loop":
        y, kind = tonal_loop(key, rng, renderers, progressions), "loop"
    elif family == "stab":
        y, kind = one_shot_chord(key, rng, renderers), "stab"
    elif family == "melody":
        y, kind = melody_line(key, rng, renderers), "melody"
    elif family in ("corpus", "corpus_melody"):
        key = piece.key
        notes = piece.notes if family == "corpus" else piece.melody
        y, kind = corpus_audio(notes, rng, renderers, role="chords" if family == "corpus" else "melody"), family
    elif family in ELECTRONIC_FAMILIES:
        y, kind = getattr(electronic, family)(key, rng), family
        if family == "tonal_fx" and rng.random() < NOISE_BED_SHARE:
            y = electronic.noise_bed(y, rng)
    elif family == "keyless":
        (y, kind), key = keyless(rng, renderers), NO_KEY
    else:
        raise ValueError(f"family={family!r} is not one of {', '.join(FAMILIES)}")
    if degrade:
        y = augment.random_chain(y, SR, rng, allow_excerpt=family not in ("stab", "tonal_fx"))
    return synth.normalise(y, float(rng.uniform(0.1, 0.95))), key, kind


def code_digest(*modules: ModuleType) -> str:
    """16 hex digits of the source of ``modules``: what a cache of rendered material depends on besides its
    seed and counts, so that a cache made by other code is made again rather than trained on."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


#: seeds of evaluation material start here, far from any training seed
EVAL_SEED = 10**9
EVAL_SETS = ("loops", "melodies", "keyless", "pack")
#: the validation sets played on held-out recorded instruments and kits (:mod:`sampler`)
REAL_SETS = ("real-loops", "real-stabs", "real-melodies", "real-keyless")


def write_eval_sets(
    folder,
    pieces: list,
    *,
    per_set: int = 240,
    names: tuple[str, ...] = EVAL_SETS,
    renderers: list | None = None,
    log=print,
) -> dict[str, str]:
    """Render the held-out evaluation sets ``names`` as FLAC files with a ``labels.csv`` (path,key,kind) each.

    ``loops``: held-out progressions; ``melodies``: the top lines of held-out corpus
    pieces; ``keyless``: drums, hits, noise, sweeps, FX; ``pack``: the electronic
    families (pads, tonal FX, basses, plucks and bells, buzzing strings) in equal
    shares. All through the held-out soundfont (and numpy synthesis), with the same
    degradations as training, from seeds no training example uses. The ``pack`` set
    comes from the same generator as its training families, so it measures how well
    they were learnt, not how well real packs are heard.

    The :data:`REAL_SETS` (loops, chord stabs, corpus melodies, keyless) play the same kinds of music on
    ``renderers`` instead: a :class:`sampler.Sampler` over recorded instruments and kits that training
    never hears (numpy synthesis keeps the quarter of the parts it has everywhere). Returns the CSV path of
    each set.
    """
    import csv
    from pathlib import Path

    import soundfile as sf

    from . import render

    soundfont = [render.renderer(render.EVAL_SOUNDFONT)] if set(names) - set(REAL_SETS) else []
    folder = Path(folder)
    held_out = [p for p in pieces if p.melody]

    def melodies(first_seed: int) -> list:
        return [
            ("corpus_melody", first_seed + i, held_out[i % len(held_out)]) for i in range(min(per_set, len(held_out)))
        ]

    plans = {
        "loops": [("loop", EVAL_SEED + i, None) for i in range(per_set)],
        "melodies": melodies(EVAL_SEED + 10**6),
        "keyless": [("keyless", EVAL_SEED + 2 * 10**6 + i, None) for i in range(per_set)],
        "pack": [
            (ELECTRONIC_FAMILIES[i % len(ELECTRONIC_FAMILIES)], EVAL_SEED + 3 * 10**6 + i, None) for i in range(per_set)
        ],
        "real-loops": [("loop", EVAL_SEED + 4 * 10**6 + i, None) for i in range(per_set)],
        "real-stabs": [("stab", EVAL_SEED + 5 * 10**6 + i, None) for i in range(per_set)],
        "real-melodies": melodies(EVAL_SEED + 6 * 10**6),
        "real-keyless": [("keyless", EVAL_SEED + 7 * 10**6 + i, None) for i in range(per_set)],
    }
    if set(names) & set(REAL_SETS) and not renderers:
        raise ValueError(f"{', '.join(REAL_SETS)} need the renderers of held-out recorded instruments")
    out = {}
    for name, jobs in ((n, plans[n]) for n in names):
        renderers_here = (renderers or []) if name in REAL_SETS else soundfont
        (folder / name).mkdir(parents=True, exist_ok=True)
        rows = []
        for family, seed, piece in jobs:
            y, label, kind = example(
                family, seed, renderers=renderers_here, piece=piece, progressions=EVAL_PROGRESSIONS
            )
            file = f"{name}/{kind}_{seed - EVAL_SEED:07d}.flac"
            sf.write(folder / file, y, SR, format="FLAC")
            rows.append((file, "" if label == NO_KEY else keys.KEY_NAMES[label], kind))
        with open(folder / name / "labels.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["path", "key", "kind"])
            writer.writerows((Path(p).name, k, kind) for p, k, kind in rows)
        out[name] = str(folder / name / "labels.csv")
        log(f"wrote {len(rows)} files to {folder / name}")
    return out

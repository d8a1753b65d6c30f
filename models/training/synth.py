"""Seeded numpy synthesis of sample-pack material in known keys and tempos.

Pure functions from parameters (and an explicit ``numpy.random.Generator``) to
float32 signals in [-1, 1]. They make the demo library, the benchmark library,
test signals and, later, training material: the label of every signal is known
because we wrote its notes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sampledex.models import keys

#: scale degrees (semitones above the tonic) of major and natural minor
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)

#: progressions as (scale degree 0..6, chord quality) per chord; the minor ones
#: use the harmonic-minor dominant (major V) as real minor-key music does
MAJOR_PROGRESSIONS = (
    ((0, "maj"), (3, "maj"), (4, "maj"), (0, "maj")),  # I IV V I
    ((0, "maj"), (5, "min"), (3, "maj"), (4, "maj")),  # I vi IV V
    ((0, "maj"), (4, "maj"), (5, "min"), (3, "maj")),  # I V vi IV
    ((0, "maj"), (1, "min"), (4, "maj"), (0, "maj")),  # I ii V I
)
MINOR_PROGRESSIONS = (
    ((0, "min"), (3, "min"), (4, "maj"), (0, "min")),  # i iv V i
    ((0, "min"), (5, "maj"), (2, "maj"), (4, "maj")),  # i VI III V
    ((0, "min"), (6, "maj"), (5, "maj"), (4, "maj")),  # i VII VI V
    ((0, "min"), (3, "min"), (6, "maj"), (0, "min")),  # i iv VII i
)
_TRIADS = {"maj": (0, 4, 7), "min": (0, 3, 7)}
WAVES = ("sine", "triangle", "saw", "square", "fm")


@dataclass(frozen=True)
class Note:
    """A note event: onset and duration in seconds, pitch as a MIDI number."""

    onset: float
    duration: float
    midi: float
    velocity: float = 0.8


def midi_to_hz(midi: float | np.ndarray) -> float | np.ndarray:
    """Frequency in Hz of a MIDI note number (69 = A4 = 440 Hz)."""
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=float) - 69.0) / 12.0)


def adsr(
    n: int, sr: int, *, attack: float = 0.01, decay: float = 0.1, sustain: float = 0.7, release: float = 0.05
) -> np.ndarray:
    """Attack–decay–sustain–release envelope over ``n`` samples; times in seconds."""
    t = np.arange(n) / sr
    env = np.where(
        t < attack, t / max(attack, 1e-6), sustain + (1 - sustain) * np.exp(-(t - attack) / max(decay, 1e-6))
    )
    tail = int(min(release * sr, n))
    if tail:
        env[n - tail :] *= np.linspace(1.0, 0.0, tail)
    return env.astype(np.float32)


def tone(freq: float, duration: float, sr: int, *, wave: str = "saw", max_harmonics: int = 10) -> np.ndarray:
    """A band-limited periodic tone (no envelope).

    Parameters
    ----------
    freq : float
        fundamental in Hz.
    duration : float
        seconds.
    wave : str
        ``sine``, ``triangle``, ``saw``, ``square`` (additive, below Nyquist) or
        ``fm`` (2-operator FM, ratio 2, index 1.5).

    Returns
    -------
    np.ndarray [shape=(round(duration * sr),), dtype=float32], peak near 1.
    """
    t = np.arange(int(round(duration * sr))) / sr
    if wave == "fm":
        y = np.sin(2 * np.pi * freq * t + 1.5 * np.sin(2 * np.pi * 2 * freq * t))
        return y.astype(np.float32)
    if wave not in WAVES:
        raise ValueError(f"wave={wave!r} is not one of {WAVES}")
    y = np.zeros_like(t)
    for k in range(1, max_harmonics + 1):
        if k * freq >= sr / 2 or (wave == "sine" and k > 1):
            break
        if wave == "saw":
            amp = 1.0 / k
        elif wave == "square":
            amp = 1.0 / k if k % 2 else 0.0
        elif wave == "triangle":
            amp = (1.0 / k**2) * (-1) ** ((k - 1) // 2) if k % 2 else 0.0
        else:
            amp = 1.0
        if amp:
            y += amp * np.sin(2 * np.pi * k * freq * t)
    peak = np.abs(y).max() if y.size else 0.0
    return (y / peak if peak > 0 else y).astype(np.float32)


def render(notes: list[Note], duration: float, sr: int, *, wave: str = "saw", release: float = 0.05) -> np.ndarray:
    """Mix note events into one signal of ``duration`` seconds, peak-normalised to 0.9."""
    out = np.zeros(int(round(duration * sr)), dtype=np.float32)
    for note in notes:
        start = int(round(note.onset * sr))
        if start >= out.size:
            continue
        y = tone(float(midi_to_hz(note.midi)), note.duration, sr, wave=wave)
        y *= adsr(y.size, sr, release=release) * note.velocity
        end = min(out.size, start + y.size)
        out[start:end] += y[: end - start]
    return normalise(out)


def normalise(y: np.ndarray, peak: float = 0.9) -> np.ndarray:
    """Scale to the given sample peak (silence stays silence)."""
    m = np.abs(y).max() if y.size else 0.0
    return (y * (peak / m)).astype(np.float32) if m > 0 else y.astype(np.float32)


def scale_of(key_index: int) -> tuple[int, ...]:
    return MINOR_SCALE if keys.is_minor(key_index) else MAJOR_SCALE


def chord_notes(key_index: int, degree: int, quality: str, *, octave: int = 4) -> list[int]:
    """MIDI notes of a triad on ``degree`` of the key, plus its root an octave below."""
    tonic_midi = 12 * (octave + 1) + keys.tonic_pc(key_index)
    root = tonic_midi + scale_of(key_index)[degree]
    if root > tonic_midi + 7:  # keep voicings compact around the tonic
        root -= 12
    return [root - 12] + [root + i for i in _TRIADS[quality]]


def progression_notes(
    key_index: int, *, bpm: float, bars: int, rng: np.random.Generator, octave: int = 4, progression: int | None = None
) -> list[Note]:
    """A typical chord progression of the key, one chord per bar (4/4), looping.

    ``progression`` picks one of :data:`MAJOR_PROGRESSIONS` / :data:`MINOR_PROGRESSIONS`
    (0 is the cadence I–IV–V–I, i–iv–V–i); by default it is drawn.
    """
    options = MINOR_PROGRESSIONS if keys.is_minor(key_index) else MAJOR_PROGRESSIONS
    chords = options[rng.integers(len(options)) if progression is None else progression]
    bar = 240.0 / bpm
    notes = []
    for b in range(bars):
        degree, quality = chords[b % len(chords)]
        for midi in chord_notes(key_index, degree, quality, octave=octave):
            notes.append(Note(b * bar, bar * 0.95, midi, 0.7))
    return notes


def melody_notes(key_index: int, *, bpm: float, bars: int, rng: np.random.Generator, octave: int = 5) -> list[Note]:
    """A stepwise eighth-note melody in the key that starts and ends on the tonic."""
    scale = scale_of(key_index)
    tonic_midi = 12 * (octave + 1) + keys.tonic_pc(key_index)
    eighth = 30.0 / bpm
    count = bars * 8
    degree = 0
    notes = []
    for i in range(count):
        if i == count - 1 or i % 8 == 0:
            degree = 0 if i % 16 == 0 or i == count - 1 else int(rng.choice([0, 2, 4]))
        else:
            degree = int(np.clip(degree + rng.choice([-2, -1, 1, 2]), -3, 9))
        octave_shift, step = divmod(degree, 7)
        notes.append(Note(i * eighth, eighth * 0.9, tonic_midi + 12 * octave_shift + scale[step]))
    return notes


def tonal_loop(
    key_index: int,
    *,
    bpm: float,
    bars: int,
    sr: int,
    rng: np.random.Generator,
    wave: str | None = None,
    with_melody: bool = True,
    progression: int | None = None,
) -> np.ndarray:
    """A bar-exact loop: chords in the key, optionally with a melody on top."""
    wave = wave or str(rng.choice(WAVES))
    duration = bars * 240.0 / bpm
    y = render(
        progression_notes(key_index, bpm=bpm, bars=bars, rng=rng, progression=progression), duration, sr, wave=wave
    )
    if with_melody:
        y = y + 0.6 * render(melody_notes(key_index, bpm=bpm, bars=bars, rng=rng), duration, sr, wave="triangle")
    return normalise(y)


def chord_stab(
    key_index: int, *, duration: float, sr: int, rng: np.random.Generator, wave: str | None = None
) -> np.ndarray:
    """A one-shot tonic chord of the key with a short decay."""
    wave = wave or str(rng.choice(WAVES))
    quality = "min" if keys.is_minor(key_index) else "maj"
    notes = [Note(0.0, duration, m) for m in chord_notes(key_index, 0, quality)]
    y = render(notes, duration, sr, wave=wave, release=duration * 0.6)
    return y


def single_note(midi: float, *, duration: float, sr: int, wave: str = "saw") -> np.ndarray:
    """A pitched one-shot: one note with an ADSR envelope."""
    return render([Note(0.0, duration, midi)], duration, sr, wave=wave, release=duration * 0.5)


def kick(sr: int, *, duration: float = 0.4) -> np.ndarray:
    """A sine kick: pitch falling from 120 Hz to 45 Hz with an exponential decay."""
    t = np.arange(int(duration * sr)) / sr
    freq = 45 + 75 * np.exp(-t * 30)
    phase = 2 * np.pi * np.cumsum(freq) / sr
    return (np.sin(phase) * np.exp(-t * 9)).astype(np.float32)


def snare(sr: int, rng: np.random.Generator, *, duration: float = 0.25) -> np.ndarray:
    """Noise burst plus a 180 Hz body."""
    t = np.arange(int(duration * sr)) / sr
    body = 0.5 * np.sin(2 * np.pi * 180 * t) * np.exp(-t * 25)
    noise = rng.standard_normal(t.size) * np.exp(-t * 18)
    return normalise(body + noise)


def hat(sr: int, rng: np.random.Generator, *, duration: float = 0.08) -> np.ndarray:
    """High-passed noise tick (first difference of white noise)."""
    t = np.arange(int(duration * sr)) / sr
    noise = np.diff(rng.standard_normal(t.size + 1)) * np.exp(-t * 60)
    return normalise(noise, 0.5)


def drum_loop(*, bpm: float, bars: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Four-on-the-floor kick, backbeat snare, eighth-note hats: keyless and bar-exact."""
    beat = 60.0 / bpm
    out = np.zeros(int(round(bars * 4 * beat * sr)), dtype=np.float32)
    hits = [(kick(sr), b * beat) for b in range(bars * 4)]
    hits += [(snare(sr, rng), b * beat) for b in range(1, bars * 4, 2)]
    hits += [(hat(sr, rng), e * beat / 2) for e in range(bars * 8)]
    for y, onset in hits:
        start = int(round(onset * sr))
        end = min(out.size, start + y.size)
        out[start:end] += y[: end - start]
    return normalise(out)

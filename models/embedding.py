"""A sound's place among other sounds: a fixed-size, L2-normalised vector whose cosine says "sounds alike".

onset bands (24 log bands, 40 Hz – 8 kHz) ──► spectral envelope: mean and spread of band level, as cepstra
frame energy and onsets                  ──► envelope: length, attack, sustain, onset rate, dynamics
log-frequency spectrogram (the key's)    ──► harmonicity: one harmonic series, or several notes, or noise
                                         ──► polyphony: spectral peak count and the chroma's shape
                                         ──► pitch content: the chroma itself (a C minor pad is nearer
                                             C minor pads than F# major ones)
each block ──► standardised with constants measured on seeded reference material (``embedding.npz``)
           ──► weighted (:data:`BLOCK_WEIGHTS`) ──► concatenated ──┬──► L2-normalised
all blocks ──► a linear projection that separates kinds of sample ─┘

Timbre and envelope put a kick among kicks and a loop among loops; harmonicity and polyphony part a
single note from a chord played with the same patch, which the spectral envelope alone does not;
chroma, weighted lightly, orders sounds of one kind by what notes they hold. The projection is the one
learned part: Fisher's linear discriminant of five kinds (drum hits, drum loops, tonal loops, chord
stabs, single notes) on seeded reference material, appended as :data:`KIND_DIMS` more dimensions, so
that sounds a producer files together (a kick and a hat more than a kick and the drum loop it is in)
are near even where one descriptor says otherwise. Every step is a fixed function of the transforms
the pipeline already computed, so the vector costs well under a millisecond per file and means the
same for every key method.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.fft

from . import classic, frontend, onsets

#: the blocks in order, with their widths and weights (a block's weight scales its share of the distance)
BLOCKS: tuple[tuple[str, int, float], ...] = (
    ("timbre", 16, 1.0),
    ("envelope", 8, 2.0),
    ("harmonicity", 1, 2.0),
    ("polyphony", 6, 1.0),
    ("chroma", 12, 0.5),
)
BLOCK_WEIGHTS = {name: weight for name, _, weight in BLOCKS}
#: width of :func:`features`
RAW_DIM = sum(width for _, width, _ in BLOCKS)
#: discriminant dimensions (kinds less one) and their weight
KIND_DIMS = 4
KIND_WEIGHT = 2.0
#: vector width: the catalog's ``embedding`` is ``FLOAT[DIM]``
DIM = RAW_DIM + KIND_DIMS
#: the discriminant's within-kind scatter is shrunk towards this share of its mean variance (it is
#: fitted on a few hundred rows in 43 dimensions)
SHRINKAGE = 0.1
#: frames this far below the loudest are left out of spectral averages (dB)
ACTIVE_DB = -40.0
#: spectral peaks of the mean log-frequency spectrum count from this share of the strongest (linear)
PEAK_FLOOR = 0.03
#: harmonics 1–8 as offsets in log-frequency bins (24 per octave)
HARMONIC_BINS = np.round(frontend.BINS_PER_OCTAVE * np.log2(np.arange(1, 9))).astype(int)
STATS = Path(__file__).with_name("embedding.npz")


def features(strength: onsets.Onsets, S: np.ndarray) -> np.ndarray:
    """The raw descriptor vector, before standardising [shape=(RAW_DIM,), dtype=float64].

    Parameters
    ----------
    strength : onsets.Onsets
        the file's onset analysis (band magnitudes, frame energy in dB, onset strength).
    S : np.ndarray [shape=(frontend.NUM_BINS, frames)]
        the key front end's log-frequency magnitude spectrogram of the same signal.
    """
    # what several blocks read, made once: the active frames' band levels, the mean spectrum and the chroma
    active = _active(strength)
    bands = np.asarray(strength.bands, dtype=np.float64)[:, active]
    mean = S.mean(axis=1)
    profile = classic.pitch_class_profile(S)
    return np.concatenate(
        [
            spectral_envelope(bands),
            envelope(strength, bands, active),
            [np.log(1.02 - harmonicity(mean))],
            polyphony(mean, profile),
            pitch_content(profile),
        ]
    )


def embed(strength: onsets.Onsets, S: np.ndarray) -> np.ndarray | None:
    """The embedding of one sound [shape=(DIM,), dtype=float32], unit length; None for digital silence and for
    samples so large (float files near 3e38) that their spectrum overflows."""
    if strength.bands is None or not np.any(strength.bands):
        return None
    with np.errstate(all="ignore"):
        vector = normalise(features(strength, S))
    return vector if np.all(np.isfinite(vector)) else None


def normalise(raw: np.ndarray) -> np.ndarray:
    """Standardise :func:`features` output by the shipped constants, weight the blocks, append the kind
    projection, scale to unit length [shape=(DIM,), dtype=float32]."""
    mean, scale, projection = reference_stats()
    z = (raw - mean) / scale
    v = np.concatenate([z * block_weights(), KIND_WEIGHT * (z @ projection)])
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


def block_weights() -> np.ndarray:
    """Each dimension's block weight [shape=(DIM,)]."""
    return np.concatenate([np.full(width, weight) for _, width, weight in BLOCKS])


@lru_cache(maxsize=1)
def reference_stats() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, scale, projection) from ``embedding.npz`` (see :func:`fit_stats`); loaded once per process."""
    with np.load(STATS) as f:
        return f["mean"].astype(np.float64), f["scale"].astype(np.float64), f["projection"].astype(np.float64)


def fit_stats(raw: np.ndarray, kinds: list[str]) -> dict[str, np.ndarray]:
    """The shipped constants from reference :func:`features` rows [shape=(rows, RAW_DIM)] and their kinds.

    ``mean`` and ``scale`` [shape=(RAW_DIM,)] standardise; ``projection`` [shape=(RAW_DIM, KIND_DIMS)] is
    the kinds' linear discriminant over the standardised rows (:func:`discriminant`).

    Every block but pitch content is centred and divided by its spread times the square root of its
    width, so a block's share of the distance is its weight, whatever its width. Pitch content is
    already a unit vector and is left as it is: centring it would make a chord's absence of notes
    count as much as its notes.
    """
    mean, scale = raw.mean(axis=0), raw.std(axis=0) + 1e-6
    start = 0
    for name, width, _ in BLOCKS:
        block = slice(start, start + width)
        if name == "chroma":
            mean[block], scale[block] = 0.0, 1.0
        else:
            scale[block] *= np.sqrt(width)
        start += width
    return {"mean": mean, "scale": scale, "projection": discriminant((raw - mean) / scale, kinds)}


def discriminant(z: np.ndarray, kinds: list[str]) -> np.ndarray:
    """Fisher's linear discriminant [shape=(dims, KIND_DIMS)]: the directions that most separate the kinds'
    means relative to their spread within (regularised by :data:`SHRINKAGE`), each scaled to unit spread
    over ``z`` [shape=(rows, dims)]."""
    labels = np.asarray(kinds)
    centre = z.mean(axis=0)
    within = np.zeros((z.shape[1], z.shape[1]))
    between = np.zeros_like(within)
    for kind in np.unique(labels):
        rows = z[labels == kind]
        within += np.cov(rows.T, bias=True) * len(rows)
        offset = rows.mean(axis=0) - centre
        between += np.outer(offset, offset) * len(rows)
    within /= len(z)
    between /= len(z)
    within += SHRINKAGE * np.trace(within) / len(within) * np.eye(len(within))
    values, vectors = np.linalg.eig(np.linalg.solve(within, between))
    directions = vectors[:, np.argsort(-values.real)[:KIND_DIMS]].real
    return directions / (z @ directions).std(axis=0)


def spectral_envelope(bands: np.ndarray) -> np.ndarray:
    """Timbre: cepstra of the mean band level and of its spread over time [shape=(16,)].

    Band levels in dB relative to the loudest band over the sound's active frames; the first 12
    DCT coefficients of the mean (its overall tilt and shape, as MFCCs are of a mel spectrum) and the
    first 4 of the standard deviation (which bands move), both in units of 10 dB.

    Parameters
    ----------
    bands : np.ndarray [shape=(onsets.NUM_BANDS, active frames), dtype=float64]
        :attr:`onsets.Onsets.bands` (linear magnitude) over the active frames (:func:`_active`).
    """
    floor = 1e-10 * float(bands.max()) ** 2
    level = 10.0 * np.log10(bands**2 + floor)
    mean = level.mean(axis=1)
    mean -= mean.max()
    spread = level.std(axis=1)
    cepstra = scipy.fft.dct(np.stack([mean, spread]), norm="ortho", axis=1)
    return np.concatenate([cepstra[0, :12], cepstra[1, :4]]) / 10.0


def envelope(strength: onsets.Onsets, bands: np.ndarray, active: np.ndarray) -> np.ndarray:
    """The shape in time [shape=(8,)]: log length (s), log time to the loudest frame (s), the share of frames
    within 20 dB of the loudest, log onset rate (per s), the level's spread over active frames (10 dB), log
    onset count, log time from the loudest frame until it has fallen 20 dB (s), and how far the spectral
    centroid moves over the active frames (octaves: a kick's sweep, a filter's motion; a held note stays put).
    ``active`` marks those frames (:func:`_active`), ``bands`` holds their band magnitudes (float64).
    """
    duration = max(strength.duration_s, 1.0 / strength.fps)
    loudest = int(np.argmax(strength.energy_db))
    count = onsets.peaks(strength.strength, fps=strength.fps).size
    below = np.flatnonzero(strength.energy_db[loudest:] < -20.0)
    decay = (below[0] if below.size else strength.energy_db.size - loudest) / strength.fps
    return np.array(
        [
            np.log(duration),
            np.log(loudest / strength.fps + 0.01),
            float(np.mean(strength.energy_db > -20.0)),
            np.log1p(count / duration),
            float(strength.energy_db[active].std()) / 10.0,
            np.log1p(count),
            np.log(decay + 0.01),
            centroid_motion(bands),
        ]
    )


def centroid_motion(bands: np.ndarray) -> float:
    """Standard deviation of the band centroid over the frames of ``bands`` [shape=(onsets.NUM_BANDS, frames)]
    (octaves)."""
    position = np.arange(bands.shape[0]) / onsets.BANDS_PER_OCTAVE
    centroid = position @ bands / np.maximum(bands.sum(axis=0), 1e-12)
    return float(centroid.std())


def harmonicity(spectrum: np.ndarray) -> float:
    """Share of the spectral peaks' energy on the harmonic series of the lowest peak (0–1).

    ``spectrum`` [shape=(bins,)] is a mean log-frequency magnitude spectrum (24 bins per octave). One note
    puts nearly all its peaks on its series (1.0); a chord's other notes fall off it (about 0.85 for a
    triad); noise and drums have scattered peaks (near 0). The lowest peak is taken as the fundamental,
    not its subharmonics: a close-voiced triad is harmonics 4, 5 and 6 of a note two octaves below it.
    """
    peaks = _spectral_peaks(spectrum)
    if peaks.size == 0:
        return 0.0
    energy = (spectrum[peaks] / spectrum.max()) ** 2
    on_series = np.any(np.abs(peaks[:, None] - (peaks[0] + HARMONIC_BINS)[None, :]) <= 1, axis=1)
    return float(energy[on_series].sum() / energy.sum())


def polyphony(mean: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """How many things sound at once [shape=(6,)]: log count of spectral peaks, then the 2nd to 6th
    strongest pitch classes relative to the strongest (a single note: small; a triad: three near 1).

    ``mean`` [shape=(bins,)] is the log-frequency spectrogram's mean over time, ``profile`` [shape=(12,)] its
    :func:`classic.pitch_class_profile`."""
    profile = profile / max(float(profile.max()), 1e-12)
    return np.concatenate([[np.log1p(_spectral_peaks(mean).size)], np.sort(profile)[::-1][1:6]])


def pitch_content(profile: np.ndarray) -> np.ndarray:
    """The mean chroma (:func:`classic.pitch_class_profile`) as a unit vector [shape=(12,)], row 0 = C."""
    profile = profile.astype(np.float64)
    return profile / max(float(np.linalg.norm(profile)), 1e-12)


def _spectral_peaks(spectrum: np.ndarray) -> np.ndarray:
    top = float(spectrum.max()) if spectrum.size else 0.0
    if top <= 0:
        return np.zeros(0, dtype=int)
    s = spectrum / top
    inner = s[1:-1]
    return 1 + np.flatnonzero((inner > PEAK_FLOOR) & (inner >= s[:-2]) & (inner >= s[2:]))


def _active(strength: onsets.Onsets) -> np.ndarray:
    """Frames within :data:`ACTIVE_DB` of the loudest (at least the loudest itself)."""
    active = strength.energy_db > ACTIVE_DB
    if not active.any():
        active[np.argmax(strength.energy_db)] = True
    return active

"""Onset strength: the one time-resolved view of a file that tempo, loop-or-one-shot and pitch share.

mono signal ──► |STFT| (1024-point Hann, hop 256: 86 frames/s) ──► 24 log-spaced bands (40 Hz – 8 kHz)
            ──► log magnitude ──► positive spectral flux, summed over bands ──► onset strength (1 × frames)
                                └─► frame energy in dB (for envelopes: decay, silence, the note's body)

This is the band-wise log spectral flux of Böck & Widmer (madmom's ``SpectralFluxProcessor``) without
its max filter. Written here rather than taken from ``librosa.onset.onset_strength``: librosa is not a
runtime dependency, and a fixed 1024-point STFT with a cached filterbank costs well under a millisecond
per second of audio. The key front end's spectrogram (5 frames/s) is far too coarse for onsets, so this
is the one extra transform per file; it is computed once and handed to every estimator.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import scipy.fft
from scipy.ndimage import maximum_filter1d

from . import frontend

SAMPLE_RATE = frontend.SAMPLE_RATE
N_FFT = 1024
HOP_LENGTH = 256
#: onset frames per second (≈ 86.13)
FPS = SAMPLE_RATE / HOP_LENGTH
#: lowest band centre (Hz), bands per octave and band count: 40 Hz up to about 8 kHz
BAND_FMIN = 40.0
BANDS_PER_OCTAVE = 3
NUM_BANDS = 24
#: upper edges (Hz) of the band groups whose flux is also kept apart: kick and bass, snare body and
#: chords, hats and cymbals
GROUP_EDGES_HZ = (150.0, 2000.0)
#: where the 1024-point STFT separates semitones well enough for a chroma (Hz)
CHROMA_RANGE_HZ = (350.0, 3500.0)
#: frames transformed at a time (see :func:`_spectral_frames`)
CHUNK_FRAMES = 32
#: log compression ``log1p(gain * S / max(S))``: about 60 dB of range above the file's own floor
LOG_GAIN = 1000.0
#: a frame this far below the file's loudest frame counts as silent (dB)
SILENCE_DB = -60.0
#: frame energy leaves out the FFT's bins below this one (under ~32 Hz, where a Hann window puts a DC offset, steady
#: or drifting as a recording's often is: left in, a drum hit that dies away to it never falls silent)
ENERGY_FROM_BIN = 2


@dataclass(frozen=True)
class Onsets:
    """What the estimators read of a file's time structure.

    ``strength`` [shape=(frames,), dtype=float32]: positive log-spectral flux, frame ``t``
    centred on sample ``t * HOP_LENGTH``; frame 0 is measured from the last frame, as a loop wraps.
    ``energy_db`` [shape=(frames,), dtype=float32]: frame energy relative to the loudest frame
    (0 dB at the loudest, floored at ``SILENCE_DB - 20``). ``duration_s``: the signal's length (s).
    ``fps``: frames per second. ``groups`` [shape=(3, frames), dtype=float32]: the same flux summed
    over the low, middle and high bands apart (edges :data:`GROUP_EDGES_HZ`); ``strength`` is their sum.
    ``chroma`` [shape=(12, frames), dtype=float32]: magnitude per pitch class (row 0 = C) from
    :data:`CHROMA_RANGE_HZ`, where this short FFT still resolves semitones: enough to see where the
    harmony changes, not to name it. ``bands`` [shape=(NUM_BANDS, frames), dtype=float32]: the linear
    magnitude in each band (the spectral envelope the embedding reads).
    """

    strength: np.ndarray
    energy_db: np.ndarray
    groups: np.ndarray
    duration_s: float
    fps: float = FPS
    chroma: np.ndarray | None = None
    bands: np.ndarray | None = None

    @property
    def frames(self) -> int:
        return int(self.strength.size)

    def since(self, frame: int) -> Onsets:
        """The same view from ``frame`` on (every time series sliced, the length shortened by as much): as if the
        file started there. ``strength[frame]`` keeps its flux from the frame before, not from the file's end."""
        if frame <= 0:
            return self
        return replace(
            self,
            strength=self.strength[frame:],
            energy_db=self.energy_db[frame:],
            groups=self.groups[:, frame:],
            duration_s=max(self.duration_s - frame / self.fps, 0.0),
            chroma=None if self.chroma is None else self.chroma[:, frame:],
            bands=None if self.bands is None else self.bands[:, frame:],
        )


def onset_strength(y: np.ndarray, *, sr: int = SAMPLE_RATE) -> Onsets:
    """Onset strength and frame energy of a mono signal.

    Parameters
    ----------
    y : np.ndarray [shape=(n,), dtype=float32]
        mono signal at ``sr`` Hz (the pipeline's analysis rate, 22,050 Hz); any length.
    sr : int
        must be :data:`SAMPLE_RATE`: the band layout and the frame rate assume it.

    Returns
    -------
    Onsets
        at :data:`FPS` frames per second, ``1 + n // HOP_LENGTH`` frames.
    """
    if sr != SAMPLE_RATE:
        raise ValueError(f"sr={sr} must be {SAMPLE_RATE} (resample with frontend.mono_at first)")
    power, projected = _spectral_frames(np.asarray(y, dtype=np.float32))
    top = float(power.max()) if power.size else 0.0
    with np.errstate(divide="ignore"):
        energy_db = 10.0 * np.log10(power / top) if top > 0 else np.full(power.shape, -np.inf)
    energy_db = np.maximum(energy_db, SILENCE_DB - 20.0).astype(np.float32)
    bands, chroma = projected[:, :NUM_BANDS].T, np.ascontiguousarray(projected[:, NUM_BANDS:].T)
    peak = float(bands.max()) if bands.size else 0.0
    if peak <= 0:
        zeros = np.zeros((len(GROUP_EDGES_HZ) + 1, power.size), np.float32)
        return Onsets(zeros[0], energy_db, zeros, y.size / sr, chroma=chroma, bands=bands)
    log_bands = np.log1p((LOG_GAIN / peak) * bands)
    # circular: frame 0 is measured from the last frame, as a loop is played (for a one-shot that ends in
    # silence this is its attack from silence; for a seamless loop, one onset among the others)
    flux = np.maximum(log_bands - np.roll(log_bands, 1, axis=1), 0.0)
    groups = group_matrix() @ flux
    return Onsets(groups.sum(axis=0), energy_db, groups, y.size / sr, chroma=chroma, bands=bands)


def _spectral_frames(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Energy and band/chroma magnitudes of centred, zero-padded Hann frames of ``y``.

    Frames are transformed :data:`CHUNK_FRAMES` at a time: a whole file's spectrum at once would be a
    megabyte-sized temporary, and fresh pages for it cost more than the FFT itself.

    Returns
    -------
    (power, projected)
        ``power`` [shape=(frames,)]: the sum of squared magnitudes of each frame (from bin :data:`ENERGY_FROM_BIN`
        up); ``projected`` [shape=(frames, NUM_BANDS + 12)]: its magnitudes through the band filterbank, then the
        chroma map.
    """
    padded = frontend.zero_pad(y, N_FFT // 2)
    count = 1 + y.size // HOP_LENGTH
    frames = np.lib.stride_tricks.as_strided(
        padded, shape=(count, N_FFT), strides=(padded.strides[0] * HOP_LENGTH, padded.strides[0]), writeable=False
    )
    power = np.empty(count, dtype=np.float32)
    projected = np.empty((count, NUM_BANDS + 12), dtype=np.float32)
    window, projection = _window(), _projection()
    for start in range(0, count, CHUNK_FRAMES):
        mag = np.abs(scipy.fft.rfft(frames[start : start + CHUNK_FRAMES] * window, axis=1))
        power[start : start + CHUNK_FRAMES] = np.einsum("tf,tf->t", mag[:, ENERGY_FROM_BIN:], mag[:, ENERGY_FROM_BIN:])
        projected[start : start + CHUNK_FRAMES] = mag @ projection
    return power, projected


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    return np.hanning(N_FFT).astype(np.float32)


@lru_cache(maxsize=1)
def _projection() -> np.ndarray:
    """The band filterbank and the chroma map side by side [shape=(N_FFT // 2 + 1, NUM_BANDS + 12)] (cached)."""
    return np.ascontiguousarray(np.concatenate([band_filterbank(), chroma_matrix()], axis=0).T)


def band_filterbank() -> np.ndarray:
    """The onset bands as a matrix over the STFT bins [shape=(NUM_BANDS, N_FFT // 2 + 1)] (cached)."""
    return frontend.logfreq_filterbank(
        sr=SAMPLE_RATE, n_fft=N_FFT, fmin=BAND_FMIN, num_bins=NUM_BANDS, bins_per_octave=BANDS_PER_OCTAVE
    )


@lru_cache(maxsize=1)
def group_matrix() -> np.ndarray:
    """Which band belongs to which group [shape=(3, NUM_BANDS), dtype=float32], 0/1 (cached)."""
    centres = frontend.bin_frequencies(fmin=BAND_FMIN, num_bins=NUM_BANDS, bins_per_octave=BANDS_PER_OCTAVE)
    group = np.searchsorted(np.asarray(GROUP_EDGES_HZ), centres)
    return (group[None, :] == np.arange(len(GROUP_EDGES_HZ) + 1)[:, None]).astype(np.float32)


@lru_cache(maxsize=1)
def chroma_matrix() -> np.ndarray:
    """Each STFT bin of :data:`CHROMA_RANGE_HZ` to its nearest pitch class [shape=(12, N_FFT // 2 + 1)] (cached)."""
    freqs = np.fft.rfftfreq(N_FFT, d=1.0 / SAMPLE_RATE)
    inside = (freqs >= CHROMA_RANGE_HZ[0]) & (freqs <= CHROMA_RANGE_HZ[1])
    pitch_class = np.rint(12.0 * np.log2(np.where(inside, freqs, 1.0) / 440.0) + 69.0).astype(int) % 12
    return ((pitch_class[None, :] == np.arange(12)[:, None]) & inside[None, :]).astype(np.float32)


def peaks(strength: np.ndarray, *, fps: float = FPS, min_gap_s: float = 0.05, threshold: float = 0.3) -> np.ndarray:
    """Frames of onsets: local maxima of ``strength`` above ``threshold`` × its maximum, at least
    ``min_gap_s`` apart (the larger of two close peaks wins).

    Returns
    -------
    np.ndarray [shape=(onsets,), dtype=int]
        frame indices, ascending.
    """
    if strength.size == 0:
        return np.zeros(0, dtype=int)
    top = float(strength.max())
    if top <= 0:
        return np.zeros(0, dtype=int)
    gap = max(1, int(round(min_gap_s * fps)))
    # a peak is the largest value within ``gap`` frames either side (ties: the first)
    local_max = maximum_filter1d(strength, size=2 * gap + 1, mode="constant", cval=-1.0)
    candidates = np.flatnonzero((strength >= local_max) & (strength >= threshold * top))
    if candidates.size > 1:
        candidates = candidates[np.concatenate([[True], np.diff(candidates) >= gap])]
    return candidates

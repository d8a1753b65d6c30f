"""Spectrogram front end shared by the classic key estimator, the CNN and the pipeline.

signal ──► frames ──► |STFT| ──► log-frequency filterbank ──► spectrogram (bins × frames)
                                                        └──► chroma (12 × frames)

The log-frequency axis has ``BINS_PER_OCTAVE = 24`` bins per octave (two per
semitone: one on each equal-tempered pitch, one between) from ``FMIN`` = C2
(65.4 Hz) over ``NUM_OCTAVES = 6`` octaves, up to C8 (4186 Hz): the range where
bass, chords and melody live. With ``N_FFT = 8192`` at ``SAMPLE_RATE = 22050`` Hz
the FFT resolves 2.7 Hz, finer than a semitone from about 50 Hz up. ``FPS = 5``
frames per second is enough for key, which changes over bars, not milliseconds,
and keeps the front end cheap.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft

SAMPLE_RATE = 22050
N_FFT = 8192
FPS = 5
HOP_LENGTH = SAMPLE_RATE // FPS
FMIN = 65.40639132514966  # C2 in Hz (A4 = 440 Hz)
BINS_PER_OCTAVE = 24
NUM_OCTAVES = 6
NUM_BINS = BINS_PER_OCTAVE * NUM_OCTAVES
#: extra bins (6 semitones) below and above, so training can transpose by cropping
MARGIN_BINS = 12


def bin_frequencies(
    *, fmin: float = FMIN, num_bins: int = NUM_BINS, bins_per_octave: int = BINS_PER_OCTAVE
) -> np.ndarray:
    """Centre frequencies of the log-frequency bins.

    Returns
    -------
    np.ndarray [shape=(num_bins,), dtype=float64]
        frequency in Hz; bin ``k`` is ``fmin * 2 ** (k / bins_per_octave)``.
    """
    return fmin * 2.0 ** (np.arange(num_bins) / bins_per_octave)


@lru_cache(maxsize=8)
def logfreq_filterbank(
    *,
    sr: int = SAMPLE_RATE,
    n_fft: int = N_FFT,
    fmin: float = FMIN,
    num_bins: int = NUM_BINS,
    bins_per_octave: int = BINS_PER_OCTAVE,
) -> np.ndarray:
    """Triangular filters, one log-frequency bin wide on each side, over the FFT bins.

    Each row averages the FFT magnitudes under its triangle (rows sum to 1), so a
    low bin covering two FFT bins and a high bin covering forty are on the same
    scale. Where a triangle is narrower than the FFT spacing, the row falls back
    to linear interpolation between the two nearest FFT bins.

    Returns
    -------
    np.ndarray [shape=(num_bins, n_fft // 2 + 1), dtype=float32]
    """
    fft_freqs = np.fft.rfftfreq(n_fft, d=1.0 / sr)
    centres = bin_frequencies(fmin=fmin, num_bins=num_bins, bins_per_octave=bins_per_octave)
    if centres[-1] * 2 ** (1 / bins_per_octave) >= sr / 2:
        raise ValueError(f"top bin {centres[-1]:.0f} Hz is above Nyquist for sr={sr}")
    with np.errstate(divide="ignore"):
        distance = np.abs(np.log2(fft_freqs[None, 1:] / centres[:, None])) * bins_per_octave
    weights = np.zeros((num_bins, fft_freqs.size))
    weights[:, 1:] = np.maximum(0.0, 1.0 - distance)
    spacing = fft_freqs[1]
    for k in np.flatnonzero(weights.sum(axis=1) == 0):
        pos = centres[k] / spacing
        lo = int(np.floor(pos))
        weights[k, lo] = 1.0 - (pos - lo)
        weights[k, lo + 1] = pos - lo
    weights /= weights.sum(axis=1, keepdims=True)
    return weights.astype(np.float32)


@lru_cache(maxsize=4)
def _window(n_fft: int) -> np.ndarray:
    return np.hanning(n_fft).astype(np.float32)


def stft_magnitude(y: np.ndarray, *, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH) -> np.ndarray:
    """Magnitude STFT with centred, zero-padded frames.

    Parameters
    ----------
    y : np.ndarray [shape=(n,), dtype=float32]
        mono signal; any length, including shorter than one frame.

    Returns
    -------
    np.ndarray [shape=(n_fft // 2 + 1, num_frames), dtype=float32]
        ``num_frames = 1 + len(y) // hop_length``; frame ``t`` is centred on
        sample ``t * hop_length``.
    """
    y = np.asarray(y, dtype=np.float32)
    padded = zero_pad(y, n_fft // 2)
    num_frames = 1 + y.size // hop_length
    frames = np.lib.stride_tricks.as_strided(
        padded, shape=(num_frames, n_fft), strides=(padded.strides[0] * hop_length, padded.strides[0]), writeable=False
    )
    # scipy's FFT keeps float32 in single precision: numpy's (2.x) costs several times more here
    spectrum = scipy.fft.rfft(frames * _window(n_fft), axis=1)
    return np.abs(spectrum).astype(np.float32, copy=False).T


def zero_pad(y: np.ndarray, width: int) -> np.ndarray:
    """``y`` [shape=(n,)] with ``width`` zeros on each side, as float32 (``np.pad`` costs ~50 µs a call more)."""
    padded = np.zeros(y.size + 2 * width, dtype=np.float32)
    padded[width : width + y.size] = y
    return padded


def logfreq_spectrogram(y: np.ndarray, *, sr: int = SAMPLE_RATE, margin: int = 0) -> np.ndarray:
    """Log-frequency magnitude spectrogram: the image the key models look at.

    Parameters
    ----------
    y : np.ndarray [shape=(n,), dtype=float32]
        mono signal at ``sr`` Hz (the pipeline's analysis rate).
    margin : int
        extra bins below ``FMIN`` and above the top bin (training uses
        :data:`MARGIN_BINS` to transpose by cropping, see :func:`transpose`).

    Returns
    -------
    np.ndarray [shape=(NUM_BINS + 2 * margin, num_frames), dtype=float32]
        linear magnitude, frequency on axis 0 (``FMIN`` upwards, 24 bins per
        octave), time on axis 1 at ``FPS`` frames per second.
    """
    fb = _sparse_filterbank(sr, FMIN * 2.0 ** (-margin / BINS_PER_OCTAVE), NUM_BINS + 2 * margin)
    return np.asarray(fb @ stft_magnitude(y, hop_length=sr // FPS), dtype=np.float32)


@lru_cache(maxsize=8)
def _sparse_filterbank(sr: int, fmin: float, num_bins: int):  # -> scipy.sparse.csr_matrix
    """:func:`logfreq_filterbank` as a sparse matrix: 3,000 of its 590,000 weights are not zero, and the
    product costs a quarter of the dense one (scipy.sparse is imported here, not at start-up)."""
    import scipy.sparse

    return scipy.sparse.csr_matrix(logfreq_filterbank(sr=sr, fmin=fmin, num_bins=num_bins))


def transpose(S_margin: np.ndarray, semitones: int, *, margin: int = MARGIN_BINS) -> np.ndarray:
    """The ``NUM_BINS`` window of a margin spectrogram that sounds ``semitones`` higher.

    Shifting up by ``s`` semitones moves every partial up ``2 s`` bins, so the
    window starts ``2 s`` bins lower. ``|2 s| <= margin``.

    Returns
    -------
    np.ndarray [shape=(NUM_BINS, frames)]
    """
    start = margin - 2 * semitones
    if not 0 <= start <= 2 * margin:
        raise ValueError(f"semitones={semitones} needs more than margin={margin} bins")
    return S_margin[start : start + S_margin.shape[0] - 2 * margin]


def mono_at(samples: np.ndarray, sr: int, target_sr: int = SAMPLE_RATE) -> np.ndarray:
    """Average the channels of [shape=(frames, channels)] and resample to ``target_sr`` Hz (soxr, HQ).

    Returns
    -------
    np.ndarray [shape=(round(frames * target_sr / sr),), dtype=float32]
    """
    import soxr

    if samples.ndim == 2 and samples.shape[1] > 1:
        # a matrix-vector product: numpy's mean over the short channel axis costs forty times more
        channels = samples.shape[1]
        mono = np.asarray(samples, dtype=np.float32) @ np.full(channels, 1.0 / channels, dtype=np.float32)
    else:  # one channel is its own mix (the product with [1.0] gave the same numbers, at the cost of a pass)
        mono = np.asarray(samples.reshape(-1), dtype=np.float32)
    if sr == target_sr:
        return mono.copy() if np.may_share_memory(mono, samples) else mono
    return soxr.resample(mono, sr, target_sr, quality="HQ").astype(np.float32, copy=False)


def log_compress(S: np.ndarray, *, gain: float = 1000.0) -> np.ndarray:
    """``log(1 + gain * S)``: a perceptual, level-tolerant magnitude scale."""
    return np.log1p(gain * S)


def chroma(S: np.ndarray, *, bins_per_octave: int = BINS_PER_OCTAVE) -> np.ndarray:
    """Fold a log-frequency spectrogram whose bin 0 is a C into 12 pitch classes.

    The on-pitch bin of each semitone counts fully and each in-between bin
    counts half to both neighbours, so slightly detuned notes still land.

    Parameters
    ----------
    S : np.ndarray [shape=(num_bins, num_frames)]

    Returns
    -------
    np.ndarray [shape=(12, num_frames), dtype=float32]
        row 0 is C, row 11 is B.
    """
    per_semitone = bins_per_octave // 12
    if per_semitone != 2:
        raise ValueError(f"bins_per_octave={bins_per_octave} must be 24")
    on_pitch = S[0::2]
    between = S[1::2]
    semitones = on_pitch + 0.5 * between + 0.5 * np.roll(between, 1, axis=0)
    semitones[0] -= 0.5 * between[-1]  # np.roll wrapped the top in-between bin onto the lowest C
    num_octaves = semitones.shape[0] // 12
    folded = semitones[: num_octaves * 12].reshape(num_octaves, 12, -1).sum(axis=0)
    return folded.astype(np.float32)


#: a bin is part of a spectral peak when its magnitude is this many times the median of the
#: PEAK_NEIGHBOURS bins around it (4.5 semitones): a note's partial stands out of its neighbourhood,
#: a drum's or a noise's spectrum is smooth across it
PEAK_CONTRAST = 3.0
PEAK_NEIGHBOURS = 9


def peak_share(S: np.ndarray) -> float:
    """How much of a sound's spectrum lies in narrow peaks: notes and chords, not drums or noise.

    Parameters
    ----------
    S : np.ndarray [shape=(bins, frames)]
        :func:`logfreq_spectrogram` (linear magnitude).

    Returns
    -------
    float
        in [0, 1]: the share of each frame's magnitude in bins :data:`PEAK_CONTRAST` times above the
        median of their :data:`PEAK_NEIGHBOURS` neighbours, averaged over the frames within 60 dB of the
        loudest (0 for silence). Tonal loops, melodies, pads and stabs of the validation sets lie above
        0.2 but for a few sparse melodies (0.06); drum loops and hits, noise and sweeps below 0.05,
        most at 0.
    """
    level = S.sum(axis=0)
    sounding = level > level.max(initial=0.0) * 1e-3
    if not sounding.any():
        return 0.0
    S = S[:, sounding]
    half = PEAK_NEIGHBOURS // 2
    # the edge rows repeated above and below, as np.pad's "edge" mode would (at a fifth of its cost)
    bins = S.shape[0]
    padded = np.empty_like(S, shape=(bins + 2 * half, S.shape[1]))  # in S's memory order, which the sums follow
    padded[half : half + bins] = S
    padded[:half], padded[half + bins :] = S[0], S[-1]
    around = np.lib.stride_tricks.sliding_window_view(padded, PEAK_NEIGHBOURS, 0)
    floor = np.partition(around, half, axis=-1)[..., half]
    in_peaks = np.where(S > PEAK_CONTRAST * floor, S, 0.0).sum(axis=0)
    return float(np.mean(in_peaks / np.maximum(S.sum(axis=0), 1e-12)))

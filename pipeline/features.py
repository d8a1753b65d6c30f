"""Signal-level descriptors: pure functions over decoded samples and raw bytes."""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np
from scipy import signal

#: BS.1770 gating block and step in seconds; shorter clips are measured as one block
LOUDNESS_BLOCK_S = 0.4
LOUDNESS_STEP_S = 0.1
#: BS.1770's absolute gate: anything quieter is silence, reported as NULL
ABSOLUTE_GATE_LUFS = -70.0
#: lowest sample rate with a BS.1770 loudness: above twice the K-weighting shelf's 1682 Hz (Hz)
MIN_LOUDNESS_RATE = 3364
#: BS.1770 channel weights for L, R, C, Ls, Rs; further channels weigh 1
CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)


def content_hash(data: bytes) -> str:
    """MD5 of the file's bytes, hex: equal to an S3 ETag for single-part uploads."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def peak_dbfs(samples: np.ndarray) -> float | None:
    """Sample peak over all channels in dBFS (0 dBFS = full scale); None for digital silence.

    Parameters
    ----------
    samples : np.ndarray [shape=(frames, channels)], float in [-1, 1]
    """
    # the larger of the highest sample and the negated lowest: |x| without an array of it
    peak = max(float(samples.max()), -float(samples.min())) if samples.size else 0.0
    return 20.0 * np.log10(peak) if peak > 0 else None


@lru_cache(maxsize=16)
def k_weighting(sr: int) -> np.ndarray:
    """BS.1770 K-weighting at any sample rate as second-order sections.

    The high shelf (+4 dB above ~1.7 kHz, modelling the head) and the RLB
    high-pass (~38 Hz) are designed from their analogue prototypes with the
    bilinear transform, the way libebur128 and pyloudnorm do, so that 48 kHz
    reproduces the coefficients printed in the standard.

    Returns
    -------
    np.ndarray [shape=(2, 6)] for ``scipy.signal.sosfilt``.
    """

    def biquad(f0: float, q: float, gain_db: float, high_shelf: bool) -> np.ndarray:
        k = np.tan(np.pi * f0 / sr)
        a0 = 1.0 + k / q + k * k
        a = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
        if high_shelf:
            vh = 10.0 ** (gain_db / 20.0)
            vb = vh**0.4996667741545416
            b = [(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]
        else:
            b = [1.0, -2.0, 1.0]
        return np.array(b + a)

    return np.stack(
        [
            biquad(1681.974450955533, 0.7071752369554196, 3.999843853973347, True),
            biquad(38.13547087602444, 0.5003270373238773, 0.0, False),
        ]
    )


def k_weighted_power(samples: np.ndarray, sr: int) -> np.ndarray:
    """The channel-weighted sum of the K-weighted channels' squares, frame by frame [shape=(frames,),
    dtype=float32]: what BS.1770 averages over a block.

    Filtered in single precision (the level differs from double precision's by under 0.001 dB), two channels
    at a time as the real and imaginary parts of one complex signal: the filter's coefficients are real, so
    each part comes out exactly as it would alone, and the recursion, bound by each sample waiting for the
    last, runs both in one pass at three quarters of the cost of two. A (frames, 2) array is already that
    complex signal in memory, so a stereo file is not copied either.

    Parameters
    ----------
    samples : np.ndarray [shape=(frames, channels)], float in [-1, 1]
    sr : int
        sample rate in Hz, at least :data:`MIN_LOUDNESS_RATE`.
    """
    frames, channels = samples.shape
    x = np.ascontiguousarray(samples, dtype=np.float32)
    sos = k_weighting(sr).astype(np.float32)
    weights = [CHANNEL_WEIGHTS[c] if c < len(CHANNEL_WEIGHTS) else 1.0 for c in range(channels)]
    power = np.zeros(frames, dtype=np.float32)
    for c in range(0, channels - 1, 2):
        pair = signal.sosfilt(sos.astype(np.complex64), np.ascontiguousarray(x[:, c : c + 2]).view(np.complex64)[:, 0])
        power += np.float32(weights[c]) * pair.real**2 + np.float32(weights[c + 1]) * pair.imag**2
    if channels % 2:
        last = signal.sosfilt(sos, np.ascontiguousarray(x[:, -1]))
        power += np.float32(weights[-1]) * last**2
    return power


def loudness_lufs(samples: np.ndarray, sr: int) -> float | None:
    """Integrated loudness (ITU-R BS.1770-4) in LUFS; None below the absolute gate, and None where
    BS.1770 is undefined: below :data:`MIN_LOUDNESS_RATE` Hz the K-weighting's 1682 Hz shelf lies
    above Nyquist, the filter is unstable and the result would be NaN or thousands of LUFS.

    Parameters
    ----------
    samples : np.ndarray [shape=(frames, channels)], float in [-1, 1]
    sr : int
        sample rate in Hz.

    K-weighting, mean square per 400 ms block every 100 ms, the absolute gate at
    -70 LUFS and the relative gate 10 LU below the absolute-gated mean. Clips
    shorter than one block are measured as a single block of their own length.
    Written out (and checked against pyloudnorm in the tests) because
    pyloudnorm's per-block Python loops cost more than the rest of the analysis.
    """
    frames = samples.shape[0]
    if frames == 0 or sr < MIN_LOUDNESS_RATE:
        return None
    weighted_power = k_weighted_power(samples, sr)
    block = min(int(round(LOUDNESS_BLOCK_S * sr)), frames)
    step = max(1, int(round(LOUDNESS_STEP_S * sr)))
    starts = np.arange(0, frames - block + 1, step)
    # each block's energy from the sums between consecutive block edges, a few hundred numbers: a
    # running sum over every sample, cast to double, cost twenty times as much
    edges = np.union1d(starts, starts + block)
    edges = edges[edges < frames]
    cumulative = np.concatenate([[0.0], np.cumsum(np.add.reduceat(weighted_power, edges, dtype=np.float64))])
    power = (cumulative[np.searchsorted(edges, starts + block)] - cumulative[np.searchsorted(edges, starts)]) / block
    with np.errstate(divide="ignore"):
        block_loudness = -0.691 + 10.0 * np.log10(power)
    gated = block_loudness > ABSOLUTE_GATE_LUFS
    if not gated.any():
        return None
    relative_gate = -0.691 + 10.0 * np.log10(power[gated].mean()) - 10.0
    gated &= block_loudness > relative_gate
    return float(-0.691 + 10.0 * np.log10(power[gated].mean()))

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
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
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
    frames, channels = samples.shape
    if frames == 0 or sr < MIN_LOUDNESS_RATE:
        return None
    # filter along contiguous rows (sosfilt over a strided axis is several times slower), in single
    # precision (twice as fast; the level differs from double precision's by under 0.001 dB); the
    # sums of the power are kept in double precision, where long files need them
    weighted = signal.sosfilt(k_weighting(sr).astype(np.float32), np.ascontiguousarray(samples.T, dtype=np.float32))
    block = min(int(round(LOUDNESS_BLOCK_S * sr)), frames)
    step = max(1, int(round(LOUDNESS_STEP_S * sr)))
    starts = np.arange(0, frames - block + 1, step)
    gains = np.array(
        [CHANNEL_WEIGHTS[c] if c < len(CHANNEL_WEIGHTS) else 1.0 for c in range(channels)], dtype=np.float32
    )
    # each block's energy from the sums between consecutive block edges, a few hundred numbers: a
    # running sum over every sample, cast to double, cost twenty times as much
    edges = np.union1d(starts, starts + block)
    edges = edges[edges < frames]
    cumulative = np.concatenate(
        [[0.0], np.cumsum(np.add.reduceat(gains @ (weighted * weighted), edges, dtype=np.float64))]
    )
    power = (cumulative[np.searchsorted(edges, starts + block)] - cumulative[np.searchsorted(edges, starts)]) / block
    with np.errstate(divide="ignore"):
        block_loudness = -0.691 + 10.0 * np.log10(power)
    gated = block_loudness > ABSOLUTE_GATE_LUFS
    if not gated.any():
        return None
    relative_gate = -0.691 + 10.0 * np.log10(power[gated].mean()) - 10.0
    gated &= block_loudness > relative_gate
    return float(-0.691 + 10.0 * np.log10(power[gated].mean()))

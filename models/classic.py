"""Krumhansl–Schmuckler key estimation: the classic baseline.

log-frequency spectrogram ──► chroma ──► mean pitch-class profile ──► Pearson r with
24 rotated key profiles ──► best key, confidence

Krumhansl & Kessler (1982) measured how well each pitch class fits a major and a
minor context; Schmuckler's algorithm correlates a piece's pitch-class
distribution with those profiles rotated to all 12 tonics. Its weakness is by
construction: a major key and its relative minor use the same seven notes, so
their correlations differ only through emphasis.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import frontend
from .keys import KeyEstimate

#: (major, minor) profiles, index 0 = tonic. Values as published.
PROFILES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    # Krumhansl & Kessler 1982, probe-tone ratings
    "krumhansl": (
        (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
        (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17),
    ),
    # Temperley 1999, "What's key for key?"
    "temperley": (
        (5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0),
        (5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0),
    ),
    # Aarden 2003, pitch-class frequencies of the Essen folksong collection
    "aarden": (
        (
            17.7661,
            0.145624,
            14.9265,
            0.160186,
            19.8049,
            11.3587,
            0.291248,
            22.062,
            0.145624,
            8.15494,
            0.232998,
            4.95122,
        ),
        (18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362, 0.702494, 18.6161, 4.56621, 1.93186, 7.37619, 1.75623),
    ),
}
DEFAULT_PROFILES = "krumhansl"


@lru_cache(maxsize=len(PROFILES))
def key_templates(profiles: str = DEFAULT_PROFILES) -> np.ndarray:
    """The 24 rotated, z-scored key profiles, made once per process (the CNN reads them for every file).

    Returns
    -------
    np.ndarray [shape=(24, 12), dtype=float64], read-only
        row ``i`` is key index ``i`` (see :mod:`keys`), column ``j`` pitch class ``j``.
    """
    if profiles not in PROFILES:
        raise ValueError(f"profiles={profiles!r} is not one of {sorted(PROFILES)}")
    rows = [np.roll(np.asarray(profile, dtype=float), tonic) for profile in PROFILES[profiles] for tonic in range(12)]
    templates = _zscore(np.stack(rows))
    templates.flags.writeable = False
    return templates


def _zscore(x: np.ndarray) -> np.ndarray:
    centred = x - x.mean(axis=-1, keepdims=True)
    norm = np.linalg.norm(centred, axis=-1, keepdims=True)
    return centred / np.where(norm > 0, norm, 1.0)


def key_correlations(pcp: np.ndarray, *, profiles: str = DEFAULT_PROFILES) -> np.ndarray:
    """Pearson correlation of a pitch-class profile with the 24 keys.

    Parameters
    ----------
    pcp : np.ndarray [shape=(12,)]
        pitch-class weights, C first; any non-negative scale.

    Returns
    -------
    np.ndarray [shape=(24,)]
        r in [-1, 1] per key index; all zeros for a flat profile.
    """
    return key_templates(profiles) @ _zscore(np.asarray(pcp, dtype=float))


def pitch_class_profile(S: np.ndarray) -> np.ndarray:
    """Mean chroma [shape=(12,)] of a log-frequency spectrogram ``S`` [shape=(NUM_BINS, frames)]; zeros if no frames."""
    return frontend.chroma(S).mean(axis=1) if S.shape[1] else np.zeros(12)


class ClassicKeyEstimator:
    """Krumhansl–Schmuckler on the shared log-frequency spectrogram.

    Parameters
    ----------
    profiles : str
        one of :data:`PROFILES`.

    The confidence is the winning correlation, clipped to [0, 1]: how well the
    sample's pitch-class profile matches a key at all, not a probability.
    """

    name = "classic"

    def __init__(self, profiles: str = DEFAULT_PROFILES):
        self.templates = key_templates(profiles)
        self.profiles = profiles

    @property
    def version(self) -> str:
        return f"ks-{self.profiles}-1"

    def __call__(self, S: np.ndarray) -> KeyEstimate:
        pcp = pitch_class_profile(S)
        if not pcp.max() > 0 or np.ptp(pcp) <= 1e-6 * pcp.max():  # silence or flat noise
            return KeyEstimate(None, 0.0)
        r = self.templates @ _zscore(pcp)
        best = int(np.argmax(r))
        return KeyEstimate(best, float(np.clip(r[best], 0.0, 1.0)))

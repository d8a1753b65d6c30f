"""Audio degradations that make synthetic training material vary the way recordings do.

Each is a pure function ``(y, sr, rng, ...) -> y`` on a mono float32 signal;
:func:`random_chain` applies a seeded random selection of them. None of them
changes the key, except detuning, which stays within ±50 cents so that the
nearest equal-tempered key is still the label.
"""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf
import soxr
from scipy import signal


def eq(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A random tilt: low- or high-shelf-like filtering by a first-order low/high pass mix."""
    cutoff = float(rng.uniform(200, 5000))
    b, a = signal.butter(1, cutoff / (sr / 2), btype="low" if rng.random() < 0.5 else "high")
    filtered = signal.lfilter(b, a, y)
    mix = float(rng.uniform(0.3, 0.9))
    return ((1 - mix) * y + mix * filtered).astype(np.float32)


def reverb(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Convolution with exponentially decaying noise (RT60 0.3–2.5 s), mixed wet 10–50 %."""
    rt60 = float(rng.uniform(0.3, 2.5))
    n = int(rt60 * sr)
    ir = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / n)
    wet = signal.fftconvolve(y, ir / np.sqrt(np.sum(ir**2)))[: y.size]
    mix = float(rng.uniform(0.1, 0.5))
    return ((1 - mix) * y + mix * wet).astype(np.float32)


def compress(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Feed-forward compression: ratio 2–8 above a threshold 6–24 dB below the peak."""
    envelope = signal.lfilter([1 - np.exp(-1 / (0.01 * sr))], [1, -np.exp(-1 / (0.01 * sr))], np.abs(y))
    peak = max(float(envelope.max()), 1e-9)
    threshold = peak * 10 ** (-float(rng.uniform(6, 24)) / 20)
    ratio = float(rng.uniform(2, 8))
    over = np.maximum(envelope / threshold, 1.0)
    return (y * over ** (1 / ratio - 1)).astype(np.float32)


def noise(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """White or brown noise 15–45 dB below the signal's RMS."""
    rms = float(np.sqrt(np.mean(y**2))) if y.size else 0.0
    n = rng.standard_normal(y.size)
    if rng.random() < 0.5:
        n = np.cumsum(n)
        n -= np.convolve(n, np.ones(256) / 256, mode="same")
    n *= rms * 10 ** (-float(rng.uniform(15, 45)) / 20) / max(float(np.std(n)), 1e-9)
    return (y + n).astype(np.float32)


def detune(y: np.ndarray, sr: int, cents: float) -> np.ndarray:
    """Shift pitch (and tempo) by ``cents`` by resampling."""
    ratio = 2 ** (cents / 1200)
    return soxr.resample(y, sr * ratio, sr).astype(np.float32) if cents else y


def vibrato(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A 4–7 Hz vibrato up to ±30 cents by a modulated fractional delay."""
    rate, depth_cents = float(rng.uniform(4, 7)), float(rng.uniform(5, 30))
    t = np.arange(y.size) / sr
    # delay d(t) whose derivative gives a pitch deviation of depth_cents at the peak
    depth = (2 ** (depth_cents / 1200) - 1) / (2 * np.pi * rate)
    positions = np.arange(y.size) - depth * sr * np.sin(2 * np.pi * rate * t)
    return np.interp(positions, np.arange(y.size), y).astype(np.float32)


def lossy(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """An MP3 or Ogg Vorbis round trip at a random quality."""
    buf = io.BytesIO()
    peak = max(float(np.abs(y).max()), 1e-9)
    fmt, subtype = ("MP3", "MPEG_LAYER_III") if rng.random() < 0.6 else ("OGG", "VORBIS")
    sf.write(buf, y / peak * 0.9, sr, format=fmt, subtype=subtype, compression_level=float(rng.uniform(0.3, 0.95)))
    buf.seek(0)
    decoded, _ = sf.read(buf, dtype="float32")
    decoded = decoded[: y.size]
    if decoded.size < y.size:
        decoded = np.pad(decoded, (0, y.size - decoded.size))
    return (decoded * peak / 0.9).astype(np.float32)


def excerpt(y: np.ndarray, sr: int, rng: np.random.Generator, *, min_s: float = 1.0) -> np.ndarray:
    """A random stretch that starts anywhere (at least ``min_s`` seconds if the signal is longer)."""
    if y.size <= min_s * sr:
        return y
    length = int(rng.uniform(min_s * sr, y.size))
    start = int(rng.integers(0, y.size - length + 1))
    return y[start : start + length]


def random_chain(
    y: np.ndarray, sr: int, rng: np.random.Generator, *, allow_detune: bool = True, allow_excerpt: bool = True
) -> np.ndarray:
    """Apply a seeded random subset of the degradations, then normalise to a random level."""
    if allow_detune and rng.random() < 0.5:
        y = detune(y, sr, float(rng.uniform(-50, 50)))
    if rng.random() < 0.15:
        y = vibrato(y, sr, rng)
    if rng.random() < 0.5:
        y = eq(y, sr, rng)
    if rng.random() < 0.4:
        y = reverb(y, sr, rng)
    if rng.random() < 0.3:
        y = compress(y, sr, rng)
    if rng.random() < 0.4:
        y = noise(y, rng)
    if allow_excerpt and rng.random() < 0.4:
        y = excerpt(y, sr, rng)
    if rng.random() < 0.15:
        y = lossy(y, sr, rng)
    peak = float(np.abs(y).max()) if y.size else 0.0
    level = 10 ** (-float(rng.uniform(0, 30)) / 20)
    return (y / peak * level).astype(np.float32) if peak > 0 else y

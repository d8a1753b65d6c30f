"""Signal descriptors: loudness (BS.1770, checked against pyloudnorm), peak, content hash."""

from __future__ import annotations

import hashlib

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from sampledex.pipeline import features

RATES = (22050, 44100, 48000, 96000)
CHANNELS = (1, 2, 5)


def _signal(kind: str, sr: int, channels: int, seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    if kind == "noise":
        return 0.1 * rng.standard_normal((n, channels))
    if kind == "tones":
        return np.stack([0.3 * np.sin(2 * np.pi * 110 * (c + 1) * t + c) for c in range(channels)], axis=1)
    # quiet start, swelling tone plus noise: exercises the relative gate
    y = np.stack(
        [0.3 * np.sin(2 * np.pi * (330 + 50 * c) * t) * (1 + np.sin(2 * np.pi * 0.7 * t)) / 2 for c in range(channels)],
        axis=1,
    ) + 0.01 * rng.standard_normal((n, channels))
    y[: n // 3] *= 0.01
    return y


def _pyloudnorm(x: np.ndarray, sr: int, **kw) -> float:
    meter = pyloudnorm.Meter(sr, filter_class="DeMan", **kw)
    return meter.integrated_loudness(x[:, 0] if x.shape[1] == 1 else x)


# Durations where pyloudnorm's block count (rounded) equals the number of whole
# 400 ms blocks every 100 ms; see test_partial_last_block for the others.
@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("channels", CHANNELS)
@pytest.mark.parametrize(
    "kind, seconds", [("noise", 2.0), ("tones", 1.5), ("gated", 3.0), ("noise", 0.43), ("tones", 1.05)]
)
def test_loudness_agrees_with_pyloudnorm(sr, channels, kind, seconds):
    x = _signal(kind, sr, channels, seconds, seed=sr + 7 * channels)
    got = features.loudness_lufs(x, sr)
    assert isinstance(got, float)
    assert got == pytest.approx(_pyloudnorm(x, sr), abs=0.01)


@pytest.mark.parametrize("sr", RATES)
def test_partial_last_block(sr):
    # 1.06 s: pyloudnorm rounds (1.06 - 0.4) / 0.1 up and adds a block that runs past the
    # end (measured as if padded with silence); BS.1770 uses whole blocks only, which is
    # pyloudnorm on the first 1.0 s (same filter state, same 7 blocks).
    x = _signal("noise", sr, 2, 1.06, seed=3)
    got = features.loudness_lufs(x, sr)
    assert got == pytest.approx(_pyloudnorm(x[: int(round(1.0 * sr))], sr), abs=0.01)


@pytest.mark.parametrize("channels", (1, 2, 3, 6))
def test_channels_filtered_in_pairs_come_out_as_each_alone(channels):
    """Two channels are filtered as one complex signal: each must come out bit for bit as a real pass over it
    alone gives, whatever its neighbour holds (here a loud tone beside quiet noise), with its BS.1770 weight."""
    x = _signal("noise", 44100, channels, 0.7, seed=channels).astype(np.float32)
    x[:, ::2] += np.sin(2 * np.pi * 60 * np.arange(x.shape[0]) / 44100)[:, None].astype(np.float32)
    sos = features.k_weighting(44100).astype(np.float32)
    alone = [signal.sosfilt(sos, np.ascontiguousarray(x[:, c])) for c in range(channels)]
    weights = [np.float32(w) for w in (*features.CHANNEL_WEIGHTS, 1.0)[:channels]]
    expected = np.zeros(x.shape[0], np.float32)
    for c in range(0, channels - 1, 2):
        expected += weights[c] * alone[c] ** 2 + weights[c + 1] * alone[c + 1] ** 2
    if channels % 2:
        expected += weights[-1] * alone[-1] ** 2
    np.testing.assert_array_equal(features.k_weighted_power(x, 44100), expected)


def test_loudness_float32_input():
    x = _signal("tones", 48000, 2, 1.0, seed=1)
    assert features.loudness_lufs(x.astype(np.float32), 48000) == pytest.approx(
        features.loudness_lufs(x, 48000), abs=1e-3
    )


@pytest.mark.parametrize("sr", (44100, 48000))
def test_reference_sine(sr):
    # BS.1770: a 0 dBFS 1 kHz sine in one front channel reads -3.01 LKFS; at -20 dBFS, -23.01
    t = np.arange(3 * sr) / sr
    mono = (0.1 * np.sin(2 * np.pi * 997 * t))[:, None]
    assert features.loudness_lufs(mono, sr) == pytest.approx(-23.01, abs=0.05)
    stereo_one_side = np.hstack([mono, np.zeros_like(mono)])
    assert features.loudness_lufs(stereo_one_side, sr) == pytest.approx(-23.01, abs=0.05)
    # the same sine in both channels is twice the power
    both = np.hstack([mono, mono])
    assert features.loudness_lufs(both, sr) == pytest.approx(-23.01 + 10 * np.log10(2), abs=0.05)


@pytest.mark.parametrize("shape", [(48000, 1), (48000, 2), (48000, 8), (10, 2)])
def test_silence_is_none(shape):
    assert features.loudness_lufs(np.zeros(shape), 48000) is None


def test_below_absolute_gate_is_none():
    x = _signal("noise", 48000, 1, 1.0, seed=5) * 1e-4  # about -97 LUFS
    assert features.loudness_lufs(x, 48000) is None


def test_empty_is_none():
    assert features.loudness_lufs(np.zeros((0, 2)), 48000) is None


def test_eight_channels():
    x = _signal("noise", 48000, 8, 1.0, seed=8)
    got = features.loudness_lufs(x, 48000)
    assert isinstance(got, float) and np.isfinite(got)
    # channels 6..8 weigh 1: louder than the first five alone
    assert got > features.loudness_lufs(x[:, :5], 48000)


@pytest.mark.parametrize("seconds", [0.2, 0.05, 0.399])
def test_short_clip_is_one_block(seconds):
    sr = 48000
    x = _signal("noise", sr, 2, seconds, seed=9)
    got = features.loudness_lufs(x, sr)
    assert isinstance(got, float) and np.isfinite(got)
    # a single block of the clip's own length, which pyloudnorm measures with that block size
    assert got == pytest.approx(_pyloudnorm(x, sr, block_size=x.shape[0] / sr), abs=0.01)


def test_peak_dbfs():
    assert features.peak_dbfs(np.full((100, 2), 0.5)) == pytest.approx(-6.0206, abs=1e-4)
    x = np.zeros((100, 2))
    x[37, 1] = -0.5
    assert features.peak_dbfs(x) == pytest.approx(-6.0206, abs=1e-4)
    assert features.peak_dbfs(np.ones((10, 1))) == pytest.approx(0.0)
    assert features.peak_dbfs(np.zeros((100, 2))) is None
    assert features.peak_dbfs(np.zeros((0, 2))) is None


@pytest.mark.parametrize("data", [b"", b"RIFF....WAVEfmt ", bytes(range(256)) * 100])
def test_content_hash(data):
    h = features.content_hash(data)
    assert h == hashlib.md5(data).hexdigest()
    assert len(h) == 32 and h == h.lower()


def test_content_hash_known_value():
    assert features.content_hash(b"") == "d41d8cd98f00b204e9800998ecf8427e"
    assert features.content_hash(b"abc") == "900150983cd24fb0d6963f7d28e17f72"

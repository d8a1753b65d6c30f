"""Spectrogram front end and the Krumhansl–Schmuckler baseline."""

from __future__ import annotations

import numpy as np
import pytest

from sampledex.models import classic, frontend, keys
from sampledex.models.training import synth

SR = frontend.SAMPLE_RATE


def _sine(freq: float, seconds: float = 1.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


# -- front end ----------------------------------------------------------------


def test_spectrogram_shape_one_second():
    S = frontend.logfreq_spectrogram(np.zeros(SR, dtype=np.float32))
    assert S.shape == (frontend.NUM_BINS, 1 + SR // frontend.HOP_LENGTH)
    assert S.dtype == np.float32


@pytest.mark.parametrize("n", [0, 1, 10, frontend.HOP_LENGTH - 1, frontend.HOP_LENGTH, frontend.N_FFT + 3])
def test_spectrogram_any_length(n):
    y = np.random.default_rng(n).standard_normal(n).astype(np.float32) * 0.1
    S = frontend.logfreq_spectrogram(y)
    assert S.shape == (frontend.NUM_BINS, 1 + n // frontend.HOP_LENGTH)
    assert np.all(np.isfinite(S))
    assert np.all(S >= 0)


def test_sine_peaks_in_its_bin():
    expected = 24 * np.log2(440.0 / frontend.FMIN)
    assert expected == pytest.approx(66.0)  # A4 is 33 semitones above C2
    S = frontend.logfreq_spectrogram(_sine(440.0))
    assert np.all(S.argmax(axis=0) == int(round(expected)))
    assert frontend.bin_frequencies()[66] == pytest.approx(440.0)


@pytest.mark.parametrize("midi", [40, 48, 57, 64, 69, 76, 88, 100])
def test_sines_across_the_range_peak_in_their_bin(midi):
    freq = float(synth.midi_to_hz(midi))
    S = frontend.logfreq_spectrogram(_sine(freq))
    expected = int(round(24 * np.log2(freq / frontend.FMIN)))
    assert int(np.bincount(S.argmax(axis=0)).argmax()) == expected


def test_chroma_of_a_sine():
    C = frontend.chroma(frontend.logfreq_spectrogram(_sine(440.0)))
    assert C.shape == (12, 1 + SR // frontend.HOP_LENGTH)
    assert np.all(C.argmax(axis=0) == 9)


@pytest.mark.parametrize("pc", range(12))
def test_chroma_pitch_classes(pc):
    # the octave above C4 and a low one: both fold onto the same pitch class
    for midi in (60 + pc, 36 + pc):
        C = frontend.chroma(frontend.logfreq_spectrogram(_sine(float(synth.midi_to_hz(midi)))))
        assert int(C.mean(axis=1).argmax()) == pc


def test_filterbank_rows_sum_to_one():
    W = frontend.logfreq_filterbank()
    assert W.shape == (frontend.NUM_BINS, frontend.N_FFT // 2 + 1)
    np.testing.assert_allclose(W.sum(axis=1), 1.0, rtol=1e-5)


# -- Krumhansl–Schmuckler -------------------------------------------------------


def test_estimator_on_synthetic_material_in_all_keys():
    est = classic.ClassicKeyEstimator()
    # (progression, with_melody): each key gets two of the four, each pair is used 12 times
    configs = [(0, True), (3, False), (0, False), (3, True)]
    bpms = (120, 136, 160)
    hits, total, misses = 0, 0, []
    for k in range(24):
        for j in range(2):
            progression, melody = configs[(k + 2 * j) % 4]
            wave = synth.WAVES[(k + j) % len(synth.WAVES)]
            y = synth.tonal_loop(
                k,
                bpm=bpms[(k + j) % 3],
                bars=4,
                sr=SR,
                rng=np.random.default_rng(1000 * k + j),
                wave=wave,
                progression=progression,
                with_melody=melody,
            )
            estimate = est(frontend.logfreq_spectrogram(y))
            total += 1
            if estimate.index == k:
                hits += 1
            else:
                misses.append((keys.KEY_NAMES[k], progression, melody, wave, estimate.name))
            assert estimate.index is not None
            assert 0.0 <= estimate.confidence <= 1.0
    rate = hits / total
    print(f"classic key accuracy on {total} synthetic loops: {rate:.1%}; misses: {misses}")
    assert rate >= 0.9


def test_estimate_names():
    est = classic.ClassicKeyEstimator()
    y = synth.tonal_loop(
        keys.parse_key("A minor"), bpm=120, bars=4, sr=SR, rng=np.random.default_rng(7), wave="saw", progression=0
    )
    e = est(frontend.logfreq_spectrogram(y))
    assert (e.index, e.name, e.camelot) == (21, "A minor", "8A")
    assert est.version == "ks-krumhansl-1"


@pytest.mark.parametrize("n", [0, 10, SR])
def test_silence_has_no_key(n):
    e = classic.ClassicKeyEstimator()(frontend.logfreq_spectrogram(np.zeros(n, dtype=np.float32)))
    assert e.index is None
    assert e.name is None and e.camelot is None
    assert e.confidence == 0.0


def test_no_frames_has_no_key():
    e = classic.ClassicKeyEstimator()(np.zeros((frontend.NUM_BINS, 0), dtype=np.float32))
    assert e.index is None


C_MAJOR_SCALE = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=float)


@pytest.mark.parametrize("profiles", ["krumhansl", "temperley"])
def test_key_correlations_of_a_major_scale(profiles):
    r = classic.key_correlations(C_MAJOR_SCALE, profiles=profiles)
    assert r.shape == (24,)
    assert int(np.argmax(r)) == keys.parse_key("C major")
    assert np.all(np.abs(r) <= 1 + 1e-12)
    # transposing the profile transposes the answer
    for shift in range(12):
        assert int(np.argmax(classic.key_correlations(np.roll(C_MAJOR_SCALE, shift), profiles=profiles))) == shift


@pytest.mark.parametrize("profiles", sorted(classic.PROFILES))
def test_key_correlations_of_a_profile_itself(profiles):
    major, minor = classic.PROFILES[profiles]
    for tonic in range(12):
        r = classic.key_correlations(np.roll(major, tonic), profiles=profiles)
        assert int(np.argmax(r)) == tonic and r[tonic] == pytest.approx(1.0)
        r = classic.key_correlations(np.roll(minor, tonic), profiles=profiles)
        assert int(np.argmax(r)) == 12 + tonic and r[12 + tonic] == pytest.approx(1.0)


def test_flat_profile_correlates_with_nothing():
    np.testing.assert_array_equal(classic.key_correlations(np.ones(12)), np.zeros(24))


def test_unknown_profile():
    with pytest.raises(ValueError, match="nonsense"):
        classic.key_templates("nonsense")
    with pytest.raises(ValueError):
        classic.key_correlations(C_MAJOR_SCALE, profiles="nonsense")
    with pytest.raises(ValueError):
        classic.ClassicKeyEstimator("nonsense")

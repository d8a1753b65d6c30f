"""Electronic sound design as training material: shapes and determinism, an audible key, keyless FX without one."""

from __future__ import annotations

import numpy as np
import pytest

from sampledex.models import frontend, keys
from sampledex.models.classic import ClassicKeyEstimator
from sampledex.models.training import datagen, electronic, train

#: seconds each family may last
DURATIONS = {"pad": (4, 16), "tonal_fx": (1.5, 8), "bass": (2, 8), "pluck": (2, 8), "buzz": (2, 10)}
KINDS = {"tonal_fx": electronic.FX_KINDS, "bass": electronic.BASS_KINDS, "pluck": electronic.PLUCK_KINDS}
KINDS["buzz"] = electronic.BUZZ_KINDS
#: every tonic once, majors on even and minors on odd pitch classes
KEYS = [pc + 12 * (pc % 2) for pc in range(12)]
TONAL = ("pad", "tonal_fx", "pluck", "buzz")


def _check(y: np.ndarray, low: float, high: float) -> None:
    assert y.dtype == np.float32 and y.ndim == 1
    assert np.isfinite(y).all() and 0 < np.abs(y).max() <= 1
    assert low - 0.01 <= y.size / datagen.SR <= high + 0.01


def _chroma(y: np.ndarray) -> np.ndarray:
    return frontend.chroma(frontend.logfreq_spectrogram(y)).mean(axis=1)


@pytest.mark.parametrize("family", DURATIONS)
def test_families_are_finite_float32_of_their_length(family):
    for key in (0, 9, 14, 23):
        _check(getattr(electronic, family)(key, np.random.default_rng(key)), *DURATIONS[family])


@pytest.mark.parametrize("family, kind", [(f, k) for f, kinds in KINDS.items() for k in kinds])
def test_every_kind_renders(family, kind):
    for key in (2, 17):
        _check(getattr(electronic, family)(key, np.random.default_rng(key), kind=kind), *DURATIONS[family])


@pytest.mark.parametrize("kind", electronic.KEYLESS_KINDS)
def test_keyless_kinds_render(kind):
    y, got = electronic.keyless_fx(np.random.default_rng(3), kind=kind)
    assert got == kind
    _check(y, 1, 8)


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="kind='wobble'"):
        electronic.tonal_fx(0, np.random.default_rng(0), kind="wobble")
    with pytest.raises(ValueError, match="kind='wobble'"):
        electronic.keyless_fx(np.random.default_rng(0), kind="wobble")


@pytest.mark.parametrize("family", [*DURATIONS, "keyless_fx"])
def test_a_seed_fixes_the_sound(family):
    def make(seed):
        rng = np.random.default_rng(seed)
        return electronic.keyless_fx(rng)[0] if family == "keyless_fx" else getattr(electronic, family)(5, rng)

    a, b, c = make(11), make(11), make(12)
    assert np.array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)


@pytest.fixture(scope="module")
def heard():
    """``(family, key) -> (mean chroma, classic estimate)`` over :data:`KEYS`, one seed per key."""
    est = ClassicKeyEstimator()
    out = {}
    for family in (*TONAL, "bass"):
        for key in KEYS:
            S = frontend.logfreq_spectrogram(getattr(electronic, family)(key, np.random.default_rng(key)))
            out[family, key] = frontend.chroma(S).mean(axis=1), est(S).index
    return out


@pytest.mark.parametrize("family", TONAL)
def test_the_key_is_audible(family, heard):
    """The tonic is among the 3 strongest pitch classes of the mean chroma in at least 11 of 12 keys, and
    Krumhansl–Schmuckler names the exact key in at least 9 of 12 (75 %).

    Measured over all 24 keys (seed = key index): tonic in the top 3 in 24/24 for every family; the exact key in
    22/24 pads, 24/24 tonal FX, 20/24 plucks, 21/24 buzzing strings. The top 3 and not the top 1: a triad's
    fifth, or the fifth and octave partials of low notes, can outweigh the tonic. 75 % exact (the bar
    test_training sets generated stabs is 80 %) leaves room for what the families hold besides the tonic
    chord — IV and V in plucks, a second chord in some pads, inharmonic FM bells, the buzz's
    high partials — which is what the CNN must learn to read through.
    """
    tonic_top3 = [keys.tonic_pc(k) in np.argsort(heard[family, k][0])[-3:] for k in KEYS]
    exact = [heard[family, k][1] == k for k in KEYS]
    assert sum(tonic_top3) >= 11, tonic_top3
    assert sum(exact) >= 9, [keys.KEY_NAMES[heard[family, k][1]] for k in KEYS]


@pytest.mark.parametrize("family", (*TONAL, "bass"))
def test_minor_keys_sound_minor(family, heard):
    """The third of the key's mode outweighs the other third in the mean chroma in at least 11 of 12 keys
    (measured over 24 keys: 24/24 pads and tonal FX, 23/24 plucks and buzz, 22/24 bass, whose low notes'
    fifth harmonics are major thirds)."""
    right = []
    for k in KEYS:
        c, t = heard[family, k][0], keys.tonic_pc(k)
        right.append((c[(t + 3) % 12] > c[(t + 4) % 12]) == keys.is_minor(k))
    assert sum(right) >= (10 if family == "bass" else 11), right


@pytest.mark.parametrize("family", ("pad", "tonal_fx"))
def test_held_chords_are_not_read_as_the_relative_key(family, heard):
    """The shipped CNN's error on pads: with the tonic chord held, the relative key is named at most once in 12."""
    assert sum(heard[family, k][1] == keys.relative(k) for k in KEYS) <= 1


@pytest.mark.parametrize("kind, held_at", [("riser", "end"), ("downlifter", "start")])
def test_risers_and_downlifters_hold_the_tonic(kind, held_at):
    """The held 30 % of a riser (its end) or downlifter (its start) alone has the tonic as its strongest pitch
    class and is read as the exact key (measured: 24/24 keys for both); a glide alone is keyless material."""
    est = ClassicKeyEstimator()
    for key in KEYS:
        y = electronic.tonal_fx(key, np.random.default_rng(key), kind=kind)
        held = int(0.3 * y.size)
        y = y[-held:] if held_at == "end" else y[:held]
        S = frontend.logfreq_spectrogram(y)
        assert int(np.argmax(frontend.chroma(S).mean(axis=1))) == keys.tonic_pc(key)
        assert est(S).index == key


def test_keyless_fx_has_no_dominant_pitch_class():
    """max/mean of the mean chroma stays below 1.75 for every keyless kind over 12 seeds.

    Measured over 40 seeds a kind: noise risers and falls at most 1.43, reversed swells 1.40, unpitched impacts
    1.62 (their thump and brown noise weigh the lowest bins C2–D2 of the front end: neighbouring pitch classes,
    a spectral tilt, not a pitch). The existing keyless material scores alike (datagen noise up to 1.51, drum
    hits 1.52); the tonal families' medians are 2.3–3.6, their lowest (a pluck, a bass) 1.5.
    """
    for kind in electronic.KEYLESS_KINDS:
        for seed in range(12):
            c = _chroma(electronic.keyless_fx(np.random.default_rng(seed), kind=kind)[0])
            assert c.max() / c.mean() < 1.75, (kind, seed, c.max() / c.mean())


@pytest.mark.parametrize("family", datagen.ELECTRONIC_FAMILIES)
def test_datagen_draws_the_electronic_families_without_renderers(family):
    y, label, kind = datagen.example(family, 4, renderers=[])
    again, label_again, _ = datagen.example(family, 4, renderers=[])
    assert kind == family and 0 <= label < keys.NUM_KEYS and label == label_again
    assert np.array_equal(y, again)
    assert y.dtype == np.float32 and np.isfinite(y).all() and 0 < np.abs(y).max() <= 1
    clean, clean_label, _ = datagen.example(family, 4, renderers=[], degrade=False)
    assert clean_label == label
    _check(clean, *DURATIONS[family])


def test_keyless_draws_designed_fx():
    drawn = [datagen.example("keyless", s, renderers=[], degrade=False) for s in range(40)]
    designed = [(label, kind) for _, label, kind in drawn if kind in electronic.KEYLESS_KINDS]
    assert designed and all(label == datagen.NO_KEY for label, _ in designed)
    assert {"drums", "hit"} <= {kind for _, _, kind in drawn}  # the older kinds are still drawn


def test_unknown_family_names_the_families():
    with pytest.raises(ValueError, match="pad, tonal_fx, bass, pluck, buzz"):
        datagen.example("wobble", 0, renderers=[])


def test_default_mix_renders_the_electronic_families():
    mix = dict(train.DEFAULT_MIX)
    assert {f: mix[f] for f in datagen.ELECTRONIC_FAMILIES} == {
        "pad": 800,
        "tonal_fx": 600,
        "bass": 300,
        "pluck": 300,
        "buzz": 300,
    }
    jobs = train.synthetic_jobs(mix, [], seed=0)
    counts = {f: sum(job[0] == f for job in jobs) for f in datagen.ELECTRONIC_FAMILIES}
    assert counts == {f: mix[f] for f in datagen.ELECTRONIC_FAMILIES}
    assert len({seed for _, seed, _ in jobs}) == len(jobs)


def test_a_noise_bed_lies_under_the_fx_at_the_level_asked():
    """The wash ends with the FX and is as loud (RMS) as asked: with the level fixed at the tones' own RMS, what
    is left once the FX is taken out of the mix is as loud as the FX."""
    y = electronic.tonal_fx(4, np.random.default_rng(4), kind="riser").astype(np.float64)
    out = electronic.noise_bed(y.astype(np.float32), np.random.default_rng(9), ratio=(1.0, 1.0)).astype(np.float64)
    assert out.size == y.size and 0 < np.abs(out).max() <= 1
    scale = float(out @ y / (y @ y))
    wash = out - scale * y
    assert np.sqrt(np.mean(wash**2)) == pytest.approx(scale * np.sqrt(np.mean(y**2)), rel=0.15)


def test_a_tonic_under_a_wash_as_loud_as_it_is_still_heard():
    """The label of a bedded FX is honest: with a keyless wash as loud as the tones, the tonic is still among
    the 3 strongest pitch classes in at least 10 of 12 keys (measured: 12/12)."""
    heard = []
    for key in KEYS:
        y = electronic.tonal_fx(key, np.random.default_rng(key))
        c = _chroma(electronic.noise_bed(y, np.random.default_rng(100 + key), ratio=(1.0, 1.0)))
        heard.append(keys.tonic_pc(key) in np.argsort(c)[-3:])
    assert sum(heard) >= 10, heard


def test_the_wash_probe_lays_each_wash_under_each_sound_and_scores_the_washes_alone():
    """``make probe-wash``'s conditions: three makes of wash at three levels and alone, each a MIREX score and a
    share without a key in [0, 1]; the washes are as long as the sound, finite and not silent; an unknown make is
    refused."""
    from sampledex.pipeline.tools import washprobe

    rng = np.random.default_rng(0)
    for make in washprobe.WASHES:
        w = washprobe.wash(make, 3 * datagen.SR, rng)
        assert w.shape == (3 * datagen.SR,) and np.isfinite(w).all() and np.std(w) > 0
    with pytest.raises(ValueError, match="make='hiss'"):
        washprobe.wash("hiss", 10, rng)
    found = washprobe.probe("tonal FX", 1, "classic")
    levels = [f"{level:g}×" for level in washprobe.LEVELS]
    assert set(found) == {(m, lv) for m in washprobe.WASHES for lv in [*levels, "alone"]}
    assert all(0.0 <= score <= 1.0 and 0.0 <= none <= 1.0 for score, none in found.values())


@pytest.mark.parametrize("key", range(24))
def test_tonic_colours_keep_the_root_lowest_and_the_mode_in_the_third(key):
    """Every colour a pad or stab may hold (C6, Cmaj9, Am9, Am11, …) is built on the tonic, lowest, with the key's
    own third above it: the root in the bass is all that tells C6 (C E G A) from Am7 (A C E G)."""
    third = 3 if keys.is_minor(key) else 4
    for colour in datagen.TONIC_COLOURS[keys.is_minor(key)]:
        pitches = datagen.chord_pitches(key, 0, colour, octave=3)
        assert pitches[0] == min(pitches) and pitches[0] % 12 == keys.tonic_pc(key)
        assert pitches[0] + third in pitches and pitches[0] + 7 - third not in pitches  # not the other mode's
    drawn = {datagen.tonic_colour(key, np.random.default_rng(s)) for s in range(40)}
    assert drawn == set(datagen.TONIC_COLOURS[keys.is_minor(key)])


@pytest.mark.parametrize("key", range(24))
def test_a_drone_holds_the_major_third_or_no_third(key):
    """A pad's drone is the tonic and fifth in octaves 2–3; in a major key the major third is held above them, in a
    minor key no third at all (a power-chord drone, named minor as electronic packs name one)."""
    pitches = [round(m) for m, _ in electronic.drone_voicing(key, np.random.default_rng(key))]
    tonic = min(pitches)
    assert tonic % 12 == keys.tonic_pc(key) and tonic + 7 in pitches and 36 <= tonic < 48
    thirds = {(p - tonic) % 12 for p in pitches} & {3, 4}
    assert thirds == (set() if keys.is_minor(key) else {4})


def test_the_chord_probe_inverts_its_triads_as_asked(capsys):
    """``probe-chords --inversion 1|2``: the triads alone, the third or fifth lowest (and doubled below when the
    bass is doubled); anything else than 1 or 2 is one line and exit code 2, as argparse's."""
    from sampledex.pipeline.tools import chordprobe

    for inversion, interval in ((1, {3, 4}), (2, {7})):
        for key in (0, 21):
            v = chordprobe.voicing(key, "min" if keys.is_minor(key) else "maj", np.random.default_rng(key), inversion)
            assert (min(m for m, _ in v) - keys.tonic_pc(key)) % 12 in interval
    found = chordprobe.probe("synth", 1, "classic", variant=chordprobe.Variant(inversion=1))
    assert set(found) == set(chordprobe.TRIADS)
    with pytest.raises(SystemExit) as exit_:
        chordprobe.main(["--inversion=3"])
    assert exit_.value.code == 2 and "invalid choice" in capsys.readouterr().err.strip().splitlines()[-1]


def test_the_chord_probe_scores_every_quality_with_its_root_in_the_bass():
    """``make probe-chords``: each quality's chord is on the key's tonic, lowest (the doubled root too), and the
    probe gives each quality a MIREX score and shares of relative-key and keyless answers in [0, 1]."""
    from sampledex.pipeline.tools import chordprobe

    for quality in chordprobe.QUALITIES:
        size = len(datagen.CHORD_INTERVALS[quality])
        for key in (0, 21):
            v = chordprobe.voicing(key, quality, np.random.default_rng(key))
            lowest = min(m for m, _ in v)
            assert lowest % 12 == keys.tonic_pc(key) and len(v) in (size, size + 1)
    found = chordprobe.probe("synth", 1, "classic")
    assert set(found) == set(chordprobe.QUALITIES)
    assert all(0 <= s <= 1 and 0 <= r <= 1 and 0 <= n <= 1 for s, r, n in found.values())


def test_the_chord_probe_detunes_its_pads_as_asked(monkeypatch, capsys):
    """``probe-chords --detune LO:HI``: the numpy pads' voices spread over ±LO–HI cents; a range that is not one is
    one line and exit code 2, as argparse's."""
    from sampledex.pipeline.tools import chordprobe

    seen = []
    real = electronic.chord_voices

    def spy(timbre, *args, **kwargs):
        seen.append(timbre.spread_cents)
        return real(timbre, *args, **kwargs)

    monkeypatch.setattr(electronic, "chord_voices", spy)
    chordprobe.synth_pad(0, "maj", np.random.default_rng(0), chordprobe.Variant(detune=(40.0, 45.0)))
    chordprobe.synth_pad(0, "maj", np.random.default_rng(0))
    assert len(seen) == 2 and 40.0 <= seen[0] <= 45.0 and seen[1] != seen[0]
    for bad in ("50:30", "wide", "-5:10"):
        with pytest.raises(SystemExit) as exit_:
            chordprobe.main([f"--detune={bad}"])
        assert exit_.value.code == 2
        last = capsys.readouterr().err.strip().splitlines()[-1]
        assert repr(bad) in last and ("is not LO:HI" in last or "cents must be" in last)


def _shipped_cnn_on_probe_pads(qualities: list[str], minor: bool, seed: int) -> list[tuple[int, int | None]]:
    """``(key, the shipped CNN's key or None)`` for one numpy pad per quality (:func:`chordprobe.synth_pad`), on
    tonics C, C#, … in turn, each in the mode asked, through ``index``'s chain; pad ``i`` is seeded ``seed + i``."""
    from sampledex.models.training import synth
    from sampledex.pipeline.tools import chordprobe, washprobe

    found = []
    for i, quality in enumerate(qualities):
        key = keys.key_index(i % 12, minor=minor)
        y = chordprobe.synth_pad(key, quality, np.random.default_rng(seed + i))
        found.append((key, washprobe.key_of(synth.normalise(y), "cnn")))
    return found


def test_the_shipped_cnn_names_a_sixth_chord_by_its_root():
    """C6 (C E G A) and C6/9 hold Am7's notes over C: a pack names them C major. Held as numpy pads (two of each in
    every major key, the probe's voicing), the shipped CNN names the key in at least 32 of 48 and the relative
    minor in at most 12 (measured: v10 43 and 4, v9 40 and 6, v8 41 and 6; on these pads before their voices could
    be detuned ±30–50 cents, v8 40 and 8 and v7, before the training material held such colours, 24 and 24)."""
    found = _shipped_cnn_on_probe_pads(["6"] * 24 + ["6/9"] * 24, minor=False, seed=5000)
    right = sum(got == key for key, got in found)
    relative = sum(got == keys.relative(key) for key, got in found)
    assert right >= 32 and relative <= 12, (right, relative)


def test_the_shipped_cnn_names_a_power_chord_drone_minor():
    """A drone of a tonic and a fifth has no third, and packs name it minor (electronic.drone_voicing). Held as
    numpy pads (two in every tonic, the probe's voicing of ``5``: root, fifth, octave), the shipped CNN names the
    minor key in at least 18 of 24 and the major in at most 4 (measured: v10 22 and 2; v9, trained before such
    drones, 10 and 14: a saw's fifth harmonic is a major third)."""
    found = _shipped_cnn_on_probe_pads(["5"] * 24, minor=True, seed=6000)
    minor = sum(got == key for key, got in found)
    major = sum(got == keys.key_index(keys.tonic_pc(key), minor=False) for key, got in found)
    assert minor >= 18 and major <= 4, (minor, major)


def test_the_shipped_cnn_keeps_the_key_of_a_tonal_fx_under_a_steady_wash_twice_as_loud():
    """Under a steady band of noise at twice its RMS (``make probe-wash``'s draws, other seeds) a tonal FX was
    called keyless by the network's margin or its doubt where both it and the chroma heard its key; two methods
    agreeing now keep it (descriptors.CORROBORATED_TONES_SHARE), and the wash alone still has none. Of 28: at least
    24 right, at most 2 without a key, 27 washes keyless (measured: 25, 0, 28; before f25 22 and 4)."""
    from sampledex.models.training import synth
    from sampledex.pipeline.tools import washprobe

    right, keyless, washes = 0, 0, 0
    for i in range(28):
        rng = np.random.default_rng(7000 + i)
        key = int(rng.integers(24))
        y = electronic.tonal_fx(key, rng, kind=electronic.FX_KINDS[i % len(electronic.FX_KINDS)]).astype(np.float64)
        washprobe.wash("keyless-class", y.size, rng)  # drawn first, as the probe draws it
        noise = washprobe.wash("steady", y.size, rng)
        got = washprobe.key_of(washprobe.laid_over(y, noise, 2.0), "cnn")
        right += got == key
        keyless += got is None
        washes += washprobe.key_of(synth.normalise(noise), "cnn") is None
    assert right >= 24 and keyless <= 2 and washes >= 27, (right, keyless, washes)

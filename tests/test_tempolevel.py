"""The tempo-level scorer's life (models/training/tempolevel.py): material, examples, training, the weights."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from sampledex.models import onsets, tempo
from sampledex.models.training import render, tempolevel

from conftest import SAMPLEDEX, run_cli


def fresh_renderers() -> list:
    """New FluidSynth instances: the process's shared ones (:func:`render.renderer`) carry reverb and LFO state
    from whatever other tests rendered before, so a render through them depends on the order tests run in."""
    return [render.FluidRenderer(name, tempolevel.SR) for name in render.TRAIN_SOUNDFONTS]


@pytest.fixture(scope="module")
def renderers():
    return fresh_renderers()


@pytest.fixture(scope="module")
def few(renderers):
    """Twelve development loops and an excerpt, rendered once."""
    rng = np.random.default_rng(3)
    made = [tempolevel.make_loop(rng, renderers) for _ in range(12)] + [tempolevel.make_song(rng, renderers)]
    return made


def test_material_is_seeded_finite_and_written_at_its_tempo(few):
    # the first render of fresh renderers, as few[0] was: the same arrangement, the same sound
    again = tempolevel.make_loop(np.random.default_rng(3), fresh_renderers())
    assert again[1:] == few[0][1:] and np.array_equal(again[0], few[0][0])
    a, b = (tempolevel.example(y, bpm, "", c).candidates for y, bpm, c in (again, few[0]))
    assert a is not None and b is not None and a.bpm.size == b.bpm.size
    assert np.allclose(a.bpm, b.bpm, rtol=0.005)
    for y, bpm, category in few:
        assert np.isfinite(y).all() and 0.1 < np.abs(y).max() <= 1.0
        assert 60.0 <= bpm <= 190.0 and category.split(",")[0] in ("loop", "song")
        seconds = y.size / tempolevel.SR
        if category.startswith("song"):
            assert seconds >= tempo.EXCERPT_SECONDS
        else:  # a loop is its bars long, give or take an appended tail
            bars = seconds * bpm / 240.0
            assert min(abs(bars - n) for n in (1, 2, 4, 8, 16)) < 0.05 or seconds - round(bars) * 240.0 / bpm <= 1.0


def test_drum_patterns_put_their_hits_on_the_sixteenths_of_their_tempo():
    notes = tempolevel.drum_notes("rock", bpm=120.0, bars=2, rng=np.random.default_rng(0))
    steps = np.array([n.onset for n in notes]) / (15.0 / 120.0)
    # swing delays the odd sixteenths by up to a third of a step, and the timing is loose by a few ms
    assert np.all(np.abs(steps - np.round(steps)) < 0.45)
    snares = sorted(n.onset for n in notes if n.midi == tempolevel.SNARE)
    assert snares[:2] == pytest.approx([0.5, 1.5], abs=0.03)  # beats two and four


def test_an_example_shows_the_scorer_what_estimate_tempo_scores(few):
    y, bpm, category = few[0]
    ex = tempolevel.example(y, bpm, "a", category)
    found = tempo.scored_candidates(onsets.onset_strength(np.asarray(y, dtype=np.float32)))
    assert ex.candidates is not None and found is not None
    assert np.array_equal(ex.candidates.bpm, found.bpm)
    assert np.array_equal(ex.candidates.features, found.features)
    assert np.array_equal(ex.right, np.abs(found.bpm / bpm - 1.0) <= 0.04)


def test_examples_are_cached_and_read_back_alike(few, tmp_path):
    made = [tempolevel.example(y, bpm, str(i), c) for i, (y, bpm, c) in enumerate(few)]
    made.append(tempolevel.example(np.zeros(100, np.float32), 120.0, "silence", "loop, drums"))
    assert made[-1].candidates is None
    path = tmp_path / "examples.npz"
    tempolevel._save(path, made, tempolevel.recipe(0, loops=0, songs=0))
    back = tempolevel.examples(0, loops=0, songs=0, cache=path)
    assert [(e.name, e.category, e.truth) for e in back] == [(e.name, e.category, e.truth) for e in made]
    for a, b in zip(made, back):
        assert (a.candidates is None) == (b.candidates is None)
        if a.candidates is not None:
            assert np.allclose(a.candidates.features, b.candidates.features, atol=1e-5)
            assert np.array_equal(a.right, b.right)


def _synthetic(count: int, seed: int) -> list[tempolevel.Example]:
    """Files whose right candidate stands out in one feature column, and whose other columns are noise:
    a rule a scorer must learn from the labels alone."""
    rng = np.random.default_rng(seed)
    column = tempo.FEATURES.index("onsets_per_beat")
    out = []
    for i in range(count):
        n = int(rng.integers(2, 8))
        features = rng.normal(size=(n, len(tempo.FEATURES)))
        best = int(rng.integers(n))
        features[best, column] = features[:, column].max() + 1.0
        bpm = 60.0 * 1.3 ** np.arange(n)
        truth = float(bpm[best])
        out.append(tempolevel.Example(str(i), "loop, drums", truth, tempo.Candidates(bpm, np.ones(n), features)))
    return out


def test_training_learns_which_candidate_is_right_and_calibrates_its_confidence():
    trained = tempolevel.train(_synthetic(400, 0), epochs=30)
    held_out = _synthetic(200, 1)
    _, right, _ = tempolevel.decisions(trained, held_out)
    assert right.mean() > 0.9  # chance is about 0.25
    trained["temperature"] = np.array(tempolevel.calibrate(trained, held_out))
    assert float(trained["temperature"]) in tempolevel.TEMPERATURES
    assert tempolevel.report(trained, held_out, log=lambda _: None) == pytest.approx(right.mean())


def test_flat_weights_make_every_tempo_band_count_alike_within_each_kind_of_file():
    # drum loops crowd round 120 BPM, tonal ones are spread evenly, one drum loop is slow
    truths = [("loop, drums (rock)", t) for t in [125.0] * 30 + [95.0] * 9 + [62.0]]
    truths += [("loop, tonal (no drums)", t) for t in np.linspace(60.0, 179.0, 24)]
    found = [tempolevel.Example(str(i), c, t, None) for i, (c, t) in enumerate(truths)]
    weight = tempolevel.flat_weights(found)
    assert weight.mean() == pytest.approx(1.0)
    drums = weight[:40]
    # each band the drum loops occupy carries the same total weight, so the lone slow loop weighs as much as
    # the thirty at 125 BPM together
    assert drums[39] == pytest.approx(drums[:30].sum()) == pytest.approx(drums[30:39].sum())
    assert np.allclose(weight[40:], weight[40])  # already even: left alone


def test_saved_weights_are_the_ones_estimate_tempo_uses(tmp_path, monkeypatch):
    trained = tempolevel.train(_synthetic(50, 2), epochs=2)
    trained["temperature"] = np.array(1.5)
    path = tmp_path / "tempolevel.npz"
    tempolevel.save(trained, path)
    monkeypatch.setattr(tempo, "LEVEL_WEIGHTS", path)
    tempo._level_weights.cache_clear()
    try:
        features = np.random.default_rng(0).normal(size=(5, len(tempo.FEATURES)))
        assert np.allclose(tempo.level_scores(features), tempo.level_scores(features, trained))
        assert tempo._confidence_temperature() == 1.5
    finally:
        tempo._level_weights.cache_clear()


def test_weights_of_other_features_are_refused(tmp_path, monkeypatch):
    path = tmp_path / "old.npz"
    np.savez(path, linear=np.zeros(3), features=np.array(["a", "b", "c"]))
    monkeypatch.setattr(tempo, "LEVEL_WEIGHTS", path)
    tempo._level_weights.cache_clear()
    try:
        with pytest.raises(ValueError, match="other features"):
            tempo.level_scores(np.zeros((1, len(tempo.FEATURES))))
    finally:
        tempo._level_weights.cache_clear()


def test_a_cache_of_another_recipe_is_made_again(few, tmp_path):
    path = tmp_path / "examples.npz"
    y, bpm, category = few[0]
    tempolevel._save(path, [tempolevel.example(y, bpm, "x", category)], "an older generator")
    said: list[str] = []
    made = tempolevel.examples(0, loops=1, songs=0, cache=path, log=said.append)
    assert [e.name for e in made] == ["0-00000"] and any("another recipe" in line for line in said)
    again = tempolevel.examples(0, loops=1, songs=0, cache=path, log=said.append)
    assert [e.truth for e in again] == [e.truth for e in made]
    assert sum("another recipe" in line for line in said) == 1  # the second time, the cache was this recipe's
    assert tempolevel.recipe(0, loops=0, songs=0) != tempolevel.recipe(1, loops=0, songs=0)


def test_analysis_version_names_the_tempo_scorer(tmp_path, monkeypatch):
    """A refitted scorer changes ``analysis_version``, so ``index`` analyses every row again with it."""
    from sampledex.pipeline import analyze

    shipped = analyze.analysis_version("classic")
    assert shipped.endswith("+" + tempo.scorer_version())
    refitted = tmp_path / "tempolevel.npz"
    with np.load(tempo.LEVEL_WEIGHTS) as npz:
        weights = {name: npz[name] for name in npz.files if name != "features"}
    weights["intercept"] = weights["intercept"] + 1.0
    tempolevel.save(weights, refitted)
    monkeypatch.setattr(tempo, "LEVEL_WEIGHTS", refitted)
    tempo.scorer_version.cache_clear()
    try:
        assert analyze.analysis_version("classic") not in ("", shipped)
    finally:
        monkeypatch.undo()
        tempo.scorer_version.cache_clear()
    assert analyze.analysis_version("classic") == shipped


def _library_with_declared_tempi(folder, tempi: dict[str, float]):
    """Backbeat loops, each played at its tempo and named ``NAME.wav`` (the name declaring what it declares)."""
    import soundfile
    from test_descriptors import BACKBEAT_8THS, SR, drum_pattern

    folder.mkdir()
    for i, (name, bpm) in enumerate(tempi.items()):
        soundfile.write(folder / f"{name}.wav", drum_pattern(bpm, 2, BACKBEAT_8THS, seed=i), SR)


@pytest.mark.slow
def test_train_tempo_learns_the_tempo_a_library_writes_on_its_loops(tmp_path):
    """A library that writes its backbeats at twice the tempo they are played at (as half-time grooves are
    written): the shipped scorer reads them as played, the refitted one as the library writes them."""
    played = (70, 73, 76, 79, 82, 85, 88, 91, 94, 97)
    _library_with_declared_tempi(tmp_path / "lib", {f"beat{i} {2 * bpm} BPM": bpm for i, bpm in enumerate(played)})
    (tmp_path / "lib" / "no tempo.wav").write_bytes((tmp_path / "lib" / "beat0 140 BPM.wav").read_bytes())
    catalog, out = tmp_path / "catalog", tmp_path / "runs" / "tempolevel.npz"
    run_cli("index", str(tmp_path / "lib"), "--catalog", str(catalog), "--workers", "1")
    done = run_cli(
        "train-tempo", "--from-catalog", str(catalog), "--loops", "24", "--songs", "0",
        "--cache", str(tmp_path / "cache"), "--out", str(out),
    )  # fmt: skip
    assert "10 loops declare a tempo" in done.stderr  # not the file whose name declares none
    assert "tempo Acc1 on 2 of your loops held out" in done.stdout
    assert f"refitted on 10 loops and 24 development files -> {out}" in done.stdout
    with np.load(out) as npz:
        assert tuple(npz["features"]) == tempo.FEATURES
        weights = {name: npz[name].astype(np.float64) for name in npz.files if name != "features"}
    assert float(weights["temperature"]) == tempo._confidence_temperature()
    from test_descriptors import BACKBEAT_8THS, drum_pattern

    own = [
        tempolevel.example(drum_pattern(bpm, 2, BACKBEAT_8THS, seed=i), 2.0 * bpm, "", "own")
        for i, bpm in enumerate(played)
    ]
    assert tempolevel.accuracy(None, own) <= 0.2 and tempolevel.accuracy(weights, own) >= 0.9


@pytest.mark.slow
def test_train_tempo_without_a_declared_tempo_is_one_line(tmp_path):
    _library_with_declared_tempi(tmp_path / "lib", {"groove": 100})
    run_cli("index", str(tmp_path / "lib"), "--catalog", str(tmp_path / "catalog"), "--workers", "1")
    for args, expect, says in (
        (("--from-catalog", str(tmp_path / "catalog")), 2, "no loop in the catalog declares a tempo"),
        (("--from-catalog", str(tmp_path / "nowhere")), None, "no catalog at"),
    ):
        proc = subprocess.run(
            [SAMPLEDEX, "train-tempo", *args, "--out", str(tmp_path / "w.npz")], capture_output=True, text=True
        )
        assert proc.returncode == (expect or proc.returncode) != 0
        assert says in proc.stderr and len(proc.stderr.strip().splitlines()) == 1 and not proc.stdout
    assert not (tmp_path / "w.npz").exists()


@pytest.mark.slow
def test_train_tempo_reads_a_bucket_s_loops_and_leaves_out_one_gone_since(s3_server, tmp_path):
    """Loops in S3 (moto on loopback): ``--storage-option`` reaches the decode, and a loop deleted after it was
    indexed is left out, said in one line, while the others still teach."""
    import io

    import s3fs
    import soundfile
    from test_descriptors import BACKBEAT_8THS, SR, drum_pattern

    fs = s3fs.S3FileSystem(endpoint_url=s3_server, key="testing", secret="testing")
    fs.mkdir("tempo-loops")
    for i, bpm in enumerate((96, 104, 112, 120, 128, 136)):
        buf = io.BytesIO()
        soundfile.write(buf, drum_pattern(bpm, 2, BACKBEAT_8THS, seed=i), SR, format="WAV")
        fs.pipe(f"tempo-loops/beat{i} {bpm} BPM.wav", buf.getvalue())
    option = ("--storage-option", f"endpoint_url={s3_server}")
    catalog = tmp_path / "catalog"
    run_cli("index", "s3://tempo-loops", "--catalog", str(catalog), "--workers", "1", *option)
    fs.rm("tempo-loops/beat5 136 BPM.wav")
    done = run_cli(
        "train-tempo", "--from-catalog", str(catalog), "--loops", "12", "--songs", "0",
        "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "w.npz"), *option,
    )  # fmt: skip
    assert "6 loops declare a tempo" in done.stderr
    assert "1 of them could not be read again and were left out" in done.stderr
    assert "refitted on 5 loops and 12 development files" in done.stdout

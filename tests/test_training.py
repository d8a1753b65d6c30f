"""The key model's life: rendered material, transposition augmentation, the network, training and resuming."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sampledex.models import cnn, descriptors, frontend, keys
from sampledex.models.training import datagen, render, train


@pytest.fixture(scope="module")
def renderers():
    """The training soundfonts through FluidSynth, as `make setup` installs them."""
    return [render.renderer(name) for name in render.TRAIN_SOUNDFONTS]


@pytest.fixture(scope="module")
def tiny_set(renderers):
    train._RENDERERS[:] = renderers
    items = [train._make((family, seed, None)) for family in ("loop", "stab", "melody", "keyless") for seed in range(6)]
    return train.FeatureSet.pack(items)


def test_fluidsynth_renders_notes_at_their_pitch(renderers):
    from sampledex.models.training.synth import Note

    y = renderers[0].render([Note(0.0, 1.0, 69)], 1.0, program=0)  # A4 on a piano
    S = frontend.logfreq_spectrogram(y)
    assert y.dtype == np.float32 and y.size == 22050 and np.abs(y).max() > 0.01
    assert int(np.argmax(frontend.chroma(S).mean(axis=1))) == 9


@pytest.mark.parametrize("family", ["loop", "stab", "melody", "keyless"])
def test_examples_are_seeded_labelled_and_finite(family, renderers):
    a, key_a, kind = datagen.example(family, 7, renderers=renderers)
    b, key_b, _ = datagen.example(family, 7, renderers=renderers)
    # the seed fixes the music, the label and every degradation; FluidSynth keeps some state between
    # pieces (its chorus LFO, its 64-sample block phase), so two renders agree closely, not bit for bit
    assert key_a == key_b and a.shape == b.shape
    ca, cb = (frontend.chroma(frontend.logfreq_spectrogram(y)).mean(axis=1) for y in (a, b))
    assert np.corrcoef(ca, cb)[0, 1] > 0.9
    assert np.isfinite(a).all() and a.size > 0.1 * datagen.SR
    assert (key_a == datagen.NO_KEY) == (family == "keyless")


def test_progression_sets_are_disjoint():
    for mode in ("major", "minor"):
        train_set = {tuple(p) for p in datagen.TRAIN_PROGRESSIONS[mode]}
        assert not train_set & {tuple(p) for p in datagen.EVAL_PROGRESSIONS[mode]}


def test_tonal_material_is_in_its_key(renderers):
    """Without degradations, the chroma of generated loops correlates best with their own key most of the time."""
    from sampledex.models.classic import ClassicKeyEstimator

    est = ClassicKeyEstimator()
    hits = [
        est(frontend.logfreq_spectrogram(y)).index == k
        for y, k, _ in (datagen.example("stab", s, renderers=renderers, degrade=False) for s in range(12))
    ]
    assert np.mean(hits) >= 0.8


@pytest.mark.parametrize("semitones", range(-6, 6))
def test_transposition_moves_spectrum_and_label_together(semitones):
    t = np.arange(22050) / 22050
    a4 = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    shifted = np.sin(2 * np.pi * 440 * 2 ** (semitones / 12) * t).astype(np.float32)
    S = frontend.transpose(train.margin_spectrogram(a4), semitones)
    assert S.shape[0] == frontend.NUM_BINS
    assert np.argmax(S.mean(axis=1)) == np.argmax(frontend.logfreq_spectrogram(shifted).mean(axis=1))
    a_minor = keys.parse_key("A minor")
    assert (
        keys.KEY_NAMES[train.shift_label(a_minor, semitones)]
        == keys.KEY_NAMES[keys.key_index(9 + semitones, minor=True)]
    )
    assert train.shift_label(datagen.NO_KEY, semitones) == datagen.NO_KEY


def test_an_epoch_is_balanced_over_the_24_keys(tiny_set):
    rng = np.random.default_rng(0)
    items = train.epoch_items(tiny_set, np.arange(len(tiny_set)), rng)
    labels = [train.shift_label(int(tiny_set.labels[i]), s) for i, s in items]
    tonal = [label for label in labels if label != datagen.NO_KEY]
    counts = np.bincount(tonal, minlength=24)
    # each tonal example lands once on each tonic of its mode
    majors, minors = counts[:12], counts[12:]
    assert len(set(majors)) == 1 and len(set(minors)) == 1
    assert labels.count(datagen.NO_KEY) == train.KEYLESS_SHIFTS * int((tiny_set.labels == datagen.NO_KEY).sum())


@pytest.mark.parametrize("frames", [1, 2, 7, 60])
def test_the_network_takes_any_length(frames):
    import torch

    net = cnn.build_network().eval()
    with torch.inference_mode():
        out = net(torch.zeros(2, 1, frontend.NUM_BINS, frames))
    assert out.shape == (2, cnn.NUM_CLASSES)


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    """A network with random parameters and batch-norm statistics (not the identity), saved as .npz."""
    import torch

    torch.manual_seed(3)
    net = cnn.build_network()
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.endswith("running_var"):
                t.uniform_(0.5, 2.0)
            elif name.endswith(("running_mean", "bias")) or (name.endswith("weight") and t.ndim == 1):
                t.normal_(0.0, 0.3).add_(1.0 if name.endswith("weight") else 0.0)
    path = tmp_path_factory.mktemp("weights") / "random.npz"
    cnn.save_weights(net.state_dict(), path, no_key_ratio=0.2)
    return net.eval(), path


@pytest.mark.parametrize("frames", [1, 2, 7, 60])
def test_numpy_inference_matches_the_torch_network(random_weights, frames):
    import torch

    net, path = random_weights
    S = np.random.default_rng(frames).random((frontend.NUM_BINS, frames)).astype(np.float32) ** 3
    with torch.inference_mode():
        expected = torch.softmax(net(torch.from_numpy(cnn.standardise(S)[None, None])), dim=1)[0].numpy()
    got = cnn.CNNKeyEstimator(path).probabilities(S)
    assert got.shape == (cnn.NUM_CLASSES,)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert expected.max() < 0.99  # random weights: a real distribution, not one saturated class


@pytest.mark.parametrize(
    "padding,dilation,kernel",
    [((1, 1), (1, 1), (3, 3)), ((0, 2), (1, 2), (1, 3)), ((0, 0), (1, 1), (5, 1)), ((2, 1), (2, 1), (3, 3))],
)
@pytest.mark.parametrize("channels", [1, 16])
def test_conv2d_matches_torch(padding, dilation, kernel, channels):
    import torch

    rng = np.random.default_rng(channels)
    x = rng.standard_normal((channels, 9, 7)).astype(np.float32)
    w = rng.standard_normal((4, channels, *kernel)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    expected = torch.nn.functional.conv2d(
        torch.from_numpy(x[None]), torch.from_numpy(w), torch.from_numpy(b), padding=padding, dilation=dilation
    )[0].numpy()
    np.testing.assert_allclose(cnn.conv2d(x, w, b, padding, dilation), expected, atol=1e-4)


def test_the_no_key_ratio_is_the_smallest_that_spares_tonal_examples():
    def probs(no_key: float, best_key: float) -> np.ndarray:
        p = np.full(cnn.NUM_CLASSES, (1 - no_key - best_key) / 23)
        p[0], p[cnn.NO_KEY] = best_key, no_key
        return p

    # 200 tonal examples: one with "no key" at 0.25 of its best key, one at 0.11, the rest at 0.01
    tonal = [probs(0.2, 0.8), probs(0.09, 0.81)] + [probs(0.009, 0.9)] * 198
    drums = [probs(0.3, 0.1), probs(0.04, 0.5)]
    P, labels = np.array(tonal + drums), np.array([3] * 200 + [cnn.NO_KEY] * 2)
    # 0.1 would call 2 of 200 tonal keyless (1 %, not under it); 0.12 calls 1 (0.5 %)
    assert cnn.choose_no_key_ratio(P, labels) == 0.12
    assert cnn.keyless(P[200:], 0.12).tolist() == [True, False]
    assert cnn.choose_no_key_ratio(np.array([probs(0.5, 0.4)] * 10), np.zeros(10)) == 1.0
    # nothing tonal to spare: the fewest NULL
    assert cnn.choose_no_key_ratio(P[200:], labels[200:]) == 1.0
    # nothing keyless to trade against (a fine-tuning on named tonal files): the ratio started from, else 1
    assert cnn.choose_no_key_ratio(P[:200], labels[:200]) == 1.0
    assert cnn.choose_no_key_ratio(P[:200], labels[:200], fallback=0.15) == 0.15


def test_the_estimator_uses_the_ratio_stored_with_its_weights(random_weights, tmp_path):
    net, _ = random_weights
    S = np.random.default_rng(5).random((frontend.NUM_BINS, 20)).astype(np.float32)
    p = cnn.CNNKeyEstimator(random_weights[1]).probabilities(S)
    share = p[cnn.NO_KEY] / p[: cnn.NO_KEY].max()
    for ratio, expect_null in ((share * 0.9, True), (share * 1.1, False)):
        cnn.save_weights(net.state_dict(), tmp_path / "w.npz", no_key_ratio=ratio)
        estimate = cnn.CNNKeyEstimator(tmp_path / "w.npz")(S)
        assert (estimate.index is None) == expect_null


def test_the_chroma_decides_between_keys_the_network_hesitates_over_and_leaves_no_key_alone():
    # the network: C major 0.40, A minor (its relative) 0.35, "no key" 0.05, the rest spread
    p = np.full(cnn.NUM_CLASSES, 0.20 / 22)
    p[keys.parse_key("C major")], p[keys.parse_key("A minor")], p[cnn.NO_KEY] = 0.40, 0.35, 0.05
    # the chroma's emphasis is A minor's: its profile correlates 0.85, C major's 0.70
    r = np.zeros(24)
    r[keys.parse_key("C major")], r[keys.parse_key("A minor")] = 0.70, 0.85
    q = cnn.with_chroma_evidence(p, r, 1.5)
    assert np.argmax(q[: cnn.NO_KEY]) == keys.parse_key("A minor")
    assert q[cnn.NO_KEY] == p[cnn.NO_KEY] and q[: cnn.NO_KEY].sum() == pytest.approx(p[: cnn.NO_KEY].sum())
    np.testing.assert_allclose(cnn.with_chroma_evidence(p, r, 0.0), p)
    # a network that is sure keeps its key against the same small difference in emphasis
    p_sure = p.copy()
    p_sure[keys.parse_key("C major")], p_sure[keys.parse_key("A minor")] = 0.70, 0.05
    assert np.argmax(cnn.with_chroma_evidence(p_sure, r, 1.5)[: cnn.NO_KEY]) == keys.parse_key("C major")


def test_the_estimator_reads_its_key_with_the_chroma_but_no_key_from_the_network_alone():
    from sampledex.models.training import synth

    estimator, alone = cnn.CNNKeyEstimator(), cnn.CNNKeyEstimator(chroma_weight=0.0)
    rng = np.random.default_rng(11)
    sr = frontend.SAMPLE_RATE
    loop = synth.tonal_loop(keys.parse_key("A minor"), bpm=100, bars=2, sr=sr, rng=rng)
    tonal = frontend.logfreq_spectrogram(loop.astype(np.float32))
    noise = frontend.logfreq_spectrogram(0.1 * rng.standard_normal(4 * sr).astype(np.float32))
    for S in (tonal, noise):
        p = estimator.probabilities(S)
        with_chroma = estimator.with_chroma(S, p)
        assert (estimator(S).index is None) == (alone(S).index is None) == cnn.keyless(p, estimator.no_key_ratio)
        if estimator(S).index is not None:
            assert estimator(S).index == int(np.argmax(with_chroma[: cnn.NO_KEY]))
            assert estimator(S).confidence == pytest.approx(with_chroma[estimator(S).index])
            assert alone(S).index == int(np.argmax(p[: cnn.NO_KEY]))
            assert estimator(S).sureness == pytest.approx(alone(S).confidence)  # what the no-key rules read
    assert estimator(noise).index is None


def test_the_chroma_corroborates_a_key_only_as_its_own_clear_best():
    r = np.full(24, 0.1)
    r[keys.parse_key("A minor")], r[keys.parse_key("C major")] = 0.62, 0.55
    assert cnn.corroborates(keys.parse_key("A minor"), r)
    assert not cnn.corroborates(keys.parse_key("C major"), r)  # strong, but not the chroma's own best
    r[keys.parse_key("A minor")], r[keys.parse_key("C major")] = 0.45, 0.40
    assert not cnn.corroborates(keys.parse_key("A minor"), r)  # its best, but weak: noise correlates about 0.4


def test_the_estimator_says_when_the_chroma_names_its_key_too():
    """A tonal loop's key is corroborated (the chroma's best key is the network's), and it is the estimate itself;
    noise's is not; the network alone (no chroma) corroborates nothing."""
    from sampledex.models.training import synth

    estimator, alone = cnn.CNNKeyEstimator(), cnn.CNNKeyEstimator(chroma_weight=0.0)
    rng = np.random.default_rng(12)
    sr = frontend.SAMPLE_RATE
    loop = synth.tonal_loop(keys.parse_key("E minor"), bpm=96, bars=2, sr=sr, rng=rng)
    tonal = frontend.logfreq_spectrogram(loop.astype(np.float32))
    found = estimator(tonal)
    r = estimator.chroma_correlations(tonal)
    assert found.index is not None and cnn.corroborates(found.index, r)
    assert found.corroborated == keys.KeyEstimate(found.index, found.confidence)
    assert alone(tonal).corroborated is None
    noise = frontend.logfreq_spectrogram(0.1 * rng.standard_normal(4 * sr).astype(np.float32))
    assert estimator(noise).index is None and estimator(noise).corroborated is None


@pytest.mark.parametrize("shape", [(3, 8, 6), (3, 7, 5), (2, 1, 1), (2, 1, 4)])
def test_max_pool_matches_torch_with_odd_sizes(shape):
    import torch

    x = np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)
    expected = torch.nn.functional.max_pool2d(torch.from_numpy(x[None]), 2, ceil_mode=True)[0].numpy()
    np.testing.assert_array_equal(cnn.max_pool_2x2(x), expected)


def test_weights_that_are_not_ours_are_refused_clearly(random_weights, tmp_path):
    net, _ = random_weights
    np.savez(tmp_path / "bare.npz", **{k: v.numpy() for k, v in net.state_dict().items()})
    import torch

    torch.save(net.state_dict(), tmp_path / "old.pt")  # what earlier versions shipped
    (tmp_path / "text.npz").write_bytes(b"not a zip")
    for path in (tmp_path / "bare.npz", tmp_path / "old.pt", tmp_path / "text.npz"):
        with pytest.raises(cnn.WeightsError, match="sampledex train"):
            cnn.CNNKeyEstimator(path)


def test_the_pipeline_runs_the_shipped_cnn_without_importing_torch():
    code = (
        "import sys, numpy as np; from sampledex.pipeline import analyze; "
        "e = analyze.key_estimator('cnn'); e(np.random.default_rng(0).random((144, 30), dtype=np.float32)); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_standardise_ignores_level():
    S = np.random.default_rng(0).random((frontend.NUM_BINS, 10)).astype(np.float32)
    a, b = cnn.standardise(S), cnn.standardise(S * 1e-3)
    assert a.shape == S.shape and abs(float(a.mean())) < 1e-4
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.9


def test_training_logs_checkpoints_resumes_and_the_weights_load(tiny_set, tmp_path):
    out = tmp_path / "run"
    first = []
    weights = train.train(tiny_set, out, epochs=2, batch_size=16, max_steps=3, seed=1, threads=1, log=first.append)
    history = list(csv.DictReader(open(out / "history.csv")))
    assert [int(r["epoch"]) for r in history] == [1, 2]
    assert {"train_loss", "train_acc", "val_acc", "val_mirex", "val_relative_err"} <= set(history[0])
    for png in ("learning_curve.png", "confusion.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    log = []
    train.train(tiny_set, out, epochs=3, batch_size=16, max_steps=3, seed=1, threads=1, log=log.append)
    assert any("resuming after epoch 2" in line for line in log)
    assert len(list(csv.DictReader(open(out / "history.csv")))) == 3

    estimator = cnn.CNNKeyEstimator(weights)
    estimate = estimator(frontend.transpose(tiny_set.example(0), 0))
    assert estimate.index is None or 0 <= estimate.index < 24
    assert 0.0 <= estimate.confidence <= 1.0
    assert estimator.version.startswith("cnn-")
    assert estimator.no_key_ratio in cnn.NO_KEY_RATIO_GRID
    assert any('"no key" ratio' in line for line in first)


def test_declared_keys_label_files_and_rows_without_one_are_left_out():
    from sampledex.models.training import datasets

    found = datasets.declared_dataset(
        [("/p/Pad_Am.wav", "A minor"), ("/p/Kick.wav", None), ("/p/odd.wav", "H major"), ("/p/b.wav", "F# major")],
        source="catalog:x",
    )
    assert [(f.path, f.key, f.source) for f in found] == [
        ("/p/Pad_Am.wav", keys.parse_key("A minor"), "catalog:x"),
        ("/p/b.wav", keys.parse_key("F# major"), "catalog:x"),
    ]
    assert found.skipped == {"no declared key": ["/p/Kick.wav"], "unreadable key": ["/p/odd.wav"]}


@pytest.mark.slow
def test_train_from_catalog_learns_from_the_keys_a_pack_declares(small_library, tmp_path):
    """`sampledex train --from-catalog`: the catalog's files whose names declare a key are the training set."""
    from conftest import run_cli

    folder, specs = small_library
    catalog = tmp_path / "catalog"
    run_cli("index", str(folder), "--catalog", str(catalog), "--workers", "1")
    declared = [s for s in specs if s.key]  # the demo writes tonal files' keys into their names
    proc = run_cli(
        "train", "--from-catalog", str(catalog), "--epochs", "1", "--max-steps", "2", "--out", str(tmp_path / "run")
    )
    assert f"kept {len(declared)}" in proc.stderr
    assert f"decoded {len(declared)} labelled files" in proc.stdout
    assert f"starting from the weights in {cnn.WEIGHTS}" in proc.stdout  # alone, it fine-tunes the shipped model
    assert (tmp_path / "run" / "keycnn.npz").exists()


def test_training_can_start_from_shipped_weights(tiny_set, tmp_path):
    """``init``: with a learning rate of 0 the trained convolutions are exactly the weights started from."""
    weights = train.train(
        tiny_set,
        tmp_path / "run",
        epochs=1,
        batch_size=8,
        max_steps=1,
        lr=0.0,
        threads=1,
        init=cnn.WEIGHTS,
        log=[].append,
    )
    start, end = cnn.load_weights(cnn.WEIGHTS), cnn.load_weights(weights)
    convolutions = [name for name in start if name.endswith(".weight") and start[name].ndim == 4]
    assert convolutions and all(np.array_equal(start[name], end[name]) for name in convolutions)


def test_a_no_key_ratio_given_is_the_one_written(tiny_set, tmp_path):
    """``no_key_ratio`` (``sampledex train --no-key-ratio``): the weights carry the ratio asked for, not the
    validation split's choice; the command refuses one outside (0, 1] in one line, exit 2."""
    from conftest import run_cli

    weights = train.train(
        tiny_set, tmp_path / "run", epochs=1, batch_size=8, max_steps=1, threads=1, no_key_ratio=0.45, log=[].append
    )
    assert float(cnn.load_weights(weights)["no_key_ratio"]) == 0.45
    for bad in ("0", "1.5", "nan", "x"):
        proc = run_cli("train", "--no-key-ratio", bad, "--out", str(tmp_path / "no"), expect=2)
        assert len(proc.stderr.strip().splitlines()) == 1 and "--no-key-ratio" in proc.stderr
    assert not (tmp_path / "no").exists()


def test_evaluate_scores_the_weights_it_is_given(random_weights, tmp_path):
    """``sampledex evaluate --weights``: a training run's weights are scored, not the shipped ones."""
    import soundfile as sf

    from sampledex.models.training import synth
    from sampledex.pipeline import analyze
    from sampledex.pipeline.tools import evaluate

    rng = np.random.default_rng(4)
    rows = ["path,key"]
    for i, key in enumerate(("A minor", "C major", "E minor")):
        y = synth.tonal_loop(keys.parse_key(key), bpm=110, bars=2, sr=22050, rng=rng)
        sf.write(tmp_path / f"{i}.wav", y, 22050)
        rows.append(f"{i}.wav,{key}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    spec = str(tmp_path / "labels.csv")
    shipped, other = evaluate.evaluate(spec, "cnn"), evaluate.evaluate(spec, "cnn", weights=str(random_weights[1]))
    assert analyze.key_estimator("cnn", str(random_weights[1])).version == cnn.weights_version(random_weights[1])
    direct = []
    for p, *_ in other.results:  # the network of those weights, then the rules for sounds without notes
        mono = analyze.decode.to_analysis_mono(analyze.decode.load(p))
        S = frontend.logfreq_spectrogram(mono)
        estimate = cnn.CNNKeyEstimator(random_weights[1])(S)
        direct.append(descriptors.gate_key(estimate, descriptors.describe(mono), frontend.peak_share(S)))
    assert [(e.index, round(e.confidence, 6)) for e in direct] == [(i, round(c, 6)) for _, _, i, c in other.results]
    assert [r[1:] for r in shipped.results] != [r[1:] for r in other.results]


@pytest.mark.slow
def test_a_feature_cache_of_another_recipe_is_rendered_again(tmp_path, monkeypatch):
    """The synthetic set's cache is reused only for the mix, seed and generator code it was rendered from."""
    corpus_cache = tmp_path / "corpus.json"
    corpus_cache.write_text("[]")  # no corpus pieces: the numpy families need none
    path = tmp_path / "features.npz"
    kwargs = {"seed": 3, "processes": 1, "corpus_cache": corpus_cache}
    first = train.build_synthetic(path, mix={"pad": 2}, log=[].append, **kwargs)
    log: list[str] = []
    again = train.build_synthetic(path, mix={"pad": 2}, log=log.append, **kwargs)
    assert not log and np.array_equal(again.labels, first.labels)  # reused as it is
    other = train.build_synthetic(path, mix={"pad": 2, "pluck": 1}, log=log.append, **kwargs)
    assert "another recipe" in log[0] and len(other) == 3
    # the same mix and seed, but a generator module edited since: made again, not trained on as it was
    from sampledex.models.training import electronic

    edited = tmp_path / "electronic.py"
    edited.write_bytes(Path(electronic.__file__).read_bytes() + b"\n# a riser drawn otherwise\n")
    monkeypatch.setattr(electronic, "__file__", str(edited))
    log.clear()
    train.build_synthetic(path, mix={"pad": 2, "pluck": 1}, log=log.append, **kwargs)
    assert "another recipe" in log[0]

"""The loop-or-one-shot model's fitting (models/training/kindfit.py): material, features, the regression."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from sampledex.models import kind
from sampledex.models.training import kindfit, render, synth, tempolevel


def test_fit_recovers_the_weights_of_a_logistic_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 3))
    true_w, true_b = np.array([2.0, -1.0, 0.0]), 0.5
    y = (rng.random(4000) < 1.0 / (1.0 + np.exp(-(x @ true_w + true_b)))).astype(float)
    w, b = kindfit.fit(x, y, penalty=0.0)
    assert np.allclose(w, true_w, atol=0.2) and abs(b - true_b) < 0.2
    shrunk, _ = kindfit.fit(x, y, penalty=0.1)  # the penalty pulls the weights toward zero
    assert np.linalg.norm(shrunk) < np.linalg.norm(w)


def test_a_one_bar_loop_is_one_bar():
    renderers = [render.renderer(name, tempolevel.SR) for name in render.TRAIN_SOUNDFONTS]
    y, bpm, _ = tempolevel.make_loop(np.random.default_rng(1), renderers, bars=1)
    bars = y.size / tempolevel.SR * bpm / 240.0
    assert 0.95 < bars < 1.0 + 1.0 * bpm / 240.0  # one bar, and at most a second of tail


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A few files of each category and two recorded notes, described once."""
    folder = tmp_path_factory.mktemp("library")
    for name, midi in (("C4", 60), ("G2", 43)):
        sf.write(folder / f"piano_{name}.wav", synth.single_note(midi, duration=1.5, sr=44100), 44100)
    return folder, kindfit.material(5, 40, libraries=[folder], real=2, log=lambda *_: None)


def test_material_labels_each_category_and_describes_it_as_inference_does(small):
    folder, found = small
    categories = [category for category, *_ in found]
    assert categories.count(f"real, {folder.name}") == 2 and len(set(categories)) >= 6
    loops = {"loop", "loop, one bar", "loop, key model's", "excerpt"}
    for category, features, loop, ruled in found:
        assert loop == (category in loops)
        if ruled is None:
            assert features is not None and features.shape == (len(kind.FEATURES),) and np.isfinite(features).all()
        else:  # a rule decided before the model
            assert features is None and ruled in (kind.LOOP, kind.ONE_SHOT)
    # the recorded notes are one-shots, and a plain note is decided by the rule
    assert [ruled for category, _, _, ruled in found if category.startswith("real")] == [kind.ONE_SHOT] * 2


def test_the_shipped_weights_call_most_of_the_material_right(small):
    weights = np.array([kind.WEIGHTS[name] for name in kind.FEATURES])
    assert kindfit.accuracy(small[1], weights, kind.INTERCEPT, log=lambda *_: None) >= 0.85


def test_a_missing_library_is_one_line_and_exit_1_before_anything_renders(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        kindfit.main(["--library", str(tmp_path / "nowhere"), "--files", "1"])
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: sample library") and "not a folder" in err


def test_nothing_left_to_fit_is_one_line_and_exit_1(capsys):
    with pytest.raises(SystemExit) as stopped:  # no training file at all
        kindfit.main(["--files", "0", "--val-files", "0"])
    assert stopped.value.code == 1
    assert capsys.readouterr().err.startswith("error: the rules decide every training file")

"""Key-estimation metrics: hand-checked relations, agreement with mir_eval, evaluate(), calibration bins."""

from __future__ import annotations

import inspect
import json
import math
import re

import mir_eval.key
import numpy as np
import pytest

from sampledex.models import keys
from sampledex.models.keys import parse_key
from sampledex.models.training import metrics

MIR_EVAL_HAS_DESCENDING = "allow_descending_fifths" in inspect.signature(mir_eval.key.weighted_score).parameters

# mir_eval accepts these tonics (case-insensitive) and modes 'major'/'minor' in lower case
# only; it rejects Cb, Fb, E#, B#. Both spellings of each black key are used so the
# comparison does not depend on our canonical spelling.
SHARPS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLATS = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")


def mir_name(key: int | None, *, sharp: bool = False) -> str:
    """mir_eval's spelling of a key index; 'X' for no key."""
    if key is None:
        return "X"
    tonics = SHARPS if sharp else FLATS
    return f"{tonics[keys.tonic_pc(key)]} {'minor' if keys.is_minor(key) else 'major'}"


def mir_descending(reference: str, estimate: str) -> float:
    """MIREX-2017 score built from mir_eval 0.8: a fifth below the reference is a
    fifth above when the roles swap (the workaround used with mir_eval 0.8)."""
    score = mir_eval.key.weighted_score(reference, estimate)
    if mir_eval.key.weighted_score(estimate, reference) == 0.5:
        score = max(score, 0.5)
    return score


K = parse_key

# --- hand-checked relations ----------------------------------------------------------

HAND = [
    # reference, estimate, relation, directed, score (descending), score (ascending only)
    ("C major", "C major", "correct", "correct", 1.0, 1.0),
    ("C major", "G major", "fifth", "fifth_up", 0.5, 0.5),
    ("C major", "F major", "fifth", "fifth_down", 0.5, 0.0),
    ("C major", "A minor", "relative", "relative", 0.3, 0.3),
    ("A minor", "C major", "relative", "relative", 0.3, 0.3),
    ("C major", "C minor", "parallel", "parallel", 0.2, 0.2),
    ("C minor", "C major", "parallel", "parallel", 0.2, 0.2),
    ("A minor", "E minor", "fifth", "fifth_up", 0.5, 0.5),
    ("A minor", "D minor", "fifth", "fifth_down", 0.5, 0.0),
    ("B major", "F# major", "fifth", "fifth_up", 0.5, 0.5),  # wraps past C
    ("F# minor", "B minor", "fifth", "fifth_down", 0.5, 0.0),
    ("C major", "D major", "other", "other", 0.0, 0.0),
    ("C major", "Eb major", "other", "other", 0.0, 0.0),
    # neighbours across modes are not fifths: the relative of the dominant, etc.
    ("C major", "E minor", "other", "other", 0.0, 0.0),
    ("C major", "G minor", "other", "other", 0.0, 0.0),
    ("A minor", "G major", "other", "other", 0.0, 0.0),
    ("A minor", "A major", "parallel", "parallel", 0.2, 0.2),
    # the relative is a fixed direction: C major's relative minor is A minor, not Eb minor
    ("C major", "Eb minor", "other", "other", 0.0, 0.0),
    ("A minor", "F# major", "other", "other", 0.0, 0.0),
]


@pytest.mark.parametrize("ref, est, rel, directed, desc, asc", HAND)
def test_hand_checked(ref, est, rel, directed, desc, asc):
    r, e = K(ref), K(est)
    assert metrics.relation(r, e) == rel
    assert metrics.relation(r, e, directed=True) == directed
    assert metrics.weighted_score(r, e) == desc
    assert metrics.weighted_score(r, e, descending_fifths=True) == desc
    assert metrics.weighted_score(r, e, descending_fifths=False) == asc
    # and mir_eval, with both spellings of the tonics, agrees with the hand-checked value
    for sharp in (False, True):
        assert mir_eval.key.weighted_score(mir_name(r, sharp=sharp), mir_name(e, sharp=sharp)) == asc
        assert mir_descending(mir_name(r, sharp=sharp), mir_name(e, sharp=sharp)) == desc


def test_every_key_has_two_fifths_one_relative_one_parallel():
    for r in range(keys.NUM_KEYS):
        rels = [metrics.relation(r, e, directed=True) for e in range(keys.NUM_KEYS)]
        assert rels.count("correct") == 1
        assert rels.count("fifth_up") == 1
        assert rels.count("fifth_down") == 1
        assert rels.count("relative") == 1
        assert rels.count("parallel") == 1
        assert rels.count("other") == 19
        assert rels.index("relative") == keys.relative(r)
        assert rels.index("parallel") == keys.parallel(r)


def test_fifths_are_mutual():
    for r in range(keys.NUM_KEYS):
        for e in range(keys.NUM_KEYS):
            up = metrics.relation(r, e, directed=True) == "fifth_up"
            assert up == (metrics.relation(e, r, directed=True) == "fifth_down")


@pytest.mark.parametrize("bad", [-1, 24, 3.0, "C major", True, None])
def test_relation_rejects_non_keys(bad):
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        metrics.relation(bad, 0)
    with pytest.raises(ValueError):
        metrics.relation(0, bad)


def test_weighted_score_no_key_matches_mir_eval_x():
    assert metrics.weighted_score(None, None) == 1.0 == mir_eval.key.weighted_score("X", "X")
    assert metrics.weighted_score(0, None) == 0.0 == mir_eval.key.weighted_score("C major", "X")
    assert metrics.weighted_score(None, 0) == 0.0 == mir_eval.key.weighted_score("X", "C major")
    with pytest.raises(ValueError, match="24"):
        metrics.weighted_score(24, 0)


# --- agreement with mir_eval -------------------------------------------------------


def _random_pairs(n: int = 500, seed: int = 2024):
    rng = np.random.default_rng(seed)
    refs = rng.integers(0, keys.NUM_KEYS, n)
    ests = rng.integers(0, keys.NUM_KEYS, n)
    sharps = rng.random(n) < 0.5
    return [(int(r), int(e), bool(s)) for r, e, s in zip(refs, ests, sharps)]


def test_ascending_matches_mir_eval_on_500_random_pairs():
    pairs = _random_pairs()
    seen = set()
    for r, e, sharp in pairs:
        expected = mir_eval.key.weighted_score(mir_name(r, sharp=sharp), mir_name(e, sharp=not sharp))
        assert metrics.weighted_score(r, e, descending_fifths=False) == expected, (keys.KEY_NAMES[r], keys.KEY_NAMES[e])
        seen.add(metrics.relation(r, e, directed=True))
    # the draw exercises every relation, including both fifth directions
    assert seen == {"correct", "fifth_up", "fifth_down", "relative", "parallel", "other"}


def test_ascending_matches_mir_eval_on_all_576_pairs():
    for r in range(keys.NUM_KEYS):
        for e in range(keys.NUM_KEYS):
            expected = mir_eval.key.weighted_score(keys.KEY_NAMES[r], keys.KEY_NAMES[e])
            assert metrics.weighted_score(r, e, descending_fifths=False) == expected


def test_descending_matches_swapped_mir_eval_on_500_random_pairs():
    for r, e, sharp in _random_pairs():
        expected = mir_descending(mir_name(r, sharp=sharp), mir_name(e, sharp=sharp))
        assert metrics.weighted_score(r, e, descending_fifths=True) == expected


@pytest.mark.skipif(not MIR_EVAL_HAS_DESCENDING, reason="this mir_eval has no allow_descending_fifths (0.8.x)")
def test_descending_matches_mir_eval_flag_on_500_random_pairs():
    for r, e, sharp in _random_pairs():
        for flag in (False, True):
            expected = mir_eval.key.weighted_score(
                mir_name(r, sharp=sharp), mir_name(e, sharp=sharp), allow_descending_fifths=flag
            )
            assert metrics.weighted_score(r, e, descending_fifths=flag) == expected


# --- evaluate ----------------------------------------------------------------------

PAIRS = [
    (K("C major"), K("C major")),  # correct
    (K("C major"), K("G major")),  # fifth up
    (K("C major"), K("F major")),  # fifth down
    (K("A minor"), K("C major")),  # relative
    (K("C major"), K("C minor")),  # parallel
    (K("C major"), K("Db major")),  # other
    (K("A minor"), None),  # none: tonal reference, no estimate
    (None, None),  # keyless, found
    (None, K("E minor")),  # keyless, missed
    (None, None),  # keyless, found
    (K("D major"), None),  # none
]


def test_evaluate_known_answers():
    rep = metrics.evaluate(PAIRS)
    assert rep.n == 8
    assert rep.n_keyless == 3
    assert rep.accuracy == pytest.approx(1 / 8)
    assert rep.mirex == pytest.approx((1 + 0.5 + 0.5 + 0.3 + 0.2) / 8)
    assert rep.mirex_ascending == pytest.approx((1 + 0.5 + 0.3 + 0.2) / 8)
    assert rep.breakdown == {"correct": 1, "fifth": 2, "relative": 1, "parallel": 1, "other": 1, "none": 2}
    assert sum(rep.breakdown.values()) == rep.n
    assert rep.fifths_up == 1
    assert rep.relative_error_rate == pytest.approx(1 / 8)
    assert rep.keyless_recall == pytest.approx(2 / 3)  # 2 of 3 keyless references
    assert rep.keyless_precision == pytest.approx(2 / 4)  # 2 of 4 None estimates

    expected = np.zeros((25, 25), dtype=np.int64)
    for ref, est in PAIRS:
        expected[24 if ref is None else ref, 24 if est is None else est] += 1
    assert rep.confusion.shape == (25, 25)
    assert rep.confusion.dtype.kind == "i"
    np.testing.assert_array_equal(rep.confusion, expected)
    assert rep.confusion[24, 24] == 2
    assert rep.confusion[0, 7] == 1 and rep.confusion[0, 5] == 1
    assert rep.confusion[21, 0] == 1 and rep.confusion[24, 16] == 1
    assert rep.confusion.sum() == len(PAIRS)
    assert metrics.CONFUSION_LABELS[24] == "none" and metrics.CONFUSION_LABELS[21] == "A minor"


def test_evaluate_mirex_is_mean_of_weighted_score():
    rng = np.random.default_rng(5)
    pairs = [(int(r), int(e)) for r, e in rng.integers(0, 24, (300, 2))]
    rep = metrics.evaluate(pairs)
    for flag, value in ((True, rep.mirex), (False, rep.mirex_ascending)):
        assert value == pytest.approx(np.mean([metrics.weighted_score(r, e, descending_fifths=flag) for r, e in pairs]))
    assert rep.accuracy == pytest.approx(np.mean([r == e for r, e in pairs]))
    assert rep.confusion.sum() == 300 and rep.n == 300 and rep.n_keyless == 0


def test_evaluate_undefined_rates_are_nan_and_json_null():
    rep = metrics.evaluate([(0, 0), (0, 7)])
    assert math.isnan(rep.keyless_precision) and math.isnan(rep.keyless_recall)
    d = rep.as_dict()
    assert d["keyless_precision"] is None and d["keyless_recall"] is None
    json.dumps(d, allow_nan=False)

    empty = metrics.evaluate([])
    assert empty.n == 0 and empty.breakdown == dict.fromkeys(metrics.BREAKDOWN_FIELDS, 0)
    for value in (empty.accuracy, empty.mirex, empty.mirex_ascending, empty.relative_error_rate):
        assert math.isnan(value)
    json.dumps(empty.as_dict(), allow_nan=False)
    assert "n/a" in empty.text()

    keyless_only = metrics.evaluate([(None, None), (None, 3)])
    assert keyless_only.n == 0 and keyless_only.n_keyless == 2
    assert keyless_only.keyless_recall == 0.5 and keyless_only.keyless_precision == 1.0


def test_evaluate_accepts_numpy_ints_and_rejects_bad_items():
    rep = metrics.evaluate([(np.int64(0), np.int32(7))])
    assert rep.breakdown["fifth"] == 1
    with pytest.raises(ValueError, match=r"pairs\[1\]"):
        metrics.evaluate([(0, 0), (0, 24)])
    with pytest.raises(ValueError, match=r"pairs\[0\]"):
        metrics.evaluate([(0,)])
    with pytest.raises(ValueError, match="C major"):
        metrics.evaluate([("C major", 0)])


def test_as_dict_round_trips_through_json():
    rep = metrics.evaluate(PAIRS)
    d = json.loads(json.dumps(rep.as_dict(), allow_nan=False))
    assert d["n"] == 8 and d["n_keyless"] == 3
    assert d["accuracy"] == pytest.approx(rep.accuracy)
    assert d["mirex"] == pytest.approx(rep.mirex)
    assert d["mirex_ascending"] == pytest.approx(rep.mirex_ascending)
    assert d["breakdown"] == rep.breakdown
    assert d["fifths_up"] == 1
    assert d["relative_error_rate"] == pytest.approx(1 / 8)
    assert d["keyless_precision"] == pytest.approx(0.5)
    assert d["keyless_recall"] == pytest.approx(2 / 3)
    assert np.array_equal(np.array(d["confusion"]), rep.confusion)
    assert d["confusion_labels"] == list(metrics.CONFUSION_LABELS)


def test_text_is_a_compact_table():
    text = metrics.evaluate(PAIRS).text()
    lines = text.splitlines()
    assert len(lines) <= 15
    assert "8 tonal" in lines[0] and "3 keyless" in lines[0]
    assert "0.125" in text  # accuracy
    assert f"{2.5 / 8:5.3f}" in text  # MIREX, both fifths
    assert "0.250" in text  # MIREX, fifth up only
    assert "(1 up, 1 down)" in text
    for name in ("correct", "fifth", "relative", "parallel", "other", "no estimate"):
        assert any(line.strip().startswith(name) for line in lines), name
    assert "precision 0.500" in text and "recall 0.667" in text
    assert "top errors:" in text and "A minor → none" in text


# --- accuracy by confidence --------------------------------------------------------


def test_confidence_deciles_of_distinct_values():
    conf = np.arange(100) / 100
    correct = conf >= 0.5
    out = metrics.accuracy_by_confidence(correct, conf)
    assert len(out) == 10
    assert [b.n for b in out] == [10] * 10
    assert [b.accuracy for b in out] == [0.0] * 5 + [1.0] * 5
    assert out[0] == (0.0, 0.09, 10, 0.0)
    assert out[-1].lo == 0.9 and out[-1].hi == 0.99
    for a, b in zip(out, out[1:]):
        assert a.hi < b.lo


def test_confidence_bins_order_does_not_matter():
    rng = np.random.default_rng(1)
    conf = rng.random(203)
    correct = rng.random(203) < conf
    perm = rng.permutation(203)
    a = metrics.accuracy_by_confidence(correct, conf, bins=7)
    b = metrics.accuracy_by_confidence(correct[perm], conf[perm], bins=7)
    assert a == b
    assert len(a) == 7 and sum(x.n for x in a) == 203
    assert max(x.n for x in a) - min(x.n for x in a) <= 1
    assert sum(x.n * x.accuracy for x in a) == pytest.approx(correct.sum())


def test_confidence_ties_share_a_bin():
    conf = [0.2] * 6 + [0.5] * 3 + [0.9]
    correct = [0, 0, 0, 1, 1, 1, 1, 1, 0, 1]
    out = metrics.accuracy_by_confidence(correct, conf, bins=10)
    assert out == [(0.2, 0.2, 6, 0.5), (0.5, 0.5, 3, pytest.approx(2 / 3)), (0.9, 0.9, 1, 1.0)]


def test_confidence_few_values_and_edge_cases():
    assert metrics.accuracy_by_confidence([True] * 5, [0.7] * 5) == [(0.7, 0.7, 5, 1.0)]
    assert metrics.accuracy_by_confidence([True, False], [0.0, 10.0]) == [(0.0, 0.0, 1, 1.0), (10.0, 10.0, 1, 0.0)]
    assert metrics.accuracy_by_confidence([], []) == []
    assert metrics.accuracy_by_confidence([1, 0, 1], [3, 1, 2], bins=1) == [(1.0, 3.0, 3, pytest.approx(2 / 3))]


@pytest.mark.parametrize(
    "correct, conf, bins, match",
    [
        ([True], [0.1, 0.2], 10, "one length"),
        ([True], [float("nan")], 10, "finite"),
        ([True], [0.5], 0, "bins=0"),
        ([[True]], [[0.5]], 10, "1-D"),
    ],
)
def test_confidence_rejects_bad_input(correct, conf, bins, match):
    with pytest.raises(ValueError, match=match):
        metrics.accuracy_by_confidence(correct, conf, bins=bins)

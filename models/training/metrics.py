"""Key-estimation metrics: MIREX weighted score, error breakdown, keyless detection; and tempo accuracy.

A key is a key index ``0..23`` (see :mod:`sampledex.models.keys`) or ``None`` for
"no key" (drums, noise). The relation of an estimate to a reference is one of

========== ====================================================== ======
relation   estimate, relative to the reference                    weight
========== ====================================================== ======
correct    same tonic, same mode                                  1.0
fifth      same mode, tonic a perfect fifth above (or below)      0.5
relative   other mode, same key signature (C major / A minor)     0.3
parallel   other mode, same tonic (C major / C minor)             0.2
other      anything else                                          0.0
========== ====================================================== ======

The fifth is the same interval in both modes: A minor's fifths are E minor
(above) and D minor (below), exactly as ``mir_eval.key`` defines them (tonics
7 semitones apart, same mode; no credit for mixed-mode neighbours such as
C major / E minor).

Two weighted scores are reported. MIREX (2017 onwards) credits a fifth in either
direction; ``mir_eval.key.weighted_score`` 0.8.x credits only the fifth *above*
the reference (newer mir_eval takes ``allow_descending_fifths``, default False).
``weighted_score(..., descending_fifths=False)`` reproduces mir_eval 0.8 for all
576 pairs of keys.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from sampledex.models import keys

#: a key index 0..23, or None for "no key"
Key = int | None

#: the relations :func:`relation` returns, best first
RELATIONS: tuple[str, ...] = ("correct", "fifth", "relative", "parallel", "other")

#: MIREX weight of each relation
MIREX_WEIGHTS: dict[str, float] = {
    "correct": 1.0,
    "fifth": 0.5,
    "relative": 0.3,
    "parallel": 0.2,
    "other": 0.0,
}

#: row / column of "no key" in :attr:`KeyReport.confusion`
NO_KEY = keys.NO_KEY

#: labels of the rows and columns of :attr:`KeyReport.confusion`
CONFUSION_LABELS: tuple[str, ...] = keys.KEY_NAMES + ("none",)

#: the fields of :attr:`KeyReport.breakdown`: the relations plus "none" (tonal reference, no estimate)
BREAKDOWN_FIELDS: tuple[str, ...] = RELATIONS + ("none",)


def _check_index(value: Any, name: str) -> int:
    """``value`` as a key index, or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < keys.NUM_KEYS:
        raise ValueError(f"{name}={value!r} is not a key index 0..{keys.NUM_KEYS - 1}")
    return int(value)


def _check_key(value: Any, name: str) -> Key:
    """``value`` as a key index or None, or a ValueError naming it."""
    return None if value is None else _check_index(value, name)


def relation(reference: int, estimate: int, *, directed: bool = False) -> str:
    """How an estimated key relates to the reference key.

    Parameters
    ----------
    reference : int
        Reference key index ``0..23``.
    estimate : int
        Estimated key index ``0..23``.
    directed : bool
        If True, a fifth is reported as ``'fifth_up'`` (estimate tonic a perfect
        fifth above the reference tonic, i.e. 7 semitones up) or ``'fifth_down'``
        (a fifth below, 5 semitones up) instead of ``'fifth'``.

    Returns
    -------
    str
        One of :data:`RELATIONS` (``'correct'``, ``'fifth'``, ``'relative'``,
        ``'parallel'``, ``'other'``), with ``'fifth'`` split as above when
        ``directed``.

    Raises
    ------
    ValueError
        if either argument is not a key index.

    Examples
    --------
    >>> relation(0, 7), relation(0, 5, directed=True), relation(0, 21)
    ('fifth', 'fifth_down', 'relative')
    """
    reference = _check_index(reference, "reference")
    estimate = _check_index(estimate, "estimate")
    if estimate == reference:
        return "correct"
    if keys.is_minor(estimate) == keys.is_minor(reference):
        step = (keys.tonic_pc(estimate) - keys.tonic_pc(reference)) % 12
        if step == 7:
            return "fifth_up" if directed else "fifth"
        if step == 5:
            return "fifth_down" if directed else "fifth"
        return "other"
    if estimate == keys.relative(reference):
        return "relative"
    if estimate == keys.parallel(reference):
        return "parallel"
    return "other"


def weighted_score(reference: Key, estimate: Key, *, descending_fifths: bool = True) -> float:
    """MIREX weighted key score of one estimate.

    Parameters
    ----------
    reference : int or None
        Reference key index ``0..23``, or None for no key.
    estimate : int or None
        Estimated key index ``0..23``, or None for no key.
    descending_fifths : bool
        If True (MIREX 2017 onwards), a fifth below the reference scores 0.5 like
        a fifth above. If False, only the fifth above counts, as in
        ``mir_eval.key.weighted_score`` 0.8 (and newer mir_eval with
        ``allow_descending_fifths=False``).

    Returns
    -------
    float
        1.0 correct, 0.5 fifth, 0.3 relative, 0.2 parallel, 0.0 otherwise. As in
        mir_eval (where no key is ``'X'``), two Nones score 1.0 and a None
        against a key scores 0.0.

    Raises
    ------
    ValueError
        if either argument is neither a key index nor None.
    """
    reference = _check_key(reference, "reference")
    estimate = _check_key(estimate, "estimate")
    if reference is None or estimate is None:
        return 1.0 if reference == estimate else 0.0
    rel = relation(reference, estimate, directed=True)
    if rel == "fifth_down" and not descending_fifths:
        return 0.0
    return MIREX_WEIGHTS["fifth" if rel.startswith("fifth") else rel]


def _ratio(num: int, den: int) -> float:
    return num / den if den else math.nan


@dataclass(frozen=True)
class KeyReport:
    """Key-estimation results over a set of (reference, estimate) pairs.

    Attributes
    ----------
    n : int
        Number of tonal references (reference not None); the denominator of
        ``accuracy``, ``mirex``, ``mirex_ascending`` and ``relative_error_rate``.
    n_keyless : int
        Number of keyless references (reference None).
    accuracy : float
        Share of tonal references estimated exactly; a None estimate is wrong.
        NaN when ``n == 0``.
    mirex : float
        Mean MIREX weighted score over tonal references, fifths in both
        directions (MIREX 2017 onwards). NaN when ``n == 0``.
    mirex_ascending : float
        The same, crediting only the fifth above the reference (mir_eval 0.8).
    breakdown : dict[str, int]
        Counts over tonal references of each relation in :data:`RELATIONS` and
        ``'none'`` (no estimate); they sum to ``n``.
    fifths_up : int
        How many of the ``breakdown['fifth']`` are a fifth above the reference.
    relative_error_rate : float
        ``breakdown['relative'] / n``; NaN when ``n == 0``.
    keyless_precision : float
        Share of None estimates whose reference is keyless (positive class
        "no key"); NaN when nothing was estimated None.
    keyless_recall : float
        Share of keyless references estimated None; NaN when there are none.
    confusion : np.ndarray [shape=(25, 25), dtype=int64]
        Counts; rows are references, columns estimates, index ``0..23`` a key
        and 24 (:data:`NO_KEY`) no key. Labels in :data:`CONFUSION_LABELS`.
    """

    n: int
    n_keyless: int
    accuracy: float
    mirex: float
    mirex_ascending: float
    breakdown: dict[str, int]
    fifths_up: int
    relative_error_rate: float
    keyless_precision: float
    keyless_recall: float
    confusion: np.ndarray = field(repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON types: NaN becomes None, the confusion nested lists.

        Returns
        -------
        dict
            Every field, plus ``weighting`` (which fifths each score credits) and
            ``confusion_labels``; ``json.dumps(..., allow_nan=False)`` accepts it.
        """

        def num(x: float) -> float | None:
            return None if math.isnan(x) else float(x)

        return {
            "n": self.n,
            "n_keyless": self.n_keyless,
            "accuracy": num(self.accuracy),
            "mirex": num(self.mirex),
            "mirex_ascending": num(self.mirex_ascending),
            "weighting": {
                "mirex": "MIREX 2017+: fifths above and below the reference score 0.5",
                "mirex_ascending": "mir_eval 0.8 weighted_score: only the fifth above scores 0.5",
            },
            "breakdown": {k: int(v) for k, v in self.breakdown.items()},
            "fifths_up": self.fifths_up,
            "relative_error_rate": num(self.relative_error_rate),
            "keyless_precision": num(self.keyless_precision),
            "keyless_recall": num(self.keyless_recall),
            "confusion": self.confusion.tolist(),
            "confusion_labels": list(CONFUSION_LABELS),
        }

    def text(self, *, top_confusions: int = 5) -> str:
        """A compact human-readable table of the report.

        Parameters
        ----------
        top_confusions : int
            How many of the most frequent errors (reference → estimate) to list.

        Returns
        -------
        str
            Several lines, no trailing newline.
        """

        def fmt(x: float) -> str:
            return "  n/a" if math.isnan(x) else f"{x:5.3f}"

        lines = [
            f"key evaluation: {self.n} tonal reference(s), {self.n_keyless} keyless",
            f"  accuracy                      {fmt(self.accuracy)}",
            f"  MIREX weighted (fifths both)  {fmt(self.mirex)}",
            f"  MIREX weighted (fifth up)     {fmt(self.mirex_ascending)}   [mir_eval 0.8]",
            "  relation     count  share",
        ]
        for name in BREAKDOWN_FIELDS:
            count = self.breakdown[name]
            extra = ""
            if name == "fifth" and count:
                extra = f"   ({self.fifths_up} up, {count - self.fifths_up} down)"
            label = "no estimate" if name == "none" else name
            lines.append(f"  {label:<11} {count:6d}  {fmt(_ratio(count, self.n))}{extra}")
        lines.append(f"  keyless (no key)  precision {fmt(self.keyless_precision)}  recall {fmt(self.keyless_recall)}")
        off = self.confusion.copy()
        np.fill_diagonal(off, 0)
        if top_confusions > 0 and off.any():
            flat = np.argsort(off, axis=None, kind="stable")[::-1][:top_confusions]
            pairs = [
                f"{CONFUSION_LABELS[r]} → {CONFUSION_LABELS[c]} ×{off[r, c]}"
                for r, c in zip(*np.unravel_index(flat, off.shape))
                if off[r, c] > 0
            ]
            lines.append("  top errors: " + "; ".join(pairs))
        return "\n".join(lines)


def evaluate(pairs: Iterable[tuple[Key, Key]]) -> KeyReport:
    """Evaluate key estimates against references.

    Parameters
    ----------
    pairs : iterable of (int or None, int or None)
        ``(reference, estimate)`` per item; key indices ``0..23`` or None for no key.

    Returns
    -------
    KeyReport
        Scores over the tonal references, the error breakdown, keyless
        precision/recall and the 25×25 confusion matrix. See :class:`KeyReport`.

    Raises
    ------
    ValueError
        if an item is not a pair of key indices or None; the message names it.
    """
    confusion = np.zeros((keys.NUM_KEYS + 1, keys.NUM_KEYS + 1), dtype=np.int64)
    breakdown = dict.fromkeys(BREAKDOWN_FIELDS, 0)
    fifths_up = 0
    mirex = 0.0
    mirex_ascending = 0.0
    for i, pair in enumerate(pairs):
        try:
            reference, estimate = pair
        except (TypeError, ValueError):
            raise ValueError(f"pairs[{i}]={pair!r} is not a (reference, estimate) pair") from None
        reference = _check_key(reference, f"pairs[{i}] reference")
        estimate = _check_key(estimate, f"pairs[{i}] estimate")
        row = NO_KEY if reference is None else reference
        col = NO_KEY if estimate is None else estimate
        confusion[row, col] += 1
        if reference is None:
            continue
        if estimate is None:
            breakdown["none"] += 1
            continue
        rel = relation(reference, estimate, directed=True)
        if rel.startswith("fifth"):
            breakdown["fifth"] += 1
            fifths_up += rel == "fifth_up"
        else:
            breakdown[rel] += 1
        mirex += weighted_score(reference, estimate, descending_fifths=True)
        mirex_ascending += weighted_score(reference, estimate, descending_fifths=False)

    n = int(confusion[:NO_KEY].sum())
    n_keyless = int(confusion[NO_KEY].sum())
    keyless_hits = int(confusion[NO_KEY, NO_KEY])
    return KeyReport(
        n=n,
        n_keyless=n_keyless,
        accuracy=_ratio(breakdown["correct"], n),
        mirex=mirex / n if n else math.nan,
        mirex_ascending=mirex_ascending / n if n else math.nan,
        breakdown=breakdown,
        fifths_up=fifths_up,
        relative_error_rate=_ratio(breakdown["relative"], n),
        keyless_precision=_ratio(keyless_hits, int(confusion[:, NO_KEY].sum())),
        keyless_recall=_ratio(keyless_hits, n_keyless),
        confusion=confusion,
    )


class ConfidenceBin(NamedTuple):
    """One bin of :func:`accuracy_by_confidence`."""

    #: smallest confidence in the bin
    lo: float
    #: largest confidence in the bin
    hi: float
    #: number of items in the bin
    n: int
    #: share of the bin's items that are correct
    accuracy: float


def accuracy_by_confidence(
    correct: Sequence[bool] | np.ndarray,
    confidence: Sequence[float] | np.ndarray,
    bins: int = 10,
) -> list[ConfidenceBin]:
    """Accuracy per confidence quantile bin (deciles by default).

    Items are sorted by confidence and cut into ``bins`` groups of (nearly) equal
    size. Items with equal confidence always share a bin: each cut moves to the
    nearer edge of the run of ties it falls in, and cuts that coincide merge.
    So ties or few distinct values give fewer, larger bins, never empty ones.

    Parameters
    ----------
    correct : array-like [shape=(n,), dtype=bool]
        Whether each estimate is correct.
    confidence : array-like [shape=(n,), dtype=float]
        Each estimate's confidence, any finite scale.
    bins : int
        Number of bins wanted, at least 1.

    Returns
    -------
    list of ConfidenceBin
        ``(lo, hi, n, accuracy)`` per non-empty bin, by ascending confidence;
        ``lo``/``hi`` are the smallest and largest confidence in the bin.
        Empty input gives an empty list.

    Raises
    ------
    ValueError
        if the arrays are not 1-D of one length, a confidence is not finite, or
        ``bins < 1``.
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins={bins!r} must be a positive integer")
    ok = np.asarray(correct, dtype=bool)
    conf = np.asarray(confidence, dtype=np.float64)
    if ok.ndim != 1 or conf.ndim != 1 or ok.shape != conf.shape:
        raise ValueError(f"correct (shape {ok.shape}) and confidence (shape {conf.shape}) must be 1-D of one length")
    if not np.isfinite(conf).all():
        bad = conf[~np.isfinite(conf)][0]
        raise ValueError(f"confidence must be finite; found {bad!r}")
    n = conf.size
    if n == 0:
        return []
    order = np.argsort(conf, kind="stable")
    conf, ok = conf[order], ok[order]

    cuts = set()
    for b in np.round(np.arange(1, bins) * n / bins).astype(int):
        if not 0 < b < n:
            continue
        left = int(np.searchsorted(conf, conf[b], side="left"))
        right = int(np.searchsorted(conf, conf[b], side="right"))
        options = [c for c in (left, right) if 0 < c < n]
        if options:
            cuts.add(min(options, key=lambda c: abs(c - b)))
    edges = [0, *sorted(cuts), n]
    return [
        ConfidenceBin(float(conf[a]), float(conf[z - 1]), z - a, float(ok[a:z].mean()))
        for a, z in zip(edges[:-1], edges[1:])
    ]


#: tempo ratios Acc2 forgives: the metrical-level errors (half, double, a third, three times)
TEMPO_LEVELS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)


def tempo_hits(estimate: float | None, truth: float, *, tolerance: float = 0.04) -> tuple[bool, bool]:
    """(Acc1, Acc2) of one tempo estimate in BPM: within ``tolerance`` (relative) of ``truth``, and of
    ``truth`` times one of :data:`TEMPO_LEVELS`. No estimate (None or NaN) is neither."""
    if estimate is None or math.isnan(estimate):
        return False, False
    return (
        abs(estimate / truth - 1.0) <= tolerance,
        any(abs(estimate / (truth * f) - 1.0) <= tolerance for f in TEMPO_LEVELS),
    )

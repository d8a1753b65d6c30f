"""Tempo of a loop: onset strength ──► periodicity ──► candidates ──► metrical level ──► bar-exact length.

1. **Periodicity.** The circular autocorrelation of the onset strength (a loop is circular: its end runs
   into its start) is combed over a tempo grid: a beat period ``P`` scores the mean correlation at
   ``P, 2P, 3P, 4P`` (:func:`comb_salience`).
2. **Candidates.** The three strongest comb peaks and their relatives (× 1/4 … 4, × 1/3, 2/3, 3/2, 3),
   each made precise from a late autocorrelation peak: the autocorrelation says how fast the music
   pulses, not which pulse a producer calls the beat (:func:`candidates`).
3. **Metrical level.** Each candidate is described by what makes a pulse the beat
   (:func:`level_features`): the periodicity at it, at half and at twice it; how many onsets a beat
   holds; where it lies against the tempi producers write;
   whether the file's length is a whole number of bars at it; whether the harmony changes on its bar
   lines (:func:`harmony_changes`); and the onset pattern of one of its bars in the low, middle and
   high bands (:func:`bar_pattern`) — kick on one, snare on the backbeats, hats on the eighths mark the
   beat; a snare on every other "beat" marks a pulse twice too fast, one on every "and" a pulse twice
   too slow. A small scorer (:func:`level_scores`: a linear term plus 32 tanh units, weights in
   ``tempolevel.npz``, trained as a softmax over each file's candidates on development loops rendered
   with the training soundfonts and numpy synthesis — never on the benchmark) picks the beat; the
   softmax of its scores (at a temperature fitted with the weights, so that it matches accuracy on
   validation loops) is the confidence.
4. **Bar-exact length.** Pack loops are cut exactly: ``n`` bars of 4/4 at ``T`` BPM last ``n · 240 / T``
   seconds. Whether the length is a whole number of bars at a candidate, and how nearly (against the
   periodicity's precision, :func:`bar_tolerance`), is evidence the scorer weighs — a tempo at which
   the loop would end mid-bar is rarely its tempo, but a short loop fits some tempo by chance, so the
   fit does not rule the others out — and when the chosen tempo fits, it is taken from the length,
   which is exact. Files of :data:`EXCERPT_SECONDS` or more are taken for tracks or excerpts, whose
   length says nothing.

Written here rather than taken from ``librosa.feature.tempo`` (a log-normal prior over one
autocorrelation peak): librosa is not a runtime dependency, and it knows nothing of loops — neither the
circular wrap, nor the bar-exact length, nor which metrical level a producer writes.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .onsets import Onsets, peaks

#: tempi searched (BPM)
MIN_BPM = 50.0
MAX_BPM = 215.0
#: tempi producers write; outside this a candidate needs stronger evidence (BPM)
PREFERRED_BPM = (70.0, 180.0)
#: tempo grid step (fraction): about 0.5 % between neighbouring tempi
GRID_STEP = 0.005
#: multiples of the beat period the comb sums
COMB_HARMONICS = 4
#: relatives of the strongest periodicity considered as the beat
RELATIVES = (0.25, 1 / 3, 0.5, 2 / 3, 1.0, 1.5, 2.0, 3.0, 4.0)
#: whole bar counts a loop is cut to (4/4)
BAR_COUNTS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
BEATS_PER_BAR = 4
#: shortest signal given a tempo (s)
MIN_SECONDS = 1.0
#: files at least this long are taken for tracks or excerpts of them, not loops cut to whole bars (s)
EXCERPT_SECONDS = 30.0
#: longest tail after a loop's last bar that still counts as a loop with a tail (s)
MAX_TAIL_SECONDS = 2.5
#: steps of the bar pattern: sixteenths of a 4/4 bar
PATTERN_STEPS = 16
#: the bar's sixteenth steps by metrical position: the downbeat, the third beat, the backbeats (2 and
#: 4), the eighth-note off-beats and the sixteenths between
METRICAL_POSITIONS = {
    "one": (0,),
    "three": (8,),
    "backbeat": (4, 12),
    "eighths": (2, 6, 10, 14),
    "sixteenths": (1, 3, 5, 7, 9, 11, 13, 15),
}
BANDS = ("low", "mid", "high")
#: the columns of :func:`level_features`
FEATURES = (
    (
        "salience",
        "salience_half",
        "salience_double",
        "onsets_per_beat",
        "octave_sq",
        "below_range",
        "above_range",
        "bars_pow2",
        "bars_other",
        "bar_mismatch",
        "harmony_one",
        "harmony_three",
    )
    + tuple(f"{position}_{band}" for position in METRICAL_POSITIONS for band in BANDS)
    + tuple(f"{band}_{step}" for band in BANDS for step in range(PATTERN_STEPS))
)
#: the metrical-level scorer's weights, next to this module
LEVEL_WEIGHTS = Path(__file__).with_name("tempolevel.npz")


@dataclass(frozen=True)
class TempoEstimate:
    """A tempo decision with the evidence behind it.

    ``bpm`` in beats per minute (None: no periodicity); ``confidence`` in [0, 1]: the probability the
    scorer gives the chosen metrical level; ``periodicity``: the comb's normalised autocorrelation at
    ``bpm`` (≤ 1; high for a steady pulse); ``bars``: the whole number of 4/4 bars the length holds at
    ``bpm``, or None when the length is not bar-exact.
    """

    bpm: float | None
    confidence: float
    periodicity: float = 0.0
    bars: int | None = None


NO_TEMPO = TempoEstimate(None, 0.0)


def autocorrelation(strength: np.ndarray) -> np.ndarray:
    """Circular autocorrelation of the mean-removed onset strength, 1 at lag 0.

    Parameters
    ----------
    strength : np.ndarray [shape=(frames,)]

    Returns
    -------
    np.ndarray [shape=(frames,), dtype=float64]
        lag ``k`` frames at index ``k``; lags past ``frames / 2`` mirror the shorter ones.
    """
    o = np.asarray(strength, dtype=np.float64)
    o = o - o.mean()
    r = np.fft.irfft(np.abs(np.fft.rfft(o)) ** 2, n=o.size)
    return r / r[0] if r[0] > 0 else np.zeros_like(r)


def tempo_grid(*, min_bpm: float = MIN_BPM, max_bpm: float = MAX_BPM, step: float = GRID_STEP) -> np.ndarray:
    """Geometrically spaced tempi (BPM) from ``min_bpm`` to ``max_bpm``."""
    count = int(np.ceil(np.log(max_bpm / min_bpm) / np.log1p(step))) + 1
    return min_bpm * (1.0 + step) ** np.arange(count)


def comb_salience(r: np.ndarray, bpm: np.ndarray, *, fps: float, harmonics: int = COMB_HARMONICS) -> np.ndarray:
    """Mean autocorrelation at the beat period and its multiples, for each tempo.

    Only lags up to half the frame count count (beyond, a circular autocorrelation repeats itself); a
    tempo whose beat period exceeds that scores 0.

    Parameters
    ----------
    r : np.ndarray [shape=(frames,)]
        :func:`autocorrelation`.
    bpm : np.ndarray [shape=(tempi,)]
    fps : float
        frames per second of the onset strength.

    Returns
    -------
    np.ndarray [shape=(tempi,), dtype=float64]
    """
    half = r.size / 2.0
    period = 60.0 * fps / np.asarray(bpm, dtype=np.float64)
    total = np.zeros(period.shape)
    count = np.zeros(period.shape)
    lags = np.arange(r.size)
    for k in range(1, harmonics + 1):
        lag = k * period
        valid = lag <= half
        total += np.where(valid, np.interp(np.minimum(lag, half), lags, r), 0.0)
        count += valid
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


def refine_period(r: np.ndarray, period: float, *, harmonics: int = 8) -> float:
    """A beat period (frames) made precise from the latest autocorrelation peak near a multiple of it.

    The peak near ``k · period`` (the largest ``k`` up to ``harmonics`` whose lag fits in half the signal)
    is located to a fraction of a frame by a parabola through its three samples; dividing by ``k``
    makes the error ``k`` times smaller.
    """
    half = r.size / 2.0
    k = max(1, min(harmonics, int(half // period)))
    if k * period > half:
        return period
    centre = k * period
    width = max(1, int(round(0.06 * centre)))
    lo, hi = max(1, math.floor(centre) - width), min(int(half), math.ceil(centre) + width)
    if hi - lo < 2:
        return period
    peak = lo + int(np.argmax(r[lo : hi + 1]))
    if peak <= lo or peak >= hi:
        return period
    a, b, c = r[peak - 1], r[peak], r[peak + 1]
    denominator = a - 2 * b + c
    offset = 0.5 * (a - c) / denominator if denominator < 0 else 0.0
    return (peak + min(max(float(offset), -0.5), 0.5)) / k


def candidates(r: np.ndarray, *, fps: float, num_peaks: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Tempo candidates: the strongest comb peaks and their relatives, each made precise.

    Returns
    -------
    (bpm, salience) : np.ndarray [shape=(candidates,)] each
        candidate tempi (BPM, within [MIN_BPM, MAX_BPM], no two within 2 % of each other) and the
        comb salience at each.
    """
    grid = tempo_grid()
    sal = comb_salience(r, grid, fps=fps)
    inner = sal[1:-1]
    local = np.flatnonzero((inner >= sal[:-2]) & (inner > sal[2:])) + 1
    if local.size == 0:
        local = np.array([int(np.argmax(sal))])
    top = local[np.argsort(-sal[local], kind="stable")[:num_peaks]]
    found: list[float] = []
    for i in top:
        for relative in RELATIVES:
            bpm = grid[i] * relative
            if not MIN_BPM <= bpm <= MAX_BPM:
                continue
            bpm = 60.0 * fps / refine_period(r, 60.0 * fps / bpm)
            if MIN_BPM <= bpm <= MAX_BPM and all(abs(bpm / f - 1.0) > 0.02 for f in found):
                found.append(bpm)
    bpms = np.array(found)
    return bpms, comb_salience(r, bpms, fps=fps)


def fold(strength: np.ndarray, period: float, bins: int) -> np.ndarray:
    """Mean onset strength at each phase of a cycle of ``period`` frames, in ``bins`` phase bins.

    Returns
    -------
    np.ndarray [shape=(bins,), dtype=float64]
        bin ``m`` holds the frames whose phase in the cycle lies in ``[m, m + 1) / bins``.
    """
    phase = np.floor((np.arange(strength.size) / period % 1.0) * bins).astype(np.int64) % bins
    total = np.bincount(phase, weights=strength, minlength=bins)
    count = np.bincount(phase, minlength=bins)
    return total / np.maximum(count, 1)


def bar_fit(bpm: float, duration_s: float) -> tuple[int | None, float]:
    """The whole bar count of :data:`BAR_COUNTS` nearest to the length at ``bpm``, and its tempo mismatch.

    Returns
    -------
    (bars, mismatch)
        ``bars`` (None if none is within a factor 1.5); ``mismatch`` is
        ``|bars · 240 / duration − bpm| / bpm``.
    """
    beats = bpm * duration_s / 60.0
    best, best_err = None, np.inf
    for n in BAR_COUNTS:
        err = abs(n * BEATS_PER_BAR / beats - 1.0)
        if err < best_err:
            best, best_err = n, err
    if best is None or best_err > 0.5:
        return None, float(best_err)
    return best, float(best_err)


def _folded_bar(groups: np.ndarray, period: float) -> np.ndarray:
    """Band groups folded over a bar of four beats of ``period`` frames, 3 bins per sixteenth, each bin
    the largest of itself and its neighbours (so swing and loose timing stay near their step).

    Returns
    -------
    np.ndarray [shape=(groups, 3 * PATTERN_STEPS)]
    """
    fine = 3 * PATTERN_STEPS
    count = groups.shape[0]
    phase = np.floor((np.arange(groups.shape[1]) / (BEATS_PER_BAR * period) % 1.0) * fine).astype(np.int64) % fine
    index = (phase[None, :] + fine * np.arange(count)[:, None]).ravel()
    total = np.bincount(index, weights=groups.ravel(), minlength=count * fine).reshape(count, fine)
    folded = total / np.maximum(np.bincount(phase, minlength=fine), 1)
    wrapped = np.concatenate([folded[:, -1:], folded, folded[:, :1]], axis=1)
    return np.maximum(np.maximum(wrapped[:, :-2], wrapped[:, 1:-1]), wrapped[:, 2:])


def bar_phase(groups: np.ndarray, period: float, folded: np.ndarray | None = None) -> float:
    """Where a bar starts (frames into a bar of four beats of ``period`` frames) in a file that need not
    start on a downbeat: the beats are the phase with the most kick and snare, the downbeat the beat
    with the most kick.

    Parameters
    ----------
    groups : np.ndarray [shape=(3, frames)]
        onset strength of the low, middle and high bands (:attr:`Onsets.groups`).
    folded : np.ndarray, optional
        ``_folded_bar(groups, period)`` when the caller has it.
    """
    if folded is None:
        folded = _folded_bar(groups, period)
    fine = folded.shape[1]
    per_beat = fine // BEATS_PER_BAR
    beat = int(np.argmax((folded[0] + folded[1]).reshape(BEATS_PER_BAR, per_beat).sum(axis=0)))
    kick = folded[0, (beat + np.arange(BEATS_PER_BAR) * per_beat) % fine]
    return (beat + int(np.argmax(kick)) * per_beat) / fine * BEATS_PER_BAR * period


def bar_pattern(groups: np.ndarray, period: float, phase: float, folded: np.ndarray | None = None) -> np.ndarray:
    """The onset pattern of one bar of four beats of ``period`` frames, per band group.

    Parameters
    ----------
    groups : np.ndarray [shape=(3, frames)]
        onset strength of the low, middle and high bands (:attr:`Onsets.groups`).
    period : float
        beat period (frames).
    phase : float
        where bars start (frames): 0 for a loop, which starts on its downbeat (with a tail or a fade as
        well), :func:`bar_phase` for an excerpt.
    folded : np.ndarray, optional
        ``_folded_bar(groups, period)`` when the caller has it.

    Returns
    -------
    np.ndarray [shape=(3, PATTERN_STEPS), dtype=float64]
        mean onset strength per sixteenth step, each group scaled to a maximum of 1.
    """
    if folded is None:
        folded = _folded_bar(groups, period)
    fine = folded.shape[1]
    shift = int(round(phase / (BEATS_PER_BAR * period) * fine)) % fine
    steps = folded[:, (shift + np.arange(0, fine, 3)) % fine]
    return steps / np.maximum(steps.max(axis=1, keepdims=True), 1e-12)


def chroma_cumsum(chroma: np.ndarray) -> np.ndarray:
    """The running sum of the chroma over the file played twice, from 0 [shape=(12, 2 * frames + 1)]:
    :func:`harmony_changes` reads any beat's chroma from it, wrapped round the end as a loop is."""
    doubled = np.concatenate([chroma, chroma], axis=1).astype(np.float64)
    return np.concatenate([np.zeros((chroma.shape[0], 1)), np.cumsum(doubled, axis=1)], axis=1)


def harmony_changes(cumulative: np.ndarray, period: float, phase: float) -> tuple[float, float]:
    """How much the harmony changes into the first and into the third beat of a bar, at a beat of
    ``period`` frames, against the changes into beats two and four.

    The chroma is summed over each beat (bars start at frame ``phase``; the file is read as a circle, as
    a loop is played) and the cosine distance between consecutive beats is averaged by the position of
    the beat it leads into. Chords change on downbeats: at the right bar length the change into beat one
    stands out and the change into beat three does not; at half the tempo (bars twice too long) both do;
    at twice the tempo the change into beat one is diluted. Both are near zero without harmony (drums).

    Parameters
    ----------
    cumulative : np.ndarray [shape=(12, 2 * frames + 1)]
        :func:`chroma_cumsum` of :attr:`Onsets.chroma`.

    Returns
    -------
    (into_one, into_three) : float, float, each in [-1, 1]
    """
    frames = (cumulative.shape[1] - 1) // 2
    beats = int(np.floor(frames / period))
    if beats < BEATS_PER_BAR:
        return 0.0, 0.0
    edges = np.ceil(phase + np.arange(beats + 1) * period - 1e-9).astype(np.int64)
    sums = (cumulative[:, edges[1:]] - cumulative[:, edges[:-1]]).T  # beats × 12
    norms = np.sqrt(np.add.reduce(sums * sums, axis=1))  # np.linalg.norm's own sum, without its checks
    if np.count_nonzero(norms > 0) < beats:
        return 0.0, 0.0
    unit = sums / norms[:, None]
    following = np.concatenate([unit[1:], unit[:1]])
    distance = 1.0 - np.einsum("bc,bc->b", unit, following)  # beat k into beat k + 1
    into = np.arange(1, beats + 1) % BEATS_PER_BAR
    counts = np.bincount(into, minlength=BEATS_PER_BAR)
    mean = np.bincount(into, weights=distance, minlength=BEATS_PER_BAR) / np.maximum(counts, 1)
    reference = (mean[1] + mean[3]) / 2.0
    return float(mean[0] - reference), float(mean[2] - reference)


def level_features(onsets: Onsets, r: np.ndarray, bpm: np.ndarray, salience: np.ndarray) -> np.ndarray:
    """The evidence that each candidate is the beat, one row per candidate (columns :data:`FEATURES`).

    Periodicity (the comb's salience, relative to the best candidate's, and how much stronger or weaker
    the pulse is at half and at twice the tempo); how many onsets a beat holds (log2); where the tempo
    lies (its distance from 120 BPM in octaves, squared, and how far outside :data:`PREFERRED_BPM`, in
    octaves); whether the length is a whole number of bars at it (a power of two of them, or another
    count; a loop with a tail counts when its onsets end within the last bar, see :func:`tail_fit`) and
    how far from whole it is (in units of :func:`bar_tolerance`, at most 4; neither for an excerpt of
    :data:`EXCERPT_SECONDS` or more); where the harmony changes
    (:func:`harmony_changes`); and the bar's onset pattern per band group (:func:`bar_pattern`),
    averaged over each metrical position (:data:`METRICAL_POSITIONS`) and step by step. Bars are counted
    from the file's start, except in an excerpt (:func:`bar_phase`): a pack loop starts on its downbeat
    even when it is not bar-exact (a tail, a fade, a long reverb), and guessing the downbeat from the
    loudest kick moved the bar of loops whose first beat is not the kick's.

    Parameters
    ----------
    r : np.ndarray [shape=(frames,)]
        :func:`autocorrelation` of ``onsets.strength``.
    bpm, salience : np.ndarray [shape=(candidates,)]
        :func:`candidates`.

    Returns
    -------
    np.ndarray [shape=(candidates, len(FEATURES)), dtype=float64]
    """
    top = max(float(salience.max()), 1e-6) if salience.size else 1.0
    half, double = (comb_salience(r, np.asarray(bpm, dtype=np.float64) * f, fps=onsets.fps) for f in (0.5, 2.0))
    found = peaks(onsets.strength, fps=onsets.fps, threshold=0.25)
    last_onset = float(found[-1] / onsets.fps) if found.size else 0.0
    cumulative = chroma_cumsum(onsets.chroma) if onsets.chroma is not None else None
    excerpt = onsets.duration_s >= EXCERPT_SECONDS
    rows = []
    for t, s, s_half, s_double in zip(bpm, salience, half, double):
        bars, mismatch = bar_fit(t, onsets.duration_s)
        tolerance = bar_tolerance(t, onsets.duration_s)
        if excerpt:  # a whole track or an excerpt of one: its length says nothing of its bars
            bars, mismatch = None, 4.0 * tolerance
        exact = bars is not None and mismatch < tolerance
        if not exact and not excerpt:
            bars = tail_fit(t, onsets.duration_s, last_onset)
        octave = np.log2(t / 120.0)
        period = 60.0 * onsets.fps / t
        folded = _folded_bar(onsets.groups, period)
        # a loop starts on its downbeat, whatever its tail or fade; only an excerpt may start anywhere
        phase = bar_phase(onsets.groups, period, folded) if excerpt else 0.0
        pattern = bar_pattern(onsets.groups, period, phase, folded)
        harmony = harmony_changes(cumulative, period, phase) if cumulative is not None else (0.0, 0.0)
        beats = t * onsets.duration_s / 60.0
        rows.append(
            np.concatenate(
                [
                    [
                        max(float(s), 0.0) / top,
                        (float(s_half) - float(s)) / top,
                        (float(s_double) - float(s)) / top,
                        np.log2((1.0 + found.size) / max(beats, 1.0)),
                        octave**2,
                        max(0.0, np.log2(PREFERRED_BPM[0] / t)),
                        max(0.0, np.log2(t / PREFERRED_BPM[1])),
                        float(bars is not None and bars & (bars - 1) == 0),
                        float(bars is not None and bars & (bars - 1) != 0),
                        min(mismatch / tolerance, 4.0),
                        *harmony,
                    ],
                    (pattern @ _POSITION_MEANS).T.ravel(),
                    pattern.ravel(),
                ]
            )
        )
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(FEATURES))


#: averages the pattern's steps by metrical position: [shape=(PATTERN_STEPS, positions)]
_POSITION_MEANS = np.stack(
    [np.isin(np.arange(PATTERN_STEPS), steps) / len(steps) for steps in METRICAL_POSITIONS.values()], axis=1
)


def tail_fit(bpm: float, duration_s: float, last_onset_s: float) -> int | None:
    """A whole bar count for a loop exported with a tail: the bars end after its last onset and at
    most :data:`MAX_TAIL_SECONDS` before the file does (the largest such count of :data:`BAR_COUNTS`), or None.
    """
    bar_s = BEATS_PER_BAR * 60.0 / bpm
    fitting = [
        n for n in BAR_COUNTS if last_onset_s < n * bar_s <= duration_s and duration_s - n * bar_s <= MAX_TAIL_SECONDS
    ]
    return max(fitting) if fitting else None


def bar_tolerance(bpm: float, duration_s: float) -> float:
    """How far (relative) a tempo from the autocorrelation may be from a bar-exact one and still be it.

    The autocorrelation's tempo error shrinks with the number of beats it sees: about 3 % for one bar,
    under 0.5 % past 16 bars.
    """
    beats = bpm * duration_s / 60.0
    return min(max(0.12 / max(beats, 1.0), 0.004), 0.03)


@lru_cache(maxsize=1)
def _level_weights() -> dict[str, np.ndarray]:
    with np.load(LEVEL_WEIGHTS) as npz:
        weights = {name: npz[name].astype(np.float64) for name in npz.files if name != "features"}
        if tuple(npz["features"]) != FEATURES:
            raise ValueError(f"{LEVEL_WEIGHTS.name} was trained on other features than tempo.FEATURES")
    return weights


@lru_cache(maxsize=1)
def scorer_version() -> str:
    """A digest of the scorer's weights: part of ``analysis_version``, so that rows are analysed again when
    ``sampledex train-tempo`` refits the scorer on a user's own loops."""
    return "tempo-" + hashlib.sha1(LEVEL_WEIGHTS.read_bytes()).hexdigest()[:10]


def _confidence_temperature() -> float:
    """The softmax temperature that makes the confidence match accuracy on the scorer's validation loops."""
    return float(_level_weights()["temperature"])


def level_scores(features: np.ndarray, weights: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """How much each candidate looks like the beat: a linear term plus a layer of tanh units.

    Parameters
    ----------
    features : np.ndarray [shape=(candidates, len(FEATURES))]
        :func:`level_features`.
    weights : dict, optional
        the scorer's weights (``linear``, ``intercept``, ``hidden``, ``hidden_bias``, ``output``); the
        shipped ``tempolevel.npz`` by default (training passes the weights it is fitting).

    Returns
    -------
    np.ndarray [shape=(candidates,)]
        scores; their softmax over a file's candidates is the probability that each is the beat.
    """
    w = _level_weights() if weights is None else weights
    hidden = np.tanh(features @ w["hidden"].T + w["hidden_bias"])
    return features @ w["linear"] + w["intercept"][0] + hidden @ w["output"]


@dataclass(frozen=True)
class Candidates:
    """The tempi the metrical-level scorer chooses between, and the evidence for each.

    ``bpm``, ``salience`` [shape=(candidates,)]: tempi (BPM) and their comb salience; ``features``
    [shape=(candidates, len(FEATURES))]: :func:`level_features`.
    """

    bpm: np.ndarray
    salience: np.ndarray
    features: np.ndarray


def scored_candidates(onsets: Onsets) -> Candidates | None:
    """All candidates of a file with their features; None where :func:`estimate_tempo` gives no tempo.

    One function for inference and for training the scorer (``models/training/tempolevel.py``), so
    the scorer learns from exactly what it will be shown.
    """
    if onsets.duration_s < MIN_SECONDS or onsets.frames < 8 or float(onsets.strength.max()) <= 0:
        return None
    r = autocorrelation(onsets.strength)
    bpm, salience = candidates(r, fps=onsets.fps)
    if bpm.size == 0:
        return None
    return Candidates(bpm, salience, level_features(onsets, r, bpm, salience))


def estimate_tempo(onsets: Onsets) -> TempoEstimate:
    """The tempo a producer would write on a loop, with its confidence.

    Parameters
    ----------
    onsets : Onsets
        of the whole file (:func:`onsets.onset_strength`).

    Returns
    -------
    TempoEstimate
        :data:`NO_TEMPO` for a signal shorter than :data:`MIN_SECONDS` or without onsets.
    """
    found = scored_candidates(onsets)
    if found is None:
        return NO_TEMPO
    score = level_scores(found.features)
    best = int(np.argmax(score))
    probability = np.exp((score - score[best]) / _confidence_temperature())
    confidence = float(1.0 / probability.sum())
    tempo = float(found.bpm[best])
    bars, mismatch = bar_fit(tempo, onsets.duration_s)
    if bars is None or mismatch >= bar_tolerance(tempo, onsets.duration_s) or onsets.duration_s >= EXCERPT_SECONDS:
        bars = None
    else:
        tempo = bars * BEATS_PER_BAR * 60.0 / onsets.duration_s
    return TempoEstimate(round(tempo, 2), round(confidence, 3), float(max(found.salience[best], 0.0)), bars)

"""Loop or one-shot: a few facts about a file's time structure ──► a logistic score.

A loop is long enough to hold a bar, has several onsets spread over its whole length, pulses (its
onset strength is periodic), is often exactly a whole number of bars long, and ends at level, running
into its own start. A one-shot has one attack (a few for a flam or a strum), then decays or holds, and
ends quieter than it began — a ringing note, a pad, a riser or an impact alike. The facts are
:data:`FEATURES`; their weights (:data:`WEIGHTS`) were fitted by logistic regression on development
material (rendered with the training soundfonts and numpy synthesis, and recorded notes and hits of the
development libraries; never on the benchmark) by ``python -m sampledex.models.training.kindfit``.

Every fact is read from where the sound starts (:func:`sound`), not where the file does: a recorded note
cut from a session with a margin of silence before its attack is still one attack.

A file whose later attacks are all weak (:func:`plainly_one_shot`) is a one-shot before any tempo is
estimated. Known limit: a one-bar loop that holds a single chord under a soft melody looks like a
one-shot chord, and is usually called one.
"""

from __future__ import annotations

import numpy as np

from . import tempo
from .onsets import Onsets, peaks
from .tempo import TempoEstimate

LOOP = "loop"
ONE_SHOT = "one-shot"
#: files at least this long are loops (whole-track excerpts) unless plainly one note (:func:`plainly_one_shot`) or
#: one sound that dies away (:func:`rings_out`) (s)
ALWAYS_LOOP_SECONDS = tempo.EXCERPT_SECONDS
#: an onset counts when its strength is at least this share of the strongest in the file's :func:`body`
ONSET_THRESHOLD = 0.3
#: the end of the file whose level is measured (s)
END_SECONDS = 0.1
#: a frame is "at level" when within this many dB of the loudest
LEVEL_DB = -20.0
#: onset strength of a clear attack (a drum hit or a new note; the flux of a pad's wobble stays far below)
STRONG_ONSET = 12.0
#: attacks this soon after the start belong to the first one (s)
FIRST_ATTACK_SECONDS = 0.05
#: a file whose attacks after the first are all weaker than this is a one-shot (onset strength)
PLAIN_ATTACK = 4.0
#: ... counting only attacks within this many dB of the loudest frame (a beat is heard at level; a long note's
#: tail, tens of dB down, flickers with the recording's noise), after the attack's own stages (a loud low
#: piano note's hammer and string take 0.1–0.2 s to settle; the next beat of a one-bar loop comes later than
#: that) and before the end (where a note cut while it rings clicks) (dB, s)
BEAT_LEVEL_DB = -20.0
PLAIN_SKIP_SECONDS = 0.25
#: a held note's release: the attacks this long before the sound's last frame at level (s)
RELEASE_SECONDS = 0.15
#: a long file is one sound dying away when its loudest frame lies in this share of it from the start and its
#: last third lies this many dB below its first
RING_START = 0.02
RING_DB = 10.0
#: a file that opens on near-silence (frames this far below the loudest: a library's notes cut from a session
#: with a margin, an encoder's delay) starts where the sound does, if that is within this long of the file's start;
#: a longer quiet opening is part of the sound (a fade-in, a loop's opening rest) (dB, s)
LEAD_IN_DB = -40.0
LEAD_IN_SECONDS = 0.3

FEATURES = (
    "log2_seconds",
    "log2_onsets",
    "onset_spread",
    "periodicity",
    "bar_exact",
    "end_level",
    "at_level_share",
    "loudest_position",
    "level_change",
    "later_attack",
    "strong_onsets",
    "wrap_attack",
)
#: logistic-regression weights of :data:`FEATURES` and the intercept, printed by ``models/training/kindfit.py``
#: (3,400 development files: 1–16-bar loops with and without drums, half of them one bar, song excerpts, notes,
#: chord stabs, drum hits, tonal and keyless FX, pads, recorded notes and hits; the files no rule decides)
WEIGHTS: dict[str, float] = {
    "log2_seconds": -0.229,
    "log2_onsets": -0.045,
    "onset_spread": 1.539,
    "periodicity": 2.338,
    "bar_exact": 1.808,
    "end_level": 0.428,
    "at_level_share": 1.567,
    "loudest_position": -0.323,
    "level_change": -1.079,
    "later_attack": 3.242,
    "strong_onsets": -0.009,
    "wrap_attack": 0.462,
}
INTERCEPT = -14.16


def sound(onsets: Onsets) -> Onsets:
    """The file's onsets from the frame before its first within :data:`LEAD_IN_DB` of the loudest, where that
    lies within :data:`LEAD_IN_SECONDS` of the start; else the file's own. A note after 0.1 s of silence would
    otherwise have its attack counted as a later one — as strong as a beat, and the strongest by far — and
    its start, silence, read as a loop's seamless wrap (a violin's vibrato then did the rest: 14 of 88 recorded
    violin notes were called loops)."""
    at_level = np.flatnonzero(onsets.energy_db > LEAD_IN_DB)
    if not at_level.size or at_level[0] > LEAD_IN_SECONDS * onsets.fps:
        return onsets
    return onsets.since(int(at_level[0]) - 1)


def body(onsets: Onsets) -> np.ndarray:
    """The onset strength up to where the sound stops: without the file's last :data:`END_SECONDS` (a sound cut
    off while it sounds ends in a broadband click there, which is no attack; the frames past the end are
    padded), nor the last :data:`RELEASE_SECONDS` before its last frame at level (within :data:`BEAT_LEVEL_DB`
    of the loudest): a held note released, by a wind player's tongue or a sampler's note-off, clicks as it
    falls silent, and that is no beat either."""
    end = onsets.frames - int(round(END_SECONDS * onsets.fps))
    at_level = np.flatnonzero(onsets.energy_db > BEAT_LEVEL_DB)
    if at_level.size:
        end = min(end, int(at_level[-1]) + 1 - int(round(RELEASE_SECONDS * onsets.fps)))
    return onsets.strength[: max(1, end)]


def later_attack(onsets: Onsets) -> float:
    """The strongest onset after the first :data:`FIRST_ATTACK_SECONDS` and before the :func:`body` ends (0 when
    there is none)."""
    skip = int(round(FIRST_ATTACK_SECONDS * onsets.fps)) + 1
    strength = body(onsets)
    return float(strength[skip:].max()) if strength.size > skip else 0.0


def plainly_one_shot(onsets: Onsets) -> bool:
    """True when nothing after the attack (its first :data:`PLAIN_SKIP_SECONDS`) and before the last
    :data:`END_SECONDS` is strong enough to be a beat (:data:`PLAIN_ATTACK`) at level (within
    :data:`BEAT_LEVEL_DB` of the loudest frame): a one-shot whatever its tempo would be, so the tempo need
    not be estimated. Whatever the length, too: a piano's low notes ring for 30 s and more in a multisample
    library, and are still one note. Read from the :func:`sound`'s start."""
    onsets = sound(onsets)
    start = int(round(PLAIN_SKIP_SECONDS * onsets.fps)) + 1
    strength = body(onsets)
    at_level = onsets.energy_db[start : strength.size] > BEAT_LEVEL_DB
    return not bool(np.any(strength[start:][at_level] >= PLAIN_ATTACK))


def kind_features(onsets: Onsets, beat: TempoEstimate) -> np.ndarray:
    """The facts :func:`classify` weighs, in the order of :data:`FEATURES`.

    ``log2_seconds``: the length; ``log2_onsets``: log2(1 + onsets, counted in the :func:`body`, without
    the end's click); ``onset_spread``: the share of the file between its first and last onset;
    ``periodicity``: the tempo's comb salience (0–1); ``bar_exact``: 1 when the length is a whole number of
    bars at the tempo; ``end_level``: the level of
    the last :data:`END_SECONDS` against the loudest frame, in units of 60 dB (0 at level, −1 silent);
    ``at_level_share``: the share of frames within :data:`LEVEL_DB` of the loudest; ``loudest_position``:
    where the loudest frame lies (0 start, 1 end); ``level_change``: how far the mean level of the last
    third lies from that of the first, either way, in units of 60 dB (a decay or a riser; ~0 for a loop);
    ``later_attack``: log2(1 + :func:`later_attack`: the strongest onset of the body after the first
    :data:`FIRST_ATTACK_SECONDS`);
    ``strong_onsets``: log2(1 + the onsets there at least :data:`STRONG_ONSET` strong); ``wrap_attack``:
    log2 of the attack at the start (measured from the end, as the file wraps) over the later one
    (a one-shot that ends in silence starts with by far its strongest attack; a seamless loop does not).

    Returns
    -------
    np.ndarray [shape=(len(FEATURES),), dtype=float64]
        of the :func:`sound` (the beat's bar fit excepted, which is the whole file's).
    """
    onsets = sound(onsets)
    frames = max(onsets.frames, 1)
    found = peaks(body(onsets), fps=onsets.fps, threshold=ONSET_THRESHOLD)
    spread = float(found[-1] - found[0]) / frames if found.size > 1 else 0.0
    tail = max(1, int(round(END_SECONDS * onsets.fps)))
    energy = onsets.energy_db
    end_level = float(np.mean(energy[-tail:])) / 60.0 if energy.size else -1.0
    third = max(1, energy.size // 3)
    skip = int(round(FIRST_ATTACK_SECONDS * onsets.fps)) + 1
    later = later_attack(onsets)
    return np.array(
        [
            np.log2(max(onsets.duration_s, 1e-3)),
            np.log2(1.0 + found.size),
            spread,
            beat.periodicity,
            float(beat.bars is not None),
            max(end_level, -1.5),
            float(np.mean(energy > LEVEL_DB)) if energy.size else 0.0,
            float(np.argmax(energy)) / frames if energy.size else 0.0,
            abs(float(np.mean(energy[-third:]) - np.mean(energy[:third]))) / 60.0,
            np.log2(1.0 + later),
            np.log2(1.0 + np.count_nonzero(onsets.strength[found[found >= skip]] >= STRONG_ONSET)),
            np.log2((1.0 + float(onsets.strength[0]) if onsets.frames else 1.0) / (1.0 + later)),
        ]
    )


def loop_probability(features: np.ndarray) -> float:
    """The logistic model's probability that a file with these :func:`kind_features` is a loop."""
    z = INTERCEPT + float(features @ np.array([WEIGHTS[name] for name in FEATURES]))
    return float(1.0 / (1.0 + np.exp(-z)))


def rings_out(onsets: Onsets) -> bool:
    """True for one sound that dies away: its loudest frame in the first :data:`RING_START` of the file and its
    last third :data:`RING_DB` quieter than its first (a low piano note of 30–40 s, its room's noise under the
    tail). A track or an excerpt of one is loudest anywhere but at its very start, and keeps its level."""
    energy = onsets.energy_db
    if energy.size < 3:
        return False
    third = energy.size // 3
    loudest_at = float(np.argmax(energy)) / energy.size
    return loudest_at < RING_START and float(np.mean(energy[:third]) - np.mean(energy[-third:])) >= RING_DB


def decided_by_rule(onsets: Onsets, beat: TempoEstimate) -> str | None:
    """The kind where a rule decides before the model, else None: a file of :data:`ALWAYS_LOOP_SECONDS` or more
    is a loop unless it :func:`rings_out`; a file without a tempo is a one-shot. (:func:`plainly_one_shot` comes
    before these, and before the tempo is estimated.) The length is the :func:`sound`'s."""
    onsets = sound(onsets)
    if onsets.duration_s >= ALWAYS_LOOP_SECONDS:
        return ONE_SHOT if rings_out(onsets) else LOOP
    if beat.bpm is None:
        return ONE_SHOT
    return None


def classify(onsets: Onsets, beat: TempoEstimate) -> tuple[str, float]:
    """``'loop'`` or ``'one-shot'``, and the probability of a loop.

    Parameters
    ----------
    onsets : Onsets
        of the whole file.
    beat : TempoEstimate
        its tempo estimate (:func:`tempo.estimate_tempo`).
    """
    ruled = decided_by_rule(onsets, beat)
    if ruled is not None:
        return ruled, float(ruled == LOOP)
    p = loop_probability(kind_features(onsets, beat))
    return (LOOP if p >= 0.5 else ONE_SHOT), p

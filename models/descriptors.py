"""Every musical descriptor of one file but its key, from its mono analysis signal in one pass.

mono signal (22,050 Hz) ──► onset strength, frame energy, chroma (once, :mod:`onsets`)
    ──► tempo (:mod:`tempo`) ──► loop or one-shot (:mod:`kind`)
    ──► a loop: its tempo; a one-shot: its pitch (:mod:`pitch`), if it has one

The pipeline calls :func:`describe` with the signal it already made for the key; nothing here decodes
or resamples, and the onset transform is the only one computed (the pitch frames of a one-shot aside).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import kind as kind_model
from . import onsets, pitch, tempo
from .keys import KeyEstimate

SAMPLE_RATE = onsets.SAMPLE_RATE
#: a one-shot whose partials are less harmonic than this (:attr:`pitch.PitchEstimate.harmonicity`, 0–1) is a
#: drum hit or noise; chord stabs, pads and tonal FX of the validation sets lie above it (see the model card)
UNPITCHED_HARMONICITY = 0.4
#: ... unless it holds its sound: within HOLD_DB of its loudest DECAY_SECONDS before or after it. A pad, a drone or a
#: held chord of detuned stacks, or under a wash, is less harmonic than one note and is no drum: drums die away (and
#: those that ring off the grid are caught as hits), and noise is left to the network and the narrow-peak share.
#: A riser or a reversed cymbal, cut at its loudest, does not hold it (:func:`held_db`; see the model card)
HOLD_DB = 6.0
#: ... and so is a hit (DECAY_DB or more below its loudest, DECAY_SECONDS after it) whose partials lie off any one
#: equal-tempered grid (:attr:`pitch.PitchEstimate.coherence` below OFF_GRID_COHERENCE), unless it is clearly
#: harmonic (BORDERLINE_HARMONICITY or more) without a root: real cymbals, hats and snares, whose inharmonic modes
#: score 0.4–0.5 (recorded snares, hand drums and toms up to 0.6), and toms and hand drums, pitched but off the
#: grid: a membrane's pitch falls as it rings, which smears its partials over the grid (an ideal membrane falling
#: 5–10 % scores 0.24–0.39, its modes held still 0.65–0.78). A widely detuned supersaw stab lies off the grid too
#: and can be a clearly harmonic chord (most such stabs score under 0.5, and keep their key only when the key model
#: is sure of it); a pad holds its level; a plucked string or a struck bar holding its note lies above (see the
#: model card)
BORDERLINE_HARMONICITY = 0.55
OFF_GRID_COHERENCE = 0.5
DECAY_SECONDS = 0.75
DECAY_DB = 15.0
#: a file whose spectrum holds less than this share of its magnitude in narrow peaks (:func:`frontend.peak_share`)
#: has no notes in it (drum loops and hits, noise, sweeps); tonal material of the validation sets lies above 0.05
TONELESS_SHARE = 0.05
#: ... either has no key unless the key model is at least this sure of one
SURE_OF_KEY = 0.6
#: ... and a hit off the grid without a pitch (a snare, a cymbal, a hat: the network is sometimes sure of a key
#: for a snare's ring) unless it is at least this sure; a pitched hit is held to SURE_OF_KEY, as a pitched impact
#: or a bass note dying away off the grid is one whose key the network knows (see the model card)
SURE_OF_HIT = 0.7
#: ... and a hit off the grid that is spared as a possible chord (BORDERLINE_HARMONICITY or more, no root) keeps its
#: key only where the model gives it at least this: a drum machine's hats (six detuned square waves) are as harmonic
#: as a detuned stab, and the network is plainly unsure of a key for them, seldom of a chord's (see the model card)
SURE_OF_CHORD = 0.3
#: a file with less than this share in narrow peaks holds few notes (a drum loop's toms, a hit's ring; the tonal files
#: of the validation sets that do are melodies of one soft line, of which the key model is surer) ...
FAINT_TONES_SHARE = 0.1
#: ... and has no key unless the model is at least this sure of one (see the model card)
SURE_OF_FAINT_TONES = 0.4
#: a key two methods agree on (:attr:`keys.KeyEstimate.corroborated`) stands, whatever the model's doubt, for a sound
#: that holds its level (a loop, or a one-shot within HOLD_DB of its loudest) with at least this share of its
#: spectrum in narrow peaks and is no drum: a tonal FX or a pad under a wash louder than itself. Noise and sweeps lie
#: under it (the keyless validation sets' two sweeps that both methods misread, at 0.000; see the model card)
CORROBORATED_TONES_SHARE = 0.02


@dataclass(frozen=True)
class Descriptors:
    """One file's descriptors, as the catalog stores them.

    ``kind``: ``'loop'`` or ``'one-shot'`` (None for digital silence); ``bpm`` (beats per minute) and
    ``bpm_confidence`` (0–1) for a loop, None for a one-shot; ``root_note`` (``'Db3'``, C4 = 261.6 Hz,
    tonics spelled as the catalog's keys) and ``tuning_cents`` (deviation from equal temperament at
    A4 = 440 Hz, in [-50, 50)) for a pitched one-shot, None for loops and unpitched one-shots.
    """

    kind: str | None = None
    bpm: float | None = None
    bpm_confidence: float | None = None
    root_note: str | None = None
    tuning_cents: float | None = None
    #: evidence, not catalog columns, None for loops: how harmonic a one-shot's partials are and how nearly they
    #: sit on one equal-tempered grid (0–1 each), and how far below its loudest moment it is DECAY_SECONDS after
    #: it (dB, ≤ 0), and how nearly it holds that moment's level (:func:`held_db`)
    harmonicity: float | None = None
    coherence: float | None = None
    fallen_db: float | None = None
    held_db: float | None = None


def describe(
    y: np.ndarray, sr: int = SAMPLE_RATE, *, kind: str | None = None, strength: onsets.Onsets | None = None
) -> Descriptors:
    """Kind, tempo and pitch of a mono signal.

    Parameters
    ----------
    y : np.ndarray [shape=(n,), dtype=float32]
        mono signal at ``sr`` Hz, any length.
    sr : int
        must be :data:`SAMPLE_RATE` (22,050 Hz): resample first (``frontend.mono_at``).
    kind : {'loop', 'one-shot'} or None
        the kind when something more reliable than the audio says it (a file's ACID chunk); by default
        the audio decides.
    strength : onsets.Onsets or None
        :func:`onsets.onset_strength` of ``y`` when the caller has it already (computed here otherwise).

    Returns
    -------
    Descriptors
    """
    if sr != SAMPLE_RATE:
        raise ValueError(f"sr={sr} must be {SAMPLE_RATE} (resample with frontend.mono_at first)")
    y = np.asarray(y, dtype=np.float32)
    if y.size == 0 or not np.any(y):
        return Descriptors()
    if strength is None:
        strength = onsets.onset_strength(y, sr=sr)
    if kind is None and kind_model.plainly_one_shot(strength):
        kind, beat = kind_model.ONE_SHOT, tempo.NO_TEMPO
    else:
        beat = tempo.estimate_tempo(strength)
    if kind is None:
        kind, _ = kind_model.classify(strength, beat)
    elif kind not in (kind_model.LOOP, kind_model.ONE_SHOT):
        raise ValueError(f"kind={kind!r} is not one of {kind_model.LOOP!r}, {kind_model.ONE_SHOT!r}")
    if kind == kind_model.LOOP:
        return Descriptors(kind, beat.bpm, beat.confidence)
    note = pitch.estimate_pitch(y, strength.energy_db, sr=sr, fps=strength.fps)
    return Descriptors(
        kind,
        root_note=note.root_note,
        tuning_cents=note.tuning_cents,
        harmonicity=note.harmonicity,
        coherence=note.coherence,
        fallen_db=fallen_db(strength.energy_db, fps=strength.fps),
        held_db=held_db(strength.energy_db, fps=strength.fps),
    )


def fallen_db(energy_db: np.ndarray, *, fps: float, seconds: float = DECAY_SECONDS) -> float:
    """How far below its loudest frame a sound is ``seconds`` later (dB, ≤ 0; where the file ends sooner, the
    quietest frame from the loudest one to the end: a file cut at its loudest, a riser or a reversed swell, has not
    fallen, however quietly it began).

    Parameters
    ----------
    energy_db : np.ndarray [shape=(frames,)]
        frame energy relative to the loudest frame (dB), at ``fps`` frames per second (:class:`onsets.Onsets`).
    """
    _, after = levels_around_loudest(energy_db, fps=fps, seconds=seconds)
    if after is not None:
        return after
    return float(energy_db[int(np.argmax(energy_db)) :].min(initial=0.0)) if energy_db.size else 0.0


def held_db(energy_db: np.ndarray, *, fps: float, seconds: float = DECAY_SECONDS) -> float | None:
    """How nearly a sound holds the level of its loudest moment: the louder of its frames ``seconds`` before and
    after it (dB relative to it, ≤ 0; None where the file holds neither). A hit has risen from silence before and
    fallen after; a steady pad's loudest frame may fall anywhere, its last second too; a riser or a reversed cymbal,
    cut at its loudest, was quieter before."""
    levels = [level for level in levels_around_loudest(energy_db, fps=fps, seconds=seconds) if level is not None]
    return max(levels) if levels else None


def levels_around_loudest(
    energy_db: np.ndarray, *, fps: float, seconds: float = DECAY_SECONDS
) -> tuple[float | None, float | None]:
    """The frame energy ``seconds`` before and after the loudest frame (dB relative to it, ≤ 0), each None where the
    file does not reach that far (:class:`onsets.Onsets`' ``energy_db`` at ``fps`` frames per second)."""
    if energy_db.size == 0:
        return None, None
    loudest, step = int(np.argmax(energy_db)), int(round(seconds * fps))
    before, after = loudest - step, loudest + step
    return (
        float(energy_db[before]) if before >= 0 else None,
        float(energy_db[after]) if after < energy_db.size else None,
    )


def gate_key(key: KeyEstimate, found: Descriptors, peaks: float | None = None) -> KeyEstimate:
    """``key``, or no key for a sound without notes whose key the model is unsure of.

    Key models answer for drums too (a tom or a snare's ring has partials the network and the chroma profile
    can read as a key, and a recorded kit's loop sounds like no drum loop the network learnt to call keyless).
    A sound is without notes when it is a one-shot whose partials are not harmonic (the pitch estimator's
    harmonicity below :data:`UNPITCHED_HARMONICITY`, unless it holds its level within :data:`HOLD_DB` of its
    loudest :data:`DECAY_SECONDS` before or after it, as pads and drones do; or a hit that dies away with its
    partials off any one equal-tempered grid, coherence below :data:`OFF_GRID_COHERENCE`, unless it is a clearly
    harmonic chord: a cymbal's metal and a tom's membrane make narrow peaks, none of them notes), or when its
    spectrum has next to nothing in narrow peaks (``peaks``, :func:`frontend.peak_share` of the key's spectrogram, below
    :data:`TONELESS_SHARE`; a loop or a one-shot). Both conditions are needed, the lack of notes and the model's
    doubt (its own confidence, :attr:`KeyEstimate.sureness`, under :data:`SURE_OF_KEY`, or :data:`SURE_OF_HIT`
    for a hit off the grid without a pitch): a chord stab buried in noise can be less harmonic and still clearly in
    a key. A hit off the grid spared as a possible chord still needs :data:`SURE_OF_CHORD`, and a file with few
    notes in its spectrum (``peaks`` under :data:`FAINT_TONES_SHARE`) :data:`SURE_OF_FAINT_TONES`: the less of a
    sound is notes, the surer of its key the model must be.

    A key that a second method names too (``key.corroborated``) is kept, or given back where the model called the
    sound keyless by its margin alone, for a sound that holds its level (a loop, or a one-shot held within
    :data:`HOLD_DB`), is no drum and has :data:`CORROBORATED_TONES_SHARE` of its spectrum in narrow peaks: two
    methods that agree outweigh one method's doubt, but not a drum's decay.
    """
    harmonicity = found.harmonicity or 0.0
    one_shot = found.kind == kind_model.ONE_SHOT
    off_grid_hit = (
        found.coherence is not None
        and found.coherence < OFF_GRID_COHERENCE
        and found.fallen_db is not None
        and found.fallen_db <= -DECAY_DB
    )
    drum = off_grid_hit and (harmonicity < BORDERLINE_HARMONICITY or found.root_note is not None)
    held = found.held_db is not None and found.held_db > -HOLD_DB
    unpitched = one_shot and ((harmonicity < UNPITCHED_HARMONICITY and not held) or drum)
    toneless = peaks is not None and peaks < TONELESS_SHARE
    held_tones = (held or not one_shot) and not drum and peaks is not None and peaks >= CORROBORATED_TONES_SHARE
    if key.corroborated is not None and held_tones:
        return key if key.index is not None else key.corroborated
    sure = 0.0
    if unpitched or toneless:
        sure = SURE_OF_HIT if drum and found.root_note is None else SURE_OF_KEY
    elif one_shot and off_grid_hit:  # spared as a possible chord
        sure = SURE_OF_CHORD
    if peaks is not None and peaks < FAINT_TONES_SHARE:
        sure = max(sure, SURE_OF_FAINT_TONES)
    if key.index is not None and key.sureness < sure:
        return KeyEstimate(None, 0.0)
    return key

"""Pitch of a one-shot: the note's body ──► harmonic f0 per frame ──► the held pitch ──► exact period.

1. **Body.** From the loudest frame (its attack skipped) to where the sound has fallen
   :data:`BODY_DB` below it, at most :data:`MAX_BODY_SECONDS`: where a note holds its pitch.
2. **Harmonic f0 per frame.** A few Hann frames across the body; the strongest spectral peaks, each
   weighted by how much a partial at its frequency counts for pitch (:data:`DOMINANCE_HZ`: the ear takes
   pitch from the partials below a few kHz, and the loud upper modes of a struck bar lie above; and
   :data:`RUMBLE_HZ`: below 50 Hz a real recording holds its room's rumble more than any note), a peak
   within :data:`SPREAD_CENTS` of a stronger one counted as part of it (one partial smeared by
   ensemble detuning, beating or a fast decay); each peak divided by 1–6 is a candidate fundamental,
   scored by how much of the peaks' amplitude its series of partials explains (harmonic, or stretched as a
   piano string's, :data:`STRETCHES`; peaks far below the candidate count less, :data:`BELOW_RATIO`, and
   less still below a note above 2 kHz, :func:`far_below_fade`), less
   the share of its harmonics (up to the highest one it explains) that are missing (only a peak within
   :data:`PRESENT_DB` of the strongest is evidence of a harmonic). Octave errors are what this guards
   against: half the true f0 explains every peak too but misses every other harmonic; twice the true f0
   misses nothing but leaves the odd harmonics unexplained; a weak or absent fundamental costs one
   missing harmonic of many.
3. **The held pitch.** The frames' estimates (in MIDI numbers) vote, weighted by loudness
   (:data:`LOUDNESS_EXPONENT`) and harmonic score; the winning semitone's frames are the note (a pitch
   glide or a noisy attack loses the vote, even the loud attack of a fast-decaying note).
4. **Exact period.** Each frame's autocorrelation (from its weighted spectrum, divided by the window's
   own, as Praat does) near the voted period, interpolated to a fraction of a sample; the median over
   the agreeing frames is the pitch. Cents are read from it, not from FFT bins. How periodic the frame
   is, is read there too, from the weighted spectrum and from the unweighted one.

A sound is pitched when the frames that agree hold most of the loudness from the first of them on
(:data:`MIN_AGREEMENT`), its partials are harmonic (:data:`MIN_HARMONICITY`; less is asked of a sound
whose partials that carry the pitch are clearly periodic, as struck bars and plucked strings have
partials off the harmonic series, unless it lies below :data:`PERIODIC_MIN_HZ`, where that is a drum's
body; of a pitch above :data:`HIGH_HZ`, which has few partials to show; and of a note from C2 up held
:data:`LONG_HELD_SECONDS` or more, :data:`MIN_HARMONICITY_HELD`), the
whole sound, noise included, repeats at its period
(:data:`MIN_PERIODICITY`; a snare's tonal head under its rattle does not pass), and it holds the pitch
for long enough (:data:`MIN_HELD_SECONDS`) — not only as a short tail after a sweep that holds most of
the energy, as a kick does (:data:`TAIL_SECONDS`, :data:`TAIL_SHARE`; the tail starts where the pitch
is first heard, so the attack of a struck or plucked note, which already sounds it, is not a sweep; and
above :data:`HIGH_HZ` no kick's tail lies).
Harmonicity and periodicity are medians over the agreeing frames: how the note sounds while it holds
its pitch, which a short, loud attack does not decide. Drums, noise and sweeps are unpitched; toms and
other tuned percussion often are pitched, and get a root.

Written here rather than taken from ``librosa.pyin``: pyin costs seconds per file (its first call
compiles with numba) and librosa is not a runtime dependency; and a bare frame-wise f0 tracker's
first guess is where octave errors come from, which the harmonic scoring above resolves.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft

from . import frontend
from .keys import TONICS

#: lowest and highest fundamental reported (Hz): A0 − a little, C8 + a little
FMIN = 25.0
FMAX = 4500.0
#: frame length for the spectral peaks (samples at 22,050 Hz: 186 ms) and the FFT it is padded to (1.5×: the
#: autocorrelation is exact for lags up to half a frame, all that is read of it)
FRAME_LENGTH = 4096
FFT_LENGTH = 6144
#: most frames analysed per note
MAX_FRAMES = 6
#: the body ends where the level falls this far below the loudest frame (dB)
BODY_DB = -30.0
#: the attack skipped after the loudest frame (s), and the longest body analysed (s)
ATTACK_SECONDS = 0.03
MAX_BODY_SECONDS = 1.5
#: spectral peaks are looked for up to (Hz)
PEAK_FMAX = 6000.0
#: a peak's amplitude counts for pitch times 1 / (1 + (f / DOMINANCE_HZ)²) (f in Hz), in the peaks and in the
#: autocorrelation alike: the ear takes pitch from the partials below a few kHz (the dominance region), and the
#: loudest partials of a glockenspiel or xylophone bar, its inharmonic upper modes, lie above
DOMINANCE_HZ = 2000.0
#: ... and below this (Hz) a peak counts less and less (fourth order): the ear hardly hears there, and real
#: recordings carry room rumble, pedal thumps and handling noise there, as loud as a decaying high note's
#: partials; a low note's pitch is heard from its harmonics
RUMBLE_HZ = 50.0
#: spectral peaks kept per frame, and how far below the frame's strongest they may be (dB)
MAX_PEAKS = 20
PEAK_FLOOR_DB = -45.0
#: a peak within this many cents of a stronger one is part of its partial and adds to its amplitude: a partial
#: smeared by detuned unison voices (a string section's pizzicato), beating or a fast decay; a quarter tone,
#: closer than any two harmonics counted (up to MAX_HARMONIC; the closest, 15 and 16, are 112 cents apart)
SPREAD_CENTS = 50.0
#: peaks divided by 1..SUBHARMONICS are the candidates; harmonics counted up to MAX_HARMONIC
SUBHARMONICS = 6
#: the strongest peaks that propose candidates
CANDIDATE_PEAKS = 8
MAX_HARMONIC = 16
#: ... and a stretched series (STRETCHES) further, up to this frequency (Hz): a piano's lowest strings sound
#: their pitch in partials 10–30 (300–800 Hz), over a weak fundamental; past the 16th, unexplained, those
#: partials counted against the note (A0–B1 had no root)
STIFF_PARTIALS_HZ = 800.0
#: a peak belongs to harmonic h when within this many cents of h·f0, and within this share of f0
MATCH_CENTS = 40.0
MATCH_SHARE = 0.25
#: inharmonicity coefficients B of the partial series tried (0: harmonic): a stiff string's n-th partial lies at
#: n · f0 · sqrt(1 + B n²); a piano's wound bass strings have B of about 1e-4 to 5e-4 (Fletcher 1964). Larger ones
#: (a piano's treble) matter little here, where few partials lie below PEAK_FMAX, and let more drum hits pass
STRETCHES = (0.0, 1e-4, 3e-4)
#: ... each stretched series' score less this: a stiff string gains far more from its own series (0.5 → 0.8 on a
#: piano's A0) than a chord or a drum does by chance from a series with more room to match
STRETCH_COST = 0.05
#: a peak below this share of a candidate f0 counts BELOW_WEIGHT as much against it: no partial of the note can
#: lie there, and in a recorded high note what does is the room and the instrument's body (a piano's soundboard
#: thumps at 100–250 Hz under a 2.5 kHz note). Not 0: a candidate an octave or more above the note would then
#: leave its real fundamental (at 1/2) counted but the peaks below it free, and struck bars' knocks would pass.
#: Above DOMINANCE_HZ it falls further (:func:`far_below_fade`)
BELOW_RATIO = 0.45
BELOW_WEIGHT = 0.25
#: weight of the missing-harmonic share against the explained amplitude share
MISSING_WEIGHT = 0.5
#: a harmonic is present when a peak within this far below the frame's strongest (dB) matches it: the faint
#: peaks near PEAK_FLOOR_DB (noise, a low rumble that the weighting lifts) neither fill in a sub-octave's gaps
#: nor count as its top harmonic
PRESENT_DB = -40.0
#: frames vote, and hold their share of the note, by loudness: amplitude to this power (Stevens' law), so
#: the loud attack of a fast-decaying note does not outvote the body that holds the pitch
LOUDNESS_EXPONENT = 0.6
#: pitched only if: the frames that agree on the pitch hold at least this share of the loudness of the frames
#: from the first of them on
MIN_AGREEMENT = 0.5
#: ... their median harmonic score is at least this
MIN_HARMONICITY = 0.6
#: ... or at least MIN_HARMONICITY_HIGH for a pitch of HIGH_HZ or more: up there at most five partials lie below
#: PEAK_FMAX, and the body's and the room's noise below the note weighs more in the score (a piano's top octave
#: scores 0.2–0.9); the drums and noise that pass the other tests seldom hold a pitch that high (Hz)
MIN_HARMONICITY_HIGH = 0.5
HIGH_HZ = 1000.0
#: ... or at least MIN_HARMONICITY_PERIODIC when the partials that carry the pitch (salience-weighted) repeat at
#: its period at least CLEARLY_PERIODIC well, for a pitch of PERIODIC_MIN_HZ or more: below C2 a clearly periodic
#: sound that is not clearly harmonic is a drum's body (a kick's or a tom's low mode, a snare's shell), not a note
MIN_HARMONICITY_PERIODIC = 0.4
CLEARLY_PERIODIC = 0.9
PERIODIC_MIN_HZ = 65.0
#: ... or at least MIN_HARMONICITY_HELD when the pitch, PERIODIC_MIN_HZ or more, is held LONG_HELD_SECONDS or more
#: (s): a low string section's tremolo smears its partials apart (0.5–0.6 harmonic) and still holds one pitch for a
#: second; below C2 a long ring that harmonic is as often a drum's low body
LONG_HELD_SECONDS = 0.8
MIN_HARMONICITY_HELD = 0.5
#: ... the whole sound (unweighted: noise counts) repeats at the period this well in the agreeing frames (median
#: normalised autocorrelation, 0–1)
MIN_PERIODICITY = 0.6
#: ... and the agreeing frames span at least this long (s)
MIN_HELD_SECONDS = 0.08
#: ... and unless the pitch is only a short tail (held less than TAIL_SECONDS, s) after an attack that
#: holds most of the energy (the share from where the pitch is first heard below TAIL_SHARE): a kick's
#: sweep settling on a low sine. Not for a pitch of HIGH_HZ or more: what rings briefly up there after a louder
#: attack is a struck high note (a piano's top octave, its hammer's thump the loudest of it), not a kick's tail
TAIL_SECONDS = 0.35
TAIL_SHARE = 0.5
A4_HZ = 440.0
A4_MIDI = 69


@dataclass(frozen=True)
class PitchEstimate:
    """The pitch of a one-shot, or why there is none.

    ``midi``: the held pitch as a fractional MIDI number (69.0 = A4 = 440 Hz), None when unpitched;
    ``root_note`` (``'C#3'`` spelled with the catalog's tonics: ``'Db3'``; C4 = 261.6 Hz) and
    ``tuning_cents`` in [-50, 50) follow from it. ``harmonicity``, ``periodicity`` (of the whole sound)
    and ``heard_periodicity`` (of the partials that carry the pitch; see :func:`refine_f0`), 0–1 and
    medians over the frames that agree on the pitch, are the evidence; ``held_s`` how long the pitch is
    held (s); ``held_share`` the share of the energy after the loudest frame that comes from where the
    pitch is first heard on; ``coherence`` how nearly the body's partials sit on one equal-tempered
    grid (:func:`grid_coherence`, 0–1), whether or not a pitch is held.
    """

    midi: float | None
    harmonicity: float = 0.0
    periodicity: float = 0.0
    held_s: float = 0.0
    held_share: float = 0.0
    heard_periodicity: float = 0.0
    coherence: float = 0.0

    @property
    def root_note(self) -> str | None:
        return None if self.midi is None else note_name(_nearest(self.midi))

    @property
    def tuning_cents(self) -> float | None:
        return None if self.midi is None else round(100.0 * (self.midi - _nearest(self.midi)), 1)


NO_PITCH = PitchEstimate(None)


def _nearest(midi: float) -> int:
    """The semitone a pitch is spelled as: deviations are in [-50, 50) cents, at 0.1-cent resolution."""
    return int(np.floor(round(midi, 3) + 0.5))


def note_name(midi: int) -> str:
    """Note name with octave of a MIDI number: 60 → ``'C4'`` (261.6 Hz), 61 → ``'Db4'``; tonics as in keys."""
    return f"{TONICS[midi % 12]}{midi // 12 - 1}"


def hz_to_midi(f: float | np.ndarray) -> float | np.ndarray:
    """Fractional MIDI number of a frequency in Hz (A4 = 440 Hz = 69)."""
    return A4_MIDI + 12.0 * np.log2(np.asarray(f, dtype=np.float64) / A4_HZ)


def midi_to_hz(midi: float | np.ndarray) -> float | np.ndarray:
    """Frequency in Hz of a fractional MIDI number."""
    return A4_HZ * 2.0 ** ((np.asarray(midi, dtype=np.float64) - A4_MIDI) / 12.0)


@lru_cache(maxsize=2)
def _window(n: int) -> np.ndarray:
    return np.hanning(n).astype(np.float32)


def body(energy_db: np.ndarray, *, fps: float) -> tuple[int, int]:
    """First and last frame (inclusive, at ``fps``) of a one-shot's body: where it holds its pitch."""
    peak = int(np.argmax(energy_db))
    start = min(peak + int(round(ATTACK_SECONDS * fps)), energy_db.size - 1)
    below = np.flatnonzero(energy_db[start:] < BODY_DB)
    end = start + (int(below[0]) - 1 if below.size else energy_db.size - 1 - start)
    end = min(max(end, start), start + int(round(MAX_BODY_SECONDS * fps)))
    return start, end


def frame_spectra(frames: np.ndarray) -> np.ndarray:
    """Complex spectra of Hann-windowed frames, zero-padded to :data:`FFT_LENGTH`.

    Parameters
    ----------
    frames : np.ndarray [shape=(count, FRAME_LENGTH)]
        signal, each frame's mean removed.

    Returns
    -------
    np.ndarray [shape=(count, FFT_LENGTH // 2 + 1), dtype=complex64]
    """
    return scipy.fft.rfft(frames * _window(frames.shape[1]), n=FFT_LENGTH, axis=1)


@lru_cache(maxsize=4)
def salience(bins: int, sr: int) -> np.ndarray:
    """How much a partial counts for pitch at each FFT bin: 1 / (1 + (f / :data:`DOMINANCE_HZ`)²).

    Returns
    -------
    np.ndarray [shape=(bins,), dtype=float32]
        amplitude weights (1 at 0 Hz, 0.5 at DOMINANCE_HZ), for bins of an :data:`FFT_LENGTH`-point FFT at ``sr``.
    """
    f = np.arange(bins) * sr / FFT_LENGTH
    return (1.0 / (1.0 + (f / DOMINANCE_HZ) ** 2)).astype(np.float32)


@lru_cache(maxsize=4)
def peak_weights(bins: int, sr: int) -> np.ndarray:
    """:func:`salience` times f⁴ / (f⁴ + :data:`RUMBLE_HZ`⁴): what a spectral peak weighs in the harmonic
    scoring [shape=(bins,), dtype=float32]. Only there: the exact period is read from the autocorrelation
    weighted by :func:`salience` alone, which a filter sloping across a low note's glide would pull sharp."""
    f = np.arange(bins) * sr / FFT_LENGTH
    return (salience(bins, sr) * (f**4 / (f**4 + RUMBLE_HZ**4))).astype(np.float32)


def spectral_peaks(spectra: np.ndarray, *, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """The strongest partials of each frame's spectrum (:func:`frame_spectra`).

    A peak's amplitude is weighted by :func:`peak_weights`; a peak within :data:`SPREAD_CENTS` of a stronger
    one is dropped and its amplitude added to the strongest peak near it, or, if that one is dropped too,
    to the one that one went to (one partial, smeared).

    Returns
    -------
    (freqs, amps) : np.ndarray [shape=(count, MAX_PEAKS)] each
        frequency in Hz (parabolic interpolation of the log magnitude) and weighted linear magnitude,
        strongest first; a slot with no peak (fewer peaks, or more than :data:`PEAK_FLOOR_DB` below the
        frame's strongest) has amplitude 0.
    """
    hi = min(spectra.shape[1] - 1, int(PEAK_FMAX * FFT_LENGTH / sr))
    mag = np.abs(spectra[:, : hi + 1])
    lo = max(1, int(FMIN * 0.9 * FFT_LENGTH / sr))
    inner = mag[:, lo:-1]
    is_peak = (inner > mag[:, lo - 1 : -2]) & (inner >= mag[:, lo + 1 :])
    candidates = np.where(is_peak, inner * peak_weights(hi + 1, sr)[lo:-1], 0.0)
    # twice as many as kept: merging a smeared partial's side peaks frees slots
    k = min(2 * MAX_PEAKS, candidates.shape[1])
    # rows[f] indexes frame f of each (count, k) gather below (np.take_along_axis's own indexing costs more)
    rows = np.arange(candidates.shape[0])[:, None]
    top = np.argpartition(-candidates, k - 1, axis=1)[:, :k]
    amps = candidates[rows, top]
    order = np.argsort(-amps, axis=1, kind="stable")
    top, amps = top[rows, order], amps[rows, order]
    idx = top + lo
    log = np.log(mag + 1e-12)
    a, b, c = (log[rows, idx + d] for d in (-1, 0, 1))
    denominator = a - 2 * b + c
    safe = np.where(denominator < 0, denominator, -1.0)
    offset = np.where(denominator < 0, 0.5 * (a - c) / safe, 0.0)
    freqs = (idx + np.clip(offset, -0.5, 0.5)) * sr / FFT_LENGTH
    # near[f, i, j]: peak j is stronger than peak i (sorted) and within SPREAD_CENTS of it
    octaves = np.log2(freqs)
    near = np.abs(octaves[:, :, None] - octaves[:, None, :]) <= SPREAD_CENTS / 1200.0
    near &= _below_diagonal(k)
    absorbed = near.any(axis=2) & (amps > 0)
    # each absorbed peak goes to the strongest peak near it, and on until a peak that is not absorbed
    owner = np.where(absorbed, np.argmax(near, axis=2), np.arange(k))
    # pointer jumping: each step halves the longest chain; once a step changes nothing, none will
    for _ in range(int(np.ceil(np.log2(k)))):
        jumped = owner[rows, owner]
        if np.array_equal(jumped, owner):
            break
        owner = jumped
    owner += k * rows
    merged = np.bincount(owner.ravel(), weights=amps.ravel(), minlength=amps.size).reshape(amps.shape)
    order = np.argsort(-merged, axis=1, kind="stable")[:, :MAX_PEAKS]
    freqs, amps = freqs[rows, order], merged[rows, order]
    floor = amps[:, :1] * 10.0 ** (PEAK_FLOOR_DB / 20.0)
    return freqs, np.where(amps >= floor, amps, 0.0)


@lru_cache(maxsize=2)
def _below_diagonal(k: int) -> np.ndarray:
    """[shape=(k, k), dtype=bool]: True where the column's peak is stronger (earlier) than the row's."""
    return np.tri(k, k, -1, dtype=bool)


def grid_coherence(freqs: np.ndarray, amps: np.ndarray) -> float:
    """How nearly a sound's spectral peaks sit on one equal-tempered grid, whatever its tuning (0–1).

    Each peak's place within its semitone is an angle (100 cents a turn); the result is the length of the
    amplitude-weighted mean of those angles over every peak of every frame. The partials of notes and
    chords lie on a common grid (a harmonic series' strong partials within a few cents of it: the fifth
    2 cents off, the major third 14), so a stab or a melody's note scores 0.6–0.97 on the validation sets
    (a glide or a wide detune smears it lower); a cymbal's, a snare's or a hand drum's modes are inharmonic
    and fall anywhere on it, 0.05–0.3, however many narrow peaks they make. A sound of one dominant partial
    scores near 1: it is a pitch, and the harmonic tests decide it.

    Parameters
    ----------
    freqs, amps : np.ndarray [shape=(frames, MAX_PEAKS)]
        :func:`spectral_peaks` (Hz; amplitude 0 where a slot has no peak).

    Returns
    -------
    float
        0 when there is no peak.
    """
    present = amps > 0
    if not present.any():
        return 0.0
    cents = 1200.0 * np.log2(freqs[present] / A4_HZ)
    total = float(amps[present].sum())
    return float(np.abs(np.sum(amps[present] * np.exp(2j * np.pi * cents / 100.0))) / total)


def stretched_partial(n: np.ndarray, stretch: float | np.ndarray) -> np.ndarray:
    """Where partial ``n`` of a stiff string lies, in units of its fundamental: ``n · sqrt(1 + B · n²)`` for
    inharmonicity coefficient ``B`` (Fletcher 1964; 0: the harmonic series, ``n`` itself).

    Parameters
    ----------
    n : np.ndarray [shape=any]
        partial numbers (1 = the fundamental).
    stretch : float or np.ndarray
        ``B``, or several, broadcast against ``n``.

    Returns
    -------
    np.ndarray [shape=broadcast of n and stretch, dtype=float64]
    """
    n = np.asarray(n, dtype=np.float64)
    return n * np.sqrt(1.0 + stretch * n**2)


def far_below_fade(f0: np.ndarray) -> np.ndarray:
    """How much of its amplitude a peak far below a note (under :data:`BELOW_RATIO` × ``f0``) keeps, beyond
    :data:`BELOW_WEIGHT`: 1 up to :data:`DOMINANCE_HZ`, then (DOMINANCE_HZ / f0)², undoing the lift that the
    salience weighting gives it against the note. Up there a note has one or two partials below
    :data:`PEAK_FMAX`, and what lies far below it is its body's and the room's noise.

    Parameters
    ----------
    f0 : np.ndarray [shape=any]
        candidate fundamentals (Hz, > 0).

    Returns
    -------
    np.ndarray [shape=f0.shape, dtype=float64]
    """
    return np.minimum(1.0, (DOMINANCE_HZ / np.asarray(f0, dtype=np.float64)) ** 2)


def _series_scores(freqs: np.ndarray, amps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate fundamentals of each frame and their scores under each inharmonicity coefficient of
    :data:`STRETCHES`, all at once (the arrays are small: one pass over them all costs less than a pass each).

    Returns
    -------
    (cand, score, valid) : np.ndarray [shape=(len(STRETCHES), count, CANDIDATE_PEAKS * SUBHARMONICS)] each
        score without :data:`STRETCH_COST`.
    """
    stretch = np.array(STRETCHES)[:, None, None]
    count = freqs.shape[0]
    strongest = freqs[:, :CANDIDATE_PEAKS]
    cand = (
        strongest[None, :, :, None] / stretched_partial(np.arange(1, SUBHARMONICS + 1), stretch[..., None])
    ).reshape(len(STRETCHES), count, -1)
    valid = np.repeat(amps[:, :CANDIDATE_PEAKS] > 0, SUBHARMONICS, axis=1)
    valid = valid & (cand >= FMIN) & (cand <= FMAX)
    cand = np.where(valid, cand, FMIN)
    ratio = freqs[None, :, None, :] / cand[..., None]  # stretches × frames × candidates × peaks
    stretch = stretch[..., None]
    # the partial nearest each peak: n · sqrt(1 + B n²) = ratio is solved for n by two fixed-point steps from
    # ratio itself (exact for B = 0, where every square root is of 1; within a quarter of a partial up to the
    # 32nd at the largest B, where one step was a whole partial off)
    first = ratio / np.sqrt(1.0 + stretch * ratio**2)
    harmonic = np.maximum(np.rint(ratio / np.sqrt(1.0 + stretch * first**2)), 1.0)
    partial = stretched_partial(harmonic, stretch)
    # a stiff string's series runs past MAX_HARMONIC, up to STIFF_PARTIALS_HZ
    last = np.where(stretch > 0, np.maximum(MAX_HARMONIC, np.floor(STIFF_PARTIALS_HZ / cand))[..., None], MAX_HARMONIC)
    cents = np.abs(1200.0 * np.log2(ratio / partial))
    matched = (
        (harmonic <= last) & (cents <= MATCH_CENTS) & (np.abs(ratio - partial) <= MATCH_SHARE) & (amps[:, None, :] > 0)
    )
    below = BELOW_WEIGHT * far_below_fade(cand)
    counted = amps[:, None, :] * np.where(ratio < BELOW_RATIO, below[..., None], 1.0)
    explained = (matched * amps[:, None, :]).sum(axis=-1) / np.maximum(counted.sum(axis=-1), 1e-12)
    # the harmonics present, as bits of one integer per candidate; missing = those absent up to the top one.
    # Faint peaks explain amplitude but are no evidence of a harmonic: noise or a low rumble (which the
    # salience weighting lifts under a high note) would fill in every other harmonic of a sub-octave. Nor is a
    # stiff string's partial past MAX_HARMONIC: there its B is only near one of STRETCHES, and a partial a
    # little off the series would leave a gap to count against the note
    audible = amps >= amps[:, :1] * 10.0 ** (PRESENT_DB / 20.0)
    numbers = np.where(matched & audible[:, None, :] & (harmonic <= MAX_HARMONIC), harmonic, 0).astype(np.int64)
    present = np.bitwise_or.reduce(np.left_shift(1, numbers) & -2, axis=-1)
    top = numbers.max(axis=-1)
    wanted = np.left_shift(1, top + 1) - 2
    missing = np.bitwise_count(wanted & ~present) / np.maximum(top, 1)
    return cand, np.where(valid, explained - MISSING_WEIGHT * missing, -np.inf), valid


def harmonic_f0(freqs: np.ndarray, amps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each frame, the fundamental whose series of partials best accounts for its spectral peaks.

    The series is harmonic, or stretched as a stiff string's is (:data:`STRETCHES`): a piano's bass
    strings put their 16th partial over half a semitone sharp of 16 f0, so a harmonic series alone
    leaves the upper partials unexplained and the note looks less harmonic than a drum.

    Parameters
    ----------
    freqs, amps : np.ndarray [shape=(count, peaks)]
        from :func:`spectral_peaks` (Hz, linear magnitude; amplitude 0 marks an empty slot).

    Returns
    -------
    (f0, score) : np.ndarray [shape=(count,)] each
        f0 in Hz (0 when no candidate lies in [FMIN, FMAX]); score in [-MISSING_WEIGHT, 1]: the share of
        the peaks' amplitude on the partials of f0, less :data:`MISSING_WEIGHT` × the share of
        partials 1..top with no peak, top being the highest partial with one; only peaks within
        :data:`PRESENT_DB` of the frame's strongest count as a partial's.
    """
    cand, score, valid = _series_scores(freqs, amps)
    score = score - STRETCH_COST * (np.array(STRETCHES) > 0)[:, None, None]
    # each frame's candidates side by side, series after series
    cand, score, valid = (np.concatenate(list(x), axis=1) for x in (cand, score, valid))
    # near-ties go to the highest candidate: a sub-octave only ever adds missing harmonics
    near = score >= score.max(axis=1, keepdims=True) - 0.02
    best = np.argmax(np.where(near, cand, -1.0), axis=1)
    rows = np.arange(cand.shape[0])
    f0 = np.where(valid[rows, best], cand[rows, best], 0.0)
    return f0, np.where(valid[rows, best], score[rows, best], 0.0)


@lru_cache(maxsize=2)
def _window_autocorrelation(n: int) -> np.ndarray:
    w = _window(n).astype(np.float64)
    r = np.fft.irfft(np.abs(np.fft.rfft(w, n=FFT_LENGTH)) ** 2, n=FFT_LENGTH)[:n]
    return r / r[0]


def refine_f0(spectra: np.ndarray, f0: np.ndarray, *, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exact fundamental near each frame's ``f0`` from its autocorrelation, and how periodic it is.

    The frame's autocorrelation is computed from its spectrum and divided by the window's own
    autocorrelation (Boersma 1993, as Praat does), which removes the window's pull towards short lags.
    The pitch is read from the autocorrelation of the spectrum weighted by :func:`salience`, as the
    peaks are, so a bar's inharmonic upper modes do not pull it from the fundamental's period: its peak
    within ±6 % of the period is interpolated with a parabola; for high notes the peak at a multiple of
    the period of at least 100 samples is used, so the error is a fraction of a cent.

    Parameters
    ----------
    spectra : np.ndarray [shape=(count, FFT_LENGTH // 2 + 1)]
    f0 : np.ndarray [shape=(count,)]
        approximate fundamentals in Hz (0: skip the frame).

    Returns
    -------
    (f0, heard, whole) : np.ndarray [shape=(count,)] each
        f0 in Hz (the input where no peak is found); the normalised autocorrelation at that lag (1 for a
        perfectly periodic frame, near 0 for noise) of the weighted spectrum (``heard``: how periodic the
        partials that carry the pitch are) and of the unweighted one (``whole``: how periodic the whole
        sound is, a drum's rattle or a noise band included; what lies far below a note above 2 kHz counts as
        little as in its harmonic score, :func:`far_below_fade`).
    """
    power = np.abs(spectra) ** 2
    weighted = power * salience(spectra.shape[1], sr) ** 2
    far_below = np.arange(spectra.shape[1]) * sr / FFT_LENGTH < BELOW_RATIO * f0[:, None]
    whole_power = power * np.where(far_below, far_below_fade(np.maximum(f0, 1.0))[:, None] ** 2, 1.0)
    # the power spectra as complex numbers: scipy.fft.irfft of a real array gives the same, three times slower
    powers = np.concatenate([weighted, whole_power]).astype(np.complex128)
    r = scipy.fft.irfft(powers, n=FFT_LENGTH, axis=1)[:, : FRAME_LENGTH // 2]
    r = r / np.maximum(r[:, :1], 1e-20) / np.maximum(_window_autocorrelation(FRAME_LENGTH)[: FRAME_LENGTH // 2], 1e-3)
    r, r_whole = r[: len(f0)], r[len(f0) :]
    exact, heard, whole = f0.astype(np.float64).copy(), np.zeros(f0.shape), np.zeros(f0.shape)
    j = np.flatnonzero(f0 > 0)
    period = sr / f0[j]
    multiple = np.maximum(1, np.ceil(100.0 / period))
    centre = multiple * period
    lo, hi = np.maximum(2, np.floor(centre * 0.94)).astype(np.int64), np.ceil(centre * 1.06).astype(np.int64)
    inside = hi + 1 < r.shape[1]
    j, multiple, lo, hi = j[inside], multiple[inside], lo[inside], hi[inside]
    if j.size == 0:
        return exact, heard, whole
    # each frame's lags lo..hi side by side, padded past hi with -inf: argmax takes the first largest, as on a slice
    lags = lo[:, None] + np.arange(int((hi - lo).max()) + 1)
    k = lo + np.argmax(np.where(lags <= hi[:, None], r[j[:, None], np.minimum(lags, hi[:, None])], -np.inf), axis=1)
    a, b, c = r[j, k - 1], r[j, k], r[j, k + 1]
    denominator = a - 2 * b + c
    offset = np.where(denominator < 0, 0.5 * (a - c) / np.where(denominator < 0, denominator, -1.0), 0.0)
    exact[j] = multiple * sr / (k + np.clip(offset, -0.5, 0.5))
    heard[j] = np.minimum(b, 1.0)
    whole[j] = np.minimum(np.maximum(np.maximum(r_whole[j, k - 1], r_whole[j, k]), r_whole[j, k + 1]), 1.0)
    return exact, heard, whole


def _median(x: np.ndarray) -> float:
    """``np.median`` of a few numbers (a frame each), to the bit, without its overhead."""
    s = np.sort(x)
    middle = s.size // 2
    return float(s[middle] if s.size % 2 else (s[middle - 1] + s[middle]) / 2.0)


def estimate_pitch(y: np.ndarray, energy_db: np.ndarray, *, sr: int, fps: float) -> PitchEstimate:
    """The held pitch of a one-shot; ``midi`` is None for an unpitched one.

    Parameters
    ----------
    y : np.ndarray [shape=(n,), dtype=float32]
        mono signal at ``sr`` Hz.
    energy_db : np.ndarray [shape=(frames,)]
        frame energy relative to the loudest frame (dB) at ``fps`` frames per second, frame ``t``
        centred on sample ``t * sr / fps`` (:class:`onsets.Onsets`).

    Returns
    -------
    PitchEstimate
    """
    if y.size < FRAME_LENGTH // 8 or energy_db.size == 0:
        return NO_PITCH
    start, end = body(energy_db, fps=fps)
    count = int(min(MAX_FRAMES, end - start + 1))
    at = np.linspace(start, end, count).round().astype(int)
    padded = frontend.zero_pad(y, FRAME_LENGTH // 2)
    offsets = np.round(at * sr / fps).astype(int)
    frames = np.lib.stride_tricks.sliding_window_view(padded, FRAME_LENGTH)[
        np.minimum(offsets, padded.size - FRAME_LENGTH)
    ]
    spectra = frame_spectra(frames - frames.mean(axis=1, keepdims=True))
    freqs, amps = spectral_peaks(spectra, sr=sr)
    coherence = grid_coherence(freqs, amps)
    f0, score = harmonic_f0(freqs, amps)
    voiced = (f0 > 0) & (score > 0)
    if not voiced.any():
        return PitchEstimate(None, coherence=coherence)
    exact, heard_value, whole_value = refine_f0(spectra, np.where(voiced, f0, 0.0), sr=sr)
    midi = np.where(voiced, hz_to_midi(np.where(voiced, f0, A4_HZ)), 0.0)
    fine = np.where(voiced, hz_to_midi(np.where(voiced, exact, A4_HZ)), 0.0)
    fine = np.where(np.abs(fine - midi) < 0.6, fine, midi)
    loudness = 10.0 ** (LOUDNESS_EXPONENT * energy_db[at] / 20.0)
    weights = np.where(voiced, loudness * score, 0.0)
    # vote in semitone bins; each vote is shared with the neighbouring bin by distance, so a note
    # tuned between two semitones or a vibrato does not split it
    low = np.floor(midi[voiced]).astype(int).clip(0, 138)
    frac = midi[voiced] - np.floor(midi[voiced])
    votes = np.zeros(140)
    np.add.at(votes, low, weights[voiced] * (1 - frac))
    np.add.at(votes, low + 1, weights[voiced] * frac)
    winner = int(np.argmax(votes[:-1] + votes[1:]))
    agree = voiced & (midi >= winner - 0.5) & (midi <= winner + 1.5)
    held_midi = _median(fine[agree])
    # from the first frame that holds the pitch on: an attack or a glide before it may disagree
    since = np.arange(count) >= int(np.argmax(agree))
    agreement = float(loudness[agree].sum() / max(float(loudness[since].sum()), 1e-12))
    # medians: how the note sounds while it holds its pitch, not how its loudest (attack) frame does
    harmonicity = _median(score[agree])
    periodic, heard = _median(whole_value[agree]), _median(heard_value[agree])
    held = np.flatnonzero(agree)
    held_s = float((at[held[-1]] - at[held[0]]) / fps + (FRAME_LENGTH / 2) / sr)
    # the share of the sound's energy from where the pitch is first heard: in a frame that agrees, or
    # whose strongest partial is at the pitch (a struck note's attack frame, whose harmonic f0 the
    # transient pulled away, already sounds it; a kick's sweep does not). A kick's short pitched tail after
    # its sweep holds little of the energy, an 808's long one most
    sounding = agree | (np.abs(hz_to_midi(np.maximum(freqs[:, 0], 1.0)) - held_midi) <= 0.5)
    power = 10.0 ** (energy_db / 10.0)
    loudest = int(np.argmax(energy_db))
    first = max(at[int(np.argmax(sounding))] - int(round(FRAME_LENGTH / 4 * fps / sr)), loudest)
    held_share = float(power[first:].sum() / max(float(power[loudest:].sum()), 1e-12))
    pitch_hz = float(midi_to_hz(held_midi))
    kick_like = held_s < TAIL_SECONDS and held_share < TAIL_SHARE and pitch_hz < HIGH_HZ
    # a clearly periodic sound needs less harmonic structure: struck bars and plucked strings have
    # partials off the harmonic series, and a pitch all the same; clearly periodic where the pitch is heard,
    # as the upper modes of a bar, above that, do not repeat at its period (a drum's rattle does not either,
    # but that is noise: it fails MIN_PERIODICITY, which the whole sound has to meet)
    harmonic_enough = (
        harmonicity >= MIN_HARMONICITY
        or (harmonicity >= MIN_HARMONICITY_PERIODIC and heard >= CLEARLY_PERIODIC and pitch_hz >= PERIODIC_MIN_HZ)
        or (harmonicity >= MIN_HARMONICITY_HIGH and pitch_hz >= HIGH_HZ)
        or (harmonicity >= MIN_HARMONICITY_HELD and held_s >= LONG_HELD_SECONDS and pitch_hz >= PERIODIC_MIN_HZ)
    )
    if (
        agreement < MIN_AGREEMENT
        or not harmonic_enough
        or periodic < MIN_PERIODICITY
        or held_s < MIN_HELD_SECONDS
        or kick_like
    ):
        return PitchEstimate(None, harmonicity, periodic, held_s, held_share, heard, coherence)
    return PitchEstimate(held_midi, harmonicity, periodic, held_s, held_share, heard, coherence)

"""Electronic sample-pack idioms in known keys, and keyless sound design, by numpy synthesis.

The key CNN meets these in real sample packs, and the General MIDI material of
:mod:`datagen` never writes them: sustained supersaw, PWM and wavetable pads and
drones (:func:`pad`); risers, downlifters, pitched impacts, swells, reversed,
gated and arpeggiated chords that land on or hold the tonic chord
(:func:`tonal_fx`); reese, sub and 808 basses (:func:`bass`); Karplus–Strong
plucks, FM bells and e-pianos (:func:`pluck`); buzzing sitar-, tanpura- and
strummed-string timbres (:func:`buzz`) — and, labelled "no key", noise risers
and falls, unpitched impacts and reversed noise swells (:func:`keyless_fx`).

Every public function takes a key index (see :mod:`sampledex.models.keys`) and
an explicit ``numpy.random.Generator`` and returns mono float32 at
:data:`datagen.SR` Hz, peak-normalised by :func:`synth.normalise`. Pitches come
from :func:`synth.scale_of` and :func:`datagen.chord_pitches`. Minor keys sound
their minor third (held in a chord, in an arpeggio or in a line), but for the
drones of :func:`drone_voicing`: a tonic and a fifth alone are named minor, as
electronic packs mostly name them.

Each helper is one sound-design step. Oscillators read band-limited
single-cycle tables; filters are RBJ biquads whose coefficients follow a
per-sample cutoff block by block; strings are Karplus–Strong loops run by
:func:`scipy.signal.lfilter`; reverbs are convolutions with decaying noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

from sampledex.models import keys

from . import datagen, synth
from .synth import midi_to_hz

#: samples in one single-cycle table
TABLE_SIZE = 2048
#: the CNN trains on 32-frame (6.4 s) crops: a held tonic must last into every crop of an FX
CROP_SECONDS = 6.4
#: voice kinds of :class:`Timbre`
TIMBRES = ("supersaw", "pwm", "wavetable")
FX_KINDS = ("riser", "downlifter", "impact", "swell", "reversed", "gated", "arp")
BASS_KINDS = ("reese", "sub", "808")
PLUCK_KINDS = ("string", "bell", "epiano")
BUZZ_KINDS = ("sitar", "tanpura", "strum")
KEYLESS_KINDS = ("noise_riser", "noise_fall", "impact", "reverse_swell")


def _samples(duration: float, sr: int) -> int:
    return int(round(duration * sr))


# -- pitches -------------------------------------------------------------------------------


def tonic_midi(key: int, octave: int) -> int:
    """MIDI number of the key's tonic in ``octave`` (C4 = 60)."""
    return 12 * (octave + 1) + keys.tonic_pc(key)


def tonic_quality(key: int, *, seventh: bool = False) -> str:
    """The tonic chord's quality: ``maj``/``maj7`` in major keys, ``min``/``min7`` in minor keys."""
    return ("min7" if seventh else "min") if keys.is_minor(key) else ("maj7" if seventh else "maj")


def degree_pitch(key: int, step: int, octave: int) -> int:
    """MIDI number of scale step ``step`` (0 = tonic, 7 = its octave, negative below) of the key."""
    return datagen._scale_pitch(key, step, octave)


# -- oscillators ---------------------------------------------------------------------------


def harmonic_count(top_hz: float, sr: int) -> int:
    """How many harmonics of a tone whose highest fundamental is ``top_hz`` Hz stay below 0.45 ``sr``."""
    return int(np.clip(0.45 * sr / max(top_hz, 1.0), 1, TABLE_SIZE // 2 - 1))


def wavetable(amplitudes: np.ndarray, *, size: int = TABLE_SIZE) -> np.ndarray:
    """One cycle of a periodic wave from its harmonic amplitudes (sine phases), peak 1.

    Parameters
    ----------
    amplitudes : np.ndarray [shape=(k,)]
        amplitude of harmonics 1..k, ``k < size / 2``.

    Returns
    -------
    np.ndarray [shape=(size,), dtype=float64]
    """
    spectrum = np.zeros(size // 2 + 1, dtype=complex)
    spectrum[1 : len(amplitudes) + 1] = -1j * np.asarray(amplitudes, dtype=float)
    cycle = np.fft.irfft(spectrum, n=size)
    return cycle / max(float(np.abs(cycle).max()), 1e-12)


def saw_table(top_hz: float, sr: int) -> np.ndarray:
    """A band-limited sawtooth cycle (harmonic k at 1/k) for fundamentals up to ``top_hz`` Hz."""
    k = np.arange(1, harmonic_count(top_hz, sr) + 1)
    return wavetable(1.0 / k)


def phase_of(freq_hz: np.ndarray, sr: int, start: float = 0.0) -> np.ndarray:
    """Running phase in cycles, in [0, 1), of a per-sample frequency ``freq_hz`` [shape=(n,)] in Hz."""
    return (start + np.cumsum(freq_hz) / sr) % 1.0


def read_table(table: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Read a single-cycle table at ``phase`` (cycles in [0, 1)) with linear interpolation."""
    position = phase * table.size
    i = position.astype(np.int64) % table.size
    frac = position - np.floor(position)
    return table[i] + frac * (table[(i + 1) % table.size] - table[i])


def lfo(n: int, sr: int, rate_hz: float, rng: np.random.Generator) -> np.ndarray:
    """A sine in [-1, 1] at ``rate_hz`` Hz with a random starting phase, ``n`` samples long."""
    return np.sin(2 * np.pi * (rate_hz * np.arange(n) / sr + rng.random()))


@dataclass(frozen=True)
class Timbre:
    """How a synth voice sounds.

    ``kind`` is one of :data:`TIMBRES`: a unison of ``voices`` band-limited saws,
    of pulse waves whose width swings at ``mod_hz`` Hz, or of a wavetable that
    morphs at ``mod_hz`` Hz between two additive spectra (harmonic ``k`` has
    amplitude ``k ** -tilt`` times a bump at harmonic ``formant``). The unison is
    detuned evenly over ±``spread_cents``.
    """

    kind: str
    voices: int
    spread_cents: float
    tilt: float = 1.0
    formant: float = 4.0
    mod_hz: float = 0.2


#: the share of pad voices detuned ±30–50 cents (:func:`draw_timbre`)
WIDE_DETUNE_SHARE = 0.3


def draw_timbre(rng: np.random.Generator, *, kinds: tuple[str, ...] = TIMBRES) -> Timbre:
    """A random pad voice: 3–7 saws, 2–4 PWM pulses or 1–3 wavetables, detuned ±5–30 cents, or ±30–50 cents
    :data:`WIDE_DETUNE_SHARE` of the time (a supersaw's outer voices at a wide setting: its partials smear into
    bands, and a pad of them can sound more like noise than notes)."""
    kind = str(rng.choice(kinds))
    low, high = {"supersaw": (3, 7), "pwm": (2, 4), "wavetable": (1, 3)}[kind]
    voices = int(rng.integers(low, high + 1))
    # one draw, as before the wide share: the rest of the material is drawn as it was
    u = float(rng.uniform(0.0, 1.0))
    narrow = 1.0 - WIDE_DETUNE_SHARE
    spread = 5.0 + 25.0 * u / narrow if u < narrow else 30.0 + 20.0 * (u - narrow) / WIDE_DETUNE_SHARE
    return Timbre(
        kind=kind,
        voices=voices,
        spread_cents=spread,
        tilt=float(rng.uniform(0.7, 2.0)),
        formant=float(np.exp(rng.uniform(np.log(2), np.log(16)))),
        mod_hz=float(rng.uniform(0.05, 0.5)),
    )


def _spectrum(timbre: Timbre, count: int, shift_octaves: float = 0.0) -> np.ndarray:
    k = np.arange(1, count + 1)
    bump = 1 + 3 * np.exp(-0.5 * (np.log2(k / (timbre.formant * 2**shift_octaves)) / 0.5) ** 2)
    return k**-timbre.tilt * bump


def voice(timbre: Timbre, pitch: float | np.ndarray, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One note of ``timbre``, no envelope.

    Parameters
    ----------
    pitch : float or np.ndarray [shape=(n,)]
        a MIDI number, or one per sample (glides).

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float64], peak about 1.
    """
    hz = np.broadcast_to(np.asarray(midi_to_hz(pitch), dtype=float), (n,))
    count = harmonic_count(float(hz.max()) * 2 ** (timbre.spread_cents / 1200), sr)
    if timbre.kind == "wavetable":
        tables = [wavetable(_spectrum(timbre, count)), wavetable(_spectrum(timbre, count, float(rng.uniform(1, 2))))]
        morph = 0.5 + 0.5 * lfo(n, sr, timbre.mod_hz, rng)
    else:
        tables = [wavetable(1.0 / np.arange(1, count + 1))]
    if timbre.kind == "pwm":
        width = 0.5 + float(rng.uniform(0.1, 0.4)) * lfo(n, sr, timbre.mod_hz, rng)
    spread = np.linspace(-1, 1, timbre.voices) if timbre.voices > 1 else np.zeros(1)
    cents = timbre.spread_cents * (spread + rng.uniform(-0.1, 0.1, spread.size) * (timbre.voices > 1))
    out = np.zeros(n)
    for c in cents:
        phase = phase_of(hz * 2 ** (c / 1200), sr, float(rng.random()))
        y = read_table(tables[0], phase)
        if timbre.kind == "pwm":  # a pulse is the difference of two saws ``width`` of a cycle apart
            y = y - read_table(tables[0], (phase + width) % 1.0)
        elif timbre.kind == "wavetable":
            y = y + morph * (read_table(tables[1], phase) - y)
        out += y
    return out / np.sqrt(cents.size)


def chord_voices(
    timbre: Timbre, voicing: list[tuple[float, float]], n: int, sr: int, rng: np.random.Generator, *, offset=0.0
) -> np.ndarray:
    """The sum of :func:`voice` over ``(MIDI, gain)`` pairs, all shifted by ``offset`` semitones (a float or
    a per-sample curve [shape=(n,)]: parallel glides)."""
    out = np.zeros(n)
    for midi, gain in voicing:
        out += gain * voice(timbre, midi + np.asarray(offset), n, sr, rng)
    return out


def colored_noise(n: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    """Noise with power falling as ``f ** -exponent``: 0 white, 1 pink, 2 brown; unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spectrum.size, dtype=float)
    f[0] = 1.0
    y = np.fft.irfft(spectrum * f ** (-exponent / 2), n=n)
    return y / max(float(np.std(y)), 1e-12)


# -- filters and envelopes ----------------------------------------------------------------


def biquad(kind: str, cutoff_hz: float, q: float, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """RBJ-cookbook ``lowpass``, ``highpass`` or ``bandpass`` (0 dB peak) coefficients ``(b, a)``."""
    w = 2 * np.pi * cutoff_hz / sr
    cos, alpha = np.cos(w), np.sin(w) / (2 * q)
    if kind == "lowpass":
        b = np.array([(1 - cos) / 2, 1 - cos, (1 - cos) / 2])
    elif kind == "highpass":
        b = np.array([(1 + cos) / 2, -(1 + cos), (1 + cos) / 2])
    elif kind == "bandpass":
        b = np.array([alpha, 0.0, -alpha])
    else:
        raise ValueError(f"kind={kind!r} is not one of lowpass, highpass, bandpass")
    a = np.array([1 + alpha, -2 * cos, 1 - alpha])
    return b / a[0], a / a[0]


def swept_filter(
    y: np.ndarray, cutoff_hz, sr: int, *, kind: str = "lowpass", q: float = 0.707, block: int = 256
) -> np.ndarray:
    """A biquad whose cutoff follows ``cutoff_hz`` (Hz, a float or one per sample), updated every ``block`` samples.

    The filter state carries across blocks, so slow sweeps are smooth.
    """
    cutoff = np.clip(np.broadcast_to(np.asarray(cutoff_hz, dtype=float), y.shape), 20.0, 0.45 * sr)
    out = np.empty(y.size)
    state = np.zeros(2)
    for start in range(0, y.size, block):
        end = min(y.size, start + block)
        b, a = biquad(kind, float(cutoff[(start + end) // 2]), q, sr)
        out[start:end], state = signal.lfilter(b, a, y[start:end], zi=state)
    return out


def one_pole(y: np.ndarray, sr: int, seconds: float) -> np.ndarray:
    """A one-pole low-pass smoother with time constant ``seconds``."""
    p = np.exp(-1.0 / max(seconds * sr, 1e-9))
    return signal.lfilter([1 - p], [1, -p], y)


def dc_block(y: np.ndarray, sr: int, cutoff_hz: float = 20.0) -> np.ndarray:
    """Remove DC and subsonic drift with a first-order high-pass at ``cutoff_hz`` Hz."""
    b, a = signal.butter(1, cutoff_hz / (sr / 2), btype="high")
    return signal.lfilter(b, a, y)


def sweep_curve(n: int, start_hz: float, end_hz: float, *, shape: float = 1.0) -> np.ndarray:
    """``n`` frequencies in Hz moving geometrically from ``start_hz`` to ``end_hz``; ``shape`` > 1 lingers at the
    start and hurries at the end."""
    u = np.linspace(0.0, 1.0, n) ** shape
    return start_hz * (end_hz / start_hz) ** u


def sidechain_gain(n: int, sr: int, *, bpm: float, duck_db: float, recover_beats: float) -> np.ndarray:
    """Gain of a pad pumped by a four-on-the-floor kick: down ``duck_db`` dB on each beat at ``bpm``,
    back to 1 over ``recover_beats`` beats (a 3 ms smoother takes the click out of the duck)."""
    beat = 60.0 / bpm
    since = (np.arange(n) / sr) % beat
    floor = 10 ** (-duck_db / 20)
    gain = floor + (1 - floor) * np.clip(since / (recover_beats * beat), 0.0, 1.0) ** 1.5
    return one_pole(gain, sr, 0.003)


def trance_gate(n: int, sr: int, rng: np.random.Generator, *, bpm: float) -> np.ndarray:
    """A 16-step sixteenth-note gate at ``bpm`` (the first step and 50–85 % of the others open), edges
    smoothed over 4 ms."""
    step = 15.0 / bpm
    pattern = rng.random(16) < rng.uniform(0.5, 0.85)
    pattern[0] = True
    t = np.arange(n) / sr
    index = (t / step).astype(int)
    within = t - index * step
    duty = float(rng.uniform(0.4, 0.9))
    gate = pattern[index % 16] & (within < duty * step)
    return one_pole(gate.astype(float), sr, 0.004)


def envelope(n: int, sr: int, *, attack: float, release: float) -> np.ndarray:
    """Attack ``attack`` s, full sustain, linear release over the last ``release`` s (:func:`synth.adsr`)."""
    return synth.adsr(n, sr, attack=attack, decay=1.0, sustain=1.0, release=min(release, n / sr))


def decay_envelope(n: int, sr: int, *, decay_s: float, attack_s: float = 0.002) -> np.ndarray:
    """A struck envelope: linear attack over ``attack_s`` s, then ``exp(-t / decay_s)``."""
    t = np.arange(n) / sr
    return np.minimum(t / attack_s, 1.0) * np.exp(-t / decay_s)


# -- effects --------------------------------------------------------------------------------


def chorus(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """1–3 copies through delays of 8–25 ms swung ±0.5–4 ms by 0.1–1.5 Hz sines, mixed 30–60 % wet."""
    n = np.arange(y.size)
    wet = np.zeros(y.size)
    copies = int(rng.integers(1, 4))
    for _ in range(copies):
        delay = float(rng.uniform(0.008, 0.025)) + float(rng.uniform(0.0005, 0.004)) * lfo(
            y.size, sr, float(rng.uniform(0.1, 1.5)), rng
        )
        wet += np.interp(n - delay * sr, n, y, left=0.0)
    mix = float(rng.uniform(0.3, 0.6))
    return (1 - mix) * y + mix * wet / copies


def reverb_tail(
    y: np.ndarray, sr: int, rng: np.random.Generator, *, rt60: float, wet: float, predelay: float = 0.0
) -> np.ndarray:
    """Convolution with exponentially decaying noise of ``rt60`` s that darkens as it decays (its cutoff falls
    from 8 kHz to 0.8–3 kHz), after ``predelay`` s; ``wet`` in [0, 1] of unit-energy reverb, the rest dry.

    The output keeps the input's length: leave room at the end for the tail.
    """
    n = _samples(rt60, sr)
    ir = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / n)
    ir = swept_filter(ir, sweep_curve(n, 8000.0, float(rng.uniform(800, 3000))), sr, block=1024)
    ir = np.concatenate([np.zeros(_samples(predelay, sr)), ir / np.sqrt(np.sum(ir**2))])
    tail = signal.fftconvolve(y, ir)[: y.size]
    return (1 - wet) * y + wet * tail


def feedback_delay(
    y: np.ndarray, sr: int, *, delay_s: float, feedback: float, wet: float, damping_hz: float = 4000.0
) -> np.ndarray:
    """Echoes every ``delay_s`` s, each ``feedback`` times the last and low-passed at ``damping_hz`` Hz,
    until they fall 60 dB or leave the signal; ``wet`` in [0, 1]."""
    shift = max(1, _samples(delay_s, sr))
    b, a = signal.butter(1, damping_hz / (sr / 2))
    echo, echoes, k = y, np.zeros(y.size), 1
    while k * shift < y.size and feedback**k > 1e-3:
        echo = signal.lfilter(b, a, echo) * feedback
        echoes[k * shift :] += echo[: y.size - k * shift]
        k += 1
    return (1 - wet) * y + wet * echoes


def soft_clip(y: np.ndarray, drive: float) -> np.ndarray:
    """``tanh`` saturation: the signal scaled to peak ``drive`` (1 gentle … 6 hard), back to peak about 1."""
    peak = max(float(np.abs(y).max()), 1e-12)
    return np.tanh(drive * y / peak) / np.tanh(drive)


def bit_crush(y: np.ndarray, *, bits: int, hold: int) -> np.ndarray:
    """Quantise to ``bits`` bits and hold every ``hold``-th sample (sample-rate reduction by ``hold``)."""
    peak = max(float(np.abs(y).max()), 1e-12)
    levels = 2 ** (bits - 1)
    held = np.repeat(y[::hold], hold)[: y.size]
    return np.round(held / peak * levels) / levels * peak


def space(y: np.ndarray, sr: int, rng: np.random.Generator, *, rt60: tuple[float, float] = (1.5, 8.0)) -> np.ndarray:
    """A long tail: a decaying-noise reverb (RT60 drawn from ``rt60`` s, 20–60 % wet), a tempo feedback delay
    (dotted-eighth to half-note at 70–175 BPM), or both."""
    choice = rng.random()
    if choice < 0.4 or choice >= 0.75:
        beat = 60.0 / float(rng.uniform(70, 175))
        y = feedback_delay(
            y,
            sr,
            delay_s=beat * float(rng.choice([0.75, 0.5, 1.0, 1.5, 2.0])),
            feedback=float(rng.uniform(0.3, 0.7)),
            wet=float(rng.uniform(0.2, 0.5)),
            damping_hz=float(rng.uniform(1500, 6000)),
        )
    if choice >= 0.4:
        y = reverb_tail(
            y,
            sr,
            rng,
            rt60=float(rng.uniform(*rt60)),
            wet=float(rng.uniform(0.2, 0.6)),
            predelay=float(rng.uniform(0, 0.04)),
        )
    return y


def lofi(y: np.ndarray, rng: np.random.Generator, *, p_clip: float = 0.25, p_crush: float = 0.12) -> np.ndarray:
    """Sometimes soft-clip (drive 1.5–5), sometimes bit-crush (8–12 bits, rate / 1–3)."""
    if rng.random() < p_clip:
        y = soft_clip(y, float(rng.uniform(1.5, 5.0)))
    if rng.random() < p_crush:
        y = bit_crush(y, bits=int(rng.integers(8, 13)), hold=int(rng.integers(1, 4)))
    return y


# -- pads ------------------------------------------------------------------------------------


def pad_voicing(key: int, degree: int, quality: str, rng: np.random.Generator) -> list[tuple[float, float]]:
    """``(MIDI, gain)`` of a chord on ``degree`` spread over 2–3 octaves: its root in octave 2, the chord in
    octave 3, and/or an open upper voicing (third and fifth, and seventh, an octave up) in octave 4."""
    chord = datagen.chord_pitches(key, degree, quality, octave=3)
    layers = [("bass", "mid"), ("mid", "top"), ("bass", "mid", "top")][int(rng.integers(3))]
    out: list[tuple[float, float]] = []
    if "bass" in layers:
        out.append((chord[0] - 12, 1.0))
    out += [(p, 0.7) for p in chord]
    if "top" in layers:
        out += [(p + 12, 0.5) for p in chord[1:]]
    return out


def drone_voicing(key: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    """A tonic-and-fifth drone in octaves 2–3: in a major key with the third held softly above it, in a minor
    key without a third (a power-chord drone)."""
    tonic = tonic_midi(key, 2)
    out: list[tuple[float, float]] = [(tonic, 1.0), (tonic + 7, 0.8), (tonic + 12, 0.7), (tonic + 19, 0.5)]
    # A drone without a third has no mode, yet packs name one, and electronic music is mostly minor (GiantSteps:
    # 511 of 604): left to chance, a saw's fifth harmonic (a major third) tips such a drone to major.
    if keys.is_minor(key):
        return out
    third = degree_pitch(key, 2, 4)
    return out + [(third, float(rng.uniform(0.3, 0.5)))]


def pad_chords(key: int, rng: np.random.Generator, held: float) -> list[tuple[float, float, list]]:
    """The chords of a pad as ``(start s, end s, voicing)`` over ``held`` seconds.

    One tonic triad, colour (:func:`datagen.tonic_colour`) or seventh (30, 15 and 15 %), a tonic-fifth drone
    (20 %, :func:`drone_voicing`) or a slow two-chord change between the tonic chord and IV, V or vi (major) /
    iv, VI or VII (minor) of the key's own scale (20 %): tonic chords of 2–4 s, the other of 1.5–3 s, starting
    and ending on the tonic, so any 6.4 s window holds the tonic.
    """
    draw = rng.random()
    if draw < 0.3:
        return [(0.0, held, pad_voicing(key, 0, tonic_quality(key), rng))]
    if draw < 0.45:
        return [(0.0, held, pad_voicing(key, 0, datagen.tonic_colour(key, rng), rng))]
    if draw < 0.6:
        return [(0.0, held, pad_voicing(key, 0, tonic_quality(key, seventh=True), rng))]
    if draw < 0.8:
        return [(0.0, held, drone_voicing(key, rng))]
    others = [(5, "maj"), (3, "min"), (6, "maj")] if keys.is_minor(key) else [(3, "maj"), (4, "maj"), (5, "min")]
    degree, quality = others[int(rng.integers(len(others)))]
    home = pad_voicing(key, 0, tonic_quality(key), rng)
    away = pad_voicing(key, degree, quality, rng)
    home_s, away_s = float(rng.uniform(2.0, 4.0)), float(rng.uniform(1.5, 3.0))
    segments, t, at_home = [], 0.0, True
    while t < held:
        length = home_s if at_home else away_s
        if held - (t + length) < home_s * 0.5:  # too little left for another chord: end on the tonic
            segments.append((t, held, home) if at_home else (t, held, away))
            break
        segments.append((t, t + length, home if at_home else away))
        t, at_home = t + length, not at_home
    if segments[-1][2] is away:
        start = segments[-1][0]
        segments[-1] = (start, start + (held - start) / 3, away)
        segments.append((segments[-1][1], held, home))
    return segments


def filter_motion(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A pad's low-pass cutoff in Hz: around 300–2,500 Hz, swung 0.5–3 octaves by a 0.05–0.5 Hz sine, or (a
    third of the time) a slow opening or closing sweep of 1–4 octaves."""
    centre = float(np.exp(rng.uniform(np.log(300), np.log(2500))))
    if rng.random() < 1 / 3:
        octaves = float(rng.uniform(1, 4)) * (1 if rng.random() < 0.6 else -1)
        return sweep_curve(
            n, centre * 2 ** (-octaves / 2), centre * 2 ** (octaves / 2), shape=float(rng.uniform(0.5, 2))
        )
    return centre * 2 ** (float(rng.uniform(0.25, 1.5)) * lfo(n, sr, float(rng.uniform(0.05, 0.5)), rng))


def amplitude_motion(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A pad's gain: sidechain pumping at 70–175 BPM ducking 3–12 dB (40 %), a slow tremolo of 0.1–2 Hz and
    10–50 % depth (35 %), or steady."""
    draw = rng.random()
    if draw < 0.4:
        return sidechain_gain(
            n,
            sr,
            bpm=float(rng.uniform(70, 175)),
            duck_db=float(rng.uniform(3, 12)),
            recover_beats=float(rng.uniform(0.4, 0.9)),
        )
    if draw < 0.75:
        depth = float(rng.uniform(0.1, 0.5))
        return 1 - depth * (0.5 + 0.5 * lfo(n, sr, float(rng.uniform(0.1, 2.0)), rng))
    return np.ones(n)


def pad(key: int, rng: np.random.Generator) -> np.ndarray:
    """A sustained pad or drone in ``key``, 4–16 s.

    One chord held (the tonic triad, seventh or a colour such as 6/9 or m9, a tonic-fifth drone (with the third
    above in a major key), or a slow change between the tonic chord and another chord of the key, see
    :func:`pad_chords`), voiced over 2–3 octaves; every note a unison of detuned saws, PWM pulses or morphing wavetables
    (:func:`draw_timbre`), a slow attack (0.2–3 s) 60 % of the time; a swept resonant low-pass
    (:func:`filter_motion`), sidechain pumping or tremolo (:func:`amplitude_motion`), chorus, a long reverb or
    delay tail, sometimes saturation and bit reduction.

    Returns
    -------
    np.ndarray [shape=(4 … 16 s × datagen.SR,), dtype=float32], peak 0.9.
    """
    sr = datagen.SR
    duration = float(rng.uniform(4, 16))
    n = _samples(duration, sr)
    held = duration * (1 - float(rng.uniform(0.0, 0.25)))  # the rest is release and tail
    timbre = draw_timbre(rng)
    attack = float(rng.uniform(0.2, min(3.0, held / 2))) if rng.random() < 0.6 else float(rng.uniform(0.01, 0.2))
    release = float(rng.uniform(0.3, 2.0))
    xfade = 0.15
    segments = pad_chords(key, rng, held)
    y = np.zeros(n)
    for i, (t0, t1, voicing) in enumerate(segments):
        first, last = i == 0, i == len(segments) - 1
        start = _samples(max(0.0, t0 - (0 if first else xfade / 2)), sr)
        end = min(n, _samples(t1 + (release if last else xfade / 2), sr))
        m = end - start
        env = envelope(m, sr, attack=attack if first else xfade, release=release if last else xfade)
        y[start:end] += env * chord_voices(timbre, voicing, m, sr, rng)
    y = swept_filter(y, filter_motion(n, sr, rng), sr, q=float(rng.uniform(0.5, 2.0)))
    y *= amplitude_motion(n, sr, rng)
    if rng.random() < 0.6:
        y = chorus(y, sr, rng)
    if rng.random() < 0.85:
        y = space(y, sr, rng)
    return synth.normalise(lofi(y, rng))


# -- tonal FX ---------------------------------------------------------------------------------


def tonic_voicing(key: int, rng: np.random.Generator, *, octave: int = 3) -> list[tuple[float, float]]:
    """``(MIDI, gain)`` of the tonic triad (a seventh 25 %, a colour 15 %: :func:`datagen.tonic_colour`) in
    ``octave``, with its root an octave below."""
    draw = rng.random()
    quality = tonic_quality(key, seventh=draw < 0.25) if draw < 0.85 else datagen.tonic_colour(key, rng)
    chord = datagen.chord_pitches(key, 0, quality, octave=octave)
    return [(float(chord[0] - 12), 0.9)] + [(float(p), 0.7) for p in chord]


def noise_sweep(
    n: int, sr: int, rng: np.random.Generator, cutoff_hz: np.ndarray, *, kind: str = "bandpass"
) -> np.ndarray:
    """White-to-pink noise through a swept ``bandpass`` (Q 0.5–1.5) or ``lowpass`` following ``cutoff_hz``
    [shape=(n,)] in Hz: the wash of a riser, without a pitch."""
    noise = colored_noise(n, rng, float(rng.uniform(0.0, 1.0)))
    return swept_filter(noise, cutoff_hz, sr, kind=kind, q=float(rng.uniform(0.5, 1.5)))


def _fx_duration(rng: np.random.Generator) -> float:
    return float(rng.uniform(1.5, 8.0))


def _held_seconds(duration: float, rng: np.random.Generator, low: float, high: float) -> float:
    """How long an FX holds its tonic: ``low``–``high`` of it, and long enough to be in every 6.4 s crop."""
    return min(duration, max(float(rng.uniform(low, high)) * duration, duration - (CROP_SECONDS - 1.0)))


def riser(key: int, rng: np.random.Generator, sr: int) -> np.ndarray:
    """A riser: pitch glides up 7–36 semitones (linear-in-pitch, accelerating or easing) and lands on the tonic,
    holding it for 35–60 % of the FX (at least the last second of any 6.4 s crop). Half are supersaw
    chord risers whose every voice lands on the tonic chord; half a lead that lands on the tonic (or its
    octave) with the tonic triad blooming under it. The filter opens with the glide; a noise wash rises with it
    70 % of the time and dies away after the landing."""
    duration = _fx_duration(rng)
    n = _samples(duration, sr)
    hold = _held_seconds(duration, rng, 0.35, 0.6)
    glide = duration - hold
    t = np.arange(n) / sr
    u = np.clip(t / max(glide, 1e-3), 0.0, 1.0)
    offset = -float(rng.uniform(7, 36)) * (1 - u) ** float(rng.uniform(0.5, 2.5))
    timbre = draw_timbre(rng)
    if rng.random() < 0.5:
        y = chord_voices(timbre, tonic_voicing(key, rng, octave=int(rng.choice([3, 4]))), n, sr, rng, offset=offset)
    else:
        lead = voice(timbre, tonic_midi(key, int(rng.choice([4, 5]))) + offset, n, sr, rng)
        bloom = np.clip((t - glide) / float(rng.uniform(0.05, 0.4)), 0.0, 1.0)
        y = lead + bloom * chord_voices(timbre, tonic_voicing(key, rng), n, sr, rng) * float(rng.uniform(0.4, 0.8))
    cutoff = float(rng.uniform(200, 600)) * 2 ** (float(rng.uniform(2, 5)) * u)  # opens, then stays open
    y = swept_filter(y, cutoff, sr, q=float(rng.uniform(0.7, 2.5)))
    y *= 0.25 + 0.75 * u ** float(rng.uniform(0.5, 2.0))
    if rng.random() < 0.7:
        wash = noise_sweep(n, sr, rng, sweep_curve(n, float(rng.uniform(200, 800)), float(rng.uniform(4000, 9000))))
        wash *= u**2 * np.exp(-np.maximum(t - glide, 0) / float(rng.uniform(0.05, 0.4)))
        y += float(rng.uniform(0.1, 0.4)) * wash / max(float(np.abs(wash).max()), 1e-12) * np.abs(y).max()
    y *= envelope(n, sr, attack=0.01, release=float(rng.uniform(0.05, 0.5)) * hold)
    if rng.random() < 0.6:
        y = reverb_tail(y, sr, rng, rt60=float(rng.uniform(1.0, 4.0)), wet=float(rng.uniform(0.15, 0.4)))
    return y


def downlifter(key: int, rng: np.random.Generator, sr: int) -> np.ndarray:
    """A downlifter: the tonic chord held for 30–50 % of the FX (at least the first second of any 6.4 s crop),
    then every voice glides down 12–36 semitones while the filter closes and the sound fades; a falling
    noise wash 60 % of the time."""
    duration = _fx_duration(rng)
    n = _samples(duration, sr)
    hold = _held_seconds(duration, rng, 0.3, 0.5)
    t = np.arange(n) / sr
    v = np.clip((t - hold) / max(duration - hold, 1e-3), 0.0, 1.0)
    offset = -float(rng.uniform(12, 36)) * v ** float(rng.uniform(0.7, 2.0))
    timbre = draw_timbre(rng)
    y = chord_voices(timbre, tonic_voicing(key, rng, octave=int(rng.choice([3, 4]))), n, sr, rng, offset=offset)
    y = swept_filter(y, float(rng.uniform(1500, 6000)) * 2 ** (-float(rng.uniform(2, 5)) * v), sr)
    y *= np.exp(-float(rng.uniform(2, 5)) * v)
    if rng.random() < 0.6:
        wash = noise_sweep(n, sr, rng, sweep_curve(n, float(rng.uniform(4000, 9000)), float(rng.uniform(150, 500))))
        wash *= np.exp(-3 * v) * np.minimum(t / 0.05, 1)
        y += float(rng.uniform(0.1, 0.3)) * wash / max(float(np.abs(wash).max()), 1e-12) * np.abs(y).max()
    y *= envelope(n, sr, attack=float(rng.uniform(0.005, 0.3)), release=0.05)
    if rng.random() < 0.5:
        y = reverb_tail(y, sr, rng, rt60=float(rng.uniform(1.0, 4.0)), wet=float(rng.uniform(0.15, 0.4)))
    return y


def boom(midi: float, n: int, sr: int, rng: np.random.Generator, *, drop_s: float) -> np.ndarray:
    """A pitched boom: a sine with octave and twelfth partials whose pitch falls exponentially from 12–36
    semitones above ``midi`` to within 0.1 semitone of it in ``drop_s`` s (50–300 ms), then rings on it,
    decaying with a 0.5–2 s time constant."""
    t = np.arange(n) / sr
    drop = float(rng.uniform(12, 36))
    pitch = midi + drop * np.exp(-t * np.log(drop / 0.1) / drop_s)
    phase = 2 * np.pi * np.cumsum(midi_to_hz(pitch)) / sr
    partials = np.sin(phase) + float(rng.uniform(0.2, 0.5)) * np.sin(2 * phase) + 0.15 * np.sin(3 * phase)
    return partials * decay_envelope(n, sr, decay_s=float(rng.uniform(0.5, 2.0)))


def impact(key: int, rng: np.random.Generator, sr: int) -> np.ndarray:
    """A pitched impact: a boom that drops onto the tonic (octave 2) and rings there (:func:`boom`), a
    10–60 ms noise transient, and the tonic chord struck with it and decaying over 0.7–2.5 s, all in a long
    reverb (RT60 2–6 s)."""
    duration = _fx_duration(rng)
    n = _samples(duration, sr)
    y = boom(tonic_midi(key, 2), n, sr, rng, drop_s=float(rng.uniform(0.05, 0.3)))
    hit = colored_noise(n, rng, float(rng.uniform(0, 1))) * decay_envelope(
        n, sr, decay_s=float(rng.uniform(0.01, 0.06))
    )
    y += float(rng.uniform(0.3, 0.8)) * hit
    stab = chord_voices(draw_timbre(rng), tonic_voicing(key, rng, octave=int(rng.choice([3, 4]))), n, sr, rng)
    stab = swept_filter(stab, sweep_curve(n, float(rng.uniform(3000, 8000)), float(rng.uniform(300, 1000))), sr)
    y += float(rng.uniform(0.3, 0.7)) * stab * decay_envelope(n, sr, decay_s=float(rng.uniform(0.7, 2.5)))
    if rng.random() < 0.5:
        y = soft_clip(y, float(rng.uniform(1.5, 4)))
    return reverb_tail(y, sr, rng, rt60=float(rng.uniform(2, 6)), wet=float(rng.uniform(0.3, 0.6)))


def swell(key: int, rng: np.random.Generator, sr: int) -> np.ndarray:
    """A reverse-reverb swell: the tonic chord struck for 0.2–0.6 s, only its reverb tail (RT60 about the
    swell's length) kept and reversed, so it grows into the chord; half the time the dry chord then hits and
    decays for 0.3–1.5 s."""
    duration = _fx_duration(rng)
    hit_s = min(float(rng.uniform(0.3, 1.5)), 0.4 * duration) if rng.random() < 0.5 else 0.0
    n_swell, n_hit = _samples(duration - hit_s, sr), _samples(hit_s, sr)
    timbre = draw_timbre(rng)
    voicing = tonic_voicing(key, rng, octave=int(rng.choice([3, 4])))
    strike = min(_samples(float(rng.uniform(0.2, 0.6)), sr), n_swell // 3)
    chord = np.zeros(n_swell)
    chord[:strike] = chord_voices(timbre, voicing, strike, sr, rng) * envelope(strike, sr, attack=0.005, release=0.1)
    tail = reverb_tail(chord, sr, rng, rt60=(duration - hit_s) * float(rng.uniform(0.8, 1.5)), wet=1.0)
    y = tail[::-1] * np.linspace(0, 1, n_swell) ** float(rng.uniform(0.5, 2))
    if n_hit:
        dry = chord_voices(timbre, voicing, n_hit, sr, rng) * decay_envelope(n_hit, sr, decay_s=hit_s / 3)
        y = np.concatenate([y / max(float(np.abs(y).max()), 1e-12), dry / max(float(np.abs(dry).max()), 1e-12)])
    return y


def reversed_chord(key: int, rng: np.random.Generator, sr: int) -> np.ndarray:
    """A reversed chord: the tonic chord struck, its filter closing and level decaying (0.5–2 s time constant),
    in a little reverb, played backwards so it swells to an abrupt stop; 1.5–6 s."""
    duration = float(rng.uniform(1.5, 6.0))
    n = _samples(duration, sr)
    y = chord_voices(draw_timbre(rng), tonic_voicing(key, rng, octave=int(rng.choice([3, 4]))), n, sr, rng)
    y = swept_filter(y, sweep_curve(n, float(rng.uniform(3000, 8000)), float(rng.uniform(300, 1200))), sr)
    y *= decay_envelope(n, sr, decay_s=float(rng.uniform(0.5, 2.0)), attack_s=0.003)
    if rng.random() < 0.6:
        y = reverb_tail(y, sr, rng, rt60=float(rng.uniform(1, 3)), wet=float(rng.uniform(0.2, 0.5)))
    return y[::-1]


def gated(key: int, rng: np.random.Generator, sr: int) -> np.ndarray:
    """A trance-gated tonic-chord pad: a supersaw or PWM chord chopped by a 16-step gate at 100–150 BPM."""
    bpm = float(rng.uniform(100, 150))
    duration = _fx_duration(rng)
    n = _samples(duration, sr)
    timbre = draw_timbre(rng, kinds=("supersaw", "pwm"))
    y = chord_voices(timbre, pad_voicing(key, 0, tonic_quality(key), rng), n, sr, rng)
    y = swept_filter(y, filter_motion(n, sr, rng), sr, q=float(rng.uniform(0.5, 2.0)))
    y *= trance_gate(n, sr, rng, bpm=bpm) * envelope(n, sr, attack=0.01, release=0.05)
    if rng.random() < 0.5:
        y = feedback_delay(y, sr, delay_s=45 / bpm, feedback=float(rng.uniform(0.2, 0.5)), wet=0.3)
    return y


def arpeggio(key: int, rng: np.random.Generator, sr: int) -> np.ndarray:
    """An arpeggio of the tonic chord over two octaves (up, down or up-down) in sixteenths or eighths at
    100–175 BPM, each note a short filtered synth blip, through a dotted-eighth delay and a reverb."""
    bpm = float(rng.uniform(100, 175))
    step = (15.0 if rng.random() < 0.6 else 30.0) / bpm
    duration = _fx_duration(rng)
    n = _samples(duration, sr)
    chord = datagen.chord_pitches(
        key, 0, tonic_quality(key, seventh=rng.random() < 0.2), octave=int(rng.choice([3, 4]))
    )
    tones = chord + [p + 12 for p in chord] + [chord[0] + 24]
    order = {"up": tones, "down": tones[::-1], "updown": tones + tones[-2:0:-1]}[
        str(rng.choice(["up", "down", "updown"]))
    ]
    timbre = draw_timbre(rng)
    note_n = _samples(min(duration, step * float(rng.uniform(1.0, 4.0))), sr)
    decay = step * float(rng.uniform(0.5, 2.0))
    y = np.zeros(n)
    for i, start in enumerate(range(0, n, _samples(step, sr))):
        m = min(note_n, n - start)
        y[start : start + m] += voice(timbre, order[i % len(order)], m, sr, rng) * decay_envelope(m, sr, decay_s=decay)
    y = swept_filter(y, filter_motion(n, sr, rng), sr, q=float(rng.uniform(0.5, 2.0)))
    y = feedback_delay(y, sr, delay_s=45 / bpm, feedback=float(rng.uniform(0.3, 0.6)), wet=float(rng.uniform(0.2, 0.4)))
    return reverb_tail(y, sr, rng, rt60=float(rng.uniform(1, 4)), wet=float(rng.uniform(0.15, 0.4)))


_FX = {
    "riser": riser,
    "downlifter": downlifter,
    "impact": impact,
    "swell": swell,
    "reversed": reversed_chord,
    "gated": gated,
    "arp": arpeggio,
}


def tonal_fx(key: int, rng: np.random.Generator, *, kind: str | None = None) -> np.ndarray:
    """A sound-design FX in ``key``, 1.5–8 s, whose key is stated by what it lands on or holds: the tonic
    chord (triad, with its minor or major third).

    ``kind`` (drawn if ``None``) is one of :data:`FX_KINDS`: a ``riser`` that glides up and lands and holds on
    the tonic or the tonic chord; a ``downlifter`` that holds the tonic chord and glides down while fading; a
    pitched ``impact`` whose boom drops onto the tonic and rings, struck with the tonic chord; a ``swell``
    (the reversed reverb of the tonic chord); a ``reversed`` tonic chord; a ``gated`` tonic-chord pad; an
    ``arp`` of the tonic chord. Risers and downlifters hold the tonic long enough to be in every 6.4 s
    training crop.

    Returns
    -------
    np.ndarray [shape=(1.5 … 8 s × datagen.SR,), dtype=float32], peak 0.9.
    """
    if kind is None:
        kind = str(rng.choice(FX_KINDS, p=[0.25, 0.15, 0.15, 0.15, 0.1, 0.1, 0.1]))
    if kind not in _FX:
        raise ValueError(f"kind={kind!r} is not one of {FX_KINDS}")
    return synth.normalise(_FX[kind](key, rng, datagen.SR))


# -- basses -----------------------------------------------------------------------------------


def bass_line(
    key: int,
    rng: np.random.Generator,
    *,
    bpm: float,
    duration: float,
    octave: int,
    lengths: tuple[int, int],
    rest: float,
) -> list[tuple[float, float, int]]:
    """A monophonic line as ``(onset s, length s, MIDI)`` on an eighth-note grid at ``bpm``.

    Notes last ``lengths`` eighths (inclusive range); ``rest`` is the chance of a rest off the downbeat. The
    tonic takes every bar's downbeat and is the likeliest note elsewhere, then the fifth and octave; the third
    of the key's scale sounds at least once (on a later note), so that the mode is heard.
    """
    eighth = 30.0 / bpm
    steps = max(2, int(duration / eighth))
    longest = max(1, min(lengths[1], steps // 2))
    shortest = min(lengths[0], longest)
    degrees = np.array([0, 4, 7, 2, 5, 6, 3])
    weights = np.array([0.38, 0.18, 0.12, 0.16, 0.07, 0.05, 0.04])
    notes: list[tuple[int, int, int]] = []
    i = 0
    while i < steps:
        length = min(int(rng.integers(shortest, longest + 1)), steps - i)
        if i % 8 and rng.random() < rest:
            i += length
            continue
        degree = 0 if i % 8 == 0 else int(rng.choice(degrees, p=weights))
        notes.append((i, length, degree))
        i += length
    if len(notes) < 2:  # the first note is at most half the line: the third follows it
        notes.append((notes[0][1], 1, 2))
    if not any(d == 2 for _, _, d in notes):
        j = int(rng.integers(1, len(notes)))
        notes[j] = (notes[j][0], notes[j][1], 2)
    return [(i * eighth, length * eighth, degree_pitch(key, d, octave)) for i, length, d in notes]


def pitch_curve(line: list[tuple[float, float, int]], n: int, sr: int, *, glide_s: float) -> np.ndarray:
    """Per-sample MIDI pitch of a legato line: each note held until the next, reached by a glide of ``glide_s`` s
    (a one-pole slide, 0 for none)."""
    pitch = np.full(n, float(line[0][2]))
    for onset, _, midi in line:
        pitch[_samples(onset, sr) :] = midi
    return one_pole(pitch, sr, glide_s / 3) if glide_s > 0 else pitch


def gate_curve(line: list[tuple[float, float, int]], n: int, sr: int, *, release_s: float = 0.02) -> np.ndarray:
    """1 while a note of the line sounds, else 0, with ``release_s`` s edges."""
    gate = np.zeros(n)
    for onset, length, _ in line:
        gate[_samples(onset, sr) : _samples(onset + length, sr)] = 1.0
    return one_pole(gate, sr, release_s / 3)


def reese(key: int, rng: np.random.Generator, sr: int, *, duration: float, bpm: float) -> np.ndarray:
    """A reese: 2–3 saws detuned 8–30 cents apart (slow phasing) on a legato line of long notes in octave 1 or 2,
    through a low-pass at 150–1,200 Hz swung by a 0.1–1 Hz sine, often saturated."""
    n = _samples(duration, sr)
    line = bass_line(key, rng, bpm=bpm, duration=duration, octave=int(rng.choice([1, 2])), lengths=(2, 8), rest=0.1)
    timbre = Timbre(kind="supersaw", voices=int(rng.integers(2, 4)), spread_cents=float(rng.uniform(4, 15)))
    y = voice(timbre, pitch_curve(line, n, sr, glide_s=float(rng.uniform(0, 0.06))), n, sr, rng)
    cutoff = float(np.exp(rng.uniform(np.log(150), np.log(1200))))
    y = swept_filter(
        y, cutoff * 2 ** (0.7 * lfo(n, sr, float(rng.uniform(0.1, 1.0)), rng)), sr, q=float(rng.uniform(0.6, 1.5))
    )
    y *= gate_curve(line, n, sr)
    return soft_clip(y, float(rng.uniform(1, 4))) if rng.random() < 0.6 else y


def sub_808(key: int, rng: np.random.Generator, sr: int, *, duration: float, bpm: float, drive: float) -> np.ndarray:
    """A sub or 808 line: a sine (plus a little second harmonic) on each note of a sparse line in octave 1 or 2,
    struck with a 0.3–1.5 s decay. An 808 (``drive`` > 1) slides 40–150 ms from note to note, glides into a
    tonic from 2–12 semitones above at least once, and is saturated asymmetrically (``tanh`` at ``drive``) for
    harmonics the front end, which starts at C2, can see."""
    n = _samples(duration, sr)
    line = bass_line(key, rng, bpm=bpm, duration=duration, octave=int(rng.choice([1, 2])), lengths=(1, 4), rest=0.35)
    glide = float(rng.uniform(0.04, 0.15)) if drive > 1 else 0.0
    pitch = pitch_curve(line, n, sr, glide_s=glide)
    if drive > 1:  # the 808 slide into the tonic: the first tonic after the downbeat starts above it
        onset = next((o for o, _, m in line[1:] if (m - line[0][2]) % 12 == 0), 0.0)
        start = _samples(onset, sr)
        t = np.arange(n - start) / sr
        pitch[start:] += float(rng.integers(2, 13)) * np.exp(-t / (float(rng.uniform(0.04, 0.15)) / 3))
    phase = 2 * np.pi * np.cumsum(midi_to_hz(pitch)) / sr
    y = np.sin(phase) + float(rng.uniform(0.05, 0.25)) * np.sin(2 * phase)
    amp = np.zeros(n)
    decay = float(rng.uniform(0.3, 1.5))
    for onset, length, _ in line:
        start, end = _samples(onset, sr), min(n, _samples(onset + length, sr) + _samples(0.05, sr))
        amp[start:end] = decay_envelope(end - start, sr, decay_s=decay, attack_s=0.003)
    y = one_pole(amp, sr, 0.002) * y
    if drive > 1:
        y = np.tanh(drive * (y + 0.3)) - np.tanh(drive * 0.3)
    return dc_block(y, sr)


def bass(key: int, rng: np.random.Generator, *, kind: str | None = None) -> np.ndarray:
    """A bass phrase in ``key``, 2–8 s at 70–175 BPM: a ``reese``, a clean ``sub`` or a saturated ``808``
    (``kind``, drawn if ``None``, one of :data:`BASS_KINDS`), on a line that puts the tonic on every
    downbeat and most often elsewhere, with fifths, octaves and at least one third (:func:`bass_line`).

    Returns
    -------
    np.ndarray [shape=(2 … 8 s × datagen.SR,), dtype=float32], peak 0.9.
    """
    kind = kind or str(rng.choice(BASS_KINDS))
    sr, duration, bpm = datagen.SR, float(rng.uniform(2, 8)), float(rng.uniform(70, 175))
    if kind == "reese":
        y = reese(key, rng, sr, duration=duration, bpm=bpm)
    elif kind in ("sub", "808"):
        y = sub_808(key, rng, sr, duration=duration, bpm=bpm, drive=1.0 if kind == "sub" else float(rng.uniform(2, 6)))
    else:
        raise ValueError(f"kind={kind!r} is not one of {BASS_KINDS}")
    if rng.random() < 0.3:
        y = reverb_tail(y, sr, rng, rt60=float(rng.uniform(0.5, 2)), wet=float(rng.uniform(0.1, 0.25)))
    return synth.normalise(y)


# -- plucks, bells, e-pianos ----------------------------------------------------------------


def karplus_strong(
    midi: float,
    n: int,
    sr: int,
    rng: np.random.Generator,
    *,
    t60: float,
    brightness: float = 0.7,
    excitation: np.ndarray | None = None,
) -> np.ndarray:
    """A plucked string: a noise burst circling a delay loop one period long, damped by a two-point average.

    The loop is tuned to a fraction of a sample by a first-order all-pass and loses 60 dB at the fundamental in
    ``t60`` s (higher partials die sooner). ``brightness`` in (0, 1] low-passes the burst; ``excitation``
    [shape=(n,)] replaces it (a sympathetic string driven by other strings).

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float64]
    """
    period = sr / float(midi_to_hz(midi))
    delay = int(np.floor(period - 0.6))
    frac = period - 0.5 - delay
    c = (1 - frac) / (1 + frac)
    g = 10 ** (-3 / (float(midi_to_hz(midi)) * t60))
    # y = x + g z^-N avg(z) allpass(z) y  with avg = (1 + z^-1)/2 and allpass = (c + z^-1)/(1 + c z^-1)
    a = np.zeros(delay + 3)
    a[0], a[1] = 1.0, c
    a[delay:] -= 0.5 * g * np.array([c, 1 + c, 1])
    if excitation is None:
        burst = rng.uniform(-1, 1, delay + 1)
        burst = one_pole(burst, sr, (1.05 - brightness) / 4000)
        pick = int(rng.uniform(0.1, 0.3) * delay)  # plucking point: a comb on the burst
        burst = burst - np.concatenate([np.zeros(pick), burst[: burst.size - pick]])
        excitation = np.zeros(n)
        excitation[: min(n, burst.size)] = burst[:n]
    return signal.lfilter([1.0, c], a, excitation)


def fm_tone(
    midi: float, n: int, sr: int, *, ratio: float, index: float, index_decay_s: float, decay_s: float
) -> np.ndarray:
    """A 2-operator FM note: ``sin(2π f t + I(t) sin(2π ratio f t))`` with ``I(t) = index · exp(-t /
    index_decay_s)`` and a struck ``exp(-t / decay_s)`` envelope; ratio 1 or 2 e-piano, 3.5 bell."""
    t = np.arange(n) / sr
    f = float(midi_to_hz(midi))
    modulator = index * np.exp(-t / index_decay_s) * np.sin(2 * np.pi * ratio * f * t)
    return np.sin(2 * np.pi * f * t + modulator) * decay_envelope(n, sr, decay_s=decay_s)


def pluck_chords(key: int, rng: np.random.Generator) -> list[tuple[int, str]]:
    """A four-chord cycle over the tonic, IV and V of the key (minor: i, iv, and V or v), half of it tonic."""
    minor = keys.is_minor(key)
    names = {
        0: tonic_quality(key),
        3: "min" if minor else "maj",
        4: str(rng.choice(["maj", "min"])) if minor else "maj",
    }
    cycle = [(0, 3, 4, 0), (0, 4, 3, 0), (0, 0, 3, 4), (0, 3, 0, 4)][int(rng.integers(4))]
    return [(d, names[d]) for d in cycle]


def pluck_notes(
    key: int, rng: np.random.Generator, *, bpm: float, duration: float, octave: int
) -> list[tuple[float, int]]:
    """``(onset s, MIDI)`` of an arpeggio (60 %: sixteenths or eighths over the chord tones and the root an
    octave up) or of chord stabs on an eighth-note rhythm (40 %), over :func:`pluck_chords`, 2 or 4 beats
    a chord."""
    beat = 60.0 / bpm
    chords = pluck_chords(key, rng)
    chord_s = beat * float(rng.choice([2, 4]))
    notes: list[tuple[float, int]] = []
    if rng.random() < 0.6:
        step = beat / float(rng.choice([4, 2]))
        direction = str(rng.choice(["up", "down", "updown"]))
        for i in range(int(duration / step)):
            t = i * step
            degree, quality = chords[int(t / chord_s) % len(chords)]
            tones = datagen.chord_pitches(key, degree, quality, octave=octave)
            tones = tones + [tones[0] + 12]
            order = {"up": tones, "down": tones[::-1], "updown": tones + tones[-2:0:-1]}[direction]
            notes.append((t, order[i % len(order)]))
        return notes
    pattern = rng.random(8) < 0.5
    pattern[0] = True
    for i in range(int(duration / (beat / 2))):
        t = i * beat / 2
        if pattern[i % 8]:
            degree, quality = chords[int(t / chord_s) % len(chords)]
            notes += [(t, p) for p in datagen.chord_pitches(key, degree, quality, octave=octave)]
    return notes


def pluck(key: int, rng: np.random.Generator, *, kind: str | None = None) -> np.ndarray:
    """Plucks, bells or e-pianos playing the key's tonic, IV and V at 80–160 BPM, 2–8 s.

    ``kind`` (drawn if ``None``, one of :data:`PLUCK_KINDS`): a Karplus–Strong ``string`` in octave 3–4,
    a 2-operator FM ``bell`` (ratio 3.5 or 1.4, octave 4–5, long ring) or an FM ``epiano`` (ratio 1 or 2,
    octave 3–4), playing an arpeggio or chord stabs (:func:`pluck_notes`); then sometimes chorus, a tempo
    delay and a reverb.

    Returns
    -------
    np.ndarray [shape=(2 … 8 s × datagen.SR,), dtype=float32], peak 0.9.
    """
    kind = kind or str(rng.choice(PLUCK_KINDS))
    if kind not in PLUCK_KINDS:
        raise ValueError(f"kind={kind!r} is not one of {PLUCK_KINDS}")
    sr, duration, bpm = datagen.SR, float(rng.uniform(2, 8)), float(rng.uniform(80, 160))
    n = _samples(duration, sr)
    octave = int(rng.choice([4, 5])) if kind == "bell" else int(rng.choice([3, 4]))
    ring = float(rng.uniform(0.3, 1.5)) if kind != "bell" else float(rng.uniform(1.0, 3.0))
    ratio = {"bell": float(rng.choice([3.5, 1.4])), "epiano": float(rng.choice([1.0, 2.0]))}.get(kind, 0.0)
    index = float(rng.uniform(0.5, 2.0) if kind == "bell" else rng.uniform(1.0, 3.5))
    brightness = float(rng.uniform(0.4, 1.0))
    y = np.zeros(n)
    for onset, midi in pluck_notes(key, rng, bpm=bpm, duration=duration, octave=octave):
        start = _samples(onset, sr)
        m = min(n - start, _samples(ring * 1.5, sr))
        if kind == "string":
            note = karplus_strong(midi, m, sr, rng, t60=ring, brightness=brightness)
        else:
            note = fm_tone(midi, m, sr, ratio=ratio, index=index, index_decay_s=ring / 4, decay_s=ring / 2)
        y[start : start + m] += note * float(rng.uniform(0.6, 1.0))
    if rng.random() < 0.2:
        y = chorus(y, sr, rng)
    if rng.random() < 0.5:
        y = feedback_delay(
            y, sr, delay_s=45 / bpm, feedback=float(rng.uniform(0.2, 0.5)), wet=float(rng.uniform(0.15, 0.35))
        )
    if rng.random() < 0.6:
        y = reverb_tail(y, sr, rng, rt60=float(rng.uniform(0.8, 3.0)), wet=float(rng.uniform(0.15, 0.4)))
    return synth.normalise(y)


# -- buzzing strings ------------------------------------------------------------------------


def jawari(y: np.ndarray, sr: int, rng: np.random.Generator, *, period: float, amount: float) -> np.ndarray:
    """A buzzing bridge on one string.

    The string's swing is stopped on one side at a height that follows its peak envelope: ``1 - amount`` of it,
    breathing by ±30 % at 0.2–2 Hz. The clipped-off tips are pulses once a period, so the buzz (those pulses
    high-passed at 1–3 kHz and mixed back 2–5×) spreads energy to the string's own high harmonics and changes
    as the string decays.
    """
    peak = ndimage.maximum_filter1d(np.abs(y), size=int(2 * period) + 1)
    breathe = 1 + 0.3 * lfo(y.size, sr, float(rng.uniform(0.2, 2.0)), rng)
    height = np.clip(1 - amount * breathe, 0.05, 1.0) * peak
    clipped = np.minimum(y, height)
    tips = swept_filter(y - clipped, float(rng.uniform(1000, 3000)), sr, kind="highpass", block=4096)
    return clipped + float(rng.uniform(2, 5)) * tips


def buzzing_string(midi: float, n: int, sr: int, rng: np.random.Generator, *, t60: float, amount: float) -> np.ndarray:
    """A bright Karplus–Strong pluck through :func:`jawari`."""
    y = karplus_strong(midi, n, sr, rng, t60=t60, brightness=float(rng.uniform(0.6, 0.9)))
    return jawari(y, sr, rng, period=sr / float(midi_to_hz(midi)), amount=amount)


def sympathetic(y: np.ndarray, key: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Sympathetic strings tuned, as a sitar's are, to the raga's notes: Karplus–Strong loops on the tonic
    (octaves 3–5), the fifth (octaves 3–4) and the key's third (octave 4), ringing 4–10 s, driven by ``y``, so
    that the partials the played strings share with them keep sounding."""
    tonic = tonic_midi(key, 3)
    strings = (tonic, tonic + 12, tonic + 24, tonic + 7, tonic + 19, degree_pitch(key, 2, 4))
    out = np.zeros(y.size)
    for midi in strings:
        ring = karplus_strong(midi, y.size, sr, rng, t60=float(rng.uniform(4, 10)), excitation=y)
        out += ring / max(float(np.sqrt(np.mean(ring**2))), 1e-12)
    return out / len(strings)


def strike_times(duration: float, rng: np.random.Generator, *, every: float, jitter: float = 0.02) -> np.ndarray:
    """Onsets in seconds every ``every`` s from 0 to ``duration``, each moved up to ``jitter`` s."""
    times = np.arange(0.0, duration - 0.1, every)
    return np.clip(times + rng.uniform(-jitter, jitter, times.size) * (times > 0), 0, None)


def sitar_notes(key: int, rng: np.random.Generator, duration: float) -> list[tuple[float, float]]:
    """``(onset s, MIDI)`` of a sitar-like phrase at 60–120 BPM: the main string on Sa (tonic), Ga (the key's
    third) and Pa (fifth), sometimes another scale note, returning to Sa; chikari strokes (high Sa and Pa
    together) between."""
    beat = 60.0 / float(rng.uniform(60, 120))
    steps = [0, 0, 0, 2, 2, 4, 4, 7, 1, 5, 6, 3]
    notes: list[tuple[float, float]] = []
    third = False
    for i, t in enumerate(strike_times(duration, rng, every=beat / float(rng.choice([1, 2])))):
        if i % 4 == 3 and rng.random() < 0.6:  # chikari
            notes += [(t, tonic_midi(key, 5)), (t + 0.01, tonic_midi(key, 4) + 7)]
            continue
        step = 0 if i % 8 == 0 else int(rng.choice(steps))
        third |= step == 2
        notes.append((t, degree_pitch(key, step, 4)))
    if not third:
        notes.append((float(duration * rng.uniform(0.3, 0.7)), degree_pitch(key, 2, 4)))
    return notes


def tanpura_notes(key: int, rng: np.random.Generator, duration: float) -> list[tuple[float, float]]:
    """``(onset s, MIDI)`` of a tanpura cycle, one string every 0.5–1.2 s: Pa (octave 3), Sa, Sa (octave 4),
    Sa (octave 3), with a Ga string (the key's third) added to the cycle to fix the mode."""
    cycle = [
        tonic_midi(key, 3) + 7,
        tonic_midi(key, 4),
        tonic_midi(key, 4),
        degree_pitch(key, 2, 3),
        tonic_midi(key, 3),
    ]
    times = strike_times(duration, rng, every=float(rng.uniform(0.5, 1.2)), jitter=0.05)
    return [(float(t), cycle[i % len(cycle)]) for i, t in enumerate(times)]


def strum_notes(key: int, rng: np.random.Generator, duration: float) -> list[tuple[float, float]]:
    """``(onset s, MIDI)`` of strummed chords at 70–140 BPM, on each beat or eighth, down or up (5–30 ms between
    strings): the tonic chord, sometimes moving to the key's IV/iv or VI and back (the tonic at least half)."""
    beat = 60.0 / float(rng.uniform(70, 140))
    every = beat / float(rng.choice([1, 2]))
    away = [(3, "min"), (5, "maj")] if keys.is_minor(key) else [(3, "maj"), (5, "min")]
    change = away[int(rng.integers(2))] if rng.random() < 0.4 else None
    spacing = float(rng.uniform(0.005, 0.03))
    notes: list[tuple[float, float]] = []
    for i, t in enumerate(strike_times(duration, rng, every=every)):
        degree, quality = change if change and (i // 4) % 2 else (0, tonic_quality(key))
        chord = datagen.chord_pitches(key, degree, quality, octave=3)
        strings = [chord[0], chord[2], chord[0] + 12, chord[1] + 12, chord[2] + 12]
        strings = strings if i % 2 == 0 else strings[::-1]
        notes += [(float(t) + j * spacing, p) for j, p in enumerate(strings)]
    return notes


def buzz(key: int, rng: np.random.Generator, *, kind: str | None = None) -> np.ndarray:
    """Bright buzzing strings in ``key``, 2–10 s: sitar-, tanpura- or strummed-chord-like.

    ``kind`` (drawn if ``None``, one of :data:`BUZZ_KINDS`): a ``sitar`` phrase on Sa, Ga and Pa with chikari
    strokes (:func:`sitar_notes`), a ``tanpura`` cycle on Pa, Sa and Ga (:func:`tanpura_notes`) or
    ``strum``: strummed chords of the key (:func:`strum_notes`). Every string is a Karplus–Strong pluck through a
    buzzing bridge (:func:`jawari`, 30–90 % of the swing clipped) ringing 2–6 s (sitar), 4–10 s (tanpura) or
    1.5–4 s (strum) to -60 dB; a sitar or strummed string struck again is damped. The mix drives sympathetic
    strings on the tonic, fifth and third (:func:`sympathetic`), then sometimes a room.

    Returns
    -------
    np.ndarray [shape=(2 … 10 s × datagen.SR,), dtype=float32], peak 0.9.
    """
    kind = kind or str(rng.choice(BUZZ_KINDS))
    notes_of = {"sitar": sitar_notes, "tanpura": tanpura_notes, "strum": strum_notes}
    if kind not in notes_of:
        raise ValueError(f"kind={kind!r} is not one of {BUZZ_KINDS}")
    sr, duration = datagen.SR, float(rng.uniform(2, 10))
    n = _samples(duration, sr)
    notes = sorted(notes_of[kind](key, rng, duration))
    t60 = float(rng.uniform(*{"tanpura": (4, 10), "sitar": (2, 6), "strum": (1.5, 4)}[kind]))
    amount = float(rng.uniform(0.3, 0.9))
    y = np.zeros(n)
    for i, (onset, midi) in enumerate(notes):
        start = _samples(onset, sr)
        if start >= n:
            continue
        again = next((o for o, m in notes[i + 1 :] if m == midi), None)  # the same string, struck again, damps it
        end = n if again is None or kind == "tanpura" else min(n, _samples(again, sr) + _samples(0.01, sr))
        y[start:end] += buzzing_string(midi, end - start, sr, rng, t60=t60, amount=amount) * float(
            rng.uniform(0.6, 1.0)
        )
    y = y / max(float(np.sqrt(np.mean(y**2))), 1e-12)
    y += float(rng.uniform(0.15, 0.4)) * sympathetic(y, key, sr, rng)
    if rng.random() < 0.5:
        y = reverb_tail(y, sr, rng, rt60=float(rng.uniform(0.5, 2.5)), wet=float(rng.uniform(0.1, 0.3)))
    return synth.normalise(y)


# -- keyless sound design ---------------------------------------------------------------------


def noise_riser(rng: np.random.Generator, sr: int, *, falling: bool = False) -> np.ndarray:
    """White-to-brown noise through a low-pass or band-pass whose cutoff sweeps up (or down) 2–6 octaves between
    150 Hz and 10 kHz over 1–8 s, its level rising (falling) with it; no tonal component."""
    duration = float(rng.uniform(1.0, 8.0))
    n = _samples(duration, sr)
    low = float(np.exp(rng.uniform(np.log(150), np.log(800))))
    high = min(10000.0, low * 2 ** float(rng.uniform(2, 6)))
    cutoff = sweep_curve(n, low, high, shape=float(rng.uniform(0.5, 2))) if not falling else sweep_curve(n, high, low)
    kind = "bandpass" if rng.random() < 0.5 else "lowpass"
    y = swept_filter(
        colored_noise(n, rng, float(rng.uniform(0, 1.5))), cutoff, sr, kind=kind, q=float(rng.uniform(0.4, 1.2))
    )
    u = np.linspace(0, 1, n)
    level = u ** float(rng.uniform(0.5, 3)) if not falling else (1 - u) ** float(rng.uniform(0.5, 3))
    y *= level * envelope(n, sr, attack=0.01, release=0.02)
    if rng.random() < 0.5:
        y = reverb_tail(y, sr, rng, rt60=float(rng.uniform(1, 4)), wet=float(rng.uniform(0.2, 0.5)))
    return y


def unpitched_impact(rng: np.random.Generator, sr: int) -> np.ndarray:
    """A noise burst (5–80 ms) with a sub thump whose pitch keeps falling exponentially (from 100–300 Hz, an
    octave every 15–60 ms, never settling) while it dies in 40–150 ms, in a long reverb (RT60 1.5–5 s): no held
    pitch."""
    duration = float(rng.uniform(1.5, 6.0))
    n = _samples(duration, sr)
    t = np.arange(n) / sr
    hz = float(rng.uniform(100, 300)) * 2 ** (-t / float(rng.uniform(0.015, 0.06)))
    thump = np.sin(2 * np.pi * np.cumsum(hz) / sr) * decay_envelope(n, sr, decay_s=float(rng.uniform(0.04, 0.15)))
    burst = colored_noise(n, rng, float(rng.uniform(0, 1.5))) * decay_envelope(
        n, sr, decay_s=float(rng.uniform(0.005, 0.08))
    )
    y = thump + float(rng.uniform(0.3, 1.0)) * burst
    if rng.random() < 0.3:
        y = soft_clip(y, float(rng.uniform(1.5, 4)))
    return reverb_tail(y, sr, rng, rt60=float(rng.uniform(1.5, 5)), wet=float(rng.uniform(0.3, 0.7)))


def reverse_swell(rng: np.random.Generator, sr: int) -> np.ndarray:
    """A reversed cymbal or noise hit: noise high-passed at 0.5–3 kHz (cymbal) or band-limited (noise), decaying
    over 0.5–2 s, sometimes in a reverb, played backwards so it swells to a stop; 1–6 s."""
    duration = float(rng.uniform(1.0, 6.0))
    n = _samples(duration, sr)
    noise = colored_noise(n, rng, float(rng.uniform(0, 1)))
    if rng.random() < 0.6:
        y = swept_filter(noise, float(rng.uniform(500, 3000)), sr, kind="highpass", block=4096)
    else:
        y = swept_filter(noise, sweep_curve(n, float(rng.uniform(3000, 9000)), float(rng.uniform(300, 1500))), sr)
    y *= decay_envelope(n, sr, decay_s=float(rng.uniform(0.5, 2.0)))
    if rng.random() < 0.5:
        y = reverb_tail(y, sr, rng, rt60=float(rng.uniform(1, 4)), wet=float(rng.uniform(0.2, 0.5)))
    return y[::-1]


def noise_bed(
    y: np.ndarray,
    rng: np.random.Generator,
    *,
    ratio: tuple[float, float] = (0.25, 2.5),
    kinds: tuple[str, ...] = ("noise_riser", "noise_fall"),
) -> np.ndarray:
    """``y`` [shape=(n,)] laid over a pitchless wash, as FX are layered in packs: a noise riser or fall of the
    keyless class (:func:`keyless_fx`, one of ``kinds``) placed so that it ends with ``y`` (cut from its end if
    longer), at ``ratio`` (log-uniform) × ``y``'s RMS; peak 0.9.

    A real riser is often more wash than tone; the tonic under it still gives it a key, and only the wash alone
    is keyless. Without such material the network learns that a loud wash means "no key". Only risers and
    falls: laid under the keyless class's impacts and reversed cymbals too, the network kept keys on more
    recorded drum hits (model card)."""
    wash = keyless_fx(rng, kind=str(rng.choice(kinds)))[0].astype(np.float64)
    wash = wash[-y.size :] if wash.size >= y.size else np.concatenate([np.zeros(y.size - wash.size), wash])
    level = float(np.exp(rng.uniform(*np.log(ratio))))
    rms = float(np.sqrt(np.mean(y.astype(np.float64) ** 2)))
    wash *= level * rms / max(float(np.sqrt(np.mean(wash**2))), 1e-12)
    return synth.normalise(y + wash)


def keyless_fx(rng: np.random.Generator, *, kind: str | None = None) -> tuple[np.ndarray, str]:
    """Sound design with no pitch centre, 1–8 s, and its kind (drawn if ``None``, one of :data:`KEYLESS_KINDS`).

    A ``noise_riser`` or ``noise_fall`` (filtered noise whose cutoff sweeps up or down), an unpitched
    ``impact`` (noise burst and a thump whose pitch never stops falling, in a reverb) or a ``reverse_swell``
    (a reversed cymbal or noise hit). None holds a pitch: a riser over a tonic is :func:`tonal_fx`'s.

    Returns
    -------
    (np.ndarray [shape=(1 … 8 s × datagen.SR,), dtype=float32] at peak 0.9, str)
    """
    kind = kind or str(rng.choice(KEYLESS_KINDS))
    sr = datagen.SR
    if kind in ("noise_riser", "noise_fall"):
        y = noise_riser(rng, sr, falling=kind == "noise_fall")
    elif kind == "impact":
        y = unpitched_impact(rng, sr)
    elif kind == "reverse_swell":
        y = reverse_swell(rng, sr)
    else:
        raise ValueError(f"kind={kind!r} is not one of {KEYLESS_KINDS}")
    return synth.normalise(y), kind

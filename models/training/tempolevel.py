"""Train the tempo-level scorer (``models/tempolevel.npz``): which of a loop's candidate tempi a producer writes.

development loops ──► onset strength ──► :func:`tempo.scored_candidates` (the very features inference sees)
    ──► label: the candidates within 4 % of the written tempo ──► softmax over each file's candidates
    ──► a linear term plus a layer of tanh units (torch) ──► the temperature that makes the confidence honest

The material is this module's own (:func:`make_loop`, :func:`make_song`): drum patterns of the styles
sample packs are made in, each at the tempi it is written at (and, some of the time, anywhere in
60–180 BPM, so the pattern and not only the tempo teaches the level); chords, bass, arpeggios and
melodies in several rhythms; rendered with the training soundfonts (:data:`render.TRAIN_SOUNDFONTS`)
or numpy synthesis; cut bar-exact, with a tail, with a reverb tail wrapped into the start, or faded;
and excerpts of longer pieces. Nothing here uses the evaluation soundfont or ``make bench-descriptors``'
generator: that benchmark stays held out.

``python -m sampledex.models.training.tempolevel`` renders the material (cached), trains on one seed's
loops, reports on another's and writes the weights; ``make train-tempo`` runs it with the shipped settings.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import onsets, tempo
from . import datagen, render, synth
from .metrics import accuracy_by_confidence, tempo_hits
from .synth import Note

SR = 22050
#: General MIDI drum notes the patterns use
KICK, RIM, SNARE, CLAP, CH, PEDAL, OH, LTOM, HTOM, CRASH, RIDE, COWBELL, SHAKER = (
    36,
    37,
    38,
    39,
    42,
    44,
    46,
    45,
    50,
    49,
    51,
    56,
    70,
)
#: a drum pattern: the tempi it is written at (BPM) and its hits (drum: sixteenth steps of a 4/4 bar)
Style = tuple[tuple[float, float], dict[int, tuple[int, ...]]]
#: drum styles of sample packs, by name
STYLES: dict[str, Style] = {
    "rock": ((80, 180), {KICK: (0, 8), SNARE: (4, 12), CH: (0, 2, 4, 6, 8, 10, 12, 14)}),
    "rock16": ((70, 130), {KICK: (0, 8, 10), SNARE: (4, 12), CH: tuple(range(16))}),
    "punk": ((150, 190), {KICK: (0, 6, 8), SNARE: (4, 12), CRASH: (0, 4, 8, 12)}),
    "four": ((115, 135), {KICK: (0, 4, 8, 12), CLAP: (4, 12), OH: (2, 6, 10, 14)}),
    "house": ((118, 130), {KICK: (0, 4, 8, 12), CLAP: (4, 12), CH: tuple(range(16)), OH: (2, 6, 10, 14)}),
    "techno": ((124, 145), {KICK: (0, 4, 8, 12), CH: (2, 6, 10, 14), RIDE: (0, 4, 8, 12)}),
    "hiphop": ((70, 100), {KICK: (0, 7, 10), SNARE: (4, 12), CH: (0, 2, 4, 6, 8, 10, 12, 14)}),
    "boombap": ((80, 98), {KICK: (0, 3, 10), SNARE: (4, 12), CH: tuple(range(16))}),
    "lofi": ((60, 90), {KICK: (0, 10), RIM: (4, 12), SHAKER: (0, 2, 4, 6, 8, 10, 12, 14)}),
    "shuffle": ((60, 100), {KICK: (0, 8), SNARE: (4, 12), RIDE: (0, 4, 6, 8, 12, 14)}),
    "dnb": ((160, 180), {KICK: (0, 10), SNARE: (4, 12), CH: (0, 2, 4, 6, 8, 10, 12, 14)}),
    "break": ((90, 140), {KICK: (0, 2, 10), SNARE: (4, 12, 15), RIDE: (0, 2, 4, 6, 8, 10, 12, 14)}),
    "dembow": ((85, 105), {KICK: (0, 4, 8, 12), SNARE: (3, 6, 11, 14), CH: (0, 2, 4, 6, 8, 10, 12, 14)}),
    "funk": ((90, 125), {KICK: (0, 3, 6, 10), SNARE: (4, 12), CH: tuple(range(16)), OH: (14,)}),
    "perc": ((90, 130), {SHAKER: tuple(range(16)), LTOM: (0, 6, 12), HTOM: (3, 10), COWBELL: (0, 4, 8, 12)}),
    "pop": ((90, 130), {KICK: (0, 8, 10), SNARE: (4, 12), CH: (0, 2, 4, 6, 8, 10, 12, 14), OH: (14,)}),
    "ride": ((100, 180), {KICK: (0, 10), SNARE: (4, 12), RIDE: (0, 4, 8, 12, 14)}),
    # half-time: the snare or clap on beat three, written at the fast tempo
    "trap": ((125, 165), {KICK: (0, 6, 11), CLAP: (8,), CH: tuple(range(16))}),
    "halftime": ((140, 180), {KICK: (0, 10), SNARE: (8,), CH: (0, 2, 4, 6, 8, 10, 12, 14)}),
}
#: feels of the drum patterns :func:`random_style` writes, and the tempi each is written at (BPM)
FEELS = {"backbeat": (70.0, 180.0), "four": (110.0, 140.0), "halftime": (120.0, 180.0), "broken": (80.0, 140.0)}
#: timekeepers of random patterns: the drums and their steps
TIMEKEEPERS = {
    "eighths": tuple(range(0, 16, 2)),
    "sixteenths": tuple(range(16)),
    "quarters": (0, 4, 8, 12),
    "offbeats": (2, 6, 10, 14),
}
#: chord rhythms: (start, length) in beats within a bar
CHORD_RHYTHMS = {
    "whole": ((0, 3.9),),
    "halves": ((0, 1.9), (2, 1.9)),
    "charleston": ((0, 1.0), (1.5, 0.5)),
    "skank": ((1, 0.4), (3, 0.4)),
    "offbeats": ((0.5, 0.3), (1.5, 0.3), (2.5, 0.3), (3.5, 0.3)),
    "eighths": tuple((e * 0.5, 0.4) for e in range(8)),
    "quarters": tuple((b, 0.8) for b in range(4)),
    "push": ((0, 1.5), (1.5, 1.0), (3.0, 1.0)),
}
BASS_STYLES = ("quarters", "octaves", "syncopated", "sustained", "walking")
LOOP_MIXES = ("drums", "tonal", "both", "both")
CUTS = ("exact", "exact", "wrapped", "tail", "reverb", "fade")
#: bar counts of loops and their odds
BAR_CHOICES = ((1, 2, 4, 8, 16), (0.2, 0.3, 0.3, 0.15, 0.05))
#: longest loop (s): longer bar counts are halved
MAX_LOOP_SECONDS = 40.0
#: the softmax temperatures tried for the confidence
TEMPERATURES = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
#: what one of a user's own loops weighs in :func:`fit_with_own_loops`, against a development file's mean of 1:
#: chosen on 358 recorded loops, each half predicted by a scorer fitted with the other (model card)
OWN_LOOP_WEIGHT = 3.0
#: tempo bands (BPM) over which :func:`flat_weights` evens the material out
FLAT_EDGES = np.arange(60.0, 181.0, 15.0)


@dataclass
class Example:
    """One development file, as the scorer sees it: its candidates and which are right."""

    name: str
    category: str
    truth: float  # BPM written
    candidates: tempo.Candidates | None  # None: the estimator gives no tempo

    @property
    def right(self) -> np.ndarray:
        """[candidates] bool: within 4 % of the written tempo."""
        return np.zeros(0, bool) if self.candidates is None else np.abs(self.candidates.bpm / self.truth - 1.0) <= 0.04

    def shown(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What the scorer chooses among: (bpm, features, right), each one row per candidate."""
        if self.candidates is None:
            return np.zeros(0), np.zeros((0, len(tempo.FEATURES))), np.zeros(0, bool)
        return self.candidates.bpm, self.candidates.features, self.right


# ---------------------------------------------------------------------------------------------- material


def random_style(rng: np.random.Generator) -> Style:
    """A drum pattern written from a feel rather than taken from :data:`STYLES`, and its tempo range.

    The kick always takes the downbeat and a few of the steps kicks take; the snare (or clap, or rim)
    takes the backbeats (``backbeat``, ``four``, with a kick on every beat), beat three (``halftime``)
    or a broken pair; a timekeeper (closed or open hats, ride, shaker, pedal hat) plays eighths,
    sixteenths, quarters or off-beats (sixteenths in half time, as trap is written); sometimes a
    percussion line joins. Teaches the scorer the
    principles of metre rather than a list of patterns.
    """
    feel = str(rng.choice(list(FEELS)))
    extra = rng.choice([3, 6, 7, 8, 10, 11, 14], size=int(rng.integers(0, 3)), replace=False)
    kick = {0, *(int(k) for k in extra)} | ({4, 8, 12} if feel == "four" else set())
    broken = ((4, 10), (4, 14), (6, 12))
    snare = {"backbeat": (4, 12), "four": (4, 12), "halftime": (8,)}.get(feel) or broken[int(rng.integers(3))]
    pattern: dict[int, tuple[int, ...]] = {
        KICK: tuple(sorted(kick - set(snare))),
        int(rng.choice([SNARE, SNARE, CLAP, RIM])): tuple(snare),
        # half-time grooves (trap, dubstep) are written fast and keep time in sixteenths at that tempo
        int(rng.choice([CH, CH, OH, RIDE, SHAKER, PEDAL])): TIMEKEEPERS[
            "sixteenths" if feel == "halftime" else str(rng.choice(list(TIMEKEEPERS)))
        ],
    }
    if rng.random() < 0.3:
        pattern[int(rng.choice([COWBELL, LTOM, HTOM, SHAKER]))] = tuple(
            int(k) for k in np.sort(rng.choice(16, size=int(rng.integers(2, 6)), replace=False))
        )
    return FEELS[feel], pattern


def drum_notes(
    style: str | Style,
    *,
    bpm: float,
    bars: int,
    rng: np.random.Generator,
) -> list[Note]:
    """A pattern (a :data:`STYLES` name, or a :func:`random_style`) for ``bars`` bars, with swing, loose
    timing, accents, a level for each drum, kick variations and fills."""
    _, pattern = STYLES[style] if isinstance(style, str) else style
    level = {drum: float(rng.uniform(0.5, 1.2)) for drum in pattern}  # each drum's place in the mix
    step = 15.0 / bpm
    swing = float(rng.choice([0.5, 0.5, 0.55, 0.6, 0.66]))
    jitter = float(rng.choice([0.0, 0.004, 0.008]))
    notes = []
    for bar in range(bars):
        for drum, steps in pattern.items():
            hits = set(steps)
            if drum == KICK and bar % 2 == 1 and rng.random() < 0.4:
                hits.add(int(rng.choice([6, 7, 11, 14])))
            for s in sorted(hits):
                t = (bar * 16 + s) * step + (swing - 0.5) * 2 * step * (s % 2) + rng.normal(0.0, jitter)
                accent = drum in (KICK, SNARE, CLAP, RIM)
                velocity = 0.9 if accent else float(rng.uniform(0.35, 0.75)) + 0.15 * (s % 4 == 0)
                notes.append(Note(max(0.0, t), 0.1, drum, float(np.clip(velocity * level[drum], 0.05, 1.0))))
        if bar == bars - 1 and rng.random() < 0.25:  # a fill into the loop's start
            for s in (12, 13, 14, 15):
                notes.append(Note((bar * 16 + s) * step, 0.1, HTOM if s < 14 else LTOM, 0.8))
    return notes


def _synth_drums(notes: list[Note], duration: float, rng: np.random.Generator) -> np.ndarray:
    """The notes on numpy drum sounds (a kit of one kick, snare and hats, toms as sines)."""
    bank = {
        KICK: synth.kick(SR),
        SNARE: synth.snare(SR, rng),
        RIM: synth.snare(SR, rng, duration=0.06),
        CLAP: synth.snare(SR, rng, duration=0.15),
        CH: synth.hat(SR, rng),
        PEDAL: synth.hat(SR, rng),
        OH: synth.hat(SR, rng, duration=0.3),
        RIDE: synth.hat(SR, rng, duration=0.4),
        CRASH: synth.hat(SR, rng, duration=0.8),
        SHAKER: synth.hat(SR, rng, duration=0.05),
        LTOM: synth.single_note(45, duration=0.3, sr=SR, wave="sine"),
        HTOM: synth.single_note(52, duration=0.25, sr=SR, wave="sine"),
        COWBELL: synth.single_note(80, duration=0.2, sr=SR, wave="square"),
    }
    out = np.zeros(int((duration + 1.0) * SR))
    for n in notes:
        hit = bank[int(n.midi)] * n.velocity
        start = int(n.onset * SR)
        end = min(out.size, start + hit.size)
        out[start:end] += hit[: end - start]
    return out


def tonal_parts(key: int, *, bpm: float, bars: int, rng: np.random.Generator) -> dict[str, list[Note]]:
    """Chords, bass, arpeggio and melody of a loop, each in a rhythm drawn at random; the chord changes
    every bar, every two bars or every half bar."""
    beat = 60.0 / bpm
    mode = "minor" if key >= 12 else "major"
    progression = datagen.TRAIN_PROGRESSIONS[mode][int(rng.integers(len(datagen.TRAIN_PROGRESSIONS[mode])))]
    per_chord = float(rng.choice([4.0, 4.0, 4.0, 8.0, 2.0]))

    def chord_at(t: float) -> list[int]:
        degree, quality = progression[int(t // per_chord) % len(progression)]
        return datagen.chord_pitches(key, degree, quality)

    rhythm = CHORD_RHYTHMS[str(rng.choice(list(CHORD_RHYTHMS)))]
    chords = [
        Note((bar * 4 + start) * beat, length * beat, p, 0.65 + 0.15 * (start == 0))
        for bar in range(bars)
        for start, length in rhythm
        for p in chord_at(bar * 4 + start)
    ]
    style = str(rng.choice(BASS_STYLES))
    bass = []
    for q in range(bars * 4):
        root = chord_at(q)[0] - 24
        if style == "quarters":
            bass.append(Note(q * beat, 0.9 * beat, root, 0.8))
        elif style == "walking":
            bass.append(Note(q * beat, 0.9 * beat, root + int(rng.choice([0, 0, 2, 4, 5, 7])), 0.8))
        elif style == "octaves":
            bass += [Note(q * beat, 0.45 * beat, root, 0.8), Note((q + 0.5) * beat, 0.45 * beat, root + 12, 0.7)]
        elif style == "syncopated" and q % 2 == 0:
            bass += [Note(q * beat, 0.7 * beat, root, 0.85), Note((q + 1.5) * beat, 0.4 * beat, root, 0.7)]
        elif style == "sustained" and q % 4 == 0:
            bass.append(Note(q * beat, 3.8 * beat, root, 0.8))
    arp_step = float(rng.choice([0.5, 0.25, 1 / 3]))
    arp = []
    for i in range(int(round(bars * 4 / arp_step))):
        t = i * arp_step
        tones = chord_at(t) + [chord_at(t)[0] + 12]
        arp.append(Note(t * beat, arp_step * beat * 0.9, tones[i % len(tones)] + 12, 0.55 + 0.15 * (t % 1 == 0)))
    melody, t = [], 0.0
    while t < bars * 4 - 0.25:
        length = float(rng.choice([0.5, 1.0, 1.5, 0.25, 2.0]))
        if rng.random() > 0.2:
            pitch = int(rng.choice(chord_at(t))) + 12
            melody.append(Note(t * beat, min(length, bars * 4 - t) * beat * 0.9, pitch, 0.75))
        t += length
    return {"chords": chords, "bass": bass, "arp": arp, "melody": melody}


def _reverb(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from scipy.signal import fftconvolve

    n = int(float(rng.uniform(0.3, 2.0)) * SR)
    ir = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / n)
    ir[0] = 0.0
    wet = fftconvolve(y, ir * 0.3 / np.sqrt(np.sum(ir**2)))
    wet[: y.size] += y
    return wet


def _cut(mix: np.ndarray, length: int, how: str, rng: np.random.Generator) -> np.ndarray:
    """A loop export of ``length`` samples: exact, with the tail wrapped into the start (dry or through a
    reverb), with the tail appended, or faded out."""
    if how == "reverb":
        mix, how = _reverb(mix, rng), "wrapped"
    if how == "wrapped":
        out = mix[:length].copy()
        tail = mix[length : 2 * length]
        out[: tail.size] += tail
        return out
    if how == "tail":
        return mix[: length + int(float(rng.uniform(0.2, 1.0)) * SR)]
    out = mix[:length].copy()
    if how == "fade":
        k = min(length, 2 * SR)
        out[-k:] *= np.linspace(1.0, 0.0, k)
    return out


def _arrangement(
    bpm: float,
    bars: int,
    mix: str,
    style: str | Style | None,
    rng: np.random.Generator,
    renderers: list,
) -> np.ndarray:
    """Drums and/or tonal parts for ``bars`` bars at ``bpm``, mixed, with a second of ringing after them."""
    duration = bars * 240.0 / bpm
    layers = []
    if mix != "tonal":
        assert style is not None
        notes = drum_notes(style, bpm=bpm, bars=bars, rng=rng)
        if rng.random() < 0.8:
            drums = renderers[int(rng.integers(len(renderers)))].render(notes, duration, drums=True, tail=1.0)
        else:
            drums = _synth_drums(notes, duration, rng)
        if rng.random() < 0.5:  # a tilt of the kit's spectrum, as another kit or a mix would
            from scipy.signal import butter, sosfilt

            sos = butter(
                1, float(rng.uniform(100, 3000)), str(rng.choice(["lowpass", "highpass"])), fs=SR, output="sos"
            )
            drums = drums + float(rng.uniform(-0.6, 0.8)) * sosfilt(sos, drums)
        layers.append((drums, 1.0))
    if mix != "drums":
        parts = tonal_parts(int(rng.integers(24)), bpm=bpm, bars=bars, rng=rng)
        roles = [r for r in parts if rng.random() < 0.5] or [str(rng.choice(["chords", "arp"]))]
        for role in roles:
            if rng.random() < 0.8:
                renderer = renderers[int(rng.integers(len(renderers)))]
                y = renderer.render(parts[role], duration, program=int(rng.choice(datagen.PROGRAMS[role])), tail=1.0)
            else:
                y = synth.render(parts[role], duration + 1.0, SR, wave=str(rng.choice(synth.WAVES)))
            layers.append((y, float(rng.uniform(0.4, 1.0))))
    out = np.zeros(max(y.size for y, _ in layers))
    for y, gain in layers:
        out[: y.size] += synth.normalise(y) * gain
    return out


def _style_and_tempo(mix: str, rng: np.random.Generator) -> tuple[str | Style | None, float]:
    """A drum style (a :data:`STYLES` name half the time, else a :func:`random_style`) and a tempo: most
    of the time where the style is written, else anywhere in 60–180 BPM."""
    if mix == "tonal":
        return None, float(np.round(rng.uniform(60.0, 180.0)))
    style = str(rng.choice(list(STYLES))) if rng.random() < 0.5 else random_style(rng)
    written = STYLES[style][0] if isinstance(style, str) else style[0]
    lo, hi = written if rng.random() < 0.75 else (60.0, 180.0)
    return style, float(np.round(rng.uniform(lo, hi), 1 if rng.random() < 0.3 else 0))


def _style_name(style: str | tuple | None) -> str:
    return "no drums" if style is None else style if isinstance(style, str) else "random pattern"


def make_loop(rng: np.random.Generator, renderers: list, *, bars: int | None = None) -> tuple[np.ndarray, float, str]:
    """A development loop: (mono signal at :data:`SR`, the tempo it is written at, its category); ``bars``
    (drawn from :data:`BAR_CHOICES` if None) is halved while the loop would last over :data:`MAX_LOOP_SECONDS`."""
    mix = str(rng.choice(LOOP_MIXES))
    style, bpm = _style_and_tempo(mix, rng)
    if bars is None:
        bars = int(rng.choice(BAR_CHOICES[0], p=BAR_CHOICES[1]))
    while bars > 1 and bars * 240.0 / bpm > MAX_LOOP_SECONDS:
        bars //= 2
    arrangement = _arrangement(bpm, bars, mix, style, rng, renderers)
    y = _cut(arrangement, int(round(bars * 240.0 / bpm * SR)), str(rng.choice(CUTS)), rng)
    return synth.normalise(y, float(rng.uniform(0.2, 0.95))), bpm, f"loop, {mix} ({_style_name(style)})"


def make_song(rng: np.random.Generator, renderers: list) -> tuple[np.ndarray, float, str]:
    """An excerpt of a longer piece (30–40 s, cut anywhere, reverberant, faded in and out)."""
    mix = str(rng.choice(["both", "both", "tonal"]))
    style, bpm = _style_and_tempo(mix, rng)
    seconds = float(rng.uniform(30.0, 40.0))
    bars = int(np.ceil((seconds + 8.0) * bpm / 240.0))
    y = _reverb(_arrangement(bpm, bars, mix, style, rng, renderers), rng)
    start = int(float(rng.uniform(0.0, 8.0)) * SR)
    y = y[start : start + int(seconds * SR)].copy()
    ramp = SR // 2
    y[:ramp] *= np.linspace(0.0, 1.0, ramp)
    y[-3 * ramp :] *= np.linspace(1.0, 0.0, 3 * ramp)
    return synth.normalise(y, 0.8), bpm, f"song, {mix} ({_style_name(style)})"


# ---------------------------------------------------------------------------------------------- examples


def example(y: np.ndarray, truth: float, name: str, category: str) -> Example:
    """What the scorer is shown of one file: :func:`tempo.scored_candidates`, with the truth."""
    found = tempo.scored_candidates(onsets.onset_strength(np.asarray(y, dtype=np.float32)))
    return Example(name, category, truth, found)


def recipe(seed: int, *, loops: int, songs: int) -> str:
    """What a set of examples depends on: the seed, the counts, and the code that makes and describes the
    files (this module, the synthesis and rendering it calls, the onset and tempo features). A cache made
    from another recipe is stale."""
    code = datagen.code_digest(sys.modules[__name__], synth, datagen, render, onsets, tempo)
    return f"seed {seed}, {loops} loops, {songs} excerpts, code {code}"


def examples(seed: int, *, loops: int, songs: int, cache: Path | None = None, log=print) -> list[Example]:
    """The development examples of one seed: rendered, or read from ``cache`` when it holds this
    :func:`recipe`'s (a cache of another recipe is rendered again and replaced)."""
    wanted = recipe(seed, loops=loops, songs=songs)
    if cache is not None and cache.exists():
        found = _load(cache, wanted)
        if found is not None:
            return found
        log(f"  {cache} was made from another recipe: rendering it again")
    renderers = [render.renderer(name, SR) for name in render.TRAIN_SOUNDFONTS]
    rng = np.random.default_rng(seed)
    out: list[Example] = []
    t0 = time.perf_counter()
    for i in range(loops + songs):
        y, bpm, category = (make_loop if i < loops else make_song)(rng, renderers)
        out.append(example(y, bpm, f"{seed}-{i:05d}", category))
        if (i + 1) % 200 == 0:
            log(f"  seed {seed}: {i + 1}/{loops + songs} files ({time.perf_counter() - t0:.0f} s)")
    if cache is not None:
        _save(cache, out, wanted)
    return out


def _save(path: Path, found: list[Example], made_by: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    empty = tempo.Candidates(np.zeros(0), np.zeros(0), np.zeros((0, len(tempo.FEATURES))))
    held = [e.candidates or empty for e in found]
    np.savez_compressed(
        path,
        name=np.array([e.name for e in found]),
        category=np.array([e.category for e in found]),
        truth=np.array([e.truth for e in found]),
        sizes=np.array([-1 if e.candidates is None else e.candidates.bpm.size for e in found]),
        bpm=np.concatenate([c.bpm for c in held]),
        salience=np.concatenate([c.salience for c in held]),
        features=np.concatenate([c.features for c in held]).astype(np.float32),
        recipe=np.array(made_by),
    )


def _load(path: Path, made_by: str) -> list[Example] | None:
    """The examples cached at ``path``, or None when they were made by another recipe."""
    with np.load(path) as npz:
        if "recipe" not in npz.files or str(npz["recipe"]) != made_by:
            return None
        sizes = npz["sizes"]
        edges = np.concatenate([[0], np.cumsum(np.maximum(sizes, 0))])
        bpm, salience, features = (npz[k] for k in ("bpm", "salience", "features"))
        return [
            Example(
                str(npz["name"][i]),
                str(npz["category"][i]),
                float(npz["truth"][i]),
                None if sizes[i] < 0 else tempo.Candidates(bpm[a:b], salience[a:b], features[a:b].astype(np.float64)),
            )
            for i, (a, b) in enumerate(zip(edges[:-1], edges[1:]))
        ]


# ---------------------------------------------------------------------------------------------- scorer


def flat_weights(found: list[Example]) -> np.ndarray:
    """A weight per file that makes the written tempi of each kind of file (loops of drums, of tonal parts
    or of both; excerpts with and without drums) equally common across :data:`FLAT_EDGES` (60–180 BPM in
    15 BPM bands; tempi outside count in the nearest band), mean 1. Taken over all the files rendered;
    :func:`train` then leaves out the few without a right candidate.

    The material writes each drum style at the tempi it is played at, so slow loops are rarer there than
    120 BPM ones; unweighted, the scorer would learn that rarity as a prior and call slow loops double
    time. A user's library is not the material's mix: the loops asked about span 60–180 BPM.
    """
    truth = np.array([e.truth for e in found])
    mix = np.array([e.category.split(" (")[0] for e in found])
    band = np.clip(np.digitize(truth, FLAT_EDGES) - 1, 0, FLAT_EDGES.size - 2)
    weight = np.ones(len(found))
    for kind in set(mix.tolist()):
        chosen = mix == kind
        share = np.bincount(band[chosen], minlength=FLAT_EDGES.size - 1) / np.count_nonzero(chosen)
        weight[chosen] = 1.0 / ((FLAT_EDGES.size - 1) * share[band[chosen]])
    return weight / weight.mean() if weight.size else weight


def train(
    found: list[Example],
    *,
    hidden: int = 32,
    weight_decay: float = 1e-3,
    epochs: int = 60,
    batch: int = 32,
    seed: int = 0,
    file_weights: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Fit the scorer: maximise, per file, the softmax probability of its right candidates, each file
    weighted by ``file_weights`` [shape=(len(found),)] (default :func:`flat_weights`).

    Files are padded to the most candidates any has (padding scores −∞) and taken ``batch`` at a time.
    Files without a right candidate teach nothing and are left out. Returns the weights as
    :func:`tempo.level_scores` reads them (``temperature`` is set later by :func:`calibrate`).
    """
    import torch

    torch.manual_seed(seed)
    reachable = [i for i, e in enumerate(found) if e.shown()[2].any()]
    shown = [found[i].shown()[1:] for i in reachable]
    every = flat_weights(found) if file_weights is None else np.asarray(file_weights, dtype=np.float64)
    weight = torch.from_numpy(every[reachable].astype(np.float32))
    width, most = len(tempo.FEATURES), max(right.size for _, right in shown)
    x = torch.zeros(len(shown), most, width)
    right = torch.zeros(len(shown), most, dtype=torch.bool)
    present = torch.zeros(len(shown), most, dtype=torch.bool)
    for i, (features, good) in enumerate(shown):
        x[i, : good.size] = torch.from_numpy(features.astype(np.float32))
        right[i, : good.size] = torch.from_numpy(good)
        present[i, : good.size] = True
    linear = torch.nn.Linear(width, 1)
    layer = torch.nn.Linear(width, hidden)
    output = torch.nn.Linear(hidden, 1, bias=False)
    params = [*linear.parameters(), *layer.parameters(), *output.parameters()]
    optimiser = torch.optim.Adam(params, lr=3e-3, weight_decay=weight_decay)
    order = np.random.default_rng(seed)
    for _ in range(epochs):
        permutation = torch.from_numpy(order.permutation(len(shown)))
        for idx in permutation.split(batch):
            xb = x[idx]
            score = (linear(xb) + output(torch.tanh(layer(xb)))).squeeze(-1)
            score = score.masked_fill(~present[idx], -torch.inf)
            loss = torch.logsumexp(score, 1) - torch.logsumexp(score.masked_fill(~right[idx], -torch.inf), 1)
            optimiser.zero_grad()
            ((loss * weight[idx]).sum() / weight[idx].sum()).backward()
            optimiser.step()
    return {
        "linear": linear.weight.detach().numpy()[0].astype(np.float64),
        "intercept": linear.bias.detach().numpy().astype(np.float64),
        "hidden": layer.weight.detach().numpy().astype(np.float64),
        "hidden_bias": layer.bias.detach().numpy().astype(np.float64),
        "output": output.weight.detach().numpy()[0].astype(np.float64),
    }


def fit_with_own_loops(material: list[Example], own: list[Example], *, seed: int = 0) -> dict[str, np.ndarray]:
    """The scorer refitted on the development ``material`` and a user's own loops ``own`` (their tempo as
    their names or tags declare it, ``sampledex train-tempo``).

    The material is weighted as :func:`train` weighs it, each own loop :data:`OWN_LOOP_WEIGHT`; the
    confidence temperature is that of the scorer ``index`` uses (a library's own loops are too few to calibrate
    it on).
    """
    weights = train(
        material + own,
        seed=seed,
        file_weights=np.concatenate([flat_weights(material), np.full(len(own), OWN_LOOP_WEIGHT)]),
    )
    weights["temperature"] = np.array(tempo._confidence_temperature())
    return weights


def accuracy(weights: dict | None, found: list[Example]) -> float:
    """Acc1 of the scorer with ``weights`` (None: the one ``index`` uses, :data:`tempo.LEVEL_WEIGHTS`) on these
    files (NaN for none)."""
    return float(decisions(weights, found)[1].mean()) if found else float("nan")


def decisions(weights: dict | None, found: list[Example]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each file: the chosen tempo (NaN: none), whether it is right, and every candidate's score
    less the chosen one's (which :func:`confidence` turns into a probability)."""
    chosen, right, margins = [], [], []
    for e in found:
        bpm, features, good = e.shown()
        if bpm.size == 0:
            chosen.append(np.nan)
            right.append(False)
            margins.append(np.zeros(0))
            continue
        s = tempo.level_scores(features, weights)
        best = int(np.argmax(s))
        chosen.append(float(bpm[best]))
        right.append(bool(good[best]))
        margins.append(s - s[best])
    held = np.empty(len(margins), dtype=object)
    held[:] = margins
    return np.array(chosen), np.array(right), held


def confidence(margins: np.ndarray, temperature: float) -> np.ndarray:
    """The probability the softmax at ``temperature`` gives each file's chosen candidate."""
    return np.array([1.0 / np.exp(m / temperature).sum() if m.size else 0.0 for m in margins])


def calibrate(weights: dict, found: list[Example]) -> float:
    """The temperature of :data:`TEMPERATURES` whose confidence best predicts being right (Brier score)."""
    _, right, margins = decisions(weights, found)
    return min(TEMPERATURES, key=lambda t: float(np.mean((confidence(margins, t) - right) ** 2)))


def report(weights: dict, found: list[Example], *, log=print) -> float:
    """Acc1 (and Acc2) of the scorer on these files, by category and by confidence quintile; returns Acc1."""
    chosen, right, margins = decisions(weights, found)
    acc2 = np.array([tempo_hits(float(c), e.truth)[1] for c, e in zip(chosen, found)])
    reachable = np.array([e.shown()[2].any() for e in found])
    flat = flat_weights(found)
    log(
        f"  {len(found)} files: Acc1 {right.mean():.3f}, Acc2 {acc2.mean():.3f}, "
        f"right tempo among those shown {reachable.mean():.3f}; with tempi evened out (flat_weights) "
        f"Acc1 {np.average(right, weights=flat):.3f}, Acc2 {np.average(acc2, weights=flat):.3f}"
    )
    groups: dict[str, list[int]] = {}
    for i, e in enumerate(found):
        groups.setdefault(e.category.split(" (")[0], []).append(i)
    for name, idx in sorted(groups.items()):
        log(f"    {name:24s} {len(idx):5d}  Acc1 {right[idx].mean():.3f}  Acc2 {acc2[idx].mean():.3f}")
    conf = confidence(margins, float(weights["temperature"]))
    log(
        "    Acc1 by confidence quintile (lowest first): "
        + ", ".join(f"{b.accuracy:.2f} (≤{b.hi:.2f})" for b in accuracy_by_confidence(right, conf, bins=5))
    )
    return float(right.mean())


def save(weights: dict, path: Path) -> None:
    np.savez(path, **weights, features=np.array(tempo.FEATURES))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loops", type=int, default=3000, help="development loops to train on")
    parser.add_argument("--songs", type=int, default=200, help="excerpts of longer pieces to train on")
    parser.add_argument("--seed", type=int, default=1, help="material seed of the training files")
    parser.add_argument("--val-seed", type=int, default=2, help="material seed of the validation files")
    parser.add_argument("--val-loops", type=int, default=600)
    parser.add_argument("--val-songs", type=int, default=40)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--cache", type=Path, default=Path("data/tempolevel"), help="rendered examples are kept here")
    parser.add_argument("--out", type=Path, default=tempo.LEVEL_WEIGHTS)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    training = examples(
        args.seed,
        loops=args.loops,
        songs=args.songs,
        cache=args.cache / f"seed{args.seed}.npz",
    )
    validation = examples(
        args.val_seed,
        loops=args.val_loops,
        songs=args.val_songs,
        cache=args.cache / f"seed{args.val_seed}.npz",
    )
    print(
        f"material: {len(training)} training and {len(validation)} validation files ({time.perf_counter() - t0:.0f} s)"
    )
    t1 = time.perf_counter()
    weights = train(training, hidden=args.hidden)
    weights["temperature"] = np.array(calibrate(weights, validation))
    print(f"trained in {time.perf_counter() - t1:.0f} s; confidence temperature {float(weights['temperature']):g}")
    print("training files:")
    report(weights, training)
    print("validation files:")
    report(weights, validation)
    save(weights, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""``make probe-chords``: one tonic chord held, of every colour, the CNN beside Krumhansl–Schmuckler.

A pad, stab or guitar chord in a pack is named by its chord: "Pad C6/9", "Em9 strum". A sixth chord holds
the notes of the relative minor's seventh (C6 = C E G A = Am7 over C), a ninth the relative major's triad
(Em9 = E G B D F#, G B D inside it): only the root in the bass says which key the file is in. A power chord
(``5``: root, fifth, octave) has no third at all; it is scored against the minor key, as electronic packs name
such a drone. Each sound
here is one tonic chord of a quality (:data:`QUALITIES`), its root lowest, held 3–8 s, played three ways —
numpy synthesis as pads are (:mod:`electronic`'s timbres, filter and space), the validation library's
recorded Rhodes (``data/libraries/validation/jrhodes3d``, which training never hears; skipped if absent), and
strings, pads, organs and guitars of a training soundfont (FluidR3 GM) — and goes through ``index``'s chain,
the no-key rules included. Prints the MIREX score of each quality and how often the answer was the relative
key or no key. Seeds are the probe's own (no training or evaluation set uses them); nothing is written.

``--detune LO:HI`` plays the numpy pads alone, their voices spread wide (a supersaw at a wide setting);
``--inversion 1`` or ``2`` plays the tonic triads alone, over their third or fifth (C/E, C/G: a slash chord, whose
key is still the chord's), that note lowest and doubled.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from sampledex.models import keys
from sampledex.models.training import datagen, electronic, render, sampler, synth
from sampledex.models.training.metrics import weighted_score
from sampledex.pipeline.tools.washprobe import key_of

SR = datagen.SR
#: the chords held, by :data:`datagen.CHORD_INTERVALS`' names: triads, sevenths and the tonic colours
QUALITIES = ("maj", "min", "maj7", "min7", "add9", "madd9", "maj9", "min9", "min11", "6", "6/9", "min6", "5")
#: the qualities scored against the minor key: a minor third above the root, or no third (the power chord, named
#: minor as electronic packs name a drone of a tonic and a fifth)
MINOR_QUALITIES = frozenset(q for q, steps in datagen.CHORD_INTERVALS.items() if steps[1] == 3) | {"5"}
#: the chords ``--inversion`` holds: a seventh's or a colour's inversion is another chord (Am7 over C is C6)
TRIADS = ("maj", "min")
RHODES = Path("data/libraries/validation/jrhodes3d")
#: General MIDI programs a held chord is played on: strings, ensembles, synth pads, organs, a guitar
PROGRAMS = (48, 49, 50, 52, 88, 89, 90, 91, 92, 94, 95, 16, 19, 24)
#: first seed of the probe's sounds: far from training (< 10⁷), the wash probe and the evaluation sets (≥ 10⁹)
SEED = 770_000


def voicing(key: int, quality: str, rng: np.random.Generator, inversion: int = 0) -> list[tuple[float, float]]:
    """``(MIDI, gain)``: the chord on the key's tonic, its root in G2–F#3, doubled an octave down 70 % of the
    time; ``inversion`` 1 or 2: over its third or fifth instead, that note doubled."""
    chord = datagen.chord_pitches(key, 0, quality, octave=3 if keys.tonic_pc(key) <= 6 else 2)
    chord = chord[inversion:] + [p + 12 for p in chord[:inversion]]  # the notes below the lowest an octave up
    return ([(float(chord[0] - 12), 1.0)] if rng.random() < 0.7 else []) + [(float(p), 0.7) for p in chord]


@dataclasses.dataclass(frozen=True)
class Variant:
    """How the chords are played beside the plain probe: ``detune``, the numpy pads' voices detuned evenly over
    ±(a draw from this range of cents) instead of the timbre's own; ``inversion``, :func:`voicing`'s."""

    detune: tuple[float, float] | None = None
    inversion: int = 0


def synth_pad(key: int, quality: str, rng: np.random.Generator, variant: Variant = Variant()) -> np.ndarray:
    """The chord as a numpy pad: one of :func:`electronic.draw_timbre`'s, a swept low-pass, a room 80 %."""
    n = int(rng.uniform(4, 12) * SR)
    timbre = electronic.draw_timbre(rng)
    if variant.detune is not None:
        timbre = dataclasses.replace(timbre, spread_cents=float(rng.uniform(*variant.detune)))
    env = electronic.envelope(n, SR, attack=float(rng.uniform(0.05, 1.5)), release=1.0)
    y = env * electronic.chord_voices(timbre, voicing(key, quality, rng, variant.inversion), n, SR, rng)
    y = electronic.swept_filter(y, electronic.filter_motion(n, SR, rng), SR, q=1.0)
    return electronic.space(y, SR, rng) if rng.random() < 0.8 else y


def played(
    player: str,
    key: int,
    quality: str,
    rng: np.random.Generator,
    rhodes: sampler.Sampler | None = None,
    variant: Variant = Variant(),
) -> np.ndarray:
    """The chord played by ``player`` (``'synth'``, ``'rhodes'`` or ``'soundfont'``), mono at :data:`SR`."""
    if player == "synth":
        return synth_pad(key, quality, rng, variant)
    held = float(rng.uniform(3, 8))
    notes = [synth.Note(0.0, held, midi, 0.7) for midi, _ in voicing(key, quality, rng, variant.inversion)]
    if player == "rhodes":
        if rhodes is None:
            raise ValueError("player 'rhodes' needs the Rhodes sampler")
        return rhodes.render(notes, held, tail=1.0)
    program = int(rng.choice(PROGRAMS))
    return render.renderer(render.TRAIN_SOUNDFONTS[0], SR).render(notes, held, program=program, tail=1.0)


def probe(
    player: str,
    per_quality: int,
    method: str,
    weights: str | None = None,
    rhodes: sampler.Sampler | None = None,
    variant: Variant = Variant(),
) -> dict[str, tuple[float, float, float]]:
    """``quality -> (MIREX, share heard as the relative key, share without a key)`` over ``per_quality``
    chords of each quality played by ``player``, by ``method`` (the triads alone when inverted: :data:`TRIADS`;
    each chord the same as its root-position twin but for the voicing)."""
    found = {}
    for q, quality in enumerate(TRIADS if variant.inversion else QUALITIES):
        scores, relative, none = [], 0, 0
        for i in range(per_quality):
            rng = np.random.default_rng(SEED + 1000 * q + i)
            key = keys.key_index(int(rng.integers(12)), minor=quality in MINOR_QUALITIES)
            got = key_of(synth.normalise(played(player, key, quality, rng, rhodes, variant)), method, weights)
            scores.append(0.0 if got is None else weighted_score(key, got))
            relative += got is not None and got == keys.relative(key)
            none += got is None
        found[quality] = (float(np.mean(scores)), relative / per_quality, none / per_quality)
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="the CNN's weights (default: the shipped models/keycnn.npz)")
    parser.add_argument("--per-quality", type=int, default=12, help="chords of each quality per player")
    parser.add_argument(
        "--detune",
        type=_cents_range,
        metavar="LO:HI",
        help="the numpy pads only, their voices detuned evenly over ±LO–HI cents (a wide supersaw: 30:50)",
    )
    parser.add_argument(
        "--inversion",
        type=int,
        choices=(1, 2),
        default=0,
        help="the tonic triads only, over their third (1: C/E) or fifth (2: C/G), that note doubled an octave down",
    )
    args = parser.parse_args(argv)
    variant = Variant(args.detune, args.inversion)
    players = ["synth"] if args.detune else ["synth", "soundfont"]
    rhodes = None
    if RHODES.is_dir() and not args.detune:
        players.insert(1, "rhodes")
        rhodes = sampler.Sampler.load([RHODES], sr=SR, seed=SEED)
    methods = {"CNN": "cnn", "KS": "classic"}
    for player in players:
        found = {
            m: probe(player, args.per_quality, method, args.weights, rhodes, variant) for m, method in methods.items()
        }
        detuned = f", detuned ±{args.detune[0]:g}–{args.detune[1]:g} cents" if args.detune else ""
        over = {0: "", 1: ", over the third", 2: ", over the fifth"}[args.inversion]
        print(
            f"\n{args.per_quality} tonic chords of each quality, {player}{detuned}{over}"
            " (MIREX; share relative key, no key)"
        )
        print("| chord | " + " | ".join(methods) + " |")
        print("|---|" + "---|" * len(methods))
        for quality in found["CNN"]:
            cells = [
                f"{found[m][quality][0]:.3f} ({found[m][quality][1]:.2f}, {found[m][quality][2]:.2f})" for m in methods
            ]
            print(f"| {quality} | " + " | ".join(cells) + " |")
        means = [f"{np.mean([v[0] for v in found[m].values()]):.3f}" for m in methods]
        print("| all | " + " | ".join(means) + " |")


def _cents_range(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not LO:HI in cents (30:50)") from None
    if not 0 <= lo <= hi:
        raise argparse.ArgumentTypeError(f"{text!r}: cents must be 0 <= LO <= HI")
    return lo, hi


if __name__ == "__main__":
    main()

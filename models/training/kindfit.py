"""Fit the loop-or-one-shot model (``kind.WEIGHTS``): development files ──► :func:`kind.kind_features` ──►
logistic regression.

development files ──► onset strength ──► the rules that decide before the model (:func:`kind.plainly_one_shot`,
    no tempo, :data:`kind.ALWAYS_LOOP_SECONDS`) ──► the files they leave ──► features ──► L2-regularised
    logistic regression (Newton's method) ──► weights, printed for ``models/kind.py``

The material is the project's own: loops (:func:`tempolevel.make_loop`, a third of them drawn one bar
long besides the one bar in five of its own mix, since the shortest loops are the ones a one-shot
resembles; :func:`datagen.tonal_loop`) and excerpts (:func:`tempolevel.make_song`) as loops; single notes
of every General MIDI instrument, chord stabs, drum hits, tonal and keyless FX and pads (:mod:`electronic`)
as one-shots, rendered with the training soundfonts and numpy synthesis; and real recorded notes and hits,
from the ``--library`` folders for fitting and the ``--val-library`` folders for validation (the
development libraries' two halves, ``make libraries``). Nothing here uses the evaluation soundfont or
``make bench-descriptors``' generator.

``python -m sampledex.models.training.kindfit`` fits on one seed's files, reports the shipped and the
fitted weights on another seed's, and prints the fitted weights; nothing is written.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from .. import kind, onsets, tempo
from . import datagen, electronic, render, sampler, synth, tempolevel
from .synth import Note

SR = tempolevel.SR
#: the L2 penalty on the weights (not the intercept), per file
PENALTY = 1e-3
#: one-shot FX of :mod:`electronic` (gated pads and arpeggios pulse: they are left out, being either)
ONE_SHOT_FX = ("riser", "downlifter", "impact", "swell", "reversed")
#: what a development set is made of: category and its share
MIX = {
    "loop": 0.30,
    "loop, one bar": 0.15,
    "loop, key model's": 0.05,
    "excerpt": 0.02,
    "note": 0.14,
    "chord stab": 0.08,
    "drum hit": 0.10,
    "fx": 0.06,
    "keyless fx": 0.04,
    "pad": 0.06,
}
#: categories that are loops
LOOPS = {"loop", "loop, one bar", "loop, key model's", "excerpt"}


def _note(rng: np.random.Generator, renderers: list) -> np.ndarray:
    """One note of a General MIDI instrument, held 0.05–4 s, with 0.2–2 s to ring."""
    program = int(rng.choice(datagen.PROGRAMS["chords"] + datagen.PROGRAMS["bass"]))
    midi = int(rng.integers(28, 96))
    held = float(np.exp(rng.uniform(np.log(0.05), np.log(4.0))))
    renderer = renderers[int(rng.integers(len(renderers)))]
    y = renderer.render(
        [Note(0.0, held, midi, float(rng.uniform(0.4, 1.0)))], held, program=program, tail=float(rng.uniform(0.2, 2.0))
    )
    return y if np.any(y) else synth.single_note(midi, duration=held + 0.2, sr=SR, wave=str(rng.choice(synth.WAVES)))


def _hit(rng: np.random.Generator, renderers: list) -> np.ndarray:
    """One drum hit of a General MIDI kit, with 0.1–1.5 s to ring."""
    renderer = renderers[int(rng.integers(len(renderers)))]
    drum = int(rng.choice(datagen.DRUM_HITS))
    return renderer.render(
        [Note(0.0, 0.1, drum, float(rng.uniform(0.5, 1.0)))], 0.1, drums=True, tail=float(rng.uniform(0.1, 1.5))
    )


def generators(renderers: list) -> dict[str, Callable[[np.random.Generator], np.ndarray]]:
    """A function per :data:`MIX` category that makes one file of it (mono, :data:`SR`)."""
    return {
        "loop": lambda rng: tempolevel.make_loop(rng, renderers)[0],
        "loop, one bar": lambda rng: tempolevel.make_loop(rng, renderers, bars=1)[0],
        "loop, key model's": lambda rng: datagen.tonal_loop(
            int(rng.integers(24)), rng, renderers, datagen.TRAIN_PROGRESSIONS
        ),
        "excerpt": lambda rng: tempolevel.make_song(rng, renderers)[0],
        "note": lambda rng: _note(rng, renderers),
        "chord stab": lambda rng: datagen.one_shot_chord(int(rng.integers(24)), rng, renderers),
        "drum hit": lambda rng: _hit(rng, renderers),
        "fx": lambda rng: electronic.tonal_fx(int(rng.integers(24)), rng, kind=str(rng.choice(ONE_SHOT_FX))),
        "keyless fx": lambda rng: electronic.keyless_fx(rng)[0],
        "pad": lambda rng: electronic.pad(int(rng.integers(24)), rng),
    }


def real_files(folders: list[Path], count: int, rng: np.random.Generator) -> Iterator[tuple[str, np.ndarray]]:
    """``count`` recordings drawn from the library folders, as many from each (notes and hits: one-shots),
    decoded whole."""
    import soundfile as sf

    from .. import frontend

    for folder in folders:
        paths = sampler.audio_files(folder)
        for i in rng.choice(len(paths), size=min(count // len(folders), len(paths)), replace=False):
            y, rate = sf.read(str(paths[int(i)]), dtype="float32", always_2d=True)
            yield f"real, {folder.name}", frontend.mono_at(y, rate, SR)


def material(
    seed: int, count: int, *, libraries: list[Path], real: int, log=print
) -> list[tuple[str, np.ndarray | None, bool, str | None]]:
    """``count`` synthetic files of :data:`MIX` and ``real`` library files, each as (category, its features
    or None where a rule decides, whether it is a loop, the rule's decision or None)."""
    renderers = [render.renderer(name, SR) for name in render.TRAIN_SOUNDFONTS]
    make = generators(renderers)
    rng = np.random.default_rng(seed)
    names = list(MIX)
    drawn = rng.choice(len(names), size=count, p=np.array(list(MIX.values())) / sum(MIX.values()))
    files: list[tuple[str, np.ndarray]] = [(names[i], make[names[i]](rng)) for i in drawn]
    if libraries and real:
        files += list(real_files(libraries, real, rng))
    out = []
    t0 = time.perf_counter()
    for j, (category, y) in enumerate(files):
        features, ruled = describe(synth.normalise(np.asarray(y, dtype=np.float64), 0.8))
        out.append((category, features, category in LOOPS, ruled))
        if (j + 1) % 500 == 0:
            log(f"  seed {seed}: {j + 1}/{len(files)} files ({time.perf_counter() - t0:.0f} s)")
    return out


def describe(y: np.ndarray) -> tuple[np.ndarray | None, str | None]:
    """The features the model sees, or the rules' decision where one decides first (as
    :func:`descriptors.describe` applies them)."""
    strength = onsets.onset_strength(np.asarray(y, dtype=np.float32))
    if kind.plainly_one_shot(strength):
        return None, kind.ONE_SHOT
    beat = tempo.estimate_tempo(strength)
    ruled = kind.decided_by_rule(strength, beat)
    return (None, ruled) if ruled is not None else (kind.kind_features(strength, beat), None)


def fit(x: np.ndarray, y: np.ndarray, *, penalty: float = PENALTY, steps: int = 50) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method: (weights, intercept).

    Parameters
    ----------
    x : np.ndarray [shape=(files, features)]
    y : np.ndarray [shape=(files,)] of 0 and 1
    """
    design = np.hstack([x, np.ones((x.shape[0], 1))])
    ridge = penalty * x.shape[0] * np.diag([1.0] * x.shape[1] + [0.0])
    w = np.zeros(design.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-design @ w))
        gradient = design.T @ (p - y) + ridge @ w
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + ridge
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.max(np.abs(step))) < 1e-8:
            break
    return w[:-1], float(w[-1])


def accuracy(found: list, weights: np.ndarray, intercept: float, *, log=print) -> float:
    """Kind accuracy of the whole decision (rules, then the model) by category; returns the overall."""
    hits: dict[str, list[bool]] = defaultdict(list)
    for category, features, loop, ruled in found:
        said = ruled if ruled is not None else kind.LOOP if intercept + features @ weights >= 0 else kind.ONE_SHOT
        hits[category].append((said == kind.LOOP) == loop)
    for category in sorted(hits):
        log(f"    {category:28s} {len(hits[category]):5d}  {np.mean(hits[category]):.3f}")
    every = [h for v in hits.values() for h in v]
    log(f"    {'all':28s} {len(every):5d}  {np.mean(every):.3f}")
    return float(np.mean(every))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=3000, help="synthetic development files to fit on")
    parser.add_argument("--val-files", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--val-seed", type=int, default=12)
    parser.add_argument("--library", type=Path, action="append", default=[], help="recorded notes and hits to fit on")
    parser.add_argument(
        "--val-library", type=Path, action="append", default=[], help="recorded notes and hits to validate on"
    )
    parser.add_argument("--real", type=int, default=400, help="library files drawn per set")
    args = parser.parse_args(argv)
    try:  # a wrong folder fails now, not after minutes of rendering
        for folder in args.library + args.val_library:
            sampler.audio_files(folder)
    except sampler.LibraryError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    t0 = time.perf_counter()
    training = material(args.seed, args.files, libraries=args.library, real=args.real)
    validation = material(args.val_seed, args.val_files, libraries=args.val_library, real=args.real // 2)
    print(f"material: {len(training)} and {len(validation)} files ({time.perf_counter() - t0:.0f} s)")
    modelled = [(f, loop) for _, f, loop, ruled in training if ruled is None]
    if not modelled:
        print("error: the rules decide every training file: nothing is left to fit (more --files)", file=sys.stderr)
        raise SystemExit(1)
    x = np.array([f for f, _ in modelled])
    y = np.array([float(loop) for _, loop in modelled])
    weights, intercept = fit(x, y)
    shipped = np.array([kind.WEIGHTS[name] for name in kind.FEATURES])
    for label, (w, b) in {"shipped": (shipped, kind.INTERCEPT), "fitted": (weights, intercept)}.items():
        print(f"{label} weights, validation files:")
        accuracy(validation, w, b)
    print(f"fitted on {len(modelled)} files the rules leave ({len(training)} in all):")
    print("WEIGHTS = {" + ", ".join(f'"{n}": {v:.3f}' for n, v in zip(kind.FEATURES, weights)) + "}")
    print(f"INTERCEPT = {intercept:.2f}")


if __name__ == "__main__":
    main()

"""``make probe-wash``: tonal FX and pads under a noise wash, the CNN beside Krumhansl–Schmuckler.

A real riser is often more wash than tone. Each sound (from seeds no training or evaluation set uses) is laid
over a wash of three makes — one of the keyless class's FX (a noise riser or fall, an unpitched impact, a
reversed swell: :func:`electronic.keyless_fx`), a steady band-limited noise, and a high-passed white-noise riser
(a make the training material never has) — at 0.5, 1 and 2 × the sound's RMS, and each wash is also scored alone
(it should have no key). Every file goes through ``index``'s chain, the no-key rules included
(:func:`analyze.estimate_key`). Prints the MIREX score and the share without a key of each condition.
Nothing is written; the sounds are made in memory (about a minute per method on two cores).
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.signal import butter, sosfilt

from sampledex.models.training import datagen, electronic, synth
from sampledex.models.training.metrics import weighted_score
from sampledex.pipeline import analyze, decode

SR = datagen.SR
#: wash levels against the sound's RMS
LEVELS = (0.5, 1.0, 2.0)
WASHES = ("keyless-class", "steady", "white riser")
#: first seeds of the probe's sounds: far from training (< 10⁷) and from the evaluation sets (≥ 10⁹)
SEEDS = {"tonal FX": 880_000, "pad": 990_000}


def _rms(y: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(y, np.float64) ** 2))) + 1e-12


def wash(make: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of a wash at :data:`SR`: ``make`` is one of :data:`WASHES`."""
    if make == "keyless-class":
        x = electronic.keyless_fx(rng)[0].astype(np.float64)
        return x[-n:] if x.size >= n else np.concatenate([np.zeros(n - x.size), x])
    if make == "steady":
        x = np.cumsum(rng.standard_normal(n)) * 0.02 + rng.standard_normal(n)
        band = [float(rng.uniform(60, 300)), float(rng.uniform(4000, 10000))]
        return sosfilt(butter(2, band, "bandpass", fs=SR, output="sos"), x)
    if make == "white riser":
        x = rng.standard_normal(n)
        x = sosfilt(butter(2, float(rng.uniform(300, 2000)), "highpass", fs=SR, output="sos"), x)
        return x * np.linspace(0.05, 1.0, n) ** float(rng.uniform(1, 3))
    raise ValueError(f"make={make!r} is not one of {WASHES}")


def laid_over(y: np.ndarray, noise: np.ndarray, level: float) -> np.ndarray:
    """``y`` over ``noise`` at ``level`` × its RMS, normalised (mono at :data:`SR`)."""
    return synth.normalise(y / _rms(y) + level * noise / _rms(noise))


def key_of(y: np.ndarray, method: str, weights: str | None = None) -> int | None:
    """The key ``index`` would store for mono ``y`` at :data:`SR` (None: no key), by ``method``."""
    audio = decode.Audio(np.asarray(y, dtype=np.float32)[:, None], SR, "wav", "FLOAT")
    return analyze.estimate_key(audio, method, weights=weights).index


def probe(
    family: str, count: int, method: str, weights: str | None = None
) -> dict[tuple[str, str], tuple[float, float]]:
    """``(wash, level or 'alone') -> (MIREX, share without a key)`` over ``count`` sounds of ``family``, by
    ``method`` (``'cnn'`` with ``weights``, or ``'classic'``)."""
    scores: dict[tuple[str, str], list[tuple[float, bool]]] = {}
    for i in range(count):
        rng = np.random.default_rng(SEEDS[family] + i)
        key = int(rng.integers(24))
        if family == "pad":
            y = electronic.pad(key, rng)
        else:
            y = electronic.tonal_fx(key, rng, kind=electronic.FX_KINDS[i % len(electronic.FX_KINDS)])
        y = y.astype(np.float64)
        for make in WASHES:
            noise = wash(make, y.size, rng)
            for level in LEVELS:
                got = key_of(laid_over(y, noise, level), method, weights)
                score = 0.0 if got is None else weighted_score(key, got)
                scores.setdefault((make, f"{level:g}×"), []).append((score, got is None))
            alone = key_of(synth.normalise(noise), method, weights)
            scores.setdefault((make, "alone"), []).append((0.0, alone is None))
    return {k: (float(np.mean([s for s, _ in v])), float(np.mean([n for _, n in v]))) for k, v in scores.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="the CNN's weights (default: the shipped models/keycnn.npz)")
    parser.add_argument("--fx", type=int, default=84, help="tonal FX to lay over washes (84: 12 of each kind)")
    parser.add_argument("--pads", type=int, default=48, help="pads to lay under washes")
    args = parser.parse_args(argv)
    methods = {"CNN": "cnn", "KS": "classic"}
    for family, count in (("tonal FX", args.fx), ("pad", args.pads)):
        if count <= 0:
            continue
        found = {name: probe(family, count, method, args.weights) for name, method in methods.items()}
        print(f"\n{count} {family} over a wash (MIREX, share without a key)")
        print("| wash | level | " + " | ".join(methods) + " |")
        print("|---|---|" + "---|" * len(methods))
        for key in found["CNN"]:
            cells = [f"{found[m][key][0]:.3f} ({found[m][key][1]:.3f})" for m in methods]
            if key[1] == "alone":  # a wash alone: only whether it has no key counts
                cells = [f"no key {found[m][key][1]:.3f}" for m in methods]
            print(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

"""Measure the embedding's standardising constants (``models/embedding.npz``) on seeded reference material.

``python -m sampledex.pipeline.tools.embedfit [--files N] [--seed S] [--library DIR]`` renders a library of
the demo's five kinds (drum hits, drum loops, tonal loops, chord stabs, single notes) with a seed other than
the demo's, analyses each file as the pipeline does, and writes the means and spreads of
:func:`models.embedding.features`. It then prints, for that library, how often at least 4 of a file's 5
nearest neighbours are of its kind: the check the block weights were chosen by.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import numpy as np

from sampledex.models import embedding, frontend, onsets

from .. import decode
from . import demo

#: not the demo's seed (2026): the demo library is the held-out check of "similar"
SEED = 7


def raw_features(folder: Path) -> tuple[np.ndarray, list[str]]:
    """:func:`embedding.features` of every file of a written library, and each file's kind."""
    rows, kinds = [], []
    with open(folder / "labels.csv", newline="") as f:
        for label in csv.DictReader(f):
            mono = decode.to_analysis_mono(decode.load(str(folder / label["file"])))
            rows.append(embedding.features(onsets.onset_strength(mono), frontend.logfreq_spectrogram(mono)))
            kinds.append(label["kind"])
    return np.array(rows), kinds


def neighbour_agreement(vectors: np.ndarray, kinds: list[str], k: int = 5, need: int = 4) -> dict[str, float]:
    """Per kind, the share of files with at least ``need`` of their ``k`` nearest (cosine) of the same kind."""
    labels = np.asarray(kinds)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = np.argsort(-similarity, axis=1)[:, :k]
    hits = (labels[nearest] == labels[:, None]).sum(axis=1) >= need
    return {kind: float(hits[labels == kind].mean()) for kind in sorted(set(kinds))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--library", type=Path, help="where to render the library (a temporary folder by default)")
    parser.add_argument("--out", type=Path, default=embedding.STATS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = demo.write_library(args.library or Path(tmp), demo.library_specs(args.files, seed=args.seed))
        raw, kinds = raw_features(folder)
    stats = embedding.fit_stats(raw, kinds)
    np.savez(args.out, mean=stats["mean"], scale=stats["scale"], projection=stats["projection"])
    embedding.reference_stats.cache_clear()
    vectors = np.stack([embedding.normalise(r) for r in raw])
    print(f"{len(kinds)} files, {embedding.DIM} dimensions -> {args.out}")
    for kind, share in neighbour_agreement(vectors, kinds).items():
        print(f"  {kind:<11} 4 of 5 nearest of the same kind: {share:.2f}")


if __name__ == "__main__":
    main()

"""``sampledex evaluate``: a key method on a labelled dataset, through the pipeline's own chain.

Each file is read through fsspec, decoded and resampled exactly as in an
``index`` partition, and its spectrogram goes to the same estimator object.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sampledex.models import keys
from sampledex.models.training import datasets, metrics
from sampledex.pipeline import analyze, decode


@dataclass
class Evaluation:
    dataset: str
    method: str
    report: metrics.KeyReport
    deciles: list
    results: list[tuple[str, int | None, int | None, float]]  # path, reference, estimate, confidence
    failed: list[tuple[str, str]]

    def as_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "method": self.method,
            **self.report.as_dict(),
            "accuracy_by_confidence": [b._asdict() for b in self.deciles],
            "failed": [{"path": p, "error": e} for p, e in self.failed],
        }

    def text(self) -> str:
        lines = [
            f"{self.dataset}: {len(self.results)} files, method {self.method}",
            self.report.text(),
            "accuracy by confidence decile (tonal references):",
        ]
        lines += [f"  {b.lo:.2f}–{b.hi:.2f}  n={b.n:4d}  accuracy {b.accuracy:.2f}" for b in self.deciles]
        lines += [f"  failed: {p}: {e}" for p, e in self.failed]
        return "\n".join(lines)


def estimate_file(
    path: str, method: str, storage_options: dict | None = None, *, weights: str | None = None
) -> keys.KeyEstimate:
    """The key estimate of one file, by the chain an ``index`` partition runs."""
    return analyze.estimate_key(decode.load(path, storage_options=storage_options), method, weights=weights)


def evaluate(
    spec: str, method: str = analyze.DEFAULT_KEY_METHOD, *, weights: str | None = None, progress=None
) -> Evaluation:
    """Evaluate ``method`` on a dataset (:func:`datasets.load` spec); ``weights``: another CNN's ``keycnn.npz``."""
    files = datasets.load(spec)
    results, failed = [], []
    for f in progress(files) if progress else files:
        try:
            est = estimate_file(f.path, method, weights=weights)
        except (decode.DecodeError, OSError) as exc:
            failed.append((f.path, str(exc)))
            continue
        results.append((f.path, f.key, est.index, est.confidence))
    report = metrics.evaluate([(ref, est) for _, ref, est, _ in results])
    tonal = [(ref == est, conf) for _, ref, est, conf in results if ref is not None]
    deciles = (
        metrics.accuracy_by_confidence(
            np.array([c for c, _ in tonal], dtype=bool), np.array([p for _, p in tonal], dtype=float)
        )
        if tonal
        else []
    )
    return Evaluation(spec, method, report, deciles, results, failed)


def key_name(index: int | None) -> str:
    return "" if index is None else keys.KEY_NAMES[index]

"""The key CNN: log-frequency spectrogram ──► convolutions ──► 25 classes (24 keys and "no key").

The chain, each step a small function:

    S (144 bins × frames, linear magnitude)
      ──► log(1 + 1000 S) ──► standardised per example (level does not matter)
      ──► conv 3×3 ×16 ──► conv 3×3 ×16 ──► max-pool 2×2 (semitone resolution, half the frames)
      ──► conv 3×3 ×32 ──► conv 3×3 ×32
      ──► conv over all 72 frequency rows ×64 (where the absolute pitch is read)
      ──► conv over time, dilation 2 ──► conv over time, dilation 4 (harmonic context: ~6 s)
      ──► conv 1×1 ×25 ──► mean over time ──► softmax

Fully convolutional over frequency × time with global pooling over time, so
any length works, from a 0.2 s one-shot (one frame) to a whole track. The
frequency axis is not pooled away: a key is an absolute pitch, so the last
convolution spans every frequency row.

torch is imported here and nowhere else in the pipeline's path.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import frontend
from .classic import KeyEstimate

NUM_CLASSES = 25
NO_KEY = 24
#: "no key" wins when its probability reaches this share of the best key's. Chosen on the
#: training run's validation split (not on any evaluation set): the largest value that keeps
#: tonal examples called keyless under 1 % (0.8 %) while 96 % of keyless ones are NULL;
#: plain argmax (1.0) left 19 % of validation drums and noise with a key.
NO_KEY_RATIO = 0.15
#: the shipped weights, trained by `sampledex train` (see models/README.md)
WEIGHTS = Path(__file__).with_name("keycnn.pt")


def standardise(S: np.ndarray) -> np.ndarray:
    """``log(1 + 1000 S)``, then zero mean and unit variance over the whole example.

    Parameters
    ----------
    S : np.ndarray [shape=(..., bins, frames)], linear magnitude

    Returns
    -------
    np.ndarray [same shape, dtype=float32]
    """
    L = frontend.log_compress(np.asarray(S, dtype=np.float32))
    axes = (-2, -1)
    mean = L.mean(axis=axes, keepdims=True)
    std = L.std(axis=axes, keepdims=True)
    return ((L - mean) / (std + 1e-3)).astype(np.float32)


def build_network(num_bins: int = frontend.NUM_BINS):
    """The network as a ``torch.nn.Module``: input [batch, 1, num_bins, frames] -> logits [batch, 25]."""
    import torch
    from torch import nn

    class KeyCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ELU(),
                nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ELU(),
                nn.MaxPool2d((2, 2), ceil_mode=True),
                nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ELU(),
                nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ELU(),
                nn.Conv2d(32, 64, (num_bins // 2, 1)), nn.BatchNorm2d(64), nn.ELU(),
                # after the frequency axis is read, widen the context in time cheaply
                nn.Conv2d(64, 64, (1, 3), padding=(0, 2), dilation=(1, 2)), nn.BatchNorm2d(64), nn.ELU(),
                nn.Conv2d(64, 64, (1, 3), padding=(0, 4), dilation=(1, 4)), nn.BatchNorm2d(64), nn.ELU(),
                nn.Dropout(0.3),
                nn.Conv2d(64, NUM_CLASSES, 1),
            )

        def forward(self, x: "torch.Tensor") -> "torch.Tensor":
            return self.features(x).mean(dim=(2, 3))

    return KeyCNN()


def weights_version(path: Path = WEIGHTS) -> str:
    return "cnn-" + hashlib.sha1(Path(path).read_bytes()).hexdigest()[:10]


class CNNKeyEstimator:
    """The CNN as a key estimator with the same call as the classic one: ``S -> KeyEstimate``.

    ``index`` is None when "no key" reaches :data:`NO_KEY_RATIO` of the best
    key's probability; otherwise the best key, with its probability as
    ``confidence``.
    """

    name = "cnn"

    def __init__(self, weights: str | Path = WEIGHTS, *, threads: int = 1):
        import torch

        torch.set_num_threads(threads)
        self.torch = torch
        self.weights = Path(weights)
        if not self.weights.exists():
            raise FileNotFoundError(f"key CNN weights not found at {self.weights}")
        state = torch.load(self.weights, map_location="cpu", weights_only=True)
        self.net = build_network()
        self.net.load_state_dict(state)
        self.net.eval()
        self.version = weights_version(self.weights)

    def probabilities(self, S: np.ndarray) -> np.ndarray:
        """Class probabilities [shape=(25,)] for one spectrogram [shape=(NUM_BINS, frames)]."""
        if S.shape[1] == 0:
            S = np.zeros((S.shape[0], 1), dtype=np.float32)
        x = self.torch.from_numpy(standardise(S)[None, None])
        with self.torch.inference_mode():
            return self.torch.softmax(self.net(x), dim=1)[0].numpy()

    def __call__(self, S: np.ndarray) -> KeyEstimate:
        p = self.probabilities(S)
        best = int(np.argmax(p[:NO_KEY]))
        if p[NO_KEY] >= NO_KEY_RATIO * p[best]:
            return KeyEstimate(None, float(p[NO_KEY]))
        return KeyEstimate(best, float(p[best]))


@lru_cache(maxsize=2)
def shipped_estimator() -> CNNKeyEstimator:
    return CNNKeyEstimator()

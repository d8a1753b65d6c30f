"""The key CNN: log-frequency spectrogram ──► convolutions ──► 25 classes (24 keys and "no key").

The chain, each step a small function:

    S (144 bins × frames, linear magnitude)
      ──► log(1 + 1000 S) ──► standardised per example (level does not matter)
      ──► conv 3×3 ×16 ──► conv 3×3 ×16 ──► max-pool 2×2 (semitone resolution, half the frames)
      ──► conv 3×3 ×32 ──► conv 3×3 ×32
      ──► conv over all 72 frequency rows ×64 (where the absolute pitch is read)
      ──► conv over time, dilation 2 ──► conv over time, dilation 4 (harmonic context: ~6 s)
      ──► conv 1×1 ×25 ──► mean over time ──► softmax
      ──► the 24 keys re-weighted by the chroma's correlation with each (:func:`with_chroma_evidence`)

Fully convolutional over frequency × time with global pooling over time, so
any length works, from a 0.2 s one-shot (one frame) to a whole track. The
frequency axis is not pooled away: a key is an absolute pitch, so the last
convolution spans every frequency row.

The architecture is written once, as data (:func:`layer_spec`): torch builds
it for training, and the pipeline runs it in numpy with each batch norm folded
into its convolution, so a Dask worker never imports torch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import classic, frontend, keys
from .errors import SampledexError
from .keys import KeyEstimate

NO_KEY = keys.NO_KEY
NUM_CLASSES = NO_KEY + 1  # 24 keys and "no key"
#: "no key" wins when its probability reaches a share of the best key's (the weights' own
#: ``no_key_ratio``); a training run picks that share from these on its validation split
NO_KEY_RATIO_GRID = (0.05, 0.08, 0.1, 0.12, 0.15, 0.2, 0.3, 0.5, 1.0)
#: ... as the smallest that calls fewer than this share of tonal validation examples keyless
MAX_TONAL_NULL = 0.01
#: the shipped weights, trained by `sampledex train` (see models/README.md)
WEIGHTS = Path(__file__).with_name("keycnn.npz")
#: how much Krumhansl–Schmuckler's correlations (r in [-1, 1]) count beside the network's log-probabilities
#: when it names a key: on real recordings the network mistakes relative keys that the chroma's emphasis tells
#: apart; chosen on the real-instrument validation sets and public piano recordings (models/README.md,
#: "The chroma's vote")
CHROMA_WEIGHT = 2.0
#: the chroma's correlation with a key (Krumhansl–Schmuckler's r) from which its best key, when it is also the
#: network's, corroborates it: a tonal FX under a wash louder than itself is often called keyless by the network's
#: cautious margin or its doubt, though both methods hear the same key in it (models/README.md, "Two methods
#: agreeing")
CORROBORATION = 0.5


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


def layer_spec(num_bins: int = frontend.NUM_BINS) -> tuple[tuple, ...]:
    """The network as data, one entry per layer: read by :func:`build_network` (training, torch)
    and by :func:`numpy_steps` (inference, numpy), so the two cannot drift apart.

    Entries: ``("conv", in, out, kernel, padding, dilation)``, ``("bn", channels)``,
    ``("elu",)``, ``("maxpool",)`` (2×2, ceil), ``("dropout", p)``.
    """

    def block(cin: int, cout: int, kernel: tuple, padding: tuple = (1, 1), dilation: tuple = (1, 1)) -> list:
        return [("conv", cin, cout, kernel, padding, dilation), ("bn", cout), ("elu",)]

    return tuple(
        block(1, 16, (3, 3))
        + block(16, 16, (3, 3))
        + [("maxpool",)]
        + block(16, 32, (3, 3))
        + block(32, 32, (3, 3))
        # all frequency rows at once: where the absolute pitch is read
        + block(32, 64, (num_bins // 2, 1), (0, 0))
        # after the frequency axis is read, widen the context in time cheaply
        + block(64, 64, (1, 3), (0, 2), (1, 2))
        + block(64, 64, (1, 3), (0, 4), (1, 4))
        + [("dropout", 0.3), ("conv", 64, NUM_CLASSES, (1, 1), (0, 0), (1, 1))]
    )


def build_network(num_bins: int = frontend.NUM_BINS):
    """The network as a ``torch.nn.Module``: input [batch, 1, num_bins, frames] -> logits [batch, 25]."""
    import torch
    from torch import nn

    def module(layer: tuple) -> nn.Module:
        kind, *args = layer
        if kind == "conv":
            cin, cout, kernel, padding, dilation = args
            return nn.Conv2d(cin, cout, kernel, padding=padding, dilation=dilation)
        if kind == "bn":
            return nn.BatchNorm2d(args[0])
        if kind == "maxpool":
            return nn.MaxPool2d((2, 2), ceil_mode=True)
        if kind == "dropout":
            return nn.Dropout(args[0])
        if kind == "elu":
            return nn.ELU()
        raise ValueError(f"unknown layer kind {kind!r}")

    class KeyCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(*(module(layer) for layer in layer_spec(num_bins)))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.features(x).mean(dim=(2, 3))

    return KeyCNN()


def keyless(probabilities: np.ndarray, ratio: float) -> np.ndarray:
    """Whether "no key" wins: its probability reaches ``ratio`` of the best key's.

    probabilities [shape=(..., 25)] -> bool [shape=(...)].
    """
    return probabilities[..., NO_KEY] >= ratio * probabilities[..., :NO_KEY].max(axis=-1)


def with_chroma_evidence(
    probabilities: np.ndarray, correlations: np.ndarray, weight: float = CHROMA_WEIGHT
) -> np.ndarray:
    """The network's class probabilities with each key's multiplied by ``exp(weight · r)`` and renormalised.

    probabilities [shape=(25,)], correlations [shape=(24,)]: :func:`classic.key_correlations` of the same
    spectrogram. "No key" keeps its probability and the 24 keys their total, so only which key wins changes,
    and by how much: a key the network and the chroma both favour gains, one only the network favours loses.
    """
    tilted = probabilities[:NO_KEY] * np.exp(weight * (correlations - correlations.max()))
    out = probabilities.copy()
    out[:NO_KEY] = tilted * (probabilities[:NO_KEY].sum() / tilted.sum())
    return out


def corroborates(key: int, correlations: np.ndarray, threshold: float = CORROBORATION) -> bool:
    """Whether the chroma names ``key`` too: its best correlation [shape=(24,)] is ``key``'s and at least
    ``threshold``. Noise and drums correlate weakly with every key (medians about 0.4 on the keyless validation
    sets), tonal sounds strongly with theirs."""
    best = int(np.argmax(correlations))
    return best == key and float(correlations[best]) >= threshold


def choose_no_key_ratio(probabilities: np.ndarray, labels: np.ndarray, *, fallback: float | None = None) -> float:
    """The smallest ratio of :data:`NO_KEY_RATIO_GRID` (the most drums and noise NULL) that calls
    fewer than :data:`MAX_TONAL_NULL` of the tonal examples keyless; the largest (the fewest NULL)
    if none does, or if there are no tonal examples to measure that on.

    Without keyless examples there is nothing to trade against, and the smallest ratio would win by
    default: then ``fallback`` (the ratio of the weights a fine-tuning started from), else the largest.

    Plain argmax (ratio 1) leaves many drum loops with a key: their "no key" probability is
    often the largest but under one half, with the rest spread over 24 keys.

    probabilities [shape=(n, 25)], labels [shape=(n,)]: 0..23 or :data:`NO_KEY`.
    """
    tonal = np.asarray(labels) != NO_KEY
    if tonal.all():
        return float(fallback if fallback is not None else max(NO_KEY_RATIO_GRID))
    if tonal.any():
        for ratio in sorted(NO_KEY_RATIO_GRID):
            if keyless(probabilities[tonal], ratio).mean() < MAX_TONAL_NULL:
                return float(ratio)
    return float(max(NO_KEY_RATIO_GRID))


def save_weights(state_dict: dict, path: str | Path, *, no_key_ratio: float) -> None:
    """Write a trained network's parameters, batch-norm statistics and "no key" ratio as a plain ``.npz``.

    The pipeline reads them with numpy alone: importing torch would cost every
    Dask worker seconds of start-up and hundreds of MiB.
    """
    arrays = {
        name: t.detach().cpu().numpy().astype(np.float32)
        for name, t in state_dict.items()
        if not name.endswith("num_batches_tracked")
    }
    with open(path, "wb") as f:
        np.savez(f, **arrays, no_key_ratio=np.float64(no_key_ratio))


class WeightsError(SampledexError, ValueError):
    """A weights file that is not one :func:`save_weights` wrote."""


def load_weights(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays :func:`save_weights` wrote, by name (``no_key_ratio`` among them)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            state = {name: z[name] for name in z.files}
    except (ValueError, OSError) as exc:
        raise WeightsError(f"{path} is not a key CNN .npz written by `sampledex train` ({exc})") from exc
    if "no_key_ratio" not in state:
        raise WeightsError(
            f"{path} has no no_key_ratio: not a key CNN .npz written by `sampledex train` "
            "(torch .pt files from older versions: cnn.save_weights converts them)"
        )
    return state


# -- inference in numpy -------------------------------------------------------------------

BN_EPS = 1e-5  # torch.nn.BatchNorm2d's default


def conv2d(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray, padding: tuple[int, int], dilation: tuple[int, int]
) -> np.ndarray:
    """Cross-correlation as ``torch.nn.Conv2d`` computes it, for one example.

    Parameters
    ----------
    x : np.ndarray [shape=(channels, height, width)]
    weight : np.ndarray [shape=(out, channels, kh, kw)]
    bias : np.ndarray [shape=(out,)]

    Returns
    -------
    np.ndarray [shape=(out, height + 2·ph − dh·(kh−1), width + 2·pw − dw·(kw−1)), dtype=float32]
    """
    out, channels, kh, kw = weight.shape
    (ph, pw), (dh, dw) = padding, dilation
    xp = _bordered(x, (ph, ph), (pw, pw), 0.0)
    _, hp, wp = xp.shape
    height, width = hp - dh * (kh - 1), wp - dw * (kw - 1)
    if channels < 8 or kh * kw > 9:
        # few channels or many taps: one matrix product over copied windows (im2col) costs least
        windows = np.lib.stride_tricks.sliding_window_view(xp, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(1, 2))[
            ..., ::dh, ::dw
        ]
        columns = windows.transpose(0, 3, 4, 1, 2).reshape(channels * kh * kw, height * width)
        return (weight.reshape(out, -1) @ columns + bias[:, None]).reshape(out, height, width)
    # otherwise each tap's shifted view of the flattened padded image (output position p reads input
    # p + offset), stacked, and one product: a third faster on this network's layers than a product per tap
    # added up; the (kw-1)·dw columns that wrap across rows are cut off at the end
    flat = xp.reshape(channels, hp * wp)
    n = (height - 1) * wp + width
    columns = np.empty((kh, kw, channels, height * wp), dtype=np.float32)
    columns[..., n:] = 0.0
    for a in range(kh):
        for b in range(kw):
            offset = a * dh * wp + b * dw
            columns[a, b, :, :n] = flat[:, offset : offset + n]
    acc = weight.transpose(0, 2, 3, 1).reshape(out, -1) @ columns.reshape(kh * kw * channels, height * wp)
    acc += bias[:, None]
    return np.ascontiguousarray(acc.reshape(out, height, wp)[:, :, :width])


def _bordered(x: np.ndarray, rows: tuple[int, int], columns: tuple[int, int], value: float) -> np.ndarray:
    """``x`` [shape=(channels, height, width)] inside a border of ``value``, ``rows`` above and below and
    ``columns`` left and right; ``np.pad`` costs about 50 µs a call more, ten calls a file."""
    c, h, w = x.shape
    (top, bottom), (left, right) = rows, columns
    out = np.full((c, top + h + bottom, left + w + right), value, dtype=x.dtype)
    out[:, top : top + h, left : left + w] = x
    return out


def max_pool_2x2(x: np.ndarray) -> np.ndarray:
    """2×2 max-pooling with ceil mode: an odd last row or column is pooled on its own."""
    c, h, w = x.shape
    if h % 2 or w % 2:
        x = _bordered(x, (0, h % 2), (0, w % 2), -np.inf)
    return np.maximum(np.maximum(x[:, 0::2, 0::2], x[:, 1::2, 0::2]), np.maximum(x[:, 0::2, 1::2], x[:, 1::2, 1::2]))


def elu(x: np.ndarray) -> np.ndarray:
    """ELU (alpha 1): x above 0, e^x − 1 below."""
    # e^x − 1 > x below 0, so the larger of x and e^min(x, 0) − 1 is either branch: three passes, not four
    below = np.expm1(np.minimum(x, 0))
    return np.maximum(x, below, out=below)


def numpy_steps(state: dict[str, np.ndarray], num_bins: int = frontend.NUM_BINS) -> list[tuple]:
    """The inference chain from :func:`layer_spec` and saved weights: each batch norm is folded
    into the convolution before it, and dropout (identity at inference) is left out."""
    steps: list[tuple] = []
    for i, (kind, *args) in enumerate(layer_spec(num_bins)):
        name = f"features.{i}."
        if kind == "conv":
            cin, cout, kernel, padding, dilation = args
            weight = state[name + "weight"]
            if weight.shape != (cout, cin, *kernel):
                raise WeightsError(
                    f"layer {i}: weights of shape {weight.shape}, the network wants {(cout, cin, *kernel)}"
                )
            steps.append(("conv", weight, state[name + "bias"], padding, dilation))
        elif kind == "bn":
            scale = state[name + "weight"] / np.sqrt(state[name + "running_var"] + BN_EPS)
            _, weight, bias, padding, dilation = steps.pop()
            steps.append(
                (
                    "conv",
                    weight * scale[:, None, None, None],
                    (bias - state[name + "running_mean"]) * scale + state[name + "bias"],
                    padding,
                    dilation,
                )
            )
        elif kind in ("elu", "maxpool"):
            steps.append((kind,))
        elif kind != "dropout":
            raise ValueError(f"unknown layer kind {kind!r}")
    return steps


def logits(steps: list[tuple], x: np.ndarray) -> np.ndarray:
    """Run the chain on one standardised spectrogram [shape=(bins, frames)]; logits [shape=(25,)]."""
    h = x[None].astype(np.float32)
    apply: dict[str, Callable[..., np.ndarray]] = {"conv": conv2d, "elu": elu, "maxpool": max_pool_2x2}
    for kind, *args in steps:
        h = apply[kind](h, *args)
    return h.mean(axis=(1, 2))


def softmax(z: np.ndarray) -> np.ndarray:
    """Probabilities from logits [shape=(classes,)], computed stably (shifted by the maximum)."""
    e = np.exp(z - z.max())
    return e / e.sum()


def weights_version(path: Path = WEIGHTS) -> str:
    return "cnn-" + hashlib.sha1(Path(path).read_bytes()).hexdigest()[:10]


class CNNKeyEstimator:
    """The CNN as a key estimator with the same call as the classic one: ``S -> KeyEstimate``.

    ``index`` is None when "no key" reaches the weights' ``no_key_ratio`` of the
    best key's probability (see :func:`choose_no_key_ratio`); otherwise the best key once the chroma's
    evidence has its say (:func:`with_chroma_evidence`, ``chroma_weight``; 0 for the network alone), with its
    probability as ``confidence``. That key is also ``corroborated`` where the chroma's own best key is the
    same (:func:`corroborates`): when the network gave it a key, and when it called the sound keyless by its
    margin alone, "no key" less probable than that key. Runs in numpy (BLAS threads as the process sets them).
    """

    name = "cnn"

    def __init__(self, weights: str | Path = WEIGHTS, *, chroma_weight: float = CHROMA_WEIGHT):
        self.weights = Path(weights)
        if not self.weights.exists():
            raise WeightsError(f"key CNN weights not found at {self.weights}")
        state = load_weights(self.weights)
        self.no_key_ratio = float(state["no_key_ratio"])
        self.steps = numpy_steps(state)
        self.version = weights_version(self.weights)
        self.chroma_weight = chroma_weight

    def probabilities(self, S: np.ndarray) -> np.ndarray:
        """Class probabilities [shape=(25,)] for one spectrogram [shape=(NUM_BINS, frames)]."""
        if S.shape[1] == 0:
            S = np.zeros((S.shape[0], 1), dtype=np.float32)
        return softmax(logits(self.steps, standardise(S)).astype(np.float64))

    def chroma_correlations(self, S: np.ndarray) -> np.ndarray:
        """Krumhansl–Schmuckler's correlation of ``S``'s mean chroma with each key [shape=(24,)], -1 to 1."""
        return classic.key_correlations(classic.pitch_class_profile(S))

    def with_chroma(self, S: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        """:meth:`probabilities` of ``S`` with the chroma's evidence (:func:`with_chroma_evidence`): what the key is
        read from once the network has found one ("no key" is decided on the network's own probabilities)."""
        if not self.chroma_weight:
            return probabilities
        return with_chroma_evidence(probabilities, self.chroma_correlations(S), self.chroma_weight)

    def __call__(self, S: np.ndarray) -> KeyEstimate:
        p = self.probabilities(S)
        no_key = keyless(p, self.no_key_ratio)
        # no key likelier than any key (most drums and noise) is the network's call alone: no chroma to compute
        if no_key and not (self.chroma_weight and p[NO_KEY] < p[:NO_KEY].max()):
            return KeyEstimate(None, float(p[NO_KEY]))
        r = self.chroma_correlations(S) if self.chroma_weight else None
        q = p if r is None else with_chroma_evidence(p, r, self.chroma_weight)
        best = int(np.argmax(q[:NO_KEY]))
        second = KeyEstimate(best, float(q[best])) if r is not None and corroborates(best, r) else None
        if no_key:
            return KeyEstimate(None, float(p[NO_KEY]), corroborated=second)
        return KeyEstimate(best, float(q[best]), first_confidence=float(p[:NO_KEY].max()), corroborated=second)

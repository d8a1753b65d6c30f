"""Training the key CNN: features ──► transposition-augmented batches ──► epochs with a live log.

Features are margin spectrograms (:data:`frontend.MARGIN_BINS` extra bins each
side) kept in one ``.npz``: every example can then be heard in all 12 keys by
cropping (:func:`frontend.transpose`), with its label shifted with it — a
balanced 24-key set from skewed input. An epoch visits every tonal example in
all 12 transpositions and every keyless one in :data:`KEYLESS_SHIFTS` of them.

Each epoch logs loss, train and validation accuracy, the MIREX weighted score
and the relative-key error rate, appends to ``history.csv``, redraws
``learning_curve.png`` and ``confusion.png``, and writes ``checkpoint.pt``; a
stopped run started again with the same ``--out`` goes on from its last epoch.
"""

from __future__ import annotations

import csv
import json
import multiprocessing as mp
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sampledex.models import frontend, keys

from . import datagen, metrics

CROP_FRAMES = 32  # 6.4 s windows in training; inference takes any length
KEYLESS_SHIFTS = 4
VALIDATION_EVERY = 10  # every tenth base example is validation
VAL_SHIFTS = (0, 5, -4)

#: how many base examples of each family the synthetic set renders
DEFAULT_MIX = {
    "loop": 4000,
    "stab": 800,
    "melody": 1000,
    "corpus": 600,
    "corpus_melody": 1000,
    "keyless": 1600,
    "pad": 800,
    "tonal_fx": 600,
    "bass": 300,
    "pluck": 300,
    "buzz": 300,
}
#: base examples of each family in a set played through real recorded instruments (``sampledex train
#: --library``): the generator's music and the corpus on the libraries' instruments, their kits in the drums
#: and among the keyless hits
LIBRARY_MIX = {"loop": 1200, "stab": 400, "melody": 500, "corpus": 300, "corpus_melody": 500, "keyless": 600}
#: a library set's seeds are offset so that it plays other music than the soundfont set
LIBRARY_SEED_OFFSET = 17


@dataclass
class FeatureSet:
    """Margin spectrograms of variable length, packed: example ``i`` is ``spec[offsets[i]:offsets[i+1]].T``."""

    spec: np.ndarray  # [total_frames, NUM_BINS + 2 * MARGIN_BINS] float16
    offsets: np.ndarray  # [n + 1] int64
    labels: np.ndarray  # [n] int64, 0..23 or NO_KEY
    kinds: np.ndarray  # [n] str

    def __len__(self) -> int:
        return self.labels.size

    def example(self, i: int) -> np.ndarray:
        return self.spec[self.offsets[i] : self.offsets[i + 1]].T.astype(np.float32)

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, spec=self.spec, offsets=self.offsets, labels=self.labels, kinds=self.kinds)

    @classmethod
    def load(cls, path: str | Path) -> FeatureSet:
        with np.load(path, allow_pickle=False) as z:
            return cls(z["spec"], z["offsets"], z["labels"], z["kinds"])

    @classmethod
    def pack(cls, items: list[tuple[np.ndarray, int, str]]) -> FeatureSet:
        specs = [s.T.astype(np.float16) for s, _, _ in items]
        offsets = np.concatenate([[0], np.cumsum([s.shape[0] for s in specs])]).astype(np.int64)
        return cls(
            np.concatenate(specs),
            offsets,
            np.array([label for _, label, _ in items], dtype=np.int64),
            np.array([k for _, _, k in items]),
        )


#: AdamW's learning rate for a run from random weights
LEARNING_RATE = 3e-3


def margin_spectrogram(y: np.ndarray) -> np.ndarray:
    return frontend.logfreq_spectrogram(y, margin=frontend.MARGIN_BINS)


# -- the synthetic training set ----------------------------------------------------------

_RENDERERS: list = []
_PIECES: list = []


def _init_worker(pieces, libraries: tuple[str, ...] = ()) -> None:
    from . import render, sampler

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if libraries:
        _RENDERERS[:] = [sampler.Sampler.load(libraries)]
    else:
        _RENDERERS[:] = [render.renderer(name) for name in render.TRAIN_SOUNDFONTS]
    _PIECES[:] = pieces


def _make(job: tuple[str, int, int | None]) -> tuple[np.ndarray, int, str]:
    family, seed, piece_index = job
    piece = _PIECES[piece_index] if piece_index is not None else None
    y, label, kind = datagen.example(family, seed, renderers=_RENDERERS, piece=piece)
    return margin_spectrogram(y), label, kind


def synthetic_jobs(mix: dict[str, int], pieces: list, *, seed: int) -> list[tuple[str, int, int | None]]:
    """One (family, seed, piece index) per example; corpus families cycle through ``pieces``."""
    jobs = []
    for f, (family, count) in enumerate(sorted(mix.items())):
        for i in range(count):
            piece = i % len(pieces) if family.startswith("corpus") and pieces else None
            if family.startswith("corpus") and not pieces:
                continue
            jobs.append((family, seed * 1_000_003 + f * 100_000 + i, piece))
    return jobs


def build_synthetic(
    path: str | Path,
    *,
    mix: dict[str, int] = DEFAULT_MIX,
    seed: int = 0,
    processes: int = 2,
    corpus_cache: str | Path = "data/corpus.json",
    libraries: tuple[str, ...] = (),
    log=print,
) -> FeatureSet:
    """Render the synthetic training set and save its features at ``path``.

    With ``libraries`` (folders of recorded notes and drum hits, :mod:`sampler`), every example is played
    through them instead of the training soundfonts (numpy synthesis keeps its share), from seeds offset by
    :data:`LIBRARY_SEED_OFFSET`.

    A set already at ``path`` is reused when the recipe beside it (``<path>.recipe.json``: the mix, the
    seed, the libraries and how many audio files each holds, and a digest of the code that makes and
    describes the examples) is this one; otherwise it is rendered again (a cache made before a family was
    added, or before a family changed, would silently train without it).
    """
    from . import augment, corpus, electronic, render, sampler, synth

    path = Path(path)
    recipe_path = path.with_name(path.name + ".recipe.json")
    # checked here, before the pool: a worker's initializer that fails would hang it
    held = {str(Path(f).resolve()): len(sampler.audio_files(f)) for f in libraries}
    seed = seed + LIBRARY_SEED_OFFSET if libraries else seed
    code = datagen.code_digest(datagen, electronic, synth, augment, render, sampler, corpus, frontend)
    recipe = json.dumps(
        {"mix": dict(sorted(mix.items())), "seed": seed, "code": code} | ({"libraries": held} if held else {}),
        sort_keys=True,
    )
    if path.exists():
        if recipe_path.exists() and recipe_path.read_text() == recipe:
            return FeatureSet.load(path)
        log(f"{path} was rendered from another recipe: rendering it again")
    pieces = [p for p in corpus.load_pieces(corpus_cache) if not corpus.is_held_out(p.id)]
    jobs = synthetic_jobs(mix, pieces, seed=seed)
    t0 = time.perf_counter()
    items = []
    with mp.get_context("spawn").Pool(processes, initializer=_init_worker, initargs=(pieces, tuple(libraries))) as pool:
        for i, item in enumerate(pool.imap(_make, jobs, chunksize=16)):
            items.append(item)
            if (i + 1) % 500 == 0:
                log(f"rendered {i + 1}/{len(jobs)} examples ({time.perf_counter() - t0:.0f} s)")
    features = FeatureSet.pack(items)
    path.parent.mkdir(parents=True, exist_ok=True)
    features.save(path)
    recipe_path.write_text(recipe)
    log(f"rendered {len(jobs)} examples in {time.perf_counter() - t0:.0f} s -> {path}")
    return features


def features_from_audio(items: Iterable[tuple[np.ndarray, int | None, str]], *, log=print) -> FeatureSet:
    """Features of labelled audio: ``(mono samples at frontend.SAMPLE_RATE Hz, key index or None, source)``.

    The caller decodes (``sampledex train`` does it with the pipeline's own
    loader, so that training sees what inference sees); ``None`` is "no key".
    """
    packed = [(margin_spectrogram(y), datagen.NO_KEY if key is None else key, source) for y, key, source in items]
    log(f"decoded {len(packed)} labelled files")
    return FeatureSet.pack(packed)


# -- batches ---------------------------------------------------------------------------


def shift_label(label: int, semitones: int) -> int:
    """The label of an example transposed by ``semitones``."""
    if label == datagen.NO_KEY:
        return label
    return keys.key_index(keys.tonic_pc(label) + semitones, keys.is_minor(label))


def _crop_time(S: np.ndarray, frames: int, rng: np.random.Generator) -> np.ndarray:
    if S.shape[1] >= frames:
        start = int(rng.integers(0, S.shape[1] - frames + 1))
        return S[:, start : start + frames]
    reps = -(-frames // max(S.shape[1], 1))  # short one-shots are tiled, as a loop repeats
    return np.tile(S, (1, reps))[:, :frames] if S.shape[1] else np.zeros((S.shape[0], frames), np.float32)


def spec_augment(S: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random spectral tilt (±12 dB across the 6 octaves), and sometimes a masked band or stretch of time.

    The network overfits the synthetic sounds (train accuracy runs well ahead of
    validation); hiding partials and reshaping the spectrum makes it read the
    evidence of many partials at once, as a recording with another timbre needs.
    """
    tilt = 10 ** (float(rng.uniform(-0.6, 0.6)) * np.linspace(-1, 1, S.shape[0]))[:, None]
    S = S * tilt.astype(np.float32)
    if rng.random() < 0.5:
        width = int(rng.integers(2, 13))
        start = int(rng.integers(0, S.shape[0] - width))
        S[start : start + width] = 0
    if rng.random() < 0.3 and S.shape[1] > 8:
        width = int(rng.integers(1, 5))
        start = int(rng.integers(0, S.shape[1] - width))
        S[:, start : start + width] = 0
    return S


def batch(
    features: FeatureSet,
    items: list[tuple[int, int]],
    rng: np.random.Generator,
    frames: int = CROP_FRAMES,
    augment: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs [B, 1, NUM_BINS, frames] and labels [B] for (example, semitone shift) pairs."""
    from sampledex.models.cnn import standardise

    xs, ys = [], []
    for i, s in items:
        S = _crop_time(frontend.transpose(features.example(i), s), frames, rng)
        xs.append(standardise(spec_augment(S.copy(), rng) if augment else S))
        ys.append(shift_label(int(features.labels[i]), s))
    return np.stack(xs)[:, None], np.array(ys, dtype=np.int64)


def epoch_items(features: FeatureSet, indices: np.ndarray, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Every tonal example in all 12 keys, every keyless one in a few random shifts, shuffled."""
    shifts = np.arange(-6, 6)
    items = []
    for i in indices:
        if features.labels[i] == datagen.NO_KEY:
            items += [(int(i), int(s)) for s in rng.choice(shifts, KEYLESS_SHIFTS, replace=False)]
        else:
            items += [(int(i), int(s)) for s in shifts]
    order = rng.permutation(len(items))
    return [items[j] for j in order]


# -- the training loop -----------------------------------------------------------------


def split(n: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(n)
    return idx[idx % VALIDATION_EVERY != 0], idx[idx % VALIDATION_EVERY == 0]


@dataclass
class Validation:
    """Whole validation examples (no cropping) at :data:`VAL_SHIFTS`: the report (argmax of 25), the loss,
    and the class probabilities [n, 25] with their labels [n], from which the "no key" ratio is chosen."""

    report: metrics.KeyReport
    loss: float
    probabilities: np.ndarray
    labels: np.ndarray


def validate(net, features: FeatureSet, indices: np.ndarray) -> Validation:
    import torch

    from sampledex.models.cnn import standardise

    pairs, losses, probabilities, labels = [], [], [], []
    net.eval()
    with torch.inference_mode():
        for i in indices:
            for s in VAL_SHIFTS:
                S = frontend.transpose(features.example(int(i)), s)
                logits = net(torch.from_numpy(standardise(S)[None, None]))
                label = shift_label(int(features.labels[i]), s)
                losses.append(float(torch.nn.functional.cross_entropy(logits, torch.tensor([label]))))
                best = int(logits.argmax())
                pairs.append((None if label == datagen.NO_KEY else label, None if best == datagen.NO_KEY else best))
                probabilities.append(torch.softmax(logits, dim=1)[0].numpy())
                labels.append(label)
    return Validation(metrics.evaluate(pairs), float(np.mean(losses)), np.array(probabilities), np.array(labels))


def plot(history: list[dict], report: metrics.KeyReport, out: Path) -> None:
    """``learning_curve.png`` (loss, accuracies, MIREX score and relative-key errors by epoch) and
    ``confusion.png`` in ``out``. Drawn on ``Figure`` objects, not pyplot: no global state changes (a
    notebook that calls this keeps its inline backend)."""
    from matplotlib.figure import Figure

    epochs = [h["epoch"] for h in history]
    fig = Figure(figsize=(11, 4))
    a, b = fig.subplots(1, 2)
    a.plot(epochs, [h["train_loss"] for h in history], label="train loss")
    a.plot(epochs, [h["val_loss"] for h in history], label="validation loss")
    a.set_xlabel("epoch")
    a.legend()
    a.grid(alpha=0.3)
    b.plot(epochs, [h["train_acc"] for h in history], label="train accuracy")
    b.plot(epochs, [h["val_acc"] for h in history], label="validation accuracy")
    b.plot(epochs, [h["val_mirex"] for h in history], label="validation MIREX score")
    b.plot(epochs, [h["val_relative_err"] for h in history], label="relative-key error rate")
    b.set_xlabel("epoch")
    b.set_ylim(0, 1)
    b.legend()
    b.grid(alpha=0.3)
    fig.suptitle("key CNN learning curve")
    fig.tight_layout()
    fig.savefig(out / "learning_curve.png", dpi=100)
    save_confusion(report.confusion, out / "confusion.png", title="validation confusion (row-normalised)")


def save_confusion(confusion: np.ndarray, path: Path, *, title: str) -> None:
    """A 25 × 25 confusion matrix (24 keys and "none"; rows the reference) as a row-normalised PNG."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 7))
    ax = fig.subplots()
    cm = confusion.astype(float)
    ax.imshow(cm / np.maximum(cm.sum(axis=1, keepdims=True), 1), cmap="viridis")
    labels = [k.replace(" major", "").replace(" minor", "m") for k in keys.KEY_NAMES] + ["none"]
    ax.set_xticks(range(25), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(25), labels, fontsize=7)
    ax.set_xlabel("estimate")
    ax.set_ylabel("reference")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def train(
    features: FeatureSet,
    out: str | Path,
    *,
    epochs: int = 6,
    batch_size: int = 64,
    lr: float = LEARNING_RATE,
    seed: int = 0,
    threads: int | None = None,
    max_steps: int | None = None,
    init: str | Path | None = None,
    no_key_ratio: float | None = None,
    log=print,
) -> Path:
    """Train (or resume) and write ``out/keycnn.npz`` (the best validation MIREX epoch's weights).

    ``max_steps`` caps the steps per epoch (tests train a few steps). ``init``: a ``keycnn.npz`` to start
    from instead of random weights (fine-tuning); a checkpoint in ``out`` still wins (resuming).
    ``no_key_ratio``: the weights' "no key" ratio (:func:`cnn.keyless`) as given, instead of the one
    :func:`cnn.choose_no_key_ratio` picks on the validation split.
    """
    import torch

    from sampledex.models.cnn import WeightsError, build_network, choose_no_key_ratio, load_weights, save_weights

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(threads or os.cpu_count() or 1)
    torch.manual_seed(seed)
    net = build_network()
    optimiser = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=epochs)
    history: list[dict] = []
    best = -1.0
    checkpoint = out / "checkpoint.pt"
    if checkpoint.exists():
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        net.load_state_dict(state["net"])
        optimiser.load_state_dict(state["optimiser"])
        scheduler.load_state_dict(state["scheduler"])
        history, best = state["history"], state["best"]
        log(f"resuming after epoch {len(history)} from {checkpoint}")
    initial_ratio = None
    if init is not None:
        initial = load_weights(init)
        initial_ratio = float(initial["no_key_ratio"])
        wanted = net.state_dict()
        missing = [name for name in wanted if name not in initial and not name.endswith("num_batches_tracked")]
        if missing:
            raise WeightsError(f"{init} lacks {len(missing)} of the network's tensors ({missing[0]}, …)")
        if not checkpoint.exists():  # resuming wins: the checkpoint holds where the fine-tuning got to
            net.load_state_dict(
                {name: torch.from_numpy(initial[name]) for name in wanted if name in initial}, strict=False
            )
            log(f"starting from the weights in {init}")
    train_idx, val_idx = split(len(features))
    log(
        f"{len(train_idx)} training and {len(val_idx)} validation examples; "
        f"{sum(p.numel() for p in net.parameters())} parameters"
    )
    for epoch in range(len(history) + 1, epochs + 1):
        rng = np.random.default_rng([seed, epoch])
        items = epoch_items(features, train_idx, rng)
        if max_steps:
            items = items[: max_steps * batch_size]
        net.train()
        t0, losses, correct, seen = time.perf_counter(), [], 0, 0
        for start in range(0, len(items), batch_size):
            xs, ys = batch(features, items[start : start + batch_size], rng)
            x, y = torch.from_numpy(xs), torch.from_numpy(ys)
            logits = net(x)
            loss = torch.nn.functional.cross_entropy(logits, y, label_smoothing=0.05)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
        scheduler.step()
        validation = validate(net, features, val_idx)
        report, val_loss = validation.report, validation.loss
        row = {
            "epoch": epoch,
            "train_loss": float(np.mean(losses)),
            "train_acc": correct / max(seen, 1),
            "val_loss": val_loss,
            "val_acc": report.accuracy,
            "val_mirex": report.mirex,
            "val_relative_err": report.relative_error_rate,
            "val_keyless_recall": report.keyless_recall,
            "seconds": time.perf_counter() - t0,
        }
        history.append(row)
        log(
            f"epoch {epoch:3d}/{epochs}  loss {row['train_loss']:.3f}  train acc {row['train_acc']:.3f}  "
            f"val acc {row['val_acc']:.3f}  MIREX {row['val_mirex']:.3f}  relative err "
            f"{row['val_relative_err']:.3f}  keyless recall {row['val_keyless_recall']:.2f}  "
            f"({row['seconds']:.0f} s)"
        )
        if report.mirex > best:
            best = report.mirex
            ratio = (
                no_key_ratio
                if no_key_ratio is not None
                else choose_no_key_ratio(validation.probabilities, validation.labels, fallback=initial_ratio)
            )
            save_weights(net.state_dict(), out / "keycnn.npz", no_key_ratio=ratio)
            log(f'best so far: weights -> {out / "keycnn.npz"}, "no key" ratio {ratio}')
        with open(out / "history.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            writer.writeheader()
            writer.writerows(history)
        plot(history, report, out)
        tmp = out / "checkpoint.pt.tmp"
        torch.save(
            {
                "net": net.state_dict(),
                "optimiser": optimiser.state_dict(),
                "scheduler": scheduler.state_dict(),
                "history": history,
                "best": best,
            },
            tmp,
        )
        os.replace(tmp, checkpoint)
        (out / "last_report.json").write_text(json.dumps(report.as_dict(), indent=1))
    weights = out / "keycnn.npz"
    if not weights.exists():
        raise WeightsError(
            f"{weights} was never written: {out} holds a run from a version that saved "
            "torch .pt weights; train into a new --out"
        )
    return weights

"""Seeded sample libraries written to disk: the demo library and the benchmark library.

Every file's truth (kind, key, tempo, root note) is known because we
synthesised it; it is written to ``labels.csv`` beside the audio and, as in
commercial sample packs, into the file name (``loop_A-minor_124bpm_007.wav``).
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from sampledex.models import keys
from sampledex.models.training import synth

#: soundfile (format, subtype) per file extension
ENCODINGS = {
    "wav": ("WAV", "PCM_16"),
    "wav24": ("WAV", "PCM_24"),
    "wavf": ("WAV", "FLOAT"),
    "aiff": ("AIFF", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}
KINDS = ("tonal_loop", "drum_loop", "chord_stab", "note", "drum_hit")


@dataclass(frozen=True)
class SampleSpec:
    """What one file of a library holds and how it is encoded."""

    name: str
    kind: str  # one of KINDS
    key: str | None  # canonical key, None for drums
    bpm: float | None
    bars: int | None  # loop length in 4/4 bars
    root: str | None  # note name of a single note, e.g. 'C#3'
    sample_rate: int
    channels: int
    encoding: str  # a key of ENCODINGS
    seed: int

    @property
    def extension(self) -> str:
        return {"wav24": "wav", "wavf": "wav"}.get(self.encoding, self.encoding)


def note_name(midi: int) -> str:
    """Note name with octave, C4 = MIDI 60 = 261.6 Hz; sharps as in the catalog (``C#3``)."""
    names = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
    return f"{names[midi % 12]}{midi // 12 - 1}"


def _spec(
    i: int,
    kind: str,
    rng: np.random.Generator,
    *,
    encodings: tuple[str, ...],
    rates: tuple[int, ...],
    max_seconds: float,
    key: str | None,
) -> SampleSpec:
    bpm = bars = root = None
    if kind in ("tonal_loop", "chord_stab"):
        key = key or keys.KEY_NAMES[int(rng.integers(24))]
    else:
        key = None
    if kind in ("tonal_loop", "drum_loop"):
        bars = int(rng.choice([1, 2, 4]))
        bpm = float(rng.choice([85, 90, 100, 110, 120, 124, 128, 140, 160, 174]))
        while bars > 1 and bars * 240 / bpm > max_seconds:
            bars //= 2
        bpm = max(bpm, 240 * bars / max_seconds)
    if kind == "note":
        root = note_name(int(rng.integers(36, 84)))
    label = key.replace(" ", "-") if key else root or "drums"
    tempo = f"_{bpm:g}bpm" if bpm else ""
    encoding = str(rng.choice(encodings))
    spec = SampleSpec(
        name="",
        kind=kind,
        key=key,
        bpm=bpm,
        bars=bars,
        root=root,
        sample_rate=int(rng.choice(rates)),
        channels=int(rng.choice([1, 2])),
        encoding=encoding,
        seed=int(rng.integers(2**31)),
    )
    name = f"{kind}_{label}{tempo}_{i:04d}.{spec.extension}"
    return SampleSpec(**{**asdict(spec), "name": name})


def library_specs(
    n: int,
    *,
    seed: int = 0,
    encodings: tuple[str, ...] = tuple(ENCODINGS),
    rates: tuple[int, ...] = (44100, 48000),
    max_seconds: float = 10.0,
    key_order: tuple[str, ...] = (),
) -> list[SampleSpec]:
    """``n`` sample specs cycling through the kinds, with seeded keys, tempi and encodings.

    ``key_order`` fixes the keys of the tonal loops (in turn); otherwise keys are drawn.
    """
    rng = np.random.default_rng(seed)
    specs = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        key = key_order[(i // len(KINDS)) % len(key_order)] if key_order and kind == "tonal_loop" else None
        specs.append(_spec(i, kind, rng, encodings=encodings, rates=rates, max_seconds=max_seconds, key=key))
    return specs


#: the demo's loops start round the Camelot wheel at A minor, so the README's search finds some
DEMO_KEYS = (
    "A minor",
    "C major",
    "E minor",
    "D minor",
    "G major",
    "F major",
    "B minor",
    "Bb major",
    "F# minor",
    "Eb major",
)


def demo_specs() -> list[SampleSpec]:
    """The demo library: 50 samples, ten of each kind, in every supported encoding."""
    return library_specs(50, seed=2026, key_order=DEMO_KEYS)


def bench_specs(n: int = 500, *, seed: int = 0) -> list[SampleSpec]:
    """The benchmark mix: 0.3–10 s, 44.1 and 48 kHz, mono and stereo, WAV, FLAC and MP3."""
    return library_specs(n, seed=seed, encodings=("wav", "flac", "mp3"))


def render_spec(spec: SampleSpec) -> np.ndarray:
    """The audio of a spec: [shape=(frames, channels), dtype=float32] at ``spec.sample_rate``."""
    rng = np.random.default_rng(spec.seed)
    sr = spec.sample_rate
    if spec.kind == "tonal_loop":
        assert spec.key and spec.bpm and spec.bars, spec  # every loop spec has them (library_specs)
        y = synth.tonal_loop(keys.parse_key(spec.key), bpm=spec.bpm, bars=spec.bars, sr=sr, rng=rng)
    elif spec.kind == "drum_loop":
        assert spec.bpm and spec.bars, spec
        y = synth.drum_loop(bpm=spec.bpm, bars=spec.bars, sr=sr, rng=rng)
    elif spec.kind == "chord_stab":
        assert spec.key, spec
        y = synth.chord_stab(keys.parse_key(spec.key), duration=float(rng.uniform(0.5, 2.0)), sr=sr, rng=rng)
    elif spec.kind == "note":
        assert spec.root, spec
        midi = _midi(spec.root)
        y = synth.single_note(midi, duration=float(rng.uniform(0.3, 2.0)), sr=sr, wave=str(rng.choice(synth.WAVES)))
    else:
        hit = int(rng.integers(3))
        y = [synth.kick(sr), synth.snare(sr, rng, duration=0.3), synth.hat(sr, rng, duration=0.3)][hit]
        y = synth.normalise(y)
    y = y * float(rng.uniform(0.3, 1.0))
    if spec.channels == 1:
        return y[:, None].astype(np.float32)
    # a slightly different level per channel, as real stereo has
    return np.stack([y, y * float(rng.uniform(0.7, 1.0))], axis=1).astype(np.float32)


def _midi(note: str) -> int:
    names = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
    pitch, octave = note.rstrip("-0123456789"), int(note[len(note.rstrip("-0123456789")) :])
    return names.index(pitch) + 12 * (octave + 1)


def write_library(folder: str | Path, specs: list[SampleSpec]) -> Path:
    """Render and encode every spec into ``folder`` with a ``labels.csv``; reuses a complete one.

    A library whose ``library.json`` lists exactly these specs is left as it is,
    so benchmarks and demos do not re-render on every call.
    """
    folder = Path(folder)
    manifest = folder / "library.json"
    wanted = json.dumps([asdict(s) for s in specs], sort_keys=True)
    if manifest.exists() and manifest.read_text() == wanted:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        fmt, subtype = ENCODINGS[spec.encoding]
        sf.write(folder / spec.name, render_spec(spec), spec.sample_rate, format=fmt, subtype=subtype)
    with open(folder / "labels.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "kind", "key", "bpm", "root"])
        for s in specs:
            writer.writerow([s.name, s.kind, s.key or "", s.bpm or "", s.root or ""])
    manifest.write_text(wanted)
    return folder


def main(argv: list[str] | None = None) -> None:
    """``python -m sampledex.pipeline.tools.demo FOLDER [--bench N]``: write the demo (or bench) library."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("folder")
    parser.add_argument("--bench", type=int, metavar="N", help="write the N-file benchmark mix instead")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    specs = bench_specs(args.bench, seed=args.seed) if args.bench else demo_specs()
    folder = write_library(args.folder, specs)
    print(f"{len(specs)} samples in {folder}")


if __name__ == "__main__":
    main()

"""Root notes of real recorded single notes: how the pitch estimator does on multisample libraries.

    python -m sampledex.pipeline.tools.realnotes data/libraries/train/headroom-piano data/libraries/validation/jrhodes3d
    python -m sampledex.pipeline.tools.realnotes --match 'mcg_*' SNAPSHOT/Samples   # key samples, not releases

Each file whose name states its note (:func:`sampler.note_from_name`) is analysed as ``sampledex index`` would
analyse it (kind, then the root of a one-shot) and compared with its name: pitch class, pitch class and octave,
no root at all, and the kind, by octave of the named note. The name is taken as written, middle C = ``C4``: a
library that calls middle C ``C3`` shows as octave errors. Each drum hit (:func:`sampler.drum_piece`) is analysed
the same way, and how many have no root and how many no key (the default key method through
``analyze.estimate_key``, as ``index`` gives it) is shown by kit piece: the other side of every change to the
estimators (drums, most of them, have no pitch and no key; toms and some percussion have a pitch). A development
measurement (the libraries are development-time data, ``make libraries``), not a held-out benchmark.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from fnmatch import fnmatch
from pathlib import Path

from sampledex.models import descriptors, frontend, pitch
from sampledex.models.training import sampler
from sampledex.pipeline import analyze, decode


def _analysed(path: Path) -> descriptors.Descriptors:
    """A file decoded whole, as ``index`` decodes it (a note cut short could be taken for a loop that many bars
    long), and described."""
    return descriptors.describe(decode.to_analysis_mono(decode.load(str(path))))


#: what is measured: the sampler's formats and MP3, which ``index`` decodes too (public note sets are often MP3)
SUFFIXES = (*sampler.AUDIO_SUFFIXES, ".mp3")


def _matching(folder: str | Path, match: str) -> list[Path]:
    return [path for path in sampler.audio_files(folder, suffixes=SUFFIXES) if fnmatch(path.name, match)]


def measure(folder: str | Path, *, match: str = "*") -> dict[int, list[tuple[bool, bool, bool, bool]]]:
    """By octave of the named note: (one-shot, pitch class right, octave right too, no root) per file. Only
    files whose name matches the shell pattern ``match`` are measured (a library's release or pedal samples
    carry note names too)."""
    rows: dict[int, list[tuple[bool, bool, bool, bool]]] = defaultdict(list)
    for path in _matching(folder, match):
        named = sampler.note_from_name(path.stem)
        if named is None or sampler.drum_piece(path.relative_to(folder)) is not None:
            continue
        found = _analysed(path)
        root = found.root_note
        same_class = root is not None and root.rstrip("-0123456789") == pitch.TONICS[named % 12]
        rows[named // 12 - 1].append(
            (found.kind == "one-shot", same_class, root == pitch.note_name(named), root is None)
        )
    return rows


def measure_hits(folder: str | Path, *, match: str = "*") -> dict[str, list[tuple[bool, bool, bool]]]:
    """By kit piece: (one-shot, no root, no key) per drum hit whose name matches ``match``."""
    rows: dict[str, list[tuple[bool, bool, bool]]] = defaultdict(list)
    for path in _matching(folder, match):
        piece = sampler.drum_piece(path.relative_to(folder))
        if piece is not None:
            audio = decode.load(str(path))
            mono = decode.to_analysis_mono(audio)
            found = descriptors.describe(mono)
            key = analyze.estimate_key(audio, S=frontend.logfreq_spectrogram(mono), found=found)
            rows[piece].append((found.kind == "one-shot", found.root_note is None, key.index is None))
    return rows


def _shares_table(title: str, columns: tuple[str, ...], rows: dict) -> str:
    """A Markdown table: per group of ``rows`` (sorted by key) and for all of them, the count and the share of
    each boolean column."""
    lines = [title, "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    every = [r for key in sorted(rows) for r in rows[key]]
    for label, group in [*((str(k), rows[k]) for k in sorted(rows)), ("all", every)]:
        shares = [sum(r[i] for r in group) / len(group) for i in range(len(columns) - 2)]
        lines.append(f"| {label} | {len(group)} | " + " | ".join(f"{s:.3f}" for s in shares) + " |")
    return "\n".join(lines)


def hits_table(name: str, rows: dict[str, list[tuple[bool, bool, bool]]]) -> str:
    return _shares_table(f"{name}: drum hits", ("piece", "hits", "one-shot", "no root", "no key"), rows)


def table(name: str, rows: dict[int, list[tuple[bool, bool, bool, bool]]]) -> str:
    columns = ("octave", "notes", "one-shot", "pitch class", "with octave", "no root")
    return _shares_table(name, columns, rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", help="multisample libraries (folders of one note per file)")
    parser.add_argument("--match", default="*", help="measure only files whose name matches this shell pattern")
    args = parser.parse_args(argv)
    for folder in args.folders:
        try:
            notes, hits = measure(folder, match=args.match), measure_hits(folder, match=args.match)
        except sampler.LibraryError as error:
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(1) from None
        if not notes and not hits:
            print(f"{folder}: no named notes or drum hits\n")
        if notes:
            print(table(folder, notes) + "\n")
        if hits:
            print(hits_table(folder, hits) + "\n")


if __name__ == "__main__":
    main()

"""Root notes of real recorded single notes: how the pitch estimator does on multisample libraries.

    python -m sampledex.pipeline.tools.realnotes data/libraries/train/headroom-piano data/libraries/validation/jrhodes3d
    python -m sampledex.pipeline.tools.realnotes --match 'mcg_*' SNAPSHOT/Samples   # key samples, not releases

Each file whose name states its note (:func:`sampler.note_from_name`) is analysed as ``sampledex index`` would
analyse it (kind, then the root of a one-shot) and compared with its name: pitch class, pitch class and octave,
no root at all, and the kind, by octave of the named note. The name is taken as written, middle C = ``C4``: a
library that calls middle C ``C3`` shows as octave errors. A development measurement (the libraries are
development-time data, ``make libraries``), not a held-out benchmark.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from fnmatch import fnmatch
from pathlib import Path

from sampledex.models import descriptors, pitch
from sampledex.models.training import sampler
from sampledex.pipeline import decode


def measure(folder: str | Path, *, match: str = "*") -> dict[int, list[tuple[bool, bool, bool, bool]]]:
    """By octave of the named note: (one-shot, pitch class right, octave right too, no root) per file, each file
    decoded whole, as ``index`` decodes it (a note cut short could be taken for a loop that many bars long).
    Only files whose name matches the shell pattern ``match`` are measured (a library's release or pedal
    samples carry note names too)."""
    rows: dict[int, list[tuple[bool, bool, bool, bool]]] = defaultdict(list)
    for path in sampler.audio_files(folder):
        if not fnmatch(path.name, match):
            continue
        named = sampler.note_from_name(path.stem)
        if named is None or sampler.drum_piece(path.relative_to(folder)) is not None:
            continue
        found = descriptors.describe(decode.to_analysis_mono(decode.load(str(path))))
        root = found.root_note
        same_class = root is not None and root.rstrip("-0123456789") == pitch.TONICS[named % 12]
        rows[named // 12 - 1].append(
            (found.kind == "one-shot", same_class, root == pitch.note_name(named), root is None)
        )
    return rows


def table(name: str, rows: dict[int, list[tuple[bool, bool, bool, bool]]]) -> str:
    lines = [
        f"{name}",
        "| octave | notes | one-shot | pitch class | with octave | no root |",
        "|---|---|---|---|---|---|",
    ]
    every = [r for octave in sorted(rows) for r in rows[octave]]
    for label, group in [*((str(o), rows[o]) for o in sorted(rows)), ("all", every)]:
        n = len(group)
        shares = [sum(r[i] for r in group) / n for i in range(4)]
        lines.append(f"| {label} | {n} | " + " | ".join(f"{s:.3f}" for s in shares) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", help="multisample libraries (folders of one note per file)")
    parser.add_argument("--match", default="*", help="measure only files whose name matches this shell pattern")
    args = parser.parse_args(argv)
    for folder in args.folders:
        print(table(folder, measure(folder, match=args.match)) + "\n")


if __name__ == "__main__":
    main()

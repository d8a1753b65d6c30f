"""Tempo of real recorded loops against the tempo their makers wrote on them.

    python -m sampledex.pipeline.tools.realloops FOLDER [FOLDER ...] [--librosa] [--verbose]

Each audio file under a folder whose own metadata or name (or folders) declares a tempo — an ACID chunk,
``Funk Break 96 BPM.wav``, ``loops/128bpm/…`` (:func:`tags.declared_metadata`, as ``index`` reads it) — is
analysed as ``sampledex index`` analyses it (:func:`analyze.describe`) and its ``bpm`` compared with the declared
tempo: Acc1 within 4 %, Acc2 also at twice, half, three times or a third of it, as ``make bench-descriptors``
scores. Files are grouped by the first folder under each FOLDER (a library's own sections: breaks, full-band
loops, one instrument). With ``--librosa``, ``librosa.feature.tempo`` on the same decoded signal stands beside.

A development measurement on public recordings brought here by hand (see README), not a held-out benchmark:
real loops are what the tempo scorer's rendered material stands in for, and this says whether it carries.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from sampledex.models.training import sampler
from sampledex.models.training.metrics import tempo_hits
from sampledex.pipeline import analyze, decode
from sampledex.pipeline.tools.realnotes import SUFFIXES


def measure(folder: str | Path, *, with_librosa: bool = False) -> list[dict]:
    """One row per file with a declared tempo: its group (first folder under ``folder``), the declared tempo,
    ``index``'s ``kind``, ``bpm`` and ``bpm_confidence``, and with ``with_librosa`` librosa's tempo (BPM)."""
    folder = Path(folder)
    rows = []
    for path in sampler.audio_files(folder, suffixes=SUFFIXES):
        data = path.read_bytes()
        try:
            found = analyze.describe(data, name=str(path))
        except decode.DecodeError as error:
            print(f"  skipped {path}: {error}", file=sys.stderr)
            continue
        if found["declared_bpm"] is None:
            continue
        relative = path.relative_to(folder)
        row = {
            "path": str(relative),
            "group": relative.parts[0] if len(relative.parts) > 1 else ".",
            "declared": float(found["declared_bpm"]),
            "kind": found["kind"],
            "bpm": found["bpm"],
            "confidence": found["bpm_confidence"],
        }
        if with_librosa:
            from sampledex.pipeline.tools.descbench import librosa_tempo

            row["librosa"] = librosa_tempo(decode.to_analysis_mono(decode.decode(data)))
        rows.append(row)
    return rows


def table(name: str, rows: list[dict]) -> str:
    """A Markdown table by group and for all: files, share called a loop, Acc1, Acc2 (and librosa's)."""
    with_librosa = bool(rows) and "librosa" in rows[0]
    columns = ["group", "files", "loop", "Acc1", "Acc2"] + (["librosa Acc1", "librosa Acc2"] if with_librosa else [])
    lines = [name, "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[row["group"]].append(row)
    for label, group in [*sorted(groups.items()), ("all", rows)]:
        ours = np.array([tempo_hits(r["bpm"], r["declared"]) for r in group])
        cells = [label, str(len(group)), f"{np.mean([r['kind'] == 'loop' for r in group]):.3f}"]
        cells += [f"{ours[:, 0].mean():.3f}", f"{ours[:, 1].mean():.3f}"]
        if with_librosa:
            ref = np.array([tempo_hits(r["librosa"], r["declared"]) for r in group])
            cells += [f"{ref[:, 0].mean():.3f}", f"{ref[:, 1].mean():.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", help="folders of loops whose names or metadata declare a tempo")
    parser.add_argument("--librosa", action="store_true", help="also score librosa.feature.tempo on each file")
    parser.add_argument("--verbose", action="store_true", help="list every file whose tempo is not within 4 %%")
    args = parser.parse_args(argv)
    for folder in args.folders:
        try:
            rows = measure(folder, with_librosa=args.librosa)
        except sampler.LibraryError as error:
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(1) from None
        if not rows:
            print(f"{folder}: no file declares a tempo\n")
            continue
        print(table(folder, rows) + "\n")
        if args.verbose:
            for row in rows:
                if not tempo_hits(row["bpm"], row["declared"])[0]:
                    print(
                        f"  {row['path']}: declared {row['declared']:g}, got {row['bpm']} "
                        f"(confidence {row['confidence']}, {row['kind']})"
                    )
            print()


if __name__ == "__main__":
    main()

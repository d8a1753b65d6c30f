"""``make evaluate``: the key model's held-out figures, CNN and Krumhansl–Schmuckler side by side.

Writes the evaluation sets if they are missing (rendered with the held-out
soundfont, held-out progressions and held-out corpus tunes), evaluates both
methods on them and on the real recordings of ``../shared/realkeys``, and
prints the Markdown table the model card carries. With the validation
libraries, also every recorded drum hit in them, as they are (``recorded-hits``:
a listing, nothing rendered; each should have no key); with ``make libraries``'
real recordings of music (``data/libraries/recordings/<name>/labels.csv``), those
clips too; with ``make presets``' validation set (``data/presets/validation``: the generator's music on synth
presets that training never plays, :mod:`sampledex.models.training.presets`), that set, by family.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Sequence
from pathlib import Path

from sampledex.models.training import corpus, datagen, metrics

from . import evaluate


def ensure_eval_sets(folder: Path, corpus_cache: str, libraries: Sequence[str] = ()) -> dict[str, str]:
    """The evaluation sets' CSVs, rendering only those missing (a set once written stays the yardstick).

    With ``libraries`` (folders of recorded instruments and kits that training never hears), the
    real-instrument validation sets (:data:`datagen.REAL_SETS`) too.
    """
    names = datagen.EVAL_SETS + (datagen.REAL_SETS if libraries else ())
    sets = {name: str(folder / name / "labels.csv") for name in names}
    missing = tuple(name for name, csv in sets.items() if not Path(csv).exists())
    if missing:
        from sampledex.models.training import sampler

        pieces = [p for p in corpus.load_pieces(corpus_cache) if corpus.is_held_out(p.id)]
        real = [sampler.Sampler.load(libraries)] if set(missing) & set(datagen.REAL_SETS) else None
        sets.update(datagen.write_eval_sets(folder, pieces, names=missing, renderers=real))
        if set(datagen.REAL_SETS) <= set(missing):  # a record of these libraries, not of sets made before
            record_libraries(folder, libraries)
    return sets


#: which library folders the real-instrument sets were made from (the recorded hits are listed in the same run)
LIBRARIES_RECORD = "libraries.txt"


def _names(libraries: Sequence[str]) -> list[str]:
    return sorted({Path(f).name for f in libraries})


def record_libraries(folder: Path, libraries: Sequence[str]) -> None:
    """Write the names of the library folders the real-instrument sets under ``folder`` are made from."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / LIBRARIES_RECORD).write_text("".join(f"{name}\n" for name in _names(libraries)))


def libraries_note(folder: Path, libraries: Sequence[str]) -> str | None:
    """One line when the real-instrument sets under ``folder`` were made from other library folders than
    ``libraries`` (a set once written stays as it is, so its figures are of its own libraries); None when they
    are the same, or no record is there."""
    record = folder / LIBRARIES_RECORD
    if not record.exists():
        return None
    then, now = record.read_text().splitlines(), _names(libraries)
    if then == now:
        return None
    return (
        f"note: the real-instrument sets in {folder} were made from {', '.join(then) or 'no library'}, not from "
        f"{', '.join(now) or 'no library'}; delete them (and {LIBRARIES_RECORD}) to make them from these"
    )


#: the keyless set of the validation libraries' own drum hits
HITS_SET = "recorded-hits"
#: the generator's music played on held-out synth presets (``make presets``); its files are named by family
PRESETS_SET = "presets"


def write_hits_set(folder: Path, libraries: Sequence[str]) -> str | None:
    """List every drum hit of ``libraries`` (a file whose name or folder says its kit piece) as a keyless set,
    ``folder/recorded-hits/labels.csv`` (``path,key,kind``: the absolute path, no key, the piece), unless it is
    there already; None when the libraries hold no hit."""
    from sampledex.models.training import sampler

    target = folder / HITS_SET / "labels.csv"
    if target.exists():
        return str(target)
    hits = [
        (str(path.resolve()), piece)
        for library in libraries
        for path in sampler.audio_files(library)
        if (piece := sampler.drum_piece(path.relative_to(library))) is not None
    ]
    if not hits:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "key", "kind"])
        writer.writerows((path, "", piece) for path, piece in hits)
    return str(target)


def pieces(labels: str) -> dict[str, str]:
    """Each listed file's kind (``path`` → ``kind`` column) of a labels CSV."""
    with open(labels, newline="") as f:
        return {r["path"]: r["kind"] for r in csv.DictReader(f)}


def row(name: str, cnn: evaluate.Evaluation, ks: evaluate.Evaluation) -> str:
    def cells(e: evaluate.Evaluation) -> str:
        r = e.report
        null_rate = r.breakdown.get("none", 0) / r.n if r.n else float("nan")
        return (
            f"{r.mirex:.3f} | {r.accuracy:.3f} | {r.relative_error_rate:.3f} | {null_rate:.3f} | {r.keyless_recall:.3f}"
        )

    return f"| {name} | {len(cnn.results)} | {cells(cnn)} | {cells(ks)} |"


def by_family(
    cnn: evaluate.Evaluation, ks: evaluate.Evaluation, family_of: dict[str, str] | None = None
) -> dict[str, tuple]:
    """Each family's reports, CNN and KS: ``family_of[path]``, or the start of the file's name (``pad_0000012``)."""
    groups: dict[str, tuple[list, list]] = {}
    for (path, ref, est, _), (_, _, ks_est, _) in zip(cnn.results, ks.results):
        family = family_of[path] if family_of else Path(path).name.rsplit("_", 1)[0]
        pairs = groups.setdefault(family, ([], []))
        pairs[0].append((ref, est))
        pairs[1].append((ref, ks_est))
    return {f: (metrics.evaluate(a), metrics.evaluate(b)) for f, (a, b) in sorted(groups.items())}


def _short(r: metrics.KeyReport) -> str:
    """MIREX / relative-key errors / NULL share of a tonal family; the NULL share alone of a keyless one."""
    if not r.n:
        return f"NULL {r.keyless_recall:.3f}"
    return f"{r.mirex:.3f} / {r.breakdown.get('relative', 0)} / {r.breakdown.get('none', 0) / r.n:.3f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", default="data/eval")
    parser.add_argument("--corpus-cache", default="data/corpus.json")
    parser.add_argument("--realkeys", default=str(Path("..") / "shared" / "realkeys" / "labels.csv"))
    parser.add_argument(
        "--recordings",
        default="data/libraries/recordings",
        type=Path,
        help="real recordings of music cut into clips by `make libraries`: each folder's labels.csv is a set",
    )
    parser.add_argument(
        "--presets",
        default="data/presets/validation/labels.csv",
        help="music played on held-out LMMS presets, rendered by `make presets` (skipped if absent)",
    )
    parser.add_argument("--json", default="data/eval/report.json")
    parser.add_argument("--weights", help="the CNN's weights to evaluate (default: the shipped models/keycnn.npz)")
    parser.add_argument(
        "--library",
        action="append",
        default=[],
        metavar="DIR",
        help="recorded instruments and kits held out of training: adds the real-instrument validation sets",
    )
    args = parser.parse_args(argv)

    libraries = [f for f in args.library if Path(f).is_dir()]
    if len(libraries) < len(args.library):
        absent = ", ".join(f for f in args.library if f not in libraries)
        print(f"real-instrument validation skipped: {absent} not found (`make libraries` brings them)\n")
        libraries = []
    if libraries and (note := libraries_note(Path(args.sets), libraries)) is not None:
        print(note + "\n")
    sets = ensure_eval_sets(Path(args.sets), args.corpus_cache, libraries)
    hits = write_hits_set(Path(args.sets), libraries) if libraries else None
    if hits is not None:
        sets[HITS_SET] = hits
    for labels in sorted(args.recordings.glob("*/labels.csv")):
        sets[f"recordings {labels.parent.name}"] = str(labels)
    if Path(args.presets).exists():
        sets[PRESETS_SET] = args.presets
    if Path(args.realkeys).exists():
        sets["realkeys"] = args.realkeys
    results = {
        name: {m: evaluate.evaluate(spec, m, weights=args.weights) for m in ("cnn", "classic")}
        for name, spec in sets.items()
    }
    print(
        "| set | files | CNN MIREX | CNN acc | CNN relative err | CNN tonal→NULL | CNN keyless→NULL "
        "| KS MIREX | KS acc | KS relative err | KS tonal→NULL | KS keyless→NULL |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(row(name, r["cnn"], r["classic"]))
    for name in ("pack", PRESETS_SET, "real-keyless", HITS_SET):
        if name in results:
            print(f"\n{name}, by family (MIREX / relative-key errors / NULL):")
            print("| family | files | CNN | KS |")
            print("|---|---|---|---|")
            family_of = pieces(sets[name]) if name == HITS_SET else None
            for family, (cnn, ks) in by_family(results[name]["cnn"], results[name]["classic"], family_of).items():
                print(f"| {family} | {cnn.n + cnn.n_keyless} | {_short(cnn)} | {_short(ks)} |")
    for name in ("loops", "melodies"):
        if name in results:
            print(f"\nCNN accuracy by confidence decile, {name}:")
            for b in results[name]["cnn"].deciles:
                print(f"  {b.lo:.2f}–{b.hi:.2f}  n={b.n:4d}  accuracy {b.accuracy:.2f}")
    if "realkeys" in results:
        print("\nrealkeys, file by file (reference | CNN | KS):")
        for (path, ref, est, conf), (_, _, ks, _) in zip(
            results["realkeys"]["cnn"].results, results["realkeys"]["classic"].results
        ):
            print(
                f"  {Path(path).name}: {evaluate.key_name(ref) or '(none)'} | "
                f"{evaluate.key_name(est) or 'NULL'} ({conf:.2f}) | {evaluate.key_name(ks) or 'NULL'}"
            )
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(
        json.dumps({n: {m: e.as_dict() for m, e in r.items()} for n, r in results.items()}, indent=1)
    )


if __name__ == "__main__":
    main()

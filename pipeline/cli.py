"""``sampledex``: index, query, search and analyse a sample library.

Exit status (``index`` and the rest): 0 when the command did its work (bad
audio files are rows with ``error`` and do not change it); 1 when the run
itself failed (source missing, cluster unreachable, catalog unwritable); 2 for
usage errors; 3 when the catalog is locked by another ``index`` run.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import sys

import duckdb

from . import analyze, catalog as catalog_mod, graph, sources

EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 1, 2, 3


class UsageError(ValueError):
    """A command line that asks for something impossible (bad key, bad range)."""

SEARCH_COLUMNS = ("path", "kind", "key", "camelot", "key_confidence", "bpm", "root_note",
                  "duration_s", "loudness_lufs")
ANALYZE_COLUMNS = ("path", "format", "sample_rate", "channels", "duration_s", "key", "key_confidence",
                   "camelot", "peak_dbfs", "loudness_lufs", "error", "notes")


def _storage_options(pairs: list[str]) -> dict:
    """``KEY=VALUE`` pairs; values that read as JSON (true, 3, null) become those values."""
    options = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--storage-option {pair!r} is not KEY=VALUE")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options


def _jsonable(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def print_rows(columns: list[str], rows: list[tuple], fmt: str, out=sys.stdout) -> None:
    """Rows as an aligned table, CSV or JSON (one array of objects)."""
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt == "json":
        json.dump([{c: _jsonable(v) for c, v in zip(columns, r)} for r in rows], out, indent=1)
        out.write("\n")
    else:
        def cell(v):
            if v is None:
                return ""
            if isinstance(v, float):
                return f"{v:.3f}" if abs(v) < 1e4 else f"{v:.0f}"
            return str(v)
        text = [[cell(v) for v in r] for r in rows]
        widths = [max([len(c)] + [len(r[i]) for r in text]) for i, c in enumerate(columns)]
        out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
        out.write("  ".join("-" * w for w in widths) + "\n")
        for r in text:
            out.write("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() + "\n")
        out.write(f"({len(rows)} row{'s' if len(rows) != 1 else ''})\n")


def cmd_index(args) -> int:
    catalog = catalog_mod.Catalog(args.catalog)
    summary = graph.run_index(args.sources, catalog, scheduler=args.scheduler, workers=args.workers,
                              full=args.full, method=args.key_method,
                              storage_options=_storage_options(args.storage_option))
    print(summary.text())
    print(f"catalog: {catalog.root}")
    return 0


def cmd_query(args) -> int:
    rel = catalog_mod.Catalog(args.catalog).query(args.sql)
    print_rows(rel.columns, rel.fetchall(), args.format)
    return 0


def parse_bpm_range(text: str) -> tuple[float, float]:
    """``"120:128"`` -> (120, 128); ``"124"`` -> (124, 124)."""
    lo, _, hi = text.partition(":")
    try:
        lo_f, hi_f = float(lo), float(hi or lo)
    except ValueError:
        raise UsageError(f"--bpm {text!r} is not LO:HI (e.g. 120:128)") from None
    if lo_f > hi_f or lo_f <= 0:
        raise UsageError(f"--bpm {text!r}: need 0 < LO <= HI")
    return lo_f, hi_f


def search_sql(args) -> tuple[str, list]:
    """The SELECT behind ``search``, with its parameters."""
    from sampledex.models import keys

    where, params = ["error IS NULL"], []
    if args.key:
        try:
            key = keys.canonical(args.key)
        except keys.KeySpellingError as exc:
            raise UsageError(f"--key: {exc}") from None
        if args.compatible:
            where.append("list_contains(compatible_keys(?, rule := ?), key)")
            params += [key, args.compatible]
        else:
            where.append("key = ?")
            params.append(key)
    if args.bpm:
        where.append("bpm_between(bpm, ?, ?)")
        params += list(parse_bpm_range(args.bpm))
    if args.kind:
        where.append("kind = ?")
        params.append(args.kind)
    if args.root:
        where.append("root_note = ?")
        params.append(args.root)
    sql = (f"SELECT {', '.join(SEARCH_COLUMNS)} FROM samples WHERE {' AND '.join(where)} "
           f"ORDER BY key_confidence DESC NULLS LAST, path LIMIT ?")
    return sql, params + [args.limit]


def cmd_search(args) -> int:
    catalog = catalog_mod.Catalog(args.catalog)
    con = catalog.connect(read_only=True)
    sql, params = search_sql(args)
    rel = con.execute(sql, params)
    columns = [d[0] for d in rel.description]
    print_rows(columns, rel.fetchall(), args.format)
    return 0


def cmd_analyze(args) -> int:
    options = _storage_options(args.storage_option)
    rows = []
    for url in args.files:
        fs, _ = sources.open_source(url, options)
        table = analyze.analyze_partition(fs, sources.list_source(url, options), method=args.key_method)
        rows += table.select(list(ANALYZE_COLUMNS)).to_pylist()
    print_rows(list(ANALYZE_COLUMNS), [tuple(r[c] for c in ANALYZE_COLUMNS) for r in rows], args.format)
    return 0


def cmd_train(args) -> int:
    from sampledex.models import datasets, train

    parts = []
    if args.synthetic or not args.datasets:
        parts.append(train.build_synthetic(args.features, seed=args.seed, processes=args.processes))
    for spec in args.datasets:
        parts.append(train.features_from_files(datasets.load(spec)))
    features = parts[0] if len(parts) == 1 else train.FeatureSet.pack(
        [(p.example(i), int(p.labels[i]), str(p.kinds[i])) for p in parts for i in range(len(p))])
    weights = train.train(features, args.out, epochs=args.epochs, seed=args.seed, max_steps=args.max_steps,
                          log=lambda line: print(line, flush=True))
    if args.export:
        import shutil

        shutil.copyfile(weights, args.export)
        print(f"weights -> {args.export}")
    print(f"learning curve: {args.out}/learning_curve.png, confusion: {args.out}/confusion.png")
    return 0


def cmd_evaluate(args) -> int:
    from . import evaluate

    result = evaluate.evaluate(args.dataset, args.method)
    if args.format == "json":
        print(json.dumps(result.as_dict(), indent=1))
    else:
        print(result.text())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sampledex", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    default_catalog = catalog_mod.default_location()

    def catalog_arg(p):
        p.add_argument("--catalog", default=default_catalog,
                       help="catalog folder (default: $SAMPLEDEX_CATALOG or ./catalog)")

    def storage_arg(p):
        p.add_argument("--storage-option", action="append", default=[], metavar="KEY=VALUE",
                       help="fsspec storage option, repeatable (endpoint_url=…, anon=true, profile=…)")

    def key_method_arg(p):
        p.add_argument("--key-method", choices=analyze.KEY_METHODS, default=analyze.DEFAULT_KEY_METHOD)

    p = sub.add_parser("index", help="analyse sources into the catalog (incremental)")
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="folder, file or fsspec URL (s3://bucket/prefix)")
    catalog_arg(p)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--scheduler", metavar="ADDR", help="existing Dask scheduler, e.g. tcp://host:8786")
    group.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: one per core)")
    p.add_argument("--full", action="store_true", help="re-analyse every file, changed or not")
    key_method_arg(p)
    storage_arg(p)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("query", help="run one read-only SQL statement against the catalog")
    p.add_argument("sql")
    catalog_arg(p)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("search", help="find samples by key, tempo, kind or root note")
    p.add_argument("--key", help="any spelling: 'A minor', Am, 'c# min', 8A")
    p.add_argument("--compatible", nargs="?", const="camelot", metavar="RULE",
                   choices=("exact", "adjacent", "relative", "camelot", "extended"),
                   help="also harmonically compatible keys (rule: camelot (default), adjacent, relative, "
                        "extended, exact)")
    p.add_argument("--bpm", metavar="LO:HI", help="tempo range; half and double time match too")
    p.add_argument("--kind", choices=("loop", "one-shot"))
    p.add_argument("--root", metavar="NOTE", help="root note of a one-shot, e.g. C#3")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    catalog_arg(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("analyze", help="analyse files or URLs and print the rows (no catalog)")
    p.add_argument("files", nargs="+", metavar="FILE_OR_URL")
    p.add_argument("--format", choices=("table", "json"), default="table")
    key_method_arg(p)
    storage_arg(p)
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("train", help="train the key CNN (synthetic material and/or labelled datasets)")
    p.add_argument("datasets", nargs="*", metavar="DATASET",
                   help="labelled audio: a path,key CSV, a GiantSteps Key or GiantSteps-MTG folder")
    p.add_argument("--synthetic", action="store_true",
                   help="also train on the rendered synthetic set (the default when no DATASET is given)")
    p.add_argument("--features", default="data/train-synth.npz", help="cache of the synthetic set's features")
    p.add_argument("--out", default="runs/keycnn", help="log, plots and checkpoints; rerun to resume")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--processes", type=int, default=2, help="rendering processes")
    p.add_argument("--max-steps", type=int, default=None, help="cap the steps per epoch (smoke tests)")
    p.add_argument("--export", metavar="PATH", help="copy the best weights here (models/keycnn.npz ships)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="score a key method on a labelled dataset")
    p.add_argument("dataset", help="a path,key CSV, a GiantSteps Key or GiantSteps-MTG folder")
    p.add_argument("--method", choices=analyze.KEY_METHODS, default=analyze.DEFAULT_KEY_METHOD)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "compatible", None) and not args.key:
        print("sampledex: --compatible needs --key", file=sys.stderr)
        return EXIT_USAGE
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"sampledex: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except catalog_mod.CatalogLocked as exc:
        print(f"sampledex: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except (catalog_mod.CatalogError, sources.SourceError, graph.ClusterError, duckdb.Error) as exc:
        print(f"sampledex: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

"""sampledex: index a sample library (local or S3) into a Parquet catalog and ask it by key.

Exit status: 0 the command did its work (bad audio files are rows with an error,
not failures); 1 the run failed (missing source or dataset, unreachable S3 or
scheduler, full or read-only disk, refused SQL); 2 usage error; 3 the catalog is
being written by another `index`; 130 interrupted. Every error is one line;
--debug (or SAMPLEDEX_DEBUG=1) adds its traceback.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

from sampledex.models.errors import SampledexError, UsageError

from .defaults import (
    COMPATIBLE_RULES,
    DEBUG_ENV,
    DEFAULT_COMPATIBLE_RULE,
    DEFAULT_KEY_METHOD,
    DEFAULT_SEARCH_LIMIT,
    KEY_METHODS,
    OUTPUT_FORMATS,
    catalog_location,
)

# Heavy modules (numpy, pyarrow, duckdb, dask) are imported inside the commands that use
# them: `query`, `search` and `--help` must start in a fraction of a second.

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

SEARCH_COLUMNS = ("path", "kind", "key", "camelot", "key_confidence", "bpm", "root_note", "duration_s", "loudness_lufs")
#: search filters whose column may still be NULL in every row: (option, column)
_NULLABLE_FILTERS = (("bpm", "bpm"), ("kind", "kind"), ("root", "root_note"), ("tuning_within", "tuning_cents"))
#: the fastest tempo a search accepts (BPM); anything above is a typo
MAX_BPM = 1000.0
#: most rows a search returns, and most local worker processes
MAX_LIMIT = 10**9
MAX_WORKERS = 1024
#: learning rate when training starts from existing weights: a tenth of a fresh run's
FINE_TUNE_LR = 3e-4


# -- arguments -------------------------------------------------------------------


def count(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: a whole number in [lo, hi] (usage error otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{value} is out of range: need {lo} to {hi}")
        return value

    return parse


def parse_bpm_range(text: str) -> tuple[float, float]:
    """``"120:128"`` -> (120.0, 128.0); ``"124"`` -> (124.0, 124.0); finite, 0 < LO <= HI <= MAX_BPM."""
    lo, _, hi = text.partition(":")
    try:
        lo_f, hi_f = float(lo), float(hi or lo)
    except ValueError:
        raise UsageError(f"--bpm {text!r} is not LO:HI (e.g. 120:128)") from None
    if not (math.isfinite(lo_f) and math.isfinite(hi_f) and 0 < lo_f <= hi_f <= MAX_BPM):
        raise UsageError(f"--bpm {text!r}: need 0 < LO <= HI <= {MAX_BPM:g}")
    return lo_f, hi_f


def _bpm_type(text: str) -> tuple[float, float]:
    try:
        return parse_bpm_range(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--bpm {text!r}: ")) from None


def _cents_type(text: str) -> float:
    try:
        cents = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of cents") from None
    if not 0 <= cents <= 50:  # NaN fails too
        raise argparse.ArgumentTypeError(f"{text!r} is not between 0 and 50 cents")
    return cents


def _ratio_type(text: str) -> float:
    try:
        ratio = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < ratio <= 1:  # NaN fails too
        raise argparse.ArgumentTypeError(f"{text!r} is not in (0, 1]")
    return ratio


def storage_options(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; values that read as JSON (true, 3, null) become those values."""
    import json

    options: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--storage-option {pair!r} is not KEY=VALUE")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options


# -- output ----------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    import datetime as dt

    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1e4 else f"{value:.0f}"
    return str(value)


def print_rows(columns: list[str], rows: list[tuple], fmt: str, out=None) -> None:
    """Rows as an aligned table, CSV or JSON (one array of objects)."""
    out = out or sys.stdout
    if fmt == "csv":
        import csv

        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt == "json":
        import json

        json.dump([{c: _jsonable(v) for c, v in zip(columns, r)} for r in rows], out, indent=1)
        out.write("\n")
    else:
        text = [[_cell(v) for v in r] for r in rows]
        widths = [max([len(c)] + [len(r[i]) for r in text]) for i, c in enumerate(columns)]
        out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
        out.write("  ".join("-" * w for w in widths) + "\n")
        for r in text:
            out.write("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() + "\n")
        out.write(f"({len(rows)} row{'s' if len(rows) != 1 else ''})\n")


def _say(message: str) -> None:
    """One line on stderr, prefixed with the program's name."""
    print(f"sampledex: {' '.join(message.split())}", file=sys.stderr)


# -- commands --------------------------------------------------------------------


def cmd_index(args: argparse.Namespace) -> int:
    from . import catalog as catalog_mod
    from . import run

    catalog = catalog_mod.Catalog(args.catalog)
    summary = run.run_index(
        args.sources,
        catalog,
        scheduler=args.scheduler,
        workers=args.workers,
        full=args.full,
        method=args.key_method,
        storage_options=storage_options(args.storage_option),
    )
    print(summary.text())
    print(f"catalog: {catalog.root}")
    return EXIT_OK


def cmd_query(args: argparse.Namespace) -> int:
    from . import catalog as catalog_mod

    rel = catalog_mod.Catalog(args.catalog).query(args.sql)
    print_rows(rel.columns, rel.fetchall(), args.format)
    return EXIT_OK


def _existing_catalog(args: argparse.Namespace):
    from . import catalog as catalog_mod

    catalog = catalog_mod.Catalog(args.catalog)
    if not catalog.exists():
        raise catalog_mod.CatalogError(f"no catalog at {catalog.root}")
    return catalog


def cmd_compact(args: argparse.Namespace) -> int:
    from . import catalog as catalog_mod

    catalog = _existing_catalog(args)
    with catalog.lock():
        done = catalog.compact(force=True)
        retired = catalog.retire()
    print(done.text() if done else "nothing to compact: no parts or removals since the last base")
    if retired:
        print(
            f"removed {len(retired)} files of generations superseded more than {catalog_mod.RETIRE_AFTER_S:.0f} s ago"
        )
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    catalog = _existing_catalog(args)
    if args.repair:
        with catalog.lock():
            catalog.create()
            catalog.remove_leftovers()
            repaired = catalog.repair()
        for path, why in repaired:
            print(f"quarantined {path}: {why}")
        print(
            f"{len(repaired)} files quarantined; run `sampledex index` on the sources to analyse their files again"
            if repaired
            else "every file verified: nothing to repair"
        )
        return EXIT_OK
    problems = catalog.snapshot(remembered=False).problems
    for bad, why in problems:
        print(f"{bad.relative_to(catalog.root)}: {why}")
    if problems:
        _say(f"{len(problems)} damaged or foreign files; `sampledex check --repair` quarantines them")
        return EXIT_FAILED
    print("every file verified")
    return EXIT_OK


def search_key(args: argparse.Namespace) -> str | None:
    """``--key`` in its canonical spelling (a usage error if it is not a key), or None."""
    from .search import canonical_key

    return canonical_key(args.key, option="--key")


def search_sql(args: argparse.Namespace, con) -> tuple[str, list]:
    """The SELECT behind ``search``, with its parameters (filters: :func:`search.where`)."""
    from . import search

    where, params = search.where(con, search.Filters.from_namespace(args))
    sql = (
        f"SELECT {', '.join(SEARCH_COLUMNS)} FROM samples WHERE {where} "
        f"ORDER BY key_confidence DESC NULLS LAST, path LIMIT ?"
    )
    return sql, params + [args.limit]


def empty_filters(con, args: argparse.Namespace) -> list[str]:
    """The options of a search that filter on a column NULL in every row of the catalog."""
    declared = {"bpm": "declared_bpm", "root_note": "declared_root"} if args.declared else {}
    used = [
        (option, declared.get(column, column))
        for option, column in _NULLABLE_FILTERS
        if getattr(args, option, None) is not None and getattr(args, option) is not False
    ]
    if not used:
        return []
    counts = con.execute(f"SELECT {', '.join(f'count({c})' for _, c in used)} FROM samples").fetchone()
    return [f"--{option.replace('_', '-')} (column {column})" for (option, column), n in zip(used, counts) if n == 0]


def cmd_search(args: argparse.Namespace) -> int:
    from . import catalog as catalog_mod

    search_key(args)  # a bad key is a usage error, with or without a catalog
    con = catalog_mod.Catalog(args.catalog).connect(read_only=True)
    sql, params = search_sql(args, con)
    rel = con.execute(sql, params)
    rows = rel.fetchall()
    print_rows([d[0] for d in rel.description], rows, args.format)
    if not rows and (empty := empty_filters(con, args)):
        _say(
            f"note: no row of this catalog has a value for {', '.join(empty)} yet "
            "(an older version wrote its rows, or nothing in it has one), so the search cannot match anything"
        )
    return EXIT_OK


def cmd_similar(args: argparse.Namespace) -> int:
    from . import catalog as catalog_mod
    from . import similar

    con = catalog_mod.Catalog(args.catalog).connect(read_only=True)
    target = similar.find_target(con, args.target, storage_options=storage_options(args.storage_option))
    columns, rows = similar.similar(con, target, limit=args.limit, kind=args.kind)
    print_rows(columns, rows, args.format)
    return EXIT_OK


def cmd_duplicates(args: argparse.Namespace) -> int:
    from . import catalog as catalog_mod
    from . import similar

    con = catalog_mod.Catalog(args.catalog).connect(read_only=True)
    groups = similar.duplicate_groups(con, near=args.near)
    rows = [(g.group_id, g.match, path, size) for g in groups for path, size in zip(g.paths, g.sizes)]
    print_rows(["group_id", "match", "path", "size_bytes"], rows, args.format)
    reclaimable = similar.reclaimable_bytes(groups)
    _say(
        f"{len(groups)} group(s) of duplicates, {len(rows)} files; keeping the largest file of each group "
        f"would free {reclaimable:,} bytes ({reclaimable / 2**20:.1f} MiB)"
    )
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from . import serve

    if not serve.is_loopback(args.host):
        _say(f"warning: serving on {args.host}: anyone who can reach this address can browse and play the catalog")
    serve.serve(args.catalog, host=args.host, port=args.port, storage_options=storage_options(args.storage_option))
    return EXIT_OK


def cmd_plot(args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import plot

    out = Path(args.out)
    if args.file:
        written = [
            plot.plot_file(
                args.file, out, key_method=args.key_method, storage_options=storage_options(args.storage_option)
            )
        ]
    else:
        written = plot.plot_catalog(_existing_catalog(args).connect(read_only=True), out)
    for path in written:
        print(path)
    return EXIT_OK


def cmd_analyze(args: argparse.Namespace) -> int:
    from . import analyze, schema, sources

    options = storage_options(args.storage_option)
    columns = list(schema.ANALYZE_COLUMNS)
    rows = []
    for url in args.files:
        fs, _ = sources.open_source(url, options)
        table = analyze.analyze_partition(fs, sources.list_source(url, options), method=args.key_method)
        rows += [tuple(r[c] for c in columns) for r in table.select(columns).to_pylist()]
    print_rows(columns, rows, args.format)
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    import shutil

    from sampledex.models.training import datasets, sampler, train

    from . import decode

    options = storage_options(args.storage_option)
    for folder in args.library:  # before any rendering: a missing library fails at once
        sampler.audio_files(folder)
    labelled_sets = [datasets.load(spec) for spec in args.datasets]
    for folder in args.from_catalog:
        con = _existing_catalog(argparse.Namespace(catalog=folder)).connect(read_only=True)
        rows = con.execute("SELECT path, declared_key FROM samples WHERE error IS NULL ORDER BY path").fetchall()
        labelled_sets.append(found := datasets.declared_dataset(rows, source=f"catalog:{folder}"))
        _say(f"{folder}: {found.summary()}")
    parts = []
    if args.synthetic or not labelled_sets:
        parts.append(train.build_synthetic(args.features, seed=args.seed, processes=args.processes))
    if args.library:
        parts.append(
            train.build_synthetic(
                args.library_features,
                mix=train.LIBRARY_MIX,
                seed=args.seed,
                processes=args.processes,
                libraries=tuple(args.library),
            )
        )
    for files in labelled_sets:
        labelled = (
            (decode.to_analysis_mono(decode.load(f.path, storage_options=options)), f.key, f.source) for f in files
        )
        parts.append(train.features_from_audio(labelled))
    features = (
        parts[0]
        if len(parts) == 1
        else train.FeatureSet.pack(
            [(p.example(i), int(p.labels[i]), str(p.kinds[i])) for p in parts for i in range(len(p))]
        )
    )
    init = args.init
    if init is None and args.from_catalog and not (args.datasets or args.synthetic):
        from sampledex.models.cnn import WEIGHTS

        init = WEIGHTS  # a user's own labelled pack teaches the shipped model their sounds: fine-tune it
    weights = train.train(
        features,
        args.out,
        epochs=args.epochs,
        seed=args.seed,
        max_steps=args.max_steps,
        lr=args.lr if args.lr is not None else (FINE_TUNE_LR if init else train.LEARNING_RATE),
        init=init,
        no_key_ratio=args.no_key_ratio,
        log=lambda line: print(line, flush=True),
    )
    if args.export:
        shutil.copyfile(weights, args.export)
        print(f"weights -> {args.export}")
    print(f"learning curve: {args.out}/learning_curve.png, confusion: {args.out}/confusion.png")
    return EXIT_OK


def cmd_train_tempo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sampledex.models.training import tempolevel

    from . import decode

    options = storage_options(args.storage_option)
    own, unread, said = [], 0, []
    for folder in args.from_catalog:
        con = _existing_catalog(argparse.Namespace(catalog=folder)).connect(read_only=True)
        rows = con.execute(
            "SELECT path, declared_bpm FROM samples WHERE error IS NULL AND kind = 'loop' "
            "AND declared_bpm IS NOT NULL ORDER BY path"
        ).fetchall()
        for path, bpm in rows:
            try:
                mono = decode.to_analysis_mono(decode.load(path, storage_options=options))
            except (decode.DecodeError, OSError):  # moved or changed since it was indexed: the rest still teach
                unread += 1
                continue
            own.append(tempolevel.example(mono, float(bpm), path, f"catalog:{folder}"))
        said.append(f"{folder}: {len(rows)} loops declare a tempo")
    if not own:
        raise UsageError(
            "no loop in the catalog declares a tempo (declared_bpm) that could be read: nothing to learn from"
        )
    for line in said + ([f"{unread} of them could not be read again and were left out"] if unread else []):
        _say(line)
    material = tempolevel.examples(
        args.seed, loops=args.loops, songs=args.songs, cache=Path(args.cache) / f"seed{args.seed}.npz"
    )
    # every fifth loop held out first, to say what the refit does on loops it has not seen
    held, taught = own[::5], [e for i, e in enumerate(own) if i % 5]
    if held and taught:
        before = tempolevel.accuracy(None, held)
        after = tempolevel.accuracy(tempolevel.fit_with_own_loops(material, taught), held)
        print(f"tempo Acc1 on {len(held)} of your loops held out: scorer in use {before:.3f}, refitted {after:.3f}")
    weights = tempolevel.fit_with_own_loops(material, own)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    tempolevel.save(weights, Path(args.out))
    print(f"scorer refitted on {len(own)} loops and {len(material)} development files -> {args.out}")
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    from .tools import evaluate

    result = evaluate.evaluate(args.dataset, args.key_method, weights=args.weights)
    print(json.dumps(result.as_dict(), indent=1) if args.format == "json" else result.text())
    if args.confusion:
        from sampledex.models.training.train import save_confusion

        title = f"{result.dataset}: {args.key_method}, {len(result.results)} files (row-normalised)"
        save_confusion(result.report.confusion, args.confusion, title=title)
        _say(f"confusion matrix -> {args.confusion}")
    return EXIT_OK


# -- the parser ------------------------------------------------------------------


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Descriptions as written, and each option's default in its help (unless it is off or none)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, []):
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line and exit status 2, like every other error."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see `{self.prog} --help`)", file=sys.stderr)
        sys.exit(EXIT_USAGE)


class _Version(argparse.Action):
    """``--version``: read from the installed package's metadata only when asked."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kw):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import version

        print(f"sampledex {version('sampledex')}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help=f"show the traceback behind an error (or set {DEBUG_ENV}=1)",
    )
    parser = _Parser(prog="sampledex", description=__doc__, formatter_class=_Formatter)
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    parser.add_argument(
        "--debug", action="store_true", default=False, help=f"show the traceback behind an error (or set {DEBUG_ENV}=1)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    def command(name: str, help_text: str, func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common], formatter_class=_Formatter)
        p.set_defaults(func=func)
        return p

    def catalog_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--catalog",
            default=catalog_location(),
            metavar="DIR",
            help="catalog folder ($SAMPLEDEX_CATALOG or ./catalog)",
        )

    def storage_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--storage-option",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="fsspec storage option, repeatable (endpoint_url=…, anon=true, profile=…)",
        )

    def key_method_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--key-method",
            choices=KEY_METHODS,
            default=DEFAULT_KEY_METHOD,
            help="key estimator: the CNN, or classic Krumhansl–Schmuckler",
        )

    def format_arg(p: argparse.ArgumentParser, choices: tuple[str, ...] = OUTPUT_FORMATS) -> None:
        p.add_argument("--format", choices=choices, default=choices[0], help="how to print the result")

    p = command("index", "analyse sources into the catalog (incremental: only new and changed files)", cmd_index)
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="folder, file or fsspec URL (s3://bucket/prefix)")
    catalog_arg(p)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--scheduler", metavar="ADDR", help="an existing Dask scheduler, e.g. tcp://host:8786")
    group.add_argument(
        "--workers", type=count(1, MAX_WORKERS), metavar="N", help="local worker processes (default: one per core)"
    )
    p.add_argument("--full", action="store_true", help="re-analyse every file, changed or not")
    key_method_arg(p)
    storage_arg(p)

    p = command("query", "run one read-only SQL statement against the catalog", cmd_query)
    p.add_argument("sql", metavar="SQL", help="one SELECT (or EXPLAIN) over samples, runs, removals")
    catalog_arg(p)
    format_arg(p)

    p = command("search", "find samples by key, tempo, kind or root note", cmd_search)
    p.add_argument("--key", help="any spelling: 'A minor', Am, 'c# min', 8A")
    p.add_argument(
        "--compatible",
        nargs="?",
        const=DEFAULT_COMPATIBLE_RULE,
        metavar="RULE",
        choices=COMPATIBLE_RULES,
        help=f"with --key: also harmonically compatible keys; RULE is one of {', '.join(COMPATIBLE_RULES)} "
        f"(when given without RULE: {DEFAULT_COMPATIBLE_RULE})",
    )
    p.add_argument("--bpm", type=_bpm_type, metavar="LO:HI", help="tempo range; half and double time match too")
    p.add_argument("--strict-bpm", action="store_true", help="with --bpm: the range only, not half or double time")
    p.add_argument("--kind", choices=("loop", "one-shot"), help="loops or one-shots only")
    p.add_argument(
        "--root", metavar="NOTE", help="root note of a one-shot in any spelling, octave optional: C#3, Db, f#"
    )
    p.add_argument(
        "--tuning-within",
        type=_cents_type,
        metavar="CENTS",
        help="pitched one-shots at most this far from equal temperament (A4 = 440 Hz)",
    )
    p.add_argument(
        "--declared",
        action="store_true",
        help="match --key, --bpm and --root against what the file's metadata or name declares, not the audio",
    )
    p.add_argument(
        "--limit", type=count(1, MAX_LIMIT), default=DEFAULT_SEARCH_LIMIT, metavar="N", help="most rows to print"
    )
    catalog_arg(p)
    format_arg(p)

    p = command("similar", "rank the catalog's samples by how much they sound like one sound", cmd_similar)
    p.add_argument(
        "target", metavar="FILE_OR_PATH", help="a path of the catalog, or any audio file or URL (analysed now)"
    )
    p.add_argument("--limit", type=count(1, MAX_LIMIT), default=DEFAULT_SEARCH_LIMIT, metavar="N")
    p.add_argument("--kind", choices=("loop", "one-shot"), help="loops or one-shots only")
    catalog_arg(p)
    storage_arg(p)
    format_arg(p)

    p = command("duplicates", "list groups of copies and what deleting them would free", cmd_duplicates)
    p.add_argument(
        "--near", action="store_true", help="also the same audio in other bytes (re-encoded, trimmed a little)"
    )
    catalog_arg(p)
    format_arg(p)

    p = command("serve", "a local web page to browse, filter and audition the catalog", cmd_serve)
    catalog_arg(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback: only this computer)")
    p.add_argument("--port", type=count(1, 65535), default=8765, metavar="N")
    storage_arg(p)

    p = command("plot", "draw the catalog (key wheel, tempo, loudness) or one file as PNG", cmd_plot)
    p.add_argument("file", nargs="?", metavar="FILE", help="one audio file or URL: waveform, spectrogram, key scores")
    catalog_arg(p)
    p.add_argument("--out", default="plots", metavar="DIR", help="folder for the PNGs")
    key_method_arg(p)
    storage_arg(p)

    p = command("compact", "fold the parts written since the last compaction into one sorted base", cmd_compact)
    catalog_arg(p)

    p = command("check", "verify every catalog file's checksum (exit 1 if one is damaged or foreign)", cmd_check)
    p.add_argument(
        "--repair",
        action="store_true",
        help="move damaged and foreign files to quarantine/ (the next index re-analyses their files)",
    )
    catalog_arg(p)

    p = command("analyze", "analyse files or URLs and print their rows (no catalog)", cmd_analyze)
    p.add_argument("files", nargs="+", metavar="FILE_OR_URL")
    key_method_arg(p)
    storage_arg(p)
    format_arg(p)

    p = command("train", "train the key CNN on synthetic material and/or labelled datasets", cmd_train)
    p.add_argument(
        "datasets",
        nargs="*",
        metavar="DATASET",
        help="labelled audio: a path,key CSV, a GiantSteps Key or GiantSteps-MTG folder",
    )
    p.add_argument(
        "--synthetic",
        action="store_true",
        help="also train on the rendered synthetic set (the default when no DATASET is given)",
    )
    p.add_argument(
        "--features", default="data/train-synth.npz", metavar="PATH", help="cache of the synthetic set's features"
    )
    p.add_argument("--out", default="runs/keycnn", metavar="DIR", help="log, plots and checkpoints; rerun to resume")
    p.add_argument("--epochs", type=count(1, 10_000), default=6, metavar="N")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--processes", type=count(1, MAX_WORKERS), default=2, metavar="N", help="rendering processes")
    p.add_argument(
        "--max-steps", type=count(1, 10**9), default=None, metavar="N", help="cap the steps per epoch (smoke tests)"
    )
    p.add_argument("--export", metavar="PATH", help="copy the best weights here (models/keycnn.npz ships)")
    p.add_argument(
        "--from-catalog",
        action="append",
        default=[],
        metavar="CATALOG",
        help="also train on a catalog's files labelled by the key their pack declares (declared_key), repeatable; "
        "alone, it fine-tunes the shipped weights",
    )
    p.add_argument(
        "--library",
        action="append",
        default=[],
        metavar="DIR",
        help="also train on music played through the recorded instruments and drum kits in this folder "
        "(multisample libraries, one note or hit per file), repeatable",
    )
    p.add_argument(
        "--library-features",
        default="data/train-library.npz",
        metavar="PATH",
        help="cache of the set played through --library folders",
    )
    p.add_argument("--init", metavar="NPZ", help="start from these weights (keycnn.npz) instead of random ones")
    p.add_argument(
        "--lr", type=float, metavar="RATE", help=f"learning rate (default {FINE_TUNE_LR:g} when fine-tuning, else 3e-3)"
    )
    p.add_argument(
        "--no-key-ratio",
        type=_ratio_type,
        metavar="R",
        help='write this "no key" ratio (0 < R <= 1: no key wins at R times the best key\'s probability) '
        "instead of the one chosen on the validation split",
    )
    storage_arg(p)

    p = command("train-tempo", "refit the tempo scorer on a catalog's loops that declare their tempo", cmd_train_tempo)
    p.add_argument(
        "--from-catalog",
        action="append",
        required=True,
        metavar="CATALOG",
        help="a catalog whose loops' names or tags declare a tempo (declared_bpm), repeatable",
    )
    p.add_argument(
        "--out",
        default="runs/tempolevel.npz",
        metavar="PATH",
        help="where the weights go (models/tempolevel.npz is the scorer index uses)",
    )
    p.add_argument("--loops", type=count(1, 100_000), default=3000, metavar="N", help="development loops beside yours")
    p.add_argument("--songs", type=count(0, 10_000), default=200, metavar="N", help="development song excerpts")
    p.add_argument("--seed", type=int, default=1, help="material seed of the development files")
    p.add_argument("--cache", default="data/tempolevel", metavar="DIR", help="rendered development files are kept here")
    storage_arg(p)

    p = command("evaluate", "score a key method on a labelled dataset", cmd_evaluate)
    p.add_argument("dataset", help="a path,key CSV, a GiantSteps Key or GiantSteps-MTG folder")
    key_method_arg(p)
    format_arg(p, ("text", "json"))
    p.add_argument("--confusion", metavar="PNG", help="also draw the confusion matrix into this PNG")
    p.add_argument("--weights", metavar="NPZ", help="with the CNN: these weights (a training run's keycnn.npz)")
    return parser


# -- errors ----------------------------------------------------------------------

_OS_REASONS = {
    errno.ENOSPC: "no space left on device",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EDQUOT: "disk quota exceeded",
}


def explain(exc: BaseException) -> tuple[int, str]:
    """The exit status and the one line a user sees for an exception."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted"
    if isinstance(exc, SampledexError):
        return exc.exit_code, str(exc)
    duckdb = sys.modules.get("duckdb")
    if duckdb is not None and isinstance(exc, duckdb.Error):
        return EXIT_FAILED, f"SQL: {exc}"
    botocore = sys.modules.get("botocore.exceptions")
    if botocore is not None:
        if isinstance(exc, botocore.NoCredentialsError):
            return EXIT_FAILED, (
                "S3: no credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "use --storage-option profile=NAME, or --storage-option anon=true for a public bucket"
            )
        if isinstance(exc, (botocore.EndpointConnectionError, botocore.ConnectTimeoutError)):
            return EXIT_FAILED, f"S3: cannot reach the endpoint: {exc}"
    if isinstance(exc, OSError):
        reason = _OS_REASONS.get(exc.errno or 0) or exc.strerror or str(exc) or type(exc).__name__
        where = f": {exc.filename}" if exc.filename else ""
        return EXIT_FAILED, f"{reason}{where}"
    return EXIT_FAILED, f"unexpected error: {type(exc).__name__}: {exc} (run with --debug for the traceback)"


def _log_warnings_as_lines() -> None:
    """The ``sampledex`` logger's warnings (a catalog file left out, …) as ``sampledex: warning: …`` lines."""
    import logging

    logger = logging.getLogger("sampledex")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("sampledex: warning: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "compatible", None) and not args.key:
        _say("search: --compatible needs --key")
        return EXIT_USAGE
    debug = args.debug or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    _log_warnings_as_lines()
    try:
        return args.func(args)
    except BrokenPipeError:
        # the reader went away (`| head`): stop quietly, and keep Python from complaining at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (Exception, KeyboardInterrupt) as exc:
        if debug:
            traceback.print_exc()
        code, message = explain(exc)
        _say(message)
        return code


if __name__ == "__main__":
    sys.exit(main())

"""``make bench-catalog``: a 1,000,000-row catalog written in realistic parts, then timed.

Times, in this process and from the command line as a user runs it: a key +
compatible + BPM search, a GROUP BY key, an incremental commit of 10,000 changed
and 1,000 deleted rows, a compaction, and ``query "SELECT 1"``. A command, not a
test: the figures vary with the machine's load, so each is the median of a few runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

from sampledex.models import keys
from sampledex.pipeline import catalog as catalog_mod
from sampledex.pipeline import schema

SEARCH = ["--key", "Am", "--compatible", "--bpm", "120:128", "--limit", "50"]


def fake_rows(n: int, *, seed: int, start: int = 0, stamp: str = "2026-01-01", embeddings: bool = False) -> pa.Table:
    """``n`` rows shaped like a sample library's: ~40 % loops with a tempo, ~30 % keyless, paths in pack
    folders; with ``embeddings``, seeded random unit vectors in ``embedding`` (drawn from a generator of
    their own, so the other columns are the same either way); every other column of the schema NULL."""
    rng = np.random.default_rng(seed)
    ids = np.arange(start, start + n)
    loop = rng.random(n) < 0.4
    keyed = rng.random(n) < 0.7
    key_index = rng.integers(0, keys.NUM_KEYS, n)
    when = (np.datetime64(stamp) + rng.integers(0, 86_400_000, n).astype("timedelta64[ms]")).astype("datetime64[us]")
    names = np.array(keys.KEY_NAMES, dtype=object)[key_index]
    codes = np.array([keys.camelot(k) for k in range(keys.NUM_KEYS)], dtype=object)[key_index]
    values = {
        "path": [f"/library/pack{i // 500:05d}/sample_{i:07d}.wav" for i in ids],
        "source": ["/library"] * n,
        "size_bytes": rng.integers(10_000, 5_000_000, n),
        "mtime": when,
        "content_hash": [f"{h:032x}" for h in rng.integers(0, 2**62, n)],
        "format": ["wav"] * n,
        "sample_rate": np.full(n, 44100),
        "channels": np.full(n, 2),
        "duration_s": rng.uniform(0.2, 16, n),
        "kind": np.where(loop, "loop", "one-shot"),
        "key": [k if has else None for k, has in zip(names, keyed)],
        "key_confidence": [c if has else None for c, has in zip(rng.uniform(0.3, 1.0, n), keyed)],
        "camelot": [c if has else None for c, has in zip(codes, keyed)],
        "bpm": [
            b if is_loop else None
            for b, is_loop in zip(rng.choice([90, 120, 124, 128, 140, 150, 174], n) + rng.normal(0, 0.3, n), loop)
        ],
        "loudness_lufs": rng.uniform(-30, -6, n),
        "peak_dbfs": rng.uniform(-12, 0, n),
        "analysis_version": ["f2+cnn-bench"] * n,
        "indexed_at": when,
    }
    if embeddings:
        vectors = np.random.default_rng([seed, 1]).standard_normal((n, schema.EMBEDDING_DIM)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        values["embedding"] = pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), schema.EMBEDDING_DIM)
    return pa.table(
        {
            f.name: (
                pa.array(values[f.name], type=f.type, from_pandas=True) if f.name in values else pa.nulls(n, f.type)
            )
            for f in schema.SAMPLES
        },
        schema=schema.SAMPLES,
    )


def build(catalog: catalog_mod.Catalog, rows: int, parts: int, *, embeddings: bool = False) -> None:
    """``rows`` fake rows (:func:`fake_rows`) written in ``parts`` parts, then a line saying how big and how fast."""
    t0 = time.perf_counter()
    catalog.create()
    per = rows // parts
    for p in range(parts):
        catalog.write("samples", fake_rows(per, seed=p, start=p * per, embeddings=embeddings), f"part-{p:05d}")
    size_mb = sum(f.stat().st_size for f in catalog.root.rglob("*.parquet")) / 2**20
    with_what = " with random unit embeddings" if embeddings else ""
    print(
        f"catalog: {rows:,} rows{with_what} in {parts} parts, {size_mb:.0f} MB, written in "
        f"{time.perf_counter() - t0:.1f} s"
    )


def median_s(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--parts", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    from sampledex.pipeline import cli

    sampledex = str(Path(sys.executable).with_name("sampledex"))
    with tempfile.TemporaryDirectory() as tmp:
        catalog = catalog_mod.Catalog(Path(tmp) / "catalog")
        build(catalog, args.rows, args.parts)
        search_args = cli.build_parser().parse_args(["search", *SEARCH, "--catalog", str(catalog.root)])

        def search(con) -> list:
            sql, params = cli.search_sql(search_args, con)
            return con.execute(sql, params).fetchall()

        def results(command_line: bool = True) -> dict[str, float]:
            con = catalog.connect(read_only=True)
            figures = {
                "search, in-process": median_s(lambda: search(con), args.repeats),
                "GROUP BY key, in-process": median_s(
                    lambda: con.sql("SELECT key, count(*) FROM samples GROUP BY key").fetchall(), args.repeats
                ),
            }
            if not command_line:
                return figures
            return {
                **figures,
                "search, command line": median_s(
                    lambda: subprocess.run(
                        [sampledex, "search", *SEARCH, "--catalog", str(catalog.root)],
                        check=True,
                        stdout=subprocess.DEVNULL,
                    ),
                    args.repeats,
                ),
                "query 'SELECT 1', command line": median_s(
                    lambda: subprocess.run(
                        [sampledex, "query", "SELECT 1", "--catalog", str(catalog.root)],
                        check=True,
                        stdout=subprocess.DEVNULL,
                    ),
                    args.repeats,
                ),
            }

        figures = {f"{k}, {args.parts} parts, not compacted": v for k, v in results(command_line=False).items()}
        t0 = time.perf_counter()
        with catalog.lock():
            catalog.compact(force=True)
        figures["compaction of 1,000,000 rows"] = time.perf_counter() - t0
        figures.update({f"{k}, compacted": v for k, v in results().items()})
        changed = fake_rows(10_000, seed=999, start=0, stamp="2026-02-01")
        removed = pa.table(
            {
                "path": [f"/library/pack{i // 500:05d}/sample_{i:07d}.wav" for i in range(500_000, 501_000)],
                "removed_at": pa.array(np.full(1000, np.datetime64("2026-02-01"), "datetime64[us]")),
            }
        )
        t0 = time.perf_counter()
        with catalog.lock():
            catalog.write("samples", changed, "part-changed")
            catalog.write("removals", removed.cast(schema.REMOVALS), "removed-bench")
        figures["commit of 10,000 changed + 1,000 deleted rows"] = time.perf_counter() - t0
        figures.update({f"{k}, base + that delta": v for k, v in results().items()})
        count = catalog_mod.scalar(catalog.connect(), "SELECT count(*) FROM samples")
        print(f"rows visible at the end: {count:,} (expected {args.rows - 1000:,})")
        for name, seconds in figures.items():
            print(f"{name:55s} {seconds:8.3f} s")


if __name__ == "__main__":
    main()

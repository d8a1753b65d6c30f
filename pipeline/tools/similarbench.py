"""``make bench-similar``: what "more like this" and duplicate finding cost, in time and in catalog bytes.

A command, not a test: the figures vary with the machine's load, so each time is the median of a few runs.
It measures

- on a catalog of ``--rows`` fake rows (:func:`catalogbench.fake_rows` with seeded random unit vectors in
  ``embedding``), written in ``--parts`` parts and then compacted: ``similar`` in this process (the target's
  row looked up by path, every row ranked: :func:`similar.find_target` and :func:`similar.similar` on one
  connection), ``sampledex similar PATH --catalog …`` from the command line (the wall time a user sees,
  Python's start included), and, compacted, the ``duplicates`` view with near-copies as ``sampledex
  duplicates --near`` reads it (:func:`similar.duplicate_groups` with ``near``; fewer runs, it is slow);
- on a seeded benchmark library of ``--files`` files (:func:`demo.bench_specs`), analysed one file at a
  time in this process with BLAS on one thread, as a Dask worker runs: :func:`analyze.describe` per file,
  and apart from it what the embedding adds, ``embedding.embed(strength, S)`` given the onset bands and
  the spectrogram that the other estimators share (their cost is not the embedding's); files/s with and
  without that step and their ratio (target ≥ 0.9);
- that library indexed by ``sampledex index``: the bytes per row the ``embedding`` column takes in the
  catalog's Parquet files (compressed size of its column chunks over rows, from the footers), as the index
  wrote them and after ``sampledex compact`` (target ≤ 1 KiB per row).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

import pyarrow.parquet as pq
from threadpoolctl import threadpool_limits

from sampledex.models import embedding, frontend, onsets
from sampledex.pipeline import analyze, decode, similar
from sampledex.pipeline import catalog as catalog_mod

from . import demo
from .catalogbench import build, fake_rows, median_s

#: targets of the issue
TARGET_RATIO = 0.9
TARGET_BYTES_PER_ROW = 1024


def embedding_bytes_per_row(catalog: catalog_mod.Catalog) -> tuple[float, int, int]:
    """(bytes per row, rows, files) of the ``embedding`` column in the catalog's current sample files (base and
    parts), from the Parquet footers: total compressed size of its column chunks over the rows."""
    files = catalog.snapshot().files
    total = rows = count = 0
    for path in files["base"] + files["samples"]:
        meta = pq.ParquetFile(path).metadata
        if meta.num_rows == 0:
            continue  # the package's empty schema file that ends every list
        count += 1
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            rows += group.num_rows
            for c in range(group.num_columns):
                column = group.column(c)
                if column.path_in_schema.split(".")[0] == "embedding":
                    total += column.total_compressed_size
    return total / max(rows, 1), rows, count


def catalog_times(
    catalog: catalog_mod.Catalog, target: str, repeats: int, sampledex: str, *, duplicates: bool
) -> dict[str, float]:
    """Seconds (medians) of ``similar`` in this process and from the command line, and with ``duplicates`` of
    the ``duplicates`` view with near-copies (fewer runs: it is the slow one)."""
    con = catalog.connect(read_only=True)

    def similar_in_process() -> list:
        return similar.similar(con, similar.find_target(con, target), limit=10)[1]

    assert len(similar_in_process()) == 10
    figures = {
        "similar, in-process": median_s(similar_in_process, repeats),
        "sampledex similar PATH, command line": median_s(
            lambda: subprocess.run(
                [sampledex, "similar", target, "--catalog", str(catalog.root)], check=True, stdout=subprocess.DEVNULL
            ),
            repeats,
        ),
    }
    if duplicates:
        figures["sampledex query 'SELECT 1', command line (the fixed cost)"] = median_s(
            lambda: subprocess.run(
                [sampledex, "query", "SELECT 1", "--catalog", str(catalog.root)], check=True, stdout=subprocess.DEVNULL
            ),
            repeats,
        )
        groups: list = []
        figures["duplicates --near view, in-process"] = median_s(
            lambda: groups.append(similar.duplicate_groups(con, near=True)), max(repeats // 2, 1)
        )
        print(f"(duplicates --near: {len(groups[-1])} group(s) among the random vectors)")
    return figures


def analysis_times(folder: Path, repeats: int) -> tuple[float, float, int]:
    """(seconds of ``describe``, seconds of the embedding step alone, files): per-file medians, summed."""
    analyze.warm_up()
    embedding.reference_stats()
    describe_s = embed_s = 0.0
    files = sorted(p for p in folder.iterdir() if p.suffix in (".wav", ".flac", ".mp3"))
    with threadpool_limits(1):
        for path in files:
            data = path.read_bytes()
            describe_s += median_s(partial(analyze.describe, data, name=str(path)), repeats)
            mono = decode.to_analysis_mono(decode.decode(data))
            strength, S = onsets.onset_strength(mono), frontend.logfreq_spectrogram(mono)
            embed_s += median_s(partial(embedding.embed, strength, S), max(repeats, 5))
    return describe_s, embed_s, len(files)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--parts", type=int, default=10)
    parser.add_argument("--files", type=int, default=100, help="files of the seeded bench library")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    sampledex = str(Path(sys.executable).with_name("sampledex"))
    with tempfile.TemporaryDirectory() as tmp:
        catalog = catalog_mod.Catalog(Path(tmp) / "catalog")
        build(catalog, args.rows, args.parts, embeddings=True)
        target = fake_rows(1, seed=0, start=args.rows // 2)["path"][0].as_py()
        parted = catalog_times(catalog, target, args.repeats, sampledex, duplicates=False)
        figures = {f"{k}, {args.parts} parts": v for k, v in parted.items()}
        with catalog.lock():
            catalog.compact(force=True)
        compacted = catalog_times(catalog, target, args.repeats, sampledex, duplicates=True)
        figures.update({f"{k}, compacted": v for k, v in compacted.items()})
        for name, seconds in figures.items():
            print(f"{name:72s} {seconds:8.3f} s")
        per_row, rows, files = embedding_bytes_per_row(catalog)
        print(f"embedding column of this catalog (random vectors, compacted): {per_row:.0f} bytes/row ({rows:,} rows)")

        library = demo.write_library(Path(tmp) / "library", demo.bench_specs(args.files))
        describe_s, embed_s, n = analysis_times(library, max(args.repeats // 2, 3))
        with_embedding, without = n / describe_s, n / (describe_s - embed_s)
        print(
            f"\nanalysis of {n} bench files, one thread: describe {1000 * describe_s / n:.1f} ms/file, of which the "
            f"embedding step {1000 * embed_s / n:.2f} ms/file ({100 * embed_s / describe_s:.1f} %)"
        )
        print(f"files/s with the embedding {with_embedding:.1f}, without {without:.1f}")
        ratio = with_embedding / without
        print(f"ratio {ratio:.3f} (target >= {TARGET_RATIO}): {'met' if ratio >= TARGET_RATIO else 'NOT MET'}")

        indexed = catalog_mod.Catalog(Path(tmp) / "indexed")
        subprocess.run(
            [sampledex, "index", str(library), "--catalog", str(indexed.root), "--workers", "2"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for state in ("as indexed", "compacted"):
            if state == "compacted":
                subprocess.run(
                    [sampledex, "compact", "--catalog", str(indexed.root)], check=True, stdout=subprocess.DEVNULL
                )
            per_row, rows, files = embedding_bytes_per_row(indexed)
            verdict = "met" if per_row <= TARGET_BYTES_PER_ROW else "NOT MET"
            print(
                f"embedding column of the indexed bench library, {state} ({rows} rows in {files} file(s)): "
                f"{per_row:.0f} bytes/row (target <= {TARGET_BYTES_PER_ROW}): {verdict}"
            )


if __name__ == "__main__":
    main()

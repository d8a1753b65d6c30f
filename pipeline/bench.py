"""``make bench``: throughput of ``sampledex index`` against a single-process loop, same files, same run.

Not a test: these machines are shared and noisy, so the figure that means
something is the ratio of the two, measured back to back in one process.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import fsspec
from threadpoolctl import threadpool_limits

from . import analyze, catalog as catalog_mod, demo, graph, sources


def single_process_loop(folder: str, method: str) -> tuple[float, float, int]:
    """Analyse every file of ``folder`` in this process; (seconds, audio seconds, files).

    BLAS runs single-threaded here as in a Dask worker: OpenBLAS threads would
    not speed this loop up (measured) but would make it spin on the second core.
    """
    fs = fsspec.filesystem("file")
    entries = sources.list_source(folder)
    analyze.warm_up(method)
    t0 = time.perf_counter()
    with threadpool_limits(1):
        rows = [analyze.analyze_entry(fs, e, method=method) for e in entries]
    elapsed = time.perf_counter() - t0
    return elapsed, sum(r.get("duration_s") or 0.0 for r in rows), len(rows)


def index_run(folder: str, method: str, workers: int | None) -> tuple[graph.RunSummary, float]:
    """A full ``index`` run into a fresh catalog; (summary, audio seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        catalog = catalog_mod.Catalog(os.path.join(tmp, "catalog"))
        summary = graph.run_index([folder], catalog, workers=workers, method=method, progress=False)
        audio_s = catalog.query("SELECT coalesce(sum(duration_s), 0) FROM samples").fetchall()[0][0]
    return summary, audio_s


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=500, help="library size (default 500)")
    parser.add_argument("--folder", default="bench-library")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--key-method", default=analyze.DEFAULT_KEY_METHOD, choices=analyze.KEY_METHODS)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    folder = str(demo.write_library(args.folder, demo.bench_specs(args.files, seed=args.seed)))
    print(f"library: {args.files} files in {folder} (ready in {time.perf_counter() - t0:.1f} s); "
          f"{os.cpu_count()} cores; key method {args.key_method}")

    loop_s, loop_audio, n = single_process_loop(folder, args.key_method)
    summary, audio_s = index_run(folder, args.key_method, args.workers)
    files = summary.analysed + summary.failed
    loop_fps = n / loop_s
    rows = [
        ("single-process loop", loop_s, n / loop_s, loop_audio / loop_s, 1.0),
        ("sampledex index, end to end", summary.elapsed_s, files / summary.elapsed_s,
         audio_s / summary.elapsed_s, files / summary.elapsed_s / loop_fps),
        ("sampledex index, workers up", summary.analysis_s, summary.analysis_files_per_s,
         audio_s / summary.analysis_s, summary.analysis_files_per_s / loop_fps),
    ]
    print(f"{'':30s} {'seconds':>8s} {'files/s':>8s} {'audio-s/s':>10s} {'vs loop':>8s}")
    for name, secs, fps, aps, ratio in rows:
        print(f"{name:30s} {secs:8.2f} {fps:8.1f} {aps:10.1f} {ratio:7.2f}x")
    print(f"(index: workers started in {summary.startup_s:.2f} s; {summary.failed} failed files)")


if __name__ == "__main__":
    main()

"""``make bench``: throughput of ``sampledex index`` against a single-process loop, same files, same run.

Not a test: these machines are shared and noisy, so the figure that means
something is the ratio of the two, measured back to back in one process (and,
with several key methods, their single-process loops taking turns batch by batch).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections.abc import Iterator

import fsspec
from threadpoolctl import threadpool_limits

from sampledex.pipeline import analyze, run, sources
from sampledex.pipeline import catalog as catalog_mod

from . import demo

#: files per turn, when several key methods (or revisions, ``make bench-against``) take turns
BATCH = 25


def turns(count: int, sides: int, batch: int = BATCH) -> Iterator[tuple[int, int, int]]:
    """``(start, end, side)`` of each turn when ``sides`` take turns on ``count`` files, ``batch`` at a time, who goes
    first alternating: the order in which a drift of the machine's speed falls on every side alike."""
    for n, start in enumerate(range(0, count, batch)):
        for side in range(sides) if n % 2 == 0 else reversed(range(sides)):
            yield start, min(start + batch, count), side


def single_process_loops(folder: str, methods: list[str]) -> dict[str, tuple[float, float, int]]:
    """Analyse every file of ``folder`` in this process with each key method; per method (seconds, audio
    seconds, files).

    The methods take turns on batches of :data:`BATCH` files (who goes first alternating), so that a drift of
    this shared machine's speed, a third within an hour at times, falls on every method alike instead of on
    whichever ran second. BLAS runs single-threaded here as in a Dask worker: OpenBLAS threads would not speed
    this loop up (measured) but would make it spin on the second core.
    """
    fs = fsspec.filesystem("file")
    entries = sources.list_source(folder)
    for method in methods:
        analyze.warm_up(method)
    spent = dict.fromkeys(methods, 0.0)
    audio = dict.fromkeys(methods, 0.0)
    with threadpool_limits(1):
        for start, end, side in turns(len(entries), len(methods)):
            method = methods[side]
            t0 = time.perf_counter()
            rows = [analyze.analyze_entry(fs, e, method=method) for e in entries[start:end]]
            spent[method] += time.perf_counter() - t0
            audio[method] += sum(r.get("duration_s") or 0.0 for r in rows)
    return {method: (spent[method], audio[method], len(entries)) for method in methods}


def peak_rss_kib() -> int:
    """Peak resident set size of the calling process so far, in KiB.

    Read from ``VmHWM`` in ``/proc/self/status``: ``ru_maxrss`` carries a forked
    parent's peak over into the child, which would inflate a worker's figure.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def index_run(folder: str, method: str, workers: int | None) -> tuple[run.RunSummary, float, float, list[float]]:
    """A full ``index`` run into a fresh catalog on a local cluster started here.

    Returns (summary, audio seconds, cluster start seconds, peak RSS of each worker process in MiB).
    The cluster is made here rather than by ``run_index`` so that its workers can be asked
    for their peak RSS before it closes; its start time belongs to the end-to-end figure.
    """
    with tempfile.TemporaryDirectory() as tmp:
        catalog = catalog_mod.Catalog(os.path.join(tmp, "catalog"))
        t0 = time.perf_counter()
        with run.dask_client(None, workers) as client:
            cluster_s = time.perf_counter() - t0
            summary = run.run_index([folder], catalog, client=client, method=method, progress=False)
            rss_kib = client.run(peak_rss_kib)
        audio_s = catalog.query("SELECT coalesce(sum(duration_s), 0) FROM samples").fetchall()[0][0]
    return summary, audio_s, cluster_s, [rss_kib[w] / 1024 for w in sorted(rss_kib)]


def bench_method(folder: str, method: str, workers: int | None, loop: tuple[float, float, int]) -> dict[str, float]:
    """The index run for one key method beside its single-process ``loop`` (:func:`single_process_loops`); prints
    their table and returns files/s of each: ``loop``, ``end to end`` and ``workers up``."""
    loop_s, loop_audio, n = loop
    summary, audio_s, cluster_s, worker_rss = index_run(folder, method, workers)
    files = summary.analysed + summary.failed
    end_to_end_s = cluster_s + summary.elapsed_s
    loop_fps = n / loop_s
    rows = [
        ("single-process loop", loop_s, n / loop_s, loop_audio / loop_s, 1.0),
        (
            "sampledex index, end to end",
            end_to_end_s,
            files / end_to_end_s,
            audio_s / end_to_end_s,
            files / end_to_end_s / loop_fps,
        ),
        (
            "sampledex index, workers up",
            summary.analysis_s,
            summary.analysis_files_per_s,
            audio_s / summary.analysis_s,
            summary.analysis_files_per_s / loop_fps,
        ),
    ]
    print(f"\nkey method {method}")
    print(f"{'':30s} {'seconds':>8s} {'files/s':>8s} {'audio-s/s':>10s} {'vs loop':>8s}")
    for name, secs, fps, aps, ratio in rows:
        print(f"{name:30s} {secs:8.2f} {fps:8.1f} {aps:10.1f} {ratio:7.2f}x")
    print(f"(index: workers started in {cluster_s + summary.startup_s:.2f} s; {summary.failed} failed files)")
    print("worker peak RSS: " + ", ".join(f"{mib:.0f} MiB" for mib in worker_rss))
    return {"loop": loop_fps, "end to end": files / end_to_end_s, "workers up": summary.analysis_files_per_s}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=500, help="library size (default 500)")
    parser.add_argument("--folder", default="bench-library")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument(
        "--key-method",
        nargs="+",
        default=[analyze.DEFAULT_KEY_METHOD],
        choices=analyze.KEY_METHODS,
        help="one or more; with several, each is compared with the first, measured in this run",
    )
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    folder = str(demo.write_library(args.folder, demo.bench_specs(args.files, seed=args.seed)))
    print(
        f"library: {args.files} files in {folder} (ready in {time.perf_counter() - t0:.1f} s); "
        f"{os.cpu_count()} cores; key methods {', '.join(args.key_method)}"
    )
    loops = single_process_loops(folder, args.key_method)
    figures = {method: bench_method(folder, method, args.workers, loops[method]) for method in args.key_method}
    base = args.key_method[0]
    for method in args.key_method[1:]:
        print(
            f"\n{method} against {base}, files/s: "
            + ", ".join(
                f"{name} {figures[method][name]:.1f} / {figures[base][name]:.1f} = "
                f"{figures[method][name] / figures[base][name]:.2f}x"
                for name in ("loop", "end to end", "workers up")
            )
        )
    print(f"(this process: the single-process loops, then the Dask clients: peak RSS {peak_rss_kib() / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()

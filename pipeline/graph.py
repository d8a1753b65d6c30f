"""The ``index`` run: manifest ──► diff against the catalog ──► partitions ──► Dask ──► Parquet parts.

Partitions are the unit of work, of retry and of output. Each is one Dask task
that reads and analyses its files on a worker and returns their rows; the
client writes each as one catalog part the moment it arrives, so an
interrupted run keeps every finished partition and the next run only analyses
what is left.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Iterator

import pyarrow as pa

from . import analyze, catalog as catalog_mod, schema, sources
from .sources import FileEntry

#: errors that say nothing about the file itself: such rows are retried next run
TRANSIENT_ERRORS = ("read failed:", "worker failed:")
#: files per partition: big enough to amortise a task's overhead, small enough to balance 2 workers
MAX_PARTITION_SIZE = 64
MIN_PARTITION_SIZE = 4


@dataclass
class Plan:
    """What a run has to do, from the manifest and the catalog's current rows."""

    analyse: list[FileEntry] = field(default_factory=list)
    unchanged: list[FileEntry] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


@dataclass
class RunSummary:
    run_id: str
    started_at: object
    finished_at: object = None
    seen: int = 0
    analysed: int = 0
    skipped: int = 0
    failed: int = 0
    removed: int = 0
    elapsed_s: float = 0.0
    startup_s: float = 0.0
    analysis_s: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def files_per_s(self) -> float:
        """Files read (analysed or failed) per second of the whole run, cluster start-up included."""
        return (self.analysed + self.failed) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def analysis_files_per_s(self) -> float:
        """Files read (analysed or failed) per second once the workers are up."""
        return (self.analysed + self.failed) / self.analysis_s if self.analysis_s > 0 else 0.0

    def record(self) -> pa.Table:
        return pa.Table.from_pylist([{
            "run_id": self.run_id, "started_at": self.started_at, "finished_at": self.finished_at,
            "seen": self.seen, "analysed": self.analysed, "skipped": self.skipped,
            "failed": self.failed, "removed": self.removed, "files_per_s": self.files_per_s,
        }], schema=schema.RUNS)

    def text(self) -> str:
        lines = [
            f"files seen {self.seen}, analysed {self.analysed}, skipped {self.skipped} (unchanged), "
            f"failed {self.failed}, removed {self.removed}",
            f"elapsed {self.elapsed_s:.1f} s (workers start {self.startup_s:.1f} s, analysis "
            f"{self.analysis_s:.1f} s), {self.files_per_s:.1f} files/s "
            f"({self.analysis_files_per_s:.1f} files/s once started)",
        ]
        lines += [f"  failed: {path}: {why}" for path, why in self.failures[:20]]
        if len(self.failures) > 20:
            lines.append(f"  … and {len(self.failures) - 20} more: "
                         "sampledex query \"SELECT path, error FROM samples WHERE error IS NOT NULL\"")
        return "\n".join(lines)


def plan(manifest: list[FileEntry], current: dict[str, tuple], version: str, *, full: bool = False) -> Plan:
    """Split a manifest into files to analyse and files whose row is current.

    A row is current when the file's size, mtime and ETag are those it was
    analysed with, by the same analysis version, and its error (if any) was
    about the file and not about reading it. Paths in the catalog that the
    manifest no longer lists are removed.
    """
    result = Plan()
    for entry in manifest:
        row = current.get(entry.path)
        if full or row is None or not _is_current(entry, row, version):
            result.analyse.append(entry)
        else:
            result.unchanged.append(entry)
    listed = {e.path for e in manifest}
    result.removed = sorted(p for p in current if p not in listed)
    return result


def _is_current(entry: FileEntry, row: tuple, version: str) -> bool:
    size, mtime, etag, _hash, row_version, error = row
    if error and error.startswith(TRANSIENT_ERRORS):
        return False
    return (size, mtime, etag, row_version) == (entry.size, entry.mtime, entry.etag, version)


#: decoding cost per byte relative to PCM: compressed formats hold more audio per byte
_COST_PER_BYTE = {".mp3": 8.0, ".ogg": 8.0, ".oga": 8.0, ".flac": 2.0}


def estimated_cost(entry: FileEntry) -> float:
    """Relative analysis cost of a file, from its size and format (for load balance only)."""
    return entry.size * _COST_PER_BYTE.get(os.path.splitext(entry.path)[1].lower(), 1.0) + 4096


def partitions(entries: list[FileEntry], workers: int) -> list[list[FileEntry]]:
    """Groups of files of about equal cost, about eight per worker, within size bounds; costliest first.

    Libraries cluster long loops in one folder and short hits in another, so
    cutting the sorted path list into runs would leave one worker with all the
    long files at the end; instead the costliest file goes to the cheapest group.
    """
    if not entries:
        return []
    size = len(entries) // (8 * max(workers, 1))
    size = max(MIN_PARTITION_SIZE, min(MAX_PARTITION_SIZE, size))
    count = -(-len(entries) // size)
    heap = [(0.0, i) for i in range(count)]
    groups: list[list[FileEntry]] = [[] for _ in range(count)]
    for entry in sorted(entries, key=estimated_cost, reverse=True):
        cost, i = heapq.heappop(heap)
        groups[i].append(entry)
        heapq.heappush(heap, (cost + estimated_cost(entry), i))
    groups.sort(key=lambda g: sum(map(estimated_cost, g)), reverse=True)
    return [sorted(g, key=lambda e: e.path) for g in groups]


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator:
    """A client on an existing scheduler, or on a local cluster of single-threaded processes."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler, timeout="30s") as client:
            yield client
        return
    n = workers or os.cpu_count() or 1
    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in its workers, which turns off glibc's adaptive
    # mmap threshold: every multi-MB audio buffer is then mmapped and page-faulted afresh, and
    # the analysis runs about twice as slowly as in a plain process (measured by `make bench`).
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}), \
            LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                         silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


def _worker_count(client) -> int:
    return max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))


def _failed_partition_rows(entries: list[FileEntry], method: str, exc: BaseException) -> pa.Table:
    why = f"worker failed: {type(exc).__name__}: {exc}"
    rows = [{**analyze.identity_columns(e, method), "error": why} for e in entries]
    return pa.Table.from_pylist(rows, schema=schema.SAMPLES)


def run_index(urls: list[str], catalog: catalog_mod.Catalog, *, scheduler: str | None = None,
              workers: int | None = None, client=None, full: bool = False,
              method: str = analyze.DEFAULT_KEY_METHOD, storage_options: dict | None = None,
              progress: bool | None = None) -> RunSummary:
    """Index sources into a catalog; returns the run's summary (also written to ``runs``).

    ``client`` reuses a running Dask client (tests, notebooks); otherwise one is
    made from ``scheduler`` or a local cluster of ``workers`` processes.
    """
    from distributed import as_completed
    from tqdm import tqdm

    t0 = time.perf_counter()
    summary = RunSummary(run_id=uuid.uuid4().hex[:12], started_at=catalog_mod.utcnow())
    catalog.create()
    with catalog.lock():
        manifest = sources.list_sources(urls, storage_options)
        version = analyze.analysis_version(method)
        todo = plan(manifest, catalog.identities(), version, full=full)
        summary.seen, summary.skipped = len(manifest), len(todo.unchanged)
        fs_by_source = {}
        for url in urls:
            fs, root = sources.open_source(url, storage_options)
            fs_by_source[sources.catalog_path(fs, root)] = fs

        if todo.analyse:
            with contextlib.ExitStack() as stack:
                if client is None:
                    client = stack.enter_context(dask_client(scheduler, workers))
                client.run(analyze.warm_up, method)  # imports and model load, once per worker
                t_started = time.perf_counter()
                summary.startup_s = t_started - t0
                groups = [(fs_by_source[src], part)
                          for src in sorted({e.source for e in todo.analyse})
                          for part in partitions([e for e in todo.analyse if e.source == src],
                                                 _worker_count(client))]
                futures = {client.submit(analyze.analyze_partition, fs, part, method=method,
                                         retries=2, pure=False): part
                           for fs, part in groups}
                stamp = summary.started_at.strftime("%Y%m%dT%H%M%S")
                with tqdm(total=len(todo.analyse), unit="file", desc="indexing", disable=None if progress is None else not progress) as bar:
                    for seq, (future, table) in enumerate(as_completed(futures, with_results=True,
                                                                        raise_errors=False)):
                        part = futures[future]
                        if future.status == "error":
                            table = _failed_partition_rows(part, method, future.exception())
                        catalog.write("samples", table, f"part-{stamp}-{summary.run_id}-{seq:05d}")
                        errors = table.column("error").to_pylist()
                        failures = [(p, e) for p, e in zip(table.column("path").to_pylist(), errors) if e]
                        summary.failures += failures
                        summary.analysed += table.num_rows - len(failures)
                        bar.update(len(part))
                summary.analysis_s = time.perf_counter() - t_started

        summary.failed = len(summary.failures)
        if todo.removed:
            now = catalog_mod.utcnow()
            catalog.write("removals", pa.Table.from_pylist(
                [{"path": p, "removed_at": now} for p in todo.removed], schema=schema.REMOVALS),
                f"removed-{summary.started_at.strftime('%Y%m%dT%H%M%S')}-{summary.run_id}")
            summary.removed = len(todo.removed)
        summary.finished_at = catalog_mod.utcnow()
        summary.elapsed_s = time.perf_counter() - t0
        catalog.write("runs", summary.record(), f"run-{summary.started_at.strftime('%Y%m%dT%H%M%S')}-{summary.run_id}")
    return summary

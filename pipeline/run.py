"""The ``index`` run: plan (:mod:`plan`) ──► copies ──► partitions on Dask ──► Parquet parts ──► ``runs`` row.

Partitions are the unit of work, of retry and of output. Each is one Dask task
(a future submitted to the client, not a prebuilt graph) that reads and
analyses its files on a worker and returns their rows; the client writes each
as one catalog part the moment it arrives, so an interrupted run keeps every
finished partition and the next run only analyses what is left.

A killed run writes no ``runs`` row: that log holds finished runs and what
they did. The parts a killed run finished stay in the catalog (their names
carry its run id) and count as ``skipped`` for the run that follows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import fsspec
import pyarrow as pa

from sampledex.models.errors import SampledexError, UsageError

from . import analyze, schema, sources
from . import catalog as catalog_mod
from .plan import Reusable, estimated_cost, listed_hash, partitions, plan, read_cost, reusable
from .sources import FileEntry


@dataclass
class RunSummary:
    """What a run did, for the CLI's summary and the ``runs`` log.

    ``skipped`` counts every file that was not analysed because its analysis
    was already in the catalog: ``reused`` of them are new or changed files
    recognised by content hash (copies, moves, touched files) whose row was
    copied; the rest are unchanged. ``hashed`` counts files read only to
    compute that hash.
    """

    run_id: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    seen: int = 0
    analysed: int = 0
    skipped: int = 0
    reused: int = 0
    hashed: int = 0
    failed: int = 0
    truncated: int = 0
    removed: int = 0
    elapsed_s: float = 0.0
    startup_s: float = 0.0
    analysis_s: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    #: damaged or foreign catalog files moved to quarantine/ at the start: (file, why)
    quarantined: list[tuple[str, str]] = field(default_factory=list)
    compaction: catalog_mod.Compaction | None = None

    @property
    def stamp(self) -> str:
        """Start time (UTC, to the second) as it appears in the names of the run's files."""
        return self.started_at.strftime("%Y%m%dT%H%M%S")

    @property
    def files_per_s(self) -> float:
        """Files read (analysed or failed) per second of the whole run, cluster start-up included."""
        return (self.analysed + self.failed) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def analysis_files_per_s(self) -> float:
        """Files read (analysed or failed) per second once the workers are up."""
        return (self.analysed + self.failed) / self.analysis_s if self.analysis_s > 0 else 0.0

    def record(self) -> pa.Table:
        """The run's row of ``runs`` (its columns are a contract: ``reused`` is inside ``skipped``)."""
        return schema.table(
            [
                {
                    "run_id": self.run_id,
                    "started_at": self.started_at,
                    "finished_at": self.finished_at,
                    "seen": self.seen,
                    "analysed": self.analysed,
                    "skipped": self.skipped,
                    "failed": self.failed,
                    "removed": self.removed,
                    "files_per_s": self.files_per_s,
                }
            ],
            schema.RUNS,
        )

    def text(self) -> str:
        skipped = (
            f"{self.skipped - self.reused} unchanged, {self.reused} reused by content hash: copied, moved or touched"
            if self.reused
            else "unchanged"
        )
        lines = [
            f"files seen {self.seen}, analysed {self.analysed}, skipped {self.skipped} ({skipped}), "
            f"failed {self.failed}, removed {self.removed}",
            f"elapsed {self.elapsed_s:.1f} s (workers start {self.startup_s:.1f} s, analysis "
            f"{self.analysis_s:.1f} s), {self.files_per_s:.1f} files/s "
            f"({self.analysis_files_per_s:.1f} files/s once started)",
        ]
        if self.quarantined:
            first, why = self.quarantined[0]
            more = f" and {len(self.quarantined) - 1} more" if len(self.quarantined) > 1 else ""
            lines.insert(
                0, f"warning: quarantined {first} ({why}){more}; the files whose rows it held were analysed again"
            )
        if self.compaction:
            lines.append(self.compaction.text())
        if self.truncated:
            lines.append(
                f"truncated {self.truncated}: files holding less audio than their headers declare "
                "(see the notes and error columns)"
            )
        if self.hashed:
            lines.append(f"read {self.hashed} new or changed files to compare content hashes with the catalog")
        lines += [f"  failed: {path}: {why}" for path, why in self.failures[:20]]
        if len(self.failures) > 20:
            lines.append(
                f"  … and {len(self.failures) - 20} more: "
                'sampledex query "SELECT path, error FROM samples WHERE error IS NOT NULL"'
            )
        return "\n".join(lines)


def hash_files(fs: fsspec.AbstractFileSystem, entries: list[FileEntry]) -> list[str | None]:
    """Content hashes of files, read where this runs (a worker); None for a file that cannot be read.

    An unreadable file is then analysed, and its analysis records why it failed.
    """
    return [_read_hash(fs, entry) for entry in entries]


def _read_hash(fs: fsspec.AbstractFileSystem, entry: FileEntry) -> str | None:
    try:  # streamed: a worker's memory stays one chunk, however long the file
        with fs.open(entry.fs_path, "rb", block_size=analyze.STREAM_CHUNK_BYTES) as f:
            return analyze.stream_hash(f)
    except (OSError, ValueError):
        return None


def copied_rows(catalog: catalog_mod.Catalog, matches: list[tuple[FileEntry, str]], method: str) -> pa.Table:
    """Rows for files whose bytes the catalog has analysed under another path or identity.

    ``matches`` pairs each file with the catalog path whose row it copies: the
    analysis columns come from that row, the identity columns (path, source,
    size, mtime, ETag, version, indexed_at) from the file, as an analysis would set them.
    """
    originals = {r["path"]: r for r in catalog.rows(sorted({path for _, path in matches})).to_pylist()}
    rows = [{**originals[path], **analyze.identity_columns(entry, method)} for entry, path in matches]
    return schema.table(rows)


#: how long a run waits for an existing cluster to have at least one worker (s)
WORKER_WAIT_S = 60


class ClusterError(SampledexError, RuntimeError):
    """The Dask cluster asked for cannot run the work (unreachable, no workers)."""


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator:
    """A client on an existing scheduler, or on a local cluster of single-threaded processes."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            try:
                client.wait_for_workers(1, timeout=WORKER_WAIT_S)
            except TimeoutError:
                raise ClusterError(
                    f"the Dask scheduler at {scheduler} has no workers (waited {WORKER_WAIT_S} s)"
                ) from None
            yield client
        return
    n = (os.cpu_count() or 1) if workers is None else workers
    if n < 1:
        raise UsageError(f"--workers {n}: need at least 1 local worker process")
    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in its workers, which turns off glibc's adaptive
    # mmap threshold: every multi-MB audio buffer is then mmapped and page-faulted afresh, and
    # the analysis runs about twice as slowly as in a plain process (measured by `make bench`).
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        with _workers_ignore_ctrl_c():
            cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                # any free port: a busy 8787 (another run, a notebook) printed a warning
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                # the local cluster is ours: its workers' teardown chatter (heartbeats to a closed scheduler
                # after a failed run) is noise; failures of the analysis itself are rows
                silence_logs=logging.CRITICAL,
            )
    with cluster, Client(cluster) as client:
        try:
            yield client
        except KeyboardInterrupt:
            # the user asked to stop: tearing the cluster down mid-task is expected, not worth a log line
            logging.disable(logging.CRITICAL)
            raise


@contextlib.contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Ctrl-C reaches the whole process group: local workers started inside this block ignore it
    (they inherit the disposition), so only the CLI answers it, with one line, and stops them.

    The price: a Ctrl-C pressed while the workers start (a second or two) is lost, and a second
    one is needed. Blocking SIGINT instead would keep it pending, but the workers' processes do
    not inherit a blocked mask, and each then prints its own KeyboardInterrupt traceback.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _worker_count(client) -> int:
    return max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))


def _filesystems(urls: list[str], storage_options: dict | None) -> dict[str, fsspec.AbstractFileSystem]:
    """Each source's filesystem, by the source's catalog spelling (``FileEntry.source``)."""
    result = {}
    for url in urls:
        fs, root = sources.open_source(url, storage_options)
        result[sources.catalog_path(fs, root)] = fs
    return result


def _tasks(
    entries: list[FileEntry], filesystems: dict, workers: int, cost: Callable[[FileEntry], float]
) -> list[tuple[fsspec.AbstractFileSystem, list[FileEntry]]]:
    """Partitions of ``entries``, each with the filesystem its files are read from."""
    return [
        (filesystems[src], part)
        for src in sorted({e.source for e in entries})
        for part in partitions([e for e in entries if e.source == src], workers, cost)
    ]


def _part_names(summary: RunSummary) -> Iterator[str]:
    """Names of the run's ``samples`` parts, unique within the catalog: start time, run id, sequence."""
    return (f"part-{summary.stamp}-{summary.run_id}-{seq:05d}" for seq in itertools.count())


def _reuse(
    catalog: catalog_mod.Catalog,
    summary: RunSummary,
    entries: list[FileEntry],
    known: Reusable,
    hashes: dict[str, str],
    method: str,
    names: Iterator[str],
) -> list[FileEntry]:
    """Write copied rows for the files whose hash the catalog knows; returns the files left to analyse."""
    matches = [(e, known.by_hash[hashes[e.path]]) for e in entries if hashes.get(e.path) in known.by_hash]
    if not matches:
        return entries
    catalog.write("samples", copied_rows(catalog, matches, method), next(names))
    summary.reused += len(matches)
    summary.skipped += len(matches)
    matched = {e.path for e, _ in matches}
    return [e for e in entries if e.path not in matched]


def _hash_on_cluster(client, entries: list[FileEntry], filesystems: dict) -> dict[str, str]:
    """``path -> content hash`` of files read by the workers: in parallel, and where the data is.

    A task that fails leaves its files out: they are analysed instead.
    """
    from distributed import as_completed

    futures = {
        client.submit(hash_files, fs, part, retries=2, pure=False): part
        for fs, part in _tasks(entries, filesystems, _worker_count(client), read_cost)
    }
    hashes: dict[str, str] = {}
    for future, result in as_completed(futures, with_results=True, raise_errors=False):
        if future.status == "finished":
            hashes.update((e.path, h) for e, h in zip(futures[future], result) if h)
    return hashes


def _failed_partition_rows(entries: list[FileEntry], method: str, exc: BaseException) -> pa.Table:
    why = f"worker failed: {type(exc).__name__}: {exc}"
    rows = [{**analyze.identity_columns(e, method), "error": why} for e in entries]
    return schema.table(rows)


def _analyse(
    client,
    catalog: catalog_mod.Catalog,
    summary: RunSummary,
    entries: list[FileEntry],
    filesystems: dict,
    method: str,
    names: Iterator[str],
    progress: bool | None,
) -> None:
    """Analyse files on the workers, writing each partition as one part the moment it arrives."""
    from distributed import as_completed
    from tqdm import tqdm

    futures = {
        client.submit(analyze.analyze_partition, fs, part, method=method, retries=2, pure=False): part
        for fs, part in _tasks(entries, filesystems, _worker_count(client), estimated_cost)
    }
    with tqdm(
        total=len(entries), unit="file", desc="indexing", disable=None if progress is None else not progress
    ) as bar:
        for future, table in as_completed(futures, with_results=True, raise_errors=False):
            part = futures[future]
            if future.status == "error":
                table = _failed_partition_rows(part, method, future.exception())
            catalog.write("samples", table, next(names))
            errors = table.column("error").to_pylist()
            failures = [(p, e) for p, e in zip(table.column("path").to_pylist(), errors) if e]
            summary.failures += failures
            summary.analysed += table.num_rows - len(failures)
            summary.truncated += sum(
                1 for text in table.column("notes").to_pylist() + errors if text and text.startswith("truncated:")
            )
            bar.update(len(part))


def _record_removals(catalog: catalog_mod.Catalog, summary: RunSummary, removed: list[str]) -> None:
    if removed:
        now = schema.utcnow()
        catalog.write(
            "removals",
            schema.table([{"path": p, "removed_at": now} for p in removed], schema.REMOVALS),
            f"removed-{summary.stamp}-{summary.run_id}",
        )
        summary.removed = len(removed)


def run_index(
    urls: list[str],
    catalog: catalog_mod.Catalog,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    client=None,
    full: bool = False,
    method: str = analyze.DEFAULT_KEY_METHOD,
    storage_options: dict | None = None,
    progress: bool | None = None,
) -> RunSummary:
    """Index sources into a catalog; returns the run's summary (also written to ``runs``).

    ``client`` reuses a running Dask client (tests, notebooks); otherwise one is
    made from ``scheduler`` or a local cluster of ``workers`` processes, and
    only if some file has to be read.

    Order of work: the plan; rows copied for files whose listed hash (S3 ETag)
    the catalog knows; on the workers, the hashes of the remaining files whose
    size some reusable row has, and rows copied for those that match; on the
    workers, the analysis of the rest; removals; the ``runs`` row last.
    """
    t0 = time.perf_counter()
    summary = RunSummary(run_id=uuid.uuid4().hex[:12], started_at=schema.utcnow())
    # listed first: a missing source or an unreachable bucket fails before anything is written
    manifest = sources.list_sources(urls, storage_options)
    new = not catalog.root.exists()
    try:
        with catalog.lock():
            _index(
                catalog,
                summary,
                manifest,
                t0,
                urls=urls,
                scheduler=scheduler,
                workers=workers,
                client=client,
                full=full,
                method=method,
                storage_options=storage_options,
                progress=progress,
            )
    except BaseException:
        # a first run that failed before writing a row leaves no empty catalog behind; one that wrote
        # some (interrupted mid-analysis) keeps them, so that the next run goes on from there
        if new and not any(catalog.root.rglob("*.parquet")):
            shutil.rmtree(catalog.root, ignore_errors=True)
        raise
    return summary


def _index(
    catalog: catalog_mod.Catalog,
    summary: RunSummary,
    manifest: list[FileEntry],
    t0: float,
    *,
    urls: list[str],
    scheduler: str | None,
    workers: int | None,
    client,
    full: bool,
    method: str,
    storage_options: dict | None,
    progress: bool | None,
) -> None:
    """:func:`run_index`'s work once it holds the lock."""
    names = _part_names(summary)
    # created under the lock: several first runs on a new catalog must not race to make it
    catalog.create()
    catalog.remove_leftovers()
    # damaged or foreign files leave before the plan: the files whose rows they held are analysed again
    summary.quarantined = catalog.repair()
    version = analyze.analysis_version(method)
    current = catalog.identities()
    todo = plan(manifest, current, version, full=full)
    summary.seen, summary.skipped = len(manifest), len(todo.unchanged)
    known = Reusable() if full else reusable(current, version)
    listed = {e.path: h for e in todo.analyse if (h := listed_hash(e))}
    pending = _reuse(catalog, summary, todo.analyse, known, listed, method, names)
    if pending:
        filesystems = _filesystems(urls, storage_options)
        with contextlib.ExitStack() as stack:
            if client is None:
                client = stack.enter_context(dask_client(scheduler, workers))
            client.run(analyze.warm_up, method)  # imports and model load, once per worker
            t_started = time.perf_counter()
            summary.startup_s = t_started - t0
            candidates = [e for e in pending if e.size in known.sizes]
            summary.hashed = len(candidates)
            hashes = _hash_on_cluster(client, candidates, filesystems)
            pending = _reuse(catalog, summary, pending, known, hashes, method, names)
            _analyse(client, catalog, summary, pending, filesystems, method, names, progress)
            summary.analysis_s = time.perf_counter() - t_started
    summary.failed = len(summary.failures)
    _record_removals(catalog, summary, todo.removed)
    summary.compaction = catalog.compact()
    summary.finished_at = schema.utcnow()
    summary.elapsed_s = time.perf_counter() - t0
    catalog.write("runs", summary.record(), f"run-{summary.stamp}-{summary.run_id}")

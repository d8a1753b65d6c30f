"""The index run's planning and partitioning (pure), and a run on an in-process Dask cluster."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from sampledex.pipeline import analyze, plan, run
from sampledex.pipeline import catalog as catalog_mod
from sampledex.pipeline.sources import FileEntry

T0 = dt.datetime(2026, 1, 1)


def entry(name: str, size: int = 100, mtime: dt.datetime = T0, etag: str | None = None) -> FileEntry:
    return FileEntry(path=f"/lib/{name}", fs_path=f"/lib/{name}", source="/lib", size=size, mtime=mtime, etag=etag)


def row(e: FileEntry, version: str = "v1", error: str | None = None) -> tuple:
    return (e.size, e.mtime, e.etag, "hash", version, error)


def test_plan_splits_new_changed_unchanged_and_removed():
    a, b, c = entry("a.wav"), entry("b.wav"), entry("c.wav")
    current = {a.path: row(a), b.path: row(entry("b.wav", size=99)), "/lib/gone.wav": row(a)}
    p = plan.plan([a, b, c], current, "v1")
    assert [e.path for e in p.unchanged] == [a.path]
    assert sorted(e.path for e in p.analyse) == [b.path, c.path]
    assert p.removed == ["/lib/gone.wav"]


@pytest.mark.parametrize(
    "changed",
    [
        entry("a.wav", size=101),
        entry("a.wav", mtime=T0 + dt.timedelta(seconds=1)),
        entry("a.wav", etag="new"),
    ],
)
def test_plan_reanalyses_on_size_mtime_or_etag_change(changed):
    assert plan.plan([changed], {changed.path: row(entry("a.wav"))}, "v1").analyse == [changed]


def test_plan_reanalyses_everything_on_a_new_version_or_with_full():
    a = entry("a.wav")
    assert plan.plan([a], {a.path: row(a, version="v0")}, "v1").analyse == [a]
    assert plan.plan([a], {a.path: row(a)}, "v1", full=True).analyse == [a]


def test_plan_retries_transient_errors_but_not_bad_files():
    a, b = entry("a.wav"), entry("b.wav")
    current = {
        a.path: row(a, error="read failed: OSError: timeout"),
        b.path: row(b, error="not decodable audio: Format not recognised"),
    }
    p = plan.plan([a, b], current, "v1")
    assert p.analyse == [a] and p.unchanged == [b]


@pytest.mark.parametrize("n,workers", [(1, 2), (7, 2), (500, 2), (3000, 2), (100, 16)])
def test_partitions_cover_every_file_once_within_bounds(n, workers):
    entries = [entry(f"{i:05d}.{'mp3' if i % 3 else 'wav'}", size=1000 + 37 * i) for i in range(n)]
    groups = plan.partitions(entries, workers)
    flat = [e.path for g in groups for e in g]
    assert sorted(flat) == sorted(e.path for e in entries) and len(flat) == len(set(flat))
    assert all(len(g) <= plan.MAX_PARTITION_SIZE for g in groups)
    if n >= plan.MIN_PARTITION_SIZE * 8 * workers:
        assert len(groups) >= 8 * workers  # enough groups to balance the workers
        costs = [sum(map(plan.estimated_cost, g)) for g in groups]
        assert max(costs) < 1.5 * min(costs)


def test_run_index_writes_rows_then_skips_unchanged_and_drops_deleted(private_library, tmp_path, client):
    lib, specs = private_library
    cat = catalog_mod.Catalog(tmp_path / "catalog")

    first = run.run_index([str(lib)], cat, client=client, progress=False)
    assert (first.seen, first.analysed, first.skipped, first.failed) == (10, 10, 0, 0)
    rows = cat.query("SELECT path, error, analysis_version FROM samples").fetchall()
    assert len(rows) == 10 and all(r[1] is None for r in rows)
    assert {r[2] for r in rows} == {analyze.analysis_version()}

    second = run.run_index([str(lib)], cat, client=client, progress=False)
    assert (second.analysed, second.skipped) == (0, 10)

    (lib / specs[0].name).unlink()
    (lib / "junk.wav").write_bytes(b"not audio at all")
    third = run.run_index([str(lib)], cat, client=client, progress=False)
    assert (third.seen, third.analysed, third.failed, third.removed) == (10, 0, 1, 1)
    paths = {r[0] for r in cat.query("SELECT path FROM samples").fetchall()}
    assert str(lib / specs[0].name) not in paths and str(lib / "junk.wav") in paths
    runs = cat.query("SELECT seen, analysed, skipped, failed, removed FROM runs").fetchall()
    assert runs == [(10, 10, 0, 0, 0), (10, 0, 10, 0, 0), (10, 0, 9, 1, 1)]


def test_a_second_writer_is_refused_and_a_lock_file_without_a_holder_is_taken(tmp_path):
    cat = catalog_mod.Catalog(tmp_path / "catalog")
    with cat.lock():
        with pytest.raises(catalog_mod.CatalogLocked, match=f"being written by pid {os.getpid()}"):
            cat.lock().acquire()
    # a LOCK file left naming a process is not a lock: only a live holder's flock is
    (cat.root / "LOCK").write_text(f'{{"pid": 1, "host": "{os.uname().nodename}", "started_at": "x"}}')
    lock = cat.lock()
    lock.acquire()
    lock.release()
    assert (cat.root / "LOCK").read_text() == ""

"""Crash safety: ``kill -9`` of ``sampledex index`` mid-run, readers during a run, stale locks.

The end-to-end tests (marked slow) run the real CLI on a local cluster of 2 worker
processes over a seeded 300-file library, kill the whole process group (the CLI
and its workers) once some but not all partitions are written, and check that a
rerun finishes the job without redoing finished partitions and ends with the
catalog an uninterrupted run writes.
"""

from __future__ import annotations

import glob
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from sampledex.pipeline import catalog as catalog_mod
from sampledex.pipeline import plan, sources
from sampledex.pipeline.tools import demo

from conftest import SAMPLEDEX, live_group_members, wait_for

N_FILES = 300
WORKERS = 2
SUMMARY = re.compile(r"files seen (\d+), analysed (\d+), skipped (\d+) \(unchanged\), failed (\d+)")
#: catalog columns that differ between two runs over the same bytes
RUN_DEPENDENT = ("indexed_at",)


def index_command(lib: Path, catalog: Path) -> list[str]:
    return [
        SAMPLEDEX,
        "index",
        str(lib),
        "--catalog",
        str(catalog),
        "--workers",
        str(WORKERS),
        "--key-method",
        "classic",
    ]


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    return demo.write_library(tmp_path_factory.mktemp("crash") / "lib", demo.bench_specs(N_FILES, seed=3))


@pytest.fixture(scope="module")
def reference(library, tmp_path_factory):
    """An uninterrupted run into a fresh catalog, with a reader polling ``samples`` all along.

    Returns (catalog, the counts the reader saw, the errors it met).
    """
    cat = catalog_mod.Catalog(tmp_path_factory.mktemp("reference") / "catalog")
    counts, errors, stop = [], [], threading.Event()

    def read():
        while not stop.is_set():
            try:
                if cat.exists():
                    counts.append(cat.query("SELECT count(*) FROM samples").fetchall()[0][0])
            except Exception as exc:  # what the test is looking for: report every one
                errors.append(repr(exc))
            time.sleep(0.005)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        proc = subprocess.run(index_command(library, cat.root), capture_output=True, text=True, timeout=300)
    finally:
        stop.set()
        reader.join()
    assert proc.returncode == 0, proc.stderr
    return cat, counts, errors


def samples_rows(cat: catalog_mod.Catalog) -> list[tuple]:
    exclude = ", ".join(RUN_DEPENDENT)
    return cat.query(f"SELECT * EXCLUDE ({exclude}) FROM samples ORDER BY path").fetchall()


@pytest.mark.slow
def test_a_reader_polling_during_a_run_never_fails(reference):
    cat, counts, errors = reference
    assert errors == []
    assert counts == sorted(counts) and counts[-1] == N_FILES
    assert any(0 < n < N_FILES for n in counts)  # it did read mid-run


@pytest.mark.slow
def test_kill_9_mid_run_then_a_rerun_equals_an_uninterrupted_run(library, reference, tmp_path, process_groups):
    cat = catalog_mod.Catalog(tmp_path / "catalog")
    all_parts = len(plan.partitions(sources.list_source(str(library)), WORKERS))
    proc = process_groups(index_command(library, cat.root))

    parts = wait_for(lambda: glob.glob(str(cat.root / "samples" / "part-*.parquet")), 120, "a first part")
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its worker processes
    proc.wait()
    wait_for(lambda: not live_group_members(proc.pid), 10, "the workers to die", poll_s=0.05)
    parts = sorted(glob.glob(str(cat.root / "samples" / "part-*.parquet")))
    assert 1 <= len(parts) < all_parts

    # nothing partial is visible: every Parquet file opens whole; anything else is a hidden temporary
    files = [p for p in cat.root.rglob("*") if p.is_file() and p.name not in ("LOCK", "CURRENT.json")]
    temporaries = [p for p in files if p.suffix != ".parquet"]
    print(f"\nkilled with {len(parts)} of {all_parts} parts written, {len(temporaries)} temporary files left")
    assert all(p.name.startswith(".") and p.name.endswith(".tmp") for p in temporaries), temporaries
    for path in set(files) - set(temporaries):
        pq.read_table(path)
        duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()
    done = sum(pq.read_metadata(p).num_rows for p in parts)
    assert cat.query("SELECT count(*) FROM samples").fetchall() == [(done,)]
    assert json.loads((cat.root / "LOCK").read_text())["pid"] == proc.pid  # stale: its holder is dead

    rerun = subprocess.run(index_command(library, cat.root), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr  # the stale lock was taken over
    seen, analysed, skipped, failed = map(int, SUMMARY.search(rerun.stdout).groups())
    print(f"rerun: analysed {analysed}, skipped {skipped}")
    assert (seen, analysed, skipped, failed) == (N_FILES, N_FILES - done, done, 0)
    assert 0 < skipped and analysed < N_FILES
    assert (cat.root / "LOCK").read_text() == ""  # released: it names no holder
    assert not [p for p in cat.root.rglob(".*.tmp")]  # the killed run's temporaries are gone

    # finished partitions were not redone: each path was written once
    assert cat.query("SELECT count(*), count(DISTINCT path) FROM sample_history").fetchall() == [(N_FILES, N_FILES)]
    assert samples_rows(cat) == samples_rows(reference[0])
    assert cat.query("SELECT analysed, skipped FROM runs").fetchall() == [(N_FILES - done, done)]


HOLD_LOCK = """
import sys, time
from sampledex.pipeline import catalog
catalog.Catalog(sys.argv[1]).lock().acquire()
print("held", flush=True)
time.sleep(120)
"""


def killed_holder(cat: catalog_mod.Catalog, start) -> subprocess.Popen:
    """A process that took the catalog's lock and was then killed with SIGKILL (not yet reaped)."""
    proc = start([sys.executable, "-c", HOLD_LOCK, str(cat.root)])
    assert proc.stdout.readline().strip() == "held"
    with pytest.raises(catalog_mod.CatalogLocked, match=f"pid {proc.pid}"):
        cat.lock().acquire()
    os.killpg(proc.pid, signal.SIGKILL)
    wait_for(lambda: not live_group_members(proc.pid) and not threads_left(proc.pid), 10, "the holder to die")
    return proc


def threads_left(pid: int) -> list[str]:
    """Threads of ``pid`` still exiting: a multi-threaded process's leader shows as a zombie before its
    other threads are gone, and its files (the lock with them) close only with the last one."""
    try:
        return [t.name for t in Path(f"/proc/{pid}/task").iterdir() if t.name != str(pid)]
    except FileNotFoundError:
        return []


@pytest.mark.parametrize("reaped", [True, False], ids=["reaped", "zombie"])
def test_the_lock_of_a_killed_writer_is_taken_over(tmp_path, process_groups, reaped):
    """A writer killed mid-run leaves its LOCK file naming it; the kernel has dropped its lock, so the
    next writer takes it.

    Unreaped (a zombie, as under a container's PID 1 that reaps nothing), the
    dead holder still answers ``kill(pid, 0)``; its files are closed all the same.
    """
    cat = catalog_mod.Catalog(tmp_path / "catalog")
    holder = killed_holder(cat, process_groups)
    if reaped:
        holder.wait()
    assert json.loads((cat.root / "LOCK").read_text())["pid"] == holder.pid
    with cat.lock():
        assert json.loads((cat.root / "LOCK").read_text())["pid"] == os.getpid()
    assert (cat.root / "LOCK").read_text() == ""

"""``sampledex index --scheduler`` on a real cluster: ``dask scheduler`` and ``dask worker`` processes on loopback.

Nothing is mocked: the CLI runs as a subprocess and talks to a scheduler
process over TCP; the workers are separate ``dask worker`` processes (nanny
plus worker child, as a user starts them) that import sampledex and read the
sources themselves, S3 included. The test process keeps its own Client on the
scheduler only to observe it: the scheduler's task stream (which worker
computed which ``analyze_partition`` task) and its event log (a worker that
left, and the tasks it was processing).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sampledex.pipeline.tools import demo

from conftest import CREDENTIALS, N_S3_OBJECTS, SAMPLEDEX, live_group_members
from conftest import run_cli as run

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
DASK = str(BIN / "dask")
#: the README's advice for self-started workers: the nanny must not set MALLOC_TRIM_THRESHOLD_
DASK_CONFIG_YAML = """\
distributed:
  nanny:
    pre-spawn-environ:
      MALLOC_TRIM_THRESHOLD_: null
"""
#: library size for the killed-worker run: long enough (~3 s of analysis on 2 workers) to kill one mid-run
N_KILL_FILES = 300


class Cluster:
    """A ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, each in its own process group.

    Every process gets the Dask config above (through ``DASK_CONFIG``) and the
    S3 credentials; logs go to ``folder/NAME.log``.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "dask-config"
        config.mkdir(exist_ok=True)
        (config / "sampledex.yaml").write_text(DASK_CONFIG_YAML)
        self.env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
        self.env.update(CREDENTIALS, DASK_CONFIG=str(config))
        self.procs: dict[str, subprocess.Popen] = {}
        self.address: str | None = None
        self.client = None

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        with open(self.folder / f"{name}.log", "wb") as log:
            proc = subprocess.Popen(
                [DASK, *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.folder,
                start_new_session=True,
            )
        self.procs[name] = proc
        return proc

    def start(self, workers: int) -> None:
        from distributed import Client

        scheduler_file = self.folder / "scheduler.json"
        # port 0: the OS picks a free port, the scheduler writes its address to the file
        proc = self._spawn(
            "scheduler",
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
            "--idle-timeout",
            "600s",
        )
        deadline = time.monotonic() + 60
        while self.address is None:
            with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
                self.address = json.loads(scheduler_file.read_text())["address"]
            if self.address is None:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"dask scheduler did not start:\n{self.log('scheduler')}")
                time.sleep(0.1)
        for i in range(workers):
            self.add_worker(f"w{i + 1}")
        self.client = Client(self.address, timeout="30s")
        self.wait_for_workers(workers)

    def add_worker(self, name: str) -> None:
        self._spawn(
            name,
            "worker",
            self.address,
            "--name",
            name,
            "--host",
            "127.0.0.1",
            "--nthreads",
            "1",
            "--nworkers",
            "1",
            "--no-dashboard",
            "--local-directory",
            str(self.folder / name),
            "--death-timeout",
            "60",
        )

    def wait_for_workers(self, n: int) -> None:
        try:
            self.client.wait_for_workers(n, timeout=60)
        except TimeoutError:
            logs = "\n".join(f"--- {name}\n{self.log(name)}" for name in self.procs)
            raise RuntimeError(f"{n} workers did not connect:\n{logs}") from None

    def workers(self) -> dict[str, str]:
        """Worker name -> address, as the scheduler knows them now."""
        return {str(w["name"]): addr for addr, w in self.client.scheduler_info()["workers"].items()}

    def partition_tasks(self, exclude: set | None = None) -> list[dict]:
        """The scheduler's task-stream records of ``analyze_partition`` tasks (key, worker, status, …).

        The first call registers the task-stream plugin on the scheduler; it records
        every task any client's graph runs from then on.
        """
        return [
            r
            for r in self.client.get_task_stream()
            if str(r["key"]).startswith("analyze_partition-") and r["key"] not in (exclude or set())
        ]

    def kill(self, name: str) -> None:
        """SIGKILL a worker's whole process group (nanny and worker): a machine that dies."""
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        self._wait_gone(proc.pid, 10)

    @staticmethod
    def _wait_gone(pgid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while live_group_members(pgid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def stop(self) -> None:
        """Terminate workers, then the scheduler; SIGKILL what is left after 15 s; leave no process behind."""
        if self.client is not None:
            self.client.close()
        leftovers = []
        order = [n for n in self.procs if n != "scheduler"] + [n for n in self.procs if n == "scheduler"]
        for name in order:
            proc = self.procs[name]
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            if not self._wait_gone(proc.pid, 15):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                if not self._wait_gone(proc.pid, 5):
                    leftovers.append((name, live_group_members(proc.pid)))
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self.procs.clear()
        assert not leftovers, f"processes left running: {leftovers}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two single-threaded workers, shared by this module's tests (which kill none)."""
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        c.start(2)
        c.partition_tasks()  # start recording the task stream now
        yield c
    finally:
        c.stop()


def rows(catalog: Path, sql: str) -> list[dict]:
    return json.loads(run("query", sql, "--catalog", str(catalog), "--format", "json").stdout)


def parts(catalog: Path) -> list[Path]:
    return sorted((catalog / "samples").glob("part-*.parquet"))


def test_workers_start_without_malloc_trim_threshold(cluster):
    env = cluster.client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
    assert len(env) == 2 and set(env.values()) == {None}
    # the rest of the nanny's defaults still apply
    assert set(cluster.client.run(lambda: os.environ.get("OMP_NUM_THREADS")).values()) == {"1"}


def test_index_a_folder_on_the_cluster(cluster, small_library, tmp_path):
    folder, specs = small_library
    catalog = tmp_path / "catalog"
    before = {r["key"] for r in cluster.partition_tasks()}
    proc = run(
        "index", str(folder), "--scheduler", cluster.address, "--catalog", str(catalog), "--key-method", "classic"
    )
    assert "files seen 10, analysed 10, skipped 0 (unchanged), failed 0, removed 0" in proc.stdout
    got = rows(catalog, "SELECT path, key, error FROM samples")
    assert sorted(Path(r["path"]).name for r in got) == sorted(s.name for s in specs)
    assert all(r["error"] is None for r in got)
    # each part is one analyze_partition task that the scheduler saw computed by one of our workers
    tasks = cluster.partition_tasks(exclude=before)
    assert len(tasks) == len(parts(catalog)) >= 1
    assert all(t["status"] == "OK" for t in tasks)
    assert {t["worker"] for t in tasks} <= set(cluster.workers().values())


def test_index_an_s3_bucket_on_the_cluster(cluster, bucket, tmp_path):
    fs, endpoint = bucket
    catalog = tmp_path / "catalog"
    before = {r["key"] for r in cluster.partition_tasks()}
    proc = run(
        "index",
        "s3://lib",
        "--scheduler",
        cluster.address,
        "--catalog",
        str(catalog),
        "--key-method",
        "classic",
        "--storage-option",
        f"endpoint_url={endpoint}",
    )
    assert (
        f"files seen {N_S3_OBJECTS}, analysed {N_S3_OBJECTS}, skipped 0 (unchanged), failed 0, removed 0" in proc.stdout
    )
    got = rows(catalog, "SELECT path, etag, content_hash, error FROM samples")
    assert len(got) == N_S3_OBJECTS
    assert all(r["path"].startswith("s3://lib/pack") and r["error"] is None for r in got)
    assert all(r["etag"] == r["content_hash"] for r in got)  # the workers read the objects' bytes
    tasks = cluster.partition_tasks(exclude=before)
    assert len(tasks) == len(parts(catalog)) > 2
    # the workers read S3 themselves (with credentials from their own environment), both of them
    assert {t["worker"] for t in tasks} == set(cluster.workers().values())


def test_a_worker_killed_mid_run_loses_no_file(tmp_path):
    """SIGKILL one of two workers once the first parts are written: its tasks run again on the other."""
    lib = demo.write_library(tmp_path / "lib", demo.bench_specs(N_KILL_FILES))
    catalog = tmp_path / "catalog"
    c = Cluster(tmp_path / "cluster")  # its own: the module's cluster keeps both workers
    try:
        c.start(2)
        c.partition_tasks()
        victim = c.workers()["w2"]
        proc = subprocess.Popen(
            [
                SAMPLEDEX,
                "index",
                str(lib),
                "--scheduler",
                c.address,
                "--catalog",
                str(catalog),
                "--key-method",
                "classic",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 120
            while not parts(catalog) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            written_at_kill = len(parts(catalog))
            running_at_kill = proc.poll() is None
            c.kill("w2")
            killed_at = time.time()
            out, err = proc.communicate(timeout=180)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert running_at_kill and written_at_kill >= 1, f"no kill mid-run\n{out}\n{err}"
        assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{err}"
        assert (
            f"files seen {N_KILL_FILES}, analysed {N_KILL_FILES}, skipped 0 (unchanged), failed 0, removed 0"
        ) in out
        assert written_at_kill < len(parts(catalog))

        got = rows(catalog, "SELECT path, error FROM samples")
        assert sorted(Path(r["path"]).name for r in got) == sorted(s.name for s in demo.bench_specs(N_KILL_FILES))
        assert all(r["error"] is None for r in got)

        # the scheduler saw the worker leave unexpectedly while it was processing partitions ...
        (removal,) = [
            msg
            for _, msg in c.client.get_events("all")
            if isinstance(msg, dict) and msg.get("action") == "remove-worker" and msg.get("worker") == victim
        ]
        assert removal["expected"] is False
        lost = {k for k in removal["processing-tasks"] if str(k).startswith("analyze_partition-")}
        assert lost
        print(
            f"killed w2 after {written_at_kill} of {len(parts(catalog))} parts; it was processing "
            f"{len(lost)} partitions"
        )
        # ... and every one of them was then computed by the surviving worker
        survivor = c.workers()
        assert list(survivor) == ["w1"]
        done = {t["key"]: t for t in c.partition_tasks() if t["status"] == "OK"}
        assert len(done) == len(parts(catalog))
        assert all(done[k]["worker"] == survivor["w1"] for k in lost)
        assert max(t["startstops"][-1]["stop"] for t in done.values()) > killed_at
    finally:
        c.stop()

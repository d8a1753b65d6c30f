"""``make bench-scale``: ``index`` throughput from a local folder, from S3 and through a real Dask cluster,
and the time of a no-change rerun over 10,000 files.

All on loopback: S3 is moto's server started here, the cluster is a ``dask scheduler`` and two
``dask worker`` processes started here. A command, not a test; figures vary with the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from sampledex.pipeline import analyze, run
from sampledex.pipeline import catalog as catalog_mod

from . import demo

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}


def timed_index(urls: list[str], **kw) -> run.RunSummary:
    with tempfile.TemporaryDirectory() as tmp:
        return run.run_index(urls, catalog_mod.Catalog(Path(tmp) / "catalog"), progress=False, **kw)


def start_cluster(folder: Path, workers: int = 2) -> tuple[str, list[subprocess.Popen]]:
    """A real scheduler and worker processes on loopback; returns its address and the processes."""
    config = folder / "dask-config"
    config.mkdir()
    (config / "sampledex.yaml").write_text(
        "distributed:\n  nanny:\n    pre-spawn-environ:\n      MALLOC_TRIM_THRESHOLD_: null\n"
    )
    env = {**os.environ, **CREDENTIALS, "DASK_CONFIG": str(config)}
    dask = str(Path(sys.executable).with_name("dask"))
    file = folder / "scheduler.json"
    procs = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(file)],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    while not file.exists():
        time.sleep(0.1)
    time.sleep(0.3)
    address = json.loads(file.read_text())["address"]
    procs += [
        subprocess.Popen(
            [dask, "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard"],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    from distributed import Client

    with Client(address) as client:
        client.wait_for_workers(workers, timeout=120)
    return address, procs


def stop(procs: list[subprocess.Popen]) -> None:
    for p in reversed(procs):
        os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        p.wait(timeout=30)


def tiny_library(folder: Path, n: int) -> None:
    """``n`` distinct 0.1 s WAV files in nested folders."""
    rng = np.random.default_rng(0)
    t = np.arange(2205) / 22050
    for i in range(n):
        sub = folder / f"pack{i % 10}" / f"kit{i % 37}"
        sub.mkdir(parents=True, exist_ok=True)
        y = 0.3 * np.sin(2 * np.pi * float(rng.uniform(60, 2000)) * t)
        sf.write(sub / f"s{i:05d}.wav", y.astype(np.float32), 22050)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--rerun-files", type=int, default=10_000)
    parser.add_argument("--key-method", default=analyze.DEFAULT_KEY_METHOD, choices=analyze.KEY_METHODS)
    args = parser.parse_args(argv)
    folder = str(demo.write_library("bench-library", demo.bench_specs(args.files)))
    os.environ.update(CREDENTIALS)
    rows = []

    local = timed_index([folder], method=args.key_method)
    rows.append(("local folder, local cluster", local))

    import logging

    import s3fs
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per S3 request otherwise

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3 = s3fs.S3FileSystem(endpoint_url=endpoint)
    s3.mkdir("bench")
    s3.put(folder + "/", "bench/lib/", recursive=True)
    options = {"endpoint_url": endpoint}
    rows.append(
        (
            "S3 (moto, loopback), local cluster",
            timed_index(["s3://bench/lib"], method=args.key_method, storage_options=options),
        )
    )

    with tempfile.TemporaryDirectory() as tmp:
        address, procs = start_cluster(Path(tmp))
        try:
            rows.append(
                (
                    "local folder, scheduler + 2 workers",
                    timed_index([folder], method=args.key_method, scheduler=address),
                )
            )
            rows.append(
                (
                    "S3, scheduler + 2 workers",
                    timed_index(["s3://bench/lib"], method=args.key_method, scheduler=address, storage_options=options),
                )
            )
        finally:
            stop(procs)
    server.stop()

    print(f"{args.files} files of the bench library, key method {args.key_method}")
    print(f"{'':40s} {'files':>6s} {'elapsed s':>9s} {'files/s':>8s} {'workers up: files/s':>20s}")
    for name, s in rows:
        n = s.analysed + s.failed
        print(f"{name:40s} {n:6d} {s.elapsed_s:9.2f} {s.files_per_s:8.1f} {s.analysis_files_per_s:20.1f}")

    with tempfile.TemporaryDirectory() as tmp:
        lib = Path(tmp) / "lib"
        tiny_library(lib, args.rerun_files)
        catalog = catalog_mod.Catalog(Path(tmp) / "catalog")
        first = run.run_index([str(lib)], catalog, method="classic", progress=False)
        t0 = time.perf_counter()
        again = run.run_index([str(lib)], catalog, method="classic", progress=False)
        rerun_s = time.perf_counter() - t0
        print(
            f"\n{args.rerun_files} files: first index {first.elapsed_s:.1f} s; no-change rerun {rerun_s:.2f} s "
            f"(seen {again.seen}, analysed {again.analysed}, skipped {again.skipped})"
        )


if __name__ == "__main__":
    main()

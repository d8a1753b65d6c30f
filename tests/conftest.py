"""Shared fixtures: small seeded sample libraries written by the project's own code, and an S3 bucket."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import settings

from sampledex.pipeline.tools import demo

# property tests explore the same examples on every run: the suite is deterministic, as CI needs
settings.register_profile("sampledex", derandomize=True)
settings.load_profile("sampledex")

#: what s3fs (in tests, CLI subprocesses and Dask workers) reads to sign requests to the moto server
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
#: WAV objects in the ``bucket`` fixture
N_S3_OBJECTS = 1000
#: the console script of this environment
SAMPLEDEX = str(Path(sys.executable).with_name("sampledex"))


def run_cli(*args: str, expect: int = 0, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """Run ``sampledex ARGS`` (with the loopback S3 test credentials); fail, showing its output, unless it
    exits with ``expect``."""
    kw.setdefault("env", {**os.environ, **CREDENTIALS})
    proc = subprocess.run([SAMPLEDEX, *args], capture_output=True, text=True, timeout=timeout, **kw)
    assert proc.returncode == expect, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def wait_for(condition, timeout_s: float, what: str, poll_s: float = 0.002):
    """Poll ``condition`` every ``poll_s`` seconds until it is truthy; returns its value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def live_group_members(pgid: int) -> list[int]:
    """Processes of a process group that still run (zombies excluded: they hold nothing)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


@pytest.fixture
def process_groups():
    """Start commands each in its own process group; whatever is left of them is killed at teardown.

    SIGINT is reset to its default in the child, so that a test's Ctrl-C arrives as a terminal's does,
    whatever the test runner's own disposition (a background shell starts its jobs with SIGINT ignored).
    """
    started = []

    def start(command: list[str], **kw) -> subprocess.Popen:
        proc = subprocess.Popen(
            command,
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            **kw,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if live_group_members(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def client():
    """An in-process Dask cluster of two single-threaded workers, for fast run_index tests."""
    from distributed import Client

    with Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="session")
def small_library(tmp_path_factory):
    """Ten seeded samples (two of each kind) in mixed formats, plus their specs."""
    specs = demo.library_specs(10, seed=11, key_order=("A minor", "C major"), max_seconds=4.0)
    folder = demo.write_library(tmp_path_factory.mktemp("library"), specs)
    return folder, specs


@pytest.fixture
def private_library(small_library, tmp_path):
    """A copy of the small library that a test may change (mtimes kept), plus the specs."""
    folder, specs = small_library
    lib = tmp_path / "lib"
    lib.mkdir()
    for s in specs:
        shutil.copy2(folder / s.name, lib / s.name)
    return lib, specs


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on loopback (real HTTP), for the whole session; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def bucket(s3_server):
    """Bucket ``lib``: N_S3_OBJECTS short WAV objects under nested prefixes, plus a non-audio object.

    Shared by every test of the session: tests read it and must not change it.
    Returns (s3fs filesystem, endpoint URL).
    """
    import s3fs

    fs = s3fs.S3FileSystem(endpoint_url=s3_server, key="testing", secret="testing")
    fs.mkdir("lib")
    rng = np.random.default_rng(5)
    t = np.arange(2205) / 22050
    for i in range(N_S3_OBJECTS):
        buf = io.BytesIO()
        freq = 110.0 * 2 ** (rng.integers(36) / 12)
        sf.write(buf, (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 22050, format="WAV")
        fs.pipe(f"lib/pack{i % 4}/sub{i % 7}/s{i:04d}.wav", buf.getvalue())
    fs.pipe("lib/README.txt", b"not a sample")
    return fs, s3_server


def write_tone(
    path,
    *,
    seconds: float = 0.5,
    sr: int = 22050,
    freq: float = 440.0,
    channels: int = 1,
    fmt: str | None = None,
    subtype: str | None = None,
) -> None:
    """A sine tone file (for tests that need any valid audio)."""
    t = np.arange(int(seconds * sr)) / sr
    y = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    sf.write(path, np.repeat(y[:, None], channels, axis=1), sr, format=fmt, subtype=subtype)

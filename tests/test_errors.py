"""Every error a user can cause is one line on stderr, ``sampledex…``, no traceback, and the documented
exit status (1 the run failed, 2 usage error, 130 interrupted); ``--debug`` adds the traceback.

Each case makes the failure really happen: bad arguments, missing datasets, a missing weights
file, an S3 endpoint nobody listens on, a real S3 server (moto) with no credentials, a read-only
and a full file system (tmpfs mounts; skipped where mounting is not permitted), and SIGINT in the
middle of a run.
"""

from __future__ import annotations

import errno
import glob
import json
import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from sampledex.pipeline import catalog as catalog_mod
from sampledex.pipeline.defaults import DEBUG_ENV
from sampledex.pipeline.tools import demo

from conftest import CREDENTIALS, SAMPLEDEX, live_group_members, run_cli, wait_for, write_tone


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI run: this one with the loopback S3 test credentials, never debug."""
    env = {k: v for k, v in os.environ.items() if k != DEBUG_ENV}
    return {**env, **CREDENTIALS, **extra}


def assert_one_line(stderr: str, *, mentions: str = "") -> str:
    """stderr is exactly one line, starting with ``sampledex``, without a traceback; returns it."""
    lines = stderr.splitlines()
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{stderr}"
    assert lines[0].startswith("sampledex"), lines[0]
    assert mentions.lower() in lines[0].lower(), f"{mentions!r} not in {lines[0]!r}"
    return lines[0]


def fails(*args: str, code: int, mentions: str = "", **kw) -> str:
    """Run ``sampledex ARGS``; it must exit with ``code`` and say one line (returned)."""
    kw.setdefault("env", cli_env())
    return assert_one_line(run_cli(*args, expect=code, timeout=120, **kw).stderr, mentions=mentions)


@pytest.fixture(scope="module")
def empty_catalog(tmp_path_factory) -> Path:
    """A catalog with no rows yet (written by the project's own code), for `search` to open."""
    cat = catalog_mod.Catalog(tmp_path_factory.mktemp("errors") / "catalog")
    cat.create()
    return cat.root


# -- 1. bad values: usage errors, exit 2 -------------------------------------------------------

USAGE_CASES = {
    # argparse: count(1, 10**9)
    "limit -1": (["search", "--limit", "-1"], "--limit"),
    "limit 0": (["search", "--limit", "0"], "--limit"),
    "limit nan": (["search", "--limit", "nan"], "--limit"),
    "limit inf": (["search", "--limit", "inf"], "--limit"),
    "limit 1e400": (["search", "--limit", "1e400"], "--limit"),
    "limit 10**20": (["search", "--limit", "99999999999999999999"], "--limit"),
    "limit abc": (["search", "--limit", "abc"], "--limit"),
    # argparse: count(1, 1024)
    "workers -3": (["index", "lib", "--workers", "-3"], "--workers"),
    "workers 0": (["index", "lib", "--workers", "0"], "--workers"),
    "workers nan": (["index", "lib", "--workers", "nan"], "--workers"),
    "workers 100000": (["index", "lib", "--workers", "100000"], "--workers"),
    # argparse: parse_bpm_range
    "bpm nan": (["search", "--bpm", "nan"], "--bpm"),
    "bpm inf": (["search", "--bpm", "inf"], "--bpm"),
    # typed with a space, argparse takes -5:10 for an option: still one line and exit 2
    "bpm -5:10": (["search", "--bpm", "-5:10"], "--bpm"),
    "bpm=-5:10": (["search", "--bpm=-5:10"], "--bpm"),
    "bpm 10:5": (["search", "--bpm", "10:5"], "--bpm"),
    "bpm 0:100": (["search", "--bpm", "0:100"], "--bpm"),
    "bpm 1:1e9": (["search", "--bpm", "1:1e9"], "--bpm"),
    "bpm abc": (["search", "--bpm", "abc"], "--bpm"),
    # main(): a cross-option check
    "compatible without key": (["search", "--compatible"], "--compatible needs --key"),
    "compatible rule without key": (["search", "--compatible", "camelot"], "--compatible needs --key"),
    # search_sql(): keys.canonical, on a real (empty) catalog: the key is checked after it opens
    "key H major": (["search", "--key", "H major"], "--key"),
    "root H3": (["search", "--root", "H3"], "not a note"),
    "tuning-within 60": (["search", "--tuning-within", "60"], "--tuning-within"),
    "tuning-within nan": (["search", "--tuning-within", "nan"], "--tuning-within"),
    "tuning-within -1": (["search", "--tuning-within=-1"], "--tuning-within"),
    "unknown command": (["frobnicate"], "invalid choice"),
    "epochs 0": (["train", "--epochs", "0"], "--epochs"),
}


@pytest.mark.parametrize("args, mentions", USAGE_CASES.values(), ids=USAGE_CASES.keys())
def test_a_bad_value_is_a_usage_error(args, mentions, empty_catalog, tmp_path):
    fails(*args, code=2, mentions=mentions, cwd=tmp_path, env=cli_env(SAMPLEDEX_CATALOG=str(empty_catalog)))


# -- 2. missing datasets: exit 1 ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, mentions",
    [
        (["evaluate", "/nonexistent/path.csv"], "/nonexistent/path.csv"),
        (["train", "/nonexistent"], "/nonexistent"),
    ],
    ids=["evaluate", "train"],
)
def test_a_missing_dataset_fails_the_run(args, mentions, tmp_path):
    fails(*args, code=1, mentions=mentions, cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing written: no runs/, no data/


# -- 3. missing CNN weights: exit 1 ------------------------------------------------------------


@pytest.fixture
def no_cnn_weights(tmp_path, monkeypatch):
    """The CNN's shipped weights path pointed at a missing file, in this process.

    No option or environment variable names the weights: ``CNNKeyEstimator(weights=WEIGHTS)`` binds
    the module constant as its default when the class is defined, so both are patched. The
    estimator cache is emptied before and after, so no other test sees (or hides) the patch.
    """
    from sampledex.models import cnn
    from sampledex.pipeline import analyze

    missing = tmp_path / "missing" / "keycnn.npz"
    monkeypatch.setattr(cnn, "WEIGHTS", missing)
    monkeypatch.setattr(cnn.CNNKeyEstimator.__init__, "__defaults__", (missing,))
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    analyze.key_estimator.cache_clear()
    yield missing
    analyze.key_estimator.cache_clear()


@pytest.mark.parametrize("command", ["analyze", "index"])
def test_missing_cnn_weights_fail_the_run(command, no_cnn_weights, tmp_path, capsys):
    from sampledex.pipeline import cli

    lib = tmp_path / "lib"
    lib.mkdir()
    write_tone(lib / "tone.wav")
    args = (
        [command, str(lib / "tone.wav")]
        if command == "analyze"
        else [command, str(lib), "--catalog", str(tmp_path / "catalog")]
    )
    assert cli.main(args) == 1
    out, err = capsys.readouterr()
    line = assert_one_line(err, mentions=f"key CNN weights not found at {no_cnn_weights}")
    assert out == "", line


# -- 4. S3: unreachable endpoint, no credentials: exit 1 ---------------------------------------

ERRORS_BUCKET = "sampledex-errors"


@pytest.fixture(scope="module")
def errors_bucket(s3_server):
    """A bucket on the session's moto server holding one WAV under ``pack/``; returns the endpoint."""
    import s3fs

    fs = s3fs.S3FileSystem(endpoint_url=s3_server, key="testing", secret="testing")
    fs.mkdir(ERRORS_BUCKET)
    fs.pipe(f"{ERRORS_BUCKET}/pack/tone.wav", b"RIFF\x00\x00\x00\x00WAVEfmt ")
    return s3_server


@pytest.fixture
def closed_port():
    """A loopback port bound but not listening for the test's duration: connecting is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def s3_env(home: Path, *, credentials: bool) -> dict[str, str]:
    """No AWS or fsspec setting from outside; credentials only if asked; one attempt per request."""
    env = {k: v for k, v in cli_env().items() if not k.startswith(("AWS_", "FSSPEC_"))}
    env.update(
        HOME=str(home),
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        AWS_CONFIG_FILE="/nonexistent",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
        AWS_RETRY_MODE="standard",
    )
    return {**env, **CREDENTIALS} if credentials else env


S3_CASES = [
    pytest.param("unreachable", "s3://bucket/x", "cannot reach the endpoint", id="unreachable-prefix"),
    pytest.param(
        "unreachable",
        "s3://bucket",
        "cannot reach the endpoint",
        id="unreachable-bucket-root",
    ),
    pytest.param("no-credentials", f"s3://{ERRORS_BUCKET}/pack", "no credentials", id="no-credentials-prefix"),
    pytest.param("no-credentials", f"s3://{ERRORS_BUCKET}/pack/tone.wav", "no credentials", id="no-credentials-object"),
    pytest.param(
        "no-credentials",
        f"s3://{ERRORS_BUCKET}",
        "no credentials",
        id="no-credentials-bucket-root",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("failure, url, mentions", S3_CASES)
def test_s3_failures_fail_the_run(failure, url, mentions, request, tmp_path):
    if failure == "unreachable":
        endpoint = f"http://127.0.0.1:{request.getfixturevalue('closed_port')}"
    else:
        endpoint = request.getfixturevalue("errors_bucket")
    home = tmp_path / "home"
    home.mkdir()
    t0 = time.monotonic()
    fails(
        "index",
        url,
        "--catalog",
        str(tmp_path / "catalog"),
        "--storage-option",
        f"endpoint_url={endpoint}",
        code=1,
        mentions=mentions,
        env=s3_env(home, credentials=failure != "no-credentials"),
    )
    assert time.monotonic() - t0 < 60
    assert not (tmp_path / "catalog").exists()  # listed first: nothing written


# -- 5. read-only and full file systems: exit 1 ------------------------------------------------


@contextmanager
def tmpfs(path: Path, size: str):
    """A tmpfs of ``size`` mounted at ``path`` (skips the test where mounting is not permitted)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    path.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], check=True)


def remount(path: Path, option: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{option}", str(path)], check=True, capture_output=True)


@pytest.mark.slow
def test_a_catalog_on_a_read_only_file_system(small_library, tmp_path):
    lib, _ = small_library
    with tmpfs(tmp_path / "mnt", "1m") as mnt:
        cat = catalog_mod.Catalog(mnt / "catalog")
        cat.create()
        remount(mnt, "ro")
        fails(
            "index",
            str(lib),
            "--catalog",
            str(cat.root),
            "--workers",
            "1",
            code=1,
            mentions=f"read-only file system: {cat.root / 'LOCK'}",
        )
        # reading needs no write
        out = run_cli(
            "query", "SELECT count(*) AS n FROM samples", "--catalog", str(cat.root), "--format", "json"
        ).stdout
        assert json.loads(out) == [{"n": 0}]


def fill(folder: Path) -> None:
    """Write one file into ``folder`` until its file system has no byte left."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)
    assert os.statvfs(folder).f_bavail == 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "busy_dashboard_port",
    [
        False,
        True,
    ],
    ids=["free-dashboard-port", "busy-dashboard-port"],
)
def test_a_full_file_system_fails_the_run(small_library, tmp_path, busy_dashboard_port):
    """The disk fills while the run analyses: its first samples part cannot be written."""
    lib, specs = small_library
    with tmpfs(tmp_path / "mnt", "1m") as mnt, socket.socket() as dashboard:
        cat = catalog_mod.Catalog(mnt / "catalog")
        cat.create()
        # the lock rewrites its holder's name in place: give LOCK its page before the disk is full
        (cat.root / "LOCK").write_text(" " * 256)
        fill(mnt)
        env = cli_env()
        if busy_dashboard_port:
            env = cli_env()
            dashboard.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                dashboard.bind(("127.0.0.1", 8787))
                dashboard.listen()
            except OSError:
                pass  # taken already: by another cluster, as in the case this checks
        fails(
            "index",
            str(lib),
            "--catalog",
            str(cat.root),
            "--workers",
            "1",
            "--key-method",
            "classic",
            code=1,
            mentions="no space left on device",
            env=env,
        )
        assert not list((cat.root / "samples").glob("*.parquet"))  # no part, not even a partial one
        assert (cat.root / "LOCK").read_text() == ""  # released
        (mnt / "filler").unlink()
        # with room again, the same catalog takes the run
        proc = run_cli(
            "index",
            str(lib),
            "--catalog",
            str(cat.root),
            "--workers",
            "1",
            "--key-method",
            "classic",
            env=cli_env(),
        )
        assert f"analysed {len(specs)}" in proc.stdout


# -- 6. Ctrl-C: exit 130 -----------------------------------------------------------------------

N_INTERRUPT_FILES = 300


@pytest.fixture(scope="module")
def long_library(tmp_path_factory) -> Path:
    """A library whose `index` on 2 workers takes a few seconds (the mix test_crash kills)."""
    return demo.write_library(tmp_path_factory.mktemp("interrupt") / "lib", demo.bench_specs(N_INTERRUPT_FILES, seed=3))


@pytest.mark.slow
@pytest.mark.parametrize(
    "moment, to_group",
    [
        ("workers starting", False),
        ("mid-analysis", False),
        ("mid-analysis", True),
    ],
    ids=["workers-starting", "mid-analysis", "mid-analysis-whole-group"],
)
def test_ctrl_c_interrupts_the_run(moment, to_group, long_library, tmp_path, process_groups):
    cat = tmp_path / "catalog"
    command = [SAMPLEDEX, "index", str(long_library), "--catalog", str(cat), "--workers", "2"]
    proc = process_groups(command, env=cli_env())
    # `samples/` appears before the cluster starts; the first part once the workers analyse
    started = str(cat / "samples") if moment == "workers starting" else str(cat / "samples" / "part-*.parquet")
    wait_for(lambda: glob.glob(started) or proc.poll() is not None, 120, moment)
    assert proc.poll() is None, f"the run ended before the interrupt:\n{proc.communicate()}"
    # while the local workers start, the CLI ignores Ctrl-C (they inherit that, and stay quiet):
    # like a user, press it again until the run answers
    for _ in range(100):
        (os.killpg if to_group else os.kill)(proc.pid, signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=0.5 if moment == "workers starting" else 60)
            break
        except subprocess.TimeoutExpired:
            continue
    assert proc.returncode == 130, f"exit {proc.returncode}\n{out}\n{err}"
    assert assert_one_line(err) == "sampledex: interrupted"
    wait_for(lambda: not live_group_members(proc.pid), 15, "the workers to exit", poll_s=0.05)
    # released; or, interrupted before its first part, the new catalog was not left behind at all
    assert not cat.exists() if moment == "workers starting" else (cat / "LOCK").read_text() == ""

    rerun = run_cli(*command[1:], env=cli_env())
    assert f"files seen {N_INTERRUPT_FILES}," in rerun.stdout and ", failed 0," in rerun.stdout
    assert catalog_mod.Catalog(cat).query("SELECT count(*) FROM samples").fetchall() == [(N_INTERRUPT_FILES,)]


# -- 7. --debug and SAMPLEDEX_DEBUG add the traceback ------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, debug_env",
    [
        (["--debug", "index", "/nonexistent"], None),
        (["index", "/nonexistent", "--debug"], None),
        (["index", "/nonexistent"], "1"),
        (["index", "/nonexistent"], "0"),
    ],
    ids=["global-option", "command-option", "env", "env-0"],
)
def test_debug_shows_the_traceback(args, debug_env, tmp_path):
    env = cli_env(**({DEBUG_ENV: debug_env} if debug_env else {}))
    proc = run_cli(*args, "--catalog", str(tmp_path / "catalog"), expect=1, env=env)
    line = "sampledex: source '/nonexistent' does not exist"
    if debug_env == "0":
        assert assert_one_line(proc.stderr) == line
        return
    lines = proc.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert "SourceError: source '/nonexistent' does not exist" in lines[-2]
    assert lines[-1] == line

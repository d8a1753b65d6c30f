"""S3 through s3fs against moto's S3 server on loopback: real HTTP, real s3fs, a real local Dask cluster."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import CREDENTIALS, N_S3_OBJECTS, SAMPLEDEX  # the s3_server and bucket fixtures live there too
from conftest import run_cli as run

pytestmark = pytest.mark.slow
N_OBJECTS = N_S3_OBJECTS


def test_index_an_s3_prefix_end_to_end(bucket, tmp_path):
    fs, endpoint = bucket
    catalog = str(tmp_path / "catalog")
    proc = run(
        "index", "s3://lib", "--catalog", catalog, "--workers", "2", "--storage-option", f"endpoint_url={endpoint}"
    )
    assert f"files seen {N_OBJECTS}, analysed {N_OBJECTS}," in proc.stdout
    assert "testing" not in proc.stdout + proc.stderr  # credentials are never printed
    rows = json.loads(
        run(
            "query",
            "SELECT path, etag, content_hash, error, format, duration_s FROM samples",
            "--catalog",
            catalog,
            "--format",
            "json",
        ).stdout
    )
    assert len(rows) == N_OBJECTS
    assert all(r["path"].startswith("s3://lib/pack") and r["error"] is None for r in rows)
    # a single-part upload's ETag is the MD5 of its bytes: the same as our content hash
    assert all(r["etag"] == r["content_hash"] for r in rows)
    assert {r["format"] for r in rows} == {"wav"}
    assert all(abs(r["duration_s"] - 0.1) < 1e-6 for r in rows)
    assert "testing" not in "".join(p.read_bytes().decode("latin-1") for p in Path(catalog).rglob("*.parquet"))

    again = run(
        "index", "s3://lib", "--catalog", catalog, "--workers", "2", "--storage-option", f"endpoint_url={endpoint}"
    )
    assert f"analysed 0, skipped {N_OBJECTS}" in again.stdout


def test_storage_options_come_from_the_environment(bucket, tmp_path):
    fs, endpoint = bucket
    env_endpoint = {"FSSPEC_S3_ENDPOINT_URL": endpoint}
    proc = subprocess.run(
        [SAMPLEDEX, "analyze", "s3://lib/pack0/sub0/s0000.wav", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **CREDENTIALS, **env_endpoint},
    )
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)
    assert row["error"] is None and row["path"] == "s3://lib/pack0/sub0/s0000.wav"

"""``make bench`` runs: both key methods, back to back, with their ratio (the figures themselves are not asserted)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_bench_compares_the_cnn_with_classic_in_one_run(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sampledex.pipeline.tools.bench",
            "--files",
            "8",
            "--workers",
            "1",
            "--folder",
            str(tmp_path / "library"),
            "--key-method",
            "classic",
            "cnn",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    assert "key method classic" in out and "key method cnn" in out
    assert "cnn against classic, files/s: loop" in out
    assert out.count("; 0 failed files)") == 2

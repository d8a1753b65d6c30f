"""``make bench-startup``: how long the light commands take to start and answer, beside ``python -c pass``.

Each command runs as a fresh process, as a user runs it, several times; the
median wall time is printed. ``query "SELECT 1"`` and ``search`` run against an
empty catalog, so what is measured is start-up, the catalog connection and the
answer, not a scan.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sampledex.pipeline import catalog as catalog_mod

#: the target for `query`, `search` and `--help` (s), from the house-keeping issue
TARGET_S = 0.3


def wall_times(command: list[str], repeats: int) -> list[float]:
    """Wall time of ``command`` (s) for each of ``repeats`` runs; each must exit 0."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=9, help="runs per command (the median is printed)")
    args = parser.parse_args(argv)
    sampledex = str(Path(sys.executable).with_name("sampledex"))
    with tempfile.TemporaryDirectory() as tmp:
        catalog = catalog_mod.Catalog(Path(tmp) / "catalog")
        catalog.create()
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "sampledex --help": [sampledex, "--help"],
            "sampledex query 'SELECT 1'": [sampledex, "query", "SELECT 1", "--catalog", str(catalog.root)],
            "sampledex search --key Am --compatible": [
                sampledex,
                "search",
                "--key",
                "Am",
                "--compatible",
                "--catalog",
                str(catalog.root),
            ],
        }
        print(f"{'command':42s} {'median s':>9s} {'min s':>7s} {'max s':>7s}  (target {TARGET_S} s)")
        for name, command in commands.items():
            times = wall_times(command, args.repeats)
            print(f"{name:42s} {statistics.median(times):9.3f} {min(times):7.3f} {max(times):7.3f}")


if __name__ == "__main__":
    main()

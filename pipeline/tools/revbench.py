"""``make bench-against REV=…``: the analysis here against an earlier revision's, same files, same run.

Two measures, each revision in fresh processes of its own, alternating for a few rounds, medians compared:

- **CPU cost of a file**: ``analyze.describe`` over the seeded library (``make bench``'s), one thread, in CPU
  seconds (what a file costs a core, less disturbed than the wall clock by other work on a shared machine).
  One long-lived process per revision; the two take turns on batches of files (:func:`bench.turns`), so that each
  batch's two timings are a second apart and a drift of the machine's speed (a third within an hour here)
  falls on both alike;
- **``sampledex index``** into a fresh catalog on a local cluster, the files/s it prints once its workers
  are up, and for the whole command.

The earlier revision is exported with ``git archive`` into a temporary folder and imported from there, laid
out as its own ``pyproject.toml`` maps the package, so nothing is installed. Not a test: a command that
prints ratios.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from pathlib import Path

from . import demo
from .bench import turns

#: the child process: load every file of a folder and warm up on a few, say so, then for each batch named on
#: standard input (``start end``) analyse those files and print the CPU seconds they took
CHILD = """
import sys, time
from threadpoolctl import threadpool_limits
from sampledex.pipeline import analyze, sources
import fsspec
fs = fsspec.filesystem("file")
entries = sources.list_source(sys.argv[1])
blobs = [(fs.cat_file(e.path), e.path) for e in entries]
analyze.warm_up(sys.argv[2])
with threadpool_limits(1):
    for blob, path in blobs[:10]:
        analyze.describe(blob, method=sys.argv[2], name=path)
    print(len(blobs), flush=True)
    for line in sys.stdin:
        start, end = map(int, line.split())
        t0 = time.process_time()
        for blob, path in blobs[start:end]:
            analyze.describe(blob, method=sys.argv[2], name=path)
        print(time.process_time() - t0, flush=True)
"""


def export_revision(repo: Path, rev: str, into: Path) -> Path:
    """Write ``rev``'s tree under ``into/tree`` and an importable ``sampledex`` under ``into/path``; returns the
    latter, to put first on ``PYTHONPATH``.

    Raises
    ------
    subprocess.CalledProcessError
        if ``repo`` is not a git checkout or ``rev`` names no commit in it.
    """
    tree = into / "tree"
    tree.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", rev], capture_output=True, check=True)
    archive_path = into / "tree.tar"
    archive_path.write_bytes(archive.stdout)
    with tarfile.open(archive_path) as tar:
        tar.extractall(tree, filter="data")
    mapping = tomllib.loads((tree / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    path = into / "path"
    for package, folder in sorted(mapping.items()):
        link = path.joinpath(*package.split("."))
        if package == "sampledex":
            # the root package's folder holds its own files only; its subpackages are linked in beside them
            link.mkdir(parents=True)
            for item in (tree / folder).iterdir():
                (link / item.name).symlink_to(item)
        else:
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(tree / folder, target_is_directory=True)
    return path


def _environment(pythonpath: Path | None) -> dict[str, str]:
    """This process's environment, importing from ``pythonpath`` first if given."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _failed(what: str, pythonpath: Path | None, stderr: str) -> SystemExit:
    """One line naming ``what`` failed, on which side, and the revision's own last word, not a traceback."""
    last = (stderr.strip().splitlines() or ["no output"])[-1]
    side = "the earlier revision" if pythonpath else "this tree"
    return SystemExit(f"revbench: {what} failed in {side}: {last}")


def _run(command: list[str], pythonpath: Path | None, what: str) -> str:
    """Standard output of ``command`` in a new process, importing from ``pythonpath`` first if given; a failure
    is :func:`_failed`'s one line."""
    done = subprocess.run(command, env=_environment(pythonpath), capture_output=True, text=True)
    if done.returncode != 0:
        raise _failed(what, pythonpath, done.stderr)
    return done.stdout


class Analyser:
    """:data:`CHILD` over ``folder`` in a process of its own (importing from ``pythonpath`` if given), timing
    the batches it is handed."""

    def __init__(self, folder: str, method: str, pythonpath: Path | None):
        self.pythonpath = pythonpath
        # its warnings go to a file: a pipe that nobody reads until the child fails would fill and stall it
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD, folder, method],
            env=_environment(pythonpath),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        self.files = int(self._answer())

    def _answer(self) -> str:
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line:
            self.process.kill()
            self.process.wait()
            self.stderr.seek(0)
            raise _failed("the timed analysis", self.pythonpath, self.stderr.read())
        return line

    def cpu_seconds(self, start: int, end: int) -> float:
        """CPU seconds the files ``start:end`` took."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{start} {end}\n")
        self.process.stdin.flush()
        return float(self._answer())

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        self.stderr.close()


def files_per_cpu_second(first: Analyser, second: Analyser) -> tuple[float, float]:
    """One pass of both over every file, taking turns batch by batch (:func:`bench.turns`); each one's files per
    CPU second."""
    spent = [0.0, 0.0]
    for start, end, side in turns(first.files, 2):
        spent[side] += (first, second)[side].cpu_seconds(start, end)
    return first.files / spent[0], second.files / spent[1]


def index_files_per_s(folder: str, method: str, pythonpath: Path | None, catalog: Path) -> tuple[float, float]:
    """``sampledex index`` of ``folder`` into the fresh ``catalog``, in a new process (importing from
    ``pythonpath`` if given); (files/s once the workers are up, files/s of the whole command)."""
    command = [sys.executable, "-m", "sampledex", "index", folder, "--catalog", str(catalog), "--key-method", method]
    t0 = time.perf_counter()
    out = _run(command, pythonpath, "sampledex index")
    elapsed = time.perf_counter() - t0
    started, analysed = re.search(r"\(([\d.]+) files/s once started\)", out), re.search(r"analysed (\d+)", out)
    if started is None or analysed is None:
        raise SystemExit(f"revbench: index printed no files/s: {out.strip()[-200:]}")
    return float(started.group(1)), int(analysed.group(1)) / elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--against", required=True, help="the earlier revision (a commit, tag or branch)")
    parser.add_argument("--files", type=int, default=500, help="library size (default 500, as make bench)")
    parser.add_argument("--folder", default="bench-library", help="where the seeded library is written")
    parser.add_argument(
        "--library", help="an existing folder of audio to measure on instead, as it is (nothing is written to it)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=5, help="alternating passes of each (default 5)")
    parser.add_argument("--key-method", default="cnn", choices=("cnn", "classic"))
    args = parser.parse_args(argv)

    repo = Path(__file__).resolve().parents[2]
    if args.library:
        if not Path(args.library).is_dir():
            raise SystemExit(f"revbench: {args.library} is not a folder")
        folder = args.library
    else:
        folder = str(demo.write_library(args.folder, demo.bench_specs(args.files, seed=args.seed)))
    with tempfile.TemporaryDirectory() as tmp:
        try:
            earlier = export_revision(repo, args.against, Path(tmp))
        except subprocess.CalledProcessError as exc:
            raise SystemExit(
                f"revbench: cannot export {args.against!r} from {repo}: {exc.stderr.decode().strip()}"
            ) from None
        measures = ("CPU: files per CPU second", "index: files/s once started", "index: files/s, whole command")
        here: dict[str, list[float]] = {m: [] for m in measures}
        there: dict[str, list[float]] = {m: [] for m in measures}
        analysers = [Analyser(folder, args.key_method, path) for path in (earlier, None)]
        print(f"{analysers[0].files} files in {folder}; this tree against {args.against}; key method {args.key_method}")
        try:
            for i in range(args.rounds):
                old, new = files_per_cpu_second(*analysers)
                there[measures[0]].append(old)
                here[measures[0]].append(new)
                for figures, path in ((there, earlier), (here, None)):
                    catalog = Path(tmp) / f"catalog-{i}-{'here' if path is None else 'there'}"
                    started, whole = index_files_per_s(folder, args.key_method, path, catalog)
                    figures[measures[1]].append(started)
                    figures[measures[2]].append(whole)
                print(f"round {i + 1}: " + "; ".join(f"{m} {there[m][-1]:.1f} -> {here[m][-1]:.1f}" for m in measures))
        finally:
            for analyser in analysers:
                analyser.close()
    # each round's two runs are back to back, so their ratio is what this machine's drifts disturb least
    print(f"median over {args.rounds} rounds, {args.against} -> this tree (and of each round's ratio):")
    for m in measures:
        a, b = statistics.median(there[m]), statistics.median(here[m])
        paired = statistics.median(h / t for h, t in zip(here[m], there[m]))
        print(f"  {m:32s} {a:7.1f} -> {b:7.1f}  {b / a:.2f}x  ({paired:.2f}x)")


if __name__ == "__main__":
    main()

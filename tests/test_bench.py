"""``make bench`` runs: both key methods, back to back, with their ratio (the figures themselves are not asserted)."""

from __future__ import annotations

import os
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


def _git_checkout() -> bool:
    return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _git_checkout(), reason="make bench-against exports a revision with git")
def test_bench_against_times_an_exported_revision_beside_this_tree(tmp_path):
    """HEAD exported by git and imported from the export, not from the installed tree: its rounds are timed
    apart from this tree's, in one process and through ``sampledex index``, and the ratios of the medians printed."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sampledex.pipeline.tools.revbench",
            "--against",
            "HEAD",
            "--files",
            "4",
            "--rounds",
            "2",
            "--folder",
            str(tmp_path / "library"),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    assert out.count("round ") == 2 and "median over 2 rounds, HEAD -> this tree" in out
    ratios = [line for line in out.splitlines() if line.startswith("  ") and line.endswith("x)")]
    assert [line.split()[0] for line in ratios] == ["CPU:", "index:", "index:"]


def test_exported_revision_is_imported_from_the_export(tmp_path):
    if not _git_checkout():
        pytest.skip("needs a git checkout")
    from sampledex.pipeline.tools import revbench

    path = revbench.export_revision(revbench.Path(revbench.__file__).resolve().parents[2], "HEAD", tmp_path)
    found = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sampledex.pipeline.analyze as a, sampledex.models.cnn as c; print(a.__file__, c.__file__)",
        ],
        env={**os.environ, "PYTHONPATH": str(path)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(f.startswith(str(path)) for f in found), found


def test_a_revision_that_does_not_exist_is_one_line(tmp_path):
    if not _git_checkout():
        pytest.skip("needs a git checkout")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sampledex.pipeline.tools.revbench",
            "--against",
            "no-such-revision",
            "--files",
            "2",
            "--folder",
            str(tmp_path / "library"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.strip().startswith("revbench: cannot export 'no-such-revision'")
    assert "Traceback" not in done.stderr


def test_a_failing_run_is_one_line_with_the_revisions_last_word():
    from sampledex.pipeline.tools import revbench

    with pytest.raises(SystemExit) as stop:
        revbench._run([sys.executable, "-c", "raise ValueError('no such column: bpm')"], None, "sampledex index")
    assert str(stop.value) == "revbench: sampledex index failed in this tree: ValueError: no such column: bpm"


def test_an_analyser_that_fails_to_start_is_one_line(tmp_path):
    from sampledex.pipeline.tools import revbench

    (tmp_path / "sampledex").mkdir()
    (tmp_path / "sampledex" / "__init__.py").write_text("raise ImportError('half an export')\n")
    with pytest.raises(SystemExit) as stop:
        revbench.Analyser(str(tmp_path), "cnn", tmp_path)
    assert str(stop.value) == "revbench: the timed analysis failed in the earlier revision: ImportError: half an export"


def test_the_analysers_take_turns_over_every_file(tmp_path):
    from sampledex.pipeline.tools import demo, revbench

    folder = str(demo.write_library(str(tmp_path / "library"), demo.bench_specs(3, seed=0)))
    pair = [revbench.Analyser(folder, "classic", None) for _ in range(2)]
    try:
        rates = revbench.files_per_cpu_second(*pair)
    finally:
        for analyser in pair:
            analyser.close()
    assert pair[0].files == pair[1].files >= 3
    assert all(rate > 0 for rate in rates)


def test_turns_cover_every_file_once_per_side_and_alternate_who_goes_first():
    from sampledex.pipeline.tools.bench import turns

    assert list(turns(60, 2, batch=25)) == [(0, 25, 0), (0, 25, 1), (25, 50, 1), (25, 50, 0), (50, 60, 0), (50, 60, 1)]
    assert list(turns(3, 3, batch=5)) == [(0, 3, 0), (0, 3, 1), (0, 3, 2)]
    assert list(turns(0, 2)) == []


def test_an_existing_library_is_measured_as_it_is(tmp_path):
    if not _git_checkout():
        pytest.skip("needs a git checkout")
    from sampledex.pipeline.tools import demo

    library = demo.write_library(str(tmp_path / "mine"), demo.bench_specs(3, seed=1))
    before = sorted((p.name, p.stat().st_mtime_ns) for p in library.iterdir())
    out = subprocess.run(
        [sys.executable, "-m", "sampledex.pipeline.tools.revbench", "--against", "HEAD"]
        + ["--library", str(library), "--rounds", "1", "--key-method", "classic"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    assert out.splitlines()[0].startswith(f"3 files in {library};")
    assert sorted((p.name, p.stat().st_mtime_ns) for p in library.iterdir()) == before


def test_a_library_that_is_not_a_folder_is_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "sampledex.pipeline.tools.revbench", "--against", "HEAD"]
        + ["--library", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == f"revbench: {tmp_path / 'nowhere'} is not a folder"

"""The ``sampledex`` command end to end: real subprocesses, a real local Dask cluster, real DuckDB."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil

import pytest

from conftest import run_cli as run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def indexed(small_library, tmp_path_factory):
    """The small library plus one corrupt file, indexed by `sampledex index` on 2 local workers."""
    folder, specs = small_library
    lib = tmp_path_factory.mktemp("cli") / "lib"
    shutil.copytree(folder, lib)
    (lib / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    catalog = lib.parent / "catalog"
    proc = run("index", str(lib), "--catalog", str(catalog), "--workers", "2")
    return lib, specs, catalog, proc


def test_index_prints_a_summary_and_writes_every_file(indexed):
    lib, specs, catalog, proc = indexed
    assert "files seen 11, analysed 10, skipped 0 (unchanged), failed 1, removed 0" in proc.stdout
    assert "files/s" in proc.stdout and "broken.wav" in proc.stdout
    out = run(
        "query", "SELECT path, key, error FROM samples ORDER BY path", "--catalog", str(catalog), "--format", "csv"
    ).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 11
    broken = [r for r in rows if r["path"].endswith("broken.wav")][0]
    assert broken["error"] and not broken["key"]


def test_query_answers_the_readme_question(indexed):
    _, _, catalog, _ = indexed
    out = run(
        "query", "SELECT key, count(*) AS n FROM samples GROUP BY 1", "--catalog", str(catalog), "--format", "json"
    ).stdout
    counts = json.loads(out)
    assert sum(r["n"] for r in counts) == 11


def test_search_by_key_and_compatible_keys(indexed):
    lib, specs, catalog, _ = indexed
    exact = json.loads(run("search", "--key", "am", "--catalog", str(catalog), "--format", "json").stdout)
    assert exact and all(r["key"] == "A minor" for r in exact)
    compatible = json.loads(
        run("search", "--key", "8A", "--compatible", "--catalog", str(catalog), "--format", "json").stdout
    )
    assert {r["key"] for r in compatible} <= {"A minor", "C major", "D minor", "E minor"}
    assert len(compatible) >= len(exact)
    table = run("search", "--key", "A minor", "--limit", "1", "--catalog", str(catalog)).stdout
    assert "(1 row)" in table


def test_search_rejects_a_bad_key(indexed):
    _, _, catalog, _ = indexed
    proc = run("search", "--key", "H major", "--catalog", str(catalog), expect=2)
    assert "H major" in proc.stderr


def test_rerun_analyses_nothing_and_runs_view_records_both(indexed):
    lib, _, catalog, _ = indexed
    proc = run("index", str(lib), "--catalog", str(catalog), "--workers", "2")
    assert "analysed 0, skipped 11" in proc.stdout  # the broken file is a known-bad row: not retried
    runs = json.loads(run("query", "SELECT * FROM runs", "--catalog", str(catalog), "--format", "json").stdout)
    assert [r["analysed"] for r in runs] == [10, 0]
    assert set(runs[0]) == {
        "run_id",
        "started_at",
        "finished_at",
        "seen",
        "analysed",
        "skipped",
        "failed",
        "removed",
        "files_per_s",
    }


def test_query_is_read_only(indexed):
    _, _, catalog, _ = indexed
    before = sorted(p.name for p in catalog.rglob("*"))
    for sql in (
        f"COPY (SELECT 1) TO '{catalog}/x.csv'",
        f"ATTACH '{catalog}/x.db'",
        "INSTALL httpfs",
        "CREATE TABLE t AS SELECT 1",
        "SELECT * FROM read_csv('/etc/hostname')",
    ):
        proc = run("query", sql, "--catalog", str(catalog), expect=1)
        assert "sampledex:" in proc.stderr
    assert sorted(p.name for p in catalog.rglob("*")) == before


def test_a_locked_catalog_is_refused_at_once(indexed):
    lib, _, catalog, _ = indexed
    from sampledex.pipeline import catalog as catalog_mod

    with catalog_mod.Catalog(catalog).lock():
        proc = run("index", str(lib), "--catalog", str(catalog), expect=3)
    assert f"being written by pid {os.getpid()}" in proc.stderr and "Traceback" not in proc.stderr


def test_analyze_prints_rows_without_a_catalog(small_library, tmp_path):
    folder, specs = small_library
    loop = next(s for s in specs if s.kind == "tonal_loop")
    out = run(
        "analyze", str(folder / loop.name), "file://" + str(folder / specs[1].name), "--format", "json", cwd=tmp_path
    ).stdout
    rows = json.loads(out)
    assert [r["error"] for r in rows] == [None, None]
    assert rows[0]["key"] and rows[0]["camelot"] and rows[0]["duration_s"] > 0
    assert not (tmp_path / "catalog").exists()


def test_missing_source_fails_the_run(tmp_path):
    proc = run("index", str(tmp_path / "nope"), "--catalog", str(tmp_path / "catalog"), expect=1)
    assert "does not exist" in proc.stderr


def test_an_unreachable_scheduler_fails_the_run_with_a_clear_message(small_library, tmp_path):
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder, _ = small_library
    proc = run(
        "index", str(folder), "--catalog", str(tmp_path / "c"), "--scheduler", f"tcp://127.0.0.1:{port}", expect=1
    )
    assert "cannot reach the Dask scheduler" in proc.stderr and "Traceback" not in proc.stderr


def test_a_search_on_a_column_no_row_fills_says_so(tmp_path):
    """Filtering on a column that is NULL in every row finds nothing; the search says why, on stderr."""
    import datetime as dt

    import pyarrow as pa

    from sampledex.pipeline import catalog as catalog_mod
    from sampledex.pipeline import schema

    cat = catalog_mod.Catalog(tmp_path / "catalog")
    cat.create()
    row = {"path": "/a.wav", "key": "A minor", "kind": "loop", "indexed_at": dt.datetime(2026, 1, 1)}
    cat.write("samples", pa.Table.from_pylist([row], schema=schema.SAMPLES), "part-1")
    proc = run("search", "--bpm", "120:128", "--root", "C3", "--catalog", str(cat.root))
    assert "(0 rows)" in proc.stdout
    assert proc.stderr.count("\n") == 1 and "--bpm (column bpm), --root (column root_note)" in proc.stderr
    quiet = run("search", "--kind", "one-shot", "--catalog", str(cat.root))  # kind has values: no note
    assert "(0 rows)" in quiet.stdout and quiet.stderr == ""

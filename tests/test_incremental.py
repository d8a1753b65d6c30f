"""Incremental runs: unchanged files are not read, changed ones are re-analysed, deleted ones leave,
copies and moves are recognised by content hash, a new analysis version re-analyses everything.

Runs go through ``run.run_index`` on an in-process Dask cluster with the classic key method.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil

import fsspec
import pytest

from sampledex.pipeline import analyze, features, plan, run, schema
from sampledex.pipeline import catalog as catalog_mod
from sampledex.pipeline.sources import FileEntry

from conftest import write_tone

#: what a copied row takes from the file rather than from the row it copies
IDENTITY = {"path", "source", "size_bytes", "mtime", "etag", "analysis_version", "indexed_at"}
ANALYSIS = [c for c in schema.SAMPLES.names if c not in IDENTITY]


@pytest.fixture
def indexed(private_library, tmp_path, client):
    """A private copy of the small library (its files get changed), indexed once.

    Returns (library folder, catalog, index function, first run's summary).
    """
    lib, _ = private_library
    cat = catalog_mod.Catalog(tmp_path / "catalog")

    def index(**kw) -> run.RunSummary:
        return run.run_index([str(lib)], cat, client=client, method="classic", progress=False, **kw)

    first = index()
    assert (first.seen, first.analysed, first.failed) == (10, 10, 0)
    return lib, cat, index, first


def samples(cat: catalog_mod.Catalog) -> dict[str, dict]:
    return {r["path"]: r for r in cat.query("SELECT * FROM samples").to_arrow_table().to_pylist()}


def counts(summary: run.RunSummary) -> dict[str, int]:
    return {k: getattr(summary, k) for k in ("seen", "analysed", "skipped", "reused", "hashed", "failed", "removed")}


def a_file(lib, n: int = 0):
    """The n-th WAV file of the library (WAV: its bytes can be changed in place and stay audio)."""
    return sorted(lib.glob("*.wav"))[n]


def test_an_unchanged_library_is_neither_analysed_nor_read(indexed):
    lib, cat, index, _ = indexed
    again = index()
    assert counts(again) == dict(seen=10, analysed=0, skipped=10, reused=0, hashed=0, failed=0, removed=0)
    assert "skipped 10 (unchanged)" in again.text()


def test_a_copy_is_recognised_by_content_hash_and_not_analysed(indexed):
    lib, cat, index, _ = indexed
    original = a_file(lib)
    (lib / "copies").mkdir()
    copy = lib / "copies" / "renamed.wav"
    shutil.copyfile(original, copy)  # a new mtime too

    result = index()
    assert counts(result) == dict(seen=11, analysed=0, skipped=11, reused=1, hashed=1, failed=0, removed=0)
    assert "skipped 11 (10 unchanged, 1 reused by content hash" in result.text()
    rows = samples(cat)
    old, new = rows[str(original)], rows[str(copy)]
    assert {c: new[c] for c in ANALYSIS} == {c: old[c] for c in ANALYSIS} and new["error"] is None
    assert new["size_bytes"] == copy.stat().st_size and new["indexed_at"] > old["indexed_at"]
    assert new["mtime"] == dt.datetime.fromtimestamp(copy.stat().st_mtime, dt.UTC).replace(tzinfo=None)
    runs = cat.query("SELECT seen, analysed, skipped, failed, removed FROM runs").fetchall()
    assert runs[-1] == (11, 0, 11, 0, 0)  # the contract's columns: a reused file counts as skipped


def test_a_move_is_recognised_and_the_old_path_leaves(indexed):
    lib, cat, index, _ = indexed
    original = a_file(lib)
    before = samples(cat)[str(original)]
    moved = lib / "moved.wav"
    original.rename(moved)

    result = index()
    assert counts(result) == dict(seen=10, analysed=0, skipped=10, reused=1, hashed=1, failed=0, removed=1)
    rows = samples(cat)
    assert str(original) not in rows and len(rows) == 10
    assert {c: rows[str(moved)][c] for c in ANALYSIS} == {c: before[c] for c in ANALYSIS}


def test_a_touched_file_is_hashed_but_not_analysed(indexed):
    lib, cat, index, _ = indexed
    touched = a_file(lib)
    os.utime(touched, (1.7e9, 1.7e9))

    result = index()
    assert (result.analysed, result.reused, result.hashed) == (0, 1, 1)
    assert samples(cat)[str(touched)]["mtime"] == dt.datetime(2023, 11, 14, 22, 13, 20)
    assert index().hashed == 0  # its row now has the new mtime


def test_changed_content_is_reanalysed(indexed, tmp_path):
    lib, cat, index, _ = indexed
    changed = a_file(lib)
    write_tone(changed, seconds=0.7, freq=330.0)

    result = index()
    assert (result.analysed, result.reused, result.skipped) == (1, 0, 9)
    assert samples(cat)[str(changed)]["content_hash"] == features.content_hash(changed.read_bytes())


def test_a_same_size_rewrite_with_its_mtime_restored_is_seen_only_by_full(indexed):
    """The documented limit: without reading every file, identical size and mtime mean unchanged."""
    lib, cat, index, _ = indexed
    path = a_file(lib)
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[-64:] = bytes(64)  # the last samples silenced: same length, other bytes
    path.write_bytes(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))

    result = index()
    assert (result.analysed, result.hashed) == (0, 0)
    assert samples(cat)[str(path)]["content_hash"] != features.content_hash(bytes(data))
    full = index(full=True)
    assert (full.analysed, full.reused, full.hashed) == (10, 0, 0)
    assert samples(cat)[str(path)]["content_hash"] == features.content_hash(bytes(data))


def test_a_new_analysis_version_reanalyses_everything_copies_included(indexed, monkeypatch):
    lib, cat, index, _ = indexed
    shutil.copyfile(a_file(lib), lib / "copy.wav")
    monkeypatch.setattr(analyze, "FEATURES_VERSION", "f-test")  # workers run in this process

    result = index()
    assert (result.analysed, result.reused, result.hashed, result.skipped) == (11, 0, 0, 0)
    assert {r["analysis_version"] for r in samples(cat).values()} == {analyze.analysis_version("classic")}


def test_rows_with_errors_are_not_copied(indexed):
    lib, cat, index, _ = indexed
    original = a_file(lib)
    (lib / "junk.wav").write_bytes(b"not audio at all")
    assert index().failed == 1
    shutil.copyfile(lib / "junk.wav", lib / "junk-copy.wav")
    shutil.copyfile(original, lib / "good-copy.wav")

    result = index()
    assert (result.analysed, result.failed, result.reused) == (0, 1, 1)
    assert samples(cat)[str(lib / "junk-copy.wav")]["error"]


def test_leftover_temporary_files_are_invisible_and_removed_by_the_next_run(indexed):
    lib, cat, index, _ = indexed
    leftovers = [
        cat.root / "samples" / ".part-x-00003.parquet.0badc0de.tmp",
        cat.root / "runs" / ".run-x.parquet.0badc0de.tmp",
    ]
    for path in leftovers:
        path.write_bytes(b"PAR1 half a Parquet file")  # what a writer killed mid-write leaves
    assert cat.query("SELECT count(*) FROM samples").fetchall() == [(10,)]
    assert len(cat.query("SELECT * FROM runs").fetchall()) == 1

    index()
    assert not any(p.exists() for p in leftovers)


def entry(path: str, etag: str | None) -> FileEntry:
    return FileEntry(path=path, fs_path=path, source="", size=1, mtime=None, etag=etag)


MD5 = "0cc175b9c0f1b6a831c399e269772661"


@pytest.mark.parametrize(
    "path,etag,expected",
    [
        ("s3://lib/a.wav", MD5, MD5),  # single-part upload: the MD5
        ("s3://lib/a.wav", "9b2cf535f27731c974343645a3985328-3", None),  # multipart
        ("s3://lib/a.wav", None, None),
        ("/lib/a.wav", MD5, None),  # other sources: no promise what an ETag is
        ("https://host/a.wav", MD5, None),
    ],
)
def test_a_hash_is_taken_from_the_listing_only_where_the_etag_is_an_md5(path, etag, expected):
    assert plan.listed_hash(entry(path, etag)) == expected


def test_hash_files_reads_the_content_hash_and_none_for_an_unreadable_file(small_library):
    folder, specs = small_library
    path = str(folder / specs[0].name)
    hashes = run.hash_files(fsspec.filesystem("file"), [entry(path, None), entry(path + ".gone", None)])
    assert hashes == [features.content_hash((folder / specs[0].name).read_bytes()), None]


def test_only_current_rows_without_errors_are_reusable():
    t = dt.datetime(2026, 1, 1)
    current = {
        "/b.wav": (10, t, None, "h1", "v1", None),
        "/a.wav": (20, t, None, "h1", "v1", None),
        "/old.wav": (30, t, None, "h2", "v0", None),
        "/bad.wav": (40, t, None, "h3", "v1", "not decodable audio"),
    }
    known = plan.reusable(current, "v1")
    assert known.by_hash == {"h1": "/a.wav"} and known.sizes == {10, 20}


@pytest.mark.slow
def test_s3_copies_and_moves_are_recognised_by_etag_without_reading(s3_server, small_library, tmp_path, client):
    import s3fs

    folder, specs = small_library
    options = {"endpoint_url": s3_server, "key": "testing", "secret": "testing"}
    fs = s3fs.S3FileSystem(**options)
    fs.mkdir("moves")
    for s in specs[:3]:
        fs.put_file(str(folder / s.name), f"moves/{s.name}")
    cat = catalog_mod.Catalog(tmp_path / "catalog")

    def index() -> run.RunSummary:
        return run.run_index(
            ["s3://moves"], cat, client=client, method="classic", progress=False, storage_options=options
        )

    assert index().analysed == 3
    fs.copy(f"moves/{specs[0].name}", "moves/copied.wav")
    fs.mv(f"moves/{specs[1].name}", "moves/sub/moved.wav")
    second = index()
    assert counts(second) == dict(seen=4, analysed=0, skipped=4, reused=2, hashed=0, failed=0, removed=1)
    rows = samples(cat)
    assert {"s3://moves/copied.wav", "s3://moves/sub/moved.wav"} <= set(rows)
    assert all(r["etag"] == r["content_hash"] for r in rows.values())

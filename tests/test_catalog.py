"""The catalog's upkeep: compaction into a sorted base, damage detected and healed, missing folders, first runs.

Each healing test damages a real catalog the way a disk, a user or another program would, runs one
``index``, and compares the result with a clean run of the same library.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sampledex.pipeline import catalog as catalog_mod
from sampledex.pipeline import parts, run, schema

from conftest import SAMPLEDEX, run_cli

#: what must agree between a healed catalog and a clean one (timestamps and versions may differ)
COMPARED = "path, key, key_confidence, duration_s, format, sample_rate, channels, error, notes, content_hash"
T0 = dt.datetime(2026, 1, 1)


def rows_of(cat: catalog_mod.Catalog) -> list[tuple]:
    return cat.query(f"SELECT {COMPARED} FROM samples ORDER BY path").fetchall()


def index(lib, cat, client) -> run.RunSummary:
    return run.run_index([str(lib)], cat, client=client, method="classic", progress=False)


@pytest.fixture(scope="module")
def clean(small_library, client, tmp_path_factory):
    """The rows of an undamaged run over the small library."""
    folder, _ = small_library
    cat = catalog_mod.Catalog(tmp_path_factory.mktemp("clean") / "catalog")
    index(folder, cat, client)
    return rows_of(cat)


@pytest.fixture
def indexed(small_library, client, tmp_path):
    folder, _ = small_library
    cat = catalog_mod.Catalog(tmp_path / "catalog")
    index(folder, cat, client)
    return folder, cat


def a_part(cat: catalog_mod.Catalog) -> parts.Path:
    return sorted((cat.root / cat.generation().folder("samples")).glob("part-*.parquet"))[0]


def sample(path: str, indexed_at: dt.datetime, **extra) -> dict:
    return {
        "path": path,
        "source": "/lib",
        "size_bytes": 1,
        "mtime": T0,
        "analysis_version": "t",
        "indexed_at": indexed_at,
        **extra,
    }


def write_rows(cat, rows, name, kind="samples"):
    table_schema = schema.SAMPLES if kind == "samples" else schema.REMOVALS
    return cat.write(kind, pa.Table.from_pylist(rows, schema=table_schema), name)


# -- compaction --------------------------------------------------------------------


def test_compaction_keeps_every_answer_and_sorts_the_base(indexed, clean):
    _, cat = indexed
    before = rows_of(cat)
    done = cat.compact(force=True)
    assert done and done.generation == 1 and done.rows == len(before)
    assert rows_of(cat) == before == clean
    base = cat.root / cat.generation().base
    keys = pq.read_table(base, columns=["key"]).column("key").to_pylist()
    assert keys == sorted(keys, key=lambda k: (k is None, k or ""))  # key order, keyless last
    assert pq.read_schema(base).field("path_key").type == pa.uint64()
    assert parts.problem(base) is None  # checksummed like every part


def test_after_compaction_parts_and_removals_still_supersede_the_base(tmp_path):
    cat = catalog_mod.Catalog(tmp_path / "catalog")
    cat.create()
    write_rows(
        cat,
        [sample("/a.wav", T0, key="A minor"), sample("/b.wav", T0, key="C major"), sample("/c.wav", T0, key="D major")],
        "part-1",
    )
    cat.compact(force=True)
    later = T0 + dt.timedelta(hours=1)
    # the new generation's folders receive what comes next
    path = write_rows(cat, [sample("/a.wav", later, key="E minor")], "part-2")
    assert path.parent.name == "g000001"
    write_rows(cat, [{"path": "/b.wav", "removed_at": later}], "removed-1", kind="removals")
    assert cat.query("SELECT path, key FROM samples ORDER BY path").fetchall() == [
        ("/a.wav", "E minor"),
        ("/c.wav", "D major"),
    ]
    # a removal older than a path's row does not hide it; a row newer than its removal shows again
    write_rows(cat, [sample("/b.wav", later + dt.timedelta(hours=1), key="G major")], "part-3")
    assert cat.query("SELECT key FROM samples WHERE path = '/b.wav'").fetchall() == [("G major",)]
    assert cat.query("SELECT count(*) FROM sample_history").fetchall() == [(5,)]
    cat.compact(force=True)
    assert cat.query("SELECT path, key FROM samples ORDER BY path").fetchall() == [
        ("/a.wav", "E minor"),
        ("/b.wav", "G major"),
        ("/c.wav", "D major"),
    ]


def test_a_reader_holds_its_generation_and_old_files_leave_after_the_grace(tmp_path):
    cat = catalog_mod.Catalog(tmp_path / "catalog")
    cat.create()
    old_part = write_rows(cat, [sample("/a.wav", T0, key="A minor")], "part-1")
    reader = cat.connect()
    cat.compact(force=True)
    write_rows(cat, [sample("/b.wav", T0, key="B minor")], "part-2")
    # the reader that connected before the switch still reads its generation, whole
    assert reader.execute("SELECT path FROM samples").fetchall() == [("/a.wav",)]
    assert cat.retire() == [] and old_part.exists()  # within the grace: kept
    base_1 = cat.root / cat.generation().base
    cat.compact(force=True)
    gone = cat.retire(now=base_1.stat().st_mtime + catalog_mod.RETIRE_AFTER_S + 1)
    assert str(old_part.relative_to(cat.root)) in gone and not old_part.exists()
    assert not base_1.exists() or cat.generation().base == str(base_1.relative_to(cat.root))
    assert cat.query("SELECT path FROM samples ORDER BY path").fetchall() == [("/a.wav",), ("/b.wav",)]


def test_index_compacts_past_the_threshold(small_library, client, tmp_path, monkeypatch):
    folder, _ = small_library
    cat = catalog_mod.Catalog(tmp_path / "catalog")
    monkeypatch.setattr(catalog_mod, "COMPACT_MIN_ROWS", 5)
    summary = index(folder, cat, client)
    assert summary.compaction and summary.compaction.generation == 1
    assert "compacted" in summary.text()
    again = index(folder, cat, client)  # nothing new: no second compaction
    assert again.compaction is None and again.analysed == 0


# -- damage, detected and healed ---------------------------------------------------


def flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def stray_text(cat):
    (cat.root / cat.generation().folder("samples") / "notes.parquet").write_text("not parquet\n")


def foreign_parquet(cat):
    """A valid Parquet file with a NULL path, as another program might leave (it crashed index before)."""
    pq.write_table(
        pa.table({"path": pa.array([None], pa.string()), "key": ["C major"]}),
        cat.root / cat.generation().folder("samples") / "part-foreign.parquet",
    )


DAMAGE = {
    "flipped-byte": lambda cat: flip_a_byte(a_part(cat)),
    "truncated-part": lambda cat: truncate(a_part(cat)),
    "stray-file": stray_text,
    "foreign-parquet": foreign_parquet,
    "deleted-runs": lambda cat: shutil.rmtree(cat.root / "runs"),
    "deleted-removals": lambda cat: shutil.rmtree(cat.root / "removals"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_one_index_run_heals_the_catalog(damage, indexed, clean, client, caplog):
    folder, cat = indexed
    DAMAGE[damage](cat)
    with caplog.at_level(logging.WARNING, logger="sampledex"):
        cat.query("SELECT count(*) FROM samples").fetchall()  # readers go on, leaving the bad file out
        assert cat.query("SELECT count(*) FROM runs").fetchall()
    damaged = [r for r in caplog.records if r.name == "sampledex"]
    assert len(damaged) == (0 if damage.startswith("deleted") else 1)
    summary = index(folder, cat, client)
    assert rows_of(cat) == clean
    if damage.startswith("deleted"):
        assert not summary.quarantined
    else:
        assert len(summary.quarantined) == 1
        assert sum(line.startswith("warning: quarantined") for line in summary.text().splitlines()) == 1
        assert len(list((cat.root / "quarantine").glob("*.why"))) == 1
    assert cat.snapshot().problems == []


def test_check_finds_and_repairs_from_the_command_line(indexed):
    _, cat = indexed
    flip_a_byte(a_part(cat))
    proc = run_cli("check", "--catalog", str(cat.root), expect=1)
    assert "damaged: checksum" in proc.stdout and len(proc.stderr.splitlines()) == 1
    query = run_cli("query", "SELECT count(*) AS n FROM samples", "--catalog", str(cat.root), "--format", "csv")
    assert query.stderr.startswith("sampledex: warning: left out samples/part-") and len(query.stderr.splitlines()) == 1
    repaired = run_cli("check", "--repair", "--catalog", str(cat.root))
    assert "quarantined samples/part-" in repaired.stdout
    run_cli("check", "--catalog", str(cat.root))


def test_a_catalog_of_an_older_version_is_read_and_adopted(small_library, client, tmp_path, clean):
    """Parts without checksums and schema.parquet files, no CURRENT.json: readable as it is; the next
    index renames its parts with their checksums and quarantines what is not a whole Parquet file."""
    folder, _ = small_library
    cat = catalog_mod.Catalog(tmp_path / "catalog")
    index(folder, cat, client)
    for path in cat.root.rglob("*.parquet"):  # back to the old names
        stem = path.name.split(".")[0]
        path.rename(path.with_name(f"{stem}.parquet"))
    for kind in ("samples", "removals", "runs"):
        pq.write_table(getattr(schema, kind.upper()).empty_table(), cat.root / kind / "schema.parquet")
    (cat.root / "CURRENT.json").unlink()
    (cat.root / "samples" / "junk.parquet").write_bytes(b"PAR1 not really")
    assert cat.exists() and rows_of(cat) == clean
    index(folder, cat, client)
    assert rows_of(cat) == clean and (cat.root / "CURRENT.json").is_file()
    assert all(parts.declared_checksum(p.name) for p in (cat.root / "samples").glob("*.parquet"))
    assert list((cat.root / "quarantine").glob("samples__junk.parquet.*.why"))


# -- first runs ------------------------------------------------------------------


def test_a_failed_first_run_leaves_no_catalog(tmp_path):
    run_cli("index", str(tmp_path / "missing"), "--catalog", str(tmp_path / "c1"), expect=1)
    assert not (tmp_path / "c1").exists()


@pytest.mark.slow
def test_a_first_run_that_fails_after_the_listing_leaves_no_catalog(small_library, tmp_path):
    """The scheduler is tried after the catalog is made (under its lock): the catalog goes again."""
    folder, _ = small_library
    run_cli("index", str(folder), "--catalog", str(tmp_path / "c2"), "--scheduler", "tcp://127.0.0.1:9", expect=1)
    assert not (tmp_path / "c2").exists()


@pytest.mark.slow
def test_simultaneous_first_runs_on_a_new_catalog_do_not_race(small_library, tmp_path):
    folder, _ = small_library
    cat = tmp_path / "catalog"
    procs = [
        subprocess.Popen(
            [SAMPLEDEX, "index", str(folder), "--catalog", str(cat), "--workers", "1", "--key-method", "classic"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        for _ in range(3)
    ]
    results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes[0] == 0 and set(codes) <= {0, 3}, results
    assert not any("Traceback" in err for _, _, err in results)
    assert all(len(err.splitlines()) == 1 for code, _, err in results if code == 3)
    check = subprocess.run([SAMPLEDEX, "check", "--catalog", str(cat)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    total = subprocess.run(
        [SAMPLEDEX, "query", "SELECT count(*) FROM samples", "--catalog", str(cat), "--format", "csv"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert total.split() == ["count_star()", "10"]


def test_the_packaged_empty_files_are_the_schema(tmp_path):
    """``sql/empty_*.parquet`` (every view's last file) hold exactly the schemas of :mod:`schema`."""
    from importlib import resources

    for written in schema.write_empty_files(tmp_path):
        shipped = resources.files("sampledex.sql").joinpath(written.name)
        assert pq.read_schema(str(shipped)) == pq.read_schema(written), written.name


def test_python_dash_m_check_runs(indexed):
    _, cat = indexed
    out = subprocess.run(
        [sys.executable, "-m", "sampledex", "check", "--catalog", str(cat.root)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "every file verified" in out


def test_a_verified_large_file_is_remembered_until_it_changes(tmp_path, monkeypatch):
    """Across processes a large verified file is not hashed again while inode, size, mtime and ctime
    stay; any write moves ctime, so a damaged file is hashed, and caught, again."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(parts, "REMEMBER_BYTES", 0)
    monkeypatch.setattr(parts, "_verified", {})  # a fresh process
    cat = catalog_mod.Catalog(tmp_path / "catalog")
    cat.create()
    part = write_rows(cat, [sample("/a.wav", T0, key="A minor")], "part-1")
    assert parts.problem(part) is None
    assert str(part) in (tmp_path / "cache" / "sampledex" / "verified.json").read_text()

    monkeypatch.setattr(parts, "_verified", {})  # another process: trusts the record, hashes nothing
    monkeypatch.setattr(parts, "checksum", lambda path: pytest.fail("hashed a remembered file"))
    assert parts.problem(part) is None
    monkeypatch.undo()

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(parts, "REMEMBER_BYTES", 0)
    monkeypatch.setattr(parts, "_verified", {})
    flip_a_byte(part)
    assert parts.problem(part).startswith("damaged: checksum")
    assert parts.problem(part, remembered=False).startswith("damaged: checksum")


def test_any_duckdb_client_reads_the_catalog_through_the_sql_files(indexed, clean):
    """README's recipe for another DuckDB client: set the catalog, read files.sql, keys, macros and views."""
    from importlib import resources

    import duckdb

    _, cat = indexed
    write_rows(cat, [sample("/extra.wav", T0)], "part-extra")
    cat.compact(force=True)
    sql = resources.files("sampledex.sql")
    con = duckdb.connect()
    con.execute("SET VARIABLE sampledex_catalog = ?", [str(cat.root)])
    con.execute("SET VARIABLE sampledex_sql = ?", [str(sql)])
    for name in ("files.sql", "keys.sql", "macros.sql", "views.sql"):
        con.execute(sql.joinpath(name).read_text())
    theirs = con.execute(f"SELECT {COMPARED} FROM samples ORDER BY path").fetchall()
    assert theirs == rows_of(cat) and len(theirs) == len(clean) + 1

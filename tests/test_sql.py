"""The DuckDB side of the catalog: key wheel, macros, views, and the read-only guard."""

from __future__ import annotations

import datetime as dt
import os

import duckdb
import pyarrow as pa
import pytest

from sampledex.models import keys
from sampledex.pipeline import catalog, schema

T0 = dt.datetime(2024, 1, 1, 12, 0, 0)


@pytest.fixture()
def cat(tmp_path):
    c = catalog.Catalog(tmp_path / "catalog")
    c.create()
    return c


@pytest.fixture()
def q(cat):
    """Read-only SQL on a new connection each time: a connection reads the files that were there when it
    connected (a snapshot), as each command does."""
    return lambda sql: cat.query(sql).fetchall()


@pytest.fixture(scope="module")
def mq(tmp_path_factory):
    """A query runner on one shared, empty catalog, for the tests that only read."""
    c = catalog.Catalog(tmp_path_factory.mktemp("shared") / "catalog")
    c.create()
    con = c.connect()
    return lambda sql: c.query(sql, con).fetchall()


def _files(root) -> set[str]:
    return {os.path.relpath(os.path.join(d, f), root) for d, _, names in os.walk(root) for f in names}


def _sample(path, indexed_at, **extra):
    row = {
        "path": path,
        "source": "/lib",
        "size_bytes": 100,
        "mtime": T0,
        "format": "wav",
        "sample_rate": 44100,
        "channels": 2,
        "duration_s": 1.0,
        "kind": "loop",
        "analysis_version": "test-1",
        "indexed_at": indexed_at,
    }
    row.update(extra)
    return row


def _write_samples(cat, rows, name):
    return cat.write("samples", pa.Table.from_pylist(rows, schema=schema.SAMPLES), name)


def _write_removals(cat, rows, name):
    return cat.write("removals", pa.Table.from_pylist(rows, schema=schema.REMOVALS), name)


# -- the key wheel ----------------------------------------------------------


def test_key_wheel_agrees_with_models_keys(mq):
    rows = mq("SELECT key, tonic, mode, tonic_pc, camelot_number, camelot_letter, camelot FROM key_wheel")
    assert len(rows) == 24
    by_key = {r[0]: r for r in rows}
    assert set(by_key) == set(keys.KEY_NAMES)
    for index, name in enumerate(keys.KEY_NAMES):
        key, tonic, mode, pc, number, letter, code = by_key[name]
        assert tonic == keys.TONICS[keys.tonic_pc(index)]
        assert mode == ("minor" if keys.is_minor(index) else "major")
        assert pc == keys.tonic_pc(index)
        assert code == keys.camelot(index)
        assert f"{number}{letter}" == code
    assert len({r[6] for r in rows}) == 24


@pytest.mark.parametrize("index", range(24))
def test_camelot_and_key_name_macros_for_all_keys(mq, index):
    name, code = keys.KEY_NAMES[index], keys.camelot(index)
    assert mq(f"SELECT camelot('{name}'), key_name('{code}'), key_name('{name}'), camelot('{code.lower()}')") == [
        (code, name, name, code)
    ]


def test_macro_examples(mq):
    assert mq("SELECT camelot('A minor'), camelot('C major'), camelot('8a'), camelot(' 8a ')") == [
        ("8A", "8B", "8A", "8A")
    ]
    assert mq("SELECT key_name('12A'), key_name('12b'), key_name('8A')") == [("Db minor", "E major", "A minor")]
    assert mq("SELECT camelot('not a key'), key_name('13A'), camelot(NULL)") == [(None, None, None)]


# -- compatible_keys --------------------------------------------------------

RULES = ("exact", "adjacent", "relative", "camelot", "extended")


def _expected_compatible(name: str, rule: str) -> set[str]:
    """The rule, from models.keys' Camelot codes, without the SQL."""

    def wheel(i):
        code = keys.camelot(i)
        return int(code[:-1]), code[-1]

    n0, l0 = wheel(keys.parse_key(name))
    out = set()
    for i in range(24):
        n, letter = wheel(i)
        step = (n - n0) % 12
        same = letter == l0
        exact = same and step == 0
        adjacent = same and step in (1, 11)
        relative = not same and step == 0
        diagonal = not same and step in (1, 11)
        if (
            exact
            or (rule in ("adjacent", "camelot", "extended") and adjacent)
            or (rule in ("relative", "camelot", "extended") and relative)
            or (rule == "extended" and diagonal)
        ):
            out.add(keys.KEY_NAMES[i])
    return out


SIZES = {"exact": 1, "adjacent": 3, "relative": 2, "camelot": 4, "extended": 6}


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("key", ["A minor", "12B", "1A", "1B", "12A", "C major", "F# minor", "8a"])
def test_compatible_keys(mq, key, rule):
    [(got,)] = mq(f"SELECT compatible_keys('{key}', rule := '{rule}')")
    assert len(got) == len(set(got)) == SIZES[rule]
    assert set(got) == _expected_compatible(key, rule)


@pytest.mark.parametrize("index", range(24))
def test_compatible_keys_default_is_camelot_for_all_keys(mq, index):
    name = keys.KEY_NAMES[index]
    [(default, explicit)] = mq(f"SELECT compatible_keys('{name}'), compatible_keys('{name}', rule := 'camelot')")
    assert default == explicit
    assert set(default) == _expected_compatible(name, "camelot")


def test_compatible_keys_spot_checks(mq):
    [(am,)] = mq("SELECT compatible_keys('A minor')")
    assert set(am) == {"A minor", "D minor", "E minor", "C major"}
    [(wrap,)] = mq("SELECT compatible_keys('12B', rule := 'extended')")
    # 12B = E major: 11B A major, 1B B major, 12A Db minor, 11A F# minor, 1A Ab minor
    assert set(wrap) == {"E major", "A major", "B major", "Db minor", "F# minor", "Ab minor"}
    [(one_a,)] = mq("SELECT compatible_keys('1A', rule := 'adjacent')")
    assert set(one_a) == {"Ab minor", "Db minor", "Eb minor"}


def test_compatible_keys_unknown_rule(mq):
    with pytest.raises(duckdb.Error, match="unknown rule"):
        mq("SELECT compatible_keys('A minor', rule := 'bogus')")


# -- tempo ------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("bpm_match(124, 124)", True),
        ("bpm_match(125.5, 124)", True),
        ("bpm_match(127, 124)", False),
        ("bpm_match(62, 124, tolerance := 2)", True),
        ("bpm_match(62, 124, 2)", True),
        ("bpm_match(248, 124)", True),
        ("bpm_match(100, 124)", False),
        ("bpm_match(100, 124, tolerance := 30)", True),
        ("bpm_between(124, 120, 128)", True),
        ("bpm_between(62, 120, 128)", True),
        ("bpm_between(250, 120, 128)", True),
        ("bpm_between(119, 120, 128)", False),
        ("bpm_between(129, 120, 128)", False),
        ("bpm_between(120, 120, 128)", True),
        ("bpm_between(128, 120, 128)", True),
    ],
)
def test_bpm_macros(mq, expr, expected):
    assert mq(f"SELECT {expr}") == [(expected,)]


def test_bpm_macros_null(mq):
    assert mq("SELECT bpm_match(NULL, 124), bpm_between(NULL, 120, 128)") == [(None, None)]


# -- macros over real Parquet parts ------------------------------------------


def test_macros_over_parquet(cat, q):
    _write_samples(
        cat,
        [
            _sample("/lib/am.wav", T0, key="A minor", camelot="8A", bpm=124.0),
            _sample("/lib/cmaj.wav", T0, key="C major", camelot="8B", bpm=62.0),
            _sample("/lib/dm.wav", T0, key="D minor", camelot="7A", bpm=90.0),
            _sample("/lib/em.wav", T0, key="E minor", camelot="9A", bpm=248.0),
            _sample("/lib/fm.wav", T0, key="F major", camelot="7B", bpm=124.0),
            _sample("/lib/dbm.wav", T0, key="Db minor", camelot="12A", bpm=124.0),
            _sample("/lib/drums.wav", T0, key=None, kind="loop", bpm=124.0),
        ],
        "part-x",
    )
    rows = q("SELECT path FROM samples WHERE list_contains(compatible_keys('A minor'), key) ORDER BY path")
    assert [r[0] for r in rows] == ["/lib/am.wav", "/lib/cmaj.wav", "/lib/dm.wav", "/lib/em.wav"]
    rows = q(
        "SELECT path FROM samples WHERE list_contains(compatible_keys('8A', rule := 'extended'), key) ORDER BY path"
    )
    assert [r[0] for r in rows] == ["/lib/am.wav", "/lib/cmaj.wav", "/lib/dm.wav", "/lib/em.wav", "/lib/fm.wav"]
    rows = q(
        "SELECT path FROM samples WHERE bpm_between(bpm, 120, 128) "
        "AND list_contains(compatible_keys('A minor'), key) ORDER BY path"
    )
    assert [r[0] for r in rows] == ["/lib/am.wav", "/lib/cmaj.wav", "/lib/em.wav"]
    rows = q("SELECT path, camelot(key) = camelot FROM samples WHERE key IS NOT NULL ORDER BY path")
    assert all(r[1] for r in rows) and len(rows) == 6
    assert q("SELECT count(*) FROM samples WHERE key IS NULL") == [(1,)]


def test_empty_catalog_has_no_rows(q):
    assert q("SELECT count(*) FROM samples") == [(0,)]
    assert q("SELECT count(*) FROM removals") == [(0,)]
    assert q("SELECT count(*) FROM runs") == [(0,)]


# -- the samples view: newest row per path, removals ------------------------


def _visible(cat):
    return cat.query("SELECT path, key FROM samples ORDER BY path").fetchall()


def test_newer_row_supersedes_older(cat):
    _write_samples(cat, [_sample("/lib/a.wav", T0, key="A minor"), _sample("/lib/b.wav", T0, key="C major")], "part-1")
    _write_samples(cat, [_sample("/lib/a.wav", T0 + dt.timedelta(hours=1), key="E minor")], "part-2")
    # an older row written later must not win either
    _write_samples(cat, [_sample("/lib/b.wav", T0 - dt.timedelta(hours=1), key="G major")], "part-3")
    assert _visible(cat) == [("/lib/a.wav", "E minor"), ("/lib/b.wav", "C major")]
    assert cat.query("SELECT count(*) FROM sample_history").fetchall() == [(4,)]


def test_removal_hides_and_newer_row_shows_again(cat):
    _write_samples(cat, [_sample("/lib/a.wav", T0, key="A minor"), _sample("/lib/b.wav", T0, key="C major")], "part-1")
    _write_removals(cat, [{"path": "/lib/a.wav", "removed_at": T0 + dt.timedelta(minutes=1)}], "removed-1")
    assert _visible(cat) == [("/lib/b.wav", "C major")]

    # the file came back and was analysed again
    _write_samples(cat, [_sample("/lib/a.wav", T0 + dt.timedelta(minutes=2), key="D minor")], "part-2")
    assert _visible(cat) == [("/lib/a.wav", "D minor"), ("/lib/b.wav", "C major")]

    # and left again: the latest removal counts
    _write_removals(cat, [{"path": "/lib/a.wav", "removed_at": T0 + dt.timedelta(minutes=3)}], "removed-2")
    assert _visible(cat) == [("/lib/b.wav", "C major")]


def test_removal_older_than_row_does_not_hide(cat):
    _write_removals(cat, [{"path": "/lib/a.wav", "removed_at": T0 - dt.timedelta(days=1)}], "removed-0")
    _write_samples(cat, [_sample("/lib/a.wav", T0, key="A minor")], "part-1")
    assert _visible(cat) == [("/lib/a.wav", "A minor")]


# -- read-only --------------------------------------------------------------


REFUSED = [
    "COPY (SELECT 1 AS x) TO '{root}/samples/evil.parquet'",
    "COPY (SELECT 1 AS x) TO '{root}/evil.csv'",
    "COPY key_wheel TO '{root}/runs/evil.parquet' (FORMAT parquet)",
    "ATTACH '{root}/evil.duckdb' AS evil",
    "INSTALL httpfs",
    "LOAD httpfs",
    "CREATE TABLE t AS SELECT 1 AS x",
    "CREATE OR REPLACE VIEW samples AS SELECT 1 AS x",
    "INSERT INTO key_wheel VALUES ('x')",
    "SET enable_external_access = true",
    "SELECT 1; COPY (SELECT 1) TO '{root}/evil2.csv'",
]


def test_query_refuses_writes(cat):
    before = _files(cat.root)
    con = cat.connect()
    for sql in REFUSED:
        with pytest.raises((catalog.CatalogError, duckdb.Error)):
            cat.query(sql.format(root=cat.root), con).fetchall()
        with pytest.raises((catalog.CatalogError, duckdb.Error)):
            cat.query(sql.format(root=cat.root)).fetchall()  # its own connection
    assert _files(cat.root) == before
    # the connection still works and nothing was replaced
    assert cat.query("SELECT count(*) FROM samples", con).fetchall() == [(0,)]


def test_query_refuses_explain_analyze_copy(cat):
    before = _files(cat.root)
    try:
        cat.query(f"EXPLAIN ANALYZE COPY (SELECT 1 AS x) TO '{cat.root}/samples/evil.parquet'").fetchall()
    except (catalog.CatalogError, duckdb.Error):
        pass
    assert _files(cat.root) == before


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/hostname')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM read_text('{root}/../../../../../../etc/hostname')",
    ],
)
def test_read_only_connection_reads_nothing_outside(cat, sql):
    con = cat.connect(read_only=True)
    with pytest.raises(duckdb.Error):
        con.sql(sql.format(root=cat.root)).fetchall()
    with pytest.raises(duckdb.Error):
        cat.query(sql.format(root=cat.root), con).fetchall()


def test_read_only_configuration_is_locked(cat):
    con = cat.connect(read_only=True)
    with pytest.raises(duckdb.Error):
        con.execute("SET enable_external_access = true")
    with pytest.raises(duckdb.Error):
        con.sql("SELECT * FROM read_csv('/etc/hostname')").fetchall()


def test_query_on_missing_catalog(tmp_path):
    with pytest.raises(catalog.CatalogError):
        catalog.Catalog(tmp_path / "nowhere").query("SELECT 1")


SPELLINGS = [
    "C#m",
    "Dbmin",
    "c# minor",
    "12A",
    "8a",
    "A minor",
    "Am",
    "a min",
    "F sharp major",
    "F Sharp Major",
    "B Flat minor",
    "Bb",
    "bm",
    "CM",
    "Cm",
    "1d",
    "1m",
    "Ebmin",
    "E",
    "e",
    "Cb",
    "E#m",
    "f♯ minor",
    "B♭",
    "H major",
    "",
    "13A",
    "C lydian",
    "0B",
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_sql_reads_every_spelling_as_python_does(cat, spelling):
    """key_name/camelot in SQL follow models.keys.parse_key, so raw SQL accepts what the CLI accepts."""
    from sampledex.models import keys

    try:
        expected = keys.canonical(spelling)
    except keys.KeySpellingError:
        expected = None
    con = cat.connect()
    got = con.execute("SELECT key_name(?), camelot(?)", [spelling, spelling]).fetchall()[0]
    assert got == (expected, None if expected is None else keys.camelot(keys.parse_key(spelling)))

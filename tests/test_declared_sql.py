"""sql/declared.sql on a small catalog: the `disagreements` view and the macros `search --declared` uses."""

from __future__ import annotations

import datetime as dt
from importlib import resources

import pyarrow as pa
import pytest

from sampledex.models import keys
from sampledex.pipeline import catalog, schema

T0 = dt.datetime(2024, 1, 1, 12, 0, 0)


def _row(path, **extra):
    row = {
        "path": path,
        "source": "/lib",
        "size_bytes": 100,
        "mtime": T0,
        "format": "wav",
        "sample_rate": 44100,
        "channels": 1,
        "duration_s": 2.0,
        "kind": "loop",
        "analysis_version": "test-1",
        "indexed_at": T0,
    }
    row.update(extra)
    return row


ROWS = [
    _row("/lib/same.wav", declared_key="A minor", key="A minor", declared_bpm=124.0, bpm=123.5),
    _row("/lib/relative.wav", declared_key="A minor", key="C major"),
    _row("/lib/parallel.wav", declared_key="A minor", key="A major"),
    _row("/lib/fifth.wav", declared_key="A minor", key="E minor"),
    _row("/lib/other.wav", declared_key="A minor", key="F# major"),
    _row("/lib/half.wav", declared_bpm=140.0, bpm=70.2),
    _row("/lib/double.wav", declared_bpm=85.0, bpm=170.0),
    _row("/lib/tempo_other.wav", declared_bpm=120.0, bpm=97.0),
    _row("/lib/both.wav", declared_key="C major", key="A minor", declared_bpm=174.0, bpm=87.0),
    _row("/lib/no_audio_key.wav", declared_key="C major"),
    _row("/lib/nothing.wav", key="C major", bpm=120.0),
    _row("/lib/failed.wav", declared_key="C major", key="D major", error="decode: junk"),
    _row("/lib/root.wav", kind="one-shot", declared_root="G3", root_note="G3"),
    _row("/lib/root_pc.wav", kind="one-shot", declared_root="Db", root_note="C#2"),
]


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    cat = catalog.Catalog(tmp_path_factory.mktemp("declared") / "catalog")
    cat.create()
    cat.write("samples", pa.Table.from_pylist(ROWS, schema=schema.SAMPLES), "part-1")
    c = cat.connect(read_only=False)
    c.execute(resources.files("sampledex.sql").joinpath("declared.sql").read_text())
    return c


def test_disagreements_lists_each_contradiction_with_its_relation(con):
    rows = con.sql("SELECT path, relation, key_relation, tempo_relation FROM disagreements").fetchall()
    assert rows == [
        ("/lib/both.wav", "relative key; half time", "relative key", "half time"),
        ("/lib/double.wav", "double time", None, "double time"),
        ("/lib/fifth.wav", "fifth", "fifth", None),
        ("/lib/half.wav", "half time", None, "half time"),
        ("/lib/other.wav", "other key", "other", None),
        ("/lib/parallel.wav", "parallel", "parallel", None),
        ("/lib/relative.wav", "relative key", "relative key", None),
        ("/lib/tempo_other.wav", "other tempo", None, "other"),
    ]


def test_disagreements_shows_both_sides(con):
    assert con.sql(
        "SELECT declared_key, key, declared_bpm, bpm FROM disagreements WHERE path = '/lib/both.wav'"
    ).fetchall() == [("C major", "A minor", 174.0, 87.0)]


def test_key_relation_agrees_with_models_keys(con):
    """Every pair of the 24 keys, the audio's written as a Camelot code (any spelling is read)."""
    pairs = [(a, b) for a in range(24) for b in range(24)]
    got = con.execute(
        "SELECT key_relation(p[1], p[2]) FROM "
        "(SELECT unnest(?::VARCHAR[][]) AS p, generate_subscripts(?::VARCHAR[][], 1) AS i) ORDER BY i",
        [[[keys.KEY_NAMES[a], keys.camelot(b)] for a, b in pairs]] * 2,
    ).fetchall()
    for (a, b), (relation,) in zip(pairs, got, strict=True):
        if a == b:
            expected = "same key"
        elif keys.relative(a) == b:
            expected = "relative key"
        elif keys.parallel(a) == b:
            expected = "parallel"
        elif keys.is_minor(a) == keys.is_minor(b) and (keys.tonic_pc(a) - keys.tonic_pc(b)) % 12 in (5, 7):
            expected = "fifth"
        else:
            expected = "other"
        assert relation == expected, (keys.KEY_NAMES[a], keys.KEY_NAMES[b])


def test_key_and_tempo_relation_of_nothing(con):
    assert con.sql(
        "SELECT key_relation(NULL, 'Am'), key_relation('Am', 'not a key'), tempo_relation(NULL, 120), "
        "tempo_relation(120, 121.9), tempo_relation(120, 121.9, tolerance := 1)"
    ).fetchall() == [(None, None, None, "same tempo", "other")]


def test_notes(con):
    assert con.sql(
        "SELECT note_pc('C#3'), note_pc('Db'), note_pc('bb2'), note_pc('F♯'), note_pc('H2'), "
        "note_octave('C#3'), note_octave('C'), note_octave('C-1')"
    ).fetchall() == [(1, 1, 10, 6, None, 3, None, -1)]
    assert con.sql(
        "SELECT root_matches('Db3', 'C#3'), root_matches('F', 'F2'), root_matches('F2', 'F3'), root_matches(NULL, 'F')"
    ).fetchall() == [(True, True, False, None)]


def test_declared_matches_the_filters_of_a_search(con):
    def paths(where, params=()):
        return [r[0] for r in con.execute(f"SELECT path FROM samples WHERE {where} ORDER BY path", params).fetchall()]

    assert paths("declared_matches(declared_key, declared_bpm, declared_root, want_keys := ?)", [["A minor"]]) == [
        "/lib/fifth.wav",
        "/lib/other.wav",
        "/lib/parallel.wav",
        "/lib/relative.wav",
        "/lib/same.wav",
    ]
    assert paths("declared_matches(declared_key, declared_bpm, declared_root, bpm_lo := 61, bpm_hi := 72)") == [
        "/lib/half.wav",
        "/lib/same.wav",
    ]  # 140 and 124 at half time (120 is not: 60)
    assert (
        paths("declared_matches(declared_key, declared_bpm, declared_root, bpm_lo := 61, bpm_hi := 72, strict := true)")
        == []
    )
    assert paths("declared_matches(declared_key, declared_bpm, declared_root, root := 'C#')") == ["/lib/root_pc.wav"]
    assert paths(
        "declared_matches(declared_key, declared_bpm, declared_root, want_keys := ?, root := ?)", [["C major"], None]
    ) == ["/lib/both.wav", "/lib/failed.wav", "/lib/no_audio_key.wav"]
    everything_declared = paths("declared_matches(declared_key, declared_bpm, declared_root)")
    assert "/lib/nothing.wav" not in everything_declared and len(everything_declared) == len(ROWS) - 1


def test_declared_agrees_with_the_audio(con):
    rows = con.sql(
        "SELECT path FROM samples WHERE error IS NULL AND declared_agrees(declared_key, key, declared_bpm, "
        "bpm, declared_root, root_note) ORDER BY path"
    ).fetchall()
    assert [r[0] for r in rows] == ["/lib/root.wav", "/lib/root_pc.wav", "/lib/same.wav"]


def test_declared_matches_as_the_search_binds_it(con):
    """Every filter a parameter, None where the search has none: the call `search --declared` makes."""
    sql = (
        "SELECT path FROM samples WHERE declared_matches(declared_key, declared_bpm, declared_root, "
        "want_keys := ?, bpm_lo := ?, bpm_hi := ?, root := ?, strict := ?) ORDER BY path"
    )
    everything = con.execute(sql, [None, None, None, None, False]).fetchall()
    assert len(everything) == len(ROWS) - 1
    assert con.execute(sql, [["A minor", "C major"], 168.0, 180.0, None, True]).fetchall() == [("/lib/both.wav",)]

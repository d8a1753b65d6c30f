"""The search filters (pipeline/search.py), shared by `sampledex search` and the web page, on a small catalog."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from sampledex.models.errors import UsageError
from sampledex.pipeline import catalog, schema, search

T0 = dt.datetime(2024, 1, 1, 12, 0, 0)


def _row(path: str, **extra) -> dict:
    return {"path": path, "source": "/lib", "analysis_version": "test-1", "indexed_at": T0, **extra}


ROWS = [
    _row("/lib/Loop 124.wav", kind="loop", key="A minor", bpm=124.0),
    _row("/lib/loop 62.wav", kind="loop", key="C major", bpm=62.0),
    _row("/lib/loop 248.wav", kind="loop", key="E minor", bpm=248.0),
    _row("/lib/loop 100.wav", kind="loop", key="A minor", bpm=100.0),
    _row("/lib/bass Db3.wav", kind="one-shot", root_note="Db3", tuning_cents=-3.0),
    _row("/lib/bass Db2.wav", kind="one-shot", root_note="Db2", tuning_cents=12.0),
    _row("/lib/lead D3.wav", kind="one-shot", root_note="D3", tuning_cents=0.0),
    _row("/lib/broken.wav", error="not decodable audio"),
]


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    cat = catalog.Catalog(tmp_path_factory.mktemp("search") / "catalog")
    cat.create()
    cat.write("samples", pa.Table.from_pylist(ROWS, schema=schema.SAMPLES), "part-1")
    return cat.connect(read_only=True)


def found(con, **filters) -> list[str]:
    where, params = search.where(con, search.Filters(**filters))
    return sorted(
        r[0].removeprefix("/lib/") for r in con.execute(f"SELECT path FROM samples WHERE {where}", params).fetchall()
    )


def test_no_filter_is_every_analysed_row(con):
    assert len(found(con)) == len(ROWS) - 1


def test_bpm_matches_half_and_double_time_unless_strict(con):
    assert found(con, bpm=(120.0, 128.0)) == ["Loop 124.wav", "loop 248.wav", "loop 62.wav"]
    assert found(con, bpm=(120.0, 128.0), strict_bpm=True) == ["Loop 124.wav"]


@pytest.mark.parametrize("spelling", ["Db3", "C#3", "c#3", "db3", "C♯3", "D♭3"])
def test_root_in_any_spelling_with_its_octave(con, spelling):
    assert found(con, root=spelling) == ["bass Db3.wav"]


@pytest.mark.parametrize("spelling", ["Db", "c#", "C♯"])
def test_root_without_octave_matches_every_octave(con, spelling):
    assert found(con, root=spelling) == ["bass Db2.wav", "bass Db3.wav"]


@pytest.mark.parametrize("bad", ["H3", "X", "C#x", "major"])
def test_a_root_that_is_no_note_is_a_usage_error(con, bad):
    with pytest.raises(UsageError, match="not a note"):
        found(con, root=bad)


def test_tuning_within_keeps_roots_near_equal_temperament(con):
    assert found(con, tuning_within=5.0) == ["bass Db3.wav", "lead D3.wav"]
    assert found(con, tuning_within=0.0) == ["lead D3.wav"]
    assert found(con, root="Db", tuning_within=5.0) == ["bass Db3.wav"]


def test_key_compatible_kind_and_text(con):
    assert found(con, key="Am") == ["Loop 124.wav", "loop 100.wav"]
    assert found(con, key="Am", compatible="camelot") == ["Loop 124.wav", "loop 100.wav", "loop 248.wav", "loop 62.wav"]
    assert found(con, kind="one-shot", text="BASS") == ["bass Db2.wav", "bass Db3.wav"]


def test_filters_from_the_command_line_keep_a_zero(con):
    from sampledex.pipeline import cli

    args = cli.build_parser().parse_args(["search", "--tuning-within", "0", "--root", "D", "--strict-bpm"])
    filters = search.Filters.from_namespace(args)
    assert (filters.tuning_within, filters.root, filters.strict_bpm) == (0.0, "D", True)
    assert found(con, **{k: v for k, v in vars(filters).items() if v is not None}) == ["lead D3.wav"]

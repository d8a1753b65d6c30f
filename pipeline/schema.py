"""The catalog's one explicit schema: table ``samples``, ``removals`` and the ``runs`` log.

This is the contract of DESIGN.md (and README's twin of it): column names,
types, order and meaning, written once in :data:`COLUMNS`. The pyarrow schema,
the columns ``sampledex analyze`` prints and README's catalog table all come
from it (a test holds README to it). Columns that no analysis fills yet exist
and are NULL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa

from sampledex.models import embedding

#: embedding width (``models.embedding``)
EMBEDDING_DIM = embedding.DIM


class Column(NamedTuple):
    """One column of ``samples``: its name, Arrow type, SQL type (as README writes it), and meaning.

    ``shown`` says whether ``sampledex analyze`` prints it (identity and
    bookkeeping columns are left out there).
    """

    name: str
    type: pa.DataType
    sql: str
    meaning: str
    shown: bool = True


COLUMNS: tuple[Column, ...] = (
    Column(
        "path", pa.string(), "VARCHAR", "the file's URL as listed (`/abs/path.wav`, `s3://bucket/key.wav`) — unique"
    ),
    Column("source", pa.string(), "VARCHAR", "the root it was found under", shown=False),
    Column("size_bytes", pa.int64(), "BIGINT", "file size in bytes (change detection)", shown=False),
    Column(
        "mtime", pa.timestamp("us"), "TIMESTAMP", "modification time as listed, UTC (change detection)", shown=False
    ),
    Column("etag", pa.string(), "VARCHAR", "the listing's ETag where the source has one (S3)", shown=False),
    Column("content_hash", pa.string(), "VARCHAR", "MD5 of the bytes: finds copies and duplicates", shown=False),
    Column("format", pa.string(), "VARCHAR", "container read from the content: `wav`, `aiff`, `flac`, `ogg`, `mp3`"),
    Column("sample_rate", pa.int32(), "INTEGER", "samples per second (Hz)"),
    Column("channels", pa.int32(), "INTEGER", "channel count"),
    Column("duration_s", pa.float64(), "DOUBLE", "the whole file's length (s)"),
    Column(
        "kind",
        pa.string(),
        "VARCHAR",
        "`'loop'` or `'one-shot'`, from the audio (length, onsets, pulse, whole bars, how it ends), or from the "
        "file's ACID chunk when it has one, or from a kind word in its name (`Loop`, `One Shot`) where the audio "
        "alone says otherwise (`notes` records it); NULL for digital silence",
    ),
    Column("key", pa.string(), "VARCHAR", "e.g. `'A minor'`, `'F# major'`; NULL when the sample has no key"),
    Column("key_confidence", pa.float64(), "DOUBLE", "0–1"),
    Column("camelot", pa.string(), "VARCHAR", "e.g. `'8A'`; NULL with `key`"),
    Column(
        "bpm",
        pa.float64(),
        "DOUBLE",
        "tempo of a loop (BPM) at the level a producer writes, exact from the length when the loop is a whole "
        "number of bars; NULL for one-shots and for a loop with no steady pulse",
    ),
    Column(
        "bpm_confidence",
        pa.float64(),
        "DOUBLE",
        "0–1: how sure the tempo's metrical level is (half and double time are the usual doubt); NULL with `bpm`",
    ),
    Column(
        "root_note",
        pa.string(),
        "VARCHAR",
        "the note a pitched one-shot holds, tonic spelled as in keys (`'Db3'`; C4 = 261.6 Hz); NULL for loops and "
        "for unpitched one-shots (most drums, noise, FX)",
    ),
    Column(
        "tuning_cents",
        pa.float64(),
        "DOUBLE",
        "how far that note lies from equal temperament at A4 = 440 Hz (cents, −50 to under +50); NULL with `root_note`",
    ),
    Column(
        "loudness_lufs", pa.float64(), "DOUBLE", "integrated loudness (ITU-R BS.1770, LUFS); NULL for digital silence"
    ),
    Column("peak_dbfs", pa.float64(), "DOUBLE", "sample peak (dBFS)"),
    Column(
        "declared_key",
        pa.string(),
        "VARCHAR",
        "the key its tags (ID3 `TKEY`, Vorbis `KEY`/`INITIALKEY`) or else its name and folders declare; "
        "NULL if nothing",
    ),
    Column(
        "declared_bpm",
        pa.float64(),
        "DOUBLE",
        "the tempo its ACID chunk or `TBPM`/`BPM` tag, or else its name (`124bpm`), declares (BPM)",
    ),
    Column(
        "declared_root",
        pa.string(),
        "VARCHAR",
        "the root its `smpl`/`INST` unity note or ACID root, or else its name, declares (`'G3'`, `'F'`: "
        "octave when written)",
    ),
    Column(
        "embedding",
        pa.list_(pa.float32(), EMBEDDING_DIM),
        f"FLOAT[{EMBEDDING_DIM}]",
        "unit vector of timbre, envelope, harmonicity, polyphony and pitch content: cosine similarity ranks "
        "`sampledex similar` and finds near-duplicates; NULL for digital silence and unreadable files",
        shown=False,
    ),
    Column("error", pa.string(), "VARCHAR", "NULL when analysed; otherwise why not (the row still exists)"),
    Column(
        "notes",
        pa.string(),
        "VARCHAR",
        "what to know about an analysed row: `excerpt: first 240.0 s of 3660.0 s analysed` for long files, "
        "`truncated: 1,478 of 88,200 frames`, `12 non-finite or out-of-range samples set to 0`, `declared key "
        "from file metadata (C minor) disagrees with the name (A minor)`; NULL usually",
    ),
    Column(
        "analysis_version",
        pa.string(),
        "VARCHAR",
        "which feature/model version wrote the row (`f23+cnn-…+tempo-…`: descriptors, key model and tempo scorer)",
        shown=False,
    ),
    Column("indexed_at", pa.timestamp("us"), "TIMESTAMP", "when the row was written (UTC)", shown=False),
)

SAMPLES = pa.schema([(c.name, c.type) for c in COLUMNS])
#: a compacted base: the rows of ``samples`` and ``path_key``, the upper 64 bits of the path's MD5
#: (DuckDB's ``md5_number_upper(path)``), which the ``samples`` view's anti-joins use
BASE = SAMPLES.append(pa.field("path_key", pa.uint64()))
#: the columns ``sampledex analyze`` prints
ANALYZE_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.shown)

#: a path that left the catalog (deleted from its source) and when
REMOVALS = pa.schema(
    [
        ("path", pa.string()),
        ("removed_at", pa.timestamp("us")),
    ]
)

RUNS = pa.schema(
    [
        ("run_id", pa.string()),
        ("started_at", pa.timestamp("us")),
        ("finished_at", pa.timestamp("us")),
        ("seen", pa.int64()),
        ("analysed", pa.int64()),
        ("skipped", pa.int64()),
        ("failed", pa.int64()),
        ("removed", pa.int64()),
        ("files_per_s", pa.float64()),
    ]
)


class SchemaDriftError(ValueError):
    """A row names a column the schema does not have: a bug in the code that built it, never dropped silently."""


def table(rows: Iterable[Mapping[str, Any]], table_schema: pa.Schema = SAMPLES) -> pa.Table:
    """Rows (dicts) as a table in ``table_schema``; a missing column is NULL, an unknown one an error.

    ``pa.Table.from_pylist`` would drop a misspelt or new key without a word,
    and the value would be lost from the catalog.

    Raises
    ------
    SchemaDriftError
        if any row holds a key that is not a column of ``table_schema``.
    """
    rows = list(rows)
    known = set(table_schema.names)
    for row in rows:
        if not known.issuperset(row):
            extra = sorted(set(row) - known)
            raise SchemaDriftError(f"row for {row.get('path')!r} has columns the schema lacks: {extra}")
    return pa.Table.from_pylist(rows, schema=table_schema)


def write_empty_files(folder: Path) -> list[Path]:
    """The empty Parquet files of each schema that ship in ``sql/`` (``empty_samples.parquet``, …): every
    view reads one after its parts, so it has all the columns even over no parts, or old parts without some."""
    import pyarrow.parquet as pq

    written = []
    for name, table_schema in (("base", BASE), ("samples", SAMPLES), ("removals", REMOVALS), ("runs", RUNS)):
        path = Path(folder) / f"empty_{name}.parquet"
        pq.write_table(table_schema.empty_table(), path)
        written.append(path)
    return written


def markdown_table() -> str:
    """README's table of ``samples``, one row per column, from :data:`COLUMNS` (a test compares them)."""
    lines = ["| column | type | meaning |", "|---|---|---|"]
    lines += [f"| `{c.name}` | {c.sql} | {c.meaning} |" for c in COLUMNS]
    return "\n".join(lines)


def utcnow() -> dt.datetime:
    """Now in UTC as a naive datetime: the catalog's timestamp columns carry no zone."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)

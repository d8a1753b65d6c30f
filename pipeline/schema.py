"""The catalog's one explicit schema: table ``samples`` and the ``runs`` log.

This is the contract of DESIGN.md (and README's twin of it): column names,
types and order. Columns that no analysis fills yet exist and are NULL.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

#: embedding width; NULL until a model fills it
EMBEDDING_DIM = 32

SAMPLES = pa.schema([
    ("path", pa.string()),
    ("source", pa.string()),
    ("size_bytes", pa.int64()),
    ("mtime", pa.timestamp("us")),
    ("etag", pa.string()),
    ("content_hash", pa.string()),
    ("format", pa.string()),
    ("sample_rate", pa.int32()),
    ("channels", pa.int32()),
    ("duration_s", pa.float64()),
    ("kind", pa.string()),
    ("key", pa.string()),
    ("key_confidence", pa.float64()),
    ("camelot", pa.string()),
    ("bpm", pa.float64()),
    ("bpm_confidence", pa.float64()),
    ("root_note", pa.string()),
    ("tuning_cents", pa.float64()),
    ("loudness_lufs", pa.float64()),
    ("peak_dbfs", pa.float64()),
    ("declared_key", pa.string()),
    ("declared_bpm", pa.float64()),
    ("declared_root", pa.string()),
    ("embedding", pa.list_(pa.float32())),
    ("error", pa.string()),
    # what a user must know to trust an analysed row: an excerpt of a long file, NaN samples zeroed
    ("notes", pa.string()),
    ("analysis_version", pa.string()),
    ("indexed_at", pa.timestamp("us")),
])

#: a path that left the catalog (deleted from its source) and when
REMOVALS = pa.schema([
    ("path", pa.string()),
    ("removed_at", pa.timestamp("us")),
])

RUNS = pa.schema([
    ("run_id", pa.string()),
    ("started_at", pa.timestamp("us")),
    ("finished_at", pa.timestamp("us")),
    ("seen", pa.int64()),
    ("analysed", pa.int64()),
    ("skipped", pa.int64()),
    ("failed", pa.int64()),
    ("removed", pa.int64()),
    ("files_per_s", pa.float64()),
])


def utcnow() -> dt.datetime:
    """Now in UTC as a naive datetime: the catalog's timestamp columns carry no zone."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)

"""Per-file analysis: bytes ──► decode ──► descriptors ──► spectrogram ──► key ──► one catalog row.

The same functions serve ``sampledex analyze``, a Dask partition and the
benchmark's single-process loop. A file that cannot be read or decoded becomes
a row with ``error`` set and NULL features (the error policy is "record"), so a
batch never stops on a bad file.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any, Callable

import fsspec
import numpy as np
import pyarrow as pa

from sampledex.models import frontend
from sampledex.models.classic import ClassicKeyEstimator, KeyEstimate

from . import decode, features, schema
from .sources import FileEntry

#: bump when a descriptor's definition changes: every row is then re-analysed
FEATURES_VERSION = "f1"
KEY_METHODS = ("cnn", "classic")
DEFAULT_KEY_METHOD = "cnn"

KeyEstimator = Callable[[np.ndarray], KeyEstimate]


@lru_cache(maxsize=4)
def key_estimator(method: str = DEFAULT_KEY_METHOD) -> KeyEstimator:
    """The key estimator for ``method``, built once per worker process."""
    if method == "classic":
        return ClassicKeyEstimator()
    if method == "cnn":
        from sampledex.models.cnn import CNNKeyEstimator  # torch loads only where the CNN runs

        return CNNKeyEstimator(threads=1)
    raise ValueError(f"key method {method!r} is not one of {KEY_METHODS}")


def warm_up(method: str = DEFAULT_KEY_METHOD) -> None:
    """Load the estimator in this process now, so the first partition does not pay for it."""
    key_estimator(method)


def analysis_version(method: str = DEFAULT_KEY_METHOD) -> str:
    """What wrote a row: the descriptor version plus the key model's version."""
    return f"{FEATURES_VERSION}+{key_estimator(method).version}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def identity_columns(entry: FileEntry, method: str) -> dict[str, Any]:
    """The columns every row has, analysed or not: where the file is, what it was, who wrote the row."""
    return {
        "path": entry.path,
        "source": entry.source,
        "size_bytes": entry.size,
        "mtime": entry.mtime,
        "etag": entry.etag,
        "analysis_version": analysis_version(method),
        "indexed_at": _now(),
    }


def describe(data: bytes, *, method: str = DEFAULT_KEY_METHOD) -> dict[str, Any]:
    """Every descriptor of one encoded file held in memory.

    Returns the catalog columns this analysis fills (identity columns aside).

    Raises
    ------
    decode.DecodeError
        if ``data`` is not decodable audio.
    """
    audio = decode.decode(data)
    y = decode.to_analysis_mono(audio)
    S = frontend.logfreq_spectrogram(y)
    key = key_estimator(method)(S)
    return {
        "content_hash": features.content_hash(data),
        "format": audio.format,
        "sample_rate": audio.sample_rate,
        "channels": audio.channels,
        "duration_s": audio.duration_s,
        "key": key.name,
        "key_confidence": key.confidence if key.index is not None else None,
        "camelot": key.camelot,
        "peak_dbfs": features.peak_dbfs(audio.samples),
        "loudness_lufs": features.loudness_lufs(audio.samples, audio.sample_rate),
    }


def analyze_entry(fs: fsspec.AbstractFileSystem, entry: FileEntry, *,
                  method: str = DEFAULT_KEY_METHOD) -> dict[str, Any]:
    """One catalog row for a listed file; never raises for a bad file."""
    row = identity_columns(entry, method)
    try:
        data = fs.cat_file(entry.fs_path)
    except (OSError, ValueError) as exc:
        row["error"] = f"read failed: {type(exc).__name__}: {exc}"
        return row
    try:
        row.update(describe(data, method=method))
    except decode.DecodeError as exc:
        row["content_hash"] = features.content_hash(data)
        row["error"] = str(exc)
    except Exception as exc:  # a bug or an input no check foresaw: record it, keep the batch going
        row["content_hash"] = features.content_hash(data)
        row["error"] = f"analysis failed: {type(exc).__name__}: {exc}"
    return row


def analyze_partition(fs: fsspec.AbstractFileSystem, entries: list[FileEntry], *,
                      method: str = DEFAULT_KEY_METHOD) -> pa.Table:
    """Rows for a group of files, as one table in the catalog schema."""
    rows = [analyze_entry(fs, entry, method=method) for entry in entries]
    return pa.Table.from_pylist(rows, schema=schema.SAMPLES)

""" "More like this" and duplicates: the catalog's embeddings and hashes, asked through DuckDB.

``similar`` ranks every analysed row by cosine similarity to one sound's embedding (DuckDB's
``array_cosine_similarity`` over the ``FLOAT[N]`` column); the sound is a row of the catalog, or a file
outside it, analysed on the fly. ``duplicate_groups`` reads the ``duplicates`` view (``sql/duplicates.sql``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from sampledex.models.errors import SampledexError

from . import schema

SIMILAR_COLUMNS = ("path", "kind", "key", "bpm", "root_note", "duration_s")


class NoEmbeddingError(SampledexError):
    """The sound asked about has no embedding: unreadable, silent, or analysed by an older version."""


@dataclass(frozen=True)
class Target:
    """What ``similar`` compares with: its vector, and its path when it is a row of the catalog."""

    vector: np.ndarray
    path: str | None


def find_target(con, target: str, *, storage_options: dict | None = None) -> Target:
    """The embedding of ``target``: its catalog row's (by path as listed, or a local file's absolute path),
    else the file itself, decoded and analysed now.

    Raises
    ------
    NoEmbeddingError
        if the row exists without an embedding, or the file is silent.
    decode.DecodeError, FileNotFoundError
        if ``target`` is not in the catalog and cannot be read as audio.
    """
    candidates = [target]
    if "://" not in target:
        candidates.append(os.path.abspath(target))
    for path in candidates:
        rows = con.execute("SELECT embedding, error FROM samples WHERE path = ?", [path]).fetchall()
        if not rows:
            continue
        vector, error = rows[0]
        if vector is None:
            why = f"it could not be analysed ({error})" if error else "it is silent or was analysed by an older version"
            raise NoEmbeddingError(f"{path} is in the catalog without an embedding: {why}")
        return Target(np.asarray(vector, dtype=np.float32), path)
    # the analysis stack (scipy's signal and stats modules among it) is imported only for a file outside
    # the catalog: a catalog path is answered at the speed of a query
    from . import analyze, decode

    try:
        audio = decode.load(target, storage_options=storage_options)
    except decode.DecodeError as exc:
        raise decode.DecodeError(f"{target}: {exc}") from None
    vector = analyze.embed_audio(audio)
    if vector is None:
        raise NoEmbeddingError(f"{target} is silent: it has no embedding to compare")
    return Target(vector, None)


def similar_sql(*, kind: str | None) -> str:
    """The SELECT that ranks rows by similarity to a vector; parameters: vector, excluded path, [kind,] limit."""
    columns = ", ".join(SIMILAR_COLUMNS)
    kind_filter = "AND kind = ? " if kind else ""
    return (
        f"SELECT {columns}, round(CAST(array_cosine_similarity(embedding, "
        f"CAST(? AS FLOAT[{schema.EMBEDDING_DIM}])) AS DOUBLE), 4) "
        f"AS similarity FROM samples WHERE embedding IS NOT NULL AND error IS NULL AND path IS DISTINCT FROM ? "
        f"{kind_filter}ORDER BY similarity DESC, path LIMIT ?"
    )


def similar(con, target: Target, *, limit: int = 10, kind: str | None = None) -> tuple[list[str], list[tuple]]:
    """The ``limit`` rows most like ``target`` (itself left out), most similar first: (columns, rows)."""
    params: list = [target.vector.tolist(), target.path]
    if kind:
        params.append(kind)
    rel = con.execute(similar_sql(kind=kind), params + [limit])
    return [d[0] for d in rel.description], rel.fetchall()


def reclaimable_bytes(groups: list[DuplicateGroup]) -> int:
    """What deleting all but the largest file of each set of duplicates frees, each file counted once.

    A file can be in an exact group and a near group at once; groups that share a file are one set here.
    """
    parent: dict[str, str] = {}

    def root(path: str) -> str:
        while parent.setdefault(path, path) != path:
            parent[path] = parent[parent[path]]
            path = parent[path]
        return path

    sizes: dict[str, int] = {}
    for group in groups:
        for path, size in zip(group.paths, group.sizes):
            sizes[path] = size
            parent[root(path)] = root(group.paths[0])
    sets: dict[str, list[int]] = {}
    for path, size in sizes.items():
        sets.setdefault(root(path), []).append(size)
    return sum(sum(s) - max(s) for s in sets.values())


@dataclass(frozen=True)
class DuplicateGroup:
    """Files holding one sound: ``match`` is ``'exact'`` (same bytes) or ``'near'`` (same audio, other bytes).

    What deleting copies would free is :func:`reclaimable_bytes`, over all groups at once (a file can be
    in two groups).
    """

    group_id: int
    match: str
    paths: tuple[str, ...]
    sizes: tuple[int, ...]


def duplicate_groups(con, *, near: bool = False) -> list[DuplicateGroup]:
    """The catalog's groups of exact copies, and with ``near`` its near-copies too, in group order."""
    view = "duplicates" if near else "exact_duplicates"
    rows = con.execute(
        f"SELECT group_id, any_value(match), list(path ORDER BY path), list(coalesce(size_bytes, 0) ORDER BY path) "
        f"FROM {view} GROUP BY group_id ORDER BY group_id"
    ).fetchall()
    return [DuplicateGroup(g, m, tuple(p), tuple(s)) for g, m, p, s in rows]

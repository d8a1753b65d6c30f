"""Planning an ``index`` run: manifest ──► diff against the catalog ──► reusable rows ──► partitions.

Pure functions over listings and the catalog's current rows; nothing here reads
a file or talks to a cluster (:mod:`run` does both).

Copies. A new or changed file whose bytes the catalog has already analysed
(a copy, a move, a touched file, an object uploaded again) gets a copy of that
row under its own path and identity instead of an analysis. Its hash comes
from the listing where that is the MD5 (an S3 single-part ETag: nothing is
read); otherwise the workers read and hash it, but only if its size equals that
of a reusable row, so a new file of a new size costs one read, not two.

What change detection sees. A file counts as unchanged when its size, mtime
and ETag are those its row was written with; nothing is read to check that.

- Changed metadata over the same bytes (``touch``, a copy that sets a new mtime,
  a move, a re-upload): the file is re-read, but its content hash finds its row
  and it is not analysed again.
- Changed bytes under the same metadata (a same-length rewrite whose mtime is
  then restored, as ``cp -p``, ``rsync -t`` or ``touch -r`` do): *not seen* on a
  local file system or any source without a content ETag, because seeing it
  means reading every file on every run; ``--full`` does that. On S3 the ETag
  changes with the bytes, so there it is seen.
"""

from __future__ import annotations

import heapq
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .sources import FileEntry

#: errors that say nothing about the file itself: such rows are retried next run
TRANSIENT_ERRORS = ("read failed:", "worker failed:")


#: files per partition: big enough to amortise a task's overhead, small enough to balance 2 workers
MAX_PARTITION_SIZE = 64


MIN_PARTITION_SIZE = 4


@dataclass
class Plan:
    """What a run has to do, from the manifest and the catalog's current rows."""

    analyse: list[FileEntry] = field(default_factory=list)
    unchanged: list[FileEntry] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def plan(manifest: list[FileEntry], current: dict[str, tuple], version: str, *, full: bool = False) -> Plan:
    """Split a manifest into files to analyse and files whose row is current.

    A row is current when the file's size, mtime and ETag are those it was
    analysed with, by the same analysis version, and its error (if any) was
    about the file and not about reading it. Paths in the catalog that the
    manifest no longer lists are removed.
    """
    result = Plan()
    for entry in manifest:
        row = current.get(entry.path)
        if full or row is None or not _is_current(entry, row, version):
            result.analyse.append(entry)
        else:
            result.unchanged.append(entry)
    listed = {e.path for e in manifest}
    result.removed = sorted(p for p in current if p not in listed)
    return result


def _is_current(entry: FileEntry, row: tuple, version: str) -> bool:
    size, mtime, etag, _hash, row_version, error = row
    if error and error.startswith(TRANSIENT_ERRORS):
        return False
    return (size, mtime, etag, row_version) == (entry.size, entry.mtime, entry.etag, version)


@dataclass
class Reusable:
    """Catalog rows whose analysis a byte-identical file may take: current version, no error.

    ``by_hash`` maps a content hash to one path holding such a row; ``sizes``
    are those rows' file sizes in bytes: a file of any other size cannot match
    one, so it is not read for its hash.
    """

    by_hash: dict[str, str] = field(default_factory=dict)
    sizes: set[int] = field(default_factory=set)


def reusable(current: dict[str, tuple], version: str) -> Reusable:
    """The rows of ``current`` (``Catalog.identities()``) that a copy may reuse."""
    result = Reusable()
    for path, (size, _mtime, _etag, content_hash, row_version, error) in sorted(current.items()):
        if content_hash and row_version == version and error is None:
            result.by_hash.setdefault(content_hash, path)  # sorted: the same row every run
            result.sizes.add(size)
    return result


#: protocols whose listing's ETag is the MD5 of a single-part upload, i.e. our content hash
_MD5_ETAG_PROTOCOLS = ("s3://", "s3a://")


#: a multipart upload's ETag ends in "-N" and is no MD5 of the bytes
_MD5_ETAG = re.compile(r"[0-9a-f]{32}")


def listed_hash(entry: FileEntry) -> str | None:
    """A file's content hash as its listing gives it, without reading it; None when it does not.

    S3's ETag of a single-part upload is its MD5. Some 32-digit ETags are not
    (server-side encryption with KMS or customer keys): such an ETag matches no
    catalog row, so it costs an analysis, never a wrong row.
    """
    if entry.path.startswith(_MD5_ETAG_PROTOCOLS) and entry.etag and _MD5_ETAG.fullmatch(entry.etag):
        return entry.etag
    return None


#: decoding cost per byte relative to PCM: compressed formats hold more audio per byte
_COST_PER_BYTE = {".mp3": 8.0, ".ogg": 8.0, ".oga": 8.0, ".flac": 2.0}


#: a file's fixed cost (opening it, a row) in the units of one PCM byte
_COST_PER_FILE = 4096


def estimated_cost(entry: FileEntry) -> float:
    """Relative cost of analysing a file, from its size and format (for load balance only)."""
    return entry.size * _COST_PER_BYTE.get(os.path.splitext(entry.path)[1].lower(), 1.0) + _COST_PER_FILE


def read_cost(entry: FileEntry) -> float:
    """Relative cost of reading and hashing a file: its size, whatever its format (for load balance only)."""
    return entry.size + _COST_PER_FILE


def partitions(
    entries: list[FileEntry], workers: int, cost: Callable[[FileEntry], float] = estimated_cost
) -> list[list[FileEntry]]:
    """Groups of files of about equal cost, about eight per worker, within size bounds; costliest first.

    Libraries cluster long loops in one folder and short hits in another, so
    cutting the sorted path list into runs would leave one worker with all the
    long files at the end; instead the costliest file goes to the cheapest group.
    ``cost`` is relative work per file: :func:`estimated_cost` to analyse, :func:`read_cost` to hash.
    """
    if not entries:
        return []
    size = len(entries) // (8 * max(workers, 1))
    size = max(MIN_PARTITION_SIZE, min(MAX_PARTITION_SIZE, size))
    count = -(-len(entries) // size)
    heap = [(0.0, i) for i in range(count)]
    groups: list[list[FileEntry]] = [[] for _ in range(count)]
    for entry in sorted(entries, key=cost, reverse=True):
        total, i = heapq.heappop(heap)
        groups[i].append(entry)
        heapq.heappush(heap, (total + cost(entry), i))
    groups.sort(key=lambda g: sum(map(cost, g)), reverse=True)
    return [sorted(g, key=lambda e: e.path) for g in groups]

"""The catalog's files: written whole or not at all, named with their checksum, verified before use.

A part's name carries the first 16 hex digits of its SHA-256
(``part-20261130T081500-ab12cd-00003.1f2e3d4c5b6a7988.parquet``), computed when it
is written. A process verifies each file the first time it reads it (the answer
is cached for that file as long as its size, mtime and inode stay), so a flipped
bit, a truncated copy, a stray file or a foreign Parquet file is named instead
of answering queries with wrong rows or stopping them. Writers move such files
into ``quarantine/``; readers leave them out and say so.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

#: hex digits of the SHA-256 kept in a name: 64 bits, so a damaged file passing by chance is out of reach
CHECKSUM_DIGITS = 16
#: a checksummed name: ``<stem>.<16 hex>.parquet``
_CHECKSUMMED = re.compile(r"^(?P<stem>.+)\.(?P<sum>[0-9a-f]{16})\.parquet$")
#: what :func:`temporary_name` makes, for finding the ones a killed writer left
TEMPORARY_GLOB = ".*.tmp"
_READ_BYTES = 8 * 2**20
_MAGIC = b"PAR1"

#: verdicts of this process, by (path, size, mtime in ns, inode): None for a good file, else why not
_verified: dict[tuple[str, int, int, int], str | None] = {}
#: files at least this large are remembered across processes once verified (bytes): hashing a 70 MB base
#: would otherwise cost every `query` about 60 ms, while small parts cost next to nothing to hash again
REMEMBER_BYTES = 4 * 2**20


def temporary_name(path: Path) -> Path:
    """A hidden name beside ``path`` that no ``*.parquet`` glob matches."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


def checksum(path: Path) -> str:
    """The first :data:`CHECKSUM_DIGITS` hex digits of the file's SHA-256, read in 8 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_READ_BYTES):
            digest.update(block)
    return digest.hexdigest()[:CHECKSUM_DIGITS]


def declared_checksum(name: str) -> str | None:
    """The checksum a file's name carries, or None for a name without one."""
    match = _CHECKSUMMED.match(name)
    return match["sum"] if match else None


def write_atomic(table: pa.Table, folder: Path, stem: str) -> Path:
    """Write ``table`` as ``folder/<stem>.<checksum>.parquet``, appearing complete or not at all.

    It is written under a hidden temporary name, flushed to disk, hashed, and
    renamed into place: a reader never sees half a file, and a crash leaves only
    a temporary file for the next writer to delete.
    """
    import pyarrow.parquet as pq

    tmp = temporary_name(folder / f"{stem}.parquet")
    try:
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        path = folder / f"{stem}.{checksum(tmp)}.parquet"
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def problem(path: Path, *, strict: bool = True, remembered: bool = True) -> str | None:
    """Why ``path`` must not be read as a catalog part, or None when it may.

    A checksummed name must match the file's SHA-256. A name without a checksum
    is foreign when ``strict`` (every part this version writes has one); in a
    catalog written by an older version (``strict=False``) such a part is
    accepted if it is at least a whole Parquet file (magic bytes at both ends).

    A large file verified by an earlier process is trusted while its inode,
    size, mtime and ctime are those it had then (``remembered``; the kernel
    moves ctime on every write, and no user can set it back); ``sampledex check``
    passes ``remembered=False`` and hashes everything.
    """
    try:
        st = path.stat()
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    key = (str(path), st.st_size, st.st_mtime_ns, st.st_ino)
    if key in _verified and remembered:
        return _verified[key]
    stamp = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns, declared_checksum(path.name)]
    memo = _memory() if remembered and st.st_size >= REMEMBER_BYTES and stamp[-1] else {}
    if memo.get(str(path)) == stamp:
        verdict = None
    else:
        verdict = _examine(path, st.st_size, strict)
        if verdict is None and st.st_size >= REMEMBER_BYTES and stamp[-1]:
            _remember(str(path), stamp)
    _verified[key] = verdict
    return verdict


def _memory_file() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "sampledex" / "verified.json"


def _memory() -> dict[str, list]:
    try:
        return json.loads(_memory_file().read_text())
    except (OSError, ValueError):
        return {}


def _remember(path: str, stamp: list) -> None:
    """Record a verified large file (best effort: a read-only home only means hashing it again next time)."""
    memo = {p: s for p, s in _memory().items() if os.path.exists(p)}
    memo[path] = stamp
    target = _memory_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = temporary_name(target)
        tmp.write_text(json.dumps(memo))
        os.replace(tmp, target)
    except OSError:
        pass


def _examine(path: Path, size: int, strict: bool) -> str | None:
    declared = declared_checksum(path.name)
    try:
        if declared is not None:
            actual = checksum(path)
            return None if actual == declared else f"damaged: checksum {actual}, its name says {declared}"
        if strict:
            return "foreign: not a part written by sampledex (its name carries no checksum)"
        with open(path, "rb") as f:
            head = f.read(4)
            f.seek(max(size - 4, 0))
            tail = f.read(4)
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    return None if size >= 12 and head == tail == _MAGIC else "damaged: not a whole Parquet file"


def quarantine(root: Path, path: Path, reason: str) -> Path:
    """Move a file the catalog must not read into ``root/quarantine/``, with a note of why.

    The new name keeps the old folder in it (``samples__part-….parquet``) and is never
    matched by the catalog's readers; nothing is deleted, so a user can inspect it.
    """
    folder = root / "quarantine"
    folder.mkdir(exist_ok=True)
    relative = path.relative_to(root).as_posix().replace("/", "__")
    target = folder / f"{relative}.{uuid.uuid4().hex[:6]}"
    os.replace(path, target)
    target.with_name(target.name + ".why").write_text(reason + "\n")
    return target

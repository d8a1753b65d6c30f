"""Sources: fsspec URLs listed into a manifest of audio files, nothing read yet.

A source is any fsspec URL — ``/abs/folder``, ``./folder``, ``file:///folder``,
``s3://bucket/prefix``, ``memory://x`` — plus ``storage_options`` handed to
fsspec unchanged. Listing is one ``find(detail=True)`` pass per source.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from dataclasses import dataclass

import fsspec
from fsspec.implementations.local import LocalFileSystem

from sampledex.models.errors import SampledexError

AUDIO_EXTENSIONS = frozenset({".wav", ".wave", ".aif", ".aiff", ".aifc", ".flac", ".ogg", ".oga", ".mp3"})


@dataclass(frozen=True)
class FileEntry:
    """One listed file: its identity as the source reports it.

    ``path`` is the URL stored in the catalog (a plain absolute path for local
    files, ``protocol://…`` otherwise), always valid UTF-8 (see
    :func:`utf8_spelling`); ``fs_path`` is what the filesystem object opens,
    the real name; ``mtime`` is UTC.
    """

    path: str
    fs_path: str
    source: str
    size: int
    mtime: dt.datetime | None
    etag: str | None


class SourceError(SampledexError, ValueError):
    """A source that cannot be listed (missing, not a folder or file, bad URL)."""


def open_source(url: str, storage_options: dict | None = None) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem and root path of a source URL."""
    fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
    return fs, root


def catalog_path(fs: fsspec.AbstractFileSystem, fs_path: str) -> str:
    """The catalog's spelling of a file: plain path for local files, URL otherwise; valid UTF-8."""
    if isinstance(fs, LocalFileSystem):
        return utf8_spelling(fs_path)
    return utf8_spelling(fs.unstrip_protocol(fs_path))


def utf8_spelling(path: str) -> str:
    """``path`` itself if it is valid UTF-8, else with each undecodable byte written ``%XX``.

    A POSIX file name is bytes; Python hands the bytes that are not UTF-8 over
    as lone surrogates (``\\udcff`` for byte 0xFF), which Parquet cannot store.
    Such a name is spelt with ``%FF`` for each of those bytes and ``%25`` for
    each ``%``, so ``urllib.parse.unquote_to_bytes`` gives the real name back
    and two such names never share a spelling. A valid UTF-8 name could, in
    principle, equal another's escaped spelling: it would need a literal
    ``%`` followed by the hex of a byte no UTF-8 text holds there.
    """
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return "".join(_escaped(c) for c in path)


def _escaped(char: str) -> str:
    if "\udc80" <= char <= "\udcff":  # os.fsdecode's surrogate escape of byte 0x80-0xFF
        return f"%{ord(char) - 0xDC00:02X}"
    return "%25" if char == "%" else char


def is_audio_name(name: str) -> bool:
    return posixpath.splitext(name)[1].lower() in AUDIO_EXTENSIONS


def _mtime(info: dict) -> dt.datetime | None:
    value = info.get("mtime", info.get("LastModified", info.get("last_modified", info.get("created"))))
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.UTC).replace(tzinfo=None)
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _etag(info: dict) -> str | None:
    value = info.get("ETag", info.get("etag"))
    return value.strip('"') if isinstance(value, str) else None


def _followed(fs: fsspec.AbstractFileSystem, fs_path: str, info: dict) -> dict:
    """The info of a listed symlink's target; a broken link's own, as a file of 0 bytes.

    A local listing reports every symlink as type ``other``, with the link's own
    mtime. A link to a file stands for that file (its size and mtime). A broken
    link (or a loop) is kept as a file so that reading it fails and it becomes
    an error row the user sees, instead of vanishing from the catalog. Links to
    anything else (folders, pipes, devices) keep their target's type and are
    left out: reading a pipe would block.
    """
    if not info.get("islink"):
        return info
    try:
        return fs.info(fs_path)
    except OSError:
        return {**info, "type": "file", "size": 0}


def list_source(url: str, storage_options: dict | None = None) -> list[FileEntry]:
    """Every audio file under a source (or the source itself if it is a file), sorted by path.

    Audio files are found by name; symlinks to files are followed (links to
    folders are not: a loop would never end), broken links are kept (see
    :func:`_followed`), and pipes, sockets and devices are left out.

    Raises
    ------
    SourceError
        if nothing exists at ``url``.
    """
    fs, root = open_source(url, storage_options)
    if not fs.exists(root):
        # exists() answers False for any failure (s3fs on a bucket root swallows a refused
        # connection or missing credentials): ask in a way that raises the real reason
        try:
            fs.info(root)
        except FileNotFoundError:
            raise SourceError(f"source {url!r} does not exist") from None
    source = catalog_path(fs, root)
    if fs.isfile(root):
        listing = {root: fs.info(root)}
    else:
        listing = fs.find(root, detail=True, withdirs=False)
    entries = []
    for fs_path, info in listing.items():
        if not is_audio_name(fs_path):
            continue
        info = _followed(fs, fs_path, info)
        if info.get("type", "file") != "file":
            continue
        entries.append(
            FileEntry(
                path=catalog_path(fs, fs_path),
                fs_path=fs_path,
                source=source,
                size=int(info.get("size") or 0),
                mtime=_mtime(info),
                etag=_etag(info),
            )
        )
    return sorted(entries, key=lambda e: e.path)


def list_sources(urls: list[str], storage_options: dict | None = None) -> list[FileEntry]:
    """The manifest of several sources; a file reachable from two sources is listed once."""
    seen: dict[str, FileEntry] = {}
    for url in urls:
        for entry in list_source(url, storage_options):
            seen.setdefault(entry.path, entry)
    return sorted(seen.values(), key=lambda e: e.path)

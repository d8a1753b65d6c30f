"""The catalog: a folder of immutable Parquet parts, read by DuckDB through ``sql/``.

::

    catalog/
      samples/   part-*.parquet   rows as analysed; a newer row of a path supersedes an older one
      removals/  *.parquet        paths that left their source, and when
      runs/      *.parquet        one row per ``index`` run
      LOCK                        held by the one ``index`` run writing, if any

Every file is written under a temporary name that DuckDB's globs never match
(``.NAME.parquet.HEX.tmp``) and renamed into place, so a reader sees a part
whole or not at all and a crash leaves nothing half-written; the temporary
files of a killed writer are deleted by the next one. Nothing is rewritten:
the ``samples`` view picks each path's newest row and drops removed paths, so
an interrupted run's finished parts count as done and a rerun continues from them.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import uuid
from importlib import resources
from pathlib import Path

from typing import TYPE_CHECKING

import duckdb

from sampledex.models.errors import SampledexError

from .defaults import catalog_location

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow and the schema are imported where a part is written: readers (`query`, `search`)
# need only duckdb, and start faster without them.

SQL_FILES = ("keys.sql", "macros.sql", "views.sql")
#: the catalog's folders, each with a schema of that name in :mod:`schema`; ``samples`` last, as
#: :meth:`Catalog.create` needs
_FOLDERS = ("removals", "runs", "samples")
#: the empty part that carries a folder's schema
_SCHEMA_PART = "schema.parquet"


class CatalogError(SampledexError, RuntimeError):
    """The catalog cannot be used as asked (missing, refused statement)."""


class CatalogLocked(CatalogError):
    """Another ``index`` run is writing the catalog."""

    exit_code = 3


#: what :func:`_temporary_name` makes, for finding the ones a killed writer left
_TEMPORARY_GLOB = ".*.parquet.*.tmp"


def _temporary_name(path: Path) -> Path:
    """A hidden name beside ``path`` that no ``*.parquet`` glob matches."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


def write_atomic(table: pa.Table, path: Path) -> None:
    """Write a Parquet file so that it appears complete or not at all."""
    import pyarrow.parquet as pq

    tmp = _temporary_name(path)
    try:
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _schema_of(folder: str) -> pa.Schema:
    from . import schema

    return getattr(schema, folder.upper())


class Catalog:
    """A catalog folder on the local file system."""

    def __init__(self, location: str | os.PathLike | None = None):
        self.root = Path(location or catalog_location()).absolute()

    def exists(self) -> bool:
        """Whether every view can be read: the last thing :meth:`create` writes is there."""
        return (self.root / "samples" / _SCHEMA_PART).is_file()

    def create(self) -> None:
        """Make the folders, each with an empty part that carries the schema.

        The empty parts keep DuckDB's globs from failing on a catalog that has
        no rows yet. ``samples``' part comes last, so a reader that finds it
        (:meth:`exists`) finds every folder's, never a glob that matches nothing.
        """
        for folder in _FOLDERS:
            (self.root / folder).mkdir(parents=True, exist_ok=True)
            empty = self.root / folder / _SCHEMA_PART
            if not empty.exists():
                write_atomic(_schema_of(folder).empty_table(), empty)

    def remove_leftovers(self) -> None:
        """Delete the temporary files of writers that were killed mid-write.

        Call it only while holding the lock: a live writer's temporary file
        looks the same.
        """
        for folder in _FOLDERS:
            for path in (self.root / folder).glob(_TEMPORARY_GLOB):
                path.unlink(missing_ok=True)

    def write(self, folder: str, table: pa.Table, name: str) -> Path:
        """Add one immutable part to ``samples``, ``removals`` or ``runs``."""
        path = self.root / folder / f"{name}.parquet"
        write_atomic(table.cast(_schema_of(folder)), path)
        return path

    # -- reading -------------------------------------------------------------

    def connect(self, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with the catalog's views and macros.

        With ``read_only`` the connection can read nothing outside the catalog
        folder, install and load nothing, has no temp directory (it never
        spills to disk: DuckDB would add the directory, ``<cwd>/.tmp`` by
        default, to the folders user SQL may read and write), scans no Python
        objects, and its configuration is locked. That does not stop a ``COPY``
        from writing inside the catalog folder: :meth:`query` adds the statement
        check (:mod:`readonly`) that does.
        """
        if not self.exists():
            raise CatalogError(f"no catalog at {self.root}: run `sampledex index SOURCE --catalog {self.root}` first")
        con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                     "autoload_known_extensions": False})
        con.execute("SET VARIABLE sampledex_catalog = ?", [str(self.root)])
        for name in SQL_FILES:
            con.execute(resources.files("sampledex.sql").joinpath(name).read_text())
        if read_only:
            con.execute("SET temp_directory = ''")  # before enable_external_access, which allows it
            con.execute("SET python_enable_replacements = false")
            con.execute("SET allowed_directories = ?", [[str(self.root)]])
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
        return con

    def query(self, sql: str, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyRelation:
        """Run one read-only statement and return its relation.

        :func:`readonly.check` decides (and raises :class:`readonly.ReadOnlyViolation`,
        a :class:`CatalogError`, for anything that could write or configure).
        """
        from .readonly import check  # it imports this module

        con = con or self.connect(read_only=True)
        check(sql, con)
        return con.sql(sql)

    def identities(self) -> dict[str, tuple]:
        """Current rows' identity: ``path -> (size_bytes, mtime, etag, content_hash, analysis_version, error)``."""
        if not self.exists():
            return {}
        con = self.connect(read_only=True)
        rows = con.sql("SELECT path, size_bytes, mtime, etag, content_hash, analysis_version, error "
                       "FROM samples").fetchall()
        return {r[0]: tuple(r[1:]) for r in rows}

    def rows(self, paths: list[str]) -> pa.Table:
        """The current rows of ``paths`` (those in the catalog), with every column the ``samples`` view has.

        Not cast to :data:`schema.SAMPLES`: in a catalog begun before a column
        was added, the view may lack it.
        """
        con = self.connect(read_only=True)
        return con.sql("SELECT * FROM samples WHERE path IN (SELECT unnest($paths::VARCHAR[]))",
                       params={"paths": paths}).to_arrow_table()

    # -- the writer's lock ---------------------------------------------------

    def lock(self) -> "CatalogLock":
        return CatalogLock(self.root / "LOCK")


class CatalogLock:
    """One writer at a time: an exclusive ``flock`` on the file ``LOCK``, which names its holder.

    The kernel holds the lock for the open file and drops it when its holder
    exits, however it exits (``kill -9`` included), so a dead writer never
    leaves a lock to clean up; a live holder makes a second writer fail at once
    with :class:`CatalogLocked`. The file itself stays: deleting it could let a
    third writer lock a new file while the second still holds the old one.
    """

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def _holder(self, fd: int) -> dict:
        try:
            return json.loads(os.pread(fd, 4096, 0) or b"{}")
        except (OSError, ValueError):
            return {}  # its holder is still writing its name

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            info = self._holder(fd)
            os.close(fd)
            raise CatalogLocked(
                f"catalog {self.path.parent} is being written by pid {info.get('pid', '?')} on "
                f"{info.get('host', '?')} since {info.get('started_at', 'just now')}; try again when it finishes"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        from . import schema

        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started_at": schema.utcnow().isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the last descriptor of the open file drops the flock
            self._fd = None

    def __enter__(self) -> "CatalogLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

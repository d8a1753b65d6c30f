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

import json
import os
import re
import socket
import time
import uuid
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from . import schema

DEFAULT_CATALOG = "catalog"
SQL_FILES = ("keys.sql", "macros.sql", "views.sql")
#: statements a read-only query may run
READ_ONLY_STATEMENTS = ("SELECT", "EXPLAIN")
#: the catalog's folders and their schemas; ``samples`` last, as :meth:`Catalog.create` needs
_FOLDERS = {"removals": schema.REMOVALS, "runs": schema.RUNS, "samples": schema.SAMPLES}
#: the empty part that carries a folder's schema
_SCHEMA_PART = "schema.parquet"


class CatalogError(RuntimeError):
    """The catalog cannot be used as asked (missing, refused statement)."""


class CatalogLocked(CatalogError):
    """Another ``index`` run is writing the catalog."""


def default_location() -> str:
    return os.environ.get("SAMPLEDEX_CATALOG", DEFAULT_CATALOG)


#: what :func:`_temporary_name` makes, for finding the ones a killed writer left
_TEMPORARY_GLOB = ".*.parquet.*.tmp"


def _temporary_name(path: Path) -> Path:
    """A hidden name beside ``path`` that no ``*.parquet`` glob matches."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


def write_atomic(table: pa.Table, path: Path) -> None:
    """Write a Parquet file so that it appears complete or not at all."""
    tmp = _temporary_name(path)
    try:
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class Catalog:
    """A catalog folder on the local file system."""

    def __init__(self, location: str | os.PathLike | None = None):
        self.root = Path(location or default_location()).absolute()

    def exists(self) -> bool:
        """Whether every view can be read: the last thing :meth:`create` writes is there."""
        return (self.root / "samples" / _SCHEMA_PART).is_file()

    def create(self) -> None:
        """Make the folders, each with an empty part that carries the schema.

        The empty parts keep DuckDB's globs from failing on a catalog that has
        no rows yet. ``samples``' part comes last, so a reader that finds it
        (:meth:`exists`) finds every folder's, never a glob that matches nothing.
        """
        for folder, table_schema in _FOLDERS.items():
            (self.root / folder).mkdir(parents=True, exist_ok=True)
            empty = self.root / folder / _SCHEMA_PART
            if not empty.exists():
                write_atomic(table_schema.empty_table(), empty)

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
        write_atomic(table.cast(_FOLDERS[folder]), path)
        return path

    # -- reading -------------------------------------------------------------

    def connect(self, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with the catalog's views and macros.

        With ``read_only`` the connection can read nothing outside the catalog
        folder, install and load nothing, and its configuration is locked;
        :meth:`query` adds the statement check that keeps ``COPY`` and
        ``ATTACH`` from writing inside it.
        """
        if not self.exists():
            raise CatalogError(f"no catalog at {self.root}: run `sampledex index SOURCE --catalog {self.root}` first")
        con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                     "autoload_known_extensions": False})
        con.execute("SET VARIABLE sampledex_catalog = ?", [str(self.root)])
        for name in SQL_FILES:
            con.execute(resources.files("sampledex.sql").joinpath(name).read_text())
        if read_only:
            con.execute("SET allowed_directories = ?", [[str(self.root)]])
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
        return con

    def query(self, sql: str, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyRelation:
        """Run one read-only statement and return its relation."""
        con = con or self.connect(read_only=True)
        statements = con.extract_statements(sql)
        if len(statements) != 1:
            raise CatalogError(f"expected one SQL statement, got {len(statements)}")
        kind = statements[0].type.name
        if kind not in READ_ONLY_STATEMENTS:
            raise CatalogError(f"read-only catalog: {kind} statements are refused (only SELECT and EXPLAIN)")
        if kind == "EXPLAIN" and re.search(r"\bANALY[SZ]E\b", sql, re.IGNORECASE):
            raise CatalogError("read-only catalog: EXPLAIN ANALYZE runs its statement and is refused")
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


def _is_zombie(pid: int) -> bool:
    """Whether ``pid`` has exited but was not reaped (read from Linux's ``/proc``; False elsewhere).

    A killed ``index`` whose parent never reaps it (a container whose PID 1 is
    no init) stays a zombie and still answers ``kill(pid, 0)``: its lock is stale all the same.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "Z"  # the state follows the parenthesised name


class CatalogLock:
    """One writer at a time: an ``O_EXCL`` lock file naming its holder.

    A lock left by a process that no longer runs on this host (exited, killed,
    or killed and never reaped) is stale and is taken over; a live holder makes
    a second writer fail at once. Not covered: two writers that take over the
    same stale lock in the same instant may both win, and a holder's pid reused
    by another process keeps a stale lock looking held until it is deleted.
    """

    def __init__(self, path: Path):
        self.path = path
        self.holder = {"pid": os.getpid(), "host": socket.gethostname(),
                       "started_at": schema.utcnow().isoformat(timespec="seconds")}

    def _age_s(self) -> float:
        try:
            return time.time() - self.path.stat().st_mtime
        except OSError:
            return 0.0

    def _alive(self, info: dict) -> bool:
        if info.get("pid") == "?":
            return True
        if info.get("host") != socket.gethostname():
            return True  # cannot tell for another machine: treat as held
        pid = int(info["pid"])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return not _is_zombie(pid)

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    info = json.loads(self.path.read_text() or "{}")
                except (OSError, ValueError):
                    info = {}
                if not info and self._age_s() < 10:
                    info = {"pid": "?", "host": "?", "started_at": "just now"}  # its holder is still writing it
                if info and self._alive(info):
                    raise CatalogLocked(
                        f"catalog {self.path.parent} is being written by pid {info.get('pid')} on "
                        f"{info.get('host')} since {info.get('started_at')}; try again when it finishes"
                    ) from None
                self.path.unlink(missing_ok=True)  # stale: its holder is gone
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(self.holder, f)
            return
        raise CatalogError(f"could not take the lock {self.path}")

    def release(self) -> None:
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> "CatalogLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

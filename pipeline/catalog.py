"""The catalog: a compacted base plus immutable Parquet parts, read by DuckDB through ``sql/``.

::

    catalog/
      CURRENT.json   the generation readers see: its base file and the folders of parts written since
      base/          base-<gen>.<sum>.parquet: every current row once, sorted by key then bpm (row-group
                     statistics then skip most of it for a search), with path_key = md5_number_upper(path)
      samples/       part-*.<sum>.parquet, rows as analysed, of generation 0; samples/g<gen>/ for later ones
      removals/      paths that left their source, and when (removals/g<gen>/ likewise)
      runs/          one row per ``index`` run (never compacted)
      quarantine/    damaged or foreign files moved aside, each with a ``.why``
      LOCK           held (flock) by the one writer, if any

Every file is written under a hidden temporary name, then renamed into place
with its checksum in its name (:mod:`parts`), so a reader sees a part whole or
not at all and can tell a damaged one. Nothing is rewritten in place: the
``samples`` view takes the base's rows that no newer part or removal
supersedes, plus each path's newest row among the parts, so an interrupted
run's finished parts count as done and a rerun continues from them.

Compaction (:meth:`Catalog.compact`, by ``index`` past a threshold or by
``sampledex compact``) writes a new base from the current rows, then points
``CURRENT.json`` at it and at new, empty folders of parts; a reader holds the
generation it connected to. The previous generation's files stay for
:data:`RETIRE_AFTER_S`, so a reader that connected before the switch is never
broken, and leave at a later writer's turn.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import socket
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from sampledex.models.errors import SampledexError

from . import parts
from .defaults import catalog_location

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow and the schema are imported where a part is written: readers (`query`, `search`)
# need only duckdb, and start faster without them.

SQL_FILES = ("keys.sql", "macros.sql", "views.sql", "declared.sql", "duplicates.sql")
#: folders of parts, each with a schema of that name in :mod:`schema`; samples and removals are
#: per generation, runs is one folder
PART_FOLDERS = ("samples", "removals", "runs")
STATE_FILE = "CURRENT.json"
#: a new base is written when the parts since the last hold more rows than this share of the base's …
COMPACT_RATIO = 0.1
#: … and at least this many rows; or when there are more part files than this
COMPACT_MIN_ROWS = 10_000
COMPACT_MAX_PARTS = 512
#: rows per row group of a base: small enough that a key's rows span few groups, large enough to scan fast
BASE_ROW_GROUP = 65_536
#: how long a superseded generation's files stay for readers that connected before the switch (s)
RETIRE_AFTER_S = 600.0
#: the empty files (in the package) that give every view its full schema, even over no parts
_EMPTY = {
    "base": "empty_base.parquet",
    "samples": "empty_samples.parquet",
    "removals": "empty_removals.parquet",
    "runs": "empty_runs.parquet",
}

#: a base file's name: its generation, then its checksum
_BASE_NAME = re.compile(r"^base-(?P<generation>\d{6})\.[0-9a-f]+\.parquet$")

log = logging.getLogger("sampledex")
#: the damaged files this process has warned about
_warned: set[tuple[str, str]] = set()


class CatalogError(SampledexError, RuntimeError):
    """The catalog cannot be used as asked (missing, refused statement)."""


class CatalogLocked(CatalogError):
    """Another ``index`` run is writing the catalog."""

    exit_code = 3


@dataclass(frozen=True)
class Generation:
    """What ``CURRENT.json`` says: a generation's number and its base file (relative; None before the first)."""

    number: int = 0
    base: str | None = None

    def folder(self, kind: str) -> str:
        """The folder of a kind of part, relative to the catalog root."""
        if kind == "runs" or self.number == 0:
            return kind
        return f"{kind}/g{self.number:06d}"


@dataclass
class Snapshot:
    """The files a connection reads: verified, with the ones left out and why."""

    generation: Generation
    files: dict[str, list[str]]
    problems: list[tuple[Path, str]]


@dataclass
class Compaction:
    """What :meth:`Catalog.compact` did."""

    generation: int
    rows: int
    parts: int
    seconds: float

    def text(self) -> str:
        return (
            f"compacted {self.parts} parts into base generation {self.generation} ({self.rows:,} rows) "
            f"in {self.seconds:.1f} s"
        )


def _empty_file(kind: str) -> str:
    return str(resources.files("sampledex.sql").joinpath(_EMPTY[kind]))


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> Any:
    """The one value a query answers (an aggregate, a macro's result)."""
    rows = con.execute(sql, params or []).fetchall()  # all of them: a half-read result would block the connection
    if not rows:
        raise CatalogError(f"no row from {sql!r}")
    return rows[0][0]


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Catalog:
    """A catalog folder on the local file system."""

    def __init__(self, location: str | os.PathLike | None = None):
        self.root = Path(location or catalog_location()).absolute()

    # -- state ---------------------------------------------------------------

    def _legacy(self) -> bool:
        """A catalog written before generations: parts straight in its folders, no ``CURRENT.json``."""
        return not (self.root / STATE_FILE).is_file() and (self.root / "samples").is_dir()

    def exists(self) -> bool:
        return (self.root / STATE_FILE).is_file() or self._legacy()

    def generation(self) -> Generation:
        """The generation readers see now (generation 0 for a catalog with no ``CURRENT.json``)."""
        try:
            state = json.loads((self.root / STATE_FILE).read_text())
        except FileNotFoundError:
            return Generation()
        except (OSError, ValueError) as exc:
            raise CatalogError(
                f"{self.root / STATE_FILE} cannot be read ({exc}): `sampledex check --repair` rewrites it"
            ) from None
        return Generation(int(state.get("generation", 0)), state.get("base"))

    def _publish(self, generation: Generation) -> None:
        state = {
            "generation": generation.number,
            "base": generation.base,
            "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        tmp = parts.temporary_name(self.root / STATE_FILE)
        tmp.write_text(json.dumps(state, indent=1) + "\n")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, self.root / STATE_FILE)

    def create(self) -> None:
        """Make the folders and ``CURRENT.json`` (a writer's first step; call it holding the lock).

        A catalog written by an older version has its parts renamed with their
        checksums first (a file that is not a whole Parquet file is quarantined),
        so that from now on every part can be verified.
        """
        legacy = self._legacy()
        generation = self.generation()
        for kind in PART_FOLDERS:
            (self.root / generation.folder(kind)).mkdir(parents=True, exist_ok=True)
        if legacy:
            self._adopt_legacy_parts()
        if not (self.root / STATE_FILE).is_file():
            self._publish(generation)

    def _adopt_legacy_parts(self) -> None:
        for kind in PART_FOLDERS:
            for path in sorted((self.root / kind).glob("*.parquet")):
                if parts.declared_checksum(path.name) is not None:
                    continue
                reason = parts.problem(path, strict=False)
                if reason:
                    self._quarantine(path, reason)
                else:
                    os.replace(path, path.with_name(f"{path.stem}.{parts.checksum(path)}.parquet"))

    def remove_leftovers(self) -> None:
        """Delete the temporary files of writers that were killed mid-write.

        Call it only while holding the lock: a live writer's temporary file
        looks the same.
        """
        for path in self.root.rglob(parts.TEMPORARY_GLOB):
            if "quarantine" not in path.relative_to(self.root).parts:
                path.unlink(missing_ok=True)

    def write(self, kind: str, table: pa.Table, name: str) -> Path:
        """Add one immutable part to ``samples``, ``removals`` or ``runs`` of the current generation."""
        from . import schema

        folder = self.root / self.generation().folder(kind)
        folder.mkdir(parents=True, exist_ok=True)  # a deleted folder is an empty one
        return parts.write_atomic(table.cast(getattr(schema, kind.upper())), folder, name)

    # -- reading -------------------------------------------------------------

    def snapshot(self, *, remembered: bool = True) -> Snapshot:
        """The current generation's files, each verified (:func:`parts.problem`); bad ones are left out.

        ``remembered=False`` hashes every file again, trusting no earlier process's verdict.
        """
        generation = self.generation()
        strict = not self._legacy()
        files: dict[str, list[str]] = {}
        problems: list[tuple[Path, str]] = []
        candidates = {kind: sorted((self.root / generation.folder(kind)).glob("*.parquet")) for kind in PART_FOLDERS}
        candidates["base"] = [self.root / generation.base] if generation.base else []
        for kind, paths in candidates.items():
            good = []
            for path in paths:
                reason = parts.problem(path, strict=strict, remembered=remembered)
                if reason:
                    problems.append((path, reason))
                else:
                    good.append(str(path))
            files[kind] = good + [_empty_file(kind)]  # never empty, and always every column
        return Snapshot(generation, files, problems)

    def connect(self, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with the catalog's views and macros over its verified files.

        With ``read_only`` the connection can read nothing outside the catalog
        folder (and the package's empty schema files), install and load nothing, has no temp directory (it never
        spills to disk: DuckDB would add the directory, ``<cwd>/.tmp`` by
        default, to the folders user SQL may read and write), scans no Python
        objects, and its configuration is locked. That does not stop a ``COPY``
        from writing inside the catalog folder: :meth:`query` adds the statement
        check (:mod:`readonly`) that does. Files that fail verification are left
        out, each named in one warning (logger ``sampledex``).
        """
        if not self.exists():
            raise CatalogError(f"no catalog at {self.root}: run `sampledex index SOURCE --catalog {self.root}` first")
        snapshot = self.snapshot()
        for path, reason in snapshot.problems:
            if (str(path), reason) not in _warned:  # once per file and process, however often it connects
                _warned.add((str(path), reason))
                log.warning(
                    "left out %s (%s); the next `sampledex index` or `sampledex check --repair` "
                    "quarantines it and re-analyses its files",
                    path.relative_to(self.root),
                    reason,
                )
        con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
        con.execute("SET VARIABLE sampledex_catalog = ?", [str(self.root)])
        for kind, files in snapshot.files.items():
            con.execute(f"SET VARIABLE sampledex_{kind} = ?", [files])
        for name in SQL_FILES:
            con.execute(resources.files("sampledex.sql").joinpath(name).read_text())
        if read_only:
            con.execute("SET temp_directory = ''")  # before enable_external_access, which allows it
            con.execute("SET python_enable_replacements = false")
            con.execute("SET allowed_directories = ?", [[str(self.root)]])
            con.execute("SET allowed_paths = ?", [[_empty_file(kind) for kind in _EMPTY]])
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
        rows = con.sql(
            "SELECT path, size_bytes, mtime, etag, content_hash, analysis_version, error FROM samples"
        ).fetchall()
        return {r[0]: tuple(r[1:]) for r in rows}

    def rows(self, paths: list[str]) -> pa.Table:
        """The current rows of ``paths`` (those in the catalog), with every column of the schema."""
        con = self.connect(read_only=True)
        return con.sql(
            "SELECT * FROM samples WHERE path IN (SELECT unnest($paths::VARCHAR[]))", params={"paths": paths}
        ).to_arrow_table()

    # -- repair and compaction (writers, holding the lock) -------------------

    def _quarantine(self, path: Path, reason: str) -> None:
        moved = parts.quarantine(self.root, path, reason)
        log.debug("quarantined %s as %s", path, moved)

    def repair(self) -> list[tuple[str, str]]:
        """Quarantine every file of the current generation that fails verification; returns (file, why).

        The rows such a file held leave the ``samples`` view, so the next plan
        analyses their files again: the catalog heals itself.
        """
        repaired = []
        for path, reason in self.snapshot(remembered=False).problems:
            if path.exists():
                self._quarantine(path, reason)
                repaired.append((str(path.relative_to(self.root)), reason))
        return repaired

    def compact(self, *, force: bool = False) -> Compaction | None:
        """Fold the parts and removals since the last base into a new base, if they pass the threshold.

        The new base holds every current row once, sorted by key then bpm; the
        switch is one atomic rename of ``CURRENT.json``. Returns what was done,
        or None when nothing needed doing (``force`` compacts whatever there is).
        """
        t0 = time.perf_counter()
        generation = self.generation()
        con = self.connect(read_only=False)
        delta_files = len(scalar(con, "SELECT getvariable('sampledex_samples')")) - 1
        deltas = scalar(con, "SELECT count(*) FROM sample_deltas")
        removals = scalar(con, "SELECT count(*) FROM removals")
        based = scalar(con, "SELECT count(*) FROM sample_base")
        due = deltas + removals >= max(COMPACT_MIN_ROWS, COMPACT_RATIO * based) or delta_files > COMPACT_MAX_PARTS
        if not (force or due) or (deltas + removals == 0 and generation.base):
            return None
        following = Generation(generation.number + 1)
        (self.root / "base").mkdir(exist_ok=True)
        tmp = parts.temporary_name(self.root / "base" / "base.parquet")
        try:
            con.execute(
                f"COPY (SELECT *, md5_number_upper(path) AS path_key FROM samples "
                f"ORDER BY key NULLS LAST, bpm NULLS LAST, path) TO {_sql_string(str(tmp))} "
                f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {BASE_ROW_GROUP})"
            )
            rows = scalar(con, f"SELECT count(*) FROM read_parquet({_sql_string(str(tmp))})")
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            base = self.root / "base" / f"base-{following.number:06d}.{parts.checksum(tmp)}.parquet"
            os.replace(tmp, base)
        finally:
            tmp.unlink(missing_ok=True)
        following = Generation(following.number, base.relative_to(self.root).as_posix())
        for kind in PART_FOLDERS:
            (self.root / following.folder(kind)).mkdir(parents=True, exist_ok=True)
        self._publish(following)
        self.retire()
        return Compaction(following.number, rows, delta_files, time.perf_counter() - t0)

    def retire(self, *, now: float | None = None, after_s: float = RETIRE_AFTER_S) -> list[str]:
        """Delete the files of generations superseded more than ``after_s`` seconds ago; returns what left.

        A generation is superseded when the next one's base is written; readers
        that connected before that keep reading its files, so they stay a while.
        """
        now = time.time() if now is None else now
        current = self.generation().number
        published = {}  # generation -> when its base was written (s since the epoch)
        for base in (self.root / "base").glob("base-*.parquet"):
            if match := _BASE_NAME.match(base.name):
                published[int(match["generation"])] = base.stat().st_mtime
        removed = []
        for number in range(current):
            successor = published.get(number + 1)
            if successor is not None and now - successor < after_s:
                continue  # superseded too recently: a reader may still hold it
            old = Generation(number)
            doomed = [p for kind in ("samples", "removals") for p in (self.root / old.folder(kind)).glob("*.parquet")]
            doomed += list((self.root / "base").glob(f"base-{number:06d}.*.parquet"))
            for path in doomed:
                path.unlink(missing_ok=True)
                removed.append(str(path.relative_to(self.root)))
            for kind in ("samples", "removals"):
                if number:
                    shutil.rmtree(self.root / old.folder(kind), ignore_errors=True)
        return removed

    # -- the writer's lock ---------------------------------------------------

    def lock(self) -> CatalogLock:
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

        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": schema.utcnow().isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the last descriptor of the open file drops the flock
            self._fd = None

    def __enter__(self) -> CatalogLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

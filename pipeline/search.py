"""The catalog's search filters as SQL: one definition for ``sampledex search`` and the web page.

Key, compatible keys, tempo (half and double time), kind, root note, text in the path, and declared
values in place of the audio's. The SQL uses the catalog's own macros (``compatible_keys``,
``bpm_between``, ``declared_matches``); values always travel as parameters.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields

from sampledex.models.errors import UsageError


@dataclass(frozen=True)
class Filters:
    """What a search asks. ``key`` in any spelling; ``compatible`` a rule of ``compatible_keys`` or None;
    ``bpm`` (low, high) in BPM, half and double time matching unless ``strict_bpm``; ``root`` a note in any
    spelling, octave optional (``Db3``, ``c#``); ``tuning_within`` the most cents a root may lie from equal
    temperament; ``text`` a substring of the path (case-insensitive)."""

    key: str | None = None
    compatible: str | None = None
    bpm: tuple[float, float] | None = None
    strict_bpm: bool = False
    kind: str | None = None
    root: str | None = None
    tuning_within: float | None = None
    declared: bool = False
    text: str | None = None

    @classmethod
    def from_namespace(cls, args: argparse.Namespace) -> Filters:
        given = {f.name: getattr(args, f.name, None) for f in fields(cls)}
        # identity, not equality: a tuning tolerance of 0.0 equals False and must still count
        return cls(**{name: value for name, value in given.items() if value is not None and value is not False})


def canonical_key(key: str | None, *, option: str = "key") -> str | None:
    """``key`` in its canonical spelling, None if not given; a usage error naming ``option`` if it is no key."""
    from sampledex.models import keys

    if not key:
        return None
    try:
        return keys.canonical(key)
    except keys.KeySpellingError as exc:
        raise UsageError(f"{option}: {exc}") from None


def where(con, filters: Filters) -> tuple[str, list]:
    """The WHERE clause (without the word) over ``samples`` and its parameters; analysed rows only.

    The compatible keys come from the catalog's own ``compatible_keys`` macro, asked first, so that
    the search filters on a constant list of keys: DuckDB then skips the base's row groups whose keys
    (it is sorted by key) are none of them, which a filter on the macro's subquery cannot do. With
    ``declared`` the key, tempo and root filters test what the file's metadata or name declares
    (``declared_matches`` in ``sql/declared.sql``) instead of what the audio says.
    """
    from .catalog import scalar

    clauses: list[str] = ["error IS NULL"]
    params: list = []
    key = canonical_key(filters.key)
    wanted = None
    if key:
        wanted = (
            [key]
            if not filters.compatible
            else scalar(con, "SELECT compatible_keys(?, rule := ?)", [key, filters.compatible])
        )
    if filters.root and scalar(con, "SELECT note_pc(?)", [filters.root]) is None:
        raise UsageError(f"root: {filters.root!r} is not a note (C, C#3, Db, bb2, F♯4)")  # noqa: RUF001
    if filters.declared:
        clauses.append(
            "declared_matches(declared_key, declared_bpm, declared_root, want_keys := ?, "
            "bpm_lo := ?, bpm_hi := ?, root := ?, strict := ?)"
        )
        params += [wanted, *(filters.bpm or (None, None)), filters.root, filters.strict_bpm]
    else:
        if wanted:
            clauses.append(f"key IN ({', '.join('?' * len(wanted))})")
            params += wanted
        if filters.bpm:
            clauses.append("bpm BETWEEN ? AND ?" if filters.strict_bpm else "bpm_between(bpm, ?, ?)")
            params += list(filters.bpm)
        if filters.root:
            # any spelling; the octave only where both write one (`root_matches` in sql/declared.sql)
            clauses.append("root_matches(root_note, ?)")
            params.append(filters.root)
    if filters.tuning_within is not None:
        clauses.append("abs(tuning_cents) <= ?")
        params.append(filters.tuning_within)
    if filters.kind:
        clauses.append("kind = ?")
        params.append(filters.kind)
    if filters.text:
        clauses.append("contains(lower(path), lower(?))")
        params.append(filters.text)
    return " AND ".join(clauses), params

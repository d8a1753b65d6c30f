"""Labelled audio for training and evaluating the key model: three layouts, one record type.

Every loader returns a :class:`Dataset` — a ``list`` of :class:`LabelledFile`
``(path, key, source)`` sorted by path, where ``key`` is a key index ``0..23``
(see :mod:`.keys`) or ``None`` for audio that has no key. Nothing is decoded:
the loaders read labels and list files only.

Accepted layouts (``load`` picks one from the spec):

``<root>/annotations/annotations.txt`` + ``<root>/audio/<id>.LOFI.mp3``
    GiantSteps-MTG: tab-separated ``ID  MANUAL KEY  C`` (header optional),
    ``C`` = annotator confidence 0–2, ``-`` = no key.
``<root>/annotations/key/<id>.LOFI.key`` + ``<root>/audio/<id>.LOFI.mp3``
    GiantSteps Key: each ``.key`` file holds bare text such as ``Bb major``.
``<file>.csv``
    header ``path,key`` (``file`` is read as ``path``; other columns are ignored);
    relative paths resolve against the CSV's folder; an empty key means no key.

GiantSteps ids are zero-padded in some file names (``0010089``) and not in
others (``10089``): audio and labels are matched by ``int(id)``.

Rows and files that are left out are listed in ``Dataset.skipped`` (reason ->
ids or paths); those that point at a problem in the data (a label without
audio, audio without a label, a label that is not a key, a duplicate id or path,
a missing file) are also reported in one :class:`DatasetWarning` per call.
Rows left out by design (GiantSteps-MTG confidence below 2, two labels) are
only listed.
"""

from __future__ import annotations

import csv
import io
import os
import posixpath
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from sampledex.models import keys
from sampledex.models.errors import SampledexError

__all__ = [
    "LabelledFile",
    "Dataset",
    "DatasetError",
    "DatasetWarning",
    "giantsteps_key",
    "giantsteps_mtg",
    "csv_dataset",
    "declared_dataset",
    "load",
    "GIANTSTEPS_KEY",
    "GIANTSTEPS_MTG",
    "MTG_CONFIDENCE",
    "LAYOUTS",
]

#: ``source`` of every file from :func:`giantsteps_key`
GIANTSTEPS_KEY = "giantsteps-key"
#: ``source`` of every file from :func:`giantsteps_mtg`
GIANTSTEPS_MTG = "giantsteps-mtg"
#: the only GiantSteps-MTG confidence kept for keyed rows (0–2 scale)
MTG_CONFIDENCE = 2

#: the layouts :func:`load` accepts, as its error message states them
LAYOUTS = (
    "  - a .csv file with a header 'path,key' (relative paths resolve against the CSV's folder)\n"
    "  - a GiantSteps Key folder: annotations/key/<id>.LOFI.key and audio/<id>.LOFI.mp3\n"
    "  - a GiantSteps-MTG folder: annotations/annotations.txt and audio/<id>.LOFI.mp3"
)

#: words that mean "this audio has no key" in annotations
_NO_KEY = frozenset({"-", "none"})
#: skip reasons that point at a problem in the data (warned); the others are selections
_PROBLEMS = ("no audio", "no annotation", "not a key", "duplicate id", "duplicate path", "missing file")
_AUDIO_RE = re.compile(r"^(?P<id>\d+)\.LOFI\.mp3$", re.IGNORECASE)
_KEY_FILE_RE = re.compile(r"^(?P<id>\d+)\.LOFI\.key$", re.IGNORECASE)


@dataclass(frozen=True)
class LabelledFile:
    """One labelled audio file.

    Attributes
    ----------
    path : str
        local absolute path, or an fsspec URL (``s3://…``) taken from a CSV
    key : int or None
        key index ``0..23`` (:mod:`.keys`), ``None`` = the audio has no key
    source : str
        the dataset it came from (``"giantsteps-key"``, ``"giantsteps-mtg"``,
        or a CSV's ``source=``, by default the name of the CSV's folder)
    """

    path: str
    key: int | None
    source: str


class DatasetError(SampledexError, ValueError):
    """A dataset whose layout is wrong: a missing folder or file, an unreadable label file."""


class DatasetWarning(UserWarning):
    """Files or rows left out of a dataset because of a problem in the data."""


class Dataset(list):
    """A ``list[LabelledFile]`` sorted by path, with what was left out and why.

    Attributes
    ----------
    skipped : dict[str, list[str]]
        reason -> ids (GiantSteps) or paths (CSV) left out, e.g.
        ``{"no audio": ["7217"], "confidence < 2": ["16484", …]}``
    """

    def __init__(self, files=(), skipped: dict[str, list[str]] | None = None):
        super().__init__(sorted(files, key=lambda f: f.path))
        self.skipped: dict[str, list[str]] = {k: list(v) for k, v in (skipped or {}).items() if v}

    def summary(self, reasons=None) -> str:
        """``"kept 5; skipped 2 (no audio: 7217, 99)…"`` for the given reasons (all by default)."""
        parts = []
        for reason, items in self.skipped.items():
            if reasons is None or reason in reasons:
                shown = ", ".join(items[:5]) + (", …" if len(items) > 5 else "")
                parts.append(f"{len(items)} {reason} ({shown})")
        return f"kept {len(self)}" + ("; skipped " + "; ".join(parts) if parts else "")


class _Skips(dict):
    def add(self, reason: str, item) -> None:
        self.setdefault(reason, []).append(str(item))


def _finish(files: list[LabelledFile], skips: _Skips, where: str) -> Dataset:
    ds = Dataset(files, skips)
    if any(r in ds.skipped for r in _PROBLEMS):
        warnings.warn(f"{where}: {ds.summary(_PROBLEMS)}", DatasetWarning, stacklevel=3)
    return ds


def _require_dir(path: str, what: str) -> None:
    if not os.path.isdir(path):
        raise DatasetError(f"{what}: folder {path} not found")


def _index_ids(folder: str, pattern: re.Pattern, skips: _Skips) -> dict[int, str]:
    """``int(id) -> file name`` of the names in ``folder`` that match ``pattern``."""
    found: dict[int, str] = {}
    for name in sorted(os.listdir(folder)):
        m = pattern.match(name)
        if not m:
            continue  # README, .DS_Store, other formats
        ident = int(m["id"])
        if ident in found:
            skips.add("duplicate id", f"{name} (same id as {found[ident]})")
            continue
        found[ident] = name
    return found


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8-sig") as f:
        return f.read()


def _annotated_key(text: str) -> int | None:
    """The key index an annotation names; None for the spellings of "no key" (``-``, ``none``).

    Raises
    ------
    keys.KeySpellingError
        if ``text`` is neither.
    """
    return None if text.lower() in _NO_KEY else keys.parse_key(text)


def giantsteps_key(root: str | os.PathLike) -> Dataset:
    """The GiantSteps Key dataset (604 Beatport previews, Knees et al., ISMIR 2015).

    Parameters
    ----------
    root : str or path
        the dataset folder, holding ``audio/<id>.LOFI.mp3`` and
        ``annotations/key/<id>.LOFI.key`` (bare text such as ``Bb major``,
        with or without a trailing newline)

    Returns
    -------
    Dataset
        one :class:`LabelledFile` per audio file with a readable label,
        ``source="giantsteps-key"``. A label of ``-`` or ``none`` gives
        ``key=None``; audio without a label, a label without audio and a label
        that is not a key (empty, ``d major / b minor``) are skipped and warned.

    Raises
    ------
    DatasetError
        if ``root``, ``root/audio`` or ``root/annotations/key`` is not a folder.
    """
    root = os.path.abspath(os.path.expanduser(os.fspath(root)))
    _require_dir(root, "GiantSteps Key")
    audio_dir = os.path.join(root, "audio")
    label_dir = os.path.join(root, "annotations", "key")
    _require_dir(audio_dir, "GiantSteps Key audio (audio/<id>.LOFI.mp3)")
    _require_dir(label_dir, "GiantSteps Key labels (annotations/key/<id>.LOFI.key)")

    skips = _Skips()
    audio = _index_ids(audio_dir, _AUDIO_RE, skips)
    labels = _index_ids(label_dir, _KEY_FILE_RE, skips)
    files = []
    for ident in sorted(audio.keys() | labels.keys()):
        if ident not in labels:
            skips.add("no annotation", audio[ident])
            continue
        if ident not in audio:
            skips.add("no audio", labels[ident])
            continue
        text = _read_text(os.path.join(label_dir, labels[ident])).strip()
        try:
            key = _annotated_key(text)
        except keys.KeySpellingError:
            skips.add("not a key", f"{labels[ident]}={text!r}")
            continue
        files.append(LabelledFile(os.path.join(audio_dir, audio[ident]), key, GIANTSTEPS_KEY))
    return _finish(files, skips, f"GiantSteps Key {root}")


def _mtg_columns(fields: list[str]) -> tuple[int, int, int] | None:
    """Column indices (id, key, confidence) if ``fields`` is a header line, else None."""
    try:
        int(fields[0].strip())
        return None
    except ValueError:
        pass
    names = [f.strip().lower() for f in fields]

    def find(options, default):
        return next((names.index(o) for o in options if o in names), default)

    return find(("id",), 0), find(("manual key", "key"), 1), find(("c", "confidence"), 2)


def giantsteps_mtg(root: str | os.PathLike, *, keyless: bool = True) -> Dataset:
    """The GiantSteps-MTG key dataset (1,486 Beatport excerpts, Faraldo et al.).

    Parameters
    ----------
    root : str or path
        the dataset folder, holding ``annotations/annotations.txt`` (tab-separated
        ``ID  MANUAL KEY  C``, header line optional) and ``audio/<id>.LOFI.mp3``
    keyless : bool
        keep ``-`` rows ("no key") as ``key=None``. The confidence column rates
        a key, and every ``-`` row of the published file has ``C = 0``, so these
        rows are kept whatever their confidence; ``False`` drops them.

    Returns
    -------
    Dataset
        ``source="giantsteps-mtg"``: rows with ``C == 2`` and a single label
        that :func:`.keys.parse_key` reads (``D# minor``), plus the ``-`` rows.
        Rows with ``C < 2`` and rows with two labels (``C minor / F# minor``,
        ``G minor/major``) are listed in ``skipped`` only; a row without audio,
        audio without a row and a label that is not a key are also warned.

    Raises
    ------
    DatasetError
        if ``root``, ``root/audio`` or ``annotations.txt`` is missing, or a row
        is not ``ID<TAB>KEY<TAB>C`` with integer ID and C (the line is named).
    """
    root = os.path.abspath(os.path.expanduser(os.fspath(root)))
    _require_dir(root, "GiantSteps-MTG")
    table = os.path.join(root, "annotations", "annotations.txt")
    if not os.path.isfile(table):
        raise DatasetError(f"GiantSteps-MTG: label file {table} not found")
    audio_dir = os.path.join(root, "audio")
    _require_dir(audio_dir, "GiantSteps-MTG audio (audio/<id>.LOFI.mp3)")

    skips = _Skips()
    audio = _index_ids(audio_dir, _AUDIO_RE, skips)
    rows: dict[int, str] = {}  # id -> label, in file order
    files = []
    columns = None
    for number, line in enumerate(_read_text(table).splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if columns is None:
            columns = _mtg_columns(fields) if len(fields) >= 3 else None
            if columns is not None:
                continue  # the header line
            columns = (0, 1, 2)
        id_col, key_col, conf_col = columns
        try:
            ident = int(fields[id_col].strip())
            label = fields[key_col].strip()
            confidence = int(fields[conf_col].strip())
        except (IndexError, ValueError):
            raise DatasetError(
                f"{table}, line {number}: {line!r} is not 'ID<TAB>MANUAL KEY<TAB>C' with integer ID and C"
            ) from None
        if ident in rows:
            skips.add("duplicate id", f"{ident} (line {number})")
            continue
        rows[ident] = label
        if label.lower() in _NO_KEY:
            if not keyless:
                skips.add("keyless", ident)
                continue
            key = None
        elif confidence != MTG_CONFIDENCE:
            skips.add(f"confidence < {MTG_CONFIDENCE}", ident)
            continue
        elif "/" in label:
            skips.add("two labels", ident)
            continue
        else:
            try:
                key = keys.parse_key(label)
            except keys.KeySpellingError:
                skips.add("not a key", f"{ident}={label!r}")
                continue
        if ident not in audio:
            skips.add("no audio", ident)
            continue
        files.append(LabelledFile(os.path.join(audio_dir, audio[ident]), key, GIANTSTEPS_MTG))
    if not rows:
        raise DatasetError(f"{table}: no rows; expected tab-separated 'ID<TAB>MANUAL KEY<TAB>C' lines")
    for ident in sorted(audio.keys() - rows.keys()):
        skips.add("no annotation", audio[ident])
    return _finish(files, skips, f"GiantSteps-MTG {root}")


def _is_url(path: str) -> bool:
    return "://" in path


def _resolve(entry: str, csv_path: str) -> str:
    """An entry of the CSV as an absolute local path or a URL."""
    if _is_url(entry):
        return entry
    if _is_url(csv_path):
        if entry.startswith("/"):
            return entry
        protocol, rest = csv_path.split("://", 1)
        return f"{protocol}://{posixpath.normpath(posixpath.join(posixpath.dirname(rest), entry))}"
    entry = os.path.expanduser(entry)
    if os.path.isabs(entry):
        return os.path.normpath(entry)
    return os.path.normpath(os.path.join(os.path.dirname(csv_path), entry))


def _read_csv_text(path: str, storage_options: dict | None) -> str:
    if not _is_url(path):
        if not os.path.isfile(path):
            raise DatasetError(f"CSV dataset: file {path} not found")
        return _read_text(path)
    import fsspec

    try:
        with fsspec.open(path, "rb", **(storage_options or {})) as f:
            return f.read().decode("utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(f"CSV dataset: file {path} not found") from None


def csv_dataset(path: str | os.PathLike, *, source: str | None = None, storage_options: dict | None = None) -> Dataset:
    """A CSV of labelled audio: header ``path,key``, other columns ignored.

    Parameters
    ----------
    path : str or path
        local path or fsspec URL of the CSV
    source : str, optional
        ``source`` of its files; default: the name of the CSV's folder
        (``realkeys`` for ``…/realkeys/labels.csv``)
    storage_options : dict, optional
        handed to fsspec unchanged when ``path`` is a URL

    Returns
    -------
    Dataset
        one :class:`LabelledFile` per row. ``path`` may be absolute, a URL
        (kept as written) or relative to the CSV's folder; a ``file`` column is
        read as ``path`` when there is no ``path`` column. ``key`` is any spelling
        :func:`.keys.parse_key` accepts (``A minor``, ``Am``, ``8A``); empty,
        ``-`` or ``none`` means no key. A local file that does not exist, and a
        path listed twice, are skipped and warned; URLs are not checked.

    Raises
    ------
    DatasetError
        if the CSV is missing, has no ``path``/``key`` header, or a row has an
        empty path or a key that is not a key (file and line are named).
    """
    path = os.fspath(path)
    if not _is_url(path):
        path = os.path.abspath(os.path.expanduser(path))
    text = _read_csv_text(path, storage_options)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    names = [h.strip().lower() for h in header] if header else []
    path_col = next((names.index(c) for c in ("path", "file") if c in names), None)
    if path_col is None or "key" not in names:
        raise DatasetError(f"{path}: expected a header with columns 'path,key', found {header!r}")
    key_col = names.index("key")
    if source is None:
        source = posixpath.basename(posixpath.dirname(path.replace(os.sep, "/"))) or path

    skips = _Skips()
    files: dict[str, LabelledFile] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        entry = row[path_col].strip() if path_col < len(row) else ""
        text_key = row[key_col].strip() if key_col < len(row) else ""
        if not entry:
            raise DatasetError(f"{path}, line {line}: empty path")
        try:
            key = _annotated_key(text_key) if text_key else None
        except keys.KeySpellingError as e:
            raise DatasetError(f"{path}, line {line}: {e}") from None
        resolved = _resolve(entry, path)
        if resolved in files:
            skips.add("duplicate path", f"{resolved} (line {line})")
            continue
        if not _is_url(resolved) and not os.path.isfile(resolved):
            skips.add("missing file", resolved)
            continue
        files[resolved] = LabelledFile(resolved, key, source)
    return _finish(list(files.values()), skips, f"CSV dataset {path}")


def declared_dataset(rows: Iterable[tuple[str, str | None]], *, source: str) -> Dataset:
    """Files labelled by what their pack declares: ``(path, declared_key)`` rows of a catalog.

    A pack's names and tags (``Pad_C#m.wav``, an ACID chunk's root, a ``TKEY`` tag) are the labels a
    library already has; ``sampledex train --from-catalog`` reads them from the catalog's
    ``declared_key``. Rows that declare no key are left out rather than taken as keyless: a name
    without a key says nothing about the audio. A declared key that is not a key is skipped and named.
    """
    files, skips = [], _Skips()
    for path, declared in rows:
        if not declared:
            skips.add("no declared key", path)
            continue
        try:
            files.append(LabelledFile(path, keys.parse_key(declared), source))
        except keys.KeySpellingError:
            skips.add("unreadable key", path)
    return _finish(files, skips, source)


def load(spec: str | os.PathLike) -> Dataset:
    """The dataset a spec names: a ``.csv`` file or a GiantSteps folder.

    A ``.csv`` (local or URL) -> :func:`csv_dataset`; a folder with
    ``annotations/annotations.txt`` -> :func:`giantsteps_mtg` (checked first:
    the MTG release also ships an ``annotations/key/`` folder, of a different
    format); a folder with ``annotations/key/`` -> :func:`giantsteps_key`.

    Raises
    ------
    DatasetError
        for anything else, naming the spec and the three accepted layouts.
    """
    spec = os.fspath(spec)
    if spec.lower().endswith(".csv"):
        return csv_dataset(spec)
    local = os.path.abspath(os.path.expanduser(spec))
    if not _is_url(spec) and os.path.isdir(local):
        if os.path.isfile(os.path.join(local, "annotations", "annotations.txt")):
            return giantsteps_mtg(local)
        if os.path.isdir(os.path.join(local, "annotations", "key")):
            return giantsteps_key(local)
        what = "is a folder of none of these layouts"
    elif _is_url(spec):
        what = "is a URL that is not a .csv file (GiantSteps folders must be local)"
    elif os.path.exists(local):
        what = "is a file that is not a .csv"
    else:
        what = "does not exist"
    raise DatasetError(f"dataset {spec} {what}; a dataset is one of:\n{LAYOUTS}")

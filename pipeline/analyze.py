"""Per-file analysis: bytes ──► decode ──► descriptors ──► spectrogram ──► key ──► one catalog row.

The same functions serve ``sampledex analyze``, a Dask partition and the
benchmark's single-process loop. A file that cannot be read or decoded becomes
a row with ``error`` set and NULL features (the error policy is "record"), so a
batch never stops on a bad file. Memory is bounded whatever the file: large files
are streamed and every file is analysed on a bounded excerpt (see ``decode``).
"""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache
from typing import Any, BinaryIO

import fsspec
import numpy as np
import pyarrow as pa

from sampledex.models import descriptors, embedding, frontend, onsets, tempo
from sampledex.models.classic import ClassicKeyEstimator
from sampledex.models.errors import UsageError
from sampledex.models.keys import KeyEstimate, KeyEstimator

from . import decode, features, schema, tags
from .defaults import DEFAULT_KEY_METHOD, KEY_METHODS
from .sources import FileEntry

#: bump when a descriptor's definition changes: every row is then re-analysed
FEATURES_VERSION = "f25"  # f2: truncated files named; f3: declared key, tempo and root from metadata and names;
# f4: kind, bpm, bpm_confidence, root_note and tuning_cents from the audio; f5: embedding; f6: the tempo-level
# scorer retrained on more features and material, and struck and plucked notes given a root; f7: no key for
# unpitched one-shots the key model is unsure of; f8: roots of stiff strings (piano bass) and of high notes over
# room rumble, long notes kept as one-shots, and no key for a drum loop the key model is unsure of; f9: the
# loop-or-one-shot model refitted (one-bar loops), the tempo-level scorer trained with tempi evened out; f10:
# roots of top-octave notes over their instrument's body (what lies far below a note above 2 kHz counts less);
# f11: roots of the piano's lowest strings (partials past the 16th), none for a low drum body; f12: roots of
# top notes that ring briefly after a louder knock; f13: a loop's bars counted from its start (tails and fades too),
# the tempo-level scorer retrained; f14: no key for a hit that dies away with its partials off any equal-tempered
# grid (cymbals, hats, snares, toms; not a harmonic chord) that the key model is unsure of; f15: a held note's
# release click no beat (sustained notes kept as one-shots), the loop-or-one-shot model refitted; f16: the hit rule
# of f14 up to coherence 0.5 (toms and hand drums whose pitch falls as they ring), and a hit off the grid without
# a pitch keeps a key only at confidence 0.7; f17: the hit rule spares only chords of harmonicity 0.55 or more
# (hand drums, toms and snares of 0.5–0.55 no longer pass for one); f18: a hit the f14 rule spares as a chord keeps
# its key only at confidence 0.3 (a drum machine's hats); f19: a file with under 0.1 of its spectrum in narrow peaks
# keeps a key only at confidence 0.4 (drum loops with toms); f20: a note from C2 up held 0.8 s or more is pitched at
# harmonicity 0.5 (low string tremolo); f21: a file cut at its loudest (a riser, a reversed swell, a pad swelling into
# one) is not a hit dying away (f14's fall read the file's quiet start); f22: loop or one-shot read from where the
# sound starts (a recorded note after a margin of silence is one attack), and frame energy without what lies under
# 32 Hz (a DC offset, steady or drifting, kept a dying hit from falling silent); f23: the CNN's key read with the
# chroma's evidence counted (cnn.with_chroma_evidence); f24: a one-shot that holds its level (a pad, a drone, a swell)
# is not without notes for its low harmonicity alone (descriptors.HOLD_DB); f25: a key the CNN and the chroma both
# name stands for a held sound with notes in it, a tonal FX under a louder wash (descriptors.CORROBORATED_TONES_SHARE)
#: files up to this size are read whole, in one request (bytes); larger ones are streamed
WHOLE_READ_BYTES = 64 * 2**20
#: read size when streaming a larger file (bytes)
STREAM_CHUNK_BYTES = 8 * 2**20
#: shortest clip given a key (s)
MIN_KEY_SECONDS = 0.05


@lru_cache(maxsize=4)
def key_estimator(method: str = DEFAULT_KEY_METHOD, weights: str | None = None) -> KeyEstimator:
    """The key estimator for ``method``, built once per worker process; ``weights``: a CNN's ``keycnn.npz``
    other than the shipped one (evaluating a training run)."""
    if method == "classic":
        return ClassicKeyEstimator()
    if method == "cnn":
        from sampledex.models.cnn import WEIGHTS, CNNKeyEstimator

        return CNNKeyEstimator(weights or WEIGHTS)
    raise UsageError(f"key method {method!r} is not one of {KEY_METHODS}")


def warm_up(method: str = DEFAULT_KEY_METHOD) -> None:
    """Load the estimator in this process now, so the first partition does not pay for it."""
    key_estimator(method)


def analysis_version(method: str = DEFAULT_KEY_METHOD) -> str:
    """What wrote a row: the descriptor version, the key model's version and the tempo scorer's."""
    return f"{FEATURES_VERSION}+{key_estimator(method).version}+{tempo.scorer_version()}"


def identity_columns(entry: FileEntry, method: str) -> dict[str, Any]:
    """The columns every row has, analysed or not: where the file is, what it was, who wrote the row."""
    return {
        "path": entry.path,
        "source": entry.source,
        "size_bytes": entry.size,
        "mtime": entry.mtime,
        "etag": entry.etag,
        "analysis_version": analysis_version(method),
        "indexed_at": schema.utcnow(),
    }


def describe(source: bytes | BinaryIO, *, method: str = DEFAULT_KEY_METHOD, name: str = "") -> dict[str, Any]:
    """Every descriptor of one encoded file, held in memory or read from an open file.

    Parameters
    ----------
    source : bytes or binary file object
        see :func:`decode.decode`; a long file is analysed on its first
        :data:`decode.MAX_ANALYSIS_SECONDS` (fewer at high rates or channel
        counts), and ``duration_s`` is still the whole file's.
    name : str
        the file's path or URL, whose name and folders may declare a key, a
        tempo or a root (:func:`tags.declared_metadata`).

    Returns the catalog columns this analysis fills (identity columns and
    ``content_hash`` aside), ``notes`` included (see :func:`analysis_notes`).

    Raises
    ------
    decode.DecodeError
        if ``source`` is not decodable audio.
    """
    audio = decode.decode(source)
    mono = decode.to_analysis_mono(audio)
    # the two transforms every estimator shares, computed once: the key's spectrogram and the onset bands
    S = frontend.logfreq_spectrogram(mono) if mono.size else None
    strength = onsets.onset_strength(mono) if mono.size else None
    found = descriptors.describe(mono, strength=strength)
    key = estimate_key(audio, method, S=S, found=found)
    vector = embedding.embed(strength, S) if strength is not None and S is not None else None
    row = {
        "format": audio.format,
        "sample_rate": audio.sample_rate,
        "channels": audio.channels,
        "duration_s": audio.duration_s,
        "key": key.name,
        "key_confidence": key.confidence if key.index is not None else None,
        "camelot": key.camelot,
        **descriptor_columns(found),
        "peak_dbfs": features.peak_dbfs(audio.samples),
        "loudness_lufs": features.loudness_lufs(audio.samples, audio.sample_rate),
        "embedding": None if vector is None else vector.tolist(),
        "notes": analysis_notes(audio),
    }
    declared = declared_columns(source, name, row)
    if declared.get("kind", found.kind) != found.kind:
        # the file's ACID chunk says loop where the audio says one-shot, or the reverse: its flag is the
        # kind, and the tempo or the pitch follows it
        declared.update(descriptor_columns(descriptors.describe(mono, kind=declared["kind"], strength=strength)))
    return {**row, **declared}


def embed_audio(audio: decode.Audio) -> np.ndarray | None:
    """The embedding of decoded audio [shape=(embedding.DIM,)] as :func:`describe` computes it; None if silent."""
    mono = decode.to_analysis_mono(audio)
    if not mono.size:
        return None
    return embedding.embed(onsets.onset_strength(mono), frontend.logfreq_spectrogram(mono))


def descriptor_columns(found: descriptors.Descriptors) -> dict[str, Any]:
    """The catalog columns of the audio's own descriptors: kind, tempo (loops), root and tuning (pitched one-shots)."""
    return {
        "kind": found.kind,
        "bpm": found.bpm,
        "bpm_confidence": found.bpm_confidence,
        "root_note": found.root_note,
        "tuning_cents": found.tuning_cents,
    }


def declared_columns(source: bytes | BinaryIO, name: str, row: dict[str, Any]) -> dict[str, Any]:
    """What the file's own metadata and its name declare, as catalog columns, given the analysed ``row``.

    The file's metadata wins over the name; where they disagree, ``notes`` says
    so. An ACID chunk's loop or one-shot flag is the row's ``kind``; so is a kind
    word in the name or its folders (``Loop``, ``One Shot``, ``Hit``: see
    :mod:`models.names`, rule 12), and ``notes`` then says what the audio alone said.
    """
    f = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    declared, disagreement = tags.declared_metadata(f, name, kind=row.get("kind"), container=row.get("format"))
    columns: dict[str, Any] = {
        "declared_key": declared.key,
        "declared_bpm": declared.bpm,
        "declared_root": declared.root,
    }
    kind_note = None
    where = declared.source_of("kind")
    if where == "acid":
        columns["kind"] = declared.kind
    elif where == "name" and row.get("kind") not in (None, declared.kind):
        # a word of the name ("Loop", "One Shot") is the pack author's own filing: a held chord that is a
        # whole number of bars long is a loop or a one-shot pad by intent, which the audio alone cannot tell
        columns["kind"] = declared.kind
        kind_note = f"kind {declared.kind} from the name; the audio alone says {row['kind']}"
    if disagreement or kind_note:
        columns["notes"] = "; ".join(n for n in (row.get("notes"), disagreement, kind_note) if n)
    return columns


def estimate_key(
    audio: decode.Audio,
    method: str = DEFAULT_KEY_METHOD,
    *,
    S: np.ndarray | None = None,
    found: descriptors.Descriptors | None = None,
    weights: str | None = None,
) -> KeyEstimate:
    """The key of decoded audio.

    ``S`` is :func:`frontend.logfreq_spectrogram` of the audio's analysis mono signal and ``found`` its
    :func:`descriptors.describe`, when the caller has them already (they are made here otherwise); ``weights``
    another ``keycnn.npz`` for the CNN (see :func:`key_estimator`). Clips shorter than
    :data:`MIN_KEY_SECONDS` get no key: a few milliseconds hold no pitch the front end can resolve (its
    window is 0.37 s), and an estimator would still name one. Nor does a one-shot without harmonic partials
    whose key the estimator is unsure of, nor a sound without notes (:func:`descriptors.gate_key`).
    """
    if audio.analysed_s < MIN_KEY_SECONDS:
        return KeyEstimate(None, 0.0)
    if S is None or found is None:
        mono = decode.to_analysis_mono(audio)
        S = frontend.logfreq_spectrogram(mono) if S is None else S
        found = descriptors.describe(mono) if found is None else found
    return descriptors.gate_key(key_estimator(method, weights)(S), found, frontend.peak_share(S))


def analysis_notes(audio: decode.Audio) -> str | None:
    """What a user must know to trust a row's features, or None.

    ``'truncated: 1,478 of 88,200 frames'`` when the file holds less audio than its
    header declares; ``'excerpt: first 240.0 s of 3660.0 s analysed'`` when the file was longer
    than the analysis bound; ``'12 non-finite or out-of-range samples set to 0'`` when a float file
    held non-finite samples; joined by ``'; '``. It is the catalog's
    ``notes`` column, not ``error``: the row is analysed.
    """
    notes = []
    if audio.declared_frames is not None:
        notes.append(f"truncated: {audio.frames:,} of {audio.declared_frames:,} frames")
    if audio.is_excerpt:
        notes.append(f"excerpt: first {audio.analysed_s:.1f} s of {audio.duration_s:.1f} s analysed")
    if audio.nonfinite:
        notes.append(f"{audio.nonfinite} non-finite or out-of-range samples set to 0")
    return "; ".join(notes) or None


def stream_hash(f: BinaryIO, *, chunk_bytes: int = STREAM_CHUNK_BYTES) -> str:
    """MD5 (hex) of an open file from its position to its end, in chunks: memory stays ``chunk_bytes``.

    Equal to :func:`features.content_hash` of the same bytes.
    """
    md5 = hashlib.md5(usedforsecurity=False)
    while block := f.read(chunk_bytes):
        md5.update(block)
    return md5.hexdigest()


def read_small(fs: fsspec.AbstractFileSystem, entry: FileEntry) -> bytes | None:
    """The whole file in one request if it has at most :data:`WHOLE_READ_BYTES`, else None.

    The listed size picks the path; the read itself is bounded too, so a file
    that grew since it was listed is not read whole.
    """
    if entry.size > WHOLE_READ_BYTES:
        return None
    data = fs.cat_file(entry.fs_path, start=0, end=WHOLE_READ_BYTES + 1)
    return data if len(data) <= WHOLE_READ_BYTES else None


def _described(source: bytes | BinaryIO, method: str, name: str) -> dict[str, Any]:
    """:func:`describe`'s columns, or the ``error`` column saying why there are none."""
    try:
        return describe(source, method=method, name=name)
    except decode.DecodeError as exc:
        return {"error": str(exc)}
    except Exception as exc:  # a bug or an input no check foresaw: record it, keep the batch going
        return {"error": f"analysis failed: {type(exc).__name__}: {exc}"}


def analyze_entry(
    fs: fsspec.AbstractFileSystem, entry: FileEntry, *, method: str = DEFAULT_KEY_METHOD
) -> dict[str, Any]:
    """One catalog row for a listed file; never raises for a bad file.

    A file of at most :data:`WHOLE_READ_BYTES` is read in one request; a larger
    one is hashed in :data:`STREAM_CHUNK_BYTES` chunks, then decoded from the
    open file, which reads only the header and the excerpt. Either way memory
    is bounded by the excerpt, not by the file.
    """
    row = identity_columns(entry, method)
    try:
        data = read_small(fs, entry)
        if data is not None:
            row["content_hash"] = features.content_hash(data)
            return {**row, **_described(data, method, entry.path)}
        with fs.open(entry.fs_path, "rb", block_size=STREAM_CHUNK_BYTES) as f:
            row["content_hash"] = stream_hash(f)
            f.seek(0)
            return {**row, **_described(f, method, entry.path)}
    except (OSError, ValueError) as exc:
        return {**row, "content_hash": None, "error": f"read failed: {type(exc).__name__}: {exc}"}


def analyze_partition(
    fs: fsspec.AbstractFileSystem, entries: list[FileEntry], *, method: str = DEFAULT_KEY_METHOD
) -> pa.Table:
    """Rows for a group of files, as one table in the catalog schema."""
    rows = [analyze_entry(fs, entry, method=method) for entry in entries]
    return schema.table(rows)

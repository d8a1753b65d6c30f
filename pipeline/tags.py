"""What a file's own metadata declares — key, tempo, root, loop or one-shot — merged with what its name says.

Read from the headers only, never the audio:

- WAV ``acid`` chunk (ACID loops): flags (bit 0 one-shot, bit 1 root note
  valid), root note (a MIDI number whose pitch class is the loop's tonic or the
  one-shot's note: ACID's octave is not meaningful), beats, meter and tempo
  (float, BPM; a one-shot's is ignored);
- WAV ``smpl`` chunk (samplers): MIDI unity note (C4 = 60), fine-tune (the
  pitch fraction, 1/2³² semitone), loop points; and AIFF's ``INST`` chunk, its
  twin (base note, detune, sustain loop). A unity note of 60 with no loop and no
  fine-tune is what many editors write by default, and declares nothing;
- tags, read with mutagen: ID3 ``TKEY``/``TBPM`` (and ``TXXX`` frames named
  KEY, INITIALKEY, BPM or TEMPO) in MP3, and in WAV and AIFF ``id3 `` chunks;
  Vorbis comments ``KEY``, ``INITIALKEY``, ``BPM``, ``TEMPO`` in FLAC and Ogg.

The RIFF/AIFF chunks are walked by :mod:`containers` (mutagen does not read
``acid`` or ``smpl``). :func:`declared_metadata` merges the file's declaration
with the name's (:func:`sampledex.models.names.declared_from_path`): where both
say something, the file's own metadata wins, and a note says so when they
disagree.
"""

from __future__ import annotations

import io
import logging
import re
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

from sampledex.models import keys
from sampledex.models.names import BPM_RANGE, LOOP, NOTHING, ONE_SHOT, Declared, declared_from_path, key_from_text

from . import containers

log = logging.getLogger("sampledex")

#: the most bytes of each chunk's body read: acid is 24 bytes, smpl 36 plus 24 per loop, an ID3 tag can hold
#: cover art before the frames we want
CHUNK_LIMITS = {b"acid": 64, b"smpl": 36 + 24 * 16, b"INST": 20, b"id3 ": 8 << 20, b"ID3 ": 8 << 20}
#: the unity note many editors write whatever the sample is (MIDI)
DEFAULT_UNITY_NOTE = 60
#: declared tempi closer than this agree (BPM): names round, ACID stores a float
BPM_AGREEMENT = 0.5
#: tag names (case-insensitive) that hold a key or a tempo
KEY_TAGS = ("initialkey", "key", "initial_key", "initial key")
BPM_TAGS = ("bpm", "tempo", "tbpm")

_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)?")


@dataclass(frozen=True)
class AcidChunk:
    """A WAV ``acid`` chunk: ``root_note`` a MIDI number or None when its flag says invalid; ``tempo`` in BPM."""

    one_shot: bool
    root_note: int | None
    beats: int
    meter: tuple[int, int]
    tempo: float


@dataclass(frozen=True)
class SmplChunk:
    """A WAV ``smpl`` chunk (or AIFF ``INST``): unity note (MIDI, C4 = 60), fine-tune (cents), loops (start, end)."""

    unity_note: int
    fine_tune_cents: float
    loops: tuple[tuple[int, int], ...]


def parse_acid(body: bytes) -> AcidChunk | None:
    """An ``acid`` chunk's fields (little-endian flags u32, root u16, u16, f32, beats u32, meter u16 u16, tempo f32)."""
    if len(body) < 24:
        return None
    flags, root, _, _, beats, denominator, numerator, tempo = struct.unpack("<IHHfIHHf", body[:24])
    return AcidChunk(
        one_shot=bool(flags & 0x01),
        root_note=root if flags & 0x02 and 0 <= root <= 127 else None,
        beats=beats,
        meter=(numerator, denominator),
        tempo=float(tempo),
    )


def parse_smpl(body: bytes) -> SmplChunk | None:
    """A ``smpl`` chunk's unity note, fine-tune and loops (little-endian u32 fields; loops of 24 bytes)."""
    if len(body) < 36:
        return None
    (_, _, _, unity, fraction, _, _, count, _) = struct.unpack("<9I", body[:36])
    loops = []
    for i in range(min(count, (len(body) - 36) // 24)):
        _, _, start, end, _, _ = struct.unpack("<6I", body[36 + 24 * i : 60 + 24 * i])
        loops.append((start, end))
    return SmplChunk(unity_note=unity, fine_tune_cents=fraction / 2**32 * 100.0, loops=tuple(loops))


def parse_inst(body: bytes) -> SmplChunk | None:
    """An AIFF ``INST`` chunk as a :class:`SmplChunk`: base note, detune (cents), sustain loop (marker ids)."""
    if len(body) < 20:
        return None
    base, detune = struct.unpack(">bb", body[:2])
    play_mode, begin, end = struct.unpack(">hhh", body[8:14])
    loops = ((begin, end),) if play_mode else ()
    return SmplChunk(unity_note=base, fine_tune_cents=float(detune), loops=loops)


def note_name(midi: int) -> str:
    """Canonical note spelling of a MIDI number: 60 → ``'C4'``, 68 → ``'Ab4'``."""
    return f"{keys.TONICS[midi % 12]}{midi // 12 - 1}"


def file_declared(f: BinaryIO, container: str | None = None) -> Declared:
    """What the file's own headers declare (see the module docstring); nothing for damaged or bare files.

    ``container``: the format the file decoded as (:attr:`decode.Audio.format`), if known. Reads ``f`` from
    its start; its position afterwards is undefined. Never raises.
    """
    try:
        return _file_declared(f, container)
    except Exception as exc:  # noqa: BLE001 - damaged metadata declares nothing; decoding says what is wrong
        log.debug("metadata unreadable: %s", exc)
        return NOTHING


def _file_declared(f: BinaryIO, decoded_as: str | None) -> Declared:
    chunked, bodies = containers.chunk_bodies(f, CHUNK_LIMITS)
    values: dict[str, tuple[Any, str]] = {}  # field -> (value, source), first source wins
    if chunked is not None:
        acid = parse_acid(bodies.get(b"acid", b""))
        if acid is not None:
            values["kind"] = (ONE_SHOT if acid.one_shot else LOOP, "acid")
            if acid.root_note is not None:
                values["root"] = (keys.TONICS[acid.root_note % 12], "acid")
            if not acid.one_shot and BPM_RANGE[0] <= acid.tempo <= BPM_RANGE[1]:
                values["bpm"] = (round(acid.tempo, 3), "acid")
        sampler = parse_smpl(bodies[b"smpl"]) if b"smpl" in bodies else None
        source = "smpl"
        if sampler is None and b"INST" in bodies:
            sampler, source = parse_inst(bodies[b"INST"]), "inst"
        if sampler is not None and _meaningful(sampler):
            root = note_name(sampler.unity_note)
            acid_root = values.get("root")
            if acid_root is None or str(acid_root[0]) == keys.TONICS[sampler.unity_note % 12]:
                values["root"] = (root, source)  # the sampler's note has the octave ACID's lacks
        tag = bodies.get(b"id3 ") or bodies.get(b"ID3 ")
        if tag:
            _read_tags(_id3_fields(io.BytesIO(tag)), "id3", values)
    else:
        f.seek(0)
        _read_tags(_mutagen_fields(f, decoded_as), None, values)
    return Declared(
        key=values.get("key", (None,))[0],
        bpm=values.get("bpm", (None,))[0],
        root=values.get("root", (None,))[0],
        kind=values.get("kind", (None,))[0],
        sources=tuple((name, where) for name, (_, where) in values.items()),
    )


def _meaningful(sampler: SmplChunk) -> bool:
    if not 0 <= sampler.unity_note <= 127:
        return False
    return not (sampler.unity_note == DEFAULT_UNITY_NOTE and not sampler.loops and not sampler.fine_tune_cents)


def _id3_fields(fileobj: BinaryIO) -> tuple[str, list[tuple[str, str]]]:
    """``('id3', [(name, text)])`` of an ID3 tag's key and tempo frames."""
    from mutagen.id3 import ID3

    tag = ID3(fileobj)
    return "id3", _frames(tag)


def _frames(tag) -> list[tuple[str, str]]:
    fields = []
    for frame in tag.getall("TKEY"):
        fields += [("key", str(t)) for t in frame.text]
    for frame in tag.getall("TBPM"):
        fields += [("bpm", str(t)) for t in frame.text]
    for frame in tag.getall("TXXX"):
        fields += [(frame.desc, str(t)) for t in frame.text]
    return fields


def _mutagen_fields(f: BinaryIO, container: str | None = None) -> tuple[str, list[tuple[str, str]]]:
    """The key and tempo fields of whatever mutagen recognises (MP3's ID3, FLAC's and Ogg's Vorbis comments).

    ``container`` is the format libsndfile decoded the file as (``'mp3'``, ``'flac'``), when known: its own
    mutagen reader is tried first, which costs a third to a half of ``mutagen.File``'s trying every format.
    """
    import mutagen

    audio = None
    reader = _reader(container)
    if reader is not None:
        try:
            audio = reader(f)
        except mutagen.MutagenError:
            f.seek(0)
    if audio is None:
        audio = mutagen.File(f)
    if audio is None or audio.tags is None:
        return "", []
    tags = audio.tags
    if hasattr(tags, "getall"):  # ID3
        return "id3", _frames(tags)
    try:
        items = list(tags.items())
    except (AttributeError, TypeError):
        return "", []
    fields = []
    for name, value in items:
        for v in value if isinstance(value, list) else [value]:
            fields.append((str(name), str(v)))
    return "vorbis", fields


def _reader(container: str | None):  # -> type[mutagen.FileType] | None
    """mutagen's reader for a container libsndfile names, for those with one reader (None otherwise)."""
    if container == "mp3":
        from mutagen.mp3 import MP3

        return MP3
    if container == "flac":
        from mutagen.flac import FLAC

        return FLAC
    return None


def _read_tags(found: tuple[str, list[tuple[str, str]]], source: str | None, values: dict) -> None:
    where, fields = found
    where = source or where
    for name, text in fields:
        name = name.strip().lower()
        if name in KEY_TAGS and "key" not in values:
            key = key_from_text(text)
            if key is not None:
                values["key"] = (key, where)
        elif name in BPM_TAGS and "bpm" not in values:
            m = _NUMBER_RE.search(text)
            if m:
                bpm = float(m.group().replace(",", "."))
                if BPM_RANGE[0] <= bpm <= BPM_RANGE[1]:
                    values["bpm"] = (bpm, where)


# -- the file and its name -----------------------------------------------------


def declared_metadata(
    f: BinaryIO, name: str, *, kind: str | None = None, container: str | None = None
) -> tuple[Declared, str | None]:
    """What a sample declares, from its own metadata and then its name, and a note where the two disagree.

    Parameters
    ----------
    f : binary file object
        the file's bytes, seekable; only headers are read, and its position is
        restored on return.
    name : str
        its path or URL, read by :func:`~sampledex.models.names.declared_from_path`.
    kind : {'loop', 'one-shot'} or None
        the audio's own answer; the ACID chunk's flag, when there is one, is
        used instead (it decides whether a bare note in the name is a key or a root).
    container : str or None
        the format the file decoded as (:attr:`decode.Audio.format`), if known (:func:`file_declared`).

    Returns ``(declared, note)``. ``declared`` takes each field from the file's
    metadata where it says something, else from the name; ``declared.kind`` is
    the ACID flag when present, else the name's words; ``declared.sources``
    says where each field came from. ``note`` is
    ``'declared key from file metadata (C minor) disagrees with the name (A minor)'``
    (tempo and root likewise, joined by ``'; '``), or None. Never raises:
    damaged metadata declares nothing.
    """
    try:
        position = f.tell()
    except Exception:  # noqa: BLE001
        position = None
    try:
        from_file = file_declared(f, container)
    finally:
        if position is not None:
            try:
                f.seek(position)
            except Exception:  # noqa: BLE001
                pass
    from_name = declared_from_path(name, kind=from_file.kind or kind)
    return merge(from_file, from_name)


def merge(from_file: Declared, from_name: Declared) -> tuple[Declared, str | None]:
    """The file's declaration over the name's, field by field, and the note of their disagreements."""
    notes = []
    key = from_file.key or from_name.key
    if from_file.key and from_name.key and from_file.key != from_name.key:
        notes.append(f"declared key from file metadata ({from_file.key}) disagrees with the name ({from_name.key})")
    bpm = from_file.bpm if from_file.bpm is not None else from_name.bpm
    if from_file.bpm is not None and from_name.bpm is not None and abs(from_file.bpm - from_name.bpm) > BPM_AGREEMENT:
        notes.append(
            f"declared tempo from file metadata ({from_file.bpm:g} BPM) disagrees with the name ({from_name.bpm:g} BPM)"
        )
    root, root_source = from_file.root, from_file.source_of("root")
    if from_name.root:
        if not from_file.root:
            root, root_source = from_name.root, "name"
        elif _same_note(from_file.root, from_name.root):
            if _octave(from_file.root) is None and _octave(from_name.root) is not None:
                root = from_name.root  # the name adds the octave ACID lacks
        else:
            notes.append(
                f"declared root from file metadata ({from_file.root}) disagrees with the name ({from_name.root})"
            )
    kind = from_file.kind or from_name.kind
    chosen = {"key": key, "bpm": bpm, "root": root, "kind": kind}
    sources = []
    for field_name, value in chosen.items():
        if value is None:
            continue
        where = from_file.source_of(field_name) if getattr(from_file, field_name) is not None else "name"
        if field_name == "root":
            where = root_source
        sources.append((field_name, where or "name"))
    merged = Declared(key=key, bpm=bpm, root=root, kind=kind, sources=tuple(sources))
    return merged, "; ".join(notes) or None


_NOTE_RE = re.compile(r"^(?P<tonic>[A-G][b#]?)(?P<octave>-?\d+)?$")


def _octave(note: str) -> int | None:
    m = _NOTE_RE.match(note)
    return int(m["octave"]) if m and m["octave"] is not None else None


def _same_note(a: str, b: str) -> bool:
    """Same pitch class, and the same octave when both are written."""
    ma, mb = _NOTE_RE.match(a), _NOTE_RE.match(b)
    if not ma or not mb:
        return a == b
    if keys.parse_key(ma["tonic"]) != keys.parse_key(mb["tonic"]):
        return False
    oa, ob = ma["octave"], mb["octave"]
    return oa is None or ob is None or oa == ob

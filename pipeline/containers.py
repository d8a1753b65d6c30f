"""What an audio container's header declares, read by hand where no library tells it.

libsndfile trusts the bytes over the header: a WAV cut after 3,000 of its
121,214 bytes opens as a valid 0.03 s file, and nothing says that most of it
is missing. The header still says how many frames it promised; comparing the
two names the truncation. soundfile and mutagen expose no declared length for
RIFF or AIFF, so the chunks are walked here (RIFF/RF64 little-endian, AIFF/AIFC
big-endian), reading only chunk headers and seeking over their bodies.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

#: chunks looked at before giving up: a real file has its format and data chunks among the first few
MAX_CHUNKS = 64
#: a data size that means "unknown": streaming writers put 0 or 0xFFFFFFFF there and never fix it up
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)


def chunks(
    f: BinaryIO, *, big_endian: bool, start: int = 12, sizes: dict[bytes, int] | None = None
) -> Iterator[tuple[bytes, int, int]]:
    """``(chunk id, body offset, declared body size)`` of each top-level chunk, from ``start`` (bytes).

    Odd-sized bodies are followed by a pad byte, as both RIFF and IFF require.
    Stops at the end of the data, at a short header, or after :data:`MAX_CHUNKS`.
    ``sizes`` maps a chunk id to its real body size where the header's is a
    placeholder (RF64's ``data`` chunk says 0xFFFFFFFF; its ``ds64`` chunk holds
    the size): the caller may fill it while iterating, as each step reads it.
    """
    fmt = ">4sI" if big_endian else "<4sI"
    offset = start
    for _ in range(MAX_CHUNKS):
        f.seek(offset)
        header = f.read(8)
        if len(header) < 8:
            return
        chunk_id, size = struct.unpack(fmt, header)
        if sizes and chunk_id in sizes and size == 0xFFFFFFFF:
            size = sizes[chunk_id]
        yield chunk_id, offset + 8, size
        offset += 8 + size + (size & 1)


def chunk_bodies(f: BinaryIO, wanted: dict[bytes, int]) -> tuple[str | None, dict[bytes, bytes]]:
    """The container (``'wav'``, ``'aiff'`` or None) and the bodies of its first chunk of each wanted id.

    ``wanted`` maps a chunk id (``b"acid"``, ``b"smpl"``, ``b"id3 "``) to the most
    bytes of its body to read; a chunk is read only up to that bound, the rest
    of the file is seeked over (RF64's ``data`` size comes from ``ds64``). ``f`` is
    read from its start; its position afterwards is undefined. A file that is
    neither RIFF/RF64 WAVE nor AIFF/AIFC gives ``(None, {})``; a damaged one gives
    the chunks read before the damage.
    """
    f.seek(0)
    head = f.read(12)
    if len(head) < 12:
        return None, {}
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        container, big_endian = "wav", False
    elif head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        container, big_endian = "aiff", True
    else:
        return None, {}
    found: dict[bytes, bytes] = {}
    sizes: dict[bytes, int] = {}
    try:
        for chunk_id, body, size in chunks(f, big_endian=big_endian, sizes=sizes):
            if chunk_id == b"ds64" and size >= 16:
                f.seek(body + 8)
                (sizes[b"data"],) = struct.unpack("<Q", f.read(8))
            elif chunk_id in wanted and chunk_id not in found:
                f.seek(body)
                found[chunk_id] = f.read(min(size, wanted[chunk_id]))
                if len(found) == len(wanted):
                    break
    except (struct.error, OSError, ValueError, OverflowError):
        pass  # what was read before the damage stands
    return container, found


def _riff_frames(f: BinaryIO, rf64: bool) -> int | None:
    block_align, data_size = None, None
    for chunk_id, body, size in chunks(f, big_endian=False):
        if chunk_id == b"ds64" and size >= 16:
            f.seek(body + 8)  # riffSize (8 bytes), then dataSize
            (data_size,) = struct.unpack("<Q", f.read(8))
        elif chunk_id == b"fmt " and size >= 14:
            f.seek(body + 12)
            (block_align,) = struct.unpack("<H", f.read(2))
        elif chunk_id == b"data":
            if not rf64:
                data_size = size
            break
    if not block_align or data_size is None or (not rf64 and data_size in _UNKNOWN_SIZES):
        return None
    return data_size // block_align


def _aiff_frames(f: BinaryIO) -> int | None:
    for chunk_id, body, size in chunks(f, big_endian=True):
        if chunk_id == b"COMM" and size >= 6:
            f.seek(body + 2)  # numChannels (2 bytes), then numSampleFrames
            (frames,) = struct.unpack(">I", f.read(4))
            return frames
    return None


def declared_frames(f: BinaryIO) -> int | None:
    """The frame count a WAV, RF64 or AIFF header promises; None for other formats or when it says nothing.

    ``f`` is positioned at the file's start; its position afterwards is undefined.
    """
    head = f.read(12)
    if len(head) < 12:
        return None
    try:
        if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
            return _riff_frames(f, rf64=head[:4] == b"RF64")
        if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
            return _aiff_frames(f)
    except (struct.error, OSError, ValueError):
        return None  # a header too broken to read declares nothing; decoding says what is wrong
    return None

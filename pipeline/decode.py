"""Decoding: encoded bytes ──► multichannel float samples ──► mono at the analysis rate.

libsndfile (through soundfile) reads WAV (16/24/32-bit int, 32-bit float), AIFF,
FLAC, OGG/Vorbis and MP3 and detects the format from the content, not from the
file name. soxr resamples. The commonest files of a sample pack, a whole 16- or
24-bit PCM or 32-bit float WAV or 16- or 24-bit AIFF, are read with numpy instead
(:func:`plain_wav`, :func:`plain_aiff`): the same numbers, bit for bit, at a fifth
to a tenth of libsndfile's cost.

Memory is bounded whatever the input: at most :data:`MAX_ANALYSIS_SECONDS` and
at most :data:`MAX_ANALYSIS_SAMPLES` are decoded, from the start of the file; a
longer file is analysed on that excerpt and :attr:`Audio.total_frames` keeps its
full length.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import soundfile as sf

from sampledex.models import frontend
from sampledex.models.errors import SampledexError
from sampledex.models.frontend import SAMPLE_RATE as ANALYSIS_RATE

from . import containers

#: longest excerpt decoded, from the start of the file (s). The key front end costs about
#: 1 MB per analysed second, so this bounds it (~230 MB) whatever the file's length.
MAX_ANALYSIS_SECONDS = 240.0
#: most samples (frames × channels) decoded: 48 MiB as float32. Loudness needs about
#: 24 bytes per sample on top, so a 384 kHz or 64-channel file stays under ~300 MB too.
MAX_ANALYSIS_SAMPLES = 12 * 2**20
#: a truncated file with less audio than this left is an error row, not a row with a note (s)
MIN_TRUNCATED_SECONDS = 0.05

#: libsndfile messages that mislead once the file is known to exist and was read
_REASONS = {
    # libsndfile says this when a stream (seen: MP3 cut to 100 bytes) ends before its first
    # frame; we hand it bytes or an open file, so "does not exist" is never the cause
    "File does not exist or is not a regular file (possibly a pipe?)": "truncated or malformed stream",
    # its check that a header gave a sample rate and a channel count, reported as a bug of its own
    "Internal error : SF_INFO struct incomplete": (
        "invalid header (sample rate or channel count is zero or out of range)"
    ),
}


class DecodeError(SampledexError, ValueError):
    """Bytes that are not decodable audio; the message is the catalog's ``error``."""


@dataclass(frozen=True)
class Audio:
    """Decoded audio, or the decoded excerpt of a longer file.

    ``samples`` [shape=(frames, channels), dtype=float32], finite, nominally in
    [-1, 1] (float files may exceed it), at ``sample_rate`` Hz; ``format`` is
    libsndfile's container name in lower case (``wav``, ``aiff``, ``flac``,
    ``ogg``, ``mp3``) and ``subtype`` its encoding (``PCM_16``, ``FLOAT``,
    ``VORBIS``, …). ``total_frames`` is the whole file's frame count (from its
    header) when ``samples`` is an excerpt of it, None when ``samples`` is all
    of it. ``nonfinite`` counts the NaN and ±inf samples the file held, decoded
    as 0. ``declared_frames`` is the frame count the header promised when the
    file holds fewer (it was cut short), None otherwise.
    """

    samples: np.ndarray
    sample_rate: int
    format: str
    subtype: str
    total_frames: int | None = None
    nonfinite: int = 0
    declared_frames: int | None = None

    @property
    def channels(self) -> int:
        return self.samples.shape[1]

    @property
    def is_excerpt(self) -> bool:
        return self.total_frames is not None

    @property
    def analysed_s(self) -> float:
        """Length of ``samples`` in seconds."""
        return self.samples.shape[0] / self.sample_rate

    @property
    def frames(self) -> int:
        """Frames the whole file holds, excerpt or not."""
        return self.samples.shape[0] if self.total_frames is None else self.total_frames

    @property
    def duration_s(self) -> float:
        """Length of the whole file in seconds, excerpt or not."""
        return self.frames / self.sample_rate


def excerpt_frames(frames: int, sample_rate: int, channels: int) -> int:
    """How many frames to decode from the start of a file: all of them, or the bounded excerpt.

    Parameters
    ----------
    frames : int
        the file's frame count as its header gives it.
    sample_rate : int
        in Hz, ≥ 1.
    channels : int
        ≥ 1.
    """
    return min(frames, int(MAX_ANALYSIS_SECONDS * sample_rate), MAX_ANALYSIS_SAMPLES // channels)


def decode(source: bytes | BinaryIO) -> Audio:
    """Decode a file held in memory, or read from an open binary file, up to the excerpt bound.

    Parameters
    ----------
    source : bytes or binary file object
        the whole encoded file, or a file object with ``read``, ``seek`` and
        ``tell`` (a local or fsspec file) positioned at its start; only the
        header and the excerpt are read from it.

    Raises
    ------
    DecodeError
        for empty input, unrecognised or unsupported formats, invalid headers,
        and files that hold no audio frames.
    """
    if isinstance(source, (bytes, bytearray)):
        if not source:
            raise DecodeError("empty file (0 bytes)")
        audio = plain_wav(source) or plain_aiff(source)
        if audio is not None:
            return audio
        source = io.BytesIO(source)
    declared = containers.declared_frames(source)
    source.seek(0)
    try:
        with sf.SoundFile(source) as f:
            if f.channels < 1 or f.samplerate < 1:
                raise DecodeError(f"invalid header: {f.channels} channels at {f.samplerate} Hz")
            # libsndfile counts the frames the bytes hold; a header that promised more was cut short
            truncated = declared if declared is not None and declared > f.frames else None
            if truncated and f.frames < MIN_TRUNCATED_SECONDS * f.samplerate:
                raise DecodeError(f"truncated: {f.frames:,} of {truncated:,} frames, too little audio to analyse")
            wanted = excerpt_frames(f.frames, f.samplerate, f.channels)
            samples = f.read(wanted, dtype="float32", always_2d=True)
            # fewer frames than asked for means the data ended first: what was read is all there is
            total = f.frames if samples.shape[0] == wanted < f.frames else None
            # integer samples (PCM_16, PCM_24 … in WAV, AIFF or FLAC) cannot be NaN or infinite: not searched
            nonfinite = 0 if f.subtype.startswith("PCM_") else zero_nonfinite(samples)
            audio = Audio(samples, int(f.samplerate), f.format.lower(), f.subtype, total, nonfinite, truncated)
    except DecodeError:
        raise
    except sf.LibsndfileError as exc:
        raise DecodeError(f"not decodable audio: {_libsndfile_reason(exc)}") from None
    except (RuntimeError, ValueError, TypeError, MemoryError) as exc:
        raise DecodeError(f"not decodable audio: {type(exc).__name__}: {exc}") from None
    if audio.samples.shape[0] == 0:
        raise DecodeError(f"no audio frames in {audio.format} file (header only or truncated)")
    return audio


#: WAVE format tags read by :func:`plain_wav`: integer PCM, IEEE float, and WAVE_FORMAT_EXTENSIBLE (whose
#: sub-format GUID then says which of the two; libsndfile calls such a file ``WAVEX``)
_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
#: the first two bytes of the sub-format GUID name the format tag; the other fourteen are always these
_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")
#: (format tag, bits per sample) -> libsndfile's subtype
_PLAIN = {(_PCM, 16): "PCM_16", (_PCM, 24): "PCM_24", (_FLOAT, 32): "FLOAT"}
#: libsndfile's limits: a rate is a signed 32-bit number, and it opens at most 1024 channels
_MAX_RATE, _MAX_CHANNELS = 2**31 - 1, 1024


def plain_wav(data: bytes | bytearray) -> Audio | None:
    """A whole WAV of 16- or 24-bit PCM or 32-bit float samples, decoded with numpy; None for any other file,
    which :func:`decode` hands to libsndfile.

    Written here because libsndfile, through soundfile, takes ten times as long as numpy to turn the same
    16-bit samples into floats and five times as long for 24-bit ones, and most of a sample library is such
    files. The result is libsndfile's bit for bit (see :func:`_samples`; floats copied), format and subtype
    included. Only a file whose header is plainly consistent takes this path: a cut-short data chunk, a size
    that is not a whole number of frames, RF64 or anything unusual goes to libsndfile, which has the rules for
    them.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    fmt, body, size = None, 0, 0
    for chunk_id, body, size in containers.chunks(io.BytesIO(data), big_endian=False):
        if chunk_id == b"fmt " and fmt is None and size >= 16:
            fmt = bytes(data[body : body + min(size, 40)])
        elif chunk_id == b"data":
            break
    else:
        return None
    if fmt is None or len(fmt) < 16:
        return None
    tag, channels, sample_rate, _, block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
    container = "wav"
    if tag == _EXTENSIBLE:
        if len(fmt) < 40 or fmt[26:40] != _GUID_TAIL:
            return None
        (tag,) = struct.unpack("<H", fmt[24:26])
        container = "wavex"
    subtype = _PLAIN.get((tag, bits))
    if subtype is None or channels < 1 or block_align != channels * bits // 8:
        return None
    if size == 0 or size % block_align or body + size > len(data):
        return None
    return _samples(data, body, size // block_align, channels, sample_rate, subtype, container, big_endian=False)


def plain_aiff(data: bytes | bytearray) -> Audio | None:
    """A whole AIFF of 16- or 24-bit PCM, decoded with numpy; None for any other file (AIFC among them), which
    :func:`decode` hands to libsndfile. As :func:`plain_wav`, libsndfile's numbers bit for bit, at a tenth
    (16-bit) to a seventh (24-bit) of its cost; only a file whose sample data is exactly the frames its ``COMM``
    chunk counts (and a pad byte after an odd count of bytes), whose rate is a whole number of Hz, takes this
    path."""
    if len(data) < 12 or data[:4] != b"FORM" or data[8:12] != b"AIFF":
        return None
    comm, ssnd = None, None
    for chunk_id, body, size in containers.chunks(io.BytesIO(data), big_endian=True):
        if chunk_id == b"COMM" and comm is None and size >= 18:
            comm = bytes(data[body : body + 18])
        elif chunk_id == b"SSND" and ssnd is None and size >= 8:
            ssnd = body, size
    # a header cut short within either chunk is libsndfile's to report
    if comm is None or ssnd is None or len(comm) < 18 or ssnd[0] + 8 > len(data):
        return None
    channels, frames, bits = struct.unpack(">hIh", comm[:8])
    sample_rate = _extended_integer(comm[8:18])
    subtype = {16: "PCM_16", 24: "PCM_24"}.get(bits)
    body, size = ssnd
    (offset,) = struct.unpack(">I", data[body : body + 4])
    start = body + 8 + offset
    if subtype is None or sample_rate is None or frames == 0 or channels < 1:
        return None
    need = frames * channels * (bits // 8)
    # some writers count an odd chunk's pad byte in its size
    if size - 8 - offset not in (need, need + need % 2) or start + need > len(data):
        return None
    return _samples(data, start, frames, channels, sample_rate, subtype, "aiff", big_endian=True)


def _extended_integer(ten: bytes) -> int | None:
    """An IEEE 754 80-bit extended number (AIFF's sample rate) if it is a whole number from 1 to
    :data:`_MAX_RATE`, else None."""
    exponent, mantissa = struct.unpack(">HQ", ten)
    if exponent & 0x8000 or not mantissa:
        return None
    shift = (exponent & 0x7FFF) - 16383 - 63
    if shift >= 0 or mantissa % (1 << -shift):
        return None
    value = mantissa >> -shift
    return value if 1 <= value <= _MAX_RATE else None


def _samples(
    data: bytes | bytearray,
    start: int,
    frames: int,
    channels: int,
    sample_rate: int,
    subtype: str,
    container: str,
    *,
    big_endian: bool,
) -> Audio | None:
    """The excerpt of ``frames`` interleaved frames of ``subtype`` stored from byte ``start`` of ``data``, as
    libsndfile decodes them: 16-bit samples scaled by 2⁻¹⁵, 24-bit ones widened into the top of an int32 and
    scaled by 2⁻³¹ (both exact in float32), floats copied; None past libsndfile's limits."""
    if not 1 <= channels <= _MAX_CHANNELS or not 1 <= sample_rate <= _MAX_RATE:
        return None
    wanted = excerpt_frames(frames, sample_rate, channels)
    count = wanted * channels
    order = ">" if big_endian else "<"
    if subtype == "PCM_24":
        # each sample read as part of the four-byte word that starts a byte before it: little-endian, its top
        # three bytes with the byte before below them (masked off); big-endian, its low three with the byte
        # before above them (shifted out). The unaligned words are copied out whole first, which numpy does at
        # memory speed (computed on in place, or cast while copied, they cost five times more)
        words = np.frombuffer(data, dtype=order + "i4", count=(len(data) - start + 1) // 4, offset=start - 1)
        wide = np.lib.stride_tricks.as_strided(words, shape=(count,), strides=(3,), writeable=False).copy()
        if big_endian:
            wide = wide.astype(np.int32)
            wide <<= 8
        else:
            wide &= np.int32(-256)
        samples = np.multiply(wide, np.float32(2.0**-31), dtype=np.float32)
    elif subtype == "PCM_16":
        samples = np.frombuffer(data, dtype=order + "i2", count=count, offset=start).astype(np.float32)
        samples *= np.float32(2.0**-15)
    else:
        samples = np.frombuffer(data, dtype=order + "f4", count=count, offset=start).astype(np.float32)
    samples = samples.reshape(wanted, channels)
    total = frames if wanted < frames else None
    nonfinite = zero_nonfinite(samples) if subtype == "FLOAT" else 0  # as in decode: integers are never searched
    return Audio(samples, sample_rate, container, subtype, total, nonfinite)


def load(url: str, *, storage_options: dict | None = None) -> Audio:
    """Open a file or fsspec URL and :func:`decode` it: the one way a file is loaded for analysis,
    evaluation and training, so that each sees the same excerpt bound and the same repairs.

    Only the header and the excerpt are read, whatever the file's length.

    Raises
    ------
    DecodeError
        as :func:`decode`.
    OSError
        if the file cannot be opened or read.
    """
    import fsspec

    with fsspec.open(url, "rb", **(storage_options or {})) as f:
        return decode(f)


def zero_nonfinite(samples: np.ndarray) -> int:
    """Set NaN and ±inf samples to 0 in place, so they cannot poison peak, loudness or key.

    Only float files can hold them (an integer PCM file decodes to finite values).

    Returns
    -------
    int
        how many samples were set to 0.
    """
    bad = ~np.isfinite(samples)
    count = int(np.count_nonzero(bad))
    if count:
        samples[bad] = 0.0
    return count


def _libsndfile_reason(exc: sf.LibsndfileError) -> str:
    # soundfile prefixes "Error opening <_io.BytesIO object at 0x…>: ", which says nothing to a user
    message = str(exc.error_string if hasattr(exc, "error_string") else exc).strip().rstrip(".")
    return _REASONS.get(message, message) or "unknown libsndfile error"


def to_analysis_mono(audio: Audio, *, sr: int = ANALYSIS_RATE) -> np.ndarray:
    """Average the channels and resample to the analysis rate.

    Returns
    -------
    np.ndarray [shape=(round(frames * sr / audio.sample_rate),), dtype=float32]
    """
    return frontend.mono_at(audio.samples, audio.sample_rate, sr)

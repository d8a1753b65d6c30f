"""Decoding: encoded bytes ──► multichannel float samples ──► mono at the analysis rate.

libsndfile (through soundfile) reads WAV (16/24/32-bit int, 32-bit float), AIFF,
FLAC, OGG/Vorbis and MP3 and detects the format from the content, not from the
file name. soxr resamples.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import soundfile as sf
from sampledex.models import frontend
from sampledex.models.frontend import SAMPLE_RATE as ANALYSIS_RATE


class DecodeError(ValueError):
    """Bytes that are not decodable audio; the message is the catalog's ``error``."""


@dataclass(frozen=True)
class Audio:
    """Decoded audio.

    ``samples`` [shape=(frames, channels), dtype=float32] in [-1, 1] at
    ``sample_rate`` Hz; ``format`` is libsndfile's container name in lower case
    (``wav``, ``aiff``, ``flac``, ``ogg``, ``mp3``) and ``subtype`` its encoding
    (``PCM_16``, ``FLOAT``, ``VORBIS``, …).
    """

    samples: np.ndarray
    sample_rate: int
    format: str
    subtype: str

    @property
    def channels(self) -> int:
        return self.samples.shape[1]

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / self.sample_rate


def decode(data: bytes) -> Audio:
    """Decode a whole file held in memory.

    Raises
    ------
    DecodeError
        for empty input, unrecognised or unsupported formats, and files that
        hold no audio frames.
    """
    if not data:
        raise DecodeError("empty file (0 bytes)")
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            samples = f.read(dtype="float32", always_2d=True)
            audio = Audio(samples, int(f.samplerate), f.format.lower(), f.subtype)
    except sf.LibsndfileError as exc:
        raise DecodeError(f"not decodable audio: {_libsndfile_reason(exc)}") from None
    except (RuntimeError, ValueError, TypeError, MemoryError) as exc:
        raise DecodeError(f"not decodable audio: {type(exc).__name__}: {exc}") from None
    if audio.samples.shape[0] == 0:
        raise DecodeError(f"no audio frames in {audio.format} file (header only or truncated)")
    if audio.channels == 0 or audio.sample_rate <= 0:
        raise DecodeError(f"invalid header: {audio.channels} channels at {audio.sample_rate} Hz")
    return audio


def _libsndfile_reason(exc: sf.LibsndfileError) -> str:
    # soundfile prefixes "Error opening <_io.BytesIO object at 0x…>: ", which says nothing to a user
    message = str(exc.error_string if hasattr(exc, "error_string") else exc)
    return message.strip().rstrip(".") or "unknown libsndfile error"


def to_analysis_mono(audio: Audio, *, sr: int = ANALYSIS_RATE) -> np.ndarray:
    """Average the channels and resample to the analysis rate.

    Returns
    -------
    np.ndarray [shape=(round(frames * sr / audio.sample_rate),), dtype=float32]
    """
    return frontend.mono_at(audio.samples, audio.sample_rate, sr)

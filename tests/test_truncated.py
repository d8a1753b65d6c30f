"""Truncated audio is named: a file holding fewer frames than its header declares gets a note, or an error row."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile as sf

from sampledex.pipeline import analyze, containers, decode

SR = 44100
FRAMES = 88200


def encoded(fmt: str, subtype: str = "PCM_16", frames: int = FRAMES, channels: int = 1) -> bytes:
    rng = np.random.default_rng(7)
    y = (0.2 * rng.standard_normal((frames, channels))).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, y, SR, format=fmt, subtype=subtype)
    return buf.getvalue()


@pytest.mark.parametrize(
    "fmt,subtype,channels",
    [("WAV", "PCM_16", 1), ("WAV", "PCM_24", 2), ("WAV", "FLOAT", 2), ("AIFF", "PCM_16", 1), ("AIFF", "PCM_24", 2)],
)
def test_a_whole_file_declares_what_it_holds(fmt, subtype, channels):
    data = encoded(fmt, subtype, channels=channels)
    assert containers.declared_frames(io.BytesIO(data)) == FRAMES
    assert decode.decode(data).declared_frames is None


@pytest.mark.parametrize("fmt", ["WAV", "AIFF"])
@pytest.mark.parametrize("keep", [0.5, 0.1])
def test_a_file_cut_short_is_decoded_with_a_note(fmt, keep):
    data = encoded(fmt)
    cut = data[: int(len(data) * keep)]
    audio = decode.decode(cut)
    assert audio.declared_frames == FRAMES and 0 < audio.frames < FRAMES
    note = analyze.analysis_notes(audio)
    assert note == f"truncated: {audio.frames:,} of {FRAMES:,} frames"


@pytest.mark.parametrize("fmt", ["WAV", "AIFF"])
@pytest.mark.parametrize("cut", [3000, 200, 60])
def test_too_little_left_is_an_error_row(fmt, cut):
    """Cut after the header, or after 3,000 bytes (1,478 frames, 34 ms): under 50 ms is not worth a row of
    features, and the error says why."""
    data = encoded(fmt)[:cut]
    with pytest.raises(decode.DecodeError, match=r"^truncated: [\d,]+ of 88,200 frames, too little audio"):
        decode.decode(data)


def test_the_row_of_a_truncated_file_says_so(tmp_path):
    import fsspec

    from sampledex.pipeline import sources

    (tmp_path / "half.wav").write_bytes(encoded("WAV")[:88200])
    (tmp_path / "stub.wav").write_bytes(encoded("WAV")[:3000])
    (tmp_path / "whole.wav").write_bytes(encoded("WAV"))
    fs = fsspec.filesystem("file")
    rows = {
        e.path.rsplit("/", 1)[1]: analyze.analyze_entry(fs, e, method="classic")
        for e in sources.list_source(str(tmp_path))
    }
    assert rows["half.wav"]["notes"].startswith("truncated: ") and rows["half.wav"].get("error") is None
    assert rows["stub.wav"]["error"].startswith("truncated: 1,478 of 88,200 frames")
    assert rows["whole.wav"]["notes"] is None and rows["whole.wav"].get("error") is None


def test_streaming_sizes_and_other_formats_declare_nothing():
    data = bytearray(encoded("WAV"))
    data_at = data.index(b"data")
    for unknown in (0, 0xFFFFFFFF):  # what a streaming writer leaves
        data[data_at + 4 : data_at + 8] = struct.pack("<I", unknown)
        assert containers.declared_frames(io.BytesIO(bytes(data))) is None
    for fmt in ("FLAC", "OGG"):
        assert containers.declared_frames(io.BytesIO(encoded(fmt, "VORBIS" if fmt == "OGG" else "PCM_16"))) is None
    for junk in (b"", b"RIFF", b"RIFF\xff\xff\xff\xffWAVEfmt \xff\xff\xff\xff", bytes(range(256)) * 4):
        assert containers.declared_frames(io.BytesIO(junk)) is None


def test_chunks_are_walked_past_metadata_before_the_data():
    """A LIST chunk (odd-sized, padded) before ``data`` does not hide the declared size."""
    data = encoded("WAV")
    fmt_end = data.index(b"data")
    extra = b"LIST" + struct.pack("<I", 5) + b"INFOx" + b"\x00"
    spliced = data[:fmt_end] + extra + data[fmt_end:]
    spliced = spliced[:4] + struct.pack("<I", len(spliced) - 8) + spliced[8:]
    assert containers.declared_frames(io.BytesIO(spliced)) == FRAMES
    ids = [c for c, _, _ in containers.chunks(io.BytesIO(spliced), big_endian=False)]
    assert ids[:3] == [b"fmt ", b"LIST", b"data"]

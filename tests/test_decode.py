"""Decoding every promised format, and analysing them through local, ``file://`` and ``memory://`` sources.

Every file is written with soundfile into ``tmp_path`` from seeded synthetic
audio (a bar-exact ``synth.tonal_loop``), so the true frame count, sample rate
and channel count are known.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import uuid
from functools import lru_cache
from pathlib import Path

import fsspec
import numpy as np
import pyarrow as pa
import pytest
import soundfile as sf

from sampledex.models import keys
from sampledex.models.training import synth
from sampledex.pipeline import analyze, decode, schema, sources

ANALYSIS_RATE = 22050
assert decode.ANALYSIS_RATE == ANALYSIS_RATE

#: id -> (soundfile format, subtype, file extension, expected Audio.format, round-trip atol or None if lossy)
ENCODINGS = {
    "wav-pcm16": ("WAV", "PCM_16", "wav", "wav", 1e-4),
    "wav-pcm24": ("WAV", "PCM_24", "wav", "wav", 1e-6),
    "wav-pcm32": ("WAV", "PCM_32", "wav", "wav", 1e-6),
    "wav-float": ("WAV", "FLOAT", "wav", "wav", 0.0),
    "aiff": ("AIFF", "PCM_16", "aiff", "aiff", 1e-4),
    "flac": ("FLAC", "PCM_16", "flac", "flac", 1e-4),
    "flac-pcm24": ("FLAC", "PCM_24", "flac", "flac", 1e-6),
    "ogg": ("OGG", "VORBIS", "ogg", "ogg", None),
    "mp3": ("MP3", "MPEG_LAYER_III", "mp3", "mp3", None),
}
RATES = (8000, 22050, 44100, 48000, 96000)
CHANNELS = (1, 2, 6)
#: MP3/OGG encoders pad (priming, last frame); libsndfile trims most of it, allow 0.1 s anyway
LOSSY_DURATION_TOL_S = 0.1
DECODE_SECONDS = 0.5  # bpm 480, one bar
ANALYZE_SECONDS = 1.0  # bpm 240, one bar


def _possible(encoding: str, sr: int, channels: int) -> bool:
    # MPEG-1/2/2.5 layer III has no 96 kHz and at most 2 channels: libsndfile refuses to write
    # those ("MPEG-1/2/2.5 only supports sample rates of 8000, …, 48000" / "Format not recognised"),
    # so they are not part of the promise.
    if encoding == "mp3":
        return sr <= 48000 and channels <= 2
    return True


MATRIX = [
    pytest.param(enc, sr, ch, id=f"{enc}-{sr}-{ch}ch")
    for enc in ENCODINGS
    for sr in RATES
    for ch in CHANNELS
    if _possible(enc, sr, ch)
]


@lru_cache(maxsize=64)
def _signal(sr: int, channels: int, seconds: float = DECODE_SECONDS, key: str = "A minor", seed: int = 7) -> np.ndarray:
    """Seeded tonal loop [shape=(frames, channels), float32]; each channel at its own level."""
    y = synth.tonal_loop(
        keys.parse_key(key), bpm=240.0 / seconds, bars=1, sr=sr, rng=np.random.default_rng(seed), wave="saw"
    )
    gains = 0.9 - 0.1 * np.arange(channels)
    out = (y[:, None] * gains[None, :]).astype(np.float32)
    out.setflags(write=False)
    return out


def _write(path: Path, x: np.ndarray, sr: int, encoding: str) -> bytes:
    fmt, subtype = ENCODINGS[encoding][:2]
    sf.write(path, x, sr, format=fmt, subtype=subtype)
    return path.read_bytes()


# ──────────────────────────────────────────── decode.decode / to_analysis_mono


@pytest.mark.parametrize("encoding, sr, channels", MATRIX)
def test_decode_every_format_rate_and_layout(tmp_path, encoding, sr, channels):
    _, subtype, ext, expected_format, atol = ENCODINGS[encoding]
    x = _signal(sr, channels)
    data = _write(tmp_path / f"sample.{ext}", x, sr, encoding)

    audio = decode.decode(data)

    assert audio.format == expected_format
    assert audio.subtype == subtype
    assert audio.sample_rate == sr
    assert audio.channels == channels
    assert audio.samples.dtype == np.float32
    assert audio.samples.ndim == 2 and audio.samples.shape[1] == channels
    assert np.all(np.isfinite(audio.samples))
    if atol is None:  # lossy: duration within the codec padding, waveform still the same signal
        assert abs(audio.duration_s - DECODE_SECONDS) <= LOSSY_DURATION_TOL_S
        n = min(len(x), len(audio.samples))
        for c in range(channels):
            if encoding == "ogg" and channels == 6 and c == 5 and sr in (44100, 48000):
                # libvorbis' 5.1 mode at 44.1/48 kHz codes the 6th channel as LFE, low-passed
                # to the bass (correlation ~0.29, RMS ~0.28 of a saw loop): codec, not decoder
                continue
            r = np.corrcoef(x[:n, c], audio.samples[:n, c])[0, 1]
            assert r > 0.95, f"channel {c}: correlation {r:.3f} with the original"
    else:  # lossless: exact frame count and the samples themselves
        assert audio.samples.shape[0] == x.shape[0]
        assert audio.duration_s == pytest.approx(DECODE_SECONDS, abs=1 / sr)
        np.testing.assert_allclose(audio.samples, x, rtol=0, atol=atol)

    mono = decode.to_analysis_mono(audio)

    assert mono.dtype == np.float32
    assert mono.ndim == 1
    expected_len = round(audio.samples.shape[0] * ANALYSIS_RATE / sr)
    assert abs(mono.size - expected_len) <= 2
    length_tol = 2 if atol is not None else LOSSY_DURATION_TOL_S * ANALYSIS_RATE
    assert abs(mono.size - DECODE_SECONDS * ANALYSIS_RATE) <= length_tol
    assert np.all(np.isfinite(mono))
    # the mix-down keeps the signal's level: RMS of the channel mean, before and after resampling
    rms_in = float(np.sqrt(np.mean(x.mean(axis=1, dtype=np.float64) ** 2)))
    rms_out = float(np.sqrt(np.mean(mono.astype(np.float64) ** 2)))
    assert rms_out == pytest.approx(rms_in, rel=0.1)
    if sr == ANALYSIS_RATE:  # no resampling: the mean of the channels (to float32 rounding: a matrix product)
        np.testing.assert_allclose(mono, audio.samples.mean(axis=1, dtype=np.float32), rtol=0, atol=1e-6)


def test_to_analysis_mono_takes_another_rate():
    audio = decode.Audio(np.asarray(_signal(44100, 2)), 44100, "wav", "FLOAT")
    mono = decode.to_analysis_mono(audio, sr=16000)
    assert mono.dtype == np.float32 and mono.shape == (round(audio.samples.shape[0] * 16000 / 44100),)


# ──────────────────────────────────────────── decode.plain_wav: numpy's reading is libsndfile's


def _libsndfile(data: bytes) -> decode.Audio:
    """What libsndfile decodes: an open file never takes the numpy path."""
    return decode.decode(io.BytesIO(data))


def _assert_same_audio(fast: decode.Audio, ref: decode.Audio) -> None:
    assert fast.samples.dtype == ref.samples.dtype == np.float32
    assert fast.samples.shape == ref.samples.shape
    # bit for bit, NaN and signed zero included
    assert np.array_equal(fast.samples.view(np.uint32), ref.samples.view(np.uint32))
    assert (fast.sample_rate, fast.format, fast.subtype, fast.total_frames, fast.nonfinite, fast.declared_frames) == (
        ref.sample_rate,
        ref.format,
        ref.subtype,
        ref.total_frames,
        ref.nonfinite,
        ref.declared_frames,
    )


@pytest.mark.parametrize("container", ["WAV", "WAVEX"])
@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_plain_wav_is_libsndfile_bit_for_bit(tmp_path, container, subtype, channels):
    rng = np.random.default_rng(channels)
    x = rng.uniform(-1.0, 1.0, (4001, channels))
    x[:3] = [[-1.0], [1.0], [0.0]]  # full scale both ways: the codes -32768 and 32767 (and 24-bit's)
    if subtype == "FLOAT":
        x[10:12] = [[np.nan], [np.inf]]  # a float file can hold them; both paths count and zero them
        x[20] = 3.5  # and go past full scale
    data = tmp_path / "x.wav"
    sf.write(data, x, 44100, format=container, subtype=subtype)

    fast = decode.plain_wav(data.read_bytes())

    assert fast is not None
    _assert_same_audio(fast, _libsndfile(data.read_bytes()))
    assert fast.format == container.lower()
    assert fast.nonfinite == (2 * channels if subtype == "FLOAT" else 0)
    _assert_same_audio(decode.decode(data.read_bytes()), fast)  # bytes in memory take the numpy path


@pytest.mark.parametrize("frames", [1, 2, 3, 5])
def test_plain_wav_reads_24_bit_samples_up_to_the_last_byte(tmp_path, frames):
    """A 24-bit sample is read as part of a four-byte word that starts a byte early: the last one of a file
    that ends with its data chunk still reads only the file's own bytes, whatever the count."""
    data = tmp_path / "short.wav"
    sf.write(data, np.linspace(-1.0, 1.0, frames), 8000, subtype="PCM_24")

    fast = decode.plain_wav(data.read_bytes())

    assert fast is not None and fast.samples.shape == (frames, 1)
    _assert_same_audio(fast, _libsndfile(data.read_bytes()))


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24"])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_plain_aiff_is_libsndfile_bit_for_bit(tmp_path, subtype, channels):
    rng = np.random.default_rng(channels)
    x = rng.uniform(-1.0, 1.0, (4001, channels))
    x[:3] = [[-1.0], [1.0], [0.0]]
    data = tmp_path / "x.aiff"
    sf.write(data, x, 44100, format="AIFF", subtype=subtype)

    fast = decode.plain_aiff(data.read_bytes())

    assert fast is not None and fast.format == "aiff"
    _assert_same_audio(fast, _libsndfile(data.read_bytes()))
    _assert_same_audio(decode.decode(data.read_bytes()), fast)


@pytest.mark.parametrize("frames", [1, 2, 3, 5])
def test_plain_aiff_reads_24_bit_samples_up_to_the_last_byte(tmp_path, frames):
    data = tmp_path / "short.aiff"
    sf.write(data, np.linspace(-1.0, 1.0, frames), 8000, format="AIFF", subtype="PCM_24")

    fast = decode.plain_aiff(data.read_bytes())

    assert fast is not None and fast.samples.shape == (frames, 1)
    _assert_same_audio(fast, _libsndfile(data.read_bytes()))


@pytest.mark.parametrize("rate", [1, 8000, 22050, 44100, 96000, 384000, 2**31 - 1])
def test_an_aiff_rate_is_read_from_its_80_bit_number(rate):
    ten = _extended(rate)
    assert decode._extended_integer(ten) == rate


def _extended(value: float) -> bytes:
    """``value`` > 0 as an IEEE 754 80-bit extended number, big-endian (AIFF's sample rate)."""
    mantissa, exponent = math.frexp(value)  # value = mantissa · 2^exponent, mantissa in [0.5, 1)
    return struct.pack(">HQ", exponent - 1 + 16383, int(mantissa * 2**64))


def _aiff(channels: int = 1, frames: int = 50, bits: int = 16, rate: bytes | None = None, cut: int = 0) -> bytes:
    comm = struct.pack(">hIh", channels, frames, bits) + (rate or _extended(8000))
    ssnd = struct.pack(">II", 0, 0) + b"\x01" * (frames * max(channels, 1) * bits // 8)
    body = b"AIFF" + b"".join(
        cid + len(c).to_bytes(4, "big") + c + b"\0" * (len(c) & 1) for cid, c in ((b"COMM", comm), (b"SSND", ssnd))
    )
    whole = b"FORM" + len(body).to_bytes(4, "big") + body
    return whole[: len(whole) - cut]


def test_the_aiff_builder_makes_a_file_the_numpy_path_reads():
    assert decode.plain_aiff(_aiff()) is not None


def test_a_header_cut_anywhere_is_left_to_libsndfile_without_an_error(tmp_path):
    """Every prefix of a WAV and of an AIFF (its sound data before its common chunk, too) is read whole or
    handed on: never an exception from the numpy path."""
    wav, aiff = tmp_path / "x.wav", tmp_path / "x.aiff"
    sf.write(wav, np.zeros((40, 2)), 8000, subtype="PCM_24")
    sf.write(aiff, np.zeros((40, 2)), 8000, format="AIFF", subtype="PCM_24")
    whole = _aiff()
    comm, ssnd = whole.index(b"COMM"), whole.index(b"SSND")
    ssnd_first = whole[:comm] + whole[ssnd:] + whole[comm:ssnd]
    assert decode.plain_aiff(ssnd_first) is not None
    for data in (wav.read_bytes(), aiff.read_bytes(), ssnd_first):
        for n in range(len(data)):
            assert decode.plain_wav(data[:n]) is None and decode.plain_aiff(data[:n]) is None


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_aiff(cut=20), id="sound-data-cut-short"),
        pytest.param(_aiff(bits=8), id="8-bit"),
        pytest.param(_aiff(bits=32), id="32-bit"),
        pytest.param(_aiff(channels=0), id="no-channels"),
        pytest.param(_aiff(frames=0), id="no-frames"),
        pytest.param(_aiff(rate=_extended(22050.5)), id="rate-not-whole"),
        pytest.param(_aiff(rate=_extended(2.0**31)), id="rate-2-31"),
        pytest.param(b"FORM" + _aiff()[4:8] + b"AIFC" + _aiff()[12:], id="aifc"),
    ],
)
def test_plain_aiff_leaves_every_other_file_to_libsndfile(data):
    assert decode.plain_aiff(data) is None


def test_plain_wav_keeps_the_excerpt_bound(tmp_path, monkeypatch):
    data = tmp_path / "long.wav"
    sf.write(data, np.random.default_rng(0).uniform(-1, 1, (48000, 2)), 8000, subtype="PCM_24")
    monkeypatch.setattr(decode, "MAX_ANALYSIS_SECONDS", 2.5)

    fast = decode.plain_wav(data.read_bytes())

    assert fast is not None and fast.samples.shape == (20000, 2) and fast.total_frames == 48000
    _assert_same_audio(fast, _libsndfile(data.read_bytes()))


def _riff(*chunks: tuple[bytes, bytes]) -> bytes:
    body = b"WAVE" + b"".join(cid + len(c).to_bytes(4, "little") + c + b"\0" * (len(c) & 1) for cid, c in chunks)
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def _fmt(tag: int = 1, channels: int = 1, bits: int = 16) -> bytes:
    align = channels * bits // 8
    return struct.pack("<HHIIHH", tag, channels, 8000, 8000 * align, align, bits)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_riff((b"fmt ", _fmt()), (b"data", b"\x01\x00" * 50))[:-20], id="data-cut-short"),
        pytest.param(_riff((b"fmt ", _fmt()), (b"data", b"\x01\x00" * 50 + b"\x01")), id="part-of-a-frame"),
        pytest.param(_riff((b"data", b"\x01\x00" * 50), (b"fmt ", _fmt())), id="data-before-format"),
        pytest.param(_riff((b"fmt ", _fmt()), (b"data", b"")), id="no-frames"),
        pytest.param(
            _riff(
                (b"fmt ", _fmt()),
            ),
            id="no-data-chunk",
        ),
        pytest.param(_riff((b"fmt ", _fmt(bits=8)), (b"data", b"\x80" * 50)), id="8-bit"),
        pytest.param(_riff((b"fmt ", _fmt(bits=32)), (b"data", b"\x01\x00\x00\x00" * 50)), id="32-bit-int"),
        pytest.param(_riff((b"fmt ", _fmt(tag=3, bits=64)), (b"data", b"\x00" * 400)), id="double"),
        pytest.param(_riff((b"fmt ", _fmt(tag=2)), (b"data", b"\x01\x00" * 50)), id="adpcm"),
        pytest.param(_riff((b"fmt ", _fmt(channels=0)), (b"data", b"\x01\x00" * 50)), id="no-channels"),
        pytest.param(_riff((b"fmt ", _fmt(channels=1025)), (b"data", b"\x01\x00" * 1025)), id="1025-channels"),
        pytest.param(
            _riff((b"fmt ", _fmt()[:4] + struct.pack("<I", 2**31) + _fmt()[8:]), (b"data", b"\x01\x00" * 50)),
            id="rate-2-31",
        ),
        pytest.param(b"RF64" + _riff((b"fmt ", _fmt()), (b"data", b"\x01\x00" * 50))[4:], id="rf64"),
        pytest.param(b"RIFF\x04\x00\x00\x00WAVE", id="header-only"),
    ],
)
def test_plain_wav_leaves_every_other_file_to_libsndfile(data):
    assert decode.plain_wav(data) is None


def test_a_wav_cut_short_is_still_reported_as_truncated():
    data = _riff((b"fmt ", _fmt()), (b"data", np.arange(4000, dtype="<i2").tobytes()))[:-2000]

    audio = decode.decode(data)

    assert audio.declared_frames == 4000 and audio.frames < 4000


@pytest.mark.parametrize(
    "encoding, misleading_name",
    [
        ("flac", "x.wav"),
        ("wav-pcm16", "x.flac"),
        ("ogg", "x.mp3"),
        ("mp3", "x.ogg"),
        ("aiff", "x.wav"),
        ("wav-float", "x.aiff"),
    ],
)
def test_format_is_detected_from_content_not_extension(tmp_path, encoding, misleading_name):
    expected_format = ENCODINGS[encoding][3]
    path = tmp_path / misleading_name
    data = _write(path, _signal(44100, 2), 44100, encoding)
    # soundfile would infer the container from the name; make sure the bytes say otherwise
    assert sf.info(path).format == ENCODINGS[encoding][0]

    audio = decode.decode(path.read_bytes())
    assert audio.format == expected_format
    assert audio.sample_rate == 44100 and audio.channels == 2

    # and through the pipeline, which lists by extension but decodes by content
    entries = sources.list_source(str(tmp_path))
    assert [e.path for e in entries] == [str(path)]
    row = analyze.analyze_partition(fsspec.filesystem("file"), entries).to_pylist()[0]
    assert row["error"] is None
    assert row["format"] == expected_format
    assert row["content_hash"] == hashlib.md5(data).hexdigest()


# ─────────────────────────────────────────────────────────── analyze_partition

#: file name -> (encoding, sample rate, channels, key of the loop)
LIBRARY = {
    "loops/a_wav16.wav": ("wav-pcm16", 44100, 2, "A minor"),
    "loops/b_wav24.WAV": ("wav-pcm24", 48000, 1, "C major"),
    "loops/c_wav32.wave": ("wav-pcm32", 96000, 6, "E minor"),
    "loops/d_wavfloat.wav": ("wav-float", 22050, 2, "D minor"),
    "one-shots/e.aiff": ("aiff", 8000, 1, "G major"),
    "one-shots/f.aif": ("aiff", 48000, 6, "F major"),
    "g.flac": ("flac", 96000, 2, "B minor"),
    "h24.flac": ("flac-pcm24", 44100, 6, "Bb major"),
    "i.ogg": ("ogg", 48000, 2, "F# minor"),
    "j.mp3": ("mp3", 44100, 2, "Eb major"),
    "k8k.mp3": ("mp3", 8000, 1, "A minor"),
}


def _write_library(folder: Path) -> dict[str, bytes]:
    """Write LIBRARY (plus a non-audio file that must not be listed) under ``folder``."""
    written = {}
    for i, (name, (encoding, sr, channels, key)) in enumerate(LIBRARY.items()):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        written[name] = _write(path, _signal(sr, channels, ANALYZE_SECONDS, key, seed=i), sr, encoding)
    (folder / "labels.csv").write_text("file,key\n")
    return written


def _check_rows(table: pa.Table, written: dict[str, bytes], path_of) -> None:
    """Every written file has one successful row with the right identity and finite features."""
    assert isinstance(table, pa.Table)
    assert table.schema == schema.SAMPLES
    rows = {r["path"]: r for r in table.to_pylist()}
    assert len(rows) == table.num_rows == len(written)
    assert set(rows) == {path_of(name) for name in written}
    version = analyze.analysis_version()
    for name, data in written.items():
        encoding, sr, channels, _ = LIBRARY[name]
        row = rows[path_of(name)]
        where = f"{name}: {row['error']}"
        assert row["error"] is None, where
        assert row["size_bytes"] == len(data), where
        assert row["content_hash"] == hashlib.md5(data).hexdigest(), where
        assert row["format"] == ENCODINGS[encoding][3], where
        assert row["sample_rate"] == sr, where
        assert row["channels"] == channels, where
        tol = LOSSY_DURATION_TOL_S if ENCODINGS[encoding][4] is None else 1 / sr
        assert abs(row["duration_s"] - ANALYZE_SECONDS) <= tol, where
        assert row["key"] is not None and row["key"] in keys.KEY_NAMES, where
        assert row["camelot"] is not None, where
        assert row["camelot"] == keys.camelot(keys.parse_key(row["key"])), where
        assert row["key_confidence"] is not None and math.isfinite(row["key_confidence"]), where
        assert row["peak_dbfs"] is not None and math.isfinite(row["peak_dbfs"]), where
        assert -30.0 < row["peak_dbfs"] < 1.0, where
        assert row["loudness_lufs"] is not None and math.isfinite(row["loudness_lufs"]), where
        assert -70.0 < row["loudness_lufs"] < 0.0, where
        assert row["analysis_version"] == version and version, where
        assert row["indexed_at"] is not None and row["mtime"] is not None, where


def test_analyze_partition_local_folder(tmp_path):
    written = _write_library(tmp_path)
    entries = sources.list_source(str(tmp_path))
    assert [e.path for e in entries] == sorted(str(tmp_path / n) for n in written)  # labels.csv left out
    assert {e.source for e in entries} == {str(tmp_path)}

    table = analyze.analyze_partition(fsspec.filesystem("file"), entries)

    _check_rows(table, written, lambda name: str(tmp_path / name))
    assert set(table.column("source").to_pylist()) == {str(tmp_path)}


def test_analyze_partition_file_url(tmp_path):
    written = _write_library(tmp_path)
    url = f"file://{tmp_path}"
    fs, _ = sources.open_source(url)
    entries = sources.list_source(url)

    table = analyze.analyze_partition(fs, entries)

    # a file:// source is catalogued under plain absolute paths, same as the bare folder
    _check_rows(table, written, lambda name: str(tmp_path / name))
    assert [e.path for e in entries] == [e.path for e in sources.list_source(str(tmp_path))]


@pytest.fixture
def memory_root():
    """A unique folder on fsspec's process-wide in-memory filesystem, removed afterwards."""
    fs = fsspec.filesystem("memory")
    root = f"/sampledex-test-{uuid.uuid4().hex}"
    yield fs, root
    if fs.exists(root):
        fs.rm(root, recursive=True)


def test_analyze_partition_memory_filesystem(tmp_path, memory_root):
    """Nothing in listing or analysis assumes a local path: the same bytes from ``memory://``."""
    fs, root = memory_root
    written = _write_library(tmp_path)
    for name, data in written.items():
        fs.pipe(f"{root}/{name}", data)
    fs.pipe(f"{root}/labels.csv", b"file,key\n")

    entries = sources.list_source(f"memory://{root.lstrip('/')}")
    assert all(e.path.startswith("memory://") for e in entries)
    assert all(not Path(e.fs_path).exists() for e in entries)

    table = analyze.analyze_partition(fsspec.filesystem("memory"), entries)

    _check_rows(table, written, lambda name: f"memory://{root}/{name}")
    # and the features equal those of the same bytes read from disk
    local = analyze.analyze_partition(fsspec.filesystem("file"), sources.list_source(str(tmp_path)))
    columns = [
        "content_hash",
        "format",
        "sample_rate",
        "channels",
        "duration_s",
        "key",
        "camelot",
        "key_confidence",
        "peak_dbfs",
        "loudness_lufs",
    ]
    assert table.select(columns).to_pylist() == local.select(columns).to_pylist()

"""Hostile input: every kind of file a real library holds ends as a correct row or an error row.

One folder holds more than 20 kinds (seeded, tiny where possible): truncated,
zero-byte, not-audio and wrong-extension files; 0, 8, 12, 64 and 1025 channels;
NaN, inf and out-of-range float samples; a 1-sample file; 384 kHz, 4 kHz, 3 kHz
and absurd sample rates; broken, looping and good symlinks; a file the reader
may not open; names with quotes, a newline, spaces, glob and URL characters,
non-ASCII text and bytes that are not UTF-8. It is listed and analysed in one
call, which must not raise; each row is then checked against what the kind
must give, and the table must go through Parquet and DuckDB.

The slow tests add a WAV over an hour long and a 40 s one at 384 kHz (bounded
excerpt, said in ``notes``), measure peak RSS in fresh processes (a plain one
and Dask workers), run the real ``sampledex index`` CLI over the whole folder,
and delete an S3 object between listing and reading.

What each kind gives was checked against libsndfile 1.2.2 (soundfile 0.13), not
assumed; the comment beside a kind is the outcome observed.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import stat
import struct
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from fsspec.implementations.local import LocalFileSystem

from sampledex.pipeline import analyze, decode, schema, sources
from sampledex.pipeline import catalog as catalog_mod

from conftest import CREDENTIALS, SAMPLEDEX  # the bucket fixture lives there too

SR = 22050
#: the acceptance bound on a process's peak resident set size
RSS_LIMIT_MIB = 1024
SUMMARY = re.compile(r"files seen (\d+), analysed (\d+), skipped (\d+) \(unchanged\), failed (\d+), removed (\d+)")
ERROR_PREFIXES = ("empty file", "not decodable audio: ", "no audio frames", "truncated: ", "read failed: ")
# a reason must not leak Python internals: memory addresses, reprs, tracebacks
_LEAK = re.compile(r"0x[0-9a-fA-F]{4,}|object at|BytesIO|Traceback")

# float32 samples near 3e38 overflow numpy's FFT and the spectrogram's matmul (to inf/NaN):
# the key is then None. Expected for that kind, so its warnings are not noise in the report.
pytestmark = [
    pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
]


# ─── signals and encodings ────────────────────────────────────────────────────────────────────


def _tone(seconds: float, sr: int = SR, channels: int = 1, *, seed: int = 0) -> np.ndarray:
    """A seeded A-minor-ish triad with a little noise, (frames, channels) float32 in [-0.6, 0.6]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * sr))) / sr
    y = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 261.63, 329.63)) / 6
    y = y + 0.01 * rng.standard_normal(t.size)
    return np.repeat(y.astype(np.float32)[:, None], channels, axis=1)


def _encode(y: np.ndarray, sr: int = SR, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, y, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def _patched(data: bytes, *fields: tuple[int, str, int]) -> bytes:
    out = bytearray(data)
    for offset, fmt, value in fields:
        struct.pack_into(fmt, out, offset, value)
    return bytes(out)


WAV = _encode(_tone(1.0))  # canonical 44-byte header, 22050 frames
FLAC = _encode(_tone(1.0), fmt="FLAC")
assert WAV[12:16] == b"fmt " and WAV[36:40] == b"data"
# float WAV with 100 NaN, 10 +inf and 10 -inf samples among 22050
_NAN_INF = _tone(1.0)
_NAN_INF[1000:1100, 0] = np.nan
_NAN_INF[5000:5010, 0] = np.inf
_NAN_INF[9000:9010, 0] = -np.inf
# float32 samples at ±3e38: finite, but their squares and FFT are not
_OVERRANGE = np.sign(_tone(0.5)) * np.float32(3e38)


# ─── the corpus ───────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Kind:
    """One hostile file and what its row must be.

    ``error`` None: a correct row (decoded, every column in ``expect`` equal);
    otherwise the exact ``error`` text, where ``{fs_path}`` stands for the
    path the filesystem opened (as ``repr`` writes it).
    """

    name: str | bytes  # file name in the corpus folder (bytes: not valid UTF-8)
    data: bytes | None = None  # the bytes written, or None for a link
    link_to: str | None = None  # a symlink to this name (relative)
    error: str | None = None
    expect: dict = field(default_factory=dict)
    denied: bool = False  # the filesystem refuses to read it (PermissionError)


READ_FAILED_NOENT = "read failed: FileNotFoundError: [Errno 2] No such file or directory: {fs_path}"

KINDS = [
    # ── truncated ──
    Kind("truncated_flac.flac", FLAC[: len(FLAC) // 2], error="not decodable audio: Error : flac decoder lost sync"),
    Kind(
        "truncated_wav_in_header.wav",
        WAV[:20],
        error="not decodable audio: Error in WAV/W64/RF64 file. Malformed 'fmt ' chunk",
    ),
    # the header promised 22,050 frames and none are there
    Kind("truncated_wav_header_only.wav", WAV[:44], error="truncated: 0 of 22,050 frames, too little audio to analyse"),
    # cut mid-data: the frames that are there, and a note that the rest is missing
    Kind(
        "truncated_wav_mid_data.wav",
        WAV[: len(WAV) // 2],
        expect={
            "duration_s": pytest.approx(((len(WAV) // 2 - 44) // 2) / SR),
            "notes": "truncated: 11,014 of 22,050 frames",
        },
    ),
    # the header claims ~4 GiB of data: what is there is read, no excerpt is claimed, and the gap is named
    Kind(
        "wav_header_claims_4gib.wav",
        _patched(WAV, (4, "<I", 0xFFFFFFF8), (40, "<I", 0xFFFFFFF0)),
        expect={"duration_s": pytest.approx(1.0), "notes": "truncated: 22,050 of 2,147,483,640 frames"},
    ),
    # ── empty and not audio ──
    Kind("zero_bytes.wav", b"", error="empty file (0 bytes)"),
    Kind("text.wav", b"This is a README, not a sample.\n" * 20, error="not decodable audio: Format not recognised"),
    Kind("random_bytes.flac", np.random.default_rng(0).bytes(4096), error="not decodable audio: Format not recognised"),
    # ── wrong extension: the format comes from the content ──
    Kind("flac_named.wav", FLAC, expect={"format": "flac", "duration_s": pytest.approx(1.0)}),
    Kind("wav_named.mp3", WAV, expect={"format": "wav", "duration_s": pytest.approx(1.0)}),
    Kind("UPPER_CASE_EXTENSION.WAV", WAV, expect={"format": "wav"}),
    # ── channel counts ──
    Kind("zero_channels.wav", _patched(WAV, (22, "<H", 0)), error="not decodable audio: Channel count is zero"),
    Kind("8_channels.wav", _encode(_tone(0.5, channels=8, seed=8)), expect={"channels": 8}),
    Kind("12_channels.wav", _encode(_tone(0.5, channels=12, seed=12)), expect={"channels": 12}),
    Kind("64_channels.wav", _encode(_tone(0.25, channels=64, seed=64)), expect={"channels": 64}),
    # libsndfile's limit is 1024 channels
    Kind(
        "1025_channels_header.wav",
        _patched(WAV, (22, "<H", 1025)),
        error="not decodable audio: Too many channels specified",
    ),
    # ── non-finite and out-of-range samples ──
    Kind(
        "nan_inf_float.wav",
        _encode(_NAN_INF, subtype="FLOAT"),
        expect={"notes": "120 non-finite or out-of-range samples set to 0", "duration_s": pytest.approx(1.0)},
    ),
    Kind(
        "all_nan_float.wav",
        _encode(np.full((4410, 1), np.nan, np.float32), subtype="FLOAT"),
        expect={
            "notes": "4410 non-finite or out-of-range samples set to 0",
            "peak_dbfs": None,
            "loudness_lufs": None,
            "key": None,
        },
    ),
    # finite ±3e38: peak and loudness are finite (≈ +770 dB), the spectrogram overflows: no key
    Kind("float_overrange.wav", _encode(_OVERRANGE, subtype="FLOAT"), expect={"notes": None}),
    # ±1e300 doubles overflow float32 to ±inf on decode, and are zeroed like inf samples
    Kind(
        "double_overrange.wav",
        _encode(np.sign(_tone(0.5)).astype(np.float64) * 1e300, subtype="DOUBLE"),
        expect={"notes": "11025 non-finite or out-of-range samples set to 0"},
    ),
    Kind(
        "silence.wav",
        _encode(np.zeros((SR // 2, 1), np.float32)),
        expect={"peak_dbfs": None, "loudness_lufs": None, "key": None, "notes": None},
    ),
    # ── lengths ──
    Kind(
        "one_sample.wav",
        _encode(np.array([[0.5]], np.float32)),
        expect={"duration_s": pytest.approx(1 / SR), "peak_dbfs": pytest.approx(-6.02, abs=0.01), "key": None},
    ),
    Kind(
        "zero_frames.wav",
        _encode(np.zeros((0, 1), np.float32)),
        error="no audio frames in wav file (header only or truncated)",
    ),
    # ── sample rates ──
    Kind(
        "rate_384k.wav",
        _encode(_tone(2.0, sr=384000, seed=384), sr=384000),
        expect={"sample_rate": 384000, "duration_s": pytest.approx(2.0), "notes": None},
    ),
    Kind(
        "rate_4k.wav",
        _encode(_tone(1.0, sr=4000, seed=4), sr=4000),
        expect={"sample_rate": 4000, "duration_s": pytest.approx(1.0)},
    ),
    # below 3364 Hz BS.1770's K-weighting is undefined: no loudness, the rest is there
    Kind(
        "rate_3k.wav",
        _encode(_tone(1.0, sr=3000, seed=3), sr=3000),
        expect={"sample_rate": 3000, "loudness_lufs": None},
    ),
    Kind(
        "rate_1hz.wav",
        _encode(np.full((5, 1), 0.3, np.float32), sr=1),
        expect={"sample_rate": 1, "duration_s": pytest.approx(5.0), "loudness_lufs": None},
    ),
    Kind(
        "rate_2147483647_header.wav",
        _patched(WAV, (24, "<I", 2**31 - 1)),
        expect={"sample_rate": 2**31 - 1, "key": None},
    ),
    # libsndfile reads 2**31 Hz as a negative int and reports it like a zero rate
    Kind(
        "rate_2147483648_header.wav",
        _patched(WAV, (24, "<I", 2**31)),
        error="not decodable audio: invalid header (sample rate or channel count is zero or out of range)",
    ),
    # ── links and permissions ──
    Kind("link_to_good.wav", link_to="plain name.wav", expect={"format": "wav"}),
    Kind("broken_link.wav", link_to="no such target.wav", error=READ_FAILED_NOENT),
    Kind(
        "link_loop_a.wav",
        link_to="link_loop_b.wav",
        error="read failed: OSError: [Errno 40] Too many levels of symbolic links: {fs_path}",
    ),
    Kind(
        "link_loop_b.wav",
        link_to="link_loop_a.wav",
        error="read failed: OSError: [Errno 40] Too many levels of symbolic links: {fs_path}",
    ),
    Kind(
        "permission_denied.wav",
        WAV,
        denied=True,
        error="read failed: PermissionError: [Errno 13] Permission denied: {fs_path}",
    ),
    # ── names ──
    Kind("plain name.wav", WAV),
    Kind("it's a 'single' quote.wav", WAV),
    Kind('say "double" quotes.wav', WAV),
    Kind("new\nline.wav", WAV),
    Kind("  spaces  around and\tin  .wav", WAV),
    Kind("café 日本 🎹 Ω.wav", WAV),
    Kind("100% C# minor [hard] (v2) *? {a,b} ~$x&;|.wav", WAV),
    Kind("-rf --help.wav", WAV),
    Kind("a" * 240 + ".wav", WAV),
    Kind(b"\xff\xfebad \xe9t\xe9.wav", WAV),  # Latin-1 bytes: not valid UTF-8
]

#: entries the listing must leave out (folders, pipes, links to folders, non-audio names)
UNLISTED = ("folder.wav", "fifo.wav", "link_to_folder.wav", "README.txt")


def _kind_id(kind: Kind) -> str:
    name = kind.name if isinstance(kind.name, str) else os.fsdecode(kind.name)
    return sources.utf8_spelling(name)[:40].replace("\n", "\\n")


def build_corpus(folder: Path) -> dict[str, Kind]:
    """Write every kind into ``folder``; returns them by the catalog ``path`` their row must have."""
    base = os.fsencode(folder)
    for kind in KINDS:
        target = base + b"/" + (kind.name if isinstance(kind.name, bytes) else os.fsencode(kind.name))
        if kind.link_to is not None:
            os.symlink(os.fsencode(kind.link_to), target)
        else:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            with os.fdopen(fd, "wb") as f:
                f.write(kind.data)
    (folder / "folder.wav").mkdir()
    (folder / "folder.wav" / "inside.txt").write_text("a folder with an audio name")
    os.mkfifo(folder / "fifo.wav")
    os.symlink("folder.wav", folder / "link_to_folder.wav")
    (folder / "README.txt").write_text("not audio by name: never listed")
    return {sources.utf8_spelling(os.fsdecode(base + b"/" + _bytes_name(k))): k for k in KINDS}


def _bytes_name(kind: Kind) -> bytes:
    return kind.name if isinstance(kind.name, bytes) else os.fsencode(kind.name)


class DenyingFileSystem(LocalFileSystem):
    """The local filesystem, except that reading the paths in ``denied`` raises PermissionError.

    Tests run as root, which ignores ``chmod``: this is how an unreadable file looks to the reader.
    """

    cachable = False

    def __init__(self, denied: set[str], **kwargs):
        super().__init__(**kwargs)
        self.denied = denied

    def _check(self, path: str) -> None:
        path = self._strip_protocol(path)
        if path in self.denied:
            raise PermissionError(13, "Permission denied", path)

    def cat_file(self, path, start=None, end=None, **kwargs):
        self._check(path)
        return super().cat_file(path, start=start, end=end, **kwargs)

    def _open(self, path, mode="rb", **kwargs):
        self._check(path)
        return super()._open(path, mode=mode, **kwargs)


def _file_bytes(path: str) -> bytes:
    with open(path, "rb") as f:  # follows links
        return f.read()


# ─── fixtures ─────────────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    return folder, build_corpus(folder)


@pytest.fixture(scope="module")
def analysed(corpus):
    """The corpus listed and analysed in ONE call: (folder, kinds by path, entries, table)."""
    folder, kinds = corpus
    entries = sources.list_source(str(folder))
    denied = {e.fs_path for e in entries if kinds.get(e.path) and kinds[e.path].denied}
    fs = DenyingFileSystem(denied)
    table = analyze.analyze_partition(fs, entries, method="classic")  # must not raise
    return folder, kinds, entries, table


@pytest.fixture(scope="module")
def rows(analysed):
    _, _, _, table = analysed
    return {r["path"]: r for r in table.to_pylist()}


# ─── the corpus, listed and analysed ──────────────────────────────────────────────────────────


def test_corpus_has_at_least_20_kinds():
    names = [_bytes_name(k) for k in KINDS]
    assert len(set(names)) == len(names)
    assert len(KINDS) >= 20
    assert sum(k.error is None for k in KINDS) >= 10 and sum(k.error is not None for k in KINDS) >= 10


def test_listing_has_one_entry_per_file_and_leaves_out_the_rest(analysed):
    folder, kinds, entries, table = analysed
    assert sorted(e.path for e in entries) == sorted(kinds)
    assert table.num_rows == len(entries) == len(KINDS)
    assert [r for r in table.column("path").to_pylist()] == [e.path for e in entries]
    listed = {Path(e.path).name for e in entries}
    assert not listed & set(UNLISTED)
    for e in entries:
        e.path.encode("utf-8")  # every catalog path is valid UTF-8


@pytest.mark.parametrize("kind", KINDS, ids=_kind_id)
def test_each_kind_ends_as_a_correct_row_or_an_error_row(kind, analysed, rows):
    folder, kinds, entries, _ = analysed
    path = next(p for p, k in kinds.items() if k is kind)
    entry = next(e for e in entries if e.path == path)
    row = rows[path]
    where = f"{path!r}: error={row['error']!r} notes={row['notes']!r}"
    assert row["analysis_version"] and row["indexed_at"] is not None, where
    assert row["source"] == str(folder), where

    if kind.error is not None:
        assert row["error"] == kind.error.format(fs_path=repr(entry.fs_path)), where
        assert row["error"].startswith(ERROR_PREFIXES) and not _LEAK.search(row["error"]), where
        for column in ("format", "sample_rate", "channels", "duration_s", "key", "peak_dbfs", "loudness_lufs", "notes"):
            assert row[column] is None, f"{where}: {column}={row[column]!r}"
        if row["error"].startswith("read failed: "):
            assert row["content_hash"] is None, where
        else:  # a bad file's identity is kept, so it is not retried until it changes
            assert row["content_hash"] == hashlib.md5(kind.data).hexdigest(), where
        return

    assert row["error"] is None, where
    assert row["sample_rate"] > 0 and row["channels"] > 0 and row["duration_s"] > 0, where
    assert row["format"] in {"wav", "flac"}, where
    data = _file_bytes(entry.fs_path)
    assert row["content_hash"] == hashlib.md5(data).hexdigest(), where
    assert row["size_bytes"] == len(data), where
    for column in ("peak_dbfs", "loudness_lufs", "key_confidence", "duration_s"):
        assert row[column] is None or math.isfinite(row[column]), f"{where}: {column}={row[column]!r}"
    assert (row["key"] is None) == (row["camelot"] is None) == (row["key_confidence"] is None), where
    expect = {"format": "wav", "sample_rate": SR, "channels": 1, "notes": None} if kind.data == WAV else {}
    for column, value in {**expect, **kind.expect}.items():
        assert row[column] == value, f"{where}: {column}={row[column]!r}, want {value!r}"


def test_nan_and_inf_samples_give_finite_features_and_a_note(rows, corpus):
    folder, _ = corpus
    row = rows[str(folder / "nan_inf_float.wav")]
    assert row["error"] is None and "non-finite" in row["notes"]
    assert math.isfinite(row["peak_dbfs"]) and math.isfinite(row["loudness_lufs"])
    assert row["key"] is not None
    clean = rows[str(folder / "plain name.wav")]
    assert row["peak_dbfs"] == pytest.approx(clean["peak_dbfs"], abs=0.5)


def test_non_utf8_name_is_escaped_and_still_read(rows, analysed):
    folder, _, entries, _ = analysed
    (entry,) = [e for e in entries if "%FF%FE" in e.path]
    assert entry.path == f"{folder}/%FF%FEbad %E9t%E9.wav"
    assert os.fsencode(entry.fs_path) == os.fsencode(folder) + b"/\xff\xfebad \xe9t\xe9.wav"
    row = rows[entry.path]
    assert row["error"] is None and row["content_hash"] == hashlib.md5(WAV).hexdigest()


def test_table_is_the_schema_and_round_trips_through_parquet_and_duckdb(analysed, tmp_path):
    _, kinds, _, table = analysed
    assert table.schema == schema.SAMPLES
    again = pa.Table.from_pylist(table.to_pylist(), schema=schema.SAMPLES)
    assert again.equals(table)
    out = tmp_path / "hostile.parquet"
    pq.write_table(table, out)
    got = duckdb.execute(
        "SELECT path, error, notes, channels, sample_rate FROM read_parquet(?) ORDER BY path", [str(out)]
    ).fetchall()
    want = sorted((r["path"], r["error"], r["notes"], r["channels"], r["sample_rate"]) for r in table.to_pylist())
    assert sorted(got) == want
    assert {p for p, *_ in got} == set(kinds)
    n_errors = duckdb.execute("SELECT count(*) FROM read_parquet(?) WHERE error IS NOT NULL", [str(out)]).fetchone()[0]
    assert n_errors == sum(k.error is not None for k in KINDS)
    weird = duckdb.execute(
        "SELECT count(*) FROM read_parquet(?) WHERE path LIKE '%new' || chr(10) || 'line.wav'"
        " OR path LIKE '%%FF%FEbad%' OR path LIKE '%日本%'",
        [str(out)],
    ).fetchone()[0]
    assert weird == 3


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod-000 file anyway (DenyingFileSystem covers it)")
def test_chmod_000_file_is_a_read_failed_row(tmp_path):
    path = tmp_path / "locked.wav"
    path.write_bytes(WAV)
    path.chmod(0)
    try:
        (entry,) = sources.list_source(str(tmp_path))
        (row,) = analyze.analyze_partition(fsspec.filesystem("file"), [entry], method="classic").to_pylist()
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert row["error"] == f"read failed: PermissionError: [Errno 13] Permission denied: {entry.fs_path!r}"
    assert row["content_hash"] is None and row["size_bytes"] == len(WAV)


def test_memory_object_deleted_between_listing_and_reading():
    fs = fsspec.filesystem("memory")
    root = f"/sampledex-hostile-{uuid.uuid4().hex}"
    try:
        fs.pipe(f"{root}/kept.wav", WAV)
        fs.pipe(f"{root}/gone.wav", WAV)
        entries = sources.list_source(f"memory://{root}")
        assert [e.path for e in entries] == [f"memory://{root}/gone.wav", f"memory://{root}/kept.wav"]
        fs.rm(f"{root}/gone.wav")
        gone, kept = analyze.analyze_partition(fs, entries, method="classic").to_pylist()
    finally:
        fs.rm(root, recursive=True)
    assert gone["error"] == f"read failed: FileNotFoundError: {root}/gone.wav"
    assert gone["content_hash"] is None and gone["size_bytes"] == len(WAV)
    assert kept["error"] is None and kept["duration_s"] == pytest.approx(1.0)


# ─── slow: an hour-long file, a long 384 kHz file, peak RSS, the CLI, S3 ─────────────────────

HOUR_SR = 8000
HOUR_S = 61 * 60  # 61 min at 8 kHz, 16-bit mono: 58.6 MB, read whole (≤ WHOLE_READ_BYTES)
HI_SR = 384000
HI_S = 40  # 40 s at 384 kHz: 30.7 MB, more than MAX_ANALYSIS_SAMPLES (32.8 s)


def _write_in_blocks(path: Path, sr: int, seconds: int, *, seed: int) -> None:
    """A 16-bit mono WAV written one second-long block at a time (memory: one block)."""
    rng = np.random.default_rng(seed)
    t = np.arange(sr) / sr
    with sf.SoundFile(path, "w", samplerate=sr, channels=1, format="WAV", subtype="PCM_16") as f:
        for i in range(seconds):
            freq = (220.0, 261.63, 329.63)[i % 3]
            f.write((0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(sr)).astype(np.float32))


@pytest.fixture(scope="module")
def long_files(tmp_path_factory):
    """{'hour': a 61-minute 8 kHz WAV, 'hi_rate': a 40 s 384 kHz WAV}, in a folder of their own."""
    folder = tmp_path_factory.mktemp("long")
    files = {"hour": folder / "over_an_hour_8k.wav", "hi_rate": folder / "rate_384k_40s.wav"}
    _write_in_blocks(files["hour"], HOUR_SR, HOUR_S, seed=60)
    _write_in_blocks(files["hi_rate"], HI_SR, HI_S, seed=384)
    assert files["hour"].stat().st_size == 44 + 2 * HOUR_SR * HOUR_S
    return files


HOUR_NOTES = f"excerpt: first {decode.MAX_ANALYSIS_SECONDS:.1f} s of {HOUR_S:.1f} s analysed"
HI_NOTES = f"excerpt: first {decode.MAX_ANALYSIS_SAMPLES / HI_SR:.1f} s of {HI_S:.1f} s analysed"


@pytest.mark.slow
def test_long_files_are_analysed_on_a_bounded_excerpt_and_say_so(long_files, monkeypatch):
    fs = fsspec.filesystem("file")
    for name, sr, seconds, notes in (("hour", HOUR_SR, HOUR_S, HOUR_NOTES), ("hi_rate", HI_SR, HI_S, HI_NOTES)):
        (entry,) = sources.list_source(str(long_files[name]))
        row = analyze.analyze_entry(fs, entry, method="classic")
        assert row.get("error") is None, row.get("error")
        assert row["sample_rate"] == sr and row["channels"] == 1
        assert row["duration_s"] == pytest.approx(seconds)
        assert row["notes"] == notes and row["notes"].startswith("excerpt:")
        assert row["key"] is not None and math.isfinite(row["loudness_lufs"])
        # the streamed path (files over WHOLE_READ_BYTES) gives the same row and the same hash
        with monkeypatch.context() as m:
            m.setattr(analyze, "WHOLE_READ_BYTES", 2**20)
            m.setattr(analyze, "STREAM_CHUNK_BYTES", 2**20)
            streamed = analyze.analyze_entry(fs, entry, method="classic")
        assert {k: v for k, v in streamed.items() if k != "indexed_at"} == {
            k: v for k, v in row.items() if k != "indexed_at"
        }
    assert HOUR_NOTES == "excerpt: first 240.0 s of 3660.0 s analysed"
    assert HI_NOTES == "excerpt: first 32.8 s of 40.0 s analysed"


#: the peak RSS of this process's own memory (VmHWM) and getrusage's ru_maxrss, both in KiB
_PEAK_FUNCTIONS = """
import resource

def peak_kib():
    hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    return {"vmhwm_kib": hwm, "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
"""

_RSS_SCRIPT = (
    _PEAK_FUNCTIONS
    + """
import json, sys
import fsspec
from sampledex.pipeline import analyze, sources
path, mode = sys.argv[1], sys.argv[2]
if mode == "streamed":
    analyze.WHOLE_READ_BYTES = 2**20
analyze.warm_up("classic")
before = peak_kib()
(entry,) = sources.list_source(path)
row = analyze.analyze_entry(fsspec.filesystem("file"), entry, method="classic")
print(json.dumps({"before": before, "peak": peak_kib(), "error": row.get("error"), "notes": row.get("notes"),
                  "size": entry.size}))
"""
)


def _run_fresh(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run ``args`` in a process whose ru_maxrss starts from nothing.

    Linux carries a process's peak RSS across ``exec`` (``signal->maxrss``), so
    a child started straight from pytest would report at least pytest's own peak
    (several hundred MiB after the corpus). A shell in between, which forks
    rather than execs, starts the count afresh. VmHWM is measured too: it is the
    current address space's own peak, whatever the parent.
    """
    return subprocess.run(
        ["/bin/sh", "-c", '"$@"; exit $?', "sh", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_peak_rss_of_one_process_stays_under_1_gib(long_files, corpus):
    folder, _ = corpus
    cases = [
        (long_files["hour"], "whole"),
        (long_files["hour"], "streamed"),
        (folder / "rate_384k.wav", "whole"),
        (long_files["hi_rate"], "whole"),
    ]
    report = []
    for path, mode in cases:
        proc = _run_fresh([sys.executable, "-c", _RSS_SCRIPT, str(path), mode], timeout=120)
        assert proc.returncode == 0, proc.stderr
        got = json.loads(proc.stdout.strip().splitlines()[-1])
        assert got["error"] is None, got
        peak = {k: v / 1024 for k, v in got["peak"].items()}
        report.append(
            f"{path.name} ({mode}, {got['size'] / 2**20:.1f} MiB): peak RSS "
            f"{peak['maxrss_kib']:.0f} MiB ru_maxrss, {peak['vmhwm_kib']:.0f} MiB VmHWM "
            f"({got['before']['vmhwm_kib'] / 1024:.0f} MiB before the file); notes={got['notes']!r}"
        )
        assert max(peak.values()) < RSS_LIMIT_MIB, report[-1]
    print("\n" + "\n".join(report))


_WORKER_RSS_SCRIPT = (
    _PEAK_FUNCTIONS
    + """
import json, sys, tempfile
from sampledex.pipeline import catalog as catalog_mod, run
with tempfile.TemporaryDirectory() as tmp:
    catalog = catalog_mod.Catalog(tmp + "/catalog")
    with run.dask_client(None, 2) as client:
        summary = run.run_index([sys.argv[1]], catalog, client=client, method="classic", progress=False)
        peaks = client.run(peak_kib)
    audio_s = catalog.query("SELECT sum(duration_s) FROM samples").fetchall()[0][0]
print(json.dumps({"workers": list(peaks.values()), "seen": summary.seen, "failed": summary.failed,
                  "audio_s": audio_s}))
"""
)


@pytest.mark.slow
def test_peak_rss_of_dask_workers_stays_under_1_gib(long_files, corpus, tmp_path):
    """Both long files and the 2 s 384 kHz one, indexed by a real 2-worker local cluster."""
    folder, _ = corpus
    heavy = tmp_path / "heavy"
    heavy.mkdir()
    for path in (long_files["hour"], long_files["hi_rate"], folder / "rate_384k.wav"):
        os.link(path, heavy / path.name)
    proc = _run_fresh([sys.executable, "-c", _WORKER_RSS_SCRIPT, str(heavy)], timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    mib = [{k: round(v / 1024) for k, v in w.items()} for w in got["workers"]]
    print(f"\nworker peak RSS (MiB): {mib}; seen {got['seen']}, failed {got['failed']}")
    assert got["seen"] == 3 and got["failed"] == 0
    assert got["audio_s"] == pytest.approx(HOUR_S + HI_S + 2.0)
    assert len(mib) == 2
    assert all(max(w.values()) < RSS_LIMIT_MIB for w in mib), mib


@pytest.mark.slow
def test_cli_indexes_the_whole_hostile_folder_and_exits_0(long_files, tmp_path):
    lib = tmp_path / "hostile library"
    lib.mkdir()
    kinds = build_corpus(lib)
    for path in long_files.values():
        os.link(path, lib / path.name)
    catalog = tmp_path / "catalog"
    proc = subprocess.run(
        [SAMPLEDEX, "index", str(lib), "--catalog", str(catalog), "--workers", "2", "--key-method", "classic"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"
    # no file is unreadable to root through the CLI: permission_denied.wav is a correct row here
    errors = {p: k.error for p, k in kinds.items() if k.error is not None and not (k.denied and os.geteuid() == 0)}
    n = len(kinds) + len(long_files)
    summary = SUMMARY.search(proc.stdout)
    assert summary, proc.stdout
    assert [int(g) for g in summary.groups()] == [n, n - len(errors), 0, len(errors), 0], proc.stdout
    assert "files/s" in proc.stdout and f"catalog: {catalog}" in proc.stdout
    print("\n" + proc.stdout)

    got = {
        p: (e, notes, d)
        for p, e, notes, d in catalog_mod.Catalog(str(catalog))
        .query("SELECT path, error, notes, duration_s FROM samples")
        .fetchall()
    }
    assert set(got) == set(kinds) | {str(lib / p.name) for p in long_files.values()}
    for path, kind in kinds.items():
        fs_path = os.fsdecode(os.fsencode(lib) + b"/" + _bytes_name(kind))
        want = errors[path].format(fs_path=repr(fs_path)) if path in errors else None
        assert got[path][0] == want, (path, got[path])
    assert got[str(lib / "over_an_hour_8k.wav")] == (None, HOUR_NOTES, pytest.approx(HOUR_S))
    assert got[str(lib / "rate_384k_40s.wav")] == (None, HI_NOTES, pytest.approx(HI_S))


@pytest.mark.slow
def test_s3_object_deleted_between_listing_and_reading(bucket, monkeypatch):
    """Our own objects under a unique prefix of the shared bucket; the bucket's own are not touched."""
    admin, endpoint = bucket
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    prefix = f"lib/hostile-{uuid.uuid4().hex}"
    admin.pipe(f"{prefix}/gone.wav", WAV)
    admin.pipe(f"{prefix}/kept.wav", WAV)
    options = {"endpoint_url": endpoint}
    try:
        entries = sources.list_source(f"s3://{prefix}", options)
        assert [e.path for e in entries] == [f"s3://{prefix}/gone.wav", f"s3://{prefix}/kept.wav"]
        admin.rm(f"{prefix}/gone.wav")  # another client deletes it after the listing
        fs, _ = sources.open_source(f"s3://{prefix}", options)
        gone, kept = analyze.analyze_partition(fs, entries, method="classic").to_pylist()
    finally:
        for key in (f"{prefix}/gone.wav", f"{prefix}/kept.wav"):
            if admin.exists(key):
                admin.rm(key)
    assert gone["error"].startswith("read failed: FileNotFoundError"), gone["error"]
    assert not _LEAK.search(gone["error"]) and "testing" not in gone["error"]
    assert gone["content_hash"] is None and gone["etag"] == hashlib.md5(WAV).hexdigest()
    assert kept["error"] is None and kept["content_hash"] == kept["etag"] == hashlib.md5(WAV).hexdigest()
    print(f"\nS3 deleted object: {gone['error']!r}")

"""What a file's own metadata declares (pipeline/tags.py): ACID and smpl chunks written by hand, tags by mutagen."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sampledex.models.names import Declared
from sampledex.pipeline import containers, tags

SR = 22050


def _tone(seconds: float = 0.25) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (0.3 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32)


def _encoded(fmt: str, subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, _tone(), SR, format=fmt, subtype=subtype)
    return buf.getvalue()


def with_chunks(riff: bytes, extra: list[tuple[bytes, bytes]], *, before_data: bool = False) -> bytes:
    """A RIFF WAVE file with ``extra`` chunks added (after the last chunk, or before ``data``), sizes fixed up."""
    body = bytearray(riff[12:])
    added = b"".join(cid + struct.pack("<I", len(b)) + b + (b"\0" if len(b) & 1 else b"") for cid, b in extra)
    if before_data:
        at = body.index(b"data")
        body[at:at] = added
    else:
        body += added
    out = bytearray(riff[:12]) + body
    if out[:4] == b"RIFF":
        out[4:8] = struct.pack("<I", len(out) - 8)
    return bytes(out)


def acid(*, one_shot: bool = False, root: int | None = None, tempo: float = 0.0, beats: int = 4) -> bytes:
    flags = (0x01 if one_shot else 0) | (0x02 if root is not None else 0) | 0x04
    return struct.pack("<IHHfIHHf", flags, root or 0, 0x8000, 0.0, beats, 4, 4, tempo)


def smpl(unity: int, *, cents: float = 0.0, loops: tuple[tuple[int, int], ...] = ()) -> bytes:
    fraction = int(round(cents / 100.0 * 2**32)) & 0xFFFFFFFF
    head = struct.pack("<9I", 0, 0, 1_000_000_000 // SR, unity, fraction, 0, 0, len(loops), 0)
    return head + b"".join(struct.pack("<6I", i, 0, s, e, 0, 0) for i, (s, e) in enumerate(loops))


WAV = _encoded("WAV", "PCM_16")


def declared(data: bytes, name: str = "sample.wav", kind: str | None = None) -> tuple[Declared, str | None]:
    return tags.declared_metadata(io.BytesIO(data), name, kind=kind)


# -- RIFF chunks ------------------------------------------------------------------------


def test_acid_loop_declares_tempo_root_and_kind():
    d = tags.file_declared(io.BytesIO(with_chunks(WAV, [(b"acid", acid(root=57, tempo=124.0))])))
    assert (d.key, d.bpm, d.root, d.kind) == (None, 124.0, "A", "loop")
    assert d.source_of("bpm") == d.source_of("kind") == d.source_of("root") == "acid"


def test_acid_one_shot_ignores_its_tempo():
    d = tags.file_declared(io.BytesIO(with_chunks(WAV, [(b"acid", acid(one_shot=True, root=55, tempo=120.0))])))
    assert (d.bpm, d.root, d.kind) == (None, "G", "one-shot")


def test_acid_root_flag_off_and_tempo_out_of_range_declare_nothing_of_them():
    d = tags.file_declared(io.BytesIO(with_chunks(WAV, [(b"acid", acid(tempo=0.0))])))
    assert (d.bpm, d.root, d.kind) == (None, None, "loop")
    assert tags.parse_acid(acid(root=None, tempo=3000.0)).root_note is None


def test_acid_before_the_data_chunk_is_read_too():
    data = with_chunks(WAV, [(b"acid", acid(root=60, tempo=96.5))], before_data=True)
    assert tags.file_declared(io.BytesIO(data)).bpm == 96.5
    assert sf.info(io.BytesIO(data)).frames == len(_tone())  # still a valid WAV


def test_smpl_unity_note_fine_tune_and_loops():
    body = smpl(55, cents=50.0, loops=((0, 1000), (2000, 4000)))
    parsed = tags.parse_smpl(body)
    assert parsed.unity_note == 55 and parsed.loops == ((0, 1000), (2000, 4000))
    assert parsed.fine_tune_cents == pytest.approx(50.0, abs=1e-6)
    d = tags.file_declared(io.BytesIO(with_chunks(WAV, [(b"smpl", body)])))
    assert (d.root, d.source_of("root"), d.kind) == ("G3", "smpl", None)


def test_smpl_default_middle_c_declares_nothing_but_a_real_middle_c_does():
    assert tags.file_declared(io.BytesIO(with_chunks(WAV, [(b"smpl", smpl(60))]))).root is None
    looped = with_chunks(WAV, [(b"smpl", smpl(60, loops=((10, 2000),)))])
    assert tags.file_declared(io.BytesIO(looped)).root == "C4"
    assert tags.file_declared(io.BytesIO(with_chunks(WAV, [(b"smpl", smpl(68))]))).root == "Ab4"


def test_acid_and_smpl_together_give_the_octave():
    data = with_chunks(WAV, [(b"acid", acid(one_shot=True, root=43)), (b"smpl", smpl(55))])
    d = tags.file_declared(io.BytesIO(data))
    assert (d.root, d.kind) == ("G3", "one-shot")


def test_rf64_chunks_after_data_are_found():
    rf64 = _encoded("RF64", "PCM_16")
    assert rf64[:4] == b"RF64"
    data = with_chunks(rf64, [(b"acid", acid(root=62, tempo=140.0))])
    d = tags.file_declared(io.BytesIO(data))
    assert (d.bpm, d.root) == (140.0, "D")


def test_aiff_inst_chunk_is_the_smpl_twin():
    aiff = bytearray(_encoded("AIFF", "PCM_16"))
    inst = struct.pack(">bbbbbbh", 57, -10, 0, 127, 1, 127, 0) + struct.pack(">hhh", 1, 1, 2) + b"\0" * 6
    aiff += b"INST" + struct.pack(">I", len(inst)) + inst
    aiff[4:8] = struct.pack(">I", len(aiff) - 8)
    d = tags.file_declared(io.BytesIO(bytes(aiff)))
    assert (d.root, d.source_of("root")) == ("A3", "inst")


def test_chunk_bodies_reads_only_what_it_is_asked():
    data = with_chunks(WAV, [(b"acid", acid(tempo=120.0)), (b"smpl", smpl(50))])
    container, bodies = containers.chunk_bodies(io.BytesIO(data), {b"acid": 8, b"smpl": 64})
    assert container == "wav" and len(bodies[b"acid"]) == 8 and len(bodies[b"smpl"]) == 36
    assert containers.chunk_bodies(io.BytesIO(b"fLaC" + b"\0" * 40), {b"acid": 24}) == (None, {})


# -- tags -------------------------------------------------------------------------------


def _tagged_mp3(tmp_path, **frames) -> bytes:
    from mutagen.id3 import ID3, TBPM, TKEY, TXXX

    path = tmp_path / "t.mp3"
    sf.write(path, _tone(0.5), SR, format="MP3", subtype="MPEG_LAYER_III")
    tag = ID3()
    if "key" in frames:
        tag.add(TKEY(encoding=3, text=[frames["key"]]))
    if "bpm" in frames:
        tag.add(TBPM(encoding=3, text=[frames["bpm"]]))
    if "txxx" in frames:
        desc, value = frames["txxx"]
        tag.add(TXXX(encoding=3, desc=desc, text=[value]))
    tag.save(path)
    return path.read_bytes()


def test_mp3_id3_key_and_tempo(tmp_path):
    d = tags.file_declared(io.BytesIO(_tagged_mp3(tmp_path, key="Cm", bpm="124")))
    assert (d.key, d.bpm, d.source_of("key"), d.source_of("bpm")) == ("C minor", 124.0, "id3", "id3")


def test_mp3_txxx_initialkey(tmp_path):
    d = tags.file_declared(io.BytesIO(_tagged_mp3(tmp_path, txxx=("INITIALKEY", "11B"))))
    assert d.key == "A major"


def test_mp3_without_tags_declares_nothing(tmp_path):
    path = tmp_path / "bare.mp3"
    sf.write(path, _tone(0.5), SR, format="MP3", subtype="MPEG_LAYER_III")
    assert tags.file_declared(io.BytesIO(path.read_bytes())).empty


@pytest.mark.parametrize(("fmt", "cls"), [("FLAC", "flac.FLAC"), ("OGG", "oggvorbis.OggVorbis")])
def test_vorbis_comments(tmp_path, fmt, cls):
    import importlib

    path = tmp_path / f"t.{fmt.lower()}"
    sf.write(path, _tone(0.5), SR, format=fmt)
    module, name = cls.split(".")
    audio = getattr(importlib.import_module(f"mutagen.{module}"), name)(path)
    audio["INITIALKEY"] = "8A"
    audio["BPM"] = "96.00"
    audio.save()
    d = tags.file_declared(io.BytesIO(path.read_bytes()))
    assert (d.key, d.bpm, d.source_of("key")) == ("A minor", 96.0, "vorbis")


@pytest.mark.parametrize("container", [None, "mp3", "flac", "ogg", "wav"])
def test_the_decoded_container_only_picks_the_reader_first(tmp_path, container):
    """Whatever format the file is said to have decoded as, its tags are read: a wrong one falls back to
    mutagen's own detection."""
    from mutagen.flac import FLAC

    path = tmp_path / "t.flac"
    sf.write(path, _tone(0.5), SR, format="FLAC")
    audio = FLAC(path)
    audio["INITIALKEY"] = "8A"
    audio.save()
    flac = tags.file_declared(io.BytesIO(path.read_bytes()), container)
    mp3 = tags.file_declared(io.BytesIO(_tagged_mp3(tmp_path, key="Cm", bpm="124")), container)
    assert (flac.key, flac.source_of("key")) == ("A minor", "vorbis")
    assert (mp3.key, mp3.bpm, mp3.source_of("key")) == ("C minor", 124.0, "id3")


@pytest.mark.parametrize("container", ["mp3", "flac"])
def test_the_decoded_container_s_reader_is_used_without_probing_every_format(tmp_path, monkeypatch, container):
    import mutagen
    from mutagen.flac import FLAC

    if container == "flac":
        path = tmp_path / "t.flac"
        sf.write(path, _tone(0.5), SR, format="FLAC")
        audio = FLAC(path)
        audio["INITIALKEY"] = "8A"
        audio.save()
        data = path.read_bytes()
    else:
        data = _tagged_mp3(tmp_path, key="Am")

    def probing(*args, **kwargs):
        raise AssertionError("mutagen.File probed every format")

    monkeypatch.setattr(mutagen, "File", probing)
    assert tags.file_declared(io.BytesIO(data), container).key == "A minor"
    # without the container, the probe runs (and here fails, so nothing is declared)
    assert tags.file_declared(io.BytesIO(data)).key is None


def test_flac_key_tag_in_words(tmp_path):
    from mutagen.flac import FLAC

    path = tmp_path / "t.flac"
    sf.write(path, _tone(0.5), SR, format="FLAC")
    audio = FLAC(path)
    audio["KEY"] = "F# minor"
    audio["TEMPO"] = "not a number"
    audio.save()
    d = tags.file_declared(io.BytesIO(path.read_bytes()))
    assert (d.key, d.bpm) == ("F# minor", None)


def test_id3_chunk_in_a_wav_with_acid(tmp_path):
    from mutagen.id3 import TKEY
    from mutagen.wave import WAVE

    path = tmp_path / "t.wav"
    path.write_bytes(with_chunks(WAV, [(b"acid", acid(root=57, tempo=100.0))]))
    w = WAVE(path)
    w.add_tags()
    w.tags.add(TKEY(encoding=3, text=["Am"]))
    w.save()
    d = tags.file_declared(io.BytesIO(path.read_bytes()))
    assert (d.key, d.bpm, d.root) == ("A minor", 100.0, "A")
    assert d.source == "acid+id3"


def test_id3_chunk_in_an_aiff(tmp_path):
    from mutagen.aiff import AIFF
    from mutagen.id3 import TBPM, TKEY

    path = tmp_path / "t.aiff"
    sf.write(path, _tone(), SR, format="AIFF", subtype="PCM_16")
    a = AIFF(path)
    a.add_tags()
    a.tags.add(TKEY(encoding=3, text=["Ebm"]))
    a.tags.add(TBPM(encoding=3, text=["87"]))
    a.save()
    d = tags.file_declared(io.BytesIO(path.read_bytes()))
    assert (d.key, d.bpm) == ("Eb minor", 87.0)


# -- the file and its name ------------------------------------------------------------


def test_file_metadata_wins_over_the_name_with_a_note(tmp_path):
    d, note = declared(_tagged_mp3(tmp_path, key="Cm", bpm="124"), "Loops/Keys_Loop_Am_120bpm.mp3")
    assert (d.key, d.bpm) == ("C minor", 124.0)
    assert note == (
        "declared key from file metadata (C minor) disagrees with the name (A minor); "
        "declared tempo from file metadata (124 BPM) disagrees with the name (120 BPM)"
    )
    assert d.source_of("key") == "id3" and d.kind == "loop" and d.source_of("kind") == "name"


def test_agreeing_file_and_name_give_no_note_and_the_name_fills_the_gaps():
    data = with_chunks(WAV, [(b"acid", acid(root=54, tempo=124.0002))])
    d, note = declared(data, "Bass_Loop_124bpm_F#min.wav")
    assert note is None
    assert (d.key, d.bpm, d.root, d.kind) == ("F# minor", 124.0, "F#", "loop")
    assert (d.source_of("key"), d.source_of("bpm")) == ("name", "acid")


def test_root_from_name_and_file():
    same = with_chunks(WAV, [(b"acid", acid(one_shot=True, root=55))])
    d, note = declared(same, "Rhodes One Shot G3.wav")
    assert (d.root, note) == ("G3", None)  # ACID says G, the name adds the octave
    other = with_chunks(WAV, [(b"smpl", smpl(55))])
    d, note = declared(other, "Kick - Clean (F).wav")
    assert d.root == "G3"
    assert note == "declared root from file metadata (G3) disagrees with the name (F)"


@pytest.mark.parametrize(("one_shot", "expected"), [(True, (None, "C")), (False, ("C major", None))])
def test_the_acid_flag_decides_what_a_bare_note_in_the_name_is(one_shot, expected):
    data = with_chunks(WAV, [(b"acid", acid(one_shot=one_shot))])
    d, _ = declared(data, "Pad_C.wav", kind="loop" if one_shot else "one-shot")
    assert (d.key, d.root) == expected
    assert d.kind == ("one-shot" if one_shot else "loop") and d.source_of("kind") == "acid"


def test_the_audio_kind_is_used_without_acid():
    assert declared(WAV, "Pad_C.wav", kind="one-shot")[0].root == "C"
    assert declared(WAV, "Pad_C.wav", kind="loop")[0].key == "C major"


def test_position_is_restored():
    f = io.BytesIO(with_chunks(WAV, [(b"acid", acid(tempo=120.0))]))
    f.seek(7)
    tags.declared_metadata(f, "x.wav")
    assert f.tell() == 7


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"RIFF",
        b"RIFF\x00\x00\x00\x00WAVE",
        WAV[:40],
        with_chunks(WAV, [(b"acid", acid(tempo=120.0))])[:-10],  # the acid chunk cut short
        with_chunks(WAV, [(b"smpl", smpl(55, loops=((0, 10),)) + b"\xff" * 3)]),
        b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + b"\x00" * 20,  # an ID3 header promising more than there is
        b"fLaC" + b"\xff" * 100,
        b"OggS" + b"\x00" * 100,
        b"FORM\x00\x00\x00\x10AIFFINST\x00\x00\x00\x02\x3c\x00",
        bytes(range(256)) * 4,
    ],
)
def test_damaged_metadata_declares_nothing_and_never_raises(data):
    d, note = tags.declared_metadata(io.BytesIO(data), "Bass_Loop_124bpm_F#min.wav")
    assert note is None and (d.key, d.bpm) == ("F# minor", 124.0)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=300),
    st.sampled_from([b"", b"RIFF\x00\x01\x00\x00WAVE", b"FORM\x00\x00\x01\x00AIFF", b"ID3", b"fLaC", b"OggS"]),
)
def test_arbitrary_bytes_never_raise(tail, head):
    d, note = tags.declared_metadata(io.BytesIO(head + tail), "x.wav")
    assert isinstance(d, Declared) and (note is None or isinstance(note, str))


def test_a_smpl_chunk_with_a_huge_loop_count_reads_only_what_is_there():
    body = struct.pack("<9I", 0, 0, 0, 50, 0, 0, 0, 0xFFFFFFFF, 0) + struct.pack("<6I", 0, 0, 1, 2, 0, 0)
    parsed = tags.parse_smpl(body)
    assert parsed.loops == ((1, 2),)


def test_note_name():
    assert [tags.note_name(n) for n in (60, 61, 68, 21, 0, 127)] == ["C4", "Db4", "Ab4", "A0", "C-1", "G9"]


def _held_chord(seconds: float = 4.0, sr: int = 22050) -> bytes:
    """Two bars at 120 BPM of one held A minor triad: as a loop or as a one-shot pad, only its filing tells."""
    t = np.arange(int(seconds * sr)) / sr
    y = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 261.63, 329.63)) / 4
    out = io.BytesIO()
    sf.write(out, y.astype(np.float32), sr, format="WAV", subtype="PCM_16")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "kind"),
    [("Pads/Warm_Pad_Loop_Am_120bpm.wav", "loop"), ("Pads/Warm Pad One Shot Am.wav", "one-shot")],
)
def test_a_kind_word_in_the_name_is_the_rows_kind_and_the_note_says_what_the_audio_said(name, kind):
    from sampledex.pipeline import analyze

    data = _held_chord()
    audio_kind = analyze.describe(data, name="held.wav")["kind"]
    row = analyze.describe(data, name=name)
    assert row["kind"] == kind
    if kind == "loop":
        assert row["bpm"] is not None and abs(row["bpm"] - 120.0) < 1.0
    else:
        assert row["bpm"] is None
    if audio_kind != kind:
        assert row["notes"] == f"kind {kind} from the name; the audio alone says {audio_kind}"
    else:
        assert row["notes"] is None

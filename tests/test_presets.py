"""The LMMS preset material (models/training/presets.py): projects, splits, labels, and a real render.

The projects are checked as XML without LMMS; the render test needs LMMS installed (a development-time tool,
``make presets``) and is skipped where it is not.
"""

from __future__ import annotations

import gzip
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from sampledex.models import keys
from sampledex.models.training import presets, synth

XPF = """<?xml version="1.0"?>
<!DOCTYPE lmms-project>
<lmms-project version="1.0" type="instrumenttracksettings">
  <head/>
  <instrumenttracksettings name="Test" type="0">
    <instrumenttrack basenote="{basenote}" vol="50">
      <instrument name="tripleoscillator"><tripleoscillator wavetype0="1"/></instrument>
      <chordcreator chord="{chord}" chord-enabled="1" chordrange="1"/>
      <arpeggiator arp="{arp}" arp-enabled="1"/>
      <fxchain enabled="0" numofeffects="0"/>
    </instrumenttrack>
  </instrumenttracksettings>
</lmms-project>
"""

XIZ = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE ZynAddSubFX-data>
<ZynAddSubFX-data version-major="1" version-minor="0">
<INSTRUMENT><INFO><string name="name">{name}</string></INFO></INSTRUMENT>
</ZynAddSubFX-data>
"""


@pytest.fixture
def preset_root(tmp_path: Path) -> Path:
    """A preset folder laid out as LMMS's: instrument settings, a ZynAddSubFX bank (gzipped and plain), and
    folders of drums and noise that must be left out."""
    (tmp_path / "TripleOscillator").mkdir()
    (tmp_path / "TripleOscillator" / "Pad.xpf").write_text(XPF.format(basenote=57, chord=3, arp=0))
    (tmp_path / "TripleOscillator" / "Drums_Kick.xpf").write_text(XPF.format(basenote=57, chord=0, arp=0))
    (tmp_path / "TripleOscillator" / "Old.xpf").write_text("<multimediaproject><channeltrack/></multimediaproject>")
    bank = tmp_path / "ZynAddSubFX" / "Pads"
    bank.mkdir(parents=True)
    (bank / "0001-Soft.xiz").write_bytes(gzip.compress(XIZ.format(name="Soft").encode()))
    (bank / "0002-Plain.xiz").write_text("\n" + XIZ.format(name="Plain"))
    for folder in ("ZynAddSubFX/Drums", "ZynAddSubFX/Noises", "Kicker"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "0001-Hit.xiz").write_bytes(gzip.compress(XIZ.format(name="Hit").encode()))
    return tmp_path


def test_preset_files_keep_what_plays_notes(preset_root: Path) -> None:
    names = [str(p.relative_to(preset_root)) for p in presets.preset_files(preset_root)]
    assert names == ["TripleOscillator/Pad.xpf", "ZynAddSubFX/Pads/0001-Soft.xiz", "ZynAddSubFX/Pads/0002-Plain.xiz"]


def test_held_out_is_by_content_so_copies_fall_together(preset_root: Path, tmp_path_factory) -> None:
    copy = tmp_path_factory.mktemp("other") / "Renamed.xiz"
    copy.write_bytes((preset_root / "ZynAddSubFX" / "Pads" / "0002-Plain.xiz").read_bytes())
    assert presets.held_out(copy) == presets.held_out(preset_root / "ZynAddSubFX" / "Pads" / "0002-Plain.xiz")
    # about a quarter of many distinct presets
    shares = []
    for i in range(400):
        p = copy.parent / f"p{i}.xiz"
        p.write_text(XIZ.format(name=f"n{i}"))
        shares.append(presets.held_out(p))
    assert 0.18 < np.mean(shares) < 0.32


def test_instrument_track_turns_off_added_chords_and_reads_the_base_note(tmp_path: Path) -> None:
    octaves = tmp_path / "a.xpf"
    octaves.write_text(XPF.format(basenote=69, chord=0, arp=0))
    track, shift = presets.instrument_track(octaves)
    assert shift == 12  # key 69 sounds A4: every note must be pressed an octave higher to sound as written
    assert track.find("chordcreator").get("chord-enabled") == "1"  # octaves only: kept
    triads = tmp_path / "b.xpf"
    triads.write_text(XPF.format(basenote=57, chord=1, arp=6))
    track, shift = presets.instrument_track(triads)
    assert shift == 0
    assert track.find("chordcreator").get("chord-enabled") == "0"
    assert track.find("arpeggiator").get("arp-enabled") == "0"


def test_a_zyn_instrument_goes_into_part_zero(preset_root: Path) -> None:
    track, shift = presets.instrument_track(preset_root / "ZynAddSubFX" / "Pads" / "0001-Soft.xiz")
    assert shift == 0
    assert track.find("instrument").get("name") == "zynaddsubfx"
    part = track.find(".//MASTER/PART")
    assert part.get("id") == "0" and part.find("INSTRUMENT/INFO/string").text == "Soft"


def test_project_holds_the_notes_as_they_should_sound(preset_root: Path) -> None:
    track, _ = presets.instrument_track(preset_root / "TripleOscillator" / "Pad.xpf")
    music = presets.Material(keys.key_index(9, True), [(57, 0.0, 4.0, 0.9), (60, 2.5, 1.0, 0.5)], 120.0, 2, "held")
    song = ET.fromstring(presets.project(track, 12, music).split("\n", 2)[2])
    assert song.find("head").get("bpm") == "120"
    pattern = song.find(".//pattern")
    assert pattern.get("len") == str(2 * presets.TICKS_PER_BAR)
    notes = [(int(n.get("key")), int(n.get("pos")), int(n.get("len")), int(n.get("vol"))) for n in pattern]
    # LMMS numbers keys from C0 (MIDI 12), then the preset's shift; 48 ticks a beat
    assert notes == [(57, 0, 192, 90), (60, 120, 48, 50)]


@pytest.mark.parametrize("seed", range(40))
def test_material_is_in_its_key(seed: int) -> None:
    """Every family keeps to the key's scale (in minor, also the leading tone of a major V and the sixth of
    an m6 colour), and the held, struck and arpeggiated families have the tonic lowest."""
    rng = np.random.default_rng(seed)
    key = int(rng.integers(24))
    music = presets.material(key, rng)
    assert music.key == key and music.family in presets.FAMILIES
    assert 80 <= music.bpm <= 170 and music.bars >= 1
    pcs = {m % 12 for m, *_ in music.notes}
    scale = {(keys.tonic_pc(key) + step) % 12 for step in synth.scale_of(key)}
    if keys.is_minor(key):
        scale |= {(keys.tonic_pc(key) + 11) % 12, (keys.tonic_pc(key) + 9) % 12}
    assert pcs <= scale
    if music.family in ("held", "drone", "stab", "arpeggio"):
        assert min(m for m, *_ in music.notes) % 12 == keys.tonic_pc(key)
    assert max(s + length for _, s, length, _ in music.notes) <= 4 * music.bars + 1e-9


def test_the_families_are_drawn_in_their_shares() -> None:
    rng = np.random.default_rng(3)
    drawn = [presets.material(int(rng.integers(24)), rng).family for _ in range(1500)]
    for family, share in presets.FAMILIES.items():
        assert abs(drawn.count(family) / len(drawn) - share) < 0.04, family


@pytest.mark.skipif(shutil.which("lmms") is None, reason="LMMS is not installed (make presets installs it)")
def test_a_preset_renders_a_chord_in_its_key(tmp_path: Path) -> None:
    """A real render of a shipped TripleOscillator preset: the chord's notes sound where they were written."""
    from sampledex.models import frontend

    root = presets.PRESET_ROOT
    track, shift = presets.instrument_track(root / "TripleOscillator" / "WarmStack.xpf")
    music = presets.Material(keys.key_index(9, True), [(m, 0.0, 8.0, 0.9) for m in (45, 57, 60, 64)], 120.0, 2, "held")
    out = tmp_path / "pad.wav"
    assert presets.render(presets.project(track, shift, music), out)
    import soundfile as sf

    y, sr = sf.read(out, dtype="float32")
    assert sr == presets.SR and 3.9 < y.size / sr < 8.0 and 0.85 < np.abs(y).max() <= 0.91
    chroma = frontend.chroma(frontend.logfreq_spectrogram(y)).mean(axis=1)
    assert set(np.argsort(chroma)[-3:]) == {9, 0, 4}  # A, C, E

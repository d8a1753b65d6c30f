"""Music played on LMMS's instrument presets: synth sounds that people designed, as development-time material.

The generator (:mod:`electronic`) draws its pads, stabs and FX from a few timbres it knows how to write. A
sample pack's sounds come from presets that sound designers shaped by ear, in synthesizers the generator does
not model: FM and phase modulation, ZynAddSubFX's PADsynth, formant filters, chip voices, stacks tuned a fifth
apart. LMMS (Debian's ``lmms``) ships about 1,400 such presets — its own synthesizers' (TripleOscillator,
Organic, Monstro, BitInvader, OpulenZ, …) and the ZynAddSubFX banks of two dozen authors — and renders a
project from the command line. Each example here is one preset playing music in a key:

    key, seed ──► :func:`material`: a tonic chord held, a drone, a slow change, a progression of held chords
                  or stabs, a short stab, or an arpeggio (notes in beats at a tempo)
              ──► :func:`project`: an LMMS project holding the preset's instrument and those notes
              ──► ``lmms render`` ──► mono at the analysis rate, peak-normalised ──► ``<family>_<n>.wav``
                  and a row of ``labels.csv`` (``path,key,family,preset``)

A quarter of the presets, chosen by their content (:func:`held_out`: the same instrument filed in two banks
falls on the same side), never play the training set: they make the validation set, so that what is measured
is how well sounds designed by other people, in other synthesizers' hands, are heard. Presets that only make
drums or noise are left out. The presets are GPL-licensed files of LMMS and ZynAddSubFX; only the audio
rendered from them is used, and none of it is shipped.

Development-time only (``make presets``): nothing at run time imports this module or needs LMMS.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from sampledex.models import frontend, keys

from . import datagen, electronic

PRESET_ROOT = Path("/usr/share/lmms/presets")
#: banks and folders whose presets make drums, noise or play samples, not notes
SKIPPED_FOLDERS = frozenset({"Drums", "Noises", "Cormi_Noise", "Kicker", "AudioFileProcessor"})
#: LMMS ticks per 4/4 bar
TICKS_PER_BAR = 192
#: the key that sounds A4 (440 Hz) unless a preset moves its base note; LMMS numbers keys from C0 = 0
DEFAULT_BASENOTE = 57
SR = frontend.SAMPLE_RATE
SPLITS = ("train", "validation")


def preset_files(root: Path = PRESET_ROOT) -> list[Path]:
    """Every preset under ``root`` that plays notes: LMMS's ``.xpf`` instrument settings that hold an
    instrument track, and ZynAddSubFX's ``.xiz`` instruments (``root/ZynAddSubFX`` is a link to its banks)."""
    found = []
    for folder, _, names in os.walk(root, followlinks=True):
        for name in sorted(names):
            path = Path(folder) / name
            if SKIPPED_FOLDERS & set(path.relative_to(root).parts[:-1]) or name.startswith("Drums_"):
                continue
            if path.suffix == ".xiz" or (path.suffix == ".xpf" and b"<instrumenttrack" in preset_xml(path)):
                found.append(path)
    return sorted(found)


def preset_xml(path: Path) -> bytes:
    """A preset file's XML: ZynAddSubFX's ``.xiz`` files are gzip-compressed, or plain."""
    raw = Path(path).read_bytes()
    return (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).strip()


def held_out(path: Path) -> bool:
    """Whether a preset belongs to the validation quarter, by a hash of its content."""
    return int(hashlib.sha1(preset_xml(path)).hexdigest(), 16) % 4 == 0


def instrument_track(path: Path) -> tuple[ET.Element, int]:
    """The LMMS ``<instrumenttrack>`` that plays a preset, and the semitones to add to a MIDI note so that it
    sounds as written (a preset may move its base note).

    An ``.xpf``'s own track is taken with its effects, and with its chord and arpeggio functions off where they
    add notes other than octaves (a chord or an arpeggio of another chord would change the harmony); a
    ``.xiz`` instrument goes into part 0 of a ZynAddSubFX track, everything else at ZynAddSubFX's defaults.
    """
    xml = ET.fromstring(preset_xml(path))
    if Path(path).suffix == ".xiz":
        track = ET.Element("instrumenttrack", basenote=str(DEFAULT_BASENOTE), vol="80", pan="0", pitch="0")
        engine = ET.SubElement(ET.SubElement(track, "instrument", name="zynaddsubfx"), "zynaddsubfx")
        data = ET.SubElement(engine, "ZynAddSubFX-data", {"version-major": "2", "version-minor": "4"})
        part = ET.SubElement(ET.SubElement(data, "MASTER"), "PART", id="0")
        ET.SubElement(part, "par_bool", name="enabled", value="yes")
        instrument = xml.find("INSTRUMENT")
        if instrument is None:
            raise ValueError(f"{path}: no INSTRUMENT in this ZynAddSubFX file")
        part.append(instrument)
        return track, 0
    own = xml.find(".//instrumenttrack")
    if own is None:
        raise ValueError(f"{path}: no instrument track in this preset")
    for tag, switch, kind in (("chordcreator", "chord-enabled", "chord"), ("arpeggiator", "arp-enabled", "arp")):
        function = own.find(tag)
        if function is not None and function.get(switch) == "1" and function.get(kind) != "0":  # 0: octaves
            function.set(switch, "0")
    return own, int(own.get("basenote", DEFAULT_BASENOTE)) - DEFAULT_BASENOTE


@dataclass(frozen=True)
class Material:
    """Notes ``(MIDI, start beats, length beats, gain 0–1)`` at ``bpm``, over ``bars`` 4/4 bars, in ``key``."""

    key: int
    notes: list[tuple[int, float, float, float]]
    bpm: float
    bars: int
    family: str


#: the families of :func:`material` and their shares
FAMILIES = {"held": 0.3, "drone": 0.1, "change": 0.15, "progression": 0.2, "stab": 0.12, "arpeggio": 0.13}


def material(key: int, rng: np.random.Generator) -> Material:
    """Music in ``key`` as packs name it, in one of :data:`FAMILIES`: the tonic chord held 2–8 s (its triad,
    seventh or a colour), a tonic-fifth drone, a slow change from the tonic chord and back
    (:func:`electronic.pad_chords`), one of the training progressions as chords held a bar or struck every
    two beats, beat or eighth, the tonic chord struck once (0.3–1.5 s), or the tonic chord arpeggiated in
    eighths or sixteenths over a held root — voiced as the generator's pads are. 80–170 BPM."""
    bpm = float(rng.uniform(80, 170))
    beat = 60.0 / bpm
    family = str(rng.choice(list(FAMILIES), p=list(FAMILIES.values())))
    minor = keys.is_minor(key)

    def in_beats(segments: list[tuple[float, float, list]]) -> list[tuple[int, float, float, float]]:
        return [(int(m), t0 / beat, (t1 - t0) / beat, g) for t0, t1, voicing in segments for m, g in voicing]

    if family == "held":
        # a triad or seventh 60 % of the time (the seventh drawn only then), else a colour
        quality = (
            electronic.tonic_quality(key, seventh=bool(rng.random() < 0.35))
            if rng.random() < 0.6
            else datagen.tonic_colour(key, rng)
        )
        notes = in_beats([(0.0, float(rng.uniform(2.0, 8.0)), electronic.pad_voicing(key, 0, quality, rng))])
    elif family == "drone":
        notes = in_beats([(0.0, float(rng.uniform(2.0, 8.0)), electronic.drone_voicing(key, rng))])
    elif family == "change":
        notes = in_beats(electronic.pad_chords(key, rng, float(rng.uniform(5.0, 10.0))))
    elif family == "progression":
        progressions = datagen.TRAIN_PROGRESSIONS["minor" if minor else "major"]
        progression = progressions[int(rng.integers(len(progressions)))]
        step = float(rng.choice([4.0, 2.0, 1.0, 0.5]))
        notes = []
        for bar, (degree, quality) in enumerate(progression):
            chord = datagen.chord_pitches(key, degree, quality, octave=3)
            for t in np.arange(0.0, 4.0, step):
                length = 4.0 if step == 4.0 else step * float(rng.uniform(0.5, 0.95))
                start = bar * 4 + float(t)
                notes += [(chord[0] - 12, start, length, 0.9)] + [(p, start, length, 0.7) for p in chord]
    elif family == "stab":
        quality = electronic.tonic_quality(key, seventh=bool(rng.random() < 0.3))
        length = float(rng.uniform(0.3, 1.5)) / beat
        notes = [(int(m), 0.0, length, g) for m, g in electronic.pad_voicing(key, 0, quality, rng)]
    else:
        chord = datagen.chord_pitches(key, 0, electronic.tonic_quality(key, seventh=bool(rng.random() < 0.3)), octave=4)
        tones = chord + [chord[0] + 12]
        step = float(rng.choice([0.5, 0.25]))
        order = rng.permutation(len(tones)) if rng.random() < 0.5 else np.arange(len(tones))
        notes = [(tones[order[i % len(tones)]], i * step, step * 0.9, 0.8) for i in range(int(8 / step))]
        notes.append((chord[0] - 12, 0.0, 8.0, 0.6))
    bars = max(1, int(np.ceil(max(start + length for _, start, length, _ in notes) / 4)))
    return Material(key, notes, bpm, bars, family)


def project(track: ET.Element, shift: int, music: Material) -> str:
    """An LMMS song: ``track`` (:func:`instrument_track`) playing ``music`` from the start, its notes moved
    by ``shift`` semitones (so that they sound as written)."""
    root = ET.Element("lmms-project", version="1.0", creator="sampledex", type="song")
    ET.SubElement(root, "head", timesig_numerator="4", timesig_denominator="4", bpm=f"{music.bpm:.0f}", mastervol="100")
    song_tracks = ET.SubElement(ET.SubElement(root, "song"), "trackcontainer", type="song")
    song_track = ET.SubElement(song_tracks, "track", muted="0", name="preset", solo="0", type="0")
    song_track.append(track)
    pattern = ET.SubElement(
        song_track, "pattern", len=str(music.bars * TICKS_PER_BAR), muted="0", name="", steps="16", pos="0", type="1"
    )
    per_beat = TICKS_PER_BAR // 4
    for midi, start, length, gain in music.notes:
        ET.SubElement(
            pattern,
            "note",
            key=str(midi - 12 + shift),  # LMMS numbers keys from C0, MIDI from C-1
            pos=str(int(round(start * per_beat))),
            len=str(max(1, int(round(length * per_beat)))),
            vol=str(int(round(100 * gain))),
            pan="0",
        )
    return '<?xml version="1.0"?>\n<!DOCTYPE lmms-project>\n' + ET.tostring(root, encoding="unicode")


def lmms_command() -> list[str]:
    """``lmms`` as it must be called here (it refuses to run as root unless told to), or an error."""
    lmms = shutil.which("lmms")
    if lmms is None:
        raise FileNotFoundError("LMMS is not installed (Debian: apt-get install lmms)")
    return [lmms, "--allowroot"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [lmms]


def render(song: str, out: Path) -> bool:
    """Render an LMMS project to ``out``: mono at :data:`SR`, peak 0.9, 16-bit WAV; False when LMMS wrote
    nothing or silence (a preset that needs a sample file it does not find)."""
    import soundfile as sf

    with tempfile.TemporaryDirectory() as tmp:
        mmp, wav = Path(tmp) / "song.mmp", Path(tmp) / "song.wav"
        mmp.write_text(song)
        subprocess.run(
            [*lmms_command(), "render", str(mmp), "-o", str(wav), "-f", "wav"],
            capture_output=True,
            env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),  # no display needed
            timeout=300,
        )
        if not wav.exists():
            return False
        y, sr = sf.read(wav, dtype="float32", always_2d=True)
    mono = frontend.mono_at(y, sr, SR)
    peak = float(np.abs(mono).max()) if mono.size else 0.0
    if peak < 1e-4:
        return False
    sf.write(out, mono * (0.9 / peak), SR, subtype="PCM_16")
    return True


@lru_cache(maxsize=4)
def split_presets(root: str, split: str) -> tuple[Path, ...]:
    """The presets of one split, listed once per process."""
    return tuple(p for p in preset_files(Path(root)) if held_out(p) == (split == "validation"))


def _example(job: tuple[int, int, str, str, str]) -> tuple[str, str, str, str] | None:
    """Render example ``i`` of a set: its row of ``labels.csv``, or None when the preset rendered nothing."""
    i, seed, split, root, folder = job
    rng = np.random.default_rng([seed, i])
    pool = split_presets(root, split)
    preset = pool[int(rng.integers(len(pool)))]
    music = material(int(rng.integers(24)), rng)
    track, shift = instrument_track(preset)
    name = f"{music.family}_{i:05d}.wav"
    if not render(project(track, shift, music), Path(folder) / name):
        return None
    return name, keys.KEY_NAMES[music.key], music.family, str(preset.relative_to(root))


def write_set(
    folder: Path, split: str, count: int, *, seed: int, root: Path = PRESET_ROOT, processes: int = 2, log=print
) -> Path:
    """Render ``count`` examples on the ``split`` presets into ``folder``; returns its ``labels.csv``.

    Each example ``i`` is drawn from ``(seed, i)`` alone, so a set is the same whatever the number of
    processes. A few presets render silence here (those that play a sample file); their examples are left
    out, so the set may hold a little fewer than ``count``.
    """
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is not one of {SPLITS}")
    lmms_command()
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(i, seed, split, str(root), str(folder)) for i in range(count)]
    with get_context("spawn").Pool(processes) as pool:
        rows = [row for row in pool.imap(_example, jobs, chunksize=8) if row is not None]
    labels = folder / "labels.csv"
    with labels.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "key", "family", "preset"])
        writer.writerows(rows)
    log(f"wrote {len(rows)} of {count} examples to {folder} ({split} presets)")
    return labels


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where the WAV files and labels.csv go")
    parser.add_argument("--split", choices=SPLITS, default="train", help="which presets play (default: train)")
    parser.add_argument("--count", type=int, default=2400, help="examples to render (default: 2400)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--presets", type=Path, default=PRESET_ROOT, help=f"LMMS's presets (default: {PRESET_ROOT})")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)
    write_set(args.folder, args.split, args.count, seed=args.seed, root=args.presets, processes=args.processes)


if __name__ == "__main__":
    main()

"""``make libraries``: bring the recorded-instrument libraries the key model trains and validates on.

Development-time data, never fetched at run time. Each library is a public Git repository of recorded
notes or drum hits; :data:`LIBRARIES` says which part of it is used, for what, and under which licence.
They are cloned into ``data/libraries/src/`` (``--mirror DIR`` reads bare snapshots already on disk
instead, ``DIR/<owner>+<name>/repo``, skipping files a snapshot lacks), and each used folder is linked as
``data/libraries/train/<name>`` or ``data/libraries/validation/<name>``: ``make train`` passes every
``train/`` folder to ``sampledex train --library``, ``make evaluate`` every ``validation/`` folder to the
real-instrument validation sets. Training never hears a validation library. Hydrogen's drum kits come from
a Debian package instead (:data:`HYDROGEN`): real drum hits to measure the no-key rules on (``realnotes``).
Real recordings of music whose pieces state their key (:data:`RECORDINGS`) are cut into clips with a
``labels.csv`` under ``data/libraries/recordings/<name>/``: ``make evaluate`` scores both key methods on them.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import soundfile as sf

from sampledex.models.training import sampler


class Library(NamedTuple):
    name: str  # the folder's name under train/ or validation/
    repo: str  # owner/name on GitHub
    folder: str  # the part of the repository used ("" = all of it)
    role: str  # "train" or "validation"
    licence: str
    what: str


LIBRARIES = (
    Library("headroom-piano", "sfzinstruments/BengtNilsson.HeadroomPiano", "Samples", "train", "CC BY 4.0",
            "grand piano, 5 velocity layers, close and far microphones"),
    Library("black-and-green-guitars", "kmturley/karoryfer.black-and-green-guitars", "Samples", "train", "CC0",
            "two electric guitars: plucked, staccato, hammer-on"),
    Library("discord-gm-melodic", "sfzinstruments/Discord-SFZ-GM-Bank", "Discord GM/Melodic", "train",
            "CC0 and CC BY (per instrument)",
            "pianos, electric piano, steel guitar, finger bass, tremolo and pizzicato strings, sitar, bagpipe, "
            "shehnai"),
    Library("muldjord-kit", "sfzinstruments/DrumGizmo.MuldjordKit", "", "train", "CC BY 4.0",
            "a drum kit, every hit from 16 microphones"),
    Library("jrhodes3d", "sfzinstruments/jlearman.jRhodes3d", "", "validation", "samples CC BY-NC 4.0",
            "a Rhodes electric piano (validation only: its samples are licensed non-commercial)"),
    Library("horse-pulse", "sfzinstruments/Karoryfer.HorsePulse", "Samples", "validation", "CC0",
            "a bass tagelharpa played pizzicato: a buzzing folk string"),
    Library("discord-gm-drums", "sfzinstruments/Discord-SFZ-GM-Bank", "Discord GM/Drums", "validation",
            "CC0 and CC BY (per sample)", "a GM drum and percussion kit from many recordings"),
)  # fmt: skip
_AUDIO = (".wav", ".flac", ".aif", ".aiff", ".ogg")


class Recordings(NamedTuple):
    name: str  # the folder's name under recordings/
    repo: str  # owner/name on GitHub
    folder: str  # where in the repository the recordings lie
    licence: str
    what: str
    pieces: tuple[tuple[str, str], ...]  # (file in folder, the key its piece is in)


#: real recordings of music, validation only: the key of each piece from the repository's ATTRIBUTION.md and
#: its BWV number (its file names are a game's room names)
RECORDINGS = (
    Recordings("ishizaka-bach", "Vale717171/archive-of-oblivion", "assets/audio",
               "CC0 (the recordings, per the repository's ATTRIBUTION.md)",
               "Kimiko Ishizaka's piano recordings of Bach: Open Well-Tempered Clavier I, Open Goldberg Variations",
               (("bach_bwv846_soglia.ogg", "C major"),  # WTC I prelude 1, BWV 846
                ("bach_contrapunctus_observatory.ogg", "C major"),  # fugue 1
                ("bach_bwv1008_laboratorio.ogg", "C minor"),  # prelude 2, BWV 847
                ("observatory_calibration_variation.ogg", "C# major"),  # prelude 3, BWV 848
                ("observatory_dome_variation.ogg", "C# major"),  # fugue 3
                ("gallery_dark_variation.ogg", "C# minor"),  # fugue 4, BWV 849
                ("garden_fountain_variation.ogg", "D major"),  # prelude 5, BWV 850
                ("garden_stelae_variation.ogg", "D minor"),  # fugue 6, BWV 851
                ("gallery_mirror_variation.ogg", "Eb major"),  # fugue 7, BWV 852
                ("lab_bain_marie_variation.ogg", "E minor"),  # prelude 10, BWV 855
                ("lab_sealed_variation.ogg", "E minor"),  # fugue 10
                ("bach_aria_goldberg.ogg", "G major"))),  # Goldberg Variations, aria da capo, BWV 988
)  # fmt: skip
#: how much of each end of a piece makes a clip (s): a piece modulates, but begins and ends in its key
CLIP_S = 30.0


class DebianKits(NamedTuple):
    name: str  # the folder's name under train/ or validation/
    package: str  # the Debian package that ships the kits
    folder: str  # where in the package the kits lie, one folder with a drumkit.xml each
    role: str
    licence: str
    what: str


#: Hydrogen's kits, recorded and electronic, arranged by piece from each kit's drumkit.xml (their file names
#: rarely say the piece). Validation only: the real drum hits the no-key rules are measured on
HYDROGEN = DebianKits(
    "hydrogen-kits", "hydrogen-drumkits", "usr/share/hydrogen/data/drumkits", "validation",
    "GPL-2, CC BY 3.0, CC BY-SA 3.0 or CC0 per kit (the package's copyright file)",
    "14 Hydrogen drum and percussion kits: acoustic kits, electronic kits, hand percussion",
)  # fmt: skip
#: words of Hydrogen's instrument names that the sampler's drum words miss (names lower-cased, words joined)
_HYDROGEN_WORDS = {
    "bassdrum": "kick",
    "stick": "snare",
    "tomhi": "tom",
    "ohh": "hat_open",
    "snaps": "clap",
    **dict.fromkeys(("djembe", "cajon", "sangban", "dununba", "kenkeni", "maraca", "waterglass"), "perc"),
}


def _from_mirror(gitdir: Path, dest: Path) -> None:
    """Write a bare snapshot's audio, programs and licences into ``dest``, leaving out blobs it lacks."""
    listing = subprocess.run(["git", f"--git-dir={gitdir}", "ls-tree", "-r", "-z", "HEAD"], capture_output=True)
    for entry in listing.stdout.split(b"\0"):
        if b"\t" not in entry:
            continue
        meta, raw = entry.split(b"\t", 1)
        path = raw.decode()
        if meta.split()[1] != b"blob" or not (path.lower().endswith(_AUDIO) or "licen" in path.lower()):
            continue
        blob = subprocess.run(["git", f"--git-dir={gitdir}", "cat-file", "blob", meta.split()[2].decode()],
                              capture_output=True)  # fmt: skip
        if blob.returncode == 0:
            (dest / path).parent.mkdir(parents=True, exist_ok=True)
            (dest / path).write_bytes(blob.stdout)


def _bring(repo: str, root: Path, mirror: Path | None, log) -> Path:
    """``root/src/<owner>+<name>``: the repository, cloned (or read from a bare snapshot in ``mirror``) if absent."""
    src = root / "src" / repo.replace("/", "+")
    if not src.exists():
        log(f"{repo} -> {src}")
        if mirror is not None:
            _from_mirror(mirror / repo.replace("/", "+") / "repo", src)
        else:
            subprocess.run(["git", "clone", "--depth", "1", f"https://github.com/{repo}", str(src)], check=True)
    return src


def fetch(root: Path, mirror: Path | None = None, log=print) -> None:
    for lib in LIBRARIES:
        src = _bring(lib.repo, root, mirror, log)
        link = root / lib.role / lib.name
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to((src / lib.folder).resolve(), target_is_directory=True)
        log(f"{lib.role:10s} {lib.name}: {lib.what} ({lib.licence})")


def write_clips(source: Path, pieces: Sequence[tuple[str, str]], dest: Path, *, clip_s: float = CLIP_S) -> int:
    """The first and the last ``clip_s`` seconds of each piece in ``source`` as FLAC files in ``dest``, with a
    ``labels.csv`` (path,key; paths relative to it) beside them; a piece no longer than ``clip_s`` is one clip,
    a piece that is not there (over a snapshot's size limit) none. Returns how many clips were written."""
    dest.mkdir(parents=True, exist_ok=True)
    rows = []
    for file, key in pieces:
        if not (source / file).is_file():
            continue
        y, sr = sf.read(source / file, always_2d=True)
        n = int(round(clip_s * sr))
        ends = {"head": y[:n], "tail": y[-n:]} if len(y) > n else {"whole": y}
        for end, clip in ends.items():
            path = dest / f"{Path(file).stem}_{end}.flac"
            sf.write(path, clip, sr)
            rows.append((path.name, key))  # relative to labels.csv
    with open(dest / "labels.csv", "w", newline="") as f:
        csv.writer(f).writerows([("path", "key"), *rows])
    return len(rows)


def fetch_recordings(root: Path, mirror: Path | None = None, log=print) -> None:
    for rec in RECORDINGS:
        src = _bring(rec.repo, root, mirror, log)
        clips = write_clips(src / rec.folder, rec.pieces, root / "recordings" / rec.name)
        log(f"recordings {rec.name}: {rec.what}, {clips} clips of {CLIP_S:.0f} s ({rec.licence})")


def hydrogen_piece(instrument: str) -> str | None:
    """The kit piece a Hydrogen instrument's name says (``'Hi-Hat Open'`` → ``'hat_open'``), or None (an FX, a
    loop slice, an unnamed slot)."""
    words = sampler.words(instrument)
    piece = sampler.drum_piece(Path(instrument.replace("/", " ")))
    if piece == "hat_closed" and any(w.startswith("open") for w in words):  # "Hi Hat Opened"
        return "hat_open"
    if piece is not None:
        return piece
    joined = "".join(words)
    return next((p for word, p in _HYDROGEN_WORDS.items() if word in joined), None)


def arrange_kits(drumkits: Path, dest: Path) -> dict[str, dict[str, int]]:
    """Link every layer of every instrument whose piece its name says as ``dest/<kit>/<piece>_<n><suffix>``, so
    that the sampler (and ``realnotes``) read the piece from the file's name; a sample that several instruments
    use is linked once, under the first. Returns the counts by kit and piece.
    """
    counts: dict[str, dict[str, int]] = {}
    for xml in sorted(drumkits.glob("*/drumkit.xml")):
        kit = xml.parent
        pieces = counts.setdefault(kit.name, {})
        linked: set[Path] = set()
        for instrument in ET.parse(xml).getroot().iterfind(".//{*}instrument"):
            piece = hydrogen_piece(instrument.findtext("{*}name") or "")
            if piece is None:
                continue
            for filename in instrument.iterfind(".//{*}filename"):
                audio = kit / (filename.text or "")
                if not audio.is_file() or audio.resolve() in linked:  # kits reuse a sample in several instruments
                    continue
                linked.add(audio.resolve())
                link = dest / kit.name.replace(" ", "_") / f"{piece}_{pieces.get(piece, 0):03d}{audio.suffix.lower()}"
                pieces[piece] = pieces.get(piece, 0) + 1
                link.parent.mkdir(parents=True, exist_ok=True)
                if not link.is_symlink():
                    link.symlink_to(audio.resolve())
    return counts


def fetch_debian(root: Path, kits: DebianKits = HYDROGEN, log=print) -> None:
    """Download the package (``apt-get download``: no root needed, nothing installed), unpack it under
    ``root/src/``, arrange its kits by piece and link them as ``root/<role>/<name>``."""
    unpacked = root / "src" / kits.package
    if not unpacked.exists():
        log(f"{kits.package} (Debian) -> {unpacked}")
        with tempfile.TemporaryDirectory() as tmp:
            try:
                subprocess.run(["apt-get", "download", kits.package], cwd=tmp, check=True)
                deb = next(Path(tmp).glob("*.deb"))
                subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
            except (OSError, subprocess.CalledProcessError) as e:  # not a Debian system, or no package index
                log(f"{kits.role:10s} {kits.name}: skipped, the Debian package {kits.package} is out of reach ({e})")
                return
    arranged = root / "src" / kits.name
    counts = arrange_kits(unpacked / kits.folder, arranged)
    link = root / kits.role / kits.name
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(arranged.resolve(), target_is_directory=True)
    hits = sum(sum(c.values()) for c in counts.values())
    log(f"{kits.role:10s} {kits.name}: {kits.what}, {hits} hits in {len(counts)} kits ({kits.licence})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="data/libraries", type=Path)
    parser.add_argument("--mirror", type=Path, help="read bare Git snapshots here instead of cloning")
    args = parser.parse_args(argv)
    fetch(args.root, args.mirror)
    fetch_recordings(args.root, args.mirror)
    fetch_debian(args.root)


if __name__ == "__main__":
    main()

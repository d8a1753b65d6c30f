"""``make libraries``: bring the recorded-instrument libraries the key model trains and validates on.

Development-time data, never fetched at run time. Each library is a public Git repository of recorded
notes or drum hits; :data:`LIBRARIES` says which part of it is used, for what, and under which licence.
They are cloned into ``data/libraries/src/`` (``--mirror DIR`` reads bare snapshots already on disk
instead, ``DIR/<owner>+<name>/repo``, skipping files a snapshot lacks), and each used folder is linked as
``data/libraries/train/<name>`` or ``data/libraries/validation/<name>``: ``make train`` passes every
``train/`` folder to ``sampledex train --library``, ``make evaluate`` every ``validation/`` folder to the
real-instrument validation sets. Training never hears a validation library.
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path
from typing import NamedTuple


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


def fetch(root: Path, mirror: Path | None = None, log=print) -> None:
    for lib in LIBRARIES:
        src = root / "src" / lib.repo.replace("/", "+")
        if not src.exists():
            log(f"{lib.repo} -> {src}")
            if mirror is not None:
                _from_mirror(mirror / lib.repo.replace("/", "+") / "repo", src)
            else:
                subprocess.run(["git", "clone", "--depth", "1", f"https://github.com/{lib.repo}", str(src)], check=True)
        link = root / lib.role / lib.name
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to((src / lib.folder).resolve(), target_is_directory=True)
        log(f"{lib.role:10s} {lib.name}: {lib.what} ({lib.licence})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="data/libraries", type=Path)
    parser.add_argument("--mirror", type=Path, help="read bare Git snapshots here instead of cloning")
    args = parser.parse_args(argv)
    fetch(args.root, args.mirror)


if __name__ == "__main__":
    main()

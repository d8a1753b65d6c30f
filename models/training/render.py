"""Render note events through FluidSynth with a General MIDI soundfont, in process.

A renderer keeps state from piece to piece (the chorus LFO's phase, the
position within FluidSynth's 64-sample blocks), so the same notes render
almost, not bit-exactly, alike; labels and the music itself are fully seeded.

Loading a soundfont costs 0.05–3 s (an sf3 decompresses on load), so a
:class:`FluidRenderer` is made once per soundfont and process and renders many
pieces. Debian's packages put the soundfonts under ``/usr/share/sounds``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from sampledex.models.errors import SampledexError

from .synth import Note

SOUNDFONT_DIRS = ("/usr/share/sounds/sf2", "/usr/share/sounds/sf3")
#: training soundfonts (Debian fluid-soundfont-gm, timgm6mb-soundfont)
TRAIN_SOUNDFONTS = ("FluidR3_GM.sf2", "TimGM6mb.sf2")
#: held out of training: evaluation renders with it (Debian musescore-general-soundfont-small)
EVAL_SOUNDFONT = "MuseScore_General_Lite.sf3"
DRUM_CHANNEL = 9


class SoundfontMissing(SampledexError, FileNotFoundError):
    """A soundfont the project's setup should have installed is not there."""


def soundfont_path(name: str) -> Path:
    for folder in SOUNDFONT_DIRS:
        path = Path(folder) / name
        if path.exists():
            return path
    raise SoundfontMissing(
        f"soundfont {name} not found in {SOUNDFONT_DIRS}: run `make setup` "
        "(it installs fluid-soundfont-gm, timgm6mb-soundfont, musescore-general-soundfont-small)"
    )


class FluidRenderer:
    """One FluidSynth instance with one soundfont loaded, rendering mono float32 at ``sr`` Hz."""

    #: a General MIDI soundfont plays every program and the drum kit (a :class:`sampler.Sampler` may lack one)
    has_instruments = True
    has_drums = True

    def __init__(self, soundfont: str, sr: int = 22050):
        import fluidsynth  # pyfluidsynth; imported here so the pipeline never needs it

        self.sr = sr
        self.synth = fluidsynth.Synth(samplerate=float(sr), gain=0.5)
        self.sfid = self.synth.sfload(str(soundfont_path(soundfont)))
        if self.sfid < 0:
            raise SoundfontMissing(f"FluidSynth could not load {soundfont}")
        self.name = soundfont

    def render(
        self, notes: list[Note], duration: float, *, program: int = 0, drums: bool = False, tail: float = 0.0
    ) -> np.ndarray:
        """Play ``notes`` on one GM ``program`` (or the drum kit) for ``duration`` + ``tail`` seconds.

        Returns
        -------
        np.ndarray [shape=(round((duration + tail) * sr),), dtype=float32], not normalised.
        """
        channel = DRUM_CHANNEL if drums else 0
        self.synth.program_select(channel, self.sfid, 128 if drums else 0, 0 if drums else program)
        events = []
        for n in notes:
            key = int(round(n.midi))
            if not 0 <= key <= 127:
                continue
            events.append((n.onset, 1, key, int(np.clip(n.velocity * 127, 1, 127))))
            events.append((n.onset + n.duration, 0, key, 0))
        events.sort(key=lambda e: (e[0], e[1]))
        total = int(round((duration + tail) * self.sr))
        chunks, done = [], 0
        for time, on, key, velocity in events:
            at = min(total, int(round(time * self.sr)))
            if at > done:
                chunks.append(self.synth.get_samples(at - done))
                done = at
            if on:
                self.synth.noteon(channel, key, velocity)
            else:
                self.synth.noteoff(channel, key)
        if total > done:
            chunks.append(self.synth.get_samples(total - done))
        self.synth.all_sounds_off(channel) if hasattr(self.synth, "all_sounds_off") else None
        for key in range(128):  # nothing rings into the next piece
            self.synth.noteoff(channel, key)
        self.synth.get_samples(int(0.5 * self.sr))
        stereo = np.concatenate(chunks).astype(np.float32).reshape(-1, 2) if chunks else np.zeros((0, 2))
        return (stereo.mean(axis=1) / 32768.0).astype(np.float32)

    def close(self) -> None:
        self.synth.delete()


@lru_cache(maxsize=4)
def renderer(soundfont: str, sr: int = 22050) -> FluidRenderer:
    """A renderer per soundfont, loaded once per process."""
    return FluidRenderer(soundfont, sr)

"""Shared fixtures: small seeded sample libraries written by the project's own code."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from sampledex.pipeline import demo


@pytest.fixture(scope="session")
def small_library(tmp_path_factory):
    """Ten seeded samples (two of each kind) in mixed formats, plus their specs."""
    specs = demo.library_specs(10, seed=11, key_order=("A minor", "C major"), max_seconds=4.0)
    folder = demo.write_library(tmp_path_factory.mktemp("library"), specs)
    return folder, specs


def write_tone(path, *, seconds: float = 0.5, sr: int = 22050, freq: float = 440.0, channels: int = 1,
               fmt: str | None = None, subtype: str | None = None) -> None:
    """A sine tone file (for tests that need any valid audio)."""
    t = np.arange(int(seconds * sr)) / sr
    y = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    sf.write(path, np.repeat(y[:, None], channels, axis=1), sr, format=fmt, subtype=subtype)

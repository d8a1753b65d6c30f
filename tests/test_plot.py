"""``sampledex plot``: the catalog's pictures draw what DuckDB counts; one file's picture is drawn from its audio."""

from __future__ import annotations

import io
import math
import shutil
from collections import Counter

import fsspec
import numpy as np
import pytest
import soundfile as sf

from sampledex.models import keys
from sampledex.models.errors import UsageError
from sampledex.models.training import synth
from sampledex.pipeline import catalog as catalog_mod
from sampledex.pipeline import plot, run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path, *, min_bytes: int = 10_000, min_pixels: tuple[int, int] = (400, 300)) -> None:
    """``path`` is a whole PNG image of at least ``min_pixels`` (width, height) and ``min_bytes``."""
    from PIL import Image

    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert len(data) > min_bytes, f"{path} holds only {len(data)} bytes"
    with Image.open(path) as image:
        image.verify()  # reads every chunk and checks its CRC: a truncated file fails here
    with Image.open(path) as image:
        assert image.size[0] >= min_pixels[0] and image.size[1] >= min_pixels[1], image.size


def binned(values: list[float], width: float) -> Counter:
    """Counts per bin ``[lo, lo + width)``, computed in Python to check DuckDB's GROUP BY."""
    return Counter(float(math.floor(v / width) * width) for v in values)


def rows(con, where: str) -> int:
    """How many rows of ``samples`` match ``where``."""
    return con.sql(f"SELECT count(*) FROM samples WHERE {where}").fetchall()[0][0]


@pytest.fixture(scope="module")
def indexed(small_library, client, tmp_path_factory) -> catalog_mod.Catalog:
    """The small library plus one file that is not audio (an error row), indexed with the default key method."""
    folder, _ = small_library
    lib = tmp_path_factory.mktemp("plot") / "lib"
    shutil.copytree(folder, lib)
    (lib / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    cat = catalog_mod.Catalog(lib.parent / "catalog")
    run.run_index([str(lib)], cat, client=client, progress=False)
    return cat


@pytest.fixture()
def con(indexed):
    return indexed.connect()


def test_plot_catalog_writes_three_pngs_into_a_new_folder(con, tmp_path):
    import matplotlib.pyplot as plt

    figures_before = plt.get_fignums()
    out = tmp_path / "plots" / "catalog"
    written = plot.plot_catalog(con, out)
    assert written == [out / name for name in ("keywheel.png", "tempo.png", "loudness.png")]
    for path in written:
        assert_png(path)
    assert plt.get_fignums() == figures_before  # nothing registered with pyplot


def test_wheel_counts_are_the_catalogs_keys_per_camelot_code(con):
    counts = plot.wheel_counts(con)
    assert set(counts) == {keys.camelot(i) for i in range(keys.NUM_KEYS)}
    by_sql = dict(con.sql("SELECT camelot, count(*) FROM samples WHERE camelot IS NOT NULL GROUP BY 1").fetchall())
    assert by_sql, "the library should have keyed samples"
    assert {code: n for code, n in counts.items() if n} == by_sql
    assert sum(counts.values()) == rows(con, "key IS NOT NULL")
    # each code is its row's key on the project's own wheel
    for key, code in con.sql("SELECT DISTINCT key, camelot FROM samples WHERE key IS NOT NULL").fetchall():
        assert keys.camelot(keys.parse_key(key)) == code


def test_tempo_histogram_counts_the_loops_and_the_one_shots(con):
    summary = plot.tempo_histogram(con, width=plot.TEMPO_BIN_BPM)
    bpms = [r[0] for r in con.sql("SELECT bpm FROM samples WHERE kind = 'loop' AND bpm IS NOT NULL").fetchall()]
    assert bpms, "the library should have loops with a tempo"
    assert summary.loops.counts == binned(bpms, plot.TEMPO_BIN_BPM)
    assert summary.loops.total == len(bpms)
    assert summary.one_shots == rows(con, "kind = 'one-shot'") > 0
    assert summary.loops_without_bpm == rows(con, "kind = 'loop' AND bpm IS NULL")


def test_loudness_histograms_by_kind(con):
    histograms = plot.loudness_histograms(con, width=plot.LOUDNESS_BIN_LU)
    values = con.sql("SELECT kind, loudness_lufs FROM samples WHERE loudness_lufs IS NOT NULL").fetchall()
    by_kind: dict[str, list[float]] = {}
    for kind, lufs in values:
        by_kind.setdefault(kind or plot.UNKNOWN_KIND, []).append(lufs)
    assert set(histograms) == set(by_kind) == {"loop", "one-shot"}  # the error row has no loudness
    for kind, values in by_kind.items():
        assert histograms[kind].counts == binned(values, plot.LOUDNESS_BIN_LU)
        assert histograms[kind].median == pytest.approx(float(np.median(values)))


def test_an_empty_catalog_still_gets_its_pngs(tmp_path):
    cat = catalog_mod.Catalog(tmp_path / "catalog")
    cat.create()
    con = cat.connect()
    written = plot.plot_catalog(con, tmp_path / "out")
    assert [p.name for p in written] == list(plot.CATALOG_PLOTS)
    for path in written:
        assert_png(path, min_bytes=5_000)
    assert plot.wheel_counts(con) == {keys.camelot(i): 0 for i in range(keys.NUM_KEYS)}
    assert plot.tempo_histogram(con) == plot.TempoSummary(plot.Histogram(plot.TEMPO_BIN_BPM), 0, 0)
    assert plot.loudness_histograms(con) == {}


@pytest.fixture(scope="module")
def loop_wav(tmp_path_factory):
    """A seeded two-bar tonal loop in A minor at 22 050 Hz, stereo, with spaces in its name."""
    sr = 22050
    y = synth.tonal_loop(keys.parse_key("A minor"), bpm=120.0, bars=2, sr=sr, rng=np.random.default_rng(3))
    path = tmp_path_factory.mktemp("one") / "tonal loop Am.wav"
    sf.write(path, np.stack([y, 0.5 * y], axis=1).astype(np.float32), sr, subtype="PCM_16")
    return path


@pytest.mark.parametrize("key_method", ["cnn", "classic"])
def test_plot_file_writes_the_stem_png(loop_wav, tmp_path, key_method):
    out = tmp_path / "new" / "folder"
    written = plot.plot_file(str(loop_wav), out, key_method=key_method)
    assert written == out / "tonal loop Am.png"
    assert_png(written, min_bytes=50_000, min_pixels=(1000, 1000))


def test_plot_file_reads_fsspec_urls(tmp_path):
    """A short one-shot held in fsspec's memory filesystem: the URL's last part names the PNG."""
    sr = 44100
    y = synth.single_note(57, duration=0.4, sr=sr)
    buf = io.BytesIO()
    sf.write(buf, y.astype(np.float32), sr, format="WAV")
    url = "memory://plot-test/pack/note A3.wav"
    fs = fsspec.filesystem("memory")
    fs.pipe(url, buf.getvalue())
    try:
        written = plot.plot_file(url, tmp_path, key_method="classic", storage_options={})
    finally:
        fs.rm("memory://plot-test", recursive=True)
    assert written == tmp_path / "note A3.png"
    assert_png(written, min_bytes=50_000)


def test_plot_file_refuses_an_unknown_key_method(loop_wav, tmp_path):
    with pytest.raises(UsageError, match="'madmom'"):
        plot.plot_file(str(loop_wav), tmp_path / "out", key_method="madmom")
    assert not (tmp_path / "out").exists()

"""Pictures for a person: what a catalog holds, and what the analysis saw in one sample.

catalog ──► DuckDB aggregates (GROUP BY) ──► keywheel.png, tempo.png, loudness.png
one file ──► decode ──► mono at 22 050 Hz ──► log-frequency spectrogram ──► chroma, CNN, classic ──► <stem>.png

DuckDB does every count (the functions :func:`wheel_counts`, :func:`tempo_histogram`
and :func:`loudness_histograms` return exactly what is drawn); Python only draws.
Figures are :class:`matplotlib.figure.Figure` objects saved directly, never
``pyplot``: no global figure registry, no backend switch, nothing left behind
in a process (a notebook or a long-lived worker) that calls these functions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np

from sampledex.models import frontend, keys
from sampledex.models.classic import ClassicKeyEstimator, key_correlations, pitch_class_profile
from sampledex.models.cnn import CNNKeyEstimator
from sampledex.models.errors import UsageError
from sampledex.models.keys import KeyEstimate
from sampledex.models.kind import LOOP, ONE_SHOT

from .defaults import DEFAULT_KEY_METHOD, KEY_METHODS

if TYPE_CHECKING:
    import duckdb
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: file names :func:`plot_catalog` writes, in this order
CATALOG_PLOTS = ("keywheel.png", "tempo.png", "loudness.png")
#: width of a tempo histogram bin (BPM)
TEMPO_BIN_BPM = 5.0
#: width of a loudness histogram bin (LU)
LOUDNESS_BIN_LU = 2.0
#: resolution of every PNG (dots per inch)
DPI = 100
#: floor of the spectrogram's colour scale, below its loudest cell (dB)
SPECTROGRAM_RANGE_DB = 80.0
#: most points drawn for a waveform: longer signals are drawn as a min/max envelope
WAVEFORM_POINTS = 4000
#: what an empty catalog's plots say
NO_ROWS = "no rows"
#: the label ``kind`` gets where a row has none (an error row, or a catalog written before kinds)
UNKNOWN_KIND = "unknown"
_KIND_COLOURS = {LOOP: "tab:blue", ONE_SHOT: "tab:orange", UNKNOWN_KIND: "tab:gray"}

# -- the catalog's aggregates (DuckDB counts, Python draws) ----------------------

# key_wheel (sql/keys.sql) is the catalog's own table of the 24 keys and their Camelot codes:
# joining on it gives every code, the empty ones with 0, in one query.
_WHEEL_SQL = """
SELECT w.camelot, count(s.camelot) AS n
FROM key_wheel AS w LEFT JOIN samples AS s ON s.camelot = w.camelot
GROUP BY w.camelot, w.camelot_letter, w.camelot_number
ORDER BY w.camelot_letter, w.camelot_number
"""
_ROWS_SQL = """
SELECT count(*) AS n_rows,
       count(*) FILTER (WHERE error IS NULL AND key IS NULL) AS n_keyless,
       count(*) FILTER (WHERE error IS NOT NULL) AS n_errors
FROM samples
"""
_TEMPO_SQL = """
SELECT floor(bpm / $width) * $width AS lo, count(*) AS n
FROM samples
WHERE kind = $loop AND isfinite(bpm)
GROUP BY lo ORDER BY lo
"""
_TEMPO_OTHERS_SQL = """
SELECT count(*) FILTER (WHERE kind = $one_shot) AS n_one_shots,
       count(*) FILTER (WHERE kind = $loop AND (bpm IS NULL OR NOT isfinite(bpm))) AS n_loops_without_bpm
FROM samples
"""
_LOUDNESS_SQL = """
SELECT coalesce(kind, $unknown) AS kind, floor(loudness_lufs / $width) * $width AS lo, count(*) AS n
FROM samples
WHERE isfinite(loudness_lufs)
GROUP BY ALL ORDER BY kind, lo
"""
_LOUDNESS_MEDIAN_SQL = """
SELECT coalesce(kind, $unknown) AS kind, median(loudness_lufs) AS median_lufs
FROM samples
WHERE isfinite(loudness_lufs)
GROUP BY ALL
"""


@dataclass(frozen=True)
class Histogram:
    """Counts in equal-width bins: ``counts[lo]`` values fell in ``[lo, lo + width)``.

    ``width`` and the bin edges are in the unit of the value (BPM, LUFS);
    empty bins are absent from ``counts``. ``median`` is the values' median, in
    the same unit, where it was asked for.
    """

    width: float
    counts: dict[float, int] = field(default_factory=dict)
    median: float | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class TempoSummary:
    """What ``tempo.png`` draws: the loops' tempo histogram, and the rows it cannot hold."""

    loops: Histogram
    one_shots: int
    loops_without_bpm: int


def wheel_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per Camelot code, for all 24 codes (0 where none).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        a catalog connection (:meth:`Catalog.connect`), with views ``samples`` and ``key_wheel``.

    Returns
    -------
    dict[str, int]
        ``{"1A": n, …, "12A": n, "1B": n, …, "12B": n}``; rows without a key
        (errors, drums) are in no code.
    """
    return {code: int(n) for code, n in con.execute(_WHEEL_SQL).fetchall()}


def tempo_histogram(con: duckdb.DuckDBPyConnection, *, width: float = TEMPO_BIN_BPM) -> TempoSummary:
    """The loops' tempi in ``width``-BPM bins, and how many rows have no tempo to draw.

    Only loops have a tempo (``bpm`` is NULL for one-shots), so the histogram
    is of loops and the one-shots are a count beside it.
    """
    params = {"width": width, "loop": LOOP}
    counts = {float(lo): int(n) for lo, n in con.execute(_TEMPO_SQL, params).fetchall()}
    # fetchall, not fetchone: a result left unread keeps the connection busy for the next query
    [(one_shots, without_bpm)] = con.execute(_TEMPO_OTHERS_SQL, {"loop": LOOP, "one_shot": ONE_SHOT}).fetchall()
    return TempoSummary(Histogram(width, counts), int(one_shots), int(without_bpm))


def loudness_histograms(con: duckdb.DuckDBPyConnection, *, width: float = LOUDNESS_BIN_LU) -> dict[str, Histogram]:
    """Integrated loudness (LUFS) in ``width``-LU bins, per ``kind``.

    Rows without a loudness (errors, digital silence) are left out; rows
    without a kind count as :data:`UNKNOWN_KIND`. Each histogram carries its
    kind's median loudness (LUFS).
    """
    by_kind: dict[str, dict[float, int]] = {}
    for kind, lo, n in con.execute(_LOUDNESS_SQL, {"width": width, "unknown": UNKNOWN_KIND}).fetchall():
        by_kind.setdefault(kind, {})[float(lo)] = int(n)
    medians = dict(con.execute(_LOUDNESS_MEDIAN_SQL, {"unknown": UNKNOWN_KIND}).fetchall())
    return {kind: Histogram(width, counts, float(medians[kind])) for kind, counts in by_kind.items()}


def _row_counts(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int]:
    """(rows, rows analysed without a key, error rows) of ``samples``."""
    [(rows, keyless, errors)] = con.execute(_ROWS_SQL).fetchall()  # an aggregate: exactly one row
    return int(rows), int(keyless), int(errors)


# -- the catalog's figures --------------------------------------------------------


def plot_catalog(con: duckdb.DuckDBPyConnection, out: Path) -> list[Path]:
    """Draw a catalog's keys, tempi and loudness as PNGs in ``out`` (made if missing).

    Writes ``keywheel.png`` (rows per key on a Camelot wheel), ``tempo.png``
    (loops per tempo, BPM) and ``loudness.png`` (rows per integrated loudness,
    LUFS, by kind). An empty catalog still gets all three, each saying
    :data:`NO_ROWS`.

    Returns
    -------
    list[Path]
        the files written, in :data:`CATALOG_PLOTS` order.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = _row_counts(con)
    figures = (
        _keywheel_figure(wheel_counts(con), rows),
        _tempo_figure(tempo_histogram(con), rows[0]),
        _loudness_figure(loudness_histograms(con), rows[0]),
    )
    return [_save(fig, out / name) for fig, name in zip(figures, CATALOG_PLOTS)]


def _new_figure(width_in: float, height_in: float) -> Figure:
    # imported here: the CLI starts without matplotlib, and only `plot` pays for it
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), layout="constrained")


def _save(fig: Figure, path: Path) -> Path:
    # a Figure made without pyplot renders through Agg for PNG: no backend is chosen globally
    fig.savefig(path, dpi=DPI, format="png")
    return path


def _say_empty(ax: Axes, message: str) -> None:
    """``message`` in the middle of an axes with nothing to draw; its meaningless 0–1 tick labels hidden."""
    ax.tick_params(labelbottom=False, labelleft=False, length=0)
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", fontsize=14, color="0.4")


def _short_name(index: int) -> str:
    """``"A minor"`` -> ``"Am"``, ``"C major"`` -> ``"C"``: what fits in a wheel cell."""
    name = keys.KEY_NAMES[index]
    return name.replace(" major", "").replace(" minor", "m")


def _keywheel_figure(counts: dict[str, int], rows: tuple[int, int, int]) -> Figure:
    """Rows per key on a Camelot wheel: majors (``B``) outside, minors (``A``) inside, 12 at the top.

    Neighbouring cells are a fifth apart and a cell's inner neighbour is its
    relative key: the keys that mix well sit next to each other.
    """
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.patches import Wedge

    n_rows, n_keyless, n_errors = rows
    fig = _new_figure(7.5, 7.0)
    ax = fig.add_subplot()
    cmap = colormaps["Blues"]
    # a floor of 1 keeps an empty wheel white rather than dividing by zero
    norm = Normalize(vmin=0, vmax=max(1, *counts.values()))
    rings = {"B": (0.68, 1.0), "A": (0.36, 0.68)}  # (inner, outer) radius per Camelot letter
    for code, n in counts.items():
        number, letter = int(code[:-1]), code[-1]
        inner, outer = rings[letter]
        # clockwise from 12 o'clock, as Camelot wheels are printed: code 12 at 90°, code 1 at 60°
        centre_deg = 90.0 - 30.0 * number
        ax.add_patch(
            Wedge(
                (0, 0),
                outer,
                centre_deg - 15,
                centre_deg + 15,
                width=outer - inner,
                facecolor=cmap(norm(n)),
                edgecolor="white",
                linewidth=1.5,
            )
        )
        radius, angle = (inner + outer) / 2, np.deg2rad(centre_deg)
        ink = "white" if norm(n) > 0.6 else "black"
        ax.text(
            radius * np.cos(angle),
            radius * np.sin(angle),
            f"{code}\n{_short_name(keys.from_camelot(code))}\n{n}",
            ha="center",
            va="center",
            fontsize=8,
            color=ink,
            linespacing=1.1,
        )
    errors = f"{n_errors} error{'' if n_errors == 1 else 's'}"
    centre = NO_ROWS if n_rows == 0 else f"{sum(counts.values())} with a key\n{n_keyless} without a key\n{errors}"
    ax.text(0, 0, centre, ha="center", va="center", fontsize=10 if n_rows else 14, color="0.3")
    ax.set_xlim(-1.05, 1.05)
    ax.set_ylim(-1.05, 1.05)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"Keys of {n_rows} rows on the Camelot wheel\nouter ring major (B), inner ring minor (A)")
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.7, label="samples per key")
    return fig


def _tempo_figure(tempo: TempoSummary, n_rows: int) -> Figure:
    """The loops' tempo histogram (BPM); the one-shots, which have no tempo, are counted in the legend."""
    from matplotlib.patches import Patch

    fig = _new_figure(8.0, 4.5)
    ax = fig.add_subplot()
    hist = tempo.loops
    label = f"loops (n = {hist.total})"
    if tempo.loops_without_bpm:
        label += f"; {tempo.loops_without_bpm} more without a tempo"
    if hist.counts:
        ax.bar(list(hist.counts), list(hist.counts.values()), width=hist.width, align="edge", label=label)
    else:
        _say_empty(ax, NO_ROWS if n_rows == 0 else "no loop has a tempo")
    # an invisible patch puts the one-shot count in the legend, where a reader looks for what is drawn
    handles = ax.get_legend_handles_labels()[0]
    handles.append(Patch(facecolor="none", edgecolor="none", label=f"one-shots: {tempo.one_shots} (no tempo)"))
    ax.legend(handles=handles, loc="upper right")
    _label_counts(ax, "tempo (BPM)", "loops", f"Tempo of loops ({hist.width:g} BPM bins; {tempo.one_shots} one-shots)")
    return fig


def _loudness_figure(by_kind: dict[str, Histogram], n_rows: int) -> Figure:
    """Integrated loudness (LUFS) histograms, stacked by kind, with each kind's median in the legend."""
    fig = _new_figure(8.0, 4.5)
    ax = fig.add_subplot()
    if not by_kind:
        _say_empty(ax, NO_ROWS if n_rows == 0 else "no row has a loudness")
    edges = sorted({lo for hist in by_kind.values() for lo in hist.counts})
    below = dict.fromkeys(edges, 0)  # stacked: each kind's bars start on the kinds drawn before it
    width = LOUDNESS_BIN_LU
    for kind in sorted(by_kind, key=lambda k: (k not in _KIND_COLOURS, k)):
        hist = by_kind[kind]
        width = hist.width
        heights = [hist.counts.get(lo, 0) for lo in edges]
        ax.bar(
            edges,
            heights,
            width=hist.width,
            bottom=[below[lo] for lo in edges],
            align="edge",
            color=_KIND_COLOURS.get(kind),
            edgecolor="white",
            label=f"{kind} (n = {hist.total}, median {hist.median:.1f} LUFS)",
        )
        for lo, h in zip(edges, heights):
            below[lo] += h
    if by_kind:
        ax.legend(loc="upper left")
    _label_counts(ax, "integrated loudness (LUFS, ITU-R BS.1770)", "samples", f"Loudness by kind ({width:g} LU bins)")
    return fig


def _label_counts(ax: Axes, xlabel: str, ylabel: str, title: str) -> None:
    """Labels, title and a light grid for a histogram of counts, whose y ticks are whole numbers."""
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)


# -- one sample -------------------------------------------------------------------


def plot_file(
    url: str, out: Path, *, key_method: str = DEFAULT_KEY_METHOD, storage_options: dict | None = None
) -> Path:
    """Draw what the analysis sees in one file as ``<stem>.png`` in ``out`` (made if missing).

    Four panels: the waveform of the analysis mono (amplitude, full scale,
    over time in s); its log-frequency spectrogram (the key models' input:
    frequency in Hz on a log axis, level in dB below its loudest cell); its
    chromagram (pitch class over time in s); and, side by side, the CNN's 25
    class probabilities (24 keys, the chroma's evidence counted as the key
    is read, and "no key") and the classic method's 24
    Pearson correlations. The title names the file and both methods' keys,
    ``key_method``'s first.

    Parameters
    ----------
    url : str
        a local path or fsspec URL, read as ``sampledex index`` reads it
        (:func:`decode.load`: the same excerpt bound and repairs).
    key_method : str
        ``"cnn"`` or ``"classic"``: the method whose key the title gives first.
    storage_options : dict, optional
        passed to fsspec unchanged (S3 endpoint, credentials).

    Raises
    ------
    UsageError
        if ``key_method`` is not one of :data:`KEY_METHODS`.
    decode.DecodeError, OSError
        if the file cannot be read or decoded.
    """
    if key_method not in KEY_METHODS:
        raise UsageError(f"key method {key_method!r} is not one of {KEY_METHODS}")
    from . import analyze, decode  # the heavy part of the pipeline, only for this command

    audio = decode.load(url, storage_options=storage_options)
    mono = decode.to_analysis_mono(audio)
    S = frontend.logfreq_spectrogram(mono)
    cnn = analyze.key_estimator("cnn")  # cached: the weights are read once per process
    assert isinstance(cnn, CNNKeyEstimator)  # "cnn" is always the CNN; the protocol has no probabilities()
    classic = ClassicKeyEstimator()
    probabilities = cnn.with_chroma(S, cnn.probabilities(S))  # what its key is read from
    correlations = key_correlations(pitch_class_profile(S))
    # the same rule as the catalog's (analyze.estimate_key): a clip too short to hold a pitch gets no key
    too_short = audio.analysed_s < analyze.MIN_KEY_SECONDS
    estimates = {
        "cnn": KeyEstimate(None, 0.0) if too_short else cnn(S),
        "classic": KeyEstimate(None, 0.0) if too_short else classic(S),
    }
    name = _file_name(url)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fig = _file_figure(name, mono, S, probabilities, correlations, estimates, key_method)
    return _save(fig, out / f"{PurePosixPath(name).stem or 'sample'}.png")


def _file_name(url: str) -> str:
    """The last part of a path or URL (``s3://b/x/kick.wav`` -> ``kick.wav``)."""
    return PurePosixPath(url.replace(os.sep, "/").rstrip("/")).name or url


def _key_text(method: str, estimate: KeyEstimate) -> str:
    measure = "p" if method == "cnn" else "r"
    if estimate.index is None:
        return f"{method}: no key"
    return f"{method}: {estimate.name} ({estimate.camelot}, {measure} = {estimate.confidence:.2f})"


def _envelope(y: np.ndarray, points: int = WAVEFORM_POINTS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-block minimum and maximum of ``y``, so a long signal draws as fast as a short one.

    Returns (first sample index of each block, minima, maxima); a signal of at
    most ``points`` samples is returned as is (minima = maxima = ``y``).
    """
    if y.size <= points:
        return np.arange(y.size), y, y
    block = -(-y.size // points)  # ceiling division: at most `points` blocks
    padded = np.concatenate([y, np.full(block * points - y.size, y[-1], dtype=y.dtype)])
    blocks = padded.reshape(points, block)
    return np.arange(points) * block, blocks.min(axis=1), blocks.max(axis=1)


def _file_figure(
    name: str,
    mono: np.ndarray,
    S: np.ndarray,
    probabilities: np.ndarray,
    correlations: np.ndarray,
    estimates: dict[str, KeyEstimate],
    key_method: str,
) -> Figure:
    sr, fps = frontend.SAMPLE_RATE, frontend.FPS
    fig = _new_figure(13.0, 13.0)
    grid = fig.add_gridspec(4, 2, height_ratios=(1.0, 1.6, 1.0, 1.3))
    frame_edges_s = np.maximum((np.arange(S.shape[1] + 1) - 0.5) / fps, 0.0)  # frame t is centred on t / FPS s
    duration_s = max(mono.size / sr, frame_edges_s[-1])

    ax = fig.add_subplot(grid[0, :])
    start, lo, hi = _envelope(mono)
    if lo is hi:
        ax.plot(start / sr, mono, linewidth=0.6)
    else:
        ax.fill_between(start / sr, lo, hi, linewidth=0.3)
    ax.set_xlim(0, duration_s)
    ax.set_ylabel("amplitude (full scale)")
    ax.set_xlabel("time (s)")
    ax.set_title(f"waveform (mono, {sr} Hz)")

    ax = fig.add_subplot(grid[1, :])
    # bin k is centred on FMIN * 2**(k/24) Hz; its edges are half a bin either side
    freq_edges_hz = frontend.FMIN * 2.0 ** ((np.arange(S.shape[0] + 1) - 0.5) / frontend.BINS_PER_OCTAVE)
    level_db = 20.0 * np.log10(np.maximum(S, np.finfo(np.float32).tiny) / max(float(S.max()), 1e-30))
    mesh = ax.pcolormesh(
        frame_edges_s, freq_edges_hz, level_db, vmin=-SPECTROGRAM_RANGE_DB, vmax=0.0, cmap="magma", shading="flat"
    )
    ax.set_yscale("log")
    ax.set_ylim(freq_edges_hz[0], freq_edges_hz[-1])
    ax.set_xlim(0, duration_s)
    # the octaves' Cs as ticks: the axis reads in Hz and in notes at once
    octave_hz = frontend.FMIN * 2.0 ** np.arange(frontend.NUM_OCTAVES + 1)
    ax.set_yticks(octave_hz, [f"{f:.0f} (C{2 + i})" for i, f in enumerate(octave_hz)])
    ax.minorticks_off()
    ax.set_ylabel("frequency (Hz)")
    ax.set_xlabel("time (s)")
    ax.set_title(f"log-frequency spectrogram ({frontend.BINS_PER_OCTAVE} bins per octave, {fps} frames/s)")
    fig.colorbar(mesh, ax=ax, label="level (dB re loudest cell)")

    ax = fig.add_subplot(grid[2, :])
    chroma = frontend.chroma(S)
    # each frame scaled to its own maximum: the pattern of pitch classes matters for key, not the level
    peak = chroma.max(axis=0, keepdims=True)
    chroma = np.divide(chroma, peak, out=np.zeros_like(chroma), where=peak > 0)
    image = ax.pcolormesh(frame_edges_s, np.arange(13) - 0.5, chroma, vmin=0, vmax=1, cmap="viridis", shading="flat")
    ax.set_yticks(range(12), keys.TONICS)
    ax.set_xlim(0, duration_s)
    ax.set_ylabel("pitch class")
    ax.set_xlabel("time (s)")
    ax.set_title("chromagram")
    fig.colorbar(image, ax=ax, label="energy (re frame maximum)")

    labels = [_short_name(i) for i in range(keys.NUM_KEYS)]
    ax = fig.add_subplot(grid[3, 0])
    _key_bars(ax, probabilities, labels + ["none"], estimates["cnn"].index, keys.NO_KEY)
    ax.set_ylim(0, 1)
    ax.set_ylabel("probability")
    ax.set_title("CNN, the chroma's evidence counted: 25 class probabilities")

    ax = fig.add_subplot(grid[3, 1])
    _key_bars(ax, correlations, labels, estimates["classic"].index, None)
    ax.set_ylim(-1, 1)
    ax.axhline(0, color="0.5", linewidth=0.6)
    ax.set_ylabel("Pearson r")
    ax.set_title("classic (Krumhansl–Schmuckler): 24 key correlations")

    order = [key_method] + [m for m in KEY_METHODS if m != key_method]
    fig.suptitle(f"{name}\n" + "   ·   ".join(_key_text(m, estimates[m]) for m in order), fontsize=13)
    return fig


def _key_bars(ax: Axes, values: np.ndarray, labels: list[str], chosen: int | None, no_key: int | None) -> None:
    """One bar per class; the method's answer (``chosen``, or ``no_key`` when it found none) stands out."""
    winner = chosen if chosen is not None else no_key
    colours = [
        "tab:red" if i == winner else "tab:blue" if i < keys.NUM_KEYS else "tab:gray" for i in range(len(values))
    ]
    ax.bar(range(len(values)), values, color=colours)
    ax.set_xticks(range(len(values)), labels, rotation=90, fontsize=8)
    ax.set_xlim(-0.6, len(values) - 0.4)
    ax.set_xlabel("key (majors, then minors)")
    ax.grid(axis="y", alpha=0.3)

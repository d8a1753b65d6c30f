""" "More like this" and duplicates: the embedding (models/embedding.py), the catalog's ``FLOAT[47]`` column,
``similar`` (pipeline/similar.py, ``sampledex similar``) and the duplicate views (sql/duplicates.sql,
``sampledex duplicates``), on seeded audio whose kind is known because it was synthesised here.

The end-to-end parts index with the real command (``sampledex index`` on 2 local workers) once per module.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from sampledex.models import embedding, frontend, keys, onsets
from sampledex.models.training import synth
from sampledex.pipeline import analyze, catalog, decode, features, schema, similar
from sampledex.pipeline.tools import demo

from conftest import run_cli

#: at least this many of a file's 5 nearest rows must be of its kind (the acceptance rule)
NEAREST, NEED = 5, 4
#: cosine above which two vectors count as the same sound's
SAME = 0.999


# -- material -----------------------------------------------------------------------------------------------


def wav_bytes(y: np.ndarray, sr: int, subtype: str = "FLOAT") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, y, sr, format="WAV", subtype=subtype)
    return buf.getvalue()


def embed(y: np.ndarray, sr: int, subtype: str = "FLOAT") -> np.ndarray | None:
    """The embedding of a signal written as a WAV file and decoded, as ``similar`` computes it for a file."""
    return analyze.embed_audio(decode.decode(wav_bytes(y, sr, subtype)))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def sustained_chord(sr: int, *, key: str = "C major", seconds: float = 2.0) -> np.ndarray:
    """A triad held for ``seconds`` with a short release: a pad, not a stab."""
    k = keys.parse_key(key)
    notes = [synth.Note(0.0, seconds, m) for m in synth.chord_notes(k, 0, "min" if keys.is_minor(k) else "maj")]
    return synth.normalise(synth.render(notes, seconds, sr, wave="saw"))


def sound(name: str, sr: int) -> np.ndarray:
    """Seeded sounds of several kinds, rendered at ``sr``."""
    if name == "kick":
        return synth.kick(sr)
    if name == "snare":
        return synth.snare(sr, np.random.default_rng(3), duration=0.3)
    if name == "chord":
        return sustained_chord(sr)
    if name == "stab":
        return synth.chord_stab(
            keys.parse_key("A minor"), duration=1.2, sr=sr, rng=np.random.default_rng(1), wave="saw"
        )
    if name == "note":
        return synth.single_note(45, duration=1.0, sr=sr, wave="square")
    if name == "drum loop":
        return synth.drum_loop(bpm=120, bars=1, sr=sr, rng=np.random.default_rng(5))
    if name == "tonal loop":
        return synth.tonal_loop(keys.parse_key("D minor"), bpm=110, bars=1, sr=sr, rng=np.random.default_rng(6))
    raise ValueError(name)


SOUNDS = ("kick", "snare", "chord", "stab", "note", "drum loop", "tonal loop")


# -- the embedding --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SOUNDS)
def test_embedding_is_a_unit_float32_vector_of_dim(name):
    """Every sound gets a finite float32 vector of the catalog's width and unit length."""
    v = embed(sound(name, 44100), 44100)
    assert v is not None
    assert v.shape == (embedding.DIM,) and embedding.DIM == schema.EMBEDDING_DIM
    assert v.dtype == np.float32
    assert np.all(np.isfinite(v))
    assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-5


def test_embedding_is_deterministic():
    """The same bytes give the same vector, bit for bit, however often they are analysed."""
    data = wav_bytes(sound("tonal loop", 44100), 44100, "PCM_16")
    first = analyze.embed_audio(decode.decode(data))
    for _ in range(3):
        assert np.array_equal(analyze.embed_audio(decode.decode(data)), first)


def test_describe_stores_the_vector_embed_audio_computes():
    """The catalog's column (``describe``) and the vector of a file analysed on the fly (``embed_audio``) are
    one and the same, so a file outside the catalog is compared like for like."""
    for name in ("stab", "drum loop"):
        data = wav_bytes(sound(name, 48000), 48000, "PCM_24")
        row = analyze.describe(data, name=f"{name}.wav")
        stored = np.asarray(row["embedding"], dtype=np.float32)
        assert stored.shape == (embedding.DIM,)
        np.testing.assert_array_equal(stored, analyze.embed_audio(decode.decode(data)))


@pytest.mark.parametrize("name", SOUNDS)
def test_level_does_not_change_the_embedding(name):
    """The same sound 20 dB quieter (and 6 dB quieter in 16-bit) is the same vector: level is not timbre."""
    y = sound(name, 44100)
    v = embed(y, 44100)
    assert cosine(v, embed(0.1 * y, 44100)) > SAME
    assert cosine(v, embed(0.5 * y, 44100, "PCM_16")) > SAME


@pytest.mark.parametrize("name", SOUNDS)
def test_sample_rate_does_not_change_the_embedding(name):
    """The same sound as a 44.1 kHz file and as a 48 kHz file (resampled) is the same vector: the analysis
    resamples first. (Rendering again at 48 kHz would draw other noise for the snare and the drum loop.)"""
    y = sound(name, 44100)
    assert cosine(embed(y, 44100), embed(soxr.resample(y, 44100, 48000), 48000)) > SAME


def test_digital_silence_has_no_embedding():
    """Silence has no timbre: no vector, from ``embed``, ``embed_audio`` and the catalog row alike."""
    silence = np.zeros(44100, dtype=np.float32)
    assert embed(silence, 44100) is None
    mono = np.zeros(22050, dtype=np.float32)
    assert embedding.embed(onsets.onset_strength(mono), frontend.logfreq_spectrogram(mono)) is None
    assert analyze.describe(wav_bytes(silence, 44100, "PCM_16"), name="silence.wav")["embedding"] is None


def test_a_kick_is_nearer_a_snare_than_a_sustained_chord():
    """A sanity ordering: two drum hits are nearer each other than either is to a held chord, and the chord
    is nearer another key's held chord than it is to the kick."""
    sr = 44100
    kick = embed(synth.kick(sr), sr)
    snare = embed(synth.snare(sr, np.random.default_rng(3), duration=0.3), sr)
    chord = embed(sustained_chord(sr), sr)
    other_chord = embed(sustained_chord(sr, key="E minor"), sr)
    assert cosine(kick, snare) > cosine(kick, chord)
    assert cosine(snare, kick) > cosine(snare, chord)
    assert cosine(chord, other_chord) > cosine(chord, kick)


# -- the catalog's column -------------------------------------------------------------------------------------


def test_views_sql_fixed_size_is_the_schema_dim():
    """views.sql writes the array size as a literal: every ``FLOAT[N]`` in it is the schema's width, and the
    schema's Arrow type is a fixed-size list of that width."""
    text = resources.files("sampledex.sql").joinpath("views.sql").read_text()
    sizes = [int(n) for n in re.findall(r"FLOAT\[(\d+)\]", text)]
    assert sizes, "views.sql no longer casts the embedding to FLOAT[N]"
    assert set(sizes) == {schema.EMBEDDING_DIM}
    field = schema.SAMPLES.field("embedding")
    assert field.type.list_size == schema.EMBEDDING_DIM == embedding.DIM


# -- the demo library, indexed --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_catalog(tmp_path_factory):
    """The demo library indexed by `sampledex index` on 2 workers; (folder, catalog dir, {catalog path: demo
    kind}, open read-only connection)."""
    root = tmp_path_factory.mktemp("similar_demo")
    folder = demo.write_library(root / "demo", demo.demo_specs())
    cat = root / "catalog"
    run_cli("index", str(folder), "--catalog", str(cat), "--workers", "2")
    with open(folder / "labels.csv", newline="") as f:
        by_name = {row["file"]: row["kind"] for row in csv.DictReader(f)}
    con = catalog.Catalog(cat).connect(read_only=True)
    paths = [p for (p,) in con.sql("SELECT path FROM samples ORDER BY path").fetchall()]
    assert sorted(Path(p).name for p in paths) == sorted(by_name)
    return folder, cat, {p: by_name[Path(p).name] for p in paths}, con


def neighbour_kinds(con, kinds: dict[str, str], target: similar.Target) -> list[tuple[str, str, float]]:
    """(demo kind, file name, similarity) of the target's nearest rows."""
    _, rows = similar.similar(con, target, limit=NEAREST)
    return [(kinds[r[0]], Path(r[0]).name, r[-1]) for r in rows]


@pytest.mark.slow
def test_catalog_embedding_reads_as_fixed_size_floats(demo_catalog):
    """In DuckDB the column is ``FLOAT[47]`` (what array_cosine_similarity wants), filled for every demo file
    with the unit vector that analysing the file again in this process gives."""
    folder, _, kinds, con = demo_catalog
    assert con.sql("SELECT DISTINCT typeof(embedding) FROM samples").fetchall() == [(f"FLOAT[{schema.EMBEDDING_DIM}]",)]
    rows = con.sql("SELECT path, embedding FROM samples WHERE embedding IS NOT NULL ORDER BY path").fetchall()
    assert len(rows) == len(kinds) == 50
    for path, vector in rows[::7]:
        stored = np.asarray(vector, dtype=np.float32)
        assert abs(float(np.linalg.norm(stored)) - 1.0) < 1e-5
        np.testing.assert_allclose(stored, analyze.embed_audio(decode.load(path)), atol=1e-6, err_msg=path)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["drum_hit", "chord_stab", "note", "tonal_loop", "drum_loop"])
def test_similar_acceptance_rule_on_the_demo_library(demo_catalog, kind):
    """THE ACCEPTANCE RULE: the demo library (``demo.demo_specs()``, written with ``write_library``) indexed by
    ``sampledex index``; for EVERY demo file of this kind — drum hits, chord stabs, single notes (basses and
    leads), tonal loops (the demo's pads and loops), drum loops — at least 4 of its 5 nearest rows by
    ``similar`` are of the same demo kind (labels.csv). The file is looked up as a catalog row and left out.
    Fails listing every file that breaks the rule with its neighbours."""
    _, _, kinds, con = demo_catalog
    files = [p for p, k in kinds.items() if k == kind]
    assert len(files) == 10
    failures = []
    for path in files:
        target = similar.find_target(con, path)
        assert target.path == path  # the catalog's row, not the file analysed again
        nearest = neighbour_kinds(con, kinds, target)
        assert len(nearest) == NEAREST and Path(path).name not in [name for _, name, _ in nearest]
        if sum(k == kind for k, _, _ in nearest) < NEED:
            failures.append(f"{Path(path).name}: {nearest}")
    assert not failures, f"{len(failures)} {kind} file(s) with fewer than {NEED} of {NEAREST} alike:\n" + "\n".join(
        failures
    )


@pytest.mark.slow
def test_fresh_sounds_find_their_kind(demo_catalog, tmp_path):
    """Sounds the catalog has never seen (another seed's library, two files of each kind, every encoding),
    analysed on the fly: at least 4 of each one's 5 nearest demo rows are of its kind."""
    _, _, kinds, con = demo_catalog
    specs = demo.library_specs(10, seed=2027)
    folder = demo.write_library(tmp_path / "fresh", specs)
    failures = []
    for spec in specs:
        target = similar.find_target(con, str(folder / spec.name))
        assert target.path is None  # analysed now: not a row of the catalog
        nearest = neighbour_kinds(con, kinds, target)
        if sum(k == spec.kind for k, _, _ in nearest) < NEED:
            failures.append(f"{spec.name} ({spec.kind}): {nearest}")
    assert not failures, "\n".join(failures)


# -- sampledex similar ----------------------------------------------------------------------------------------


def similar_json(cat: Path, target: str, *args: str) -> list[dict]:
    return json.loads(run_cli("similar", target, "--catalog", str(cat), "--format", "json", *args).stdout)


def one_line_error(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout == ""
    return lines[0]


@pytest.mark.slow
def test_similar_cli_ranks_every_other_row_and_leaves_the_target_out(demo_catalog):
    """A catalog path: every other analysed row, most similar first, never the target itself; JSON objects
    with the documented columns; ``--limit`` keeps the head of the same ranking."""
    _, cat, kinds, _ = demo_catalog
    target = next(p for p, k in sorted(kinds.items()) if k == "chord_stab")
    everything = similar_json(cat, target, "--limit", "1000")
    assert len(everything) == len(kinds) - 1
    assert target not in {r["path"] for r in everything}
    assert list(everything[0]) == [*similar.SIMILAR_COLUMNS, "similarity"]
    scores = [r["similarity"] for r in everything]
    assert scores == sorted(scores, reverse=True) and -1.0 <= scores[-1] <= scores[0] <= 1.0
    head = similar_json(cat, target, "--limit", "3")
    assert [r["path"] for r in head] == [r["path"] for r in everything[:3]]
    table = run_cli("similar", target, "--catalog", str(cat), "--limit", "2").stdout
    assert "(2 rows)" in table and "similarity" in table.splitlines()[0]


@pytest.mark.slow
def test_similar_cli_analyses_a_file_outside_the_catalog(demo_catalog, tmp_path):
    """A copy of a demo note under another name and folder is analysed on the fly: its nearest row is the
    original (the same audio), and its 5 nearest are notes. A freshly rendered chord stab (as FLAC) finds
    chord stabs."""
    folder, cat, kinds, _ = demo_catalog
    original = next(p for p, k in sorted(kinds.items()) if k == "note")
    copy = tmp_path / "elsewhere" / "my_bass.wav"
    copy.parent.mkdir()
    shutil.copyfile(original, copy)
    rows = similar_json(cat, str(copy), "--limit", str(NEAREST))
    assert rows[0]["path"] == original and rows[0]["similarity"] >= SAME
    assert sum(kinds[r["path"]] == "note" for r in rows) >= NEED, rows

    stab = tmp_path / "fresh_stab.flac"
    y = synth.chord_stab(keys.parse_key("G minor"), duration=1.3, sr=48000, rng=np.random.default_rng(99))
    sf.write(stab, 0.6 * y, 48000, format="FLAC", subtype="PCM_24")
    rows = similar_json(cat, str(stab), "--limit", str(NEAREST))
    assert str(stab) not in {r["path"] for r in rows}
    assert sum(kinds[r["path"]] == "chord_stab" for r in rows) >= NEED, rows


@pytest.mark.slow
def test_similar_cli_kind_filters(demo_catalog):
    """``--kind one-shot`` lists only one-shots, all of them with a big enough limit, though the nearest
    rows to a drum loop are loops; ``--kind loop`` lists only loops, the target left out."""
    _, cat, kinds, con = demo_catalog
    target = next(p for p, k in sorted(kinds.items()) if k == "drum_loop")
    unfiltered = similar_json(cat, target, "--limit", "3")
    assert {r["kind"] for r in unfiltered} == {"loop"}
    one_shots = similar_json(cat, target, "--kind", "one-shot", "--limit", "1000")
    expected = con.execute("SELECT count(*) FROM samples WHERE kind = 'one-shot' AND embedding IS NOT NULL").fetchall()[
        0
    ]
    assert one_shots and {r["kind"] for r in one_shots} == {"one-shot"} and len(one_shots) == expected[0]
    loops = similar_json(cat, target, "--kind", "loop", "--limit", "1000")
    assert loops and {r["kind"] for r in loops} == {"loop"} and target not in {r["path"] for r in loops}
    assert len(loops) + len(one_shots) == len(kinds) - 1


@pytest.mark.slow
def test_similar_cli_non_audio_file_is_one_line(demo_catalog, tmp_path):
    """A text file: exit 1 and one line on stderr, no traceback, nothing on stdout."""
    _, cat, _, _ = demo_catalog
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all\n" * 50)
    line = one_line_error(run_cli("similar", str(text), "--catalog", str(cat), expect=1))
    assert line.startswith("sampledex: ") and "audio" in line


@pytest.mark.slow
def test_similar_cli_missing_file_is_one_line(demo_catalog, tmp_path):
    """A file that does not exist (and is not a catalog path): exit 1, one line naming it."""
    _, cat, _, _ = demo_catalog
    missing = tmp_path / "no_such_sample.wav"
    line = one_line_error(run_cli("similar", str(missing), "--catalog", str(cat), expect=1))
    assert str(missing) in line


# -- duplicates -----------------------------------------------------------------------------------------------

SR = 44100
#: the library of the duplicate tests: the original and its copies, and sounds that merely resemble it
ORIGINAL, COPY, FLAC, MP3, TRIMMED = "orig.wav", "copy.wav", "orig.flac", "orig.mp3", "trimmed.wav"
SAME_LEVEL_OTHER, QUIETER_OTHER, SILENT = "other_same_level.wav", "other_quieter.wav", "silent.wav"
ONE_SOUND = {ORIGINAL, COPY, FLAC, MP3, TRIMMED}


def stab(key: str, level: float) -> np.ndarray:
    y = synth.chord_stab(keys.parse_key(key), duration=1.5, sr=SR, rng=np.random.default_rng(1), wave="saw")
    return (level * y).astype(np.float32)


@pytest.fixture(scope="module")
def dup_catalog(tmp_path_factory):
    """A chord stab as 16-bit WAV, a byte copy, FLAC and MP3 re-encodes, a version with 20 ms cut off its start;
    two other chord stabs of the same patch (D minor at the original's loudness, E minor 10 dB quieter) and
    a silent file; indexed by `sampledex index`. (library, catalog dir, connection, {name: catalog path})."""
    root = tmp_path_factory.mktemp("duplicates")
    lib = root / "lib"
    lib.mkdir()
    y = stab("A minor", 0.7)
    sf.write(lib / ORIGINAL, y, SR, format="WAV", subtype="PCM_16")
    shutil.copyfile(lib / ORIGINAL, lib / COPY)
    sf.write(lib / FLAC, y, SR, format="FLAC", subtype="PCM_16")
    fmt, subtype = demo.ENCODINGS["mp3"]
    sf.write(lib / MP3, y, SR, format=fmt, subtype=subtype)
    sf.write(lib / TRIMMED, y[int(0.020 * SR) :], SR, format="WAV", subtype="PCM_16")
    other = stab("D minor", 0.7)
    gain_db = features.loudness_lufs(y[:, None], SR) - features.loudness_lufs(other[:, None], SR)
    sf.write(lib / SAME_LEVEL_OTHER, other * 10 ** (gain_db / 20), SR, format="WAV", subtype="PCM_16")
    sf.write(lib / QUIETER_OTHER, stab("E minor", 0.7 / 10 ** (10 / 20)), SR, format="WAV", subtype="PCM_16")
    sf.write(lib / SILENT, np.zeros(SR, np.float32), SR, format="WAV", subtype="PCM_16")
    cat = root / "catalog"
    run_cli("index", str(lib), "--catalog", str(cat), "--workers", "2")
    con = catalog.Catalog(cat).connect(read_only=True)
    paths = {Path(p).name: p for (p,) in con.sql("SELECT path FROM samples").fetchall()}
    assert set(paths) == {p.name for p in lib.iterdir()}
    return lib, cat, con, paths


def groups_of(con, view: str) -> dict[int, tuple[str, set[str]]]:
    """{group_id: (match, file names)} of a duplicates view."""
    out: dict[int, tuple[str, set[str]]] = {}
    for group, match, path in con.sql(f"SELECT group_id, match, path FROM {view}").fetchall():
        out.setdefault(group, (match, set()))[1].add(Path(path).name)
    return out


def freed_bytes(stderr: str) -> int:
    found = re.findall(r"would free ([\d,]+) bytes", stderr)
    assert len(found) == 1, stderr
    return int(found[0].replace(",", ""))


@pytest.mark.slow
def test_the_different_sounds_are_close_enough_to_matter(dup_catalog):
    """The controls are hard ones: same catalog kind and length bucket as the original, one of them within
    the loudness tolerance, so only the embedding can tell it apart (and it does not reach 0.99)."""
    _, _, con, paths = dup_catalog
    rows = {
        Path(p).name: (k, d, lufs)
        for p, k, d, lufs in con.sql("SELECT path, kind, duration_s, loudness_lufs FROM samples").fetchall()
    }
    kind, duration, lufs = rows[ORIGINAL]
    for name in (SAME_LEVEL_OTHER, QUIETER_OTHER):
        assert rows[name][:2] == (kind, duration)
    assert abs(rows[SAME_LEVEL_OTHER][2] - lufs) < 0.2
    assert rows[QUIETER_OTHER][2] < lufs - 5
    sim = con.execute(
        "SELECT array_cosine_similarity(a.embedding, b.embedding) FROM samples a, samples b "
        "WHERE a.path = ? AND b.path = ?",
        [paths[ORIGINAL], paths[SAME_LEVEL_OTHER]],
    ).fetchall()[0][0]
    assert 0.8 < sim < 0.99


@pytest.mark.slow
def test_exact_duplicates_holds_the_byte_copy(dup_catalog):
    """``exact_duplicates``: one group, the original and its byte copy, nothing else."""
    _, _, con, _ = dup_catalog
    assert list(groups_of(con, "exact_duplicates").values()) == [("exact", {ORIGINAL, COPY})]


@pytest.mark.slow
def test_near_pairs_are_the_reencodes_and_the_trim(dup_catalog):
    """``near_duplicate_pairs()``: every pair of the five files of the one sound except the byte-identical
    one (that is an exact pair), and no pair with a different sound or the silent file."""
    _, _, con, _ = dup_catalog
    pairs = {
        frozenset(Path(p).name for p in pair)
        for pair in con.sql("SELECT path_a, path_b FROM near_duplicate_pairs()").fetchall()
    }
    expected = {frozenset((a, b)) for a in ONE_SOUND for b in ONE_SOUND if a < b} - {frozenset((ORIGINAL, COPY))}
    assert pairs == expected


@pytest.mark.slow
def test_duplicates_groups_the_reencodes_and_the_trim_with_the_original(dup_catalog):
    """``duplicates``: the exact group, and ONE near group holding the original, its byte copy, the FLAC, the
    MP3 and the trimmed version; the two different chord stabs and the silent file are in no group."""
    _, _, con, _ = dup_catalog
    groups = sorted(groups_of(con, "duplicates").values(), key=lambda g: g[0])
    assert groups == [("exact", {ORIGINAL, COPY}), ("near", ONE_SOUND)]


@pytest.mark.slow
def test_every_duplicate_group_has_two_files_or_more(dup_catalog):
    """A group of one file is no duplicate: each group of ``duplicates`` lists at least two."""
    _, _, con, _ = dup_catalog
    singles = {g: names for g, (_, names) in groups_of(con, "duplicates").items() if len(names) < 2}
    assert not singles


@pytest.mark.slow
def test_duplicates_cli_prints_exact_groups_and_what_they_free(dup_catalog):
    """``sampledex duplicates``: only the exact group on stdout, and one line on stderr whose byte count is
    what DuckDB computes over the catalog (all copies but the largest of each set of equal bytes) and
    what the file system says one copy takes."""
    lib, cat, con, _ = dup_catalog
    proc = run_cli("duplicates", "--catalog", str(cat), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert {r["match"] for r in rows} == {"exact"}
    assert {Path(r["path"]).name for r in rows} == {ORIGINAL, COPY}
    assert len(proc.stderr.strip().splitlines()) == 1
    expected = con.execute(
        "SELECT sum(total - largest) FROM (SELECT sum(size_bytes) AS total, max(size_bytes) AS largest "
        "FROM samples WHERE content_hash IS NOT NULL GROUP BY content_hash HAVING count(*) > 1)"
    ).fetchall()[0][0]
    assert freed_bytes(proc.stderr) == expected == (lib / COPY).stat().st_size


@pytest.mark.slow
def test_duplicates_cli_near_adds_the_near_group(dup_catalog):
    """``sampledex duplicates --near``: the exact group and the near group of the five files of one sound."""
    _, cat, _, _ = dup_catalog
    rows = json.loads(run_cli("duplicates", "--near", "--catalog", str(cat), "--format", "json").stdout)
    groups: dict[int, tuple[str, set[str]]] = {}
    for r in rows:
        groups.setdefault(r["group_id"], (r["match"], set()))[1].add(Path(r["path"]).name)
    assert sorted(groups.values(), key=lambda g: g[0]) == [("exact", {ORIGINAL, COPY}), ("near", ONE_SOUND)]


@pytest.mark.slow
def test_duplicates_cli_near_counts_each_file_once(dup_catalog):
    """With ``--near`` the freed bytes are those of keeping the largest of the five files of the one sound:
    a file that is in an exact group and a near group is deleted once, not counted twice."""
    lib, cat, _, _ = dup_catalog
    proc = run_cli("duplicates", "--near", "--catalog", str(cat), "--format", "csv")
    sizes = [(lib / name).stat().st_size for name in ONE_SOUND]
    assert freed_bytes(proc.stderr) == sum(sizes) - max(sizes)


@pytest.mark.slow
def test_similar_cli_silent_target_is_one_line(dup_catalog, tmp_path):
    """A silent catalog row and a silent file outside the catalog have no vector: exit 1, one line each."""
    lib, cat, _, paths = dup_catalog
    line = one_line_error(run_cli("similar", paths[SILENT], "--catalog", str(cat), expect=1))
    assert "without an embedding" in line and "silent" in line
    outside = tmp_path / "quiet.flac"
    sf.write(outside, np.zeros(SR, np.float32), SR, format="FLAC", subtype="PCM_16")
    line = one_line_error(run_cli("similar", str(outside), "--catalog", str(cat), expect=1))
    assert "silent" in line and str(outside) in line

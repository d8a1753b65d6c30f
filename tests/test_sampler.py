"""The sampler over recorded instruments: names, octave numbering, kits, rendering, and its place in training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sampledex.models import keys
from sampledex.models.training import datagen, sampler, train
from sampledex.models.training.synth import Note

FILE_SR = 44100


def tone(midi: float, *, seconds: float = 1.5, level: float = 0.5, sr: int = FILE_SR) -> np.ndarray:
    """A plucked-string-like note: eight harmonics, the upper ones decaying faster; stereo."""
    t = np.arange(int(seconds * sr)) / sr
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    y = sum(np.sin(2 * np.pi * k * f0 * t) * np.exp(-t * (1.5 + k)) / k for k in range(1, 9) if k * f0 < sr / 2)
    y = level * y / np.max(np.abs(y))
    return np.stack([y, 0.9 * y], axis=1).astype(np.float32)


def burst(seed: int, *, seconds: float = 0.3, sr: int = FILE_SR) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * rng.standard_normal(t.size) * np.exp(-t * 20)).astype(np.float32)


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    """A tiny multisample library as packs ship them.

    ``keys/``: notes every 3 semitones from MIDI 48 to 72 in two velocity layers, named the Akai way
    (middle C called ``C3``: each name an octave below the note sounded), plus one file whose name and
    sound disagree, one named by nothing but its sound, and a release noise; ``kit/``: kicks, snares and
    hats named as drum kits name them.
    """
    root = tmp_path_factory.mktemp("library")
    (root / "keys").mkdir()
    (root / "kit").mkdir()
    names = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]
    for midi in range(48, 73, 3):
        for layer, level in (("pp", 0.1), ("ff", 0.8)):
            name = f"{names[midi % 12]}{midi // 12 - 2}_{layer}"  # Akai: C3 = MIDI 60
            sf.write(root / "keys" / f"piano_{name}.wav", tone(midi, level=level), FILE_SR)
    sf.write(root / "keys" / "piano_E3_mf.wav", tone(66), FILE_SR)  # E3 is 64 here; it sounds F# (66)
    sf.write(root / "keys" / "piano_take7.wav", tone(62), FILE_SR)  # no note in its name
    sf.write(root / "keys" / "piano_rel_C3.wav", burst(9), FILE_SR)  # a release noise
    for i in range(3):
        sf.write(root / "kit" / f"Kick_rr{i + 1}.wav", burst(i, seconds=0.4), FILE_SR)
        sf.write(root / "kit" / f"SnareTop_v{i + 1}.wav", burst(10 + i), FILE_SR)
        sf.write(root / "kit" / f"CL Hat {i + 1}.wav", burst(20 + i, seconds=0.1), FILE_SR)
    return root


@pytest.mark.parametrize(
    "stem, midi",
    [
        ("A#2", 46),
        ("Fs4", 66),
        ("ab2", 44),
        ("twang_bb3_mf_rr3", 58),
        ("A_029__F1_1", 29),  # the MIDI number and the note: the note wins
        ("057-A3-FF", 57),
        ("HEADROOM PIANO LEVEL1 CLOSE 102", 102),  # a bare MIDI number
        ("A7v16", 105),
        ("C-1", 0),
        ("Str11", None),
        ("kick_01", None),
        ("LEVEL1", None),
    ],
)
def test_a_note_is_read_from_every_way_libraries_name_it(stem, midi):
    assert sampler.note_from_name(stem) == midi


@pytest.mark.parametrize(
    "path, piece",
    [
        ("Samples/Tom1/3-Tom1-KdrumL.flac", "tom"),  # the piece, not the microphone named after it
        ("Samples/HihatOpen/1-HihatOpen-OHL.flac", "hat_open"),
        ("Kit/CL SH Hat 1.aif", "hat_closed"),
        ("Kit/OP SH Hat 1.aif", "hat_open"),
        ("Perc/Clap_rr2.wav", "clap"),
        ("Drums/Kick/01.wav", "kick"),
        ("Kit/BongoL_Hit1_v2_rr2_Mid.wav", "perc"),
        ("Piano/C4.wav", None),
        ("Bass/killer_bass_gb3_vl2.wav", None),  # a bass guitar is not a bass drum
    ],
)
def test_drum_pieces_are_read_from_names_then_folders(path, piece):
    assert sampler.drum_piece(Path(path)) == piece


def test_the_octave_numbering_is_the_one_most_notes_agree_with():
    named = [48, 51, 54, 57, 40]
    heard = [60.1, 62.9, 66.0, 69.2, 58.0]  # the last disagrees in pitch class: it does not vote
    assert sampler.octave_shift(named, heard) == 12
    assert sampler.octave_shift([60, 62], [None, None]) == 0


def test_a_library_is_read_as_instruments_and_kits_with_its_octaves_checked(library):
    lib = sampler.load_library(library)
    (keys,) = lib.instruments
    assert keys.name == "keys"
    assert sorted(set(keys.notes.tolist())) == [48, 51, 54, 57, 60, 62, 63, 66, 69, 72]  # 62: heard, not named
    assert len(keys.zones) == 2 * 9 + 1
    left_out = dict(lib.left_out)
    assert left_out[str(Path("keys/piano_E3_mf.wav"))] == "named 64, sounds 66.0"
    assert "named 64" in left_out[str(Path("keys/piano_E3_mf.wav"))]
    assert left_out[str(Path("keys/piano_rel_C3.wav"))] == "not a note or hit"
    (kit,) = lib.kits
    assert {p: len(h) for p, h in kit.pieces.items()} == {"kick": 3, "snare": 3, "hat_closed": 3}
    assert "1 instruments (19 notes), 1 kits (9 hits)" in lib.summary()


def test_a_note_between_recorded_ones_sounds_at_its_own_pitch(library):
    s = sampler.Sampler.load([library])
    for midi in (50, 56, 61, 71):
        y = s.render([Note(0.0, 1.0, midi, 0.8)], 1.2)
        assert y.dtype == np.float32 and y.size == int(1.2 * sampler.SR)
        assert sampler.heard_midi(y) == pytest.approx(midi, abs=0.15)
    # far outside the recorded range, a note is moved by octaves: its pitch class stays
    assert sampler.heard_midi(s.render([Note(0.0, 1.0, 96, 0.8)], 1.2)) == pytest.approx(72, abs=0.15)


def test_velocity_picks_the_layer_and_a_seed_repeats_the_render(library):
    notes = [Note(0.0, 0.5, 60, 1.0), Note(0.6, 0.5, 61, 0.3)]
    a = sampler.Sampler.load([library], seed=3).render(notes, 1.2)
    assert np.array_equal(a, sampler.Sampler.load([library], seed=3).render(notes, 1.2))
    (keys,) = sampler.load_library(library).instruments
    rng = np.random.default_rng(0)
    loud = [keys.zone(60, 1.0, rng).level_db for _ in range(100)]
    soft = [keys.zone(60, 0.0, rng).level_db for _ in range(100)]
    ff, pp = 20 * np.log10(0.8), 20 * np.log10(0.1)
    assert np.mean(np.isclose(loud, ff, atol=1)) > 0.9 and np.mean(np.isclose(soft, pp, atol=1)) > 0.9


def test_drum_notes_play_the_kit_and_a_kitless_sampler_says_so(library):
    s = sampler.Sampler.load([library])
    assert s.has_drums and s.has_instruments
    y = s.render([Note(0.0, 0.1, 36, 0.9), Note(0.5, 0.1, 38, 0.9), Note(0.75, 0.1, 51, 0.9)], 1.0, drums=True)
    assert np.abs(y[: int(0.05 * sampler.SR)]).max() > 0.1 and np.abs(y[int(0.5 * sampler.SR) :]).max() > 0.1
    keys_only = sampler.Sampler.load([library / "keys"])
    assert not keys_only.has_drums
    with pytest.raises(sampler.LibraryError, match="no drum kit"):
        keys_only.render([Note(0.0, 0.1, 36, 0.9)], 1.0, drums=True)


def test_a_kit_recorded_a_folder_per_piece_is_one_kit(tmp_path):
    """DrumGizmo kits (and many SFZ kits) keep each piece in a folder of its own (Samples/KdrumL, Samples/Snare):
    those folders are one kit, so that a drum loop plays its kick, snare and hats, not every note on one piece."""
    for folder, stem in (("KdrumL", "Kick"), ("Snare", "Snare"), ("HihatClosed", "HihatClosed")):
        (tmp_path / "MyKit" / "Samples" / folder).mkdir(parents=True)
        for i in range(2):
            sf.write(tmp_path / "MyKit" / "Samples" / folder / f"{stem}-{i + 1}.wav", burst(i, seconds=0.2), FILE_SR)
    (kit,) = sampler.load_library(tmp_path).kits
    assert kit.name == str(Path("MyKit") / "Samples")
    assert {p: len(h) for p, h in kit.pieces.items()} == {"kick": 2, "snare": 2, "hat_closed": 2}


def test_a_drum_hit_is_drawn_from_the_layers_its_velocity_points_to():
    """A kit recorded at every dynamic: a loud note plays a loud hit and a soft one a soft hit, not one drawn at
    random (a pattern's two kicks as one rimshot and one ghost note)."""
    layers = [burst(0, seconds=0.1) * gain for gain in np.geomspace(0.02, 1.0, 12)]
    kit = sampler.Kit("kit", {"kick": list(reversed(layers))})
    rng = np.random.default_rng(0)
    loud = [np.max(np.abs(kit.hit(36, rng, 1.0))) for _ in range(50)]
    soft = [np.max(np.abs(kit.hit(36, rng, 0.1))) for _ in range(50)]
    assert np.median(loud) > 5 * np.median(soft)
    assert len({float(x) for x in loud}) > 1  # round robins: the layers beside it, now and then


def test_a_folder_without_audio_is_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not audio")
    with pytest.raises(sampler.LibraryError, match="holds no audio file"):
        sampler.load_library(tmp_path)
    with pytest.raises(sampler.LibraryError, match="is not a folder"):
        sampler.audio_files(tmp_path / "missing")


def test_the_generator_plays_its_music_on_recorded_instruments(library):
    """Loops, stabs and keyless material through a sampler alone: drums come from its kit, or from numpy
    synthesis when it has none, and every example keeps its label."""
    for renderers in ([sampler.Sampler.load([library])], [sampler.Sampler.load([library / "keys"])]):
        for family in ("loop", "stab", "melody", "keyless"):
            y, label, _ = datagen.example(family, 5, renderers=renderers)
            assert np.isfinite(y).all() and np.abs(y).max() > 0.05
            assert (label == datagen.NO_KEY) == (family == "keyless")


@pytest.mark.slow
def test_a_library_set_is_rendered_cached_and_rendered_again_when_the_library_changes(library, tmp_path):
    mix = {"stab": 6, "keyless": 4}
    path = tmp_path / "train-library.npz"
    first = train.build_synthetic(path, mix=mix, processes=1, libraries=(str(library),), log=[].append)
    assert len(first) == 10 and (first.labels == datagen.NO_KEY).sum() == 4
    recipe = json.loads(path.with_name(path.name + ".recipe.json").read_text())
    assert recipe["libraries"] == {str(library.resolve()): 30} and recipe["seed"] == train.LIBRARY_SEED_OFFSET
    log: list[str] = []
    train.build_synthetic(path, mix=mix, processes=1, libraries=(str(library),), log=log.append)
    assert log == []  # the cache served
    sf.write(library / "keys" / "piano_D4_ff.wav", tone(74), FILE_SR)  # the library grew
    try:
        train.build_synthetic(path, mix=mix, processes=1, libraries=(str(library),), log=log.append)
    finally:
        (library / "keys" / "piano_D4_ff.wav").unlink()
    assert any("another recipe" in line for line in log)


@pytest.mark.slow
def test_train_refuses_a_missing_library_before_rendering_anything(tmp_path):
    from conftest import run_cli

    proc = run_cli("train", "--library", str(tmp_path / "nope"), "--out", str(tmp_path / "run"), expect=1, cwd=tmp_path)
    assert proc.stderr.strip().splitlines() == [f"sampledex: sample library {tmp_path / 'nope'} is not a folder"]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_real_instrument_validation_sets_are_played_on_the_held_out_library(library, tmp_path):
    import csv

    renderers = [sampler.Sampler.load([library])]
    names = ("real-loops", "real-stabs", "real-keyless")
    written = datagen.write_eval_sets(tmp_path, [], per_set=3, names=names, renderers=renderers, log=[].append)
    for name in names:
        with open(written[name]) as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == 3 and all((tmp_path / name / r["path"]).exists() for r in rows)
        assert all((r["key"] == "") == (name == "real-keyless") for r in rows)
    with pytest.raises(ValueError, match="held-out recorded instruments"):
        datagen.write_eval_sets(tmp_path / "x", [], per_set=1, names=("real-stabs",))


def test_realnotes_compares_each_named_note_with_the_root_the_pipeline_gives(library):
    """The fixture names its notes the Akai way: every pitch class right, every octave 'wrong' as named."""
    from sampledex.pipeline.tools import realnotes

    rows = realnotes.measure(library)
    every = [r for group in rows.values() for r in group]
    one_shot, same_class, with_octave, no_root = (sum(r[i] for r in every) for i in range(4))
    assert len(every) == 20  # 18 layered notes, the misnamed E3, the release noise named C3; not the kit
    assert (one_shot, same_class, with_octave, no_root) == (20, 18, 0, 1)
    assert "| all | 20 | 1.000 | 0.900 | 0.000 | 0.050 |" in realnotes.table("keys", rows)
    # the release noise left out by name, as a library's release samples are
    kept = [r for group in realnotes.measure(library, match="piano_[A-G]*").values() for r in group]
    assert len(kept) == 19 and sum(r[3] for r in kept) == 0


def test_realnotes_shows_the_kit_s_hits_have_no_root(library, capsys):
    """The other side of the measurement: drum hits, by piece, and how many the estimator gives no root."""
    from sampledex.pipeline.tools import realnotes

    hits = realnotes.measure_hits(library)
    assert {piece: len(rows) for piece, rows in hits.items()} == {"kick": 3, "snare": 3, "hat_closed": 3}
    assert all(one_shot and no_root and no_key for rows in hits.values() for one_shot, no_root, no_key in rows)
    realnotes.main([str(library / "kit")])
    out = capsys.readouterr().out
    assert "drum hits" in out and "| no key |" in out and "| octave |" not in out
    assert "| all | 9 | 1.000 | 1.000 | 1.000 |" in out


def test_realnotes_reads_mp3_notes_as_index_does_and_a_wrong_folder_is_one_line(tmp_path, capsys):
    """Public note sets are often MP3, cut with a margin of silence before the attack (and the encoder adds its
    delay): such a note is measured, a one-shot with its root."""
    from sampledex.models.training import synth
    from sampledex.pipeline.tools import realnotes

    note = synth.single_note(69, duration=2.0, sr=44100, wave="saw")
    y = np.concatenate([np.zeros(int(0.15 * 44100), dtype=np.float32), note])
    sf.write(tmp_path / "Flute.ff.A4.mp3", y, 44100, format="MP3", subtype="MPEG_LAYER_III")
    realnotes.main([str(tmp_path)])
    assert "| all | 1 | 1.000 | 1.000 | 1.000 | 0.000 |" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        realnotes.main([str(tmp_path / "absent")])
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: sample library") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("instrument", "piece"),
    [
        ('Hi-Hat Open (Paiste Alpha Metal edge 14")', "hat_open"),
        ("Hi Hat Opened", "hat_open"),
        ("BassDrum", "kick"),
        ("a3 - bass drum 4", "kick"),
        ("Pearl Side Stick", "snare"),
        ('Crash/Ride Bell (Paiste Rude Crash/Ride 18")', "crash"),
        ("tomhi2", "tom"),
        ("Djembe1 Slap", "perc"),
        ("Zap 1", None),
        ("Sample: beats_01-10.flac", None),
    ],
)
def test_a_hydrogen_instrument_s_name_says_its_piece(instrument, piece):
    from sampledex.pipeline.tools import libraries

    assert libraries.hydrogen_piece(instrument) == piece


def test_hydrogen_kits_are_arranged_by_piece_from_their_drumkit_xml(tmp_path):
    """Hydrogen names its files anyhow (BD_01.aiff, BL_02.aiff); the piece is in drumkit.xml's instrument names."""
    from sampledex.pipeline.tools import libraries

    kit = tmp_path / "drumkits" / "My Kit"
    kit.mkdir(parents=True)
    for i, name in enumerate(("a.wav", "b.wav", "c.flac", "d.wav", "e.wav")):
        sf.write(kit / name, burst(i), FILE_SR)
    layers = lambda *files: "".join(f"<layer><filename>{f}</filename></layer>" for f in files)  # noqa: E731
    (kit / "drumkit.xml").write_text(
        '<drumkit_info xmlns="http://www.hydrogen-music.org/drumkit"><instrumentList>'
        f"<instrument><name>Kick</name>{layers('a.wav', 'b.wav')}</instrument>"
        f"<instrument><name>Hi Hat Opened</name>{layers('c.flac')}</instrument>"
        f"<instrument><name>Stick</name><filename>d.wav</filename></instrument>"
        f"<instrument><name>Zap 1</name>{layers('e.wav')}</instrument>"
        f"<instrument><name>Kick 2</name>{layers('b.wav')}</instrument>"
        f"<instrument><name>Snare</name>{layers('missing.wav')}</instrument>"
        "</instrumentList></drumkit_info>"
    )
    counts = libraries.arrange_kits(tmp_path / "drumkits", tmp_path / "kits")
    assert counts == {"My Kit": {"kick": 2, "hat_open": 1, "snare": 1}}
    assert sorted(p.name for p in (tmp_path / "kits" / "My_Kit").iterdir()) == [
        "hat_open_000.flac",
        "kick_000.wav",
        "kick_001.wav",
        "snare_000.wav",
    ]
    (found,) = sampler.load_library(tmp_path / "kits").kits
    assert {piece: len(hits) for piece, hits in found.pieces.items()} == {"kick": 2, "hat_open": 1, "snare": 1}
    assert libraries.arrange_kits(tmp_path / "drumkits", tmp_path / "kits") == counts  # again: links kept


def test_recordings_are_cut_into_clips_of_each_end_that_evaluate_reads(tmp_path):
    """A piece begins and ends in its key: its first and last 30 s are the clips; a short piece is one, a piece
    missing from a snapshot none; the labels' paths are relative, so the folder can move."""
    from sampledex.models.training import datasets
    from sampledex.pipeline.tools import libraries

    sr = 8000
    t = np.arange(70 * sr) / sr
    sf.write(tmp_path / "long.ogg", np.stack([np.sin(2 * np.pi * 220 * t)] * 2, axis=1) * 0.5, sr)
    sf.write(tmp_path / "short.wav", 0.5 * np.sin(2 * np.pi * 330 * t[: 10 * sr]), sr)
    pieces = (("long.ogg", "A minor"), ("short.wav", "E major"), ("absent.ogg", "C major"))
    assert libraries.write_clips(tmp_path, pieces, tmp_path / "clips") == 3
    (tmp_path / "clips").rename(tmp_path / "moved")
    clips = datasets.load(str(tmp_path / "moved" / "labels.csv"))
    assert [(Path(c.path).name, keys.KEY_NAMES[c.key]) for c in clips] == [
        ("long_head.flac", "A minor"),
        ("long_tail.flac", "A minor"),
        ("short_whole.flac", "E major"),
    ]
    durations = [sf.info(c.path).duration for c in clips]
    assert durations == pytest.approx([libraries.CLIP_S, libraries.CLIP_S, 10.0])
    assert sf.info(clips[0].path).channels == 2  # as recorded: the analysis makes its own mono


def test_without_apt_the_hydrogen_kits_are_skipped_in_one_line(tmp_path, monkeypatch):
    """make libraries on a machine without Debian's tools: the other libraries are still of use."""
    from sampledex.pipeline.tools import libraries

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    said: list[str] = []
    libraries.fetch_debian(tmp_path / "libs", log=said.append)
    assert "skipped" in said[-1] and "hydrogen-drumkits" in said[-1]
    assert not (tmp_path / "libs" / "validation" / "hydrogen-kits").exists()


def test_make_evaluate_says_when_its_real_sets_were_made_from_other_libraries(tmp_path):
    """A set once written stays the yardstick; figures measured on it are of the libraries it was made from, so a
    run with other libraries says so (sets made before the record existed stay silent)."""
    from sampledex.pipeline.tools import keyreport

    assert keyreport.libraries_note(tmp_path, ["libs/validation/jrhodes3d"]) is None  # no record
    keyreport.record_libraries(tmp_path, ["libs/validation/jrhodes3d", "libs/validation/discord-gm-drums"])
    same = ["elsewhere/discord-gm-drums", "elsewhere/jrhodes3d"]
    assert keyreport.libraries_note(tmp_path, same) is None
    note = keyreport.libraries_note(tmp_path, [*same, "elsewhere/hydrogen-kits"])
    assert note is not None and "\n" not in note
    assert "made from discord-gm-drums, jrhodes3d, not from discord-gm-drums, hydrogen-kits, jrhodes3d" in note


def test_make_evaluate_lists_the_validation_kits_hits_as_a_keyless_set(library, tmp_path):
    """The recorded hits are evaluated as they are, by piece: the figure the no-key rules are judged on."""
    from sampledex.pipeline.tools import evaluate, keyreport

    labels = keyreport.write_hits_set(tmp_path, [str(library)])
    assert labels == str(tmp_path / "recorded-hits" / "labels.csv")
    kinds = keyreport.pieces(labels)
    assert sorted(kinds.values()) == ["hat_closed"] * 3 + ["kick"] * 3 + ["snare"] * 3
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in kinds)
    cnn, ks = (evaluate.evaluate(labels, method) for method in ("cnn", "classic"))
    families = keyreport.by_family(cnn, ks, kinds)
    assert {f: r.n_keyless for f, (r, _) in families.items()} == {"hat_closed": 3, "kick": 3, "snare": 3}
    assert cnn.report.keyless_recall == 1.0  # noise bursts: no key
    assert keyreport._short(families["kick"][0]) == "NULL 1.000"
    assert keyreport.write_hits_set(tmp_path, [str(tmp_path / "elsewhere")]) == labels  # written once, kept
    assert keyreport.write_hits_set(tmp_path / "none", [str(library / "keys")]) is None  # no hit, no set

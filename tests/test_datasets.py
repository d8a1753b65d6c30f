"""Dataset loaders on small fixtures laid out exactly like the published datasets.

The audio files are a few dummy bytes: the loaders list files and read labels, never decode.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path

import fsspec
import pytest

from sampledex.models import keys
from sampledex.models.training import datasets
from sampledex.models.training.datasets import DatasetError, DatasetWarning, LabelledFile

K = keys.parse_key
REALKEYS = Path(__file__).resolve().parents[2] / "shared" / "realkeys" / "labels.csv"


def _touch(path: Path, data: bytes = b"ID3\x00dummy") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))  # byte-exact: no newline translation
    return path


def _no_warnings(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


# ---------------------------------------------------------------- GiantSteps Key


@pytest.fixture
def gs_key(tmp_path):
    """GiantSteps Key layout: padded and unpadded ids on either side, every awkward label."""
    root = tmp_path / "giantsteps-key-dataset"
    audio = root / "audio"
    labels = root / "annotations" / "key"
    for name in (
        "0010089.LOFI.mp3",  # padded audio, unpadded label
        "123456.LOFI.mp3",  # same spelling both sides
        "42.LOFI.mp3",  # unpadded audio, padded label
        "777.LOFI.mp3",  # no label
        "888.LOFI.mp3",  # '-' label
        "999.LOFI.mp3",  # empty label
        "555.LOFI.mp3",  # not a key
        "666.LOFI.mp3",
    ):  # 'none' label
        _touch(audio / name)
    _write(labels / "10089.LOFI.key", "Bb major")  # no trailing newline, as published
    _write(labels / "123456.LOFI.key", "F# minor\n")  # trailing newline
    _write(labels / "0000042.LOFI.key", "  Eb minor \r\n")  # padded id, whitespace, CRLF
    _write(labels / "888.LOFI.key", "-")
    _write(labels / "999.LOFI.key", "")
    _write(labels / "555.LOFI.key", "d major / b minor\t1\t\n")
    _write(labels / "666.LOFI.key", "None\n")
    _write(labels / "4040.LOFI.key", "C major")  # no audio
    # the rest of the published layout, which the loader must ignore
    _write(root / "annotations" / "giantsteps" / "10089.LOFI.key", "#@format: key\nkey 0 Bb major\n")
    _write(root / "annotations" / "genre" / "10089.LOFI.genre", "techno")
    _write(root / "md5" / "10089.LOFI.md5", "0" * 32)
    _write(audio / "README", "not audio")
    return root


def test_giantsteps_key_matches_ids_by_int_and_reads_labels(gs_key):
    with pytest.warns(DatasetWarning):
        ds = datasets.giantsteps_key(gs_key)
    audio = str(gs_key / "audio")
    assert [(os.path.relpath(f.path, audio), f.key) for f in ds] == sorted(
        [
            ("0010089.LOFI.mp3", K("Bb major")),
            ("123456.LOFI.mp3", K("F# minor")),
            ("42.LOFI.mp3", K("Eb minor")),
            ("666.LOFI.mp3", None),
            ("888.LOFI.mp3", None),
        ]
    )
    assert all(f.source == datasets.GIANTSTEPS_KEY for f in ds)
    assert all(os.path.isabs(f.path) and os.path.isfile(f.path) for f in ds)
    assert [f.path for f in ds] == sorted(f.path for f in ds)
    assert isinstance(ds, list) and all(isinstance(f, LabelledFile) for f in ds)


def test_giantsteps_key_skips_are_counted_and_warned(gs_key):
    with pytest.warns(DatasetWarning) as record:
        ds = datasets.giantsteps_key(gs_key)
    assert ds.skipped["no annotation"] == ["777.LOFI.mp3"]
    assert ds.skipped["no audio"] == ["4040.LOFI.key"]
    assert sorted(s.split("=")[0] for s in ds.skipped["not a key"]) == ["555.LOFI.key", "999.LOFI.key"]
    assert len(record) == 1  # one summary per call
    message = str(record[0].message)
    for name in ("777.LOFI.mp3", "4040.LOFI.key", "555.LOFI.key", "999.LOFI.key", "kept 5"):
        assert name in message
    assert str(gs_key) in message


def test_giantsteps_key_clean_folder_does_not_warn(tmp_path):
    root = tmp_path / "gs"
    _touch(root / "audio" / "0000001.LOFI.mp3")
    _write(root / "annotations" / "key" / "1.LOFI.key", "A minor")
    ds = _no_warnings(datasets.giantsteps_key, str(root))
    assert [f.key for f in ds] == [K("A minor")] and ds.skipped == {}


def test_giantsteps_key_duplicate_ids_after_int(tmp_path):
    root = tmp_path / "gs"
    _touch(root / "audio" / "0000001.LOFI.mp3")
    _touch(root / "audio" / "1.LOFI.mp3")
    _write(root / "annotations" / "key" / "1.LOFI.key", "A minor")
    with pytest.warns(DatasetWarning, match="duplicate id"):
        ds = datasets.giantsteps_key(root)
    assert len(ds) == 1


@pytest.mark.parametrize(
    "remove, named",
    [
        ("", "nowhere"),
        ("audio", "audio"),
        ("annotations/key", os.path.join("annotations", "key")),
    ],
)
def test_giantsteps_key_layout_errors_name_the_folder(gs_key, remove, named):
    import shutil

    root = gs_key.parent / "nowhere" if not remove else gs_key
    if remove:
        shutil.rmtree(gs_key / remove)
    with pytest.raises(DatasetError, match="not found") as info:
        datasets.giantsteps_key(root)
    assert str(root / remove if remove else root) in str(info.value)
    assert named in str(info.value)


def test_labelled_file_is_frozen():
    f = LabelledFile("/a.wav", 3, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.key = 4


# ---------------------------------------------------------------- GiantSteps-MTG

MTG_ROWS = [
    # id, label, confidence
    ("5061", "D# minor", "2"),  # audio zero-padded
    ("5881", "A major", "2"),
    ("10981", "-", "0"),  # no key: kept as None (every '-' row is C = 0)
    ("16484", "A minor", "1"),  # low confidence
    ("54925", "C minor", "0"),  # low confidence
    ("61578", "C minor / F# minor", "2"),  # two labels
    ("299300", "G minor/major", "2"),  # two labels, no spaces
    ("4970565", "B major ", "2"),  # trailing space in the label
    ("4311630", " ", "0"),  # blank label, low confidence
    ("7217", "F minor", "2"),  # no audio
    ("297150", "A-A# minor", "2"),  # not a key
]


def _mtg(root: Path, *, header: bool = True, rows=MTG_ROWS, newline: str = "\n") -> Path:
    lines = (["ID\tMANUAL KEY\tC"] if header else []) + ["\t".join(r) for r in rows]
    _write(root / "annotations" / "annotations.txt", newline.join(lines) + newline)
    for ident, _, _ in rows:
        if ident == "7217":
            continue
        name = f"{int(ident):07d}.LOFI.mp3" if ident == "5061" else f"{ident}.LOFI.mp3"
        _touch(root / "audio" / name)
    _touch(root / "audio" / "1234.LOFI.mp3")  # audio with no row
    # the published release also ships these; the loader ignores them
    _write(root / "annotations" / "key" / "5061.LOFI.key", "d# minor\t2\t\n")
    _write(root / "annotations" / "giantsteps" / "5061.LOFI.key", "#@format: key\nkey 0 D# minor\n")
    return root


@pytest.fixture
def gs_mtg(tmp_path):
    return _mtg(tmp_path / "giantsteps-mtg-key-dataset")


def _by_id(ds) -> dict[int, int | None]:
    return {int(os.path.basename(f.path).split(".")[0]): f.key for f in ds}


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_giantsteps_mtg_keeps_confident_single_labels_and_no_key_rows(tmp_path, header, newline):
    root = _mtg(tmp_path / "mtg", header=header, newline=newline)
    with pytest.warns(DatasetWarning):
        ds = datasets.giantsteps_mtg(root)
    assert _by_id(ds) == {5061: K("D# minor"), 5881: K("A major"), 10981: None, 4970565: K("B major")}
    assert all(f.source == datasets.GIANTSTEPS_MTG for f in ds)
    assert [f.path for f in ds] == sorted(f.path for f in ds)
    assert os.path.basename(next(f.path for f in ds if f.key == K("D# minor"))) == "0005061.LOFI.mp3"
    assert all(os.path.isfile(f.path) for f in ds)


def test_giantsteps_mtg_skips_are_counted(gs_mtg):
    with pytest.warns(DatasetWarning) as record:
        ds = datasets.giantsteps_mtg(gs_mtg)
    assert ds.skipped["confidence < 2"] == ["16484", "54925", "4311630"]
    assert ds.skipped["two labels"] == ["61578", "299300"]
    assert ds.skipped["no audio"] == ["7217"]
    assert ds.skipped["no annotation"] == ["1234.LOFI.mp3"]
    assert ds.skipped["not a key"] == ["297150='A-A# minor'"]
    assert len(record) == 1
    message = str(record[0].message)
    assert "7217" in message and "1234.LOFI.mp3" in message and "A-A# minor" in message
    assert "16484" not in message  # selections are listed in .skipped, not warned
    assert "confidence" in ds.summary()


def test_giantsteps_mtg_keyless_false_drops_no_key_rows(gs_mtg):
    with pytest.warns(DatasetWarning):
        ds = datasets.giantsteps_mtg(gs_mtg, keyless=False)
    assert None not in _by_id(ds).values()
    assert ds.skipped["keyless"] == ["10981"]


def test_giantsteps_mtg_clean_file_does_not_warn(tmp_path):
    root = tmp_path / "mtg"
    _write(root / "annotations" / "annotations.txt", "ID\tMANUAL KEY\tC\n1\tC major\t2\n2\tA minor\t1")
    _touch(root / "audio" / "1.LOFI.mp3")
    _touch(root / "audio" / "2.LOFI.mp3")
    ds = _no_warnings(datasets.giantsteps_mtg, root)
    assert _by_id(ds) == {1: K("C major")} and ds.skipped == {"confidence < 2": ["2"]}


@pytest.mark.parametrize(
    "text",
    [
        "1\tC major\t2\nnot-an-id\tC major\t2\n",
        "1 C major 2\n",
        "ID\tMANUAL KEY\tC\n1\tC major\n",
        "1\tC major\thigh\n",
    ],
)
def test_giantsteps_mtg_malformed_rows_name_the_line(tmp_path, text):
    root = tmp_path / "mtg"
    _write(root / "annotations" / "annotations.txt", text)
    _touch(root / "audio" / "1.LOFI.mp3")
    with pytest.raises(DatasetError, match=r"annotations\.txt, line \d"):
        datasets.giantsteps_mtg(root)


@pytest.mark.parametrize("text", ["", "ID\tMANUAL KEY\tC\n", "\n\n"])
def test_giantsteps_mtg_empty_table_raises(tmp_path, text):
    root = tmp_path / "mtg"
    _write(root / "annotations" / "annotations.txt", text)
    (root / "audio").mkdir()
    with pytest.raises(DatasetError, match="no rows"):
        datasets.giantsteps_mtg(root)


def test_giantsteps_mtg_layout_errors_name_the_file(gs_mtg):
    import shutil

    shutil.rmtree(gs_mtg / "audio")
    with pytest.raises(DatasetError, match="audio") as info:
        datasets.giantsteps_mtg(gs_mtg)
    assert str(gs_mtg / "audio") in str(info.value)
    (gs_mtg / "annotations" / "annotations.txt").unlink()
    with pytest.raises(DatasetError) as info:
        datasets.giantsteps_mtg(gs_mtg)
    assert str(gs_mtg / "annotations" / "annotations.txt") in str(info.value)


# ---------------------------------------------------------------- CSV


@pytest.fixture
def csv_folder(tmp_path):
    folder = tmp_path / "mylabels"
    for rel in ("a.wav", "sub/b.wav", "d.wav", "e.flac", "f.wav", "g.wav"):
        _touch(folder / rel)
    elsewhere = _touch(tmp_path / "elsewhere" / "c.mp3")
    _write(
        folder / "labels.csv",
        "\n".join(
            [
                "path,key,kind",
                "a.wav,Am,sample",
                "sub/b.wav,8B,loop",
                f"{elsewhere},F sharp major,recording",
                "d.wav,,keyless",
                "./e.flac,Dbmin,",
                "sub/../f.wav,  c# minor ,",
                "g.wav,1m,",
                "s3://bucket/x/remote.wav,Bb,",
            ]
        )
        + "\n",
    )
    return folder


def test_csv_relative_absolute_and_url_paths_and_spellings(csv_folder):
    ds = _no_warnings(datasets.csv_dataset, csv_folder / "labels.csv")
    got = {f.path: f.key for f in ds}
    expect = {
        str(csv_folder / "a.wav"): K("A minor"),
        str(csv_folder / "sub" / "b.wav"): K("C major"),
        str(csv_folder.parent / "elsewhere" / "c.mp3"): K("F# major"),
        str(csv_folder / "d.wav"): None,
        str(csv_folder / "e.flac"): K("Db minor"),
        str(csv_folder / "f.wav"): K("Db minor"),
        str(csv_folder / "g.wav"): K("A minor"),
        "s3://bucket/x/remote.wav": K("Bb major"),
    }
    assert got == expect
    assert [f.path for f in ds] == sorted(expect)
    assert {f.source for f in ds} == {"mylabels"}


def test_csv_resolves_against_the_csv_folder_not_the_cwd(csv_folder, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    ds = _no_warnings(datasets.csv_dataset, os.path.join("mylabels", "labels.csv"), source="mine")
    assert str(csv_folder / "a.wav") in {f.path for f in ds}
    assert {f.source for f in ds} == {"mine"}


def test_csv_file_column_crlf_and_bom(tmp_path):
    _touch(tmp_path / "rk01.mp3")
    _touch(tmp_path / "rk08.wav")
    _write(
        tmp_path / "labels.csv",
        '\ufefffile,key,kind,source\r\nrk01.mp3,B minor,recording,"a, b"\r\nrk08.wav,,keyless,x\r\n\r\n',
    )
    ds = _no_warnings(datasets.csv_dataset, tmp_path / "labels.csv")
    assert [(os.path.basename(f.path), f.key) for f in ds] == [("rk01.mp3", K("B minor")), ("rk08.wav", None)]


def test_csv_missing_and_duplicate_files_are_skipped_and_warned(tmp_path):
    _touch(tmp_path / "here.wav")
    _write(tmp_path / "labels.csv", "path,key\nhere.wav,C\ngone.wav,D\nhere.wav,C\n")
    with pytest.warns(DatasetWarning, match="gone.wav") as record:
        ds = datasets.csv_dataset(tmp_path / "labels.csv")
    assert [os.path.basename(f.path) for f in ds] == ["here.wav"]
    assert ds.skipped["missing file"] == [str(tmp_path / "gone.wav")]
    assert "duplicate path" in ds.skipped and "line 4" in ds.skipped["duplicate path"][0]
    assert len(record) == 1


@pytest.mark.parametrize(
    "text, match",
    [
        ("path,key\na.wav,H minor\n", r"line 2: 'H minor' is not a key"),
        ("path,key\n,C major\n", r"line 2: empty path"),
        ("name,label\na.wav,C\n", r"expected a header with columns 'path,key'"),
        ("path\na.wav\n", r"expected a header"),
        ("", r"expected a header"),
    ],
)
def test_csv_bad_content_raises(tmp_path, text, match):
    _touch(tmp_path / "a.wav")
    _write(tmp_path / "labels.csv", text)
    with pytest.raises(DatasetError, match=match) as info:
        datasets.csv_dataset(tmp_path / "labels.csv")
    assert str(tmp_path / "labels.csv") in str(info.value)


def test_csv_missing_file_is_named(tmp_path):
    with pytest.raises(DatasetError, match="not found") as info:
        datasets.csv_dataset(tmp_path / "nope.csv")
    assert str(tmp_path / "nope.csv") in str(info.value)


def test_csv_at_an_fsspec_url_resolves_relative_entries_to_urls():
    fs = fsspec.filesystem("memory")
    with fs.open("/sampledex-test-datasets/set/labels.csv", "wb") as f:
        f.write(b"path,key\nclip.wav,Am\n../other/x.wav,5A\n/abs/local.wav,C\n")
    try:
        with pytest.warns(DatasetWarning, match="local.wav"):  # an absolute local path that is not there
            ds = datasets.csv_dataset("memory://sampledex-test-datasets/set/labels.csv")
        assert {f.path: f.key for f in ds} == {
            "memory://sampledex-test-datasets/set/clip.wav": K("A minor"),
            "memory://sampledex-test-datasets/other/x.wav": K("C minor"),
        }
        assert {f.source for f in ds} == {"set"}
        with pytest.raises(DatasetError, match="not found"):
            datasets.csv_dataset("memory://sampledex-test-datasets/set/missing.csv")
    finally:
        fs.rm("/sampledex-test-datasets", recursive=True)


@pytest.mark.skipif(not REALKEYS.is_file(), reason="../shared/realkeys is not on this machine")
def test_csv_reads_the_shared_realkeys_labels():
    ds = _no_warnings(datasets.csv_dataset, REALKEYS)
    assert len(ds) == 16 and {f.source for f in ds} == {"realkeys"}
    assert [os.path.basename(f.path) for f in ds if f.key is None] == ["rk08.wav"]


# ---------------------------------------------------------------- load()


def test_load_dispatches_on_layout(gs_key, gs_mtg, csv_folder):
    with pytest.warns(DatasetWarning):
        assert {f.source for f in datasets.load(str(gs_key))} == {datasets.GIANTSTEPS_KEY}
    # the MTG release also has annotations/key/: annotations.txt decides
    assert (gs_mtg / "annotations" / "key").is_dir()
    with pytest.warns(DatasetWarning):
        assert {f.source for f in datasets.load(gs_mtg)} == {datasets.GIANTSTEPS_MTG}
    ds = _no_warnings(datasets.load, str(csv_folder / "labels.csv"))
    assert ds == datasets.csv_dataset(csv_folder / "labels.csv")


@pytest.mark.parametrize(
    "make, what",
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: p, "none of these layouts"),
        (lambda p: _write(p / "labels.txt", "path,key\n"), "not a .csv"),
        (lambda p: "s3://bucket/giantsteps", "URL"),
    ],
)
def test_load_error_lists_the_three_layouts(tmp_path, make, what):
    (tmp_path / "annotations").mkdir()  # an annotations folder with neither layout inside
    spec = make(tmp_path)
    with pytest.raises(DatasetError, match=what) as info:
        datasets.load(spec)
    message = str(info.value)
    assert str(spec) in message
    assert "path,key" in message and "annotations/key/" in message and "annotations/annotations.txt" in message


def test_load_missing_csv_is_named(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        datasets.load(str(tmp_path / "labels.csv"))

"""The architecture as the tree shows it: import direction, packaging, and one schema behind every column list."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from sampledex.pipeline import schema

ROOT = Path(__file__).resolve().parent.parent
#: where each sampledex package lives in the tree
PACKAGES = {"sampledex.models": ROOT / "models", "sampledex.pipeline": ROOT / "pipeline"}
#: modules on the runtime path: what an `index` worker loads (the training and tools sub-packages are not)
RUNTIME_FORBIDDEN = (
    "torch",
    "matplotlib",
    "music21",
    "fluidsynth",
    "sampledex.models.training",
    "sampledex.pipeline.tools",
)


def imported_modules(path: Path, package: str) -> set[str]:
    """Every module a source file imports, relative imports resolved against ``package``."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module) if p)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return names


def module_package(path: Path, root: Path, package: str) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join([package, *parts[:-1]]) if parts[-1] != "__init__" else ".".join([package, *parts[:-1]])


def test_models_never_import_the_pipeline():
    offenders = []
    for path in sorted((ROOT / "models").rglob("*.py")):
        package = module_package(path, ROOT / "models", "sampledex.models")
        offenders += [
            f"{path.relative_to(ROOT)} imports {name}"
            for name in imported_modules(path, package)
            if name.startswith("sampledex.pipeline")
        ]
    assert not offenders, offenders


def test_the_import_check_sees_relative_and_absolute_imports(tmp_path):
    """The direction test above can fail: it finds a pipeline import in each spelling."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from sampledex.pipeline import decode\nimport sampledex.pipeline.run\n"
        "def f():\n    from ...pipeline import catalog\n"
    )
    found = imported_modules(bad, "sampledex.models.training")
    assert {"sampledex.pipeline", "sampledex.pipeline.run", "sampledex.pipeline.catalog"} <= found


def test_the_runtime_path_imports_no_training_or_tool_module():
    """Statically: nothing the pipeline's runtime modules import names training, tools, torch or plotting
    at module level (the CLI's train/evaluate commands import them inside the command)."""
    offenders = []
    for path in sorted((ROOT / "pipeline").glob("*.py")):
        tree = ast.parse(path.read_text())
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        for node in top:
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            )
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(RUNTIME_FORBIDDEN)]
    assert not offenders, offenders


#: a sitecustomize that makes the given modules unimportable in every Python process it reaches
BLOCKER = """
import sys

class _Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.startswith(BLOCKED):
            raise ImportError(f"{name} is blocked: the runtime path must not import it")
        return None

sys.meta_path.insert(0, _Blocked())
"""


@pytest.mark.slow
def test_indexing_the_demo_library_never_imports_torch_or_training(tmp_path):
    """A worker's environment (`pip install .`, no extras) has no torch: indexing must not need it.

    torch, plotting and the training and tools sub-packages are made unimportable in the CLI and in
    every Dask worker it spawns (through a ``sitecustomize`` on ``PYTHONPATH``), and a real index run
    of the demo library must still analyse every file with the CNN.
    """
    import os

    lib, cat, site = tmp_path / "lib", tmp_path / "cat", tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "sampledex.pipeline.tools.demo", str(lib)], check=True, capture_output=True, timeout=120
    )
    site.mkdir()
    (site / "sitecustomize.py").write_text(f"BLOCKED = {RUNTIME_FORBIDDEN!r}\n" + BLOCKER)
    env = {**os.environ, "PYTHONPATH": str(site)}
    probe = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0 and "blocked" in probe.stderr  # the blocker works
    proc = subprocess.run(
        [
            str(Path(sys.executable).with_name("sampledex")),
            "index",
            str(lib),
            "--catalog",
            str(cat),
            "--workers",
            "2",
            "--key-method",
            "cnn",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "analysed 50" in proc.stdout and "failed 0" in proc.stdout


def test_readme_layout_table_matches_the_tree():
    """Each code folder's row in README's layout table names exactly the modules the folder holds."""
    import re

    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout") :]
    for folder in ("pipeline", "pipeline/tools", "pipeline/_sampledex", "models", "models/training"):
        row = next(line for line in layout.splitlines() if line.startswith(f"| `{folder}/` |"))
        named = set(re.findall(r"`([a-z_]+\.py)`", row))
        present = {p.name for p in (ROOT / folder).glob("*.py")} - {"__init__.py"}
        assert named == present, (folder, named ^ present)


def test_torch_is_only_a_training_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.startswith("torch")]
    assert any(d.startswith("torch") for d in project["optional-dependencies"]["train"])
    assert not [d for d in project["dependencies"] if d.startswith(("moto", "pytest"))]


def test_version_and_python_dash_m():
    from importlib.metadata import version

    for command in (
        [sys.executable, "-m", "sampledex", "--version"],
        [str(Path(sys.executable).with_name("sampledex")), "--version"],
    ):
        out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout
        assert out.strip() == f"sampledex {version('sampledex')}"


# -- one schema --------------------------------------------------------------------


def test_readme_catalog_table_is_the_schema():
    """README's table of ``samples`` is :func:`schema.markdown_table`, word for word (regenerate it with
    ``python -c "from sampledex.pipeline import schema; print(schema.markdown_table())"``)."""
    readme = (ROOT / "README.md").read_text()
    assert schema.markdown_table() in readme


def test_analyze_prints_the_schema_s_shown_columns():
    from sampledex.pipeline import cli

    assert schema.ANALYZE_COLUMNS[0] == "path" and "key" in schema.ANALYZE_COLUMNS
    assert set(schema.ANALYZE_COLUMNS) <= set(schema.SAMPLES.names)
    assert not hasattr(cli, "ANALYZE_COLUMNS")  # no second list to drift


def test_a_row_with_a_column_the_schema_lacks_is_an_error_not_a_dropped_value():
    with pytest.raises(schema.SchemaDriftError, match="tempo"):
        schema.table([{"path": "/a.wav", "key": "A minor"}, {"path": "/b.wav", "tempo": 120.0}])
    table = schema.table([{"path": "/a.wav", "key": "A minor"}])
    assert table.schema == schema.SAMPLES and table.column("bpm").to_pylist() == [None]


def test_every_row_the_analysis_writes_fits_the_schema(small_library):
    """The analysis's own dicts (analysed, failed and copied rows) go through the checked builder."""
    import fsspec

    from sampledex.pipeline import analyze, sources

    folder, _ = small_library
    entries = sources.list_source(str(folder))
    row = analyze.analyze_entry(fsspec.filesystem("file"), entries[0], method="classic")
    assert set(row) <= set(schema.SAMPLES.names)

"""The wheel carries everything a non-editable install needs: code, the demo corpus, the gold set.

CI (.ci/run) also installs the wheel in a fresh venv outside the source tree and asks the card
question; this test is the fast part of that check (build the wheel, read its file list).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(ROOT),
                    "-w", str(out)], check=True, capture_output=True, cwd=build)
    (path,) = out.glob("pressrag-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_holds_the_demo_corpus_its_prebuilt_index_and_gold_set(wheel):
    names = set(wheel.namelist())
    for folder in ("corpus", "demo_index"):
        shipped = sorted(p.relative_to(ROOT / "data").as_posix() for p in (ROOT / "data" / folder).rglob("*")
                         if p.is_file() and p.name != "write.lock")
        assert shipped and all(f"pressrag_data/{name}" in names for name in shipped), folder
    assert "pressrag_data/demo_index/fingerprint.json" in names
    assert "pressrag_data/gold/dev.jsonl" in names and "pressrag_data/SOURCE.md" in names


def test_wheel_holds_every_package_and_the_entry_points(wheel):
    names = set(wheel.namelist())
    for top in ("rag", "ingest", "pressrag", "ui"):
        for init in (ROOT / top).rglob("__init__.py"):
            if "__pycache__" not in init.parts:
                package = init.parent.relative_to(ROOT).as_posix()
                assert f"{package}/__init__.py" in names, f"{package} is missing: list it in pyproject.toml"
    assert "app.py" in names and "pressrag/__main__.py" in names
    fitted = sorted(p.name for p in (ROOT / "rag").glob("*.json"))
    assert {"answer_weights.json", "support_weights.json", "fusion_weights.json"} <= set(fitted)
    assert all(f"rag/{name}" in names for name in fitted), "fitted weights missing from the wheel"
    entry_points = next(wheel.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert "pressrag = pressrag.cli:main" in entry_points and "ask = rag.cli:ask_main" in entry_points
    metadata = next(wheel.read(n).decode() for n in names if n.endswith("/METADATA"))
    # rag.e5_st writes a safetensors file and loads the model through transformers (imported there)
    for dep in ("openai", "pdfminer.six", "filelock", "feedparser", "httpx", "safetensors", "transformers"):
        assert f"Requires-Dist: {dep}" in metadata, dep
    assert "Requires-Dist: langchain-community" in metadata and "extra == \"bench\"" in metadata
    assert "Requires-Dist: lxml" not in metadata


def test_demo_corpus_is_found_through_importlib_resources():
    from importlib import resources

    from rag.settings import DEMO_CORPUS, DEMO_GOLD

    assert Path(str(resources.files("pressrag_data") / "corpus")) == DEMO_CORPUS
    assert DEMO_CORPUS.is_dir() and DEMO_GOLD.is_file()


def _dist(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_library_the_shipped_code_imports_is_a_declared_dependency():
    """A library that the product imports but gets only through another package's requirements can vanish
    or jump a major version when that package changes its own (rag/e5_st.py imported transformers
    undeclared, through sentence-transformers, until 2026-12-07)."""
    import ast
    import re
    import tomllib
    from importlib.metadata import packages_distributions

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    declared = {_dist(re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0]) for r in requirements}
    ours = {"rag", "ingest", "ui", "pressrag", "pressrag_data", "app"}
    owners = packages_distributions()
    shipped = [p for package in ("rag", "ingest", "ui", "pressrag") for p in sorted((ROOT / package).rglob("*.py"))]
    undeclared: dict[str, set[str]] = {}
    for path in [*shipped, ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in ours:
                    continue
                if not {_dist(d) for d in owners.get(top, [top])} & declared:
                    undeclared.setdefault(top, set()).add(path.relative_to(ROOT).as_posix())
    assert not undeclared, f"imported by shipped code but not in pyproject.toml: {undeclared}"

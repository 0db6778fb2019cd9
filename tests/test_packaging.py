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
    for dep in ("openai", "pdfminer.six", "filelock", "feedparser", "httpx", "safetensors"):  # rag.e5_st writes one
        assert f"Requires-Dist: {dep}" in metadata, dep
    assert "Requires-Dist: langchain-community" in metadata and "extra == \"bench\"" in metadata
    for dropped in ("transformers", "lxml"):
        assert f"Requires-Dist: {dropped}" not in metadata, dropped


def test_demo_corpus_is_found_through_importlib_resources():
    from importlib import resources

    from rag.settings import DEMO_CORPUS, DEMO_GOLD

    assert Path(str(resources.files("pressrag_data") / "corpus")) == DEMO_CORPUS
    assert DEMO_CORPUS.is_dir() and DEMO_GOLD.is_file()

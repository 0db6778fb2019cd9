"""The assistant answers questions concurrently and swaps indexes atomically."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from rag.answer import ExtractiveAnswerer
from rag.build import IndexUpdater
from rag.retrieve import Retriever
from rag.service import Assistant
from tests.conftest import HashEmbedder

QUESTIONS = ["전자정부 2020의 5대 전략은?", "소방청 인도네시아 협력의향서 체결 내용은?", "국제소방안전박람회 참관객은?",
             "고용노동부 점검 결과는?", "What are the five strategies of e-Government 2020?", "협약 체결",
             "소방청 담당자 연락처", "예산 규모는?"]


def _assistant(index) -> Assistant:
    embedder = HashEmbedder()
    return Assistant(index, Retriever(index, embedder), ExtractiveAnswerer(embedder=embedder, idf=index.idf))


def test_eight_simultaneous_questions_get_the_answers_they_get_alone(fake_index):
    assistant = _assistant(fake_index)
    alone = [assistant.ask(q).answer for q in QUESTIONS]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda q: assistant.ask(q).answer, QUESTIONS))
    assert together == alone


def test_questions_do_not_wait_for_each_other(fake_index):
    """A question whose answerer is stuck does not hold up the next one (the lock is not held while answering)."""
    assistant = _assistant(fake_index)
    release, entered = threading.Event(), threading.Event()
    real = assistant.answerer

    class Slow:
        idf = real.idf

        def run(self, question, retrieval, index):
            if question == "slow":
                entered.set()
                release.wait(10)
            return real.run(question, retrieval, index)

    assistant._serving = type(assistant._serving)(fake_index, assistant.retriever, Slow())
    stuck = threading.Thread(target=assistant.ask, args=("slow",))
    stuck.start()
    assert entered.wait(10)
    assert assistant.ask(QUESTIONS[0]).citations  # answered while the other is still in flight
    release.set()
    stuck.join(10)


def test_a_swap_during_questions_serves_old_or_new_never_a_mix(fake_index, corpus_notices):
    assistant = _assistant(fake_index)
    small = IndexUpdater(HashEmbedder(), progress=False).build_in_memory(corpus_notices[:5])
    allowed = {id(fake_index): set(fake_index.notices), id(small): set(small.notices)}
    errors: list[str] = []

    def ask_many() -> None:
        for q in QUESTIONS * 2:
            serving = assistant._current()
            answer = serving.answerer.run(q, serving.retriever.run(q), serving.index)
            cited = {c.doc_id for c in answer.citations}
            if not cited <= allowed[id(serving.index)]:
                errors.append(q)

    workers = [threading.Thread(target=ask_many) for _ in range(4)]
    for w in workers:
        w.start()
    assistant.replace_index(small)
    assistant.replace_index(fake_index)
    for w in workers:
        w.join(60)
    assert not errors
    assert assistant.index is fake_index and assistant.retriever.index is fake_index
    assert assistant.retriever.options() == _assistant(fake_index).retriever.options()


def test_an_answer_from_a_reposted_notice_says_where_else_it_was_published(corpus_notices):
    from dataclasses import replace

    from ui.render import answer_markdown, render_answer_html

    notices = corpus_notices[:12]
    first = next(n for n in notices if n.url)
    repost = replace(first, doc_id=first.doc_id + "-repost", url="https://www.example.go.kr/press/1")
    filed = replace(first, doc_id="uploads/보도자료.txt", url="", source="/srv/pressrag/uploads/보도자료.txt")
    index = IndexUpdater(HashEmbedder(), progress=False).build_in_memory([*notices, repost, filed])
    answer = _assistant(index).ask(first.title)
    cited = next(c for c in answer.citations if c.doc_id in (first.doc_id, repost.doc_id, filed.doc_id))
    shown = {first.doc_id: first.url, repost.doc_id: repost.url, filed.doc_id: filed.source}
    assert set(cited.also) == set(shown.values()) - {shown[cited.doc_id]}  # the two other copies, not itself
    assert answer.to_dict()["citations"][0]["also"] == list(answer.citations[0].also)
    page = render_answer_html(answer, index.notices) + answer_markdown(answer)
    assert "https://www.example.go.kr/press/1" in page or cited.doc_id == repost.doc_id
    assert "/srv/pressrag" not in page  # a copy read from a file is shown by its name, not the server's path
    # a notice with no copy names none
    other = next(n for n in notices if n.doc_id != first.doc_id)
    assert all(not c.also for c in _assistant(index).ask(other.title).citations if c.doc_id == other.doc_id)

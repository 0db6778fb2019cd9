
import numpy as np
import pytest

from rag.build import IndexUpdater
from rag.folder import IndexFolder
from rag.index import IndexProblem, NoticeIndex, TokenRow
from tests.conftest import HashEmbedder

NOTICE_A = "소방청 보도자료\n소방청(청장 김승룡)은 13일 인도네시아 내무부와 재난관리 협력의향서(LOI)를 체결했다. 양측은 119 긴급신고체계 협력을 확대하기로 했다."
NOTICE_B = "행정안전부 보도자료\n행정안전부(장관 윤호중)는 「전자정부 2020 기본계획」을 발표했다. 5대 전략을 제시했다."


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "notices"
    folder.mkdir()
    (folder / "a.txt").write_text(NOTICE_A, encoding="utf-8")
    (folder / "b.txt").write_text(NOTICE_B, encoding="utf-8")
    return folder


def test_save_and_load_round_trip(tmp_path, corpus):
    embedder = HashEmbedder()
    result = IndexUpdater(embedder, progress=False).run(tmp_path / "idx", [corpus])
    assert result.notices_total == 2 and result.chunks_total >= 2
    index = NoticeIndex.load(tmp_path / "idx", expected_model=embedder.name)
    assert set(index.notices) == {"a.txt", "b.txt"}
    assert index.notices["a.txt"].agency == "소방청"
    assert len(index.chunks) == len(index.terms) == index.faiss_index.ntotal
    assert "소방청" in index.terms[0]
    top = sorted(f.name for f in (tmp_path / "idx").iterdir())
    snap = IndexFolder(tmp_path / "idx").current()
    assert top == sorted(["CURRENT", snap.name, "pressrag-index.json", "write.lock"])
    files = sorted(snap.iterdir())
    assert [f.name for f in files] == ["bm25s", "chunks.jsonl", "manifest.json", "notices.jsonl", "sentences.npy",
                                     "sentences_bare.npy", "vectors.faiss"]
    assert len(index.sentence_vectors) == sum(len(c.sentences) for c in index.chunks)
    assert not any(f.suffix in (".pkl", ".pickle") for f in files)


def test_rerun_embeds_nothing_and_changed_file_replaces_its_chunks(tmp_path, corpus):
    embedder = HashEmbedder()
    updater = IndexUpdater(embedder, progress=False)
    updater.run(tmp_path / "idx", [corpus])
    first = embedder.passages_embedded
    again = updater.run(tmp_path / "idx", [corpus])
    assert embedder.passages_embedded == first and again.files_unchanged == 2 and again.chunks_added == 0
    (corpus / "a.txt").write_text(NOTICE_A.replace("인도네시아", "베트남"), encoding="utf-8")
    changed = updater.run(tmp_path / "idx", [corpus])
    assert changed.files_indexed == 1 and changed.files_unchanged == 1
    index = NoticeIndex.load(tmp_path / "idx")
    assert "베트남" in index.notices["a.txt"].body and "인도네시아" not in index.notices["a.txt"].body
    assert not any("인도네시아" in c.text for c in index.chunks)
    assert len(index.notices) == 2


def test_prune_removes_deleted_files(tmp_path, corpus):
    updater = IndexUpdater(HashEmbedder(), progress=False)
    updater.run(tmp_path / "idx", [corpus])
    (corpus / "b.txt").unlink()
    kept = updater.run(tmp_path / "idx", [corpus])
    assert kept.notices_total == 2  # without --prune nothing is removed
    pruned = updater.run(tmp_path / "idx", [corpus], prune=True)
    assert pruned.files_removed == 1 and pruned.notices_total == 1
    assert set(NoticeIndex.load(tmp_path / "idx").notices) == {"a.txt"}


def test_a_bad_file_keeps_what_was_indexed_from_it(tmp_path, corpus):
    updater = IndexUpdater(HashEmbedder(), progress=False)
    updater.run(tmp_path / "idx", [corpus])
    (corpus / "a.txt").write_bytes(b"\x00\x01\x02" * 50)
    result = updater.run(tmp_path / "idx", [corpus])
    assert [s.path for s in result.skipped] == [str(corpus / "a.txt")]
    assert "a.txt" in NoticeIndex.load(tmp_path / "idx").notices


def test_tampered_or_half_written_index_is_refused(tmp_path, corpus):
    IndexUpdater(HashEmbedder(), progress=False).run(tmp_path / "idx", [corpus])
    snap = IndexFolder(tmp_path / "idx").current()
    chunks = snap / "chunks.jsonl"
    chunks.write_text(chunks.read_text(encoding="utf-8").replace("소방청", "경찰청"), encoding="utf-8")
    with pytest.raises(IndexProblem, match="checksum"):
        NoticeIndex.load(tmp_path / "idx")
    (snap / "vectors.faiss").unlink()
    with pytest.raises(IndexProblem, match="missing"):
        NoticeIndex.load(tmp_path / "idx")
    with pytest.raises(IndexProblem, match="no index"):
        NoticeIndex.load(tmp_path / "nowhere")
    (snap / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexProblem, match="unreadable"):
        NoticeIndex.load(tmp_path / "idx")
    (snap / "manifest.json").unlink()
    with pytest.raises(IndexProblem, match="manifest.json is missing"):
        NoticeIndex.load(tmp_path / "idx")


def test_model_mismatch_is_a_clear_error(tmp_path, corpus):
    IndexUpdater(HashEmbedder(), progress=False).run(tmp_path / "idx", [corpus])
    with pytest.raises(IndexProblem, match="embedding model 'test-hash-bigrams'.*'bundled-e5-small'"):
        NoticeIndex.load(tmp_path / "idx", expected_model="bundled-e5-small")


def test_crash_during_write_leaves_the_previous_index_usable(tmp_path, corpus, monkeypatch):
    updater = IndexUpdater(HashEmbedder(), progress=False)
    updater.run(tmp_path / "idx", [corpus])
    (corpus / "c.txt").write_text("고용노동부 보도자료\n고용노동부는 점검 결과를 발표했다.", encoding="utf-8")
    import faiss

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(faiss, "write_index", crash)
    with pytest.raises(OSError, match="disk full"):
        updater.run(tmp_path / "idx", [corpus])
    monkeypatch.undo()
    index = NoticeIndex.load(tmp_path / "idx")
    assert set(index.notices) == {"a.txt", "b.txt"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".idx")]  # no temp folders left behind
    assert [p.name for p in (tmp_path / "idx").iterdir() if p.name.startswith("snap-")] == [index_folder_current(tmp_path)]


def index_folder_current(tmp_path) -> str:
    return IndexFolder(tmp_path / "idx").current().name


def test_sentence_tokens_are_stored_with_body_offsets_and_survive_edits(tmp_path, corpus):
    from ingest.korean import search_terms

    embedder = HashEmbedder()
    IndexUpdater(embedder, progress=False).run(tmp_path / "idx", [corpus])
    index = NoticeIndex.load(tmp_path / "idx", expected_model=embedder.name)
    for doc_id, notice in index.notices.items():
        table = index.token_table(doc_id)
        assert table is not None
        for start, end in index.sentence_spans(doc_id):
            assert table.between(start, end) == frozenset(search_terms(notice.body[start:end]))
        # every stored token names the body text at its offsets (lower-cased Latin aside)
        assert all(notice.body[a:b].lower() == t for a, b, t in zip(table.starts, table.ends, table.terms))
    first = index.sentence_spans("b.txt")[0]
    assert index.token_table("b.txt").between(*first) == {"행정", "안전부", "보도", "자료"}  # "행정안전부 보도자료"
    index.remove_docs({"a.txt"})
    assert len(index.tokens) == len(index.chunks) and index.token_table("a.txt") is None
    assert index.token_table("b.txt").between(*first)


def test_a_term_is_one_string_object_however_often_it_occurs(tmp_path, corpus_notices):
    # what a chunk costs in memory decides how many a machine can hold (rag.index._shared_terms)
    built = IndexUpdater(HashEmbedder(), progress=False).build_in_memory(corpus_notices[:20])
    built.save(tmp_path / "idx")
    for index in (built, NoticeIndex.load(tmp_path / "idx")):
        seen: dict[str, str] = {}
        occurrences = [t for row in index.terms for t in row] + [k[2] for row in index.tokens if row for k in row]
        assert len(occurrences) > 2 * len(set(occurrences))
        assert all(seen.setdefault(t, t) is t for t in occurrences)
        assert all(type(k) is tuple for row in index.tokens if row for k in row)
        assert all(isinstance(row, TokenRow) for row in index.tokens)  # two int arrays and shared strings
    reloaded = NoticeIndex.load(tmp_path / "idx")
    assert reloaded.tokens == built.tokens and reloaded.tokens[0][:2] == list(built.tokens[0])[:2]


def test_token_table_returns_exactly_the_tokens_inside_any_span():
    import random

    from rag.index import TokenTable

    tiled = [(0, 2, "행정"), (2, 5, "안전부"), (6, 8, "보도"), (8, 10, "자료"), (11, 14, "발표")]
    nested = [*tiled, (0, 5, "행정안전부"), (0, 8, "행정안전부 보도")]  # ends out of order: the slow path answers the same
    rng = random.Random(0)
    for rows in (tiled, nested):
        table = TokenTable(rows)
        for _ in range(300):
            start = rng.randrange(0, 16)
            end = rng.randrange(start, 17)
            inside = frozenset(t for a, b, t in rows if a >= start and b <= end)
            assert table.between(start, end) == inside, (rows is nested, start, end)
    assert TokenTable(tiled)._ends_sorted and not TokenTable(nested)._ends_sorted
    assert TokenTable(nested).between(0, 5) == {"행정", "안전부", "행정안전부"}
    assert TokenTable(tiled).between(1, 10) == {"안전부", "보도", "자료"}


def test_an_index_stored_without_sentence_tokens_still_loads_and_answers_from_kiwi(tmp_path, corpus):
    import json

    embedder = HashEmbedder()
    IndexUpdater(embedder, progress=False).run(tmp_path / "idx", [corpus])
    snap = IndexFolder(tmp_path / "idx").current()
    rows = [json.loads(line) for line in (snap / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all("tokens" in row for row in rows)
    index = NoticeIndex.load(tmp_path / "idx")
    index.tokens = [None] * len(index.chunks)  # as an index saved before tokens were stored
    index._invalidate()
    assert index.token_table("b.txt") is None
    index.save(tmp_path / "idx")
    again = NoticeIndex.load(tmp_path / "idx")
    assert again.token_table("b.txt") is None and len(again.chunks) == len(index.chunks)


def test_each_vector_row_is_its_own_texts_vector_though_texts_are_embedded_longest_first(fake_index):
    # The builder hands the engine slices sorted by length (less padding); the rows must come back in
    # the chunks' and sentences' order. The demo corpus spans many slices of 128 texts at batch_size 32.
    from rag.build import _sentence_keys, passage_text

    embedder = HashEmbedder()
    index = fake_index
    assert len(index.chunks) > 128
    for i in (0, 1, len(index.chunks) // 2, len(index.chunks) - 1):
        assert np.allclose(index.vectors[i], embedder._vector(passage_text(index.chunks[i])))
    keys, _ = _sentence_keys(index.chunks)
    for row in (0, len(keys) // 3, len(keys) - 1):
        doc, start, end = keys[row]
        want = embedder._vector(index.notices[doc].body[start:end])
        assert np.allclose(index.bare_sentence_vectors[row].astype(np.float32), want, atol=1e-3)


def test_titles_two_notices_share_are_known_and_follow_edits(corpus_notices, fake_index):
    from dataclasses import replace

    from rag.index import title_key

    assert title_key(" 강변\n 공원 ") == "강변 공원"
    assert fake_index.shared_titles() == frozenset()  # no two demo notices share a title
    first, other = corpus_notices[0], corpus_notices[1]
    part = replace(first, doc_id=first.doc_id + "-part2", title=first.title.replace(" ", "  ") + "\n")
    index = IndexUpdater(HashEmbedder(), progress=False).build_in_memory([first, part, other])
    assert index.shared_titles() == {title_key(first.title)}
    assert index.in_parts(first.doc_id) and index.in_parts(part.doc_id)  # parts of one document
    assert not index.in_parts(other.doc_id) and not index.in_parts("no such notice")
    index.remove_docs({part.doc_id})
    assert index.shared_titles() == frozenset() and not index.in_parts(first.doc_id)


def test_a_notice_posted_twice_is_known_as_a_copy_and_follows_edits(corpus_notices, fake_index):
    from dataclasses import replace

    assert fake_index.copies() == {}  # the demo corpus holds each release once
    first, other = corpus_notices[0], corpus_notices[1]
    # the same release under another id, its lines wrapped differently: a copy
    repost = replace(first, doc_id=first.doc_id + "-repost", body=first.body.replace(" ", "\n", 3))
    # the same title over other text (a paragraph of one article): not a copy
    sibling = replace(other, doc_id=other.doc_id + "-part2", title=first.title)
    index = IndexUpdater(HashEmbedder(), progress=False).build_in_memory([first, repost, other, sibling])
    assert index.copies() == {first.doc_id: first.doc_id, repost.doc_id: first.doc_id}
    index.remove_docs({first.doc_id})
    assert index.copies() == {}


def test_the_ingest_summary_counts_reposted_notices(tmp_path):
    from rag.service import describe_ingest

    text = "소방청 보도자료\n2026-06-13\n소방청은 드론 화재진압 훈련을 실시했다. 시민 300명이 지켜봤다."
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "press.txt").write_text(text, encoding="utf-8")
    (corpus / "press (1).txt").write_text(text.replace(" ", "  "), encoding="utf-8")  # saved twice, spaced apart
    (corpus / "other.txt").write_text("행정안전부 보도자료\n2026-06-14\n행정안전부는 안전 점검을 했다.", encoding="utf-8")
    updater = IndexUpdater(HashEmbedder(), progress=False)
    result = updater.run(tmp_path / "idx", [corpus])
    assert result.notices_total == 3 and result.copies_total == 1
    assert "1 notice(s) repeat another's title and text" in describe_ingest(result)
    (corpus / "press (1).txt").unlink()
    result = updater.run(tmp_path / "idx", [corpus], prune=True)
    assert result.copies_total == 0 and "repeat another" not in describe_ingest(result)

"""Which notices are one release posted more than once (rag/copies.py), on the shipped corpus's notices."""

from __future__ import annotations

import random
from dataclasses import replace

from rag.copies import COPY_SIMILARITY, copy_groups, jaccard, shingles


def _brute_force(texts: dict[str, str], threshold: float) -> dict[str, str]:
    """Every pair compared, groups joined by hand: what prefix filtering must reproduce."""
    ids = [d for d, t in texts.items() if shingles(t)]
    group = {d: {d} for d in ids}
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            if jaccard(shingles(texts[a]), shingles(texts[b])) >= threshold and group[a] is not group[b]:
                merged = group[a] | group[b]
                for d in merged:
                    group[d] = merged
    return {d: min(group[d], key=ids.index) for d in ids if len(group[d]) > 1}


def _edited(text: str, rng: random.Random, edits: int) -> str:
    """``text`` with ``edits`` spans of a few characters replaced (a re-issue's changed figures and names)."""
    chars = list(text)
    for _ in range(edits):
        at = rng.randrange(len(chars))
        chars[at:at + 3] = list("변경됨")
    return "".join(chars)


def test_a_repost_with_a_footer_and_a_changed_figure_is_a_copy_and_a_rewrite_is_not(corpus_notices):
    body = max(corpus_notices, key=lambda n: len(n.body)).body
    assert len(body) > 1500
    footer = body + "\n[자료제공: (www.korea.kr)]"  # korea.kr's republication
    reissued = body.replace("2026", "2027", 1).replace("\n", " ")  # a figure corrected, lines joined
    cut = len(body) // 4
    rewritten = body[:cut] + body[cut:2 * cut][::-1] + body[2 * cut:]  # a quarter rewritten: other statements
    texts = {"original": body, "footer": footer, "other": corpus_notices[0].body, "reissued": reissued,
             "rewritten": rewritten, "empty": "", "also empty": " \n"}
    assert jaccard(shingles(body), shingles(footer)) > 0.98
    assert jaccard(shingles(body), shingles(rewritten)) < COPY_SIMILARITY
    assert copy_groups(texts) == {"original": "original", "footer": "original", "reissued": "original"}
    # the first of a group in index order names it, whichever came first
    assert copy_groups({"reissued": reissued, "original": body}) == {"reissued": "reissued", "original": "reissued"}


def test_prefix_filtering_finds_the_same_groups_as_comparing_every_pair(corpus_notices):
    rng = random.Random(7)
    bodies = [n.body for n in corpus_notices if len(n.body) > 400][:12]
    texts = {}
    for i, body in enumerate(bodies):
        texts[f"n{i}"] = body
        for j in range(rng.randrange(0, 4)):  # versions with 1 to 40 small edits: some copies, some not
            texts[f"n{i}v{j}"] = _edited(body, rng, rng.choice((1, 3, 10, 25, 40)))
    rng.shuffle(order := list(texts))
    texts = {d: texts[d] for d in order}
    for threshold in (0.8, COPY_SIMILARITY, 0.97):
        found = copy_groups(texts, threshold)
        assert found == _brute_force(texts, threshold), threshold
    # the sample holds both outcomes, so the comparison above was not vacuous
    found = copy_groups(texts)
    versions = [d for d in texts if "v" in d]
    assert any(d in found for d in versions) and any(d not in found for d in versions)


def test_the_index_lists_a_reposted_release_once_with_its_copy_named(corpus_notices):
    from rag.build import IndexUpdater
    from rag.retrieve import Retriever
    from tests.conftest import HashEmbedder

    first = max(corpus_notices, key=lambda n: len(n.body))
    repost = replace(first, doc_id=first.doc_id + "-bidpro", url="https://bidpro.example/notice/1",
                     body=first.body + "\n[자료제공: (www.korea.kr)]")
    others = [n for n in corpus_notices if n.doc_id != first.doc_id][:20]
    index = IndexUpdater(HashEmbedder(), progress=False).build_in_memory([first, repost, *others])
    assert index.copies() == {first.doc_id: first.doc_id, repost.doc_id: first.doc_id}
    result = Retriever(index, HashEmbedder()).run(first.title, k=10)
    listed = {h.chunk.doc_id for h in result.hits}
    assert len(listed & {first.doc_id, repost.doc_id}) == 1


def test_a_title_carried_by_hundreds_of_notices_counts_only_equal_texts_as_copies(corpus_notices, monkeypatch):
    import rag.copies

    body = max(corpus_notices, key=lambda n: len(n.body)).body
    texts = {"first": body, "spaced": body.replace(" ", "\n"), "footer": body + "\n[자료제공: (www.korea.kr)]"}
    assert copy_groups(texts) == {"first": "first", "spaced": "first", "footer": "first"}
    monkeypatch.setattr(rag.copies, "NEAR_COPY_GROUP", 2)  # a generic title's group: equal texts only
    assert copy_groups(texts) == {"first": "first", "spaced": "first"}


def test_a_correction_is_the_copy_listed_and_its_figure_the_one_quoted(corpus_notices):
    """"[정정] X" re-issues X with a figure changed: one release, and the correction is the version listed
    and quoted, even where the original ranks above it."""
    import re

    from rag.answer import ExtractiveAnswerer
    from rag.build import IndexUpdater
    from rag.index import is_correction, title_key
    from rag.retrieve import Retriever
    from tests.conftest import HashEmbedder

    assert title_key("[정정] 소방청, 필리핀과 협약") == title_key("소방청, 필리핀과 협약 (정정)") == "소방청, 필리핀과 협약"
    assert is_correction("(수정) 소방청, 필리핀과 협약") and not is_correction("수정안 발표")
    original = next(n for n in corpus_notices if "3,000만 원" in n.body or re.search(r"\d{2,},\d{3}", n.body))
    figure = re.search(r"\d{1,3}(?:,\d{3})+", original.body).group(0)
    corrected_figure = figure[:-1] + ("1" if figure[-1] != "1" else "2")
    correction = replace(original, doc_id=original.doc_id + "-c", title="[정정] " + original.title,
                         body=original.body.replace(figure, corrected_figure, 1),
                         published=original.published, url="https://www.korea.kr/corrected")
    others = [n for n in corpus_notices if n.doc_id != original.doc_id][:20]
    index = IndexUpdater(HashEmbedder(), progress=False).build_in_memory([correction, original, *others])
    assert set(index.copies()) == {original.doc_id, correction.doc_id}
    assert index.current_copy(original.doc_id) == index.current_copy(correction.doc_id) == correction.doc_id
    # asked in the original's own words (its figure), the original ranks first of the two ...
    sentence = next(s for s in re.split(r"(?<=다\.)\s+", original.body) if figure in s)
    unpreferred = IndexUpdater(HashEmbedder(), progress=False).build_in_memory([correction, original, *others])
    unpreferred.current_copy = lambda doc_id: None
    assert Retriever(unpreferred, HashEmbedder()).run(sentence, k=10).hits[0].chunk.doc_id == original.doc_id
    # ... and still the correction is the version listed and quoted
    retrieval = Retriever(index, HashEmbedder()).run(sentence, k=10)
    listed = {h.chunk.doc_id for h in retrieval.hits}
    assert correction.doc_id in listed and original.doc_id not in listed
    answer = ExtractiveAnswerer(embedder=HashEmbedder(), idf=index.idf).run(sentence, retrieval, index)
    assert not answer.refused and corrected_figure in answer.answer and figure not in answer.answer
    # its source does not call the uncorrected original "also published"
    from rag.service import with_copies
    assert with_copies(answer, index).citations[0].also == ()
    # `pressrag list` names what supersedes the original
    from rag.manage import list_notices
    listed = {n.doc_id: n.superseded_by for n in list_notices(index, None)}
    assert listed[original.doc_id] == correction.doc_id and listed[correction.doc_id] == ""
    assert not any(listed[n.doc_id] for n in others)
    # two copies on the same day and without a mark (a repost): neither supersedes, the best-ranked is listed
    repost = replace(original, doc_id=original.doc_id + "-r", body=original.body + "\n[자료제공: (www.korea.kr)]")
    plain = IndexUpdater(HashEmbedder(), progress=False).build_in_memory([original, repost, *others])
    assert plain.current_copy(original.doc_id) is None
    # a re-issue published later, unmarked, supersedes the earlier post
    later = replace(repost, published="2099-12-31")
    reissued = IndexUpdater(HashEmbedder(), progress=False).build_in_memory([original, later, *others])
    assert reissued.current_copy(original.doc_id) == later.doc_id

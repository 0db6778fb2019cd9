"""See also: the notices retrieval ranked close to an answer's, listed under it, never cited."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from rag.index import NoticeIndex
from rag.related import SeeAlso
from rag.settings import SettingsProblem, load_settings
from rag.types import Answer, Citation, Hit, Retrieval
from tests.test_generate import MAFRA, MOIS, NFA, make_notice
from ui.render import answer_markdown, render_answer_html

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "eval"))

MOIS_2 = make_notice("mois-2026-002", "행정안전부, 전자정부 협력센터 개소", "행정안전부", "2026-06-10", [
    "행정안전부는 10일 해외 전자정부 협력센터를 열었다.",
    "협력센터는 전자정부 수출을 돕는다.",
])


def world(scored: list[tuple[tuple, float]]) -> tuple[NoticeIndex, Retrieval]:
    """An index of the given notices and a retrieval that scored each one's chunk as given, best first."""
    notices = [n for n, _ in scored]
    index = NoticeIndex.empty("hash-chars", 4, {})
    index.add([n for n, _ in notices], [c for _, c in notices], [[] for _ in notices],
              np.zeros((len(notices), 4), np.float32))
    hits = [Hit(chunk=c, score=s) for (_, c), s in scored]
    return index, Retrieval(query="q", hits=hits, doc_ids=[n.doc_id for n, _ in notices])


def answered(index: NoticeIndex, *doc_ids: str) -> Answer:
    citations = [Citation.from_notice(i, index.notices[d], index.notices[d].body[:20]) for i, d in enumerate(doc_ids, 1)]
    return Answer(question="q", answer="답. [1]", refused=False, citations=citations)


def test_lists_the_close_notices_the_answer_does_not_quote_in_retrieval_order():
    index, retrieval = world([(MOIS, 10.0), (MOIS_2, 9.0), (NFA, 7.6), (MAFRA, 7.4)])
    out = SeeAlso(share=0.75).run(answered(index, MOIS[0].doc_id), retrieval, index)
    assert [c.doc_id for c in out.related] == [MOIS_2[0].doc_id, NFA[0].doc_id]  # 0.9 and 0.76 of the best; 0.74 not
    assert [c.n for c in out.related] == [2, 3]  # numbered after the citations, so no [1] means two things
    assert out.related[0].quote == "행정안전부는 10일 해외 전자정부 협력센터를 열었다."  # the passage's first sentence
    assert out.related[0].spans == ((0, len(out.related[0].quote)),)
    assert [c.doc_id for c in out.citations] == [MOIS[0].doc_id]  # citations untouched


def test_a_quoted_notice_is_not_listed_again_and_the_limit_holds():
    index, retrieval = world([(MOIS, 10.0), (MOIS_2, 9.5), (NFA, 9.0), (MAFRA, 8.5)])
    out = SeeAlso(share=0.75, limit=1).run(answered(index, MOIS[0].doc_id, MOIS_2[0].doc_id), retrieval, index)
    assert [c.doc_id for c in out.related] == [NFA[0].doc_id]


def test_a_refusal_and_a_zero_share_list_nothing_new():
    index, retrieval = world([(MOIS, 10.0), (MOIS_2, 9.0)])
    nearest = [Citation.from_notice(1, index.notices[MOIS[0].doc_id], "…")]
    refusal = Answer(question="q", answer="찾지 못했습니다.", refused=True, citations=[], related=nearest)
    assert SeeAlso().run(refusal, retrieval, index) is refusal
    answer = answered(index, MOIS[0].doc_id)
    assert SeeAlso(share=0.0).run(answer, retrieval, index).related == []
    # a notice scored alone lists nothing; nor does a retrieval whose scores are not positive
    alone_index, alone = world([(MOIS, 10.0)])
    assert SeeAlso().run(answered(alone_index, MOIS[0].doc_id), alone, alone_index).related == []
    flat_index, flat = world([(MOIS, 0.0), (MOIS_2, 0.0)])
    assert SeeAlso().run(answered(flat_index, MOIS[0].doc_id), flat, flat_index).related == []


def test_bad_shares_are_refused_with_their_name(monkeypatch):
    with pytest.raises(ValueError, match="share"):
        SeeAlso(share=1.5)
    monkeypatch.setenv("PRESSRAG_SEE_ALSO", "2")
    with pytest.raises(SettingsProblem, match="PRESSRAG_SEE_ALSO"):
        load_settings()
    monkeypatch.setenv("PRESSRAG_SEE_ALSO", "0")
    assert load_settings().see_also == 0.0


def test_the_chat_shows_see_also_folded_under_an_answer_and_nearest_notices_open_under_a_refusal():
    index, retrieval = world([(MOIS, 10.0), (MOIS_2, 9.0)])
    out = SeeAlso().run(answered(index, MOIS[0].doc_id), retrieval, index)
    html = render_answer_html(out, index.notices)
    assert "See also" in html and "Nearest notices" not in html
    see_also = html[html.index("See also"):]
    assert 'data-doc="mois-2026-002"' in see_also and 'data-doc="mois-2026-002" open' not in see_also
    refusal = Answer(question="q", answer="찾지 못했습니다.", refused=True, citations=[], related=out.related)
    html = render_answer_html(refusal, index.notices)
    assert "Nearest notices" in html and 'data-doc="mois-2026-002" open' in html
    # the downloaded answer lists them after its sources, under the same heading
    text = answer_markdown(out)
    assert text.index("## 출처 (Sources)") < text.index("## 함께 볼 보도자료 (See also") < text.index("협력센터 개소")
    assert "## 가장 가까운 보도자료 (Nearest notices)" in answer_markdown(refusal)


def test_the_share_is_chosen_where_single_notice_answers_rarely_show_see_also():
    from fit_see_also import Seen, choose, recall, shown

    def seen(gold, cited, others):
        return Seen("A", frozenset(gold), frozenset(cited), tuple(others))

    one = [seen({"a"}, {"a"}, [("b", 0.9)]), seen({"c"}, {"c"}, [("d", 0.7)]), seen({"e"}, {"e"}, [])]
    assert shown(one, 0.8) == (1 / 3, 1 / 3) and shown(one, 0.6) == (2 / 3, 2 / 3)
    assert choose([one], most_shown=0.4, shares=(0.6, 0.8, 0.95)) == 0.8
    assert choose([one], most_shown=0.0, shares=(0.6, 0.8, 0.95)) == 0.95
    several = [seen({"a", "b", "c"}, {"a"}, [("b", 0.9), ("x", 0.85), ("c", 0.7)])]
    assert recall(several, 0.8) == (1, 2, 0.5)  # b of b and c listed; b of b and x is gold
    assert recall(several, 0.6)[:2] == (2, 2)

"""The normalisation rules over the whole demo corpus: what each changes, checked on real notices.

The review fixture (tests/data/normalize_review.json) holds up to 30 changes per rule, drawn with a
fixed seed, each read by a person and marked "ok". A rule change that alters any of them fails
here until the sample is rewritten (``python eval/explain_normalize.py --write-review
tests/data/normalize_review.json data/corpus``) and the new entries are read.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from ingest import normalize as N
from ingest.models import Notice

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "corpus"
REVIEW = ROOT / "tests" / "data" / "normalize_review.json"


def _explain_module():
    spec = importlib.util.spec_from_file_location("explain_normalize", ROOT / "eval" / "explain_normalize.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


EX = _explain_module()


@lru_cache(maxsize=1)
def corpus_changes() -> tuple:
    return tuple(EX.changes_of([CORPUS]))


@lru_cache(maxsize=1)
def notices() -> dict[str, Notice]:
    from ingest.readers import read_paths

    return {n.doc_id: n for n in read_paths([CORPUS]).notices}


@lru_cache(maxsize=1)
def raw_bodies() -> dict[str, str]:
    return {EX.notice_of(r.key): r.text for r in EX.raw_texts(CORPUS) if r.key.endswith("#body")}


def test_every_rule_is_reviewed_and_the_sample_still_matches_the_rules() -> None:
    fixture = json.loads(REVIEW.read_text(encoding="utf-8"))
    sample = EX.review_sample(list(corpus_changes()))
    strip = [{k: v for k, v in e.items() if k != "verdict"} for e in fixture]
    assert strip == sample, "a rule now changes other text: rewrite the review sample and read it"
    assert {e["verdict"] for e in fixture} == {"ok"}
    per_rule = {rule.__name__: sum(e["rule"] == rule.__name__ for e in fixture) for rule in N.RULES}
    counts = {r.rule: r.changes for r in EX.audit(corpus_changes())}
    for name, n in per_rule.items():
        assert n == min(EX.REVIEW_PER_RULE, counts[name]), name


def test_audit_table_counts_notices_and_characters() -> None:
    rows = {r.rule: r for r in EX.audit(corpus_changes())}
    assert [r for r in rows] == [rule.__name__ for rule in N.RULES]
    assert rows["fullwidth_question_as_middle_dot"].notices == 3
    assert rows["fullwidth_question_as_middle_dot"].changes == 8
    assert rows["repeated_stretch_once"].notices == 1
    assert rows["repeated_stretch_once"].chars > 1700
    # the demo corpus has no CRs, zero-width or control characters: rules that find nothing stay at 0
    assert rows["drop_zero_width"].changes == 0
    table = EX.audit_markdown(list(rows.values()), 154)
    assert table.splitlines()[0].startswith("| rule (154 notices) | notices changed |")


# --------------------------------------------------------------------------- the cases


def test_seed_page_keeps_the_space_before_a_year_apostrophe() -> None:
    seed = next(n for n in notices().values() if n.source_type == "bidpro")
    assert "추진할 ’16년도" in seed.body
    assert not any("’16" in c.old + c.new for _, c in corpus_changes())


FULLWIDTH_DOTS = {
    "koreakr-156766280": ["원·하청", "유사·동일"],
    "koreakr-156767124": ["발굴·지원", "전기·가스·주택", "중앙정부·지방정부"],
    "koreakr-156765959": ["투자·출연기관"],
}


@pytest.mark.parametrize("doc_id, words", FULLWIDTH_DOTS.items())
def test_fullwidth_question_marks_the_feed_put_for_middle_dots_are_dots(doc_id: str, words: list[str]) -> None:
    body = notices()[doc_id].body
    for word in words:
        assert word in body
    assert "？" not in body and not re.search(r"[가-힣]\?[가-힣]", body)


def test_fullwidth_question_marks_touching_a_space_stay_question_marks() -> None:
    # "최저임금의 ？사업의 종류별 구분？ 여부": not between two words, so not a lost middle dot
    body = notices()["koreakr-156766814"].body
    assert "최저임금의 ?사업의 종류별 구분? 여부" in body


def test_a_body_pasted_twice_is_kept_once() -> None:
    raw = raw_bodies()["koreakr-156766793"]
    body = notices()["koreakr-156766793"].body
    assert raw.count("정부는 기후변화로") == 2
    assert body.count("정부는 기후변화로") == 1
    assert body.count("박회성(044-205-4251)") == 1 and body.endswith("[자료제공: (www.korea.kr)]")
    report = N.normalize_report(raw)
    assert report.text == body
    # reported for the ingest summary: the normalised length of the dropped copy
    assert report.repeated_chars_dropped == len(N.normalize_text(raw)) - len(body) + report.repeated_chars_dropped
    assert 1700 < report.repeated_chars_dropped < 1900


def test_no_genuine_release_repeats_anywhere_near_the_threshold() -> None:
    # the threshold sits far from both sides: genuine releases repeat under a quarter of it
    before_repeat = N.RULES[: N.RULES.index(N.repeated_stretch_once)]
    longest = {}
    for key, raw in raw_bodies().items():
        text = raw
        for rule in before_repeat:
            text = rule(text)
        spans = N.find_repeated_stretches(text, min_chars=1)
        longest[key] = max((end - start for start, end in spans), default=0)
    doubled = longest.pop("koreakr-156766793")
    assert doubled > 1700
    assert max(longest.values()) < N.MIN_REPEAT_CHARS / 4


def test_a_phone_written_with_a_letter_o_is_repaired_in_the_contact_only() -> None:
    notice = notices()["koreakr-156762520"]
    assert "유자영(O44-205-7658)" in notice.body  # the quoted text stays as the source wrote it
    phones = {c.name: c.phone for c in notice.contacts}
    assert phones["유자영"] == "044-205-7658"
    assert phones["박용주"] == "044-205-7640"
    assert "O44" not in " ".join(phones.values())


def test_normalize_text_is_explain_without_the_log() -> None:
    for raw in list(raw_bodies().values())[:40]:
        assert N.explain(raw)[0] == N.normalize_text(raw)

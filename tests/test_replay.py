"""Recorded model replies: the replay server, `pressrag eval --mode generative --replay`, and the
support check with the real embedder and the fitted weights on the recorded real-model sentences."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.generate import GenerativeAnswerer, LLMSettings
from rag.prompt import build_messages, build_passages
from rag.replay import ReplayServer, load_recordings, prompt_key
from rag.support import SupportModel
from tests.test_generate import FakeExtractive, MOIS, NFA, MAFRA, QUESTION, world

ROOT = Path(__file__).resolve().parents[1]
RECORDED = ROOT / "eval" / "llm" / "dev_recorded.jsonl"


def run_pressrag(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", **(env or {})}
    return subprocess.run([sys.executable, "-m", "pressrag", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600, env=environ)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def _record(messages, output: str) -> dict:
    return {"id": "q1", "model": "recorded-model", "output": output,
            "messages": [{"role": r, "content": c} for r, c in messages]}


def test_replay_answers_a_recorded_prompt_and_404s_any_other(tmp_path):
    from langchain_openai import ChatOpenAI
    from openai import NotFoundError

    messages = [("system", "rules"), ("user", "질문: 전자정부 2020의 5대 전략은?")]
    path = tmp_path / "rec.jsonl"
    path.write_text(json.dumps(_record(messages, "다섯 가지 전략입니다.[1]"), ensure_ascii=False) + "\n", encoding="utf-8")
    with ReplayServer(load_recordings(path)) as server:
        chat = ChatOpenAI(base_url=server.base_url, model=server.model, api_key="x", max_retries=0)
        assert chat.invoke(messages).content == "다섯 가지 전략입니다.[1]"
        assert "".join(c.content for c in chat.stream(messages)) == "다섯 가지 전략입니다.[1]"
        with pytest.raises(NotFoundError):
            chat.invoke([("system", "rules"), ("user", "질문: 다른 질문")])
        assert (server.requests, server.misses) == (3, 1)
    assert prompt_key([{"role": "user", "content": [{"type": "text", "text": "a"}]}]) == \
        prompt_key([{"role": "user", "content": "a"}])


def test_a_malformed_recording_names_its_line(tmp_path):
    path = tmp_path / "rec.jsonl"
    path.write_text('{"messages": [], "output": ""}\n{"output": "x"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"rec.jsonl:2"):
        load_recordings(path)


def test_a_prompt_that_drifted_since_recording_falls_back_to_the_extractive_answer(tmp_path):
    index, retrieval = world(MOIS, NFA, MAFRA)
    old = build_messages("다른 질문입니다", build_passages(retrieval, index, 6))
    with ReplayServer([_record(old, "행정안전부는 발표했다.[1]")]) as server:
        settings = LLMSettings(base_url=server.base_url, model=server.model, timeout_s=10)
        from tests.test_generate import HashEmbedder

        answer = GenerativeAnswerer(settings, HashEmbedder(), FakeExtractive()).run(QUESTION, retrieval, index)
    assert answer.mode == "extractive" and "HTTP 404" in answer.note and server.misses == 1


def test_support_weights_file_is_a_fitted_model():
    data = json.loads((ROOT / "rag" / "support_weights.json").read_text(encoding="utf-8"))
    assert data["fitted_by"] == "eval/fit_support.py" and "provisional" not in data
    model = SupportModel.load()
    assert 0.0 < model.threshold < 1.0
    # held-out half: the figures the issue asks for, as fitted
    held_out = data["halves"]["B"]
    assert held_out["supported accepted"]["n"] > 0 and held_out["other unsupported rejected (all)"]["n"] > 0


def test_eval_generative_replays_recorded_replies_on_the_demo_index(demo_index_dir, tmp_path):
    out = tmp_path / "report.json"
    proc = run_pressrag("eval", "--mode", "generative", "--replay", str(RECORDED), "--index", str(demo_index_dir),
                        "--limit", "12", "--json-out", str(out))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["mode"] == "generative" and report["n"] == 12
    # The demo index still builds the recorded prompts, except where retrieval changed since the recording
    # (a prompt quotes the retrieved passages in rank order): dev-025's since Kiwi dropped its default
    # dictionary (2026-12-03); dev-007, dev-016 and dev-031's since fusion weighs adjacent term pairs and
    # named days (2026-12-04); dev-010 and dev-028's since a list marker starts the sentence it marks
    # (2026-12-04: chunks now begin "○ …" where they began with the item's text); dev-013 and dev-019's
    # since a quoted name that opens a sentence stays with it (2026-12-05: "『사회적가치형 일경험
    # 지원사업』은 …" was split after the name); dev-022's since a footnote after a sentence's stop starts
    # a sentence of its own (2026-12-06). Their answers fall back to extractive; re-record with
    # eval/record_llm.py.
    stale = {q["id"] for q in report["questions"] if "HTTP 404" in (q.get("note") or "")}
    assert report["replay"]["misses"] == len(stale) == 9
    assert stale == {"dev-007", "dev-010", "dev-013", "dev-016", "dev-019", "dev-022", "dev-025", "dev-028",
                     "dev-031"}
    g = report["generative"]
    assert g["answers"] == 12 and g["sentences"] > 12 and 0.0 < g["fallback_rate"] < 1.0
    assert 0.0 < g["unsupported_sentence_rate"] < 1.0
    assert "generative:" in proc.stdout and "rejected by the support check" in proc.stdout
    recorded = {r["question"] for r in load_recordings(RECORDED)}
    assert all(q["question"] in recorded for q in report["questions"])


def test_eval_generative_without_a_model_says_what_to_set(demo_index_dir):
    proc = run_pressrag("eval", "--mode", "generative", "--index", str(demo_index_dir), "--limit", "1",
                        env={"PRESSRAG_LLM_BASE_URL": "", "PRESSRAG_LLM_MODEL": ""})
    assert proc.returncode == 2 and "PRESSRAG_LLM_BASE_URL" in proc.stderr and "Traceback" not in proc.stderr


def test_the_shipped_support_model_reports_what_the_check_does_on_the_shipped_labels(demo_index_dir):
    """rag/support_weights.json states its figures per half and set; on the dev sentences (the labelled
    set that ships) the product's check with those weights must give exactly those figures."""
    from eval.fit_support import checker, evaluate, load_items

    data = json.loads((ROOT / "rag" / "support_weights.json").read_text(encoding="utf-8"))
    items, counts = load_items([("dev", RECORDED, demo_index_dir, ROOT / "eval" / "llm" / "dev_labels.jsonl")])
    assert counts["supported"] > 20 and counts["perturbed"] > 10
    halves = evaluate(items, checker(SupportModel.load()))
    for half in ("A", "B"):
        assert halves[f"{half}/dev"] == data["halves"][f"{half}/dev"]
    held_out = halves["B/dev"]
    assert held_out["supported accepted"]["rate"] >= 0.8
    assert held_out["wrong fact rejected (perturbed)"]["rate"] >= 0.9


def test_the_issue_cases_with_the_real_embedder_and_the_fitted_weights(demo_index_dir):
    """The scripted replies of issue 14 over the demo index, checked by the shipped support model."""
    from rag.service import open_assistant
    from rag.settings import load_settings
    from tests.openai_stub import OpenAIStub

    question = "전자정부 2020 기본계획의 5대 전략은?"
    paraphrase = ("행정자치부는 전자정부 2020 기본계획에서 정부서비스 Re-디자인, 인지·예측기반 지능행정 실현 등 "
                  "5대 전략을 제시했다 [1].")
    invented = "이 계획의 총 예산은 9조 8천억 원이다 [1]."
    with OpenAIStub() as stub:
        settings = load_settings(index=demo_index_dir, llm="openai-compatible", llm_base_url=stub.base_url,
                                 llm_model="stub")
        assistant = open_assistant(settings, progress=False)
        stub.reply(f"{paraphrase} {invented}")
        answer = assistant.ask(question)
        assert answer.mode == "generative" and not answer.refused
        assert "5대 전략을 제시했다" in answer.answer and "9조" not in answer.answer
        assert [s.supported for s in answer.generated] == [True, False] and "9조" in answer.generated[1].reason

        stub.reply(f"{invented} 이 계획은 2030년까지 공무원 5만 명을 감축한다 [1].")
        answer = assistant.ask(question)
        assert answer.mode == "extractive" and not answer.refused and "showing the extractive answer" in answer.note
        assert [s.supported for s in answer.generated] == [False, False]

        stub.reply("전자정부 2020은 5대 전략으로 구성된다 [7].")  # a passage number that does not exist
        answer = assistant.ask(question)
        assert answer.mode == "extractive" and "which no retrieved notice has" in answer.generated[0].reason

"""Kiwi analysis in a helper process (ingest.korean.start_helper / prefetch), as a cold `ask` uses it.

Each case runs in a fresh interpreter: the helper only starts in a process that has no Kiwi yet,
and the test process has usually loaded one already.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "국제소방안전박람회 2026의 일반 관람객 입장료는 얼마였나요?"


def _run(script: str) -> dict:
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


_PREFIX = f"""
import json, sys
import ingest.korean as k
from rag.question import focus_terms
q = {QUESTION!r}
"""


def test_the_helper_analyses_the_question_and_this_process_never_loads_kiwi():
    out = _run(_PREFIX + """
started = k.start_helper()
sent = k.prefetch([q])
real = k.get_kiwi
def refuse():
    raise AssertionError("Kiwi loaded in the asking process")
k.get_kiwi = refuse
terms, focus = k.search_terms(q), focus_terms(q)
k.get_kiwi = real
k._memo.clear()
print(json.dumps({"started": started, "sent": sent, "terms": terms, "focus": focus,
                  "direct": k.search_terms(q), "direct_focus": focus_terms(q)}, ensure_ascii=False))
""")
    assert out["started"] and out["sent"]
    assert out["terms"] == out["direct"] and "입장료" in out["terms"]
    assert out["focus"] == out["direct_focus"] == ["입장료"]


def test_a_failing_helper_falls_back_to_analysing_here():
    out = _run(_PREFIX + """
k._WORKER = (sys.executable, "-c", "import sys; sys.stdin.read(); sys.exit(3)")
sent = k.prefetch([q])
terms = k.search_terms(q)
k._memo.clear()
print(json.dumps({"sent": sent, "terms": terms, "direct": k.search_terms(q)}, ensure_ascii=False))
""")
    assert out["sent"] and out["terms"] == out["direct"] and out["terms"]


def test_a_helper_never_sent_a_question_exits_and_none_starts_once_kiwi_is_here():
    out = _run(_PREFIX + """
k.start_helper()
proc = k._helper
proc.stdin.close()  # what the end of `ask --help` does to it
code = proc.wait(timeout=120)
k._helper = None
k.get_kiwi()
print(json.dumps({"code": code, "again": k.start_helper(), "prefetch": k.prefetch([q])}))
""")
    assert out == {"code": 0, "again": False, "prefetch": False}


def test_texts_analysed_as_one_batch_get_the_terms_each_gets_alone(corpus_notices, monkeypatch):
    import ingest.korean as k

    # 300 real paragraphs (more than one slice of the batch), with blank ones and English among them
    paragraphs = [p for n in corpus_notices for p in n.body.split("\n")][:300]
    texts = paragraphs[:150] + ["", "   ", "What are the five strategies of e-Government 2020?"] + paragraphs[150:]
    alone_terms = [k._terms(k.tokenize(t)) for t in texts]
    alone_tokens = [[(tok.start, tok.start + tok.len, tok.form.lower()) for tok in k.tokenize(t) if k._is_search_term(tok)]
                    for t in texts]
    assert k.search_terms_many(iter(texts)) == alone_terms
    assert k.search_tokens_many(texts) == alone_tokens
    assert k.sentence_spans_many(texts[:40]) == [k.sentence_spans(t) for t in texts[:40]]
    monkeypatch.setattr(k, "kiwi_workers", lambda: 0)  # one core: Kiwi's single-thread mode takes no batch
    assert k.search_terms_many(texts) == alone_terms
    assert k.sentence_spans_many(texts[:40]) == [k.sentence_spans(t) for t in texts[:40]]


def test_a_forked_child_analyses_a_batch_and_exits_cleanly():
    # Kiwi's worker threads do not survive a fork: the child must load its own Kiwi for a batch, and must
    # not free the inherited one at exit (its destructor would abort the child)
    script = """
import json, os, sys, time
import ingest.korean as k
k.search_terms_many(["첫 문장이다.", "둘째 문장이다."])
pid = os.fork()
if pid == 0:
    ok = k.search_terms_many(["행정안전부가 발표했다.", "소방청"]) == [["행정", "안전부", "발표"], ["소방청"]]
    sys.exit(0 if ok else 3)
deadline = time.time() + 60
while time.time() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    time.sleep(0.1)
else:
    os.kill(pid, 9)
    status = "hung"
print(json.dumps({"status": status}))
"""
    assert _run(script) == {"status": 0}

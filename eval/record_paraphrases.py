"""Ask a real chat model to reword supported sentences of recorded replies, for the labelled set.

    python eval/record_paraphrases.py RECORDINGS LABELS --out PARAPHRASES --base-url URL --model NAME

The small model recorded by eval/record_llm.py mostly copies its passages, so its supported
sentences are near-verbatim, and a support check fitted on them alone would learn to demand copies.
A faithful model paraphrases. This asks the same model to reword each supported Korean sentence
(keeping numbers and names) and writes each reworded reply as a recording record (variant
``paraphrase``, id ``RECORD/paraK``, ``focus_k`` = the sentence), so fit_support.py's sheet and
labels treat it like any other: the labeller decides whether the rewording is still supported
(a rewording can drop, add or change a fact; those are labelled as such).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.record_llm import endpoint_arguments  # noqa: E402

PROMPT = ("다음 문장을 뜻은 그대로 두고 다른 단어와 어순으로 다시 써 주세요. 숫자, 날짜, 이름은 바꾸지 마세요. "
          "다시 쓴 문장 하나만 쓰세요.\n\n문장: {sentence}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("recordings", type=Path)
    parser.add_argument("labels", type=Path)
    endpoint_arguments(parser, max_tokens=120)
    args = parser.parse_args(argv)

    from langchain_openai import ChatOpenAI

    from eval.fit_support import _HEADER_LINE
    from rag.support import MARKER, THINK, hangul_share, split_sentences
    from rag.replay import load_recordings

    records = {r["id"]: r for r in load_recordings(args.recordings)}
    labels = [json.loads(line) for line in args.labels.read_text(encoding="utf-8").splitlines() if line.strip()]
    done = set()
    if args.out.exists():
        done = {json.loads(line)["id"] for line in args.out.read_text(encoding="utf-8").splitlines() if line.strip()}
    chat = ChatOpenAI(base_url=args.base_url, model=args.model, api_key="not-needed", timeout=600, max_retries=0,
                      temperature=0.0, extra_body={"max_tokens": args.max_tokens})  # see record_llm.py
    chosen = [mark for mark in labels if mark.get("label") == "supported" and mark["record"] in records
              and "/" not in mark["record"]]
    written = 0
    for mark in chosen:
        if args.limit and written >= args.limit:
            break
        record = records[mark["record"]]
        text = THINK.sub("", record["output"]).strip()
        sentences = split_sentences(text)
        k = int(mark["k"])
        s = sentences[k]
        if len(s.clean) < 20 or _HEADER_LINE.match(s.clean) or hangul_share(s.clean) < 0.5:
            continue
        record_id = f"{record['id']}/para{k}"
        if record_id in done:
            continue
        started = time.perf_counter()
        try:
            reply = str(chat.invoke([("user", PROMPT.format(sentence=s.clean))]).content)
        except Exception as exc:  # noqa: BLE001 - not recorded: a rerun asks again
            print(f"{record_id}: {type(exc).__name__}: {str(exc)[:200]}", flush=True)
            continue
        lines = [line.strip() for line in THINK.sub("", reply).splitlines() if line.strip()]
        if not lines:
            continue
        reworded = re.sub(r"^(문장|다시 쓴 문장)\s*:\s*", "", lines[0]).strip()
        markers = "".join(m.group(0) for m in MARKER.finditer(s.raw))
        new_raw = MARKER.sub("", reworded).strip() + markers
        new_text = text.replace(s.raw, new_raw, 1)
        if len(split_sentences(new_text)) != len(sentences):
            print(f"{record_id}: the rewording splits differently; skipped", flush=True)
            continue
        out = dict(record, id=record_id, variant="paraphrase", output=new_text, focus_k=k,
                   paraphrase={"of": s.clean, "prompt": PROMPT.format(sentence=s.clean), "reply": reply,
                               "seconds": round(time.perf_counter() - started, 1)})
        with args.out.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(out, ensure_ascii=False) + "\n")
        written += 1
        print(f"{record_id} {out['paraphrase']['seconds']:.0f}s {new_raw[:80]!r}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

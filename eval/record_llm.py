"""Record a real chat model's answers to gold questions: prompts, passages and raw replies, for labelling.

    python -m llama_cpp.server --model model.gguf --n_ctx 4096 --n_threads 2 --port 8001 &
    python eval/record_llm.py eval/gold/dev.jsonl data/demo_index --out eval/llm/dev_recorded.jsonl \\
        --base-url http://127.0.0.1:8001/v1 --model qwen2.5-coder-1.5b-instruct-q4_k_m

Each question is asked the way the generative answerer asks it (rag.prompt.build_passages /
build_messages over the hybrid top 8): record ``ID``, variant ``retrieved``. Every
``--distractor-every``-th answerable question (chosen by a hash of its id) is asked a second time,
record ``ID/distractor``, with its gold notices left out of the passages, so a model that answers
anyway writes claims the passages do not support. Real models rarely invent facts over the right
passages; this is how the labelled set gets real unsupported sentences, not hand-written ones.
`pressrag eval --mode generative --replay FILE` replays the ``retrieved`` records (their prompts are
the product's prompts).

The output is one JSON line per record (appended; records already in the file are skipped and failed
calls are not written, so a rerun resumes). Small CPU models read prompts at ~60 tokens/s: ``--passages`` and
``--passage-chars`` keep prompts short enough to record a set in an hour on two cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def variants_of(question_id: str, answerable: bool, every: int) -> list[str]:
    if not answerable or every <= 0:
        return ["retrieved"]
    digest = int(hashlib.sha256(question_id.encode("utf-8")).hexdigest()[:8], 16)
    return ["retrieved", "distractor"] if digest % every == 0 else ["retrieved"]


def endpoint_arguments(parser: argparse.ArgumentParser, max_tokens: int) -> None:
    """The options every recorder takes: where to write, which endpoint and model, how long a reply."""
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--max-tokens", type=int, default=max_tokens)
    parser.add_argument("--limit", type=int, default=None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("gold", type=Path)
    parser.add_argument("index", type=Path)
    endpoint_arguments(parser, max_tokens=160)
    parser.add_argument("--passages", type=int, default=2)
    parser.add_argument("--passage-chars", type=int, default=800)
    parser.add_argument("--distractor-every", type=int, default=4)
    parser.add_argument("--every", type=int, default=1, help="every N-th question of the gold file")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)

    from langchain_openai import ChatOpenAI

    from rag.evaluate import gold_id_aliases, load_gold
    from rag.prompt import build_messages, build_passages
    from rag.retrieve import Retriever
    from rag.service import open_assistant
    from rag.settings import load_settings
    from rag.types import Retrieval

    assistant = open_assistant(load_settings(index=args.index, llm="none"), progress=False)
    index = assistant.index
    retriever = Retriever(index, assistant.retriever.embedder, **assistant.retriever.options())
    aliases = gold_id_aliases(index.notices)
    # max_tokens goes in the body as such: langchain-openai sends its own max_tokens as
    # max_completion_tokens, which llama.cpp's server ignores (replies ran to 700+ tokens).
    chat = ChatOpenAI(base_url=args.base_url, model=args.model, api_key="not-needed", timeout=args.timeout,
                      max_retries=0, temperature=0.0, extra_body={"max_tokens": args.max_tokens})
    done: set[str] = set()
    if args.out.exists():
        done = {json.loads(line)["id"] for line in args.out.read_text(encoding="utf-8").splitlines() if line.strip()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    questions = load_gold(args.gold).questions[::args.every]
    if args.limit:
        questions = questions[:args.limit]
    for n, q in enumerate(questions, 1):
        q = replace(q, doc_ids=tuple(aliases.get(d, d) for d in q.doc_ids))
        retrieval = None
        for variant in variants_of(q.id, bool(q.doc_ids), args.distractor_every):
            record_id = q.id if variant == "retrieved" else f"{q.id}/{variant}"
            if record_id in done:
                continue
            retrieval = retrieval or retriever.run(q.question, k=30)
            hits = retrieval.hits
            if variant == "distractor":
                hits = [h for h in hits if h.chunk.doc_id not in q.doc_ids]
            hits = hits[:8]
            top = Retrieval(retrieval.query, hits, list(dict.fromkeys(h.chunk.doc_id for h in hits)), {})
            passages = build_passages(top, index, args.passages, args.passage_chars)
            messages = build_messages(q.question, passages)
            started = time.perf_counter()
            try:
                reply = chat.invoke(messages)
                output = str(reply.content)
            except Exception as exc:  # noqa: BLE001 - not recorded: a rerun asks again
                print(f"[{n}/{len(questions)}] {record_id}: {type(exc).__name__}: {str(exc)[:200]}", flush=True)
                continue
            seconds = round(time.perf_counter() - started, 1)
            record = {
                "id": record_id, "question_id": q.id, "question": q.question, "lang": q.lang, "type": q.type,
                "key_facts": list(q.key_facts), "gold_doc_ids": list(q.doc_ids), "variant": variant,
                "model": args.model,
                "settings": {"passages": args.passages, "passage_chars": args.passage_chars,
                             "max_tokens": args.max_tokens, "temperature": 0.0},
                "passages": [{"n": p.n, "doc_id": p.notice.doc_id, "spans": [list(s) for s in p.spans],
                              "sentences": p.sentences} for p in passages],
                "messages": [{"role": role, "content": content} for role, content in messages],
                "output": output, "seconds": seconds,
            }
            with args.out.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            print(f"[{n}/{len(questions)}] {record_id} {seconds:.0f}s {output[:80]!r}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

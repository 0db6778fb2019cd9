"""Freeze the hand-written torch engine's token ids and vectors (fp32) as the reference for rag.e5_st.

Run once, from the repository root, while rag/e5_torch.py still holds E5TorchEncoder:
    PRESSRAG_E5_DTYPE=fp32 python tests/data/make_e5_reference.py
Writes tests/data/e5_reference.json (texts, token ids) and e5_reference.npz (vectors).
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np

from rag.e5_torch import E5TorchEncoder

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "data" / "corpus" / "korea_kr_press_releases.jsonl"
ODD = [
    "", " ", " leading space", "  multiple   spaces\tand\nnewlines  ", "ＡＢＣ　１２３　全角文字 (テスト)",
    "😀🙏 emoji 🇰🇷 👨‍👩‍👧", "<s> </s> <unk> <pad> literal specials", "𠀀𪚥䨻 rare CJK ꙮ ½ ① ㈜ ㎏",
    "AI·반도체 …“인용” 「괄호」 ※참고 ▲ ■ □", "before NUL\x00after NUL", "\x00", "▁metaspace ▁▁x",
    "\U0010fffd\U000e0001 private-use and tags", "ㄱㅏ 호환 자모 가 조합 자모 가", "e\u0301 é ²\u0301 Ａ\u0301 \r\n x",
    "The Ministry of Economy and Finance said exports rose 7.2% year-on-year in May.",
]


def main() -> None:
    enc = E5TorchEncoder(threads=2)
    rows = [json.loads(line) for line in CORPUS.open(encoding="utf-8") if line.strip()]
    texts = [r["text"][: 80 + 16 * i] for i, r in enumerate(rows[:20])] + [rows[0]["title"]]
    # two texts past one 510-token window: one just over, one of three windows
    by_len = sorted(rows, key=lambda r: len(enc.token_ids(r["text"])))
    texts.append(next(r["text"] for r in by_len if len(enc.token_ids(r["text"])) > 600))
    texts.append(next(r["text"] for r in by_len if len(enc.token_ids(r["text"])) > 1100))
    texts += ODD
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=HERE).stdout.strip()
    about = (f"rag.e5_torch.E5TorchEncoder (the hand-written torch engine) in fp32 at commit {commit}, "
             "written by tests/data/make_e5_reference.py; vectors L2-normalised, stored as float16")
    json.dump({"about": about, "texts": texts,
               "passage_ids": [enc.token_ids(t) for t in texts],
               "query_ids": [enc.token_ids(t, is_query=True) for t in texts]},
              (HERE / "e5_reference.json").open("w", encoding="utf-8"), ensure_ascii=False, indent=0)
    np.savez_compressed(HERE / "e5_reference.npz",
                        passages=enc.encode_passages(texts).astype(np.float16),
                        queries=enc.encode_queries(texts).astype(np.float16))
    print(len(texts), "texts; longest", max(len(enc.token_ids(t)) for t in texts), "tokens")


if __name__ == "__main__":
    main()

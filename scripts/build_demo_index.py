"""Rebuild the prebuilt demo index that the package ships (data/demo_index; see rag/demo.py).

Run it after changing anything that decides an index's content (ingest/, rag/build.py, the BM25
store, the demo corpus, the bundled model); tests/test_demo.py fails until the shipped index
matches the code again.

    python scripts/build_demo_index.py            # ~2 minutes on two cores
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.build import IndexUpdater  # noqa: E402
from rag.demo import FINGERPRINT, fingerprint, relativise  # noqa: E402
from rag.embed import BundledE5Embedder  # noqa: E402
from rag.folder import IndexFolder  # noqa: E402
from rag.index import NoticeIndex  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "data" / "corpus")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "demo_index")
    args = parser.parse_args()
    out = args.out
    if out.exists() and IndexFolder(out).kind() not in ("ours", "empty"):
        parser.error(f"{out} holds files that are not a pressrag index; not replacing it")

    embedder = BundledE5Embedder()
    with tempfile.TemporaryDirectory(prefix="pressrag-demo-") as tmp:
        built, staged = Path(tmp) / "built", Path(tmp) / "staged"
        result = IndexUpdater(embedder).run(built, [args.corpus])
        if result.skipped:
            parser.error(f"the demo corpus has unreadable files: {result.skipped}")
        index = NoticeIndex.load(built, expected_model=embedder.name)
        relativise(index, args.corpus)
        index.save(staged)
        (staged / "write.lock").unlink(missing_ok=True)  # a lock file in a read-only install helps nobody
        (staged / FINGERPRINT).write_text(json.dumps(fingerprint(embedder.name), indent=1) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(staged, out)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{out}: {result.notices_total} notices, {result.chunks_total} chunks, {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

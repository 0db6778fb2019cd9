"""Fault injection: kill -9 an ingest at random moments and check that no index is lost.

The demo corpus is split into batches. Each batch is ingested into one index folder; before it is
let to finish, the ingest is started again and again in a forked child that is killed with SIGKILL
after a random delay (anywhere from reading the files through embedding to the save and its clean-up).
After every kill the index must load and hold every notice of the last completed ingest, and either
none or all of the killed batch. Prints a Markdown table.

    python eval/fault_injection.py                 # 100 kills, fake embedder (seconds per kill)
    python eval/fault_injection.py --kills 20 --seed 7

The embedder is the tests' hashing stand-in: the point is the file handling, and a real model would
only stretch each run. The index code, chunker and Kiwi terms are the product's own.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag.build import IndexUpdater  # noqa: E402
from rag.folder import IndexFolder, IndexProblem  # noqa: E402
from rag.index import NoticeIndex  # noqa: E402
from tests.conftest import HashEmbedder  # noqa: E402

CORPUS = REPO / "data" / "corpus" / "korea_kr_press_releases.jsonl"


def make_batches(folder: Path, n_batches: int, records: int | None = None) -> list[Path]:
    lines = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    records = lines[:records] if records else lines
    size = -(-len(records) // n_batches)
    batches = []
    for i in range(n_batches):
        path = folder / f"batch{i:02d}.jsonl"
        path.write_text("\n".join(records[i * size:(i + 1) * size]) + "\n", encoding="utf-8")
        batches.append(path)
    return [b for b in batches if b.stat().st_size > 1]


def ids_of(batch: Path) -> set[str]:
    return {json.loads(line)["id"] for line in batch.read_text(encoding="utf-8").splitlines() if line.strip()}


def ingest(folder: Path, batch: Path) -> None:
    IndexUpdater(HashEmbedder(), progress=False).run(folder, [batch])


def _steps(step_log: Path) -> list[tuple[str, float]]:
    """The save steps the child reached, with their times (rag.folder.crash_point writes them)."""
    rows = [line.split() for line in step_log.read_text(encoding="utf-8").splitlines()]
    return [(row[0], float(row[1])) for row in rows if len(row) == 2]


def _wait_for_save(step_log: Path, pid: int, limit: float = 120.0) -> int | None:
    """Poll until the child's save has begun; return its wait status if it ended first."""
    end = time.perf_counter() + limit
    while time.perf_counter() < end:
        if _steps(step_log):
            return None
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.0005)
    return None


def _time_save(work: Path, batch: Path, step_log: Path) -> float:
    """Seconds from the start of a save to its last step, on a fresh index."""
    step_log.write_text("", encoding="utf-8")
    os.environ["PRESSRAG_STEP_LOG"] = str(step_log)
    try:
        ingest(work / "saved", batch)
    finally:
        del os.environ["PRESSRAG_STEP_LOG"]
    steps = _steps(step_log)
    return max(steps[-1][1] - steps[0][1], 0.002)


def run(kills: int, n_batches: int, seed: int, records: int | None = None) -> dict:
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="pressrag-faults-"))
    batches = make_batches(work, n_batches, records)
    index_dir = work / "index"
    # Calibrate: how long one batch takes (Kiwi warmed up in this process, so children inherit it).
    step_log = work / "steps.log"
    ingest(work / "warm", batches[0])
    t0 = time.perf_counter()
    ingest(work / "timed", batches[0])
    duration = time.perf_counter() - t0
    save_seconds = _time_save(work, batches[0], step_log)
    per_batch = -(-kills // len(batches))
    stats = {"kills": 0, "finished before the kill": 0, "index unloadable": 0, "notices lost": 0,
             "partial batch visible": 0, "left old index": 0, "left new index": 0,
             "next ingest completed": 0, "stale files after next ingest": 0}
    completed: set[str] = set()
    for batch in batches:
        wanted = ids_of(batch)
        for _ in range(per_batch):
            if stats["kills"] >= kills:
                break
            # Half the kills land anywhere in the run; the other half inside the save, which is short
            # (they wait until the save has begun, then a random part of its measured length).
            in_save = stats["kills"] % 2 == 1
            delay = rng.uniform(0.0, save_seconds * 1.2) if in_save else rng.uniform(0.0, duration)
            step_log.write_text("", encoding="utf-8")
            pid = os.fork()
            if pid == 0:  # child: ingest, then leave without running the parent's clean-up
                os.environ["PRESSRAG_STEP_LOG"] = str(step_log)
                code = 0
                try:
                    ingest(index_dir, batch)
                except BaseException:  # noqa: BLE001 - any failure is a non-zero exit in the child
                    code = 1
                os._exit(code)
            status = _wait_for_save(step_log, pid) if in_save else None
            if status is None:
                time.sleep(delay)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                _, status = os.waitpid(pid, 0)
            stats["kills"] += 1
            steps = [name for name, _ in _steps(step_log)]
            if os.WIFEXITED(status):
                stats["finished before the kill"] += 1
            else:
                where = f"killed after '{steps[-1]}'" if steps else "killed before the save began"
                stats[where] = stats.get(where, 0) + 1
            try:
                notices = set(NoticeIndex.load(index_dir).notices)
            except IndexProblem as exc:
                if completed or "no complete snapshot" not in str(exc) and "no index" not in str(exc):
                    stats["index unloadable"] += 1
                    print(f"unloadable after kill at {delay:.2f}s: {exc}", file=sys.stderr)
                notices = set()
            lost = completed - notices
            stats["notices lost"] += len(lost)
            extra = notices - completed
            if extra and extra != wanted:
                stats["partial batch visible"] += 1
            stats["left new index" if extra else "left old index"] += 1
        ingest(index_dir, batch)  # the next ingest completes the work
        completed |= wanted
        final = set(NoticeIndex.load(index_dir).notices)
        stats["next ingest completed"] += int(final == completed)
        leftovers = [p.name for p in index_dir.iterdir()
                     if p.name.endswith(".tmp") or (p.name.startswith("snap-") and p != IndexFolder(index_dir).current())]
        stats["stale files after next ingest"] += len(leftovers)
    stats["batches"] = len(batches)
    stats["seconds per uninterrupted ingest"] = round(duration, 2)
    stats["seconds per save"] = round(save_seconds, 3)
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--records", type=int, default=None, help="use only the first N records of the demo corpus")
    args = parser.parse_args()
    stats = run(args.kills, args.batches, args.seed, args.records)
    print("| measure | value |\n|---|---:|")
    for key, value in stats.items():
        print(f"| {key} | {value} |")
    bad = stats["index unloadable"] + stats["notices lost"] + stats["partial batch visible"]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

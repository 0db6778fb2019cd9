"""Show what each normalisation rule (ingest/normalize.py ``RULES``) changes, so a person can audit it.

    python eval/explain_normalize.py FILE            # every change each rule made, with context
    python eval/explain_normalize.py FILE --rule space_before_closing_punct
    python eval/explain_normalize.py --audit data/corpus   # rule | notices changed | characters changed (Markdown)
    python eval/explain_normalize.py --write-review tests/data/normalize_review.json data/corpus

``--write-review`` draws up to 30 changes per rule (seeded) into the review fixture, keeping the
verdict of every change already reviewed; a new or altered change gets "unreviewed" until a person
reads it and writes "ok" (or fixes the rule). tests/test_normalize_audit.py fails on anything else.

FILE is anything ``pressrag ingest`` reads: a korea.kr JSONL file (every record's title and
text), a BidPro page or plain text file, a PDF, HWP or HWPX attachment. The text shown is the
text the readers hand to ``normalize_text`` (for a BidPro page: its title and its 내용 body).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.errors import UnreadableFile  # noqa: E402
from ingest.normalize import RULES, Change, decode_bytes, explain  # noqa: E402
from ingest.readers import is_bidpro_page, iter_files, supported_suffixes  # noqa: E402


@dataclass(frozen=True)
class RawText:
    """One text a reader normalises: ``key`` names the notice and the field ("…#title", "…#body")."""

    key: str
    text: str


def _bidpro_fields(page: str) -> tuple[str, str]:
    """The raw 제목 and 내용 of a BidPro page, as parse_bidpro_page hands them to normalize_text."""
    lines = page.splitlines()
    title = next((line.strip()[2:].strip() for line in lines if re.match(r"^제목\s", line.strip())), "")
    start = next((i for i, line in enumerate(lines) if re.fullmatch(r"내용\s*", line.strip())), len(lines))
    return title, "\n".join(line.rstrip() for line in lines[start + 1:])


def raw_texts(path: Path) -> Iterator[RawText]:
    """The raw texts of every notice in ``path`` (a file or a folder)."""
    for file, doc_id in iter_files([path]):
        suffix = file.suffix.lower()
        if suffix not in supported_suffixes():
            continue
        if suffix == ".jsonl":
            for lineno, line in enumerate(decode_bytes(file.read_bytes()).splitlines(), 1):
                if not line.strip():
                    continue
                record = json.loads(line)
                rid = str(record.get("id") or f"{doc_id}:{lineno}")
                if record.get("title"):
                    yield RawText(f"{rid}#title", str(record["title"]))
                yield RawText(f"{rid}#body", str(record.get("text") or record.get("body") or ""))
        elif suffix in (".txt", ".md"):
            text = decode_bytes(file.read_bytes())
            if is_bidpro_page(text):
                title, body = _bidpro_fields(text)
                yield RawText(f"{doc_id}#title", title)
                yield RawText(f"{doc_id}#body", body)
            else:
                yield RawText(f"{doc_id}#body", text)
        else:
            from ingest import attachments

            reader = {".pdf": attachments.read_pdf, ".hwp": attachments.read_hwp, ".hwpx": attachments.read_hwpx}[suffix]
            try:
                yield RawText(f"{doc_id}#body", reader(file))
            except UnreadableFile as exc:
                print(f"skipped {file}: {exc}", file=sys.stderr)


def notice_of(key: str) -> str:
    return key.rsplit("#", 1)[0]


def changes_of(paths: Iterable[Path]) -> list[tuple[str, Change]]:
    """(text key, change) for every change every rule makes over ``paths``."""
    out: list[tuple[str, Change]] = []
    for path in paths:
        for raw in raw_texts(path):
            out.extend((raw.key, change) for change in explain(raw.text)[1])
    return out


@dataclass(frozen=True)
class RuleCount:
    rule: str
    notices: int
    changes: int
    chars: int


def audit(changes: Iterable[tuple[str, Change]]) -> list[RuleCount]:
    """Per rule, in ``RULES`` order: notices changed, changes, characters changed."""
    notices: dict[str, set[str]] = {rule.__name__: set() for rule in RULES}
    count = dict.fromkeys(notices, 0)
    chars = dict.fromkeys(notices, 0)
    for key, change in changes:
        notices[change.rule].add(notice_of(key))
        count[change.rule] += 1
        chars[change.rule] += change.chars
    return [RuleCount(name, len(notices[name]), count[name], chars[name]) for name in notices]


def audit_markdown(rows: list[RuleCount], total_notices: int) -> str:
    lines = [
        f"| rule ({total_notices} notices) | notices changed | changes | characters changed |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| `{r.rule}` | {r.notices} | {r.changes:,} | {r.chars:,} |" for r in rows]
    return "\n".join(lines)


REVIEW_PER_RULE = 30
REVIEW_SEED = 20260601


def review_sample(changes: list[tuple[str, Change]]) -> list[dict[str, str | int]]:
    """Up to REVIEW_PER_RULE changes per rule, drawn with a fixed seed, in RULES order."""
    out: list[dict[str, str | int]] = []
    for rule in RULES:
        mine = [(key, c) for key, c in changes if c.rule == rule.__name__]
        rng = random.Random(f"{REVIEW_SEED}:{rule.__name__}")
        picked = sorted(rng.sample(range(len(mine)), min(REVIEW_PER_RULE, len(mine))))
        for i in picked:
            key, c = mine[i]
            out.append({"rule": c.rule, "key": key, "position": c.position, "before": c.before, "after": c.after})
    return out


def write_review(path: Path, changes: list[tuple[str, Change]]) -> int:
    """Write the review fixture, keeping verdicts already given; return how many are unreviewed."""
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    verdicts = {(e["rule"], e["key"], e["before"], e["after"]): e["verdict"] for e in old}
    entries = []
    for entry in review_sample(changes):
        entry["verdict"] = verdicts.get((entry["rule"], entry["key"], entry["before"], entry["after"]), "unreviewed")
        entries.append(entry)
    path.write_text(json.dumps(entries, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return sum(e["verdict"] == "unreviewed" for e in entries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="files or folders to read")
    parser.add_argument("--audit", action="store_true", help="print the per-rule audit table (Markdown)")
    parser.add_argument("--rule", action="append", help="show only this rule (repeatable)")
    parser.add_argument("--write-review", type=Path, metavar="JSON", help="(re)write the review fixture")
    args = parser.parse_args(argv)
    for path in args.paths:
        if not path.exists():
            print(f"error: no such file or folder: {path}", file=sys.stderr)
            return 2
    changes = changes_of(args.paths)
    if args.write_review:
        unreviewed = write_review(args.write_review, changes)
        print(f"wrote {args.write_review}: {unreviewed} change(s) to review")
        return 0
    if args.audit:
        total = len({notice_of(raw.key) for path in args.paths for raw in raw_texts(path)})
        print(audit_markdown(audit(changes), total))
        return 0
    names = [rule.__name__ for rule in RULES]
    unknown = set(args.rule or ()) - set(names)
    if unknown:
        print(f"error: unknown rule {', '.join(sorted(unknown))}; rules: {', '.join(names)}", file=sys.stderr)
        return 2
    for name in args.rule or names:
        mine = [(key, c) for key, c in changes if c.rule == name]
        if not mine:
            continue
        print(f"## {name}: {len(mine)} change(s)")
        for key, c in mine:
            print(f"{key} @{c.position}")
            print(f"  - {c.before!r}")
            print(f"  + {c.after!r}")
        print()
    if not changes:
        print("no rule changed anything")
    return 0


if __name__ == "__main__":
    sys.exit(main())

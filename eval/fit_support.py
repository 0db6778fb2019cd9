"""Fit the generative support check on labelled real model sentences; write rag/support_weights.json.

    # 1. record a real model's answers (eval/record_llm.py), then list their sentences for labelling:
    python eval/fit_support.py sheet --set dev eval/llm/dev_recorded.jsonl data/demo_index --out sheet.jsonl
    # 2. label each sheet line ("label": supported | wrong_fact | unsupported | no_claim), keep as LABELS
    # 3. fit on half A, report both halves:
    python eval/fit_support.py fit --set dev eval/llm/dev_recorded.jsonl data/demo_index eval/llm/dev_labels.jsonl \\
        [--set korquad REC IDX LABELS] [--out rag/support_weights.json]

Labels (one per sentence the answer splitter finds in a reply):
  supported    every claim is stated or directly implied by a passage it cites (paraphrase included)
  wrong_fact   on the cited passage's topic, but a number, date, amount or name differs from it or is absent
  unsupported  any other claim the cited passages do not make (invented, outside knowledge, wrong notice,
               a passage number that does not exist)
  uncited      (older sheets) a factual claim with no [n]; sheets now show every passage for such a
               sentence, and it is labelled like the others (the check cites its nearest notice)
  no_claim     no factual claim (the model's "not in the passages", a lead-in such as "다음과 같습니다:")

Real models rarely get a number wrong over the right passage, and the small model recorded here
mostly copies its passages, so the set is widened with ``perturbed`` sentences made from supported
real ones (see perturbations): wrong facts (a number changed, a name swapped) and unsupported claims
(the sentence credited to a notice of the prompt that does not say it, or moved into another
question's reply). They are reported apart from the real ones.

Sets are split in two halves by question (a question's records and sentences stay together; see
fit_answers.half_of), the logistic support score is fitted on half A, and the threshold is the
highest one that accepts at least ``--min-accept`` of half A's supported sentences. Figures are the
product's own check (rag.support.SupportChecker) with the fitted model, per half.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.fit_answers import half_of  # noqa: E402
from rag.prompt import Passage  # noqa: E402
from rag.support import (  # noqa: E402
    KOREAN_SHARE, SUPPORT_FEATURES, SUPPORT_SIGNS, SUPPORT_WEIGHTS_FILE, SupportChecker, SupportModel,
    hangul_share, MARKER, THINK, negations, number_mentions, proper_nouns, split_sentences)
from rag.scorer import fit_logistic  # noqa: E402

LABELS = ("supported", "wrong_fact", "unsupported", "uncited", "no_claim")


@dataclass
class Item:
    """One labelled sentence, in the context the check sees: the whole reply and its passages."""

    set: str
    record: str
    question_id: str
    k: int  # index of the sentence in split_sentences(reply)
    text: str  # the reply, possibly with this sentence perturbed
    passages: list
    label: str
    origin: str  # real | perturbed
    question: str = ""

    @property
    def half(self) -> str:
        return half_of(self.question_id)


def passages_of(record: dict, index) -> list[Passage]:
    """The passages a record's prompt showed, rebuilt from the index's notices and the recorded sentences."""
    out = []
    for p in record["passages"]:
        notice = index.notices.get(p["doc_id"])
        if notice is None:
            raise ValueError(f"{record['id']}: notice {p['doc_id']} is not in the index")
        out.append(Passage(n=p["n"], notice=notice, spans=[tuple(s) for s in p["spans"]], sentences=p["sentences"]))
    return out


def reply_of(record: dict) -> str:
    return THINK.sub("", record["output"]).strip()


def load_set(name: str, recordings: Path, index_dir: Path, labels: Path | None) -> tuple[list[dict], object, dict]:
    from rag.index import NoticeIndex
    from rag.replay import load_recordings

    records = load_recordings(recordings)
    index = NoticeIndex.load(index_dir)
    marks: dict[tuple[str, int], dict] = {}
    if labels is not None:
        for lineno, line in enumerate(labels.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                row = json.loads(line)
                if row.get("label") not in LABELS:
                    raise ValueError(f"{labels}:{lineno}: label must be one of {', '.join(LABELS)}")
                marks[(row["record"], int(row["k"]))] = row
    return records, index, marks


def sheet(sets: list[tuple[str, Path, Path]], out: Path) -> None:
    """One line per sentence of every reply, with the passages it cites, for a labeller to fill in."""
    lines = []
    for name, recordings, index_dir in sets:
        records, index, _ = load_set(name, recordings, index_dir, None)
        for record in records:
            by_n = {p.n: p for p in passages_of(record, index)}
            for k, s in enumerate(split_sentences(reply_of(record))):
                if "focus_k" in record and k != record["focus_k"]:
                    continue  # a reworded reply: only its reworded sentence is new
                lines.append({"set": name, "record": record["id"], "k": k, "question": record["question"],
                              "variant": record.get("variant", "retrieved"), "sentence": s.clean,
                              "cited": list(s.cited),
                              # a sentence without markers is judged against every passage of its prompt
                              "cited_passages": {n: by_n[n].text for n in (s.cited or sorted(by_n)) if n in by_n},
                              "label": ""})
    out.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    print(f"{len(lines)} sentences to label -> {out}")


_NAME = re.compile(r"[\uac00-\ud7a3]{2,}")


_HEADER_LINE = re.compile(r"^\s*(제목|기관|발표일|내용|본문)\s*:")


def _movable(sentence: str, passage: str) -> bool:
    """Whether a sentence, credited to ``passage`` of another notice, is an unsupported claim by
    construction: a specific sentence (not a header line such as "기관: 행정안전부", which two notices
    of one ministry share, nor a fragment under 15 characters) that the passage does not contain.
    No similarity test: that would pick exactly the cases the check's own features reject."""
    squashed = re.sub(r"\W", "", MARKER.sub("", sentence))
    return (len(squashed) >= 15 and not _HEADER_LINE.match(sentence)
            and squashed not in re.sub(r"\W", "", passage))


def perturbations(items: list[Item], seed: int = 7) -> list[Item]:
    """Unsupported variants of supported real sentences, labelled by construction:
    wrong_fact: a number changed, or a name swapped (Korean sentences);
    unsupported: the sentence's main predicate negated (see negate), the sentence re-cited to another
    notice of its prompt, or moved into another question's reply citing that reply's first notice
    (see _movable)."""
    rng = np.random.default_rng(seed)
    moved = _moved(items, rng)
    names_by_question: dict[str, set[str]] = {}
    for item in items:
        for p in item.passages:
            names_by_question.setdefault(item.question_id, set()).update(proper_nouns(p.text))
    out = []
    for item in items:
        if item.label != "supported" or item.origin == "perturbed":
            continue
        sentences = split_sentences(item.text)
        s = sentences[item.k]
        if not re.search(r"[\uac00-\ud7a3]", s.clean):
            continue
        # what the check compares it with: the passages it cites, or every passage when it cites none
        cited_text = " ".join(p.text for p in item.passages if p.n in s.cited or not s.cited)
        # a number: the first one, scaled so that no unit reading of it is in the passage
        # (outside the [n] markers: changing one would make a citation error, not a wrong number)
        m = re.search(r"\d+(?:,\d{3})*(?:\.\d+)?", MARKER.sub(lambda x: " " * len(x.group(0)), s.raw))
        if m:
            value = m.group(0)
            for factor in (3, 7, 11):
                digits = value.replace(",", "")
                changed = str(int(float(digits) * factor)) if "." not in digits else f"{float(digits) * factor:g}"
                if not (set().union(*number_mentions(changed)) & set().union(*number_mentions(cited_text), set())):
                    break
            raw = s.raw[:m.start()] + changed + s.raw[m.end():]
            if raw != s.raw:
                out.append(replace(item, text=_rewrite(item.text, item.k, raw), label="wrong_fact", origin="perturbed"))
        # a name of the cited passage, swapped for one only other questions' passages have
        names = [n for n in proper_nouns(s.clean) if _NAME.fullmatch(n) and n in cited_text]
        others = sorted({n for q, ns in names_by_question.items() if q != item.question_id for n in ns
                         if _NAME.fullmatch(n) and n not in cited_text})
        if names and others:
            name, other = names[0], others[int(rng.integers(len(others)))]
            raw = s.raw.replace(name, other, 1)
            if raw != s.raw:
                out.append(replace(item, text=_rewrite(item.text, item.k, raw), label="wrong_fact", origin="perturbed"))
        negated = negate(s.clean)
        if negated:
            raw = negated + "".join(f"[{n}]" for n in s.cited)
            text = _rewrite(item.text, item.k, raw)
            if split_sentences(text)[item.k].clean == negated:
                out.append(replace(item, text=text, label="unsupported", origin="perturbed"))
    return out + moved


def negate(sentence: str) -> str | None:
    """``sentence`` with its last verb or adjective negated (체결했습니다 -> 체결하지 않았습니다), or None
    when it has none or is negative already. Only the predicate's own word is rebuilt (Kiwi's join
    would respace the rest)."""
    from ingest.korean import get_kiwi

    kiwi = get_kiwi()
    tokens = kiwi.tokenize(sentence)
    predicates = [i for i, tok in enumerate(tokens) if tok.tag.split("-")[0] in ("VV", "VA", "XSV", "XSA")]
    if not predicates or negations(sentence, tokens):
        return None
    last = predicates[-1]
    start = sentence.rfind(" ", 0, tokens[last].start) + 1  # the predicate's word
    first = next(i for i, tok in enumerate(tokens) if tok.start >= start)
    tail = [(tok.form, tok.tag) for tok in tokens[first:]]
    at = last - first + 1
    return sentence[:start] + kiwi.join(tail[:at] + [("지", "EC"), ("않", "VX")] + tail[at:])


def _rewrite(text: str, k: int, raw: str) -> str:
    """``text`` with its ``k``-th sentence replaced by ``raw``: at that sentence's own place, not at
    the first copy of it (small models repeat sentences, and a copy earlier in the reply would be
    the one changed while the scored sentence stayed as it was)."""
    pos = 0
    for i, s in enumerate(split_sentences(text)):
        at = text.find(s.raw, pos)
        if at < 0:
            break
        if i == k:
            return text[:at] + raw + text[at + len(s.raw):]
        pos = at + len(s.raw)
    raise ValueError(f"sentence {k} not found in the reply")


def _moved(items: list[Item], rng) -> list[Item]:
    out = []
    supported = [i for i in items if i.label == "supported" and i.origin != "perturbed"]
    for item in supported:
        s = split_sentences(item.text)[item.k]
        if not s.cited:
            continue
        others = [p for p in item.passages if p.n not in s.cited and p.notice.doc_id not in
                  {q.notice.doc_id for q in item.passages if q.n in s.cited} and _movable(s.clean, p.text)]
        if others:  # the same words, credited to a notice that does not say them
            raw = MARKER.sub(f"[{others[0].n}]", s.raw)
            out.append(replace(item, text=_rewrite(item.text, item.k, raw), label="unsupported", origin="perturbed"))
    hosts = [i for i in items if i.origin != "perturbed"]
    for item in supported:
        host = hosts[int(rng.integers(len(hosts)))]
        if host.question_id == item.question_id or not host.passages:
            continue
        s = split_sentences(item.text)[item.k]
        if not _movable(s.clean, host.passages[0].text):
            continue
        sentence = MARKER.sub("", s.raw).strip() + f"[{host.passages[0].n}]"
        text = host.text.rstrip() + "\n" + sentence
        k = len(split_sentences(text)) - 1
        if split_sentences(text)[k].clean != MARKER.sub("", s.raw).strip() and not split_sentences(text)[k].cited:
            continue
        out.append(replace(host, text=text, k=k, label="unsupported", origin="perturbed"))
    return out



def items_of(name: str, records: list[dict], index, marks: dict) -> list[Item]:
    items = []
    for record in records:
        passages = passages_of(record, index)
        text = reply_of(record)
        for k, s in enumerate(split_sentences(text)):
            mark = marks.get((record["id"], k))
            if mark is None:
                continue
            if mark.get("sentence") and mark["sentence"] != s.clean:
                raise ValueError(f"{record['id']} sentence {k}: the labels were made for another split "
                                 f"({mark['sentence'][:40]!r} vs {s.clean[:40]!r}); relabel")
            origin = "reworded" if record.get("variant") == "paraphrase" else "real"
            items.append(Item(set=name, record=record["id"], question_id=record.get("question_id", record["id"]), k=k,
                              text=text, passages=passages, label=mark["label"], origin=origin,
                              question=record["question"]))
    return items


def verdicts(support_check: SupportChecker, items: list[Item]) -> list[bool]:
    """Whether the product's check keeps each item's sentence."""
    return [bool(support_check.verdicts(item.text, item.passages)[item.k][1]) for item in items]


def features_of(support_check: SupportChecker, items: list[Item]) -> np.ndarray:
    rows = []
    for item in items:
        sentences = split_sentences(item.text)
        support = support_check.support_features(sentences, {p.n: p for p in item.passages})[item.k]
        if support.features:
            best = max(support.features.values(), key=lambda f: f["embed"])
            rows.append([best[f] for f in SUPPORT_FEATURES])
        else:
            rows.append([0.0] * len(SUPPORT_FEATURES))
    return np.asarray(rows, float)


def report(items: list[Item], kept: list[bool]) -> dict:
    def rate(label: str, origin: str | tuple | None, want_kept: bool) -> tuple[float | None, int]:
        origins = (origin,) if isinstance(origin, str) else origin
        chosen = [k for i, k in zip(items, kept) if i.label == label and (origins is None or i.origin in origins)]
        if not chosen:
            return None, 0
        return round(sum(k == want_kept for k in chosen) / len(chosen), 3), len(chosen)

    rows = {
        "supported accepted": rate("supported", ("real", "reworded"), True),
        "supported accepted (reworded)": rate("supported", "reworded", True),
        "wrong fact rejected (real)": rate("wrong_fact", ("real", "reworded"), False),
        "wrong fact rejected (perturbed)": rate("wrong_fact", "perturbed", False),
        "wrong fact rejected (all)": rate("wrong_fact", None, False),
        "other unsupported rejected (real)": rate("unsupported", ("real", "reworded"), False),
        "other unsupported rejected (perturbed)": rate("unsupported", "perturbed", False),
        "other unsupported rejected (all)": rate("unsupported", None, False),
    }
    return {k: {"rate": v[0], "n": v[1]} for k, v in rows.items()}


def load_items(sets: list[tuple[str, Path, Path, Path]]) -> tuple[list[Item], dict]:
    """The scored items of labelled sets (real sentences and their perturbations), and the label counts."""
    items: list[Item] = []
    counts = dict.fromkeys(LABELS, 0)
    for name, recordings, index_dir, labels in sets:
        records, index, marks = load_set(name, Path(recordings), Path(index_dir), Path(labels))
        found = items_of(name, records, index, marks)
        for label in LABELS:
            counts[label] += sum(i.label == label for i in found)
        found = [i for i in found if i.label not in ("no_claim", "uncited")]
        items += found + perturbations(found)  # within the set: a set's figures do not depend on the others
    counts["perturbed"] = sum(i.origin == "perturbed" for i in items)
    return items, counts


def checker(support: SupportModel) -> SupportChecker:
    """The product's support check with the bundled embedder."""
    from rag.embed import make_embedder
    from rag.settings import load_settings

    return SupportChecker(make_embedder(load_settings().embed_model), support)


def fit(items: list[Item], support_check: SupportChecker, min_accept: float) -> SupportModel:
    """Logistic weights on half A, and the highest threshold keeping ``min_accept`` of half A's supported
    sentences above it (the number and name rules reject some of them whatever the score)."""
    x = features_of(support_check, items)
    y = np.asarray([i.label == "supported" for i in items], float)
    # only Korean sentences are scored by the fitted model (English ones keep the cross-lingual rule)
    korean = np.asarray([hangul_share(split_sentences(i.text)[i.k].clean) >= KOREAN_SHARE for i in items])
    train = np.asarray([i.half == "A" for i in items]) & korean
    # A weight of the wrong sign (SUPPORT_SIGNS; collinearity in a small set) drops its feature, and
    # the rest are refitted.
    use = list(range(len(SUPPORT_FEATURES)))
    while True:
        mean, scale, coef, bias = fit_logistic(x[train][:, use], y[train], l2=1.0)
        negative = [f for f, c in zip(use, coef) if c * SUPPORT_SIGNS[f] < 0]
        if not negative:
            break
        use.remove(min(negative, key=lambda f: coef[use.index(f)] * SUPPORT_SIGNS[f]))
    weights = np.zeros(len(SUPPORT_FEATURES))
    weights[use] = coef / scale
    model = SupportModel(tuple(float(w) for w in weights), bias - float(np.sum(coef * mean / scale)), 0.5)
    probs = np.asarray([model.probability(dict(zip(SUPPORT_FEATURES, row))) for row in x])
    supported_a = np.sort(probs[train & (y == 1)])
    allowed = int(np.floor((1 - min_accept) * len(supported_a)))
    threshold = float(supported_a[allowed]) if len(supported_a) else 0.5
    return SupportModel(tuple(round(w, 6) for w in model.weights), round(model.bias, 6), round(threshold - 1e-6, 6))


def evaluate(items: list[Item], support_check: SupportChecker) -> dict:
    """The check's figures per half, and per set within each half."""
    kept = verdicts(support_check, items)

    def part(keep) -> dict:
        chosen = [(i, k) for i, k in zip(items, kept) if keep(i)]
        return report([i for i, _ in chosen], [k for _, k in chosen])

    out = {}
    for half in ("A", "B"):
        out[half] = part(lambda i, h=half: i.half == h)
        for name in sorted({i.set for i in items}):
            out[f"{half}/{name}"] = part(lambda i, h=half, n=name: i.half == h and i.set == n)
    return out


def print_table(halves: dict) -> None:
    columns = [key for key in halves if "/" not in key] + [key for key in halves if "/" in key]
    print(f"{'':34}" + "".join(f"{('half ' + c):>20}" for c in columns))
    for row in halves["A"]:
        cells = []
        for c in columns:
            v = halves[c][row]
            cells.append(f"{v['rate']:.3f} ({v['n']})" if v["rate"] is not None else "–")
        print(f"{row:34}" + "".join(f"{cell:>20}" for cell in cells))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_sheet = sub.add_parser("sheet", help="list the sentences of recorded replies for labelling")
    p_sheet.add_argument("--set", nargs=3, action="append", metavar=("NAME", "RECORDINGS", "INDEX"), required=True)
    p_sheet.add_argument("--out", type=Path, required=True)
    for command in ("fit", "evaluate"):
        p = sub.add_parser(command, help="fit on half A, report both halves" if command == "fit"
                           else "report the shipped (or --weights) model on both halves")
        p.add_argument("--set", nargs=4, action="append", metavar=("NAME", "RECORDINGS", "INDEX", "LABELS"),
                       required=True)
        p.add_argument("--json-out", type=Path, default=None)
        if command == "fit":
            p.add_argument("--out", type=Path, default=None, help=f"write the fitted model (e.g. {SUPPORT_WEIGHTS_FILE})")
            p.add_argument("--min-accept", type=float, default=0.93)
        else:
            p.add_argument("--weights", type=Path, default=SUPPORT_WEIGHTS_FILE)
    args = parser.parse_args(argv)

    if args.command == "sheet":
        sheet([(n, Path(r), Path(i)) for n, r, i in args.set], args.out)
        return 0
    items, counts = load_items([(n, Path(r), Path(i), Path(lab)) for n, r, i, lab in args.set])
    print("labelled sentences: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if args.command == "fit":
        support_check = checker(SupportModel((0.0,) * len(SUPPORT_FEATURES), 0.0, 0.5))
        support_check.support = fit(items, support_check, args.min_accept)
        print(f"fitted on half A: weights {dict(zip(SUPPORT_FEATURES, support_check.support.weights))}, "
              f"bias {support_check.support.bias}, threshold {support_check.support.threshold:.3f}")
    else:
        support_check = checker(SupportModel.load(args.weights))
    halves = evaluate(items, support_check)
    print_table(halves)
    m = support_check.support
    result = {"features": list(SUPPORT_FEATURES), "weights": list(m.weights), "bias": m.bias,
              "threshold": m.threshold, "halves": halves, "counts": counts, "sets": sorted({i.set for i in items})}
    if args.json_out:
        args.json_out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.command == "fit" and args.out:
        args.out.write_text(json.dumps(result | {"fitted_by": "eval/fit_support.py"}, ensure_ascii=False, indent=1)
                            + "\n", encoding="utf-8")
        print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

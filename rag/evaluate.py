"""Offline evaluation: gold Q&A pairs (retrieval + answers) and BEIR-layout retrieval sets.

Deterministic, no LLM judge: answers are scored by key-fact recall after the gold
set's matching rule (NFC, no whitespace, case-folded), citations by whether they
point at gold notices, refusals against the unanswerable questions.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ingest.normalize import squash
from rag.embed import warm_up
from rag.settings import REPO_ROOT, Settings
from rag.uncertainty import changed_questions, intervals, paired_changes

DEFAULT_GOLD = REPO_ROOT / "eval" / "gold" / "dev.jsonl"
TYPES = ("factoid", "number", "date", "list", "contact", "paraphrase", "multi", "unanswerable")


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    lang: str
    type: str
    answer: str
    key_facts: tuple[str, ...]
    doc_ids: tuple[str, ...]
    evidence: str = ""


@dataclass
class GoldSet:
    questions: list[GoldQuestion] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def load_gold(path: Path) -> GoldSet:
    """Read a gold JSONL file; a malformed line is reported with its number and skipped."""
    gold = GoldSet()
    if not path.exists():
        raise OSError(f"gold file not found: {path}")
    for lineno, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            q = GoldQuestion(
                id=str(row.get("id") or f"line-{lineno}"), question=str(row["question"]),
                lang=str(row.get("lang") or "ko"), type=str(row.get("type") or "factoid"),
                answer=str(row.get("answer") or ""), key_facts=tuple(str(f) for f in row.get("key_facts") or ()),
                doc_ids=tuple(str(d) for d in row.get("doc_ids") or ()), evidence=str(row.get("evidence") or ""),
            )
            if not q.question.strip():
                raise ValueError("empty question")
            gold.questions.append(q)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            gold.problems.append(f"{path}:{lineno}: malformed gold line ({type(exc).__name__}: {exc})")
    return gold


# -- metrics ----------------------------------------------------------------------------

def one_copy(doc_ids: Iterable[str], copies: Mapping[str, str]) -> list[str]:
    """``doc_ids`` in order, once each, with a notice that has a copy (``NoticeIndex.copies``: the same title
    and nearly the same text under another id) named by its first copy: ranking or citing any copy of the gold notice is
    ranking or citing the gold text, which retrieval lists once."""
    return list(dict.fromkeys(copies.get(d, d) for d in doc_ids))


def retrieval_metrics(ranked: list[str], gold: set[str]) -> dict[str, float]:
    """Notice-level metrics for one question (binary relevance)."""
    ranks = [i for i, d in enumerate(ranked) if d in gold]
    first = ranks[0] if ranks else None
    dcg = sum(1.0 / math.log2(i + 2) for i in ranks if i < 10)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(gold), 10)))
    return {
        "hit@1": float(first == 0),
        "hit@5": float(first is not None and first < 5),
        "hit@10": float(first is not None and first < 10),
        "mrr": 1.0 / (first + 1) if first is not None else 0.0,
        "mrr@10": 1.0 / (first + 1) if first is not None and first < 10 else 0.0,
        "ndcg@10": dcg / ideal if ideal else 0.0,
        "recall@5": len({d for d in ranked[:5] if d in gold}) / len(gold) if gold else 0.0,
    }


def missing_key_facts(answer: str, key_facts: tuple[str, ...]) -> list[str]:
    """The key facts ``answer`` does not contain, compared as the gold format says (``squash``)."""
    text = squash(answer)
    return [f for f in key_facts if squash(f) not in text]


def key_fact_recall(answer: str, key_facts: tuple[str, ...]) -> float:
    if not key_facts:
        return 1.0
    return (len(key_facts) - len(missing_key_facts(answer, key_facts))) / len(key_facts)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    pos = (len(values) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


# -- gold run ---------------------------------------------------------------------------

def gold_id_aliases(notice_ids) -> dict[str, str]:
    """Older gold files name a whole-file notice by its bare file stem ("000_784a45d05de28dc5");
    the index names it by its path ("bidpro/000_784a45d05de28dc5.txt"). Map each unambiguous
    stem to the id, so gold sets written either way score the same."""
    by_stem: dict[str, list[str]] = {}
    for doc_id in notice_ids:
        stem = Path(doc_id).stem
        if stem != doc_id:
            by_stem.setdefault(stem, []).append(doc_id)
    return {stem: ids[0] for stem, ids in by_stem.items() if len(ids) == 1 and stem not in notice_ids}


def run_gold(gold_path: Path, settings: Settings, mode: str = "hybrid", k: int = 8, limit: int | None = None,
             assistant=None, progress: bool = True, only: set[str] | None = None) -> dict:
    """Run every gold question (or those whose text is in ``only``) through the same path as `ask`;
    return the report (stable keys)."""
    from rag.retrieve import Retriever
    from rag.service import open_assistant

    gold = load_gold(gold_path)
    if not gold.questions:  # an empty table and exit 0 would read as a run that passed
        raise ValueError(f"no gold questions in {gold_path}"
                         + (f": {len(gold.problems)} malformed lines (first: {gold.problems[0]})" if gold.problems else ""))
    questions = [q for q in gold.questions if only is None or q.question in only]
    questions = questions[:limit] if limit else questions
    if assistant is None:
        assistant = open_assistant(settings, progress=progress)
    # Before the clock starts: a server pays this once at start-up (open_assistant(warm=True)).
    warm_up(assistant.retriever.embedder)
    retriever = Retriever(assistant.index, assistant.retriever.embedder,
                          **{**assistant.retriever.options(), "mode": mode})
    problems = list(gold.problems)
    rows = []
    iterator = questions
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(questions, desc=f"eval {mode}", unit="q", file=__import__("sys").stderr)
        iterator = bar
    aliases = gold_id_aliases(assistant.index.notices)
    copies = assistant.index.copies()
    for q in iterator:
        q = replace(q, doc_ids=tuple(aliases.get(d, d) for d in q.doc_ids))
        missing = [d for d in q.doc_ids if d not in assistant.index.notices]
        if missing:
            problems.append(f"{q.id}: gold notice(s) not in the index: {', '.join(missing)}")
        t0 = time.perf_counter()
        retrieval = retriever.run(q.question, k=max(k, 30))
        t1 = time.perf_counter()
        # the answerer sees the same top-k as `ask`, and the same lexical coverage (the "words the corpus
        # lacks" rule reads it; without it the eval never applied that rule, which `ask` does)
        top = replace(retrieval, hits=retrieval.hits[:k],
                      doc_ids=list(dict.fromkeys(h.chunk.doc_id for h in retrieval.hits[:k])))
        answer = assistant.answerer.run(q.question, top, assistant.index)
        t2 = time.perf_counter()
        row = {"id": q.id, "question": q.question, "type": q.type, "lang": q.lang,
               "gold_doc_ids": list(q.doc_ids), "retrieved": retrieval.doc_ids[:10],
               "answer": answer.answer, "refused": answer.refused,
               "citations": [c.doc_id for c in answer.citations],
               "retrieval_ms": round((t1 - t0) * 1000, 2), "answer_ms": round((t2 - t1) * 1000, 2)}
        if getattr(assistant.answerer, "mode", "") == "generative":
            row["fallback"] = answer.mode != "generative"
            row["generated_sentences"] = len(answer.generated)
            row["unsupported_sentences"] = sum(not s.supported for s in answer.generated)
            row["note"] = answer.note
        if getattr(assistant.answerer, "learned", False):
            # after the timing: the refusal trade-off curve needs every question's P(answerable)
            signals = assistant.answerer.refusal_signals(q.question, top, assistant.index)
            row["confidence"] = round(signals.answerable, 4)
            row["refused_otherwise"] = signals.refused_otherwise
            if signals.near_in_meaning:
                row["near_in_meaning"] = True  # no P(answerable) threshold refuses it
        if q.doc_ids:
            gold = set(one_copy(q.doc_ids, copies))
            row["retrieval"] = retrieval_metrics(one_copy(retrieval.doc_ids, copies), gold)
            row["key_fact_recall"] = 0.0 if answer.refused else key_fact_recall(answer.answer, q.key_facts)
            cited = [copies.get(d, d) for d in row["citations"]]
            row["citation_precision"] = (sum(1 for d in cited if d in gold) / len(cited)) if cited else None
            row["missing_facts"] = missing_key_facts(answer.answer, q.key_facts)
            if len(gold) > 1 and not answer.refused:
                # an answer spread over notices: how many of them it cites, and how many a reader is
                # shown with "see also" beside (rag/related.py; the assistant's own setting)
                see_also = getattr(assistant, "see_also", None)
                listed = see_also.run(answer, top, assistant.index).related if see_also is not None else []
                row["gold_notices_cited"] = len(gold & set(cited)) / len(gold)
                row["gold_notices_shown"] = len(gold & (set(cited) | {copies.get(c.doc_id, c.doc_id)
                                                                      for c in listed})) / len(gold)
                # what a reader sees of the key facts: the answer and the see-also quotes under it
                row["key_facts_shown"] = key_fact_recall(" ".join([answer.answer, *(c.quote for c in listed)]),
                                                         q.key_facts)
        row["pass"] = (answer.refused if not q.doc_ids else
                       (not answer.refused and row["key_fact_recall"] >= 0.999 and row["retrieval"]["hit@5"] == 1.0))
        rows.append(row)
    report = summarise(rows)
    report["intervals"] = {m: [round(lo, 4), round(hi, 4)] for m, (lo, hi) in intervals(rows).items()}
    if getattr(assistant.answerer, "learned", False):
        report["refusal_thresholds"] = assistant.answerer.thresholds(assistant.index)
    report["mode"] = mode
    report["gold"] = str(gold_path)
    report["problems"] = problems
    report["questions"] = rows
    return report


def summarise(rows: list[dict]) -> dict:
    def block(subset: list[dict]) -> dict:
        answerable = [r for r in subset if r["gold_doc_ids"]]
        unanswerable = [r for r in subset if not r["gold_doc_ids"]]
        # a metric over no questions is None ("–" in the table), not 0: a set of unanswerable questions
        # (eval/gold/offtopic.jsonl, dev's type=unanswerable row) has no ranking or key facts to score
        retrieval = {m: mean([r["retrieval"][m] for r in answerable]) if answerable else None
                     for m in ("hit@1", "hit@5", "mrr", "ndcg@10")}
        multi = [r for r in answerable if len(r["gold_doc_ids"]) > 1]
        if multi:
            retrieval["recall@5_multi"] = mean([r["retrieval"]["recall@5"] for r in multi])
        spread = [r for r in multi if "gold_notices_cited" in r]
        precisions = [r["citation_precision"] for r in answerable if r.get("citation_precision") is not None]
        answered = [r for r in subset if not r["refused"]]
        answer = {
            "key_fact_recall": mean([r["key_fact_recall"] for r in answerable]) if answerable else None,
            "citation_precision": mean(precisions) if precisions else None,
            "refusal_accuracy": mean([float(r["refused"]) for r in unanswerable]) if unanswerable else None,
            "false_refusal_rate": mean([float(r["refused"]) for r in answerable]) if answerable else None,
            "answer_chars_p50": statistics.median([len(r["answer"]) for r in answered]) if answered else 0,
        }
        if spread:  # answered questions with several gold notices
            answer["multi_answered"] = len(spread)
            answer["multi_notices_cited"] = mean([r["gold_notices_cited"] for r in spread])
            answer["multi_notices_shown"] = mean([r["gold_notices_shown"] for r in spread])
            # reports written before this figure lack it per question
            shown = [r["key_facts_shown"] for r in spread if "key_facts_shown" in r]
            if shown:
                answer["multi_key_facts"] = mean([r["key_fact_recall"] for r in spread])
                answer["multi_key_facts_shown"] = mean(shown)
        return {"n": len(subset), "retrieval": retrieval, "answer": answer}

    report = block(rows)
    report["latency_ms"] = {
        "retrieval_p50": round(percentile([r["retrieval_ms"] for r in rows], 0.5), 1),
        "retrieval_p95": round(percentile([r["retrieval_ms"] for r in rows], 0.95), 1),
        "answer_p50": round(percentile([r["answer_ms"] for r in rows], 0.5), 1),
        "answer_p95": round(percentile([r["answer_ms"] for r in rows], 0.95), 1),
    }
    curve = refusal_curve(rows)
    if curve:
        report["refusal_curve"] = curve
    generative = [r for r in rows if "fallback" in r]
    if generative:
        written = sum(r["generated_sentences"] for r in generative)
        report["generative"] = {
            "answers": len(generative),
            "fallback_rate": mean([float(r["fallback"]) for r in generative]),
            "sentences": written,
            "unsupported_sentence_rate": (sum(r["unsupported_sentences"] for r in generative) / written
                                          if written else None),
        }
    report["by_type"] = {t: block([r for r in rows if r["type"] == t]) for t in sorted({r["type"] for r in rows})}
    report["by_lang"] = {lang: block([r for r in rows if r["lang"] == lang]) for lang in sorted({r["lang"] for r in rows})}
    return report


def refusal_curve(rows: list[dict], thresholds=None) -> list[dict]:
    """Refusal accuracy against false-refusal rate if the answerer refused below each threshold of the
    rows' ``confidence`` (P(answerable)), the rows it refuses anyway (``refused_otherwise``: the best
    sentence probability or a question-reading rule) held. A row ``near_in_meaning`` is refused by no
    threshold.

    Empty when the rows carry no confidence (word-overlap answerer) or lack either kind of question.
    Refusals made before scoring (no candidates) count as confidence 0.
    """
    scored = [r for r in rows if "confidence" in r]
    unanswerable = [r for r in scored if not r["gold_doc_ids"]]
    answerable = [r for r in scored if r["gold_doc_ids"]]
    if not unanswerable or not answerable:
        return []
    thresholds = thresholds or [round(0.05 * i, 2) for i in range(1, 20)]

    def share(group: list[dict], t: float) -> float:
        return round(sum(r["confidence"] < t and not r.get("near_in_meaning") or r.get("refused_otherwise", False)
                         for r in group) / len(group), 3)

    return [{"threshold": t, "refusal_accuracy": share(unanswerable, t), "false_refusals": share(answerable, t)}
            for t in thresholds]


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if value <= 1.0 else f"{value:.0f}"
    return str(value)


def _console():
    """A rich console at least 140 columns wide: the report tables fold in a narrow terminal."""
    from rich.console import Console

    return Console(width=max(Console().width, 140))


def print_gold_report(report: dict, console=None) -> None:
    from rich.table import Table

    console = console or _console()
    for problem in report.get("problems", []):
        console.print(f"[yellow]warning:[/yellow] {problem}")
    table = Table(title=f"pressrag eval — {report['mode']} — {report['n']} questions")
    cols = ["", "n", "hit@1", "hit@5", "MRR", "nDCG@10", "key facts", "cite prec", "refusal acc", "false ref", "chars p50"]
    for c in cols:
        table.add_column(c, justify="right" if c else "left")

    def add(name: str, b: dict) -> None:
        r, a = b["retrieval"], b["answer"]
        table.add_row(name, str(b["n"]), _fmt(r["hit@1"]), _fmt(r["hit@5"]), _fmt(r["mrr"]), _fmt(r["ndcg@10"]),
                      _fmt(a["key_fact_recall"]), _fmt(a["citation_precision"]), _fmt(a["refusal_accuracy"]),
                      _fmt(a["false_refusal_rate"]), _fmt(a["answer_chars_p50"]))

    add("all", report)
    for name, b in report["by_lang"].items():
        add(f"lang={name}", b)
    for name, b in report["by_type"].items():
        add(f"type={name}", b)
    console.print(table)
    if report.get("refusal_curve"):
        curve = Table(title="refusal trade-off: refuse when P(answerable) is below … (other refusals held)")
        for c in ("threshold", "refusal acc", "false ref"):
            curve.add_column(c, justify="right")
        for point in report["refusal_curve"]:
            curve.add_row(f"{point['threshold']:.2f}", _fmt(point["refusal_accuracy"]), _fmt(point["false_refusals"]))
        console.print(curve)
        if report.get("refusal_thresholds"):
            t = report["refusal_thresholds"]
            gates = ", ".join(f"{k[:-len('_below')]} {v:.3f}" for k, v in t.items()
                              if k.endswith("_below")
                              and k not in ("refuse_below", "rules_below", "answerable_below")
                              and not k.startswith("value_below"))
            parts = (f" ({t['answerable_below_parts']:.3f} when the first notice is one part of a document)"
                     if t.get("answerable_below_parts") is not None else "")
            console.print(f"operating point: refused when P(answerable) is below {t.get('answerable_below', 0.0):.3f}"
                          f"{parts} or "
                          f"the best sentence's probability below {t['refuse_below']:.3f}, or, when a question-reading "
                          f"rule says the notices lack what is asked, below its gate ({gates or t['rules_below']})"
                          + (f"; only value_missing when a sentence is at least {t['meaning_floor']:.3f} close in "
                             "meaning (cosine)" if t.get("meaning_floor") is not None else "")
                          + "".join(f"; and a one-part {k.removeprefix('value_below_')} question asking a sum or count "
                                    f"when every sentence stating one is below {v:.3f}"
                                    for k, v in t.items() if k.startswith("value_below_"))
                          + "".join(f", or when the sentences stating one leave out at least {v:.3f} of the question "
                                    f"({k.removeprefix('value_gap_above_')})"
                                    for k, v in t.items() if k.startswith("value_gap_above_"))
                          + "; eval/fit_answers.py fits them")
    a = report["answer"]
    if a.get("multi_answered"):
        facts = (f"; key facts in the answer {_fmt(a['multi_key_facts'])}, with the see-also quotes "
                 f"{_fmt(a['multi_key_facts_shown'])}" if "multi_key_facts_shown" in a else "")
        console.print(f"answers with several gold notices ({a['multi_answered']}): gold notices cited "
                      f"{_fmt(a['multi_notices_cited'])}, cited or under \"see also\" {_fmt(a['multi_notices_shown'])}"
                      + facts)
    if report.get("generative"):
        g = report["generative"]
        console.print(f"generative: {g['sentences']} model sentences, {_fmt(g['unsupported_sentence_rate'])} rejected "
                      f"by the support check; extractive fallback in {_fmt(g['fallback_rate'])} of {g['answers']} "
                      "answers")
    if report.get("replay"):
        r = report["replay"]
        console.print(f"replay: {r['requests'] - r['misses']} of {r['requests']} prompts had a recorded reply"
                      + (" (the others changed since recording: re-record with eval/record_llm.py)"
                         if r["misses"] else ""))
    if report.get("intervals"):
        console.print("95% intervals (bootstrap over notices, 2,000 resamples): " + ", ".join(
            f"{_LABELS.get(m, m)} {lo:.3f}–{hi:.3f}" for m, (lo, hi) in report["intervals"].items()))
    lat = report["latency_ms"]
    console.print(f"latency ms: retrieval p50 {lat['retrieval_p50']}, p95 {lat['retrieval_p95']}; "
                  f"answer p50 {lat['answer_p50']}, p95 {lat['answer_p95']}")
    worst = [r for r in report["questions"] if not r["pass"]]
    if worst:
        console.print(f"\n[bold]Failed questions ({len(worst)})[/bold]")
        for r in worst[:15]:
            why = []
            if r["gold_doc_ids"]:
                if r["refused"]:
                    why.append("refused")
                if r["retrieval"]["hit@5"] < 1:
                    why.append(f"gold notice not in top 5 (got {', '.join(r['retrieved'][:3])})")
                if r.get("missing_facts"):
                    why.append(f"missing {r['missing_facts']}")
            else:
                why.append("answered an unanswerable question")
            console.print(f"  {r['id']} [{r['type']}/{r['lang']}] {r['question'][:70]} — {'; '.join(why)}")


_LABELS = {"mrr": "MRR", "key_fact_recall": "key facts", "citation_precision": "cite prec",
           "refusal_accuracy": "refusal acc", "false_refusal_rate": "false ref"}


def print_changes(before: dict, after: dict, label: str, console=None) -> None:
    """The change of each metric from a saved run (``before``, a --json-out report) to this one, over the
    questions both asked, with its paired 95% interval, then the questions whose answer changed."""
    from rich.table import Table

    console = console or _console()
    changes = paired_changes(before["questions"], after["questions"])
    if not changes:
        console.print(f"no question of this run is in {label}")
        return
    table = Table(title=f"change since {label} (paired bootstrap over notices, 2,000 resamples)")
    for c in ("metric", "n", "before", "now", "change", "95% interval", "reading"):
        table.add_column(c, justify="left" if c in ("metric", "reading") else "right")
    for ch in changes:
        table.add_row(_LABELS.get(ch.metric, ch.metric), str(ch.n), f"{ch.before:.3f}", f"{ch.after:.3f}",
                      f"{ch.delta:+.3f}", f"{ch.low:+.3f} … {ch.high:+.3f}", ch.reading)
    console.print(table)
    changed = changed_questions(before["questions"], after["questions"])
    console.print(f"{len(changed)} answers changed")
    for old, new in changed[:30]:
        facts = ""
        if new.get("key_fact_recall") is not None and old.get("key_fact_recall") is not None:
            facts = f"key facts {old['key_fact_recall']:.2f} → {new['key_fact_recall']:.2f}, "
        refusal = (f"refused {old['refused']} → {new['refused']}, " if old["refused"] != new["refused"] else "")
        console.print(f"  {new['id']}: {facts}{refusal}chars {len(old['answer'])} → {len(new['answer'])}  "
                      f"{new['question'][:60]}")
    if len(changed) > 30:
        console.print(f"  … and {len(changed) - 30} more (--json-out keeps them all)")


def print_comparison(a: dict, b: dict, mode_a: str, mode_b: str, console=None) -> None:
    from rich.table import Table

    console = console or _console()
    table = Table(title=f"{mode_a} vs {mode_b} (95% interval of Δ: paired bootstrap over notices)")
    for c in ("metric", mode_a, mode_b, "Δ", "95% interval", "reading"):
        table.add_column(c, justify="left" if c in ("metric", "reading") else "right")
    # the same questions in both runs: a paired interval says whether Δ is more than noise
    paired = {c.metric: c for c in paired_changes(a["questions"], b["questions"])}
    for group in ("retrieval", "answer"):
        for metric, va in a[group].items():
            vb = b[group].get(metric)
            if isinstance(va, (int, float)) and isinstance(vb, (int, float)):
                ch = paired.get(metric)
                table.add_row(f"{group}.{metric}", _fmt(va), _fmt(vb), f"{vb - va:+.3f}",
                              f"{ch.low:+.3f} … {ch.high:+.3f}" if ch else "", ch.reading if ch else "")
    console.print(table)
    changed = [(ra, rb) for ra, rb in zip(a["questions"], b["questions"]) if ra["pass"] != rb["pass"]]
    for ra, rb in changed:
        console.print(f"  {ra['id']}: {mode_a} {'pass' if ra['pass'] else 'fail'} → {mode_b} {'pass' if rb['pass'] else 'fail'}  {ra['question'][:60]}")


# -- BEIR -----------------------------------------------------------------------------------

def load_beir(folder: Path):
    """(notices, queries {id: text}, qrels {query id: {doc id: score}}) from a BEIR-layout folder."""
    from ingest.models import Notice
    from ingest.normalize import normalize_text

    for name in ("corpus.jsonl", "queries.jsonl"):
        if not (folder / name).exists():
            raise OSError(f"{folder} is not a BEIR folder: {name} is missing")
    qrels_path = folder / "qrels.tsv"
    if not qrels_path.exists():
        qrels_path = folder / "qrels" / "test.tsv"
    if not qrels_path.exists():
        raise OSError(f"{folder} is not a BEIR folder: qrels.tsv is missing")
    notices = []
    for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            body = normalize_text(row.get("text") or "")
            if body:
                title = normalize_text(row.get("title") or "")
                notices.append(Notice(doc_id=str(row["_id"]), title=title, body=body, source=str(folder / "corpus.jsonl"),
                                      source_type="beir"))
    queries = {}
    for line in (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            queries[str(row["_id"])] = str(row["text"])
    qrels: dict[str, dict[str, float]] = {}
    for i, line in enumerate(qrels_path.read_text(encoding="utf-8").splitlines()):
        parts = line.split("\t")
        if len(parts) < 3 or (i == 0 and not parts[2].strip().lstrip("-").isdigit()):
            continue
        if float(parts[2]) > 0:
            qrels.setdefault(parts[0], {})[parts[1]] = float(parts[2])
    return notices, queries, qrels


def run_beir(folder: Path, settings: Settings, mode: str = "hybrid", index_dir: Path | None = None,
             limit: int | None = None, modes: tuple[str, ...] | None = None, progress: bool = True) -> dict:
    """Index a BEIR corpus (temp folder unless ``index_dir``) and score retrieval at document level."""
    from rag.build import IndexUpdater
    from rag.embed import make_embedder
    from rag.folder import IndexFolder
    from rag.index import NoticeIndex
    from rag.retrieve import Retriever
    from rag.service import retriever_options

    notices, queries, qrels = load_beir(folder)
    embedder = make_embedder(settings.embed_model)
    updater = IndexUpdater(embedder, progress=progress)
    t0 = time.perf_counter()
    if index_dir is not None and IndexFolder(index_dir).has_snapshot():
        index = NoticeIndex.load(index_dir, expected_model=embedder.name)
        ingest_seconds = 0.0
    else:
        index = updater.build_in_memory(notices)
        ingest_seconds = time.perf_counter() - t0
        if index_dir is not None:
            index.save(index_dir)
    chars = sum(len(n.body) for n in notices)
    results = {}
    for m in modes or (mode,):
        retriever = Retriever(index, embedder, **{**retriever_options(settings), "mode": m})
        per_query, latencies = [], []
        ids = [q for q in queries if q in qrels][:limit] if limit else [q for q in queries if q in qrels]
        copies = index.copies()
        for qid in ids:
            t = time.perf_counter()
            retrieval = retriever.run(queries[qid], k=50)
            latencies.append((time.perf_counter() - t) * 1000)
            per_query.append({"id": qid, **retrieval_metrics(one_copy(retrieval.doc_ids, copies),
                                                             set(one_copy(qrels[qid], copies)))})
        results[m] = {
            "n": len(per_query),
            "retrieval": {key: mean([r[src] for r in per_query]) for key, src in
                          (("ndcg@10", "ndcg@10"), ("hit@1", "hit@1"), ("hit@10", "hit@10"), ("mrr", "mrr@10"))},
            "latency_ms": {"retrieval_p50": round(percentile(latencies, 0.5), 1),
                           "retrieval_p95": round(percentile(latencies, 0.95), 1)},
            "ingest": {"chars": chars, "seconds": round(ingest_seconds, 1),
                       "chars_per_s": round(chars / ingest_seconds) if ingest_seconds else None},
            "mode": m, "dataset": str(folder), "questions": per_query,
        }
    return results[mode] if modes is None else results


def print_beir_report(report: dict, console=None) -> None:
    console = console or _console()
    r, lat, ing = report["retrieval"], report["latency_ms"], report["ingest"]
    console.print(f"{report['dataset']} — {report['mode']} — {report['n']} queries: nDCG@10 {r['ndcg@10']:.3f}, "
                  f"hit@1 {r['hit@1']:.3f}, hit@10 {r['hit@10']:.3f}, MRR@10 {r['mrr']:.3f}; "
                  f"latency p50 {lat['retrieval_p50']} ms, p95 {lat['retrieval_p95']} ms; "
                  f"ingest {ing['chars']:,} chars in {ing['seconds']} s ({ing['chars_per_s']} chars/s)")

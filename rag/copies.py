"""Which notices are one release posted more than once.

The same press release reaches an index several times: korea.kr republishes a ministry's release, a bid
site reposts it, two feeds carry it, a ministry re-issues it with a name or a figure changed. The copies
differ in line breaks and spacing, and often in a footer or a few words, so equal text alone misses most
of them. Two notices are copies here when they carry the same title (``rag.index.title_key``) and their
texts' character 5-gram sets (``ingest.normalize.squash``: whitespace removed, NFC, case-folded) overlap
at Jaccard >= ``COPY_SIMILARITY``.

Why 0.9, measured 2026-12-07 on korquad_tune's corpus (the one corpus at hand holding such pairs: the
demo corpus and AutoRAGRetrieval hold none): among its paragraphs that share an article's title, the pairs
score 1.000 (one paragraph under three ids), 0.979 and 0.947 (a word or a name changed: "북한" written
"조선민주주의인민공화국"), 0.859 (a sentence rewritten, so another statement) and at most 0.581 (other
paragraphs). 0.9 takes the first two kinds and leaves the rewritten paragraph apart. A reposted release
with a footer added ("[자료제공: (www.korea.kr)]", 30 characters on a 2,000-character release) scores
about 0.98.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping

from ingest.normalize import squash

SHINGLE = 5
COPY_SIMILARITY = 0.9
# A title carried by more notices than this is a generic label ("보도자료", a bid site's "입찰공고"), not one
# release posted a few times: there only texts equal as ``squash`` reads them count as copies, since
# comparing pairs grows faster than the group (synthetic groups of notices built from the demo corpus's
# sentences, 2026-12-07: 1,000 in 1.9 s, 5,000 in 21 s). korquad_tune's longest article has 48 paragraphs.
NEAR_COPY_GROUP = 256


def shingles(text: str, n: int = SHINGLE) -> frozenset[str]:
    """The text's character n-grams, compared as ``squash`` compares text (copies differ in spacing and
    line breaks); a text shorter than n is its own one gram, and an empty text has none."""
    s = squash(text)
    return frozenset(s[i:i + n] for i in range(max(len(s) - n + 1, 1))) if s else frozenset()


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def copy_groups(texts: Mapping[str, str], threshold: float = COPY_SIMILARITY) -> dict[str, str]:
    """For each of ``texts`` (id -> text, in index order) that has a copy, the first id of its group.

    Groups are closed under "is a copy of" (a chain of small edits is one group). A text with nothing in
    it is nobody's copy. Pairs are found by prefix filtering (Bayardo et al., "Scaling up all pairs
    similarity search", 2007): with the grams of every text in one order (rarest first), two texts at
    Jaccard >= t share a gram among the first |A| - ceil(t |A|) + 1 of each, so only texts sharing one of
    those are compared, and a group of many same-titled notices is not read pair by pair."""
    if len(texts) > NEAR_COPY_GROUP:
        return _equal_texts(texts)
    grams = {doc_id: shingles(text) for doc_id, text in texts.items()}
    ids = [doc_id for doc_id, g in grams.items() if g]
    if len(ids) < 2:
        return {}
    frequency = Counter(g for doc_id in ids for g in grams[doc_id])
    parent = {doc_id: doc_id for doc_id in ids}
    position = {doc_id: i for i, doc_id in enumerate(ids)}

    def root(doc_id: str) -> str:
        while parent[doc_id] != doc_id:
            parent[doc_id] = parent[parent[doc_id]]
            doc_id = parent[doc_id]
        return doc_id

    seen: dict[str, list[str]] = defaultdict(list)  # prefix gram -> the texts whose prefix holds it
    for doc_id in ids:
        mine = grams[doc_id]
        ordered = sorted(mine, key=lambda g: (frequency[g], g))
        prefix = len(ordered) - math.ceil(threshold * len(ordered) - 1e-9) + 1
        candidates: set[str] = set()
        for g in ordered[:prefix]:
            candidates.update(seen[g])
            seen[g].append(doc_id)
        for other in candidates:
            small, large = sorted((len(grams[other]), len(mine)))
            if small >= threshold * large and jaccard(grams[other], mine) >= threshold:
                a, b = root(other), root(doc_id)
                if a != b:
                    first, then = sorted((a, b), key=position.__getitem__)
                    parent[then] = first
    groups: dict[str, list[str]] = defaultdict(list)
    for doc_id in ids:
        groups[root(doc_id)].append(doc_id)
    return {doc_id: first for first, members in groups.items() if len(members) > 1 for doc_id in members}


def _equal_texts(texts: Mapping[str, str]) -> dict[str, str]:
    """``copy_groups`` for texts equal as ``squash`` reads them (one dictionary lookup a text)."""
    first: dict[str, str] = {}
    out: dict[str, str] = {}
    for doc_id, text in texts.items():
        key = squash(text)
        if key:
            original = first.setdefault(key, doc_id)
            if original != doc_id:
                out[doc_id] = out[original] = original
    return out

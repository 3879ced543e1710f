"""Encoders: one contract for every implementation, and parity with sentence-transformers."""

from __future__ import annotations

import functools
import random

import numpy as np
import pytest
from tokenizers import Tokenizer

from intent_guard.embed import Embedder, OnnxEmbedder, StaticEmbedder

from .conftest import DEFAULT_BUNDLE

TOKENIZER = DEFAULT_BUNDLE / "tokenizer.json"
SAMPLE = ["Solve step by step: 2 + 2", "", "   ", "日本語のテキストです", "def f(x):\n    return x", "a" * 5000]


@pytest.fixture(scope="module", params=["static", "onnx-int8"])
def embedder(request) -> Embedder:
    if request.param == "static":
        return StaticEmbedder(DEFAULT_BUNDLE / "encoder-static.npy", TOKENIZER)
    return OnnxEmbedder(DEFAULT_BUNDLE / "encoder-int8.onnx", TOKENIZER)


def test_contract_shapes_norms_and_purity(embedder: Embedder) -> None:
    texts = list(SAMPLE)
    vectors = embedder.embed(texts)
    assert texts == SAMPLE  # inputs left unchanged
    assert vectors.shape == (len(SAMPLE), embedder.dim) and vectors.dtype == np.float32
    norms = np.linalg.norm(vectors, axis=1)
    assert norms[1] == 0.0 and norms[2] == 0.0  # empty texts embed to zero, never NaN
    np.testing.assert_allclose(norms[[0, 3, 4, 5]], 1.0, atol=1e-5)
    np.testing.assert_array_equal(embedder.embed(texts), vectors)  # deterministic
    assert embedder.embed([]).shape == (0, embedder.dim)


def test_a_vector_does_not_depend_on_its_batch(embedder: Embedder) -> None:
    # The int8 encoder quantises activations over its whole input: batched, a window's vector
    # would move with its batch-mates (train/serve skew between a replay and one request).
    texts = ["Solve step by step: 2 + 2", "a much longer sentence about trains leaving stations " * 6, "hi"]
    together = embedder.embed(texts)
    for i, text in enumerate(texts):
        np.testing.assert_array_equal(embedder.embed([text])[0], together[i])


def test_lone_surrogates_do_not_break_the_tokenizer(embedder: Embedder) -> None:
    vectors = embedder.embed(["broken \ud800 text"])
    assert np.isfinite(vectors).all()


def parity_sentences(prompts: dict[str, list[dict]]) -> list[str]:
    """Varied sentences from every kind of the shared corpus, short enough that neither side truncates."""
    windows = StaticEmbedder(DEFAULT_BUNDLE / "encoder-static.npy", TOKENIZER).windows
    rng = random.Random(0)
    out: list[str] = []
    for _, records in sorted(prompts.items()):
        texts = [r["text"][:300] for r in records]
        rng.shuffle(texts)
        out += [t for t, ids in zip(texts[:40], windows.ids(texts[:40]), strict=True) if len(ids) <= 120][:30]
    return out


@pytest.mark.slow
def test_onnx_encoders_match_sentence_transformers(prompts, tmp_path_factory) -> None:
    pytest.importorskip("sentence_transformers", reason="parity needs the 'train' extra")
    from sentence_transformers import SentenceTransformer

    from training.export_encoders import export_onnx_fp32, model_dir

    sentences = parity_sentences(prompts)
    assert len(sentences) >= 200
    fp32_path = tmp_path_factory.mktemp("fp32") / "encoder-fp32.onnx"
    export_onnx_fp32(fp32_path)
    reference = SentenceTransformer(str(model_dir()), device="cpu").encode(sentences, normalize_embeddings=True)
    fp32 = OnnxEmbedder(fp32_path, TOKENIZER).embed(sentences)
    int8 = OnnxEmbedder(DEFAULT_BUNDLE / "encoder-int8.onnx", TOKENIZER).embed(sentences)
    fp32_cos = (fp32 * reference).sum(axis=1)
    int8_cos = (int8 * reference).sum(axis=1)
    assert fp32_cos.min() >= 0.999, f"fp32 min cosine {fp32_cos.min():.5f}"
    assert int8_cos.mean() >= 0.98, f"int8 mean cosine {int8_cos.mean():.5f}"


def test_static_table_is_a_distillation_not_noise(prompts) -> None:
    """Similar prompts stay closer than unrelated ones under the static encoder."""
    static = StaticEmbedder(DEFAULT_BUNDLE / "encoder-static.npy", TOKENIZER)
    math_a = [r["text"][:300] for r in prompts["benchmark_math"][:50]]
    math_b = [r["text"][:300] for r in prompts["benchmark_math"][50:100]]
    code = [r["text"][:300] for r in prompts["benchmark_code"][:50]]
    va, vb, vc = static.embed(math_a), static.embed(math_b), static.embed(code)
    assert (va @ vb.T).mean() > (va @ vc.T).mean() + 0.05


# --- the tokenizer's ASCII fast path -------------------------------------------------------------


@functools.cache
def reference_tokenizer() -> Tokenizer:
    """The model's own tokenizer, BERT normaliser included (no fast path)."""
    tokenizer = Tokenizer.from_file(str(TOKENIZER))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def reference_encoding(text: str) -> tuple[list[int], list[tuple[int, int]]]:
    encoding = reference_tokenizer().encode(text, add_special_tokens=False)
    return encoding.ids, encoding.offsets


ASCII_CASES = [
    "Solve step by step: 2 + 2",
    "MiXeD CaSe, Punctuation!? (brackets) [x] {y} <z> a_b-c/d\\e 'q' \"Q\" ~`@#$%^&*=+|",
    "tabs\tand\nnewlines\r\nand  double  spaces",
    "control \x00 \x01 \x07 \x0b \x0c \x1b \x1f \x7f characters",  # removed by BERT: the full path
    "special tokens [MASK] and [CLS]x and [sep] [PAD][UNK]",  # matched before normalising: the full path
    "",
    "   ",
    "x" * 3000,
    "a" * 99 + " " + "b" * 100 + " " + "c" * 101,  # the longest word WordPiece splits, and past it
    "qzxvkj unaffable antidisestablishmentarianism 1234567890123 don't it's",
    "def f(x):\n    return x ** 2  # square",
]


def windows_of_the_bundle():  # noqa: ANN201
    return StaticEmbedder(DEFAULT_BUNDLE / "encoder-static.npy", TOKENIZER).windows


@pytest.mark.parametrize("text", ASCII_CASES)
def test_ascii_fast_path_gives_the_full_tokenizers_ids_and_offsets(text: str) -> None:
    windows = windows_of_the_bundle()
    assert windows.fast is not None  # the shipped tokenizer is BERT's
    ids, offsets = reference_encoding(text)
    assert windows.encode([text]) == [(ids, offsets)]
    assert windows.encode([text, "hi", "日本語"])[0] == (ids, offsets)  # batched with both paths alike
    assert windows.ids([text]) == [ids]


def test_text_with_control_non_ascii_or_special_token_strings_takes_the_full_tokenizer() -> None:
    windows = windows_of_the_bundle()
    assert windows.takes_fast_path("plain ascii\ttext\n [x] <y>")
    for text in (
        "bell \x07",
        "del \x7f",
        "vertical \x0b tab",
        "café",
        "日本語",
        "zero\u200bwidth",
        "a [MASK] b",
        "[cls]",
    ):
        assert not windows.takes_fast_path(text), text


def test_ascii_fast_path_matches_on_every_ascii_character() -> None:
    # Every printable and control ASCII character, alone and between words, in random mixes.
    windows = windows_of_the_bundle()
    rng = random.Random(7)
    alphabet = [chr(c) for c in range(128)]
    texts = [f"word{chr(c)}Word {chr(c)} end" for c in range(128)]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 200))) for _ in range(300)]
    for text in texts:
        assert windows.encode([text]) == [reference_encoding(text)], repr(text)


def test_ascii_fast_path_matches_on_vocabulary_words_and_their_variants() -> None:
    # Real WordPiece splits: vocabulary words, continuation pieces glued on, suffixes, long words.
    windows = windows_of_the_bundle()
    vocab = [w.removeprefix("##") for w in reference_tokenizer().get_vocab() if w.isascii() and w.strip("[]") == w]
    rng = random.Random(3)
    for _ in range(400):
        words = [
            rng.choice(vocab) + rng.choice(["", "ing", "s", "'s", "-", "zq", rng.choice(vocab)]) for _ in range(25)
        ]
        text = " ".join(w.upper() if rng.random() < 0.2 else w for w in words) + "a" * rng.choice([0, 99, 100, 101])
        assert windows.encode([text]) == [reference_encoding(text)], repr(text)


def test_ascii_fast_path_stays_exact_when_its_word_cache_starts_afresh(monkeypatch) -> None:
    from intent_guard.embed import wordpiece

    monkeypatch.setattr(wordpiece, "CACHE_PIECES", 8)
    windows = windows_of_the_bundle()
    text = "the quick brown fox jumps over the lazy dog while the cat sleeps and the bird sings " * 3
    for _ in range(3):
        assert windows.encode([text]) == [reference_encoding(text)]
    assert windows.fast is not None
    assert sum(len(p) for p in windows.fast._cache.values()) <= 8


def test_the_word_cache_holds_no_long_words_and_stays_within_its_piece_budget() -> None:
    # Junk words that split into one piece per character must not grow the cache past its budget.
    from intent_guard.embed import wordpiece

    windows = windows_of_the_bundle()
    assert windows.fast is not None
    rng = random.Random(5)
    for _ in range(300):
        words = ["".join(rng.choice("0123456789qxzj") for _ in range(rng.choice([8, 32, 33, 100]))) for _ in range(20)]
        text = " ".join(words)
        assert windows.encode([text]) == [reference_encoding(text)]
    cache = windows.fast._cache
    assert all(len(word) <= wordpiece.CACHE_MAX_WORD_CHARS for word in cache)
    assert sum(len(p) for p in cache.values()) <= wordpiece.CACHE_PIECES


def test_ascii_fast_path_matches_on_real_prompts(prompts) -> None:
    windows = windows_of_the_bundle()
    texts = [r["text"][:1024] for _, records in sorted(prompts.items()) for r in records[:150]]
    fast = [t for t in texts if windows.takes_fast_path(t)]
    assert len(fast) > len(texts) // 2  # most real prompts take the fast path
    for text in texts:
        assert windows.encode([text]) == [reference_encoding(text)]


def test_a_tokenizer_that_is_not_berts_has_no_fast_path(tmp_path) -> None:
    import json

    from intent_guard.embed import TokenWindows

    spec = json.loads(TOKENIZER.read_text())
    spec["normalizer"] = {"type": "NFC"}
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(spec))
    windows = TokenWindows(path)
    assert windows.fast is None
    assert not windows.takes_fast_path("plain ascii")
    own = Tokenizer.from_file(str(path))
    own.no_padding()
    own.no_truncation()
    encoding = own.encode("Plain ASCII", add_special_tokens=False)
    assert windows.encode(["Plain ASCII"]) == [(encoding.ids, encoding.offsets)]  # its own pipeline, untouched

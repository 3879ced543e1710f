"""The guard's tokenization against the model's full tokenizer, on real prompts in corpus order.

    python benchmarks/bench_tokenizer.py [--per-kind 400]

Takes the first ``--per-kind`` prompts of each kind of ``../shared/data/prompts`` (their first
1,024 characters, the head window's bound), starts with an empty word cache, and times each prompt
through ``TokenWindows.encode`` (the fast path where it applies) and through the full tokenizer,
alternately, checking that both give the same ids and offsets. Prints totals, the share of prompts
that took the fast path, the size the word cache reached, and the worst case: the same prompts
with the cache emptied before each one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from intent_guard.bundle import default_bundle_path, load_manifest  # noqa: E402
from intent_guard.embed import TokenWindows  # noqa: E402

PROMPTS = ROOT.parent / "shared" / "data" / "prompts"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=400)
    args = parser.parse_args()
    if not PROMPTS.is_dir():
        print(f"the shared prompt corpus is absent ({PROMPTS})", file=sys.stderr)
        return 2
    texts: list[str] = []
    for file in sorted(PROMPTS.glob("*.jsonl")):
        lines = [line for line in file.read_text(encoding="utf-8").split("\n") if line.strip()]
        texts += [json.loads(line)["text"][:1024] for line in lines[: args.per_kind]]
    manifest = load_manifest(default_bundle_path())
    windows = TokenWindows(manifest.path(manifest.tokenizer))
    reference = windows.tokenizer
    guard_s = reference_s = 0.0
    for text in texts:
        start = time.perf_counter()
        ours = windows.encode([text])[0]
        guard_s += time.perf_counter() - start
        start = time.perf_counter()
        encoding = reference.encode(text, add_special_tokens=False)
        reference_s += time.perf_counter() - start
        if ours != (encoding.ids, encoding.offsets):
            print(f"MISMATCH on {text[:80]!r}", file=sys.stderr)
            return 1
    # The worst case: every word new (the cache emptied before each prompt, not timed).
    cold_s = 0.0
    for text in texts:
        if windows.fast is not None:
            windows.fast.clear_cache()
        start = time.perf_counter()
        windows.encode([text])
        cold_s += time.perf_counter() - start
    if windows.fast is not None:
        windows.fast.clear_cache()
        for text in texts:
            windows.encode([text])
    fast = sum(windows.takes_fast_path(t) for t in texts)
    cached = len(windows.fast._cache) if windows.fast is not None else 0  # noqa: SLF001
    print(f"{len(texts):,} prompts, {fast / len(texts):.0%} on the fast path, word cache {cached:,} words")
    print(
        f"full tokenizer {reference_s * 1e3:.1f} ms, TokenWindows.encode {guard_s * 1e3:.1f} ms: "
        f"{reference_s / guard_s:.2f}x faster, identical ids and offsets"
    )
    print(
        f"every word new (cache emptied before each prompt): {cold_s * 1e3:.1f} ms, "
        f"{cold_s / reference_s:.2f}x the full tokenizer's time"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

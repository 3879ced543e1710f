"""What each stage of ``guard.score`` costs in place, at 128 tokens, by switching stages off.

    python benchmarks/bench_stages.py [--iterations 3000] [--tokens 128]

A stage measured alone runs with warm caches and looks cheap; inside ``guard.score`` it competes
for the caches with the tokenizer, the static table and the template matrix. So each variant
below replaces some stages with their cached result for the same prompt (the same values, so the
rest of the request runs unchanged) and the variants alternate iteration by iteration in one run:
the host's drift hits all of them alike. A stage's cost is the drop in the median against "all".

Variants: all stages; without the static gather and segment sums (``embed_segmented``); without
that and the template match (``match``: the product with the template matrix and the category
fold). Also printed: the reference tokenizer in the same loop, and each variant over it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_latency import prompt_of  # noqa: E402

from intent_guard import Guard  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()

    guard = Guard.load()
    pipeline, embedder = guard.pipeline, guard.pipeline.embedder
    tokenizer = pipeline.windows.tokenizer
    prompt = prompt_of(args.tokens, tokenizer)
    embed, match = embedder.embed_segmented, pipeline.match
    cached: dict[str, object] = {}

    def cached_embed(windows, spans):  # noqa: ANN001, ANN202
        if "embed" not in cached:
            cached["embed"] = embed(windows, spans)
        return cached["embed"]

    def cached_match(views):  # noqa: ANN001, ANN202
        if "match" not in cached:
            cached["match"] = match(views)
        return cached["match"]

    def variant(embed_fn: Callable, match_fn: Callable) -> Callable[[], None]:
        def install() -> None:
            embedder.embed_segmented = embed_fn
            pipeline.match = match_fn

        return install

    variants = {
        "all stages": variant(embed, match),
        "without gather": variant(cached_embed, match),
        "without gather, match": variant(cached_embed, cached_match),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    reference: list[float] = []
    counter = 0
    for _ in range(args.iterations):
        for name, install in variants.items():
            install()
            counter += 1
            start = time.perf_counter()
            tokenizer.encode(prompt, add_special_tokens=False)
            reference.append(time.perf_counter() - start)
            request = {
                "request_id": f"s{counter}",
                "timestamp": 1_769_904_000 + counter * 0.5,
                "account_id": f"bench-{counter % 50}",
                "messages": [{"role": "user", "content": prompt}],
            }
            start = time.perf_counter()
            guard.score(request)
            times[name].append(time.perf_counter() - start)
    variant(embed, match)()
    skip = min(200, args.iterations // 10)
    tok = float(np.median(reference[skip * len(variants) :])) * 1e3
    medians = {k: float(np.median(v[skip:])) * 1e3 for k, v in times.items()}
    print(f"{args.tokens} tokens, {args.iterations} alternating iterations; p50 ms")
    print(f"reference tokenizer: {tok:.3f}")
    for name, ms in medians.items():
        print(f"guard.score, {name:24s} {ms:.3f}  ({ms / tok:.2f}x the tokenizer)")
    print(f"static gather and segment sums: {medians['all stages'] - medians['without gather']:.3f}")
    print(f"template match and fold:        {medians['without gather'] - medians['without gather, match']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

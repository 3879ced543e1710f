"""Where `guard.score` spends its time in place: a sampling profile of the 128-token benchmark prompt.

    pip install py-spy          # not a dependency of the project
    python benchmarks/stage_shares.py [--calls 20000]

Runs ``guard.score`` in a loop (the prompt, accounts and timestamps of ``bench_latency.py``) under
``py-spy record`` (1,000 samples/s, raw output), then prints, for each stage function, the share
of the samples inside ``guard.score`` whose stack passes through it. Unlike ``bench_stages.py``
(which caches a stage away), this sees each stage as slowed by the others in the same process.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Stage -> the function (py-spy's "name (file)" frame, line number dropped) that bounds it.
STAGES: dict[str, str] = {
    "own tokenization": "TokenWindows.encode (intent_guard/embed/base.py)",
    "static gather and segment sums": "StaticEmbedder.embed_segmented (intent_guard/embed/static.py)",
    "segment cuts": "segment_spans (intent_guard/text.py)",
    "template match and category fold": "FeaturePipeline.match (intent_guard/pipeline.py)",
    "topics": "FeaturePipeline.topics (intent_guard/pipeline.py)",
    "parsing": "coerce_request (intent_guard/pipeline.py)",
    "lexical cues": "lexical_features (intent_guard/pipeline.py)",
    "skeleton": "skeleton (intent_guard/linking.py)",
    "session store writes": "MemoryStore.apply (intent_guard/session/store.py)",
    "feature row": "feature_row (intent_guard/features.py)",
    "ONNX tree ensemble": "OnnxScorer.predict_proba (intent_guard/scoring/scorer.py)",
    "reasons": "build_reasons (intent_guard/scoring/reasons.py)",
    "policy": "Policy.decide (intent_guard/decision/policy.py)",
}
SCORE = "Guard.score (intent_guard/guard.py)"


def loop(calls: int) -> None:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_latency import bench_request, prompt_of

    from intent_guard import Guard

    guard = Guard.load()
    prompt = prompt_of(128, guard.pipeline.windows.tokenizer)
    for i in range(calls):
        guard.score(bench_request(i, prompt))


def shares(raw: Path) -> tuple[int, Counter[str]]:
    """Samples inside guard.score, and per stage the samples whose stack passes through it."""
    total, counts = 0, Counter()
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, n = line.rpartition(" ")
        frames = {re.sub(r":\d+\)$", ")", f) for f in stack.split(";")}
        if SCORE not in frames:
            continue
        total += int(n)
        for stage, frame in STAGES.items():
            if frame in frames:
                counts[stage] += int(n)
    return total, counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--loop", action="store_true", help=argparse.SUPPRESS)  # the profiled child
    args = parser.parse_args()
    if args.loop:
        loop(args.calls)
        return 0
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        print("py-spy is not installed: pip install py-spy", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "samples.txt"
        command = [spy, "record", "-r", "1000", "-f", "raw", "-o", str(raw), "--", sys.executable]
        subprocess.run([*command, __file__, "--loop", "--calls", str(args.calls)], check=True, capture_output=True)
        total, counts = shares(raw)
    if not total:
        print("no samples inside guard.score", file=sys.stderr)
        return 1
    print(f"{total:,} samples inside guard.score (128 tokens); share of them per stage:")
    for stage, n in counts.most_common():
        print(f"{stage:36s} {n / total:6.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

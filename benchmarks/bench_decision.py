"""Cost of the decision layer against the whole ``guard.score`` call, in one run.

    python benchmarks/bench_decision.py [--repeats 2000] [--json out.json]

The decision layer is what turns the scorer's raw output into a verdict's decision: Platt
calibration, the account snapshot read from the state the evidence write returned, and the
policy with its reasons. Both are timed interleaved (one decision, one whole score, ...) on a
128-token prompt from an account with history, so machine noise hits both alike; the figure is
the ratio of their medians (target: <= 0.10).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_latency import prompt_of  # noqa: E402
from intent_guard import Guard  # noqa: E402
from intent_guard.bundle import default_bundle_path  # noqa: E402
from intent_guard.decision import AccountSnapshot  # noqa: E402
from intent_guard.session.entities import account_key  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--model", type=Path, default=default_bundle_path())
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    guard = Guard.load(args.model)
    text = prompt_of(128, guard.pipeline.windows.tokenizer)

    def request(i: int) -> dict:
        return {
            "request_id": f"r{i}",
            "timestamp": 1_769_904_000.0 + i * 5.0,
            "account_id": "bench",
            "messages": [{"role": "user", "content": text}],
        }

    for i in range(50):  # history, warm-up
        guard.score(request(i))
    state = guard.store.get(account_key("bench"))
    assert state is not None
    reasons = guard.score(request(50)).reasons
    raw = 0.7

    def decide() -> None:
        p = guard.calibration(raw)
        guard.policy.decide(p, AccountSnapshot(state), reasons)

    decision_s, score_s = [], []
    for i in range(args.repeats):
        t = time.perf_counter()
        decide()
        decision_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        guard.score(request(100 + i))
        score_s.append(time.perf_counter() - t)
    d50, s50 = float(np.median(decision_s)) * 1e3, float(np.median(score_s)) * 1e3
    result = {
        "decision_p50_ms": round(d50, 4),
        "decision_p99_ms": round(float(np.percentile(decision_s, 99)) * 1e3, 4),
        "score_p50_ms": round(s50, 4),
        "ratio": round(d50 / s50, 4),
        "target": 0.10,
    }
    print(
        f"decision layer p50 {d50:.4f} ms, guard.score p50 {s50:.4f} ms at 128 tokens: "
        f"ratio {d50 / s50:.3f} (target <= 0.10)"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

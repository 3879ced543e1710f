"""Throughput and latency of the deep content analysis (int8 transformer), beside the inline path.

    python benchmarks/bench_deep.py [--requests 400] [--log ../shared/validation/traffic.jsonl.gz]

On the first ``--requests`` requests of a log (default: the validation log, else the examples),
in one run and on one core (onnxruntime with one thread, as served):
  * ``DeepContent.score`` one request at a time: p50 / p99 ms;
  * ``DeepContent.score_many`` in batches of 32: requests / s per core;
  * the inline ``guard.score`` on the same requests: p50 / p99 ms, and the ratio deep / inline;
  * the inline ``guard.score`` again, on a fresh Guard with the deep analyser working beside it:
    as a thread of the same process (``guard.with_deep()``, sharing the interpreter lock) and as a
    child process (``guard.with_deep(process=True)``): p50 / p99 ms, and how many of the requests
    its selection picked were analysed or dropped.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# One core for everything: the tokenizer's batch encoding would otherwise use its Rayon thread pool
# (onnxruntime and FAISS already run one thread each in the pipeline).
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from intent_guard import Guard  # noqa: E402
from intent_guard.deep import DeepContent  # noqa: E402
from intent_guard.logs import batched  # noqa: E402
from training.records import LogSource  # noqa: E402

VALIDATION_LOG = ROOT.parent / "shared" / "validation" / "traffic.jsonl.gz"


def first_requests(log: Path, n: int) -> list[dict]:
    out = []
    for record in LogSource([log]):
        record.pop("label", None)
        record.pop("campaign_id", None)
        out.append(record)
        if len(out) == n:
            break
    return out


def ms(samples: list[float]) -> tuple[float, float]:
    a = np.array(samples) * 1e3
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--log", type=Path, default=None)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument(
        "--switch-interval-ms", type=float, default=None, help="sys.setswitchinterval for the run (default: 5 ms)"
    )
    args = parser.parse_args()
    if args.switch_interval_ms is not None:
        sys.setswitchinterval(args.switch_interval_ms / 1e3)
    log = args.log or (VALIDATION_LOG if VALIDATION_LOG.is_file() else ROOT / "examples" / "requests.jsonl")
    requests = first_requests(log, args.requests)
    deep = DeepContent.load(args.model)
    guard = Guard.load(args.model)
    for r in requests[:10]:  # warm-up
        deep.score(r)

    one = []
    for r in requests:
        t = time.perf_counter()
        deep.score(r)
        one.append(time.perf_counter() - t)
    t = time.perf_counter()
    for batch in batched(requests, 32):
        deep.score_many(batch)
    per_core = len(requests) / (time.perf_counter() - t)
    inline = []
    for r in requests:
        t = time.perf_counter()
        guard.score(r)
        inline.append(time.perf_counter() - t)

    beside: dict[str, list[float]] = {}
    counts: dict[str, dict[str, int]] = {}
    for mode in ("thread", "process"):
        busy = Guard.load(args.model)
        analyzer = busy.with_deep(process=mode == "process", max_pending=len(requests))
        if mode == "process":
            time.sleep(5)  # the child loads its model: measure while it analyses, not while it starts
        beside[mode] = []
        for r in requests:
            t = time.perf_counter()
            busy.score(r)
            beside[mode].append(time.perf_counter() - t)
        analyzer.drain()
        analyzer.close()
        counts[mode] = dict(analyzer.counts)

    d50, d99 = ms(one)
    i50, i99 = ms(inline)

    print(f"{len(requests)} requests of {log}; deep model {deep.version} ({deep.encoder}), one core")
    print("| path | p50 ms | p99 ms | requests/s per core |")
    print("|---|---|---|---|")
    print(f"| deep content, one request at a time | {d50:.1f} | {d99:.1f} | {1e3 / d50:.0f} (at p50) |")
    print(f"| deep content, batches of 32 | - | - | {per_core:.0f} |")
    print(f"| inline guard.score (static) | {i50:.2f} | {i99:.2f} | {1e3 / i50:,.0f} (at p50) |")
    for mode, samples in beside.items():
        b50, b99 = ms(samples)
        print(f"| inline guard.score, deep analyser busy beside it ({mode}) | {b50:.2f} | {b99:.2f} | - |")
    print(f"deep / inline at p50: {d50 / i50:.0f}x")
    for mode, c in counts.items():
        print(f"deep analyser ({mode}): {c['analysed']} analysed, {c['dropped']} dropped, {c['errors']} errors")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

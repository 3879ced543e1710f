"""Load on the HTTP sidecar from a separate process over loopback, beside inline Guard.score.

    python benchmarks/bench_server.py [--requests 2000] [--concurrency 1 4 16 64]

Starts `intent-guard serve` in a subprocess, drives POST /v1/score with an async httpx client at
rising concurrency (each level: fresh account ids, same prompt mix), and reports throughput and
p50 / p99 latency per level, then the inline `guard.score` p50 / p99 on the same prompts.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.sidecar import start_sidecar  # noqa: E402

PROMPTS = [
    "Solve step by step, showing every intermediate step of your reasoning: a train leaves at 3 pm at 60 km/h.",
    "what's a good name for a cat that likes boxes?",
    'Rate the response below from 1 to 10 for helpfulness and output JSON {"score": n}. Response: it is 42.',
    "fix the failing test in utils.py, the parser drops the last line",
]


def body(i: int, level: int) -> dict:
    return {
        "request_id": f"c{level}-{i}",
        "timestamp": 1_769_904_000 + i * 0.05,
        "account_id": f"L{level}-{i % 200}",
        "messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}],
    }


async def drive(url: str, n: int, concurrency: int) -> tuple[float, list[float]]:
    import httpx

    latencies: list[float] = []
    queue = list(range(n))

    async with httpx.AsyncClient(timeout=10.0) as client:

        async def worker() -> None:
            while queue:
                i = queue.pop()
                start = time.perf_counter()
                response = await client.post(url, json=body(i, concurrency))
                response.raise_for_status()
                latencies.append(time.perf_counter() - start)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return n / (time.perf_counter() - started), latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 64])
    args = parser.parse_args()
    server, base = start_sidecar(budget_ms=1000.0)
    try:
        url = f"{base}/v1/score"
        asyncio.run(drive(url, 200, 4))  # warm-up
        print("| concurrency | requests/s | p50 ms | p99 ms |")
        print("|---|---|---|---|")
        for level in args.concurrency:
            rate, latencies = asyncio.run(drive(url, args.requests, level))
            ms = np.array(latencies) * 1e3
            print(f"| {level} | {rate:,.0f} | {np.percentile(ms, 50):.2f} | {np.percentile(ms, 99):.2f} |")
    finally:
        server.terminate()
        server.wait()
    from intent_guard import Guard

    guard = Guard.load()
    samples = []
    for i in range(args.requests):
        start = time.perf_counter()
        guard.score(body(i, 0))
        samples.append(time.perf_counter() - start)
    ms = np.array(samples[100:]) * 1e3
    print(f"inline guard.score, same prompts: p50 {np.percentile(ms, 50):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

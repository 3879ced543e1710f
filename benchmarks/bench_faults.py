"""What the operator's faults cost, in one run (issue 10):

    python benchmarks/bench_faults.py [--flood 1000000] [--cap 100000] [--batches 1 16 64 128 256 512]

1. Batch size vs the default 50 ms budget: p50 / p99 wall time of POST /v1/score per batch size
   on a live sidecar (its own process, loopback), requests/s, and how many calls were answered
   in full, refused up front (413: does not fit the budget) or with fallback verdicts (timeout).
2. /readyz under a saturating load: its p50 / p99 while 8 clients keep the scoring workers busy.
3. A 300 MB POST: the sidecar's peak RSS before and after (the body is refused at 8 MB).
4. A flood of requests with distinct link values up to 1 MiB each (payment fingerprints): the
   RSS of the validating, linking and storing path with a capped memory store.
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.sidecar import start_sidecar  # noqa: E402

PROMPT = "Solve step by step, showing every intermediate step of your reasoning: a train leaves at 3 pm at 60 km/h."


def request(i: int, prefix: str) -> dict:
    return {
        "request_id": f"{prefix}{i}",
        "timestamp": 1_769_904_000 + i * 0.01,
        "account_id": f"{prefix}{i % 300}",
        "messages": [{"role": "user", "content": f"{PROMPT} ({i})"}],
    }


def rss_mib(pid: int | str = "self") -> tuple[float, float]:
    """(current RSS, peak RSS) in MiB from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def batches(base: str, sizes: list[int], calls: int) -> None:
    import httpx

    print("| batch size | calls | full / 413 / timeout | p50 ms | p99 ms | requests/s (full calls) |")
    print("|---|---|---|---|---|---|")
    with httpx.Client(timeout=30.0) as client:
        for i in range(20):  # warm-up: the sidecar learns its scoring speed
            client.post(f"{base}/v1/score", json={"requests": [request(i, "w") for _ in range(1)]})
        for size in sizes:
            times, full, refused, timeouts, scored = [], 0, 0, 0, 0
            for c in range(calls):
                body = {"requests": [request(c * size + k, f"b{size}-") for k in range(size)]}
                started = time.perf_counter()
                response = client.post(f"{base}/v1/score", json=body)
                elapsed = time.perf_counter() - started
                times.append(elapsed)
                if response.status_code == 413:
                    refused += 1
                elif any(r.get("kind") == "timeout" for v in response.json()["verdicts"] for r in v["reasons"]):
                    timeouts += 1
                else:
                    full += 1
                    scored += size / elapsed
            ms = np.array(times) * 1e3
            rate = f"{scored / full:,.0f}" if full else "-"
            print(
                f"| {size} | {calls} | {full} / {refused} / {timeouts} | {np.percentile(ms, 50):.1f} | "
                f"{np.percentile(ms, 99):.1f} | {rate} |"
            )


def readiness_under_load(base: str, probes: int) -> None:
    import httpx

    stop = threading.Event()

    def load(k: int) -> None:
        with httpx.Client(timeout=30.0) as client:
            i = 0
            while not stop.is_set():
                client.post(f"{base}/v1/score", json={"requests": [request(i * 8 + j, f"L{k}-") for j in range(8)]})
                i += 1

    threads = [threading.Thread(target=load, args=(k,), daemon=True) for k in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    samples = []
    with httpx.Client(timeout=30.0) as client:
        for _ in range(probes):
            started = time.perf_counter()
            client.get(f"{base}/readyz")
            samples.append(time.perf_counter() - started)
            time.sleep(0.01)
    stop.set()
    for thread in threads:
        thread.join(30)
    ms = np.array(samples) * 1e3
    print(f"/readyz under 8 saturating clients: p50 {np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms")


def big_post(base: str, server: subprocess.Popen, megabytes: int) -> None:
    import httpx

    before = rss_mib(server.pid)

    def body():
        chunk = b"x" * (1 << 20)
        for _ in range(megabytes):
            yield chunk

    started = time.perf_counter()
    try:
        response = httpx.post(f"{base}/v1/score", content=body(), timeout=60.0)
        status = response.status_code
    except httpx.HTTPError as exc:  # the server may close the connection once it has refused
        status = type(exc).__name__
    after = rss_mib(server.pid)
    print(
        f"{megabytes} MB POST: answer {status} in {time.perf_counter() - started:.2f} s; sidecar RSS "
        f"{before[0]:.0f} -> {after[0]:.0f} MiB, peak {before[1]:.0f} -> {after[1]:.0f} MiB"
    )


def flood(n: int, cap: int) -> None:
    from intent_guard.linking import link_values
    from intent_guard.session import LINK, MemoryStore
    from intent_guard.session.state import EntityUpdate
    from intent_guard.text import prompt_parts
    from intent_guard.types import Request

    store = MemoryStore(max_entities=cap)
    big = "f" * (1 << 20)
    gc.collect()
    start_rss = rss_mib()[0]
    started = time.perf_counter()
    for i in range(n):
        record = request(i, "flood-")
        record["client"] = {"payment_fingerprint": f"{i}:{big}"}  # distinct, 1 MiB each
        parsed = Request.from_dict(record)
        keys = link_values(parsed, prompt_parts(parsed), "")
        store.apply([(key, LINK, EntityUpdate(parsed.timestamp, ((3, 1.0),))) for key in keys.values()])
    gc.collect()
    end_rss, peak = rss_mib()
    print(
        f"flood of {n:,} requests with distinct 1 MiB payment fingerprints, store cap {cap:,}: "
        f"{len(store):,} entities kept, RSS {start_rss:.0f} -> {end_rss:.0f} MiB (peak {peak:.0f} MiB), "
        f"{n / (time.perf_counter() - started):,.0f} requests/s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=1_000_000)
    parser.add_argument("--cap", type=int, default=100_000)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16, 64, 128, 256, 512])
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--probes", type=int, default=300)
    parser.add_argument("--post-mb", type=int, default=300)
    args = parser.parse_args()
    server, base = start_sidecar(budget_ms=50.0)
    try:
        batches(base, args.batches, args.calls)
        readiness_under_load(base, args.probes)
        big_post(base, server, args.post_mb)
    finally:
        server.terminate()
        server.wait()
    flood(args.flood, args.cap)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Session-state costs: per-request update time (memory vs Redis), bytes per account, RSS, flood cap.

    python benchmarks/bench_state.py [--accounts 1000000] [--redis-url redis://127.0.0.1:6379/0]

Reports, in one run:
  * p50 / p99 of one request's session writes as Guard makes them: the account and 3 link values in
    one store call, then the account's evidence in a second one (after scoring), for the memory
    store and, when a Redis server is reachable (or ``redis-server`` is on the PATH and can be
    started), the Redis store over loopback;
  * resident memory with ``--accounts`` tracked accounts (their evidence lives in the account
    state), and bytes per account (RSS growth / accounts);
  * a flood of 5x ``--cap`` unique account ids into a store capped at ``--cap`` entities: RSS at
    the cap and after the flood (it must not grow past the cap).
"""

from __future__ import annotations

import argparse
import gc
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intent_guard.session import ACCOUNT, LINK, MemoryStore, Observation  # noqa: E402
from intent_guard.session.entities import account_key, account_update, evidence_update, link_update  # noqa: E402


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096


def request_updates(i: int, t: float, account: str) -> list:
    obs = Observation(t, i % 3 == 0, 0.6, i % 9 if i % 3 == 0 else -1, i % 16, i % 5 == 0, i % 97)
    return [
        (f"a:{account}", ACCOUNT, account_update(obs)),
        (f"pay:{hash(account) % 1000}", LINK, link_update(obs, account)),
        (f"ip:10.{i % 200}.0.0/24", LINK, link_update(obs, account)),
        ("skel:abc", LINK, link_update(obs, account)),
    ]


def time_updates(store, n: int = 5000) -> tuple[float, float]:
    samples = []
    for i in range(n):
        t = 1_769_904_000.0 + i * 0.2
        account = f"acct-{i % 500}"
        updates = request_updates(i, t, account)
        start = time.perf_counter()
        store.apply(updates)
        store.apply([(account_key(account), ACCOUNT, evidence_update(t, (i % 10) / 10))])
        samples.append(time.perf_counter() - start)
    ms = np.array(samples[200:]) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def fill(store: MemoryStore, accounts: int, offset: int = 0) -> None:
    for i in range(accounts):
        t = 1_769_904_000.0 + i * 0.001
        obs = Observation(t, False, 0.3, -1, i % 16, False, i % 97)
        account = f"acct-{offset + i:08d}"
        store.apply([(f"a:{account}", ACCOUNT, account_update(obs))])
        store.apply([(account_key(account), ACCOUNT, evidence_update(t, 0.01))])


def start_redis() -> tuple[str, subprocess.Popen | None]:
    binary = shutil.which("redis-server")
    if binary is None:
        return "", None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return f"redis://127.0.0.1:{port}/0", process


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--cap", type=int, default=200_000)
    parser.add_argument("--redis-url", default="")
    args = parser.parse_args()

    print("| session writes of one request (account + 3 link values; then evidence) | p50 ms | p99 ms |")
    print("|---|---|---|")
    p50, p99 = time_updates(MemoryStore())
    print(f"| memory store | {p50:.4f} | {p99:.4f} |")
    url, process = (args.redis_url, None) if args.redis_url else start_redis()
    if url:
        try:
            from intent_guard.session.redis_store import RedisStore

            store = RedisStore(url, socket_timeout=1.0)
            p50, p99 = time_updates(store, 3000)
            print(f"| Redis store (loopback, two EVALSHA) | {p50:.4f} | {p99:.4f} |")
        finally:
            if process is not None:
                process.kill()
    else:
        print("| Redis store | (no redis-server on the PATH: skipped) | |")

    gc.collect()
    before = rss_bytes()
    store = MemoryStore(max_entities=4 * args.accounts)
    fill(store, args.accounts)
    gc.collect()
    after = rss_bytes()
    per_account = (after - before) / args.accounts
    print(f"\ntracked accounts: {args.accounts:,} ({len(store):,} entities)")
    print(f"RSS: {after / 2**30:.3f} GiB; growth per account: {per_account:,.0f} bytes")
    del store
    gc.collect()

    capped = MemoryStore(max_entities=args.cap)
    fill(capped, args.cap // 2)
    gc.collect()
    at_cap = rss_bytes()
    fill(capped, args.cap * 5, offset=10 * args.cap)
    gc.collect()
    after_flood = rss_bytes()
    print(
        f"flood: cap {args.cap:,} entities; RSS at cap {at_cap / 2**20:,.0f} MiB, after "
        f"{args.cap * 5:,} new accounts {after_flood / 2**20:,.0f} MiB; entities held {len(capped):,}, "
        f"evicted {capped.evicted:,}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

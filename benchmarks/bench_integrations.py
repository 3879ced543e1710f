"""Overhead of each gateway integration beyond ``guard.score`` itself, in one run.

    python benchmarks/bench_integrations.py [--calls 1000]

* ASGI middleware: the same chat-completions call to a minimal FastAPI app with and without
  ``IntentGuardMiddleware`` (in process); overhead = with - without - ``guard.score``.
* LiteLLM Generic Guardrail API: a call to the sidecar's endpoint (its own process, loopback HTTP)
  against ``guard.score`` inline on the same inputs; overhead = endpoint - ``guard.score``.
p50 and p99 of each; every caller is a fresh account so the policy does the same work each time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.sidecar import start_sidecar  # noqa: E402

TEXT = "Summarise the following customer review in two sentences: the lamp arrived late but works well."


def pct(samples: list[float]) -> tuple[float, float]:
    ms = np.array(samples) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def asgi(calls: int) -> None:
    from fastapi import FastAPI, Request
    from fastapi.testclient import TestClient

    from intent_guard import Guard
    from intent_guard.integrations import IntentGuardMiddleware

    def app() -> FastAPI:
        a = FastAPI()

        @a.post("/v1/chat/completions")
        async def complete(request: Request) -> dict:
            return {"echo": (await request.json())["model"]}

        return a

    guard = Guard.load()
    plain, guarded = TestClient(app()), app()
    guarded.add_middleware(IntentGuardMiddleware, guard=guard)
    guarded_client = TestClient(guarded)
    body = {"model": "m", "messages": [{"role": "user", "content": TEXT}]}
    without, with_mw, inline = [], [], []
    for i in range(calls + 50):
        headers = {"authorization": f"Bearer key-{i}"}
        t = time.perf_counter()
        plain.post("/v1/chat/completions", json=body, headers=headers)
        a = time.perf_counter() - t
        t = time.perf_counter()
        guarded_client.post("/v1/chat/completions", json=body, headers=headers)
        b = time.perf_counter() - t
        t = time.perf_counter()
        guard.score(
            {"request_id": f"x{i}", "timestamp": time.time(), "account_id": f"inline-{i}", "messages": body["messages"]}
        )
        c = time.perf_counter() - t
        if i >= 50:
            without.append(a)
            with_mw.append(b)
            inline.append(c)
    overhead = (np.array(with_mw) - np.array(without) - np.array(inline)) * 1e3
    print(
        f"ASGI middleware: app alone p50 {pct(without)[0]:.3f} ms, with middleware p50 {pct(with_mw)[0]:.3f} ms, "
        f"guard.score p50 {pct(inline)[0]:.3f} ms; overhead beyond guard.score "
        f"p50 {np.percentile(overhead, 50):.3f} ms, p99 {np.percentile(overhead, 99):.3f} ms"
    )


def litellm(calls: int) -> None:
    import httpx

    from intent_guard import Guard

    server, base = start_sidecar(budget_ms=1000.0)
    guard = Guard.load()
    try:
        url = f"{base}/beta/litellm_basic_guardrail_api"
        endpoint, inline = [], []
        with httpx.Client() as client:
            for i in range(calls + 50):
                body = {"texts": [TEXT], "request_data": {"user_api_key_hash": f"key-{i}"}, "litellm_call_id": f"c{i}"}
                t = time.perf_counter()
                client.post(url, json=body).raise_for_status()
                a = time.perf_counter() - t
                t = time.perf_counter()
                guard.score(
                    {
                        "request_id": f"x{i}",
                        "timestamp": time.time(),
                        "account_id": f"k{i}",
                        "messages": [{"role": "user", "content": TEXT}],
                    }
                )
                b = time.perf_counter() - t
                if i >= 50:
                    endpoint.append(a)
                    inline.append(b)
    finally:
        server.terminate()
        server.wait()
    overhead = (np.array(endpoint) - np.array(inline)) * 1e3
    print(
        f"LiteLLM Generic Guardrail API (sidecar, loopback HTTP): call p50 {pct(endpoint)[0]:.3f} ms / p99 "
        f"{pct(endpoint)[1]:.3f} ms, guard.score p50 {pct(inline)[0]:.3f} ms; overhead beyond guard.score p50 "
        f"{np.percentile(overhead, 50):.3f} ms, p99 {np.percentile(overhead, 99):.3f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    asgi(args.calls)
    litellm(args.calls)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Overhead of the in-process LiteLLM guardrail beyond ``guard.score`` itself, in one run.

    .venv-litellm/bin/python benchmarks/bench_litellm_guardrail.py [--calls 1000] [--proxy-calls 300]

Run it with the LiteLLM environment's interpreter (``tests/test_litellm_proxy.py`` builds it).

* hook: ``IntentGuardrail.apply_guardrail`` awaited on an event loop (mapping, the worker-thread
  hop, the budget wait, the operator log line) against ``guard.score`` inline on the same
  call; overhead = hook - inline.
* proxy: the same chat call through a real LiteLLM proxy (loopback, fake upstream) with and
  without the guardrail named in the request; overhead = with - without - ``guard.score``, i.e.
  ours plus LiteLLM's own guardrail machinery.
p50 and p99 of each; every caller is a fresh account so the policy does the same work each time.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from benchmarks.sidecar import free_port  # noqa: E402

TEXT = "Summarise the following customer review in two sentences: the lamp arrived late but works well."


def pct(ms: np.ndarray) -> str:
    return f"p50 {np.percentile(ms, 50):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms"


def hook(calls: int) -> float:
    from intent_guard import Guard
    from intent_guard.integrations.litellm_guardrail import IntentGuardrail

    logging.getLogger("intent_guard.integrations").setLevel(logging.INFO)
    logging.getLogger("intent_guard.integrations").addHandler(logging.NullHandler())
    guard = Guard.load()
    g = IntentGuardrail(guardrail_name="bench", event_hook="pre_call", default_on=True, guard=guard)
    inputs = {"texts": [TEXT], "structured_messages": [{"role": "user", "content": TEXT}], "model": "m"}

    # LiteLLM wraps every subclass's apply_guardrail to record guardrail information; ours alone:
    ours = getattr(IntentGuardrail.__dict__["apply_guardrail"], "__wrapped__", None)

    async def run() -> tuple[list[float], list[float], list[float]]:
        with_hook, own, inline = [], [], []
        for i in range(calls + 50):
            data = {"litellm_call_id": f"c{i}", "metadata": {"user_api_key_org_id": f"org-{i}"}}
            t = time.perf_counter()
            await g.apply_guardrail(inputs, data, "request")
            a = time.perf_counter() - t
            data = {"litellm_call_id": f"o{i}", "metadata": {"user_api_key_org_id": f"own-{i}"}}
            t = time.perf_counter()
            if ours is not None:
                await ours(g, inputs, data, "request")
            o = time.perf_counter() - t
            record = {"request_id": f"x{i}", "timestamp": time.time(), "account_id": f"inline-{i}", "model": "m"}
            t = time.perf_counter()
            guard.score({**record, "messages": [{"role": "user", "content": TEXT}]})
            b = time.perf_counter() - t
            if i >= 50:
                with_hook.append(a)
                own.append(o)
                inline.append(b)
        return with_hook, own, inline

    with_hook, own, inline = asyncio.run(run())
    w, o, s = np.array(with_hook) * 1e3, np.array(own) * 1e3, np.array(inline) * 1e3
    print(f"hook: apply_guardrail {pct(w)}; guard.score {pct(s)}; overhead beyond guard.score {pct(w - s)}")
    if ours is not None:
        print(f"hook without LiteLLM's wrapper: {pct(o)}; overhead beyond guard.score {pct(o - s)}")
    return float(np.percentile(s, 50))


def proxy(calls: int, score_p50: float) -> None:
    import httpx
    import uvicorn
    from fastapi import FastAPI

    upstream = FastAPI()

    @upstream.post("/v1/chat/completions")
    async def complete() -> dict:
        message = {"role": "assistant", "content": "ok"}
        return {"id": "c", "object": "chat.completion", "created": 1, "model": "fake",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}  # fmt: skip

    up_port, proxy_port = free_port(), free_port()
    server = uvicorn.Server(uvicorn.Config(upstream, host="127.0.0.1", port=up_port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    config = Path(tempfile.mkdtemp()) / "config.yaml"
    config.write_text(
        f"""model_list:
  - model_name: fake
    litellm_params: {{model: openai/fake, api_base: "http://127.0.0.1:{up_port}/v1", api_key: sk-up}}
guardrails:
  - guardrail_name: intent-guard
    litellm_params:
      guardrail: intent_guard.integrations.litellm_guardrail.IntentGuardrail
      mode: pre_call
      default_on: false
      account_from: end_user_id
general_settings: {{master_key: sk-master}}
"""
    )
    binary = Path(sys.executable).parent / "litellm"
    process = subprocess.Popen(
        [str(binary), "--config", str(config), "--host", "127.0.0.1", "--port", str(proxy_port)],
        env={**os.environ, "LITELLM_LOG": "ERROR"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{proxy_port}"
    try:
        for _ in range(900):
            try:
                if httpx.get(f"{base}/health/liveliness", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        client = httpx.Client(headers={"authorization": "Bearer sk-master"}, timeout=30.0)
        without, with_guard = [], []
        for i in range(calls + 30):
            body = {"model": "fake", "user": f"u{i}", "messages": [{"role": "user", "content": TEXT}]}
            t = time.perf_counter()
            assert client.post(f"{base}/v1/chat/completions", json=body).status_code == 200
            a = time.perf_counter() - t
            t = time.perf_counter()
            guarded = {**body, "user": f"g{i}", "guardrails": ["intent-guard"]}
            assert client.post(f"{base}/v1/chat/completions", json=guarded).status_code == 200
            b = time.perf_counter() - t
            if i >= 30:
                without.append(a)
                with_guard.append(b)
        w, wo = np.array(with_guard) * 1e3, np.array(without) * 1e3
        print(
            f"proxy: call without guardrail {pct(wo)}; with {pct(w)}; "
            f"overhead beyond guard.score (p50 {score_p50:.3f} ms) {pct(w - wo - score_p50)}"
        )
    finally:
        process.terminate()
        process.wait(30)
        server.should_exit = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--proxy-calls", type=int, default=300)
    args = parser.parse_args()
    score_p50 = hook(args.calls)
    if args.proxy_calls:
        proxy(args.proxy_calls, score_p50)


if __name__ == "__main__":
    main()

"""A real LiteLLM proxy process on loopback, in front of a fake OpenAI-compatible upstream, with
intent_guard's sidecar as its Generic Guardrail API guardrail.

LiteLLM lives in a virtualenv of its own (``.venv-litellm``, built on first use from the package
index: its dependency pins must not touch ours). Without a database the proxy has no virtual
keys, so callers are told apart by the OpenAI ``user`` field (LiteLLM's end-user id), which the
sidecar is configured to take as the account.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="needs the 'server' extra")
uvicorn = pytest.importorskip("uvicorn", reason="needs the 'server' extra")
httpx = pytest.importorskip("httpx", reason="needs httpx")
from fastapi import FastAPI  # noqa: E402

from intent_guard.features import FEATURE_NAMES  # noqa: E402
from intent_guard.integrations import Identity  # noqa: E402
from intent_guard.server import ServerConfig, create_app  # noqa: E402

from .conftest import ROOT  # noqa: E402
from .fakes import FakeScorer, fake_guard  # noqa: E402

VENV = ROOT / ".venv-litellm"
LITELLM = VENV / "bin" / "litellm"
_CUE = FEATURE_NAMES.index("cue_reasoning")
HARVEST = "Solve this and show every step of your reasoning: "


def _litellm() -> Path:
    if LITELLM.exists():
        return LITELLM
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True, timeout=120)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", "litellm[proxy]"], check=True, capture_output=True, timeout=900
        )
    except (subprocess.SubprocessError, OSError) as exc:
        if os.environ.get("INTENT_GUARD_REQUIRE_LITELLM"):
            pytest.fail(f"could not install LiteLLM into {VENV}: {exc}")
        pytest.skip(f"LiteLLM could not be installed into {VENV} ({type(exc).__name__}); the proxy test needs it")
    return LITELLM


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(app, port: int) -> uvicorn.Server:  # noqa: ANN001
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(200):
        if server.started:
            return server
        time.sleep(0.05)
    raise RuntimeError("server did not start")


def upstream() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def complete() -> dict:
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": "fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    return app


@pytest.fixture(scope="module", params=["pre_call", "logging_only"])
def proxy(request, tmp_path_factory) -> Iterator[tuple[str, str]]:
    binary = _litellm()
    # Elicitation cue present -> campaign-like probability; the policy does the rest.
    guard, _ = fake_guard(FakeScorer(fn=lambda row: 0.97 if row[_CUE] > 0 else 0.05))
    sidecar_port, upstream_port, proxy_port = _port(), _port(), _port()
    servers = [
        _serve(
            create_app(guard, ServerConfig(budget_ms=5000, identity=Identity(account_from=("end_user_id",)))),
            sidecar_port,
        ),
        _serve(upstream(), upstream_port),
    ]
    config = tmp_path_factory.mktemp("litellm") / "config.yaml"
    config.write_text(
        f"""model_list:
  - model_name: fake
    litellm_params:
      model: openai/fake
      api_base: http://127.0.0.1:{upstream_port}/v1
      api_key: sk-upstream
guardrails:
  - guardrail_name: intent-guard
    litellm_params:
      guardrail: generic_guardrail_api
      mode: {request.param}
      api_base: http://127.0.0.1:{sidecar_port}
      default_on: true
general_settings:
  master_key: sk-master
"""
    )
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
    process = subprocess.Popen(
        [str(binary), "--config", str(config), "--host", "127.0.0.1", "--port", str(proxy_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{proxy_port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/health/liveliness", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                pytest.fail(f"LiteLLM exited: {process.stderr.read()[-2000:] if process.stderr else ''}")
            time.sleep(0.2)
        yield base, request.param
    finally:
        process.terminate()
        process.wait(30)
        for server in servers:
            server.should_exit = True


def _chat(base: str, user: str, text: str) -> httpx.Response:
    return httpx.post(
        f"{base}/v1/chat/completions",
        headers={"authorization": "Bearer sk-master"},
        json={"model": "fake", "user": user, "messages": [{"role": "user", "content": text}]},
        timeout=30.0,
    )


def test_a_real_litellm_proxy_with_intent_guard_as_its_guardrail(proxy) -> None:
    base, mode = proxy
    ordinary = [_chat(base, f"user-{i}", "what's a good name for a cat?") for i in range(10)]
    assert [r.status_code for r in ordinary] == [200] * 10
    campaign = [_chat(base, "hydra", HARVEST + f"{i} * 7") for i in range(5)]
    codes = [r.status_code for r in campaign]
    if mode == "logging_only":
        assert codes == [200] * 5  # nothing refused; the would-be decisions are in the sidecar's log
        return
    assert codes[:2] == [200, 200] and all(c >= 400 for c in codes[2:]), codes
    refusal = campaign[2].text.lower()
    assert "refused by the provider's usage policy" in refusal
    assert not any(s in refusal for s in ("account_score", "template", "feature", "probability", "cue_"))

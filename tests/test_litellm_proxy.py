"""Real LiteLLM proxy processes on loopback, in front of a fake OpenAI-compatible upstream, with
intent_guard as their guardrail: in process (``IntentGuardrail``: pre_call, during_call,
logging_only; two proxies sharing Redis) and over HTTP (the sidecar's Generic Guardrail API).

LiteLLM lives in a virtualenv of its own (``.venv-litellm``, built on first use with
``pip install -e '.[litellm,redis]'``: its dependency pins must not touch ours). Without a database
the proxy has no virtual keys, so callers are told apart by the OpenAI ``user`` field (LiteLLM's
end-user id), which the guardrails are configured to take as the account. Every guardrail is
``default_on: false`` and each test names its own in the request body, so that one proxy serves
them all (each guardrail instance has its own Guard and state).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
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
from .test_integrations import ITEMS, ORDINARY, SECRETS, WRAPPERS  # noqa: E402
from .test_redis import _free_port, start_redis  # noqa: E402

VENV = ROOT / ".venv-litellm"
LITELLM = VENV / "bin" / "litellm"
_CUE = FEATURE_NAMES.index("cue_reasoning")
HARVEST = "Solve this and show every step of your reasoning: "


def _litellm() -> Path:
    python = VENV / "bin" / "python"
    # the serving path too: a dependency added since the virtualenv was built must trigger a reinstall
    probe = "import intent_guard.integrations.litellm_guardrail, intent_guard.guard"
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    if LITELLM.exists() and subprocess.run([str(python), "-c", probe], env=env, capture_output=True).returncode == 0:
        return LITELLM
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True, timeout=120)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", "-e", f"{ROOT}[litellm,redis]"],
            check=True,
            capture_output=True,
            timeout=900,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        if os.environ.get("INTENT_GUARD_REQUIRE_LITELLM"):
            pytest.fail(f"could not install LiteLLM into {VENV}: {exc}")
        pytest.skip(f"LiteLLM could not be installed into {VENV} ({type(exc).__name__}); the proxy test needs it")
    return LITELLM


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


#: The real bundle with account thresholds lowered so that a short test stream can cross them.
THRESHOLDS = "review_threshold: 0.5\n      block_threshold: 0.7"


def _config(upstream_port: int, sidecar_port: int, redis_url: str | None, log_dir: Path) -> str:
    inproc = "intent_guard.integrations.litellm_guardrail.IntentGuardrail"
    guardrails = [
        ("generic-pre", "generic_guardrail_api", "pre_call", f"api_base: http://127.0.0.1:{sidecar_port}"),
        ("inproc-pre", inproc, "pre_call", ""),
        ("inproc-during", inproc, "during_call", ""),
        ("inproc-logging", inproc, "logging_only", ""),
    ]
    if redis_url:
        guardrails.append(("inproc-redis", inproc, "pre_call", f"redis_url: {redis_url}"))
    lines = [
        "model_list:",
        "  - model_name: fake",
        "    litellm_params:",
        "      model: openai/fake",
        f"      api_base: http://127.0.0.1:{upstream_port}/v1",
        "      api_key: sk-upstream",
        "guardrails:",
    ]
    for name, kind, mode, extra in guardrails:
        lines += [
            f"  - guardrail_name: {name}",
            "    litellm_params:",
            f"      guardrail: {kind}",
            f"      mode: {mode}",
            "      default_on: false",
        ]
        if kind == inproc:
            lines += [
                "      account_from: end_user_id",
                f"      verdict_log: {log_dir / 'verdicts.jsonl'}",
                f"      {THRESHOLDS}",
            ]
        if extra:
            lines.append(f"      {extra}")
    lines += ["general_settings:", "  master_key: sk-master"]
    return "\n".join(lines) + "\n"


class Proxy:
    """One LiteLLM proxy process on loopback."""

    def __init__(self, binary: Path, config: Path, port: int) -> None:
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [str(binary), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(900):
            try:
                if httpx.get(f"{self.base}/health/liveliness", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                pytest.fail(f"LiteLLM exited: {self.process.stderr.read()[-3000:] if self.process.stderr else ''}")
            time.sleep(0.2)
        self.stop()
        pytest.fail("LiteLLM did not become live in 180 s")

    def chat(self, guardrail: str, user: str, text: str) -> httpx.Response:
        return httpx.post(
            f"{self.base}/v1/chat/completions",
            headers={"authorization": "Bearer sk-master"},
            json={
                "model": "fake",
                "user": user,
                "messages": [{"role": "user", "content": text}],
                "guardrails": [guardrail],
            },
            timeout=60.0,
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


@dataclass
class Setup:
    proxies: tuple[Proxy, Proxy]
    log_dir: Path


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> Iterator[Setup]:
    binary = _litellm()
    # The sidecar's guard: an elicitation cue -> campaign-like probability; the policy does the rest.
    guard, _ = fake_guard(FakeScorer(fn=lambda row: 0.97 if row[_CUE] > 0 else 0.05))
    sidecar_port, upstream_port, redis_port = _free_port(), _free_port(), _free_port()
    servers = [
        _serve(
            create_app(guard, ServerConfig(budget_ms=5000, identity=Identity(account_from=("end_user_id",)))),
            sidecar_port,
        ),
        _serve(upstream(), upstream_port),
    ]
    redis = start_redis(redis_port)
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    root = tmp_path_factory.mktemp("litellm")
    proxies: list[Proxy] = []
    try:
        for i in range(2):
            config = root / f"config{i}.yaml"
            config.write_text(_config(upstream_port, sidecar_port, redis_url, root))
            proxies.append(Proxy(binary, config, _free_port()))
        yield Setup((proxies[0], proxies[1]), root)
    finally:
        for proxy in proxies:
            proxy.stop()
        redis.kill()
        redis.wait()
        for server in servers:
            server.should_exit = True


def _verdicts(setup: Setup, guardrail: str, account: str) -> list[dict]:
    path = setup.log_dir / "verdicts.jsonl"
    entries = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [
        e
        for e in entries
        if e.get("event") == "verdict"
        and e.get("integration") == f"litellm_guardrail:{guardrail}"
        and e.get("account_id") == account
    ]


def _harvest(i: int) -> str:
    return WRAPPERS[i % len(WRAPPERS)].format(q=ITEMS[i % len(ITEMS)])


def _assert_generic_refusal(response: httpx.Response) -> None:
    text = response.text.lower()
    assert "refused by the provider's usage policy" in text and "reference" in text
    assert not any(s in text for s in SECRETS), text


def test_ordinary_callers_pass_every_guardrail(setup: Setup) -> None:
    proxy = setup.proxies[0]
    for guardrail in ("generic-pre", "inproc-pre", "inproc-during", "inproc-logging"):
        codes = [
            proxy.chat(guardrail, f"{guardrail}-user-{i}", ORDINARY[i % len(ORDINARY)]).status_code for i in range(8)
        ]
        assert codes == [200] * 8, (guardrail, codes)


def test_generic_guardrail_api_blocks_a_harvesting_caller(setup: Setup) -> None:
    codes = [setup.proxies[0].chat("generic-pre", "hydra-generic", HARVEST + f"{i} * 7") for i in range(5)]
    assert [r.status_code for r in codes[:2]] == [200, 200] and all(r.status_code >= 400 for r in codes[2:])
    _assert_generic_refusal(codes[2])


@pytest.mark.parametrize("guardrail", ["inproc-pre", "inproc-during"])
def test_in_process_guardrail_blocks_once_the_account_evidence_crosses(setup: Setup, guardrail: str) -> None:
    """The shipped bundle in the proxy's own process: a harvesting caller is refused once its
    account's evidence reaches block, with a generic message; its verdicts are in the operator log."""
    account = f"hydra-{guardrail}"
    responses = [setup.proxies[0].chat(guardrail, account, _harvest(i)) for i in range(15)]
    codes = [r.status_code for r in responses]
    assert codes[0] == 200 and 403 in codes, codes
    first = codes.index(403)
    assert all(c == 403 for c in codes[first:]), codes  # the account stays refused
    _assert_generic_refusal(responses[first])
    verdicts = _verdicts(setup, guardrail, f"end_user:{account}")
    assert len(verdicts) == 15 and verdicts[first]["decision"] == "block"
    assert verdicts[first]["reasons"][0]["kind"] == "account"  # reasons stay with the operator
    assert verdicts[first]["request_id"] in responses[first].text  # findable by the id the caller sees


def test_logging_only_never_refuses_and_logs_what_it_would_decide(setup: Setup) -> None:
    account = "hydra-logging"
    codes = [setup.proxies[0].chat("inproc-logging", account, _harvest(i)).status_code for i in range(15)]
    assert codes == [200] * 15
    for _ in range(100):  # logging_only runs after the call: wait for the last verdict
        verdicts = _verdicts(setup, "inproc-logging", f"end_user:{account}")
        if len(verdicts) >= 15:
            break
        time.sleep(0.1)
    assert len(verdicts) == 15
    assert {v["decision"] for v in verdicts} == {"allow"} and "block" in {v.get("would_decide") for v in verdicts}


def test_two_proxies_share_one_picture_of_an_account_through_redis(setup: Setup) -> None:
    """A harvesting stream through proxy A until it is refused; the same caller's next request
    reaches proxy B, which never saw it, and is refused there too."""
    a, b = setup.proxies
    codes = []
    for i in range(15):
        codes.append(a.chat("inproc-redis", "hydra-redis", _harvest(i)).status_code)
        if codes[-1] == 403:
            break
    assert codes[-1] == 403, codes
    assert b.chat("inproc-redis", "hydra-redis", _harvest(99)).status_code == 403
    assert b.chat("inproc-redis", "someone-else", ORDINARY[0]).status_code == 200


def test_guardrail_checks_inside_the_litellm_environment() -> None:
    """Mapping, one score per call id, refusals, on_review, logging_only and fail-open, checked
    against LiteLLM's own classes (tests/litellm_guardrail_checks.py, run by LiteLLM's interpreter)."""
    _litellm()
    result = subprocess.run(
        [str(VENV / "bin" / "python"), str(ROOT / "tests" / "litellm_guardrail_checks.py")],
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "checks: ok" in result.stdout


def test_a_misconfigured_guardrail_stops_the_proxy(tmp_path: Path) -> None:
    """LiteLLM starts *without* a guardrail whose constructor raises ValueError; ours raises a
    SetupError instead, so a typo stops the proxy with what to fix rather than leaving it unguarded."""
    binary = _litellm()
    config = tmp_path / "config.yaml"
    config.write_text(
        "model_list:\n  - model_name: fake\n    litellm_params: {model: openai/fake, api_key: sk-x}\n"
        "guardrails:\n  - guardrail_name: intent-guard\n    litellm_params:\n"
        "      guardrail: intent_guard.integrations.litellm_guardrail.IntentGuardrail\n"
        "      mode: pre_call\n      default_on: true\n      block_treshold: 0.7\n"
        "general_settings:\n  master_key: sk-master\n"
    )
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
    process = subprocess.run(
        [str(binary), "--config", str(config), "--host", "127.0.0.1", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert process.returncode != 0
    assert "SetupError" in process.stderr and "did you mean 'block_threshold'" in process.stderr, process.stderr[-2000:]

"""Checks of ``IntentGuardrail`` that need LiteLLM importable: run by ``test_litellm_proxy.py`` with
the LiteLLM virtualenv's interpreter (``python tests/litellm_guardrail_checks.py``), since LiteLLM
is not installed beside our own test dependencies. Exits non-zero on the first failed check."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from litellm.exceptions import GuardrailRaisedException  # noqa: E402

from intent_guard.errors import InvalidRequestError, SetupError  # noqa: E402
from intent_guard.integrations.litellm_guardrail import IntentGuardrail  # noqa: E402
from intent_guard.types import Reason, Request, Verdict  # noqa: E402


class StubGuard:
    """Records what it was asked to score and answers with the decision the check sets; ``refuse``
    makes it reject records with tools (as the Guard rejects a record over one of its limits)."""

    def __init__(self, decision: str = "allow", fail: bool = False, delay: float = 0.0, refuse: bool = False) -> None:
        self.decision, self.fail, self.delay, self.refuse, self.records = decision, fail, delay, refuse, []

    def score(self, record: dict[str, Any]) -> Verdict:
        time.sleep(self.delay)
        self.records.append(record)
        Request.from_dict(record)  # what the real Guard checks first
        if self.refuse and "tools" in record:
            raise InvalidRequestError("'tools[0].function.name' is longer than 256 characters")
        if self.fail:
            raise RuntimeError("scorer down")
        reasons = (Reason(kind="account", name="account_score", value=0.99),) if self.decision != "allow" else ()
        return Verdict(record["request_id"], 0.99, self.decision, reasons, "stub", 0.99)  # type: ignore[arg-type]


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.entries: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.entries.append(json.loads(record.getMessage()))


LOG = Captured()
logging.getLogger("intent_guard.integrations").addHandler(LOG)
logging.getLogger("intent_guard.integrations").setLevel(logging.INFO)

INPUTS = {
    "texts": ["You are a grader.", "Show every step: 17 * 23"],
    "structured_messages": [
        {"role": "system", "content": "You are a grader."},
        {"role": "user", "content": "Show every step: 17 * 23"},
    ],
    "tools": [{"type": "function", "function": {"name": "run_python", "parameters": {"type": "object"}}}],
    "model": "gpt-x",
}


def request_data(call_id: str, **metadata: Any) -> dict[str, Any]:
    base = {"user_api_key_org_id": "org-7", "user_api_key_hash": "hash-1", "requester_ip_address": "203.0.113.9"}
    return {"litellm_call_id": call_id, "metadata": {**base, **metadata}}


def guardrail(stub: StubGuard, mode: str = "pre_call", **kwargs: Any) -> IntentGuardrail:
    return IntentGuardrail(guardrail_name="ig", event_hook=mode, default_on=True, guard=stub, **kwargs)


async def refused(g: IntentGuardrail, call_id: str, inputs: dict | None = None, **metadata: Any) -> str | None:
    inputs = dict(INPUTS) if inputs is None else inputs
    try:
        out = await g.apply_guardrail(inputs, request_data(call_id, **metadata), "request")
    except GuardrailRaisedException as exc:
        assert exc.status_code == 403, exc.status_code
        return exc.message
    assert out is inputs, "the inputs are handed back as they came (LiteLLM checks identity for rewrites)"
    return None


async def main() -> None:
    # The mapping: roles, tools, model, caller ids (widest first), key hash, client IP, call id.
    stub = StubGuard()
    assert await refused(guardrail(stub), "call-1") is None
    (record,) = stub.records
    assert record["request_id"] == "call-1" and record["account_id"] == "org:org-7", record
    assert record["api_key_id"] == "hash-1" and record["client"] == {"ip": "203.0.113.9"}, record
    assert [m["role"] for m in record["messages"]] == ["system", "user"] and record["model"] == "gpt-x", record
    assert record["tools"][0]["function"]["name"] == "run_python", record
    assert LOG.entries[-1]["account_id"] == "org:org-7" and LOG.entries[-1]["integration"] == "litellm_guardrail:ig"

    # account_from as configured: the key hash instead of the org.
    stub = StubGuard()
    await refused(guardrail(stub, account_from="key_hash"), "call-2")
    assert stub.records[0]["account_id"] == "key_hash:hash-1", stub.records[0]

    # Caller-chosen ids and malformed text cannot buy an unscored call: a 600-character end-user
    # id, a lone surrogate, an over-long tool name are all scored (ids digested, text repaired).
    stub = StubGuard("block")
    g = guardrail(stub, account_from="end_user_id")
    long_user = "u" * 600
    assert await refused(g, "call-3a", user_api_key_end_user_id=long_user) is not None
    assert stub.records[-1]["account_id"].startswith("end_user:sha256:"), stub.records[-1]["account_id"]
    odd = {**INPUTS, "structured_messages": [{"role": "user", "content": "step by step \ud800 please"}]}
    assert await refused(g, "call-3b", inputs=odd, user_api_key_end_user_id="u1") is not None
    long_tool = {**INPUTS, "tools": [{"type": "function", "function": {"name": "t" * 300}}]}
    assert await refused(g, "call-3c", inputs=long_tool, user_api_key_end_user_id="u1") is not None
    # ... and a record the Guard still refuses is scored again as plain text.
    strict = StubGuard("block", refuse=True)
    assert await refused(guardrail(strict), "call-3d") is not None
    assert "tools" in strict.records[0] and "tools" not in strict.records[1] and len(strict.records) == 2

    # Over the budget the call passes, logged; the scoring still finishes (and counts) behind it.
    slow = StubGuard("block", delay=0.3)
    assert await refused(guardrail(slow, budget_ms=20), "call-3e") is None
    assert LOG.entries[-1]["error"] == "over_budget" and LOG.entries[-1]["reference"] == "call-3e"
    await asyncio.sleep(0.5)
    assert len(slow.records) == 1
    # ... but an account whose latest verdict was block stays refused when its call cannot be
    # scored in time: overload is no way past a block.
    g = guardrail(slow, budget_ms=20)
    assert await refused(g, "call-3e1") is None  # over budget, not known blocked yet: passes
    await asyncio.sleep(0.5)  # its scoring finishes behind it: block
    assert await refused(g, "call-3e2") is not None  # over budget again, and refused
    assert LOG.entries[-1]["error"] == "over_budget"
    trusted = guardrail(StubGuard("allow", delay=0.3), budget_ms=20)
    assert await refused(trusted, "call-3e3") is None
    # Past max_in_flight, calls are shed unscored rather than queued without bound.
    slow = StubGuard("allow", delay=0.2)
    g = guardrail(slow, max_in_flight=2, budget_ms=1000)
    results = await asyncio.gather(*(refused(g, f"call-3f{i}") for i in range(4)))
    assert results == [None] * 4 and len(slow.records) == 2, len(slow.records)
    assert sum(e.get("error") == "overloaded" for e in LOG.entries[-4:]) == 2
    await refused(g, "call-3g")
    assert len(slow.records) == 3, "capacity comes back once the calls in flight are done"

    # block -> a generic refusal with the call id, nothing the caller could learn the signals from.
    message = await refused(guardrail(StubGuard("block")), "call-4")
    assert message is not None and "call-4" in message and "refused" in message, message
    assert not any(s in message.lower() for s in ("account", "score", "template", "reason")), message

    # review passes by default, is refused when the operator says so.
    assert await refused(guardrail(StubGuard("review")), "call-5") is None
    assert await refused(guardrail(StubGuard("review"), on_review="block"), "call-6") is not None

    # logging_only never refuses, even on block.
    assert await refused(guardrail(StubGuard("block"), mode="logging_only"), "call-7") is None

    # Fail-open: a scorer error or a call that names no caller passes, and the operator hears of it.
    assert await refused(guardrail(StubGuard("block", fail=True)), "call-8") is None
    assert LOG.entries[-1] == {
        "event": "unscored",
        "integration": "litellm_guardrail:ig",
        "reference": "call-8",
        "error": "RuntimeError",
    }
    anonymous = StubGuard("block")
    g = guardrail(anonymous)
    inputs = dict(INPUTS)
    out = await g.apply_guardrail(inputs, {"litellm_call_id": "call-9", "metadata": {}}, "request")
    assert out is inputs and anonymous.records == []
    assert LOG.entries[-1]["error"].startswith("invalid request: the call names no caller"), LOG.entries[-1]

    # The master key's placeholder user id is no caller (else every master-key call would be one
    # "user"); the operator is told once how to tell callers apart.
    stub = StubGuard()
    g = guardrail(stub)
    before = len(LOG.entries)
    for i in range(2):
        await refused(g, f"call-9m{i}", user_api_key_org_id=None, user_api_key_user_id="default_user_id")
    assert [r["account_id"] for r in stub.records] == ["key_hash:hash-1"] * 2, stub.records
    warnings = [e for e in LOG.entries[before:] if e.get("event") == "setup_warning"]
    assert len(warnings) == 1 and "master key" in warnings[0]["warning"]

    # Responses are not scored.
    stub = StubGuard("block")
    inputs = dict(INPUTS)
    assert await guardrail(stub).apply_guardrail(inputs, request_data("call-10"), "response") is inputs
    assert stub.records == []

    # A bad setting stops the proxy with what to fix: a SetupError, deliberately not a ValueError
    # (LiteLLM would skip the guardrail and serve every call without it).
    for setting, words in (
        ({"on_review": "deny"}, ("on_review",)),
        ({"account_from": "end_user"}, ("end_user_id",)),
        ({"block_treshold": 0.7}, ("block_treshold", "did you mean 'block_threshold'")),
        ({"mode": "precall"}, ("precall", "pre_call")),
        ({"budget_ms": 0}, ("budget_ms",)),
        ({"scoring_threads": "two"}, ("two",)),
        ({"deep": "maybe"}, ("deep", "true or false")),
    ):
        mode = setting.pop("mode", "pre_call")
        try:
            guardrail(StubGuard(), mode=mode, **setting)
        except SetupError as exc:
            assert not isinstance(exc, ValueError | TypeError)
            assert all(w in str(exc) for w in words), str(exc)
        else:
            raise AssertionError(f"{setting} was accepted")
    # trusted_accounts (a comma list or a YAML list) reaches the Guard's config.
    g = IntentGuardrail(guardrail_name="ig", event_hook="pre_call", trusted_accounts="org:evals, key_hash:k1")
    assert g.guard.config.trusted_accounts == frozenset({"org:evals", "key_hash:k1"})
    # deep: the bundle's deep analysis runs beside the inline path, with the bundle's deep thresholds.
    g = IntentGuardrail(guardrail_name="ig", event_hook="pre_call", deep="true", deep_queue=50)
    assert g.guard.deep is not None and g.guard.policy.thresholds.deep_review is not None
    g.guard.deep.close()
    try:  # thresholds named as the config names them
        IntentGuardrail(guardrail_name="ig", event_hook="pre_call", review_threshold=0.5, block_threshold=0.3)
    except SetupError as exc:
        assert "'review_threshold'" in str(exc) and "'block_threshold'" in str(exc), str(exc)
    else:
        raise AssertionError("review_threshold > block_threshold was accepted")


if __name__ == "__main__":
    asyncio.run(main())
    print("litellm guardrail checks: ok")

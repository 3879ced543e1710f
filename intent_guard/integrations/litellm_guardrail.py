"""intent_guard as an in-process LiteLLM guardrail (``pip install 'intent-guard[litellm]'``).

In the proxy's ``config.yaml``::

    guardrails:
      - guardrail_name: intent-guard
        litellm_params:
          guardrail: intent_guard.integrations.litellm_guardrail.IntentGuardrail
          mode: pre_call              # or during_call (beside the model call), or logging_only
          default_on: true
          redis_url: os.environ/INTENT_GUARD_REDIS_URL   # optional: state shared by workers
          # bundle: /srv/bundles/intent-guard           # optional: the shipped default otherwise
          # account_from: org_id,team_id,user_id,key_hash
          # on_review: allow                            # or block
          # review_threshold: 0.8                       # override the bundle's account thresholds
          # block_threshold: 0.93
          # verdict_log: stderr                         # or a file: the operator log, JSON lines

Each call's messages, tools and model, the caller's ids (``user_api_key_*``: org, team, user, end
user, key hash) and the requester's IP become a request; it is scored on a worker thread (the
event loop never waits on the model), and the account-level decision is acted on: ``block``
refuses the call with a generic message and the call id; ``review`` passes (or is refused, with
``on_review: block``); in ``logging_only`` nothing is ever refused. Every verdict, with its
reasons, goes to the ``intent_guard.integrations`` log under the call id, never to the caller.
Failures (no caller id, a malformed call, a scoring error) let the call through and are logged:
fail-open, as the sidecar. This module is the only one that imports LiteLLM.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

try:
    from litellm.exceptions import GuardrailRaisedException
    from litellm.integrations.custom_guardrail import CustomGuardrail
    from litellm.types.guardrails import GuardrailEventHooks
except ImportError as exc:  # pragma: no cover - exercised only where LiteLLM is missing
    raise ImportError(
        "intent_guard.integrations.litellm_guardrail runs inside a LiteLLM proxy: pip install 'intent-guard[litellm]'"
    ) from exc

from ..config import GuardConfig
from ..types import Verdict
from .identity import Identity, log_verdict, operator_log, refusal_message
from .litellm_api import caller_ids, chat_messages, litellm_record

OnReview = Literal["allow", "block"]
#: Call ids whose verdicts are kept for LiteLLM's repeated runs of a hook on one call.
_REMEMBERED_CALLS = 4096


class IntentGuardrail(CustomGuardrail):
    """A LiteLLM guardrail that refuses calls from accounts whose evidence reached ``block``.

    Keyword arguments come from the guardrail's ``litellm_params`` in the proxy config:
    ``bundle`` (a bundle directory; the shipped default when absent), ``redis_url`` (state shared
    by the proxy's workers and servers), ``account_from`` (which caller ids make the account, in
    order, comma-separated or a list), ``on_review`` (``allow`` or ``block``),
    ``review_threshold`` / ``block_threshold`` (override the bundle's account thresholds),
    ``verdict_log`` (``stderr`` or a file for the operator log, else configure the
    ``intent_guard.integrations`` logger yourself) and ``scoring_threads``. ``guard`` (a loaded
    :class:`~intent_guard.Guard`) is for code that builds the guardrail itself. In ``logging_only``
    mode the Guard runs in observe mode: verdicts say ``would_decide``.
    """

    def __init__(
        self,
        *,
        bundle: str | None = None,
        redis_url: str | None = None,
        account_from: str | Sequence[str] | None = None,
        on_review: OnReview = "allow",
        review_threshold: float | str | None = None,
        block_threshold: float | str | None = None,
        verdict_log: str | None = None,
        scoring_threads: int = 2,
        guard: Any = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault(
            "supported_event_hooks",
            [GuardrailEventHooks.pre_call, GuardrailEventHooks.during_call, GuardrailEventHooks.logging_only],
        )
        super().__init__(**kwargs)
        if on_review not in ("allow", "block"):
            raise ValueError(f"on_review must be 'allow' or 'block', got {on_review!r}")
        if isinstance(account_from, str):
            account_from = tuple(name.strip() for name in account_from.split(",") if name.strip())
        self.identity = Identity(account_from=tuple(account_from)) if account_from else Identity()
        self.on_review: OnReview = on_review
        if verdict_log:
            _log_to(verdict_log)
        if guard is None:
            config = GuardConfig(
                review_threshold=_float_or_none(review_threshold),
                block_threshold=_float_or_none(block_threshold),
                mode="observe" if self.observe_only else "enforce",
            )
            guard = _load_guard(bundle, redis_url, config)
        self.guard = guard
        self._scored: OrderedDict[str, asyncio.Future[Verdict]] = OrderedDict()
        self._executor = ThreadPoolExecutor(max_workers=max(1, int(scoring_threads)), thread_name_prefix="intent-guard")

    @property
    def observe_only(self) -> bool:
        """True in ``logging_only`` mode: verdicts are logged, nothing is refused. (Give the
        guardrail one mode: with several, each call would be scored, and counted, once per hook.)"""
        hook = self.event_hook
        hooks = hook if isinstance(hook, list) else [hook]
        return all(str(getattr(h, "value", h)) == GuardrailEventHooks.logging_only.value for h in hooks)

    async def apply_guardrail(
        self,
        inputs: Any,
        request_data: dict,
        input_type: Literal["request", "response"],
        logging_obj: Any = None,
    ) -> Any:
        """LiteLLM's unified hook (pre_call, during_call and logging_only alike): score the request
        side, raise a refusal on ``block``, hand the inputs back unchanged otherwise."""
        if input_type != "request":
            return inputs
        call_id = _call_id(request_data, logging_obj)
        try:
            verdict = await self._verdict(inputs, request_data or {}, call_id, logging_obj)
        except Exception as exc:  # noqa: BLE001 - fail-open: never take the proxy's call down; the operator hears of it
            _unscored(call_id, exc)
            return inputs
        refuse = verdict.decision == "block" or (verdict.decision == "review" and self.on_review == "block")
        if refuse and not self.observe_only:
            raise GuardrailRaisedException(
                guardrail_name=self.guardrail_name,
                message=refusal_message(call_id),
                should_wrap_with_default_message=False,
                status_code=403,
                blocked_content=True,
            )
        return inputs

    async def _verdict(self, inputs: Any, request_data: dict, call_id: str, logging_obj: Any) -> Verdict:
        """The call's verdict, scored once per call id: LiteLLM can run a guardrail's hook more than
        once for one call (its proxy- and deployment-level pre-call hooks, fallbacks), and a request
        counted twice would inflate its account's evidence. Later runs get the first run's verdict."""
        scored = self._scored.get(call_id)
        if scored is None:
            record = self._record(inputs, request_data, call_id, logging_obj)
            scored = asyncio.get_running_loop().run_in_executor(self._executor, self._score, record)
            self._scored[call_id] = scored
            while len(self._scored) > _REMEMBERED_CALLS:
                self._scored.popitem(last=False)
        return await asyncio.shield(scored)

    def _score(self, record: dict[str, Any]) -> Verdict:
        verdict = self.guard.score(record)
        log_verdict(record["request_id"], verdict, f"litellm_guardrail:{self.guardrail_name}", record["account_id"])
        return verdict

    def _record(self, inputs: Any, request_data: dict, call_id: str, logging_obj: Any) -> dict[str, Any]:
        metadata = {**(request_data.get("metadata") or {}), **(request_data.get("litellm_metadata") or {})}
        user = request_data.get("user")
        ids = caller_ids(metadata)
        ids["end_user_id"] = ids["end_user_id"] or (user if isinstance(user, str) and user else None)
        messages = chat_messages(
            inputs.get("structured_messages") or request_data.get("messages"), inputs.get("texts", [])
        )
        model = inputs.get("model") or request_data.get("model")
        trace = getattr(logging_obj, "litellm_trace_id", None) or request_data.get("litellm_trace_id")
        ip = metadata.get("requester_ip_address")
        return litellm_record(
            messages=messages,
            ids=ids,
            identity=self.identity,
            call_id=call_id,
            trace_id=trace if isinstance(trace, str) else None,
            model=model if isinstance(model, str) else None,
            tools=inputs.get("tools") or request_data.get("tools"),
            client_ip=ip if isinstance(ip, str) and ip else None,
        )


def _load_guard(bundle: str | None, redis_url: str | None, config: GuardConfig) -> Any:
    from ..guard import Guard
    from ..session import MemoryStore

    store = None
    if redis_url:
        from ..session.redis_store import RedisStore

        store = RedisStore(redis_url, fallback=MemoryStore(max_entities=config.max_entities))
    return Guard.load(bundle, config=config, store=store)


def _float_or_none(value: float | str | None) -> float | None:
    return None if value is None or value == "" else float(value)


def _log_to(target: str) -> None:
    """Send the operator log (verdicts and failures, one JSON object per line) to ``stderr`` or a
    file, once per target: inside a proxy there is no other place to configure it. The log is the
    process's: every guardrail instance writes to every target (``integration`` names the
    guardrail)."""
    handler: logging.Handler = logging.StreamHandler(sys.stderr) if target == "stderr" else logging.FileHandler(target)
    handler.set_name(f"intent_guard:{target}")
    if any(h.get_name() == handler.get_name() for h in operator_log.handlers):
        handler.close()
        return
    handler.setFormatter(logging.Formatter("%(message)s"))
    operator_log.addHandler(handler)
    operator_log.setLevel(logging.INFO)


def _call_id(request_data: dict | None, logging_obj: Any) -> str:
    call_id = getattr(logging_obj, "litellm_call_id", None) or (request_data or {}).get("litellm_call_id")
    if isinstance(call_id, str) and call_id:
        return call_id
    return uuid.uuid4().hex


def _unscored(call_id: str, exc: BaseException) -> None:
    operator_log.warning(
        json.dumps(
            {"event": "unscored", "integration": "litellm_guardrail", "reference": call_id, "error": type(exc).__name__}
        )
    )

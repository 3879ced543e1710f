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
          # budget_ms: 50                               # longest wait for a verdict, then pass
          # max_in_flight: 64                           # calls scored at once; beyond, pass unscored

Each call's messages, tools and model, the caller's ids (``user_api_key_*``: org, team, user, end
user, key hash) and the requester's IP become a request; it is scored on a worker thread (the
event loop never waits on the model), and the account-level decision is acted on: ``block``
refuses the call with a generic message and the call id; ``review`` passes (or is refused, with
``on_review: block``); in ``logging_only`` nothing is ever refused. Every verdict, with its
reasons, goes to the ``intent_guard.integrations`` log under the call id, never to the caller.
Failures (no caller id, a scoring error, the budget spent, too many calls in flight) let the call
through and are logged as ``unscored``: fail-open, as the sidecar. Malformed input is repaired
and scored, never let through (:mod:`intent_guard.integrations.record`). This module is the only
one that imports LiteLLM.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from difflib import get_close_matches
from typing import Any, Literal

try:
    from litellm.exceptions import GuardrailRaisedException
    from litellm.integrations.custom_guardrail import CustomGuardrail
    from litellm.types.guardrails import GuardrailEventHooks, LitellmParams
except ImportError as exc:  # pragma: no cover - exercised only where LiteLLM is missing
    raise ImportError(
        "intent_guard.integrations.litellm_guardrail runs inside a LiteLLM proxy: pip install 'intent-guard[litellm]'"
    ) from exc

from ..config import GuardConfig
from ..errors import IntentGuardError, InvalidRequestError, SetupError
from ..types import Verdict
from .identity import Identity, log_verdict, operator_log, refusal_message
from .litellm_api import LITELLM_IDS, MASTER_KEY_USER, caller_ids, chat_messages
from .record import gateway_record, score_or_plain

OnReview = Literal["allow", "block"]
#: How many blocked accounts are remembered for calls that cannot be scored in time.
_BLOCKED_ACCOUNTS = 100_000


class IntentGuardrail(CustomGuardrail):
    """A LiteLLM guardrail that refuses calls from accounts whose evidence reached ``block``.

    Keyword arguments come from the guardrail's ``litellm_params`` in the proxy config:
    ``bundle`` (a bundle directory; the shipped default when absent), ``redis_url`` (state shared
    by the proxy's workers and servers), ``account_from`` (which caller ids make the account, in
    order, comma-separated or a list), ``on_review`` (``allow`` or ``block``),
    ``review_threshold`` / ``block_threshold`` (override the bundle's account thresholds),
    ``trusted_accounts`` (account ids, as ``account_from`` forms them, always allowed),
    ``verdict_log`` (``stderr`` or a file for the operator log, else configure the
    ``intent_guard.integrations`` logger yourself), ``budget_ms`` (longest wait for a verdict),
    ``max_in_flight`` (calls scored at once), ``scoring_threads``, ``deep`` (``true``: run the
    bundle's deep analysis in a child process; its account evidence decides from the account's
    next call on) and ``deep_queue`` (selected calls waiting for it before drops). ``guard`` (a loaded
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
        trusted_accounts: str | Sequence[str] | None = None,
        verdict_log: str | None = None,
        budget_ms: float | str = 50.0,
        max_in_flight: int | str = 64,
        scoring_threads: int = 2,
        deep: bool | str = False,
        deep_queue: int | str = 1000,
        guard: Any = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("supported_event_hooks", list(_MODES))
        name = kwargs.get("guardrail_name")
        try:
            _check_settings(kwargs)
            super().__init__(**kwargs)
            self.identity = _identity(account_from)
            if on_review not in ("allow", "block"):
                raise ValueError(f"on_review must be 'allow' or 'block', got {on_review!r}")
            self.on_review: OnReview = on_review
            self.budget_s = float(budget_ms) / 1000.0
            self.max_in_flight = int(max_in_flight)
            threads = int(scoring_threads)
            if not self.budget_s > 0 or self.max_in_flight < 1 or threads < 1:
                raise ValueError(
                    "budget_ms must be > 0, max_in_flight and scoring_threads >= 1; "
                    f"got {budget_ms!r}, {max_in_flight!r}, {scoring_threads!r}"
                )
            trusted = frozenset(_names(trusted_accounts))
            if verdict_log:
                _log_to(verdict_log)
            if guard is None:
                config = GuardConfig(
                    review_threshold=_float_or_none(review_threshold),
                    block_threshold=_float_or_none(block_threshold),
                    mode="observe" if self.observe_only else "enforce",
                    trusted_accounts=trusted,
                )
                guard = _load_guard(bundle, redis_url, config)
            if _flag(deep, "deep"):
                guard.with_deep(process=True, max_pending=int(deep_queue))
        except (ValueError, TypeError, OSError, IntentGuardError) as exc:
            detail = (
                str(exc)
                .replace("'account_review'", "'review_threshold'")
                .replace("'account_block'", "'block_threshold'")
            )
            raise SetupError(
                f"intent_guard guardrail {name!r} is set up wrongly, so the proxy does not start without it: "
                f"{detail}. The settings are keys under the guardrail's litellm_params."
            ) from exc
        self.guard = guard
        self._warned_master_key = False
        self._in_flight = 0  # touched on the event loop only
        # Accounts whose latest verdict was block: a call that cannot be scored in time (shed or
        # over budget) is still refused for them, so overload is no way past a block.
        self._blocked: OrderedDict[str, None] = OrderedDict()
        self._blocked_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="intent-guard")
        weakref.finalize(self, self._executor.shutdown, wait=False)
        if "end_user_id" in self.identity.account_from and any(a.startswith("end_user:") for a in trusted):
            _setup_warning(
                self._integration,
                "trusted_accounts lists end_user ids, which callers choose: anyone can claim them",
            )

    @property
    def observe_only(self) -> bool:
        """True in ``logging_only`` mode: verdicts are logged, nothing is refused. (Give the
        guardrail one mode: with several, a call would be scored, and counted, once per hook.)"""
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
            record = self._record(inputs, request_data or {}, call_id, logging_obj)
        except Exception as exc:  # noqa: BLE001 - fail-open: never take the proxy's call down; the operator hears of it
            self._unscored(call_id, _why(exc))
            return inputs
        if self._in_flight >= self.max_in_flight:  # shed load: the call is not scored (nor counted)
            return self._unscored_call(inputs, call_id, record["account_id"], "overloaded")
        self._in_flight += 1
        try:
            future = asyncio.get_running_loop().run_in_executor(self._executor, self._score, record)
            future.add_done_callback(self._done)
        except Exception as exc:  # noqa: BLE001 - as above
            self._in_flight -= 1
            return self._unscored_call(inputs, call_id, record["account_id"], _why(exc))
        try:
            # Past the budget the call goes on unscored; the scoring finishes (and counts) behind it.
            verdict = await asyncio.wait_for(asyncio.shield(future), timeout=self.budget_s)
        except TimeoutError:
            return self._unscored_call(inputs, call_id, record["account_id"], "over_budget")
        except Exception as exc:  # noqa: BLE001 - as above
            return self._unscored_call(inputs, call_id, record["account_id"], _why(exc))
        refuse = verdict.decision == "block" or (verdict.decision == "review" and self.on_review == "block")
        if refuse and not self.observe_only:
            self._refuse(call_id)
        return inputs

    def _refuse(self, call_id: str) -> None:
        raise GuardrailRaisedException(
            guardrail_name=self.guardrail_name,
            message=refusal_message(call_id),
            should_wrap_with_default_message=False,
            status_code=403,
            blocked_content=True,
        )

    def _unscored_call(self, inputs: Any, call_id: str, account: str, why: str) -> Any:
        """A call without a verdict of its own: logged; refused if its account's latest verdict
        was block (fail-open for everyone else)."""
        self._unscored(call_id, why)
        with self._blocked_lock:
            blocked = account in self._blocked
        if blocked and not self.observe_only:
            self._refuse(call_id)
        return inputs

    def _done(self, _: asyncio.Future[Verdict]) -> None:
        self._in_flight -= 1

    def _score(self, record: dict[str, Any]) -> Verdict:
        """Score on a worker thread. A record the Guard refuses (a limit our mapping did not foresee)
        is scored again as plain text, so that malformed input cannot buy a caller an unscored call."""
        verdict = score_or_plain(self.guard, record)
        log_verdict(record["request_id"], verdict, self._integration, record["account_id"])
        account = record["account_id"]
        with self._blocked_lock:
            if verdict.decision == "block":  # not would_decide: trusted and observed accounts are never refused
                self._blocked[account] = None
                self._blocked.move_to_end(account)
                while len(self._blocked) > _BLOCKED_ACCOUNTS:
                    self._blocked.popitem(last=False)
            else:
                self._blocked.pop(account, None)
        return verdict

    def _unscored(self, call_id: str, why: str) -> None:
        entry = {"event": "unscored", "integration": self._integration, "reference": call_id, "error": why}
        operator_log.warning(json.dumps(entry))

    @property
    def _integration(self) -> str:
        return f"litellm_guardrail:{self.guardrail_name}"

    def _record(self, inputs: Any, request_data: dict, call_id: str, logging_obj: Any) -> dict[str, Any]:
        metadata = {**(request_data.get("metadata") or {}), **(request_data.get("litellm_metadata") or {})}
        user = request_data.get("user")
        ids = caller_ids(metadata)
        ids["end_user_id"] = ids["end_user_id"] or (user if isinstance(user, str) and user else None)
        if metadata.get("user_api_key_user_id") == MASTER_KEY_USER and not self._warned_master_key:
            account = self.identity.account(ids)
            if account is not None and account.startswith("key_hash:"):
                self._warned_master_key = True
                _setup_warning(
                    self._integration,
                    "calls made with the proxy's master key all carry its key hash, so they are one account: "
                    "give callers virtual keys (with a user, team or org), or set account_from: end_user_id if "
                    "your own authentication sets the OpenAI 'user' field (callers choose it otherwise)",
                )
        messages = chat_messages(
            inputs.get("structured_messages") or request_data.get("messages"), inputs.get("texts", [])
        )
        model = inputs.get("model") or request_data.get("model")
        trace = getattr(logging_obj, "litellm_trace_id", None) or request_data.get("litellm_trace_id")
        ip = metadata.get("requester_ip_address")
        return gateway_record(
            messages=messages,
            ids=ids,
            identity=self.identity,
            call_id=call_id,
            trace_id=trace if isinstance(trace, str) else None,
            model=model if isinstance(model, str) else None,
            tools=inputs.get("tools") or request_data.get("tools"),
            client_ip=ip if isinstance(ip, str) and ip else None,
        )


#: The modes this guardrail runs in.
_MODES = (GuardrailEventHooks.pre_call, GuardrailEventHooks.during_call, GuardrailEventHooks.logging_only)
#: What LiteLLM may pass besides our own settings: its guardrail parameters and the hook wiring.
_LITELLM_KEYS = frozenset(LitellmParams.model_fields) | {
    "guardrail_name",
    "event_hook",
    "default_on",
    "supported_event_hooks",
}
_OUR_KEYS = (
    "bundle",
    "redis_url",
    "account_from",
    "on_review",
    "review_threshold",
    "block_threshold",
    "trusted_accounts",
    "verdict_log",
    "budget_ms",
    "max_in_flight",
    "scoring_threads",
    "deep",
    "deep_queue",
)


def _check_settings(kwargs: dict[str, Any]) -> None:
    """Refuse a mode this guardrail does not run in and a setting nobody reads (a typo would
    otherwise leave, say, the bundle's block threshold in force without a word)."""
    unknown = sorted(k for k in kwargs if k not in _LITELLM_KEYS)
    if unknown:
        hints = [
            f"{k!r} (did you mean {close[0]!r}?)" for k in unknown if (close := get_close_matches(k, _OUR_KEYS, 1))
        ]
        raise ValueError(f"unknown setting(s) {hints or unknown}; intent_guard reads {', '.join(_OUR_KEYS)}")
    hook = kwargs.get("event_hook")
    hooks = hook if isinstance(hook, list) else [hook]
    modes = {m.value for m in _MODES}
    bad = [h for h in hooks if h is not None and str(getattr(h, "value", h)) not in modes]
    if bad:
        raise ValueError(f"mode {bad} is not one this guardrail runs in; use one of {sorted(modes)}")


def _flag(value: bool | str, name: str) -> bool:
    """A YAML boolean, or its spelling as a string."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false", "yes", "no", "1", "0"):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return text in ("true", "yes", "1")


def _names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """A comma-separated string or a YAML list, as a tuple of non-empty names."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(str(item).strip() for item in items if str(item).strip())


def _identity(account_from: str | Sequence[str] | None) -> Identity:
    account_from = _names(account_from)
    unknown = [name for name in account_from or () if name not in LITELLM_IDS]
    if unknown:
        raise ValueError(f"account_from names unknown caller ids {unknown}; use some of {sorted(LITELLM_IDS)}")
    return Identity(account_from=tuple(account_from)) if account_from else Identity()


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


def _setup_warning(integration: str, warning: str) -> None:
    operator_log.warning(json.dumps({"event": "setup_warning", "integration": integration, "warning": warning}))


def _why(exc: BaseException) -> str:
    """What the operator log says about a failure: our own messages in full (they name fields and
    ids, never prompt text), other errors by type only."""
    if isinstance(exc, InvalidRequestError):
        return f"invalid request: {str(exc)[:300]}"
    return type(exc).__name__

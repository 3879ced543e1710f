"""LiteLLM's Generic Guardrail API (``POST /beta/litellm_basic_guardrail_api``) on the sidecar.

LiteLLM sends the texts it extracted from a call (``texts``), its tools, and ``request_data`` with
the caller's identity (virtual-key hash, user, team, org, end user) and call ids; it expects
``{"action": "BLOCKED" | "NONE", "blocked_reason": ...}``. Configure it in LiteLLM with
``guardrail: generic_guardrail_api`` and ``api_base`` pointing at the sidecar. Only the request
side is scored (``input_type: "response"`` gets ``NONE``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidRequestError
from .identity import Identity

_IDS = {
    "org_id": "user_api_key_org_id",
    "team_id": "user_api_key_team_id",
    "user_id": "user_api_key_user_id",
    "end_user_id": "user_api_key_end_user_id",
    "key_hash": "user_api_key_hash",
}


def to_request(body: Mapping[str, Any], identity: Identity, now: float | None = None) -> dict[str, Any]:
    """A request-log record for one Generic Guardrail API call; InvalidRequestError if unusable."""
    texts = body.get("texts")
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise InvalidRequestError("'texts' must be a list of strings")
    data = body.get("request_data") or {}
    if not isinstance(data, Mapping):
        raise InvalidRequestError("'request_data' must be an object")
    ids = {ours: _str(data.get(theirs)) for ours, theirs in _IDS.items()}
    account = identity.account(ids)
    if account is None:
        raise InvalidRequestError(
            "'request_data' names no caller (user_api_key_org_id, _team_id, _user_id or _hash): "
            "a per-message guard cannot see a campaign"
        )
    call_id = _str(body.get("litellm_call_id")) or _str(data.get("litellm_call_id")) or uuid.uuid4().hex
    messages = [{"role": "user", "content": t} for t in texts] or [{"role": "user", "content": ""}]
    record: dict[str, Any] = {
        "request_id": call_id,
        "timestamp": time.time() if now is None else now,
        "account_id": account,
        "messages": messages,
        "api_key_id": ids["key_hash"],
        "session_id": _str(body.get("litellm_trace_id")),
        "model": _str(data.get("model")) or _str(body.get("model")),
    }
    tools = body.get("tools")
    if isinstance(tools, list):
        record["tools"] = [t for t in tools if isinstance(t, Mapping)]
    return {k: v for k, v in record.items() if v is not None}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None

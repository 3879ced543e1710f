"""LiteLLM's view of a call, mapped onto the request-log spec: shared by the Generic Guardrail API
endpoint on the sidecar (``POST /beta/litellm_basic_guardrail_api``) and the in-process guardrail
(:mod:`intent_guard.integrations.litellm_guardrail`). Nothing here imports LiteLLM.

LiteLLM names the caller with ``user_api_key_*`` fields (virtual-key hash, user, team, org, end
user), in the Generic Guardrail API's ``request_data`` and in the proxy's request metadata alike.
For the HTTP API it expects ``{"action": "BLOCKED" | "NONE", "blocked_reason": ...}``; configure it
with ``guardrail: generic_guardrail_api`` and ``api_base`` pointing at the sidecar. Only the
request side is scored (``input_type: "response"`` gets ``NONE``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidRequestError
from .identity import Identity
from .record import gateway_record

#: Our identity names -> LiteLLM's ``user_api_key_*`` metadata fields.
LITELLM_IDS = {
    "org_id": "user_api_key_org_id",
    "team_id": "user_api_key_team_id",
    "user_id": "user_api_key_user_id",
    "end_user_id": "user_api_key_end_user_id",
    "key_hash": "user_api_key_hash",
}


#: The user id LiteLLM gives every call made with the proxy's master key: not a caller.
MASTER_KEY_USER = "default_user_id"


def caller_ids(metadata: Mapping[str, Any]) -> dict[str, str | None]:
    """The caller's ids from LiteLLM's ``user_api_key_*`` fields (``user_api_key_token`` is the key
    hash under another name in the proxy's own metadata; the master key's placeholder user id is
    no user)."""
    ids = {ours: _str(metadata.get(theirs)) for ours, theirs in LITELLM_IDS.items()}
    ids["key_hash"] = ids["key_hash"] or _str(metadata.get("user_api_key_token"))
    if ids["user_id"] == MASTER_KEY_USER:
        ids["user_id"] = None
    return ids


def chat_messages(structured: Any, texts: Any) -> list[dict[str, Any]]:
    """LiteLLM's structured messages (roles kept: a system prompt is evidence) when it sent them,
    else its extracted texts as user turns. InvalidRequestError when neither is usable."""
    if (
        isinstance(structured, list)
        and structured
        and all(isinstance(m, Mapping) and isinstance(m.get("role"), str) for m in structured)
    ):
        return [dict(m) for m in structured]
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise InvalidRequestError("'texts' must be a list of strings")
    return [{"role": "user", "content": t} for t in texts]


def to_request(body: Mapping[str, Any], identity: Identity, now: float | None = None) -> dict[str, Any]:
    """A request-log record for one Generic Guardrail API call; InvalidRequestError if unusable."""
    messages = chat_messages(body.get("structured_messages"), body.get("texts"))
    data = body.get("request_data") or {}
    if not isinstance(data, Mapping):
        raise InvalidRequestError("'request_data' must be an object")
    return gateway_record(
        messages=messages,
        ids=caller_ids(data),
        identity=identity,
        call_id=_str(body.get("litellm_call_id")) or _str(data.get("litellm_call_id")),
        trace_id=_str(body.get("litellm_trace_id")),
        model=_str(body.get("model")) or _str(data.get("model")),
        tools=body.get("tools"),
        now=now,
    )


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None

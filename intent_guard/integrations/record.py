"""One gateway call -> one request-log record, safely: whatever a gateway accepted is scored.

Caller-chosen ids (the OpenAI ``user`` field, trace ids, header values) are bounded, text that is
not valid Unicode is repaired, tool names that are not short strings become digests, and a record
the Guard still refuses can be reduced to its text (:func:`plain_text_record`): malformed input
must not buy a caller an unscored call.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidRequestError
from ..types import ROLES
from .identity import Identity

#: Ids longer than this (or not valid Unicode) are replaced by a digest: a caller-chosen id (the
#: OpenAI ``user`` field, a trace id) must not make the request invalid, nor unscored.
MAX_GATEWAY_ID_CHARS = 128
#: Nesting depth scrubbed in messages and tools (deeper content is dropped).
_MAX_DEPTH = 8


def bounded_id(value: str | None) -> str | None:
    """``value``, or ``sha256:<32 hex>`` of it when it is too long or not valid Unicode."""
    if value is None:
        return None
    try:
        value.encode("utf-8")
        if len(value) <= MAX_GATEWAY_ID_CHARS:
            return value
    except UnicodeEncodeError:
        pass
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def gateway_record(
    *,
    messages: list[Any],
    ids: Mapping[str, str | None],
    identity: Identity,
    call_id: str | None = None,
    trace_id: str | None = None,
    model: str | None = None,
    tools: Any = None,
    client_ip: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """A request-log record for one call through a gateway; InvalidRequestError when it names no caller.

    Ids are bounded (:func:`bounded_id`), text that is not valid Unicode is repaired and tool
    names that are not short strings are replaced by their digest: what the gateway accepted, we
    score."""
    ids = {name: bounded_id(value) for name, value in ids.items()}
    account = identity.account(ids)
    if account is None:
        raise InvalidRequestError(
            f"the call names no caller (none of {', '.join(identity.account_from)} is set): "
            "a per-message guard cannot see a campaign"
        )
    record: dict[str, Any] = {
        "request_id": bounded_id(call_id) or uuid.uuid4().hex,
        "timestamp": time.time() if now is None else now,
        "account_id": account,
        "messages": _scrub(messages) or [{"role": "user", "content": ""}],
        "api_key_id": ids.get("key_hash"),
        "session_id": bounded_id(trace_id),
        "model": _scrub(model),
    }
    if isinstance(tools, list):
        record["tools"] = [_tool(t) for t in tools if isinstance(t, Mapping)]
    if client_ip:
        record["client"] = {"ip": client_ip}
    return {k: v for k, v in record.items() if v is not None}


def plain_text_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record with its messages reduced to text (unknown roles read as ``user``) and without
    its tools: what is scored when the Guard refuses the full record for a limit the mapping did
    not foresee. Its ids, model and client IP are kept (they were bounded already)."""
    messages: list[dict[str, str]] = []
    for message in record.get("messages") or []:
        if not isinstance(message, Mapping):
            continue
        content = message.get("content")
        if isinstance(content, list):
            content = "\n".join(p["text"] for p in content if isinstance(p, Mapping) and isinstance(p.get("text"), str))
        role = message.get("role")
        messages.append(
            {
                "role": role if isinstance(role, str) and role in ROLES else "user",
                "content": _scrub(content if isinstance(content, str) else ""),
            }
        )
    out: dict[str, Any] = {k: record[k] for k in ("request_id", "timestamp", "account_id")}
    out["messages"] = messages or [{"role": "user", "content": ""}]
    for key in ("api_key_id", "session_id", "model"):
        if isinstance(record.get(key), str):
            out[key] = record[key]
    client = record.get("client")
    if isinstance(client, Mapping) and isinstance(client.get("ip"), str):
        out["client"] = {"ip": client["ip"]}
    return out


def _scrub(value: Any, depth: int = 0) -> Any:
    """Strings repaired to valid Unicode (lone surrogates replaced), through lists and dicts."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return value.encode("utf-8", "replace").decode("utf-8")
    if depth >= _MAX_DEPTH:
        return None
    if isinstance(value, list):
        return [_scrub(v, depth + 1) for v in value]
    if isinstance(value, Mapping):
        return {_scrub(k, depth + 1) if isinstance(k, str) else k: _scrub(v, depth + 1) for k, v in value.items()}
    return value


def _tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    """A tool with a usable name: a name that is not a short string becomes its digest."""
    tool = _scrub(tool)
    function = tool.get("function")
    holder = function if isinstance(function, dict) else tool
    name = holder.get("name")
    if name is not None and not (isinstance(name, str) and len(name) <= MAX_GATEWAY_ID_CHARS):
        holder["name"] = "sha256:" + hashlib.sha256(repr(name).encode("utf-8", "replace")).hexdigest()[:32]
    return tool


def score_or_plain(guard: Any, record: Mapping[str, Any]) -> Any:
    """``guard.score(record)``; if the Guard refuses the record (InvalidRequestError), the score of
    its :func:`plain_text_record` instead."""
    try:
        return guard.score(record)
    except InvalidRequestError:
        return guard.score(plain_text_record(record))

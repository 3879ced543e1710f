"""ASGI middleware for OpenAI-compatible Python inference servers (FastAPI, Starlette, any ASGI app).

    app.add_middleware(IntentGuardMiddleware, guard=Guard.load(), org_header="x-org-id")

On ``POST`` to the chat-completions path it reads the body (up to ``max_body_bytes``), maps it
and the caller's identity (from configurable headers; the API key only as a hash) to a request,
scores it on a worker thread (the event loop never blocks) and, on ``block``, answers 403 with an
OpenAI-style error carrying only a generic message and a reference id. Everything else reaches
the app with its body untouched. If scoring fails or the body cannot be parsed, the call goes
through (fail-open, as the sidecar) and the failure is logged for the operator.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ..errors import IntentGuardError
from .identity import Identity, key_hash, log_verdict, operator_log, refusal_message
from .record import gateway_record, score_or_plain

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class IntentGuardMiddleware:
    """Scores chat-completion calls before the app sees them; refuses them on ``block``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        guard: Any,
        paths: tuple[str, ...] = ("/v1/chat/completions",),
        org_header: str = "x-org-id",
        team_header: str = "x-team-id",
        user_header: str = "x-user-id",
        identity: Identity | None = None,
        max_body_bytes: int = 8 * 1024 * 1024,
    ) -> None:
        self.app = app
        self.guard = guard
        self.paths = frozenset(paths)
        self.headers = {"org_id": org_header.lower(), "team_id": team_header.lower(), "user_id": user_header.lower()}
        self.identity = identity or Identity()
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST" or scope.get("path") not in self.paths:
            await self.app(scope, receive, send)
            return
        body, more = await _read(receive, self.max_body_bytes)
        replay = _replaying(body, more, receive)
        reference = uuid.uuid4().hex
        record: dict[str, Any] | None = None
        try:
            record = self._record(scope, body, reference) if not more else None
            verdict = await asyncio.to_thread(score_or_plain, self.guard, record) if record is not None else None
        except (IntentGuardError, ValueError) as exc:  # fail-open: the call goes through, the operator hears of it
            operator_log.warning(
                json.dumps(
                    {"event": "unscored", "integration": "asgi", "reference": reference, "error": type(exc).__name__}
                )
            )
            verdict = None
        if verdict is not None:
            log_verdict(reference, verdict, "asgi", record["account_id"] if record is not None else None)
            if verdict.decision == "block":
                await _refuse(send, reference)
                return
        await self.app(scope, replay, send)

    def _record(self, scope: Scope, body: bytes, reference: str) -> dict[str, Any] | None:
        payload = json.loads(body)
        if not isinstance(payload, dict) or not isinstance(payload.get("messages"), list):
            return None
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        ids: dict[str, str | None] = {name: headers.get(header) or None for name, header in self.headers.items()}
        authorization = headers.get("authorization", "")
        secret = authorization.split(" ", 1)[-1] if authorization else headers.get("x-api-key", "")
        ids["key_hash"] = key_hash(secret) if secret else None
        if self.identity.account(ids) is None:
            return None  # an anonymous call: nothing to accumulate evidence on
        client = scope.get("client")
        model = payload.get("model")
        return gateway_record(
            messages=payload["messages"],
            ids=ids,
            identity=self.identity,
            call_id=reference,
            model=model if isinstance(model, str) else None,
            tools=payload.get("tools"),
            client_ip=client[0] if client else None,
        )


async def _read(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The body up to ``limit`` bytes; ``more`` is True when it is longer (then it is not scored)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False
        if size > limit:
            return b"".join(chunks), True


def _replaying(body: bytes, more: bool, receive: Receive) -> Receive:
    """A ``receive`` that gives the app the body already read, then the rest of the stream."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replay


async def _refuse(send: Send, reference: str) -> None:
    body = json.dumps(
        {
            "error": {
                "message": refusal_message(reference),
                "type": "permission_error",
                "param": None,
                "code": "request_refused",
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"application/json"), (b"x-request-reference", reference.encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})

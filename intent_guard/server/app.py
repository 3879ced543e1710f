"""The HTTP sidecar: FastAPI app factory. Imports guard / types / errors only.

Endpoints: ``POST /v1/score`` (one request, or ``{"requests": [...]}``), ``GET /healthz``,
``GET /readyz``, ``GET /metrics`` (Prometheus), ``GET /openapi.json`` and ``/docs``.

Every scoring call has a time budget. Past it the caller gets, at once, the documented fallback
verdict: ``allow`` with probability 0 (fail-open, the default) or ``review`` with probability 1
(fail-closed), with the reason ``{"kind": "timeout"}``; the scoring itself finishes in the
background so session state stays complete. Logs are JSON lines with ids, decisions, scores and
timings, never prompt text.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi import Request as HttpRequest
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import ConfigError, IntentGuardError, InvalidRequestError, StoreError
from ..guard import Guard
from ..integrations.identity import Identity, log_verdict, refusal_message
from ..integrations.litellm_api import to_request as litellm_request
from ..integrations.record import plain_text_record
from ..types import Reason, Request, Verdict
from .metrics import Metrics
from .schema import account_reset_openapi, components, litellm_openapi, score_openapi

log = logging.getLogger("intent_guard.server")

MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_BATCH = 1024


#: The shortest admin token accepted (random, e.g. ``python -c "import secrets; print(secrets.token_urlsafe(24))"``).
MIN_ADMIN_TOKEN_CHARS = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig:
    """Settings of the sidecar. ``fail_mode``: what a request past its budget gets."""

    budget_ms: float = 50.0
    fail_mode: str = "open"
    max_body_bytes: int = MAX_BODY_BYTES
    max_batch: int = MAX_BATCH
    workers: int = 2
    max_in_flight: int = 64
    #: Which caller id becomes the account in the gateway endpoints (LiteLLM's Generic Guardrail API).
    identity: Identity = field(default_factory=Identity)
    #: Bearer token for the operator endpoints (``DELETE /v1/accounts/{id}``); None disables them.
    admin_token: str | None = None

    def __post_init__(self) -> None:
        if self.fail_mode not in ("open", "closed"):
            raise ConfigError(
                f"The 'fail_mode' parameter of ServerConfig must be 'open' or 'closed'. Got {self.fail_mode!r} instead."
            )
        if not self.budget_ms > 0:
            raise ConfigError(f"The 'budget_ms' parameter of ServerConfig must be > 0. Got {self.budget_ms!r} instead.")
        if self.admin_token is not None and len(self.admin_token.strip()) < MIN_ADMIN_TOKEN_CHARS:
            raise ConfigError(
                f"The 'admin_token' parameter of ServerConfig must be None (operator endpoints off) or a secret of "
                f"at least {MIN_ADMIN_TOKEN_CHARS} characters. Got one of {len(self.admin_token.strip())}."
            )


def fallback_verdict(request_id: str, config: ServerConfig, model_version: str, kind: str) -> Verdict:
    """The documented verdict when scoring cannot answer in time (or failed): fail-open or closed."""
    closed = config.fail_mode == "closed"
    return Verdict(
        request_id=request_id,
        probability=1.0 if closed else 0.0,
        decision="review" if closed else "allow",
        reasons=(Reason(kind=kind, name="fail_mode", value=config.fail_mode),),
        model_version=model_version,
    )


def _request_ids(items: list[Any]) -> list[str]:
    return [str(item.get("request_id", "")) if isinstance(item, dict) else "" for item in items]


def create_app(guard: Guard, config: ServerConfig | None = None) -> FastAPI:
    """Build the FastAPI app around a loaded Guard."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse, PlainTextResponse

    config = config or ServerConfig()
    shadow = guard.shadow
    deep = guard.deep
    metrics = Metrics(
        guard.model_version,
        (lambda: dict(shadow.counts)) if shadow is not None else None,
        (lambda: dict(deep.counts)) if deep is not None else None,
    )
    executor = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="intent-guard")
    # Readiness checks get a thread of their own: they must not queue behind scoring.
    probes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="intent-guard-probe")
    in_flight = threading.BoundedSemaphore(config.max_in_flight)
    app = FastAPI(
        title="intent_guard sidecar",
        version=guard.model_version,
        description="Per-request distillation-attack probability for LLM API traffic.",
    )
    app.state.guard = guard
    app.state.metrics = metrics

    def error(status: int, message: str, kind: str) -> JSONResponse:
        metrics.errors.labels(kind=kind).inc()
        return JSONResponse({"error": message}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def framework_error(_: HttpRequest, exc: StarletteHTTPException) -> JSONResponse:
        """The framework's own errors (no such route, wrong method) in the same ``{"error": ...}``
        shape as every other 4xx, e.g. an account id whose path cannot match its route."""
        return error(exc.status_code, str(exc.detail), "route")

    cost = _CostEstimate()

    async def counted(call_id: str, handler: Any) -> JSONResponse:
        """Run an endpoint's work; an unexpected exception is a 500 that is logged and counted."""
        try:
            return await handler
        except Exception as exc:  # noqa: BLE001 - a 500 is a bug: count it, log it, say so
            metrics.errors.labels(kind=f"internal:{type(exc).__name__}").inc()
            log.error(json.dumps({"event": "internal_error", "call_id": call_id, "error": type(exc).__name__}))
            return JSONResponse({"error": "internal error (logged and counted)"}, status_code=500)

    async def read_json(http: HttpRequest) -> tuple[Any, JSONResponse | None]:
        """The parsed body, or the 4xx to answer (over the size limit, not JSON)."""
        body = await _read_body(http, config.max_body_bytes)
        if body is None:
            return None, error(413, f"body exceeds the limit of {config.max_body_bytes} bytes", "too_large")
        try:
            return json.loads(body), None
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, 4,300+ digit integers
            return None, error(400, f"body is not valid JSON: {str(exc)[:200]}", "bad_json")

    @app.post(
        "/v1/score",
        summary="Score one request, or a batch under 'requests'",
        openapi_extra=score_openapi(),
        response_model=None,
    )
    async def score(http: HttpRequest) -> JSONResponse:
        started = time.perf_counter()
        call_id = http.headers.get("x-request-id") or uuid.uuid4().hex
        return await counted(call_id, _score_call(http, started, call_id))

    async def _score_call(http: HttpRequest, started: float, call_id: str) -> JSONResponse:
        payload, refused = await read_json(http)
        if refused is not None:
            return refused
        batch = isinstance(payload, dict) and "requests" in payload
        items = payload["requests"] if batch else [payload]
        if not isinstance(items, list) or not items:
            return error(422, "'requests' must be a non-empty list of request objects", "invalid")
        if len(items) > config.max_batch:
            return error(413, f"a batch holds at most {config.max_batch} requests, got {len(items)}", "too_large")
        try:
            requests = [Request.from_dict(item) for item in items]
        except InvalidRequestError as exc:
            index = next((i for i, item in enumerate(items) if not _valid(item)), 0)
            prefix = f"requests[{index}]: " if batch else ""
            return error(422, prefix + str(exc), "invalid")
        remaining = config.budget_ms / 1000.0 - (time.perf_counter() - started)
        fits = cost.fits(remaining)
        if len(requests) > max(fits, 1):
            return error(
                413,
                f"a batch of {len(requests)} requests does not fit the {config.budget_ms:g} ms budget at the current "
                f"~{cost.per_request * 1000:.2f} ms a request: send at most {max(fits, 1)} per call (or raise "
                "--budget-ms)",
                "batch_over_budget",
            )
        if not in_flight.acquire(blocking=False):
            return error(429, "too many requests in flight; retry shortly", "overloaded")
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(executor, _score, guard, requests, in_flight, cost)
        try:
            verdicts = await asyncio.wait_for(asyncio.shield(future), timeout=max(remaining, 0.0))
            outcome = "scored"
        except TimeoutError:
            verdicts = [fallback_verdict(r.request_id, config, guard.model_version, "timeout") for r in requests]
            outcome = "timeout"
        except Exception as exc:  # noqa: BLE001 - scoring failed: the documented fallback, counted by kind
            log.error(json.dumps({"event": "score_failed", "call_id": call_id, "error": type(exc).__name__}))
            verdicts = [fallback_verdict(r.request_id, config, guard.model_version, "error") for r in requests]
            outcome = "error" if isinstance(exc, IntentGuardError) else f"error:{type(exc).__name__}"
        elapsed = time.perf_counter() - started
        metrics.observe(verdicts, elapsed, outcome, degraded=bool(getattr(guard.store, "degraded", False)))
        log.info(
            json.dumps(
                {
                    "event": "score",
                    "call_id": call_id,
                    "outcome": outcome,
                    "ms": round(elapsed * 1000, 3),
                    "verdicts": [
                        {
                            "request_id": v.request_id,
                            "decision": v.decision,
                            **({"would_decide": v.would_decide} if v.would_decide else {}),
                            "probability": round(v.probability, 4),
                            **({"account_score": round(v.account_score, 4)} if v.account_score is not None else {}),
                        }
                        for v in verdicts
                    ],
                }
            )
        )
        body_out: Any = {"verdicts": [v.to_dict() for v in verdicts]} if batch else verdicts[0].to_dict()
        return JSONResponse(body_out, headers={"x-request-id": call_id})

    @app.post(
        "/beta/litellm_basic_guardrail_api",
        summary="LiteLLM Generic Guardrail API: BLOCKED on the account's block decision, else NONE",
        openapi_extra=litellm_openapi(),
        response_model=None,
    )
    async def litellm_guardrail(http: HttpRequest) -> JSONResponse:
        return await counted(uuid.uuid4().hex, _litellm_call(http, time.perf_counter()))

    async def _litellm_call(http: HttpRequest, started: float) -> JSONResponse:
        payload, refused = await read_json(http)
        if refused is not None:
            return refused
        if not isinstance(payload, dict):
            return error(422, "the body must be a JSON object", "invalid")
        if payload.get("input_type") == "response":
            return JSONResponse({"action": "NONE"})  # only requests are scored
        try:
            record = litellm_request(payload, config.identity)
        except InvalidRequestError as exc:  # no caller, or no texts: nothing to score
            return error(422, str(exc), "invalid")
        try:
            request = Request.from_dict(record)
        except InvalidRequestError:  # what LiteLLM accepted is scored: as plain text if need be
            request = Request.from_dict(plain_text_record(record))
        if not in_flight.acquire(blocking=False):
            return error(429, "too many requests in flight; retry shortly", "overloaded")
        remaining = config.budget_ms / 1000.0 - (time.perf_counter() - started)
        future = asyncio.get_running_loop().run_in_executor(executor, _score, guard, [request], in_flight, cost)
        try:
            (verdict,) = await asyncio.wait_for(asyncio.shield(future), timeout=max(remaining, 0.0))
            outcome = "scored"
        except TimeoutError:
            verdict, outcome = fallback_verdict(request.request_id, config, guard.model_version, "timeout"), "timeout"
        except Exception as exc:  # noqa: BLE001 - the gateway gets NONE (fail-open) and the failure is counted
            verdict = fallback_verdict(request.request_id, config, guard.model_version, "error")
            outcome = f"error:{type(exc).__name__}"
        metrics.observe(
            [verdict], time.perf_counter() - started, outcome, bool(getattr(guard.store, "degraded", False))
        )
        log_verdict(request.request_id, verdict, "litellm_generic_guardrail_api", request.account_id)
        if verdict.decision == "block":
            return JSONResponse({"action": "BLOCKED", "blocked_reason": refusal_message(request.request_id)})
        return JSONResponse({"action": "NONE"})

    @app.delete(
        "/v1/accounts/{account_id:path}",
        summary="Operator: reset an account's state (a false positive); needs the admin token",
        openapi_extra=account_reset_openapi(),
        response_model=None,
    )
    async def forget_account(account_id: str, http: HttpRequest) -> JSONResponse:
        return await counted(uuid.uuid4().hex, _forget(account_id, http))

    async def _forget(account_id: str, http: HttpRequest) -> JSONResponse:
        if config.admin_token is None:
            return error(
                404, "operator endpoints are disabled: start the sidecar with --admin-token-env VAR", "disabled"
            )
        scheme, _, given = http.headers.get("authorization", "").strip().partition(" ")
        expected = config.admin_token.strip().encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            return error(401, "a valid 'Authorization: Bearer <admin token>' header is required", "unauthorized")
        try:
            forgotten = await asyncio.get_running_loop().run_in_executor(executor, guard.forget_account, account_id)
        except InvalidRequestError as exc:
            return error(422, str(exc), "invalid")
        except StoreError as exc:
            return error(503, str(exc), "store_unavailable")
        log.info(json.dumps({"event": "account_reset", "account_id": account_id, "had_state": forgotten}))
        return JSONResponse({"account_id": account_id, "reset": True, "had_state": forgotten})

    @app.get("/healthz", summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Bundle loaded; session store reachable, or degraded to local state")
    async def readyz() -> JSONResponse:
        store = guard.store
        ping = getattr(store, "ping", None)
        reachable = True if ping is None else bool(await asyncio.get_running_loop().run_in_executor(probes, ping))
        # Reachable is not enough: a store that refuses writes (out of memory, a bad key) leaves
        # the Guard on local state, and the store says so.
        status = "ready" if reachable and not getattr(store, "degraded", False) else "degraded"
        metrics.degraded.set(0 if status == "ready" else 1)
        return JSONResponse(
            {
                "status": status,
                "model_version": guard.model_version,
                "mode": guard.config.mode,
                "shadow_model_version": shadow.candidate.model_version if shadow is not None else None,
                "deep_analysis": deep is not None,
                "store": type(store).__name__,
                "store_reachable": reachable,
            }
        )

    @app.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        body, content_type = metrics.render()
        return PlainTextResponse(body, media_type=content_type)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            document.setdefault("components", {}).setdefault("schemas", {}).update(components())
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _valid(item: Any) -> bool:
    try:
        Request.from_dict(item)
    except InvalidRequestError:
        return False
    return True


class _CostEstimate:
    """Scoring seconds per request, a moving average of the calls served (a batch that cannot fit
    the remaining budget at this speed is refused up front rather than answered with fallbacks)."""

    def __init__(self, prior_seconds: float = 0.0002) -> None:
        self.per_request = prior_seconds
        self._lock = threading.Lock()

    def record(self, seconds: float, n: int) -> None:
        with self._lock:
            self.per_request = 0.8 * self.per_request + 0.2 * (seconds / max(n, 1))

    def fits(self, remaining_seconds: float) -> int:
        """How many requests fit in the remaining budget (with a 20% margin)."""
        return int(0.8 * remaining_seconds / self.per_request) if self.per_request > 0 else 1 << 30


async def _read_body(http: HttpRequest, limit: int) -> bytes | None:
    """The body, or None as soon as it exceeds ``limit`` bytes (never read whole first)."""
    declared = http.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in http.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _score(
    guard: Guard, requests: list[Request], in_flight: threading.BoundedSemaphore, cost: _CostEstimate
) -> list[Verdict]:
    try:
        started = time.perf_counter()
        verdicts = guard.score_many(requests)
        cost.record(time.perf_counter() - started, len(requests))
        return verdicts
    finally:
        in_flight.release()

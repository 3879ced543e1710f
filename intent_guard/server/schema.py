"""Pydantic models of the sidecar's bodies, for its OpenAPI document only.

Requests are validated by :meth:`intent_guard.types.Request.from_dict` (the one validator of the
project, with its exact error messages); these models describe the same shapes for clients,
code generators and API fuzzers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class MessageModel(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "tool", "developer", "function"]
    content: str | list[dict[str, Any]] | None = None


class ClientModel(BaseModel):
    model_config = ConfigDict(extra="allow")
    ip: str | None = None
    user_agent: str | None = None
    payment_fingerprint: str | None = None
    org_id: str | None = None
    country: str | None = None
    access_path: str | None = None
    account_created_at: float | str | None = None


class RequestModel(BaseModel):
    """One request in the request-log spec's form (``../shared/spec/request-log.md``)."""

    model_config = ConfigDict(extra="allow")
    request_id: str = Field(min_length=1, max_length=512)
    timestamp: Annotated[float, Field(ge=0, le=4_102_444_800)] | datetime = Field(
        description="Unix seconds (1970-2100), or an RFC 3339 date-time with an offset"
    )
    account_id: str = Field(min_length=1, max_length=512)
    messages: list[MessageModel] = Field(min_length=1)
    api_key_id: str | None = Field(default=None, max_length=512)
    session_id: str | None = Field(default=None, max_length=512)
    model: str | None = None
    tools: list[dict[str, Any]] | None = None
    client: ClientModel | None = None


class BatchModel(BaseModel):
    requests: list[RequestModel] = Field(min_length=1, max_length=1024)


class ReasonModel(BaseModel):
    kind: str
    id: str | None = None
    category: str | None = None
    similarity: float | None = None
    name: str | None = None
    value: float | str | None = None


class VerdictModel(BaseModel):
    request_id: str
    probability: float = Field(ge=0, le=1)
    account_score: float | None = Field(default=None, ge=0, le=1)
    decision: Literal["allow", "review", "block"]
    would_decide: Literal["allow", "review", "block"] | None = None
    reasons: list[ReasonModel]
    model_version: str


class BatchVerdictsModel(BaseModel):
    verdicts: list[VerdictModel]


class ErrorModel(BaseModel):
    error: str = Field(description="what is wrong, naming the field where there is one")


class LiteLLMGuardrailRequest(BaseModel):
    """LiteLLM's Generic Guardrail API call (the fields intent_guard reads; others are ignored)."""

    model_config = ConfigDict(extra="allow")
    texts: list[str]
    images: list[str] | None = None
    tools: list[dict[str, Any]] | None = None
    request_data: dict[str, Any] = Field(
        description="the caller: user_api_key_hash, _user_id, _team_id, _org_id, _end_user_id (one at least)"
    )
    input_type: Literal["request", "response"] | None = None
    litellm_call_id: str | None = None
    litellm_trace_id: str | None = None


class LiteLLMGuardrailResponse(BaseModel):
    action: Literal["BLOCKED", "NONE"]
    blocked_reason: str | None = Field(default=None, description="a generic refusal and a reference id, no reasons")


class AccountResetModel(BaseModel):
    account_id: str
    reset: Literal[True]
    had_state: bool = Field(description="whether the account had any state to drop")


#: The models whose JSON schemas go into the OpenAPI components.
COMPONENTS: tuple[type[BaseModel], ...] = (
    RequestModel,
    BatchModel,
    VerdictModel,
    BatchVerdictsModel,
    ErrorModel,
    LiteLLMGuardrailRequest,
    AccountResetModel,
    LiteLLMGuardrailResponse,
)


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def score_openapi() -> dict[str, Any]:
    """``openapi_extra`` of ``POST /v1/score``: its request body and every response it can give."""
    error = {"content": {"application/json": {"schema": _ref(ErrorModel)}}}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"anyOf": [_ref(RequestModel), _ref(BatchModel)]}}},
        },
        "responses": {
            "200": {
                "description": "A verdict, or {'verdicts': [...]} for a batch",
                "content": {"application/json": {"schema": {"anyOf": [_ref(VerdictModel), _ref(BatchVerdictsModel)]}}},
            },
            "400": {"description": "Body is not valid JSON / UTF-8", **error},
            "413": {"description": "Body or batch too large (for the limit, or for the time budget)", **error},
            "422": {"description": "A field is invalid (the message names it)", **error},
            "429": {"description": "Too many calls in flight; retry shortly", **error},
            "500": {"description": "A bug: logged and counted in /metrics", **error},
        },
    }


def litellm_openapi() -> dict[str, Any]:
    """``openapi_extra`` of the LiteLLM Generic Guardrail API endpoint."""
    error = {"content": {"application/json": {"schema": _ref(ErrorModel)}}}
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(LiteLLMGuardrailRequest)}}},
        "responses": {
            "200": {
                "description": "BLOCKED when the caller's account is blocked, else NONE",
                "content": {"application/json": {"schema": _ref(LiteLLMGuardrailResponse)}},
            },
            "400": {"description": "Body is not valid JSON / UTF-8", **error},
            "413": {"description": "Body too large", **error},
            "422": {"description": "No texts, or no caller id in request_data", **error},
            "429": {"description": "Too many calls in flight; retry shortly", **error},
            "500": {"description": "A bug: logged and counted in /metrics", **error},
        },
    }


def account_reset_openapi() -> dict[str, Any]:
    """``openapi_extra`` of the operator's account reset."""
    error = {"content": {"application/json": {"schema": _ref(ErrorModel)}}}
    return {
        "responses": {
            "200": {
                "description": "The account's state is dropped; its next request starts afresh",
                "content": {"application/json": {"schema": _ref(AccountResetModel)}},
            },
            "401": {"description": "No or wrong 'Authorization: Bearer <admin token>'", **error},
            "404": {
                "description": "Operator endpoints are disabled (no --admin-token-env), or the id holds a line break",
                **error,
            },
            "422": {"description": "Empty account id", **error},
            "503": {"description": "The shared store (Redis) cannot be reached; retry", **error},
            "500": {"description": "A bug: logged and counted in /metrics", **error},
        },
    }


def components() -> dict[str, Any]:
    """JSON schemas of COMPONENTS (and the models they use), keyed by name."""
    out: dict[str, Any] = {}
    for model in COMPONENTS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out

"""The data types of the request-log spec: Request, Message, Client, Verdict, Reason.

Frozen, slotted dataclasses with validation and no other behaviour. ``Request.from_dict`` is the
one place a plain dict (a JSON record, an HTTP body) becomes a validated request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from .errors import InvalidRequestError

ROLES = frozenset({"system", "user", "assistant", "tool", "developer", "function"})
DECISIONS = ("allow", "review", "block")
Decision = Literal["allow", "review", "block"]

#: Timestamps must fall in [0, MAX_TIMESTAMP] (Unix seconds; 2100-01-01).
MAX_TIMESTAMP = 4_102_444_800.0
#: Identifiers (request, account, key, session ids) longer than this are refused.
MAX_ID_CHARS = 512
#: Other strings that are stored or hashed (``model``, ``client`` fields) are cut to this length.
MAX_FIELD_CHARS = 1024
#: Tool names longer than this are refused.
MAX_TOOL_NAME_CHARS = 256

_REQUEST_FIELDS = frozenset(
    {
        "request_id",
        "timestamp",
        "account_id",
        "api_key_id",
        "session_id",
        "model",
        "messages",
        "tools",
        "client",
        "label",
        "campaign_id",
    }
)
_CLIENT_FIELDS = ("ip", "user_agent", "payment_fingerprint", "org_id", "country", "access_path")


def parse_timestamp(value: object, field_name: str = "timestamp") -> float:
    """Unix seconds from a number or an RFC 3339 string; refuses NaN, negative and far-future."""
    if isinstance(value, bool):
        raise InvalidRequestError(f"'{field_name}' must be Unix seconds or an RFC 3339 string, got a boolean")
    if isinstance(value, int) and abs(value) > MAX_TIMESTAMP:
        raise InvalidRequestError(
            f"'{field_name}' must be a finite time between 1970 and 2100, got {str(value)[:30]}..."
        )
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidRequestError(f"'{field_name}' is not an RFC 3339 date-time: {value[:40]!r}") from None
        if parsed.tzinfo is None:
            raise InvalidRequestError(f"'{field_name}' needs a time-zone offset (e.g. 'Z'): {value[:40]!r}")
        seconds = parsed.timestamp()
    else:
        raise InvalidRequestError(
            f"'{field_name}' must be Unix seconds or an RFC 3339 string, got {type(value).__name__}"
        )
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_TIMESTAMP:
        raise InvalidRequestError(f"'{field_name}' must be a finite time between 1970 and 2100, got {seconds!r}")
    return seconds


def _optional_str(data: Mapping[str, Any], key: str, where: str = "") -> str | None:
    """A string field: ids longer than MAX_ID_CHARS are refused, other strings cut to MAX_FIELD_CHARS;
    text that is not valid Unicode (a lone surrogate, which JSON allows) is refused."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(f"'{where}{key}' must be a string, got {type(value).__name__}")
    if key.endswith("_id"):
        if len(value) > MAX_ID_CHARS:
            raise InvalidRequestError(f"'{where}{key}' is longer than {MAX_ID_CHARS} characters")
    elif len(value) > MAX_FIELD_CHARS:
        value = value[:MAX_FIELD_CHARS]
    _require_unicode(value, f"{where}{key}")
    return value


def _require_unicode(value: str, name: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequestError(f"'{name}' is not valid Unicode (it holds a lone surrogate)") from None


def _required_id(data: Mapping[str, Any], key: str) -> str:
    value = _optional_str(data, key)
    if not value:
        raise InvalidRequestError(f"'{key}' is required and must be a non-empty string")
    return value


def _check_tool_name(tool: Mapping[str, Any], index: int) -> None:
    """An OpenAI-style tool's name ({"function": {"name"}} or a bare {"name"}) must be a short string."""
    function = tool.get("function")
    where, source = (
        (f"tools[{index}].function.name", function)
        if isinstance(function, Mapping)
        else (
            f"tools[{index}].name",
            tool,
        )
    )
    name = source.get("name")
    if name is None:
        return
    if not isinstance(name, str):
        raise InvalidRequestError(f"'{where}' must be a string, got {type(name).__name__}")
    if len(name) > MAX_TOOL_NAME_CHARS:
        raise InvalidRequestError(f"'{where}' is longer than {MAX_TOOL_NAME_CHARS} characters")
    _require_unicode(name, where)


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message: ``role`` and ``content`` (a string, or a tuple of content-part dicts)."""

    role: str
    content: str | tuple[Mapping[str, Any], ...]

    @classmethod
    def from_dict(cls, data: object, index: int = 0) -> Message:
        """Validate one OpenAI-style message."""
        if not isinstance(data, Mapping):
            raise InvalidRequestError(f"'messages[{index}]' must be an object, got {type(data).__name__}")
        role = data.get("role")
        if not isinstance(role, str) or role not in ROLES:
            raise InvalidRequestError(
                f"'messages[{index}].role' must be one of {sorted(ROLES)}, got {str(role)[:40]!r}"
            )
        content = data.get("content")
        if content is None:
            return cls(role=role, content="")
        if isinstance(content, str):
            return cls(role=role, content=content)
        if isinstance(content, list):
            for j, part in enumerate(content):
                if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
                    raise InvalidRequestError(
                        f"'messages[{index}].content[{j}]' must be an object with a string 'type'"
                    )
            return cls(role=role, content=tuple(content))
        raise InvalidRequestError(
            f"'messages[{index}].content' must be a string or a list of parts, got {type(content).__name__}"
        )

    def text(self) -> str:
        """The message's text: the string content, or its text parts joined by newlines."""
        if isinstance(self.content, str):
            return self.content
        texts = [p.get("text") for p in self.content if p.get("type") in ("text", "input_text")]
        return "\n".join(t for t in texts if isinstance(t, str))

    def image_count(self) -> int:
        """How many image parts the message carries."""
        if isinstance(self.content, str):
            return 0
        return sum(1 for p in self.content if "image" in str(p.get("type", "")))

    def to_dict(self) -> dict[str, Any]:
        content = self.content if isinstance(self.content, str) else [dict(p) for p in self.content]
        return {"role": self.role, "content": content}


@dataclass(frozen=True, slots=True)
class Client:
    """What the API knows of the caller (every field optional)."""

    ip: str | None = None
    user_agent: str | None = None
    payment_fingerprint: str | None = None
    org_id: str | None = None
    country: str | None = None
    access_path: str | None = None
    account_created_at: float | None = None

    @classmethod
    def from_dict(cls, data: object) -> Client:
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise InvalidRequestError(f"'client' must be an object, got {type(data).__name__}")
        values = {key: _optional_str(data, key, "client.") for key in _CLIENT_FIELDS}
        created = data.get("account_created_at")
        created_at = None if created is None else parse_timestamp(created, "client.account_created_at")
        return cls(**values, account_created_at=created_at)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (*_CLIENT_FIELDS, "account_created_at") if getattr(self, k) is not None}


@dataclass(frozen=True, slots=True)
class Request:
    """One API request in the request-log spec's form. Build it with :meth:`from_dict`."""

    request_id: str
    timestamp: float
    account_id: str
    messages: tuple[Message, ...]
    api_key_id: str | None = None
    session_id: str | None = None
    model: str | None = None
    tools: tuple[Mapping[str, Any], ...] = ()
    client: Client = field(default_factory=Client)
    label: int | None = None
    campaign_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, data: object) -> Request:
        """Validate a plain dict in the spec's form; raises InvalidRequestError naming the field."""
        if not isinstance(data, Mapping):
            raise InvalidRequestError(f"a request must be a JSON object, got {type(data).__name__}")
        for key in ("request_id", "timestamp", "account_id", "messages"):
            if key not in data:
                raise InvalidRequestError(f"missing required field '{key}'")
        raw_messages = data["messages"]
        if not isinstance(raw_messages, list) or not raw_messages:
            raise InvalidRequestError("'messages' must be a non-empty list of {role, content} objects")
        raw_tools = data.get("tools")
        if raw_tools is None:
            raw_tools = []
        if not isinstance(raw_tools, list) or not all(isinstance(t, Mapping) for t in raw_tools):
            raise InvalidRequestError("'tools' must be a list of objects")
        for i, tool in enumerate(raw_tools):
            _check_tool_name(tool, i)
        label = data.get("label")
        if label is not None and (isinstance(label, bool) or label not in (0, 1)):
            raise InvalidRequestError(f"'label' must be 0 or 1, got {str(label)[:20]!r}")
        return cls(
            request_id=_required_id(data, "request_id"),
            timestamp=parse_timestamp(data["timestamp"]),
            account_id=_required_id(data, "account_id"),
            messages=tuple(Message.from_dict(m, i) for i, m in enumerate(raw_messages)),
            api_key_id=_optional_str(data, "api_key_id"),
            session_id=_optional_str(data, "session_id"),
            model=_optional_str(data, "model"),
            tools=tuple(raw_tools),
            client=Client.from_dict(data.get("client")),
            label=None if label is None else int(label),
            campaign_id=_optional_str(data, "campaign_id") or None,
            extra={k: v for k, v in data.items() if k not in _REQUEST_FIELDS},
        )

    def to_dict(self) -> dict[str, Any]:
        """The request in the spec's form (unknown fields kept)."""
        out: dict[str, Any] = dict(self.extra)
        out.update(
            request_id=self.request_id,
            timestamp=self.timestamp,
            account_id=self.account_id,
            messages=[m.to_dict() for m in self.messages],
        )
        for key in ("api_key_id", "session_id", "model", "label", "campaign_id"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.tools:
            out["tools"] = [dict(t) for t in self.tools]
        client = self.client.to_dict()
        if client:
            out["client"] = client
        return out


@dataclass(frozen=True, slots=True)
class Reason:
    """One piece of evidence behind a verdict, e.g. a template match or a session feature."""

    kind: str
    id: str | None = None
    category: str | None = None
    similarity: float | None = None
    name: str | None = None
    value: float | str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The scoring output for one request."""

    request_id: str
    probability: float
    decision: Decision
    reasons: tuple[Reason, ...] = ()
    model_version: str = ""
    #: The account's campaign evidence given all its traffic so far (None where not computed).
    account_score: float | None = None
    #: In observe mode, what the policy would have decided (``decision`` is then always ``allow``).
    would_decide: Decision | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"Verdict.probability must be in [0, 1], got {self.probability!r}")
        if self.account_score is not None and not 0.0 <= self.account_score <= 1.0:
            raise ValueError(f"Verdict.account_score must be in [0, 1], got {self.account_score!r}")
        if self.decision not in DECISIONS:
            raise ValueError(f"Verdict.decision must be one of {DECISIONS}, got {self.decision!r}")
        if self.would_decide is not None and self.would_decide not in DECISIONS:
            raise ValueError(f"Verdict.would_decide must be one of {DECISIONS} or None, got {self.would_decide!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "probability": round(self.probability, 6),
            **({} if self.account_score is None else {"account_score": round(self.account_score, 6)}),
            "decision": self.decision,
            **({} if self.would_decide is None else {"would_decide": self.would_decide}),
            "reasons": [r.to_dict() for r in self.reasons],
            "model_version": self.model_version,
        }

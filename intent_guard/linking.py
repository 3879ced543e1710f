"""Values a request shares with other accounts (link values) and its prompt skeleton.

A *skeleton* is the start of the last user message with the variable parts masked: numbers and
quoted strings become placeholders, case and spacing are normalised. The same
wrapper around changing content keeps its skeleton; a person's free-form questions rarely repeat
one. Only the first SKELETON_CHARS characters are used, where a prefix wrapper sits.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from .text import PromptParts
from .types import Request

SKELETON_CHARS = 96
# One pass masks quoted strings and numbers; whitespace is collapsed by split/join.
_MASK = re.compile(r"\"[^\"]{0,200}\"|'[^']{0,200}'|\d+(?:[.,]\d+)*")


def _mask(match: re.Match[str]) -> str:
    return "#" if match.group(0)[0].isdigit() else " <str> "


def skeleton(text: str) -> str:
    """The masked, normalised prefix of a prompt ('' for an empty one)."""
    head = _MASK.sub(_mask, text[: SKELETON_CHARS * 2])
    return " ".join(head.split()).lower()[:SKELETON_CHARS]


def digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=8).hexdigest()


def ip_prefix(ip: str) -> str | None:
    """The /24 of an IPv4 address or the /48 of an IPv6 one; None if it does not parse."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    bits = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


def link_values(request: Request, parts: PromptParts, skeleton_text: str) -> dict[str, str]:
    """Link kind -> entity key for each shared value the request carries."""
    client = request.client
    values: dict[str, str] = {}
    if client.payment_fingerprint:
        values["payment"] = f"pay:{_bounded(client.payment_fingerprint)}"
    if client.org_id:
        values["org"] = f"org:{_bounded(client.org_id)}"
    if client.ip and (prefix := ip_prefix(client.ip)):
        values["ip"] = f"ip:{prefix}"
    if client.user_agent:
        values["ua"] = f"ua:{digest(client.user_agent[:256])}"
    if parts.system_text:
        values["system"] = f"sys:{digest(parts.system_head)}"
    if request.tools:
        values["tools"] = f"tools:{digest('|'.join(sorted(_tool_name(t) for t in request.tools[:256])))}"
    if len(skeleton_text) >= 24:  # too short a prefix says nothing about a wrapper
        values["skeleton"] = f"skel:{digest(skeleton_text)}"
    return values


#: Link values up to this length are kept as given (readable keys); longer ones are digested.
MAX_KEY_VALUE_CHARS = 64


def _bounded(value: str) -> str:
    """The value itself when short, else its digest: a store key never grows with the caller's input."""
    return value if len(value) <= MAX_KEY_VALUE_CHARS else f"#{digest(value)}"


def _tool_name(tool: Mapping[str, Any]) -> str:
    """The name of an OpenAI-style tool ({"function": {"name"}}) or a bare one ({"name"})."""
    function = tool.get("function")
    source = function if isinstance(function, Mapping) else tool
    name = source.get("name", "")
    return name[:128] if isinstance(name, str) else ""

"""Who the caller is, as a gateway knows it, mapped onto the request-log spec's fields."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..types import Verdict

#: Where operators find a refused call's verdict and reasons (never the caller).
operator_log = logging.getLogger("intent_guard.integrations")


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """Which of the caller's ids becomes the ``account_id``: the first non-empty one, in order.

    A campaign spreads over keys but rarely over organisations or teams, so the default prefers
    the widest id the gateway knows (org, then team, then user, then the key itself). Names:
    ``org_id``, ``team_id``, ``user_id``, ``end_user_id`` (LiteLLM's, from the OpenAI ``user``
    field), ``key_hash``.
    """

    account_from: tuple[str, ...] = ("org_id", "team_id", "user_id", "key_hash")

    def account(self, ids: Mapping[str, str | None]) -> str | None:
        for name in self.account_from:
            value = ids.get(name)
            if value:
                return f"{name.removesuffix('_id')}:{value}"
        return None


def key_hash(secret: str) -> str:
    """A stable, non-reversible id for an API key seen in a header (the key itself is never kept)."""
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()[:24]


def refusal_message(reference: str) -> str:
    """What the caller is told: no reason, no score, no template, only an id to quote."""
    return f"Request refused by the provider's usage policy. Reference: {reference}"


def log_verdict(reference: str, verdict: Verdict, integration: str, account_id: str | None = None) -> None:
    """The verdict with its reasons and the account it was about, for the operator (ids and scores
    only, never prompt text)."""
    entry: dict[str, Any] = {"event": "verdict", "integration": integration, "reference": reference}
    if account_id is not None:
        entry["account_id"] = account_id
    entry.update(verdict.to_dict())
    operator_log.info(json.dumps(entry))

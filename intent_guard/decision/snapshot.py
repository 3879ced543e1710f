"""The account as the decision layer sees it: read from its session state after the request's
writes, never from the model's feature row."""

from __future__ import annotations

import numpy as np

from ..cues import CUE_NAMES
from ..session.entities import ACCOUNT, account_score, deep_score, evidence_counts
from ..session.state import N_TOTAL
from ..templates.similarity import CATEGORIES

_TMPL_7D = ACCOUNT.slot("tmpl_7d")
_REQ_24H = ACCOUNT.slot("req_24h")
_CATS = ACCOUNT.block("cat")
_CUE_KINDS = ACCOUNT.block("cuekind")
#: A request counts as campaign-like evidence from this (calibrated) probability up.
EVIDENCE_PROBABILITY = 0.5


class AccountSnapshot:
    """One account's accumulated evidence as of its latest request (read-only).

    ``score`` is what the policy compares with its thresholds; the rest explains it in reasons and
    is read off the state only when asked for (most verdicts are ``allow`` and need none of it).
    """

    __slots__ = ("score", "requests", "deep_score", "deep_requests", "_state")

    def __init__(self, state: np.ndarray, deep: np.ndarray | None = None) -> None:
        """``state``: the account's state vector, as the store returned it after the request's writes;
        ``deep``: its deep-evidence state (None when the Guard runs no deep analysis)."""
        self._state = state
        self.score = account_score(state)  # decayed mean of its top-3 request probabilities
        self.requests = int(round(float(state[N_TOTAL])))  # every request it ever sent (not decayed)
        # The same top-3 mean over the requests the deep analysis read, and how many it read.
        self.deep_score = deep_score(deep) if deep is not None else None
        self.deep_requests = int(round(float(deep[N_TOTAL]))) if deep is not None else 0

    @property
    def evidence_requests(self) -> float:
        """Decayed count of its requests at EVIDENCE_PROBABILITY or above."""
        return evidence_counts(self._state, EVIDENCE_PROBABILITY)

    @property
    def template_requests_7d(self) -> float:
        return float(self._state[_TMPL_7D])

    @property
    def categories(self) -> tuple[tuple[str, float], ...]:
        """Template categories by share of the day's requests (>= 10%), top three first."""
        day = float(self._state[_REQ_24H])
        if day <= 0:
            return ()
        shares = sorted(
            ((name, float(c) / day) for name, c in zip(CATEGORIES, self._state[_CATS].tolist(), strict=True)),
            key=lambda item: -item[1],
        )
        return tuple((name, round(share, 3)) for name, share in shares if share >= 0.1)[:3]

    @property
    def cue_kinds(self) -> tuple[str, ...]:
        """Kinds of elicitation it asked for in about a week."""
        return tuple(name for name, c in zip(CUE_NAMES, self._state[_CUE_KINDS].tolist(), strict=True) if c >= 0.5)

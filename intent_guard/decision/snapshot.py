"""The account as the decision layer sees it: read from its session state after the request's
writes, never from the model's feature row."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..cues import CUE_NAMES
from ..session.entities import ACCOUNT, account_score, evidence_counts
from ..session.state import FIRST_T, LAST_T, N_TOTAL
from ..templates.similarity import CATEGORIES

_TMPL_7D = ACCOUNT.slot("tmpl_7d")
_REQ_7D = ACCOUNT.slot("req_7d")
_REQ_24H = ACCOUNT.slot("req_24h")
_CATS = ACCOUNT.block("cat")
_CUE_KINDS = ACCOUNT.block("cuekind")
#: A request counts as campaign-like evidence from this (calibrated) probability up.
EVIDENCE_PROBABILITY = 0.5


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """One account's accumulated evidence, as of its latest request."""

    score: float  # decayed mean of its top-3 request probabilities (session/evidence.py)
    requests: int  # every request it ever sent (not decayed)
    history_seconds: float  # from its first request to its latest
    evidence_requests: float  # decayed count of its requests at EVIDENCE_PROBABILITY or above
    template_requests_7d: float  # decayed count of template-like requests
    template_share_7d: float
    categories: tuple[tuple[str, float], ...]  # template categories by share of the day's requests, top first
    cue_kinds: tuple[str, ...]  # kinds of elicitation asked for in about a week

    @classmethod
    def from_state(cls, state: np.ndarray) -> AccountSnapshot:
        v = state.tolist()
        req_24h = v[_REQ_24H]
        cats = sorted(
            ((name, v[_CATS.start + i] / req_24h) for i, name in enumerate(CATEGORIES) if req_24h > 0),
            key=lambda item: -item[1],
        )
        return cls(
            score=account_score(state),
            requests=int(round(v[N_TOTAL])),
            history_seconds=max(0.0, v[LAST_T] - v[FIRST_T]),
            evidence_requests=evidence_counts(state, EVIDENCE_PROBABILITY),
            template_requests_7d=v[_TMPL_7D],
            template_share_7d=v[_TMPL_7D] / v[_REQ_7D] if v[_REQ_7D] > 0 else 0.0,
            categories=tuple((name, round(share, 3)) for name, share in cats if share >= 0.1)[:3],
            cue_kinds=tuple(name for name, c in zip(CUE_NAMES, v[_CUE_KINDS], strict=True) if c >= 0.5),
        )

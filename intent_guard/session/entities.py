"""The entities we keep state for, their schemas, and named views of their states.

* ``account``  everything one paying account sends;
* ``key``      one API key (schema kept for per-key decisions; the pipeline writes none today);
* ``deep``     one account's deep-analysis evidence (the transformer's content-only probabilities
               of the requests the deep analyser read; :mod:`intent_guard.deep_analysis`), kept
               apart from ``account`` so that turning the analysis on or off never changes the
               account's own state or layout;
* ``link``     one shared value that can tie accounts into a "hydra cluster": a payment
               fingerprint, an org, an IP /24 (IPv6 /48) prefix, a user agent, a system-prompt
               hash, a tool-schema hash, a prompt-skeleton hash. A link value's state counts its
               requests and, by linear counting over 64 stamp slots, the distinct accounts behind
               it in any window.

Features are declared in :mod:`intent_guard.features`; :class:`AccountView` and
:class:`ClusterView` give them named quantities to read.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from ..templates.similarity import CATEGORIES
from .evidence import EDGES, EVIDENCE_SLOTS, bin_of, top_k_mean
from .state import DAY, HOUR, MINUTE, WEEK, EntityUpdate, Schema, distinct_within, entropy

HOUR_BINS = 6  # 4-hour bins of the UTC hour of day
TOPIC_BINS = 16
SKETCH = 7  # skeleton-reuse sketch slots
STAMPS = 64
CUE_KINDS = 7  # len(intent_guard.cues.CUE_NAMES), checked there

ACCOUNT = Schema(
    "account",
    (
        ("req_1m", MINUTE),
        ("req_1h", HOUR),
        ("req_24h", DAY),
        ("tmpl_1h", HOUR),
        ("tmpl_24h", DAY),
        ("sim_24h", DAY),
        ("cue_24h", DAY),
        ("req_7d", WEEK),
        ("tmpl_7d", WEEK),
        ("cue_7d", WEEK),
        ("gap_n", HOUR),
        ("gap_sum", HOUR),
        ("gap_sq", HOUR),
        *((f"hour{i}", WEEK) for i in range(HOUR_BINS)),
        *((f"cat{i}", DAY) for i in range(len(CATEGORIES))),
        *((f"topic{i}", DAY) for i in range(TOPIC_BINS)),
        *((f"skel{i}", DAY) for i in range(SKETCH)),
        *((f"cuekind{i}", WEEK) for i in range(CUE_KINDS)),
        *EVIDENCE_SLOTS,
    ),
)
KEY = Schema(
    "key",
    (("req_1m", MINUTE), ("req_1h", HOUR), ("tmpl_1h", HOUR), ("gap_n", HOUR), ("gap_sum", HOUR), ("gap_sq", HOUR)),
)
LINK = Schema("link", (("req_1m", MINUTE), ("req_1h", HOUR), ("req_24h", DAY), ("tmpl_24h", DAY)), stamps=STAMPS)
#: Its count (``N_TOTAL``) is the number of requests analysed; its histogram, their probabilities.
DEEP = Schema("deep", EVIDENCE_SLOTS)
SCHEMAS: dict[str, Schema] = {s.name: s for s in (ACCOUNT, KEY, LINK, DEEP)}

_A = {name: ACCOUNT.slot(name) for name, _ in ACCOUNT.slots}
_K = {name: KEY.slot(name) for name, _ in KEY.slots}
_L = {name: LINK.slot(name) for name, _ in LINK.slots}
_HOURS = ACCOUNT.block("hour")
_CATS = ACCOUNT.block("cat")
_TOPICS = ACCOUNT.block("topic")
_SKEL = ACCOUNT.block("skel")
_CUE_KINDS = ACCOUNT.block("cuekind")
_EV_N = ACCOUNT.block("ev_n")
_EV_P = ACCOUNT.block("ev_p")
_DEEP_N = DEEP.block("ev_n")
_DEEP_P = DEEP.block("ev_p")


def stable_hash(text: str) -> int:
    """A process-independent 32-bit hash (Python's hash() is salted per process)."""
    return zlib.crc32(text.encode("utf-8", "replace"))


@dataclass(frozen=True, slots=True)
class Observation:
    """What the pipeline knows of one request, as the session entities need it."""

    timestamp: float
    template_like: bool
    similarity: float
    category: int  # best template category when template-like, else -1
    topic: int  # nearest topic centroid, or -1 for an empty prompt
    cues: int  # bitmask of the elicitation cues in the prompt (bit i: intent_guard.cues.CUE_NAMES[i])
    skeleton: int  # stable hash of the prompt skeleton, or -1


def account_update(obs: Observation) -> EntityUpdate:
    """The account's update for one request."""
    inc: list[tuple[int, float]] = [
        (_A["req_1m"], 1.0),
        (_A["req_1h"], 1.0),
        (_A["req_24h"], 1.0),
        (_A["req_7d"], 1.0),
        (_A["sim_24h"], obs.similarity),
        (_HOURS.start + int((obs.timestamp % DAY) // (DAY / HOUR_BINS)), 1.0),
    ]
    if obs.template_like:
        inc += [(_A["tmpl_1h"], 1.0), (_A["tmpl_24h"], 1.0), (_A["tmpl_7d"], 1.0)]
        if obs.category >= 0:
            inc.append((_CATS.start + obs.category, 1.0))
    if obs.cues:
        inc += [(_A["cue_24h"], 1.0), (_A["cue_7d"], 1.0)]
        inc += [(_CUE_KINDS.start + i, 1.0) for i in range(CUE_KINDS) if obs.cues >> i & 1]
    if obs.topic >= 0:
        inc.append((_TOPICS.start + obs.topic, 1.0))
    if obs.skeleton >= 0:
        inc.append((_SKEL.start + obs.skeleton % SKETCH, 1.0))
    return EntityUpdate(obs.timestamp, tuple(inc))


def account_key(account_id: str) -> str:
    """The store key of an account's state."""
    return f"a:{account_id}"


def evidence_update(timestamp: float, probability: float) -> EntityUpdate:
    """The account's second write for a request, after scoring: its probability joins the account's
    evidence (not counted as another request)."""
    b = bin_of(probability)
    return EntityUpdate(timestamp, ((_EV_N.start + b, 1.0), (_EV_P.start + b, probability)), tally=False)


def account_score(state: np.ndarray) -> float:
    """The account's evidence: the decayed mean of its top-3 request probabilities (evidence.py)."""
    return top_k_mean(state[_EV_N].tolist(), state[_EV_P].tolist())


def deep_key(account_id: str) -> str:
    """The store key of an account's deep-analysis evidence."""
    return f"d:{account_id}"


def deep_evidence_update(timestamp: float, probability: float) -> EntityUpdate:
    """One analysed request's deep probability joins its account's deep evidence (``timestamp``:
    the request's own, however late the analysis ran)."""
    b = bin_of(probability)
    return EntityUpdate(timestamp, ((_DEEP_N.start + b, 1.0), (_DEEP_P.start + b, probability)))


def deep_read_update(timestamp: float) -> EntityUpdate:
    """Adds nothing: lets the scoring path read (and age) the deep evidence in the same atomic call
    that writes the request's own evidence."""
    return EntityUpdate(timestamp, (), tally=False)


def deep_score(state: np.ndarray) -> float:
    """The account's deep evidence: the decayed mean of its top-3 deep probabilities (evidence.py)."""
    return top_k_mean(state[_DEEP_N].tolist(), state[_DEEP_P].tolist())


def evidence_counts(state: np.ndarray, at_least: float) -> float:
    """Decayed count of the account's requests whose probability was ``at_least`` or more (to the
    resolution of the evidence bins: every bin whose lower edge is at least ``at_least``)."""
    first = bin_of(at_least)
    if first > 0 and EDGES[first - 1] < at_least:
        first += 1
    return float(state[_EV_N.start + first : _EV_N.stop].sum())


def link_update(obs: Observation, account_id: str) -> EntityUpdate:
    inc = [(_L["req_1m"], 1.0), (_L["req_1h"], 1.0), (_L["req_24h"], 1.0)]
    if obs.template_like:
        inc.append((_L["tmpl_24h"], 1.0))
    return EntityUpdate(obs.timestamp, tuple(inc), stamp=stable_hash(account_id) % STAMPS)


#: gap_log_mean of an account with no gap yet: a week, the least automated-looking value.
NO_GAP_LOG = math.log1p(WEEK)


class AccountView:
    """Named quantities read off an account state just updated with ``obs``."""

    __slots__ = ("_v", "_skeleton")

    def __init__(self, state: np.ndarray, obs: Observation) -> None:
        self._v = state.tolist()
        self._skeleton = obs.skeleton

    @property
    def requests_1m(self) -> float:
        return self._v[_A["req_1m"]]

    @property
    def requests_1h(self) -> float:
        return self._v[_A["req_1h"]]

    @property
    def requests_24h(self) -> float:
        return self._v[_A["req_24h"]]

    @property
    def template_share_1h(self) -> float:
        return self._v[_A["tmpl_1h"]] / self._v[_A["req_1h"]]

    @property
    def template_share_24h(self) -> float:
        return self._v[_A["tmpl_24h"]] / self._v[_A["req_24h"]]

    @property
    def similarity_mean_24h(self) -> float:
        return self._v[_A["sim_24h"]] / self._v[_A["req_24h"]]

    @property
    def cue_share_24h(self) -> float:
        return self._v[_A["cue_24h"]] / self._v[_A["req_24h"]]

    @property
    def template_requests_7d(self) -> float:
        return self._v[_A["tmpl_7d"]]

    @property
    def template_share_7d(self) -> float:
        return self._v[_A["tmpl_7d"]] / self._v[_A["req_7d"]]

    @property
    def cue_requests_7d(self) -> float:
        return self._v[_A["cue_7d"]]

    @property
    def cue_share_7d(self) -> float:
        return self._v[_A["cue_7d"]] / self._v[_A["req_7d"]]

    @property
    def cue_kinds_7d(self) -> float:
        """How many different kinds of elicitation the account asked for in about a week."""
        return float(sum(1 for c in self._v[_CUE_KINDS] if c >= 0.5))

    @property
    def gap_log_mean(self) -> float:
        v, g = self._v, _A["gap_n"]
        return v[g + 1] / v[g] if v[g] >= 0.5 else NO_GAP_LOG

    @property
    def hour_entropy(self) -> float:
        return entropy(self._v[_HOURS])

    @property
    def topic_entropy(self) -> float:
        return entropy(self._v[_TOPICS])

    @property
    def topics_covered(self) -> float:
        topics = self._v[_TOPICS]
        total = math.fsum(topics)
        return float(sum(1 for c in topics if total > 0 and c / total >= 0.05))

    def category_share(self, category: int) -> float:
        return self._v[_CATS.start + category] / self._v[_A["req_24h"]]

    @property
    def skeleton_reuse(self) -> float:
        """Share of the day's requests (before this one) in this request's skeleton slot."""
        if self._skeleton < 0:
            return 0.0
        own = self._v[_SKEL.start + self._skeleton % SKETCH] - 1.0
        return max(0.0, own) / self._v[_A["req_24h"]]


class ClusterView:
    """What the accounts behind a request's shared values do together.

    The cluster is the shared value (behind at least two accounts in 24 h) whose traffic is most
    template-like. No absolute account count decides anything: a card shared by an enterprise
    team, an IDE product's system prompt or a campus NAT are shared values like any other, and
    only their template share and synchronised bursts are evidence.
    """

    __slots__ = ("template_share_24h", "sync_accounts_1m", "template_requests_24h")

    def __init__(self, links: dict[str, np.ndarray], now: float) -> None:
        self.template_share_24h = self.sync_accounts_1m = self.template_requests_24h = 0.0
        best: np.ndarray | None = None
        for state in links.values():
            if distinct_within(state, LINK, now, DAY) < 1.5:
                continue
            requests = state[_L["req_24h"]]
            share = float(state[_L["tmpl_24h"]] / requests) if requests > 0 else 0.0
            if best is None or share > self.template_share_24h:
                best, self.template_share_24h = state, share
        if best is not None:
            self.sync_accounts_1m = distinct_within(best, LINK, now, MINUTE)
            self.template_requests_24h = float(best[_L["tmpl_24h"]])

"""The entities we keep state for, their schemas, and the features read off their states.

* ``account``  everything one paying account sends (28 features);
* ``key``      one API key (4 features);
* ``link``     one shared value that can tie accounts into a "hydra cluster": a payment
               fingerprint, an org, an IP /24 (IPv6 /48) prefix, a user agent, a system-prompt
               hash, a tool-schema hash, a prompt-skeleton hash. A link value's state counts its
               requests and, by linear counting over 64 stamp slots, the distinct accounts behind
               it in any window; cluster features are read off the link values of the request.

Link strength weighs how common a value is: a value behind ``COMMON_ACCOUNTS`` or more distinct
accounts in 24 h (a university NAT, the system prompt of a popular IDE agent) is not a link.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from ..templates.similarity import CATEGORIES
from .state import DAY, FIRST_T, HOUR, LAST_T, MINUTE, WEEK, EntityUpdate, Schema, distinct_within, entropy

HOUR_BINS = 8  # 3-hour bins of the UTC hour of day
TOPIC_BINS = 16
SKETCH = 8  # skeleton-reuse sketch slots
STAMPS = 64
COMMON_ACCOUNTS = 40.0
LINK_KINDS = ("payment", "org", "ip", "ua", "system", "tools", "skeleton")
MODEL_AGE_CAP_HOURS = 720.0

ACCOUNT = Schema(
    "account",
    (
        ("req_1m", MINUTE),
        ("req_1h", HOUR),
        ("req_24h", DAY),
        ("tmpl_1h", HOUR),
        ("tmpl_24h", DAY),
        ("sim_1h", HOUR),
        ("sim_24h", DAY),
        ("gap_n", HOUR),
        ("gap_sum", HOUR),
        ("gap_sq", HOUR),
        *((f"hour{i}", WEEK) for i in range(HOUR_BINS)),
        *((f"cat{i}", DAY) for i in range(len(CATEGORIES))),
        *((f"topic{i}", DAY) for i in range(TOPIC_BINS)),
        ("tools_24h", DAY),
        ("images_24h", DAY),
        ("json_24h", DAY),
        ("newmodel_24h", DAY),
        *((f"skel{i}", DAY) for i in range(SKETCH)),
    ),
)
KEY = Schema(
    "key",
    (("req_1m", MINUTE), ("req_1h", HOUR), ("tmpl_1h", HOUR), ("gap_n", HOUR), ("gap_sum", HOUR), ("gap_sq", HOUR)),
)
LINK = Schema("link", (("req_1m", MINUTE), ("req_1h", HOUR), ("req_24h", DAY), ("tmpl_24h", DAY)), stamps=STAMPS)
SCHEMAS: dict[str, Schema] = {s.name: s for s in (ACCOUNT, KEY, LINK)}

ACCOUNT_FEATURES: tuple[str, ...] = tuple(
    f"{n}_by_account"
    for n in (
        "requests_1m",
        "requests_1h",
        "requests_24h",
        "template_share_1h",
        "template_share_24h",
        "template_sim_mean_1h",
        "template_sim_mean_24h",
        "gap_log_mean",
        "gap_log_std",
        "hour_entropy_7d",
        "topic_entropy_24h",
        "topics_covered_24h",
        *(f"share_24h_{c}" for c in CATEGORIES),
        "tools_share_24h",
        "images_share_24h",
        "json_share_24h",
        "new_model_share_24h",
        "skeleton_reuse_24h",
        "skeleton_top_share_24h",
        "active_hours",
    )
)
KEY_FEATURES: tuple[str, ...] = (
    "requests_1m_by_key",
    "requests_1h_by_key",
    "template_share_1h_by_key",
    "gap_log_std_by_key",
)
CLUSTER_FEATURES: tuple[str, ...] = (
    "cluster_accounts_24h",
    "cluster_sync_accounts_1m",
    "cluster_requests_1h",
    "cluster_template_share_24h",
    "link_payment_accounts_24h",
    "link_ip_accounts_24h",
    "link_system_accounts_24h",
    "link_skeleton_accounts_24h",
)

_A = {name: ACCOUNT.slot(name) for name, _ in ACCOUNT.slots}
_K = {name: KEY.slot(name) for name, _ in KEY.slots}
_L = {name: LINK.slot(name) for name, _ in LINK.slots}
_HOURS = ACCOUNT.block("hour")
_CATS = ACCOUNT.block("cat")
_TOPICS = ACCOUNT.block("topic")
_SKEL = ACCOUNT.block("skel")


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
    has_tools: bool
    has_images: bool
    json_demand: bool
    skeleton: int  # stable hash of the prompt skeleton, or -1


def account_update(obs: Observation, model_mark: int | None = None) -> EntityUpdate:
    """The account's update; ``model_mark`` is the position of the request model's first-seen
    mark in the same store call (its share of requests to models younger than a day)."""
    inc: list[tuple[int, float]] = [
        (_A["req_1m"], 1.0),
        (_A["req_1h"], 1.0),
        (_A["req_24h"], 1.0),
        (_A["sim_1h"], obs.similarity),
        (_A["sim_24h"], obs.similarity),
        (_HOURS.start + int((obs.timestamp % DAY) // (DAY / HOUR_BINS)), 1.0),
    ]
    if obs.template_like:
        inc += [(_A["tmpl_1h"], 1.0), (_A["tmpl_24h"], 1.0)]
        if obs.category >= 0:
            inc.append((_CATS.start + obs.category, 1.0))
    if obs.topic >= 0:
        inc.append((_TOPICS.start + obs.topic, 1.0))
    for flag, name in ((obs.has_tools, "tools_24h"), (obs.has_images, "images_24h"), (obs.json_demand, "json_24h")):
        if flag:
            inc.append((_A[name], 1.0))
    if obs.skeleton >= 0:
        inc.append((_SKEL.start + obs.skeleton % SKETCH, 1.0))
    recent = (model_mark, _A["newmodel_24h"], DAY) if model_mark is not None else None
    return EntityUpdate(obs.timestamp, tuple(inc), recent_mark=recent)


def key_update(obs: Observation) -> EntityUpdate:
    inc = [(_K["req_1m"], 1.0), (_K["req_1h"], 1.0)]
    if obs.template_like:
        inc.append((_K["tmpl_1h"], 1.0))
    return EntityUpdate(obs.timestamp, tuple(inc))


def link_update(obs: Observation, account_id: str) -> EntityUpdate:
    inc = [(_L["req_1m"], 1.0), (_L["req_1h"], 1.0), (_L["req_24h"], 1.0)]
    if obs.template_like:
        inc.append((_L["tmpl_24h"], 1.0))
    return EntityUpdate(obs.timestamp, tuple(inc), stamp=stable_hash(account_id) % STAMPS)


def _gap_stats(v: list[float], gap: int) -> tuple[float, float]:
    n, s, sq = v[gap], v[gap + 1], v[gap + 2]
    if n < 0.5:
        return -1.0, -1.0
    mean = s / n
    return mean, math.sqrt(max(0.0, sq / n - mean * mean))


def account_features(state: np.ndarray, obs: Observation) -> list[float]:
    """ACCOUNT_FEATURES of a state just updated with ``obs``."""
    v = state.tolist()
    r1m, r1h, r24 = v[_A["req_1m"]], v[_A["req_1h"]], v[_A["req_24h"]]
    topics = v[_TOPICS]
    topic_total = math.fsum(topics)
    skel = v[_SKEL]
    skel_total = math.fsum(skel)
    own = v[_SKEL.start + obs.skeleton % SKETCH] - 1.0 if obs.skeleton >= 0 else 0.0
    tmpl24 = v[_A["tmpl_24h"]]
    mean, std = _gap_stats(v, _A["gap_n"])
    return [
        r1m,
        r1h,
        r24,
        v[_A["tmpl_1h"]] / r1h,
        tmpl24 / r24,
        v[_A["sim_1h"]] / r1h,
        v[_A["sim_24h"]] / r24,
        mean,
        std,
        entropy(v[_HOURS]),
        entropy(topics),
        float(sum(1 for c in topics if topic_total > 0 and c / topic_total >= 0.05)),
        *(c / r24 for c in v[_CATS]),
        v[_A["tools_24h"]] / r24,
        v[_A["images_24h"]] / r24,
        v[_A["json_24h"]] / r24,
        v[_A["newmodel_24h"]] / r24,
        max(0.0, own) / r24,
        max(skel) / skel_total if skel_total > 0 else 0.0,
        (v[LAST_T] - v[FIRST_T]) / 3600.0,
    ]


def key_features(state: np.ndarray) -> list[float]:
    v = state.tolist()
    r1h = v[_K["req_1h"]]
    return [v[_K["req_1m"]], r1h, v[_K["tmpl_1h"]] / r1h, _gap_stats(v, _K["gap_n"])[1]]


def cluster_features(links: dict[str, np.ndarray], now: float) -> list[float]:
    """CLUSTER_FEATURES from the states of a request's link values (kind -> state).

    The cluster is the rarest-but-shared value: among values behind 2..COMMON_ACCOUNTS distinct
    accounts in 24 h, the one with the most accounts. Per-kind account counts are reported raw.
    """
    per_kind = {kind: distinct_within(state, LINK, now, DAY) for kind, state in links.items()}
    best_kind, best_accounts = None, 0.0
    for kind, accounts in per_kind.items():
        if 1.5 <= accounts < COMMON_ACCOUNTS and accounts > best_accounts:
            best_kind, best_accounts = kind, accounts
    if best_kind is None:
        cluster = [0.0, 0.0, 0.0, 0.0]
    else:
        v = links[best_kind].tolist()
        cluster = [
            best_accounts,
            distinct_within(links[best_kind], LINK, now, MINUTE),
            v[_L["req_1h"]],
            v[_L["tmpl_24h"]] / v[_L["req_24h"]] if v[_L["req_24h"]] > 0 else 0.0,
        ]
    return cluster + [per_kind.get(k, 0.0) for k in ("payment", "ip", "system", "skeleton")]

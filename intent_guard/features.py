"""The feature registry: every feature the model sees, declared once.

Each :class:`Feature` says what it measures, why it indicates a distillation campaign and in
which direction (``+1``: higher means more campaign-like, ``-1``: lower does, ``0``: unknown), and
holds the function that computes it from a :class:`FeatureInputs`. The feature order
(:data:`FEATURE_NAMES`), the bundle manifest's contract, the groups used by ablations and the
LightGBM monotone constraints (:func:`monotone_constraints`) all derive from :data:`REGISTRY`, so a
name can never be paired with another feature's value.

Training replays logs through :class:`intent_guard.pipeline.FeaturePipeline`, which calls
:func:`feature_row`; serving calls the same function. There is no second implementation.

What is deliberately *not* a feature, and why (each was a shortcut of one generator):

* absolute account age and model novelty "since this process first saw it": both depend on when
  the store started and on the deployment, not on the caller (a fresh store makes every model new);
* request shape (message count, tool count, system prompt present, prompt length): honest IDE
  agents, RAG apps and support bots have every shape a campaign has, in no fixed direction;
* absolute counts of accounts behind a payment card, org, IP or system prompt: enterprise teams
  share a card, IDE products share a system prompt, universities share a NAT. Only what a cluster
  *does* (template share, synchronised bursts) is evidence;
* anything derived from an optional field's absence: a missing ``model``, ``client``, ``tools``
  or ``api_key_id`` must not move the probability.

Groups (for ablations): ``content`` (the request alone), ``session`` (its account's history),
``cluster`` (the link values it shares with other accounts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from .cues import CUE_NAMES
from .session.entities import AccountView, ClusterView
from .templates.similarity import CATEGORIES, SimilarityFeatures


@dataclass(frozen=True, slots=True)
class FeatureInputs:
    """Everything a feature may read for one request, after its session update."""

    sim: SimilarityFeatures
    cues: tuple[float, ...]  # CUE_NAMES order
    bounded: float  # 1.0 when the prompt bounds its answer (cues.bounded_output)
    account: AccountView
    cluster: ClusterView


@dataclass(frozen=True, slots=True)
class Feature:
    """One model input: its name, group, direction, the reason for it, and how it is computed."""

    name: str
    group: str
    direction: int
    why: str
    compute: Callable[[FeatureInputs], float]

    def __post_init__(self) -> None:
        if self.group not in ("content", "session", "cluster"):
            raise ValueError(f"feature {self.name}: group must be content, session or cluster, got {self.group!r}")
        if self.direction not in (-1, 0, 1):
            raise ValueError(f"feature {self.name}: direction must be -1, 0 or 1, got {self.direction!r}")
        if not self.why:
            raise ValueError(f"feature {self.name}: state why it indicates a campaign")


def _category_features() -> list[Feature]:
    out = []
    for i, c in enumerate(CATEGORIES):
        out.append(
            Feature(
                f"sim_max_{c}",
                "content",
                1,
                f"a sentence or window of the prompt is close to a known {c} extraction template",
                lambda x, i=i: float(x.sim.category_max[i]),
            )
        )
    for i, c in enumerate(CATEGORIES):
        out.append(
            Feature(
                f"sim_top3_{c}",
                "content",
                1,
                f"the prompt resembles several {c} templates at once, not one by chance",
                lambda x, i=i: float(x.sim.category_topk[i]),
            )
        )
    return out


def _cue_features() -> list[Feature]:
    return [
        Feature(
            f"cue_{name}",
            "content",
            1,
            f"the prompt's words ask for {name} output, what a distiller keeps",
            lambda x, i=i: x.cues[i],
        )
        for i, name in enumerate(CUE_NAMES)
    ]


def _account_category_features() -> list[Feature]:
    return [
        Feature(
            f"share_24h_{c}_by_account",
            "session",
            1,
            f"the account keeps sending {c}-like requests: a harvesting job, not a one-off ask",
            lambda x, i=i: x.account.category_share(i),
        )
        for i, c in enumerate(CATEGORIES)
    ]


REGISTRY: tuple[Feature, ...] = (
    *_category_features(),
    Feature(
        "sim_max_system",
        "content",
        1,
        "the system prompt itself carries an elicitation wrapper (a harness hiding it there)",
        lambda x: x.sim.system_max,
    ),
    *_cue_features(),
    Feature(
        "bounded_output",
        "content",
        -1,
        "the prompt bounds its answer to a label, a field or a few words or sentences, as production batch "
        "jobs do for parsing and cost; a distiller wants the long answer, so this is evidence against a campaign",
        lambda x: x.bounded,
    ),
    Feature(
        "requests_1m_by_account",
        "session",
        1,
        "harvesting needs volume: requests in the last minute",
        lambda x: x.account.requests_1m,
    ),
    Feature(
        "requests_1h_by_account",
        "session",
        1,
        "harvesting needs volume: requests in the last hour",
        lambda x: x.account.requests_1h,
    ),
    Feature(
        "requests_24h_by_account",
        "session",
        1,
        "harvesting needs volume: requests in the last day",
        lambda x: x.account.requests_24h,
    ),
    Feature(
        "template_share_1h_by_account",
        "session",
        1,
        "share of the account's recent requests that match an extraction template",
        lambda x: x.account.template_share_1h,
    ),
    Feature(
        "template_share_24h_by_account",
        "session",
        1,
        "share of the account's requests today that match an extraction template",
        lambda x: x.account.template_share_24h,
    ),
    Feature(
        "template_sim_mean_24h_by_account",
        "session",
        1,
        "how close the account's requests come to extraction templates on average",
        lambda x: x.account.similarity_mean_24h,
    ),
    Feature(
        "cue_share_24h_by_account",
        "session",
        1,
        "share of the account's requests that ask for reasoning, grades or structured records",
        lambda x: x.account.cue_share_24h,
    ),
    Feature(
        "template_requests_7d_by_account",
        "session",
        1,
        "template-like requests accumulated over a week: slow campaigns spread evidence over days",
        lambda x: x.account.template_requests_7d,
    ),
    Feature(
        "template_share_7d_by_account",
        "session",
        1,
        "share of the week's requests that match an extraction template",
        lambda x: x.account.template_share_7d,
    ),
    Feature(
        "cue_requests_7d_by_account",
        "session",
        1,
        "elicitation asks accumulated over a week (reasoning, grades, structured records)",
        lambda x: x.account.cue_requests_7d,
    ),
    Feature(
        "cue_share_7d_by_account",
        "session",
        1,
        "share of the week's requests that carry an elicitation ask",
        lambda x: x.account.cue_share_7d,
    ),
    Feature(
        "cue_kinds_7d_by_account",
        "session",
        1,
        "a harvest asks for several kinds of output (reasoning, grades, records, traces); a person asks one way",
        lambda x: x.account.cue_kinds_7d,
    ),
    Feature(
        "gap_log_mean_by_account",
        "session",
        -1,
        "short gaps between requests: a script, not a person reading answers (first request: a week)",
        lambda x: x.account.gap_log_mean,
    ),
    Feature(
        "hour_entropy_7d_by_account",
        "session",
        1,
        "activity spread over all hours of the day: round-the-clock harvesting, not a person's day",
        lambda x: x.account.hour_entropy,
    ),
    Feature(
        "topic_entropy_24h_by_account",
        "session",
        1,
        "coverage: a sweep spreads over many topics, a person or product stays on a few",
        lambda x: x.account.topic_entropy,
    ),
    Feature(
        "topics_covered_24h_by_account",
        "session",
        1,
        "coverage: number of topics holding at least 5% of the account's requests",
        lambda x: x.account.topics_covered,
    ),
    *_account_category_features(),
    Feature(
        "skeleton_reuse_24h_by_account",
        "session",
        1,
        "the same wrapper around changing content, request after request",
        lambda x: x.account.skeleton_reuse,
    ),
    Feature(
        "cluster_template_share_24h",
        "cluster",
        1,
        "the accounts sharing this request's rarest shared value send template-like traffic",
        lambda x: x.cluster.template_share_24h,
    ),
    Feature(
        "cluster_sync_accounts_1m",
        "cluster",
        1,
        "accounts behind one shared value firing in the same minute: a synchronised hydra cluster",
        lambda x: x.cluster.sync_accounts_1m,
    ),
    Feature(
        "cluster_template_requests_24h",
        "cluster",
        1,
        "template-like volume of the cluster as a whole, which splitting over accounts cannot hide",
        lambda x: x.cluster.template_requests_24h,
    ),
)

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in REGISTRY)
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    g: tuple(f.name for f in REGISTRY if f.group == g) for g in ("content", "session", "cluster")
}
if len(set(FEATURE_NAMES)) != len(FEATURE_NAMES):  # pragma: no cover - a programming error
    raise RuntimeError("duplicate feature names in the registry")
_COMPUTE = tuple(f.compute for f in REGISTRY)


def monotone_constraints(names: tuple[str, ...] | list[str] = FEATURE_NAMES) -> list[int]:
    """LightGBM ``monotone_constraints`` for the named features (registry directions)."""
    direction = {f.name: f.direction for f in REGISTRY}
    return [direction[n] for n in names]


def feature_row(inputs: FeatureInputs) -> np.ndarray:
    """One feature row (float32, FEATURE_NAMES order); non-finite values become 0."""
    return _finite_row([f(inputs) for f in _COMPUTE])


def _finite_row(values: list[float]) -> np.ndarray:
    """float32 row; non-finite values become 0."""
    row = np.array(values, dtype=np.float32)
    if not np.isfinite(row).all():
        row = np.nan_to_num(row, nan=0.0, posinf=0.0, neginf=0.0)
    return row


_CONTENT_COMPUTE = tuple(f.compute for f in REGISTRY if f.group == "content")


class _NoSessionState:
    """Stands in for the account and cluster views where only content features are computed."""

    def __getattr__(self, name: str) -> object:
        raise RuntimeError(f"a content feature read session state ({name!r}); content features must not")


def content_row(sim: SimilarityFeatures, cues: tuple[float, ...], bounded: float) -> np.ndarray:
    """The content features alone (float32, ``FEATURE_GROUPS["content"]`` order), computed by the
    same registry functions as :func:`feature_row`: they read the request and nothing else."""
    no_state = cast(Any, _NoSessionState())
    inputs = FeatureInputs(sim=sim, cues=cues, bounded=bounded, account=no_state, cluster=no_state)
    return _finite_row([f(inputs) for f in _CONTENT_COMPUTE])


def describe() -> list[dict[str, object]]:
    """The registry as plain data (name, group, direction, why), for manifests and reports."""
    return [{"name": f.name, "group": f.group, "direction": f.direction, "why": f.why} for f in REGISTRY]


__all__ = [
    "FEATURE_GROUPS",
    "FEATURE_NAMES",
    "REGISTRY",
    "Feature",
    "content_row",
    "FeatureInputs",
    "describe",
    "feature_row",
    "monotone_constraints",
]

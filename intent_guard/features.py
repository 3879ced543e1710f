"""The ordered feature contract shared by training and serving, and the functions that fill it.

Training replays logs through :class:`intent_guard.pipeline.FeaturePipeline`, which calls
:func:`request_features`; serving calls the same function. There is no second implementation.
Feature groups (for ablations): CONTENT (the request alone), SESSION (its account and key),
CLUSTER (the link values it shares with other accounts).
"""

from __future__ import annotations

import math

import numpy as np

from .session import ACCOUNT_FEATURES, CLUSTER_FEATURES, KEY_FEATURES
from .session.entities import MODEL_AGE_CAP_HOURS
from .templates.similarity import CATEGORIES, SimilarityFeatures
from .text import PromptParts
from .types import Request

CONTENT_FEATURES: tuple[str, ...] = (
    *(f"sim_max_{c}" for c in CATEGORIES),
    *(f"sim_top3_{c}" for c in CATEGORIES),
    "sim_max_user",
    "sim_max_system",
    "messages_log",
    "user_turns",
    "has_system_prompt",
    "tools_count",
    "images_count",
    "user_chars_log",
    "account_age_days",
    "model_age_hours",
)
SESSION_FEATURES: tuple[str, ...] = ACCOUNT_FEATURES + KEY_FEATURES
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "content": CONTENT_FEATURES,
    "session": SESSION_FEATURES,
    "cluster": CLUSTER_FEATURES,
}
FEATURE_NAMES: tuple[str, ...] = CONTENT_FEATURES + SESSION_FEATURES + CLUSTER_FEATURES


def message_counts(request: Request) -> tuple[int, int]:
    """(user turns, image parts) of a request, in one pass over its messages."""
    user_turns = images = 0
    for message in request.messages:
        user_turns += message.role == "user"
        if not isinstance(message.content, str):
            images += message.image_count()
    return user_turns, images


def content_features(
    request: Request,
    parts: PromptParts,
    sim: SimilarityFeatures,
    model_first_seen: float | None,
    counts: tuple[int, int],
) -> list[float]:
    """Features of the request alone (plus when its model first appeared), CONTENT_FEATURES order.

    ``counts`` is :func:`message_counts` of the request."""
    created = request.client.account_created_at
    age_days = -1.0 if created is None else max(0.0, (request.timestamp - created) / 86400.0)
    model_age = (
        -1.0
        if model_first_seen is None
        else min(MODEL_AGE_CAP_HOURS, max(0.0, request.timestamp - model_first_seen) / 3600.0)
    )
    user_turns, images = counts
    return [
        *sim.category_max.tolist(),
        *sim.category_topk.tolist(),
        sim.user_max,
        sim.system_max,
        math.log1p(len(request.messages)),
        float(user_turns),
        1.0 if parts.system_text else 0.0,
        float(len(request.tools)),
        float(images),
        math.log1p(parts.n_user_chars),
        age_days,
        model_age,
    ]


def assemble(content: list[float], account: list[float], key: list[float], cluster: list[float]) -> np.ndarray:
    """One feature row (float32, FEATURE_NAMES order)."""
    return np.asarray(content + account + key + cluster, dtype=np.float32)

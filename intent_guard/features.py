"""The ordered feature contract shared by training and serving, and the one function that fills it.

Training replays logs through :class:`intent_guard.guard.Guard`, which calls
:func:`request_features`; serving calls the same function. There is no second implementation.
"""

from __future__ import annotations

import math

import numpy as np

from .session.state import state_feature_names, state_features
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
)
ACCOUNT_FEATURES: tuple[str, ...] = tuple(f"{n}_by_account" for n in state_feature_names())
_KEY_STATE = ("requests_1m", "requests_1h", "template_share_1h", "gap_log_std")
KEY_FEATURES: tuple[str, ...] = tuple(f"{n}_by_key" for n in _KEY_STATE)
FEATURE_NAMES: tuple[str, ...] = CONTENT_FEATURES + ACCOUNT_FEATURES + KEY_FEATURES
_KEY_INDEX = tuple(state_feature_names().index(n) for n in _KEY_STATE)


def content_features(request: Request, parts: PromptParts, sim: SimilarityFeatures) -> list[float]:
    """Features of the request alone (no history), in CONTENT_FEATURES order."""
    created = request.client.account_created_at
    age_days = -1.0 if created is None else max(0.0, (request.timestamp - created) / 86400.0)
    user_turns = images = 0
    for message in request.messages:
        user_turns += message.role == "user"
        if not isinstance(message.content, str):
            images += message.image_count()
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
    ]


def request_features(
    request: Request,
    parts: PromptParts,
    sim: SimilarityFeatures,
    account_state: np.ndarray,
    key_state: np.ndarray,
) -> np.ndarray:
    """The full feature row (float32, FEATURE_NAMES order) after the request updated its states."""
    key_values = state_features(key_state)
    row = content_features(request, parts, sim) + state_features(account_state) + [key_values[i] for i in _KEY_INDEX]
    return np.asarray(row, dtype=np.float32)

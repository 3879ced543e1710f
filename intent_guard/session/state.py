"""Fixed-size streaming state of one entity (an account, an API key), updated per request.

The state is one float64 vector of ``STATE_SIZE`` numbers, so that it serialises to 8 x 47 bytes
and can live in any key-value store. Every statistic is updated with the *request's* timestamp,
never the wall clock, so replaying a log gives exactly the features live traffic gave.

Counters decay exponentially: at horizon ``h`` an event ``dt`` seconds old weighs
``exp(-dt / h)``, so ``requests_1h`` is the decayed number of requests of about the last hour.
Inter-arrival regularity is an exponentially weighted mean and variance of ``log1p(gap seconds)``
(machines are regular: low variance). Prompt diversity is ``1 - |decayed mean topic vector|``
over unit topic vectors: 0 when every prompt is on one topic, towards 1 when topics are spread.
Events that arrive out of order (older than the latest one seen) count with full weight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Decay horizons in seconds (1 min, 1 h, 24 h) and their names in feature names.
HORIZONS: tuple[float, ...] = (60.0, 3600.0, 86400.0)
HORIZON_NAMES: tuple[str, ...] = ("1m", "1h", "24h")
#: Horizons (indices into HORIZONS) that keep a topic-diversity vector.
DIVERSITY_HORIZONS: tuple[int, ...] = (1, 2)
TOPIC_DIM = 16
GAP_ALPHA = 0.1

LAST_T, FIRST_T, N_TOTAL = 0, 1, 2
_COUNTERS = 3  # count, template-like count, similarity sum per horizon
_HORIZON_BASE = 3
GAP_MEAN = _HORIZON_BASE + _COUNTERS * len(HORIZONS)
GAP_VAR = GAP_MEAN + 1
GAP_N = GAP_MEAN + 2
_TOPIC_BASE = GAP_N + 1
STATE_SIZE = _TOPIC_BASE + TOPIC_DIM * len(DIVERSITY_HORIZONS)


@dataclass(frozen=True, slots=True)
class Event:
    """What one request contributes to an entity's state."""

    timestamp: float
    template_like: bool
    similarity: float
    topic: np.ndarray  # unit vector, TOPIC_DIM floats (zero when the prompt is empty)


def new_state() -> np.ndarray:
    return np.zeros(STATE_SIZE, dtype=np.float64)


_HORIZON_ARRAY = np.asarray(HORIZONS, dtype=np.float64)
_COUNTER_SLICE = slice(_HORIZON_BASE, _HORIZON_BASE + _COUNTERS * len(HORIZONS))
_TOPIC_SLICE = slice(_TOPIC_BASE, STATE_SIZE)
_DIVERSITY_INDEX = np.asarray(DIVERSITY_HORIZONS)


def update_state(state: np.ndarray | None, event: Event) -> np.ndarray:
    """Return the state after ``event`` (a new array; ``state`` is left unchanged)."""
    out = new_state() if state is None else state.copy()
    t = event.timestamp
    first = out[N_TOTAL] == 0
    gap = 0.0 if first else max(0.0, t - out[LAST_T])
    if first:
        out[FIRST_T] = out[LAST_T] = t
    decays = np.exp(-gap / _HORIZON_ARRAY)
    counters = out[_COUNTER_SLICE].reshape(len(HORIZONS), _COUNTERS)
    counters *= decays[:, None]
    counters += (1.0, 1.0 if event.template_like else 0.0, event.similarity)
    topics = out[_TOPIC_SLICE].reshape(len(DIVERSITY_HORIZONS), TOPIC_DIM)
    topics *= decays[_DIVERSITY_INDEX][:, None]
    topics += event.topic
    if not first:
        x = math.log1p(gap)
        if out[GAP_N] == 0:
            out[GAP_MEAN], out[GAP_VAR] = x, 0.0
        else:
            delta = x - out[GAP_MEAN]
            out[GAP_MEAN] += GAP_ALPHA * delta
            out[GAP_VAR] = (1.0 - GAP_ALPHA) * (out[GAP_VAR] + GAP_ALPHA * delta * delta)
        out[GAP_N] += 1
    out[LAST_T] = max(out[LAST_T], t)
    out[N_TOTAL] += 1
    return out


def state_feature_names() -> tuple[str, ...]:
    """Names of :func:`state_features`' values, in order (without the entity suffix)."""
    names = [f"requests_{n}" for n in HORIZON_NAMES]
    names += [f"template_share_{HORIZON_NAMES[h]}" for h in (1, 2)]
    names += [f"template_sim_mean_{HORIZON_NAMES[h]}" for h in (1, 2)]
    names += ["gap_log_mean", "gap_log_std"]
    names += [f"diversity_{HORIZON_NAMES[h]}" for h in DIVERSITY_HORIZONS]
    names += ["active_hours"]
    return tuple(names)


def state_features(state: np.ndarray) -> list[float]:
    """The features of a state, in the order of :func:`state_feature_names`.

    ``gap_log_*`` are -1 until the entity has made two requests.
    """
    v = state.tolist()  # plain floats: cheaper than numpy scalars for a few dozen operations
    counts = [v[_HORIZON_BASE + _COUNTERS * h] for h in range(len(HORIZONS))]
    values = list(counts)
    for h in (1, 2):
        values.append(v[_HORIZON_BASE + _COUNTERS * h + 1] / counts[h] if counts[h] > 0 else 0.0)
    for h in (1, 2):
        values.append(v[_HORIZON_BASE + _COUNTERS * h + 2] / counts[h] if counts[h] > 0 else 0.0)
    if v[GAP_N] > 0:
        values += [v[GAP_MEAN], math.sqrt(max(0.0, v[GAP_VAR]))]
    else:
        values += [-1.0, -1.0]
    for j, h in enumerate(DIVERSITY_HORIZONS):
        start = _TOPIC_BASE + TOPIC_DIM * j
        resultant = math.sqrt(math.fsum(x * x for x in v[start : start + TOPIC_DIM]))
        values.append(1.0 - resultant / counts[h] if counts[h] > 0 else 0.0)
    values.append((v[LAST_T] - v[FIRST_T]) / 3600.0)
    return values

"""Streaming state: incremental updates equal a batch recomputation; stores are bounded and safe."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intent_guard.session import HORIZONS, TOPIC_DIM, Event, MemoryStore, state_features, update_state
from intent_guard.session.state import state_feature_names


def _event(t: float, flag: bool, sim: float, seed: int) -> Event:
    topic = np.random.default_rng(seed).normal(size=TOPIC_DIM)
    return Event(timestamp=t, template_like=flag, similarity=sim, topic=topic / np.linalg.norm(topic))


def batch_features(events: list[Event]) -> dict[str, float]:
    """The same statistics recomputed from the whole event list (events in time order)."""
    t_now = events[-1].timestamp
    out: dict[str, float] = {}
    weights = {h: np.array([math.exp(-(t_now - e.timestamp) / h) for e in events]) for h in HORIZONS}
    for h, name in zip(HORIZONS, ("1m", "1h", "24h"), strict=True):
        out[f"requests_{name}"] = float(weights[h].sum())
    for h, name in ((HORIZONS[1], "1h"), (HORIZONS[2], "24h")):
        w = weights[h]
        out[f"template_share_{name}"] = float((w * [e.template_like for e in events]).sum() / w.sum())
        out[f"template_sim_mean_{name}"] = float((w * [e.similarity for e in events]).sum() / w.sum())
        resultant = (w[:, None] * np.stack([e.topic for e in events])).sum(axis=0)
        out[f"diversity_{name}"] = 1.0 - float(np.linalg.norm(resultant)) / float(w.sum())
    out["active_hours"] = (t_now - events[0].timestamp) / 3600.0
    gaps = [math.log1p(b.timestamp - a.timestamp) for a, b in zip(events, events[1:], strict=False)]
    if gaps:
        mean, var = gaps[0], 0.0
        for x in gaps[1:]:
            delta = x - mean
            mean += 0.1 * delta
            var = 0.9 * (var + 0.1 * delta * delta)
        out["gap_log_mean"], out["gap_log_std"] = mean, math.sqrt(var)
    else:
        out["gap_log_mean"] = out["gap_log_std"] = -1.0
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 7200), st.booleans(), st.floats(0, 1)), min_size=1, max_size=40))
def test_incremental_equals_batch(steps: list[tuple[float, bool, float]]) -> None:
    t = 1_769_904_000.0
    events = []
    state = None
    for i, (gap, flag, sim) in enumerate(steps):
        t += gap
        events.append(_event(t, flag, sim, i))
        state = update_state(state, events[-1])
    expected = batch_features(events)
    got = dict(zip(state_feature_names(), state_features(state), strict=True))
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-6, abs=1e-6), name


def test_update_does_not_mutate_its_input() -> None:
    first = update_state(None, _event(10.0, True, 0.5, 0))
    before = first.copy()
    update_state(first, _event(20.0, False, 0.1, 1))
    assert np.array_equal(first, before)


def test_state_round_trips_through_bytes() -> None:
    state = update_state(update_state(None, _event(10.0, True, 0.5, 0)), _event(70.0, False, 0.2, 1))
    restored = np.frombuffer(state.tobytes(), dtype=np.float64)
    assert state_features(restored) == state_features(state)


def test_memory_store_caps_entities_under_a_flood() -> None:
    store = MemoryStore(max_entities=100, ttl_seconds=1e9)
    for i in range(5000):
        store.apply([(f"a:{i}", _event(1e9 + i, False, 0.0, 0))])
    assert len(store) == 100
    assert store.evicted == 4900
    assert store.get("a:4999") is not None and store.get("a:0") is None


def test_memory_store_forgets_idle_entities_in_request_time() -> None:
    store = MemoryStore(max_entities=10, ttl_seconds=100.0)
    store.apply([("a:old", _event(1000.0, True, 0.9, 0))])
    store.apply([("a:new", _event(1200.0, False, 0.0, 0))])
    assert store.get("a:old") is None  # expired: 200 s idle > 100 s TTL
    (state,) = store.apply([("a:old", _event(1300.0, False, 0.0, 0))])
    assert state_features(state)[0] == 1.0  # started afresh


def test_memory_store_is_atomic_across_threads() -> None:
    store = MemoryStore()

    def work() -> None:
        for _ in range(500):
            store.apply([("a:shared", _event(1e9, False, 0.0, 0))])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state = store.get("a:shared")
    assert state is not None and state[2] == 4000  # N_TOTAL: no lost updates

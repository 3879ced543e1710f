"""Streaming state: incremental updates equal a batch recomputation; stores are bounded and safe."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intent_guard.session import (
    ACCOUNT,
    KEY,
    LINK,
    AccountView,
    ClusterView,
    EntityUpdate,
    MemoryStore,
    Observation,
    update_state,
)
from intent_guard.session.entities import NO_GAP_LOG, account_update, link_update
from intent_guard.session.state import META, Schema, distinct_within, entropy

SCHEMA = Schema(
    "test", (("a", 60.0), ("b", 3600.0), ("gap_n", 3600.0), ("gap_sum", 3600.0), ("gap_sq", 3600.0)), stamps=8
)


def batch_state(events: list[tuple[float, tuple[tuple[int, float], ...], int]]) -> np.ndarray:
    """The state recomputed from the whole event list (in time order) by direct sums."""
    t_now = events[-1][0]
    out = np.zeros(SCHEMA.size)
    out[0], out[1], out[2] = t_now, events[0][0], len(events)
    horizons = SCHEMA.horizons
    for j, (t, increments, stamp) in enumerate(events):
        weight = np.exp(-(t_now - t) / horizons)
        for index, amount in increments:
            out[index] += amount * weight[index - META]
        if j > 0:
            x = math.log1p(t - events[j - 1][0])
            gap = SCHEMA.gap_slot
            for k, value in enumerate((1.0, x, x * x)):
                out[gap + k] += value * weight[gap + k - META]
        if stamp >= 0:
            out[SCHEMA.stamp_start + stamp] = max(out[SCHEMA.stamp_start + stamp], t)
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 7200), st.floats(0, 1), st.integers(-1, 7)), min_size=1, max_size=40))
def test_incremental_equals_batch(steps: list[tuple[float, float, int]]) -> None:
    t = 1_769_904_000.0
    events, state = [], None
    for gap, amount, stamp in steps:
        t += gap
        event = (t, ((META, 1.0), (META + 1, amount)), stamp)
        events.append(event)
        state = update_state(SCHEMA, state, EntityUpdate(*event))
    np.testing.assert_allclose(state, batch_state(events), rtol=1e-9, atol=1e-9)


def test_update_does_not_mutate_its_input_and_round_trips_through_bytes() -> None:
    first = update_state(KEY, None, EntityUpdate(10.0, ((META, 1.0),)))
    before = first.copy()
    second = update_state(KEY, first, EntityUpdate(70.0, ((META, 1.0),)))
    assert np.array_equal(first, before)
    restored = np.frombuffer(second.tobytes(), dtype=np.float64)
    assert np.array_equal(restored, second)


def test_state_sizes_fit_the_memory_budget() -> None:
    # the account (its evidence included; the pipeline keeps no per-key state) stays far below 1 KiB
    assert ACCOUNT.size * 8 <= 640


def test_distinct_accounts_by_linear_counting() -> None:
    state = None
    for i in range(20):
        obs = Observation(1e9 + i, False, 0.0, -1, -1, False, -1)
        state = update_state(LINK, state, link_update(obs, f"acct-{i}"))
    estimate = distinct_within(state, LINK, 1e9 + 20, 86400.0)
    assert 15 <= estimate <= 26
    assert distinct_within(state, LINK, 1e9 + 20, 5.0) <= 8  # only the last few in the last 5 s


def test_cluster_is_the_most_template_like_shared_value_whatever_its_size() -> None:
    common = None
    for i in range(500):  # a NAT or a popular IDE prompt: hundreds of honest accounts
        obs = Observation(1e9 + i, False, 0.0, -1, -1, False, -1)
        common = update_state(LINK, common, link_update(obs, f"user-{i}"))
    rare = None
    for i in range(6):  # a hydra cluster on one card, firing together
        obs = Observation(1e9 + 499, True, 0.9, 0, -1, True, -1)
        rare = update_state(LINK, rare, link_update(obs, f"fake-{i}"))
    cluster = ClusterView({"ip": common, "payment": rare}, 1e9 + 499)
    assert cluster.template_share_24h == pytest.approx(1.0)  # the card's traffic, not the NAT's
    assert 4 <= cluster.sync_accounts_1m <= 9  # six accounts in the same minute
    assert cluster.template_requests_24h == pytest.approx(6.0)
    honest = ClusterView({"ip": common}, 1e9 + 499)
    assert honest.template_share_24h == 0.0 and honest.template_requests_24h == 0.0


def test_a_value_of_one_account_is_no_cluster() -> None:
    alone = None
    for i in range(50):
        obs = Observation(1e9 + i, True, 0.9, 0, -1, True, -1)
        alone = update_state(LINK, alone, link_update(obs, "only-me"))
    cluster = ClusterView({"payment": alone}, 1e9 + 50)
    assert (cluster.template_share_24h, cluster.sync_accounts_1m, cluster.template_requests_24h) == (0.0, 0.0, 0.0)


def test_account_view_is_finite_and_shares_bounded() -> None:
    state = None
    obs = Observation(1e9, True, 0.7, 0, 0, True, 12345)
    assert AccountView(update_state(ACCOUNT, None, account_update(obs)), obs).gap_log_mean == NO_GAP_LOG
    for i in range(32):  # two requests per topic
        obs = Observation(1e9 + 3 * i, i % 2 == 0, 0.7, 0, i % 16, i % 3 == 0, 12345)
        state = update_state(ACCOUNT, state, account_update(obs))
    view = AccountView(state, obs)
    shares = (view.template_share_1h, view.template_share_24h, view.template_share_7d, view.cue_share_24h)
    assert all(0.0 <= v <= 1.0 for v in (*shares, view.cue_share_7d, view.skeleton_reuse, view.category_share(0)))
    assert view.template_share_24h == pytest.approx(0.5, abs=0.02)
    assert view.cue_share_7d == pytest.approx(1 / 3, abs=0.02)
    assert 0.0 < view.gap_log_mean < math.log1p(4.0)  # 3 s gaps
    assert view.topics_covered == 16
    assert entropy([1, 1, 1, 1]) == pytest.approx(math.log(4))


def test_memory_store_caps_entities_under_a_flood() -> None:
    store = MemoryStore(max_entities=100, ttl_seconds=1e9)
    for i in range(5000):
        store.apply([(f"a:{i}", KEY, EntityUpdate(1e9 + i, ((META, 1.0),)))])
    assert len(store) == 100
    assert store.evicted == 4900
    assert store.get("a:4999") is not None and store.get("a:0") is None


def test_memory_store_forgets_idle_entities_in_request_time() -> None:
    store = MemoryStore(max_entities=10, ttl_seconds=100.0)
    store.apply([("a:old", KEY, EntityUpdate(1000.0, ((META, 1.0),)))])
    store.apply([("a:new", KEY, EntityUpdate(1200.0, ((META, 1.0),)))])
    (state,), _ = store.apply([("a:old", KEY, EntityUpdate(1300.0, ((META, 1.0),)))])
    assert state[2] == 1 and store.expired == 1  # 300 s idle > 100 s TTL: started afresh


def test_a_far_future_request_expires_nobody_else() -> None:
    store = MemoryStore(max_entities=10, ttl_seconds=100.0)
    store.apply([("a:bystander", KEY, EntityUpdate(1000.0, ((META, 1.0),)))])
    store.apply([("a:attacker", KEY, EntityUpdate(4_000_000_000.0, ((META, 1.0),)))])
    (state,), _ = store.apply([("a:bystander", KEY, EntityUpdate(1010.0, ((META, 1.0),)))])
    assert state[2] == 2 and store.expired == 0


def test_memory_store_is_atomic_across_threads() -> None:
    store = MemoryStore()

    def work() -> None:
        for _ in range(500):
            store.apply([("a:shared", KEY, EntityUpdate(1e9, ((META, 1.0),)))])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state = store.get("a:shared")
    assert state is not None and state[2] == 4000  # N_TOTAL: no lost updates

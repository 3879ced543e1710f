"""One contract for every SessionStore, run over the memory store and a real Redis: round trip,
expiry in request time, far-future isolation, atomicity, bounded keys, and identical verdicts on
a replayed log."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from intent_guard.session import ACCOUNT, KEY, LINK, EntityUpdate, MemoryStore, SessionStore
from intent_guard.session.state import META, N_TOTAL

from .conftest import DEFAULT_BUNDLE

TTL = 3600.0


def _redis_available() -> bool:
    try:
        import redis  # noqa: F401
    except ImportError:
        return False
    return shutil.which("redis-server") is not None


@pytest.fixture(params=["memory", "redis"])
def make_store(request) -> Iterator:
    """A factory of fresh, empty stores of one kind (each with its own key prefix)."""
    if request.param == "memory":
        yield lambda: MemoryStore(ttl_seconds=TTL)
        return
    if not _redis_available():
        if os.environ.get("INTENT_GUARD_REQUIRE_REDIS"):
            pytest.fail("redis-server is not installed but INTENT_GUARD_REQUIRE_REDIS is set")
        pytest.skip("the Redis half of the contract needs redis-server and the 'redis' extra")
    from intent_guard.session.redis_store import RedisStore

    from .test_redis import _free_port, start_redis

    port = _free_port()
    process = start_redis(port)
    made = iter(range(1_000_000))
    try:
        yield lambda: RedisStore(f"redis://127.0.0.1:{port}/0", prefix=f"c{next(made)}:", ttl_seconds=TTL)
    finally:
        process.kill()
        process.wait()


def bump(key: str, t: float, schema=KEY) -> tuple[str, object, EntityUpdate]:  # noqa: ANN001
    return (key, schema, EntityUpdate(t, ((META, 1.0),)))


def test_round_trip(make_store) -> None:
    store: SessionStore = make_store()
    (state,), degraded = store.apply([bump("a:x", 1000.0, ACCOUNT)])
    assert not degraded
    np.testing.assert_array_equal(store.get("a:x"), state)
    assert store.get("a:missing") is None


def test_one_call_updates_every_entity_in_order(make_store) -> None:
    store = make_store()
    states, _ = store.apply([bump("a:1", 10.0, ACCOUNT), bump("l:1", 10.0, LINK), bump("a:1", 10.0, ACCOUNT)])
    assert [s[N_TOTAL] for s in states] == [1.0, 1.0, 2.0]


def test_idle_longer_than_the_ttl_in_request_time_starts_afresh(make_store) -> None:
    store = make_store()
    store.apply([bump("a:old", 1000.0)])
    (state,), _ = store.apply([bump("a:old", 1000.0 + TTL + 1)])
    assert state[N_TOTAL] == 1.0
    (state,), _ = store.apply([bump("a:old", 1000.0 + TTL + 2)])
    assert state[N_TOTAL] == 2.0


def test_a_far_future_request_expires_nobody_else(make_store) -> None:
    store = make_store()
    store.apply([bump("a:bystander", 1000.0)])
    store.apply([bump("a:attacker", 4_000_000_000.0)])
    (state,), _ = store.apply([bump("a:bystander", 1010.0)])
    assert state[N_TOTAL] == 2.0


def test_concurrent_updates_are_not_lost(make_store) -> None:
    store = make_store()

    def work() -> None:
        for _ in range(100):
            store.apply([bump("a:shared", 1e9)])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get("a:shared")[N_TOTAL] == 800


def test_what_is_kept_is_bounded(make_store) -> None:
    """Memory: at most max_entities states. Redis: every key carries an expiry."""
    store = make_store()
    if isinstance(store, MemoryStore):
        capped = MemoryStore(max_entities=50, ttl_seconds=TTL)
        for i in range(500):
            capped.apply([bump(f"a:{i}", 1e9 + i)])
        assert len(capped) == 50
        return
    store.apply([bump("a:x", 1e9), bump("l:y", 1e9, LINK)])
    for key in ("a:x", "l:y"):
        assert 0 < store.client.ttl(store.prefix + key) <= TTL


def test_replayed_verdicts_equal_the_memory_store(make_store) -> None:
    from intent_guard import Guard

    from .test_redis import traffic

    records = traffic(60)
    reference = [v.to_dict() for v in Guard.load(DEFAULT_BUNDLE).score_many(records)]
    guard = Guard.load(DEFAULT_BUNDLE, store=make_store())
    got = [guard.score(r).to_dict() for r in records]
    assert [g["decision"] for g in got] == [r["decision"] for r in reference]
    assert [g["reasons"] for g in got] == [r["reasons"] for r in reference]
    np.testing.assert_allclose([g["probability"] for g in got], [r["probability"] for r in reference], atol=1e-6)
    np.testing.assert_allclose([g["account_score"] for g in got], [r["account_score"] for r in reference], atol=1e-6)


def test_forget_drops_one_state_and_nothing_else(make_store) -> None:
    store: SessionStore = make_store()
    store.apply([bump("a:1", 10.0), bump("a:2", 10.0)])
    assert store.forget("a:1") is True
    assert store.get("a:1") is None and store.get("a:2") is not None
    assert store.forget("a:1") is False  # nothing left to drop
    (state,), _ = store.apply([bump("a:1", 20.0)])
    assert state[N_TOTAL] == 1.0  # it starts afresh

"""The Redis store, against a real redis-server: Lua == Python, atomicity, two-process parity, faults."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from intent_guard.session import ACCOUNT, KEY, LINK, EntityUpdate, MemoryStore

from .conftest import DEFAULT_BUNDLE, ROOT, make_request

pytest.importorskip("redis", reason="the Redis store needs the 'redis' extra")
from intent_guard.session.redis_store import RedisStore  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(port: int) -> subprocess.Popen:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("INTENT_GUARD_REQUIRE_REDIS"):
            pytest.fail("redis-server is not installed but INTENT_GUARD_REQUIRE_REDIS is set (.ci/run installs it)")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.05)
    process.kill()
    pytest.fail("redis-server did not start")


@pytest.fixture()
def redis_url():
    port = _free_port()
    process = start_redis(port)
    yield f"redis://127.0.0.1:{port}/0"
    process.kill()
    process.wait()


def random_updates(rng: np.random.Generator, n: int) -> list[list]:
    batches, t = [], 1_769_904_000.0
    for _ in range(n):
        t += float(rng.exponential(120.0))
        account = int(rng.integers(3))
        batch = []
        for key, schema in ((f"a:{account}", ACCOUNT), (f"k:{account}", KEY), (f"l:{rng.integers(2)}", LINK)):
            slots = rng.choice(np.arange(3, 3 + len(schema.slots)), size=3, replace=False)
            increments = tuple((int(i), float(rng.random())) for i in slots)
            stamp = int(rng.integers(schema.stamps)) if schema.stamps else -1
            batch.append((key, schema, EntityUpdate(t, increments, stamp)))
        batches.append(batch)
    return batches


def test_lua_update_equals_python(redis_url: str) -> None:
    rng = np.random.default_rng(0)
    remote, local = RedisStore(redis_url), MemoryStore()
    for batch in random_updates(rng, 200):
        r = remote.apply(batch)
        m = local.apply(batch)
        assert not r.degraded
        for a, b in zip(r.states, m.states, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert remote.client.ttl("ig:a:0") > 0  # keys expire


def test_concurrent_updates_are_not_lost(redis_url: str) -> None:
    store = RedisStore(redis_url)
    update = EntityUpdate(1_769_904_000.0, ((3, 1.0),))

    def work() -> None:
        for _ in range(200):
            store.apply([("a:shared", ACCOUNT, update)])

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state = store.get("a:shared")
    assert state is not None and state[2] == 1200  # N_TOTAL


WORKER = r"""
import json, sys, time, redis
from intent_guard import Guard
from intent_guard.session.redis_store import RedisStore
url, bundle, path, me, n_workers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
records = [json.loads(line) for line in open(path)]
guard = Guard.load(bundle, store=RedisStore(url, prefix="ig:"))
turn = redis.Redis.from_url(url)
out = {}
for i, record in enumerate(records):
    if i % n_workers != me:
        continue
    while int(turn.get("turn") or 0) != i:  # take turns in time order: each request sees all before it
        time.sleep(0.0005)
    out[record["request_id"]] = guard.score(record).to_dict()
    turn.incr("turn")
print(json.dumps(out))
"""


def traffic(n: int = 120) -> list[dict]:
    rng = np.random.default_rng(3)
    records = []
    for i in range(n):
        account = f"acct-{int(rng.integers(6))}"
        harvest = account in ("acct-0", "acct-1")
        text = (
            f"Solve the following problem and show every intermediate step of your reasoning: {i} * 7"
            if harvest
            else f"any ideas for a birthday present for someone who likes {i % 5} things?"
        )
        client = {"payment_fingerprint": "pm_shared" if harvest else f"pm_{account}", "ip": f"10.0.{i % 3}.5"}
        records.append(
            make_request(
                i,
                account=account,
                t=1_769_904_000.0 + i * 4.0,
                text=text,
                client=client,
                model="model-a" if i < 60 else "model-b",
            )
        )
    return records


def run_workers(url: str, log: Path, n_workers: int) -> dict:
    import redis

    redis.Redis.from_url(url).flushall()
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(DEFAULT_BUNDLE), str(log), str(k), str(n_workers)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for k in range(n_workers)
    ]
    merged: dict = {}
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-2000:]
        merged.update(json.loads(out.strip().splitlines()[-1]))
    return merged


def test_two_processes_share_one_picture(redis_url: str, tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in traffic()))
    single = run_workers(redis_url, log, 1)
    double = run_workers(redis_url, log, 2)
    assert single == double
    assert len(single) == 120


def test_unreachable_redis_degrades_then_recovers(tmp_path: Path) -> None:
    from intent_guard import Guard

    port = _free_port()
    store = RedisStore(f"redis://127.0.0.1:{port}/0", retry_seconds=0.0)
    guard = Guard.load(DEFAULT_BUNDLE, store=store)
    verdict = guard.score(make_request(0))
    assert any(r.kind == "degraded" for r in verdict.reasons)
    assert store.fallbacks == 2 and store.degraded  # two store calls per request: session, then account evidence
    process = start_redis(port)
    try:
        verdict = guard.score(make_request(1, t=1_769_904_010.0))
        assert not any(r.kind == "degraded" for r in verdict.reasons)
        assert not store.degraded
    finally:
        process.kill()
        process.wait()


def test_account_decisions_are_identical_through_memory_and_redis(redis_url: str) -> None:
    """A replayed log through the memory store and through Redis: the same account scores and the
    same decisions (thresholds lowered so that review and block both occur)."""
    from intent_guard import Guard, GuardConfig

    config = GuardConfig(review_threshold=0.2, block_threshold=0.35, request_review_threshold=0.9)
    memory = Guard.load(DEFAULT_BUNDLE, config=config)
    shared = Guard.load(DEFAULT_BUNDLE, config=config, store=RedisStore(redis_url, prefix="parity:"))
    records = traffic(120)
    ours = memory.score_many(records)
    theirs = [shared.score(r) for r in records]
    assert [v.decision for v in ours] == [v.decision for v in theirs]
    assert {v.decision for v in ours} == {"allow", "review", "block"}
    np.testing.assert_allclose([v.account_score for v in ours], [v.account_score for v in theirs], atol=1e-9)
    assert [v.reasons for v in ours] == [v.reasons for v in theirs]


def _degraded(verdict) -> bool:  # noqa: ANN001
    return any(r.kind == "degraded" for r in verdict.reasons)


def test_store_faults_fall_back_to_local_state_and_recover(redis_url: str) -> None:
    """A WRONGTYPE key in the account's place, maxmemory reached, the script cache flushed: every
    call is answered, degraded where Redis refused, and recovers without a restart."""
    import redis as redis_lib

    from intent_guard import Guard

    admin = redis_lib.Redis.from_url(redis_url)
    store = RedisStore(redis_url, prefix="faults:", retry_seconds=0.0)
    guard = Guard.load(DEFAULT_BUNDLE, store=store)
    assert not _degraded(guard.score(make_request(0, account="victim")))

    admin.delete("faults:a:victim")
    admin.rpush("faults:a:victim", "planted")  # WRONGTYPE for the Lua script's GET
    assert _degraded(guard.score(make_request(1, account="victim", t=1_769_904_010.0)))
    assert store.degraded
    admin.delete("faults:a:victim")
    assert not _degraded(guard.score(make_request(2, account="victim", t=1_769_904_020.0)))

    admin.script_flush()  # NOSCRIPT: redis-py loads the script again
    assert not _degraded(guard.score(make_request(3, account="victim", t=1_769_904_030.0)))

    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", 1)  # every write is now refused with OOM
    try:
        assert _degraded(guard.score(make_request(4, account="other", t=1_769_904_040.0)))
    finally:
        admin.config_set("maxmemory", 0)
    assert not _degraded(guard.score(make_request(5, account="other", t=1_769_904_050.0)))
    assert store.fallbacks >= 2


def test_readiness_reports_a_store_that_refuses_writes(redis_url: str) -> None:
    import redis as redis_lib
    from fastapi.testclient import TestClient

    from intent_guard import Guard
    from intent_guard.server import ServerConfig, create_app

    admin = redis_lib.Redis.from_url(redis_url)
    guard = Guard.load(DEFAULT_BUNDLE, store=RedisStore(redis_url, prefix="ready:", retry_seconds=60.0))
    client = TestClient(create_app(guard, ServerConfig(budget_ms=5000)))
    assert client.get("/readyz").json()["status"] == "ready"
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", 1)
    try:
        response = client.post("/v1/score", json=make_request(0))
        assert response.status_code == 200 and response.json()["reasons"][-1]["kind"] == "degraded"
        assert client.get("/readyz").json()["status"] == "degraded"
    finally:
        admin.config_set("maxmemory", 0)


def test_forget_command_resets_an_account_in_the_shared_store(redis_url: str, capsys) -> None:
    from intent_guard.cli import main
    from intent_guard.session.entities import account_key

    store = RedisStore(redis_url)
    store.apply([(account_key("org:acme"), ACCOUNT, EntityUpdate(1.0, ((0, 1.0),)))])
    assert main(["forget", "org:acme", "--redis", redis_url]) == 0
    assert "it had state: True" in capsys.readouterr().out
    assert store.get(account_key("org:acme")) is None
    assert main(["forget", "org:acme", "--redis", "redis://127.0.0.1:1/0"]) != 0  # unreachable: an error, not a lie
    assert "could not reset" in capsys.readouterr().err


def test_deep_evidence_decisions_are_identical_through_memory_and_redis(redis_url: str) -> None:
    """The same replay with a synchronous deep analyser (deep probability set per account): the deep
    evidence, read and written through either store, gives the same decisions and reasons."""
    from .test_deep_analysis import deep_guard

    class PerAccountDeep:
        def score(self, request) -> float:  # noqa: ANN001
            return 0.95 if request.account_id in ("acct-0", "acct-2") else 0.05

    runs = []
    for store in (MemoryStore(), RedisStore(redis_url, prefix="deep-parity:")):
        guard, _ = deep_guard(PerAccountDeep(), store=store)
        runs.append([guard.score(r) for r in traffic(80)])
    ours, theirs = runs
    assert [v.decision for v in ours] == [v.decision for v in theirs]
    assert {v.decision for v in ours} >= {"allow", "block"}
    assert [v.reasons for v in ours] == [v.reasons for v in theirs]

"""The live sidecar fuzzed as in ``test_api_fuzz.py``, with its state in Redis (a file of its own so
that the two long fuzzing runs go to different test workers)."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="the sidecar needs the 'server' extra")
pytest.importorskip("schemathesis", reason="API fuzzing needs schemathesis (the 'dev' extra)")
pytest.importorskip("uvicorn", reason="the live sidecar needs uvicorn (the 'server' extra)")

from intent_guard import Guard  # noqa: E402

from .conftest import DEFAULT_BUNDLE  # noqa: E402
from .test_api_fuzz import SCORE_CALLS, _live, fuzz  # noqa: E402


def test_fuzzed_calls_never_get_a_server_error_with_redis() -> None:
    pytest.importorskip("redis", reason="the Redis store needs the 'redis' extra")
    from intent_guard.session.redis_store import RedisStore

    from .test_redis import _free_port as redis_port
    from .test_redis import start_redis

    port = redis_port()
    process = start_redis(port)
    try:
        guard = Guard.load(DEFAULT_BUNDLE, store=RedisStore(f"redis://127.0.0.1:{port}/0"))
        for base_url in _live(guard):
            counts = fuzz(base_url)
            assert counts["server_errors"] == 0 and counts["calls"] >= SCORE_CALLS, counts
    finally:
        process.kill()
        process.wait()

"""The live sidecar, fuzzed from its own OpenAPI document (schemathesis): no server error over
thousands of generated calls, valid and invalid, with the memory store (with Redis:
``test_api_fuzz_redis.py``, a file of its own so that the two long runs go to different test
workers)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

pytest.importorskip("fastapi", reason="the sidecar needs the 'server' extra")
schemathesis = pytest.importorskip("schemathesis", reason="API fuzzing needs schemathesis (the 'dev' extra)")
uvicorn = pytest.importorskip("uvicorn", reason="the live sidecar needs uvicorn (the 'server' extra)")
from hypothesis import HealthCheck, given, settings  # noqa: E402

from intent_guard import Guard  # noqa: E402
from intent_guard.server import ServerConfig, create_app  # noqa: E402

from .conftest import DEFAULT_BUNDLE  # noqa: E402

#: Generated calls to POST /v1/score per store (the GET endpoints add a few more).
SCORE_CALLS = 2000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _live(guard: Guard) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(guard, ServerConfig(budget_ms=5000, admin_token="fuzz-admin-token-0123456789")),
            host="127.0.0.1",
            port=port,
            log_level="error",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def fuzz(base_url: str) -> dict[str, int]:
    from schemathesis import GenerationMode
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    counts = {"calls": 0, "server_errors": 0}
    for result in schema.get_all_operations():
        operation = result.ok()
        examples = SCORE_CALLS if operation.path == "/v1/score" else 20

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case) -> None:  # noqa: ANN001
            response = case.call(base_url=base_url)
            counts["calls"] += 1
            counts["server_errors"] += response.status_code >= 500
            assert response.status_code < 500, (response.status_code, response.text[:300])
            # Every check but "schema-valid data is accepted": the validator is stricter than JSON
            # Schema can say (lone surrogates, RFC 3339 offsets, 4,300-digit integers).
            case.validate_response(response, excluded_checks=[positive_data_acceptance])

        run()
    return counts


@pytest.fixture()
def memory_sidecar() -> Iterator[str]:
    yield from _live(Guard.load(DEFAULT_BUNDLE))


def test_fuzzed_calls_never_get_a_server_error(memory_sidecar: str) -> None:
    counts = fuzz(memory_sidecar)
    assert counts["server_errors"] == 0 and counts["calls"] >= SCORE_CALLS, counts

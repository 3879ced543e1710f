"""The HTTP sidecar: scoring, batches, clear 4xx errors, the time budget, metrics, readiness."""

from __future__ import annotations

import json
import time

import pytest

from .conftest import DEFAULT_BUNDLE, make_request

pytest.importorskip("fastapi", reason="the sidecar needs the 'server' extra")
from fastapi.testclient import TestClient  # noqa: E402

from intent_guard import Guard  # noqa: E402
from intent_guard.server import ServerConfig, create_app  # noqa: E402


@pytest.fixture()
def client() -> TestClient:
    return TestClient(create_app(Guard.load(DEFAULT_BUNDLE), ServerConfig(budget_ms=5000)))


def test_score_one_and_a_batch(client: TestClient) -> None:
    response = client.post("/v1/score", json=make_request())
    assert response.status_code == 200
    verdict = response.json()
    assert verdict["request_id"] == "r0" and verdict["decision"] in ("allow", "review", "block")
    batch = client.post(
        "/v1/score", json={"requests": [make_request(1, t=1_769_904_001.0), make_request(2, t=1_769_904_002.0)]}
    )
    assert [v["request_id"] for v in batch.json()["verdicts"]] == ["r1", "r2"]
    assert response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"\xff\xfe", 400, "not valid JSON"),
        (json.dumps({"requests": []}).encode(), 422, "non-empty list"),
        (json.dumps({**make_request(), "timestamp": "soon"}).encode(), 422, "RFC 3339"),
        (json.dumps({"requests": [make_request(), {"request_id": "x"}]}).encode(), 422, "requests[1]"),
        (json.dumps(make_request(text="x" * (9 * 1024 * 1024))).encode(), 413, "exceeds the limit"),
    ],
)
def test_bad_input_gets_a_clear_4xx(client: TestClient, body: bytes, status: int, needle: str) -> None:
    response = client.post("/v1/score", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert needle in response.json()["error"]


def test_budget_exceeded_gives_the_documented_fallback() -> None:
    guard = Guard.load(DEFAULT_BUNDLE)
    original = guard.score_many

    def slow(requests):  # noqa: ANN001, ANN202
        time.sleep(0.3)
        return original(requests)

    guard.score_many = slow  # type: ignore[method-assign]
    for mode, decision, probability in (("open", "allow", 0.0), ("closed", "review", 1.0)):
        client = TestClient(create_app(guard, ServerConfig(budget_ms=20, fail_mode=mode)))
        verdict = client.post("/v1/score", json=make_request()).json()
        assert verdict["decision"] == decision and verdict["probability"] == probability
        assert verdict["reasons"][0]["kind"] == "timeout"


def test_metrics_readiness_and_openapi(client: TestClient) -> None:
    client.post("/v1/score", json=make_request())
    client.post("/v1/score", content=b"{bad", headers={"content-type": "application/json"})
    text = client.get("/metrics").text
    assert "intent_guard_score_seconds_bucket" in text
    assert 'intent_guard_errors_total{kind="bad_json"} 1.0' in text
    assert "intent_guard_model_info" in text
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["model_version"]
    assert "/v1/score" in client.get("/openapi.json").json()["paths"]


def test_logs_carry_no_prompt_text(client: TestClient, caplog) -> None:
    secret = "the secret prompt text 8c1f"
    with caplog.at_level("INFO", logger="intent_guard.server"):
        client.post("/v1/score", json=make_request(text=secret))
    assert caplog.records, "a JSON log line per call"
    assert all(secret not in record.getMessage() for record in caplog.records)
    assert json.loads(caplog.records[-1].getMessage())["verdicts"][0]["request_id"] == "r0"


def test_a_tampered_bundle_does_not_disturb_a_running_server(tmp_path) -> None:
    import shutil

    from intent_guard import BundleError

    bundle = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, bundle)
    client = TestClient(create_app(Guard.load(bundle), ServerConfig(budget_ms=5000)))
    before = client.post("/v1/score", json=make_request()).json()
    with (bundle / "scorer.onnx").open("r+b") as handle:
        handle.write(b"tampered")
    with pytest.raises(BundleError, match="scorer.onnx does not match its sha256"):
        Guard.load(bundle)  # a restart would refuse it, naming the file
    after = client.post("/v1/score", json=make_request(1, t=1_769_904_001.0)).json()
    assert after["model_version"] == before["model_version"]  # the loaded model keeps serving


def test_redis_stopped_and_restarted_under_the_sidecar() -> None:
    from intent_guard.session.redis_store import RedisStore

    from .test_redis import _free_port, start_redis

    port = _free_port()
    process = start_redis(port)
    guard = Guard.load(DEFAULT_BUNDLE, store=RedisStore(f"redis://127.0.0.1:{port}/0", retry_seconds=0.0))
    client = TestClient(create_app(guard, ServerConfig(budget_ms=5000)))
    kinds = lambda verdict: [r["kind"] for r in verdict["reasons"]]  # noqa: E731
    assert "degraded" not in kinds(client.post("/v1/score", json=make_request(0)).json())
    process.kill()
    process.wait()
    assert "degraded" in kinds(client.post("/v1/score", json=make_request(1, t=1_769_904_001.0)).json())
    assert client.get("/readyz").json()["status"] == "degraded"
    assert "intent_guard_degraded 1.0" in client.get("/metrics").text
    process = start_redis(port)
    try:
        assert "degraded" not in kinds(client.post("/v1/score", json=make_request(2, t=1_769_904_002.0)).json())
        assert client.get("/readyz").json()["status"] == "ready"
    finally:
        process.kill()
        process.wait()


def test_observe_mode_answers_allow_and_counts_what_it_would_do() -> None:
    from .fakes import FakeScorer, fake_guard

    guard, _ = fake_guard(FakeScorer(0.97), mode="observe")
    client = TestClient(create_app(guard, ServerConfig(budget_ms=5000)))
    bodies = [client.post("/v1/score", json=make_request(i, t=1_769_904_000.0 + i * 30)).json() for i in range(4)]
    assert [b["decision"] for b in bodies] == ["allow"] * 4
    assert [b["would_decide"] for b in bodies] == ["review", "review", "block", "block"]
    metrics = client.get("/metrics").text
    assert 'intent_guard_would_decisions_total{decision="block"} 2.0' in metrics
    assert 'intent_guard_decisions_total{decision="allow"} 4.0' in metrics
    assert client.get("/readyz").json()["mode"] == "observe"


def test_a_shadow_bundle_is_scored_logged_and_counted_but_never_answers() -> None:
    from .fakes import FakeScorer, fake_guard

    served, _ = fake_guard(FakeScorer(0.1))
    candidate, _ = fake_guard(FakeScorer(0.97))
    shadow = served.with_shadow(candidate)
    client = TestClient(create_app(served, ServerConfig(budget_ms=5000)))
    bodies = [client.post("/v1/score", json=make_request(i, t=1_769_904_000.0 + i * 30)).json() for i in range(4)]
    assert [b["decision"] for b in bodies] == ["allow"] * 4
    shadow.drain(timeout=30)
    assert shadow.counts == {"scored": 4, "disagreements": 4, "errors": 0, "dropped": 0}
    metrics = client.get("/metrics").text
    assert 'intent_guard_shadow_requests{kind="disagreements"} 4.0' in metrics
    assert client.get("/readyz").json()["shadow_model_version"] == candidate.model_version


def test_log_lines_are_json_with_time_level_and_event() -> None:
    import logging

    from intent_guard.server.logformat import JsonFormatter

    record = logging.LogRecord(
        "intent_guard.server", logging.INFO, __file__, 1, '{"event": "score", "ms": 1.5}', None, None
    )
    line = json.loads(JsonFormatter().format(record))
    assert (
        line["event"] == "score" and line["level"] == "info" and line["ms"] == 1.5 and line["time"].endswith("+00:00")
    )
    plain = logging.LogRecord("x", logging.WARNING, __file__, 1, "Redis unreachable (%s)", ("TimeoutError",), None)
    line = json.loads(JsonFormatter().format(plain))
    assert line["message"] == "Redis unreachable (TimeoutError)" and line["level"] == "warning"


def test_operator_can_reset_an_account_with_the_admin_token() -> None:
    from .fakes import FakeScorer, fake_guard

    guard, scorer = fake_guard(FakeScorer(0.97))
    token = "s3cret-s3cret-s3cret"
    client = TestClient(create_app(guard, ServerConfig(budget_ms=5000, admin_token=token)))
    verdicts = [
        client.post("/v1/score", json=make_request(i, account="acct-x", t=1_769_904_000.0 + i)).json() for i in range(4)
    ]
    assert verdicts[-1]["decision"] == "block"
    assert client.delete("/v1/accounts/acct-x").status_code == 401
    for header in ("Bearer wrong", token, f"Basic {token}", "Bearer "):
        assert client.delete("/v1/accounts/acct-x", headers={"authorization": header}).status_code == 401, header
    reset = client.delete("/v1/accounts/acct-x", headers={"authorization": f"bearer {token}"})
    assert reset.status_code == 200 and reset.json() == {"account_id": "acct-x", "reset": True, "had_state": True}
    scorer.probability = 0.05
    after = client.post("/v1/score", json=make_request(9, account="acct-x", t=1_769_904_010.0)).json()
    assert after["decision"] == "allow"
    disabled = TestClient(create_app(guard, ServerConfig(budget_ms=5000)))
    assert disabled.delete("/v1/accounts/acct-x", headers={"authorization": f"Bearer {token}"}).status_code == 404
    # ids with a slash are reachable; a store that cannot forget answers 503
    client.post("/v1/score", json=make_request(20, account="team/a", t=1_769_904_020.0))
    slash = client.delete("/v1/accounts/team/a", headers={"authorization": f"Bearer {token}"})
    assert slash.status_code == 200 and slash.json()["account_id"] == "team/a" and slash.json()["had_state"]
    # an id no route can match (a line break) gets the same error shape as every other 4xx
    unroutable = client.delete("/v1/accounts/a%0Ab", headers={"authorization": f"Bearer {token}"})
    assert unroutable.status_code == 404 and "error" in unroutable.json()
    assert client.get("/no/such/route").json() == {"error": "Not Found"}

    from intent_guard.errors import StoreError

    def unreachable(key: str) -> bool:
        raise StoreError("could not reset it in Redis (ConnectionError); retry when it is reachable")

    guard.pipeline.store.forget = unreachable  # type: ignore[method-assign]
    down = client.delete("/v1/accounts/acct-x", headers={"authorization": f"Bearer {token}"})
    assert down.status_code == 503 and "retry" in down.json()["error"]


@pytest.mark.parametrize("token", ["", "   ", "short"])
def test_an_empty_or_short_admin_token_is_refused(token: str) -> None:
    from intent_guard.errors import ConfigError

    with pytest.raises(ConfigError, match="admin_token"):
        ServerConfig(admin_token=token)


def test_deep_analysis_counts_in_metrics_and_readiness() -> None:
    guard = Guard.load(DEFAULT_BUNDLE)
    analyzer = guard.with_deep(background=True)
    client = TestClient(create_app(guard, ServerConfig(budget_ms=5000)))
    assert client.post("/v1/score", json=make_request()).status_code == 200
    analyzer.drain()
    assert client.get("/readyz").json()["deep_analysis"] is True
    assert 'intent_guard_deep_requests{kind="analysed"} 1.0' in client.get("/metrics").text
    analyzer.close()

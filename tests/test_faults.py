"""The faults a new user and an operator hit (issue 10): malformed requests get the library's own
InvalidRequestError (a 4xx in the sidecar, a skipped and counted line in the CLI), bodies and
batches are bounded, scoring failures are counted, readiness does not queue behind scoring."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from intent_guard.cli import main
from intent_guard.errors import InvalidRequestError
from intent_guard.types import MAX_FIELD_CHARS, Request

from .conftest import make_request

pytest.importorskip("fastapi", reason="the sidecar needs the 'server' extra")
from fastapi.testclient import TestClient  # noqa: E402

from intent_guard.server import ServerConfig, create_app  # noqa: E402

REPRODUCTIONS = {
    "role_as_list": '{"request_id": "r", "timestamp": 1769904000, "account_id": "a", '
    '"messages": [{"role": ["user"], "content": "hi"}]}',
    "timestamp_above_1e308": '{"request_id": "r", "timestamp": 1' + "0" * 320 + ', "account_id": "a", '
    '"messages": [{"role": "user", "content": "hi"}]}',
    "huge_integer_tool_name": '{"request_id": "r", "timestamp": 1769904000, "account_id": "a", '
    '"messages": [{"role": "user", "content": "hi"}], "tools": [{"function": {"name": ' + "9" * 5000 + "}}]}",
    "lone_surrogate_request_id": '{"request_id": "r\\ud800", "timestamp": 1769904000, "account_id": "a", '
    '"messages": [{"role": "user", "content": "hi"}]}',
}


@pytest.mark.parametrize("name", sorted(REPRODUCTIONS))
def test_each_reproduction_is_an_invalid_request_in_the_library(name: str) -> None:
    from intent_guard.logs import parse_record

    with pytest.raises(InvalidRequestError):
        parse_record(REPRODUCTIONS[name], line=1)


@pytest.mark.parametrize("name", sorted(REPRODUCTIONS))
def test_each_reproduction_is_a_4xx_in_the_sidecar(guard_factory, name: str) -> None:
    client = TestClient(create_app(guard_factory(), ServerConfig(budget_ms=5000)))
    response = client.post(
        "/v1/score", content=REPRODUCTIONS[name].encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 422), response.text
    assert "error" in response.json()


def test_the_cli_skips_and_counts_each_reproduction_and_goes_on(tmp_path: Path, capsys) -> None:
    log = tmp_path / "log.jsonl"
    good = [json.dumps(make_request(i, t=1_769_904_000.0 + i)) for i in range(3)]
    log.write_text("\n".join([good[0], *REPRODUCTIONS.values(), good[1], good[2]]) + "\n")
    out = tmp_path / "v.jsonl"
    assert main(["score", str(log), "-o", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 3
    assert "skipped (invalid): 4" in capsys.readouterr().out


def test_long_strings_are_cut_and_long_link_values_digested() -> None:
    from intent_guard.linking import link_values
    from intent_guard.text import prompt_parts

    record = make_request(model="m" * 100_000, client={"payment_fingerprint": "p" * 1_000_000, "org_id": "o" * 500})
    request = Request.from_dict(record)
    assert len(request.model or "") == MAX_FIELD_CHARS
    keys = link_values(request, prompt_parts(request), "")
    assert all(len(k) < 100 for k in keys.values()), keys


def test_a_body_over_the_limit_is_refused_before_it_is_read(guard_factory) -> None:
    client = TestClient(create_app(guard_factory(), ServerConfig(budget_ms=5000, max_body_bytes=1000)))

    def chunks():
        for _ in range(100):
            yield b"x" * 100

    response = client.post("/v1/score", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and "exceeds the limit" in response.json()["error"]
    declared = client.post(
        "/v1/score", content=b"{}", headers={"content-type": "application/json", "content-length": "5000000"}
    )
    assert declared.status_code in (400, 413)


def test_a_batch_that_cannot_fit_the_budget_is_refused_with_the_size_that_fits(guard_factory) -> None:
    client = TestClient(create_app(guard_factory(), ServerConfig(budget_ms=5)))
    batch = {"requests": [make_request(i, t=1_769_904_000.0 + i) for i in range(200)]}
    response = client.post("/v1/score", json=batch)
    assert response.status_code == 413
    message = response.json()["error"]
    assert "does not fit the 5 ms budget" in message and "send at most" in message
    assert 'intent_guard_errors_total{kind="batch_over_budget"} 1.0' in client.get("/metrics").text


def test_a_failing_scorer_gives_fallbacks_counted_by_kind(guard_factory) -> None:
    guard = guard_factory()

    def broken(requests):  # noqa: ANN001, ANN202
        raise RuntimeError("boom")

    guard.score_many = broken  # type: ignore[method-assign]
    client = TestClient(create_app(guard, ServerConfig(budget_ms=5000)))
    response = client.post("/v1/score", json=make_request())
    assert response.status_code == 200 and response.json()["reasons"][0]["kind"] == "error"
    assert 'intent_guard_errors_total{kind="error:RuntimeError"} 1.0' in client.get("/metrics").text


def test_readiness_answers_while_every_scoring_worker_is_busy() -> None:
    from .fakes import FakeScorer, fake_guard

    gate = threading.Event()
    entered = threading.Semaphore(0)

    def blocked(row):  # noqa: ANN001, ANN202
        entered.release()
        return 0.1 if gate.wait(20) else 0.0

    guard, _ = fake_guard(FakeScorer(fn=blocked))

    guard.store.ping = lambda: True  # type: ignore[attr-defined]
    client = TestClient(create_app(guard, ServerConfig(budget_ms=30_000, workers=2)))
    threads = [
        threading.Thread(target=client.post, args=("/v1/score",), kwargs={"json": make_request(i)}) for i in range(2)
    ]
    for thread in threads:
        thread.start()
    try:
        assert entered.acquire(timeout=20) and entered.acquire(timeout=20)  # both workers are scoring
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["store_reachable"] is True
        assert all(t.is_alive() for t in threads)  # answered while both scoring workers were still blocked
    finally:
        gate.set()
        for thread in threads:
            thread.join(30)

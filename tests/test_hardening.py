"""Bad and hostile input: a clear error or a documented safe verdict, bounded work, others untouched."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intent_guard import Guard, IntentGuardError, InvalidRequestError, Verdict
from intent_guard.text import HEAD_CHARS, TAIL_CHARS

from .conftest import DEFAULT_BUNDLE, make_request


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard.load(DEFAULT_BUNDLE)


text = st.text(max_size=300) | st.sampled_from(["\ud800 lone surrogate", "", " " * 50, "日本語" * 40])
content = st.recursive(
    text,
    lambda inner: st.lists(
        st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url", "input_text"]), "text": inner}),
        max_size=4,
    ),
    max_leaves=8,
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "user", "assistant", "tool", "robot"]), "content": content}
    ),
    max_size=6,
)
timestamps = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**12), 10**12), st.text(max_size=30)
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    messages=messages,
    timestamp=timestamps,
    tools=st.lists(st.dictionaries(st.text(max_size=5), st.integers()), max_size=3),
)
def test_score_returns_a_verdict_or_a_clear_error(guard: Guard, messages, timestamp, tools) -> None:
    record = {"request_id": "p", "timestamp": timestamp, "account_id": "fuzz", "messages": messages, "tools": tools}
    try:
        verdict = guard.score(record)
    except InvalidRequestError as exc:
        assert str(exc)  # a message that says what is wrong
        return
    assert isinstance(verdict, Verdict)
    assert 0.0 <= verdict.probability <= 1.0 and math.isfinite(verdict.probability)


def test_hostile_shapes_are_bounded(guard: Guard) -> None:
    huge_prompt = make_request(0, text="token " * 200_000)  # ~1.2 MB
    many_messages = make_request(1, t=1_769_904_001.0)
    many_messages["messages"] = [{"role": "user", "content": f"turn {i}"} for i in range(10_000)]
    nested = make_request(2, t=1_769_904_002.0)
    nested["messages"] = [{"role": "user", "content": [{"type": "text", "text": {"deep": [[[["x"]]]]}}]}]
    many_tools = make_request(
        3, t=1_769_904_003.0, tools=[{"type": "function", "function": {"name": f"f{i}"}} for i in range(20_000)]
    )
    odd_tools = make_request(4, t=1_769_904_004.0, tools=[{"function": "not an object"}, {}])
    for record in (huge_prompt, many_messages, nested, many_tools, odd_tools):
        verdict = guard.score(record)
        assert 0.0 <= verdict.probability <= 1.0
    with pytest.raises(InvalidRequestError, match=r"tools\[0\]\.name"):
        guard.score(make_request(5, t=1_769_904_005.0, tools=[{"name": 5}]))


def test_only_bounded_windows_reach_the_tokenizer(guard: Guard, monkeypatch) -> None:
    seen: list[int] = []
    windows = guard.pipeline.windows
    original = windows.encode

    def counting(texts):  # noqa: ANN001, ANN202
        seen.extend(len(t) for t in texts)
        return original(texts)

    monkeypatch.setattr(windows, "encode", counting)
    guard.score(
        make_request(9, text="word " * 500_000, messages=None)
        | {"messages": [{"role": "system", "content": "s" * 300_000}, {"role": "user", "content": "word " * 500_000}]}
    )
    assert seen and max(seen) <= max(HEAD_CHARS, TAIL_CHARS)


def test_bad_requests_leave_other_accounts_untouched(guard: Guard) -> None:
    guard.score(make_request(20, account="bystander", t=1_769_905_000.0))
    before = guard.store.get("a:bystander")
    for bad in (
        {"request_id": "x"},
        {**make_request(21, account="bystander"), "timestamp": float("nan")},
        {**make_request(22, account="attacker"), "messages": [{"role": "user", "content": 7}]},
    ):
        with pytest.raises(InvalidRequestError):
            guard.score(bad)
    assert (guard.store.get("a:bystander") == before).all()


def test_a_flood_of_new_accounts_stays_under_the_cap() -> None:
    from intent_guard import GuardConfig

    guard = Guard.load(DEFAULT_BUNDLE, config=GuardConfig(max_entities=300))
    guard.score_many([make_request(i, account=f"sybil-{i}", t=1_769_904_000.0 + i) for i in range(1_000)])
    assert len(guard.store) <= 300


def test_a_far_future_timestamp_expires_no_other_account() -> None:
    guard = Guard.load(DEFAULT_BUNDLE)
    guard.score(make_request(30, account="bystander", t=1_769_904_000.0))
    guard.score(make_request(31, account="time-traveller", t=4_000_000_000.0))  # valid (before 2100)
    guard.score(make_request(32, account="bystander", t=1_769_904_060.0))
    state = guard.store.get("a:bystander")
    assert state is not None and state[2] == 2  # N_TOTAL: its history survived


json_value = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["user", "system", "a\ud800", "2026-02-01T12:00:00Z", "text", "function"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["role", "content", "type", "text", "name", "function", "ip", "payment_fingerprint"])
            | st.text(max_size=6),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)
field_values = st.fixed_dictionaries(
    {},
    optional={
        "request_id": json_value,
        "timestamp": json_value,
        "account_id": json_value,
        "messages": json_value
        | st.lists(st.fixed_dictionaries({"role": json_value, "content": json_value}), max_size=3),
        "tools": json_value,
        "client": json_value,
        "model": json_value,
        "api_key_id": json_value,
        "label": json_value,
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=field_values)
def test_any_json_shape_gives_a_verdict_or_an_intent_guard_error(guard: Guard, record) -> None:
    """Every field may hold any JSON value: the only exception ever raised is the library's own."""
    base = make_request(0, account="fuzz-any")
    base.update(record)
    try:
        verdict = guard.score(base)
    except IntentGuardError as exc:
        assert str(exc)
        return
    assert isinstance(verdict, Verdict) and 0.0 <= verdict.probability <= 1.0


@settings(max_examples=400, deadline=None)
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_the_log_reader_raises_only_invalid_request_errors(raw: bytes) -> None:
    from intent_guard.logs import parse_record

    try:
        parse_record(raw, line=7)
    except InvalidRequestError as exc:
        assert "7" in str(exc) or str(exc)

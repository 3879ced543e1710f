from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intent_guard import InvalidRequestError, Request, Verdict
from intent_guard.types import parse_timestamp

from .conftest import make_request


def test_minimal_request_round_trips() -> None:
    data = make_request(api_key_id="k1", tools=[{"type": "function"}], client={"ip": "1.2.3.4"}, label=1, custom=3)
    request = Request.from_dict(data)
    assert request.account_id == "acct-1"
    assert request.messages[0].text() == "hello there"
    assert Request.from_dict(request.to_dict()) == request
    assert request.to_dict()["custom"] == 3  # unknown fields are kept


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        ({"request_id": ""}, "request_id"),
        ({"timestamp": "yesterday"}, "RFC 3339"),
        ({"timestamp": float("nan")}, "finite"),
        ({"timestamp": -5}, "finite"),
        ({"timestamp": 1e12}, "2100"),
        ({"timestamp": True}, "boolean"),
        ({"account_id": 7}, "account_id"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "role"),
        ({"messages": [{"role": "user", "content": 5}]}, "content"),
        ({"messages": [{"role": "user", "content": [{"text": "no type"}]}]}, "type"),
        ({"tools": {"a": 1}}, "tools"),
        ({"label": 2}, "label"),
        ({"client": {"account_created_at": "bad"}}, "account_created_at"),
    ],
)
def test_invalid_fields_are_named(patch: dict, needle: str) -> None:
    with pytest.raises(InvalidRequestError, match=needle):
        Request.from_dict({**make_request(), **patch})


def test_missing_required_field() -> None:
    data = make_request()
    del data["account_id"]
    with pytest.raises(InvalidRequestError, match="missing required field 'account_id'"):
        Request.from_dict(data)


def test_rfc3339_timestamps() -> None:
    assert parse_timestamp("2026-02-01T00:00:00Z") == 1_769_904_000.0
    assert parse_timestamp("2026-02-01T01:00:00+01:00") == 1_769_904_000.0
    with pytest.raises(InvalidRequestError, match="offset"):
        parse_timestamp("2026-02-01T00:00:00")


def test_content_parts_text_and_images() -> None:
    data = make_request()
    data["messages"] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "a"},
                {"type": "image_url", "image_url": {}},
                {"type": "text", "text": "b"},
            ],
        }
    ]
    message = Request.from_dict(data).messages[0]
    assert message.text() == "a\nb"
    assert message.image_count() == 1


def test_verdict_validates() -> None:
    with pytest.raises(ValueError):
        Verdict(request_id="r", probability=1.5, decision="allow")
    with pytest.raises(ValueError):
        Verdict(request_id="r", probability=0.5, decision="maybe")  # type: ignore[arg-type]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["request_id", "timestamp", "account_id", "messages", "tools", "client", "label", "model"]),
        json_values,
    )
)
def test_parser_never_fails_with_anything_but_invalid_request(data: dict) -> None:
    try:
        request = Request.from_dict(data)
    except InvalidRequestError:
        return
    assert math.isfinite(request.timestamp)
    assert request.messages

"""Everyday first prompts and the first hours of a deployment that starts with an empty store.

What the first hours look like: every account starts with no evidence, so an account score rises
only as an account's own requests arrive (one request lifts it to a third of its probability at
most): nothing is blocked before an account's third request, campaigns are flagged after a few
template-like requests, and honest newcomers, whose first prompts are everyday asks, are allowed.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime

import pytest

from .conftest import SHARED, make_request

EVERYDAY = [
    "Translate to German: good morning, how are you?",
    "Can you translate this into Spanish for me? 'The meeting is moved to Thursday.'",
    "Summarise this paragraph in two sentences: The city council met on Tuesday to discuss the new park.",
    "Please summarize the main points of the French Revolution.",
    "Solve step by step, showing all your reasoning: 17 * 23",
    "Can you solve this step by step? A train travels 120 km in 2 hours. What is its average speed?",
    "Explain step by step how to solve 3x + 5 = 20, it's for my homework",
    "What's a good name for a golden retriever puppy?",
    "Write a short birthday message for my grandmother.",
    "How do I reverse a list in Python?",
    "Give me a recipe for banana bread without eggs.",
    "What are the symptoms of dehydration?",
]
OPTIONAL = {
    "api_key_id": "key-1",
    "model": "model-a",
    "session_id": "s-1",
    "client": {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0", "payment_fingerprint": "pm_123"},
}


@pytest.mark.parametrize("with_optional", [False, True], ids=["bare", "with-optional-fields"])
def test_everyday_first_prompts_from_new_accounts_are_allowed(guard_factory, with_optional: bool) -> None:
    guard = guard_factory()
    for i, text in enumerate(EVERYDAY):
        extra = OPTIONAL if with_optional else {}
        verdict = guard.score(make_request(i, account=f"new-{i}", t=1_769_904_000.0 + i * 97, text=text, **extra))
        assert verdict.decision == "allow", (text, verdict)


def test_the_readme_example_is_allowed(guard_factory) -> None:
    verdict = guard_factory().score(
        {
            "request_id": "req-1",
            "timestamp": "2026-02-01T12:00:00Z",
            "account_id": "acct-42",
            "api_key_id": "key-1",
            "messages": [{"role": "user", "content": "Solve step by step, showing all your reasoning: 17 * 23"}],
        }
    )
    assert verdict.decision == "allow", verdict


def _epoch(value) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if isinstance(value, str) else value


def test_the_first_six_hours_from_an_empty_store(guard_factory) -> None:
    """The validation log's first six hours scored from an empty store (as a new deployment would):
    no benign account blocked, at most 2% flagged, and campaigns flagged far more often than benign
    accounts (with the shipped thresholds, fitted on our generated traffic, about 7% of the campaign
    accounts active in the first six hours are flagged by then; after ``calibrate`` on the
    deployment's own traffic, far more)."""
    log = SHARED / "validation" / "traffic.jsonl.gz"
    if not log.is_file():
        pytest.skip(f"the validation log is absent ({log})")
    accounts = json.loads((SHARED / "validation" / "accounts.json").read_text())
    with gzip.open(log, "rt") as handle:
        records = [json.loads(line) for line in handle]
    records.sort(key=lambda r: _epoch(r["timestamp"]))
    start = _epoch(records[0]["timestamp"])
    first = [r for r in records if _epoch(r["timestamp"]) < start + 6 * 3600]
    guard = guard_factory()
    flagged: dict[str, bool] = {}
    blocked: dict[str, bool] = {}
    for record, verdict in zip(first, guard.score_many(first), strict=True):
        a = record["account_id"]
        flagged[a] = flagged.get(a, False) or verdict.decision != "allow"
        blocked[a] = blocked.get(a, False) or verdict.decision == "block"
    benign = [a for a in flagged if accounts[a]["label"] == 0]
    campaign = [a for a in flagged if accounts[a]["label"] == 1]
    assert len(benign) > 100 and len(campaign) > 20
    assert sum(blocked[a] for a in benign) == 0
    assert sum(flagged[a] for a in benign) / len(benign) <= 0.02
    benign_rate = sum(flagged[a] for a in benign) / len(benign)
    campaign_rate = sum(flagged[a] for a in campaign) / len(campaign)
    assert campaign_rate >= 0.05 and campaign_rate > 5 * benign_rate, (campaign_rate, benign_rate)

"""One test per shortcut that an earlier model learned from its own generator, so none comes back.

* "new model => benign" (a replay from an empty store makes every model new on day 0);
* "young account => campaign" (absolute account age depends on the deployment);
* "a missing optional field => suspicious" (model, client, tools, api_key_id);
* "many accounts on one card / IP / system prompt => campaign" (teams, NATs and products share them);
* features acting against their stated direction (LightGBM monotone constraints, kept by ONNX).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from intent_guard.features import FEATURE_NAMES, REGISTRY, monotone_constraints

from .conftest import make_request

T0 = 1_769_904_000.0
EVERYDAY = (
    "Translate to German: good morning",
    "Summarise this paragraph in two sentences: The city council met on Tuesday to discuss the budget.",
    "Solve step by step, showing all your reasoning: 17 * 23",
    "What's a good recipe for banana bread?",
    "Write a haiku about autumn leaves.",
)
FULL_FIELDS = {
    "api_key_id": "key-9",
    "model": "some-model-2026",
    "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
    "client": {
        "ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0",
        "payment_fingerprint": "pf_1",
        "org_id": "org_1",
        "account_created_at": T0 - 3600,
    },
}
#: Documented bound: dropping an optional field moves an everyday request's probability by at most this.
OPTIONAL_FIELD_TOLERANCE = 0.01


def rows(guard, records) -> np.ndarray:
    return np.stack([c.row for c in guard.pipeline.run(records)])


def test_every_feature_states_its_reason_and_direction() -> None:
    assert len(REGISTRY) == len(FEATURE_NAMES)
    for feature in REGISTRY:
        assert feature.why and feature.direction in (-1, 0, 1), feature.name
    # no feature may read the model name, the account's age or the request's shape
    banned = ("model", "account_age", "tools_count", "messages", "user_turns", "has_system", "chars")
    assert not [n for n in FEATURE_NAMES if any(b in n for b in banned)]
    assert monotone_constraints() == [f.direction for f in REGISTRY]


def test_model_name_and_its_novelty_change_no_feature(guard_factory) -> None:
    # A replay whose first day is benign-only, then a brand-new model: whatever the model field
    # says (or if it is absent), every feature row is the same, so no log can teach "new => benign".
    base = [make_request(i, t=T0 + 600 * i, text=f"Solve step by step: {i} + {i}") for i in range(12)]
    variants = []
    for model in (None, "old-model", "brand-new-model-released-today"):
        records = copy.deepcopy(base)
        for r in records:
            if model:
                r["model"] = model
        variants.append(rows(guard_factory(), records))
    assert np.array_equal(variants[0], variants[1]) and np.array_equal(variants[0], variants[2])


def test_account_age_changes_no_feature(guard_factory) -> None:
    young = [make_request(i, t=T0 + 60 * i, client={"account_created_at": T0 - 60}) for i in range(5)]
    old = [make_request(i, t=T0 + 60 * i, client={"account_created_at": T0 - 900 * 86400}) for i in range(5)]
    assert np.array_equal(rows(guard_factory(), young), rows(guard_factory(), old))


@pytest.mark.parametrize("field", ["model", "client", "tools", "api_key_id"])
def test_an_absent_optional_field_is_not_evidence(guard_factory, field: str) -> None:
    for i, text in enumerate(EVERYDAY):
        full = make_request(i, account=f"new-{i}", text=text, **copy.deepcopy(FULL_FIELDS))
        without = {k: v for k, v in full.items() if k != field}
        p_full = guard_factory().score(full).probability
        p_without = guard_factory().score(without).probability
        assert abs(p_full - p_without) <= OPTIONAL_FIELD_TOLERANCE, (field, text, p_full, p_without)


def test_a_value_shared_by_many_honest_accounts_is_not_evidence(guard_factory) -> None:
    # 60 accounts of one IDE product (same system prompt, tools, org card) asking ordinary things
    guard = guard_factory()
    records = []
    for a in range(60):
        for i in range(3):
            records.append(
                make_request(
                    a * 10 + i,
                    account=f"dev-{a}",
                    t=T0 + a * 37 + i * 400,
                    text=f"rename the variable count{a} to total in utils.py and fix the import",
                    client={"payment_fingerprint": "pf_team", "org_id": "org_team", "ip": "198.51.100.4"},
                    messages=[
                        {"role": "system", "content": "You are a coding assistant inside an editor."},
                        {"role": "user", "content": f"rename the variable count{a} to total in utils.py"},
                    ],
                )
            )
    records.sort(key=lambda r: r["timestamp"])
    last = records[-1]["account_id"]
    alone = guard_factory().score_many([r for r in records if r["account_id"] == last])[-1].probability
    shared = guard.score_many(records)[-1].probability
    assert shared <= alone + OPTIONAL_FIELD_TOLERANCE  # the same account's history, without its 59 colleagues


def test_the_scorer_keeps_every_stated_direction(guard_factory) -> None:
    guard = guard_factory()
    rng = np.random.default_rng(0)
    records = [make_request(i, t=T0 + 5 * i, text=EVERYDAY[i % len(EVERYDAY)]) for i in range(40)]
    X = rows(guard, records)
    X = np.vstack([X, X * rng.uniform(0.5, 2.0, size=X.shape).astype(np.float32)])
    base = guard.scorer.predict_proba(X)
    for column, feature in enumerate(REGISTRY):
        if feature.direction == 0:
            continue
        moved = X.copy()
        moved[:, column] += feature.direction * np.float32(max(1.0, float(np.abs(X[:, column]).max())))
        after = guard.scorer.predict_proba(moved)
        assert (after >= base - 1e-6).all(), f"{feature.name} acts against its direction"

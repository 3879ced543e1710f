"""The account policy, with the probability set directly (FakeScorer): where block starts and stops,
observe mode, reasons on every non-allow verdict, calibration maps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from intent_guard import GuardConfig
from intent_guard.decision import AccountSnapshot, DecisionThresholds, Platt, Policy
from intent_guard.errors import ConfigError
from intent_guard.types import Reason

from .conftest import make_request
from .fakes import FakeScorer, fake_guard

T0 = 1_769_904_000.0
HOUR = 3600.0


def run(guard, probabilities: list[float], *, gap: float = 60.0, account: str = "acct-1", scorer=None):
    verdicts = []
    for i, p in enumerate(probabilities):
        scorer.probability = p
        verdicts.append(guard.score(make_request(i, account=account, t=T0 + i * gap)))
    return verdicts


def test_one_request_never_blocks_however_high() -> None:
    guard, scorer = fake_guard()
    (verdict,) = run(guard, [0.999], scorer=scorer)
    assert verdict.decision == "review"  # the request-level review threshold, never block
    assert verdict.account_score == pytest.approx(0.999 / 3, abs=1e-6)
    assert verdict.reasons[0] == Reason(kind="request", name="probability", value=0.999)


def test_three_requests_twelve_hours_apart_can_block() -> None:
    """The old policy read a decayed 24 h count with a 0.5 fudge: spaced requests could never block."""
    guard, scorer = fake_guard()
    verdicts = run(guard, [0.99, 0.99, 0.99], gap=12 * HOUR, scorer=scorer)
    assert [v.decision for v in verdicts] == ["review", "review", "block"]


def test_block_needs_history_even_with_block_level_evidence() -> None:
    guard, scorer = fake_guard(block_threshold=0.6, block_min_requests=3)
    verdicts = run(guard, [0.95, 0.95], scorer=scorer)
    assert verdicts[1].account_score == pytest.approx(0.95 * 2 / 3, abs=1e-3)  # >= 0.6: block-level (week decay)
    assert verdicts[1].decision == "review"
    assert Reason(kind="policy", name="block_needs_requests", value=3) in verdicts[1].reasons
    scorer.probability = 0.95
    assert guard.score(make_request(9, t=T0 + 600)).decision == "block"


def test_block_boundary_is_the_account_block_threshold() -> None:
    below, scorer_below = fake_guard()
    above, scorer_above = fake_guard()
    assert run(below, [0.79] * 5, scorer=scorer_below)[-1].decision == "review"
    assert run(above, [0.81] * 5, scorer=scorer_above)[-1].decision == "block"


def test_review_boundary_is_the_account_review_threshold() -> None:
    guard, scorer = fake_guard()
    verdicts = run(guard, [0.49] * 4 + [0.51] * 3, scorer=scorer)
    # top-3 mean after the 5th request: (0.51 + 0.49 + 0.49) / 3 < 0.5; after the 6th: > 0.5
    assert [v.decision for v in verdicts] == ["allow"] * 5 + ["review"] * 2


def test_evidence_fades_and_the_account_is_allowed_again() -> None:
    guard, scorer = fake_guard()
    assert run(guard, [0.95] * 4, scorer=scorer)[-1].decision == "block"
    scorer.probability = 0.01
    later = guard.score(make_request(99, t=T0 + 60 * 86400.0))
    assert later.decision == "allow" and later.account_score < 0.1


def test_other_accounts_are_not_affected() -> None:
    guard, scorer = fake_guard()
    run(guard, [0.95] * 4, scorer=scorer)
    scorer.probability = 0.3
    assert guard.score(make_request(50, account="someone-else", t=T0 + 500)).decision == "allow"


def test_every_non_allow_verdict_has_reasons_account_first() -> None:
    guard, scorer = fake_guard()
    rng = np.random.default_rng(0)
    seen = set()
    for i in range(300):
        scorer.probability = float(rng.beta(2, 1.5))
        verdict = guard.score(make_request(i, account=f"acct-{i % 7}", t=T0 + i * 30.0))
        seen.add(verdict.decision)
        if verdict.decision == "allow":
            continue
        assert verdict.reasons, verdict
        if verdict.account_score >= 0.5:
            assert verdict.reasons[0].kind == "account" and verdict.reasons[0].name == "account_score"
    assert seen == {"allow", "review", "block"}


def test_observe_mode_allows_and_says_what_it_would_do() -> None:
    enforcing, s1 = fake_guard()
    observing, s2 = fake_guard(mode="observe")
    enforced = run(enforcing, [0.95] * 4, scorer=s1)
    observed = run(observing, [0.95] * 4, scorer=s2)
    assert [v.decision for v in observed] == ["allow"] * 4
    assert [v.would_decide for v in observed] == [v.decision for v in enforced]
    assert observed[-1].to_dict()["would_decide"] == "block"
    assert "would_decide" not in enforced[-1].to_dict()
    assert [v.reasons for v in observed] == [v.reasons for v in enforced]


def test_trusted_accounts_are_allowed_and_say_what_would_have_been_decided() -> None:
    guard, scorer = fake_guard(trusted_accounts=frozenset({"eval-team"}))
    trusted = run(guard, [0.95] * 4, account="eval-team", scorer=scorer)
    other = run(guard, [0.95] * 4, account="stranger", scorer=scorer)
    assert [v.decision for v in trusted] == ["allow"] * 4 and trusted[-1].would_decide == "block"
    assert trusted[-1].reasons[-1] == Reason(
        kind="policy", name="trusted_account", value="always allowed (GuardConfig.trusted_accounts)"
    )
    assert other[-1].decision == "block" and other[-1].would_decide is None
    assert trusted[-1].account_score == pytest.approx(other[-1].account_score)  # evidence is still kept
    with pytest.raises(ConfigError, match="trusted_accounts"):
        GuardConfig(trusted_accounts={"a"})  # type: ignore[arg-type]


def test_config_rejects_an_unknown_mode() -> None:
    with pytest.raises(ConfigError, match="mode"):
        GuardConfig(mode="audit")  # type: ignore[arg-type]


def test_thresholds_are_validated() -> None:
    with pytest.raises(ConfigError, match="must not exceed"):
        DecisionThresholds(account_review=0.9, account_block=0.5, request_review=0.9)
    with pytest.raises(ConfigError, match="float in"):
        DecisionThresholds(account_review=-1, account_block=0.5, request_review=0.9)


def test_policy_alone_on_a_snapshot() -> None:
    from intent_guard.session import ACCOUNT
    from intent_guard.session.entities import evidence_update
    from intent_guard.session.state import N_TOTAL, update_state

    state = None
    for i in range(4):
        state = update_state(ACCOUNT, state, evidence_update(T0 + i, 0.9))
    state[N_TOTAL] = 10
    state[ACCOUNT.slot("req_24h")] = 10
    state[ACCOUNT.slot("tmpl_7d")] = 7
    state[ACCOUNT.block("cat").start] = 6  # the first category: 60% of the day's requests
    state[ACCOUNT.block("cuekind").start] = 1  # the first cue kind
    snapshot = AccountSnapshot(state)
    policy = Policy(DecisionThresholds(0.5, 0.8, 0.95), block_min_requests=3)
    decided = policy.decide(0.2, snapshot, (Reason(kind="template", id="t1"),))
    assert decided.decision == "block"
    names = [r.name for r in decided.reasons]
    assert names[:3] == ["account_score", "campaign_like_requests", "template_requests_7d"]
    from intent_guard.cues import CUE_NAMES
    from intent_guard.templates.similarity import CATEGORIES

    assert Reason(kind="account", name="category_share", category=CATEGORIES[0], value=0.6) in decided.reasons
    assert Reason(kind="account", name="elicitation_kinds", value=CUE_NAMES[0]) in decided.reasons
    assert decided.reasons[-1] == Reason(kind="template", id="t1")  # the request's own reasons come last


@pytest.mark.parametrize("a,b", [(1.0, 0.0), (2.3, 1.5), (0.4, -2.0)])
def test_platt_is_strictly_increasing_and_bounded(a: float, b: float) -> None:
    platt = Platt(a, b)
    xs = np.linspace(0.0, 1.0, 201)
    ys = [platt(float(x)) for x in xs]
    assert all(0.0 < y < 1.0 for y in ys)
    assert all(y2 > y1 for y1, y2 in zip(ys, ys[1:], strict=False))
    assert np.allclose(platt.many(xs), ys)


def test_platt_identity_and_manifest_round_trip() -> None:
    assert Platt()(0.3) == pytest.approx(0.3)
    platt = Platt(2.0, -1.0, prior=0.4)
    assert Platt.from_manifest(platt.to_dict()) == platt
    assert math.isclose(platt(0.5), 1 / (1 + math.exp(1.0)))


def test_the_shipped_bundle_states_its_thresholds_and_calibration(guard_factory) -> None:
    guard = guard_factory()
    decision = guard.manifest.data["decision"]
    assert decision["account_review_target_fpr"] == 0.01 and decision["account_block_target_fpr"] == 0.001
    assert 0 < decision["account_review"] <= decision["account_block"] <= 1
    assert 0 < decision["calibration"]["prior"] < 1
    assert guard.policy.thresholds.account_review == decision["account_review"]
    assert isinstance(guard.scorer, object) and not isinstance(guard.scorer, FakeScorer)


def test_forgetting_an_account_resets_its_evidence() -> None:
    guard, scorer = fake_guard()
    assert run(guard, [0.95] * 4, scorer=scorer)[-1].decision == "block"
    assert guard.forget_account("acct-1") is True
    scorer.probability = 0.05
    verdict = guard.score(make_request(9, account="acct-1", t=T0 + 600))
    assert verdict.decision == "allow" and verdict.account_score == pytest.approx(0.05 / 3, abs=1e-6)
    assert guard.forget_account("never-seen") is False
    with pytest.raises(ValueError, match="account_id"):
        guard.forget_account("")

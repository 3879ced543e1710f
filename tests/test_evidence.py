"""Account evidence: the decayed top-3 mean of an account's request probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intent_guard import Verdict
from intent_guard.session import ACCOUNT, MemoryStore, update_state
from intent_guard.session.entities import account_key, account_score, evidence_update
from intent_guard.session.evidence import EDGES, TOP_K

from .conftest import make_request

T0 = 1_769_904_000.0


def score_of(probabilities: list[float], spacing: float = 1.0) -> float:
    state = None
    for i, p in enumerate(probabilities):
        state = update_state(ACCOUNT, state, evidence_update(T0 + i * spacing, p))
    assert state is not None
    return account_score(state)


def exact_top_k(probabilities: list[float]) -> float:
    return sum(sorted(probabilities)[-TOP_K:]) / TOP_K


def test_one_request_counts_a_third_and_a_stream_counts_fully() -> None:
    assert score_of([0.9]) == pytest.approx(0.9 / TOP_K)
    assert score_of([0.9] * 10) == pytest.approx(0.9, rel=1e-4)
    assert score_of([0.01] * 500 + [0.9]) == pytest.approx((0.9 + 0.02) / TOP_K, rel=1e-3)


def test_values_in_distinct_bins_give_the_exact_top_k_mean() -> None:
    edges = (0.0, *EDGES, 1.0)
    mids = [(a + b) / 2 for a, b in zip(edges, edges[1:], strict=False)]
    rng = np.random.default_rng(0)
    for _ in range(50):
        chosen = rng.choice(mids, size=int(rng.integers(1, len(mids))), replace=False).tolist()
        assert score_of(chosen, spacing=0.0) == pytest.approx(exact_top_k(chosen), rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40))
def test_score_is_bounded_and_close_to_the_exact_top_k_mean(probabilities: list[float]) -> None:
    score = score_of(probabilities, spacing=0.0)
    assert 0.0 <= score <= 1.0
    widest = max(b - a for a, b in zip((0.0, *EDGES), (*EDGES, 1.0), strict=False))
    assert abs(score - exact_top_k(probabilities)) <= widest + 1e-9


def test_evidence_is_not_counted_as_another_request() -> None:
    from intent_guard.session import Observation, account_update
    from intent_guard.session.state import N_TOTAL

    obs = Observation(T0, True, 0.8, 0, 1, True, 7)
    state = update_state(ACCOUNT, None, account_update(obs))
    after = update_state(ACCOUNT, state, evidence_update(T0, 0.7))
    assert after[N_TOTAL] == state[N_TOTAL] == 1
    changed = np.flatnonzero(after != state)
    assert len(changed) == 2  # one bin's count and sum, nothing else


def test_evidence_fades_over_weeks() -> None:
    store = MemoryStore(ttl_seconds=10 * 86400.0)
    key = account_key("a")
    for i in range(5):
        store.apply([(key, ACCOUNT, evidence_update(T0 + i, 0.9))])
    (later,), _ = store.apply([(key, ACCOUNT, evidence_update(T0 + 14 * 86400.0, 0.0))])
    assert account_score(later) < 0.9 * np.exp(-1.5)  # two weeks of a one-week decay


def test_verdicts_carry_the_account_score(guard_factory) -> None:
    guard = guard_factory()
    verdicts = guard.score_many([make_request(i, t=T0 + i, text=f"hello {i}") for i in range(4)])
    for v in verdicts:
        assert v.account_score is not None and 0.0 <= v.account_score <= 1.0
        assert "account_score" in v.to_dict()
    tops = [sorted(v.probability for v in verdicts[: i + 1]) for i in range(4)]
    for v, top in zip(verdicts, tops, strict=True):
        assert v.account_score == pytest.approx(sum(top[-TOP_K:]) / TOP_K, abs=0.1)
    with pytest.raises(ValueError, match="account_score"):
        Verdict(request_id="r", probability=0.5, decision="allow", account_score=1.5)

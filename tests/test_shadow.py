"""A candidate bundle beside the serving one: same answers with or without it, failures contained."""

from __future__ import annotations

import logging

import numpy as np

from .conftest import make_request
from .fakes import FakeScorer, fake_guard


def traffic(n: int = 40) -> list[dict]:
    return [make_request(i, account=f"acct-{i % 4}", t=1_769_904_000.0 + i * 20) for i in range(n)]


def test_answers_are_identical_with_and_without_a_shadow() -> None:
    alone, _ = fake_guard(FakeScorer(fn=lambda row: float(np.tanh(abs(row).sum() / 50))))
    served, _ = fake_guard(FakeScorer(fn=lambda row: float(np.tanh(abs(row).sum() / 50))))
    candidate, _ = fake_guard(FakeScorer(0.99))
    shadow = served.with_shadow(candidate)
    assert [v.to_dict() for v in served.score_many(traffic())] == [v.to_dict() for v in alone.score_many(traffic())]
    shadow.drain(timeout=30)
    assert shadow.counts["scored"] == 40 and shadow.counts["errors"] == 0


def test_candidate_verdicts_are_logged_beside_the_served_decision(caplog) -> None:
    served, _ = fake_guard(FakeScorer(0.1))
    candidate, _ = fake_guard(FakeScorer(0.97))
    shadow = served.with_shadow(candidate)
    with caplog.at_level(logging.INFO, logger="intent_guard.shadow"):
        for record in traffic(6):
            served.score(record)
        shadow.drain(timeout=30)
    lines = [r.getMessage() for r in caplog.records if r.name == "intent_guard.shadow"]
    assert len(lines) == 6
    assert "'served_decision': 'allow'" in lines[-1] and "'candidate_decision': 'review'" in lines[0]


class Broken:
    n_features = FakeScorer.n_features

    def predict_proba(self, rows):
        raise RuntimeError("candidate scorer exploded")


def test_a_failing_candidate_is_counted_never_raised() -> None:
    served, _ = fake_guard(FakeScorer(0.1))
    candidate, _ = fake_guard(FakeScorer(0.1))
    candidate.scorer = Broken()
    shadow = served.with_shadow(candidate)
    verdicts = served.score_many(traffic(10))
    shadow.drain(timeout=30)
    assert [v.decision for v in verdicts] == ["allow"] * 10
    assert shadow.counts["errors"] == 10 and shadow.counts["scored"] == 0


def test_a_slow_candidate_drops_batches_instead_of_slowing_serving() -> None:
    import threading

    gate = threading.Event()
    served, _ = fake_guard(FakeScorer(0.1))
    candidate, _ = fake_guard(FakeScorer(fn=lambda row: 0.1 if gate.wait(30) else 0.0))
    shadow = served.with_shadow(candidate, max_pending=2)
    for record in traffic(5):
        served.score(record)  # returns at once although the candidate is stuck
    assert shadow.counts["dropped"] == 3
    gate.set()
    shadow.drain(timeout=30)
    assert shadow.counts["scored"] == 2

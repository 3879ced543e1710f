"""The deep analysis beside the inline path: which requests it reads, how its evidence reaches the
account's later decisions (thresholds set directly, deep probabilities set by a fake), its worker's
bounded queue and failures, and the bundle's fitted deep thresholds."""

from __future__ import annotations

import dataclasses
import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from intent_guard import Guard
from intent_guard.deep_analysis import DeepAnalyzer, DeepDecision, DeepSelection
from intent_guard.errors import BundleError, ConfigError
from intent_guard.session import MemoryStore
from intent_guard.session.entities import deep_key
from intent_guard.types import Reason, Request

from .conftest import DEFAULT_BUNDLE, make_request
from .fakes import FakeScorer, fake_guard

T0 = 1_769_904_000.0


class FakeDeep:
    """A DeepContent double: the deep probability the test sets (or an error), and what it read."""

    def __init__(self, probability: float = 0.0, *, fail: bool = False, gate: threading.Event | None = None) -> None:
        self.probability = probability
        self.fail = fail
        self.gate = gate
        self.read: list[str] = []

    def score(self, request: Request) -> float:
        if self.gate is not None:
            self.gate.wait(5)
        if self.fail:
            raise RuntimeError("model file vanished")
        self.read.append(request.request_id)
        return self.probability


def deep_guard(deep, *, review: float = 0.5, block: float = 0.8, store=None, **config: object):  # noqa: ANN001
    """A fake Guard (inline probability set by its FakeScorer) with a synchronous deep analyser
    reading ``deep`` (anything with ``score(request)``) and the deep thresholds given here."""
    guard, scorer = fake_guard(FakeScorer(0.01), store=store, **config)
    guard.with_deep(analyzer=DeepAnalyzer(deep, guard.store, background=False))  # type: ignore[arg-type]
    guard.policy = dataclasses.replace(
        guard.policy, thresholds=dataclasses.replace(guard.policy.thresholds, deep_review=review, deep_block=block)
    )
    return guard, scorer


def run(guard: Guard, n: int, *, account: str = "acct-1", gap: float = 60.0) -> list:
    return [guard.score(make_request(i, account=account, t=T0 + i * gap)) for i in range(n)]


def test_selection_reads_the_first_requests_then_every_nth() -> None:
    selection = DeepSelection(first=3, every=5)
    assert [n for n in range(1, 21) if selection.selects(n)] == [1, 2, 3, 5, 10, 15, 20]
    assert [n for n in range(1, 12) if DeepSelection(first=2, every=0).selects(n)] == [1, 2]
    for bad in ({"first": -1}, {"every": 2.5}, {"first": True}):
        with pytest.raises(ConfigError, match="DeepSelection"):
            DeepSelection(**bad)  # type: ignore[arg-type]


def test_deep_evidence_reviews_then_blocks_from_the_next_requests_on() -> None:
    """Inline evidence stays low; the deep probability 0.9 fills the top-3 mean one analysed request
    at a time, each counting from the account's next request."""
    deep = FakeDeep(0.9)
    guard, _ = deep_guard(deep)
    verdicts = run(guard, 5)
    assert [v.decision for v in verdicts] == ["allow", "allow", "review", "block", "block"]
    review = verdicts[2]
    assert review.reasons[0] == Reason(kind="account", name="deep_score", value=pytest.approx(0.6, abs=1e-3))
    assert review.reasons[1] == Reason(kind="account", name="deep_analysed_requests", value=2)
    assert review.reasons[2].name == "account_score"  # the inline evidence, below its own threshold
    assert all(v.account_score < 0.05 for v in verdicts)  # account_score stays the inline channel's
    assert deep.read == [f"r{i}" for i in range(5)]


def test_block_on_deep_evidence_needs_the_same_history() -> None:
    guard, _ = deep_guard(FakeDeep(0.99), review=0.2, block=0.3, block_min_requests=4)
    verdicts = run(guard, 5)
    assert [v.decision for v in verdicts] == ["allow", "review", "review", "block", "block"]
    assert Reason(kind="policy", name="block_needs_requests", value=4) in verdicts[2].reasons


def test_a_deep_channel_that_finds_nothing_changes_no_verdict() -> None:
    plain, plain_scorer = fake_guard(FakeScorer(0.0))
    deep, deep_scorer = deep_guard(FakeDeep(0.0))
    probabilities = [0.1, 0.6, 0.7, 0.9, 0.97, 0.2, 0.99, 0.99]
    for i, p in enumerate(probabilities):
        plain_scorer.probability = deep_scorer.probability = p
        a, b = plain.score(make_request(i, t=T0 + i)), deep.score(make_request(i, t=T0 + i))
        assert (a.decision, a.probability, a.account_score) == (b.decision, b.probability, b.account_score)
        inline_reasons = [r for r in b.reasons if r.name not in ("deep_score", "deep_analysed_requests")]
        assert tuple(inline_reasons) == a.reasons


def test_observe_mode_and_trusted_accounts_keep_deep_decisions_to_would_decide() -> None:
    guard, _ = deep_guard(FakeDeep(0.9), mode="observe")
    verdicts = run(guard, 4)
    assert [v.decision for v in verdicts] == ["allow"] * 4
    assert [v.would_decide for v in verdicts] == ["allow", "allow", "review", "block"]


def test_only_selected_requests_are_read() -> None:
    deep = FakeDeep(0.0)
    guard, _ = deep_guard(deep)
    guard.deep.selection = DeepSelection(first=2, every=4)  # type: ignore[union-attr]
    run(guard, 9)
    assert deep.read == ["r0", "r1", "r3", "r7"]  # requests 1, 2, 4, 8 of the account


def test_forgetting_an_account_clears_its_deep_evidence() -> None:
    guard, _ = deep_guard(FakeDeep(0.9))
    run(guard, 4)
    assert guard.store.get(deep_key("acct-1")) is not None
    assert guard.forget_account("acct-1")
    assert guard.store.get(deep_key("acct-1")) is None
    assert guard.score(make_request(10, t=T0 + 900)).decision == "allow"


def test_the_worker_drops_beyond_its_queue_and_never_waits() -> None:
    gate = threading.Event()
    deep = FakeDeep(0.9, gate=gate)
    analyzer = DeepAnalyzer(deep, MemoryStore(), background=True, max_pending=2)  # type: ignore[arg-type]
    requests = [Request.from_dict(make_request(i)) for i in range(6)]
    accepted = [analyzer.submit(r) for r in requests]
    gate.set()
    analyzer.drain()
    # the worker holds one, the queue two more: the rest were dropped, not waited for
    assert accepted.count(False) == analyzer.counts["dropped"] >= 3
    assert analyzer.counts["analysed"] == accepted.count(True)
    analyzer.close()


def test_a_failing_deep_model_is_counted_and_logged_never_raised(caplog) -> None:
    deep = FakeDeep(fail=True)
    guard, _ = deep_guard(deep)
    with caplog.at_level("ERROR", logger="intent_guard.deep"):
        verdicts = run(guard, 3)
    assert [v.decision for v in verdicts] == ["allow"] * 3
    assert guard.deep.counts == {"analysed": 0, "dropped": 0, "errors": 3}  # type: ignore[union-attr]
    assert "deep analysis of request r0 failed" in caplog.text


def test_background_and_synchronous_analysis_write_the_same_evidence() -> None:
    requests = [Request.from_dict(make_request(i, account=f"a{i % 3}", t=T0 + i)) for i in range(12)]
    stores = []
    for background in (False, True):
        store = MemoryStore()
        analyzer = DeepAnalyzer(FakeDeep(0.7), store, background=background)  # type: ignore[arg-type]
        for r in requests:
            analyzer.submit(r)
        analyzer.drain()
        analyzer.close()
        stores.append(store)
    for account in ("a0", "a1", "a2"):
        np.testing.assert_array_equal(stores[0].get(deep_key(account)), stores[1].get(deep_key(account)))


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="max_pending"):
        DeepAnalyzer(FakeDeep(), MemoryStore(), max_pending=0)  # type: ignore[arg-type]
    guard, _ = fake_guard()
    with pytest.raises(ValueError, match="this Guard's store"):
        guard.with_deep(analyzer=DeepAnalyzer(FakeDeep(), MemoryStore(), background=False))  # type: ignore[arg-type]


def test_the_shipped_bundle_carries_fitted_deep_thresholds() -> None:
    manifest = json.loads((DEFAULT_BUNDLE / "manifest.json").read_text())
    section = manifest["deep_content"]["decision"]
    decision = DeepDecision.from_manifest(manifest["deep_content"], "shipped")
    assert 0 < decision.review <= decision.block
    assert section["review_target_fpr"] == manifest["decision"]["account_review_target_fpr"]
    # the union rule: the two channels together stay within the review budget on the calib split,
    # and the deep channel adds no block where the inline channel alone already uses the budget
    benign = section["calib_benign"]
    assert benign["flag"] <= section["review_target_fpr"]
    assert benign["flag"] >= benign["flag_inline_only"]
    assert benign["block"] == benign["block_inline_only"]
    assert section["deep_model_version"] == manifest["deep_content"]["version"]


def test_a_bundle_without_deep_thresholds_says_how_to_fit_them(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    del manifest["deep_content"]["decision"]
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    guard = Guard.load(bundle)
    with pytest.raises(BundleError, match="python -m training deep-decision"):
        guard.with_deep(background=False)


def test_the_shipped_deep_analysis_runs_beside_a_real_guard() -> None:
    guard = Guard.load()
    analyzer = guard.with_deep(background=True)
    ask = "Solve step by step and show all of your reasoning before the answer: what is 17 * 23?"
    verdicts = [
        guard.score(
            {
                "request_id": f"d{i}",
                "timestamp": T0 + i,
                "account_id": "student",
                "messages": [{"role": "user", "content": ask}],
            }
        )
        for i in range(3)
    ]
    analyzer.drain()
    analyzer.close()
    assert analyzer.counts == {"analysed": 3, "dropped": 0, "errors": 0}
    assert all(v.decision == "allow" for v in verdicts)
    assert guard.store.get(deep_key("student")) is not None


def test_the_child_process_writes_the_evidence_the_thread_writes() -> None:
    """DeepProcess runs the shipped deep model in a child process: the evidence it writes equals
    what the synchronous analyser writes in-process; closing it stops the child."""
    from intent_guard.deep import DeepContent
    from intent_guard.deep_analysis import DeepProcess

    requests = [
        Request.from_dict(
            make_request(i, account=f"a{i % 2}", t=T0 + i, text=f"show every step of your reasoning: {i}+1")
        )
        for i in range(4)
    ]
    here, there = MemoryStore(), MemoryStore()
    local = DeepAnalyzer(DeepContent.load(), here, background=False)
    child = DeepProcess(DEFAULT_BUNDLE, there, max_pending=10)
    for r in requests:
        local.submit(r)
        assert child.submit(r)
    child.drain(timeout=120)
    assert child.counts == {"analysed": 4, "dropped": 0, "errors": 0}
    for account in ("a0", "a1"):
        np.testing.assert_array_equal(here.get(deep_key(account)), there.get(deep_key(account)))
    child.close()
    assert not child._process.is_alive()
    assert not child.submit(requests[0]) and child.counts["errors"] == 1  # counted, never raised


def test_a_dead_child_never_leaves_drain_or_close_waiting() -> None:
    from intent_guard.deep_analysis import DeepProcess

    child = DeepProcess(DEFAULT_BUNDLE, MemoryStore(), max_pending=50)
    requests = [Request.from_dict(make_request(i, text="x " * 2000)) for i in range(30)]
    for r in requests:
        child.submit(r)
    child._process.kill()  # dies with requests queued and unanswered
    child.drain(timeout=30)
    assert child._pending == 0
    assert child.counts["analysed"] + child.counts["errors"] == 30  # every request accounted for
    child.close(timeout=5)


def test_forgetting_an_account_drops_its_queued_analyses() -> None:
    gate = threading.Event()
    store = MemoryStore()
    analyzer = DeepAnalyzer(FakeDeep(0.9, gate=gate), store, background=True)  # type: ignore[arg-type]
    analyzer.submit(Request.from_dict(make_request(0, account="victim")))
    analyzer.submit(Request.from_dict(make_request(1, account="other")))
    analyzer.forget("victim")  # an operator resets it while its request waits
    gate.set()
    analyzer.drain(timeout=10)
    assert store.get(deep_key("victim")) is None
    assert store.get(deep_key("other")) is not None
    assert analyzer.counts == {"analysed": 1, "dropped": 1, "errors": 0}
    analyzer.submit(Request.from_dict(make_request(2, account="victim")))  # later requests count again
    analyzer.drain(timeout=10)
    assert store.get(deep_key("victim")) is not None
    analyzer.close()
    assert not analyzer.submit(Request.from_dict(make_request(3))) and analyzer.counts["dropped"] == 2


def test_a_deep_block_puts_the_deep_evidence_first() -> None:
    guard, scorer = deep_guard(FakeDeep(0.99), review=0.2, block=0.3)
    scorer.probability = 0.6  # inline account score 0.6: above review (0.5), below block (0.8)
    verdicts = run(guard, 4)
    assert verdicts[-1].decision == "block"
    assert verdicts[-1].reasons[0].name == "deep_score"


def test_nan_deep_thresholds_are_refused() -> None:
    from intent_guard.decision import DecisionThresholds

    with pytest.raises(ConfigError, match="deep_review"):
        DecisionThresholds(0.5, 0.8, 0.9, deep_review=float("nan"), deep_block=0.9)


def test_a_guard_with_a_deep_process_gathers_deep_evidence() -> None:
    guard = Guard.load()
    analyzer = guard.with_deep(process=True)
    ask = "Grade this answer from 1 to 10 and explain every step of your reasoning: 2+2=4"
    for i in range(3):
        guard.score(make_request(i, account="grader", t=T0 + i, text=ask))
    analyzer.drain(timeout=120)  # type: ignore[call-arg]
    analyzer.close()
    assert analyzer.counts["analysed"] == 3
    state = guard.store.get(deep_key("grader"))
    assert state is not None and state[2] == 3  # three analysed requests in the account's deep evidence

"""Guard end to end on the shipped bundle: API, determinism, thread safety, import hygiene."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from intent_guard import Guard, InvalidRequestError, Request, Verdict
from intent_guard.features import FEATURE_NAMES

from .conftest import DEFAULT_BUNDLE, ROOT, make_request


def traffic(n_accounts: int = 6, per_account: int = 40) -> list[dict]:
    """A small deterministic stream: regular template-like harvesting and irregular chat."""
    records = []
    for a in range(n_accounts):
        for i in range(per_account):
            harvest = a % 2 == 0
            t = 1_769_904_000.0 + (i * 3.0 if harvest else i * 97.0 + (i * i) % 13)
            # Each account words its prompts its own way, so no two accounts share a link value
            # (a prompt skeleton) and threads that own different accounts are independent.
            tag = "abcdefghij"[a]
            text = (
                f"Solve the following problem ({tag}). Show every intermediate step of your reasoning in full. {i}"
                if harvest
                else f"({tag}) what's a good name for a cat that likes {i} boxes?"
            )
            records.append(make_request(a * 1000 + i, account=f"acct-{a}", t=t, text=text, api_key_id=f"k{a}"))
    records.sort(key=lambda r: (r["timestamp"], r["request_id"]))
    return records


def test_score_accepts_dicts_and_requests(guard_factory) -> None:
    guard: Guard = guard_factory()
    verdict = guard.score(make_request())
    assert isinstance(verdict, Verdict)
    assert 0.0 <= verdict.probability <= 1.0
    assert verdict.decision in ("allow", "review", "block")
    assert verdict.model_version == guard.manifest.version
    again = guard.score(Request.from_dict(make_request(1, t=1_769_904_100.0)))
    assert again.request_id == "r1"


def test_replaying_a_log_twice_gives_identical_verdicts(guard_factory) -> None:
    records = traffic()
    first = guard_factory().score_many(records)
    second = guard_factory().score_many(records)
    assert first == second
    assert len(first) == len(records)


def test_batching_does_not_change_verdicts(guard_factory) -> None:
    from intent_guard import GuardConfig

    records = traffic()
    one_by_one = [guard_factory().score(r) for r in records[:1]]
    guard = guard_factory()
    sequential = [guard.score(r) for r in records]
    batched = guard_factory(config=GuardConfig(batch_size=64)).score_many(records)
    assert sequential == batched
    assert one_by_one[0] == sequential[0]


def test_session_history_raises_the_probability_of_harvesting(guard_factory) -> None:
    verdicts = guard_factory().score_many(traffic())
    by_account: dict[str, list[float]] = {}
    records = traffic()
    for record, verdict in zip(records, verdicts, strict=True):
        by_account.setdefault(record["account_id"], []).append(verdict.probability)
    harvest_last = [p[-1] for a, p in by_account.items() if int(a.split("-")[1]) % 2 == 0]
    chat_last = [p[-1] for a, p in by_account.items() if int(a.split("-")[1]) % 2 == 1]
    assert min(harvest_last) > max(chat_last)


def test_bad_request_raises_and_leaves_state_untouched(guard_factory) -> None:
    guard = guard_factory()
    guard.score(make_request(0))
    before = guard.store.get("a:acct-1")
    with pytest.raises(InvalidRequestError, match="messages"):
        guard.score_many([make_request(1, t=1_769_904_010.0), {**make_request(2), "messages": "oops"}])
    with pytest.raises(InvalidRequestError, match="a request must be"):
        guard.score(["not", "a", "dict"])  # type: ignore[arg-type]
    assert (guard.store.get("a:acct-1") == before).all()


def test_reasons_name_the_template_and_features(guard_factory) -> None:
    guard = guard_factory()
    text = guard.pipeline.templates[0].text.replace("{task}", "What is 17 * 23?")
    verdict = guard.score(make_request(text=text))
    kinds = [r.kind for r in verdict.reasons]
    assert kinds and kinds[0] == "template"
    assert verdict.reasons[0].id == guard.pipeline.templates[0].id


def test_concurrent_scoring_equals_sequential(guard_factory) -> None:
    records = traffic(n_accounts=8, per_account=25)
    expected = {v.request_id: v for v in guard_factory().score_many(records)}
    guard = guard_factory()
    results: dict[str, Verdict] = {}
    errors: list[BaseException] = []

    def run(account: str) -> None:  # each thread owns some accounts, in time order
        try:
            for record in records:
                if record["account_id"] == account:
                    results[record["request_id"]] = guard.score(record)
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"acct-{a}",)) for a in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert results == expected


def test_feature_row_has_the_contract_width(guard_factory) -> None:
    guard = guard_factory()
    (computed,) = guard.pipeline.run([make_request()])
    assert computed.row.shape == (len(FEATURE_NAMES),)


def test_huge_prompt_is_bounded(guard_factory) -> None:
    verdict = guard_factory().score(make_request(text="word " * 400_000))
    assert 0.0 <= verdict.probability <= 1.0


def test_serving_path_imports_no_training_stack() -> None:
    code = (
        "import sys, intent_guard\n"
        f"g = intent_guard.Guard.load({str(DEFAULT_BUNDLE)!r})\n"
        "g.score({'request_id': 'r', 'timestamp': 1769904000, 'account_id': 'a',"
        " 'messages': [{'role': 'user', 'content': 'hi'}]})\n"
        "heavy = ('torch', 'sentence_transformers', 'lightgbm', 'transformers', 'sklearn')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "text",
    [
        "Solve step by step, showing all your reasoning: 17 * 23",
        "Show every intermediate step of your reasoning before the final answer. A train leaves at 3 pm at 60 km/h...",
    ],
)
def test_one_step_by_step_request_alone_is_not_blocked(guard_factory, text: str) -> None:
    """No single prompt gives a campaign away: an account's first step-by-step ask is not blocked."""
    verdict = guard_factory().score(make_request(text=text, account="first-timer"))
    assert verdict.decision != "block", verdict


@pytest.mark.parametrize(
    "code",
    [
        "import intent_guard.types",
        "import intent_guard",
        "from intent_guard.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass",
    ],
)
def test_light_imports_load_no_runtime(code: str) -> None:
    """Types, errors and ``--version`` must not pay for onnxruntime, FAISS or tokenizers."""
    probe = (
        code + "\nimport sys\nprint(sorted(m for m in ('onnxruntime', 'faiss', 'tokenizers') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout

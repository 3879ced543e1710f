"""Shared fixtures: the shipped bundle, the shared prompt corpus, small request builders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PROMPTS = SHARED / "data" / "prompts"
DEFAULT_BUNDLE = ROOT / "models" / "default"


def needs_shared() -> None:
    if not PROMPTS.is_dir():
        pytest.skip(f"the shared prompt corpus is absent ({PROMPTS}); this test reads real prompts from it")


@pytest.fixture(scope="session")
def prompts() -> dict[str, list[dict[str, Any]]]:
    """The shared corpus by kind (skips the test where ../shared is absent)."""
    needs_shared()
    out: dict[str, list[dict[str, Any]]] = {}
    for file in sorted(PROMPTS.glob("*.jsonl")):
        out[file.stem] = [json.loads(line) for line in file.read_text(encoding="utf-8").split("\n") if line.strip()]
    return out


@pytest.fixture(scope="session")
def guard_factory():
    """Builds fresh Guards on the shipped bundle (each with its own empty session store)."""
    from intent_guard import Guard

    return lambda **kwargs: Guard.load(DEFAULT_BUNDLE, **kwargs)


def make_request(
    i: int = 0, *, account: str = "acct-1", t: float = 1_769_904_000.0, text: str = "hello there", **extra: Any
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "request_id": f"r{i}",
        "timestamp": t,
        "account_id": account,
        "messages": [{"role": "user", "content": text}],
    }
    record.update(extra)
    return record

"""The lexical cues: one automaton pass must find exactly what one substring search per word finds."""

from __future__ import annotations

from typing import Any

import pytest

from intent_guard.cues import BOUNDED_RULES, CUE_RULES, Rule, words_in

RULES: list[Rule] = [rule for rules in CUE_RULES.values() for rule in rules] + list(BOUNDED_RULES)


def fires_by_search(rule: Rule, text: str) -> bool:
    """The rule's meaning, spelt out: one substring search per word, the pattern tried at its starts."""
    if not all(any(word in text for word in group) for group in rule.needs):
        return False
    if rule.pattern is None:
        return True
    for word in rule.starts:
        at = text.find(word)
        while at >= 0:
            if rule.pattern.match(text, at):
                return True
            at = text.find(word, at + 1)
    return False


CRAFTED = [
    "",
    "show your work step by step",
    "footstep by stepping stones",  # words inside words still count (substring semantics)
    "stepstep by step-by-step, chain-of-thought",  # overlapping occurrences
    "reply with only yes or no. 只输出 json",
    "razonamiento paso a paso; ragionamento passo a passo",
    "<think>\n" * 3,
    "answer in one word: label",
    "grade this answer from 1 to 10 and return json",
]


@pytest.mark.parametrize("text", CRAFTED)
def test_crafted_texts(text: str) -> None:
    found = words_in(text)
    for rule in RULES:
        assert rule.fires(text) == rule.fires(text, found) == fires_by_search(rule, text), (rule.needs[0][:3], text)


def test_every_shared_prompt(prompts: dict[str, list[dict[str, Any]]]) -> None:
    checked = fired = 0
    for records in prompts.values():
        for record in records:
            text = str(record.get("text") or record.get("prompt") or "")[:1500].lower()
            found = words_in(text)
            for rule in RULES:
                expected = fires_by_search(rule, text)
                assert rule.fires(text, found) == expected, text[:80]
                fired += expected
            checked += 1
    assert checked > 1000 and fired > 100  # the corpus is there and the rules do fire on it

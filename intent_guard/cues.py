"""Cheap lexical cues of output *elicitation*: words that ask a model to spell out what a
distiller wants to keep (its reasoning, a grade, a structured record, its hidden instructions).

Embeddings miss a one-line instruction diluted in a long payload and paraphrases far from every
template; a handful of generic phrases catch the commonest asks in any wording that keeps the
key words. A cue is evidence only in one direction (present: more template-like), and is never
enough alone: honest students and benchmark runs ask for steps too, which is why the account-level
features, not the cue, carry the decision.

Only bounded windows are searched (the same head / tail / system windows the encoder sees), so
the cost does not grow with the prompt. Every rule word is found in one pass over the window (an
Aho-Corasick automaton, ``pyahocorasick``): the same answer as one substring search per word, at a
fifth of the cost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import ahocorasick

from .session.entities import CUE_KINDS
from .text import PromptParts


@dataclass(frozen=True, slots=True)
class Rule:
    """Fires when every group of ``needs`` has a word in the (lower-cased) text and ``pattern``, if
    any, matches there. A pattern is tried only where one of its ``starts`` words occurs (it must
    begin with one of them), so no regex ever scans a whole prompt."""

    needs: tuple[tuple[str, ...], ...]
    pattern: re.Pattern[str] | None = None
    starts: tuple[str, ...] = ()
    _groups: tuple[frozenset[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_groups", tuple(frozenset(group) for group in self.needs))

    def fires(self, text: str, found: set[str] | None = None) -> bool:
        """``found``: :func:`words_in` of ``text`` if already computed (the words of every rule in it)."""
        found = words_in(text) if found is None else found
        for group in self._groups:
            if found.isdisjoint(group):
                return False
        if self.pattern is None:
            return True
        for word in self.starts:
            if word not in found:
                continue
            at = text.find(word)
            while at >= 0:
                if self.pattern.match(text, at):
                    return True
                at = text.find(word, at + 1)
        return False


def _rule(needs: tuple[tuple[str, ...], ...], pattern: str | None = None, flags: int = 0) -> Rule:
    """A rule; a pattern begins with one of the words of ``needs``' first group (its ``starts``)."""
    return Rule(needs, re.compile(pattern, flags) if pattern else None, needs[0] if pattern else ())


#: Cue name -> its rules (any rule fires the cue). Names are part of the feature contract (``cue_<name>``).
CUE_RULES: dict[str, tuple[Rule, ...]] = {
    # asks for the reasoning process itself
    "reasoning": (
        _rule(
            (
                (
                    "step by step",
                    "step-by-step",
                    "each step",
                    "every step",
                    "walk me through",
                    "walk through",
                    "spell out",
                    "chain of thought",
                    "chain-of-thought",
                    "chain_of_thought",
                    "scratchpad",
                    "scratch pad",
                    "<think",
                    "intermediate step",
                    "paso a paso",
                    "razonamiento",
                    "passo a passo",
                    "ragionamento",
                    "raciocínio",
                    "schritt für schritt",
                    "lösungsweg",
                    "étape par étape",
                    "raisonnement",
                    "шаг за шагом",
                    "рассужден",
                    "adım adım",
                    "逐步",
                    "一步一步",
                    "推理过程",
                    "思考过程",
                    "解题步骤",
                    "ステップ",
                    "段階的",
                ),
            )
        ),
        _rule(
            (("show",), ("work", "step", "reasoning", "thinking", "derivation")),
            r"\bshow (?:all |every |each )?(?:of )?(?:your|the) (?:work|steps|reasoning|thinking|derivation)",
        ),
        _rule(
            (
                ("full", "complete", "entire", "detailed", "explicit", "whole"),
                ("reasoning", "derivation", "thought", "working"),
            ),
            r"(?:full|complete|entire|detailed|explicit|whole) (?:reasoning|derivation|thought process|"
            r"chain of reasoning|working)",
        ),
        _rule((("think",), ("out loud", "aloud")), r"think(?:ing)? (?:out loud|aloud)"),
        _rule((("reason",), ("through", " out ")), r"reason(?:ing)? (?:through|out) (?:it|this|each)"),
        _rule((("explain",),), r"explain (?:each|every|your) (?:step|reasoning)"),
        _rule((("before",), ("answer",)), r"before (?:giving|stating|writing) (?:the|your) (?:final )?answer"),
    ),
    # asks to reconstruct or reveal hidden reasoning
    "trace": (
        _rule(
            (
                ("reconstruct", "recreate", "reproduce", "rewrite", "recover", "reveal", "expose"),
                ("reasoning", "thought", "thinking", "trace", "monologue", "deliberation", "chain"),
            ),
            r"(?:reconstruct|recreate|reproduce|rewrite|recover|reveal|expose)\w* (?:the |your |its |a )?"
            r"(?:full |complete |hidden |internal |original |underlying )*(?:reasoning|thoughts?|thinking|trace|"
            r"monologue|deliberation|chain)",
        ),
        _rule(
            (
                (
                    "internal monologue",
                    "internal reasoning",
                    "internal thoughts",
                    "internal deliberation",
                    "hidden reasoning",
                    "hidden thoughts",
                    "hidden chain",
                    "reasoning trace",
                    "thought trace",
                    "thinking you did",
                    "reasoning you did",
                    "how you arrived",
                    "how you got there",
                    "your thought process",
                    "思维链",
                    "推理链",
                ),
            )
        ),
    ),
    # asks for a grade or preference, as a reward model would give
    "grading": (
        _rule(
            (("rate", "score", "grade", "judge", "evaluate", "assess"), ("5", "10", "100")),
            r"\b(?:rate|score|grade|judge|evaluate|assess)\b.{0,60}?\b[01]\s*(?:-|to|–)\s*(?:5|10|100)\b",
        ),
        _rule(
            (
                (
                    "out of 5",
                    "out of 10",
                    "out of 100",
                    "rubric",
                    "preferred response",
                    "preferred answer",
                    "reward model",
                    "评分",
                    "打分",
                    "оцени",
                    "оценк",
                    "bewerte",
                    "note sur",
                    "califica",
                    "puntúa",
                    "puntua",
                ),
            )
        ),
        _rule((("which",), ("better",)), r"which (?:response|answer|completion) is better"),
        _rule((("reward",),), r"\breward\b"),
        _rule(
            (("score",), ("score each", "score the", "score this")),
            r"\bscore (?:each|the|this) (?:response|answer|completion)",
        ),
    ),
    # asks for a machine-readable record of answer plus explanation
    "structured": (
        _rule(
            (("json",), ("reasoning", "rationale", "explanation", "steps", "thought", "justification")),
            r"\bjson\b.{0,120}?\b(?:reasoning|rationale|explanation|steps|thoughts?|justification)\b",
            re.DOTALL,
        ),
        _rule(
            (("reasoning", "rationale", "explanation", "steps", "justification"), ("json",)),
            r"\b(?:reasoning|rationale|explanation|steps|justification)\b.{0,120}?\bjson\b",
            re.DOTALL,
        ),
        _rule(
            (
                (
                    "jsonl",
                    '"reasoning"',
                    '"rationale"',
                    '"steps"',
                    '"explanation"',
                    '"chain_of_thought"',
                    '"thoughts"',
                    '"thought_process"',
                    '"reasoning_steps"',
                    '"justification"',
                    "machine-readable",
                ),
            )
        ),
        _rule((("key",), ("reasoning", "steps")), r"\bkeys?\b.{0,40}?\"?(?:reasoning|steps)"),
    ),
    # asks for the hidden instructions
    "sysprompt": (
        _rule(
            (("system", "initial", "hidden", "original"), ("prompt", "instructions", "message")),
            r"(?:system|initial|hidden|original) (?:prompt|instructions|message)",
        ),
        _rule(
            (("repeat", "print", "output", "reveal", "show"), ("above", "before")),
            r"(?:repeat|print|output|reveal|show) (?:the |your |all )*(?:text|words|instructions|everything) "
            r"(?:above|before)",
        ),
        _rule((("verbatim",),)),
    ),
    # asks to rewrite an answer to fit a political line (censorship-compliant variants: a reported use)
    "policy_rewrite": (
        _rule(
            (
                ("rewrite", "rephrase", "transform", "revise", "reformulate", "adapt your answer", "改写", "перепиш"),
                (
                    "official",
                    "government",
                    "regulator",
                    "authorities",
                    "censor",
                    "narrative",
                    "propaganda",
                    "politically sensitive",
                    "官方",
                    "政府",
                    "регулятор",
                    "государств",
                ),
            )
        ),
        _rule(
            (
                (
                    "politically sensitive",
                    "official narrative",
                    "official position",
                    "official line",
                    "content regulator",
                    "censorship",
                    "state media",
                ),
            )
        ),
    ),
    # asks for many variants, examples or a dataset
    "synthetic": (
        _rule(
            (
                ("generate", "write", "create", "produce", "give me", "list"),
                (
                    "example",
                    "variation",
                    "sample",
                    "question",
                    "pair",
                    "problem",
                    "instance",
                    "item",
                    "paraphrase",
                    "prompt",
                ),
            ),
            r"\b(?:generate|write|create|produce|give me|list)\b.{0,30}?\b(?:\d{2,}|dozens?|hundreds?|many|several|"
            r"multiple|diverse)\b.{0,40}?\b(?:examples|variations|samples|questions|pairs|problems|instances|"
            r"items|paraphrases|prompts)\b",
        ),
        _rule((("training data", "dataset", "fine-tun", "finetun"),)),
    ),
}
CUE_NAMES: tuple[str, ...] = tuple(CUE_RULES)
if len(CUE_NAMES) != CUE_KINDS:  # pragma: no cover - the account state keeps one slot per cue
    raise RuntimeError(f"{len(CUE_NAMES)} cues but {CUE_KINDS} cue slots in the account state")
_RULES = tuple(CUE_RULES.values())


#: Asks that bound the answer to a label, a field or a few words or sentences: what production batch
#: jobs (classification, extraction, tagging, short summaries) need for parsing and cost, and what a
#: distiller avoids (a bounded answer carries little to train on). Evidence *against* a campaign.
BOUNDED_RULES: tuple[Rule, ...] = (
    _rule(
        (
            (
                "return",
                "output",
                "respond",
                "reply",
                "answer",
                "give",
                "print",
                "devuelve",
                "responde",
                "gib",
                "réponds",
                "верни",
                "ответь",
            ),
            ("only", "nothing else", "no explanation", "no other text", "solo", "nur", "seulement", "только"),
        ),
        r"(?:return|output|respond|reply|answer|give|print|devuelve|responde|gib|réponds|верни|ответь)"
        r"\b[^.\n]{0,60}?(?:\bonly\b|nothing else|no explanation|no other text|\bsolo\b|\bnur\b|seulement|только)",
    ),
    _rule(
        (
            ("only", "solo", "nur", "seulement", "только"),
            (
                "label",
                "code",
                "category",
                "number",
                "word",
                "path",
                "json",
                "answer",
                "letter",
                "translation",
                "list",
                "tag",
            ),
        ),
        r"(?:only|solo|nur|seulement|только) (?:the |a |one |el |la |das |le |la )?(?:\w+ )?"
        r"(?:label|code|category|number|word|path|json|answer|letter|translation|list|tags?)\b",
    ),
    _rule(
        (
            ("in ", "at most", "max", "under", "no more than", "within", "up to", "limit", "("),
            (
                "word",
                "sentence",
                "line",
                "bullet",
                "character",
                "token",
                "satz",
                "sätze",
                "frase",
                "oración",
                "phrase",
                "предложен",
            ),
        ),
        r"(?:in|at most|max(?:imum)?|under|no more than|within|up to|limit(?:ed)? to|\()\.?:? ?(?:one|two|three|"
        r"four|five|a single|a few|\d{1,3}(?:\s*[-–]\s*\d{1,3})?|zwei|drei|dos|tres|deux|trois) "
        r"(?:short |concise |brief )?(?:words?|sentences?|lines?|bullet(?: point)?s?|characters?|tokens?|sätzen?|"
        r"frases?|oraciones?|phrases?|предложени\w*)\b",
    ),
    _rule(
        (
            (
                "yes or no",
                "yes/no",
                "true or false",
                "true/false",
                "true|false",
                "one word",
                "single word",
                "one of:",
                "one of the following",
                "one-word",
                "one sentence",
                "one-sentence",
                "one line",
                "one-line",
                "sí o no",
                "ja oder nein",
                "oui ou non",
                "да или нет",
                "仅输出",
                "只输出",
                "のみを出力",
                "のみ出力",
            ),
        )
    ),
)


def _automaton() -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for rules in (*_RULES, BOUNDED_RULES):
        for rule in rules:
            for word in (*(w for group in rule.needs for w in group), *rule.starts):
                automaton.add_word(word, word)
    automaton.make_automaton()
    return automaton


_AUTOMATON = _automaton()


def words_in(text: str) -> set[str]:
    """The rule words that occur in ``text`` (as substrings), found in one pass."""
    return {word for _, word in _AUTOMATON.iter(text)} if text else set()


def cue_windows(parts: PromptParts) -> str:
    """The lower-cased user head, user tail and system head windows: the only text cues read."""
    return "\n".join(w for w in (parts.user_head, parts.user_tail, parts.system_head) if w).lower()


def bounded_output(parts: PromptParts, lower: str | None = None, found: set[str] | None = None) -> float:
    """1.0 when the user head, user tail or system head window bounds the answer (a label, a field,
    a few words or sentences), else 0.0. ``lower``: :func:`cue_windows` if already computed;
    ``found``: :func:`words_in` of it."""
    lower = cue_windows(parts) if lower is None else lower
    if not lower:
        return 0.0
    found = words_in(lower) if found is None else found
    return 1.0 if any(rule.fires(lower, found) for rule in BOUNDED_RULES) else 0.0


def cue_mask(cues: tuple[float, ...]) -> int:
    """The cues found, as a bitmask (bit i: CUE_NAMES[i])."""
    return sum(1 << i for i, found in enumerate(cues) if found)


def elicitation_cues(parts: PromptParts, lower: str | None = None, found: set[str] | None = None) -> tuple[float, ...]:
    """1.0 per cue found in the user head, user tail or system head window, else 0.0 (CUE_NAMES
    order). ``lower``: :func:`cue_windows` if already computed; ``found``: :func:`words_in` of it."""
    lower = cue_windows(parts) if lower is None else lower
    if not lower:
        return (0.0,) * len(CUE_NAMES)
    found = words_in(lower) if found is None else found
    return tuple(1.0 if any(rule.fires(lower, found) for rule in rules) else 0.0 for rules in _RULES)

"""Cheap lexical cues of output *elicitation*: words that ask a model to spell out what a
distiller wants to keep (its reasoning, a grade, a structured record, its hidden instructions).

Embeddings miss a one-line instruction diluted in a long payload and paraphrases far from every
template; a handful of generic phrases catch the commonest asks in any wording that keeps the
key words. A cue is evidence only in one direction (present: more template-like), and is never
enough alone: honest students and benchmark runs ask for steps too, which is why the account-level
features, not the cue, carry the decision.

Only bounded windows are searched (the same head / tail / system windows the encoder sees), so
the cost does not grow with the prompt.
"""

from __future__ import annotations

import re

from .text import PromptParts

_FLAGS = re.IGNORECASE

#: Cue name -> pattern. Names are part of the feature contract (``cue_<name>``).
CUE_PATTERNS: dict[str, re.Pattern[str]] = {
    # asks for the reasoning process itself
    "reasoning": re.compile(
        r"step[- ]by[- ]step|chain[- ]of[- ]thought|\bshow (?:all |every |each )?(?:of )?(?:your|the) "
        r"(?:work|steps|reasoning|thinking|derivation)|(?:full|complete|entire|detailed|explicit|whole) "
        r"(?:reasoning|derivation|thought process|chain of reasoning|working)|think(?:ing)? (?:out loud|aloud)|"
        r"reason(?:ing)? (?:through|out) (?:it|this|each)|explain (?:each|every|your) (?:step|reasoning)|"
        r"every (?:intermediate )?step|intermediate steps|before (?:giving|stating|writing) (?:the|your) "
        r"(?:final )?answer|<think(?:ing)?>|scratch ?pad|paso a paso|schritt für schritt|étape par étape|"
        r"逐步|一步一步|ステップ",
        _FLAGS,
    ),
    # asks to reconstruct or reveal hidden reasoning
    "trace": re.compile(
        r"(?:reconstruct|recreate|reproduce|rewrite|recover|reveal|expose)\w* (?:the |your |its |a )?"
        r"(?:full |complete |hidden |internal |original |underlying )*(?:reasoning|thoughts?|thinking|trace|"
        r"monologue|deliberation|chain)|internal (?:monologue|reasoning|thoughts|deliberation)|hidden "
        r"(?:reasoning|thoughts|chain)|reasoning trace|thought trace",
        _FLAGS,
    ),
    # asks for a grade or preference, as a reward model would give
    "grading": re.compile(
        r"\b(?:rate|score|grade|judge|evaluate|assess)\b.{0,60}\b(?:1|0)\s*(?:-|to|–)\s*(?:5|10|100)\b|"
        r"\bout of (?:5|10|100)\b|\brubric\b|which (?:response|answer|completion) is better|"
        r"(?:response|answer|completion) (?:a|b|1|2) (?:or|vs\.?|versus) |preferred (?:response|answer)|"
        r"\breward\b|\bscore (?:each|the|this) (?:response|answer|completion)",
        _FLAGS,
    ),
    # asks for a machine-readable record of answer plus explanation
    "structured": re.compile(
        r"\bjson\b.{0,120}\b(?:reasoning|rationale|explanation|steps|thoughts?|justification)\b|"
        r"\b(?:reasoning|rationale|explanation|steps|justification)\b.{0,120}\bjson\b|"
        r"\bjsonl\b|\"(?:reasoning|rationale|steps|explanation)\"\s*:|\bkeys?\b.{0,40}\"?(?:reasoning|steps)",
        _FLAGS | re.DOTALL,
    ),
    # asks for the hidden instructions
    "sysprompt": re.compile(
        r"(?:system|initial|hidden|original) (?:prompt|instructions|message)|(?:repeat|print|output|reveal|show)"
        r" (?:the |your |all )*(?:text|words|instructions|everything) (?:above|before)|verbatim",
        _FLAGS,
    ),
    # asks for many variants, examples or a dataset
    "synthetic": re.compile(
        r"\b(?:generate|write|create|produce|give me|list)\b.{0,30}\b(?:\d{2,}|dozens?|hundreds?|many|several|"
        r"multiple|diverse)\b.{0,40}\b(?:examples|variations|samples|questions|pairs|problems|instances|items|"
        r"paraphrases|prompts)\b|training data|dataset|fine-?tun",
        _FLAGS,
    ),
}
CUE_NAMES: tuple[str, ...] = tuple(CUE_PATTERNS)


def elicitation_cues(parts: PromptParts) -> tuple[float, ...]:
    """1.0 per cue found in the user head, user tail or system head window, else 0.0 (CUE_NAMES order)."""
    windows = "\n".join(w for w in (parts.user_head, parts.user_tail, parts.system_head) if w)
    if not windows:
        return (0.0,) * len(CUE_NAMES)
    return tuple(1.0 if pattern.search(windows) else 0.0 for pattern in CUE_PATTERNS.values())

"""What text of a request is embedded: bounded *views* of its prompt.

A distillation prompt is usually a wrapper around task content, and the wrapper sits at the start
("Solve step by step, showing all reasoning: {task}") or at the end ("{task} -- now write out your
complete chain of thought"). Embedding a whole long prompt drowns the wrapper in the task, so we
embed short windows:

* ``user_head``   the first ``HEAD_TOKENS`` tokens of the last user message;
* ``user_tail``   its last ``TAIL_TOKENS`` tokens, only when the message is longer than the head;
* ``system_head`` the first ``HEAD_TOKENS`` tokens of the system (or developer) prompt, if any.

Only bounded character windows are ever tokenised (``HEAD_CHARS`` from the start, ``TAIL_CHARS``
from the end), so a 1 MB prompt or a 100k-token agent context costs the same as a short one.
Earlier turns of the conversation are not embedded: in an agent context they are the agent's own
history, and the last user turn is what the caller asks now.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from .types import Request

HEAD_TOKENS = 128
TAIL_TOKENS = 64
HEAD_CHARS = 1024
TAIL_CHARS = 384
#: A window is also matched sentence by sentence (a one-line wrapper is diluted in its payload when
#: the window is embedded whole): at most this many segments per window, each at least
#: MIN_SEGMENT_TOKENS long.
MAX_SEGMENTS = 8
MIN_SEGMENT_TOKENS = 4
_BOUNDARY = re.compile(r"\n|[.!?;:](?=\s)")


def clean_text(text: str) -> str:
    """Replace lone surrogates (valid JSON, invalid UTF-8) so that the tokenizer never fails."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def segment_spans(
    text: str, offsets: Sequence[tuple[int, int]], lo: int, hi: int, *, from_end: bool = False
) -> list[tuple[int, int]]:
    """Token spans of the sentences / lines of ``text`` inside the token window [lo, hi), relative to lo.

    ``offsets`` are the tokens' (start, end) character offsets in ``text``. Lines and sentence ends cut
    segments; segments shorter than MIN_SEGMENT_TOKENS are dropped; at most MAX_SEGMENTS are kept
    (the first ones, or the last ones with ``from_end``). A window holding one segment gives []
    (the whole window already is that segment).
    """
    cuts = {lo, hi}
    for match in _BOUNDARY.finditer(text):
        cut = bisect_left(offsets, (match.end(),))  # the first token starting at or after it
        if lo < cut < hi:
            cuts.add(cut)
    if len(cuts) < 3:
        return []
    ordered = sorted(cuts)
    spans = [(a - lo, b - lo) for a, b in zip(ordered, ordered[1:], strict=False) if b - a >= MIN_SEGMENT_TOKENS]
    if len(spans) < 2:
        return []
    return spans[-MAX_SEGMENTS:] if from_end else spans[:MAX_SEGMENTS]


@dataclass(frozen=True, slots=True)
class PromptParts:
    """The pieces of a request that the encoder and the content features look at."""

    user_text: str
    system_text: str
    n_user_chars: int

    @property
    def user_head(self) -> str:
        return clean_text(self.user_text[:HEAD_CHARS])

    @property
    def user_tail(self) -> str:
        """The last TAIL_CHARS characters when the message is longer than the head window, else ''."""
        if self.n_user_chars <= HEAD_CHARS:
            return ""
        return clean_text(self.user_text[-TAIL_CHARS:])

    @property
    def system_head(self) -> str:
        return clean_text(self.system_text[:HEAD_CHARS])


def prompt_parts(request: Request) -> PromptParts:
    """Find the last user message and the first system/developer prompt of a request."""
    user_text = ""
    for message in reversed(request.messages):
        if message.role == "user":
            user_text = message.text()
            break
    system_text = ""
    for message in request.messages:
        if message.role in ("system", "developer"):
            system_text = message.text()
            break
    return PromptParts(user_text=user_text, system_text=system_text, n_user_chars=len(user_text))

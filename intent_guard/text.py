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

from dataclasses import dataclass

from .types import Request

HEAD_TOKENS = 128
TAIL_TOKENS = 64
HEAD_CHARS = 1024
TAIL_CHARS = 384


def clean_text(text: str) -> str:
    """Replace lone surrogates (valid JSON, invalid UTF-8) so that the tokenizer never fails."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


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

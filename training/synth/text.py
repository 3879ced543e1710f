"""Text sources: the real prompt corpus, the wrapper phrase bank, and wrappers composed from it.

The corpus (``../shared/data/prompts``) supplies payloads; ``training/synth_text.json`` supplies every
word the generator adds around them (wrappers, system-prompt parts, tool concepts, names). A
:class:`Wrapper` is an instruction around a ``{task}`` placeholder, optionally moved into the system
prompt. Wrappers are either taken literally from a list or composed from slot banks (lead,
reasoning demand, output format, payload frame), so one campaign's family of wrappers differs from
another's and from any fixed template list.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "prompts"
SYNTH_TEXT = Path(__file__).resolve().parents[1] / "synth_text.json"
#: Payloads longer than this are cut (a handful of corpus items run to tens of kilobytes).
MAX_PAYLOAD_CHARS = 6000


class Corpus:
    """Real prompts grouped by kind (``kind`` and ``text`` of every ``*.jsonl`` record in a folder)."""

    def __init__(self, folder: Path = DEFAULT_CORPUS) -> None:
        if not folder.is_dir():
            raise SystemExit(f"prompt corpus not found: {folder} (pass --corpus DIR)")
        self.by_kind: dict[str, list[dict[str, Any]]] = {}
        for file in sorted(folder.glob("*.jsonl")):
            with file.open(encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        record = json.loads(line)
                        self.by_kind.setdefault(record.get("kind", file.stem), []).append(record)
        if not self.by_kind:
            raise SystemExit(f"no *.jsonl prompts under {folder}")
        self._pools: dict[tuple[str, ...], list[dict[str, Any]]] = {}

    def pool(self, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
        """All records of ``kinds`` (every record if none of them exists), cached."""
        pool = self._pools.get(kinds)
        if pool is None:
            pool = [rec for k in kinds for rec in self.by_kind.get(k, ())]
            if not pool:
                pool = [rec for recs in self.by_kind.values() for rec in recs]
            self._pools[kinds] = pool
        return pool

    def pick(self, r: random.Random, *kinds: str) -> dict[str, Any]:
        """One record of the given kinds, each record equally likely."""
        return r.choice(self.pool(kinds))

    def text(self, r: random.Random, *kinds: str, limit: int = MAX_PAYLOAD_CHARS) -> str:
        """The text of one record of the given kinds, cut to ``limit`` characters."""
        return r.choice(self.pool(kinds))["text"][:limit]


class TextBank:
    """The phrase bank of ``synth_text.json``: named lists of strings (and a few nested tables)."""

    def __init__(self, path: Path = SYNTH_TEXT) -> None:
        self.data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def pick(self, r: random.Random, key: str) -> str:
        """One string of list ``key``."""
        return r.choice(self.data[key])

    def sample(self, r: random.Random, key: str, k: int) -> list[str]:
        """``k`` distinct strings of list ``key`` (fewer if the list is shorter)."""
        items = self.data[key]
        return r.sample(items, min(k, len(items)))


def fill(template: str, task: str | None = None, **slots: str) -> str:
    """Replace ``{name}`` slots, then ``{task}`` last (payloads may contain braces of their own);
    without a task, ``{task}`` is left for a later fill."""
    out = template
    for name, value in slots.items():
        out = out.replace("{" + name + "}", value)
    return out if task is None else out.replace("{task}", task)


@dataclass(frozen=True, slots=True)
class Wrapper:
    """An instruction around a ``{task}`` payload; ``system`` set when the instruction lives there."""

    user: str
    system: str | None = None

    def render(self, task: str, **slots: str) -> tuple[str | None, str]:
        """The (system, user) texts for one payload."""
        system = fill(self.system, task, **slots) if self.system else None
        return system, fill(self.user, task, **slots)


PLACEMENTS = ("before", "after", "system")


def _place(r: random.Random, bank: TextBank, instruction: str, placement: str) -> Wrapper:
    frame = bank.pick(r, "elicit_frame")
    if placement == "system":
        return Wrapper(user=frame, system=f"{bank.pick(r, 'elicit_persona')} {instruction}".strip())
    sep = r.choice(("\n\n", "\n", " ", "\n\n---\n"))
    return Wrapper(user=f"{frame}{sep}{instruction}" if placement == "after" else f"{instruction}{sep}{frame}")


def compose(
    r: random.Random,
    bank: TextBank,
    placement: str,
    demands: str = "elicit_reason",
    formats: str | None = "elicit_format",
) -> Wrapper:
    """An instruction composed from lead / demand / format slots (``demands`` and ``formats`` name
    bank lists), placed before or after the payload or in the system prompt."""
    parts = []
    if r.random() < 0.6:
        parts.append(bank.pick(r, "elicit_lead"))
    parts += bank.sample(r, demands, r.randint(1, 3))
    if formats and r.random() < 0.75:
        parts.append(bank.pick(r, formats))
    return _place(r, bank, " ".join(parts), placement)


def json_schema(r: random.Random, bank: TextBank) -> str:
    """A JSON output instruction with a reasoning field and an answer field (names drawn)."""
    keys = [f'"{bank.pick(r, "json_reason_keys")}": {bank.pick(r, "json_reason_values")}']
    keys.append(f'"{bank.pick(r, "json_answer_keys")}": "<answer>"')
    for extra in bank.sample(r, "json_extra_keys", r.choice((0, 0, 1, 2))):
        keys.append(f'"{extra}": "<{extra}>"')
    if r.random() < 0.3:
        keys.reverse()
    return fill(bank.pick(r, "json_instructions"), schema="{" + ", ".join(keys) + "}")


def compose_json(r: random.Random, bank: TextBank, placement: str) -> Wrapper:
    """A structured-output wrapper: JSON with a reasoning field (capability sweeps, judges)."""
    parts = [bank.pick(r, "elicit_lead")] if r.random() < 0.4 else []
    if r.random() < 0.5:
        parts.append(bank.pick(r, "elicit_reason"))
    parts.append(json_schema(r, bank))
    return _place(r, bank, " ".join(parts), placement)


def casualise(r: random.Random, text: str) -> str:
    """Light human noise: lower case, dropped final period, a doubled space."""
    if r.random() < 0.35:
        text = text.lower()
    if r.random() < 0.3 and text.endswith("."):
        text = text[:-1]
    if r.random() < 0.1:
        text = text.replace(". ", ".  ", 1)
    return text


def compose_casual(r: random.Random, bank: TextBank) -> Wrapper:
    """A chatty, one-off paraphrase of "show me all your reasoning" (slow-and-low campaigns)."""
    lead = bank.pick(r, "casual_lead")
    ask = bank.pick(r, "casual_reason")
    close = bank.pick(r, "casual_close")
    text = f"{lead} {ask}: {{task}} {close}" if r.random() < 0.5 else f"{lead} {{task}}\n\n{ask} {close}"
    return Wrapper(user=casualise(r, text.strip()))


def multilingual(r: random.Random, bank: TextBank, lang: str, kind: str) -> Wrapper:
    """A wrapper written in ``lang`` (``kind`` is ``cot``, ``json`` or ``student``)."""
    return Wrapper(user=r.choice(bank["multilingual"][lang][kind]))

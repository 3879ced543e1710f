"""Message builders shared by the populations: chat turns, agent transcripts, images, tables."""

from __future__ import annotations

import json
from typing import Any

from .engine import Ctx, Message
from .text import fill

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def user(content: str | list[dict[str, Any]]) -> Message:
    return {"role": "user", "content": content}


def system(content: str) -> Message:
    return {"role": "system", "content": content}


def assistant(content: str) -> Message:
    return {"role": "assistant", "content": content}


def image_part(ctx: Ctx) -> dict[str, Any]:
    """A short placeholder image part (``data:`` URL)."""
    r = ctx.r
    kind = r.choice(("png", "jpeg", "webp"))
    data = "".join(r.choice(_B64) for _ in range(r.randint(12, 32)))
    return {"type": "image_url", "image_url": {"url": f"data:image/{kind};base64,{data}"}}


def with_images(ctx: Ctx, text: str, n: int = 1) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [image_part(ctx) for _ in range(n)]
    text_part = {"type": "text", "text": text}
    return [text_part, *parts] if ctx.r.random() < 0.6 else [*parts, text_part]


def reply(ctx: Ctx) -> str:
    """A plausible assistant turn (earlier turns of a conversation)."""
    bank, r = ctx.bank, ctx.r
    return " ".join(bank.sample(r, "assistant_replies", r.randint(1, 3)))


def answer_text(ctx: Ctx) -> str:
    """A short candidate answer (graded by judges and reward-model prompts)."""
    r = ctx.r
    return fill(ctx.bank.pick(r, "answer_templates"), num=str(r.randint(1, 999)), letter=r.choice("ABCD"))


def history(ctx: Ctx, turns: int, kinds: tuple[str, ...] = ("benign_chat",)) -> list[Message]:
    """``turns`` earlier user/assistant exchanges."""
    out: list[Message] = []
    for i in range(turns):
        text = ctx.corpus.text(ctx.r, *kinds, limit=600) if i == 0 else ctx.bank.pick(ctx.r, "chat_followups")
        out += [user(text), assistant(reply(ctx))]
    return out


def csv_table(ctx: Ctx) -> tuple[str, str, str]:
    """A small CSV table and the (value column, group column) it has."""
    r, bank = ctx.r, ctx.bank
    value, group = bank.pick(r, "data_columns"), bank.pick(r, "data_groups")
    labels = bank.sample(r, "data_group_values", r.randint(2, 5))
    rows = [f"{group},{value},date"]
    year = r.randint(2019, 2027)
    for _ in range(r.randint(5, 18)):
        day = f"{year}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
        rows.append(f"{r.choice(labels)},{r.uniform(0, 1000):.{r.randint(0, 2)}f},{day}")
    return "\n".join(rows), value, group


def corpus_tools(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The corpus record's function definitions in OpenAI ``tools`` shape (cached on the record)."""
    cached = record.get("_openai_tools")
    if cached is None:
        cached = []
        for tool in record.get("tools") or ():
            fn = dict(tool)
            params = fn.get("parameters")
            if isinstance(params, dict) and params.get("type") == "dict":
                fn["parameters"] = {**params, "type": "object"}
            cached.append({"type": "function", "function": fn})
        record["_openai_tools"] = cached
    return cached


def _arg(ctx: Ctx, name: str, spec: dict[str, Any]) -> Any:
    r, bank = ctx.r, ctx.bank
    kind = spec.get("type", "string")
    if kind == "integer":
        return r.randint(1, 400)
    if kind == "number":
        return round(r.uniform(0, 100), 2)
    if kind == "boolean":
        return r.random() < 0.5
    if kind == "array":
        return [bank.pick(r, "search_terms")]
    if kind == "object":
        return {}
    if "path" in name or "file" in name or name in ("target", "dir", "directory"):
        return f"{bank.pick(r, 'code_dirs')}/{bank.pick(r, 'code_files')}.{bank.pick(r, 'code_exts')}"
    if "command" in name or name in ("cmd", "script"):
        return bank.pick(r, "shell_commands")
    if name in ("old", "new", "old_str", "new_str", "content", "text", "patch", "diff", "code", "replacement"):
        return bank.pick(r, "code_lines")
    if "url" in name:
        return f"https://{bank.pick(r, 'name_syllables')}docs.dev/{bank.pick(r, 'search_terms').replace(' ', '-')}"
    if name.endswith("_id") or name == "id":
        return f"{name[:3].upper()}{r.randint(10000, 99999)}"
    if "email" in name:
        return f"{bank.pick(r, 'name_syllables')}{r.randint(1, 99)}@example.com"
    return bank.pick(r, "search_terms")


def tool_call(ctx: Ctx, tool: dict[str, Any]) -> tuple[str, str, str]:
    """(call id, function name, JSON arguments) for one call of ``tool``."""
    fn = tool.get("function", tool)
    props = (fn.get("parameters") or {}).get("properties") or {}
    required = (fn.get("parameters") or {}).get("required") or list(props)[:1]
    args = {k: _arg(ctx, k, props.get(k) or {}) for k in props if k in required or ctx.r.random() < 0.3}
    return f"call_{ctx.r.getrandbits(48):012x}", fn.get("name", "tool"), json.dumps(args, ensure_ascii=False)


def tool_result(ctx: Ctx, name: str) -> str:
    """A plausible, short tool output for a tool named ``name``."""
    r, bank, low = ctx.r, ctx.bank, name.lower()
    if any(k in low for k in ("read", "view", "open", "cat", "show")):
        return ctx.corpus.text(r, "benchmark_code", limit=r.randint(150, 400))
    if any(k in low for k in ("test", "run", "exec", "bash", "terminal", "command", "shell", "build", "lint")):
        return bank.pick(r, "shell_results")
    if any(k in low for k in ("search", "grep", "find", "glob", "list", "ls", "dir", "symbol")):
        files = [f"{bank.pick(r, 'code_dirs')}/{bank.pick(r, 'code_files')}.{bank.pick(r, 'code_exts')}"]
        files += [f"{bank.pick(r, 'code_dirs')}/{bank.pick(r, 'code_files')}.py" for _ in range(r.randint(0, 5))]
        return "\n".join(files)
    return fill(bank.pick(r, "generic_results"), id=str(r.randint(1000, 99999)), n=str(r.randint(0, 50)))


def agent_transcript(
    ctx: Ctx,
    head: list[Message],
    tools: list[dict[str, Any]],
    steps: int,
    *,
    react: bool = False,
    thoughts: str = "agent_thoughts",
) -> list[Message]:
    """``head`` (system / user turns) then ``steps`` assistant tool calls, each followed by its result.

    Request ``i`` of an agent loop sends ``transcript[: len(head) + 2 * i]``. With ``react`` the calls
    are written as Thought / Action / Observation text instead of native ``tool_calls``.
    """
    r, bank = ctx.r, ctx.bank
    out = list(head)
    for _ in range(steps):
        tool = r.choice(tools) if tools else {"function": {"name": "search", "parameters": {}}}
        call_id, name, args = tool_call(ctx, tool)
        thought = bank.pick(r, thoughts)
        result = tool_result(ctx, name)
        if react:
            out.append(assistant(f"Thought: {thought}\nAction: {name}\nAction Input: {args}"))
            out.append(user(f"Observation: {result}"))
        else:
            call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}
            out.append({"role": "assistant", "content": thought if r.random() < 0.7 else "", "tool_calls": [call]})
            out.append({"role": "tool", "tool_call_id": call_id, "content": result})
    return out

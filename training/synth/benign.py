"""Benign populations (label 0), several of them deliberately campaign-like.

Each class owns one population and a frozen parameter dataclass; see the package docstring for
what each does and why it is here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .content import (
    agent_transcript,
    answer_text,
    assistant,
    history,
    reply,
    system,
    user,
    with_images,
)
from .engine import Account, Ctx, Message, Population, log_uniform
from .params import Params, Span, count, int_span, rate, span
from .text import Wrapper, compose, compose_json, fill, json_schema, multilingual
from .world import DAY, HOUR, Product

# -- shared message builders (also used for real customer traffic behind resellers) -------------


def _placement(ctx: Ctx) -> str:
    return "after" if ctx.r.random() < 0.5 else "before"


def stepwise_wrapper(ctx: Ctx) -> Wrapper:
    """A step-by-step request as honest users write it: literal, composed or a student's phrasing."""
    r, bank = ctx.r, ctx.bank
    roll = r.random()
    if roll < 0.3:
        return Wrapper(bank.pick(r, "campaign_cot"))
    if roll < 0.6:
        return compose(r, bank, _placement(ctx))
    return Wrapper(bank.pick(r, "student_stepwise"))


def chat_text(ctx: Ctx, acct: Account, p: CasualParams) -> str | list[dict[str, Any]]:
    """One casual user turn: a real prompt, sometimes with an opener, a format ask, or an image."""
    r, bank = ctx.r, ctx.bank
    roll = r.random()
    if roll < p.harmful_topic_rate:
        task = ctx.corpus.text(r, "harmful_request")
    elif roll < p.harmful_topic_rate + 0.12:
        task = ctx.corpus.text(r, "benchmark_knowledge", "benchmark_math")
    elif roll < p.harmful_topic_rate + 0.17:
        task = ctx.corpus.text(r, "function_calling")
    else:
        task = ctx.corpus.text(r, "benign_chat")
    roll = r.random()
    if roll < p.step_by_step_rate:
        text = stepwise_wrapper(ctx).render(task)[1]
    elif roll < p.step_by_step_rate + p.json_rate:
        text = compose_json(r, bank, _placement(ctx)).render(task)[1]
    elif acct.lang and r.random() < p.native_language_rate:
        text = multilingual(r, bank, acct.lang, "casual").render(task)[1]
    elif r.random() < p.opener_rate:
        text = fill(bank.pick(r, "chat_openers"), task)
    else:
        text = task
    if r.random() < p.image_rate:
        return with_images(ctx, text if r.random() < 0.5 else bank.pick(r, "vision_asks"))
    return text


def student_text(ctx: Ctx, acct: Account, p: StudentsParams) -> str | list[dict[str, Any]]:
    """A homework question, often asking for the steps."""
    r, bank = ctx.r, ctx.bank
    task = ctx.corpus.text(r, "benchmark_math", "benchmark_knowledge", "benchmark_code")
    roll = r.random()
    if roll < p.step_by_step_rate:
        text = stepwise_wrapper(ctx).render(task)[1]
    elif roll < p.step_by_step_rate + p.stepwise_phrasing_rate:
        if acct.lang and r.random() < p.native_language_rate:
            kind = "cot" if r.random() < 0.4 else "student"
            text = multilingual(r, bank, acct.lang, kind).render(task)[1]
        else:
            text = fill(bank.pick(r, "student_stepwise"), task)
    elif roll < p.step_by_step_rate + p.stepwise_phrasing_rate + p.json_rate:
        text = compose_json(r, bank, "after").render(task)[1]
    else:
        text = task
    if r.random() < p.image_rate:
        return with_images(ctx, bank.pick(r, "vision_asks") if r.random() < 0.6 else text)
    return text


def coding_ask(ctx: Ctx, verbose_rate: float) -> str:
    """A developer's request to a coding assistant; sometimes as demanding as a campaign's."""
    r, bank = ctx.r, ctx.bank
    task = ctx.corpus.text(r, "benchmark_code", "agentic_task", limit=2500)
    if r.random() < verbose_rate:
        if r.random() < 0.4:
            return fill(bank.pick(r, "campaign_coding"), task)
        return compose(r, bank, _placement(ctx), "coding_demands", None).render(task)[1]
    return fill(bank.pick(r, "coding_user_asks"), task)


def conversation(ctx: Ctx, first: str | list[dict[str, Any]], turns: int, followups: str) -> list[list[Message]]:
    """The message lists of a ``turns``-request conversation that opens with ``first``."""
    out = [[user(first)]]
    for _ in range(turns - 1):
        out.append([*out[-1], assistant(reply(ctx)), user(ctx.bank.pick(ctx.r, followups))])
    return out


def customer_request(ctx: Ctx, acct: Account, t: float, population: str, label: int = 0) -> None:
    """One request of an end customer behind a gateway (chat, homework, coding, or a RAG-style ask)."""
    r = ctx.r
    roll = r.random()
    if roll < 0.5:
        messages = [user(chat_text(ctx, acct, _CASUAL))]
        if r.random() < 0.3:
            messages = history(ctx, r.randint(1, 4)) + messages
    elif roll < 0.68:
        messages = [user(student_text(ctx, acct, _STUDENTS))]
    elif roll < 0.85:
        messages = [user(coding_ask(ctx, 0.1))]
        if r.random() < 0.4:
            messages.insert(0, system(ctx.bank.pick(r, "generic_system_prompts")))
    else:
        product = r.choice(ctx.world.rag_products)
        messages = rag_messages(ctx, product)
    ctx.emit(acct, t, messages, label=label, population=population)


def passage(ctx: Ctx) -> str:
    """A retrieved passage: a window of a long document-like text (policies, answers, prompts)."""
    r = ctx.r
    text = ctx.corpus.text(r, "agent_system_prompt", "llm_judge", "benign_chat", "benchmark_knowledge", limit=100_000)
    size = r.randint(200, 700)
    if len(text) <= size:
        return text
    start = r.randrange(len(text) - size)
    return text[start : start + size]


def rag_messages(ctx: Ctx, product: Product) -> list[Message]:
    """App system prompt + retrieved passages + a question, in the product's own layout."""
    r, extra = ctx.r, product.extra
    lo, hi = extra["passages"]
    passages = "\n\n".join(fill(extra["passage"], passage(ctx), i=str(i + 1)) for i in range(r.randint(lo, hi)))
    question = ctx.corpus.text(r, "benign_chat", "benchmark_knowledge", limit=800)
    if extra["in_system"]:
        return [system(f"{product.system_prompt}\n\n{passages}"), user(question)]
    return [system(product.system_prompt), user(fill(extra["user"], question, passages=passages))]


def team_billing(ctx: Ctx, shared: bool) -> tuple[str | None, str | None]:
    """(payment fingerprint, org id) shared by a team, or (None, None) for per-account ones."""
    return (ctx.uid("pm"), ctx.uid("org", 5)) if shared else (None, None)


# -- populations ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CasualParams(Params):
    """Casual chat users."""

    accounts: int = count(170)
    requests_per_day: Span = span((1.0, 10.0), low=0.01)
    session_size: Span = span((1.0, 6.0), low=1.0)
    multi_turn_rate: float = rate(0.35)
    max_turns: int = count(8, low=1)
    opener_rate: float = rate(0.25)
    step_by_step_rate: float = rate(0.04)
    json_rate: float = rate(0.02)
    image_rate: float = rate(0.05)
    native_language_rate: float = rate(0.15)
    harmful_topic_rate: float = rate(0.03)
    console_rate: float = rate(0.3)
    reseller_rate: float = rate(0.03)
    shared_card_rate: float = rate(0.05)
    signup_in_window_rate: float = rate(0.08)
    adopt_rate: float = rate(0.3)
    adopt_delay_hours: Span = span((6.0, 120.0))
    new_share: Span = span((0.3, 1.0), high=1.0)


_CASUAL = CasualParams()


class Casual(Population):
    """People chatting: diurnal sessions, multi-turn conversations, the odd image or format ask."""

    name, label, params_type = "casual", 0, CasualParams

    def run(self, ctx: Ctx) -> None:
        p: CasualParams = self.p
        r, w = ctx.r, ctx.world
        household: tuple[str, str] | None = None
        for _ in range(ctx.count(p.accounts)):
            console = r.random() < p.console_rate
            path = "reseller" if r.random() < p.reseller_rate else "console" if console else "api"
            payment = org = None
            if household is not None:  # a second account on a family member's card
                payment, org, household = household[0], household[1], None
            elif r.random() < p.shared_card_rate:
                household = (ctx.uid("pm"), ctx.uid("org", 5))
                payment, org = household
            acct = ctx.account(
                self.name,
                created_at=ctx.signup_in_window() if r.random() < p.signup_in_window_rate else None,
                payment=payment,
                org=org,
                ips=[ctx.residential_ip() for _ in range(r.randint(1, 4))],
                user_agent=r.choice(w.browser_agents) if console else None,
                access_path=path,
                keys=r.randint(1, 2),
                habit=ctx.habit(p.adopt_rate, p.adopt_delay_hours, p.new_share),
            )
            sessions = ctx.diurnal_sessions(
                acct, log_uniform(r, *p.requests_per_day), r.uniform(*p.session_size), 70.0, peak=r.uniform(11, 22)
            )
            for k, times in enumerate(sessions):
                sid = ctx.session_id(acct, k)
                if r.random() < p.multi_turn_rate:
                    turns = conversation(ctx, chat_text(ctx, acct, p), min(len(times), p.max_turns), "chat_followups")
                    for t, messages in zip(times.tolist(), turns, strict=False):
                        ctx.emit(acct, t, messages, session=sid)
                else:
                    for t in times.tolist():
                        ctx.emit(acct, t, [user(chat_text(ctx, acct, p))], session=sid)


@dataclass(frozen=True, kw_only=True)
class StudentsParams(Params):
    """Students doing homework."""

    accounts: int = count(80)
    requests_per_day: Span = span((2.0, 14.0), low=0.01)
    session_size: Span = span((2.0, 9.0), low=1.0)
    step_by_step_rate: float = rate(0.3)
    stepwise_phrasing_rate: float = rate(0.4)
    json_rate: float = rate(0.01)
    followup_rate: float = rate(0.3)
    max_turns: int = count(6, low=1)
    system_prompt_rate: float = rate(0.1)
    native_language_rate: float = rate(0.25)
    image_rate: float = rate(0.08)
    campus_nat_rate: float = rate(0.5)
    family_card_rate: float = rate(0.05)
    signup_in_window_rate: float = rate(0.15)
    adopt_rate: float = rate(0.25)
    adopt_delay_hours: Span = span((12.0, 150.0))
    new_share: Span = span((0.3, 1.0), high=1.0)


_STUDENTS = StudentsParams()


class Students(Population):
    """Students asking for worked, step-by-step answers: the very words reasoning harvesters use."""

    name, label, params_type = "students", 0, StudentsParams

    def run(self, ctx: Ctx) -> None:
        p: StudentsParams = self.p
        r = ctx.r
        campuses = [ctx.ips_in(f"{ctx.residential_ip().rsplit('.', 1)[0]}", 6) for _ in range(r.randint(2, 5))]
        family: tuple[str, str] | None = None
        for _ in range(ctx.count(p.accounts)):
            payment = org = None
            if r.random() < p.family_card_rate:
                family = family or (ctx.uid("pm"), ctx.uid("org", 5))
                payment, org = family
            ips = r.choice(campuses) if r.random() < p.campus_nat_rate else [ctx.residential_ip()]
            acct = ctx.account(
                self.name,
                created_at=ctx.signup_in_window() if r.random() < p.signup_in_window_rate else None,
                payment=payment,
                org=org,
                ips=ips,
                access_path="console" if r.random() < 0.4 else "api",
                habit=ctx.habit(p.adopt_rate, p.adopt_delay_hours, p.new_share),
            )
            # Some set a tutor persona of their own ("explain every step") in the system prompt.
            head = [system(compose(r, ctx.bank, "system").system or "")] if r.random() < p.system_prompt_rate else []
            sessions = ctx.diurnal_sessions(
                acct, log_uniform(r, *p.requests_per_day), r.uniform(*p.session_size), 150.0, peak=20.0, spread=3.0
            )
            for k, times in enumerate(sessions):
                sid = ctx.session_id(acct, k)
                if r.random() < p.followup_rate:
                    turns = conversation(
                        ctx, student_text(ctx, acct, p), min(len(times), p.max_turns), "student_followups"
                    )
                    for t, messages in zip(times.tolist(), turns, strict=False):
                        ctx.emit(acct, t, head + messages, session=sid)
                else:
                    for t in times.tolist():
                        ctx.emit(acct, t, [*head, user(student_text(ctx, acct, p))], session=sid)


@dataclass(frozen=True, kw_only=True)
class IdeAgentParams(Params):
    """Developer teams using the world's IDE agent products."""

    teams: int = count(12)
    team_size: tuple[int, int] = int_span((1, 10), low=1)
    shared_billing_rate: float = rate(0.75)
    requests_per_day: Span = span((5.0, 60.0), low=0.01)
    steps_per_task: tuple[int, int] = int_span((1, 14), low=1)
    step_gap_s: Span = span((4.0, 25.0), low=0.1)
    verbose_ask_rate: float = rate(0.15)
    background_agent_rate: float = rate(0.15)
    image_rate: float = rate(0.03)
    weekend_activity: float = rate(0.25)
    adopt_rate: float = rate(0.6)
    adopt_delay_hours: Span = span((0.5, 48.0))
    new_share: Span = span((0.5, 1.0), high=1.0)


def ide_system_prompt(ctx: Ctx, product: Product) -> str:
    """The product's fixed prompt plus the per-account environment block (working dir, OS, shell)."""
    r, bank = ctx.r, ctx.bank
    env = product.extra.get("env") or ""
    if not env:
        return product.system_prompt
    root = r.choice(("home", "Users", "workspace", "srv"))
    cwd = f"/{root}/{bank.pick(r, 'name_syllables')}/{bank.pick(r, 'repo_names')}"
    block = fill(
        env, os=r.choice(("linux", "darwin", "win32")), shell=r.choice(("bash", "zsh", "fish", "pwsh")), cwd=cwd
    )
    return f"{product.system_prompt}\n\n{block}"


def agent_loop(
    ctx: Ctx,
    acct: Account,
    times: list[float],
    head: list[Message],
    tools: list[dict[str, Any]],
    sid: str,
    *,
    react: bool = False,
    thoughts: str = "agent_thoughts",
) -> None:
    """Emit one agent task: request ``i`` carries the transcript up to the ``i``-th tool result."""
    transcript = agent_transcript(ctx, head, tools, len(times) - 1, react=react, thoughts=thoughts)
    for i, t in enumerate(times):
        ctx.emit(acct, t, transcript[: len(head) + 2 * i], tools=tools, session=sid)


class IdeAgent(Population):
    """Developers in IDE agents: one product's system prompt and 12-40 tools shared by dozens of
    accounts, agent loops with tool results, asks that read like agentic-coding probes."""

    name, label, params_type = "ide_agent", 0, IdeAgentParams

    def run(self, ctx: Ctx) -> None:
        p: IdeAgentParams = self.p
        r, w = ctx.r, ctx.world
        for _ in range(ctx.count(p.teams)):
            product = r.choices(w.ide_products, weights=w.ide_popularity)[0]
            payment, org = team_billing(ctx, r.random() < p.shared_billing_rate)
            office = ctx.ips_in(ctx.residential_ip().rsplit(".", 1)[0], 3)
            country = ctx.country()
            for _ in range(r.randint(*p.team_size)):
                acct = ctx.account(
                    self.name,
                    payment=payment,
                    org=org,
                    ips=office + [ctx.residential_ip()],
                    user_agent=product.user_agent if r.random() < 0.9 else None,
                    country=country,
                    keys=r.randint(1, 3),
                    habit=ctx.habit(p.adopt_rate, p.adopt_delay_hours, p.new_share),
                    product=product,
                )
                prompt = ide_system_prompt(ctx, product)
                per_day = log_uniform(r, *p.requests_per_day)
                steps = sum(p.steps_per_task) / 2
                gap = r.uniform(*p.step_gap_s)
                sessions = ctx.diurnal_sessions(
                    acct, per_day, steps, gap, peak=r.uniform(11, 16), spread=3.0, weekend=p.weekend_activity
                )
                if r.random() < p.background_agent_rate:  # agents left running overnight
                    sessions += ctx.diurnal_sessions(acct, per_day / 2, steps, gap, peak=3.0, spread=8.0)
                for k, times in enumerate(sessions):
                    times = times[: r.randint(*p.steps_per_task)].tolist()
                    ask: str | list[dict[str, Any]] = coding_ask(ctx, p.verbose_ask_rate)
                    if r.random() < p.image_rate:
                        ask = with_images(ctx, ask)
                    head = [system(prompt), user(ask)]
                    agent_loop(ctx, acct, times, head, product.tools, ctx.session_id(acct, k))


@dataclass(frozen=True, kw_only=True)
class EnterpriseBatchParams(Params):
    """Companies running templated batch jobs."""

    companies: int = count(5)
    accounts_per_company: tuple[int, int] = int_span((1, 6), low=1)
    keys_per_account: tuple[int, int] = int_span((1, 6), low=1)
    requests_per_day: Span = span((5.0, 100.0), low=0.01)
    round_the_clock_rate: float = rate(0.5)
    judge_job_rate: float = rate(0.25)
    reasoning_field_rate: float = rate(0.5)
    system_prompt_rate: float = rate(0.5)
    marketplace_rate: float = rate(0.35)
    adopt_rate: float = rate(0.1)
    adopt_delay_hours: Span = span((24.0, 150.0))
    new_share: Span = span((0.2, 1.0), high=1.0)


def enterprise_job(ctx: Ctx, p: EnterpriseBatchParams) -> tuple[str | None, str, tuple[str, ...], bool]:
    """(system prompt, template with ``{task}``/``{answer}``, payload kinds, is_judge) of one cron job."""
    r, bank = ctx.r, ctx.bank
    sys_prompt = bank.pick(r, "ent_system") if r.random() < p.system_prompt_rate else None
    if r.random() < p.judge_job_rate:
        if r.random() < 0.4:
            return sys_prompt, bank.pick(r, "enterprise_judge"), ("benign_chat",), True
        criteria = ", ".join(bank.sample(r, "judge_criteria", r.randint(1, 4)))
        template = fill(bank.pick(r, "judge_templates"), criteria=criteria, scale=str(r.choice((5, 10, 100))))
        return sys_prompt, template.replace("{schema}", json_schema(r, bank)), ("benign_chat", "llm_judge"), True
    doc_type = bank.pick(r, "ent_doc_types")
    slots = {
        "doc_type": doc_type,
        "labels": ", ".join(r.choice(bank["ent_label_sets"])),
        "fields": ", ".join(bank.sample(r, "ent_fields", r.randint(2, 6))),
        "lang": bank.pick(r, "ent_languages"),
        "company": bank.pick(r, "name_syllables").capitalize(),
    }
    if r.random() < p.reasoning_field_rate:
        template = fill(bank.pick(r, "ent_reasoning_templates"), **slots)
    else:
        template = fill(r.choice(bank["ent_templates"] + bank["enterprise_batch"]), **slots)
    return sys_prompt, template, ("benign_chat", "agentic_task", "benchmark_knowledge", "harmful_request"), False


class EnterpriseBatch(Population):
    """Templated cron jobs (classification with a reasoning field, extraction, LLM-as-judge grading),
    often round the clock; several accounts of one company share one card and one org."""

    name, label, params_type = "enterprise_batch", 0, EnterpriseBatchParams

    def run(self, ctx: Ctx) -> None:
        p: EnterpriseBatchParams = self.p
        r, w = ctx.r, ctx.world
        for _ in range(ctx.count(p.companies)):
            payment, org = ctx.uid("pm"), ctx.uid("org", 5)
            ips = ctx.ips_in(ctx.cloud_block(), r.randint(1, 4))
            path = "cloud-marketplace" if r.random() < p.marketplace_rate else "api"
            agent, country = r.choice(w.sdk_agents), ctx.country()
            for _ in range(r.randint(*p.accounts_per_company)):
                acct = ctx.account(
                    self.name,
                    payment=payment,
                    org=org,
                    ips=ips,
                    user_agent=agent,
                    access_path=path,
                    country=country,
                    keys=r.randint(*p.keys_per_account),
                    habit=ctx.habit(p.adopt_rate, p.adopt_delay_hours, p.new_share),
                )
                sys_prompt, template, kinds, judge = enterprise_job(ctx, p)
                per_day = log_uniform(r, *p.requests_per_day)
                t0, t1 = ctx.window(acct)
                if r.random() < p.round_the_clock_rate:
                    times = ctx.regular(t0 + r.uniform(0, 600), t1, DAY / per_day, r.uniform(0.01, 0.3))
                else:  # a nightly (local) window, then batches fired fast
                    hour, length = r.uniform(0, 6), r.uniform(0.5, 3.0)
                    day0 = math.floor((t0 + acct.tz * HOUR) / DAY)
                    chunks = []
                    for day in range(day0, day0 + int(w.days) + 2):
                        s = day * DAY + (hour - acct.tz) * HOUR
                        chunks += ctx.regular(s, s + length * HOUR, length * HOUR / per_day, 0.2).tolist()
                    times = [t for t in chunks if t0 <= t < t1]
                times = list(times)
                for i, t in enumerate(times):
                    doc = ctx.corpus.text(r, *kinds, limit=3000)
                    text = fill(template, doc, answer=answer_text(ctx) if judge else "")
                    messages = [system(sys_prompt), user(text)] if sys_prompt else [user(text)]
                    ctx.emit(acct, t, messages, session=ctx.session_id(acct, i // 200))


@dataclass(frozen=True, kw_only=True)
class EvalTeamsParams(Params):
    """Model-evaluation teams running benchmark sweeps."""

    teams: int = count(5)
    team_size: tuple[int, int] = int_span((1, 4), low=1)
    sweeps: tuple[int, int] = int_span((1, 3))
    sweep_items: tuple[int, int] = int_span((80, 400), low=1)
    interval_s: Span = span((0.5, 6.0), low=0.01)
    cot_rate: float = rate(0.5)
    json_rate: float = rate(0.15)
    subject_order_rate: float = rate(0.6)
    system_prompt_rate: float = rate(0.3)
    release_rerun_rate: float = rate(0.85)
    rerun_delay_hours: Span = span((0.0, 12.0))


class EvalTeams(Population):
    """Benchmark sweeps in item order at machine pace, often "think step by step", re-run on the
    new model within hours of its release."""

    name, label, params_type = "eval_teams", 0, EvalTeamsParams

    def run(self, ctx: Ctx) -> None:
        p: EvalTeamsParams = self.p
        r, w = ctx.r, ctx.world
        for _ in range(ctx.count(p.teams)):
            payment, org = ctx.uid("pm"), ctx.uid("org", 5)
            ips, agent, country = ctx.ips_in(ctx.cloud_block(), 3), r.choice(w.sdk_agents), ctx.country()
            team = [
                ctx.account(
                    self.name,
                    payment=payment,
                    org=org,
                    ips=ips,
                    user_agent=agent,
                    country=country,
                    keys=r.randint(1, 4),
                )
                for _ in range(r.randint(*p.team_size))
            ]
            t0 = max(a.created_at for a in team)
            runs: list[tuple[float, str]] = []
            for _ in range(r.randint(*p.sweeps)):
                runs.append((r.uniform(max(t0, w.epoch), w.end - HOUR), r.choice(w.old_models)))
            if r.random() < p.release_rerun_rate:
                runs.append((w.release_at + r.uniform(*p.rerun_delay_hours) * HOUR, w.new_model))
            harness = self._harness(ctx, p)
            for k, (start, model) in enumerate(runs):
                self._sweep(ctx, p, team, harness, start, model, k)

    def _harness(self, ctx: Ctx, p: EvalTeamsParams) -> tuple[str, str, bool, str | None]:
        """(benchmark kind, user template, subject order, system prompt) of one team's harness."""
        r, bank = ctx.r, ctx.bank
        kind = r.choice(("benchmark_math", "benchmark_knowledge", "benchmark_code", "benchmark_knowledge"))
        template = bank.pick(r, "benchmark_harness")
        cot = r.random() < p.cot_rate
        if cot and "step" not in template:
            template += "\n" + bank.pick(r, "eval_cot_suffix")
        if r.random() < p.json_rate:
            template = compose_json(r, bank, "after").user
        sys_prompt = None
        if r.random() < p.system_prompt_rate:
            sys_prompt = compose(r, bank, "system").system if cot else bank.pick(r, "generic_system_prompts")
        by_subject = kind == "benchmark_knowledge" and r.random() < p.subject_order_rate
        return kind, template, by_subject, sys_prompt

    def _sweep(
        self,
        ctx: Ctx,
        p: EvalTeamsParams,
        team: list[Account],
        harness: tuple[str, str, bool, str | None],
        start: float,
        model: str,
        k: int,
    ) -> None:
        r, w = ctx.r, ctx.world
        kind, template, by_subject, sys_prompt = harness
        pool = ctx.corpus.pool((kind,))
        items = r.randint(*p.sweep_items)
        interval = r.uniform(*p.interval_s)
        times = ctx.regular(start, min(w.end, start + items * interval), interval, 0.3).tolist()
        offset = r.randrange(len(pool))
        per_subject = max(1, len(times) // len(w.subjects))
        sid = ctx.session_id(team[0], f"sweep{k}")
        for i, t in enumerate(times):
            task = pool[(offset + i) % len(pool)]["text"]
            subject = w.subjects[(i // per_subject) % len(w.subjects)] if by_subject else r.choice(w.subjects)
            messages = [user(fill(template, task, subject=subject))]
            if sys_prompt:
                messages.insert(0, system(sys_prompt))
            ctx.emit(team[i % len(team)], t, messages, model=model, session=sid)


@dataclass(frozen=True, kw_only=True)
class RagAppsParams(Params):
    """Retrieval-augmented apps serving many end users."""

    apps: int = count(5)
    accounts_per_app: tuple[int, int] = int_span((1, 3), low=1)
    requests_per_day: Span = span((10.0, 120.0), low=0.01)
    multi_turn_rate: float = rate(0.15)
    night_floor: float = rate(0.15)
    adopt_rate: float = rate(0.15)
    adopt_delay_hours: Span = span((24.0, 150.0))
    new_share: Span = span((0.3, 1.0), high=1.0)


class RagApps(Population):
    """Apps with a fixed system prompt that send retrieved passages plus a user's question."""

    name, label, params_type = "rag_apps", 0, RagAppsParams

    def run(self, ctx: Ctx) -> None:
        p: RagAppsParams = self.p
        r, w = ctx.r, ctx.world
        for _ in range(ctx.count(p.apps)):
            product = r.choice(w.rag_products)
            payment, org = ctx.uid("pm"), ctx.uid("org", 5)
            ips, country = ctx.ips_in(ctx.cloud_block(), r.randint(1, 6)), ctx.country()
            for _ in range(r.randint(*p.accounts_per_app)):
                acct = ctx.account(
                    self.name,
                    payment=payment,
                    org=org,
                    ips=ips,
                    user_agent=product.user_agent,
                    country=country,
                    keys=r.randint(1, 3),
                    habit=ctx.habit(p.adopt_rate, p.adopt_delay_hours, p.new_share),
                    product=product,
                )
                t0, t1 = ctx.window(acct)
                times = ctx.diurnal_poisson(t0, t1, log_uniform(r, *p.requests_per_day), acct.tz, floor=p.night_floor)
                for t in times.tolist():
                    messages = rag_messages(ctx, product)
                    if r.random() < p.multi_turn_rate:
                        messages = messages[:1] + history(ctx, r.randint(1, 3)) + messages[1:]
                    ctx.emit(acct, t, messages, tools=product.tools or None, session=ctx.session_id(acct, t))


@dataclass(frozen=True, kw_only=True)
class SupportAgentsParams(Params):
    """Customer-support agents with tools."""

    apps: int = count(4)
    accounts_per_app: tuple[int, int] = int_span((1, 3), low=1)
    conversations_per_day: Span = span((2.0, 20.0), low=0.01)
    customer_turns: tuple[int, int] = int_span((1, 5), low=1)
    tool_calls_per_turn: tuple[int, int] = int_span((0, 3))
    adopt_rate: float = rate(0.15)
    adopt_delay_hours: Span = span((24.0, 150.0))
    new_share: Span = span((0.3, 1.0), high=1.0)


class SupportAgents(Population):
    """Support bots (ReAct text or native tool calls) in multi-turn conversations with customers."""

    name, label, params_type = "support_agents", 0, SupportAgentsParams

    def run(self, ctx: Ctx) -> None:
        p: SupportAgentsParams = self.p
        r, w = ctx.r, ctx.world
        for _ in range(ctx.count(p.apps)):
            product = r.choice(w.support_products)
            payment, org = ctx.uid("pm"), ctx.uid("org", 5)
            ips, country = ctx.ips_in(ctx.cloud_block(), r.randint(1, 4)), ctx.country()
            for _ in range(r.randint(*p.accounts_per_app)):
                acct = ctx.account(
                    self.name,
                    payment=payment,
                    org=org,
                    ips=ips,
                    user_agent=product.user_agent,
                    country=country,
                    keys=r.randint(1, 2),
                    habit=ctx.habit(p.adopt_rate, p.adopt_delay_hours, p.new_share),
                    product=product,
                )
                t0, t1 = ctx.window(acct)
                starts = ctx.diurnal_poisson(t0, t1, log_uniform(r, *p.conversations_per_day), acct.tz)
                for k, start in enumerate(starts.tolist()):
                    self._conversation(ctx, p, acct, product, start, ctx.session_id(acct, k))

    def _conversation(
        self, ctx: Ctx, p: SupportAgentsParams, acct: Account, product: Product, t: float, sid: str
    ) -> None:
        r, bank = ctx.r, ctx.bank
        react = bool(product.extra.get("react"))
        messages: list[Message] = [system(product.system_prompt)]
        for turn in range(r.randint(*p.customer_turns)):
            if turn == 0:
                task = ctx.corpus.text(r, "agentic_task", "function_calling", limit=900)
                text = bank.pick(r, "support_openers") + task
            else:
                text = bank.pick(r, "support_followups")
            messages = [*messages, user(text)]
            steps = r.randint(*p.tool_calls_per_turn)
            transcript = agent_transcript(ctx, messages, product.tools, steps, react=react, thoughts="support_thoughts")
            for i in range(steps + 1):
                ctx.emit(acct, t, transcript[: len(messages) + 2 * i], tools=product.tools, session=sid)
                t += r.uniform(1.5, 9.0)
            messages = [*transcript, assistant(reply(ctx))]
            t += r.uniform(20.0, 180.0)


@dataclass(frozen=True, kw_only=True)
class AbusiveParams(Params):
    """Users pasting jailbreaks, harmful requests and prompt-extraction attempts (not distillation)."""

    accounts: int = count(35)
    requests_per_day: Span = span((1.0, 20.0), low=0.01)
    jailbreak_rate: float = rate(0.25)
    extraction_rate: float = rate(0.15)
    product_prompt_rate: float = rate(0.3)
    signup_in_window_rate: float = rate(0.3)
    proxy_rate: float = rate(0.25)
    ring_rate: float = rate(0.15)
    adopt_rate: float = rate(0.5)
    adopt_delay_hours: Span = span((0.0, 48.0))
    new_share: Span = span((0.5, 1.0), high=1.0)


class Abusive(Population):
    """Abusive but not distilling: jailbreaks, harmful asks, system-prompt extraction; many new
    accounts, proxies, and rings on one card (label 0)."""

    name, label, params_type = "abusive", 0, AbusiveParams

    def run(self, ctx: Ctx) -> None:
        p: AbusiveParams = self.p
        r = ctx.r
        ring: tuple[str, str] | None = None
        for _ in range(ctx.count(p.accounts)):
            payment = org = None
            if r.random() < p.ring_rate:
                ring = ring or (ctx.uid("pm"), ctx.uid("org", 5))
                payment, org = ring
            acct = ctx.account(
                self.name,
                created_at=ctx.signup_in_window() if r.random() < p.signup_in_window_rate else None,
                payment=payment,
                org=org,
                fresh_ip_rate=r.uniform(0.5, 1.0) if r.random() < p.proxy_rate else 0.0,
                access_path=r.choice(("api", "api", "console")),
                habit=ctx.habit(p.adopt_rate, p.adopt_delay_hours, p.new_share),
            )
            sessions = ctx.diurnal_sessions(
                acct, log_uniform(r, *p.requests_per_day), r.uniform(2, 8), 40.0, peak=r.uniform(0, 24)
            )
            for k, times in enumerate(sessions):
                sid = ctx.session_id(acct, k)
                for t in times.tolist():
                    ctx.emit(acct, t, self._messages(ctx, p), session=sid)

    def _messages(self, ctx: Ctx, p: AbusiveParams) -> list[Message]:
        r, bank = ctx.r, ctx.bank
        roll = r.random()
        if roll < p.extraction_rate:
            attack = ctx.corpus.text(r, "prompt_extraction")
            if r.random() < p.product_prompt_rate:  # aimed at an app's prompt they copied in
                product = r.choice(ctx.world.ide_products + ctx.world.support_products)
                return [system(product.system_prompt), user(attack)]
            return [user(attack)]
        harmful = ctx.corpus.text(r, "harmful_request")
        if roll < p.extraction_rate + p.jailbreak_rate:
            jailbreak = ctx.corpus.text(r, "jailbreak")
            if r.random() < 0.3:
                return [system(jailbreak), user(harmful)]
            return [user(f"{jailbreak}\n\n{harmful}")]
        return [user(fill(bank.pick(r, "abuse_wrappers"), harmful))]


@dataclass(frozen=True, kw_only=True)
class ResellersParams(Params):
    """Benign resellers and cloud-marketplace gateways passing their customers' traffic through."""

    resellers: int = count(3)
    gateways: tuple[int, int] = int_span((1, 6), low=1)
    requests_per_day: Span = span((8.0, 100.0), low=0.01)
    marketplace_rate: float = rate(0.4)
    night_floor: float = rate(0.45)
    adopt_rate: float = rate(0.5)
    adopt_delay_hours: Span = span((2.0, 48.0))
    new_share: Span = span((0.2, 0.6), high=1.0)


class Resellers(Population):
    """Gateways (access path ``reseller`` / ``cloud-marketplace``) whose many real customers share
    the gateway's card, org and cloud IPs: the benign twin of ``mixed_reseller``."""

    name, label, params_type = "resellers", 0, ResellersParams

    def run(self, ctx: Ctx) -> None:
        p: ResellersParams = self.p
        r, w = ctx.r, ctx.world
        for _ in range(ctx.count(p.resellers)):
            payment, org = ctx.uid("pm"), ctx.uid("org", 5)
            path = "cloud-marketplace" if r.random() < p.marketplace_rate else "reseller"
            ips, agent, country = ctx.ips_in(ctx.cloud_block(), r.randint(4, 20)), r.choice(w.sdk_agents), ctx.country()
            for _ in range(r.randint(*p.gateways)):
                acct = ctx.account(
                    self.name,
                    payment=payment,
                    org=org,
                    ips=ips,
                    user_agent=agent,
                    access_path=path,
                    country=country,
                    keys=r.randint(1, 8),
                    habit=ctx.habit(p.adopt_rate, p.adopt_delay_hours, p.new_share),
                )
                t0, t1 = ctx.window(acct)
                per_day = log_uniform(r, *p.requests_per_day)
                for t in ctx.diurnal_poisson(t0, t1, per_day, acct.tz, floor=p.night_floor).tolist():
                    customer_request(ctx, acct, t, self.name)


BENIGN: tuple[type[Population], ...] = (
    Casual,
    Students,
    IdeAgent,
    EnterpriseBatch,
    EvalTeams,
    RagApps,
    SupportAgents,
    Abusive,
    Resellers,
)

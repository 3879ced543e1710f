"""Distillation campaigns (label 1): six styles, each a population with its own parameters.

Every campaign is active from early in the window (many already running at its first second),
pivots part of its traffic to the model released during the window, and draws its own family of
wrappers (literal, composed, a few in other languages, before or after the payload or in the
system prompt). See the package docstring for what each style does and why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from intent_guard.errors import ConfigError

from .benign import agent_loop, customer_request, ide_system_prompt
from .content import answer_text, assistant, corpus_tools, csv_table, reply, system, user, with_images
from .engine import Account, Ctx, Message, ModelHabit, Population, log_uniform
from .params import Params, Span, count, int_span, positive, rate, span
from .text import Wrapper, compose, compose_casual, compose_json, fill, json_schema, multilingual
from .world import DAY, HOUR, Product, ide_product, make_tools

#: Literal wrapper lists and composition slots of each wrapper kind.
_LITERAL = {
    "cot": "campaign_cot",
    "json": "campaign_structured",
    "reward": "campaign_reward",
    "agentic": "campaign_agentic",
    "coding": "campaign_coding",
    "trace": "campaign_trace",
}
_DEMANDS = {"cot": "elicit_reason", "agentic": "agentic_demands", "coding": "coding_demands", "trace": "trace_demands"}


@dataclass(frozen=True, kw_only=True)
class CampaignParams(Params):
    """What every campaign style shares: count, accounts, timing, model pivot and wrapper habits."""

    campaigns: int = count(1)
    accounts: tuple[int, int] = int_span((4, 12), low=1)
    start_at_t0_rate: float = rate(0.6)
    late_start: Span = span((0.02, 0.6), high=1.0)
    stop_early_rate: float = rate(0.15)
    pivot_rate: float = rate(0.8)
    pivot_delay_hours: Span = span((1.0, 24.0))
    pivot_share: Span = span((0.3, 0.8), high=1.0)
    youth_factor: float = positive(1.0)
    fresh_account_rate: float = rate(0.3)
    templates: tuple[int, int] = int_span((1, 4), low=1)
    literal_rate: float = rate(0.4)
    system_rate: float = rate(0.25)
    multilingual_rate: float = rate(0.12)
    paraphrase_rate: float = rate(0.08)
    cover_rate: float = rate(0.0)


@dataclass(eq=False)
class Campaign:
    """One campaign's shared state: id, active span, model pivot, language and wrapper families."""

    cid: str
    start: float
    stop: float
    pivot_at: float
    pivot_share: float
    lang: str | None
    families: dict[str, list[Wrapper]] = field(default_factory=dict)


class CampaignPopulation(Population):
    """Shared machinery: campaigns, their accounts, pivots and wrapper families."""

    label = 1

    def run(self, ctx: Ctx) -> None:
        for k in range(ctx.count(self.p.campaigns)):
            self.run_campaign(ctx, self.new_campaign(ctx, k))

    def run_campaign(self, ctx: Ctx, c: Campaign) -> None:
        raise NotImplementedError

    def new_campaign(self, ctx: Ctx, k: int) -> Campaign:
        p: CampaignParams = self.p
        r, w = ctx.r, ctx.world
        span_s = w.days * DAY
        start = w.epoch if r.random() < p.start_at_t0_rate else w.epoch + r.uniform(*p.late_start) * span_s
        stop = w.end
        if r.random() < p.stop_early_rate:
            stop = start + r.uniform(0.4, 0.9) * (w.end - start)
        pivot_at = math.inf
        if r.random() < p.pivot_rate:
            pivot_at = max(w.release_at, start) + r.uniform(*p.pivot_delay_hours) * HOUR
        lang = r.choice(sorted(ctx.bank["multilingual"])) if r.random() < p.multilingual_rate else None
        return Campaign(f"{w.world_id}:{self.name}:{k}", start, stop, pivot_at, r.uniform(*p.pivot_share), lang)

    def n_accounts(self, ctx: Ctx, span_: tuple[int, int], minimum: int = 1) -> int:
        r = ctx.r
        return max(minimum, round(r.randint(*span_) * min(1.0, math.sqrt(ctx.scale))))

    def campaign_account(self, ctx: Ctx, c: Campaign, **kw: Any) -> Account:
        """A campaign account: aged or young per the world's prior, pivoting with its campaign."""
        p: CampaignParams = self.p
        r, w = ctx.r, ctx.world
        if c.start > w.epoch and r.random() < p.fresh_account_rate:  # opened just before the campaign began
            created = round(c.start - r.uniform(0.05, 3.0) * DAY, 3)
        else:
            created = ctx.created_at(1, young_rate=min(1.0, w.ages.young_campaign * p.youth_factor))
        habit: ModelHabit = kw.pop("habit", None) or ctx.old_habit(w.old_models[0] if r.random() < 0.7 else None)
        habit.adopt_at = c.pivot_at + r.uniform(0.0, 2.0) * HOUR
        habit.ramp = r.uniform(0.0, 6.0) * HOUR
        habit.share = min(1.0, max(0.0, c.pivot_share + r.uniform(-0.1, 0.1)))
        return ctx.account(self.name, label=1, campaign_id=c.cid, created_at=created, habit=habit, **kw)

    # -- wrappers ---------------------------------------------------------------------------

    def wrapper(self, ctx: Ctx, c: Campaign, kind: str) -> Wrapper:
        """A wrapper of ``kind`` from the campaign's family (drawn on first use), or a fresh paraphrase."""
        p: CampaignParams = self.p
        r = ctx.r
        if r.random() < p.paraphrase_rate:
            if kind not in ("cot", "json"):
                return self._one(ctx, c, kind)
            if r.random() < 0.35:
                return Wrapper(ctx.bank.pick(r, "campaign_paraphrased"))
            return compose_casual(r, ctx.bank)
        family = c.families.get(kind)
        if family is None:
            family = c.families[kind] = [self._one(ctx, c, kind) for _ in range(r.randint(*p.templates))]
        return r.choice(family)

    def _one(self, ctx: Ctx, c: Campaign, kind: str) -> Wrapper:
        p: CampaignParams = self.p
        r, bank = ctx.r, ctx.bank
        if c.lang and kind in ("cot", "json"):
            return multilingual(r, bank, c.lang, kind)
        placement = "system" if r.random() < p.system_rate else "after" if r.random() < 0.4 else "before"
        if kind == "reward":
            return _reward_wrapper(ctx, placement)
        if r.random() < p.literal_rate:
            literal = Wrapper(bank.pick(r, _LITERAL[kind]))
            if placement == "system" and kind in ("cot", "json"):
                return Wrapper(user="{task}", system=bank.pick(r, "campaign_system_prompts"))
            return literal
        if kind == "json":
            return compose_json(r, bank, placement)
        return compose(r, bank, placement, _DEMANDS[kind], "elicit_format" if kind in ("cot", "trace") else None)

    def cover(self, ctx: Ctx) -> list[Message]:
        """An innocuous prompt sent from a campaign account (still labelled 1)."""
        r = ctx.r
        text = ctx.corpus.text(r, "benign_chat")
        return [user(fill(ctx.bank.pick(r, "chat_openers"), text) if r.random() < 0.4 else text)]


def _reward_wrapper(ctx: Ctx, placement: str) -> Wrapper:
    r, bank = ctx.r, ctx.bank
    if r.random() < 0.5:
        return Wrapper(bank.pick(r, "campaign_reward"))
    criteria = ", ".join(bank.sample(r, "judge_criteria", r.randint(1, 3)))
    instruction = fill(bank.pick(r, "reward_leads"), criteria=criteria, scale=str(r.choice((5, 10, 100))))
    instruction += " " + json_schema(r, bank)
    frame = bank.pick(r, "reward_frames")
    if placement == "system":
        return Wrapper(user=frame, system=instruction)
    return Wrapper(f"{instruction}\n\n{frame}" if placement == "before" else f"{frame}\n\n{instruction}")


def _messages(ctx: Ctx, wrapper: Wrapper, task: str, **slots: str) -> list[Message]:
    """The messages of one wrapped payload (a candidate answer drawn if the wrapper asks for one)."""
    if "answer" not in slots and "{answer}" in f"{wrapper.user}{wrapper.system or ''}":
        slots["answer"] = answer_text(ctx)
    sys_text, text = wrapper.render(task, **slots)
    return [system(sys_text), user(text)] if sys_text else [user(text)]


# -- reasoning harvest ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReasoningHarvestParams(CampaignParams):
    """Chain-of-thought harvesting on benchmark items, plus reward-model grading."""

    campaigns: int = count(2)
    accounts: tuple[int, int] = int_span((4, 16), low=1)
    payment_group_size: tuple[int, int] = int_span((2, 6), low=1)
    bursts_per_day: Span = span((1.0, 3.0), low=0.01)
    join_rate: float = rate(0.8)
    burst_requests: tuple[int, int] = int_span((5, 30), low=1)
    burst_interval_s: Span = span((1.0, 15.0), low=0.01)
    reward_rate: float = rate(0.25)
    system_rate: float = rate(0.3)


class ReasoningHarvest(CampaignPopulation):
    """Elicits full reasoning on benchmark items and uses the model as a reward model; accounts in
    payment groups fire synchronised bursts."""

    name, params_type = "reasoning_harvest", ReasoningHarvestParams

    def run_campaign(self, ctx: Ctx, c: Campaign) -> None:
        p: ReasoningHarvestParams = self.p
        r, w = ctx.r, ctx.world
        accounts: list[Account] = []
        n = self.n_accounts(ctx, p.accounts, 2)
        while len(accounts) < n:
            payment, block = ctx.uid("pm"), ctx.residential_ip().rsplit(".", 1)[0]
            ips = ctx.ips_in(block, r.randint(1, 4))
            for _ in range(min(r.randint(*p.payment_group_size), n - len(accounts))):
                accounts.append(self.campaign_account(ctx, c, payment=payment, ips=ips, keys=r.randint(1, 3)))
        bursts = ctx.poisson(c.start, c.stop, r.uniform(*p.bursts_per_day)).tolist()
        if c.start == w.epoch:
            bursts.insert(0, w.epoch + r.uniform(60, 3 * HOUR))
        for b, burst in enumerate(bursts):
            size, interval = r.randint(*p.burst_requests), r.uniform(*p.burst_interval_s)
            for acct in accounts:
                if r.random() > p.join_rate:
                    continue
                s = burst + r.uniform(0, 20)
                times = ctx.regular(s, s + size * interval, interval, 0.15).tolist()
                sid = ctx.session_id(acct, f"b{b}")
                for t in times:
                    ctx.emit(acct, t, self._request(ctx, p, c), session=sid)

    def _request(self, ctx: Ctx, p: ReasoningHarvestParams, c: Campaign) -> list[Message]:
        r = ctx.r
        if r.random() < p.cover_rate:
            return self.cover(ctx)
        task = ctx.corpus.text(r, "benchmark_math", "benchmark_knowledge", "benchmark_code", "benign_chat")
        if r.random() < p.reward_rate:
            return _messages(ctx, self.wrapper(ctx, c, "reward"), task)
        return _messages(ctx, self.wrapper(ctx, c, "cot"), task)


# -- agentic harvest ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AgenticHarvestParams(CampaignParams):
    """Tool-use, coding, data-analysis and vision probes from many accounts over several paths."""

    campaigns: int = count(2)
    accounts: tuple[int, int] = int_span((6, 24), low=1)
    requests_per_day: Span = span((5.0, 50.0), low=0.01)
    access_paths: tuple[str, ...] = ("api", "api", "console", "cloud-marketplace", "reseller")
    proxy_rate: float = rate(0.8)
    diurnal_rate: float = rate(0.3)
    coding_rate: float = rate(0.2)
    data_rate: float = rate(0.15)
    image_rate: float = rate(0.12)
    transcript_rate: float = rate(0.3)
    trace_phase: Span = span((0.55, 0.8), high=1.0)
    trace_rate: float = rate(0.5)
    cover_rate: float = rate(0.05)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.access_paths or not all(isinstance(a, str) and a for a in self.access_paths):
            raise ConfigError(
                "The 'access_paths' parameter of AgenticHarvestParams must be a non-empty list of strings. "
                f"Got {self.access_paths!r} instead."
            )


class AgenticHarvest(CampaignPopulation):
    """Agentic probes (tools, coding, data analysis, images) from many accounts over several access
    paths behind residential proxies; late in the campaign, reasoning-trace reconstruction."""

    name, params_type = "agentic_harvest", AgenticHarvestParams

    def run_campaign(self, ctx: Ctx, c: Campaign) -> None:
        p: AgenticHarvestParams = self.p
        r, w = ctx.r, ctx.world
        trace_from = c.start + r.uniform(*p.trace_phase) * (c.stop - c.start)
        data_tools = _tools(ctx, "tools_data", r.randint(3, 10))
        for _ in range(self.n_accounts(ctx, p.accounts, 3)):
            path = r.choice(p.access_paths)
            acct = self.campaign_account(
                ctx,
                c,
                fresh_ip_rate=r.uniform(0.6, 1.0) if r.random() < p.proxy_rate else 0.0,
                access_path=path,
                user_agent=r.choice(w.browser_agents) if path == "console" else None,
                keys=r.randint(1, 4),
            )
            per_day = log_uniform(r, *p.requests_per_day)
            t0 = max(c.start, acct.created_at)
            if r.random() < p.diurnal_rate:
                times = [t for s in ctx.diurnal_sessions(acct, per_day, 6, 40.0, start=t0, end=c.stop) for t in s]
            else:
                times = ctx.poisson(t0, c.stop, per_day).tolist()
            for t in times:
                self._request(ctx, p, c, acct, t, t >= trace_from, data_tools)

    def _request(
        self,
        ctx: Ctx,
        p: AgenticHarvestParams,
        c: Campaign,
        acct: Account,
        t: float,
        late: bool,
        data_tools: list[dict[str, Any]],
    ) -> None:
        r, bank = ctx.r, ctx.bank
        if r.random() < p.cover_rate:
            ctx.emit(acct, t, self.cover(ctx))
            return
        if late and r.random() < p.trace_rate:
            task = ctx.corpus.text(r, "benchmark_math", "benchmark_knowledge", "agentic_task", "benign_chat")
            ctx.emit(acct, t, _messages(ctx, self.wrapper(ctx, c, "trace"), task))
            return
        roll = r.random()
        tools: list[dict[str, Any]] | None = None
        if roll < p.coding_rate:
            task, kind = ctx.corpus.text(r, "benchmark_code", limit=2500), "coding"
        elif roll < p.coding_rate + p.data_rate:
            table, value, group = csv_table(ctx)
            task = f"{fill(bank.pick(r, 'data_questions'), value=value, group=group)}\n\n{table}"
            kind, tools = "agentic", data_tools
        else:
            record = ctx.corpus.pick(r, "function_calling", "agentic_task")
            task, kind = record["text"][:2500], "agentic"
            tools = corpus_tools(record) or r.choice(ctx.world.support_products).tools
        messages = _messages(ctx, self.wrapper(ctx, c, kind), task)
        if r.random() < p.image_rate:
            messages[-1] = user(with_images(ctx, messages[-1]["content"], r.randint(1, 3)))
        if tools and r.random() < p.transcript_rate:
            steps = r.randint(1, 4)
            agent_loop(
                ctx,
                acct,
                [t + i * r.uniform(2, 8) for i in range(steps + 1)],
                messages,
                tools,
                ctx.session_id(acct, t),
                thoughts="tool_thoughts",
            )
            return
        ctx.emit(acct, t, messages, tools=tools)


def _tools(ctx: Ctx, key: str, n: int) -> list[dict[str, Any]]:
    return make_tools(ctx.r, ctx.bank, key, n)


# -- coding volume ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CodingVolumeParams(CampaignParams):
    """Hydra clusters running agentic coding and orchestration at volume."""

    campaigns: int = count(1)
    clusters: tuple[int, int] = int_span((1, 2), low=1)
    accounts: tuple[int, int] = int_span((3, 10), low=1)
    requests_per_day: Span = span((20.0, 120.0), low=0.01)
    steps_per_task: tuple[int, int] = int_span((2, 12), low=1)
    step_gap_s: Span = span((2.0, 8.0), low=0.1)
    ide_harness_rate: float = rate(0.5)
    orchestration_rate: float = rate(0.3)
    ask_wrapper_rate: float = rate(0.4)
    start_at_t0_rate: float = rate(0.7)
    pivot_rate: float = rate(1.0)
    pivot_delay_hours: Span = span((1.0, 16.0))
    pivot_share: Span = span((0.4, 0.6), high=1.0)


class CodingVolume(CampaignPopulation):
    """Hydra clusters (shared cards, shared cloud IPs) running agent transcripts with 30+ tools at
    high volume around the clock; about half the traffic moves to the new model within a day."""

    name, params_type = "coding_volume", CodingVolumeParams

    def run_campaign(self, ctx: Ctx, c: Campaign) -> None:
        p: CodingVolumeParams = self.p
        r, w = ctx.r, ctx.world
        for _ in range(r.randint(*p.clusters)):
            if r.random() < p.ide_harness_rate:
                product = r.choices(w.ide_products, weights=w.ide_popularity)[0]
            else:
                product = ide_product(r, ctx.bank, f"{r.randint(0, 3)}.{r.randint(0, 30)}.{r.randint(0, 9)}")
            if len(product.tools) < 30:
                product = _more_tools(ctx, product)
            payment, ips = ctx.uid("pm"), ctx.ips_in(ctx.cloud_block(), r.randint(2, 8))
            for _ in range(self.n_accounts(ctx, p.accounts, 2)):
                acct = self.campaign_account(
                    ctx,
                    c,
                    payment=payment if r.random() < 0.85 else None,
                    ips=ips,
                    user_agent=product.user_agent if r.random() < 0.8 else None,
                    keys=r.randint(1, 4),
                    product=product,
                )
                prompt = ide_system_prompt(ctx, product)
                steps = sum(p.steps_per_task) / 2
                per_task = r.uniform(*p.step_gap_s)
                starts = ctx.poisson(max(c.start, acct.created_at), c.stop, log_uniform(r, *p.requests_per_day) / steps)
                for k, s in enumerate(starts.tolist()):
                    n = r.randint(*p.steps_per_task)
                    times = [s + i * per_task * r.uniform(0.5, 1.5) for i in range(n)]
                    head = [system(prompt), user(self._ask(ctx, p, c))]
                    agent_loop(ctx, acct, times, head, product.tools, ctx.session_id(acct, k))

    def _ask(self, ctx: Ctx, p: CodingVolumeParams, c: Campaign) -> str:
        r, bank = ctx.r, ctx.bank
        task = ctx.corpus.text(r, "benchmark_code", "agentic_task", limit=2500)
        if r.random() < p.orchestration_rate:
            return fill(bank.pick(r, "orchestration_asks"), task)
        if r.random() < p.ask_wrapper_rate:
            return self.wrapper(ctx, c, "coding").render(task)[1]
        return fill(bank.pick(r, "coding_user_asks"), task)


def _more_tools(ctx: Ctx, product: Product) -> Product:
    """The product with extra tools, to 30-40 (an orchestration harness adds its own)."""
    have = {t["function"]["name"] for t in product.tools}
    extra = [t for t in _tools(ctx, "tools_ide", 40) if t["function"]["name"] not in have]
    return replace(product, tools=product.tools + extra[: max(0, ctx.r.randint(30, 40) - len(product.tools))])


# -- slow and low -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SlowLowParams(CampaignParams):
    """Many aged accounts, a handful of paraphrased requests each, at human times."""

    campaigns: int = count(2)
    accounts: tuple[int, int] = int_span((15, 60), low=1)
    requests_per_account: tuple[int, int] = int_span((8, 25), low=1)
    youth_factor: float = positive(0.3)
    cover_rate: float = rate(0.3)
    paraphrase_rate: float = rate(0.7)
    templates: tuple[int, int] = int_span((2, 6), low=1)
    json_rate: float = rate(0.2)
    followup_rate: float = rate(0.15)


class SlowLow(CampaignPopulation):
    """Stays under every per-account threshold: distinct cards and IPs, aged accounts, human hours,
    paraphrased wrappers, ~30% innocuous cover prompts (still labelled 1)."""

    name, params_type = "slow_low", SlowLowParams

    def run_campaign(self, ctx: Ctx, c: Campaign) -> None:
        p: SlowLowParams = self.p
        r = ctx.r
        for _ in range(self.n_accounts(ctx, p.accounts, 3)):
            acct = self.campaign_account(
                ctx, c, access_path="console" if r.random() < 0.3 else "api", keys=1 if r.random() < 0.8 else 2
            )
            n = r.randint(*p.requests_per_account)
            t0 = max(c.start, acct.created_at)
            days = max((c.stop - t0) / DAY, 0.1)
            sessions = ctx.diurnal_sessions(acct, 1.6 * n / days, r.uniform(1, 3), 200.0, start=t0, end=c.stop)
            times = sorted(t for s in sessions for t in s.tolist())
            if len(times) > n:
                times = sorted(r.sample(times, n))
            for t in times:
                if r.random() < p.cover_rate:
                    ctx.emit(acct, t, self.cover(ctx))
                    continue
                task = ctx.corpus.text(r, "benchmark_math", "benchmark_knowledge", "benchmark_code", "benign_chat")
                messages = _messages(ctx, self.wrapper(ctx, c, "json" if r.random() < p.json_rate else "cot"), task)
                if r.random() < p.followup_rate:  # a follow-up in the same conversation, like a person
                    followup = ctx.bank.pick(r, "student_followups" if r.random() < 0.5 else "chat_followups")
                    messages = [*messages, assistant(reply(ctx)), user(followup)]
                ctx.emit(acct, t, messages)


# -- capability sweep -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CapabilitySweepParams(CampaignParams):
    """Subject-by-subject sweeps of numbered items with JSON-with-reasoning wrappers."""

    campaigns: int = count(2)
    accounts: tuple[int, int] = int_span((2, 8), low=1)
    items_per_subject: tuple[int, int] = int_span((5, 30), low=1)
    passes: tuple[int, int] = int_span((1, 4), low=1)
    interval_s: Span = span((8.0, 90.0), low=0.01)
    json_rate: float = rate(0.7)
    numbered_rate: float = rate(0.85)


class CapabilitySweep(CampaignPopulation):
    """Walks many subjects in order with numbered items ("item 12 of 40, organic chemistry"),
    asking for JSON with a reasoning field, spread over a few accounts."""

    name, params_type = "capability_sweep", CapabilitySweepParams

    def run_campaign(self, ctx: Ctx, c: Campaign) -> None:
        p: CapabilitySweepParams = self.p
        r, w = ctx.r, ctx.world
        block = ctx.cloud_block() if r.random() < 0.6 else ctx.residential_ip().rsplit(".", 1)[0]
        payment = ctx.uid("pm") if r.random() < 0.5 else None
        accounts = [
            self.campaign_account(ctx, c, payment=payment, ips=ctx.ips_in(block, 2), keys=r.randint(1, 3))
            for _ in range(self.n_accounts(ctx, p.accounts, 1))
        ]
        header = ctx.bank.pick(r, "campaign_sweep") if r.random() < p.numbered_rate else "{task}"
        t = max(c.start, min(a.created_at for a in accounts))
        for k in range(r.randint(*p.passes)):  # each pass walks every subject in a fresh order
            subjects = list(w.subjects)
            r.shuffle(subjects)
            per_subject = r.randint(*p.items_per_subject)
            total = per_subject * len(subjects)
            interval = r.uniform(*p.interval_s)
            times = ctx.regular(t, c.stop, interval, 0.4).tolist()[:total]
            for i, at in enumerate(times):
                acct = accounts[i % len(accounts)] if r.random() < 0.7 else r.choice(accounts)
                subject = subjects[i // per_subject]
                if r.random() < p.cover_rate:
                    ctx.emit(acct, at, self.cover(ctx))
                    continue
                task = ctx.corpus.text(
                    r, "benchmark_knowledge", "benchmark_knowledge", "benchmark_math", "benchmark_code"
                )
                item = fill(header, task, n=str(i + 1), total=str(total), domain=subject, subject=subject)
                kind = "json" if r.random() < p.json_rate else "cot"
                sid = ctx.session_id(acct, f"{k}:{subject}")
                ctx.emit(acct, at, _messages(ctx, self.wrapper(ctx, c, kind), item), session=sid)
            t = (times[-1] if times else t) + r.uniform(1.0, 24.0) * HOUR
            if t >= c.stop:
                break


# -- mixed reseller ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MixedResellerParams(CampaignParams):
    """A reseller whose gateways carry real customers (label 0) and distillation (label 1)."""

    campaigns: int = count(1)
    accounts: tuple[int, int] = int_span((2, 8), low=1)
    requests_per_day: Span = span((40.0, 250.0), low=0.01)
    distill_share: Span = span((0.1, 0.5), high=1.0)
    marketplace_rate: float = rate(0.3)
    night_floor: float = rate(0.45)
    json_rate: float = rate(0.3)
    agentic_rate: float = rate(0.2)


class MixedReseller(CampaignPopulation):
    """Reseller gateways (shared card, org and cloud IPs) mixing their customers' real traffic,
    labelled 0 per request, with distillation, labelled 1."""

    name, params_type = "mixed_reseller", MixedResellerParams

    def run_campaign(self, ctx: Ctx, c: Campaign) -> None:
        p: MixedResellerParams = self.p
        r, w = ctx.r, ctx.world
        payment, org = ctx.uid("pm"), ctx.uid("org", 5)
        path = "cloud-marketplace" if r.random() < p.marketplace_rate else "reseller"
        ips, agent, country = ctx.ips_in(ctx.cloud_block(), r.randint(4, 20)), r.choice(w.sdk_agents), ctx.country()
        for _ in range(self.n_accounts(ctx, p.accounts, 1)):
            acct = self.campaign_account(
                ctx,
                c,
                payment=payment,
                org=org,
                ips=ips,
                user_agent=agent,
                access_path=path,
                country=country,
                keys=r.randint(1, 8),
            )
            share = r.uniform(*p.distill_share)
            t0, t1 = ctx.window(acct)
            for t in ctx.diurnal_poisson(t0, t1, log_uniform(r, *p.requests_per_day), acct.tz, floor=p.night_floor):
                t = float(t)
                if c.start <= t < c.stop and r.random() < share:
                    self._distill(ctx, p, c, acct, t)
                else:
                    customer_request(ctx, acct, t, "reseller_customers", label=0)

    def _distill(self, ctx: Ctx, p: MixedResellerParams, c: Campaign, acct: Account, t: float) -> None:
        r = ctx.r
        roll = r.random()
        if roll < p.agentic_rate:
            record = ctx.corpus.pick(r, "function_calling", "agentic_task")
            ctx.emit(
                acct, t, _messages(ctx, self.wrapper(ctx, c, "agentic"), record["text"]), tools=corpus_tools(record)
            )
            return
        task = ctx.corpus.text(r, "benchmark_math", "benchmark_knowledge", "benchmark_code", "benign_chat")
        kind = "json" if roll < p.agentic_rate + p.json_rate else "cot"
        ctx.emit(acct, t, _messages(ctx, self.wrapper(ctx, c, kind), task))


CAMPAIGNS: tuple[type[Population], ...] = (
    ReasoningHarvest,
    AgenticHarvest,
    CodingVolume,
    SlowLow,
    CapabilitySweep,
    MixedReseller,
)

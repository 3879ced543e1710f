"""Synthetic labelled traffic: distillation campaigns among hard benign populations.

Real prompts from ``../shared/data/prompts`` (or any folder of ``*.jsonl`` with ``kind`` and
``text``) are wrapped and sent on realistic schedules by simulated accounts. Wrapper text comes
from ``training/synth_text.json``, written independently of the detector's template library,
so a campaign is never a verbatim copy of a known template.

Campaign styles (from the public reports of Feb 2026):

* ``cot_reward``   chain-of-thought dumps on reasoning tasks plus reward-model grading; accounts
                   share payment fingerprints and fire synchronised bursts.
* ``agentic``      agentic reasoning / tool-use probes with tools and images, over several access
                   paths from many accounts; in its second half it turns to trace reconstruction.
* ``coding``       agentic coding and orchestration transcripts at high volume; moves half its
                   traffic to a newly released model within 24 h of its first appearance.
* ``sweep``        capability sweeps and structured dataset harvesting across domains.

Each campaign picks evasions at random: ``slow_and_low`` (many accounts, few requests each),
``paraphrased`` wrappers written to look like ordinary users, ``cover`` traffic (ordinary chat
mixed in), ``sybil`` splitting over many accounts, and ``mixed`` accounts that also carry their
owner's real benign traffic (those requests are labelled 0).

Benign populations, several of them deliberately hard: ``chat`` users, ``students`` asking for
step-by-step answers, ``coding_agent`` developers in an IDE agent with tools and a shared system
prompt, ``enterprise_batch`` templated high-volume jobs, ``benchmark_eval`` legitimate benchmark
runs (regular, fast, step-by-step), ``enterprise_judge`` LLM-as-judge quality grading,
``function_apps`` tool-using apps, and ``abusive`` users (jailbreaks, harmful requests,
system-prompt extraction attempts) who are not distillation campaigns.

Honesty rules: every field a campaign request sets, benign requests set too, drawn from the same
distributions unless the behaviour itself differs (timing, volume, wrappers, tools, coverage).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "prompts"
SYNTH_TEXT = Path(__file__).resolve().parent / "synth_text.json"
EPOCH = 1_769_904_000.0  # 2026-02-01T00:00:00Z
DAY = 86400.0
MODELS_OLD = ("model-large-2025", "model-small-2025")
MODEL_NEW = "model-large-2026"
SUBJECTS = (
    "abstract algebra",
    "anatomy",
    "astronomy",
    "college physics",
    "high school chemistry",
    "computer security",
    "econometrics",
    "electrical engineering",
    "machine learning",
)
DOMAINS = (
    "algebra",
    "geometry",
    "number theory",
    "biology",
    "chemistry",
    "physics",
    "law",
    "economics",
    "python",
    "sql",
    "history",
    "medicine",
    "statistics",
    "logic",
)
USER_AGENTS = (
    "openai-python/1.54.0",
    "anthropic-sdk-python/0.40",
    "python-requests/2.32",
    "httpx/0.27",
    "curl/8.5",
    "Mozilla/5.0 (Macintosh) Chrome/131",
    "node-fetch/3.3",
    "langchain/0.3",
    "ide-agent/1.9 (vscode)",
    "ide-agent/1.9 (jetbrains)",
)
ACCESS_PATHS = ("api", "api", "api", "console", "cloud-marketplace", "reseller")
COUNTRIES = ("US", "DE", "IN", "BR", "GB", "FR", "JP", "KR", "CN", "SG", "CA", "NL")

BENIGN_STYLES = (
    "chat",
    "students",
    "coding_agent",
    "enterprise_batch",
    "benchmark_eval",
    "enterprise_judge",
    "function_apps",
    "abusive",
)
CAMPAIGN_STYLES = ("cot_reward", "agentic", "coding", "sweep")
EVASIONS = ("slow_and_low", "paraphrased", "cover", "sybil", "mixed")


@dataclass
class SynthConfig:
    """Parameters of a generated log; every count scales with ``scale``."""

    days: float = 7.0
    seed: int = 7
    scale: float = 1.0
    benign_accounts: dict[str, int] = field(
        default_factory=lambda: {
            "chat": 400,
            "students": 160,
            "coding_agent": 90,
            "enterprise_batch": 20,
            "benchmark_eval": 30,
            "enterprise_judge": 20,
            "function_apps": 30,
            "abusive": 60,
        }
    )
    campaigns: dict[str, int] = field(
        default_factory=lambda: {
            "cot_reward": 6,
            "agentic": 6,
            "coding": 5,
            "sweep": 5,
        }
    )
    #: Probability that a campaign uses each evasion.
    evasion_rate: float = 0.35
    release_day: float = 3.5  # when MODEL_NEW first appears in traffic


class Corpus:
    """Real prompts grouped by kind."""

    def __init__(self, folder: Path) -> None:
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

    def pick(self, rng: np.random.Generator, *kinds: str) -> dict[str, Any]:
        pools = [self.by_kind[k] for k in kinds if self.by_kind.get(k)]
        if not pools:
            pools = list(self.by_kind.values())
        sizes = np.array([len(p) for p in pools], dtype=float)
        pool = pools[int(rng.choice(len(pools), p=sizes / sizes.sum()))]
        return pool[int(rng.integers(len(pool)))]


def _fill(wrapper: str, task: str, rng: np.random.Generator, answer: str = "") -> str:
    out = wrapper.replace("{task}", task).replace("{answer}", answer)
    out = out.replace("{subject}", SUBJECTS[int(rng.integers(len(SUBJECTS)))])
    out = out.replace("{domain}", DOMAINS[int(rng.integers(len(DOMAINS)))])
    return out.replace("{n}", str(int(rng.integers(1, 500))))


def _openai_tools(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [{"type": "function", "function": t} for t in (tools or [])]


def _ip(rng: np.random.Generator, prefix: str | None = None) -> str:
    if prefix:
        return f"{prefix}.{int(rng.integers(1, 255))}"
    return ".".join(str(int(x)) for x in rng.integers(1, 255, size=4))


@dataclass
class Account:
    account_id: str
    population: str
    label: int
    campaign_id: str
    keys: list[str]
    client: dict[str, Any]
    tz_hours: float


class Generator:
    """Builds the accounts, then their request schedules, then the requests, sorted by time."""

    def __init__(self, config: SynthConfig, corpus: Corpus, text: dict[str, list[str]]) -> None:
        self.cfg = config
        self.corpus = corpus
        self.text = text
        self.rng = np.random.default_rng(config.seed)
        self.records: list[dict[str, Any]] = []
        self._n = 0

    # -- accounts ---------------------------------------------------------------------------

    def _account(
        self,
        population: str,
        label: int,
        campaign_id: str = "",
        *,
        created_days: float | None = None,
        payment: str | None = None,
        org: str | None = None,
        ip_prefix: str | None = None,
        user_agent: str | None = None,
        access_path: str | None = None,
        n_keys: int = 1,
    ) -> Account:
        rng = self.rng
        self._n += 1
        account_id = f"acct_{hashlib.sha1(f'{self.cfg.seed}-{self._n}'.encode()).hexdigest()[:10]}"
        if created_days is None:  # benign: from years ago to yesterday, some brand new
            created_days = float(rng.choice([rng.uniform(0.5, 30), rng.uniform(30, 1200)], p=[0.12, 0.88]))
        client = {
            "ip": _ip(rng, ip_prefix),
            "user_agent": user_agent or USER_AGENTS[int(rng.integers(len(USER_AGENTS)))],
            "payment_fingerprint": payment or f"pm_{rng.integers(1 << 40):x}",
            "org_id": org or f"org_{rng.integers(1 << 32):x}",
            "country": COUNTRIES[int(rng.integers(len(COUNTRIES)))],
            "access_path": access_path or ACCESS_PATHS[int(rng.integers(len(ACCESS_PATHS)))],
            "account_created_at": round(EPOCH - created_days * DAY, 3),
        }
        keys = [f"key_{account_id[5:]}_{i}" for i in range(n_keys)]
        return Account(account_id, population, label, campaign_id, keys, client, float(rng.uniform(-8, 9)))

    # -- schedules (timestamps) -------------------------------------------------------------

    def _human_times(self, acct: Account, per_day: float, session_len: float = 6.0, gap_s: float = 90.0) -> list[float]:
        """Diurnal sessions: sessions start in local waking hours, requests inside are bursty."""
        rng, times = self.rng, []
        n_sessions = rng.poisson(max(per_day / session_len, 0.05) * self.cfg.days)
        for _ in range(n_sessions):
            day = rng.uniform(0, self.cfg.days)
            hour = rng.normal(15, 3.5)
            start = EPOCH + math.floor(day) * DAY + ((hour - acct.tz_hours) % 24) * 3600.0
            t = start
            for _ in range(max(1, rng.poisson(session_len))):
                times.append(t)
                t += float(rng.lognormal(math.log(gap_s), 1.0))
        return times

    def _regular_times(self, start: float, end: float, interval: float, jitter: float = 0.05) -> list[float]:
        rng, times, t = self.rng, [], start
        while t < end:
            times.append(t)
            t += max(0.05, interval * (1 + rng.normal(0, jitter)))
        return times

    def _poisson_times(self, start: float, end: float, per_day: float) -> list[float]:
        n = self.rng.poisson(per_day * (end - start) / DAY)
        return sorted(self.rng.uniform(start, end, size=n).tolist())

    # -- request building -------------------------------------------------------------------

    def _emit(
        self,
        acct: Account,
        t: float,
        messages: list[dict[str, Any]],
        *,
        tools: list | None = None,
        model: str | None = None,
        label: int | None = None,
        session: str | None = None,
    ) -> None:
        rng = self.rng
        if model is None:
            model = self._model_for(t, adopt_hours=float(rng.uniform(48, 240)))
        record = {
            "request_id": f"req_{len(self.records):08d}_{rng.integers(1 << 20):05x}",
            "timestamp": round(t, 3),
            "account_id": acct.account_id,
            "api_key_id": acct.keys[int(rng.integers(len(acct.keys)))],
            "session_id": session or f"s_{acct.account_id[5:]}_{int((t - EPOCH) // 1800)}",
            "model": model,
            "messages": messages,
            "client": acct.client,
            "label": acct.label if label is None else label,
        }
        if tools:
            record["tools"] = tools
        cid = acct.campaign_id if record["label"] == 1 else ""
        if cid:
            record["campaign_id"] = cid
        record["population"] = acct.population if record["label"] == 0 else f"campaign:{acct.population}"
        self.records.append(record)

    def _model_for(self, t: float, adopt_hours: float) -> str:
        release = EPOCH + self.cfg.release_day * DAY
        if t >= release and self.rng.random() < min(0.5, (t - release) / (adopt_hours * 3600.0)):
            return MODEL_NEW
        return MODELS_OLD[int(self.rng.random() < 0.3)]

    def _user(
        self, content: str | list[dict[str, Any]], system: str | None = None, history: int = 0
    ) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        if system:
            messages.append({"role": "system", "content": system})
        for _ in range(history):
            prior = self.corpus.pick(self.rng, "benign_chat")["text"][:400]
            messages.append({"role": "user", "content": prior})
            messages.append({"role": "assistant", "content": "Sure. " + prior[:200][::-1]})
        messages.append({"role": "user", "content": content})
        return messages

    def _wrap(self, key: str, task: str, answer: str = "") -> str:
        options = self.text[key]
        return _fill(options[int(self.rng.integers(len(options)))], task, self.rng, answer)

    def _answer(self) -> str:
        return self.corpus.pick(self.rng, "benign_chat", "benchmark_math")["text"][:500]

    # -- benign populations -----------------------------------------------------------------

    def _benign_request(self, acct: Account, t: float, population: str) -> None:
        rng, pick = self.rng, self.corpus.pick
        if population == "chat":
            task = pick(rng, "benign_chat", "benchmark_knowledge", "harmful_request")["text"]
            roll = rng.random()
            if roll < 0.06:  # the occasional reasoning-dump or JSON-shaped ask from a person
                content = self._wrap("campaign_cot" if roll < 0.04 else "campaign_structured", task)
            else:
                content = self._wrap("chat_openers", task) if roll < 0.3 else task
            if rng.random() < 0.04:
                content = [
                    {"type": "text", "text": content},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ]
            self._emit(acct, t, self._user(content, history=int(rng.random() < 0.25) * int(rng.integers(1, 4))))
        elif population == "students":
            task = pick(rng, "benchmark_math", "benchmark_knowledge", "benchmark_code")["text"]
            roll = rng.random()
            if roll < 0.15:
                # Honest users write "show every step of your reasoning" too: the very words
                # campaigns use. No single prompt may give a campaign away.
                content = self._wrap("campaign_cot", task)
            elif roll < 0.8:
                content = self._wrap("student_stepwise", task)
            else:
                content = task
            self._emit(acct, t, self._user(content, history=int(rng.random() < 0.3)))
        elif population == "coding_agent":
            task = pick(rng, "benchmark_code", "agentic_task")["text"]
            tools = _openai_tools(pick(rng, "function_calling").get("tools"))[:3] + _IDE_TOOLS
            system = self.text["coding_agent_system_prompts"][acct.client["_ide"]]
            self._emit(
                acct,
                t,
                self._user(self._wrap("coding_user_asks", task), system=system, history=int(rng.integers(0, 6))),
                tools=tools,
            )
        elif population == "enterprise_batch":
            doc = pick(rng, "benign_chat", "agentic_task", "benchmark_knowledge")["text"]
            job = self.text["enterprise_batch"][acct.client["_job"]]
            self._emit(acct, t, self._user(_fill(job, doc, rng)))
        elif population == "benchmark_eval":
            kind, fmt = acct.client["_bench"]
            task = pick(rng, kind)["text"]
            self._emit(
                acct, t, self._user(_fill(self.text["benchmark_harness"][fmt], task, rng)), model=acct.client["_model"]
            )
        elif population == "enterprise_judge":
            task = pick(rng, "benign_chat")["text"]
            self._emit(acct, t, self._user(self._wrap("enterprise_judge", task, self._answer())))
        elif population == "function_apps":
            record = pick(rng, "function_calling")
            self._emit(acct, t, self._user(record["text"]), tools=_openai_tools(record.get("tools")))
        elif population == "abusive":
            task = pick(rng, "jailbreak", "harmful_request", "prompt_extraction")["text"]
            self._emit(acct, t, self._user(task))

    def _benign_accounts(self) -> None:
        rng, cfg = self.rng, self.cfg
        end = EPOCH + cfg.days * DAY
        for population, n in cfg.benign_accounts.items():
            for _ in range(max(1, round(n * cfg.scale))):
                if population == "enterprise_batch":
                    # One company, several accounts on one card and one org.
                    company = f"{rng.integers(1 << 32):x}"
                    for _ in range(int(rng.integers(1, 4))):
                        acct = self._account(
                            population,
                            0,
                            payment=f"pm_{company}",
                            org=f"org_{company}",
                            ip_prefix=f"52.{rng.integers(255)}.{rng.integers(255)}",
                            user_agent="python-requests/2.32",
                            n_keys=int(rng.integers(1, 4)),
                        )
                        acct.client = dict(acct.client, _job=int(rng.integers(len(self.text["enterprise_batch"]))))
                        start = EPOCH + rng.uniform(0, 1) * DAY
                        for day in range(int(cfg.days)):  # nightly windows
                            s = start + day * DAY
                            for t in self._regular_times(s, s + rng.uniform(0.5, 2) * 3600, float(rng.uniform(20, 90))):
                                self._benign_request(acct, t, population)
                    continue
                shared: dict[str, Any] = {}
                if population == "students" and rng.random() < 0.6:
                    # Behind one of a few university NATs: many unrelated accounts, one /24.
                    shared["ip_prefix"] = f"130.{60 + int(rng.integers(8))}.{int(rng.integers(4))}"
                elif population == "coding_agent" and rng.random() < 0.5:
                    # A company's developers: one org, one card, one office network.
                    team = int(rng.integers(12))
                    shared = {"payment": f"pm_team{team}", "org": f"org_team{team}", "ip_prefix": f"81.20.{team}"}
                acct = self._account(population, 0, n_keys=int(rng.integers(1, 3)), **shared)
                if population == "coding_agent":
                    n_ide = len(self.text["coding_agent_system_prompts"])
                    popularity = np.r_[0.5, 0.3, np.full(n_ide - 2, 0.2 / (n_ide - 2))]  # two IDE agents dominate
                    acct.client = dict(
                        acct.client,
                        _ide=int(rng.choice(n_ide, p=popularity)),
                        user_agent=USER_AGENTS[8 + int(rng.integers(2))],
                    )
                    times = self._human_times(
                        acct, per_day=float(rng.lognormal(math.log(30), 0.6)), session_len=15, gap_s=12
                    )
                elif population == "benchmark_eval":
                    bench = ("benchmark_math", "benchmark_knowledge", "benchmark_code")[int(rng.integers(3))]
                    acct.client = dict(
                        acct.client,
                        _bench=(bench, int(rng.integers(len(self.text["benchmark_harness"])))),
                        _model=(MODEL_NEW, *MODELS_OLD)[int(rng.integers(3))],
                    )
                    times = []
                    for _ in range(int(rng.integers(1, 3))):  # one or two full runs
                        s = EPOCH + rng.uniform(0, cfg.days - 0.3) * DAY
                        times += self._regular_times(s, s + rng.uniform(0.3, 1.5) * 3600, float(rng.uniform(2, 8)), 0.3)
                elif population == "enterprise_judge":
                    times = []
                    for day in range(int(cfg.days)):
                        s = EPOCH + day * DAY + rng.uniform(0, 6) * 3600
                        times += self._regular_times(s, s + rng.uniform(0.5, 2) * 3600, float(rng.uniform(20, 90)), 0.2)
                elif population == "function_apps":
                    times = self._poisson_times(EPOCH, end, float(rng.lognormal(math.log(60), 0.5)))
                elif population == "students":
                    times = self._human_times(acct, per_day=float(rng.lognormal(math.log(8), 0.7)), gap_s=150)
                else:
                    times = self._human_times(acct, per_day=float(rng.lognormal(math.log(6), 0.8)))
                for t in times:
                    if EPOCH <= t < end:
                        self._benign_request(acct, t, population)

    # -- campaigns --------------------------------------------------------------------------

    def _campaign_request(self, acct: Account, t: float, style: str, evasions: set[str], phase: float) -> None:
        rng, pick = self.rng, self.corpus.pick
        if "cover" in evasions and rng.random() < 0.3:
            task = pick(rng, "benign_chat")["text"]
            self._emit(acct, t, self._user(task))
            return
        paraphrased = "paraphrased" in evasions and rng.random() < 0.7
        system = None
        if rng.random() < 0.25:
            options = self.text["campaign_system_prompts"]
            system = options[int(rng.integers(len(options)))]
        tools = None
        model = None
        if style == "cot_reward":
            task = pick(rng, "benchmark_math", "benchmark_knowledge", "benign_chat")["text"]
            if rng.random() < 0.3:
                content = self._wrap("campaign_reward", task, self._answer())
            else:
                content = self._wrap("campaign_paraphrased" if paraphrased else "campaign_cot", task)
        elif style == "agentic":
            record = pick(rng, "function_calling", "agentic_task")
            tools = _openai_tools(record.get("tools")) or _openai_tools(pick(rng, "function_calling").get("tools"))
            if phase > 0.5 and rng.random() < 0.5:
                content = self._wrap("campaign_trace", record["text"], self._answer())
                tools = None
            else:
                content = self._wrap("campaign_paraphrased" if paraphrased else "campaign_agentic", record["text"])
            if rng.random() < 0.1:  # vision probes
                content = [
                    {"type": "text", "text": content},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ]
        elif style == "coding":
            task = pick(rng, "benchmark_code", "agentic_task")["text"]
            content = self._wrap("campaign_paraphrased" if paraphrased else "campaign_coding", task)
            tools = _IDE_TOOLS if rng.random() < 0.5 else None
            release = EPOCH + self.cfg.release_day * DAY
            model = MODEL_NEW if t >= release + 6 * 3600 and rng.random() < 0.5 else MODELS_OLD[0]
        else:  # sweep
            task = pick(rng, "benchmark_knowledge", "benchmark_math", "benchmark_code", "benign_chat")["text"]
            key = "campaign_sweep" if rng.random() < 0.5 else "campaign_structured"
            content = self._wrap("campaign_paraphrased" if paraphrased else key, task)
        self._emit(acct, t, self._user(content, system=system), tools=tools, model=model)

    def _campaigns(self) -> None:
        rng, cfg = self.rng, self.cfg
        end = EPOCH + cfg.days * DAY
        number = 0
        for style, n in cfg.campaigns.items():
            for _ in range(max(1, round(n * cfg.scale))):
                number += 1
                cid = f"camp_{style}_{number:02d}"
                evasions = {e for e in EVASIONS if rng.random() < cfg.evasion_rate}
                n_accounts = int(rng.integers(3, 8))
                if "sybil" in evasions or "slow_and_low" in evasions:
                    n_accounts *= 3
                per_account_day = float(rng.lognormal(math.log(120), 0.6))
                if "slow_and_low" in evasions:
                    per_account_day = float(rng.uniform(15, 50))
                if "sybil" in evasions:
                    per_account_day /= 3
                start = EPOCH + rng.uniform(0, cfg.days * 0.75) * DAY
                stop = min(end, start + rng.uniform(min(2.0, cfg.days * 0.5), cfg.days) * DAY)
                payments = [f"pm_{rng.integers(1 << 40):x}" for _ in range(max(1, n_accounts // 5))]
                proxy = f"{rng.integers(1, 255)}.{rng.integers(255)}.{rng.integers(255)}"
                paths = ACCESS_PATHS if style == "agentic" else ("api",)
                burst_starts = sorted(rng.uniform(start, stop, size=int((stop - start) / DAY * 6)).tolist())
                aged = rng.random() < 0.4  # some campaigns buy or take over aged accounts
                for _ in range(n_accounts):
                    campaign_age = float(rng.uniform(30, 900) if aged and rng.random() < 0.8 else rng.uniform(0.5, 45))
                    shared = style == "cot_reward" or rng.random() < 0.4
                    acct = self._account(
                        style,
                        1,
                        cid,
                        created_days=campaign_age,
                        payment=payments[int(rng.integers(len(payments)))] if shared else None,
                        ip_prefix=proxy if rng.random() < 0.5 else None,
                        access_path=paths[int(rng.integers(len(paths)))],
                        n_keys=int(rng.integers(1, 4)),
                    )
                    times = self._campaign_times(style, evasions, start, stop, per_account_day, burst_starts)
                    mixed = "mixed" in evasions and rng.random() < 0.3
                    if mixed:  # the owner's own benign traffic, labelled 0
                        owner = replace(acct, label=0, population="campaign_account_own_traffic", campaign_id="")
                        for t in self._human_times(acct, per_day=6):
                            if EPOCH <= t < end:
                                self._benign_request(owner, t, "chat")
                    for t in times:
                        if EPOCH <= t < end:
                            self._campaign_request(acct, t, style, evasions, (t - start) / max(stop - start, 1.0))

    def _campaign_times(
        self, style: str, evasions: set[str], start: float, stop: float, per_day: float, bursts: list[float]
    ) -> list[float]:
        rng = self.rng
        if "slow_and_low" in evasions:
            return self._poisson_times(start, stop, per_day)
        if style == "cot_reward" and bursts:  # synchronised bursts across the cluster
            times: list[float] = []
            per_burst = max(1, int(per_day / 6))
            interval = float(rng.uniform(2, 20))
            for b in bursts:
                s = b + rng.uniform(0, 30)
                times += self._regular_times(s, s + per_burst * interval, interval, 0.15)
            return times
        if rng.random() < 0.5:
            return self._regular_times(start, stop, DAY / max(per_day, 1.0), float(rng.uniform(0.05, 0.5)))
        return self._poisson_times(start, stop, per_day)

    def generate(self) -> list[dict[str, Any]]:
        self._benign_accounts()
        self._campaigns()
        for record in self.records:  # private scheduling hints never reach the log
            record["client"] = {k: v for k, v in record["client"].items() if not k.startswith("_")}
        self.records.sort(key=lambda r: (r["timestamp"], r["request_id"]))
        return self.records


_IDE_TOOLS = _openai_tools(
    [
        {
            "name": "read_file",
            "description": "Read a file of the workspace.",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
        },
        {
            "name": "edit_file",
            "description": "Replace text in a file.",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "old": {"type": "string"}, "new": {"type": "string"}},
                "required": ["path", "old", "new"],
            },
        },
        {
            "name": "run_terminal",
            "description": "Run a shell command in the workspace.",
            "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]},
        },
    ]
)


def generate(
    config: SynthConfig, corpus_dir: Path = DEFAULT_CORPUS, text_file: Path = SYNTH_TEXT
) -> list[dict[str, Any]]:
    """Generate a labelled log (records in the request-log spec, plus ``population``), time-sorted."""
    text = json.loads(text_file.read_text(encoding="utf-8"))
    return Generator(config, Corpus(corpus_dir), text).generate()


def write_log(records: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")


def iter_summary(records: list[dict[str, Any]]) -> Iterator[str]:
    from collections import Counter

    populations = Counter(r["population"] for r in records)
    accounts = Counter()
    seen = set()
    for r in records:
        if (r["population"], r["account_id"]) not in seen:
            seen.add((r["population"], r["account_id"]))
            accounts[r["population"]] += 1
    yield f"{len(records):,} requests, {sum(r['label'] for r in records):,} labelled extraction"
    for name, n in sorted(populations.items()):
        yield f"  {name:<28} {n:>8,} requests  {accounts[name]:>5} accounts"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate labelled synthetic traffic (request-log JSONL).")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every account and campaign count")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of *.jsonl prompts (kind, text)")
    parser.add_argument("--evasion-rate", type=float, default=0.35, help="chance a campaign uses each evasion")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help='JSON overriding SynthConfig fields, e.g. {"campaigns": {"coding": 10}}',
    )
    args = parser.parse_args(argv)
    overrides = json.loads(args.config.read_text(encoding="utf-8")) if args.config else {}
    config = SynthConfig(days=args.days, scale=args.scale, seed=args.seed, evasion_rate=args.evasion_rate)
    for key, value in overrides.items():
        if not hasattr(config, key):
            raise SystemExit(f"unknown SynthConfig field {key!r} in {args.config}")
        current = getattr(config, key)
        setattr(config, key, {**current, **value} if isinstance(current, dict) else value)
    records = generate(config, args.corpus)
    write_log(records, args.output)
    for line in iter_summary(records):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

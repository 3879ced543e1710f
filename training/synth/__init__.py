"""Synthetic labelled traffic from many worlds: distillation campaigns among hard benign populations.

Why many worlds: a detector trained on one generator's world learns that world's habits instead
of distillation (the old generator's campaigns never ran on day 0 and its new model appeared at
day 0.37, so "new model" meant "benign"; shared cards meant "campaign"; a missing ``model`` field
was commoner in one class). Here every habit that is not distillation itself is drawn per world
and shared by both classes.

**A world** (:mod:`.world`) is drawn from the run seed and its index: a window of 2-8 days starting
anywhere in 2025-2027; a density factor (0.5-2x) and a factor per population; a generated model
line-up (vendor-like syllables, versions, tiers) with one model released *during* the window, at
a random time, sometimes within its first hours; generated products (2-4 IDE agents with 12-40
tools, RAG apps, support apps), each with a system prompt composed from phrase banks; user-agent
strings; a market (countries, time zones); account-age priors; cloud IP ranges; and for each
optional field (``model``, ``client`` and each of its keys, ``tools``, ``api_key_id``,
``session_id``) a missing rate of 0-30%, applied to every request whatever its label.

**Benign populations** (label 0), many deliberately campaign-like (:mod:`.benign`):

* ``casual``: people chatting in diurnal sessions, multi-turn, a few images, JSON or step-by-step
  asks, some in their own language, some via console or a reseller, a few sharing a family card.
* ``students``: homework with "show me the steps" asks (the words reasoning harvesters use),
  follow-ups, photos of exercises; many behind one campus NAT.
* ``ide_agent``: developer teams (one card and org per team) in IDE agents whose fixed system prompt
  and 12-40 tools are shared by dozens of accounts; agent loops with tool-result turns; some asks
  read like agentic-coding probes; some agents run overnight.
* ``enterprise_batch``: cron jobs, often round the clock, templated; classification with a reasoning
  field, extraction, LLM-as-judge grading with JSON reasoning; several accounts of one company on
  one card and one org, on cloud IPs, some through a cloud marketplace.
* ``eval_teams``: benchmark sweeps in item order at machine pace, subject by subject, often "think
  step by step"; re-run on the new model within hours of its release.
* ``rag_apps``: a fixed app system prompt plus retrieved passages plus a user's question.
* ``support_agents``: support bots with 3-15 tools, ReAct text or native tool calls, multi-turn.
* ``abusive``: jailbreaks, harmful asks and prompt extraction (abusive, not distillation); many new
  accounts, some behind rotating proxies, some rings on one card.
* ``resellers``: gateways (access path ``reseller`` or ``cloud-marketplace``) carrying many real
  customers on one card, org and set of cloud IPs, so the access path gives nothing away.

**Campaign styles** (label 1; :mod:`.campaigns`). All are active from early in the window (most
already running at its first second), and most move part of their traffic to the newly released
model within hours to a day. Wrappers come in families per campaign: literal, composed from slot
banks, paraphrased, a few in other languages, before or after the payload or in the system prompt.

* ``reasoning_harvest``: chain-of-thought elicitation on benchmark items plus reward-model /
  rubric grading; accounts in payment groups fire synchronised bursts.
* ``agentic_harvest``: tool tasks, coding, data analysis and image probes from many accounts over
  several access paths behind residential proxies; trace-reconstruction requests late on.
* ``coding_volume``: hydra clusters sharing cards and cloud IPs run agent transcripts with 30+
  tools (an IDE product's own harness or theirs) at high volume, round the clock; about half the
  traffic moves to the new model within 24 h of its release.
* ``slow_low``: 8-25 requests per aged account at human hours, distinct cards and IPs, paraphrased
  wrappers, ~30% innocuous cover prompts (still labelled 1).
* ``capability_sweep``: subjects in order, numbered items, JSON-with-reasoning wrappers.
* ``mixed_reseller``: reseller gateways whose real customer traffic is labelled 0 per request
  (population ``reseller_customers``) and whose distillation is labelled 1.

Each population's probabilities are named fields of a frozen dataclass validated at construction
(e.g. ``StudentsParams(step_by_step_rate=0.3)``); :class:`SynthConfig` holds one per population and
``--config`` JSON overrides any of them. Records follow ``../shared/spec/request-log.md`` and carry
``label``, ``campaign_id`` (label 1 only), ``population`` and ``world``. Payloads are real prompts
from ``../shared/data/prompts``; every added word comes from ``training/synth_text.json``.
Output is deterministic: the same config gives the same bytes.
"""

from __future__ import annotations

from .benign import (
    AbusiveParams,
    CasualParams,
    EnterpriseBatchParams,
    EvalTeamsParams,
    IdeAgentParams,
    RagAppsParams,
    ResellersParams,
    StudentsParams,
    SupportAgentsParams,
)
from .campaigns import (
    AgenticHarvestParams,
    CampaignParams,
    CapabilitySweepParams,
    CodingVolumeParams,
    MixedResellerParams,
    ReasoningHarvestParams,
    SlowLowParams,
)
from .config import POPULATIONS, SynthConfig
from .generate import generate, generate_world, iter_worlds, main, make_world, write_log
from .text import DEFAULT_CORPUS, SYNTH_TEXT, Corpus, TextBank
from .world import World

__all__ = [
    "DEFAULT_CORPUS",
    "POPULATIONS",
    "SYNTH_TEXT",
    "AbusiveParams",
    "AgenticHarvestParams",
    "CampaignParams",
    "CapabilitySweepParams",
    "CasualParams",
    "CodingVolumeParams",
    "Corpus",
    "EnterpriseBatchParams",
    "EvalTeamsParams",
    "IdeAgentParams",
    "MixedResellerParams",
    "RagAppsParams",
    "ReasoningHarvestParams",
    "ResellersParams",
    "SlowLowParams",
    "StudentsParams",
    "SupportAgentsParams",
    "SynthConfig",
    "TextBank",
    "World",
    "generate",
    "generate_world",
    "iter_worlds",
    "main",
    "make_world",
    "write_log",
]

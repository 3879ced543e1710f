"""A world: everything a generated log's traffic shares, drawn from one seed.

Two worlds differ in their clock (a window of 2-8 days starting anywhere in 2025-2027), traffic
density, model line-up and the release time of the new model, products (IDE agents, RAG apps,
support apps, each with its own system prompt and tool list), user agents, the markets accounts
come from, account-age priors, and the rate at which each optional field is missing from the log.
A detector trained on several worlds cannot lean on any one world's names or habits.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

from .text import TextBank, fill

DAY = 86400.0
HOUR = 3600.0
#: 2025-01-01T00:00:00Z and 2028-01-01T00:00:00Z: the span world clocks start in.
EPOCH_MIN, EPOCH_MAX = 1_735_689_600.0, 1_830_297_600.0

#: Optional request fields and client keys; each is missing at a per-world rate, whatever the label.
OPTIONAL_FIELDS = ("model", "client", "tools", "api_key_id", "session_id")
CLIENT_KEYS = ("ip", "user_agent", "payment_fingerprint", "org_id", "country", "access_path", "account_created_at")

#: Country -> UTC offsets (hours) of its people.
COUNTRIES: dict[str, tuple[float, ...]] = {
    "US": (-8, -7, -6, -5),
    "CA": (-8, -5),
    "MX": (-6,),
    "BR": (-3,),
    "AR": (-3,),
    "GB": (0,),
    "IE": (0,),
    "DE": (1,),
    "FR": (1,),
    "NL": (1,),
    "ES": (1,),
    "IT": (1,),
    "PL": (1,),
    "SE": (1,),
    "NG": (1,),
    "ZA": (2,),
    "TR": (3,),
    "AE": (4,),
    "IN": (5.5,),
    "VN": (7,),
    "ID": (7,),
    "SG": (8,),
    "CN": (8,),
    "HK": (8,),
    "JP": (9,),
    "KR": (9,),
    "AU": (10,),
}
#: Languages spoken in a country, for the few users and campaigns that write in them.
COUNTRY_LANG = {"DE": "de", "FR": "fr", "ES": "es", "MX": "es", "AR": "es", "BR": "pt", "CN": "zh", "HK": "zh"}
COUNTRY_LANG |= {"JP": "ja", "KR": "ko", "IT": "it", "TR": "tr", "PL": "pl", "VN": "vi", "ID": "id", "NL": "nl"}


@dataclass(frozen=True, slots=True)
class Product:
    """An app many accounts share: its system prompt, tools (OpenAI ``tools`` shape) and user agent."""

    kind: str
    name: str
    company: str
    system_prompt: str
    tools: list[dict[str, Any]]
    user_agent: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AgePrior:
    """Account ages in days: a young share drawn from [0, 30), the rest log-uniform up to ``max_days``."""

    max_days: float
    young_benign: float
    young_campaign: float


@dataclass(frozen=True)
class World:
    """One world's shared facts; see the module docstring."""

    index: int
    world_id: str
    tag: str
    seed: int
    epoch: float
    days: float
    density: float
    population_factor: dict[str, float]
    old_models: tuple[str, ...]
    old_weights: tuple[float, ...]
    new_model: str
    release_at: float
    ide_products: tuple[Product, ...]
    ide_popularity: tuple[float, ...]
    rag_products: tuple[Product, ...]
    support_products: tuple[Product, ...]
    sdk_agents: tuple[str, ...]
    browser_agents: tuple[str, ...]
    omission: dict[str, float]
    countries: tuple[str, ...]
    country_weights: tuple[float, ...]
    cloud_prefixes: tuple[str, ...]
    subjects: tuple[str, ...]
    ages: AgePrior
    text: TextBank = field(repr=False, compare=False)

    @property
    def end(self) -> float:
        return self.epoch + self.days * DAY


def stable_seed(*parts: object) -> int:
    """A 63-bit seed from any parts (stable across runs, unlike ``hash``)."""
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:8], "big") >> 1


def _word(r: random.Random, bank: TextBank, n: int) -> str:
    return "".join(bank.pick(r, "name_syllables") for _ in range(n))


def _version(r: random.Random) -> str:
    return f"{r.randint(0, 9)}.{r.randint(0, 40)}.{r.randint(0, 20)}"


def company_name(r: random.Random, bank: TextBank) -> str:
    """A made-up company, e.g. ``Travel Loris Systems``-like compositions."""
    return f"{_word(r, bank, r.randint(2, 3)).capitalize()} {bank.pick(r, 'company_suffixes')}"


def product_name(r: random.Random, bank: TextBank) -> str:
    """A made-up product name: a stem, a syllable word, or both, with an optional suffix."""
    stem = bank.pick(r, "product_stems").capitalize()
    roll = r.random()
    if roll < 0.35:
        return f"{stem}{bank.pick(r, 'product_suffixes')}"
    if roll < 0.7:
        return f"{_word(r, bank, 2).capitalize()} {bank.pick(r, 'product_suffixes')}"
    return f"{stem}{_word(r, bank, 1)}"


def _models(r: random.Random, bank: TextBank, epoch: float) -> tuple[tuple[str, ...], str]:
    family = _word(r, bank, r.randint(1, 2))
    tiers = bank.sample(r, "model_tiers", 3)
    major = r.randint(1, 6)
    minor = r.choice(("", ".5", ".1", ".2"))
    pattern = r.choice(("{f}-{v}-{t}", "{f}{v}-{t}", "{f}-{t}-{v}", "{f}-{v}{t}", "{f}/{f}-{v}-{t}"))
    stamp = r.random() < 0.35

    def name(version: str, tier: str, offset_days: float) -> str:
        base = pattern.replace("{f}", family).replace("{v}", version).replace("{t}", tier)
        if stamp:
            import datetime as dt

            day = dt.datetime.fromtimestamp(epoch + offset_days * DAY, dt.UTC)
            base += f"-{day:%Y%m%d}"
        return base

    old = (
        name(f"{major}{minor}", tiers[0], -r.uniform(60, 300)),
        name(f"{major}{minor}", tiers[1], -r.uniform(60, 300)),
        name(f"{max(major - 1, 0)}", tiers[0], -r.uniform(300, 700)),
    )
    new_version = f"{major + 1}" if r.random() < 0.6 else f"{major}.{r.choice((6, 7, 8, 9))}"
    return old, name(new_version, r.choice((tiers[0], tiers[2])), 0.0)


def make_tools(r: random.Random, bank: TextBank, key: str, n: int) -> list[dict[str, Any]]:
    """``n`` distinct tools from concept list ``key``, named in one drawn convention."""
    style = r.choice(("snake", "snake", "camel", "prefix", "pascal"))
    prefix = r.choice(("ws", "fs", "ide", "agent", "tool", "app", "mcp"))
    describe = r.random()  # share of parameters that carry a description
    tools = []
    for concept in r.sample(bank[key], min(n, len(bank[key]))):
        raw = r.choice(concept["names"])
        words = raw.split("_")
        if style == "camel":
            name = words[0] + "".join(w.capitalize() for w in words[1:])
        elif style == "pascal":
            name = "".join(w.capitalize() for w in words)
        elif style == "prefix":
            name = f"{prefix}_{raw}"
        else:
            name = raw
        properties: dict[str, Any] = {}
        for pname, ptype in concept["params"]:
            prop: dict[str, Any] = {"type": ptype}
            if ptype == "array":
                prop["items"] = {"type": "string"}
            if r.random() < describe and pname in bank["param_desc"]:
                prop["description"] = bank["param_desc"][pname]
            properties[pname] = prop
        tools.append(
            {
                "type": "function",
                "function": {
                    "name": name,
                    "description": r.choice(concept["desc"]),
                    "parameters": {"type": "object", "properties": properties, "required": list(concept["required"])},
                },
            }
        )
    return tools


def _bullets(r: random.Random, lines: list[str]) -> str:
    style = r.choice(("- ", "* ", "", "n"))
    if style == "n":
        return "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1))
    if style == "":
        return " ".join(lines)
    return "\n".join(style + line for line in lines)


def _section(r: random.Random, bank: TextBank, key: str, lines: list[str]) -> str:
    head = r.choice(bank["section_titles"][key])
    return f"{head}\n{_bullets(r, lines)}" if head else _bullets(r, lines)


def ide_product(r: random.Random, bank: TextBank, agents_ver: str) -> Product:
    name, company = product_name(r, bank), company_name(r, bank)
    editor, editor_slug = r.choice(bank["editors"])
    n_tools = r.randint(30, 40) if r.random() < 0.55 else r.randint(12, 29)
    slots = {"product": name, "company": company, "editor": editor}
    parts = [fill(bank.pick(r, "ide_identity"), **slots)]
    parts.append(_section(r, bank, "rules", bank.sample(r, "ide_rules", r.randint(6, 14))))
    parts.append(_section(r, bank, "tools", bank.sample(r, "ide_tool_rules", r.randint(2, 6))))
    if r.random() < 0.7:
        parts.append(_section(r, bank, "style", bank.sample(r, "ide_style", r.randint(2, 5))))
    system = "\n\n".join(parts)
    slug = name.lower().replace(" ", "-")
    os_name = r.choice(("darwin", "linux", "win32"))
    ua = fill(bank.pick(r, "product_agents"), slug=slug, v=agents_ver, editor=editor_slug, os=os_name)
    env = bank.pick(r, "ide_env") if r.random() < 0.8 else ""
    return Product("ide_agent", name, company, system, make_tools(r, bank, "tools_ide", n_tools), ua, {"env": env})


def _rag_product(r: random.Random, bank: TextBank, sdk: tuple[str, ...]) -> Product:
    name, company = product_name(r, bank), company_name(r, bank)
    domain = bank.pick(r, "rag_domains")
    slots = {"product": name, "company": company, "domain": domain}
    parts = [fill(bank.pick(r, "rag_identity"), **slots), _bullets(r, bank.sample(r, "rag_rules", r.randint(2, 6)))]
    n_tools = r.choice((0, 0, 0, 1, 2, 4))
    extra = {
        "passage": bank.pick(r, "rag_passage_formats"),
        "user": bank.pick(r, "rag_user_formats"),
        "in_system": r.random() < 0.3,
        "passages": (r.randint(1, 3), r.randint(3, 8)),
    }
    tools = make_tools(r, bank, "tools_rag", n_tools) if n_tools else []
    return Product("rag_app", name, company, "\n".join(parts), tools, r.choice(sdk), extra)


def _support_product(r: random.Random, bank: TextBank, sdk: tuple[str, ...]) -> Product:
    name, company = product_name(r, bank), company_name(r, bank)
    industry = bank.pick(r, "support_industries")
    slots = {"product": name, "company": company, "industry": industry}
    parts = [fill(bank.pick(r, "support_identity"), **slots)]
    parts.append(_section(r, bank, "rules", bank.sample(r, "support_rules", r.randint(3, 8))))
    react = r.random() < 0.6
    if react:
        parts.append(bank.pick(r, "support_react"))
    tools = make_tools(r, bank, "tools_support", r.randint(3, 15))
    return Product("support_app", name, company, "\n\n".join(parts), tools, r.choice(sdk), {"react": react})


def draw_world(
    index: int,
    seed: int,
    bank: TextBank,
    *,
    days: float | None,
    days_range: tuple[float, float],
    density_range: tuple[float, float],
    population_jitter: tuple[float, float],
    populations: tuple[str, ...],
    max_omission_rate: float,
    early_release_rate: float,
) -> World:
    """Draw world ``index`` of a run with ``seed`` (see :class:`~training.synth.config.SynthConfig`)."""
    wseed = stable_seed("world", seed, index)
    r = random.Random(wseed)
    length = days if days is not None else round(r.uniform(*days_range), 3)
    epoch = round(r.uniform(EPOCH_MIN, EPOCH_MAX - length * DAY), 3)
    density = r.uniform(*density_range)
    factors = {name: r.uniform(*population_jitter) for name in populations}
    old, new = _models(r, bank, epoch)
    if r.random() < early_release_rate:
        release = epoch + r.uniform(0.02, 0.15) * length * DAY
    else:
        release = epoch + r.uniform(0.15, 0.85) * length * DAY
    sdk = tuple(fill(t, v=_version(r)) for t in bank.sample(r, "sdk_agents", r.randint(8, 14)))
    browsers = tuple(fill(t, v=str(r.randint(110, 150))) for t in bank.sample(r, "browser_agents", r.randint(2, 4)))
    ide = tuple(ide_product(r, bank, _version(r)) for _ in range(r.randint(2, 4)))
    pop = sorted((r.paretovariate(1.2) for _ in ide), reverse=True)
    rag = tuple(_rag_product(r, bank, sdk) for _ in range(r.randint(3, 7)))
    support = tuple(_support_product(r, bank, sdk) for _ in range(r.randint(3, 7)))
    omission = {}
    for key in (*OPTIONAL_FIELDS, *(f"client.{k}" for k in CLIENT_KEYS)):
        omission[key] = 0.0 if r.random() < 0.25 else round(r.uniform(0.0, max_omission_rate), 4)
    countries = tuple(COUNTRIES)
    weights = tuple(r.gammavariate(0.6, 1.0) + 0.01 for _ in countries)
    clouds = tuple(f"{r.randint(3, 223)}.{r.randint(0, 255)}" for _ in range(r.randint(6, 14)))
    subjects = bank.sample(r, "subjects", r.randint(20, len(bank["subjects"])))
    ages = AgePrior(r.uniform(500, 2500), r.uniform(0.05, 0.3), r.uniform(0.15, 0.6))
    world_id = f"w{seed}-{index}"
    return World(
        index=index,
        world_id=world_id,
        tag=hashlib.sha1(world_id.encode()).hexdigest()[:4],
        seed=wseed,
        epoch=epoch,
        days=length,
        density=density,
        population_factor=factors,
        old_models=old,
        old_weights=(r.uniform(0.4, 0.7), r.uniform(0.2, 0.5), r.uniform(0.02, 0.15)),
        new_model=new,
        release_at=release,
        ide_products=ide,
        ide_popularity=tuple(p / sum(pop) for p in pop),
        rag_products=rag,
        support_products=support,
        sdk_agents=sdk,
        browser_agents=browsers,
        omission=omission,
        countries=countries,
        country_weights=weights,
        cloud_prefixes=clouds,
        subjects=tuple(subjects),
        ages=ages,
        text=bank,
    )

"""The machinery every population uses: accounts, model habits, schedules, and record emission.

:class:`Ctx` is one population's view of a world: its own random streams (``r`` for scalars,
``g`` for vectorised times, both seeded from the world and the population name, so changing one
population leaves the others' traffic unchanged), account creation, and :meth:`Ctx.emit`, the one
place a request record is built. Emission applies the world's omission rates to every optional
field whatever the label, so a missing field says nothing about the class.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .params import Params
from .text import Corpus, TextBank
from .world import CLIENT_KEYS, COUNTRIES, COUNTRY_LANG, DAY, HOUR, Product, World, stable_seed

Message = dict[str, Any]


@dataclass(slots=True)
class ModelHabit:
    """Which model an account asks for: mostly its primary old model; after ``adopt_at``, a ramp to
    ``share`` of its traffic on the new model."""

    primary: str
    others: tuple[str, ...]
    other_rate: float
    new: str
    adopt_at: float = math.inf
    ramp: float = 0.0
    share: float = 0.0

    def pick(self, t: float, r: random.Random) -> str:
        if t >= self.adopt_at:
            since = t - self.adopt_at
            share = self.share if since >= self.ramp else self.share * since / self.ramp
            if r.random() < share:
                return self.new
        if self.others and r.random() < self.other_rate:
            return r.choice(self.others)
        return self.primary


@dataclass(slots=True, eq=False)
class Account:
    """A simulated paying account and what the API knows of it."""

    account_id: str
    population: str
    label: int
    campaign_id: str
    client: dict[str, Any]
    keys: list[str]
    tz: float
    created_at: float
    habit: ModelHabit
    ips: list[str]
    fresh_ip_rate: float = 0.0
    lang: str | None = None
    product: Product | None = None


def stochastic_round(r: random.Random, x: float) -> int:
    """``floor(x)`` plus one with probability ``x - floor(x)``."""
    base = math.floor(x)
    return base + (r.random() < x - base)


def log_uniform(r: random.Random, lo: float, hi: float) -> float:
    """A draw spread evenly on a log scale between ``lo`` and ``hi`` (both > 0)."""
    return math.exp(r.uniform(math.log(max(lo, 1e-9)), math.log(max(hi, 1e-9))))


class Ctx:
    """One population's tools inside one world (see the module docstring)."""

    def __init__(
        self,
        world: World,
        corpus: Corpus,
        bank: TextBank,
        name: str,
        records: list[dict[str, Any]],
        scale: float,
    ) -> None:
        self.world, self.corpus, self.bank, self.name = world, corpus, bank, name
        self.records = records
        self.scale = scale
        seed = stable_seed(world.seed, name)
        self.r = random.Random(seed)
        self.g = np.random.default_rng(seed)
        self._accounts = 0
        om = world.omission
        self._om = (om["api_key_id"], om["session_id"], om["model"], om["tools"], om["client"])
        self._om_client = tuple((k, om[f"client.{k}"]) for k in CLIENT_KEYS)
        self._country_cum = list(np.cumsum(world.country_weights))
        self._old_cum = list(np.cumsum(world.old_weights))

    # -- counts and ids ---------------------------------------------------------------------

    def count(self, base: int, minimum: int = 1) -> int:
        """``base`` times the world's density, this population's factor and the run's scale."""
        if base == 0:
            return 0
        w = self.world
        x = base * w.density * w.population_factor.get(self.name, 1.0) * self.scale
        return max(minimum, stochastic_round(self.r, x))

    def uid(self, prefix: str, nbytes: int = 6) -> str:
        """A random-looking id from this population's stream (e.g. payment fingerprints, orgs)."""
        return f"{prefix}_{self.r.getrandbits(nbytes * 8):0{nbytes * 2}x}"

    def session_id(self, acct: Account, key: object) -> str:
        digest = hashlib.sha1(f"{acct.account_id}:{key}".encode()).hexdigest()[:14]
        return f"sess_{digest}"

    # -- networks ---------------------------------------------------------------------------

    def residential_ip(self) -> str:
        r = self.r
        return f"{r.randint(24, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    def cloud_block(self) -> str:
        """A /24 inside one of the world's cloud providers (``a.b.c``)."""
        return f"{self.r.choice(self.world.cloud_prefixes)}.{self.r.randint(0, 255)}"

    def ips_in(self, block: str, n: int) -> list[str]:
        return [f"{block}.{self.r.randint(1, 254)}" for _ in range(max(1, n))]

    # -- accounts ---------------------------------------------------------------------------

    def country(self) -> str:
        return self.world.countries[self.r.choices(range(len(self._country_cum)), cum_weights=self._country_cum)[0]]

    def created_at(self, label: int, young_rate: float | None = None, start: float | None = None) -> float:
        """Account creation time from the world's age prior (both classes overlap widely)."""
        r, ages = self.r, self.world.ages
        young = (ages.young_benign if label == 0 else ages.young_campaign) if young_rate is None else young_rate
        age = r.uniform(0.2, 30.0) if r.random() < young else log_uniform(r, 30.0, ages.max_days)
        return round((self.world.epoch if start is None else start) - age * DAY, 3)

    def signup_in_window(self) -> float:
        """A creation time inside the window (a new sign-up whose traffic starts after it)."""
        return round(self.world.epoch + self.r.uniform(0.0, 0.8) * self.world.days * DAY, 3)

    def habit(
        self,
        adopt_rate: float,
        delay_hours: tuple[float, float],
        share: tuple[float, float],
        ramp_hours: tuple[float, float] = (0.0, 24.0),
    ) -> ModelHabit:
        """A benign-style habit: the account may adopt the new model some hours after its release."""
        r, w = self.r, self.world
        habit = self.old_habit()
        if r.random() < adopt_rate:
            habit.adopt_at = w.release_at + r.uniform(*delay_hours) * HOUR
            habit.ramp = r.uniform(*ramp_hours) * HOUR
            habit.share = r.uniform(*share)
        return habit

    def old_habit(self, primary: str | None = None) -> ModelHabit:
        r, w = self.r, self.world
        if primary is None:
            primary = w.old_models[r.choices(range(len(self._old_cum)), cum_weights=self._old_cum)[0]]
        others = tuple(m for m in w.old_models if m != primary)
        return ModelHabit(primary, others, r.uniform(0.0, 0.3), w.new_model)

    def account(
        self,
        population: str,
        *,
        label: int = 0,
        campaign_id: str = "",
        created_at: float | None = None,
        payment: str | None = None,
        org: str | None = None,
        ips: list[str] | None = None,
        fresh_ip_rate: float = 0.0,
        user_agent: str | None = None,
        access_path: str = "api",
        country: str | None = None,
        keys: int = 1,
        habit: ModelHabit | None = None,
        product: Product | None = None,
    ) -> Account:
        """A new account in this world's id space; unspecified fields are drawn."""
        r, w = self.r, self.world
        self._accounts += 1
        digest = hashlib.sha1(f"{w.seed}:{self.name}:{self._accounts}".encode()).hexdigest()[:10]
        account_id = f"acct_{w.tag}{digest}"
        country = country or self.country()
        created = self.created_at(label) if created_at is None else created_at
        ips = ips or [self.residential_ip()]
        client = {
            "ip": ips[0],
            "user_agent": user_agent or r.choice(w.sdk_agents),
            "payment_fingerprint": payment or self.uid("pm"),
            "org_id": org or self.uid("org", 5),
            "country": country,
            "access_path": access_path,
            "account_created_at": created,
        }
        key_ids = [f"key_{r.getrandbits(40):010x}" for _ in range(max(1, keys))]
        return Account(
            account_id=account_id,
            population=population,
            label=label,
            campaign_id=campaign_id,
            client=client,
            keys=key_ids,
            tz=r.choice(COUNTRIES[country]),
            created_at=created,
            habit=habit or self.habit(0.0, (0, 0), (0, 0)),
            ips=ips,
            fresh_ip_rate=fresh_ip_rate,
            lang=COUNTRY_LANG.get(country),
            product=product,
        )

    # -- emission ---------------------------------------------------------------------------

    def emit(
        self,
        acct: Account,
        t: float,
        messages: list[Message],
        *,
        tools: list[dict[str, Any]] | None = None,
        session: str | None = None,
        label: int | None = None,
        population: str | None = None,
        model: str | None = None,
    ) -> None:
        """Append one request (without ``request_id``; ids are given in time order per world)."""
        if t < acct.created_at or t >= self.world.end or t < self.world.epoch:
            return
        r = self.r
        om_key, om_session, om_model, om_tools, om_client = self._om
        label = acct.label if label is None else label
        rec: dict[str, Any] = {"timestamp": round(t, 3), "account_id": acct.account_id}
        if r.random() >= om_key:
            keys = acct.keys
            rec["api_key_id"] = keys[0] if len(keys) == 1 else r.choice(keys)
        if r.random() >= om_session:
            rec["session_id"] = session or self.session_id(acct, int((t - self.world.epoch) // 1800))
        chosen = model or acct.habit.pick(t, r)
        if r.random() >= om_model:
            rec["model"] = chosen
        rec["messages"] = messages
        if tools and r.random() >= om_tools:
            rec["tools"] = tools
        if r.random() >= om_client:
            base = acct.client
            ip = base["ip"]
            if acct.fresh_ip_rate and r.random() < acct.fresh_ip_rate:
                ip = self.residential_ip()
            elif len(acct.ips) > 1:
                ip = r.choice(acct.ips)
            client = {}
            for key, rate in self._om_client:
                if r.random() >= rate:
                    client[key] = ip if key == "ip" else base[key]
            rec["client"] = client
        rec["label"] = label
        if label:
            rec["campaign_id"] = acct.campaign_id
        rec["population"] = population or (acct.population if label == 0 else f"campaign:{acct.population}")
        rec["world"] = self.world.world_id
        self.records.append(rec)

    # -- schedules (Unix seconds, numpy) --------------------------------------------------------

    def window(self, acct: Account | None = None) -> tuple[float, float]:
        start = self.world.epoch if acct is None else max(self.world.epoch, acct.created_at)
        return start, self.world.end

    def diurnal_sessions(
        self,
        acct: Account,
        per_day: float,
        size: float,
        gap_s: float,
        *,
        peak: float = 15.0,
        spread: float = 3.5,
        weekend: float = 1.0,
        start: float | None = None,
        end: float | None = None,
    ) -> list[np.ndarray]:
        """Sessions starting at local waking hours; ``size`` requests on average, lognormal gaps."""
        g = self.g
        t0, t1 = self.window(acct)
        t0, t1 = max(t0, start or t0), min(t1, end or t1)
        if t1 <= t0:
            return []
        n = g.poisson(max(per_day / max(size, 1.0), 0.0) * (t1 - t0) / DAY)
        if n == 0:
            return []
        local0 = (t0 + acct.tz * HOUR) // DAY
        local1 = (t1 + acct.tz * HOUR) // DAY
        day = g.integers(int(local0), int(local1) + 1, size=n)
        hour = g.normal(peak, spread, size=n) % 24.0
        starts = day * DAY + hour * HOUR - acct.tz * HOUR
        if weekend < 1.0:
            weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; 5, 6 = Saturday, Sunday
            keep = (weekday < 5) | (g.random(n) < weekend)
            starts = starts[keep]
        starts = np.sort(starts[(starts >= t0) & (starts < t1)])
        sizes = 1 + g.poisson(max(size - 1.0, 0.0), size=len(starts))
        out = []
        for s, k in zip(starts.tolist(), sizes.tolist(), strict=True):
            gaps = g.lognormal(math.log(gap_s), 0.9, size=k - 1)
            times = s + np.concatenate(([0.0], np.cumsum(gaps)))
            out.append(times[times < t1])
        return out

    def poisson(self, t0: float, t1: float, per_day: float) -> np.ndarray:
        if t1 <= t0:
            return np.empty(0)
        n = self.g.poisson(per_day * (t1 - t0) / DAY)
        return np.sort(self.g.uniform(t0, t1, size=n))

    def diurnal_poisson(
        self, t0: float, t1: float, per_day: float, tz: float, *, floor: float = 0.15, peak: float = 14.0
    ) -> np.ndarray:
        """Poisson arrivals thinned by a daily cycle in local time (an app serving many users)."""
        times = self.poisson(t0, t1, per_day * 2.0 / (1.0 + floor))
        local = ((times / HOUR + tz) % 24.0 - peak) * (2 * math.pi / 24.0)
        keep = floor + (1.0 - floor) * 0.5 * (1.0 + np.cos(local))
        return times[self.g.random(len(times)) < keep]

    def regular(self, t0: float, t1: float, interval: float, jitter: float = 0.05) -> np.ndarray:
        """Cron-like times every ``interval`` seconds with relative jitter."""
        if t1 <= t0 or interval <= 0:
            return np.empty(0)
        n = int((t1 - t0) / interval) + 1
        steps = np.maximum(interval * (1.0 + self.g.normal(0.0, jitter, size=n)), 0.05)
        times = t0 + np.concatenate(([0.0], np.cumsum(steps[:-1])))
        return times[times < t1]


class Population:
    """One simulated population: a name, a label, a frozen parameter dataclass, and ``run``."""

    name: ClassVar[str]
    label: ClassVar[int]
    params_type: ClassVar[type[Params]]

    def __init__(self, params: Params) -> None:
        if not isinstance(params, self.params_type):
            raise TypeError(f"{type(self).__name__} needs {self.params_type.__name__}, got {type(params).__name__}")
        self.p = params

    def run(self, ctx: Ctx) -> None:
        """Create this population's accounts in ``ctx.world`` and emit their requests."""
        raise NotImplementedError

"""SynthConfig: how many worlds, the run's seed and scale, world ranges, and every population's
parameters (one frozen, validated dataclass per population)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from intent_guard.errors import ConfigError

from .benign import BENIGN
from .campaigns import CAMPAIGNS
from .engine import Population
from .params import Params, Span, count, positive, rate, span

#: Every population, benign first, by name.
POPULATIONS: dict[str, type[Population]] = {cls.name: cls for cls in (*BENIGN, *CAMPAIGNS)}


def default_populations() -> dict[str, Params]:
    """Each population's default parameters."""
    return {name: cls.params_type() for name, cls in POPULATIONS.items()}


@dataclass(frozen=True, kw_only=True)
class SynthConfig(Params):
    """Parameters of a generated log. ``days`` fixes every world's window length (else drawn from
    ``days_range``); ``scale`` multiplies every account, team and campaign count."""

    seed: int = count(7)
    worlds: int = count(1, low=1)
    scale: float = positive(1.0)
    days: float | None = None
    days_range: Span = span((2.0, 8.0), low=0.1, high=60.0)
    density_range: Span = span((0.5, 2.0), low=0.0)
    population_jitter: Span = span((0.6, 1.6), low=0.0)
    max_omission_rate: float = rate(0.3)
    early_release_rate: float = rate(0.3)
    populations: Mapping[str, Params] = field(default_factory=default_populations)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.days is not None and not (isinstance(self.days, (int, float)) and 0.1 <= self.days <= 60):
            raise ConfigError(
                f"The 'days' parameter of SynthConfig must be None or in [0.1, 60]. Got {self.days!r} instead."
            )
        for name, params in self.populations.items():
            cls = POPULATIONS.get(name)
            if cls is None:
                raise ConfigError(f"SynthConfig has no population {name!r}; known: {', '.join(POPULATIONS)}.")
            if not isinstance(params, cls.params_type):
                raise ConfigError(
                    f"The {name!r} population of SynthConfig needs {cls.params_type.__name__}. "
                    f"Got {type(params).__name__} instead."
                )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: SynthConfig | None = None) -> SynthConfig:
        """Overrides from JSON, e.g. ``{"worlds": 3, "populations": {"students": {"step_by_step_rate": 0.4}}}``
        (population parameters are merged over the defaults, not replaced)."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"SynthConfig must be given as a JSON object. Got {data!r} instead.")
        base = base or cls()
        data = dict(data)
        pops = data.pop("populations", None)
        if pops is not None:
            if not isinstance(pops, Mapping):
                raise ConfigError(
                    f"The 'populations' parameter of SynthConfig must be an object. Got {pops!r} instead."
                )
            merged = dict(base.populations)
            for name, values in pops.items():
                if name not in POPULATIONS:
                    raise ConfigError(f"SynthConfig has no population {name!r}; known: {', '.join(POPULATIONS)}.")
                merged[name] = POPULATIONS[name].params_type.from_dict(values, merged[name])
            data["populations"] = merged
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"SynthConfig has no parameter {unknown[0]!r}; known: {', '.join(sorted(known))}.")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return dataclasses.replace(base, **values)

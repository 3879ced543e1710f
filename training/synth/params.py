"""Validated parameters: the rules every population's frozen parameter dataclass is checked by.

Each field of a :class:`Params` subclass declares its rule with one of the helpers below
(:func:`rate`, :func:`count`, :func:`positive`, :func:`span`, :func:`int_span`); construction checks
every field and raises :class:`~intent_guard.errors.ConfigError` with a message that names the
class, the field, the rule and the value, e.g.
``The 'step_by_step_rate' parameter of StudentsParams must be a float in [0, 1]. Got 1.5 instead.``
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Self

from intent_guard.errors import ConfigError

Span = tuple[float, float]


def rate(default: float) -> Any:
    """A probability in [0, 1]."""
    return field(default=default, metadata={"rule": "rate"})


def count(default: int, low: int = 0) -> Any:
    """An int >= ``low``."""
    return field(default=default, metadata={"rule": "count", "low": low})


def positive(default: float) -> Any:
    """A finite float > 0."""
    return field(default=default, metadata={"rule": "positive"})


def span(default: Span, low: float = 0.0, high: float = math.inf) -> Any:
    """A pair ``(a, b)`` of floats with ``low <= a <= b <= high``."""
    return field(default=default, metadata={"rule": "span", "low": low, "high": high})


def int_span(default: tuple[int, int], low: int = 0, high: int = 1_000_000) -> Any:
    """A pair ``(a, b)`` of ints with ``low <= a <= b <= high``."""
    return field(default=default, metadata={"rule": "int_span", "low": low, "high": high})


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check(owner: str, name: str, value: Any, meta: Mapping[str, Any]) -> None:
    rule = meta["rule"]
    low, high = meta.get("low", 0), meta.get("high", math.inf)
    if rule == "rate":
        ok, expect = _is_number(value) and 0.0 <= value <= 1.0, "a float in [0, 1]"
    elif rule == "count":
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
        expect = f"an int >= {low}"
    elif rule == "positive":
        ok, expect = _is_number(value) and value > 0, "a finite float > 0"
    elif rule in ("span", "int_span"):
        kind = "ints" if rule == "int_span" else "numbers"
        ok = (
            isinstance(value, tuple)
            and len(value) == 2
            and all(_is_number(v) and (rule == "span" or isinstance(v, int)) for v in value)
            and low <= value[0] <= value[1] <= high
        )
        expect = f"a pair (a, b) of {kind} with {low} <= a <= b <= {high}"
    else:  # pragma: no cover - a typo in a field declaration
        raise AssertionError(f"unknown rule {rule!r}")
    if not ok:
        raise ConfigError(f"The '{name}' parameter of {owner} must be {expect}. Got {value!r} instead.")


@dataclass(frozen=True, kw_only=True)
class Params:
    """Base of every parameter dataclass: validates each field by its declared rule."""

    def __post_init__(self) -> None:
        for f in fields(self):
            if "rule" in f.metadata:
                _check(type(self).__name__, f.name, getattr(self, f.name), f.metadata)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: Self | None = None) -> Self:
        """Build from a JSON-like mapping (lists become pairs), over ``base`` or the defaults."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{cls.__name__} must be given as a JSON object. Got {data!r} instead.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{cls.__name__} has no parameter {unknown[0]!r}; known: {', '.join(sorted(known))}.")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return dataclasses.replace(base, **values) if base is not None else cls(**values)

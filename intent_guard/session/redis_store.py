"""Session state in Redis, shared by every server process: one atomic Lua call per request.

The Lua script applies :func:`intent_guard.session.state.update_state`'s rule server side, so a
request's account and link-value updates happen in one round trip
and atomically: no lost updates however many processes score at once. States are stored as packed
little-endian float64 strings; keys expire after ``ttl_seconds`` of wall-clock idleness, and a
state idle for longer than that in *request* time is reset, as in the memory store.

If Redis cannot be reached, the call falls back to a local :class:`MemoryStore` and the result
says ``degraded``; the Guard puts that in the verdict's reasons and counts it. Redis is retried
after ``retry_seconds``, so scoring recovers by itself once Redis is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import StoreError, require
from .entities import SCHEMAS
from .state import EntityUpdate
from .store import MemoryStore, StoreResult, Update

log = logging.getLogger("intent_guard.session")

_LUA_TEMPLATE = r"""
local schemas = {SCHEMAS}
local t = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local expire = tonumber(ARGV[3])
local out = {}
local a = 4
for k = 1, #KEYS do
  local s = schemas[tonumber(ARGV[a])]
  local size = s.size
  local fmt = '<' .. string.rep('d', size)
  local raw = redis.call('GET', KEYS[k])
  local v = {}
  if raw and #raw == 8 * size then
    v = {struct.unpack(fmt, raw)}
    v[size + 1] = nil  -- struct.unpack returns the next position last
  else
    for i = 1, size do v[i] = 0.0 end
  end
  if v[3] > 0 and t - v[1] > ttl then
    for i = 1, size do v[i] = 0.0 end
  end
  local tally = ARGV[a + 2] == '1'
  local first = v[3] == 0
  local dt = 0.0
  if first then
    v[2] = t
    v[1] = t
  elseif t > v[1] then
    dt = t - v[1]
  end
  if dt > 0 then
    for i = 1, #s.horizons do
      v[3 + i] = v[3 + i] * math.exp(-dt / s.horizons[i])
    end
  end
  local n_inc = tonumber(ARGV[a + 1])
  a = a + 3
  for _ = 1, n_inc do
    local index = tonumber(ARGV[a]) + 1
    v[index] = v[index] + tonumber(ARGV[a + 1])
    a = a + 2
  end
  if s.gap >= 0 and not first and tally then
    local x = math.log(1.0 + dt)
    v[s.gap + 1] = v[s.gap + 1] + 1.0
    v[s.gap + 2] = v[s.gap + 2] + x
    v[s.gap + 3] = v[s.gap + 3] + x * x
  end
  local stamp = tonumber(ARGV[a])
  if stamp >= 0 then
    local index = s.stamp_start + stamp + 1
    if t > v[index] then v[index] = t end
  end
  a = a + 1
  if t > v[1] then v[1] = t end
  if tally then v[3] = v[3] + 1 end
  local packed = struct.pack(fmt, unpack(v))
  redis.call('SET', KEYS[k], packed, 'EX', expire)
  out[#out + 1] = packed
end
return out
"""


def _lua_schemas() -> tuple[str, dict[str, int]]:
    entries, ids = [], {}
    for i, schema in enumerate(SCHEMAS.values(), start=1):
        ids[schema.name] = i
        horizons = ", ".join(f"{h:.17g}" for h in schema.horizons)
        gap = schema.gap_slot if schema.gap_slot is not None else -1
        entries.append(
            f"[{i}] = {{size = {schema.size}, horizons = {{{horizons}}}, gap = {gap}, "
            f"stamp_start = {schema.stamp_start}}}"
        )
    return "{" + ", ".join(entries) + "}", ids


def _encode(update: EntityUpdate, schema_id: int) -> list[str]:
    args = [str(schema_id), str(len(update.increments)), "1" if update.tally else "0"]
    for index, amount in update.increments:
        args += [str(index), repr(float(amount))]
    args.append(str(update.stamp))
    return args


class RedisStore:
    """SessionStore in a Redis server (``pip install 'intent-guard[redis]'``). Thread safe."""

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        *,
        prefix: str = "ig:",
        ttl_seconds: float = 7 * 86400.0,
        socket_timeout: float = 0.05,
        retry_seconds: float = 1.0,
        fallback: MemoryStore | None = None,
    ) -> None:
        redis = require("redis", "redis")
        self.client: Any = redis.Redis.from_url(  # type: ignore[attr-defined]
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
        )
        # Every failure of the shared store falls back to local state: connection and timeout,
        # out of memory and any other error reply (WRONGTYPE, a Lua error), an unreadable reply.
        self._errors: tuple[type[BaseException], ...] = (
            redis.exceptions.RedisError,  # type: ignore[attr-defined]
            OSError,
            StoreError,
        )
        source, self._schema_ids = _lua_schemas()
        self.script = self.client.register_script(_LUA_TEMPLATE.replace("{SCHEMAS}", source))
        self.prefix = prefix
        self.ttl_seconds = float(ttl_seconds)
        self.retry_seconds = retry_seconds
        self.fallback = fallback or MemoryStore(ttl_seconds=ttl_seconds)
        self.degraded = False
        self.fallbacks = 0  # calls answered from local state because Redis failed
        self._down_until = 0.0
        self._lock = threading.Lock()

    def apply(self, updates: Sequence[Update]) -> StoreResult:
        if time.monotonic() >= self._down_until:
            try:
                result = self._apply_remote(updates)
            except self._errors as exc:
                with self._lock:
                    self._down_until = time.monotonic() + self.retry_seconds
                    if not self.degraded:
                        log.warning("Redis unreachable (%s): scoring with local session state", type(exc).__name__)
            else:
                if self.degraded:
                    log.warning("Redis reachable again after %d degraded calls", self.fallbacks)
                self.degraded = False
                return result
        with self._lock:
            self.degraded = True
            self.fallbacks += 1
        local = self.fallback.apply(updates)
        return StoreResult(local.states, degraded=True)

    def _apply_remote(self, updates: Sequence[Update]) -> StoreResult:
        t = max((u.timestamp for _, _, u in updates), default=0.0)
        keys = [self.prefix + key for key, _, _ in updates]
        args: list[str] = [repr(float(t)), repr(self.ttl_seconds), str(int(self.ttl_seconds))]
        for _, schema, update in updates:
            if update.timestamp != t:
                raise StoreError("RedisStore.apply takes the updates of one request (one timestamp)")
            args += _encode(update, self._schema_ids[schema.name])
        reply = self.script(keys=keys, args=args)
        try:
            states = [
                np.frombuffer(raw, dtype="<f8").astype(np.float64)
                for raw, (_, schema, _) in zip(reply, updates, strict=True)
            ]
        except (TypeError, ValueError) as exc:
            raise StoreError(f"unreadable reply from Redis: {type(exc).__name__}: {str(exc)[:80]}") from None
        for state, (_, schema, _) in zip(states, updates, strict=True):
            if len(state) != schema.size:
                raise StoreError(f"Redis returned a state of {len(state)} floats for schema {schema.name}")
        return StoreResult(states)

    def get(self, key: str) -> np.ndarray | None:
        raw = self.client.get(self.prefix + key)
        return None if raw is None else np.frombuffer(raw, dtype="<f8").astype(np.float64)

    def forget(self, key: str) -> bool:
        """Drop ``key`` from Redis and from the local fallback; StoreError if Redis cannot be
        reached (an operator's reset must not half-succeed silently)."""
        local = self.fallback.forget(key)
        try:
            return bool(self.client.delete(self.prefix + key)) or local
        except self._errors as exc:
            raise StoreError(
                f"could not reset {key!r} in Redis ({type(exc).__name__}); retry when it is reachable"
            ) from exc

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except self._errors:
            return False

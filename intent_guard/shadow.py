"""A candidate bundle scored beside the serving one, on the same traffic, never touching the answer.

The candidate has its own Guard (its own store, thresholds and policy). Requests reach it in
serving order through one background worker (its account state needs time order); if the worker
falls ``max_pending`` batches behind, new batches are dropped and counted rather than slowing the
serving path. Each candidate verdict is logged on the ``intent_guard.shadow`` logger beside the
served decision, and disagreements are counted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from .types import Request, Verdict

if TYPE_CHECKING:
    from .guard import Guard

shadow_log = logging.getLogger("intent_guard.shadow")


class Shadow:
    """Runs ``candidate`` on every batch the serving Guard scores; see the module docstring."""

    def __init__(self, candidate: Guard, *, max_pending: int = 1000) -> None:
        self.candidate = candidate
        self.counts = {"scored": 0, "disagreements": 0, "errors": 0, "dropped": 0}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_pending)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="intent-guard-shadow")
        self._last: Future[None] | None = None

    def submit(self, requests: Sequence[Request], served: Sequence[Verdict]) -> None:
        """Queue a scored batch for the candidate; returns at once."""
        if not self._slots.acquire(blocking=False):
            with self._lock:
                self.counts["dropped"] += len(requests)
            return
        self._last = self._worker.submit(self._run, list(requests), list(served))

    def drain(self, timeout: float | None = None) -> None:
        """Wait until every queued batch has been scored (tests, shutdown)."""
        if self._last is not None:
            self._last.result(timeout)

    def close(self) -> None:
        self._worker.shutdown(wait=True)

    def _run(self, requests: list[Request], served: list[Verdict]) -> None:
        try:
            candidates = self.candidate.score_many(requests)
        except Exception as exc:  # noqa: BLE001 - a candidate bundle must never break serving
            with self._lock:
                self.counts["errors"] += len(requests)
            shadow_log.warning("shadow %s failed: %s: %s", self.candidate.model_version, type(exc).__name__, exc)
            return
        finally:
            self._slots.release()
        disagreements = 0
        for ours, theirs in zip(served, candidates, strict=True):
            a, b = ours.would_decide or ours.decision, theirs.would_decide or theirs.decision
            disagreements += a != b
            shadow_log.info("shadow %s", {"served_decision": a, "candidate_decision": b, **theirs.to_dict()})
        with self._lock:
            self.counts["scored"] += len(candidates)
            self.counts["disagreements"] += disagreements

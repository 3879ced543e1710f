"""The deep analysis beside the inline path: which requests it reads, and how its evidence reaches
the account's later decisions.

Every request gets the inline analysis (static encoder, under a millisecond) and its verdict at
once. The deep analysis (:class:`~intent_guard.deep.DeepContent`, the int8 transformer, ~30 ms)
reads a *selection* of requests, chosen from the account's request count alone so that a replay
selects exactly what live traffic selected:

* an account's first ``first`` requests (default 8): a new account has the least behavioural
  history, and a slow, low-volume campaign may never send more;
* thereafter every ``every``-th request (default 32), so that a long-lived account keeps being read
  as its traffic changes (its deep evidence decays with a week's horizon, like the account's own).

Each analysed request's content-only probability joins the account's *deep evidence* (the ``deep``
entity of the session store: a decayed top-3 mean, like the account score), which the policy
reads at the account's next request, against its own thresholds fitted on the build's calibration
split (``python -m training deep-decision``). The analyser runs on a background thread with a
bounded queue (selected requests beyond it are dropped and counted, never waited for), or
synchronously for offline scoring of a log, where the evidence lands before the next request.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .deep import DeepContent
from .errors import BundleError, ConfigError
from .session import DEEP, SessionStore
from .session.entities import deep_evidence_update, deep_key
from .types import Request

log = logging.getLogger("intent_guard.deep")


@dataclass(frozen=True, slots=True)
class DeepSelection:
    """Which requests of an account the deep analysis reads (by the account's request count)."""

    first: int = 8
    every: int = 32

    def __post_init__(self) -> None:
        for name in ("first", "every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"DeepSelection.{name} must be an int >= 0. Got {value!r} instead.")

    def selects(self, account_requests: int) -> bool:
        """True for the account's ``account_requests``-th request (1-based) if it is to be analysed."""
        return account_requests <= self.first or (self.every > 0 and account_requests % self.every == 0)

    def to_dict(self) -> dict[str, int]:
        return {"first": self.first, "every": self.every}


@dataclass(frozen=True, slots=True)
class DeepDecision:
    """What the bundle's ``deep_content.decision`` section holds: the selection the thresholds were
    fitted with, and the deep-evidence thresholds for ``review`` and ``block``."""

    selection: DeepSelection
    review: float
    block: float

    @classmethod
    def from_manifest(cls, deep_section: Mapping[str, Any], where: str) -> DeepDecision:
        section = deep_section.get("decision")
        if not isinstance(section, Mapping):
            raise BundleError(
                f"bundle {where} has no deep-evidence thresholds (no 'deep_content.decision' in its manifest); "
                "fit them with: python -m training deep-decision --log LOG --model BUNDLE (the build's labelled "
                "log) or intent-guard calibrate LOG --deep -o DIR (your own unlabelled traffic)"
            )
        try:
            selection = DeepSelection(**dict(section["selection"]))
            review, block = float(section["review"]), float(section["block"])
        except (KeyError, TypeError, ValueError, ConfigError) as exc:
            raise BundleError(f"bundle {where}: deep_content.decision is malformed ({exc}); refit it") from exc
        if not 0.0 <= review <= block:
            raise BundleError(f"bundle {where}: deep_content.decision needs 0 <= review <= block: {review}, {block}")
        return cls(selection, review, block)


class DeepAnalyzer:
    """Scores selected requests with a :class:`DeepContent` and adds their probabilities to their
    accounts' deep evidence in ``store`` (the Guard's own store). Thread safe; never raises into
    the caller for a request it could not analyse (the failure is logged and counted).

    ``background=True``: a daemon thread takes requests from a queue of at most ``max_pending``;
    a selected request that finds the queue full is dropped (``counts["dropped"]``).
    ``background=False``: :meth:`submit` analyses at once (offline scoring; deterministic).
    """

    def __init__(
        self,
        deep: DeepContent,
        store: SessionStore,
        *,
        selection: DeepSelection | None = None,
        background: bool = True,
        max_pending: int = 1000,
    ) -> None:
        if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
            raise ConfigError(f"The 'max_pending' parameter must be an int >= 1. Got {max_pending!r} instead.")
        self.deep = deep
        self.store = store
        self.selection = selection or DeepSelection()
        self.background = background
        self.counts = {"analysed": 0, "dropped": 0, "errors": 0}
        self._lock = threading.Lock()
        self._queue: queue.Queue[Request | None] = queue.Queue(maxsize=max_pending)
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._run, name="intent-guard-deep", daemon=True)
            self._thread.start()

    def submit(self, request: Request) -> bool:
        """Analyse ``request`` (already validated; one the selection chose): now, or queued. False
        if it was dropped because the queue was full."""
        if not self.background:
            self._analyse(request)
            return True
        try:
            self._queue.put_nowait(request)
        except queue.Full:
            self._count("dropped")
            return False
        return True

    def drain(self) -> None:
        """Wait until every queued request has been analysed (tests, orderly shutdown)."""
        self._queue.join()

    def close(self) -> None:
        """Analyse what is queued, then stop the background thread."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _run(self) -> None:
        while True:
            request = self._queue.get()
            try:
                if request is None:
                    return
                self._analyse(request)
            finally:
                self._queue.task_done()

    def _analyse(self, request: Request) -> None:
        try:
            probability = self.deep.score(request)
            self.store.apply(
                [(deep_key(request.account_id), DEEP, deep_evidence_update(request.timestamp, probability))]
            )
        except Exception:  # a worker must never die, nor raise into a host's request path
            self._count("errors")
            log.exception("deep analysis of request %s failed", request.request_id)
            return
        self._count("analysed")

    def _count(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

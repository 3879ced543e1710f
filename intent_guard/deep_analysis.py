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

A thread shares the interpreter lock with the host's request threads: measured
(``benchmarks/bench_deep.py``), the inline p99 rises several-fold while it works. For latency-
critical serving, :class:`DeepProcess` runs the same analysis in a child process of its own; the
host keeps only a thread that writes the probabilities it sends back into the store.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
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


class _Worker:
    """What both workers share: counts, and forgetting accounts while their requests are queued
    (an analysis of a request queued before ``forget`` must not bring the evidence back)."""

    def __init__(self, store: SessionStore, selection: DeepSelection | None, max_pending: int) -> None:
        if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
            raise ConfigError(f"The 'max_pending' parameter must be an int >= 1. Got {max_pending!r} instead.")
        self.store = store
        self.selection = selection or DeepSelection()
        self.counts = {"analysed": 0, "dropped": 0, "errors": 0}
        self._lock = threading.Lock()
        self._generation: dict[str, int] = {}  # accounts forgotten in this process -> how many times

    def forget(self, account_id: str) -> None:
        """Drop the results of this account's requests queued so far (call before clearing its state)."""
        with self._lock:
            self._generation[account_id] = self._generation.get(account_id, 0) + 1

    def _tag(self, account_id: str) -> int:
        with self._lock:
            return self._generation.get(account_id, 0)

    def _write(self, request_id: str, account_id: str, timestamp: float, probability: float, tag: int) -> None:
        """Add one analysed probability to the account's deep evidence (unless forgotten since)."""
        if self._tag(account_id) != tag:
            self._count("dropped")
            return
        try:
            self.store.apply([(deep_key(account_id), DEEP, deep_evidence_update(timestamp, probability))])
        except Exception:  # a store failure must not stop a worker
            log.exception("deep evidence of request %s could not be written", request_id)
            self._count("errors")
            return
        self._count("analysed")

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts[name] += n


class DeepAnalyzer(_Worker):
    """Scores selected requests with a :class:`DeepContent` and adds their probabilities to their
    accounts' deep evidence in ``store`` (the Guard's own store). Thread safe; never raises into
    the caller for a request it could not analyse (the failure is logged and counted).

    ``background=True``: a daemon thread takes requests from a queue of at most ``max_pending``;
    a selected request that finds the queue full, or comes after :meth:`close`, is dropped
    (``counts["dropped"]``). ``background=False``: :meth:`submit` analyses at once (offline
    scoring; deterministic).
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
        super().__init__(store, selection, max_pending)
        self.deep = deep
        self.background = background
        self._closed = False
        self._queue: queue.Queue[tuple[Request, int] | None] = queue.Queue(maxsize=max_pending)
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._run, name="intent-guard-deep", daemon=True)
            self._thread.start()

    def submit(self, request: Request) -> bool:
        """Analyse ``request`` (already validated; one the selection chose): now, or queued. False
        if it was dropped (queue full, or the analyser closed)."""
        tag = self._tag(request.account_id)
        if not self.background:
            self._analyse(request, tag)
            return True
        if self._closed:
            self._count("dropped")
            return False
        try:
            self._queue.put_nowait((request, tag))
        except queue.Full:
            self._count("dropped")
            return False
        return True

    def drain(self, timeout: float | None = None) -> None:
        """Wait until every queued request has been analysed (tests, orderly shutdown); at most
        ``timeout`` seconds when given."""
        with self._queue.all_tasks_done:  # what Queue.join waits on, with a timeout
            self._queue.all_tasks_done.wait_for(lambda: self._queue.unfinished_tasks == 0, timeout)

    def close(self) -> None:
        """Analyse what is queued, then stop the background thread; later requests are dropped."""
        self._closed = True
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._analyse(*item)
            finally:
                self._queue.task_done()

    def _analyse(self, request: Request, tag: int) -> None:
        try:
            probability = self.deep.score(request)
        except Exception:  # a worker must never die, nor raise into a host's request path
            self._count("errors")
            log.exception("deep analysis of request %s failed", request.request_id)
            return
        self._write(request.request_id, request.account_id, request.timestamp, probability, tag)


#: How long the child waits for work before checking that its host is still alive, and how often
#: the host's collector checks that the child is.
_POLL_SECONDS = 0.5


class DeepProcess(_Worker):
    """The same analysis as a background :class:`DeepAnalyzer`, in a child process (spawned, so no
    state of the host is inherited): the host only queues the selected requests and, on one thread,
    writes the probabilities the child sends back into ``store``. Same interface (``submit``,
    ``drain``, ``close``, ``forget``, ``counts``, ``selection``, ``store``); a selected request
    that finds ``max_pending`` requests already waiting is dropped and counted.

    If the child dies, its pending and later requests are counted as errors and logged; the host
    is never affected, and never waits for it at exit. The child exits by itself when its host is
    gone."""

    background = True

    def __init__(
        self, bundle: Path, store: SessionStore, *, selection: DeepSelection | None = None, max_pending: int = 1000
    ) -> None:
        super().__init__(store, selection, max_pending)
        self._pending = 0
        self._done = threading.Condition(self._lock)
        context = multiprocessing.get_context("spawn")
        self._inbox: Any = context.Queue(maxsize=max_pending)
        self._inbox.cancel_join_thread()  # at exit, never wait to hand requests to a busy or dead child
        self._outbox: Any = context.Queue()
        self._process = context.Process(
            target=_child, args=(str(bundle), self._inbox, self._outbox), name="intent-guard-deep", daemon=True
        )
        self._process.start()
        self._stopping = threading.Event()
        self._collector = threading.Thread(target=self._collect, name="intent-guard-deep-results", daemon=True)
        self._collector.start()

    def submit(self, request: Request) -> bool:
        """Queue ``request`` for the child; False if it was dropped (queue full, or no child)."""
        try:
            alive = self._process.is_alive()
        except Exception:  # e.g. asked from a forked copy of the host: the child is not ours
            alive = False
        if not alive:
            self._count("errors")
            log.error("deep analysis process is not running; request %s not analysed", request.request_id)
            return False
        tag = self._tag(request.account_id)
        with self._lock:
            self._pending += 1
        try:
            self._inbox.put_nowait((request, tag))
        except queue.Full:
            with self._lock:
                self._pending -= 1
                self.counts["dropped"] += 1
            return False
        return True

    def drain(self, timeout: float | None = None) -> None:
        """Wait until every queued request has been answered (or the child has died)."""
        with self._done:
            self._done.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Let the child analyse what is queued (up to ``timeout`` seconds), then stop it and the
        collector; a child that does not stop in time is terminated."""
        if self._process.is_alive():
            with contextlib.suppress(queue.Full):
                self._inbox.put(None, timeout=timeout)
            self._process.join(timeout)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(5)
        self._stopping.set()
        self._collector.join(timeout=5)

    def _collect(self) -> None:
        while True:
            try:
                item = self._outbox.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if not self._process.is_alive():
                    self._abandon()
                    if self._stopping.is_set():
                        return
                continue
            kind, request_id, account_id, timestamp, value, tag = item
            if kind == "ok":
                self._write(request_id, account_id, timestamp, value, tag)
            else:
                log.error("deep analysis of request %s failed: %s", request_id, value)
                self._count("errors")
            with self._done:
                self._pending = max(0, self._pending - 1)
                self._done.notify_all()

    def _abandon(self) -> None:
        """The child is gone: what it had not answered will never be; count it as errors."""
        with self._done:
            if self._pending:
                log.error("deep analysis process ended with %d requests unanswered", self._pending)
                self.counts["errors"] += self._pending
                self._pending = 0
            self._done.notify_all()


def _child(bundle: str, inbox: Any, outbox: Any) -> None:
    """The child process: load the deep model, then score what arrives until a None, or until its
    host is gone."""
    parent = multiprocessing.parent_process()
    deep = DeepContent.load(bundle)
    while True:
        try:
            item = inbox.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                return
            continue
        if item is None:
            return
        request, tag = item
        try:
            result: tuple[Any, ...] = ("ok", deep.score(request))
        except Exception as exc:  # report it; the child keeps serving
            result = ("error", repr(exc))
        outbox.put((result[0], request.request_id, request.account_id, request.timestamp, result[1], tag))

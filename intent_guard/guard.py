"""Guard: the feature pipeline, the ONNX scorer, calibration and the account policy -> Verdict."""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bundle import Manifest, default_bundle_path, load_manifest
from .config import GuardConfig
from .decision import AccountSnapshot, DecisionThresholds, Platt, Policy
from .errors import BundleError, InvalidRequestError
from .features import FEATURE_NAMES
from .logs import batched
from .pipeline import FeaturePipeline, PreparedRequest
from .scoring import OnnxScorer, Scorer, build_reasons
from .scoring.reasons import feature_reference
from .session import ACCOUNT, DEEP, MemoryStore, SessionStore
from .session.entities import account_key, deep_key, deep_read_update, evidence_update
from .shadow import Shadow

if TYPE_CHECKING:
    from .deep_analysis import DeepAnalyzer, DeepProcess
from .types import Reason, Request, Verdict

log = logging.getLogger("intent_guard.deep")

#: Added to a verdict whose session features came from local state because the shared store failed.
DEGRADED_REASON = Reason(kind="degraded", name="session_store", value="local state: shared store unreachable")
TRUSTED_REASON = Reason(kind="policy", name="trusted_account", value="always allowed (GuardConfig.trusted_accounts)")


class Guard:
    """Scores requests for distillation risk. Build it with :meth:`load`; thread safe.

    >>> guard = Guard.load()                       # the shipped default bundle
    >>> verdict = guard.score({"request_id": "r1", "timestamp": 1769904000, "account_id": "a1",
    ...                        "messages": [{"role": "user", "content": "hi"}]})
    >>> verdict.decision
    'allow'
    """

    def __init__(
        self, *, manifest: Manifest, pipeline: FeaturePipeline, scorer: Scorer, config: GuardConfig, encoder_kind: str
    ) -> None:
        if scorer.n_features != len(FEATURE_NAMES):
            raise BundleError(f"scorer takes {scorer.n_features} features; the contract has {len(FEATURE_NAMES)}")
        self.manifest = manifest
        self.pipeline = pipeline
        self.scorer = scorer
        self.config = config
        self.encoder_kind = encoder_kind
        decision = manifest.data["decision"]
        bundled = DecisionThresholds.from_manifest(decision)
        self.policy = Policy(
            DecisionThresholds(
                account_review=_pick(config.review_threshold, bundled.account_review),
                account_block=_pick(config.block_threshold, bundled.account_block),
                request_review=_pick(config.request_review_threshold, bundled.request_review),
            ),
            block_min_requests=config.block_min_requests,
        )
        self.calibration = Platt.from_manifest(decision["calibration"])
        self.shadow: Shadow | None = None
        self.deep: DeepAnalyzer | DeepProcess | None = None
        self._reference = feature_reference(FEATURE_NAMES, manifest.data.get("feature_reference", {}))
        suffix = "" if encoder_kind == manifest.serving_encoder else f"+{encoder_kind}"
        self.model_version = manifest.version + suffix

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        config: GuardConfig | None = None,
        store: SessionStore | None = None,
        encoder: str | None = None,
    ) -> Guard:
        """Load and verify a bundle (the shipped default when ``path`` is None).

        ``encoder`` overrides the bundle's serving encoder, for benchmarks and evaluation only:
        the scorer and thresholds were fitted on the serving encoder's similarities.
        """
        manifest = load_manifest(Path(path) if path is not None else default_bundle_path())
        config = config or GuardConfig()
        kind = encoder or manifest.serving_encoder
        if kind != manifest.serving_encoder:
            warnings.warn(
                f"encoder {kind!r} instead of the bundle's serving encoder {manifest.serving_encoder!r}: "
                "the scorer was trained on the latter",
                stacklevel=2,
            )
        store = store or MemoryStore(max_entities=config.max_entities, ttl_seconds=config.ttl_seconds)
        pipeline = FeaturePipeline.from_manifest(manifest, store, kind)
        scorer = OnnxScorer(manifest.path(manifest.scorer))
        return cls(manifest=manifest, pipeline=pipeline, scorer=scorer, config=config, encoder_kind=kind)

    @property
    def store(self) -> SessionStore:
        return self.pipeline.store

    def score(self, request: Request | Mapping[str, Any]) -> Verdict:
        """Score one request (a Request or a dict in the spec's form) and update its account.

        Raises InvalidRequestError (a ValueError) naming the bad field; state is then untouched.
        """
        return self._verdicts([request])[0]

    def score_many(self, requests: Iterable[Request | Mapping[str, Any]]) -> list[Verdict]:
        """Score requests in the order given (a replayed log must be sorted by time first)."""
        verdicts: list[Verdict] = []
        for batch in batched(requests, self.config.batch_size):
            verdicts.extend(self._verdicts(batch))
        return verdicts

    def forget_account(self, account_id: str) -> bool:
        """Reset an account's state, evidence included (an operator's remedy for a false positive;
        to exempt it for good, list it in ``GuardConfig.trusted_accounts``). Shared values it used
        (cards, IPs, prompts) keep their own counts. A shadow bundle's state forgets it too. True
        if the account had state.

        With Redis, this clears the shared state and this process's local fallback; other
        processes' fallbacks (used only while Redis is unreachable) keep what they had. Raises
        StoreError when Redis cannot be reached."""
        if not isinstance(account_id, str) or not account_id:
            raise InvalidRequestError("account_id must be a non-empty string")
        key = account_key(account_id)
        if self.shadow is not None:
            self.shadow.candidate.store.forget(key)
        if self.deep is not None:  # its requests still queued must not bring the evidence back
            self.deep.forget(account_id)
        had_deep = self.store.forget(deep_key(account_id))
        return self.store.forget(key) or had_deep

    def with_shadow(self, candidate: Guard, *, max_pending: int = 1000) -> Shadow:
        """Score every request with ``candidate`` as well, in the background (its own store and
        policy); its verdicts go to the ``intent_guard.shadow`` logger and its disagreements, errors
        and drops to ``Shadow.counts``. It never changes or delays this Guard's answers."""
        if candidate is self:
            raise ValueError("a Guard cannot shadow itself: load the candidate bundle into its own Guard")
        self.shadow = Shadow(candidate, max_pending=max_pending)
        return self.shadow

    def with_deep(
        self,
        *,
        background: bool = True,
        max_pending: int = 1000,
        analyzer: DeepAnalyzer | DeepProcess | None = None,
        require_thresholds: bool = True,
        process: bool = False,
    ) -> DeepAnalyzer | DeepProcess:
        """Run the bundle's deep content analysis beside the inline path (:mod:`intent_guard.deep_analysis`):
        the requests its selection picks are analysed on a background thread (``background=False``:
        at once, for offline scoring), and the account's deep evidence then decides at the bundle's
        deep thresholds alongside its inline evidence. Raises BundleError if the bundle has no deep
        model or no deep thresholds (the message names the command that adds them).

        ``analyzer``: one built by the caller (its store must be this Guard's); the bundle's deep
        thresholds are still required. ``require_thresholds=False`` (calibration replays): without
        them the deep evidence is kept but decides nothing. ``process=True``: the analysis runs in a
        child process (:class:`~intent_guard.deep_analysis.DeepProcess`), off the host's interpreter
        lock, for latency-critical serving."""
        from .deep import DeepContent
        from .deep_analysis import DeepAnalyzer, DeepDecision, DeepProcess

        section = self.manifest.data.get("deep_content")
        section = section if isinstance(section, Mapping) else {}
        decision: DeepDecision | None = None
        if require_thresholds or "decision" in section:
            decision = DeepDecision.from_manifest(section, str(self.manifest.root))
        if analyzer is None and process:
            DeepContent(self.manifest)  # a bad deep model fails here, not in the child
            analyzer = DeepProcess(
                self.manifest.root,
                self.store,
                selection=decision.selection if decision is not None else None,
                max_pending=max_pending,
            )
        elif analyzer is None:
            analyzer = DeepAnalyzer(
                DeepContent(self.manifest),
                self.store,
                selection=decision.selection if decision is not None else None,
                background=background,
                max_pending=max_pending,
            )
        elif analyzer.store is not self.store:
            raise ValueError("the deep analyzer must write to this Guard's store")
        elif process:
            raise ValueError("give either an analyzer or process=True, not both")
        previous, self.deep = self.deep, None  # no request reaches a closing analyser meanwhile
        if previous is not None and previous is not analyzer:
            previous.close()  # one analyser per Guard: the previous one finishes its queue and stops
        self.policy = Policy(
            dataclasses.replace(
                self.policy.thresholds,
                deep_review=decision.review if decision is not None else None,
                deep_block=decision.block if decision is not None else None,
            ),
            block_min_requests=self.policy.block_min_requests,
        )
        self.deep = analyzer
        return analyzer

    def _verdicts(self, requests: Sequence[Request | Mapping[str, Any]]) -> list[Verdict]:
        """Embed and match the batch at once, then for each request in order: its session writes,
        its probability, its account evidence and the policy. A verdict therefore never depends on
        how the requests were batched."""
        prepared = self.pipeline.prepare(requests)
        verdicts = [self._verdict(p) for p in prepared]
        if self.shadow is not None:
            self.shadow.submit([p.request for p in prepared], verdicts)
        return verdicts

    def _verdict(self, prepared: PreparedRequest) -> Verdict:
        c = self.pipeline.session(prepared)
        p = self.calibration(float(self.scorer.predict_proba(c.row[None, :])[0]))
        deep = self.deep
        updates = [(account_key(c.request.account_id), ACCOUNT, evidence_update(c.request.timestamp, p))]
        if deep is not None:  # read the deep evidence in the same atomic call
            updates.append((deep_key(c.request.account_id), DEEP, deep_read_update(c.request.timestamp)))
        states, degraded = self.store.apply(updates)
        account = AccountSnapshot(states[0], states[1] if deep is not None else None)
        request_reasons = build_reasons(
            c.similarity, c.row, self.pipeline.templates, self._reference, self.pipeline.template_like_similarity
        )
        decided = self.policy.decide(p, account, request_reasons)
        reasons = decided.reasons
        if c.degraded or degraded:
            reasons += (DEGRADED_REASON,)
        if deep is not None and deep.selection.selects(account.requests):
            try:  # its evidence counts from the account's next request on
                deep.submit(c.request)
            except Exception:  # the deep analysis must never fail a request
                log.exception("deep analysis of request %s could not be queued", c.request.request_id)
        observe = self.config.mode == "observe"
        if c.request.account_id in self.config.trusted_accounts:
            observe = True
            reasons += (TRUSTED_REASON,)
        return Verdict(
            request_id=c.request.request_id,
            probability=p,
            decision="allow" if observe else decided.decision,
            reasons=reasons,
            model_version=self.model_version,
            account_score=account.score,
            would_decide=decided.decision if observe else None,
        )


def _pick(override: float | None, bundled: float) -> float:
    return bundled if override is None else float(override)

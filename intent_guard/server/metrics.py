"""Prometheus metrics of the sidecar, in a registry of its own (not the process-global one)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ..types import Verdict


class Metrics:
    """Latency histogram, decisions (and, in observe mode or for trusted accounts, would-be
    decisions) by outcome, errors by kind, degraded mode, model version, and a shadow bundle's
    scored / disagreeing / failed / dropped requests."""

    def __init__(
        self,
        model_version: str,
        shadow_counts: Callable[[], Mapping[str, int]] | None = None,
        deep_counts: Callable[[], Mapping[str, int]] | None = None,
    ) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "intent_guard_score_seconds",
            "Wall time of one /v1/score call",
            ["outcome"],
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
        )
        self.decisions = Counter("intent_guard_decisions", "Verdicts by decision", ["decision"], registry=self.registry)
        self.errors = Counter(
            "intent_guard_errors", "Refused or failed calls by kind", ["kind"], registry=self.registry
        )
        self.degraded = Gauge(
            "intent_guard_degraded", "1 while the shared session store is unreachable", registry=self.registry
        )
        self.degraded_verdicts = Counter(
            "intent_guard_degraded_verdicts", "Verdicts scored on local state", registry=self.registry
        )
        self.would_decisions = Counter(
            "intent_guard_would_decisions",
            "Observe mode and trusted accounts: what the policy would have decided (the answer was allow)",
            ["decision"],
            registry=self.registry,
        )
        self.shadow = Gauge(
            "intent_guard_shadow_requests",
            "Shadow bundle: requests scored, decided differently, failed, dropped (cumulative)",
            ["kind"],
            registry=self.registry,
        )
        self.deep = Gauge(
            "intent_guard_deep_requests",
            "Deep analysis beside the inline path: requests analysed, dropped (queue full), failed (cumulative)",
            ["kind"],
            registry=self.registry,
        )
        # Cumulative counts of the background workers, read when the metrics are rendered.
        self._counted = [(g, c) for g, c in ((self.shadow, shadow_counts), (self.deep, deep_counts)) if c is not None]
        Info("intent_guard_model", "The loaded bundle", registry=self.registry).info({"version": model_version})

    def observe(self, verdicts: Sequence[Verdict], seconds: float, outcome: str, degraded: bool) -> None:
        self.latency.labels(outcome=outcome).observe(seconds)
        for verdict in verdicts:
            self.decisions.labels(decision=verdict.decision).inc()
            if verdict.would_decide is not None:
                self.would_decisions.labels(decision=verdict.would_decide).inc()
            if any(r.kind == "degraded" for r in verdict.reasons):
                self.degraded_verdicts.inc()
        self.degraded.set(1 if degraded else 0)
        if outcome != "scored":
            self.errors.labels(kind=outcome).inc()

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        for gauge, counts in self._counted:
            for kind, value in counts().items():
                gauge.labels(kind=kind).set(value)

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

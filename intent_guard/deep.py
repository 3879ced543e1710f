"""Deep content analysis: the transformer encoder's reading of a prompt, beside the inline path.

The inline :class:`~intent_guard.Guard` embeds with the static encoder, microseconds a request.
The transformer (ONNX int8) matches a stranger's new wordings (paraphrased, misspelt, translated
wrappers) far better, at tens of milliseconds a request: too slow inline, useful beside it (a
worker scoring a sample of traffic, an offline audit of a log). :class:`DeepContent` scores a
request's *content alone*: every window and sentence matched against the template library with
the int8 encoder, the elicitation cues and the bounded-output cue, combined by the bundle's
content-only model (``deep_content`` in its manifest, trained by ``python -m training
deep-content``). It reads and writes no session state: a request's score never depends on other
requests or on their order, and one instance may be called from several threads (the tokenizer,
the ONNX sessions and the template index are only read).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .bundle import Manifest, default_bundle_path, load_manifest
from .errors import BundleError
from .features import FEATURE_GROUPS
from .types import Request

#: The encoder the deep analysis embeds with (one of the bundle's encoders).
DEEP_ENCODER = "onnx-int8"


class DeepContent:
    """Content-only extraction probability of requests, from the bundle's deep content model."""

    def __init__(self, manifest: Manifest) -> None:
        from .pipeline import FeaturePipeline
        from .scoring import OnnxScorer
        from .session import MemoryStore

        section = manifest.data.get("deep_content")
        if not isinstance(section, Mapping):
            raise BundleError(
                f"bundle {manifest.root} has no deep content model (no 'deep_content' in its manifest); "
                "add one with: python -m training deep-content --log LOG --model BUNDLE"
            )
        expected = list(FEATURE_GROUPS["content"])
        if list(section.get("features", [])) != expected:
            raise BundleError(
                f"bundle {manifest.root}: deep_content.features must be this library's content features "
                f"{expected}; rebuild it with python -m training deep-content"
            )
        files = manifest.data.get("files", {})
        model_file = section.get("file")
        if not isinstance(model_file, str) or model_file not in files:
            raise BundleError(
                f"bundle {manifest.root}: deep_content.file must name a file listed (and hash-checked) in the "
                f"manifest's 'files', got {model_file!r}"
            )
        trained_against = section.get("trained_against")
        if not isinstance(trained_against, Mapping):
            trained_against = {}
        stale = sorted(name for name, digest in trained_against.items() if files.get(name) != digest)
        if not trained_against or stale:
            raise BundleError(
                f"bundle {manifest.root}: the deep content model was trained against other template files "
                f"({stale or 'none recorded'}); retrain it with python -m training deep-content"
            )
        encoder = str(section.get("encoder", DEEP_ENCODER))
        self.pipeline = FeaturePipeline.from_manifest(manifest, MemoryStore(max_entities=1), encoder)
        self.scorer = OnnxScorer(manifest.path(model_file))
        if self.scorer.n_features != len(expected):
            raise BundleError(
                f"deep content model {model_file} reads {self.scorer.n_features} features, "
                f"the manifest names {len(expected)}"
            )
        self.version = str(section.get("version", ""))
        self.encoder = encoder

    @classmethod
    def load(cls, path: str | Path | None = None) -> DeepContent:
        """The deep content model of the bundle at ``path`` (default: the shipped bundle)."""
        return cls(load_manifest(Path(path) if path is not None else default_bundle_path()))

    def score_many(self, requests: Sequence[Request | Mapping[str, Any]]) -> np.ndarray:
        """Content-only probability of each request (float64 [n], in order). Raises
        InvalidRequestError naming the bad field of an invalid request (then nothing is scored)."""
        rows = self.pipeline.content_rows(requests)
        return self.scorer.predict_proba(rows)

    def score(self, request: Request | Mapping[str, Any]) -> float:
        """Content-only probability of one request."""
        return float(self.score_many([request])[0])

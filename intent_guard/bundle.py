"""Model bundles: a directory with ``manifest.json`` and the files it lists, verified on load.

The manifest records the bundle version, every file's sha256, the feature names in order, the
thresholds, the encoders and which one serves, the training-data digest and the library
versions it was built with. :func:`load_manifest` refuses a bundle whose files do not match their
hashes (naming the file) or whose feature contract differs from this library's. Nothing in a
bundle is pickled: JSON, ``.npy`` (``allow_pickle=False``), ONNX and FAISS files only.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import BundleError, FeatureContractError
from .features import FEATURE_NAMES

MANIFEST = "manifest.json"
FORMAT_VERSION = 4  # 4: bounded_output feature; "decision" section (calibration, account thresholds)
DEFAULT_BUNDLE = Path(__file__).resolve().parent.parent / "models" / "default"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class EncoderFiles:
    """The files of one encoder of a bundle."""

    file: str
    index: str
    topic_centroids: str


@dataclass(frozen=True, slots=True)
class Manifest:
    """A verified bundle manifest, parsed once: the typed fields the library reads, and ``data``
    (the whole document, for reports and training)."""

    root: Path
    data: Mapping[str, Any]
    version: str
    serving_encoder: str
    scorer: str
    tokenizer: str
    templates: str
    template_like_similarity: float
    encoders: Mapping[str, EncoderFiles]

    def path(self, name: str) -> Path:
        return self.root / name

    def encoder(self, kind: str) -> EncoderFiles:
        if kind not in self.encoders:
            raise BundleError(f"bundle {self.root} has no encoder {kind!r}; it has {sorted(self.encoders)}")
        return self.encoders[kind]


def default_bundle_path() -> Path:
    """``$INTENT_GUARD_MODEL`` if set, else the shipped bundle (``models/default`` beside the package)."""
    override = os.environ.get("INTENT_GUARD_MODEL")
    return Path(override) if override else DEFAULT_BUNDLE


def load_manifest(root: Path, *, verify_hashes: bool = True) -> Manifest:
    """Read and verify ``root/manifest.json``; raise BundleError saying what to fix."""
    root = Path(root)
    manifest_file = root / MANIFEST
    if not manifest_file.is_file():
        raise BundleError(f"{root} is not a model bundle: {MANIFEST} not found")
    try:
        data = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"cannot read {manifest_file}: {exc}") from exc
    if not isinstance(data, dict):
        raise BundleError(f"{manifest_file} must hold a JSON object")
    for key in ("format", "bundle_version", "files", "features", "thresholds", "encoders", "serving_encoder"):
        if key not in data:
            raise BundleError(f"{manifest_file} lacks the field {key!r}")
    if data["format"] != FORMAT_VERSION:
        raise BundleError(
            f"{manifest_file} has format {data['format']}; this intent_guard reads format {FORMAT_VERSION}"
        )
    if tuple(data["features"]) != FEATURE_NAMES:
        theirs, ours = list(data["features"]), list(FEATURE_NAMES)
        missing = [n for n in ours if n not in theirs]
        extra = [n for n in theirs if n not in ours]
        raise FeatureContractError(
            f"bundle {root} was trained on other features than this intent_guard computes "
            f"(missing from bundle: {missing[:5]}, unknown to library: {extra[:5]}, "
            f"{'same names, other order' if not missing and not extra else ''}). "
            "Retrain the bundle with this library version."
        )
    if verify_hashes:
        for name, expected in data["files"].items():
            path = root / name
            if not path.is_file():
                raise BundleError(f"bundle file {name} listed in {MANIFEST} is missing from {root}")
            actual = sha256_file(path)
            if actual != expected:
                raise BundleError(
                    f"bundle file {name} does not match its sha256 in {MANIFEST} "
                    f"(expected {expected[:12]}..., found {actual[:12]}...): the file is corrupt or was modified"
                )
    manifest = _parse(root, manifest_file, data)
    _warn_on_version_drift(manifest_file, data.get("versions"))
    return manifest


def _field(data: Mapping[str, Any], key: str, kind: type, where: Path, what: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BundleError(f"{where}: the field {key!r} must be {what}, got {type(value).__name__}")
    return value


def _parse(root: Path, where: Path, data: Mapping[str, Any]) -> Manifest:
    """The typed manifest; a missing or mistyped field is a BundleError naming it."""
    encoders_raw = _field(data, "encoders", dict, where, "an object of encoders")
    encoders: dict[str, EncoderFiles] = {}
    for kind, spec in encoders_raw.items():
        if not isinstance(spec, dict):
            raise BundleError(f"{where}: encoders.{kind} must be an object")
        try:
            encoders[kind] = EncoderFiles(
                **{k: _field(spec, k, str, where, "a file name") for k in ("file", "index", "topic_centroids")}
            )
        except BundleError as exc:
            raise BundleError(f"{exc} (in encoders.{kind})") from None
    thresholds = _field(data, "thresholds", dict, where, "an object")
    for key in ("review", "block"):
        _field(thresholds, key, (int, float), where, "a number (in thresholds)")
    decision = _field(data, "decision", dict, where, "an object (calibration and account thresholds)")
    for key in ("account_review", "account_block", "request_review"):
        _field(decision, key, (int, float), where, "a number (in decision)")
    _field(decision, "calibration", dict, where, "an object (in decision)")
    manifest = Manifest(
        root=root,
        data=data,
        version=str(_field(data, "bundle_version", str, where, "a string")),
        serving_encoder=_field(data, "serving_encoder", str, where, "a string"),
        scorer=_field(data, "scorer", str, where, "a file name"),
        tokenizer=_field(data, "tokenizer", str, where, "a file name"),
        templates=_field(data, "templates", str, where, "a file name"),
        template_like_similarity=float(_field(data, "template_like_similarity", (int, float), where, "a number")),
        encoders=encoders,
    )
    manifest.encoder(manifest.serving_encoder)  # the serving encoder must be one of them
    return manifest


def draft_manifest(root: Path, data: Mapping[str, Any]) -> Manifest:
    """A manifest under construction (the training build): typed from what ``data`` holds so far,
    without file hashes or a scorer yet. Rebuild it after changing ``data``."""
    return Manifest(
        root=Path(root),
        data=data,
        version=str(data.get("bundle_version", "unfinished")),
        serving_encoder=str(data["serving_encoder"]),
        scorer=str(data.get("scorer", "")),
        tokenizer=str(data["tokenizer"]),
        templates=str(data["templates"]),
        template_like_similarity=float(data.get("template_like_similarity", 0.5)),
        encoders={
            kind: EncoderFiles(spec["file"], spec["index"], spec["topic_centroids"])
            for kind, spec in data["encoders"].items()
        },
    )


def _warn_on_version_drift(where: Path, recorded: object) -> None:
    """Warn when an installed serving library differs in major.minor from the one the bundle was
    built with (scores may move: numpy, onnxruntime, tokenizers, FAISS)."""
    if not isinstance(recorded, dict):
        return
    from importlib.metadata import PackageNotFoundError, version

    for package in ("numpy", "onnxruntime", "tokenizers", "faiss-cpu"):
        built = recorded.get(package)
        if not isinstance(built, str):
            continue
        try:
            installed = version(package)
        except PackageNotFoundError:
            continue
        if built.split(".")[:2] != installed.split(".")[:2]:
            warnings.warn(
                f"{where}: built with {package} {built}, running {installed}; re-check scores before serving",
                stacklevel=3,
            )

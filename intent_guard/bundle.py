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
class Manifest:
    """A verified bundle manifest and the directory it describes."""

    root: Path
    data: Mapping[str, Any]

    @property
    def version(self) -> str:
        return str(self.data["bundle_version"])

    @property
    def serving_encoder(self) -> str:
        return str(self.data["serving_encoder"])

    def path(self, name: str) -> Path:
        return self.root / name

    def encoder(self, kind: str) -> Mapping[str, str]:
        encoders = self.data["encoders"]
        if kind not in encoders:
            raise BundleError(f"bundle {self.root} has no encoder {kind!r}; it has {sorted(encoders)}")
        return encoders[kind]


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
    return Manifest(root=root, data=data)

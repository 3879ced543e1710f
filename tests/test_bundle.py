"""Bundles: hashes verified, feature contract enforced, no pickle."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from intent_guard import BundleError, FeatureContractError, Guard
from intent_guard.bundle import load_manifest

from .conftest import DEFAULT_BUNDLE


@pytest.fixture()
def bundle_copy(tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, target)
    return target


def test_shipped_bundle_verifies_and_is_small() -> None:
    manifest = load_manifest(DEFAULT_BUNDLE)
    assert manifest.serving_encoder in manifest.data["encoders"]
    size = sum(p.stat().st_size for p in DEFAULT_BUNDLE.iterdir() if p.is_file())
    assert size < 50e6
    assert not list(DEFAULT_BUNDLE.glob("*.pkl")) and not list(DEFAULT_BUNDLE.glob("*.pickle"))
    assert set(manifest.data["files"]) >= {"scorer.onnx", "templates.jsonl", "tokenizer.json"}


def test_tampered_file_is_refused_by_name(bundle_copy: Path) -> None:
    with (bundle_copy / "scorer.onnx").open("r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00\x01\x02")
    with pytest.raises(BundleError, match=r"scorer\.onnx does not match its sha256"):
        Guard.load(bundle_copy)


def test_missing_file_is_refused(bundle_copy: Path) -> None:
    (bundle_copy / "templates.jsonl").unlink()
    with pytest.raises(BundleError, match="templates.jsonl .* is missing"):
        load_manifest(bundle_copy)


def test_feature_contract_mismatch_is_refused(bundle_copy: Path) -> None:
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["features"] = manifest["features"][::-1]
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FeatureContractError, match="other order"):
        load_manifest(bundle_copy)


def test_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="manifest.json not found"):
        Guard.load(tmp_path)


@pytest.mark.parametrize(
    "change, needle",
    [
        (lambda m: m.pop("scorer"), "'scorer'"),
        (lambda m: m.update(template_like_similarity="high"), "'template_like_similarity'"),
        (lambda m: m["encoders"]["static"].pop("index"), "encoders.static"),
        (lambda m: m.update(serving_encoder="nope"), "no encoder 'nope'"),
        (lambda m: m["thresholds"].pop("review"), "'review'"),
        (lambda m: m.update(decision=[1]), "'decision'"),
        (lambda m: m.pop("decision"), "'decision'"),
        (lambda m: m["decision"].pop("account_block"), "'account_block'"),
    ],
)
def test_a_missing_or_mistyped_manifest_field_is_a_bundle_error_naming_it(bundle_copy: Path, change, needle) -> None:
    manifest = bundle_copy / "manifest.json"
    data = json.loads(manifest.read_text())
    change(data)
    manifest.write_text(json.dumps(data))
    with pytest.raises(BundleError, match=re.escape(needle)):
        load_manifest(bundle_copy)


def test_a_library_version_drift_is_a_warning(bundle_copy: Path) -> None:
    manifest = bundle_copy / "manifest.json"
    data = json.loads(manifest.read_text())
    data["versions"]["numpy"] = "1.0.0"
    manifest.write_text(json.dumps(data))
    with pytest.warns(UserWarning, match="built with numpy 1.0.0"):
        load_manifest(bundle_copy)

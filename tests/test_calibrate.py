"""``intent-guard calibrate``: thresholds from unlabelled traffic, robust to a campaign minority."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from intent_guard import Guard
from intent_guard.bundle import load_manifest
from intent_guard.calibrate import AccountMaxima, CalibrationError, fit_thresholds, replay_maxima, robust_threshold
from intent_guard.cli import main
from intent_guard.errors import BundleError

from .conftest import SHARED, make_request

VALIDATION = SHARED / "validation"


def _rates(scores: np.ndarray, t: float) -> float:
    return float((scores >= t).mean())


@pytest.mark.parametrize("campaign_share", [0.0, 0.05, 0.25])
def test_robust_threshold_near_its_rate_and_never_above_under_a_campaign_minority(campaign_share: float) -> None:
    """On a logit-normal benign null: within 0.5x-2x of the target with up to 5% campaign accounts;
    with more, it errs on the side of fewer benign flags (the median moves up), never more."""
    rng = np.random.default_rng(1)
    benign = 1 / (1 + np.exp(-rng.normal(-2.5, 1.0, 200_000)))
    campaigns = rng.uniform(0.8, 0.99, int(len(benign) * campaign_share / (1 - campaign_share)))
    mixed = np.concatenate([benign, campaigns])
    for rate in (0.01, 0.001):
        achieved = _rates(benign, robust_threshold(mixed, rate)) / rate
        assert achieved <= 2.0, (campaign_share, rate, achieved)
        if campaign_share <= 0.05:
            assert achieved >= 0.5, (campaign_share, rate, achieved)
    naive = np.quantile(mixed, 0.99)
    if campaign_share >= 0.05:  # the plain quantile lands among the campaigns: far fewer benign flags
        assert _rates(benign, naive) < 0.2 * 0.01


def test_robust_threshold_refuses_degenerate_input() -> None:
    with pytest.raises(CalibrationError, match="spread"):
        robust_threshold(np.full(100, 0.2), 0.01)
    with pytest.raises(CalibrationError, match="rate"):
        robust_threshold(np.linspace(0, 1, 100), 0.7)


def test_cli_refuses_bad_input(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nope.jsonl"
    assert main(["calibrate", str(missing), "-o", str(tmp_path / "b")]) == 1
    assert "no such log file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["calibrate", str(missing), "-o", str(tmp_path / "b"), "--review-rate", "2"])
    assert exc.value.code == 2
    few = tmp_path / "few.jsonl"
    few.write_text("".join(json.dumps(make_request(i, account=f"a{i}")) + "\n" for i in range(10)))
    assert main(["calibrate", str(few), "-o", str(tmp_path / "b")]) == 1
    assert "at least 50" in capsys.readouterr().err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    many = tmp_path / "many.jsonl"
    many.write_text(
        "".join(json.dumps(make_request(i, account=f"a{i}", text=f"question number {i}?")) + "\n" for i in range(60))
    )
    assert main(["calibrate", str(many), "-o", str(tmp_path / "full")]) == 1
    assert "not empty" in capsys.readouterr().err


def _subset_log(tmp_path: Path, share: float, seed: int) -> tuple[Path, dict]:
    """A smaller log of the validation log's kind: ``share`` of the accounts of every population."""
    accounts = json.loads((VALIDATION / "accounts.json").read_text())
    rng = np.random.default_rng(seed)
    keep = {a for a in accounts if rng.random() < share}
    out = tmp_path / "subset.jsonl.gz"
    with gzip.open(VALIDATION / "traffic.jsonl.gz", "rt") as src, gzip.open(out, "wt") as dst:
        for line in src:
            record = json.loads(line)
            if record["account_id"] in keep:
                record.pop("label", None)
                record.pop("campaign_id", None)
                dst.write(json.dumps(record) + "\n")
    return out, accounts


def test_calibrate_on_unlabelled_traffic_lands_near_its_targets(tmp_path: Path, capsys) -> None:
    """Calibrated on half of the validation log's accounts without labels; judged on the benign
    accounts of the whole log (stranger traffic: nothing of it was used to build the bundle)."""
    if not (VALIDATION / "traffic.jsonl.gz").is_file():
        pytest.skip(f"the validation log is absent ({VALIDATION}); this test calibrates on it")
    log, accounts = _subset_log(tmp_path, 0.5, seed=7)
    out = tmp_path / "calibrated"
    assert main(["calibrate", str(log), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "calibrated bundle" in printed and "expected benign accounts flagged 1.00%" in printed
    manifest = load_manifest(out)  # re-hashed and verifiable
    assert "+cal" in manifest.version
    decision = manifest.data["decision"]
    maxima = replay_maxima(Guard.load(out), VALIDATION / "traffic.jsonl.gz", progress=False)
    benign = np.array([accounts[a]["label"] == 0 for a in maxima.accounts])
    flagged = (maxima.account_scores >= decision["account_review"]) | (
        maxima.request_probabilities >= decision["request_review"]
    )
    flag_rate = float(flagged[benign].mean())
    block_rate = float((maxima.account_scores[benign] >= decision["account_block"]).mean())
    assert 0.005 <= flag_rate <= 0.02, flag_rate
    assert 0.0005 <= block_rate <= 0.002, block_rate


def _maxima(n: int, rng: np.random.Generator, deep: bool) -> AccountMaxima:
    scores = 1 / (1 + np.exp(-rng.normal(-2.0, 1.0, n)))
    return AccountMaxima(
        np.array([f"a{i}" for i in range(n)], dtype=object),
        scores,
        scores / 2,
        1 / (1 + np.exp(-rng.normal(-1.0, 0.5, n))) if deep else None,
        {"first": 8, "every": 32} if deep else None,
    )


def test_with_the_deep_channel_each_channel_gets_half_of_each_rate() -> None:
    rng = np.random.default_rng(5)
    alone = fit_thresholds(_maxima(4000, rng, False), review_rate=0.02, block_rate=0.002, bundled_request_review=0.9)
    rng = np.random.default_rng(5)
    both = _maxima(4000, rng, True)
    fitted = fit_thresholds(both, review_rate=0.02, block_rate=0.002, bundled_request_review=0.9)
    assert fitted["account_review"] == pytest.approx(robust_threshold(both.account_scores, 0.01))
    assert fitted["account_review"] > alone["account_review"]  # its half of the budget
    assert fitted["deep_review"] == pytest.approx(robust_threshold(both.deep_scores, 0.01))
    assert fitted["deep_block"] == pytest.approx(robust_threshold(both.deep_scores, 0.001))
    assert fitted["deep_selection"] == {"first": 8, "every": 32}
    assert fitted["log_flag_rate"] <= 0.02 + 0.01  # the union, near its target on this null
    assert "deep_review" not in alone


def test_calibrate_refits_or_drops_the_deep_thresholds(tmp_path: Path, capsys) -> None:
    """With --deep the calibrated bundle carries deep thresholds fitted on the log; without it, the
    build's (fitted with the inline thresholds calibrate replaced) are dropped, and with_deep says so."""
    log = tmp_path / "log.jsonl"
    log.write_text(
        "".join(
            json.dumps(make_request(i, account=f"a{i % 60}", t=1_769_904_000.0 + i, text=f"question {i}, in short?"))
            + "\n"
            for i in range(120)
        )
    )
    assert main(["calibrate", str(log), "-o", str(tmp_path / "plain")]) == 0
    assert "deep thresholds dropped" in capsys.readouterr().out
    assert "decision" not in load_manifest(tmp_path / "plain").data["deep_content"]
    with pytest.raises(BundleError, match="calibrate LOG --deep"):
        Guard.load(tmp_path / "plain").with_deep(background=False)

    assert main(["calibrate", str(log), "-o", str(tmp_path / "deep"), "--deep"]) == 0
    assert "deep review / block thresholds" in capsys.readouterr().out
    section = load_manifest(tmp_path / "deep").data["deep_content"]["decision"]
    assert section["selection"] == {"first": 8, "every": 32}
    assert 0 < section["review"] <= section["block"] <= 1
    guard = Guard.load(tmp_path / "deep")
    guard.with_deep(background=False)
    assert guard.policy.thresholds.deep_review == section["review"]

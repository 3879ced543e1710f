"""Shift audit (training/shift.py): adversarial validation between two feature matrices."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("lightgbm", reason="the shift audit needs the 'train' extra")

from training.shift import ShiftInputError, adversarial_validation, format_shift  # noqa: E402

from .conftest import DEFAULT_BUNDLE, ROOT  # noqa: E402

NAMES = [f"f{i}" for i in range(6)]


def accounts_matrix(rng: np.random.Generator, n_accounts: int, rows_each: int, spread: float = 3.0):
    """Rows clustered by account: a strong per-account offset, little noise within an account."""
    offsets = rng.normal(0.0, spread, (n_accounts, len(NAMES)))
    groups = np.repeat([f"acct{i}" for i in range(n_accounts)], rows_each)
    x = np.repeat(offsets, rows_each, axis=0) + rng.normal(0.0, 0.1, (n_accounts * rows_each, len(NAMES)))
    return x, groups


def test_the_shifted_feature_comes_first() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 1.0, (2000, len(NAMES)))
    b = rng.normal(0.0, 1.0, (2000, len(NAMES)))
    b[:, 2] += 1.5
    b[:, 4] += 0.3
    groups = np.repeat(np.arange(100), 20)
    result = adversarial_validation(a, b, NAMES, groups_a=groups, groups_b=groups, top=3)
    assert result["auc"] > 0.8 and result["folds"] == 5 and result["groups"] == 200
    first = result["top"][0]
    assert first["feature"] == "f2" and first["importance"] > 0.5
    assert first["shift"] > 0.3 and first["auc"] > 0.5  # B higher
    assert first["median_b"] - first["median_a"] == pytest.approx(1.5, abs=0.2)
    assert len(result["top"]) == 3
    table = format_shift(result)
    assert "| 1 | `f2` |" in table and "ROC-AUC" in table


def test_same_distribution_gives_auc_near_half_when_grouped_by_account() -> None:
    rng = np.random.default_rng(1)
    a, groups_a = accounts_matrix(rng, 300, 8)
    b, groups_b = accounts_matrix(rng, 300, 8)
    grouped = adversarial_validation(a, b, NAMES, groups_a=groups_a, groups_b=groups_b)
    assert abs(grouped["auc"] - 0.5) < 0.08  # seeds 0-5 give 0.47-0.54
    assert all(r["shift"] < 0.08 for r in grouped["top"])
    # Without the account groups the classifier memorises accounts: the grouping is what prevents it.
    ungrouped = adversarial_validation(a, b, NAMES)
    assert ungrouped["auc"] > 0.9


def test_subsampling_and_bad_input() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(500, 6)), rng.normal(size=(300, 6))
    result = adversarial_validation(a, b, NAMES, max_rows=200, folds=3)
    assert (result["rows_a"], result["rows_b"], result["folds"]) == (200, 200, 3)
    with pytest.raises(ShiftInputError, match=r"shape \(300, 5\)"):
        adversarial_validation(a, b[:, :5], NAMES)
    with pytest.raises(ShiftInputError, match="groups_a has 3 entries"):
        adversarial_validation(a, b, NAMES, groups_a=["x", "y", "z"])


def test_shift_command_replays_two_logs(tmp_path: Path, capsys) -> None:
    from training.__main__ import main

    lines = [line for line in (ROOT / "examples" / "requests.jsonl").read_bytes().split(b"\n") if line.strip()]
    train_log = tmp_path / "a.jsonl"
    train_log.write_bytes(b"\n".join(lines[:600]) + b"\n")
    other_log = tmp_path / "b.jsonl.gz"
    other_log.write_bytes(gzip.compress(b"\n".join(lines[-600:]) + b"\n"))
    out = tmp_path / "shift.json"
    argv = ["shift", "--model", str(DEFAULT_BUNDLE), "--train-log", str(train_log), "--log", str(other_log)]
    assert main([*argv, "--max-rows", "300", "--top", "5", "--folds", "3", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| rank | feature |" in printed and printed.count("\n| ") >= 6
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["rows_a"] == result["rows_b"] == 300 and len(result["top"]) == 5
    assert main(["shift", "--train-log", str(train_log), "--log", str(tmp_path / "none.jsonl")]) == 3

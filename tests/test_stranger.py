"""Stranger-mode figures (training/stranger.py) == shared/validation/score.py on the same verdicts."""

from __future__ import annotations

import gzip
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="stranger-mode figures need the 'train' extra")

from training.stranger import (  # noqa: E402
    format_stranger,
    stranger_figures,
    summary_line,
    threshold_above_fpr,
    tpr_above_fpr,
)

VALIDATION = Path(__file__).resolve().parents[2] / "shared" / "validation"
SCORE_PY = VALIDATION / "score.py"


def needs_validation() -> None:
    if not (SCORE_PY.is_file() and (VALIDATION / "traffic.jsonl.gz").is_file()):
        pytest.skip(f"the validation folder is absent ({VALIDATION}); these tests compare against its score.py")


def subset_log(folder: Path, n_accounts: int, seed: int, max_requests: int = 10**9) -> tuple[Path, Path]:
    """A gzip log with the requests (file order) of a seeded sample of the validation accounts."""
    accounts = json.loads((VALIDATION / "accounts.json").read_text(encoding="utf-8"))
    eligible = sorted(a for a, m in accounts.items() if m["n_requests"] <= max_requests)
    chosen = set(np.random.default_rng(seed).choice(eligible, size=n_accounts, replace=False).tolist())
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "traffic.jsonl.gz"
    with gzip.open(VALIDATION / "traffic.jsonl.gz", "rb") as src, gzip.open(log, "wb") as dst:
        for line in src:
            if json.loads(line)["account_id"] in chosen:
                dst.write(line)
    accounts_file = folder / "accounts.json"
    accounts_file.write_text(json.dumps({a: accounts[a] for a in sorted(chosen)}), encoding="utf-8")
    return log, accounts_file


def run_score_py(log: Path, accounts: Path, verdicts: Path, out: Path) -> tuple[dict[str, Any], str]:
    result = subprocess.run(
        [sys.executable, str(SCORE_PY), "--log", str(log), "--accounts", str(accounts), "--verdicts", str(verdicts)]
        + ["--json", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text(encoding="utf-8")), result.stdout


def assert_same_figures(ours: Any, theirs: Any, where: str = "") -> None:
    """Every figure we report equals score.py's within 1e-9 (NaN == NaN, None == None)."""
    if isinstance(ours, dict):
        assert isinstance(theirs, dict), where
        for key, value in ours.items():
            assert key in theirs, f"{where}.{key} is not a score.py figure"
            assert_same_figures(value, theirs[key], f"{where}.{key}")
    elif isinstance(ours, float) and math.isnan(ours):
        assert isinstance(theirs, float) and math.isnan(theirs), where
    elif isinstance(ours, (int, float)) and not isinstance(ours, bool):
        assert theirs == pytest.approx(ours, abs=1e-9, rel=0), where
    else:
        assert ours == theirs, where


SCORE_PY_ONLY = {
    "n_verdicts",
    "bad_lines",
    "unknown_ids",
    "duplicate_ids",
    "seconds",
    "missing_ids",
    "bad_line_details",
}


def report_tables(text: str) -> list[str]:
    """score.py's report from its table header on (the first lines list files and missing ids)."""
    lines = text.rstrip("\n").split("\n")
    return lines[next(i for i, line in enumerate(lines) if line.startswith("level")) :]


def test_tie_rule_counts_only_positives_strictly_above_the_threshold() -> None:
    neg = np.array([0.9, 0.5, 0.5, 0.5, 0.1] + [0.0] * 95)  # 100 negatives: 1% = 1 may be above
    assert threshold_above_fpr(neg, 0.01) == 0.5  # the 2nd highest negative
    y = np.r_[np.zeros(100), np.ones(3)]
    s = np.r_[neg, [0.5, 0.51, 1.0]]
    assert tpr_above_fpr(y, s, 0.01) == pytest.approx(2 / 3)  # a tie with a negative never counts
    assert threshold_above_fpr(np.array([]), 0.01) == -math.inf
    assert math.isnan(tpr_above_fpr(np.zeros(3), np.zeros(3), 0.01))


def test_figures_match_score_py_on_random_verdicts(tmp_path: Path) -> None:
    needs_validation()
    log, accounts_file = subset_log(tmp_path / "val", n_accounts=200, seed=1)
    accounts = json.loads(accounts_file.read_text(encoding="utf-8"))
    with gzip.open(log, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    rng = np.random.default_rng(0)
    n = len(rows)
    label = np.array([r.get("label") or 0 for r in rows])
    # Coarse (tied) probabilities, account scores on ~70% of verdicts, a few verdicts missing.
    probability = np.round(np.clip(rng.beta(2, 5, n) + 0.3 * label * rng.random(n), 0, 1), 2)
    account_score = np.where(rng.random(n) < 0.7, np.round(np.maximum(probability, rng.random(n)), 3), np.nan)
    decision = np.where(probability > 0.8, "block", np.where(probability > 0.55, "review", "allow")).astype(object)
    missing = rng.random(n) < 0.01
    verdicts = tmp_path / "verdicts.jsonl"
    with verdicts.open("w", encoding="utf-8") as f:
        for i in rng.permutation(n).tolist():  # verdict order is irrelevant
            if missing[i]:
                continue
            v = {"request_id": rows[i]["request_id"], "probability": probability[i], "decision": decision[i]}
            if not math.isnan(account_score[i]):
                v["account_score"] = account_score[i]
            f.write(json.dumps({**v, "reasons": [], "model_version": "random"}) + "\n")
    theirs, printed = run_score_py(log, accounts_file, verdicts, tmp_path / "score.json")
    assert theirs["missing"] == int(missing.sum()) > 0

    # score.py scores a request without a verdict 0 / allow: pass those as such.
    ours = stranger_figures(
        label,
        [r["account_id"] for r in rows],
        np.where(missing, 0.0, probability),
        np.where(missing, "allow", decision),
        accounts,
        account_score=np.where(missing, 0.0, account_score),
        timestamp=[r["timestamp"] for r in rows],
        missing=int(missing.sum()),
    )
    assert ours["account"]["n_accounts"] == 200 and ours["account_score_field"] == "account_score"
    assert_same_figures({k: v for k, v in ours.items() if k not in SCORE_PY_ONLY}, theirs)
    assert summary_line(ours) == printed.rstrip("\n").split("\n")[-1]
    assert report_tables(format_stranger(ours)) == report_tables(printed)


def test_evaluate_cli_on_the_shipped_bundle_agrees_with_score_py(tmp_path: Path) -> None:
    needs_validation()
    from training.__main__ import main

    from .conftest import DEFAULT_BUNDLE

    log, accounts_file = subset_log(tmp_path / "val", n_accounts=40, seed=2, max_requests=60)
    verdicts, figures = tmp_path / "verdicts.jsonl", tmp_path / "figures.json"
    # accounts.json beside the log switches to stranger mode without --accounts
    argv = ["evaluate", "--log", str(log), "--model", str(DEFAULT_BUNDLE)]
    assert main([*argv, "--verdicts-out", str(verdicts), "--json", str(figures)]) == 0
    ours = json.loads(figures.read_text(encoding="utf-8"))
    theirs, printed = run_score_py(log, accounts_file, verdicts, tmp_path / "score.json")
    assert theirs["missing"] == 0 and theirs["n_verdicts"] == ours["n_requests"] > 100
    assert_same_figures({k: v for k, v in ours.items() if k in theirs and k not in SCORE_PY_ONLY}, theirs)
    assert summary_line(ours) == printed.rstrip("\n").split("\n")[-1]


def test_evaluate_cli_refuses_bad_input(tmp_path: Path, capsys) -> None:
    from training.__main__ import main

    log = tmp_path / "log.jsonl"
    record = {"request_id": "a", "timestamp": 1, "account_id": "x", "label": 0, "messages": [{"role": "user"}]}
    log.write_text(json.dumps({**record, "messages": [{"role": "user", "content": "hi"}]}) + "\n")
    bad_accounts = tmp_path / "accounts.json"
    bad_accounts.write_text("[1, 2]")
    assert main(["evaluate", "--log", str(log), "--accounts", str(bad_accounts)]) == 3
    assert "accounts file maps account_id" in capsys.readouterr().err
    assert main(["evaluate", "--log", str(log), "--accounts", str(tmp_path / "none.json")]) == 3
    bad_accounts.unlink()
    assert main(["evaluate", "--log", str(log), "--verdicts-out", str(tmp_path / "v.jsonl")]) == 2

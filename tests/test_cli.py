from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from intent_guard.cli import main

from .conftest import ROOT, make_request

EXAMPLE = ROOT / "examples" / "requests.jsonl"


def test_score_example_log(tmp_path: Path, capsys) -> None:
    out = tmp_path / "verdicts.jsonl"
    assert main(["score", str(EXAMPLE), "-o", str(out)]) == 0
    verdicts = [json.loads(line) for line in out.read_text(encoding="utf-8").split("\n") if line]
    requests = [json.loads(line) for line in EXAMPLE.read_text(encoding="utf-8").split("\n") if line.strip()]
    assert [v["request_id"] for v in verdicts] == [r["request_id"] for r in requests]
    summary = capsys.readouterr().out
    assert "requests scored" in summary and "throughput" in summary


def test_unsorted_log_with_bad_records(tmp_path: Path, capsys) -> None:
    log = tmp_path / "log.jsonl"
    lines = [json.dumps(make_request(i, t=1_769_904_000.0 + (5 - i) * 10)) for i in range(5)]
    lines.insert(2, "{broken")
    log.write_text("\n".join(lines) + "\n")
    out = tmp_path / "verdicts.jsonl"
    assert main(["score", str(log), "-o", str(out)]) == 0
    ids = [json.loads(line)["request_id"] for line in out.read_text(encoding="utf-8").split("\n") if line]
    assert ids == ["r0", "r1", "r2", "r3", "r4"]  # input order, though scored in time order
    captured = capsys.readouterr()
    assert "skipped (invalid): 1" in captured.out
    assert ":3: invalid JSON" in captured.err


def test_stdin_and_missing_model(tmp_path: Path) -> None:
    record = json.dumps(make_request()) + "\n"
    result = subprocess.run(
        [sys.executable, "-m", "intent_guard.cli", "score", "-"],
        input=record,
        text=True,
        capture_output=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[0])["request_id"] == "r0"
    assert main(["score", str(EXAMPLE), "--model", str(tmp_path)]) == 1


def test_paths_are_checked_before_any_work(tmp_path: Path, capsys) -> None:
    log = tmp_path / "s.jsonl"
    log.write_bytes(EXAMPLE.read_bytes())
    assert main(["score", str(log), "-o", str(log)]) == 2
    assert "would destroy it" in capsys.readouterr().err
    assert log.read_bytes() == EXAMPLE.read_bytes()  # the input is untouched
    assert main(["score", str(log), "-o", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["score", str(log), "-o", str(tmp_path / "missing" / "v.jsonl")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["score", str(tmp_path), "-o", str(tmp_path / "v.jsonl")]) == 2
    assert "is a directory; give a log file" in capsys.readouterr().err


def test_nothing_valid_read_is_an_error(tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["score", str(empty), "-o", str(tmp_path / "v.jsonl")]) == 1
    junk = tmp_path / "junk.jsonl"
    junk.write_text("not json\n{}\n")
    assert main(["score", str(junk), "-o", str(tmp_path / "v.jsonl")]) == 1
    assert "no valid request" in capsys.readouterr().err


def test_stdin_errors_name_stdin(tmp_path: Path) -> None:
    import subprocess
    import sys

    lines = EXAMPLE.read_text() + "not json\n"
    result = subprocess.run(
        [sys.executable, "-m", "intent_guard.cli", "score", "-", "-o", str(tmp_path / "v.jsonl")],
        input=lines,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "skipped <stdin>:" in result.stderr


def test_trusted_accounts_file(tmp_path: Path) -> None:
    import pytest

    from intent_guard.cli import _trusted_accounts
    from intent_guard.errors import ConfigError

    listed = tmp_path / "trusted.txt"
    listed.write_text("# our own eval runs\norg:evals\n\n  key_hash:abc   # nightly batch\n", encoding="utf-8")
    assert _trusted_accounts(listed) == frozenset({"org:evals", "key_hash:abc"})
    with pytest.raises(ConfigError, match="trusted-accounts file"):
        _trusted_accounts(tmp_path / "missing.txt")


def test_score_with_deep_analysis_keeps_the_inline_scores_and_only_adds_deep_evidence(tmp_path: Path, capsys) -> None:
    """--deep analyses the selected requests synchronously: probabilities and account scores stay the
    inline ones; a verdict it changes is only made stricter, with the deep evidence as its first reason."""
    log = tmp_path / "log.jsonl"
    log.write_text("".join(EXAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)[:400]), encoding="utf-8")
    plain, deep = tmp_path / "plain.jsonl", tmp_path / "deep.jsonl"
    assert main(["score", str(log), "-o", str(plain)]) == 0
    assert main(["score", str(log), "-o", str(deep), "--deep"]) == 0
    assert "deep analysis: analysed " in capsys.readouterr().out  # the summary says what it read
    a = [json.loads(line) for line in plain.read_text(encoding="utf-8").splitlines()]
    b = [json.loads(line) for line in deep.read_text(encoding="utf-8").splitlines()]
    assert [(v["probability"], v["account_score"]) for v in a] == [(v["probability"], v["account_score"]) for v in b]
    severity = {"allow": 0, "review": 1, "block": 2}
    for x, y in zip(a, b, strict=True):
        assert severity[y["decision"]] >= severity[x["decision"]]
        if y["decision"] != x["decision"]:  # only the deep channel can have changed it
            assert y["reasons"][0]["name"] == "deep_score"
        elif y["decision"] == "allow":
            assert y["reasons"] == x["reasons"]

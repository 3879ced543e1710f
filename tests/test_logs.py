from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from intent_guard import logs
from intent_guard.logs import (
    BadRecord,
    CorruptLogError,
    InputOrderWriter,
    is_gzip,
    iter_time_order,
    read_requests,
    scan_log,
)

from .conftest import ROOT, make_request

EXAMPLE = ROOT / "examples" / "requests.jsonl"


def write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_bad_records_are_reported_with_line_numbers(tmp_path: Path) -> None:
    log = write(
        tmp_path / "log.jsonl",
        [
            json.dumps(make_request(0)).encode(),
            b"{not json",
            b"",
            json.dumps({"request_id": "x"}).encode(),
            b'{"request_id": "\xff\xfe"}',
            json.dumps(make_request(1)).encode(),
        ],
    )
    errors: list[BadRecord] = []
    requests = list(read_requests(log, errors.append))
    assert [r.request_id for r in requests] == ["r0", "r1"]
    assert [e.line for e in errors] == [2, 4, 5]
    assert "invalid JSON" in errors[0].message
    assert "missing required field" in errors[1].message
    assert "invalid UTF-8" in errors[2].message


def test_time_order_replay_and_input_order_output(tmp_path: Path) -> None:
    stamps = [30.0, 10.0, 20.0, 10.0]
    log = write(tmp_path / "log.jsonl", [json.dumps(make_request(i, t=1e9 + s)).encode() for i, s in enumerate(stamps)])
    scan = scan_log(log)
    assert len(scan) == 4 and scan.bad_count == 0
    order = [position for position, _ in iter_time_order(log, scan)]
    assert order == [1, 3, 2, 0]  # stable among equal timestamps
    out = io.StringIO()
    writer = InputOrderWriter(out, scan.time_order())
    assert not writer.identity
    for position, request in iter_time_order(log, scan):
        writer.write(position, request.request_id + "\n")
    writer.close()
    assert out.getvalue().split() == ["r0", "r1", "r2", "r3"]


def test_sorted_log_streams_straight_through(tmp_path: Path) -> None:
    log = write(tmp_path / "log.jsonl", [json.dumps(make_request(i, t=1e9 + i)).encode() for i in range(3)])
    writer = InputOrderWriter(io.StringIO(), scan_log(log).time_order())
    assert writer.identity
    assert np.array_equal(scan_log(log).time_order(), np.arange(3))


# ---------------------------------------------------------------- gzip-compressed logs


def _unsorted_log_lines(n: int = 12) -> list[bytes]:
    """Out of time order, with a blank line, a broken record and an invalid one in between."""
    lines = [json.dumps(make_request(i, t=1e9 + (i * 7919) % 13)).encode() for i in range(n)]
    lines[3:3] = [b"", b"{broken", json.dumps({"request_id": "x"}).encode()]
    return lines


def _gzip(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data, mtime=0))
    return path


def test_gzip_log_reads_like_plain_whatever_its_name(tmp_path: Path) -> None:
    plain = write(tmp_path / "log.jsonl", _unsorted_log_lines())
    data = plain.read_bytes()
    for packed in (_gzip(tmp_path / "log.jsonl.gz", data), _gzip(tmp_path / "misnamed.jsonl", data)):
        assert is_gzip(packed) and not is_gzip(plain)
        errors_plain: list[BadRecord] = []
        errors_gz: list[BadRecord] = []
        assert list(read_requests(packed, errors_gz.append)) == list(read_requests(plain, errors_plain.append))
        assert errors_gz == errors_plain and [e.line for e in errors_gz] == [5, 6]
        scan_plain, scan_gz = scan_log(plain), scan_log(packed)
        assert np.array_equal(scan_gz.offsets, scan_plain.offsets)  # decompressed offsets
        assert np.array_equal(scan_gz.lines, scan_plain.lines)
        assert scan_gz.size_bytes == packed.stat().st_size  # bytes read from disk
        replayed = list(iter_time_order(packed, scan_gz))  # unsorted: goes through the spool
        assert replayed == list(iter_time_order(plain, scan_plain))
        stamps = [r.timestamp for _, r in replayed]
        assert stamps == sorted(stamps) and len(replayed) == 12


def test_gzip_log_in_time_order_streams_once(tmp_path: Path, monkeypatch) -> None:
    lines = [json.dumps(make_request(i, t=1e9 + i)).encode() for i in range(20)]
    lines.insert(4, b"{broken")
    packed = _gzip(tmp_path / "log.jsonl.gz", b"\n".join(lines) + b"\n")
    scan = scan_log(packed)

    def no_spool(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("a log already in time order must not be spooled")

    monkeypatch.setattr(logs.tempfile, "TemporaryFile", no_spool)
    assert [r.request_id for _, r in iter_time_order(packed, scan)] == [f"r{i}" for i in range(20)]


def test_damaged_gzip_is_a_clear_error(tmp_path: Path) -> None:
    data = b"\n".join(json.dumps(make_request(i, t=1e9 + i, text=f"ask {i * i}")).encode() for i in range(200))
    packed = gzip.compress(data + b"\n")
    truncated = tmp_path / "cut.jsonl.gz"
    truncated.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(CorruptLogError, match="damaged or truncated"):
        scan_log(truncated)
    with pytest.raises(CorruptLogError, match="cut.jsonl.gz"):
        list(read_requests(truncated))


def test_score_cli_gives_the_same_verdicts_for_a_gzip_log(tmp_path: Path) -> None:
    from intent_guard.cli import main

    rows = [line for line in EXAMPLE.read_bytes().split(b"\n") if line.strip()][:200]
    rows = [rows[(i * 37) % len(rows)] for i in range(len(rows))]  # a permutation: not in time order
    rows.insert(10, b"{broken")
    plain = write(tmp_path / "log.jsonl", rows)
    packed = _gzip(tmp_path / "log.jsonl.gz", plain.read_bytes())
    misnamed = _gzip(tmp_path / "log2.jsonl", plain.read_bytes())
    outputs = []
    for log in (plain, packed, misnamed):
        out = tmp_path / f"{log.name}.verdicts"
        assert main(["score", str(log), "-o", str(out)]) == 0
        outputs.append(out.read_text(encoding="utf-8"))
    assert len(outputs[0].splitlines()) == 200
    assert outputs[1] == outputs[0] and outputs[2] == outputs[0]
    piped = subprocess.run(  # zcat-free: a gzip stream on stdin
        [sys.executable, "-m", "intent_guard.cli", "score", "-"],
        input=packed.read_bytes(),
        capture_output=True,
        cwd=ROOT,
        check=False,
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.decode("utf-8") == outputs[0]

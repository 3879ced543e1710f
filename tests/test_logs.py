from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from intent_guard.logs import BadRecord, InputOrderWriter, iter_time_order, read_requests, scan_log

from .conftest import make_request


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

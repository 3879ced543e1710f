"""Request logs (JSON Lines, per ``shared/spec/request-log.md``): reading, time-ordered replay, verdicts.

A bad record never stops a reader: it becomes a :class:`BadRecord` with its line number and the
reason, and reading goes on with the next line. Logs are streamed, never loaded whole: replaying
a log in timestamp order first scans it once, keeping only each record's byte offset and
timestamp (16 bytes a record), then reads the records again in time order.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from .errors import InvalidRequestError
from .types import Request, Verdict

#: Records longer than this (bytes) are refused without being parsed.
MAX_RECORD_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A line that is not a valid request: where and why."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def parse_record(raw: bytes | str, line: int | None = None) -> Request:
    """Parse one JSON line into a Request; InvalidRequestError (with the line number) if invalid."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidRequestError(f"invalid UTF-8 at byte {exc.start}", line=line) from None
    else:
        text = raw
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(f"invalid JSON ({exc.msg} at column {exc.colno})", line=line) from None
    except RecursionError:
        raise InvalidRequestError("JSON nested too deeply", line=line) from None
    try:
        return Request.from_dict(data)
    except InvalidRequestError as exc:
        raise InvalidRequestError(str(exc), line=line) from None


def _raw_lines(handle: IO[bytes]) -> Iterator[tuple[int, int, bytes | None]]:
    """(line number, byte offset, raw line or None when longer than MAX_RECORD_BYTES); blanks skipped."""
    number = 0
    while True:
        offset = handle.tell()
        raw = handle.readline(MAX_RECORD_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_RECORD_BYTES and not raw.endswith(b"\n"):
            while True:  # skip the rest of the oversized line without holding it
                rest = handle.readline(MAX_RECORD_BYTES)
                if not rest or rest.endswith(b"\n"):
                    break
            yield number, offset, None
            continue
        if raw.strip():
            yield number, offset, raw


def read_requests(path: str | Path, on_error: Callable[[BadRecord], None] | None = None) -> Iterator[Request]:
    """Stream the valid requests of a log in file order; bad records go to ``on_error``."""
    with open(path, "rb") as handle:
        for number, _, raw in _raw_lines(handle):
            try:
                if raw is None:
                    raise InvalidRequestError(f"record longer than {MAX_RECORD_BYTES} bytes", line=number)
                yield parse_record(raw, number)
            except InvalidRequestError as exc:
                if on_error is not None:
                    on_error(BadRecord(number, str(exc).removeprefix(f"line {number}: ")))


@dataclass
class LogScan:
    """What one pass over a log found: valid records' offsets, lines and timestamps; bad records."""

    offsets: np.ndarray
    lines: np.ndarray
    timestamps: np.ndarray
    bad: list[BadRecord] = field(default_factory=list)
    bad_count: int = 0
    size_bytes: int = 0

    def __len__(self) -> int:
        return len(self.offsets)

    def time_order(self) -> np.ndarray:
        """Positions (into the valid records) in timestamp order, ties kept in file order."""
        return np.argsort(self.timestamps, kind="stable")


def scan_log(path: str | Path, keep_errors: int = 1000, progress: Callable[[int], None] | None = None) -> LogScan:
    """First pass: validate every record, keep offsets and timestamps of the valid ones."""
    offsets: list[int] = []
    lines: list[int] = []
    stamps: list[float] = []
    bad: list[BadRecord] = []
    bad_count = 0
    with open(path, "rb") as handle:
        for number, offset, raw in _raw_lines(handle):
            try:
                if raw is None:
                    raise InvalidRequestError(f"record longer than {MAX_RECORD_BYTES} bytes", line=number)
                request = parse_record(raw, number)
            except InvalidRequestError as exc:
                bad_count += 1
                if len(bad) < keep_errors:
                    bad.append(BadRecord(number, str(exc).removeprefix(f"line {number}: ")))
                continue
            offsets.append(offset)
            lines.append(number)
            stamps.append(request.timestamp)
            if progress is not None and len(offsets) % 4096 == 0:
                progress(handle.tell())
        size = handle.tell()
    return LogScan(
        offsets=np.asarray(offsets, dtype=np.int64),
        lines=np.asarray(lines, dtype=np.int64),
        timestamps=np.asarray(stamps, dtype=np.float64),
        bad=bad,
        bad_count=bad_count,
        size_bytes=size,
    )


def iter_time_order(path: str | Path, scan: LogScan) -> Iterator[tuple[int, Request]]:
    """Second pass: yield (position among valid records, request) in timestamp order."""
    order = scan.time_order()
    with open(path, "rb") as handle:
        for position in order.tolist():
            handle.seek(int(scan.offsets[position]))
            raw = handle.readline(MAX_RECORD_BYTES + 1)
            yield position, parse_record(raw, int(scan.lines[position]))


def spool_stdin() -> Path:
    """Copy standard input to a temporary file (a replay needs two passes); caller deletes it."""
    fd, name = tempfile.mkstemp(prefix="intent-guard-", suffix=".jsonl")
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
    return Path(name)


def verdict_line(verdict: Verdict) -> str:
    return json.dumps(verdict.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n"


def write_verdicts(verdicts: Iterable[Verdict], handle: IO[str]) -> int:
    """Write verdicts as JSON Lines; returns how many were written."""
    n = 0
    for verdict in verdicts:
        handle.write(verdict_line(verdict))
        n += 1
    return n


class InputOrderWriter:
    """Writes verdicts produced in time order back out in the log's input order.

    When the log was already in time order the lines go straight through; otherwise they are
    spooled to a temporary file and reordered at :meth:`close`, so memory stays O(records x 16 B).
    """

    def __init__(self, out: IO[str], order: np.ndarray) -> None:
        self.out = out
        self.identity = bool(np.all(order == np.arange(len(order))))
        self._spool: IO[bytes] | None = None
        if not self.identity:
            self._spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
            self._starts = np.zeros(len(order), dtype=np.int64)
            self._lengths = np.zeros(len(order), dtype=np.int64)

    def write(self, position: int, line: str) -> None:
        if self._spool is None:
            self.out.write(line)
            return
        data = line.encode("utf-8")
        self._starts[position] = self._spool.tell()
        self._lengths[position] = len(data)
        self._spool.write(data)

    def close(self) -> None:
        if self._spool is None:
            return
        for start, length in zip(self._starts.tolist(), self._lengths.tolist(), strict=True):
            if length:
                self._spool.seek(start)
                self.out.write(self._spool.read(length).decode("utf-8"))
        self._spool.close()
        self._spool = None

"""Request logs (JSON Lines, per ``shared/spec/request-log.md``): reading, time-ordered replay, verdicts.

A bad record never stops a reader: it becomes a :class:`BadRecord` with its line number and the
reason, and reading goes on with the next line. Logs are streamed, never loaded whole: replaying
a log in timestamp order first scans it once, keeping only each record's byte offset and
timestamp (16 bytes a record), then reads the records again in time order.

Every reader takes plain or gzip-compressed JSON Lines alike: the content is recognised by the
gzip magic bytes (``1f 8b``), not by the file name. Offsets are positions in the decompressed
stream; a compressed log whose records are not already in time order is decompressed once to an
anonymous temporary file for the second pass (disk, not memory, grows with the log).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

import numpy as np

from .errors import IntentGuardError, InvalidRequestError
from .types import Request, Verdict

T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter), in order: how every replay feeds the
    pipeline a batch at a time."""
    if size < 1:
        raise ValueError(f"batch size must be >= 1, got {size}")
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


#: Records longer than this (bytes) are refused without being parsed.
MAX_RECORD_BYTES = 32 * 1024 * 1024

#: The first two bytes of every gzip member.
GZIP_MAGIC = b"\x1f\x8b"


class CorruptLogError(IntentGuardError, ValueError):
    """A compressed log cannot be decompressed (truncated or damaged); no later record is reachable."""


def is_gzip(path: str | Path) -> bool:
    """True when the file starts with the gzip magic bytes, whatever its name."""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def open_log(path: str | Path) -> IO[bytes]:
    """Open a log for reading bytes, decompressing it when its content is gzip (``1f 8b``)."""
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")  # noqa: SIM115 - the caller closes it


def _disk_position(handle: IO[bytes]) -> int:
    """Bytes consumed from disk so far (the compressed position of a gzip stream)."""
    if isinstance(handle, gzip.GzipFile):
        return handle.fileobj.tell()  # type: ignore[union-attr]
    return handle.tell()


def _readline(handle: IO[bytes], limit: int, line: int) -> bytes:
    """``handle.readline(limit)``, turning a damaged gzip stream into CorruptLogError."""
    try:
        return handle.readline(limit)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        name = getattr(handle, "name", "log")
        raise CorruptLogError(
            f"{name}: gzip stream is damaged or truncated after line {line - 1} ({exc}); re-copy or recompress the log"
        ) from exc


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
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise InvalidRequestError(f"invalid JSON ({str(exc)[:80]})", line=line) from None
    try:
        return Request.from_dict(data)
    except InvalidRequestError as exc:
        raise InvalidRequestError(str(exc), line=line) from None


def _raw_lines(handle: IO[bytes]) -> Iterator[tuple[int, int, bytes | None]]:
    """(line number, byte offset, raw line or None when longer than MAX_RECORD_BYTES); blanks skipped."""
    number = 0
    while True:
        offset = handle.tell()
        raw = _readline(handle, MAX_RECORD_BYTES + 1, number + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_RECORD_BYTES and not raw.endswith(b"\n"):
            while True:  # skip the rest of the oversized line without holding it
                rest = _readline(handle, MAX_RECORD_BYTES, number)
                if not rest or rest.endswith(b"\n"):
                    break
            yield number, offset, None
            continue
        if raw.strip():
            yield number, offset, raw


def read_requests(path: str | Path, on_error: Callable[[BadRecord], None] | None = None) -> Iterator[Request]:
    """Stream the valid requests of a log (plain or gzip) in file order; bad records go to ``on_error``."""
    with open_log(path) as handle:
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
    """What one pass over a log found: valid records' offsets, lines and timestamps; bad records.

    Offsets are in the decompressed stream; ``size_bytes`` counts bytes read from disk.
    """

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
    """First pass: validate every record, keep offsets and timestamps of the valid ones.

    ``progress`` is called with the bytes read from disk so far (compressed bytes for a gzip log).
    """
    offsets: list[int] = []
    lines: list[int] = []
    stamps: list[float] = []
    bad: list[BadRecord] = []
    bad_count = 0
    with open_log(path) as handle:
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
                progress(_disk_position(handle))
        size = _disk_position(handle)
    return LogScan(
        offsets=np.asarray(offsets, dtype=np.int64),
        lines=np.asarray(lines, dtype=np.int64),
        timestamps=np.asarray(stamps, dtype=np.float64),
        bad=bad,
        bad_count=bad_count,
        size_bytes=size,
    )


def iter_time_order(path: str | Path, scan: LogScan) -> Iterator[tuple[int, Request]]:
    """Second pass: yield (position among valid records, request) in timestamp order.

    A gzip log already in time order is streamed once more; otherwise it is first decompressed
    to an anonymous temporary file, so seeking never re-decompresses from the start.
    """
    order = scan.time_order()
    if not is_gzip(path):
        with open(path, "rb") as handle:
            yield from _read_at(handle, scan, order)
        return
    with open_log(path) as compressed:
        if len(order) < 2 or bool(np.all(np.diff(scan.offsets[order]) > 0)):
            yield from _read_at(compressed, scan, order)  # forward seeks only: decompress as we go
            return
        with tempfile.TemporaryFile(prefix="intent-guard-") as spool:
            try:
                shutil.copyfileobj(compressed, spool, 1 << 20)
            except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
                raise CorruptLogError(f"{path}: gzip stream is damaged or truncated ({exc})") from exc
            yield from _read_at(spool, scan, order)


def _read_at(handle: IO[bytes], scan: LogScan, order: np.ndarray) -> Iterator[tuple[int, Request]]:
    for position in order.tolist():
        line = int(scan.lines[position])
        handle.seek(int(scan.offsets[position]))
        yield position, parse_record(_readline(handle, MAX_RECORD_BYTES + 1, line), line)


def spool_stdin() -> Path:
    """Copy standard input (plain or gzip) to a temporary file (a replay needs two passes); caller deletes it."""
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

"""Labelled logs for training: streamed from JSONL or Parquet files or folders, and split by group.

:class:`LogSource` reads any mix of ``*.jsonl``, ``*.jsonl.gz`` and ``*.parquet`` files (a folder means
every such file in it, sorted), one record at a time: a 5 GB log is never loaded whole. A JSONL file
named on its own is decompressed whenever its content is gzip, whatever its name. Records that break
the request-log spec are skipped and counted (the first few are kept with file and line); a
record without a 0/1 ``label`` raises :class:`MissingLabelError` naming where it is, unless the
source was told to skip unlabelled records.

Splits are made by *group*, never by request: all accounts of one campaign form one group, and
a benign account's group is its org (a company's accounts share one), so no campaign or company
sits on both sides. ``mode="group"`` spreads groups over the splits style by style;
``mode="time"`` puts groups in time order of their first request (train on earlier days,
calibrate and test on later ones).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from intent_guard.errors import InvalidRequestError
from intent_guard.logs import CorruptLogError, open_log
from intent_guard.types import Request

SPLITS = ("train", "calib", "test")
SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet")


class MissingLabelError(ValueError):
    """A record has no 0/1 label where training needs one."""


@dataclass
class LogSource:
    """One or more labelled logs, re-iterable; counts what it skipped on the last full pass."""

    paths: Sequence[Path]
    require_labels: bool = True
    skipped: int = 0
    unlabelled: int = 0
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        files: list[Path] = []
        for path in map(Path, self.paths):
            if path.is_dir():
                files += sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES))
            elif path.is_file():
                files.append(path)
            else:
                raise FileNotFoundError(f"no such log file or folder: {path}")
        if not files:
            raise FileNotFoundError(f"no *.jsonl(.gz) or *.parquet logs under {', '.join(map(str, self.paths))}")
        self.files = files

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self.skipped = self.unlabelled = 0
        self.errors = []
        for file in self.files:
            for where, record in _raw_records(file):
                if record is None:
                    self._skip(f"{where}: not a JSON object")
                    continue
                try:
                    Request.from_dict(record)
                except InvalidRequestError as exc:
                    self._skip(f"{where}: {exc}")
                    continue
                if record.get("label") not in (0, 1) or isinstance(record.get("label"), bool):
                    if self.require_labels:
                        raise MissingLabelError(
                            f"{where}: record {record.get('request_id')!r} has no 0/1 'label'; training and "
                            "evaluation need labelled traffic (pass --skip-unlabelled to leave such records out)"
                        )
                    self.unlabelled += 1
                    continue
                yield record

    def _skip(self, message: str) -> None:
        self.skipped += 1
        if len(self.errors) < 20:
            self.errors.append(message)


def _raw_records(file: Path) -> Iterator[tuple[str, dict[str, Any] | None]]:
    if file.suffix == ".parquet":
        import pyarrow.parquet as pq

        row = 0
        for batch in pq.ParquetFile(file).iter_batches(batch_size=4096):
            for record in batch.to_pylist():
                row += 1
                yield f"{file}:row {row}", {k: v for k, v in record.items() if v is not None}
        return
    with open_log(file) as handle:  # plain or gzip, told apart by the content
        for number, raw in enumerate(_lines(handle, file), start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                yield f"{file}:{number}", None
                continue
            yield f"{file}:{number}", record if isinstance(record, dict) else None


def _lines(handle: IO[bytes], file: Path) -> Iterator[bytes]:
    """The handle's lines; a damaged gzip stream becomes CorruptLogError naming the file and line."""
    number = 0
    try:
        for number, raw in enumerate(handle, start=1):  # noqa: B007 - number is read in the except
            yield raw
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise CorruptLogError(f"{file}: gzip stream is damaged or truncated after line {number} ({exc})") from exc


def iter_records(path: Path | Sequence[Path]) -> Iterator[dict[str, Any]]:
    """Stream the valid labelled records of one or more logs (kept for simple callers)."""
    yield from LogSource([path] if isinstance(path, (str, Path)) else list(path))


def _unit(text: str, seed: int) -> float:
    return int(hashlib.sha256(f"{seed}:{text}".encode()).hexdigest()[:12], 16) / float(1 << 48)


@dataclass(frozen=True)
class GroupSplit:
    """Maps each account to a split; built from one streaming pass over a labelled log."""

    account_split: dict[str, str]

    def of(self, record: dict[str, Any]) -> str:
        return self.account_split[record["account_id"]]


def group_split(
    source: LogSource | Path, *, calib: float = 0.15, test: float = 0.3, seed: int = 0, mode: str = "group"
) -> GroupSplit | TimeSplit:
    """Assign accounts to train / calib / test by campaign (labelled) or org (benign)."""
    if not isinstance(source, LogSource):
        source = LogSource([source])
    # Resolve groups after the pass: an account belongs to its campaign if any of its requests is
    # labelled with one, else to its org as seen on any of its requests (optional fields may be
    # missing from some), else to itself.
    campaign_of: dict[str, str] = {}
    org_of: dict[str, str] = {}
    style_of: dict[str, str] = {}
    start_of: dict[str, float] = {}
    first_t, last_t = float("inf"), float("-inf")
    for record in source:
        account = record["account_id"]
        campaign = record.get("campaign_id") or ""
        if campaign and account not in campaign_of:
            campaign_of[account] = campaign
            style_of[account] = record.get("population", "campaign")
        client = record.get("client")
        org = client.get("org_id") if isinstance(client, dict) else None
        if org and account not in org_of:
            org_of[account] = str(org)
        style_of.setdefault(account, record.get("population", "benign"))
        t = Request.from_dict(record).timestamp
        start_of[account] = min(start_of.get(account, t), t)
        first_t, last_t = min(first_t, t), max(last_t, t)
    account_group: dict[str, str] = {}
    group_style: dict[str, str] = {}
    group_start: dict[str, float] = {}
    for account, t in start_of.items():
        if account in campaign_of:
            group = f"campaign:{campaign_of[account]}"
            group_style[group] = style_of[account]
        else:
            group = f"org:{org_of.get(account, account)}"
            group_style.setdefault(group, style_of[account])
        account_group[account] = group
        group_start[group] = min(group_start.get(group, t), t)
    if mode == "time":
        return _time_split(account_group, group_start, calib, test, (first_t, last_t))
    if mode != "group":
        raise ValueError(f"split mode must be 'group' or 'time', got {mode!r}")
    # Within each class (campaign / benign), order groups round-robin over styles (each style's
    # groups in seeded hash order), then walk a golden-ratio sequence: every prefix of the order
    # is split close to the target fractions, so even a handful of campaigns lands on all sides.
    by_style: dict[str, list[str]] = defaultdict(list)
    for group, style in group_style.items():
        by_style[style].append(group)
    ranked: dict[bool, list[tuple[int, str, float, str]]] = defaultdict(list)
    for style, groups in by_style.items():
        groups.sort(key=lambda g: _unit(g, seed))
        for rank, group in enumerate(groups):
            ranked[group.startswith("campaign:")].append((rank, style, _unit(group, seed), group))
    group_split_of: dict[str, str] = {}
    for items in ranked.values():
        for i, (_, _, _, group) in enumerate(sorted(items)):
            u = (i * 0.6180339887498949) % 1.0
            group_split_of[group] = "test" if u < test else "calib" if u < test + calib else "train"
    return GroupSplit({a: group_split_of[g] for a, g in account_group.items()})


@dataclass(frozen=True)
class TimeSplit:
    """Benign requests split by their own time; each campaign whole, by the time it started."""

    campaign_split: dict[str, str]
    train_end: float
    calib_end: float
    replay_whole: bool = True  # one replay of the whole log: accounts keep their history across cuts

    def of(self, record: dict[str, Any]) -> str:
        split = self.campaign_split.get(record["account_id"])
        if split is not None:
            return split
        t = Request.from_dict(record).timestamp
        return "train" if t < self.train_end else "calib" if t < self.calib_end else "test"


def _time_split(
    account_group: dict[str, str], group_start: dict[str, float], calib: float, test: float, span: tuple[float, float]
) -> TimeSplit:
    first, last = span
    train_end = first + (last - first) * (1.0 - calib - test)
    calib_end = first + (last - first) * (1.0 - test)

    def side(t: float) -> str:
        return "train" if t < train_end else "calib" if t < calib_end else "test"

    campaigns = {a: side(group_start[g]) for a, g in account_group.items() if g.startswith("campaign:")}
    return TimeSplit(campaigns, train_end, calib_end)

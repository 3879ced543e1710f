"""Labelled logs for training: streaming reads and grouped train / calibration / test splits.

Splits are made by *group*, never by request: all accounts of one campaign form one group, and
a benign account's group is its org (a company's accounts share one), so no campaign or company
sits on both sides. Campaign groups are spread over the splits style by style, so that each split
sees as many campaign styles as the number of campaigns allows.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SPLITS = ("train", "calib", "test")


def iter_records(path: Path) -> Iterator[dict[str, Any]]:
    """Stream JSON objects from a JSONL log (blank lines skipped)."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _unit(text: str, seed: int) -> float:
    return int(hashlib.sha256(f"{seed}:{text}".encode()).hexdigest()[:12], 16) / float(1 << 48)


@dataclass(frozen=True)
class GroupSplit:
    """Maps each account to a split; built from one streaming pass over a labelled log."""

    account_split: dict[str, str]

    def of(self, record: dict[str, Any]) -> str:
        return self.account_split[record["account_id"]]


def group_split(path: Path, *, calib: float = 0.15, test: float = 0.3, seed: int = 0) -> GroupSplit:
    """Assign accounts to train / calib / test by campaign (labelled) or org (benign)."""
    account_group: dict[str, str] = {}
    group_style: dict[str, str] = {}
    for record in iter_records(path):
        account = record["account_id"]
        campaign = record.get("campaign_id") or ""
        if campaign:
            account_group[account] = f"campaign:{campaign}"
            group_style[f"campaign:{campaign}"] = record.get("population", "campaign")
        elif account not in account_group:
            org = (record.get("client") or {}).get("org_id") or account
            account_group[account] = f"org:{org}"
            group_style.setdefault(f"org:{org}", record.get("population", "benign"))
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

"""Replay labelled logs through intent_guard's own FeaturePipeline (no second feature code path)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from intent_guard.logs import batched
from intent_guard.pipeline import FeaturePipeline
from intent_guard.progress import Progress


@dataclass
class Replayed:
    """Feature rows and the metadata evaluation needs, one entry per request, in time order."""

    X: np.ndarray
    y: np.ndarray
    account: np.ndarray
    campaign: np.ndarray
    population: np.ndarray
    timestamp: np.ndarray
    request_id: np.ndarray
    world: np.ndarray  # the generator's world of each request ("" for logs without one)

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, mask: np.ndarray) -> Replayed:
        return Replayed(*(getattr(self, f)[mask] for f in self.__dataclass_fields__))


def replay(
    pipeline: FeaturePipeline,
    records: Iterable[dict[str, Any]],
    *,
    total: int | None = None,
    batch_size: int = 512,
    label: str = "replay",
) -> Replayed:
    """Feed records (already in timestamp order) through the pipeline; labels must be present."""
    rows: list[np.ndarray] = []
    meta: list[tuple[int, str, str, str, float, str, str]] = []

    def labelled(record: dict[str, Any]) -> dict[str, Any]:
        if record.get("label") not in (0, 1):
            raise ValueError(f"record {record.get('request_id')!r} has no 0/1 'label'; training needs labels")
        return record

    def flush(batch: list[dict[str, Any]]) -> None:
        for computed, record in zip(pipeline.run(batch), batch, strict=True):
            rows.append(computed.row)
            meta.append(
                (
                    int(record["label"]),
                    record["account_id"],
                    record.get("campaign_id") or "",
                    record.get("population") or ("campaign" if record["label"] else "benign"),
                    computed.request.timestamp,
                    computed.request.request_id,
                    str(record.get("world") or ""),
                )
            )

    with Progress(total, label) as bar:
        for batch in batched((labelled(record) for record in records), batch_size):
            flush(batch)
            bar.update(len(batch))
    labels, accounts, campaigns, populations, stamps, ids, worlds = zip(*meta, strict=True) if meta else ((),) * 7
    return Replayed(
        X=np.stack(rows) if rows else np.zeros((0, 0), np.float32),
        y=np.asarray(labels, dtype=np.int8),
        account=np.asarray(accounts, dtype=object),
        campaign=np.asarray(campaigns, dtype=object),
        population=np.asarray(populations, dtype=object),
        timestamp=np.asarray(stamps, dtype=np.float64),
        request_id=np.asarray(ids, dtype=object),
        world=np.asarray(worlds, dtype=object),
    )

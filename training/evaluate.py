"""Evaluate a bundle on a labelled log: replay a split through Guard, report the metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from intent_guard import Guard
from intent_guard.progress import Progress

from .metrics import summarise
from .records import LogSource, group_split


def evaluate_bundle(
    model: Path | None, log: Path | list[Path], *, split: str = "test", encoder: str | None = None
) -> dict[str, Any]:
    """Score ``split`` of ``log`` (the build's grouped split, or ``all``) with a fresh Guard."""
    guard = Guard.load(model, encoder=encoder)
    seed = int(guard.manifest.data.get("training", {}).get("seed", 0))
    mode = guard.manifest.data.get("training_data", {}).get("split", "group")
    source = LogSource(log if isinstance(log, list) else [log])
    split_of = group_split(source, seed=seed, mode=mode) if split != "all" else None
    records = [r for r in source if split_of is None or split_of.of(r) == split]
    probabilities: list[float] = []
    decisions: list[str] = []
    with Progress(len(records), f"scoring {split}") as bar:
        for start in range(0, len(records), 512):
            verdicts = guard.score_many(records[start : start + 512])
            probabilities += [v.probability for v in verdicts]
            decisions += [v.decision for v in verdicts]
            bar.update(len(verdicts))
    y = np.array([r["label"] for r in records], dtype=np.int8)
    accounts = np.array([r["account_id"] for r in records], dtype=object)
    populations = np.array([r.get("population", "campaign" if r["label"] else "benign") for r in records], dtype=object)
    # request-level figures at the bundle's request thresholds; the decisions below are the account policy's
    thresholds = {k: float(guard.manifest.data["thresholds"][k]) for k in ("review", "block")}
    result = summarise(y, np.array(probabilities), accounts, populations, thresholds)
    blocked = np.array([d == "block" for d in decisions])
    flagged = np.array([d != "allow" for d in decisions])
    result["decisions"] = {
        "block_fpr": float(blocked[y == 0].mean()) if (y == 0).any() else float("nan"),
        "block_tpr": float(blocked[y == 1].mean()) if (y == 1).any() else float("nan"),
        "flagged_fpr": float(flagged[y == 0].mean()) if (y == 0).any() else float("nan"),
        "flagged_tpr": float(flagged[y == 1].mean()) if (y == 1).any() else float("nan"),
    }
    result["model_version"] = guard.model_version
    result["split"] = split
    return result

"""Content channel per encoder on a labelled log written by someone else (default: the validation log).

    python benchmarks/content_channel.py [--model models/default] [--per-style 400] [--benign 2000]

For a stratified sample (up to ``--per-style`` campaign requests of each campaign style and
``--benign`` benign requests), each encoder of the bundle embeds every window and sentence of the
request and matches it against its own template index, with no session state. Reports, per
encoder: request ROC-AUC of the best template similarity for each campaign style against the
benign sample, their mean (macro), and the p50 time to embed and match one request.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from intent_guard.bundle import default_bundle_path, load_manifest  # noqa: E402
from intent_guard.pipeline import FeaturePipeline  # noqa: E402
from intent_guard.session import MemoryStore  # noqa: E402
from intent_guard.text import prompt_parts  # noqa: E402
from intent_guard.types import Request  # noqa: E402
from training.generalisation import CAMPAIGN_STYLES, DEFAULT_STRANGER_LOG  # noqa: E402
from training.metrics import roc_auc  # noqa: E402
from training.records import LogSource  # noqa: E402
from training.stranger import load_accounts  # noqa: E402


def sample(log: Path, accounts: Path, per_style: int, benign: int, seed: int) -> list[tuple[Request, int, str]]:
    populations = {a: v["population"] for a, v in load_accounts(accounts).items()}
    pools: dict[str, list[dict]] = defaultdict(list)
    for record in LogSource([log]):
        style = populations.get(record["account_id"], "")
        pools[style if record["label"] == 1 else "benign"].append(record)
    rng = np.random.default_rng(seed)
    out = []
    for style, pool in pools.items():
        limit = benign if style == "benign" else per_style
        for i in rng.permutation(len(pool))[:limit]:
            out.append((Request.from_dict(pool[int(i)]), int(pool[int(i)]["label"]), style))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_bundle_path())
    parser.add_argument("--log", type=Path, default=DEFAULT_STRANGER_LOG)
    parser.add_argument("--per-style", type=int, default=400)
    parser.add_argument("--benign", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = sample(args.log, args.log.parent / "accounts.json", args.per_style, args.benign, args.seed)
    manifest = load_manifest(args.model)
    y = np.array([label for _, label, _ in rows])
    styles = np.array([style for _, _, style in rows])
    results = {}
    for kind in manifest.data["encoders"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipeline = FeaturePipeline.from_manifest(manifest, MemoryStore(), kind)
        best, times = [], []
        for request, _, _ in rows:
            start = time.perf_counter()
            sim = pipeline.match(pipeline.embed_views([prompt_parts(request)]))[0]
            times.append(time.perf_counter() - start)
            best.append(max(sim.user_max, sim.system_max))
        scores = np.array(best)
        per_style = {}
        for style in CAMPAIGN_STYLES:
            mask = (styles == "benign") | (styles == style)
            if (styles == style).any():
                per_style[style] = roc_auc(y[mask], scores[mask])
        results[kind] = {
            **per_style,
            "macro": float(np.mean(list(per_style.values()))),
            "p50_ms": float(np.median(times) * 1e3),
        }
    print(f"{len(rows):,} sampled requests of {args.log}; best template similarity (user and system windows)")
    header = ["encoder", *CAMPAIGN_STYLES, "macro", "embed + match p50 ms"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for kind, r in results.items():
        cells = [kind, *(f"{r.get(s, float('nan')):.3f}" for s in CAMPAIGN_STYLES), f"{r['macro']:.3f}"]
        print("| " + " | ".join(cells + [f"{r['p50_ms']:.2f}"]) + " |")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Account evidence: how campaign-like an account's traffic has been, as one number.

A provider acts on accounts, not on single requests, and no single prompt gives a campaign away:
the account score is the mean of the account's ``TOP_K`` highest request probabilities (padded
with zeros while it has fewer), with a week's decay. One ordinary request that happens to look like
a template moves it by at most a third of its probability; a campaign's steady stream of template
requests fills all three places. On logs written by others this ranks accounts better than the
maximum (FACTS.md: TPR at 0.1% benign-account FPR 0.40 vs 0.07 with the same probabilities).

The top-k lives in the account's own state, as linear slots like everything else (so the Redis
script and the memory store need nothing new): a decayed histogram of request probabilities in
``BINS`` bins, with the decayed count and the decayed sum of probabilities per bin, from which the
top-k mean is read walking down from the highest bin (exact up to how probabilities mix inside
the one bin where the top-k ends).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from .state import WEEK

TOP_K = 3
#: Upper edges of the probability bins (the last bin ends at 1).
EDGES: tuple[float, ...] = (0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9)
BINS = len(EDGES) + 1
#: The account-schema slots that hold the histogram: decayed counts, then decayed sums.
EVIDENCE_SLOTS: tuple[tuple[str, float], ...] = (
    *((f"ev_n{i}", WEEK) for i in range(BINS)),
    *((f"ev_p{i}", WEEK) for i in range(BINS)),
)


def bin_of(probability: float) -> int:
    return bisect.bisect_right(EDGES, probability)


def top_k_mean(counts: Sequence[float], sums: Sequence[float]) -> float:
    """Mean of the TOP_K highest probabilities of a (decayed) histogram, zeros padding."""
    need = float(TOP_K)
    total = 0.0
    for b in range(len(counts) - 1, -1, -1):
        n = counts[b]
        if n <= 1e-12:
            continue
        take = min(n, need)
        total += take * (sums[b] / n)
        need -= take
        if need <= 1e-12:
            break
    return min(1.0, max(0.0, total / TOP_K))

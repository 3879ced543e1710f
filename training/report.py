"""The evaluation report: one Markdown and one HTML file with PNG plots, readable at a glance.

Plots: ROC and PR curves (with a baseline bundle's when given), score distributions per
population, calibration, feature importance (gain and mean |SHAP| from LightGBM's
``pred_contrib``), requests-to-detect per campaign, and the confusion at the chosen thresholds.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .metrics import calibration, requests_to_detect, summarise


@dataclass
class Scored:
    """One model's scores on the held-out split (rows in time order)."""

    name: str
    y: np.ndarray
    scores: np.ndarray
    accounts: np.ndarray
    campaigns: np.ndarray
    populations: np.ndarray
    thresholds: dict[str, float]
    importance: dict[str, dict[str, float]] = field(default_factory=dict)  # kind -> feature -> value


def _plt():  # noqa: ANN202 - matplotlib stays a training-only import
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 110, "font.size": 9, "axes.grid": True, "grid.alpha": 0.3})
    return plt


def _curves(models: list[Scored], out: Path) -> None:
    from sklearn.metrics import precision_recall_curve, roc_curve

    plt = _plt()
    fig, (roc_ax, pr_ax) = plt.subplots(1, 2, figsize=(10, 4))
    floor = 1.0
    for model in models:
        fpr, tpr, _ = roc_curve(model.y, model.scores)
        roc_ax.plot(fpr, tpr, label=model.name)
        precision, recall, _ = precision_recall_curve(model.y, model.scores)
        pr_ax.plot(recall, precision, label=model.name)
        floor = min(floor, float(np.quantile(precision, 0.01)), float(tpr[np.searchsorted(fpr, 1e-4)]))
    prior = float(np.mean(models[0].y))
    pr_ax.axhline(prior, color="grey", ls=":", lw=1, label=f"chance (prior {prior:.2f})")
    roc_ax.set(
        xscale="log",
        xlim=(1e-4, 1),
        ylim=(max(0.0, floor - 0.05), 1.01),
        xlabel="benign requests flagged (FPR, log)",
        ylabel="campaign requests flagged (TPR)",
        title="ROC (request level; dotted: 0.1% and 1% FPR)",
    )
    for target in (0.001, 0.01):
        roc_ax.axvline(target, color="grey", ls=":", lw=1)
    pr_ax.set(
        xlabel="recall",
        ylabel="precision",
        ylim=(max(0.0, min(floor, prior) - 0.05), 1.01),
        title="Precision-recall (request level)",
    )
    roc_ax.legend(loc="lower right")
    pr_ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(out / "roc_pr.png")
    plt.close(fig)


def _distributions(model: Scored, out: Path) -> None:
    plt = _plt()
    populations = sorted(set(model.populations.tolist()))
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(populations) + 1.5))
    data = [np.clip(model.scores[model.populations == p], 1e-6, 1) for p in populations]
    ax.boxplot(data, vert=False, whis=(1, 99), showfliers=False)
    ax.set_yticks(range(1, len(populations) + 1), populations)
    ax.set_xscale("logit")
    ax.set(
        xlabel="extraction probability (logit scale; boxes 25-75%, whiskers 1-99%)",
        title="Score distribution per population",
    )
    for name, t in model.thresholds.items():
        ax.axvline(
            min(max(t, 1e-6), 1 - 1e-6),
            color="red" if name == "block" else "orange",
            ls="--",
            lw=1,
            label=f"{name} {t:.3g}",
        )
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "scores_by_population.png")
    plt.close(fig)


def _calibration(model: Scored, out: Path) -> dict[str, Any]:
    plt = _plt()
    result = calibration(model.y, model.scores)
    fig, (ax, counts) = plt.subplots(2, 1, figsize=(5, 5.6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 1], [0, 1], color="grey", ls=":", label="perfect")
    bins = result["bins"]
    ax.plot([b["predicted"] for b in bins], [b["observed"] for b in bins], marker="o", label=model.name)
    for b in bins:
        ax.annotate(
            f"n={b['count']:,}",
            (b["predicted"], b["observed"]),
            xytext=(4, -10),
            textcoords="offset points",
            fontsize=6,
        )
    ax.set(
        ylabel="observed campaign share",
        xlim=(0, 1),
        ylim=(0, 1),
        title=f"Calibration on the test split (ECE {result['ece']:.3f}, 10 bins)",
    )
    ax.legend(loc="upper left")
    counts.bar([b["predicted"] for b in bins], [b["count"] for b in bins], width=0.05)
    counts.set(yscale="log", xlabel="mean predicted probability (bin)", ylabel="requests (log)")
    fig.tight_layout()
    fig.savefig(out / "calibration.png")
    plt.close(fig)
    return result


def _importance(model: Scored, out: Path, top: int = 20) -> None:
    if not model.importance:
        return
    plt = _plt()
    from matplotlib.ticker import EngFormatter

    kinds = list(model.importance)
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.5 * len(kinds), 0.28 * top + 1.2))
    for ax, kind in zip(np.atleast_1d(axes), kinds, strict=True):
        values = model.importance[kind]
        names = sorted(values, key=values.get, reverse=True)[:top][::-1]
        ax.barh(names, [values[n] for n in names])
        unit = "total split gain" if kind == "gain" else "mean |SHAP| (log-odds) on 5,000 test rows"
        ax.set(title=f"Top {top} features by {kind}", xlabel=unit)
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
        ax.tick_params(axis="y", labelsize=7)
        ax.tick_params(axis="x", labelrotation=30)
    fig.suptitle(f"Feature importance, {model.name}")
    fig.tight_layout()
    fig.savefig(out / "feature_importance.png")
    plt.close(fig)


def _detection(rtd: Mapping[str, Mapping[str, float]], out: Path) -> None:
    plt = _plt()
    campaigns = list(rtd)
    fig, ax = plt.subplots(figsize=(8, 0.4 * max(len(campaigns), 2) + 1.2))
    medians = [
        0.0 if np.isnan(rtd[c]["median_requests_to_detect"]) else rtd[c]["median_requests_to_detect"] for c in campaigns
    ]
    never = [np.isnan(rtd[c]["median_requests_to_detect"]) for c in campaigns]
    ax.barh(
        campaigns,
        [1.0 if n else m for m, n in zip(medians, never, strict=True)],
        color=["lightgrey" if n else "C0" for n in never],
    )
    for i, c in enumerate(campaigns):
        flagged = f"{rtd[c]['detected_share']:.0%} of {int(rtd[c]['accounts'])} accounts flagged"
        label = f"never flagged ({flagged})" if never[i] else f"median {medians[i]:g} requests; {flagged}"
        ax.annotate(
            label, (max(medians[i], 1.0), i), xytext=(4, 0), textcoords="offset points", va="center", fontsize=7
        )
    ax.set_xscale("log")
    ax.set_xlim(1, max(medians + [10.0]) * 80)
    ax.set(
        xlabel="median requests an account sends before its first flag (log; request probability >= review)",
        title="Requests to detect, per held-out campaign (grey: never flagged)",
    )
    fig.tight_layout()
    fig.savefig(out / "requests_to_detect.png")
    plt.close(fig)


def _confusion(model: Scored) -> list[dict[str, Any]]:
    rows = []
    for name, t in model.thresholds.items():
        flagged = model.scores >= t
        rows.append(
            {
                "threshold": name,
                "value": t,
                "true_positives": int((flagged & (model.y == 1)).sum()),
                "false_negatives": int((~flagged & (model.y == 1)).sum()),
                "false_positives": int((flagged & (model.y == 0)).sum()),
                "true_negatives": int((~flagged & (model.y == 0)).sum()),
            }
        )
    return rows


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _fmt(value: float) -> str:
    return "n/a" if value != value else f"{value:.4f}"  # noqa: PLR0124 - NaN check


def write_report(
    model: Scored,
    out: Path,
    *,
    manifest: Mapping[str, Any],
    baseline: Scored | None = None,
    ablation: Mapping[str, Any] | None = None,
    stranger: Mapping[str, Any] | None = None,
    lowo: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, Any]:
    """Write report.md, report.html and the PNGs into ``out``; return the numbers behind them."""
    out.mkdir(parents=True, exist_ok=True)
    models = [model] + ([baseline] if baseline is not None else [])
    _curves(models, out)
    _distributions(model, out)
    calib = _calibration(model, out)
    _importance(model, out)
    rtd = requests_to_detect(model.accounts, model.campaigns, model.y, model.scores, model.thresholds["review"])
    _detection(rtd, out)
    summaries = {m.name: summarise(m.y, m.scores, m.accounts, m.populations, m.thresholds) for m in models}
    metrics = [
        "roc_auc",
        "pr_auc",
        "tpr_at_0.01_fpr",
        "tpr_at_0.001_fpr",
        "account_tpr_at_0.01_fpr",
        "account_tpr_at_0.001_fpr",
        "review_request_fpr",
        "block_request_fpr",
    ]
    headline_rows = []
    for metric in metrics:
        row = [metric] + [_fmt(summaries[m.name][metric]) for m in models]
        if baseline is not None:
            delta = summaries[model.name][metric] - summaries[baseline.name][metric]
            better = delta < 0 if metric.endswith("_fpr") and "tpr" not in metric else delta > 0
            row.append(f"{delta:+.4f} {'better' if better else ('same' if delta == 0 else 'worse')}")
        headline_rows.append(row)
    headers = ["metric"] + [m.name for m in models] + (["new - baseline"] if baseline is not None else [])
    populations = summaries[model.name]["benign_populations"]
    population_rows = [
        [p, v["requests"], f"{v['review_fpr']:.2%}", f"{v['block_fpr']:.2%}"] for p, v in populations.items()
    ]
    confusion = _confusion(model)
    sections = [f"# intent_guard evaluation report: {manifest.get('bundle_version', model.name)}"]
    sections += _generalisation_sections(stranger, lowo)
    sections += [
        f"Held-out split: {summaries[model.name]['requests']:,} requests, {summaries[model.name]['accounts']} accounts "
        f"({summaries[model.name]['positive_accounts']} in campaigns). Thresholds: "
        + ", ".join(f"{k} {v:.4g}" for k, v in model.thresholds.items())
        + ".",
        "## Headline" + (" (against the baseline)" if baseline is not None else ""),
        _table(headers, headline_rows),
        "![ROC and PR](roc_pr.png)",
        "## False-positive rate per benign population",
        _table(["population", "requests", "review FPR", "block FPR"], population_rows),
        "![scores by population](scores_by_population.png)",
        "## Requests to detect, per held-out campaign",
        _table(
            ["campaign", "accounts", "flagged", "median requests to first flag"],
            [
                [c, int(v["accounts"]), f"{v['detected_share']:.0%}", _fmt(v["median_requests_to_detect"])]
                for c, v in rtd.items()
            ],
        ),
        "![requests to detect](requests_to_detect.png)",
        "## Calibration",
        f"Expected calibration error {calib['ece']:.4f} (10 equal-width bins).",
        "![calibration](calibration.png)",
        "## Confusion at the thresholds",
        _table(
            ["threshold", "value", "TP", "FN", "FP", "TN"],
            [
                [
                    r["threshold"],
                    f"{r['value']:.4g}",
                    r["true_positives"],
                    r["false_negatives"],
                    r["false_positives"],
                    r["true_negatives"],
                ]
                for r in confusion
            ],
        ),
        "## Feature importance",
        "![feature importance](feature_importance.png)" if model.importance else "(not available)",
    ]
    if ablation:
        sections += [
            "## Ablation",
            _table(
                ["features", "ROC-AUC", "TPR @1% FPR", "TPR @0.1% FPR", "review FPR"],
                [
                    [
                        name,
                        f"{r['roc_auc']:.4f}",
                        f"{r['tpr_at_0.01_fpr']:.3f}",
                        f"{r['tpr_at_0.001_fpr']:.3f}",
                        f"{r['review_request_fpr']:.2%}",
                    ]
                    for name, r in ablation.items()
                ],
            ),
        ]
    sections += [
        "## Bundle manifest",
        "```json\n"
        + json.dumps({k: v for k, v in manifest.items() if k not in ("evaluation", "feature_reference")}, indent=1)
        + "\n```",
    ]
    markdown = "\n\n".join(sections) + "\n"
    (out / "report.md").write_text(markdown, encoding="utf-8")
    (out / "report.html").write_text(_html(markdown), encoding="utf-8")
    return {"summaries": summaries, "requests_to_detect": rtd, "calibration": calib, "confusion": confusion}


def _generalisation_sections(
    stranger: Mapping[str, Any] | None, lowo: Mapping[str, Mapping[str, float]] | None
) -> list[str]:
    """Stranger mode first (the headline), then leave-one-world-out, then the shift audit."""
    from .shift import format_shift
    from .stranger import format_stranger

    out: list[str] = []
    if stranger:
        out += [
            "## Stranger mode (the headline)",
            f"The finished bundle scored `{stranger['log']}`, a labelled log it never trained on, whole and in "
            "time order; the figures are `shared/validation/score.py`'s.",
            "```\n" + format_stranger(stranger["figures"]) + "\n```",
        ]
    else:
        out += ["## Stranger mode", "Not run: no labelled log written by someone else was given."]
    if lowo:
        out += [
            "## Leave one world out",
            "Each row: a model trained on the other worlds of the synthetic log, scored on this one.",
            _table(
                [
                    "held-out world",
                    "requests",
                    "accounts",
                    "campaign accounts",
                    "request AUC",
                    "account AUC",
                    "account TPR @1%",
                    "account TPR @0.1%",
                ],
                [
                    [
                        w,
                        v["requests"],
                        v["accounts"],
                        v["campaign_accounts"],
                        _fmt(v["request_roc_auc"]),
                        _fmt(v["account_roc_auc"]),
                        _fmt(v["account_tpr_at_0.01_fpr"]),
                        _fmt(v["account_tpr_at_0.001_fpr"]),
                    ]
                    for w, v in lowo.items()
                ],
            ),
        ]
    if stranger and stranger.get("content_channel"):
        styles = [k for k in next(iter(stranger["content_channel"].values())) if k not in ("macro", "pooled")]
        out += [
            "## Content channel alone, on the stranger log",
            "Request ROC-AUC of each campaign style's requests against all benign requests, then their mean "
            "(macro) and the pooled figure. `similarity`: best template similarity of any window or sentence; "
            "`content model`: a monotone LightGBM on the content features only, trained on the synthetic rows.",
            _table(
                ["score", *styles, "macro", "pooled"],
                [
                    [name, *(_fmt(v[s]) for s in styles), _fmt(v["macro"]), _fmt(v["pooled"])]
                    for name, v in stranger["content_channel"].items()
                ],
            ),
        ]
    if stranger and stranger.get("shift"):
        out += [
            "## Shift audit: training rows vs the stranger log",
            format_shift(stranger["shift"], label_a="training", label_b="stranger"),
        ]
    out += ["## Synthetic held-out split"]
    return out


def _html(markdown: str) -> str:
    """A small Markdown subset (headings, tables, images, code blocks, paragraphs) to HTML."""
    body: list[str] = []
    lines = markdown.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            body.append("<pre>" + html.escape("\n".join(lines[i + 1 : j])) + "</pre>")
            i = j + 1
            continue
        if line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                if not set(lines[i]) <= set("|-: "):
                    rows.append([html.escape(c.strip()) for c in lines[i].strip("|").split("|")])
                i += 1
            head, *rest = rows
            body.append(
                "<table><tr>"
                + "".join(f"<th>{c}</th>" for c in head)
                + "</tr>"
                + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rest)
                + "</table>"
            )
            continue
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.startswith("!["):
            alt, src = line[2:].split("](", 1)
            body.append(f'<img alt="{html.escape(alt)}" src="{html.escape(src.rstrip(")"))}">')
        elif line.strip():
            body.append(f"<p>{html.escape(line)}</p>")
        i += 1
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}"
        "th{background:#f3f3f3}img{max-width:100%}pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:12px}"
    )
    head = f"<meta charset='utf-8'><title>intent_guard report</title><style>{style}</style>"
    return f"<!doctype html><html><head>{head}</head><body>{''.join(body)}</body></html>\n"

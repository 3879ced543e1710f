"""``python -m training``: the retraining pipeline's command line.

Commands:
  export-encoders   export all-MiniLM-L6-v2 to ONNX (fp32, int8) and distil the static encoder
  synth             generate labelled synthetic traffic
  build             split, replay, train, export, calibrate and evaluate a bundle from a labelled log
  evaluate          score a labelled log with a bundle and print the metrics (score.py's, given accounts)
  shift             adversarial validation between the training log's and another log's feature rows
  templates         mine template proposals from traffic (mine) or add accepted ones (add)
  deep-content      train the deep (int8 transformer) content-only model into a bundle, stranger-mode AUCs
  deep-decision     fit the deep-evidence thresholds on the build's calibration split (after deep-content)
  compare-encoders  template-match quality and speed of each encoder on a labelled log
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_PROMPTS = ROOT.parent / "shared" / "data" / "prompts"
DEFAULT_STRANGER_LOG = ROOT.parent / "shared" / "validation" / "traffic.jsonl.gz"


def _build(args: argparse.Namespace) -> int:
    from .build import BuildOptions, build

    report = build(
        BuildOptions(
            log=list(args.log),
            out=args.out,
            split=args.split,
            skip_unlabelled=args.skip_unlabelled,
            encoders_dir=args.encoders,
            templates=args.templates,
            corpus=args.corpus,
            serving_encoder=args.encoder,
            encoders=tuple(dict.fromkeys([args.encoder, *args.bundle_encoders.split(",")])),
            review_fpr=args.review_fpr,
            block_fpr=args.block_fpr,
            account_review_fpr=args.account_review_fpr,
            account_block_fpr=args.account_block_fpr,
            report=args.report,
            baseline=args.baseline,
            rounds=args.rounds,
            seed=args.seed,
            stranger_log=args.stranger_log,
            stranger=not args.no_stranger,
            leave_one_world_out=not args.no_lowo,
        )
    )
    print(json.dumps({k: v for k, v in report["evaluation"].items() if k != "benign_populations"}, indent=1))
    print("benign populations (review / block FPR):")
    for pop, stats in report["evaluation"]["benign_populations"].items():
        print(f"  {pop:<20} {stats['requests']:>7}  {stats['review_fpr']:.4f} / {stats['block_fpr']:.4f}")
    print(json.dumps(report["timings"], indent=1))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    """Stranger mode (score.py's figures on a whole log) with an accounts file; else a split's metrics."""
    from intent_guard.logs import CorruptLogError

    from .stranger import StrangerDataError, format_stranger, stranger_evaluation

    accounts = args.accounts
    if accounts is None and len(args.log) == 1 and (args.log[0].parent / "accounts.json").is_file():
        accounts = args.log[0].parent / "accounts.json"
        print(f"accounts file found beside the log: {accounts} (stranger mode)", file=sys.stderr)
    if accounts is None:
        if args.verdicts_out is not None:
            print(
                "error: --verdicts-out needs stranger mode (--accounts, or accounts.json beside the log)",
                file=sys.stderr,
            )
            return EXIT_USAGE
        from .evaluate import evaluate_bundle

        result = evaluate_bundle(args.model, args.log, split=args.split or "test", encoder=args.encoder)
        print(json.dumps(result, indent=1))
    else:
        if len(args.log) != 1 or args.split not in (None, "all"):
            print("error: stranger mode scores one whole log (one --log, no --split)", file=sys.stderr)
            return EXIT_USAGE
        try:
            result = stranger_evaluation(
                args.model, args.log[0], accounts, verdicts_out=args.verdicts_out, encoder=args.encoder
            )
        except (StrangerDataError, CorruptLogError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_DATA
        print(f"model {result['model_version']} on {result['log']}")
        for message in result["first_errors"]:
            print(f"  skipped invalid record at {message} (no verdict: counted as missing)")
        print(format_stranger(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


def _shift(args: argparse.Namespace) -> int:
    from intent_guard.logs import CorruptLogError

    from .shift import ShiftInputError, format_shift, shift_audit

    try:
        result = shift_audit(
            args.model,
            args.train_log,
            args.log,
            max_rows=args.max_rows,
            top=args.top,
            folds=args.folds,
            seed=args.seed,
            encoder=args.encoder,
        )
    except (ShiftInputError, CorruptLogError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_DATA
    print(format_shift(result, label_a="train", label_b="log"))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


def _synth(args: argparse.Namespace) -> int:
    from .synth.generate import run

    return run(args)


def _export(args: argparse.Namespace) -> int:
    from .export_encoders import main

    return main(["--out", str(args.out), "--work", str(args.work), "--corpus", str(args.corpus)])


def _compare(args: argparse.Namespace) -> int:
    from .compare_encoders import compare

    print(json.dumps(compare(args.model, args.log, args.fp32, sample=args.sample), indent=1))
    return 0


def _templates(args: argparse.Namespace) -> int:
    from .mining import add_templates, mine, write_proposals

    if args.action == "mine":
        proposals = mine(
            args.model,
            list(args.log),
            flagged=args.flagged,
            min_similarity=args.min_similarity,
            min_support=args.min_support,
            min_accounts=args.min_accounts,
        )
        write_proposals(proposals, args.output)
        print(f"{len(proposals)} proposals written to {args.output}")
        for p in proposals[:10]:
            print(f"  {p.id} {p.category:<22} support {p.support:>5} from {p.accounts:>3} accounts: {p.text[:70]!r}")
        return 0
    added = add_templates(args.model or Path("models/default"), args.proposals)
    print(f"added {added} templates; indexes and manifest rebuilt. Retrain to let the scorer use them.")
    return 0


def _deep_content(args: argparse.Namespace) -> int:
    from intent_guard.bundle import load_manifest
    from intent_guard.deep import DEEP_ENCODER

    from .deep_content import DeepDataError, DeepOptions, format_section, run

    if args.sample < 100 or args.rounds < 1:
        print(
            f"error: --sample must be at least 100 and --rounds at least 1, got {args.sample}, {args.rounds}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    load_manifest(args.model).encoder(DEEP_ENCODER)  # a bad bundle fails now, not after the replay
    stranger = None if args.no_stranger else args.stranger_log
    if stranger is not None and not (stranger.parent / "accounts.json").is_file():
        print(f"error: no accounts.json beside {stranger}: stranger mode needs the populations", file=sys.stderr)
        return EXIT_DATA
    try:
        section = run(DeepOptions(args.log, args.model, args.sample, args.rounds, stranger))
    except DeepDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_DATA
    print(format_section(section))
    return 0


def _deep_decision(args: argparse.Namespace) -> int:
    from intent_guard.deep_analysis import DeepSelection
    from intent_guard.errors import ConfigError

    from .deep_content import DeepDataError
    from .deep_decision import run

    try:
        selection = DeepSelection(args.first, args.every)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        section = run(args.log, args.model, selection=selection)
    except DeepDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_DATA
    print(json.dumps(section, indent=1))
    return 0


def _synth_arguments(parser: argparse.ArgumentParser) -> None:
    from .synth.generate import add_arguments

    add_arguments(parser)
    parser.set_defaults(corpus=SHARED_PROMPTS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("export-encoders", help="export the ONNX and static encoders")
    p.add_argument("--out", type=Path, default=Path("models/default"))
    p.add_argument("--work", type=Path, default=Path("build/encoders"))
    p.add_argument("--corpus", type=Path, default=SHARED_PROMPTS)
    p.set_defaults(func=_export)

    p = commands.add_parser("synth", help="generate labelled synthetic traffic from several worlds (JSONL)")
    _synth_arguments(p)
    p.set_defaults(func=_synth)

    p = commands.add_parser("build", help="train, export and evaluate a bundle from a labelled log")
    p.add_argument("--log", type=Path, nargs="+", required=True, help="JSONL / Parquet files or folders")
    p.add_argument(
        "--split",
        default="group",
        choices=["group", "time"],
        help="group: campaigns and orgs spread over splits; time: train on earlier days, test on later",
    )
    p.add_argument("--skip-unlabelled", action="store_true", help="leave out records without a label")
    p.add_argument("--out", type=Path, default=Path("models/default"))
    p.add_argument("--encoders", type=Path, default=Path("models/default"), help="where export-encoders wrote")
    p.add_argument("--templates", type=Path, default=Path("training/data/templates.jsonl"))
    p.add_argument("--corpus", type=Path, default=SHARED_PROMPTS)
    p.add_argument("--encoder", default="static", choices=["static", "onnx-int8"])
    p.add_argument(
        "--ship-encoders",
        dest="bundle_encoders",
        default="static,onnx-int8",
        help="encoders to ship in the bundle (comma-separated; the serving one is always included)",
    )
    p.add_argument("--review-fpr", type=float, default=0.01, help="target benign request FPR at review")
    p.add_argument("--block-fpr", type=float, default=0.001, help="target benign request FPR at block")
    p.add_argument(
        "--account-review-fpr",
        type=float,
        default=0.01,
        help="benign-account FPR at account review",
    )
    p.add_argument(
        "--account-block-fpr",
        type=float,
        default=0.001,
        help="benign-account FPR at account block",
    )
    p.add_argument("--report", type=Path, default=None, help="report directory (default: OUT/report)")
    p.add_argument("--baseline", type=Path, default=None, help="a bundle to compare against in the report")
    p.add_argument("--rounds", type=int, default=150)
    p.add_argument(
        "--stranger-log",
        type=Path,
        default=None,
        help="labelled log written by someone else (accounts.json beside it) scored by the finished bundle "
        "(default: ../shared/validation/traffic.jsonl.gz when present)",
    )
    p.add_argument("--no-stranger", action="store_true", help="skip stranger mode and the shift audit")
    p.add_argument("--no-lowo", action="store_true", help="skip the leave-one-world-out evaluation")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_build)

    p = commands.add_parser(
        "evaluate",
        help="score a labelled log with a bundle and report metrics",
        description="With an accounts file (--accounts, or accounts.json beside the log): stranger mode, the "
        "whole log scored in time order and shared/validation/score.py's figures printed. Without one: the "
        "metrics of one split (default test) of the build's grouped split.",
    )
    p.add_argument("--model", type=Path, default=None, help="bundle directory (default: the shipped bundle)")
    p.add_argument("--log", type=Path, nargs="+", required=True, help="labelled log(s), JSONL (plain or .gz)")
    p.add_argument("--accounts", type=Path, default=None, help="account_id -> population / label / campaign_id")
    p.add_argument(
        "--split", default=None, choices=["train", "calib", "test", "all"], help="without accounts (default test)"
    )
    p.add_argument("--encoder", default=None)
    p.add_argument("--verdicts-out", type=Path, default=None, help="stranger mode: write the verdicts (JSONL)")
    p.add_argument("--json", type=Path, default=None, help="write the figures as JSON")
    p.set_defaults(func=_evaluate)

    p = commands.add_parser(
        "shift",
        help="adversarial validation: how far another log's feature rows are from the training log's",
    )
    p.add_argument("--model", type=Path, default=None, help="bundle whose pipeline replays both logs")
    p.add_argument("--train-log", type=Path, required=True, help="log A: what the bundle was trained on")
    p.add_argument("--log", type=Path, required=True, help="log B: the traffic to compare (plain or .gz)")
    p.add_argument("--max-rows", type=int, default=50_000, help="rows sampled per log (default 50000)")
    p.add_argument("--top", type=int, default=20, help="features to list (default 20)")
    p.add_argument("--folds", type=int, default=5, help="grouped cross-validation folds (default 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--encoder", default=None)
    p.add_argument("--json", type=Path, default=None, help="write the audit as JSON")
    p.set_defaults(func=_shift)

    p = commands.add_parser("templates", help="mine template proposals from traffic, or add accepted ones")
    actions = p.add_subparsers(dest="action", required=True)
    m = actions.add_parser("mine", help="cluster campaign prompts no template explains into proposals")
    m.add_argument("--model", type=Path, default=None)
    m.add_argument("--log", type=Path, nargs="+", required=True)
    m.add_argument("-o", "--output", type=Path, default=Path("proposals.jsonl"))
    m.add_argument("--flagged", action="store_true", help="mine requests the model flags instead of labelled ones")
    m.add_argument("--min-similarity", type=float, default=0.75, help="cosine to join a cluster")
    m.add_argument("--min-support", type=int, default=20)
    m.add_argument("--min-accounts", type=int, default=2)
    m.set_defaults(func=_templates)
    a = actions.add_parser("add", help="append accepted proposals to a bundle's library and rebuild its index")
    a.add_argument("proposals", type=Path)
    a.add_argument("--model", type=Path, default=None)
    a.set_defaults(func=_templates)

    p = commands.add_parser(
        "deep-content",
        help="train the deep (int8 transformer) content-only model into a bundle and score it in stranger mode",
    )
    p.add_argument("--log", type=Path, required=True, help="the labelled log the bundle was built from")
    p.add_argument("--model", type=Path, default=Path("models/default"), help="bundle to add the model to")
    p.add_argument("--sample", type=int, default=16000, help="train-split requests to replay (default 16000)")
    p.add_argument("--rounds", type=int, default=150, help="boosting rounds (default 150, the build's)")
    p.add_argument(
        "--stranger-log",
        type=Path,
        default=DEFAULT_STRANGER_LOG,
        help="labelled log written by someone else, accounts.json beside it (default: ../shared/validation)",
    )
    p.add_argument("--no-stranger", action="store_true", help="skip the stranger-mode evaluation")
    p.set_defaults(func=_deep_content)

    p = commands.add_parser(
        "deep-decision", help="fit the deep-evidence thresholds on the build's calibration split (inline + deep replay)"
    )
    p.add_argument("--log", type=Path, required=True, help="the labelled log the bundle was built from")
    p.add_argument("--model", type=Path, default=Path("models/default"), help="bundle with a deep content model")
    p.add_argument("--first", type=int, default=8, help="analyse each account's first N requests (default 8)")
    p.add_argument("--every", type=int, default=32, help="and every N-th request after them (default 32; 0: none)")
    p.set_defaults(func=_deep_decision)

    p = commands.add_parser("compare-encoders", help="template-match quality and latency per encoder")
    p.add_argument("--model", type=Path, default=Path("models/default"))
    p.add_argument("--log", type=Path, required=True)
    p.add_argument("--fp32", type=Path, default=Path("build/encoders/encoder-fp32.onnx"))
    p.add_argument("--sample", type=int, default=3000)
    p.set_defaults(func=_compare)
    return parser


EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DATA = 0, 1, 2, 3


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done, 1 a step failed (e.g. the ONNX parity gate), 2 usage, 3 bad input data."""
    from intent_guard.errors import IntentGuardError

    from .model import ParityError
    from .records import MissingLabelError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (MissingLabelError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_DATA
    except (ParityError, IntentGuardError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())

"""The ``intent-guard`` command line. Heavy imports stay inside the commands."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

from . import __version__
from .errors import IntentGuardError

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def _score(args: argparse.Namespace) -> int:
    from .config import GuardConfig
    from .guard import Guard
    from .logs import InputOrderWriter, batched, iter_time_order, scan_log, spool_stdin, verdict_line
    from .progress import Progress

    problem = _check_paths(args.log, args.output)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    guard = Guard.load(args.model, config=GuardConfig(batch_size=args.batch_size))
    if args.deep:  # synchronous: a replay selects and analyses exactly what live traffic would
        guard.with_deep(background=False)
    source = Path(args.log)
    name = "<stdin>" if args.log == "-" else str(source)
    spooled = None
    if args.log == "-":
        spooled = source = spool_stdin()
    try:
        started = time.perf_counter()
        size = source.stat().st_size
        with Progress(size, "reading ", unit="B") as bar:
            scan = scan_log(source, progress=lambda pos: bar.update(pos - bar.done))
        for bad in scan.bad[: args.show_errors]:
            print(f"skipped {name}:{bad.line}: {bad.message}", file=sys.stderr)
        if len(scan) == 0:
            print(f"error: {name}: no valid request to score ({scan.bad_count:,} invalid records)", file=sys.stderr)
            return EXIT_ERROR
        out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
        decisions: Counter[str] = Counter()
        flagged: dict[str, list[float]] = {}
        scoring_started = time.perf_counter()
        try:
            writer = InputOrderWriter(out, scan.time_order())
            with Progress(len(scan), "scoring ", enabled=None if args.output else False) as bar:
                for batch in batched(iter_time_order(source, scan), args.batch_size):
                    _flush(guard, batch, writer, decisions, flagged, verdict_line)
                    bar.update(len(batch))
            writer.close()
        finally:
            if out is not sys.stdout:
                out.close()
        finished = time.perf_counter()
    finally:
        if spooled is not None:
            spooled.unlink(missing_ok=True)
    n = len(scan)
    rate = n / max(finished - scoring_started, 1e-9)
    summary = sys.stderr if not args.output else sys.stdout
    print(f"model {guard.model_version} (encoder {guard.encoder_kind})", file=summary)
    print(f"requests scored: {n:,}   skipped (invalid): {scan.bad_count:,}", file=summary)
    print("decisions: " + "  ".join(f"{d} {decisions[d]:,}" for d in ("allow", "review", "block")), file=summary)
    if guard.deep is not None:
        print("deep analysis: " + "  ".join(f"{k} {v:,}" for k, v in guard.deep.counts.items()), file=summary)
    print(
        f"throughput: {rate:,.0f} requests/s scoring, {n / max(finished - started, 1e-9):,.0f}/s end to end",
        file=summary,
    )
    top = sorted(flagged.items(), key=lambda kv: (-kv[1][0], -kv[1][2], kv[0]))[: args.top]
    if top:
        print("top flagged accounts (flagged / requests, max probability):", file=summary)
        for account, (n_flagged, n_total, p_max) in top:
            print(f"  {account:<32} {int(n_flagged):>6} / {int(n_total):<6} {p_max:.3f}", file=summary)
    return EXIT_OK


def _check_paths(log: str, output: str | None) -> str | None:
    """What is wrong with the input and output paths, checked before any work (None: nothing)."""
    if log != "-":
        source = Path(log)
        if source.is_dir():
            return f"{log} is a directory; give a log file (JSON Lines, plain or gzip)"
        if not source.is_file():
            return f"no such log file: {log}"
    if output:
        target = Path(output)
        if target.is_dir():
            return f"-o {output} is a directory; give a file name"
        if not target.parent.is_dir():
            return f"-o {output}: the folder {target.parent} does not exist"
        if log != "-" and target.exists() and target.resolve() == Path(log).resolve():
            return f"-o {output} is the input log: writing verdicts there would destroy it"
    return None


def _flush(guard, batch, writer, decisions, flagged, verdict_line) -> None:  # noqa: ANN001
    verdicts = guard.score_many([r for _, r in batch])
    for (position, request), verdict in zip(batch, verdicts, strict=True):
        writer.write(position, verdict_line(verdict))
        decisions[verdict.decision] += 1
        stats = flagged.setdefault(request.account_id, [0.0, 0.0, 0.0])
        stats[0] += verdict.decision != "allow"
        stats[1] += 1
        stats[2] = max(stats[2], verdict.probability)
    # Keep only accounts with something flagged once the table grows large.
    if len(flagged) > 200_000:
        for account in [a for a, s in flagged.items() if s[0] == 0]:
            del flagged[account]


def _calibrate(args: argparse.Namespace) -> int:
    from .bundle import default_bundle_path
    from .calibrate import fit_thresholds, replay_maxima, write_calibrated_bundle
    from .guard import Guard

    source = Path(args.model) if args.model else default_bundle_path()
    guard = Guard.load(source)
    if args.deep:
        guard.with_deep(background=False, require_thresholds=False)
    maxima = replay_maxima(guard, Path(args.log), batch_size=args.batch_size)
    fitted = fit_thresholds(
        maxima,
        review_rate=args.review_rate,
        block_rate=args.block_rate,
        bundled_request_review=guard.policy.thresholds.request_review,
    )
    version = write_calibrated_bundle(source, Path(args.output), fitted, Path(args.log))
    t = guard.policy.thresholds
    print(f"calibrated bundle {version} -> {args.output}")
    print(f"  accounts in the log: {fitted['accounts']:,}")
    print(f"  account review threshold: {t.account_review:.4f} -> {fitted['account_review']:.4f}")
    print(f"  account block threshold:  {t.account_block:.4f} -> {fitted['account_block']:.4f}")
    print(f"  request review threshold: {t.request_review:.4f} -> {fitted['request_review']:.4f}")
    if "deep_review" in fitted:
        print(f"  deep review / block thresholds: {fitted['deep_review']:.4f} / {fitted['deep_block']:.4f}")
        print("  (each account channel fitted at half of each rate, so that the two together stay within it)")
    elif guard.manifest.data.get("deep_content"):
        print("  deep thresholds dropped (they went with the old inline ones): calibrate with --deep to refit them")
    print(
        f"  expected benign accounts flagged {args.review_rate:.2%}, blocked {args.block_rate:.2%} "
        "(if campaigns are a minority of the accounts)"
    )
    print(
        f"  on this log: {fitted['log_flag_rate']:.2%} of accounts flagged, {fitted['log_block_rate']:.2%} blocked "
        "(campaigns included)"
    )
    return EXIT_OK


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 < value < 0.5:
        raise argparse.ArgumentTypeError(f"a rate must be in (0, 0.5), e.g. 0.01; got {text}")
    return value


def _serve(args: argparse.Namespace) -> int:
    import logging

    from .errors import ConfigError, require

    trusted = _trusted_accounts(args.trusted_accounts) if args.trusted_accounts else frozenset()
    admin_token = os.environ.get(args.admin_token_env) if args.admin_token_env else None
    if args.admin_token_env and not admin_token:
        raise ConfigError(f"--admin-token-env names {args.admin_token_env!r}, which is not set (or empty)")
    uvicorn = require("uvicorn", "server")
    from .config import GuardConfig
    from .guard import Guard
    from .server import ServerConfig, create_app
    from .server.logformat import configure

    configure(logging.INFO)
    store = None
    if args.redis:
        from .session import MemoryStore
        from .session.redis_store import RedisStore

        store = RedisStore(args.redis, fallback=MemoryStore(max_entities=args.max_entities))
    config = GuardConfig(max_entities=args.max_entities, mode=args.mode, trusted_accounts=trusted)
    guard = Guard.load(args.model, config=config, store=store)
    if args.shadow:
        guard.with_shadow(Guard.load(args.shadow, config=GuardConfig(max_entities=args.max_entities)))
    if args.deep:
        guard.with_deep(process=True, max_pending=args.deep_queue)  # off the request threads' interpreter lock
    app = create_app(guard, ServerConfig(budget_ms=args.budget_ms, fail_mode=args.fail, admin_token=admin_token))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)  # type: ignore[attr-defined]
    return EXIT_OK


def _forget(args: argparse.Namespace) -> int:
    from .errors import require
    from .session.entities import account_key, deep_key

    require("redis", "redis")
    from .session.redis_store import RedisStore

    store = RedisStore(args.redis, socket_timeout=2.0)
    had_deep = store.forget(deep_key(args.account_id))
    had_state = store.forget(account_key(args.account_id)) or had_deep
    print(f"reset account {args.account_id!r} in {args.redis.split('@')[-1]} (it had state: {had_state})")
    return EXIT_OK


def _trusted_accounts(path: Path) -> frozenset[str]:
    """Account ids, one per line ('#' starts a comment); ConfigError if the file cannot be read."""
    from .errors import ConfigError

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the trusted-accounts file {path}: {exc}") from exc
    return frozenset(line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="intent-guard", description="Score LLM API traffic for distillation attacks.")
    parser.add_argument("--version", action="version", version=f"intent-guard {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser("score", help="replay a request log in time order and write one verdict per request")
    score.add_argument("log", help="request log (JSON Lines per the request-log spec, plain or gzip); '-' reads stdin")
    score.add_argument("-o", "--output", help="where to write verdicts (JSON Lines); default stdout")
    score.add_argument("--model", type=Path, default=None, help="model bundle directory (default: the shipped bundle)")
    score.add_argument("--batch-size", type=int, default=256, help="requests embedded together (default 256)")
    score.add_argument("--top", type=int, default=10, help="flagged accounts to list in the summary")
    score.add_argument("--show-errors", type=int, default=10, help="invalid records to print (all are counted)")
    score.add_argument(
        "--deep",
        action="store_true",
        help="also run the deep (int8 transformer) analysis on the requests it selects, synchronously "
        "(~30 ms each); its account evidence decides alongside the inline one",
    )
    score.set_defaults(func=_score)
    calibrate = commands.add_parser(
        "calibrate", help="fit the account thresholds on your own unlabelled traffic; writes a new bundle"
    )
    calibrate.add_argument("log", help="request log of your traffic (JSON Lines, plain or gzip); labels not needed")
    calibrate.add_argument("-o", "--output", required=True, help="directory for the calibrated bundle (new or empty)")
    calibrate.add_argument("--model", type=Path, default=None, help="bundle to start from (default: the shipped one)")
    calibrate.add_argument("--review-rate", type=_rate, default=0.01, help="benign accounts flagged (default 0.01)")
    calibrate.add_argument("--block-rate", type=_rate, default=0.001, help="benign accounts blocked (default 0.001)")
    calibrate.add_argument("--batch-size", type=int, default=256, help="requests embedded together (default 256)")
    calibrate.add_argument(
        "--deep",
        action="store_true",
        help="also run the deep analysis (~30 ms per selected request) and fit its thresholds; each channel "
        "then gets half of each rate",
    )
    calibrate.set_defaults(func=_calibrate)
    serve = commands.add_parser("serve", help="run the HTTP sidecar (needs the 'server' extra)")
    serve.add_argument("--model", type=Path, default=None, help="model bundle directory (default: the shipped bundle)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8787)
    serve.add_argument("--redis", default=None, help="Redis URL for state shared by several servers")
    serve.add_argument("--budget-ms", type=float, default=50.0, help="per-call time budget (default 50 ms)")
    serve.add_argument("--fail", choices=["open", "closed"], default="open", help="verdict past the budget")
    serve.add_argument("--max-entities", type=int, default=1_000_000, help="memory cap on tracked entities")
    serve.add_argument(
        "--mode",
        choices=["enforce", "observe"],
        default="enforce",
        help="observe: every answer is allow, the verdict's would_decide and the metrics say what enforce would do",
    )
    serve.add_argument(
        "--trusted-accounts",
        type=Path,
        default=None,
        help="file of account ids (one per line) always allowed; their verdicts say would_decide",
    )
    serve.add_argument(
        "--admin-token-env",
        default=None,
        metavar="VAR",
        help="environment variable holding the bearer token of the operator endpoints (DELETE /v1/accounts/ID)",
    )
    serve.add_argument(
        "--shadow", type=Path, default=None, help="a candidate bundle scored beside the served one (logged, counted)"
    )
    serve.add_argument(
        "--deep",
        action="store_true",
        help="run the bundle's deep (int8 transformer) analysis in a child process; its account evidence "
        "decides alongside the inline one",
    )
    serve.add_argument(
        "--deep-queue", type=int, default=1000, help="selected requests waiting for deep analysis before drops"
    )
    serve.set_defaults(func=_serve)
    forget = commands.add_parser(
        "forget", help="reset an account's state in the shared Redis store (an operator's remedy for a false positive)"
    )
    forget.add_argument("account_id", help="the account id, as the integration forms it (e.g. org:acme)")
    forget.add_argument("--redis", required=True, help="the Redis URL the servers share")
    forget.set_defaults(func=_forget)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except IntentGuardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())

"""Running worlds, writing logs, and the ``synth`` command line."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import io
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from intent_guard.errors import ConfigError

from .config import POPULATIONS, SynthConfig
from .engine import Ctx
from .text import DEFAULT_CORPUS, SYNTH_TEXT, Corpus, TextBank
from .world import World, draw_world


def make_world(config: SynthConfig, index: int, bank: TextBank) -> World:
    """World ``index`` of the run described by ``config``."""
    return draw_world(
        index,
        config.seed,
        bank,
        days=config.days,
        days_range=config.days_range,
        density_range=config.density_range,
        population_jitter=config.population_jitter,
        populations=tuple(POPULATIONS),
        max_omission_rate=config.max_omission_rate,
        early_release_rate=config.early_release_rate,
    )


def generate_world(world: World, config: SynthConfig, corpus: Corpus) -> list[dict[str, Any]]:
    """Every population's traffic in ``world``, time-sorted, with request ids in time order."""
    records: list[dict[str, Any]] = []
    for name, cls in POPULATIONS.items():
        cls(config.populations[name]).run(Ctx(world, corpus, world.text, name, records, config.scale))
    records.sort(key=lambda rec: rec["timestamp"])
    return [{"request_id": f"req_{world.tag}_{i:07d}", **rec} for i, rec in enumerate(records)]


def iter_worlds(
    config: SynthConfig, corpus_dir: Path = DEFAULT_CORPUS, text_file: Path = SYNTH_TEXT
) -> Iterator[tuple[World, list[dict[str, Any]]]]:
    """Each world of the run and its records, one world at a time."""
    corpus, bank = Corpus(corpus_dir), TextBank(text_file)
    for index in range(config.worlds):
        world = make_world(config, index, bank)
        yield world, generate_world(world, config, corpus)


def generate(
    config: SynthConfig, corpus_dir: Path = DEFAULT_CORPUS, text_file: Path = SYNTH_TEXT
) -> list[dict[str, Any]]:
    """A labelled log (request-log records plus ``population`` and ``world``): the worlds in order,
    each sorted by time."""
    return [rec for _, records in iter_worlds(config, corpus_dir, text_file) for rec in records]


@contextlib.contextmanager
def open_log(path: Path) -> Iterator[IO[str]]:
    """A text handle for a JSONL log; gzip (with a fixed header, so bytes are reproducible) for ``.gz``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix != ".gz":
        with path.open("w", encoding="utf-8") as handle:
            yield handle
        return
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as gz:
        text = io.TextIOWrapper(gz, encoding="utf-8")
        yield text
        text.flush()
        text.detach()


def write_records(handle: IO[str], records: Iterable[dict[str, Any]]) -> int:
    n = 0
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for record in records:
        handle.write(dumps(record) + "\n")
        n += 1
    return n


def write_log(records: Iterable[dict[str, Any]], path: Path) -> int:
    """Write records as JSON Lines (gzip if ``path`` ends with ``.gz``); returns how many."""
    with open_log(Path(path)) as handle:
        return write_records(handle, records)


def summary(world: World, records: list[dict[str, Any]]) -> Iterator[str]:
    """Human-readable lines: the world's facts, then requests and accounts per population."""
    start = dt.datetime.fromtimestamp(world.epoch, dt.UTC)
    release = (world.release_at - world.epoch) / 86400.0
    yield (
        f"{world.world_id}: {start:%Y-%m-%d %H:%M} UTC + {world.days:.2f} d, density {world.density:.2f}, "
        f"models {', '.join(world.old_models)} -> {world.new_model} at day {release:.2f}"
    )
    requests, labelled = Counter(), Counter()
    accounts: dict[str, set[str]] = {}
    for rec in records:
        pop = rec["population"]
        requests[pop] += 1
        labelled[pop] += rec["label"]
        accounts.setdefault(pop, set()).add(rec["account_id"])
    total_1 = sum(labelled.values())
    yield f"  {len(records):,} requests, {total_1:,} labelled 1 ({total_1 / max(len(records), 1):.1%})"
    for pop in sorted(requests):
        yield f"  {pop:<28} {requests[pop]:>8,} requests {len(accounts[pop]):>6,} accounts"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training synth", description="Generate labelled synthetic traffic from several worlds."
    )
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``synth`` options (shared with ``python -m training synth``)."""
    parser.add_argument("-o", "--output", type=Path, required=True, help="JSONL log to write (.gz: gzip)")
    parser.add_argument("--worlds", type=int, default=None, help="how many worlds (default 1)")
    parser.add_argument("--seed", type=int, default=None, help="run seed (default 7)")
    parser.add_argument("--scale", type=float, default=None, help="multiplies every account and campaign count")
    parser.add_argument("--days", type=float, default=None, help="fix every world's window length (default: drawn)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of *.jsonl prompts (kind, text)")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help='JSON overriding SynthConfig, e.g. {"populations": {"students": {"step_by_step_rate": 0.4}}}',
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the total")


def config_from_args(args: argparse.Namespace) -> SynthConfig:
    overrides: dict[str, Any] = json.loads(args.config.read_text(encoding="utf-8")) if args.config else {}
    for key in ("worlds", "seed", "scale", "days"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    return SynthConfig.from_dict(overrides)


def run(args: argparse.Namespace) -> int:
    """Generate and write the log the parsed arguments describe."""
    try:
        config = config_from_args(args)
    except (ConfigError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    began, total = time.perf_counter(), 0
    with open_log(args.output) as handle:
        for world, records in iter_worlds(config, args.corpus):
            total += write_records(handle, records)
            if not args.quiet:
                for line in summary(world, records):
                    print(line)
    print(f"{total:,} requests from {config.worlds} world(s) in {time.perf_counter() - began:.1f} s -> {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m training.synth`` / ``python -m training synth``."""
    return run(build_parser().parse_args(argv))

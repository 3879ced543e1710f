"""The retraining pipeline: generator honesty, grouped splits, ONNX parity, the whole loop."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("lightgbm", reason="training tests need the 'train' extra")

from intent_guard.features import FEATURE_NAMES  # noqa: E402
from training.metrics import account_scores, threshold_at_fpr, tpr_at_fpr  # noqa: E402
from training.model import check_parity, export_onnx, train_lightgbm  # noqa: E402

from .conftest import DEFAULT_BUNDLE, needs_shared  # noqa: E402


@pytest.fixture(scope="module")
def small_log(tmp_path_factory) -> Path:
    needs_shared()
    from training.synth import SynthConfig, generate, write_log

    path = tmp_path_factory.mktemp("synth") / "log.jsonl"
    write_log(generate(SynthConfig(days=2.0, scale=0.15, seed=3, worlds=2)), path)
    return path


def small_stranger_log(folder: Path, accounts: int = 80) -> Path:
    """A few whole accounts of each population of the shared validation log, with their accounts.json."""
    import gzip
    import json

    source = Path(__file__).resolve().parents[2] / "shared" / "validation"
    if not (source / "traffic.jsonl.gz").is_file():
        pytest.skip(f"the shared validation log is absent ({source}); stranger mode needs a log written by others")
    table = json.loads((source / "accounts.json").read_text(encoding="utf-8"))
    by_population: dict[str, list[str]] = defaultdict(list)
    for account, info in sorted(table.items()):
        by_population[info["population"]].append(account)
    keep = {a for ids in by_population.values() for a in ids[: max(2, accounts // len(by_population))]}
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(source / "traffic.jsonl.gz", "rt", encoding="utf-8") as src, (folder / "log.jsonl").open("w") as out:
        for line in src:
            if json.loads(line)["account_id"] in keep:
                out.write(line)
    (folder / "accounts.json").write_text(json.dumps({a: table[a] for a in keep}), encoding="utf-8")
    return folder / "log.jsonl"


def test_generator_sets_the_same_fields_for_campaigns_and_benign(small_log: Path) -> None:
    from training.records import iter_records

    keys: dict[int, set[str]] = defaultdict(set)
    client_keys: dict[int, set[str]] = defaultdict(set)
    tools_share: dict[int, list[bool]] = defaultdict(list)
    system_share: dict[int, list[bool]] = defaultdict(list)
    for record in iter_records(small_log):
        label = record["label"]
        keys[label] |= set(record) - {"campaign_id", "tools"}
        client_keys[label] |= set(record.get("client", {}))
        tools_share[label].append("tools" in record)
        system_share[label].append(record["messages"][0]["role"] == "system")
    assert keys[0] == keys[1]
    assert client_keys[0] == client_keys[1]
    for share in (tools_share, system_share):  # neither side owns a structural trait
        assert 0 < np.mean(share[0]) < 1 and 0 < np.mean(share[1]) < 1


def test_group_split_keeps_campaigns_and_orgs_whole(small_log: Path) -> None:
    from training.records import group_split, iter_records

    split = group_split(small_log)
    sides: dict[str, set[str]] = defaultdict(set)
    org_of: dict[str, str] = {}  # an account's org as its first record shows it (fields may be missing)
    for record in iter_records(small_log):
        org_of.setdefault(record["account_id"], (record.get("client") or {}).get("org_id") or record["account_id"])
        group = record.get("campaign_id") or org_of[record["account_id"]]
        sides[group].add(split.of(record))
    assert all(len(s) == 1 for s in sides.values())
    assert {s for v in sides.values() for s in v} == {"train", "calib", "test"}


def test_lightgbm_onnx_parity_on_10k_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n, f = 12_000, len(FEATURE_NAMES)
    X = rng.normal(size=(n, f)).astype(np.float32)
    X[:, :5] = np.round(X[:, :5], 2)  # discrete columns: thresholds between adjacent float32 values
    X[:, 5] = rng.integers(0, 4, n)
    y = (X[:, 0] + 0.5 * X[:, 5] + rng.normal(size=n) > 1).astype(int)
    booster = train_lightgbm(X, y, list(FEATURE_NAMES), rounds=80)
    path = tmp_path / "scorer.onnx"
    export_onnx(booster, f, path)
    assert check_parity(booster, path, X, rows=10_000) <= 1e-5


def test_export_is_reproducible(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    names = [f"f{i}" for i in range(6)]
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    export_onnx(train_lightgbm(X, y, names, rounds=30, seed=5), 6, a)
    export_onnx(train_lightgbm(X, y, names, rounds=30, seed=5), 6, b)
    assert a.read_bytes() == b.read_bytes()


def test_thresholds_meet_target_fpr() -> None:
    rng = np.random.default_rng(2)
    benign = rng.random(10_000)
    for target in (0.01, 0.001):
        t = threshold_at_fpr(benign, target)
        assert (benign >= t).mean() <= target
    y = np.array([0] * 1000 + [1] * 10)
    scores = np.r_[np.linspace(0, 0.5, 1000), np.full(10, 0.9)]
    assert tpr_at_fpr(y, scores, 0.01) == 1.0
    labels, maxima = account_scores(
        np.array(["a", "b", "a"], dtype=object), np.array([0, 0, 1]), np.array([0.1, 0.2, 0.7])
    )
    assert labels.tolist() == [1, 0] and maxima.tolist() == [0.7, 0.2]


@pytest.mark.slow
def test_whole_loop_synth_train_evaluate_export_load_score(small_log: Path, tmp_path: Path) -> None:
    from intent_guard import Guard
    from training.build import BuildOptions, build

    out = tmp_path / "bundle"
    report = build(
        BuildOptions(
            log=small_log,
            out=out,
            encoders_dir=DEFAULT_BUNDLE,
            templates=DEFAULT_BUNDLE / "templates.jsonl",
            corpus=Path(__file__).resolve().parents[2] / "shared" / "data" / "prompts",
            encoders=("static",),
            rounds=60,
            stranger_log=small_stranger_log(tmp_path / "stranger"),
        )
    )
    assert report["evaluation"]["roc_auc"] > 0.8
    # generalisation: each world held out in turn, the stranger log scored whole, the shift audited
    assert len(report["leave_one_world_out"]) == 2
    stranger = report["stranger"]
    assert stranger["figures"]["missing"] == 0 and 0.0 <= stranger["figures"]["account"]["roc_auc"] <= 1.0
    assert set(stranger["content_channel"]) == {"similarity", "content model"}
    assert 0.5 <= stranger["shift"]["auc"] <= 1.0
    markdown = (out / "report" / "report.md").read_text(encoding="utf-8")
    for heading in ("Stranger mode", "Leave one world out", "Content channel alone", "Shift audit"):
        assert heading in markdown, heading
    for name in (
        "report.html",
        "report.md",
        "roc_pr.png",
        "calibration.png",
        "feature_importance.png",
        "scores_by_population.png",
        "requests_to_detect.png",
    ):
        assert (out / "report" / name).stat().st_size > 0, name
    guard = Guard.load(out)
    verdict = guard.score(
        {
            "request_id": "x",
            "timestamp": 1769904000,
            "account_id": "a",
            "messages": [{"role": "user", "content": "hello"}],
        }
    )
    assert 0.0 <= verdict.probability <= 1.0
    assert guard.manifest.data["training"]["onnx_parity_max_abs_diff"] <= 1e-5


def test_log_source_reads_jsonl_and_parquet_alike(small_log: Path, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from training.records import LogSource

    # Parquet needs one type per column: records without tools and with plain-string contents.
    records = [
        r
        for r in LogSource([small_log])
        if "tools" not in r and all(isinstance(m["content"], str) for m in r["messages"])
    ][:300]
    folder = tmp_path / "logs"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist(records), folder / "part.parquet")
    from_parquet = list(LogSource([folder]))
    assert [r["request_id"] for r in from_parquet] == [r["request_id"] for r in records]
    assert [r["label"] for r in from_parquet] == [r["label"] for r in records]


def test_unlabelled_and_invalid_records(tmp_path: Path) -> None:
    import json

    from training.__main__ import main
    from training.records import LogSource, MissingLabelError

    good = {
        "request_id": "a",
        "timestamp": 1769904000,
        "account_id": "x",
        "label": 0,
        "messages": [{"role": "user", "content": "hi"}],
    }
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps(good) + "\n{broken\n" + json.dumps({**good, "request_id": "b", "label": None}) + "\n")
    with pytest.raises(MissingLabelError, match=r"log.jsonl:3: record 'b' has no 0/1 'label'"):
        list(LogSource([log]))
    source = LogSource([log], require_labels=False)
    assert [r["request_id"] for r in source] == ["a"]
    assert source.skipped == 1 and source.unlabelled == 1 and "log.jsonl:2" in source.errors[0]
    assert main(["build", "--log", str(log), "--out", str(tmp_path / "b")]) == 3  # exit code: bad input data


@pytest.mark.slow
def test_template_mining_proposes_unexplained_wrappers(small_log: Path, tmp_path: Path) -> None:
    import shutil

    from intent_guard import Guard
    from training.mining import add_templates, mine, write_proposals

    proposals = mine(DEFAULT_BUNDLE, [small_log], min_similarity=0.75, min_support=10)
    assert proposals, "campaign wrappers absent from the library should form clusters"
    assert all(p.support >= 10 and p.accounts >= 2 for p in proposals)
    bundle = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, bundle)
    write_proposals(proposals[:2], tmp_path / "proposals.jsonl")
    assert add_templates(bundle, tmp_path / "proposals.jsonl") == len(proposals[:2])
    guard = Guard.load(bundle)  # hashes re-verified after the rebuild
    assert len(guard.pipeline.templates) == guard.pipeline.index.size


def test_log_source_reads_gzip_logs_like_plain(tmp_path: Path) -> None:
    import gzip
    import json

    from training.records import LogSource

    records = [
        {
            "request_id": f"r{i}",
            "timestamp": 1769904000 + i,
            "account_id": f"a{i % 3}",
            "label": i % 2,
            "messages": [{"role": "user", "content": f"question {i}"}],
        }
        for i in range(30)
    ]
    data = ("\n".join(json.dumps(r) for r in records[:10]) + "\n{broken\n").encode()
    data += ("\n".join(json.dumps(r) for r in records[10:]) + "\n").encode()
    plain = tmp_path / "plain" / "log.jsonl"
    plain.parent.mkdir()
    plain.write_bytes(data)
    folder = tmp_path / "packed"
    folder.mkdir()
    (folder / "log.jsonl.gz").write_bytes(gzip.compress(data))
    (folder / "notes.txt").write_text("not a log")
    misnamed = tmp_path / "misnamed.jsonl"
    misnamed.write_bytes(gzip.compress(data))
    expected = list(LogSource([plain]))
    assert [r["request_id"] for r in expected] == [r["request_id"] for r in records]
    for source in (LogSource([folder]), LogSource([misnamed])):
        assert list(source) == expected
        assert source.skipped == 1 and source.errors[0].endswith(":11: not a JSON object")
    assert LogSource([folder]).files == [folder / "log.jsonl.gz"]


def test_a_baseline_bundle_is_scored_on_the_same_held_out_requests(small_log: Path) -> None:
    """``build --baseline``: the shipped bundle replayed on the test split, with its report thresholds."""
    from types import SimpleNamespace

    from training.build import score_baseline
    from training.records import LogSource, group_split

    source = LogSource([small_log])
    split = group_split(source, seed=0)
    n = sum(1 for r in source if split.of(r) == "test")
    zeros = np.zeros(n)
    test = SimpleNamespace(y=zeros, account=zeros, campaign=zeros, population=zeros)
    scored = score_baseline(DEFAULT_BUNDLE, source, split, test)  # type: ignore[arg-type]
    assert n > 0 and len(scored.scores) == n and ((scored.scores >= 0) & (scored.scores <= 1)).all()
    assert 0 < scored.thresholds["review"] <= scored.thresholds["block"] <= 1


def test_deep_content_model_is_trained_attached_and_scored_in_stranger_mode(small_log: Path, tmp_path: Path) -> None:
    import json
    import shutil

    from intent_guard.bundle import load_manifest
    from intent_guard.deep import DeepContent
    from intent_guard.features import FEATURE_GROUPS
    from training.assemble import data_digest
    from training.deep_content import DeepOptions, format_section, run

    stranger = small_stranger_log(tmp_path / "stranger", accounts=13)
    seen: dict[str, int] = defaultdict(int)  # at most 8 requests per account: the int8 encoder is slow
    kept = []
    for line in stranger.read_text(encoding="utf-8").splitlines():
        account = json.loads(line)["account_id"]
        seen[account] += 1
        if seen[account] <= 8:
            kept.append(line)
    stranger.write_text("\n".join(kept) + "\n", encoding="utf-8")
    bundle = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, bundle, ignore=shutil.ignore_patterns("report"))
    manifest_file = bundle / "manifest.json"
    data = json.loads(manifest_file.read_text(encoding="utf-8"))
    data["training_data"]["digest"] = data_digest([small_log])  # as if the bundle were built from small_log
    manifest_file.write_text(json.dumps(data), encoding="utf-8")
    section = run(DeepOptions(small_log, bundle, sample=300, rounds=20, stranger_log=stranger))

    manifest = load_manifest(bundle)  # every file re-hashed, the new one included
    assert manifest.data["deep_content"] == json.loads(json.dumps(section))
    assert section["features"] == list(FEATURE_GROUPS["content"])
    assert section["training"]["requests"] == 300
    assert section["onnx_parity_max_abs_diff"] < 1e-5
    aucs = section["stranger_content_auc"]
    assert {"macro", "pooled"} <= set(aucs) and 0.0 <= aucs["macro"] <= 1.0
    assert "stranger mode" in format_section(section)
    assert "macro" in (bundle / "report" / "deep_content.md").read_text(encoding="utf-8")
    deep = DeepContent.load(bundle)
    assert deep.version == section["version"]
    assert deep.score_many(
        [
            {
                "request_id": "r",
                "timestamp": 1.7e9,
                "account_id": "a",
                "messages": [{"role": "user", "content": "Show your full chain of thought, step by step."}],
            }
        ]
    ).shape == (1,)


def test_deep_content_refuses_a_bad_bundle_or_sample_before_any_replay(small_log: Path, tmp_path: Path, capsys) -> None:
    from training.__main__ import main

    assert main(["deep-content", "--log", str(small_log), "--model", str(tmp_path), "--no-stranger"]) == 1
    assert "manifest.json not found" in capsys.readouterr().err
    assert main(["deep-content", "--log", str(small_log), "--sample", "5", "--no-stranger"]) == 2
    assert "--sample must be at least 100" in capsys.readouterr().err
    # the shipped bundle was built from another log: its calib / test accounts are unknown here
    assert main(["deep-content", "--log", str(small_log), "--model", str(DEFAULT_BUNDLE), "--no-stranger"]) == 3
    assert "not the log this bundle was built from" in capsys.readouterr().err

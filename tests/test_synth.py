"""The many-worlds traffic generator: determinism, the log spec, validation, and honesty rules."""

from __future__ import annotations

import gzip
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from intent_guard.errors import ConfigError
from intent_guard.types import Request

from .conftest import needs_shared

DAY = 86400.0
SMALL = {"worlds": 2, "seed": 11, "scale": 0.15, "days": 3.0}


@pytest.fixture(scope="module")
def run() -> tuple[list[Any], list[dict[str, Any]]]:
    """Two small worlds and their records (generated once for the module)."""
    needs_shared()
    from training.synth import SynthConfig, iter_worlds

    worlds, records = [], []
    for world, recs in iter_worlds(SynthConfig(**SMALL)):
        worlds.append(world)
        records += recs
    return worlds, records


def _by_world(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        out[rec["world"]].append(rec)
    return out


def test_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    needs_shared()
    from training.synth import SynthConfig, generate, write_log

    config = SynthConfig(worlds=2, seed=5, scale=0.05, days=1.0)
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl.gz", tmp_path / "c.jsonl.gz"
    write_log(generate(config), a)
    write_log(generate(config), b)
    write_log(generate(config), c)
    assert a.stat().st_size > 0
    assert b.read_bytes() == c.read_bytes()
    assert gzip.decompress(b.read_bytes()) == a.read_bytes()
    other = tmp_path / "other.jsonl"
    write_log(generate(SynthConfig(worlds=2, seed=6, scale=0.05, days=1.0)), other)
    assert other.read_bytes() != a.read_bytes()


def test_every_record_follows_the_spec(run) -> None:
    worlds, records = run
    ids = set()
    blank_payload = 0
    for rec in records:
        request = Request.from_dict(rec)
        assert rec["label"] in (0, 1) and isinstance(rec["world"], str) and rec["population"]
        assert bool(rec.get("campaign_id")) == (rec["label"] == 1)
        assert isinstance(rec["timestamp"], float)
        for message in request.messages:
            if not isinstance(message.content, str):
                for part in message.content:
                    if part["type"] == "image_url":
                        assert part["image_url"]["url"].startswith("data:image/")
        first = next(m for m in request.messages if m.role == "user")
        assert first.text().strip() or first.image_count()  # no payload lost to a template
        assert not any("{task}" in m.text() for m in request.messages)
        blank_payload += first.text().endswith(("\n\n", ": ", ":\n"))  # a template whose payload went missing
        ids.add(rec["request_id"])
    assert len(ids) == len(records) and blank_payload < 0.002 * len(records)
    for world in worlds:
        mine = [r for r in records if r["world"] == world.world_id]
        times = [r["timestamp"] for r in mine]
        assert times == sorted(times) and world.epoch <= times[0] and times[-1] < world.end
    accounts_by_world = defaultdict(set)
    for rec in records:
        accounts_by_world[rec["world"]].add(rec["account_id"])
    first, second = accounts_by_world.values()
    assert not first & second  # account id spaces do not overlap


def test_every_population_appears_in_every_world(run) -> None:
    from training.synth import POPULATIONS

    _, records = run
    for recs in _by_world(records).values():
        seen = {r["population"].removeprefix("campaign:") for r in recs}
        assert set(POPULATIONS) <= seen


def test_parameters_are_validated_with_clear_messages() -> None:
    from training.synth import CodingVolumeParams, StudentsParams, SynthConfig

    with pytest.raises(
        ConfigError, match=r"'step_by_step_rate' parameter of StudentsParams must be a float in \[0, 1\]"
    ):
        StudentsParams(step_by_step_rate=1.5)
    with pytest.raises(ConfigError, match=r"'requests_per_day' parameter of StudentsParams must be a pair .* Got \(5"):
        StudentsParams(requests_per_day=(5.0, 2.0))
    with pytest.raises(ConfigError, match=r"'accounts' parameter of StudentsParams must be an int >= 0. Got -1"):
        StudentsParams(accounts=-1)
    with pytest.raises(ConfigError, match=r"'steps_per_task' parameter of CodingVolumeParams .* ints"):
        CodingVolumeParams(steps_per_task=(1.5, 3))
    with pytest.raises(ConfigError, match="'worlds' parameter of SynthConfig must be an int >= 1"):
        SynthConfig(worlds=0)
    with pytest.raises(ConfigError, match="no population 'pirates'"):
        SynthConfig.from_dict({"populations": {"pirates": {}}})
    with pytest.raises(ConfigError, match="StudentsParams has no parameter 'step_rate'"):
        SynthConfig.from_dict({"populations": {"students": {"step_rate": 0.1}}})
    config = SynthConfig.from_dict({"worlds": 3, "populations": {"students": {"requests_per_day": [1, 2]}}})
    assert config.worlds == 3 and config.populations["students"].requests_per_day == (1, 2)
    assert config.populations["students"].step_by_step_rate == StudentsParams().step_by_step_rate


def _z(missing: dict[int, list[bool]]) -> float:
    n0, n1 = len(missing[0]), len(missing[1])
    p0, p1 = sum(missing[0]) / n0, sum(missing[1]) / n1
    pooled = (sum(missing[0]) + sum(missing[1])) / (n0 + n1)
    se = math.sqrt(max(pooled * (1 - pooled), 1e-9) * (1 / n0 + 1 / n1))
    return abs(p0 - p1) / se


def test_optional_fields_go_missing_at_the_same_rate_in_both_classes(run) -> None:
    _, records = run
    for recs in _by_world(records).values():
        for key in ("model", "client", "api_key_id", "session_id"):
            missing: dict[int, list[bool]] = {0: [], 1: []}
            for rec in recs:
                missing[rec["label"]].append(key not in rec)
            assert _z(missing) < 4.5, key
        for key in ("ip", "user_agent", "payment_fingerprint", "org_id", "country", "access_path"):
            missing = {0: [], 1: []}
            for rec in recs:
                if "client" in rec:
                    missing[rec["label"]].append(key not in rec["client"])
            assert _z(missing) < 4.5, key
        # Tools: agent traffic always sends them, benign IDE users and coding hydras alike.
        missing = {0: [], 1: []}
        for rec in recs:
            if rec["population"] in ("ide_agent", "campaign:coding_volume"):
                missing[rec["label"]].append("tools" not in rec)
        assert _z(missing) < 4.5, "tools"


def test_campaigns_are_active_on_the_first_day(run) -> None:
    worlds, records = run
    for world in worlds:
        early = {
            r["population"]
            for r in records
            if r["world"] == world.world_id and r["label"] == 1 and r["timestamp"] < world.epoch + DAY
        }
        assert early, world.world_id
        first = min(r["timestamp"] for r in records if r["world"] == world.world_id and r["label"] == 1)
        assert first < world.epoch + 3 * 3600


def test_the_released_model_is_used_by_campaigns_and_by_benign_accounts(run) -> None:
    worlds, records = run
    for world in worlds:
        mine = [r for r in records if r["world"] == world.world_id and "model" in r]
        assert world.new_model not in world.old_models
        assert all(r["timestamp"] >= world.release_at for r in mine if r["model"] == world.new_model)
        campaign_new = [r for r in mine if r["label"] == 1 and r["model"] == world.new_model]
        benign_new = {r["account_id"] for r in mine if r["label"] == 0 and r["model"] == world.new_model}
        assert campaign_new and len(benign_new) >= 3
        # Campaigns pivot fast: some of their traffic is on the new model within a day of release.
        assert min(r["timestamp"] for r in campaign_new) < world.release_at + DAY


def test_benign_populations_share_payment_fingerprints(run) -> None:
    _, records = run
    accounts_by_card: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rec in records:
        card = (rec.get("client") or {}).get("payment_fingerprint")
        if card and rec["label"] == 0 and not rec["population"].startswith("reseller_"):
            accounts_by_card[(rec["population"], card)].add(rec["account_id"])
    sharing = {pop for (pop, _), accounts in accounts_by_card.items() if len(accounts) >= 2}
    assert {"enterprise_batch", "eval_teams"} <= sharing or len(sharing) >= 3


def test_products_are_shared_by_many_accounts_and_carry_many_tools(run) -> None:
    _, records = run
    for recs in _by_world(records).values():
        users: dict[str, set[str]] = defaultdict(set)
        tools = 0
        for rec in recs:
            if rec["population"] == "ide_agent" and rec["messages"][0]["role"] == "system":
                users[rec["messages"][0]["content"][:200]].add(rec["account_id"])
                tools = max(tools, len(rec.get("tools", ())))
        assert max(len(a) for a in users.values()) >= 4 and tools >= 12


def test_account_ages_overlap_across_classes(run) -> None:
    worlds, records = run
    epoch = {w.world_id: w.epoch for w in worlds}
    ages: dict[int, list[float]] = {0: [], 1: []}
    seen = set()
    for rec in records:
        created = (rec.get("client") or {}).get("account_created_at")
        if created is not None and rec["account_id"] not in seen:
            seen.add(rec["account_id"])
            ages[rec["label"]].append((epoch[rec["world"]] - created) / DAY)
    for label in (0, 1):
        assert sum(a > 90 for a in ages[label]) >= 5 and sum(a < 30 for a in ages[label]) >= 2, label


def test_worlds_differ(run) -> None:
    worlds, records = run
    a, b = worlds
    assert a.epoch != b.epoch and set(a.old_models).isdisjoint(b.old_models) and a.new_model != b.new_model
    prompts = [{p.system_prompt for p in w.ide_products} for w in worlds]
    assert prompts[0].isdisjoint(prompts[1])
    assert {p.name for p in a.ide_products}.isdisjoint(p.name for p in b.ide_products)
    assert a.omission != b.omission and a.sdk_agents != b.sdk_agents


def test_cli_writes_gzip_with_a_world_field(tmp_path: Path) -> None:
    needs_shared()
    from training.__main__ import main

    out = tmp_path / "log.jsonl.gz"
    assert main(["synth", "-o", str(out), "--worlds", "2", "--scale", "0.03", "--days", "0.5", "-q"]) == 0
    lines = gzip.decompress(out.read_bytes()).decode().splitlines()
    worlds = {json.loads(line)["world"] for line in lines}
    assert len(worlds) == 2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"populations": {"casual": {"opener_rate": 2}}}))
    assert main(["synth", "-o", str(tmp_path / "x.jsonl"), "--config", str(bad)]) == 2

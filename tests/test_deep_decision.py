"""Fitting the deep-evidence thresholds: one benign-account budget shared with the inline channel."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("lightgbm", reason="training code needs the 'train' extra")

from training.deep_decision import AccountTrace, fit, union_threshold  # noqa: E402


def test_the_deep_channel_gets_what_the_inline_channel_leaves_of_the_budget() -> None:
    inline = np.array([True] + [False] * 199)  # 1 of 200 benign accounts flagged inline
    deep = np.linspace(0.0, 0.99, 200)
    deep[0] = 0.999  # the inline-flagged account's deep score does not use the budget twice
    t = union_threshold(inline, deep, 0.02)  # budget: floor(4) accounts, 3 left to the deep channel
    flagged = inline | (deep >= t)
    assert flagged.sum() == 4
    assert (deep[~inline] >= t).sum() == 3


def test_a_budget_the_inline_channel_fills_leaves_the_deep_channel_above_every_benign_account() -> None:
    inline = np.array([True, True] + [False] * 98)
    deep = np.linspace(0.0, 0.9, 100)
    t = union_threshold(inline, deep, 0.02)
    assert t > deep[~inline].max()
    assert t == pytest.approx(0.9, abs=1e-9)
    assert union_threshold(np.array([True] * 3 + [False] * 97), deep, 0.02) > 1.0  # over budget already


def test_fit_reports_the_union_rule_on_benign_and_campaign_accounts() -> None:
    traces = {f"b{i}": AccountTrace(0, False, False, i / 100, i / 100) for i in range(100)}
    traces |= {f"c{i}": AccountTrace(1, i < 5, False, 0.995, 0.995) for i in range(10)}
    section = fit(traces, review_fpr=0.02, block_fpr=0.01)
    assert 0.97 < section["review"] < 0.98  # two benign accounts (0.98, 0.99) flagged
    assert 0.98 < section["block"] < 0.99  # one: 0.99
    assert section["calib_benign"]["flag"] == pytest.approx(0.02)
    assert section["calib_benign"]["block"] == pytest.approx(0.01)
    assert section["calib_campaign"]["flag"] == 1.0 and section["calib_campaign"]["flag_inline_only"] == 0.5
